r"""The Graphon NTK of a pruned ReLU MLP, and the empirical NTK of a finite one.

The network (NTK parameterization, no biases, $L$ hidden ReLU layers of width
$n$, input dimension $d$, scalar output):

$$z^{(1)} = W^{(1)}x/\sqrt d,\quad z^{(l)} = W^{(l)}\sigma(z^{(l-1)})/\sqrt n,\quad
f(x) = w^{(L+1)}\cdot\sigma(z^{(L)})/\sqrt n,$$

with $\sigma = \mathrm{ReLU}$ and every weight $W_{ij} = M_{ij}G_{ij}$, $G_{ij}\sim
\mathcal N(0, 1)$ and $M$ a $\{0,1\}$ mask. Masked weights get no gradient: the NTK
is $\Theta(x, x') = \sum_l\sum_{ij}M_{ij}\,\partial_{W_{ij}}f(x)\,
\partial_{W_{ij}}f(x')$. Shapes: weights and masks have rows = output units,
`[(n, d), (n, n) x (L-1), (n,)]`; inputs `X` are `(P, d)`.

If the masks of layer $l$ are sampled as $M_{ij}\sim\mathrm{Bern}(\mathcal W^{(l)}
(u_i, u_j))$ from a graphon $\mathcal W^{(l)}:[0,1]^2\to[0,1]$ (neuron $i$ of a
hidden layer at $u_i = (i-\frac12)/n$), the NTK converges as $n\to\infty$ to the
Graphon NTK (`graphon_ntk`), computed here by quadrature on $K$ equal bins. With
every graphon $\equiv 1$ it is the dense NTK (`dense_relu_ntk`, Jacot et al. 2018;
Arora et al. 2019). Conventions: the derivative of ReLU at 0 is 0 (as
`jax.nn.relu`), so a neuron whose pre-activation variance is 0 passes no gradient.

References:
    H. Pham, T. Ta, T. Jacobs, R. Burkholz, L. Tran-Thanh, "The Graphon Limit
    Hypothesis: Understanding Neural Network Pruning via Infinite Width
    Analysis", NeurIPS 2025 (the network of Sec. 5.1; the kernels of Prop. 1 /
    Thm. 1, re-derived here as recorded in `graphon_ntk`).

    A. Jacot, F. Gabriel, C. Hongler, "Neural Tangent Kernel: Convergence and
    Generalization in Neural Networks", NeurIPS 2018.

    S. Arora, S. S. Du, W. Hu, Z. Li, R. Salakhutdinov, R. Wang, "On Exact
    Computation with an Infinitely Wide Neural Net", NeurIPS 2019.

    Y. Cho, L. K. Saul, "Kernel Methods for Deep Learning", NeurIPS 2009 (the
    arc-cosine kernels).
"""

import functools
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .._misc import default_float, is_concrete


# ------------------------------------------------------------------ graphons


def _graphon_values(x, name: str, ndim: int, fn: str) -> jax.Array:
    """`x` as a floating array of rank `ndim` with values in [0, 1] (checked)."""
    if isinstance(x, jax.core.Tracer):
        arr = jnp.asarray(x)
    else:
        host = np.asarray(x)
        if host.dtype == object or not (
            np.issubdtype(host.dtype, np.number) or host.dtype == np.bool_
        ):
            raise ValueError(
                f"{fn}: `{name}` must be a numeric array of edge probabilities, "
                f"got dtype {host.dtype}."
            )
        if host.ndim == ndim:
            vals = host.astype(np.float64)
            if not np.all(np.isfinite(vals)) or (
                vals.size and (vals.min() < 0.0 or vals.max() > 1.0)
            ):
                finite = vals[np.isfinite(vals)]
                lo = float(finite.min()) if finite.size else math.nan
                hi = float(finite.max()) if finite.size else math.nan
                raise ValueError(
                    f"{fn}: `{name}` must hold edge probabilities in [0, 1] (a "
                    f"graphon's values), got finite min {lo:.4g}, max {hi:.4g} "
                    f"(all finite: {bool(np.all(np.isfinite(vals)))}); clip or rescale "
                    "it into [0, 1]."
                )
        arr = jnp.asarray(host)
    if arr.ndim != ndim:
        raise ValueError(
            f"{fn}: `{name}` must be a {ndim}-d array, got shape {arr.shape}."
        )
    dtype = arr.dtype if jnp.issubdtype(arr.dtype, jnp.floating) else default_float()
    return arr.astype(dtype)


class MLPGraphon(eqx.Module):
    r"""Step graphons of the $L+1$ weight matrices of an $L$-hidden-layer MLP.

    Every hidden layer is cut into $K$ equal bins of positions, bin $a$ covering
    $[a/K, (a+1)/K)$. The graphon of a weight matrix gives the probability that
    a weight is kept as a function of the positions of its two units: constant
    on each bin (a step graphon). Rows always index the layer the weight feeds
    (output side), columns the layer it reads from.

    Fields:
        input: $\mathcal W^{(1)}(u_a, j)$, shape `(K, d)`: row `a` = bin of the
            first hidden layer, column `j` = input coordinate `j` (not binned).
            `None` means dense ($\equiv 1$).
        hidden: the $L-1$ graphons $\mathcal W^{(l)}$, $l = 2..L$, each `(K, K)`:
            rows = bins of layer $l$, columns = bins of layer $l-1$.
        readout: $\mathcal W^{(L+1)}(u_a)$, shape `(K,)`, or `None` (dense).

    Properties `depth` ($L$), `K` (bins) and `dim` ($d$, `None` when the input
    layer is dense and no `dim` was given: any input dimension then fits).

    Example: `MLPGraphon.constant(0.3, depth=3, dim=64, K=16)` is random pruning
    at density 0.3 of every matrix (the Erdős–Rényi graphon).
    """

    input: Float[Array, "K d"] | None
    hidden: tuple[Float[Array, "K K"], ...]
    readout: Float[Array, " K"] | None
    num_bins: int = eqx.field(static=True)
    input_dim: int | None = eqx.field(static=True)

    def __init__(
        self,
        input: ArrayLike | None = None,
        hidden: Sequence[ArrayLike] = (),
        readout: ArrayLike | None = None,
        *,
        dim: int | None = None,
        K: int | None = None,
    ):
        """Check and store the step graphons.

        Args:
            input: `(K, d)` graphon of the input layer, or `None` (dense).
            hidden: a sequence of $L-1$ arrays `(K, K)` (empty for $L = 1$).
            readout: `(K,)` graphon of the readout vector, or `None` (dense).
            dim: the input dimension $d$; needed only when `input` is `None`
                (to sample masks); must equal `input.shape[1]` otherwise.
            K: the number of bins; needed only when no array fixes it (a dense
                one-hidden-layer graphon; default 1 then).

        Raises:
            ValueError: an array has the wrong rank, values outside [0, 1] or
                NaN, the arrays disagree on `K`, or `dim`/`K` disagree with them.
            TypeError: `hidden` is a single array instead of a sequence.
        """
        fn = "MLPGraphon"
        if isinstance(hidden, jax.Array | np.ndarray):
            raise TypeError(
                f"{fn}: `hidden` must be a sequence (tuple or list) of L-1 arrays "
                "(K, K), one per hidden-to-hidden layer, got a single array; wrap "
                "it as (W,) for L = 2."
            )
        hidden = tuple(
            _graphon_values(h, f"hidden[{i}]", 2, fn) for i, h in enumerate(hidden)
        )
        inp = None if input is None else _graphon_values(input, "input", 2, fn)
        out = None if readout is None else _graphon_values(readout, "readout", 1, fn)
        sizes = []  # (name, K implied)
        if inp is not None:
            sizes.append(("input", inp.shape[0]))
        for i, h in enumerate(hidden):
            if h.shape[0] != h.shape[1]:
                raise ValueError(
                    f"{fn}: `hidden[{i}]` must be square (K, K) (K bins on both "
                    f"layers), got shape {h.shape}."
                )
            sizes.append((f"hidden[{i}]", h.shape[0]))
        if out is not None:
            sizes.append(("readout", out.shape[0]))
        if K is not None:
            if not isinstance(K, int | np.integer) or isinstance(K, bool) or K < 1:
                raise ValueError(f"{fn}: `K` must be a positive int, got {K!r}.")
            sizes.append(("K", int(K)))
        for name, k in sizes[1:]:
            if k != sizes[0][1]:
                raise ValueError(
                    f"{fn}: `{name}` implies K = {k} bins but `{sizes[0][0]}` "
                    f"implies K = {sizes[0][1]}; every graphon must use the same "
                    "K bins per layer (resample them on a common grid)."
                )
        if sizes and sizes[0][1] < 1:
            raise ValueError(f"{fn}: graphons must have at least one bin (K >= 1).")
        if dim is not None and (
            not isinstance(dim, int | np.integer) or isinstance(dim, bool) or dim < 1
        ):
            raise ValueError(f"{fn}: `dim` must be a positive int, got {dim!r}.")
        if inp is not None:
            if dim is not None and int(dim) != inp.shape[1]:
                raise ValueError(
                    f"{fn}: `dim` = {dim} but `input` has {inp.shape[1]} columns "
                    "(one per input coordinate); drop `dim` or fix `input`."
                )
            dim = inp.shape[1]
        self.input = inp
        self.hidden = hidden
        self.readout = out
        self.num_bins = int(sizes[0][1]) if sizes else 1
        self.input_dim = None if dim is None else int(dim)

    @property
    def depth(self) -> int:
        """$L$, the number of hidden layers (`len(hidden) + 1`)."""
        return len(self.hidden) + 1

    @property
    def K(self) -> int:
        """The number of bins per hidden layer."""
        return self.num_bins

    @property
    def dim(self) -> int | None:
        """The input dimension $d$ (`None`: dense input layer, any $d$)."""
        return self.input_dim

    @classmethod
    def constant(
        cls,
        c: float,
        depth: int,
        dim: int,
        K: int,
        *,
        mask_input: bool = True,
        mask_readout: bool = True,
    ) -> "MLPGraphon":
        r"""The constant graphon $\mathcal W\equiv c$ on every matrix.

        The limit of random (or magnitude-at-initialization) pruning at density
        $c$. Its NTK is exactly $c^{L+1}$ times the dense one ($c^{L}$ with a
        dense readout, $c^{L-1}$ with dense input and readout).

        Args:
            c: the density, in $[0, 1]$.
            depth: $L \ge 1$ hidden layers.
            dim: the input dimension $d$.
            K: bins per layer.
            mask_input: if False the input layer is dense (`input=None`).
            mask_readout: if False the readout is dense (`readout=None`).

        Returns:
            The `MLPGraphon`.

        Raises:
            ValueError: `c` outside [0, 1], or `depth`, `dim`, `K` not positive.
        """
        fn = "MLPGraphon.constant"
        if not isinstance(c, int | float | np.integer | np.floating) or not (
            0.0 <= float(c) <= 1.0
        ):
            raise ValueError(f"{fn}: `c` must be a density in [0, 1], got {c!r}.")
        depth = _positive_int(depth, "depth", fn)
        K = _positive_int(K, "K", fn)
        dim = _positive_int(dim, "dim", fn)
        dtype = default_float()
        full = functools.partial(jnp.full, fill_value=float(c), dtype=dtype)
        return cls(
            full((K, dim)) if mask_input else None,
            tuple(full((K, K)) for _ in range(depth - 1)),
            full((K,)) if mask_readout else None,
            dim=dim,
            K=K,
        )

    @classmethod
    def from_functions(
        cls,
        depth: int,
        dim: int,
        K: int,
        hidden_fn: Callable | Sequence[Callable],
        input_fn: Callable | None = None,
        readout_fn: Callable | None = None,
    ) -> "MLPGraphon":
        r"""Step graphons from functions, evaluated at the bin midpoints.

        Bin $a$ has midpoint $u_a = (a + \frac12)/K$; input coordinate $j$ sits at
        $v_j = (j + \frac12)/d$. The functions are called once with numpy float64
        arrays that broadcast: `hidden_fn(u, v)` with `u` of shape `(K, 1)` (layer
        $l$) and `v` of shape `(1, K)` (layer $l-1$), `input_fn(u, v)` with `u`
        `(K, 1)` and `v` `(1, d)`, `readout_fn(u)` with `u` `(K,)`. Midpoint
        evaluation is the midpoint rule for the integrals of the Graphon NTK; for
        a smooth graphon its error is $O(K^{-2})$.

        Args:
            depth: $L \ge 1$ hidden layers.
            dim: the input dimension $d$.
            K: bins per layer.
            hidden_fn: $\mathcal W(u, v)$ for every hidden-to-hidden matrix, or a
                sequence of $L-1$ such functions (one per layer $l = 2..L$).
            input_fn: $\mathcal W^{(1)}(u, v)$, or `None` for a dense input layer.
            readout_fn: $\mathcal W^{(L+1)}(u)$, or `None` for a dense readout.

        Returns:
            The `MLPGraphon`.

        Raises:
            ValueError: a function's values leave [0, 1] or cannot broadcast to
                the grid, or a size argument is not a positive int.
        """
        fn = "MLPGraphon.from_functions"
        depth = _positive_int(depth, "depth", fn)
        K = _positive_int(K, "K", fn)
        dim = _positive_int(dim, "dim", fn)
        u = (np.arange(K, dtype=np.float64) + 0.5) / K
        vd = (np.arange(dim, dtype=np.float64) + 0.5) / dim
        if callable(hidden_fn):
            hidden_fns = [hidden_fn] * (depth - 1)
        else:
            hidden_fns = list(hidden_fn)
            if len(hidden_fns) != depth - 1 or not all(map(callable, hidden_fns)):
                raise ValueError(
                    f"{fn}: `hidden_fn` must be a callable or a sequence of depth - 1"
                    f" = {depth - 1} callables, got {hidden_fn!r}."
                )

        def grid(f, args, shape, name):
            try:
                vals = np.broadcast_to(np.asarray(f(*args), dtype=np.float64), shape)
            except ValueError as err:
                raise ValueError(
                    f"{fn}: `{name}` must return an array broadcastable to {shape}"
                    f" (it is called on the bin midpoints): {err}"
                ) from None
            return _graphon_values(np.array(vals), name, len(shape), fn)

        hidden = tuple(
            grid(f, (u[:, None], u[None, :]), (K, K), "hidden_fn") for f in hidden_fns
        )
        inp = (
            None
            if input_fn is None
            else grid(input_fn, (u[:, None], vd[None, :]), (K, dim), "input_fn")
        )
        out = None if readout_fn is None else grid(readout_fn, (u,), (K,), "readout_fn")
        return cls(inp, hidden, out, dim=dim, K=K)


def _positive_int(x, name: str, fn: str) -> int:
    if not isinstance(x, int | np.integer) or isinstance(x, bool) or x < 1:
        raise ValueError(f"{fn}: `{name}` must be a positive int, got {x!r}.")
    return int(x)


# ------------------------------------------------------------------ kernels


def relu_expectations(
    s: Float[ArrayLike, "..."],
    s2: Float[ArrayLike, "..."],
    c: Float[ArrayLike, "..."],
) -> tuple[Float[Array, "..."], Float[Array, "..."]]:
    r"""The ReLU arc-cosine expectations of a centered 2-d Gaussian.

    For $(z, z')\sim\mathcal N\big(0, \begin{pmatrix}s & c\\ c & s'\end{pmatrix}
    \big)$, with $\vartheta = \arccos\big(c/\sqrt{s s'}\big)$:

    $$\Sigma = \mathbb E[\sigma(z)\sigma(z')] = \frac{\sqrt{s s'}}{2\pi}
    \big(\sin\vartheta + (\pi - \vartheta)\cos\vartheta\big),\qquad
    \dot\Sigma = \mathbb E[\sigma'(z)\sigma'(z')] = \frac{\pi - \vartheta}{2\pi}.$$

    Elementwise over arrays that broadcast (same rank). Safe at the boundary:
    the cosine is clipped into $[-1, 1]$ (round-off can put $|c|$ above
    $\sqrt{ss'}$), negative variances from round-off count as 0, and where
    $s s' = 0$ the result is $\Sigma = \dot\Sigma = 0$ (a zero-variance
    pre-activation is exactly 0, and ReLU's derivative at 0 is 0 as in
    `jax.nn.relu`). No NaN arises from finite inputs. At $c = s = s'$ the
    expectations are exactly $s/2$ and $1/2$.

    Args:
        s: the variance of $z$.
        s2: the variance of $z'$.
        c: the covariance of $z$ and $z'$.

    Returns:
        `(Sigma, Sigma_dot)`, each of the broadcast shape.

    References:
        Y. Cho, L. K. Saul, "Kernel Methods for Deep Learning", NeurIPS 2009
        (arc-cosine kernels of degree 1 and 0).
    """
    s, s2, c = jnp.broadcast_arrays(jnp.asarray(s), jnp.asarray(s2), jnp.asarray(c))
    dtype = jnp.result_type(s, s2, c)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = default_float()
    s, s2, c = (a.astype(dtype) for a in (s, s2, c))
    norm = jnp.sqrt(jnp.maximum(s, 0.0) * jnp.maximum(s2, 0.0))
    pos = norm > 0
    rho = jnp.clip(c / jnp.where(pos, norm, 1.0), -1.0, 1.0)
    theta = jnp.arccos(rho)
    # Divide by 2 pi last, so that at rho = 1 the factor is exactly pi/(2 pi) = 1/2
    # (keeps the diagonal of a kernel exactly on its diagonal recursion s/2).
    shape = (jnp.sqrt(jnp.maximum(1.0 - rho * rho, 0.0)) + (jnp.pi - theta) * rho) / (
        2.0 * jnp.pi
    )
    sigma = jnp.where(pos, norm * shape, 0.0)
    sigma_dot = jnp.where(pos, (jnp.pi - theta) / (2.0 * jnp.pi), 0.0)
    return sigma, sigma_dot


def _as_inputs(X, name: str, fn: str, dim: int | None = None) -> jax.Array:
    """`X` as a floating `(P, d)` array; checks rank, `d` and finiteness."""
    arr = jnp.asarray(X)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(default_float())
    if arr.ndim != 2:
        raise ValueError(
            f"{fn}: `{name}` must be a 2-d array of inputs (P, d), one row per "
            f"input, got shape {arr.shape}; use {name}[None, :] for one input."
        )
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{fn}: `{name}` has {arr.shape[1]} columns but the network / graphon "
            f"has input dimension d = {dim}; pass inputs of shape (P, {dim})."
        )
    if is_concrete(arr) and not bool(jnp.all(jnp.isfinite(arr))):
        raise ValueError(f"{fn}: `{name}` contains NaN or inf; pass finite inputs.")
    return arr


def _pair(X, X2, fn: str, dim: int | None = None):
    X = _as_inputs(X, "X", fn, dim)
    if X2 is None:
        return X, X, True
    X2 = _as_inputs(X2, "X2", fn, X.shape[1])
    dtype = jnp.promote_types(X.dtype, X2.dtype)
    return X.astype(dtype), X2.astype(dtype), False


@functools.partial(jax.jit, static_argnames=("depth", "symmetric"))
def _dense_terms(X, X2, depth: int, symmetric: bool):
    # Arora et al. (2019)'s normalized form, independent of the covariance
    # propagation of `graphon_ntk`: track the correlation rho_l of the two
    # pre-activations and the norms separately. With N(0, 1) weights and no
    # bias, E[relu(z)^2] = s/2, so every layer halves the variance and
    #   Lambda_l = |x||x'|/d 2^{1-l} rho_l,     rho_{l+1} = kappa1(rho_l),
    #   Sigma_dot_l = kappa0(rho_l)/2,          Sigma_L = |x||x'|/d 2^{-L} rho_{L+1},
    # kappa1(r) = (sqrt(1-r^2) + (pi - arccos r) r)/pi, kappa0(r) = 1 - arccos(r)/pi.
    d = X.shape[1]
    nx = jnp.sqrt(jnp.sum(X * X, axis=1) / d)
    nx2 = jnp.sqrt(jnp.sum(X2 * X2, axis=1) / d)
    scale = nx[:, None] * nx2[None, :]
    pos = scale > 0
    rho = jnp.clip((X @ X2.T / d) / jnp.where(pos, scale, 1.0), -1.0, 1.0)
    rho = jnp.where(pos, rho, 0.0)
    if symmetric:  # x = x' exactly: the correlation is 1, not 1 - round-off
        eye = jnp.eye(X.shape[0], dtype=bool)
        rho = jnp.where(eye & pos, 1.0, rho)
    rhos, kappa0 = [rho], []
    for _ in range(depth):
        r = rhos[-1]
        arc = jnp.arccos(r)
        kappa0.append(jnp.where(pos, 1.0 - arc / jnp.pi, 0.0))
        rhos.append(
            (jnp.sqrt(jnp.maximum(1.0 - r * r, 0.0)) + (jnp.pi - arc) * r) / jnp.pi
        )
    scale = scale * 0.5**depth
    terms = [scale * rhos[depth]]
    prod = jnp.ones_like(rho)
    layer = []
    for k in range(depth - 1, -1, -1):  # layer k + 1 (1-based)
        prod = prod * kappa0[k]
        layer.append(scale * rhos[k] * prod)
    return jnp.stack(terms + layer[::-1])


def dense_relu_ntk_terms(
    X: Float[ArrayLike, "..."],
    X2: Float[ArrayLike, "..."] | None = None,
    *,
    depth: int,
) -> Float[Array, "..."]:
    r"""The per-layer terms of the dense ReLU NTK (closed form).

    For the network of this module with every mask $\equiv 1$, $\Theta =
    \sum_{l=0}^{L}T_l$ with the readout term $T_0 = \Sigma^{(L)}$ and the
    term of layer $l\ge 1$, $T_l = \Lambda^{(l)}\prod_{k=l}^{L}\dot\Sigma^{(k)}$
    (the contribution of the weights $W^{(l)}$; $\Lambda^{(l)}$ is the covariance
    of $z^{(l)}$). In closed form, with $\rho_1 = x\cdot x'/(|x||x'|)$ and the
    arc-cosine maps $\kappa_1(\rho) = (\sqrt{1-\rho^2} + (\pi - \arccos\rho)
    \rho)/\pi$, $\kappa_0(\rho) = 1 - \arccos(\rho)/\pi$, $\rho_{l+1} =
    \kappa_1(\rho_l)$:

    $$T_0 = \frac{|x||x'|}{d\,2^{L}}\rho_{L+1},\qquad T_l = \frac{|x||x'|}{d\,2^L}
    \rho_l\prod_{k=l}^{L}\kappa_0(\rho_k).$$

    Written independently of `graphon_ntk` (normalized correlations instead of
    covariance propagation), so it is the reference for the dense case. A zero
    input has a zero kernel row.

    Args:
        X: inputs, shape `(P, d)`.
        X2: second inputs `(P2, d)`; default `X` (then the diagonal uses the
            exact correlation 1).
        depth: $L\ge 1$, the number of hidden layers.

    Returns:
        The terms, shape `(L + 1, P, P2)`: readout first, then layers $1..L$.

    Raises:
        ValueError: `X`/`X2` not 2-d, of different `d`, or not finite; `depth`
            not a positive int.

    References:
        Jacot, Gabriel, Hongler, NeurIPS 2018; Arora et al., "On Exact
        Computation with an Infinitely Wide Neural Net", NeurIPS 2019 (Eq. (4)
        to (6), here without biases and with $\mathcal N(0,1)$ weights).
    """
    fn = "dense_relu_ntk_terms"
    depth = _positive_int(depth, "depth", fn)
    X, X2, symmetric = _pair(X, X2, fn)
    return _dense_terms(X, X2, depth, symmetric)


def dense_relu_ntk(
    X: Float[ArrayLike, "..."],
    X2: Float[ArrayLike, "..."] | None = None,
    *,
    depth: int,
) -> Float[Array, "..."]:
    r"""The NTK of the dense bias-free ReLU MLP in NTK parameterization.

    The infinite-width limit of $\sum_\theta\partial_\theta f(x)\partial_\theta
    f(x')$ for the network of this module with no mask: the sum of
    `dense_relu_ntk_terms` (which documents the closed form).

    Args:
        X: inputs, shape `(P, d)`.
        X2: second inputs `(P2, d)`; default `X`.
        depth: $L\ge 1$, the number of hidden layers.

    Returns:
        $\Theta$, shape `(P, P2)`.

    Raises:
        ValueError: as `dense_relu_ntk_terms`.

    References:
        Jacot, Gabriel, Hongler, NeurIPS 2018; Arora et al., NeurIPS 2019.
    """
    fn = "dense_relu_ntk"
    depth = _positive_int(depth, "depth", fn)
    X, X2, symmetric = _pair(X, X2, fn)
    return jnp.sum(_dense_terms(X, X2, depth, symmetric), axis=0)


# ------------------------------------------------------------------ graphon NTK


def _graphon_arrays(graphon: MLPGraphon, dtype):
    """The graphons in `dtype`; dense parts stay None (no arrays of ones: cheaper,
    and XLA:CPU in jaxlib 0.10.2 miscompiled products with constant ones)."""
    w_in = None if graphon.input is None else graphon.input.astype(dtype)
    w_out = None if graphon.readout is None else graphon.readout.astype(dtype)
    return w_in, tuple(h.astype(dtype) for h in graphon.hidden), w_out


@functools.partial(jax.jit, static_argnames=("K", "block", "symmetric"))
def _graphon_ntk_core(w_in, hidden, w_out, X, X2, K: int, block: int, symmetric: bool):
    d = X.shape[1]
    P, P2 = X.shape[0], X2.shape[0]
    depth = len(hidden) + 1
    nblocks = -(-P // block)
    Xp = jnp.zeros((nblocks * block, d), X.dtype).at[:P].set(X)

    def diagonals(Z):
        # Sigma_tilde(u; x, x) per layer, shape (K, rows): Sigma(u; x, x) = s/2.
        if w_in is None:
            s = jnp.broadcast_to(jnp.sum(Z * Z, axis=1)[None, :] / d, (K, Z.shape[0]))
        else:
            s = (w_in @ (Z * Z).T) / d
        out = [s]
        for w in hidden:
            s = (w @ (0.5 * s)) / K
            out.append(s)
        return out

    diag_x = diagonals(Xp)
    # With X2 = X, reuse the same numbers for both sides (bitwise equal diagonals)
    diag_x2 = [s[:, :P] for s in diag_x] if symmetric else diagonals(X2)
    chunks = Xp.reshape(nblocks, block, d)
    chunk_diag = [s.reshape(K, nblocks, block).transpose(1, 0, 2) for s in diag_x]
    cols = jnp.arange(P2)

    def one_chunk(args):
        start, xc, dxc = args
        # on the diagonal x = x' exactly: c = s there (rho = 1, not 1 - round-off)
        on_diag = (start + jnp.arange(block))[:, None] == cols[None, :]

        def snap(cross, s):
            if not symmetric:
                return cross
            return jnp.where(on_diag[None, :, :], s[:, :, None], cross)

        # Sigma_tilde^(1)(u; x, x') = (1/d) sum_j W1(u, j) x_j x'_j
        if w_in is None:
            cross = jnp.broadcast_to(((xc @ X2.T) / d)[None], (K, block, P2))
        else:
            weighted = (w_in[:, None, :] * xc[None, :, :]).reshape(K * block, d)
            cross = (weighted @ X2.T).reshape(K, block, P2) / d
        tildes, dots = [], []
        sigma = None
        for k in range(depth):  # layer k + 1
            if k > 0:  # Sigma_tilde^(l)(u) = (1/K) sum_v W_l(u, v) Sigma^(l-1)(v)
                cross = (hidden[k - 1] @ sigma.reshape(K, block * P2)).reshape(
                    K, block, P2
                ) / K
            cross = snap(cross, dxc[k])
            sigma, dot = relu_expectations(
                dxc[k][:, :, None], diag_x2[k][:, None, :], cross
            )
            tildes.append(cross)
            dots.append(dot)
        terms = [None] * (depth + 1)
        if w_out is None:
            terms[0] = jnp.mean(sigma, axis=0)
            b = dots[-1]
        else:
            terms[0] = jnp.mean(w_out[:, None, None] * sigma, axis=0)
            b = w_out[:, None, None] * dots[-1]  # B^(L)(u) = W_out(u) Sigma_dot^(L)(u)
        terms[depth] = jnp.mean(b * tildes[-1], axis=0)
        for k in range(depth - 2, -1, -1):  # layer k + 1
            # B^(l)(u) = Sigma_dot^(l)(u) (1/K) sum_v W_{l+1}(v, u) B^(l+1)(v)
            back = (hidden[k].T @ b.reshape(K, block * P2)).reshape(K, block, P2)
            b = dots[k] * back / K
            terms[k + 1] = jnp.mean(b * tildes[k], axis=0)
        return jnp.stack(terms)

    starts = jnp.arange(nblocks) * block
    out = jax.lax.map(one_chunk, (starts, chunks, chunk_diag))
    out = out.transpose(1, 0, 2, 3).reshape(depth + 1, nblocks * block, P2)
    return out[:, :P]


def graphon_ntk(
    graphon: MLPGraphon,
    X: Float[ArrayLike, "..."],
    X2: Float[ArrayLike, "..."] | None = None,
    *,
    per_layer: bool = False,
    block_size: int | None = None,
) -> Float[Array, "..."]:
    r"""The Graphon NTK of a pruned ReLU MLP, by quadrature on the $K$ bins.

    With $\sigma$ = ReLU, graphons $\mathcal W^{(l)}$ (`graphon`), input
    coordinates at $v_j$ and $\Lambda^{(l)}(u)$ the $2\times2$ matrix of
    $\tilde\Sigma^{(l)}(u;\cdot,\cdot)$ on $\{x, x'\}$:

    $$\tilde\Sigma^{(1)}(u; x, x') = \tfrac1d\textstyle\sum_j\mathcal W^{(1)}(u,
    v_j)x_jx'_j,\qquad \tilde\Sigma^{(l)}(u) = \int_0^1\mathcal W^{(l)}(u, v)
    \Sigma^{(l-1)}(v)\,dv,$$

    $\Sigma^{(l)}(u), \dot\Sigma^{(l)}(u)$ = `relu_expectations` of
    $\Lambda^{(l)}(u)$; backward, $B^{(L)}(u) = \mathcal W^{(L+1)}(u)
    \dot\Sigma^{(L)}(u)$ and $B^{(l)}(u) = \dot\Sigma^{(l)}(u)\int_0^1
    \mathcal W^{(l+1)}(v, u)B^{(l+1)}(v)\,dv$;

    $$\Theta(x, x') = \int_0^1\mathcal W^{(L+1)}(u)\Sigma^{(L)}(u)\,du +
    \sum_{l=1}^{L}\int_0^1 B^{(l)}(u)\tilde\Sigma^{(l)}(u)\,du .$$

    Each layer's own graphon enters its term once, inside $\tilde\Sigma^{(l)}$:
    masked weights get no gradient. Integrals over positions are bin means (the
    graphons are step functions, so this is exact for them). This is the
    $n\to\infty$ limit of the empirical NTK of networks whose masks are sampled
    from `graphon` (`sample_masks`), derived under the gradient-independence
    and per-neuron CLT assumptions; with a non-uniform input graphon the CLT
    over the $d$ input coordinates needs $d$ large. Consequences (exact): the
    constant graphon $c$ gives $c^{L+1}$ times the dense NTK; with a dense input
    layer, any hidden and readout graphons give $\gamma$ times the dense NTK,
    $\gamma = \int\mathcal W^{(L+1)}(u_L)\prod_{l=2}^{L}\mathcal W^{(l)}(u_l,
    u_{l-1})\,du_1\cdots du_L$ (the mean path density): every
    $\Sigma^{(l)}(u)$ is then a scalar $a_l(u)$ times the dense one,
    $\dot\Sigma$ is scale-free, and the layer weights $\int b_l a_l$ telescope
    to the same $\gamma$. Only the input layer changes the kernel's shape.

    Cost $O(L K^2 P P_2 + K d P P_2)$ time, $O((L + 1) K\,b\,P_2)$ memory for a
    block of $b$ rows of `X` at a time.

    Args:
        graphon: the step graphons (`MLPGraphon`); its depth is the network's.
        X: inputs, shape `(P, d)`.
        X2: second inputs `(P2, d)`; default `X` (then the diagonal uses the
            exact correlation 1 of $x$ with itself).
        per_layer: return the terms (readout first, then layers $1..L$)
            instead of their sum.
        block_size: rows of `X` per block; default: about $2^{21}/(K P_2)$.

    Returns:
        $\Theta$, shape `(P, P2)`; with `per_layer`, shape `(L + 1, P, P2)`.

    Raises:
        ValueError: `X`/`X2` not 2-d, not finite, or of a dimension other than
            the graphon's `dim`; a bad `block_size`.
        TypeError: `graphon` is not an `MLPGraphon`.

    References:
        Pham, Ta, Jacobs, Burkholz, Tran-Thanh, "The Graphon Limit Hypothesis",
        NeurIPS 2025, Sec. 5 (Prop. 1, Thm. 1: the Graphon NTK; the formulas
        above are an independent derivation with the paper's structure).
    """
    fn = "graphon_ntk"
    if not isinstance(graphon, MLPGraphon):
        raise TypeError(
            f"{fn}: `graphon` must be an MLPGraphon, got {type(graphon).__name__}; "
            "build one with MLPGraphon(...), MLPGraphon.constant or "
            "MLPGraphon.from_functions."
        )
    X, X2, symmetric = _pair(X, X2, fn, graphon.dim)
    P, P2 = X.shape[0], X2.shape[0]
    if block_size is None:
        block = max(1, min(P, 2**21 // max(1, graphon.K * P2)))
    else:
        block = _positive_int(block_size, "block_size", fn)
        block = min(block, max(P, 1))
    dtype = X.dtype
    w_in, hidden, w_out = _graphon_arrays(graphon, dtype)
    terms = _graphon_ntk_core(w_in, hidden, w_out, X, X2, graphon.K, block, symmetric)
    return terms if per_layer else jnp.sum(terms, axis=0)


# ------------------------------------------------------------------ finite networks


def sample_masks(
    graphon: MLPGraphon, width: int, key: ArrayLike, *, dim: int | None = None
) -> list[Bool[Array, "..."]]:
    r"""Masks of a width-$n$ MLP sampled from a graphon.

    Neuron $i = 1..n$ of every hidden layer sits at $u_i = (i - \frac12)/n$, in
    bin $\lfloor u_iK\rfloor$; input coordinate $j$ uses column $j$ of
    `graphon.input`. Each weight is kept independently with the graphon's value
    at its two units, $M_{ij}\sim\mathrm{Bern}(\mathcal W(u_i, u_j))$ (the
    paper's sampling of masks from a graphon). Dense parts (`None`) give
    all-True masks. When $K$ does not divide $n$ the bins hold $\lfloor n/K
    \rfloor$ or $\lceil n/K\rceil$ neurons (an $O(K/n)$ deviation from the equal
    bins of `graphon_ntk`).

    Args:
        graphon: the step graphons.
        width: $n$, the width of every hidden layer.
        key: a JAX PRNG key.
        dim: the input dimension, needed only if `graphon.dim` is `None`.

    Returns:
        Boolean masks, rows = output units: `[(n, d), (n, n) x (L-1), (n,)]`.

    Raises:
        ValueError: `width` not a positive int, or no input dimension known.
        TypeError: `graphon` is not an `MLPGraphon`.
    """
    fn = "sample_masks"
    if not isinstance(graphon, MLPGraphon):
        raise TypeError(f"{fn}: `graphon` must be an MLPGraphon.")
    n = _positive_int(width, "width", fn)
    d = graphon.dim if dim is None else _positive_int(dim, "dim", fn)
    if d is None:
        raise ValueError(
            f"{fn}: the graphon's input layer is dense and has no `dim`; pass "
            "`dim=d` (or build the graphon with dim=d)."
        )
    if graphon.dim is not None and d != graphon.dim:
        raise ValueError(
            f"{fn}: `dim` = {d} but the graphon has dim = {graphon.dim}; drop `dim`."
        )
    K = graphon.K
    # floor(u_i K) with u_i = (i + 1/2)/n for 0-based i, in exact integer arithmetic
    bins = ((2 * np.arange(n) + 1) * K) // (2 * n)
    return _sample_core(key, graphon, jnp.asarray(bins), d)


@functools.partial(jax.jit, static_argnames=("d",))
def _sample_core(key, graphon, bins, d):
    # One compiled program per configuration (many small eager ops are slower).
    n = bins.shape[0]
    keys = jr.split(key, graphon.depth + 1)

    def bern(k, p):
        return jr.uniform(k, p.shape, dtype=p.dtype) < p

    masks = []
    if graphon.input is None:
        masks.append(jnp.ones((n, d), bool))
    else:
        masks.append(bern(keys[0], graphon.input[bins, :]))
    for k, w in enumerate(graphon.hidden, start=1):
        masks.append(bern(keys[k], w[bins[:, None], bins[None, :]]))
    if graphon.readout is None:
        masks.append(jnp.ones((n,), bool))
    else:
        masks.append(bern(keys[-1], graphon.readout[bins]))
    return masks


def init_params(
    key: ArrayLike, dim: int, width: int, depth: int, dtype=jnp.float64
) -> list[Float[Array, "..."]]:
    r"""$\mathcal N(0, 1)$ weights of the MLP (NTK parameterization, no biases).

    Args:
        key: a JAX PRNG key.
        dim: the input dimension $d$.
        width: $n$, the width of every hidden layer.
        depth: $L$, the number of hidden layers.
        dtype: the floating dtype (float64 needs JAX's x64 mode).

    Returns:
        `[W1 (n, d), W2..WL (n, n), w (n,)]`, rows = output units.

    Raises:
        ValueError: a size not a positive int.
    """
    fn = "init_params"
    d = _positive_int(dim, "dim", fn)
    n = _positive_int(width, "width", fn)
    L = _positive_int(depth, "depth", fn)
    shapes = ((n, d),) + ((n, n),) * (L - 1) + ((n,),)
    return _normal_core(key, shapes, jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnames=("shapes", "dtype"))
def _normal_core(key, shapes, dtype):
    keys = jr.split(key, len(shapes))
    return [jr.normal(k, s, dtype) for k, s in zip(keys, shapes, strict=True)]


def _check_network(params, masks, fn: str):
    """Params (and masks as floats of the params' dtype, or None), checked."""
    if not isinstance(params, list | tuple) or len(params) < 2:
        raise ValueError(
            f"{fn}: `params` must be a list [W1 (n, d), W2..WL (n, n), w (n,)] of "
            f"at least 2 arrays (as init_params returns), got {type(params).__name__}"
            f" of length {len(params) if isinstance(params, list | tuple) else '-'}."
        )
    params = [jnp.asarray(p) for p in params]
    dtype = params[0].dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{fn}: `params` must be floating arrays, got {dtype}.")
    for i, p in enumerate(params):
        last = i == len(params) - 1
        want = 1 if last else 2
        ok = p.ndim == want and p.dtype == dtype
        if ok and i > 0:
            ok = p.shape[-1] == params[i - 1].shape[0]
        if not ok:
            raise ValueError(
                f"{fn}: `params[{i}]` has shape {p.shape} and dtype {p.dtype}; "
                f"expected a {want}-d {dtype} array"
                + (f" with {params[i - 1].shape[0]} columns" if i else "")
                + " (rows = output units, columns = the previous layer's units)."
            )
    if masks is None:
        return params, [None] * len(params)
    if not isinstance(masks, list | tuple) or len(masks) != len(params):
        raise ValueError(
            f"{fn}: `masks` must be None or a list of {len(params)} arrays with the "
            "shapes of `params` (as sample_masks returns)."
        )
    out = []
    for i, (m, p) in enumerate(zip(masks, params, strict=True)):
        if m is None:  # a dense layer
            out.append(None)
            continue
        m = jnp.asarray(m)
        if m.shape != p.shape:
            raise ValueError(
                f"{fn}: `masks[{i}]` has shape {m.shape}, its weights `params[{i}]`"
                f" {p.shape}; pass one mask per weight array, same shape."
            )
        # An all-True mask is a dense layer: same kernel, cheaper path. It also
        # avoids a product with a matrix of ones, which XLA:CPU (jaxlib 0.10.2,
        # YNNPACK fusion) got wrong when the ones were a compile-time constant.
        dense = is_concrete(m) and bool(np.all(np.asarray(m)))
        out.append(None if dense else m.astype(dtype))
    return params, out


def _effective(params, masks):
    """The weights W * M (masks: a list with None for dense layers)."""
    return [p if m is None else p * m for p, m in zip(params, masks, strict=True)]


def _forward(weights, X):
    """Pre-activations z_l and scaled layer inputs a_l / sqrt(fan-in of l+1)."""
    scaled = [X / math.sqrt(X.shape[1])]
    zs = []
    for w in weights[:-1]:
        z = scaled[-1] @ w.T
        zs.append(z)
        scaled.append(jax.nn.relu(z) / math.sqrt(z.shape[1]))
    return zs, scaled


def apply(
    params: Sequence[Float[ArrayLike, "..."]],
    masks: Sequence[ArrayLike | None] | None,
    X: Float[ArrayLike, "..."],
) -> Float[Array, " P"]:
    r"""The masked MLP's outputs $f(x) = w\cdot\sigma(z^{(L)})/\sqrt n$ on `X`.

    Args:
        params: `[W1 (n, d), W2..WL (n, n), w (n,)]` (`init_params`).
        masks: boolean masks of the same shapes (`sample_masks`), or `None`.
        X: inputs, shape `(P, d)`.

    Returns:
        The outputs, shape `(P,)`.

    Raises:
        ValueError: inconsistent shapes, or `X` not finite.
    """
    fn = "apply"
    params, masks = _check_network(params, masks, fn)
    X = _as_inputs(X, "X", fn, params[0].shape[1]).astype(params[0].dtype)
    weights = _effective(params, masks)
    _, scaled = _forward(weights, X)
    return scaled[-1] @ weights[-1]


def _sensitivities(weights, X):
    """Scaled layer inputs a_l and the sensitivities delta_l = df/dz_l, by one
    batched `jax.vjp` of the outputs with respect to additive offsets of the
    pre-activations (the samples are independent, so the cotangent of ones gives
    each sample's own delta)."""

    def outputs(offsets):
        scaled = [X / math.sqrt(X.shape[1])]
        for w, e in zip(weights[:-1], offsets, strict=True):
            z = scaled[-1] @ w.T + e
            scaled.append(jax.nn.relu(z) / math.sqrt(z.shape[1]))
        return scaled[-1] @ weights[-1], scaled

    offsets = [jnp.zeros((X.shape[0], w.shape[0]), X.dtype) for w in weights[:-1]]
    f, pullback, scaled = jax.vjp(outputs, offsets, has_aux=True)
    (deltas,) = pullback(jnp.ones_like(f))
    return scaled, deltas


@functools.partial(jax.jit, static_argnames=("block", "symmetric"))
def _empirical_core(params, masks, X, X2, block: int, symmetric: bool):
    weights = _effective(params, masks)
    dtype = params[0].dtype
    P, P2, d = X.shape[0], X2.shape[0], X.shape[1]
    nb, nb2 = -(-P // block), -(-P2 // block)
    Xp = jnp.zeros((nb * block, d), dtype).at[:P].set(X)
    X2p = jnp.zeros((nb2 * block, d), dtype).at[:P2].set(X2)
    if symmetric:
        rows, cols = np.triu_indices(nb)
    else:
        rows, cols = np.repeat(np.arange(nb), nb2), np.tile(np.arange(nb2), nb)

    def tile(ij):
        i, j = ij
        xa = jax.lax.dynamic_slice_in_dim(Xp, i * block, block)
        xb = jax.lax.dynamic_slice_in_dim(X2p, j * block, block)
        a, da = _sensitivities(weights, xa)
        b, db = _sensitivities(weights, xb)
        # readout: sum_i M_i h_i h'_i / n
        top = a[-1] if masks[-1] is None else a[-1] * masks[-1][None, :]
        out = top @ b[-1].T
        for k in range(len(da)):
            if masks[k] is None:  # dense: (delta delta'^T) * (a a'^T)
                out = out + (da[k] @ db[k].T) * (a[k] @ b[k].T)
                continue
            # sum_ij M_ij delta_i delta'_i a_j a'_j: one GEMM of the (b*b, fan-in)
            # pair products with M^T, then the pair products of the deltas.
            pairs = (a[k][:, None, :] * b[k][None, :, :]).reshape(block * block, -1)
            through = pairs @ masks[k].T
            dd = (da[k][:, None, :] * db[k][None, :, :]).reshape(block * block, -1)
            out = out + jnp.sum(through * dd, axis=1).reshape(block, block)
        return out

    tiles = jax.lax.map(tile, (jnp.asarray(rows), jnp.asarray(cols)))
    full = jnp.zeros((nb, nb2, block, block), dtype)
    if symmetric:
        full = full.at[cols, rows].set(tiles.transpose(0, 2, 1))
    full = full.at[rows, cols].set(tiles)
    full = full.transpose(0, 2, 1, 3).reshape(nb * block, nb2 * block)
    return full[:P, :P2]


def empirical_ntk(
    params: Sequence[Float[ArrayLike, "..."]],
    masks: Sequence[ArrayLike | None] | None,
    X: Float[ArrayLike, "..."],
    X2: Float[ArrayLike, "..."] | None = None,
    *,
    block_size: int = 32,
) -> Float[Array, "..."]:
    r"""The empirical NTK of a finite masked MLP, by the per-layer factorization.

    $\Theta(x, x') = \sum_l\sum_{ij}M^{(l)}_{ij}\,\partial_{W_{ij}}f(x)\,
    \partial_{W_{ij}}f(x')$. With $\partial f/\partial W^{(l)}_{ij} =
    \Delta_{l,i}H_{l-1,j}/\sqrt{n_{l-1}}$ ($\Delta_l = \partial f/\partial z^{(l)}$
    the sensitivities, from one batched `jax.vjp` per block of inputs, and
    $H_{l-1}$ the layer's input), each layer
    contributes $(\Delta_l\odot\Delta_l')^\top M_l(H_{l-1}\odot H_{l-1}')/n_{l-1}$
    and the readout $H_L^\top\mathrm{diag}(M_{L+1})H_L'/n_L$. No Jacobian is
    formed: the inputs are cut into blocks of $b$ = `block_size`; for each pair
    of blocks the forward and backward passes of both blocks are recomputed
    (about $4/b$ extra work) and the $b^2$ pair products of each layer go
    through one matrix product with $M_l^\top$. With `X2=None` only the blocks
    on and above the diagonal are computed (the kernel is symmetric).

    Cost: $O(P P_2\sum_l n_l n_{l-1})$ time (half with `X2=None`). Memory:
    $O(b^2\max_l n_l + b\sum_l n_l + P P_2)$ floats besides the parameters and
    masks, whatever $P$ is (a plain Jacobian needs $P\sum_l n_l n_{l-1}$).

    Args:
        params: `[W1 (n1, d), W2 (n2, n1), .., w (nL,)]` (`init_params`).
        masks: boolean (or 0/1) masks of the same shapes (`sample_masks`), or
            `None` (dense); an entry `None`, or an all-True mask, makes that
            layer dense (its term is then $(\Delta_l\Delta_l'^\top)\odot
            (H_{l-1}H_{l-1}'^\top)/n_{l-1}$, much cheaper).
        X: inputs, shape `(P, d)`.
        X2: second inputs `(P2, d)`; default `X`.
        block_size: $b$, inputs per block (32 was fastest at width 2048 on a
            CPU).

    Returns:
        $\Theta$, shape `(P, P2)`.

    Raises:
        ValueError: inconsistent shapes, `X`/`X2` not finite, bad `block_size`.
    """
    fn = "empirical_ntk"
    params, masks = _check_network(params, masks, fn)
    block = _positive_int(block_size, "block_size", fn)
    X, X2, symmetric = _pair(X, X2, fn, params[0].shape[1])
    dtype = params[0].dtype
    block = min(block, max(X.shape[0], X2.shape[0]))
    return _empirical_core(
        params, masks, X.astype(dtype), X2.astype(dtype), block, symmetric
    )


@functools.partial(jax.jit, static_argnames=("symmetric",))
def _jacobian_core(params, masks, X, X2, symmetric: bool):
    def single(p, x):
        weights = _effective(p, masks)
        _, scaled = _forward(weights, x[None, :])
        return (scaled[-1] @ weights[-1])[0]

    jac = jax.vmap(jax.jacrev(single), in_axes=(None, 0))
    J = jac(params, X)
    J2 = J if symmetric else jac(params, X2)
    out = jnp.zeros((X.shape[0], X2.shape[0]), params[0].dtype)
    for a, b in zip(J, J2, strict=True):
        out = out + a.reshape(a.shape[0], -1) @ b.reshape(b.shape[0], -1).T
    return out


def jacobian_ntk(
    params: Sequence[Float[ArrayLike, "..."]],
    masks: Sequence[ArrayLike | None] | None,
    X: Float[ArrayLike, "..."],
    X2: Float[ArrayLike, "..."] | None = None,
) -> Float[Array, "..."]:
    r"""The empirical NTK by the full parameter Jacobian: $\Theta = J J'^\top$.

    $J = \partial f(X)/\partial\theta$ by `jax.vmap(jax.jacrev(f))` over the
    inputs, with the masks applied in the forward pass (so masked weights have
    zero gradient), contracted leaf by leaf. The plain baseline and the
    independent check of `empirical_ntk`; it holds $P\sum_l n_l n_{l-1}$
    Jacobian entries in memory.

    Args:
        params: `[W1 (n, d), W2..WL (n, n), w (n,)]` (`init_params`).
        masks: boolean masks of the same shapes, or `None` (dense).
        X: inputs, shape `(P, d)`.
        X2: second inputs `(P2, d)`; default `X`.

    Returns:
        $\Theta$, shape `(P, P2)`.

    Raises:
        ValueError: inconsistent shapes, or `X`/`X2` not finite.
    """
    fn = "jacobian_ntk"
    params, masks = _check_network(params, masks, fn)
    X, X2, symmetric = _pair(X, X2, fn, params[0].shape[1])
    dtype = params[0].dtype
    return _jacobian_core(params, masks, X.astype(dtype), X2.astype(dtype), symmetric)
