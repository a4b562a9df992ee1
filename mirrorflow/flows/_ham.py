r"""The Riemannian gradient flow of GD+HAM (HAM, Jacobs et al. ICLR 2026, Thm B.6)."""

import math

import jax.numpy as jnp
from jaxtyping import ArrayLike

from .._misc import as_float_array
from .._types import PyTree, Scalar, Vector
from ..potentials import HamPotential
from ..problems import AbstractProblem
from ..regularization import AbstractSchedule, ConstantDecay
from ._base import AbstractFlow
from ._flows import _check_dim


def _check_coupling(alpha, who: str) -> float:
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha >= 0):
        raise ValueError(
            f"{who}: `alpha` must be a finite float >= 0 (the gradient-sign coupling), "
            f"got {alpha!r}."
        )
    return float(alpha)


def _as_schedule(beta, who: str) -> AbstractSchedule:
    if isinstance(beta, AbstractSchedule):
        return beta
    if not (isinstance(beta, int | float) and math.isfinite(beta) and beta >= 0):
        raise ValueError(
            f"{who}: `beta` must be a finite float >= 0 (the constant decay) or a "
            f"regularization schedule, got {beta!r}."
        )
    return ConstantDecay(float(beta))


class HamFlow(AbstractFlow):
    r"""The gradient flow of GD+HAM.

    $$\dot x = -(1+\alpha|x|)\odot\nabla f(x) - \beta_t x.$$

    The $\eta\to 0$ limit of HAM's step $\theta\odot\exp(-\eta(\alpha\,
    \mathrm{sign}(\theta)\odot\nabla f + \beta))$ after a gradient step
    (HAM, Thm 4.2, and Thm B.6 for the sign of the half step used here;
    derivations/07_ham_hyperbolic_step.py). It is the Riemannian gradient flow of
    $f + \beta h_\alpha$ in the Hessian metric $\nabla^2R_\alpha =
    \mathrm{diag}(1/(1+\alpha|x|))$ of `HamPotential(alpha)` (the drift
    $-(1+\alpha|x|)\beta\nabla h_\alpha(x)$ equals $-\beta x$, written that way here);
    with $\beta = 0$ it is the mirror flow of $R_\alpha$ and converges to
    $\arg\min_{Ax=b}D_{R_\alpha}(x, x_0)$, with $\beta > 0$ to
    $\arg\min_x f + \beta h_\alpha$ (`predictions.ham_limit`). The right-hand side is
    Lipschitz but not $C^1$ where a coordinate crosses 0.

    State: the weights $x$ (primal coordinates). `alpha = 0` is gradient flow.

    Args:
        problem: the loss $f$.
        alpha: the coupling $\alpha\ge 0$.
        beta: the decay $\beta\ge 0$, or a schedule $\beta_t$ (e.g. `SwitchOff`;
            integrate with `integrate_piecewise` to restart at its jumps).
    """

    problem: AbstractProblem
    alpha: float
    schedule: AbstractSchedule

    def __init__(
        self,
        problem: AbstractProblem,
        alpha: float,
        beta: float | AbstractSchedule = 0.0,
    ):
        self.problem = problem
        self.alpha = _check_coupling(alpha, "HamFlow")
        self.schedule = _as_schedule(beta, "HamFlow")

    @property
    def potential(self) -> HamPotential:
        r"""$R_\alpha$, the Legendre function of the $\beta = 0$ flow (`alpha > 0`)."""
        return HamPotential(self.alpha)

    def inverse_metric(self, x: Vector) -> Vector:
        r"""The diagonal of the inverse metric, $1 + \alpha|x|$."""
        return 1.0 + self.alpha * jnp.abs(x)

    def vector_field(self, t: Scalar, y: Vector, args: PyTree) -> Vector:
        beta = self.schedule.strength(t).astype(y.dtype)
        return -self.inverse_metric(y) * self.problem.grad(y) - beta * y

    def to_primal(self, y: Vector) -> Vector:
        return y

    def initial_state(self, x0: ArrayLike) -> Vector:
        """`x0` itself (checked: finite, one entry per column of A)."""
        x0 = as_float_array(x0, "x0", ndim=1)
        if hasattr(self.problem, "d"):
            _check_dim(self.problem, x0.shape[0], "x0")
        return x0
