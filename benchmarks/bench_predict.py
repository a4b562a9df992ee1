"""Target 3 of the performance issue: `predict` against a hand-written numpy Newton."""

import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np

import mirrorflow as mf
from mirrorflow.app import BenchRow, time_call


sys.path.insert(0, str(Path(__file__).parent))
from _baselines import numpy_hypentropy_newton  # noqa: E402


def bench_predict(quick: bool) -> BenchRow:
    """Bregman projection at (n, d) = (200, 1e4), alpha = 1e-2 (quick: (50, 2000))."""
    n, d, alpha = (50, 2000, 1e-2) if quick else (200, 10_000, 1e-2)
    prob = mf.random_regression(d, n, 5, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    pot = mf.Hypentropy(alpha)
    base, (x_np, _) = time_call(lambda: numpy_hypentropy_newton(A, b, 2 * alpha**2))
    ours, proj = time_call(lambda: mf.predict(prob, pot, x0=jnp.zeros(d)).x)
    err = float(np.max(np.abs(np.asarray(proj) - x_np)) / max(1.0, np.abs(x_np).max()))
    return BenchRow(
        name=f"predict ({n}, {d}) a={alpha:g}",
        target="within 1.2x of numpy Newton, 1e-10",
        baseline="numpy damped Newton",
        baseline_time=base.median,
        ours_time=ours.median,
        compile_time=ours.compile,
        error=err,
        tolerance=1e-10,
        target_ratio=1 / 1.2,
    )


BENCHMARKS = [bench_predict]
