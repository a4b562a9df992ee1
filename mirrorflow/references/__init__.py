r"""Independent referees: the lasso, and the minimum-L1 and minimum-L2 interpolants.

These solvers check the flows and the predictions; they share no code with them. They
are not the JAX damped Newton of `mirrorflow.predictions`:

- `lasso`: cyclic coordinate descent in numpy, then the stationarity equations on the
  found support, with a certificate of the lasso's KKT (subgradient) conditions;
- `min_l1_interpolant`: basis pursuit as a linear program (`scipy.optimize.linprog`,
  HiGHS), polished on the found support;
- `min_l2_interpolant`: the closed form $x_0 + A^+(b - Ax_0)$ (numpy pseudo-inverse).

`lasso` returns a `Prediction` (the result type of `mirrorflow.predictions`, defined
here so that this package imports nothing from the predictions); the interpolants
return numpy arrays.
"""

from ._interpolants import (
    min_l1_interpolant as min_l1_interpolant,
    min_l2_interpolant as min_l2_interpolant,
)
from ._lasso import lasso as lasso


__all__ = ["lasso", "min_l1_interpolant", "min_l2_interpolant"]
