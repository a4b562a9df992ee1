"""Sign-In's cost: step time and optimizer-state bytes against the base optimizer.

Sign-In (Gadhikar, Jacobs, Zhou & Burkholz, Sign-In to the Lottery, NeurIPS 2025;
`mirrorflow.optimizers.sign_in`) trains the weight matrices as m*w, so it holds two
factors per weight and the base optimizer's state of both. Rows, on the MLP of
`bench_ham.py` (~1e7 parameters, float32, batch 64; quick: ~1e5), with the same
timing mechanism (one jitted training step, params and state donated; variants
interleaved round by round; a row's time is the best sample, the median ratio is
in `extra`):

- `Sign-In+SGDm` vs SGD with momentum 0.9, `Sign-In+AdamW` vs AdamW: the step
  between resets, with Sign-In's defaults (NaN guard on, sign flips counted).
- `Sign-In+SGDm lean`: the same without guard and flip count (`nan_policy=
  "ignore"`, `count_sign_flips=False`): what those two cost.
- `Sign-In+SGDm reset1`: `reset_every=1`, every step also re-splits the
  factors: a step with a reset (amortized over p steps, it adds 1/p of the
  difference).

No target ratio: the rows report (Sign-In does twice the optimizer work on the
weights). Accuracy of a timing row: one step of the timed executable at the
benchmark's parameters against a float64 numpy transcription (SI-2 split of the
weights, the base's first step on the factors with the chain-rule gradients, the
product; biases take the base step), max |difference| / max |reference|.

State rows: the bytes of every leaf of `opt.init(params)` against a hand count
(tolerance 0): factors m, w of each weight plus the biases (stored as they are),
the base's buffers over that tree, Sign-In's int32 step count and one sign-flip
count per leaf (int32, int64 with jax_enable_x64); notes and `extra` give the
state-bytes ratio to the base optimizer and the params+state ratio.
"""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mirrorflow.app import BenchRow
from mirrorflow.optimizers import sign_in


def _load_ham_helpers():
    """`bench_ham.py`'s MLP, timing and byte-count helpers (shared, not copied)."""
    path = Path(__file__).with_name("bench_ham.py")
    spec = importlib.util.spec_from_file_location("_mirrorflow_bench_ham_shared", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ham = _load_ham_helpers()
tree_bytes = _ham.tree_bytes

LR_SGD, MOMENTUM = 1e-2, 0.9
LR_ADAMW, B1, B2, EPS, WD = 1e-3, 0.9, 0.999, 1e-8, 1e-4
BETA0 = 1.0
RESET_EVERY = 100
STEP_TOL = 1e-5

BASE_OF = {
    "Sign-In+SGDm": "SGDm",
    "Sign-In+SGDm lean": "SGDm",
    "Sign-In+SGDm reset1": "SGDm",
    "Sign-In+AdamW": "AdamW",
}


def _sgdm():
    return optax.sgd(LR_SGD, momentum=MOMENTUM)


def _adamw():
    return optax.adamw(LR_ADAMW, b1=B1, b2=B2, eps=EPS, weight_decay=WD)


def optimizers() -> dict[str, optax.GradientTransformation]:
    """The timed variants."""
    return {
        "SGDm": _sgdm(),
        "AdamW": _adamw(),
        "Sign-In+SGDm": sign_in(_sgdm(), beta0=BETA0, reset_every=RESET_EVERY),
        "Sign-In+AdamW": sign_in(_adamw(), beta0=BETA0, reset_every=RESET_EVERY),
        "Sign-In+SGDm lean": sign_in(
            _sgdm(),
            beta0=BETA0,
            reset_every=RESET_EVERY,
            nan_policy="ignore",
            count_sign_flips=False,
        ),
        "Sign-In+SGDm reset1": sign_in(_sgdm(), beta0=BETA0, reset_every=1),
    }


# --------------------------------------------------------------- numpy transcription


def _np_base_step(g: np.ndarray, p: np.ndarray, base: str) -> np.ndarray:
    """The base optimizer's first update from a fresh state, float64."""
    if base == "SGDm":
        return -LR_SGD * g  # the trace starts at 0: first step is plain SGD
    # AdamW: bias-corrected first moments are g and g^2, then decoupled decay.
    return -LR_ADAMW * (g / (np.abs(g) + EPS) + WD * p)


def reference_step(label: str, params, grads) -> list[np.ndarray]:
    """The new parameters after one step of `label` from a fresh state (numpy)."""
    base = BASE_OF.get(label, label)
    out = []
    for p, g in zip(jax.tree.leaves(params), jax.tree.leaves(grads), strict=True):
        p, g = np.asarray(p, np.float64), np.asarray(g, np.float64)
        if label.startswith("Sign-In") and p.ndim >= 2:
            m = np.sqrt((BETA0 + np.sqrt(BETA0**2 + 4 * p**2)) / 2)  # SI-2
            w = p / m
            m_new = m + _np_base_step(g * w, m, base)
            w_new = w + _np_base_step(g * m, w, base)
            out.append(m_new * w_new)
        else:
            out.append(p + _np_base_step(g, p, base))
    return out


def step_error(label, opt, step, grad_fn, params, x, y) -> tuple[float, float]:
    """max |one timed step - numpy| / max |reference|, and the first call's time."""
    import time

    args = (_ham._copy(params), opt.init(params), x, y)
    start = time.perf_counter()
    new, _, _ = jax.block_until_ready(step(*args))
    first = time.perf_counter() - start
    ref = reference_step(label, params, grad_fn(params, x, y))
    ours = [np.asarray(v, np.float64) for v in jax.tree.leaves(new)]
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, ref, strict=True))
    scale = max(float(np.max(np.abs(b))) for b in ref)
    return err / scale, first


# ------------------------------------------------------------------------ state


def hand_count(label: str, params) -> int:
    """Optimizer-state bytes by hand (float32 params)."""
    leaves = jax.tree.leaves(params)
    n_w = sum(int(p.size) for p in leaves if p.ndim >= 2)
    n_b = sum(int(p.size) for p in leaves if p.ndim < 2)
    f32, i32 = 4, 4
    i_flip = np.dtype(jax.dtypes.canonicalize_dtype(jnp.int64)).itemsize
    base = BASE_OF.get(label, label)
    if not label.startswith("Sign-In"):
        n = n_w + n_b
        return f32 * n if base == "SGDm" else 2 * f32 * n + i32
    tree = 2 * n_w + n_b  # the factors m, w of each weight; biases as they are
    buffers = f32 * tree if base == "SGDm" else 2 * f32 * tree + i32
    flips = 0 if label.endswith("lean") else i_flip * len(leaves)
    return f32 * tree + buffers + i32 + flips


# ------------------------------------------------------------------------ rows


def _timing_rows(model, params, batches, *, steps, rounds, desc):
    backend, kind = _ham._device()
    tag = f"{model} [{backend}]"
    variants = optimizers()
    x0, y0 = batches[0]
    steps_fns = {k: _ham._make_step(opt) for k, opt in variants.items()}
    grad_fn = jax.jit(jax.grad(_ham._loss))
    checked = {
        k: step_error(k, opt, steps_fns[k], grad_fn, params, x0, y0)
        for k, opt in variants.items()
    }
    fns = {
        k: _ham._trainer(opt, steps_fns[k], params, batches, steps)
        for k, opt in variants.items()
    }
    timings = _ham._interleaved(fns, rounds)
    per_step = {k: min(t.repeats) / steps for k, t in timings.items()}
    median = {k: t.median / steps for k, t in timings.items()}
    finite = all(
        bool(jnp.all(jnp.isfinite(v)))
        for f in fns.values()
        for v in jax.tree.leaves(f.box[0])
    )
    p_bytes = tree_bytes(params)
    size = {k: tree_bytes(opt.init(params)) for k, opt in variants.items()}
    rows = []
    for label, base in BASE_OF.items():
        slow = per_step[label] / per_step[base]
        state_ratio = size[label] / size[base]
        total = (p_bytes + size[label]) / (p_bytes + size[base])
        rows.append(
            BenchRow(
                name=f"{label} {tag}",
                target="informational",
                baseline=f"{base} step, same run",
                baseline_time=per_step[base],
                ours_time=per_step[label],
                error=checked[label][0] if finite else float("nan"),
                tolerance=STEP_TOL,
                compile_time=max(checked[label][1] - per_step[label], 0.0),
                notes=(
                    f"{per_step[label] * 1e3:.3g} ms/step vs {per_step[base] * 1e3:.3g}"
                    f" ms = {slow:.3f}x; state bytes {state_ratio:.2f}x {base}'s, "
                    f"params+state {total:.2f}x; {desc}; {kind}"
                ),
                extra={
                    "backend": backend,
                    "device": kind,
                    "slowdown": slow,
                    "slowdown_median": median[label] / median[base],
                    "ms_per_step": per_step[label] * 1e3,
                    "base_ms_per_step": per_step[base] * 1e3,
                    "state_bytes_ratio": state_ratio,
                    "bytes_ratio": total,
                    "n_params": sum(int(v.size) for v in jax.tree.leaves(params)),
                    "steps_per_sample": steps,
                    "samples": len(timings[label].repeats),
                    "reset_every": 1 if label.endswith("reset1") else RESET_EVERY,
                },
            )
        )
    return rows


def state_bytes_rows(model: str, params) -> list[BenchRow]:
    """Optimizer-state bytes of each Sign-In variant against the hand count."""
    backend, _ = _ham._device()
    opts = optimizers()
    size = {k: tree_bytes(opt.init(params)) for k, opt in opts.items()}
    p_bytes = tree_bytes(params)
    rows = []
    for label in ("Sign-In+SGDm", "Sign-In+AdamW", "Sign-In+SGDm lean"):
        base = BASE_OF[label]
        expected = hand_count(label, params)
        ratio = size[label] / size[base]
        total = (p_bytes + size[label]) / (p_bytes + size[base])
        rows.append(
            BenchRow(
                name=f"state {label} {model} [{backend}]",
                target="= hand count",
                baseline=f"{base} state",
                baseline_time=None,
                ours_time=float("nan"),
                error=float(abs(size[label] - expected)),
                tolerance=0.0,
                notes=(
                    f"state bytes: {base} {size[base]:,}, {label} {size[label]:,} "
                    f"(hand count {expected:,}) = {ratio:.2f}x; params+state "
                    f"{total:.2f}x"
                ),
                extra={
                    "base_bytes": size[base],
                    "ours_bytes": size[label],
                    "hand_count": expected,
                    "state_bytes_ratio": ratio,
                    "bytes_ratio": total,
                },
            )
        )
    return rows


def bench_step_mlp(quick: bool) -> list[BenchRow]:
    """Per-step time on a ~1e7-parameter MLP (quick: ~1e5), batch 64, float32."""
    c = _ham.mlp_case(quick)
    return _timing_rows(
        c["model"],
        c["params"],
        c["batches"],
        steps=c["steps"],
        rounds=c["rounds"],
        desc=c["desc"],
    )


def bench_state_bytes(quick: bool) -> list[BenchRow]:
    """Optimizer-state bytes of the Sign-In variants (no timing)."""
    c = _ham.mlp_case(quick)
    return state_bytes_rows(c["model"], c["params"])


BENCHMARKS = [bench_step_mlp, bench_state_bytes]
