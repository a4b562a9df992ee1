"""The benchmark mechanism: rows, discovery, accuracy gate."""

import math

import pytest

from mirrorflow.app import BenchRow, time_call
from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table


def test_row_semantics():
    row = BenchRow("x", "t", "b", 2.0, 1.0, 1e-12, 1e-10, 1.5)
    assert row.ratio == 2.0 and row.target_met and row.accurate
    slow = BenchRow("x", "t", "b", 1.0, 2.0, math.nan, 1e-10, 1.5)
    assert slow.ratio == 0.5 and slow.target_met is False and not slow.accurate
    assert BenchRow("x", "t", "-", None, 1.0, 0.0, 1.0).target_met is None


def test_time_call_separates_compile_from_run():
    calls = []
    timing, out = time_call(lambda: calls.append(1) or 3.0, repeats=4)
    assert out == 3.0 and len(calls) == 5 and len(timing.repeats) == 4
    assert timing.compile >= 0.0


def test_discovery_finds_every_target():
    names = set(discover(default_benchmarks_dir()))
    assert {
        "predict.predict",
        "trajectory.trajectory",
        "scaling.scaling",
        "verify.verify",
    } <= names


def test_quick_predict_row_is_accurate():
    # Oracle inside the row: the independent numpy Newton baseline (1e-10).
    rows = run(quick=True, select=["predict"], progress=None)
    assert len(rows) == 1 and rows[0].accurate, table(rows)


def test_unknown_benchmark_is_named():
    with pytest.raises(KeyError, match="unknown benchmark"):
        run(quick=True, select=["nope"], progress=None)
