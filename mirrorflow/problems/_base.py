"""The abstract problems: a differentiable loss, and a loss linear in x through Ax."""

import abc

import equinox as eqx
from jaxtyping import Array, Float

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


class AbstractLinearProblem(AbstractProblem):
    r"""A loss linear in $x$ through a design: $f(x) = L(Ax)$, with targets $b$.

    What the interpolation theorems and the reduced flows need: the dual path of a
    mirror flow stays on $z_0 - A^\top\lambda$ (`ReducedMirrorFlow`), and the limit
    is the Bregman projection onto $\{Ax = b\}$ (`predict`). Subclasses declare the
    design `A` (shape `(n, d)`), the targets `b` (shape `(n,)`), the loss scale `s`
    and $\nabla L$.
    """

    A: eqx.AbstractVar[Float[Array, "n d"]]
    b: eqx.AbstractVar[Float[Array, " n"]]
    scale: eqx.AbstractVar[float]

    @abc.abstractmethod
    def outer_grad(self, r: Float[Array, " n"]) -> Float[Array, " n"]:
        r"""$\nabla L(r)$ at the outputs $r = Ax$."""

    @abc.abstractmethod
    def outer_loss(self, r: Float[Array, " n"]) -> Scalar:
        r"""$L(r)$ at the outputs $r = Ax$ (so `loss(x) == outer_loss(A @ x)`)."""

    @property
    def n(self) -> int:
        """Number of samples (rows of `A`)."""
        return self.A.shape[0]

    @property
    def d(self) -> int:
        """Number of weights (columns of `A`)."""
        return self.A.shape[1]

    def check_underdetermined(self, who: str) -> None:
        """Raise `ValueError` unless n < d (the interpolation theorems need it)."""
        if not self.n < self.d:
            raise ValueError(
                f"{who} needs an underdetermined problem (n < d), got A with shape "
                f"({self.n}, {self.d}); use more features than samples."
            )


def require_linear(problem, who: str) -> AbstractLinearProblem:
    """`problem` if it is an `AbstractLinearProblem`, else a `TypeError`."""
    if not isinstance(problem, AbstractLinearProblem):
        raise TypeError(
            f"{who}: `problem` must be a loss linear in x (f = L(Ax), an "
            "AbstractLinearProblem such as LinearRegression), got "
            f"{type(problem).__name__}."
        )
    return problem
