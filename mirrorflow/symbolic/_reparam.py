"""Sympy forms of the separable reparameterizations x = g(params)."""

import dataclasses
from collections.abc import Sequence

import sympy as sp

from ._common import SympyLike, as_expr


@dataclasses.dataclass(frozen=True)
class SeparableReparam:
    r"""A separable reparameterization, written for one coordinate: $x = g(p)$.

    Every coordinate $x_i = g(p_{i,1}, \dots, p_{i,k})$ has its own parameters, so
    gradient flow on $F(p) = f(g(p))$ reads, per coordinate,
    $\dot p_j = -\partial_{p_j} g\,\partial_i f$ (derivations/01 to 04).
    The assumptions on the parameter symbols (e.g. `positive=True`) are the
    parameter domain the helpers work on.

    Attributes:
        map: $g(p)$.
        params: the parameters $(p_1, \dots, p_k)$ of one coordinate.
        name: a label used in messages.
    """

    map: sp.Expr
    params: tuple[sp.Symbol, ...]
    name: str = "g"

    def __post_init__(self):
        if not self.params:
            raise ValueError("SeparableReparam: `params` must not be empty.")
        if len(set(self.params)) != len(self.params):
            raise ValueError("SeparableReparam: `params` must be distinct symbols.")
        missing = [p for p in self.params if not self.map.has(p)]
        if missing:
            raise ValueError(
                f"SeparableReparam: the map {self.map} does not depend on "
                f"{missing}; list only the parameters it uses."
            )

    @property
    def gradient(self) -> tuple[sp.Expr, ...]:
        r"""$(\partial_{p_1} g, \dots, \partial_{p_k} g)$."""
        return tuple(sp.diff(self.map, p) for p in self.params)

    @property
    def inverse_metric_params(self) -> sp.Expr:
        r"""$M = \sum_j (\partial_{p_j} g)^2$, so that $\dot x = -M\,\partial f$."""
        return sp.expand(sum(gj**2 for gj in self.gradient))


def separable_reparam(
    maps: sp.Expr | Sequence[sp.Expr],
    params: Sequence[sp.Symbol],
    name: str = "g",
) -> SeparableReparam:
    r"""Build a `SeparableReparam`, checking that a vector map really is separable.

    Pass either the map of one coordinate, or the maps of several coordinates
    $(x_1, \dots, x_d)$ with all their parameters. A vector map is separable when
    each parameter enters exactly one coordinate and every coordinate is the same
    map of its own parameters (as $m\odot w$ or $u\odot u - v\odot v$); then the
    first coordinate is returned.

    Args:
        maps: $g(p)$, or a sequence $(x_1(p), \dots, x_d(p))$.
        params: the parameters (of all coordinates, for a sequence).
        name: a label used in messages.

    Returns:
        The one-coordinate `SeparableReparam`.

    Raises:
        ValueError: a parameter enters two coordinates (e.g. $x = UV^\top$, a
            non-separable map) or the coordinates are different maps.
    """
    params = tuple(params)
    if isinstance(maps, sp.Expr):
        return SeparableReparam(maps, params, name)
    maps = [as_expr(m, "maps") for m in maps]
    owners: dict[sp.Symbol, int] = {}
    for i, m in enumerate(maps):
        for p in params:
            if m.has(p):
                if p in owners:
                    raise ValueError(
                        f"separable_reparam: `{name}` is not separable: parameter {p} "
                        f"enters x_{owners[p]} and x_{i}. The helpers support "
                        "separable maps, in which every coordinate has its own "
                        "parameters (x_i = g(p_i), e.g. m*w, u**2 - v**2, "
                        "u**D - v**D); factorizations such as U V^T are not."
                    )
                owners[p] = i
    blocks = [[p for p in params if owners.get(p) == i] for i in range(len(maps))]
    first = maps[0]
    for i in range(1, len(maps)):
        if (
            len(blocks[i]) != len(blocks[0])
            or sp.expand(
                maps[i].subs(dict(zip(blocks[i], blocks[0], strict=True))) - first
            )
            != 0
        ):
            raise ValueError(
                f"separable_reparam: coordinate x_{i} = {maps[i]} is not the map "
                f"of x_0 = {first} with renamed parameters; pass one coordinate "
                "at a time."
            )
    return SeparableReparam(first, tuple(blocks[0]), name)


def hadamard(
    m: sp.Symbol | None = None, w: sp.Symbol | None = None
) -> SeparableReparam:
    r"""The mask-weight product $x = m\odot w$ (`mirrorflow.Hadamard`).

    Args:
        m, w: the parameter symbols (default: real symbols `m`, `w`).

    Returns:
        The `SeparableReparam` $g(m, w) = mw$.
    """
    m = sp.Symbol("m", real=True) if m is None else m
    w = sp.Symbol("w", real=True) if w is None else w
    return SeparableReparam(m * w, (m, w), "m*w")


def diff_of_squares(
    u: sp.Symbol | None = None, v: sp.Symbol | None = None
) -> SeparableReparam:
    r"""$x = u\odot u - v\odot v$ (`mirrorflow.DiffOfSquares`).

    Args:
        u, v: the parameter symbols (default: positive symbols `u`, `v`, the
            domain $u_0v_0 > 0$ the package requires).

    Returns:
        The `SeparableReparam` $g(u, v) = u^2 - v^2$.
    """
    u = sp.Symbol("u", positive=True) if u is None else u
    v = sp.Symbol("v", positive=True) if v is None else v
    return SeparableReparam(u**2 - v**2, (u, v), "u**2 - v**2")


def square(w: sp.Symbol | None = None) -> SeparableReparam:
    r"""$x = w\odot w$ (`mirrorflow.Square`).

    Args:
        w: the parameter symbol (default: a positive symbol `w`).

    Returns:
        The `SeparableReparam` $g(w) = w^2$.
    """
    w = sp.Symbol("w", positive=True) if w is None else w
    return SeparableReparam(w**2, (w,), "w**2")


def deep_diagonal(
    depth: SympyLike, u: sp.Symbol | None = None, v: sp.Symbol | None = None
) -> SeparableReparam:
    r"""The depth-$D$ diagonal network $x = u^D - v^D$ (`mirrorflow.DeepDiagonal`).

    Args:
        depth: $D$ (an integer $\ge 2$ or a positive symbol).
        u, v: the parameter symbols (default: positive symbols `u`, `v`).

    Returns:
        The `SeparableReparam` $g(u, v) = u^D - v^D$.
    """
    D = as_expr(depth, "depth", positive=True)
    u = sp.Symbol("u", positive=True) if u is None else u
    v = sp.Symbol("v", positive=True) if v is None else v
    return SeparableReparam(u**D - v**D, (u, v), f"u**{D} - v**{D}")
