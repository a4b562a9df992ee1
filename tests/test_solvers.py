"""`integrate`: save grids, events, errors, and the scipy referee."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mirrorflow as mf


@pytest.fixture(scope="module")
def small():
    prob = mf.random_regression(10, 4, 2, 7)
    flow = mf.ReducedMirrorFlow(prob, mf.Hypentropy(0.3), jnp.zeros(10))
    return prob, flow, flow.initial_state()


@pytest.mark.slow  # ~8 s; test_flows checks diffrax against scipy LSODA by default
def test_scipy_methods_agree_with_diffrax(small):
    # Oracle: solve_ivp (independent code) at rtol 1e-12; both global errors are
    # within ~1e3 x local rtol -> 1e-8 relative on an O(1) solution.
    _, flow, y0 = small
    ts = mf.log_times(1e-2, 30.0, 12)
    ours = mf.integrate(
        flow, y0, 0.0, 30.0, ts=ts, solver=dfx.Tsit5(), rtol=1e-11, atol=1e-13
    )
    for method in ("DOP853", "Radau", "LSODA"):
        ref = mf.integrate(
            flow,
            y0,
            0.0,
            30.0,
            ts=ts,
            solver=mf.ScipyReference(method, rtol=1e-12, atol=1e-14),
        )
        np.testing.assert_allclose(
            ours.xs, ref.xs, rtol=1e-8, atol=1e-9, err_msg=method
        )
        np.testing.assert_allclose(ours.x_final, ref.x_final, rtol=1e-8, atol=1e-9)
        assert ref.stats["solver"] == f"scipy.{method}"


def test_solution_fields_are_consistent(small):
    # Oracle: the definitions (xs = to_primal(ys), loss_final = f(x_final)).
    prob, flow, y0 = small
    ts = mf.log_times(1e-1, 5.0, 5)
    sol = mf.integrate(flow, y0, 0.0, 5.0, ts=ts, solver=dfx.Tsit5())
    np.testing.assert_array_equal(sol.ts, ts)
    np.testing.assert_allclose(sol.xs, jax.vmap(flow.to_primal)(sol.ys), rtol=1e-15)
    np.testing.assert_allclose(sol.loss_final, prob.loss(sol.x_final), rtol=1e-15)
    # t1 is the last save time here, so the final state is the last saved one.
    np.testing.assert_allclose(sol.x_final, sol.xs[-1], rtol=1e-14)
    assert sol.result == "successful"


def test_stop_loss_event_terminates_and_truncates(small):
    # Oracle: the event's definition (loss <= stop_loss at the end, before t1);
    # save times after the event are dropped (diffrax fills them with inf).
    _, flow, y0 = small
    ts = mf.log_times(1e-2, 1e6, 30)
    for solver in (None, mf.ScipyReference("LSODA")):
        sol = mf.integrate(flow, y0, 0.0, 1e6, ts=ts, solver=solver, stop_loss=1e-12)
        assert sol.result == "event"
        assert float(sol.loss_final) <= 1e-12 * (1 + 1e-6)
        assert float(sol.t_final) < 1e6
        assert np.all(np.asarray(sol.ts) <= float(sol.t_final))
        assert np.all(np.isfinite(np.asarray(sol.xs)))


def test_max_steps_gives_a_clear_error(small):
    _, flow, y0 = small
    with pytest.raises(RuntimeError, match="`max_steps`=5"):
        mf.integrate(flow, y0, 0.0, 100.0, solver=dfx.Tsit5(), max_steps=5)
    sol = mf.integrate(
        flow, y0, 0.0, 100.0, solver=dfx.Tsit5(), max_steps=5, throw=False
    )
    assert sol.result != "successful"


def test_bad_input_errors(small):
    _, flow, y0 = small
    with pytest.raises(ValueError, match="need t1 > t0"):
        mf.integrate(flow, y0, 1.0, 0.0)
    with pytest.raises(ValueError, match="`ts` must be strictly increasing and inside"):
        mf.integrate(flow, y0, 0.0, 1.0, ts=jnp.asarray([0.5, 2.0]))
    with pytest.raises(ValueError, match="`max_steps` must be a positive int"):
        mf.integrate(flow, y0, 0.0, 1.0, max_steps=0)
    with pytest.raises(
        ValueError, match="integrate: `stop_loss` must be a finite float > 0"
    ):
        mf.integrate(flow, y0, 0.0, 1.0, stop_loss=-1.0)
    with pytest.raises(ValueError, match="`method` must be one of"):
        mf.ScipyReference("Euler")
    with pytest.raises(
        ValueError, match="log_times: `t_first` must be a finite float > 0"
    ):
        mf.log_times(0.0, 1.0)


def test_log_times_endpoints_are_exact():
    # Oracle: the requested endpoints (np.logspace alone rounds them).
    ts = np.asarray(mf.log_times(1e-3, 2e4, 60))
    assert ts[0] == 1e-3 and ts[-1] == 2e4 and ts.size == 60
    np.testing.assert_allclose(np.diff(np.log(ts)), np.log(2e7) / 59, rtol=1e-12)


def _scalar_gd():
    # Oracle: gradient flow on (x - 1)^2 / 2 from x0 = -0.5 is x(t) = 1 - 1.5 e^{-t};
    # the loss reaches s at t = log(1.5 / sqrt(2 s)).
    prob = mf.LinearRegression(jnp.ones((1, 1)), jnp.ones(1))
    flow = mf.MirrorFlow(prob, mf.SquaredNorm())
    return flow, flow.initial_state(jnp.asarray([-0.5]))


@pytest.mark.parametrize(
    "solver",
    [
        mf.BDF(rtol=1e-12, atol=1e-14),
        mf.ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
    ],
    ids=["BDF", "LSODA"],
)
def test_t1_inf_runs_to_the_event(solver):
    flow, y0 = _scalar_gd()
    # s = 1e-8: |x - 1| = 1.4e-4 at the event, so atol 1e-14 on x moves the event
    # time by ~1e-10 relative (at s = 1e-20 it would be 1e-4).
    s = 1e-8
    sol = mf.integrate(flow, y0, stop_loss=s, solver=solver)
    assert isinstance(sol, mf.Solution)
    assert sol.result is mf.Result.event and sol.result == "event"
    assert float(sol.t_final) == pytest.approx(np.log(1.5 / np.sqrt(2 * s)), rel=1e-8)
    assert np.all(np.asarray(sol.ts) <= float(sol.t_final))


def test_t1_inf_needs_the_event():
    flow, y0 = _scalar_gd()
    with pytest.raises(ValueError, match="stop_loss"):
        mf.integrate(flow, y0)


def test_a_stalled_loss_is_an_error_with_a_valid_prefix():
    # An inconsistent overdetermined system: the loss settles at the least-squares
    # residual, far above stop_loss.
    rng = np.random.default_rng(0)
    prob = mf.LinearRegression(rng.standard_normal((10, 3)), rng.standard_normal(10))
    flow = mf.MirrorFlow(prob, mf.SquaredNorm())
    y0 = flow.initial_state(jnp.zeros(3))
    solver = mf.ScipyReference("LSODA", rtol=1e-8, atol=1e-10)
    with pytest.raises(RuntimeError, match="stalled"):
        mf.integrate(flow, y0, stop_loss=1e-20, solver=solver, max_steps=2000)
    sol = mf.integrate(
        flow, y0, stop_loss=1e-20, solver=solver, max_steps=2000, throw=False
    )
    assert sol.result is mf.Result.stalled
    lstsq = np.linalg.lstsq(np.asarray(prob.A), np.asarray(prob.b), rcond=None)[0]
    assert float(sol.loss_final) == pytest.approx(float(prob.loss(lstsq)), rel=1e-6)
    assert sol.ts.shape[0] == sol.xs.shape[0] > 0
    assert np.all(np.asarray(sol.ts) <= float(sol.t_final))


def test_a_tolerance_is_used_or_refused():
    flow, y0 = _scalar_gd()
    for solver in (mf.BDF(), mf.ScipyReference()):
        with pytest.raises(ValueError, match="carries its own tolerances"):
            mf.integrate(flow, y0, 0.0, 1.0, solver=solver, rtol=1e-6)
    controller = dfx.PIDController(rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="stepsize_controller"):
        mf.integrate(flow, y0, 0.0, 1.0, stepsize_controller=controller, atol=1e-9)


def test_schedule_jumps_are_handled_by_integrate():
    # Oracle: with lambda_t = c on [0, tau) and 0 after, GF on x = w (Square
    # would square it; here the identity-like DiffOfSquares is not needed):
    # the parameter flow of a 1-d quadratic with decay is linear, solved by hand.
    # dw/dt = -(w - 1) - 2 c w on [0, tau): w -> 1/(1+2c) exponentially at rate
    # 1 + 2c; after tau, dw/dt = -(w - 1).
    c, tau, T = 0.5, 1.0, 3.0
    prob = mf.LinearRegression(jnp.ones((1, 1)), jnp.ones(1))

    class Identity(mf.AbstractReparam):
        def to_x(self, params):
            return params

        def conserved(self, params):
            return params

        def induced_potential(self, params0):
            return mf.SquaredNorm()

        @property
        def time_factor(self):
            return 1.0

    flow = mf.GradientFlow(prob, Identity(), mf.SwitchOff(c, tau))
    assert flow.breakpoints() == (tau,)
    w_inf = 1 / (1 + 2 * c)
    w_tau = w_inf * (1 - np.exp(-(1 + 2 * c) * tau))
    w_T = 1 - (1 - w_tau) * np.exp(-(T - tau))
    for solver in (None, mf.BDF(rtol=1e-12, atol=1e-14), mf.ScipyReference()):
        kw = {"rtol": 1e-12, "atol": 1e-14} if solver is None else {}
        sol = mf.integrate(
            flow, jnp.zeros(1), 0.0, T, ts=jnp.asarray([tau, T]), solver=solver, **kw
        )
        np.testing.assert_allclose(np.asarray(sol.xs[:, 0]), [w_tau, w_T], rtol=1e-9)
