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
# # 05 · From L2 to L1: the limits of the Bregman projection in $\alpha$
#
# **What it teaches.** Why the initialization scale chooses the implicit bias.
# Gradient flow on $u\odot u - v\odot v$ from $u_0 = v_0 = \alpha$ converges on
# underdetermined least squares to
# $$x_\alpha = \arg\min_{Ax=b} r_\alpha(x),\qquad
# r_\alpha(x) = \tfrac14\Big[x\operatorname{arcsinh}\frac{x}{2\alpha^2}
# - \sqrt{x^2 + 4\alpha^4} + 2\alpha^2\Big]$$
# (derivation 03; Woodworth et al. 2020, Thm 1). An $\arg\min$ does not change when the
# objective is multiplied by a positive constant, so what matters is the *shape* of
# $r_\alpha$ after rescaling:
#
# - $\alpha \to \infty$ (kernel regime): $16\alpha^2 r_\alpha(x) \to x^2$, so
#   $x_\alpha \to$ the minimum-L2 interpolant; since
#   $16\alpha^2 r_\alpha = x^2 - x^4/(48\alpha^4) + \dots$, the relative correction
#   is $O(\alpha^{-4})$, hence $\|x_\alpha - x_{L2}\| = O(\alpha^{-4})$.
# - $\alpha \to 0$ (rich regime): $r_\alpha(x)/\big(\tfrac12\log\frac1\alpha\big)
#   \to |x|$, so $x_\alpha \to$ the minimum-L1 interpolant (when it is unique); the
#   relative correction is $\frac{\log|x| - 1}{2\log(1/\alpha)}$, so convergence
#   is only logarithmic in $\alpha$.
#
# The same expansions hold for any hypentropy $k[x\operatorname{arcsinh}(x/c) -
# \sqrt{x^2 + c^2} + c]$: $\approx kx^2/(2c)$ for $|x| \ll c$ and
# $\approx k|x|(\log\frac{2|x|}{c} - 1) + kc$ for $|x| \gg c$ — with $k = \tfrac12$,
# $c = |a|/2$ these are the regimes of the Mask-in-the-Mirror potential
# (Mask in the Mirror, Thm 3.1 and its remark).
#
# **Assumptions.**
# - Balanced initialization $u_0 = v_0 = \alpha > 0$, so $x_0 = 0$ and
#   $r_\alpha'(x_0) = 0$: the Bregman projection of $x_0$ is $\arg\min r_\alpha$.
# - The limits are pointwise in $x$ (uniform on compact sets; for the L1 limit,
#   on compact sets away from $x = 0$ for the relative error). We compute them for
#   $x > 0$ and use the symmetry $r_\alpha(-x) = r_\alpha(x)$.
# - The statements about $\arg\min$ need the limiting problem to have a unique
#   solution (always for L2; for L1 a condition on $A$).

# %%
import functools
import sys

import sympy as sp

import mirrorflow.symbolic as ms


alpha = sp.Symbol("alpha", positive=True)
x = sp.Symbol("x", real=True)
x_pos = sp.Symbol("x", positive=True)
c, k = sp.symbols("c k", positive=True)
a_abs = sp.Symbol("a", positive=True)  # |a|, the Mask-in-the-Mirror scale


def potential(var: sp.Symbol = x) -> sp.Expr:
    r"""$r_\alpha(x)$, the potential of balanced $u\odot u - v\odot v$."""
    return ms.hypentropy(var, alpha=alpha)


# %% [markdown]
# ## 1. $\alpha \to \infty$: the L2 limit
#
# Expand in $x$ (equivalently in $x/\alpha^2$):
# $r_\alpha(x) = \frac{x^2}{16\alpha^2} - \frac{x^4}{768\alpha^6} + O(x^6/\alpha^{10})$.
# So the scaling is $16\alpha^2$ and the relative correction is
# $-x^2/(48\alpha^4)$.


# %%
def l2_scaling() -> sp.Expr:
    r"""The factor that makes $r_\alpha$ converge to $x^2$ as $\alpha\to\infty$."""
    return 16 * alpha**2


@functools.cache
def l2_limit() -> sp.Expr:
    r"""$\lim_{\alpha\to\infty} 16\alpha^2 r_\alpha(x)$."""
    return sp.limit(l2_scaling() * potential(), alpha, sp.oo)


@functools.cache
def l2_series() -> sp.Expr:
    r"""$r_\alpha$ to order $x^4$ (the small-$x$ series)."""
    return sp.series(potential(), x, 0, 6).removeO()


# %%
if __name__ == "__main__":
    ms.show(r"\lim_{\alpha\to\infty}16\alpha^2 r_\alpha(x)", l2_limit())
    ms.show(r"r_\alpha(x)", sp.Add(l2_series(), sp.Order(x**6)))

# %% [markdown]
# ## 2. $\alpha \to 0$: the L1 limit
#
# For $x > 0$ and $\alpha \to 0$ (equivalently $x \gg \alpha^2$):
# $r_\alpha(x) = \tfrac14\big[x(\log\frac{x}{\alpha^2} - 1) + 2\alpha^2\big]
# + O(\alpha^4/x)$. Divided by $\tfrac12\log(1/\alpha)$ this tends to $x$.


# %%
def l1_scaling() -> sp.Expr:
    r"""The divisor that makes $r_\alpha$ converge to $|x|$ as $\alpha\to0$."""
    return sp.log(1 / alpha) / 2


@functools.cache
def l1_limit() -> sp.Expr:
    r"""$\lim_{\alpha\to0} r_\alpha(x)/(\tfrac12\log(1/\alpha))$ for $x > 0$."""
    return sp.limit(potential(x_pos) / l1_scaling(), alpha, 0, "+")


def l1_asymptotic() -> sp.Expr:
    r"""$\tfrac14[x(\log(x/\alpha^2) - 1) + 2\alpha^2]$, for $x > 0$."""
    return (x_pos * (sp.log(x_pos / alpha**2) - 1) + 2 * alpha**2) / 4


# %%
if __name__ == "__main__":
    ms.show(r"\lim_{\alpha\to0}\frac{r_\alpha(x)}{\tfrac12\log(1/\alpha)}", l1_limit())
    ms.show(r"r_\alpha(x)\ (x \gg \alpha^2)", l1_asymptotic())

# %% [markdown]
# ## 3. The general hypentropy and the Mask-in-the-Mirror regimes
#
# For $r = k[x\operatorname{arcsinh}(x/c) - \sqrt{x^2 + c^2} + c]$:
# small $|x|$: $kx^2/(2c)$; large $|x|$: $k|x|(\log\frac{2|x|}{c} - 1) + kc$. With
# $k = \tfrac12$, $c = |a|/2$: $x^2/(2|a|)$ and
# $\tfrac12|x|(\log\frac{4|x|}{|a|} - 1) + |a|/4$ (the constant $|a|/4$ does not change
# an $\arg\min$).


# %%
def general_small() -> sp.Expr:
    """Leading small-$x$ term of the general hypentropy."""
    return sp.series(ms.hypentropy(x, scale=c, coef=k), x, 0, 3).removeO()


def general_large() -> sp.Expr:
    """Large-$x$ form of the general hypentropy ($x > 0$)."""
    return k * x_pos * (sp.log(2 * x_pos / c) - 1) + k * c


@functools.cache
def general_large_remainder_limit() -> sp.Expr:
    r"""$\lim_{x\to\infty}$ of (hypentropy $-$ large form): must be 0."""
    return sp.limit(
        ms.hypentropy(x_pos, scale=c, coef=k) - general_large(), x_pos, sp.oo
    )


# %%
if __name__ == "__main__":
    ms.show(r"r(x)\ (|x| \ll c)", general_small())
    ms.show(r"r(x)\ (|x| \gg c)", general_large())

# %% [markdown]
# ## 4. A picture
#
# $r_\alpha(x)/r_\alpha(1)$ for several $\alpha$, against $|x|$ and $x^2/2$
# (both normalized to 1 at $x = 1$): large $\alpha$ hugs the parabola, small
# $\alpha$ approaches the absolute value — slowly, as the $\log(1/\alpha)$ scaling
# predicts.


# %%
def plot_potentials(alphas=(3.0, 1.0, 0.3, 0.1, 1e-3, 1e-8)):
    r"""Figure of normalized $r_\alpha$ for several $\alpha$ (matplotlib)."""
    import matplotlib.pyplot as plt
    import numpy as np

    r = sp.lambdify((x, alpha), potential(), "numpy")
    grid = np.linspace(-1.5, 1.5, 301)
    fig, ax = plt.subplots(figsize=(6, 4))
    for a in alphas:
        ax.plot(grid, r(grid, a) / r(1.0, a), label=rf"$\alpha={a:g}$")
    ax.plot(grid, np.abs(grid), "k--", label=r"$|x|$")
    ax.plot(grid, grid**2, "k:", label=r"$x^2/2$ (normalized)")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$r_\alpha(x) / r_\alpha(1)$")
    ax.legend(fontsize=8)
    ax.set_title("Hyperbolic entropy: L2 for large alpha, L1 for small alpha")
    fig.tight_layout()
    return fig


# %%
if __name__ == "__main__":
    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")  # a script never opens a window
    figure = plot_potentials()
    if "--save" in sys.argv:  # python derivations/05_... .py --save out.png
        figure.savefig(sys.argv[sys.argv.index("--save") + 1], dpi=150)

# %% [markdown]
# ## 5. Identities


# %%
def identities() -> dict[str, sp.Expr]:
    """Expressions this derivation claims are identically zero (inside its domain)."""
    return {
        "symmetry r(-x) = r(x)": potential().subs(x, -x) - potential(),
        "L2 limit is x^2": l2_limit() - x**2,
        "L2 series": l2_series() - (x**2 / (16 * alpha**2) - x**4 / (768 * alpha**6)),
        "L1 limit is |x|": l1_limit() - x_pos,
        # alpha -> 0 at fixed x is x/c -> oo for c = 2 alpha^2: the general
        # large-x remainder below covers it.
        "L1 asymptotic is the large-x form at k=1/4, c=2 alpha^2": l1_asymptotic()
        - general_large().subs({k: sp.Rational(1, 4), c: 2 * alpha**2}),
        "general small-x term k x^2/(2c)": general_small() - k * x**2 / (2 * c),
        "general large-x remainder -> 0": general_large_remainder_limit(),
        "mask regime (k=1/2, c=|a|/2), small x": general_small().subs(
            {k: sp.Rational(1, 2), c: a_abs / 2}
        )
        - x**2 / (2 * a_abs),
        "mask regime (k=1/2, c=|a|/2), large x": general_large().subs(
            {k: sp.Rational(1, 2), c: a_abs / 2}
        )
        - (x_pos / 2 * (sp.log(4 * x_pos / a_abs) - 1) + a_abs / 4),
    }


# %%
if __name__ == "__main__":
    # Simplifying every identity takes a few seconds: done in the notebook and
    # with `--check`; tests/test_derivations.py always checks them.
    if "ipykernel" in sys.modules or "--check" in sys.argv:
        for name, expr in identities().items():
            print(f"{name}: simplifies to {sp.simplify(expr)}")
