"""LoRA problems: adapters Delta = B A on a frozen linear map and a frozen MLP."""

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import mirrorflow as mf
from mirrorflow.problems import LoRALinear, LoRAMLP, lora_init, lora_regression

from .helpers import optimize_twice_without_retracing


class _Products(mf.AbstractReparam):
    """A minimal adapter reparameterization: pairs ((B1, A1), ...) -> flat (B A)s."""

    def to_x(self, params):
        return jnp.concatenate([(B @ A).ravel() for B, A in params])

    def conserved(self, params):
        return tuple(B.T @ B - A @ A.T for B, A in params)

    def induced_potential(self, params0):
        raise ValueError("no closed-form potential for B A")

    @property
    def time_factor(self):
        raise ValueError("no closed-form potential for B A")


PRODUCTS = _Products()
# LSODA with tolerances 100x tighter than the default diffrax solve it referees.
LSODA = mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14)
# Default diffrax solve: local tolerances rtol 1e-10, atol 1e-12. Over a horizon of
# a few time units of a smooth flow the global error stays within 100x of them.
ODE_RTOL, ODE_ATOL = 1e-8, 1e-10


def _tiny_linear(seed=0, out=4, in_=3, n=10):
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((out, in_)) / np.sqrt(in_)
    U = rng.standard_normal((n, in_))
    Y = rng.standard_normal((n, out))
    return LoRALinear(W0, U, Y)


def _tiny_mlp(seed=0, in_=4, hidden=5, classes=3, n=12):
    rng = np.random.default_rng(seed)
    return LoRAMLP(
        rng.standard_normal((hidden, in_)) / 2,
        rng.standard_normal(hidden) / 4,
        rng.standard_normal((classes, hidden)) / 2,
        rng.standard_normal(classes) / 4,
        rng.standard_normal((n, in_)),
        rng.integers(0, classes, n),
    )


def _adapter(key, out, in_, rank, b_scale=0.0):
    kb, ka = jr.split(key)
    B0, A0 = lora_init(ka, out, in_, rank)
    return B0 + b_scale * jr.normal(kb, B0.shape), A0


def _adapter_objective(problem, params):
    return problem.loss(PRODUCTS.to_x(params))


# ---------------------------------------------------------------- forward, gradient


def test_linear_loss_matches_a_sample_loop_and_its_gradient_formula():
    # Oracle: a numpy loop over the samples (exact, 1e-13), and the hand-written
    # gradient against autodiff (exact, 1e-13).
    prob = _tiny_linear()
    rng = np.random.default_rng(1)
    delta = rng.standard_normal(prob.W0.shape)
    W0, U, Y = map(np.asarray, (prob.W0, prob.inputs, prob.targets))
    want = sum(np.sum(((W0 + delta) @ U[k] - Y[k]) ** 2) for k in range(prob.n))
    want /= 2 * prob.n
    np.testing.assert_allclose(prob.loss(jnp.asarray(delta)), want, rtol=1e-13)
    flat = jnp.asarray(delta.ravel())
    np.testing.assert_allclose(prob.loss(flat), want, rtol=1e-13)
    np.testing.assert_allclose(
        prob.grad(jnp.asarray(delta)),
        jax.grad(prob.loss)(jnp.asarray(delta)),
        rtol=1e-13,
        atol=1e-14,
    )
    assert prob.grad(flat).shape == (prob.d,) == (12,)


def test_mlp_loss_matches_a_sample_loop():
    # Oracle: a numpy loop (explicit ReLU, log-sum-exp) per sample, 1e-13.
    prob = _tiny_mlp()
    rng = np.random.default_rng(2)
    D1 = rng.standard_normal(prob.W1.shape) / 3
    D2 = rng.standard_normal(prob.W2.shape) / 3
    W1, b1, W2, b2, U = (
        np.asarray(a) for a in (prob.W1, prob.b1, prob.W2, prob.b2, prob.inputs)
    )
    total = 0.0
    for u, label in zip(U, np.asarray(prob.labels), strict=True):
        h = np.maximum((W1 + D1) @ u + b1, 0.0)
        z = (W2 + D2) @ h + b2
        total += np.log(np.sum(np.exp(z - z.max()))) + z.max() - z[label]
    want = total / len(U)
    x = (jnp.asarray(D1), jnp.asarray(D2))
    np.testing.assert_allclose(prob.loss(x), want, rtol=1e-13)
    flat = jnp.concatenate([x[0].ravel(), x[1].ravel()])
    np.testing.assert_allclose(prob.loss(flat), want, rtol=1e-13)
    assert prob.d == flat.size and 0.0 <= float(prob.accuracy(x)) <= 1.0


def test_gradients_match_finite_differences(getkey):
    # Oracle: central finite differences (jax.test_util.check_grads), float64
    # tolerance for finite-difference gradients 1e-5.
    lin = _tiny_linear()
    delta = jr.normal(getkey(), lin.W0.shape)
    # (Jitted: check_grads evaluates each function many times.)
    check_grads(
        jax.jit(lambda d: lin.loss(d)),
        (delta,),
        order=1,
        modes=("rev",),
        atol=1e-5,
        rtol=1e-5,
    )
    check_grads(
        jax.jit(lambda d: lin.grad(d)),
        (delta,),
        order=1,
        modes=("fwd",),
        atol=1e-5,
        rtol=1e-5,
    )
    mlp = _tiny_mlp()
    x = (jr.normal(getkey(), mlp.W1.shape) / 3, jr.normal(getkey(), mlp.W2.shape) / 3)
    check_grads(
        jax.jit(lambda x: mlp.loss(x)),
        (x,),
        order=1,
        modes=("rev",),
        atol=1e-5,
        rtol=1e-5,
    )
    params = (_adapter(getkey(), 4, 3, 2, 0.5),)
    check_grads(
        jax.jit(lambda p: _adapter_objective(lin, p)),
        (params,),
        order=1,
        modes=("rev",),
        atol=1e-5,
        rtol=1e-5,
    )


# ---------------------------------------------------------------- the flows


# 60 save times 0.05, 0.1, ..., 3.0 (exact decimals), across the switch-off at 1.
TS = np.round(0.05 * np.arange(1, 61), 12)
SWITCH_TIME, LAM = 1.0, 0.2


def _linear_setup():
    """The tiny LoRALinear and its adapter init B0 = 0, A0 ~ N(0, 1/3), rank 2."""
    return _tiny_linear(), (_adapter(jr.PRNGKey(3), 4, 3, 2),)


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
    # Gradient flow on (B, A) of the tiny LoRALinear, plain or with decay
    # lam = 0.2 switched off at t = 1, saved at 60 times.
    #
    # Oracle 1: an independent integrator (LSODA, rtol 1e-12); tolerance from the
    # diffrax solve's (see ODE_RTOL).
    # Oracle 2: a conservation law. With G = grad f(BA) and the penalty
    # lam (|A|^2 + |B|^2): B' = -G A^T - 2 lam B, A' = -B^T G - 2 lam A, so
    # d/dt B^T B = -(A G^T B + B^T G A^T) - 4 lam B^T B and
    # d/dt A A^T = -(B^T G A^T + A G^T B) - 4 lam A A^T: the cross terms cancel in
    # d/dt (B^T B - A A^T) = -4 lam_t (B^T B - A A^T), C(t) = C(0) exp(-4 Lambda_t)
    # (Du, Hu & Lee 2018 for lam = 0). On both integrators' states, to the ODE
    # tolerance (C is O(1)).
    # Oracle 3 (plain): dF/dt = -||grad F||^2 <= 0; allowance 1e-13 for round-off
    # of a loss of order 1.
    prob, params0 = _linear_setup()
    schedule = mf.SwitchOff(LAM, SWITCH_TIME) if decay else None
    flow = mf.GradientFlow(prob, PRODUCTS, schedule)
    y0 = flow.initial_state(params0)
    sol = mf.integrate(flow, y0, 0.0, 3.0, ts=TS)
    ref = mf.integrate(flow, y0, 0.0, 3.0, ts=TS, solver=LSODA)
    np.testing.assert_allclose(sol.ts, TS, rtol=0, atol=0)
    for got, want in zip(jax.tree.leaves(sol.ys), jax.tree.leaves(ref.ys), strict=True):
        np.testing.assert_allclose(got, want, rtol=ODE_RTOL, atol=ODE_ATOL)
    np.testing.assert_allclose(sol.xs, ref.xs, rtol=ODE_RTOL, atol=ODE_ATOL)
    (c0,) = PRODUCTS.conserved(params0)
    assert float(jnp.abs(c0).max()) > 0.1  # B0 = 0: C0 = -A0 A0^T, not zero
    dose = LAM * np.minimum(TS, SWITCH_TIME) if decay else 0.0 * TS
    for traj in (sol, ref):
        for k, t in enumerate(TS):
            (c,) = PRODUCTS.conserved(jax.tree.map(lambda a, k=k: a[k], traj.ys))
            np.testing.assert_allclose(
                c,
                np.exp(-4.0 * dose[k]) * np.asarray(c0),
                rtol=0,
                atol=ODE_RTOL,
                err_msg=f"t={t}",
            )
    if not decay:
        losses = np.asarray(jax.vmap(flow.loss)(sol.ys))
        assert np.all(np.diff(losses) <= 1e-13), np.diff(losses).max()
        assert losses[-1] < 0.5 * float(flow.loss(y0))


# ---------------------------------------------------------------- discrete training


def _float32(prob):
    return LoRALinear(
        *(a.astype(jnp.float32) for a in (prob.W0, prob.inputs, prob.targets))
    )


def test_adamw_float32_trains_without_recompiling_on_new_data():
    # Oracle: a Python side effect runs only while JAX traces; a second call with
    # new data of the same shapes must not trace (or compile) again.
    first = _float32(lora_regression(0, d=8, n=64))
    second = _float32(lora_regression(1, d=8, n=64))
    params0 = (lora_init(jr.PRNGKey(0), 8, 8, 4, dtype=jnp.float32),)
    optimizer = optax.adamw(1e-2, weight_decay=0.1)
    res1, res2 = optimize_twice_without_retracing(
        optimizer, _adapter_objective, first, second, params0, 200
    )
    for res, prob in ((res1, first), (res2, second)):
        assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(res.params))
        loss0 = float(_adapter_objective(prob, params0))
        assert float(res.loss) < 0.5 * loss0  # it trains


def test_gradient_descent_tracks_the_flow_at_first_order():
    # Oracle: the flow at t = 1 (LSODA, rtol 1e-12: error far below the GD
    # errors) and the order of forward Euler: global error O(eta) at a fixed
    # time. Fitted slope of log error against log eta in 1 +- 0.2.
    prob, params0 = _linear_setup()
    horizon = 1.0
    flow = mf.GradientFlow(prob, PRODUCTS)
    ref = mf.integrate(flow, params0, 0.0, horizon, ts=[horizon], solver=LSODA)
    target = jax.tree.map(lambda a: a[-1], ref.ys)
    etas = np.array([0.02, 0.01, 0.005])
    errors = []
    for eta in etas:
        res = mf.optimize(
            optax.sgd(float(eta)),
            jtu.Partial(_adapter_objective, prob),
            params0,
            int(round(horizon / eta)),
        )
        diff = jax.tree.map(lambda a, b: a - b, res.params, target)
        errors.append(np.sqrt(sum(float(jnp.sum(d**2)) for d in jax.tree.leaves(diff))))
    slope = np.polyfit(np.log(etas), np.log(errors), 1)[0]
    assert 0.8 <= slope <= 1.2, (errors, slope)
    assert errors[-1] > 1e3 * ODE_RTOL  # the reference's own error is negligible


# ---------------------------------------------------------------- data and errors


def test_lora_regression_is_the_recipe_instance():
    # Oracle: the recipe transcribed (draw order W0, G, H, U, E), exact.
    d, r, n, noise = 6, 2, 20, 0.01
    rng = np.random.default_rng(5)
    W0 = rng.standard_normal((d, d)) / np.sqrt(d)
    delta = rng.standard_normal((d, r)) @ rng.standard_normal((r, d))
    delta /= np.linalg.norm(delta)
    U = rng.standard_normal((n, d))
    Y = U @ (W0 + delta).T + noise * rng.standard_normal((n, d))
    prob = lora_regression(5, d=d, rank_true=r, n=n, noise=noise)
    np.testing.assert_array_equal(prob.W0, W0)
    np.testing.assert_array_equal(prob.inputs, U)
    np.testing.assert_allclose(prob.targets, Y, rtol=1e-15, atol=1e-15)
    sv = np.linalg.svd(np.asarray(prob.delta_star), compute_uv=False)
    np.testing.assert_allclose(np.sum(sv**2), 1.0, rtol=1e-14)  # ||Delta*||_F = 1
    assert sv[r - 1] > 1e-3 and sv[r] < 1e-12  # rank exactly r


def test_lora_init_statistics(getkey):
    # Oracle: B0 = 0 exactly; A0 ~ N(0, 1/in): the sample variance of 8 * 512
    # draws is within 10% (4.5 standard errors, sqrt(2/4096) = 2.2%) of 1/in.
    B0, A0 = lora_init(getkey(), 16, 512, 8)
    assert B0.shape == (16, 8) and A0.shape == (8, 512)
    np.testing.assert_array_equal(B0, 0.0)
    np.testing.assert_allclose(np.var(np.asarray(A0)) * 512, 1.0, rtol=0.1)
    np.testing.assert_allclose(np.mean(np.asarray(A0)) * np.sqrt(512), 0.0, atol=0.1)


def test_bad_input_errors(getkey):
    key = getkey()
    with pytest.raises(ValueError, match="`rank` must be an int >= 1"):
        lora_init(key, 4, 3, 0)
    with pytest.raises(ValueError, match=r"`rank` must be <= min\(out, in\) = 3"):
        lora_init(key, 4, 3, 4)
    with pytest.raises(ValueError, match="`out` must be an int >= 1"):
        lora_init(key, 0, 3, 1)
    with pytest.raises(ValueError, match="`rank_true` must be <= min"):
        lora_regression(0, d=4, rank_true=5)
    with pytest.raises(ValueError, match="`rank_true` must be an int >= 1"):
        lora_regression(0, rank_true=0)
    with pytest.raises(ValueError, match="`noise` must be a finite float >= 0"):
        lora_regression(0, noise=-1.0)
    W0, U, Y = jnp.zeros((4, 3)), jnp.zeros((10, 3)), jnp.zeros((10, 4))
    with pytest.raises(ValueError, match="`inputs` must have shape"):
        LoRALinear(W0, jnp.zeros((10, 2)), Y)
    with pytest.raises(ValueError, match="`targets` must have shape"):
        LoRALinear(W0, U, jnp.zeros((9, 4)))
    with pytest.raises(ValueError, match="`delta_star` must have the shape"):
        LoRALinear(W0, U, Y, jnp.zeros((3, 4)))
    prob = LoRALinear(W0, U, Y)
    with pytest.raises(ValueError, match=r"`x` must have the shape \(4, 3\)"):
        prob.loss(jnp.zeros((3, 4)))
    mlp = _tiny_mlp()
    with pytest.raises(ValueError, match="`D2` must have the shape"):
        mlp.loss((jnp.zeros(mlp.W1.shape), jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match="flat model output must have shape"):
        mlp.loss(jnp.zeros(7))
    args = [mlp.W1, mlp.b1, mlp.W2, mlp.b2, mlp.inputs, mlp.labels]
    with pytest.raises(ValueError, match="`b1` does not match"):
        LoRAMLP(args[0], jnp.zeros(2), *args[2:])
    with pytest.raises(ValueError, match="`W2` does not match"):
        LoRAMLP(*args[:2], jnp.zeros((3, 2)), *args[3:])
    with pytest.raises(ValueError, match="`num_classes` must be an int >= 2"):
        LoRAMLP(*args[:2], mlp.W2[:1], mlp.b2[:1], args[4], 0 * args[5])
    with pytest.raises(ValueError, match="`labels` must lie in"):
        LoRAMLP(*args[:5], args[5] + 3)
