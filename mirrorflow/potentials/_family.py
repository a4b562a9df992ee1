r"""Families of Legendre functions $R_\Lambda$ indexed by a dose $\Lambda \ge 0$.

The one potential hierarchy of mirrorflow: a fixed Legendre function
(`AbstractPotential`) is the constant family, whose members ignore the dose; the
families of weight decay (`TimeDependentHypentropy`, ...) change with it. Every flow
and prediction works with a family, so fixed and time-dependent mirror flows are one
mechanism (`MirrorFlow(problem, potential, schedule)`).
"""

import abc
import typing

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._types import BoolVector, Scalar, ScalarLike, Vector


if typing.TYPE_CHECKING:
    from ._base import AbstractPotential


class AbstractPotentialFamily(eqx.Module):
    r"""A family of Legendre functions $R_\Lambda$ indexed by the dose $\Lambda \ge 0$.

    Known through the conjugates $R_\Lambda^*$: the time-dependent mirror flow in dual
    coordinates is $\dot z = -\nabla f(\nabla R^*_{\Lambda_t}(z))$ and the weights are
    $x_t = \nabla R^*_{\Lambda_t}(z_t)$.

    Attributes:
        l1_weight: with constant decay $\lambda$ the penalty restricted to the
            conserved set tends to $\mu\|x\|_1$ with $\mu$ = `l1_weight` $\cdot\lambda$
            (the lasso limit); NaN where no such limit is known.
    """

    l1_weight: eqx.AbstractVar[float]
    # True where `in_dual_domain` is more than finiteness: flows then watch it.
    bounded_dual_domain: typing.ClassVar[bool] = False

    @abc.abstractmethod
    def conjugate(self, z: Vector, dose: ScalarLike) -> Scalar:
        r"""$R_\Lambda^*(z)$ (up to a $z$-independent constant)."""

    @abc.abstractmethod
    def grad_conjugate(self, z: Vector, dose: ScalarLike) -> Vector:
        r"""$\nabla R_\Lambda^*(z)$: the weights at dual point $z$, dose $\Lambda$."""

    def conjugate_hessian(self, z: Vector, dose: ScalarLike) -> Array:
        r"""$\nabla^2 R_\Lambda^*(z)$, dense (autodiff of `grad_conjugate`)."""
        return jax.jacfwd(self.grad_conjugate)(z, dose)

    def in_dual_domain(self, z: Vector, dose: ScalarLike | None = None) -> BoolVector:
        r"""Elementwise: is `z_i` where $\nabla R_\Lambda^*$ is defined? (All finite
        reals by default; families with a bounded dual domain override it.)"""
        return jnp.isfinite(z)


class AbstractSeparablePotentialFamily(AbstractPotentialFamily):
    r"""A separable family: $R_\Lambda(x) = \sum_i r_{\Lambda,i}(x_i)$.

    `at(dose)` freezes the family into an `AbstractPotential`, which is what the
    limit theorems need: for a loss $L(Ax)$ and a finite total dose
    $\Lambda_\infty$, $x_\infty = \arg\min_{Ax=b} R_{\Lambda_\infty}(x)
    - \langle z_0, x\rangle$ (Mask in the Mirror, Thm 3.3).
    """

    @abc.abstractmethod
    def at(self, dose: ScalarLike) -> "AbstractPotential":
        r"""The potential $R_\Lambda$ at a fixed dose."""

    @abc.abstractmethod
    def grad(self, x: Vector, dose: ScalarLike) -> Vector:
        r"""The mirror map $\nabla R_\Lambda(x)$."""

    @abc.abstractmethod
    def conjugate_hessian_diag(self, z: Vector, dose: ScalarLike) -> Vector:
        r"""The diagonal of $\nabla^2 R_\Lambda^*(z)$."""

    def value(self, x: Vector, dose: ScalarLike) -> Scalar:
        r"""$R_\Lambda(x)$."""
        return self.at(dose).value(x)

    def conjugate_hessian(self, z: Vector, dose: ScalarLike) -> Array:
        return jnp.diag(self.conjugate_hessian_diag(z, dose))
