"""NanoAdam (Zhou, Jacobs, Gadhikar & Burkholz, NeurIPS 2025): `optimizers.nanoadam`.

Oracles: `optax.adam`/`optax.adamw` (k = 1), a dense plain-numpy transcription of
Algorithm 1, numpy stable argsort for Bottom_k, hand counts of bytes, and exact
rational arithmetic for the density schedule.
"""

import math
import warnings

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mirrorflow.optimizers import (
    AdamLeafState,
    NanoAdamLeafState,
    nanoadam,
    nanoadam_density,
    nanoadam_mask,
    nanoadam_state_bytes,
)

from .helpers import optimize_twice_without_retracing


def _nbytes(tree) -> int:
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(tree))


def _bottom_k(theta: np.ndarray, count_of, chunk: int | None) -> np.ndarray:
    """Dense Bottom_k mask per chunk of the flattened leaf (numpy stable argsort)."""
    flat = np.abs(np.asarray(theta).reshape(-1))
    c = flat.size if chunk is None else min(chunk, flat.size)
    mask = np.zeros(flat.size, bool)
    for start in range(0, flat.size, c):
        part = flat[start : start + c]
        keep = np.argsort(part, kind="stable")[: count_of(part.size)]
        mask[start + keep] = True
    return mask.reshape(np.shape(theta))


# ------------------------------------------------------------- 1. k = 1 is Adam


def _mlp(dtype=jnp.float64, seed=0):
    rng = np.random.default_rng(seed)

    def arr(*shape):
        return jnp.asarray(rng.standard_normal(shape) / math.sqrt(shape[0]), dtype)

    params = {
        "hidden": {"w": arr(4, 6), "b": arr(6)},
        "mid": {"w": arr(6, 5)},
        "head": {"w": arr(5, 3), "b": arr(3)},
    }
    x = jnp.asarray(rng.standard_normal((16, 4)), dtype)
    y = jnp.asarray(rng.standard_normal((16, 3)), dtype)
    return params, (x, y)


def _mlp_loss(params, data):
    x, y = data
    h = jnp.tanh(x @ params["hidden"]["w"] + params["hidden"]["b"][None, :])
    h = jnp.tanh(h @ params["mid"]["w"])
    out = h @ params["head"]["w"] + params["head"]["b"][None, :]
    return jnp.mean((out - y) ** 2)


def _run(opt, params, data, steps):
    """`steps` optimizer steps in one compiled scan; the params after each step."""

    def body(carry, _):
        p, s = carry
        u, s = opt.update(jax.grad(_mlp_loss)(p, data), s, p)
        p = optax.apply_updates(p, u)
        return (p, s), p

    @jax.jit
    def go(p):
        return jax.lax.scan(body, (p, opt.init(p)), None, length=steps)[1]

    with jax.numpy_dtype_promotion("standard"):  # optax's bias correction
        return go(params)


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_full_density_with_bias_correction_is_optax_adam(weight_decay):
    # Oracle: optax.adam / optax.adamw with the same settings (a learning-rate
    # schedule for the adamw case), 50 steps; refreshes every 4 steps, chunks of 5.
    params, data = _mlp()
    kw = {"b1": 0.8, "b2": 0.99, "eps": 1e-7}
    if weight_decay:
        lr = optax.linear_schedule(0.05, 0.01, 50)
        ref = optax.adamw(lr, weight_decay=weight_decay, **kw)
    else:
        lr = 0.05
        ref = optax.adam(lr, **kw)
    ours = nanoadam(
        lr,
        k=1.0,
        mask_every=4,
        chunk_size=5,
        bias_correction=True,
        weight_decay=weight_decay,
        **kw,
    )
    a, b = _run(ours, params, data, 50), _run(ref, params, data, 50)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    moved = np.abs(np.asarray(a["mid"]["w"][-1] - params["mid"]["w"]))
    assert moved.min() > 1e-3  # every entry trained


# ------------------------------------------------- 2. numpy transcription of Alg. 1

_SHAPES = {"w1": (6, 5), "w2": (4, 7), "b": (3,), "head": (5,)}
_CHUNK = 10


def _problem(seed=1):
    rng = np.random.default_rng(seed)
    theta = {k: rng.standard_normal(s) for k, s in _SHAPES.items()}
    coef = {
        k: (rng.uniform(0.5, 2.0, s), rng.standard_normal(s))
        for k, s in _SHAPES.items()
    }
    return theta, coef


def _grad_np(theta, coef):
    # gradient of sum(0.5 (a theta - c)^2): elementwise, the same in numpy and jax
    return {k: coef[k][0] * (coef[k][0] * theta[k] - coef[k][1]) for k in theta}


def _algorithm1_numpy(theta, coef, steps, *, k0, k_end, T, d, m, lr, policy):
    """Algorithm 1 with dense moments (numpy float64); the head is plain Adam."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    theta = {k: v.copy() for k, v in theta.items()}
    mom = {k: np.zeros_like(v) for k, v in theta.items()}
    vel = {k: np.zeros_like(v) for k, v in theta.items()}
    masks = {k: np.ones(v.shape, bool) for k, v in theta.items()}
    kk, changes, densities = k0, 0, set()
    for t in range(steps):
        flag = False
        if t % d == 0:
            kk = k0 + (k_end - k0) * min(t, T) / T  # density_schedule(k, t, T)
            flag = True
        densities.add(kk)
        if t % m == 0 or flag:
            for key in theta:
                if key == "head":
                    continue
                new = _bottom_k(
                    theta[key],
                    lambda n, kk=kk: max(1, math.floor(kk * n + 1e-9)),
                    _CHUNK,
                )
                changes += int(t > 0 and np.any(new != masks[key]))
                keep = (new & masks[key]) if policy == "keep" else np.zeros_like(new)
                mom[key] = np.where(keep, mom[key], 0.0)
                vel[key] = np.where(keep, vel[key], 0.0)
                masks[key] = new
        g = _grad_np(theta, coef)
        for key in theta:
            i = masks[key]
            mom[key][i] = b1 * mom[key][i] + (1 - b1) * g[key][i]
            vel[key][i] = b2 * vel[key][i] + (1 - b2) * g[key][i] ** 2
            theta[key][i] -= lr * mom[key][i] / (np.sqrt(vel[key][i]) + eps)
    return theta, changes, densities


@pytest.mark.parametrize("policy", ["keep", "reset"])
def test_default_matches_a_numpy_transcription_of_algorithm_1(policy):
    # Oracle: `_algorithm1_numpy`, dense moments, 100 steps; the mask changes at
    # refreshes and the density changes at t = 40 and 80 (0.5 -> 0.38 -> 0.26).
    theta, coef = _problem()
    kw = {"k0": 0.5, "k_end": 0.2, "T": 100, "d": 40, "m": 7, "lr": 0.05}
    ref, changes, densities = _algorithm1_numpy(theta, coef, 100, policy=policy, **kw)
    assert changes >= 3 and len(densities) == 3
    opt = nanoadam(
        kw["lr"],
        k=kw["k0"],
        mask_every=kw["m"],
        density_schedule=(kw["k_end"], kw["T"]),
        density_every=kw["d"],
        chunk_size=_CHUNK,
        moment_policy=policy,
    )
    a = {k: jnp.asarray(v[0]) for k, v in coef.items()}
    c = {k: jnp.asarray(v[1]) for k, v in coef.items()}

    def body(carry, _):
        p, s = carry
        g = jax.tree.map(lambda a, p, c: a * (a * p - c), a, p, c)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    p0 = {k: jnp.asarray(v) for k, v in theta.items()}
    (ours, state), _ = jax.jit(
        lambda p: jax.lax.scan(body, (p, opt.init(p)), None, length=100)
    )(p0)
    for key in theta:
        np.testing.assert_allclose(ours[key], ref[key], rtol=1e-12, atol=1e-12)
    assert isinstance(state.leaves[1], AdamLeafState)  # "head" (sorted keys: b, head)


# -------------------------------------------------- 3. float32, jit, one trace


def test_float32_under_jit_without_retracing():
    # Oracle: the trace counter of `optimize_twice_without_retracing`; dtypes.
    params, (x, y) = _mlp(jnp.float32)
    y2 = y + jnp.asarray(0.5, jnp.float32)

    def objective(problem, p):
        return _mlp_loss(p, problem)

    opt = nanoadam(1e-2, k=0.3, mask_every=3, chunk_size=8)
    r1, r2 = optimize_twice_without_retracing(
        opt, objective, (x, y), (x, y2), params, 12
    )
    for res in (r1, r2):
        assert all(v.dtype == jnp.float32 for v in jax.tree.leaves(res.params))
        floats = [v for v in jax.tree.leaves(res.opt_state) if v.dtype.kind == "f"]
        assert floats and all(v.dtype == jnp.float32 for v in floats)
        assert bool(jnp.isfinite(res.loss)) and res.loss < _mlp_loss(params, (x, y))
    assert not np.allclose(r1.params["mid"]["w"], r2.params["mid"]["w"])


# ------------------------------------------------------------ 4. property test


def _adam_numpy(gs, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    """Plain Adam (bias-corrected) updates for a sequence of gradients."""
    m = v = 0.0
    out = []
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out.append(-lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps))
    return out


@hypothesis.settings(max_examples=6, deadline=None, derandomize=True)
@hypothesis.given(
    shape_a=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    shape_b=st.lists(st.integers(1, 9), min_size=2, max_size=2),
    k=st.floats(0.01, 1.0),
    chunk=st.one_of(st.none(), st.integers(1, 12)),
    seed=st.integers(0, 2**16),
)
def test_only_the_bottom_k_move_and_excluded_leaves_are_adam(
    shape_a, shape_b, k, chunk, seed
):
    # Oracles: numpy stable-argsort Bottom_k per chunk; numpy Adam on the head.
    rng = np.random.default_rng(seed)
    params = {
        "a": jnp.asarray(rng.standard_normal(shape_a)),
        "b": jnp.asarray(np.round(rng.standard_normal(shape_b), 1)),  # ties
        "head": jnp.asarray(rng.standard_normal(3)),
    }
    grads = [
        jax.tree.map(lambda x: jnp.asarray(rng.standard_normal(x.shape)), params)
        for _ in range(3)
    ]
    opt = nanoadam(
        0.1,
        k=k,
        mask_every=2,
        chunk_size=chunk,
        bias_correction=True,
        nan_policy="ignore",
    )

    @jax.jit
    def run(p, grads):  # 3 steps, refreshes at t = 0 and 2
        state, out = opt.init(p), []
        for g in grads:
            u, state = opt.update(g, state, p)
            out.append((p, u, nanoadam_mask(state, p, chunk)))
            p = optax.apply_updates(p, u)
        return out

    steps = run(params, grads)
    heads = _adam_numpy([np.asarray(g["head"]) for g in grads])
    count = lambda n: max(1, math.floor(k * n + 1e-12))  # noqa: E731
    for t, (p, u, mask) in enumerate(steps):
        np.testing.assert_allclose(u["head"], heads[t], rtol=1e-13, atol=0)
        if t % 2 == 0:  # a refresh: the mask is Bottom_k(|p|) of these params
            at_refresh = p
        for key in ("a", "b"):
            want = _bottom_k(at_refresh[key], count, chunk)
            np.testing.assert_array_equal(mask[key], want)
            moved = np.asarray(u[key]) != 0
            assert not np.any(moved & ~want)  # only masked entries move
            flat = want.reshape(-1)
            c = flat.size if chunk is None else min(chunk, flat.size)
            for s in range(0, flat.size, c):
                part = flat[s : s + c]
                assert part.sum() <= math.ceil(k * part.size)


# -------------------------------------------------------- 5. gradient-free mask


def test_mask_refresh_does_not_look_at_the_gradient():
    # Oracle: numpy Bottom_k of |theta| at the refresh step, for two gradients.
    theta, _ = _problem(3)
    params = {k: jnp.asarray(v) for k, v in theta.items()}
    opt = nanoadam(0.1, k=0.3, mask_every=4, chunk_size=_CHUNK)
    upd = jax.jit(opt.update)
    state = opt.init(params)
    for _ in range(4):  # to the refresh at t = 4, the params held fixed
        state = upd(jax.tree.map(jnp.ones_like, params), state, params)[1]
    assert int(state.count) == 4
    rng = np.random.default_rng(0)
    g1 = jax.tree.map(lambda x: jnp.asarray(rng.standard_normal(x.shape)), params)
    g2 = jax.tree.map(lambda x: jnp.asarray(1e6 * rng.standard_normal(x.shape)), params)
    s1, s2 = upd(g1, state, params)[1], upd(g2, state, params)[1]
    for a, b in zip(s1.leaves, s2.leaves, strict=True):
        if isinstance(a, NanoAdamLeafState):
            np.testing.assert_array_equal(a.indices, b.indices)
    mask = nanoadam_mask(s1, params, _CHUNK)
    for key in ("w1", "w2", "b"):
        want = _bottom_k(theta[key], lambda n: max(1, math.floor(0.3 * n)), _CHUNK)
        np.testing.assert_array_equal(mask[key], want)


# --------------------------------------------------------------- 6. bad input


def test_bad_arguments_raise_naming_the_argument():
    # Oracle: the documented contract (ValueError naming the argument).
    ok = {"k": 0.1, "mask_every": 10}
    for change, name in (
        ({"k": 0.0}, "`k`"),
        ({"k": 1.5}, "`k`"),
        ({"k": -0.1}, "`k`"),
        ({"mask_every": 0}, "mask_every"),
        ({"mask_every": -3}, "mask_every"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"density_every": 5}, "density_every"),  # without a schedule
        ({"density_schedule": (0.04, 100)}, "density_every"),
        ({"density_schedule": (0.04, 0), "density_every": 5}, "density_schedule"),
        ({"density_schedule": (1.5, 100), "density_every": 5}, "density_schedule"),
        ({"moment_policy": "drop"}, "moment_policy"),
        ({"nan_policy": "skip"}, "nan_policy"),
        ({"exclude": "head"}, "exclude"),
        ({"b2": 1.0}, "b2"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ):
        with pytest.raises(ValueError, match=name):
            nanoadam(1e-3, **{**ok, **change})
    with pytest.raises(ValueError, match="learning_rate"):
        nanoadam(0.0, **ok)


def test_bad_params_state_and_patterns():
    # Oracle: the documented contract (ValueError naming the argument, a warning
    # for a pattern that matches no leaf).
    opt = nanoadam(1e-3, k=0.5, mask_every=2)
    a = {"w": jnp.ones((3, 4)), "v": jnp.ones(5)}
    b = {"w": jnp.ones((3, 5)), "v": jnp.ones(5)}
    state = opt.init(a)
    with pytest.raises(ValueError, match="params"):
        opt.update(a, state)
    with pytest.raises(ValueError, match="state"):  # the mask was built for a
        opt.update(b, state, b)
    with pytest.raises(ValueError, match="grads"):
        opt.update(b, state, a)
    with pytest.warns(UserWarning, match="exclude"):
        nanoadam(1e-3, k=0.5, mask_every=2, exclude=("w", "missing")).init(a)
    with pytest.raises(ValueError, match="exclude"):  # every leaf excluded
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nanoadam(1e-3, k=0.5, mask_every=2, exclude=("w", "v")).init(a)


def test_nan_gradient_follows_the_policy():
    # Oracle: the documented policies, with the clean run as reference.
    p = {"w": jnp.asarray([3.0, -0.1, 2.0, 0.2]), "v": jnp.asarray([1.0, -0.5])}
    g = {"w": jnp.asarray([1.0, 1.0, 1.0, 1.0]), "v": jnp.asarray([1.0, 1.0])}
    bad = {"w": g["w"].at[1].set(jnp.nan), "v": g["v"]}  # NaN on an active entry
    quiet = {"w": g["w"].at[0].set(jnp.nan), "v": g["v"]}  # NaN outside I
    opt = nanoadam(0.1, k=0.5, mask_every=1)
    step = jax.jit(opt.update)
    with pytest.raises(Exception, match="NaN/inf"):
        jax.block_until_ready(step(bad, opt.init(p), p))
    u, _ = step(quiet, opt.init(p), p)  # a NaN that is not read: no error
    assert np.all(np.isfinite(np.asarray(u["w"])))
    rev = nanoadam(0.1, k=0.5, mask_every=1, nan_policy="revert")
    s0 = rev.init(p)
    clean, _ = rev.update(g, s0, p)
    u, s = rev.update(bad, s0, p)
    np.testing.assert_array_equal(u["w"], 0.0)  # this leaf does not move
    np.testing.assert_array_equal(s.leaves[1].mu, s0.leaves[1].mu)  # 'w'
    np.testing.assert_array_equal(u["v"], clean["v"])  # the other leaf does
    u, _ = rev.update(quiet, s0, p)
    np.testing.assert_array_equal(u["w"], clean["w"])  # unused NaN: no effect
    ign = nanoadam(0.1, k=0.5, mask_every=1, nan_policy="ignore")
    u, _ = ign.update(bad, ign.init(p), p)
    assert np.isnan(np.asarray(u["w"])[1])


# ------------------------------------------------- 7. density schedule, bytes


def test_linear_density_schedule_is_exact():
    # Oracle: the values of the issue, and exact rational floors (0.57 * 100 = 57).
    sched = {"density_schedule": (0.04, 200), "density_every": 50}
    got = [nanoadam_density(t, 0.1, **sched) for t in (0, 49, 50, 100, 150, 199)]
    assert got == [0.1, 0.1, 0.085, 0.07, 0.055, 0.055]
    assert nanoadam_density(200, 0.1, **sched) == 0.04
    assert nanoadam_density(10_000, 0.1, **sched) == 0.04
    off = {"density_schedule": (0.04, 200), "density_every": 201}  # d > T: off
    assert nanoadam_density(10_000, 0.1, **off) == 0.1
    opt = nanoadam(1e-3, k=0.1, mask_every=1000, chunk_size=None, **sched)
    p = {"w": jnp.asarray(np.random.default_rng(0).standard_normal(100))}
    state, upd, seen = opt.init(p), jax.jit(opt.update), {}
    for t in range(151):
        state = upd(p, state, p)[1]
        seen[t] = int(state.leaves[0].active[0])
    assert [seen[t] for t in (0, 49, 50, 100, 150)] == [10, 10, 8, 7, 5]
    # A function schedule, and the count of a density whose float product is
    # below the integer: floor(0.57 * 100) is 56 in floats, 57 exactly.
    assert nanoadam_density(7, 0.9, (lambda t: 0.57, 10), 5) == 0.57
    s = nanoadam(1e-3, k=0.57, mask_every=5, chunk_size=None).init(p)
    assert int(s.leaves[0].active[0]) == 57


def test_state_bytes_formula_matches_the_state():
    # Oracle: a hand count, and the bytes of the actual state pytree.
    params = {
        "w": jnp.ones((10, 10), jnp.float32),  # chunks 32, 32, 32, 4
        "b": jnp.ones(10, jnp.float32),
        "head": jnp.ones(7, jnp.float32),
    }
    opt = nanoadam(1e-3, k=0.25, mask_every=5, chunk_size=32)
    # w: 4 chunks x cap floor(0.25 * 32) = 8 slots x (4 + 4 + 2 bytes) + 8;
    # b: 1 chunk x floor(2.5) = 2 slots x 10 + 8; head: 2 x 7 x 4; count: 4.
    hand = 4 * 8 * 10 + 8 + 2 * 10 + 8 + 2 * 7 * 4 + 4
    assert nanoadam_state_bytes(params, 0.25, 32) == _nbytes(opt.init(params)) == hand
    big = {"w": jax.ShapeDtypeStruct((256, 512), jnp.float32)}  # 4 chunks of 2**15
    for kw in (
        {"chunk_size": 2**15},
        {"chunk_size": None},  # 131072 > 2**15: int32 indices
        {"chunk_size": 1000, "density_schedule": (0.3, 50), "density_every": 10},
    ):
        opt = nanoadam(1e-3, k=0.1, mask_every=5, exclude=(), **kw)
        real = jax.eval_shape(opt.init, big)  # the state pytree's leaves
        assert nanoadam_state_bytes(big, 0.1, exclude=(), **kw) == _nbytes(real)
    assert real.leaves[0].indices.dtype == jnp.int16
    assert real.leaves[0].indices.shape == (132, 300)  # cap: the largest density
    ratio = nanoadam_state_bytes(big, 0.1, exclude=()) / (2 * 4 * 131_072 + 4)
    assert ratio == pytest.approx(0.1 * (8 + 2) / 8, rel=1e-3)
