"""The time-dependent potential that weight decay creates on a separable map."""

import dataclasses
from collections.abc import Sequence

import sympy as sp

from ._common import sympify_safe
from ._induced import (
    InducedPotential,
    _as_reparam,
    eliminate_parameters,
    induced_potential,
)
from ._reparam import SeparableReparam


@dataclasses.dataclass(frozen=True)
class TimeDependentPotential:
    r"""Gradient flow with weight decay as a time-dependent mirror flow.

    For $F_t(p) = f(g(p)) + \lambda_t h(p)$ with dose $\Lambda_t = \int_0^t\lambda$,
    the conserved constant of the undecayed flow moves autonomously,
    $\dot c = -\lambda_t\,\psi(c)$, the weights follow
    $\dot x = -M(x; c)f'(x) - \lambda_t\,\delta(x; c)$, and
    $\frac{d}{dt}\,r'_{c_t}(x_t) = -f'(x_t)$: weight decay only moves the scale of
    the Legendre function (Mask in the Mirror, Thm 3.1; Mirror, Mirror, Thm 3.1;
    derivations/06_weight_decay_time_dependent.py).

    Attributes:
        induced: the potential $r_c$ of the undecayed flow, with its constant $c$.
        penalty: $h(p)$.
        dose: the symbol $\Lambda = \int_0^t\lambda_s\,ds$.
        initial_constant: the symbol $c_0$.
        rate: $\psi(c) = \nabla C\cdot\nabla h$.
        drift: $\delta(x; c) = \nabla g\cdot\nabla h$.
        schedule: $c(\Lambda)$ with $c(0) = c_0$.
        potential: $r_{c(\Lambda)}(x)$.
        mirror_map: $r'_{c(\Lambda)}(x)$.
    """

    induced: InducedPotential
    penalty: sp.Expr
    dose: sp.Symbol
    initial_constant: sp.Symbol
    rate: sp.Expr
    drift: sp.Expr
    schedule: sp.Expr
    potential: sp.Expr
    mirror_map: sp.Expr

    @property
    def x(self) -> sp.Symbol:
        """The weight coordinate."""
        return self.induced.x

    @property
    def constant(self) -> sp.Symbol:
        """The symbol $c$ of the scale (the conserved quantity's current value)."""
        return self.induced.constant


def weight_decay_potential(
    reparam: SeparableReparam | sp.Expr | Sequence[sp.Expr],
    penalty: sp.Expr,
    params: Sequence[sp.Symbol] | None = None,
    *,
    conserved: sp.Expr | None = None,
    constant: sp.Symbol | None = None,
    dose: sp.Symbol | None = None,
) -> TimeDependentPotential:
    r"""Derive the time-dependent potential created by weight decay.

    Steps (as in derivations/06_weight_decay_time_dependent.py):
    1. the undecayed flow's potential $r_c$ and conserved quantity $C$
       (`induced_potential`);
    2. $\frac{d}{dt}C = -\lambda_t\,\nabla C\cdot\nabla h$, which must be a function
       $\psi(C)$ alone (the admissible penalties: for $m\odot w$, $h = m^2 + w^2$
       gives $\psi = 4C$); integrating, $c(\Lambda)$;
    3. $\dot x = -M f' - \lambda_t\,\nabla g\cdot\nabla h$;
    4. the identity $r_c''(x)\,\delta(x; c) + \psi(c)\,\partial_c r_c'(x) = 0$, which
       makes $\frac{d}{dt}r'_{c_t}(x_t) = -f'(x_t)$.

    Args:
        reparam: the map (as for `induced_potential`); it needs two parameters.
        penalty: $h(p)$, the regularizer multiplying $\lambda_t$.
        params: the parameters, for a bare sympy map.
        conserved: a conserved quantity to use instead of the derived one.
        constant: the symbol for its value (default: positive `c`).
        dose: the symbol for $\Lambda$ (default: nonnegative `Lambda`).

    Returns:
        The `TimeDependentPotential`.

    Raises:
        ValueError: the map has one parameter (nothing for weight decay to move),
            the penalty changes $C$ at a rate that depends on $x$ (not admissible;
            Mirror, Mirror, Cor. 3.1: the penalty must be built from the
            monomials of $g$), or the identity of step 4 fails; and every error of
            `induced_potential`.
    """
    reparam = _as_reparam(reparam, params)
    if len(reparam.params) != 2:
        raise ValueError(
            f"weight_decay_potential: x = {reparam.map} has {len(reparam.params)} "
            "parameter(s) per coordinate; the time-dependent potential is built on "
            "the conserved quantity of a two-parameter map (m*w, u**2 - v**2)."
        )
    penalty = sympify_safe(penalty, "penalty", "weight_decay_potential")
    induced = induced_potential(reparam, conserved=conserved, constant=constant)
    c, x = induced.constant, induced.x
    grad_h = [sp.diff(penalty, p) for p in reparam.params]
    rate_p = sp.expand(
        sum(
            sp.diff(induced.conserved, p) * h
            for p, h in zip(reparam.params, grad_h, strict=True)
        )
    )
    drift_p = sp.expand(
        sum(g * h for g, h in zip(reparam.gradient, grad_h, strict=True))
    )
    try:
        rate = eliminate_parameters(
            rate_p, reparam, x, conserved=induced.conserved, constant=c
        )
        drift = eliminate_parameters(
            drift_p, reparam, x, conserved=induced.conserved, constant=c
        )
    except ValueError as error:
        raise ValueError(
            f"weight_decay_potential: the penalty {penalty} is not admissible for "
            f"x = {reparam.map}: {error}"
        ) from error
    if rate.has(x) or rate == 0:
        raise ValueError(
            f"weight_decay_potential: the penalty {penalty} changes the conserved "
            f"quantity {induced.conserved} at rate {rate_p}, which is "
            + ("zero" if rate == 0 else "not a function of it alone")
            + ", so there is no time-dependent potential of this form. Admissible "
            "penalties are built from the monomials of the map (e.g. m**2 + w**2 "
            "for m*w, u**2 + v**2 for u**2 - v**2)."
        )
    residual = sp.simplify(
        induced.metric * drift + rate * sp.diff(induced.mirror_map, c)
    )
    if residual != 0:
        raise ValueError(
            "weight_decay_potential: the identity r'' * drift + psi * d r'/dc = 0 "
            f"fails (residual {residual}); the decayed flow is not a time-dependent "
            "mirror flow of r_c."
        )
    dose = sp.Symbol("Lambda", nonnegative=True) if dose is None else dose
    c0 = sp.Symbol(f"{c.name}_0", **c.assumptions0)
    level = sp.integrate(1 / rate, c)
    solutions = [
        s
        for s in sp.solve(sp.Eq(level - level.subs(c, c0), -dose), c)
        if sp.simplify(s.subs(dose, 0) - c0) == 0
    ]
    if len(solutions) != 1:
        raise ValueError(
            f"weight_decay_potential: could not solve dc/dLambda = -({rate}) in "
            "closed form."
        )
    schedule = sp.simplify(solutions[0])
    return TimeDependentPotential(
        induced=induced,
        penalty=penalty,
        dose=dose,
        initial_constant=c0,
        rate=rate,
        drift=drift,
        schedule=schedule,
        potential=induced.potential.subs(c, schedule),
        mirror_map=induced.mirror_map.subs(c, schedule),
    )
