"""`integrate`: one verb for every flow, diffrax by default, scipy as referee."""

import dataclasses
import math
import time
from collections.abc import Callable

import diffrax as dfx
import equinox as eqx
import jax
import jax.flatten_util as jfu
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.optimize
from jaxtyping import Array

from .. import _validate
from .._types import PyTree, ScalarLike
from ..flows import AbstractFlow
from . import _audit
from ._bdf import BDF, _bdf_integrate
from ._solution import Result, Solution


class ScipyReference(eqx.Module):
    """`scipy.integrate.solve_ivp` as an independent referee solver.

    Pass it as `solver=` to `integrate` to solve the same flow with the same save
    times outside JAX's solvers. Implicit methods (`"Radau"`, `"BDF"`, `"LSODA"`)
    get the flow's Jacobian (exact for `ReducedMirrorFlow`, autodiff otherwise).
    Runs in numpy float64 with jitted right-hand sides: a referee, not a fast path.

    Args:
        method: a `solve_ivp` method name.
        rtol, atol: `solve_ivp` tolerances.
    """

    method: str = "DOP853"
    rtol: ScalarLike = eqx.field(default=1e-10, converter=_validate.plain_float)
    atol: ScalarLike = eqx.field(default=1e-12, converter=_validate.plain_float)

    def __check_init__(self):
        known = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
        if not isinstance(self.method, str) or self.method not in known:
            raise ValueError(
                f"ScipyReference: `method` must be one of {known}, got {self.method!r}."
            )
        _validate.scalar(
            self.rtol, "ScipyReference", "rtol", low=0.0, high=1.0, example="1e-10"
        )
        _validate.scalar(self.atol, "ScipyReference", "atol", low=0.0, example="1e-12")


def log_times(t_first: float, t_last: float, num: int = 100) -> np.ndarray:
    """`num` log-spaced save times in `[t_first, t_last]` (plateau-and-jump flows).

    A numpy float64 array (no JAX array is built, so module-level save grids cost
    nothing at import); `integrate` converts it to the state's dtype.
    """
    t_first = _validate.scalar(t_first, "log_times", "t_first", low=0.0)
    t_last = _validate.scalar(t_last, "log_times", "t_last", low=0.0)
    num = _validate.integer(num, "log_times", "num", low=2, example=100)
    if not t_first < t_last:
        raise ValueError(
            f"log_times: needs `t_first` < `t_last`, got t_first={t_first}, "
            f"t_last={t_last}; swap them."
        )
    ts = np.logspace(math.log10(t_first), math.log10(t_last), num)
    ts[0], ts[-1] = t_first, t_last  # exact endpoints (logspace rounds them)
    return ts


def default_save_times(
    t0: float, t1: float, per_decade: int | None = None
) -> np.ndarray:
    """The save grid `integrate` uses when `ts` is not given.

    100 log-spaced times from `1e-3 * t1` (or `t0` if later) to `t1`; 100 linear
    times when that would start before `t0`. With `per_decade`, log-spaced times
    from `max(t0, 1e-3)` to `t1` at that density (the grid of `t1 = inf` solves).
    """
    if per_decade is not None:
        first = max(t0, 1e-3) if t0 > 0 else 1e-3
        num = max(2, int(math.ceil(per_decade * math.log10(t1 / first))) + 1)
        return log_times(first, t1, num)
    ts = log_times(max(t0, 1e-3 * t1) if t0 > 0 else 1e-3 * t1, t1, 100)
    if t0 > 0 and float(ts[0]) < t0:
        return np.linspace(t0, t1, 100)
    return ts


# The horizon of a solve with `t1 = inf`: it ends at the `stop_loss` event long
# before (steps grow geometrically on the plateaus), or reports a stalled loss.
INFINITE_HORIZON = 1e15


def _check_span(t0, t1, stop_loss):
    if math.isnan(t1):
        raise ValueError(
            "integrate: `t1` must be a float > t0 or inf (run to convergence), got nan."
        )
    if not math.isfinite(t0):
        raise ValueError(f"integrate: `t0` must be finite, got {t0}.")
    if not t1 > t0:
        raise ValueError(
            f"integrate: need t1 > t0, got t0={t0}, t1={t1}; backward integration "
            "is not supported for training flows (swap the times or negate the flow)."
        )
    if math.isinf(t1) and stop_loss is None:
        raise ValueError(
            "integrate: `t1=inf` runs to convergence and needs the terminating "
            "event: pass `stop_loss` (e.g. 1e-20), or a finite `t1`."
        )


def _check_times(t0, t1, ts):
    ts_np = _validate.real_array(ts, "integrate", "ts", allow_empty=True, finite=False)
    ts_np = np.asarray(ts_np, dtype=float)
    if not np.all(np.isfinite(ts_np)):
        raise ValueError(
            "integrate: `ts` has NaN/inf entries; pass finite save times in [t0, t1]."
        )
    if ts_np.ndim != 1 or ts_np.size == 0:
        raise ValueError(
            f"integrate: `ts` must be a non-empty 1-d array, got {ts_np.shape}."
        )
    if np.any(np.diff(ts_np) <= 0) or ts_np[0] < t0 or ts_np[-1] > t1:
        raise ValueError(
            "integrate: `ts` must be strictly increasing and inside [t0, t1]; "
            "build it with `log_times(t_first, t1)`."
        )


@eqx.filter_jit
def _diffrax_solve(
    flow,
    y0,
    t0,
    t1,
    ts,
    solver,
    controller,
    dt0,
    max_steps,
    stop_loss,
    args,
    stop_when,
    watch_domain,
):
    term = dfx.ODETerm(flow.vector_field)
    saveat = dfx.SaveAt(subs=[dfx.SubSaveAt(ts=ts), dfx.SubSaveAt(t1=True)])

    def stop(t, y, args, **kwargs):
        hit = jnp.asarray(False)
        if stop_loss is not None:
            hit = hit | (flow.loss(y) <= stop_loss)
        if stop_when is not None:
            hit = hit | jnp.asarray(stop_when(y), bool)
        return hit

    event = None
    if stop_loss is not None or stop_when is not None:
        event = dfx.Event(stop)
    sol = dfx.diffeqsolve(
        term,
        solver,
        t0,
        t1,
        dt0,
        y0,
        args,
        saveat=saveat,
        stepsize_controller=controller,
        max_steps=max_steps,
        event=event,
        throw=False,
    )
    # Which saved states (and the final one) are inside the domain, computed
    # here so that checking them costs no eager operations. (Not an event: a
    # domain event made every watched solve compile ~15 % longer, for a
    # failure; the saves bracket the exit instead.)
    inside = _inside_mask(flow, sol.ys) if watch_domain else None
    return sol, inside


def _inside_mask(flow, ys_subs):
    """`(inside at each save, inside at the end)` for diffrax's two save subs."""
    ys, y_end = ys_subs
    return (
        jax.vmap(lambda y: jnp.asarray(flow.in_domain(y), bool))(ys),
        jnp.asarray(flow.in_domain(jax.tree.map(lambda a: a[0], y_end)), bool),
    )


@eqx.filter_jit
def _inside_jit(flow, ys, y_final):
    return (
        jax.vmap(lambda y: jnp.asarray(flow.in_domain(y), bool))(ys),
        jnp.asarray(flow.in_domain(y_final), bool),
    )


# A step below this many units in the last place of `t` no longer advances time
# meaningfully (BDF uses the same floor).
STEP_FLOOR_ULPS = 10.0


class _StepFloor(dfx.AbstractAdaptiveStepSizeController):
    """Wraps an adaptive controller: a proposed step below `STEP_FLOOR_ULPS`
    units in the last place of `t` ends the solve (`dt_min_reached`) instead of
    spending the remaining `max_steps` without advancing time (what a NaN vector
    field or a finite-time blow-up otherwise does in diffrax)."""

    controller: dfx.AbstractAdaptiveStepSizeController

    @property
    def rtol(self):
        return self.controller.rtol

    @property
    def atol(self):
        return self.controller.atol

    @property
    def norm(self):
        return self.controller.norm

    def wrap(self, direction):
        return _StepFloor(self.controller.wrap(direction))

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        return self.controller.init(terms, t0, t1, y0, dt0, args, func, error_order)

    def adapt_step_size(
        self, t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state
    ):
        keep, next_t0, next_t1, jump, state, result = self.controller.adapt_step_size(
            t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state
        )
        ulp = jnp.abs(jnp.nextafter(next_t0, jnp.inf) - next_t0)
        collapsed = (next_t1 - next_t0) < STEP_FLOOR_ULPS * ulp
        result = dfx.RESULTS.where(
            collapsed & (result == dfx.RESULTS.successful),
            dfx.RESULTS.dt_min_reached,
            result,
        )
        return keep, next_t0, next_t1, jump, state, result


def _with_floor(controller):
    """`controller` with its PID controller (bare or clipped) under `_StepFloor`."""
    if isinstance(controller, dfx.ClipStepSizeController):
        inner = _with_floor(controller.controller)
        return eqx.tree_at(lambda c: c.controller, controller, inner)
    if isinstance(controller, dfx.PIDController):
        return _StepFloor(controller)
    return controller


def _finite(tree) -> bool:
    return all(bool(jnp.all(jnp.isfinite(a))) for a in jax.tree.leaves(tree))


def _outside(flow, y) -> bool:
    inside = flow.in_domain(y)
    return inside is not None and not bool(inside)


def _diagnose(flow, t, y, args, what: str, fix_default: str):
    """Classify a solve that could not go on at time `t` from state `y`.

    Returns `(Result, text)`. Looks at the state, the vector field there, and the
    field a little ahead along an Euler predictor (a field that is finite at `t`
    but NaN just after it, e.g. the square root of a quantity that reaches 0).
    """
    if not _finite(y):
        return Result.non_finite, (
            f"the state became NaN/inf at t={t:.6g}; the flow blows up or is "
            "undefined there: check the initialization, integrate to a t1 before "
            "it, or turn on float64 if the state is float32"
        )
    if _outside(flow, y):
        return Result.left_domain, _left_domain_text(flow, t)
    f = flow.vector_field(jnp.asarray(t, jnp.result_type(*jax.tree.leaves(y))), y, args)
    if not _finite(f):
        return Result.non_finite, (
            f"the vector field of {type(flow).__name__} is NaN/inf at t={t:.6g} "
            "(the state is finite): the flow is undefined there; check the "
            "problem and the initialization, or integrate to a t1 before it"
        )
    dtype = jnp.result_type(*jax.tree.leaves(y))
    for rel in (1e-12, 1e-9, 1e-6):
        h = rel * max(1.0, abs(t))
        y_h = jax.tree.map(lambda a, b, h=h: a + h * b, y, f)
        f_h = flow.vector_field(jnp.asarray(t + h, dtype), y_h, args)
        if _outside(flow, y_h):
            return Result.left_domain, _left_domain_text(flow, t)
        if not _finite(f_h):
            return Result.non_finite, (
                f"the vector field of {type(flow).__name__} becomes NaN/inf just "
                f"after t={t:.6g} (within {h:.2g}): the flow is undefined beyond "
                "it; check the problem and the initialization, or integrate to a "
                "t1 before it"
            )
    size = max(float(jnp.max(jnp.abs(a))) for a in jax.tree.leaves(y))
    speed = max(float(jnp.max(jnp.abs(a))) for a in jax.tree.leaves(f))
    return Result.step_size_too_small, (
        f"{what} at t={t:.6g}: the step size fell below round-off (max|y| = "
        f"{size:.3g}, max|dy/dt| = {speed:.3g}); the flow probably has a "
        f"finite-time singularity there (integrate to a t1 before it), or "
        f"{fix_default}"
    )


def _left_domain_text(flow, t_out, t_in=None):
    when = (
        f"at t={t_out:.6g}"
        if t_in is None
        else f"between t={t_in:.6g} (last state seen inside) and t={t_out:.6g}"
    )
    return (
        f"the state left the domain of {type(flow).__name__} {when} "
        f"({flow.domain_description().rstrip('.')}); the weights are undefined "
        "beyond it: integrate to a t1 before it, or check the schedule, drift or "
        "initialization that drives it out (tighter tolerances if the exact flow "
        "stays inside)"
    )


def _domain_prefix(flow, sol: Solution, t_start: float, inside=None):
    """The valid prefix of `sol` if its state left the flow's domain.

    Returns `None` when every saved state and the final one are inside (or the
    flow has no domain); otherwise `(sol, text)`: `sol` cut before the first saved
    state outside, ending (`t_final`, `y_final`) at the first state seen outside,
    with `Result.left_domain`, and the failure text bracketing the exit time
    between the last state seen inside and the first seen outside.
    """
    if inside is None:
        if flow.in_domain(sol.y_final) is None:
            return None
        inside = _inside_jit(flow, sol.ys, sol.y_final)
    n = len(sol.ts)
    inside, probe = np.asarray(inside[0], bool).reshape(-1)[:n], bool(inside[1])
    if inside.all() and probe:
        return None
    if inside.all():
        k, t_out, y_out = n, float(sol.t_final), sol.y_final
    else:
        k = int(np.argmin(inside))
        t_out = float(sol.ts[k])
        y_out = jax.tree.map(lambda a, k=k: a[k], sol.ys)
    t_in = float(sol.ts[k - 1]) if k else t_start
    cut = dataclasses.replace(
        sol,
        ts=sol.ts[:k],
        ys=jax.tree.map(lambda a: a[:k], sol.ys),
        xs=sol.xs[:k],
        t_final=jnp.asarray(t_out),
        y_final=y_out,
        x_final=flow.to_primal(y_out),
        loss_final=flow.loss(y_out),
        result=Result.left_domain,
    )
    return cut, _left_domain_text(flow, t_out, t_in)


def _traced_floats(flow, dtype):
    """`flow` with its Python-float leaves as 0-d arrays.

    `eqx.filter_jit` treats Python floats as static, so every new schedule value,
    scale or coefficient would compile the whole solve again; as arrays they are
    arguments of one compiled solve per flow structure.
    """

    def convert(leaf):
        if isinstance(leaf, float) and not isinstance(leaf, bool):
            return jnp.asarray(leaf, dtype)
        return leaf

    return jax.tree.map(convert, flow)


def _xs(flow, ys):
    return jax.vmap(flow.to_primal)(ys)


def _own_tolerances(solver, rtol, atol, stepsize_controller):
    """Refuse `rtol`/`atol` where they would not be used (one home per tolerance)."""
    given = [n for n, v in (("rtol", rtol), ("atol", atol)) if v is not None]
    if not given:
        return
    names = " and ".join(f"`{n}`" for n in given)
    if isinstance(solver, BDF | ScipyReference):
        raise ValueError(
            f"integrate: {names} would not be used: {type(solver).__name__} carries "
            f"its own tolerances; pass them to the solver, e.g. "
            f"{type(solver).__name__}(rtol=..., atol=...)."
        )
    if stepsize_controller is not None:
        raise ValueError(
            f"integrate: {names} would not be used: the `stepsize_controller` you "
            "passed carries the tolerances; set them there."
        )


def integrate(
    flow: AbstractFlow,
    y0: PyTree,
    t0: float = 0.0,
    t1: float = math.inf,
    *,
    ts=None,
    solver=None,
    rtol: float | None = None,
    atol: float | None = None,
    stepsize_controller: dfx.AbstractStepSizeController | None = None,
    dt0: float | None = None,
    max_steps: int = 200_000,
    stop_loss: float | None = None,
    stop_when: Callable[[PyTree], Array] | None = None,
    throw: bool = True,
    args: PyTree = None,
) -> Solution:
    r"""Integrate a flow from `y0` at `t0` to `t1` (or to convergence), saving at `ts`.

    Float64 when JAX's x64 mode is on (the CLI and tests turn it on). The default solver
    is diffrax's `Kvaerno5` (L-stable ESDIRK, 5th order), which handles the stiffness of
    small initializations (long plateaus, then fast jumps, where an explicit solver
    needs hundreds of times more steps), with a PID step-size controller at
    `rtol`/`atol` (default 1e-10/1e-12). Pass any diffrax solver, the JAX-native
    stiff `BDF`, or `ScipyReference(...)` to run scipy's solvers as an independent
    referee through the same call; `BDF` and `ScipyReference` carry their own
    tolerances (passing `rtol`/`atol` with them is an error, never ignored).

    The jumps of a weight-decay schedule (`flow.breakpoints()`) are handled here:
    diffrax steps exactly onto them (`ClipStepSizeController(jump_ts=...)`), `BDF`
    and scipy restart at them from the state at the jump.

    Args:
        flow: the vector field (`GradientFlow`, `MirrorFlow`, ...).
        y0: initial state in the flow's coordinates (`flow.initial_state(x0)`).
        t0: start time.
        t1: end time, `t1 > t0`; `inf` (the default) runs until the loss reaches
            `stop_loss` and reports a stalled loss as an error.
        ts: save times in `[t0, t1]`; default 100 log-spaced times from
            `max(t0, 1e-3 * t1)` to `t1` (see `log_times`), 10 per decade up to
            the horizon for `t1 = inf`.
        solver: a diffrax solver, `BDF` or `ScipyReference`.
        rtol, atol: tolerances of the default PID step-size controller (diffrax
            solvers only).
        stepsize_controller: overrides the default `PIDController(rtol, atol)`.
        dt0: initial step (default: chosen by the controller).
        max_steps: step budget; running out raises `RuntimeError` (if `throw`).
        stop_loss: stop as soon as the loss is `<= stop_loss` (a terminating event).
            Use it to measure limits: integrating far past convergence lets round-off
            drift the state along the solution set and can stall a tight-tolerance
            solver near the noise floor. Save times after the event are dropped.
        stop_when: a function of the state returning a scalar bool; the solve stops
            at the end of the first step where it is true (a terminating event, no
            root finding; e.g. a neuron whose weight reaches zero). Diffrax solvers
            only. Combined with `stop_loss`, the first of the two stops it.
        throw: raise on solver failure; if False, inspect `Solution.result` (a
            `Result`) and use the valid prefix `ts`, `ys` up to `t_final`.
        args: passed through to the vector field.

    Returns:
        A `Solution` with `ts`, `ys`, `xs`, the final state, a `Result` code and
        solver statistics.

    Raises:
        ValueError: bad times, save grid, or a tolerance that would not be used.
        RuntimeError: the solver failed or ran out of `max_steps`, or (`t1 = inf`)
            the loss stalled above `stop_loss` (with `throw`).
    """
    _validate.instance(
        flow,
        AbstractFlow,
        "integrate",
        "flow",
        "a flow (GradientFlow, MirrorFlow, ReducedMirrorFlow, RiemannianFlow, ...)",
    )
    if solver is not None:
        _validate.instance(
            solver,
            dfx.AbstractSolver | BDF | ScipyReference,
            "integrate",
            "solver",
            "a diffrax solver, mirrorflow.BDF(...) or mirrorflow.ScipyReference(...)",
        )
    t0 = _validate.scalar(t0, "integrate", "t0", example="0.0")
    t1 = _validate.scalar(t1, "integrate", "t1", allow_inf=True, example="10.0")
    if stop_loss is not None:
        stop_loss = _validate.scalar(
            stop_loss, "integrate", "stop_loss", low=0.0, example="1e-12"
        )
    if rtol is not None:
        rtol = _validate.scalar(
            rtol, "integrate", "rtol", low=0.0, high=1.0, example="1e-8"
        )
    if atol is not None:
        atol = _validate.scalar(atol, "integrate", "atol", low=0.0, strict=False)
    if dt0 is not None:
        dt0 = _validate.scalar(dt0, "integrate", "dt0", low=0.0, example="1e-3")
    _check_span(t0, t1, stop_loss)
    to_convergence = math.isinf(t1)
    horizon = t0 + INFINITE_HORIZON if to_convergence else t1
    if ts is None:
        ts = default_save_times(t0, horizon, per_decade=10 if to_convergence else None)
    _check_times(t0, horizon, ts)
    if not (isinstance(max_steps, int) and max_steps > 0):
        raise ValueError(
            f"integrate: `max_steps` must be a positive int, got {max_steps!r}."
        )
    _own_tolerances(solver, rtol, atol, stepsize_controller)
    if stop_when is not None and not callable(stop_when):
        raise ValueError(
            "integrate: `stop_when` must be a function of the state returning a "
            f"scalar bool, got {type(stop_when).__name__}."
        )
    if stop_when is not None and isinstance(solver, BDF | ScipyReference):
        raise ValueError(
            f"integrate: `stop_when` is supported by diffrax solvers only, not "
            f"{type(solver).__name__}; use a diffrax solver (e.g. diffrax.Kvaerno5()) "
            "or stop on the loss with `stop_loss`."
        )
    rtol = 1e-10 if rtol is None else rtol
    atol = 1e-12 if atol is None else atol
    _check_state(flow, y0, t0, args, solver, rtol)
    scale = _audit.tolerance_scale()
    if scale != 1.0:
        rtol, atol = rtol * scale, atol * scale
        if isinstance(solver, BDF | ScipyReference):
            solver = eqx.tree_at(
                lambda s: (s.rtol, s.atol),
                solver,
                (solver.rtol * scale, solver.atol * scale),
            )
        if stepsize_controller is not None:
            stepsize_controller = _scale_controller(stepsize_controller, scale)
    breaks = tuple(sorted(float(b) for b in flow.breakpoints() if t0 < b < horizon))
    try:
        if isinstance(solver, BDF | ScipyReference):
            sol, failure = _segments(
                flow, y0, t0, horizon, ts, breaks, solver, stop_loss, args, max_steps
            )
        else:
            sol, failure = _diffrax_integrate(
                flow,
                y0,
                t0,
                horizon,
                ts,
                breaks,
                solver,
                rtol,
                atol,
                stepsize_controller,
                dt0,
                max_steps,
                stop_loss,
                args,
                stop_when,
            )
    except Exception:
        # A state that does not fit the flow fails deep inside JAX: say so.
        _check_structure(flow, y0, t0, args)
        raise
    if to_convergence and sol.result in (Result.successful, Result.max_steps_reached):
        sol = dataclasses.replace(sol, result=Result.stalled)
        failure = (
            f"the loss stalled at {float(sol.loss_final):.3g} > "
            f"stop_loss={stop_loss:g} "
            f"(t={float(sol.t_final):.3g}, {sol.stats.get('num_steps')} steps); the "
            "flow does not reach stop_loss (check that the problem can be "
            "interpolated, raise stop_loss above the solver's noise floor, or pass a "
            "finite t1)"
        )
    if _audit.recording():
        _audit._add_record(
            _record(flow, sol, t0, horizon, solver, rtol, atol, max_steps)
        )
    if failure is not None and throw:
        raise RuntimeError(f"integrate: {failure}.")
    return sol


def _check_state(flow, y0, t0, args, solver, rtol):
    """`y0`: real and finite; float64 where the tolerance needs it."""
    leaves = jax.tree.leaves(y0)
    if not leaves:
        raise ValueError(
            "integrate: `y0` has no arrays; pass the flow's state, e.g. "
            "flow.initial_state(x0)."
        )
    for leaf in leaves:
        _validate.real_array(leaf, "integrate", "y0")
    inside = flow.in_domain(y0)
    if inside is not None and not bool(inside):
        raise ValueError(
            f"integrate: `y0` lies outside the domain of {type(flow).__name__} "
            f"({flow.domain_description().rstrip('.')}); build it with "
            "flow.initial_state(x0) from weights inside the domain."
        )
    tol = solver.rtol if isinstance(solver, BDF | ScipyReference) else rtol
    dtypes = {jnp.result_type(a) for a in leaves}
    single = [d for d in dtypes if jnp.finfo(d).bits < 64]
    if single and tol < 1e3 * float(jnp.finfo(single[0]).eps):
        raise ValueError(
            f"integrate: `y0` is {single[0]} but the relative tolerance "
            f"{tol:g} is below what {single[0]} resolves; turn on float64 "
            "(jax.config.update('jax_enable_x64', True) before building the "
            "problem) or pass rtol >= 1e-4."
        )


def _check_structure(flow, y0, t0, args):
    """Raise a clear error if `y0` does not fit the flow (called when a solve
    fails, so the happy path does not trace the vector field an extra time)."""
    leaves = jax.tree.leaves(y0)
    try:
        out = jax.eval_shape(lambda y: flow.vector_field(jnp.asarray(t0), y, args), y0)
    except Exception as err:  # noqa: BLE001 -- re-raised with the fix
        raise ValueError(
            f"integrate: `y0` does not fit {type(flow).__name__} "
            f"({type(err).__name__}: {str(err).splitlines()[0][:160]}); build it "
            "with flow.initial_state(...)."
        ) from None
    if jax.tree.structure(out) != jax.tree.structure(y0) or any(
        np.shape(a) != b.shape
        for a, b in zip(leaves, jax.tree.leaves(out), strict=True)
    ):
        raise ValueError(
            f"integrate: `y0` does not have the shape of {type(flow).__name__}'s "
            "state (its vector field returns another structure); build it with "
            "flow.initial_state(...)."
        )


def _segments(flow, y0, t0, t1, ts, breaks, solver, stop_loss, args, max_steps):
    """`BDF` and scipy across the schedule's jumps: restart at each jump.

    Each segment restarts from the state **at its end** (restarting from the last
    save time instead silently breaks the conservation laws).
    """
    run = _scipy_integrate if isinstance(solver, ScipyReference) else _bdf_integrate
    ts_np = np.asarray(ts, dtype=float)
    edges = [t0, *breaks, t1]
    pieces, y, stats, sol, failure = [], y0, {}, None, None
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (ts_np > a) & (ts_np <= b) if k else (ts_np >= a) & (ts_np <= b)
        seg = ts_np[inside]
        seg_ts = seg if seg.size and seg[-1] == b else np.append(seg, b)
        sol, failure = run(flow, y, a, b, seg_ts, solver, stop_loss, args, max_steps)
        if sol.result is Result.step_size_too_small and isinstance(solver, BDF):
            result, failure = _diagnose(
                flow,
                float(sol.t_final),
                sol.y_final,
                args,
                "BDF failed (Newton diverged or the error test kept failing)",
                "loosen the tolerances if the right-hand side is rough",
            )
            sol = dataclasses.replace(sol, result=result)
        outside = _domain_prefix(flow, sol, a)
        if outside is not None:
            sol, failure = outside
        keep = np.isin(np.asarray(sol.ts), seg)
        pieces.append((sol.ts[keep], jax.tree.map(lambda v, m=keep: v[m], sol.ys)))
        for key, val in sol.stats.items():
            if isinstance(val, int) and key != "max_steps":
                stats[key] = stats.get(key, 0) + val
        y = sol.y_final
        if sol.result is not Result.successful:
            break
    if len(pieces) == 1:
        return sol, failure
    stats.update(
        solver=sol.stats["solver"],
        segments=len(pieces),
        max_steps=sol.stats.get("max_steps"),
        wall_time=sol.stats.get("wall_time"),
    )
    ts_out = jnp.concatenate([p[0] for p in pieces])
    ys = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *[p[1] for p in pieces])
    return (
        dataclasses.replace(sol, ts=ts_out, ys=ys, xs=_xs(flow, ys), stats=stats),
        failure,
    )


def _pid(controller):
    """The PID controller inside `controller` (bare or clipped at jumps), or None."""
    if isinstance(controller, dfx.ClipStepSizeController):
        controller = controller.controller
    return controller if isinstance(controller, dfx.PIDController) else None


def _scale_controller(controller, scale):
    """`controller` with the tolerances of its PID controller times `scale`."""
    if isinstance(controller, dfx.ClipStepSizeController):
        inner = _scale_controller(controller.controller, scale)
        return eqx.tree_at(lambda c: c.controller, controller, inner)
    if isinstance(controller, dfx.PIDController):
        return eqx.tree_at(
            lambda c: (c.rtol, c.atol),
            controller,
            (controller.rtol * scale, controller.atol * scale),
        )
    raise ValueError(
        "integrate: cannot scale the tolerances of a "
        f"{type(controller).__name__}; pass a diffrax.PIDController (optionally "
        "inside a ClipStepSizeController)."
    )


def _record(flow, sol, t0, t1, solver, rtol, atol, max_steps):
    """The audit's view of one finished solve (see `_audit.IntegrationRecord`)."""
    losses = np.asarray(jax.vmap(flow.loss)(sol.ys)) if len(sol.ts) else np.empty(0)
    below = np.nonzero(losses <= _audit.LOSS_FLOOR)[0]
    loss_final = float(sol.loss_final)
    if below.size:
        t_conv = float(sol.ts[below[0]])
    elif loss_final <= _audit.LOSS_FLOOR:
        t_conv = float(sol.t_final)
    else:
        t_conv = None
    if isinstance(solver, BDF | ScipyReference):
        rtol, atol = solver.rtol, solver.atol
    elif isinstance(getattr(sol, "stats", None), dict) and "rtol" in sol.stats:
        rtol, atol = sol.stats["rtol"], sol.stats["atol"]
    return _audit.IntegrationRecord(
        flow=type(flow).__name__,
        solver=str(sol.stats.get("solver", type(solver).__name__)),
        t0=t0,
        t1=t1,
        t_final=float(sol.t_final),
        result=str(sol.result),
        num_steps=sol.stats.get("num_steps"),
        max_steps=sol.stats.get("max_steps"),
        rtol=float(rtol),
        atol=float(atol),
        t_converged=t_conv,
        loss_final=loss_final,
        label=_audit.current_label(),
    )


def _diffrax_integrate(
    flow,
    y0,
    t0,
    t1,
    ts,
    breaks,
    solver,
    rtol,
    atol,
    stepsize_controller,
    dt0,
    max_steps,
    stop_loss,
    args,
    stop_when=None,
):
    if solver is None:
        solver = dfx.Kvaerno5()
    dtype = jnp.result_type(*jax.tree.leaves(y0))
    if stepsize_controller is None:
        # PI coefficients for implicit solvers as diffrax recommends for stiff
        # problems: halves the rejected steps on plateau-and-jump flows.
        implicit = isinstance(solver, dfx.AbstractImplicitSolver)
        stepsize_controller = dfx.PIDController(
            rtol=rtol,
            atol=atol,
            pcoeff=0.3 if implicit else 0.0,
            icoeff=0.3 if implicit else 1.0,
        )
        if breaks:
            stepsize_controller = dfx.ClipStepSizeController(
                stepsize_controller, jump_ts=jnp.asarray(breaks, dtype=dtype)
            )
    ts = jnp.asarray(ts, dtype=dtype)
    y0 = jax.tree.map(lambda a: jnp.asarray(a, dtype=dtype), y0)
    stop = None if stop_loss is None else jnp.asarray(stop_loss, dtype=dtype)
    watch_domain = flow.in_domain(y0) is not None

    start = time.perf_counter()
    sol, inside = _diffrax_solve(
        _traced_floats(flow, dtype),
        y0,
        jnp.asarray(t0, dtype),
        jnp.asarray(t1, dtype),
        ts,
        solver,
        _with_floor(stepsize_controller),
        dt0,
        max_steps,
        stop,
        args,
        stop_when,
        watch_domain,
    )
    wall = time.perf_counter() - start
    (ts_out, t_end), (ys, y_end) = sol.ts, sol.ys
    t_final = t_end[0]
    y_final = jax.tree.map(lambda a: a[0], y_end)
    stopped = bool(sol.event_mask) if sol.event_mask is not None else False
    ok = sol.result == dfx.RESULTS.successful
    failure = None
    if stopped:
        result = Result.event
    elif ok:
        result = Result.successful
    elif sol.result == dfx.RESULTS.max_steps_reached:
        result = Result.max_steps_reached
        failure = (
            f"the solver used all `max_steps`={max_steps} steps and stopped at "
            f"t={float(t_final):.3g} before t1={t1:.3g}. Increase `max_steps`, use a "
            "stiff solver (diffrax.Kvaerno5), or stop at convergence with `stop_loss`"
        )
    else:
        result, failure = _diagnose(
            flow,
            float(t_final),
            y_final,
            args,
            f"{type(solver).__name__} failed",
            "loosen the tolerances if the right-hand side is rough"
            + (
                ""
                if isinstance(solver, dfx.AbstractImplicitSolver)
                else ", or use a stiff solver (diffrax.Kvaerno5)"
            ),
        )
        if sol.result != dfx.RESULTS.dt_min_reached and (
            result is Result.step_size_too_small
        ):
            result = Result.failed
            failure = (
                f"{type(solver).__name__} failed ({sol.result}) at "
                f"t={float(t_final):.3g}; try a stiff solver or looser tolerances"
            )
    keep = np.isfinite(np.asarray(ts_out))
    ts_out = ts_out[keep]
    ys = jax.tree.map(lambda a: a[keep], ys)
    stats = {k: int(v) for k, v in sol.stats.items()}
    stats.update(solver=type(solver).__name__, wall_time=wall, max_steps=max_steps)
    pid = _pid(stepsize_controller)
    if pid is not None:
        stats.update(rtol=float(pid.rtol), atol=float(pid.atol))
    out = Solution(
        ts=ts_out,
        ys=ys,
        xs=_xs(flow, ys),
        t_final=t_final,
        y_final=y_final,
        x_final=flow.to_primal(y_final),
        loss_final=flow.loss(y_final),
        result=result,
        stats=stats,
    )
    if watch_domain:
        # A state that left the domain: cut the solution before the first save
        # outside (whatever the solver did after it is meaningless).
        inside = (np.asarray(inside[0])[keep], inside[1])
        outside = _domain_prefix(flow, out, t0, inside)
        if outside is not None:
            out, failure = outside
    return out, failure


_SCIPY_METHODS = {
    "RK45": scipy.integrate.RK45,
    "RK23": scipy.integrate.RK23,
    "DOP853": scipy.integrate.DOP853,
    "Radau": scipy.integrate.Radau,
    "BDF": scipy.integrate.BDF,
    "LSODA": scipy.integrate.LSODA,
}


def _event_time(g, dense, t_old, t_new):
    """Where the event function `g` crosses zero inside the last step, or `t_new`.

    `g` is evaluated on the step's dense output. The step end already has
    `g <= 0`; when the interpolant does not bracket the crossing (it can differ from
    the step's end point by the local error) the step end is the event.
    """
    g_old, g_new = g(dense(t_old)), g(dense(t_new))
    if not (g_old > 0.0 and g_new <= 0.0):
        return t_new
    return scipy.optimize.brentq(lambda t: g(dense(t)), t_old, t_new, xtol=1e-14)


def _scipy_integrate(
    flow, y0, t0, t1, ts, ref: ScipyReference, stop_loss, args, max_steps
):
    """Step a scipy `OdeSolver` by hand: saves from its dense output, robust events.

    `solve_ivp` locates events with `brentq` on the dense output and fails
    ("f(a) and f(b) must have different signs") when the interpolant does not
    reproduce the sign change seen at the step ends; here such a step ends the run
    at its end point instead.
    """
    y0 = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), y0)
    flat0, unravel = jfu.ravel_pytree(y0)

    @jax.jit
    def rhs(t, yf):
        return jfu.ravel_pytree(flow.vector_field(t, unravel(yf), args))[0]

    @jax.jit
    def jac(t, yf):
        return flow.jacobian(t, unravel(yf), args)

    @jax.jit
    def loss(yf):
        return flow.loss(unravel(yf))

    kwargs = {}
    if ref.method in ("Radau", "BDF", "LSODA"):
        kwargs["jac"] = lambda t, y: np.asarray(jac(t, y))

    def g(y):
        return float(loss(y)) - stop_loss

    t_eval = np.asarray(ts, dtype=float)
    start = time.perf_counter()
    solver = _SCIPY_METHODS[ref.method](
        lambda t, y: np.asarray(rhs(t, y)),
        t0,
        np.asarray(flat0, dtype=float),
        t1,
        rtol=ref.rtol,
        atol=ref.atol,
        **kwargs,
    )
    saved_t, saved_y, k, steps = [], [], 0, 0
    result, t_end, y_end = Result.successful, t0, np.asarray(flat0, dtype=float)
    watch_domain = flow.in_domain(y0) is not None

    def _inside(yf):
        return bool(flow.in_domain(unravel(jnp.asarray(yf))))

    def _inside(yf):
        return bool(flow.in_domain(unravel(jnp.asarray(yf))))

    if stop_loss is not None and g(y_end) <= 0.0:
        result = Result.event
    while result is Result.successful and solver.status == "running":
        if steps >= max_steps:
            result = Result.max_steps_reached
            break
        message = solver.step()
        steps += 1
        if solver.status == "failed":
            result, failure = Result.failed, message
            break
        t_old, t_new, y_new = solver.t_old, solver.t, np.array(solver.y)
        dense = solver.dense_output()
        if watch_domain and not _inside(y_new):
            # Keep the step's dense saves up to the first one outside.
            while k < t_eval.size and t_eval[k] <= t_new:
                y_k = np.asarray(dense(t_eval[k]))
                if not _inside(y_k):
                    t_new, y_new = t_eval[k], y_k
                    break
                saved_t.append(t_eval[k])
                saved_y.append(y_k)
                k += 1
            result, t_end, y_end = Result.left_domain, t_new, y_new
            break
        t_stop, y_stop = t_new, y_new
        if stop_loss is not None and g(y_new) <= 0.0:
            result = Result.event
            t_stop = _event_time(g, dense, t_old, t_new)
            y_stop = y_new if t_stop == t_new else np.asarray(dense(t_stop))
        while k < t_eval.size and t_eval[k] <= t_stop:
            saved_t.append(t_eval[k])
            saved_y.append(
                y_new if t_eval[k] == t_new else np.asarray(dense(t_eval[k]))
            )
            k += 1
        t_end, y_end = t_stop, y_stop
    wall = time.perf_counter() - start
    y_final = unravel(jnp.asarray(y_end))
    if result is Result.left_domain:
        t_in = float(saved_t[-1]) if saved_t else float(solver.t_old)
        failure_text = _left_domain_text(flow, float(t_end), max(t_in, solver.t_old))
    elif result is Result.failed:
        result, failure_text = _diagnose(
            flow,
            float(t_end),
            y_final,
            args,
            f"scipy {ref.method} failed ({failure})",
            "loosen the tolerances if the right-hand side is rough",
        )
    elif result is Result.max_steps_reached:
        failure_text = (
            f"scipy {ref.method} used all `max_steps`={max_steps} steps and stopped at "
            f"t={t_end:.3g} before t1={t1:.3g}"
        )
    else:
        failure_text = None
    ys_flat = np.asarray(saved_y, dtype=float).reshape(len(saved_t), flat0.size)
    ys = jax.vmap(unravel)(jnp.asarray(ys_flat))
    sol = Solution(
        ts=jnp.asarray(np.asarray(saved_t, dtype=float)),
        ys=ys,
        xs=_xs(flow, ys),
        t_final=jnp.asarray(t_end),
        y_final=y_final,
        x_final=flow.to_primal(y_final),
        loss_final=flow.loss(y_final),
        result=result,
        stats={
            "num_steps": steps,
            "max_steps": max_steps,
            "nfev": int(solver.nfev),
            "njev": int(solver.njev),
            "nlu": int(solver.nlu),
            "solver": f"scipy.{ref.method}",
            "wall_time": wall,
        },
    )
    return sol, failure_text
