"""Predictions: Bregman projections and the min-norm interpolants."""

import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.optimize

import mirrorflow as mf


def test_quadratic_projection_is_the_pseudo_inverse_formula():
    # Oracle: x0 + A^+(b - A x0) (closed form), 1e-12.
    prob = mf.random_regression(30, 8, 3, 2)
    x0 = np.random.default_rng(0).standard_normal(30)
    proj = mf.predict(prob, mf.SquaredNorm(), x0=jnp.asarray(x0))
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    np.testing.assert_allclose(
        proj.x, x0 + np.linalg.pinv(A) @ (b - A @ x0), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "potential,x0",
    [
        (mf.Hypentropy(0.5), np.zeros(25)),
        (mf.Hypentropy(scale=0.3, coef=0.5), np.linspace(-1, 1, 25)),
        (mf.DeepDiagonalPotential(3, 0.4), np.zeros(25)),
    ],
)
def test_projection_satisfies_kkt(potential, x0):
    # Oracle: the KKT conditions of argmin_{Ax=b} D_R(x, x0): Ax = b and
    # grad R(x) - grad R(x0) in range(A^T) (least-squares residual ~ 0), 1e-9.
    prob = mf.random_regression(25, 7, 3, 4)
    proj = mf.predict(prob, potential, x0=jnp.asarray(x0))
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    np.testing.assert_allclose(A @ np.asarray(proj.x), b, atol=1e-11)
    dz = np.asarray(potential.grad(proj.x) - potential.grad(jnp.asarray(x0)))
    coef, *_ = np.linalg.lstsq(A.T, dz, rcond=None)
    np.testing.assert_allclose(A.T @ coef, dz, atol=1e-9)


def test_kl_projection_against_scipy_slsqp():
    # Oracle: scipy.optimize SLSQP on the primal KL problem (general-purpose
    # solver, ftol 1e-15): agreement to 1e-6 (SLSQP's attainable accuracy).
    prob = mf.random_regression(12, 4, 2, 2, positive=True)
    x0 = np.random.default_rng(3).uniform(0.5, 2.0, 12)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    proj = mf.predict(prob, mf.NegEntropy(1.0), x0=jnp.asarray(x0))

    def kl(x):
        return np.sum(x * np.log(x / x0) - x + x0)

    res = scipy.optimize.minimize(
        kl,
        np.asarray(prob.x_star) + 0.1,
        jac=lambda x: np.log(x / x0),
        constraints=[{"type": "eq", "fun": lambda x: A @ x - b, "jac": lambda x: A}],
        bounds=[(1e-12, None)] * 12,
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert res.success
    np.testing.assert_allclose(proj.x, res.x, atol=1e-6)


def test_min_l1_against_an_independent_lp():
    # Oracle: a second LP formulation, min sum(t) s.t. -t <= x <= t, Ax = b, solved
    # by HiGHS' interior-point method: same optimum value to 1e-8.
    prob = mf.random_regression(20, 5, 3, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    x = mf.min_l1_interpolant(A, b)
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


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 1e-1, 1e1, 1e2])
def test_projection_is_robust_over_alpha(alpha):
    # Oracle: feasibility (Ax = b to the Newton tolerance) and finiteness for alpha
    # across ten decades (continuation + log-domain conjugate, core_and_mask.md §1.1).
    prob = mf.random_regression(40, 20, 3, 1)
    proj = mf.predict(prob, mf.Hypentropy(alpha), x0=jnp.zeros(40))
    assert np.all(np.isfinite(np.asarray(proj.x)))
    assert proj.residual <= 1e-11


def test_bad_input_errors():
    prob = mf.random_regression(6, 6, 2, 0)
    with pytest.raises(ValueError, match="n < d"):
        mf.predict(prob, mf.Hypentropy(1.0), x0=jnp.zeros(6))
    ok = mf.random_regression(6, 2, 1, 0)
    with pytest.raises(ValueError, match="exactly one of `x0` or `z0`"):
        mf.predict(ok, mf.Hypentropy(1.0))
    with pytest.raises(ValueError, match="`x0` must have shape \\(6,\\)"):
        mf.predict(ok, mf.Hypentropy(1.0), x0=jnp.zeros(5))
    with pytest.raises(ValueError, match="`x0` lies outside the domain"):
        mf.predict(ok, mf.NegEntropy(1.0), x0=-jnp.ones(6))
    # b < 0 with A >= 0 has no positive solution: the KL projection cannot exist.
    A = np.abs(np.asarray(ok.A))
    with pytest.raises(ValueError, match="did not converge"):
        mf.bregman_projection(mf.NegEntropy(1.0), A, -np.ones(2), x0=jnp.ones(6))
    with pytest.raises(ValueError, match="n < d"):
        mf.min_l1_interpolant(np.ones((3, 3)), np.ones(3))


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 1e-1, 1e1, 1e2])
def test_projection_matches_a_50_digit_newton_over_alpha(alpha):
    # Oracle: the dual Newton iteration in mpmath at 50 digits, polished from our
    # multiplier until the gradient is < 1e-40 (the projection is unique, so the
    # starting point cannot bias it). x = c sinh(4 A^T nu), c = 2 alpha^2.
    prob = mf.random_regression(12, 5, 2, 3)
    proj = mf.predict(prob, mf.Hypentropy(alpha), x0=jnp.zeros(12))
    with mpmath.workdps(50):
        A = mpmath.matrix(np.asarray(prob.A).tolist())
        b = mpmath.matrix(np.asarray(prob.b).tolist())
        nu = mpmath.matrix(np.asarray(proj.nu).tolist())
        c = 2 * mpmath.mpf(alpha) ** 2
        for _ in range(60):
            z = A.T * nu
            x = mpmath.matrix([c * mpmath.sinh(4 * zi) for zi in z])
            g = A * x - b
            if mpmath.norm(g) < mpmath.mpf("1e-40"):
                break
            h = [4 * c * mpmath.cosh(4 * zi) for zi in z]
            H = A * mpmath.diag(h) * A.T
            nu = nu - mpmath.lu_solve(H, g)
        assert mpmath.norm(g) < mpmath.mpf("1e-40")
        x_ref = np.array([float(v) for v in x])
    scale = max(1.0, float(np.abs(x_ref).max()))
    assert np.max(np.abs(np.asarray(proj.x) - x_ref)) <= 1e-10 * scale
