"""Legendre functions (potentials) of mirror flows, fixed or indexed by a dose.

One hierarchy: `AbstractPotentialFamily` ($R_\\Lambda$, $\\Lambda \\ge 0$) with
its separable refinement; a fixed `AbstractPotential` is the constant family.
"""

from ._affine_metric import HamPotential as HamPotential
from ._base import AbstractPotential as AbstractPotential
from ._deep_diagonal import DeepDiagonalPotential as DeepDiagonalPotential
from ._family import (
    AbstractPotentialFamily as AbstractPotentialFamily,
    AbstractSeparablePotentialFamily as AbstractSeparablePotentialFamily,
)
from ._separable import (
    Hypentropy as Hypentropy,
    NegEntropy as NegEntropy,
    SquaredNorm as SquaredNorm,
)
from ._weight_decay_families import (
    CommutingQuadraticPotential as CommutingQuadraticPotential,
    TimeDependentDeepDiagonal as TimeDependentDeepDiagonal,
    TimeDependentHypentropy as TimeDependentHypentropy,
)
