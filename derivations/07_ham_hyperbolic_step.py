# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · HAM: from a hyperbolic step to a Riemannian flow
#
# **What it teaches.** How a discrete optimizer defines a geometry. HAM (Jacobs,
# Gadhikar, Rubio-Madrigal, Burkholz, ICLR 2026) follows a gradient step by an
# elementwise multiplicative step,
# $$\theta_{k+1} = (\theta_k - \eta g)\odot
# \exp\!\big(-\eta(\alpha\,\mathrm{sign}(\theta_k - \eta g)\odot g + \beta)\big),
# \qquad g = \nabla f(\theta_k).$$
# We expand it in $\eta$ (the flow of item 1 is HAM's Thm 4.2, and Thm B.6 for this
# sign of the half step):
#
# 1. to first order it is the flow $\dot x = -(1+\alpha|x|)\nabla f - \beta x$, a
#    Riemannian gradient flow with inverse metric $1 + \alpha|x|$;
# 2. that metric is the Hessian metric of a Legendre function $R_\alpha$, which we
#    integrate from the metric, together with its conjugate $R_\alpha^*$ — so with
#    $\beta = 0$ the flow is a mirror flow and its implicit bias is a Bregman
#    projection of $R_\alpha$;
# 3. the $\beta$ drift is the Riemannian gradient of an explicit penalty
#    $\beta h_\alpha$ (not a time-dependent potential);
# 4. to second order one HAM step and one natural-gradient step differ by
#    $\eta^2(gc + \tfrac12c^2x)$, $c = \alpha\,\mathrm{sign}(x)g + \beta$;
# 5. on $f = \tfrac12(x-1)^2$ the time to reach $|x - 1| = \varepsilon$ from
#    $x_0 < 0$ has a closed form, shorter than gradient flow's $\log\frac{1-x_0}
#    {\varepsilon}$ (the "speed" claim; HAM, Thm 4.3).
#
# **Assumptions.**
# - $\alpha > 0$, $\beta \ge 0$, $\eta > 0$ small; away from sign changes
#   ($\mathrm{sign}(\theta_k - \eta g) = \mathrm{sign}(\theta_k)$, true for
#   $\eta|g| < |\theta_k|$). Every function of $|x|$ is even, so we derive on
#   $x > 0$ and extend by symmetry.
# - The time-to-accuracy formula assumes a monotone path $x_0 < 0 < 1 - \varepsilon$
#   (true for a scalar quadratic: $\dot x$ has the sign of $1 - x$). Its closed
#   form divides by $1 - \alpha$: for $\alpha = 1$ take the limit.
#
# Cells guarded by `if __name__ == "__main__"` run in the notebook and when the file
# runs as a script; importing the file only defines the functions.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


alpha, eta, eps = sp.symbols("alpha eta epsilon", positive=True)
beta = sp.Symbol("beta", nonnegative=True)
x = sp.Symbol("x", positive=True)  # the weight, x > 0 (even extension)
z = sp.Symbol("z", positive=True)  # its dual coordinate
g = sp.Symbol("g", real=True)  # the gradient
s = sp.Symbol("x_0", negative=True)  # a negative start

# %% [markdown]
# ## 1. The step, order by order
#
# With $x > 0$ and small $\eta$ the sign is $+1$, and the step is
# $x_{k+1}(\eta) = (x - \eta g)\,e^{-\eta c}$ with $c = \alpha g + \beta$. Its
# Taylor series in $\eta$ gives the flow (first order) and the deviation from a
# natural-gradient step (second and third order).


# %%
@functools.cache
def step_series() -> dict[str, sp.Expr]:
    """Coefficients of eta^1, eta^2, eta^3 of one GD+HAM step at x > 0."""
    c = alpha * g + beta
    step = (x - eta * g) * sp.exp(-eta * c)
    series = sp.expand(sp.series(step, eta, 0, 4).removeO())
    return {
        "first": sp.factor(series.coeff(eta, 1)),
        "second": sp.factor(series.coeff(eta, 2)),
        "third": sp.factor(series.coeff(eta, 3)),
        "c": c,
    }


# %%
if __name__ == "__main__":
    ser = step_series()
    ms.show(r"\frac{d x_{k+1}}{d\eta}\Big|_{0}", ser["first"])
    ms.show(r"[\eta^2]\,x_{k+1}", ser["second"])
    ms.show(r"[\eta^3]\,x_{k+1}", ser["third"])

# %% [markdown]
# The first-order coefficient is $-(1+\alpha x)g - \beta x$: the flow. A
# natural-gradient step $x - \eta[(1+\alpha x)g + \beta x]$ has no higher terms, so
# the one-step difference is $\eta^2(gc + \tfrac12c^2x) - \eta^3(\tfrac12gc^2 +
# \tfrac16c^3x) + O(\eta^4)$: the `ham.ngd_one_step` claim checks both coefficients
# against the optax transformation.
#
# ## 2. The potential of the metric
#
# $\dot x = -M(x)f'(x)$ with $M = 1 + \alpha x$ is the mirror flow of the $r$ with
# $r'' = 1/M$ (derivation 01). Integrating twice with $r(0) = r'(0) = 0$:


# %%
@functools.cache
def potential() -> dict[str, sp.Expr]:
    r"""$R_\alpha$, its mirror map, conjugate and inverse mirror map ($x, z > 0$)."""
    metric = 1 / (1 + alpha * x)
    r, mirror = ms.legendre_from_metric(metric, x)
    return {
        "metric": metric,
        "potential": r,
        "mirror_map": mirror,
        "inverse_mirror_map": ms.inverse_mirror_map(r, x, z),
        "conjugate": ms.convex_conjugate(r, x, z),
    }


def potential_as_written() -> sp.Expr:
    r"""$R_\alpha$ written out: $((1+u)\log(1+u) - u)/\alpha^2$, $u = \alpha|x|$."""
    u = alpha * x
    return ((1 + u) * sp.log(1 + u) - u) / alpha**2


def conjugate_as_written() -> sp.Expr:
    r"""Written out: $R_\alpha^*(z) = (e^{\alpha|z|} - 1 - \alpha|z|)/\alpha^2$."""
    return (sp.exp(alpha * z) - 1 - alpha * z) / alpha**2


# %%
if __name__ == "__main__":
    pot = potential()
    ms.show(r"R_\alpha(x)", pot["potential"])
    ms.show(r"\nabla R_\alpha(x)", pot["mirror_map"])
    ms.show(r"\nabla R_\alpha^*(z)", pot["inverse_mirror_map"])
    ms.show(r"R_\alpha^*(z)", sp.simplify(pot["conjugate"]))

# %% [markdown]
# Two regimes. As $\alpha \to 0$, $R_\alpha \to x^2/2$ (gradient descent's
# potential: small $\alpha$ recovers GD's min-norm bias, with an $O(\alpha)$ error).
# For $\alpha x \gg 1$, $R_\alpha \approx \frac{x}{\alpha}\log(\alpha x)$: a
# log-weighted L1, the shape of the hyperbolic entropy with a scale $\sim 2/\alpha$
# — but reached only for $|x| \gg 1/\alpha$, which is why HAM's sparsity bias is
# *mild* (`ham.mild_sparsity`).


# %%
@functools.cache
def limits() -> dict[str, sp.Expr]:
    r"""$\lim_{\alpha\to0}R_\alpha$ and the leading large-$x$ behaviour."""
    r = potential_as_written()
    return {
        "alpha_to_zero": sp.limit(r, alpha, 0),
        "large_x_ratio": sp.limit(r / (x / alpha * sp.log(alpha * x)), x, sp.oo),
    }


# %%
if __name__ == "__main__":
    lim = limits()
    ms.show(r"\lim_{\alpha\to0}R_\alpha(x)", lim["alpha_to_zero"])
    ms.show(
        r"\lim_{x\to\infty}\frac{R_\alpha(x)}{(x/\alpha)\log(\alpha x)}",
        lim["large_x_ratio"],
    )

# %% [markdown]
# ## 3. The $\beta$ drift is an explicit penalty
#
# In the metric $g = 1/(1+\alpha x)$ the Riemannian gradient of $\beta h$ is
# $(1+\alpha x)\beta h'(x)$. Setting it equal to the drift $\beta x$ gives
# $h' = x/(1+\alpha x)$, so
# $h_\alpha(x) = \frac{x}{\alpha} - \frac{\log(1+\alpha x)}{\alpha^2}$, convex with
# $h'' = (1+\alpha x)^{-2}$: $\approx x^2/2$ near 0, $\approx x/\alpha$ far away.
# With $\beta > 0$ the flow is the Riemannian gradient flow of $f + \beta h_\alpha$,
# so its stationary point is $\arg\min f + \beta h_\alpha$ (`ham.flow_limit_beta`).
# It is *not* a time-dependent mirror flow of this metric: that would need
# $(1+\alpha x)\,\partial_t\nabla R_t(x) = \beta x$ with $\nabla R_t$ depending on
# $x$ only through a fixed $R_t$ — and the flow leaves $\nabla R_\alpha(x_t) -
# \nabla R_\alpha(x_0)$ outside $\mathrm{range}(A^\top)$.


# %%
@functools.cache
def penalty() -> dict[str, sp.Expr]:
    r"""$h_\alpha$ from $h' = x/(1+\alpha x)$, $h(0) = 0$."""
    hp = x / (1 + alpha * x)
    h = sp.integrate(hp, (x, 0, x))
    return {"h": sp.simplify(h), "h_prime": hp, "h_second": sp.diff(hp, x)}


# %%
if __name__ == "__main__":
    ms.show(r"h_\alpha(x)", penalty()["h"])
    ms.show(r"h_\alpha''(x)", sp.factor(penalty()["h_second"]))

# %% [markdown]
# ## 4. Time to accuracy on a scalar quadratic
#
# On $f = \tfrac12(x-1)^2$ the flow $\dot x = -p(x)(x - 1)$ with inverse metric $p$
# reaches $1 - \varepsilon$ from $x_0 < 0$ at
# $T_\varepsilon = \int_{x_0}^{1-\varepsilon}\frac{dx}{p(x)(1-x)}$. For gradient
# flow ($p = 1$) this is $\log\frac{1 - x_0}{\varepsilon}$. For HAM
# ($p = 1 + \alpha|x|$) split at 0 and use partial fractions (checked below by
# differentiating in both end points):


# %%
@functools.cache
def time_to_accuracy() -> dict[str, sp.Expr]:
    """T_eps for GD and for HAM (x0 < 0 < 1 - eps), by sympy integration."""
    # u = 1 - t keeps the logarithm's argument positive.
    u = sp.Symbol("u", positive=True)
    gd = sp.integrate(1 / u, (u, eps, 1 - s))
    return {"gd": sp.expand_log(gd, force=True), "ham": ham_time_as_derived()}


def ham_time_as_derived() -> sp.Expr:
    r"""The partial-fraction form, written out by hand.

    $\frac{1}{(1 - \alpha t)(1 - t)} = \frac{1}{1-\alpha}\big(\frac{1}{1-t} -
    \frac{\alpha}{1 - \alpha t}\big)$ on $t < 0$ and $\frac{1}{(1+\alpha t)(1-t)} =
    \frac{1}{1+\alpha}\big(\frac{1}{1-t} + \frac{\alpha}{1+\alpha t}\big)$ on $t > 0$.
    """
    neg = (sp.log(1 - s) - sp.log(1 - alpha * s)) / (1 - alpha)
    pos = (sp.log(1 / eps) + sp.log(1 + alpha * (1 - eps))) / (1 + alpha)
    return neg + pos


# %%
if __name__ == "__main__":
    times = time_to_accuracy()
    ms.show(r"T_\varepsilon^{\mathrm{GD}}", times["gd"])
    ms.show(r"T_\varepsilon^{\mathrm{HAM}}", ham_time_as_derived())


# %%
def identities() -> dict[str, sp.Expr]:
    """Every claimed identity of this derivation, as an expression equal to 0."""
    ser, pot, pen = step_series(), potential(), penalty()
    c = ser["c"]
    u = alpha * x
    return {
        "first order = HAM flow": ser["first"] - (-(1 + alpha * x) * g - beta * x),
        "second order = g c + c^2 x / 2": ser["second"] - (g * c + c**2 * x / 2),
        "third order = -(g c^2/2 + c^3 x/6)": ser["third"]
        + (g * c**2 / 2 + c**3 * x / 6),
        "R_alpha from the metric = as written": pot["potential"]
        - potential_as_written(),
        "mirror map = log(1 + alpha x)/alpha": pot["mirror_map"]
        - sp.log(1 + u) / alpha,
        "inverse mirror map = expm1(alpha z)/alpha": pot["inverse_mirror_map"]
        - (sp.exp(alpha * z) - 1) / alpha,
        "conjugate = as written": pot["conjugate"] - conjugate_as_written(),
        "Fenchel: R(x) + R*(R'(x)) = x R'(x)": potential_as_written()
        + conjugate_as_written().subs(z, pot["mirror_map"])
        - x * pot["mirror_map"],
        "drift: (1 + alpha x) h' = x": (1 + u) * pen["h_prime"] - x,
        "h = x/alpha - log(1 + alpha x)/alpha^2": pen["h"]
        - (x / alpha - sp.log(1 + u) / alpha**2),
        "h'' = (1 + alpha x)^-2": pen["h_second"] - 1 / (1 + u) ** 2,
        "alpha -> 0: R -> x^2/2": limits()["alpha_to_zero"] - x**2 / 2,
        "large x: R ~ (x/alpha) log(alpha x)": limits()["large_x_ratio"] - 1,
        "T_eps(GD) = log((1 - x0)/eps)": time_to_accuracy()["gd"]
        - sp.expand_log(sp.log((1 - s) / eps), force=True),
        # The hand-written T is the integral: it vanishes for x0 = 0, eps = 1 (empty
        # path) and its derivatives in both end points are the integrand's.
        "T_eps(HAM) at x0 = 0, eps = 1": ham_time_as_derived().subs({s: 0, eps: 1}),
        "dT/d eps = -1/(p(1 - eps) eps)": sp.diff(ham_time_as_derived(), eps)
        + 1 / ((1 + alpha * (1 - eps)) * eps),
        "dT/d x0 = -1/(p(x0)(1 - x0))": sp.diff(ham_time_as_derived(), s)
        + 1 / ((1 - alpha * s) * (1 - s)),
    }


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
