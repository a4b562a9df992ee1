"""The abstract Legendre function and what every potential derives from it."""

import abc
import math
import typing

import jax.numpy as jnp
import lineax as lx
import numpy as np

from .._misc import is_concrete
from .._types import BoolVector, Scalar, ScalarLike, Vector
from ._family import AbstractSeparablePotentialFamily


class AbstractPotential(AbstractSeparablePotentialFamily):
    r"""A separable Legendre function $R(x) = \sum_i r_i(x_i)$.

    A fixed potential is the constant family of `AbstractPotentialFamily`: every
    method takes an optional `dose` and ignores it, and `at(dose)` is the potential
    itself, so flows and predictions treat fixed and weight-decay potentials alike.

    Strictly convex and $C^2$ on its (open, product) domain, with a gradient that
    blows up at the boundary. The *mirror map* is $\nabla R$, its inverse is
    $\nabla R^* = (\nabla R)^{-1}$, and the mirror flow of a loss $f$ is
    $\frac{d}{dt}\nabla R(x_t) = -\nabla f(x_t)$ (Gunasekar et al. 2018).

    Subclasses implement the elementwise pieces; this base provides the Hessian as a
    lineax operator, the Bregman divergence, domain checks and a continuation path
    for solvers.
    """

    l1_weight = math.nan  # no lasso limit: a fixed potential has no weight decay

    # True where `in_domain` is more than finiteness (a Riemannian flow with this
    # metric then watches it).
    bounded_domain: typing.ClassVar[bool] = False

    def at(self, dose: ScalarLike | None = None) -> "AbstractPotential":
        """The potential itself (the constant family)."""
        return self

    @abc.abstractmethod
    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        """$R(x)$."""

    @abc.abstractmethod
    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        r"""The mirror map $\nabla R(x)$ (primal to dual coordinates)."""

    @abc.abstractmethod
    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        r"""The inverse mirror map $\nabla R^*(z)$ (dual to primal coordinates)."""

    @abc.abstractmethod
    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        r"""The convex conjugate $R^*(z) = \sup_x \langle z, x\rangle - R(x)$.

        Returns `+inf` outside the conjugate's domain.
        """

    @abc.abstractmethod
    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        r"""The diagonal of $\nabla^2 R(x)$ (the Riemannian metric of the flow)."""

    @abc.abstractmethod
    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        r"""The diagonal of $\nabla^2 R^*(z) = (\nabla^2 R(\nabla R^*(z)))^{-1}$."""

    @abc.abstractmethod
    def in_domain(self, x: Vector) -> BoolVector:
        """Elementwise: is `x_i` inside the (open) domain of $r_i$?"""

    def in_dual_domain(self, z: Vector, dose: ScalarLike | None = None) -> BoolVector:
        """Elementwise: is `z_i` in the domain of $r_i^*$? (All reals by default.)"""
        return jnp.isfinite(z)

    def hessian(self, x: Vector) -> lx.DiagonalLinearOperator:
        r"""$\nabla^2 R(x)$ as a (diagonal, positive definite) lineax operator."""
        return lx.DiagonalLinearOperator(self.hessian_diag(x))

    def bregman(self, x: Vector, y: Vector) -> Scalar:
        r"""The Bregman divergence of $R$.

        $D_R(x, y) = R(x) - R(y) - \langle\nabla R(y), x-y\rangle$.

        Non-negative, zero iff $x = y$. Subclasses override it with a form that
        avoids cancelling the large terms of $R$.
        """
        return self.value(x) - self.value(y) - jnp.vdot(self.grad(y), x - y)

    def check_domain(self, x, name: str = "x") -> None:
        """Raise `ValueError` naming `name` if a concrete `x` leaves the domain."""
        if not is_concrete(x):
            return
        inside = np.asarray(self.in_domain(jnp.asarray(x)))
        if not inside.all():
            bad = np.flatnonzero(~inside.reshape(-1))
            raise ValueError(
                f"`{name}` lies outside the domain of {type(self).__name__} at "
                f"{bad.size} coordinate(s) (first index {bad[0]}); "
                f"{self.domain_description()}"
            )

    def domain_description(self) -> str:
        """One sentence describing the domain (used in error messages)."""
        return "the domain is all of R^d."

    def continuation(self) -> list["AbstractPotential"]:
        """A sequence of potentials ending in `self`, easy to hard, for warm starts.

        The dual Newton solver of `predict` solves each in turn; a small
        scale makes the plain problem badly conditioned (without continuation, plain
        Newton from $\nu = 0$ failed below $\alpha \approx 10^{-5}$).
        """
        return [self]
