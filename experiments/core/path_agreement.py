r"""Four coordinate systems, one trajectory: reparameterization equals mirror flow.

Gradient flow on $(u, v)$ with $x = u\odot u - v\odot v$, $u_0 = v_0 = \alpha$, and
the mirror flow of the induced hypentropy $R_\alpha = Q_\alpha/4$ integrated in
dual coordinates ($z = \nabla R(x)$), in primal coordinates (Riemannian flow,
$\dot x = -4\sqrt{x^2 + 4\alpha^4}\odot\nabla f$) and reduced to
$\lambda\in\mathbb R^n$ give one $x(t)$ (Woodworth et al. 2020, Thm 1;
docs/theory/core.md, sections 3 and 5). The figure shows, for each path integrated by
diffrax, the distance of its $x(t)$ to an independent reference (scipy's LSODA at rtol
1e-12 on gradient flow on $(u, v)$), and the reference's distance to the predicted
limit. The full run uses the claims' settings (Kvaerno5, rtol 1e-11, atol 1e-14, 60
log-spaced times in [1e-3, 2e4], alpha in 1, 0.5, 0.1, 0.03); `--quick` uses Tsit5
(seconds to compile) to t = 200 for alpha in 1, 0.1. Claims:
`core.reparam_equals_mirror` (tolerance 1e-8), `core.hypentropy_limit`.
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
from mirrorflow.papers.core import ALPHAS_P1, ATOL, RTOL, held_path


PATHS = ("parameter", "dual", "primal", "reduced")
# The tolerance of core.reparam_equals_mirror (two solves at rtol 1e-11, x1e3).
CLAIM_TOLERANCE = 1e-8


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the comparison.

    Attributes:
        seed: the instance is P(20, 5, 3, seed); 0 gives the claims' instance P1.
        alphas: initialization scales of the full run (the claims' grid).
        alphas_quick: the `--quick` subset.
        t_last, num_times: save times, log-spaced from 1e-3 (the claims' grid).
        rtol, atol: Kvaerno5 tolerances of the full run (the claims' settings).
        t_last_quick, rtol_quick, atol_quick: `--quick`: Tsit5 to t = 200.
        reference_rtol, reference_atol: scipy's LSODA on gradient flow on
            (u, v): the independent reference every path is compared with.
    """

    seed: int = 0
    alphas: tuple[float, ...] = ALPHAS_P1
    alphas_quick: tuple[float, ...] = (1.0, 0.1)
    t_last: float = 2e4
    num_times: int = 60
    rtol: float = RTOL
    atol: float = ATOL
    t_last_quick: float = 200.0
    rtol_quick: float = 1e-10
    atol_quick: float = 1e-12
    reference_rtol: float = 1e-12
    reference_atol: float = 1e-14


def _dist(xs, ref):
    """Per save time: max_i |x - x_ref| / max(1, max_i |x_ref|) (claims' max_err)."""
    xs, ref = np.asarray(xs), np.asarray(ref)
    scale = np.maximum(1.0, np.abs(ref).max(axis=-1))
    return np.abs(xs - ref).max(axis=-1) / scale


def run(config: Config, quick: bool) -> dict:
    """Each path's distance to the scipy reference over time, and to the limit."""
    prob = mf.random_regression(20, 5, 3, config.seed)
    alphas = np.asarray(config.alphas_quick if quick else config.alphas)
    if quick:
        t_last = config.t_last_quick
        kwargs = dict(
            solver=dfx.Tsit5(), rtol=config.rtol_quick, atol=config.atol_quick
        )
    else:
        t_last = config.t_last
        kwargs = dict(rtol=config.rtol, atol=config.atol)
    ts = mf.log_times(1e-3, t_last, config.num_times)
    reference = mf.ScipyReference(
        "LSODA", rtol=config.reference_rtol, atol=config.reference_atol
    )
    err = np.zeros((len(alphas), len(PATHS), len(ts)))
    to_limit = np.zeros((len(alphas), len(ts)))
    for j, a in enumerate(alphas):
        params0 = (jnp.full(prob.d, float(a)), jnp.full(prob.d, float(a)))
        paths = mf.flow_paths(prob, mf.DiffOfSquares(), params0)
        # Every path stops at convergence (loss 1e-20); later save times hold the
        # converged state, so the comparison after it is of converged points.
        ref_xs, _, _ = held_path(*paths.parameter, ts, solver=reference)
        for p, name in enumerate(PATHS):
            xs, _, _ = held_path(*getattr(paths, name), ts, **kwargs)
            err[j, p] = _dist(xs, ref_xs)
        limit = mf.predict(prob, mf.Hypentropy(float(a)), x0=jnp.zeros(prob.d)).x
        to_limit[j] = _dist(ref_xs, np.asarray(limit)[None, :])
    return {
        "alphas": alphas,
        "ts": np.asarray(ts),
        "paths": np.asarray(PATHS),
        "err": err,
        "max_err": err.max(axis=2),
        "to_limit": to_limit,
        "solver": "Tsit5" if quick else "Kvaerno5",
        "instance": "P1" if config.seed == 0 else f"P(20,5,3,{config.seed})",
    }


_LABELS = {
    "parameter": r"GF on $(u, v)$",
    "dual": r"mirror flow, dual $z$",
    "primal": r"Riemannian, primal $x$",
    "reduced": r"reduced $\lambda\in\mathbb{R}^n$",
}


def plot(result: dict, path) -> None:
    """Per alpha: each path's distance to GF on (u, v); then distance to the limit."""
    alphas, ts, err = result["alphas"], result["ts"], result["err"]
    names = [str(p) for p in result["paths"]]
    m = len(alphas)
    ncols = m + 1 if m + 1 <= 3 else -(-(m + 1) // 2)
    nrows = -(-(m + 1) // ncols)
    width = 7.0 if ncols >= 3 else 2.4 * ncols + 0.4
    with paper_style():
        fig, axes = new_figure(nrows, ncols, width=width, height=2.2 * nrows + 0.3)
        flat = axes.ravel()
        for j, a in enumerate(alphas):
            ax = flat[j]
            for p, name in enumerate(names):
                ax.loglog(
                    ts,
                    positive(err[j, p]),
                    color=COLORS[p],
                    ls=("-", "--", "-.", ":")[p % 4],
                    label=_LABELS.get(name, name),
                )
            ax.axhline(CLAIM_TOLERANCE, color="k", lw=0.8, ls=(0, (4, 2)))
            ax.set_ylim(1e-16, 1e-6)
            ax.set_title(rf"$\alpha = {a:g}$: max {err[j].max():.1e}")
            ax.set_xlabel("time $t$")
            ax.set_ylabel(r"$\|x_{path}(t) - x_{ref}(t)\|_\infty$")
        ax = flat[m]
        for j, a in enumerate(alphas):
            ax.loglog(
                ts,
                positive(result["to_limit"][j]),
                color=COLORS[j],
                label=rf"$\alpha = {a:g}$",
            )
        ax.set_title("reference to the predicted limit")
        ax.set_xlabel("time $t$")
        ax.set_ylabel(r"$\|x_{ref}(t) - x_\infty\|_\infty$")
        ax.legend(loc="lower left")
        for ax in flat[m + 1 :]:
            ax.set_visible(False)
        handles, labels = flat[0].get_legend_handles_labels()
        handles.append(flat[0].lines[-1])
        labels.append("claim tolerance 1e-8")
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 5),
            title=f"paths (diffrax {result['solver']}) against the reference "
            "(scipy LSODA, rtol 1e-12, on GF on (u, v))",
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="core.path_agreement",
    paper="core",
    figure="Woodworth et al. 2020, Thm 1: GF on u*u - v*v = the hypentropy mirror flow",
    title="GF on u*u - v*v and the hypentropy mirror flow in dual, primal and "
    "reduced coordinates trace one x(t)",
    description=(
        "Distance of x(t) computed by the mirror flow of R_alpha = Q_alpha/4 in "
        "dual, primal (Riemannian) and reduced (lambda in R^n) coordinates to x(t) "
        "of gradient flow on (u, v), on P1, against the claim's tolerance 1e-8; "
        "last panel: the distance of gradient flow to the predicted Bregman limit."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("core.reparam_equals_mirror", "core.hypentropy_limit"),
)
