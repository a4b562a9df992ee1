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
    with pytest.raises(ValueError, match="`stop_loss` must be > 0"):
        mf.integrate(flow, y0, 0.0, 1.0, stop_loss=-1.0)
    with pytest.raises(ValueError, match="`method` must be one of"):
        mf.ScipyReference("Euler")
    with pytest.raises(ValueError, match="0 < t_first < t_last"):
        mf.log_times(0.0, 1.0)


def test_log_times_endpoints_are_exact():
    # Oracle: the requested endpoints (np.logspace alone rounds them).
    ts = np.asarray(mf.log_times(1e-3, 2e4, 60))
    assert ts[0] == 1e-3 and ts[-1] == 2e4 and ts.size == 60
    np.testing.assert_allclose(np.diff(np.log(ts)), np.log(2e7) / 59, rtol=1e-12)
