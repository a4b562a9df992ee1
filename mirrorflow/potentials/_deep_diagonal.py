"""The potential induced by a depth-D diagonal network, known through its conjugate."""

import functools
import typing

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate
from .._misc import is_concrete
from .._types import BoolVector, Scalar, ScalarLike, Vector
from ._base import AbstractPotential


_BISECTION_STEPS = 80
_NEWTON_STEPS = 3


def _conj_grad(depth, gu, gv, z):
    kappa = depth * (depth - 2)
    q = depth / (depth - 2)
    return (gu - kappa * z) ** (-q) - (gv + kappa * z) ** (-q)


def _conj_hess(depth, gu, gv, z):
    kappa = depth * (depth - 2)
    r = (2.0 * depth - 2.0) / (depth - 2)
    return (
        depth
        * kappa
        / (depth - 2)
        * ((gu - kappa * z) ** (-r) + (gv + kappa * z) ** (-r))
    )


@functools.partial(jax.jit, static_argnums=0)
def _solve_mirror_map(depth, gu, gv, x):
    """Bisection on the bracket (-gv/kappa, gu/kappa), then guarded Newton steps."""
    kappa = depth * (depth - 2)
    lo, hi = -gv / kappa, gu / kappa

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = _conj_grad(depth, gu, gv, mid) > x
        return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

    lo, hi = jax.lax.fori_loop(0, _BISECTION_STEPS, bisect, (lo, hi))
    z = 0.5 * (lo + hi)
    for _ in range(_NEWTON_STEPS):
        z_new = z - (_conj_grad(depth, gu, gv, z) - x) / _conj_hess(depth, gu, gv, z)
        z = jnp.where((z_new >= lo) & (z_new <= hi), z_new, z)
    return z


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _mirror_map(depth, gu, gv, x):
    return _solve_mirror_map(depth, gu, gv, x)


@_mirror_map.defjvp
def _mirror_map_jvp(depth, primals, tangents):
    gu, gv, x = primals
    dgu, dgv, dx = tangents
    z = _mirror_map(depth, gu, gv, x)
    _, dgrad = jax.jvp(lambda a, b: _conj_grad(depth, a, b, z), (gu, gv), (dgu, dgv))
    return z, (dx - dgrad) / _conj_hess(depth, gu, gv, z)


class DeepDiagonalPotential(AbstractPotential):
    r"""Potential of gradient flow on $x = u^{D} - v^{D}$ ($D \ge 3$), via R*.

    With $\gamma_u = u_0^{2-D}$, $\gamma_v = v_0^{2-D}$, $\kappa = D(D-2)$ and
    $p = 2/(D-2)$:
    $$R^*(z) = \tfrac{1}{2D}\sum_i\big[(\gamma_{u,i}-\kappa z_i)^{-p}
    + (\gamma_{v,i}+\kappa z_i)^{-p}\big],\qquad
    \nabla R^*(z) = (\gamma_u-\kappa z)^{-\frac{D}{D-2}}
    -(\gamma_v+\kappa z)^{-\frac{D}{D-2}},$$
    on the dual domain $-\gamma_v/\kappa < z < \gamma_u/\kappa$. Gradient flow on
    $(u, v)$ is the mirror flow of $R$ with the same clock and $\nabla R(x_0) = 0$,
    and $u^{2-D} = \gamma_u - \kappa z$, $v^{2-D} = \gamma_v + \kappa z$ (the
    depth-$D$ model of Woodworth et al. 2020, Thm 3, with $u_0 = v_0 = \alpha$;
    derivations/04_deep_diagonal.py derives it for any $u_0, v_0 > 0$ by the same
    integration). $R$ has no elementary closed form: the mirror map is computed by
    bisection plus Newton on the monotone $\nabla R^*$, and
    $R(x) = \langle z, x\rangle - R^*(z)$ at $z = \nabla R(x)$.
    Domain of $R$: $\mathbb{R}^d$.

    Args:
        depth: $D \ge 3$.
        alpha: balanced init scale ($u_0 = v_0 = \alpha$); or
        u0, v0: positive initial factors (scalars or per coordinate).
    """

    bounded_dual_domain: typing.ClassVar[bool] = True

    depth: int = eqx.field(static=True)
    gamma_u: Float[Array, "*d"]
    gamma_v: Float[Array, "*d"]

    def __init__(
        self,
        depth: int,
        alpha: Float[ArrayLike, "*d"] | None = None,
        *,
        u0: Float[ArrayLike, "*d"] | None = None,
        v0: Float[ArrayLike, "*d"] | None = None,
    ):
        if not (isinstance(depth, int) and depth >= 3):
            raise ValueError(
                f"{type(self).__name__}: `depth` must be an int >= 3, got {depth!r}; "
                "for depth 2 use "
                "`Hypentropy` (x = u*u - v*v)."
            )
        if alpha is not None:
            if u0 is not None or v0 is not None:
                raise ValueError("Pass either `alpha` or (`u0`, `v0`), not both.")
            u0 = v0 = alpha
        if u0 is None or v0 is None:
            raise ValueError("Pass `alpha`, or both `u0` and `v0`.")
        call = type(self).__name__
        for name, value in (("u0", u0), ("v0", v0)):
            if is_concrete(value):
                label = "alpha" if alpha is not None else name
                _validate.real_array(value, call, label)
        u0 = jnp.asarray(u0, dtype=jnp.result_type(float))
        v0 = jnp.asarray(v0, dtype=jnp.result_type(float))
        if is_concrete(u0, v0) and not (
            np.all(np.asarray(u0) > 0) and np.all(np.asarray(v0) > 0)
        ):
            raise ValueError(
                f"{call}: `u0`/`v0`/`alpha` must be > 0 for the depth-D potential "
                "(the flow keeps u, v on the positive orthant)."
            )
        self.depth = depth
        self.gamma_u = u0 ** (2 - depth)
        self.gamma_v = v0 ** (2 - depth)

    @property
    def kappa(self) -> float:
        return float(self.depth * (self.depth - 2))

    def _bases(self, z):
        return self.gamma_u - self.kappa * z, self.gamma_v + self.kappa * z

    def in_dual_domain(self, z: Vector, dose: ScalarLike | None = None) -> BoolVector:
        bu, bv = self._bases(z)
        return (bu > 0) & (bv > 0)

    def _safe_bases(self, z):
        bu, bv = self._bases(z)
        ok = (bu > 0) & (bv > 0)
        return jnp.where(ok, bu, 1.0), jnp.where(ok, bv, 1.0), ok

    def conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Scalar:
        bu, bv, ok = self._safe_bases(z)
        p = 2.0 / (self.depth - 2)
        terms = (bu ** (-p) + bv ** (-p)) / (2.0 * self.depth)
        return jnp.where(jnp.all(ok), jnp.sum(terms), jnp.inf)

    def grad_conjugate(self, z: Vector, dose: ScalarLike | None = None) -> Vector:
        bu, bv, ok = self._safe_bases(z)
        q = self.depth / (self.depth - 2)
        return jnp.where(ok, bu ** (-q) - bv ** (-q), jnp.nan)

    def conjugate_hessian_diag(
        self, z: Vector, dose: ScalarLike | None = None
    ) -> Vector:
        bu, bv, ok = self._safe_bases(z)
        r = (2.0 * self.depth - 2.0) / (self.depth - 2)
        scale = self.depth * self.kappa / (self.depth - 2)
        return jnp.where(ok, scale * (bu ** (-r) + bv ** (-r)), jnp.nan)

    def grad(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        # The inverse of the monotone grad R*, solved numerically; derivatives come
        # from the implicit function theorem (dz = (dx - dG/dgamma dgamma) / G'(z)),
        # not from differentiating the iterations.
        x = jnp.asarray(x)
        gu = jnp.broadcast_to(self.gamma_u, x.shape)
        gv = jnp.broadcast_to(self.gamma_v, x.shape)
        return _mirror_map(self.depth, gu, gv, x)

    def value(self, x: Vector, dose: ScalarLike | None = None) -> Scalar:
        z = self.grad(x)
        return jnp.vdot(z, x) - self.conjugate(z)

    def hessian_diag(self, x: Vector, dose: ScalarLike | None = None) -> Vector:
        return 1.0 / self.conjugate_hessian_diag(self.grad(x))

    def in_domain(self, x: Vector) -> BoolVector:
        return jnp.isfinite(x)

    def factors(self, z: Vector) -> tuple[Vector, Vector]:
        r"""The factors $(u, v)$ at dual point $z$: $u^{2-D} = \gamma_u - \kappa z$."""
        bu, bv = self._bases(z)
        e = -1.0 / (self.depth - 2)
        return bu**e, bv**e
