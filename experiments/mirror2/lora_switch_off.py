r"""LoRA with weight decay switched off: $\|BA\|_*/\|BA\|_F$, AdamW and gradient flow.

Mirror, Mirror of the Flow (Jacobs, Zhou & Burkholz 2025), Fig. 4 (GPT-2 LoRA),
scaled down as recipe R-M4: a frozen $W_0\in\mathbb R^{32\times32}$, a rank-2 target
update, 512 samples, noise 0.01 (`lora_regression(seed)`), adapter $BA$ of rank 8
($B_0 = 0$). Four runs: S0 no decay, S1 decay 0.1, S2 decay 0.1 switched off at step
200, S3 decay 0.05; their doses match for S2 and S3 at step 400.

(a) AdamW (lr $10^{-2}$, 500 full-batch steps, decoupled decay on $B$ and $A$), mean
over the seeds; (b) the per-seed difference S2 - S3 after the switch: at this scale
the decay moves the ratio by ~$10^{-4}$, below the seed-to-seed spread, and the
curves cross dozens of times, so the recipe does not resolve the paper's crossing.
(c) Gradient flow on $(B, A)$ of the same instances with L2 decay
$\lambda_t(\|B\|^2 + \|A\|^2)$ ($\lambda = 0.1$ switched off at $T = 5$ vs $0.05$
constant), mean over the seeds: S2 stays below S0 after the switch and crosses S3
before the dose match $2T$ (claim `mirror2.lora_dose_crossing`).
"""

import dataclasses

import numpy as np

from mirrorflow.app import COLORS, Experiment, new_figure, paper_style, save_figure
from mirrorflow.papers.mirror2 import (
    LORA_FLOW_SWITCH,
    LORA_RUNS,
    LORA_STEPS,
    LORA_SWITCH,
    crossings,
    lora_switch_off_adamw,
    lora_switch_off_flow,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the runs.

    Attributes:
        seed: the first seed; runs use `seed, ..., seed + num_seeds - 1` (instance
            and adapter initialization).
        num_seeds: seeds of the full run (the recipe's 5); `--quick` uses 2.
        flow_points: save times of the flows on $(0, 3T]$ (`--quick`: a quarter).
    """

    seed: int = 0
    num_seeds: int = 5
    flow_points: int = 600


def run(config: Config, quick: bool) -> dict:
    """AdamW ratio curves (seed, run, step) and flow curves (seed, run, time)."""
    seeds = [config.seed + j for j in range(2 if quick else config.num_seeds)]
    points = config.flow_points // 4 if quick else config.flow_points
    T = LORA_FLOW_SWITCH
    ts = np.linspace(0.0, 3 * T, points + 1)[1:]
    adamw = np.asarray([lora_switch_off_adamw(s) for s in seeds])
    flows = [lora_switch_off_flow(s, ts) for s in seeds]
    flow = np.asarray([[f[name] for name in ("S0", "S2", "S3")] for f in flows])
    after = ts > T
    cross = [crossings(ts[after], f["S2"][after], f["S3"][after]) for f in flows]
    steps = np.arange(1, LORA_STEPS + 1)
    mean = adamw.mean(axis=0)
    tail = steps > LORA_SWITCH
    return {
        "seeds": np.asarray(seeds),
        "steps": steps,
        "adamw_ratio": adamw,
        "flow_ts": ts,
        "flow_ratio": flow,
        "flow_first_crossing": np.asarray([c[0] if len(c) else np.nan for c in cross]),
        "adamw_mean_crossings_after_switch": len(
            crossings(steps[tail], mean[2, tail], mean[3, tail])
        ),
    }


def plot(result: dict, path) -> None:
    """(a) AdamW means; (b) AdamW S2 - S3 per seed; (c) the flows' means."""
    steps, adamw = result["steps"], result["adamw_ratio"]
    ts, flow = result["flow_ts"], result["flow_ratio"]
    T = LORA_FLOW_SWITCH
    with paper_style():
        fig, axes = new_figure(1, 3, width=7.4, height=2.6)
        ax = axes[0, 0]
        mean = adamw.mean(axis=0)
        for i, name in enumerate(LORA_RUNS):
            ax.plot(steps, mean[i], color=COLORS[i], lw=1.0, label=name)
        ax.axvline(LORA_SWITCH, color="0.5", ls="--", lw=0.8)
        ax.axvline(2 * LORA_SWITCH, color="0.5", ls=":", lw=0.8)
        late = mean[:, 100:]  # the fitted phase (the first steps fall from ~1.9)
        ax.set_ylim(late.min() - 2e-4, late.max() + 2e-4)
        ax.set_xlabel("AdamW step")
        ax.set_ylabel(r"$\|BA\|_*/\|BA\|_F$ (seed mean)")
        ax.set_title("(a) AdamW, recipe R-M4 (from step 100)")
        ax.legend(fontsize=6, ncol=2)
        ax = axes[0, 1]
        for j in range(adamw.shape[0]):
            ax.plot(steps, adamw[j, 2] - adamw[j, 3], color="0.6", lw=0.6)
        ax.plot(steps, mean[2] - mean[3], color=COLORS[2], lw=1.2, label="mean")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.axvline(LORA_SWITCH, color="0.5", ls="--", lw=0.8)
        ax.axvline(2 * LORA_SWITCH, color="0.5", ls=":", lw=0.8)
        ax.set_xlim(LORA_SWITCH - 20, steps[-1])
        shown = adamw[:, 2, LORA_SWITCH - 20 :] - adamw[:, 3, LORA_SWITCH - 20 :]
        pad = 0.1 * np.ptp(shown)
        ax.set_ylim(shown.min() - pad, shown.max() + pad)
        ax.set_xlabel("AdamW step")
        ax.set_ylabel("S2 - S3 (per seed, grey)")
        ax.set_title(
            f"(b) AdamW: {result['adamw_mean_crossings_after_switch']} crossings "
            "of the means"
        )
        ax.legend(fontsize=6)
        ax = axes[0, 2]
        fmean = flow.mean(axis=0)
        for i, name in enumerate(("S0", "S2", "S3")):
            color = COLORS[LORA_RUNS.index(name)]
            ax.plot(ts, fmean[i], color=color, lw=1.0, label=name)
        ax.axvline(T, color="0.5", ls="--", lw=0.8)
        ax.axvline(2 * T, color="0.5", ls=":", lw=0.8, label="dose match 2T")
        for tc in result["flow_first_crossing"]:
            ax.axvline(tc, color=COLORS[2], lw=0.4, alpha=0.6)
        ax.set_xlabel("flow time")
        ax.set_ylabel(r"$\|BA\|_*/\|BA\|_F$ (seed mean)")
        ax.set_title("(c) gradient flow: crossings (thin) vs 2T")
        ax.legend(fontsize=6)
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mirror2.lora_switch_off",
    paper="mirror2",
    figure="Mirror, Mirror of the Flow, Fig. 4 (LoRA, decay switched off; synthetic "
    "stand-in R-M4)",
    title="LoRA B A with decay switched off: AdamW (recipe) and gradient flow",
    description=(
        "Frozen 32x32 W0, rank-2 target, 512 samples; LoRA rank 8 (B0 = 0). S0 no "
        "decay, S1 0.1, S2 0.1 switched off at 200, S3 0.05. (a) AdamW lr 1e-2 ratio "
        "||BA||_*/||BA||_F; (b) AdamW S2 - S3 per seed; (c) gradient flow with L2 "
        "decay 0.1 off at T = 5 vs 0.05: crossings against the dose match 2T."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mirror2.lora_dose_crossing",),
)
