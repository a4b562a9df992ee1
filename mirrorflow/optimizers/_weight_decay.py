r"""Weight-decay schedules as optax transformations (mask convention).

Each adds the gradient $2\lambda_k p$ of the penalty $\lambda_k\|p\|^2$ to the incoming
updates (gradients), so that `optax.chain(scheduled_weight_decay(schedule, eta),
optax.sgd(eta))` is gradient descent on $f + \lambda_t\|p\|^2$ with step $\eta$ at times
$t_k = k\eta$: the forward-Euler discretization of `GradientFlow`. The state
records the discrete dose $\Lambda = \eta\sum_k\lambda_k$, which is what the limit
prediction of the discrete run uses (claim `mask.gd_matches_time_dependent_flow`,
docs/theory/mask_in_the_mirror.md). Note the convention: optax's own
`add_decayed_weights(wd)` adds $\mathrm{wd}\cdot p$, i.e. penalty
$\tfrac{\mathrm{wd}}{2}\|p\|^2$ (the mirror2 convention,
$\mathrm{wd} = \alpha = 2\lambda$).
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._misc import default_float
from .._types import PyTree
from ..regularization import AbstractSchedule, PilotRule
from ._finite import check_nan_policy, nonfinite_probe, report_nonfinite


class MaskWeight(NamedTuple):
    """A reparameterized leaf $x = m\\odot w$: the mask `m` and the weight `w`."""

    m: jax.Array
    w: jax.Array


def _is_factor(node) -> bool:
    return isinstance(node, MaskWeight)


def factors_mask(params: PyTree) -> PyTree:
    """A mask prefix tree: True at `MaskWeight` nodes, False at plain leaves.

    Pass it as `mask=` to apply weight decay only to the factors $(m, w)$ of the
    leaves that `hadamard_reparam` reparameterizes (PILoT decays only those).
    """
    return jax.tree.map(_is_factor, params, is_leaf=_is_factor)


def _check_step(step_size, who: str) -> float:
    if not (
        isinstance(step_size, int | float)
        and math.isfinite(step_size)
        and step_size > 0
    ):
        raise ValueError(
            f"{who}: `step_size` must be a finite float > 0 (the learning rate), got "
            f"{step_size!r}."
        )
    return float(step_size)


def _float_dtype(params):
    leaves = [
        x for x in jax.tree.leaves(params) if jnp.issubdtype(x.dtype, jnp.floating)
    ]
    return jnp.result_type(*leaves) if leaves else jnp.result_type(float)


def _add_decay(updates, params, strength, mask):
    """updates + 2 * strength * params on the leaves selected by `mask`."""

    def decay(u, p):
        return jax.tree.map(
            lambda uu, pp: uu + (2.0 * strength).astype(pp.dtype) * pp, u, p
        )

    if mask is None:
        return decay(updates, params)
    tree = mask(params) if callable(mask) else mask
    return jax.tree.map(
        lambda keep, u, p: decay(u, p) if keep else u,
        tree,
        updates,
        params,
        is_leaf=lambda n: isinstance(n, bool),
    )


def _l1(params, mask):
    """$\\|x\\|_1$ over the `MaskWeight` nodes ($x = m\\odot w$), else masked leaves."""
    nodes = jax.tree.leaves(params, is_leaf=_is_factor)
    factors = [n for n in nodes if _is_factor(n)]
    if factors:
        return sum(jnp.sum(jnp.abs(f.m * f.w)) for f in factors)
    if mask is not None:
        tree = mask(params) if callable(mask) else mask
        picked = jax.tree.map(
            lambda keep, p: p if keep else jnp.zeros_like(p),
            tree,
            params,
            is_leaf=lambda n: isinstance(n, bool),
        )
        nodes = jax.tree.leaves(picked)
    return sum(jnp.sum(jnp.abs(p)) for p in nodes)


_DECAY_NONFINITE = (
    "scheduled_weight_decay: the incoming update (gradient) or the parameters "
    "contain NaN/inf (nan_policy='raise'). Check the loss, the data and the step "
    "size; nan_policy='revert' zeroes the update of such a leaf."
)


class ScheduledWeightDecayState(NamedTuple):
    """State of `scheduled_weight_decay`.

    Attributes:
        count: steps taken $k$.
        dose: the discrete dose $\\eta\\sum_{j<k}\\lambda_{j\\eta}$.
    """

    count: jax.Array
    dose: jax.Array


def scheduled_weight_decay(
    schedule: AbstractSchedule,
    step_size: float,
    *,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
    nan_policy: str = "raise",
) -> optax.GradientTransformation:
    r"""Add $2\lambda_{t_k}\,p$ to the updates, $t_k = k\cdot$`step_size`.

    The gradient of the penalty $\lambda_t\|p\|^2$ (mask convention,
    docs/theory/conventions.md, section 3). Chain it before the optimizer:
    `optax.chain(scheduled_weight_decay(schedule, eta), optax.sgd(eta))`. Pure,
    jit-able, dtype-preserving (float32 parameters stay float32).

    Args:
        schedule: $\lambda_t$ (any `AbstractSchedule`).
        step_size: the time step $\eta > 0$ per update (the learning rate).
        mask: which leaves decay: a prefix tree of Python bools or a function of the
            params returning one (e.g. `factors_mask`); default every leaf.
        nan_policy: what a NaN/inf incoming update (gradient) or parameter does,
            as for every optimizer of mirrorflow: `"raise"` (default) a runtime
            error, also under `jit` (`equinox.error_if`); `"revert"`: the leaf's
            update is set to zero (with `sgd` after it, the leaf keeps its value
            this step); `"ignore"`: propagate silently.

    Raises:
        ValueError: bad `step_size` or `nan_policy`, or `update` without `params`.
    """
    step = _check_step(step_size, "scheduled_weight_decay")
    check_nan_policy(nan_policy, "scheduled_weight_decay")
    if not isinstance(schedule, AbstractSchedule):
        raise TypeError(
            "scheduled_weight_decay: `schedule` must be a schedule (e.g. "
            f"ConstantDecay(0.1)), got {type(schedule).__name__}."
        )

    def init(params):
        return ScheduledWeightDecayState(
            count=jnp.zeros([], jnp.int32), dose=jnp.zeros([], _float_dtype(params))
        )

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(
                "scheduled_weight_decay: `update` needs `params` (the decay is "
                "2 * lambda * params)."
            )
        probe = nonfinite_probe((updates, params)) if nan_policy == "raise" else None
        t = state.count.astype(default_float()) * step
        lam = schedule.strength(t).astype(state.dose.dtype)
        updates = _add_decay(updates, params, lam, mask)
        if nan_policy == "revert":
            updates = jax.tree.map(
                lambda u: jnp.where(jnp.all(jnp.isfinite(u)), u, jnp.zeros_like(u)),
                updates,
            )
        if probe is not None:
            updates = report_nonfinite(updates, probe, _DECAY_NONFINITE)
        return updates, ScheduledWeightDecayState(
            count=state.count + 1, dose=state.dose + step * lam
        )

    return optax.GradientTransformation(init, update)


class PilotWeightDecayState(NamedTuple):
    """State of `pilot_weight_decay`.

    Attributes:
        count: steps taken.
        strength: the current $\\lambda$.
        previous_accuracy: the accuracy after the previous epoch ($-\\infty$ at start).
        dose: the discrete dose $\\eta\\sum_k\\lambda_k$.
    """

    count: jax.Array
    strength: jax.Array
    previous_accuracy: jax.Array
    dose: jax.Array


def pilot_weight_decay(
    rule: PilotRule,
    step_size: float,
    steps_per_epoch: int,
    *,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""PILoT's dynamic weight decay: add $2\lambda p$, update $\lambda$ per epoch.

    At the start of every epoch after the first (step $k = eS$, $e \ge 1$ completed
    epochs) $\lambda \leftarrow$ `rule.next_strength(lambda, e, accuracy,
    previous_accuracy, ||x||_1)` (Mask in the Mirror, Algorithm 1;
    docs/theory/mask_in_the_mirror.md, section 6; directions flagged in `PilotRule`),
    where `accuracy` is the training accuracy of the current parameters, passed to
    `update` as an extra argument (as `optax.contrib.reduce_on_plateau` takes `value`),
    and $\|x\|_1 = \sum\|m\odot w\|_1$ over the `MaskWeight` nodes of
    `params` (over the decayed leaves if there are none).

    Args:
        rule: the `PilotRule`.
        step_size: the learning rate $\eta$ (for the recorded dose).
        steps_per_epoch: $S$, a positive int.
        mask: which leaves decay (default every leaf; `pilot` passes `factors_mask`).

    Raises:
        ValueError: bad arguments, or `update` without `params` or `accuracy`.
    """
    step = _check_step(step_size, "pilot_weight_decay")
    if not (isinstance(steps_per_epoch, int) and steps_per_epoch > 0):
        raise ValueError(
            "pilot_weight_decay: `steps_per_epoch` must be a positive int, got "
            f"{steps_per_epoch!r}."
        )

    def init(params):
        dtype = _float_dtype(params)
        return PilotWeightDecayState(
            count=jnp.zeros([], jnp.int32),
            strength=rule.initial_strength.astype(dtype),
            previous_accuracy=jnp.asarray(-jnp.inf, dtype),
            dose=jnp.zeros([], dtype),
        )

    def update(updates, state, params=None, *, accuracy=None, **extra_args: Any):
        del extra_args
        if params is None:
            raise ValueError("pilot_weight_decay: `update` needs `params`.")
        if accuracy is None:
            raise ValueError(
                "pilot_weight_decay: pass the training accuracy as "
                "`update(..., accuracy=acc)` (or use `pilot(..., metric_fn=...)`)."
            )
        acc = jnp.asarray(accuracy).astype(state.previous_accuracy.dtype)
        epoch = state.count // steps_per_epoch
        boundary = (state.count > 0) & (state.count % steps_per_epoch == 0)
        proposed = rule.next_strength(
            state.strength,
            epoch,
            acc,
            state.previous_accuracy,
            _l1(params, mask).astype(state.strength.dtype),
        )
        strength = jnp.where(boundary, proposed, state.strength)
        previous = jnp.where(boundary, acc, state.previous_accuracy)
        updates = _add_decay(updates, params, strength, mask)
        return updates, PilotWeightDecayState(
            count=state.count + 1,
            strength=strength,
            previous_accuracy=previous,
            dose=state.dose + step * strength,
        )

    return optax.GradientTransformationExtraArgs(init, update)
