"""Pruning-at-initialization masks against independent references.

Oracles: exact counts (the module's rule max(1, round(d n)) kept entries), numpy
thresholds computed by sorting, central finite differences of a numpy loss (SNIP),
a numpy Hessian built column by column from a hand-written numpy gradient (GraSP),
and the closed-form synaptic flow of a 2-layer net (SynFlow), iterated in numpy.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from mirrorflow import masks


def _params(seed=0, shapes=((6, 8), (8, 3))):
    rng = np.random.default_rng(seed)
    out = {}
    for i, (a, b) in enumerate(shapes, start=1):
        out[f"W{i}"] = jnp.asarray(rng.normal(size=(a, b)))
        out[f"b{i}"] = jnp.asarray(rng.normal(size=b))
    return out


def _count(m):
    return int(np.count_nonzero(np.asarray(m)))


def _expected_keep(d, n):
    return max(1, int(round(d * n)))


DENSITIES = (1.0, 0.3, 0.1, 0.01)


# --- counts, reproducibility, biases ---------------------------------------------


@pytest.mark.parametrize("d", DENSITIES)
def test_random_uniform_counts_per_layer(d):
    p = _params()
    m = masks.random_mask(p, d, jr.key(0))
    # Oracle: counting; each weight matrix keeps round(d n) entries, biases all.
    for k in ("W1", "W2"):
        assert m[k].dtype == jnp.bool_ and m[k].shape == p[k].shape
        assert _count(m[k]) == _expected_keep(d, p[k].size)
    for k in ("b1", "b2"):
        assert bool(jnp.all(m[k]))


def test_random_reproducible_and_seed_dependent():
    p = _params()
    a = masks.random_mask(p, 0.3, jr.key(1))
    b = masks.random_mask(p, 0.3, jr.key(1))
    c = masks.random_mask(p, 0.3, jr.key(2))
    for k in p:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in ("W1", "W2"))


def test_erk_densities_closed_form_and_budget():
    shapes = [(64, 256), (256, 10)]
    d = 0.1
    dens = masks.erk_densities(shapes, d)
    sizes = np.array([64 * 256, 256 * 10], float)
    raw = np.array([(64 + 256) / (64 * 256), (256 + 10) / (256 * 10)])
    # Oracle: eps = d N / sum(raw n) when no layer saturates (both below 1 here).
    eps = d * sizes.sum() / np.sum(raw * sizes)
    np.testing.assert_allclose(dens, eps * raw, rtol=1e-13)
    # Saturation: with a small first layer it becomes dense and the rest pays.
    dens = masks.erk_densities([(2, 2), (100, 100)], 0.5)
    assert dens[0] == 1.0
    np.testing.assert_allclose(4 * 1.0 + 1e4 * dens[1], 0.5 * (4 + 1e4), rtol=1e-13)
    m = masks.random_mask(
        _params(shapes=((64, 256), (256, 10))), d, jr.key(0), distribution="erk"
    )
    ref = masks.erk_densities(shapes, d)
    assert _count(m["W1"]) == _expected_keep(ref[0], 64 * 256)
    assert _count(m["W2"]) == _expected_keep(ref[1], 256 * 10)


@pytest.mark.parametrize("d", DENSITIES)
def test_magnitude_global_equals_numpy_threshold(d):
    p = _params(3)
    m = masks.magnitude_mask(p, d)
    mags = np.concatenate([np.abs(np.asarray(p[k])).ravel() for k in ("W1", "W2")])
    k = _expected_keep(d, mags.size)
    thr = np.sort(mags)[::-1][k - 1]  # the k-th largest (no ties: continuous draws)
    for name in ("W1", "W2"):
        np.testing.assert_array_equal(m[name], np.abs(np.asarray(p[name])) >= thr)
    assert _count(m["W1"]) + _count(m["W2"]) == k
    assert bool(jnp.all(m["b1"])) and bool(jnp.all(m["b2"]))


@pytest.mark.parametrize("d", DENSITIES)
def test_magnitude_layerwise_equals_numpy_threshold(d):
    p = _params(4)
    m = masks.magnitude_mask(p, d, scope="layerwise")
    for name in ("W1", "W2"):
        a = np.abs(np.asarray(p[name]))
        k = _expected_keep(d, a.size)
        thr = np.sort(a.ravel())[::-1][k - 1]
        np.testing.assert_array_equal(m[name], a >= thr)
        assert _count(m[name]) == k


def test_which_selects_leaves_and_density_helper():
    p = _params()
    which = {"W1": True, "b1": False, "W2": False, "b2": True}
    m = masks.magnitude_mask(p, 0.5, which=which)
    assert bool(jnp.all(m["W2"])) and bool(jnp.all(m["b1"]))
    assert _count(m["W1"]) + _count(m["b2"]) == _expected_keep(0.5, 48 + 3)
    m = masks.random_mask(p, 0.25, jr.key(0), which=lambda x: x.shape == (8, 3))
    assert bool(jnp.all(m["W1"])) and _count(m["W2"]) == 6
    # density(): counted by hand.
    dens = masks.density(m)
    assert dens.overall == pytest.approx((48 + 6) / (48 + 24), abs=1e-15)
    assert dens.per_leaf["W2"] == 0.25 and dens.per_leaf["b1"] == 1.0
    assert masks.density(m, which=which).overall == 1.0


def test_apply_mask_zeroes_exactly():
    p = _params()
    m = masks.random_mask(p, 0.3, jr.key(5))
    q = masks.apply_mask(p, m)
    for k in p:
        ref = np.where(np.asarray(m[k]), np.asarray(p[k]), 0.0)
        np.testing.assert_array_equal(q[k], ref)
    # 0/1 float masks work too.
    f = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64), m)
    for k in p:
        np.testing.assert_array_equal(masks.apply_mask(p, f)[k], q[k])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_bad_density_names_the_argument(bad):
    p = _params()
    with pytest.raises(ValueError, match="`density` must be a float in \\(0, 1\\]"):
        masks.random_mask(p, bad, jr.key(0))
    with pytest.raises(ValueError, match="magnitude_mask: `density`"):
        masks.magnitude_mask(p, bad)


def test_other_bad_arguments():
    p = _params()
    with pytest.raises(ValueError, match="`scope`"):
        masks.magnitude_mask(p, 0.5, scope="local")
    with pytest.raises(ValueError, match="`distribution`"):
        masks.random_mask(p, 0.5, jr.key(0), distribution="normal")
    with pytest.raises(ValueError, match="`which`"):
        masks.magnitude_mask(p, 0.5, which={"W1": True})
    with pytest.raises(ValueError, match="no leaf"):
        masks.magnitude_mask({"b": jnp.ones(3)}, 0.5)
    with pytest.raises(ValueError, match="apply_mask: a `mask` leaf has shape"):
        masks.apply_mask({"W": jnp.ones((2, 2))}, {"W": jnp.ones((2, 3), bool)})
    with pytest.raises(ValueError, match="synflow_mask: `input_shape`"):
        masks.synflow_mask(_apply, p, 0.5, (1, -6))
    with pytest.raises(ValueError, match="`num_iterations`"):
        masks.synflow_mask(lambda q, x: x, p, 0.5, (1, 6), num_iterations=0)


# --- SNIP and GraSP on a tiny model ------------------------------------------------

_RNG = np.random.default_rng(11)
_X = _RNG.normal(size=(7, 3))
_Y = _RNG.normal(size=(7, 2))


def _tiny_params():
    rng = np.random.default_rng(12)
    return {
        "W1": jnp.asarray(rng.normal(size=(3, 4))),
        "b1": jnp.asarray(rng.normal(size=4)),
        "W2": jnp.asarray(rng.normal(size=(4, 2))),
    }


def _loss_jax(p):
    # A 2-layer linear net with a bias, squared loss: (1/2n) ||(X W1 + b1) W2 - Y||^2.
    r = (jnp.asarray(_X) @ p["W1"] + p["b1"][None, :]) @ p["W2"] - jnp.asarray(_Y)
    return 0.5 * jnp.mean(jnp.sum(r * r, axis=1))


def _loss_np(W1, b1, W2):
    r = (_X @ W1 + b1[None, :]) @ W2 - _Y
    return 0.5 * np.mean(np.sum(r * r, axis=1))


def _grad_np(W1, b1, W2):
    # Hand-written gradient: r = A W2 - Y with A = X W1 + b1, dL/dA = r W2^T / n.
    n = _X.shape[0]
    A = _X @ W1 + b1[None, :]
    r = A @ W2 - _Y
    dA = r @ W2.T / n
    return _X.T @ dA, dA.sum(axis=0), A.T @ r / n


_SHAPES = {"W1": (3, 4), "b1": (4,), "W2": (4, 2)}
_ORDER = ("W1", "b1", "W2")


def _flat(d):
    return np.concatenate([np.asarray(d[k]).ravel() for k in _ORDER])


def _unflat(v):
    out, i = {}, 0
    for k in _ORDER:
        n = int(np.prod(_SHAPES[k]))
        out[k] = v[i : i + n].reshape(_SHAPES[k])
        i += n
    return out


def test_snip_scores_equal_finite_differences_and_mask_is_topk():
    p = _tiny_params()
    theta = _flat(p)
    h = 1e-6
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (_loss_np(**_unflat(theta + e)) - _loss_np(**_unflat(theta - e))) / (
            2 * h
        )
    ref = _unflat(np.abs(theta * g))
    got = masks.snip_scores(_loss_jax, p)
    for k in _ORDER:
        # Central differences: O(h^2) truncation + 1e-16/h round-off ~ 1e-9.
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-8)
    # The mask keeps the global top-k of |theta g| over W1 and W2 (biases dense).
    m = masks.snip_mask(_loss_jax, p, 0.25)
    s = np.concatenate([ref["W1"].ravel(), ref["W2"].ravel()])
    k = _expected_keep(0.25, s.size)
    thr = np.sort(s)[::-1][k - 1]
    np.testing.assert_array_equal(m["W1"], ref["W1"] >= thr)
    np.testing.assert_array_equal(m["W2"], ref["W2"] >= thr)
    assert bool(jnp.all(m["b1"]))


def test_grasp_hessian_gradient_equals_numpy_hessian_times_gradient():
    p = _tiny_params()
    theta = _flat(p)
    # Oracle: the full Hessian, column by column, by central differences of the
    # hand-written numpy gradient (a cubic polynomial: truncation h^2 ~ 1e-10).
    h = 1e-5
    H = np.zeros((theta.size, theta.size))
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        gp = np.concatenate([x.ravel() for x in _grad_np(**_unflat(theta + e))])
        gm = np.concatenate([x.ravel() for x in _grad_np(**_unflat(theta - e))])
        H[:, i] = (gp - gm) / (2 * h)
    g = np.concatenate([x.ravel() for x in _grad_np(**_unflat(theta))])
    # GraSP's g covers the pruned leaves only (W1, W2): zero the bias direction,
    # and read Hg on the weights.
    w = np.concatenate([np.full(int(np.prod(_SHAPES[k])), k != "b1") for k in _ORDER])
    hg = H @ np.where(w, g, 0.0)
    ref = _unflat(np.where(w, hg, 0.0))
    got = masks.grasp_hessian_gradient(_loss_jax, p)
    for k in _ORDER:
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-8)
    # Scores -theta * Hg; the mask keeps the LOWEST scores (removes the largest).
    score = _unflat(-theta * np.where(w, hg, 0.0))
    s = np.concatenate([score["W1"].ravel(), score["W2"].ravel()])
    k = _expected_keep(0.4, s.size)
    thr = np.sort(s)[k - 1]  # the k-th smallest
    m = masks.grasp_mask(_loss_jax, p, 0.4)
    np.testing.assert_array_equal(m["W1"], score["W1"] <= thr)
    np.testing.assert_array_equal(m["W2"], score["W2"] <= thr)
    assert bool(jnp.all(m["b1"]))

    # Sign convention: S_i is half the rate of change of the gradient flow
    # G = |g_w|^2 as weight i is removed, dG/dt at t = 0 of theta - t theta_i e_i
    # (central differences of the numpy gradient; truncation ~ h^2).
    def G(v):
        gv = np.concatenate([x.ravel() for x in _grad_np(**_unflat(v))])
        return float(np.sum(np.where(w, gv, 0.0) ** 2))

    flat_score = _flat(score)
    for i in np.flatnonzero(w):
        e = np.zeros_like(theta)
        e[i] = theta[i]
        rate = (G(theta - h * e) - G(theta + h * e)) / (2 * h)
        assert abs(rate - 2 * flat_score[i]) < 1e-6 * max(1.0, abs(rate))


# --- SynFlow on a 2-layer net --------------------------------------------------------


def _apply(p, x):
    h = jax.nn.relu(x @ p["W1"] + p["b1"][None, :])
    return h @ p["W2"] + p["b2"][None, :]


def _synflow_ref(p, mask):
    # For x = 1 and |theta| (masked): h = 1^T |W1| + |b1| (ReLU is the identity on
    # nonnegative inputs), R = sum_k (h |W2| + |b2|)_k. Hence
    #   dR/dW1[i, j] = (|W2| 1)_j,  dR/dW2[j, k] = h_j,
    # and the scores are those times |theta|.
    A1 = np.abs(np.asarray(p["W1"])) * mask["W1"]
    A2 = np.abs(np.asarray(p["W2"])) * mask["W2"]
    h = A1.sum(axis=0) + np.abs(np.asarray(p["b1"]))
    return A1 * A2.sum(axis=1)[None, :], h[:, None] * A2


def test_synflow_scores_closed_form():
    p = _params(7)
    ones = {k: np.ones(v.shape, bool) for k, v in p.items()}
    s1, s2 = _synflow_ref(p, ones)
    got = masks.synflow_scores(_apply, p, (1, 6))
    # Exact up to summation order: 1e-12 relative.
    np.testing.assert_allclose(got["W1"], s1, rtol=1e-12)
    np.testing.assert_allclose(got["W2"], s2, rtol=1e-12)


@pytest.mark.parametrize("iters", [1, 4])
def test_synflow_mask_equals_iterated_numpy_reference(iters):
    p = _params(8)
    d = 0.3
    n = 48 + 24
    mask = {k: np.ones(v.shape, bool) for k, v in p.items()}
    for j in range(1, iters + 1):
        s1, s2 = _synflow_ref(p, mask)
        s = np.concatenate(
            [
                np.where(mask["W1"], s1, -np.inf).ravel(),
                np.where(mask["W2"], s2, -np.inf).ravel(),
            ]
        )
        k = _expected_keep(d ** (j / iters), n)
        keep = np.zeros(n, bool)
        keep[np.argsort(-s, kind="stable")[:k]] = True
        mask["W1"], mask["W2"] = keep[:48].reshape(6, 8), keep[48:].reshape(8, 3)
    got = masks.synflow_mask(_apply, p, d, (1, 6), num_iterations=iters)
    np.testing.assert_array_equal(got["W1"], mask["W1"])
    np.testing.assert_array_equal(got["W2"], mask["W2"])
    assert _count(got["W1"]) + _count(got["W2"]) == _expected_keep(d, n)
    assert bool(jnp.all(got["b1"])) and bool(jnp.all(got["b2"]))


def test_prune_dispatches_to_each_criterion_and_lists_the_known_ones():
    params = _params(3)
    d = 0.3

    def loss_fn(p):
        return jnp.sum(jnp.tanh(jnp.ones((2, 6)) @ p["W1"] @ p["W2"]) ** 2)

    def apply_fn(p, x):
        return x @ jnp.abs(p["W1"]) @ jnp.abs(p["W2"])

    same = [
        (masks.prune("magnitude", params, d), masks.magnitude_mask(params, d)),
        (
            masks.prune("snip", params, d, loss_fn=loss_fn, scope="layerwise"),
            masks.snip_mask(loss_fn, params, d, scope="layerwise"),
        ),
        (
            masks.prune("grasp", params, d, loss_fn=loss_fn),
            masks.grasp_mask(loss_fn, params, d),
        ),
        (
            masks.prune(
                "synflow",
                params,
                d,
                apply_fn=apply_fn,
                input_shape=(1, 6),
                num_iterations=3,
            ),
            masks.synflow_mask(apply_fn, params, d, (1, 6), num_iterations=3),
        ),
    ]
    for got, want in same:
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(g, w)
    # random: an exact count, globally or per layer, reproducible from the key
    total = sum(x.size for x in jax.tree.leaves(params) if x.ndim >= 2)
    g = masks.prune("random", params, d, key=jr.key(1))
    assert sum(_count(m) for m in jax.tree.leaves(g) if m.ndim >= 2) == round(d * total)
    lw = masks.prune("random", params, d, key=jr.key(1), scope="layerwise")
    for m in jax.tree.leaves(lw):
        if m.ndim >= 2:
            assert _count(m) == _expected_keep(d, m.size)
    again = masks.prune("random", params, d, key=jr.key(1))
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="random, magnitude, snip, grasp, synflow"):
        masks.prune("imp", params, d)
    with pytest.raises(ValueError, match="`key`"):
        masks.prune("random", params, d)
    with pytest.raises(ValueError, match="`loss_fn`"):
        masks.prune("snip", params, d)
    with pytest.raises(ValueError, match="scope='global'"):
        masks.prune(
            "synflow",
            params,
            d,
            apply_fn=apply_fn,
            input_shape=(1, 6),
            scope="layerwise",
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_topk_selection_matches_a_stable_sort_with_ties_and_infinities(dtype):
    # Reference: numpy's stable argsort of -scores (ties: lower index first);
    # the scores mix +-0, +-inf and repeated values, as masked SynFlow rounds do.
    from mirrorflow.masks._masks import _topk_mask

    rng = np.random.default_rng(3)
    for n in (7, 1000, 50_001):
        s = rng.standard_normal(n).astype(dtype)
        s[rng.random(n) < 0.3] = 0.0
        s[rng.random(n) < 0.1] = -0.0
        s[rng.random(n) < 0.2] = -np.inf
        s[rng.random(n) < 0.05] = np.inf
        s[rng.random(n) < 0.1] = 1.5
        for k in sorted({1, 2, n // 3, n // 2, n - 1, n}):
            want = np.zeros(n, bool)
            want[np.argsort(-s, kind="stable")[:k]] = True
            got = np.asarray(_topk_mask(jnp.asarray(s), k))
            np.testing.assert_array_equal(got, want, err_msg=f"n={n}, k={k}")
