"""Discrete optimizers (optax transformations) and the `optimize` loop."""

from ._optimize import OptimizeResult as OptimizeResult, optimize as optimize
