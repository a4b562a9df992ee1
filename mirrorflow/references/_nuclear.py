r"""Minimum nuclear norm interpolation, a convex program solved with cvxpy.

The $\alpha\to0$ limit that Gunasekar et al. (2017) conjecture for gradient flow on
$X = UU^\top$ from $U_0 = \alpha I$, proven there for commuting measurements (Thm 1).
cvxpy is imported only when the referee is called.
"""

import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..problems import require_linear
from ._prediction import Prediction


_THEOREM = (
    "minimum nuclear norm interpolant argmin_{A(X)=y} ||X||_* (convex program, "
    "cvxpy); the alpha -> 0 limit of gradient flow on X = U U^T for commuting "
    "measurements (Gunasekar et al. 2017, Thm 1)"
)
_THEOREM_PSD = (
    "minimum trace PSD interpolant argmin_{A(X)=y, X >= 0} tr X (convex program, "
    "cvxpy); the alpha -> 0 limit of gradient flow on X = U U^T from U0 = alpha I "
    "for commuting measurements (Gunasekar et al. 2017, Thm 1)"
)
_GAP = "duality gap ||X||_* - y^T nu (nu scaled dual feasible)"
_GAP_PSD = "duality gap tr X - y^T nu (nu scaled dual feasible)"


def _import_cvxpy():
    try:
        import cvxpy
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "min_nuclear_norm needs cvxpy, which is not installed: "
            "`python -m pip install cvxpy` (it comes with the `test` extra, "
            '`python -m pip install -e ".[test]"`).'
        ) from err
    return cvxpy


def min_nuclear_norm(
    problem,
    *,
    psd: bool = False,
    solver: str | None = None,
    tol: float = 1e-7,
) -> Prediction:
    r"""The minimum nuclear norm interpolant of a matrix-sensing problem.

    $$X^\star = \arg\min_X \|X\|_* \quad\text{s.t.}\quad
    \langle A_i, X\rangle = y_i,\ i = 1..n,$$

    or, with `psd=True`, the minimum-trace positive semidefinite interpolant
    $\arg\min\{\mathrm{tr}\,X : \mathcal{A}(X) = y,\ X \succeq 0\}$ (the same
    program restricted to PSD $X$, where $\|X\|_* = \mathrm{tr}\,X$): the
    comparison for gradient flow on $X = UU^\top$, whose iterates are PSD.
    Solved as a conic program by cvxpy (Clarabel, an interior-point solver, by
    default). Redundant measurements (rank of the design below $n$, e.g.
    commuting ones with $n > m$) are allowed: the constraints are imposed on an
    orthonormal basis of the design's row space.

    **Certificate.** From the solver's primal point $\hat X$ and the multipliers
    $\hat\nu$ of the constraints $\mathcal{A}(X) = y$ (sign flipped from cvxpy's
    Lagrangian $f + \nu^\top(\mathcal{A}(X) - y)$, so that
    $\mathcal{A}^*\hat\nu \in \partial\|\hat X\|_*$): the dual program is
    $\max_\nu y^\top\nu$ s.t. $\|\mathcal{A}^*\nu\|_{\mathrm{op}} \le 1$ (PSD:
    $\lambda_{\max}(\mathcal{A}^*\nu) \le 1$, with the symmetric part of
    $\mathcal{A}^*\nu$). $\hat\nu$ is scaled by $1/\max(1,
    \|\mathcal{A}^*\hat\nu\|_{\mathrm{op}})$ (resp. $1/\max(1, \lambda_{\max})$) to
    be exactly dual feasible, so $D = y^\top\nu$ is a lower bound of the optimum
    by weak duality ($y^\top\nu = \langle\mathcal{A}^*\nu, X\rangle \le
    \|\mathcal{A}^*\nu\|_{\mathrm{op}}\|X\|_*$), and the certificate is
    $|P - D|$ with $P = \|\hat X\|_*$ (numpy SVD; resp. $\mathrm{tr}\,\hat X$):
    it bounds $P - \mathrm{OPT}$ up to the constraint residual, which is checked
    too.

    Args:
        problem: a matrix-sensing problem (`MatrixSensing`: a loss linear in
            $\mathrm{vec}(X)$ with a `matrix_shape`).
        psd: minimize the trace over PSD matrices (needs square matrices).
        solver: a cvxpy solver name (default `"CLARABEL"`; `"SCS"` is less
            accurate).
        tol: accept the solution if the gap is at most `tol`$\cdot\max(1, P)$ and
            $\|\mathcal{A}(\hat X) - y\|_2 \le$ `tol`$\cdot\max(1, \|y\|_2)$.

    Returns:
        A `Prediction`: `x` $= \mathrm{vec}(\hat X)$ (row-major, shape `(m*p,)`,
        as in `MatrixSensing`), the `theorem`, the duality gap as `certificate`,
        the solver's `iterations` and `nu` $= \hat\nu$ (unscaled), shape `(n,)`.

    Raises:
        ImportError: cvxpy is not installed.
        ValueError: not a matrix problem, `psd` with non-square matrices, or the
            solver fails or misses `tol`.
    """
    problem = require_linear(problem, "min_nuclear_norm")
    shape = getattr(problem, "matrix_shape", None)
    if shape is None:
        raise ValueError(
            "min_nuclear_norm: `problem` must be a matrix problem with a "
            f"`matrix_shape` (a MatrixSensing), got {type(problem).__name__}; "
            "for vectors use min_l1_interpolant or min_l2_interpolant."
        )
    m, p = shape
    if psd and m != p:
        raise ValueError(
            f"min_nuclear_norm: `psd=True` needs square matrices, got shape {shape}; "
            "pass psd=False."
        )
    tol = _validate.scalar(tol, "min_nuclear_norm", "tol", low=0.0, example="1e-7")
    cp = _import_cvxpy()
    A = np.asarray(problem.A, dtype=np.float64)
    y = np.asarray(problem.b, dtype=np.float64)
    if psd:
        X = cp.Variable((m, m), PSD=True)
        objective = cp.trace(X)
    else:
        X = cp.Variable((m, p))
        objective = cp.normNuc(X)
    # Redundant measurements (rank A < n, e.g. commuting ones with n > m) make the
    # equality constraints rank deficient, which interior-point solvers reject:
    # constrain the equivalent orthonormal rows W^T vec(X) = S^{-1} U^T y instead
    # (A = U S W^T, thin SVD, numerical rank), and map the multipliers back.
    left, sing, right_t = np.linalg.svd(A, full_matrices=False)
    keep = sing > max(A.shape) * np.finfo(np.float64).eps * sing[0]
    left, sing, right_t = left[:, keep], sing[keep], right_t[keep]
    constraint = right_t @ cp.vec(X, order="C") == (left.T @ y) / sing
    program = cp.Problem(cp.Minimize(objective), [constraint])
    name = "CLARABEL" if solver is None else solver
    try:
        program.solve(solver=name)
    except cp.error.SolverError as err:
        raise ValueError(
            f"min_nuclear_norm: cvxpy solver {name!r} failed ({err}); try another "
            f"`solver`, e.g. {'SCS' if name == 'CLARABEL' else 'CLARABEL'!r}."
        ) from err
    if program.status != cp.OPTIMAL:
        raise ValueError(
            f"min_nuclear_norm: cvxpy returned status {program.status!r} (solver "
            f"{name!r}); check that the measurements are consistent (some X has "
            "A(X) = y), or try another `solver`."
        )
    X_hat = np.asarray(X.value, dtype=np.float64)
    nu_reduced = -np.asarray(constraint.dual_value, dtype=np.float64).reshape(-1)
    nu = left @ (nu_reduced / sing)  # A^T nu = W nu_reduced
    M = (nu @ A).reshape(m, p)
    if psd:
        primal = float(np.trace(X_hat))
        bound = float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])
    else:
        primal = float(np.linalg.svd(X_hat, compute_uv=False).sum())
        bound = float(np.linalg.norm(M, 2))
    dual = float(y @ nu) / max(1.0, bound)
    gap = abs(primal - dual)
    residual = float(np.linalg.norm(A @ X_hat.reshape(-1) - y))
    if gap > tol * max(1.0, primal) or residual > tol * max(1.0, np.linalg.norm(y)):
        raise ValueError(
            f"min_nuclear_norm: solver {name!r} reached duality gap {gap:.2e} and "
            f"constraint residual {residual:.2e}, above `tol`={tol:g} (relative); "
            "use solver='CLARABEL' or raise `tol`."
        )
    return Prediction(
        x=jnp.asarray(X_hat.reshape(-1)),
        theorem=_THEOREM_PSD if psd else _THEOREM,
        certificate=gap,
        certificate_name=_GAP_PSD if psd else _GAP,
        iterations=int(program.solver_stats.num_iters or 0),
        nu=jnp.asarray(nu),
    )
