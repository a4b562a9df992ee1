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
# # 04 · Depth-$D$ diagonal networks $x = u^D - v^D$
#
# **What it teaches.** When the primal route fails, go dual. For $D \ge 3$ the
# potential $r$ has no elementary closed form (the helper says so), but its
# conjugate does: along gradient flow each factor solves a separable ODE in the dual
# variable $z = -\int_0^t f'$,
# $$u^{2-D} = \gamma_u - \kappa z,\quad v^{2-D} = \gamma_v + \kappa z,\qquad
# \gamma_u = u_0^{2-D},\ \gamma_v = v_0^{2-D},\ \kappa = D(D-2),$$
# so $x(z) = (r^*)'(z) = (\gamma_u - \kappa z)^{-\frac{D}{D-2}}
# - (\gamma_v + \kappa z)^{-\frac{D}{D-2}}$ and, by Euler's identity for a map
# homogeneous of degree $D$, $r^*(z) = \frac{1}{2D}(u^2 + v^2)$
# (the depth-$D$ model of Woodworth et al. 2020, Thm 3). The limit $D \to 2$ recovers
# derivation 03.
#
# **Assumptions.**
# - $D > 2$ (an integer in the network; the formulas hold for real $D > 2$).
# - $u_0, v_0 > 0$ (balanced: $u_0 = v_0 = \alpha$); gradient flow keeps
#   $u, v > 0$ on the dual domain.
# - Dual domain $-\gamma_v/\kappa < z < \gamma_u/\kappa$: at its ends $u$ or $v$
#   blows up (finite-time blow-up of the factor).
# - The dual variable is measured from the start: $r'(x_0) = 0$, as the package's
#   `DeepDiagonalPotential` does.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


D = sp.Symbol("D", positive=True)
z = sp.Symbol("z", real=True)
u0, v0 = sp.symbols("u_0 v_0", positive=True)
# b_u = gamma_u - kappa z > 0 and b_v = gamma_v + kappa z > 0 inside the domain.
base_u, base_v = sp.symbols("b_u b_v", positive=True)
kappa = D * (D - 2)

# %% [markdown]
# ## 1. The factor ODE for general $D$
#
# $\dot u = -Du^{D-1}f'$ means $du/dz = Du^{D-1}$; then
# $\frac{d}{dz}u^{2-D} = (2-D)u^{1-D}\cdot Du^{D-1} = -\kappa$. So
# $u(z) = (\gamma_u - \kappa z)^{-1/(D-2)}$ and, with the opposite sign,
# $v(z) = (\gamma_v + \kappa z)^{-1/(D-2)}$. Their combination
# $u^{2-D} + v^{2-D} = \gamma_u + \gamma_v$ is the conserved quantity.


# %%
def factors_general() -> tuple[sp.Expr, sp.Expr]:
    """$u(z), v(z)$ for symbolic $D$."""
    e = -1 / (D - 2)
    return (u0 ** (2 - D) - kappa * z) ** e, (v0 ** (2 - D) + kappa * z) ** e


def grad_conjugate_general() -> sp.Expr:
    """$x(z) = u(z)^D - v(z)^D$ in closed form."""
    q = D / (D - 2)
    return (u0 ** (2 - D) - kappa * z) ** (-q) - (v0 ** (2 - D) + kappa * z) ** (-q)


def conjugate_general() -> sp.Expr:
    """$r^*(z) = (u^2 + v^2)/(2D)$: the package's `DeepDiagonalPotential.conjugate`."""
    return ms.deep_diagonal_conjugate(z, D, u0, v0)


def conjugate_hessian_general() -> sp.Expr:
    r"""$(r^*)''(z) = \frac{D\kappa}{D-2}[(\gamma_u-\kappa z)^{-p} + \dots]$."""
    p = (2 * D - 2) / (D - 2)
    scale = D * kappa / (D - 2)
    return scale * (
        (u0 ** (2 - D) - kappa * z) ** (-p) + (v0 ** (2 - D) + kappa * z) ** (-p)
    )


# %%
if __name__ == "__main__":
    ms.show(r"(u(z), v(z))", sp.Tuple(*factors_general()))
    ms.show(r"(r^*)'(z)", grad_conjugate_general())
    ms.show(r"r^*(z)", conjugate_general())
    ms.show(r"(r^*)''(z)", conjugate_hessian_general())

# %% [markdown]
# ## 2. The helper, for $D = 3$ and $D = 4$
#
# `induced_conjugate` integrates $\int du/(Du^{D-1})$ and solves for $u$; it must
# agree with the general formula.


# %%
@functools.cache
def dual_route(depth: int) -> ms.InducedConjugate:
    """The dual route for a concrete depth."""
    return ms.induced_conjugate(ms.deep_diagonal(depth), z=z, initial=(u0, v0))


# %%
if __name__ == "__main__":
    for depth in (3, 4):
        dual = dual_route(depth)
        ms.show(rf"x(z)\ (D={depth})", dual.grad_conjugate)
        ms.show(rf"r^*(z)\ (D={depth})", dual.conjugate)

# %% [markdown]
# ## 3. Why not the primal route?
#
# The primal route needs the speed $M = D^2(u^{2D-2} + v^{2D-2})$ as a function of
# $x$ and the conserved quantity; for $D \ge 3$ eliminating $u, v$ leads to
# polynomial equations of high degree with no closed-form root. The helper refuses
# with a clear message:


# %%
def primal_route_error(depth: int = 3) -> str:
    """The message of `induced_potential` for $u^D - v^D$."""
    try:
        ms.induced_potential(ms.deep_diagonal(depth))
    except ValueError as error:
        return str(error)
    raise AssertionError("the primal route unexpectedly succeeded")


# %%
if __name__ == "__main__":
    print(primal_route_error())

# %% [markdown]
# ## 4. The limit $D \to 2$
#
# $(\gamma_u - \kappa z)^{-1/(D-2)}$ with $\gamma_u = u_0^{2-D}$ and
# $\kappa = D(D-2)$ tends to $u_0e^{2z}$: derivation 03's factor. So the depth-$D$
# geometry is a deformation of the hyperbolic entropy.


# %%
def factor_limit_d2() -> sp.Expr:
    r"""$\lim_{D\to2} u(z)$."""
    return sp.limit(factors_general()[0], D, 2)


# %%
if __name__ == "__main__":
    ms.show(r"\lim_{D\to2}u(z)", factor_limit_d2())

# %% [markdown]
# ## 5. Identities


# %%
def _in_bases(expr: sp.Expr) -> sp.Expr:
    r"""Write $\gamma_u - \kappa z = b_u$, $\gamma_v + \kappa z = b_v$ (both > 0)."""
    return expr.subs(
        {u0 ** (2 - D) - kappa * z: base_u, v0 ** (2 - D) + kappa * z: base_v}
    )


def _d_dz(expr_in_bases: sp.Expr) -> sp.Expr:
    r"""$d/dz$ through the bases: $db_u/dz = -\kappa$, $db_v/dz = +\kappa$."""
    return -kappa * sp.diff(expr_in_bases, base_u) + kappa * sp.diff(
        expr_in_bases, base_v
    )


def _same_powers(expr: sp.Expr) -> sp.Expr:
    """Combine powers of the positive bases and bring exponents to one form."""
    combined = sp.powsimp(sp.expand(expr), force=True)
    return combined.replace(
        lambda a: isinstance(a, sp.Pow) and a.base in (base_u, base_v),
        lambda a: sp.Pow(a.base, sp.factor(a.exp)),
    )


def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    # In the positive bases b_u, b_v every power simplifies without sign questions.
    u, v = (_in_bases(f) for f in factors_general())
    x_b = _in_bases(grad_conjugate_general())
    out = {
        "du/dz = D u^(D-1)": sp.powdenest(_d_dz(u) - D * u ** (D - 1), force=True),
        "conserved: u^(2-D) + v^(2-D) = b_u + b_v": sp.powdenest(
            u ** (2 - D) + v ** (2 - D), force=True
        )
        - (base_u + base_v),
        "x = u^D - v^D": sp.powdenest(u**D - v**D, force=True) - x_b,
        "(r*)' = x(z), general D": _same_powers(
            _d_dz(_in_bases(conjugate_general())) - x_b
        ),
        "(r*)'' closed form, general D": _same_powers(
            _d_dz(x_b) - _in_bases(conjugate_hessian_general())
        ),
        "D -> 2 limit is u0 exp(2z)": factor_limit_d2() - u0 * sp.exp(2 * z),
    }
    for depth in (3, 4):
        dual = dual_route(depth)
        general = {D: depth}
        out[f"D={depth}: helper x(z) = closed form"] = (
            dual.grad_conjugate - grad_conjugate_general().subs(general)
        )
        out[f"D={depth}: helper r*(z) = (u^2+v^2)/(2D)"] = (
            dual.conjugate - conjugate_general().subs(general)
        )
        # Compare u^(2-D) = gamma_u - kappa z (no square roots to take).
        u_d, v_d = dual.params_of_z
        out[f"D={depth}: helper u(z)^(2-D)"] = u_d ** (2 - depth) - (
            u0 ** (2 - depth) - depth * (depth - 2) * z
        )
        out[f"D={depth}: helper v(z)^(2-D)"] = v_d ** (2 - depth) - (
            v0 ** (2 - depth) + depth * (depth - 2) * z
        )
    return out


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
