r"""Limits of the HAM flow (derivations/07_ham_hyperbolic_step.py).

$\beta = 0$: the Bregman projection of `HamPotential(alpha)` (HAM, Jacobs et al. ICLR
2026, Lemma 4.4). $\beta > 0$ (our derivation): the minimizer of the smooth, strictly
convex $F(x) = f(x) + \beta h_\alpha(x)$, solved by damped Newton in $x$ with the
Hessian $sA^\top A + \beta\,\mathrm{diag}((1 + \alpha|x|)^{-2})$ (dense Cholesky for
$d\le 2000$, else the Woodbury identity so that only $n\times n$ systems are
factorized).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..potentials import HamPotential
from ._bregman import Projection
from ._interpolants import min_l2_interpolant
from ._predict import predict


class StationaryPoint(eqx.Module):
    r"""The minimizer of a smooth convex objective (a flow's stationary point).

    Attributes:
        x: the minimizer, shape `(d,)`.
        grad_norm: $\|\nabla F(x)\|_2$ at the returned point.
        iterations: Newton iterations.
        theorem: the result this prediction implements.
    """

    x: jax.Array
    grad_norm: float = eqx.field(static=True)
    iterations: int = eqx.field(static=True)
    theorem: str = eqx.field(static=True)


@jax.jit
def _objective(A, b, s, alpha, beta, x):
    r = A @ x - b
    h, gh, _ = _h_traced(x, alpha)
    return 0.5 * s * jnp.vdot(r, r) + beta * h, s * (r @ A) + beta * gh


def _h_traced(x, alpha):
    # alpha is traced here: use the alpha > 0 forms with a safe alpha, and the
    # quadratic where alpha == 0.
    safe = jnp.where(alpha > 0, alpha, 1.0)
    u = safe * jnp.abs(x)
    small = u < 1e-2
    us = jnp.where(small, u, 0.0)
    series = sum((-1) ** k * us**k / k for k in range(9, 1, -1))
    u_m_log = jnp.where(small, series, u - jnp.log1p(jnp.where(small, 1.0, u)))
    h = jnp.where(alpha > 0, jnp.sum(u_m_log) / safe**2, 0.5 * jnp.vdot(x, x))
    gh = x / (1.0 + alpha * jnp.abs(x))
    hh = 1.0 / (1.0 + alpha * jnp.abs(x)) ** 2
    return h, gh, hh


@jax.jit
def _newton_dense(A, s, alpha, beta, x, g):
    _, _, hh = _h_traced(x, alpha)
    H = s * (A.T @ A) + jnp.diag(beta * hh)
    return -jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(H), g)


@jax.jit
def _newton_woodbury(A, s, alpha, beta, x, g):
    # (D + s A^T A)^{-1} = D^{-1} - D^{-1} A^T (I/s + A D^{-1} A^T)^{-1} A D^{-1}
    _, _, hh = _h_traced(x, alpha)
    dinv = 1.0 / (beta * hh)
    n = A.shape[0]
    M = jnp.eye(n, dtype=A.dtype) / s + (A * dinv[None, :]) @ A.T
    y = dinv * g
    w = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(M), A @ y)
    return -(y - dinv * (w @ A))


def _penalized_newton(problem, alpha, beta, x, tol, max_iter):
    A, b, s = problem.A, problem.b, problem.scale
    a, be = jnp.asarray(alpha, A.dtype), jnp.asarray(beta, A.dtype)
    direction = _newton_dense if problem.d <= 2000 else _newton_woodbury
    stop = tol * max(1.0, float(jnp.linalg.norm(s * (A.T @ b))))
    F, g = _objective(A, b, s, a, be, x)
    F, gnorm = float(F), float(jnp.linalg.norm(g))
    for it in range(max_iter):
        if gnorm <= stop:
            return x, gnorm, it, True
        p = direction(A, s, a, be, x, g)
        slope = float(jnp.vdot(g, p))
        use_F = -slope > 1e-12 * (1.0 + abs(F))
        t, accepted = 1.0, False
        for _ in range(60):
            trial = x + t * p
            F_t, g_t = _objective(A, b, s, a, be, trial)
            F_t, gn_t = float(F_t), float(jnp.linalg.norm(g_t))
            if math.isfinite(F_t):
                if use_F:
                    accepted = F_t <= F + 1e-4 * t * slope
                else:
                    accepted = gn_t <= (1.0 - 1e-4 * t) * gnorm
            if accepted:
                break
            t *= 0.5
        if not accepted:
            return x, gnorm, it, False
        x, F, g, gnorm = trial, F_t, g_t, gn_t
    return x, gnorm, max_iter, gnorm <= stop


def ham_limit(
    problem,
    alpha: float,
    beta: float = 0.0,
    *,
    x0=None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> Projection | StationaryPoint:
    r"""Where the HAM flow $\dot x = -(1+\alpha|x|)\nabla f - \beta x$ converges.

    On a loss linear in $x$ (HAM, Lemma 4.4 for $\beta = 0$; the case $\beta > 0$ is
    our derivation, derivations/07_ham_hyperbolic_step.py):

    - $\beta = 0$ (and $n < d$): the Bregman projection
      $\arg\min_{Ax=b} D_{R_\alpha}(x, x_0)$ of `HamPotential(alpha)` (for
      $\alpha = 0$, gradient flow: $x_0 + A^+(b - Ax_0)$). Returns a `Projection`.
    - $\beta > 0$: $\arg\min_x f(x) + \beta h_\alpha(x)$ (unique: strictly convex),
      independent of $x_0$. Returns a `StationaryPoint`.

    Args:
        problem: a `LinearRegression` (either loss scale).
        alpha: the coupling $\alpha\ge 0$.
        beta: the constant decay $\beta\ge 0$.
        x0: the flow's initial weights (needed for $\beta = 0$; default 0).
        tol: relative stopping tolerance (residual, or gradient norm).
        max_iter: Newton iterations.

    Raises:
        ValueError: bad `alpha`/`beta`, a non-linear problem, or no convergence.
    """
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(
                f"ham_limit: `{name}` must be a finite float >= 0, got {value!r}."
            )
    if not getattr(problem, "is_linear", False):
        raise ValueError("ham_limit: pass a loss linear in x (a LinearRegression).")
    x0 = jnp.zeros(problem.d, problem.A.dtype) if x0 is None else jnp.asarray(x0)
    if beta == 0.0:
        if alpha == 0.0:
            problem.check_underdetermined("ham_limit")
            x = jnp.asarray(min_l2_interpolant(problem.A, problem.b, x0))
            return Projection(
                x=x,
                nu=jnp.zeros(problem.n, x.dtype),
                residual=float(jnp.linalg.norm(problem.A @ x - problem.b)),
                iterations=0,
                theorem="gradient flow limit: minimum-distance interpolant "
                "(Gunasekar et al. 2018, Thm 1)",
            )
        proj = predict(problem, HamPotential(float(alpha)), x0=x0, tol=tol)
        return Projection(
            x=proj.x,
            nu=proj.nu,
            residual=proj.residual,
            iterations=proj.iterations,
            theorem="HAM flow, beta = 0: Bregman projection of R_alpha "
            "(HAM, Lemma 4.4)",
        )
    x, gnorm, its, converged = _penalized_newton(
        problem, float(alpha), float(beta), x0, tol, max_iter
    )
    if not (converged and np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(
            f"ham_limit did not converge (gradient norm {gnorm:.3g} after {its} "
            "Newton steps)."
        )
    return StationaryPoint(
        x=x,
        grad_norm=gnorm,
        iterations=its,
        theorem="HAM flow, beta > 0: argmin f + beta h_alpha (derived: "
        "derivations/07_ham_hyperbolic_step.py)",
    )
