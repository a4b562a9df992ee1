r"""The time-dependent hypentropy from L2-shaped to L1-shaped (Mask in the Mirror).

$R_a(x)/R_a(1)$ on $[-1, 1]$ for $a\in\{10, 1, 10^{-2}, 10^{-4}\}$, evaluated with the
package's `TimeDependentHypentropy` of $x = m\odot w$ (scale $c = a/2$, coefficient
$k = 1/2$, at dose 0): $R_a(x) = \tfrac12[x\,\mathrm{arcsinh}(2x/a)
- \sqrt{x^2 + a^2/4} + a/2]$. For $a\gg|x|$ it is $x^2/(2a)$ (L2-shaped), for
$a\ll|x|$ it is $\tfrac{|x|}{2}(\log(4|x|/a) - 1)$ (L1-shaped): weight decay shrinks
$a_t = a_0e^{-4\Lambda_t}$ and moves the implicit bias from the first to the second
(a small version of the paper's Fig. 1c; docs/theory/mask_in_the_mirror.md, section 4;
claim `mask.l2_to_l1_transition`).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    save_figure,
)
from mirrorflow.potentials import TimeDependentHypentropy


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the curves.

    Attributes:
        seed: unused (closed-form curves); kept for the registry.
        scales: the values of a (the curves of the paper's Fig. 1c, in small).
        num_points: grid points on [-1, 1] (full run); `--quick` uses 101.
    """

    seed: int = 0
    scales: tuple[float, ...] = (10.0, 1.0, 1e-2, 1e-4)
    num_points: int = 801


def potential_values(a: float, xs) -> np.ndarray:
    """R_a(x) of the package's family (m*w: c0 = a/2, k = 1/2) at dose 0."""
    family = TimeDependentHypentropy(a / 2.0, coef=0.5)
    vals = jax.vmap(lambda x: family.value(x[None], 0.0))(jnp.asarray(xs))
    return np.asarray(vals)


def run(config: Config, quick: bool) -> dict:
    """R_a on the grid, normalized by R_a(1); the curvature ratio at 0."""
    xs = np.linspace(-1.0, 1.0, 101 if quick else config.num_points)
    scales = np.asarray(config.scales)
    values = np.stack([potential_values(float(a), xs) for a in scales])
    at_one = np.array([potential_values(float(a), np.ones(1))[0] for a in scales])
    return {
        "xs": xs,
        "scales": scales,
        "values": values,
        "at_one": at_one,
        "normalized": values / at_one[:, None],
        # R_a(1/2)/R_a(1): 1/4 for a quadratic, 1/2 for |x|.
        "half_ratio": np.array(
            [potential_values(float(a), np.array([0.5]))[0] for a in scales]
        )
        / at_one,
    }


def plot(result: dict, path) -> None:
    """The normalized curves, with x^2 and |x| for reference."""
    xs = result["xs"]
    with paper_style():
        fig, axes = new_figure(1, 1, width=3.4, height=2.6)
        ax = axes[0, 0]
        ax.plot(xs, xs**2, color="0.6", ls=":", lw=1.5, label=r"$x^2$ (L2)")
        ax.plot(xs, np.abs(xs), color="0.3", ls="--", lw=1.0, label=r"$|x|$ (L1)")
        for i, a in enumerate(result["scales"]):
            ax.plot(
                xs,
                result["normalized"][i],
                color=COLORS[i],
                label=rf"$a = 10^{{{int(round(np.log10(a)))}}}$",
            )
        ax.set_xlabel("$x$")
        ax.set_ylabel(r"$R_a(x) / R_a(1)$")
        ax.set_title(r"$R_a$ of $x = m\odot w$: L2-shaped ($a$ large) to L1 ($a\to0$)")
        ax.legend(loc="upper center", ncols=2)
        ax.set_ylim(-0.02, 1.25)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mask.potential_shapes",
    paper="mask",
    figure="Mask in the Mirror (ICLR 2025), Fig. 1c: R_a moves from L2 to L1",
    title="The time-dependent hypentropy R_a: quadratic for large a, |x|-like as "
    "a -> 0",
    description=(
        "R_a(x)/R_a(1) on [-1, 1] for a = 10, 1, 1e-2, 1e-4 (the package's "
        "TimeDependentHypentropy of x = m*w), against x^2 and |x|. Weight decay "
        "shrinks a_t = a0 exp(-4 Lambda_t), moving the implicit bias from L2 to L1."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mask.l2_to_l1_transition",),
)
