r"""Spectral measures of a matrix: nuclear norm, its ratio to Frobenius, effective rank,
and the spectral metrics of a kernel Gram matrix (`kernel_spectrum`).

Plain functions of the singular values $\sigma_1 \ge \dots \ge \sigma_k \ge 0$
($k = \min(m, p)$) of a 2-d array $X$. A numpy array (or a nested list) is computed
with numpy and gives a numpy scalar; a JAX array is computed with `jax.numpy`
(works under `jit`) and gives a 0-d JAX array. Both keep the input's floating
dtype (float32 or float64; integers become float64 in numpy, JAX's default float
in JAX). The zero matrix has the defined values 0 (it has rank 0), never NaN.
"""

from typing import NamedTuple

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


# --- the spectrum of a kernel Gram matrix ------------------------------------------


class KernelSpectrum(NamedTuple):
    r"""Spectral metrics of a positive semi-definite Gram matrix (`kernel_spectrum`).

    Attributes:
        decay: $\alpha$ of the fit $\log\lambda_k = -\alpha\log k + b$.
        decay_stderr: the fit's standard error of $\alpha$.
        fit_range: `(1, k_max)`, the eigenvalue indices the fit used.
        trace_rank: $\mathrm{tr}\,\Theta/\lambda_1$.
        gap: $\lambda_1/\lambda_2$.
        top_energy: $\sum_{i\le m}\lambda_i/\sum_j\lambda_j$ ($m$ = `top`).
    """

    decay: float
    decay_stderr: float
    fit_range: tuple[int, int]
    trace_rank: float
    gap: float
    top_energy: float


def kernel_eigenvalues(G: Float[ArrayLike, "..."]) -> np.ndarray:
    """Eigenvalues of a symmetric Gram matrix, descending (float64 numpy).

    Raises:
        ValueError: `G` is not square, not symmetric (to 1e-8 relative), or not
            finite.
    """
    G = np.asarray(G, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] < 2:
        raise ValueError(
            f"kernel_eigenvalues: `G` must be a square Gram matrix of size >= 2, got "
            f"shape {G.shape}."
        )
    if not np.all(np.isfinite(G)):
        raise ValueError("kernel_eigenvalues: `G` has non-finite entries.")
    scale = max(np.abs(G).max(), np.finfo(np.float64).tiny)
    if np.abs(G - G.T).max() > 1e-8 * scale:
        raise ValueError(
            "kernel_eigenvalues: `G` is not symmetric; pass a Gram matrix "
            "(symmetrize with (G + G.T) / 2 if the asymmetry is round-off)."
        )
    return np.linalg.eigvalsh(0.5 * (G + G.T))[::-1]


def kernel_spectrum(
    G: Float[ArrayLike, "..."], *, top: int = 5, floor: float = 1e-10
) -> KernelSpectrum:
    r"""Decay exponent, trace rank, spectral gap and top energy of a Gram matrix.

    The metrics of the Graphon Limit Hypothesis paper's spectral study (Pham et al.
    2025, Sec. 6): with eigenvalues $\lambda_1\ge\lambda_2\ge\dots$,

    - decay $\alpha$: least squares of $\log\lambda_k = -\alpha\log k + b$ (natural
      logs) over $k = 1, \dots, k_{\max}$, the eigenvalues above
      `floor` $\cdot\lambda_1$ (all of them for a well-conditioned kernel; the floor
      drops round-off eigenvalues, which are not part of the spectrum's shape, and
      is relative, so the metric stays scale-free);
    - trace rank $\mathrm{tr}\,\Theta/\lambda_1$ (the paper's "effective rank"; not
      Roy & Vetterli's `effective_rank`);
    - gap $\lambda_1/\lambda_2$;
    - top energy $\sum_{i\le 5}\lambda_i/\sum_j\lambda_j$.

    All four are invariant under $\Theta\mapsto c\,\Theta$, $c > 0$.

    Args:
        G: a symmetric positive semi-definite Gram matrix, shape `(P, P)`, P >= 2.
        top: the number of leading eigenvalues in the top energy (default 5).
        floor: relative floor of the eigenvalues used in the decay fit.

    Returns:
        A `KernelSpectrum`.

    Raises:
        ValueError: a bad `G` (see `kernel_eigenvalues`), $\lambda_1 \le 0$, `top`
            not in $[1, P]$, or fewer than 3 eigenvalues above the floor.
    """
    lam = kernel_eigenvalues(G)
    if not lam[0] > 0:
        raise ValueError(
            "kernel_spectrum: the largest eigenvalue of `G` is not positive; pass a "
            "nonzero positive semi-definite Gram matrix."
        )
    if not (isinstance(top, int) and 1 <= top <= lam.size):
        raise ValueError(
            f"kernel_spectrum: `top` must be in [1, {lam.size}], got {top!r}."
        )
    kept = lam[lam > floor * lam[0]]
    if kept.size < 3:
        raise ValueError(
            f"kernel_spectrum: only {kept.size} eigenvalues above `floor`={floor:g} "
            "times the largest; lower `floor` or pass a better-conditioned kernel."
        )
    k = np.arange(1, kept.size + 1, dtype=np.float64)
    A = np.stack([-np.log(k), np.ones_like(k)], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, np.log(kept), rcond=None)
    dof = max(kept.size - 2, 1)
    resid = np.log(kept) - A @ coef
    cov = (resid @ resid / dof) * np.linalg.inv(A.T @ A)
    total = lam.sum()
    return KernelSpectrum(
        decay=float(coef[0]),
        decay_stderr=float(np.sqrt(cov[0, 0])),
        fit_range=(1, int(kept.size)),
        trace_rank=float(total / lam[0]),
        gap=float(lam[0] / lam[1]) if lam[1] > 0 else float("inf"),
        top_energy=float(lam[:top].sum() / total),
    )
