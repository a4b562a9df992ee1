"""The model zoo: each gradient flow against gradient descent at the same accuracy.

One row per model (sparse coding, matrix sensing, single-layer attention, LoRA on a
frozen linear map). Both sides compute the same thing: the parameters at a fixed
horizon T of gradient flow on F(params) = f(to_x(params)), started at the same
params0 (T chosen where the flow is still moving: the loss, or for LoRA its excess
over the noise floor, has fallen by one to five orders).

Ours: `mf.integrate(mf.GradientFlow(problem, reparam), params0, 0, T, ts=[T])` with
diffrax's Tsit5 (explicit, adaptive; these inits are not stiff) at a fixed rule
rtol = tol / 100, atol = tol / 1e4, float64.

Baseline: plain gradient descent as a user would write it in JAX, one jitted
`lax.fori_loop` of params <- params - eta * grad F(params) (`jax.grad` of the same
loss, float64; eta and the step count are traced, so the whole step-size search
compiles once). Its iterate after T / eta steps approximates the flow at T with a
global error O(eta); eta is halved from eta0 = T / ceil(T / 0.1) until that
iterate is within `tol` of the reference. The baseline is tuned per model (the
coarsest eta that passes), ours is not.

Accuracy (both sides, `tol` = 1e-6, quick 1e-5): max |x(T) - x_ref(T)| /
max(1, max |x_ref(T)|) over the model weights x = to_x(params) (codes, X,
(K^T Q, W V), Delta), x_ref from scipy LSODA at rtol 1e-12, atol 1e-14 (a third
integrator). The row's `error` is ours; GD's (and that of eta * 2, which failed)
are in the notes and `extra`.

Timing: ours and GD at the chosen eta, interleaved round by round through
`time_call` (load on the shared machine hits both alike); a row's time is the best
warm sample (the medians are in `extra`). The rows only report: no target ratio
(speed is machine-dependent; the gap is the step count, adaptive high-order steps
against T / eta first-order ones). Should GD miss `tol` after `MAX_HALVINGS`
halvings, the row leaves its time out (no ratio) and says so in the notes.
"""

import dataclasses
import math
import statistics

import diffrax as dfx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import mirrorflow as mf
from mirrorflow.app import BenchRow, Timing, time_call
from mirrorflow.problems import (
    Attention,
    AttentionFactors,
    attention_init,
    lora_init,
    lora_regression,
    random_sensing,
    random_sparse_coding,
)
from mirrorflow.reparam import MatrixFactorization


REFERENCE = mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14)
ETA0 = 0.1  # GD's starting step (rounded down to T / integer)
MAX_HALVINGS = 22  # eta0 / 2^22 ~ 2.4e-8: far below what any row needs


def _tol(quick: bool) -> float:
    return 1e-5 if quick else 1e-6


@dataclasses.dataclass(frozen=True)
class Model:
    name: str
    problem: object
    reparam: object
    params0: object
    horizon: float
    desc: str


def sparse_coding() -> Model:
    """Codes X = U^4 - V^4 (DeepDiagonal(4)), m=4, r=8, N=5, k=2; U0, V0 ~ U(.4, .6)."""
    prob = random_sparse_coding(4, 8, 5, 2, 0)
    rng = np.random.default_rng(0)
    params0 = tuple(jnp.asarray(rng.uniform(0.4, 0.6, prob.d)) for _ in range(2))
    return Model(
        "sparse coding 4x8x5 u^4-v^4",
        prob,
        mf.DeepDiagonal(4),
        params0,
        50.0,
        "D 4x8, N=5 2-sparse codes, X = U^4 - V^4 (80 params)",
    )


def matrix_sensing() -> Model:
    """X = U V^T (4 x 3, inner rank 2), 5 Gaussian measurements of a rank-1 truth."""
    prob = random_sensing(4, 3, 5, 0, rank=1)
    rng = np.random.default_rng(0)
    params0 = (
        jnp.asarray(0.5 * rng.standard_normal((4, 2))),
        jnp.asarray(0.5 * rng.standard_normal((3, 2))),
    )
    return Model(
        "matrix sensing 4x3 UV^T r=2",
        prob,
        MatrixFactorization(),
        params0,
        20.0,
        "5 measurements of a rank-1 4x3 X, X = U V^T, inner rank 2 (14 params)",
    )


def attention() -> Model:
    """Softmax attention on 8 random sequences of 4 tokens in R^3, 3 classes."""
    rng = np.random.default_rng(1)
    prob = Attention(rng.uniform(0.0, 1.0, (8, 4, 3)), rng.integers(0, 3, 8), 3)
    params0 = jax.tree.map(
        lambda a: 1.5 * a,
        attention_init(jr.PRNGKey(7), 3, 3, key_dim=2, value_dim=2),
    )
    return Model(
        "attention 8 seqs x 4 tokens, d=3",
        prob,
        AttentionFactors(),
        params0,
        150.0,
        "cross-entropy, (K, Q, V, W) -> (K^T Q, W V), key/value dim 2 (30 params)",
    )


def lora() -> Model:
    """LoRA Delta = B A (rank 2) on a frozen 6 x 6 linear map, 32 samples."""
    prob = lora_regression(0, d=6, rank_true=2, n=32)
    B0, A0 = lora_init(jr.PRNGKey(3), 6, 6, 2)
    return Model(
        "LoRA 6x6 r=2 n=32",
        prob,
        MatrixFactorization(),  # (U, V) = (B, A^T): the same flow as on (B, A)
        (B0, A0.T),
        15.0,
        "lora_regression(d=6, rank 2, n=32), B0 = 0, A0 ~ N(0, 1/6) (24 params)",
    )


# ---------------------------------------------------------------------------- parts


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    err = float(np.max(np.abs(a - b)) / max(1.0, float(np.abs(b).max())))
    return err if math.isfinite(err) else math.inf


def make_gd(problem, reparam):
    """Jitted GD: `gd(params, eta, steps)` runs `steps` steps of size `eta`."""

    def objective(params):
        return problem.loss(reparam.to_x(params))

    grad = jax.grad(objective)

    @jax.jit
    def gd(params, eta, steps):
        def step(_, p):
            return jax.tree.map(lambda a, g: a - eta * g, p, grad(p))

        return jax.lax.fori_loop(jnp.zeros_like(steps), steps, step, params)

    return gd


def search_step(gd, params0, to_x, x_ref, horizon: float, tol: float) -> dict:
    """Halve eta from ~ETA0 until GD's x after T / eta steps is within `tol`."""
    steps = math.ceil(horizon / ETA0)
    previous = None
    for halvings in range(MAX_HALVINGS + 1):
        eta = horizon / steps
        params = gd(params0, jnp.asarray(eta), jnp.asarray(steps))
        err = _rel(to_x(params), x_ref)
        if err <= tol:
            break
        previous = (eta, err)
        if halvings < MAX_HALVINGS:
            steps *= 2
    return {
        "eta": eta,
        "steps": steps,
        "error": err,
        "halvings": halvings,
        "reached": err <= tol,
        "eta_failed": previous[0] if previous else None,
        "error_failed": previous[1] if previous else None,
    }


def interleaved(fns: dict, rounds: int) -> dict[str, Timing]:
    """`time_call` each fn once per round, rotating the order round by round.

    Round 0's first call is the compile; every later call (warm-ups included) is a
    warm sample.
    """
    first, samples = {}, {k: [] for k in fns}
    keys = list(fns)
    for r in range(rounds):
        for k in keys[r % len(keys) :] + keys[: r % len(keys)]:
            timing, _ = time_call(fns[k], repeats=1)
            if r == 0:
                first[k] = timing.first
            else:
                samples[k].append(timing.first)
            samples[k].extend(timing.repeats)
    return {k: Timing(first[k], tuple(samples[k])) for k in fns}


def model_row(model: Model, quick: bool) -> BenchRow:
    tol = _tol(quick)
    rounds = 2 if quick else 3
    flow = mf.GradientFlow(model.problem, model.reparam)
    y0 = flow.initial_state(model.params0)
    T = model.horizon
    ref = mf.integrate(flow, y0, 0.0, T, ts=[T], solver=REFERENCE)
    x_ref = np.asarray(ref.xs[-1])
    rtol, atol = tol / 100, tol / 1e4

    def ours():
        return mf.integrate(
            flow, y0, 0.0, T, ts=[T], solver=dfx.Tsit5(), rtol=rtol, atol=atol
        )

    gd = make_gd(model.problem, model.reparam)
    to_x = model.reparam.to_x
    found = search_step(gd, y0, to_x, x_ref, T, tol)
    eta, steps = jnp.asarray(found["eta"]), jnp.asarray(found["steps"])
    timings = interleaved(
        {"ours": lambda: ours().xs, "gd": lambda: gd(y0, eta, steps)}, rounds
    )
    sol = ours()
    err = _rel(sol.xs[-1], x_ref)
    loss0, lossT = float(flow.loss(y0)), float(ref.loss_final)
    best = {k: min(t.repeats) for k, t in timings.items()}
    failed = (
        f"; 2 eta = {found['eta_failed']:.3g} gave {found['error_failed']:.1e}"
        if found["eta_failed"] is not None
        else ""
    )
    reached = "" if found["reached"] else f" (NOT within {tol:g} after the search)"
    notes = (
        f"{model.desc}; T = {T:g}, loss {loss0:.3g} -> {lossT:.3g}; "
        f"ours: Tsit5 rtol {rtol:g}, {sol.stats.get('num_steps')} steps; "
        f"GD: eta = {found['eta']:.3g}, {found['steps']:,} steps, error "
        f"{found['error']:.1e}{reached}{failed}"
    )
    return BenchRow(
        name=model.name,
        target=f"report: x(T) within {tol:g}",
        baseline="GD, jitted fori_loop, eta/2^k",
        baseline_time=best["gd"] if found["reached"] else None,
        ours_time=best["ours"],
        error=err,
        tolerance=tol,
        compile_time=timings["ours"].compile,
        notes=notes,
        extra={
            "horizon": T,
            "loss0": loss0,
            "loss_T": lossT,
            "ours_solver": "Tsit5",
            "ours_rtol": rtol,
            "ours_atol": atol,
            "ours_steps": int(sol.stats.get("num_steps", -1)),
            "gd_eta": found["eta"],
            "gd_steps": found["steps"],
            "gd_error": found["error"],
            "gd_reached": found["reached"],
            "gd_halvings": found["halvings"],
            "gd_eta_failed": found["eta_failed"],
            "gd_error_failed": found["error_failed"],
            "ours_median": statistics.median(timings["ours"].repeats),
            "gd_median": statistics.median(timings["gd"].repeats),
            "samples": len(timings["ours"].repeats),
            "backend": jax.default_backend(),
        },
    )


# ---------------------------------------------------------------------- benchmarks


def bench_sparse_coding(quick: bool) -> BenchRow:
    """GF on sparse codes X = U^4 - V^4 against GD at the same accuracy."""
    return model_row(sparse_coding(), quick)


def bench_matrix_sensing(quick: bool) -> BenchRow:
    """GF on (U, V), X = U V^T, against GD at the same accuracy."""
    return model_row(matrix_sensing(), quick)


def bench_attention(quick: bool) -> BenchRow:
    """GF on single-layer attention (K, Q, V, W) against GD at the same accuracy."""
    return model_row(attention(), quick)


def bench_lora(quick: bool) -> BenchRow:
    """GF on LoRA's (B, A) against GD at the same accuracy."""
    return model_row(lora(), quick)


BENCHMARKS = [bench_sparse_coding, bench_matrix_sensing, bench_attention, bench_lora]
