"""`mirror_descent` and `optimize(save_every=...)` against independent references."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mirrorflow as mf
from mirrorflow.optimizers import MirrorDescentState, mirror_descent


D, N = 30, 10  # small underdetermined problems keep the file fast


def _case(name):
    """(potential, problem, x0, eta) for one potential; eta well inside stability."""
    if name == "hypentropy":
        return mf.Hypentropy(0.5), mf.random_regression(D, N, 3, 0), 0.1, 0.02
    if name == "squared_norm":
        return mf.SquaredNorm(), mf.random_regression(D, N, 3, 0), 0.1, 0.1
    # Negative entropy needs x > 0: a positive planted solution and start.
    return mf.NegEntropy(), mf.random_regression(D, N, 3, 0, positive=True), 0.5, 0.05


POTENTIALS = ["hypentropy", "squared_norm", "neg_entropy"]


def _python_loop(optimizer, loss_fn, params, num_steps, *, jit=True):
    """Params and states after steps 0..num_steps, one `update` call per step."""
    update = jax.jit(optimizer.update) if jit else optimizer.update
    grad = jax.jit(jax.grad(loss_fn)) if jit else jax.grad(loss_fn)
    state = optimizer.init(params)
    params_path, states = [params], [state]
    for _ in range(num_steps):
        updates, state = update(grad(params), state, params)
        params = optax.apply_updates(params, updates)
        params_path.append(params)
        states.append(state)
    return params_path, states


def _range_residual(A, v):
    """|component of `v` orthogonal to range(A^T)| / max(|v|, 1)."""
    A = np.asarray(A)
    v = np.asarray(v)
    return np.linalg.norm(v - np.linalg.pinv(A) @ (A @ v)) / max(np.linalg.norm(v), 1.0)


@pytest.mark.parametrize("name", POTENTIALS)
def test_equals_forward_euler_on_the_dual_flow(name):
    # Oracle: diffrax's Euler with dt0 = eta on MirrorFlow (an independent code
    # path for the same recursion z_{k+1} = z_k - eta grad f(grad R*(z_k))).
    potential, problem, x0_value, eta = _case(name)
    num_steps = 60
    x0 = jnp.full(D, x0_value)
    flow = mf.MirrorFlow(problem, potential)
    ts = jnp.asarray(np.arange(num_steps + 1) * eta)
    sol = mf.integrate(
        flow,
        flow.initial_state(x0),
        0.0,
        float(ts[-1]),
        ts=ts,
        solver=dfx.Euler(),
        stepsize_controller=dfx.ConstantStepSize(),
        dt0=eta,
    )
    xs, states = _python_loop(mirror_descent(potential, eta), problem.loss, x0, 60)
    xs = np.stack(xs)
    zs = np.stack([s.dual for s in states])
    assert sol.ts.shape == (num_steps + 1,)
    # 1e-12: both are the same recursion; they differ only in diffrax's accumulated
    # times (dt = t_{k+1} - t_k != eta by ~k ulp) and in grad f computed by autodiff
    # versus problem.grad: measured <= 2e-15.
    np.testing.assert_allclose(zs, sol.ys, rtol=0, atol=1e-12)
    np.testing.assert_allclose(xs, sol.xs, rtol=0, atol=1e-12)
    # The run must move: the check is not comparing two copies of x0.
    assert np.max(np.abs(xs[-1] - xs[0])) > 1e-2


def test_squared_norm_is_sgd():
    # Oracle: optax.sgd(eta / coef); mirror descent with R = coef/2 |x|^2 is gradient
    # descent with step eta / coef. Also on a pytree with a matrix leaf.
    problem = mf.random_regression(D, N, 3, 1)
    eta, coef = 0.1, 2.5

    def loss(p):
        return problem.loss(p["w"] + p["m"].reshape(-1)) + 0.5 * jnp.sum(p["m"] ** 2)

    params0 = {"w": jnp.full(D, 0.1), "m": jnp.linspace(-1.0, 1.0, D).reshape(5, 6)}
    md, _ = _python_loop(mirror_descent(mf.SquaredNorm(coef), eta), loss, params0, 100)
    sgd, _ = _python_loop(optax.sgd(eta / coef), loss, params0, 100)
    for key in ("w", "m"):
        # 1e-12: the two differ by rounding per step ((coef x - eta g)/coef versus
        # x - (eta/coef) g), measured <= 1e-15 over 100 steps.
        np.testing.assert_allclose(md[-1][key], sgd[-1][key], rtol=0, atol=1e-12)
    assert md[-1]["m"].shape == (5, 6)


@pytest.mark.parametrize("name", POTENTIALS)
def test_converges_to_the_bregman_projection(name):
    # Oracle: mf.predict (dual Newton) = the limit of mirror descent with a
    # fixed step on underdetermined least squares (Gunasekar et al. 2018, Thm 1).
    potential, problem, x0_value, eta = _case(name)
    x0 = jnp.full(D, x0_value)
    res = mf.optimize(
        mirror_descent(potential, eta),
        problem.loss,
        x0,
        20_000,
        stop_loss=1e-26,
        save_every=50,
    )
    assert bool(res.converged)
    proj = mf.predict(problem, potential, x0=x0)
    # 1e-9: at loss 1e-26 the residual |Ax - b| is ~1e-13; the remaining error is the
    # distance along the affine set, which the invariant below pins (measured 1e-13).
    np.testing.assert_allclose(res.params, proj.x, rtol=0, atol=1e-9)
    # The invariant that makes the limit exact: grad R(x_k) - grad R(x_0) stays in
    # range(A^T), both for the dual iterate in the state and for grad R of the
    # saved primal rows. 1e-12 relative: round-off of ~1e3 steps and of the
    # round trip grad R(grad R*(z)) (measured <= 1e-14).
    z0 = potential.grad(x0)
    assert _range_residual(problem.A, res.opt_state.dual - z0) < 1e-12
    count = int(res.trajectory_count)
    assert count >= 3
    for x in np.asarray(res.trajectory)[:count]:
        assert _range_residual(problem.A, potential.grad(jnp.asarray(x)) - z0) < 1e-12


def test_pytree_params_apply_the_potential_leafwise():
    # Oracle: the separable potential on the raveled, concatenated params (a single
    # vector run); and a prefix tree of potentials equals separate runs per leaf.
    problem = mf.random_regression(D, N, 3, 2)
    potential, eta = mf.Hypentropy(0.5), 0.02

    def loss_tree(p):
        return problem.loss(jnp.concatenate([p["a"], p["b"].reshape(-1)]))

    flat0 = jnp.linspace(-0.5, 0.5, D)
    tree0 = {"a": flat0[:12], "b": flat0[12:].reshape(3, 6)}
    tree, _ = _python_loop(mirror_descent(potential, eta), loss_tree, tree0, 40)
    flat, _ = _python_loop(mirror_descent(potential, eta), problem.loss, flat0, 40)
    joined = np.concatenate([tree[-1]["a"], np.ravel(tree[-1]["b"])])
    # 1e-13: the same elementwise arithmetic; only the summation order of A x may
    # differ between the concatenated and the flat loss (measured 0).
    np.testing.assert_allclose(joined, flat[-1], rtol=0, atol=1e-13)

    # Different potentials per leaf: with the other leaf frozen at its start, each
    # leaf's run equals a single-array run on that leaf alone.
    mixed = {"a": mf.Hypentropy(0.5), "b": mf.SquaredNorm()}
    out, _ = _python_loop(mirror_descent(mixed, eta), loss_tree, tree0, 1, jit=False)
    for key, pot in mixed.items():

        def leaf_loss(v, key=key):
            return loss_tree({**tree0, key: v})

        single, _ = _python_loop(
            mirror_descent(pot, eta), leaf_loss, tree0[key], 1, jit=False
        )
        # 1e-15: one step, identical arithmetic (measured 0).
        np.testing.assert_allclose(out[-1][key], single[-1], rtol=0, atol=1e-15)


def test_schedule_counts_steps():
    # Oracle: a numpy loop of z <- z - eta_k g, x = grad R*(z), with numpy's
    # eta_k = 0.05 * 0.5**(k / 10). The schedule is written in float64: optax's
    # exponential_decay returns float32 at an int32 count, and its float32 pow
    # rounds differently under jit and eagerly (1 ulp = 6e-8 relative).
    problem = mf.random_regression(D, N, 3, 3)
    potential = mf.Hypentropy(0.5)

    def schedule(count):
        return 0.05 * 0.5 ** (jnp.asarray(count, jnp.float64) / 10.0)

    x0 = jnp.full(D, 0.1)
    xs, states = _python_loop(mirror_descent(potential, schedule), problem.loss, x0, 30)
    A, b = np.asarray(problem.A), np.asarray(problem.b)
    c, k = float(potential.scale), potential.coef
    z = k * np.arcsinh(np.asarray(x0) / c)
    for step in range(30):
        x = c * np.sinh(z / k)
        z = z - 0.05 * 0.5 ** (step / 10) * (A.T @ (A @ x - b))
    # 1e-12: numpy's sinh/arcsinh and pow versus the library's overflow-safe forms
    # and XLA's, 30 steps (measured <= 1e-15).
    np.testing.assert_allclose(xs[-1], c * np.sinh(z / k), rtol=0, atol=1e-12)
    assert int(states[-1].count) == 30


def test_float32_and_no_recompile():
    # Oracle: the float64 run (float32 round-off, tolerance 1e-5 for values O(1));
    # dtype preservation as in optax's float64_test; trace count as in alias_test.
    problem = mf.random_regression(D, N, 3, 0)
    potential = mf.Hypentropy(0.5)  # its scale is float64 under x64
    A32, b32 = problem.A.astype(jnp.float32), problem.b.astype(jnp.float32)

    def loss32(x):
        r = A32 @ x - b32
        return 0.5 * jnp.vdot(r, r)

    optimizer = mirror_descent(potential, 0.02)
    traces = []

    @jax.jit
    def step(x, state):
        traces.append(None)
        updates, state = optimizer.update(jax.grad(loss32)(x), state, x)
        return optax.apply_updates(x, updates), state, updates

    x = jnp.full(D, 0.1, jnp.float32)
    state = optimizer.init(x)
    assert state.dual.dtype == jnp.float32
    for _ in range(200):
        x, state, updates = step(x, state)
    assert len(traces) == 1
    assert x.dtype == updates.dtype == state.dual.dtype == jnp.float32
    x64, _ = _python_loop(optimizer, problem.loss, jnp.full(D, 0.1), 200)
    # 1e-5: float32 round-off (6e-8 per operation) over 200 contracting steps,
    # values O(1) (measured 2e-7).
    np.testing.assert_allclose(np.asarray(x, np.float64), x64[-1], rtol=0, atol=1e-5)


def test_traced_learning_rate_through_inject_hyperparams():
    # Oracle: the same run with a Python-float rate (a traced rate is not checked).
    problem = mf.random_regression(D, N, 3, 0)
    potential, x0 = mf.Hypentropy(0.5), jnp.full(D, 0.1)
    injected = optax.inject_hyperparams(mirror_descent, static_args=("potential",))(
        potential=potential, learning_rate=0.02
    )
    a = mf.optimize(injected, problem.loss, x0, 50)
    b = mf.optimize(mirror_descent(potential, 0.02), problem.loss, x0, 50)
    # 1e-14: identical arithmetic (measured 0).
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "rate", [np.float32(0.1), np.float64(0.1), jnp.asarray(0.1), 1]
)
def test_scalar_learning_rates_are_accepted(rate):
    optimizer = mirror_descent(mf.SquaredNorm(), rate)
    state = optimizer.init(jnp.ones(3))
    updates, state = optimizer.update(jnp.ones(3), state, jnp.ones(3))
    # 1e-7: the float32 rate 0.1 is 0.1 to float32 precision.
    np.testing.assert_allclose(updates, -float(rate) * np.ones(3), rtol=1e-7)
    assert isinstance(state, MirrorDescentState)


@pytest.mark.parametrize(
    "rate", [0.0, -0.1, float("nan"), float("inf"), True, jnp.ones(2), np.array(0.0)]
)
def test_bad_learning_rate_raises(rate):
    with pytest.raises(ValueError, match="`learning_rate` must be a finite float > 0"):
        mirror_descent(mf.Hypentropy(0.5), rate)


def test_bad_inputs_raise():
    optimizer = mirror_descent(mf.Hypentropy(0.5), 0.1)
    state = optimizer.init(jnp.ones(3))
    with pytest.raises(ValueError, match="needs `params`"):
        optimizer.update(jnp.ones(3), state)
    with pytest.raises(ValueError, match="`params` lies outside the domain"):
        mirror_descent(mf.NegEntropy(), 0.1).init(jnp.array([1.0, -1.0]))
    with pytest.raises(TypeError, match="`potential` must be a potential"):
        mirror_descent("hypentropy", 0.1)


def test_optimize_trajectory_matches_a_python_loop():
    # Oracle: a plain Python loop of optimizer.update, read at steps 0, 5, ..., 20.
    problem = mf.random_regression(D, N, 3, 0)
    potential, x0 = mf.Hypentropy(0.5), jnp.full(D, 0.1)
    optimizer = mirror_descent(potential, 0.02)
    res = mf.optimize(optimizer, problem.loss, x0, 23, save_every=5)
    plain = mf.optimize(optimizer, problem.loss, x0, 23)
    xs, _ = _python_loop(optimizer, problem.loss, x0, 23)
    expected = np.stack(xs[::5])
    assert res.trajectory.shape == (5, D)  # 23 // 5 + 1 rows: steps 0, 5, ..., 20
    np.testing.assert_array_equal(res.trajectory_steps, [0, 5, 10, 15, 20])
    assert int(res.trajectory_count) == 5 and int(res.num_steps) == 23
    # 1e-12: the same steps compiled in different loops (measured 0).
    np.testing.assert_allclose(res.trajectory, expected, rtol=0, atol=1e-12)
    losses = [float(problem.loss(jnp.asarray(x))) for x in expected]
    np.testing.assert_allclose(res.trajectory_loss, losses, rtol=1e-12)
    np.testing.assert_allclose(res.params, plain.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.params, xs[-1], rtol=0, atol=1e-12)
    assert plain.trajectory is None and plain.trajectory_steps is None
    assert plain.trajectory_loss is None and plain.trajectory_count is None


def test_optimize_trajectory_on_a_pytree_with_early_stop():
    # Oracle: the definition of the stopping rule on a full per-step trajectory;
    # rows after the stop are marked invalid (step -1, NaN).
    problem = mf.random_regression(D, N, 3, 0)

    def loss(p):
        return problem.loss(p["x"]) + 0.0 * jnp.sum(p["y"])

    params0 = {"x": jnp.full(D, 0.1), "y": jnp.zeros((2, 2))}
    optimizer = mirror_descent(mf.Hypentropy(0.5), 0.02)
    full = mf.optimize(optimizer, loss, params0, 100, save_every=1)
    losses = np.asarray(full.trajectory_loss)
    assert int(full.trajectory_count) == 101 and np.all(np.isfinite(losses))
    stop_loss = float(losses[37])
    stop_step = int(np.argmax(losses <= stop_loss))  # the first step at or below
    res = mf.optimize(optimizer, loss, params0, 100, stop_loss=stop_loss, save_every=4)
    assert bool(res.converged) and int(res.num_steps) == stop_step
    count = stop_step // 4 + 1
    assert int(res.trajectory_count) == count
    steps = np.asarray(res.trajectory_steps)
    assert steps.shape == (26,)
    np.testing.assert_array_equal(steps[:count], 4 * np.arange(count))
    assert np.all(steps[count:] == -1)
    rows = np.asarray(res.trajectory["x"])
    assert rows.shape == (26, D) and res.trajectory["y"].shape == (26, 2, 2)
    # 1e-12: the same steps, compiled in two loops (measured 0).
    np.testing.assert_allclose(
        rows[:count], np.asarray(full.trajectory["x"])[steps[:count]], atol=1e-12
    )
    assert np.all(np.isnan(rows[count:])) and np.all(
        np.isnan(res.trajectory_loss[count:])
    )


@pytest.mark.parametrize("save_every", [0, -3, True])
def test_optimize_bad_save_every_raises(save_every):
    with pytest.raises(ValueError, match="`save_every` must be a positive int"):
        mf.optimize(
            optax.sgd(0.1),
            lambda p: jnp.sum(p**2),
            jnp.ones(2),
            5,
            save_every=save_every,
        )
    # A non-int: ValueError from optimize, or TypeError naming `save_every` from the
    # runtime type check the test suite turns on (jaxtyping + beartype).
    with pytest.raises((ValueError, TypeError), match="save_every"):
        mf.optimize(
            optax.sgd(0.1), lambda p: jnp.sum(p**2), jnp.ones(2), 5, save_every=2.5
        )
