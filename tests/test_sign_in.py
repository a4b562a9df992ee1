"""Sign-In (Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS 2025): m*w with resets."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from mirrorflow.masks import random_mask
from mirrorflow.optimizers import (
    HadamardReparamState,
    MaskWeight,
    hadamard_reparam,
    optimize,
    sign_flips,
    sign_in,
)

from .helpers import optimize_twice_without_retracing


BETA0, ETA = 0.5, 0.05


def _data(seed=0, n=10, d=4, k=3, dtype=np.float64):
    """Least squares X W + b ~ Y with a sign-mixed target (so weights flip)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W_star = rng.standard_normal((d, k))
    Y = X @ W_star + 0.1 * rng.standard_normal((n, k))
    W0 = -0.5 * W_star + 0.2 * rng.standard_normal((d, k))
    b0 = 0.1 * rng.standard_normal(k)
    return X.astype(dtype), Y.astype(dtype), W0.astype(dtype), b0.astype(dtype)


def _loss_fn(X, Y):
    X, Y = jnp.asarray(X), jnp.asarray(Y)

    def loss(p):
        r = X @ p["W"] + p["b"][None, :] - Y
        return 0.5 * jnp.sum(r * r) / X.shape[0]

    return loss


def _params(W0, b0):
    return {"W": jnp.asarray(W0), "b": jnp.asarray(b0)}


def _si2(theta, beta0):
    """SI-2 in numpy: m = sqrt((beta0 + sqrt(beta0^2 + 4 theta^2)) / 2), w = theta/m."""
    m = np.sqrt((beta0 + np.sqrt(beta0**2 + 4.0 * theta**2)) / 2.0)
    return m, theta / m


def _numpy_sign_in(X, Y, W0, b0, *, eta, mu, beta0, period, steps):
    """The spec's pseudo-code in plain numpy (the oracle): W = m*w, b plain.

    Base optimizer: SGD with heavy-ball momentum mu (optax's `trace`:
    t <- g + mu t, step -eta t), its buffers kept across resets.
    """
    n = X.shape[0]
    m, w = _si2(W0, beta0)
    b = b0.copy()
    tm, tw, tb = np.zeros_like(m), np.zeros_like(w), np.zeros_like(b)
    for k in range(1, steps + 1):
        r = X @ (m * w) + b[None, :] - Y
        gW, gb = X.T @ r / n, r.sum(axis=0) / n
        tm, tw, tb = gW * w + mu * tm, gW * m + mu * tw, gb + mu * tb
        m, w, b = m - eta * tm, w - eta * tw, b - eta * tb
        if k % period == 0:
            m, w = _si2(m * w, beta0)
    return m, w, b, (tm, tw, tb)


# --- 1. no reset = plain m*w training -------------------------------------------


def test_without_reset_equals_hadamard_reparam():
    # Oracle: hadamard_reparam(optax.sgd(eta), beta=beta0) on the same leaves,
    # 60 steps, 1e-12; the default selector picks W (ndim 2), not b.
    X, Y, W0, b0 = _data()
    loss = _loss_fn(X, Y)
    params = _params(W0, b0)
    ours = optimize(
        sign_in(optax.sgd(ETA), beta0=BETA0, reset_every=1000), loss, params, 60
    )
    ref = optimize(
        hadamard_reparam(optax.sgd(ETA), beta=BETA0, mask={"W": True, "b": False}),
        loss,
        params,
        60,
    )
    for key in ("W", "b"):
        np.testing.assert_allclose(
            ours.params[key], ref.params[key], rtol=1e-12, atol=1e-15
        )
    f_ours, f_ref = ours.opt_state.factors[0], ref.opt_state.factors[0]  # W first
    assert isinstance(f_ours, MaskWeight) and isinstance(f_ref, MaskWeight)
    assert not isinstance(ours.opt_state.factors[1], MaskWeight)
    np.testing.assert_allclose(f_ours.m, f_ref.m, rtol=1e-12)
    np.testing.assert_allclose(f_ours.w, f_ref.w, rtol=1e-12, atol=1e-15)
    assert int(ours.opt_state.count) == 60


# --- 2. the pseudo-code with resets ----------------------------------------------


@pytest.mark.parametrize("mu", [0.0, 0.9])
def test_matches_numpy_pseudo_code_with_resets(mu):
    # Oracle: `_numpy_sign_in`, the spec's loop in numpy, 100 steps, reset every 7,
    # SGD (mu = 0) and SGD + momentum (buffers kept across resets), 1e-12.
    X, Y, W0, b0 = _data(seed=1)
    base = optax.sgd(ETA) if mu == 0.0 else optax.sgd(ETA, momentum=mu)
    res = optimize(
        sign_in(base, beta0=BETA0, reset_every=7),
        _loss_fn(X, Y),
        _params(W0, b0),
        100,
    )
    m, w, b, buffers = _numpy_sign_in(
        X, Y, W0, b0, eta=ETA, mu=mu, beta0=BETA0, period=7, steps=100
    )
    np.testing.assert_allclose(res.params["W"], m * w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.params["b"], b, rtol=1e-12, atol=1e-14)
    f = res.opt_state.factors[0]
    np.testing.assert_allclose(f.m, m, rtol=1e-12)
    np.testing.assert_allclose(f.w, w, rtol=1e-12, atol=1e-14)
    if mu:
        # The momentum buffers of (m, w) and b, in key order W.m, W.w, b.
        ours = jax.tree.leaves(res.opt_state.inner_state)
        for a, e in zip(ours, buffers, strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14)
    # The resets matter: without them (same oracle, period > steps) W ends > 1e-3
    # away.
    m1, w1, _, _ = _numpy_sign_in(
        X, Y, W0, b0, eta=ETA, mu=mu, beta0=BETA0, period=1000, steps=100
    )
    assert np.max(np.abs(m1 * w1 - m * w)) > 1e-3
    assert int(res.opt_state.count) == 100


# --- 3. float32, jit without recompiling, vmap ------------------------------------


def test_float32_jit_without_retracing_and_vmap():
    # Oracle: a trace counter (tests/helpers.optimize_twice_without_retracing) and
    # the dtypes of every output; vmap against separate runs.
    X, Y, W0, b0 = _data(dtype=np.float32)
    X2, Y2, _, _ = _data(seed=3, dtype=np.float32)

    def objective(problem, p):
        A, T = problem
        r = A @ p["W"] + p["b"][None, :] - T
        return 0.5 * jnp.sum(r * r) / A.shape[0]

    opt = sign_in(optax.adamw(1e-2), beta0=BETA0, reset_every=7)
    params = _params(W0, b0)
    r1, r2 = optimize_twice_without_retracing(
        opt,
        objective,
        (jnp.asarray(X), jnp.asarray(Y)),
        (jnp.asarray(X2), jnp.asarray(Y2)),
        params,
        20,
    )
    for res in (r1, r2):
        assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(res.params))
        floats = [
            leaf
            for leaf in jax.tree.leaves(res.opt_state)
            if jnp.issubdtype(leaf.dtype, jnp.floating)
        ]
        assert floats and all(leaf.dtype == jnp.float32 for leaf in floats)
        assert all(np.all(np.isfinite(v)) for v in jax.tree.leaves(res.params))
    assert not np.allclose(r1.params["W"], r2.params["W"])

    sgd = sign_in(optax.sgd(ETA, momentum=0.9), beta0=BETA0, reset_every=2)
    grad = jax.grad(_loss_fn(X, Y))

    def run(scale):
        p = jax.tree.map(lambda v: v * scale, params)
        s = sgd.init(p)
        for _ in range(5):
            u, s = sgd.update(grad(p), s, p)
            p = optax.apply_updates(p, u)
        return p

    scales = jnp.asarray([0.5, 1.0, 2.0], jnp.float32)
    batched = jax.jit(jax.vmap(run))(scales)
    single = jax.jit(run)
    for i in range(3):
        one = single(scales[i])
        np.testing.assert_allclose(batched["W"][i], one["W"], rtol=1e-5, atol=1e-6)


# --- 4. the pruning mask ----------------------------------------------------------


def test_pruned_coordinates_stay_exactly_zero():
    # Oracle: the definition (exact zeros at every step of 60, with a reset every 3
    # steps and AdamW's decay of the factors); the initial params are not masked.
    X, Y, W0, b0 = _data(seed=2)
    params = _params(W0, b0)
    mask = random_mask(params, 0.5, jr.PRNGKey(0))
    mask = {"W": mask["W"], "b": jnp.asarray([True, False, True])}  # prune b[1] too
    opt = sign_in(
        optax.adamw(1e-2, weight_decay=1e-2),
        beta0=BETA0,
        reset_every=3,
        sparsity_mask=mask,
    )
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        res = optimize(opt, _loss_fn(X, Y), params, 60, save_every=1)
    pruned_W, pruned_b = ~np.asarray(mask["W"]), ~np.asarray(mask["b"])
    assert pruned_W.any() and (~pruned_W).any()
    traj = res.trajectory
    assert np.all(np.asarray(traj["W"])[1:, pruned_W] == 0.0)  # rows after steps
    assert np.all(np.asarray(traj["b"])[1:, pruned_b] == 0.0)
    assert np.all(np.asarray(res.opt_state.factors[0].w)[pruned_W] == 0.0)
    # Kept coordinates train: they moved and are nonzero.
    kept = np.asarray(res.params["W"])[~pruned_W]
    assert np.all(kept != 0.0)
    assert not np.allclose(kept, np.asarray(W0)[~pruned_W])


# --- 5. bad input -------------------------------------------------------------------


def test_bad_input_raises_value_error_naming_the_argument():
    sgd = optax.sgd(0.1)
    for kwargs, pattern in (
        ({"beta0": 1.0, "reset_every": 0}, "`reset_every`.*positive int"),
        ({"beta0": 1.0, "reset_every": -3}, "`reset_every`"),
        ({"beta0": 1.0, "reset_every": 2.5}, "`reset_every`.*steps_per_epoch"),
        ({"beta0": 1.0, "reset_every": True}, "`reset_every`"),
        ({"beta0": 1.0, "reset_every": None}, "`reset_every`"),
        ({"beta0": 0.0, "reset_every": 5}, "`beta0`.*finite float > 0"),
        ({"beta0": -1.0, "reset_every": 5}, "`beta0`"),
        ({"beta0": float("nan"), "reset_every": 5}, "`beta0`"),
        ({"beta0": float("inf"), "reset_every": 5}, "`beta0`"),
        ({"beta0": 1.0, "reset_every": 5, "nan_policy": "skip"}, "`nan_policy`"),
        ({"beta0": 1.0, "reset_every": 5, "mask": "weights"}, "`mask`.*bools"),
        ({"beta0": 1.0, "reset_every": 5, "mask": 3}, "`mask`"),
        (
            {"beta0": 1.0, "reset_every": 5, "sparsity_mask": {"W": np.full(2, 0.5)}},
            "`sparsity_mask`.*0/1",
        ),
    ):
        with pytest.raises(ValueError, match=pattern):
            sign_in(sgd, **kwargs)
    params = {"W": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    for kwargs, pattern in (
        # A mask whose shape differs from its parameter.
        (
            {"sparsity_mask": {"W": jnp.ones((2, 3), bool), "b": jnp.ones(2, bool)}},
            "`sparsity_mask` leaf has shape.*shaped like its parameter",
        ),
        ({"sparsity_mask": {"W": jnp.ones((3, 2), bool)}}, "`sparsity_mask`.*struct"),
        # Selector trees that do not match the params, or select nothing.
        ({"mask": {"W": True, "c": False}}, "`mask`.*structure of the params"),
        ({"mask": [True, False]}, "`mask`.*structure of the params"),
        ({"mask": {"W": False, "b": False}}, "`mask` selects no leaf"),
        ({"mask": lambda p: {"W": 1, "b": 0}}, "`mask`.*bools"),
    ):
        opt = sign_in(sgd, beta0=1.0, reset_every=5, **kwargs)
        with pytest.raises(ValueError, match=pattern):
            opt.init(params)
    opt = sign_in(sgd, beta0=1.0, reset_every=5)
    with pytest.raises(ValueError, match="`mask` selects no leaf"):
        opt.init({"b": jnp.zeros(3)})  # default selector: ndim >= 2 only
    with pytest.raises(ValueError, match="params"):
        opt.update(params, opt.init(params))


# --- 6. NaN gradient ------------------------------------------------------------------


def test_nan_gradient_policies_as_in_ham():
    # Oracle: ham's documented policies: 'raise' (default) errors under jit,
    # 'revert' keeps the previous value of a non-finite leaf, 'ignore' propagates.
    params = {"W": jnp.full((2, 2), 0.5), "b": jnp.ones(2)}
    grads = {"W": jnp.asarray([[1.0, jnp.nan], [0.0, 1.0]]), "b": jnp.ones(2)}
    opt = sign_in(optax.sgd(0.1), beta0=1.0, reset_every=3)
    with pytest.raises(Exception, match="NaN/inf"):
        jax.block_until_ready(jax.jit(opt.update)(grads, opt.init(params), params))
    # 'revert', with a reset due at that step: W stays exactly as it was.
    rev = sign_in(optax.sgd(0.1), beta0=1.0, reset_every=1, nan_policy="revert")
    state0 = rev.init(params)
    upd, state = rev.update(grads, state0, params)
    np.testing.assert_array_equal(upd["W"], 0.0)
    np.testing.assert_allclose(upd["b"], -0.1)  # b took its SGD step
    for new, old in zip(state.factors[0], state0.factors[0], strict=True):
        np.testing.assert_array_equal(new, old)
    ign = sign_in(optax.sgd(0.1), beta0=1.0, reset_every=3, nan_policy="ignore")
    upd, _ = ign.update(grads, ign.init(params), params)
    assert np.isnan(np.asarray(upd["W"])).any()


# --- 7. the reset identities ----------------------------------------------------------


def test_reset_keeps_product_and_restores_beta0_and_gd_erodes_beta():
    # Oracles: (a) a twin run without reset gives theta = m*w before the reset;
    # after it m*w = theta and m^2 - w^2 = beta0 (1e-12); (b) one plain GD step on
    # (m, w) gives beta+ = beta (1 - eta^2 g^2) per coordinate (exact algebra).
    X, Y, W0, b0 = _data(seed=4)
    loss = _loss_fn(X, Y)
    params = _params(W0, b0)
    eta = 0.2
    reset = optimize(
        sign_in(optax.sgd(eta), beta0=BETA0, reset_every=5), loss, params, 5
    )
    twin = optimize(
        sign_in(optax.sgd(eta), beta0=BETA0, reset_every=99), loss, params, 5
    )
    f, g = reset.opt_state.factors[0], twin.opt_state.factors[0]
    theta = np.asarray(g.m) * np.asarray(g.w)
    np.testing.assert_allclose(np.asarray(f.m) * np.asarray(f.w), theta, rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(f.m) ** 2 - np.asarray(f.w) ** 2, BETA0, rtol=1e-12
    )
    eroded = np.asarray(g.m) ** 2 - np.asarray(g.w) ** 2
    assert np.all(eroded < BETA0)  # the twin's beta eroded, as (b) predicts
    # (b) one step from the SI-2 split: beta = beta0, g = the gradient passed.
    opt = sign_in(optax.sgd(eta), beta0=BETA0, reset_every=99)
    state = opt.init(params)
    grads = jax.grad(loss)(params)
    _, state = opt.update(grads, state, params)
    new = state.factors[0]
    beta_plus = np.asarray(new.m) ** 2 - np.asarray(new.w) ** 2
    gW = np.asarray(grads["W"])
    np.testing.assert_allclose(beta_plus, BETA0 * (1 - eta**2 * gW**2), rtol=1e-12)


# --- 8. sign flips -----------------------------------------------------------------


def test_sign_flips_function_against_numpy():
    # Oracle: numpy's count of sign(a) * sign(b) < 0 (zeros, -0 and NaN never flip).
    a = {
        "x": np.asarray([1.0, -2.0, 0.0, 3.0, -0.0, 5.0, np.nan, -1e-300]),
        "y": np.asarray([[0.5, -0.5], [-1.0, 2.0]]),
    }
    b = {
        "x": np.asarray([-1.0, -1.0, 4.0, 0.0, 0.0, -2.0, 1.0, 1e-300]),
        "y": np.asarray([[-0.5, 0.5], [-3.0, -2.0]]),
    }
    ours = sign_flips(jax.tree.map(jnp.asarray, a), jax.tree.map(jnp.asarray, b))
    with np.errstate(invalid="ignore"):
        expected = {
            k: int(np.count_nonzero(np.sign(a[k]) * np.sign(b[k]) < 0)) for k in a
        }
    assert expected == {"x": 3, "y": 3}
    assert {k: int(v) for k, v in ours.items()} == expected
    with pytest.raises(ValueError, match="shape"):
        sign_flips({"x": jnp.ones(2)}, {"x": jnp.ones(3)})
    with pytest.raises(ValueError, match="structure"):
        sign_flips({"x": jnp.ones(2)}, [jnp.ones(2)])


def test_state_sign_flip_count_sums_the_steps():
    # Oracle: sign_flips of consecutive iterates of the run, summed (numpy check of
    # the same count).
    X, Y, W0, b0 = _data(seed=5)
    opt = sign_in(optax.sgd(0.1, momentum=0.9), beta0=BETA0, reset_every=4)
    res = optimize(opt, _loss_fn(X, Y), _params(W0, b0), 40, save_every=1)
    assert isinstance(res.opt_state, HadamardReparamState)
    traj = {k: np.asarray(v) for k, v in res.trajectory.items()}
    total = {k: 0 for k in traj}
    for i in range(40):
        step = sign_flips(
            {k: v[i] for k, v in traj.items()}, {k: v[i + 1] for k, v in traj.items()}
        )
        for k in total:
            total[k] += int(step[k])
            assert int(step[k]) == int(np.sum(traj[k][i] * traj[k][i + 1] < 0))
    flips_W, flips_b = (int(c) for c in res.opt_state.sign_flips)
    assert flips_W == total["W"] > 0
    assert flips_b == total["b"]


def test_per_step_flip_count_agrees_with_comparisons():
    # Oracle: numpy's count of sign(a) * sign(b) < 0 on float32 / float64 arrays of
    # several ranks with exact zeros; the per-step (vectorized) count used in the
    # state must agree, and count 0 for a row holding a NaN (documented).
    from mirrorflow.optimizers._pilot import _flip_count_rows

    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        for shape in ((), (7,), (5, 9), (3, 4, 6)):
            a = np.asarray(rng.standard_normal(shape), dtype)
            b = np.asarray(a + rng.standard_normal(shape), dtype)
            a, b = np.where(a > 1.2, 0, a), np.where(b < -1.5, 0, b)  # exact zeros
            expected = int(np.count_nonzero(np.sign(a) * np.sign(b) < 0))
            got = _flip_count_rows(jnp.asarray(a), jnp.asarray(b), jnp.int32)
            assert int(got) == expected, (dtype, shape)
    a = jnp.asarray([[1.0, -1.0], [jnp.nan, 1.0], [2.0, 2.0]])
    b = jnp.asarray([[-1.0, 1.0], [-1.0, -1.0], [-2.0, 2.0]])
    assert int(_flip_count_rows(a, b, jnp.int32)) == 3  # row 1 (NaN) counts 0
    assert int(sign_flips(a, b)) == 4  # the public count: NaN no flip, others do
