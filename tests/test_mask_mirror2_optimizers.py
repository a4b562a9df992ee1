"""m*w training and PILoT as optax transformations; the mask. and mirror2. claims."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mirrorflow as mf
import mirrorflow.app as mfa
from mirrorflow.app.cli import main
from mirrorflow.optimizers import (
    MaskWeight,
    factors_mask,
    hadamard_reparam,
    optimize,
    pilot,
    pilot_init,
    pilot_weight_decay,
    scheduled_weight_decay,
)
from mirrorflow.regularization import PilotRule, SwitchOff


@pytest.fixture(scope="module")
def problem():
    prob = mf.random_regression(10, 4, 2, 0)
    x_init = jnp.asarray(0.3 * np.random.default_rng(1).standard_normal(10))
    return prob, x_init


def test_pilot_init_meets_both_constraints():
    # Oracle: the defining equations m0*w0 = x, m0^2 - w0^2 = beta (docs/theory/core.md
    # §2.5): a few ulps of x, and for m0^2 - w0^2 (a difference of two numbers of
    # size m0^2) 8 eps * max(m0^2 + w0^2); float32: eps32 x 10.
    x = jnp.asarray(np.random.default_rng(2).standard_normal(50) * 3.0)
    eps = float(jnp.finfo(jnp.float64).eps)
    for beta in (1e-3, 0.5, 20.0):
        mw = pilot_init(x, beta)
        np.testing.assert_allclose(mw.m * mw.w, x, rtol=1e-15, atol=1e-15)
        size = float(jnp.max(mw.m**2 + mw.w**2))
        np.testing.assert_allclose(mw.m**2 - mw.w**2, beta, rtol=0, atol=8 * eps * size)
        assert np.all(np.asarray(mw.m) > 0)
    mw32 = pilot_init(x.astype(jnp.float32), 0.5)
    assert mw32.m.dtype == mw32.w.dtype == jnp.float32
    np.testing.assert_allclose(mw32.m * mw32.w, x.astype(jnp.float32), rtol=1e-6)


def _numpy_gd(A, b, x_init, beta, eta, steps, strength):
    """GD on f(m*w) + lambda_k(|m|^2 + |w|^2), in plain numpy (the oracle)."""
    m = np.sqrt(0.5 * (beta + np.sqrt(beta**2 + 4 * x_init**2)))
    w = x_init / m
    dose = 0.0
    for k in range(steps):
        lam = strength(k * eta)
        g = A.T @ (A @ (m * w) - b)
        m, w = m - eta * (g * w + 2 * lam * m), w - eta * (g * m + 2 * lam * w)
        dose += eta * lam
    return m, w, dose


def test_mw_gd_with_scheduled_decay_matches_numpy(problem):
    # Oracle: a plain-numpy reimplementation of the same update, 100 steps, 1e-12
    # (issue acceptance 2).
    prob, x_init = problem
    eta, beta = 0.05, 0.3
    schedule = SwitchOff(0.2, 2.0)  # switched off after 40 steps
    opt = hadamard_reparam(
        optax.chain(
            scheduled_weight_decay(schedule, eta, mask=factors_mask), optax.sgd(eta)
        ),
        beta=beta,
    )
    res = optimize(opt, prob.loss, x_init, 100)
    m, w, dose = _numpy_gd(
        np.asarray(prob.A),
        np.asarray(prob.b),
        np.asarray(x_init),
        beta,
        eta,
        100,
        lambda t: 0.2 if t < 2.0 else 0.0,
    )
    factors = res.opt_state.factors[0]
    np.testing.assert_allclose(factors.m, m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(factors.w, w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.params, m * w, rtol=1e-12, atol=1e-15)
    assert float(res.opt_state.inner_state[0].dose) == pytest.approx(dose, rel=1e-14)


def _numpy_pilot(A, b, x_init, beta, eta, steps, spe, lam0, delta, K, T):
    """PILoT's Algorithm 1 (spec reading, docs/theory/core.md) in plain numpy."""
    m = np.sqrt(0.5 * (beta + np.sqrt(beta**2 + 4 * x_init**2)))
    w = x_init / m
    lam, prev, history = lam0, -np.inf, []
    for k in range(steps):
        x = m * w
        if k > 0 and k % spe == 0:
            r = A @ x - b
            acc = -0.5 * r @ r  # the metric: negative training loss
            grow = acc >= prev and np.abs(x).sum() > K and (k // spe) < T / 2
            lam = lam * delta if grow else lam / delta
            prev = acc
            history.append(lam)
        g = A.T @ (A @ x - b)
        m, w = m - eta * (g * w + 2 * lam * m), w - eta * (g * m + 2 * lam * w)
    return m, w, lam, history


def test_pilot_matches_a_numpy_reimplementation(problem):
    # Oracle: plain-numpy Algorithm 1 with the same metric, 100 steps (10 epochs of
    # 10), 1e-12 (issue acceptance 2); both branches of the rule are exercised.
    prob, x_init = problem
    kw = dict(beta=0.3, initial_strength=0.05, factor=1.5, l1_target=0.9)
    opt = pilot(
        0.05,
        **kw,
        num_epochs=10,
        steps_per_epoch=10,
        metric_fn=lambda x: -prob.loss(x),
    )
    res = optimize(opt, prob.loss, x_init, 100)
    m, w, lam, history = _numpy_pilot(
        np.asarray(prob.A),
        np.asarray(prob.b),
        np.asarray(x_init),
        0.3,
        0.05,
        100,
        10,
        0.05,
        1.5,
        0.9,
        10,
    )
    assert min(np.diff(history)) < 0 < max(np.diff(history))  # both branches
    np.testing.assert_allclose(res.params, m * w, rtol=1e-12, atol=1e-15)
    decay_state = res.opt_state.inner_state[0]
    assert float(decay_state.strength) == pytest.approx(lam, rel=1e-14)


def test_pilot_takes_the_accuracy_as_an_extra_argument_and_chains(problem):
    # Oracle: the metric_fn path (identical arithmetic, 1e-15); chaining an inactive
    # clip in front changes nothing.
    prob, x_init = problem
    kw = dict(
        beta=0.3,
        initial_strength=0.05,
        factor=1.5,
        l1_target=0.9,
        num_epochs=6,
        steps_per_epoch=5,
    )
    a = pilot(0.05, **kw, metric_fn=lambda x: -prob.loss(x))
    b = optax.chain(optax.clip_by_global_norm(1e6), pilot(0.05, **kw))
    pa, pb = x_init, x_init
    sa, sb = a.init(pa), b.init(pb)
    for _ in range(30):
        ua, sa = a.update(jax.grad(prob.loss)(pa), sa, pa)
        ub, sb = b.update(jax.grad(prob.loss)(pb), sb, pb, accuracy=-prob.loss(pb))
        pa, pb = optax.apply_updates(pa, ua), optax.apply_updates(pb, ub)
    np.testing.assert_allclose(pa, pb, rtol=1e-15, atol=1e-16)


def test_mask_reparameterizes_only_the_chosen_leaves(problem):
    # Oracle: numpy GD with m*w on the weights and a plain GD step on the bias,
    # 20 steps, 1e-12.
    prob, x_init = problem
    A, b = np.asarray(prob.A), np.asarray(prob.b)

    def loss(p):
        r = prob.A @ p["w"] + p["bias"] - prob.b
        return 0.5 * jnp.vdot(r, r)

    params = {"w": x_init, "bias": jnp.asarray(0.3)}
    eta, beta = 0.05, 0.3
    opt = hadamard_reparam(optax.sgd(eta), beta=beta, mask={"w": True, "bias": False})
    res = optimize(opt, loss, params, 20)
    m = np.sqrt(0.5 * (beta + np.sqrt(beta**2 + 4 * np.asarray(x_init) ** 2)))
    w, c = np.asarray(x_init) / m, 0.3
    for _ in range(20):
        r = A @ (m * w) + c - b
        g = A.T @ r
        m, w, c = m - eta * g * w, w - eta * g * m, c - eta * r.sum()
    np.testing.assert_allclose(res.params["w"], m * w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.params["bias"], c, rtol=1e-12)
    bias_entry, w_entry = res.opt_state.factors  # leaves in key order: bias, w
    assert isinstance(w_entry, MaskWeight) and not isinstance(bias_entry, MaskWeight)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_jit_without_recompiling_and_dtype_preserved(problem, dtype):
    # Oracle: a trace counter (optax alias_test) and the dtypes of every output.
    prob, x_init = problem
    A = prob.A.astype(dtype)
    b = prob.b.astype(dtype)

    def loss(x):
        r = A @ x - b
        return 0.5 * jnp.vdot(r, r)

    opt = pilot(
        0.05,
        beta=0.3,
        initial_strength=0.05,
        factor=1.5,
        l1_target=0.9,
        num_epochs=4,
        steps_per_epoch=3,
        metric_fn=lambda x: -loss(x),
    )
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    params = x_init.astype(dtype)
    state = opt.init(params)
    for _ in range(5):
        params, state = step(params, state)
    assert len(traces) == 1
    assert params.dtype == dtype
    floats = [
        leaf
        for leaf in jax.tree.leaves(state)
        if jnp.issubdtype(leaf.dtype, jnp.floating)
    ]
    assert floats and all(leaf.dtype == dtype for leaf in floats)
    assert np.all(np.isfinite(np.asarray(params)))


def test_bad_optimizer_input_raises_value_error(problem):
    prob, x_init = problem
    with pytest.raises(ValueError, match="`beta`"):
        pilot_init(x_init, 0.0)
    with pytest.raises(ValueError, match="`beta`"):
        hadamard_reparam(optax.sgd(0.1), beta=float("nan"))
    with pytest.raises(ValueError, match="`beta`"):
        pilot(
            0.1,
            beta=-1.0,
            initial_strength=0.1,
            factor=2.0,
            l1_target=1.0,
            num_epochs=2,
            steps_per_epoch=1,
        )
    with pytest.raises(ValueError, match="`initial_strength`"):
        pilot(
            0.1,
            beta=1.0,
            initial_strength=-0.1,
            factor=2.0,
            l1_target=1.0,
            num_epochs=2,
            steps_per_epoch=1,
        )
    with pytest.raises(ValueError, match="`step_size`"):
        scheduled_weight_decay(SwitchOff(0.1, 1.0), 0.0)
    with pytest.raises(ValueError, match="`steps_per_epoch`"):
        pilot_weight_decay(PilotRule(0.1, 2.0, 1.0, 2), 0.1, 0)
    opt = scheduled_weight_decay(SwitchOff(0.1, 1.0), 0.1)
    with pytest.raises(ValueError, match="needs `params`"):
        opt.update(x_init, opt.init(x_init))
    no_metric = pilot(
        0.1,
        beta=1.0,
        initial_strength=0.1,
        factor=2.0,
        l1_target=1.0,
        num_epochs=2,
        steps_per_epoch=1,
    )
    with pytest.raises(ValueError, match="accuracy"):
        no_metric.update(x_init, no_metric.init(x_init), x_init)


# --- claims -----------------------------------------------------------------------

# The claims of docs/theory/core.md and docs/theory/mirror_mirror.md that concern linear
# regression, scalar potentials or commuting quadratic parameterizations.
SPEC_MASK_IDS = {
    "mask.conservation",
    "mask.time_dependent_potential",
    "mask.limit_prediction",
    "mask.schedule_invariance",
    "mask.l2_to_l1_transition",
    "mask.kernel_regime",
    "mask.constant_wd_lasso",
    "mask.pilot_beats_l1",
    "mask.gd_matches_time_dependent_flow",
}
SPEC_MIRROR2_IDS = {
    "mirror2.tdmf_identity",
    "mirror2.switch_off_wd",
    "mirror2.cumulative_dose",
    "mirror2.positional_bias",
    "mirror2.type_of_bias",
    "mirror2.switch_off_recovery",
    "mirror2.asymptotics",
    "mirror2.large_init_l2",
    "mirror2.constant_wd_lasso",
    "mirror2.quadratic_Q",
    "mirror2.range_k2",
}


def test_every_linear_mask_and_mirror2_claim_is_registered():
    for paper, ids in (("mask", SPEC_MASK_IDS), ("mirror2", SPEC_MIRROR2_IDS)):
        registered = {c.id for c in mfa.REGISTRY.values() if c.paper == paper}
        assert ids <= registered, paper
        for cid in ids:
            c = mfa.REGISTRY[cid]
            assert c.statement and c.reference and c.tolerance_origin and c.citation


@pytest.mark.slow  # the same claims run in `mirrorflow verify` (CI's main job)
def test_cheap_mirror2_claims_pass_through_the_cli(capsys):
    # The claims without ODE solves (closed forms and dual Newton), end to end.
    ids = [
        "mirror2.positional_bias",
        "mirror2.asymptotics",
        "mirror2.large_init_l2",
        "mirror2.type_of_bias",
    ]
    args = ["verify", "--quiet"] + [a for i in ids for a in ("--claim", i)]
    assert main(args) == 0
    assert "4/4 claims passed" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["mask", "mirror2"])
def test_all_claims_of_the_paper_pass(paper, capsys):
    # The full verification (about a minute per paper on two cores).
    assert main(["verify", "--paper", paper, "--quiet"]) == 0
