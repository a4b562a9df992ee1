r"""Commuting quadratic parameterizations $x_i = \tfrac12 w^\top A_iw$."""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array
from .._types import PyTree, Scalar, Vector
from ..potentials import AbstractPotentialFamily, CommutingQuadraticPotential
from ..potentials._weight_decay_families import check_commuting
from ._base import AbstractReparam


class CommutingQuadratic(AbstractReparam):
    r"""A commuting quadratic parameterization $x_i = \tfrac12 w^\top A_iw$.

    Params `w` of shape `(p,)`; $A_1..A_d$ symmetric and commuting, with the admissible
    weight-decay penalty $h(w) = w^\top Bw$ ($B$ symmetric, commuting with every
    $A_i$; Mirror, Mirror, Thm 3.3 and Cor. 3.1: the penalty must be built from
    the model's own monomials). Covers $m\odot w$ ($p = 2d$, $B = I$) and
    simultaneously diagonalizable matrix sensing. Its potential is not separable in
    $x$: its `decay_family` is a `CommutingQuadraticPotential`.

    Args:
        matrices: $A_1..A_d$, shape `(d, p, p)`.
        penalty_matrix: $B$, shape `(p, p)`.
    """

    matrices: Float[Array, "d p p"]
    penalty_matrix: Float[Array, "p p"]

    def __init__(self, matrices: ArrayLike, penalty_matrix: ArrayLike):
        self.matrices = as_float_array(matrices, "matrices", ndim=3)
        self.penalty_matrix = as_float_array(penalty_matrix, "penalty_matrix", ndim=2)
        check_commuting(self.matrices, self.penalty_matrix, "CommutingQuadratic")

    def to_x(self, params: PyTree) -> Vector:
        w = jnp.asarray(params)
        return 0.5 * jnp.einsum("ijk,j,k->i", self.matrices, w, w)

    def conserved(self, params: PyTree) -> Vector:
        raise ValueError(
            "CommutingQuadratic has no elementwise conserved quantity; its flow is "
            "described by CommutingQuadraticPotential (`decay_family`)."
        )

    def induced_potential(self, params0: PyTree) -> AbstractPotentialFamily:
        raise ValueError(
            "CommutingQuadratic: the induced potential is not separable; use "
            "`reparam.decay_family(params0)` (its member at dose 0 is the "
            "unregularized potential, through its conjugate)."
        )

    def penalty(self, params: PyTree) -> Scalar:
        r"""$h(w) = w^\top Bw$."""
        w = jnp.asarray(params)
        return w @ self.penalty_matrix @ w

    @property
    def time_factor(self) -> float:
        return 1.0

    def decay_family(self, params0: PyTree):
        """`CommutingQuadraticPotential(A, B, w0)` and $z_0 = 0$."""
        family = CommutingQuadraticPotential(
            self.matrices, self.penalty_matrix, params0
        )
        return family, jnp.zeros(self.matrices.shape[0], self.matrices.dtype)
