"""Gradient flow on the parameters of a reparameterized model."""

import jax
import jax.numpy as jnp

from .._types import PyTree, Scalar, Weights
from ..problems import AbstractProblem
from ..regularization import AbstractSchedule
from ..reparam import AbstractReparam
from ._base import AbstractScheduledFlow


class GradientFlow(AbstractScheduledFlow):
    r"""Gradient flow on parameters, with optional scheduled weight decay.

    $$\dot p = -\nabla_p\big[f(g(p)) + \lambda_t h(p)\big],$$

    $g$ the reparameterization, $h$ its own penalty (`reparam.penalty`; for
    $x = m\odot w$: $\dot m = -w\odot\nabla f - 2\lambda_tm$, the mask convention of
    docs/theory/conventions.md) and $\lambda_t$ the `schedule` (none: plain gradient
    flow). The general path: any reparameterization, any differentiable loss, the
    gradient from `jax.grad`. The state is the parameter pytree, e.g. `(u, v)`.

    Its weights follow the mirror flow of `reparam.induced_potential(p0)`
    (Woodworth et al. 2020; Gunasekar et al. 2018) and, with decay, the
    time-dependent mirror flow of `reparam.decay_family(p0)` (Mask in the Mirror,
    Thm 3.1; Mirror, Mirror, Thm 3.1).

    Args:
        problem: the loss $f$.
        reparam: $g$.
        schedule: $\lambda_t$, or `None`.
    """

    problem: AbstractProblem
    reparam: AbstractReparam
    schedule: AbstractSchedule | None = None

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        dtype = jnp.result_type(*jax.tree.leaves(y))
        if self.schedule is None:

            def objective(p):
                return self.problem.loss(self.reparam.to_x(p))

        else:
            lam = self.strength(t, dtype)

            def objective(p):
                return self.problem.loss(self.reparam.to_x(p)) + lam * (
                    self.reparam.penalty(p)
                )

        return jax.tree.map(jnp.negative, jax.grad(objective)(y))

    def to_primal(self, y: PyTree) -> Weights:
        return self.reparam.to_x(y)

    def initial_state(self, params0: PyTree) -> PyTree:
        """The parameters themselves (this flow's coordinates are the parameters)."""
        return jax.tree.map(jnp.asarray, params0)
