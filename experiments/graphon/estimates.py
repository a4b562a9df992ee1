r"""SAS graphon estimates of pruning masks and their convergence in width (Graphon
Limit Hypothesis, Fig. 1).

Pham, Ta, Jacobs, Burkholz & Tran-Thanh, The Graphon Limit Hypothesis (NeurIPS 2025),
Sec. 4.3 and Fig. 1. The digits MLP 64-n-n-n-n-10 (He init, `jax.random.key(trial)`)
is pruned at initialization by random, magnitude, SNIP, GraSP and SynFlow pruning
(`mirrorflow.masks.prune`, global over the five weight matrices as in the
Synaptic-Flow code) at 70/80/90 % sparsity. Each hidden-to-hidden mask
($W_2, W_3, W_4$; the input and output layers excluded, as in the paper) is
estimated by the degree-sorted block average (`mirrorflow.graphon.sas`, K blocks).

Top: the estimates of $W_3$ at the widest n for trial 0, method by column and
sparsity by row, on **one colour scale for every panel** (edge density 0 to 1, one
colour bar). Bottom: the distance of the estimate at width n to the one at the widest
width (rms over the K x K step graphon, averaged over the three hidden layers and the
trials, trial t at width n against trial t at the widest), against n on log-log
axes with a $1/\sqrt{n}$ reference line. The constant graphon of random and
magnitude pruning and the non-uniform graphon of SNIP are the claims
`graphon.random_constant` and `graphon.snip_rank1` (checked on synthetic masks with
closed-form limits).
"""

import dataclasses

import numpy as np

from mirrorflow.app import COLORS, Experiment, paper_style, save_figure
from mirrorflow.graphon import sas, sas_zeta
from mirrorflow.papers.graphon import digits_masks


METHODS = ("random", "magnitude", "snip", "grasp", "synflow")
LABELS = {
    "random": "random",
    "magnitude": "magnitude",
    "snip": "SNIP",
    "grasp": "GraSP",
    "synflow": "SynFlow",
}
HIDDEN_MASKS = ("W2", "W3", "W4")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: the first trial's seed (trials use `seed, seed + 1, ...`).
        widths: hidden widths n (`--quick`: the first three).
        trials: masks per (method, sparsity, width) (`--quick`: 1).
        K: SAS blocks (at most the smallest width).
        sparsities: pruned fractions.
        methods: pruning methods (`mirrorflow.masks.PRUNING_METHODS`), one column
            each.
    """

    seed: int = 0
    widths: tuple[int, ...] = (64, 128, 256, 512)
    trials: int = 5
    K: int = 32
    sparsities: tuple[float, ...] = (0.7, 0.8, 0.9)
    methods: tuple[str, ...] = METHODS


def _estimates(method, sparsity, seed, width, K):
    """SAS estimates of the three hidden masks, rows = output units."""
    _, mask = digits_masks(method, sparsity, seed, width)
    return np.stack([sas(np.asarray(mask[k]).T, K) for k in HIDDEN_MASKS])


def run(config: Config, quick: bool) -> dict:
    """SAS estimates per method, sparsity, width and trial; distances to the widest."""
    widths = config.widths[:3] if quick else config.widths
    trials = 1 if quick else config.trials
    if config.K > min(widths):
        raise ValueError(
            f"`K` = {config.K} exceeds the smallest width {min(widths)}; pass a "
            "smaller K or larger widths."
        )
    seeds = [config.seed + t for t in range(trials)]
    result = {
        "widths": np.asarray(widths),
        "sparsities": np.asarray(config.sparsities),
        "trials": trials,
        "K": config.K,
    }
    result["methods"] = np.asarray(config.methods)
    for method in config.methods:
        for sparsity in config.sparsities:
            # (widths, trials, 3 layers, K, K)
            H = np.stack(
                [
                    np.stack(
                        [_estimates(method, sparsity, s, n, config.K) for s in seeds]
                    )
                    for n in widths
                ]
            )
            widest = H[-1]
            dist = np.sqrt(np.mean((H - widest[None]) ** 2, axis=(3, 4)))  # (w, t, 3)
            tag = f"{method}__{round(100 * sparsity)}"
            result[f"{tag}__heat"] = widest[0, 1]  # W3, trial 0, widest width
            result[f"{tag}__dist"] = dist.mean(axis=(1, 2))
            result[f"{tag}__density"] = float(widest.mean())
    # Random masks: the closed-form law of two independent estimates' distance.
    # Sorting bias sqrt(p(1-p)/n)(zeta_a + zeta_b) is deterministic, block noise
    # of variance p(1-p)K^2/n^2 independent at the two widths.
    z2 = float(np.mean(np.asarray(sas_zeta(config.K)) ** 2))
    n_max = widths[-1]
    for sparsity in config.sparsities:
        p = 1.0 - sparsity
        result[f"random__{round(100 * sparsity)}__law"] = np.asarray(
            [
                np.sqrt(
                    p
                    * (1 - p)
                    * (
                        2 * z2 * (n**-0.5 - n_max**-0.5) ** 2
                        + config.K**2 * (n**-2.0 + n_max**-2.0)
                    )
                )
                for n in widths
            ]
        )
    return result


def plot(result: dict, path) -> None:
    """Heat maps (one colour scale) and distance to the widest estimate vs width."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    sparsities = [round(100 * q) for q in result["sparsities"]]
    methods = [str(m) for m in result["methods"]]
    widths = result["widths"]
    n_rows = len(sparsities)
    with paper_style():
        fig = Figure(figsize=(8.0, 1.5 * n_rows + 2.4), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.5 * n_rows, 2.0])
        axes = top.subplots(n_rows, len(methods), squeeze=False)
        im = None
        for i, q in enumerate(sparsities):
            for j, method in enumerate(methods):
                ax = axes[i, j]
                H = result[f"{method}__{q}__heat"]
                im = ax.imshow(
                    H, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest"
                )
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(LABELS.get(method, method), fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{q} % sparse", fontsize=7)
                ax.text(
                    0.97,
                    0.04,
                    f"mean {H.mean():.3f}",
                    transform=ax.transAxes,
                    ha="right",
                    fontsize=5,
                    color="w",
                )
        cbar = top.colorbar(im, ax=axes.ravel().tolist(), shrink=0.9)
        cbar.set_label(
            f"edge density (one scale for all {n_rows * len(methods)} maps)",
            fontsize=6,
        )
        top.suptitle(
            f"SAS estimates of $W_3$ at n = {widths[-1]} (K = {result['K']}, trial 0)",
            fontsize=8,
        )
        ref_n = widths[:-1].astype(float)
        low = bottom.subplots(1, n_rows, squeeze=False)[0]
        for k, q in enumerate(sparsities):
            ax = low[k]
            first = 0.0
            for j, method in enumerate(methods):
                d = result[f"{method}__{q}__dist"][:-1]
                first = max(first, d[0])
                ax.plot(
                    ref_n,
                    d,
                    "o-",
                    ms=3,
                    color=COLORS[j],
                    label=LABELS.get(method, method),
                )
            ax.plot(
                ref_n,
                result[f"random__{q}__law"][:-1],
                ":",
                color="0.3",
                lw=1.2,
                label="random: closed-form law",
            )
            ax.plot(
                ref_n,
                first * np.sqrt(ref_n[0] / ref_n),
                "k--",
                lw=0.8,
                label=r"$\propto 1/\sqrt{n}$",
            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(ref_n, [str(int(n)) for n in ref_n])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("width n")
            ax.set_title(f"{q} % sparse", fontsize=7)
            if k == 0:
                ax.set_ylabel(r"rms$(H_n - H_{n_{max}})$")
                ax.legend(fontsize=5, ncol=2)
        bottom.suptitle(
            f"distance to the n = {widths[-1]} estimate ({result['trials']} "
            "trial(s), layers $W_2$-$W_4$)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="graphon.estimates",
    paper="graphon",
    figure="The Graphon Limit Hypothesis, Fig. 1 (SAS estimates per pruning method)",
    title="SAS graphon estimates of pruning masks and their convergence in width",
    description=(
        "Masks of the digits MLP 64-n x 4-10 by random, magnitude, SNIP, GraSP and "
        "SynFlow pruning at 70/80/90 % sparsity, estimated by degree-sorted block "
        "averaging (K = 32). Top: the W3 estimate at the widest width, all maps on "
        "one colour scale (0 to 1). Random and magnitude pruning give a flat "
        "graphon at the layer's density; SNIP, GraSP and SynFlow give structured "
        "ones. Bottom: the rms distance to the widest estimate shrinks with width "
        "roughly like 1/sqrt(n) (dashed)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("graphon.random_constant", "graphon.snip_rank1"),
)
