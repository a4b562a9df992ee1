r"""Trajectories of gradient flow on $x = u\odot u - v\odot v$ and their limits.

Gradient flow from $u_0 = v_0 = \alpha\mathbf 1$ on the seeded instance P1 (d = 20,
n = 5) at a small $\alpha$: the weights $x_i(t)$ against log time, computed on three
paths and overlaid: gradient flow on $(u, v)$, the mirror flow of the induced
hypentropy in dual coordinates, and the reduced flow in $\lambda\in\mathbb R^n$
(Woodworth et al. 2020, Thm 1; docs/theory/core.md, sections 3 and 5). The plateaus and
jumps of small initializations end at the predicted limit $\arg\min_{Ax=b}Q_\alpha$ (the
dual-Newton Bregman projection). The full run uses the claims' solver settings
(Kvaerno5, rtol 1e-11, atol 1e-14, to t = 2e4; claims `core.reparam_equals_mirror` and
`core.hypentropy_limit`).
"""

import dataclasses

import diffrax as dfx
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
from mirrorflow.papers.core import ATOL, RTOL, held_path, max_err


PATHS = ("parameter", "dual", "reduced")
_STYLE = {"parameter": "-", "dual": (0, (4, 2)), "reduced": ":"}
_LABEL = {
    "parameter": r"GF on $(u, v)$",
    "dual": r"mirror flow, dual $z$",
    "reduced": r"reduced $\lambda\in\mathbb{R}^n$",
}


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the trajectories.

    Attributes:
        seed: the instance is P(20, 5, 3, seed); 0 gives the claims' instance P1.
        alpha: the initialization scale (the smallest of the claims' grid).
        t_last, num_times: full run: Kvaerno5 at the claims' tolerances to
            t = 2e4, 240 log-spaced save times from 1e-3.
        rtol, atol: the full run's tolerances (the claims' settings).
        t_last_quick, rtol_quick, atol_quick: `--quick`: Tsit5 (cheap to
            compile; the flow is not stiff before it converges) to t = 200, with
            60 save times.
    """

    seed: int = 0
    alpha: float = 0.03
    t_last: float = 2e4
    num_times: int = 240
    rtol: float = RTOL
    atol: float = ATOL
    t_last_quick: float = 200.0
    rtol_quick: float = 1e-10
    atol_quick: float = 1e-12


def run(config: Config, quick: bool) -> dict:
    """x(t) on the parameter, dual and reduced paths; loss; predicted limit."""
    prob = mf.random_regression(20, 5, 3, config.seed)
    a = float(config.alpha)
    paths = mf.flow_paths(prob, mf.DiffOfSquares(), (jnp.full(prob.d, a),) * 2)
    if quick:
        t_last, num = config.t_last_quick, 60
        kwargs = dict(
            solver=dfx.Tsit5(), rtol=config.rtol_quick, atol=config.atol_quick
        )
    else:
        t_last, num = config.t_last, config.num_times
        kwargs = dict(rtol=config.rtol, atol=config.atol)
    ts = mf.log_times(1e-3, t_last, num)
    xs, steps, t_stop = [], [], []
    for name in PATHS:
        # Stopped at convergence; later save times hold the converged state.
        x, stop, sol = held_path(*getattr(paths, name), ts, **kwargs)
        xs.append(x)
        steps.append(sol.stats["num_steps"])
        t_stop.append(stop)
    xs = np.stack(xs)
    limit = np.asarray(mf.predict(prob, mf.Hypentropy(a), x0=jnp.zeros(prob.d)).x)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    return {
        "alpha": a,
        "ts": np.asarray(ts),
        "paths": np.asarray(PATHS),
        "xs": xs,
        "loss": 0.5 * np.sum((xs[0] @ A.T - b) ** 2, axis=1),
        "limit": limit,
        "final_err": np.array([max_err(x[-1], limit) for x in xs]),
        "path_err": np.array([max_err(x, xs[0]) for x in xs[1:]]),
        "num_steps": np.asarray(steps),
        "t_stop": np.asarray(t_stop),
        "x_star": np.asarray(prob.x_star),
        "x_l1": mf.references.min_l1_interpolant(prob.A, prob.b),
        "solver": "Tsit5" if quick else "Kvaerno5",
        "instance": "P1" if config.seed == 0 else f"P(20,5,3,{config.seed})",
    }


def plot(result: dict, path) -> None:
    """x_i(t) of the three paths overlaid, with the predicted limit; the loss."""
    from matplotlib.lines import Line2D

    ts, xs, limit = result["ts"], result["xs"], result["limit"]
    names = [str(p) for p in result["paths"]]
    # Colour the coordinates that are large in the limit (the same colour on
    # every path); grey for the rest.
    big = np.flatnonzero(np.abs(limit) > 0.1 * np.abs(limit).max())
    small = np.setdiff1d(np.arange(xs.shape[2]), big)
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=3.0, width_ratios=(2.2, 1))
        ax, ax_loss = axes[0]
        for p, name in enumerate(names):
            for i in small:
                ax.semilogx(ts, xs[p, :, i], color="0.75", lw=0.7, ls=_STYLE[name])
            for k, i in enumerate(big):
                ax.semilogx(
                    ts, xs[p, :, i], color=COLORS[k % len(COLORS)], ls=_STYLE[name]
                )
        right = ts[-1] * 3
        for k, i in enumerate(big):
            ax.plot(right, limit[i], "<", color=COLORS[k % len(COLORS)], ms=5)
        ax.set_xlim(ts[0], ts[-1] * 6)
        ax.set_title(
            rf"{result['instance']}, $\alpha = {result['alpha']:g}$: plateaus, "
            "then jumps to a sparse limit"
        )
        ax.set_xlabel("time $t$")
        ax.set_ylabel("weight $x_i(t)$")
        handles = [
            Line2D([], [], color="0.3", ls=_STYLE[n], label=_LABEL[n]) for n in names
        ]
        handles.append(
            Line2D([], [], color="0.3", marker="<", ls="", label="predicted limit")
        )
        ax.legend(handles=handles, loc="lower left")
        ax_loss.loglog(ts, positive(result["loss"], 1e-30), color=COLORS[0])
        ax_loss.set_ylim(1e-31, 1e2)
        ax_loss.set_title("loss (GF on $(u, v)$)")
        ax_loss.set_xlabel("time $t$")
        ax_loss.set_ylabel(r"$\frac{1}{2}\|Ax_t - b\|^2$")
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="core.trajectories",
    paper="core",
    figure=(
        "Woodworth et al. 2020, Thm 1: plateaus and jumps at small alpha "
        "(docs/theory/core.md)"
    ),
    title="Plateaus and jumps at small alpha: three computation paths, one x(t)",
    description=(
        "Weights x_i(t) against log time for gradient flow on x = u*u - v*v from "
        "u0 = v0 = alpha (solid), the mirror flow of the induced hypentropy in dual "
        "coordinates (dashed) and reduced to lambda in R^n (dotted), overlaid; "
        "coloured: the coordinates that are large in the limit, triangles: the "
        "predicted limit argmin_{Ax=b} Q_alpha. Right: the loss, with its plateaus."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("core.reparam_equals_mirror", "core.hypentropy_limit"),
)
