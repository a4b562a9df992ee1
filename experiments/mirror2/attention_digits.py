r"""One attention layer on digits: $\|K^\top Q\|_*/\|K^\top Q\|_F$ against decay.

Mirror, Mirror of the Flow (Jacobs, Zhou & Burkholz 2025), Fig. 3 (a tiny ViT's
attention layer on CIFAR-10), scaled down as recipe R-M3: sklearn's digits, each image
as 8 row tokens of dimension 8 (80/20 split), one softmax attention layer with
$K, Q\in\mathbb R^{8\times8}$, $V = I$, mean pooling and a linear readout; full-batch
AdamW (lr $3\cdot10^{-3}$, 300 steps) for eight weight decays, seeds 0-2 (each seed
its own split and initialization).

(a) the ratio during training, mean over the seeds, one curve per decay; (b) the final
ratio against the decay (seed mean and each seed); (c) the validation error against
the decay. The claim `mirror2.attention_wd_ratio` checks that the final ratio falls
monotonically in the decay; the paper's second panel (larger decay, lower error) is
reported, not checked: at this scale and budget the errors are flat (the model is far
from fitted after 300 steps at this learning rate). Training runs in JAX's default
float (float64 under the app, as in the claim; the optimizers' float32 runs are
tested in tests/test_attention.py); the JAX device and wall time are in the sidecar.
"""

import dataclasses
import time

import jax
import matplotlib
import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.mirror2 import ATTENTION_STEPS, ATTENTION_WDS, attention_wd_sweep


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the sweep.

    Attributes:
        seed: the first seed; the runs use `seed, ..., seed + num_seeds - 1` (each
            its own data split and initialization; the recipe's 0-2).
        num_seeds: how many seeds.
        wds: AdamW's weight decays.
        steps: full-batch AdamW steps (the recipe's 300); `--quick` uses
            `steps_quick` and the first seed only.
        steps_quick: steps of the quick run.
    """

    seed: int = 0
    num_seeds: int = 3
    wds: tuple[float, ...] = ATTENTION_WDS
    steps: int = ATTENTION_STEPS
    steps_quick: int = 40


def run(config: Config, quick: bool) -> dict:
    """The sweep per seed, with the device, dtype and wall time."""
    seeds = [config.seed + j for j in range(1 if quick else config.num_seeds)]
    steps = config.steps_quick if quick else config.steps
    out = {"wds": np.asarray(config.wds), "seeds": np.asarray(seeds)}
    ratios, errors, losses, walls = [], [], [], []
    for seed in seeds:
        t0 = time.perf_counter()
        res = attention_wd_sweep(seed, config.wds, steps=steps)
        walls.append(time.perf_counter() - t0)
        ratios.append(res["ratio"])
        errors.append(res["val_error"])
        losses.append(res["train_loss"])
        dtype = str(res["ratio"].dtype)
    out |= {
        "ratio": np.asarray(ratios),  # (seed, wd, step)
        "val_error": np.asarray(errors),
        "train_loss": np.asarray(losses),
        "wall_time_per_seed": np.asarray(walls),
        "device": str(jax.devices()[0]),
        "dtype": dtype,
    }
    return out


def plot(result: dict, path) -> None:
    """(a) ratio over training; (b) final ratio vs decay; (c) validation error."""
    wds = result["wds"]
    ratio = result["ratio"]
    steps = np.arange(1, ratio.shape[-1] + 1)
    x = np.where(wds > 0, wds, wds[wds > 0].min() / 3)  # wd = 0 drawn left of the rest
    cmap = matplotlib.colormaps["viridis"]
    with paper_style():
        fig, axes = new_figure(1, 3, width=7.2, height=2.5)
        ax = axes[0, 0]
        for i, wd in enumerate(wds):
            ax.plot(
                steps,
                ratio[:, i].mean(axis=0),
                color=cmap(i / max(len(wds) - 1, 1)),
                lw=1.0,
                label=f"wd={wd:g}",
            )
        ax.set_xlabel("AdamW step")
        ax.set_ylabel(r"$\|K^\top Q\|_*/\|K^\top Q\|_F$")
        ax.set_title("(a) during training (seed mean)")
        ax.legend(fontsize=5, ncol=2)
        ax = axes[0, 1]
        final = ratio[:, :, -1]
        for j in range(final.shape[0]):
            ax.semilogx(x, final[j], ".", color="0.6", ms=3)
        ax.semilogx(x, final.mean(axis=0), "o-", color=COLORS[0], ms=3, label="mean")
        ax.set_xlabel("weight decay (leftmost: 0)")
        ax.set_ylabel("final ratio")
        ax.set_title("(b) final ratio: falls with decay")
        ax.legend(fontsize=6)
        ax = axes[0, 2]
        err = result["val_error"]
        for j in range(err.shape[0]):
            ax.semilogx(x, err[j], ".", color="0.6", ms=3)
        ax.semilogx(x, err.mean(axis=0), "o-", color=COLORS[1], ms=3, label="mean")
        ax.set_xlabel("weight decay (leftmost: 0)")
        ax.set_ylabel("validation error")
        ax.set_title("(c) validation error (reported)")
        ax.legend(fontsize=6)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mirror2.attention_digits",
    paper="mirror2",
    figure="Mirror, Mirror of the Flow, Fig. 3 (attention: ratio vs weight decay)",
    title="One attention layer on digits tokens: ||K^T Q||_*/||K^T Q||_F falls with "
    "weight decay",
    description=(
        "Digits as 8 row tokens (dim 8), one softmax attention layer (K, Q 8x8, "
        "V = I), "
        "mean pooling, linear head; full-batch AdamW lr 3e-3, 300 steps, 8 weight "
        "decays, seeds 0-2. (a) the ratio during training; (b) the final "
        "ratio against the decay; (c) the validation error (reported)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mirror2.attention_wd_ratio",),
)
