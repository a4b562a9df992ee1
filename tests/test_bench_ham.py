"""The HAM rows of `mirrorflow bench` (issue 8): produced, accurate, 0 extra state.

Quick sizes only; times are never asserted.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table
from mirrorflow.optimizers import hadamard_reparam, ham


@pytest.fixture(scope="module")
def rows():
    # optax's Adam bias correction mixes int and float: not strict-promotion clean.
    with jax.numpy_dtype_promotion("standard"):
        return run(quick=True, select=["ham"], progress=None)


@pytest.fixture(scope="module")
def bench_module():
    # The module's namespace, loaded the way the runner loads it.
    return discover(default_benchmarks_dir())["ham.state_bytes"].__globals__


def test_ham_benchmarks_are_discovered():
    names = set(discover(default_benchmarks_dir()))
    assert {"ham.step_mlp", "ham.step_digits", "ham.state_bytes"} <= names


# The quick HAM rows take ~15 s; `.ci/run` runs `mirrorflow bench --quick`, which
# fails on any inaccurate row, so the default suite leaves them to the slow suite.
@pytest.mark.slow
def test_every_ham_row_is_produced_and_accurate(rows):
    backend = jax.default_backend()
    timed = [r for r in rows if not r.name.startswith("state ")]
    state = [r for r in rows if r.name.startswith("state ")]
    assert len(timed) == 12 and len(state) == 6, table(rows)
    for model in ("mlp", "digits"):
        labels = {
            r.name.split(" [")[0].rsplit(" ", 1)[0] for r in timed if model in r.name
        }
        assert labels == {
            "SGD+HAM",
            "SGD+HAM noguard",
            "Adam+HAM",
            "Adam+HAM noguard",
            "m*w+SGD",
            "m*w+Adam",
        }
    assert all(f"[{backend}]" in r.name for r in rows)
    assert all(r.accurate for r in rows), table(rows)
    for r in timed:
        # The step check is float32-tight, and each row compares with its base.
        assert r.tolerance == 1e-5 and 0.0 <= r.error < r.tolerance
        assert r.ratio is not None and r.ratio > 0
        assert r.extra["backend"] == backend
        ham_row = "HAM" in r.name
        assert (r.target_ratio is not None) == ham_row
        if ham_row:
            assert r.target_ratio == pytest.approx(1 / 1.15)


@pytest.mark.slow
def test_state_rows_show_zero_extra_bytes_for_ham(rows):
    state = {r.name.split(" [")[0]: r for r in rows if r.name.startswith("state ")}
    for name, r in state.items():
        assert r.tolerance == 0.0 and r.error == 0.0, r
        if "HAM" in name:
            assert r.extra["ours_bytes"] == r.extra["base_bytes"]
    # Digits MLP 64-256-10: n = 64*256 + 256 + 256*10 + 10 = 19,210 float32.
    n = 19_210
    digits = state["state Adam+HAM digits"]
    assert digits.extra["base_bytes"] == 2 * 4 * n + 4  # mu, nu + int32 count
    mw = state["state m*w+Adam digits"]
    assert mw.extra["ours_bytes"] == 6 * 4 * n + 4


def test_state_bytes_by_hand(bench_module):
    # Independent count on a tiny tree: 3x4 + 4 = 16 float32 parameters, 64 bytes.
    params = {
        "w": jnp.ones((3, 4), dtype=jnp.float32),
        "b": jnp.ones(4, dtype=jnp.float32),
    }
    nbytes = bench_module["tree_bytes"]
    assert nbytes(params) == 64
    assert nbytes(optax.sgd(1e-2).init(params)) == 0
    assert nbytes(ham(200.0, 1e-3, 1e-2).init(params)) == 0
    adam = optax.adam(1e-3)
    assert nbytes(adam.init(params)) == 2 * 64 + 4
    assert nbytes(ham(200.0, 1e-3, 1e-3, base=adam).init(params)) == 2 * 64 + 4
    mw = hadamard_reparam(optax.adam(1e-3), beta=1e-2).init(params)
    # m*w: the factors are twice the parameters, Adam's moments twice the factors.
    assert nbytes(mw.factors) == 2 * 64
    assert nbytes(mw.inner_state) == 2 * 2 * 64 + 4
    assert nbytes(mw) == 6 * 64 + 4


def test_step_check_detects_a_wrong_update(bench_module):
    # The accuracy column is meaningful: the HAM transcription is far from a plain
    # SGD step, and a HAM step matches its own transcription.
    params = bench_module["_init_mlp"]((8, 16, 3), 0)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((5, 8)), dtype=jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 5), dtype=jnp.int32)
    opts = bench_module["optimizers"]()
    grad_fn = jax.jit(jax.grad(bench_module["_loss"]))
    make_step = bench_module["_make_step"]
    step_error = bench_module["step_error"]
    err, _ = step_error(
        "SGD+HAM", opts["SGD+HAM"], make_step(opts["SGD+HAM"]), grad_fn, params, x, y
    )
    assert err < 1e-5
    wrong, _ = step_error(
        "SGD+HAM", opts["SGD"], make_step(opts["SGD"]), grad_fn, params, x, y
    )
    assert wrong > 1e-3
