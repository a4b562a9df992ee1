r"""Bregman projections onto $\{x : Ax = b\}$ by damped Newton on the n-dim dual.

$\arg\min_{Ax=b} R(x) - \langle z_0, x\rangle$ has the dual
$\min_\nu \Phi(\nu) = \sum_i R^*((z_0 + A^\top\nu)_i) - b^\top\nu$, with
$\nabla\Phi(\nu) = A\nabla R^*(z) - b$ (the constraint residual of
$x = \nabla R^*(z)$, $z = z_0 + A^\top\nu$) and
$\nabla^2\Phi(\nu) = A\,\mathrm{diag}(\nabla^2R^*(z))A^\top$. Solved by the package's
one Newton routine (`_newton.newton_minimize`) with a Cholesky solve of the
$n\times n$ Gram system.
"""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from .._misc import as_float_array, one_blas_thread
from ..potentials import AbstractPotential
from ..references._prediction import Prediction
from ._newton import newton_minimize


THEOREM = "Bregman projection limit of mirror flow (Gunasekar et al. 2018, Thm 1)"
RESIDUAL = "constraint residual ||Ax - b||_2"


def _dual_objective(nu, args):
    r"""$\Phi(\nu)$ (`+inf` outside the domain of $R^*$), $\nabla\Phi$, $\nabla^2R^*$.

    Two passes over A (`nu @ A`, then `A @ x`) shared by all three; `nu @ A` rather
    than `A.T @ nu`: XLA on CPU would copy the transpose first.
    """
    potential, z0, A, b = args
    z = z0 + nu @ A
    inside = jnp.all(potential.in_dual_domain(z))
    phi = jnp.where(inside, potential.conjugate(z) - jnp.vdot(b, nu), jnp.inf)
    x = potential.grad_conjugate(z)
    return phi, A @ x - b, potential.conjugate_hessian_diag(z)


def _gram(B):
    """$BB^\\top$ from its three distinct 2 x 2 blocks (3/4 of the flops)."""
    m = B.shape[0] // 2
    if m == 0:
        return B @ B.T
    top, bottom = B[:m], B[m:]
    upper = top @ bottom.T
    return jnp.block([[top @ top.T, upper], [upper.T, bottom @ bottom.T]])


def _gram_solve(h, g, args):
    r"""$(A\,\mathrm{diag}(h)A^\top)^{-1}g$ by Cholesky; least squares if singular."""
    A = args[2]
    H = _gram(A * jnp.sqrt(h)[None, :])
    p = jsl.cho_solve(jsl.cho_factor(H), g)
    # A numerically singular Gram matrix (tiny h) makes Cholesky return NaN.
    return jax.lax.cond(
        jnp.all(jnp.isfinite(p)),
        lambda: p,
        lambda: jnp.linalg.lstsq(H, g)[0],
    )


@jax.jit
def _primal(potential, z0, A, b, nu):
    x = potential.grad_conjugate(z0 + nu @ A)
    return x, jnp.linalg.norm(A @ x - b)


def _solve_dual(potential, z0, A, b, nu, stop, max_iter):
    """One compiled Newton solve of the dual; `(nu, iterations, converged, value)`."""
    with one_blas_thread():
        res = jax.block_until_ready(
            newton_minimize(
                _dual_objective,
                nu,
                (potential, z0, A, b),
                solve=_gram_solve,
                tol=stop,
                max_iter=max_iter,
            )
        )
    return res.x, int(res.iterations), bool(res.converged), float(res.value)


def project(
    potential: AbstractPotential,
    z0: jax.Array,
    A: jax.Array,
    b: jax.Array,
    tol: float,
    max_iter: int,
    who: str,
) -> Prediction:
    r"""$\arg\min_{Ax=b} R(x) - \langle z_0, x\rangle$ (inputs already checked).

    Plain damped Newton from $\nu = 0$ first (log-domain conjugates keep it finite);
    if it stalls, continuation along `potential.continuation()` with warm starts
    (without log-domain conjugates plain Newton needed it below alpha ~ 1e-5). Each
    stage is one compiled Newton call; all stages of one potential type share it.
    Stops at $\|Ax - b\|_2 \le$ `tol`$\max(1, \|b\|_2)$.
    """
    n = A.shape[0]
    stop = tol * max(1.0, float(jnp.linalg.norm(b)))
    nu0 = jnp.zeros(n, A.dtype)
    nu, iterations, converged, value = _solve_dual(
        potential, z0, A, b, nu0, stop, max_iter
    )
    if not np.isfinite(value):
        raise ValueError(
            f"{who}: the starting dual point is outside the conjugate's domain; "
            "check `x0`/`z0` against the potential."
        )
    if not converged:
        nu = nu0
        for stage in potential.continuation():
            nu, its, converged, _ = _solve_dual(stage, z0, A, b, nu, stop, max_iter)
            iterations += its
    x, residual = _primal(potential, z0, A, b, nu)
    residual = float(residual)
    if not (converged and np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(
            f"{who} did not converge (residual {residual:.3g} after {iterations} "
            "Newton steps); the constraint set may not meet the potential's domain "
            "(e.g. no positive solution for NegEntropy)."
        )
    return Prediction(
        x=x,
        theorem=THEOREM,
        certificate=residual,
        certificate_name=RESIDUAL,
        iterations=iterations,
        nu=nu,
    )


def dual_start(start: AbstractPotential, x0, z0, d: int, who: str) -> jax.Array:
    r"""The dual start $z_0$: given, or $\nabla R(x_0)$ of the `start` potential."""
    if (x0 is None) == (z0 is None):
        raise ValueError(f"{who}: pass exactly one of `x0` or `z0`.")
    if z0 is None:
        x0 = as_float_array(x0, "x0", ndim=1, call=who)
        if x0.shape != (d,):
            raise ValueError(f"{who}: `x0` must have shape ({d},), got {x0.shape}.")
        start.check_domain(x0, "x0")
        return start.grad(x0)
    z0 = as_float_array(z0, "z0", ndim=1, call=who)
    if z0.shape != (d,):
        raise ValueError(f"{who}: `z0` must have shape ({d},), got {z0.shape}.")
    return z0


# transition: removed once callers migrate (use `predict`, or `project` inside).
def bregman_projection(
    potential: AbstractPotential,
    A,
    b,
    *,
    x0=None,
    z0=None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> Prediction:
    r"""The Bregman projection $\arg\min_{Ax=b} D_R(x, x_0)$ (transition wrapper).

    Equivalently $\arg\min_{Ax=b} R(x) - \langle z_0, x\rangle$ with
    $z_0 = \nabla R(x_0)$: the limit of every mirror flow of $R$ on
    $f(x) = L(Ax)$ started at $x_0$ that converges to an interpolant (Gunasekar et
    al. 2018, Thm 1; Azulay et al. 2021). `predict(problem, potential, x0=...)` on a
    `LinearRegression(A, b)` gives the same `Prediction`.

    Args:
        potential: the Legendre function $R$.
        A: shape `(n, d)` with $n < d$, full row rank.
        b: shape `(n,)`.
        x0: the reference point (in the potential's domain), or
        z0: its dual point $\nabla R(x_0)$ directly (e.g. for an offset potential).
        tol: relative residual at which Newton stops.
        max_iter: Newton iterations per continuation stage.

    Returns:
        A `Prediction` (certificate: the constraint residual; `nu` the multiplier).

    Raises:
        ValueError: bad shapes, $n \ge d$, `x0` outside the domain, or no convergence.
    """
    A = as_float_array(A, "A", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    n, d = A.shape
    if b.shape != (n,):
        raise ValueError(f"`b` must have shape ({n},), got {b.shape}.")
    if n >= d:
        raise ValueError(
            f"bregman_projection needs n < d (an underdetermined system), got A with "
            f"shape {A.shape}."
        )
    z0 = dual_start(potential, x0, z0, d, "bregman_projection")
    return project(potential, z0, A, b, tol, max_iter, "bregman_projection")
