"""NanoAdam on digits: the gradient-weight statistic, the mask criteria, and the
finetuning runs of `papers.digits` (nanoadam.gradient_vs_weight, .masks,
.forgetting, .lr_sweep).

Oracles: a numpy transcription of the statistic (paper §2.1), numpy stable argsort
for the bottom/top-k masks, a numpy forward pass for the accuracies, and invariants
(weights outside the mask and the excluded head).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mirrorflow.optimizers import (
    gradient_weight_ratio,
    gradient_weight_ratio_tree,
    nanoadam,
    nanoadam_mask,
)
from mirrorflow.papers import digits


def _ratio_numpy(w, g, top, bottom):
    w, g = np.abs(np.ravel(w)), np.abs(np.ravel(g))
    n = w.size
    k1, k2 = max(1, math.floor(top * n)), max(1, math.floor(bottom * n))
    by_grad = sorted(range(n), key=lambda i: (g[i], i))  # ascending, stable
    top_w = sorted(w[i] for i in by_grad[n - k1 :])
    mid = len(top_w) // 2
    median = top_w[mid] if len(top_w) % 2 else 0.5 * (top_w[mid - 1] + top_w[mid])
    return median / max(w[i] for i in by_grad[:k2])


@pytest.mark.parametrize(("top", "bottom"), [(0.01, 0.8), (0.1, 0.5), (0.25, 1.0)])
def test_gradient_weight_ratio_matches_numpy(top, bottom):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((9, 13))
    g = rng.standard_normal((9, 13))
    got = float(
        gradient_weight_ratio(
            jnp.asarray(w), jnp.asarray(g), top_grad=top, bottom_grad=bottom
        )
    )
    assert got == pytest.approx(_ratio_numpy(w, g, top, bottom), rel=1e-12)


def test_gradient_weight_ratio_by_hand_and_tree():
    # |g| order: 4 < 0 < 2 < 5 < 1 < 3. Top 2 by |g|: entries 1, 3 -> |w| 0.5, 0.1,
    # median 0.3; bottom 3 (floor(0.5 * 6)): entries 4, 0, 2 -> |w| max 4.0.
    w = jnp.asarray([1.0, 0.5, -4.0, -0.1, 2.0, 9.0])
    g = jnp.asarray([0.2, 5.0, -0.3, 7.0, 0.1, 0.4])
    r = gradient_weight_ratio(w, g, top_grad=0.34, bottom_grad=0.5)
    assert float(r) == pytest.approx(0.3 / 4.0)
    tree = gradient_weight_ratio_tree(
        {"W": w.reshape(2, 3), "b": w},
        {"W": g.reshape(2, 3), "b": g},
        top_grad=0.34,
        bottom_grad=0.5,
    )
    assert tree["b"] is None and float(tree["W"]) == pytest.approx(0.075)
    with pytest.raises(ValueError, match="same shape"):
        gradient_weight_ratio(w, g[:3])
    with pytest.raises(ValueError, match="top_grad"):
        gradient_weight_ratio(w, g, top_grad=0.0)


# --------------------------------------------------------------- mask criteria


def _toy(seed=0):
    rng = np.random.default_rng(seed)
    params = {
        "a": jnp.asarray(rng.standard_normal((8, 10))),
        "head": jnp.asarray(rng.standard_normal((10, 3))),
    }
    x = jnp.asarray(rng.standard_normal((20, 8)))
    y = jnp.asarray(rng.standard_normal((20, 3)))

    def loss(p):
        return jnp.mean((jnp.tanh(x @ p["a"]) @ p["head"] - y) ** 2)

    return params, loss


def _steps(opt, params, loss, n):
    state, update = opt.init(params), jax.jit(opt.update)
    for _ in range(n):
        u, state = update(jax.grad(loss)(params), state, params)
        params = optax.apply_updates(params, u)
    return params, state


def test_default_criterion_is_small_and_unchanged():
    params, loss = _toy()
    base = _steps(nanoadam(0.05, k=0.2, mask_every=3), params, loss, 7)
    small = _steps(
        nanoadam(0.05, k=0.2, mask_every=3, criterion="small", criterion_seed=5),
        params,
        loss,
        7,
    )
    for x, y in zip(jax.tree.leaves(base), jax.tree.leaves(small), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.slow  # the default criterion is tested in the default suite
def test_large_and_random_criteria():
    params, loss = _toy()
    a = np.abs(np.asarray(params["a"])).ravel()
    count = math.floor(0.2 * a.size)
    opt = nanoadam(0.05, k=0.2, mask_every=3, criterion="large")
    mask = np.asarray(nanoadam_mask(opt.init(params), params)["a"]).ravel()
    want = np.zeros(a.size, bool)
    want[np.argsort(-a, kind="stable")[:count]] = True
    np.testing.assert_array_equal(mask, want)

    def random_masks(seed, steps):
        opt = nanoadam(
            0.05, k=0.2, mask_every=3, criterion="random", criterion_seed=seed
        )
        state, out, update = opt.init(params), [], jax.jit(opt.update)
        zero = jax.tree.map(jnp.zeros_like, params)  # params stay: Adam(0) = 0
        for _ in range(steps):
            _, state = update(zero, state, params)
            out.append(np.asarray(nanoadam_mask(state, params)["a"]))
        return out

    m1, m1b, m2 = random_masks(1, 4), random_masks(1, 4), random_masks(2, 4)
    assert all(m.sum() == count for m in m1)
    np.testing.assert_array_equal(m1[0], m1b[0])  # seeded
    assert not np.array_equal(m1[0], m2[0])
    np.testing.assert_array_equal(m1[0], m1[2])  # no refresh before step 3
    assert not np.array_equal(m1[0], m1[3])  # redrawn at the refresh
    with pytest.raises(ValueError, match="criterion"):
        nanoadam(0.1, k=0.1, mask_every=1, criterion="medium")
    with pytest.raises(ValueError, match="criterion_seed"):
        nanoadam(0.1, k=0.1, mask_every=1, criterion_seed=1.5)


# ------------------------------------------------------------ digits recipe


def _acc_numpy(params, X, Y):
    h = np.maximum(X @ params["W1"], 0)
    h = np.maximum(h @ params["W2"], 0)
    pred = np.argmax(h @ params["W3"], axis=1)
    rows = Y.sum(axis=1) > 0
    return np.mean(pred[rows] == np.argmax(Y[rows], axis=1))


def test_tasks_split_the_digits():
    d = digits.nanoadam_data(7)
    (_, Y), _, _ = digits.load_split(7)
    y = np.argmax(Y, axis=1)
    np.testing.assert_array_equal(d["YA_train"].sum(1) > 0, y < 5)
    np.testing.assert_array_equal(np.argmax(d["YB_train"], 1)[y >= 5], y[y >= 5] - 5)


def test_finetune_invariants_and_forgetting_oracle():
    seed, k = 11, 0.05
    out = digits.nanoadam_finetune(seed, k=k, steps=6, mask_every=100, keep_params=True)
    start, final = out["start"], out["final"]
    for name in ("W1", "W2"):
        a = np.abs(start[name]).ravel()
        moved = (final[name] != start[name]).ravel()
        allowed = np.zeros(a.size, bool)
        allowed[np.argsort(a, kind="stable")[: math.floor(k * a.size)]] = True
        assert moved.any() and not (moved & ~allowed).any()
    assert (final["W3"] != start["W3"]).mean() > 0.5  # the excluded head is dense
    pre = digits.nanoadam_pretrain(seed)
    d = digits.nanoadam_data(seed)
    old = dict(final, W3=pre["pretrained"]["W3"])
    retained = _acc_numpy(old, d["X_test"], d["YA_test"])
    assert out["retained_acc"] == pytest.approx(retained, abs=1e-6)
    assert pre["pretrain_acc"] == pytest.approx(
        _acc_numpy(pre["pretrained"], d["X_test"], d["YA_test"]), abs=1e-6
    )
    assert out["forgetting"] == pytest.approx(pre["pretrain_acc"] - retained, abs=1e-6)
    np.testing.assert_array_equal(start["W1"], pre["pretrained"]["W1"])
    np.testing.assert_array_equal(start["W3"], pre["head"])
    assert "b1" not in start  # no biases


def test_ratio_snapshots_match_numpy():
    snap = digits.gradient_weight_snapshots(11, scratch_steps=0)
    for name in ("ft", "scratch"):
        want = _ratio_numpy(snap[f"W2_{name}"], snap[f"g_{name}"], 0.01, 0.8)
        assert snap[f"r_{name}"] == pytest.approx(want, rel=1e-5)
    r_ft, r_sc = digits.gradient_weight_ratios(11)
    assert (r_ft, r_sc) == (snap["r_ft"], snap["r_scratch"])


@pytest.mark.slow
def test_large_criterion_moves_only_large_weights_and_adamw_all():
    out = digits.nanoadam_finetune(
        [11, 12], criterion="large", steps=4, mask_every=100, keep_params=True
    )
    for j in range(2):
        a = np.abs(out["start"]["W2"][j]).ravel()
        moved = (out["final"]["W2"][j] != out["start"]["W2"][j]).ravel()
        allowed = np.zeros(a.size, bool)
        allowed[np.argsort(-a, kind="stable")[: math.floor(0.05 * a.size)]] = True
        assert moved.any() and not (moved & ~allowed).any()
    adamw = digits.nanoadam_finetune(11, optimizer="adamw", steps=2, keep_params=True)
    assert (adamw["final"]["W2"] != adamw["start"]["W2"]).mean() > 0.99
