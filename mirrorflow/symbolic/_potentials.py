"""Sympy forms of the package's potentials, one coordinate at a time."""

import sympy as sp

from ._common import SympyLike, as_expr


_QUARTER = sp.Rational(1, 4)


def squared_norm(x: sp.Symbol, coef: SympyLike = 1) -> sp.Expr:
    r"""The quadratic potential of one coordinate, $r(x) = \tfrac{k}{2}x^2$.

    The sympy form of `mirrorflow.SquaredNorm(coef=k)`; the potential of a vector is
    the sum over coordinates (derivations/01_quadratic_and_entropy.py). Domain:
    $x\in\mathbb{R}$.

    Args:
        x: the coordinate.
        coef: $k > 0$.

    Returns:
        $\tfrac{k}{2}x^2$.
    """
    return as_expr(coef, "coef", positive=True) * x**2 / 2


def neg_entropy(x: sp.Symbol, coef: SympyLike = 1, sign: int = 1) -> sp.Expr:
    r"""Negative entropy of one coordinate, $r(x) = k\,(sx\log(sx) - sx)$.

    The sympy form of `mirrorflow.NegEntropy(coef=k, sign=s)`
    (derivations/01_quadratic_and_entropy.py). Domain: $sx > 0$; declare `x` positive
    (for $s = 1$) or negative (for $s = -1$) so that sympy can simplify logarithms.

    Args:
        x: the coordinate.
        coef: $k > 0$.
        sign: $s = \pm 1$, the orthant.

    Returns:
        $k\,(sx\log(sx) - sx)$.

    Raises:
        ValueError: `sign` is not $\pm 1$.
    """
    if sign not in (1, -1):
        raise ValueError(f"neg_entropy: `sign` must be +1 or -1, got {sign!r}.")
    sx = sign * x
    return as_expr(coef, "coef", positive=True) * (sx * sp.log(sx) - sx)


def hypentropy(
    x: sp.Symbol,
    *,
    scale: SympyLike | None = None,
    alpha: SympyLike | None = None,
    coef: SympyLike = _QUARTER,
) -> sp.Expr:
    r"""Hyperbolic entropy of one coordinate.

    $r(x) = k\big[x\,\mathrm{arcsinh}(x/c) - \sqrt{x^2 + c^2} + c\big]$, the sympy
    form of `mirrorflow.Hypentropy(scale=c, coef=k)`; `alpha` sets $c = 2\alpha^2$
    as `Hypentropy(alpha)` does (Woodworth et al. 2020;
    derivations/03_difference_of_squares.py). Normalized by
    $r(0) = r'(0) = 0$. Domain: $x\in\mathbb{R}$, scale $c > 0$.

    Args:
        x: the coordinate.
        scale: $c > 0$ (exclusive with `alpha`).
        alpha: initialization scale $\alpha > 0$, $c = 2\alpha^2$.
        coef: $k > 0$ (default $1/4$).

    Returns:
        $k\big[x\,\mathrm{arcsinh}(x/c) - \sqrt{x^2 + c^2} + c\big]$.

    Raises:
        ValueError: neither or both of `scale` and `alpha`.
    """
    if (scale is None) == (alpha is None):
        raise ValueError(
            "hypentropy: pass exactly one of `scale` (c) or `alpha` (c = 2 alpha^2)."
        )
    if alpha is not None:
        c = 2 * as_expr(alpha, "alpha", positive=True) ** 2
    else:
        c = as_expr(scale, "scale", positive=True)
    k = as_expr(coef, "coef", positive=True)
    return k * (x * sp.asinh(x / c) - sp.sqrt(x**2 + c**2) + c)


def deep_diagonal_conjugate(
    z: sp.Symbol, depth: SympyLike, u0: SympyLike, v0: SympyLike
) -> sp.Expr:
    r"""Convex conjugate $r^*(z)$ of the depth-$D$ diagonal potential, one coordinate.

    $$r^*(z) = \tfrac{1}{2D}\Big[(\gamma_u - \kappa z)^{-\frac{2}{D-2}}
    + (\gamma_v + \kappa z)^{-\frac{2}{D-2}}\Big],\qquad
    \gamma_u = u_0^{2-D},\ \gamma_v = v_0^{2-D},\ \kappa = D(D-2),$$
    the sympy form of `mirrorflow.DeepDiagonalPotential(D, u0=u0, v0=v0).conjugate`
    (derivations/04_deep_diagonal.py). The primal potential has no elementary closed
    form. Dual domain: $-\gamma_v/\kappa < z < \gamma_u/\kappa$, $D > 2$,
    $u_0, v_0 > 0$.

    Args:
        z: the dual coordinate.
        depth: $D > 2$ (an integer or a positive symbol).
        u0, v0: the positive initial factors.

    Returns:
        $r^*(z)$.
    """
    D = as_expr(depth, "depth", positive=True)
    u0 = as_expr(u0, "u0", positive=True)
    v0 = as_expr(v0, "v0", positive=True)
    kappa = D * (D - 2)
    p = 2 / (D - 2)
    return (
        (u0 ** (2 - D) - kappa * z) ** (-p) + (v0 ** (2 - D) + kappa * z) ** (-p)
    ) / (2 * D)
