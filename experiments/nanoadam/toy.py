r"""The Theorem 2.2 toy: finetune small weights or large gradients (NanoAdam, Fig. 3).

Pay Attention to Small Weights (Zhou, Jacobs, Gadhikar & Burkholz, NeurIPS 2025),
Section 2.3 and Appendix E, Table 8. A 20-neuron two-layer ReLU student
(`problems.TwoLayerReLU`, paired init) pretrained by GD on a 2-neuron teacher in
$d = 2$ ($N = 2000$ Gaussian inputs), then finetuned ($10^4$ GD steps, $\eta = 1$) on
teacher + one extra neuron with three strategies: only the smallest neuron $j$ of the
extra neuron's sign (the theorem's idealization; also its gradient flow), the
per-layer 10% smallest weights, the per-layer 10% largest gradients (masks refreshed
every step). (a-c) The neurons as points $|a_i|w_i$ (filled: $a_i > 0$, open:
$a_i < 0$) before (grey) and after finetuning for seed `config.seed`, teacher and
extra neuron as arrows. (d, e) Test loss and $\ell_2$ shift
$\|\theta_\mathrm{ft} - \theta_\mathrm{pre}\|_2$ (all 60 weights) per seed and their
mean, with the paper's Table 8 (its $\ell_2$ definition unstated) as "paper". (f) The
distance of the flow's limit $v_\infty$ to the extra neuron $\tilde v$ against the start
angle of $w_j$ to $\tilde w$ (claim `nanoadam.toy_smallest_neuron`).
Pretraining uses $\eta = 1$: the paper's $\eta = 2$ diverges on 2 of the 10 seeds
with our loss $\frac1{2N}\sum$.
"""

import dataclasses

import numpy as np

from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    positive,
    save_figure,
)
from mirrorflow.papers.teacher_student import (
    DENSITY,
    PAPER_TABLE8,
    STRATEGIES,
    WIDTH,
    compare,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: the seed whose neurons panel (a) draws.
        n_seeds: seeds 0, ..., n_seeds - 1 of the comparison (`--quick`: 3).
        density: per-layer fraction updated by the two mask strategies.
    """

    seed: int = 0
    n_seeds: int = 10
    density: float = DENSITY


METRICS = ("test_loss", "train_loss", "shift", "shift_others", "extra_err")
RUNS = (*STRATEGIES, "smallest_neuron_flow")


def run(config: Config, quick: bool) -> dict:
    """The 10-seed comparison and seed `config.seed`'s neurons."""
    n = 3 if quick else config.n_seeds
    seeds = sorted({*range(n), config.seed})
    out = compare(seeds, density=config.density)
    i = seeds.index(config.seed)
    inst = out["instance"]
    result = {
        "seeds": np.asarray(seeds),
        "x_pre": out["x_pre"][i],
        "teacher_a": inst.teacher_a[i],
        "teacher_W": inst.teacher_W[i],
        "extra_a": inst.extra_a[i],
        "extra_w": inst.extra_w[i],
        "seed": config.seed,
        "j": int(out["smallest_neuron"]["j"][i]),
        "density": config.density,
        "start_angle": out["start_angle"],
    }
    for name in RUNS:
        m = out[name]
        for k in (*METRICS, "preserved", "top2_same_set"):
            result[f"{name}__{k}"] = np.asarray(m[k])
        result[f"{name}__x_ft"] = m["x_ft"][i]
    for k, v in out["wall"].items():
        result[f"wall__{k}"] = float(v)
    return result


def _neurons(x):
    a, W = x[:WIDTH], x[WIDTH:].reshape(WIDTH, -1)
    return np.abs(a)[:, None] * W, a > 0


_LABELS = {
    "smallest_neuron": "smallest neuron $j$",
    "small_weights": "small weights",
    "large_gradients": "large gradients",
    "smallest_neuron_flow": "neuron $j$, flow",
}


def plot(result: dict, path) -> None:
    """(a-c) neurons before/after per strategy, (d) test loss, (e) shift, (f) the
    flow's distance to the extra neuron against the start angle of $w_j$."""
    with paper_style():
        fig, axes = new_figure(2, 3, width=9.0, height=6.0)
        v_pre, _ = _neurons(result["x_pre"])
        ta, tW = result["teacher_a"], result["teacher_W"]
        ev = abs(float(result["extra_a"])) * result["extra_w"]
        i_seed = list(result["seeds"]).index(result["seed"])
        for k, name in enumerate(STRATEGIES):
            ax = axes[0, k]
            for v in np.abs(ta)[:, None] * tW:
                ax.annotate(
                    "", v, (0, 0), arrowprops=dict(arrowstyle="->", color="k", lw=0.8)
                )
            ax.annotate(
                "", ev, (0, 0), arrowprops=dict(arrowstyle="->", color=COLORS[3], lw=1)
            )
            ax.scatter(*v_pre.T, s=22, c="0.75", label="pretrained")
            v, pos = _neurons(result[f"{name}__x_ft"])
            for sel, fill in ((pos, True), (~pos, False)):
                ax.scatter(
                    *v[sel].T,
                    s=12,
                    edgecolors=COLORS[0] if fill else COLORS[1],
                    facecolors=COLORS[0] if fill else "none",
                    label=r"finetuned, $a_i>0$" if fill else r"finetuned, $a_i<0$",
                )
            loss = result[f"{name}__test_loss"][i_seed]
            ax.set_title(
                f"({'abc'[k]}) {_LABELS[name]}, seed {result['seed']}\n"
                f"test loss {loss:.2g}",
                fontsize=7,
            )
            pts = np.vstack([v_pre, v, ev[None], np.abs(ta)[:, None] * tW, [[0, 0]]])
            lo, hi = pts.min(0) - 0.15, pts.max(0) + 0.15
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal")
            ax.axhline(0, color="0.85", lw=0.5)
            ax.axvline(0, color="0.85", lw=0.5)
            ax.set_xlabel(r"$|a_i|w_{i,1}$")
        axes[0, 0].set_ylabel(r"$|a_i|w_{i,2}$")
        axes[0, 0].legend(fontsize=5, loc="lower left")
        n = len(result["seeds"])
        for k, (metric, label) in enumerate(
            (
                ("test_loss", "(d) test loss"),
                ("shift", r"(e) $\ell_2$ shift $\|\theta_{ft}-\theta_{pre}\|_2$"),
            )
        ):
            ax = axes[1, k]
            for i, name in enumerate(RUNS):
                vals = result[f"{name}__{metric}"]
                ax.plot(np.full(n, i), positive(vals, 1e-12), ".", color="0.55", ms=3)
                ax.plot(
                    i,
                    max(vals.mean(), 1e-12),
                    "_",
                    color=COLORS[i % len(COLORS)],
                    ms=14,
                    mew=2,
                    label="mean" if i == 0 else None,
                )
                if name in PAPER_TABLE8:
                    mu, sd = PAPER_TABLE8[name][metric]
                    ax.errorbar(
                        i + 0.3,
                        mu,
                        [[min(sd, 0.9 * mu)], [sd]],
                        fmt="s",
                        color="k",
                        mfc="none",
                        capsize=2,
                        label="paper, Table 8 (mean ± std)" if i == 1 else None,
                    )
            ax.set_yscale("log")
            ax.set_xticks(range(len(RUNS)))
            ax.set_xticklabels([_LABELS[r] for r in RUNS], rotation=25, fontsize=6)
            ax.set_title(f"{label}, {n} seeds (dots)", fontsize=7)
            ax.legend(fontsize=5, loc="lower right")
        ax = axes[1, 2]
        err = result["smallest_neuron_flow__extra_err"]
        ax.plot(
            result["start_angle"] / np.pi, positive(err, 1e-12), "o", color=COLORS[0]
        )
        ax.axhline(0.1, color="0.5", ls="--", lw=0.8, label="'learned' threshold 0.1")
        ax.set_yscale("log")
        ax.set_xlabel(r"start angle between $w_j$ and $\tilde w$ ($\pi$)")
        ax.set_ylabel(r"$\|v_\infty - \tilde v\|$ (flow of neuron $j$)")
        ax.set_title("(f) Thm 2.2: the flow's limit, per seed", fontsize=7)
        ax.legend(fontsize=5)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="nanoadam.toy",
    paper="nanoadam",
    figure="Pay Attention to Small Weights, Fig. 3 and Table 8 (Theorem 2.2 toy)",
    title="Finetuning the smallest neuron vs small weights vs large gradients",
    description=(
        "A 20-neuron ReLU student pretrained on a 2-neuron teacher is finetuned on "
        "teacher + 1 extra neuron (arrow, red) by training only the smallest "
        "matching-sign neuron j (GD and gradient flow), the per-layer 10% smallest "
        "weights, or the 10% largest gradients. Points: neurons |a_i| w_i before "
        "(grey) and after. Bottom: test loss and l2 shift over 10 seeds (black "
        "squares: the paper's Table 8, its l2 definition unstated), and the flow's "
        "distance to the extra neuron against the start angle of w_j."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("nanoadam.toy_smallest_neuron",),
)
