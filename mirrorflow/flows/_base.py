"""The abstract flow: a vector field in some coordinates plus the map back to x."""

import abc

import equinox as eqx
import jax
import jax.flatten_util as jfu
import jax.numpy as jnp

from .. import _validate
from .._types import PyTree, Scalar, ScalarLike, Weights
from ..regularization import AbstractSchedule


class AbstractFlow(eqx.Module):
    """A continuous-time training dynamics $\\dot y = F(t, y)$ in chosen coordinates.

    A flow knows its problem (the loss) and its coordinates `y` (parameters, dual
    variables, primal weights or the reduced multipliers); `to_primal(y)` maps a
    state to the model's weights $x$. Flows never know which solver runs them
    (`integrate` does that); `breakpoints()` tells it where the right-hand side
    jumps.
    """

    problem: eqx.AbstractVar[eqx.Module]

    @abc.abstractmethod
    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        """The right-hand side $F(t, y)$."""

    @abc.abstractmethod
    def to_primal(self, y: PyTree) -> Weights:
        """The weights $x$ represented by the state `y`."""

    def loss(self, y: PyTree) -> Scalar:
        """The training loss $f(x)$ at the state `y`."""
        return self.problem.loss(self.to_primal(y))

    def vector_field_and_loss(
        self, t: Scalar, y: PyTree, args: PyTree
    ) -> tuple[PyTree, Scalar]:
        """`(vector_field(t, y, args), loss(y))`, computed together.

        Solvers that watch the loss (the `stop_loss` event of the `BDF` solver)
        call this instead of the two methods when a flow overrides it: flows whose
        field and loss share their expensive part (the reduced flow's product
        $Ax$) compute it once. The default evaluates both.
        """
        return self.vector_field(t, y, args), self.loss(y)

    def breakpoints(self) -> tuple[float, ...]:
        """Times where the right-hand side jumps (none by default)."""
        return ()

    def in_domain(self, y: PyTree) -> jax.Array | None:
        """Is the state `y` inside the flow's domain? A scalar bool, or `None` when
        the flow has no domain beyond finite states (the default).

        `integrate` checks every saved state and the final one: a solve whose
        state leaves the domain (where `to_primal` or the vector field is
        undefined: a dual point outside the range of the mirror map, a weight off
        the positive orthant of an entropy metric) is cut before the first save
        outside and reports `Result.left_domain`, never meaningless values.
        """
        return None

    def domain_description(self) -> str:
        """One sentence naming the domain (used in `integrate`'s errors)."""
        return "the state must stay finite."

    def jacobian(self, t: Scalar, y: PyTree, args: PyTree) -> jax.Array:
        """Jacobian of the flattened vector field (forward-mode autodiff).

        Flows with a cheaper exact Jacobian override this.
        """
        flat, unravel = jfu.ravel_pytree(y)

        def f(yf):
            return jfu.ravel_pytree(self.vector_field(t, unravel(yf), args))[0]

        return jax.jacfwd(f)(flat)


class AbstractScheduledFlow(AbstractFlow):
    r"""A flow with an optional weight-decay schedule $\lambda_t$.

    Without a schedule the state is the flow's coordinates `y`. With one, flows
    whose map back to $x$ depends on the dose (dual and reduced coordinates) carry
    a second entry `s`: the clock $t$ for schedules with a closed-form dose
    ($\dot s = 1$), the dose $\Lambda$ itself otherwise ($\dot s = \lambda_t$,
    `CallableSchedule`); the state is `(y, s)`.
    """

    schedule: eqx.AbstractVar[AbstractSchedule | None]

    def __check_init__(self):
        # The building blocks' types, named in the error (a wrong object would
        # otherwise fail much later, deep inside a solve). Flows built inside
        # JAX transformations carry the same Python objects, so this is cheap.
        from ..potentials import AbstractPotentialFamily
        from ..problems import AbstractProblem
        from ..reparam import AbstractReparam

        call = type(self).__name__
        checks = (
            ("problem", AbstractProblem, "a problem (e.g. LinearRegression(A, b))"),
            ("reparam", AbstractReparam, "a reparameterization (e.g. DiffOfSquares())"),
            (
                "potential",
                AbstractPotentialFamily,
                "a potential or potential family (e.g. Hypentropy(alpha))",
            ),
        )
        for name, kind, what in checks:
            if hasattr(self, name):
                _validate.instance(getattr(self, name), kind, call, name, what)
        if self.schedule is not None:
            _validate.instance(
                self.schedule,
                AbstractSchedule,
                call,
                "schedule",
                "a schedule (e.g. ConstantDecay(0.1)) or None",
            )

    def breakpoints(self) -> tuple[float, ...]:
        """The schedule's jump times (`integrate` restarts there)."""
        return () if self.schedule is None else tuple(self.schedule.breakpoints)

    def strength(self, t: Scalar, dtype) -> Scalar:
        r"""$\lambda_t$ (0 without a schedule)."""
        if self.schedule is None:
            return jnp.zeros((), dtype)
        return self.schedule.strength(t).astype(dtype)

    def dose(self, y: PyTree) -> Scalar | float:
        r"""The dose $\Lambda$ of a state (0 without a schedule)."""
        if self.schedule is None:
            return 0.0
        s = y[1]
        if self.schedule.closed_form_dose:
            return self.schedule.dose(s).astype(jnp.result_type(s))
        return s

    def _coordinates(self, y: PyTree) -> PyTree:
        return y if self.schedule is None else y[0]

    def _with_clock(self, t: Scalar, y: PyTree, dy: PyTree) -> PyTree:
        """Append $\\dot s$ to `dy` when the state carries a clock."""
        if self.schedule is None:
            return dy
        s = y[1]
        if self.schedule.closed_form_dose:
            return dy, jnp.ones_like(s)
        return dy, self.schedule.strength(t).astype(jnp.result_type(s))

    def _clock_state(
        self, y0: PyTree, t0: ScalarLike, dose0: ScalarLike | None
    ) -> PyTree:
        if self.schedule is None:
            if dose0 is not None:
                raise ValueError(
                    "initial_state: `dose0` needs a schedule; this flow has none."
                )
            return y0
        dtype = jnp.result_type(*jax.tree.leaves(y0))
        if self.schedule.closed_form_dose:
            if dose0 is not None:
                raise ValueError(
                    "initial_state: `dose0` is only for schedules without a "
                    "closed-form dose (CallableSchedule); the clock starts at `t0`."
                )
            return y0, jnp.asarray(t0, dtype)
        return y0, jnp.asarray(0.0 if dose0 is None else dose0, dtype)
