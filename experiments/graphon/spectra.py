r"""Spectral metrics of the Graphon NTK of pruned MLPs against sparsity (Graphon
Limit Hypothesis, Fig. 3).

Pham, Ta, Jacobs, Burkholz & Tran-Thanh, The Graphon Limit Hypothesis (NeurIPS 2025),
Sec. 6 and Fig. 3. The digits MLP 64-256-256-256-256-10 is pruned by random, SNIP and
SynFlow pruning (global, as in the Synaptic-Flow code) at 50-95 % sparsity; every
layer's mask, the input layer included, is turned into a step graphon
(`mirrorflow.papers.graphon.mask_graphon`: SAS with K = 32 blocks); the quadrature
Graphon NTK on 256 digits images gives the four metrics of
`mirrorflow.spectral.kernel_spectrum`: the decay exponent $\alpha$ of
$\lambda_i \propto i^{-\alpha}$ (least squares over every eigenvalue above
$10^{-10}\lambda_1$; the fitted range is stored), the trace rank
$\mathrm{tr}/\lambda_1$, the spectral gap $\lambda_1/\lambda_2$ and the top-5 energy
$\sum_{i\le5}\lambda_i / \mathrm{tr}$; seed mean with the seeds as dots, the dense
NTK's value as a line. Random masks give a constant graphon whose kernel is the dense
one times a scalar (claim `graphon.constant_spectra`); hidden-layer structure only
rescales it (`graphon.hidden_reweighting`): only the input-layer mask can change the
spectral shape, which is where SNIP's data-dependence shows (`graphon.top_energy`).
"""

import dataclasses

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.graphon import dense_relu_ntk
from mirrorflow.papers.graphon import (
    HIDDEN,
    METHODS,
    SPARSITIES,
    spectra_study,
    spectrum_inputs,
)
from mirrorflow.spectral import kernel_spectrum


METRICS = (
    ("decay", r"decay exponent $\alpha$"),
    ("trace_rank", r"trace rank $\mathrm{tr}/\lambda_1$"),
    ("gap", r"spectral gap $\lambda_1/\lambda_2$"),
    ("top_energy", "top-5 energy"),
)
LABELS = {"random": "random", "snip": "SNIP", "synflow": "SynFlow"}


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: the first seed (network init, split, masks); seeds `seed, ...,
            seed + n_seeds - 1`.
        n_seeds: networks per point (`--quick`: 1).
        sparsities: pruned fractions (`--quick`: 50 % and 90 %).
    """

    seed: int = 0
    n_seeds: int = 5
    sparsities: tuple[float, ...] = SPARSITIES


def run(config: Config, quick: bool) -> dict:
    """Spectral metrics per method, seed and sparsity, and the dense NTK's."""
    n_seeds = 1 if quick else config.n_seeds
    sparsities = (0.5, 0.9) if quick else config.sparsities
    seeds = tuple(range(config.seed, config.seed + n_seeds))
    study = spectra_study(seeds=seeds, sparsities=sparsities)
    dense = kernel_spectrum(
        np.asarray(dense_relu_ntk(spectrum_inputs(), depth=len(HIDDEN)))
    )
    result = {"sparsities": np.asarray(sparsities), "n_seeds": n_seeds}
    for key, _ in METRICS:
        result[f"dense__{key}"] = float(getattr(dense, key))
        for method in METHODS:
            result[f"{method}__{key}"] = np.asarray(
                [[getattr(x, key) for x in row] for row in study[method]]
            )
    result["dense_fit_range"] = np.asarray(dense.fit_range)
    return result


def plot(result: dict, path) -> None:
    """Four metrics against sparsity, one line per method, the dense value dashed."""
    q = 100 * result["sparsities"]
    with paper_style():
        fig, axes = new_figure(1, 4, width=8.0, height=2.4)
        for k, (key, label) in enumerate(METRICS):
            ax = axes[0, k]
            for j, method in enumerate(METHODS):
                vals = result[f"{method}__{key}"]  # (seeds, sparsities)
                off = (j - 1) * 0.6
                ax.plot(
                    np.tile(q + off, (vals.shape[0], 1)).ravel(),
                    vals.ravel(),
                    ".",
                    color=COLORS[j],
                    ms=2,
                    alpha=0.5,
                )
                ax.plot(
                    q + off,
                    vals.mean(0),
                    "o-",
                    color=COLORS[j],
                    ms=3,
                    label=LABELS[method],
                )
            ax.axhline(
                result[f"dense__{key}"], color="k", ls="--", lw=0.8, label="dense"
            )
            ax.set_xlabel("sparsity (%)")
            ax.set_title(label, fontsize=7)
            if k == 0:
                ax.legend(fontsize=5)
        fig.suptitle(
            f"Graphon NTK (K = 32 SAS graphons, all layers) of the pruned digits MLP "
            f"64-{HIDDEN[0]}x{len(HIDDEN)}-10 on 256 images; {result['n_seeds']} "
            "seed(s): mean and dots",
            fontsize=7,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="graphon.spectra",
    paper="graphon",
    figure="The Graphon Limit Hypothesis, Fig. 3 (spectral metrics vs sparsity)",
    title="Graphon NTK spectra of pruned MLPs against sparsity",
    description=(
        "Decay exponent, trace rank, spectral gap and top-5 energy of the Graphon "
        "NTK built from the SAS graphons of random, SNIP and SynFlow masks of the "
        "digits MLP, against sparsity; dashed: the dense NTK. Random masks keep the "
        "dense spectrum exactly (a constant graphon rescales the kernel); SNIP's "
        "data-driven input-layer mask concentrates energy in the top eigenvalues as "
        "sparsity grows; SynFlow's data-free masks stay near the dense spectrum (in "
        "the paper they concentrate it too: not reproduced here)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=(
        "graphon.constant_spectra",
        "graphon.hidden_reweighting",
        "graphon.top_energy",
    ),
)
