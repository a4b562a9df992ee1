r"""The three effects of weight decay on the implicit bias (Mirror, Mirror of the Flow).

Weight decay acts on the mirror flow only through the accumulated dose
$a = -\int\alpha$ (mirror2 convention; the package's dose is $\Lambda = -a/2$ for
$m\odot w$ and $\Lambda = -a$ for $u^{2k} - v^{2k}$; docs/theory/mirror_mirror.md,
section 4):

1. **positional bias**: the centre $\arg\min R_a = e^{2a}x_0$ moves from the
   initialization towards 0 ($m_0 = 0.8$, $w_0 = 0.3$; the package's family, centre
   $\nabla R^*_\Lambda(z_0)$, against the closed form);
2. **type of bias**: on mirror2's P1 (10 x 30) the switch-off limit
   $\arg\min_{Ax=y}R_a$ has decreasing L1 norm and tends to basis pursuit as
   $|a|$ grows (dual Newton predictions; the flows themselves are checked by
   `mirror2.switch_off_wd`);
3. **range** for $x = u^4 - v^4$ ($k = 2$, $u_0 = v_0 = 0.7$): in our convention
   ($\mu = -\int\nabla f$, $a\le 0$) the admissible dual interval
   $(a - c_v, c_u - a)$ **widens** with the dose, while the primal range reachable
   from the $a = 0$ dual budget $(-c_v, c_u)$ **shrinks** like $(K|a|)^{-p}$,
   $K = 4k(k-1) = 8$, $p = k/(k-1) = 2$ (the docstring of
   `TimeDependentDeepDiagonal`; "range shrinking" of the paper refers to the latter).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import mirrorflow as mf
from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    positive,
    save_figure,
)
from mirrorflow.papers.mirror2 import P1, p1_init
from mirrorflow.regularization import SwitchOff, dose_from_mirror2
from mirrorflow.reparam import DeepDiagonal, Hadamard


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the three panels.

    Attributes:
        seed: unused (closed forms and the claims' fixed P1); kept for the registry.
        m0, w0: the scalar initialization of the positional panel (the claim's).
        positional_doses: the values of a of the positional panel.
        type_doses: the values of a of the type-of-bias panel (full run).
        u0: u0 = v0 of the k = 2 range panel (the claim's 0.7).
        range_doses: |a| of the range panel (full run; log-spaced).
    """

    seed: int = 0
    m0: float = 0.8
    w0: float = 0.3
    positional_doses: tuple[float, ...] = (0.0, -0.25, -0.5, -1.0, -2.0)
    type_doses: tuple[float, ...] = tuple(
        float(v) for v in -np.concatenate([[0.0], 2.0 ** np.arange(-3, 5.5, 0.5)])
    )
    u0: float = 0.7
    range_doses: tuple[float, ...] = tuple(
        float(v) for v in 10.0 ** np.linspace(-2, 2, 41)
    )


def _positional(config: Config, quick: bool) -> dict:
    m0, w0 = config.m0, config.w0
    family, z0 = Hadamard().decay_family((jnp.asarray([m0]), jnp.asarray([w0])))
    a_s = np.asarray(config.positional_doses)
    xs = np.linspace(-0.15, 0.4, 111 if quick else 551)
    curves, centres = [], []
    # One compilation for every dose: the dose is an argument, not a constant.
    values = jax.jit(
        jax.vmap(lambda x, dose: family.value(x[None], dose), in_axes=(0, None))
    )
    for a in a_s:
        dose = dose_from_mirror2(float(a))
        vals = np.asarray(values(jnp.asarray(xs), dose)) - float(z0[0]) * xs
        curves.append(vals - vals.min())
        centres.append(float(family.grad_conjugate(z0, dose)[0]))
    return {
        "pos_a": a_s,
        "pos_xs": xs,
        "pos_curves": np.stack(curves),
        "pos_centre": np.asarray(centres),
        "pos_centre_closed_form": np.exp(2 * a_s) * m0 * w0,
        "pos_x0": m0 * w0,
    }


def _type(config: Config, quick: bool) -> dict:
    prob = P1()
    family, z0 = Hadamard().decay_family(p1_init())
    a_s = np.asarray((0.0, -2.0, -8.0, -32.0) if quick else config.type_doses)
    xs = np.stack(
        [
            np.asarray(
                mf.predict(
                    prob,
                    family,
                    schedule=SwitchOff(0.0, 1.0),
                    z0=z0,
                    total_dose=dose_from_mirror2(float(a)),
                ).x
            )
            for a in a_s
        ]
    )
    bp = mf.references.min_l1_interpolant(prob.A, prob.b)
    return {
        "type_a": a_s,
        "type_x": xs,
        "type_norm_l1": np.abs(xs).sum(axis=1),
        "type_dist_bp": np.abs(xs - bp[None, :]).max(axis=1),
        "bp": bp,
        "bp_norm_l1": float(np.abs(bp).sum()),
    }


def _range(config: Config, quick: bool) -> dict:
    u0 = config.u0
    family, _ = DeepDiagonal(4).decay_family((jnp.asarray([u0]), jnp.asarray([u0])))
    mags = np.asarray(config.range_doses)
    if quick:
        mags = 10.0 ** np.linspace(-2, 2, 9)
    lo, hi, x_hi, x_lo = [], [], [], []
    budget_lo, budget_hi = (float(v[0]) for v in family.dual_interval(0.0))
    for m in mags:
        dose = dose_from_mirror2(-float(m), half_penalty=False)
        left, right = family.dual_interval(dose)
        lo.append(float(left[0]))
        hi.append(float(right[0]))
        # The primal image of the a = 0 dual budget (-c_v, c_u) at this dose.
        x_hi.append(float(family.grad_conjugate(jnp.asarray([budget_hi]), dose)[0]))
        x_lo.append(float(family.grad_conjugate(jnp.asarray([budget_lo]), dose)[0]))
    K, p = 8.0, 2.0
    return {
        "range_abs_a": mags,
        "range_dual_lo": np.asarray(lo),
        "range_dual_hi": np.asarray(hi),
        "range_budget": np.array([budget_lo, budget_hi]),
        "range_x_hi": np.asarray(x_hi),
        "range_x_lo": np.asarray(x_lo),
        "range_bound": (K * mags) ** -p,
        "range_c_u": u0**-2 / K,
        "range_K": K,
        "range_p": p,
    }


def run(config: Config, quick: bool) -> dict:
    """The three effects' numbers (see the module docstring)."""
    return _positional(config, quick) | _type(config, quick) | _range(config, quick)


def plot(result: dict, path) -> None:
    """2 x 2: positional; type (L1 norm, distance to BP); range (dual, primal)."""
    with paper_style():
        fig, axes = new_figure(2, 2, width=7.0, height=5.2)
        ax_pos, ax_type = axes[0]
        ax_dual, ax_primal = axes[1]
        # (a) positional bias
        xs = result["pos_xs"]
        for i, a in enumerate(result["pos_a"]):
            c = COLORS[i % len(COLORS)]
            ax_pos.plot(xs, result["pos_curves"][i], color=c, label=f"$a = {a:g}$")
            ax_pos.axvline(result["pos_centre_closed_form"][i], color=c, ls=":", lw=1)
            ax_pos.plot(result["pos_centre"][i], 0.0, "v", color=c, ms=6)
        ax_pos.set_ylim(-0.005, 0.06)
        ax_pos.set_xlabel("$x$")
        ax_pos.set_ylabel(r"$R_a(x) - \min R_a$")
        ax_pos.set_title(
            rf"(a) positional: centre $e^{{2a}}x_0$, $x_0 = {result['pos_x0']:g}$"
        )
        ax_pos.legend(loc="upper right", ncols=1, fontsize=6)
        # (b) type of bias
        mag = -result["type_a"]
        ax_type.plot(mag, result["type_norm_l1"], "o-", color=COLORS[0])
        ax_type.axhline(result["bp_norm_l1"], color="k", ls=":", lw=1)
        ax_type.set_xlabel("dose $|a|$")
        ax_type.set_ylabel(r"$\|x_\infty\|_1$", color=COLORS[0])
        ax_type.set_title(r"(b) type: L2 $\to$ L1 (dotted: basis pursuit), P1")
        twin = ax_type.twinx()
        twin.semilogy(
            mag, positive(result["type_dist_bp"]), "s--", mfc="none", color=COLORS[1]
        )
        twin.set_ylabel(r"$\|x_\infty - x_{BP}\|_\infty$", color=COLORS[1])
        twin.grid(False)
        # (c) dual interval
        m = result["range_abs_a"]
        ax_dual.fill_between(
            m,
            result["range_dual_lo"],
            result["range_dual_hi"],
            color=COLORS[2],
            alpha=0.25,
            label=r"admissible dual interval $(a - c_v, c_u - a)$",
        )
        lo, hi = result["range_budget"]
        ax_dual.axhspan(lo, hi, color="0.5", alpha=0.3, label="dual budget at $a = 0$")
        ax_dual.set_xscale("log")
        ax_dual.set_yscale("symlog", linthresh=0.3)
        ax_dual.set_xlabel("dose $|a|$")
        ax_dual.set_ylabel(r"dual variable $\mu$")
        ax_dual.set_title(r"(c) range, $x = u^4 - v^4$: the dual interval widens")
        ax_dual.legend(loc="upper left", fontsize=6)
        # (d) primal range
        ax_primal.loglog(
            m,
            result["range_x_hi"],
            color=COLORS[3],
            label=r"$\max x$ reachable from the $a = 0$ budget",
        )
        ax_primal.loglog(
            m, result["range_bound"], ":", color="0.3", label=r"$(K|a|)^{-p}$, $p = 2$"
        )
        ax_primal.set_xlabel("dose $|a|$")
        ax_primal.set_ylabel("reachable primal magnitude")
        ax_primal.set_title("(d) ... while the reachable primal range shrinks")
        ax_primal.legend(loc="lower left", fontsize=6)
        fig.suptitle(
            "Three effects of weight decay (convention: mu = -int grad f, a <= 0; the "
            "dual interval widens, the primal range shrinks)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mirror2.three_effects",
    paper="mirror2",
    figure="Mirror, Mirror of the Flow (ICML 2025), Fig. 1: the three effects",
    title="Positional bias, type of bias and range: in our convention the dual "
    "interval widens with dose while the reachable primal range shrinks",
    description=(
        "(a) R_a - min R_a for m0 = 0.8, w0 = 0.3: the centre (triangles, package) "
        "sits at e^{2a} x0 (dotted). (b) P1: ||x_inf||_1 of argmin_{Ax=y} R_a "
        "decreases to the basis-pursuit norm and the distance to BP shrinks as |a| "
        "grows. (c, d) x = u^4 - v^4, u0 = v0 = 0.7: with mu = -int grad f and "
        "a <= 0 the admissible dual interval (a - c_v, c_u - a) widens with the "
        "dose, while the primal range reachable from the a = 0 dual budget "
        "(-c_v, c_u) shrinks like (K|a|)^-p (K = 8, p = 2)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mirror2.positional_bias", "mirror2.type_of_bias", "mirror2.range_k2"),
)
