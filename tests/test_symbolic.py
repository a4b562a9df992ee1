"""`mirrorflow.symbolic`: sympy forms and derivation helpers against the JAX code.

The JAX potentials and reparameterizations are written by hand; the sympy ones are
derived here. Agreement of the two at random points is the oracle, plus
trajectories of two independently integrated flows.
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.integrate
import sympy as sp

import mirrorflow as mf
import mirrorflow.symbolic as ms


# Symbolic-versus-numeric tolerance: the 1e-12 relative. The JAX code is
# float64 (round-off ~1e-16 per operation, ~1e-15 after a few dozen); the sympy side
# is evaluated with mpmath at 40 digits, so it contributes nothing.
RTOL = 1e-12
# Points per comparison: one batch shape everywhere, so that JAX compiles each
# primitive once (tests/test_derivations.py uses the same).
N = 16


def mp_eval(expr: sp.Expr, symbols, *columns) -> np.ndarray:
    """Evaluate `expr` at the rows of `columns` with mpmath at 40 digits."""
    f = sp.lambdify(symbols, expr, modules="mpmath")
    out = []
    with mpmath.workdps(40):
        for row in zip(*columns, strict=True):
            value = f(*[mpmath.mpf(float(v)) for v in row])
            out.append(float(mpmath.re(value)))
    return np.asarray(out)


def per_point(fn, *columns) -> np.ndarray:
    """`fn` of 1-element arrays, vmapped over the rows of `columns` (float64)."""

    def scalar(*values):
        return jnp.reshape(fn(*[v[None] for v in values]), ())

    arrays = [jnp.asarray(np.asarray(c, dtype=np.float64)) for c in columns]
    return np.asarray(jax.vmap(scalar)(*arrays))


def test_public_names_are_documented_and_exported():
    # Oracle: every public name has a docstring and an export.
    missing = [n for n in ms.__all__ if not (getattr(ms, n).__doc__ or "").strip()]
    assert missing == []
    assert sorted(ms.__all__) == sorted(set(ms.__all__))


# ---------------------------------------------------------------- sympy potentials


@pytest.mark.parametrize("coef", [1.0, 3.0])
def test_squared_norm_matches_package(coef):
    rng = np.random.default_rng(0)
    x = sp.Symbol("x", real=True)
    xs = rng.standard_normal(N) * 2
    got = per_point(mf.SquaredNorm(coef=coef).value, xs)
    want = mp_eval(ms.squared_norm(x, sp.nsimplify(coef)), (x,), xs)
    # 1e-12 relative: symbolic-vs-numeric (module docstring).
    np.testing.assert_allclose(got, want, rtol=RTOL)


@pytest.mark.parametrize("sign", [1, -1])
def test_neg_entropy_matches_package(sign):
    rng = np.random.default_rng(1)
    x = sp.Symbol("x", positive=True) if sign == 1 else sp.Symbol("x", negative=True)
    xs = sign * rng.uniform(0.1, 3.0, N)
    pot = mf.NegEntropy(0.5, sign=float(sign))
    r = ms.neg_entropy(x, sp.Rational(1, 2), sign=sign)
    # 1e-12 relative (module docstring); r and r' vanish inside the domain (at
    # sx = e and sx = 1), so absolute floors of 1e-12 times the size of their terms.
    scale = np.abs(xs * np.log(np.abs(xs))) + np.abs(xs)
    np.testing.assert_allclose(
        per_point(pot.value, xs),
        mp_eval(r, (x,), xs),
        rtol=RTOL,
        atol=RTOL * scale.max(),
    )
    np.testing.assert_allclose(
        per_point(pot.grad, xs),
        mp_eval(ms.mirror_map(r, x), (x,), xs),
        rtol=RTOL,
        atol=RTOL * np.abs(np.log(np.abs(xs))).max(),
    )


@pytest.mark.parametrize("coef", [0.25, 1.0])
def test_hypentropy_objects_match_package(coef):
    # Every mirror-flow object of the hypentropy, derived by the helpers, against
    # the hand-written stable JAX forms.
    rng = np.random.default_rng(2)
    x, y, z = sp.symbols("x y z", real=True)
    c = sp.Symbol("c", positive=True)
    r = ms.hypentropy(x, scale=c, coef=sp.nsimplify(coef))
    xs, ys = rng.standard_normal((2, N)) * 2
    zs = rng.standard_normal(N) * 0.5
    cs = rng.uniform(0.05, 2.0, N)
    cases = [
        ("value", r, (x,), (xs,)),
        ("grad", ms.mirror_map(r, x), (x,), (xs,)),
        ("hessian_diag", ms.hessian_metric(r, x), (x,), (xs,)),
        ("grad_conjugate", ms.inverse_mirror_map(r, x, z), (z,), (zs,)),
        ("conjugate", ms.convex_conjugate(r, x, z), (z,), (zs,)),
        ("bregman", ms.bregman_divergence(r, x, y), (x, y), (xs, ys)),
    ]
    for method, expr, syms, cols in cases:
        want = mp_eval(expr, (c, *syms), cs, *cols)
        got = per_point(
            lambda cc, *a, method=method: getattr(
                mf.Hypentropy(scale=cc, coef=coef), method
            )(*a),
            cs,
            *cols,
        )
        # 1e-12 relative (module docstring). The package's Bregman divergence is a
        # difference of terms of size k (|x| arcsinh + hypot): for nearby x, y an
        # absolute floor of 1e-12 times that size.
        size = coef * (
            np.abs(xs) * (1 + np.abs(np.arcsinh(xs / cs))) + np.hypot(xs, cs)
        )
        atol = RTOL * size.max() if method == "bregman" else 0.0
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=method)


def test_hypentropy_alpha_is_scale_two_alpha_squared():
    x, alpha = sp.Symbol("x", real=True), sp.Symbol("alpha", positive=True)
    # Exact identity (Hypentropy(alpha) sets c = 2 alpha^2).
    assert (
        sp.simplify(
            ms.hypentropy(x, alpha=alpha) - ms.hypentropy(x, scale=2 * alpha**2)
        )
        == 0
    )


def test_deep_diagonal_conjugate_matches_package():
    rng = np.random.default_rng(3)
    z = sp.Symbol("z", real=True)
    u0, v0 = sp.symbols("u_0 v_0", positive=True)
    for depth in (3, 4, 5):
        us, vs = rng.uniform(0.3, 1.2, (2, N))
        kappa = depth * (depth - 2)
        lo, hi = -(vs ** (2 - depth)) / kappa, us ** (2 - depth) / kappa
        zs = lo + (hi - lo) * rng.uniform(0.05, 0.95, N)  # inside the dual domain
        got = per_point(
            lambda u, v, zz, depth=depth: mf.DeepDiagonalPotential(
                depth, u0=u, v0=v
            ).conjugate(zz),
            us,
            vs,
            zs,
        )
        expr = ms.deep_diagonal_conjugate(z, depth, u0, v0)
        # 1e-12 relative (module docstring); R* > 0.
        np.testing.assert_allclose(
            got, mp_eval(expr, (u0, v0, z), us, vs, zs), rtol=RTOL
        )


# ------------------------------------------------------- induced potentials (spine)


def _check_induced_against_reparam(reparam_sym, reparam_pkg, params0, rng):
    """The helper's potential at C(params0) against `reparam.induced_potential`."""
    induced = ms.induced_potential(reparam_sym)
    xs = rng.standard_normal(N) * 1.5
    constants = mp_eval(induced.conserved, reparam_sym.params, *params0)
    for name, expr in [
        ("value", induced.potential),
        ("grad", induced.mirror_map),
        ("hessian_diag", induced.metric),
    ]:
        got = per_point(
            lambda p, q, x, name=name: getattr(
                reparam_pkg.induced_potential((p, q)), name
            )(x),
            *params0,
            xs,
        )
        want = mp_eval(expr, (induced.x, induced.constant), xs, constants)
        # 1e-12 relative (module docstring).
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)
    pot = reparam_pkg.induced_potential(tuple(jnp.asarray(p) for p in params0))
    # The family constants are the package's.
    scale = mp_eval(induced.family.scale, (induced.constant,), constants)
    np.testing.assert_allclose(np.asarray(pot.scale), scale, rtol=RTOL)
    assert float(induced.family.coef) == pot.coef  # exact: 1/4 and 1/2 are binary
    assert float(induced.time_factor) == reparam_pkg.time_factor  # exact integers
    # The derived conserved quantity is the package's (same formula).
    np.testing.assert_allclose(
        np.asarray(reparam_pkg.conserved(tuple(jnp.asarray(p) for p in params0))),
        constants,
        rtol=RTOL,
    )
    return induced


def test_induced_potential_of_diff_of_squares_is_the_spine():
    rng = np.random.default_rng(4)
    u0, v0 = rng.uniform(0.2, 1.5, (2, N))
    induced = _check_induced_against_reparam(
        ms.diff_of_squares(), mf.DiffOfSquares(), (u0, v0), rng
    )
    assert induced.family.name == "Hypentropy"
    assert induced.time_factor == 4


def test_induced_potential_of_hadamard_is_the_spine():
    rng = np.random.default_rng(5)
    m0 = rng.uniform(0.5, 1.5, N)
    w0 = m0 * rng.uniform(-0.9, 0.9, N)  # beta = m0^2 - w0^2 > 0: the assumption
    induced = _check_induced_against_reparam(
        ms.hadamard(), mf.Hadamard(), (m0, w0), rng
    )
    assert induced.time_factor == 2


def test_induced_potential_of_square_is_quarter_entropy():
    induced = ms.induced_potential(ms.square())
    x = induced.x
    # Exact identities: NegEntropy(1/4) and time factor 4 (mf.Square).
    assert sp.simplify(induced.potential - ms.neg_entropy(x, sp.Rational(1, 4))) == 0
    assert induced.family.name == "NegEntropy"
    assert float(induced.time_factor) == mf.Square().time_factor
    assert induced.constant is None


def test_induced_potential_of_identity_map_is_the_squared_norm():
    w = sp.Symbol("w", real=True)
    induced = ms.induced_potential(3 * w, params=(w,))
    # Exact: x = 3w gives xdot = -9 f', i.e. r = x^2/18 and time factor 9.
    assert sp.simplify(induced.potential - induced.x**2 / 18) == 0
    assert induced.family.name == "SquaredNorm"
    assert induced.time_factor == 9


def test_induced_potential_keeps_constants_of_the_map():
    m, w = sp.symbols("m w", real=True)
    k = sp.Symbol("k", positive=True)
    induced = ms.induced_potential(k * m * w, params=(m, w))
    # Exact: xdot = -k^2 (m^2 + w^2) f' = -k sqrt(4x^2 + k^2 c^2) f', i.e. the
    # hypentropy with scale k c / 2 and coefficient 1/(2k).
    assert sp.simplify(induced.family.coef - 1 / (2 * k)) == 0
    assert sp.simplify(induced.family.scale - k * induced.constant / 2) == 0
    with pytest.raises(ValueError, match="already used by the map"):
        ms.induced_potential(k * m * w, params=(m, w), constant=k)


def test_vector_map_reduces_to_one_coordinate():
    m1, w1, m2, w2 = sp.symbols("m1 w1 m2 w2", real=True)
    reparam = ms.separable_reparam([m1 * w1, m2 * w2], [m1, w1, m2, w2])
    assert reparam.map == m1 * w1 and reparam.params == (m1, w1)


def _chained(rhs, y0, horizons):
    """scipy DOP853 restarted at each horizon: values at step endpoints only.

    Dense output is avoided on purpose: scipy's DOP853 interpolant was measured
    about 1e3 times less accurate than its steps here (5e-8 against 1e-11).
    """
    y, t, out = np.asarray(y0, dtype=float), 0.0, []
    for T in horizons:
        y = scipy.integrate.solve_ivp(
            rhs, (t, T), y, method="DOP853", rtol=1e-12, atol=1e-14
        ).y[:, -1]
        t = T
        out.append(y)
    return np.asarray(out)


def _gf_vs_mirror_flows(reparam_sym, reparam_pkg, params0, problem, horizons):
    """x(t) four ways: GF on the parameters and the mirror flow of the derivation.

    (1) GF on the parameters from the sympy map (scipy, numpy); (2) the primal ODE
    xdot = -M(x; c) grad f with the derived inverse metric (scipy, numpy); (3) the
    package's `GradientFlow`; (4) the package's `MirrorFlow` of the
    unit-coefficient family at time t / k (checks the derived time factor). (1)
    and (2) are compared along the trajectory, (3) and (4) at its end.
    """
    induced = ms.induced_potential(reparam_sym)
    params = reparam_sym.params
    constant = mp_eval(induced.conserved, params, *params0)
    A, b = np.asarray(problem.A), np.asarray(problem.b)
    d = A.shape[1]
    grads = [sp.lambdify(params, g, "numpy") for g in reparam_sym.gradient]
    to_x = sp.lambdify(params, reparam_sym.map, "numpy")

    def gf_rhs(t, y):
        p = np.split(y, len(params))
        g = A.T @ (A @ to_x(*p) - b)
        return np.concatenate([-gj(*p) * np.ones(d) * g for gj in grads])

    gf = _chained(gf_rhs, np.concatenate(params0), horizons)
    gf_x = np.asarray([to_x(*np.split(y, len(params))) for y in gf])
    M = sp.lambdify((induced.x, induced.constant), induced.inverse_metric, "numpy")
    primal = _chained(
        lambda t, x: -M(x, constant) * (A.T @ (A @ x - b)),
        to_x(*params0),
        horizons,
    )
    p0 = tuple(jnp.asarray(p) for p in params0)
    reference = mf.ScipyReference("DOP853", rtol=1e-12, atol=1e-14)
    T = float(horizons[-1])
    package_gf = mf.integrate(
        mf.GradientFlow(problem, reparam_pkg),
        p0,
        0.0,
        T,
        ts=jnp.asarray([T]),
        solver=reference,
    ).x_final
    scale = jnp.asarray(mp_eval(induced.family.scale, (induced.constant,), constant))
    unit = mf.MirrorFlow(problem, mf.Hypentropy(scale=scale, coef=1.0))
    factor = float(induced.time_factor)
    unit_x = mf.integrate(
        unit,
        unit.initial_state(reparam_pkg.to_x(p0)),
        0.0,
        factor * T,
        ts=jnp.asarray([factor * T]),
        solver=reference,
    ).x_final
    return gf_x, primal, np.asarray(package_gf), np.asarray(unit_x)


@pytest.mark.parametrize("which", ["diff_of_squares", "hadamard"])
def test_derived_flows_match_parameter_gradient_flow(which):
    # Acceptance 3: gradient flow on the parameters and the mirror flows built from
    # the derived potential give one trajectory x(t).
    rng = np.random.default_rng(6)
    problem = mf.random_regression(d=6, n=3, k=2, seed=0)
    if which == "diff_of_squares":
        params0 = (rng.uniform(0.3, 1.0, 6), rng.uniform(0.3, 1.0, 6))
        pair = (ms.diff_of_squares(), mf.DiffOfSquares())
    else:
        m0 = rng.uniform(0.5, 1.0, 6)
        params0 = (m0, m0 * rng.uniform(-0.8, 0.8, 6))  # beta > 0: the assumption
        pair = (ms.hadamard(), mf.Hadamard())
    horizons = (0.25, 0.5, 1.0, 2.0, 3.5, 5.0)
    gf, primal, package_gf, unit = _gf_vs_mirror_flows(
        *pair, params0, problem, horizons
    )
    # DOP853 at rtol 1e-12, atol 1e-14 over a non-stiff horizon: the solves agree
    # to ~1e-11 (measured); 1e-9 leaves a factor 100 (ODE vs ODE).
    np.testing.assert_allclose(primal, gf, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(package_gf, gf[-1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(unit, gf[-1], rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------- dual route, weights


def test_induced_conjugate_of_hadamard_matches_package():
    rng = np.random.default_rng(7)
    dual = ms.induced_conjugate(ms.hadamard())
    m0 = rng.uniform(0.5, 1.5, N)
    w0 = m0 * rng.uniform(-0.9, 0.9, N)  # beta > 0: the assumption
    zs = rng.standard_normal(N)

    def x_of_z(m, w, z):
        pot = mf.Hadamard().induced_potential((m, w))
        return pot.grad_conjugate(pot.grad(m * w) + z)

    got = per_point(x_of_z, m0, w0, zs)
    want = mp_eval(dual.grad_conjugate, (*dual.initial, dual.z), m0, w0, zs)
    # 1e-12 relative (module docstring): x(z) = grad R*(z0 + z).
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_weight_decay_potential_hadamard():
    m, w = ms.hadamard().params
    a = sp.Symbol("a", positive=True)
    td = ms.weight_decay_potential(ms.hadamard(), m**2 + w**2, constant=a)
    # Exact identities of docs/theory/core.md.
    assert sp.simplify(td.rate - 4 * a) == 0
    assert sp.simplify(td.drift - 4 * td.x) == 0
    assert sp.simplify(td.schedule - td.initial_constant * sp.exp(-4 * td.dose)) == 0
    assert td.constant == a and td.x == td.induced.x


def test_weight_decay_potential_diff_of_squares():
    u, v = ms.diff_of_squares().params
    td = ms.weight_decay_potential(ms.diff_of_squares(), u**2 + v**2)
    # Exact: d(uv)/dt = -4 lambda uv and xdot gets -4 lambda x.
    assert sp.simplify(td.rate - 4 * td.constant) == 0
    assert sp.simplify(td.drift - 4 * td.x) == 0


def test_show_prints_latex(capsys):
    x = sp.Symbol("x")
    ms.show("r(x)", x**2 / 2)
    assert capsys.readouterr().out.strip() == r"$r(x) = \frac{x^{2}}{2}$"
    assert ms.latex_equation("y", x) == "$y = x$"


def test_log_form_proves_the_initial_dual_point():
    u0, v0 = sp.symbols("u_0 v_0", positive=True)
    expr = sp.asinh((u0**2 - v0**2) / (2 * u0 * v0)) / 4 - sp.log(u0 / v0) / 4
    assert ms.log_form(expr) == 0  # exact identity (docs/theory/core.md)


# ------------------------------------------------------------------- bad input


def test_non_separable_map_raises():
    u1, u2, v1, v2 = sp.symbols("u1 u2 v1 v2", real=True)
    with pytest.raises(ValueError, match="not separable.*own parameters"):
        ms.induced_potential([u1 * v1, u1 * v2], params=[u1, u2, v1, v2])
    with pytest.raises(ValueError, match="not separable"):
        ms.separable_reparam([u1 * v1 + u2 * v2, u1 * v2], [u1, u2, v1, v2])


def test_coordinates_with_different_maps_raise():
    u1, u2, v1, v2 = sp.symbols("u1 u2 v1 v2", real=True)
    with pytest.raises(ValueError, match="one coordinate at a time"):
        ms.separable_reparam([u1 * v1, u2**2 - v2**2], [u1, v1, u2, v2])


def test_three_parameters_raise():
    a, b, c = sp.symbols("a b c", real=True)
    with pytest.raises(ValueError, match="3 parameters per coordinate.*supported"):
        ms.induced_potential(a * b * c, params=(a, b, c))


def test_map_without_usable_conserved_quantity_raises():
    m, w = sp.symbols("m w", real=True)
    with pytest.raises(ValueError, match="neither a sum.*nor a product.*conserved="):
        ms.induced_potential(m * w + m**2, params=(m, w))


def test_conserved_quantity_that_cannot_be_eliminated_raises():
    m, w = sp.symbols("m w", real=True)
    # x = m + w^2 conserves m - log(w)/2: not rational, so no closed-form M(x).
    with pytest.raises(ValueError, match="not rational.*supported"):
        ms.induced_potential(m + w**2, params=(m, w))


def test_wrong_conserved_quantity_raises():
    m, w = sp.symbols("m w", real=True)
    with pytest.raises(ValueError, match="not conserved by gradient flow"):
        ms.induced_potential(m * w, params=(m, w), conserved=m * w)


def test_deep_diagonal_primal_route_points_to_the_dual_route():
    with pytest.raises(ValueError, match="induced_conjugate"):
        ms.induced_potential(ms.deep_diagonal(3))


def test_induced_conjugate_unsupported_map_raises():
    m, w = sp.symbols("m w", real=True)
    with pytest.raises(ValueError, match="neither additively separable.*quadratic"):
        ms.induced_conjugate(m * w + m**3, params=(m, w))


def test_inadmissible_weight_decay_raises():
    m, w = ms.hadamard().params
    with pytest.raises(ValueError, match="not a function of it alone.*Admissible"):
        ms.weight_decay_potential(ms.hadamard(), m**2)
    with pytest.raises(ValueError, match="two-parameter map"):
        ms.weight_decay_potential(ms.square(), ms.square().params[0] ** 2)


def test_bad_potential_arguments_raise():
    x = sp.Symbol("x", real=True)
    with pytest.raises(ValueError, match="exactly one of `scale`"):
        ms.hypentropy(x, scale=1, alpha=1)
    with pytest.raises(ValueError, match="`coef` must be positive"):
        ms.squared_norm(x, -1)
    with pytest.raises(ValueError, match="`sign` must be"):
        ms.neg_entropy(x, 1, sign=2)


def test_non_invertible_mirror_map_and_time_factor_raise():
    x, z = sp.symbols("x z", real=True)
    with pytest.raises(ValueError, match="exactly one"):
        ms.inverse_mirror_map(x**3, x, z)  # r' = 3x^2 is not injective
    with pytest.raises(ValueError, match="depends on x"):
        ms.time_factor(x**4, x**2, x)


def test_strings_are_never_evaluated(tmp_path):
    # sympy.sympify runs eval on strings; the symbolic API refuses them. Oracle:
    # the side effect of the string (a file) never happens.
    from mirrorflow.symbolic._common import sympify_safe

    marker = tmp_path / "evaluated"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or 1"
    x = sp.Symbol("x", positive=True)
    with pytest.raises(TypeError, match="strings are not evaluated"):
        sympify_safe(payload, "alpha")
    with pytest.raises(TypeError):
        ms.hypentropy(x, alpha=payload)
    with pytest.raises(TypeError):
        ms.induced_potential(sp.Symbol("u") ** 2, [sp.Symbol("u")], conserved=payload)
    assert not marker.exists()
    assert sympify_safe(sp.Rational(1, 2), "alpha") == sp.Rational(1, 2)
    assert sympify_safe(0.5, "alpha") == sp.Float(0.5)
