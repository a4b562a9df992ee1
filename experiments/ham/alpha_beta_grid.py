r"""HAM's $(\alpha, \beta)$ grid on the dense digits MLP: validation accuracy.

A laptop-scale stand-in for HAM's hyperparameter grids on CIFAR-100 and ImageNet
(Figs. 8-9; numbering as quoted by secondary sources, see docs/theory/ham.md). The
dense 64-256-10 ReLU MLP of `ham.digits_dense_sparse` (same data, same seeded
60/20/20 splits, same initialization and batch order per seed, same SGD with
momentum 0.9, learning rate 0.05, batch 32, 30 epochs) is trained with
`ham(alpha, beta, base=sgd)` for $\alpha \in \{0, 1, 10, 100\}$ and
$\beta \in \{0, 10^{-3}, 10^{-2}\}$; each cell is the *validation* accuracy, mean
over 5 seeds (the test split is not touched). Row $\alpha = 0$ is the reference:
at $\alpha = \beta = 0$ HAM's factor is 1 and the run is plain SGD; $\alpha = 0$,
$\beta > 0$ is SGD with HAM's multiplicative decay alone. The best cell of rows
$\alpha \ge 1$ is the setting `ham.digits_dense_sparse` uses.

The training code is that of `ham.digits_dense_sparse` (imported from the sibling
module, so the two experiments cannot drift apart).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from mirrorflow.app import (
    Experiment,
    load_experiment_file,
    new_figure,
    paper_style,
    save_figure,
)


def _digits():
    """The sibling experiment module `ham_digits_dense_sparse` (model, training)."""
    exp = load_experiment_file(Path(__file__).with_name("digits_dense_sparse.py"))
    return sys.modules[exp.run.__module__]


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the grid (training settings as `ham.digits_dense_sparse`).

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ...
        num_seeds, num_seeds_quick: seeds (5; quick 2).
        hidden, hidden_quick: hidden width (256; quick 32).
        epochs, epochs_quick: epochs (30; quick 3).
        alphas, betas: the grid (alpha = 0 is the SGD reference row).
        alphas_quick, betas_quick: the quick grid.
    """

    seed: int = 0
    num_seeds: int = 5
    num_seeds_quick: int = 2
    hidden: int = 256
    hidden_quick: int = 32
    epochs: int = 30
    epochs_quick: int = 3
    alphas: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    betas: tuple[float, ...] = (0.0, 1e-3, 1e-2)
    alphas_quick: tuple[float, ...] = (0.0, 10.0)
    betas_quick: tuple[float, ...] = (0.0, 1e-2)


def _digits_config(config: Config):
    d = _digits()
    return d.Config(
        seed=config.seed,
        num_seeds=config.num_seeds,
        num_seeds_quick=config.num_seeds_quick,
        hidden=config.hidden,
        hidden_quick=config.hidden_quick,
        epochs=config.epochs,
        epochs_quick=config.epochs_quick,
    )


def run(config: Config, quick: bool) -> dict:
    """Validation (and training) accuracy per (alpha, beta) cell and seed."""
    d = _digits()
    dc = _digits_config(config)
    alphas = np.asarray(config.alphas_quick if quick else config.alphas, float)
    betas = np.asarray(config.betas_quick if quick else config.betas, float)
    su = d.setup(dc, quick)
    n = len(su.seeds)
    val = np.zeros((len(alphas), len(betas), n))
    train = np.zeros_like(val)
    for i, a in enumerate(alphas):
        for j, b in enumerate(betas):
            tx = d.make_optimizer(dc, True, alpha=float(a), beta=float(b))
            p = d.train(dc, quick, su, "dense", 0.0, d.make_epoch(tx), tx)
            val[i, j] = np.asarray(d.accuracy_all(p, *su.val))
            train[i, j] = np.asarray(d.accuracy_all(p, *su.train))
    mean = val.mean(axis=2)
    sub = mean[alphas >= 1]
    bi, bj = np.unravel_index(np.argmax(sub), sub.shape)
    return {
        "seeds": np.asarray(su.seeds),
        "alphas": alphas,
        "betas": betas,
        "val_acc": val,
        "val_acc_mean": mean,
        "val_acc_std": val.std(axis=2),
        "train_acc_mean": train.mean(axis=2),
        "best_alpha": float(alphas[alphas >= 1][bi]),
        "best_beta": float(betas[bj]),
        "hidden": dc.hidden_quick if quick else dc.hidden,
        "epochs": dc.epochs_quick if quick else dc.epochs,
    }


def plot(result: dict, path) -> None:
    """Heat map of the mean validation accuracy, cells annotated (mean ± std)."""
    mean, std = result["val_acc_mean"], result["val_acc_std"]
    alphas, betas = result["alphas"], result["betas"]
    n = len(result["seeds"])
    with paper_style():
        fig, axes = new_figure(1, 1, width=4.6, height=3.4)
        ax = axes[0][0]
        # Colors span the top 2 points (cells below are clipped to the darkest
        # color and still annotated): the good cells differ by tenths of a point.
        hi = float(mean.max())
        lo = max(float(mean.min()), hi - 0.02)
        im = ax.imshow(
            100 * mean,
            cmap="viridis",
            aspect="auto",
            origin="upper",
            vmin=100 * lo,
            vmax=100 * hi,
        )
        ax.grid(False)
        for i in range(mean.shape[0]):
            for j in range(mean.shape[1]):
                bright = (mean[i, j] - lo) > 0.6 * (hi - lo) if hi > lo else False
                best = (
                    alphas[i] == result["best_alpha"]
                    and betas[j] == result["best_beta"]
                )
                ax.text(
                    j,
                    i,
                    f"{100 * mean[i, j]:.1f}\n± {100 * std[i, j]:.1f}"
                    + (" *" if best else ""),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if bright else "white",
                    fontweight="bold" if best else "normal",
                )
        ax.set_xticks(range(len(betas)))
        ax.set_xticklabels([f"{b:g}" for b in betas])
        ax.set_yticks(range(len(alphas)))
        ax.set_yticklabels(
            [f"{a:g}" + (" (SGD ref.)" if a == 0 else "") for a in alphas]
        )
        ax.set_xlabel(r"HAM decay $\beta$")
        ax.set_ylabel(r"HAM coupling $\alpha$")
        ax.set_title(
            f"digits MLP 64-{result['hidden']}-10, SGD+HAM, {result['epochs']} "
            f"epochs:\nvalidation accuracy % (mean ± std, {n} seeds; * = best, "
            r"$\alpha\geq1$)",
            fontsize=8,
        )
        fig.colorbar(
            im,
            ax=ax,
            label="mean validation accuracy (%)",
            extend="min" if float(mean.min()) < lo else "neither",
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="ham.alpha_beta_grid",
    paper="ham",
    figure="HAM (ICLR 2026), Figs. 8-9: (alpha, beta) grids (digits stand-in)",
    title="HAM's (alpha, beta) grid on the dense digits MLP: validation accuracy",
    description=(
        "Laptop-scale stand-in for HAM's (alpha, beta) grids. Dense 64-256-10 MLP on "
        "sklearn's digits, SGD momentum 0.9 + HAM, alpha in {0, 1, 10, 100} (0: the "
        "SGD reference row), beta in {0, 1e-3, 1e-2}; cells: validation accuracy, "
        "mean +- std over 5 seeds. The starred cell (alpha >= 1) is the setting used "
        "by ham.digits_dense_sparse."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("ham.zero_sign_preserving",),
)
