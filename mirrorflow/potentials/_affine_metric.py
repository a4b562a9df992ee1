r"""The potential of HAM's Riemannian flow (derivations/07_ham_hyperbolic_step.py)."""

import math
import typing

import jax.numpy as jnp

from .. import _validate
from .._types import BoolVector, Scalar, ScalarLike, Vector
from ._base import AbstractPotential


def _u_minus_log1p(u):
    r"""$u - \log(1+u)$ for $u\ge 0$ without cancellation near 0."""
    small = u < 1e-2
    us = jnp.where(small, u, 0.0)
    # Alternating series u^2/2 - u^3/3 + ...; 8 terms: relative error < 1e-15.
    series = sum((-1) ** k * us**k / k for k in range(9, 1, -1))
    return jnp.where(small, series, u - jnp.log1p(jnp.where(small, 1.0, u)))


def _expm1_minus(v):
    r"""$e^v - 1 - v$ for $v\ge 0$ without cancellation near 0."""
    small = v < 1e-2
    vs = jnp.where(small, v, 0.0)
    series = sum(vs**k / math.factorial(k) for k in range(8, 1, -1))
    return jnp.where(small, series, jnp.expm1(v) - v)


def _alpha(alpha) -> float:
    return _validate.scalar(alpha, "HamPotential", "alpha", low=0.0, example="1.0")


class HamPotential(AbstractPotential):
    r"""The Legendre function whose Hessian metric is HAM's, $1/(1 + \alpha|x|)$.

    Per coordinate, with $u = \alpha|x|$:
    $$R_\alpha(x) = \frac{(1+u)\log(1+u) - u}{\alpha^2},\qquad
    \nabla R_\alpha(x) = \frac{\mathrm{sign}(x)\log(1 + \alpha|x|)}{\alpha},\qquad
    \nabla^2 R_\alpha(x) = \frac{1}{1 + \alpha|x|},$$
    $$R_\alpha^*(z) = \frac{e^{\alpha|z|} - 1 - \alpha|z|}{\alpha^2},\qquad
    \nabla R_\alpha^*(z) = \frac{\mathrm{sign}(z)\,(e^{\alpha|z|} - 1)}{\alpha}.$$

    The gradient flow of GD+HAM with $\beta = 0$ is the mirror flow of $R_\alpha$
    (its inverse metric $1 + \alpha|x|$ is the first-order expansion of the
    hyperbolic step), so on underdetermined regression it converges to
    $\arg\min_{Ax=b} D_{R_\alpha}(x, x_0)$. $\alpha\to 0$ gives $x^2/2$ (gradient
    descent); $\alpha|x|\gg 1$ gives $\frac{|x|}{\alpha}\log(\alpha|x|)$, a
    log-weighted L1 (HAM, Jacobs et al. ICLR 2026, Thm 4.6;
    derivations/07_ham_hyperbolic_step.py). Domain: $\mathbb{R}^d$.

    $R_\alpha$ is $C^2$; $R_\alpha^*$ is only $C^1$ in its Hessian at $z = 0$ and
    overflows for $\alpha|z| > 709$ (float64): the dual Newton solver rejects
    such trial steps as outside the domain and backtracks.

    Args:
        alpha: the HAM coupling $\alpha > 0$.
    """

    bounded_dual_domain: typing.ClassVar[bool] = True

    alpha: float

    def __init__(self, alpha: ScalarLike):
        self.alpha = _alpha(alpha)

    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        u = self.alpha * jnp.abs(x)
        # (1+u)log(1+u) - u = u log1p(u) - (u - log1p(u)), both terms >= 0.
        return jnp.sum(u * jnp.log1p(u) - _u_minus_log1p(u)) / self.alpha**2

    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return jnp.sign(x) * jnp.log1p(self.alpha * jnp.abs(x)) / self.alpha

    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        return jnp.sign(z) * jnp.expm1(self.alpha * jnp.abs(z)) / self.alpha

    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        v = self.alpha * jnp.abs(z)
        return jnp.sum(_expm1_minus(v)) / self.alpha**2

    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return 1.0 / (1.0 + self.alpha * jnp.abs(x))

    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        return jnp.exp(self.alpha * jnp.abs(z))

    def in_domain(self, x: Vector) -> BoolVector:
        return jnp.isfinite(x)

    def in_dual_domain(self, z: Vector, dose: ScalarLike | None = None) -> BoolVector:
        # Finite z whose conjugate does not overflow.
        return jnp.isfinite(z) & (self.alpha * jnp.abs(z) < 700.0)

    def continuation(self) -> list[AbstractPotential]:
        """Solve at smaller couplings first when alpha is large (alpha > 10)."""
        steps = max(0, math.ceil(math.log10(self.alpha / 10.0)))
        return [HamPotential(self.alpha / 10.0**j) for j in range(steps, 0, -1)] + [
            self
        ]

    def penalty(self, x: Vector) -> Scalar:
        r"""HAM's explicit part $h_\alpha$.

        $h_\alpha(x) = \sum_i |x_i|/\alpha - \log(1+\alpha|x_i|)/\alpha^2$.

        The $\beta$ drift of the flow is $-(1+\alpha|x|)\,\beta\nabla h_\alpha(x) =
        -\beta x$; $h_\alpha\approx x^2/2$ near 0 and $\approx |x|/\alpha$ far away.
        """
        u = self.alpha * jnp.abs(x)
        return jnp.sum(_u_minus_log1p(u)) / self.alpha**2

    def penalty_grad(self, x: Vector) -> Vector:
        r"""$\nabla h_\alpha(x) = x / (1 + \alpha|x|)$."""
        return x / (1.0 + self.alpha * jnp.abs(x))

    def penalty_hessian_diag(self, x: Vector) -> Vector:
        r"""$\nabla^2 h_\alpha(x) = (1 + \alpha|x|)^{-2}$."""
        return 1.0 / (1.0 + self.alpha * jnp.abs(x)) ** 2
