"""Shared jaxtyping aliases (shapes and dtypes of the public API)."""

from typing import Any, TypeAlias

from jaxtyping import Array, ArrayLike, Bool, Float


Scalar: TypeAlias = Float[ArrayLike, ""]
ScalarLike: TypeAlias = float | Float[ArrayLike, ""]
Vector: TypeAlias = Float[ArrayLike, " d"]
VectorLike: TypeAlias = Float[ArrayLike, " d"]
Matrix: TypeAlias = Float[Array, "n d"]
#: The weights a reparameterization or a flow maps to: an array of any shape (a
#: vector for the linear problems, a matrix for `SparseCoding` codes, ...).
Weights: TypeAlias = Float[ArrayLike, "..."]
BoolVector: TypeAlias = Bool[Array, " d"]
PyTree: TypeAlias = Any

__all__ = [
    "Array",
    "BoolVector",
    "Matrix",
    "PyTree",
    "Scalar",
    "ScalarLike",
    "Vector",
    "VectorLike",
    "Weights",
]
