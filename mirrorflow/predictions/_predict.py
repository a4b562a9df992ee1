"""`predict`: the theory's limit of a flow."""

import jax.numpy as jnp

from ..potentials import AbstractPotential
from ..problems import AbstractProblem
from ._bregman import Projection, bregman_projection


def predict(
    problem: AbstractProblem,
    potential: AbstractPotential,
    *,
    x0=None,
    z0=None,
    tol: float = 1e-12,
) -> Projection:
    r"""The implicit bias: where the mirror flow of `potential` on `problem` converges.

    For a loss linear in $x$ with an underdetermined design ($n < d$), every mirror
    flow started at $x_0$ that reaches an interpolant converges to the Bregman
    projection $\arg\min_{Ax=b} D_R(x, x_0)$ (Gunasekar et al. 2018, Thm 1). Gradient
    flow on a reparameterization is covered by passing
    `reparam.induced_potential(params0)` and $x_0 = g(\text{params}_0)$.

    Args:
        problem: a `LinearRegression`.
        potential: the flow's Legendre function.
        x0: the flow's initial weights, or `z0` its initial dual point.
        tol: relative residual of the projection.

    Raises:
        ValueError: the problem is not linear or not underdetermined.
    """
    if not getattr(problem, "is_linear", False):
        raise ValueError(
            "predict: only losses linear in x (f = L(Ax)) have a Bregman-projection "
            "limit; pass a LinearRegression."
        )
    problem.check_underdetermined("predict")
    return bregman_projection(
        potential,
        problem.A,
        problem.b,
        x0=x0,
        z0=z0 if z0 is None else jnp.asarray(z0),
        tol=tol,
    )
