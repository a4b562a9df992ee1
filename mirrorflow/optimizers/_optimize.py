"""`optimize`: run an optax transformation on a loss inside one compiled loop."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._types import PyTree


class OptimizeResult(eqx.Module):
    """The end of a discrete optimizer run.

    Attributes:
        params: final parameters.
        opt_state: final optimizer state.
        num_steps: steps taken.
        loss: loss at `params`.
        converged: whether `stop_loss` was reached.
    """

    params: PyTree
    opt_state: PyTree
    num_steps: jax.Array
    loss: jax.Array
    converged: jax.Array


@eqx.filter_jit
def _run(optimizer, loss_fn, params0, max_steps, stop_loss):
    def cond(carry):
        step, _, _, loss = carry
        return (step < max_steps) & (loss > stop_loss)

    def body(carry):
        step, params, state, _ = carry
        grads = jax.grad(loss_fn)(params)
        updates, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        return step + 1, params, state, loss_fn(params)

    init = (jnp.asarray(0), params0, optimizer.init(params0), loss_fn(params0))
    return jax.lax.while_loop(cond, body, init)


def optimize(
    optimizer: optax.GradientTransformation,
    loss_fn: Callable[[PyTree], jax.Array],
    params0: PyTree,
    max_steps: int,
    *,
    stop_loss: float = 0.0,
) -> OptimizeResult:
    """Run `optimizer` on `loss_fn` from `params0` in a `jax.lax.while_loop`.

    Stops after `max_steps` steps or as soon as the loss is `<= stop_loss`.
    Works on CPU and GPU and in float32 or float64 (the dtype of `params0`).

    Args:
        optimizer: any optax `GradientTransformation` (e.g. `optax.sgd(eta)`).
        loss_fn: a scalar function of the parameter pytree.
        params0: initial parameters.
        max_steps: step budget (> 0).
        stop_loss: stop at this loss (default 0: run all steps).
    """
    if not (isinstance(max_steps, int) and max_steps > 0):
        raise ValueError(
            f"optimize: `max_steps` must be a positive int, got {max_steps!r}."
        )
    if not stop_loss >= 0:
        raise ValueError(f"optimize: `stop_loss` must be >= 0, got {stop_loss!r}.")
    dtype = jnp.result_type(*jax.tree.leaves(params0))
    steps, params, state, loss = _run(
        optimizer,
        loss_fn,
        params0,
        jnp.asarray(max_steps),
        jnp.asarray(stop_loss, dtype),
    )
    return OptimizeResult(
        params=params,
        opt_state=state,
        num_steps=steps,
        loss=loss,
        converged=loss <= stop_loss,
    )
