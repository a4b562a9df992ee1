r"""Pruning masks as bipartite graphs: the SAS histogram estimator and cut distances.

A layer's mask $M \in \{0, 1\}^{n_l \times n_{l-1}}$ is the biadjacency matrix of
the bipartite graph between layers $l-1$ and $l$ (rows = output units, columns =
input units), and its step graphon is $W_M(x, y) = M_{ij}$ on
$[\frac{i-1}{n_l}, \frac{i}{n_l}) \times [\frac{j-1}{n_{l-1}}, \frac{j}{n_{l-1}})$.
The Graphon Limit Hypothesis (Pham, Ta, Jacobs, Burkholz & Tran-Thanh, NeurIPS 2025)
states that, for a fixed architecture, pruning method and density, these masks
converge layer-wise in the cut distance to a deterministic graphon. This module
holds the tools to test it:

- `biadjacency`, `mlp_biadjacencies`, `layer_densities`: masks of an MLP pytree
  (e.g. `W{i}` stored `(fan_in, fan_out)`, as in the digits MLPs) as biadjacency
  matrices, hidden layers only by default (the paper excludes the input and output
  layers);
- `degree_order`, `sas`: the sorting-and-smoothing histogram of Chan & Airoldi
  (ICML 2014) that the paper uses to estimate the graphon ($K = 64$ blocks);
- `histogram_distance`: the paper's convergence proxy (RMS form);
- `cut_norm`, `cut_norm_bounds`, `cut_distance`: the cut norm of a step graphon
  (exact for small matrices, otherwise a lower bound and a certified upper bound)
  and the cut distance with degree-sorting relabellings.

Everything here is plain numpy float64 (masks are small boolean matrices).
"""

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jaxtyping import ArrayLike, Float, Shaped


_LAYOUTS = ("in_out", "out_in")
_RELABELS = ("none", "one-sided", "two-sided")
_CUT_METHODS = ("auto", "exact", "alternating")
#: `cut_norm(method="auto")` enumerates subsets up to this many entries of the
#: smaller side (2**16 subsets); `method="exact"` accepts up to `_EXACT_MAX`.
_EXACT_AUTO = 16
_EXACT_MAX = 22


# --- validation ------------------------------------------------------------------


def _matrix(x, fn: str, name: str) -> np.ndarray:
    """`x` as a non-empty 2-d numpy array (any dtype), or a ValueError."""
    try:
        a = np.asarray(x)
    except Exception as err:  # e.g. ragged nested lists
        raise ValueError(
            f"{fn}: `{name}` must be a 2-d array, got an object numpy cannot "
            f"convert ({type(x).__name__}); pass a rectangular array."
        ) from err
    if a.ndim != 2:
        raise ValueError(
            f"{fn}: `{name}` must be a 2-d array (a matrix), got shape {a.shape}; "
            "pass one layer's mask or histogram as a matrix."
        )
    if a.size == 0:
        raise ValueError(f"{fn}: `{name}` is empty (shape {a.shape}).")
    return a


def _mask(x, fn: str, name: str) -> np.ndarray:
    """`x` as a boolean matrix; refuses values outside {0, 1} (and NaN)."""
    a = _matrix(x, fn, name)
    if a.dtype == np.bool_:
        return a
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(
            f"{fn}: `{name}` must be boolean or 0/1 numbers, got dtype {a.dtype}."
        )
    if np.issubdtype(a.dtype, np.floating) and np.isnan(a).any():
        raise ValueError(
            f"{fn}: `{name}` contains NaN; a mask holds only 0/1 (kept/pruned)."
        )
    bad = (a != 0) & (a != 1)
    if bad.any():
        raise ValueError(
            f"{fn}: `{name}` must hold only 0/1 (or booleans), got the value "
            f"{a[bad].flat[0]!r}; pass the mask, e.g. `scores >= threshold`, not "
            "weights or scores."
        )
    return a.astype(bool)


def _real(x, fn: str, name: str) -> np.ndarray:
    """`x` as a finite float64 matrix (booleans and integers allowed)."""
    a = _matrix(x, fn, name)
    if not (
        a.dtype == np.bool_
        or np.issubdtype(a.dtype, np.integer)
        or np.issubdtype(a.dtype, np.floating)
    ):
        raise ValueError(f"{fn}: `{name}` must be a real matrix, got dtype {a.dtype}.")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(
            f"{fn}: `{name}` contains NaN or infinite entries; pass a finite matrix."
        )
    return a


def _positive_int(k, fn: str, name: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"{fn}: `{name}` must be a positive int, got {k!r}.")
    return int(k)


def _choice(value, options, fn: str, name: str) -> str:
    if value not in options:
        raise ValueError(
            f"{fn}: unknown `{name}`={value!r}; pass one of "
            + ", ".join(repr(o) for o in options)
            + "."
        )
    return value


# --- masks as biadjacency matrices -------------------------------------------------


def biadjacency(
    mask: Shaped[ArrayLike, "..."], *, layout: str = "in_out"
) -> np.ndarray:
    r"""One layer's mask as a boolean biadjacency matrix, rows = output units.

    Entry $(i, j)$ is `True` when the weight from input unit $j$ to output unit
    $i$ is kept. Masks stored like the weights of `x @ W` (shape
    `(fan_in, fan_out)`, the convention of the digits MLPs) are transposed;
    masks stored like `W @ x` (shape `(fan_out, fan_in)`, e.g. PyTorch's
    `Linear.weight`) are returned as they are.

    Args:
        mask: a 2-d boolean or 0/1 array (numpy or JAX).
        layout: `"in_out"` for `(fan_in, fan_out)` storage (transpose),
            `"out_in"` for `(fan_out, fan_in)` storage.

    Returns:
        A boolean numpy array of shape `(fan_out, fan_in)`.

    Raises:
        ValueError: `mask` is not 2-d, holds values other than 0/1 (or NaN), or
            `layout` is unknown.
    """
    _choice(layout, _LAYOUTS, "biadjacency", "layout")
    m = _mask(mask, "biadjacency", "mask")
    return np.ascontiguousarray(m.T) if layout == "in_out" else m


def mlp_biadjacencies(
    mask_tree: Any,
    *,
    names: Sequence[str] | None = None,
    layout: str = "in_out",
    exclude_input: bool = True,
    exclude_output: bool = True,
) -> list[np.ndarray]:
    r"""The biadjacency matrices of an MLP's layer masks, in layer order.

    Layer $l$'s matrix has shape $(n_l, n_{l-1})$ (rows = output units), so
    consecutive matrices chain: the rows of one are the columns of the next. The
    Graphon Limit Hypothesis paper studies the hidden-to-hidden layers only: the
    input layer (fixed fan-in $d$) and the output layer (fixed fan-out) cannot
    have a width limit, so both are excluded by default.

    Args:
        mask_tree: the mask pytree of an MLP: a dict with keys `"W1", ...,
            "W{L+1}"` (other keys, e.g. the biases `"b{i}"`, are ignored), or a
            list/tuple of layer masks in layer order.
        names: for a dict, the keys of the weight masks in layer order (default:
            every key `W<integer>`, sorted by the integer).
        layout: the storage of every mask, as in `biadjacency` (`"in_out"`:
            `(fan_in, fan_out)`, transposed).
        exclude_input: drop the first layer (input to first hidden layer).
        exclude_output: drop the last layer (last hidden layer to output).

    Returns:
        A list of boolean matrices, one per remaining layer.

    Raises:
        ValueError: a name is not a key of `mask_tree`, the dict has no `W<int>`
            keys, a mask is not a 0/1 matrix, consecutive masks do not chain
            (fan-out of one layer differs from the fan-in of the next), or no
            layer is left after the exclusions.
    """
    fn = "mlp_biadjacencies"
    _choice(layout, _LAYOUTS, fn, "layout")
    if isinstance(mask_tree, Mapping):
        if names is None:
            numbered = [
                (int(mt.group(1)), k)
                for k in mask_tree
                if isinstance(k, str) and (mt := re.fullmatch(r"W(\d+)", k))
            ]
            if not numbered:
                raise ValueError(
                    f"{fn}: `mask_tree` has no keys 'W1', 'W2', ... (keys: "
                    f"{list(mask_tree)}); pass `names`, the weight masks' keys in "
                    "layer order."
                )
            names = [k for _, k in sorted(numbered)]
        else:
            if isinstance(names, str):
                raise ValueError(
                    f"{fn}: `names` must be a sequence of keys, got the string "
                    f"{names!r}; pass e.g. ['W1', 'W2']."
                )
            names = list(names)
            for k in names:
                if k not in mask_tree:
                    raise ValueError(
                        f"{fn}: `names` contains {k!r}, not a key of `mask_tree` "
                        f"(keys: {list(mask_tree)}); pass existing keys in layer "
                        "order."
                    )
        leaves = [mask_tree[k] for k in names]
        labels = [repr(k) for k in names]
    elif isinstance(mask_tree, list | tuple):
        if names is not None:
            raise ValueError(
                f"{fn}: `names` applies to a dict `mask_tree` only; pass the list "
                "in layer order without `names`."
            )
        leaves = list(mask_tree)
        labels = [f"mask_tree[{i}]" for i in range(len(leaves))]
    else:
        raise ValueError(
            f"{fn}: `mask_tree` must be a dict of layer masks ('W1', ...) or a "
            f"list of them, got {type(mask_tree).__name__}."
        )
    if not leaves:
        raise ValueError(f"{fn}: `mask_tree` has no layer masks.")
    mats = []
    for leaf, label in zip(leaves, labels, strict=True):
        try:
            mats.append(biadjacency(leaf, layout=layout))
        except ValueError as err:
            raise ValueError(f"{fn}: layer {label} of `mask_tree`: {err}") from None
    for prev, nxt, lp, ln in zip(mats, mats[1:], labels, labels[1:], strict=False):
        if nxt.shape[1] != prev.shape[0]:
            raise ValueError(
                f"{fn}: the masks of `mask_tree` do not chain: layer {lp} has "
                f"{prev.shape[0]} output units but layer {ln} has {nxt.shape[1]} "
                f"input units (biadjacency shapes {prev.shape} and {nxt.shape} with "
                f"`layout`={layout!r}); pass layout='out_in' for masks stored "
                "(fan_out, fan_in), or `names` in layer order."
            )
    lo = 1 if exclude_input else 0
    hi = len(mats) - 1 if exclude_output else len(mats)
    if hi <= lo:
        raise ValueError(
            f"{fn}: no layer is left after excluding the input/output layers "
            f"({len(mats)} layer(s) in `mask_tree`); pass exclude_input=False or "
            "exclude_output=False."
        )
    return mats[lo:hi]


def layer_densities(matrices: Any) -> np.ndarray:
    r"""The kept fraction of each layer's mask, $\frac{1}{n_l n_{l-1}}\sum_{ij}M_{ij}$.

    Args:
        matrices: a list of 0/1 matrices (e.g. the output of `mlp_biadjacencies`).

    Returns:
        A float64 array of shape `(len(matrices),)`.

    Raises:
        ValueError: `matrices` is a single matrix or holds something other than
            0/1 matrices.
    """
    fn = "layer_densities"
    if isinstance(matrices, np.ndarray | jax.Array) and np.ndim(matrices) == 2:
        raise ValueError(
            f"{fn}: `matrices` must be a list of matrices, got one matrix of shape "
            f"{np.shape(matrices)}; wrap it in a list."
        )
    out = []
    for i, m in enumerate(matrices):
        out.append(float(np.mean(_mask(m, fn, f"matrices[{i}]"))))
    if not out:
        raise ValueError(f"{fn}: `matrices` is empty.")
    return np.asarray(out, dtype=np.float64)


# --- SAS -------------------------------------------------------------------------


def degree_order(M: Shaped[ArrayLike, "..."]) -> tuple[np.ndarray, np.ndarray]:
    r"""The orders of rows and columns by descending degree (stable).

    Row degree $\sum_j M_{ij}$ (for a biadjacency matrix: the fan-in kept at an
    output unit), column degree $\sum_i M_{ij}$ (the fan-out kept at an input
    unit). Ties keep index order (a stable sort), so the result is deterministic.
    Works for any real matrix (weighted degrees), e.g. a histogram.

    Args:
        M: a real matrix, shape `(m, n)`.

    Returns:
        `(row_order, col_order)`, integer arrays of shapes `(m,)` and `(n,)`:
        `M[row_order][:, col_order]` has non-increasing row and column sums.

    Raises:
        ValueError: `M` is not a finite real matrix.
    """
    a = _real(M, "degree_order", "M")
    rows = np.argsort(-a.sum(axis=1), kind="stable")
    cols = np.argsort(-a.sum(axis=0), kind="stable")
    return rows, cols


def _block_means(A: np.ndarray, K: int) -> np.ndarray:
    """Means of `A` over the K x K blocks of `np.array_split` groups."""
    rstart = np.array([g[0] for g in np.array_split(np.arange(A.shape[0]), K)])
    cstart = np.array([g[0] for g in np.array_split(np.arange(A.shape[1]), K)])
    sums = np.add.reduceat(A, rstart, axis=0, dtype=np.float64)
    sums = np.add.reduceat(sums, cstart, axis=1)
    rsize = np.diff(np.append(rstart, A.shape[0]))
    csize = np.diff(np.append(cstart, A.shape[1]))
    return sums / np.outer(rsize, csize)


def sas(M: Shaped[ArrayLike, "..."], K: int = 64) -> Float[np.ndarray, "K K"]:
    r"""The sorting-and-smoothing (SAS) histogram of a mask: a $K \times K$ graphon.

    Chan & Airoldi's estimator as used by the Graphon Limit Hypothesis paper
    (App. C): sort the rows and the columns of $M$ by descending degree (stable,
    ties by index: `degree_order`), split the sorted rows into $K$ contiguous
    groups and the sorted columns into $K$ groups (`np.array_split`, sizes
    differing by at most one), and average $M$ over each block,

    $$H_{ab} = \frac{1}{|R_a||C_b|}\sum_{i \in R_a,\,j \in C_b} M_{ij}.$$

    $H$ is a step graphon on $[0,1]^2$ whose rows run from the highest-degree
    output units ($a = 0$) to the lowest. It does not change when the rows or
    columns of $M$ are permuted, as long as no two rows (columns) have the same
    degree; with ties the stable order depends on the labels, so the invariance
    then holds in distribution for randomly labelled masks.

    Args:
        M: a biadjacency matrix, boolean or 0/1, shape `(m, n)` (rows = output
            units; see `biadjacency`).
        K: the number of blocks per side, $1 \le K \le \min(m, n)$ (the paper
            uses 64).

    Returns:
        $H$, float64, shape `(K, K)`, entries in $[0, 1]$.

    Raises:
        ValueError: `M` is not a 2-d 0/1 matrix, or `K` is not an integer in
            $[1, \min(m, n)]$.

    References:
        S. H. Chan and E. M. Airoldi, "A consistent histogram estimator for
        exchangeable graph models", ICML 2014.
        H. Pham, T. A. Ta, T. Jacobs, R. Burkholz and L. Tran-Thanh, "The Graphon
        Limit Hypothesis: Understanding Neural Network Pruning via Infinite Width
        Analysis", NeurIPS 2025, App. C.
    """
    A = _mask(M, "sas", "M")
    K = _positive_int(K, "sas", "K")
    width = min(A.shape)
    if K > width:
        raise ValueError(
            f"sas: `K`={K} > width {width} (the smaller side of `M`, shape "
            f"{A.shape}); pass K <= {width}."
        )
    rows = np.argsort(-A.sum(axis=1), kind="stable")
    cols = np.argsort(-A.sum(axis=0), kind="stable")
    return _block_means(A[np.ix_(rows, cols)].view(np.uint8), K)


def histogram_distance(
    H1: Shaped[ArrayLike, "..."], H2: Shaped[ArrayLike, "..."]
) -> float:
    r"""The RMS distance of two histograms, $\|H_1 - H_2\|_F / K$.

    The paper's convergence proxy $\|H_n - H_{n_{\max}}\|_2$ (Euclidean distance of
    degree-sorted histograms) divided by $K$, i.e. the $L^2$ distance of the two
    step graphons on $[0,1]^2$. For non-square $K_1 \times K_2$ inputs the divisor
    is $\sqrt{K_1K_2}$.

    Args:
        H1: a histogram, shape `(K1, K2)`.
        H2: a histogram of the same shape.

    Returns:
        $\sqrt{\mathrm{mean}((H_1 - H_2)^2)}$.

    Raises:
        ValueError: a non-finite or non-2-d input, or different shapes.
    """
    a = _real(H1, "histogram_distance", "H1")
    b = _real(H2, "histogram_distance", "H2")
    if a.shape != b.shape:
        raise ValueError(
            f"histogram_distance: `H2` has shape {b.shape}, `H1` {a.shape}; "
            "estimate both with the same K."
        )
    return float(np.sqrt(np.mean((a - b) ** 2)))


# --- cut norm --------------------------------------------------------------------


def _augment(D: np.ndarray) -> np.ndarray:
    r"""Alon & Naor's $(m+1)\times(n+1)$ matrix with zero row and column sums."""
    r = -D.sum(axis=1, keepdims=True)
    c = -D.sum(axis=0, keepdims=True)
    return np.block([[D, r], [c, np.full((1, 1), D.sum())]])


def _cut_exact(D: np.ndarray) -> float:
    """max_S max(sum of positive, -sum of negative column sums over S), raw."""
    if D.shape[0] > D.shape[1]:
        D = D.T
    m, n = D.shape
    bits = np.arange(m)
    chunk = max(1, min(1 << m, 2**22 // max(n, 1)))
    best = 0.0
    for start in range(0, 1 << m, chunk):
        codes = np.arange(start, min(start + chunk, 1 << m))
        S = ((codes[:, None] >> bits) & 1).astype(np.float64)
        colsums = S @ D
        pos = np.where(colsums > 0, colsums, 0.0).sum(axis=1)
        neg = np.where(colsums < 0, -colsums, 0.0).sum(axis=1)
        best = max(best, float(pos.max()), float(neg.max()))
    return best


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1.0, -1.0)


def _polish(B: np.ndarray, x: np.ndarray, max_iter: int = 1000) -> float:
    r"""Alternating sign maximization of $x^\top B y$ from `x`; the final value."""
    value = -np.inf
    for _ in range(max_iter):
        y = _sign(B.T @ x)
        x = _sign(B @ y)
        new = float(x @ B @ y)
        if new <= value:
            break
        value = new
    return value


def _cut_alternating(D: np.ndarray, restarts: int, seed: int) -> float:
    """Best x^T B y / 4 (raw) over a spectral start and `restarts` random ones."""
    B = _augment(D)
    rng = np.random.default_rng(seed)
    # Spectral start: the signs of B's top left singular vector (power iteration).
    v = rng.standard_normal(B.shape[1])
    for _ in range(50):
        u = B @ v
        u /= max(float(np.linalg.norm(u)), 1e-300)
        v = B.T @ u
        v /= max(float(np.linalg.norm(v)), 1e-300)
    starts = [_sign(u)]
    starts.extend(_sign(rng.standard_normal(B.shape[0])) for _ in range(restarts))
    return max(0.0, max(_polish(B, x) for x in starts) / 4.0)


def cut_norm(
    D: Shaped[ArrayLike, "..."],
    *,
    method: str = "auto",
    restarts: int = 32,
    seed: int = 0,
) -> float:
    r"""The cut norm of a matrix viewed as a step graphon on $[0,1]^2$.

    $$\|D\|_\square = \sup_{S, T \subseteq [0,1]}\Big|\int_{S\times T} W_D\Big|
    = \frac{1}{mn}\max_{S \subseteq [m],\,T \subseteq [n]}
    \Big|\sum_{i\in S,\,j\in T} D_{ij}\Big|,$$

    with $W_D$ the step function of $D$ on an $m \times n$ grid of equal cells.
    The two forms agree because the integral is bilinear in the fractions of each
    row and column cell covered by $S$ and $T$, so the supremum sits at a vertex
    (whole cells).

    Methods:

    - `"exact"`: enumerate all $2^k$ subsets $S$ of the smaller side ($k \le 22$);
      for fixed $S$ the best $T$ takes the columns with positive sums (or those
      with negative sums), so the value is
      $\max_S\max(\sum_j (c^S_j)_+, \sum_j (c^S_j)_-)$ with $c^S = \sum_{i\in S}
      D_{i\cdot}$. Cost $O(2^k k n)$.
    - `"alternating"`: a **lower bound**. With Alon & Naor's $(m+1)\times(n+1)$
      matrix $B = \begin{pmatrix} D & -D\mathbf 1\\ -\mathbf 1^\top D &
      \mathbf 1^\top D\mathbf 1\end{pmatrix}$ (zero row and column sums),
      $\max_{S,T}|\sum_{S\times T}D| = \|B\|_{\infty\to1}/4$ exactly, and every
      sign pair gives $x^\top By/4 = \sum_{S\times T}B$, a cut value of $D$ up to
      sign. $x^\top By$ is maximized by alternating $y = \mathrm{sign}(B^\top x)$,
      $x = \mathrm{sign}(By)$ (each step can only increase it) from the signs of
      $B$'s top left singular vector and from `restarts` random sign vectors
      (seeded); the best value found is returned. It is exact when a start falls
      in the basin of the maximizer, which is not guaranteed.
    - `"auto"`: `"exact"` when the smaller side has at most 16 entries, else
      `"alternating"`.

    For a certified upper bound use `cut_norm_bounds`.

    Args:
        D: a real matrix, shape `(m, n)` (e.g. a difference of two histograms).
        method: `"auto"`, `"exact"` or `"alternating"`.
        restarts: random starts of `"alternating"` (in addition to the spectral
            one).
        seed: seed of the random starts (`numpy.random.default_rng`).

    Returns:
        $\|D\|_\square$ (`"exact"`), or a lower bound of it (`"alternating"`).

    Raises:
        ValueError: `D` is not a finite real matrix, `method` is unknown, or
            `"exact"` is asked for a matrix whose smaller side exceeds 22.

    References:
        L. Lovász, *Large Networks and Graph Limits*, AMS 2012, §8.1 (the cut
        norm).
        N. Alon and A. Naor, "Approximating the cut-norm via Grothendieck's
        inequality", SIAM J. Comput. 35(4), 2006 (the augmented matrix, §3).
    """
    fn = "cut_norm"
    a = _real(D, fn, "D")
    _choice(method, _CUT_METHODS, fn, "method")
    restarts = _nonnegative_int(restarts, fn, "restarts")
    k = min(a.shape)
    if method == "exact" and k > _EXACT_MAX:
        raise ValueError(
            f"{fn}: `method`='exact' enumerates 2**{k} subsets of the smaller side "
            f"of `D` (shape {a.shape}); it is limited to {_EXACT_MAX}. Pass "
            "method='alternating' (a lower bound) or use cut_norm_bounds."
        )
    if method == "exact" or (method == "auto" and k <= _EXACT_AUTO):
        raw = _cut_exact(a)
    else:
        raw = _cut_alternating(a, restarts, int(seed))
    return raw / a.size


def _nonnegative_int(k, fn: str, name: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"{fn}: `{name}` must be a non-negative int, got {k!r}.")
    return int(k)


def _burer_monteiro(B: np.ndarray, rank: int, max_iter: int, tol: float, rng):
    r"""Block ascent on $\mathrm{tr}(U^\top B V)$ with unit-norm rows of U and V."""
    U = rng.standard_normal((B.shape[0], rank))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V = rng.standard_normal((B.shape[1], rank))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    value = -np.inf
    for _ in range(max_iter):
        G = B.T @ U
        V = G / np.maximum(np.linalg.norm(G, axis=1, keepdims=True), 1e-300)
        G = B @ V
        norms = np.linalg.norm(G, axis=1, keepdims=True)
        U = G / np.maximum(norms, 1e-300)
        new = float(norms.sum())  # = tr(U^T B V) after the update
        if new - value <= tol * max(1.0, abs(new)):
            value = new
            break
        value = new
    return U, V


def cut_norm_bounds(
    D: Shaped[ArrayLike, "..."],
    *,
    restarts: int = 32,
    seed: int = 0,
    rank: int | None = None,
    max_iter: int = 5000,
) -> tuple[float, float]:
    r"""A lower bound and a certified upper bound of the cut norm $\|D\|_\square$.

    **Upper bound** (Alon & Naor 2006, §3). With the augmented matrix $B$ of
    `cut_norm` (zero row and column sums),
    $$\|D\|_\square = \frac{\|B\|_{\infty\to1}}{4mn}
    \le \frac{\mathrm{SDP}(B)}{4mn}, \qquad
    \mathrm{SDP}(B) = \max_{\|u_i\| = \|v_j\| = 1}\sum_{ij}B_{ij}\langle u_i,
    v_j\rangle,$$
    and by Grothendieck's inequality $\mathrm{SDP}(B) \le K_G\|B\|_{\infty\to1}$,
    $K_G < \pi/(2\ln(1+\sqrt2)) \approx 1.7822$ (Krivine), so the bound is within
    a factor 1.7822 of the truth. The SDP is solved approximately by block
    coordinate ascent on a rank-$r$ factorization (Burer-Monteiro, $r =
    \lceil\sqrt{2(m+n+2)}\rceil + 1$), and the bound is **certified by weak
    duality**: for any $\nu \in \mathbb R^{m+n+2}$ with $\mathrm{diag}(\nu) - C
    \succeq 0$, $C = \frac12\begin{pmatrix}0 & B\\ B^\top & 0\end{pmatrix}$,
    $\sum_k\nu_k \ge \mathrm{SDP}(B)$. We take $\nu_i = \|(BV)_i\|/2$,
    $\nu_{m+1+j} = \|(B^\top U)_j\|/2$ (exact at the SDP optimum) and add
    $\max(0, -\lambda_{\min}(\mathrm{diag}(\nu) - C))$ plus a floating-point
    margin of $10^{-12}(m+n+2)\|C\|_F$ to every entry, which makes it feasible
    whatever the accuracy of the ascent.

    **Lower bound**: the best of `cut_norm(method="alternating")` and the
    rounding of the factorization by `restarts` random hyperplanes (signs of
    $Ug$), each polished by alternating sign maximization.

    Cost: $O(\text{max\_iter}\cdot mnr)$ for the ascent and $O((m+n)^3)$ for
    the eigenvalue certificate; meant for histograms ($K \le$ a few hundred).

    Args:
        D: a real matrix, shape `(m, n)`.
        restarts: random starts of the lower bound (and random hyperplanes).
        seed: seed of the random starts and of the factorization.
        rank: the factorization rank $r$ (default above).
        max_iter: the iterations of the block ascent.

    Returns:
        `(lower, upper)` with `lower` $\le \|D\|_\square \le$ `upper`.

    Raises:
        ValueError: `D` is not a finite real matrix, or a non-positive `rank` or
            `max_iter`.

    References:
        N. Alon and A. Naor, "Approximating the cut-norm via Grothendieck's
        inequality", SIAM J. Comput. 35(4), 2006.
        S. Burer and R. D. C. Monteiro, "A nonlinear programming algorithm for
        solving semidefinite programs via low-rank factorization", Math.
        Program. 95, 2003.
    """
    fn = "cut_norm_bounds"
    a = _real(D, fn, "D")
    restarts = _nonnegative_int(restarts, fn, "restarts")
    max_iter = _positive_int(max_iter, fn, "max_iter")
    B = _augment(a)
    p, q = B.shape
    N = p + q
    r = math.ceil(math.sqrt(2 * N)) + 1 if rank is None else rank
    r = _positive_int(r, fn, "rank")
    rng = np.random.default_rng(seed)
    U, V = _burer_monteiro(B, r, max_iter, 1e-13, rng)
    # Certificate: nu from the stationarity conditions, shifted to feasibility.
    C = np.zeros((N, N))
    C[:p, p:] = B / 2
    C[p:, :p] = B.T / 2
    nu = np.concatenate(
        [np.linalg.norm(B @ V, axis=1) / 2, np.linalg.norm(B.T @ U, axis=1) / 2]
    )
    lam_min = float(np.linalg.eigvalsh(np.diag(nu) - C)[0])
    margin = 1e-12 * N * float(np.linalg.norm(C))
    shift = max(0.0, -lam_min) + margin
    upper = (float(nu.sum()) + N * shift) / 4.0
    # Lower bound: alternating signs, and hyperplane rounding of (U, V).
    lower = _cut_alternating(a, restarts, seed)
    for _ in range(restarts):
        g = rng.standard_normal(r)
        lower = max(lower, _polish(B, _sign(U @ g)) / 4.0)
    return lower / a.size, upper / a.size


# --- cut distance ----------------------------------------------------------------


def cut_distance(
    U: Shaped[ArrayLike, "..."],
    W: Shaped[ArrayLike, "..."],
    *,
    relabel: str = "two-sided",
    method: str = "auto",
    restarts: int = 32,
    seed: int = 0,
) -> float:
    r"""The cut distance of two step graphons, with a degree-sorting relabelling.

    $$\delta_\square(U, W) = \inf_{\phi,\psi}\|U - W^{\phi,\psi}\|_\square,
    \qquad W^{\phi,\psi}(x, y) = W(\phi(x), \psi(y)),$$

    over measure-preserving maps. Computing the infimum is hard; the relabelling
    is replaced by sorting each matrix by its own degrees, which gives an **upper
    bound** of the infimum (sorting is one admissible relabelling):

    - `"none"`: $\|U - W\|_\square$, the labels as given;
    - `"one-sided"`: one common permutation of rows and columns per matrix
      ($W(\phi x, \phi y)$, as for an ordinary graphon; the paper's single
      relabelling), ordering by total degree $\sum_j W_{ij} + \sum_j W_{ji}$
      (descending, stable); needs square matrices. Bounds $\inf_\phi$;
    - `"two-sided"`: rows and columns sorted separately by their own degrees
      (`degree_order`), the natural choice for biadjacency matrices whose rows and
      columns are different layers. Bounds $\inf_{\phi,\psi}$, which is at most
      the one-sided infimum.

    Histograms from `sas` are already degree-sorted, so `"two-sided"` changes
    them only when sorting by the estimated block degrees differs from the order
    of the estimate.

    The cut norm itself is computed by `cut_norm` with `method`: exact for at most
    16 rows or columns (then the result is an upper bound of
    $\delta_\square$), otherwise a lower bound of $\|U - W^{\sigma}\|_\square$ for
    the sorting relabelling $\sigma$ (use `cut_norm_bounds` on the relabelled
    difference for a certified value).

    Args:
        U: a step graphon as a matrix, shape `(m, n)`.
        W: a step graphon of the same shape.
        relabel: `"two-sided"`, `"one-sided"` or `"none"`.
        method: passed to `cut_norm`.
        restarts: passed to `cut_norm`.
        seed: passed to `cut_norm`.

    Returns:
        $\|U^{\sigma_U} - W^{\sigma_W}\|_\square$ for the sorting relabellings.

    Raises:
        ValueError: a non-finite or non-2-d input, different shapes, an unknown
            `relabel` or `method`, or `"one-sided"` with a non-square matrix.

    References:
        L. Lovász, *Large Networks and Graph Limits*, AMS 2012, §8.2-8.3.
    """
    fn = "cut_distance"
    a = _real(U, fn, "U")
    b = _real(W, fn, "W")
    _choice(relabel, _RELABELS, fn, "relabel")
    if a.shape != b.shape:
        raise ValueError(
            f"{fn}: `W` has shape {b.shape}, `U` {a.shape}; compare step graphons "
            "on the same grid (e.g. two `sas` histograms with the same K)."
        )
    if relabel == "one-sided":
        if a.shape[0] != a.shape[1]:
            raise ValueError(
                f"{fn}: `relabel`='one-sided' needs square matrices, got shape "
                f"{a.shape}; pass relabel='two-sided' for biadjacency matrices."
            )
        pa = np.argsort(-(a.sum(0) + a.sum(1)), kind="stable")
        pb = np.argsort(-(b.sum(0) + b.sum(1)), kind="stable")
        a, b = a[np.ix_(pa, pa)], b[np.ix_(pb, pb)]
    elif relabel == "two-sided":
        ra, ca = degree_order(a)
        rb, cb = degree_order(b)
        a, b = a[np.ix_(ra, ca)], b[np.ix_(rb, cb)]
    return cut_norm(a - b, method=method, restarts=restarts, seed=seed)


__all__ = [
    "biadjacency",
    "cut_distance",
    "cut_norm",
    "cut_norm_bounds",
    "degree_order",
    "histogram_distance",
    "layer_densities",
    "mlp_biadjacencies",
    "sas",
]
