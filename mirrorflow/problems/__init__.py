"""Losses with data: any differentiable loss, and losses linear in x through Ax."""

from ._base import (
    AbstractLinearProblem as AbstractLinearProblem,
    AbstractProblem as AbstractProblem,
    require_linear as require_linear,
)
from ._linear_regression import (
    LinearRegression as LinearRegression,
    random_regression as random_regression,
)
