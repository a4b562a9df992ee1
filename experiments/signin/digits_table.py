r"""Random PaI with and without Sign-In at 80/90/95 % sparsity: a digits-scale table.

Sign-In to the Lottery (Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS 2025) reports
that Sign-In raises the accuracy of sparse training from a random
pruning-at-initialization (PaI) mask on CIFAR-10, CIFAR-100 and ImageNet. This is a
digits-scale stand-in (no accuracy of the paper is claimed or reproduced):
`papers.digits.sign_flip_run` on sklearn's digits (pixels / 16, the seeded 60/20/20
split of `ham.digits_dense_sparse`), a 64-256-256-10 ReLU MLP, SGD with momentum 0.9,
learning rate 0.05, batch 64, 30 epochs, float32:

* random PaI: a random layerwise mask (density $1 - s$ in each weight matrix,
  biases dense) drawn at initialization and fixed, plain SGD with momentum;
* random PaI + Sign-In: the same mask and initialization,
  `optimizers.sign_in(optax.sgd(0.05, momentum=0.9), beta0=1,
  reset_every=steps_per_epoch, sparsity_mask=mask)`;
* dense SGD as a reference (`method="pai"` at sparsity 0).

Seed $s$ fixes the split, the initialization, the mask and the batch order, so the
two sparse methods of a seed and sparsity share mask and start; the table gives
test accuracy mean ± std (numpy, ddof = 0) over seeds and the per-seed (paired)
difference Sign-In − PaI, mean ± std. `report_tables` puts the table beside the
paper's numbers (quoted: CIFAR-10 ResNet-20, CIFAR-100 ResNet-18, ImageNet
ResNet-50), a different scale by orders of magnitude.
"""

import dataclasses
import json

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import sign_flip_run


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the digits table.

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ... (split, init, mask, batches).
        num_seeds, num_seeds_quick: seeds of the full run (10) and of `--quick` (2).
        hidden, hidden_quick: hidden widths ((256, 256); quick (64, 64)).
        epochs, epochs_quick: training epochs (30; quick 6).
        sparsities: pruned fractions of each weight matrix (the paper's columns).
        batch: minibatch size.
        lr, momentum: SGD's step and momentum (also Sign-In's base optimizer).
        beta0: Sign-In's imbalance $m^2 - w^2$ after each reset.
        reset_every_epochs: Sign-In's reset period in epochs.
    """

    seed: int = 0
    num_seeds: int = 10
    num_seeds_quick: int = 2
    hidden: tuple[int, ...] = (256, 256)
    hidden_quick: tuple[int, ...] = (256, 256)
    epochs: int = 30
    epochs_quick: int = 6
    sparsities: tuple[float, ...] = (0.8, 0.9, 0.95)
    batch: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    beta0: float = 1.0
    reset_every_epochs: int = 1


METHODS = ("pai", "pai_sign_in")
LABELS = {"pai": "random PaI", "pai_sign_in": "random PaI + Sign-In"}
# Sign-In to the Lottery, NeurIPS 2025: test accuracy (%) of random PaI and random
# PaI + Sign-In at sparsity 0.8 / 0.9 / 0.95, as reported in the paper.
PAPER_SPARSITIES = (0.8, 0.9, 0.95)
PAPER = {
    "CIFAR-10, ResNet-20": ((88.25, 86.25, 83.56), (89.37, 87.83, 84.74)),
    "CIFAR-100, ResNet-18": ((73.95, 72.96, 71.36), (75.32, 73.94, 72.51)),
    "ImageNet, ResNet-50": ((73.87, 71.56, 68.72), (74.12, 72.19, 69.38)),
}


def run(config: Config, quick: bool) -> dict:
    """Test accuracy and sign flips per method, sparsity and seed; dense reference."""
    n = config.num_seeds_quick if quick else config.num_seeds
    epochs = config.epochs_quick if quick else config.epochs
    hidden = config.hidden_quick if quick else config.hidden
    seeds = [config.seed + i for i in range(n)]
    sp = np.asarray(config.sparsities, float)
    common = dict(
        epochs=epochs,
        batch=config.batch,
        lr=config.lr,
        momentum=config.momentum,
        reset_every_epochs=config.reset_every_epochs,
        beta0=config.beta0,
        hidden=hidden,
    )
    out: dict = {"seeds": np.asarray(seeds), "sparsities": sp}
    dense = sign_flip_run(seeds, method="pai", sparsity=0.0, **common)
    out |= _stats("dense_test_acc", dense["test_acc"])
    for method in METHODS:
        acc = np.zeros((n, len(sp)))
        flips = np.zeros((n, len(sp)), int)
        for j, s in enumerate(sp):
            r = sign_flip_run(seeds, method=method, sparsity=float(s), **common)
            acc[:, j], flips[:, j] = r["test_acc"], r["final_flips"]
        out |= _stats(f"{method}_test_acc", acc) | _stats(f"{method}_flips", flips)
    diff = out["pai_sign_in_test_acc"] - out["pai_test_acc"]
    out |= _stats("diff_test_acc", diff)
    out |= {"epochs": epochs, "hidden": np.asarray(hidden), "quick": bool(quick)}
    out["report_tables"] = report_tables(out, config)
    return out


def _stats(key: str, values: np.ndarray) -> dict:
    return {key: values, f"{key}_mean": values.mean(0), f"{key}_std": values.std(0)}


def _pm(mean, std, signed=False) -> str:
    sign = "+" if signed else ""
    return f"{100 * mean:{sign}.2f} ± {100 * std:.2f}"


def report_tables(result: dict, config: Config) -> str:
    """Our test-accuracy table and the paper's numbers, as a JSON string (the
    format of `mirrorflow report`: `{"tables": [{"title", "note", "columns",
    "rows"}]}`)."""
    sp = [f"{100 * s:g} %" for s in result["sparsities"]]
    cols = ["method", *[f"sparsity {s}" for s in sp], "dense"]
    rows = []
    for method in METHODS:
        m, s = result[f"{method}_test_acc_mean"], result[f"{method}_test_acc_std"]
        rows.append([LABELS[method], *[_pm(a, b) for a, b in zip(m, s, strict=True)]])
        rows[-1].append("—")
    m, s = result["diff_test_acc_mean"], result["diff_test_acc_std"]
    rows.append(
        [
            "Sign-In − PaI (per seed)",
            *[_pm(a, b, signed=True) for a, b in zip(m, s, strict=True)],
            "—",
        ]
    )
    rows.append(
        [
            "dense SGD (reference)",
            *["—"] * len(sp),
            _pm(result["dense_test_acc_mean"], result["dense_test_acc_std"]),
        ]
    )
    n = len(result["seeds"])
    widths = "-".join(str(h) for h in result["hidden"])
    mode = "quick run (reduced sizes), " if result.get("quick") else ""
    ours = {
        "title": f"This package: digits MLP 64-{widths}-10 (digits-scale stand-in), "
        "test accuracy %",
        "note": f"{mode}mean ± std over {n} seeds (mask and init shared by the two "
        f"methods of a seed), {result['epochs']} epochs, SGD momentum "
        f"{config.momentum}, lr {config.lr}, batch {config.batch}; Sign-In beta0 = "
        f"{config.beta0:g}, reset every {config.reset_every_epochs} epoch(s). Not "
        "comparable to the paper's numbers: different data, model and scale.",
        "columns": cols,
        "rows": rows,
    }
    prow = []
    for name, (base, with_si) in PAPER.items():
        prow.append([f"{name}: random", *[f"{v:.2f}" for v in base]])
        prow.append([f"{name}: random + Sign-In", *[f"{v:.2f}" for v in with_si]])
    paper = {
        "title": "Sign-In paper: random PaI ± Sign-In, test accuracy % "
        "(reported in the paper, not reproduced)",
        "note": "Reported in the paper (Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS "
        "2025), sparsities 80 / 90 / 95 %; CIFAR and ImageNet ResNets, a different "
        "scale from the table beside it.",
        "columns": [
            "dataset, model: method",
            *[f"sparsity {100 * s:g} %" for s in PAPER_SPARSITIES],
        ],
        "rows": prow,
    }
    return json.dumps({"tables": [ours, paper]}, ensure_ascii=False)


def plot(result: dict, path) -> None:
    """Left: test accuracy against sparsity for PaI and PaI + Sign-In (dense as a
    line); right: the per-seed difference Sign-In − PaI."""
    sp = np.asarray(result["sparsities"])
    xs = np.arange(len(sp), dtype=float)
    n = len(result["seeds"])
    widths = "-".join(str(h) for h in result["hidden"])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=3.2)
        ax = axes[0, 0]
        m, s = result["dense_test_acc_mean"], result["dense_test_acc_std"]
        ax.axhline(100 * m, color="0.4", lw=0.8, label="dense SGD")
        ax.axhspan(100 * (m - s), 100 * (m + s), color="0.4", alpha=0.15, lw=0)
        for i, method in enumerate(METHODS):
            shift = (i - 0.5) * 0.08
            ax.errorbar(
                xs + shift,
                100 * result[f"{method}_test_acc_mean"],
                yerr=100 * result[f"{method}_test_acc_std"],
                marker="os"[i],
                ms=4,
                capsize=2,
                color=COLORS[i],
                label=LABELS[method],
            )
        ax.set_ylabel(f"test accuracy % (mean ± std, {n} seeds)")
        ax.legend(fontsize=6, loc="lower left")
        ax.set_title("random PaI with and without Sign-In", fontsize=7)
        ax = axes[0, 1]
        diff = 100 * result["diff_test_acc"]
        for j in range(len(sp)):
            ax.plot(
                np.full(n, xs[j]) + np.linspace(-0.12, 0.12, n),
                diff[:, j],
                ".",
                color=COLORS[2],
                ms=4,
            )
        ax.errorbar(
            xs + 0.2,
            100 * result["diff_test_acc_mean"],
            yerr=100 * result["diff_test_acc_std"],
            marker="D",
            ms=4,
            capsize=2,
            ls="none",
            color="k",
            label="mean ± std",
        )
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_ylabel("Sign-In − PaI, test accuracy (points)")
        ax.set_title("per seed (same mask and init)", fontsize=7)
        ax.legend(fontsize=6)
        for ax in axes[0]:
            ax.set_xticks(xs)
            ax.set_xticklabels([f"{100 * v:g} %" for v in sp])
            ax.set_xlim(-0.5, len(sp) - 0.5)
            ax.set_xlabel("sparsity of each weight matrix")
        mode = "quick run, " if result["quick"] else ""
        fig.suptitle(
            f"digits MLP 64-{widths}-10, {result['epochs']} epochs, {mode}digits-scale "
            "stand-in (no paper accuracy claimed)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="signin.digits_table",
    paper="signin",
    figure="Sign-In to the Lottery, random PaI ± Sign-In tables (digits-scale "
    "stand-in)",
    title="Digits-scale stand-in for Sign-In's tables: random PaI with and without "
    "Sign-In at 80/90/95 % sparsity",
    description=(
        "Digits-scale stand-in for the paper's random-PaI tables (no accuracy of the "
        "paper is claimed). A 64-256-256-10 ReLU MLP on sklearn's digits, SGD with "
        "momentum 0.9, lr 0.05, batch 64, 30 epochs, from a random layerwise mask "
        "fixed at initialization, with and without Sign-In (beta0 = 1, reset every "
        "epoch), at 80/90/95 % sparsity; dense SGD for reference. Left: test "
        "accuracy, mean +- std over 10 seeds; right: the per-seed difference "
        "Sign-In - PaI (same mask and initialization)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("signin.phase_sign_in",),
)
