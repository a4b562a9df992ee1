r"""Underdetermined regression: GD, $m\odot w$ and GD+HAM against their flow limits.

A small version of the HAM paper's linear-regression figure (Fig. 5). P2
($n = 20$, $d = 40$, $k = 3$, seed 0, the draw order of `ham_problem`, noiseless),
the paper's loss $f(x) = \tfrac{1}{2n}\|Ax - y\|^2$ (`LinearRegression(mean=True)`,
so no clock conversion: step $k$ is time $t = k\eta$), $x_0 = 0$, $\eta = 0.01$,
$2\cdot10^4$ steps. Plotted: the error to the ground truth $\|x_k - x^\star\|_2$ per
iteration, and for every method its predicted limit as a dashed line at
$\|x_{\rm pred} - x^\star\|_2$:

- GD: $x_0 + A^+(y - Ax_0)$ (`ham_limit` with $\alpha = \beta = 0$);
- $m\odot w$ from $m_0 = 0.1$, $w_0 = 0$ ($\gamma = m_0^2 = 0.01$), GD on
  $(m, w)$, without decay and with decay $\lambda(\|m\|^2 + \|w\|^2)$, $\lambda = 0.5$
  (mirror2's $\alpha = 1$) switched off at $t = 2$ (dose $\Lambda = 1$, $a = -2$):
  $\arg\min_{Ax=y}R_{\Lambda}(x) - \langle z_0, x\rangle$ (`predict_regularized`
  at the discrete dose $\eta\sum_k\lambda_k$; docs/theory/mirror_mirror.md,
  sections 3 and 5);
- GD+HAM (`optimizers.ham`), $\alpha\in\{10, 100\}$, $\beta\in\{0, 10^{-3}\}$:
  `ham_limit` (docs/theory/ham.md, section 4), the Bregman projection of $R_\alpha$
  for $\beta = 0$ and $\arg\min f + \beta h_\alpha$ for $\beta > 0$. The HAM flow
  `ham_flow` (LSODA, rtol 1e-10) on the same clock is drawn dotted over each discrete
  curve.

What to look for: each discrete curve flattens at (or, if not yet converged, above)
its dashed line; HAM's dotted flow lies on its discrete curve (deviation $O(\eta)$;
the sidecar's `ham_flow_dev` is the largest $\|x_k - x(k\eta)\|_2$ over the
recorded, log-spaced iterations, which resolve the early peak near $t = 0.2$);
$\beta = 10^{-3}$ acts on the time scale $1/\beta = 1000 \gg 200$, so at
$2\cdot 10^4$ steps those runs are still far from their (sparser) limit; the
$m\odot w$ runs are slow near 0 (inverse metric $\approx\gamma$) and still
decreasing at the end.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    positive,
    save_figure,
)
from mirrorflow.optimizers import (
    factors_mask,
    hadamard_reparam,
    ham,
    scheduled_weight_decay,
)
from mirrorflow.papers.ham import ham_flow, ham_problem
from mirrorflow.predictions import ham_limit, predict
from mirrorflow.regularization import SwitchOff
from mirrorflow.reparam import Hadamard
from mirrorflow.solvers import ScipyReference, integrate


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Settings of the regression experiment.

    Attributes:
        seed: the seed of the P2 draw (the claims' instance is seed 0).
        eta: the step size $\eta$ of every method.
        steps: iterations (full run); `steps_quick` for `--quick`.
        records: about this many log-spaced recorded iterations (full run).
        steps_quick: iterations of the quick run.
        records_quick: recorded iterations of the quick run.
        m0: the $m\odot w$ initialization $m_0$ ($w_0 = 0$, so $x_0 = 0$).
        mw_decay: $\lambda$ of the switched-off $m\odot w$ run (mask convention,
            penalty $\lambda(\|m\|^2+\|w\|^2)$; mirror2's $\alpha = 2\lambda$).
        mw_switch: the switch-off time $T$ ($\lambda = 0$ from $t = T$ on).
        alphas: HAM couplings $\alpha$ (full run).
        alphas_quick: HAM couplings of the quick run.
        betas: HAM decays $\beta$.
        rtol: the flow solver's relative tolerance (LSODA; atol = rtol / 100).
    """

    seed: int = 0
    eta: float = 0.01
    steps: int = 20_000
    records: int = 400
    steps_quick: int = 2_000
    records_quick: int = 100
    m0: float = 0.1
    mw_decay: float = 0.5
    mw_switch: float = 2.0
    alphas: tuple[float, ...] = (10.0, 100.0)
    alphas_quick: tuple[float, ...] = (10.0,)
    betas: tuple[float, ...] = (0.0, 1e-3)
    rtol: float = 1e-10


def discrete_path(problem, optimizer, steps: int, record) -> np.ndarray:
    r"""Iterates $x_k$, $k\in$ `record`, of `optimizer` from $x_0 = 0$.

    `record`: sorted step indices in $[0, \text{steps}]$ ($0$ is $x_0$). Returns
    shape `(len(record), d)`; one `lax.scan` over all steps, keeping every iterate.
    """
    x0 = jnp.zeros(problem.d, problem.A.dtype)

    def step(carry, _):
        x, state = carry
        updates, state = optimizer.update(problem.grad(x), state, x)
        x = optax.apply_updates(x, updates)
        return (x, state), x

    @jax.jit
    def go(x0):
        _, xs = jax.lax.scan(step, (x0, optimizer.init(x0)), None, length=steps)
        return xs

    xs = np.concatenate([np.asarray(x0)[None, :], np.asarray(go(x0))])
    return xs[np.asarray(record)]


def record_steps(steps: int, num: int) -> np.ndarray:
    """0 and about `num` log-spaced steps in [1, steps] (the plot's log axis)."""
    ks = np.unique(np.round(np.geomspace(1, steps, num)).astype(int))
    return np.concatenate([[0], ks])


def flow_path(problem, alpha: float, beta: float, ts, rtol: float) -> np.ndarray:
    """`ham_flow` from $x_0 = 0$ at the times `ts` (`ts[0] = 0`), scipy LSODA."""
    flow = ham_flow(problem, alpha, beta)
    x0 = flow.initial_state(jnp.zeros(problem.d, problem.A.dtype))
    sol = integrate(
        flow,
        x0,
        0.0,
        float(ts[-1]),
        ts=jnp.asarray(ts[1:]),
        solver=ScipyReference("LSODA", rtol=rtol, atol=rtol / 100),
    )
    return np.concatenate([np.asarray(x0)[None, :], np.asarray(sol.xs)])


def _mw_optimizer(config: Config, schedule):
    inner = optax.chain(
        scheduled_weight_decay(schedule, config.eta, mask=factors_mask),
        optax.sgd(config.eta),
    )
    # beta = m0^2 - w0^2 with x0 = 0 gives pilot_init's m0 = sqrt(beta), w0 = 0.
    return hadamard_reparam(inner, beta=config.m0**2)


def run(config: Config, quick: bool) -> dict:
    """Error curves, predicted limits and HAM's discrete-vs-flow deviations."""
    prob = ham_problem(20, 40, 3, config.seed)
    steps = config.steps_quick if quick else config.steps
    eta = config.eta
    iters = record_steps(steps, config.records_quick if quick else config.records)
    x_star = np.asarray(prob.x_star)
    d = prob.d

    labels, paths, preds = [], [], []
    # GD: the min-distance interpolant.
    labels.append("GD")
    paths.append(discrete_path(prob, optax.sgd(eta), steps, iters))
    preds.append(np.asarray(ham_limit(prob, 0.0, 0.0).x))
    # m * w, decay 0 and switched off; predicted at the discrete dose.
    family, z0 = Hadamard().decay_family((jnp.full(d, config.m0), jnp.zeros(d)))
    n_on = int(np.sum(np.arange(steps) * eta < config.mw_switch))
    mw_runs = (
        (r"$m\odot w$, no decay", SwitchOff(0.0, config.mw_switch), 0.0),
        (
            rf"$m\odot w$, decay $\lambda$ = {config.mw_decay:g} off at "
            rf"$t$ = {config.mw_switch:g}",
            SwitchOff(config.mw_decay, config.mw_switch),
            eta * config.mw_decay * n_on,
        ),
    )
    for label, schedule, dose in mw_runs:
        labels.append(label)
        paths.append(discrete_path(prob, _mw_optimizer(config, schedule), steps, iters))
        pred = predict(prob, family, schedule=schedule, z0=z0, total_dose=dose)
        preds.append(np.asarray(pred.x))
    # GD + HAM, with the flow on the same clock.
    ts = iters * eta
    ham_alpha, ham_beta, flow_err, flow_dev, flow_dev_inf = [], [], [], [], []
    for alpha in config.alphas_quick if quick else config.alphas:
        for beta in config.betas:
            labels.append(rf"HAM $\alpha$={alpha:g}, $\beta$={beta:g}")
            xs = discrete_path(prob, ham(alpha, beta, eta), steps, iters)
            paths.append(xs)
            preds.append(np.asarray(ham_limit(prob, alpha, beta).x))
            fx = flow_path(prob, alpha, beta, ts, config.rtol)
            ham_alpha.append(alpha)
            ham_beta.append(beta)
            flow_err.append(np.linalg.norm(fx - x_star[None, :], axis=1))
            flow_dev.append(float(np.max(np.linalg.norm(xs - fx, axis=1))))
            flow_dev_inf.append(float(np.max(np.abs(xs - fx))))

    paths = np.stack(paths)
    preds = np.stack(preds)
    errors = np.linalg.norm(paths - x_star[None, None, :], axis=2)
    final_x = paths[:, -1]
    return {
        "labels": np.asarray(labels),
        "iters": iters,
        "eta": eta,
        "errors": errors,
        "final_x": final_x,
        "final_err": errors[:, -1],
        "pred_x": preds,
        "pred_err": np.linalg.norm(preds - x_star[None, :], axis=1),
        "final_vs_pred": np.linalg.norm(final_x - preds, axis=1),
        "x_star": x_star,
        "mw_dose": float(mw_runs[1][2]),
        "ham_alpha": np.asarray(ham_alpha),
        "ham_beta": np.asarray(ham_beta),
        "ham_flow_errors": np.stack(flow_err),
        "ham_flow_dev": np.asarray(flow_dev),
        "ham_flow_dev_inf": np.asarray(flow_dev_inf),
    }


def plot(result: dict, path) -> None:
    r"""(a) GD and $m\odot w$, (b) GD+HAM with its flow; log-log, shared y axis."""
    from matplotlib.lines import Line2D

    labels = [str(s) for s in result["labels"]]
    iters = result["iters"][1:]
    n_ham = len(result["ham_alpha"])
    first_ham = len(labels) - n_ham
    colors = [COLORS[0], COLORS[1], COLORS[2]] + [COLORS[3], COLORS[4], COLORS[5]]
    ham_colors = (COLORS[0], COLORS[3], COLORS[1], COLORS[4], COLORS[2], COLORS[5])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=4.0)
        ax_base, ax_ham = axes[0]
        ax_ham.sharey(ax_base)
        for i in range(first_ham):
            c = colors[i]
            ax_base.loglog(
                iters, positive(result["errors"][i, 1:]), color=c, label=labels[i]
            )
            ax_base.axhline(result["pred_err"][i], color=c, ls="--", lw=0.9)
        for j in range(n_ham):
            i = first_ham + j
            c = ham_colors[j % len(ham_colors)]
            # beta = 0 wide and pale underneath: the beta = 1e-3 run covers it
            # until beta t = O(1).
            wide = result["ham_beta"][j] == 0.0
            ax_ham.loglog(
                iters,
                positive(result["errors"][i, 1:]),
                color=c,
                lw=2.6 if wide else 1.1,
                alpha=0.55 if wide else 1.0,
                label=f"{labels[i]} (flow dev. {result['ham_flow_dev'][j]:.1e})",
            )
            ax_ham.loglog(
                iters,
                positive(result["ham_flow_errors"][j, 1:]),
                color="k",
                ls=":",
                lw=0.9,
            )
            ax_ham.axhline(result["pred_err"][i], color=c, ls="--", lw=0.9)
        extra = [
            Line2D([], [], color="0.4", ls="--", label="predicted limit"),
        ]
        ax_base.legend(
            handles=ax_base.get_legend_handles_labels()[0] + extra,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=1,
            fontsize=6,
        )
        ax_ham.legend(
            handles=ax_ham.get_legend_handles_labels()[0]
            + extra
            + [Line2D([], [], color="k", ls=":", label=r"HAM flow at $t = k\eta$")],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=2,
            fontsize=6,
        )
        eta = result["eta"]
        for ax in (ax_base, ax_ham):
            ax.set_xlabel(rf"iteration $k$ ($\eta = {eta:g}$, $t = k\eta$)")
            ax.set_xlim(iters[0], iters[-1])
        ax_base.set_ylabel(r"error to ground truth $\|x_k - x^\star\|_2$")
        ax_base.set_title(r"(a) GD and $m\odot w$ ($m_0 = 0.1$, $w_0 = 0$)")
        ax_ham.set_title(r"(b) GD+HAM (solid), HAM flow (dotted)")
        fig.suptitle(
            "P2 (n = 20, d = 40, k = 3), noiseless, $x_0 = 0$: error to $x^\\star$; "
            "dashed: the flow theory's predicted limit",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="ham.dln_regression",
    paper="ham",
    figure="HAM (ICLR 2026), Fig. 5: linear regression, GD vs m*w vs GD+HAM",
    title="P2 regression: error to x* over iterations for GD, m*w and GD+HAM, with "
    "their flow limits and the HAM flow",
    description=(
        "P2 (n = 20, d = 40, k = 3, noiseless, loss 1/(2n)), x0 = 0, eta = 0.01, "
        "2e4 steps. Solid: ||x_k - x*|| of GD, m*w (m0 = 0.1, w0 = 0; decay 0, and "
        "decay 0.5 switched off at t = 2) and GD+HAM (alpha 10, 100; beta 0, 1e-3). "
        "Dashed: the predicted limit of each (min-L2 interpolant; time-dependent "
        "hypentropy projection at the discrete dose; Bregman projection of R_alpha "
        "or argmin f + beta h_alpha). Dotted: the HAM flow on the clock t = k eta; "
        "the legend gives the max discrete-vs-flow deviation. beta = 1e-3 acts on "
        "the time scale 1/beta = 1000, longer than the run (t = 200)."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=(
        "ham.discrete_to_flow_order1",
        "ham.flow_limit",
        "ham.flow_limit_beta",
        "ham.discrete_limit_order1",
        "mirror2.switch_off_wd",
    ),
)
