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
# # 02 · The mask-weight product $x = m\odot w$
#
# **What it teaches.** How a reparameterization creates a geometry. Gradient flow on
# $F(m, w) = f(m\odot w)$ conserves the imbalance $\beta = m^2 - w^2$; through it the
# speed $m^2 + w^2$ becomes a function of $x$ alone, $\sqrt{4x^2 + \beta^2}$, and the
# flow is the mirror flow of a hyperbolic entropy with scale $\beta/2$ and
# coefficient $\tfrac12$ (Mask in the Mirror, Jacobs & Burkholz 2025, Thm 2.1). Along
# the way: where the dual flow starts ($r'(x_0) = \operatorname{artanh}(w_0/m_0)$), the
# dual route ($m(z) = m_0\cosh z + w_0\sinh z$), the balanced case (negative entropy)
# and the change of variables to $u\odot u - v\odot v$ at half the speed.
#
# **Assumptions.**
# - Unbalanced initialization, $\beta = m_0^2 - w_0^2 > 0$, i.e. $|m_0| > |w_0|$.
#   Only $|\beta|$ enters the potential: for $\beta < 0$ swap the roles of $m$ and
#   $w$. Then $m$ never crosses zero and $x$ can change sign.
# - For the starting point we write $m_0 = u_0 + v_0$, $w_0 = u_0 - v_0$ with
#   $u_0, v_0 > 0$, which is exactly $m_0 > |w_0|$.
# - Balanced case $\beta = 0$: $x_0 \ne 0$; $x$ keeps the sign of $x_0$ (take
#   $x > 0$), and $x = 0$ is absorbing.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


beta = sp.Symbol("beta", positive=True)
z = sp.Symbol("z", real=True)
u0, v0 = sp.symbols("u_0 v_0", positive=True)
m0_of_uv, w0_of_uv = u0 + v0, u0 - v0  # every (m0, w0) with m0 > |w0|

# %% [markdown]
# ## 1. Parameter flow and the conserved imbalance
#
# $\dot m = -w\,f'(x)$, $\dot w = -m\,f'(x)$, so
# $\frac{d}{dt}(m^2 - w^2) = -2mwf' + 2wmf' = 0$ and
# $\dot x = \dot m w + m\dot w = -(m^2 + w^2)f'(x)$. The helper finds the conserved
# quantity by separating $g = \varphi(m)\psi(w)$ and integrating
# $\varphi/\varphi'$ and $\psi/\psi'$.


# %%
@functools.cache
def reparam() -> ms.SeparableReparam:
    """$x = mw$ with real $m, w$."""
    return ms.hadamard()


@functools.cache
def conserved() -> sp.Expr:
    """The conserved quantity of gradient flow on $mw$ (derived)."""
    return ms.conserved_quantity(reparam())


# %%
if __name__ == "__main__":
    ms.show(r"C(m, w)", conserved())
    ms.show(r"M = m^2 + w^2", reparam().inverse_metric_params)

# %% [markdown]
# ## 2. The induced potential
#
# Eliminating $(m, w)$ from $M = m^2 + w^2$, $x = mw$, $\beta = m^2 - w^2$ gives
# $M^2 = 4x^2 + \beta^2$. With $r'' = 1/M$ and $r(0) = r'(0) = 0$:
# $$r_\beta(x) = \tfrac12\Big[x\operatorname{arcsinh}\frac{2x}{\beta}
# - \sqrt{x^2 + \beta^2/4} + \frac{\beta}{2}\Big],$$
# the hypentropy with scale $c = \beta/2$ and coefficient $k = \tfrac12$: the
# package's `Hadamard().induced_potential` $=$ `Hypentropy(scale=|beta|/2, coef=0.5)`.
# Its time factor is $1/k = 2$.


# %%
@functools.cache
def induced() -> ms.InducedPotential:
    r"""The potential induced by gradient flow on $mw$, constant $\beta > 0$."""
    return ms.induced_potential(reparam(), constant=beta)


def hypentropy_form() -> sp.Expr:
    """The package's form: `Hypentropy(scale=beta/2, coef=1/2)`."""
    return ms.hypentropy(induced().x, scale=beta / 2, coef=sp.Rational(1, 2))


# %%
if __name__ == "__main__":
    ip = induced()
    ms.show(r"M(x)", ip.inverse_metric)
    ms.show(r"r_\beta''(x)", ip.metric)
    ms.show(r"r_\beta'(x)", ip.mirror_map)
    ms.show(r"r_\beta(x)", ip.potential)
    ms.show(r"(c, k)", sp.Tuple(ip.family.scale, ip.family.coef))
    ms.show(r"\text{time factor}", ip.time_factor)

# %% [markdown]
# ## 3. Where the dual flow starts
#
# The mirror flow starts at $z_0 = r_\beta'(x_0)$ with $x_0 = m_0w_0$ and
# $\beta = m_0^2 - w_0^2$:
# $$z_0 = \tfrac12\operatorname{arcsinh}\frac{2m_0w_0}{m_0^2 - w_0^2}
# = \operatorname{artanh}\frac{w_0}{m_0}\qquad(|m_0| > |w_0|).$$
# In the coordinates $m_0 = u_0 + v_0$, $w_0 = u_0 - v_0$ both sides equal
# $\tfrac12\log(u_0/v_0)$.


# %%
def initial_dual() -> sp.Expr:
    r"""$r_\beta'(m_0w_0)$ at $\beta = m_0^2 - w_0^2$, in $u_0, v_0$ coordinates."""
    return induced().initial_dual((m0_of_uv, w0_of_uv))


# %%
if __name__ == "__main__":
    ms.show(r"z_0", initial_dual())
    ms.show(r"\operatorname{artanh}(w_0/m_0)", sp.atanh(w0_of_uv / m0_of_uv))

# %% [markdown]
# ## 4. The dual route
#
# With $z = -\int_0^t f'$ the parameter flow is linear, $dm/dz = w$, $dw/dz = m$:
# $m(z) = m_0\cosh z + w_0\sinh z$, $w(z) = m_0\sinh z + w_0\cosh z$, and
# $$x(z) = (r^*)'(z) = \tfrac{m_0^2 + w_0^2}{2}\sinh 2z + m_0w_0\cosh 2z
# = \tfrac{\beta}{2}\sinh(2z + \varphi),$$
# with $\cosh\varphi = (m_0^2 + w_0^2)/\beta$, $\sinh\varphi = 2m_0w_0/\beta$, i.e.
# $\varphi = 2z_0$ (the tilt of Mirror, Mirror's time-dependent potential; see
# derivation 06). The conjugate is
# $r^*(z) = (m^2 + w^2)/4$ (Euler's identity for the degree-2 map).


# %%
@functools.cache
def dual_route() -> ms.InducedConjugate:
    r"""$m(z), w(z), x(z)$ and $r^*(z)$ from $dp/dz = \nabla g(p)$."""
    return ms.induced_conjugate(reparam(), z=z)


# %%
if __name__ == "__main__":
    dual = dual_route()
    ms.show(r"(m(z), w(z))", sp.Tuple(*dual.params_of_z))
    ms.show(r"x(z)", dual.grad_conjugate)
    ms.show(r"r^*(z)", dual.conjugate)

# %% [markdown]
# ## 5. The balanced case $\beta = 0$
#
# Then $M = \sqrt{4x^2} = 2|x|$: on $x > 0$, $r'' = 1/(2x)$ and
# $r = \tfrac12(x\log x - x)$, the negative entropy with coefficient $\tfrac12$ —
# the flow of $w\odot w$ (derivation 01) at half the speed.


# %%
@functools.cache
def balanced_potential() -> sp.Expr:
    """The potential of balanced $mw$ on $x > 0$."""
    x_pos = sp.Symbol("x", positive=True)
    metric = 1 / induced().inverse_metric.subs({beta: 0, induced().x: x_pos})
    potential, _ = ms.legendre_from_metric(metric, x_pos)
    return potential


# %%
if __name__ == "__main__":
    ms.show(r"r_0(x)", balanced_potential())

# %% [markdown]
# ## 6. Same geometry as $u\odot u - v\odot v$, half the speed
#
# With $u = (m + w)/2$, $v = (m - w)/2$: $u^2 - v^2 = mw$ and $uv = \beta/4$. The
# $(u, v)$ flow has $M_{uv} = 4\sqrt{x^2 + 4(uv)^2}$ (derivation 03), which at
# $uv = \beta/4$ is exactly $2M$: $x_{m\odot w}(t) = x_{u,v}(t/2)$
# (time factors: docs/theory/conventions.md).


# %%
def uv_speed_ratio() -> sp.Expr:
    r"""$M_{uv}/M_{mw}$ at $uv = \beta/4$."""
    uv = ms.induced_potential(ms.diff_of_squares())
    x = induced().x
    m_uv = uv.inverse_metric.subs({uv.constant: beta / 4, uv.x: x})
    return sp.simplify(m_uv / induced().inverse_metric)


# %%
if __name__ == "__main__":
    ms.show(r"M_{uv}/M_{m\odot w}", uv_speed_ratio())

# %% [markdown]
# ## 7. Identities
#
# Each expression simplifies to zero; the tests also compare every object with
# `Hadamard().induced_potential(...)` at random points inside the assumptions.


# %%
def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    m, w = reparam().params
    ip, dual = induced(), dual_route()
    x = ip.x
    m0, w0 = dual.initial
    beta0 = m0**2 - w0**2
    cosh_phi, sinh_phi = (m0**2 + w0**2) / beta0, 2 * m0 * w0 / beta0
    u, v = (m + w) / 2, (m - w) / 2
    return {
        "conserved quantity is m^2 - w^2": conserved() - (m**2 - w**2),
        "M^2 = 4x^2 + beta^2": ip.inverse_metric**2 - (4 * x**2 + beta**2),
        "potential is Hypentropy(beta/2, 1/2)": ip.potential - hypentropy_form(),
        "time factor is 2": ip.time_factor - 2,
        "z0 = artanh(w0/m0)": ms.log_form(
            initial_dual() - sp.atanh(w0_of_uv / m0_of_uv)
        ),
        "x(z) = (beta/2) sinh(2z + phi)": dual.grad_conjugate
        - beta0 / 2 * (sp.sinh(2 * z) * cosh_phi + sp.cosh(2 * z) * sinh_phi),
        "dual route starts at x0": dual.grad_conjugate.subs(z, 0) - m0 * w0,
        "(r*)' = x(z)": sp.diff(dual.conjugate, z) - dual.grad_conjugate,
        "cosh^2 phi - sinh^2 phi = 1": cosh_phi**2 - sinh_phi**2 - 1,
        "balanced: r = (x log x - x)/2": balanced_potential()
        - ms.neg_entropy(sp.Symbol("x", positive=True), sp.Rational(1, 2)),
        "u^2 - v^2 = m w": u**2 - v**2 - m * w,
        "u v = beta/4": u * v - (m**2 - w**2) / 4,
        "M_uv = 2 M_mw": uv_speed_ratio() - 2,
    }


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
