"""Calculus of separable Legendre functions: mirror map, metric, conjugate, Bregman."""

import dataclasses
import random

import sympy as sp

from ._common import sample_value


def mirror_map(potential: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""The mirror map $r'(x)$ of a one-coordinate potential $r$.

    For a separable $R(x) = \sum_i r(x_i)$, $\nabla R(x)_i = r'(x_i)$: primal to
    dual coordinates of the mirror flow $\frac{d}{dt}\nabla R(x_t) = -\nabla f(x_t)$
    (docs/theory/core.md).

    Args:
        potential: $r(x)$.
        x: the coordinate.

    Returns:
        $r'(x)$, simplified.
    """
    return sp.simplify(sp.diff(potential, x))


def hessian_metric(potential: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""The Hessian metric $r''(x)$ of a one-coordinate potential.

    The mirror flow in primal coordinates is the Riemannian gradient flow
    $\dot x = -\nabla^2 R(x)^{-1}\nabla f(x)$; for separable $R$ the metric is
    diagonal with entries $r''(x_i)$ (docs/theory/core.md).

    Args:
        potential: $r(x)$.
        x: the coordinate.

    Returns:
        $r''(x)$, simplified.
    """
    return sp.simplify(sp.diff(potential, x, 2))


def inverse_mirror_map(potential: sp.Expr, x: sp.Symbol, z: sp.Symbol) -> sp.Expr:
    r"""The inverse mirror map $(r')^{-1}(z) = (r^*)'(z)$.

    Solves $r'(x) = z$ for $x$ inside the domain that the assumptions on `x`
    declare (declare `x` positive for an entropy).

    Args:
        potential: $r(x)$, strictly convex.
        x: the coordinate.
        z: the dual coordinate.

    Returns:
        $x(z)$ with $r'(x(z)) = z$.

    Raises:
        ValueError: sympy finds no solution or more than one in the domain (the
            potential is not Legendre on that domain, or the equation has no
            elementary inverse, e.g. the depth-$D$ potential).
    """
    derivative = sp.diff(potential, x)
    # check=False: sympy's own check simplifies hyperbolic expressions for seconds;
    # each candidate is checked below at random points of the domain instead.
    candidates = sp.solve(sp.Eq(derivative, z), x, check=False, simplify=False)
    solutions = [
        s
        for s in candidates
        if not s.has(sp.RootOf, sp.CRootOf) and _solves(derivative, x, s, z)
    ]
    if len(solutions) != 1:
        raise ValueError(
            f"inverse_mirror_map: solving r'(x) = z for r = {potential} gave "
            f"{len(solutions)} elementary solution(s) in the domain of `x`; it needs "
            "exactly one. Declare the domain through the assumptions of `x` (e.g. "
            "`positive=True` for an entropy), or use the dual route "
            "(`induced_conjugate`) when no elementary inverse exists."
        )
    return sp.simplify(solutions[0])


def _solves(
    derivative: sp.Expr, x: sp.Symbol, candidate: sp.Expr, z: sp.Symbol
) -> bool:
    rng = random.Random(0)
    for _ in range(3):
        symbols = (candidate.free_symbols | derivative.free_symbols | {z}) - {x}
        values = {s: sample_value(s, rng) for s in symbols}
        point = sp.N(candidate.subs(values), 30)
        if not point.is_real or (x.is_positive and not point > 0):
            return False
        if x.is_negative and not point < 0:
            return False
        residual = sp.N(derivative.subs(values).subs(x, point) - values[z], 30)
        if not abs(residual) <= 1e-20 * (1 + abs(values[z])):
            return False
    return True


def convex_conjugate(potential: sp.Expr, x: sp.Symbol, z: sp.Symbol) -> sp.Expr:
    r"""The convex conjugate $r^*(z) = \sup_x\, zx - r(x)$ of a Legendre $r$.

    Evaluated at the maximizer $x = (r')^{-1}(z)$ (`inverse_mirror_map`), so
    $(r^*)' = (r')^{-1}$.

    Args:
        potential: $r(x)$.
        x: the coordinate.
        z: the dual coordinate.

    Returns:
        $r^*(z)$, simplified.

    Raises:
        ValueError: as `inverse_mirror_map`.
    """
    x_of_z = inverse_mirror_map(potential, x, z)
    value = _undo_inverse_compositions(z * x_of_z - potential.subs(x, x_of_z))
    tidy = sp.factor_terms(sp.expand(value))
    # sympy's simplify is slow on hyperbolic expressions: use it only when needed.
    return tidy if sp.count_ops(tidy) <= 12 else sp.simplify(tidy)


def _undo_inverse_compositions(expr: sp.Expr) -> sp.Expr:
    # asinh(sinh(a)) = a and sqrt(c^2 (sinh(a)^2 + 1)) = c cosh(a) for real a, c > 0:
    # sympy leaves both alone, and they appear in every hypentropy conjugate.
    a = sp.Wild("a", properties=[lambda e: e.is_real])
    expr = expr.replace(sp.asinh(sp.sinh(a)), a).replace(sp.atanh(sp.tanh(a)), a)

    def root(base):
        base = sp.factor(base)
        base = base.replace(sp.sinh(a) ** 2 + 1, sp.cosh(a) ** 2)
        return sp.sqrt(sp.factor(base))

    return expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp == sp.S.Half,
        lambda e: root(e.base),
    )


def bregman_divergence(
    potential: sp.Expr, x: sp.Symbol, y: sp.Symbol | None = None
) -> sp.Expr:
    r"""The Bregman divergence of one coordinate, $r(x) - r(y) - r'(y)(x - y)$.

    For separable $R$, $D_R(x, y) = \sum_i D_r(x_i, y_i)$; it is non-negative and
    zero iff $x = y$ (docs/theory/core.md).

    Args:
        potential: $r(x)$.
        x: the first argument.
        y: the second argument (default: a fresh symbol `y` with the assumptions
            of `x`).

    Returns:
        $D_r(x, y)$ (not simplified, to keep its structure readable).
    """
    if y is None:
        y = sp.Symbol("y", **x.assumptions0)
    r_y = potential.subs(x, y)
    return potential - r_y - sp.diff(potential, x).subs(x, y) * (x - y)


def _finite_limit_at_zero(expr: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    direction = "+" if x.is_positive else ("-" if x.is_negative else "+-")
    value = sp.limit(expr, x, 0, dir=direction)
    return value if value.is_finite else None


def legendre_from_metric(metric: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    r"""The potential and mirror map of a given Hessian metric $r''(x)$.

    Integrates twice. The constants follow the theory files: $r'(0) = 0$ and
    $r(0) = 0$ (limits from inside the domain of `x`) wherever these limits are
    finite; otherwise sympy's antiderivative is kept (for $r'' = k/x$ this gives the
    package's $k(x\log x - x)$, whose $r'$ vanishes at $x = 1$).

    Args:
        metric: $r''(x) > 0$ on the domain.
        x: the coordinate (its assumptions give the domain).

    Returns:
        `(potential, mirror_map)` $= (r, r')$.

    Raises:
        ValueError: sympy cannot integrate the metric in closed form.
    """
    first = sp.integrate(metric, x)
    if first.has(sp.Integral):
        raise ValueError(
            f"legendre_from_metric: no closed-form antiderivative of r'' = {metric}; "
            "use the dual route (`induced_conjugate`)."
        )
    offset = _finite_limit_at_zero(first, x)
    if offset is not None:
        first = first - offset
    first = sp.simplify(first)
    second = sp.integrate(first, x)
    if second.has(sp.Integral):
        raise ValueError(
            f"legendre_from_metric: no closed-form antiderivative of r' = {first}; "
            "use the dual route (`induced_conjugate`)."
        )
    offset = _finite_limit_at_zero(second, x)
    if offset is not None:
        second = second - offset
    return sp.simplify(second), first


def time_factor(potential: sp.Expr, unit_potential: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""The time factor $1/k$ between the mirror flows of $r = kq$ and of $q$.

    If $r = kq$ up to an affine function, $\frac{d}{dt}\nabla r(x_t) = -\nabla f$
    is $\frac{d}{ds}\nabla q = -\nabla f$ at $s = t/k$: $x_r(t) = x_q(t/k)$. For
    gradient flow on $u\odot u - v\odot v$, $r = Q_\alpha/4$ and the factor is 4
    (derivations/03_difference_of_squares.py; docs/theory/conventions.md).

    Args:
        potential: $r(x)$.
        unit_potential: $q(x)$, the unit-coefficient form.
        x: the coordinate.

    Returns:
        $1/k = q''/r''$.

    Raises:
        ValueError: $q''/r''$ depends on $x$ ($r$ is not a multiple of $q$).
    """
    ratio = sp.simplify(sp.diff(unit_potential, x, 2) / sp.diff(potential, x, 2))
    if ratio.has(x):
        raise ValueError(
            f"time_factor: r'' / q'' = {sp.simplify(1 / ratio)} depends on x, so "
            "r is not k * q (plus an affine function); no constant time factor."
        )
    return ratio


@dataclasses.dataclass(frozen=True)
class PotentialFamily:
    r"""A separable potential recognized as $k$ times a unit-coefficient family.

    Attributes:
        name: `"SquaredNorm"`, `"NegEntropy"`, `"Hypentropy"` (the package's class
            with these constants), or `"other"`.
        coef: $k$ (1 for `"other"`).
        scale: the hypentropy scale $c$ (`None` for the other families).
    """

    name: str
    coef: sp.Expr
    scale: sp.Expr | None = None

    @property
    def time_factor(self) -> sp.Expr:
        r"""$1/k$: the flow of $kq$ at time $t$ is the flow of $q$ at $t/k$."""
        return sp.simplify(1 / self.coef)


def potential_family(metric: sp.Expr, x: sp.Symbol) -> PotentialFamily:
    r"""Recognize the family of a one-coordinate metric $r''(x)$.

    - $r'' = k$: `SquaredNorm(coef=k)`;
    - $r'' = k/x$ on $x > 0$: `NegEntropy(coef=k)`;
    - $r'' = k/\sqrt{x^2 + c^2}$: `Hypentropy(scale=c, coef=k)`;
    - anything else: `"other"` with $k = 1$ (no unit form; the depth-$D$ potential
      is such a case, and the package gives it time factor 1).

    Args:
        metric: $r''(x)$.
        x: the coordinate.

    Returns:
        The recognized `PotentialFamily`.
    """
    inverse = sp.simplify(1 / metric)
    if not inverse.has(x):
        return PotentialFamily("SquaredNorm", sp.simplify(metric))
    per_x = sp.simplify(inverse / x)
    if x.is_positive and not per_x.has(x):
        return PotentialFamily("NegEntropy", sp.simplify(1 / per_x))
    squared = sp.expand(sp.simplify(inverse**2))
    if squared.is_polynomial(x):
        poly = sp.Poly(squared, x)
        if poly.degree() == 2:
            a, b, c0 = poly.all_coeffs()
            if b == 0 and a.is_positive and c0.is_positive:
                return PotentialFamily(
                    "Hypentropy",
                    sp.simplify(1 / sp.sqrt(a)),
                    sp.simplify(sp.sqrt(c0 / a)),
                )
    return PotentialFamily("other", sp.Integer(1))


def log_form(expr: sp.Expr) -> sp.Expr:
    r"""Rewrite (inverse) hyperbolic functions as exponentials (logarithms), simplify.

    $\operatorname{arcsinh}y = \log(y + \sqrt{y^2+1})$ and
    $\operatorname{artanh}y = \tfrac12\log\frac{1+y}{1-y}$; square roots of perfect
    squares are taken (using the assumptions on the symbols) and logarithms expanded.
    Identities such as $\tfrac12\operatorname{arcsinh}\frac{u^2-v^2}{2uv}
    = \tfrac12\log\frac uv$ ($u, v > 0$) then simplify to zero.

    Args:
        expr: an expression with `asinh`, `atanh`, `acosh`.

    Returns:
        The simplified logarithmic form.
    """
    # Inverse hyperbolic functions become logarithms, hyperbolic ones exponentials,
    # so that sinh(2 artanh t) = 2t / (1 - t^2) becomes rational.
    rewritten = expr.rewrite(sp.log).replace(
        lambda e: isinstance(e, sp.sinh | sp.cosh | sp.tanh),
        lambda e: e.rewrite(sp.exp),
    )
    rewritten = rewritten.replace(
        lambda a: isinstance(a, sp.Pow) and a.exp == sp.S.Half,
        lambda a: sp.sqrt(sp.factor(a.base)),
    )
    return sp.simplify(sp.expand_log(sp.simplify(rewritten), force=True))
