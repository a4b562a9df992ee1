r"""Mirror flows in dual coordinates, in full ($z$) and reduced ($\lambda$) form.

One mechanism for fixed and time-dependent potentials: the flow
$\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t)$ in dual coordinates is
$\dot z = -\nabla f(\nabla R^*_{\Lambda_t}(z))$; a fixed potential is the constant
family (no schedule: $\Lambda = 0$). Weight decay leaves the dual dynamics untouched
and acts only through the dose on the map back $x = \nabla R^*_{\Lambda_t}(z)$
(Mask in the Mirror, Thm 3.1; Mirror, Mirror of the Flow, Thm 3.1;
derivations/06_weight_decay_time_dependent.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._misc import as_float_array
from .._types import PyTree, Scalar, ScalarLike, Vector
from ..potentials import AbstractPotentialFamily, AbstractSeparablePotentialFamily
from ..problems import AbstractLinearProblem, AbstractProblem, require_linear
from ..regularization import AbstractSchedule
from ._base import AbstractScheduledFlow


Multipliers = Float[ArrayLike, " n"]


def check_dim(problem, n: int, name: str, call: str = "flow") -> None:
    """Raise `ValueError` unless `n` equals the problem's number of weights."""
    if n != problem.d:
        raise ValueError(
            f"{call}: `{name}` has {n} coordinates but the problem has "
            f"d = {problem.d}; pass one entry per weight (column of A)."
        )


class MirrorFlow(AbstractScheduledFlow):
    r"""Mirror flow in dual coordinates: $\dot z = -\nabla f(x)$, $x = \nabla R^*(z)$.

    In full, $\dot z = -\nabla f(\nabla R^*_{\Lambda_t}(z))$.

    The weights are $x = \nabla R^*_{\Lambda_t}(z)$. This is
    $\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t)$ with
    $z = \nabla R_{\Lambda_t}(x)$: no Hessian is formed or inverted (the dual form
    is often the better-conditioned ODE). Without a schedule it is the mirror flow
    of a fixed potential (Gunasekar et al. 2018); with one, the time-dependent
    mirror flow of weight decay, equal on $x$ to `GradientFlow` with the same
    schedule when `potential` is `reparam.decay_family(p0)`.

    State: `z`, or `(z, s)` with a schedule (see `AbstractScheduledFlow`). Start
    it from `flow.initial_state(x0)`.

    Args:
        problem: any differentiable loss.
        potential: a potential or a weight-decay family $R_\Lambda$.
        schedule: $\lambda_t$, or `None`.
    """

    problem: AbstractProblem
    potential: AbstractPotentialFamily
    schedule: AbstractSchedule | None = None

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        x = self.potential.grad_conjugate(self._coordinates(y), self.dose(y))
        return self._with_clock(t, y, -self.problem.grad(x))

    def to_primal(self, y: PyTree) -> Vector:
        return self.potential.grad_conjugate(self._coordinates(y), self.dose(y))

    def in_domain(self, y: PyTree) -> jax.Array | None:
        """Is the dual point inside the domain of the potential's conjugate?
        (`None` where that domain is every finite point.)"""
        if not self.potential.bounded_dual_domain:
            return None
        return jnp.all(
            self.potential.in_dual_domain(self._coordinates(y), self.dose(y))
        )

    def domain_description(self) -> str:
        return (
            f"the dual state z must stay where the mirror map of "
            f"{type(self.potential).__name__} can be inverted."
        )

    def initial_state(
        self,
        x0: ArrayLike | None = None,
        *,
        z0: ArrayLike | None = None,
        t0: ScalarLike = 0.0,
        dose0: ScalarLike | None = None,
    ) -> PyTree:
        r"""The state at the weights `x0` ($z_0 = \nabla R_{\Lambda_0}(x_0)$).

        Pass the dual point `z0` instead for families known only through their
        conjugates (`CommutingQuadraticPotential`, whose $z_0$ is 0). With a
        schedule the clock starts at `t0` (or the dose at `dose0`, for schedules
        without a closed-form dose).
        """
        if (x0 is None) == (z0 is None):
            raise ValueError("initial_state: pass exactly one of `x0` and `z0`.")
        if z0 is not None:
            z = as_float_array(z0, "z0", ndim=1)
            check_dim(self.problem, z.shape[0], "z0", type(self).__name__)
            return self._clock_state(z, t0, dose0)
        x = as_float_array(x0, "x0", ndim=1)
        check_dim(self.problem, x.shape[0], "x0", type(self).__name__)
        if not isinstance(self.potential, AbstractSeparablePotentialFamily):
            raise ValueError(
                f"initial_state: {type(self.potential).__name__} has no mirror map "
                "in closed form; pass the dual start `z0` (from "
                "`reparam.decay_family(params0)`)."
            )
        state = self._clock_state(x, t0, dose0)
        dose = self.dose(state)
        member = self.potential.at(dose)
        member.check_domain(x, "x0")
        return self._clock_state(member.grad(x), t0, dose0)


class ReducedMirrorFlow(AbstractScheduledFlow):
    r"""Mirror flow on a loss linear in x, in multipliers $\lambda\in\mathbb{R}^n$.

    For $f(x) = L(Ax)$ the dual path stays on $z_0 - A^\top\lambda$ whatever the
    dose, so
    $$x(\lambda) = \nabla R^*_{\Lambda_t}(z_0 - A^\top\lambda),\qquad
    \dot\lambda = \nabla L(Ax(\lambda)),\quad\lambda(0) = 0,$$
    an ODE with $n$ unknowns instead of $d$, with the exact Jacobian
    $-s\,A\,\mathrm{diag}(\nabla^2R^*(z))\,A^\top$ (symmetric negative
    semidefinite): the fast path when $n \ll d$ (the invariant behind Mask in the
    Mirror, Thm 3.3: $\nabla R_{\Lambda_t}(x_t) - z_0 \in \mathrm{range}A^\top$).

    State: `lam`, or `(lam, s)` with a schedule.

    Args:
        problem: an `AbstractLinearProblem` (`LinearRegression`).
        potential: a separable potential or family.
        z0: the initial dual point $\nabla R_{\Lambda_0}(x_0)$, shape `(d,)`: it
            defines the affine dual path, so it is part of the flow.
        schedule: $\lambda_t$, or `None`.
    """

    problem: AbstractLinearProblem
    potential: AbstractSeparablePotentialFamily
    z0: Vector
    schedule: AbstractSchedule | None

    def __init__(
        self,
        problem: AbstractProblem,
        potential: AbstractPotentialFamily,
        z0: ArrayLike,
        schedule: AbstractSchedule | None = None,
    ):
        require_linear(problem, "ReducedMirrorFlow (use MirrorFlow for other losses)")
        if not isinstance(potential, AbstractSeparablePotentialFamily):
            raise ValueError(
                "ReducedMirrorFlow: `potential` must be separable (a potential, "
                "TimeDependentHypentropy or TimeDependentDeepDiagonal); use "
                "MirrorFlow for CommutingQuadraticPotential."
            )
        z0 = as_float_array(z0, "z0", ndim=1)
        check_dim(problem, z0.shape[0], "z0", "ReducedMirrorFlow")
        self.problem, self.potential, self.z0 = problem, potential, z0
        self.schedule = schedule

    def dual(self, y: PyTree) -> Vector:
        """$z = z_0 - A^\\top\\lambda$."""
        # `lam @ A`, not `A.T @ lam`: XLA on CPU copies the transpose first (3x slower).
        return self.z0 - self._coordinates(y) @ self.problem.A

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        return self._with_clock(t, y, self.problem.outer_grad(self._outputs(y)))

    def vector_field_and_loss(
        self, t: Scalar, y: PyTree, args: PyTree
    ) -> tuple[PyTree, Scalar]:
        r"""The field and the loss from one product $r = Ax(\lambda)$."""
        r = self._outputs(y)
        field = self._with_clock(t, y, self.problem.outer_grad(r))
        return field, self.problem.outer_loss(r)

    def loss(self, y: PyTree) -> Scalar:
        return self.problem.outer_loss(self._outputs(y))

    def _outputs(self, y: PyTree) -> Vector:
        r"""$r = A\,\nabla R^*(z_0 - A^\top\lambda)$: two passes over $A$ (one
        blocked pass computing both products was 2x slower under XLA on CPU)."""
        return self.problem.A @ self.to_primal(y)

    def to_primal(self, y: PyTree) -> Vector:
        return self.potential.grad_conjugate(self.dual(y), self.dose(y))

    def in_domain(self, y: PyTree) -> jax.Array | None:
        """Is the dual point $z_0 - A^\\top\\lambda$ inside the conjugate's domain?
        (`None` where that domain is every finite point.)"""
        if not self.potential.bounded_dual_domain:
            return None
        return jnp.all(self.potential.in_dual_domain(self.dual(y), self.dose(y)))

    def domain_description(self) -> str:
        return (
            f"the dual point z0 - A^T lam must stay where the mirror map of "
            f"{type(self.potential).__name__} can be inverted."
        )

    def jacobian(self, t: Scalar, y: PyTree, args: PyTree) -> jax.Array:
        if self.schedule is not None:
            return super().jacobian(t, y, args)
        h = self.potential.conjugate_hessian_diag(self.dual(y), 0.0)
        A = self.problem.A
        return -self.problem.scale * (A * h[None, :]) @ A.T

    def initial_state(
        self,
        x0: ArrayLike | None = None,
        *,
        t0: ScalarLike = 0.0,
        dose0: ScalarLike | None = None,
    ) -> PyTree:
        r"""$\lambda(0) = 0$ (with the clock `t0` or dose `dose0` under a schedule).

        The start is fixed by `z0`; pass `x0` to have it checked: it must equal
        $\nabla R^*_{\Lambda_0}(z_0)$.
        """
        lam0 = jnp.zeros(self.problem.n, dtype=self.z0.dtype)
        state = self._clock_state(lam0, t0, dose0)
        if x0 is not None:
            x0 = as_float_array(x0, "x0", ndim=1)
            check_dim(self.problem, x0.shape[0], "x0", type(self).__name__)
            start = np.asarray(self.to_primal(state))
            x0 = np.asarray(x0)
            if not np.allclose(start, x0, rtol=1e-10, atol=1e-12):
                raise ValueError(
                    "ReducedMirrorFlow.initial_state: `x0` is not the start fixed by "
                    "`z0` (grad R*(z0)); build the flow with z0 = grad R(x0)."
                )
        return state
