"""The NanoAdam rows of `mirrorflow bench`: produced, accurate, state by hand count.

Quick sizes only; times are never asserted.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table


@pytest.fixture(scope="module")
def bench_module():
    # The module's namespace, loaded the way the runner loads it.
    return discover(default_benchmarks_dir())["nanoadam.state_bytes"].__globals__


def test_nanoadam_benchmarks_are_discovered():
    names = set(discover(default_benchmarks_dir()))
    assert {"nanoadam.step_mlp", "nanoadam.state_bytes"} <= names


def test_state_rows_match_the_hand_count(bench_module):
    # Oracle: a hand count on a tiny MLP, then the module's rows (quick).
    params = bench_module["_ham"]._init_mlp((64, 1024, 10), 0)
    opts = bench_module["optimizers"](params)
    nbytes = bench_module["tree_bytes"]
    # layer 0: w 65536 = 2 chunks of 2**15, 3276 slots each x (4 + 4 + 2 bytes)
    # + 2 int32 counts; b 1024: 102 slots x 10 + 8; layer 1 (the head, "[1]"):
    # AdamW moments of 10240 + 10 floats; the int32 step count.
    hand = 2 * 3276 * 10 + 8 + 102 * 10 + 8 + 2 * 4 * (10240 + 10) + 4
    assert nbytes(opts["NanoAdam"].init(params)) == hand
    assert nbytes(opts["AdamW"].init(params)) == 2 * 4 * (65536 + 1024 + 10250) + 4
    masked, head = 65536 + 1024, 10250
    want = (0.1 * masked * 10 + head * 8) / ((masked + head) * 8)
    assert bench_module["predicted_ratio"](params) == pytest.approx(want, rel=1e-12)
    rows = bench_module["bench_state_bytes"](True)
    assert len(rows) == 2, table(rows)
    assert all(r.accurate for r in rows), table(rows)
    ratio = rows[0].extra["state_bytes_ratio"]
    assert ratio == pytest.approx(rows[0].extra["predicted_ratio"], rel=0.01)
    assert rows[1].tolerance == 0.0 and rows[1].error == 0.0


def test_step_check_detects_a_wrong_update(bench_module):
    # The accuracy column is meaningful: NanoAdam's step matches its numpy
    # transcription, and AdamW's step (every entry moves) does not.
    init_mlp = bench_module["_ham"]._init_mlp
    params = init_mlp((8, 16, 3), 0)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((5, 8)), dtype=jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 5), dtype=jnp.int32)
    opts = bench_module["optimizers"](params)
    grad_fn = jax.jit(jax.grad(bench_module["_ham"]._loss))
    make_step = bench_module["_ham"]._make_step
    step_error = bench_module["step_error"]
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        err, _ = step_error(
            "NanoAdam",
            opts["NanoAdam"],
            make_step(opts["NanoAdam"]),
            grad_fn,
            params,
            x,
            y,
        )
        assert err < 1e-5
        wrong, _ = step_error(
            "NanoAdam", opts["AdamW"], make_step(opts["AdamW"]), grad_fn, params, x, y
        )
    assert wrong > 1e-4


# The quick timing rows take ~10 s; `.ci/run` runs `mirrorflow bench --quick`,
# which fails on any inaccurate row, so the default suite leaves them to the slow one.
@pytest.mark.slow
def test_every_nanoadam_row_is_produced_and_accurate():
    with jax.numpy_dtype_promotion("standard"):
        rows = run(quick=True, select=["nanoadam"], progress=None)
    timed = [r for r in rows if not r.name.startswith("state ")]
    assert len(timed) == 3 and len(rows) == 5, table(rows)
    assert all(r.accurate for r in rows), table(rows)
    for r in timed:
        assert r.ratio is not None and r.ratio > 0
        assert 0.0 <= r.error < r.tolerance == 1e-5
        assert "state_bytes_ratio" in r.extra  # both from the same run
    targeted = [r for r in timed if r.target_ratio is not None]
    assert len(targeted) == 2 and all(r.target_ratio == 1 / 1.5 for r in targeted)
