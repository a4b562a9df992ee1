r"""One ReLU neuron: where standard training and Sign-In succeed.

Sign-In to the Lottery (Gadhikar, Jacobs, Zhou & Burkholz 2025), Thms 5.1 and 5.2, on
the toy model `problems.ReluNeuron` ($f(x) = a\,\mathrm{ReLU}(wx)$, teacher
$\mathrm{ReLU}(x)$, Gaussian input). Each marker is a start $(a_0, w_0)$ of the grid
$\{-2, -1.75, \dots, 2\}^2$ without $a_0 = 0$, $w_0 = 0$, $|a_0| = |w_0|$: filled if the
gradient flow reaches $aw = 1$ with $w > 0$, open if the neuron dies. Left: standard
gradient flow, with the region of rule (T1) shaded ($w_0 > 0$ and ($a_0 > 0$ or
$|a_0| < |w_0|$)). Right: Sign-In's flow with $\beta_a = 4$, $\beta_w = 0.5$, with the
region of rule (T2) shaded (its boundary
$\sqrt{4a_0^2 + \beta_a^2} - \beta_a = \sqrt{4w_0^2 + \beta_w^2} - \beta_w$ drawn), and
crosses where the discrete Sign-In run (SGD, step $10^{-2}$) disagrees with the flow.
"""

import dataclasses

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.signin import (
    BETAS,
    discrete_phase_diagram,
    phase_diagram,
    phase_grid,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings.

    Attributes:
        seed: unused (the diagrams are deterministic); kept for the app's interface.
        beta_a: Sign-In's imbalance of the output weight $a$.
        beta_w: Sign-In's imbalance of the input weight $w$.
        discrete_steps: SGD steps of the discrete run (`--quick`: a tenth).
    """

    seed: int = 0
    beta_a: float = BETAS[0]
    beta_w: float = BETAS[1]
    discrete_steps: int = 200_000


def run(config: Config, quick: bool) -> dict:
    """Successes of the two flows and of discrete Sign-In on the grid."""
    betas = (config.beta_a, config.beta_w)
    steps = config.discrete_steps // 10 if quick else config.discrete_steps
    return {
        "grid": phase_grid(),
        "standard": phase_diagram(),
        "sign_in": phase_diagram(betas),
        "discrete": discrete_phase_diagram(betas, steps=steps),
        "betas": np.asarray(betas),
        "discrete_steps": steps,
    }


def _region_standard(A, W):
    return (W > 0) & ((A > 0) | (np.abs(A) < np.abs(W)))


def _region_sign_in(A, W, beta_a, beta_w):
    lhs = np.sqrt(4 * A**2 + beta_a**2) - beta_a
    rhs = np.sqrt(4 * W**2 + beta_w**2) - beta_w
    return (W > 0) & ((A > 0) | (lhs < rhs))


def plot(result: dict, path) -> None:
    """The two diagrams side by side with the rules' regions."""
    grid = result["grid"]
    beta_a, beta_w = result["betas"]
    a = np.linspace(-2.2, 2.2, 400)
    A, W = np.meshgrid(a, a)
    panels = (
        (
            "standard gradient flow (rule T1)",
            result["standard"],
            _region_standard(A, W),
        ),
        (
            rf"Sign-In flow, $\beta_a = {beta_a:g}$, $\beta_w = {beta_w:g}$ (rule T2)",
            result["sign_in"],
            _region_sign_in(A, W, beta_a, beta_w),
        ),
    )
    with paper_style():
        fig, axes = new_figure(1, 2, width=6.8, height=3.2)
        for k, (title, ok, region) in enumerate(panels):
            ax = axes[0, k]
            ax.contourf(A, W, region, levels=[0.5, 1.5], colors=[COLORS[2]], alpha=0.15)
            ax.contour(A, W, region, levels=[0.5], colors=[COLORS[2]], linewidths=0.8)
            ax.plot(*grid[ok].T, "o", color=COLORS[0], ms=3.5, label="success")
            ax.plot(
                *grid[~ok].T, "o", color=COLORS[1], ms=3.5, mfc="none", label="dead"
            )
            if k == 1:
                off = result["discrete"] != ok
                if off.any():
                    ax.plot(
                        *grid[off].T, "x", color="k", ms=5, label="discrete differs"
                    )
            ax.axhline(0, color="0.6", lw=0.5)
            ax.axvline(0, color="0.6", lw=0.5)
            ax.set_xlabel("$a_0$")
            ax.set_ylabel("$w_0$")
            ax.set_title(f"{title}: {int(ok.sum())} of {len(ok)}", fontsize=7)
            ax.set_aspect("equal")
        axes[0, 0].legend(fontsize=6, loc="lower left")
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="signin.phase_diagram",
    paper="signin",
    figure="Sign-In to the Lottery, Thms 5.1/5.2: the one-neuron phase diagrams",
    title="One ReLU neuron: standard training vs Sign-In, simulated and predicted",
    description=(
        "Gradient flow of a*relu(w x) on a relu teacher from 224 starts: success "
        "(filled) or dead neuron (open), against the derived rules T1 (standard) and "
        "T2 (Sign-In, beta_a = 4, beta_w = 0.5) shaded; crosses mark starts where "
        "discrete Sign-In (SGD, step 1e-2) differs from the flow."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("signin.phase_standard", "signin.phase_sign_in", "signin.discrete_phase"),
)
