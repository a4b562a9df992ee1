r"""HAM's hyperbolic step as an optax transformation (docs/theory/ham.md, section 1).

One HAM step with a base optimizer $B$ (SGD, momentum, Adam, ...) and the raw
gradient $g = \nabla f(\theta_k)$:
$$\theta_{k+\frac12} = \theta_k + B(g),\qquad
\theta_{k+1} = \theta_{k+\frac12}\odot\exp\!\big(-\eta_k(\alpha\,
\mathrm{sign}(\theta_{k+\frac12})\odot g + \beta)\big),$$
with $\eta_k$ the base optimizer's current learning rate. The factor is positive, so
signs never flip and exact zeros stay zero (pruned weights stay pruned). With GD as
the base it discretizes the Riemannian flow with HAM's metric and drift
(`mirrorflow.papers.ham.ham_flow`). The authors' PyTorch wrapper adds an
exponent clamp ($|e|\le 5$), skips tensors of rank < 2, rescales every tensor to
norm $\le 1000$ and reverts a tensor whose step is NaN; here each is an option, off
by default, so that the default is the paper's update. (The wrapper also clips the
gradient norm to 20 *after* the update, which has no effect on the step: left out.)
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _validate
from .._types import ScalarLike
from ._finite import (
    NAN_POLICIES,
    check_transformation,
    nonfinite_probe,
    report_nonfinite,
)


def hyperbolic_step(
    theta_half: jax.Array,
    grad: jax.Array,
    learning_rate,
    alpha,
    beta,
    *,
    exponent_clip: float | None = None,
) -> jax.Array:
    r"""The hyperbolic factor applied after the base step.

    $\theta_{k+\frac12}\odot\exp(-\eta(\alpha\,\mathrm{sign}(\theta_{k+\frac12})
    \odot g + \beta))$.

    Exact zeros map to zero (also where the exponential overflows). `exponent_clip`
    $c$ clamps the exponent to $[-c, c]$ (the authors' code uses 5).
    """
    dtype = theta_half.dtype
    e = -jnp.asarray(learning_rate, dtype) * (
        jnp.asarray(alpha, dtype) * jnp.sign(theta_half) * grad.astype(dtype)
        + jnp.asarray(beta, dtype)
    )
    if exponent_clip is not None:
        e = jnp.clip(e, -exponent_clip, exponent_clip)
    return jnp.where(theta_half != 0, theta_half * jnp.exp(e), jnp.zeros_like(e))


class HamScheduleState(NamedTuple):
    """State of `ham` with a learning-rate schedule: the base state and a step count.

    With a constant learning rate `ham` keeps the base optimizer's state unchanged
    (no extra leaves).
    """

    base: optax.OptState
    count: jax.Array


def _check_float(value, name: str, *, positive: bool) -> float:
    return _validate.scalar(value, "ham", name, low=0.0, strict=positive)


_NAN_POLICIES = NAN_POLICIES  # the one policy set of every optimizer


_HAM_NONFINITE = (
    "ham: the gradient contains NaN/inf (nan_policy='raise'). Check the loss "
    "and the data; nan_policy='revert' keeps the base step of a leaf whose "
    "hyperbolic step is not finite, 'ignore' propagates."
)


def ham(
    alpha: ScalarLike = 200.0,
    beta: ScalarLike = 1e-3,
    learning_rate: ScalarLike | Callable[[jax.Array], jax.Array] = 1e-2,
    base: optax.GradientTransformation | None = None,
    *,
    exponent_clip: float | None = None,
    min_ndim: int = 0,
    max_param_norm: float | None = None,
    nan_policy: str = "raise",
) -> optax.GradientTransformation:
    r"""GD+HAM, or any base optimizer + HAM, as one optax `GradientTransformation`.

    `update(grads, state, params)` runs `base` on the raw gradient, then applies
    `hyperbolic_step` to the result with the same raw gradient (as the paper and the
    authors' code do, also when the base is Adam), and returns the total update.
    HAM wraps the base optimizer rather than following it in `optax.chain`: a later
    link of a chain only sees the base's output, not the gradient (for Adam the two
    differ in more than a factor). With a constant rate the state *is* the base's
    state: HAM adds no optimizer state (docs/theory/ham.md, section 6).

    Defaults `alpha = 200`, `beta = 1e-3` are the wrapper's (its ImageNet setting).

    Args:
        alpha: the gradient-sign coupling $\alpha\ge 0$.
        beta: the constant decay $\beta\ge 0$.
        learning_rate: $\eta > 0$ or an optax schedule (step count -> rate); it must
            be the base optimizer's rate (the exponent is $\eta(\ldots)$).
        base: the base optimizer; default `optax.sgd(learning_rate)` (GD+HAM, the
            analysed case whose flow is `papers.ham.ham_flow`).
        exponent_clip: clamp the exponent to $[-c, c]$ (wrapper: 5). Off by default.
        min_ndim: apply the hyperbolic step only to leaves with `ndim >= min_ndim`
            (wrapper: 2, skipping biases and norm parameters). Default 0: all.
        max_param_norm: after the step rescale each leaf to L2 norm
            $\le$ this (wrapper: 1000). Off by default.
        nan_policy: what a NaN/inf gradient does. `"raise"` (default): a runtime
            error, also under `jit` and `vmap` (`equinox.error_if` on the update;
            the check reads the gradients once, as a matrix-vector product that
            runs beside the step: no measurable cost on the benchmark MLP). An
            exponent that overflows (no `exponent_clip`,
            $\eta(\alpha|g| + \beta) > 88$ in float32) gives an
            inf parameter, whose next gradient is then reported. `"revert"`: the
            authors' guard, a leaf whose hyperbolic step is not finite keeps its
            base step (still NaN if the gradient was NaN; nothing is reported);
            `"ignore"`: propagate silently.

    Raises:
        ValueError: `alpha < 0`, `beta < 0`, a non-positive rate, bad options, or
            `update` without `params`.
    """
    alpha = _check_float(alpha, "alpha", positive=False)
    beta = _check_float(beta, "beta", positive=False)
    scheduled = callable(learning_rate)
    if not scheduled:
        learning_rate = _check_float(learning_rate, "learning_rate", positive=True)
    if exponent_clip is not None:
        exponent_clip = _check_float(exponent_clip, "exponent_clip", positive=True)
    if max_param_norm is not None:
        max_param_norm = _check_float(max_param_norm, "max_param_norm", positive=True)
    if not (isinstance(min_ndim, int) and min_ndim >= 0):
        raise ValueError(f"ham: `min_ndim` must be an int >= 0, got {min_ndim!r}.")
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(
            f"ham: `nan_policy` must be one of {_NAN_POLICIES}, got {nan_policy!r}."
        )
    if base is None:
        base = optax.sgd(learning_rate)
    else:
        check_transformation(base, "ham", "base")

    def init(params):
        state = base.init(params)
        if scheduled:
            return HamScheduleState(base=state, count=jnp.zeros([], jnp.int32))
        return state

    def leaf_step(theta, half, g, eta):
        if theta.ndim < min_ndim:
            new = half
        else:
            new = hyperbolic_step(
                half, g, eta, alpha, beta, exponent_clip=exponent_clip
            )
            if nan_policy == "revert":
                new = jnp.where(jnp.all(jnp.isfinite(new)), new, half)
        if max_param_norm is not None:
            norm = jnp.linalg.norm(new.reshape(-1))
            new = new * jnp.minimum(1.0, max_param_norm / norm).astype(new.dtype)
        return new

    def update(grads, state, params=None):
        if params is None:
            raise ValueError(
                "ham: `update` needs `params` (the hyperbolic step multiplies them)."
            )
        probe = nonfinite_probe(grads) if nan_policy == "raise" else None
        base_state = state.base if scheduled else state
        eta = learning_rate(state.count) if scheduled else learning_rate
        updates, base_state = base.update(grads, base_state, params)
        half = optax.apply_updates(params, updates)
        new = jax.tree.map(lambda p, h, g: leaf_step(p, h, g, eta), params, half, grads)
        total = jax.tree.map(lambda n, p: n - p, new, params)
        if probe is not None:
            total = report_nonfinite(total, probe, _HAM_NONFINITE)
        if scheduled:
            return total, HamScheduleState(base=base_state, count=state.count + 1)
        return total, base_state

    return optax.GradientTransformation(init, update)
