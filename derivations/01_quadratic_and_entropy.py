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
# # 01 · The quadratic potential and the negative entropy
#
# **What it teaches.** The vocabulary of every later derivation: a separable Legendre
# function $R(x) = \sum_i r(x_i)$, its *mirror map* $r'$, its *Hessian metric* $r''$,
# the inverse mirror map $(r')^{-1} = (r^*)'$, the convex conjugate $r^*$ and the
# *Bregman divergence* $D_r$. Two examples:
#
# 1. $r(x) = \tfrac12 x^2$: the mirror flow $\frac{d}{dt}r'(x_t) = -f'(x_t)$ *is*
#    gradient flow, and on least squares it converges to the minimum-norm interpolant
#    (Gunasekar et al. 2018, Thm 1).
# 2. Gradient flow on $x = w\odot w$ is the mirror flow of
#    $r(x) = \tfrac14(x\log x - x)$, the negative entropy, whose Bregman divergence
#    is $\tfrac14$ of the (generalized) KL divergence (docs/theory/core.md). We
#    *derive* that potential from the parameter flow with
#    `mirrorflow.symbolic.induced_potential`.
#
# **Assumptions.**
# - Quadratic potential: $x\in\mathbb{R}$, no condition.
# - Entropy: $w_0 \ne 0$ in every coordinate. Gradient flow keeps the sign of $w$
#   ($x = 0$ is absorbing), so take $w > 0$ without loss of generality; then
#   $x = w^2 > 0$, the open positive orthant, which is the domain of $r$.
#
# Cells guarded by `if __name__ == "__main__"` run in the notebook and when the file
# runs as a script; importing the file (as the tests do) only defines the functions.

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
z = sp.Symbol("z", real=True)
x_pos = sp.Symbol("x", positive=True)
y_pos = sp.Symbol("y", positive=True)

# %% [markdown]
# ## 1. The quadratic potential
#
# For $r(x) = \tfrac12x^2$ the mirror map is the identity, the metric is $1$, and the
# Bregman divergence is half the squared distance. The mirror flow
# $\frac{d}{dt}r'(x_t) = -f'(x_t)$ reads $\dot x = -f'(x)$: plain gradient flow.


# %%
@functools.cache
def quadratic() -> dict[str, sp.Expr]:
    """The squared norm and its mirror-flow objects, one coordinate."""
    r = ms.squared_norm(x)
    return {
        "potential": r,
        "mirror_map": ms.mirror_map(r, x),
        "metric": ms.hessian_metric(r, x),
        "inverse_mirror_map": ms.inverse_mirror_map(r, x, z),
        "conjugate": ms.convex_conjugate(r, x, z),
        "bregman": ms.bregman_divergence(r, x, y),
    }


# %%
if __name__ == "__main__":
    for label, key in [
        ("r(x)", "potential"),
        ("r'(x)", "mirror_map"),
        ("r''(x)", "metric"),
        ("(r^*)'(z)", "inverse_mirror_map"),
        ("r^*(z)", "conjugate"),
        ("D_r(x, y)", "bregman"),
    ]:
        ms.show(label, sp.factor(quadratic()[key]))

# %% [markdown]
# ## 2. Gradient flow on $x = w\odot w$
#
# Per coordinate, $F(w) = f(w^2)$ gives $\dot w = -2w\,f'(x)$, hence
# $$\dot x = 2w\dot w = -4w^2 f'(x) = -4x\,f'(x).$$
# A flow $\dot x = -M(x)f'(x)$ is the mirror flow of the $r$ with $r'' = 1/M$, on
# the same clock. Here $M = 4x$, so $r'' = 1/(4x)$; integrating twice (constants as
# the package fixes them, $r(0^+) = 0$) gives the negative entropy with coefficient
# $\tfrac14$. The helper does exactly these steps.


# %%
@functools.cache
def entropy_from_square() -> ms.InducedPotential:
    """The potential induced by gradient flow on $x = w^2$, $w > 0$."""
    return ms.induced_potential(ms.square())


# %%
if __name__ == "__main__":
    induced = entropy_from_square()
    ms.show(r"M(x)", induced.inverse_metric)
    ms.show(r"r''(x)", induced.metric)
    ms.show(r"r'(x)", induced.mirror_map)
    ms.show(r"r(x)", sp.factor(induced.potential))
    ms.show(r"\text{time factor } 1/k", induced.time_factor)

# %% [markdown]
# ## 3. The entropy's dual objects
#
# $r(x) = \tfrac14(x\log x - x)$ on $x > 0$ has mirror map $\tfrac14\log x$, inverse
# $e^{4z}$, conjugate $r^*(z) = \tfrac14 e^{4z}$ and metric $1/(4x)$. Its Bregman
# divergence is $\tfrac14\,\big(x\log\frac{x}{y} - x + y\big)$: a quarter of the
# KL divergence, which is why the limit of the flow on least squares is the KL
# projection of $x_0$ onto $\{Ax = b\}$.
#
# The *time factor* compares with the unit-coefficient entropy $q = x\log x - x$:
# $r = q/4$, so gradient flow at time $t$ equals the mirror flow of $q$ at $4t$.


# %%
@functools.cache
def entropy() -> dict[str, sp.Expr]:
    r"""The negative entropy $r = (x\log x - x)/4$ and its mirror-flow objects."""
    r = ms.neg_entropy(x_pos, sp.Rational(1, 4))
    return {
        "potential": r,
        "mirror_map": ms.mirror_map(r, x_pos),
        "metric": ms.hessian_metric(r, x_pos),
        "inverse_mirror_map": ms.inverse_mirror_map(r, x_pos, z),
        "conjugate": ms.convex_conjugate(r, x_pos, z),
        "bregman": ms.bregman_divergence(r, x_pos, y_pos),
        "time_factor": ms.time_factor(r, x_pos * sp.log(x_pos) - x_pos, x_pos),
    }


# %%
if __name__ == "__main__":
    for label, key in [
        ("r'(x)", "mirror_map"),
        ("r''(x)", "metric"),
        ("(r^*)'(z)", "inverse_mirror_map"),
        ("r^*(z)", "conjugate"),
        ("D_r(x, y)", "bregman"),
        (r"\text{time factor}", "time_factor"),
    ]:
        ms.show(label, entropy()[key])

# %% [markdown]
# ## 4. Identities
#
# Each expression below simplifies to zero; the tests check them and evaluate every
# object above against the hand-written JAX code (`SquaredNorm`, `NegEntropy(1/4)`,
# `Square().induced_potential`).


# %%
def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    q, e = quadratic(), entropy()
    induced = entropy_from_square()
    w = sp.Symbol("w", positive=True)
    xs = induced.x
    return {
        "quadratic Bregman = half squared distance": q["bregman"] - (x - y) ** 2 / 2,
        "quadratic mirror flow is gradient flow": q["metric"] - 1,
        "quadratic Fenchel-Young": q["potential"]
        + q["conjugate"].subs(z, q["mirror_map"])
        - x * q["mirror_map"],
        "w*w: xdot = -4 x f'": 2 * w * (-2 * w) - (-4 * w**2),
        "w*w induces (x log x - x)/4": induced.potential
        - ms.neg_entropy(xs, sp.Rational(1, 4)),
        "w*w time factor is 4": induced.time_factor - 4,
        "entropy Bregman = KL/4": e["bregman"]
        - (x_pos * sp.log(x_pos / y_pos) - x_pos + y_pos) / 4,
        "entropy inverse mirror map": e["mirror_map"].subs(
            x_pos, e["inverse_mirror_map"]
        )
        - z,
        "entropy Fenchel-Young": e["potential"]
        + e["conjugate"].subs(z, e["mirror_map"])
        - x_pos * e["mirror_map"],
        "entropy conjugate is exp(4z)/4": e["conjugate"] - sp.exp(4 * z) / 4,
    }


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
