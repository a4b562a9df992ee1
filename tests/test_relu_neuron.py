"""One ReLU neuron (`ReluNeuron`) and `integrate(..., stop_when=...)`."""

import diffrax as dfx
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import mirrorflow as mf
from mirrorflow.problems import ReluNeuron


def test_loss_is_the_population_loss():
    # Oracle: 1/2 E (a relu(w x) - relu(x))^2, x ~ N(0, 1), by Gauss-Hermite
    # quadrature on each half line separately (the integrand is smooth there;
    # 200 nodes of hermegauss, exact to round-off for these polynomial pieces).
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / np.sqrt(2 * np.pi)
    prob = ReluNeuron()
    for a, w in [(1.0, 1.0), (-1.5, 0.5), (0.3, 2.0), (2.0, -0.25), (-1.0, -0.7)]:
        f = a * np.maximum(w * nodes, 0) - np.maximum(nodes, 0)
        expected = 0.5 * np.sum(weights * f**2)
        got = float(prob.loss(jnp.asarray([a, w])))
        assert abs(got - expected) <= 1e-12, (a, w, got, expected)
    # The closed-form gradient of the live branch: (1/2)(aw - 1)(w, a).
    a, w = -1.5, 0.5
    g = np.asarray(prob.grad(jnp.asarray([a, w])))
    np.testing.assert_allclose(g, 0.5 * (a * w - 1) * np.array([w, a]), rtol=1e-14)


def _dead(y):
    return y[1] <= 0.0


def test_stop_when_stops_where_the_neuron_dies():
    # Standard GF from (a0, w0) = (-1.5, 0.5): |a0| > |w0|, so w reaches 0 first
    # (rule T1). Oracle: scipy DOP853 on the live branch with a root-found event
    # w = 0. `stop_when` stops at the end of the first step with w <= 0: after the
    # true time and, at rtol 1e-9, within 2% of it.
    prob = ReluNeuron()
    flow = mf.MirrorFlow(prob, mf.SquaredNorm())
    x0 = jnp.asarray([-1.5, 0.5])
    sol = mf.integrate(
        flow,
        x0,
        0.0,
        100.0,
        ts=[100.0],
        solver=dfx.Tsit5(),
        rtol=1e-9,
        atol=1e-12,
        stop_when=_dead,
    )
    assert sol.result == "event"
    assert float(sol.x_final[1]) <= 0.0

    def rhs(t, x):
        a, w = x
        return -0.5 * (a * w - 1) * np.array([w, a])

    def hit(t, x):
        return x[1]

    hit.terminal = True
    ref = scipy.integrate.solve_ivp(
        rhs, (0, 100), [-1.5, 0.5], "DOP853", events=hit, rtol=1e-12, atol=1e-14
    )
    t_true = float(ref.t_events[0][0])
    assert t_true <= float(sol.t_final) <= 1.02 * t_true


def test_bad_weights_shape_is_named():
    with pytest.raises(ValueError, match="`x` must be the pair"):
        ReluNeuron().loss(jnp.ones(3))


def test_stop_when_bad_input():
    flow = mf.MirrorFlow(ReluNeuron(), mf.SquaredNorm())
    x0 = jnp.asarray([1.0, 0.5])
    with pytest.raises(ValueError, match="`stop_when` is supported by diffrax"):
        mf.integrate(
            flow, x0, 0.0, 1.0, stop_when=_dead, solver=mf.ScipyReference("LSODA")
        )
