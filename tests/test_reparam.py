"""Reparameterizations: velocities, induced potentials, conserved quantities."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mirrorflow as mf


def _problem():
    return mf.random_regression(12, 4, 2, 3)


def _inits(d, rng):
    pos = lambda lo, hi: jnp.asarray(rng.uniform(lo, hi, d))  # noqa: E731
    return [
        (
            "DiffOfSquares balanced",
            mf.DiffOfSquares(),
            (jnp.full(d, 0.3), jnp.full(d, 0.3)),
        ),
        ("DiffOfSquares random", mf.DiffOfSquares(), (pos(0.2, 1.0), pos(0.2, 1.0))),
        (
            "Hadamard unbalanced",
            mf.Hadamard(),
            (pos(0.5, 1.0), jnp.asarray(rng.uniform(-0.4, 0.4, d))),
        ),
        ("Hadamard balanced", mf.Hadamard(), (pos(0.3, 1.0),) * 2),
        ("Square", mf.Square(), pos(0.3, 1.0)),
        ("DeepDiagonal(3)", mf.DeepDiagonal(3), (pos(0.3, 0.8), pos(0.3, 0.8))),
        ("DeepDiagonal(4)", mf.DeepDiagonal(4), (jnp.full(d, 0.4), jnp.full(d, 0.4))),
    ]


INITS = _inits(12, np.random.default_rng(0))


@pytest.mark.parametrize("name,reparam,params0", INITS, ids=[i[0] for i in INITS])
def test_gradient_flow_velocity_is_the_induced_mirror_flow(name, reparam, params0):
    # Oracle: the chain rule. dx/dt = J_g(p) (-grad_p F) computed by jax.jvp must
    # equal -H_R(x)^{-1} grad f(x) of the induced potential (docs/theory/core.md
    # §1.3-1.6) at the initialization: an exact identity (1e-12 relative).
    prob = _problem()
    flow = mf.GradientFlow(prob, reparam)
    p_dot = flow.vector_field(0.0, params0, None)
    _, x_dot = jax.jvp(reparam.to_x, (params0,), (p_dot,))
    potential = reparam.induced_potential(params0)
    x0 = reparam.to_x(params0)
    expected = -prob.grad(x0) / potential.hessian_diag(x0)
    np.testing.assert_allclose(x_dot, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name,reparam,params0",
    [i for i in INITS if i[0] != "Square"],
    ids=[i[0] for i in INITS if i[0] != "Square"],
)
def test_conserved_quantity_along_the_flow(name, reparam, params0):
    # Oracle: the initial value (the conservation law); two Tsit5 solves at rtol
    # 1e-11 keep it to ~1e-11, asserted at 1e-9 relative (x100 safety).
    prob = _problem()
    sol = mf.integrate(
        mf.GradientFlow(prob, reparam),
        params0,
        0.0,
        50.0,
        ts=mf.log_times(1e-2, 50.0, 10),
        solver=dfx.Tsit5(),
        rtol=1e-11,
        atol=1e-13,
    )
    c0 = reparam.conserved(params0)
    ct = jax.vmap(reparam.conserved)(sol.ys)
    np.testing.assert_allclose(
        ct, jnp.broadcast_to(c0, ct.shape), rtol=1e-9, atol=1e-12
    )


@pytest.mark.slow  # ~10 s; `verify` checks the same identity (core.time_scaling)
def test_time_factors_relate_gf_to_unit_coefficient_potentials():
    # Oracle: a second ODE. x_GF(t) = x_Q(time_factor * t) for Q the unit-coefficient
    # hypentropy (docs/theory/core.md); Tsit5 at rtol 1e-11 -> 1e-8.
    prob = _problem()
    d = prob.d
    ts = mf.log_times(1e-2, 20.0, 8)
    cases = [
        (mf.DiffOfSquares(), (jnp.full(d, 0.3), jnp.full(d, 0.3)), 2 * 0.3**2),
        (mf.Hadamard(), (jnp.full(d, 0.6), jnp.zeros(d)), 0.36 / 2),
    ]
    for reparam, params0, c in cases:
        gf = mf.integrate(
            mf.GradientFlow(prob, reparam),
            params0,
            0.0,
            20.0,
            ts=ts,
            solver=dfx.Tsit5(),
            rtol=1e-11,
            atol=1e-13,
        )
        k = reparam.time_factor
        q_flow = mf.MirrorFlow(prob, mf.Hypentropy(scale=c, coef=1.0))
        q = mf.integrate(
            q_flow,
            jnp.zeros(d),
            0.0,
            20.0 * k,
            ts=ts * k,
            solver=dfx.Tsit5(),
            rtol=1e-11,
            atol=1e-13,
        )
        np.testing.assert_allclose(gf.xs, q.xs, rtol=1e-8, atol=1e-9)


def test_induced_potential_constants():
    # Oracle: the theory file's constants (docs/theory/core.md).
    d = 3
    p = mf.DiffOfSquares().induced_potential((jnp.full(d, 0.5), jnp.full(d, 0.2)))
    np.testing.assert_allclose(p.scale, 2 * 0.5 * 0.2, rtol=1e-15)
    assert p.coef == 0.25
    h = mf.Hadamard().induced_potential((jnp.full(d, 1.0), jnp.full(d, 0.5)))
    np.testing.assert_allclose(h.scale, (1.0 - 0.25) / 2, rtol=1e-15)
    assert h.coef == 0.5
    e = mf.Hadamard().induced_potential((jnp.full(d, -0.5), jnp.full(d, 0.5)))
    assert isinstance(e, mf.NegEntropy) and e.coef == 0.5
    np.testing.assert_array_equal(e.sign, -1.0)
    assert mf.Square().induced_potential(jnp.ones(d)).coef == 0.25


def test_bad_input_errors():
    d = 3
    with pytest.raises(ValueError, match="need u0 \\* v0 > 0"):
        mf.DiffOfSquares().induced_potential((jnp.ones(d), jnp.zeros(d)))
    with pytest.raises(ValueError, match="mixed initializations"):
        mf.Hadamard().induced_potential((jnp.ones(d), jnp.asarray([1.0, 0.5, 0.5])))
    with pytest.raises(ValueError, match="no conserved quantity"):
        mf.Square().conserved(jnp.ones(d))
    with pytest.raises(ValueError, match="equal shapes"):
        mf.DiffOfSquares().to_x((jnp.ones(3), jnp.ones(4)))
    with pytest.raises(ValueError, match="must be a pair"):
        mf.Hadamard().to_x(jnp.ones(3))
    with pytest.raises(ValueError, match="`depth` must be an int >= 3"):
        mf.DeepDiagonal(2)
