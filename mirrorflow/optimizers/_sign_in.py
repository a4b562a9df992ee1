r"""Sign-In: sparse training with $\theta = m\odot w$ and periodic resets.

Gadhikar, Jacobs, Zhou & Burkholz, Sign-In to the Lottery, NeurIPS 2025. Chosen
leaves are trained as $\theta = m\odot w$ (optionally times a fixed pruning mask $M$)
and the factors are split again every `reset_every` steps so that the imbalance
$m^2 - w^2$ returns to $\beta_0$ while $\theta$ stays the same. Built on the shared
mechanism of `hadamard_reparam` (docs/theory/mask_in_the_mirror.md, section 6, for
the geometry of $m\odot w$).
"""

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .._types import PyTree
from ._pilot import _count_dtype, _flip_count, _mask_leaves, _reparam


def _weight_leaves(params: PyTree) -> PyTree:
    """The default selector: floating leaves with ndim >= 2 (weights, kernels)."""
    return jax.tree.map(
        lambda x: bool(
            jnp.issubdtype(jnp.result_type(x), jnp.floating) and jnp.ndim(x) >= 2
        ),
        params,
    )


def sign_in(
    base: optax.GradientTransformation,
    *,
    beta0: float | int,
    reset_every: Any,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
    sparsity_mask: PyTree | None = None,
    nan_policy: str = "raise",
    count_sign_flips: bool = True,
) -> optax.GradientTransformationExtraArgs:
    r"""Sign-In: train chosen leaves as $\theta = M\odot m\odot w$ with periodic resets.

    Gadhikar, Jacobs, Zhou & Burkholz, Sign-In to the Lottery, NeurIPS 2025.

    **The method.** Each chosen leaf $\theta$ is split by (SI-2)
    $$m \leftarrow \sqrt{\tfrac12\big(\beta_0 + \sqrt{\beta_0^2 + 4\theta^2}\big)},
    \qquad w \leftarrow \theta / m$$
    (elementwise; `pilot_init`), so that $m\odot w = \theta$ and $m^2 - w^2 = \beta_0$
    with $m > 0$. The base optimizer then acts on $(m, w)$ with the chain-rule
    gradients $\nabla_m = g\odot w$, $\nabla_w = g\odot m$, $g = \nabla_\theta L$
    (times $M$ with a pruning mask). After every `reset_every`-th step,
    $\theta \leftarrow m\odot w$ and $(m, w) \leftarrow$ SI-2$(\theta, \beta_0)$.
    Transcription of the spec::

        (m, w) <- SI-2(theta0, beta0); forward uses theta = M * m * w
        for k = 1..K: OPT.step on (m, w); if k % reset_every == 0:
            theta <- m * w; (m, w) <- SI-2(theta, beta0)

    **Why resets (SI-1).** Under gradient flow on $(m, w)$ the imbalance
    $\beta = m^2 - w^2$ is conserved per coordinate and the product follows the
    Riemannian flow $\dot\theta = -\sqrt{4\theta^2 + \beta^2}\odot\nabla L$; at
    $\theta = 0$ the speed factor is $\beta$, so $\beta$ sets how easily a weight
    crosses zero, i.e. flips its sign ($m$ never crosses zero). Discrete steps erode
    $\beta$: one plain GD step gives $\beta^+ = \beta(1 - \eta^2g^2)$ exactly per
    coordinate; momentum, adaptive steps and weight decay on the factors change it
    too. A reset restores $\beta_0$ and keeps $\theta = m\odot w$ (the network
    function is unchanged, up to rounding).

    **Choices here (the paper's text leaves them open).** The reset period is a
    parameter counted in optimizer steps: "every $p$ epochs" is
    `reset_every = p * steps_per_epoch`. Which tensors are reparameterized is
    `mask`, by default every floating leaf with `ndim >= 2` (the weights of
    linear and convolutional layers; biases and norm parameters are trained
    directly by `base`). $\beta_0$ is the per-coordinate imbalance $m^2 - w^2$
    after each reset; what the paper's "$\beta = 1$" is measured against is not
    pinned down in its text, so pass the $\beta_0$ you mean. The reset keeps the
    base optimizer's state (momentum buffers, Adam moments) as it is; they refer
    to the factors before the reset. Resetting it too is a different method
    (not offered).

    **Pruning.** With `sparsity_mask` $M$ (pruning at initialization, as the
    functions of `mirrorflow.masks` return it) the forward uses
    $\theta = M\odot m\odot w$: the gradient is 0 at pruned coordinates, the
    factors are split from $M\odot\theta$ (so $w = 0$ there, also at every reset),
    and pruned coordinates of every leaf (chosen or not) are exactly 0 after each
    step, forever. The initial params need not be masked: the first update sets
    the pruned entries to 0 (the first gradient is evaluated at the given params,
    so pass `masks.apply_mask(params, M)` to start from the pruned network).

    **Sign flips.** `state.sign_flips` holds one count per leaf of the params:
    coordinates whose sign went strictly from + to - or - to + at a step, summed
    over the steps: the count of `sign_flips` between $\theta$ before and after
    the step (the factor products, before their rounding into the params), except
    that a row (along the last axis) holding a NaN counts 0 at that step. It
    saturates at the largest int (int32 without `jax_enable_x64`).
    `count_sign_flips=False` drops it (one elementwise pass and one sum per leaf
    per step less; with `nan_policy="ignore"` as well this is the
    `Sign-In+SGDm lean` row of `mirrorflow bench --only sign_in`).

    The state is a `HadamardReparamState`: `factors`, `inner_state` (the base's),
    `count`, `sign_flips`, `sparsity_mask`. Use as any optax transformation with
    `update(grads, state, params)`; extra arguments go to `base`. Works under
    `jit` and `vmap` and keeps float32 parameters float32.

    Args:
        base: the optimizer of the factors $(m, w)$, any optax transformation
            (e.g. `optax.sgd(lr, momentum=0.9)`, `optax.adamw(lr)`); leaves that
            are not chosen are trained by it directly.
        beta0: $\beta_0 > 0$, the imbalance $m^2 - w^2$ after each (re)split.
        reset_every: the reset period, a positive int, in optimizer steps.
        mask: which leaves to reparameterize (leaf selector): a prefix tree of
            Python bools of the params' structure, or a function params -> such a
            tree. Default: floating leaves with `ndim >= 2`.
        sparsity_mask: a fixed pruning mask, a pytree of the params' structure of
            boolean or 0/1 arrays shaped like the leaves (True/1 = kept), or None.
        nan_policy: what a NaN/inf gradient does, as in `ham`. `"raise"`
            (default): a runtime error, also under `jit` and `vmap`
            (`equinox.error_if`; one reduction over the gradients per step).
            `"revert"`: a leaf whose step (new factors or new value, after a
            reset if one is due) is not all finite stays as it was: its factors
            are kept and its update is exactly 0 (a per-tensor guard, as
            `ham`'s); the base state is updated regardless, as in `ham` (a
            momentum buffer that took a NaN stays NaN, and that leaf then keeps
            reverting); nothing is reported. `"ignore"`: propagate silently.
        count_sign_flips: keep the per-leaf sign-flip counts in the state.

    Raises:
        ValueError: `beta0` <= 0 or not finite, `reset_every` not a positive int,
            a bad `nan_policy`, a `mask` that is not a bool tree or callable, or
            whose tree does not match the params, a `mask` selecting no leaf, a
            `sparsity_mask` of another structure or shape or with values other than
            0/1, or `update` without `params`.
    """
    if isinstance(beta0, bool) or not (
        isinstance(beta0, int | float) and math.isfinite(beta0) and beta0 > 0
    ):
        raise ValueError(
            "sign_in: `beta0` (the imbalance m^2 - w^2 after each reset) must be a "
            f"finite float > 0, got {beta0!r}; e.g. beta0=1.0."
        )
    if reset_every is None:
        raise ValueError(
            "sign_in: `reset_every` (steps between resets) must be a positive int, "
            "got None; for a reset every p epochs pass p * steps_per_epoch (without "
            "resets, use `hadamard_reparam`)."
        )
    selector = _weight_leaves if mask is None else mask
    tx = _reparam(
        base,
        beta=float(beta0),
        mask=selector,
        reset_every=reset_every,
        sparsity_mask=sparsity_mask,
        count_sign_flips=count_sign_flips,
        nan_policy=nan_policy,
        who="sign_in",
    )

    def init(params):
        _, treedef = jax.tree.flatten(params)
        if not any(_mask_leaves(selector, params, treedef, "sign_in")):
            what = "the default selects floating leaves with ndim >= 2"
            raise ValueError(
                f"sign_in: `mask` selects no leaf of the params ({what}); pass "
                "`mask=` choosing the leaves to train as m * w."
            )
        return tx.init(params)

    return optax.GradientTransformationExtraArgs(init, tx.update)


def sign_flips(params_a: PyTree, params_b: PyTree) -> PyTree:
    r"""Per leaf, the coordinates whose sign differs strictly between two params.

    A coordinate flips when one value is $> 0$ and the other $< 0$:
    $\#\{i : \theta_{a,i}\,\theta_{b,i} < 0\}$ (computed by comparisons, so no
    underflow of the product). Exact zeros never flip: $0 \to x$ and $x \to 0$ are
    not counted (nor is $-0 \to +0$), and NaN is no sign. Summed over consecutive
    steps it gives `sign_in`'s `state.sign_flips` (which compares the factor
    products $M\odot m\odot w$, before their rounding into the params).

    Args:
        params_a, params_b: two pytrees of the same structure and leaf shapes.

    Returns:
        A pytree of the params' structure with one integer count per leaf (the
        default int: int64 with `jax_enable_x64`, else int32).

    Raises:
        ValueError: the structures or the shapes of a leaf differ.
    """
    ta, tb = jax.tree.structure(params_a), jax.tree.structure(params_b)
    if ta != tb:
        raise ValueError(
            f"sign_flips: `params_a` and `params_b` must have the same structure, "
            f"got {ta} and {tb}."
        )
    dtype = _count_dtype()

    def one(a, b):
        a, b = jnp.asarray(a), jnp.asarray(b)
        if a.shape != b.shape:
            raise ValueError(
                f"sign_flips: a leaf has shape {a.shape} in `params_a` and "
                f"{b.shape} in `params_b`."
            )
        return _flip_count(a, b, dtype)

    return jax.tree.map(one, params_a, params_b)
