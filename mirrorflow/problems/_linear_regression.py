"""Least squares f(x) = (s/2)||Ax - b||^2, the problem all classic results live on."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array
from .._types import Scalar, Vector
from ._base import AbstractLinearProblem


class LinearRegression(AbstractLinearProblem):
    r"""Linear regression $f(x) = \tfrac{s}{2}\|Ax - b\|_2^2$.

    $A\in\mathbb{R}^{n\times d}$.

    $\nabla f(x) = sA^\top(Ax - b)$. The loss is linear in $x$ through $Ax$
    ($f = L(Ax)$ with $\nabla L(r) = s(r - b)$), so mirror flows on it reduce to an
    ODE in $\lambda\in\mathbb{R}^n$, $n$ unknowns instead of $d$ (`ReducedMirrorFlow`).
    Default $s = 1$ is the convention of the classic results and of Mask in the
    Mirror; `mean=True` gives $s = 1/n$, the $\frac{1}{2n}\|\cdot\|^2$ convention of
    Mirror, Mirror and HAM: limits agree, times differ by the factor $n$ (see
    docs/theory/conventions.md).

    Args:
        A: design matrix, shape `(n, d)`.
        b: targets, shape `(n,)`.
        x_star: optional planted solution (`A @ x_star == b`), shape `(d,)`.
        mean: use $s = 1/n$ instead of $s = 1$.
    """

    A: Float[Array, "n d"]
    b: Float[Array, " n"]
    x_star: Float[Array, " d"] | None
    scale: float = eqx.field(static=True)

    def __init__(
        self,
        A: ArrayLike,
        b: ArrayLike,
        x_star: ArrayLike | None = None,
        *,
        mean: bool = False,
    ):
        A = as_float_array(A, "A", ndim=2)
        b = as_float_array(b, "b", ndim=1)
        if b.shape[0] != A.shape[0]:
            raise ValueError(
                "LinearRegression: `b` must have one entry per row of `A`: A has "
                f"shape {A.shape}, "
                f"b has shape {b.shape}."
            )
        if x_star is not None:
            x_star = as_float_array(x_star, "x_star", ndim=1)
            if x_star.shape[0] != A.shape[1]:
                raise ValueError(
                    f"LinearRegression: `x_star` must have shape ({A.shape[1]},), "
                    f"got {x_star.shape}."
                )
        self.A, self.b, self.x_star = A, b, x_star
        self.scale = 1.0 / A.shape[0] if mean else 1.0

    def loss(self, x: Vector) -> Scalar:
        r = self.A @ x - self.b
        return 0.5 * self.scale * jnp.vdot(r, r)

    def grad(self, x: Vector) -> Vector:
        return self.scale * ((self.A @ x - self.b) @ self.A)

    def outer_grad(self, r: Float[Array, " n"]) -> Float[Array, " n"]:
        r"""$\nabla L(r) = s(r - b)$ for $f(x) = L(Ax)$."""
        return self.scale * (r - self.b)

    def outer_loss(self, r: Float[Array, " n"]) -> Scalar:
        r"""$L(r) = \tfrac{s}{2}\|r - b\|_2^2$ at the outputs $r$."""
        res = r - self.b
        return 0.5 * self.scale * jnp.vdot(res, res)


def random_regression(
    d: int,
    n: int,
    k: int,
    seed: int,
    *,
    positive: bool = False,
    mean: bool = False,
) -> LinearRegression:
    r"""The seeded test instance `P(d, n, k, seed)`.

    `A = rng.standard_normal((n, d)) / sqrt(n)`, a planted `k`-sparse $x^\star$ with
    magnitudes in $[0.5, 1.5]$ and random signs (all positive if `positive`),
    `b = A @ x_star`, drawn in that order from `numpy.random.default_rng(seed)`.
    `k = d` gives a dense ground truth.
    """
    for name, val in (("d", d), ("n", n), ("k", k), ("seed", seed)):
        if not isinstance(val, int | np.integer) or val < (0 if name == "seed" else 1):
            kind = "an int >= 0" if name == "seed" else "a positive int"
            raise ValueError(
                f"random_regression: `{name}` must be {kind}, got {val!r}."
            )
    if k > d:
        raise ValueError(
            f"random_regression: `k` (sparsity) must be <= d = {d}, got {k}."
        )
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(n)
    idx = rng.choice(d, k, replace=False)
    x_star = np.zeros(d)
    mags = rng.uniform(0.5, 1.5, k)
    x_star[idx] = mags if positive else mags * rng.choice([-1, 1], k)
    return LinearRegression(A, A @ x_star, x_star, mean=mean)
