r"""The lasso by cyclic coordinate descent, with a KKT certificate.

The limit of constant weight decay on $x = m\odot w$ (our derivation: constant decay
is outside the theorems of Mask in the Mirror and Mirror, Mirror; $\mu$ depends on the
weight-decay convention, see docs/theory/conventions.md). Written in numpy,
independent of the flow and Newton code: it is the oracle the flows are checked
against.
"""

import math

import jax.numpy as jnp
import numpy as np

from .. import _validate
from ._interpolants import _check_system
from ._prediction import Prediction


_THEOREM = (
    "lasso argmin s/2 ||Ax - b||^2 + mu ||x||_1: subgradient optimality (KKT) "
    "conditions certified"
)


def _kkt(A, b, x, mu, scale):
    g = scale * (A.T @ (A @ x - b))
    on = x != 0
    viol_on = np.abs(g[on] + mu * np.sign(x[on]))
    viol_off = np.maximum(np.abs(g[~on]) - mu, 0.0)
    return float(max(viol_on.max(initial=0.0), viol_off.max(initial=0.0)))


def _polish(A, b, x, mu, scale):
    """Solve the stationarity equations on the support with the found signs."""
    support = np.flatnonzero(x)
    if support.size == 0:
        return x
    As = A[:, support]
    gram = As.T @ As
    rhs = As.T @ b - (mu / scale) * np.sign(x[support])
    try:
        xs = np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        return x
    if not np.all(np.sign(xs) == np.sign(x[support])):
        return x
    out = np.zeros_like(x)
    out[support] = xs
    return out


def lasso(
    A,
    b,
    mu: float,
    *,
    scale: float = 1.0,
    tol: float = 1e-15,
    kkt_tol: float = 1e-12,
    max_sweeps: int = 200_000,
) -> Prediction:
    r"""The lasso $\arg\min_x \tfrac{s}{2}\|Ax - b\|_2^2 + \mu\|x\|_1$.

    Cyclic coordinate descent with soft thresholding,
    $x_j \leftarrow S_{\mu/(s\|a_j\|^2)}\big(x_j - \partial_jf/(s\|a_j\|^2)\big)$, until
    a sweep changes no coordinate by more than `tol`; then the stationarity equations
    $sA_S^\top(A_Sx_S - b) + \mu\,\mathrm{sign}(x_S) = 0$ on the found support $S$ are
    solved exactly (kept only if the signs agree), and the KKT conditions are
    certified: $|\partial_if + \mu\,\mathrm{sign}\,x_i| \le$ `kkt_tol` on the support,
    $|\partial_if| \le \mu + $ `kkt_tol` off it (the lasso's subgradient optimality
    conditions).

    Args:
        A: shape `(n, d)`.
        b: shape `(n,)`.
        mu: $\mu \ge 0$.
        scale: $s > 0$ (1, or $1/n$ for the mean-squared loss).
        tol: coordinate-change tolerance of a sweep.
        kkt_tol: the certificate's tolerance.
        max_sweeps: sweep budget.

    Returns:
        A `Prediction` with `certificate` the KKT violation
        $\max_i$ of $|\partial_if + \mu\,\mathrm{sign}\,x_i|$ on the support and
        $(|\partial_if| - \mu)_+$ off it (0 at the exact optimum), `iterations` the
        sweeps, and no multiplier.

    Raises:
        ValueError: bad shapes, `mu` < 0, or no KKT certificate within the budget.
    """
    A, b = _check_system(A, b, "lasso")
    mu = _validate.scalar(mu, "lasso", "mu", low=0.0, strict=False, example="0.1")
    scale = _validate.scalar(scale, "lasso", "scale", low=0.0, example="1.0")
    tol = _validate.scalar(tol, "lasso", "tol", low=0.0, strict=False)
    kkt_tol = _validate.scalar(kkt_tol, "lasso", "kkt_tol", low=0.0)
    max_sweeps = _validate.integer(max_sweeps, "lasso", "max_sweeps", example=10_000)
    d = A.shape[1]
    col_sq = scale * np.sum(A**2, axis=0)
    if np.any(col_sq == 0):
        raise ValueError("lasso: `A` has a zero column; drop it.")
    x = np.zeros(d)
    r = A @ x - b
    sweeps = 0
    viol = math.inf
    while sweeps < max_sweeps:
        sweeps += 1
        change = 0.0
        for j in range(d):
            g = scale * (A[:, j] @ r)
            z = x[j] - g / col_sq[j]
            new = np.sign(z) * max(abs(z) - mu / col_sq[j], 0.0)
            delta = new - x[j]
            if delta != 0.0:
                r += delta * A[:, j]
                x[j] = new
                change = max(change, abs(delta))
        if change <= tol or sweeps % 50 == 0:
            candidate = _polish(A, b, x, mu, scale)
            viol = _kkt(A, b, candidate, mu, scale)
            if viol <= kkt_tol:
                x = candidate
                break
            if change <= tol:
                break
    if not viol <= kkt_tol:  # also a NaN violation: never certified
        raise ValueError(
            f"lasso: no KKT certificate after {sweeps} sweeps (violation {viol:.2e} > "
            f"`kkt_tol`={kkt_tol:g}); raise `max_sweeps` or `kkt_tol`."
        )
    return Prediction(
        x=jnp.asarray(x),
        theorem=_THEOREM,
        certificate=viol,
        certificate_name="KKT violation",
        iterations=sweeps,
    )
