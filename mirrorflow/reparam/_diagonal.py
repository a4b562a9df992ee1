"""Diagonal reparameterizations: m*w, u*u - v*v, w*w and u^D - v^D."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._misc import is_concrete
from .._types import PyTree, Weights
from ..potentials import (
    AbstractPotential,
    DeepDiagonalPotential,
    Hypentropy,
    NegEntropy,
    TimeDependentDeepDiagonal,
    TimeDependentHypentropy,
)
from ._base import AbstractReparam


def _pair(params: PyTree, names: str) -> tuple:
    if not (isinstance(params, tuple | list) and len(params) == 2):
        raise ValueError(
            f"`params` must be a pair ({names}) of equal-shape arrays, got "
            f"{type(params).__name__}."
        )
    a, b = jnp.asarray(params[0]), jnp.asarray(params[1])
    if a.shape != b.shape:
        raise ValueError(
            f"`params` = ({names}) must have equal shapes, got {a.shape} and {b.shape}."
        )
    return a, b


class Hadamard(AbstractReparam):
    r"""The mask-weight product $x = m\odot w$, params `(m, w)`.

    Gradient flow conserves $\beta = m^2 - w^2$ and gives
    $\dot x = -\sqrt{4x^2 + \beta^2}\odot\nabla f(x)$ (Mask in the Mirror, Jacobs &
    Burkholz 2025, Thm 2.1; derivations/02_hadamard_mw.py).
    Induced potential (same clock): `Hypentropy(scale=|beta|/2, coef=1/2)` when
    every $\beta_i \ne 0$; `NegEntropy(coef=1/2, sign=sign(x0))` when the
    initialization is balanced ($\beta = 0$, then $x_i$ keeps its sign).
    `time_factor` is 2: $x_{m\odot w}(t) = x_Q(2t)$, half the speed of
    $u\odot u - v\odot v$ at $\alpha^2 = \beta/4$.
    """

    def to_x(self, params: PyTree) -> Weights:
        m, w = _pair(params, "m, w")
        return m * w

    def conserved(self, params: PyTree) -> Weights:
        m, w = _pair(params, "m, w")
        return m**2 - w**2

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        beta = self.conserved(params0)
        x0 = self.to_x(params0)
        if not is_concrete(beta):
            return Hypentropy(scale=jnp.abs(beta) / 2, coef=0.5)
        b = np.asarray(beta)
        if np.all(b != 0):
            return Hypentropy(scale=jnp.abs(beta) / 2, coef=0.5)
        if np.all(b == 0) and np.all(np.asarray(x0) != 0):
            return NegEntropy(coef=0.5, sign=jnp.sign(x0))
        raise ValueError(
            "Hadamard.induced_potential: `params0` must be either unbalanced in every "
            "coordinate (m0^2 != w0^2) or balanced with m0*w0 != 0 in every "
            "coordinate; mixed initializations have no single closed-form potential."
        )

    @property
    def time_factor(self) -> float:
        return 2.0

    def decay_family(self, params0: PyTree):
        r"""`TimeDependentHypentropy(|m0^2 - w0^2|/2, coef=1/2)` and
        $z_0 = \tfrac12\mathrm{arcsinh}(2x_0/|a_0|)$ (= artanh($w_0/m_0$) if
        $|m_0| > |w_0|$, $m_0 > 0$); needs $m_0^2 \ne w_0^2$ in every coordinate."""
        a0 = self.conserved(params0)
        if not np.all(np.asarray(a0) != 0):
            raise ValueError(
                "decay_family: `params0` = (m0, w0) must be unbalanced "
                "(m0^2 != w0^2) in every coordinate; with a balanced coordinate the "
                "imbalance stays 0 and the hypentropy family does not apply."
            )
        family = TimeDependentHypentropy(jnp.abs(a0) / 2, coef=0.5)
        return family, family.grad(self.to_x(params0), 0.0)


class DiffOfSquares(AbstractReparam):
    r"""$x = u\odot u - v\odot v$, params `(u, v)` (Woodworth et al. 2020).

    Gradient flow conserves $u\odot v$ (need $u_0 v_0 > 0$) and gives
    $\dot x = -4\sqrt{x^2 + c^2}\odot\nabla f(x)$ with $c = 2u_0v_0$, the mirror flow
    of `Hypentropy(scale=c, coef=1/4)` $= Q_\alpha/4$ with the same clock, started at
    $\nabla R(x_0) = \tfrac14\log(u_0/v_0)$ (Woodworth et al. 2020, Thm 1; Azulay et
    al. 2021; derivations/03_difference_of_squares.py).
    `time_factor` is 4: $x_{\mathrm{GF}}(t) = x_{Q}(4t)$.
    """

    def to_x(self, params: PyTree) -> Weights:
        u, v = _pair(params, "u, v")
        return u**2 - v**2

    def conserved(self, params: PyTree) -> Weights:
        u, v = _pair(params, "u, v")
        return u * v

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        uv = self.conserved(params0)
        if is_concrete(uv) and not np.all(np.asarray(uv) > 0):
            raise ValueError(
                "DiffOfSquares.induced_potential: need u0 * v0 > 0 in every "
                "coordinate (e.g. u0 = v0 = alpha); with u0 * v0 = 0 the flow is an "
                "entropy flow on an orthant, use `Square`."
            )
        return Hypentropy(scale=2.0 * uv, coef=0.25)

    @property
    def time_factor(self) -> float:
        return 4.0

    def decay_family(self, params0: PyTree):
        r"""`TimeDependentHypentropy(2 u0 v0, coef=1/4)` and
        $z_0 = \tfrac14\log(u_0/v_0)$; needs $u_0v_0 > 0$ in every coordinate."""
        uv = self.conserved(params0)
        if not np.all(np.asarray(uv) > 0):
            raise ValueError(
                "decay_family: `params0` = (u0, v0) needs u0 * v0 > 0 in "
                "every coordinate."
            )
        u0, v0 = params0
        family = TimeDependentHypentropy(2.0 * uv, coef=0.25)
        return family, 0.25 * jnp.log(jnp.asarray(u0) / jnp.asarray(v0))


class Square(AbstractReparam):
    r"""$x = w\odot w$, params `w` (a single array).

    $\dot x = -4x\odot\nabla f(x)$: the mirror flow of `NegEntropy(coef=1/4)` on the
    positive orthant (derivations/01_quadratic_and_entropy.py). It has no conserved
    quantity: `conserved` raises.
    """

    def to_x(self, params: PyTree) -> Weights:
        return jnp.asarray(params) ** 2

    def conserved(self, params: PyTree) -> Weights:
        raise ValueError(
            "Square (x = w*w) has no conserved quantity; use DiffOfSquares or "
            "Hadamard for a reparameterization with one."
        )

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        w0 = jnp.asarray(params0)
        if is_concrete(w0) and not np.all(np.asarray(w0) != 0):
            raise ValueError(
                "Square.induced_potential: `params0` must be nonzero in every "
                "coordinate (x = 0 is absorbing for w*w)."
            )
        return NegEntropy(coef=0.25)

    @property
    def time_factor(self) -> float:
        return 4.0


class DeepDiagonal(AbstractReparam):
    r"""Depth-$D$ diagonal network $x = u^{D} - v^{D}$ ($D \ge 3$), params `(u, v)`.

    Gradient flow conserves $u^{2-D} + v^{2-D}$ and is the mirror flow of
    `DeepDiagonalPotential(D, u0=u0, v0=v0)` with the same clock, started at
    $\nabla R(x_0) = 0$ (Woodworth et al. 2020, Thm 3; derivations/04_deep_diagonal.py).
    `time_factor` is 1 (the potential has no separate unit-coefficient form).
    """

    depth: int = eqx.field(static=True)

    def __check_init__(self):
        if not (isinstance(self.depth, int) and self.depth >= 3):
            raise ValueError(
                f"{type(self).__name__}: `depth` must be an int >= 3, got "
                f"{self.depth!r}; for depth 2 use "
                "`DiffOfSquares`."
            )

    def to_x(self, params: PyTree) -> Weights:
        u, v = _pair(params, "u, v")
        return u**self.depth - v**self.depth

    def conserved(self, params: PyTree) -> Weights:
        u, v = _pair(params, "u, v")
        return u ** (2 - self.depth) + v ** (2 - self.depth)

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        u0, v0 = _pair(params0, "u, v")
        return DeepDiagonalPotential(self.depth, u0=u0, v0=v0)

    @property
    def time_factor(self) -> float:
        return 1.0

    def penalty(self, params: PyTree):
        r"""$\sum_i u_i^D + v_i^D$: the admissible decay of depth $D$ (Mirror, Mirror,
        Cor 3.1: plain L2 decay is admissible only for depth 2)."""
        u, v = params
        return jnp.sum(u**self.depth) + jnp.sum(v**self.depth)

    def decay_family(self, params0: PyTree):
        """`TimeDependentDeepDiagonal(D, u0, v0)` and $z_0 = 0$."""
        u0, v0 = params0
        family = TimeDependentDeepDiagonal(self.depth, u0=u0, v0=v0)
        return family, jnp.zeros_like(self.to_x(params0))
