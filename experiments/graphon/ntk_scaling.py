r"""The Graphon NTK of a constant graphon is a power of the density times the dense
NTK, and finite masked networks approach it at the rate $n^{-1/2}$ (Graphon Limit
Hypothesis, Sec. 5.3).

Pham, Ta, Jacobs, Burkholz & Tran-Thanh, The Graphon Limit Hypothesis (NeurIPS 2025),
Prop. 1, Thm 1 and Sec. 5.3. (a) The ratio of the quadrature Graphon NTK
(`mirrorflow.graphon.graphon_ntk`) of a ReLU MLP with L = 3 hidden layers and
constant graphon c to the closed-form dense NTK (`dense_relu_ntk`), against c, with
every weight matrix masked (exactly $c^{L+1}$) and with a dense readout (exactly
$c^L$, the paper's statement); the dots are finite networks of width 1024 with
Bernoulli(c) masks on every layer (mean ratio over the input pairs, one per seed).
(b) The relative Frobenius error of the empirical NTK
(`mirrorflow.graphon.empirical_ntk`) of finite masked MLPs against the infinite-width
kernel, root mean square over seeds, against the width n on log-log axes with an
$n^{-1/2}$ line: the constant graphon 0.3 and the factorized graphon
$0.3(1.5-u)(1.5-v)$ on the hidden layers (dense input and readout, d = 16), and every
layer masked at c = 0.4 against $c^{L+1}\Theta_\mathrm{dense}$ (d = 256). Claims
`graphon.constant_ntk_scaling`, `graphon.finite_width_gntk`,
`graphon.finite_masked_scaling`.
"""

import dataclasses

import jax
import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.graphon import (
    MLPGraphon,
    dense_relu_ntk,
    empirical_ntk,
    graphon_ntk,
    init_params,
    sample_masks,
)
from mirrorflow.papers.graphon import (
    DEPTH,
    K,
    factorized_graphon,
    finite_width_study,
    gaussian_inputs,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: the seed of the inputs (6 Gaussian inputs) and of the first network.
        widths: widths n of panel (b) (`--quick`: the first three).
        n_seeds: networks per width in (b) and per density in (a) (`--quick`: 3).
        finite_width: the width of the finite networks of panel (a).
    """

    seed: int = 0
    widths: tuple[int, ...] = (128, 256, 512, 1024, 2048)
    n_seeds: int = 16
    finite_width: int = 1024


def run(config: Config, quick: bool) -> dict:
    """Ratios against c (a) and finite-width errors against n (b)."""
    widths = config.widths[:3] if quick else config.widths
    n_seeds = 3 if quick else config.n_seeds
    seeds = tuple(range(config.seed, config.seed + n_seeds))
    result = {"widths": np.asarray(widths), "n_seeds": n_seeds, "depth": DEPTH}

    X = gaussian_inputs(6, 256, config.seed)
    dense = np.asarray(dense_relu_ntk(X, depth=DEPTH))
    cs = np.linspace(0.05, 1.0, 20)
    for tag, readout in (("all", True), ("dense_readout", False)):
        result[f"ratio__{tag}"] = np.asarray(
            [
                float(
                    np.mean(
                        np.asarray(
                            graphon_ntk(
                                MLPGraphon.constant(
                                    c, DEPTH, 256, K, mask_readout=readout
                                ),
                                X,
                            )
                        )
                        / dense
                    )
                )
                for c in cs
            ]
        )
    result["cs"] = cs
    c_finite = np.asarray([0.1, 0.2, 0.4, 0.7, 1.0])
    finite = np.zeros((len(c_finite), n_seeds))
    n = config.finite_width
    for i, c in enumerate(c_finite):
        g = MLPGraphon.constant(float(c), DEPTH, 256, K)
        for j, s in enumerate(seeds):
            kp, km = jax.random.split(jax.random.key(50_000 + 100 * i + s))
            params = init_params(kp, X.shape[1], n, DEPTH)
            masks = sample_masks(g, n, km, dim=X.shape[1])
            finite[i, j] = np.mean(np.asarray(empirical_ntk(params, masks, X)) / dense)
    result["c_finite"] = c_finite
    result["ratio_finite"] = finite

    X16 = gaussian_inputs(6, 16, config.seed + 1)
    studies = {
        "constant": (
            MLPGraphon.constant(
                0.3, DEPTH, 16, K, mask_input=False, mask_readout=False
            ),
            X16,
            None,
        ),
        "factorized": (
            MLPGraphon.from_functions(DEPTH, 16, K, factorized_graphon),
            X16,
            None,
        ),
        "all_masked": (MLPGraphon.constant(0.4, DEPTH, 256, K), X, 0.4 ** (DEPTH + 1)),
    }
    for tag, (g, Xs, scale) in studies.items():
        ref = graphon_ntk(g, Xs) if scale is None else scale * dense
        study = finite_width_study(g, Xs, ref, widths=widths, seeds=seeds)
        result[f"err__{tag}"] = np.stack([study[w] for w in widths])  # (w, seeds)
    return result


def plot(result: dict, path) -> None:
    """(a) ratio vs c with c^(L+1), c^L; (b) finite-width error vs n with n^-1/2."""
    from matplotlib.ticker import NullLocator

    L = int(result["depth"])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=2.8)
        ax = axes[0, 0]
        cs = result["cs"]
        ax.plot(cs, cs ** (L + 1), "-", color="0.6", lw=3, label=f"$c^{{{L + 1}}}$")
        ax.plot(cs, cs**L, "-", color="0.85", lw=3, label=f"$c^{{{L}}}$ (paper)")
        ax.plot(
            cs, result["ratio__all"], "--", color=COLORS[0], label="GNTK, all masked"
        )
        ax.plot(
            cs,
            result["ratio__dense_readout"],
            ":",
            color=COLORS[1],
            label="GNTK, dense readout",
        )
        fin = result["ratio_finite"]
        for i, c in enumerate(result["c_finite"]):
            ax.plot(
                np.full(fin.shape[1], c),
                fin[i],
                ".",
                color=COLORS[2],
                ms=3,
                label="finite n = 1024, all masked" if i == 0 else None,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("graphon density c")
        ax.set_ylabel(r"$\Theta_c / \Theta_\mathrm{dense}$ (mean over pairs)")
        ax.set_title(f"(a) constant graphon, L = {L}", fontsize=8)
        ax.legend(fontsize=5)
        ax = axes[0, 1]
        widths = result["widths"].astype(float)
        labels = {
            "constant": "hidden constant 0.3",
            "factorized": "hidden $0.3(1.5-u)(1.5-v)$",
            "all_masked": r"all layers 0.4 vs $c^{L+1}\Theta_\mathrm{dense}$",
        }
        first = 0.0
        for j, (tag, label) in enumerate(labels.items()):
            err = result[f"err__{tag}"]
            rms = np.sqrt(np.mean(err**2, axis=1))
            first = max(first, rms[0])
            ax.plot(
                np.repeat(widths, err.shape[1]),
                err.ravel(),
                ".",
                color=COLORS[j],
                ms=2,
                alpha=0.4,
            )
            slope = np.polyfit(np.log(widths), np.log(rms), 1)[0]
            ax.plot(
                widths, rms, "o-", color=COLORS[j], ms=3, label=f"{label}: {slope:.2f}"
            )
        ax.plot(
            widths,
            first * np.sqrt(widths[0] / widths),
            "k--",
            lw=0.8,
            label="$n^{-1/2}$",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(widths, [str(int(w)) for w in widths])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("width n")
        ax.set_ylabel("relative Frobenius error of the empirical NTK")
        ax.set_title(
            f"(b) finite masked MLPs ({result['n_seeds']} seeds; rms, fitted slope)",
            fontsize=8,
        )
        ax.legend(fontsize=5)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="graphon.ntk_scaling",
    paper="graphon",
    figure="The Graphon Limit Hypothesis, Sec. 5.3 (constant-graphon NTK) and Thm 1",
    title="Constant-graphon NTK = c^(L+1) x dense, and the n^(-1/2) finite-width rate",
    description=(
        "(a) The quadrature Graphon NTK of a constant graphon c divided by the dense "
        "ReLU NTK lies on c^(L+1) with every layer masked and on c^L with a dense "
        "readout (the paper's convention); finite width-1024 networks scatter around "
        "c^(L+1). (b) The empirical NTK of finite masked MLPs approaches the "
        "infinite-width kernel like n^(-1/2) (dashed) for a constant and a factorized "
        "hidden graphon and for every layer masked."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=(
        "graphon.constant_ntk_scaling",
        "graphon.finite_width_gntk",
        "graphon.finite_masked_scaling",
    ),
)
