"""The abstract problem: a loss with data."""

import abc

import equinox as eqx

from .._types import Scalar, Vector


class AbstractProblem(eqx.Module):
    """A training loss $f(x)$ on weights $x\\in\\mathbb{R}^d$, with its data."""

    @abc.abstractmethod
    def loss(self, x: Vector) -> Scalar:
        """$f(x)$."""

    @abc.abstractmethod
    def grad(self, x: Vector) -> Vector:
        """$\\nabla f(x)$."""

    @property
    @abc.abstractmethod
    def d(self) -> int:
        """Number of weights."""

    @property
    def is_linear(self) -> bool:
        """Whether $f(x) = L(Ax)$ (enables the reduced flow). False by default."""
        return False
