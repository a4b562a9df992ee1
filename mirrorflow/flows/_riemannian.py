"""Riemannian gradient flow in primal coordinates, with an optional decay drift."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import ArrayLike

from .._misc import as_float_array
from .._types import PyTree, Scalar, Vector
from ..potentials import AbstractPotential
from ..problems import AbstractProblem
from ..regularization import AbstractSchedule
from ._base import AbstractScheduledFlow
from ._mirror import check_dim


class RiemannianFlow(AbstractScheduledFlow):
    r"""Riemannian gradient flow in primal coordinates, with an optional drift.

    $$\dot x = -H(x)^{-1}\nabla f(x) - \lambda_t\,D(x).$$

    `metric` is a potential (then $H = \nabla^2 R$: without a schedule this is the
    mirror flow in primal form) or any callable `x -> lineax.AbstractLinearOperator`
    (positive definite). The linear system is solved by lineax (the diagonal solver
    for diagonal metrics); no inverse is formed. With a `schedule` $\lambda_t$ the
    `drift` $D(x) = H(x)^{-1}\nabla h(x)$ is the Riemannian gradient of a decay
    penalty $h$: e.g. GD+HAM's flow has HAM's metric $\mathrm{diag}(1/(1+\alpha|x|))$
    (`HamPotential(alpha)`) and the drift $D(x) = x$ of
    $h_\alpha'(x) = x/(1+\alpha|x|)$ (HAM, Thm B.6).

    State: the weights $x$.

    Args:
        problem: the loss $f$.
        metric: a potential or a callable returning the metric operator.
        schedule: $\lambda_t$, or `None`.
        drift: $D$, required with a schedule.
    """

    problem: AbstractProblem
    metric: AbstractPotential | Callable[[Vector], lx.AbstractLinearOperator]
    schedule: AbstractSchedule | None = None
    drift: Callable[[Vector], Vector] | None = None

    def __check_init__(self):
        if not (isinstance(self.metric, AbstractPotential) or callable(self.metric)):
            raise TypeError(
                "RiemannianFlow: `metric` must be a potential (e.g. Hypentropy(0.1)) "
                "or a function x -> lineax.AbstractLinearOperator, got "
                f"{type(self.metric).__name__} {self.metric!r}."
            )
        if self.drift is not None and not callable(self.drift):
            raise TypeError(
                "RiemannianFlow: `drift` must be a function x -> D(x) (e.g. "
                f"lambda x: x) or None, got {type(self.drift).__name__} "
                f"{self.drift!r}."
            )
        if self.schedule is not None and self.drift is None:
            raise ValueError(
                "RiemannianFlow: a `schedule` needs the `drift` D(x) = H(x)^-1 grad "
                "h(x) of its decay penalty h."
            )

    def _operator(self, x: Vector) -> lx.AbstractLinearOperator:
        if isinstance(self.metric, AbstractPotential):
            return self.metric.hessian(x)
        return self.metric(x)

    def vector_field(self, t: Scalar, y: Vector, args: PyTree) -> Vector:
        operator = self._operator(y)
        solution = lx.linear_solve(operator, self.problem.grad(y), throw=False)
        dy = -solution.value
        if self.schedule is not None:
            dy = dy - self.strength(t, y.dtype) * self.drift(y)
        return dy

    def to_primal(self, y: Vector) -> Vector:
        return y

    def in_domain(self, y: Vector) -> jax.Array | None:
        """Inside the metric potential's domain (`None` for a callable metric)."""
        if isinstance(self.metric, AbstractPotential) and self.metric.bounded_domain:
            return jnp.all(self.metric.in_domain(y))
        return None

    def domain_description(self) -> str:
        if isinstance(self.metric, AbstractPotential):
            return self.metric.domain_description()
        return super().domain_description()

    def initial_state(self, x0: ArrayLike) -> Vector:
        """`x0` itself (checked against the metric's domain)."""
        x0 = as_float_array(x0, "x0", ndim=1)
        if hasattr(self.problem, "d"):
            check_dim(self.problem, x0.shape[0], "x0", "RiemannianFlow")
        if isinstance(self.metric, AbstractPotential):
            self.metric.check_domain(x0, "x0")
        return jnp.asarray(x0)
