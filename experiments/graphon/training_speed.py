r"""Early training loss of pruned MLPs per pruning method, beside the Graphon NTK's
top-5 energy (Graphon Limit Hypothesis, Fig. 2).

Pham, Ta, Jacobs, Burkholz & Tran-Thanh, The Graphon Limit Hypothesis (NeurIPS 2025),
Sec. 6 and Fig. 2. The digits MLP 64-256-256-256-256-10, pruned at initialization by
random, SNIP and SynFlow pruning (global over the five weight matrices) at 50, 70, 90
and 95 % sparsity, is trained by Adam (lr 1e-3, batch 64) for 200 steps
(`mirrorflow.papers.graphon.train_masked`); the full training-set loss per step,
seed mean (shaded: min-max over seeds), with the dense network for reference.
Last panel: the loss after 200 steps against the top-5 energy of the mask's Graphon
NTK (SAS graphons with K = 32, 256 digits images), one point per method, sparsity and
seed: the paper's thesis that more concentrated spectra train faster early. Claims
`graphon.training_speed` (SNIP vs random at 90 %, a one-sided paired t-test over 5
seeds) and `graphon.top_energy`.
"""

import dataclasses

import jax
import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import mlp_init
from mirrorflow.papers.graphon import (
    HIDDEN,
    METHODS,
    digits_masks,
    spectra_study,
    train_masked,
)


LABELS = {"random": "random", "snip": "SNIP", "synflow": "SynFlow"}


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: the first seed (init, split, masks, batches).
        n_seeds: networks per curve (`--quick`: 1).
        sparsities: pruned fractions, one panel each (`--quick`: 90 % only).
        steps: Adam steps (`--quick`: 50).
    """

    seed: int = 0
    n_seeds: int = 5
    sparsities: tuple[float, ...] = (0.5, 0.7, 0.9, 0.95)
    steps: int = 200


def run(config: Config, quick: bool) -> dict:
    """Loss curves per method, sparsity and seed; the dense curves; top-5 energies."""
    n_seeds = 1 if quick else config.n_seeds
    sparsities = (0.9,) if quick else config.sparsities
    steps = 50 if quick else config.steps
    seeds = tuple(range(config.seed, config.seed + n_seeds))
    result = {"sparsities": np.asarray(sparsities), "steps": steps, "n_seeds": n_seeds}
    for method in METHODS:
        for q in sparsities:
            result[f"{method}__{round(100 * q)}__loss"] = np.stack(
                [train_masked(*digits_masks(method, q, s), s, steps) for s in seeds]
            )
    dense = []
    for s in seeds:
        params = mlp_init(jax.random.key(s), HIDDEN, jax.numpy.float64)
        ones = jax.tree.map(lambda p: np.ones(p.shape, bool), params)
        dense.append(train_masked(params, ones, s, steps))
    result["dense__loss"] = np.stack(dense)
    study = spectra_study(seeds=seeds, sparsities=sparsities)
    for method in METHODS:
        result[f"{method}__top_energy"] = np.asarray(
            [[x.top_energy for x in row] for row in study[method]]
        )  # (seeds, sparsities)
    return result


def plot(result: dict, path) -> None:
    """Loss curves per sparsity; loss at the last step against top-5 energy."""
    sparsities = [round(100 * q) for q in result["sparsities"]]
    steps = np.arange(int(result["steps"]) + 1)
    n = len(sparsities)
    with paper_style():
        fig, axes = new_figure(1, n + 1, width=2.0 * (n + 1) + 0.5, height=2.5)
        dense = result["dense__loss"]
        for k, q in enumerate(sparsities):
            ax = axes[0, k]
            ax.plot(steps, dense.mean(0), "k--", lw=0.8, label="dense")
            for j, method in enumerate(METHODS):
                L = result[f"{method}__{q}__loss"]
                ax.plot(steps, L.mean(0), color=COLORS[j], lw=1, label=LABELS[method])
                ax.fill_between(
                    steps, L.min(0), L.max(0), color=COLORS[j], alpha=0.2, lw=0
                )
            ax.set_yscale("log")
            ax.set_xlabel("Adam step")
            ax.set_title(f"{q} % sparse", fontsize=8)
            if k == 0:
                ax.set_ylabel("training loss")
                ax.legend(fontsize=5)
        ax = axes[0, n]
        markers = "osD^v"
        for j, method in enumerate(METHODS):
            top = result[f"{method}__top_energy"]
            for k, q in enumerate(sparsities):
                last = result[f"{method}__{q}__loss"][:, -1]
                ax.plot(
                    top[:, k],
                    last,
                    markers[k % len(markers)],
                    color=COLORS[j],
                    ms=3,
                    mfc="none" if k % 2 else COLORS[j],
                )
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=COLORS[j], lw=2, label=LABELS[m])
            for j, m in enumerate(METHODS)
        ] + [
            Line2D(
                [],
                [],
                ls="",
                marker=markers[k % len(markers)],
                color="0.4",
                mfc="none" if k % 2 else "0.4",
                label=f"{q} %",
            )
            for k, q in enumerate(sparsities)
        ]
        ax.legend(
            handles=handles, fontsize=5, loc="upper left", bbox_to_anchor=(1.02, 1)
        )
        ax.set_yscale("log")
        ax.set_xlabel("top-5 energy of the Graphon NTK")
        ax.set_ylabel(f"loss at step {int(result['steps'])}")
        ax.set_title("loss vs spectrum (per seed)", fontsize=8)
        fig.suptitle(
            f"digits MLP 64-{HIDDEN[0]}x{len(HIDDEN)}-10, Adam 1e-3, batch 64, "
            f"{result['n_seeds']} seed(s) (line: mean, band: min-max)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="graphon.training_speed",
    paper="graphon",
    figure="The Graphon Limit Hypothesis, Fig. 2 (early training loss per method)",
    title="Early training loss of pruned MLPs and the Graphon NTK's top-5 energy",
    description=(
        "Training loss of the digits MLP over the first 200 Adam steps with random, "
        "SNIP and SynFlow masks at 50-95 % sparsity (dashed: dense). At high "
        "sparsity SNIP and SynFlow train faster than random masks. Right: the loss "
        "after 200 steps against the top-5 energy of the mask's Graphon NTK; SNIP's "
        "energy rises with sparsity, SynFlow's stays at the dense value although "
        "SynFlow trains fastest, so top-5 energy alone does not explain its speed."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("graphon.training_speed", "graphon.top_energy"),
)
