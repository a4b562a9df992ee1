r"""LoRA on a digits MLP with constant and switched-off decay: a stand-in for Fig. 4.

A real-data, laptop-scale stand-in for the GPT-2 LoRA run of Mirror, Mirror of the
Flow (Jacobs, Zhou & Burkholz, ICML 2025, Fig. 4: tiny-shakespeare, 500 iterations,
decay switched off at iteration 200). There the ratio $\|BA\|_*/\|BA\|_F$ keeps
decreasing after the switch-off (the dose $\int\lambda$ stays in the potential) and
the switched-off run crosses the run with half the decay near iteration 400, where
the cumulative doses match ($\lambda\cdot 200 = \tfrac{\lambda}{2}\cdot 400$). No
number of the paper is claimed or reproduced here (docs/theory/mirror_mirror.md,
section 5: Fig. 4 is not a registered claim).

Recipe (seed $s$ sets the split, the pretraining initialization and the adapters):

* data: `sklearn.datasets.load_digits` (pixels / 16, float32); digits 0-4 and
  digits 5-9 are each split at random into 80 % train and 20 % held out;
* base model: a 64-256-10 ReLU MLP (`papers.digits.mlp_init`, He initialization)
  pretrained on the 0-4 training digits, full-batch Adam (lr 1e-2, 300 steps), then
  frozen;
* LoRA: $\Delta_\ell = B_\ell A_\ell$ of rank 4 on both layers
  (`problems.LoRAMLP`, `problems.lora_init`: $B_0 = 0$, $A_0\sim N(0, 1/\text{in})$),
  fine-tuned on the 5-9 training digits (10-way softmax cross-entropy, true labels)
  with full-batch AdamW (`optax.adamw`, lr 1e-2, 500 steps). The decoupled decay
  acts on the adapters $A_\ell, B_\ell$ only: $p \leftarrow p - \eta(u_{\rm Adam} +
  \lambda_k p)$; the base weights are not parameters of the optimizer;
* schedules $\lambda_k$ (`regularization.ConstantDecay` / `SwitchOff` evaluated at
  the step count $k$): S0 no decay; S1 $\lambda = 0.1$; S2 $\lambda$ for
  $k < T_{\rm off} = 200$, then 0; S3 $\lambda/2$. The dose
  $D_t = \sum_{k<t}\lambda_k$ of S2 and S3 match at $t = 2T_{\rm off}$ (400).
  $\lambda = 0.1$, $\eta = 10^{-2}$ and the sizes were fixed before any run, not
  tuned on the outcome.

Recorded per run and seed, every `record_every` steps from step 0:
$\|B_\ell A_\ell\|_*/\|B_\ell A_\ell\|_F$ per layer (`spectral.nuclear_to_frobenius`
of the $r\times r$ core of $BA$, `adapter_ratio`) and their mean,
$\|B_\ell A_\ell\|_F$, the training loss and accuracy, the accuracy on the
held-out 5-9 digits and the retained accuracy on the held-out 0-4 digits.
At step 0, $B = 0$ so $BA = 0$ and the ratio is undefined: it is stored as NaN.
The sidecar also holds the verdicts the figure is about (computed on the mean over
seeds of the layer-mean ratio): whether S2's ratio keeps decreasing after
$T_{\rm off}$ (its change over $[T_{\rm off}, \text{end}]$, beside S0's, S1's and
S3's, so a decrease that every run shows is visible as such), and every step where
the S2 and S3 curves cross (linear interpolation between recorded steps) against
the dose prediction $2T_{\rm off}$; per-seed crossings, and the paired difference
S2 - S3 (same seed) with its standard error at $T_{\rm off}$, $2T_{\rm off}$ and
the end. The JAX device, the compile time and the wall time of every run (one
schedule, one seed) are recorded. Training is float32 under `jax.jit` (Adam's
$\beta_1, \beta_2$ passed as float32, see `B1, B2`): the numbers are the same with
and without `jax_enable_x64`.
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import mlp_accuracy, mlp_init, mlp_loss
from mirrorflow.papers.mirror2 import crossings
from mirrorflow.problems import LoRAMLP, lora_init
from mirrorflow.regularization import ConstantDecay, SwitchOff
from mirrorflow.spectral import nuclear_to_frobenius


F32 = jnp.float32
RUNS = ("S0", "S1", "S2", "S3")
METRICS = (
    "ratio_l1",
    "ratio_l2",
    "fro_l1",
    "fro_l2",
    "train_loss",
    "train_acc",
    "val_acc",
    "retain_acc",
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the stand-in (full run; `--quick` uses the `*_quick` fields).

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ... (split, pretraining
            initialization, adapter initialization).
        num_seeds, num_seeds_quick: seeds of the full run (5) and of `--quick` (2).
        hidden, hidden_quick: width of the hidden layer (256; quick 32).
        val_fraction: fraction of each digit group (0-4, 5-9) held out.
        pretrain_steps, pretrain_steps_quick: full-batch Adam steps on digits 0-4.
        pretrain_lr: Adam learning rate of the pretraining.
        rank: LoRA rank r of both adapters.
        steps, steps_quick: full-batch AdamW fine-tuning steps on digits 5-9.
        switch_off, switch_off_quick: T_off, the step from which S2 has no decay.
        learning_rate: AdamW learning rate of the fine-tuning.
        weight_decay: lambda of S1 and S2 (S3 uses lambda / 2), decoupled AdamW
            decay on the adapters only.
        record_every, record_every_quick: the metrics are kept every this many
            steps (and at step 0).
    """

    seed: int = 0
    num_seeds: int = 5
    num_seeds_quick: int = 2
    hidden: int = 256
    hidden_quick: int = 32
    val_fraction: float = 0.2
    pretrain_steps: int = 300
    pretrain_steps_quick: int = 100
    pretrain_lr: float = 1e-2
    rank: int = 4
    steps: int = 500
    steps_quick: int = 40
    switch_off: int = 200
    switch_off_quick: int = 16
    learning_rate: float = 1e-2
    weight_decay: float = 0.1
    record_every: int = 5
    record_every_quick: int = 1


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (full or quick)."""

    num_seeds: int
    hidden: int
    pretrain_steps: int
    steps: int
    switch_off: int
    record_every: int


def sizes(config: Config, quick: bool) -> Sizes:
    if quick:
        return Sizes(
            config.num_seeds_quick,
            config.hidden_quick,
            config.pretrain_steps_quick,
            config.steps_quick,
            config.switch_off_quick,
            config.record_every_quick,
        )
    return Sizes(
        config.num_seeds,
        config.hidden,
        config.pretrain_steps,
        config.steps,
        config.switch_off,
        config.record_every,
    )


# --- data and the frozen base -------------------------------------------------------


def load_split(seed: int, val_fraction: float) -> dict:
    """Digits / 16 (float32) split by group: `{"old": ..., "new": ...}`.

    "old" holds digits 0-4, "new" digits 5-9; each is `((X_train, y_train),
    (X_val, y_val))` with integer labels 0-9, a seeded permutation per group
    (`numpy.random.default_rng(seed)`, old first) and `round(val_fraction * n)`
    held out. The sizes do not depend on the seed.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = {}
    for name, classes in (("old", range(5)), ("new", range(5, 10))):
        idx = rng.permutation(np.flatnonzero(np.isin(y, list(classes))))
        n_val = int(round(val_fraction * len(idx)))
        tr, va = idx[n_val:], idx[:n_val]
        out[name] = ((X[tr], y[tr].astype(np.int32)), (X[va], y[va].astype(np.int32)))
    return out


# Adam's moment decays as float32 scalars: optax computes the bias correction
# 1 - b**count in the dtype of b, so Python floats would make it float64 under
# jax_enable_x64 (the app's setting) and float32 otherwise, and the float32
# training would depend on that flag at the rounding level (amplified by the
# dynamics). With float32 b1, b2 the runs are the same in both modes.
B1, B2 = np.float32(0.9), np.float32(0.999)


def _pretrain(params, X, Y, *, steps: int, lr: float):
    tx = optax.adam(lr, b1=B1, b2=B2)

    def step(carry, _):
        p, s = carry
        g = jax.grad(mlp_loss)(p, X, Y)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params


_pretrain_jit = jax.jit(_pretrain, static_argnames=("steps", "lr"))


def pretrain(key, X, y, hidden: int, steps: int, lr: float) -> dict:
    """The base MLP (`papers.digits` convention, `x @ W1`), full-batch Adam, float32."""
    params = mlp_init(key, hidden, F32)  # float32 draws, whatever jax_enable_x64
    Y = jax.nn.one_hot(jnp.asarray(y), 10, dtype=F32)
    return _pretrain_jit(params, jnp.asarray(X, F32), Y, steps=steps, lr=lr)


def lora_problem(base: dict, X, y) -> LoRAMLP:
    """The frozen `base` with data `(X, y)` as a `LoRAMLP` (weights transposed:
    `LoRAMLP` computes `W1 @ u`)."""
    return LoRAMLP(base["W1"].T, base["b1"], base["W2"].T, base["b2"], X, y)


def init_adapters(key, hidden: int, rank: int):
    """`((B1, A1), (B2, A2))`, float32, from `lora_init` (B = 0)."""
    k1, k2 = jax.random.split(key)
    return (
        lora_init(k1, hidden, 64, rank, dtype=F32),
        lora_init(k2, 10, hidden, rank, dtype=F32),
    )


def deltas(adapters):
    """The updates `(B1 A1, B2 A2)`."""
    return tuple(B @ A for B, A in adapters)


# --- schedules and fine-tuning -------------------------------------------------------


def schedules(config: Config, steps: int, switch_off: int) -> np.ndarray:
    """lambda_k of S0-S3 at the step counts k = 0, ..., steps - 1, shape (4, steps)."""
    lam = config.weight_decay
    k = jnp.arange(steps).astype(jnp.result_type(float))  # the step counts
    sched = (
        ConstantDecay(0.0),
        ConstantDecay(lam),
        SwitchOff(lam, float(switch_off)),
        ConstantDecay(lam / 2),
    )
    return np.stack([np.asarray(jax.vmap(s.strength)(k)) for s in sched]).astype(
        np.float32
    )


def adapter_ratio(B, A):
    r"""$\|BA\|_*/\|BA\|_F$ from the $r\times r$ core $R_BR_A^\top$.

    With $B = Q_BR_B$ and $A^\top = Q_AR_A$ (thin QR, orthonormal columns),
    $BA = Q_B(R_BR_A^\top)Q_A^\top$ has the singular values of the core: an
    exact identity that replaces an SVD of the full update (a 256 x 64 SVD costs
    ~10x a training step on CPU) by one of r x r. 0 when $BA = 0$.
    """
    _, rb = jnp.linalg.qr(B)
    _, ra = jnp.linalg.qr(A.T)
    return nuclear_to_frobenius(rb @ ra.T)


def _metrics(train: LoRAMLP, val: LoRAMLP, retain: LoRAMLP, adapters) -> dict:
    d = deltas(adapters)
    (B1, A1), (B2, A2) = adapters
    return {
        "ratio_l1": adapter_ratio(B1, A1),
        "ratio_l2": adapter_ratio(B2, A2),
        "fro_l1": jnp.linalg.norm(d[0]),
        "fro_l2": jnp.linalg.norm(d[1]),
        "train_loss": train.loss(d),
        "train_acc": train.accuracy(d),
        "val_acc": val.accuracy(d),
        "retain_acc": retain.accuracy(d),
    }


def finetune(train, val, retain, adapters, wd, *, lr: float):
    """Full-batch AdamW on the adapters, decay `wd[k]` at step k.

    Returns:
        `(final adapters, metrics)`: each metric an array of length
        `len(wd) + 1`, entry t after t steps (t = 0 before training).
    """
    tx = optax.adamw(lr, b1=B1, b2=B2, weight_decay=lambda count: wd[count])

    def objective(p):
        return train.loss(deltas(p))

    def step(carry, _):
        p, s = carry
        g = jax.grad(objective)(p)
        u, s = tx.update(g, s, p)
        p = optax.apply_updates(p, u)
        return (p, s), _metrics(train, val, retain, p)

    (p, _), hist = jax.lax.scan(
        step, (adapters, tx.init(adapters)), None, length=wd.shape[0]
    )
    first = _metrics(train, val, retain, adapters)
    hist = {k: jnp.concatenate([first[k][None], hist[k]]) for k in hist}
    return p, hist


finetune_jit = jax.jit(finetune, static_argnames=("lr",))


# --- analysis ------------------------------------------------------------------------


def _analysis(rec_steps, ratio, t_off: int, t_pred: int) -> dict:
    """Verdicts on the layer-mean ratio `ratio` of shape (runs, seeds, points)."""
    mean = ratio.mean(axis=1)
    i_off = int(np.flatnonzero(rec_steps == t_off)[0])
    after = mean[:, i_off:]
    out: dict = {
        "ratio_at_switch_off": after[:, 0],
        "ratio_final": after[:, -1],
        "ratio_change_after_switch_off": after[:, -1] - after[:, 0],
    }
    s2 = mean[2, i_off:]
    steps_after = np.diff(s2)
    out["s2_fraction_decreasing_after_switch_off"] = float(np.mean(steps_after < 0))
    out["s2_min_step_after_switch_off"] = float(rec_steps[i_off + int(np.argmin(s2))])
    out["s2_keeps_decreasing"] = bool(s2[-1] < s2[0])
    cross = crossings(rec_steps, mean[2], mean[3])
    late = cross[cross > t_off]
    out["s2_s3_crossings"] = cross
    out["s2_s3_first_crossing_after_switch_off"] = (
        float(late[0]) if late.size else float("nan")
    )
    out["s2_minus_s3_at_switch_off"] = float(mean[2, i_off] - mean[3, i_off])
    out["s2_minus_s3_final"] = float(mean[2, -1] - mean[3, -1])
    out["s2_s3_predicted_crossing"] = float(t_pred)
    per_seed = []
    for j in range(ratio.shape[1]):
        c = crossings(rec_steps, ratio[2, j], ratio[3, j])
        c = c[c > t_off]
        per_seed.append(float(c[0]) if c.size else float("nan"))
    out["s2_s3_first_crossing_after_switch_off_per_seed"] = np.asarray(per_seed)
    # The paired difference S2 - S3 (same seed: same split, base and adapters) at
    # T_off, 2 T_off and the end: mean and standard error over seeds (ddof = 1).
    at = [t for t in (t_off, t_pred, int(rec_steps[-1])) if t in rec_steps]
    idx = [int(np.flatnonzero(rec_steps == t)[0]) for t in at]
    diff = ratio[2][:, idx] - ratio[3][:, idx]
    n = ratio.shape[1]
    out["s2_minus_s3_paired_steps"] = np.asarray(at)
    out["s2_minus_s3_paired_mean"] = diff.mean(axis=0)
    out["s2_minus_s3_paired_sem"] = (
        diff.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(at), np.nan)
    )
    return out


def _summary(out: dict, t_off: int, t_pred: int) -> str:
    ch = out["ratio_change_after_switch_off"]
    first = out["s2_s3_first_crossing_after_switch_off"]
    cross = out["s2_s3_crossings"]
    cross_txt = ", ".join(f"{c:.0f}" for c in cross) or "none"
    return (
        f"Mean over seeds of the layer-mean ratio ||BA||_*/||BA||_F: S2 changes by "
        f"{ch[2]:+.4f} from T_off = {t_off} to the end "
        f"({100 * out['s2_fraction_decreasing_after_switch_off']:.0f} % of recorded "
        f"intervals decrease; S0 {ch[0]:+.4f}, S1 {ch[1]:+.4f}, S3 {ch[3]:+.4f}). "
        f"S2 - S3 is {out['s2_minus_s3_at_switch_off']:+.4f} at T_off and "
        f"{out['s2_minus_s3_final']:+.4f} at the end; the curves cross at steps "
        f"[{cross_txt}]; first crossing after T_off: "
        + (f"{first:.0f}" if np.isfinite(first) else "none")
        + f" (dose prediction 2 T_off = {t_pred}); per seed: "
        + ", ".join(
            f"{c:.0f}" if np.isfinite(c) else "none"
            for c in out["s2_s3_first_crossing_after_switch_off_per_seed"]
        )
        + ". Paired S2 - S3 (mean +- sem over seeds) at steps "
        + ", ".join(
            f"{t}: {m:+.4f} +- {e:.4f}"
            for t, m, e in zip(
                out["s2_minus_s3_paired_steps"],
                out["s2_minus_s3_paired_mean"],
                out["s2_minus_s3_paired_sem"],
                strict=True,
            )
        )
        + "."
    )


# --- run -----------------------------------------------------------------------------


def run(config: Config, quick: bool) -> dict:
    """Pretrain, fine-tune S0-S3 per seed, record the curves and the verdicts."""
    sz = sizes(config, quick)
    if not 0 < sz.switch_off < sz.steps or sz.switch_off % sz.record_every:
        raise ValueError(
            "lora_digits: need 0 < switch_off < steps with switch_off a multiple of "
            f"record_every, got {sz}."
        )
    seeds = [config.seed + i for i in range(sz.num_seeds)]
    wd = schedules(config, sz.steps, sz.switch_off)
    dose = np.concatenate([np.zeros((4, 1)), np.cumsum(wd, axis=1)], axis=1)
    rec = np.arange(0, sz.steps + 1, sz.record_every)
    t_pred = 2 * sz.switch_off
    fn = finetune_jit
    hist = {m: np.zeros((4, len(seeds), len(rec))) for m in METRICS}
    wall = np.zeros((4, len(seeds)))
    pre = {"pretrain_train_acc": [], "pretrain_retain_acc": [], "pretrain_new_acc": []}
    compile_s = 0.0
    for j, seed in enumerate(seeds):
        data = load_split(seed, config.val_fraction)
        (Xo, yo), (Xov, yov) = data["old"]
        (Xn, yn), (Xnv, ynv) = data["new"]
        key = jax.random.key(seed)
        base = pretrain(
            jax.random.fold_in(key, 0),
            Xo,
            yo,
            sz.hidden,
            sz.pretrain_steps,
            config.pretrain_lr,
        )
        for name, (X, y) in (
            ("pretrain_train_acc", (Xo, yo)),
            ("pretrain_retain_acc", (Xov, yov)),
            ("pretrain_new_acc", (Xnv, ynv)),
        ):
            Y = jax.nn.one_hot(jnp.asarray(y), 10, dtype=F32)
            pre[name].append(float(mlp_accuracy(base, jnp.asarray(X), Y)))
        probs = (
            lora_problem(base, Xn, yn),
            lora_problem(base, Xnv, ynv),
            lora_problem(base, Xov, yov),
        )
        adapters = init_adapters(jax.random.fold_in(key, 1), sz.hidden, config.rank)
        if j == 0:
            t0 = time.perf_counter()
            fn = fn.lower(
                *probs, adapters, jnp.asarray(wd[0]), lr=config.learning_rate
            ).compile()
            compile_s = time.perf_counter() - t0
        for i in range(4):
            t0 = time.perf_counter()
            _, h = fn(*probs, adapters, jnp.asarray(wd[i]))
            h = jax.block_until_ready(h)
            wall[i, j] = time.perf_counter() - t0
            for m in METRICS:
                hist[m][i, j] = np.asarray(h[m], float)[rec]
    # B0 = 0: BA = 0 and the ratio is undefined (nuclear_to_frobenius returns 0).
    for layer in ("l1", "l2"):
        zero = hist[f"fro_{layer}"] == 0.0
        hist[f"ratio_{layer}"] = np.where(zero, np.nan, hist[f"ratio_{layer}"])
    ratio = 0.5 * (hist["ratio_l1"] + hist["ratio_l2"])
    out: dict = {
        "runs": np.asarray(RUNS),
        "seeds": np.asarray(seeds),
        "steps": rec,
        "weight_decay_schedules": wd,
        "dose": dose[:, rec],
        "switch_off": sz.switch_off,
        "predicted_crossing": t_pred,
        "hidden": sz.hidden,
        "num_steps": sz.steps,
        "ratio_mean": ratio,
    }
    for m in METRICS:
        out[m] = hist[m]
    for m in ("ratio_mean", "ratio_l1", "ratio_l2", "val_acc", "retain_acc"):
        v = out[m]
        # Plain mean/std (ddof = 0): the undefined step-0 ratio stays NaN.
        out[f"{m}_seed_mean"], out[f"{m}_seed_std"] = v.mean(axis=1), v.std(axis=1)
    for m in ("train_loss", "fro_l1", "fro_l2", "train_acc"):
        out[f"{m}_seed_mean"] = out[m].mean(axis=1)
    for name, vals in pre.items():
        out[name] = np.asarray(vals)
    for m in ("val_acc", "retain_acc", "train_acc", "train_loss"):
        out[f"final_{m}"] = out[m][:, :, -1]
    out |= _analysis(rec, ratio, sz.switch_off, t_pred)
    # The paired difference S2 - S3 per recorded step: mean and sem over seeds.
    diff = ratio[2] - ratio[3]
    out["s2_minus_s3_curve_mean"] = diff.mean(axis=0)
    out["s2_minus_s3_curve_sem"] = (
        diff.std(axis=0, ddof=1) / np.sqrt(len(seeds))
        if len(seeds) > 1
        else np.full(len(rec), np.nan)
    )
    for layer in ("l1", "l2"):
        m = out[f"ratio_{layer}_seed_mean"]
        out[f"s2_s3_crossings_{layer}"] = crossings(rec, m[2], m[3])
    out["summary"] = _summary(out, sz.switch_off, t_pred)
    out["device"] = str(jax.devices()[0])
    out["platform"] = jax.devices()[0].platform
    out["compile_time"] = compile_s
    out["wall_time_per_run"] = wall
    out["quick"] = bool(quick)
    return out


# --- figure --------------------------------------------------------------------------


def _band(ax, x, m, s, color, label, ls="-"):
    ax.plot(x, m, ls, color=color, label=label, lw=1.1)
    ax.fill_between(x, m - s, m + s, color=color, alpha=0.18, lw=0)


def plot(result: dict, path) -> None:
    """2 x 3: (a) layer-mean ratio, (b) accuracies, (c) per-layer ratios, (d) the
    paired S2 - S3 difference, (e) ||BA||_F per layer, (f) training loss; S0-S3,
    mean (+- std) over seeds."""
    x = np.asarray(result["steps"])
    t_off, t_pred = int(result["switch_off"]), int(result["predicted_crossing"])
    lam = np.asarray(result["weight_decay_schedules"])
    labels = [
        "S0: no decay",
        f"S1: $\\lambda = {lam[1, 0]:g}$",
        f"S2: $\\lambda = {lam[2, 0]:g}$, off at {t_off}",
        f"S3: $\\lambda/2 = {lam[3, 0]:g}$",
    ]
    n = len(result["seeds"])

    def vlines(ax, text=False):
        ax.axvline(t_off, color="0.35", ls="--", lw=0.8)
        ax.axvline(t_pred, color="0.35", ls=":", lw=0.8)
        if text:
            low = ax.get_ylim()[0]
            ax.text(t_off, low, r" $T_{\rm off}$", va="bottom", fontsize=6)
            ax.text(
                t_pred, low, r" $2T_{\rm off}$ (dose match)", va="bottom", fontsize=6
            )

    with paper_style():
        fig, axes = new_figure(2, 3, width=7.2, height=5.0)
        ax = axes[0, 0]
        for i in range(4):
            _band(
                ax,
                x,
                result["ratio_mean_seed_mean"][i],
                result["ratio_mean_seed_std"][i],
                COLORS[i],
                labels[i],
            )
        m2 = np.asarray(result["ratio_mean_seed_mean"][2], float)
        for c in np.atleast_1d(result["s2_s3_crossings"]):
            if c > t_off:
                ax.plot(c, np.interp(c, x[1:], m2[1:]), "kx", ms=5, mew=1.2)
        ax.plot([], [], "kx", ms=5, label="S2 = S3 (measured)")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel(r"$\|BA\|_*/\|BA\|_F$ (mean of 2 layers)")
        ax.set_title("(a) nuclear / Frobenius ratio")
        vlines(ax, text=True)
        ax.legend(fontsize=5.5, loc="upper left")
        ax = axes[0, 1]
        for i in range(4):
            _band(
                ax,
                x,
                result["val_acc_seed_mean"][i],
                result["val_acc_seed_std"][i],
                COLORS[i],
                None,
            )
            _band(
                ax,
                x,
                result["retain_acc_seed_mean"][i],
                result["retain_acc_seed_std"][i],
                COLORS[i],
                None,
                ls="--",
            )
        ax.plot([], [], "k-", label="held-out 5-9 (new task)")
        ax.plot([], [], "k--", label="held-out 0-4 (retained)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("accuracy")
        ax.set_title("(b) validation accuracy")
        vlines(ax)
        ax.legend(fontsize=5.5, loc="center right")
        ax = axes[0, 2]
        for i in range(4):
            for layer, ls in (("l1", "-"), ("l2", "--")):
                ax.plot(
                    x,
                    result[f"ratio_{layer}_seed_mean"][i],
                    ls,
                    color=COLORS[i],
                    lw=1.1,
                )
        ax.plot([], [], "k-", label="layer 1 (hidden x 64)")
        ax.plot([], [], "k--", label="layer 2 (10 x hidden)")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel(r"$\|B_\ell A_\ell\|_*/\|B_\ell A_\ell\|_F$ (seed mean)")
        ax.set_title("(c) ratio per adapted layer")
        ax.legend(fontsize=5.5, loc="lower right")
        vlines(ax)
        ax = axes[1, 0]
        dm = np.asarray(result["s2_minus_s3_curve_mean"], float)
        de = np.asarray(result["s2_minus_s3_curve_sem"], float)
        ax.plot(x, dm, color=COLORS[2], lw=1.1, label="mean over seeds")
        ax.fill_between(
            x, dm - de, dm + de, color=COLORS[2], alpha=0.25, lw=0, label="$\\pm$ sem"
        )
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("ratio of S2 $-$ ratio of S3 (same seed)")
        ax.set_title("(d) paired difference S2 $-$ S3")
        ax.legend(fontsize=5.5, loc="lower left")
        vlines(ax)
        ax = axes[1, 1]
        for i in range(4):
            ax.plot(x, result["fro_l1_seed_mean"][i], "-", color=COLORS[i], lw=1.1)
            ax.plot(x, result["fro_l2_seed_mean"][i], "--", color=COLORS[i], lw=1.1)
        ax.plot([], [], "k-", label="layer 1")
        ax.plot([], [], "k--", label="layer 2")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel(r"$\|B_\ell A_\ell\|_F$")
        ax.set_title("(e) adapter size")
        ax.legend(fontsize=5.5)
        vlines(ax)
        ax = axes[1, 2]
        for i in range(4):
            ax.semilogy(x, result["train_loss_seed_mean"][i], color=COLORS[i], lw=1.1)
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("training loss (5-9)")
        ax.set_title("(f) training cross-entropy")
        vlines(ax)
        first = result["s2_s3_first_crossing_after_switch_off"]
        cross = f"{first:.0f}" if np.isfinite(first) else "none"
        fig.suptitle(
            "Real-data stand-in (digits MLP 64-"
            f"{result['hidden']}-10, LoRA r = 4, AdamW) for the GPT-2 LoRA run of "
            "Mirror, Mirror (Fig. 4)\n"
            f"mean $\\pm$ std over {n} seed(s); S2 vs S3 first cross after "
            f"$T_{{\\rm off}}$ at step {cross} (dose prediction {t_pred})",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mirror2.lora_digits",
    paper="mirror2",
    figure="Mirror, Mirror of the Flow (ICML 2025), Fig. 4: LoRA with switched-off "
    "decay (real-data digits stand-in for GPT-2)",
    title="Digits stand-in for the GPT-2 LoRA run: ||BA||_*/||BA||_F under no, "
    "constant, switched-off and half decay",
    description=(
        "Real-data stand-in (no number of the paper claimed) for Mirror, Mirror's "
        "GPT-2 LoRA figure: a 64-256-10 ReLU MLP pretrained on digits 0-4, frozen, "
        "then rank-4 LoRA on both layers fine-tuned on digits 5-9 with full-batch "
        "AdamW (lr 1e-2, 500 steps), decoupled decay on the adapters only: S0 none, "
        "S1 lambda = 0.1, S2 lambda switched off at step 200, S3 lambda / 2. "
        "(a) the layer-mean ratio ||BA||_*/||BA||_F, mean +- std over 5 seeds, with "
        "the switch-off (dashed) and the dose-matching step 2 T_off = 400 (dotted) "
        "where S2 and S3 are predicted to cross; (b) accuracy on held-out 5-9 "
        "(solid) and retained accuracy on held-out 0-4 (dashed); (c) per-layer "
        "ratios; (d) the paired difference S2 - S3 (same seed), mean +- sem; "
        "(e) ||B_l A_l||_F; (f) training loss. The sidecar records whether S2 "
        "keeps decreasing after T_off and where S2 and S3 actually cross (seed "
        "mean and per seed)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mirror2.lora_dose_crossing",),
)
