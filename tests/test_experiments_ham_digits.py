"""The ham. digits experiments: quick runs checked against independent references.

Oracles: counts (a layerwise mask of density d keeps round(d n) entries, so the
number of exact zeros is known in advance), the mask itself (recomputed here with
`masks`), numpy's mean/std over the per-seed numbers of the sidecar, chance level
(0.1 for ten balanced classes), and optax's own SGD-with-momentum step (which
moves pruned weights unless the update is masked).
"""

import dataclasses
import json

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pytest

from mirrorflow import masks
from mirrorflow.app import (
    Progress,
    ResultCache,
    default_experiments_dir,
    load_experiment_file,
    make_figures,
)


FILES = {
    "ham.digits_dense_sparse": "ham/digits_dense_sparse.py",
    "ham.alpha_beta_grid": "ham/alpha_beta_grid.py",
}


def experiment(name):
    return load_experiment_file(default_experiments_dir() / FILES[name])


def module(name):
    import sys

    return sys.modules[experiment(name).run.__module__]


# A reduced quick config for the default suite (seconds, not tens of seconds).
def _small_digits_config():
    cfg = experiment("ham.digits_dense_sparse").config
    return dataclasses.replace(
        cfg, hidden_quick=16, epochs_quick=2, num_seeds_quick=2, sparsities=(0.9,)
    )


@pytest.fixture(scope="module")
def small_digits():
    exp = experiment("ham.digits_dense_sparse")
    cfg = _small_digits_config()
    return cfg, exp.run(cfg, True)


@pytest.mark.parametrize("name", sorted(FILES))
def test_registered(name):
    exp = experiment(name)
    assert exp.name == name and exp.paper == "ham" and exp.config.seed == 0
    assert "stand-in" in exp.description


@pytest.mark.parametrize(
    "use_ham", [pytest.param(False, marks=pytest.mark.slow), True], ids=["sgd", "ham"]
)
def test_masked_step_keeps_pruned_weights_zero_despite_momentum(use_ham):
    d = module("ham.digits_dense_sparse")
    cfg = experiment("ham.digits_dense_sparse").config
    tx = d.make_optimizer(cfg, use_ham)
    p = d.init_params(jax.random.key(3), 8)
    X = jax.random.uniform(jax.random.key(4), (16, 64))
    Y = jnp.eye(10)[np.arange(16) % 10]
    s = tx.init(p)
    # A dense step first: the momentum buffer is nonzero everywhere.
    g = jax.grad(d.loss_fn)(p, X, Y)
    u, s = tx.update(g, s, p)
    p = optax.apply_updates(p, u)
    mask = masks.magnitude_mask(p, 0.3, scope="layerwise")
    p = masks.apply_mask(p, mask)
    g = jax.grad(d.loss_fn)(p, X, Y)
    # Reference: masking only the gradient lets the old momentum move pruned
    # weights (what the experiment must prevent).
    g_masked = jtu.tree_map(lambda m, gi: jnp.where(m, gi, 0.0), mask, g)
    u_ref, _ = tx.update(g_masked, s, p)
    moved = optax.apply_updates(p, u_ref)
    assert np.count_nonzero(np.asarray(moved["W1"])[~np.asarray(mask["W1"])]) > 0
    # The experiment's step: pruned entries stay exactly 0, kept ones as optax says.
    new, _ = d.masked_step(tx, p, s, mask, g)
    for k in ("W1", "W2"):
        m = np.asarray(mask[k])
        assert np.all(np.asarray(new[k])[~m] == 0.0)
        np.testing.assert_array_equal(np.asarray(new[k])[m], np.asarray(moved[k])[m])


def test_is_sparse_epoch_schedule():
    d = module("ham.digits_dense_sparse")
    # 30 epochs, phases of 5: D S D S D S (hand-written).
    got = [d.is_sparse_epoch(e, 30, 5) for e in range(30)]
    assert got == [p % 2 == 1 for p in range(6) for _ in range(5)]
    # 7 epochs, phases of 2: D S D S(last phase, 1 epoch) -> ends sparse.
    assert [d.is_sparse_epoch(e, 7, 2) for e in range(7)] == [0, 0, 1, 1, 0, 0, 1]


def test_pruned_weights_exactly_zero_with_stated_sparsity(small_digits):
    cfg, r = small_digits
    h = cfg.hidden_quick
    sizes = {"W1": 64 * h, "W2": h * 10}
    for j, s in enumerate(cfg.sparsities):
        for w, n in sizes.items():
            # Oracle: counting; density 1 - s keeps round((1 - s) n) entries.
            expected = n - round((1 - s) * n)
            assert r[f"expected_zeros_{w}"][j] == expected
            for kind in ("pai", "magnitude"):
                for opt in ("sgd", "ham"):
                    assert np.all(r[f"{kind}_{opt}_zeros_{w}"][:, j] == expected)


def test_pai_final_zeros_are_the_initial_mask():
    # Train directly and compare the zero pattern with the mask recomputed here.
    d = module("ham.digits_dense_sparse")
    cfg = _small_digits_config()
    su = d.setup(cfg, True)
    tx = d.make_optimizer(cfg, True)
    p = d.train(cfg, True, su, "pai", 0.9, d.make_epoch(tx), tx)
    for i, seed in enumerate(su.seeds):
        p0 = jtu.tree_map(lambda x, i=i: x[i], su.params)
        key = jax.random.fold_in(jax.random.key(seed), 1)
        m = masks.random_mask(p0, 0.1, key)
        for w in ("W1", "W2"):
            np.testing.assert_array_equal(np.asarray(p[w][i]) != 0.0, m[w])
    # Biases are not pruned: their mask is all True.
    pm = d.pai_masks(su, 0.1)
    assert bool(jnp.all(pm["b1"])) and bool(jnp.all(pm["b2"]))


def test_accuracies_in_range_and_dense_above_chance(small_digits):
    _, r = small_digits
    for key, v in r.items():
        if key.endswith("_acc"):
            assert np.all((v >= 0) & (v <= 1)), key
    for opt in ("sgd", "ham"):
        assert np.all(r[f"dense_{opt}_test_acc"] > 0.1)  # chance: 10 classes
        np.testing.assert_array_equal(
            r[f"dense_{opt}_test_acc_mean"], r[f"dense_{opt}_test_acc"].mean(0)
        )


@pytest.mark.slow  # the full quick run (~30 s on a loaded 2-core machine)
def test_digits_quick_sidecar_and_report_table(tmp_path):
    exp = experiment("ham.digits_dense_sparse")
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
    n = exp.config.num_seeds_quick
    assert doc["quick"] is True and len(data["seeds"]) == n
    for kind in ("dense", "pai", "magnitude"):
        for opt in ("sgd", "ham"):
            acc = np.asarray(data[f"{kind}_{opt}_test_acc"])
            assert acc.shape[0] == n and np.all((acc >= 0) & (acc <= 1))
            # Oracle: numpy over the per-seed numbers of the same sidecar.
            np.testing.assert_allclose(
                data[f"{kind}_{opt}_test_acc_mean"], acc.mean(0), rtol=0, atol=1e-15
            )
            np.testing.assert_allclose(
                data[f"{kind}_{opt}_test_acc_std"], acc.std(0), rtol=0, atol=1e-15
            )
    assert np.all(np.asarray(data["dense_sgd_test_acc"]) > 0.5)
    tables = json.loads(data["report_tables"])["tables"]
    ours, paper = tables
    assert "stand-in" in ours["title"] and "ImageNet" in paper["title"]
    # The paper's numbers are quoted verbatim (docs/theory/mirror_mirror.md).
    rows = {r[0]: r[1:] for r in paper["rows"]}
    assert rows["Random PaI + HAM"] == ["—", "74.84", "72.72", "70.05"]
    assert rows["Dense (100 epochs)"][0] == "76.72"
    m = np.asarray(data["pai_ham_test_acc_mean"])
    s = np.asarray(data["pai_ham_test_acc_std"])
    row = next(
        r for r in ours["rows"] if r[0].startswith("random PaI") and "HAM" in r[0]
    )
    assert row[2] == f"{100 * m[0]:.1f} ± {100 * s[0]:.1f}"
    assert (tmp_path / "figs" / f"{exp.name}.png").is_file()


def _small_grid_config():
    cfg = experiment("ham.alpha_beta_grid").config
    return dataclasses.replace(
        cfg,
        hidden_quick=16,
        epochs_quick=2,
        alphas_quick=(0.0, 10.0),
        betas_quick=(1e-2,),
    )


# ~4 s; CI's quick figures run the grid.
@pytest.mark.slow
def test_grid_shape_and_best_cell(tmp_path):
    exp = experiment("ham.alpha_beta_grid")
    cfg = _small_grid_config()
    r = exp.run(cfg, True)
    a, b, n = len(cfg.alphas_quick), len(cfg.betas_quick), cfg.num_seeds_quick
    assert r["val_acc"].shape == (a, b, n)
    assert r["val_acc_mean"].shape == (a, b)
    np.testing.assert_array_equal(r["val_acc_mean"], r["val_acc"].mean(axis=2))
    assert np.all((r["val_acc"] >= 0) & (r["val_acc"] <= 1))
    assert np.all(r["val_acc"][0, :] > 0.1)
    # The best cell among alpha >= 1, recomputed by hand.
    rows = [i for i, x in enumerate(cfg.alphas_quick) if x >= 1]
    sub = r["val_acc_mean"][rows]
    i, j = np.unravel_index(np.argmax(sub), sub.shape)
    assert (r["best_alpha"], r["best_beta"]) == (
        cfg.alphas_quick[rows[i]],
        cfg.betas_quick[j],
    )
    exp.plot(r, tmp_path / "g.png")


def test_full_grid_matches_the_recipe():
    cfg = experiment("ham.alpha_beta_grid").config
    # R-H3: alpha in {1, 10, 100}, beta in {0, 1e-3, 1e-2}; alpha = 0 is SGD.
    assert cfg.alphas == (0.0, 1.0, 10.0, 100.0) and cfg.betas == (0.0, 1e-3, 1e-2)
    dcfg = experiment("ham.digits_dense_sparse").config
    assert dcfg.alpha in cfg.alphas[1:] and dcfg.beta in cfg.betas


def test_report_shows_an_experiments_tables(tmp_path):
    # A result with `report_tables` (the digits table format): the report prints
    # every cell, escaped, beside the figure (oracle: the table given here).
    from mirrorflow.app import Outcome, build_html, build_markdown

    exp = experiment("ham.digits_dense_sparse")
    tables = {
        "tables": [
            {
                "title": "ours <digits>",
                "note": "stand-in",
                "columns": ["method", "0.8"],
                "rows": [["PaI + HAM", "91.0 ± 1.0"]],
            },
            {
                "title": "paper ImageNet",
                "note": "quoted",
                "columns": ["method", "0.8"],
                "rows": [["Random PaI + HAM", "74.84"]],
            },
        ]
    }
    o = Outcome(exp, exp.config, "k", "cached", {"report_tables": json.dumps(tables)})
    md = build_markdown([], [o], tmp_path)
    assert "| PaI + HAM | 91.0 ± 1.0 |" in md and "| Random PaI + HAM | 74.84 |" in md
    assert "**ours <digits>**" in md
    page = build_html([], [o])
    section = page[page.index(f"id='fig-{exp.name}'") :]
    assert "ours &lt;digits&gt;" in section and "74.84" in section
    assert section.index("ours &lt;digits&gt;") < section.index("paper ImageNet")
    # A malformed value is reported, not raised.
    o.result = {"report_tables": "{not json"}
    assert "malformed" in build_markdown([], [o], tmp_path)
