r"""Training $x = m\odot w$ with optax: the reparameterizing wrapper and PILoT.

`hadamard_reparam(inner, beta=...)` turns any optax transformation acting on
parameters $(m, w)$ into one acting on a model's ordinary parameters $x$: the model
and its loss stay unchanged, the state keeps the factors, and by the chain rule
$\nabla_m F = \nabla_xf\odot w$, $\nabla_w F = \nabla_xf\odot m$. `pilot` is the
ready PILoT optimizer (Mask in the Mirror, Jacobs & Burkholz, ICLR 2025, Algorithm 1;
docs/theory/mask_in_the_mirror.md, section 6): the initialization
$m_0\odot w_0 = x_{\rm init}$, $m_0^2 - w_0^2 = \beta$, gradient descent on
$f(m\odot w) + \lambda(\|m\|^2 + \|w\|^2)$ and the dynamic schedule.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._types import PyTree
from ..regularization import PilotRule
from ._weight_decay import MaskWeight, factors_mask, pilot_weight_decay


def _check_beta(beta, who: str) -> float:
    if not (isinstance(beta, int | float) and math.isfinite(beta) and beta > 0):
        raise ValueError(
            f"{who}: `beta` (the PILoT scale m0^2 - w0^2) must be a finite float > 0, "
            f"got {beta!r}."
        )
    return float(beta)


def pilot_init(x: jax.Array, beta: float) -> MaskWeight:
    r"""PILoT's initialization of one leaf: $m_0\odot w_0 = x$, $m_0^2 - w_0^2 = \beta$.

    $m_0 = \sqrt{(\beta + \sqrt{\beta^2 + 4x^2})/2}$, $w_0 = x/m_0$ (elementwise,
    Mask in the Mirror, Algorithm 1). Then $a_0 = \beta$ in every coordinate,
    $z_0 = \tfrac12\mathrm{arcsinh}(2x/\beta)$, and $m_t$ never crosses zero. Keeps the
    dtype of `x`.

    Raises:
        ValueError: `beta` <= 0 or not finite.
    """
    beta = _check_beta(beta, "pilot_init")
    x = jnp.asarray(x)
    m = jnp.sqrt(0.5 * (beta + jnp.sqrt(beta**2 + 4.0 * x**2)))
    return MaskWeight(m=m, w=x / m)


def _mask_leaves(mask, params, treedef) -> list[bool]:
    if mask is None:
        return [
            bool(jnp.issubdtype(leaf.dtype, jnp.floating))
            for leaf in treedef.flatten_up_to(params)
        ]
    tree = mask(params) if callable(mask) else mask
    full = jax.tree.map(
        lambda keep, p: jax.tree.map(lambda _: bool(keep), p), tree, params
    )
    return [bool(k) for k in treedef.flatten_up_to(full)]


class HadamardReparamState(NamedTuple):
    """State of `hadamard_reparam`.

    Attributes:
        factors: one entry per leaf of the params: a `MaskWeight(m, w)` for each
            reparameterized leaf, the leaf itself otherwise.
        inner_state: the state of the inner transformation.
    """

    factors: tuple
    inner_state: PyTree


def hadamard_reparam(
    inner: optax.GradientTransformation,
    *,
    beta: float,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""Train chosen leaves of any model as $x = m\odot w$ with the optimizer `inner`.

    `init(params)` splits each chosen leaf $x$ with `pilot_init(x, beta)`; `update`
    maps the gradient $g = \nabla_xf$ to $(g\odot w, g\odot m)$, runs `inner` on the
    tree in which chosen leaves are `MaskWeight(m, w)` nodes, and returns
    `m_new * w_new - x` for chosen leaves (the inner update for the others). Gradient
    descent on $(m, w)$ with step $\eta$ is `inner = optax.sgd(eta)`; weight decay on
    the factors is `optax.chain(scheduled_weight_decay(schedule, eta,
    mask=factors_mask), optax.sgd(eta))`. Extra arguments of `update` are passed to
    `inner`.

    Args:
        inner: the optimizer of the factors (any optax transformation).
        beta: $\beta > 0$, the initial imbalance $m_0^2 - w_0^2$.
        mask: which leaves to reparameterize: a prefix tree of Python bools or a
            function of the params returning one; default every floating leaf.

    Raises:
        ValueError: `beta` <= 0, or `update` without `params`.
    """
    beta = _check_beta(beta, "hadamard_reparam")
    inner = optax.with_extra_args_support(inner)

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        keep = _mask_leaves(mask, params, treedef)
        factors = tuple(
            pilot_init(p, beta) if k else p for p, k in zip(leaves, keep, strict=True)
        )
        return HadamardReparamState(
            factors=factors, inner_state=inner.init(treedef.unflatten(factors))
        )

    def update(updates, state, params=None, **extra_args: Any):
        if params is None:
            raise ValueError(
                "hadamard_reparam: `update` needs `params` (the current x = m * w)."
            )
        leaves, treedef = jax.tree.flatten(params)
        grads = treedef.flatten_up_to(updates)
        keep = _mask_leaves(mask, params, treedef)
        entries = [
            f if k else p for f, p, k in zip(state.factors, leaves, keep, strict=True)
        ]
        inner_grads = [
            MaskWeight(m=g * f.w, w=g * f.m) if k else g
            for g, f, k in zip(grads, entries, keep, strict=True)
        ]
        inner_params = treedef.unflatten(entries)
        inner_updates, inner_state = inner.update(
            treedef.unflatten(inner_grads),
            state.inner_state,
            inner_params,
            **extra_args,
        )
        new = treedef.flatten_up_to(optax.apply_updates(inner_params, inner_updates))
        outer = [
            e.m * e.w - p if k else e - p
            for e, p, k in zip(new, leaves, keep, strict=True)
        ]
        return treedef.unflatten(outer), HadamardReparamState(
            factors=tuple(new), inner_state=inner_state
        )

    return optax.GradientTransformationExtraArgs(init, update)


def pilot(
    learning_rate: float,
    *,
    beta: float,
    initial_strength: float,
    factor: float,
    l1_target: float,
    num_epochs: int,
    steps_per_epoch: int,
    metric_fn: Callable[[PyTree], jax.Array] | None = None,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""PILoT: continuous sparsification with $x = m\odot w$ (Jacobs & Burkholz, 2025).

    Per step, on the chosen leaves: gradient descent with step $\eta$ on
    $f(m\odot w) + \lambda(\|m\|^2 + \|w\|^2)$,
    $m \leftarrow m - \eta(g\odot w + 2\lambda m)$,
    $w \leftarrow w - \eta(g\odot m + 2\lambda w)$; other leaves take a plain GD step.
    Initialization `pilot_init(x, beta)`; $\lambda$ starts at `initial_strength` and
    follows `PilotRule` once per epoch (Mask in the Mirror, Algorithm 1; the rule's
    inequality directions are our reading of it, flagged there). In the second half
    of training $\lambda$ decays geometrically, so the final implicit bias is the
    hypentropy of scale $\beta e^{-4\Lambda_\infty}$ (Mask in the Mirror, Thm 3.3).

    The rule needs the training accuracy at the end of each epoch: pass it as
    `update(grads, state, params, accuracy=acc)`, or give `metric_fn(params)` here (it
    is then evaluated at every step, its value used at epoch boundaries), which makes
    `pilot` usable with `optimize`.

    Args:
        learning_rate: $\eta > 0$.
        beta: $\beta > 0$.
        initial_strength, factor, l1_target, num_epochs: the `PilotRule`.
        steps_per_epoch: optimizer steps per epoch.
        metric_fn: training accuracy as a function of the params (optional).
        mask: which leaves to reparameterize (default every floating leaf).

    Raises:
        ValueError: bad hyperparameters (a `beta` <= 0 names `beta`), or `update`
            without `accuracy` when no `metric_fn` was given.
    """
    if not (
        isinstance(learning_rate, int | float)
        and math.isfinite(learning_rate)
        and learning_rate > 0
    ):
        raise ValueError(
            f"pilot: `learning_rate` must be a finite float > 0, got {learning_rate!r}."
        )
    rule = PilotRule(initial_strength, factor, l1_target, num_epochs)
    _check_beta(beta, "pilot")
    inner = optax.chain(
        pilot_weight_decay(rule, learning_rate, steps_per_epoch, mask=factors_mask),
        optax.sgd(learning_rate),
    )
    tx = hadamard_reparam(inner, beta=beta, mask=mask)

    def update(updates, state, params=None, *, accuracy=None, **extra_args: Any):
        if params is None:
            raise ValueError("pilot: `update` needs `params` (the current x = m * w).")
        if accuracy is None:
            if metric_fn is None:
                raise ValueError(
                    "pilot: pass the training accuracy as `update(..., accuracy=acc)` "
                    "or build the optimizer with `metric_fn=`."
                )
            accuracy = metric_fn(params)
        return tx.update(updates, state, params, accuracy=accuracy, **extra_args)

    return optax.GradientTransformationExtraArgs(tx.init, update)
