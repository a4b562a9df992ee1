r"""Matrix sensing: the limit of gradient flow on $X = UU^\top$ vs the minimum trace.

Gradient flow on $X = UU^\top$ from $U_0 = \alpha I$ (symmetric sensing, loss
$\tfrac12\lVert\mathcal A(X) - y\rVert^2$), integrated to loss $10^{-20}$ for a grid of
initialization scales $\alpha$, on two instances:

- commuting measurements (8 × 8, $n = 3$, rank-2 PSD truth, seed 0): the limit is
  the entropy Bregman projection of the eigenvalues (docs/theory/core.md,
  `core.matrix_sensing_nuclear`) and tends to the minimum-trace PSD interpolant as
  $\alpha \to 0$ (Gunasekar et al. 2017, Thm 1);
- Gaussian measurements (6 × 6, $n = 10$, rank-1 truth, seed 1), where the same
  statement is Gunasekar et al.'s conjecture.

(a) the distance of the flow's limit to the minimum-trace solution (cvxpy, duality
gap in the sidecar), and for the commuting instance to the projection; (b) the
nuclear norm of the limit against the minimum trace. The commuting distance levels off
near 4e-9 for the smallest alphas: the accuracy of the convex solution itself (its
duality gap is ~3e-9).
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

import mirrorflow as mf
from mirrorflow import spectral
from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.core import eigenvalue_projection
from mirrorflow.problems import random_sensing
from mirrorflow.references import min_nuclear_norm
from mirrorflow.reparam import MatrixFactorization


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Settings of the sweep.

    Attributes:
        seed: seed of the commuting instance (the Gaussian one uses `seed + 1`).
        alphas: initialization scales of the full run; `--quick` uses
            `alphas_quick`.
        alphas_quick: the quick run's scales.
        stop_loss: the flows stop at this loss (converged).
    """

    seed: int = 0
    alphas: tuple[float, ...] = (3e-1, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
    alphas_quick: tuple[float, ...] = (1e-1, 1e-2)
    stop_loss: float = 1e-20


def _instances(seed: int):
    return {
        "commuting": random_sensing(
            8, 8, 3, seed, rank=2, symmetric=True, commuting=True
        ),
        "gaussian": random_sensing(6, 6, 10, seed + 1, rank=1, symmetric=True),
    }


def run(config: Config, quick: bool) -> dict:
    """Flow limits on the alpha grid, their distances and nuclear norms."""
    alphas = np.asarray(config.alphas_quick if quick else config.alphas)
    out = {"alphas": alphas}
    for tag, prob in _instances(config.seed).items():
        m = prob.matrix_shape[0]
        flow = mf.GradientFlow(prob, MatrixFactorization(symmetric=True))
        best = min_nuclear_norm(prob, psd=True)
        x_best = np.asarray(best.x)
        dist, nuc, proj = [], [], []
        for a in alphas:
            sol = mf.integrate(flow, float(a) * jnp.eye(m), stop_loss=config.stop_loss)
            x = np.asarray(sol.x_final)
            dist.append(float(np.max(np.abs(x - x_best))))
            nuc.append(float(spectral.nuclear_norm(x.reshape(m, m))))
            if tag == "commuting":
                expected = eigenvalue_projection(prob, float(a))
                proj.append(float(np.max(np.abs(x - expected))))
        out |= {
            f"{tag}_dist": np.asarray(dist),
            f"{tag}_nuclear": np.asarray(nuc),
            f"{tag}_min_trace": float(spectral.nuclear_norm(x_best.reshape(m, m))),
            f"{tag}_gap": float(best.certificate),
        }
        if proj:
            out[f"{tag}_vs_projection"] = np.asarray(proj)
    return out


def plot(result: dict, path) -> None:
    """(a) distances to the minimum trace; (b) nuclear norms against it."""
    alphas = result["alphas"]
    labels = {"commuting": "commuting 8x8, n=3", "gaussian": "Gaussian 6x6, n=10"}
    with paper_style():
        fig, axes = new_figure(1, 2, width=6.8, height=2.6)
        ax = axes[0, 0]
        for k, tag in enumerate(("commuting", "gaussian")):
            ax.loglog(
                alphas,
                result[f"{tag}_dist"],
                "o-",
                color=COLORS[k],
                ms=3,
                label=f"{labels[tag]}: to min trace",
            )
        ax.loglog(
            alphas,
            np.maximum(result["commuting_vs_projection"], 1e-16),
            "s--",
            color=COLORS[0],
            ms=3,
            mfc="none",
            label="commuting: to the entropy projection",
        )
        ax.set_xlabel(r"initialization scale $\alpha$ ($U_0 = \alpha I$)")
        ax.set_ylabel(r"$\max|X_\infty - X_{\rm ref}|$")
        ax.set_title("(a) limit vs the minimum-trace interpolant")
        ax.legend(fontsize=6)
        ax = axes[0, 1]
        for k, tag in enumerate(("commuting", "gaussian")):
            ax.semilogx(
                alphas,
                result[f"{tag}_nuclear"],
                "o-",
                color=COLORS[k],
                ms=3,
                label=labels[tag],
            )
            ax.axhline(result[f"{tag}_min_trace"], color=COLORS[k], ls=":", lw=0.8)
        ax.set_xlabel(r"initialization scale $\alpha$")
        ax.set_ylabel(r"$\|X_\infty\|_*$ (dotted: minimum trace, cvxpy)")
        ax.set_title("(b) nuclear norm of the limit")
        ax.legend(fontsize=6)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="core.matrix_sensing",
    paper="core",
    figure="Gunasekar et al. 2017, Thm 1: matrix sensing limit vs the minimum nuclear "
    "norm as alpha -> 0",
    title="GF on X = U U^T from alpha I: the limit approaches the minimum-trace "
    "interpolant as alpha -> 0",
    description=(
        "Gradient flow on X = U U^T from U0 = alpha I, run to loss 1e-20, on commuting "
        "(8x8, n=3) and Gaussian (6x6, n=10) symmetric sensing. (a) distance of the "
        "limit to the minimum-trace PSD interpolant (cvxpy) and, for commuting "
        "measurements, to the entropy Bregman projection of the eigenvalues; (b) the "
        "nuclear norm of the limit against the minimum trace (dotted)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("core.matrix_sensing_nuclear",),
)
