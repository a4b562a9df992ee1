"""Legendre functions (potentials) of mirror flows."""

from ._base import AbstractPotential as AbstractPotential
from ._deep_diagonal import DeepDiagonalPotential as DeepDiagonalPotential
from ._ham import HamPotential as HamPotential
from ._separable import (
    Hypentropy as Hypentropy,
    NegEntropy as NegEntropy,
    SquaredNorm as SquaredNorm,
)
from ._time_dependent import (
    AbstractSeparableTimeDependentPotential as AbstractSeparableTimeDependentPotential,
    AbstractTimeDependentPotential as AbstractTimeDependentPotential,
    CommutingQuadraticPotential as CommutingQuadraticPotential,
    TimeDependentDeepDiagonal as TimeDependentDeepDiagonal,
    TimeDependentHypentropy as TimeDependentHypentropy,
)
