r"""The kernel-to-rich transition: hypentropy limits across the initialization scale.

Gradient flow on $x = u\odot u - v\odot v$ from $u_0 = v_0 = \alpha$ converges to
$x_\alpha = \arg\min_{Ax=b} Q_\alpha(x)$ (Woodworth et al. 2020, Thm 1;
docs/theory/core.md, sections 3 and 4). As $\alpha\to\infty$ it approaches the min-L2
interpolant at rate $\alpha^{-4}$ (kernel regime), as $\alpha\to 0$ the min-L1
interpolant (rich regime): fast when L1 recovery holds (P2, where min-L1 = the planted
$x^\star$), logarithmically slowly otherwise (P1). For each $\alpha$ on a log grid the
figure shows the limit's L1 norm, its distance to both interpolants and to $x^\star$:
lines are the predicted limit (the dual-Newton Bregman projection,
`mirrorflow.predict`), markers the end point of the flow itself (the reduced
mirror flow, integrated by scipy's LSODA until the loss is below 1e-25). The Bregman
grid contains the alpha points of the claims `core.alpha_to_zero_l1` and
`core.alpha_to_inf_l2`, computed with the same functions, so the figure shows the
numbers `verify` checks.
"""

import dataclasses

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
from mirrorflow.papers.core import ALPHA_GRID, STOP_LOSS, max_err


# The claims' alpha points (docs/theory/core.md, Claims checked): ALPHA_GRID for
# alpha -> 0 and (1, 10, 100) for the fitted slope of alpha -> infinity.
L2_ALPHAS = (1.0, 10.0, 100.0)


def _grid(*parts) -> tuple[float, ...]:
    values = set()
    for part in parts:
        values.update(float(f"{v:.12g}") for v in part)
    return tuple(sorted(values, reverse=True))


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the sweep.

    Attributes:
        seed: added to the claims' instance seeds: P1 = P(20, 5, 3, 0 + seed),
            P2 = P(40, 20, 3, 1 + seed); 0 gives the seeded instances P1 and P2.
        alphas: predicted limits, full run (descending): the claims' points plus
            four points per decade on [1e-6, 1e2] and one per decade to 1e-40.
        alphas_quick: predicted limits, `--quick`: the claims' points to 1e-10.
        flow_alphas, flow_alphas_quick: where the flow itself is integrated.
        rtol, atol: LSODA tolerances of the flow (the claims' settings).
        t_last: integration horizon; the flow stops earlier, at loss 1e-25.
    """

    seed: int = 0
    alphas: tuple[float, ...] = _grid(
        ALPHA_GRID,
        L2_ALPHAS,
        10.0 ** (np.arange(-24, 9) / 4),
        10.0 ** np.arange(-40.0, -6.0),
    )
    alphas_quick: tuple[float, ...] = _grid(
        [a for a in ALPHA_GRID if a >= 1e-10], L2_ALPHAS, (0.3, 3.0, 0.03)
    )
    flow_alphas: tuple[float, ...] = _grid(10.0 ** (np.arange(-10, 3) / 2))
    flow_alphas_quick: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    rtol: float = 1e-11
    atol: float = 1e-14
    t_last: float = 1e14


def instances(seed: int):
    """The two test instances, (label, problem)."""
    return (
        (
            "P1" if seed == 0 else f"P(20,5,3,{seed})",
            mf.random_regression(20, 5, 3, seed),
        ),
        (
            "P2" if seed == 0 else f"P(40,20,3,{1 + seed})",
            mf.random_regression(40, 20, 3, 1 + seed),
        ),
    )


def _measures(xs, x_l1, x_l2, x_star) -> dict:
    return {
        "err_l1": np.array([max_err(x, x_l1) for x in xs]),
        "err_l2": np.array([max_err(x, x_l2) for x in xs]),
        "err_star": np.array([max_err(x, x_star) for x in xs]),
        "norm_l1": np.abs(xs).sum(axis=1),
    }


def run(config: Config, quick: bool) -> dict:
    """Predicted and flow limits on the grids, their distances and L1 norms."""
    alphas = np.asarray(config.alphas_quick if quick else config.alphas)
    flow_alphas = np.asarray(config.flow_alphas_quick if quick else config.flow_alphas)
    solver = mf.ScipyReference("LSODA", rtol=config.rtol, atol=config.atol)
    ts = mf.log_times(1e-3, config.t_last, 10)
    out = {"alphas": alphas, "flow_alphas": flow_alphas}
    labels = []
    for tag, (label, prob) in zip(("p1", "p2"), instances(config.seed), strict=True):
        labels.append(label)
        x_l1 = mf.references.min_l1_interpolant(prob.A, prob.b)
        x_l2 = mf.references.min_l2_interpolant(prob.A, prob.b)
        x_star = np.asarray(prob.x_star)
        zeros = jnp.zeros(prob.d)
        xs = np.stack(
            [
                np.asarray(mf.predict(prob, mf.Hypentropy(float(a)), x0=zeros).x)
                for a in alphas
            ]
        )
        flow_xs, flow_loss, flow_vs_pred = [], [], []
        for a in flow_alphas:
            potential = mf.Hypentropy(float(a))
            flow = mf.ReducedMirrorFlow(prob, potential, zeros)
            sol = mf.integrate(
                flow,
                flow.initial_state(),
                0.0,
                config.t_last,
                ts=ts,
                solver=solver,
                stop_loss=STOP_LOSS,
            )
            pred = mf.predict(prob, potential, x0=zeros).x
            flow_xs.append(np.asarray(sol.x_final))
            flow_loss.append(float(sol.loss_final))
            flow_vs_pred.append(max_err(sol.x_final, pred))
        flow_xs = np.stack(flow_xs)
        pred_m = _measures(xs, x_l1, x_l2, x_star)
        flow_m = _measures(flow_xs, x_l1, x_l2, x_star)
        # The claim's fitted slope: log err against log alpha at alpha = 1, 10, 100.
        pick = [int(np.flatnonzero(alphas == a)[0]) for a in L2_ALPHAS]
        slope = np.polyfit(np.log(L2_ALPHAS), np.log(pred_m["err_l2"][pick]), 1)[0]
        out |= {f"{tag}_{k}": v for k, v in pred_m.items()}
        out |= {f"{tag}_flow_{k}": v for k, v in flow_m.items()}
        out |= {
            f"{tag}_x": xs,
            f"{tag}_flow_x": flow_xs,
            f"{tag}_flow_loss": np.asarray(flow_loss),
            f"{tag}_flow_vs_pred": np.asarray(flow_vs_pred),
            f"{tag}_x_l1": x_l1,
            f"{tag}_x_l2": x_l2,
            f"{tag}_x_star": x_star,
            f"{tag}_min_norm_l1": float(np.abs(x_l1).sum()),
            f"{tag}_norm_l1_of_l2": float(np.abs(x_l2).sum()),
            f"{tag}_slope_l2": float(slope),
        }
    out["labels"] = np.asarray(labels)
    return out


def plot(result: dict, path) -> None:
    """Four panels against alpha; lines: prediction, markers: flow end points."""
    from matplotlib.lines import Line2D

    alphas, flow_alphas = result["alphas"], result["flow_alphas"]
    labels = [str(s) for s in result["labels"]]
    panels = (
        ("norm_l1", r"$\|x_\alpha\|_1$", "(a) L1 norm of the limit", False),
        (
            "err_l1",
            r"$\|x_\alpha - x_{L1}\|_\infty$",
            "(b) to the min-L1 interpolant",
            True,
        ),
        (
            "err_l2",
            r"$\|x_\alpha - x_{L2}\|_\infty$",
            "(c) to the min-L2 interpolant",
            True,
        ),
        (
            "err_star",
            r"$\|x_\alpha - x^\star\|_\infty$",
            r"(d) recovery of $x^\star$",
            True,
        ),
    )
    with paper_style():
        fig, axes = new_figure(2, 2, width=6.0, height=4.9)
        for ax, (key, ylabel, title, logy) in zip(axes.ravel(), panels, strict=True):
            for i, (tag, label) in enumerate(zip(("p1", "p2"), labels, strict=True)):
                pred, flow = result[f"{tag}_{key}"], result[f"{tag}_flow_{key}"]
                if logy:
                    pred, flow = positive(pred), positive(flow)
                ax.plot(alphas, pred, color=COLORS[i], label=label)
                ax.plot(flow_alphas, flow, "o", mfc="none", color=COLORS[i])
            ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            ax.set_xlabel(r"initialization scale $\alpha$")
        a_norm, a_l1, a_l2, _ = axes.ravel()
        # (a) and (c) are flat below alpha = 1e-6: show the transition only.
        for ax in (a_norm, a_l2):
            ax.set_xlim(max(alphas.min(), 1e-6) / 2, alphas.max() * 2)
        for i, tag in enumerate(("p1", "p2")):
            a_norm.axhline(result[f"{tag}_min_norm_l1"], color=COLORS[i], ls=":", lw=1)
        # The claim's bounds for P2 (core.alpha_to_zero_l1).
        a_l1.plot([1e-5, 1e-10], [1e-2, 1e-5], "v", color="k", ms=5)
        # A rate guide, 10x above P2's error so that it does not hide the data.
        big = alphas[alphas >= 1]
        ref = 10 * result["p2_err_l2"][alphas == 1.0][0] * big**-4.0
        a_l2.plot(big, ref, ":", color="0.3", lw=1.5)
        handles = [
            Line2D([], [], color=COLORS[0], label=labels[0]),
            Line2D([], [], color=COLORS[1], label=labels[1]),
            Line2D([], [], color="0.3", label="predicted (Bregman projection)"),
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                mfc="none",
                ls="",
                label="flow end point",
            ),
            Line2D(
                [],
                [],
                color="0.3",
                ls=":",
                label=r"$\min\|x\|_1$; $\propto\alpha^{-4}$",
            ),
            Line2D([], [], color="k", marker="v", ls="", label="claim bound (P2)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="core.alpha_sweep",
    paper="core",
    figure=(
        "Woodworth et al. 2020, Thm 2: kernel (alpha -> inf, min-L2) and rich "
        "(alpha -> 0, min-L1) limits"
    ),
    title="Kernel to rich: the limit moves from min-L2 to min-L1 as alpha shrinks",
    description=(
        "For each initialization scale alpha: the L1 norm of the limit (a), its "
        "distance to the min-L1 (b) and min-L2 (c) interpolants and to the planted "
        "sparse x* (d), on P1 (min-L1 != x*: slow, logarithmic) and P2 (exact "
        "recovery). Lines: the Bregman projection argmin_{Ax=b} Q_alpha; markers: "
        "where the flow stops (loss < 1e-25). Triangles: the claim's bounds at "
        "alpha = 1e-5, 1e-10; (c) follows alpha^-4."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("core.alpha_to_zero_l1", "core.alpha_to_inf_l2"),
)
