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
# # 06 · Weight decay makes the potential time dependent
#
# **What it teaches.** Explicit regularization inside the mirror-flow picture. Train
# $x = m\odot w$ with weight decay. The imbalance $m^2 - w^2$ is no longer conserved:
# it decays exponentially in the accumulated dose of regularization. Yet the dual
# dynamics are *untouched*:
# $$\frac{d}{dt}\nabla R_{a_t}(x_t) = -\nabla f(x_t),$$
# weight decay acts only by shrinking the scale of the hyperbolic entropy — from an
# L2-like to an L1-like geometry. Two papers state this in two conventions;
# this derivation derives both with one helper
# (`mirrorflow.symbolic.weight_decay_potential`) and maps one onto the other.
#
# The two conventions, side by side (Mask in the Mirror, Jacobs & Burkholz, ICLR 2025,
# Thm 3.1; Mirror, Mirror of the Flow, Jacobs, Zhou & Burkholz, ICML 2025, Thm 3.1 and
# Eq. 8; docs/theory/conventions.md):
#
# - *Objective.* Mask: $f(m\odot w) + \lambda_t(\lVert m\rVert^2 + \lVert w\rVert^2)$.
#   Mirror2: $f(m\odot w) + \tfrac{\alpha_t}{2}(\lVert m\rVert^2 + \lVert w\rVert^2)$.
# - *Dose.* Mask: $\Lambda_t = \int_0^t\lambda \ge 0$. Mirror2:
#   $a_t = -\int_0^t\alpha \le 0$.
# - *Scale.* Mask: the imbalance $a_t = m_t^2 - w_t^2 = a_0e^{-4\Lambda_t}$.
#   Mirror2: $\gamma_a = e^{2a}\gamma_0$, $\gamma_0 = \lvert m_0^2 - w_0^2\rvert$.
# - *Potential.* Mask: $R_a = \tfrac12\big[x\operatorname{arcsinh}\frac{2x}{|a|}
#   - \sqrt{x^2 + a^2/4} + \frac{|a|}{2}\big]$. Mirror2:
#   $R_a = \tfrac12x\operatorname{arsinh}\frac{2x}{\gamma_a}
#   - \tfrac14\sqrt{4x^2 + \gamma_a^2} - \tfrac\varphi2x$.
# - *Dual start.* Mask: $z_0 = \operatorname{artanh}(w_0/m_0)$. Mirror2: $\mu_0 = 0$
#   (the tilt $\varphi/2$ is inside $R_a$).
#
# Beware: the letter $a$ means the *scale* in the first paper and the (negative)
# *dose* in the second. The dictionary: $\alpha_t = 2\lambda_t$ (same objective),
# hence $a^{\mathrm{M2}}_t = -2\Lambda_t$ and $\gamma_{a_t} = |a^{\mathrm{mask}}_t|$.
# In the package both are `Hypentropy(scale=|a_t|/2, coef=0.5)` at the current scale
# (the mirror2 form adds the tilt $-\varphi x/2$ and the constant $-\gamma/4$).
#
# **Assumptions.**
# - Unbalanced initialization $m_0^2 \ne w_0^2$; we take $m_0 > |w_0|$, i.e.
#   $m_0 = u_0 + v_0$, $w_0 = u_0 - v_0$ with $u_0, v_0 > 0$ (so $a_0 > 0$; only
#   $|a|$ enters, swap $m$ and $w$ otherwise). The balanced case makes $\varphi$
#   infinite and is excluded.
# - $\lambda_t \ge 0$ locally integrable, so $\Lambda_t < \infty$ and $a_t > 0$ at
#   every finite time.
# - Per coordinate; the potential of a vector is the sum.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


x = sp.Symbol("x", real=True)
a, a0 = sp.symbols("a a_0", positive=True)  # mask: |a_t| and |a_0|
dose = sp.Symbol("Lambda", nonnegative=True)  # mask: Lambda_t
gamma, gamma0 = sp.symbols("gamma gamma_0", positive=True)  # mirror2: gamma_a
dose_m2 = sp.Symbol("A", nonnegative=True)  # mirror2: -a_t = int alpha
phi = sp.Symbol("varphi", real=True)
lam, fprime = sp.symbols("lambda f'", real=True)
mu = sp.Symbol("mu", real=True)
u0, v0 = sp.symbols("u_0 v_0", positive=True)
m0, w0 = u0 + v0, u0 - v0  # every (m0, w0) with m0 > |w0|

# %% [markdown]
# ## 1. Mask in the Mirror: the helper's derivation
#
# $\dot m = -wf' - 2\lambda_tm$, $\dot w = -mf' - 2\lambda_tw$. The helper
# 1. finds the undecayed potential $r_a$ with $a = m^2 - w^2$ (derivation 02);
# 2. computes $\frac{d}{dt}(m^2 - w^2) = -\lambda_t\,\nabla C\cdot\nabla h
#    = -4\lambda_t(m^2 - w^2)$, a function of $C$ alone, so
#    $a_t = a_0e^{-4\Lambda_t}$;
# 3. finds the extra drift $\dot x = -\sqrt{4x^2 + a^2}f' - \lambda_t\cdot 4x$;
# 4. checks $r_a''\cdot 4x + 4a\,\partial_a r_a' = 0$, which is the theorem.


# %%
@functools.cache
def mask_convention() -> ms.TimeDependentPotential:
    r"""Weight decay $\lambda_t(m^2 + w^2)$ on $mw$, scale $a$, dose $\Lambda$."""
    return ms.weight_decay_potential(ms.hadamard(), _penalty(1), constant=a, dose=dose)


def _penalty(weight) -> sp.Expr:
    m, w = ms.hadamard().params
    return weight * (m**2 + w**2)


def mask_potential_as_written() -> sp.Expr:
    """$R_a$ in the Mask-in-the-Mirror convention, written out (with $|a| = a$)."""
    return (x * sp.asinh(2 * x / a) - sp.sqrt(x**2 + a**2 / 4) + a / 2) / 2


# %%
if __name__ == "__main__":
    td = mask_convention()
    ms.show(r"\psi(a)\ (\dot a = -\lambda\psi)", td.rate)
    ms.show(r"\delta(x; a)\ (\dot x = -Mf' - \lambda\delta)", td.drift)
    ms.show(r"a(\Lambda)", td.schedule)
    ms.show(r"\nabla R_{a(\Lambda)}(x)", td.mirror_map)
    ms.show(r"R_a(x)", td.induced.potential)

# %% [markdown]
# ## 2. The theorem, written out
#
# $$\frac{d}{dt}\nabla R_{a_t}(x_t) = \nabla^2R_a\,\dot x + \partial_a\nabla R_a\,\dot a
# = \frac{-\sqrt{4x^2 + a^2}f' - 4\lambda x}{\sqrt{4x^2 + a^2}}
# + \frac{-x}{a\sqrt{4x^2 + a^2}}(-4\lambda a) = -f'.$$


# %%
def dual_velocity() -> sp.Expr:
    r"""$\frac{d}{dt}\nabla R_{a_t}(x_t)$ along gradient flow with weight decay."""
    td = mask_convention()
    mirror = td.induced.mirror_map
    xdot = -td.induced.inverse_metric * fprime - lam * td.drift
    adot = -lam * td.rate
    return sp.simplify(sp.diff(mirror, x) * xdot + sp.diff(mirror, a) * adot)


# %%
if __name__ == "__main__":
    ms.show(r"\frac{d}{dt}\nabla R_{a_t}(x_t)", dual_velocity())

# %% [markdown]
# ## 3. Mirror, Mirror: the same helper in the other convention
#
# The penalty is $\tfrac{\alpha_t}{2}(m^2 + w^2)$ and the dose $A_t = \int_0^t\alpha
# = -a_t \ge 0$. The helper gives $\gamma(A) = \gamma_0e^{-2A} = \gamma_0e^{2a}$ and
# the drift $2x$: $\dot x = -\sqrt{4x^2 + \gamma^2}f' - 2\alpha_tx$, as in
# Mirror, Mirror. With $\alpha = 2\lambda$ both flows are the same.


# %%
@functools.cache
def mirror2_convention() -> ms.TimeDependentPotential:
    r"""Weight decay $\tfrac{\alpha_t}{2}(m^2 + w^2)$, scale $\gamma$, dose $A$."""
    return ms.weight_decay_potential(
        ms.hadamard(), _penalty(sp.Rational(1, 2)), constant=gamma, dose=dose_m2
    )


def mirror2_potential_as_written() -> sp.Expr:
    r"""$R_a$ in the Mirror, Mirror convention, at scale $\gamma$ and tilt $\varphi$."""
    return (
        x * sp.asinh(2 * x / gamma) / 2 - sp.sqrt(4 * x**2 + gamma**2) / 4 - phi * x / 2
    )


def mirror2_conjugate_as_written() -> sp.Expr:
    r"""$Q_a(\mu) = \tfrac{\gamma_a}{4}\cosh(2\mu + \varphi)$."""
    return gamma / 4 * sp.cosh(2 * mu + phi)


@functools.cache
def mirror2_conjugate_derived() -> sp.Expr:
    """The convex conjugate of the mirror2 potential, derived."""
    return ms.convex_conjugate(mirror2_potential_as_written(), x, mu)


def varphi_of_init() -> sp.Expr:
    r"""$\varphi = \operatorname{artanh}(2m_0w_0/(m_0^2 + w_0^2))$."""
    return sp.atanh(2 * m0 * w0 / (m0**2 + w0**2))


# %%
if __name__ == "__main__":
    td2 = mirror2_convention()
    ms.show(r"\gamma(A)", td2.schedule)
    ms.show(r"\delta(x;\gamma)", td2.drift)
    ms.show(r"Q_a(\mu)\ \text{(derived)}", mirror2_conjugate_derived())

# %% [markdown]
# ## 4. Where each convention starts, and the centre of the potential
#
# Mask: $z_0 = \nabla R_{a_0}(x_0) = \operatorname{artanh}(w_0/m_0)$. Mirror2 puts
# $z_0$ into the potential as the tilt $-\varphi x/2$ with $\varphi = 2z_0$, so its
# dual variable starts at $\mu_0 = 0$. The minimizer of the tilted potential (the
# point the implicit bias pulls towards) is $\tilde x = \frac{a_t}{2}\sinh 2z_0
# = e^{-4\Lambda_t}x_0 = e^{2a_t^{\mathrm{M2}}}x_0$: the positional bias.


# %%
def centre() -> sp.Expr:
    r"""$\tfrac{a}{2}\sinh(2z_0)$ at $a = a_0e^{-4\Lambda}$, $a_0 = m_0^2 - w_0^2$."""
    z0 = sp.atanh(w0 / m0)
    return mask_convention().schedule.subs(a0, m0**2 - w0**2) / 2 * sp.sinh(2 * z0)


# %%
if __name__ == "__main__":
    ms.show(r"\tilde x", ms.log_form(centre()))

# %% [markdown]
# ## 5. PILoT's initialization and the penalty on the conserved set
#
# PILoT picks $m_0 = \sqrt{(\beta + \sqrt{\beta^2 + 4x^2})/2}$, $w_0 = x/m_0$, so that
# $m_0w_0 = x_{\mathrm{init}}$ and $a_0 = \beta$ for every coordinate (Mask in the
# Mirror, Algorithm 1). On the conserved set the penalty is a function of $x$:
# $m^2 + w^2 = \sqrt{4x^2 + a^2}$ (the speed $M$ itself), ridge-like for
# $|x| \ll a/2$ and lasso-like ($2|x|$) for $|x| \gg a/2$.


# %%
def pilot_init(beta: sp.Expr, x_init: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""PILoT's $(m_0, w_0)$ for scale $\beta$ and weight $x_{\mathrm{init}}$."""
    m_init = sp.sqrt((beta + sp.sqrt(beta**2 + 4 * x_init**2)) / 2)
    return m_init, x_init / m_init


# %% [markdown]
# ## 6. Beyond $m\odot w$: the range effect of Mirror, Mirror (Eq. 9)
#
# For $x = u^{2k} - v^{2k}$ with decay $\alpha_t(u^{2k} + v^{2k})$ the conserved
# quantity moves additively, and mirror2 writes
# $u^{2-2k} = K(c_u - \mu - a)$, $K = 4k(k-1)$, $c_u = u_0^{2-2k}/K$, with
# $Q_a(\mu) = \frac{(c_u - \mu - a)^{1-p} + (c_v + \mu - a)^{1-p}}{(p-1)K^p}$,
# $p = \frac{k}{k-1}$. We check it for $k = 2$: $u$ solves the decayed flow
# ($\partial_\mu u = \partial_a u = 2ku^{2k-1}$, since $\dot\mu = -f'$,
# $\dot a = -\alpha$), $\partial_\mu Q_a = x$, and at $a = 0$ it is derivation 04's
# conjugate with $D = 2k$.


# %%
def range_effect(k: int = 2) -> dict[str, sp.Expr]:
    r"""Mirror2's $u(\mu, a)$, $x(\mu, a)$, $Q_a(\mu)$ for $x = u^{2k} - v^{2k}$."""
    a_m2 = sp.Symbol("a", nonpositive=True)
    K, p = 4 * k * (k - 1), sp.Rational(k, k - 1)
    c_u, c_v = u0 ** (2 - 2 * k) / K, v0 ** (2 - 2 * k) / K
    u = (K * (c_u - mu - a_m2)) ** sp.Rational(1, 2 - 2 * k)
    v = (K * (c_v + mu - a_m2)) ** sp.Rational(1, 2 - 2 * k)
    q = ((c_u - mu - a_m2) ** (1 - p) + (c_v + mu - a_m2) ** (1 - p)) / ((p - 1) * K**p)
    return {"a": a_m2, "u": u, "v": v, "x": u ** (2 * k) - v ** (2 * k), "Q": q}


# %% [markdown]
# ## 7. A picture: the geometry moves from L2 to L1
#
# $R_{a_t}(x)/R_{a_t}(1)$ for increasing dose $\Lambda$ ($a_0 = 1$): each unit of
# dose divides the scale by $e^4$.


# %%
def plot_schedule(doses=(0.0, 0.5, 1.0, 2.0, 4.0)):
    """Figure of the normalized time-dependent potential for several doses."""
    import matplotlib.pyplot as plt
    import numpy as np

    r = sp.lambdify((x, a0, dose), mask_convention().potential, "numpy")
    grid = np.linspace(-1.5, 1.5, 301)
    fig, ax = plt.subplots(figsize=(6, 4))
    for d in doses:
        ax.plot(grid, r(grid, 1.0, d) / r(1.0, 1.0, d), label=rf"$\Lambda={d:g}$")
    ax.plot(grid, np.abs(grid), "k--", label=r"$|x|$")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$R_{a_t}(x) / R_{a_t}(1)$")
    ax.set_title(r"Weight decay shrinks the scale $a_t = a_0 e^{-4\Lambda_t}$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# %%
if __name__ == "__main__":
    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")  # a script never opens a window
    figure = plot_schedule()
    if "--save" in sys.argv:  # python derivations/06_... .py --save out.png
        figure.savefig(sys.argv[sys.argv.index("--save") + 1], dpi=150)

# %% [markdown]
# ## 8. Identities


# %%
def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    td, td2 = mask_convention(), mirror2_convention()
    xm = td.x
    beta, x_init = sp.Symbol("beta", positive=True), sp.Symbol("x_init", real=True)
    pm, pw = pilot_init(beta, x_init)
    sinh_phi = 2 * m0 * w0 / (m0**2 - w0**2)  # = 2 x0 / gamma0
    rng = range_effect(2)
    return {
        "mask: rate 4a": td.rate - 4 * a,
        "mask: drift 4x": td.drift - 4 * xm,
        "mask: a_t = a0 exp(-4 Lambda)": td.schedule - a0 * sp.exp(-4 * dose),
        "mask: R_a written out": td.induced.potential
        - mask_potential_as_written().subs(x, xm),
        "mask: R_a = Hypentropy(a/2, 1/2)": td.induced.potential
        - ms.hypentropy(xm, scale=a / 2, coef=sp.Rational(1, 2)),
        "theorem: d/dt grad R_a(x) = -f'": dual_velocity() + fprime,
        "mirror2: gamma = gamma0 exp(-2A)": td2.schedule
        - gamma0 * sp.exp(-2 * dose_m2),
        "mirror2: drift 2x": td2.drift - 2 * td2.x,
        "dictionary: alpha = 2 lambda, A = 2 Lambda": td2.schedule.subs(
            {dose_m2: 2 * dose, gamma0: a0}
        )
        - td.schedule,
        "dictionary: same x-drift": 2 * lam * td2.drift - lam * td.drift,
        "mirror2 R_a = mask R_gamma - gamma/4 - phi x/2": mirror2_potential_as_written()
        - (
            mask_potential_as_written().subs(a, gamma).subs(x, x)
            - gamma / 4
            - phi * x / 2
        ),
        "mirror2 Q_a is the conjugate of R_a": mirror2_conjugate_derived()
        - mirror2_conjugate_as_written(),
        "varphi = 2 artanh(w0/m0) = 2 z0": ms.log_form(
            varphi_of_init() - 2 * sp.atanh(w0 / m0)
        ),
        "sinh(varphi) = 2 x0 / gamma0": ms.log_form(
            sp.sinh(varphi_of_init()).rewrite(sp.exp) - sinh_phi
        ),
        "mirror2: grad R_{a=0}(x0) = 0": ms.log_form(
            sp.diff(mirror2_potential_as_written(), x).subs(
                {gamma: m0**2 - w0**2, phi: varphi_of_init(), x: m0 * w0}
            )
        ),
        "positional bias: centre = exp(-4 Lambda) x0": ms.log_form(
            centre() - sp.exp(-4 * dose) * m0 * w0
        ),
        "PILoT: m0 w0 = x_init": pm * pw - x_init,
        "PILoT: m0^2 - w0^2 = beta": pm**2 - pw**2 - beta,
        "penalty on the conserved set is M": ms.hadamard().inverse_metric_params.subs(
            dict(zip(ms.hadamard().params, pilot_init(a, xm), strict=True))
        )
        - td.induced.inverse_metric,
        "range effect: du/dmu = 4 u^3": sp.diff(rng["u"], mu) - 4 * rng["u"] ** 3,
        "range effect: du/da = 4 u^3": sp.diff(rng["u"], rng["a"]) - 4 * rng["u"] ** 3,
        "range effect: dQ/dmu = x": sp.diff(rng["Q"], mu) - rng["x"],
        "range effect: Q at a=0 is the depth-4 conjugate": rng["Q"].subs(rng["a"], 0)
        - ms.deep_diagonal_conjugate(mu, 4, u0, v0),
    }


# %% [markdown]
# The helper also refuses penalties that are not built from the monomials of the
# map (here $h = m^2$), because then $m^2 - w^2$ changes at a rate that depends on
# $x$ and no potential of this form exists (Mirror, Mirror, Cor. 3.1).


# %%
def inadmissible_penalty_error() -> str:
    """The message of `weight_decay_potential` for the penalty $m^2$."""
    m, _ = ms.hadamard().params
    try:
        ms.weight_decay_potential(ms.hadamard(), m**2)
    except ValueError as error:
        return str(error)
    raise AssertionError("an inadmissible penalty was accepted")


# %%
if __name__ == "__main__":
    print(inadmissible_penalty_error())
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
