r"""HAM on a dense and a sparse digits MLP: a laptop-scale stand-in for HAM's tables.

A vision scale-down of HAM's Table 4 and its dense ImageNet table (ResNet-50
numbers from the HAM authors' public README): sklearn's `load_digits` (pixels / 16),
a seeded 60/20/20 train/validation/test split, a 64-256-10 ReLU MLP (He initialization),
minibatch SGD with momentum 0.9, learning rate 0.05, batch 32, 30 epochs, 5 seeds
(seed $i$ sets the split, the initialization, the mask and the batch order).
Every method runs with plain SGD and with SGD+HAM, `ham(alpha, beta, lr,
base=optax.sgd(lr, momentum=0.9), min_ndim=2, exponent_clip=5)` (the authors'
wrapper settings: biases skipped, exponent clamped to $\pm5$):

* dense: no mask;
* random PaI: `masks.random_mask` with a uniform layerwise density $1 - s$, drawn
  at initialization and fixed ($s$ = 0.8, 0.9, 0.95 in each weight matrix; biases
  dense);
* magnitude re-pruning, AC/DC-like: the epochs form phases of `prune_every` (5)
  epochs, dense and sparse alternately, starting dense and always ending sparse
  (30 epochs: D S D S D S). At the start of each sparse phase the weights are
  pruned to the target sparsity by layerwise magnitude (`masks.magnitude_mask`,
  `scope="layerwise"`) and that mask is held for the phase; in dense phases the
  pruned weights may regrow (from exactly zero: the base SGD step moves them, then
  HAM's factor acts). This is simpler than AC/DC (no warm-up/fine-tune phases of
  different lengths).

Keeping masked weights exactly zero. SGD with momentum would move a pruned
weight through its momentum buffer (nonzero after a dense phase), and HAM only
preserves zeros of $\theta_{k+1/2}$, after the base step. So every step masks the
gradient *and* the update: `g <- where(m, g, 0)`, `u, s <- tx.update(g, s, p)`,
`u <- where(m, u, 0)`, `p <- p + u`; pruned entries are exactly zero when a mask is
set (`apply_mask`) and stay so ($0 + 0 = 0$). The momentum of a pruned entry is
left in the optimizer state and resumes when a dense phase unmasks it.

HAM's hyperparameters: one setting, $\alpha = 10$, $\beta = 10^{-3}$, taken from
the grid $\alpha \in \{1, 10, 100\}$, $\beta \in \{0, 10^{-3},
10^{-2}\}$ as the best mean *validation* accuracy of the dense SGD+HAM MLP in the
full run of `ham.alpha_beta_grid` (same splits, seeds 0-4; the test split is never
used to choose): 97.49 ± 0.31 % at (10, 1e-3) against 97.44 (10, 0), 97.33
(10, 1e-2), 97.0-97.2 for $\alpha = 1$ and 97.21 for plain SGD; $\alpha = 100$
is unstable at this learning rate (some seeds collapse to chance, mean 46-64 %).
The row $\alpha = 10$ is ahead of SGD by about one standard deviation only, and
its three $\beta$ are within noise of each other. The same setting is used for
the sparse runs (not tuned on them).

The sidecar holds the per-seed test and validation accuracies, their mean and
standard deviation (numpy, ddof = 0), and the count of exactly-zero entries per
layer and seed at the end of training with the count a mask of that sparsity
removes. `report_tables` (a JSON string) puts our table beside the paper's ImageNet
ResNet-50 numbers in `mirrorflow report`; the scales differ by orders of magnitude
and no accuracy of the paper is claimed or reproduced.
"""

import dataclasses
import json

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax

from mirrorflow import masks
from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    save_figure,
)
from mirrorflow.optimizers import ham
from mirrorflow.papers.digits import mlp_accuracy, mlp_init, mlp_logits, mlp_loss


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the digits stand-in for HAM's tables.

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ... (split, init, mask, batches).
        num_seeds, num_seeds_quick: seeds of the full run (5) and of `--quick` (2).
        hidden, hidden_quick: width of the hidden layer (256; quick 32).
        epochs, epochs_quick: training epochs (30; quick 4).
        prune_every, prune_every_quick: epochs per dense/sparse phase of the
            magnitude re-pruning runs (5; quick 1).
        batch_size: minibatch size.
        learning_rate: SGD (and HAM) learning rate.
        momentum: SGD momentum.
        alpha, beta: HAM's setting (chosen on validation data, module docstring).
        exponent_clip: HAM's exponent clamp (the authors' wrapper: 5).
        sparsities: fractions of each weight matrix set to zero.
    """

    seed: int = 0
    num_seeds: int = 5
    num_seeds_quick: int = 2
    hidden: int = 256
    hidden_quick: int = 32
    epochs: int = 30
    epochs_quick: int = 4
    prune_every: int = 5
    prune_every_quick: int = 1
    batch_size: int = 32
    learning_rate: float = 0.05
    momentum: float = 0.9
    alpha: float = 10.0
    beta: float = 1e-3
    exponent_clip: float = 5.0
    sparsities: tuple[float, ...] = (0.8, 0.9, 0.95)


WEIGHTS = ("W1", "W2")
KINDS = ("pai", "magnitude")
OPTS = ("sgd", "ham")
_KIND_LABEL = {
    "dense": "dense",
    "pai": "random PaI (layerwise, fixed)",
    "magnitude": "magnitude re-pruning (AC/DC-like)",
}
# HAM paper, ImageNet ResNet-50 top-1 (%), as reported in the README of the HAM
# authors' public code: sparsities 0.8 / 0.9 / 0.95; dense 100 epochs.
PAPER_IMAGENET = {
    "Dense (100 epochs)": ((76.72,), (77.51,)),
    "Random PaI": ((73.87, 71.56, 68.72), (74.84, 72.72, 70.05)),
    "AC/DC": ((75.83, 74.75, 72.59), (77.20, 76.66, 75.45)),
}


# --- data and model ----------------------------------------------------------------


def load_data(seed: int):
    """Digits / 16, one-hot labels, a seeded 60/20/20 train/val/test split."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    perm = np.random.default_rng(seed).permutation(len(y))
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    onehot = np.eye(10)[y]
    return tuple((X[i], onehot[i]) for i in (perm[:a], perm[a:b], perm[b:]))


# The shared digits MLP (also used by the other digits experiment).
init_params = mlp_init
logits = mlp_logits
loss_fn = mlp_loss
accuracy = mlp_accuracy


# --- training ----------------------------------------------------------------------


def make_optimizer(config: Config, use_ham: bool, alpha=None, beta=None):
    """SGD with momentum, optionally wrapped by HAM (`alpha`, `beta` default to the
    config's)."""
    lr = config.learning_rate
    base = optax.sgd(lr, momentum=config.momentum)
    if not use_ham:
        return base
    return ham(
        config.alpha if alpha is None else alpha,
        config.beta if beta is None else beta,
        lr,
        base=base,
        min_ndim=2,
        exponent_clip=config.exponent_clip,
    )


def masked_step(tx, params, state, mask, grads):
    """One optimizer step that leaves masked entries exactly where they are.

    The gradient is masked before the optimizer (no new momentum on pruned
    entries) and the update after it (old momentum cannot move them either).
    """
    grads = jtu.tree_map(lambda m, g: jnp.where(m, g, 0.0), mask, grads)
    upd, state = tx.update(grads, state, params)
    upd = jtu.tree_map(lambda m, u: jnp.where(m, u, 0.0), mask, upd)
    return optax.apply_updates(params, upd), state


def make_epoch(tx):
    """A jitted epoch over stacked seeds: vmap over seeds of a scan over batches."""

    def one(p, s, mask, X, Y, idx):
        def step(c, ix):
            p, s = c
            g = jax.grad(loss_fn)(p, X[ix], Y[ix])
            return masked_step(tx, p, s, mask, g), None

        (p, s), _ = jax.lax.scan(step, (p, s), idx)
        return p, s

    return jax.jit(jax.vmap(one))


def dense_mask(params):
    return jtu.tree_map(lambda x: jnp.ones(x.shape, bool), params)


def is_sparse_epoch(epoch: int, epochs: int, every: int) -> bool:
    """Magnitude re-pruning: odd phases and the last phase are sparse."""
    phase, last = epoch // every, (epochs - 1) // every
    return phase % 2 == 1 or phase == last


def _sizes(config: Config, quick: bool):
    if quick:
        return (
            config.hidden_quick,
            config.epochs_quick,
            config.num_seeds_quick,
            config.prune_every_quick,
        )
    return config.hidden, config.epochs, config.num_seeds, config.prune_every


def stacked_data(config: Config, quick: bool):
    """Train/val/test arrays stacked over seeds (the splits have equal sizes)."""
    _, _, n_seeds, _ = _sizes(config, quick)
    seeds = [config.seed + i for i in range(n_seeds)]
    parts = [load_data(s) for s in seeds]
    out = []
    for j in range(3):
        out.append(
            (
                jnp.asarray(np.stack([p[j][0] for p in parts])),
                jnp.asarray(np.stack([p[j][1] for p in parts])),
            )
        )
    return seeds, out


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every method of one run shares: seeds, stacked data, initial params."""

    seeds: list
    train: tuple
    val: tuple
    test: tuple
    params: dict


@jax.jit
def accuracy_all(params, X, Y):
    """Accuracy of each seed's params on its own data (all stacked over seeds)."""
    return jax.vmap(accuracy)(params, X, Y)


def setup(config: Config, quick: bool) -> Setup:
    """Data split per seed (stacked) and the He initialization per seed."""
    hidden, _, _, _ = _sizes(config, quick)
    seeds, (tr, va, te) = stacked_data(config, quick)
    keys = jnp.stack([jax.random.key(s) for s in seeds])
    init = jax.jit(jax.vmap(lambda k: init_params(k, hidden)))
    return Setup(seeds, tr, va, te, init(keys))


def _per_seed(fn, *trees):
    """Apply `fn` to each seed's slice of stacked pytrees and stack the results.

    A Python loop, not vmap: the masks' jitted top-k helpers take the count k as a
    traced argument, so this compiles once per layer shape for every density.
    """
    n = jtu.tree_leaves(trees[0])[0].shape[0]
    outs = [
        fn(*(jtu.tree_map(lambda x, i=i: x[i], t) for t in trees)) for i in range(n)
    ]
    return jtu.tree_map(lambda *xs: jnp.stack(xs), *outs)


def pai_masks(su: Setup, density: float) -> dict:
    """Random layerwise masks, one per seed (key: fold_in(key(seed), 1))."""
    keys = [jax.random.fold_in(jax.random.key(s), 1) for s in su.seeds]
    out = [
        masks.random_mask(jtu.tree_map(lambda x, i=i: x[i], su.params), density, k)
        for i, k in enumerate(keys)
    ]
    return jtu.tree_map(lambda *xs: jnp.stack(xs), *out)


def magnitude_masks(params: dict, density: float) -> dict:
    """Layerwise magnitude masks of stacked params, one per seed."""
    return _per_seed(
        lambda p: masks.magnitude_mask(p, density, scope="layerwise"), params
    )


def train(config: Config, quick: bool, su: Setup, kind: str, sparsity, epoch_fn, tx):
    """Train every seed (stacked) with one method; returns the final params.

    Args:
        su: the shared data and initialization (`setup`).
        kind: "dense", "pai" or "magnitude".
        sparsity: the fraction of each weight matrix pruned (ignored for dense).
        epoch_fn, tx: from `make_epoch(tx)` and the optimizer.
    """
    _, epochs, _, every = _sizes(config, quick)
    Xtr, Ytr = su.train
    params = su.params
    state = jax.vmap(tx.init)(params)
    density = 1.0 - float(sparsity)
    if kind == "pai":
        mask = pai_masks(su, density)
        params = masks.apply_mask(params, mask)
    else:
        mask = dense_mask(params)
    rngs = [np.random.default_rng(1000 + s) for s in su.seeds]
    n, bs = Xtr.shape[1], config.batch_size
    steps = n // bs
    sparse_now = False
    for e in range(epochs):
        if kind == "magnitude":
            sparse = is_sparse_epoch(e, epochs, every)
            if sparse and not sparse_now:
                mask = magnitude_masks(params, density)
                params = masks.apply_mask(params, mask)
            elif not sparse:
                mask = dense_mask(params)
            sparse_now = sparse
        idx = np.stack(
            [r.permutation(n)[: steps * bs].reshape(steps, bs) for r in rngs]
        )
        params, state = epoch_fn(params, state, mask, Xtr, Ytr, jnp.asarray(idx))
    return params


def run(config: Config, quick: bool) -> dict:
    """Test/val accuracy per method, sparsity and seed; zero counts per layer."""
    hidden, epochs, n_seeds, every = _sizes(config, quick)
    su = setup(config, quick)
    (Xva, Yva), (Xte, Yte) = su.val, su.test
    sp = np.asarray(config.sparsities, float)
    out: dict = {"seeds": np.asarray(su.seeds), "sparsities": sp}
    sizes = {"W1": 64 * hidden, "W2": hidden * 10}
    for w in WEIGHTS:
        # A layerwise mask of density d keeps max(1, round(d n)) entries (masks).
        out[f"expected_zeros_{w}"] = np.asarray(
            [sizes[w] - max(1, round((1 - s) * sizes[w])) for s in sp]
        )
    for opt in OPTS:
        tx = make_optimizer(config, opt == "ham")
        epoch_fn = make_epoch(tx)
        p = train(config, quick, su, "dense", 0.0, epoch_fn, tx)
        te = np.asarray(accuracy_all(p, Xte, Yte))
        va = np.asarray(accuracy_all(p, Xva, Yva))
        out |= _stats(f"dense_{opt}_test_acc", te) | _stats(f"dense_{opt}_val_acc", va)
        for kind in KINDS:
            te = np.zeros((n_seeds, len(sp)))
            va = np.zeros_like(te)
            zeros = {w: np.zeros((n_seeds, len(sp)), int) for w in WEIGHTS}
            for j, s in enumerate(sp):
                p = train(config, quick, su, kind, float(s), epoch_fn, tx)
                te[:, j] = np.asarray(accuracy_all(p, Xte, Yte))
                va[:, j] = np.asarray(accuracy_all(p, Xva, Yva))
                for w in WEIGHTS:
                    zeros[w][:, j] = np.sum(np.asarray(p[w]) == 0.0, axis=(1, 2))
            out |= _stats(f"{kind}_{opt}_test_acc", te)
            out |= _stats(f"{kind}_{opt}_val_acc", va)
            for w in WEIGHTS:
                out[f"{kind}_{opt}_zeros_{w}"] = zeros[w]
    out |= {"hidden": hidden, "epochs": epochs, "prune_every": every}
    out["quick"] = bool(quick)
    out["report_tables"] = report_tables(out, config)
    return out


def _stats(key: str, values: np.ndarray) -> dict:
    return {key: values, f"{key}_mean": values.mean(0), f"{key}_std": values.std(0)}


# --- the table beside the paper's ---------------------------------------------------


def _pm(mean, std) -> str:
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def report_tables(result: dict, config: Config) -> str:
    """Our test-accuracy table and the paper's ImageNet numbers, as a JSON string.

    Format read by `mirrorflow report`: `{"tables": [{"title", "note", "columns",
    "rows"}]}` with rows of strings.
    """
    sp = [f"{s:g}" for s in result["sparsities"]]
    cols = ["method", "dense", *[f"sparsity {s}" for s in sp]]
    rows = []
    for opt, suffix in (("sgd", ""), ("ham", " + HAM")):
        m, s = result[f"dense_{opt}_test_acc_mean"], result[f"dense_{opt}_test_acc_std"]
        rows.append([f"dense SGD{suffix}", _pm(m, s), *["—"] * len(sp)])
    for kind in KINDS:
        for opt, suffix in (("sgd", ""), ("ham", " + HAM")):
            m = result[f"{kind}_{opt}_test_acc_mean"]
            s = result[f"{kind}_{opt}_test_acc_std"]
            cells = [_pm(a, b) for a, b in zip(m, s, strict=True)]
            rows.append([f"{_KIND_LABEL[kind]}{suffix}", "—", *cells])
    n = len(result["seeds"])
    mode = "quick run (reduced sizes), " if result.get("quick") else ""
    ours = {
        "title": "This package: digits MLP 64-"
        f"{result['hidden']}-10 (laptop-scale stand-in), test accuracy %",
        "note": f"{mode}mean ± std over {n} seeds, {result['epochs']} epochs, "
        f"SGD momentum {config.momentum}, lr {config.learning_rate}; HAM alpha = "
        f"{config.alpha:g}, beta = {config.beta:g} (chosen on validation accuracy). "
        "Not comparable to the paper's numbers: different data, model and scale.",
        "columns": cols,
        "rows": rows,
    }
    prow = []
    for name, (base, with_ham) in PAPER_IMAGENET.items():
        for vals, suffix in ((base, ""), (with_ham, " + HAM")):
            cells = [f"{v:.2f}" for v in vals]
            if len(vals) == 1:
                prow.append([f"{name}{suffix}", cells[0], *["—"] * 3])
            else:
                prow.append([f"{name}{suffix}", "—", *cells])
    paper = {
        "title": "HAM paper: ImageNet ResNet-50, top-1 % (quoted, not reproduced)",
        "note": "Numbers quoted from the HAM authors' public README, "
        "sparsities 0.8 / 0.9 / 0.95; a different scale from the table beside it.",
        "columns": ["method", "dense", "sparsity 0.8", "sparsity 0.9", "sparsity 0.95"],
        "rows": prow,
    }
    return json.dumps({"tables": [ours, paper]}, ensure_ascii=False)


# --- figure --------------------------------------------------------------------------


def plot(result: dict, path) -> None:
    """Test accuracy (mean ± std over seeds) against sparsity, for each method.

    Categorical x axis: "dense", then each sparsity; the dense accuracies are also
    drawn as thin horizontal reference lines.
    """
    sparsities = np.asarray(result["sparsities"])
    xs = np.arange(1, len(sparsities) + 1, dtype=float)
    n = len(result["seeds"])
    styles = {"sgd": ("-", "o", " (SGD)"), "ham": ("--", "s", " + HAM")}
    shift = {"sgd": -0.06, "ham": 0.06}  # side by side, so error bars stay visible
    with paper_style():
        fig, axes = new_figure(1, 1, width=5.2, height=4.2)
        ax = axes[0][0]
        for opt in OPTS:
            ls, mk, suffix = styles[opt]
            m = result[f"dense_{opt}_test_acc_mean"]
            s = result[f"dense_{opt}_test_acc_std"]
            ax.axhline(m, color=COLORS[0], lw=0.6, ls=ls, alpha=0.6)
            ax.errorbar(
                [shift[opt]],
                [m],
                yerr=[s],
                marker=mk,
                ms=4,
                capsize=2,
                ls="none",
                color=COLORS[0],
                label=f"dense{suffix}",
            )
            for i, kind in enumerate(KINDS, start=1):
                ax.errorbar(
                    xs + shift[opt],
                    result[f"{kind}_{opt}_test_acc_mean"],
                    yerr=result[f"{kind}_{opt}_test_acc_std"],
                    marker=mk,
                    ms=4,
                    capsize=2,
                    ls=ls,
                    color=COLORS[i],
                    label=f"{_KIND_LABEL[kind]}{suffix}",
                )
        ax.set_xticks([0.0, *xs])
        ax.set_xticklabels(["dense", *[f"{100 * v:g} %" for v in sparsities]])
        ax.set_xlim(-0.5, len(sparsities) + 0.5)
        ax.set_xlabel("sparsity of each weight matrix")
        ax.set_ylabel(f"test accuracy (mean ± std, {n} seeds)")
        ax.set_title(
            f"digits MLP 64-{result['hidden']}-10, {result['epochs']} epochs: "
            "SGD vs SGD + HAM",
            fontsize=9,
        )
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=2,
            fontsize=6.5,
            frameon=False,
        )
        fig.suptitle(
            "Laptop-scale stand-in for HAM's ImageNet tables (no paper accuracy "
            "claimed)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="ham.digits_dense_sparse",
    paper="ham",
    figure=(
        "HAM (ICLR 2026), ImageNet ResNet-50 dense and sparse tables (laptop-"
        "scale digits stand-in)"
    ),
    title="Laptop-scale stand-in for HAM's ImageNet tables: digits MLP, dense, "
    "random PaI and magnitude re-pruning, SGD vs SGD + HAM",
    description=(
        "Laptop-scale stand-in for HAM's ImageNet tables (no accuracy of the paper is "
        "claimed). A 64-256-10 ReLU MLP on sklearn's digits, SGD with momentum 0.9, "
        "with and without HAM (alpha = 10, beta = 1e-3, chosen on validation data): "
        "dense, random layerwise masks fixed at initialization (PaI) and AC/DC-like "
        "magnitude re-pruning every 5 epochs, at 80/90/95 % sparsity. Test accuracy, "
        "mean +- std over 5 seeds; pruned weights are kept exactly zero."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("ham.zero_sign_preserving", "ham.no_state_overhead"),
)
