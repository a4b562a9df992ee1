"""The result of `integrate`."""

import enum

import equinox as eqx
import jax

from .._types import PyTree


class Result(enum.StrEnum):
    """How a solve ended (compares equal to its string value).

    - `successful`: reached `t1`.
    - `event`: stopped by the `stop_loss` event (the loss reached `stop_loss`).
    - `max_steps_reached`: ran out of `max_steps` before `t1`.
    - `step_size_too_small`: the step size fell below round-off (ten units in the
      last place of `t`) while the flow stayed finite: a singularity of the flow
      (it blows up in finite time) or a right-hand side too rough for the
      tolerances.
    - `non_finite`: the state or the vector field became NaN/inf.
    - `left_domain`: the state left the flow's domain (`flow.in_domain`), where
      its weights or vector field are undefined.
    - `failed`: any other solver failure.
    - `stalled`: `t1 = inf` and the loss never reached `stop_loss`.

    Only `successful` and `event` are normal ends; `integrate` raises on the others
    unless `throw=False`.
    """

    successful = "successful"
    event = "event"
    max_steps_reached = "max_steps_reached"
    step_size_too_small = "step_size_too_small"
    non_finite = "non_finite"
    left_domain = "left_domain"
    failed = "failed"
    stalled = "stalled"


class Solution(eqx.Module):
    """A computed trajectory of a flow.

    Attributes:
        ts: save times, shape `(T,)`: those reached before the solve ended (a
            terminating event or, with `throw=False`, a failure keeps the valid
            prefix).
        ys: states in the flow's coordinates at `ts` (leading axis `T`).
        xs: primal weights at `ts`, shape `(T, *x.shape)` (`(T, d)` for vector
            weights).
        t_final: the time the solve ended (`t1`, the event time or the failure).
        y_final: the state at `t_final`.
        x_final: the weights at `t_final`.
        loss_final: the loss at `t_final`.
        result: a `Result`.
        stats: solver statistics (`num_steps`, `num_accepted_steps`, ... or scipy's
            `nfev`, `njev`, `nlu`), and `solver`, the solver's name.
    """

    ts: jax.Array
    ys: PyTree
    xs: jax.Array
    t_final: jax.Array
    y_final: PyTree
    x_final: jax.Array
    loss_final: jax.Array
    result: Result = eqx.field(static=True)
    stats: dict = eqx.field(static=True)
