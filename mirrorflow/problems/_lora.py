r"""LoRA: low-rank adapters $\Delta = BA$ on a frozen model, as losses of $\Delta$.

The frozen weights and the data belong to the problem; the model output the loss
takes is the adapter update itself: $\Delta$ for one frozen linear map
(`LoRALinear`), $(\Delta_1, \Delta_2)$ for a frozen one-hidden-layer ReLU network
(`LoRAMLP`). Any reparameterization producing $\Delta$ drives them: the adapter
product $\Delta = BA$ (params `(B, A)`, `lora_init`), or a full-rank $\Delta$ as
the baseline. Gradient flow on $f(BA)$ conserves $B^\top B - AA^\top$ (Du, Hu & Lee
2018) and, with the plain L2 penalty $\lambda_t(\|A\|^2 + \|B\|^2)$, it decays as
$e^{-4\Lambda_t}$: from $\dot B = -\nabla f\,A^\top - 2\lambda_tB$ and
$\dot A = -B^\top\nabla f - 2\lambda_tA$ the cross terms of $\frac{d}{dt}B^\top B$
and $\frac{d}{dt}AA^\top$ coincide, leaving
$\frac{d}{dt}(B^\top B - AA^\top) = -4\lambda_t(B^\top B - AA^\top)$.

The loss accepts $\Delta$ as matrices or as one flat vector (the flows of this library
currently carry flat weight vectors, `Solution.xs` of shape `(T, d)`).
"""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._misc import as_float_array, default_float
from .._types import PyTree, Scalar
from ._attention import _check_labels, _classification_loss
from ._base import AbstractProblem


def _positive_int(val, name: str, who: str) -> int:
    if isinstance(val, bool) or not (isinstance(val, int | np.integer) and val >= 1):
        raise ValueError(f"{who}: `{name}` must be an int >= 1, got {val!r}.")
    return int(val)


def _as_matrix(x, shape: tuple[int, int], name: str, who: str) -> jax.Array:
    """`x` as a matrix of `shape`, from the matrix or its flat vector."""
    x = jnp.asarray(x)
    if x.shape == shape:
        return x
    if x.shape == (shape[0] * shape[1],):
        return x.reshape(shape)
    raise ValueError(
        f"{who}: `{name}` must have the shape {shape} of the frozen weight it adapts "
        f"(or be its flat vector of length {shape[0] * shape[1]}), got {x.shape}; "
        "check the adapter's out/in dimensions."
    )


class LoRALinear(AbstractProblem):
    r"""Squared loss of a frozen linear map plus an adapter, a loss of $\Delta$.

    $$f(\Delta) = \frac{1}{2n}\sum_{k=1}^n\|(W_0 + \Delta)u_k - y_k\|^2
    = \frac{1}{2n}\|U(W_0 + \Delta)^\top - Y\|_F^2,$$

    $W_0\in\mathbb{R}^{o\times i}$ frozen, inputs $U\in\mathbb{R}^{n\times i}$,
    targets $Y\in\mathbb{R}^{n\times o}$ (the $\frac{1}{2n}$ convention of Mirror,
    Mirror). `loss(x)` takes $\Delta$ of shape `(out, in)` or its flat vector of
    length `d = out * in` (what a reparameterization such as $\Delta = BA$ produces);
    computed in the dtype of `x`. The loss is linear in $\Delta$, but its design
    ($n\cdot o$ rows, $o\cdot i$ columns) is not exposed: in LoRA's regime
    $n \ge i$ and there is no interpolation manifold to project on.

    Args:
        W0: frozen weight, shape `(out, in)`.
        inputs: $U$, shape `(n, in)`.
        targets: $Y$, shape `(n, out)`.
        delta_star: optional planted update, shape `(out, in)`.

    Raises:
        ValueError: mismatched shapes or non-finite values.
    """

    W0: Float[Array, "out inp"]
    inputs: Float[Array, "n inp"]
    targets: Float[Array, "n out"]
    delta_star: Float[Array, "out inp"] | None

    def __init__(
        self,
        W0: ArrayLike,
        inputs: ArrayLike,
        targets: ArrayLike,
        delta_star: ArrayLike | None = None,
    ):
        W0 = as_float_array(W0, "W0", ndim=2)
        inputs = as_float_array(inputs, "inputs", ndim=2)
        targets = as_float_array(targets, "targets", ndim=2)
        out, in_ = W0.shape
        if inputs.shape[1] != in_:
            raise ValueError(
                f"LoRALinear: `inputs` must have shape (n, {in_}) (columns = columns "
                f"of W0), got {inputs.shape}."
            )
        if targets.shape != (inputs.shape[0], out):
            raise ValueError(
                f"LoRALinear: `targets` must have shape ({inputs.shape[0]}, {out}) "
                f"(one row per input, one column per row of W0), got {targets.shape}."
            )
        if delta_star is not None:
            delta_star = as_float_array(delta_star, "delta_star", ndim=2)
            if delta_star.shape != W0.shape:
                raise ValueError(
                    f"LoRALinear: `delta_star` must have the shape {W0.shape} of "
                    f"`W0`, got {delta_star.shape}."
                )
        self.W0, self.inputs, self.targets = W0, inputs, targets
        self.delta_star = delta_star

    @property
    def n(self) -> int:
        """Number of samples."""
        return self.inputs.shape[0]

    @property
    def d(self) -> int:
        """Entries of $\\Delta$: `out * in`."""
        return self.W0.size

    def split(self, x: PyTree) -> jax.Array:
        """$\\Delta$ as a matrix of shape `(out, in)`, from itself or its flat form."""
        return _as_matrix(x, self.W0.shape, "x", "LoRALinear")

    def loss(self, x: PyTree) -> Scalar:
        delta = self.split(x)
        dtype = delta.dtype
        W = self.W0.astype(dtype) + delta
        r = self.inputs.astype(dtype) @ W.T - self.targets.astype(dtype)
        return 0.5 * jnp.sum(r * r) / self.n

    def grad(self, x: PyTree) -> PyTree:
        r"""$\nabla f(\Delta) = \frac1n(U(W_0 + \Delta)^\top - Y)^\top U$.

        Returned in the shape of `x` (matrix or flat vector).
        """
        delta = self.split(x)
        dtype = delta.dtype
        U = self.inputs.astype(dtype)
        r = U @ (self.W0.astype(dtype) + delta).T - self.targets.astype(dtype)
        g = (r.T @ U) / self.n
        return g.reshape(jnp.shape(x))


class LoRAMLP(AbstractProblem):
    r"""Cross-entropy of a frozen one-hidden-layer ReLU network with adapters.

    Logits of an input $u$: $(W_2 + \Delta_2)\,\mathrm{relu}((W_1 + \Delta_1)u + b_1)
    + b_2$, loss the mean softmax cross-entropy against integer labels. The model
    output is the pair $(\Delta_1, \Delta_2)$ (LoRA on both layers, Hu et al. 2022),
    or its flat vector `concat(D1.ravel(), D2.ravel())` of length `d`.

    Args:
        W1: first layer, shape `(hidden, in)`.
        b1: its bias, shape `(hidden,)`.
        W2: second layer, shape `(classes, hidden)`, classes >= 2.
        b2: its bias, shape `(classes,)`.
        inputs: shape `(n, in)`.
        labels: integer classes, shape `(n,)`.

    Raises:
        ValueError: mismatched shapes, bad labels or fewer than two classes.
    """

    W1: Float[Array, "hidden inp"]
    b1: Float[Array, " hidden"]
    W2: Float[Array, "c hidden"]
    b2: Float[Array, " c"]
    inputs: Float[Array, "n inp"]
    labels: Int[Array, " n"]

    def __init__(
        self,
        W1: ArrayLike,
        b1: ArrayLike,
        W2: ArrayLike,
        b2: ArrayLike,
        inputs: ArrayLike,
        labels: ArrayLike,
    ):
        W1 = as_float_array(W1, "W1", ndim=2)
        b1 = as_float_array(b1, "b1", ndim=1)
        W2 = as_float_array(W2, "W2", ndim=2)
        b2 = as_float_array(b2, "b2", ndim=1)
        inputs = as_float_array(inputs, "inputs", ndim=2)
        hidden, in_ = W1.shape
        checks = (
            ("b1", b1.shape, (hidden,), "one entry per row of W1"),
            ("W2", (W2.shape[1],), (hidden,), "columns = rows of W1"),
            ("b2", b2.shape, (W2.shape[0],), "one entry per row of W2"),
            ("inputs", (inputs.shape[1],), (in_,), "columns = columns of W1"),
        )
        for name, got, want, why in checks:
            if got != want:
                raise ValueError(
                    f"LoRAMLP: `{name}` does not match ({why}): expected "
                    f"{want}, got {got} (W1 {W1.shape}, W2 {W2.shape})."
                )
        self.labels = _check_labels(labels, inputs.shape[0], W2.shape[0], "LoRAMLP")
        self.W1, self.b1, self.W2, self.b2, self.inputs = W1, b1, W2, b2, inputs

    @property
    def num_classes(self) -> int:
        """Number of classes (rows of `W2`)."""
        return self.W2.shape[0]

    @property
    def d(self) -> int:
        """Entries of $(\\Delta_1, \\Delta_2)$."""
        return self.W1.size + self.W2.size

    def split(self, x: PyTree) -> tuple[jax.Array, jax.Array]:
        r"""The pair $(\Delta_1, \Delta_2)$ from itself or its flat vector."""
        if isinstance(x, tuple | list):
            if len(x) != 2:
                raise ValueError(
                    f"LoRAMLP: the model output must be the pair (D1, D2), got "
                    f"{len(x)} entries."
                )
            return (
                _as_matrix(x[0], self.W1.shape, "D1", "LoRAMLP"),
                _as_matrix(x[1], self.W2.shape, "D2", "LoRAMLP"),
            )
        x = jnp.asarray(x)
        if x.shape != (self.d,):
            raise ValueError(
                f"LoRAMLP: a flat model output must have shape ({self.d},) "
                f"(W1.size + W2.size), got {x.shape}; or pass the pair (D1, D2)."
            )
        k = self.W1.size
        return x[:k].reshape(self.W1.shape), x[k:].reshape(self.W2.shape)

    def logits(self, x: PyTree) -> Float[Array, "n c"]:
        """Class scores, shape `(n, classes)`."""
        D1, D2 = self.split(x)
        dtype = jnp.result_type(D1, D2)
        U = self.inputs.astype(dtype)
        h = jax.nn.relu(
            U @ (self.W1.astype(dtype) + D1).T + self.b1.astype(dtype)[None]
        )
        return h @ (self.W2.astype(dtype) + D2).T + self.b2.astype(dtype)[None]

    def loss(self, x: PyTree) -> Scalar:
        return _classification_loss(
            self.logits(x), self.labels, self.num_classes, "cross_entropy"
        )

    def grad(self, x: PyTree) -> PyTree:
        """$\\nabla f$ by autodiff, in the spelling of `x` (pair or flat vector)."""
        return jax.grad(self.loss)(x)

    def accuracy(self, x: PyTree) -> Scalar:
        """Fraction of inputs whose largest logit is the label."""
        logits = self.logits(x)
        return jnp.mean(
            (jnp.argmax(logits, axis=1) == self.labels).astype(logits.dtype)
        )


def _check_rank(rank, out: int, in_: int, name: str, who: str) -> int:
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or rank <= 0:
        raise ValueError(f"{who}: `{name}` must be an int >= 1, got {rank!r}.")
    if rank > min(out, in_):
        raise ValueError(
            f"{who}: `{name}` must be <= min(out, in) = {min(out, in_)}, got {rank}; "
            "a larger rank adds no expressiveness."
        )
    return int(rank)


def lora_init(
    key: jax.Array, out: int, in_: int, rank: int, *, dtype=None
) -> tuple[jax.Array, jax.Array]:
    r"""The standard adapter initialization $(B_0, A_0)$ of $\Delta = BA$.

    $B_0 = 0\in\mathbb{R}^{o\times r}$ and $A_0\sim N(0, 1/i)$ entrywise,
    $A_0\in\mathbb{R}^{r\times i}$, so $\Delta_0 = 0$ (Hu et al. 2022).

    Args:
        key: a PRNG key.
        out: rows $o$ of the adapted weight.
        in_: columns $i$.
        rank: $r$, $1 \le r \le \min(o, i)$.
        dtype: floating dtype (default: JAX's current default float).

    Raises:
        ValueError: `out` or `in_` < 1, or `rank` outside $[1, \min(o, i)]$.
    """
    out = _positive_int(out, "out", "lora_init")
    in_ = _positive_int(in_, "in_", "lora_init")
    rank = _check_rank(rank, out, in_, "rank", "lora_init")
    dtype = default_float() if dtype is None else dtype
    B0 = jnp.zeros((out, rank), dtype)
    A0 = jr.normal(key, (rank, in_), dtype) / math.sqrt(in_)
    return B0, A0


def lora_regression(
    seed: int,
    d: int = 32,
    rank_true: int = 2,
    n: int = 512,
    noise: float = 0.01,
) -> LoRALinear:
    r"""The seeded synthetic LoRA task: learn a rank-`rank_true` update of $W_0$.

    Drawn in this order from `numpy.random.default_rng(seed)`: $W_0$ with entries
    $N(0, 1/d)$ ($d\times d$); $\Delta^\star = GH/\|GH\|_F$ with $G$ ($d\times r$) and
    $H$ ($r\times d$) standard normal (rank $r$, $\|\Delta^\star\|_F = 1$); inputs
    $U\sim N(0, I_d)$ ($n$ rows); targets $Y = U(W_0 + \Delta^\star)^\top +
    \sigma E$ with $E$ standard normal. The scaled-down stand-in for LoRA fine-tuning
    in Mirror, Mirror (ICML 2025), Fig. 4.

    Args:
        seed: an int >= 0.
        d: input and output dimension.
        rank_true: rank $r$ of $\Delta^\star$, $1 \le r \le d$.
        n: number of samples.
        noise: $\sigma \ge 0$.

    Raises:
        ValueError: a bad argument.
    """
    who = "lora_regression"
    if isinstance(seed, bool) or not (isinstance(seed, int | np.integer) and seed >= 0):
        raise ValueError(f"{who}: `seed` must be an int >= 0, got {seed!r}.")
    d = _positive_int(d, "d", who)
    n = _positive_int(n, "n", who)
    rank_true = _check_rank(rank_true, d, d, "rank_true", who)
    if not (isinstance(noise, int | float) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"{who}: `noise` must be a finite float >= 0, got {noise!r}.")
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((d, d)) / math.sqrt(d)
    G = rng.standard_normal((d, rank_true))
    H = rng.standard_normal((rank_true, d))
    delta = G @ H
    delta /= np.linalg.norm(delta)
    U = rng.standard_normal((n, d))
    Y = U @ (W0 + delta).T + noise * rng.standard_normal((n, d))
    return LoRALinear(W0, U, Y, delta)
