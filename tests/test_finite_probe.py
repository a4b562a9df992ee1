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


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda: ham(1.0, 1e-3, 1e-2),
        lambda: ham(1.0, 1e-3, 1e-2, base=optax.adam(1e-2)),
        lambda: ham(1.0, 1e-3, optax.exponential_decay(1e-2, 10, 0.5)),
        lambda: hadamard_reparam(optax.sgd(1e-2), beta=0.1),  # default: raise
        lambda: nanoadam(1e-2, k=1.0, mask_every=1),
    ],
    ids=["ham", "ham_adam", "ham_schedule", "mw", "nanoadam"],
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
