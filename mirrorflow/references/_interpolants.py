"""Minimum-norm interpolants: the alpha -> infinity and alpha -> 0 limits."""

import numpy as np
import scipy.optimize

from .. import _validate


def _check_system(A, b, call: str):
    """`(A, b)` as float64 numpy: A real, finite, (n, d); b real, finite, (n,)."""
    A = np.asarray(_validate.real_array(A, call, "A", ndim=2), dtype=float)
    b = np.asarray(_validate.real_array(b, call, "b", ndim=1), dtype=float)
    if b.shape != (A.shape[0],):
        raise ValueError(
            f"{call}: `b` must have one entry per row of `A` (shape "
            f"({A.shape[0]},)), got {b.shape}."
        )
    return A, b


def _check(A, b, call: str):
    A, b = _check_system(A, b, call)
    if A.shape[0] >= A.shape[1]:
        raise ValueError(
            f"{call}: need n < d (underdetermined), got `A` with shape {A.shape}."
        )
    return A, b


def min_l2_interpolant(A, b, x0=None) -> np.ndarray:
    r"""$x_0 + A^+(b - Ax_0)$: the point of $\{Ax = b\}$ closest to $x_0$ in L2.

    The limit of gradient flow (and of the hypentropy flow as $\alpha\to\infty$, the
    kernel regime; Gunasekar et al. 2018, Thm 1; Woodworth et al. 2020, Thm 2). Computed
    with the pseudo-inverse.
    """
    A, b = _check(A, b, "min_l2_interpolant")
    if x0 is None:
        x0 = np.zeros(A.shape[1])
    else:
        x0 = _validate.real_array(x0, "min_l2_interpolant", "x0", shape=(A.shape[1],))
        x0 = np.asarray(x0, dtype=float)
    return x0 + np.linalg.pinv(A) @ (b - A @ x0)


def min_l1_interpolant(A, b) -> np.ndarray:
    r"""$\arg\min_{Ax=b}\|x\|_1$: the $\alpha\to 0$ (rich regime) limit.

    Solved as a linear program on $x = p - q$, $p, q \ge 0$ with
    `scipy.optimize.linprog` (HiGHS, tolerances 1e-10), then polished by solving
    $A_S x_S = b$ on the found support $S$ (a vertex has $|S| \le n$), which removes
    the LP's feasibility error (Woodworth et al. 2020, Thm 2).
    """
    A, b = _check(A, b, "min_l1_interpolant")
    n, d = A.shape
    res = scipy.optimize.linprog(
        np.ones(2 * d),
        A_eq=np.hstack([A, -A]),
        b_eq=b,
        bounds=(0, None),
        method="highs",
        options={
            "primal_feasibility_tolerance": 1e-10,
            "dual_feasibility_tolerance": 1e-10,
        },
    )
    if res.status != 0:
        raise ValueError(f"min_l1_interpolant: linprog failed: {res.message}")
    x = res.x[:d] - res.x[d:]
    support = np.flatnonzero(np.abs(x) > 1e-9 * max(1.0, np.abs(x).max()))
    if 0 < support.size <= n:
        xs, *_ = np.linalg.lstsq(A[:, support], b, rcond=None)
        polished = np.zeros(d)
        polished[support] = xs
        if np.linalg.norm(A @ polished - b) <= np.linalg.norm(A @ x - b) and np.all(
            np.sign(xs) == np.sign(x[support])
        ):
            x = polished
    return x
