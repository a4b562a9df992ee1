"""Matrix sensing and matrix factorization: flows, limits, referees, spectra."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize

import mirrorflow as mf
from mirrorflow import spectral
from mirrorflow.papers.core import common_basis, diagonal_design
from mirrorflow.problems import MatrixSensing, random_sensing
from mirrorflow.references import min_l1_interpolant, min_nuclear_norm
from mirrorflow.reparam import MatrixFactorization


def rel_err(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


# --- the parameter-space flow on (U, V): solvers, loss, conservation --------------


@pytest.fixture(scope="module")
def factorized_flow():
    """GF on (U, V), X = U V^T (4 x 3, inner rank 2), a rank-1 truth, n = 5."""
    prob = random_sensing(4, 3, 5, 0, rank=1)
    rng = np.random.default_rng(0)
    params0 = (
        jnp.asarray(0.5 * rng.standard_normal((4, 2))),
        jnp.asarray(0.5 * rng.standard_normal((3, 2))),
    )
    flow = mf.GradientFlow(prob, MatrixFactorization())
    ts = mf.log_times(1e-2, 50.0, 30)
    sol = mf.integrate(flow, params0, 0.0, 50.0, ts=ts)
    return prob, flow, params0, ts, sol


def test_problem_matches_numpy_closed_forms():
    # Oracle: the definitions written in numpy, f = 1/2 sum_i (<A_i, X> - y_i)^2
    # and grad = sum_i r_i A_i, on the matrix and on vec(X); 1e-13 relative.
    prob = random_sensing(4, 3, 6, 2, rank=2, mean=True)
    A = np.asarray(prob.measurements)
    X = np.random.default_rng(1).standard_normal((4, 3))
    r = np.einsum("iab,ab->i", A, X) - np.asarray(prob.b)
    loss = 0.5 / 6 * r @ r
    grad = np.einsum("i,iab->ab", r, A) / 6
    np.testing.assert_allclose(prob.loss(jnp.asarray(X)), loss, rtol=1e-13)
    np.testing.assert_allclose(prob.loss(jnp.asarray(X.reshape(-1))), loss, rtol=1e-13)
    np.testing.assert_allclose(prob.grad(jnp.asarray(X)), grad, rtol=1e-13)
    np.testing.assert_allclose(
        prob.grad(jnp.asarray(X.reshape(-1))), grad.reshape(-1), rtol=1e-13
    )
    assert float(prob.loss(prob.X_star)) < 1e-28
    np.testing.assert_array_equal(prob.to_matrix(prob.x_star), prob.X_star)
    assert np.linalg.matrix_rank(np.asarray(prob.X_star)) == 2


def test_factorized_velocity_is_the_closed_form():
    # Oracle: the chain rule by hand, dU/dt = -G V and dV/dt = -G^T U with
    # G = grad f(U V^T) (numpy); 1e-13 relative.
    prob = random_sensing(4, 3, 5, 0, rank=1)
    rng = np.random.default_rng(2)
    U, V = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    du, dv = mf.GradientFlow(prob, MatrixFactorization()).vector_field(
        0.0, (jnp.asarray(U), jnp.asarray(V)), None
    )
    A = np.asarray(prob.measurements)
    G = np.einsum("i,iab->ab", np.einsum("iab,ab->i", A, U @ V.T) - prob.b, A)
    np.testing.assert_allclose(du, -G @ V, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dv, -G.T @ U, rtol=1e-13, atol=1e-14)


def test_parameter_flow_agrees_with_scipy_lsoda(factorized_flow):
    # Oracle: an independent integrator (scipy LSODA, rtol 1e-12) on the same flow,
    # at 30 save times up to t = 50. The default Kvaerno5 runs at rtol 1e-10;
    # 1e-8 relative allows its global error to grow 100x (measured 3.5e-10).
    _, flow, params0, ts, sol = factorized_flow
    ref = mf.integrate(
        flow,
        params0,
        0.0,
        50.0,
        ts=ts,
        solver=mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
    )
    np.testing.assert_allclose(ref.ts, sol.ts)
    assert rel_err(sol.xs, ref.xs) <= 1e-8


def test_loss_never_increases(factorized_flow):
    # Oracle: d/dt f(U V^T) = -||grad_{U,V} F||^2 <= 0 along gradient flow.
    _, flow, _, _, sol = factorized_flow
    losses = np.asarray(jax.vmap(flow.loss)(sol.ys))
    assert np.all(np.diff(losses) <= 0.0), np.diff(losses).max()
    assert losses[-1] < 1e-6 * losses[0]


def test_balance_matrix_is_conserved(factorized_flow):
    # Oracle: the conservation law, U^T U - V^T V equals its initial value (numpy,
    # from the saved states); Kvaerno5 at rtol 1e-10 keeps it to ~3e-11, asserted
    # at 1e-9 relative as for the diagonal reparameterizations.
    _, _, params0, _, sol = factorized_flow
    U0, V0 = (np.asarray(a) for a in params0)
    c0 = U0.T @ U0 - V0.T @ V0
    Us, Vs = (np.asarray(a) for a in sol.ys)
    ct = np.einsum("tai,taj->tij", Us, Us) - np.einsum("tai,taj->tij", Vs, Vs)
    np.testing.assert_allclose(ct, np.broadcast_to(c0, ct.shape), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        MatrixFactorization().conserved(params0), c0, rtol=1e-14, atol=1e-15
    )


# --- the commuting (diagonal) case: limits and the minimum nuclear norm -----------


@pytest.fixture(scope="module")
def commuting_problem():
    """Symmetric commuting measurements, m = 8, n = 3, a rank-2 PSD truth."""
    prob = random_sensing(8, 8, 3, 0, rank=2, symmetric=True, commuting=True)
    Q = common_basis(prob)
    diag = mf.LinearRegression(diagonal_design(prob, Q, Q), prob.b)
    return prob, Q, diag


# ~8 s; verify's core.matrix_sensing claims check the same limits.
@pytest.mark.slow
def test_commuting_limit_is_the_entropy_projection_of_the_eigenvalues(
    commuting_problem,
):
    # Oracle: the derivation in MatrixFactorization's docstring (Gunasekar et al.
    # 2017, Thm 1): from U0 = alpha I the eigenvalues follow x = w*w, whose limit is
    # the Bregman projection of NegEntropy(1/4) from alpha^2 (the damped-Newton
    # `predict` on the 3 x 8 eigenvalue problem), mapped back with Q. The flow
    # stops at loss 1e-20 (residual ~1e-10): 1e-8 (measured ~1e-10).
    # As alpha -> 0 the limit approaches the minimum-trace PSD interpolant (cvxpy):
    # the distance decreases (measured 4e-3, 2e-8 at alpha = 1e-1, 1e-3).
    prob, Q, diag = commuting_problem
    m = prob.matrix_shape[0]
    flow = mf.GradientFlow(prob, MatrixFactorization(symmetric=True))
    nuclear = np.asarray(min_nuclear_norm(prob, psd=True).x)
    distances = []
    for alpha in (1e-1, 1e-3):
        sol = mf.integrate(flow, alpha * jnp.eye(m), stop_loss=1e-20)
        potential = mf.Square().induced_potential(jnp.full(m, alpha))
        pred = mf.predict(diag, potential, x0=jnp.full(m, alpha**2))
        expected = ((Q * np.asarray(pred.x)) @ Q.T).reshape(-1)
        assert rel_err(sol.x_final, expected) <= 1e-8, alpha
        distances.append(np.abs(np.asarray(sol.x_final) - nuclear).max())
    assert distances[1] < distances[0]


def test_min_nuclear_norm_is_min_l1_of_the_spectrum(commuting_problem):
    # Oracle: in the common eigenbasis ||X||_* >= sum_j |q_j^T X q_j| and the
    # measurements see only those diagonal entries, so the minimum nuclear norm is
    # the minimum-L1 eigenvalue vector (scipy linprog, `min_l1_interpolant`), and
    # the minimum trace over PSD X is the LP min 1^T lam, lam >= 0 (linprog
    # directly); cvxpy (Clarabel) reaches ~1e-9, asserted at 1e-7.
    prob, Q, diag = commuting_problem
    A, b = np.asarray(diag.A), np.asarray(diag.b)
    lam = min_l1_interpolant(A, b)
    nuc = min_nuclear_norm(prob)
    np.testing.assert_allclose(nuc.x, ((Q * lam) @ Q.T).reshape(-1), atol=1e-7)
    assert nuc.certificate <= 1e-7 and nuc.nu.shape == (prob.n,)
    lp = scipy.optimize.linprog(np.ones(A.shape[1]), A_eq=A, b_eq=b, method="highs")
    psd = min_nuclear_norm(prob, psd=True)
    np.testing.assert_allclose(psd.x, ((Q * lp.x) @ Q.T).reshape(-1), atol=1e-7)
    np.testing.assert_allclose(
        spectral.nuclear_norm(np.asarray(prob.to_matrix(psd.x))), lp.fun, rtol=1e-7
    )
    assert psd.certificate <= 1e-7


def test_min_nuclear_norm_rectangular_commuting_and_gaussian():
    # Oracle: for A_i = P diag(a_i) Q^T (common singular bases, found here by an
    # SVD of a generic combination) the minimum nuclear norm is the minimum-L1
    # singular-value vector (linprog). For Gaussian measurements, weak duality
    # recomputed here in numpy: y^T nu / max(1, ||A^* nu||_op) is a lower bound of
    # the optimum, the planted X* an upper bound, and the returned X interpolates
    # and lies within 1e-7 (relative) of the lower bound.
    prob = random_sensing(5, 4, 3, 3, rank=2, commuting=True)
    c = np.random.default_rng(7).standard_normal(prob.n)
    P, _, Qt = np.linalg.svd(np.einsum("i,iab->ab", c, np.asarray(prob.measurements)))
    P, Q = P[:, :4], Qt.T
    lam = min_l1_interpolant(diagonal_design(prob, P, Q), prob.b)
    nuc = min_nuclear_norm(prob)
    np.testing.assert_allclose(nuc.x, ((P * lam) @ Q.T).reshape(-1), atol=1e-7)
    gauss = random_sensing(4, 5, 6, 1, rank=1)
    pred = min_nuclear_norm(gauss)
    X = np.asarray(gauss.to_matrix(pred.x))
    M = (np.asarray(pred.nu) @ np.asarray(gauss.A)).reshape(X.shape)  # A^* nu
    primal = np.linalg.svd(X, compute_uv=False).sum()
    lower = float(np.asarray(gauss.b) @ np.asarray(pred.nu)) / max(
        1.0, np.linalg.norm(M, 2)
    )
    assert lower - 1e-12 <= primal <= lower + 1e-7 * max(1.0, primal)
    assert primal <= np.linalg.svd(np.asarray(gauss.X_star), compute_uv=False).sum()
    np.testing.assert_allclose(pred.certificate, primal - lower, atol=1e-12)
    assert float(gauss.loss(pred.x)) <= 1e-14


# --- spectral measures ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_spectral_functions_closed_forms(dtype, backend):
    # Oracle: closed forms without an SVD. Rank one u v^T: ||.||_* = |u||v|,
    # ratio 1, effective rank 1; I_k: k, sqrt(k), k; diag(s) (singular values |s|):
    # sum|s|, sum|s| / ||s||_2, exp(entropy of |s| / sum|s|). Float32: 1e-5.
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    wrap = jnp.asarray if backend == "jax" else np.asarray
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(5), rng.standard_normal(3)
    s = np.array([3.0, -1.0, 0.5, 0.0])
    q = np.abs(s) / np.abs(s).sum()
    q = q[q > 0]
    cases = [
        (np.outer(u, v), np.linalg.norm(u) * np.linalg.norm(v), 1.0, 1.0),
        (np.eye(4), 4.0, 2.0, 4.0),
        (
            np.diag(s),
            np.abs(s).sum(),
            np.abs(s).sum() / np.linalg.norm(s),
            np.exp(-(q * np.log(q)).sum()),
        ),
        (np.zeros((3, 2)), 0.0, 0.0, 0.0),
    ]
    for X, nuc, ratio, erank in cases:
        X = wrap(X.astype(dtype))
        for fn, expected in (
            (spectral.nuclear_norm, nuc),
            (spectral.nuclear_to_frobenius, ratio),
            (spectral.effective_rank, erank),
        ):
            got = fn(X)
            assert got.dtype == dtype and np.ndim(got) == 0, fn.__name__
            np.testing.assert_allclose(float(got), expected, rtol=rtol, atol=rtol)
    # the functions work under jit (JAX input only)
    if backend == "jax":
        X = jnp.asarray(np.outer(u, v).astype(dtype))
        np.testing.assert_allclose(
            float(jax.jit(spectral.effective_rank)(X)), 1.0, rtol=rtol
        )


# --- bad input ---------------------------------------------------------------------


def test_bad_input_raises_value_error_naming_the_argument(monkeypatch):
    with pytest.raises(ValueError, match="`n` must be an int >= 1"):
        random_sensing(3, 3, 0, 0)
    with pytest.raises(ValueError, match="`rank` must be an int >= 1"):
        random_sensing(3, 3, 2, 0, rank=0)
    with pytest.raises(ValueError, match="`rank` must be <= min"):
        random_sensing(3, 2, 2, 0, rank=3)
    with pytest.raises(ValueError, match="`symmetric=True` needs square"):
        random_sensing(3, 2, 2, 0, symmetric=True)
    with pytest.raises(ValueError, match="`b` must have one entry"):
        MatrixSensing(np.ones((2, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="symmetric `measurements`"):
        MatrixSensing(np.arange(18.0).reshape(2, 3, 3), np.ones(2), symmetric=True)
    prob = random_sensing(3, 2, 2, 0)
    with pytest.raises(ValueError, match="`x` must be the matrix X"):
        prob.loss(jnp.ones(5))
    mfz = MatrixFactorization()
    with pytest.raises(ValueError, match="same number of columns"):
        mfz.to_x((jnp.ones((3, 2)), jnp.ones((2, 3))))
    with pytest.raises(ValueError, match="must be a pair"):
        mfz.to_x(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="2-d arrays"):
        mfz.to_x((jnp.ones(3), jnp.ones(2)))
    sym = MatrixFactorization(symmetric=True)
    with pytest.raises(ValueError, match="pass U alone"):
        sym.to_x((jnp.ones((3, 2)), jnp.ones((3, 2))))
    with pytest.raises(ValueError, match="no conserved"):
        sym.conserved(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="not the mirror flow of a separable"):
        mfz.induced_potential((jnp.ones((3, 2)), jnp.ones((2, 2))))
    with pytest.raises(ValueError, match="`problem` must be a matrix problem"):
        min_nuclear_norm(mf.random_regression(6, 3, 2, 0))
    with pytest.raises(ValueError, match="`psd=True` needs square"):
        min_nuclear_norm(prob, psd=True)
    with pytest.raises(ValueError, match="`X` must be a 2-d array"):
        spectral.effective_rank(np.ones(3))
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    with pytest.raises(ImportError, match="needs cvxpy"):
        min_nuclear_norm(prob)


# --- discrete training with optax ------------------------------------------------


def test_sgd_in_float32_matches_a_float64_numpy_loop():
    # Oracle: gradient descent on (U, V) written in numpy float64,
    # U <- U - eta G V, V <- V - eta G^T U; 300 float32 steps through `optimize`
    # (one jitted loop) agree to float32 accuracy (1e-4 relative).
    prob = random_sensing(4, 3, 5, 0, rank=1)
    A = np.asarray(prob.measurements)
    prob32 = MatrixSensing(A.astype(np.float32), np.asarray(prob.b, np.float32))
    rng = np.random.default_rng(0)
    U, V = 0.5 * rng.standard_normal((4, 2)), 0.5 * rng.standard_normal((3, 2))
    params0 = (jnp.asarray(U, jnp.float32), jnp.asarray(V, jnp.float32))
    mfz = MatrixFactorization()
    eta, steps = 0.1, 300
    res = mf.optimize(
        optax.sgd(eta), lambda p: prob32.loss(mfz.to_x(p)), params0, steps
    )
    for _ in range(steps):
        G = np.einsum("i,iab->ab", np.einsum("iab,ab->i", A, U @ V.T) - prob.b, A)
        U, V = U - eta * G @ V, V - eta * G.T @ U
    assert res.params[0].dtype == jnp.float32 and res.params[1].dtype == jnp.float32
    np.testing.assert_allclose(res.params[0], U, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.params[1], V, rtol=1e-4, atol=1e-5)
    assert float(res.loss) < 1e-2 * float(prob32.loss(mfz.to_x(params0)))
