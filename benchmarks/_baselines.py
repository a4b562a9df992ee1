"""Hand-written numpy baselines the benchmarks time against (independent code)."""

import numpy as np


def numpy_hypentropy_newton(A, b, c, *, tol=1e-12, max_iter=500):
    """Damped Newton on the dual of argmin_{Ax=b} sum c-hypentropy(x), in numpy.

    x = c sinh(A^T nu), Phi(nu) = sum c cosh(A^T nu) - b^T nu (the 1/4 factor of
    R_alpha only rescales nu). Armijo backtracking (c1 = 1e-4) with log-domain
    cosh; stops at ||A x - b|| <= tol max(1, ||b||). Plain Newton from nu = 0, as
    a user would write it (no continuation, unlike `predict`).
    """
    n = A.shape[0]
    nu = np.zeros(n)
    logc = np.log(c)

    def phi(nu):
        z = A.T @ nu
        az = np.abs(z)
        return np.sum(0.5 * np.exp(az + logc) * (1 + np.exp(-2 * az))) - b @ nu

    stop = tol * max(1.0, np.linalg.norm(b))
    f = phi(nu)
    for it in range(max_iter):
        z = A.T @ nu
        az = np.abs(z)
        e = np.exp(az + logc)
        x = np.sign(z) * 0.5 * e * (-np.expm1(-2 * az))
        h = 0.5 * e * (1 + np.exp(-2 * az))
        g = A @ x - b
        if np.linalg.norm(g) <= stop:
            return x, it
        H = (A * h) @ A.T
        step = -np.linalg.solve(H, g)
        slope = g @ step
        t = 1.0
        while t > 1e-12:
            f_t = phi(nu + t * step)
            if np.isfinite(f_t) and (
                f_t <= f + 1e-4 * t * slope or -slope < 1e-12 * abs(f)
            ):
                break
            t *= 0.5
        nu = nu + t * step
        f = f_t
    return x, max_iter
