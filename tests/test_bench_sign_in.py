"""The Sign-In rows of `mirrorflow bench`: produced, accurate, state by hand count.

Quick sizes only; times are never asserted.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table
from mirrorflow.optimizers import sign_in


@pytest.fixture(scope="module")
def bench_module():
    # The module's namespace, loaded the way the runner loads it.
    return discover(default_benchmarks_dir())["sign_in.state_bytes"].__globals__


def test_sign_in_benchmarks_are_discovered():
    names = set(discover(default_benchmarks_dir()))
    assert {"sign_in.step_mlp", "sign_in.state_bytes"} <= names


def test_state_rows_match_the_hand_count(bench_module):
    # Oracle: an independent count on a tiny tree, then the module's rows (quick).
    params = {
        "w": jnp.ones((3, 4), dtype=jnp.float32),
        "b": jnp.ones(4, dtype=jnp.float32),
    }
    nbytes = bench_module["tree_bytes"]
    flip = jnp.zeros([], int).dtype.itemsize  # int64 here (the tests enable x64)
    sgdm = sign_in(optax.sgd(0.1, momentum=0.9), beta0=1.0, reset_every=5)
    # factors: m, w of the 12 weights + the 4 biases = 28 floats; the trace of
    # the same tree; the int32 step count; one flip count per leaf.
    assert nbytes(sgdm.init(params)) == 28 * 4 + 28 * 4 + 4 + 2 * flip
    assert bench_module["hand_count"]("Sign-In+SGDm", params) == nbytes(
        sgdm.init(params)
    )
    rows = bench_module["bench_state_bytes"](True)
    assert len(rows) == 3
    for r in rows:
        assert r.tolerance == 0.0 and r.error == 0.0, table(rows)
        # Twice the trainable weights: the state is ~4x SGDm's, ~3x AdamW's.
        expected = 4.0 if "SGDm" in r.name else 3.0
        assert r.extra["state_bytes_ratio"] == pytest.approx(expected, rel=0.02)


def test_step_check_detects_a_wrong_update(bench_module):
    # The accuracy column is meaningful: Sign-In's step matches its own numpy
    # transcription, and the base optimizer's step does not.
    init_mlp = bench_module["_ham"]._init_mlp
    params = init_mlp((8, 16, 3), 0)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((5, 8)), dtype=jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 5), dtype=jnp.int32)
    opts = bench_module["optimizers"]()
    grad_fn = jax.jit(jax.grad(bench_module["_ham"]._loss))
    make_step = bench_module["_ham"]._make_step
    step_error = bench_module["step_error"]
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        for label in ("Sign-In+SGDm", "Sign-In+AdamW"):
            err, _ = step_error(
                label, opts[label], make_step(opts[label]), grad_fn, params, x, y
            )
            assert err < 1e-5, label
        wrong, _ = step_error(
            "Sign-In+SGDm", opts["SGDm"], make_step(opts["SGDm"]), grad_fn, params, x, y
        )
    assert wrong > 1e-4


# The quick timing rows take ~10 s; `.ci/run` runs `mirrorflow bench --quick`,
# which fails on any inaccurate row, so the default suite leaves them to the slow one.
@pytest.mark.slow
def test_every_sign_in_row_is_produced_and_accurate():
    with jax.numpy_dtype_promotion("standard"):
        rows = run(quick=True, select=["sign_in"], progress=None)
    timed = [r for r in rows if not r.name.startswith("state ")]
    assert len(timed) == 4 and len(rows) == 7, table(rows)
    assert all(r.accurate for r in rows), table(rows)
    for r in timed:
        assert r.target_ratio is None and r.ratio is not None and r.ratio > 0
        assert 0.0 <= r.error < r.tolerance == 1e-5
