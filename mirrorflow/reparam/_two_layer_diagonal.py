r"""The two-layer diagonal network $x = u_+\odot v_+ - u_-\odot v_-$ of any shape.

Derivation of the induced potential (coordinate by coordinate; $g = \nabla f(x)$,
$z_t = -\int_0^t g\,ds$). Gradient flow is $\dot u_\pm = \mp v_\pm g$,
$\dot v_\pm = \mp u_\pm g$, so each pair turns hyperbolically with the dual time $z$:
$$u_\pm = u_{\pm,0}\cosh z \pm v_{\pm,0}\sinh z,\qquad
v_\pm = v_{\pm,0}\cosh z \pm u_{\pm,0}\sinh z .$$
Hence $u_\pm^2 - v_\pm^2$ is conserved and
$$x(z) = x_0\cosh 2z + \tfrac{S}{2}\sinh 2z
= \tfrac{\rho}{2}\sinh\!\big(2z + \operatorname{arcsinh}\tfrac{2x_0}{\rho}\big),$$
$$S = u_+^2 + v_+^2 + u_-^2 + v_-^2,\qquad
\rho^2 = S^2 - 4x^2 = \big[(u_+-v_+)^2 + (u_-+v_-)^2\big]
\big[(u_++v_+)^2 + (u_--v_-)^2\big],$$
all at $t = 0$. The two brackets scale as $e^{-2z}$ and $e^{2z}$ along the flow, so
$\rho$ is conserved as well. Since $x(z)$ is the inverse mirror map, gradient flow on
the four factors is, with the same clock, the mirror flow of the hypentropy
$$R(x) = \tfrac12\sum_i\Big[x_i\operatorname{arcsinh}\tfrac{x_i}{c_i}
- \sqrt{x_i^2 + c_i^2} + c_i\Big],\qquad c = \rho/2,\qquad
\nabla R(x_0) = \tfrac12\operatorname{arcsinh}\tfrac{2x_0}{\rho},$$
with metric $\nabla^2R(x) = (4x^2 + \rho^2)^{-1/2}$. The initialization shape enters
only through $\rho$ and $x_0$. This extends Azulay et al. (ICML 2021), Thm 4.1 (their
symmetric start $u_+ = u_-$, $v_+ = v_-$, $x_0 = 0$ has $\rho = 2(u_0^2 + v_0^2)$, their
$k$) to any start. Special cases: $u_- = v_- = 0$ is `Hadamard` ($\rho = |m^2 - w^2|$);
$u_+ = v_+ = u$, $u_- = v_- = v$ is `DiffOfSquares` run at half speed ($\rho = 4uv$).
"""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import is_concrete
from .._types import PyTree, Scalar
from ..potentials import (
    AbstractPotential,
    Hypentropy,
    NegEntropy,
    TimeDependentHypentropy,
)
from ._base import AbstractReparam


_NAMES = "u_plus, v_plus, u_minus, v_minus"


def _quadruple(params: PyTree) -> tuple[Array, Array, Array, Array]:
    if not (isinstance(params, tuple | list) and len(params) == 4):
        raise ValueError(
            f"`params` must be four equal-shape arrays ({_NAMES}), got "
            f"{type(params).__name__}"
            + (f" of length {len(params)}" if isinstance(params, tuple | list) else "")
            + "; pass a tuple (u_plus, v_plus, u_minus, v_minus)."
        )
    arrays = tuple(jnp.asarray(p) for p in params)
    shapes = [a.shape for a in arrays]
    if len(set(shapes)) != 1:
        raise ValueError(
            f"`params` = ({_NAMES}) must have equal shapes, got {shapes}; give every "
            "factor one entry per weight."
        )
    return arrays


def _rho(up, vp, um, vm):
    # The product of two sums of squares: no cancellation in S^2 - 4 x^2.
    return jnp.sqrt(
        ((up - vp) ** 2 + (um + vm) ** 2) * ((up + vp) ** 2 + (um - vm) ** 2)
    )


class TwoLayerDiagonal(AbstractReparam):
    r"""Two-layer diagonal network $x = u_+\odot v_+ - u_-\odot v_-$ of any shape.

    Params `(u_plus, v_plus, u_minus, v_minus)`, four arrays of one shape. Gradient
    flow conserves $u_+^2 - v_+^2$ and $u_-^2 - v_-^2$ (`conserved`) and the scale
    $c = \rho/2$ (`hypentropy_scale`),
    $$\rho = \sqrt{\big[(u_+-v_+)^2 + (u_-+v_-)^2\big]\big[(u_++v_+)^2
    + (u_--v_-)^2\big]} = \sqrt{S^2 - 4x^2},\quad S = u_+^2+v_+^2+u_-^2+v_-^2,$$
    and moves $x$ along $\dot x = -\sqrt{4x^2 + \rho^2}\odot\nabla f(x)$: the mirror
    flow of `Hypentropy(scale=rho/2, coef=1/2)` on the same clock, started at
    $\nabla R(x_0) = \tfrac12\operatorname{arcsinh}(2x_0/\rho)$ (the derivation is in
    this module's docstring; Azulay et al., ICML 2021, Thm 4.1, for the symmetric
    start). On an underdetermined least-squares problem the flow converges to
    $\arg\min_{Ax=b} D_R(x, x_0)$ (`predict(problem, potential, x0=x0)`).

    The initialization *shape* matters only through $\rho$ and $x_0$. Porting a start
    to `DiffOfSquares` or `Hadamard` with the same numbers changes the potential: for
    Azulay et al.'s shape start $u_\pm = u_0$, $v_\pm = v_0$ (so $x_0 = 0$) the scale
    here is $u_0^2 + v_0^2$, while `DiffOfSquares` on $(u_0, v_0)$ has scale
    $2u_0v_0$ and start $u_0^2 - v_0^2$, and `Hadamard` on $(u_0, v_0)$ has scale
    $|u_0^2 - v_0^2|/2$ and start $u_0v_0$: other limits (about 0.1 to 0.8 apart on a
    random 30 x 10 problem at $u_0v_0 = 0.1$). The start that matches is
    `DiffOfSquares` with $u_0v_0 = \rho/4$ and $u_0^2 - v_0^2 = x_0$, or `Hadamard`
    with $|m_0^2 - w_0^2| = \rho$ and $m_0w_0 = x_0$.

    `time_factor` is 2: $x_{\mathrm{GF}}(t) = x_Q(2t)$ for the unit-coefficient
    hypentropy $Q$ of scale $\rho/2$. Where $\rho = 0$ (e.g. $u_+ = v_+$ and
    $u_- = -v_-$: then $x = u_+^2 + u_-^2$ keeps its sign) the potential is the
    negative entropy `NegEntropy(coef=1/2, sign=sign(x0))`.
    """

    def to_x(self, params: PyTree) -> Float[Array, "*d"]:
        r"""$x = u_+\odot v_+ - u_-\odot v_-$ (elementwise, any shape)."""
        up, vp, um, vm = _quadruple(params)
        return up * vp - um * vm

    def conserved(self, params: PyTree) -> Float[Array, "2 ..."]:
        r"""$(u_+^2 - v_+^2,\ u_-^2 - v_-^2)$, stacked on a leading axis of size 2."""
        up, vp, um, vm = _quadruple(params)
        return jnp.stack([up**2 - vp**2, um**2 - vm**2])

    def hypentropy_scale(self, params: PyTree) -> Float[Array, "*d"]:
        r"""$c = \rho/2$, the scale of the induced hypentropy (conserved too).

        $\rho^2 = \big[(u_+-v_+)^2 + (u_-+v_-)^2\big]\big[(u_++v_+)^2
        + (u_--v_-)^2\big] = S^2 - 4x^2$ with $S$ the sum of the four squares.
        """
        return 0.5 * _rho(*_quadruple(params))

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        """`Hypentropy(scale=rho/2, coef=1/2)` (same clock); see the class docstring.

        Raises:
            ValueError: `params0` mixes coordinates with $\\rho = 0$ and $\\rho > 0$,
                or has $\\rho = 0$ and $x_0 = 0$ in a coordinate (a fixed point).
        """
        c = self.hypentropy_scale(params0)
        if not is_concrete(c):
            return Hypentropy(scale=c, coef=0.5)
        c_np = np.asarray(c)
        if np.all(c_np > 0):
            return Hypentropy(scale=c, coef=0.5)
        x0 = np.asarray(self.to_x(params0))
        if np.all(c_np == 0) and np.all(x0 != 0):
            return NegEntropy(coef=0.5, sign=jnp.sign(jnp.asarray(x0)))
        raise ValueError(
            "TwoLayerDiagonal.induced_potential: `params0` needs rho > 0 in every "
            "coordinate (rho = 0 exactly when u_plus = v_plus and u_minus = -v_minus, "
            "or u_plus = -v_plus and u_minus = v_minus), or rho = 0 with x0 != 0 in "
            "every coordinate; perturb the degenerate coordinates (mixed starts have "
            "no single closed-form potential)."
        )

    @property
    def time_factor(self) -> float:
        return 2.0

    def penalty(self, params: PyTree) -> Scalar:
        r"""$\|u_+\|^2 + \|v_+\|^2 + \|u_-\|^2 + \|v_-\|^2$, plain L2 on the factors.

        Admissible: $x_i$ and this penalty are quadratic forms
        $\tfrac12 p^\top A_ip$, $\tfrac12p^\top(2I)p$ with commuting matrices (Mirror,
        Mirror of the Flow, Thm 3.1 and its commuting quadratic case), so weight decay
        gives the time-dependent hypentropy of `decay_family`.
        """
        return sum(jnp.sum(a**2) for a in _quadruple(params))

    def decay_family(self, params0: PyTree):
        r"""`TimeDependentHypentropy(rho/2, coef=1/2)` and
        $z_0 = \tfrac12\operatorname{arcsinh}(2x_0/\rho)$.

        With decay $\lambda_t$ times `penalty`, $p_t = e^{-2\Lambda_t}p^{(0)}_t$ with
        $p^{(0)}$ the undecayed hyperbolic turn, so $x = e^{-4\Lambda}\tfrac{\rho}{2}
        \sinh(2z + \varphi)$: the scale decays as $c_\Lambda = \tfrac{\rho}{2}
        e^{-4\Lambda}$ and constant decay gives the lasso with $\mu = 2\lambda$
        ($\min\|p\|^2$ over the factors of $x$ is $2|x|$). Needs $\rho > 0$ in every
        coordinate.
        """
        c = self.hypentropy_scale(params0)
        if not np.all(np.asarray(c) > 0):
            raise ValueError(
                "decay_family: `params0` needs rho > 0 in every coordinate (see "
                "`TwoLayerDiagonal.hypentropy_scale`); with rho = 0 the hypentropy "
                "family does not apply."
            )
        family = TimeDependentHypentropy(c, coef=0.5)
        return family, 0.5 * jnp.arcsinh(self.to_x(params0) / c)
