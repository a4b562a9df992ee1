"""`optimize`: run an optax transformation on a loss inside one compiled loop."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import _validate
from .._types import PyTree
from ._finite import check_transformation


class OptimizeResult(eqx.Module):
    """The end of a discrete optimizer run, and its trajectory if one was saved.

    Attributes:
        params: final parameters.
        opt_state: final optimizer state.
        num_steps: steps taken.
        loss: loss at `params`.
        converged: whether `stop_loss` was reached.
        trajectory: with `save_every = s`, the params after steps $0, s, 2s, \\ldots$
            (row $j$ after step $js$; row 0 is `params0`), each leaf with a leading
            axis of length `max_steps // s + 1`. Rows after an early stop are not
            valid and hold NaN (0 for integer leaves). `None` without `save_every`.
        trajectory_loss: the loss at each row, shape `(max_steps // s + 1,)`, NaN
            where the row is not valid. `None` without `save_every`.
        trajectory_steps: the step index of each row, `-1` where the row is not
            valid (the run stopped before that step). `None` without `save_every`.
        trajectory_count: the number of valid rows, `num_steps // s + 1`; they
            come first. `None` without `save_every`.
    """

    params: PyTree
    opt_state: PyTree
    num_steps: jax.Array
    loss: jax.Array
    converged: jax.Array
    trajectory: PyTree | None = None
    trajectory_loss: jax.Array | None = None
    trajectory_steps: jax.Array | None = None
    trajectory_count: jax.Array | None = None


def _loop(optimizer, loss_fn, max_steps, stop_loss):
    """The loop's `cond` and `body` on the carry `(step, params, state, loss)`."""

    def cond(carry):
        step, _, _, loss = carry
        return (step < max_steps) & (loss > stop_loss)

    def body(carry):
        step, params, state, _ = carry
        grads = jax.grad(loss_fn)(params)
        updates, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        return step + 1, params, state, loss_fn(params)

    return cond, body


@eqx.filter_jit
def _run(optimizer, loss_fn, params0, max_steps, stop_loss):
    cond, body = _loop(optimizer, loss_fn, max_steps, stop_loss)
    init = (jnp.asarray(0), params0, optimizer.init(params0), loss_fn(params0))
    return jax.lax.while_loop(cond, body, init)


def _empty_rows(leaf, num_rows: int):
    """`num_rows` rows shaped like `leaf`: NaN (floating) or 0 (integer)."""
    dtype = jnp.result_type(leaf)
    fill = jnp.nan if jnp.issubdtype(dtype, jnp.inexact) else 0
    return jnp.full((num_rows, *jnp.shape(leaf)), fill, dtype)


@eqx.filter_jit
def _run_saving(optimizer, loss_fn, params0, max_steps, stop_loss, save_every, rows):
    """`_run` that also saves params and loss after every `save_every` steps.

    An outer `while_loop` runs chunks of up to `save_every` steps (an inner
    `while_loop` with the same stopping rule) and writes one row of preallocated
    buffers (`rows` rows) after each chunk that ended on a multiple of
    `save_every`: one write per chunk, not one per step.
    """
    cond, body = _loop(optimizer, loss_fn, max_steps, stop_loss)
    loss0 = loss_fn(params0)
    params_rows = jax.tree.map(lambda p: _empty_rows(p, rows).at[0].set(p), params0)
    loss_rows = _empty_rows(loss0, rows).at[0].set(loss0)

    def chunk(outer):
        carry, params_rows, loss_rows = outer
        end = carry[0] + save_every
        carry = jax.lax.while_loop(lambda c: cond(c) & (c[0] < end), body, carry)
        step, params, _, loss = carry
        # A chunk cut short by `stop_loss` or `max_steps` writes nothing: the
        # index `rows` is out of range and mode="drop" skips it.
        row = jnp.where(step % save_every == 0, step // save_every, rows)
        params_rows = jax.tree.map(
            lambda buf, p: buf.at[row].set(p, mode="drop"), params_rows, params
        )
        loss_rows = loss_rows.at[row].set(loss, mode="drop")
        return carry, params_rows, loss_rows

    init = (jnp.asarray(0), params0, optimizer.init(params0), loss0)
    carry, params_rows, loss_rows = jax.lax.while_loop(
        lambda outer: cond(outer[0]), chunk, (init, params_rows, loss_rows)
    )
    count = carry[0] // save_every + 1
    index = jnp.arange(rows)
    steps = jnp.where(index < count, index * save_every, -1)
    return carry, params_rows, loss_rows, steps, count


def optimize(
    optimizer: optax.GradientTransformation,
    loss_fn: Callable[[PyTree], jax.Array],
    params0: PyTree,
    max_steps: int,
    *,
    stop_loss: float = 0.0,
    save_every: int | None = None,
    nan_policy: str = "raise",
) -> OptimizeResult:
    """Run `optimizer` on `loss_fn` from `params0` in a `jax.lax.while_loop`.

    Stops after `max_steps` steps or as soon as the loss is `<= stop_loss`.
    Works on CPU and GPU and in float32 or float64 (the dtype of `params0`).
    With `save_every = s` the same compiled loop also saves the params and the
    loss after steps $0, s, 2s, \\ldots$ into buffers of `max_steps // s + 1` rows
    (memory: that many copies of the params); see `OptimizeResult.trajectory`.
    After an early stop only the first `trajectory_count` rows are valid.

    Args:
        optimizer: any optax `GradientTransformation` (e.g. `optax.sgd(eta)`).
        loss_fn: a scalar function of the parameter pytree.
        params0: initial parameters.
        max_steps: step budget (> 0).
        stop_loss: stop at this loss (default 0: run all steps).
        save_every: save the trajectory every this many steps (a positive int);
            default `None`: save nothing.
        nan_policy: a loss that becomes NaN or inf stops the loop (the step that
            produced it is the last); `"raise"` (default) then raises
            `FloatingPointError` naming the step, `"ignore"` returns the result
            (with `converged = False` and the non-finite loss). The optimizers'
            own `nan_policy` (`ham`, `sign_in`, `nanoadam`, `hadamard_reparam`)
            acts on the gradients inside the step.

    Returns:
        An `OptimizeResult`.

    Raises:
        TypeError: `optimizer` is not an optax transformation, `loss_fn` is not
            callable, or `params0` has complex or non-numeric leaves.
        ValueError: `max_steps` or `save_every` not a positive int, `stop_loss`
            not a finite float >= 0, `params0` or its loss not finite, or an
            unknown `nan_policy`.
        FloatingPointError: the loss became NaN/inf (`nan_policy="raise"`).
    """
    check_transformation(optimizer, "optimize", "optimizer")
    if not callable(loss_fn):
        raise TypeError(
            "optimize: `loss_fn` must be a function of the params returning a scalar "
            f"loss, got {type(loss_fn).__name__}."
        )
    if nan_policy not in ("raise", "ignore"):
        raise ValueError(
            f"optimize: `nan_policy` must be 'raise' or 'ignore', got {nan_policy!r}."
        )
    leaves = jax.tree.leaves(params0)
    if not leaves:
        raise ValueError("optimize: `params0` has no arrays; pass the initial params.")
    for leaf in leaves:
        _validate.real_array(leaf, "optimize", "params0")
    stop_loss = _validate.scalar(
        stop_loss, "optimize", "stop_loss", low=0.0, strict=False, example="1e-10"
    )
    if not (isinstance(max_steps, int) and max_steps > 0):
        raise ValueError(
            f"optimize: `max_steps` must be a positive int, got {max_steps!r}."
        )
    if save_every is not None and not (
        isinstance(save_every, int)
        and not isinstance(save_every, bool)
        and save_every > 0
    ):
        raise ValueError(
            "optimize: `save_every` must be a positive int (save the params every "
            f"that many steps) or None, got {save_every!r}."
        )
    dtype = jnp.result_type(*jax.tree.leaves(params0))
    args = (
        optimizer,
        loss_fn,
        params0,
        jnp.asarray(max_steps),
        jnp.asarray(stop_loss, dtype),
    )
    trajectory = {}
    if save_every is None:
        steps, params, state, loss = _run(*args)
    else:
        (steps, params, state, loss), rows, rows_loss, rows_steps, count = _run_saving(
            *args, jnp.asarray(save_every), max_steps // save_every + 1
        )
        trajectory = dict(
            trajectory=rows,
            trajectory_loss=rows_loss,
            trajectory_steps=rows_steps,
            trajectory_count=count,
        )
    if nan_policy == "raise" and not bool(jnp.isfinite(loss)):
        where = "at params0" if int(steps) == 0 else f"after step {int(steps)}"
        raise FloatingPointError(
            f"optimize: the loss is {float(loss)} {where}; lower the learning rate "
            "or check the loss and the data (nan_policy='ignore' returns the "
            "result instead)."
        )
    return OptimizeResult(
        params=params,
        opt_state=state,
        num_steps=steps,
        loss=loss,
        converged=loss <= stop_loss,
        **trajectory,
    )
