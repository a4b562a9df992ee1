r"""Matrix sensing: least squares on measurements $y_i = \langle A_i, X\rangle$."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array
from .._types import Scalar
from ._base import AbstractLinearProblem


class MatrixSensing(AbstractLinearProblem):
    r"""Matrix sensing $f(X) = \tfrac{s}{2}\sum_{i=1}^n(\langle A_i, X\rangle - y_i)^2$.

    Measurement matrices $A_i\in\mathbb{R}^{m\times p}$, targets $y\in\mathbb{R}^n$,
    $\langle A_i, X\rangle = \mathrm{tr}(A_i^\top X)$. The loss is linear in
    $x = \mathrm{vec}(X)$ (row-major, `X.reshape(-1)`, length $d = mp$): it is the
    `AbstractLinearProblem` with design `A` of shape `(n, m*p)`, whose row $i$ is
    `A_i.reshape(-1)`, and targets `b` $= y$. So every flow, `predict` and the
    reduced $\lambda$-flow work on it unchanged, and
    `MatrixFactorization().to_x` returns the same coordinates.

    `loss` and `grad` accept either the matrix $X$ (shape `(m, p)`) or the vector
    $x$ (shape `(m*p,)`); `grad` returns
    $\nabla f = s\sum_i(\langle A_i, X\rangle - y_i)A_i$ in the shape it was given.
    $s = 1$ by default, $s = 1/n$ with `mean=True`, as for `LinearRegression`.

    With `symmetric=True` the problem lives on symmetric $m\times m$ matrices (the
    measurements must be symmetric): the setting of $X = UU^\top$ and of the PSD
    program of `mirrorflow.references.min_nuclear_norm`.

    Args:
        measurements: the $A_i$, shape `(n, m, p)`.
        b: the targets $y$, shape `(n,)`.
        X_star: optional planted solution (`<A_i, X_star> == b_i`), shape
            `(m, p)`.
        mean: use $s = 1/n$ instead of $s = 1$.
        symmetric: the measurements are symmetric ($A_i = A_i^\top$, $m = p$).

    References:
        Recht, Fazel, Parrilo, "Guaranteed minimum-rank solutions of linear matrix
        equations via nuclear norm minimization", SIAM Review 2010. Gunasekar et
        al., "Implicit regularization in matrix factorization", NeurIPS 2017.
    """

    A: Float[Array, "n d"]
    b: Float[Array, " n"]
    X_star: Float[Array, "m p"] | None
    scale: float = eqx.field(static=True)
    matrix_shape: tuple[int, int] = eqx.field(static=True)
    symmetric: bool = eqx.field(static=True)

    def __init__(
        self,
        measurements: ArrayLike,
        b: ArrayLike,
        X_star: ArrayLike | None = None,
        *,
        mean: bool = False,
        symmetric: bool = False,
    ):
        meas = as_float_array(measurements, "measurements", ndim=3)
        b = as_float_array(b, "b", ndim=1)
        n, m, p = meas.shape
        if n == 0 or m == 0 or p == 0:
            raise ValueError(
                "MatrixSensing: `measurements` must have shape (n, m, p) with n, m, "
                f"p >= 1, got {meas.shape}."
            )
        if b.shape[0] != n:
            raise ValueError(
                "MatrixSensing: `b` must have one entry per measurement: "
                f"`measurements` has shape {meas.shape}, `b` has shape {b.shape}."
            )
        if symmetric:
            if m != p:
                raise ValueError(
                    "MatrixSensing: `symmetric=True` needs square measurements "
                    f"(m == p), got shape {meas.shape}; pass symmetric=False."
                )
            asym = np.max(np.abs(np.asarray(meas - jnp.swapaxes(meas, 1, 2))))
            if asym > 1e-12 * max(1.0, float(np.max(np.abs(np.asarray(meas))))):
                raise ValueError(
                    "MatrixSensing: `symmetric=True` needs symmetric `measurements` "
                    f"(A_i == A_i^T), max |A_i - A_i^T| = {asym:.3g}; symmetrize "
                    "them, (A_i + A_i^T) / 2 measures a symmetric X the same."
                )
        if X_star is not None:
            X_star = as_float_array(X_star, "X_star", ndim=2)
            if X_star.shape != (m, p):
                raise ValueError(
                    f"MatrixSensing: `X_star` must have shape ({m}, {p}), got "
                    f"{X_star.shape}."
                )
        self.A = meas.reshape(n, m * p)
        self.b = b
        self.X_star = X_star
        self.scale = 1.0 / n if mean else 1.0
        self.matrix_shape = (m, p)
        self.symmetric = bool(symmetric)

    @property
    def measurements(self) -> Float[Array, "n m p"]:
        """The measurement matrices $A_i$, shape `(n, m, p)`."""
        return self.A.reshape(self.A.shape[0], *self.matrix_shape)

    @property
    def x_star(self) -> Float[Array, " d"] | None:
        r"""$\mathrm{vec}(X^\star)$ (row-major), or `None` without a planted one."""
        return None if self.X_star is None else self.X_star.reshape(-1)

    def to_matrix(self, x: Float[ArrayLike, "..."]) -> Float[Array, "m p"]:
        r"""$X$ from $x = \mathrm{vec}(X)$ (a matrix is returned as it is)."""
        return self._flat(x, "to_matrix").reshape(self.matrix_shape)

    def _flat(self, x, who: str) -> Array:
        x = jnp.asarray(x)
        m, p = self.matrix_shape
        if x.shape not in ((m, p), (m * p,)):
            raise ValueError(
                f"MatrixSensing.{who}: `x` must be the matrix X of shape ({m}, {p}) "
                f"or its row-major flattening of shape ({m * p},), got {x.shape}."
            )
        return x.reshape(-1)

    def loss(self, x: Float[ArrayLike, "..."]) -> Scalar:
        r"""$\tfrac{s}{2}\|\mathcal{A}(X) - y\|_2^2$ for $X$ or $\mathrm{vec}(X)$."""
        r = self.A @ self._flat(x, "loss") - self.b
        return 0.5 * self.scale * jnp.vdot(r, r)

    def grad(self, x: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
        r"""$s\,\mathcal{A}^*(\mathcal{A}(X) - y)$, in the shape of `x`."""
        r = self.A @ self._flat(x, "grad") - self.b
        return (self.scale * (r @ self.A)).reshape(jnp.shape(x))

    def outer_grad(self, r: Float[Array, " n"]) -> Float[Array, " n"]:
        r"""$\nabla L(r) = s(r - y)$ for $f(X) = L(\mathcal{A}(X))$."""
        return self.scale * (r - self.b)

    def outer_loss(self, r: Float[Array, " n"]) -> Scalar:
        r"""$L(r) = \tfrac{s}{2}\|r - y\|_2^2$ at the outputs $r$."""
        res = r - self.b
        return 0.5 * self.scale * jnp.vdot(res, res)


def _check_int(name: str, val, low: int) -> None:
    if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < low:
        raise ValueError(
            f"random_sensing: `{name}` must be an int >= {low}, got {val!r}."
        )


def _orthonormal(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    """An `(m, k)` matrix with orthonormal columns (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((m, k)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def random_sensing(
    m: int,
    p: int,
    n: int,
    seed: int,
    *,
    rank: int = 1,
    symmetric: bool = False,
    commuting: bool = False,
    mean: bool = False,
) -> MatrixSensing:
    r"""A seeded matrix-sensing instance with a planted rank-`rank` $X^\star$.

    Drawn from `numpy.random.default_rng(seed)`, in this order:

    - **Gaussian** (default): $A_i$ with i.i.d. $N(0, 1/n)$ entries, shape
      `(n, m, p)`; with `symmetric`, $(A_i + A_i^\top)/2$. Then
      $X^\star = LR^\top$, $L\in\mathbb{R}^{m\times r}$ with i.i.d. $N(0, 1/m)$
      entries and $R\in\mathbb{R}^{p\times r}$ with $N(0, 1/p)$ entries; with
      `symmetric`, $X^\star = LL^\top$ (positive semidefinite).
    - **Commuting** (`commuting=True`, the diagonal case): orthonormal bases
      $P\in\mathbb{R}^{m\times k}$, $Q\in\mathbb{R}^{p\times k}$, $k = \min(m, p)$
      (QR of Gaussians; $Q = P$ when `symmetric`), then
      $A_i = P\,\mathrm{diag}(a_i)Q^\top$ with $a_i$ i.i.d. $N(0, 1/n)$, and
      $X^\star = P\,\mathrm{diag}(\sigma^\star)Q^\top$ with `rank` nonzero entries
      in $[0.5, 1.5]$ at random positions. Symmetric commuting measurements
      $P\,\mathrm{diag}(a_i)P^\top$ commute with each other; in the basis $P$ the
      problem is `LinearRegression(a, y)` on the eigenvalues.

    Finally $y_i = \langle A_i, X^\star\rangle$.

    Args:
        m, p: the matrix shape; `symmetric` needs `m == p`.
        n: number of measurements, `n >= 1`.
        seed: the seed, `>= 0`.
        rank: the rank of $X^\star$, `1 <= rank <= min(m, p)`.
        symmetric: symmetric measurements and a PSD $X^\star$.
        commuting: measurements diagonal in one fixed pair of orthonormal bases.
        mean: the loss scale $s = 1/n$ (`MatrixSensing(mean=True)`).

    Raises:
        ValueError: a non-positive `m`, `p`, `n` or `rank`, `rank > min(m, p)`, a
            negative `seed`, or `symmetric` with `m != p`.
    """
    for name, val, low in (("m", m, 1), ("p", p, 1), ("n", n, 1), ("seed", seed, 0)):
        _check_int(name, val, low)
    _check_int("rank", rank, 1)
    if rank > min(m, p):
        raise ValueError(
            f"random_sensing: `rank` must be <= min(m, p) = {min(m, p)}, got {rank}; "
            "lower the rank or enlarge the matrix."
        )
    if symmetric and m != p:
        raise ValueError(
            f"random_sensing: `symmetric=True` needs square matrices (m == p), got "
            f"m={m}, p={p}; pass p=m or symmetric=False."
        )
    rng = np.random.default_rng(seed)
    if commuting:
        k = min(m, p)
        P = _orthonormal(rng, m, k)
        Q = P if symmetric else _orthonormal(rng, p, k)
        a = rng.standard_normal((n, k)) / np.sqrt(n)
        meas = np.einsum("ik,ak,bk->iab", a, P, Q)
        sigma = np.zeros(k)
        sigma[rng.choice(k, rank, replace=False)] = rng.uniform(0.5, 1.5, rank)
        X_star = (P * sigma) @ Q.T
        if symmetric:  # exact symmetry (einsum rounds A_i and A_i^T differently)
            meas = 0.5 * (meas + np.swapaxes(meas, 1, 2))
            X_star = 0.5 * (X_star + X_star.T)
    else:
        meas = rng.standard_normal((n, m, p)) / np.sqrt(n)
        if symmetric:
            meas = 0.5 * (meas + np.swapaxes(meas, 1, 2))
        L = rng.standard_normal((m, rank)) / np.sqrt(m)
        R = L if symmetric else rng.standard_normal((p, rank)) / np.sqrt(p)
        X_star = L @ R.T
    y = np.einsum("iab,ab->i", meas, X_star)
    return MatrixSensing(meas, y, X_star, mean=mean, symmetric=symmetric)
