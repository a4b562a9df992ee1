r"""Inverse-metric magnitudes of HAM, GD and $m\odot w$ (HAM Fig. 1).

Each method is a Riemannian gradient flow $\dot x = -p(x)\odot\nabla f(x)$ with a
diagonal inverse metric $p$ (docs/theory/ham.md, sections 2 and 5):

- HAM: $p(x) = 1 + \alpha|x|$ (`1 / HamPotential(alpha).hessian_diag`),
  here $\alpha = 5$;
- GD: $p(x) = 1$;
- $m\odot w$: $p(x) = \sqrt{4x^2 + \gamma^2}$ (docs/theory/mirror_mirror.md,
  section 3), here $\gamma = 0.05$.

Near 0, HAM $>$ GD $>$ $m\odot w$: the $m\odot w$ metric nearly vanishes there
(sign flips stall), HAM's never drops below GD's. The ordering holds exactly on
$|x| < \tfrac12\sqrt{1 - \gamma^2}$, where $\sqrt{4x^2+\gamma^2} < 1$ (shaded).
Closed forms; the HAM curve is the inverse of the package's `HamPotential` metric.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

from mirrorflow import HamPotential
from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    save_figure,
)


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Settings of the metric curves.

    Attributes:
        seed: unused (closed forms); kept for the registry.
        alpha: HAM's coupling $\alpha$.
        gamma: the $m\odot w$ constant $\gamma = |m_0^2 - w_0^2|$.
        x_max: the curves are drawn on $[-x_{\max}, x_{\max}]$.
        num: grid points (full run); `--quick` uses `num_quick`.
        num_quick: grid points of the quick run.
    """

    seed: int = 0
    alpha: float = 5.0
    gamma: float = 0.05
    x_max: float = 1.0
    num: int = 801
    num_quick: int = 201


def run(config: Config, quick: bool) -> dict:
    """The three inverse metrics on a symmetric grid and the ordering interval."""
    num = config.num_quick if quick else config.num
    xs = np.linspace(-config.x_max, config.x_max, num)
    # The HAM flow's own inverse metric (it does not depend on the problem).
    ham = 1.0 / np.asarray(HamPotential(config.alpha).hessian_diag(jnp.asarray(xs)))
    gd = np.ones_like(xs)
    mw = np.sqrt(4.0 * xs**2 + config.gamma**2)
    # HAM >= GD everywhere (equality at 0); GD > m*w iff |x| < sqrt(1 - gamma^2) / 2.
    x_cross = 0.5 * np.sqrt(1.0 - config.gamma**2)
    inside = np.abs(xs) < x_cross
    return {
        "xs": xs,
        "ham": ham,
        "gd": gd,
        "mw": mw,
        "alpha": config.alpha,
        "gamma": config.gamma,
        "x_cross": float(x_cross),
        "ordered_on_interval": bool(
            np.all(ham[inside] >= gd[inside]) and np.all(gd[inside] > mw[inside])
        ),
        "ham_at_0": float(ham[num // 2]),
        "mw_at_0": float(mw[num // 2]),
    }


def plot(result: dict, path) -> None:
    """One panel: the three curves, the ordering interval shaded."""
    xs, xc = result["xs"], result["x_cross"]
    with paper_style():
        fig, axes = new_figure(1, 1, width=3.4, height=2.6)
        ax = axes[0, 0]
        ax.axvspan(
            -xc,
            xc,
            color="0.85",
            alpha=0.6,
            lw=0,
            label=r"HAM $\geq$ GD $>$ $m\odot w$: $|x| < \frac{1}{2}\sqrt{1-\gamma^2}$",
        )
        ax.plot(
            xs,
            result["ham"],
            color=COLORS[0],
            label=rf"HAM: $1 + \alpha|x|$, $\alpha = {result['alpha']:g}$",
        )
        ax.plot(xs, result["gd"], color=COLORS[6], ls="--", label="GD: $1$")
        ax.plot(
            xs,
            result["mw"],
            color=COLORS[1],
            label=rf"$m\odot w$: $\sqrt{{4x^2 + \gamma^2}}$, "
            rf"$\gamma = {result['gamma']:g}$",
        )
        ax.annotate(
            rf"$m\odot w$: {result['mw_at_0']:g} at $x = 0$",
            xy=(0.0, result["mw_at_0"]),
            xytext=(0.12, 0.35),
            fontsize=6,
            arrowprops=dict(arrowstyle="->", lw=0.6),
        )
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(0.0, 1.0 + result["alpha"] * xs[-1] + 0.3)
        ax.set_xlabel("weight $x$")
        ax.set_ylabel(r"inverse metric $p(x)$ in $\dot x = -p(x)\nabla f(x)$")
        ax.set_title("Inverse metric near 0: HAM above GD above $m\\odot w$")
        ax.legend(loc="upper center", fontsize=6)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="ham.metric",
    paper="ham",
    figure="HAM (ICLR 2026), Fig. 1: inverse metrics of GD, m*w and HAM",
    title="Inverse metric vs x: HAM 1 + alpha|x| above GD 1 above m*w "
    "sqrt(4x^2 + gamma^2) near 0",
    description=(
        "The diagonal inverse metric p(x) of each flow dx/dt = -p(x) grad f: HAM "
        "1 + alpha|x| (alpha = 5), GD 1, m*w sqrt(4x^2 + gamma^2) (gamma = 0.05). "
        "Shaded: |x| < sqrt(1 - gamma^2)/2, where HAM >= GD > m*w; the m*w metric "
        "is only gamma at 0, so sign flips stall, while HAM never moves slower "
        "than GD."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("ham.faster_than_mw",),
)
