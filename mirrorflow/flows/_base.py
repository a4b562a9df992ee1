"""The abstract flow: a vector field in some coordinates plus the map back to x."""

import abc

import equinox as eqx
import jax
import jax.flatten_util as jfu

from .._types import PyTree, Scalar, Vector


class AbstractFlow(eqx.Module):
    """A continuous-time training dynamics $\\dot y = F(t, y)$ in chosen coordinates.

    A flow knows its problem (the loss) and its coordinates `y` (parameters, dual
    variables, primal weights or the reduced multipliers); `to_primal(y)` maps a
    state to the model's weights $x$. Flows never know which solver runs them
    (`integrate` does that).
    """

    problem: eqx.AbstractVar[eqx.Module]

    @abc.abstractmethod
    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        """The right-hand side $F(t, y)$."""

    @abc.abstractmethod
    def to_primal(self, y: PyTree) -> Vector:
        """The weights $x$ represented by the state `y`."""

    def loss(self, y: PyTree) -> Scalar:
        """The training loss $f(x)$ at the state `y`."""
        return self.problem.loss(self.to_primal(y))

    def jacobian(self, t: Scalar, y: PyTree, args: PyTree) -> jax.Array:
        """Jacobian of the flattened vector field (forward-mode autodiff).

        Flows with a cheaper exact Jacobian override this.
        """
        flat, unravel = jfu.ravel_pytree(y)

        def f(yf):
            return jfu.ravel_pytree(self.vector_field(t, unravel(yf), args))[0]

        return jax.jacfwd(f)(flat)
