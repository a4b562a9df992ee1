"""The teaching derivations in `derivations/`: scripts, identities, and numbers.

Each derivation is run as `__main__` (the script path: it must finish and print its
results as LaTeX), every identity it claims is simplified to zero, and every derived
expression is evaluated with mpmath (40 digits) at seeded random points inside the
derivation's stated assumptions and compared with the hand-written JAX code of
`mirrorflow`: two independent derivations that agree.

The default suite runs the derivations as `__main__` inside this process (one
interpreter start and one sympy pass for all of them) and one of them as a real
subprocess; the slow suite runs every file with `python FILE` and executes every
notebook headlessly with nbclient.
"""

import contextlib
import functools
import io
import pathlib
import re
import runpy
import subprocess
import sys

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.integrate
import sympy as sp

import mirrorflow as mf


ROOT = pathlib.Path(__file__).resolve().parents[1]
DERIVATIONS = sorted((ROOT / "derivations").glob("[0-9][0-9]_*.py"))
NAMES = [p.stem for p in DERIVATIONS]

# Symbolic-versus-numeric tolerance: 1e-12 relative (the acceptance 1).
# The JAX code is float64 (a few dozen roundings of 1.1e-16); the sympy side is
# evaluated with mpmath at 40 digits and contributes nothing.
RTOL = 1e-12
# Points per comparison: one batch shape for every test, so JAX compiles each
# primitive once for the whole file.
N = 16


@pytest.fixture(scope="module")
def standalone_script():
    """`python derivations/01_...py` in a fresh interpreter, in the background.

    Started by the first test so that it overlaps with the in-process tests.
    """
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "derivations" / "01_quadratic_and_entropy.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    yield process
    if process.poll() is None:  # the standalone test was deselected
        process.kill()
    for pipe in (process.stdout, process.stderr):
        pipe.close()
    process.wait()


def test_the_required_derivations_exist(standalone_script):
    required = {
        "01_quadratic_and_entropy",
        "02_hadamard_mw",
        "03_difference_of_squares",
        "04_deep_diagonal",
        "05_bregman_projection_limits",
        "06_weight_decay_time_dependent",
    }
    assert required <= set(NAMES)


@functools.cache
def run_as_main(name: str) -> tuple[dict, str]:
    """Execute a derivation as `__main__`; its namespace and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = runpy.run_path(
            str(ROOT / "derivations" / f"{name}.py"), run_name="__main__"
        )
    return namespace, out.getvalue()


def mp_eval(expr: sp.Expr, symbols, *columns) -> np.ndarray:
    """Evaluate `expr` at the rows of `columns` with mpmath at 40 digits."""
    f = sp.lambdify(symbols, expr, modules="mpmath")
    values = []
    with mpmath.workdps(40):
        for row in zip(*columns, strict=True):
            value = f(*[mpmath.mpf(float(v)) for v in row])
            values.append(float(mpmath.re(value)))
    return np.asarray(values)


def per_point(fn, *columns) -> np.ndarray:
    """`fn` of 1-element arrays, vmapped over the rows of `columns` (float64)."""

    def scalar(*values):
        return jnp.reshape(fn(*[v[None] for v in values]), ())

    arrays = [jnp.asarray(np.asarray(c, dtype=np.float64)) for c in columns]
    return np.asarray(jax.vmap(scalar)(*arrays))


# The largest relative discrepancy each comparison measured (absolute for a check
# with rtol = 0): a record for reports, never asserted on.
DISCREPANCIES: dict[str, float] = {}


def check(got, want, *, rtol: float, atol: float = 0.0, label: str) -> None:
    """`assert_allclose` that also records the worst relative discrepancy."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    error = np.abs(got - want)  # absolute for a pure-atol check (want = 0)
    if rtol > 0:
        error = error / np.maximum(np.abs(want), np.finfo(float).tiny)
    DISCREPANCIES[label] = max(DISCREPANCIES.get(label, 0.0), float(error.max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=label)


# ------------------------------------------------------------- scripts, identities


LATEX_LINE = re.compile(r"^\$.+ = .+\$$", re.MULTILINE)


@pytest.mark.parametrize("name", NAMES)
def test_runs_as_main_and_prints_latex(name):
    _, out = run_as_main(name)
    assert len(LATEX_LINE.findall(out)) >= 3, out


@pytest.mark.parametrize("name", NAMES)
def test_states_what_it_teaches_and_its_assumptions(name):
    text = (ROOT / "derivations" / f"{name}.py").read_text()
    assert text.startswith("# ---\n# jupyter:\n#   jupytext:")  # percent format
    assert "# %% [markdown]" in text
    assert "**What it teaches.**" in text and "**Assumptions.**" in text


@pytest.mark.parametrize("name", NAMES)
def test_claimed_identities_simplify_to_zero(name):
    namespace, _ = run_as_main(name)
    identities = namespace["identities"]()
    assert len(identities) >= 5
    for label, expr in identities.items():
        # Exact: sympy proves it (simplify), or, failing that, `equals` (which
        # also tries numerical evaluation at random points) confirms it.
        assert sp.simplify(expr) == 0 or expr.equals(0), label


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_derivation_runs_as_a_subprocess_script(name, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "derivations" / f"{name}.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # nothing may be written into the repository
    )
    assert result.returncode == 0, result.stderr
    assert len(LATEX_LINE.findall(result.stdout)) >= 3
    checks = re.findall(r"simplifies to (.*)$", result.stdout, re.MULTILINE)
    assert checks and all(c == "0" for c in checks), result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_derivation_executes_as_a_notebook(name, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = jupytext.read(ROOT / "derivations" / f"{name}.py")
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("text/latex" in o.get("data", {}) for o in outputs)


# ------------------------------------------------ 01: quadratic and negative entropy


def test_01_quadratic_matches_squared_norm():
    ns, _ = run_as_main("01_quadratic_and_entropy")
    q, x, y, z = ns["quadratic"](), ns["x"], ns["y"], ns["z"]
    rng = np.random.default_rng(101)
    xs, ys, zs = rng.standard_normal((3, N)) * 2
    pot = mf.SquaredNorm()
    for method, key, syms, cols in [
        ("value", "potential", (x,), (xs,)),
        ("grad", "mirror_map", (x,), (xs,)),
        ("grad_conjugate", "inverse_mirror_map", (z,), (zs,)),
        ("conjugate", "conjugate", (z,), (zs,)),
        ("bregman", "bregman", (x, y), (xs, ys)),
    ]:
        got = per_point(getattr(pot, method), *cols)
        # 1e-12 relative: symbolic-vs-numeric (module constant RTOL).
        check(
            got, mp_eval(q[key], syms, *cols), rtol=RTOL, label=f"01 quadratic {method}"
        )
    assert q["metric"] == 1  # exact: r'' = 1 = SquaredNorm().hessian_diag


def test_01_entropy_matches_neg_entropy_quarter():
    ns, _ = run_as_main("01_quadratic_and_entropy")
    e, x, y, z = ns["entropy"](), ns["x_pos"], ns["y_pos"], ns["z"]
    rng = np.random.default_rng(102)
    xs, ys = rng.uniform(0.05, 4.0, (2, N))  # the domain x > 0 (assumption)
    zs = rng.uniform(-1.5, 0.5, N)
    pot = mf.NegEntropy(0.25)
    induced = mf.Square().induced_potential(jnp.asarray(np.sqrt(xs)))
    assert isinstance(induced, mf.NegEntropy) and induced.coef == 0.25
    for method, key, syms, cols, atol in [
        # r and r' vanish inside the domain (x = e, x = 1): an absolute floor of
        # 1e-12 times the size of their terms (x log x and x; log x).
        ("value", "potential", (x,), (xs,), RTOL * 4.0 * (1 + np.log(4.0))),
        ("grad", "mirror_map", (x,), (xs,), RTOL * np.abs(np.log(0.05))),
        ("hessian_diag", "metric", (x,), (xs,), 0.0),
        ("grad_conjugate", "inverse_mirror_map", (z,), (zs,), 0.0),
        ("conjugate", "conjugate", (z,), (zs,), 0.0),
        # D(x, y) is a difference of O(x log x) terms in the package: for nearby
        # points the same floor applies.
        ("bregman", "bregman", (x, y), (xs, ys), RTOL * 4.0 * (1 + np.log(4.0))),
    ]:
        got = per_point(getattr(pot, method), *cols)
        want = mp_eval(e[key], syms, *cols)
        # 1e-12 relative (RTOL), with the absolute floors above.
        check(got, want, rtol=RTOL, atol=atol, label=f"01 entropy {method}")
    assert e["time_factor"] == 4 and mf.Square().time_factor == 4.0  # exact


# ----------------------------------------------------------------- 02: m * w


def _unbalanced_mw(rng, n):
    m0 = rng.uniform(0.3, 1.5, n)
    return m0, m0 * rng.uniform(-0.95, 0.95, n)  # m0 > |w0|: the assumption


def _hadamard_potential(m0, w0):
    return mf.Hadamard().induced_potential((m0, w0))


def test_02_hadamard_potential_matches_package():
    ns, _ = run_as_main("02_hadamard_mw")
    ip, beta = ns["induced"](), ns["beta"]
    rng = np.random.default_rng(201)
    m0, w0 = _unbalanced_mw(rng, N)
    xs = rng.standard_normal(N) * 2
    for method, expr in [
        ("value", ip.potential),
        ("grad", ip.mirror_map),
        ("hessian_diag", ip.metric),
    ]:
        got = per_point(
            lambda m, w, x, method=method: getattr(_hadamard_potential(m, w), method)(
                x
            ),
            m0,
            w0,
            xs,
        )
        want = mp_eval(expr, (ip.x, beta), xs, m0**2 - w0**2)
        # 1e-12 relative (RTOL).
        check(got, want, rtol=RTOL, label=f"02 potential {method}")


def test_02_initial_dual_and_dual_route_match_package():
    ns, _ = run_as_main("02_hadamard_mw")
    dual = ns["dual_route"]()
    rng = np.random.default_rng(202)
    us, vs = rng.uniform(0.2, 1.5, (2, N))  # m0 = u0 + v0 > |w0| = |u0 - v0|
    m0, w0 = us + vs, us - vs
    zs = rng.standard_normal(N)
    z0 = per_point(lambda m, w: _hadamard_potential(m, w).grad(m * w), m0, w0)
    # 1e-12 relative (RTOL): z0 = r'(x0) = artanh(w0 / m0).
    want = mp_eval(ns["initial_dual"](), (ns["u0"], ns["v0"]), us, vs)
    check(z0, want, rtol=RTOL, label="02 initial dual")
    check(z0, np.arctanh(w0 / m0), rtol=RTOL, label="02 artanh(w0/m0)")
    got = per_point(
        lambda m, w, z: _hadamard_potential(m, w).grad_conjugate(
            _hadamard_potential(m, w).grad(m * w) + z
        ),
        m0,
        w0,
        zs,
    )
    want = mp_eval(dual.grad_conjugate, (*dual.initial, dual.z), m0, w0, zs)
    # 1e-12 relative (RTOL): x(z) = grad R*(z0 + z).
    check(got, want, rtol=RTOL, label="02 dual route x(z)")


def test_02_balanced_case_is_entropy_half():
    ns, _ = run_as_main("02_hadamard_mw")
    r = ns["balanced_potential"]()
    (x,) = r.free_symbols
    rng = np.random.default_rng(203)
    m0 = rng.uniform(0.3, 1.5, N)  # balanced w0 = m0, so x0 = m0^2 > 0
    xs = rng.uniform(0.05, 3.0, N)
    pots = [_hadamard_potential(jnp.asarray([a]), jnp.asarray([a])) for a in m0]
    assert all(isinstance(p, mf.NegEntropy) and p.coef == 0.5 for p in pots)
    got = per_point(mf.NegEntropy(0.5).value, xs)
    # 1e-12 relative (RTOL); r vanishes at x = e: floor 1e-12 * (x log x + x).
    check(
        got,
        mp_eval(r, (x,), xs),
        rtol=RTOL,
        atol=RTOL * 3.0 * (1 + np.log(3.0)),
        label="02 balanced entropy",
    )


# ---------------------------------------------------------------- 03: u^2 - v^2


def test_03_diff_of_squares_matches_package():
    ns, _ = run_as_main("03_difference_of_squares")
    ip, s, dual = ns["induced"](), ns["s"], ns["dual_route"]()
    rng = np.random.default_rng(301)
    us, vs = rng.uniform(0.2, 1.5, (2, N))  # u0, v0 > 0: the assumption
    xs, zs = rng.standard_normal((2, N))

    def pot(u, v):
        return mf.DiffOfSquares().induced_potential((u, v))

    for method, expr in [
        ("value", ip.potential),
        ("grad", ip.mirror_map),
        ("hessian_diag", ip.metric),
    ]:
        got = per_point(
            lambda u, v, x, method=method: getattr(pot(u, v), method)(x), us, vs, xs
        )
        # 1e-12 relative (RTOL).
        want = mp_eval(expr, (ip.x, s), xs, us * vs)
        check(got, want, rtol=RTOL, label=f"03 potential {method}")
    z0 = per_point(lambda u, v: pot(u, v).grad(u**2 - v**2), us, vs)
    check(
        z0,
        mp_eval(ns["initial_dual"](), dual.initial, us, vs),
        rtol=RTOL,
        label="03 initial dual",
    )
    check(z0, np.log(us / vs) / 4, rtol=RTOL, label="03 log(u0/v0)/4")
    got = per_point(
        lambda u, v, z: pot(u, v).grad_conjugate(pot(u, v).grad(u**2 - v**2) + z),
        us,
        vs,
        zs,
    )
    want = mp_eval(dual.grad_conjugate, (*dual.initial, dual.z), us, vs, zs)
    check(got, want, rtol=RTOL, label="03 dual route x(z)")
    # The package fixes R*(0) = 0; the Euler form (u^2 + v^2)/4 is R* + c/4.
    got = per_point(
        lambda u, v, z: (
            pot(u, v).conjugate(pot(u, v).grad(u**2 - v**2) + z) + u * v / 2
        ),
        us,
        vs,
        zs,
    )
    want = mp_eval(dual.conjugate, (*dual.initial, dual.z), us, vs, zs)
    check(got, want, rtol=RTOL, label="03 dual route r*(z)")


def test_03_woodworth_q_is_four_times_the_package_potential():
    ns, _ = run_as_main("03_difference_of_squares")
    alpha = ns["alpha"]
    x = ns["induced"]().x
    rng = np.random.default_rng(302)
    alphas = rng.uniform(0.05, 2.0, N)
    xs = rng.standard_normal(N) * 2
    got = per_point(lambda a, x: 4 * mf.Hypentropy(a).value(x), alphas, xs)
    # 1e-12 relative (RTOL): Q_alpha = 4 r_alpha, docs/theory/core.md.
    want = mp_eval(ns["woodworth_q"](x), (alpha, x), alphas, xs)
    check(got, want, rtol=RTOL, label="03 Woodworth Q")


# ------------------------------------------------------------------- 04: depth D


def _deep_points(rng, depth, n):
    us, vs = rng.uniform(0.3, 1.2, (2, n))
    kappa = depth * (depth - 2)
    lo, hi = -(vs ** (2 - depth)) / kappa, us ** (2 - depth) / kappa
    return us, vs, lo + (hi - lo) * rng.uniform(0.03, 0.97, n)  # inside the domain


@pytest.mark.parametrize("depth", [3, 4])
def test_04_dual_objects_match_deep_diagonal_potential(depth):
    ns, _ = run_as_main("04_deep_diagonal")
    D, u0, v0, z = ns["D"], ns["u0"], ns["v0"], ns["z"]
    rng = np.random.default_rng(400 + depth)
    us, vs, zs = _deep_points(rng, depth, N)

    def pot(u, v):
        return mf.DeepDiagonalPotential(depth, u0=u, v0=v)

    helper = ns["dual_route"](depth)
    cases = [
        ("grad_conjugate", ns["grad_conjugate_general"]()),
        ("grad_conjugate", helper.grad_conjugate),
        ("conjugate", ns["conjugate_general"]()),
        ("conjugate", helper.conjugate),
        ("conjugate_hessian_diag", ns["conjugate_hessian_general"]()),
        ("conjugate_hessian_diag", helper.conjugate_hessian),
    ]
    for method, expr in cases:
        got = per_point(
            lambda u, v, z, method=method: getattr(pot(u, v), method)(z), us, vs, zs
        )
        want = mp_eval(expr.subs(D, depth), (u0, v0, z), us, vs, zs)
        # 1e-12 relative (RTOL); x(z) vanishes at one z per coordinate, so a floor
        # of 1e-12 times the size of its two terms.
        floor = RTOL * np.max(np.abs(want)) if method == "grad_conjugate" else 0.0
        check(got, want, rtol=RTOL, atol=floor, label=f"04 D={depth} {method}")
    got = per_point(lambda u, v, z: pot(u, v).factors(z)[0], us, vs, zs)
    want = mp_eval(ns["factors_general"]()[0].subs(D, depth), (u0, v0, z), us, vs, zs)
    check(got, want, rtol=RTOL, label=f"04 D={depth} factor u(z)")


@pytest.mark.parametrize("depth", [3, 4])
def test_04_primal_potential_by_root_finding_matches_package(depth):
    # r has no closed form: invert the derived x(z) with mpmath (40 digits) and
    # compare with the package's bisection-plus-Newton mirror map.
    ns, _ = run_as_main("04_deep_diagonal")
    D, u0, v0, z = ns["D"], ns["u0"], ns["v0"], ns["z"]
    x_of_z = sp.lambdify(
        (u0, v0, z), ns["grad_conjugate_general"]().subs(D, depth), "mpmath"
    )
    r_star = sp.lambdify(
        (u0, v0, z), ns["conjugate_general"]().subs(D, depth), "mpmath"
    )
    rng = np.random.default_rng(410 + depth)
    us, vs, zs = _deep_points(rng, depth, N)
    kappa = depth * (depth - 2)
    xs, z_ref, r_ref, sizes = [], [], [], []
    with mpmath.workdps(40):
        for a, b, zi in zip(us, vs, zs, strict=True):
            ua, vb = mpmath.mpf(float(a)), mpmath.mpf(float(b))
            x = float(x_of_z(ua, vb, mpmath.mpf(float(zi))))
            # The root is within rounding of z_i: the secant method from there.
            zx = mpmath.findroot(
                lambda t, ua=ua, vb=vb, x=x: x_of_z(ua, vb, t) - x,
                mpmath.mpf(float(zi)),
            )
            lo, hi = -(vb ** (2 - depth)) / kappa, ua ** (2 - depth) / kappa
            assert lo < zx < hi  # the dual domain (assumption)
            xs.append(x)
            z_ref.append(float(zx))
            r_ref.append(float(zx * x - r_star(ua, vb, zx)))
            sizes.append(float(abs(zx * x) + abs(r_star(ua, vb, zx))))

    def pot(u, v):
        return mf.DeepDiagonalPotential(depth, u0=u, v0=v)

    xs = np.asarray(xs)
    # 1e-12 relative (RTOL) on the mirror map; R = z x - R*(z) can vanish, so a
    # floor of 1e-12 times the size of its two terms.
    got = per_point(lambda u, v, x: pot(u, v).grad(x), us, vs, xs)
    check(got, z_ref, rtol=RTOL, label=f"04 D={depth} primal grad")
    got = per_point(lambda u, v, x: pot(u, v).value(x), us, vs, xs)
    check(got, r_ref, rtol=RTOL, atol=RTOL * max(sizes), label=f"04 D={depth} R")


# ------------------------------------------------------------------ 05: limits


def test_05_l2_limit_scaling_against_package():
    ns, _ = run_as_main("05_bregman_projection_limits")
    x = ns["x"]
    rng = np.random.default_rng(501)
    xs = rng.uniform(-3, 3, N)
    # At alpha = 1e4 the first neglected term of 16 alpha^2 r = x^2 (1 - x^2 /
    # (48 alpha^4) + ...) is below 2e-16 relative: the limit itself is within RTOL.
    alpha = 1e4
    got = 16 * alpha**2 * per_point(mf.Hypentropy(alpha).value, xs)
    want = mp_eval(ns["l2_limit"](), (x,), xs)
    check(got, want, rtol=RTOL, label="05 L2 limit")
    # At alpha = 3 (|x|/c <= 1/6 with c = 2 alpha^2) the two-term series misses
    # terms of the alternating, decreasing Taylor series of k c h(x/c), h(s) =
    # s^2/2 - s^4/24 + s^6/80 - ...: the error is below the next term,
    # x^6 / (10240 alpha^10) (up to 1.2e-6 here, so the x^4 term, up to 7e-4,
    # is really tested), plus rounding (RTOL times r).
    alpha = 3.0
    series = sp.lambdify((x, ns["alpha"]), ns["l2_series"](), "numpy")
    got = per_point(mf.Hypentropy(alpha).value, xs)
    bound = xs**6 / (10240 * alpha**10) + RTOL * np.abs(got)
    assert np.all(np.abs(got - series(xs, alpha)) <= bound)


def test_05_l1_asymptotic_against_package():
    ns, _ = run_as_main("05_bregman_projection_limits")
    x, alpha = ns["x_pos"], ns["alpha"]
    rng = np.random.default_rng(502)
    xs = rng.uniform(0.1, 3.0, N)  # x > 0 (assumption; r is even)
    # At alpha = 1e-4 the remainder of the large-x form is O(k c^2 / x) ~ 1e-17,
    # far below RTOL times r ~ 1.
    a = 1e-4
    want = mp_eval(ns["l1_asymptotic"](), (x, alpha), xs, np.full(N, a))
    for sign in (1.0, -1.0):
        got = per_point(mf.Hypentropy(a).value, sign * xs)
        check(got, want, rtol=RTOL, label="05 L1 asymptotic")
    # The L1 scaling: r / (log(1/alpha)/2) -> |x| with relative error
    # (log x - 1)/(2 log(1/alpha)) + O(alpha^4): the derived rate, checked at 1e-30.
    a = 1e-30
    scaled = per_point(mf.Hypentropy(a).value, xs) / (np.log(1 / a) / 2)
    predicted = xs * (1 + (np.log(xs) - 1) / (2 * np.log(1 / a)))
    check(scaled, predicted, rtol=RTOL, label="05 L1 scaling")


# ---------------------------------------------------------------- 06: weight decay


def test_06_time_dependent_potential_matches_hypentropy_at_a_t():
    ns, _ = run_as_main("06_weight_decay_time_dependent")
    td, a0, dose = ns["mask_convention"](), ns["a0"], ns["dose"]
    rng = np.random.default_rng(601)
    a0s = rng.uniform(0.1, 2.0, N)
    doses = rng.uniform(0.0, 3.0, N)
    xs = rng.standard_normal(N)
    a_t = a0s * np.exp(-4 * doses)
    for method, expr in [
        ("value", td.potential),
        ("grad", td.mirror_map),
        ("hessian_diag", sp.diff(td.mirror_map, td.x)),
    ]:
        got = per_point(
            lambda a, x, method=method: getattr(
                mf.Hypentropy(scale=a / 2, coef=0.5), method
            )(x),
            a_t,
            xs,
        )
        want = mp_eval(expr, (td.x, a0, dose), xs, a0s, doses)
        # 1e-12 relative (RTOL): Hypentropy(scale=|a_t|/2, coef=0.5) at given a_t.
        check(got, want, rtol=RTOL, label=f"06 R_a(t) {method}")


def test_06_mirror2_forms_match_package_with_tilt():
    ns, _ = run_as_main("06_weight_decay_time_dependent")
    x, gamma, phi, mu = ns["x"], ns["gamma"], ns["phi"], ns["mu"]
    rng = np.random.default_rng(602)
    gammas = rng.uniform(0.05, 2.0, N)
    phis, xs, mus = rng.standard_normal((3, N))

    def pot(g):
        return mf.Hypentropy(scale=g / 2, coef=0.5)

    # R^M2 = R_pkg - gamma/4 - phi x/2; Q_a(mu) = R*_pkg(mu + phi/2) + gamma/4.
    got = per_point(
        lambda g, f, x: pot(g).value(x) - g / 4 - f * x / 2, gammas, phis, xs
    )
    want = mp_eval(
        ns["mirror2_potential_as_written"](), (x, gamma, phi), xs, gammas, phis
    )
    # 1e-12 relative (RTOL) with a floor for the cancellation of the tilt: 1e-12
    # times the size of the terms.
    size = np.abs(xs) * (np.abs(phis) + 4) + gammas
    check(got, want, rtol=RTOL, atol=RTOL * size.max(), label="06 mirror2 R_a")
    got = per_point(
        lambda g, f, m: pot(g).conjugate(m + f / 2) + g / 4, gammas, phis, mus
    )
    want = mp_eval(
        ns["mirror2_conjugate_derived"](), (mu, gamma, phi), mus, gammas, phis
    )
    check(got, want, rtol=RTOL, label="06 mirror2 Q_a")


def test_06_weight_decay_flow_is_a_time_dependent_mirror_flow():
    # Integrate gradient flow with weight decay lambda_t (m^2 + w^2) on a small
    # regression and check the derived identity along it (mask.time_dependent_
    # potential): grad R_{a_t}(x_t) - z0 + int_0^t grad f = 0, and a_t = a0 e^{-4L}.
    ns, _ = run_as_main("06_weight_decay_time_dependent")
    td, a0, dose = ns["mask_convention"](), ns["a0"], ns["dose"]
    mirror = sp.lambdify((td.x, a0, dose), td.mirror_map, "numpy")
    schedule = sp.lambdify((a0, dose), td.schedule, "numpy")
    problem = mf.random_regression(d=6, n=3, k=2, seed=1)
    A, b = np.asarray(problem.A), np.asarray(problem.b)
    rng = np.random.default_rng(603)
    m0 = rng.uniform(0.5, 1.0, 6)
    w0 = m0 * rng.uniform(-0.8, 0.8, 6)  # m0 > |w0| (assumption)
    lam0, tau = 0.3, 2.0  # lambda_t = lam0 e^{-t/tau}, Lambda_t in closed form

    def rhs(t, y):
        m, w = y[:6], y[6:12]
        g = A.T @ (A @ (m * w) - b)
        lam = lam0 * np.exp(-t / tau)
        return np.concatenate([-w * g - 2 * lam * m, -m * g - 2 * lam * w, g])

    y, t = np.concatenate([m0, w0, np.zeros(6)]), 0.0
    for T in (0.5, 2.0, 6.0):  # read at step endpoints, no dense output
        y = scipy.integrate.solve_ivp(
            rhs, (t, T), y, method="DOP853", rtol=1e-12, atol=1e-14
        ).y[:, -1]
        t = T
        m, w, integral = y[:6], y[6:12], y[12:]
        Lambda = lam0 * tau * (1 - np.exp(-T / tau))
        a_0 = m0**2 - w0**2
        residual = mirror(m * w, a_0, Lambda) - np.arctanh(w0 / m0) + integral
        # DOP853 at rtol 1e-12, atol 1e-14 over t <= 6: errors ~1e-12; 1e-9 is a
        # factor ~1000 above (ODE-vs-identity).
        check(residual, 0.0, rtol=0.0, atol=1e-9, label="06 flow identity")
        check(m**2 - w**2, schedule(a_0, Lambda), rtol=1e-9, label="06 a_t")


def test_a_derivation_runs_as_a_standalone_script(standalone_script):
    # The cheapest derivation through a fresh interpreter: `python FILE` works
    # outside pytest (no conftest, no x64 flag, no import hook).
    out, err = standalone_script.communicate(timeout=300)
    assert standalone_script.returncode == 0, err
    assert len(LATEX_LINE.findall(out)) >= 3


# ------------------------------------------------------------------ 07: HAM


def test_07_potential_conjugate_penalty_match_package():
    ns, _ = run_as_main("07_ham_hyperbolic_step")
    pot, pen = ns["potential"](), ns["penalty"]()
    alpha, x, z = ns["alpha"], ns["x"], ns["z"]
    rng = np.random.default_rng(7)
    for a in (0.3, 5.0, 200.0):
        xs = rng.uniform(1e-3, 3.0, 8)
        package = mf.HamPotential(a)
        for expr, fn, odd in (
            (pot["potential"], package.value, False),
            (pot["mirror_map"], package.grad, True),
            (pen["h"], package.penalty, False),
        ):
            want = mp_eval(expr.subs(alpha, a), (x,), xs)
            # derived on x > 0; the package's |x| forms are even (the map is odd)
            for sign in (1.0, -1.0):
                got = per_point(fn, sign * xs) * (sign if odd else 1.0)
                check(got, want, rtol=1e-12, label="07 potential")
        zs = rng.uniform(1e-3, 3.0 / a, 8)
        want = mp_eval(pot["conjugate"].subs(alpha, a), (z,), zs)
        check(per_point(package.conjugate, zs), want, rtol=1e-12, label="07 conj")


def test_07_time_to_accuracy_matches_quadrature_and_the_claim_numbers():
    from mirrorflow.papers.ham import time_to_eps

    ns, _ = run_as_main("07_ham_hyperbolic_step")
    T = ns["ham_time_as_derived"]()
    alpha, eps, x0 = ns["alpha"], ns["eps"], ns["s"]
    for a in (1, 5, 200):
        expr = T.subs({eps: sp.Rational(1, 1000), x0: -sp.Rational(1, 2)})
        value = float(sp.limit(expr, alpha, a) if a == 1 else expr.subs(alpha, a))
        quad = time_to_eps(lambda t, a=a: 1 + a * abs(t), -0.5, 1.0, 1e-3)
        assert value == pytest.approx(quad, rel=1e-10)
    # the spec's table (docs/theory/mirror_mirror.md, ham.faster_than_mw), 4 decimals
    for a, spec in ((1, 4.1335), (5, 1.6616), (200, 0.0819)):
        expr = T.subs({eps: sp.Rational(1, 1000), x0: -sp.Rational(1, 2)})
        value = float(sp.limit(expr, alpha, a) if a == 1 else expr.subs(alpha, a))
        assert abs(value - spec) < 5e-5
