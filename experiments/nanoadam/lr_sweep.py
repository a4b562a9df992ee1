r"""Learning-rate sweep: NanoAdam vs AdamW finetuning on digits.

Pay Attention to Small Weights (Zhou, Jacobs, Gadhikar & Burkholz, NeurIPS 2025)
reports that NanoAdam tolerates larger learning rates than AdamW. On the setup of
`nanoadam.masks` (digits MLP 64-128-128-10 pretrained on 0-4, finetuned on 5-9 for
150 full-batch steps; NanoAdam k = 0.05, m = 20, small-magnitude mask, head
excluded; AdamW `optax.adamw` on everything) both optimizers run at lr 1e-3, 1e-2
and 1e-1 (`papers.digits.nanoadam_finetune`). Shown: final task-B training loss,
task-B test accuracy and forgetting of task A, mean ± std over seeds.
"""

import dataclasses
import time

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.digits import nanoadam_finetune


OPTS = ("nanoadam", "adamw")
METRICS = ("final_train_loss", "new_task_acc", "forgetting")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: shifts the seed block (runs use seed_offset + seed + j; 200-204 at
            seed 0, as in `nanoadam.masks`).
        num_seeds, num_seeds_quick: 5; quick 2.
        lrs: the learning rates.
        k, mask_every: NanoAdam's density and mask interval.
        steps, steps_quick: finetuning steps (150; quick 30).
    """

    seed: int = 0
    #: Runs use seeds seed_offset + seed + j, j = 0, 1, ... (the spec's block).
    seed_offset: int = 200
    num_seeds: int = 5
    num_seeds_quick: int = 2
    lrs: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    k: float = 0.05
    mask_every: int = 20
    steps: int = 150
    steps_quick: int = 30


def run(config: Config, quick: bool) -> dict:
    n = config.num_seeds_quick if quick else config.num_seeds
    steps = config.steps_quick if quick else config.steps
    seeds = [config.seed_offset + config.seed + i for i in range(n)]
    out: dict = {"seeds": np.asarray(seeds), "lrs": np.asarray(config.lrs)}
    t0 = time.perf_counter()
    for opt in OPTS:
        vals = {m: np.zeros((len(config.lrs), n)) for m in METRICS}
        for i, lr in enumerate(config.lrs):
            r = nanoadam_finetune(
                seeds,
                optimizer=opt,
                lr=lr,
                k=config.k,
                steps=steps,
                mask_every=config.mask_every,
            )
            for m in METRICS:
                vals[m][i] = r[m]
        for m in METRICS:
            out[f"{opt}_{m}"] = vals[m]
            out[f"{opt}_{m}_mean"] = vals[m].mean(1)
            out[f"{opt}_{m}_std"] = vals[m].std(1)
    out["wall_time"] = time.perf_counter() - t0
    out["steps"] = steps
    out["quick"] = bool(quick)
    return out


def plot(result: dict, path) -> None:
    lrs = np.asarray(result["lrs"])
    names = {
        "final_train_loss": "final task-B training loss",
        "new_task_acc": "task-B test accuracy",
        "forgetting": "forgetting of task A (accuracy)",
    }
    with paper_style():
        fig, axes = new_figure(1, 3, width=7.2, height=2.8)
        for j, m in enumerate(METRICS):
            ax = axes[0, j]
            for i, o in enumerate(OPTS):
                ax.errorbar(
                    lrs * (1 + 0.06 * (i - 0.5)),
                    result[f"{o}_{m}_mean"],
                    yerr=result[f"{o}_{m}_std"],
                    marker="os"[i],
                    ms=3,
                    capsize=2,
                    color=COLORS[i],
                    label="NanoAdam (k = 0.05)" if o == "nanoadam" else "AdamW",
                )
            ax.set_xscale("log")
            if m == "final_train_loss":
                ax.set_yscale("log")
            ax.set_xlabel("learning rate")
            ax.set_title(names[m], fontsize=7)
            ax.legend(fontsize=6)
        n = len(result["seeds"])
        mode = "quick run, " if result["quick"] else ""
        fig.suptitle(
            f"digits finetuning 0-4 -> 5-9, {result['steps']} full-batch steps, "
            f"{mode}mean ± std over {n} seeds",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="nanoadam.lr_sweep",
    paper="nanoadam",
    figure="Pay Attention to Small Weights (NeurIPS 2025): learning-rate tolerance "
    "(digits-scale)",
    title="Learning-rate sweep of NanoAdam and AdamW finetuning on digits",
    description=(
        "NanoAdam (k = 0.05, m = 20, head excluded) and AdamW finetuning the "
        "pretrained digits MLP on 5-9 for 150 full-batch steps at lr 1e-3, 1e-2, "
        "1e-1: final training loss, task-B test accuracy and forgetting of task A, "
        "mean +- std over 5 seeds."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("nanoadam.small_vs_large_mask",),
)
