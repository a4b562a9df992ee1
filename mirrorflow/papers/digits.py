r"""The digits MLPs the experiments train, and Sign-In's sparse-training runs on them.

`mlp_init`, `mlp_logits`, `mlp_loss`, `mlp_accuracy`: a ReLU MLP on sklearn's 8x8
digits, $64 \to h_1 \to \dots \to h_L \to 10$ (one hidden layer, `hidden=256`, is the
64-256-10 MLP of the ham., mask. and mirror2. digits experiments; `hidden=(256, 256)`
the 64-256-256-10 MLP of the signin. ones). `load_split` is the seeded 60/20/20
train/validation/test split of `ham.digits_dense_sparse`. `sign_flip_run` trains the
64-256-256-10 MLP sparsely from a random mask (PaI), from the same mask with Sign-In,
or from dense to sparse by gradual magnitude pruning, and counts the sign flips of
the weights (Sign-In to the Lottery, Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS
2025, Fig. 1 and Table 1 at digits scale).
"""

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import masks
from ..optimizers import MaskWeight, sign_flips, sign_in


def _widths(hidden) -> tuple[int, ...]:
    widths = (hidden,) if isinstance(hidden, int | np.integer) else tuple(hidden)
    if not widths or any(
        isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1
        for h in widths
    ):
        raise ValueError(
            "mlp_init: `hidden` must be a positive int or a non-empty tuple of "
            f"positive ints (the hidden widths), got {hidden!r}."
        )
    return tuple(int(h) for h in widths)


def mlp_init(key, hidden: int | Sequence[int], dtype=None) -> dict:
    r"""He-initialized ReLU MLP 64-hidden-10 with zero biases.

    `hidden` is one width (an int: params `W1, b1, W2, b2`, the one-hidden-layer
    MLP) or a tuple of widths $(h_1, \dots, h_L)$: params `W1, b1, ..., W{L+1},
    b{L+1}`, `W{i}` of shape (fan_in, fan_out) drawn from
    $\mathcal N(0, 2/\mathrm{fan\_in})$. The keys of the layers are
    `jax.random.split(key, L + 1)` in order, so `hidden=(h,)` gives the same params
    as `hidden=h`.

    `dtype`: the floating dtype of the draws (default: JAX's default float, which
    follows `jax_enable_x64`; pass `jnp.float32` for values that do not).

    Raises:
        ValueError: a width that is not a positive int.
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    sizes = (64, *_widths(hidden), 10)
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for i, (k, fan_in, fan_out) in enumerate(
        zip(keys, sizes[:-1], sizes[1:], strict=True), start=1
    ):
        scale = float(np.sqrt(2.0 / fan_in))
        params[f"W{i}"] = jax.random.normal(k, (fan_in, fan_out), dtype) * scale
        params[f"b{i}"] = jnp.zeros(fan_out, dtype)
    return params


def num_layers(params: dict) -> int:
    """The number of linear layers of an MLP's params (`W1`, `W2`, ... present)."""
    n = 0
    while f"W{n + 1}" in params:
        n += 1
    if n == 0:
        raise ValueError("num_layers: the params hold no `W1`.")
    return n


def mlp_logits(params: dict, X):
    """Class scores, shape `(batch, 10)`: ReLU after every layer but the last."""
    n = num_layers(params)
    h = X
    for i in range(1, n):
        h = jax.nn.relu(h @ params[f"W{i}"] + params[f"b{i}"][None, :])
    return h @ params[f"W{n}"] + params[f"b{n}"][None, :]


def mlp_loss(params: dict, X, Y):
    """Mean cross-entropy against one-hot labels `Y`."""
    return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(mlp_logits(params, X)), axis=1))


def mlp_accuracy(params: dict, X, Y):
    """Fraction of correct argmax predictions (dtype of `X`)."""
    pred = jnp.argmax(mlp_logits(params, X), axis=1)
    return jnp.mean((pred == jnp.argmax(Y, axis=1)).astype(X.dtype))


# --- data ---------------------------------------------------------------------------


def load_split(seed: int, dtype=np.float32) -> tuple:
    """Digits / 16 with one-hot labels, a seeded 60/20/20 train/val/test split.

    The split of `ham.digits_dense_sparse.load_data`: the permutation
    `numpy.random.default_rng(seed).permutation(1797)`, its first
    `int(0.6 * 1797)` = 1078 images for training, the next 359 for validation,
    the last 360 for testing. Returns `((X_tr, Y_tr), (X_va, Y_va), (X_te, Y_te))`,
    numpy arrays of `dtype` (float32 by default), `Y` one-hot (n, 10).
    """
    from sklearn.datasets import load_digits  # only when asked: keeps import light

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    perm = np.random.default_rng(seed).permutation(len(y))
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    onehot = np.eye(10)[y]
    return tuple(
        (X[i].astype(dtype), onehot[i].astype(dtype))
        for i in (perm[:a], perm[a:b], perm[b:])
    )


# --- Sign-In's sparse-training runs ------------------------------------------------


METHODS = ("pai", "pai_sign_in", "dense_to_sparse")


def gradual_sparsity(epoch: int, sparsity: float | int, prune_until: int) -> float:
    r"""The sparsity at the start of `epoch` in gradual magnitude pruning.

    The cubic schedule of Zhu & Gupta (2018), per epoch:
    $s_e = s\,(1 - (1 - e/E)^3)$ for $0 \le e \le E$ = `prune_until`, and $s$ after
    (dense at epoch 0, the target from epoch $E$ on; $E = 0$ prunes to $s$ before
    the first epoch).

    References:
        Zhu & Gupta, "To prune, or not to prune: exploring the efficacy of pruning
        for model compression", ICLR Workshop 2018.
    """
    if prune_until <= 0 or epoch >= prune_until:
        return float(sparsity)
    return float(sparsity) * (1.0 - (1.0 - epoch / prune_until) ** 3)


def _weight_names(params: dict) -> tuple[str, ...]:
    return tuple(f"W{i}" for i in range(1, num_layers(params) + 1))


def _masked_step(tx, params, state, mask, grads):
    """One step that leaves pruned entries exactly where they are (at zero).

    The gradient is masked before the optimizer and the update after it (as in
    `ham.digits_dense_sparse`): SGD's momentum cannot move a pruned weight.
    """
    grads = jax.tree.map(lambda m, g: jnp.where(m, g, jnp.zeros_like(g)), mask, grads)
    upd, state = tx.update(grads, state, params)
    upd = jax.tree.map(lambda m, u: jnp.where(m, u, jnp.zeros_like(u)), mask, upd)
    return optax.apply_updates(params, upd), state


def _make_tx(use_sign_in, lr, momentum, beta0, period, mask):
    base = optax.sgd(lr, momentum=momentum)
    if not use_sign_in:
        return base
    return sign_in(base, beta0=beta0, reset_every=period, sparsity_mask=mask)


@functools.lru_cache(maxsize=32)
def _programs(use_sign_in, lr, momentum, beta0, period):
    """The jitted init and epoch (with the test accuracy after it) of one
    optimizer, vmapped over seeds (cached: one compilation per optimizer and
    shapes)."""

    def init(params, mask):
        return _make_tx(use_sign_in, lr, momentum, beta0, period, mask).init(params)

    def epoch(params, state, mask, X, Y, idx, X_test, Y_test):
        tx = _make_tx(use_sign_in, lr, momentum, beta0, period, mask)

        def step(carry, ix):
            p, s = carry
            g = jax.grad(mlp_loss)(p, X[ix], Y[ix])
            return _masked_step(tx, p, s, mask, g), None

        (params, state), _ = jax.lax.scan(step, (params, state), idx)
        return params, state, mlp_accuracy(params, X_test, Y_test)

    return jax.jit(jax.vmap(init)), jax.jit(jax.vmap(epoch))


@jax.jit
def _accuracies(params, train, val, test):
    """Per seed, the accuracies on the three parts (each an (X, Y) pair)."""
    return tuple(jax.vmap(mlp_accuracy)(params, X, Y) for X, Y in (train, val, test))


@jax.jit
def _flips(weights, initial, final_mask):
    """Per seed: sum over layers of sign_flips(final_mask * weights, initial)."""

    def one(w, w0, m):
        counts = sign_flips(masks.apply_mask(w, m), w0)
        return sum(jax.tree.leaves(counts))

    return jax.vmap(one)(weights, initial, final_mask)


def _imbalance(state, mask, n: int):
    """Mean and min over the alive weights of m^2 - w^2 after the last step, per
    seed (Sign-In's factors); NaN for the methods without factors."""
    factors = getattr(state, "factors", None)
    if factors is None:
        nan = np.full(n, np.nan)
        return nan, nan
    pairs = [
        (f, k)
        for f, k in zip(factors, jax.tree.leaves(mask), strict=True)
        if isinstance(f, MaskWeight)
    ]
    beta = np.concatenate(
        [
            (np.asarray(f.m, np.float64) ** 2 - np.asarray(f.w, np.float64) ** 2)[
                np.asarray(k)
            ].reshape(n, -1)
            for f, k in pairs
        ],
        axis=1,
    )
    return beta.mean(axis=1), beta.min(axis=1)


def _start(seeds, widths, density):
    """Per seed (stacked): the initial params `mlp_init(key(s), widths, float32)`,
    the random mask `masks.random_mask(params, density, fold_in(key(s), 1))` (all
    True for `density=None`) and the masked params. Eager, seed by seed: the
    random draws compile once per shape (a jitted, vmapped version compiles for
    seconds per density)."""
    inits = [mlp_init(jax.random.key(s), widths, jnp.float32) for s in seeds]
    params = jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs)), *inits)
    if density is None:
        mask = jax.tree.map(lambda x: jnp.ones(x.shape, bool), params)
        return params, mask, params
    per_seed = [
        masks.random_mask(p, density, jax.random.fold_in(jax.random.key(s), 1))
        for p, s in zip(inits, seeds, strict=True)
    ]
    mask = jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs)), *per_seed)
    return params, mask, _apply(params, mask)


@jax.jit
def _apply(params, mask):
    return masks.apply_mask(params, mask)


@jax.jit
def _prune(params, mask, new):
    """The intersection of two masks and the params masked by it."""
    mask = jax.tree.map(jnp.logical_and, mask, new)
    return mask, masks.apply_mask(params, mask)


def _per_seed(fn, *trees):
    n = jax.tree.leaves(trees[0])[0].shape[0]
    outs = [
        fn(*(jax.tree.map(lambda x, i=i: x[i], t) for t in trees)) for i in range(n)
    ]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)


def _check_args(method, sparsity, epochs, batch, reset_every_epochs, prune_until):
    if method not in METHODS:
        raise ValueError(
            f"sign_flip_run: `method` must be one of {METHODS}, got {method!r}."
        )
    if not (isinstance(sparsity, int | float) and 0.0 <= sparsity < 1.0):
        raise ValueError(
            "sign_flip_run: `sparsity` (the pruned fraction of each weight matrix) "
            f"must be a float in [0, 1), got {sparsity!r}."
        )
    for name, value in (("epochs", epochs), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"sign_flip_run: `{name}` must be a positive int, got {value!r}."
            )
    if reset_every_epochs is not None and (
        isinstance(reset_every_epochs, bool)
        or not isinstance(reset_every_epochs, int)
        or reset_every_epochs < 1
    ):
        raise ValueError(
            "sign_flip_run: `reset_every_epochs` must be a positive int or None "
            f"(never reset), got {reset_every_epochs!r}."
        )
    if method == "dense_to_sparse" and (
        isinstance(prune_until, bool)
        or not isinstance(prune_until, int)
        or not 0 <= prune_until < epochs
    ):
        raise ValueError(
            "sign_flip_run: `prune_until` (the epoch at which gradual pruning reaches "
            f"the target) must be an int in [0, epochs - 1], got {prune_until!r}."
        )


def sign_flip_run(
    seed: int | Sequence[int],
    *,
    method: str,
    sparsity: float | int,
    epochs: int = 30,
    batch: int = 64,
    lr: float | int = 0.05,
    momentum: float | int = 0.9,
    reset_every_epochs: int | None = 1,
    beta0: float | int = 1.0,
    hidden: int | Sequence[int] = (256, 256),
    prune_until: int = 15,
    keep_params: bool = False,
) -> dict:
    r"""Sparse training of the digits MLP and the sign flips of its weights.

    Sign-In to the Lottery (Gadhikar, Jacobs, Zhou & Burkholz, NeurIPS 2025), Fig. 1
    and Table 1 at digits scale. The recipe: `load_split(seed)` (train on its 1078
    training images, pixels / 16), the MLP 64-`hidden`-10 with ReLU (`mlp_init`,
    He initialization), minibatch SGD with heavy-ball momentum (`optax.sgd(lr,
    momentum=momentum)`), `epochs` epochs of `1078 // batch` steps (16 at batch
    64; the remaining images of each shuffled epoch are dropped). The epochs are
    numbered $0, \dots,$ `epochs` $- 1$. Methods:

    * `"pai"`: a random layerwise mask (`masks.random_mask`, density
      $1 - $ `sparsity` in each weight matrix, biases dense), drawn at
      initialization and fixed; the initial params are masked (`apply_mask`).
    * `"pai_sign_in"`: the same mask and start, trained with `sign_in(optax.sgd(lr,
      momentum=momentum), beta0=beta0, reset_every=reset_every_epochs *
      steps_per_epoch, sparsity_mask=mask)` (weights as $m\odot w$, biases plain);
      `reset_every_epochs=None` never resets (a period of `epochs + 1` epochs,
      longer than the training: plain $m\odot w$ training after one split).
    * `"dense_to_sparse"`: gradual magnitude pruning: epoch 0 is dense; before
      epoch $e = 1, \dots,$ `prune_until` (after $e$ epochs of training) each
      weight matrix is pruned by magnitude (`masks.magnitude_mask`, layerwise) to
      the sparsity `gradual_sparsity(e, sparsity, prune_until)` (cubic, reaching
      `sparsity` before epoch `prune_until`; pruned weights never regrow), and the
      last mask is kept to the end.

    In every method each step masks the gradient and the update with the current
    mask, so pruned weights are exactly zero and stay so.

    **Sign flips.** With $\theta_0$ the weights at initialization (before any mask),
    $\theta_j$ the weights after $j$ epochs of training, and $M$ the final mask,
    `flips[j]` $= \sum_{\text{layers}} \#\{i : M_i = 1,\ \theta_{j,i}\,
    \theta_{0,i} < 0\}$ (`sign_flips(apply_mask(theta_j, M), theta_0)` summed over
    the weight matrices; biases are not counted): the coordinates alive at the end
    whose sign after $j$ epochs is strictly opposite to their initial sign.
    It is a net count against the start, not a count of flip events (a weight
    that flips and flips back counts 0), and `flips[0]` = 0.

    **Seeds.** The seed $s$ fixes the split (`load_split(s)`), the initialization
    (`mlp_init(jax.random.key(s), hidden, jnp.float32)`), the random mask
    (`jax.random.fold_in(key(s), 1)`) and the batch order
    (`numpy.random.default_rng(1000 + s)`), as in `ham.digits_dense_sparse`. A
    sequence of seeds is trained at once (vmapped); a seed's numbers can then
    differ at the rounding level from a run of that seed alone (batched matrix
    products), and flips or accuracies of chaotic
    training can differ by a few counts.

    Everything is float32 (data, params, optimizer state), also under
    `jax_enable_x64`.

    Args:
        seed: one int, or a sequence of ints (trained together).
        method: `"pai"`, `"pai_sign_in"` or `"dense_to_sparse"`.
        sparsity: the pruned fraction of each weight matrix, in [0, 1).
        epochs, batch: training length and minibatch size.
        lr, momentum: SGD's step and momentum (also the base of Sign-In).
        reset_every_epochs: Sign-In's reset period in epochs, or None (never).
        beta0: Sign-In's imbalance $m^2 - w^2$ after each reset.
        hidden: the hidden widths.
        prune_until: `"dense_to_sparse"`: the epoch at which the target sparsity is
            reached, in [0, epochs - 1] (ignored by the other methods).
        keep_params: also return the weights after every epoch and the final mask.

    Returns:
        A dict of numpy arrays, with a leading seed axis when `seed` is a sequence:
        `flips` (epochs + 1,) ints as defined above, `final_flips` (= `flips[-1]`),
        `alive` (the weights kept by the final mask), `flip_fraction`
        (`final_flips / alive`), `train_acc`, `val_acc`, `test_acc` (final),
        `test_acc_epochs` (epochs + 1,) (after each epoch, index 0 at the start:
        for the PaI methods, the masked initial network), `imbalance_mean` and
        `imbalance_min` (for `"pai_sign_in"`: $m^2 - w^2$ of Sign-In's factors
        after the last step, over the alive weights; it is `beta0` right after a
        reset; NaN for the other methods), and the ints
        `steps_per_epoch` and `reset_every` (Sign-In's period in steps; 0 for the
        other methods). With `keep_params`: `weights`, a dict `W1, ...` of arrays
        (epochs + 1, fan_in, fan_out) (index 0: $\theta_0$, before masking), and
        `mask`, a dict `W1, ...` of boolean arrays (the final mask).

    Raises:
        ValueError: a bad argument (named).
    """
    _check_args(method, sparsity, epochs, batch, reset_every_epochs, prune_until)
    single = isinstance(seed, int | np.integer)
    seeds = [int(seed)] if single else [int(s) for s in seed]
    if not seeds:
        raise ValueError("sign_flip_run: `seed` must hold at least one seed.")
    widths = _widths(hidden)
    parts = [load_split(s) for s in seeds]
    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = (
        (
            jnp.asarray(np.stack([p[j][0] for p in parts])),
            jnp.asarray(np.stack([p[j][1] for p in parts])),
        )
        for j in range(3)
    )
    n = Xtr.shape[1]
    if batch > n:
        raise ValueError(
            f"sign_flip_run: `batch` ({batch}) exceeds the {n} training images."
        )
    steps = n // batch
    period = 0
    if method == "pai_sign_in":
        every = epochs + 1 if reset_every_epochs is None else reset_every_epochs
        period = every * steps
    start = None if method == "dense_to_sparse" else 1.0 - float(sparsity)
    initial_params, mask, params = _start(seeds, widths, start)
    names = _weight_names(params)
    initial = {k: initial_params[k] for k in names}
    density = 1.0 - float(sparsity)
    if method == "pai_sign_in":
        init_fn, epoch_fn = _programs(
            True, float(lr), float(momentum), float(beta0), int(period)
        )
    else:
        init_fn, epoch_fn = _programs(False, float(lr), float(momentum), 0.0, 0)
    state = init_fn(params, mask)
    rngs = [np.random.default_rng(1000 + s) for s in seeds]
    snapshots = [initial]
    splits = ((Xtr, Ytr), (Xva, Yva), (Xte, Yte))
    test_acc = [_accuracies(params, *splits)[2]]
    for e in range(epochs):
        if method == "dense_to_sparse" and (e <= prune_until and 0 < density < 1):
            s_e = gradual_sparsity(e, sparsity, prune_until)
            if s_e > 0.0:
                new = _per_seed(
                    lambda p, d=1.0 - s_e: masks.magnitude_mask(
                        p, d, scope="layerwise"
                    ),
                    params,
                )
                mask, params = _prune(params, mask, new)
        idx = np.stack(
            [r.permutation(n)[: steps * batch].reshape(steps, batch) for r in rngs]
        )
        params, state, acc = epoch_fn(
            params, state, mask, Xtr, Ytr, jnp.asarray(idx), Xte, Yte
        )
        snapshots.append({k: params[k] for k in names})
        test_acc.append(acc)
    final_mask = {k: mask[k] for k in names}
    flips = np.stack(
        [np.asarray(_flips(w, initial, final_mask)) for w in snapshots], axis=1
    )
    alive = sum(
        np.asarray(m).reshape(len(seeds), -1).sum(axis=1) for m in final_mask.values()
    )
    train_acc, val_acc, final_test_acc = _accuracies(params, *splits)
    out = {
        "flips": flips,
        "final_flips": flips[:, -1],
        "alive": alive,
        "flip_fraction": flips[:, -1] / alive,
        "train_acc": np.asarray(train_acc),
        "val_acc": np.asarray(val_acc),
        "test_acc": np.asarray(final_test_acc),
        "test_acc_epochs": np.stack([np.asarray(a) for a in test_acc], axis=1),
    }
    out["imbalance_mean"], out["imbalance_min"] = _imbalance(state, mask, len(seeds))
    if keep_params:
        out["weights"] = {
            k: np.stack([np.asarray(s[k]) for s in snapshots], axis=1) for k in names
        }
        out["mask"] = {k: np.asarray(v) for k, v in final_mask.items()}
    if single:
        out = jax.tree.map(lambda x: x[0], out)
    out["steps_per_epoch"] = steps
    out["reset_every"] = period
    return out
