r"""NanoAdam: Adam on the smallest-magnitude weights of each layer, with compact state.

Zhou, Jacobs, Gadhikar & Burkholz, Pay Attention to Small Weights, NeurIPS 2025
(Algorithm 1; memory analysis in Appendix G; hyperparameters in Appendix H). Every
`mask_every` steps (and at every density step) the active set $I$ of each layer
is refreshed to the `Bottom_k` of $|\theta|$, chunk by chunk, without looking at
the gradient; Adam's moments exist only for $I$ and only $\theta[I]$ moves.
"""

import math
import warnings
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._types import PyTree
from ._finite import NAN_POLICIES, nonfinite_probe, report_nonfinite


DEFAULT_CHUNK_SIZE = 2**15
"""Default chunk length: the largest whose flat indices fit int16 (0 .. 32767)."""

DEFAULT_EXCLUDE = ("head", "classifier", "norm")
"""Default `exclude` patterns: the final classifier and normalization layers."""

_NAN_POLICIES = NAN_POLICIES  # the one policy set of every optimizer
_MOMENT_POLICIES = ("keep", "reset")
_CRITERIA = ("small", "large", "random")
_INT16_CHUNK = 2**15
_NONFINITE = (
    "nanoadam: the gradient contains NaN/inf where it is used (nan_policy='raise'). "
    "Check the loss and the data; nan_policy='revert' leaves a leaf whose step is "
    "not finite (and its moments) as they were, 'ignore' propagates."
)


class NanoAdamLeafState(NamedTuple):
    r"""Compact Adam moments of one masked leaf, chunk by chunk.

    The leaf is flattened (C order) and split into `q` chunks of `chunk` entries
    (the last one possibly shorter). Row `i` describes chunk `i`; its first
    `active[0]` slots (`active[1]` in the last chunk) are the active set $I$.

    Attributes:
        indices: `(q, cap)` int16 (chunk length <= 2**15) or int32: the flat
            positions of the active entries *inside their chunk*, ascending; the
            slots after the active ones hold 0 and are padding.
        mu: `(q, cap)`, the leaf's dtype: the first moment of each active entry
            (0 in padding slots).
        nu: `(q, cap)`: the second moment, likewise.
        active: `(2,)` int32: the number of active slots of a full chunk and of
            the last chunk (equal when the leaf is one chunk or the chunks divide
            it), $\max(1, \lfloor k\cdot\text{length}\rfloor)$ at the last refresh.
    """

    indices: jax.Array
    mu: jax.Array
    nu: jax.Array
    active: jax.Array


class AdamLeafState(NamedTuple):
    """Full-size Adam moments of an excluded leaf (plain Adam(W) there)."""

    mu: jax.Array
    nu: jax.Array


class NanoAdamState(NamedTuple):
    """State of `nanoadam`.

    Attributes:
        count: int32 step count $t$ (steps taken so far).
        leaves: one entry per leaf of the params (in `jax.tree.leaves` order): a
            `NanoAdamLeafState` for a masked leaf, an `AdamLeafState` for an
            excluded one.
    """

    count: jax.Array
    leaves: tuple


# ------------------------------------------------------------------- validation


def _fail(name: str, need: str, value, hint: str = "") -> None:
    raise ValueError(
        f"nanoadam: `{name}` must be {need}, got {value!r}"
        + (f"; {hint}" if hint else ".")
    )


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )


def _check_density(value, name: str) -> Fraction:
    """A density in (0, 1] as the exact rational of its shortest decimal repr."""
    if not (_is_real(value) and math.isfinite(value) and 0 < value <= 1):
        _fail(
            name,
            "a float in (0, 1] (the fraction of each chunk that is trained)",
            value,
            "e.g. 0.1 trains the 10% smallest-magnitude weights of each chunk.",
        )
    return Fraction(repr(float(value)))


def _check_positive_int(value, name: str, hint: str) -> int:
    if not (_is_int(value) and value > 0):
        _fail(name, "a positive int", value, hint)
    return int(value)


def _schedule(k, density_schedule, density_every) -> tuple[tuple[Fraction, ...], int]:
    """The density at each density step, exact: `(densities, every)`.

    `densities[j]` is the density in effect on steps `[j * every, (j + 1) * every)`;
    the last one stays in effect forever after. Without a schedule: `((k,), 0)`.
    """
    k0 = _check_density(k, "k")
    if density_schedule is None:
        if density_every is not None:
            _fail(
                "density_every",
                "None without a `density_schedule`",
                density_every,
                "pass density_schedule=(k_end, total_steps) to decay the density.",
            )
        return (k0,), 0
    if not (isinstance(density_schedule, tuple) and len(density_schedule) == 2):
        _fail(
            "density_schedule",
            "None or a pair (end, total_steps) with end the final density (linear "
            "schedule) or a function step -> density",
            density_schedule,
            "e.g. density_schedule=(0.04, 1000) decays k linearly to 0.04 over 1000 "
            "steps (Appendix H).",
        )
    end, total = density_schedule
    if not (_is_int(total) and total > 0):
        _fail(
            "density_schedule",
            "a pair whose second entry total_steps is a positive int",
            density_schedule,
            "the schedule's horizon T in optimizer steps.",
        )
    every = _check_positive_int(
        density_every,
        "density_every",
        "with a `density_schedule` pass the density interval d (steps between "
        "density updates; the paper's Table 13 uses 2-5x the mask interval).",
    )
    steps = range(every, int(total) + 1, every)
    if callable(end):
        values = [k0]
        for t in steps:
            value = end(t)
            try:  # Python, numpy or 0-d jax numbers
                value = float(value)
            except (TypeError, ValueError):
                pass
            if not (_is_real(value) and math.isfinite(value) and 0 < value <= 1):
                _fail(
                    "density_schedule",
                    "a function returning densities in (0, 1]",
                    value,
                    f"it returned that at step {t}.",
                )
            values.append(Fraction(repr(float(value))))
        return tuple(values), every
    k_end = _check_density(end, "density_schedule")
    t_end = Fraction(int(total))
    return (k0, *(k0 + (k_end - k0) * Fraction(t) / t_end for t in steps)), every


def nanoadam_density(
    step: int,
    k: float | int,
    density_schedule: tuple | None = None,
    density_every: int | None = None,
) -> float:
    r"""The density $k$ in effect at optimizer step `step` (0-based).

    Algorithm 1 sets $k \leftarrow$ `density_schedule`$(k, t, T)$ at every step
    $t$ with $t \bmod d = 0$; in between $k$ stays. The linear schedule
    `density_schedule=(k_end, T)` gives
    $k_t = k + (k_\text{end} - k)\,\min(t_d, T)/T$ with $t_d = d\lfloor t/d\rfloor$
    (at most $T$: after $T$ the density stays at its value at the last multiple of
    $d$ not above $T$). It is computed exactly in rational arithmetic from the
    decimal values as written (`repr`) and rounded once, so $k = 0.1$,
    $k_\text{end} = 0.04$, $T = 200$, $d = 50$ gives exactly 0.1, 0.085, 0.07,
    0.055, 0.04 at $t = 0, 50, 100, 150, 200$. The arguments are those of
    `nanoadam`.
    """
    if not (_is_int(step) and step >= 0):
        _fail("step", "an int >= 0", step)
    densities, every = _schedule(k, density_schedule, density_every)
    j = 0 if every == 0 else min(int(step) // every, len(densities) - 1)
    return float(densities[j])


# ------------------------------------------------------------------------ plan


class _LeafPlan(NamedTuple):
    """The static layout of one leaf (from its path, shape and dtype)."""

    path: str
    masked: bool
    shape: tuple
    dtype: Any
    n: int
    chunk: int  # chunk length c (<= n)
    q: int  # number of chunks
    last: int  # length of the last chunk
    cap: int  # compact slots per chunk: the largest full-chunk count
    counts: tuple  # per density step: (count of a full chunk, of the last chunk)
    index_dtype: Any


def _count(density: Fraction, length: int) -> int:
    """Active entries of a chunk: floor(k * length), at least 1 (exact)."""
    return max(1, math.floor(density * length))


def _index_dtype(chunk: int):
    return np.dtype(np.int16) if chunk <= _INT16_CHUNK else np.dtype(np.int32)


def _plan_leaf(path, shape, dtype, *, masked, chunk_size, densities) -> _LeafPlan:
    n = int(math.prod(shape))
    if not masked or n == 0:
        return _LeafPlan(path, False, shape, dtype, n, n, 1, n, 0, (), None)
    if n >= 2**31:
        raise ValueError(
            f"nanoadam: the leaf {path} of `params` has {n} entries; flat indices "
            "are int32, so leaves must have fewer than 2**31 (split it)."
        )
    c = n if chunk_size is None else min(chunk_size, n)
    q = -(-n // c)
    last = n - (q - 1) * c
    counts = tuple((_count(k, c), _count(k, last)) for k in densities)
    cap = max(full for full, _ in counts)
    return _LeafPlan(
        path, True, shape, dtype, n, c, q, last, cap, counts, _index_dtype(c)
    )


def _check_exclude(exclude) -> tuple[tuple[str, ...], bool]:
    """The patterns, and whether the user chose them (unmatched ones warn)."""
    if exclude is None:
        return DEFAULT_EXCLUDE, False
    if isinstance(exclude, str) or not (
        isinstance(exclude, Sequence) and all(isinstance(p, str) and p for p in exclude)
    ):
        _fail(
            "exclude",
            "a tuple of non-empty strings (substrings of leaf paths)",
            exclude,
            'e.g. exclude=("head", "norm"); a single pattern is ("head",).',
        )
    return tuple(exclude), True


def _plans(params, *, exclude, user_patterns, exclude_1d, chunk_size, densities, warn):
    """Per leaf of `params` its `_LeafPlan`, in `jax.tree.leaves` order."""
    with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
    lowered = [p.lower() for p in exclude]
    plans, used = [], set()
    for path, leaf in with_path:
        name = jax.tree_util.keystr(path)
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(
                f"nanoadam: the leaf {name} of `params` has dtype {dtype}; every "
                "leaf must be floating (filter the model with equinox.partition)."
            )
        hits = {p for p in lowered if p in name.lower()}
        used |= hits
        masked = not hits and not (exclude_1d and len(jnp.shape(leaf)) < 2)
        plans.append(
            _plan_leaf(
                name,
                tuple(jnp.shape(leaf)),
                dtype,
                masked=masked,
                chunk_size=chunk_size,
                densities=densities,
            )
        )
    if warn and user_patterns:
        unused = [p for p, low in zip(exclude, lowered, strict=True) if low not in used]
        if unused:
            warnings.warn(
                f"nanoadam: the `exclude` pattern(s) {unused} match no leaf path of "
                f"the params (paths: {[p.path for p in plans][:8]}...); patterns are "
                "case-insensitive substrings of `jax.tree_util.keystr(path)`.",
                UserWarning,
                stacklevel=3,
            )
    return plans, treedef


def nanoadam_state_bytes(
    params: PyTree,
    k: float | int,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    *,
    density_schedule: tuple | None = None,
    density_every: int | None = None,
    exclude: Sequence[str] | None = None,
    exclude_1d: bool = False,
) -> int:
    r"""Bytes of `nanoadam(...).init(params)`, by formula (nothing is allocated).

    With $s$ the bytes of a parameter, $i$ of an index (2 for int16, chunks
    $\le 2^{15}$; else 4), a masked leaf of $n$ entries in $q = \lceil n/c\rceil$
    chunks holds $q\cdot\mathrm{cap}\cdot(2s + i) + 8$ bytes, with
    $\mathrm{cap} = \max_t \max(1, \lfloor k_t\,c\rfloor)$ the largest count of a
    full chunk over the density schedule (+8: the two int32 active counts); an
    excluded leaf $2ns$ (plain Adam); plus 4 for the int32 step count. AdamW holds
    $2Ns + 4$, so the ratio is about $k\,(2s+i)/(2s)$ on the masked entries
    ($1.25\,k$ for float32 with int16 indices, $1.5\,k$ for bfloat16: the
    paper's $6kS$ against $4S$ bytes, Appendix G) and 1 on excluded ones.

    `params` may hold arrays or `jax.ShapeDtypeStruct`s; the other arguments are
    those of `nanoadam`.
    """
    patterns, _ = _check_exclude(exclude)
    densities, _ = _schedule(k, density_schedule, density_every)
    if chunk_size is not None:
        chunk_size = _check_positive_int(chunk_size, "chunk_size", "")
    plans, _ = _plans(
        params,
        exclude=patterns,
        user_patterns=False,
        exclude_1d=exclude_1d,
        chunk_size=chunk_size,
        densities=densities,
        warn=False,
    )
    total = 4
    for p in plans:
        s = np.dtype(p.dtype).itemsize
        if p.masked:
            total += p.q * p.cap * (2 * s + p.index_dtype.itemsize) + 8
        else:
            total += 2 * p.n * s
    return total


# -------------------------------------------------------------------- kernels


def _active(counts: jax.Array, q: int, cap: int) -> jax.Array:
    """`(q, cap)` bool: slot j of chunk i is active (j < its count)."""
    per_row = jnp.full((q,), counts[0], jnp.int32).at[q - 1].set(counts[1])
    return jnp.arange(cap, dtype=jnp.int32)[None, :] < per_row[:, None]


def _select(theta: jax.Array, plan: _LeafPlan, counts: jax.Array, score=None):
    """Bottom-k of |theta| per chunk: `(indices, active)`, indices ascending.

    Ties go to the lower flat index (`lax.top_k` keeps the lower index first); a
    NaN magnitude counts as +inf (never chosen before a finite one); the padding of
    a short last chunk is +inf and never chosen (its count is at most its length).
    `score`: the flat array whose bottom-k is taken instead of |theta| (the mask
    criteria `"large"` and `"random"`; NaN counts as +inf there too).
    """
    q, c, cap = plan.q, plan.chunk, plan.cap
    a = jnp.abs(theta.reshape(-1)) if score is None else score.reshape(-1)
    a = jnp.where(jnp.isnan(a), jnp.asarray(jnp.inf, a.dtype), a)
    if q * c > plan.n:
        a = jnp.concatenate([a, jnp.full((q * c - plan.n,), jnp.inf, a.dtype)])
    _, order = jax.lax.top_k(-a.reshape(q, c), cap)  # smallest |theta| first
    active = _active(counts, q, cap)
    key = jnp.sort(jnp.where(active, order, jnp.int32(c)), axis=1)
    indices = jnp.where(key < c, key, jnp.int32(0)).astype(plan.index_dtype)
    return indices, active


def _remap(old: NanoAdamLeafState, indices, active, plan: _LeafPlan, policy: str):
    """Moments for the new active set: kept on I and I_new, 0 on new entries."""
    dtype = old.mu.dtype
    if policy == "reset":
        shape = (plan.q, plan.cap)
        return jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)
    q, c = plan.q, plan.chunk
    rows = jnp.arange(q, dtype=jnp.int32)[:, None]
    was = _active(old.active, q, plan.cap)
    target = jnp.where(was, old.indices.astype(jnp.int32), jnp.int32(c))  # c: drop
    new = indices.astype(jnp.int32)
    out = []
    for moment in (old.mu, old.nu):
        dense = jnp.zeros((q, c), dtype).at[rows, target].set(moment, mode="drop")
        kept = jnp.take_along_axis(dense, new, axis=1)
        out.append(jnp.where(active, kept, jnp.zeros((), dtype)))
    return out[0], out[1]


def _criterion_score(criterion: str, theta, key, t, index: int):
    """The array whose bottom-k is the active set (None: |theta|, the paper's)."""
    if criterion == "small":
        return None
    if criterion == "large":
        return -jnp.abs(theta)
    # "random": i.i.d. uniform scores from (key, refresh step t, leaf index).
    sub = jax.random.fold_in(jax.random.fold_in(key, t), index)
    return jax.random.uniform(sub, jnp.shape(theta), jnp.float32)


def _refresh(leaves, thetas, plans, epoch, policy, criterion="small", key=None, t=0):
    new = []
    for i, (leaf, theta, plan) in enumerate(zip(leaves, thetas, plans, strict=True)):
        if not plan.masked:
            new.append(leaf)
            continue
        counts = jnp.asarray(np.asarray(plan.counts, np.int32))[epoch]
        score = _criterion_score(criterion, theta, key, t, i)
        indices, active = _select(theta, plan, counts, score)
        mu, nu = _remap(leaf, indices, active, plan, policy)
        new.append(NanoAdamLeafState(indices, mu, nu, counts))
    return tuple(new)


class _Hyper(NamedTuple):
    b1: float
    b2: float
    eps: float
    weight_decay: float
    bias_correction: bool
    nan_policy: str


def _adam(g, mu, nu, theta, lr, t1, h: _Hyper):
    """Adam(W) on matching arrays: `(update, mu, nu)` (optax's order of operations)."""
    dtype = mu.dtype
    mu = jnp.asarray(1 - h.b1, dtype) * g + jnp.asarray(h.b1, dtype) * mu
    nu = jnp.asarray(1 - h.b2, dtype) * (g * g) + jnp.asarray(h.b2, dtype) * nu
    mu_hat, nu_hat = mu, nu
    if h.bias_correction:
        high = jnp.result_type(float)
        c1 = 1 - jnp.asarray(h.b1, high) ** t1.astype(high)
        c2 = 1 - jnp.asarray(h.b2, high) ** t1.astype(high)
        mu_hat, nu_hat = mu / c1.astype(dtype), nu / c2.astype(dtype)
    u = mu_hat / (jnp.sqrt(nu_hat) + jnp.asarray(h.eps, dtype))
    if h.weight_decay:
        u = u + jnp.asarray(h.weight_decay, dtype) * theta
    return -lr.astype(dtype) * u, mu, nu


def _check_finite(used: list, count: jax.Array) -> jax.Array:
    """`count`, raising at run time (also under jit) if a used gradient is not finite.

    `used`: the gradient values the step reads (`g[I]` of each masked leaf, the
    whole gradient of an excluded leaf), probed by `nonfinite_probe` (the
    mechanism of `ham`'s guard). The check is attached to the new step count, an
    output of every step, instead of being multiplied into the gradients: an
    error stops the whole computation either way, and the update does not wait
    for it.
    """
    return report_nonfinite(count, nonfinite_probe(used), _NONFINITE)


def _revert(ok, new, old):
    return jnp.where(ok, new, old)


def _masked_step(g, theta, leaf: NanoAdamLeafState, plan, lr, t1, h: _Hyper):
    q, c, cap = plan.q, plan.chunk, plan.cap
    dtype = leaf.mu.dtype
    zero = jnp.zeros((), dtype)
    flat_index = jnp.arange(q, dtype=jnp.int32)[:, None] * jnp.int32(
        c
    ) + leaf.indices.astype(
        jnp.int32
    )  # always in bounds: padding slots hold the chunk's first position
    active = _active(leaf.active, q, cap)
    g_i = g.reshape(-1).astype(dtype).at[flat_index].get(mode="promise_in_bounds")
    g_i = jnp.where(active, g_i, zero)
    theta_i = None
    if h.weight_decay:
        theta_i = theta.reshape(-1).at[flat_index].get(mode="promise_in_bounds")
    u, mu, nu = _adam(g_i, leaf.mu, leaf.nu, theta_i, lr, t1, h)
    u = jnp.where(active, u, zero)
    if h.nan_policy == "revert":
        ok = jnp.all(jnp.isfinite(u))
        u = jnp.where(ok, u, zero)
        mu, nu = _revert(ok, mu, leaf.mu), _revert(ok, nu, leaf.nu)
    flat = jnp.zeros((plan.n,), dtype).at[flat_index].add(u, mode="promise_in_bounds")
    return flat.reshape(plan.shape), leaf._replace(mu=mu, nu=nu), g_i


def _dense_step(g, theta, leaf: AdamLeafState, lr, t1, h: _Hyper):
    g = g.astype(leaf.mu.dtype)
    u, mu, nu = _adam(g, leaf.mu, leaf.nu, theta, lr, t1, h)
    if h.nan_policy == "revert":
        ok = jnp.all(jnp.isfinite(u))
        u = jnp.where(ok, u, jnp.zeros((), u.dtype))
        mu, nu = _revert(ok, mu, leaf.mu), _revert(ok, nu, leaf.nu)
    return u, AdamLeafState(mu, nu), g


# ------------------------------------------------------------------ optimizer


def nanoadam(
    learning_rate: float | int | Callable[[jax.Array], Any],
    *,
    k: float | int,
    mask_every: Any,
    density_schedule: tuple | None = None,
    density_every: Any = None,
    chunk_size: Any = DEFAULT_CHUNK_SIZE,
    exclude: Sequence[str] | None = None,
    exclude_1d: bool = False,
    bias_correction: bool = False,
    moment_policy: str = "keep",
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    nan_policy: str = "raise",
    criterion: str = "small",
    criterion_seed: Any = 0,
) -> optax.GradientTransformationExtraArgs:
    r"""NanoAdam: Adam on the bottom-$k$ magnitudes of each layer, compact state.

    Zhou, Jacobs, Gadhikar & Burkholz, Pay Attention to Small Weights, NeurIPS 2025,
    Algorithm 1. At each step $t = 0, 1, \ldots$ (the state's count):

    1. if $t \bmod d = 0$ (a density schedule is set): $k \leftarrow k_t$
       (`nanoadam_density`); the mask is then refreshed too (as in Algorithm 1,
       at every density step, also when $k$ did not change);
    2. if $t \bmod m = 0$ (or step 1 ran): $I \leftarrow \mathrm{Bottom}_k(|\theta_t|)$,
       per leaf and per chunk: the leaf is flattened (C order) and split into
       chunks of `chunk_size` entries (the last may be shorter) and each chunk
       keeps its $\max(1, \lfloor k\cdot\text{length}\rfloor)$ smallest
       $|\theta|$ (a choice: the paper does not say how $k\cdot$length rounds;
       at least one, so that every chunk trains), ties to the lower flat index
       (a NaN weight counts as $+\infty$). Gradient-free: $I$ depends on
       $|\theta_t|$ only;
    3. with $g = \nabla f(\theta_t)[I]$:
       $m \leftarrow \beta_1 m + (1-\beta_1) g$,
       $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
       $\theta[I] \leftarrow \theta[I] - \eta_t\,m/(\sqrt v + \epsilon)$;
       $\theta$ outside $I$ is untouched (update exactly 0).

    As in Algorithm 1 there is no bias correction and no weight decay by default.
    `bias_correction=True` divides by $1-\beta_{1,2}^{t+1}$ with the *global* step
    $t$ (also for entries that joined $I$ later); `weight_decay` $\lambda$ adds
    $\lambda\theta[I]$ to the Adam direction before the rate (AdamW, decoupled;
    only on $I$: weights outside $I$ stay as they are). With $k = 1$ and
    `bias_correction=True` this is `optax.adam` (`optax.adamw` with
    `weight_decay`).

    **Excluded leaves.** The paper excludes the final classifier and the
    normalization layers from masking (Appendix B). A leaf is excluded when one of
    the `exclude` patterns is a case-insensitive *substring* of its path
    `jax.tree_util.keystr(path)` (e.g. `"['head']['w']"`, `".blocks[3].norm.
    weight"`, `"[3]['w']"` for the last layer of a list of dicts), or, with
    `exclude_1d=True`, when it has `ndim < 2` (biases, norm scales). Excluded
    leaves are trained by plain Adam(W) with the same hyperparameters (full-size
    moments). A pattern passed in `exclude` that matches no leaf warns at `init`
    (the defaults `DEFAULT_EXCLUDE` = ("head", "classifier", "norm") do not): a
    model whose head has no such name needs its pattern, e.g. `exclude=("[3]",)`.

    **Compact state** (`NanoAdamState`). A masked leaf holds, per chunk, the
    active flat positions inside the chunk (int16 when the chunk length is
    $\le 2^{15}$, which is why `chunk_size` defaults to $2^{15}$; else int32) and
    the two moments of those entries only, arrays of `(chunks, cap)`; the state
    is about $k\,(2s+i)/(2s)$ of AdamW's bytes on masked leaves ($s$: parameter
    bytes, $i$: index bytes; exact count: `nanoadam_state_bytes`). Shapes are
    static under `jit`, so `cap` is the largest count over the density schedule
    (the initial $k$ for the paper's decay): while the density decays the slots
    past the current count are padding (zero), and the memory is that of the
    largest density, not the current one. A shorter last chunk has as many slots
    as a full one (the extra ones are padding; negligible unless a leaf is
    little more than a chunk). A refresh (`lax.top_k` per chunk, then a sort of
    the chosen positions) builds one full-size temporary per moment of the leaf
    (with `moment_policy="keep"`); between refreshes a step gathers $g[I]$ and
    scatters the update, about $k$ of AdamW's arithmetic plus one full-size
    write of the (mostly zero) update.

    **Moments at a refresh** (the paper does not say): `moment_policy="keep"`
    (default) keeps the moments of $I\cap I_\text{new}$, starts those of
    $I_\text{new}\setminus I$ at 0 and drops those of $I\setminus I_\text{new}$;
    `"reset"` starts all at 0.

    **Density schedule.** `density_schedule=None`: $k$ is constant (the paper's
    "$d > T$"). `(k_end, T)`: linear from `k` at $t = 0$ to `k_end` at $t = T$,
    evaluated at the multiples of `density_every` $= d$ (Appendix H: 10% to 4%).
    `(fn, T)`: a Python function `fn(t) -> density` evaluated at
    $t = d, 2d, \ldots \le T$ (at construction; $k$ is the density at $t < d$).
    After $T$ the density stays. The count per chunk is computed exactly from the
    density's decimal value (so $0.07 \cdot 100 = 7$).

    **Mask criterion** (an ablation; the paper's NanoAdam is `"small"`).
    `criterion="small"` (default): $I = \mathrm{Bottom}_k(|\theta|)$ as above.
    `"large"`: the top-$k$ magnitudes instead (ties to the lower flat index, a
    NaN weight never chosen). `"random"`: $\max(1, \lfloor k\cdot\text{length}
    \rfloor)$ entries of each chunk drawn uniformly without replacement (the
    bottom-k of i.i.d. uniform scores), redrawn at every refresh (same steps as
    the magnitude mask): the draw at step $t$ for leaf $j$ uses
    `fold_in(fold_in(key, t), j)` with `key = jax.random.key(criterion_seed)`
    (or `criterion_seed` itself when it is a typed PRNG key, e.g. one per seed
    under `vmap`). All three are gradient-free; the same counts, moments, chunks
    and exclusions apply.

    Use as any optax transformation: `update(grads, state, params)` (params are
    required). Works under `jit` (one trace; the refresh is a `lax.cond`) and
    keeps float32 parameters float32 (moments in the parameters' dtype).

    Args:
        learning_rate: $\eta > 0$ or an optax schedule (step count -> rate).
        k: the initial density in (0, 1], the fraction of each chunk trained.
        mask_every: the mask interval $m$, a positive int (steps).
        density_schedule: None, `(k_end, total_steps)` or `(fn, total_steps)`.
        density_every: the density interval $d$ (steps); required with a
            schedule, None without one.
        chunk_size: chunk length, a positive int, or None for one chunk per leaf.
            Default $2^{15}$ (the paper gives no value; int16 indices as in its
            memory analysis). Chunks are per leaf: they never span two leaves.
        exclude: patterns of the leaves trained by plain Adam (see above);
            None: `DEFAULT_EXCLUDE`; `()`: none.
        exclude_1d: also exclude every leaf with `ndim < 2`.
        bias_correction: Adam's bias correction (off: Algorithm 1).
        moment_policy: `"keep"` or `"reset"`, the moments at a mask refresh.
        b1, b2: the moment decays $\beta_1, \beta_2 \in [0, 1)$.
        eps: $\epsilon \ge 0$.
        weight_decay: $\lambda \ge 0$ (decoupled, on $I$ and excluded leaves).
        criterion: `"small"` (the paper's), `"large"` or `"random"`: which
            entries form the active set (see **Mask criterion**).
        criterion_seed: an int or a typed PRNG key: the randomness of
            `criterion="random"` (ignored otherwise).
        nan_policy: what a NaN/inf gradient does where the step uses it (on
            $I$ of a masked leaf, anywhere on an excluded one); gradient entries
            outside $I$ are never read, so a NaN there has no effect under every
            policy. `"raise"` (default): a runtime error, also under `jit`
            (`equinox.error_if`; one reduction over the used gradient values per
            step). `"revert"`: a leaf whose update is not all finite gets update
            exactly 0 and keeps its moments (a mask refresh at that step still
            happens: it does not read the gradient); other leaves step as usual.
            `"ignore"`: propagate silently.

    Returns:
        An `optax.GradientTransformationExtraArgs` (extra arguments are ignored).

    Raises:
        ValueError: `k` outside (0, 1], `mask_every`, `density_every` or
            `chunk_size` not a positive int, a bad schedule, rate, `b1`, `b2`,
            `eps`, `weight_decay`, `moment_policy` or `nan_policy`, `exclude` not
            a tuple of strings, `criterion` not one of `"small"`, `"large"`,
            `"random"`, `criterion_seed` neither an int nor a PRNG key,
            non-floating leaves, `exclude` excluding every
            leaf (at `init`), `update` without `params`, or `grads`/`params`/
            `state` whose structure or shapes do not match (e.g. a state, hence a
            mask, built for params of other shapes).

    Warns:
        UserWarning: at `init`, a pattern passed in `exclude` that matches no
            leaf path.
    """
    densities, every = _schedule(k, density_schedule, density_every)
    mask_every = _check_positive_int(
        mask_every,
        "mask_every",
        "the mask interval m in steps (the paper uses 6-711, Appendix H).",
    )
    if chunk_size is not None:
        chunk_size = _check_positive_int(
            chunk_size,
            "chunk_size",
            f"or None for one chunk per leaf; default {DEFAULT_CHUNK_SIZE}.",
        )
    patterns, user_patterns = _check_exclude(exclude)
    scheduled_lr = callable(learning_rate)
    if not scheduled_lr and not (
        _is_real(learning_rate) and math.isfinite(learning_rate) and learning_rate > 0
    ):
        _fail("learning_rate", "a float > 0 or an optax schedule", learning_rate)
    for name, value in (("b1", b1), ("b2", b2)):
        if not (_is_real(value) and 0 <= value < 1):
            _fail(name, "a float in [0, 1)", value)
    for name, value in (("eps", eps), ("weight_decay", weight_decay)):
        if not (_is_real(value) and math.isfinite(value) and value >= 0):
            _fail(name, "a finite float >= 0", value)
    if moment_policy not in _MOMENT_POLICIES:
        _fail("moment_policy", f"one of {_MOMENT_POLICIES}", moment_policy)
    if nan_policy not in _NAN_POLICIES:
        _fail("nan_policy", f"one of {_NAN_POLICIES}", nan_policy)
    if criterion not in _CRITERIA:
        _fail("criterion", f"one of {_CRITERIA}", criterion)
    if _is_int(criterion_seed):
        mask_key = jax.random.key(int(criterion_seed))
    elif isinstance(criterion_seed, jax.Array) and jax.dtypes.issubdtype(
        criterion_seed.dtype, jax.dtypes.prng_key
    ):
        mask_key = criterion_seed
    else:
        _fail(
            "criterion_seed",
            "an int or a typed PRNG key (jax.random.key)",
            criterion_seed,
        )
    for name, value in (
        ("exclude_1d", exclude_1d),
        ("bias_correction", bias_correction),
    ):
        if not isinstance(value, bool):
            _fail(name, "a bool", value)
    h = _Hyper(
        float(b1),
        float(b2),
        float(eps),
        float(weight_decay),
        bias_correction,
        nan_policy,
    )
    last_epoch = len(densities) - 1
    cache: dict = {}

    def plans_of(params, *, warn):
        key = (
            jax.tree.structure(params),
            tuple(
                (tuple(jnp.shape(x)), jnp.result_type(x))
                for x in jax.tree.leaves(params)
            ),
        )
        if warn or key not in cache:
            cache[key] = _plans(
                params,
                exclude=patterns,
                user_patterns=user_patterns,
                exclude_1d=exclude_1d,
                chunk_size=chunk_size,
                densities=densities,
                warn=warn,
            )
        return cache[key]

    def init(params):
        plans, _ = plans_of(params, warn=True)
        if plans and not any(p.masked for p in plans) and any(p.n for p in plans):
            raise ValueError(
                "nanoadam: `exclude` excludes every leaf of the params (paths: "
                f"{[p.path for p in plans][:8]}); nothing is masked, use "
                "optax.adam, or narrow `exclude`."
            )
        leaves = []
        for plan, x in zip(plans, jax.tree.leaves(params), strict=True):
            x = jnp.asarray(x)
            if plan.masked:
                counts = jnp.asarray(plan.counts[0], jnp.int32)
                score = _criterion_score(criterion, x, mask_key, 0, len(leaves))
                indices, _ = _select(x, plan, counts, score)
                mu = jnp.zeros((plan.q, plan.cap), x.dtype)
                nu = jnp.zeros((plan.q, plan.cap), x.dtype)  # two buffers (donation)
                leaves.append(NanoAdamLeafState(indices, mu, nu, counts))
            else:
                leaves.append(AdamLeafState(jnp.zeros_like(x), jnp.zeros_like(x)))
        return NanoAdamState(count=jnp.zeros([], jnp.int32), leaves=tuple(leaves))

    def check(grads, state, params, plans, treedef):
        if jax.tree.structure(grads) != treedef:
            raise ValueError(
                "nanoadam: `grads` must have the structure of `params`, got "
                f"{jax.tree.structure(grads)} and {treedef}."
            )
        for g, plan in zip(jax.tree.leaves(grads), plans, strict=True):
            if tuple(jnp.shape(g)) != plan.shape:
                raise ValueError(
                    f"nanoadam: the leaf {plan.path} has shape {jnp.shape(g)} in "
                    f"`grads` and {plan.shape} in `params`."
                )
        if not isinstance(state, NanoAdamState) or len(state.leaves) != len(plans):
            raise ValueError(
                "nanoadam: `state` does not belong to these `params` (another "
                "number of leaves); build it with `init(params)`."
            )
        for leaf, plan in zip(state.leaves, plans, strict=True):
            if plan.masked:
                want = (plan.q, plan.cap)
                ok = isinstance(leaf, NanoAdamLeafState) and leaf.indices.shape == want
            else:
                want = plan.shape
                ok = isinstance(leaf, AdamLeafState) and leaf.mu.shape == want
            if not ok:
                got = getattr(leaf, "indices", getattr(leaf, "mu", None))
                raise ValueError(
                    f"nanoadam: the mask/moments in `state` for leaf {plan.path} have "
                    f"shape {getattr(got, 'shape', None)}, but `params` (shape "
                    f"{plan.shape}) need {want}; the state was built for other "
                    "params: call `init` with these."
                )

    def update(grads, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(
                "nanoadam: `update` needs `params` (the mask is Bottom_k(|params|))."
            )
        plans, treedef = plans_of(params, warn=False)
        check(grads, state, params, plans, treedef)
        thetas = [jnp.asarray(x) for x in jax.tree.leaves(params)]
        t = state.count
        leaves = state.leaves
        if any(p.masked for p in plans):
            if every:
                epoch = jnp.minimum(t // jnp.int32(every), jnp.int32(last_epoch))
            else:
                epoch = jnp.zeros([], jnp.int32)

            def fresh(leaves):
                return _refresh(
                    leaves, thetas, plans, epoch, moment_policy, criterion, mask_key, t
                )

            if mask_every == 1:
                leaves = fresh(leaves)
            else:
                due = t % jnp.int32(mask_every) == 0
                if every:
                    due = due | (t % jnp.int32(every) == 0)
                leaves = jax.lax.cond(due, fresh, lambda s: s, leaves)
        lr = learning_rate(t) if scheduled_lr else learning_rate
        lr = jnp.asarray(lr)
        t1 = t + jnp.int32(1)
        updates, new_leaves, used = [], [], []
        for g, theta, leaf, plan in zip(
            jax.tree.leaves(grads), thetas, leaves, plans, strict=True
        ):
            if plan.masked:
                u, leaf, g_used = _masked_step(g, theta, leaf, plan, lr, t1, h)
            else:
                u, leaf, g_used = _dense_step(g, theta, leaf, lr, t1, h)
            used.append(g_used)
            updates.append(u)
            new_leaves.append(leaf)
        count = _check_finite(used, t1) if nan_policy == "raise" else t1
        state = NanoAdamState(count=count, leaves=tuple(new_leaves))
        return jax.tree.unflatten(treedef, updates), state

    return optax.GradientTransformationExtraArgs(init, update)


def nanoadam_mask(
    state: NanoAdamState,
    params: PyTree,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
) -> PyTree:
    r"""The active set $I$ of the last refresh as a boolean pytree of the params.

    True where an entry is trained (all True on excluded leaves). After `init` it
    is the mask of the params given to `init`; after `update` at step $t$ it is
    the mask used at step $t$. `params` gives the structure and shapes;
    `chunk_size` must be the optimizer's.
    """
    leaves, treedef = jax.tree.flatten(params)
    if not isinstance(state, NanoAdamState) or len(state.leaves) != len(leaves):
        raise ValueError(
            "nanoadam_mask: `state` must be the `NanoAdamState` of these `params`."
        )
    out = []
    for x, leaf in zip(leaves, state.leaves, strict=True):
        shape = tuple(jnp.shape(x))
        if isinstance(leaf, AdamLeafState):
            out.append(jnp.ones(shape, bool))
            continue
        n = int(math.prod(shape))
        c = n if chunk_size is None else min(chunk_size, n)
        q, cap = leaf.indices.shape
        if q != -(-n // c):
            raise ValueError(
                f"nanoadam_mask: a leaf of shape {shape} in {q} chunks does not fit "
                f"`chunk_size`={chunk_size}; pass the optimizer's chunk_size."
            )
        active = _active(leaf.active, q, cap)
        target = jnp.where(active, leaf.indices.astype(jnp.int32), jnp.int32(c))
        rows = jnp.arange(q, dtype=jnp.int32)[:, None]
        dense = jnp.zeros((q, c), bool).at[rows, target].set(True, mode="drop")
        out.append(dense.reshape(-1)[:n].reshape(shape))
    return jax.tree.unflatten(treedef, out)


# ------------------------------------------------------- gradient-weight ratio


def _grad_count(fraction, n: int, name: str) -> int:
    if not (_is_real(fraction) and math.isfinite(fraction) and 0 < fraction <= 1):
        raise ValueError(
            f"gradient_weight_ratio: `{name}` must be a float in (0, 1] (a fraction "
            f"of the entries), got {fraction!r}."
        )
    return max(1, math.floor(Fraction(repr(float(fraction))) * n))


def gradient_weight_ratio(
    weights: jax.Array,
    grads: jax.Array,
    *,
    top_grad: float = 0.01,
    bottom_grad: float = 0.8,
) -> jax.Array:
    r"""The gradient-weight statistic $r = w_m / w_M$ of one weight tensor.

    Zhou, Jacobs, Gadhikar & Burkholz, Pay Attention to Small Weights, NeurIPS
    2025, §2.1: with $g$ the gradient of the loss at the weights $\theta$ (both
    flattened, $n$ entries),

    * $w_m = \mathrm{median}\{|\theta_i| : i \in \mathrm{Top}_{k_1}(|g|)\}$, the
      median magnitude of the weights with the largest gradients,
    * $w_M = \max\{|\theta_i| : i \in \mathrm{Bottom}_{k_2}(|g|)\}$, the largest
      magnitude among the weights with the smallest gradients,

    with $k_1 = \max(1, \lfloor$ `top_grad` $\cdot n\rfloor)$ and
    $k_2 = \max(1, \lfloor$ `bottom_grad` $\cdot n\rfloor)$ (the paper:
    0.01 % and 80 %; the defaults 1 % and 80 % suit matrices of $10^4$ entries,
    where 0.01 % would be one entry). $r \ll 1$: the large gradients sit on small
    weights. The median of an even count is the mean of the two middle values
    (`jnp.median`); ties in $|g|$ are broken by the flat index (a stable
    ascending sort: among equal $|g|$ the lower index counts as smaller). NaN
    when $w_M = 0$ and $w_m = 0$, inf when only $w_M = 0$.

    Works under `jit` and `vmap` (the counts depend on the shape only).

    Raises:
        ValueError: `weights` and `grads` of different shapes, an empty tensor,
            or a fraction outside (0, 1].
    """
    if jnp.shape(weights) != jnp.shape(grads):
        raise ValueError(
            "gradient_weight_ratio: `weights` and `grads` must have the same shape, "
            f"got {jnp.shape(weights)} and {jnp.shape(grads)}."
        )
    n = int(math.prod(jnp.shape(weights)))
    if n == 0:
        raise ValueError("gradient_weight_ratio: the tensor is empty.")
    k1 = _grad_count(top_grad, n, "top_grad")
    k2 = _grad_count(bottom_grad, n, "bottom_grad")
    w = jnp.abs(jnp.asarray(weights).reshape(-1))
    order = jnp.argsort(jnp.abs(jnp.asarray(grads).reshape(-1)), stable=True)
    w_m = jnp.median(w[order[n - k1 :]])
    w_big = jnp.max(w[order[:k2]])
    return w_m / w_big


def gradient_weight_ratio_tree(
    params: PyTree,
    grads: PyTree,
    *,
    top_grad: float = 0.01,
    bottom_grad: float = 0.8,
    min_ndim: int = 2,
) -> PyTree:
    """`gradient_weight_ratio` of every leaf with `ndim >= min_ndim` (weight
    matrices by default), as a pytree of the params' structure (None elsewhere:
    biases and scalars)."""
    if jax.tree.structure(params) != jax.tree.structure(grads):
        raise ValueError(
            "gradient_weight_ratio_tree: `grads` must have the structure of `params`."
        )
    return jax.tree.map(
        lambda w, g: (
            gradient_weight_ratio(w, g, top_grad=top_grad, bottom_grad=bottom_grad)
            if jnp.ndim(w) >= min_ndim
            else None
        ),
        params,
        grads,
    )
