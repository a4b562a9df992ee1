"""Gradient flow on parameters, mirror flow (dual), Riemannian flow, reduced flow."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import ArrayLike, Float

from .._misc import as_float_array
from .._types import PyTree, Scalar, Vector
from ..potentials import AbstractPotential
from ..problems import AbstractProblem
from ..reparam import AbstractReparam
from ._base import AbstractFlow


Multipliers = Float[ArrayLike, " n"]


def _check_dim(problem, n: int, name: str) -> None:
    if n != problem.d:
        raise ValueError(
            f"`{name}` has {n} coordinates but the problem has d = {problem.d}; "
            "pass one entry per column of A."
        )


class ReparamGradientFlow(AbstractFlow):
    r"""Gradient flow on parameters: $\dot p = -\nabla_p f(g(p))$.

    The general path: any reparameterization `g`, any differentiable loss; the
    gradient comes from `jax.grad`. State `y` = the parameter pytree, e.g. `(u, v)`.
    By Woodworth et al. (2020) and Gunasekar et al. (2018) its weights
    $x = g(p)$ follow the mirror flow of `reparam.induced_potential(p0)`.
    """

    problem: AbstractProblem
    reparam: AbstractReparam

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        grad = jax.grad(lambda p: self.problem.loss(self.reparam.to_x(p)))(y)
        return jax.tree.map(jnp.negative, grad)

    def to_primal(self, y: PyTree) -> Vector:
        return self.reparam.to_x(y)


class MirrorFlow(AbstractFlow):
    r"""Mirror flow in dual coordinates, $\dot z = -\nabla f(\nabla R^*(z))$.

    The weights are $x = \nabla R^*(z)$.

    This is $\frac{d}{dt}\nabla R(x_t) = -\nabla f(x_t)$ with $z = \nabla R(x)$: no
    Hessian is formed or inverted (the dual form is often the better-conditioned ODE).
    Start it from `y0 = flow.initial_state(x0)` $= \nabla R(x_0)$.
    """

    problem: AbstractProblem
    potential: AbstractPotential

    def vector_field(self, t: Scalar, y: Vector, args: PyTree) -> Vector:
        return -self.problem.grad(self.potential.grad_conjugate(y))

    def to_primal(self, y: Vector) -> Vector:
        return self.potential.grad_conjugate(y)

    def initial_state(self, x0: ArrayLike) -> Vector:
        """$z_0 = \\nabla R(x_0)$ (checks that `x0` is in the potential's domain)."""
        x0 = as_float_array(x0, "x0", ndim=1)
        _check_dim(self.problem, x0.shape[0], "x0")
        self.potential.check_domain(x0, "x0")
        return self.potential.grad(x0)


class RiemannianFlow(AbstractFlow):
    r"""Riemannian gradient flow in primal coordinates.

    $\dot x = -H(x)^{-1}\nabla f(x)$.

    `metric` is a potential (then $H = \nabla^2 R$, the mirror flow in primal form) or
    any callable `x -> lineax.AbstractLinearOperator` (positive definite). The
    linear system is solved by lineax (the diagonal solver for diagonal metrics);
    no inverse is formed.
    """

    problem: AbstractProblem
    metric: AbstractPotential | Callable[[Vector], lx.AbstractLinearOperator]

    def _operator(self, x: Vector) -> lx.AbstractLinearOperator:
        if isinstance(self.metric, AbstractPotential):
            return self.metric.hessian(x)
        return self.metric(x)

    def vector_field(self, t: Scalar, y: Vector, args: PyTree) -> Vector:
        operator = self._operator(y)
        solution = lx.linear_solve(operator, self.problem.grad(y), throw=False)
        return -solution.value

    def to_primal(self, y: Vector) -> Vector:
        return y

    def initial_state(self, x0: ArrayLike) -> Vector:
        """`x0` itself (checked against the metric's domain)."""
        x0 = as_float_array(x0, "x0", ndim=1)
        _check_dim(self.problem, x0.shape[0], "x0")
        if isinstance(self.metric, AbstractPotential):
            self.metric.check_domain(x0, "x0")
        return x0


class ReducedMirrorFlow(AbstractFlow):
    r"""Mirror flow on a loss linear in x, reduced to $\lambda\in\mathbb{R}^n$.

    For $f(x) = L(Ax)$ the dual path stays on $z_0 - A^\top\lambda$, so
    $$x(\lambda) = \nabla R^*(z_0 - A^\top\lambda),\qquad
    \dot\lambda = \nabla L(Ax(\lambda)),
    \quad\lambda(0) = 0,$$
    an ODE with $n$ unknowns instead of $d$, with the exact Jacobian
    $-s\,A\,\mathrm{diag}(\nabla^2R^*(z))\,A^\top$ (symmetric negative semidefinite):
    the fast path when $n \ll d$.

    Args:
        problem: a loss with `is_linear` (linear regression).
        potential: the Legendre function $R$.
        z0: the initial dual point $\nabla R(x_0)$, shape `(d,)`.
    """

    problem: AbstractProblem
    potential: AbstractPotential
    z0: Vector

    def __init__(self, problem, potential: AbstractPotential, z0: Vector):
        if not getattr(problem, "is_linear", False):
            raise ValueError(
                "ReducedMirrorFlow needs a loss linear in x (f = L(Ax)); use "
                "MirrorFlow for other losses."
            )
        z0 = as_float_array(z0, "z0", ndim=1)
        _check_dim(problem, z0.shape[0], "z0")
        self.problem, self.potential, self.z0 = problem, potential, z0

    def dual(self, y: Multipliers) -> Vector:
        """$z = z_0 - A^\\top\\lambda$."""
        # `y @ A`, not `A.T @ y`: XLA on CPU copies the transpose first (3x slower).
        return self.z0 - y @ self.problem.A

    def vector_field(self, t: Scalar, y: Multipliers, args: PyTree) -> Multipliers:
        x = self.potential.grad_conjugate(self.dual(y))
        return self.problem.outer_grad(self.problem.A @ x)

    def to_primal(self, y: Multipliers) -> Vector:
        return self.potential.grad_conjugate(self.dual(y))

    def jacobian(self, t: Scalar, y: Multipliers, args: PyTree) -> jax.Array:
        h = self.potential.conjugate_hessian_diag(self.dual(y))
        A = self.problem.A
        return -self.problem.scale * (A * h[None, :]) @ A.T

    def initial_state(self) -> Multipliers:
        """$\\lambda(0) = 0$."""
        return jnp.zeros(self.problem.n, dtype=self.z0.dtype)


class FlowPaths(eqx.Module):
    """The four computation paths of one reparameterized problem, with their states.

    Built by `flow_paths`; each entry is `(flow, y0)`.
    """

    parameter: tuple[ReparamGradientFlow, PyTree]
    dual: tuple[MirrorFlow, PyTree]
    primal: tuple[RiemannianFlow, PyTree]
    reduced: tuple[ReducedMirrorFlow, PyTree]


def flow_paths(problem, reparam: AbstractReparam, params0: PyTree) -> FlowPaths:
    r"""The parameter, dual, primal and reduced flows that should give one $x(t)$.

    Gradient flow on `reparam` from `params0`, and the mirror flow of the induced
    potential in dual, primal (Riemannian) and reduced coordinates, all on the same
    clock. Used to cross-check the paths (the reparameterization is the mirror flow
    of its induced potential, e.g. Woodworth et al. 2020, Thm 1).
    """
    potential = reparam.induced_potential(params0)
    x0 = reparam.to_x(params0)
    mirror = MirrorFlow(problem, potential)
    z0 = mirror.initial_state(x0)
    riemann = RiemannianFlow(problem, potential)
    reduced = ReducedMirrorFlow(problem, potential, z0)
    return FlowPaths(
        parameter=(ReparamGradientFlow(problem, reparam), params0),
        dual=(mirror, z0),
        primal=(riemann, riemann.initial_state(x0)),
        reduced=(reduced, reduced.initial_state()),
    )
