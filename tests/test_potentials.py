"""Potentials: mirror maps, conjugates, Bregman divergences, derivatives, domains."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
from jax.test_util import check_grads

import mirrorflow as mf

from .helpers import potentials_under_test


POTENTIALS = potentials_under_test()
IDS = [name for name, _, _ in POTENTIALS]


@pytest.mark.parametrize("name,potential,sample", POTENTIALS, ids=IDS)
def test_mirror_map_inverse(name, potential, sample):
    # Oracle: grad R* = (grad R)^{-1} (Legendre duality); exact up to round-off
    # (1e-12 relative; the depth-D map is a bisection+Newton solve, also ~1e-15).
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = sample(rng)
        z = potential.grad(x)
        np.testing.assert_allclose(
            potential.grad_conjugate(z), x, rtol=1e-12, atol=1e-13
        )


@pytest.mark.parametrize("name,potential,sample", POTENTIALS, ids=IDS)
def test_fenchel_young_equality(name, potential, sample):
    # Oracle: R(x) + R*(grad R(x)) = <x, grad R(x)> (Fenchel-Young equality),
    # 1e-12 relative to the size of the terms.
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = sample(rng)
        z = potential.grad(x)
        lhs = potential.value(x) + potential.conjugate(z)
        rhs = jnp.vdot(x, z)
        scale = 1.0 + abs(float(potential.value(x))) + abs(float(rhs))
        assert abs(float(lhs - rhs)) <= 1e-12 * scale


@pytest.mark.parametrize("name,potential,sample", POTENTIALS, ids=IDS)
def test_bregman_nonnegative_and_zero_on_diagonal(name, potential, sample):
    # Oracle: D_R(x, y) >= 0 with equality iff x = y (strict convexity); the
    # closed form must equal the definition R(x) - R(y) - <grad R(y), x - y>.
    rng = np.random.default_rng(3)
    for _ in range(10):
        x, y = sample(rng), sample(rng)
        d = float(potential.bregman(x, y))
        assert d > 0.0
        assert abs(float(potential.bregman(x, x))) <= 1e-14 * (
            1 + abs(float(potential.value(x)))
        )
        generic = (
            potential.value(x) - potential.value(y) - jnp.vdot(potential.grad(y), x - y)
        )
        # 1e-10 relative: the definition cancels terms of size |R| ~ 10.
        assert abs(d - float(generic)) <= 1e-10 * (1 + abs(float(potential.value(x))))


@pytest.mark.parametrize("name,potential,sample", POTENTIALS, ids=IDS)
def test_hand_written_derivatives_match_autodiff(name, potential, sample):
    # Oracle: JAX autodiff of the value / conjugate (exact derivatives, 1e-10 rel).
    x = sample(np.random.default_rng(4))
    z = potential.grad(x)
    np.testing.assert_allclose(
        jax.grad(potential.value)(x), potential.grad(x), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        jnp.diag(jax.hessian(potential.value)(x)),
        potential.hessian_diag(x),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        jax.grad(potential.conjugate)(z),
        potential.grad_conjugate(z),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        jnp.diag(jax.jacfwd(potential.grad_conjugate)(z)),
        potential.conjugate_hessian_diag(z),
        rtol=1e-10,
        atol=1e-12,
    )
    # Metric of R is the inverse of the metric of R* at dual points.
    np.testing.assert_allclose(
        potential.hessian_diag(x) * potential.conjugate_hessian_diag(z), 1.0, rtol=1e-10
    )


@pytest.mark.parametrize(
    "potential,sample",
    [
        (mf.Hypentropy(0.3), lambda r: jnp.asarray(r.standard_normal(4))),
        (mf.NegEntropy(0.25), lambda r: jnp.asarray(r.uniform(0.5, 2.0, 4))),
        (mf.SquaredNorm(), lambda r: jnp.asarray(r.standard_normal(4))),
    ],
)
def test_check_grads_finite_differences(potential, sample):
    # Oracle: finite differences (jax.test_util.check_grads, float64 defaults
    # atol = rtol = 1e-5).
    x = sample(np.random.default_rng(5))
    check_grads(potential.value, (x,), order=1, modes=("fwd", "rev"))
    check_grads(potential.grad_conjugate, (potential.grad(x),), order=1)


def test_hypentropy_equals_woodworth_q_over_four():
    # Oracle: Woodworth et al. (2020) Q_alpha(x) = alpha^2 sum q(x / alpha^2),
    # q(s) = 2 - sqrt(4 + s^2) + s arcsinh(s / 2), written in numpy; R = Q / 4
    # (docs/theory/core.md, checked there to 4e-16).
    rng = np.random.default_rng(6)
    for alpha in (1.0, 0.3, 0.05):
        x = rng.standard_normal(8)
        s = x / alpha**2
        q = alpha**2 * np.sum(2 - np.sqrt(4 + s**2) + s * np.arcsinh(s / 2))
        assert abs(
            float(mf.Hypentropy(alpha).value(jnp.asarray(x))) - q / 4
        ) <= 1e-12 * (1 + q)


def test_hypentropy_stable_at_extreme_scales():
    # Oracle: closed forms; log-domain evaluation must keep them finite.
    pot = mf.Hypentropy(1e-30)
    x = jnp.asarray([-3.0, 0.0, 2.0])
    z = pot.grad(x)
    assert np.all(np.isfinite(np.asarray(z)))
    np.testing.assert_allclose(pot.grad_conjugate(z), x, rtol=1e-12, atol=1e-300)
    assert np.isfinite(float(pot.conjugate(z)))
    # Large alpha: R ~ x^2 / (16 alpha^2) with relative error O(x^2 / alpha^4).
    big = mf.Hypentropy(1e3)
    y = jnp.asarray([0.5, -1.0])
    np.testing.assert_allclose(
        float(big.value(y)), float(jnp.sum(y**2)) / 16e6, rtol=1e-10
    )


def test_deep_diagonal_conjugate_matches_spec_formula():
    # Oracle: docs/theory/core.md closed forms, transcribed in numpy, at
    # u0 = v0 = alpha: R* = 1/(2D) sum[(g - k z)^(-2/(D-2)) + (g + k z)^(-2/(D-2))].
    for depth, alpha in ((3, 0.5), (4, 0.2)):
        gamma, kappa = alpha ** (2 - depth), depth * (depth - 2)
        z = np.random.default_rng(7).uniform(-0.9, 0.9, 5) * gamma / kappa
        p = 2 / (depth - 2)
        q = depth / (depth - 2)
        rstar = np.sum((gamma - kappa * z) ** (-p) + (gamma + kappa * z) ** (-p)) / (
            2 * depth
        )
        grad = (gamma - kappa * z) ** (-q) - (gamma + kappa * z) ** (-q)
        pot = mf.DeepDiagonalPotential(depth, alpha)
        assert abs(float(pot.conjugate(jnp.asarray(z))) - rstar) <= 1e-12 * rstar
        np.testing.assert_allclose(pot.grad_conjugate(jnp.asarray(z)), grad, rtol=1e-12)
        # Outside the dual domain the conjugate is +inf.
        assert float(pot.conjugate(jnp.asarray([1.01 * gamma / kappa]))) == np.inf
        # grad R(x0) = 0 at x0 = u0^D - v0^D = 0.
        np.testing.assert_allclose(pot.grad(jnp.zeros(3)), 0.0, atol=1e-15)


def test_hessian_is_a_lineax_operator():
    # Oracle: elementwise division (the diagonal metric's exact inverse).
    pot = mf.Hypentropy(0.2)
    x = jnp.asarray([0.3, -1.2, 0.0])
    v = jnp.asarray([1.0, 2.0, -0.5])
    sol = lx.linear_solve(pot.hessian(x), v)
    np.testing.assert_allclose(sol.value, v / pot.hessian_diag(x), rtol=1e-15)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="`alpha` must be finite and > 0"):
        mf.Hypentropy(0.0)
    with pytest.raises(ValueError, match="`alpha` must be finite and > 0"):
        mf.Hypentropy(-1.0)
    with pytest.raises(ValueError, match="exactly one of `alpha`"):
        mf.Hypentropy(1.0, scale=1.0)
    with pytest.raises(ValueError, match="`coef` must be"):
        mf.Hypentropy(1.0, coef=-2.0)
    with pytest.raises(ValueError, match="`sign` must be"):
        mf.NegEntropy(1.0, sign=jnp.asarray([1.0, 2.0]))
    with pytest.raises(ValueError, match="`depth` must be an int >= 3"):
        mf.DeepDiagonalPotential(2, 0.5)
    with pytest.raises(ValueError, match="must be > 0"):
        mf.DeepDiagonalPotential(3, u0=jnp.asarray([1.0]), v0=jnp.asarray([-1.0]))
    with pytest.raises(ValueError, match="`x0` lies outside the domain of NegEntropy"):
        mf.NegEntropy(1.0).check_domain(jnp.asarray([1.0, -1.0]), "x0")


def test_a_fixed_potential_is_the_constant_family():
    # One hierarchy: every potential is a family R_Lambda; a fixed one ignores the
    # dose. Oracle: the potential's own dose-free methods.
    z = jnp.linspace(-2.0, 2.0, 7)
    for pot in (mf.Hypentropy(0.3), mf.SquaredNorm(), mf.HamPotential(2.0)):
        assert isinstance(pot, mf.AbstractPotential)
        assert isinstance(pot, mf.AbstractPotentialFamily)
        assert pot.at(5.0) is pot
        np.testing.assert_array_equal(pot.grad_conjugate(z, 5.0), pot.grad_conjugate(z))
    family = mf.TimeDependentHypentropy(0.3, coef=0.5)
    assert isinstance(family, mf.AbstractPotentialFamily)
    assert not isinstance(family, mf.AbstractPotential)
    # A family without a schedule runs at dose 0: the same flow as its dose-0
    # member (the closed form c sinh(z / k) with c = 0.3, k = 1/2).
    prob = mf.random_regression(8, 3, 2, 0)
    flow = mf.MirrorFlow(prob, family)
    member = mf.MirrorFlow(prob, family.at(0.0))
    np.testing.assert_allclose(flow.to_primal(z[:1].repeat(8)), 0.3 * np.sinh(-4.0))
    y = jnp.linspace(-1.0, 1.0, 8)
    np.testing.assert_allclose(
        flow.vector_field(0.0, y, None), member.vector_field(0.0, y, None), rtol=1e-14
    )
