r"""Diagonal linear network with weight decay: flows land on the predicted projection.

Gradient flow on $f(m\odot w) + \lambda_t(\|m\|^2 + \|w\|^2)$ on P2 = P(40, 20, 3, 1)
from the PILoT initialization ($\beta = 0.5$, $x_{\rm init} = 0.1N(0, I)$, the
claims' setting) under step schedules ($\lambda = \Lambda_\infty/\tau$ on
$[0, \tau)$) and exponential ones ($\lambda_t = \Lambda_\infty/\tau\,e^{-t/\tau}$)
with total dose $\Lambda_\infty\in\{0, 1, 3, 5\}$. Markers: the flow's end point
(reduced time-dependent flow, stopped at loss 1e-25); crosses/lines: the prediction
$\arg\min_{Ax=b}R_{a_\infty}(x) - \langle z_0, x\rangle$, $a_\infty = \beta
e^{-4\Lambda_\infty}$ (`predict_regularized`). Equal doses give equal limits
(schedule invariance) and a larger dose gives a sparser limit, closer to the
min-L1 interpolant (Mask in the Mirror, Thm 3.3; docs/theory/mask_in_the_mirror.md,
sections 3 and 4). The full run reuses the claims' solves (diffrax Kvaerno5, rtol
1e-10); `--quick` integrates three runs with scipy's LSODA at the same tolerances.
"""

import dataclasses

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
from mirrorflow.flows import flow_paths
from mirrorflow.papers.mask import (
    ATOL,
    BETA,
    LIMIT_RUNS,
    LIMIT_TS,
    P2,
    RTOL,
    STOP_LOSS,
    T_MAX,
    decay_schedule,
    limit_run,
    max_err,
    params0,
)
from mirrorflow.regularization import SwitchOff
from mirrorflow.reparam import Hadamard
from mirrorflow.solvers import integrate


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the limits.

    Attributes:
        seed: unused (P2 and the PILoT init are the claims' fixed instance); kept
            for the registry.
        runs: (kind, dose, tau) of the full run: the claims' LIMIT_RUNS.
        runs_quick: the `--quick` subset.
        doses: the dose grid of the predicted curves (full run).
    """

    seed: int = 0
    runs: tuple[tuple[str, float, float], ...] = LIMIT_RUNS
    runs_quick: tuple[tuple[str, float, float], ...] = (
        ("step", 3.0, 30.0),
        ("exp", 3.0, 5.0),
    )
    doses: tuple[float, ...] = tuple(float(v) for v in np.linspace(0.0, 6.0, 49))


def _quick_limit(kind: str, dose: float, tau: float):
    """The reduced flow with scipy's LSODA (no compilation), to loss 1e-25."""
    schedule = decay_schedule(kind, dose, tau)
    paths = flow_paths(P2(), Hadamard(), params0(), schedule)
    flow, y0 = paths.reduced
    solver = mf.ScipyReference("LSODA", rtol=RTOL, atol=ATOL)
    sol = integrate(
        flow, y0, 0.0, T_MAX, ts=LIMIT_TS, solver=solver, stop_loss=STOP_LOSS
    )
    pred = mf.predict(P2(), paths.potential, schedule=schedule, z0=paths.z0)
    return sol, pred, schedule


def run(config: Config, quick: bool) -> dict:
    """Flow end points and predictions per run; predicted L1 norm vs dose."""
    prob = P2()
    runs = config.runs_quick if quick else config.runs
    doses = np.linspace(0.0, 6.0, 7) if quick else np.asarray(config.doses)
    x_l1 = mf.references.min_l1_interpolant(prob.A, prob.b)
    family, z0 = Hadamard().decay_family(params0())
    curve = np.stack(
        [
            np.asarray(
                mf.predict(
                    prob,
                    family,
                    schedule=SwitchOff(0.0, 1.0),
                    z0=z0,
                    total_dose=float(d),
                ).x
            )
            for d in doses
        ]
    )
    flow_x, pred_x, loss, left = [], [], [], []
    for kind, dose, tau in runs:
        sol, pred, schedule = (_quick_limit if quick else limit_run)(kind, dose, tau)
        flow_x.append(np.asarray(sol.x_final))
        pred_x.append(np.asarray(pred.x))
        loss.append(float(sol.loss_final))
        left.append(schedule.total_dose - float(schedule.dose(sol.t_final)))
    flow_x, pred_x = np.stack(flow_x), np.stack(pred_x)
    return {
        "kinds": np.asarray([r[0] for r in runs]),
        "run_doses": np.asarray([r[1] for r in runs]),
        "taus": np.asarray([r[2] for r in runs]),
        "flow_x": flow_x,
        "pred_x": pred_x,
        "flow_vs_pred": np.array(
            [max_err(x, p) for x, p in zip(flow_x, pred_x, strict=True)]
        ),
        "flow_loss": np.asarray(loss),
        "dose_left": np.asarray(left),
        "flow_norm_l1": np.abs(flow_x).sum(axis=1),
        "flow_err_l1": np.array([max_err(x, x_l1) for x in flow_x]),
        "doses": doses,
        "curve_norm_l1": np.abs(curve).sum(axis=1),
        "curve_err_l1": np.array([max_err(x, x_l1) for x in curve]),
        "x_l1": x_l1,
        "x_star": np.asarray(prob.x_star),
        "min_norm_l1": float(np.abs(x_l1).sum()),
        "beta": BETA,
        "solver": "LSODA" if quick else "Kvaerno5",
    }


def plot(result: dict, path) -> None:
    """(a) coordinates of the limits; (b) L1 norm and (c) distance to min-L1."""
    from matplotlib.lines import Line2D

    kinds = [str(k) for k in result["kinds"]]
    run_doses = result["run_doses"]
    levels = sorted(set(float(d) for d in run_doses))
    color = {d: COLORS[i % len(COLORS)] for i, d in enumerate(levels)}
    marker = {"step": "o", "exp": "s"}
    d = result["x_star"].size
    idx = np.arange(d)
    with paper_style():
        fig, axes = new_figure(1, 3, width=7.0, height=2.8, width_ratios=(2.0, 1, 1))
        ax, ax_norm, ax_err = axes[0]
        for j, (kind, dose) in enumerate(zip(kinds, run_doses, strict=True)):
            off = 0.12 * (levels.index(float(dose)) - (len(levels) - 1) / 2)
            ax.plot(
                idx + off,
                result["pred_x"][j],
                "x",
                color=color[float(dose)],
                ms=5,
            )
            ax.plot(
                idx + off,
                result["flow_x"][j],
                marker[kind],
                mfc="none",
                color=color[float(dose)],
                ms=4 if kind == "step" else 6,
            )
        ax.plot(idx, result["x_l1"], "_", color="k", ms=7)
        ax.set_xlabel("coordinate $i$")
        ax.set_ylabel(r"limit $x_{\infty,i}$")
        ax.set_title(
            f"P2: flow end points on the predictions (max dev. "
            f"{result['flow_vs_pred'].max():.0e})"
        )
        handles = [
            Line2D([], [], color=color[v], lw=3, label=rf"$\Lambda_\infty = {v:g}$")
            for v in levels
        ] + [
            Line2D(
                [], [], color="0.3", marker="o", mfc="none", ls="", label="flow, step"
            ),
            Line2D(
                [], [], color="0.3", marker="s", mfc="none", ls="", label="flow, exp"
            ),
            Line2D([], [], color="0.3", marker="x", ls="", label="predicted"),
            Line2D([], [], color="k", marker="_", ls="", ms=7, label="min-L1 interp."),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        doses = result["doses"]
        ax_norm.plot(doses, result["curve_norm_l1"], color="0.3", label="predicted")
        ax_err.semilogy(
            doses, positive(result["curve_err_l1"]), color="0.3", label="predicted"
        )
        for j, (kind, dose) in enumerate(zip(kinds, run_doses, strict=True)):
            kw = dict(mfc="none", color=color[float(dose)], ls="")
            ax_norm.plot(dose, result["flow_norm_l1"][j], marker[kind], **kw)
            ax_err.plot(dose, positive(result["flow_err_l1"][j]), marker[kind], **kw)
        ax_norm.axhline(result["min_norm_l1"], color="k", ls=":", lw=1)
        ax_norm.set_title(r"(b) $\|x_\infty\|_1$ (dotted: min L1)")
        ax_norm.set_xlabel(r"total dose $\Lambda_\infty$")
        ax_norm.set_ylabel(r"$\|x_\infty\|_1$")
        ax_err.set_title("(c) distance to min-L1")
        ax_err.set_xlabel(r"total dose $\Lambda_\infty$")
        ax_err.set_ylabel(r"$\|x_\infty - x_{L1}\|_\infty$")
        ax_err.legend(
            handles=[
                Line2D([], [], color="0.3", label="predicted"),
                Line2D(
                    [], [], color="0.3", marker="o", mfc="none", ls="", label="flow"
                ),
            ],
            loc="upper right",
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mask.dln_limits",
    paper="mask",
    figure=(
        "Mask in the Mirror (ICLR 2025), Thm 3.3: DLN limits under weight-decay"
        " schedules"
    ),
    title="Weight-decay schedules on P2: the flow lands on argmin R_{a_inf}; more "
    "dose, sparser limit",
    description=(
        "Gradient flow on f(m*w) + lambda_t(|m|^2 + |w|^2) on P2 from the PILoT init "
        "(beta = 0.5) under step (circles) and exponential (squares) schedules with "
        "total dose 0, 1, 3, 5. (a) coordinates of the flow end points and of the "
        "predicted Bregman projections (crosses) at a_inf = beta exp(-4 Lambda_inf); "
        "equal doses give equal limits. (b) L1 norm and (c) distance to the min-L1 "
        "interpolant decrease with the dose (lines: prediction)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=(
        "mask.limit_prediction",
        "mask.schedule_invariance",
        "mask.l2_to_l1_transition",
    ),
)
