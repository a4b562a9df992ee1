"""Argument checks at the public API's boundary: one message style everywhere.

Every check raises `TypeError` (wrong kind of object: a string, a complex number,
an array where a scalar is needed) or `ValueError` (right kind, bad value: NaN,
inf, outside the domain, wrong shape), with a message that names the call, the
argument and the fix: ``"integrate: `rtol` must be a finite float > 0, got -1.0;
pass e.g. rtol=1e-8."``. Scalars may be Python numbers, numpy scalars or 0-d
(numpy or concrete JAX) arrays. Only for concrete inputs: inside `jit` the checks
of values are skipped (a traced scalar is passed through).
"""

import math
import numbers

import jax
import numpy as np


def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def scalar(
    value,
    call: str,
    name: str,
    *,
    low: float | None = None,
    strict: bool = True,
    high: float | None = None,
    allow_inf: bool = False,
    example: str | None = None,
) -> float:
    """A real scalar as a Python float, checked against `low` (`> low` if
    `strict`, else `>= low`) and `high` (`<= high`); NaN is always refused, inf
    unless `allow_inf`. A traced value is returned as is."""
    if _is_traced(value):
        return value
    need = "a finite float" if not allow_inf else "a float"
    if low is not None:
        need += f" {'>' if strict else '>='} {low:g}"
    if high is not None:
        need += f" and <= {high:g}"
    fix = f"; pass e.g. {name}={example}" if example else ""
    if isinstance(value, bool | np.bool_) or not _real_scalar_like(value):
        raise TypeError(
            f"{call}: `{name}` must be {need}, got {type(value).__name__} "
            f"{_describe(value)}{fix}."
        )
    x = float(np.asarray(value))
    bad = math.isnan(x) or (math.isinf(x) and not allow_inf)
    bad = bad or (low is not None and (x <= low if strict else x < low))
    bad = bad or (high is not None and x > high)
    if bad:
        raise ValueError(
            f"{call}: `{name}` must be {need}, got {_describe(value)}{fix}."
        )
    return x


def _real_scalar_like(value) -> bool:
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, np.generic | np.ndarray | jax.Array) and np.ndim(value) == 0:
        dtype = np.asarray(value).dtype
        return np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
    return False


def integer(value, call: str, name: str, *, low: int = 1, example=None) -> int:
    """An integer `>= low` (Python or numpy integer, or a 0-d integer array)."""
    fix = f"; pass e.g. {name}={example}" if example is not None else ""
    ok_type = isinstance(value, numbers.Integral) and not isinstance(
        value, bool | np.bool_
    )
    if not ok_type and isinstance(value, np.ndarray | jax.Array):
        ok_type = np.ndim(value) == 0 and np.issubdtype(
            np.asarray(value).dtype, np.integer
        )
    if not ok_type:
        raise TypeError(
            f"{call}: `{name}` must be an int >= {low}, got {type(value).__name__} "
            f"{_describe(value)}{fix}."
        )
    v = int(np.asarray(value))
    if v < low:
        raise ValueError(f"{call}: `{name}` must be an int >= {low}, got {v}{fix}.")
    return v


def real_array(
    value,
    call: str,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple | None = None,
    allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """A real numeric array as numpy (float64 for integers), checked for its rank,
    shape, emptiness and finiteness. Complex, string and object arrays are a
    `TypeError`. The caller converts to JAX in its own dtype."""
    if _is_traced(value):
        return value
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise TypeError(
            f"{call}: `{name}` must be a real array, got {type(value).__name__} "
            f"({err})."
        ) from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"{call}: `{name}` is complex ({arr.dtype}); the flows and predictions "
            "are real: pass its real part explicitly (np.real(...)) if that is meant."
        )
    if not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{call}: `{name}` must be a real numeric array, got dtype {arr.dtype} "
            f"({type(value).__name__})."
        )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{call}: `{name}` must have {ndim} dimension(s), got shape {arr.shape}."
        )
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(
            f"{call}: `{name}` must have shape {tuple(shape)}, got {arr.shape}."
        )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{call}: `{name}` is empty; pass at least one entry.")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"{call}: `{name}` has {bad} NaN/inf entr{'y' if bad == 1 else 'ies'}; "
            "pass finite values."
        )
    return arr


def instance(value, types, call: str, name: str, what: str):
    """`value` if it is an instance of `types`, else a `TypeError` saying `what`
    is expected."""
    if not isinstance(value, types):
        raise TypeError(
            f"{call}: `{name}` must be {what}, got {type(value).__name__} "
            f"{_describe(value)}."
        )
    return value


def plain_float(value):
    """A numpy or 0-d array real scalar as a Python float; anything else as is
    (for dataclass fields: the field's check then names what is wrong)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, np.floating | np.integer):
        return float(value)
    if (
        hasattr(value, "shape")
        and getattr(value, "shape", None) == ()
        and not _is_traced(value)
    ):
        arr = np.asarray(value)
        if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(
            arr.dtype, np.integer
        ):
            return float(arr)
    return value
