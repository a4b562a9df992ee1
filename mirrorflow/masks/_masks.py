r"""Pruning-at-initialization masks on pytrees of parameters.

Every function here is pure: it takes a pytree of parameters (a dict of weight
matrices and biases, an `eqx.Module`, ...) and returns a pytree of boolean arrays of
the same structure, `True` where a weight is kept. Only the leaves selected by
`which` are pruned (default: arrays with `ndim >= 2`, i.e. weight matrices and
convolution kernels); every other leaf (biases, norm parameters) gets an all-`True`
mask.

Counting convention (used by every criterion, so tests can count): a density $d$ of
a set of $n$ prunable entries keeps exactly $\max(1, \mathrm{round}(d\,n))$ of them;
"global" selects the top-$k$ scores over all selected leaves together, "layerwise"
selects within each leaf. Ties are broken by position (a stable sort of the
flattened, concatenated scores), so masks are deterministic.
"""

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np

from .._misc import is_concrete


PyTree = Any
Which = Callable[[Any], bool] | PyTree | None


# --- helpers ---------------------------------------------------------------------


def _selected(params: PyTree, which: Which, fn: str) -> list[bool]:
    """One bool per leaf of `params`: is it pruned?"""
    leaves = jtu.tree_leaves(params)
    if which is None:
        return [jnp.ndim(x) >= 2 for x in leaves]
    if callable(which):
        return [bool(which(x)) for x in leaves]
    flags = jtu.tree_leaves(which)
    if jtu.tree_structure(which) != jtu.tree_structure(params) or not all(
        isinstance(f, bool | np.bool_) for f in flags
    ):
        raise ValueError(
            f"{fn}: `which` must be None, a callable leaf -> bool, or a pytree of "
            "Python bools with the structure of `params`; got "
            f"{jtu.tree_structure(which)} for params {jtu.tree_structure(params)}."
        )
    return [bool(f) for f in flags]


def _check_density(density, fn: str, name: str = "density") -> float:
    ok = isinstance(density, int | float | np.floating | np.integer)
    ok = ok and math.isfinite(float(density)) and 0.0 < float(density) <= 1.0
    if not ok:
        raise ValueError(
            f"{fn}: `{name}` must be a float in (0, 1] (the fraction of weights "
            f"kept; sparsity = 1 - density), got {density!r}."
        )
    return float(density)


def _check_fn(fn, name: str, call: str, example: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"{call}: `{name}` must be a function ({example}), got "
            f"{type(fn).__name__} {fn!r}."
        )


def _check_key(key, call: str) -> None:
    ok = isinstance(key, jax.Array) and (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (key.dtype == jnp.uint32 and key.shape == (2,))
    )
    if not ok:
        raise TypeError(
            f"{call}: `key` must be a JAX PRNG key (e.g. jax.random.key(0)), got "
            f"{type(key).__name__} {key!r}."
        )


def _num_keep(density: float, n: int) -> int:
    """The number of kept entries: max(1, round(density * n)) (module convention)."""
    return max(1, min(n, int(round(density * n))))


def _check_params(params: PyTree, flags: list[bool], fn: str) -> list[jax.Array]:
    leaves = [jnp.asarray(x) for x in jtu.tree_leaves(params)]
    if not any(flags):
        raise ValueError(
            f"{fn}: no leaf of `params` is selected for pruning (default `which`: "
            "leaves with ndim >= 2); pass `which` to choose the leaves."
        )
    for leaf, f in zip(leaves, flags, strict=True):
        if f and leaf.size == 0:
            raise ValueError(f"{fn}: a selected leaf of `params` is empty.")
    return leaves


def _order_keys(scores: jax.Array) -> jax.Array:
    """Signed integers ordered as the floats `scores` (IEEE bit trick; -0 and +0
    map to one key, as they compare equal)."""
    itype = {2: jnp.int16, 4: jnp.int32, 8: jnp.int64}[scores.dtype.itemsize]
    scores = jnp.where(scores == 0, jnp.zeros_like(scores), scores)
    bits = jax.lax.bitcast_convert_type(scores, itype)
    return jnp.where(bits >= 0, bits, bits ^ jnp.iinfo(itype).max)


@jax.jit
def _topk_mask(scores: jax.Array, k: jax.Array | int) -> jax.Array:
    """Boolean mask of the k largest entries of a flat array (ties: lower index).

    The k-th largest value is found by bisection on the floats' order-preserving
    integer keys (one comparison pass per bit: much faster than a sort on a CPU,
    and one compiled program per size, not per k); entries above it are kept, and
    of the entries equal to it the lowest-indexed ones fill up to k.
    """
    keys = _order_keys(scores)
    k = jnp.asarray(k, jnp.int64 if keys.dtype == jnp.int64 else jnp.int32)

    def halve(_, bounds):
        lo, hi = bounds  # invariant: count(keys >= lo) >= k > count(keys >= hi + 1)
        # ceil((lo + hi) / 2) without overflow (the keys span the whole int range)
        mid = (lo >> 1) + (hi >> 1) + ((lo & 1) | (hi & 1))
        ok = jnp.sum(keys >= mid, dtype=k.dtype) >= k
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid - 1)

    bits = 8 * keys.dtype.itemsize
    lo, _ = jax.lax.fori_loop(0, bits + 1, halve, (jnp.min(keys), jnp.max(keys)))
    above = keys > lo
    tie = keys == lo
    room = k - jnp.sum(above, dtype=k.dtype)
    return above | (tie & (jnp.cumsum(tie, dtype=k.dtype) <= room))


def _assemble(params: PyTree, flags, selected_masks) -> PyTree:
    """Put masks of the selected leaves back into the tree; all-True elsewhere."""
    leaves = jtu.tree_leaves(params)
    it = iter(selected_masks)
    out = [
        next(it) if f else jnp.ones(jnp.shape(x), bool)
        for x, f in zip(leaves, flags, strict=True)
    ]
    return jtu.tree_unflatten(jtu.tree_structure(params), out)


def _mask_from_scores(
    params: PyTree,
    scores: list[jax.Array],
    flags: list[bool],
    density: float,
    scope: str,
    fn: str,
) -> PyTree:
    """Top-k of `scores` (one array per selected leaf), global or layerwise."""
    if scope not in ("global", "layerwise"):
        raise ValueError(
            f"{fn}: `scope` must be 'global' or 'layerwise', got {scope!r}."
        )
    shapes = [s.shape for s in scores]
    if scope == "layerwise":
        masks = [
            _topk_mask(s.ravel(), _num_keep(density, s.size)).reshape(s.shape)
            for s in scores
        ]
    else:
        flat = jnp.concatenate([s.ravel() for s in scores])
        keep = _topk_mask(flat, _num_keep(density, flat.size))
        sizes = np.cumsum([math.prod(sh) for sh in shapes])[:-1]
        masks = [
            m.reshape(sh) for m, sh in zip(jnp.split(keep, sizes), shapes, strict=True)
        ]
    return _assemble(params, flags, masks)


def _zero_unselected(tree: PyTree, flags) -> PyTree:
    leaves = jtu.tree_leaves(tree)
    out = [x if f else jnp.zeros_like(x) for x, f in zip(leaves, flags, strict=True)]
    return jtu.tree_unflatten(jtu.tree_structure(tree), out)


# --- public helpers --------------------------------------------------------------


def apply_mask(params: PyTree, mask: PyTree) -> PyTree:
    """`params` with the entries where `mask` is False set to exactly zero.

    Args:
        params: a pytree of arrays.
        mask: a pytree of the same structure and shapes, boolean or 0/1.

    Raises:
        ValueError: the structures or shapes differ.
    """
    if jtu.tree_structure(params) != jtu.tree_structure(mask):
        raise ValueError(
            "apply_mask: `mask` must have the structure of `params`, got "
            f"{jtu.tree_structure(mask)} vs {jtu.tree_structure(params)}."
        )

    def one(p, m):
        if jnp.shape(p) != jnp.shape(m):
            raise ValueError(
                f"apply_mask: a `mask` leaf has shape {jnp.shape(m)}, its parameter "
                f"{jnp.shape(p)}."
            )
        m_np = np.asarray(m) if is_concrete(m) else None
        if m_np is not None and not (
            m_np.dtype == bool or np.all((m_np == 0) | (m_np == 1))
        ):
            raise ValueError(
                "apply_mask: `mask` leaves must be boolean or 0/1 (keep or prune), "
                f"got values such as {m_np[(m_np != 0) & (m_np != 1)][:3]}; build "
                "it with a mask function or `scores > threshold`."
            )
        p = jnp.asarray(p)
        return jnp.where(jnp.asarray(m).astype(bool), p, jnp.zeros_like(p))

    return jtu.tree_map(one, params, mask)


class Density(NamedTuple):
    """The kept fraction of a mask: `overall` (over the selected leaves) and
    `per_leaf` (a pytree of floats, one per leaf of the mask)."""

    overall: float
    per_leaf: PyTree


def density(mask: PyTree, *, which: Which = None) -> Density:
    """The fraction of kept (True / nonzero) entries of a mask.

    Args:
        mask: a pytree of boolean or 0/1 arrays (the output of a mask function).
        which: the leaves counted in `overall`, with the masks' default (leaves with
            `ndim >= 2`), so `density(random_mask(params, 0.1)).overall` is 0.1 up
            to rounding. `per_leaf` covers every leaf.

    Returns:
        `Density(overall, per_leaf)`.
    """
    leaves = jtu.tree_leaves(mask)
    flags = _selected(mask, which, "density")
    kept = [int(np.count_nonzero(np.asarray(m))) for m in leaves]
    sizes = [int(np.size(m)) for m in leaves]
    per_leaf = [k / s if s else 1.0 for k, s in zip(kept, sizes, strict=True)]
    tot = sum(s for s, f in zip(sizes, flags, strict=True) if f)
    if tot == 0:
        raise ValueError("density: no leaf of `mask` is selected by `which`.")
    overall = sum(k for k, f in zip(kept, flags, strict=True) if f) / tot
    return Density(overall, jtu.tree_unflatten(jtu.tree_structure(mask), per_leaf))


# --- random (uniform / ERK) -------------------------------------------------------


def erk_densities(shapes: list[tuple[int, ...]], density: float) -> list[float]:
    r"""Erdős–Rényi-kernel layer densities with overall density `density`.

    Layer $l$ of shape $(n_1, \ldots, n_r)$ gets $d_l = \min(1,
    \varepsilon\,\sum_i n_i / \prod_i n_i)$, with $\varepsilon$ chosen so that
    $\sum_l d_l\,|l| = d \sum_l |l|$; layers whose density would exceed 1 are made
    dense and $\varepsilon$ is solved again on the others (Evci et al. 2020, §3).

    References:
        Evci, Gale, Menick, Castro, Elsen, "Rigging the Lottery: Making All Tickets
        Winners", ICML 2020.
    """
    density = _check_density(density, "erk_densities")
    ok = isinstance(shapes, list | tuple) and len(shapes) > 0
    ok = ok and all(
        isinstance(sh, tuple | list)
        and len(sh) >= 1
        and all(isinstance(n, int | np.integer) and n >= 1 for n in sh)
        for sh in shapes
    )
    if not ok:
        raise ValueError(
            "erk_densities: `shapes` must be a non-empty list of shapes (tuples of "
            f"positive ints, e.g. [(784, 300), (300, 10)]), got {shapes!r}."
        )
    sizes = np.array([math.prod(s) for s in shapes], float)
    raw = np.array([sum(s) / math.prod(s) for s in shapes], float)
    dense = np.zeros(len(shapes), bool)
    while True:
        budget = density * sizes.sum() - sizes[dense].sum()
        eps = budget / np.sum(raw[~dense] * sizes[~dense])
        over = (~dense) & (eps * raw > 1.0)
        if not over.any():
            break
        dense |= over
    return [1.0 if d else float(eps * r) for d, r in zip(dense, raw, strict=True)]


@functools.partial(jax.jit, static_argnums=1)
def _random_keep(
    key: jax.Array, shape: tuple[int, ...], k: jax.Array | int
) -> jax.Array:
    # A uniformly random permutation of 0..n-1 laid over the leaf; the entries
    # holding the values below k form a uniform random subset of size k.
    return (jr.permutation(key, math.prod(shape)) < k).reshape(shape)


def random_mask(
    params: PyTree,
    density: float,
    key: jax.Array,
    *,
    distribution: str = "uniform",
    which: Which = None,
) -> PyTree:
    r"""Random pruning at initialization: each selected leaf keeps a random subset.

    `"uniform"`: every selected leaf keeps exactly $\mathrm{round}(d\,|l|)$ entries
    (layerwise uniform density, the "random PaI" baseline of Liu et al. 2022 and of
    HAM's sparse tables). `"erk"`: layer densities from `erk_densities` (Evci et al.
    2020), then a uniform random subset of that size within each layer.

    Args:
        params: the parameters (only shapes are used).
        density: kept fraction in $(0, 1]$ (sparsity $= 1 - d$).
        key: a JAX PRNG key; the same key gives the same mask.
        distribution: `"uniform"` (default) or `"erk"`.
        which: the leaves to prune (default: `ndim >= 2`); see the module docstring.

    Returns:
        A pytree of boolean masks of the structure and shapes of `params`.

    Raises:
        ValueError: a density outside $(0, 1]$, an unknown `distribution`, or no
            selected leaf.

    References:
        Liu, Chen, Chen, Atashgahi, Yin, Kou, Shen, Pechenizkiy, Wang, Mocanu, "The
        Unreasonable Effectiveness of Random Pruning", ICLR 2022. Evci et al. 2020
        (see `erk_densities`).
    """
    density = _check_density(density, "random_mask")
    _check_key(key, "random_mask")
    flags = _selected(params, which, "random_mask")
    leaves = _check_params(params, flags, "random_mask")
    chosen = [x for x, f in zip(leaves, flags, strict=True) if f]
    if distribution == "uniform":
        dens = [density] * len(chosen)
    elif distribution == "erk":
        dens = erk_densities([tuple(x.shape) for x in chosen], density)
    else:
        raise ValueError(
            "random_mask: `distribution` must be 'uniform' or 'erk', got "
            f"{distribution!r}."
        )
    keys = jr.split(key, len(chosen))
    masks = []
    for x, d, k in zip(chosen, dens, keys, strict=True):
        masks.append(_random_keep(k, x.shape, _num_keep(d, x.size)))
    return _assemble(params, flags, masks)


# --- magnitude ---------------------------------------------------------------------


def magnitude_mask(
    params: PyTree, density: float, *, scope: str = "global", which: Which = None
) -> PyTree:
    r"""Magnitude pruning: keep the entries of largest $|\theta|$.

    Args:
        params: the parameters.
        density: kept fraction in $(0, 1]$.
        scope: `"global"` (one threshold over all selected leaves, default) or
            `"layerwise"` (the same density in every selected leaf).
        which: the leaves to prune (default: `ndim >= 2`).

    Returns:
        A pytree of boolean masks (exactly $\mathrm{round}(d\,n)$ kept entries).

    References:
        Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient
        Neural Networks", NeurIPS 2015; as a pruning-at-initialization baseline:
        Frankle, Dziugaite, Roy, Carbin, "Pruning Neural Networks at
        Initialization: Why are We Missing the Mark?", ICLR 2021.
    """
    density = _check_density(density, "magnitude_mask")
    flags = _selected(params, which, "magnitude_mask")
    leaves = _check_params(params, flags, "magnitude_mask")
    scores = [jnp.abs(x) for x, f in zip(leaves, flags, strict=True) if f]
    return _mask_from_scores(params, scores, flags, density, scope, "magnitude_mask")


# --- SNIP ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=0)
def _snip_scores(loss_fn, params):
    g = jax.grad(loss_fn)(params)
    return jtu.tree_map(lambda p, gi: jnp.abs(p * gi), params, g)


def snip_scores(loss_fn: Callable[[PyTree], jax.Array], params: PyTree) -> PyTree:
    r"""SNIP's connection sensitivity $|\theta \odot \nabla_\theta L(\theta)|$.

    Compiled once per `loss_fn` (hashed by identity) and parameter shapes.
    """
    return _snip_scores(loss_fn, params)


def snip_mask(
    loss_fn: Callable[[PyTree], jax.Array],
    params: PyTree,
    density: float,
    *,
    scope: str = "global",
    which: Which = None,
) -> PyTree:
    r"""SNIP: keep the weights of largest connection sensitivity.

    Score $s = |\theta \odot \nabla_\theta L(\theta)|$ on one (mini)batch at
    initialization (the effect of removing a weight on the loss, to first order);
    keep the top-$k$ scores over all selected leaves (`scope="global"`, as in the
    paper).

    Args:
        loss_fn: `loss_fn(params) -> scalar`, the loss on a batch (close over the data).
        params: the parameters at initialization.
        density: kept fraction in $(0, 1]$.
        scope: `"global"` (default) or `"layerwise"`.
        which: the leaves to prune (default: `ndim >= 2`).

    References:
        Lee, Ajanthan, Torr, "SNIP: Single-shot Network Pruning based on Connection
        Sensitivity", ICLR 2019.
    """
    density = _check_density(density, "snip_mask")
    _check_fn(loss_fn, "loss_fn", "snip_mask", "params -> scalar loss")
    flags = _selected(params, which, "snip_mask")
    _check_params(params, flags, "snip_mask")
    s = jtu.tree_leaves(snip_scores(loss_fn, params))
    scores = [x for x, f in zip(s, flags, strict=True) if f]
    return _mask_from_scores(params, scores, flags, density, scope, "snip_mask")


# --- GraSP ---------------------------------------------------------------------------


def grasp_hessian_gradient(
    loss_fn: Callable[[PyTree], jax.Array], params: PyTree, *, which: Which = None
) -> PyTree:
    r"""$H g$ restricted to the selected leaves, by forward-over-reverse autodiff.

    $g = \nabla_w L$ on the selected leaves $w$ (other leaves: direction 0, so
    biases enter the loss but not the gradient-flow objective, as in the GraSP
    code, which takes the gradient over the prunable layers' weights);
    $Hg = \frac{d}{d\varepsilon}\nabla L(\theta + \varepsilon g)|_{\varepsilon=0}$
    via `jax.jvp` of `jax.grad` (one extra pass, no Hessian formed). Leaves not
    selected are returned as zeros.
    """
    flags = _selected(params, which, "grasp_hessian_gradient")
    return _grasp_hg(loss_fn, tuple(flags), params)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _grasp_hg(loss_fn, flags, params):
    grad = jax.grad(loss_fn)
    g = _zero_unselected(grad(params), flags)
    _, hg = jax.jvp(grad, (params,), (g,))
    return _zero_unselected(hg, flags)


def grasp_scores(
    loss_fn: Callable[[PyTree], jax.Array], params: PyTree, *, which: Which = None
) -> PyTree:
    r"""GraSP's score $S(-\theta) = -\theta \odot H g$ (zeros on unselected leaves)."""
    hg = grasp_hessian_gradient(loss_fn, params, which=which)
    return jtu.tree_map(lambda p, v: -p * v, params, hg)


def grasp_mask(
    loss_fn: Callable[[PyTree], jax.Array],
    params: PyTree,
    density: float,
    *,
    scope: str = "global",
    which: Which = None,
) -> PyTree:
    r"""GraSP: keep the weights whose removal would reduce the gradient flow most.

    The gradient flow is $G(\theta) = g^\top g$, $g = \nabla L(\theta)$. Removing
    a set of weights is the perturbation $\delta = -\theta$ on that set, and to
    first order $G(\theta + \delta) - G(\theta) = 2\,\delta^\top H g
    = 2\sum S_i$ with the score $S = -\theta \odot H g$ (Wang et al. 2020, eq. 8).
    **Sign convention:** a large $S_i$ means that removing weight $i$ increases
    (or least decreases) the gradient flow, so GraSP *removes the largest scores
    and keeps the lowest*: this function keeps the $k$ entries with the smallest
    $S$ (ties by position), i.e. the top-$k$ of $-S$. Scores may be negative.

    Args:
        loss_fn: `loss_fn(params) -> scalar`, the loss on a batch (close over the data).
        params: the parameters at initialization.
        density: kept fraction in $(0, 1]$.
        scope: `"global"` (default, as in the paper) or `"layerwise"`.
        which: the leaves to prune (default: `ndim >= 2`).

    References:
        Wang, Zhang, Grosse, "Picking Winning Tickets Before Training by Preserving
        Gradient Flow", ICLR 2020.
    """
    density = _check_density(density, "grasp_mask")
    _check_fn(loss_fn, "loss_fn", "grasp_mask", "params -> scalar loss")
    flags = _selected(params, which, "grasp_mask")
    _check_params(params, flags, "grasp_mask")
    s = jtu.tree_leaves(grasp_scores(loss_fn, params, which=which))
    scores = [-x for x, f in zip(s, flags, strict=True) if f]
    return _mask_from_scores(params, scores, flags, density, scope, "grasp_mask")


# --- SynFlow -------------------------------------------------------------------------


def _check_input_shape(input_shape, fn: str) -> None:
    ok = isinstance(input_shape, tuple | list) and len(input_shape) >= 1
    ok = ok and all(isinstance(n, int) and n >= 1 for n in input_shape)
    if not ok:
        raise ValueError(
            f"{fn}: `input_shape` must be a tuple of positive ints including the "
            f"batch axis (e.g. (1, 64)), got {input_shape!r}."
        )


def synflow_scores(
    apply_fn: Callable[[PyTree, jax.Array], jax.Array],
    params: PyTree,
    input_shape: tuple[int, ...],
    mask: PyTree | None = None,
) -> PyTree:
    r"""Synaptic-flow scores $\frac{\partial R}{\partial\theta}\odot\theta$.

    The network is linearized by taking $|\theta|$ for every leaf (biases too, as
    in the authors' code), masked by `mask`; $R = \mathbb 1^\top
    f(\mathbb 1; |\theta| \odot m)$ is the sum of the outputs for an all-ones input
    of shape `input_shape` (including the batch axis, e.g. `(1, 64)`). Scores are
    $\ge 0$. With nonnegative weights and inputs a ReLU network is linear, so $R$
    is a sum over paths of products of $|\theta|$.
    """
    _check_input_shape(input_shape, "synflow_scores")
    if mask is None:
        mask = jtu.tree_map(lambda x: jnp.ones(jnp.shape(x), bool), params)
    apply_mask(params, mask)  # checks structure and shapes
    return _synflow_scores(apply_fn, tuple(input_shape), params, mask)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _synflow_scores(apply_fn, input_shape, params, mask):
    abs_params = apply_mask(jtu.tree_map(jnp.abs, params), mask)
    dtype = jnp.result_type(*jtu.tree_leaves(abs_params))
    x = jnp.ones(input_shape, dtype)

    def R(p):
        return jnp.sum(apply_fn(p, x))

    g = jax.grad(R)(abs_params)
    return jtu.tree_map(lambda gi, p: gi * p, g, abs_params)


def synflow_mask(
    apply_fn: Callable[[PyTree, jax.Array], jax.Array],
    params: PyTree,
    density: float,
    input_shape: tuple[int, ...],
    *,
    num_iterations: int = 100,
    which: Which = None,
) -> PyTree:
    r"""SynFlow: iterative, data-free pruning by synaptic flow.

    For $j = 1, \ldots, n$: compute `synflow_scores` of the network masked by the
    current mask and keep the global top-$k_j$ with the exponential schedule
    $k_j = \mathrm{round}(d^{j/n} N)$ ($N$ prunable entries), never reviving a
    pruned entry. The final mask has density $d$. Iterating avoids layer collapse
    (Tanaka et al. 2020, Thm. 3).

    Args:
        apply_fn: `apply_fn(params, x) -> outputs`, the network.
        params: the parameters at initialization.
        density: final kept fraction in $(0, 1]$.
        input_shape: the shape of the all-ones input, batch axis included.
        num_iterations: $n \ge 1$ (the paper uses 100).
        which: the leaves to prune (default: `ndim >= 2`).

    References:
        Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by
        iteratively conserving synaptic flow", NeurIPS 2020.
    """
    density = _check_density(density, "synflow_mask")
    _check_fn(apply_fn, "apply_fn", "synflow_mask", "(params, x) -> outputs")
    if not (isinstance(num_iterations, int) and num_iterations >= 1):
        raise ValueError(
            f"synflow_mask: `num_iterations` must be an int >= 1, got "
            f"{num_iterations!r}."
        )
    _check_input_shape(input_shape, "synflow_mask")
    flags = _selected(params, which, "synflow_mask")
    leaves = _check_params(params, flags, "synflow_mask")
    total = sum(x.size for x, f in zip(leaves, flags, strict=True) if f)
    ks = np.asarray(
        [
            _num_keep(density ** (j / num_iterations), total)
            for j in range(1, num_iterations + 1)
        ]
    )
    selected = _synflow_rounds(
        apply_fn, tuple(input_shape), tuple(flags), params, jnp.asarray(ks)
    )
    return _assemble(params, flags, selected)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _synflow_rounds(apply_fn, input_shape, flags, params, ks):
    """The rounds of `synflow_mask` as one compiled scan (ks: entries kept per
    round): the masks of the selected leaves."""
    leaves = jtu.tree_leaves(params)
    shapes = [x.shape for x, f in zip(leaves, flags, strict=True) if f]
    sizes = np.cumsum([math.prod(sh) for sh in shapes])[:-1]

    def round_(selected, k):
        mask = _assemble(params, flags, selected)
        s = jtu.tree_leaves(_synflow_scores(apply_fn, input_shape, params, mask))
        scores = [
            jnp.where(mi, si, -jnp.inf).ravel()
            for si, mi in zip(
                [si for si, f in zip(s, flags, strict=True) if f], selected, strict=True
            )
        ]
        keep = _topk_mask(jnp.concatenate(scores), k)
        parts = jnp.split(keep, sizes)
        return [m.reshape(sh) for m, sh in zip(parts, shapes, strict=True)], None

    selected, _ = jax.lax.scan(round_, [jnp.ones(sh, bool) for sh in shapes], ks)
    return selected


# --- one entry point for every criterion -------------------------------------------

#: The pruning criteria `prune` knows, in the order the graphon study lists them.
PRUNING_METHODS = ("random", "magnitude", "snip", "grasp", "synflow")


def prune(
    method: str,
    params: PyTree,
    density: float,
    *,
    key: jax.Array | None = None,
    loss_fn: Callable[[PyTree], jax.Array] | None = None,
    apply_fn: Callable[[PyTree, jax.Array], jax.Array] | None = None,
    input_shape: tuple[int, ...] | None = None,
    scope: str = "global",
    num_iterations: int = 100,
    which: Which = None,
) -> PyTree:
    r"""A pruning-at-initialization mask by name: one call for every criterion.

    - `"random"`: a uniformly random subset of the prunable entries (needs `key`);
      `scope="global"` draws $\mathrm{round}(d\,N)$ of all $N$ selected entries
      together, `"layerwise"` exactly $\mathrm{round}(d\,|l|)$ per leaf (as
      `random_mask`).
    - `"magnitude"`: `magnitude_mask`.
    - `"snip"`, `"grasp"`: `snip_mask`, `grasp_mask` (need `loss_fn`).
    - `"synflow"`: `synflow_mask` (needs `apply_fn`, `input_shape`; global only, as
      SynFlow is defined).

    Global scope is the Synaptic-Flow code's default; layerwise gives every layer
    the same density (what a per-layer graphon comparison needs).

    Args:
        method: one of `PRUNING_METHODS`.
        params: the parameters at initialization.
        density: kept fraction in $(0, 1]$.
        key: PRNG key (`"random"` only).
        loss_fn: `loss_fn(params) -> scalar` on one batch (`"snip"`, `"grasp"`).
        apply_fn, input_shape: the network and its all-ones input shape
            (`"synflow"`).
        scope: `"global"` (default) or `"layerwise"`.
        num_iterations: SynFlow's rounds (default 100, the paper's).
        which: the leaves to prune (default: `ndim >= 2`).

    Returns:
        A pytree of boolean masks shaped like `params`.

    Raises:
        ValueError: an unknown `method` (the message lists the known ones), a
            missing argument the method needs, or a bad density or scope.
    """
    if not isinstance(method, str) or method not in PRUNING_METHODS:
        raise ValueError(
            f"prune: unknown `method` {method!r}; the known methods are "
            f"{', '.join(PRUNING_METHODS)}."
        )
    density = _check_density(density, "prune")
    if scope not in ("global", "layerwise"):
        raise ValueError(
            f"prune: `scope` must be 'global' or 'layerwise', got {scope!r}."
        )
    needs = {
        "random": {"key": key},
        "snip": {"loss_fn": loss_fn},
        "grasp": {"loss_fn": loss_fn},
        "synflow": {"apply_fn": apply_fn, "input_shape": input_shape},
    }.get(method, {})
    for name, value in needs.items():
        if value is None:
            raise ValueError(f"prune: method {method!r} needs `{name}`; pass it.")
    if method == "random":
        density = _check_density(density, "prune")
        if scope not in ("global", "layerwise"):
            raise ValueError(
                f"prune: `scope` must be 'global' or 'layerwise', got {scope!r}."
            )
        flags = _selected(params, which, "prune")
        leaves = _check_params(params, flags, "prune")
        chosen = [x for x, f in zip(leaves, flags, strict=True) if f]
        keys = jr.split(key, len(chosen))
        scores = [jr.uniform(k, x.shape) for k, x in zip(keys, chosen, strict=True)]
        return _mask_from_scores(params, scores, flags, density, scope, "prune")
    if method == "magnitude":
        return magnitude_mask(params, density, scope=scope, which=which)
    if method == "snip":
        return snip_mask(loss_fn, params, density, scope=scope, which=which)
    if method == "grasp":
        return grasp_mask(loss_fn, params, density, scope=scope, which=which)
    if scope != "global":
        raise ValueError(
            "prune: SynFlow ranks globally by construction; pass scope='global' "
            f"(got {scope!r})."
        )
    return synflow_mask(
        apply_fn,
        params,
        density,
        input_shape,
        num_iterations=num_iterations,
        which=which,
    )
