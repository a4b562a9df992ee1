"""The Graphon NTK's cost: the quadrature kernel and empirical NTKs of masked MLPs.

Pham, Ta, Jacobs, Burkholz, Tran-Thanh, "The Graphon Limit Hypothesis:
Understanding Neural Network Pruning via Infinite Width Analysis" (NeurIPS 2025)
compare the Graphon NTK (`graphon_ntk`, quadrature on K bins) with empirical NTKs
of finite masked MLPs. Rows (float64; every timed function jit-compiled ahead of
time, so compilation is excluded and reported as `compile`; a row's time is the
best of its samples; inputs: the first P sklearn digits images, 64 pixels / 16):

- `graphon NTK`: the quadrature GNTK for K = 64 bins, L = 4, on 512 inputs
  (constant graphon 0.5 on every matrix; the cost does not depend on the
  values), against the dense closed-form NTK on the same inputs (a ratio far
  below 1: the closed form is O(L P^2)). Target: under a minute on 2 CPU cores
  (seconds in `extra`). Accuracy: Theta_c = c^(L+1) Theta_dense, an exact
  identity (tolerance 1e-10).
- `empirical NTK`: `empirical_ntk` of a width-2048 masked MLP (L = 4, d = 64;
  hidden masks from 0.3 (1.5 - u)(1.5 - v), input layer at density 0.5, dense
  readout) on 512 inputs, against the Jacobian contraction `jacobian_ntk`. The
  Jacobian of 512 inputs (512 x 12.7M float64, 52 GB) does not fit in memory, so
  it is timed on 16 and 32 inputs and extrapolated to 512 with t(P) = a P +
  b P^2 fitted through the two points (a: the per-input `jacrev`, b: the
  contraction J J^T); the brief's plain per-pair scaling of the 32-input time
  (P^2 only, which overstates the Jacobian's cost since its `jacrev` part is
  linear in P) and the same-size ratio at 32 inputs are in `extra`. Target: >= 3x.
  Accuracy: the top-left 32 x 32 block of our kernel against the Jacobian's
  (exact identity, 1e-10).
- `empirical NTK width` / `inputs`: time per input pair as the width grows
  (256..2048, 128 inputs) and as the inputs grow (64..512, width 512); the fitted
  log-log exponents are reported (expected about 2 in the width: one product with
  each n x n mask per pair; about 0 in the inputs). Accuracy: the smallest case
  against `jacobian_ntk`.

Quick mode: small sizes (seconds); the Jacobian is then timed on all inputs.
"""

import math
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from mirrorflow.app import BenchRow
from mirrorflow.graphon import (
    MLPGraphon,
    dense_relu_ntk,
    empirical_ntk,
    graphon_ntk,
    init_params,
    jacobian_ntk,
    sample_masks,
)


DEPTH = 4
DIM = 64
EXACT_TOL = 1e-10
MINUTE = 60.0
SPEEDUP = 3.0


def _device() -> tuple[str, str]:
    return jax.default_backend(), jax.devices()[0].device_kind


def digits(P: int) -> jax.Array:
    """The first `P` sklearn digits images (8 x 8 = 64 pixels, scaled to [0, 1])."""
    from sklearn.datasets import load_digits

    X = load_digits().data[:P] / 16.0
    return jnp.asarray(X, dtype=jnp.float64)


def factorized(u, v):
    """The hidden graphon 0.3 (1.5 - u)(1.5 - v) (mean density 0.3)."""
    return 0.3 * (1.5 - u) * (1.5 - v)


def masked_mlp(width: int, seed: int = 0):
    """`(params, masks)` of the benchmark's masked MLP (L = 4, d = 64)."""
    g = MLPGraphon.from_functions(
        DEPTH, DIM, 64, factorized, input_fn=lambda u, v: 0.5 + 0.0 * u * v
    )
    k1, k2 = jr.split(jr.PRNGKey(seed))
    masks = sample_masks(g, width, k2)
    # all-True (dense) parts as None, as `empirical_ntk` does before compiling
    masks = [None if bool(np.all(np.asarray(m))) else m for m in masks]
    return init_params(k1, DIM, width, DEPTH), masks


def timed(fn, *args, samples: int):
    """`(best seconds, compile seconds, output)`: `fn` compiled ahead of time."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_time = time.perf_counter() - start
    best, out = math.inf, None
    for _ in range(samples):
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        best = min(best, time.perf_counter() - start)
    return best, compile_time, out


def rel_max(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def loglog_slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


# ------------------------------------------------------------------------- rows


def bench_graphon_ntk(quick: bool) -> list[BenchRow]:
    """The quadrature GNTK, K = 64, L = 4, 512 digits (quick: K = 16, 64)."""
    backend, kind = _device()
    K, P = (16, 64) if quick else (64, 512)
    samples = 3 if quick else 2
    c = 0.5
    X = digits(P)
    g = MLPGraphon.constant(c, DEPTH, DIM, K)
    ours, ours_compile, theta = timed(graphon_ntk, g, X, samples=samples)
    base, _, dense = timed(
        lambda x: dense_relu_ntk(x, depth=DEPTH), X, samples=max(samples, 3)
    )
    error = rel_max(theta, c ** (DEPTH + 1) * dense)
    return [
        BenchRow(
            name=f"graphon NTK K={K} P={P} [{backend}]",
            target=f"< {MINUTE:.0f} s",
            baseline="dense closed-form NTK, same inputs",
            baseline_time=base,
            ours_time=ours,
            error=error,
            tolerance=EXACT_TOL,
            compile_time=ours_compile,
            notes=(
                f"{ours:.3g} s ({'met' if ours < MINUTE else 'NOT met'}: < "
                f"{MINUTE:.0f} s) vs dense closed form {base * 1e3:.3g} ms; L = "
                f"{DEPTH}, d = {DIM}, float64; error: Theta_c vs c^(L+1) Theta_dense; "
                f"{kind}"
            ),
            extra={
                "backend": backend,
                "device": kind,
                "seconds": ours,
                "dense_seconds": base,
                "under_a_minute": ours < MINUTE,
                "K": K,
                "P": P,
                "depth": DEPTH,
                "samples": samples,
            },
        )
    ]


def bench_empirical_ntk(quick: bool) -> list[BenchRow]:
    """Empirical NTK of a width-2048 masked MLP on 512 digits vs `jacobian_ntk`."""
    backend, kind = _device()
    width, P = (256, 64) if quick else (2048, 512)
    subsets = (P,) if quick else (16, 32)
    samples = 3 if quick else 2
    params, masks = masked_mlp(width)
    X = digits(P)

    ours, ours_compile, theta = timed(empirical_ntk, params, masks, X, samples=samples)
    jac_times, reference = [], None
    for q in subsets:
        t, _, reference = timed(jacobian_ntk, params, masks, X[:q], samples=3)
        jac_times.append(t)
    q = subsets[-1]
    error = rel_max(theta[:q, :q], reference)
    if len(subsets) == 1:
        base, how = jac_times[0], "timed on all inputs"
        fit, per_pair = base, base
    else:
        # t(P) = a P + b P^2 through the two subset timings (a, b >= 0)
        (q1, q2), (t1, t2) = subsets, jac_times
        b = max((t2 / q2 - t1 / q1) / (q2 - q1), 0.0)
        a = max((t1 - b * q1 * q1) / q1, 0.0)
        fit = a * P + b * P * P
        per_pair = t2 * (P / q2) ** 2
        base = fit
        how = (
            f"timed on {q1} and {q2} inputs ({t1:.3g} s, {t2:.3g} s), extrapolated "
            f"by a P + b P^2 to {P}; plain per-pair scaling of the {q2}-input time "
            f"would give {per_pair:.3g} s ({per_pair / ours:.2f}x)"
        )
    same_q_ours, _, _ = timed(empirical_ntk, params, masks, X[:q], samples=3)
    same_ratio = jac_times[-1] / same_q_ours
    ratio = base / ours
    n_params = sum(int(p.size) for p in params)
    return [
        BenchRow(
            name=f"empirical NTK n={width} P={P} [{backend}]",
            target=f">= {SPEEDUP:g}x jacobian_ntk",
            baseline="jacobian_ntk (jacrev, J J^T)",
            baseline_time=base,
            ours_time=ours,
            error=error,
            tolerance=EXACT_TOL,
            target_ratio=SPEEDUP,
            compile_time=ours_compile,
            notes=(
                f"ours {ours:.3g} s ({'<' if ours < MINUTE else '>='} "
                f"{MINUTE:.0f} s) vs Jacobian {base:.3g} s = {ratio:.2f}x; Jacobian "
                f"{how}; same size ({q} inputs): {same_ratio:.2f}x; L = {DEPTH}, d = "
                f"{DIM}, {n_params:,} params, float64; {kind}"
            ),
            extra={
                "backend": backend,
                "device": kind,
                "seconds": ours,
                "jacobian_seconds_extrapolated": fit,
                "jacobian_seconds_per_pair_scaling": per_pair,
                "jacobian_subsets": list(subsets),
                "jacobian_subset_seconds": jac_times,
                "ratio_per_pair_scaling": per_pair / ours,
                "ratio_same_size": same_ratio,
                "same_size_inputs": q,
                "width": width,
                "P": P,
                "n_params": n_params,
                "samples": samples,
            },
        )
    ]


def _sweep(widths, counts, samples):
    """Seconds per input pair for each (width, P), and the smallest case's error."""
    per_pair, error = [], None
    for width, P in zip(widths, counts, strict=True):
        params, masks = masked_mlp(width)
        X = digits(P)
        t, _, theta = timed(empirical_ntk, params, masks, X, samples=samples)
        per_pair.append(t / (P * P))
        if error is None:
            error = rel_max(theta, jacobian_ntk(params, masks, X))
    return per_pair, error


def bench_empirical_scaling(quick: bool) -> list[BenchRow]:
    """Empirical NTK time per input pair against the width and the inputs."""
    backend, kind = _device()
    samples = 3
    widths = (64, 128, 256) if quick else (256, 512, 1024, 2048)
    P_w = 32 if quick else 128
    counts = (16, 32, 64) if quick else (64, 128, 256, 512)
    width_p = 128 if quick else 512
    rows = []
    for label, xs, ws, ps, expect in [
        ("width", widths, widths, (P_w,) * len(widths), 2.0),
        ("inputs", counts, (width_p,) * len(counts), counts, 0.0),
    ]:
        per_pair, error = _sweep(ws, ps, samples)
        slope = loglog_slope(xs, per_pair)
        fixed = f"P = {P_w}" if label == "width" else f"width {width_p}"
        listing = ", ".join(
            f"{x}: {t * 1e6:.3g} us" for x, t in zip(xs, per_pair, strict=True)
        )
        rows.append(
            BenchRow(
                name=f"empirical NTK per pair vs {label} [{backend}]",
                target=f"exponent ~{expect:g} in {label}",
                baseline="-",
                baseline_time=None,
                ours_time=per_pair[-1] * ps[-1] ** 2,
                error=error,
                tolerance=EXACT_TOL,
                notes=(
                    f"fitted exponent {slope:.2f} (time per pair ~ {label}^p); "
                    f"{fixed}; {listing}; {kind}"
                ),
                extra={
                    "backend": backend,
                    "device": kind,
                    "exponent": slope,
                    label: list(xs),
                    "seconds_per_pair": per_pair,
                    "fixed": fixed,
                    "samples": samples,
                },
            )
        )
    return rows


BENCHMARKS = [bench_graphon_ntk, bench_empirical_ntk, bench_empirical_scaling]
