"""Closed-form and convex-program predictions of implicit bias."""

from ._bregman import Projection as Projection, bregman_projection as bregman_projection
from ._ham import StationaryPoint as StationaryPoint, ham_limit as ham_limit
from ._interpolants import (
    min_l1_interpolant as min_l1_interpolant,
    min_l2_interpolant as min_l2_interpolant,
)
from ._lasso import LassoSolution as LassoSolution, lasso as lasso
from ._predict import predict as predict
from ._time_dependent import predict_regularized as predict_regularized
