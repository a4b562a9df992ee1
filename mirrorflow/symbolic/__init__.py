r"""Sympy forms of the package's potentials and reparameterizations, and derivations.

Everything here works one coordinate at a time: the potentials of the package are
separable, $R(x) = \sum_i r(x_i)$, and the reparameterizations are separable,
$x_i = g(p_i)$. The helpers derive what the theory files derive by hand:

- `induced_potential`: the Legendre function $r$ of gradient flow on a separable map,
  from its parameter-space flow and conserved quantity, and the time factor;
- `induced_conjugate`: the dual route ($r^*$ from $dp/dz = \nabla g$), which also
  covers depth $D \ge 3$ where $r$ has no closed form;
- `mirror_map`, `inverse_mirror_map`, `hessian_metric`, `convex_conjugate`,
  `bregman_divergence`, `time_factor`;
- `weight_decay_potential`: the time-dependent potential created by weight decay.

The numeric code in `mirrorflow` is written by hand, not generated from these
expressions; `tests/test_derivations.py` checks that the two agree.
"""

from ._common import latex_equation as latex_equation, show as show
from ._induced import (
    InducedConjugate as InducedConjugate,
    InducedPotential as InducedPotential,
    conserved_quantity as conserved_quantity,
    eliminate_parameters as eliminate_parameters,
    induced_conjugate as induced_conjugate,
    induced_potential as induced_potential,
)
from ._legendre import (
    PotentialFamily as PotentialFamily,
    bregman_divergence as bregman_divergence,
    convex_conjugate as convex_conjugate,
    hessian_metric as hessian_metric,
    inverse_mirror_map as inverse_mirror_map,
    legendre_from_metric as legendre_from_metric,
    log_form as log_form,
    mirror_map as mirror_map,
    potential_family as potential_family,
    time_factor as time_factor,
)
from ._potentials import (
    deep_diagonal_conjugate as deep_diagonal_conjugate,
    hypentropy as hypentropy,
    neg_entropy as neg_entropy,
    squared_norm as squared_norm,
)
from ._reparam import (
    SeparableReparam as SeparableReparam,
    deep_diagonal as deep_diagonal,
    diff_of_squares as diff_of_squares,
    hadamard as hadamard,
    separable_reparam as separable_reparam,
    square as square,
)
from ._weight_decay import (
    TimeDependentPotential as TimeDependentPotential,
    weight_decay_potential as weight_decay_potential,
)


__all__ = [
    "InducedConjugate",
    "InducedPotential",
    "PotentialFamily",
    "SeparableReparam",
    "TimeDependentPotential",
    "bregman_divergence",
    "conserved_quantity",
    "convex_conjugate",
    "deep_diagonal",
    "deep_diagonal_conjugate",
    "diff_of_squares",
    "eliminate_parameters",
    "hadamard",
    "hessian_metric",
    "hypentropy",
    "induced_conjugate",
    "induced_potential",
    "inverse_mirror_map",
    "latex_equation",
    "legendre_from_metric",
    "log_form",
    "mirror_map",
    "neg_entropy",
    "potential_family",
    "separable_reparam",
    "show",
    "square",
    "squared_norm",
    "time_factor",
    "weight_decay_potential",
]
