r"""One ReLU neuron learning a ReLU teacher from a symmetric 1-d input.

$f(x) = a\,\sigma(wx)$, $\sigma = \mathrm{ReLU}$, $x\sim\mathcal N(0, 1)$, target
$y = \sigma(x)$ (teacher $a^\star = w^\star = 1$), population loss
$L = \tfrac12\mathbb E(f - y)^2$. With $\mathbb E\sigma(x)^2 = \tfrac12$ and
$\mathbb E\sigma(wx)\sigma(x) = \tfrac w2$ for $w > 0$ (0 for $w < 0$):
$$L(a, w) = \begin{cases}\tfrac14(aw - 1)^2 & w > 0,\\
\tfrac14a^2w^2 + \tfrac14 & w < 0,\end{cases}$$
continuous at $w = 0$ with a kink there: the neuron is dead for $w \le 0$. The toy
model of the sign-flip theory of Sign-In (Gadhikar, Jacobs, Zhou & Burkholz,
NeurIPS 2025, Thms 5.1, 5.2, 5.4; docs/theory/sign_in.md). Any other symmetric input
law only rescales time.
"""

import jax
import jax.numpy as jnp

from .._types import Scalar, Vector
from ._base import AbstractProblem


class ReluNeuron(AbstractProblem):
    r"""The population loss $L(a, w)$ of one ReLU neuron, weights $x = (a, w)$.

    Success of a training run means $aw\to1$ with $w > 0$; a run whose $w$ reaches 0
    from above has a dead neuron ($L \to \tfrac14$).
    """

    def loss(self, x: Vector) -> Scalar:
        if jnp.shape(x) != (2,):
            raise ValueError(
                f"ReluNeuron.loss: `x` must be the pair (a, w), shape (2,), got shape "
                f"{jnp.shape(x)}; pass jnp.asarray([a, w])."
            )
        a, w = x[0], x[1]
        alive = 0.25 * (a * w - 1.0) ** 2
        dead = 0.25 * a**2 * w**2 + 0.25
        return jnp.where(w > 0, alive, dead)

    def grad(self, x: Vector) -> Vector:
        return jax.grad(self.loss)(x)

    @property
    def d(self) -> int:
        return 2
