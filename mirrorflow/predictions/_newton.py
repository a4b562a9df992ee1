r"""The one damped-Newton minimizer of mirrorflow, compiled as a `jax.lax.while_loop`.

Every Newton solve of the predictions (the dual of a Bregman projection, the penalized
HAM objective) runs through `newton_minimize`: the problem supplies its objective and
the solver of the Newton system; the loop, the Armijo backtracking and the stopping
rule exist once. The whole iteration is one compiled call: nothing returns to Python
between steps, and a second call with new data of the same shapes (and the same
`objective` and `solve` functions) reuses the compiled program.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl


# Armijo constant, halvings of the step per line search, and the relative size of
# the predicted decrease below which the merit function becomes the gradient norm.
_ARMIJO = 1e-4
_HALVINGS = 60
_MERIT_SWITCH = 1e-12


class NewtonResult(NamedTuple):
    """The outcome of `newton_minimize` (JAX arrays; scalars are 0-d).

    Attributes:
        x: the last accepted iterate.
        value: the objective at `x`; `+inf` only if the start was outside the domain
            (then no step was taken).
        grad_norm: $\\|\\nabla F(x)\\|_2$.
        iterations: accepted Newton steps.
        converged: `grad_norm <= tol` at a finite `value`.
    """

    x: jax.Array
    value: jax.Array
    grad_norm: jax.Array
    iterations: jax.Array
    converged: jax.Array


def dense_solve(hessian: jax.Array, grad: jax.Array, args: Any) -> jax.Array:
    """$H^{-1}g$ for a dense symmetric positive definite $H$ (Cholesky).

    The default `solve` of `newton_minimize`: `objective` returns the Hessian itself
    as its curvature data.
    """
    return jsl.cho_solve(jsl.cho_factor(hessian), grad)


def _where(pred, a, b):
    return jax.tree.map(lambda u, v: jnp.where(pred, u, v), a, b)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _minimize(objective, solve, x0, args, tol, max_iter):
    value0, grad0, curv0 = objective(x0, args)
    gnorm0 = jnp.linalg.norm(grad0)
    zero = jnp.zeros((), jnp.int32)
    failed0 = ~jnp.isfinite(value0)  # start outside the domain: take no step

    def searching(carry):
        *_, k, accepted = carry
        return ~accepted & (k < _HALVINGS)

    def outer_cond(state):
        _, _, _, _, gnorm, it, failed = state
        return ~failed & (it < max_iter) & (gnorm > tol)

    def outer_body(state):
        x, value, grad, curv, gnorm, it, _ = state
        step = -solve(curv, grad, args)
        slope = jnp.vdot(grad, step)
        # Near the optimum the predicted decrease of F drowns in the round-off of F's
        # large terms; there the merit function is the gradient norm instead (Newton
        # shrinks it quadratically).
        use_value = -slope > _MERIT_SWITCH * (1.0 + jnp.abs(value))

        def try_step(carry):
            t, *_, k, _ = carry
            trial = x + t * step
            v_t, g_t, c_t = objective(trial, args)
            gn_t = jnp.linalg.norm(g_t)
            decrease = jnp.where(
                use_value,
                v_t <= value + _ARMIJO * t * slope,
                gn_t <= (1.0 - _ARMIJO * t) * gnorm,
            )
            ok = jnp.isfinite(v_t) & decrease
            # On rejection halve t; the trial's pieces are discarded below.
            return (jnp.where(ok, t, 0.5 * t), trial, v_t, g_t, c_t, gn_t, k + 1, ok)

        t0 = jnp.ones((), value.dtype)
        init = (t0, x, value, grad, curv, gnorm, zero, jnp.zeros((), bool))
        _, trial, v_t, g_t, c_t, gn_t, _, accepted = jax.lax.while_loop(
            searching, try_step, init
        )
        new = _where(
            accepted, (trial, v_t, g_t, c_t, gn_t), (x, value, grad, curv, gnorm)
        )
        return (*new, it + accepted.astype(jnp.int32), ~accepted)

    state = (x0, value0, grad0, curv0, gnorm0, zero, failed0)
    x, value, _, _, gnorm, it, _ = jax.lax.while_loop(outer_cond, outer_body, state)
    converged = jnp.isfinite(value) & (gnorm <= tol)
    return NewtonResult(x, value, gnorm, it, converged)


def newton_minimize(
    objective: Callable[[jax.Array, Any], tuple[jax.Array, jax.Array, Any]],
    x0: jax.Array,
    args: Any = None,
    *,
    solve: Callable[[Any, jax.Array, Any], jax.Array] | None = None,
    tol: Any,
    max_iter: int = 200,
) -> NewtonResult:
    r"""Minimize a smooth strictly convex $F$ by damped Newton (one compiled loop).

    From $x_0$, each step solves $H(x)p = -\nabla F(x)$ with `solve` and backtracks
    $t = 1, 1/2, \dots$ (at most 60 halvings) until the trial point is inside the
    domain ($F < \infty$) and decreases the merit function by the Armijo rule with
    constant $10^{-4}$: $F(x + tp) \le F(x) + 10^{-4}t\nabla F^\top p$, or, once the
    predicted decrease $|\nabla F^\top p|$ falls below $10^{-12}(1 + |F|)$ (round-off
    of $F$), $\|\nabla F(x + tp)\| \le (1 - 10^{-4}t)\|\nabla F(x)\|$. It stops when
    $\|\nabla F\|_2 \le$ `tol`, after `max_iter` steps, or when no step is accepted.

    `objective` and `solve` are static arguments of the compiled loop: pass
    module-level functions and put the data in `args` (a pytree), so that calls
    with new data of the same shapes do not recompile.

    Args:
        objective: `objective(x, args) -> (F, grad, curvature)` with `F` a scalar
            (`+inf` outside the domain), `grad` shaped like `x`, and `curvature`
            any pytree `solve` understands (the dense Hessian for the default).
        x0: the start, shape `(m,)`; it must be inside the domain, else the result
            has `value = inf` and no step is taken.
        args: data passed to `objective` and `solve`.
        solve: `solve(curvature, grad, args) -> H^{-1} grad` (a structured solve:
            Gram or Woodbury systems, ...); default `dense_solve`.
        tol: absolute threshold on $\|\nabla F\|_2$ (may be traced).
        max_iter: Newton-step budget (may be traced).

    Returns:
        A `NewtonResult` of JAX arrays (convert on the host as needed).
    """
    solve = dense_solve if solve is None else solve
    x0 = jnp.asarray(x0)
    tol = jnp.asarray(tol, dtype=x0.dtype)
    max_iter = jnp.asarray(max_iter, dtype=jnp.int32)
    return _minimize(objective, solve, x0, args, tol, max_iter)
