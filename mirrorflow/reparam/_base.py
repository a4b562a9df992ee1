"""The abstract reparameterization w -> x."""

import abc

import equinox as eqx

from .._types import PyTree, Vector
from ..potentials import AbstractPotential


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
    def to_x(self, params: PyTree) -> Vector:
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
