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
# # 03 · Difference of squares $x = u\odot u - v\odot v$ (Woodworth et al. 2020)
#
# **What it teaches.** The classic diagonal linear network. Gradient flow conserves
# $uv$, the speed $4(u^2 + v^2)$ becomes $4\sqrt{x^2 + c^2}$ with $c = 2u_0v_0$, and
# the flow is the mirror flow of $r_\alpha = Q_\alpha/4$, Woodworth's hyperbolic
# entropy (Woodworth et al. 2020, Thm 1). It shows where the famous factor 4 in time
# comes from, where the dual flow starts for an unbalanced initialization
# ($\tfrac14\log(u_0/v_0)$), and the dual picture $u = u_0e^{2z}$,
# $v = v_0e^{-2z}$, $x = c\sinh(4z + \log\frac{u_0}{v_0})$.
#
# **Assumptions.**
# - $u_0, v_0 > 0$ in every coordinate (so $c = 2u_0v_0 > 0$); gradient flow keeps
#   $u, v > 0$ because $u = u_0e^{2z}$, $v = v_0e^{-2z}$.
# - Balanced initialization $u_0 = v_0 = \alpha$ is the special case $c = 2\alpha^2$,
#   $x_0 = 0$, $r'(x_0) = 0$.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


s = sp.Symbol("s", positive=True)  # the conserved product u v = u0 v0
alpha = sp.Symbol("alpha", positive=True)
z = sp.Symbol("z", real=True)

# %% [markdown]
# ## 1. Parameter flow and the conserved product
#
# $\dot u = -2u\,f'$, $\dot v = +2v\,f'$: $\frac{d}{dt}(uv) = -2uvf' + 2uvf' = 0$, and
# $\dot x = 2u\dot u - 2v\dot v = -4(u^2 + v^2)f'$. The map is a sum
# $\varphi(u) + \psi(v)$, so $\frac{d}{dt}\tfrac12\log u = -f'$ and
# $\frac{d}{dt}(-\tfrac12\log v) = -f'$: their difference $\tfrac12\log(uv)$ is
# conserved. That is how the helper finds it.


# %%
@functools.cache
def reparam() -> ms.SeparableReparam:
    """$x = u^2 - v^2$ with $u, v > 0$."""
    return ms.diff_of_squares()


@functools.cache
def induced() -> ms.InducedPotential:
    """The induced potential, with the conserved product $uv = s > 0$."""
    return ms.induced_potential(reparam(), constant=s)


# %%
if __name__ == "__main__":
    ip = induced()
    ms.show(r"C(u, v)", ip.conserved)
    ms.show(r"M(x)", ip.inverse_metric)
    ms.show(r"r'(x)", ip.mirror_map)
    ms.show(r"r(x)", ip.potential)
    ms.show(r"(c, k)", sp.Tuple(ip.family.scale, ip.family.coef))
    ms.show(r"\text{time factor}", ip.time_factor)

# %% [markdown]
# ## 2. Woodworth's $Q_\alpha$ and the factor 4
#
# With $u_0 = v_0 = \alpha$, $s = \alpha^2$ and
# $$r_\alpha(x) = \tfrac14\Big[x\operatorname{arcsinh}\frac{x}{2\alpha^2}
# - \sqrt{x^2 + 4\alpha^4} + 2\alpha^2\Big] = \tfrac14 Q_\alpha(x),\qquad
# Q_\alpha(x) = \alpha^2 q(x/\alpha^2),\ q(\sigma) = 2 - \sqrt{4 + \sigma^2}
# + \sigma\operatorname{arcsinh}(\sigma/2).$$
# Because $r = Q/4$, gradient flow at time $t$ is the mirror flow of $Q_\alpha$ at
# time $4t$: the time factor.


# %%
def woodworth_q(x: sp.Symbol) -> sp.Expr:
    r"""Woodworth et al.'s $Q_\alpha(x) = \alpha^2 q(x/\alpha^2)$."""
    sigma = x / alpha**2
    return alpha**2 * (2 - sp.sqrt(4 + sigma**2) + sigma * sp.asinh(sigma / 2))


def balanced_potential() -> sp.Expr:
    r"""$r_\alpha$: the induced potential at $u_0 = v_0 = \alpha$."""
    return induced().potential.subs(s, alpha**2)


# %%
if __name__ == "__main__":
    ms.show(r"r_\alpha(x)", balanced_potential())
    ms.show(r"Q_\alpha(x)", woodworth_q(induced().x))

# %% [markdown]
# ## 3. Unbalanced initialization: where the dual flow starts
#
# $x_0 = u_0^2 - v_0^2$ and $s = u_0v_0$, so
# $r'(x_0) = \tfrac14\operatorname{arcsinh}\frac{u_0^2 - v_0^2}{2u_0v_0}
# = \tfrac14\log\frac{u_0}{v_0}$ because $\sinh\log\frac uv = \frac{u^2-v^2}{2uv}$.
# The limit on least squares is then
# $\arg\min_{Ax=b} r_c(x) - \langle\tfrac14\log\frac{u_0}{v_0}, x\rangle$.


# %%
def initial_dual() -> sp.Expr:
    """$r'(x_0)$ for an initialization $(u_0, v_0)$."""
    dual = dual_route()
    return induced().initial_dual(dual.initial)


# %% [markdown]
# ## 4. The dual route
#
# $du/dz = 2u$, $dv/dz = -2v$: $u = u_0e^{2z}$, $v = v_0e^{-2z}$ and
# $$x(z) = u_0^2e^{4z} - v_0^2e^{-4z} = 2u_0v_0\sinh\big(4z + \log\tfrac{u_0}{v_0}\big),
# \qquad r^*(z) = \tfrac14(u^2 + v^2)
# = \tfrac{c}{4}\cosh\big(4z + \log\tfrac{u_0}{v_0}\big).$$
# Here $z$ is the displacement from the start, $r'(x_t) - r'(x_0)$.


# %%
@functools.cache
def dual_route() -> ms.InducedConjugate:
    """$u(z), v(z), x(z), r^*(z)$."""
    return ms.induced_conjugate(reparam(), z=z)


# %%
if __name__ == "__main__":
    dual = dual_route()
    ms.show(r"z_0 = r'(x_0)", initial_dual())
    ms.show(r"(u(z), v(z))", sp.Tuple(*dual.params_of_z))
    ms.show(r"x(z)", dual.grad_conjugate)
    ms.show(r"r^*(z)", dual.conjugate)

# %% [markdown]
# ## 5. Identities


# %%
def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    u, v = reparam().params
    ip, dual = induced(), dual_route()
    x = ip.x
    u_0, v_0 = dual.initial
    c0, shift = 2 * u_0 * v_0, sp.log(u_0 / v_0)
    return {
        "conserved quantity is u v": ip.conserved - u * v,
        "M^2 = 16 (x^2 + c^2), c = 2s": ip.inverse_metric**2
        - 16 * (x**2 + (2 * s) ** 2),
        "potential is Hypentropy(2s, 1/4)": ip.potential
        - ms.hypentropy(x, scale=2 * s, coef=sp.Rational(1, 4)),
        "4 r_alpha = Q_alpha": 4 * balanced_potential() - woodworth_q(x),
        "time factor is 4": ip.time_factor - 4,
        "r'(x0) = log(u0/v0)/4": ms.log_form(initial_dual() - shift / 4),
        "x(z) = c sinh(4z + log(u0/v0))": (
            dual.grad_conjugate - c0 * sp.sinh(4 * z + shift)
        ).rewrite(sp.exp),
        "r*(z) = (c/4) cosh(4z + log(u0/v0))": (
            dual.conjugate - c0 / 4 * sp.cosh(4 * z + shift)
        ).rewrite(sp.exp),
        "r'(x(z)) = z + z0": ms.log_form(
            ip.mirror_map.subs({s: u_0 * v_0, x: dual.grad_conjugate}) - z - shift / 4
        ),
        "balanced: x(z) = 2 alpha^2 sinh 4z": (
            dual.grad_conjugate.subs({u_0: alpha, v_0: alpha})
            - 2 * alpha**2 * sp.sinh(4 * z)
        ).rewrite(sp.exp),
    }


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
