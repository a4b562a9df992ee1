"""Closed-form and convex-program predictions of implicit bias."""

from ._bregman import Projection as Projection, bregman_projection as bregman_projection
from ._interpolants import (
    min_l1_interpolant as min_l1_interpolant,
    min_l2_interpolant as min_l2_interpolant,
)
from ._predict import predict as predict
