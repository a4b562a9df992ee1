"""Time-dependent potentials and flows with weight decay, and their predictions."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

import mirrorflow as mf
from mirrorflow import CommutingQuadratic, integrate
from mirrorflow.flows import GradientFlow, MirrorFlow, ReducedMirrorFlow, flow_paths
from mirrorflow.potentials import (
    CommutingQuadraticPotential,
    TimeDependentDeepDiagonal,
    TimeDependentHypentropy,
)
from mirrorflow.predictions import predict
from mirrorflow.references import lasso
from mirrorflow.regularization import (
    CallableSchedule,
    ConstantDecay,
    ExponentialDecay,
    SwitchOff,
)


# The independent referee (scipy, no diffrax compile): identities between code paths
# are checked with it; one diffrax solve checks the jump handling.
SCIPY = mf.ScipyReference("DOP853", rtol=1e-12, atol=1e-14)


def rel_err(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


@pytest.fixture(scope="module")
def small():
    """A small underdetermined problem and an unbalanced m*w initialization."""
    prob = mf.random_regression(8, 3, 2, 5)
    rng = np.random.default_rng(0)
    m0 = jnp.asarray(rng.uniform(0.4, 0.9, 8))
    w0 = jnp.asarray(rng.uniform(-0.3, 0.3, 8))
    return prob, (m0, w0)


# --- potentials -------------------------------------------------------------------


def test_family_at_dose_zero_is_the_induced_potential(small):
    # Oracle: the unregularized induced potentials of the spine (Hadamard,
    # DiffOfSquares; docs/theory/core.md): same mirror map and value, 1e-14.
    _, (m0, w0) = small
    x = jnp.linspace(-2.0, 2.0, 8)
    for reparam, params0 in (
        (mf.Hadamard(), (m0, w0)),
        (mf.DiffOfSquares(), (m0, m0 + 0.1)),
    ):
        family, z0 = reparam.decay_family(params0)
        static = reparam.induced_potential(params0)
        np.testing.assert_allclose(family.grad(x, 0.0), static.grad(x), atol=1e-14)
        np.testing.assert_allclose(
            family.value(x, 0.0), static.value(x), rtol=1e-14, atol=1e-15
        )
        # z0 = grad R_0(x0) (Hadamard: artanh(w0/m0), docs/theory/core.md).
        np.testing.assert_allclose(
            z0, static.grad(reparam.to_x(params0)), rtol=1e-13, atol=1e-15
        )
    family, z0 = mf.Hadamard().decay_family((m0, w0))
    np.testing.assert_allclose(z0, np.arctanh(np.asarray(w0 / m0)), rtol=1e-13)


def test_hypentropy_family_round_trip_and_log_domain():
    # Oracle: grad R* is the inverse of grad R (rel 1e-12), also at doses where the
    # scale c0 e^{-4 Lambda} underflows (log-domain evaluation).
    family = TimeDependentHypentropy(jnp.linspace(0.1, 2.0, 6), coef=0.5)
    x = jnp.asarray([-3.0, -0.2, 1e-6, 0.0, 0.7, 5.0])
    for dose in (0.0, 1.0, 5.0, 50.0, 300.0):
        z = family.grad(x, dose)
        assert np.all(np.isfinite(np.asarray(z)))
        np.testing.assert_allclose(
            family.grad_conjugate(z, dose), x, rtol=1e-12, atol=1e-300
        )
    assert float(family.scale(300.0)[0]) == 0.0  # the plain scale underflows


@pytest.mark.parametrize(
    "family",
    [
        TimeDependentHypentropy(jnp.linspace(0.1, 2.0, 5), coef=0.5),
        TimeDependentHypentropy(0.3, coef=0.25),
        TimeDependentDeepDiagonal(
            4, u0=jnp.linspace(0.4, 0.8, 5), v0=jnp.linspace(0.7, 0.3, 5)
        ),
    ],
)
def test_family_derivatives_match_autodiff(family):
    # Oracle: jax autodiff of the family's own conjugate (1e-10 relative).
    z = jnp.asarray([-0.2, -0.05, 0.0, 0.04, 0.1])
    for dose in (0.0, 0.7):
        np.testing.assert_allclose(
            family.grad_conjugate(z, dose),
            jax.grad(family.conjugate)(z, dose),
            rtol=1e-10,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            family.conjugate_hessian_diag(z, dose),
            jnp.diag(jax.jacfwd(family.grad_conjugate)(z, dose)),
            rtol=1e-10,
            atol=1e-14,
        )


def test_deep_diagonal_family_widens_its_dual_interval():
    # Oracle: the closed form (gamma + kappa Lambda)/kappa
    # (docs/theory/mirror_mirror.md)
    # with D = 4 (kappa = 8): the dual interval widens with the dose, and the primal
    # image of a fixed dual point shrinks ("range shrinking", our sign convention).
    family = TimeDependentDeepDiagonal(4, u0=0.7, v0=0.5)
    for dose in (0.0, 0.5, 2.0):
        lo, hi = family.dual_interval(dose)
        assert float(hi) == pytest.approx(0.7**-2 / 8 + dose, rel=1e-14)
        assert float(lo) == pytest.approx(-(0.5**-2) / 8 - dose, rel=1e-14)
    z = jnp.asarray([0.1])
    xs = [float(family.grad_conjugate(z, d)[0]) for d in (0.0, 0.5, 2.0)]
    assert xs[0] > xs[1] > xs[2] > 0


def test_commuting_quadratic_family_reproduces_the_hadamard_family(small):
    # Oracle: two closed forms for x = m*w (A_i couples m_i and w_i, B = I): the
    # hypentropy family at z = mu + z0, and scipy.linalg.expm for the factors, 1e-12.
    _, (m0, w0) = small
    d = 8
    As = np.zeros((d, 2 * d, 2 * d))
    for i in range(d):
        As[i, i, d + i] = As[i, d + i, i] = 1.0
    reparam = CommutingQuadratic(As, np.eye(2 * d))
    p0 = jnp.concatenate([m0, w0])
    np.testing.assert_allclose(reparam.to_x(p0), m0 * w0, rtol=1e-15)
    assert float(reparam.penalty(p0)) == pytest.approx(
        float(jnp.sum(m0**2 + w0**2)), rel=1e-14
    )
    quad, mu0 = reparam.decay_family(p0)
    hyp, z0 = mf.Hadamard().decay_family((m0, w0))
    mu = jnp.asarray(np.random.default_rng(1).uniform(-0.5, 0.5, d))
    for dose in (0.0, 0.3, 2.0):
        np.testing.assert_allclose(
            quad.grad_conjugate(mu0 + mu, dose),
            hyp.grad_conjugate(z0 + mu, dose),
            rtol=1e-12,
            atol=1e-15,
        )
        expm = scipy.linalg.expm(-2 * dose * np.eye(2 * d) + np.einsum("i,ijk", mu, As))
        np.testing.assert_allclose(quad.factors(mu, dose), expm @ p0, rtol=1e-12)


# --- flows ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hadamard_paths(small):
    prob, params0 = small
    schedule = SwitchOff(0.4, 2.5)
    paths = flow_paths(prob, mf.Hadamard(), params0, schedule)
    ts = jnp.linspace(0.5, 20.0, 15)
    sols = {
        "reduced": integrate(
            *paths.reduced, 0.0, 20.0, ts=ts, solver=dfx.Tsit5(), rtol=1e-11, atol=1e-13
        )
    }
    for name in ("parameter", "dual"):
        sols[name] = integrate(*getattr(paths, name), 0.0, 20.0, ts=ts, solver=SCIPY)
    return prob, paths, schedule, sols


def test_weight_decay_gf_is_the_time_dependent_mirror_flow(hadamard_paths):
    # Oracle: docs/theory/core.md: GF on (m, w) with weight decay equals the dual
    # (both scipy DOP853, segment by segment) and the reduced time-dependent mirror
    # flow (diffrax Tsit5 with a jump at the switch-off); three solves at rtol
    # ~1e-11 -> 1e-8.
    _, _, _, sols = hadamard_paths
    ref = sols["parameter"].xs
    for name in ("dual", "reduced"):
        assert rel_err(sols[name].xs, ref) <= 1e-8, name


def test_segment_restart_keeps_the_save_grid_and_the_conservation_law(
    hadamard_paths,
):
    # Oracle: the requested save times (exactly, no duplicated breakpoint) and the
    # closed form m^2 - w^2 = a0 exp(-4 Lambda_t) (docs/theory/core.md), 1e-9.
    _, paths, schedule, sols = hadamard_paths
    sol = sols["parameter"]
    np.testing.assert_array_equal(sol.ts, jnp.linspace(0.5, 20.0, 15))
    assert sol.stats["segments"] == 2
    m, w = sol.ys
    m0, w0 = paths.parameter[1]
    a_t = (m0**2 - w0**2)[None, :] * jnp.exp(-4.0 * jax.vmap(schedule.dose)(sol.ts))[
        :, None
    ]
    assert rel_err(m**2 - w**2, a_t) <= 1e-9


def test_loss_decreases_along_the_regularized_objective(hadamard_paths):
    # Oracle: F_t = f + lambda_t h is nonincreasing while lambda is constant (a
    # gradient flow), and f alone after the switch-off; 1e-12 slack for round-off.
    prob, paths, schedule, sols = hadamard_paths
    sol = sols["parameter"]
    flow = paths.parameter[0]
    F = [
        float(prob.loss(flow.to_primal(y)))
        + float(schedule.strength(t)) * float(mf.Hadamard().penalty(y))
        for t, y in zip(sol.ts, zip(*sol.ys, strict=True), strict=True)
    ]
    before = [f for t, f in zip(sol.ts, F, strict=True) if t < 2.5]
    after = [f for t, f in zip(sol.ts, F, strict=True) if t >= 2.5]
    assert np.all(np.diff(before) <= 1e-12) and np.all(np.diff(after) <= 1e-12)


@pytest.mark.parametrize(
    "reparam,params0,schedule",
    [
        (
            mf.DiffOfSquares(),
            (jnp.linspace(0.3, 0.8, 8), jnp.linspace(0.6, 0.2, 8)),
            ExponentialDecay(0.5, 2.0),
        ),
        (
            mf.DeepDiagonal(4),
            (jnp.linspace(0.5, 0.7, 8), jnp.linspace(0.7, 0.5, 8)),
            SwitchOff(0.3, 3.0),
        ),
    ],
    ids=["u2-v2", "u4-v4"],
)
def test_other_families_match_their_parameter_flows(small, reparam, params0, schedule):
    # Oracle: GF on (u, v) with the decay lambda_t h against the reduced
    # time-dependent flow of the family (two code paths, scipy DOP853 at rtol 1e-12),
    # 1e-8 (docs/theory/mirror_mirror.md for u^4 - v^4 with decay lambda (u^4 + v^4)).
    prob, _ = small
    paths = flow_paths(prob, reparam, params0, schedule)
    ts = jnp.linspace(0.5, 15.0, 10)
    red = integrate(*paths.reduced, 0.0, 15.0, ts=ts, solver=SCIPY)
    par = integrate(*paths.parameter, 0.0, 15.0, ts=ts, solver=SCIPY)
    assert rel_err(red.xs, par.xs) <= 1e-8


def _smooth_strength(t):
    return 0.5 * jnp.exp(-t / 2.0)


def test_dose_as_extra_ode_state(small):
    # Oracle: the same schedule with and without a closed-form dose
    # (CallableSchedule integrates dLambda/dt = lambda_t; ExponentialDecay uses the
    # clock): x(t) agree to 1e-9 and the integrated dose matches 1 - e^{-t/2}.
    prob, params0 = small
    family, z0 = mf.Hadamard().decay_family(params0)
    ts = jnp.linspace(0.5, 10.0, 8)
    callable_flow = MirrorFlow(
        prob, family, CallableSchedule(_smooth_strength, total_dose=1.0)
    )
    sol = mf.integrate(
        callable_flow,
        callable_flow.initial_state(z0=z0),
        0.0,
        10.0,
        ts=ts,
        solver=SCIPY,
    )
    np.testing.assert_allclose(sol.ys[1], 1.0 - jnp.exp(-ts / 2.0), atol=1e-10)
    par = integrate(
        GradientFlow(prob, mf.Hadamard(), ExponentialDecay(0.5, 2.0)),
        params0,
        0.0,
        10.0,
        ts=ts,
        solver=SCIPY,
    )
    assert rel_err(sol.xs, par.xs) <= 1e-9


# --- predictions ------------------------------------------------------------------


def test_prediction_satisfies_kkt_and_depends_only_on_the_dose(small):
    # Oracle: KKT of argmin_{Ax=b} R_{Lambda}(x) - <z0, x> (Ax = b; grad R - z0 in
    # range A^T, least-squares residual) at 1e-9, and exact equality across schedules
    # of equal dose (schedule invariance, docs/theory/core.md).
    prob, params0 = small
    family, z0 = mf.Hadamard().decay_family(params0)
    a = predict(prob, family, schedule=SwitchOff(0.1, 10.0), z0=z0)
    b = predict(prob, family, schedule=ExponentialDecay(0.5, 2.0), z0=z0)
    np.testing.assert_array_equal(a.x, b.x)
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    np.testing.assert_allclose(A @ np.asarray(a.x), y, atol=1e-11)
    dz = np.asarray(family.grad(a.x, 1.0) - z0)
    coef, *_ = np.linalg.lstsq(A.T, dz, rcond=None)
    np.testing.assert_allclose(A.T @ coef, dz, atol=1e-9)
    assert "Thm 3.3" in a.theorem


def test_constant_decay_predicts_the_lasso(small):
    # Oracle: scipy L-BFGS-B on the split x = p - q, p, q >= 0 (an independent convex
    # solver, gtol 1e-14) for min 1/2||Ax-b||^2 + mu ||x||_1, mu = 2 lambda: 1e-7.
    prob, params0 = small
    family, z0 = mf.Hadamard().decay_family(params0)
    sol = predict(prob, family, schedule=ConstantDecay(0.05), z0=z0)
    assert isinstance(sol, mf.Prediction) and "lasso" in sol.theorem
    assert sol.certificate <= 1e-12
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    d = A.shape[1]

    def obj(pq):
        x = pq[:d] - pq[d:]
        r = A @ x - y
        g = A.T @ r
        return 0.5 * r @ r + 0.1 * pq.sum(), np.concatenate([g + 0.1, -g + 0.1])

    res = scipy.optimize.minimize(
        obj,
        np.zeros(2 * d),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * d),
        options={"gtol": 1e-14, "ftol": 1e-16, "maxiter": 10_000},
    )
    np.testing.assert_allclose(sol.x, res.x[:d] - res.x[d:], atol=1e-7)


def test_lasso_mean_loss_scale():
    # Oracle: scaling the loss by s is the same as dividing mu by s (exact optimum).
    prob = mf.random_regression(12, 5, 2, 3)
    a = lasso(prob.A, prob.b, 0.02, scale=1 / 5)
    b = lasso(prob.A, prob.b, 0.1)
    np.testing.assert_allclose(a.x, b.x, atol=1e-13)


# --- bad input --------------------------------------------------------------------


def test_bad_input_raises_value_error(small):
    prob, (m0, w0) = small
    with pytest.raises(ValueError, match="must be unbalanced"):
        mf.Hadamard().decay_family((m0, m0))
    with pytest.raises(ValueError, match="u0 \\* v0 > 0"):
        mf.DiffOfSquares().decay_family((m0, -m0))
    with pytest.raises(ValueError, match="no time-dependent potential"):
        mf.Square().decay_family(m0)
    with pytest.raises(ValueError, match="`scale0` must be finite and > 0"):
        TimeDependentHypentropy(jnp.asarray([1.0, 0.0]), coef=0.5)
    with pytest.raises(ValueError, match="`coef`"):
        TimeDependentHypentropy(1.0, coef=-1.0)
    rng = np.random.default_rng(0)
    noncommuting = rng.standard_normal((2, 3, 3))
    noncommuting = noncommuting + np.swapaxes(noncommuting, 1, 2)
    with pytest.raises(ValueError, match="must commute"):
        CommutingQuadraticPotential(noncommuting, np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match="`w0` must have shape"):
        CommutingQuadraticPotential(np.zeros((2, 3, 3)), np.eye(3), np.ones(4))
    family, z0 = mf.Hadamard().decay_family((m0, w0))
    quad = CommutingQuadraticPotential(np.zeros((8, 2, 2)), np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="must be separable"):
        ReducedMirrorFlow(prob, quad, z0, SwitchOff(0.1, 1.0))
    flow = MirrorFlow(prob, family, SwitchOff(0.1, 1.0))
    with pytest.raises(ValueError, match="`dose0` is only for"):
        flow.initial_state(z0=z0, dose0=0.0)
    with pytest.raises(ValueError, match="`z0` has 3 coordinates"):
        flow.initial_state(z0=z0[:3])
    with pytest.raises(ValueError, match="`mu` must be a finite float >= 0"):
        lasso(prob.A, prob.b, -0.1)
    with pytest.raises(ValueError, match="no lasso limit is known"):
        predict(prob, quad, schedule=ConstantDecay(0.1), z0=z0)
