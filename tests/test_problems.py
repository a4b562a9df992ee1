"""Problems: the seeded instances and the least-squares loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mirrorflow as mf


def test_random_regression_is_the_spec_instance():
    # Oracle: docs/theory/core.md's recipe P(d, n, k, seed), transcribed here.
    d, n, k, seed = 20, 5, 3, 0
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(n)
    idx = rng.choice(d, k, replace=False)
    x = np.zeros(d)
    x[idx] = rng.uniform(0.5, 1.5, k) * rng.choice([-1, 1], k)
    prob = mf.random_regression(d, n, k, seed)
    np.testing.assert_array_equal(prob.A, A)
    np.testing.assert_array_equal(prob.x_star, x)
    np.testing.assert_allclose(prob.b, A @ x, rtol=0, atol=0)
    pos = mf.random_regression(d, n, k, seed, positive=True)
    assert np.all(np.asarray(pos.x_star) >= 0)


def test_loss_gradient_and_mean_convention():
    # Oracle: autodiff of the loss (exact, 1e-13), and the 1/n factor of the
    # (1/2n)||Ax - b||^2 convention.
    prob = mf.random_regression(15, 6, 2, 4)
    x = jnp.asarray(np.random.default_rng(1).standard_normal(15))
    np.testing.assert_allclose(
        prob.grad(x), jax.grad(prob.loss)(x), rtol=1e-13, atol=1e-14
    )
    mean = mf.LinearRegression(prob.A, prob.b, mean=True)
    np.testing.assert_allclose(mean.loss(x), prob.loss(x) / 6, rtol=1e-14)
    assert isinstance(prob, mf.AbstractLinearProblem)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="`A` must have 2 dimension"):
        mf.LinearRegression(jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match="`b` must have one entry per row"):
        mf.LinearRegression(jnp.ones((2, 3)), jnp.ones(3))
    with pytest.raises(ValueError, match="NaN/inf"):
        mf.LinearRegression(jnp.asarray([[1.0, jnp.nan]]), jnp.ones(1))
    with pytest.raises(ValueError, match="`k`"):
        mf.random_regression(5, 2, 6, 0)
    with pytest.raises(ValueError, match="n < d"):
        mf.random_regression(5, 5, 1, 0).check_underdetermined("predict")
