"""The Graphon NTK rows of `mirrorflow bench`: discovered, produced, accurate (quick).

Times are never asserted; the accuracy column of every row is an exact identity
(Theta_c = c^(L+1) Theta_dense, or the factorized empirical NTK against the
Jacobian contraction), so it must be round-off.
"""

import math

import pytest

from mirrorflow.app._bench import default_benchmarks_dir, discover, run, table


NAMES = {"graphon.graphon_ntk", "graphon.empirical_ntk", "graphon.empirical_scaling"}


@pytest.fixture(scope="module")
def bench_module():
    # The module's namespace, loaded the way the runner loads it.
    return discover(default_benchmarks_dir())["graphon.graphon_ntk"].__globals__


def test_graphon_benchmarks_are_discovered():
    assert NAMES <= set(discover(default_benchmarks_dir()))


def test_loglog_slope_recovers_a_power(bench_module):
    # Oracle: an exact power law t = 3 x^2.
    xs = [64, 128, 256, 512]
    slope = bench_module["loglog_slope"](xs, [3.0 * x**2 for x in xs])
    assert slope == pytest.approx(2.0, abs=1e-12)


# ~10 s; CI's `mirrorflow bench --quick` produces the same rows, accuracy-gated.
@pytest.mark.slow
def test_every_graphon_row_is_produced_and_accurate():
    rows = run(quick=True, select=["graphon"], progress=None)
    assert len(rows) == 4, table(rows)
    assert all(r.accurate for r in rows), table(rows)
    assert all(r.tolerance == 1e-10 for r in rows)
    gntk, emp, width, inputs = rows
    assert gntk.ratio is not None and gntk.ratio > 0 and "seconds" in gntk.extra
    assert emp.ratio is not None and emp.target_ratio == 3.0
    assert emp.extra["ratio_same_size"] > 0
    for r in (width, inputs):
        assert r.ratio is None and math.isfinite(r.extra["exponent"])
        assert len(r.extra["seconds_per_pair"]) == 3
