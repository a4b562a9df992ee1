"""Losses with data."""

from ._base import AbstractProblem as AbstractProblem
from ._linear_regression import (
    LinearRegression as LinearRegression,
    random_regression as random_regression,
)
