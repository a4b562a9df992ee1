r"""Independent referees: the lasso, min-L1, min-L2 and min-nuclear-norm interpolants.

These solvers check the flows and the predictions; they share no code with them. They
are not the JAX damped Newton of `mirrorflow.predictions`:

- `lasso`: cyclic coordinate descent in numpy, then the stationarity equations on the
  found support, with a certificate of the lasso's KKT (subgradient) conditions;
- `min_l1_interpolant`: basis pursuit as a linear program (`scipy.optimize.linprog`,
  HiGHS), polished on the found support;
- `min_l2_interpolant`: the closed form $x_0 + A^+(b - Ax_0)$ (numpy pseudo-inverse);
- `min_nuclear_norm`: the convex program $\min\|X\|_*$ subject to the measurements
  (cvxpy), with its duality gap as certificate.

`lasso` and `min_nuclear_norm` return a `Prediction` (the result type of
`mirrorflow.predictions`, defined here so that this package imports nothing from the
predictions); the interpolants return numpy arrays.
"""

from ._interpolants import (
    min_l1_interpolant as min_l1_interpolant,
    min_l2_interpolant as min_l2_interpolant,
)
from ._lasso import lasso as lasso
from ._nuclear import min_nuclear_norm as min_nuclear_norm


__all__ = ["lasso", "min_l1_interpolant", "min_l2_interpolant", "min_nuclear_norm"]
