"""Targets 1 and 2 of the performance issue: full trajectories to 1e-8."""

import diffrax as dfx
import jax.numpy as jnp
import numpy as np

import mirrorflow as mf
from mirrorflow.bench import BenchRow, time_call


def _setup(n, d, alpha, seed=0):
    prob = mf.random_regression(d, n, 5, seed)
    pot = mf.Hypentropy(alpha)
    red = mf.ReducedMirrorFlow(prob, pot, jnp.zeros(d))
    # Horizon: residual ||Ax - b|| < 1e-8 (loss 0.5e-16), then 20 % further.
    conv = mf.integrate(
        red,
        red.initial_state(),
        0.0,
        1e9,
        ts=mf.log_times(1e-2, 1e9, 4),
        solver=mf.ScipyReference("LSODA", rtol=1e-10, atol=1e-12),
        stop_loss=0.5e-16,
    )
    t1 = 1.2 * float(conv.t_final)
    return prob, pot, red, t1, mf.log_times(1e-2, t1, 200)


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, np.abs(b).max()))


def bench_trajectory(quick: bool) -> list[BenchRow]:
    """Trajectory on a 200-point log grid: ours vs scipy Radau and diffrax Tsit5.

    Full size (n, d) = (200, 1e4), alpha = 1e-3; quick (50, 1000), alpha = 1e-2.
    Accuracy: max relative distance to scipy LSODA at rtol 1e-12 (a third solver).
    """
    n, d, alpha = (50, 1000, 1e-2) if quick else (200, 10_000, 1e-3)
    repeats = 3 if quick else 1
    _, pot, red, t1, ts = _setup(n, d, alpha)
    y0 = red.initial_state()
    ref = mf.integrate(
        red,
        y0,
        0.0,
        t1,
        ts=ts,
        solver=mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
    )
    kw = dict(rtol=1e-10, atol=1e-12, max_steps=5_000_000)
    ours_t, ours = time_call(
        lambda: mf.integrate(red, y0, 0.0, t1, ts=ts, solver=dfx.Tsit5(), **kw).xs,
        repeats=repeats,
    )
    radau_t, _ = time_call(
        lambda: (
            mf.integrate(
                red,
                y0,
                0.0,
                t1,
                ts=ts,
                solver=mf.ScipyReference("Radau", rtol=1e-10, atol=1e-12),
            ).xs
        ),
        repeats=repeats,
    )
    dual = mf.MirrorFlow(red.problem, pot)
    tsit_t, _ = time_call(
        lambda: (
            mf.integrate(
                dual, jnp.zeros(d), 0.0, t1, ts=ts, solver=dfx.Tsit5(), **kw
            ).xs
        ),
        repeats=repeats,
    )
    err = _rel(ours, ref.xs)
    name = f"trajectory ({n}, {d}) a={alpha:g}"
    return [
        BenchRow(
            name,
            ">= 10x scipy Radau (reduced)",
            "scipy Radau, reduced, exact jac",
            radau_t.median,
            ours_t.median,
            err,
            1e-8,
            10.0,
            ours_t.compile,
            "ours: diffrax Tsit5 on the reduced lambda-ODE",
        ),
        BenchRow(
            name,
            ">= 5x diffrax Tsit5 (full dual)",
            "diffrax Tsit5, full dual",
            tsit_t.median,
            ours_t.median,
            err,
            1e-8,
            5.0,
            ours_t.compile,
        ),
    ]


BENCHMARKS = [bench_trajectory]
