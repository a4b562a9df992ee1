"""Single-layer softmax attention: the loss of (K^T Q, W V) and its factorization."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import mirrorflow as mf
from mirrorflow.problems import (
    Attention,
    AttentionFactors,
    AttentionParams,
    attention_init,
    digits_tokens,
)

from .helpers import optimize_twice_without_retracing


FACTORS = AttentionFactors()
# LSODA with tolerances 100x tighter than the default diffrax solve it referees.
LSODA = mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14)
# Default diffrax solve: local tolerances rtol 1e-10, atol 1e-12. Over a horizon of
# a few time units of a smooth flow the global error stays within 100x of them.
ODE_RTOL, ODE_ATOL = 1e-8, 1e-10


def _tiny(seed=0, n=6, T=3, d=3, classes=3, loss="cross_entropy"):
    rng = np.random.default_rng(seed)
    return Attention(
        rng.uniform(0.0, 1.0, (n, T, d)),
        rng.integers(0, classes, n),
        classes,
        loss=loss,
    )


def _params(key, d=3, classes=3, fixed_value=False, scale=1.5):
    p = attention_init(
        key,
        d,
        classes,
        key_dim=2,
        value_dim=2 if not fixed_value else d,
        fixed_value=fixed_value,
    )
    return jax.tree.map(lambda a: scale * a, p)


def _numpy_logits(prob, M, P):
    """Loop over sequences and queries: softmax over keys, mean over queries."""
    X = np.asarray(prob.tokens)
    gamma = 1.0 / np.sqrt(X.shape[2])
    out = []
    for seq in X:
        pooled = np.zeros(X.shape[2])
        for j in range(len(seq)):
            s = np.array([gamma * seq[i] @ M @ seq[j] for i in range(len(seq))])
            a = np.exp(s - s.max()) / np.sum(np.exp(s - s.max()))
            pooled += sum(a[i] * seq[i] for i in range(len(seq))) / len(seq)
        out.append(P @ pooled)
    return np.array(out)


# ---------------------------------------------------------------- forward, gradient


@pytest.mark.parametrize("fixed_value", [False, True])
def test_losses_match_a_numpy_loop(getkey, fixed_value):
    # Oracle: an independent numpy loop (scores K^T Q, softmax over keys, mean
    # pooling, readout W V), exact up to round-off (1e-13).
    prob = _tiny()
    K, Q, V, W = (
        None if a is None else np.asarray(a)
        for a in _params(getkey(), fixed_value=fixed_value)
    )
    M, P = K.T @ Q, (W if V is None else W @ V)
    logits = _numpy_logits(prob, M, P)
    labels = np.asarray(prob.labels)
    z = logits - logits.max(axis=1, keepdims=True)
    ce = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), labels])
    sq = 0.5 * np.sum((logits - np.eye(3)[labels]) ** 2) / len(labels)
    params = AttentionParams(
        *(None if a is None else jnp.asarray(a) for a in (K, Q, V, W))
    )
    x_pair, x_flat = FACTORS.factors(params), FACTORS.to_x(params)
    assert x_flat.shape == (prob.d,) == (9 + 9,)
    np.testing.assert_allclose(prob.logits(x_pair), logits, rtol=1e-13, atol=1e-14)
    for x in (x_pair, x_flat):
        np.testing.assert_allclose(prob.loss(x), ce, rtol=1e-13)
    squared = _tiny(loss="squared")
    np.testing.assert_allclose(squared.loss(x_flat), sq, rtol=1e-13)
    acc = np.mean(np.argmax(logits, axis=1) == labels)
    np.testing.assert_allclose(prob.accuracy(x_pair), acc, rtol=0, atol=0)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared"])
def test_gradients_match_finite_differences(getkey, loss):
    # Oracle: central finite differences (jax.test_util.check_grads), float64
    # tolerance for finite-difference gradients 1e-5; on the model output (M, P)
    # and on the factors (K, Q, V, W). (Jitted: check_grads evaluates often.)
    prob = _tiny(loss=loss)
    params = _params(getkey())
    x = FACTORS.factors(params)
    check_grads(
        jax.jit(lambda x: prob.loss(x)), (x,), 1, modes=("rev",), atol=1e-5, rtol=1e-5
    )
    check_grads(
        jax.jit(lambda x: prob.grad(x)), (x,), 1, modes=("fwd",), atol=1e-5, rtol=1e-5
    )
    check_grads(
        jax.jit(lambda p: prob.loss(FACTORS.to_x(p))),
        (params,),
        1,
        modes=("rev",),
        atol=1e-5,
        rtol=1e-5,
    )


def test_penalty_is_plain_l2_and_no_potential_exists(getkey):
    # Oracle: the definition of the penalty, sum of squares of every weight
    # matrix (exact); the reparameterization has no closed-form potential.
    params = _params(getkey())
    want = sum(np.sum(np.asarray(a) ** 2) for a in params)
    np.testing.assert_allclose(FACTORS.penalty(params), want, rtol=1e-14)
    with pytest.raises(ValueError, match="no closed-form mirror potential"):
        FACTORS.induced_potential(params)
    with pytest.raises(ValueError, match="no induced potential"):
        FACTORS.time_factor  # noqa: B018
    with pytest.raises(ValueError, match="no time-dependent potential"):
        FACTORS.decay_family(params)


# ---------------------------------------------------------------- the flows


# 60 save times 0.05, 0.1, ..., 3.0 (exact decimals), across the switch-off at 1.
TS = np.round(0.05 * np.arange(1, 61), 12)
SWITCH_TIME, LAM = 1.0, 0.2


def _balancedness_errors(traj, params0, dose):
    """Max |C(t) - C(0) exp(-4 Lambda_t)| over the save times, per factorization."""
    c0 = FACTORS.conserved(params0)
    errors = []
    for k in range(len(TS)):
        params = jax.tree.map(lambda a, k=k: a[k], traj.ys)
        for c, c_0 in zip(FACTORS.conserved(params), c0, strict=True):
            want = np.exp(-4.0 * dose[k]) * np.asarray(c_0)
            errors.append(float(np.max(np.abs(np.asarray(c) - want))))
    return max(errors)


# The decayed flow compiles a second solve (~4-7 s): in the slow suite.
@pytest.mark.parametrize(
    "decay",
    [
        # Both ~5-10 s; verify's mirror2 claims run the same flows.
        pytest.param(False, id="plain", marks=pytest.mark.slow),
        pytest.param(True, id="switch_off", marks=pytest.mark.slow),
    ],
)
def test_parameter_flow(decay):
    # Gradient flow on (K, Q, V, W) of the tiny problem, plain or with decay
    # lam = 0.2 switched off at t = 1, saved at 60 times.
    #
    # Oracle 1: an independent integrator (LSODA, rtol 1e-12); tolerance from the
    # diffrax solve's (see ODE_RTOL).
    # Oracle 2: a conservation law. For M = K^T Q with G = grad of the loss in M,
    # K' = -Q G^T - 2 lam K and Q' = -K G - 2 lam Q, so
    # d/dt (K K^T - Q Q^T) = -4 lam_t (K K^T - Q Q^T); likewise W^T W - V V^T for
    # P = W V (Du, Hu & Lee 2018 for lam = 0): C(t) = C(0) exp(-4 Lambda_t), on
    # both integrators' states to the ODE tolerance (C is O(1)).
    # Oracle 3 (plain): dF/dt = -||grad F||^2 <= 0; allowance 1e-13 for round-off
    # of a loss of order 1.
    prob = _tiny()
    params0 = _params(jr.PRNGKey(7))
    schedule = mf.SwitchOff(LAM, SWITCH_TIME) if decay else None
    flow = mf.GradientFlow(prob, FACTORS, schedule)
    y0 = flow.initial_state(params0)
    sol = mf.integrate(flow, y0, 0.0, 3.0, ts=TS)
    ref = mf.integrate(flow, y0, 0.0, 3.0, ts=TS, solver=LSODA)
    np.testing.assert_allclose(sol.ts, TS, rtol=0, atol=0)
    for got, want in zip(jax.tree.leaves(sol.ys), jax.tree.leaves(ref.ys), strict=True):
        np.testing.assert_allclose(got, want, rtol=ODE_RTOL, atol=ODE_ATOL)
    np.testing.assert_allclose(sol.xs, ref.xs, rtol=ODE_RTOL, atol=ODE_ATOL)
    dose = LAM * np.minimum(TS, SWITCH_TIME) if decay else 0.0 * TS
    for traj in (sol, ref):
        assert _balancedness_errors(traj, params0, dose) <= ODE_RTOL
    if not decay:
        losses = np.asarray(jax.vmap(flow.loss)(sol.ys))
        assert np.all(np.diff(losses) <= 1e-13), np.diff(losses).max()
        assert losses[-1] < float(flow.loss(y0))


# ---------------------------------------------------------------- discrete training


def _objective(problem, params):
    return problem.loss(FACTORS.to_x(params))


def test_adamw_float32_on_digits_does_not_recompile_on_new_data():
    # Oracle: a Python side effect runs only while JAX traces; a second call with
    # another split (same shapes) must not trace (or compile) again.
    first, _ = digits_tokens(0, dtype=jnp.float32)
    second, _ = digits_tokens(1, dtype=jnp.float32)
    params0 = attention_init(jr.PRNGKey(0), 8, 10, fixed_value=True, dtype=jnp.float32)
    optimizer = optax.adamw(3e-3, weight_decay=1e-2)
    res1, res2 = optimize_twice_without_retracing(
        optimizer, _objective, first, second, params0, 30
    )
    for res, prob in ((res1, first), (res2, second)):
        assert res.params.V is None
        assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(res.params))
        assert float(res.loss) < float(prob.loss(FACTORS.to_x(params0)))


# ---------------------------------------------------------------- data and errors


def test_digits_tokens_is_the_recipe_split():
    # Oracle: sklearn's images, rows as tokens, pixels / 16, shuffled by
    # default_rng(seed).permutation, last 20% (359 of 1797) for testing; exact.
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    order = np.random.default_rng(3).permutation(1797)
    train, test = digits_tokens(3)
    for prob, idx in ((train, order[:1438]), (test, order[1438:])):
        assert prob.tokens.shape == (len(idx), 8, 8) and prob.num_classes == 10
        np.testing.assert_array_equal(prob.tokens[:, 2, :], images[idx, 16:24] / 16)
        np.testing.assert_array_equal(prob.labels, labels[idx])
        assert float(prob.tokens.min()) == 0.0 and float(prob.tokens.max()) == 1.0


def test_bad_input_errors(getkey):
    tokens, labels = jnp.zeros((4, 3, 2)), jnp.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"sequence length T >= 1"):
        Attention(jnp.zeros((4, 0, 2)), labels, 2)
    with pytest.raises(ValueError, match=r"`tokens` must have shape \(n, T, d\)"):
        Attention(jnp.zeros((4, 2)), labels, 2)
    with pytest.raises(ValueError, match=r"`labels` must have shape \(4,\)"):
        Attention(tokens, labels[:3], 2)
    with pytest.raises(ValueError, match="`labels` must be integer"):
        Attention(tokens, labels.astype(float), 2)
    with pytest.raises(ValueError, match="`num_classes` must be an int >= 2"):
        Attention(tokens, 0 * labels, 1)
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, num_classes\)"):
        Attention(tokens, labels + 1, 2)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        Attention(tokens, labels, 2, loss="hinge")
    prob = Attention(tokens, labels, 2)
    with pytest.raises(ValueError, match=r"need M = K\^T Q of shape \(2, 2\)"):
        prob.loss((jnp.zeros((3, 3)), jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"flat model output must have shape \(8,\)"):
        prob.loss(jnp.zeros(7))
    K = jnp.zeros((2, 2))
    with pytest.raises(ValueError, match="`K` and `Q` must be matrices of one shape"):
        FACTORS.to_x((K, jnp.zeros((3, 2)), None, jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"`V` must have shape \(d_v, 2\)"):
        FACTORS.to_x((K, K, jnp.zeros((2, 3)), jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"`W` must have shape \(c, 4\)"):
        FACTORS.to_x((K, K, jnp.zeros((4, 2)), jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"`params` must be \(K, Q, V, W\)"):
        FACTORS.to_x((K, K))
    with pytest.raises(ValueError, match="`key_dim` must be an int >= 1"):
        attention_init(getkey(), 2, 2, key_dim=0)
    with pytest.raises(ValueError, match="`num_classes` must be an int >= 2"):
        attention_init(getkey(), 2, 1)
    with pytest.raises(ValueError, match="`value_dim` must equal `token_dim`"):
        attention_init(getkey(), 2, 2, value_dim=3, fixed_value=True)
    with pytest.raises(ValueError, match="`test_fraction` must be in"):
        digits_tokens(0, test_fraction=1.0)
    with pytest.raises(ValueError, match="`seed` must be an int >= 0"):
        digits_tokens(-1)
