"""The JAX-native BDF solver against independent references.

Oracles: the matrix exponential (linear stiff system), scipy Radau (Robertson's
chemical kinetics), scipy LSODA (a reduced mirror flow), and the closed form of
gradient flow on a scalar quadratic (the `stop_loss` event time). Tolerances: the
global error of a stable stiff problem stays within ~1e3 x the local `rtol`
(the convention of test_solvers.py).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import mirrorflow as mf
from mirrorflow.flows import AbstractFlow
from mirrorflow.solvers import BDF


_TRACES = {"linear": 0}


class _Linear(AbstractFlow):
    """y' = M y; counts how often its right-hand side is traced."""

    M: jax.Array
    problem: None = None

    def vector_field(self, t, y, args):
        _TRACES["linear"] += 1
        return self.M @ y

    def to_primal(self, y):
        return y

    def loss(self, y):
        return 0.5 * jnp.vdot(y, y)


class _Robertson(AbstractFlow):
    """Robertson's chemical kinetics (rates 0.04, 3e7, 1e4)."""

    problem: None = None

    def vector_field(self, t, y, args):
        a = 0.04 * y[0]
        b = 1e4 * y[1] * y[2]
        c = 3e7 * y[1] * y[1]
        return jnp.stack([-a + b, a - b - c, c])

    def to_primal(self, y):
        return y

    def loss(self, y):
        return jnp.sum(y)


def _stiff_matrix(n, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.logspace(-3, 4, n)  # stiffness ratio 1e7
    return -(q * lam[None, :]) @ q.T, rng.standard_normal(n)


def test_linear_stiff_against_expm():
    M, y0 = _stiff_matrix(6, 0)
    ts = mf.log_times(1e-4, 1e3, 30)
    sol = mf.integrate(
        _Linear(jnp.asarray(M)),
        jnp.asarray(y0),
        0.0,
        1e3,
        ts=ts,
        solver=BDF(rtol=1e-10, atol=1e-12),
    )
    exact = np.stack([scipy.linalg.expm(M * t) @ y0 for t in np.asarray(ts)])
    assert sol.result == "successful"
    np.testing.assert_allclose(sol.ys, exact, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(sol.y_final, exact[-1], rtol=1e-7, atol=1e-9)
    assert sol.stats["nlu"] < sol.stats["num_steps"]  # LU reused across steps


def test_cvode_newton_mode_against_expm():
    # newton_tol = 0.1 (CVODE's coefficient, first-iteration convergence with the
    # previous rate): fewer right-hand sides, and the global error stays within
    # the 1e3 x rtol convention against the matrix exponential.
    M, y0 = _stiff_matrix(6, 0)
    ts = mf.log_times(1e-4, 1e3, 30)
    flow = _Linear(jnp.asarray(M))
    runs = {
        tol: mf.integrate(
            flow,
            jnp.asarray(y0),
            0.0,
            1e3,
            ts=ts,
            solver=BDF(rtol=1e-10, atol=1e-12, newton_tol=tol),
        )
        for tol in (None, 0.1)
    }
    exact = np.stack([scipy.linalg.expm(M * t) @ y0 for t in np.asarray(ts)])
    np.testing.assert_allclose(runs[0.1].ys, exact, rtol=1e-7, atol=1e-9)
    assert runs[0.1].stats["nfev"] < 0.75 * runs[None].stats["nfev"]
    with pytest.raises(ValueError, match="newton_tol"):
        BDF(newton_tol=1.5)


def test_robertson_against_radau():
    flow = _Robertson()
    y0 = jnp.array([1.0, 0.0, 0.0])
    ts = mf.log_times(1e-5, 1e5, 25)
    kw = dict(ts=ts, throw=True)
    ours = mf.integrate(flow, y0, 0.0, 1e5, solver=BDF(rtol=1e-10, atol=1e-18), **kw)
    ref = mf.integrate(
        flow,
        y0,
        0.0,
        1e5,
        solver=mf.ScipyReference("Radau", rtol=1e-12, atol=1e-20),
        **kw,
    )
    assert ours.result == "successful"
    # Componentwise relative: y2 ~ 1e-5 and y0 + y1 + y2 = 1 both held to 1e-7.
    np.testing.assert_allclose(ours.ys, ref.ys, rtol=1e-7, atol=1e-18)
    np.testing.assert_allclose(jnp.sum(ours.ys, axis=1), 1.0, rtol=1e-12)


@pytest.fixture(scope="module")
def reduced():
    prob = mf.random_regression(100, 20, 5, 0)
    flow = mf.ReducedMirrorFlow(prob, mf.Hypentropy(1e-3), jnp.zeros(100))
    return flow, flow.initial_state(), mf.log_times(1e-2, 1e4, 50)


def test_reduced_mirror_flow_against_lsoda(reduced):
    flow, y0, ts = reduced
    ours = mf.integrate(flow, y0, 0.0, 1e4, ts=ts, solver=BDF())
    ref = mf.integrate(
        flow,
        y0,
        0.0,
        1e4,
        ts=ts,
        solver=mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
    )
    scale = max(1.0, float(jnp.max(jnp.abs(ref.xs))))
    assert float(jnp.max(jnp.abs(ours.xs - ref.xs))) / scale <= 1e-8
    assert float(jnp.max(jnp.abs(ours.x_final - ref.x_final))) / scale <= 1e-8
    assert ours.stats["njev"] <= 10  # the Jacobian is reused across steps


class _Unfused(mf.ReducedMirrorFlow):
    """The reduced flow without its fused field-and-loss (the default method)."""

    def vector_field_and_loss(self, t, y, args):
        return AbstractFlow.vector_field_and_loss(self, t, y, args)


def test_fused_field_and_loss_and_its_event(reduced):
    flow, y0, ts = reduced
    y = y0 + 0.01 * jnp.arange(y0.shape[0], dtype=y0.dtype)
    f, loss = flow.vector_field_and_loss(0.0, y, None)
    # Oracle: the problem's own loss at the primal point and the separate field.
    np.testing.assert_allclose(f, flow.vector_field(0.0, y, None), rtol=1e-14)
    np.testing.assert_allclose(
        loss, flow.problem.loss(flow.to_primal(y)), rtol=1e-13, atol=1e-300
    )
    # The event read from Newton's last evaluation (then confirmed exactly) stops
    # where the solver that computes the exact loss after every step stops.
    stop = 1e-14
    kw = dict(ts=ts, solver=BDF(), stop_loss=stop)
    fused = mf.integrate(flow, y0, 0.0, 1e4, **kw)
    plain = mf.integrate(
        _Unfused(flow.problem, flow.potential, flow.z0), y0, 0.0, 1e4, **kw
    )
    assert fused.result == plain.result == "event"
    assert abs(float(fused.t_final) / float(plain.t_final) - 1) <= 1e-9
    np.testing.assert_allclose(fused.loss_final, stop, rtol=1e-6)
    np.testing.assert_allclose(fused.xs, plain.xs, rtol=0, atol=1e-12)


def test_stop_loss_event_time():
    # x' = -(x - 1), x0 = -0.5: x = 1 - 1.5 e^{-t}, loss 1.125 e^{-2t}. An error
    # e in x moves the event by e / |x - 1| (= e / 0.014 at s = 1e-4), so 1e-9
    # relative in t (t ~ 4.7) needs |e| <~ 6e-11: rtol 1e-12 gives ~1e-11.
    flow = mf.RiemannianFlow(
        mf.LinearRegression(jnp.ones((1, 1)), jnp.ones(1)), mf.SquaredNorm()
    )
    s = 1e-4
    t_hit = math.log(1.5 / math.sqrt(2.0 * s))
    ts = jnp.linspace(0.5, 10.0, 20)
    sol = mf.integrate(
        flow,
        jnp.array([-0.5]),
        0.0,
        10.0,
        ts=ts,
        solver=BDF(rtol=1e-12, atol=1e-14),
        stop_loss=s,
    )
    assert sol.result == "event"
    assert abs(float(sol.t_final) - t_hit) <= 1e-9 * t_hit
    np.testing.assert_allclose(sol.loss_final, s, rtol=1e-8)
    kept = np.asarray(ts)[np.asarray(ts) <= t_hit]
    np.testing.assert_array_equal(sol.ts, kept)
    np.testing.assert_allclose(
        sol.xs[:, 0], 1.0 - 1.5 * np.exp(-kept), rtol=1e-9, atol=1e-11
    )


def test_compiles_once_and_max_steps():
    M, y0 = _stiff_matrix(4, 1)
    ts = mf.log_times(1e-3, 10.0, 10)
    solver = BDF(rtol=1e-8, atol=1e-10)

    def run(m, y, **kw):
        return mf.integrate(
            _Linear(jnp.asarray(m)), jnp.asarray(y), 0.0, 10.0, ts=ts, **kw
        )

    first = run(M, y0, solver=solver)
    # Jacobian reuse: the exact Jacobian of a linear system is never refreshed
    # (at tighter tolerances Newton's round-off floor can force refreshes, as in
    # scipy's BDF).
    assert first.stats["njev"] == 1
    traced = _TRACES["linear"]
    sol = run(2.0 * M, -y0, solver=solver)  # new values, same shapes
    assert _TRACES["linear"] == traced
    exact = scipy.linalg.expm(2.0 * M * 10.0) @ -y0
    np.testing.assert_allclose(sol.y_final, exact, rtol=1e-5, atol=1e-7)

    with pytest.raises(RuntimeError, match="max_steps"):
        run(M, y0, solver=BDF(max_steps=5))
    out = run(M, y0, solver=BDF(max_steps=5), throw=False)
    assert out.result == "max_steps_reached"
    assert out.stats["num_steps"] == 5
    assert float(out.t_final) < 10.0
    assert out.ts.shape[0] == out.ys.shape[0] < ts.shape[0]
