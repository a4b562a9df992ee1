r"""Spectral measures of a matrix: nuclear norm, its ratio to Frobenius, effective rank.

Plain functions of the singular values $\sigma_1 \ge \dots \ge \sigma_k \ge 0$
($k = \min(m, p)$) of a 2-d array $X$. A numpy array (or a nested list) is computed
with numpy and gives a numpy scalar; a JAX array is computed with `jax.numpy`
(works under `jit`) and gives a 0-d JAX array. Both keep the input's floating
dtype (float32 or float64; integers become float64 in numpy, JAX's default float
in JAX). The zero matrix has the defined values 0 (it has rank 0), never NaN.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float


def _singular_values(X, who: str):
    """`(xp, sigma)`: the array module for `X` and its singular values."""
    if isinstance(X, jax.Array):
        xp = jnp
        if not jnp.issubdtype(X.dtype, jnp.floating):
            X = X.astype(jnp.result_type(float))
    else:
        xp = np
        X = np.asarray(X)
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"{who}: `X` must be a 2-d array (a matrix), got shape {X.shape}; "
            "reshape a vectorized matrix with X.reshape(m, p)."
        )
    return xp, xp.linalg.svd(X, compute_uv=False)


def _scalar(xp, value):
    """A numpy scalar from numpy (not a 0-d array), a 0-d array from JAX."""
    return value[()] if xp is np else value


def nuclear_norm(X: Float[ArrayLike, "..."]) -> Float[ArrayLike, ""]:
    r"""The nuclear (trace) norm $\|X\|_* = \sum_j\sigma_j(X)$.

    Args:
        X: a matrix, shape `(m, p)`.

    Returns:
        $\|X\|_*$ (0 for $X = 0$).

    Raises:
        ValueError: `X` is not 2-d.
    """
    xp, s = _singular_values(X, "nuclear_norm")
    return _scalar(xp, s.sum())


def nuclear_to_frobenius(X: Float[ArrayLike, "..."]) -> Float[ArrayLike, ""]:
    r"""The ratio $\|X\|_*/\|X\|_F = \sum_j\sigma_j/\sqrt{\sum_j\sigma_j^2}$.

    A scale-free proxy for the rank: $1 \le \|X\|_*/\|X\|_F \le
    \sqrt{\mathrm{rank}\,X}$, equal to 1 exactly for rank one and to $\sqrt{k}$
    when all $k$ singular values are equal (e.g. $X = I_k$). Defined as 0 at
    $X = 0$ (rank 0).

    Args:
        X: a matrix, shape `(m, p)`.

    Returns:
        $\|X\|_*/\|X\|_F$, or 0 for $X = 0$.

    Raises:
        ValueError: `X` is not 2-d.
    """
    xp, s = _singular_values(X, "nuclear_to_frobenius")
    fro = xp.sqrt(xp.sum(s * s))
    safe = xp.where(fro > 0, fro, xp.ones_like(fro))
    return _scalar(xp, xp.where(fro > 0, s.sum() / safe, xp.zeros_like(fro)))


def effective_rank(X: Float[ArrayLike, "..."]) -> Float[ArrayLike, ""]:
    r"""The effective rank $\exp H(q)$ of Roy & Vetterli (2007).

    $q_j = \sigma_j/\sum_l\sigma_l$ (the normalized singular values, a probability
    vector) and $H(q) = -\sum_j q_j\log q_j$ its Shannon entropy (natural log,
    $0\log 0 = 0$). $1 \le \mathrm{erank}(X) \le \mathrm{rank}(X)$, with equality
    on the left exactly for rank one and on the right exactly when the nonzero
    singular values are equal ($\mathrm{erank}(I_k) = k$). Defined as 0 at $X = 0$
    (rank 0).

    Args:
        X: a matrix, shape `(m, p)`.

    Returns:
        $\exp\big(-\sum_j q_j\log q_j\big)$, or 0 for $X = 0$.

    Raises:
        ValueError: `X` is not 2-d.

    References:
        O. Roy and M. Vetterli, "The effective rank: a measure of effective
        dimensionality", EUSIPCO 2007.
    """
    xp, s = _singular_values(X, "effective_rank")
    total = s.sum()
    nonzero = total > 0
    q = s / xp.where(nonzero, total, xp.ones_like(total))
    logq = xp.log(xp.where(q > 0, q, xp.ones_like(q)))  # 0 log 0 = 0
    entropy = -xp.sum(q * logq)
    return _scalar(xp, xp.where(nonzero, xp.exp(entropy), xp.zeros_like(total)))
