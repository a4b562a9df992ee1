"""HAM's cost (issue 8): per-step time over the base optimizer, and optimizer state.

One jitted training step (forward + backward + optimizer update + apply, float32,
params and state donated) of an MLP, timed for SGD, SGD+HAM, Adam, Adam+HAM and
`hadamard_reparam` (m*w) training of the same model. Every timing row is a ratio
against its base optimizer timed in the same run (variants interleaved round by
round, so that load on the shared machine hits all of them alike; a row's time is
the best sample, the median ratio is in `extra`). Target: a HAM step costs <= 1.15x
its base step (HAM is one elementwise exp per parameter). HAM is timed with its
default NaN guard (`nan_policy="raise"`, one finiteness reduction per step) and
without it (`"ignore"`, rows marked `noguard`). The m*w rows have no target: they
report what the alternative with the same implicit bias costs (time, and in the
notes params+state bytes against the base optimizer and time against HAM).
Digits: minibatch 32 (a training loop of jitted steps, dispatch included).

Accuracy of a timing row: one step of the timed optimizer at the benchmark's own
parameters against a float64 numpy transcription of the update (SGD or Adam base
step, then theta_half * exp(-eta (alpha sign(theta_half) g + beta)); for m*w the
chain rule on the factors); max |difference| / max |reference| over the leaves.

State rows: the bytes of every leaf of `opt.init(params)`; HAM must add exactly 0
(tolerance 0, so CI fails if HAM ever adds state), and m*w + Adam must hold exactly
the hand count (factors m, w and Adam's two moments of each, plus the step count).
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mirrorflow.app import BenchRow, Timing
from mirrorflow.optimizers import hadamard_reparam, ham


# alpha = 20, not the default 200: with SGD at rate 1e-2 the deep random-label MLP
# diverges within a few steps at 200 (the NaN guard then stops the bench). The
# work per step does not depend on alpha.
ALPHA, BETA = 20.0, 1e-3
SGD_LR, ADAM_LR = 1e-2, 1e-3
B1, B2, EPS = 0.9, 0.999, 1e-8
MW_BETA = 1e-2
STEP_TOL = 1e-5
SLOWDOWN = 1.15


# ----------------------------------------------------------------------------- model


def _device() -> tuple[str, str]:
    """(backend, device kind), e.g. ('cpu', 'cpu') or ('gpu', 'NVIDIA H100 ...')."""
    return jax.default_backend(), jax.devices()[0].device_kind


def _init_mlp(sizes, seed: int) -> list[dict]:
    """He-initialized float32 MLP parameters: [{'w': (in, out), 'b': (out,)}]."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        b = 0.01 * rng.standard_normal(fan_out)
        layers.append(
            {
                "w": jnp.asarray(w, dtype=jnp.float32),
                "b": jnp.asarray(b, dtype=jnp.float32),
            }
        )
    return layers


def _loss(params, x, y):
    h = x
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"][None, :])
    logits = h @ params[-1]["w"] + params[-1]["b"][None, :]
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))


def _n_params(tree) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(tree))


def tree_bytes(tree) -> int:
    """Bytes of all array leaves of a pytree (dtype itemsize times size)."""
    return sum(
        int(np.dtype(x.dtype).itemsize) * int(np.size(x)) for x in jax.tree.leaves(tree)
    )


def _copy(tree):
    return jax.tree.map(jnp.copy, tree)


# ------------------------------------------------------------------------ optimizers


def optimizers(*, guard: bool = True) -> dict[str, optax.GradientTransformation]:
    """The timed variants; `guard=False` gives the HAM ones `nan_policy='ignore'`."""
    policy = "raise" if guard else "ignore"
    return {
        "SGD": optax.sgd(SGD_LR),
        "Adam": optax.adam(ADAM_LR, b1=B1, b2=B2, eps=EPS),
        "SGD+HAM": ham(ALPHA, BETA, SGD_LR, nan_policy=policy),
        "Adam+HAM": ham(
            ALPHA,
            BETA,
            ADAM_LR,
            base=optax.adam(ADAM_LR, b1=B1, b2=B2, eps=EPS),
            nan_policy=policy,
        ),
        "m*w+SGD": hadamard_reparam(optax.sgd(SGD_LR), beta=MW_BETA),
        "m*w+Adam": hadamard_reparam(
            optax.adam(ADAM_LR, b1=B1, b2=B2, eps=EPS), beta=MW_BETA
        ),
    }


def _make_step(opt):
    """The timed step: params and state donated (updated in place)."""

    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(_loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    return jax.jit(step, donate_argnums=(0, 1))


# --------------------------------------------------------------- numpy transcription


def _np_base(g: np.ndarray, base: str) -> np.ndarray:
    """The base optimizer's first update from a fresh state, in float64."""
    if base == "SGD":
        return -SGD_LR * g
    mu = (1 - B1) * g
    nu = (1 - B2) * g * g
    mu_hat, nu_hat = mu / (1 - B1), nu / (1 - B2)
    return -ADAM_LR * mu_hat / (np.sqrt(nu_hat) + EPS)


def reference_step(label: str, params, grads, state) -> list[np.ndarray]:
    """The new parameters of one step of `label` from a fresh state, numpy float64."""
    ps = [np.asarray(p, np.float64) for p in jax.tree.leaves(params)]
    gs = [np.asarray(g, np.float64) for g in jax.tree.leaves(grads)]
    base = "Adam" if "Adam" in label else "SGD"
    lr = ADAM_LR if base == "Adam" else SGD_LR
    if label.startswith("m*w"):
        out = []
        for f, g in zip(state.factors, gs, strict=True):
            m, w = np.asarray(f.m, np.float64), np.asarray(f.w, np.float64)
            m_new = m + _np_base(g * w, base)
            w_new = w + _np_base(g * m, base)
            out.append(m_new * w_new)
        return out
    out = []
    for p, g in zip(ps, gs, strict=True):
        half = p + _np_base(g, base)
        if "HAM" in label:
            half = half * np.exp(-lr * (ALPHA * np.sign(half) * g + BETA))
        out.append(half)
    return out


def step_error(label, opt, step, grad_fn, params, x, y) -> tuple[float, float]:
    """max |one step of the timed executable - numpy transcription| / max |ref|.

    The step runs from a fresh state at the benchmark's own parameters; the
    gradient it used comes from `grad_fn` (the same forward/backward, jitted once).
    Also returns the wall time of this first call (compile + one step).
    """
    state = opt.init(params)
    args = (_copy(params), opt.init(params), x, y)
    start = time.perf_counter()
    new, _, _ = jax.block_until_ready(step(*args))
    first = time.perf_counter() - start
    grads = grad_fn(params, x, y)
    ref = reference_step(label, params, grads, state)
    ours = [np.asarray(v, np.float64) for v in jax.tree.leaves(new)]
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, ref, strict=True))
    scale = max(float(np.max(np.abs(b))) for b in ref)
    return err / scale, first


# -------------------------------------------------------------------------- timing


def _interleaved(fns: dict, rounds: int) -> dict[str, Timing]:
    """Time each fn: one first (compile) call each, then `rounds` rotating rounds."""
    first, reps = {}, {k: [] for k in fns}
    for k, fn in fns.items():
        start = time.perf_counter()
        jax.block_until_ready(fn())
        first[k] = time.perf_counter() - start
    keys = list(fns)
    for r in range(rounds):
        for k in keys[r % len(keys) :] + keys[: r % len(keys)]:
            start = time.perf_counter()
            jax.block_until_ready(fns[k]())
            reps[k].append(time.perf_counter() - start)
    return {k: Timing(first[k], tuple(reps[k])) for k in fns}


def _trainer(opt, step, params, batches, steps: int):
    """A callable running `steps` donated jitted steps, carrying params and state."""
    box = [_copy(params), opt.init(_copy(params))]
    it = [0]

    def run():
        p, s = box
        loss = None
        for _ in range(steps):
            x, y = batches[it[0] % len(batches)]
            it[0] += 1
            p, s, loss = step(p, s, x, y)
        box[0], box[1] = p, s
        return p, s, loss

    run.box = box
    return run


def _timing_rows(model: str, params, batches, *, steps: int, rounds: int, desc: str):
    backend, kind = _device()
    tag = f"{model} [{backend}]"
    opts = optimizers(guard=True)
    noguard = optimizers(guard=False)
    variants = dict(opts)
    variants["SGD+HAM noguard"] = noguard["SGD+HAM"]
    variants["Adam+HAM noguard"] = noguard["Adam+HAM"]
    x0, y0 = batches[0]
    steps_fns = {k: _make_step(opt) for k, opt in variants.items()}
    grad_fn = jax.jit(jax.grad(_loss))
    checked = {
        k: step_error(k, opt, steps_fns[k], grad_fn, params, x0, y0)
        for k, opt in variants.items()
    }
    errors = {k: v[0] for k, v in checked.items()}
    fns = {
        k: _trainer(opt, steps_fns[k], params, batches, steps)
        for k, opt in variants.items()
    }
    timings = _interleaved(fns, rounds)
    # Best of the rounds: on a shared machine the minimum is the uncontended cost
    # (the median is kept in `extra`).
    per_step = {k: min(t.repeats) / steps for k, t in timings.items()}
    median = {k: t.median / steps for k, t in timings.items()}
    # Keep the last params finite: a diverging run would time garbage.
    finite = all(
        bool(jnp.all(jnp.isfinite(v)))
        for f in fns.values()
        for v in jax.tree.leaves(f.box)
    )
    p_bytes = tree_bytes(params)
    state_bytes = {k: tree_bytes(opt.init(params)) for k, opt in variants.items()}
    rows = []
    for label, base in [
        ("SGD+HAM", "SGD"),
        ("SGD+HAM noguard", "SGD"),
        ("Adam+HAM", "Adam"),
        ("Adam+HAM noguard", "Adam"),
        ("m*w+SGD", "SGD"),
        ("m*w+Adam", "Adam"),
    ]:
        slow = per_step[label] / per_step[base]
        is_ham = "HAM" in label
        notes = (
            f"{per_step[label] * 1e3:.3g} ms/step vs {per_step[base] * 1e3:.3g} ms "
            f"= {slow:.3f}x; {desc}; {kind}"
        )
        extra = {
            "backend": backend,
            "device": kind,
            "slowdown": slow,
            "ms_per_step": per_step[label] * 1e3,
            "base_ms_per_step": per_step[base] * 1e3,
            "slowdown_median": median[label] / median[base],
            "n_params": _n_params(params),
            "steps_per_sample": steps,
            "samples": len(timings[label].repeats),
        }
        if not is_ham:
            total = (p_bytes + state_bytes[label]) / (p_bytes + state_bytes[base])
            ham_label = base + "+HAM"
            vs_ham = per_step[label] / per_step[ham_label]
            notes += (
                f"; params+state bytes {total:.2f}x {base}'s; "
                f"{vs_ham:.2f}x the {ham_label} step"
            )
            extra.update(bytes_ratio=total, slowdown_vs_ham=vs_ham)
        rows.append(
            BenchRow(
                name=f"{label} {tag}",
                target=f"step <= {SLOWDOWN}x {base}" if is_ham else "informational",
                baseline=f"{base} step, same run",
                baseline_time=per_step[base],
                ours_time=per_step[label],
                error=errors[label] if finite else float("nan"),
                tolerance=STEP_TOL,
                target_ratio=1.0 / SLOWDOWN if is_ham else None,
                compile_time=max(checked[label][1] - per_step[label], 0.0),
                notes=notes,
                extra=extra,
            )
        )
    return rows


# ---------------------------------------------------------------------- benchmarks


def _mlp_setup(quick: bool):
    sizes = (128, 256, 256, 10) if quick else (1024, 2048, 2048, 2048, 10)
    batch = 64
    params = _init_mlp(sizes, seed=0)
    rng = np.random.default_rng(1)
    batches = [
        (
            jnp.asarray(rng.standard_normal((batch, sizes[0])), dtype=jnp.float32),
            jnp.asarray(rng.integers(0, sizes[-1], batch), dtype=jnp.int32),
        )
        for _ in range(4)
    ]
    return sizes, batch, params, batches


def _digits_setup(batch: int = 32):
    from sklearn.datasets import load_digits

    X, Y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    n = len(X) // batch
    batches = [
        (
            jnp.asarray(X[idx], dtype=jnp.float32),
            jnp.asarray(Y[idx], dtype=jnp.int32),
        )
        for idx in order[: n * batch].reshape(n, batch)
    ]
    return _init_mlp((64, 256, 10), seed=0), batches


def mlp_case(quick: bool) -> dict:
    """The timed MLP case the HAM, Sign-In and NanoAdam rows share: `model` (its
    short name), `params`, `batches`, `desc` and the sampling (`steps`, `rounds`)."""
    sizes, batch, params, batches = _mlp_setup(quick)
    n = _n_params(params)
    steps, rounds = (2, 3) if quick else (1, 21)
    return {
        "model": f"mlp{n / 1e6:.2g}M",
        "params": params,
        "batches": batches,
        "desc": f"MLP {'-'.join(map(str, sizes))} ({n:,} params), batch {batch}, "
        "float32",
        "steps": steps,
        "rounds": rounds,
    }


def bench_step_mlp(quick: bool) -> list[BenchRow]:
    """Per-step time on a ~1e7-parameter MLP (quick: ~4e5), batch 64, float32."""
    c = mlp_case(quick)
    return _timing_rows(
        c["model"],
        c["params"],
        c["batches"],
        steps=c["steps"],
        rounds=c["rounds"],
        desc=c["desc"],
    )


def bench_step_digits(quick: bool) -> list[BenchRow]:
    """Per-step time on the digits MLP 64-256-10, minibatch 32, float32."""
    params, batches = _digits_setup(32)
    desc = f"digits MLP 64-256-10 ({_n_params(params):,} params), minibatch 32, float32"
    steps, rounds = (20, 3) if quick else (100, 21)
    return _timing_rows(
        "digits", params, batches, steps=steps, rounds=rounds, desc=desc
    )


def state_bytes_rows(model: str, params) -> list[BenchRow]:
    """Extra optimizer-state bytes of HAM (must be 0) and of m*w + Adam (hand count)."""
    backend, _ = _device()
    opts = optimizers()
    size = {k: tree_bytes(opt.init(params)) for k, opt in opts.items()}
    p_bytes = tree_bytes(params)
    itemsize = 4  # float32 parameters
    n = _n_params(params)
    # m*w + Adam, by hand: factors m, w (2 n), Adam's mu and nu of each (4 n), all
    # float32, plus Adam's int32 step count.
    mw_adam = 6 * n * itemsize + 4
    rows = []
    for label, base in [("SGD+HAM", "SGD"), ("Adam+HAM", "Adam")]:
        extra_bytes = size[label] - size[base]
        rows.append(
            BenchRow(
                name=f"state {label} {model} [{backend}]",
                target="0 extra state bytes",
                baseline=f"{base} state",
                baseline_time=None,
                ours_time=float("nan"),
                error=float(abs(extra_bytes)),
                tolerance=0.0,
                notes=f"state bytes: {base} {size[base]:,}, {label} {size[label]:,} "
                f"(error = extra bytes)",
                extra={"base_bytes": size[base], "ours_bytes": size[label]},
            )
        )
    total = (p_bytes + size["m*w+Adam"]) / (p_bytes + size["Adam"])
    rows.append(
        BenchRow(
            name=f"state m*w+Adam {model} [{backend}]",
            target="= hand count (6n floats + count)",
            baseline="Adam state",
            baseline_time=None,
            ours_time=float("nan"),
            error=float(abs(size["m*w+Adam"] - mw_adam)),
            tolerance=0.0,
            notes=f"state bytes: Adam {size['Adam']:,}, m*w+Adam {size['m*w+Adam']:,} "
            f"(hand count {mw_adam:,}); params+state {total:.2f}x Adam's",
            extra={
                "base_bytes": size["Adam"],
                "ours_bytes": size["m*w+Adam"],
                "hand_count": mw_adam,
                "bytes_ratio": total,
            },
        )
    )
    return rows


def bench_state_bytes(quick: bool) -> list[BenchRow]:
    """Optimizer-state bytes of every variant, on both models (no timing)."""
    _, _, params, _ = _mlp_setup(quick)
    digits, _ = _digits_setup(32)
    model = f"mlp{_n_params(params) / 1e6:.2g}M"
    return state_bytes_rows(model, params) + state_bytes_rows("digits", digits)


BENCHMARKS = [bench_step_mlp, bench_step_digits, bench_state_bytes]
