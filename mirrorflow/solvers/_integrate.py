"""`integrate`: one verb for every flow, diffrax by default, scipy as referee."""

import math
import time

import diffrax as dfx
import equinox as eqx
import jax
import jax.flatten_util as jfu
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from .._types import PyTree
from ..flows import AbstractFlow
from . import _audit
from ._bdf import BDF, _bdf_integrate
from ._solution import Solution


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
    rtol: float = 1e-10
    atol: float = 1e-12

    def __check_init__(self):
        known = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
        if self.method not in known:
            raise ValueError(
                f"ScipyReference: `method` must be one of {known}, got {self.method!r}."
            )
        if not (self.rtol > 0 and self.atol > 0):
            raise ValueError("ScipyReference: `rtol` and `atol` must be > 0.")


def log_times(t_first: float, t_last: float, num: int = 100) -> np.ndarray:
    """`num` log-spaced save times in `[t_first, t_last]` (plateau-and-jump flows).

    A numpy float64 array (no JAX array is built, so module-level save grids cost
    nothing at import); `integrate` converts it to the state's dtype.
    """
    if not (0 < t_first < t_last):
        raise ValueError(
            f"log_times needs 0 < t_first < t_last, got t_first={t_first}, "
            f"t_last={t_last}."
        )
    if num < 2:
        raise ValueError(f"log_times: `num` must be >= 2, got {num}.")
    ts = np.logspace(math.log10(t_first), math.log10(t_last), num)
    ts[0], ts[-1] = t_first, t_last  # exact endpoints (logspace rounds them)
    return ts


def default_save_times(t0: float, t1: float) -> jax.Array:
    """The save grid `integrate` uses when `ts` is not given.

    100 log-spaced times from `1e-3 * t1` (or `t0` if later) to `t1`; 100 linear
    times when that would start before `t0`.
    """
    ts = log_times(max(t0, 1e-3 * t1) if t0 > 0 else 1e-3 * t1, t1, 100)
    if t0 > 0 and float(ts[0]) < t0:
        return jnp.linspace(t0, t1, 100)
    return jnp.asarray(ts)


def _check_span(t0, t1):
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"integrate: `t0` and `t1` must be finite, got {t0}, {t1}.")
    if not t1 > t0:
        raise ValueError(
            f"integrate: need t1 > t0, got t0={t0}, t1={t1}; backward integration "
            "is not supported for training flows (swap the times or negate the flow)."
        )


def _check_times(t0, t1, ts):
    ts_np = np.asarray(ts, dtype=float)
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
    flow, y0, t0, t1, ts, solver, controller, dt0, max_steps, stop_loss, args
):
    term = dfx.ODETerm(flow.vector_field)
    saveat = dfx.SaveAt(subs=[dfx.SubSaveAt(ts=ts), dfx.SubSaveAt(t1=True)])
    event = None
    if stop_loss is not None:
        event = dfx.Event(lambda t, y, args, **kwargs: flow.loss(y) <= stop_loss)
    return dfx.diffeqsolve(
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


def integrate(
    flow: AbstractFlow,
    y0: PyTree,
    t0: float,
    t1: float,
    *,
    ts=None,
    solver=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    stepsize_controller: dfx.AbstractStepSizeController | None = None,
    dt0: float | None = None,
    max_steps: int = 200_000,
    stop_loss: float | None = None,
    throw: bool = True,
    args: PyTree = None,
) -> Solution:
    r"""Integrate a flow from `y0` at `t0` to `t1` and save it at `ts`.

    Float64 when JAX's x64 mode is on (the CLI and tests turn it on). The default solver
    is diffrax's `Kvaerno5` (L-stable ESDIRK, 5th order), which handles the stiffness of
    small initializations (long plateaus, then fast jumps, where an explicit solver
    needs hundreds of times more steps), with a PID step-size controller at
    `rtol`/`atol`. Pass any diffrax solver, or `ScipyReference(...)` to run
    `scipy.integrate.solve_ivp` as an independent referee through the same call.

    Args:
        flow: the vector field (`MirrorFlow`, `ReparamGradientFlow`, ...).
        y0: initial state in the flow's coordinates.
        t0, t1: start and end time, `t1 > t0`.
        ts: save times in `[t0, t1]`; default 100 log-spaced times from
            `max(t0, 1e-3 * t1)` to `t1` (see `log_times`).
        solver: a diffrax solver or `ScipyReference`.
        rtol, atol: tolerances of the default step-size controller.
        stepsize_controller: overrides the default `PIDController(rtol, atol)`.
        dt0: initial step (default: chosen by the controller).
        max_steps: step budget; running out raises `RuntimeError` (if `throw`).
        stop_loss: stop as soon as the loss is `<= stop_loss` (a terminating event).
            Use it to measure limits: integrating far past convergence lets round-off
            drift the state along the solution set and can stall a tight-tolerance
            solver near the noise floor. Save times after
            the event are dropped from the `Solution`.
        throw: raise on solver failure; if False, inspect `Solution.result`.
        args: passed through to the vector field.

    Returns:
        A `Solution` with `ts`, `ys`, `xs`, the final state and solver statistics.

    Raises:
        ValueError: bad times or save grid.
        RuntimeError: the solver failed or ran out of `max_steps` (with `throw`).
    """
    t0, t1 = float(t0), float(t1)
    _check_span(t0, t1)
    if ts is None:
        ts = default_save_times(t0, t1)
    _check_times(t0, t1, ts)
    if not (isinstance(max_steps, int) and max_steps > 0):
        raise ValueError(
            f"integrate: `max_steps` must be a positive int, got {max_steps!r}."
        )
    if stop_loss is not None and not stop_loss > 0:
        raise ValueError(f"integrate: `stop_loss` must be > 0, got {stop_loss!r}.")
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
    sol = _dispatch(
        flow,
        y0,
        t0,
        t1,
        ts,
        solver,
        rtol,
        atol,
        stepsize_controller,
        dt0,
        max_steps,
        stop_loss,
        throw,
        args,
    )
    if _audit.recording():
        _audit._add_record(_record(flow, sol, t0, t1, solver, rtol, atol, max_steps))
    return sol


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
        result=sol.result,
        num_steps=sol.stats.get("num_steps"),
        max_steps=sol.stats.get("max_steps"),
        rtol=float(rtol),
        atol=float(atol),
        t_converged=t_conv,
        loss_final=loss_final,
        label=_audit.current_label(),
    )


def _dispatch(
    flow,
    y0,
    t0,
    t1,
    ts,
    solver,
    rtol,
    atol,
    stepsize_controller,
    dt0,
    max_steps,
    stop_loss,
    throw,
    args,
):
    if isinstance(solver, ScipyReference):
        return _scipy_integrate(flow, y0, t0, t1, ts, solver, stop_loss, args, throw)
    if isinstance(solver, BDF):
        return _bdf_integrate(
            flow, y0, t0, t1, ts, solver, stop_loss, args, throw, max_steps
        )
    if solver is None:
        solver = dfx.Kvaerno5()
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
    dtype = jnp.result_type(*jax.tree.leaves(y0))
    ts = jnp.asarray(ts, dtype=dtype)
    y0 = jax.tree.map(lambda a: jnp.asarray(a, dtype=dtype), y0)
    stop = None if stop_loss is None else jnp.asarray(stop_loss, dtype=dtype)
    start = time.perf_counter()
    sol = _diffrax_solve(
        _traced_floats(flow, dtype),
        y0,
        jnp.asarray(t0, dtype),
        jnp.asarray(t1, dtype),
        ts,
        solver,
        stepsize_controller,
        dt0,
        max_steps,
        stop,
        args,
    )
    wall = time.perf_counter() - start
    (ts_out, t_end), (ys, y_end) = sol.ts, sol.ys
    t_final = t_end[0]
    y_final = jax.tree.map(lambda a: a[0], y_end)
    event = bool(sol.event_mask) if sol.event_mask is not None else False
    ok = sol.result == dfx.RESULTS.successful
    if not ok and not event:
        if throw:
            if sol.result == dfx.RESULTS.max_steps_reached:
                raise RuntimeError(
                    f"integrate: the solver used all `max_steps`={max_steps} steps and "
                    f"stopped at t={float(t_final):.3g} before t1={t1:.3g}. Increase "
                    "`max_steps`, use a stiff solver (diffrax.Kvaerno5), or stop at "
                    "convergence with `stop_loss`."
                )
            raise RuntimeError(
                f"integrate: {type(solver).__name__} failed ({sol.result}) at "
                f"t={float(t_final):.3g}; try a stiff solver or looser tolerances."
            )
    keep = np.isfinite(np.asarray(ts_out))
    ts_out = ts_out[keep]
    ys = jax.tree.map(lambda a: a[keep], ys)
    stats = {k: int(v) for k, v in sol.stats.items()}
    stats.update(solver=type(solver).__name__, wall_time=wall, max_steps=max_steps)
    pid = _pid(stepsize_controller)
    if pid is not None:
        stats.update(rtol=float(pid.rtol), atol=float(pid.atol))
    return Solution(
        ts=ts_out,
        ys=ys,
        xs=_xs(flow, ys),
        t_final=t_final,
        y_final=y_final,
        x_final=flow.to_primal(y_final),
        loss_final=flow.loss(y_final),
        result="event" if event else ("successful" if ok else str(sol.result)),
        stats=stats,
    )


def _scipy_integrate(flow, y0, t0, t1, ts, ref: ScipyReference, stop_loss, args, throw):
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
    events = None
    if stop_loss is not None:

        def hit(t, y):
            return float(loss(y)) - stop_loss

        hit.terminal = True
        hit.direction = -1
        events = hit
    t_eval = np.asarray(ts, dtype=float)
    extra = bool(t_eval[-1] < t1)  # also save t1 to read off the final state
    if extra:
        t_eval = np.append(t_eval, t1)
    start = time.perf_counter()
    out = scipy.integrate.solve_ivp(
        lambda t, y: np.asarray(rhs(t, y)),
        (t0, t1),
        np.asarray(flat0),
        method=ref.method,
        t_eval=t_eval,
        rtol=ref.rtol,
        atol=ref.atol,
        events=events,
        **kwargs,
    )
    wall = time.perf_counter() - start
    if out.status == -1 and throw:
        raise RuntimeError(f"integrate: scipy {ref.method} failed: {out.message}")
    event = out.status == 1
    # solve_ivp returns an empty list for `y` when an event precedes every t_eval.
    ts_out = np.asarray(out.t, dtype=float)
    ys_flat = np.asarray(out.y, dtype=float).reshape(flat0.size, -1).T
    if event:
        y_final_flat = out.y_events[0][0]
    else:
        y_final_flat = ys_flat[-1]
        if extra:
            ts_out, ys_flat = ts_out[:-1], ys_flat[:-1]
    ys = jax.vmap(unravel)(jnp.asarray(ys_flat))
    y_final = unravel(jnp.asarray(y_final_flat))
    return Solution(
        ts=jnp.asarray(ts_out),
        ys=ys,
        xs=_xs(flow, ys),
        t_final=jnp.asarray(out.t_events[0][0] if event else t1),
        y_final=y_final,
        x_final=flow.to_primal(y_final),
        loss_final=flow.loss(y_final),
        result="event" if event else ("successful" if out.status == 0 else "failed"),
        stats={
            "nfev": int(out.nfev),
            "njev": int(out.njev),
            "nlu": int(out.nlu),
            "solver": f"scipy.{ref.method}",
            "wall_time": wall,
        },
    )
