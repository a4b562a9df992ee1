"""The abstract reparameterization w -> x."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import PyTree, Scalar, Vector, Weights
from ..potentials import AbstractPotential, AbstractPotentialFamily


class AbstractReparam(eqx.Module):
    r"""A map $g$ from parameters to the model's weights, $x = g(\text{params})$.

    Gradient flow on $F(\text{params}) = f(g(\text{params}))$ moves $x$ along a
    mirror flow $\frac{d}{dt}\nabla R(x_t) = -\nabla f(x_t)$ whose potential
    `induced_potential(params0)` depends on the initialization through the
    conserved quantities. The induced potential runs on the *same clock* as the
    parameter flow. `time_factor` relates it to the unit-coefficient potential the
    papers write ($R = kQ$ gives $x_{\mathrm{GF}}(t) = x_Q(t / k)$).
    """

    @abc.abstractmethod
    def to_x(self, params: PyTree) -> Weights:
        """The weights $x = g(\text{params})$."""

    @abc.abstractmethod
    def conserved(self, params: PyTree) -> Vector:
        """The elementwise quantity gradient flow conserves (for any loss of x)."""

    @abc.abstractmethod
    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        """The Legendre function of the equivalent mirror flow, same clock."""

    @property
    @abc.abstractmethod
    def time_factor(self) -> float:
        r"""$1/k$: GF at time $t$ equals the unit-coefficient mirror flow at $t/k$."""

    def penalty(self, params: PyTree) -> Scalar:
        r"""The weight-decay penalty $h(p)$ of this parameterization.

        Gradient flow with weight decay runs on $f(g(p)) + \lambda_t h(p)$. The
        default is plain L2, the sum of squares of every leaf (Mask in the Mirror's
        convention, docs/theory/conventions.md); parameterizations whose admissible
        penalty differs override it.
        """
        return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(params))

    def decay_family(self, params0: PyTree) -> tuple[AbstractPotentialFamily, Vector]:
        r"""The time-dependent potential $R_\Lambda$ of GF with decay, and $z_0$.

        Gradient flow on $f(g(p)) + \lambda_t h(p)$ from `params0` satisfies
        $\nabla R_{\Lambda_t}(x_t) = z_0 - \int_0^t\nabla f(x_s)\,ds$ (Mask in the
        Mirror, Thm 3.1; Mirror, Mirror, Thms 3.1 and 3.3).

        Raises:
            ValueError: no such family is known for this parameterization, or
                `params0` is outside its assumptions.
        """
        raise ValueError(
            f"decay_family: no time-dependent potential is known for "
            f"{type(self).__name__}; use Hadamard, DiffOfSquares, DeepDiagonal or "
            "CommutingQuadratic."
        )
