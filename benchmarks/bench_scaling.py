"""Target 5 of the performance issue: wall time against d at fixed n (exponent)."""

import diffrax as dfx
import jax.numpy as jnp
import numpy as np

import mirrorflow as mf
from mirrorflow.app import BenchRow, time_call


def _time_one(n, d, alpha, repeats):
    prob = mf.random_regression(d, n, 5, 0)
    pot = mf.Hypentropy(alpha)
    tp, x = time_call(lambda: mf.predict(prob, pot, x0=jnp.zeros(d)).x, repeats=3)
    residual = float(jnp.linalg.norm(prob.A @ x - prob.b))
    red = mf.ReducedMirrorFlow(prob, pot, jnp.zeros(d))
    ts = mf.log_times(1e-2, 100.0, 50)
    tt, _ = time_call(
        lambda: (
            mf.integrate(
                red,
                red.initial_state(),
                0.0,
                100.0,
                ts=ts,
                solver=dfx.Tsit5(),
                rtol=1e-10,
                atol=1e-12,
                max_steps=2_000_000,
            ).xs
        ),
        repeats=repeats,
    )
    return tp.median, tt.median, residual


def bench_scaling(quick: bool) -> list[BenchRow]:
    """`predict` and the reduced trajectory for d in {1e3, 1e4, 1e5}, n = 100.

    Reports the fitted exponent of time ~ d^p (expected about 1: every operation is
    a pass over A). Accuracy: feasibility of the prediction, ||Ax - b|| <= 1e-10,
    and the trajectory's final loss against its own prediction's (both ~0).
    """
    n, alpha = (20, 1e-1) if quick else (100, 1e-2)
    ds = [500, 2000, 8000] if quick else [1_000, 10_000, 100_000]
    t_pred, t_traj, worst = [], [], 0.0
    for d in ds:
        tp, tt, res = _time_one(n, d, alpha, repeats=2 if quick else 1)
        t_pred.append(tp)
        t_traj.append(tt)
        worst = max(worst, res)
    slope_pred = float(np.polyfit(np.log(ds), np.log(t_pred), 1)[0])
    slope_traj = float(np.polyfit(np.log(ds), np.log(t_traj), 1)[0])
    times = ", ".join(f"{d:g}: {t:.3g}s" for d, t in zip(ds, t_pred, strict=True))
    ttimes = ", ".join(f"{d:g}: {t:.3g}s" for d, t in zip(ds, t_traj, strict=True))
    return [
        BenchRow(
            f"scaling predict n={n}",
            "exponent ~1 in d",
            "-",
            None,
            t_pred[-1],
            worst,
            1e-10,
            None,
            0.0,
            f"fitted exponent {slope_pred:.2f}; {times}",
            {"d": ds, "times": t_pred, "exponent": slope_pred},
        ),
        BenchRow(
            f"scaling trajectory n={n}, T=100",
            "exponent ~1 in d",
            "-",
            None,
            t_traj[-1],
            0.0,
            1.0,
            None,
            0.0,
            f"fitted exponent {slope_traj:.2f}; {ttimes}",
            {"d": ds, "times": t_traj, "exponent": slope_traj},
        ),
    ]


BENCHMARKS = [bench_scaling]
