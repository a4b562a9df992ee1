r"""A two-layer ReLU network $f(a, W\mid x) = \sum_i a_i\,\sigma(w_i\cdot x)$, MSE.

The student-teacher model of Pay Attention to Small Weights (Zhou, Jacobs, Gadhikar &
Burkholz, NeurIPS 2025, Section 2.3 and Appendix E): $k$ neurons with outer weights
$a\in\mathbb R^k$ and input weights $W\in\mathbb R^{k\times d}$ (row $i$ is $w_i$),
$\sigma = \mathrm{ReLU}$, no biases, trained on
$$L(a, W) = \frac1{2N}\sum_{j=1}^N\big(f(a, W\mid x_j) - y_j\big)^2.$$

Weights: the flat vector $x = (a, \mathrm{vec}\,W)$ of length $k(1 + d)$, $a$ first,
then $W$ row by row (`W.ravel()`, so neuron $i$'s input weights are
`x[k + i*d : k + (i+1)*d]`), or the pair `(a, W)`; `loss`, `grad` and `predict`
accept either spelling (`TwoLayerReLU.split`), `grad` returns the same spelling.
Each neuron is positively 1-homogeneous in $(a_i, w_i)$, so gradient flow conserves
its balancedness $a_i^2 - \|w_i\|^2$ (`TwoLayerReLU.balancedness`).

`relu_teacher_student` draws App. E's seeded instance: a teacher with Rademacher
outer weights and unit-norm Gaussian input weights, Gaussian inputs, and the
paired ("COB", rich-regime) student initialization whose output is identically 0.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array, default_float
from .._types import PyTree, Scalar
from ._base import AbstractProblem


class TwoLayerReLU(AbstractProblem):
    r"""MSE of a two-layer ReLU network on fixed data, weights $(a, \mathrm{vec}\,W)$.

    Args:
        inputs: the samples $x_j$, shape `(N, d)`.
        targets: the labels $y_j$, shape `(N,)`.
        width: the number of neurons $k$ (default 20, App. E's student).

    Raises:
        ValueError: `inputs` not 2-d or empty, `targets` not of shape `(N,)`,
            non-finite data, or `width` not a positive int.
    """

    inputs: Float[Array, "N dim"]
    targets: Float[Array, " N"]
    width: int = eqx.field(static=True)

    def __init__(self, inputs: ArrayLike, targets: ArrayLike, width: int = 20):
        inputs = as_float_array(inputs, "inputs", ndim=2)
        if inputs.shape[0] == 0 or inputs.shape[1] == 0:
            raise ValueError(
                "TwoLayerReLU: `inputs` needs at least one sample and one feature, "
                f"got shape {inputs.shape}; pass an (N, d) array."
            )
        targets = as_float_array(targets, "targets", ndim=1)
        if targets.shape != (inputs.shape[0],):
            raise ValueError(
                f"TwoLayerReLU: `targets` must have shape ({inputs.shape[0]},), one "
                f"label per row of `inputs`, got {targets.shape}."
            )
        if not (isinstance(width, int) and not isinstance(width, bool) and width > 0):
            raise ValueError(
                f"TwoLayerReLU: `width` must be a positive int (the number of "
                f"neurons), got {width!r}."
            )
        self.inputs = inputs
        self.targets = targets.astype(inputs.dtype)
        self.width = width

    @property
    def n(self) -> int:
        """Number of samples $N$."""
        return self.inputs.shape[0]

    @property
    def input_dim(self) -> int:
        """Input dimension $d$."""
        return self.inputs.shape[1]

    @property
    def d(self) -> int:
        """Number of weights $k(1 + d)$."""
        return self.width * (1 + self.input_dim)

    def split(self, x: PyTree) -> tuple[jax.Array, jax.Array]:
        """The pair `(a, W)` (shapes `(k,)`, `(k, d)`) from either spelling.

        Raises:
            ValueError: the shapes do not match this problem.
        """
        k, dim = self.width, self.input_dim
        if isinstance(x, tuple | list):
            if len(x) != 2:
                raise ValueError(
                    f"TwoLayerReLU: `x` as a pair must be (a, W), got {len(x)} items."
                )
            a, W = jnp.asarray(x[0]), jnp.asarray(x[1])
            if a.shape != (k,) or W.shape != (k, dim):
                raise ValueError(
                    f"TwoLayerReLU: `x` = (a, W) must have shapes ({k},) and "
                    f"({k}, {dim}), got {a.shape} and {W.shape}."
                )
            return a, W
        x = jnp.asarray(x)
        if x.shape != (self.d,):
            raise ValueError(
                f"TwoLayerReLU: `x` must be the flat vector (a, vec W) of length "
                f"{self.d} = {k} * (1 + {dim}), or the pair (a, W), got shape "
                f"{x.shape}."
            )
        return x[:k], x[k:].reshape(k, dim)

    @staticmethod
    def join(a: ArrayLike, W: ArrayLike) -> jax.Array:
        """The flat vector $(a, \\mathrm{vec}\\,W)$."""
        return jnp.concatenate([jnp.asarray(a), jnp.asarray(W).ravel()])

    def predict(self, x: PyTree, inputs: ArrayLike | None = None) -> jax.Array:
        """The network's outputs $f(a, W\\mid x_j)$ on `inputs` (default: the data)."""
        a, W = self.split(x)
        X = self.inputs if inputs is None else jnp.asarray(inputs)
        return jax.nn.relu(X @ W.T) @ a

    def loss(self, x: PyTree) -> Scalar:
        r = self.predict(x) - self.targets
        return 0.5 * jnp.mean(r * r)

    def grad(self, x: PyTree) -> PyTree:
        """$\\nabla L$ in closed form (ReLU'(0) = 0), in the spelling of `x`."""
        a, W = self.split(x)
        pre = self.inputs @ W.T
        act = jax.nn.relu(pre)
        r = (act @ a - self.targets) / self.n
        ga = act.T @ r
        gW = ((r[:, None] * (pre > 0).astype(pre.dtype)) * a[None, :]).T @ self.inputs
        if isinstance(x, tuple | list):
            return ga, gW
        return self.join(ga, gW)

    def balancedness(self, x: PyTree) -> jax.Array:
        r"""$a_i^2 - \|w_i\|^2$ per neuron (conserved by gradient flow)."""
        a, W = self.split(x)
        return a**2 - jnp.sum(W**2, axis=1)


class TeacherStudent(NamedTuple):
    """A seeded instance of App. E (`relu_teacher_student`).

    Attributes:
        problem: `TwoLayerReLU` on the training inputs with the teacher's labels.
        teacher_a, teacher_W: the teacher, shapes `(n,)` and `(n, d)`.
        x0: the student's flat initial weights (output identically 0).
    """

    problem: TwoLayerReLU
    teacher_a: jax.Array
    teacher_W: jax.Array
    x0: jax.Array


def teacher_neurons(key, n: int, dim: int, dtype=None):
    """`n` teacher neurons: Rademacher $a$, $w_i\\sim N(0, I)$ normalized to norm 1."""
    dtype = default_float() if dtype is None else dtype
    ka, kw = jr.split(key)
    a = jr.rademacher(ka, (n,), dtype=dtype)
    W = jr.normal(kw, (n, dim), dtype)
    return a, W / jnp.linalg.norm(W, axis=1, keepdims=True)


def paired_init(key, width: int, dim: int, std: float, dtype=None):
    """The paired (COB) init: $N(0, \\mathrm{std}^2)$ entries, $a_{i+k/2} = -a_i$,
    $w_{i+k/2} = w_i$ (so the output is identically 0); flat $(a, \\mathrm{vec}W)$.
    """
    if width % 2:
        raise ValueError(f"paired_init: `width` must be even, got {width}.")
    dtype = default_float() if dtype is None else dtype
    ka, kw = jr.split(key)
    half = width // 2
    a = std * jr.normal(ka, (half,), dtype)
    W = std * jr.normal(kw, (half, dim), dtype)
    return TwoLayerReLU.join(jnp.concatenate([a, -a]), jnp.concatenate([W, W]))


def relu_teacher_student(
    key,
    *,
    n_samples: int = 2000,
    dim: int = 2,
    teacher_width: int = 2,
    width: int = 20,
    init_std: float | None = None,
) -> TeacherStudent:
    r"""App. E's pretraining instance from a PRNG key.

    Teacher: `teacher_width` neurons (`teacher_neurons`); inputs
    $x_j\sim N(0, I_d)$; labels the teacher's outputs; student: `paired_init` with
    entries $N(0, 1/k)$ ($k$ = `width`, `init_std` overrides the standard
    deviation; the paper writes $N(0, 1/n)$ with $n$ the network's neurons).
    """
    dtype = default_float()
    kt, kx, ks = jr.split(key, 3)
    ta, tW = teacher_neurons(kt, teacher_width, dim, dtype)
    X = jr.normal(kx, (n_samples, dim), dtype)
    y = jax.nn.relu(X @ tW.T) @ ta
    std = (1.0 / width) ** 0.5 if init_std is None else init_std
    x0 = paired_init(ks, width, dim, std, dtype)
    return TeacherStudent(TwoLayerReLU(X, y, width), ta, tW, x0)
