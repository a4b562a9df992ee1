"""The graphon. experiments: small runs against independent oracles.

`graphon.estimates` against the closed-form SAS law of random masks (derived in
docs/theory/graphon_limit.md, Sec. 2) and numpy block means; `graphon.ntk_scaling`
against the powers c^(L+1) and c^L of the closed-form dense NTK. The spectra and
training-speed experiments share `spectra_study` and `train_masked` with the
claims graphon.top_energy and graphon.training_speed, which `verify` checks; here
they are only registered and plotted (their quick runs are part of
`mirrorflow figures --quick` in CI).
"""

import dataclasses

import numpy as np
import pytest

from mirrorflow.app import REGISTRY, default_experiments_dir, load_experiment_file


NAMES = ("estimates", "ntk_scaling", "spectra", "training_speed")


def experiment(name):
    return load_experiment_file(default_experiments_dir() / "graphon" / f"{name}.py")


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_existing_claims(name):
    exp = experiment(name)
    assert exp.name == f"graphon.{name}" and exp.paper == "graphon"
    assert exp.claims and all(c in REGISTRY for c in exp.claims)
    assert exp.config.seed == 0


# ~10 s; CI's `mirrorflow figures --quick` runs graphon.estimates too.
@pytest.mark.slow
def test_estimates_random_distance_follows_the_closed_form_law(tmp_path):
    exp = experiment("estimates")
    cfg = dataclasses.replace(
        exp.config,
        widths=(32, 64, 128),
        trials=4,
        K=8,
        sparsities=(0.8,),
        methods=("random",),
    )
    r = exp.run(cfg, False)
    law = r["random__80__law"][:-1]
    got = r["random__80__dist"][:-1]
    # Oracle: the closed-form law of two independent SAS estimates' rms distance
    # (bias difference + block noise at both widths), with p = 0.2 the global
    # density. 20 %: the law drops O(1/n) terms (n/K = 4-16 entries per block
    # side here) and 4 trials x 3 layers leave a Monte-Carlo s.e. of ~5 %.
    np.testing.assert_allclose(got, law, rtol=0.2)
    # The widest estimate is its own reference.
    assert r["random__80__dist"][-1] == 0.0
    # The heat map is a block average: its mean is the layer's density (global
    # random pruning gives each layer about p = 0.2; hypergeometric s.e. ~ 0.003).
    assert abs(r["random__80__heat"].mean() - 0.2) < 0.015
    with pytest.raises(ValueError, match="`K`"):
        exp.run(dataclasses.replace(cfg, K=64), False)
    exp.plot(r, tmp_path / "f.png")


# ~10 s; `verify` checks the same powers (graphon.constant_ntk_scaling).
@pytest.mark.slow
def test_ntk_scaling_ratios_are_the_exact_powers(tmp_path):
    exp = experiment("ntk_scaling")
    cfg = dataclasses.replace(exp.config, widths=(32, 64), n_seeds=2, finite_width=32)
    r = exp.run(cfg, False)
    L, cs = r["depth"], r["cs"]
    # Oracle: c^(L+1) (every layer masked) and c^L (dense readout) times the
    # closed-form dense NTK; both sides are exact up to round-off.
    np.testing.assert_allclose(r["ratio__all"], cs ** (L + 1), rtol=1e-10)
    np.testing.assert_allclose(r["ratio__dense_readout"], cs**L, rtol=1e-10)
    # Dense finite networks (c = 1): the NTK of an unmasked width-32 MLP is within
    # its CLT fluctuation (~ 3/sqrt(32) ~ 0.5 relative, per kernel entry; the mean
    # over pairs fluctuates less) of the dense limit.
    assert np.all(np.abs(r["ratio_finite"][-1] - 1) < 0.5)
    assert r["err__all_masked"].shape == (2, 2)
    assert np.all(np.isfinite(r["err__all_masked"]))
    exp.plot(r, tmp_path / "f.png")


@pytest.mark.parametrize("name", ("spectra", "training_speed"))
def test_plots_draw_a_synthetic_result(name, tmp_path):
    rng = np.random.default_rng(0)
    if name == "spectra":
        r = {"sparsities": np.asarray([0.5, 0.9]), "n_seeds": 2}
        for key in ("decay", "trace_rank", "gap", "top_energy"):
            r[f"dense__{key}"] = 1.0
            for m in ("random", "snip", "synflow"):
                r[f"{m}__{key}"] = 1 + 0.1 * rng.random((2, 2))
    else:
        r = {"sparsities": np.asarray([0.9]), "steps": 5, "n_seeds": 2}
        r["dense__loss"] = 1 + rng.random((2, 6))
        for m in ("random", "snip", "synflow"):
            r[f"{m}__90__loss"] = 1 + rng.random((2, 6))
            r[f"{m}__top_energy"] = rng.random((2, 1))
    experiment(name).plot(r, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
