r"""Which weights to train: small-, random- and large-magnitude masks (digits).

Pay Attention to Small Weights (Zhou, Jacobs, Gadhikar & Burkholz, NeurIPS 2025)
updates the bottom-$k$ weights by magnitude. This ablation finetunes the digits
MLP 64-128-128-10 (no biases; pretrained on digits 0-4 with AdamW 3e-3 for 300
full-batch steps, new head for digits 5-9 relabelled 0-4) with
`optimizers.nanoadam(1e-2, k=0.05, mask_every=20, exclude=("W3",),
criterion=c)` for $c$ in small (the paper's), random (redrawn at every refresh,
seeded per seed) and large, 150 full-batch steps
(`papers.digits.nanoadam_finetune`); the head is excluded from the mask (dense
Adam with the same settings). The figure shows the task-B training loss, mean ±
std over seeds, and the final loss per seed; pairing counts are in the title.
"""

import dataclasses
import time

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import nanoadam_finetune


CRITERIA = ("small", "random", "large")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: shifts the seed block (runs use seed_offset + seed + j; the spec's
            200-204 at seed 0).
        num_seeds, num_seeds_quick: 5; quick 2.
        k, mask_every, lr: NanoAdam's density, mask interval and rate.
        steps, steps_quick: finetuning steps (150; quick 30).
    """

    seed: int = 0
    #: Runs use seeds seed_offset + seed + j, j = 0, 1, ... (the spec's block).
    seed_offset: int = 200
    num_seeds: int = 5
    num_seeds_quick: int = 2
    k: float = 0.05
    mask_every: int = 20
    lr: float = 1e-2
    steps: int = 150
    steps_quick: int = 30


def run(config: Config, quick: bool) -> dict:
    n = config.num_seeds_quick if quick else config.num_seeds
    steps = config.steps_quick if quick else config.steps
    seeds = [config.seed_offset + config.seed + i for i in range(n)]
    out: dict = {"seeds": np.asarray(seeds), "criteria": np.asarray(CRITERIA)}
    for c in CRITERIA:
        t0 = time.perf_counter()
        r = nanoadam_finetune(
            seeds,
            criterion=c,
            k=config.k,
            lr=config.lr,
            steps=steps,
            mask_every=config.mask_every,
        )
        out[f"wall_time_{c}"] = time.perf_counter() - t0
        for key in ("train_loss", "final_train_loss", "forgetting", "new_task_acc"):
            out[f"{c}_{key}"] = np.asarray(r[key], float)
        fl = out[f"{c}_final_train_loss"]
        out[f"{c}_final_train_loss_mean"] = float(fl.mean())
        out[f"{c}_final_train_loss_std"] = float(fl.std())
    sm = out["small_final_train_loss"]
    out["small_below_large"] = int(np.sum(sm < out["large_final_train_loss"]))
    out["small_below_random"] = int(np.sum(sm < out["random_final_train_loss"]))
    out["steps"] = steps
    out["quick"] = bool(quick)
    return out


def plot(result: dict, path) -> None:
    n = len(result["seeds"])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=3.2)
        ax = axes[0, 0]
        for i, c in enumerate(CRITERIA):
            curves = result[f"{c}_train_loss"]
            m, s = curves.mean(0), curves.std(0)
            x = np.arange(len(m))
            ax.plot(
                x,
                m,
                color=COLORS[i],
                lw=1.1,
                label=f"{c}-magnitude mask" if c != "random" else "random mask",
            )
            ax.fill_between(
                x, np.maximum(m - s, 1e-12), m + s, color=COLORS[i], alpha=0.2, lw=0
            )
        ax.set_yscale("log")
        ax.set_xlabel("finetuning step")
        ax.set_ylabel("task-B training loss")
        ax.set_title(f"mean ± std over {n} seeds", fontsize=7)
        ax.legend(fontsize=6)
        ax = axes[0, 1]
        for i, c in enumerate(CRITERIA):
            v = result[f"{c}_final_train_loss"]
            ax.plot(
                np.full(n, i) + np.linspace(-0.1, 0.1, n), v, "o", ms=3, color=COLORS[i]
            )
            ax.errorbar(
                i + 0.25, v.mean(), yerr=v.std(), fmt="D", ms=3, capsize=2, color="k"
            )
        for j in range(n):
            ax.plot(
                range(3),
                [result[f"{c}_final_train_loss"][j] for c in CRITERIA],
                "-",
                color="0.7",
                lw=0.5,
            )
        ax.set_yscale("log")
        ax.set_xticks(range(3))
        ax.set_xticklabels(CRITERIA)
        ax.set_ylabel("final training loss")
        ax.set_title(
            f"small < large in {result['small_below_large']}/{n}, small < random in "
            f"{result['small_below_random']}/{n} seeds",
            fontsize=7,
        )
        mode = "quick run, " if result["quick"] else ""
        fig.suptitle(
            f"NanoAdam k = 0.05, m = 20, lr 1e-2, {result['steps']} steps, {mode}"
            "digits MLP 64-128-128-10 finetuned on digits 5-9",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="nanoadam.masks",
    paper="nanoadam",
    figure="Pay Attention to Small Weights (NeurIPS 2025): small- vs large- vs "
    "random-magnitude masks (digits-scale ablation)",
    title="NanoAdam's mask criterion: small, random or large weights (digits "
    "finetuning)",
    description=(
        "The digits MLP pretrained on 0-4, finetuned on 5-9 with NanoAdam (k = 0.05, "
        "m = 20, lr 1e-2, 150 full-batch steps, head excluded) updating the "
        "smallest, random or largest 5 % of each weight matrix. Left: training loss, "
        "mean +- std over 5 seeds; right: final loss per seed (lines join a seed)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("nanoadam.small_vs_large_mask",),
)
