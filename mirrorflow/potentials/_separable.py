"""Closed-form separable potentials: squared norm, negative entropy, hypentropy."""

import math
import typing

import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate
from .._misc import is_concrete, scaled_cosh, scaled_cosh_minus_one, scaled_sinh
from .._types import BoolVector, Scalar, ScalarLike, Vector
from ._base import AbstractPotential


def _positive(value, name: str, fix: str, call: str = "Hypentropy") -> Array:
    if is_concrete(value):
        a = _validate.real_array(value, call, name)
        if not np.all(a > 0):
            raise ValueError(
                f"{call}: `{name}` must be finite and > 0, got {value!r}; {fix}"
            )
    return jnp.asarray(value, dtype=jnp.result_type(float))


def _coef(coef, call: str) -> float:
    return _validate.scalar(coef, call, "coef", low=0.0, example="1.0")


class SquaredNorm(AbstractPotential):
    r"""The quadratic potential $R(x) = \tfrac{k}{2}\|x\|_2^2$ (default $k = 1$).

    Mirror map $kx$, inverse $z/k$, metric $kI$, $D_R(x,y) = \tfrac{k}{2}\|x-y\|^2$.
    Its mirror flow is gradient flow (time scaled by $1/k$) and converges on
    underdetermined least squares to the minimum-norm interpolant
    $x_0 + A^+(b - Ax_0)$ (Gunasekar et al. 2018, Thm 1;
    derivations/01_quadratic_and_entropy.py). Domain: $\mathbb{R}^d$.
    """

    coef: float = 1.0

    def __init__(self, coef: ScalarLike = 1.0):
        self.coef = _coef(coef, "SquaredNorm")

    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        return 0.5 * self.coef * jnp.vdot(x, x)

    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.coef * x

    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        return z / self.coef

    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        return 0.5 * jnp.vdot(z, z) / self.coef

    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return jnp.full_like(x, self.coef)

    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        return jnp.full_like(z, 1.0 / self.coef)

    def in_domain(self, x: Vector) -> BoolVector:
        return jnp.isfinite(x)

    def bregman(self, x: Vector, y: Vector) -> Scalar:
        return 0.5 * self.coef * jnp.sum((x - y) ** 2)


class NegEntropy(AbstractPotential):
    r"""Negative entropy on an orthant.

    $R(x) = k\sum_i (s_i x_i\log(s_i x_i) - s_i x_i)$.

    With sign $s_i = \pm 1$ (default $+1$: the positive orthant $x > 0$).
    Mirror map $k\,s\log(sx)$, inverse $s\,e^{sz/k}$, metric $k/|x|$,
    $R^*(z) = k\sum_i e^{s_i z_i/k}$, and $D_R(x,y) = k\,\mathrm{KL}(sx\,\|\,sy)$
    (generalized). $x = w\odot w$ induces $k = 1/4$; balanced $m\odot w$ induces
    $k = 1/2$ (derivations/01_quadratic_and_entropy.py, 02_hadamard_mw.py). Domain:
    $s_i x_i > 0$.

    Args:
        coef: the constant $k > 0$.
        sign: $+1$ or $-1$, scalar or one per coordinate.
    """

    bounded_domain: typing.ClassVar[bool] = True

    coef: float
    sign: Float[Array, "*d"]

    def __init__(self, coef: ScalarLike = 1.0, sign: Float[ArrayLike, "*d"] = 1.0):
        self.coef = _coef(coef, type(self).__name__)
        sign = jnp.asarray(sign, dtype=jnp.result_type(float))
        if is_concrete(sign) and not np.all(np.abs(np.asarray(sign)) == 1.0):
            raise ValueError(f"`sign` must be +1 or -1 in every entry, got {sign}.")
        self.sign = sign

    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        sx = self.sign * x
        return self.coef * jnp.sum(jss.xlogy(sx, sx) - sx)

    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.coef * self.sign * jnp.log(self.sign * x)

    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.sign * jnp.exp(self.sign * z / self.coef)

    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        return self.coef * jnp.sum(jnp.exp(self.sign * z / self.coef))

    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.coef / jnp.abs(x)

    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        return jnp.exp(self.sign * z / self.coef) / self.coef

    def in_domain(self, x: Vector) -> BoolVector:
        return (self.sign * x > 0) & jnp.isfinite(x)

    def domain_description(self) -> str:
        return "negative entropy needs sign * x > 0 (pass x on the orthant of `sign`)."

    def bregman(self, x: Vector, y: Vector) -> Scalar:
        sx, sy = self.sign * x, self.sign * y
        return self.coef * jnp.sum(jss.xlogy(sx, sx) - jss.xlogy(sx, sy) - sx + sy)


class Hypentropy(AbstractPotential):
    r"""Hyperbolic entropy (hypentropy).

    $R(x)=k\sum_i\big[x_i\,\mathrm{arcsinh}(x_i/c_i)-\sqrt{x_i^2+c_i^2}+c_i\big]$.

    Mirror map $k\,\mathrm{arcsinh}(x/c)$, inverse $c\sinh(z/k)$, metric
    $k/\sqrt{x^2+c^2}$, $R^*(z) = kc\sum_i(\cosh(z_i/k) - 1)$. Domain: $\mathbb{R}^d$.

    `Hypentropy(alpha)` is the potential induced by gradient flow on
    $x = u\odot u - v\odot v$ with $u_0 = v_0 = \alpha$: $c = 2\alpha^2$, $k = 1/4$,
    i.e. $R_\alpha = Q_\alpha/4$ with Woodworth et al.'s (2020) $Q_\alpha$
    (Woodworth et al. 2020, Thm 1; derivations/03_difference_of_squares.py).
    `Hypentropy(scale=abs(a)/2, coef=0.5)` is the $R_a$ of $x = m\odot w$ with
    imbalance $a = m^2 - w^2$ (Mask in the Mirror, Jacobs & Burkholz 2025, Thms 2.1
    and 3.1; derivations/02_hadamard_mw.py, 06_weight_decay_time_dependent.py).
    Small $c$ approaches an L1 geometry, large $c$ an L2 one.

    Args:
        alpha: initialization scale $\alpha > 0$ (scalar or per coordinate); sets
            $c = 2\alpha^2$ and $k = 1/4$.
        scale: $c > 0$ directly (exclusive with `alpha`).
        coef: $k > 0$ (default 1/4).
    """

    scale: Float[Array, "*d"]
    coef: float

    def __init__(
        self,
        alpha: Float[ArrayLike, "*d"] | None = None,
        *,
        scale: Float[ArrayLike, "*d"] | None = None,
        coef: ScalarLike = 0.25,
    ):
        if (alpha is None) == (scale is None):
            raise ValueError(
                "Hypentropy: pass exactly one of `alpha` (init scale, c = 2 alpha^2) "
                "or `scale` (c directly)."
            )
        if alpha is not None:
            alpha = _positive(alpha, "alpha", "the initialization scale must be > 0.")
            self.scale = 2.0 * alpha**2
            given, name = alpha, "alpha"
        else:
            self.scale = _positive(scale, "scale", "the hypentropy scale c is > 0.")
            given, name = self.scale, "scale"
        if is_concrete(self.scale):
            c = np.asarray(self.scale)
            tiny = np.finfo(c.dtype).tiny
            if not (np.all(np.isfinite(c)) and np.all(c >= tiny)):
                raise ValueError(
                    f"Hypentropy: `{name}` = {np.asarray(given)!r} gives the scale "
                    f"c = 2 alpha^2 outside {c.dtype}'s normal range [{tiny:.3g}, "
                    f"{np.finfo(c.dtype).max:.3g}] (c underflows to 0 or overflows "
                    "to inf); pass alpha in about [1e-150, 1e150] in float64 "
                    "(float32: [1e-19, 1e19])."
                )
        self.coef = _coef(coef, type(self).__name__)

    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        c = self.scale
        # sqrt(x^2+c^2) - c = x^2 / (hypot(x, c) + c): no cancellation for |x| << c.
        return self.coef * jnp.sum(
            x * jnp.arcsinh(x / c) - x**2 / (jnp.hypot(x, c) + c)
        )

    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.coef * jnp.arcsinh(x / self.scale)

    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        return scaled_sinh(z / self.coef, jnp.log(self.scale))

    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        return self.coef * jnp.sum(
            scaled_cosh_minus_one(z / self.coef, jnp.log(self.scale))
        )

    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return self.coef / jnp.hypot(x, self.scale)

    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        return scaled_cosh(z / self.coef, jnp.log(self.scale)) / self.coef

    def in_domain(self, x: Vector) -> BoolVector:
        return jnp.isfinite(x)

    def bregman(self, x: Vector, y: Vector) -> Scalar:
        c = self.scale
        return self.coef * jnp.sum(
            x * (jnp.arcsinh(x / c) - jnp.arcsinh(y / c))
            - jnp.hypot(x, c)
            + jnp.hypot(y, c)
        )

    def continuation(self) -> list[AbstractPotential]:
        if not is_concrete(self.scale):
            return [self]
        cmax = float(np.max(np.asarray(self.scale)))
        steps = max(0, math.ceil(math.log10(1.0 / cmax))) if cmax < 1.0 else 0
        return [
            Hypentropy(scale=self.scale * 10.0**j, coef=self.coef)
            for j in range(steps, 0, -1)
        ] + [self]
