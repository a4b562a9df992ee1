"""Reparameterizations x = g(params) and the mirror flows they induce."""

from ._base import AbstractReparam as AbstractReparam
from ._commuting_quadratic import CommutingQuadratic as CommutingQuadratic
from ._diagonal import (
    DeepDiagonal as DeepDiagonal,
    DiffOfSquares as DiffOfSquares,
    Hadamard as Hadamard,
    Square as Square,
)
from ._matrix import MatrixFactorization as MatrixFactorization
from ._two_layer_diagonal import TwoLayerDiagonal as TwoLayerDiagonal
