"""Bregman projections onto {x : Ax = b} by damped Newton on the n-dimensional dual."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._misc import as_float_array
from ..potentials import AbstractPotential


class Projection(eqx.Module):
    r"""The result of a Bregman projection.

    Attributes:
        x: the projection $\arg\min_{Ax=b} D_R(x, x_0)$, shape `(d,)`.
        nu: the dual multiplier, $x = \nabla R^*(z_0 + A^\top\nu)$, shape `(n,)`.
        residual: $\|Ax - b\|_2$.
        iterations: Newton iterations over all continuation stages.
        theorem: the result this prediction implements.
    """

    x: jax.Array
    nu: jax.Array
    residual: float = eqx.field(static=True)
    iterations: int = eqx.field(static=True)
    theorem: str = eqx.field(static=True)


# Plain `jax.jit` (potentials are pytrees): its C++ dispatch path costs a few
# microseconds per call, which matters in a Newton loop of small problems.
@jax.jit
def _dual_gradient(potential, z0, A, b, nu):
    x = potential.grad_conjugate(z0 + nu @ A)
    return x, A @ x - b


@jax.jit
def _dual_pieces(potential, z0, A, b, nu):
    # `nu @ A` rather than `A.T @ nu`: XLA on CPU would copy the transpose first.
    """Objective (inf outside the domain), gradient and $\\nabla^2R^*$ at `nu`.

    Two passes over A (`nu @ A`, then `A @ x`) shared by all three.
    """
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


@jax.jit
def _newton_direction(A, h, g):
    r"""Solve $(A\,\mathrm{diag}(h)A^\top)p = -g$ by Cholesky (one compiled call)."""
    H = _gram(A * jnp.sqrt(h)[None, :])
    return -jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(H), g), H


def _newton(potential, z0, A, b, nu, tol, max_iter):
    """Damped Newton with Armijo backtracking (c = 1e-4) on the dual objective.

    Returns `(nu, iterations, converged)`.
    """
    stop = tol * max(1.0, float(np.linalg.norm(np.asarray(b))))
    phi, g, h = _dual_pieces(potential, z0, A, b, nu)
    phi = float(phi)
    if not math.isfinite(phi):
        raise ValueError(
            "bregman_projection: the starting dual point is outside the conjugate's "
            "domain; check `x0`/`z0` against the potential."
        )
    g = np.asarray(g)
    gnorm = float(np.linalg.norm(g))
    for it in range(max_iter):
        if gnorm <= stop:
            return nu, it, True
        step, H = _newton_direction(A, h, jnp.asarray(g))
        step = np.asarray(step)
        if not np.all(np.isfinite(step)):  # Hessian numerically singular
            step = -np.linalg.lstsq(np.asarray(H), g, rcond=None)[0]
        slope = float(g @ step)
        # Near the optimum the predicted decrease of phi drowns in the round-off of
        # phi's large terms; there the merit function is the gradient norm instead
        # (Newton shrinks it quadratically).
        use_phi = -slope > 1e-12 * (1.0 + abs(phi))
        t, accepted = 1.0, False
        for _ in range(60):
            trial = nu + t * step
            phi_t, g_t, h_t = _dual_pieces(potential, z0, A, b, trial)
            phi_t = float(phi_t)
            if math.isfinite(phi_t):
                g_t = np.asarray(g_t)
                if use_phi:
                    accepted = phi_t <= phi + 1e-4 * t * slope
                else:
                    accepted = np.linalg.norm(g_t) <= (1.0 - 1e-4 * t) * gnorm
            if accepted:
                break
            t *= 0.5
        if not accepted:
            return nu, it, False
        nu, phi, g, h = trial, phi_t, g_t, h_t
        gnorm = float(np.linalg.norm(g))
    return nu, max_iter, gnorm <= stop


def bregman_projection(
    potential: AbstractPotential,
    A,
    b,
    *,
    x0=None,
    z0=None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> Projection:
    r"""The Bregman projection $\arg\min_{Ax=b} D_R(x, x_0)$.

    Equivalently $\arg\min_{Ax=b} R(x) - \langle z_0, x\rangle$ with
    $z_0 = \nabla R(x_0)$: the limit of every mirror flow of $R$ on
    $f(x) = L(Ax)$ started at $x_0$ that converges to an interpolant (Gunasekar et
    al. 2018, Thm 1; Azulay et al. 2021). Solved through the dual
    $\min_\nu \sum_i R^*((z_0 + A^\top\nu)_i) - b^\top\nu$ by damped Newton with
    Armijo backtracking, continuation along `potential.continuation()` for small
    scales, and the stopping rule $\|A\nabla R^*(z) - b\| \le$ `tol`$\max(1, \|b\|)$.

    Args:
        potential: the Legendre function $R$.
        A: shape `(n, d)` with $n < d$, full row rank.
        b: shape `(n,)`.
        x0: the reference point (in the potential's domain), or
        z0: its dual point $\nabla R(x_0)$ directly (e.g. for an offset potential).
        tol: relative residual at which Newton stops.
        max_iter: Newton iterations per continuation stage.

    Returns:
        A `Projection`.

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
    if (x0 is None) == (z0 is None):
        raise ValueError("bregman_projection: pass exactly one of `x0` or `z0`.")
    if z0 is None:
        x0 = as_float_array(x0, "x0", ndim=1)
        if x0.shape != (d,):
            raise ValueError(f"`x0` must have shape ({d},), got {x0.shape}.")
        potential.check_domain(x0, "x0")
        z0 = potential.grad(x0)
    else:
        z0 = as_float_array(z0, "z0", ndim=1)
        if z0.shape != (d,):
            raise ValueError(f"`z0` must have shape ({d},), got {z0.shape}.")
    # Plain damped Newton from nu = 0 first (log-domain conjugates keep it finite);
    # if it stalls, continuation along `potential.continuation()` with warm starts
    # (without log-domain conjugates plain Newton needed it below alpha ~ 1e-5).
    nu, iterations, converged = _newton(
        potential, z0, A, b, jnp.zeros(n), tol, max_iter
    )
    if not converged:
        nu = jnp.zeros(n)
        for stage in potential.continuation():
            nu, its, converged = _newton(stage, z0, A, b, nu, tol, max_iter)
            iterations += its
    x, g = _dual_gradient(potential, z0, A, b, nu)
    residual = float(jnp.linalg.norm(g))
    if not (converged and np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(
            f"bregman_projection did not converge (residual {residual:.3g} after "
            f"{iterations} Newton steps); the constraint set may not meet the "
            "potential's domain (e.g. no positive solution for NegEntropy)."
        )
    return Projection(
        x=x,
        nu=jnp.asarray(nu),
        residual=residual,
        iterations=iterations,
        theorem="Bregman projection limit of mirror flow (Gunasekar et al. 2018, "
        "Thm 1)",
    )
