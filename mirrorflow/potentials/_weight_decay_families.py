r"""Time-dependent Legendre functions $R_\Lambda$ induced by weight decay.

Gradient flow on $f(g(p)) + \lambda_t h(p)$, with $h$ the reparameterization's own
penalty, is the time-dependent mirror flow
$$\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t),\qquad
\Lambda_t = \int_0^t\lambda_s\,ds,$$
(Mask in the Mirror, Jacobs & Burkholz 2025, Thm 3.1; Mirror, Mirror of the Flow,
Jacobs, Zhou & Burkholz 2025, Thm 3.1; derived in
derivations/06_weight_decay_time_dependent.py). Weight decay leaves the dual
dynamics untouched and acts only through the dose $\Lambda_t$ on the family $R_\Lambda$.
Each family here is indexed by $\Lambda$ in the mask convention (penalty
$\lambda_t h$, no factor 1/2); see `mirrorflow.regularization` for the mirror2
conversion ($\Lambda = -a/2$ for $m\odot w$ and quadratic, $\Lambda = -a$ for
$u^{2k} - v^{2k}$).
"""

import typing

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import _validate
from .._misc import is_concrete, scaled_cosh, scaled_cosh_minus_one, scaled_sinh
from .._types import BoolVector, Scalar, ScalarLike, Vector
from ._deep_diagonal import DeepDiagonalPotential
from ._family import AbstractPotentialFamily, AbstractSeparablePotentialFamily
from ._separable import Hypentropy


def _check_positive(value, name: str, who: str) -> Array:
    if is_concrete(value):
        a = _validate.real_array(value, who, name)
        if not np.all(a > 0):
            raise ValueError(f"{who}: `{name}` must be finite and > 0, got {value!r}.")
    return jnp.asarray(value, dtype=jnp.result_type(float))


class TimeDependentHypentropy(AbstractSeparablePotentialFamily):
    r"""Hypentropy whose scale decays with the dose: $c_\Lambda = c_0 e^{-r\Lambda}$.

    $R_\Lambda(x) = k\sum_i[x_i\,\mathrm{arcsinh}(x_i/c_{\Lambda,i})
    - \sqrt{x_i^2 + c_{\Lambda,i}^2} + c_{\Lambda,i}]$, $\nabla R_\Lambda^*(z)
    = c_\Lambda\sinh(z/k)$. Domain $\mathbb{R}^d$, shapes `(d,)`.

    - $x = m\odot w$, penalty $\lambda_t(\|m\|^2 + \|w\|^2)$: $c_0 = |m_0^2-w_0^2|/2$,
      $k = 1/2$, $r = 4$, so $c_\Lambda = |a_\Lambda|/2$ with
      $a_\Lambda = a_0e^{-4\Lambda}$: the $R_{a_t}$ of Mask in the Mirror, Thm 3.1 (with
      the exponent $-4\Lambda$ its flow gives; see docs/theory/conventions.md), and
      Mirror, Mirror's $R_a$ (Eq. 8) with $\gamma_a = |a_\Lambda|$, $a = -2\Lambda$ (up
      to the constant $\gamma_a/4$ and the linear tilt $-\varphi x/2$, which moves into
      the start point $z_0 = \varphi/2$). Constant decay gives the lasso with
      $\mu = 2\lambda$ (`l1_weight` 2).
    - $x = u\odot u - v\odot v$, penalty $\lambda_t(\|u\|^2 + \|v\|^2)$:
      $c_0 = 2u_0v_0$, $k = 1/4$, $r = 4$, `l1_weight` 1.

    Evaluated in the log domain ($\log c_\Lambda = \log c_0 - r\Lambda$), so huge doses
    do not underflow.

    Args:
        scale0: $c_0 > 0$, scalar or shape `(d,)`.
        coef: $k > 0$.
        rate: $r > 0$ (default 4).
        l1_weight: the lasso factor $\mu/\lambda$ (default $4k$: 2 for $m\odot w$,
            1 for $u\odot u - v\odot v$).
    """

    log_scale0: Float[Array, "*d"]
    coef: float = eqx.field(static=True)
    rate: float = eqx.field(static=True)
    l1_weight: float = eqx.field(static=True)

    def __init__(
        self,
        scale0: Float[ArrayLike, "*d"],
        *,
        coef: float,
        rate: float = 4.0,
        l1_weight: float | None = None,
    ):
        scale0 = _check_positive(scale0, "scale0", "TimeDependentHypentropy")
        for name, val in (("coef", coef), ("rate", rate)):
            if not (isinstance(val, int | float) and np.isfinite(val) and val > 0):
                raise ValueError(
                    f"TimeDependentHypentropy: `{name}` must be a finite float > 0, "
                    f"got {val!r}."
                )
        self.log_scale0 = jnp.log(scale0)
        self.coef = float(coef)
        self.rate = float(rate)
        self.l1_weight = 4.0 * self.coef if l1_weight is None else float(l1_weight)

    def log_scale(self, dose: ScalarLike) -> Array:
        r"""$\log c_\Lambda = \log c_0 - r\Lambda$."""
        return self.log_scale0 - self.rate * jnp.asarray(dose, self.log_scale0.dtype)

    def scale(self, dose: ScalarLike) -> Array:
        r"""$c_\Lambda = c_0e^{-r\Lambda}$."""
        return jnp.exp(self.log_scale(dose))

    def at(self, dose: ScalarLike) -> Hypentropy:
        return Hypentropy(scale=self.scale(dose), coef=self.coef)

    def grad(self, x: Vector, dose: ScalarLike) -> Vector:
        log_c = self.log_scale(dose)
        ax = jnp.abs(x)
        log_ax = jnp.log(jnp.where(ax > 0, ax, 1.0))
        # arcsinh(y) = log(2y) + O(y^-2): for y = |x|/c > e^20 use the log form, so a
        # huge dose (c underflowing) still gives a finite mirror map.
        big = (ax > 0) & (log_ax - log_c > 20.0)
        # x / c directly while c is a normal number; from the logs once it underflows
        # (then only |x| <= e^20 c, i.e. x = 0, is left for this branch).
        c = jnp.exp(log_c)
        normal = c > 1e-290
        y = jnp.where(
            normal,
            x / jnp.where(normal, c, 1.0),
            jnp.sign(x) * jnp.exp(jnp.minimum(log_ax - log_c, 20.0)),
        )
        asinh = jnp.where(
            big, jnp.sign(x) * (jnp.log(2.0) + log_ax - log_c), jnp.arcsinh(y)
        )
        return self.coef * asinh

    def grad_conjugate(self, z: Vector, dose: ScalarLike) -> Vector:
        return scaled_sinh(z / self.coef, self.log_scale(dose))

    def conjugate(self, z: Vector, dose: ScalarLike) -> Scalar:
        return self.coef * jnp.sum(
            scaled_cosh_minus_one(z / self.coef, self.log_scale(dose))
        )

    def conjugate_hessian_diag(self, z: Vector, dose: ScalarLike) -> Vector:
        return scaled_cosh(z / self.coef, self.log_scale(dose)) / self.coef

    def hessian_diag(self, x: Vector, dose: ScalarLike) -> Vector:
        r"""The metric $\nabla^2R_\Lambda(x) = k/\sqrt{x^2 + c_\Lambda^2}$."""
        return self.coef / jnp.hypot(x, self.scale(dose))


class TimeDependentDeepDiagonal(AbstractSeparablePotentialFamily):
    r"""The family of $x = u^D - v^D$ under the decay $\lambda_t\sum_i(u_i^D + v_i^D)$.

    Gradient flow gives $u^{2-D} = \gamma_u - \kappa z + \kappa\Lambda$ and
    $v^{2-D} = \gamma_v + \kappa z + \kappa\Lambda$ ($\kappa = D(D-2)$,
    $\gamma = u_0^{2-D}$, $z = -\int\nabla f$), so $R_\Lambda$ is the
    `DeepDiagonalPotential` with $\gamma_{u,v}$ shifted by $\kappa\Lambda$:
    $$\nabla R_\Lambda^*(z) = (\gamma_u + \kappa\Lambda - \kappa z)^{-\frac{D}{D-2}}
    - (\gamma_v + \kappa\Lambda + \kappa z)^{-\frac{D}{D-2}},$$
    on the dual interval $(-(\gamma_v + \kappa\Lambda)/\kappa,
    (\gamma_u + \kappa\Lambda)/\kappa)$, which **widens** with the dose while the
    primal image of a fixed dual point shrinks (the "range shrinking" of Mirror,
    Mirror, Eq. 9 and Cor. 3.1; in the notation of
    derivations/06_weight_decay_time_dependent.py, $D = 2k$, $K = \kappa$,
    $c_u = \gamma_u/\kappa$, $a = -\Lambda$; the paper prints the interval with the
    opposite sign of $a$, see docs/theory/conventions.md).
    Constant decay gives the lasso with $\mu = \lambda$ (`l1_weight` 1). The start
    point is $z_0 = 0$.

    Args:
        depth: $D \ge 3$.
        u0, v0: positive initial factors (scalars or shape `(d,)`).
    """

    bounded_dual_domain: typing.ClassVar[bool] = True

    base: DeepDiagonalPotential
    l1_weight: float = eqx.field(static=True)

    def __init__(
        self,
        depth: int,
        *,
        u0: Float[ArrayLike, "*d"],
        v0: Float[ArrayLike, "*d"],
    ):
        try:
            self.base = DeepDiagonalPotential(depth, u0=u0, v0=v0)
        except (TypeError, ValueError) as err:
            # Name this call, not the potential it builds.
            text = str(err).replace("DeepDiagonalPotential:", "", 1).strip()
            raise type(err)(f"TimeDependentDeepDiagonal: {text}") from None
        self.l1_weight = 1.0

    @property
    def depth(self) -> int:
        return self.base.depth

    def at(self, dose: ScalarLike) -> DeepDiagonalPotential:
        shift = self.base.kappa * jnp.asarray(dose, self.base.gamma_u.dtype)
        return eqx.tree_at(
            lambda p: (p.gamma_u, p.gamma_v),
            self.base,
            (self.base.gamma_u + shift, self.base.gamma_v + shift),
        )

    def grad(self, x: Vector, dose: ScalarLike) -> Vector:
        return self.at(dose).grad(x)

    def grad_conjugate(self, z: Vector, dose: ScalarLike) -> Vector:
        return self.at(dose).grad_conjugate(z)

    def conjugate(self, z: Vector, dose: ScalarLike) -> Scalar:
        return self.at(dose).conjugate(z)

    def conjugate_hessian_diag(self, z: Vector, dose: ScalarLike) -> Vector:
        return self.at(dose).conjugate_hessian_diag(z)

    def in_dual_domain(self, z: Vector, dose: ScalarLike) -> BoolVector:
        r"""Elementwise: is $z_i$ inside the dual interval at dose $\Lambda$?"""
        return self.at(dose).in_dual_domain(z)

    def dual_interval(self, dose: ScalarLike) -> tuple[Array, Array]:
        r"""The admissible dual interval $(-(\gamma_v+\kappa\Lambda)/\kappa,
        (\gamma_u+\kappa\Lambda)/\kappa)$."""
        pot = self.at(dose)
        return -pot.gamma_v / pot.kappa, pot.gamma_u / pot.kappa

    def factors(self, z: Vector, dose: ScalarLike) -> tuple[Vector, Vector]:
        """The factors $(u, v)$ at dual point $z$ and dose $\\Lambda$."""
        return self.at(dose).factors(z)


def _symmetric(mat, name: str, call: str = "CommutingQuadraticPotential") -> np.ndarray:
    a = _validate.real_array(mat, call, name)
    a = np.asarray(a, dtype=float)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"{call}: `{name}` must hold square matrices, got shape {a.shape}."
        )
    if not np.allclose(
        a, np.swapaxes(a, -1, -2), rtol=0, atol=1e-12 * max(1.0, float(np.abs(a).max()))
    ):
        raise ValueError(
            f"{call}: `{name}` must be symmetric; pass (M + M.T) / 2 if that is meant."
        )
    return a


def check_commuting(matrices, penalty_matrix, call: str):
    """`(As, B)` as numpy arrays: finite, symmetric, shapes `(d, p, p)` and
    `(p, p)`, commuting pairwise (the closed form of the commuting quadratic
    model needs it); a `ValueError` naming `call` and the argument otherwise."""
    As = _symmetric(matrices, "matrices", call)
    B = _symmetric(penalty_matrix, "penalty_matrix", call)
    if As.ndim != 3 or B.ndim != 2 or As.shape[1:] != B.shape or As.shape[0] == 0:
        raise ValueError(
            f"{call}: `matrices` must have shape (d, p, p) with d >= 1 and "
            f"`penalty_matrix` (p, p), got {As.shape} and {B.shape}."
        )
    stack = np.concatenate([As, B[None]], axis=0)
    size = max(1.0, float(np.abs(stack).max()))
    comm = np.einsum("aij,bjk->abik", stack, stack)
    if np.abs(comm - np.swapaxes(comm, 0, 1)).max() > 1e-10 * size**2:
        raise ValueError(
            f"{call}: `matrices` and `penalty_matrix` must commute pairwise "
            "(A_i A_j = A_j A_i, A_i B = B A_i); the closed form "
            "exp(-2 Lambda B + sum mu_i A_i) w0 needs it. Build them in one "
            "orthonormal basis: A_i = V diag(D_i) V^T."
        )
    return As, B, stack, size


class CommutingQuadraticPotential(AbstractPotentialFamily):
    r"""The family of a commuting quadratic parameterization under weight decay.

    Model $x_i = \tfrac12 w^\top A_i w$ ($w\in\mathbb{R}^p$, $i = 1..d$), penalty
    $\lambda_t\,w^\top Bw$, with $A_1, \dots, A_d, B$ symmetric and mutually commuting.
    Gradient flow gives $w_t = \exp(-2\Lambda_tB + \sum_i\mu_{t,i}A_i)\,w_0$ with
    $\mu_t = -\int_0^t\nabla f$, and $x_t = \nabla Q_{\Lambda_t}(\mu_t)$ for
    $$Q_\Lambda(\mu) = \tfrac14\big\|\exp\big(-2\Lambda B
    + \textstyle\sum_i\mu_iA_i\big)w_0\big\|^2,\qquad R_\Lambda = Q_\Lambda^*,$$
    started at $\mu_0 = 0$ (Mirror, Mirror, Thm 3.3, where the penalty is
    $\tfrac{\alpha}{2}w^\top Bw$ and $a = -\int\alpha = -2\Lambda$). Computed in the
    common eigenbasis $V$: with $s = D^\top\mu - 2\Lambda\beta$ ($D_{ij}$, $\beta_j$
    the eigenvalues of $A_i$, $B$) and $c = V^\top w_0$,
    $Q = \tfrac14\sum_j c_j^2e^{2s_j}$ and $x = \tfrac12 D(c^2e^{2s})$. Not separable
    in $x$: the mirror flow runs in dual coordinates.

    Args:
        matrices: $A_1..A_d$, shape `(d, p, p)`.
        penalty_matrix: $B$, shape `(p, p)`.
        w0: initial parameters, shape `(p,)`.
    """

    basis: Float[Array, "p p"]
    eigenvalues: Float[Array, "d p"]
    penalty_eigenvalues: Float[Array, " p"]
    coords0: Float[Array, " p"]
    l1_weight: float = eqx.field(static=True)

    def __init__(self, matrices: ArrayLike, penalty_matrix: ArrayLike, w0: ArrayLike):
        call = "CommutingQuadraticPotential"
        As, B, stack, size = check_commuting(matrices, penalty_matrix, call)
        w0 = np.asarray(_validate.real_array(w0, call, "w0", ndim=1), dtype=float)
        if w0.shape != B.shape[:1]:
            raise ValueError(
                f"{call}: `w0` must have shape ({B.shape[0]},), got {w0.shape}."
            )
        # A generic combination of commuting symmetric matrices has their common
        # eigenbasis (distinct eigenvalues with probability one).
        weights = np.random.default_rng(0).uniform(0.5, 1.5, stack.shape[0])
        _, V = np.linalg.eigh(np.einsum("a,aij->ij", weights, stack))
        diag = np.einsum("ji,ajk,kl->ail", V, stack, V)
        off = diag - np.einsum("aii->ai", diag)[:, :, None] * np.eye(V.shape[0])
        if np.abs(off).max() > 1e-9 * size:
            raise ValueError(
                "CommutingQuadraticPotential: could not diagonalize `matrices` and "
                "`penalty_matrix` simultaneously; check that they commute."
            )
        eig = np.einsum("aii->ai", diag)
        self.basis = jnp.asarray(V)
        self.eigenvalues = jnp.asarray(eig[:-1])
        self.penalty_eigenvalues = jnp.asarray(eig[-1])
        self.coords0 = jnp.asarray(V.T @ w0)
        self.l1_weight = float("nan")

    def _exponent(self, mu, dose):
        dose = jnp.asarray(dose, self.eigenvalues.dtype)
        return self.eigenvalues.T @ mu - 2.0 * dose * self.penalty_eigenvalues

    def conjugate(self, z: Vector, dose: ScalarLike) -> Scalar:
        return 0.25 * jnp.sum(self.coords0**2 * jnp.exp(2.0 * self._exponent(z, dose)))

    def grad_conjugate(self, z: Vector, dose: ScalarLike) -> Vector:
        weights = self.coords0**2 * jnp.exp(2.0 * self._exponent(z, dose))
        return 0.5 * self.eigenvalues @ weights

    def conjugate_hessian(self, z: Vector, dose: ScalarLike) -> Array:
        weights = self.coords0**2 * jnp.exp(2.0 * self._exponent(z, dose))
        return (self.eigenvalues * weights[None, :]) @ self.eigenvalues.T

    def factors(self, z: Vector, dose: ScalarLike) -> Float[Array, " p"]:
        r"""The parameters $w = \exp(-2\Lambda B + \sum_i z_iA_i)\,w_0$."""
        return self.basis @ (jnp.exp(self._exponent(z, dose)) * self.coords0)
