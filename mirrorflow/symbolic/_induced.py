"""Induced potentials of separable reparameterizations, primal and dual routes."""

import dataclasses
import functools
import random
from collections.abc import Sequence

import sympy as sp

from ._common import sample_value, sympify_safe
from ._legendre import PotentialFamily, legendre_from_metric, potential_family
from ._reparam import SeparableReparam, separable_reparam


_SUPPORTED = (
    "supported are separable maps with one parameter per coordinate (x = g(w)), or "
    "with two parameters whose gradient flow conserves a quantity the helper can "
    "find (x = phi(p1) + psi(p2), x = phi(p1) * psi(p2)) or that you pass as "
    "`conserved=`, and whose map and conserved quantity are polynomials of degree "
    "<= 2 (m*w, u**2 - v**2, w**2)"
)


def _as_reparam(
    reparam: SeparableReparam | sp.Expr | Sequence[sp.Expr],
    params: Sequence[sp.Symbol] | None,
) -> SeparableReparam:
    if isinstance(reparam, SeparableReparam):
        if params is not None:
            raise ValueError(
                "Pass `params` only with a bare sympy map, not with a "
                "SeparableReparam (it carries its parameters)."
            )
        return reparam
    if params is None:
        raise ValueError(
            "Pass the parameters of the map as `params` (e.g. params=(m, w) for "
            "m*w), or build it with `separable_reparam`."
        )
    return separable_reparam(reparam, params)


def _first_integral_normal_form(raw: sp.Expr, params: tuple[sp.Symbol, ...]) -> sp.Expr:
    # Drop additive and multiplicative constants, and a logarithm around everything:
    # log(u) + log(v) (from x = u^2 - v^2) becomes u*v, as the theory writes it.
    expr = sp.factor_terms(sp.expand(raw))
    _, expr = expr.as_independent(*params, as_Add=True)
    _, expr = sp.factor_terms(expr).as_independent(*params, as_Add=False)
    combined = sp.logcombine(expr, force=True)
    if isinstance(combined, sp.log):
        expr = combined.args[0]
    return sp.simplify(expr)


def _check_conserved(reparam: SeparableReparam, conserved: sp.Expr) -> None:
    flow = sum(
        gj * sp.diff(conserved, pj)
        for gj, pj in zip(reparam.gradient, reparam.params, strict=True)
    )
    if not conserved.has(*reparam.params) or sp.simplify(flow) != 0:
        raise ValueError(
            f"The quantity {conserved} is not conserved by gradient flow on "
            f"x = {reparam.map}: its derivative along the flow is "
            f"-({sp.simplify(flow)}) * f'(x), not 0. A conserved quantity C must "
            "satisfy grad C . grad g = 0."
        )


def conserved_quantity(
    reparam: SeparableReparam | sp.Expr, params: Sequence[sp.Symbol] | None = None
) -> sp.Expr:
    r"""The quantity that gradient flow on a two-parameter separable map conserves.

    Gradient flow $\dot p = -\nabla g(p)\,f'(x)$ conserves $C$ for every loss iff
    $\nabla C\cdot\nabla g = 0$. Two cases are integrated in closed form:

    - $g = \varphi(p_1) + \psi(p_2)$: $\frac{d}{dt}F_j(p_j) = -f'$ for
      $F_j' = 1/\partial_{p_j}g$, so $C = F_1(p_1) - F_2(p_2)$ (for $u^2 - v^2$ this
      is $\tfrac12\log(uv)$, reported as $uv$);
    - $g = \varphi(p_1)\psi(p_2)$: $F_j' = \varphi_j/\varphi_j'$ gives
      $C = F_1 - F_2$ (for $mw$: $m^2 - w^2$).

    Constant factors, additive constants and an outer logarithm are dropped.

    Args:
        reparam: the map (a `SeparableReparam`, or a sympy map with `params`).
        params: its two parameters, for a bare sympy map.

    Returns:
        $C(p_1, p_2)$.

    Raises:
        ValueError: the map does not have two parameters, or is neither additively
            nor multiplicatively separable (pass `conserved=` to the helpers), or
            the integrals have no closed form.
    """
    reparam = _as_reparam(reparam, params)
    if len(reparam.params) != 2:
        raise ValueError(
            f"conserved_quantity: x = {reparam.map} has {len(reparam.params)} "
            "parameter(s) per coordinate; the helper finds conserved quantities of "
            "two-parameter maps only (with one parameter x itself fixes the "
            "parameter, so nothing needs to be conserved)."
        )
    (p1, p2), (g1, g2) = reparam.params, reparam.gradient
    if sp.simplify(sp.diff(reparam.map, p1, p2)) == 0:
        pieces = [(1 / g1, p1), (1 / g2, p2)]
    else:
        split = sp.separatevars(reparam.map, symbols=[p1, p2], dict=True)
        if split is None:
            raise ValueError(
                f"conserved_quantity: x = {reparam.map} is neither a sum "
                "phi(p1) + psi(p2) nor a product phi(p1) * psi(p2), so no conserved "
                "quantity of its gradient flow can be integrated here; pass one as "
                f"`conserved=`. {_SUPPORTED}."
            )
        pieces = [(split[p] / sp.diff(split[p], p), p) for p in (p1, p2)]
    integrals = [sp.integrate(sp.simplify(f), p) for f, p in pieces]
    if any(i.has(sp.Integral) for i in integrals):
        raise ValueError(
            f"conserved_quantity: the first integral of x = {reparam.map} has no "
            "closed form; pass `conserved=`."
        )
    conserved = _first_integral_normal_form(integrals[0] - integrals[1], reparam.params)
    _check_conserved(reparam, conserved)
    return conserved


def _polynomial(
    expr: sp.Expr, params: tuple[sp.Symbol, ...], what: str, shown: sp.Expr
) -> sp.Expr:
    numerator = sp.numer(sp.together(sp.expand(expr)))
    if not numerator.is_polynomial(*params):
        raise ValueError(
            f"The {what} {shown} is not rational in the parameters, so it cannot be "
            f"eliminated in favour of x; {_SUPPORTED}."
        )
    return sp.expand(numerator)


def eliminate_parameters(
    target: sp.Expr,
    reparam: SeparableReparam,
    x: sp.Symbol,
    *,
    conserved: sp.Expr | None = None,
    constant: sp.Symbol | None = None,
    seed: int = 0,
) -> sp.Expr:
    r"""Write a function of the parameters as a function of $x = g(p)$ and $C(p)$.

    Eliminates the parameters from $T = \text{target}(p)$, $x = g(p)$ and
    $c = C(p)$ with a lexicographic Groebner basis, solves the resulting relation for
    $T$, and picks the branch that agrees with `target` at random rational points of
    the parameter domain (the assumptions on the parameter symbols, `x` and
    `constant`). For $m\odot w$ and $T = m^2 + w^2$ the relation is
    $T^2 = 4x^2 + \beta^2$ and the branch is $+\sqrt{4x^2 + \beta^2}$
    (derivations/02_hadamard_mw.py).

    Args:
        target: $T(p)$.
        reparam: the map.
        x: the symbol standing for $g(p)$.
        conserved: $C(p)$ (needed with two parameters).
        constant: the symbol standing for $C(p)$.
        seed: seed of the random sample points.

    Returns:
        $T$ as an expression in `x` and `constant`.

    Raises:
        ValueError: the map is not supported (not rational, degree above 2 with two
            parameters, more than two parameters) or no branch matches.
    """
    params = reparam.params
    if len(params) > 2:
        raise ValueError(
            f"x = {reparam.map} has {len(params)} parameters per coordinate; "
            f"{_SUPPORTED}."
        )
    if len(params) == 2 and (conserved is None or constant is None):
        raise ValueError("Two parameters need `conserved` and `constant`.")
    T = sp.Dummy("T")
    polys = [
        _polynomial(x - reparam.map, params, "map", reparam.map),
        _polynomial(T - target, params, "quantity", target),
    ]
    gens: list[sp.Symbol] = [*params, T, x]
    if len(params) == 2:
        polys.append(
            _polynomial(constant - conserved, params, "conserved quantity", conserved)
        )
        gens.append(constant)
        degree = max(sp.Poly(p, *params).total_degree() for p in polys)
        if degree > 2:
            raise ValueError(
                f"Eliminating the parameters of x = {reparam.map} (conserved "
                f"quantity {conserved}) from {target} gives polynomials of degree "
                f"{degree} > 2 in the parameters, beyond what the helper solves in "
                f"closed form; {_SUPPORTED}."
            )
    basis = sp.groebner(polys, *gens, order="lex")
    relations = [
        e for e in basis.exprs if e.has(T) and not e.free_symbols & set(params)
    ]
    if not relations:
        raise ValueError(
            f"The quantity {target} is not a function of x = {reparam.map}"
            + (f" and C = {conserved}" if conserved is not None else "")
            + f" alone; {_SUPPORTED}."
        )
    relation = min(relations, key=lambda e: sp.degree(e, T))
    candidates = [c for c in sp.solve(relation, T) if not c.has(sp.RootOf, sp.CRootOf)]
    rng = random.Random(seed)
    # Other symbols of the map (constants such as a scale k in x = k m w) get
    # random values too, the same in the candidate and in the target.
    others = (reparam.map.free_symbols | target.free_symbols) - set(params)
    if conserved is not None:
        others |= conserved.free_symbols - set(params)
    others -= {x, constant}
    points = []
    for _ in range(200):
        fixed = {s: sample_value(s, rng) for s in others}
        values = {p: sample_value(p, rng) for p in params} | fixed
        subs = {x: reparam.map.subs(values)} | fixed
        if len(params) == 2:
            subs[constant] = conserved.subs(values)
        if all(_admissible(s, v) for s, v in subs.items()):
            points.append((values, subs))
        if len(points) == 4:
            break
    matches = [c for c in candidates if _agrees(c, target, points)]
    if not points or not matches:
        raise ValueError(
            f"Could not express {target} through x = {reparam.map}"
            + (f" and C = {conserved}" if conserved is not None else "")
            + f" on the declared domain; {_SUPPORTED}."
        )
    return sp.simplify(matches[0])


def _admissible(symbol: sp.Symbol, value: sp.Expr) -> bool:
    if value == 0:
        return False
    if symbol.is_positive and not value.is_positive:
        return False
    return not (symbol.is_negative and not value.is_negative)


def _agrees(candidate: sp.Expr, target: sp.Expr, points) -> bool:
    for values, subs in points:
        have = sp.N(candidate.subs(subs), 30)
        want = sp.N(target.subs(values), 30)
        if not (have.is_real and abs(have - want) <= 1e-25 * (1 + abs(want))):
            return False
    return True


def _weight_symbol(reparam: SeparableReparam) -> sp.Symbol:
    if reparam.map.is_nonnegative:
        return sp.Symbol("x", positive=True)
    if reparam.map.is_nonpositive:
        return sp.Symbol("x", negative=True)
    return sp.Symbol("x", real=True)


@dataclasses.dataclass(frozen=True)
class InducedPotential:
    r"""The mirror flow that gradient flow on a separable reparameterization follows.

    Per coordinate, gradient flow on $f(g(p))$ gives $\dot x = -M(x)\,f'(x)$ with
    $M = \sum_j(\partial_{p_j}g)^2$ written through $x$ and the conserved constant
    $c = C(p_0)$; this is the mirror flow $\frac{d}{dt}r'(x_t) = -f'(x_t)$ of the
    Legendre function with $r'' = 1/M$, on the same clock
    (derivations/01_quadratic_and_entropy.py to 03_difference_of_squares.py).

    Attributes:
        reparam: the map.
        x: the weight coordinate (positive when $g \ge 0$).
        conserved: $C(p)$, or `None` with one parameter.
        constant: the symbol $c$ for the value of $C$ (`None` with one parameter).
        inverse_metric: $M(x; c)$.
        metric: $r''(x) = 1/M$.
        mirror_map: $r'(x)$, with $r'(0) = 0$ where finite.
        potential: $r(x)$, with $r(0) = 0$ where finite.
        family: the recognized family and its constants; `family.time_factor` is
            the package's `time_factor`.
    """

    reparam: SeparableReparam
    x: sp.Symbol
    conserved: sp.Expr | None
    constant: sp.Symbol | None
    inverse_metric: sp.Expr
    metric: sp.Expr
    mirror_map: sp.Expr
    potential: sp.Expr
    family: PotentialFamily

    @property
    def time_factor(self) -> sp.Expr:
        r"""$1/k$: gradient flow at $t$ is the unit-coefficient mirror flow at $t/k$."""
        return self.family.time_factor

    def constant_at(self, params0: Sequence[sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
        """The substitution `{constant: C(params0)}` (empty with one parameter)."""
        if self.constant is None:
            return {}
        values = dict(zip(self.reparam.params, params0, strict=True))
        return {self.constant: sp.simplify(self.conserved.subs(values))}

    def initial_dual(self, params0: Sequence[sp.Expr]) -> sp.Expr:
        r"""$r'(x_0)$ at $x_0 = g(p_0)$: where the dual flow starts."""
        values = dict(zip(self.reparam.params, params0, strict=True))
        x0 = self.reparam.map.subs(values)
        return sp.simplify(
            self.mirror_map.subs(self.constant_at(params0)).subs(self.x, x0)
        )


def induced_potential(
    reparam: SeparableReparam | sp.Expr | Sequence[sp.Expr],
    params: Sequence[sp.Symbol] | None = None,
    *,
    conserved: sp.Expr | None = None,
    constant: sp.Symbol | None = None,
) -> InducedPotential:
    r"""Derive the Legendre function induced by gradient flow on a separable map.

    Steps, as one does them by hand for $w\odot w$, $m\odot w$ and
    $u\odot u - v\odot v$ (derivations/01 to 03):
    1. gradient flow $\dot p_j = -\partial_{p_j}g\,f'$ gives
       $\dot x = -M f'$, $M = \sum_j(\partial_{p_j}g)^2$;
    2. with two parameters, a conserved quantity $C$ (`conserved_quantity`, or
       `conserved`) and $x$ determine $M$ (`eliminate_parameters`);
    3. $r'' = 1/M$, integrated twice with $r'(0) = r(0) = 0$ where finite
       (`legendre_from_metric`);
    4. the family ($k\times$ squared norm, negative entropy or hypentropy) gives the
       time factor $1/k$ (`potential_family`).

    For $x = u\odot u - v\odot v$ this returns the hypentropy with scale $2c$,
    $k = 1/4$ and time factor 4 ($c = u_0v_0$); for $x = m\odot w$ the scale
    $\beta/2$, $k = 1/2$ and time factor 2 ($\beta = m_0^2 - w_0^2 > 0$): the
    package's `DiffOfSquares` and `Hadamard`.

    Args:
        reparam: the map: a `SeparableReparam`, or a sympy map (or a vector of
            coordinate maps) with `params`.
        params: the parameters, for a bare sympy map.
        conserved: a conserved quantity to use instead of the derived one.
        constant: the symbol for its value (default: a positive symbol `c`, i.e. the
            theory's sign condition $C > 0$).

    Returns:
        The `InducedPotential`.

    Raises:
        ValueError: a non-separable map, a map with more than two parameters per
            coordinate, no usable conserved quantity, a `conserved` that is not
            conserved, or no closed form of $M(x)$ or $r$ (the message says what is
            supported, and points to `induced_conjugate` for the dual route).
    """
    reparam = _as_reparam(reparam, params)
    if conserved is not None:
        conserved = sympify_safe(conserved, "conserved", "induced_potential")
    taken = {s.name for s in reparam.map.free_symbols}
    if conserved is not None:
        taken |= {s.name for s in conserved.free_symbols}
    if constant is None:
        constant = sp.Symbol(_fresh_name("c", taken), positive=True)
    elif constant.name in taken:
        raise ValueError(
            f"induced_potential: the name of `constant` ({constant}) is already used "
            f"by the map {reparam.map}; pick another symbol."
        )
    # The derivation depends on the constant only through its assumptions: derive
    # once per (map, conserved quantity, assumptions) and rename the constant.
    placeholder = sp.Symbol(_fresh_name("c", taken), **constant.assumptions0)
    induced = _induced_potential_cached(reparam, conserved, placeholder)
    if induced.constant is None:
        return induced
    rename = {placeholder: constant}
    return dataclasses.replace(
        induced,
        constant=constant,
        inverse_metric=induced.inverse_metric.xreplace(rename),
        metric=induced.metric.xreplace(rename),
        mirror_map=induced.mirror_map.xreplace(rename),
        potential=induced.potential.xreplace(rename),
        family=dataclasses.replace(
            induced.family,
            coef=induced.family.coef.xreplace(rename),
            scale=None
            if induced.family.scale is None
            else induced.family.scale.xreplace(rename),
        ),
    )


def _fresh_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


@functools.lru_cache(maxsize=128)
def _induced_potential_cached(
    reparam: SeparableReparam, conserved: sp.Expr | None, c: sp.Symbol
) -> InducedPotential:
    k = len(reparam.params)
    if k > 2:
        raise ValueError(
            f"induced_potential: x = {reparam.map} has {k} parameters per "
            f"coordinate; {_SUPPORTED}."
        )
    x = _weight_symbol(reparam)
    if k == 1:
        if conserved is not None:
            raise ValueError(
                "induced_potential: a one-parameter map needs no `conserved`."
            )
        conserved_p, c = None, None
    elif conserved is None:
        conserved_p = conserved_quantity(reparam)
    else:
        conserved_p = conserved
        _check_conserved(reparam, conserved_p)
    try:
        inverse_metric = eliminate_parameters(
            reparam.inverse_metric_params, reparam, x, conserved=conserved_p, constant=c
        )
        metric = sp.simplify(1 / inverse_metric)
        potential, mirror = legendre_from_metric(metric, x)
    except ValueError as error:
        raise ValueError(
            f"induced_potential: no closed-form potential for x = {reparam.map}: "
            f"{error} For maps such as u**D - v**D (D >= 3), whose potential has no "
            "elementary closed form, use the dual route `induced_conjugate`."
        ) from error
    return InducedPotential(
        reparam=reparam,
        x=x,
        conserved=conserved_p,
        constant=c,
        inverse_metric=inverse_metric,
        metric=metric,
        mirror_map=mirror,
        potential=potential,
        family=potential_family(metric, x),
    )


@dataclasses.dataclass(frozen=True)
class InducedConjugate:
    r"""The dual route: parameters, inverse mirror map and conjugate as functions of z.

    With $z_t = -\int_0^t f'(x_s)\,ds$ (the dual displacement
    $\nabla R(x_t) - \nabla R(x_0)$), gradient flow is $dp/dz = \nabla g(p)$ with
    $p(0) = p_0$, so $x(z) = g(p(z)) = \nabla R^*(z)$ and $R^*$ is its
    antiderivative (derivations/04_deep_diagonal.py).

    Attributes:
        reparam: the map.
        z: the dual displacement.
        initial: the symbols $p_0$ of the initialization.
        params_of_z: $p(z)$.
        grad_conjugate: $x(z) = (r^*)'(z)$.
        conjugate: $r^*(z)$; for $g$ homogeneous of degree $D$ it is
            $\|p(z)\|^2/(2D)$ (Euler), otherwise $\int_0^z x$.
        conjugate_hessian: $(r^*)''(z) = 1/r''(x(z))$.
        degree: the homogeneity degree of $g$, or `None`.
    """

    reparam: SeparableReparam
    z: sp.Symbol
    initial: tuple[sp.Symbol, ...]
    params_of_z: tuple[sp.Expr, ...]
    grad_conjugate: sp.Expr
    conjugate: sp.Expr
    conjugate_hessian: sp.Expr
    degree: sp.Expr | None


def _homogeneity_degree(reparam: SeparableReparam) -> sp.Expr | None:
    lam = sp.Dummy("lam", positive=True)
    scaled = reparam.map.subs({p: lam * p for p in reparam.params}, simultaneous=True)
    ratio = sp.simplify(
        sp.powsimp(sp.expand_power_base(scaled / reparam.map, force=True), force=True)
    )
    if ratio.has(*reparam.params):
        return None
    degree = sp.simplify(sp.expand_log(sp.log(ratio), force=True) / sp.log(lam))
    return None if degree.has(lam) else degree


def induced_conjugate(
    reparam: SeparableReparam | sp.Expr | Sequence[sp.Expr],
    params: Sequence[sp.Symbol] | None = None,
    *,
    z: sp.Symbol | None = None,
    initial: Sequence[sp.Symbol] | None = None,
) -> InducedConjugate:
    r"""Derive the conjugate potential of a separable map along the dual route.

    Solves $dp/dz = \nabla g(p)$, $p(0) = p_0$ in closed form for

    - additively separable maps $g = \sum_j\varphi_j(p_j)$ (each $p_j$ on its own:
      $F_j(p_j) = F_j(p_{j,0}) + z$ with $F_j' = 1/\varphi_j'$; e.g.
      $u^D - v^D$ gives $u^{2-D} = u_0^{2-D} - D(D-2)z$), and
    - quadratic forms $g = \tfrac12 p^\top Hp$: $p(z) = e^{zH}p_0$ (e.g. $m\odot w$).

    This route works where the primal one has no closed form (depth $D \ge 3$).

    Args:
        reparam: the map (as for `induced_potential`).
        params: the parameters, for a bare sympy map.
        z: the dual symbol (default: real `z`).
        initial: symbols for $p_0$ (default: `u_0`, ... with the assumptions of
            the parameters).

    Returns:
        The `InducedConjugate`.

    Raises:
        ValueError: the map is neither additively separable nor a quadratic form, or
            the parameter ODE has no closed-form solution.
    """
    reparam = _as_reparam(reparam, params)
    params = reparam.params
    z = sp.Symbol("z", real=True) if z is None else z
    if initial is None:
        initial = tuple(sp.Symbol(f"{p.name}_0", **p.assumptions0) for p in params)
    initial = tuple(initial)
    grads = reparam.gradient
    additive = all(
        not gj.has(*[q for q in params if q != pj])
        for gj, pj in zip(grads, params, strict=True)
    )
    hessian = sp.hessian(reparam.map, params)
    quadratic = (
        not hessian.has(*params)
        and sp.expand(
            (sp.Matrix(params).T * hessian * sp.Matrix(params))[0] / 2 - reparam.map
        )
        == 0
    )
    if additive:
        path = []
        for gj, pj, pj0 in zip(grads, params, initial, strict=True):
            if not gj.has(pj):
                path.append(pj0 + gj * z)
                continue
            F = sp.integrate(1 / gj, pj)
            if F.has(sp.Integral):
                raise ValueError(
                    f"induced_conjugate: no closed form for the integral of "
                    f"1/({gj}) in {pj}."
                )
            solutions = [
                s
                for s in sp.solve(sp.Eq(F - F.subs(pj, pj0), z), pj)
                if sp.simplify(s.subs(z, 0) - pj0) == 0
            ]
            if len(solutions) != 1:
                raise ValueError(
                    f"induced_conjugate: could not solve d{pj}/dz = {gj} uniquely; "
                    "declare the sign of the parameters (e.g. positive=True)."
                )
            path.append(sp.simplify(solutions[0]))
    elif quadratic:
        # exp(zH) entrywise in cosh/sinh form: m0 cosh z + w0 sinh z for m*w.
        flow = (hessian * z).exp().applyfunc(sp.exptrigsimp) * sp.Matrix(initial)
        path = [sp.expand(e) for e in flow]
    else:
        raise ValueError(
            f"induced_conjugate: x = {reparam.map} is neither additively separable "
            "(x = phi_1(p_1) + ... + phi_k(p_k)) nor a quadratic form "
            "(x = p^T H p / 2); these are the maps whose parameter flow "
            "dp/dz = grad g(p) the helper solves in closed form."
        )
    # Quadratic forms give sums of exp(k z): write them with cosh/sinh directly
    # (sympy's simplify takes seconds on these).
    tidy = (lambda e: _hyperbolic(e, z)) if not additive else _light_simplify
    subs = dict(zip(params, path, strict=True))
    x_of_z = tidy(reparam.map.subs(subs, simultaneous=True))
    degree = _homogeneity_degree(reparam)
    if degree is not None:
        conjugate = tidy(sum(p**2 for p in path) / (2 * degree))
    else:
        s = sp.Dummy("s")
        conjugate = tidy(sp.integrate(x_of_z.subs(z, s), (s, 0, z)))
    return InducedConjugate(
        reparam=reparam,
        z=z,
        initial=initial,
        params_of_z=tuple(path),
        grad_conjugate=x_of_z,
        conjugate=conjugate,
        conjugate_hessian=tidy(sp.diff(x_of_z, z)),
        degree=degree,
    )


def _light_simplify(expr: sp.Expr) -> sp.Expr:
    # Cheaper than sp.simplify (which takes seconds on these rational powers) and
    # enough for display; the tests compare values, not forms.
    return sp.factor_terms(sp.powsimp(expr))


def _hyperbolic(expr: sp.Expr, z: sp.Symbol) -> sp.Expr:
    # sum_k a_k e^{kz} -> sum_{k>=0} (a_k + a_-k) cosh(kz) + (a_k - a_-k) sinh(kz).
    e = sp.Dummy("e", positive=True)
    laurent = sp.expand(sp.expand(expr.rewrite(sp.exp)).subs(z, sp.log(e)))
    terms = sp.collect(laurent, e, evaluate=False)
    coefficients: dict[sp.Expr, sp.Expr] = {}
    for power, coefficient in terms.items():
        base, k = power.as_base_exp()
        if power == 1:
            k = sp.Integer(0)
        elif base != e:
            return sp.simplify(expr)
        if coefficient.has(e, z) or not k.is_integer:
            return sp.simplify(expr)
        coefficients[k] = coefficients.get(k, 0) + coefficient
    result = sp.factor(coefficients.get(0, 0))
    for k in sorted({abs(k) for k in coefficients if k != 0}):
        a, b = coefficients.get(k, 0), coefficients.get(-k, 0)
        result += sp.factor(a + b) * sp.cosh(k * z) + sp.factor(a - b) * sp.sinh(k * z)
    return result
