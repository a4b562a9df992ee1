"""The mirror2.lora_digits stand-in: a reduced quick run against independent answers.

Oracles: the schedules written out by hand (S0 none, S1 lambda, S2 lambda before
T_off, S3 lambda / 2) and their doses (arithmetic); B0 = 0, so BA = 0 and the ratio
is undefined at step 0, and 1 <= ||X||_*/||X||_F <= sqrt(rank X) <= 2 afterwards;
the first AdamW step written out (with B0 = 0 the gradient in A is exactly zero, so
A only decays: A1 = (1 - lr lambda) A0; B1 = -lr g / (|g| + eps)) with the gradient
of the adapted model written in the `papers.digits` convention (x @ (W1 + D1^T)),
not through `LoRAMLP`; the pretrained model's own accuracy (`mlp_accuracy`) for the
adapted model at step 0; numpy's float64 SVD for the ratio; hand-made curves for
the crossing finder; numpy means over the per-seed numbers of the sidecar.
"""

import dataclasses
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mirrorflow.app import (
    Progress,
    ResultCache,
    default_experiments_dir,
    load_experiment_file,
    make_figures,
)
from mirrorflow.papers.digits import mlp_accuracy, mlp_logits


NAME = "mirror2.lora_digits"
F32 = jnp.float32


def experiment():
    return load_experiment_file(default_experiments_dir() / "mirror2/lora_digits.py")


def module():
    return sys.modules[experiment().run.__module__]


def _small_config():
    # Smaller than the default quick run: seconds, one compilation per shape.
    return dataclasses.replace(
        experiment().config,
        num_seeds_quick=2,
        hidden_quick=16,
        pretrain_steps_quick=60,
        steps_quick=12,
        switch_off_quick=4,
        record_every_quick=1,
    )


# optax's Adam bias correction raises a Python float to an int32 count, which the
# tests' strict promotion refuses (as in tests/helpers.py): standard promotion
# around everything that trains.
STANDARD = "standard"


@pytest.fixture(autouse=True)
def _standard_promotion():
    with jax.numpy_dtype_promotion(STANDARD):
        yield


@pytest.fixture(scope="module")
def small():
    cfg = _small_config()
    with jax.numpy_dtype_promotion(STANDARD):
        return cfg, experiment().run(cfg, True)


def _setup(hidden=16, seed=0):
    """One seed's data, pretrained base and LoRA problems, as the run builds them."""
    m, cfg = module(), experiment().config
    data = m.load_split(seed, cfg.val_fraction)
    (Xo, yo), (Xov, yov) = data["old"]
    (Xn, yn), (Xnv, ynv) = data["new"]
    key = jax.random.key(seed)
    base = m.pretrain(jax.random.fold_in(key, 0), Xo, yo, hidden, 60, 1e-2)
    probs = (
        m.lora_problem(base, Xn, yn),
        m.lora_problem(base, Xnv, ynv),
        m.lora_problem(base, Xov, yov),
    )
    adapters = m.init_adapters(jax.random.fold_in(key, 1), hidden, cfg.rank)
    return base, probs, adapters, (Xn, yn), (Xov, yov)


def test_registered_and_full_config_is_the_recipe():
    exp = experiment()
    assert exp.name == NAME and exp.paper == "mirror2" and exp.config.seed == 0
    assert "stand-in" in exp.description and "GPT-2" in exp.description
    c = exp.config
    # R-H4: 64-256-10 MLP, LoRA rank 4 on both layers, 5 seeds, ~500 AdamW steps,
    # decay switched off at 200 (the paper's iteration), lr 1e-2, lambda 0.1.
    assert (c.hidden, c.rank, c.num_seeds, c.steps, c.switch_off) == (
        256,
        4,
        5,
        500,
        200,
    )
    assert c.learning_rate == 1e-2 and c.weight_decay == 0.1
    assert c.num_seeds_quick <= 2 and c.steps_quick < 100


def test_schedules_and_doses(small):
    cfg, r = small
    lam, t_off, n = cfg.weight_decay, cfg.switch_off_quick, cfg.steps_quick
    k = np.arange(n)
    want = np.stack(
        [0 * k, lam + 0 * k, np.where(k < t_off, lam, 0.0), lam / 2 + 0 * k]
    ).astype(np.float32)
    np.testing.assert_array_equal(r["weight_decay_schedules"], want)
    np.testing.assert_array_equal(r["runs"], ["S0", "S1", "S2", "S3"])
    # Dose D_t = sum_{k < t} lambda_k at the recorded steps (every step here).
    np.testing.assert_allclose(r["dose"][2, -1], lam * t_off, rtol=1e-6)
    np.testing.assert_allclose(r["dose"][3], lam / 2 * r["steps"], rtol=1e-6)
    # S2 and S3 have equal doses at 2 T_off: the predicted crossing.
    i = int(np.flatnonzero(r["steps"] == 2 * t_off)[0])
    np.testing.assert_allclose(r["dose"][2, i], r["dose"][3, i], rtol=1e-6)
    assert r["predicted_crossing"] == 2 * t_off


def test_ratio_undefined_at_step_0_then_within_the_rank_bounds(small):
    cfg, r = small
    assert r["steps"][0] == 0
    for layer in ("l1", "l2"):
        # B0 = 0: BA = 0 exactly, the ratio is undefined (NaN), not 0.
        np.testing.assert_array_equal(r[f"fro_{layer}"][:, :, 0], 0.0)
        assert np.all(np.isnan(r[f"ratio_{layer}"][:, :, 0]))
        later = r[f"ratio_{layer}"][:, :, 1:]
        # 1 <= ||X||_* / ||X||_F <= sqrt(rank) <= sqrt(4); float32 slack 1e-5.
        assert np.all(np.isfinite(later))
        assert np.all(later >= 1 - 1e-5) and np.all(later <= 2 + 1e-5)
    np.testing.assert_allclose(
        r["ratio_mean"], 0.5 * (r["ratio_l1"] + r["ratio_l2"]), rtol=1e-15
    )
    # Seed statistics are numpy's over the per-seed numbers (ddof = 0).
    m = r["ratio_mean"][:, :, 1:]
    np.testing.assert_allclose(r["ratio_mean_seed_mean"][:, 1:], m.mean(1), rtol=1e-15)
    np.testing.assert_allclose(r["ratio_mean_seed_std"][:, 1:], m.std(1), atol=1e-15)


def test_switch_off_run_equals_constant_decay_until_t_off(small):
    # S1 and S2 apply the same decay before T_off: identical histories through
    # step T_off (the step-T_off update still decays), different afterwards; S0
    # and S3 differ from S1 from the first step (A decays).
    cfg, r = small
    t = cfg.switch_off_quick
    for m in ("fro_l1", "fro_l2", "train_loss"):
        np.testing.assert_array_equal(r[m][1, :, : t + 1], r[m][2, :, : t + 1])
        assert np.all(r[m][1, :, t + 1 :] != r[m][2, :, t + 1 :])
    assert np.all(r["fro_l1"][0, :, 1] != r["fro_l1"][1, :, 1])
    assert np.all(r["fro_l1"][3, :, 1] != r["fro_l1"][1, :, 1])


def test_accuracies_and_the_frozen_base(small):
    cfg, r = small
    for key in ("val_acc", "retain_acc", "train_acc"):
        assert np.all((r[key] >= 0) & (r[key] <= 1)), key
    # The pretrained base learned 0-4 and never predicts 5-9; at step 0 (BA = 0)
    # the adapted model is the base: its accuracies are the base's (mlp_accuracy).
    assert np.all(r["pretrain_retain_acc"] > 0.8)
    np.testing.assert_allclose(
        r["retain_acc"][:, :, 0], np.broadcast_to(r["pretrain_retain_acc"], (4, 2))
    )
    np.testing.assert_allclose(
        r["val_acc"][:, :, 0], np.broadcast_to(r["pretrain_new_acc"], (4, 2))
    )
    assert np.all(r["pretrain_new_acc"] < 0.05)
    # Fine-tuning on 5-9 lowers the loss (12 steps: not yet the accuracy).
    assert np.all(r["train_loss"][:, :, -1] < 0.5 * r["train_loss"][:, :, 0])
    assert r["device"] and r["wall_time_per_run"].shape == (4, 2)
    assert np.all(r["wall_time_per_run"] > 0)


def test_first_adamw_step_by_hand():
    m = module()
    base, probs, adapters, (Xn, yn), (Xov, yov) = _setup()
    lam, lr = 0.3, 1e-2
    wd = jnp.asarray([lam], F32)
    p1, hist = m.finetune_jit(*probs, adapters, wd, lr=lr)
    (B1, A1), (B2, A2) = adapters
    Y = jax.nn.one_hot(jnp.asarray(yn), 10, dtype=F32)

    def loss(Bs):
        # The adapted model in the papers.digits convention: x @ (W + D^T).
        p = dict(base)
        p["W1"] = base["W1"] + (Bs[0] @ A1).T
        p["W2"] = base["W2"] + (Bs[1] @ A2).T
        logp = jax.nn.log_softmax(mlp_logits(p, jnp.asarray(Xn)))
        return -jnp.mean(jnp.sum(Y * logp, axis=1))

    gB = jax.jit(jax.grad(loss))((B1, B2))
    for (Bn, An), (B0, A0), g in zip(p1, adapters, gB, strict=True):
        # dL/dA = B^T (...) = 0 at B = 0: A only decays, A1 = (1 - lr lam) A0.
        np.testing.assert_allclose(An, (1 - lr * lam) * A0, rtol=1e-6, atol=0)
        # Adam's first step is g / (sqrt(g^2) + eps); decay of B0 = 0 is 0.
        np.testing.assert_allclose(Bn, -lr * g / (jnp.abs(g) + 1e-8), rtol=1e-4)
        assert float(jnp.abs(B0).max()) == 0.0
    # The base is frozen: with the adapters zeroed the model is the pretrained one.
    Yo = jax.nn.one_hot(jnp.asarray(yov), 10, dtype=F32)
    zero = tuple(jnp.zeros_like(B @ A) for B, A in adapters)
    np.testing.assert_allclose(
        probs[2].accuracy(zero), mlp_accuracy(base, jnp.asarray(Xov), Yo)
    )
    assert hist["fro_l1"].shape == (2,)


def test_decay_shrinks_the_adapters():
    # A strong decoupled decay (lr lambda = 0.03 per step) against none, 12 steps
    # (the small run's shapes) from the same start: the decayed adapters are
    # smaller in both layers.
    m = module()
    _, probs, adapters, _, _ = _setup()
    n = _small_config().steps_quick
    _, h0 = m.finetune_jit(*probs, adapters, jnp.zeros(n, F32), lr=1e-2)
    _, h1 = m.finetune_jit(*probs, adapters, jnp.full(n, 3.0, F32), lr=1e-2)
    for layer in ("fro_l1", "fro_l2"):
        assert float(h1[layer][-1]) < 0.9 * float(h0[layer][-1]), layer


def test_adapter_ratio_against_numpy_svd():
    m = module()
    ratio = jax.jit(m.adapter_ratio)
    rng = np.random.default_rng(0)
    for out, in_, r in ((32, 64, 4), (8, 6, 2)):
        B = rng.standard_normal((out, r)).astype(np.float32)
        A = rng.standard_normal((r, in_)).astype(np.float32)
        s = np.linalg.svd(B.astype(float) @ A.astype(float), compute_uv=False)
        np.testing.assert_allclose(
            ratio(jnp.asarray(B), jnp.asarray(A)),
            s.sum() / np.sqrt(np.sum(s**2)),
            rtol=1e-5,
        )
    # Rank one: exactly 1 (up to float32); B = 0: 0 (BA = 0, "undefined" upstream).
    u = rng.standard_normal((8, 1)).astype(np.float32)
    v = rng.standard_normal((1, 6)).astype(np.float32)
    np.testing.assert_allclose(
        ratio(jnp.asarray(np.hstack([u, 2 * u])), jnp.asarray(np.vstack([v, v]))),
        1.0,
        rtol=1e-5,
    )
    assert float(ratio(jnp.zeros((8, 2), F32), jnp.ones((2, 6), F32))) == 0.0


def test_crossings_on_hand_made_curves():
    m = module()
    steps = np.arange(0, 11) * 10.0
    a = np.r_[np.nan, np.ones(10)]
    b = np.r_[np.nan, np.linspace(0.5, 1.5, 10)]  # equals 1 between steps 50 and 60
    np.testing.assert_allclose(m.crossings(steps, a, b), [55.0])
    c = np.cos(np.linspace(0, 2 * np.pi, 11))  # zeros at 2.5 and 7.5 x 10
    np.testing.assert_allclose(m.crossings(steps, c, 0 * c), [25.0, 75.0], atol=1e-12)
    assert m.crossings(steps, a, a + 1).size == 0


def test_quick_sidecar_and_figure(tmp_path, small):
    # The app's quick run with the small config (same shapes as the fixture: no
    # recompilation): sidecar fields, NaN written as "nan", figure files.
    cfg, r = small
    exp = dataclasses.replace(experiment(), config=cfg)
    outcomes = make_figures(
        [exp],
        quick=True,
        out_dir=tmp_path / "figs",
        cache=ResultCache(tmp_path / "cache"),
        progress=Progress(1, quiet=True),
    )
    assert [o.error for o in outcomes] == [None]
    doc = json.loads((tmp_path / "figs" / f"{NAME}.json").read_text())
    data = doc["data"]
    assert doc["quick"] is True and data["device"] == r["device"]
    assert np.asarray(data["wall_time_per_run"]).shape == (4, 2)
    assert data["ratio_mean"][0][0][0] == "nan"
    np.testing.assert_array_equal(
        np.asarray(data["final_val_acc"]), np.asarray(r["final_val_acc"])
    )
    assert "2 T_off" in data["summary"]
    assert (tmp_path / "figs" / f"{NAME}.png").is_file()
