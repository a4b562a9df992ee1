"""`optimize`: an optax transformation in one compiled loop."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mirrorflow as mf


def test_sgd_matches_a_numpy_loop():
    # Oracle: plain-numpy gradient descent on (u, v) for 100 steps, 1e-12.
    prob = mf.random_regression(10, 4, 2, 0)
    A, b = np.asarray(prob.A), np.asarray(prob.b)
    reparam = mf.DiffOfSquares()
    u = np.full(10, 0.2)
    v = np.full(10, 0.2)
    eta = 0.05
    for _ in range(100):
        g = A.T @ (A @ (u * u - v * v) - b)
        u, v = u - eta * 2 * u * g, v + eta * 2 * v * g
    res = mf.optimize(
        optax.sgd(eta),
        lambda p: prob.loss(reparam.to_x(p)),
        (jnp.full(10, 0.2), jnp.full(10, 0.2)),
        100,
    )
    assert isinstance(res, mf.OptimizeResult) and int(res.num_steps) == 100
    np.testing.assert_allclose(res.params[0], u, rtol=1e-12)
    np.testing.assert_allclose(res.params[1], v, rtol=1e-12)


def test_stop_loss_and_float32():
    # Oracle: the stopping rule's definition; float32 params stay float32.
    prob = mf.random_regression(10, 4, 2, 0)
    loss = lambda p: prob.loss(p.astype(prob.A.dtype))  # noqa: E731
    res = mf.optimize(optax.sgd(0.1), loss, jnp.zeros(10), 10_000, stop_loss=1e-6)
    assert (
        bool(res.converged) and float(res.loss) <= 1e-6 and int(res.num_steps) < 10_000
    )
    res32 = mf.optimize(
        optax.sgd(0.1), lambda p: jnp.sum(p**2), jnp.ones(3, jnp.float32), 10
    )
    assert res32.params.dtype == jnp.float32


def test_bad_input_errors():
    with pytest.raises(ValueError, match="`max_steps` must be a positive int"):
        mf.optimize(optax.sgd(0.1), lambda p: jnp.sum(p**2), jnp.ones(2), 0)
