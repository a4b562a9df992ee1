"""The referees of `mirrorflow.references` against other independent solvers.

Oracles: cvxpy's SCS (eps 1e-12) on the lasso (skipped where cvxpy is not
installed), the lasso's KKT conditions recomputed in numpy, a second LP formulation
of basis pursuit (HiGHS interior point), and the saddle-point system of the
min-distance interpolant (numpy.linalg.solve).
"""

import ast
import pathlib

import numpy as np
import pytest
import scipy.optimize

import mirrorflow as mf
from mirrorflow import references
from mirrorflow.predictions import Prediction


ROOT = pathlib.Path(__file__).resolve().parents[1]


def _lasso_cvxpy(A, b, mu, scale):
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(A.shape[1])
    obj = 0.5 * scale * cp.sum_squares(A @ x - b) + mu * cp.norm1(x)
    problem = cp.Problem(cp.Minimize(obj))
    problem.solve(solver=cp.SCS, eps=1e-12, max_iters=200_000)
    assert problem.status == cp.OPTIMAL, problem.status
    return x.value


def _kkt_violation(A, b, x, mu, scale):
    g = scale * A.T @ (A @ x - b)
    on = x != 0
    return max(
        np.abs(g[on] + mu * np.sign(x[on])).max(initial=0.0),
        np.maximum(np.abs(g[~on]) - mu, 0.0).max(initial=0.0),
    )


@pytest.mark.parametrize("mu,mean", [(0.1, False), (0.01, False), (0.02, True)])
def test_lasso_against_cvxpy(mu, mean):
    # Oracle: cvxpy (SCS, eps 1e-12) on min s/2||Ax - b||^2 + mu||x||_1: 1e-9; the
    # KKT violation recomputed in numpy <= kkt_tol = 1e-12.
    prob = mf.random_regression(25, 7, 3, 4, mean=mean)
    A, b, s = np.asarray(prob.A), np.asarray(prob.b), prob.scale
    sol = references.lasso(A, b, mu, scale=s)
    assert isinstance(sol, Prediction) and sol.nu is None
    assert sol.certificate_name == "KKT violation" and "lasso" in sol.theorem
    assert isinstance(sol.iterations, int) and sol.iterations >= 1
    x = np.asarray(sol.x)
    assert sol.certificate <= 1e-12 and _kkt_violation(A, b, x, mu, s) <= 1e-12
    np.testing.assert_allclose(x, _lasso_cvxpy(A, b, mu, s), atol=1e-9)


def test_lasso_is_zero_above_the_critical_weight():
    # Oracle: x = 0 is optimal iff mu >= ||s A^T b||_inf (the KKT conditions at 0).
    prob = mf.random_regression(25, 7, 3, 4)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    mu_max = float(np.abs(A.T @ b).max())
    np.testing.assert_array_equal(references.lasso(A, b, 1.01 * mu_max).x, 0.0)
    assert np.count_nonzero(np.asarray(references.lasso(A, b, 0.9 * mu_max).x)) > 0


def test_lasso_bad_input():
    A = np.random.default_rng(0).standard_normal((3, 5))
    with pytest.raises(ValueError, match="`mu` must be a finite float >= 0"):
        references.lasso(A, np.ones(3), -0.1)
    with pytest.raises(ValueError, match="lasso: `scale` must be a finite float > 0"):
        references.lasso(A, np.ones(3), 0.1, scale=0.0)
    with pytest.raises(ValueError, match="lasso: `b` must have one entry per row"):
        references.lasso(A, np.ones(4), 0.1)
    A[:, 2] = 0.0
    with pytest.raises(ValueError, match="zero column"):
        references.lasso(A, np.ones(3), 0.1)


def test_min_l1_against_an_independent_lp():
    # Oracle: a second LP formulation, min sum(t) s.t. -t <= x <= t, Ax = b, solved
    # by HiGHS' interior-point method: same optimum value to 1e-8.
    prob = mf.random_regression(20, 5, 3, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    x = references.min_l1_interpolant(A, b)
    assert isinstance(x, np.ndarray)
    d = 20
    eye = np.eye(d)
    res = scipy.optimize.linprog(
        np.r_[np.zeros(d), np.ones(d)],
        A_ub=np.block([[eye, -eye], [-eye, -eye]]),
        b_ub=np.zeros(2 * d),
        A_eq=np.hstack([A, np.zeros((5, d))]),
        b_eq=b,
        bounds=[(None, None)] * d + [(0, None)] * d,
        method="highs-ipm",
    )
    assert abs(np.abs(x).sum() - res.fun) <= 1e-8
    np.testing.assert_allclose(A @ x, b, atol=1e-12)


@pytest.mark.parametrize("with_x0", [False, True])
def test_min_l2_against_the_saddle_point_system(with_x0):
    # Oracle: [[I, A^T], [A, 0]] [x; lam] = [x0; b], the KKT system of
    # argmin_{Ax=b} ||x - x0||^2 / 2, by numpy.linalg.solve (no pseudo-inverse): 1e-12.
    prob = mf.random_regression(20, 6, 3, 1)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    x0 = np.random.default_rng(2).standard_normal(20) if with_x0 else np.zeros(20)
    x = references.min_l2_interpolant(A, b, x0 if with_x0 else None)
    kkt = np.block([[np.eye(20), A.T], [A, np.zeros((6, 6))]])
    np.testing.assert_allclose(
        x, np.linalg.solve(kkt, np.concatenate([x0, b]))[:20], atol=1e-12
    )


def test_interpolants_need_an_underdetermined_system():
    with pytest.raises(ValueError, match="n < d"):
        references.min_l1_interpolant(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="n < d"):
        references.min_l2_interpolant(np.ones((4, 3)), np.ones(4))


def test_references_import_nothing_from_the_predictions():
    # The referees stay independent of the code they check.
    for path in sorted((ROOT / "mirrorflow" / "references").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "predictions" not in (node.module or ""), path.name
            elif isinstance(node, ast.Import):
                assert all("predictions" not in a.name for a in node.names), path.name
