r"""Sparse coding with a fixed dictionary: $f(X) = \tfrac{s}{2}\|Y - DX\|_F^2$."""

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array
from .._types import Scalar
from ._base import AbstractLinearProblem


Codes = Float[ArrayLike, "..."]


class SparseCoding(AbstractLinearProblem):
    r"""Sparse coding of signals $Y$ in a fixed dictionary $D$.

    $$f(X) = \tfrac{s}{2}\|Y - DX\|_F^2,\qquad s = 1/N\ \text{(default)},$$
    with dictionary $D\in\mathbb{R}^{m\times r}$ (atoms as columns), signals
    $Y\in\mathbb{R}^{m\times N}$ (one per column) and codes
    $X\in\mathbb{R}^{r\times N}$. The default $s = 1/N$ averages the squared
    reconstruction error over the $N$ signals (the per-signal loss of sparse coding
    and dictionary learning); `mean=False` gives $s = 1$. The mean squared error
    over all entries is $2f/m$ for $s = 1/N$.

    The loss is linear in the codes: with $\operatorname{vec}$ stacking the columns
    of $X$ (column-major: the code of signal 1, then of signal 2, ...; that is
    `X.T.reshape(-1)`), $\operatorname{vec}(DX) = (I_N\otimes D)\operatorname{vec}(X)$,
    so $f = L(A\operatorname{vec}X)$ with
    $$A = I_N\otimes D\in\mathbb{R}^{mN\times rN},\qquad b = \operatorname{vec}(Y),
    \qquad \nabla L(r) = s(r - b),$$
    and every result for linear losses applies (the reduced flow, `predict`'s Bregman
    projection onto $\{DX = Y\}$, which needs $m < r$). The columns decouple: column
    $j$ of any such flow is the flow of $\tfrac{s}{2}\|Dx - y_j\|^2$.

    `loss` and `grad` accept the codes as the matrix `(r, N)` or as the flat
    vector $\operatorname{vec}(X)$ of length $rN$ and return the gradient in the
    shape they were given, so a reparameterization may act on either: elementwise ones
    (`DeepDiagonal`, codes $X = U^{D} - V^{D}$) keep the shape of their factors.
    `as_matrix`/`as_vector` convert. `A` is built on access (memory $mrN^2$); the loss
    and its gradient use $D$ directly.

    Args:
        D: dictionary, shape `(m, r)`.
        Y: signals, shape `(m, N)`, $N \ge 1$.
        X_star: optional planted codes (`D @ X_star == Y`), shape `(r, N)`.
        mean: $s = 1/N$ (default) or, if False, $s = 1$.

    Raises:
        ValueError: a shape does not match, or there is no signal.
    """

    D: Float[Array, "m r"]
    Y: Float[Array, "m N"]
    X_star: Float[Array, "r N"] | None
    scale: float = eqx.field(static=True)

    def __init__(
        self,
        D: ArrayLike,
        Y: ArrayLike,
        X_star: ArrayLike | None = None,
        *,
        mean: bool = True,
    ):
        D = as_float_array(D, "D", ndim=2)
        Y = as_float_array(Y, "Y", ndim=2)
        if D.shape[0] < 1 or D.shape[1] < 1:
            raise ValueError(
                f"SparseCoding: the dictionary `D` must have at least one row and one "
                f"atom (column), got shape {D.shape}."
            )
        if Y.shape[0] != D.shape[0]:
            raise ValueError(
                f"SparseCoding: `Y` must have one row per row of the dictionary `D` "
                f"(signals as columns): D has shape {D.shape}, Y has shape {Y.shape}; "
                "pass Y of shape (m, N) (transpose it if signals are rows)."
            )
        if Y.shape[1] < 1:
            raise ValueError(
                f"SparseCoding: `Y` holds no signal (N = {Y.shape[1]} columns); pass "
                "at least one signal as a column of Y."
            )
        if X_star is not None:
            X_star = as_float_array(X_star, "X_star", ndim=2)
            want = (D.shape[1], Y.shape[1])
            if X_star.shape != want:
                raise ValueError(
                    f"SparseCoding: `X_star` must have shape (r, N) = {want}, one code "
                    f"per signal as a column, got {X_star.shape}."
                )
        self.D, self.Y, self.X_star = D, Y, X_star
        self.scale = 1.0 / Y.shape[1] if mean else 1.0

    @property
    def m(self) -> int:
        """Signal dimension (rows of `D`)."""
        return self.D.shape[0]

    @property
    def r(self) -> int:
        """Number of atoms (columns of `D`)."""
        return self.D.shape[1]

    @property
    def num_signals(self) -> int:
        """$N$, the number of signals (columns of `Y`)."""
        return self.Y.shape[1]

    @property
    def n(self) -> int:
        """Rows of `A`: $mN$."""
        return self.m * self.num_signals

    @property
    def d(self) -> int:
        """Number of weights: $rN$ code entries."""
        return self.r * self.num_signals

    @property
    def A(self) -> Float[Array, "mN rN"]:
        r"""$I_N\otimes D$, acting on the column-major $\operatorname{vec}(X)$."""
        return jnp.kron(jnp.eye(self.num_signals, dtype=self.D.dtype), self.D)

    @property
    def b(self) -> Float[Array, " mN"]:
        r"""$\operatorname{vec}(Y)$ (columns stacked)."""
        return self.as_vector(self.Y)

    def as_matrix(self, x: Codes) -> Float[Array, "r N"]:
        """The codes as the `(r, N)` matrix, from the matrix or from vec(X).

        Raises:
            ValueError: `x` is neither of shape `(r, N)` nor `(r * N,)`.
        """
        x = jnp.asarray(x)
        r, N = self.r, self.num_signals
        if x.shape == (r, N):
            return x
        if x.shape == (r * N,):
            return x.reshape(N, r).T
        raise ValueError(
            f"SparseCoding: the codes must be the (r, N) = ({r}, {N}) matrix X or its "
            f"column-major vec of length r*N = {r * N}, got shape {x.shape}."
        )

    def as_vector(self, X: Codes) -> Float[Array, " _length"]:
        r"""$\operatorname{vec}(X)$, columns stacked (a `(r, N)` codes matrix or a
        `(m, N)` signals matrix); a flat vector is returned unchanged."""
        X = jnp.asarray(X)
        return X if X.ndim == 1 else X.T.reshape(-1)

    def _residual(self, x: Codes) -> Float[Array, "m N"]:
        return self.D @ self.as_matrix(x) - self.Y

    def loss(self, x: Codes) -> Scalar:
        r"""$\tfrac{s}{2}\|DX - Y\|_F^2$ at the codes (matrix or vec)."""
        res = self._residual(x)
        return 0.5 * self.scale * jnp.sum(res * res)

    def grad(self, x: Codes) -> Float[Array, "..."]:
        r"""$sD^\top(DX - Y)$, in the shape of `x` (matrix or vec)."""
        g = self.scale * (self.D.T @ self._residual(x))
        return g if jnp.ndim(x) == 2 else self.as_vector(g)

    def outer_grad(self, r: Float[Array, " n"]) -> Float[Array, " n"]:
        r"""$\nabla L(r) = s(r - b)$ at the outputs $r = A\operatorname{vec}(X)$."""
        return self.scale * (r - self.b)

    def outer_loss(self, r: Float[Array, " n"]) -> Scalar:
        r"""$L(r) = \tfrac{s}{2}\|r - b\|_2^2$ at the outputs $r$."""
        res = r - self.b
        return 0.5 * self.scale * jnp.vdot(res, res)


def _count(value, name: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"random_sparse_coding: `{name}` must be a positive int, got {value!r}; "
            f"{fix}"
        )
    return int(value)


def random_sparse_coding(
    m: int, r: int, N: int, k: int, seed: int, *, mean: bool = True
) -> SparseCoding:
    r"""A seeded sparse-coding instance with `k`-sparse planted codes.

    Drawn from `rng = numpy.random.default_rng(seed)` in this order:

    1. the dictionary `D = rng.standard_normal((m, r)) / sqrt(m)` (entries
       $\mathcal{N}(0, 1/m)$, so atoms have norm about 1);
    2. the supports, one call per signal in signal order:
       `rng.choice(r, k, replace=False)` for $j = 0, \dots, N-1$;
    3. the magnitudes `rng.uniform(0.5, 1.5, (N, k))` (row $j$ for signal $j$);
    4. the signs `rng.choice([-1, 1], (N, k))`;

    then `X_star[support_j, j] = magnitudes[j] * signs[j]` and `Y = D @ X_star`
    (noiseless). The sparse-coding experiment of Mirror, Mirror of the Flow (Jacobs,
    Zhou & Burkholz 2025) uses $m = 20$, $r = 40$, $N = 200$, $k = 3$.

    Args:
        m: signal dimension.
        r: number of atoms ($r > m$ makes the codes underdetermined).
        N: number of signals.
        k: nonzeros per code, $1 \le k \le r$.
        seed: a non-negative int.
        mean: the loss normalization of `SparseCoding` ($s = 1/N$ by default).

    Raises:
        ValueError: a size is not a positive int, `seed` is negative, or $k > r$.
    """
    m = _count(m, "m", "pass the signal dimension (rows of D).")
    r = _count(r, "r", "pass the number of atoms (columns of D).")
    N = _count(N, "N", "pass the number of signals, N >= 1.")
    k = _count(k, "k", "pass the number of nonzeros per code, 1 <= k <= r.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(
            f"random_sparse_coding: `seed` must be a non-negative int, got {seed!r}."
        )
    if k > r:
        raise ValueError(
            f"random_sparse_coding: `k` (nonzeros per code) must be <= r = {r} atoms, "
            f"got k = {k}; lower k or add atoms."
        )
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, r)) / math.sqrt(m)
    supports = [rng.choice(r, k, replace=False) for _ in range(N)]
    magnitudes = rng.uniform(0.5, 1.5, (N, k))
    signs = rng.choice([-1, 1], (N, k))
    X_star = np.zeros((r, N))
    for j, support in enumerate(supports):
        X_star[support, j] = magnitudes[j] * signs[j]
    return SparseCoding(D, D @ X_star, X_star, mean=mean)
