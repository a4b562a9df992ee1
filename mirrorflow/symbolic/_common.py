"""Shared pieces of `mirrorflow.symbolic`: input coercion, sampling, LaTeX output."""

import random
import sys
from typing import TypeAlias

import sympy as sp


SympyLike: TypeAlias = sp.Expr | int | float


def sympify_safe(value, name: str, call: str = "mirrorflow.symbolic") -> sp.Basic:
    """`value` as a sympy object, never by evaluating a string.

    `sympy.sympify` runs `eval` on strings; here a string is a `TypeError` (build
    the expression with sympy, e.g. `sp.Symbol("a", positive=True) / 2`), and only
    numbers and sympy objects are converted (`strict=True`).
    """
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{call}: `{name}` is a string ({value!r}); strings are not evaluated. "
            "Pass a sympy expression, e.g. sp.Symbol('a', positive=True) / 2."
        )
    try:
        return sp.sympify(value, strict=True)
    except sp.SympifyError:
        raise TypeError(
            f"{call}: `{name}` must be a sympy expression or a number, got "
            f"{type(value).__name__}."
        ) from None


def as_expr(value: SympyLike, name: str, *, positive: bool = False) -> sp.Expr:
    """Sympify `value`, rejecting numbers (or symbols) known to violate `positive`."""
    expr = sympify_safe(value, name)
    if not isinstance(expr, sp.Expr):
        raise ValueError(
            f"`{name}` must be a sympy expression or number, got {value!r}."
        )
    if positive and expr.is_positive is False:
        raise ValueError(
            f"`{name}` must be positive, got {value!r}; declare symbols with "
            "`positive=True` and pass positive numbers."
        )
    return expr


def sample_value(symbol: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational inside the domain the assumptions of `symbol` declare."""
    # Rationals keep later substitutions exact; the grid 1/64 avoids special points.
    if symbol.is_positive or symbol.is_nonnegative:
        return sp.Rational(rng.randint(13, 130), 64)
    if symbol.is_negative or symbol.is_nonpositive:
        return -sp.Rational(rng.randint(13, 130), 64)
    value = sp.Rational(rng.randint(13, 130), 64)
    return value if rng.random() < 0.5 else -value


def latex_equation(label: str, expr: sp.Basic) -> str:
    r"""The line `$label = <LaTeX of expr>$` that derivations print.

    Args:
        label: the left-hand side, already in LaTeX (e.g. `r"\nabla R(x)"`).
        expr: the right-hand side.

    Returns:
        A LaTeX string in inline math delimiters.
    """
    return f"${label} = {sp.latex(expr)}$"


def show(label: str, expr: sp.Basic) -> None:
    r"""Display `label = expr`: rendered math in a notebook, a LaTeX line in a script.

    Derivations call it for every key result, so that `python derivations/NN.py`
    prints the results as LaTeX and the notebook renders them.

    Args:
        label: the left-hand side, in LaTeX.
        expr: the sympy expression to show.
    """
    line = latex_equation(label, expr)
    if "ipykernel" in sys.modules:
        from IPython.display import Math, display

        display(Math(line.strip("$")))
    else:
        print(line)
