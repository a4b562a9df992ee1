"""Shared jaxtyping aliases (shapes and dtypes of the public API)."""

from typing import Any, TypeAlias

from jaxtyping import Array, ArrayLike, Bool, Float


Scalar: TypeAlias = Float[Array, ""]
ScalarLike: TypeAlias = float | Float[ArrayLike, ""]
Vector: TypeAlias = Float[Array, " d"]
VectorLike: TypeAlias = Float[ArrayLike, " d"]
Matrix: TypeAlias = Float[Array, "n d"]
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
]
