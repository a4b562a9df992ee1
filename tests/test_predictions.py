"""`predict`, `ham_limit` and the one compiled Newton loop, against independent oracles.

Oracles: closed forms (pseudo-inverse), KKT conditions checked in numpy, mpmath
Newton at 50 digits, scipy SLSQP, and cvxpy's SCS (eps 1e-12) on the primal convex
programs (entropy/exponential cones; skipped where cvxpy is not installed).
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.optimize

import mirrorflow as mf
from mirrorflow.predictions import Prediction, _bregman, _penalized, ham_limit, predict
from mirrorflow.predictions._newton import newton_minimize
from mirrorflow.regularization import (
    ConstantDecay,
    ExponentialDecay,
    SwitchOff,
)


def _scs(problem):
    """Solve a cvxpy problem with SCS to eps 1e-12 (x agrees to ~1e-11 here)."""
    import cvxpy as cp

    problem.solve(solver=cp.SCS, eps=1e-12, max_iters=200_000)
    assert problem.status == cp.OPTIMAL, problem.status


def _hypentropy_projection_cvxpy(A, b, c, k, z0):
    r"""argmin_{Ax=b} R(x) - <z0, x> for R = hypentropy(scale c, coef k), in cvxpy.

    x asinh(x/c) - sqrt(x^2 + c^2) = min_{p - q = x} p log(p/a) - p + q log(q/a) - q
    with a = c/2 (the minimizer is p = a e^t, q = a e^-t, t = asinh(x/c)), so the
    projection is a program in (p, q) >= 0 with relative-entropy terms.
    """
    cp = pytest.importorskip("cvxpy")
    d = A.shape[1]
    p, q = cp.Variable(d), cp.Variable(d)
    a = np.broadcast_to(np.asarray(c) / 2, (d,))
    obj = k * cp.sum(cp.kl_div(p, a) + cp.kl_div(q, a)) - z0 @ (p - q)
    _scs(cp.Problem(cp.Minimize(obj), [A @ (p - q) == b]))
    return p.value - q.value


# --- Bregman projections (no schedule) ----------------------------------------------


def test_quadratic_projection_is_the_pseudo_inverse_formula():
    # Oracle: x0 + A^+(b - A x0) (closed form), 1e-12.
    prob = mf.random_regression(30, 8, 3, 2)
    x0 = np.random.default_rng(0).standard_normal(30)
    proj = predict(prob, mf.SquaredNorm(), x0=jnp.asarray(x0))
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
    proj = predict(prob, potential, x0=jnp.asarray(x0))
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
    proj = predict(prob, mf.NegEntropy(1.0), x0=jnp.asarray(x0))

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


def test_kl_projection_against_cvxpy():
    # Oracle: cvxpy (SCS, eps 1e-12) on min sum kl_div(x, x0) s.t. Ax = b (an
    # exponential-cone program, no Newton): 1e-9.
    cp = pytest.importorskip("cvxpy")
    prob = mf.random_regression(12, 4, 2, 2, positive=True)
    x0 = np.random.default_rng(3).uniform(0.5, 2.0, 12)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    proj = predict(prob, mf.NegEntropy(1.0), x0=jnp.asarray(x0))
    x = cp.Variable(12)
    _scs(cp.Problem(cp.Minimize(cp.sum(cp.kl_div(x, x0))), [A @ x == b]))
    np.testing.assert_allclose(proj.x, x.value, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 2.0])
def test_hypentropy_projection_against_cvxpy(alpha):
    # Oracle: cvxpy (SCS, eps 1e-12) on the relative-entropy form of the hypentropy
    # projection from x0 = 0 (c = 2 alpha^2, k = 1/4): 1e-9.
    prob = mf.random_regression(20, 6, 3, 7)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    proj = predict(prob, mf.Hypentropy(alpha), x0=jnp.zeros(20))
    ref = _hypentropy_projection_cvxpy(A, b, 2 * alpha**2, 0.25, np.zeros(20))
    np.testing.assert_allclose(proj.x, ref, atol=1e-9)


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 1e-1, 1e1, 1e2])
def test_projection_is_robust_over_alpha(alpha):
    # Oracle: feasibility (Ax = b to the Newton tolerance, recomputed in numpy) and
    # finiteness for alpha across ten decades (continuation + log-domain conjugate).
    prob = mf.random_regression(40, 20, 3, 1)
    proj = predict(prob, mf.Hypentropy(alpha), x0=jnp.zeros(40))
    x = np.asarray(proj.x)
    assert np.all(np.isfinite(x))
    assert proj.certificate <= 1e-11
    assert np.linalg.norm(np.asarray(prob.A) @ x - np.asarray(prob.b)) <= 1e-11


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 1e-1, 1e1, 1e2])
def test_projection_matches_a_50_digit_newton_over_alpha(alpha):
    # Oracle: the dual Newton iteration in mpmath at 50 digits, polished from our
    # multiplier until the gradient is < 1e-40 (the projection is unique, so the
    # starting point cannot bias it). x = c sinh(4 A^T nu), c = 2 alpha^2.
    prob = mf.random_regression(12, 5, 2, 3)
    proj = predict(prob, mf.Hypentropy(alpha), x0=jnp.zeros(12))
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


def test_bad_input_errors():
    prob = mf.random_regression(6, 6, 2, 0)
    with pytest.raises(ValueError, match="n < d"):
        predict(prob, mf.Hypentropy(1.0), x0=jnp.zeros(6))
    ok = mf.random_regression(6, 2, 1, 0)
    with pytest.raises(ValueError, match="exactly one of `x0` or `z0`"):
        predict(ok, mf.Hypentropy(1.0))
    with pytest.raises(ValueError, match="`x0` must have shape \\(6,\\)"):
        predict(ok, mf.Hypentropy(1.0), x0=jnp.zeros(5))
    with pytest.raises(ValueError, match="`x0` lies outside the domain"):
        predict(ok, mf.NegEntropy(1.0), x0=-jnp.ones(6))
    # b < 0 with A >= 0 has no positive solution: the KL projection cannot exist.
    A = np.abs(np.asarray(ok.A))
    with pytest.raises(ValueError, match="did not converge"):
        predict(mf.LinearRegression(A, -np.ones(2)), mf.NegEntropy(1.0), x0=jnp.ones(6))
    with pytest.raises(ValueError, match="outside the conjugate's domain"):
        predict(ok, mf.HamPotential(1.0), z0=jnp.full(6, 800.0))
    with pytest.raises(TypeError, match="loss linear in x"):
        predict(object(), mf.Hypentropy(1.0), x0=jnp.zeros(6))


# --- weight decay: the projection at the total dose, or the lasso -------------------


@pytest.fixture
def unbalanced():
    """An underdetermined problem and an unbalanced m*w start (m0 > |w0|)."""
    prob = mf.random_regression(10, 4, 2, 5)
    rng = np.random.default_rng(0)
    m0 = rng.uniform(0.4, 0.9, 10)
    w0 = rng.uniform(-0.3, 0.3, 10)
    return prob, m0, w0


def test_finite_dose_is_the_projection_at_the_dose_against_cvxpy(unbalanced):
    # Oracle: cvxpy (SCS) on argmin_{Ax=b} R_a(x) - <z0, x> with the Mask in the
    # Mirror potential written from the paper, not from the family: hypentropy of
    # scale |m0^2 - w0^2|/2 e^{-4 Lambda}, coef 1/2, z0 = artanh(w0/m0): 1e-9. Equal
    # doses (0.25) give identical limits (schedule invariance).
    prob, m0, w0 = unbalanced
    family, z0 = mf.Hadamard().decay_family((jnp.asarray(m0), jnp.asarray(w0)))
    a = predict(prob, family, z0=z0, schedule=SwitchOff(0.125, 2.0))
    b = predict(prob, family, z0=z0, schedule=ExponentialDecay(0.5, 0.5))
    np.testing.assert_array_equal(a.x, b.x)
    assert "Thm 3.3" in a.theorem and a.certificate <= 1e-12
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    c = np.abs(m0**2 - w0**2) / 2 * np.exp(-4.0 * 0.25)
    ref = _hypentropy_projection_cvxpy(A, y, c, 0.5, np.arctanh(w0 / m0))
    np.testing.assert_allclose(a.x, ref, atol=1e-9)


def test_large_dose_projection_matches_a_50_digit_newton(unbalanced):
    # Oracle: at dose 3 the scale is ~1e-6 (too small for the conic solvers); the
    # dual Newton iteration in mpmath at 50 digits on x = c sinh(z/k),
    # z = z0 + A^T nu, with c, k and z0 from the paper (as above), polished from our
    # multiplier to a gradient < 1e-40 (unique optimum): 1e-10. `total_dose`
    # overrides the schedule's dose, and x0 = m0 w0 gives z0 = grad R_0(x0).
    prob, m0, w0 = unbalanced
    family, z0 = mf.Hadamard().decay_family((jnp.asarray(m0), jnp.asarray(w0)))
    got = predict(prob, family, z0=z0, schedule=SwitchOff(0.1, 10.0), total_dose=3.0)
    from_x0 = predict(prob, family, x0=jnp.asarray(m0 * w0), total_dose=3.0)
    c = np.abs(m0**2 - w0**2) / 2 * np.exp(-4.0 * 3.0)
    with mpmath.workdps(50):
        A = mpmath.matrix(np.asarray(prob.A).tolist())
        y = mpmath.matrix(np.asarray(prob.b).tolist())
        nu = mpmath.matrix(np.asarray(got.nu).tolist())
        zeta0 = [mpmath.atanh(mpmath.mpf(w) / m) for m, w in zip(m0, w0, strict=True)]
        cs = [mpmath.mpf(ci) for ci in c]
        k = mpmath.mpf(1) / 2
        for _ in range(60):
            z = A.T * nu
            z = [zeta0[i] + z[i] for i in range(len(cs))]
            x = mpmath.matrix([cs[i] * mpmath.sinh(z[i] / k) for i in range(len(cs))])
            g = A * x - y
            if mpmath.norm(g) < mpmath.mpf("1e-40"):
                break
            h = [cs[i] * mpmath.cosh(z[i] / k) / k for i in range(len(cs))]
            nu = nu - mpmath.lu_solve(A * mpmath.diag(h) * A.T, g)
        assert mpmath.norm(g) < mpmath.mpf("1e-40")
        x_ref = np.array([float(v) for v in x])
    np.testing.assert_allclose(got.x, x_ref, atol=1e-10)
    np.testing.assert_allclose(from_x0.x, x_ref, atol=1e-10)


def test_constant_decay_is_the_lasso_against_cvxpy(unbalanced):
    # Oracle: cvxpy (SCS, eps 1e-12) on min s/2||Ax - b||^2 + mu||x||_1 with
    # mu = 2 lambda (l1_weight 2 of m*w), both loss scales: 1e-9.
    cp = pytest.importorskip("cvxpy")
    _, m0, w0 = unbalanced
    family, z0 = mf.Hadamard().decay_family((jnp.asarray(m0), jnp.asarray(w0)))
    for mean in (False, True):
        prob = mf.random_regression(10, 4, 2, 5, mean=mean)
        sol = predict(prob, family, z0=z0, schedule=ConstantDecay(0.05))
        assert sol.certificate_name == "KKT violation" and sol.nu is None
        assert sol.certificate <= 1e-12 and "lasso" in sol.theorem
        A, y = np.asarray(prob.A), np.asarray(prob.b)
        x = cp.Variable(10)
        s = prob.scale
        _scs(
            cp.Problem(
                cp.Minimize(0.5 * s * cp.sum_squares(A @ x - y) + 0.1 * cp.norm1(x))
            )
        )
        np.testing.assert_allclose(sol.x, x.value, atol=1e-9)


def test_infinite_dose_without_a_lasso_limit_is_an_error(unbalanced):
    prob, _, _ = unbalanced
    with pytest.raises(ValueError, match="no lasso limit is known"):
        predict(prob, mf.Hypentropy(1.0), z0=jnp.zeros(10), schedule=ConstantDecay(0.1))


# --- the HAM flow ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "alpha,beta", [(0.5, 0.03), (5.0, 0.03), (5.0, 1.0), (0.0, 0.2)]
)
def test_ham_penalized_limit_against_cvxpy(alpha, beta):
    # Oracle: cvxpy (SCS, eps 1e-12) on min 1/2||Ax-b||^2 + beta h_alpha(x),
    # h_alpha = sum |x|/alpha - log(1 + alpha|x|)/alpha^2 (increasing in |x|: an
    # epigraph t >= |x| is exact), or beta/2 ||x||^2 at alpha = 0: 1e-9.
    cp = pytest.importorskip("cvxpy")
    prob = mf.random_regression(30, 10, 3, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    got = ham_limit(prob, alpha, beta)
    assert got.certificate_name.startswith("gradient norm") and got.nu is None
    x, t = cp.Variable(30), cp.Variable(30)
    if alpha > 0:
        h = cp.sum(t / alpha - cp.log(1 + alpha * t) / alpha**2)
    else:
        h = 0.5 * cp.sum_squares(t)
    obj = 0.5 * cp.sum_squares(A @ x - b) + beta * h
    _scs(cp.Problem(cp.Minimize(obj), [t >= cp.abs(x)]))
    np.testing.assert_allclose(got.x, x.value, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 5.0])
def test_ham_projection_against_cvxpy(alpha):
    # Oracle: cvxpy (SCS) on argmin_{Ax=b} R_alpha(x), R_alpha = sum((1+u)log(1+u)
    # - u)/alpha^2 with u = alpha t, t >= |x| (increasing in t: exact): 1e-9.
    cp = pytest.importorskip("cvxpy")
    prob = mf.random_regression(30, 10, 3, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    got = ham_limit(prob, alpha, 0.0)
    assert "Lemma 4.4" in got.theorem and got.nu.shape == (10,)
    x, t = cp.Variable(30), cp.Variable(30)
    u = alpha * t
    obj = cp.sum(-cp.entr(1 + u) - u) / alpha**2
    _scs(cp.Problem(cp.Minimize(obj), [A @ x == b, t >= cp.abs(x)]))
    np.testing.assert_allclose(got.x, x.value, atol=1e-9)


def test_ham_gradient_flow_limit_is_the_min_distance_interpolant():
    # Oracle: the saddle-point system [[I, A^T], [A, 0]] [x; -nu] = [x0; b] of
    # argmin_{Ax=b} ||x - x0||^2 / 2 (numpy.linalg.solve): 1e-12, x and nu.
    prob = mf.random_regression(20, 6, 3, 1)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    x0 = np.random.default_rng(2).standard_normal(20)
    got = ham_limit(prob, 0.0, 0.0, x0=jnp.asarray(x0))
    kkt = np.block([[np.eye(20), A.T], [A, np.zeros((6, 6))]])
    sol = np.linalg.solve(kkt, np.concatenate([x0, b]))
    np.testing.assert_allclose(got.x, sol[:20], atol=1e-12)
    np.testing.assert_allclose(got.nu, -sol[20:], atol=1e-12)
    assert got.iterations == 0 and got.certificate <= 1e-12


def test_ham_woodbury_path_agrees_with_the_optimality_condition():
    # Oracle: the gradient s A^T(Ax - b) + beta x / (1 + alpha|x|) recomputed in
    # numpy at the returned point (d > 2000 takes the Woodbury solve): <= 1e-12
    # relative to ||s A^T b||.
    prob = mf.random_regression(2100, 20, 3, 0, mean=True)
    A, b, s = np.asarray(prob.A), np.asarray(prob.b), prob.scale
    got = ham_limit(prob, 5.0, 0.03)
    x = np.asarray(got.x)
    g = s * A.T @ (A @ x - b) + 0.03 * x / (1 + 5.0 * np.abs(x))
    assert np.linalg.norm(g) <= 1e-12 * max(1.0, np.linalg.norm(s * A.T @ b))


# --- every case: one Prediction, certified ------------------------------------------


def _cases():
    prob = mf.random_regression(16, 5, 2, 3)
    rng = np.random.default_rng(1)
    m0, w0 = rng.uniform(0.4, 0.9, 16), rng.uniform(-0.3, 0.3, 16)
    family, z0 = mf.Hadamard().decay_family((jnp.asarray(m0), jnp.asarray(w0)))
    zeros = jnp.zeros(16)
    return prob, {
        "projection": lambda: predict(prob, mf.Hypentropy(0.3), x0=zeros),
        "finite dose": lambda: predict(
            prob, family, z0=z0, schedule=SwitchOff(0.2, 3.0)
        ),
        "total dose": lambda: predict(prob, family, z0=z0, total_dose=0.7),
        "constant decay": lambda: predict(
            prob, family, z0=z0, schedule=ConstantDecay(0.02)
        ),
        "ham beta=0": lambda: ham_limit(prob, 3.0, 0.0, x0=zeros),
        "ham alpha=beta=0": lambda: ham_limit(prob, 0.0, 0.0, x0=zeros),
        "ham beta>0": lambda: ham_limit(prob, 3.0, 0.1),
    }


@pytest.mark.parametrize(
    "case",
    [
        "projection",
        "finite dose",
        "total dose",
        "constant decay",
        "ham beta=0",
        "ham alpha=beta=0",
        "ham beta>0",
    ],
)
def test_every_case_returns_a_certified_prediction(case):
    # Oracle: the certificate recomputed in numpy at the returned x (constraint
    # residual, gradient norm, or lasso KKT violation), below tol = 1e-12 (relative
    # to max(1, ||b||) or max(1, ||s A^T b||) where the docstrings say so).
    prob, cases = _cases()
    pred = cases[case]()
    assert isinstance(pred, Prediction)
    assert isinstance(pred.theorem, str) and pred.theorem
    assert isinstance(pred.iterations, int) and isinstance(pred.certificate, float)
    A, b, s = np.asarray(prob.A), np.asarray(prob.b), prob.scale
    x = np.asarray(pred.x)
    assert x.shape == (16,) and np.all(np.isfinite(x))
    tol = 1e-12
    if pred.certificate_name == "constraint residual ||Ax - b||_2":
        got = np.linalg.norm(A @ x - b)
        bound = tol * max(1.0, np.linalg.norm(b))
        assert pred.nu is not None and pred.nu.shape == (5,)
    elif pred.certificate_name == "KKT violation":
        g = s * A.T @ (A @ x - b)
        on = x != 0
        got = max(
            np.abs(g[on] + 0.04 * np.sign(x[on])).max(initial=0.0),
            np.maximum(np.abs(g[~on]) - 0.04, 0.0).max(initial=0.0),
        )
        bound = tol
    else:
        assert pred.certificate_name == "gradient norm ||grad F(x)||_2"
        got = np.linalg.norm(s * A.T @ (A @ x - b) + 0.1 * x / (1 + 3.0 * np.abs(x)))
        bound = tol * max(1.0, np.linalg.norm(s * A.T @ b))
    assert pred.certificate <= bound and got <= bound, (pred.certificate, got, bound)


# --- one compiled Newton loop -------------------------------------------------------


def _log_barrier(x, c):
    """F(x) = c.x - sum log x (+inf outside x > 0), its gradient and Hessian."""
    inside = jnp.all(x > 0)
    safe = jnp.where(x > 0, x, 1.0)
    value = jnp.where(inside, jnp.vdot(c, x) - jnp.sum(jnp.log(safe)), jnp.inf)
    return value, c - 1.0 / safe, jnp.diag(1.0 / safe**2)


def test_newton_minimize_backtracks_into_the_domain():
    # Oracle: the closed-form minimizer x = 1/c of c.x - sum log x. From x0 = 3/c the
    # full Newton step 2x - cx^2 leaves the domain (+inf): backtracking must reject
    # it. Converges to 1e-14 (relative); a start outside the domain takes no step.
    c = jnp.asarray([1.0, 2.0, 0.5, 4.0])
    res = newton_minimize(_log_barrier, 3.0 / c, c, tol=1e-13, max_iter=100)
    assert bool(res.converged) and int(res.iterations) > 0
    np.testing.assert_allclose(res.x, 1.0 / np.asarray(c), rtol=1e-14)
    bad = newton_minimize(_log_barrier, -jnp.ones(4), c, tol=1e-13, max_iter=100)
    assert not bool(bad.converged) and int(bad.iterations) == 0
    assert np.isinf(float(bad.value))


def test_newton_loop_compiles_once_per_shape(monkeypatch):
    # Oracle: a Python side-effect counter in the objective counts traces. A second
    # call with new data of the same shapes (and, for predict, every continuation
    # stage and a new b) adds none.
    traces = []

    def counted(x, c):
        traces.append(1)
        return _log_barrier(x, c)

    newton_minimize(counted, jnp.ones(4), jnp.arange(1.0, 5.0), tol=1e-13)
    first = len(traces)
    res = newton_minimize(counted, jnp.ones(4), jnp.arange(2.0, 6.0), tol=1e-13)
    assert first > 0 and len(traces) == first
    np.testing.assert_allclose(res.x, 1.0 / np.arange(2.0, 6.0), rtol=1e-14)

    dual = []
    original = _bregman._dual_objective

    def counted_dual(nu, args):
        dual.append(1)
        return original(nu, args)

    monkeypatch.setattr(_bregman, "_dual_objective", counted_dual)
    p1, p2 = mf.random_regression(30, 8, 3, 0), mf.random_regression(30, 8, 3, 1)
    # alpha = 1e-8 runs through the continuation stages of Hypentropy.
    predict(p1, mf.Hypentropy(1e-8), x0=jnp.zeros(30))
    first = len(dual)
    pred = predict(p2, mf.Hypentropy(1e-8), x0=jnp.zeros(30))
    assert first > 0 and len(dual) == first
    assert pred.certificate <= 1e-12 * max(1.0, float(jnp.linalg.norm(p2.b)))

    penalized = []
    original_penalized = _penalized._penalized_objective

    def counted_penalized(x, args):
        penalized.append(1)
        return original_penalized(x, args)

    monkeypatch.setattr(_penalized, "_penalized_objective", counted_penalized)
    ham_limit(p1, 2.0, 0.1)
    first = len(penalized)
    ham_limit(p2, 3.0, 0.2)
    assert first > 0 and len(penalized) == first


def test_newton_iteration_is_a_compiled_while_loop():
    # Oracle: jax.make_jaxpr of the compiled loop contains while loops (the Newton
    # loop and its line search), i.e. the iteration is not unrolled on the host.
    c = jnp.asarray([1.0, 2.0])
    jaxpr = jax.make_jaxpr(
        lambda x: newton_minimize(_log_barrier, x, c, tol=1e-12, max_iter=50).x
    )(jnp.ones(2))
    assert str(jaxpr).count("while[") >= 2
