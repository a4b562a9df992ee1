"""The Theorem 2.2 toy of NanoAdam: `problems.TwoLayerReLU` and
`papers.teacher_student`."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from mirrorflow.papers import teacher_student as toy
from mirrorflow.problems import TwoLayerReLU, relu_teacher_student
from mirrorflow.solvers import integrate


def _numpy_loss_grad(a, W, X, y):
    pre = X @ W.T
    act = np.maximum(pre, 0.0)
    r = act @ a - y
    loss = 0.5 * np.mean(r**2)
    ga = act.T @ r / len(y)
    gW = ((r[:, None] * (pre > 0)) * a[None, :]).T @ X / len(y)
    return loss, ga, gW


def _small_problem(seed=0, n=50, k=4, dim=3):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, dim)), rng.normal(size=n)
    a, W = rng.normal(size=k), rng.normal(size=(k, dim))
    return TwoLayerReLU(X, y, k), a, W, X, y


def test_loss_and_grad_match_numpy_and_finite_differences():
    problem, a, W, X, y = _small_problem()
    x = TwoLayerReLU.join(a, W)
    loss, ga, gW = _numpy_loss_grad(a, W, X, y)
    assert problem.d == 4 * (1 + 3)
    np.testing.assert_allclose(problem.loss(x), loss, rtol=1e-13)
    np.testing.assert_allclose(problem.grad(x), np.concatenate([ga, gW.ravel()]))
    np.testing.assert_allclose(jax.grad(problem.loss)(x), problem.grad(x), atol=1e-14)
    pa, pW = problem.grad((a, W))
    np.testing.assert_allclose(pa, ga, atol=1e-14)
    np.testing.assert_allclose(pW, gW, atol=1e-14)
    np.testing.assert_allclose(problem.loss((a, W)), loss, rtol=1e-13)
    h = 1e-6
    fd = [
        (problem.loss(x + h * e) - problem.loss(x - h * e)) / (2 * h)
        for e in np.eye(problem.d)
    ]
    np.testing.assert_allclose(fd, problem.grad(x), atol=1e-8)


def test_two_layer_relu_validation_names_the_argument():
    with pytest.raises(ValueError, match="`targets`"):
        TwoLayerReLU(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match="`inputs`"):
        TwoLayerReLU(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="`width`"):
        TwoLayerReLU(np.ones((5, 2)), np.ones(5), width=0)
    problem = TwoLayerReLU(np.ones((5, 2)), np.ones(5), width=3)
    with pytest.raises(ValueError, match="`x`"):
        problem.loss(jnp.ones(8))
    with pytest.raises(ValueError, match="`x`"):
        problem.loss((jnp.ones(3), jnp.ones((2, 2))))


def test_paired_init_is_identically_zero_and_teacher_is_unit_norm():
    ts = relu_teacher_student(jr.key(3))
    a, W = ts.problem.split(ts.x0)
    assert a.shape == (20,) and W.shape == (20, 2)
    np.testing.assert_array_equal(a[:10], -a[10:])
    np.testing.assert_array_equal(W[:10], W[10:])
    Z = jr.normal(jr.key(9), (500, 2))
    np.testing.assert_allclose(ts.problem.predict(ts.x0, Z), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(ts.teacher_W, axis=1), 1.0)
    assert set(np.abs(np.asarray(ts.teacher_a))) == {1.0}


# ~5 s; verify's nanoadam.toy_smallest_neuron checks the frozen weights.
@pytest.mark.slow
def test_training_only_neuron_j_leaves_every_other_weight_unchanged():
    out = toy.finetune(0, "smallest_neuron", steps=200, pre_steps=2000)
    inst, x_pre = toy.pretrain(0, steps=2000)
    j = int(toy.smallest_neuron(x_pre, inst.extra_a))
    assert out["j"] == j
    a, W = x_pre[:20], x_pre[20:].reshape(20, 2)
    ok = jnp.sign(a) == jnp.sign(inst.extra_a)
    size = jnp.abs(a) * jnp.linalg.norm(W, axis=1)
    assert ok[j] and size[j] == size[ok].min()
    frozen = ~np.asarray(toy.neuron_mask(j))
    np.testing.assert_array_equal(out["x_ft"][frozen], np.asarray(x_pre)[frozen])
    assert not np.array_equal(out["x_ft"], np.asarray(x_pre))
    assert out["shift_others"] == 0.0 and out["preserved"]


# ~7 s; verify's nanoadam.toy_smallest_neuron compares GD and flow limits.
@pytest.mark.slow
def test_flow_and_gd_agree_to_first_order_in_the_step():
    t1 = 5.0
    sol, flow, _, _ = toy.smallest_neuron_flow(0, t1, pre_steps=2000, rtol=1e-10)
    x_flow = np.asarray(flow.to_primal(sol.y_final))
    errs = []
    for lr in (0.02, 0.01):
        out = toy.finetune(
            0, "smallest_neuron", steps=round(t1 / lr), lr=lr, pre_steps=2000
        )
        errs.append(np.abs(out["x_ft"] - x_flow).max())
    # GD's global error is O(eta): halving the step halves it.
    assert errs[1] < 0.1 * 0.01
    assert 1.6 < errs[0] / errs[1] < 2.4, errs


# ~6 s (part of the slow suite for time).
@pytest.mark.slow
def test_gradient_flow_conserves_balancedness():
    # |a_i|^2 - ||w_i||^2 is conserved neuron by neuron (1-homogeneity), whichever
    # neurons train: here all of them, from unbalanced weights, on 400 samples.
    inst, x_pre = toy.pretrain(0, steps=2000)
    problem = TwoLayerReLU(inst.X[:400], inst.y_ft[:400], toy.WIDTH)
    x0 = x_pre.at[:20].multiply(1.5)
    flow = toy.NeuronSubsetFlow(problem, x0, jnp.arange(20))
    ts = jnp.linspace(0.25, 1.0, 4)
    sol = integrate(
        flow,
        flow.initial_state(),
        0.0,
        1.0,
        ts=ts,
        solver=dfx.Tsit5(),
        rtol=1e-10,
        atol=1e-12,
    )
    assert np.abs(sol.xs[-1] - x0).max() > 1e-3  # it moved
    b = np.stack([problem.balancedness(x) for x in sol.xs])
    b0 = np.asarray(problem.balancedness(x0))
    np.testing.assert_allclose(b, np.broadcast_to(b0, b.shape), atol=1e-9)


@pytest.mark.slow
def test_ten_seed_comparison_smallest_neuron_shift_and_loss():
    out = toy.compare(range(10), flow=False)
    small, large = out["smallest_neuron"], out["large_gradients"]
    assert small["preserved"].sum() == 10 and large["preserved"].sum() < 10
    assert np.all(small["shift_others"] == 0.0)


def test_loss_sees_neuron_j_only_through_v_and_bad_strategies_are_refused():
    # f depends on (a_j, w_j) only through v_j = |a_j| w_j and sign(a_j): rescaling
    # a_j by c > 0 and w_j by 1/c changes nothing (ReLU is 1-homogeneous).
    problem, a, W, _, _ = _small_problem(seed=4)
    x = TwoLayerReLU.join(a, W)
    y = TwoLayerReLU.join(a.copy(), W.copy())
    y = y.at[1].multiply(3.0).at[4 + 3 : 4 + 6].divide(3.0)
    assert not np.allclose(x, y)
    np.testing.assert_allclose(problem.loss(y), problem.loss(x), rtol=1e-13)
    z = jnp.asarray(np.random.default_rng(5).normal(size=60))
    z2 = z.at[3].multiply(2.0).at[20 + 6 : 20 + 8].divide(2.0)
    np.testing.assert_allclose(toy.neuron_vector(z2, 3), toy.neuron_vector(z, 3))
    np.testing.assert_allclose(
        toy.neuron_vector(z, 3), abs(float(z[3])) * np.asarray(z[26:28])
    )
    with pytest.raises(ValueError, match="`strategies`"):
        toy.compare([0], strategies=("largest_weights",))
    with pytest.raises(ValueError, match="`seeds`"):
        toy.compare([])
