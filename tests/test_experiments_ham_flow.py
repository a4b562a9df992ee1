r"""The ham. experiments (metric, dln_regression): quick runs vs independent oracles.

Oracles, each computed here by another route than the experiment's: closed forms
typed by hand (inverse metrics), numpy's pinv (the GD limit, with the exact GD
contraction bound), a numpy loop of the HAM update formula (the discrete curves),
scipy's DOP853 on a numpy right-hand side (the HAM flow), and scipy trust-exact on the
spec's dual problem (the Bregman projections of $R_\alpha$ and of the
$m\odot w$ hypentropy; docs/theory/mirror_mirror.md). Problems are drawn here again with
numpy in the spec's draw order.
"""

import math

import numpy as np
import optax
import pytest
import scipy.integrate
import scipy.optimize

from mirrorflow.app import default_experiments_dir, load_experiment_file
from mirrorflow.optimizers import ham
from mirrorflow.papers.ham import ham_problem


NAMES = {
    "ham.metric": "ham/metric.py",
    "ham.dln_regression": "ham/dln_regression.py",
}


def experiment(name):
    return load_experiment_file(default_experiments_dir() / NAMES[name])


def module(name):
    """The experiment's module (for its helpers `discrete_path`, `flow_path`)."""
    import sys

    path = str(default_experiments_dir() / NAMES[name])
    experiment(name)
    return next(
        m
        for m in list(sys.modules.values())
        if getattr(m, "__file__", None) and str(m.__file__) == path
    )


@pytest.fixture(scope="module")
def quick_results():
    cache = {}

    def get(name):
        if name not in cache:
            exp = experiment(name)
            cache[name] = exp.run(exp.config, True)
        return cache[name]

    return get


def spec_p2(seed=0):
    """P2 drawn here with numpy in the spec's order (§0): A, support, signs, mags."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((20, 40))
    support = rng.choice(40, 3, replace=False)
    signs = rng.choice([-1, 1], 3)
    mags = rng.uniform(0.5, 1.5, 3)
    x_star = np.zeros(40)
    x_star[support] = signs * mags
    return A, A @ x_star, x_star


def ham_numpy(A, y, alpha, beta, eta, steps, record):
    """GD+HAM from x0 = 0 by the formula of docs/theory/mirror_mirror.md, in numpy.

    Returns the iterates at the steps `record` (0 is x0) and the largest |exponent|.
    """
    n = A.shape[0]
    x = np.zeros(A.shape[1])
    record = set(int(k) for k in record)
    out = [x] if 0 in record else []
    max_exponent = 0.0
    for k in range(1, steps + 1):
        g = A.T @ (A @ x - y) / n
        half = x - eta * g
        e = -eta * (alpha * np.sign(half) * g + beta)
        max_exponent = max(max_exponent, float(np.abs(e).max()))
        x = half * np.exp(e)
        if k in record:
            out.append(x)
    return np.stack(out), max_exponent


def ham_flow_numpy(A, y, alpha, beta, ts):
    """dx/dt = -(1 + alpha|x|) A^T(Ax - y)/n - beta x from 0, scipy DOP853."""
    n = A.shape[0]

    def rhs(t, x):
        return -(1.0 + alpha * np.abs(x)) * (A.T @ (A @ x - y) / n) - beta * x

    sol = scipy.integrate.solve_ivp(
        rhs,
        (0.0, float(ts[-1])),
        np.zeros(A.shape[1]),
        method="DOP853",
        t_eval=ts,
        rtol=1e-11,
        atol=1e-13,
    )
    assert sol.success
    return sol.y.T


def ham_projection(A, y, alpha):
    """Bregman projection of R_alpha from 0 (R*_alpha, docs/theory/mirror_mirror.md)."""

    def value(z):
        u = alpha * np.abs(z)
        return float(np.sum(np.expm1(u) - u) / alpha**2)

    return _dual(
        A,
        y,
        value,
        lambda z: np.sign(z) * np.expm1(alpha * np.abs(z)) / alpha,
        lambda z: np.exp(alpha * np.abs(z)),
    )


def hypentropy_projection(A, y, gamma):
    r"""argmin_{Ax=y} R(x) for $m\odot w$ with $\varphi = 0$ (spec §1.3).

    $Q(\mu) = \tfrac{\gamma}{4}\cosh 2\mu$, $\nabla Q = \tfrac{\gamma}{2}\sinh 2\mu$,
    $\nabla^2 Q = \gamma\cosh 2\mu$.
    """
    return _dual(
        A,
        y,
        lambda z: float(np.sum(gamma / 4 * np.cosh(2 * z))),
        lambda z: gamma / 2 * np.sinh(2 * z),
        lambda z: gamma * np.cosh(2 * z),
    )


def _dual(A, y, value, grad_conj, hess_conj):
    r"""argmin_{Ax=y} D_R(x, x0) with $\nabla R(x_0) = 0$ through the dual (spec §0).

    Minimizes $R^*(A^\top\nu) - y^\top\nu$ by scipy trust-exact and returns
    $x = \nabla R^*(A^\top\nu)$ with the residual $\|Ax - y\|$.
    """
    out = scipy.optimize.minimize(
        lambda nu: value(A.T @ nu) - y @ nu,
        np.zeros(A.shape[0]),
        jac=lambda nu: A @ grad_conj(A.T @ nu) - y,
        hess=lambda nu: (A * hess_conj(A.T @ nu)[None, :]) @ A.T,
        method="trust-exact",
        options={"gtol": 1e-12},
    )
    x = grad_conj(A.T @ out.x)
    return x, float(np.linalg.norm(A @ x - y))


def test_metric_closed_forms(quick_results, tmp_path):
    r = quick_results("ham.metric")
    xs = r["xs"]
    assert r["alpha"] == 5.0 and r["gamma"] == 0.05
    # Oracle: values typed by hand at a few grid points, alpha = 5, gamma = 0.05:
    # HAM 1 + 5|x|, GD 1, m*w sqrt(4x^2 + 0.0025). atol 1e-14: a few ulps of
    # numbers <= 6 (the grid points themselves are linspace round-off, <= 2e-16).
    by_hand = {
        -1.0: (6.0, math.sqrt(4.0025)),
        -0.3: (2.5, math.sqrt(0.3625)),
        0.0: (1.0, 0.05),
        0.25: (2.25, math.sqrt(0.2525)),
        0.5: (3.5, math.sqrt(1.0025)),
        1.0: (6.0, math.sqrt(4.0025)),
    }
    for x, (ham_ref, mw_ref) in by_hand.items():
        i = int(np.argmin(np.abs(xs - x)))
        assert abs(xs[i] - x) < 1e-15
        assert abs(r["ham"][i] - ham_ref) < 1e-14
        assert r["gd"][i] == 1.0
        assert abs(r["mw"][i] - mw_ref) < 1e-14
    # The ordering interval: sqrt(4x^2 + gamma^2) = 1 at x = sqrt(1 - gamma^2)/2
    # = sqrt(0.9975)/2 (by hand); HAM >= GD > m*w strictly inside, GD < m*w
    # outside (the grid points nearest the edge excluded: round-off).
    assert abs(r["x_cross"] - math.sqrt(0.9975) / 2) < 1e-15
    inside = np.abs(xs) < r["x_cross"]
    assert r["ordered_on_interval"]
    assert np.all(r["ham"][inside] >= r["gd"][inside])
    assert np.all(r["gd"][inside] > r["mw"][inside])
    assert np.all(r["mw"][np.abs(xs) > r["x_cross"] + 1e-12] > 1.0)
    experiment("ham.metric").plot(r, tmp_path / "f.png")


def test_dln_regression_gd_long_run_min_norm():
    # The experiment's discrete loop, full length (2e4 steps): GD ends at the
    # min-L2 interpolant pinv(A) y. Bound as above: (1 - eta lambda_min)^K
    # ||x_lim|| = 2e-12 here, plus a 1e-12 round-off floor.
    mod = module("ham.dln_regression")
    cfg = mod.Config()
    A, y, _ = spec_p2()
    prob = ham_problem(20, 40, 3, 0)
    xs = mod.discrete_path(prob, optax.sgd(cfg.eta), cfg.steps, [cfg.steps])
    x_lim = np.linalg.pinv(A) @ y
    lam_min = np.linalg.eigvalsh(A @ A.T / 20).min()
    bound = (1 - cfg.eta * lam_min) ** cfg.steps * np.linalg.norm(x_lim)
    assert bound < 1e-11
    assert np.linalg.norm(xs[-1] - x_lim) <= bound + 1e-12


def test_dln_regression_ham_limit_order_eta():
    # beta = 0, alpha = 10: the discrete end point is O(eta) from the Bregman
    # projection of R_alpha. Why O(eta): in the dual z = grad R_alpha(x) a HAM step
    # moves z by -eta grad f(x_k) + O(eta^2), and the O(eta^2) part is not in
    # range(A^T); over the O(1/eta) steps of the transient this leaves z_inf - z0
    # off range(A^T) by O(eta), i.e. the end point is the projection for a start
    # perturbed by O(eta). Measured: 3.04e-3 (eta = 0.01), 1.52e-3 (0.005) in the
    # max norm at t = 100 (the flow is converged there to < 1e-9).
    mod = module("ham.dln_regression")
    A, y, _ = spec_p2()
    prob = ham_problem(20, 40, 3, 0)
    x_ref, res = ham_projection(A, y, 10.0)
    assert res < 1e-9
    dists = []
    for eta in (0.01, 0.005):
        steps = round(100.0 / eta)
        xs = mod.discrete_path(prob, ham(10.0, 0.0, eta), steps, [steps])
        dists.append(float(np.max(np.abs(xs[-1] - x_ref))))
    # First order: the distance is below eta and halves with eta ([1.6, 2.4]).
    assert dists[0] < 0.01
    assert 1.6 <= dists[0] / dists[1] <= 2.4


def test_dln_regression_discrete_vs_flow_order_eta():
    # The experiment's discrete HAM and its HamFlow (LSODA) at every step of
    # t in [0, 1], which holds the peak of the deviation (t = 0.17, the early
    # transient): max_k ||x_k - x(k eta)||_2 is O(eta). Measured (alpha = 10,
    # beta = 1e-3): 2.57e-2 at eta = 0.01, 1.27e-2 at 0.005, ratio 2.03.
    mod = module("ham.dln_regression")
    A, y, _ = spec_p2()
    prob = ham_problem(20, 40, 3, 0)
    alpha, beta, T, fine = 10.0, 1e-3, 1.0, 0.005
    ts = np.arange(round(T / fine) + 1) * fine
    flow = mod.flow_path(prob, alpha, beta, ts, 1e-10)
    # Second integrator: scipy DOP853 on a numpy right-hand side (1e-7: LSODA at
    # rtol 1e-10 and the |x| kinks).
    np.testing.assert_allclose(
        flow, ham_flow_numpy(A, y, alpha, beta, ts), rtol=0, atol=1e-7
    )
    devs = []
    for eta in (0.01, 0.005):
        steps = round(T / eta)
        xs = mod.discrete_path(prob, ham(alpha, beta, eta), steps, np.arange(steps + 1))
        on_grid = flow[:: round(eta / fine)]
        devs.append(float(np.max(np.linalg.norm(xs - on_grid, axis=1))))
    assert devs[0] < 0.05
    assert 1.6 <= devs[0] / devs[1] <= 2.4


@pytest.mark.slow  # 10-20 s: compiles 5 optimizers, 2 LSODA flows, 3 dual solves;
# CI's `mirrorflow figures --quick` runs the same code (without these oracles).
def test_dln_regression_quick_against_numpy(quick_results, tmp_path):
    r = quick_results("ham.dln_regression")
    cfg = experiment("ham.dln_regression").config
    A, y, x_star = spec_p2()
    n = A.shape[0]
    eta = cfg.eta
    # Same instance: the spec's draw order, reproduced here (exact).
    np.testing.assert_array_equal(r["x_star"], x_star)
    labels = [str(s) for s in r["labels"]]
    iters = r["iters"]
    assert iters[-1] == cfg.steps_quick
    # Plotted errors are ||x - x*|| of the stored end points (exact arithmetic).
    np.testing.assert_allclose(
        r["final_err"], np.linalg.norm(r["final_x"] - x_star, axis=1), rtol=1e-15
    )
    # GD: oracle x_lim = pinv(A) y (x0 = 0). GD contracts the error in range(A^T)
    # by exactly (1 - eta lambda_min(A A^T / n)) per step (eta lambda_max < 1), so
    # after K steps ||x_K - x_lim|| <= (1 - eta lambda_min)^K ||x_lim|| (+1e-12
    # round-off floor).
    x_lim = np.linalg.pinv(A) @ y
    lam = np.linalg.eigvalsh(A @ A.T / n)
    assert eta * lam.max() < 1.0
    i_gd = labels.index("GD")
    np.testing.assert_allclose(r["pred_x"][i_gd], x_lim, rtol=0, atol=1e-12)
    bound = (1 - eta * lam.min()) ** cfg.steps_quick * np.linalg.norm(x_lim)
    assert np.linalg.norm(r["final_x"][i_gd] - x_lim) <= bound + 1e-12
    # HAM: the plotted discrete curves against the update formula in numpy (same
    # operations, other code: agreement to round-off, 1e-12 with a margin for
    # 2000 steps), and the plotted flow curves against scipy DOP853 at rtol 1e-11
    # (the experiment's LSODA runs at 1e-10; 1e-7 leaves room for the |x| kinks).
    ts = iters * eta
    first = len(labels) - len(r["ham_alpha"])
    for j, (alpha, beta) in enumerate(zip(r["ham_alpha"], r["ham_beta"], strict=True)):
        xs, max_exponent = ham_numpy(A, y, alpha, beta, eta, cfg.steps_quick, iters)
        # The authors' exponent clamp (|e| <= 5) would be inactive (spec §2.7).
        assert max_exponent < 5
        np.testing.assert_allclose(
            r["errors"][first + j],
            np.linalg.norm(xs - x_star, axis=1),
            rtol=0,
            atol=1e-12,
        )
        flow = ham_flow_numpy(A, y, alpha, beta, ts)
        np.testing.assert_allclose(
            r["ham_flow_errors"][j],
            np.linalg.norm(flow - x_star, axis=1),
            rtol=0,
            atol=1e-7,
        )
        # The sidecar's deviation, recomputed from the two references (1e-7, as
        # above).
        dev = np.max(np.linalg.norm(xs - flow, axis=1))
        assert abs(r["ham_flow_dev"][j] - dev) < 1e-7
        # O(eta): measured 2.5e-2 at eta = 0.01 (alpha = 10, peak near t = 0.2);
        # the rate is test_dln_regression_discrete_vs_flow_order_eta.
        assert dev < 5 * eta
    # Predicted limits against scipy trust-exact on the spec's dual (residuals
    # <= 1e-9; 1e-8 on x from the dual conditioning).
    i_ham0 = (
        first
        + [
            j
            for j, b in enumerate(r["ham_beta"])
            if b == 0.0 and r["ham_alpha"][j] == 10
        ][0]
    )
    x_ref, res = ham_projection(A, y, 10.0)
    assert res < 1e-9
    np.testing.assert_allclose(r["pred_x"][i_ham0], x_ref, rtol=0, atol=1e-8)
    # m*w: gamma = m0^2 = 0.01, phi = 0 (w0 = 0). No decay: hypentropy projection
    # at gamma; decay 0.5 for t < 2 (200 steps, dose 1, a = -2): at
    # gamma e^{2a} = 0.01 e^{-4} (spec §1.3).
    assert r["mw_dose"] == pytest.approx(1.0, rel=1e-12)
    for i, gamma in ((1, 0.01), (2, 0.01 * math.exp(-4.0))):
        x_ref, res = hypentropy_projection(A, y, gamma)
        assert res < 1e-9
        np.testing.assert_allclose(r["pred_x"][i], x_ref, rtol=0, atol=1e-8)
    experiment("ham.dln_regression").plot(r, tmp_path / "f.png")


def test_ham_alpha100_discrete_vs_flow_order_eta():
    # alpha = 100, beta = 0 (numpy loop vs DOP853, every step of t in [0, 1]): the
    # deviation is still O(eta) but with a constant ~30 (peak at t = 0.04, where
    # eta alpha |grad f| = 1.17 at eta = 0.01): measured 0.302 (eta = 0.01), 0.139
    # (0.005), ratio 2.17; the experiment's sidecar shows the same 0.30.
    A, y, _ = spec_p2()
    T, fine = 1.0, 0.005
    ts = np.arange(round(T / fine) + 1) * fine
    ref = ham_flow_numpy(A, y, 100.0, 0.0, ts)
    devs = []
    for eta in (0.01, 0.005):
        steps = round(T / eta)
        xs, max_exponent = ham_numpy(A, y, 100.0, 0.0, eta, steps, range(steps + 1))
        # The authors' exponent clamp (|e| <= 5) would be inactive (spec §2.7).
        assert max_exponent < 5
        on_grid = ref[:: round(eta / fine)]
        devs.append(float(np.max(np.linalg.norm(xs - on_grid, axis=1))))
    assert devs[0] < 0.5
    assert 1.6 <= devs[0] / devs[1] <= 2.4
