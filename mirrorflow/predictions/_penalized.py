r"""Limits of the HAM flow (derivations/07_ham_hyperbolic_step.py).

$\beta = 0$: the Bregman projection of `HamPotential(alpha)` (HAM, Jacobs et al. ICLR
2026, Lemma 4.4). $\beta > 0$ (our derivation): the minimizer of the smooth, strictly
convex $F(x) = f(x) + \beta h_\alpha(x)$, by the package's one damped Newton routine
(`_newton.newton_minimize`) in $x$ with the Hessian
$sA^\top A + \beta\,\mathrm{diag}((1 + \alpha|x|)^{-2})$: a dense Cholesky solve for
$d\le 2000$ ($sA^\top A$ formed once), else the Woodbury identity so that only
$n\times n$ systems are factorized.
"""

import math

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from .._misc import one_blas_thread
from ..potentials import HamPotential
from ..problems import require_linear
from ..references import min_l2_interpolant
from ..references._prediction import Prediction
from ._bregman import RESIDUAL
from ._newton import newton_minimize
from ._predict import predict


GRADIENT_NORM = "gradient norm ||grad F(x)||_2"


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


def _penalized_objective(x, args):
    r"""$F = \tfrac{s}{2}\|Ax - b\|^2 + \beta h_\alpha$, its gradient, $\beta h''$."""
    A, b, s, alpha, beta, _ = args
    r = A @ x - b
    h, gh, hh = _h_traced(x, alpha)
    return 0.5 * s * jnp.vdot(r, r) + beta * h, s * (r @ A) + beta * gh, beta * hh


def _dense_solve(d, g, args):
    r"""$(sA^\top A + \mathrm{diag}(d))^{-1}g$ ($sA^\top A$ precomputed in `args`)."""
    gram = args[5]
    H = gram + jnp.diag(d)
    return jsl.cho_solve(jsl.cho_factor(H), g)


def _woodbury_solve(d, g, args):
    r"""$(D + sA^\top A)^{-1}g$ by Woodbury: only an $n\times n$ Cholesky.

    $(D + sA^\top A)^{-1} = D^{-1} - D^{-1}A^\top(I/s + AD^{-1}A^\top)^{-1}AD^{-1}$.
    """
    A, s = args[0], args[2]
    dinv = 1.0 / d
    n = A.shape[0]
    M = jnp.eye(n, dtype=A.dtype) / s + (A * dinv[None, :]) @ A.T
    y = dinv * g
    w = jsl.cho_solve(jsl.cho_factor(M), A @ y)
    return y - dinv * (w @ A)


@jax.jit
def _scaled_gram(A, s):
    return s * (A.T @ A)


@jax.jit
def _dense_direction(A, s, alpha, beta, x, g):
    """The dense Newton direction $-H^{-1}g$ of $F$ at `x`."""
    _, _, hh = _h_traced(x, alpha)
    return -_dense_solve(beta * hh, g, (A, None, s, None, None, s * (A.T @ A)))


@jax.jit
def _woodbury_direction(A, s, alpha, beta, x, g):
    """The Woodbury Newton direction $-H^{-1}g$ of $F$ at `x`."""
    _, _, hh = _h_traced(x, alpha)
    return -_woodbury_solve(beta * hh, g, (A, None, s, None, None, None))


def _penalized_minimum(problem, alpha, beta, x, tol, max_iter):
    A, b = problem.A, problem.b
    s = jnp.asarray(problem.scale, A.dtype)
    a, be = jnp.asarray(alpha, A.dtype), jnp.asarray(beta, A.dtype)
    stop = tol * max(1.0, float(jnp.linalg.norm(s * (A.T @ b))))
    if problem.d <= 2000:
        solve, gram = _dense_solve, _scaled_gram(A, s)
    else:
        solve, gram = _woodbury_solve, None
    with one_blas_thread():  # LAPACK beside XLA's threads: see one_blas_thread
        res = jax.block_until_ready(
            newton_minimize(
                _penalized_objective,
                x,
                (A, b, s, a, be, gram),
                solve=solve,
                tol=stop,
                max_iter=max_iter,
            )
        )
    return res.x, float(res.grad_norm), int(res.iterations), bool(res.converged)


def ham_limit(
    problem,
    alpha: float,
    beta: float = 0.0,
    *,
    x0=None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> Prediction:
    r"""Where the HAM flow $\dot x = -(1+\alpha|x|)\nabla f - \beta x$ converges.

    On a loss linear in $x$ (HAM, Lemma 4.4 for $\beta = 0$; the case $\beta > 0$ is
    our derivation, derivations/07_ham_hyperbolic_step.py):

    - $\beta = 0$ (and $n < d$): the Bregman projection
      $\arg\min_{Ax=b} D_{R_\alpha}(x, x_0)$ of `HamPotential(alpha)` (for
      $\alpha = 0$, gradient flow: $x_0 + A^+(b - Ax_0)$ by the pseudo-inverse).
      Certificate: the constraint residual $\|Ax - b\|_2$; `nu` the multiplier.
    - $\beta > 0$: $\arg\min_x f(x) + \beta h_\alpha(x)$ (unique: strictly convex),
      independent of $x_0$ (used only as Newton's start). Certificate: the gradient
      norm $\|\nabla F(x)\|_2$; no multiplier.

    Args:
        problem: a `LinearRegression` (either loss scale).
        alpha: the coupling $\alpha\ge 0$.
        beta: the constant decay $\beta\ge 0$.
        x0: the flow's initial weights (needed for $\beta = 0$; default 0).
        tol: relative stopping tolerance: $\|Ax-b\| \le$ `tol`$\max(1, \|b\|)$, or
            $\|\nabla F\| \le$ `tol`$\max(1, \|sA^\top b\|)$.
        max_iter: Newton iterations ($\beta > 0$).

    Returns:
        A `Prediction`.

    Raises:
        ValueError: bad `alpha`/`beta`, a non-linear problem, or no convergence.
    """
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(
                f"ham_limit: `{name}` must be a finite float >= 0, got {value!r}."
            )
    problem = require_linear(problem, "ham_limit")
    x0 = jnp.zeros(problem.d, problem.A.dtype) if x0 is None else jnp.asarray(x0)
    if beta == 0.0:
        if alpha == 0.0:
            problem.check_underdetermined("ham_limit")
            A, b = np.asarray(problem.A), np.asarray(problem.b)
            x = min_l2_interpolant(A, b, np.asarray(x0))
            nu = np.linalg.lstsq(A.T, x - np.asarray(x0), rcond=None)[0]
            return Prediction(
                x=jnp.asarray(x, problem.A.dtype),
                theorem="gradient flow limit: minimum-distance interpolant "
                "(Gunasekar et al. 2018, Thm 1)",
                certificate=float(np.linalg.norm(A @ x - b)),
                certificate_name=RESIDUAL,
                iterations=0,
                nu=jnp.asarray(nu, problem.A.dtype),
            )
        proj = predict(problem, HamPotential(float(alpha)), x0=x0, tol=tol)
        return Prediction(
            x=proj.x,
            theorem="HAM flow, beta = 0: Bregman projection of R_alpha "
            "(HAM, Lemma 4.4)",
            certificate=proj.certificate,
            certificate_name=proj.certificate_name,
            iterations=proj.iterations,
            nu=proj.nu,
        )
    x, gnorm, its, converged = _penalized_minimum(
        problem, float(alpha), float(beta), x0, tol, max_iter
    )
    if not (converged and np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(
            f"ham_limit did not converge (gradient norm {gnorm:.3g} after {its} "
            "Newton steps)."
        )
    return Prediction(
        x=x,
        theorem="HAM flow, beta > 0: argmin f + beta h_alpha (derived: "
        "derivations/07_ham_hyperbolic_step.py)",
        certificate=gnorm,
        certificate_name=GRADIENT_NORM,
        iterations=its,
    )
