r"""Single-layer softmax attention on token sequences, and its weight factorization.

The model reads a sequence of $T$ tokens $x_1, \dots, x_T\in\mathbb{R}^d$ with key,
query and value matrices $K, Q\in\mathbb{R}^{d_k\times d}$, $V\in\mathbb{R}^{d_v\times
d}$ and a linear readout $W\in\mathbb{R}^{c\times d_v}$:

$$s_{ij} = \gamma\,(Kx_i)^\top(Qx_j) = \gamma\,x_i^\top K^\top Q\,x_j,\qquad
a_{ij} = \frac{e^{s_{ij}}}{\sum_{i'}e^{s_{i'j}}},\qquad
\text{logits} = \frac{1}{T}\sum_j W V\sum_i a_{ij}x_i,$$

(query $j$ attends to key $i$; mean-pooled over the queries). The logits depend on the
four matrices only through the two products $M = K^\top Q$ ($d\times d$) and $P = WV$
($c\times d$), so the problem's loss is a function of the model output $(M, P)$ and
`AttentionFactors` is the reparameterization $(K, Q, V, W)\mapsto(K^\top Q, WV)$: two
matrix factorizations side by side. Why this split rather than a loss of the raw
weights: the observable of Mirror, Mirror (ICML 2025), Fig. 3, the ratio
$\|K^\top Q\|_*/\|K^\top Q\|_F$, is then a block of the model output itself; the loss
is invariant under the factorizations' gauge ($K\to RK$, $Q\to R^{-\top}Q$), which is
exactly what gives gradient flow its conserved balancedness matrices
(`AttentionFactors.conserved`); and weight decay acts on the factors, where the
implicit bias comes from (plain L2, `AbstractReparam.penalty`).

`AttentionFactors.to_x` returns the flat vector $(\mathrm{vec}\,M, \mathrm{vec}\,P)$
(one row per saved time in `Solution.xs`) and `AttentionFactors.factors` the pair;
the problem's loss accepts either spelling (`Attention.split`).
"""

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._misc import as_float_array, default_float
from .._types import PyTree, Scalar, Vector
from ..potentials import AbstractPotential
from ..reparam import AbstractReparam
from ._base import AbstractProblem


_LOSSES = ("cross_entropy", "squared")


def _check_loss_kind(loss: str, who: str) -> str:
    if loss not in _LOSSES:
        raise ValueError(
            f"{who}: `loss` must be one of {_LOSSES}, got {loss!r}; use "
            "'cross_entropy' (softmax cross-entropy) or 'squared' "
            "((1/2n) * ||logits - onehot||^2)."
        )
    return loss


def _classification_loss(logits, labels, num_classes: int, kind: str):
    """Mean softmax cross-entropy, or $(1/2n)\\|\\text{logits} - e_y\\|^2$."""
    if kind == "cross_entropy":
        logp = jax.nn.log_softmax(logits, axis=1)
        picked = jnp.take_along_axis(logp, labels[:, None], axis=1)
        return -jnp.mean(picked)
    onehot = jax.nn.one_hot(labels, num_classes, dtype=logits.dtype)
    r = logits - onehot
    return 0.5 * jnp.sum(r * r) / logits.shape[0]


def _check_labels(labels, n: int, num_classes, who: str) -> jax.Array:
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(
            f"{who}: `labels` must be integer class indices, got dtype "
            f"{labels.dtype}; pass e.g. `labels.astype(int)`."
        )
    if labels.shape != (n,):
        raise ValueError(
            f"{who}: `labels` must have shape ({n},), one per sample, got "
            f"{labels.shape}."
        )
    if not (isinstance(num_classes, int | np.integer) and num_classes >= 2):
        raise ValueError(
            f"{who}: `num_classes` must be an int >= 2, got {num_classes!r}; a "
            "classifier needs at least two classes."
        )
    lab = np.asarray(labels)
    if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(
            f"{who}: `labels` must lie in [0, num_classes) = [0, {num_classes}), got "
            f"values in [{lab.min()}, {lab.max()}]; raise `num_classes` or relabel."
        )
    return labels


class Attention(AbstractProblem):
    r"""Classification by one softmax attention layer, a loss of $(M, P)$.

    The model output is $M = K^\top Q\in\mathbb{R}^{d\times d}$ and
    $P = WV\in\mathbb{R}^{c\times d}$ (see the module docstring); with tokens
    $X_n\in\mathbb{R}^{T\times d}$,
    $S_n = \gamma X_n M X_n^\top$ (scores, key $i$ by query $j$), $A_n$ its softmax
    over the keys, pooled features $z_n = \frac1T X_n^\top A_n\mathbf{1}$ and logits
    $Pz_n$. The loss is the mean softmax cross-entropy
    $-\frac1n\sum_n\log\mathrm{softmax}(Pz_n)_{y_n}$ or, with `loss="squared"`,
    $\frac{1}{2n}\sum_n\|Pz_n - e_{y_n}\|^2$.

    `loss(x)` takes the model output as the pair `(M, P)` or as its flat vector
    `concat(M.ravel(), P.ravel())` of length `d` (what `AttentionFactors.to_x`
    returns); it is computed in the dtype of `x`. Without a bias in the readout, as
    in Mirror, Mirror (ICML 2025), Fig. 3 (a tiny ViT's attention layer).

    Args:
        tokens: the sequences, shape `(n, T, d)`, $T \ge 1$.
        labels: integer classes, shape `(n,)`, in `[0, num_classes)`.
        num_classes: $c \ge 2$.
        loss: `"cross_entropy"` (default) or `"squared"`.
        score_scale: $\gamma$; default $1/\sqrt{d}$ (the usual $1/\sqrt{d_k}$ for
            square $K, Q$).

    Raises:
        ValueError: empty sequences, mismatched shapes, bad labels, fewer than two
            classes, or an unknown `loss`.
    """

    tokens: Float[Array, "n T dim"]
    labels: Int[Array, " n"]
    num_classes: int = eqx.field(static=True)
    loss_kind: str = eqx.field(static=True)
    score_scale: float = eqx.field(static=True)

    def __init__(
        self,
        tokens: ArrayLike,
        labels: ArrayLike,
        num_classes: int,
        *,
        loss: str = "cross_entropy",
        score_scale: float | None = None,
    ):
        tokens = jnp.asarray(tokens)
        if tokens.ndim != 3:
            raise ValueError(
                f"Attention: `tokens` must have shape (n, T, d) (samples, sequence "
                f"length, token dimension), got {tokens.shape}; reshape one sequence "
                "to (1, T, d)."
            )
        n, T, d = tokens.shape
        if T == 0 or d == 0 or n == 0:
            raise ValueError(
                f"Attention: `tokens` needs n >= 1 samples, sequence length T >= 1 "
                f"and token dimension d >= 1, got shape {tokens.shape}; pass at "
                "least one token per sequence."
            )
        tokens = as_float_array(tokens, "tokens", ndim=3)
        self.labels = _check_labels(labels, n, num_classes, "Attention")
        self.tokens = tokens
        self.num_classes = int(num_classes)
        self.loss_kind = _check_loss_kind(loss, "Attention")
        if score_scale is None:
            score_scale = 1.0 / math.sqrt(d)
        if not (isinstance(score_scale, int | float) and math.isfinite(score_scale)):
            raise ValueError(
                f"Attention: `score_scale` must be a finite float, got {score_scale!r}."
            )
        self.score_scale = float(score_scale)

    @property
    def n(self) -> int:
        """Number of sequences."""
        return self.tokens.shape[0]

    @property
    def seq_len(self) -> int:
        """Tokens per sequence $T$."""
        return self.tokens.shape[1]

    @property
    def token_dim(self) -> int:
        """Token dimension $d$."""
        return self.tokens.shape[2]

    @property
    def d(self) -> int:
        """Entries of the model output: $d^2 + cd$."""
        return self.token_dim**2 + self.num_classes * self.token_dim

    def split(self, x: PyTree) -> tuple[jax.Array, jax.Array]:
        r"""The pair $(M, P)$ from either spelling of the model output.

        Args:
            x: `(M, P)` with shapes `(d, d)` and `(c, d)`, or the flat vector of
                length `d` (`self.d`) holding `M.ravel()` then `P.ravel()`.

        Raises:
            ValueError: the shapes do not match this problem.
        """
        d, c = self.token_dim, self.num_classes
        if isinstance(x, tuple | list):
            if len(x) != 2:
                raise ValueError(
                    f"Attention: the model output must be the pair (M, P) = "
                    f"(K^T Q, W V), got {len(x)} entries."
                )
            M, P = jnp.asarray(x[0]), jnp.asarray(x[1])
        else:
            x = jnp.asarray(x)
            if x.shape != (self.d,):
                raise ValueError(
                    f"Attention: a flat model output must have shape ({self.d},) = "
                    f"d^2 + c*d for d={d}, c={c}, got {x.shape}; or pass the pair "
                    "(M, P)."
                )
            M, P = x[: d * d].reshape(d, d), x[d * d :].reshape(c, d)
        if M.shape != (d, d) or P.shape != (c, d):
            raise ValueError(
                f"Attention: need M = K^T Q of shape ({d}, {d}) (token dimension "
                f"squared) and P = W V of shape ({c}, {d}) (classes by token "
                f"dimension), got {M.shape} and {P.shape}; check the shapes of K, Q, "
                "V, W against the tokens."
            )
        return M, P

    def logits(self, x: PyTree) -> Float[Array, "n c"]:
        """Class scores of every sequence, shape `(n, num_classes)`."""
        M, P = self.split(x)
        X = self.tokens.astype(jnp.result_type(M, P))
        scores = self.score_scale * jnp.einsum("nid,de,nje->nij", X, M, X)
        weights = jax.nn.softmax(scores, axis=1)  # over the keys i
        pooled = jnp.einsum("nij,nid->nd", weights, X) / self.seq_len
        return pooled @ P.T

    def loss(self, x: PyTree) -> Scalar:
        return _classification_loss(
            self.logits(x), self.labels, self.num_classes, self.loss_kind
        )

    def grad(self, x: PyTree) -> PyTree:
        """$\\nabla f$ by autodiff, in the spelling of `x` (pair or flat vector)."""
        return jax.grad(self.loss)(x)

    def accuracy(self, x: PyTree) -> Scalar:
        """Fraction of sequences whose largest logit is the label."""
        logits = self.logits(x)
        hits = jnp.argmax(logits, axis=1) == self.labels
        return jnp.mean(hits.astype(logits.dtype))


class AttentionParams(NamedTuple):
    """The weights of one attention layer and its readout.

    Attributes:
        K: keys, shape `(d_k, d)`.
        Q: queries, shape `(d_k, d)`.
        V: values, shape `(d_v, d)`, or `None` for a fixed identity (then `W` has
            shape `(c, d)`).
        W: readout, shape `(c, d_v)`.
    """

    K: jax.Array
    Q: jax.Array
    V: jax.Array | None
    W: jax.Array


def _unpack(params: PyTree) -> tuple:
    if not (isinstance(params, tuple | list) and len(params) == 4):
        raise ValueError(
            "AttentionFactors: `params` must be (K, Q, V, W) (an AttentionParams; V "
            f"may be None), got {type(params).__name__}"
            + (f" of length {len(params)}" if isinstance(params, tuple | list) else "")
            + "."
        )
    K, Q, V, W = params
    K, Q, W = jnp.asarray(K), jnp.asarray(Q), jnp.asarray(W)
    V = None if V is None else jnp.asarray(V)
    if K.ndim != 2 or K.shape != Q.shape:
        raise ValueError(
            f"AttentionFactors: `K` and `Q` must be matrices of one shape (d_k, d), "
            f"got {K.shape} and {Q.shape}."
        )
    d = K.shape[1]
    inner = d if V is None else V.shape[0]
    if V is not None and (V.ndim != 2 or V.shape[1] != d):
        raise ValueError(
            f"AttentionFactors: `V` must have shape (d_v, {d}) (d = columns of K), "
            f"got {V.shape}."
        )
    if W.ndim != 2 or W.shape[1] != inner:
        raise ValueError(
            f"AttentionFactors: `W` must have shape (c, {inner}) (columns = rows of "
            f"V, or d when V is None), got {W.shape}."
        )
    return K, Q, V, W


class AttentionFactors(AbstractReparam):
    r"""$(K, Q, V, W)\mapsto(M, P) = (K^\top Q, WV)$, the weights of `Attention`.

    Params are an `AttentionParams` (or any 4-tuple) `(K, Q, V, W)`; with `V=None`
    the value map is the fixed identity and $P = W$ (Mirror, Mirror's recipe with
    $V = I$). `to_x` returns the flat vector `concat(M.ravel(), P.ravel())` that
    flows and `Solution.xs` carry; `factors` returns the pair.

    Gradient flow on $f(K^\top Q, WV)$ conserves the balancedness matrices
    $KK^\top - QQ^\top$ ($d_k\times d_k$) and $W^\top W - VV^\top$ ($d_v\times d_v$)
    for any loss (Du, Hu & Lee 2018, Thm 2.1, one factorization at a time); with
    the plain L2 penalty $\lambda_t(\|K\|^2 + \|Q\|^2 + \|V\|^2 + \|W\|^2)$ each
    decays as $e^{-4\Lambda_t}$. There is no closed-form induced potential:
    $K^\top Q$ is a non-commuting reparameterization, for which gradient flow is
    in general no mirror flow of $x$ (Li, Wang, Lee & Arora, NeurIPS 2022), so
    `induced_potential`, `time_factor` and `decay_family` raise `ValueError`.
    """

    def factors(self, params: PyTree) -> tuple[jax.Array, jax.Array]:
        """The model output $(K^\\top Q, WV)$ as a pair of matrices."""
        K, Q, V, W = _unpack(params)
        return K.T @ Q, (W if V is None else W @ V)

    def to_x(self, params: PyTree) -> Vector:
        M, P = self.factors(params)
        return jnp.concatenate([M.ravel(), P.ravel()])

    def conserved(self, params: PyTree) -> PyTree:
        r"""$(KK^\top - QQ^\top,\ W^\top W - VV^\top)$; the second is `None` if `V` is.

        Conserved by gradient flow without decay for any loss of $(M, P)$.
        """
        K, Q, V, W = _unpack(params)
        kq = K @ K.T - Q @ Q.T
        return kq, (None if V is None else W.T @ W - V @ V.T)

    def induced_potential(self, params0: PyTree) -> AbstractPotential:
        """Raises `ValueError`: no closed-form potential exists (see the class)."""
        raise ValueError(
            "AttentionFactors.induced_potential: no closed-form mirror potential "
            "exists for x = (K^T Q, W V): matrix factorizations are non-commuting "
            "reparameterizations, so gradient flow is in general no mirror flow of x "
            "(Li, Wang, Lee & Arora, NeurIPS 2022). Integrate the parameters with "
            "GradientFlow, and use `conserved` for the balancedness invariants."
        )

    @property
    def time_factor(self) -> float:
        """Raises `ValueError`: without an induced potential there is no clock."""
        raise ValueError(
            "AttentionFactors.time_factor: there is no induced potential, hence no "
            "time factor; integrate the parameters with GradientFlow."
        )


def attention_init(
    key: jax.Array,
    token_dim: int,
    num_classes: int,
    *,
    key_dim: int | None = None,
    value_dim: int | None = None,
    fixed_value: bool = False,
    dtype=None,
) -> AttentionParams:
    r"""Random `AttentionParams`: entries $N(0, 1/\text{fan-in})$.

    $K, Q\sim N(0, 1/d)$ of shape `(key_dim, token_dim)`, $V\sim N(0, 1/d)$ of shape
    `(value_dim, token_dim)` (or `None` with `fixed_value`, the identity of Mirror,
    Mirror's recipe), $W\sim N(0, 1/d_v)$ of shape `(num_classes, value_dim)`.

    Args:
        key: a PRNG key.
        token_dim: $d$.
        num_classes: $c \ge 2$.
        key_dim: $d_k$ (default $d$).
        value_dim: $d_v$ (default $d$; must be $d$ with `fixed_value`).
        fixed_value: `V = None` (the identity, not trained).
        dtype: floating dtype (default: JAX's current default float).

    Raises:
        ValueError: a dimension < 1, fewer than two classes, or `value_dim != d`
            with `fixed_value`.
    """
    key_dim = token_dim if key_dim is None else key_dim
    value_dim = token_dim if value_dim is None else value_dim
    for name, val in (
        ("token_dim", token_dim),
        ("key_dim", key_dim),
        ("value_dim", value_dim),
    ):
        if not (isinstance(val, int | np.integer) and val >= 1):
            raise ValueError(
                f"attention_init: `{name}` must be an int >= 1, got {val!r}."
            )
    if not (isinstance(num_classes, int | np.integer) and num_classes >= 2):
        raise ValueError(
            f"attention_init: `num_classes` must be an int >= 2, got {num_classes!r}."
        )
    if fixed_value and value_dim != token_dim:
        raise ValueError(
            f"attention_init: with `fixed_value` (V = identity) `value_dim` must equal "
            f"`token_dim` = {token_dim}, got {value_dim}."
        )
    dtype = default_float() if dtype is None else dtype
    kk, kq, kv, kw = jr.split(key, 4)
    scale_in, scale_v = 1.0 / math.sqrt(token_dim), 1.0 / math.sqrt(value_dim)
    K = jr.normal(kk, (key_dim, token_dim), dtype) * scale_in
    Q = jr.normal(kq, (key_dim, token_dim), dtype) * scale_in
    V = None if fixed_value else jr.normal(kv, (value_dim, token_dim), dtype) * scale_in
    W = jr.normal(kw, (num_classes, value_dim), dtype) * scale_v
    return AttentionParams(K, Q, V, W)


def digits_tokens(
    seed: int,
    *,
    test_fraction: float = 0.2,
    loss: str = "cross_entropy",
    dtype=None,
) -> tuple[Attention, Attention]:
    r"""sklearn's handwritten digits as token sequences: `(train, test)` problems.

    Each $8\times8$ image of `sklearn.datasets.load_digits` (1797 images, 10
    classes) becomes 8 row tokens of dimension 8, pixels scaled to $[0, 1]$ (divided
    by 16). The samples are shuffled with `numpy.random.default_rng(seed)` and the
    last `round(test_fraction * 1797)` go to the test problem (80/20 by default).
    The scaled-down stand-in for the tiny ViT on CIFAR-10 of Mirror, Mirror
    (ICML 2025), Fig. 3.

    Args:
        seed: the split's seed (an int >= 0).
        test_fraction: share of the test set, in $(0, 1)$.
        loss: passed to `Attention`.
        dtype: floating dtype of the tokens (default: JAX's current default float).

    Raises:
        ValueError: a bad `seed` or `test_fraction`.
    """
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise ValueError(f"digits_tokens: `seed` must be an int >= 0, got {seed!r}.")
    if not (isinstance(test_fraction, int | float) and 0 < test_fraction < 1):
        raise ValueError(
            "digits_tokens: `test_fraction` must be in (0, 1) (0.2 is an 80/20 "
            f"split), got {test_fraction!r}."
        )
    from sklearn.datasets import load_digits  # only when asked: keeps import light

    images, labels = load_digits(return_X_y=True)
    tokens = (images / 16.0).reshape(-1, 8, 8)  # row r of the image = token r
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    train, test = order[: len(labels) - n_test], order[len(labels) - n_test :]
    dtype = default_float() if dtype is None else dtype

    def problem(idx):
        return Attention(
            jnp.asarray(tokens[idx], dtype),
            jnp.asarray(labels[idx], jnp.int32),
            10,
            loss=loss,
        )

    return problem(train), problem(test)
