r"""Sparse coding with codes $X = U^{2k} - V^{2k}$: speed and norms against $k$.

Mirror, Mirror of the Flow (Jacobs, Zhou & Burkholz 2025), Fig. 2, scaled down as
recipe R-M2: a fixed dictionary $D\in\mathbb R^{20\times40}$ ($\mathcal N(0, 1/20)$),
200 signals with 3-sparse codes (seed 0), codes $X = U^{2k} - V^{2k}$ for
$k = 1, 2, 3$ with the admissible decay $10^{-3}\sum(U^{2k} + V^{2k})$, GD with step
0.05 (lines) and its gradient flow (markers, diffrax Tsit5, time = steps x 0.05).

Two initializations: the recipe's $U_0 = V_0 = 0.5$ and $U_0 = V_0 = 1$. The paper's
statement (larger $k$ fits faster while $\|X\|_*$ stays nearly the same) holds at
$U_0 = 1$ and reverses at $U_0 = 0.5$: the initial rate of $X$ is
$8k^2u_0^{4k-2}$ per unit gradient (8, 32, 72 at $u_0 = 1$; 2, 0.5, 0.07 at
$u_0 = 0.5$), and the order of the speeds follows it (`mirror2.sparse_coding_k`).

Rows: reconstruction MSE, $\|X\|_*$ and $\|X\|_1$ over training; columns: the two
initializations. The dotted line is the MSE target $10^{-2}$ of the claim.
"""

import dataclasses

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.mirror2 import (
    SPARSE_CODING_LR,
    SPARSE_CODING_TARGET,
    code_norms,
    sparse_coding_flow,
    sparse_coding_gd,
    sparse_coding_instance,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the runs.

    Attributes:
        seed: seed of the sparse-coding instance.
        ks: the exponents $k$ of $X = U^{2k} - V^{2k}$.
        inits: the initial factor values $u_0$ ($U_0 = V_0 = u_0$).
        steps: GD steps of the full run (the recipe's 3000); `--quick` uses
            `steps_quick`.
        steps_quick: GD steps of the quick run.
        flow_points: save times of the flow (log-spaced, up to steps x lr).
    """

    seed: int = 0
    ks: tuple[int, ...] = (1, 2, 3)
    inits: tuple[float, ...] = (0.5, 1.0)
    steps: int = 3000
    steps_quick: int = 200
    flow_points: int = 12


def _tag(u0: float, k) -> str:
    return f"u{round(100 * float(u0))}_k{int(k)}"  # u0 in hundredths


def run(config: Config, quick: bool) -> dict:
    """GD curves and flow samples for every (u0, k)."""
    prob = sparse_coding_instance(config.seed)
    steps = config.steps_quick if quick else config.steps
    horizon = steps * SPARSE_CODING_LR
    ts = np.geomspace(horizon / 300.0, horizon, config.flow_points)
    out = {"ks": np.asarray(config.ks), "inits": np.asarray(config.inits)}
    out["gd_time"] = np.arange(steps + 1) * SPARSE_CODING_LR
    out["flow_time"] = ts
    for u0 in config.inits:
        for k in config.ks:
            tag = _tag(u0, k)
            gd = sparse_coding_gd(prob, k, u0, steps)
            sol = sparse_coding_flow(prob, k, u0, t1=horizon, ts=ts)
            flow = np.array([code_norms(prob, x) for x in np.asarray(sol.xs)])
            for j, key in enumerate(("mse", "nuclear", "l1")):
                out[f"{tag}_gd_{key}"] = gd[key]
                out[f"{tag}_flow_{key}"] = flow[:, j]
    return out


def plot(result: dict, path) -> None:
    """3 x 2 panels: MSE, nuclear norm, l1 norm against time, per initialization."""
    rows = (
        ("mse", "reconstruction MSE", "loglog"),
        ("nuclear", r"$\|X\|_*$", "semilogx"),
        ("l1", r"$\|X\|_1$", "semilogx"),
    )
    with paper_style():
        fig, axes = new_figure(3, 2, width=6.8, height=6.4)
        for col, u0 in enumerate(result["inits"]):
            for row, (key, ylabel, scale) in enumerate(rows):
                ax = axes[row, col]
                draw = getattr(ax, scale)
                for c, k in enumerate(result["ks"]):
                    tag = _tag(u0, k)
                    t = result["gd_time"][1:]
                    draw(
                        t,
                        result[f"{tag}_gd_{key}"][1:],
                        "-",
                        color=COLORS[c],
                        lw=1.2,
                        label=f"k={int(k)} (GD)",
                    )
                    draw(
                        result["flow_time"],
                        result[f"{tag}_flow_{key}"],
                        "o",
                        color=COLORS[c],
                        ms=3,
                        mfc="none",
                        label=f"k={int(k)} (flow)",
                    )
                if key == "mse":
                    ax.axhline(SPARSE_CODING_TARGET, color="0.5", ls=":", lw=0.8)
                    ax.set_title(f"$U_0 = V_0 = {u0:g}$")
                ax.set_ylabel(ylabel)
                if row == 2:
                    ax.set_xlabel("time (GD steps x 0.05)")
        axes[0, 0].legend(fontsize=6, ncol=2)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mirror2.sparse_coding",
    paper="mirror2",
    figure="Mirror, Mirror of the Flow, Fig. 2 (sparse coding over k)",
    title="Sparse coding with X = U^{2k} - V^{2k}: larger k is faster at U0 = 1, "
    "slower at the recipe's U0 = 0.5",
    description=(
        "Fixed dictionary 20x40, 200 signals with 3-sparse codes, codes "
        "X = U^{2k} - V^{2k} (k = 1, 2, 3), admissible decay 1e-3 sum(U^{2k} + "
        "V^{2k}); GD step 0.05 (lines) and its gradient flow (markers) from "
        "U0 = V0 = 0.5 (recipe) and 1. Rows: reconstruction MSE, ||X||_*, ||X||_1."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mirror2.sparse_coding_k",),
)
