"""The result of `integrate`."""

import equinox as eqx
import jax

from .._types import PyTree


class Solution(eqx.Module):
    """A computed trajectory of a flow.

    Attributes:
        ts: save times, shape `(T,)` (truncated at a terminating event).
        ys: states in the flow's coordinates at `ts` (leading axis `T`).
        xs: primal weights at `ts`, shape `(T, d)`.
        t_final: the time the solve ended (`t1`, or the event time).
        y_final: the state at `t_final`.
        x_final: the weights at `t_final`.
        loss_final: the loss at `t_final`.
        result: `"successful"` or `"event"` (stopped by `stop_loss`).
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
    result: str = eqx.field(static=True)
    stats: dict = eqx.field(static=True)
