r"""The `ham.` claims: HAM's step, its Riemannian flow and its limits.

See docs/theory/ham.md. **Convention.** The HAM claims are stated for the paper's
loss $\tfrac{1}{2n}\|Ax-y\|^2$; the problems here use it directly
(`LinearRegression(..., mean=True)`), so the horizons, step sizes and
hyperparameters of docs/theory/ham.md apply unchanged (no clock conversion, unlike
`mirror2.`). P1 = (10, 30, 3) and P2 = (20, 40, 3), seed 0, in the draw order of
`m2_problem`; $x_0 = 0.3\,N(0, I)$ from `default_rng(7)`.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.integrate
import scipy.optimize

from ..flows import RiemannianFlow
from ..optimizers import hadamard_reparam, ham, hyperbolic_step
from ..potentials import HamPotential, Hypentropy, SquaredNorm
from ..predictions import ham_limit
from ..problems import LinearRegression
from ..regularization import AbstractSchedule, ConstantDecay
from ..solvers import ScipyReference, integrate
from ._claim import Check, ClaimTable
from ._rows import limit_row, max_err
from .mirror2 import m2_problem


CLAIMS = ClaimTable("ham")


SOURCE = "docs/theory/ham.md, Claims checked"


def _decay_drift(x):
    r"""HAM's decay drift $D(x) = x$: $(1+\alpha|x|)\,h_\alpha'(x)$ with
    $h_\alpha'(x) = x/(1+\alpha|x|)$."""
    return x


def ham_flow(problem, alpha: float, beta=0.0) -> RiemannianFlow:
    r"""The gradient flow of GD+HAM as a `RiemannianFlow`.

    $$\dot x = -(1+\alpha|x|)\odot\nabla f(x) - \beta_tx.$$

    The $\eta\to 0$ limit of HAM's step (HAM, Thm 4.2, and Thm B.6 for the sign of
    the half step; derivations/07_ham_hyperbolic_step.py): the `RiemannianFlow` with
    HAM's metric $\nabla^2R_\alpha = \mathrm{diag}(1/(1+\alpha|x|))$
    (`HamPotential(alpha)`; `SquaredNorm()` for $\alpha = 0$, gradient flow) and the
    decay drift $D(x) = x$ under the schedule $\beta_t$. With $\beta = 0$ it is the
    mirror flow of $R_\alpha$; with $\beta > 0$ it converges to
    $\arg\min_x f + \beta h_\alpha$. The right-hand side is Lipschitz but not $C^1$
    where a coordinate crosses 0.

    Args:
        problem: the loss $f$.
        alpha: the coupling $\alpha \ge 0$.
        beta: the decay $\beta \ge 0$, or a schedule $\beta_t$ (e.g. `SwitchOff`).
    """
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha >= 0):
        raise ValueError(
            "ham_flow: `alpha` must be a finite float >= 0 (the gradient-sign "
            f"coupling), got {alpha!r}."
        )
    if isinstance(beta, AbstractSchedule):
        schedule = beta
    elif isinstance(beta, int | float) and math.isfinite(beta) and beta >= 0:
        schedule = ConstantDecay(float(beta)) if beta > 0 else None
    else:
        raise ValueError(
            "ham_flow: `beta` must be a finite float >= 0 (the constant decay) or a "
            f"regularization schedule, got {beta!r}."
        )
    metric = HamPotential(float(alpha)) if alpha > 0 else SquaredNorm()
    return RiemannianFlow(
        problem, metric, schedule, None if schedule is None else _decay_drift
    )


def ham_problem(n: int, d: int, k: int, seed: int) -> LinearRegression:
    """The seeded instance with the loss 1/(2n) ||Ax - y||^2 (no noise)."""
    return m2_problem(n, d, k, seed, mean=True)


@functools.cache
def P1() -> LinearRegression:
    return ham_problem(10, 30, 3, 0)


@functools.cache
def P2() -> LinearRegression:
    return ham_problem(20, 40, 3, 0)


@functools.cache
def x0_p1() -> jax.Array:
    """$x_0 = 0.3\\,N(0, I_{30})$ from `default_rng(7)`."""
    return jnp.asarray(0.3 * np.random.default_rng(7).standard_normal(30))


# ---------------------------------------------------------------------------
# discrete GD+HAM runs


@functools.partial(jax.jit, static_argnames=("alpha", "beta", "eta", "steps", "every"))
def _ham_iterates(prob, alpha, beta, eta, x0, steps: int, every: int):
    """GD+HAM (the optax `ham`) from x0: the iterate after every `every` steps."""
    opt = ham(alpha, beta, eta)
    grad = jax.grad(prob.loss)

    def step(carry, _):
        x, state = carry
        updates, state = opt.update(grad(x), state, x)
        return (optax.apply_updates(x, updates), state), None

    def block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=every)
        return carry, carry[0]

    _, xs = jax.lax.scan(block, (x0, opt.init(x0)), None, length=steps // every)
    return xs


def _max_exponent(prob, alpha, beta, eta, xs) -> float:
    """max over the recorded iterates of eta (alpha |grad f| + beta)."""
    g = jax.vmap(jax.grad(prob.loss))(xs)
    return float(eta * (alpha * jnp.max(jnp.abs(g)) + beta))


def _fit_slope(hs, errs) -> float:
    return float(np.polyfit(np.log(hs), np.log(errs), 1)[0])


@CLAIMS.claim(
    "ham.discrete_to_flow_order1",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Thm 4.2/B.3 and "
        "Thm B.6"
    ),
    statement="GD+HAM iterates track dx/dt = -(1 + alpha|x|) grad f - beta x with "
    "error O(eta) (first order).",
    reference="ham_flow (the Riemannian flow) integrated by scipy LSODA (rtol 1e-12)",
    tolerance_origin="first-order discretization (halving eta halves the error): "
    "successive error ratios in [1.8, 2.2]; fitted slope over 5 step sizes 1 +- 0.2",
)
def _discrete_to_flow():
    prob, x0, T = P1(), x0_p1(), 3.0
    etas = np.array([4e-3, 2e-3, 1e-3, 5e-4, 2.5e-4])
    checks = []
    for alpha, beta in ((5.0, 0.0), (5.0, 0.05), (50.0, 0.01)):
        flow = ham_flow(prob, alpha, beta)
        ts = np.linspace(0.5, T, 6)
        ref = integrate(
            flow,
            flow.initial_state(x0),
            0.0,
            T,
            ts=ts,
            solver=ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
        )
        errs, expo = [], 0.0
        for eta in etas:
            steps = round(T / eta)
            every = round(0.5 / eta)
            xs = _ham_iterates(prob, alpha, beta, float(eta), x0, steps, every)
            expo = max(expo, _max_exponent(prob, alpha, beta, eta, xs))
            errs.append(float(np.max(np.abs(np.asarray(xs) - np.asarray(ref.xs)))))
        ratios = np.array(errs[:-1]) / np.array(errs[1:])
        slope = _fit_slope(etas, errs)
        label = f"P1, alpha={alpha:g}, beta={beta:g}"
        checks.append(
            Check(
                f"{label}: fitted order over eta = 4e-3..2.5e-4 (|exponent| max "
                f"{expo:.2g} < 5: the authors' clamp would be inactive)",
                1.0,
                round(slope, 4),
                abs(slope - 1.0) if expo < 5 else math.inf,
                0.2,
            )
        )
        checks.append(
            Check(
                f"{label}: successive error ratios (errors {errs[0]:.2e} .. "
                f"{errs[-1]:.2e})",
                "2 (in [1.8, 2.2])",
                f"{ratios.min():.3f}..{ratios.max():.3f}",
                float(np.max(np.abs(ratios - 2.0))),
                0.2,
            )
        )
    return checks


# ---------------------------------------------------------------------------
# flow limits


def _flow_limit(prob, alpha, beta, x0, horizon, *, stop_loss=None):
    flow = ham_flow(prob, alpha, beta)
    return integrate(
        flow,
        flow.initial_state(x0),
        0.0,
        horizon,
        ts=jnp.asarray([horizon]),
        solver=ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
        stop_loss=stop_loss,
    )


@CLAIMS.claim(
    "ham.flow_limit",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Lemma 4.4 and the"
        " linear-regression characterization"
    ),
    statement="beta = 0: the HAM flow converges to argmin_{Ax=y} D_{R_alpha}(x, x0), "
    "R_alpha = sum ((1 + a|x|) log(1 + a|x|) - a|x|) / a^2.",
    reference="dual damped Newton Bregman projection with R*_alpha",
    tolerance_origin="1e-7: integrator rtol 1e-12 and dual solver precision ~1e-12, "
    "with a wide margin",
)
def _flow_limit_beta0():
    prob, x0 = P1(), x0_p1()
    checks = []
    for alpha in (0.1, 1.0, 10.0, 100.0):
        sol = _flow_limit(prob, alpha, 0.0, x0, 2000.0, stop_loss=1e-26)
        pred = ham_limit(prob, alpha, 0.0, x0=x0)
        res = float(jnp.linalg.norm(prob.A @ sol.x_final - prob.b))
        checks.append(
            limit_row(
                f"P1, alpha={alpha:g} (stopped at t={float(sol.t_final):.3g}, "
                f"|Ax-y|={res:.0e})",
                sol,
                pred.x,
            )
        )
    return checks


def _trust_exact_penalized(prob, alpha, beta):
    """argmin f + beta h_alpha by scipy trust-exact (independent of ham_limit)."""
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    n = A.shape[0]

    def F(x):
        u = alpha * np.abs(x)
        r = A @ x - y
        return 0.5 / n * r @ r + beta * np.sum(u - np.log1p(u)) / alpha**2

    def G(x):
        return A.T @ (A @ x - y) / n + beta * x / (1 + alpha * np.abs(x))

    def H(x):
        return A.T @ A / n + np.diag(beta / (1 + alpha * np.abs(x)) ** 2)

    out = scipy.optimize.minimize(
        F, np.zeros(A.shape[1]), jac=G, hess=H, method="trust-exact", tol=1e-14
    )
    return out.x, float(np.linalg.norm(G(out.x)))


@CLAIMS.claim(
    "ham.flow_limit_beta",
    citation=(
        "derivation: derivations/07_ham_hyperbolic_step.py (the penalty h_alpha behind "
        "the beta drift)"
    ),
    statement="beta > 0: the HAM flow converges to argmin_x f(x) + beta h_alpha(x), "
    "h_alpha = sum |x|/alpha - log(1 + alpha|x|)/alpha^2.",
    reference="scipy trust-exact on the convex primal; package Newton (ham_limit)",
    tolerance_origin="1e-6: the flow at the finite horizon T is not yet at the limit",
)
def _flow_limit_beta():
    prob, x0 = P1(), x0_p1()
    checks = []
    for alpha, beta, T in ((5.0, 0.01, 3000.0), (50.0, 0.03, 2e4)):
        ref, gnorm = _trust_exact_penalized(prob, alpha, beta)
        pred = ham_limit(prob, alpha, beta)
        sol = _flow_limit(prob, alpha, beta, x0, T)
        label = f"P1, alpha={alpha:g}, beta={beta:g}"
        checks.append(
            Check(
                f"{label}: flow at T={T:g} vs trust-exact (|grad F|={gnorm:.0e})",
                f"|x|_1={float(np.sum(np.abs(ref))):.6g}",
                f"|x|_1={float(jnp.sum(jnp.abs(sol.x_final))):.6g}",
                max_err(sol.x_final, ref),
                1e-6,
            )
        )
        checks.append(
            Check(
                f"{label}: package Newton vs trust-exact",
                "trust-exact",
                "ham_limit",
                max_err(pred.x, ref),
                1e-10,
            )
        )
    return checks


@CLAIMS.claim(
    "ham.discrete_limit_order1",
    citation=(
        "derivation: derivations/07_ham_hyperbolic_step.py (the step to order eta)"
    ),
    statement="The long-run GD+HAM limit differs from the flow limit by O(eta).",
    reference="ham.flow_limit prediction (Bregman projection of R_alpha)",
    tolerance_origin="first-order discretization (halving eta halves the error): "
    "successive ratios in [1.8, 2.2]",
)
def _discrete_limit():
    prob, x0, T, alpha = P1(), x0_p1(), 400.0, 5.0
    pred = np.asarray(ham_limit(prob, alpha, 0.0, x0=x0).x)
    etas = np.array([0.02, 0.01, 0.005])
    errs = []
    for eta in etas:
        steps = round(T / eta)
        xs = _ham_iterates(prob, alpha, 0.0, float(eta), x0, steps, steps)
        errs.append(float(np.max(np.abs(np.asarray(xs[-1]) - pred))))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    return [
        Check(
            f"P1, alpha=5, beta=0, {T:g} time units, eta = 0.02/0.01/0.005: errors "
            + ", ".join(f"{e:.2e}" for e in errs),
            "2 (in [1.8, 2.2])",
            f"{ratios.min():.3f}..{ratios.max():.3f}",
            float(np.max(np.abs(ratios - 2.0))),
            0.2,
        ),
        Check(
            "fitted order",
            1.0,
            round(_fit_slope(etas, errs), 4),
            abs(_fit_slope(etas, errs) - 1.0),
            0.2,
        ),
    ]


@CLAIMS.claim(
    "ham.small_alpha_gd",
    citation="Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Thm 4.6",
    statement="alpha -> 0 recovers the GD limit x0 + A^+(y - A x0), error O(alpha).",
    reference="closed form (numpy pinv)",
    tolerance_origin="error / alpha in [0.05, 0.2] (the O(alpha) constant)",
)
def _small_alpha():
    prob, x0 = P1(), x0_p1()
    A, y = np.asarray(prob.A), np.asarray(prob.b)
    gd = np.asarray(x0) + np.linalg.pinv(A) @ (y - A @ np.asarray(x0))
    checks = []
    for alpha in (1e-2, 1e-4):
        x = np.asarray(ham_limit(prob, alpha, 0.0, x0=x0).x)
        err = float(np.max(np.abs(x - gd)))
        ratio = err / alpha
        checks.append(
            Check(
                f"P1, alpha={alpha:g}: |x_alpha - x_GD|_inf = {err:.3g}",
                "error/alpha in [0.05, 0.2]",
                round(ratio, 4),
                max(0.05 - ratio, ratio - 0.2, 0.0),
                0.0,
            )
        )
    return checks


@CLAIMS.claim(
    "ham.mild_sparsity",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Remarks 4.7/4.8 "
        "and Fig. 5"
    ),
    statement="HAM (beta = 0, x0 = 0): the limit moves towards basis pursuit (= x*) as "
    "alpha grows, but stays far from it even at alpha = 1000.",
    reference="x* (basis pursuit recovers it exactly on P2)",
    tolerance_origin="monotone decrease; distance > 1e-2 at alpha = 1000 (mild: far "
    "from basis pursuit)",
)
def _mild_sparsity():
    prob = P2()
    x_star = np.asarray(prob.x_star)
    alphas = (1.0, 10.0, 100.0, 1000.0)
    dists = []
    for alpha in alphas:
        x = np.asarray(ham_limit(prob, alpha, 0.0, x0=jnp.zeros(prob.d)).x)
        dists.append(float(np.max(np.abs(x - x_star))))
    increase = max(0.0, *(b - a for a, b in zip(dists, dists[1:], strict=False)))
    return [
        Check(
            "P2, alpha = 1, 10, 100, 1000: |x_inf - x*|_inf decreasing",
            "monotone",
            ", ".join(f"{v:.3g}" for v in dists),
            increase,
            0.0,
        ),
        Check(
            "P2, alpha = 1000: still far from x* (mild bias)",
            "> 1e-2",
            f"{dists[-1]:.3g}",
            max(0.0, 1e-2 - dists[-1]),
            0.0,
        ),
    ]


@CLAIMS.claim(
    "ham.ngd_one_step",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, natural-gradient "
        "interpretation of the step"
    ),
    statement="One GD+HAM step equals one natural-gradient step "
    "x - eta (1 + alpha|x|)(grad f + beta grad h_alpha) up to O(eta^2).",
    reference="closed form: the eta^2 coefficient g c + c^2 x / 2, "
    "c = alpha sign(x) g + beta",
    tolerance_origin="diff/eta^2 constant within 5%; derived: diff/eta^2 - coef "
    "= -eta (g c^2/2 + c^3 x/6) + O(eta^2), bound twice that leading term",
)
def _ngd_one_step():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal(30))
    g = jnp.asarray(rng.standard_normal(30))
    alpha, beta = 5.0, 0.1
    c = alpha * jnp.sign(x) * g + beta
    coef = g * c + 0.5 * c**2 * x  # derived second-order term
    third = g * c**2 / 2 + c**3 * x / 6  # and the next one: diff/eta^2 - coef ~ -eta*
    consts, rel = [], []
    for eta in (1e-2, 1e-3, 1e-4):
        opt = ham(alpha, beta, eta)
        # the loss <g, x> has gradient g everywhere: one step of the optax transform
        upd, _ = opt.update(g, opt.init(x), x)
        step = optax.apply_updates(x, upd)
        ngd = x - eta * ((1 + alpha * jnp.abs(x)) * g + beta * x)
        diff = (step - ngd) / eta**2
        consts.append(float(jnp.linalg.norm(diff)))
        rel.append(float(jnp.linalg.norm(diff - coef) / jnp.linalg.norm(coef)))
    spread = max(consts) / min(consts) - 1.0
    # Leading remainder eta |third| / |coef|; a factor 2 covers the O(eta^2) rest.
    bound = 2 * 1e-4 * float(jnp.linalg.norm(third) / jnp.linalg.norm(coef))
    return [
        Check(
            "random x, g in R^30, alpha=5, beta=0.1, eta = 1e-2, 1e-3, 1e-4",
            "|diff|/eta^2 constant (5%)",
            ", ".join(f"{v:.4g}" for v in consts),
            spread,
            0.05,
        ),
        Check(
            "eta = 1e-4: diff/eta^2 vs g c + c^2 x / 2",
            f"|coef|={float(jnp.linalg.norm(coef)):.4g}",
            f"rel. dist {rel[-1]:.2e}",
            rel[-1],
            bound,
        ),
    ]


def time_to_eps(p, x0, target, eps):
    """T_eps = int_{x0}^{target - eps} dx / (p(x)(target - x)) (monotone path)."""
    val, _ = scipy.integrate.quad(
        lambda x: 1.0 / (p(x) * (target - x)),
        x0,
        target - eps,
        points=[0.0],
        epsabs=0.0,
        epsrel=1e-12,
        limit=500,
    )
    return val


@CLAIMS.claim(
    "ham.faster_than_mw",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Fig. 1 and Thm "
        "4.3"
    ),
    statement="Time to |x - 1| < 1e-3 from x0 = -0.5 on f = (x - 1)^2 / 2: "
    "HAM < GD < m*w with small gamma (gamma <= 1e-2; HAM's inverse metric "
    "1 + alpha|x| >= 1, m*w's sqrt(4x^2 + gamma^2) vanishes at 0).",
    reference="quad of T_eps = int dx / (p(x)(1 - x)) vs ODE event time (LSODA)",
    tolerance_origin="1e-6 relative (quad vs ODE at rtol 1e-12); the ordering exactly",
)
def _faster_than_mw():
    x0, eps = -0.5, 1e-3
    prob = LinearRegression(jnp.ones((1, 1)), jnp.ones(1))
    cases = [("GD", None, lambda x: 1.0, ham_flow(prob, 0.0))]
    for a in (1.0, 5.0, 200.0):
        cases.append(
            (f"HAM a={a:g}", a, lambda x, a=a: 1 + a * abs(x), ham_flow(prob, a))
        )
    for gam in (1.0, 0.1, 1e-2, 1e-4):
        # m*w: inverse metric sqrt(4x^2 + gamma^2) = Hypentropy(scale=gamma/2, 1/2)
        pot = Hypentropy(scale=gam / 2, coef=0.5)
        cases.append(
            (
                f"m*w g={gam:g}",
                gam,
                lambda x, g=gam: math.sqrt(4 * x * x + g * g),
                RiemannianFlow(prob, pot),
            )
        )
    checks, times = [], {}
    for name, _, p, flow in cases:
        quad = time_to_eps(p, x0, 1.0, eps)
        sol = integrate(
            flow,
            jnp.asarray([x0]),
            0.0,
            10 * quad,
            ts=jnp.asarray([10 * quad]),
            solver=ScipyReference("LSODA", rtol=1e-12, atol=1e-14),
            stop_loss=0.5 * eps**2,
        )
        t_ode = float(sol.t_final) if sol.result == "event" else math.inf
        times[name] = quad
        checks.append(
            Check(
                f"{name}: T_eps by quad vs ODE event",
                round(quad, 6),
                round(t_ode, 6),
                abs(t_ode - quad) / quad,
                1e-6,
            )
        )
    gd = times["GD"]
    ham_times = [v for k, v in times.items() if k.startswith("HAM")]
    # m*w is slower than GD only for small gamma: its inverse metric exceeds 1 for
    # |x| > sqrt(1 - gamma^2)/2, so gamma = 1 and 0.1 beat GD on this path.
    slow_mw = [times["m*w g=0.01"], times["m*w g=0.0001"]]
    checks.append(
        Check(
            "ordering: max HAM < GD < min m*w (gamma <= 1e-2; gamma = 1, 0.1: "
            f"{times['m*w g=1']:.4f}, {times['m*w g=0.1']:.4f})",
            "HAM < GD < m*w",
            f"{max(ham_times):.4f} < {gd:.4f} < {min(slow_mw):.4f}",
            0.0 if max(ham_times) < gd < min(slow_mw) else math.inf,
            0.0,
        )
    )
    return checks


@CLAIMS.claim(
    "ham.pl_rate",
    citation="Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, Thm 4.3",
    statement="The HAM flow (beta = 0) obeys GD's PL bound "
    "f(x_t) <= f(x_0) exp(-2 lambda_min(A A^T) t / n).",
    reference="closed-form bound",
    tolerance_origin="max_t f_t / bound <= 1 + 1e-9 (room for the integrator's error "
    "at rtol 1e-12)",
)
def _pl_rate():
    prob, x0 = P1(), x0_p1()
    n = prob.n
    lam = float(np.linalg.eigvalsh(np.asarray(prob.A @ prob.A.T))[0])
    ts = np.linspace(0.0, 20.0, 201)[1:]
    ref = ScipyReference("LSODA", rtol=1e-12, atol=1e-14)
    out = {}
    for name, alpha in (("HAM", 5.0), ("GD", 0.0)):
        flow = ham_flow(prob, alpha)
        sol = integrate(flow, flow.initial_state(x0), 0.0, 20.0, ts=ts, solver=ref)
        out[name] = np.asarray(jax.vmap(prob.loss)(sol.xs))
    f0 = float(prob.loss(x0))
    bound = f0 * np.exp(-2 * lam * ts / n)
    worst = float(np.max(out["HAM"] / bound))
    i5 = int(np.argmin(np.abs(ts - 5.0)))
    return [
        Check(
            f"P1, alpha=5, t in (0, 20]: f_HAM(5)={out['HAM'][i5]:.2e}, "
            f"f_GD(5)={out['GD'][i5]:.2e}",
            "<= 1",
            f"max f/bound = {worst:.6f}",
            max(0.0, worst - 1.0),
            1e-9,
        )
    ]


@CLAIMS.claim(
    "ham.zero_sign_preserving",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, the algorithm "
        "(HYP* step)"
    ),
    statement="The hyperbolic factor keeps exact zeros and never flips a sign: over a "
    "float32 jit run in which plain GD flips signs, and where exp() overflows.",
    reference="exact equality; plain GD from the same start as the contrast",
    tolerance_origin="exact (counts must be 0; the contrast needs >= 1 GD flip)",
)
def _zero_sign():
    # 1. A float32 run under jit: GD+HAM (alpha = 5) on P1 with 30 % of the weights
    #    pruned (zero weight, gradient masked), 400 steps, against plain GD from the
    #    same start. The hyperbolic factor acts on the half step theta - eta g: it may
    #    not flip a sign of it (plain GD does flip signs of theta on this run, so
    #    signs are really moving), and pruned weights must stay exactly 0.
    prob = P1()
    A = jnp.asarray(prob.A, jnp.float32)
    b = jnp.asarray(prob.b, jnp.float32)
    rng = np.random.default_rng(3)
    mask = jnp.asarray(rng.random(prob.d) < 0.7, jnp.float32)
    x0 = jnp.asarray(x0_p1(), jnp.float32) * mask
    eta, alpha, steps = 0.05, 5.0, 400
    opt = ham(alpha, 0.0, eta)

    def grad(x):
        return mask * (A.T @ (A @ x - b)) / A.shape[0]

    @jax.jit
    def step(x, state):
        g = grad(x)
        upd, state = opt.update(g, state, x)
        return optax.apply_updates(x, upd), state, x - eta * g

    @jax.jit
    def gd(x):
        return x - eta * grad(x)

    x, state, xg = x0, opt.init(x0), x0
    factor_flips = ham_flips = gd_flips = zeros_moved = 0
    for _ in range(steps):
        new, state, half = step(x, state)
        factor_flips += int(
            jnp.sum(jnp.sign(new) * jnp.sign(half) < 0)
            + jnp.sum((half != 0) & (new == 0))
        )
        ham_flips += int(jnp.sum(jnp.sign(new) * jnp.sign(x) < 0))
        zeros_moved += int(jnp.sum((mask == 0) & (new != 0)))
        x = new
        new_g = gd(xg)
        gd_flips += int(jnp.sum(jnp.sign(new_g) * jnp.sign(xg) < 0))
        xg = new_g
    traces = step._cache_size()
    # 2. Overflow: exponents of 1e4 make exp() infinite in float32; an exact zero
    #    must still map to 0 (0 * inf would be NaN), a nonzero keep its sign.
    theta = jnp.asarray([0.0, 1e-3, -1e-3, 0.0], jnp.float32)
    g = jnp.asarray([-1e4, -1e4, 1e4, 1e4], jnp.float32)
    out = np.asarray(hyperbolic_step(theta, g, 1.0, 1.0, 0.0))
    overflow_bad = int(out[0] != 0) + int(out[3] != 0) + int(not out[1] > 0)
    overflow_bad += int(not out[2] < 0)
    return [
        Check(
            f"float32 jit run, {steps} steps: sign flips of the factor vs the half "
            f"step (plain GD flipped {gd_flips} signs, GD+HAM {ham_flips} through "
            "its GD half step)",
            0,
            factor_flips,
            float(factor_flips),
            0.0,
        ),
        Check(
            "the run moves signs at all (plain GD sign flips >= 1)",
            ">= 1",
            gd_flips,
            1.0 / max(gd_flips, 1e-300),
            1.0,
        ),
        Check(
            f"pruned weights that left 0 (float32, jit, {int(jnp.sum(mask == 0))} "
            f"pruned; {traces} trace)",
            0,
            zeros_moved,
            float(zeros_moved + (traces != 1)),
            0.0,
        ),
        Check(
            "exp overflow (exponent 1e4, float32): zeros stay 0, signs kept, no NaN",
            "0 wrong",
            f"{overflow_bad} wrong ({out.tolist()})",
            float(overflow_bad),
            0.0,
        ),
    ]


def _state_bytes(state) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state))


@CLAIMS.claim(
    "ham.no_state_overhead",
    citation=(
        "Jacobs, Gadhikar, Rubio-Madrigal & Burkholz, HAM, ICLR 2026, abstract (minimal"
        " memory overhead)"
    ),
    statement="HAM adds no optimizer state; m*w doubles the trained parameters "
    "and the base optimizer's state.",
    reference="counting the leaves of opt.init(params)",
    tolerance_origin="exact",
)
def _no_state():
    params = {
        "w1": jnp.zeros((64, 256)),
        "b1": jnp.zeros(256),
        "w2": jnp.zeros((256, 10)),
        "b2": jnp.zeros(10),
    }
    p_bytes = _state_bytes(params)
    lr = 0.05
    rows = {
        "sgd": optax.sgd(lr),
        "sgd+ham": ham(1.0, 1e-3, lr),
        "momentum": optax.sgd(lr, momentum=0.9),
        "momentum+ham": ham(1.0, 1e-3, lr, optax.sgd(lr, momentum=0.9)),
        "adam": optax.adam(lr),
        "adam+ham": ham(1.0, 1e-3, lr, optax.adam(lr)),
        "m*w adam": hadamard_reparam(optax.adam(lr), beta=0.5),
    }
    b = {k: _state_bytes(opt.init(params)) for k, opt in rows.items()}
    extra = b["sgd+ham"] - b["sgd"]
    extra += b["momentum+ham"] - b["momentum"]
    extra += b["adam+ham"] - b["adam"]
    # m*w state: the factors (2 x params) + Adam's moments of both factors (4 x).
    mw_expected = 2 * p_bytes + 4 * p_bytes + (b["adam"] - 2 * p_bytes)
    return [
        Check(
            "digits MLP (64-256-10): extra state bytes of HAM over SGD, momentum, Adam",
            0,
            extra,
            float(abs(extra)),
            0.0,
        ),
        Check(
            f"m*w + Adam state bytes (params {p_bytes} B; Adam {b['adam']} B)",
            mw_expected,
            b["m*w adam"],
            float(abs(b["m*w adam"] - mw_expected)),
            0.0,
        ),
    ]
