"""The model-zoo rows of `mirrorflow bench`: GF against GD at the same accuracy.

Quick sizes only; times are never asserted.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table


NAMES = (
    "models.sparse_coding",
    "models.matrix_sensing",
    "models.attention",
    "models.lora",
)


@pytest.fixture(scope="module")
def bench_module():
    # The module's namespace, loaded the way the runner loads it.
    return discover(default_benchmarks_dir())["models.lora"].__globals__


def _check_row(row):
    # Accuracy column: ours (Tsit5 at rtol tol/100) within tol of the LSODA
    # reference; GD reached tol, and its step is the coarsest of the halvings
    # that does (2 eta missed tol). Structure only: no timing is asserted.
    tol = 1e-5  # quick
    assert row.tolerance == tol and row.accurate, row
    assert 0.0 <= row.error <= tol
    ex = row.extra
    assert ex["gd_reached"] and 0.0 <= ex["gd_error"] <= tol
    assert ex["gd_error_failed"] > tol
    assert ex["gd_eta_failed"] == pytest.approx(2 * ex["gd_eta"], rel=1e-12)
    assert ex["gd_steps"] * ex["gd_eta"] == pytest.approx(ex["horizon"], rel=1e-12)
    assert ex["ours_rtol"] == tol / 100 and ex["ours_solver"] == "Tsit5"
    # The flow is still moving at T: the loss has fallen at least 10x.
    assert ex["loss_T"] < 0.1 * ex["loss0"]
    assert row.target_ratio is None and row.target_met is None
    assert row.ratio is not None and row.ratio > 0
    assert row.baseline_time > 0 and row.ours_time > 0


def test_model_benchmarks_are_discovered():
    assert set(NAMES) <= set(discover(default_benchmarks_dir()))


@pytest.mark.slow  # CI runs `mirrorflow bench --quick` on every row
def test_quick_rows_matrix_sensing_and_lora():
    rows = run(
        quick=True, select=["models.matrix_sensing", "models.lora"], progress=None
    )
    assert [r.name.split()[0] for r in rows] == ["matrix", "LoRA"], table(rows)
    for row in rows:
        _check_row(row)


# The attention and sparse-coding rows take ~25 s together (an LSODA reference at
# rtol 1e-12 and ~1e5 GD steps each); `mirrorflow bench --quick` (.ci/run) fails on
# an inaccurate row, so the default suite leaves all four rows to the slow suite.
@pytest.mark.slow
def test_every_model_row_is_produced_and_accurate():
    rows = run(quick=True, select=["models"], progress=None)
    assert len(rows) == 4, table(rows)
    for row in rows:
        _check_row(row)


def test_step_search_stops_at_the_first_eta_within_tol(bench_module):
    # A fake GD whose error is exactly eta: from eta0 = T / ceil(T / 0.1) = 0.1
    # (T = 1), halving reaches eta <= 1e-3 at 0.1 / 2^7 (1280 steps).
    search = bench_module["search_step"]

    def fake_gd(params, eta, steps):
        return params + eta

    x_ref = jnp.zeros(3)
    found = search(fake_gd, jnp.zeros(3), lambda p: p, x_ref, 1.0, 1e-3)
    assert found["steps"] == 1280 and found["halvings"] == 7 and found["reached"]
    assert found["eta"] == 1 / 1280 and found["error"] == pytest.approx(1 / 1280)
    assert found["eta_failed"] == 1 / 640


def test_gd_baseline_is_plain_gradient_descent(bench_module):
    # Oracle: GD on (U, V) written in numpy, U <- U - eta G V, V <- V - eta G^T U
    # with G = grad f(U V^T) = (1/n) sum_i r_i A_i (mean loss); 50 steps, float64.
    model = bench_module["matrix_sensing"]()
    gd = bench_module["make_gd"](model.problem, model.reparam)
    eta, steps = 0.05, 50
    U, V = (np.asarray(a) for a in model.params0)
    A, b = np.asarray(model.problem.measurements), np.asarray(model.problem.b)
    scale = float(model.problem.loss(jnp.zeros(12))) / (0.5 * b @ b)
    for _ in range(steps):
        G = scale * np.einsum("i,iab->ab", np.einsum("iab,ab->i", A, U @ V.T) - b, A)
        U, V = U - eta * G @ V, V - eta * G.T @ U
    got = gd(model.params0, jnp.asarray(eta), jnp.asarray(steps))
    np.testing.assert_allclose(got[0], U, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], V, rtol=1e-12, atol=1e-14)
