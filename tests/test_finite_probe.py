"""The optimizers' runtime NaN/inf check (`nan_policy="raise"`).

Oracle: `numpy.isfinite(x).all()` on every leaf. The probe takes a different
path for matrix-shaped leaves (a matrix-vector product with a zero vector) than
for vectors (a sum of 0 * x): both are checked at the first, last and interior
entries, for NaN, +inf and -inf, in float32 and float64, and huge finite values
(whose plain sum would overflow) must not trip it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mirrorflow as mf
from mirrorflow.optimizers import hadamard_reparam, ham, nanoadam
from mirrorflow.optimizers._finite import nonfinite_probe


SHAPES = [(37, 16), (4, 5, 9), (300,), (3, 2), (64, 8)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_probe_flags_every_nonfinite_entry_and_nothing_else(shape, dtype):
    rng = np.random.default_rng(0)
    probe = jax.jit(nonfinite_probe)
    clean = rng.standard_normal(shape).astype(dtype)
    huge = np.full(shape, np.finfo(dtype).max / 2, dtype)  # sum overflows
    for x in (clean, huge, -huge, np.zeros(shape, dtype)):
        assert np.isfinite(np.asarray(x)).all()
        assert float(probe([jnp.asarray(x)])) == 0.0
    size = int(np.prod(shape))
    for flat in {0, size - 1, size // 2, int(rng.integers(size))}:
        for bad in (np.nan, np.inf, -np.inf):
            x = clean.copy().reshape(-1)
            x[flat] = bad
            x = x.reshape(shape)
            assert not np.isfinite(x).all()
            assert np.isnan(float(probe([jnp.asarray(clean), jnp.asarray(x)])))


def _mlp_grads(bad_leaf: int, dtype):
    rng = np.random.default_rng(1)
    params = [
        jnp.asarray(rng.standard_normal((16, 32)), dtype),
        jnp.asarray(rng.standard_normal(32), dtype),
        jnp.asarray(rng.standard_normal((32, 10)), dtype),
    ]
    grads = [0.1 * p for p in params]
    bad = [g for g in grads]
    bad[bad_leaf] = (
        bad[bad_leaf].reshape(-1).at[5].set(jnp.inf).reshape(bad[bad_leaf].shape)
    )
    return params, grads, bad


@pytest.mark.parametrize(
    # float64 in the slow suite: the probe itself is tested in both dtypes above.
    "dtype",
    [jnp.float32, pytest.param(jnp.float64, marks=pytest.mark.slow)],
    ids=["float32", "float64"],
)
@pytest.mark.parametrize(
    "make",
    [
        lambda: ham(1.0, 1e-3, 1e-2),
        lambda: ham(1.0, 1e-3, 1e-2, base=optax.adam(1e-2)),
        lambda: ham(1.0, 1e-3, optax.exponential_decay(1e-2, 10, 0.5)),
        lambda: hadamard_reparam(optax.sgd(1e-2), beta=0.1),  # default: raise
        lambda: nanoadam(1e-2, k=1.0, mask_every=1),
        lambda: mf.mirror_descent(mf.Hypentropy(0.1), 1e-2),
        lambda: mf.scheduled_weight_decay(mf.ConstantDecay(0.1), 1e-2),
    ],
    ids=["ham", "ham_adam", "ham_schedule", "mw", "nanoadam", "md", "decay"],
)
def test_raise_policy_stops_a_jitted_step_on_any_leaf(make, dtype):
    # An inf in any leaf (matrix or vector) stops the jitted step; the clean
    # gradient passes and gives a finite update.
    opt = make()
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        _check_every_leaf(opt, dtype)


def _check_every_leaf(opt, dtype):
    for leaf in range(3):
        params, grads, bad = _mlp_grads(leaf, dtype)
        step = jax.jit(opt.update)
        upd, _ = step(grads, opt.init(params), params)
        assert all(np.isfinite(np.asarray(u)).all() for u in upd)
        with pytest.raises(Exception, match="NaN/inf"):
            jax.block_until_ready(step(bad, opt.init(params), params))


def test_mirror_descent_overflow_raises_and_revert_keeps_the_point():
    # NegEntropy's inverse mirror map is exp: a step of 1e3 on a gradient of -1
    # sends log x to 1e3 and x = exp(1e3) overflows (the gradient is finite: the
    # check must read the new point too). Oracle: revert leaves the overflowing
    # leaf exactly where it was and moves the other one by the closed form
    # x * exp(-eta g).
    x = [jnp.array([0.5, 2.0]), jnp.array([1.0])]
    g = [jnp.array([-1.0, 0.0]), jnp.array([0.5])]
    opt = mf.mirror_descent(mf.NegEntropy(), 1e3)
    with pytest.raises(Exception, match="new point"):
        jax.block_until_ready(jax.jit(opt.update)(g, opt.init(x), x))
    rev = mf.mirror_descent(mf.NegEntropy(), 1e3, nan_policy="revert")
    upd, state = jax.jit(rev.update)(g, rev.init(x), x)
    np.testing.assert_array_equal(np.asarray(upd[0]), 0.0)
    np.testing.assert_allclose(np.asarray(upd[1]), np.exp(-1e3 * 0.5) - 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(state.dual[1]), -500.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(state.dual[0]), np.log([0.5, 2.0]))
    ign = mf.mirror_descent(mf.NegEntropy(), 1e3, nan_policy="ignore")
    upd, _ = jax.jit(ign.update)(g, ign.init(x), x)
    assert np.isinf(np.asarray(upd[0])).any()


def test_weight_decay_revert_zeroes_only_the_bad_leaf():
    # Oracle: the closed form g + 2 lambda p on the clean leaf, 0 on the bad one.
    p = [jnp.array([1.0, 2.0]), jnp.array([3.0])]
    g = [jnp.array([0.1, jnp.nan]), jnp.array([0.2])]
    opt = mf.scheduled_weight_decay(mf.ConstantDecay(0.25), 0.1, nan_policy="revert")
    upd, _ = jax.jit(opt.update)(g, opt.init(p), p)
    np.testing.assert_array_equal(np.asarray(upd[0]), 0.0)
    np.testing.assert_allclose(np.asarray(upd[1]), 0.2 + 2 * 0.25 * 3.0)
    for bad in ("skip", "RAISE"):
        with pytest.raises(ValueError, match="`nan_policy` must be one of"):
            mf.scheduled_weight_decay(mf.ConstantDecay(0.1), 0.1, nan_policy=bad)
        with pytest.raises(ValueError, match="`nan_policy` must be one of"):
            mf.mirror_descent(mf.NegEntropy(), 0.1, nan_policy=bad)
