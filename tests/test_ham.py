"""HAM: the potential R_alpha, the flow, its limits and the optax transformation."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import optax
import pytest
import scipy.optimize

import mirrorflow as mf
import mirrorflow.app as mfa
from mirrorflow.optimizers import HamScheduleState, ham, hyperbolic_step, optimize
from mirrorflow.papers.ham import ham_flow
from mirrorflow.predictions import ham_limit
from mirrorflow.predictions._penalized import _dense_direction, _woodbury_direction


# --- the potential ---------------------------------------------------------


def test_potential_matches_mpmath_closed_forms():
    # Oracle: R_alpha, R*_alpha and h_alpha at 50 digits (mpmath), including the
    # small-|x| range where the series branches are used.
    mpmath.mp.dps = 50
    alpha = 3.0
    pot = mf.HamPotential(alpha)
    xs = [1e-12, 3e-6, 1e-4, 3.3e-3, 3.4e-3, 0.05, 1.0, 40.0]
    for x in xs:
        for s in (1, -1):
            u = mpmath.mpf(alpha) * abs(mpmath.mpf(x))
            R = ((1 + u) * mpmath.log1p(u) - u) / alpha**2
            h = (u - mpmath.log1p(u)) / alpha**2
            Rs = (mpmath.expm1(u) - u) / alpha**2  # R*(z) at alpha|z| = u
            xx = jnp.asarray([s * x])
            assert float(pot.value(xx)) == pytest.approx(float(R), rel=1e-14)
            assert float(pot.penalty(xx)) == pytest.approx(float(h), rel=1e-14)
            assert float(pot.conjugate(xx)) == pytest.approx(float(Rs), rel=1e-14)


def test_potential_limits_and_derivatives():
    # Oracles: alpha -> 0 gives x^2/2 (GD); autodiff of the closed-form values; the
    # penalty drift identity (1 + alpha|x|) grad h = x.
    x = jnp.asarray(np.random.default_rng(0).standard_normal(20) * 2)
    small = mf.HamPotential(1e-7)
    np.testing.assert_allclose(small.value(x), 0.5 * jnp.vdot(x, x), rtol=1e-6)
    np.testing.assert_allclose(small.grad(x), x, rtol=1e-6)
    pot = mf.HamPotential(5.0)
    np.testing.assert_allclose(jax.grad(pot.value)(x), pot.grad(x), rtol=1e-13)
    np.testing.assert_allclose(
        jax.grad(pot.penalty)(x), pot.penalty_grad(x), rtol=1e-13
    )
    np.testing.assert_allclose(
        jax.vmap(jax.grad(jax.grad(lambda t: pot.penalty(t[None]))))(x),
        pot.penalty_hessian_diag(x),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        (1 + 5.0 * jnp.abs(x)) * pot.penalty_grad(x), x, rtol=1e-15, atol=0
    )


def test_potential_rejects_bad_alpha():
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            mf.HamPotential(bad)


# --- the flow ----------------------------------------------------------------


@pytest.fixture(scope="module")
def p1():
    from mirrorflow.papers.ham import P1, x0_p1

    return P1(), x0_p1()


def test_flow_is_riemannian_flow_of_penalized_loss(p1):
    # Oracle: -(grad^2 R_alpha)^{-1} grad(f + beta h_alpha), by autodiff.
    prob, x0 = p1
    alpha, beta = 7.0, 0.3
    flow = ham_flow(prob, alpha, beta)
    pot = mf.HamPotential(alpha)

    def F(x):
        return prob.loss(x) + beta * pot.penalty(x)

    expected = -jax.grad(F)(x0) / pot.hessian_diag(x0)
    np.testing.assert_allclose(flow.vector_field(0.0, x0, None), expected, rtol=1e-13)
    gd = ham_flow(prob, 0.0)
    np.testing.assert_allclose(gd.vector_field(0.0, x0, None), -prob.grad(x0))


def test_flow_rejects_bad_hyperparameters(p1):
    prob, _ = p1
    with pytest.raises(ValueError, match="alpha"):
        ham_flow(prob, -1.0)
    with pytest.raises(ValueError, match="beta"):
        ham_flow(prob, 1.0, -0.1)
    with pytest.raises(ValueError, match="x0"):
        ham_flow(prob, 1.0).initial_state(jnp.zeros(3))


def test_flow_switch_off_limit(p1):
    # beta on [0, T) then 0: the final phase is the beta = 0 flow from x_T, so the
    # limit is the Bregman projection from x_T (docs/theory/mirror_mirror.md).
    prob, x0 = p1
    from mirrorflow.regularization import SwitchOff

    ref = mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14)
    flow = ham_flow(prob, 5.0, SwitchOff(0.2, 2.0))
    sol = mf.integrate(
        flow, x0, 0.0, 500.0, ts=jnp.asarray([2.0, 500.0]), solver=ref, stop_loss=1e-26
    )
    x_T = sol.xs[0]
    pred = ham_limit(prob, 5.0, 0.0, x0=x_T)
    assert sol.result == "event"
    np.testing.assert_allclose(sol.x_final, pred.x, atol=1e-9)


# --- the limits ----------------------------------------------------------------


def test_limit_beta0_satisfies_kkt(p1):
    # Oracle: KKT of argmin_{Ax=y} D_R(x, x0): Ax = y and grad R(x) - grad R(x0) in
    # range(A^T) (least-squares residual of that membership ~ 0).
    prob, x0 = p1
    A = np.asarray(prob.A)
    for alpha in (0.01, 1.0, 300.0):
        pot = mf.HamPotential(alpha)
        x = ham_limit(prob, alpha, 0.0, x0=x0).x
        np.testing.assert_allclose(A @ np.asarray(x), np.asarray(prob.b), atol=1e-11)
        dz = np.asarray(pot.grad(x) - pot.grad(x0))
        coef = np.linalg.lstsq(A.T, dz, rcond=None)[0]
        assert np.max(np.abs(A.T @ coef - dz)) <= 1e-9 * max(1.0, np.abs(dz).max())


def test_limit_alpha0_is_min_distance(p1):
    prob, x0 = p1
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    gd = np.asarray(x0) + np.linalg.pinv(A) @ (y - A @ np.asarray(x0))
    np.testing.assert_allclose(ham_limit(prob, 0.0, x0=x0).x, gd, atol=1e-12)


@pytest.mark.parametrize("alpha,beta", [(0.0, 0.5), (5.0, 0.01), (200.0, 1e-3)])
def test_limit_beta_positive_matches_trust_exact(p1, alpha, beta):
    # Oracle: scipy trust-exact on the primal f + beta h_alpha (ridge for alpha=0).
    prob, _ = p1
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    n = A.shape[0]

    def h(x):
        if alpha == 0:
            return 0.5 * x @ x, x, np.ones_like(x)
        u = alpha * np.abs(x)
        return (
            np.sum(u - np.log1p(u)) / alpha**2,
            x / (1 + u),
            1 / (1 + u) ** 2,
        )

    out = scipy.optimize.minimize(
        lambda x: 0.5 / n * np.sum((A @ x - y) ** 2) + beta * h(x)[0],
        np.zeros(A.shape[1]),
        jac=lambda x: A.T @ (A @ x - y) / n + beta * h(x)[1],
        hess=lambda x: A.T @ A / n + np.diag(beta * h(x)[2]),
        method="trust-exact",
        tol=1e-14,
    )
    got = ham_limit(prob, alpha, beta)
    assert isinstance(got, mf.Prediction)

    def grad(x):
        return A.T @ (A @ x - y) / n + beta * h(x)[1]

    # Strong convexity: |x - x*| <= |grad F(x)| / mu; trust-exact stops at a gradient
    # norm ~1e-12 and mu is ~3e-6 at alpha = 200, so the reference itself is only
    # good to |grad| / mu there. Bound both points' distance to x* that way.
    mu = np.linalg.eigvalsh(A.T @ A / n + np.diag(beta * h(out.x)[2]))[0]
    bound = np.linalg.norm(grad(out.x)) + np.linalg.norm(grad(np.asarray(got.x)))
    assert np.linalg.norm(np.asarray(got.x) - out.x) <= 2 * bound / mu + 1e-13
    assert np.linalg.norm(grad(np.asarray(got.x))) <= 1e-12


def test_woodbury_direction_equals_dense(p1):
    # Oracle: the dense Cholesky Newton direction (the Woodbury path is for d > 2000).
    prob, x0 = p1
    g = jnp.asarray(np.random.default_rng(1).standard_normal(prob.d))
    args = (prob.A, prob.scale, jnp.asarray(5.0), jnp.asarray(0.03), x0, g)
    np.testing.assert_allclose(
        _woodbury_direction(*args), _dense_direction(*args), rtol=1e-9
    )


def test_limit_rejects_bad_input(p1):
    prob, _ = p1
    with pytest.raises(ValueError, match="alpha"):
        ham_limit(prob, -1.0)
    with pytest.raises(ValueError, match="beta"):
        ham_limit(prob, 1.0, float("inf"))


# --- the optax transformation ----------------------------------------------------


def _quadratic(d=12, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, d))
    Q = M @ M.T / d + np.eye(d)
    x_star = rng.standard_normal(d)
    return Q, x_star, rng.standard_normal(d)


def _numpy_ham(Q, x_star, x0, alpha, beta, lr, steps, base, clip=None):
    """The paper's update in plain numpy (the oracle): base step, then the factor."""
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for k in range(steps):
        eta = lr(k) if callable(lr) else lr
        g = Q @ (x - x_star)
        if base == "sgd":
            half = x - eta * g
        else:  # Adam, optax defaults (b1 0.9, b2 0.999, eps 1e-8)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mh, vh = m / (1 - 0.9 ** (k + 1)), v / (1 - 0.999 ** (k + 1))
            half = x - eta * mh / (np.sqrt(vh) + 1e-8)
        e = -eta * (alpha * np.sign(half) * g + beta)
        if clip is not None:
            e = np.clip(e, -clip, clip)
        x = np.where(half != 0, half * np.exp(e), 0.0)
    return x


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_matches_numpy_transcription_100_steps(base):
    Q, x_star, x0 = _quadratic()
    lr = 1e-2
    opt = ham(5.0, 0.1, lr, None if base == "sgd" else optax.adam(lr))
    # optax's Adam bias correction mixes int and float: not strict-promotion clean.
    with jax.numpy_dtype_promotion("standard"):
        res = optimize(
            opt, lambda x: 0.5 * (x - x_star) @ Q @ (x - x_star), jnp.asarray(x0), 100
        )
    assert int(res.num_steps) == 100
    expected = _numpy_ham(Q, x_star, x0, 5.0, 0.1, lr, 100, base)
    np.testing.assert_allclose(res.params, expected, rtol=0, atol=1e-12)


def test_schedule_and_exponent_clip_match_numpy():
    Q, x_star, x0 = _quadratic(seed=1)

    # A step schedule (a pow, e.g. optax.exponential_decay, rounds differently in
    # float32 inside jit than eagerly: 1 ulp, which no oracle reproduces).
    def sched(count):
        return jnp.where(count < 10, 0.05, jnp.where(count < 20, 0.025, 0.0125))

    opt = ham(50.0, 0.0, sched, optax.sgd(sched), exponent_clip=0.2)
    state = opt.init(jnp.asarray(x0))
    assert isinstance(state, HamScheduleState)
    res = optimize(
        opt, lambda x: 0.5 * (x - x_star) @ Q @ (x - x_star), jnp.asarray(x0), 30
    )
    expected = _numpy_ham(
        # optax evaluates schedules at an int32 count (float32 rates): the same here.
        Q,
        x_star,
        x0,
        50.0,
        0.0,
        lambda k: float(sched(jnp.int32(k))),
        30,
        "sgd",
        clip=0.2,
    )
    np.testing.assert_allclose(res.params, expected, rtol=0, atol=1e-12)


def test_state_is_the_base_state():
    params = {"w": jnp.ones((3, 4)), "b": jnp.zeros(4)}
    for base in (optax.sgd(0.1), optax.sgd(0.1, momentum=0.9), optax.adam(0.1)):
        s_base = base.init(params)
        s_ham = ham(1.0, 0.0, 0.1, base).init(params)
        assert jax.tree.structure(s_ham) == jax.tree.structure(s_base)


def test_float32_jit_without_recompiling_and_vmap():
    opt = ham(2.0, 1e-2, 0.05)
    traces = []

    @jax.jit
    def step(x, state):
        traces.append(1)
        g = x - 1.0
        upd, state = opt.update(g, state, x)
        return optax.apply_updates(x, upd), state

    x = jnp.full(8, 0.5, jnp.float32)
    state = opt.init(x)
    for _ in range(5):
        x, state = step(x, state)
    assert len(traces) == 1 and x.dtype == jnp.float32

    def run(seed):
        x0 = jax.random.normal(jax.random.PRNGKey(seed), (8,), jnp.float32)
        s = opt.init(x0)
        for _ in range(3):
            upd, s = opt.update(x0 - 1.0, s, x0)
            x0 = optax.apply_updates(x0, upd)
        return x0

    batched = jax.vmap(run)(jnp.arange(4))
    for i in range(4):
        np.testing.assert_allclose(batched[i], run(i), rtol=1e-6)


def test_options_min_ndim_and_norm_clip():
    params = {"w": jnp.full((2, 3), 2.0), "b": jnp.full(3, 2.0)}
    grads = {"w": jnp.full((2, 3), 1.0), "b": jnp.full(3, 1.0)}
    opt = ham(1.0, 0.0, 0.1, min_ndim=2, max_param_norm=1.0)
    upd, _ = opt.update(grads, opt.init(params), params)
    new = optax.apply_updates(params, upd)
    # b: plain SGD (1-d leaf skipped), then rescaled to norm 1.
    half_b = 2.0 - 0.1
    np.testing.assert_allclose(new["b"], np.full(3, half_b) / (half_b * np.sqrt(3)))
    w = (2.0 - 0.1) * np.exp(-0.1)
    np.testing.assert_allclose(new["w"], np.full((2, 3), w) / (w * np.sqrt(6)))


def test_zero_and_sign_preservation_of_hyperbolic_step():
    theta = jnp.asarray([0.0, -0.0, 1.0, -2.0, 3e-300])
    g = jnp.asarray([5.0, -5.0, 100.0, -100.0, 1.0])
    new = hyperbolic_step(theta, g, 10.0, 100.0, 0.0)  # exponent up to 1e5: overflow
    assert np.all(np.asarray(new[:2]) == 0.0)
    assert np.all(np.sign(np.asarray(new[2:])) * np.sign(np.asarray(theta[2:])) >= 0)


def test_bad_hyperparameters_raise():
    for kwargs, name in (
        ({"alpha": -1.0}, "alpha"),
        ({"beta": -0.1}, "beta"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"exponent_clip": 0.0}, "exponent_clip"),
        ({"nan_policy": "skip"}, "nan_policy"),
    ):
        with pytest.raises(ValueError, match=name):
            ham(**kwargs)
    with pytest.raises(ValueError, match="params"):
        opt = ham()
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)))


def test_nan_gradient_is_reported():
    opt = ham(1.0, 0.0, 0.1)
    x = jnp.ones(3)
    g = jnp.asarray([1.0, jnp.nan, 0.0])
    with pytest.raises(Exception, match="NaN/inf"):
        jax.block_until_ready(jax.jit(opt.update)(g, opt.init(x), x))
    # 'revert': the wrapper's guard keeps the base step of a non-finite leaf, which
    # is still NaN where the gradient is NaN (documented), finite elsewhere.
    big = ham(1.0, 0.0, 1.0, nan_policy="revert")
    upd, _ = big.update(jnp.asarray([1e6, 1.0]), big.init(jnp.ones(2)), jnp.ones(2))
    np.testing.assert_allclose(optax.apply_updates(jnp.ones(2), upd), [1 - 1e6, 0.0])
    ign = ham(1.0, 0.0, 0.1, nan_policy="ignore")
    upd, _ = ign.update(g, ign.init(x), x)
    assert np.isnan(np.asarray(upd)[1])


def test_every_ham_claim_of_the_spec_is_registered():
    spec = {
        "discrete_to_flow_order1",
        "flow_limit",
        "flow_limit_beta",
        "discrete_limit_order1",
        "small_alpha_gd",
        "mild_sparsity",
        "ngd_one_step",
        "faster_than_mw",
        "pl_rate",
        "zero_sign_preserving",
        "no_state_overhead",
    }
    registered = {c.id for c in mfa.REGISTRY.values() if c.paper == "ham"}
    assert registered == {f"ham.{name}" for name in spec}


def test_scipy_event_before_every_save_time():
    # Oracle: GD on (x - 1)^2 / 2 from x0 = -0.5 is x(t) = 1 - 1.5 e^{-t}; the loss
    # reaches s at t = log(1.5 / sqrt(2 s)). The event precedes the only save time.
    prob = mf.LinearRegression(jnp.ones((1, 1)), jnp.ones(1))
    s = 0.5e-6
    sol = mf.integrate(
        ham_flow(prob, 0.0),
        jnp.asarray([-0.5]),
        0.0,
        100.0,
        ts=jnp.asarray([100.0]),
        solver=mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
        stop_loss=s,
    )
    assert sol.result == "event" and sol.ts.shape == (0,) and sol.xs.shape == (0, 1)
    assert float(sol.t_final) == pytest.approx(np.log(1.5 / np.sqrt(2 * s)), rel=1e-9)
