"""The mask. and mirror2. experiments: quick runs against independent oracles.

Every plotted number is compared with an answer computed here by another route,
with the tolerance and its origin stated: closed forms (numpy), the dual-Newton
prediction `predict_regularized` for flow end points, the coordinate-descent
`lasso`, scipy's linprog basis pursuit (`min_l1_interpolant`), and numpy's own
mean/std for the digits sidecar. Each experiment also plots (warnings are errors,
so matplotlib complaints fail here) and the digits one goes through the figure
writer to check its JSON sidecar.
"""

import json

import numpy as np
import pytest

import mirrorflow as mf
from mirrorflow.app import (
    REGISTRY,
    Progress,
    ResultCache,
    default_experiments_dir,
    load_experiment_file,
    make_figures,
)
from mirrorflow.papers.mask import P2, params0
from mirrorflow.papers.mirror2 import P1 as M2_P1
from mirrorflow.regularization import SwitchOff
from mirrorflow.reparam import Hadamard


NAMES = {
    "mask.potential_shapes": "mask/potential_shapes.py",
    "mask.dln_limits": "mask/dln_limits.py",
    "mask.pilot_vs_l1": "mask/pilot_vs_l1.py",
    "mirror2.three_effects": "mirror2/three_effects.py",
    "mask.digits_sparsification": "mask/digits_sparsification.py",
}


def experiment(name):
    return load_experiment_file(default_experiments_dir() / NAMES[name])


@pytest.fixture(scope="module")
def quick_results():
    """Each quick result, computed once for the module (and cached between tests)."""
    cache = {}

    def get(name):
        if name not in cache:
            exp = experiment(name)
            cache[name] = exp.run(exp.config, True)
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(NAMES))
def test_registered_with_existing_claims(name):
    # Oracle: the claims registry; the name is the figure's file stem.
    exp = experiment(name)
    assert exp.name == name and name.startswith(exp.paper + ".")
    assert exp.claims and all(c in REGISTRY for c in exp.claims)
    assert exp.config.seed == 0


def test_potential_shapes_closed_form(quick_results, tmp_path):
    r = quick_results("mask.potential_shapes")
    xs = r["xs"]
    for a, vals in zip(r["scales"], r["values"], strict=True):
        # Oracle: R_a(x) = 1/2 [x asinh(2x/a) - sqrt(x^2 + a^2/4) + a/2] in numpy
        # (docs/theory/core.md with c = a/2, k = 1/2); 1e-13: a few ulps of
        # terms of size <= 10 (a = 10).
        ref = 0.5 * (xs * np.arcsinh(2 * xs / a) - np.sqrt(xs**2 + a**2 / 4) + a / 2)
        np.testing.assert_allclose(vals, ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r["normalized"][:, -1], 1.0, rtol=1e-14)
    # Shape: R(1/2)/R(1) moves from 1/4 (quadratic) towards 1/2 (|x|) as a shrinks.
    assert np.all(np.diff(r["half_ratio"]) > 0)
    assert abs(r["half_ratio"][0] - 0.25) < 2e-3 and r["half_ratio"][-1] > 0.45
    experiment("mask.potential_shapes").plot(r, tmp_path / "f.png")


@pytest.mark.slow  # ~13 s; `verify` checks the same limits (mask.limit_prediction)
def test_dln_limits_flows_land_on_predictions(quick_results, tmp_path):
    r = quick_results("mask.dln_limits")
    prob = P2()
    family, z0 = Hadamard().decay_family(params0())
    for x, dose, left in zip(r["flow_x"], r["run_doses"], r["dose_left"], strict=True):
        # Oracle: the dual-Newton projection at a_inf = beta exp(-4 Lambda), computed
        # here with a step schedule of the same dose; 1e-7 is the claim's tolerance
        # (mask.limit_prediction; LSODA at rtol 1e-10 gives ~1e-12).
        pred = mf.predict(
            prob, family, schedule=SwitchOff(0.0, 1.0), z0=z0, total_dose=float(dose)
        ).x
        assert float(np.max(np.abs(x - np.asarray(pred)))) < 1e-7
        assert left == 0.0
    # Equal doses, different schedules: equal limits (mask.schedule_invariance).
    same = np.flatnonzero(r["run_doses"] == 3.0)
    assert len(same) == 2
    assert np.max(np.abs(r["flow_x"][same[0]] - r["flow_x"][same[1]])) < 1e-7
    # The predicted curve: L1 norm and distance to linprog's min-L1 decrease with
    # the dose (round-off floor 1e-9, as the claim); the min-L1 norm is linprog's.
    x_l1 = mf.references.min_l1_interpolant(prob.A, prob.b)
    assert abs(r["min_norm_l1"] - np.abs(x_l1).sum()) < 1e-12
    assert np.all(np.diff(r["curve_norm_l1"]) <= 1e-9)
    assert np.all(np.diff(r["curve_err_l1"]) <= 1e-9)
    assert r["curve_norm_l1"][-1] - r["min_norm_l1"] < 1e-3
    experiment("mask.dln_limits").plot(r, tmp_path / "f.png")


@pytest.mark.slow  # ~11 s; `verify` checks the same numbers (mask.pilot_beats_l1)
def test_pilot_vs_l1(quick_results, tmp_path):
    r = quick_results("mask.pilot_vs_l1")
    prob = P2()
    # Oracle: coordinate-descent lasso with mu = 2 lambda (KKT-certified to 1e-12).
    ref = mf.references.lasso(prob.A, prob.b, 2 * r["lam"])
    np.testing.assert_allclose(r["x_lasso"], np.asarray(ref.x), rtol=0, atol=1e-12)
    # Quick: constant decay only to T = 1e3, measured 2.2e-3 from the lasso (the
    # full run, T = 1e5, reaches the claim's 1e-8); 1e-2 leaves a margin of 4.
    assert r["const_vs_lasso"] < 1e-2
    # Switch-off end point vs the dual-Newton prediction: the claim's 1e-7.
    family, z0 = Hadamard().decay_family(params0())
    pred = mf.predict(
        prob, family, schedule=SwitchOff(0.0, 1.0), z0=z0, total_dose=r["dose"]
    ).x
    assert float(np.max(np.abs(r["x_pilot"] - np.asarray(pred)))) < 1e-7
    # The plotted errors are the max-norm errors to the planted x* (recomputed), and
    # the claim mask.pilot_beats_l1: ratio <= 0.1.
    x_star = np.asarray(prob.x_star)
    scale = max(1.0, float(np.abs(x_star).max()))
    assert r["err_pilot"] == pytest.approx(
        np.abs(r["x_pilot"] - x_star).max() / scale, rel=1e-12
    )
    assert r["ratio"] <= 0.1
    experiment("mask.pilot_vs_l1").plot(r, tmp_path / "f.png")


def test_three_effects(quick_results, tmp_path):
    r = quick_results("mirror2.three_effects")
    # (1) Oracle: the closed form e^{2a} x0 (docs/theory/mirror_mirror.md); 1e-12 as the
    # claim mirror2.positional_bias for the package's centre.
    cfg = experiment("mirror2.three_effects").config
    np.testing.assert_allclose(
        r["pos_centre"], np.exp(2 * r["pos_a"]) * cfg.m0 * cfg.w0, rtol=0, atol=1e-12
    )
    # The plotted curve's minimum on the grid sits within one grid step of it.
    step = r["pos_xs"][1] - r["pos_xs"][0]
    grid_min = r["pos_xs"][np.argmin(r["pos_curves"], axis=1)]
    assert np.all(np.abs(grid_min - r["pos_centre"]) <= step)
    # (2) Oracle: scipy linprog basis pursuit on P1 (2.11085, the spec's value);
    # norms nonincreasing (floor 1e-9), within 0.05 of BP at a = -32 (the claim).
    bp = mf.references.min_l1_interpolant(M2_P1().A, M2_P1().b)
    assert abs(np.abs(bp).sum() - 2.11085) < 1e-5
    assert np.all(np.diff(r["type_norm_l1"]) <= 1e-9)
    assert r["type_dist_bp"][-1] < 0.05
    # (3) Oracle: closed forms for k = 2 (K = 8, p = 2, c = u0^-2/K): the dual
    # interval (a - c_v, c_u - a) and x(c_u, a) = (K|a|)^-2 - (K(2c + |a|))^-2;
    # relative 1e-12 (a few ulps).
    K, c, m = 8.0, cfg.u0**-2 / 8.0, r["range_abs_a"]
    np.testing.assert_allclose(r["range_dual_hi"], c + m, rtol=1e-12)
    np.testing.assert_allclose(r["range_dual_lo"], -(c + m), rtol=1e-12)
    ref = (K * m) ** -2.0 - (K * (2 * c + m)) ** -2.0
    np.testing.assert_allclose(r["range_x_hi"], ref, rtol=1e-10)
    # Our convention: the interval widens while the reachable primal range shrinks.
    assert np.all(np.diff(r["range_dual_hi"]) > 0)
    assert np.all(np.diff(r["range_x_hi"]) < 0)
    assert np.all(r["range_x_hi"] <= r["range_bound"])
    experiment("mirror2.three_effects").plot(r, tmp_path / "f.png")


# ~7 s; CI's quick figures write the same sidecar.
@pytest.mark.slow
def test_digits_sidecar_mean_std(tmp_path):
    # Through the figure writer: the sidecar's mean/std must be numpy's mean/std
    # (ddof 0) of the per-seed numbers in the same sidecar (exact: same arithmetic).
    exp = experiment("mask.digits_sparsification")
    outcomes = make_figures(
        [exp],
        quick=True,
        out_dir=tmp_path / "figs",
        cache=ResultCache(tmp_path / "cache"),
        progress=Progress(1, quiet=True),
    )
    assert [o.error for o in outcomes] == [None]
    doc = json.loads((tmp_path / "figs" / f"{exp.name}.json").read_text())
    data = doc["data"]
    assert doc["quick"] is True and len(data["seeds"]) == 2
    for method in ("constant", "pilot"):
        acc = np.asarray(data[f"{method}_test_acc"])
        assert acc.shape == (2, len(data["sparsities"]))
        assert np.all((acc >= 0) & (acc <= 1))
        np.testing.assert_array_equal(data[f"{method}_test_acc_mean"], acc.mean(0))
        np.testing.assert_array_equal(data[f"{method}_test_acc_std"], acc.std(0))
        # Unpruned accuracy well above chance (0.1) even in the tiny quick run.
        assert np.all(acc[:, 0] > 0.5)
    assert (tmp_path / "figs" / f"{exp.name}.png").is_file()
