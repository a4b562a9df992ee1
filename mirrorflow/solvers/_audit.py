"""Watching `integrate` from outside: a record of every solve, tolerance scaling.

Two context managers, both scoped with `contextvars` (thread- and task-local):

- `record_integrations()` collects an `IntegrationRecord` for every `integrate`
  call made inside it: horizon, how the solve ended, steps used against the
  budget, tolerances, and the first save time at which the loss had fallen to
  round-off level. `audit_integration` turns a record into the problems a
  verification run must not have: integrating far past convergence (where the
  state rests on a manifold of equilibria, the error estimate lives at round-off
  level and whether the step size collapses depends on one CPU's last bits) or
  burning a large share of the step budget.
- `scale_tolerances(factor)` multiplies the tolerances of every solve inside it
  (integrate's `rtol`/`atol`, an explicit PID controller's, a `BDF` or
  `ScipyReference` solver's): a result that moves when the tolerances move by 10x
  either way was decided by round-off, not by the mathematics.
"""

import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Iterator


#: Loss level treated as "converged to round-off" by the audit.
LOSS_FLOOR = 1e-24
#: An integration may run at most this factor in time past convergence.
HORIZON_FACTOR = 10.0
#: An integration may use at most this fraction of its step budget.
STEP_FRACTION = 0.25

_RECORDS: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "mirrorflow_integration_records", default=None
)
_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar(
    "mirrorflow_integration_label", default=""
)
_TOL_SCALE: contextvars.ContextVar[float] = contextvars.ContextVar(
    "mirrorflow_tolerance_scale", default=1.0
)


@dataclasses.dataclass(frozen=True)
class IntegrationRecord:
    """What one `integrate` call did.

    Attributes:
        flow: the flow's class name.
        solver: the solver's name.
        t0, t1: the requested span (`t1` is the horizon).
        t_final: where the solve ended (`t1`, an event time, or a failure time).
        result: `"successful"`, `"event"` or the failure's name.
        num_steps: steps attempted (`None` for scipy, which does not count them).
        max_steps: the step budget (`None` where the backend has none).
        rtol, atol: the tolerances the solve used (after any scaling).
        t_converged: the first save time (or the final time) at which the loss was
            `<= LOSS_FLOOR`; `None` if it never was.
        loss_final: the loss at `t_final`.
        label: the innermost `integration_label` active at the call ("" if none).
    """

    flow: str
    solver: str
    t0: float
    t1: float
    t_final: float
    result: str
    num_steps: int | None
    max_steps: int | None
    rtol: float
    atol: float
    t_converged: float | None
    loss_final: float
    label: str = ""


@contextlib.contextmanager
def record_integrations() -> Iterator[list[IntegrationRecord]]:
    """Collect an `IntegrationRecord` for every `integrate` call in the block.

    Nested blocks each see the calls made inside them.

    Example:
        >>> with record_integrations() as records:
        ...     integrate(flow, y0, 0.0, 10.0, stop_loss=1e-20)
        >>> [audit_integration(r) for r in records]
    """
    outer = _RECORDS.get()
    records: list[IntegrationRecord] = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)
        if outer is not None:
            outer.extend(records)


@contextlib.contextmanager
def scale_tolerances(factor: float) -> Iterator[float]:
    """Multiply the tolerances of every `integrate` call in the block by `factor`.

    Scales compose when nested. Used by the robustness sweep of the claims (10x
    tighter and 10x looser than each claim's own tolerances).
    """
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 0):
        raise ValueError(
            f"scale_tolerances: `factor` must be a finite number > 0, got {factor!r}."
        )
    token = _TOL_SCALE.set(_TOL_SCALE.get() * float(factor))
    try:
        yield _TOL_SCALE.get()
    finally:
        _TOL_SCALE.reset(token)


@contextlib.contextmanager
def integration_label(label: str) -> Iterator[str]:
    """Tag the records of the `integrate` calls in the block with `label`."""
    token = _LABEL.set(str(label))
    try:
        yield label
    finally:
        _LABEL.reset(token)


def current_label() -> str:
    """The innermost `integration_label` ("" outside any)."""
    return _LABEL.get()


def tolerance_scale() -> float:
    """The factor `scale_tolerances` currently applies (1.0 outside any block)."""
    return _TOL_SCALE.get()


def recording() -> bool:
    """Whether some `record_integrations` block is active."""
    return _RECORDS.get() is not None


def _add_record(record: IntegrationRecord) -> None:
    records = _RECORDS.get()
    if records is not None:
        records.append(record)


def audit_integration(
    record: IntegrationRecord,
    *,
    loss_floor: float = LOSS_FLOOR,
    horizon_factor: float = HORIZON_FACTOR,
    step_fraction: float = STEP_FRACTION,
) -> tuple[float, str]:
    """How close one solve came to the audit's limits, and why.

    Two limits: (a) a solve that ran to its horizon `t1` must not have reached
    it more than `horizon_factor` in time after its loss fell to `loss_floor`
    (a solve stopped by the terminating event is fine); (b) it must use at most
    `step_fraction` of its `max_steps`.

    Returns:
        `(ratio, text)`: the larger of the two usages relative to its limit
        (<= 1 passes) and a short description of the worse one.
    """
    ratios = [(0.0, "ok")]
    if (
        record.result != "event"
        and record.t_converged is not None
        and record.t_converged > record.t0
    ):
        factor = (record.t_final - record.t0) / (record.t_converged - record.t0)
        ratios.append(
            (
                factor / horizon_factor,
                f"{record.flow} ran to t={record.t_final:.3g}, {factor:.3g}x the time "
                f"its loss took to reach {loss_floor:g} (t={record.t_converged:.3g})",
            )
        )
    elif (
        record.result != "event"
        and record.t_converged is not None
        and record.t_final > record.t0
    ):
        # Already converged at t0: every step is past convergence.
        ratios.append(
            (
                math.inf,
                f"{record.flow} started at loss <= {loss_floor:g} and still ran to "
                f"t={record.t_final:.3g}",
            )
        )
    if record.num_steps is not None and record.max_steps:
        used = record.num_steps / record.max_steps
        ratios.append(
            (
                used / step_fraction,
                f"{record.flow} used {record.num_steps} of {record.max_steps} steps",
            )
        )
    return max(ratios, key=lambda r: r[0])
