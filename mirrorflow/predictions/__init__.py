"""Predictions of implicit bias: where a flow converges, as one `Prediction`.

`predict` covers mirror flows with or without weight decay (Bregman projections,
time-dependent projections at the total dose, the lasso for constant decay) and
`ham_limit` the HAM flow. Every Newton solve runs through one compiled
damped-Newton loop (`_newton.newton_minimize`). The independent referees (lasso,
min-L1, min-L2) live in `mirrorflow.references`.
"""

from ..references._prediction import Prediction as Prediction
from ._penalized import ham_limit as ham_limit
from ._predict import predict as predict


__all__ = ["Prediction", "ham_limit", "predict"]
