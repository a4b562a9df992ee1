r"""Sign-In's resets: PaI + Sign-In with and without reset, and every 1, 3, 10 epochs.

Sign-In to the Lottery (Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS 2025) reports that
the gain of Sign-In over plain sparse training from a pruning-at-initialization
(PaI) mask mostly disappears without the periodic reset of $m^2 - w^2$ to
$\beta_0$. A digits-scale ablation (no number of the paper is reproduced):
`papers.digits.sign_flip_run` on sklearn's digits (pixels / 16, the seeded 60/20/20
split of `ham.digits_dense_sparse`), a 64-256-256-10 ReLU MLP, a random layerwise
mask at 90 % sparsity (biases dense) fixed at initialization, SGD with momentum 0.9,
learning rate 0.05, batch 64, 30 epochs, float32:

* PaI: plain SGD with momentum (reference);
* PaI + $m\odot w$ without reset: `sign_in` with a reset period longer than the
  training (the factors are split once, $m^2 - w^2 = \beta_0 = 1$, then trained);
* PaI + Sign-In with a reset every 1, 3 or 10 epochs (16 steps per epoch).

The table also gives the imbalance $m^2 - w^2$ of the factors after the last step
(over the alive weights): how far the discrete steps eroded $\beta_0$ where no reset
restored it.

Seed $s$ fixes the split, the initialization, the mask and the batch order (shared
by every variant of a seed). Test accuracy and final sign flips (weights alive
whose sign is strictly opposite to their initial sign, `sign_flip_run`), mean ±
std (numpy, ddof = 0) over seeds, and the per-seed difference to PaI.
"""

import dataclasses
import json

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import sign_flip_run


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the reset ablation.

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ... (split, init, mask, batches).
        num_seeds, num_seeds_quick: seeds of the full run (10) and of `--quick` (2).
        hidden, hidden_quick: hidden widths ((256, 256); quick (64, 64)).
        epochs, epochs_quick: training epochs (30; quick 6).
        reset_epochs: Sign-In's reset periods in epochs (besides no reset).
        sparsity: the pruned fraction of each weight matrix.
        batch: minibatch size.
        lr, momentum: SGD's step and momentum (also Sign-In's base optimizer).
        beta0: Sign-In's imbalance $m^2 - w^2$ after each reset.
    """

    seed: int = 0
    num_seeds: int = 10
    num_seeds_quick: int = 2
    hidden: tuple[int, ...] = (256, 256)
    hidden_quick: tuple[int, ...] = (256, 256)
    epochs: int = 30
    epochs_quick: int = 6
    reset_epochs: tuple[int, ...] = (1, 3, 10)
    sparsity: float = 0.9
    batch: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    beta0: float = 1.0


def variants(config: Config) -> list[tuple[str, str, int | None, str]]:
    """(result prefix, method, reset period in epochs, label) of each variant."""
    out = [
        ("pai", "pai", None, "PaI (SGD)"),
        ("no_reset", "pai_sign_in", None, "PaI + m*w, no reset"),
    ]
    for p in config.reset_epochs:
        out.append((f"reset_{p}", "pai_sign_in", p, f"Sign-In, reset every {p}"))
    return out


def run(config: Config, quick: bool) -> dict:
    """Test accuracy and final sign flips per variant and seed."""
    n = config.num_seeds_quick if quick else config.num_seeds
    epochs = config.epochs_quick if quick else config.epochs
    hidden = config.hidden_quick if quick else config.hidden
    seeds = [config.seed + i for i in range(n)]
    out: dict = {"seeds": np.asarray(seeds)}
    for key, method, every, _ in variants(config):
        r = sign_flip_run(
            seeds,
            method=method,
            sparsity=config.sparsity,
            epochs=epochs,
            batch=config.batch,
            lr=config.lr,
            momentum=config.momentum,
            reset_every_epochs=every,
            beta0=config.beta0,
            hidden=hidden,
        )
        for name, values in (
            ("test_acc", r["test_acc"]),
            ("flips", r["final_flips"]),
            ("flips_epochs", r["flips"]),
        ):
            out[f"{key}_{name}"] = values
            out[f"{key}_{name}_mean"] = values.mean(0)
            out[f"{key}_{name}_std"] = values.std(0)
        out[f"{key}_reset_every_steps"] = r["reset_every"]
        out[f"{key}_imbalance_mean"] = r["imbalance_mean"]
        out[f"{key}_imbalance_min"] = r["imbalance_min"]
    for key, *_ in variants(config)[1:]:
        diff = out[f"{key}_test_acc"] - out["pai_test_acc"]
        out[f"{key}_diff_test_acc_mean"] = float(diff.mean())
        out[f"{key}_diff_test_acc_std"] = float(diff.std())
    out |= {
        "epochs": epochs,
        "hidden": np.asarray(hidden),
        "sparsity": float(config.sparsity),
        "reset_epochs": np.asarray(config.reset_epochs),
        "quick": bool(quick),
    }
    out["report_tables"] = report_tables(out, config)
    return out


def report_tables(result: dict, config: Config) -> str:
    """The ablation as a table (JSON string, the format of `mirrorflow report`)."""
    rows = []
    for key, _, _, label in variants(config):
        acc = result[f"{key}_test_acc_mean"], result[f"{key}_test_acc_std"]
        fl = result[f"{key}_flips_mean"], result[f"{key}_flips_std"]
        if key == "pai":
            diff = "—"
        else:
            d = result[f"{key}_diff_test_acc_mean"], result[f"{key}_diff_test_acc_std"]
            diff = f"{100 * d[0]:+.2f} ± {100 * d[1]:.2f}"
        if key == "pai":
            beta = "—"
        else:
            b_mean = np.mean(result[f"{key}_imbalance_mean"])
            b_min = np.min(result[f"{key}_imbalance_min"])
            beta = f"{b_mean:.4f} (min {b_min:.4f})"
        rows.append(
            [
                label,
                f"{100 * acc[0]:.2f} ± {100 * acc[1]:.2f}",
                diff,
                f"{fl[0]:.1f} ± {fl[1]:.1f}",
                beta,
            ]
        )
    n = len(result["seeds"])
    widths = "-".join(str(h) for h in result["hidden"])
    mode = "quick run (reduced sizes), " if result.get("quick") else ""
    epochs = int(result["epochs"])
    on_reset = [int(p) for p in result["reset_epochs"] if epochs % int(p) == 0]
    never = [int(p) for p in result["reset_epochs"] if int(p) > epochs]
    ending = f"periods ending on a reset after {epochs} epochs: {on_reset}"
    if never:
        ending += f"; periods longer than the training (no reset): {never}"
    table = {
        "title": f"This package: Sign-In's reset, digits MLP 64-{widths}-10 at "
        f"{100 * result['sparsity']:g} % sparsity (digits-scale stand-in)",
        "note": f"{mode}mean ± std over {n} seeds (mask and init shared by the "
        f"variants of a seed), {result['epochs']} epochs, SGD momentum "
        f"{config.momentum}, lr {config.lr}, batch {config.batch}, beta0 = "
        f"{config.beta0:g}. Flips: weights alive whose sign is opposite to the "
        "initial one at the end. m² − w²: Sign-In's factors after the last step, "
        "over the alive weights and seeds (beta0 right after a reset; "
        f"{ending}).",
        "columns": [
            "variant",
            "test accuracy %",
            "− PaI, per seed (points)",
            "sign flips",
            "m² − w² at the end: mean (min)",
        ],
        "rows": rows,
    }
    return json.dumps({"tables": [table]}, ensure_ascii=False)


def plot(result: dict, path) -> None:
    """Left: test accuracy per variant (per seed and mean ± std); right: flips."""
    config = Config(reset_epochs=tuple(int(p) for p in result["reset_epochs"]))
    vs = variants(config)
    xs = np.arange(len(vs), dtype=float)
    n = len(result["seeds"])
    widths = "-".join(str(h) for h in result["hidden"])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=3.4)
        for ax, name, scale, ylabel in (
            (axes[0, 0], "test_acc", 100.0, "test accuracy %"),
            (axes[0, 1], "flips", 1.0, "sign flips vs init (final)"),
        ):
            for i, (key, *_) in enumerate(vs):
                vals = scale * result[f"{key}_{name}"]
                ax.plot(
                    np.full(n, xs[i]) + np.linspace(-0.15, 0.15, n),
                    vals,
                    ".",
                    color=COLORS[min(i, 2)],
                    alpha=0.6,
                    ms=4,
                )
                ax.errorbar(
                    [xs[i] + 0.25],
                    [scale * result[f"{key}_{name}_mean"]],
                    yerr=[scale * result[f"{key}_{name}_std"]],
                    marker="D",
                    ms=4,
                    capsize=2,
                    color="k",
                )
            ax.axhline(
                scale * result[f"pai_{name}_mean"], color=COLORS[0], lw=0.6, ls=":"
            )
            ax.set_xticks(xs)
            ax.set_xticklabels(
                [
                    "PaI",
                    "m*w,\nno reset",
                    *[f"reset\n{p} ep." for p in config.reset_epochs],
                ],
                fontsize=6,
            )
            ax.set_ylabel(ylabel)
        axes[0, 0].set_title("dots: seeds; diamonds: mean ± std", fontsize=7)
        axes[0, 1].set_title("dotted: PaI mean", fontsize=7)
        mode = "quick run, " if result["quick"] else ""
        fig.suptitle(
            f"digits MLP 64-{widths}-10 at {100 * result['sparsity']:g} % sparsity, "
            f"{result['epochs']} epochs, {mode}{n} seeds",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="signin.reset_ablation",
    paper="signin",
    figure="Sign-In to the Lottery, the reset ablation (digits-scale stand-in)",
    title="Sign-In's reset on digits: PaI, m*w without reset, reset every 1/3/10 "
    "epochs at 90 % sparsity",
    description=(
        "Digits-scale stand-in for the paper's reset ablation (no number of the paper "
        "is reproduced). A 64-256-256-10 ReLU MLP on sklearn's digits with a random "
        "90 % mask fixed at initialization, SGD with momentum 0.9, lr 0.05, batch 64, "
        "30 epochs: plain PaI, PaI trained as m*w (beta0 = 1) without reset, and "
        "Sign-In with a reset every 1, 3 or 10 epochs. Left: test accuracy; right: "
        "final sign flips against the initialization; dots are seeds, diamonds "
        "mean +- std over 10 seeds."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("signin.discrete_erosion", "signin.discrete_to_flow"),
)
