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

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._types import PyTree
from ..regularization import PilotRule
from ._finite import check_transformation, nonfinite_probe, report_nonfinite
from ._hyperbolic import _NAN_POLICIES
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


def _check_selector(mask, who: str) -> None:
    """Construction-time check of a leaf selector that is not a callable."""
    if mask is None or callable(mask):
        return
    bad = [f for f in jax.tree.leaves(mask) if not isinstance(f, bool | np.bool_)]
    if bad:
        raise ValueError(
            f"{who}: `mask` (which leaves to train as m * w) must be None, a prefix "
            "tree of Python bools (e.g. {'w': True, 'b': False}) or a function "
            f"params -> such a tree; got a leaf {bad[0]!r} of type "
            f"{type(bad[0]).__name__}. Use True/False per leaf (or subtree)."
        )


def _mask_leaves(mask, params, treedef, who: str = "hadamard_reparam") -> list[bool]:
    """One bool per leaf of `params`: is it trained as m * w? (validated)."""
    if mask is None:
        return [
            bool(jnp.issubdtype(leaf.dtype, jnp.floating))
            for leaf in treedef.flatten_up_to(params)
        ]
    tree = mask(params) if callable(mask) else mask
    _check_selector(tree, who if not callable(mask) else f"{who} (the `mask` function)")
    try:
        full = jax.tree.map(
            lambda keep, p: jax.tree.map(lambda _: bool(keep), p), tree, params
        )
        flags = [bool(k) for k in treedef.flatten_up_to(full)]
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{who}: `mask` (the leaf selector) must have the structure of the "
            f"params, or a prefix of it; got {jax.tree.structure(tree)} for params "
            f"{treedef}. Build it from the params, e.g. "
            "`jax.tree.map(lambda x: x.ndim >= 2, params)`, or pass a function."
        ) from err
    for leaf, keep in zip(treedef.flatten_up_to(params), flags, strict=True):
        if keep and not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise ValueError(
                f"{who}: `mask` selects a leaf of dtype {jnp.result_type(leaf)}; only "
                "floating leaves can be trained as m * w. Set it to False."
            )
    return flags


def _prepare_sparsity(sparsity_mask, who: str):
    """Construction-time check of a fixed pruning mask: 0/1 or boolean leaves."""
    if sparsity_mask is None:
        return None

    def one(leaf):
        try:
            arr = np.asarray(leaf)
        except Exception:  # a tracer: the optimizer was built under a transform
            return jnp.asarray(leaf).astype(bool)
        if not (arr.dtype == np.bool_ or np.all((arr == 0) | (arr == 1))):
            raise ValueError(
                f"{who}: `sparsity_mask` must hold booleans or 0/1 (1 = kept), got "
                "other values. Use the output of a `mirrorflow.masks` function."
            )
        return arr.astype(bool)

    return jax.tree.map(one, sparsity_mask)


def _sparsity_leaves(prepared, params, treedef, who: str) -> tuple:
    """One boolean array (or None) per leaf of `params`, shapes checked."""
    leaves = treedef.flatten_up_to(params)
    if prepared is None:
        return (None,) * len(leaves)
    if jax.tree.structure(prepared) != treedef:
        raise ValueError(
            f"{who}: `sparsity_mask` must have the structure of the params (as the "
            "functions of `mirrorflow.masks` return it: one boolean or 0/1 array "
            "per leaf, all True where nothing is pruned); got "
            f"{jax.tree.structure(prepared)} for params {treedef}."
        )
    out = []
    for m, p in zip(jax.tree.leaves(prepared), leaves, strict=True):
        if jnp.shape(m) != jnp.shape(p):
            raise ValueError(
                f"{who}: a `sparsity_mask` leaf has shape {jnp.shape(m)}, its "
                f"parameter {jnp.shape(p)}; the mask must be shaped like its "
                "parameter (build it from these params with `mirrorflow.masks`)."
            )
        floating = jnp.issubdtype(jnp.result_type(p), jnp.floating)
        out.append(jnp.asarray(m, bool) if floating else None)
    return tuple(out)


def _masked(x, keep):
    """x with exact zeros where `keep` is False (keep None: x)."""
    return x if keep is None else jnp.where(keep, x, jnp.zeros_like(x))


def _flip_count(before, after, dtype):
    """Coordinates whose sign went strictly + -> - or - -> + (zeros, NaN never flip)."""
    flips = ((before > 0) & (after < 0)) | ((before < 0) & (after > 0))
    return jnp.sum(flips, dtype=dtype)


def _flip_count_rows(before, after, dtype):
    r"""`_flip_count` for the step: the same count where no value is NaN, cheaper.

    With $s = \mathrm{sign}(a)\,\mathrm{sign}(b)$, $|s| - s$ is 2 at a flip and 0
    elsewhere; it is summed in floating point along the last axis (exact: the
    partial sums are even integers <= twice the axis length, accumulated in float32,
    float64 for float64 leaves), then in `dtype` over the rows. On XLA's CPU backend
    this vectorizes, a sum of booleans does not: in a Sign-In step on a 1e7-parameter
    MLP the comparison count cost 5x more. A row (along the last axis) holding a NaN
    counts 0 at that step.
    """
    wide = before.dtype == jnp.float64
    acc = jnp.float64 if wide else jnp.float32
    floating = jnp.issubdtype(before.dtype, jnp.floating)
    if (
        before.ndim == 0
        or not floating
        or before.shape[-1] > (2**52 if wide else 2**23)
    ):
        return _flip_count(before, after, dtype)
    s = jax.lax.sign(before) * jax.lax.sign(after)
    rows = jnp.sum(jnp.abs(s) - s, axis=-1, dtype=acc)
    rows = jnp.where(jnp.isnan(rows), jnp.zeros((), acc), rows)
    return jnp.sum(rows.astype(dtype)) // 2


def _count_dtype():
    """The default int (int64 with jax_enable_x64, else int32)."""
    return jax.dtypes.canonicalize_dtype(jnp.int64)


class HadamardReparamState(NamedTuple):
    """State of `hadamard_reparam` (and of `sign_in`).

    Attributes:
        factors: one entry per leaf of the params: a `MaskWeight(m, w)` for each
            reparameterized leaf, the leaf itself otherwise.
        inner_state: the state of the inner transformation.
        count: steps taken (int32), with `reset_every`; else None.
        sign_flips: with `count_sign_flips`, one count per leaf of the params: the
            coordinates whose sign went strictly from + to - or from - to + at a
            step, summed over the steps (zero -> nonzero is no flip; a row along
            the last axis holding a NaN counts 0 at that step); saturates at the
            largest int (int32 without `jax_enable_x64`). Else None.
        sparsity_mask: with `sparsity_mask`, one boolean array per leaf (None for
            non-floating leaves), True where kept. Else None.
    """

    factors: tuple
    inner_state: PyTree
    count: jax.Array | None = None
    sign_flips: tuple | None = None
    sparsity_mask: tuple | None = None


def _reparam(
    inner: optax.GradientTransformation,
    *,
    beta: float,
    mask,
    reset_every: Any,
    sparsity_mask,
    count_sign_flips: bool,
    nan_policy: str,
    who: str,
) -> optax.GradientTransformationExtraArgs:
    """The shared m * w mechanism of `hadamard_reparam` and `sign_in`."""
    if reset_every is not None and not (
        isinstance(reset_every, int | np.integer)
        and not isinstance(reset_every, bool)
        and reset_every > 0
    ):
        raise ValueError(
            f"{who}: `reset_every` (steps between resets of m^2 - w^2) must be a "
            f"positive int, got {reset_every!r}; for a reset every p epochs pass "
            "p * steps_per_epoch."
        )
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(
            f"{who}: `nan_policy` must be one of {_NAN_POLICIES}, got {nan_policy!r}."
        )
    if not isinstance(count_sign_flips, bool):
        raise ValueError(
            f"{who}: `count_sign_flips` must be True or False, got "
            f"{count_sign_flips!r}."
        )
    _check_selector(mask, who)
    prepared = _prepare_sparsity(sparsity_mask, who)
    period = None if reset_every is None else int(reset_every)
    check_transformation(inner, who, "inner")
    inner = optax.with_extra_args_support(inner)
    message = (
        f"{who}: the gradient contains NaN/inf (nan_policy='raise'). Check the loss "
        "and the data; nan_policy='revert' keeps the previous value of a leaf whose "
        "step is not finite, 'ignore' propagates."
    )

    def split(x, keep):
        return pilot_init(_masked(x, keep), beta)

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        keep = _mask_leaves(mask, params, treedef, who)
        sparse = _sparsity_leaves(prepared, params, treedef, who)
        factors = tuple(
            split(p, s) if k else p
            for p, k, s in zip(leaves, keep, sparse, strict=True)
        )
        return HadamardReparamState(
            factors=factors,
            inner_state=inner.init(treedef.unflatten(factors)),
            count=None if period is None else jnp.zeros([], jnp.int32),
            sign_flips=(
                tuple(jnp.zeros([], _count_dtype()) for _ in leaves)
                if count_sign_flips
                else None
            ),
            sparsity_mask=None if prepared is None else sparse,
        )

    def update(updates, state, params=None, **extra_args: Any):
        if params is None:
            raise ValueError(f"{who}: `update` needs `params` (the current x = m * w).")
        leaves, treedef = jax.tree.flatten(params)
        grads = treedef.flatten_up_to(updates)
        probe = nonfinite_probe(grads) if nan_policy == "raise" else None
        keep = _mask_leaves(mask, params, treedef, who)
        sparse = (
            (None,) * len(leaves)
            if state.sparsity_mask is None
            else tuple(state.sparsity_mask)
        )
        # Chain rule through x = M * m * w: a pruned coordinate has gradient 0.
        grads = [
            g if s is None else jnp.where(s, g, jnp.zeros_like(g))
            for g, s in zip(grads, sparse, strict=True)
        ]
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
        if period is not None:
            count = state.count + 1
            chosen = tuple(e for e, k in zip(new, keep, strict=True) if k)
            masks = tuple(s for s, k in zip(sparse, keep, strict=True) if k)

            def reset(fs):
                return tuple(
                    split(f.m * f.w, s) for f, s in zip(fs, masks, strict=True)
                )

            if chosen:
                chosen = jax.lax.cond(count % period == 0, reset, lambda fs: fs, chosen)
            it = iter(chosen)
            new = [next(it) if k else e for e, k in zip(new, keep, strict=True)]
        else:
            count = state.count
        thetas = [
            _masked(e.m * e.w, s) if k else _masked(e, s)
            for e, k, s in zip(new, keep, sparse, strict=True)
        ]
        outer = [
            t - p if s is None else jnp.where(s, t - p, -p)
            for t, p, s in zip(thetas, leaves, sparse, strict=True)
        ]
        if nan_policy == "revert":
            # A leaf whose step (or reset) is not finite stays as it was: factors
            # and params (update exactly 0); the inner state moves on regardless.
            ok = [
                _all_finite(e) & _all_finite(u) for e, u in zip(new, outer, strict=True)
            ]
            new = [
                jax.tree.map(lambda n, o, f=f: jnp.where(f, n, o), e, old)
                for e, old, f in zip(new, entries, ok, strict=True)
            ]
            outer = [
                jnp.where(f, u, jnp.zeros_like(u))
                for u, f in zip(outer, ok, strict=True)
            ]
            thetas = [
                jnp.where(f, t, p) for t, p, f in zip(thetas, leaves, ok, strict=True)
            ]
        flips = state.sign_flips
        if flips is not None:
            top = jnp.iinfo(_count_dtype()).max
            flips = tuple(
                c + jnp.minimum(_flip_count_rows(p, t, c.dtype), top - c)
                for c, p, t in zip(flips, leaves, thetas, strict=True)
            )
        if probe is not None:
            outer = report_nonfinite(outer, probe, message)
        return treedef.unflatten(outer), HadamardReparamState(
            factors=tuple(new),
            inner_state=inner_state,
            count=count,
            sign_flips=flips,
            sparsity_mask=state.sparsity_mask,
        )

    return optax.GradientTransformationExtraArgs(init, update)


def _all_finite(tree) -> jax.Array:
    """Whether every entry of every leaf of `tree` is finite (a scalar bool)."""
    return functools.reduce(
        jnp.logical_and, [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    )


def hadamard_reparam(
    inner: optax.GradientTransformation,
    *,
    beta: float,
    mask: PyTree | Callable[[PyTree], PyTree] | None = None,
    reset_every: Any = None,
    sparsity_mask: PyTree | None = None,
    count_sign_flips: bool = False,
    nan_policy: str = "raise",
) -> optax.GradientTransformationExtraArgs:
    r"""Train chosen leaves of any model as $x = m\odot w$ with the optimizer `inner`.

    `init(params)` splits each chosen leaf $x$ with `pilot_init(x, beta)`; `update`
    maps the gradient $g = \nabla_xf$ to $(g\odot w, g\odot m)$, runs `inner` on the
    tree in which chosen leaves are `MaskWeight(m, w)` nodes, and returns
    `m_new * w_new - x` for chosen leaves (the inner update for the others). Gradient
    descent on $(m, w)$ with step $\eta$ is `inner = optax.sgd(eta)`; weight decay on
    the factors is `optax.chain(scheduled_weight_decay(schedule, eta,
    mask=factors_mask), optax.sgd(eta))`. Extra arguments of `update` are passed to
    `inner`. The options below default to the plain mechanism; `sign_in` is this
    transformation with resets, a pruning mask and sign-flip counts switched on.

    Args:
        inner: the optimizer of the factors (any optax transformation).
        beta: $\beta > 0$, the initial imbalance $m_0^2 - w_0^2$.
        mask: which leaves to reparameterize: a prefix tree of Python bools or a
            function of the params returning one; default every floating leaf.
        reset_every: a positive int $p$: after every $p$-th step (counted in
            optimizer steps) the factors of the chosen leaves are split again with
            `pilot_init(m * w, beta)` (same product, imbalance back to $\beta$);
            the inner state is kept. Default None: no reset, no step count.
        sparsity_mask: a fixed pruning mask $M$ with the structure of the params
            (as `mirrorflow.masks` returns it: boolean or 0/1 arrays shaped like
            the leaves, True/1 = kept): the leaves become $M\odot m\odot w$ (plain
            leaves $M\odot x$), pruned coordinates get gradient 0 and are exactly
            0 after every step (also on the first: initial values there are
            dropped). Default None.
        count_sign_flips: keep a per-leaf count of sign flips in the state
            (`HadamardReparamState.sign_flips`; definition in `sign_flips`).
        nan_policy: a NaN/inf gradient: `"raise"` (default, as for every
            optimizer here: a runtime error, also under `jit`; one matrix-vector
            read of the gradients per step), `"revert"` (a leaf whose new value
            is not finite keeps its previous value), `"ignore"` (propagate); see
            `sign_in`.

    Raises:
        ValueError: `beta` <= 0, a bad option (named), a `mask` that is not a
            prefix tree of bools of the params' structure, a `sparsity_mask` of
            another structure or shape, or `update` without `params`.
    """
    beta = _check_beta(beta, "hadamard_reparam")
    return _reparam(
        inner,
        beta=beta,
        mask=mask,
        reset_every=reset_every,
        sparsity_mask=sparsity_mask,
        count_sign_flips=count_sign_flips,
        nan_policy=nan_policy,
        who="hadamard_reparam",
    )


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
