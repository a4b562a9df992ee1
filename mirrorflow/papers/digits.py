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


def mlp_init(
    key, hidden: int | Sequence[int], dtype=None, *, bias: bool = True
) -> dict:
    r"""He-initialized ReLU MLP 64-hidden-10 with zero biases.

    `hidden` is one width (an int: params `W1, b1, W2, b2`, the one-hidden-layer
    MLP) or a tuple of widths $(h_1, \dots, h_L)$: params `W1, b1, ..., W{L+1},
    b{L+1}`, `W{i}` of shape (fan_in, fan_out) drawn from
    $\mathcal N(0, 2/\mathrm{fan\_in})$. The keys of the layers are
    `jax.random.split(key, L + 1)` in order, so `hidden=(h,)` gives the same params
    as `hidden=h`.

    `dtype`: the floating dtype of the draws (default: JAX's default float, which
    follows `jax_enable_x64`; pass `jnp.float32` for values that do not).
    `bias=False`: no bias leaves (`W1, ..., W{L+1}` only, the same weights);
    `mlp_logits` then adds no biases.

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
        if bias:
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
    """Class scores, shape `(batch, 10)`: ReLU after every layer but the last
    (a layer without a `b{i}` leaf has no bias)."""
    n = num_layers(params)

    def layer(h, i):
        out = h @ params[f"W{i}"]
        b = params.get(f"b{i}")
        return out if b is None else out + b[None, :]

    h = X
    for i in range(1, n):
        h = jax.nn.relu(layer(h, i))
    return layer(h, n)


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


# --- NanoAdam's finetuning runs ----------------------------------------------------

NANO_HIDDEN = (128, 128)
"""Hidden widths of NanoAdam's digits MLP 64-128-128-10 (no biases)."""

NANO_HEAD = "W3"
"""The classifier (re-initialized for the new task, excluded from NanoAdam's mask)."""

NANO_PRETRAIN_LR = 3e-3
NANO_PRETRAIN_STEPS = 300
NANO_OPTIMIZERS = ("nanoadam", "adamw")
_F32 = jnp.float32
# float32 moment decays: optax's bias correction then runs in float32 whatever
# jax_enable_x64 says (see experiments/mirror2/lora_digits.py).
_B1, _B2 = np.float32(0.9), np.float32(0.999)


def _seeds(seed, name: str) -> tuple[bool, tuple[int, ...]]:
    single = isinstance(seed, int | np.integer) and not isinstance(seed, bool)
    seeds = (int(seed),) if single else tuple(int(s) for s in seed)
    if not seeds:
        raise ValueError(f"{name}: `seed` must hold at least one seed.")
    return single, seeds


def _task_targets(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-hot targets of task A (digits 0-4, labels 0-4) and task B (digits 5-9
    relabelled 0-4), 10 columns, rows of the other task all zero."""
    y = np.argmax(Y, axis=1)
    eye = np.eye(10, dtype=Y.dtype)
    a = np.where((y < 5)[:, None], eye[np.minimum(y, 9)], 0).astype(Y.dtype)
    b = np.where((y >= 5)[:, None], eye[np.maximum(y - 5, 0)], 0).astype(Y.dtype)
    return a, b


def nanoadam_data(seed: int | Sequence[int]) -> dict:
    """The two tasks of `load_split(seed)`, stacked over seeds (float32).

    Keys `X_train` (1078, 64), `YA_train`, `YB_train` (1078, 10), and the same for
    `test` (360 images): `YA` is the one-hot digit on digits 0-4 (task A) and 0
    on the others, `YB` the one-hot of digit - 5 on digits 5-9 (task B, labels
    0-4) and 0 on the others. A task's loss and accuracy use its rows only
    (`task_loss`, `task_accuracy`), so every seed has the same shapes.
    """
    single, seeds = _seeds(seed, "nanoadam_data")
    out: dict = {}
    for part, j in (("train", 0), ("test", 2)):
        xs, ya, yb = [], [], []
        for s in seeds:
            X, Y = load_split(s)[j]
            a, b = _task_targets(Y)
            xs.append(X), ya.append(a), yb.append(b)
        out[f"X_{part}"] = np.stack(xs)
        out[f"YA_{part}"] = np.stack(ya)
        out[f"YB_{part}"] = np.stack(yb)
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out


def task_loss(params: dict, X, Y):
    """Mean cross-entropy over the rows of `Y` that hold a label (one-hot rows;
    all-zero rows belong to the other task and are ignored)."""
    logp = jax.nn.log_softmax(mlp_logits(params, X))
    return -jnp.sum(Y * logp) / jnp.sum(Y)


def task_accuracy(params: dict, X, Y):
    """Fraction of the labelled rows of `Y` whose argmax over the 10 logits is the
    label."""
    pred = jnp.argmax(mlp_logits(params, X), axis=1)
    hit = jnp.take_along_axis(Y, pred[:, None], axis=1)[:, 0]
    return jnp.sum(hit) / jnp.sum(Y)


def _fresh_head(key):
    """The re-initialized head of the new task: He normal (128, 10), key
    `fold_in(key, 1)`."""
    fan_in = NANO_HIDDEN[-1]
    return jax.random.normal(jax.random.fold_in(key, 1), (fan_in, 10), _F32) * float(
        np.sqrt(2.0 / fan_in)
    )


def _adamw_train(params, X, Y, *, steps: int, lr: float):
    tx = optax.adamw(lr, b1=_B1, b2=_B2)

    def step(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(task_loss)(p, X, Y), s, p)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params


@functools.partial(jax.jit, static_argnames=("steps", "lr"))
def _nano_pretrain(seeds, X, YA, XT, YAT, *, steps, lr):
    def one(seed, X, YA, XT, YAT):
        key = jax.random.key(seed)
        init = mlp_init(key, NANO_HIDDEN, _F32, bias=False)
        params = _adamw_train(init, X, YA, steps=steps, lr=lr)
        return init, params, _fresh_head(key), task_accuracy(params, XT, YAT)

    return jax.vmap(one)(seeds, X, YA, XT, YAT)


@functools.lru_cache(maxsize=8)
def _pretrained(seeds: tuple[int, ...]) -> dict:
    d = {k: jnp.asarray(v) for k, v in nanoadam_data(list(seeds)).items()}
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        init, params, head, acc = _nano_pretrain(
            jnp.asarray(seeds, jnp.int32),
            d["X_train"],
            d["YA_train"],
            d["X_test"],
            d["YA_test"],
            steps=NANO_PRETRAIN_STEPS,
            lr=NANO_PRETRAIN_LR,
        )
    return {"init": init, "pretrained": params, "head": head, "acc": acc, "data": d}


def _unstack(out: dict, single: bool) -> dict:
    out = jax.tree.map(np.asarray, out)
    return jax.tree.map(lambda x: x[0], out) if single else out


def nanoadam_pretrain(seed: int | Sequence[int]) -> dict:
    r"""Pretraining on task A (digits 0-4) of NanoAdam's digits recipe.

    The recipe (Zhou, Jacobs, Gadhikar & Burkholz, Pay Attention to Small
    Weights, NeurIPS 2025, at digits scale): sklearn digits / 16, the seeded
    split `load_split(seed)` (train on its 1078 training images, evaluate on its
    360 test images), the MLP 64-128-128-10 with ReLU, He initialization and no
    biases (`mlp_init(jax.random.key(seed), (128, 128), float32, bias=False)`),
    cross-entropy over the 10 logits on the task's rows (`task_loss`), full
    batch. Pretraining: `optax.adamw(3e-3)` (weight decay 1e-4, optax's default),
    300 steps on task A. The new task B (digits 5-9 relabelled 0-4) gets a
    re-initialized head `W3` (He normal, key `fold_in(key(seed), 1)`).

    Returns:
        numpy arrays (a leading seed axis for a sequence of seeds): `init` and
        `pretrained` (dicts `W1, W2, W3`), `head` (the new head, (128, 10)) and
        `pretrain_acc` (task-A test accuracy of the pretrained MLP).
    """
    single, seeds = _seeds(seed, "nanoadam_pretrain")
    pre = _pretrained(seeds)
    out = {k: pre[k] for k in ("init", "pretrained", "head")}
    out["pretrain_acc"] = pre["acc"]
    return _unstack(out, single)


@functools.partial(jax.jit, static_argnames=("steps", "top_grad", "bottom_grad"))
def _ratio_program(init, pretrained, head, X, YB, *, steps, top_grad, bottom_grad):
    from ..optimizers import gradient_weight_ratio

    def one(init, pretrained, head, X, YB):
        ft = dict(pretrained, W3=head)
        sc = dict(init, W3=head)
        trained = _adamw_train(sc, X, YB, steps=steps, lr=NANO_PRETRAIN_LR)
        out = {}
        for name, p in (("ft", ft), ("scratch", sc), ("scratch_trained", trained)):
            g = jax.grad(task_loss)(p, X, YB)["W2"]
            out[f"W2_{name}"], out[f"g_{name}"] = p["W2"], g
            out[f"r_{name}"] = gradient_weight_ratio(
                p["W2"], g, top_grad=top_grad, bottom_grad=bottom_grad
            )
        return out

    return jax.vmap(one)(init, pretrained, head, X, YB)


def gradient_weight_snapshots(
    seed: int | Sequence[int],
    *,
    scratch_steps: int = 300,
    top_grad: float = 0.01,
    bottom_grad: float = 0.8,
) -> dict:
    r"""The hidden-hidden matrix `W2` (128 x 128) and its task-B gradient, three ways.

    * `ft`: finetuning step 0: the pretrained `W1, W2` (`nanoadam_pretrain`) with
      the re-initialized head;
    * `scratch`: from scratch, step 0: the same head on the *initialization* of the
      pretraining (`init`; so the two differ by the pretraining only);
    * `scratch_trained`: `scratch` after `scratch_steps` full-batch
      `optax.adamw(3e-3)` steps on task B.

    The gradient is that of `task_loss` on task B's training rows, full batch, and
    `r_*` is `optimizers.gradient_weight_ratio(W2, g, top_grad, bottom_grad)`
    (defaults 1 % and 80 %: the paper's 0.01 % is under one entry of 16384).

    Returns:
        numpy arrays (leading seed axis for a sequence): `W2_ft`, `g_ft`, `r_ft`,
        and the same for `scratch` and `scratch_trained`.
    """
    single, seeds = _seeds(seed, "gradient_weight_snapshots")
    if isinstance(scratch_steps, bool) or not isinstance(scratch_steps, int):
        raise ValueError(
            "gradient_weight_snapshots: `scratch_steps` must be an int >= 0, got "
            f"{scratch_steps!r}."
        )
    pre = _pretrained(seeds)
    d = pre["data"]
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        out = _ratio_program(
            pre["init"],
            pre["pretrained"],
            pre["head"],
            d["X_train"],
            d["YB_train"],
            steps=scratch_steps,
            top_grad=float(top_grad),
            bottom_grad=float(bottom_grad),
        )
    return _unstack(out, single)


def gradient_weight_ratios(
    seed: int | Sequence[int], *, top_grad: float = 0.01, bottom_grad: float = 0.8
) -> tuple:
    r"""`(r_ft, r_scratch)` of the hidden-hidden matrix (`gradient_weight_snapshots`
    without the scratch training): the statistic at finetuning step 0 and at a
    fresh initialization, on the same task-B data. Floats for one seed, arrays
    over seeds for a sequence."""
    out = gradient_weight_snapshots(
        seed, scratch_steps=0, top_grad=top_grad, bottom_grad=bottom_grad
    )
    return out["r_ft"], out["r_scratch"]


@functools.lru_cache(maxsize=32)
def _finetune_program(optimizer, k, criterion, lr, steps, mask_every):
    from ..optimizers import nanoadam

    def one(seed, params, old_head, X, YB, XT, YAT, YBT):
        if optimizer == "adamw":
            tx = optax.adamw(lr, b1=_B1, b2=_B2)
        else:
            tx = nanoadam(
                lr,
                k=k,
                mask_every=mask_every,
                exclude=(NANO_HEAD,),
                criterion=criterion,
                criterion_seed=jax.random.fold_in(jax.random.key(seed), 2),
            )

        def step(carry, _):
            p, s = carry
            loss, g = jax.value_and_grad(task_loss)(p, X, YB)
            u, s = tx.update(g, s, p)
            return (optax.apply_updates(p, u), s), loss

        (final, _), losses = jax.lax.scan(
            step, (params, tx.init(params)), None, length=steps
        )
        curve = jnp.concatenate([losses, task_loss(final, X, YB)[None]])
        return {
            "final": final,
            "train_loss": curve,
            "retained_acc": task_accuracy(dict(final, W3=old_head), XT, YAT),
            "new_task_acc": task_accuracy(final, XT, YBT),
            "new_task_train_acc": task_accuracy(final, X, YB),
        }

    return jax.jit(jax.vmap(one))


def nanoadam_finetune(
    seed: int | Sequence[int],
    *,
    optimizer: str = "nanoadam",
    k: float = 0.05,
    criterion: str = "small",
    lr: float = 1e-2,
    steps: int = 150,
    mask_every: int = 20,
    keep_params: bool = False,
) -> dict:
    r"""Finetune the pretrained digits MLP on task B and measure the forgetting.

    From `nanoadam_pretrain(seed)` (task A = digits 0-4): the pretrained `W1, W2`
    with the re-initialized head `W3`, `steps` full-batch steps on task B (digits
    5-9 relabelled 0-4, its training rows) with

    * `optimizer="nanoadam"`: `optimizers.nanoadam(lr, k=k, mask_every=mask_every,
      exclude=("W3",), criterion=criterion, criterion_seed=fold_in(key(seed),
      2))`: Algorithm 1 (no bias correction, no weight decay) on `W1`, `W2`
      (one chunk each); the head is excluded from the mask and trained by the
      optimizer's dense Adam with the same settings (the paper's Appendix B);
    * `optimizer="adamw"`: `optax.adamw(lr)` on everything (bias correction,
      weight decay 1e-4; `k`, `criterion`, `mask_every` unused).

    Forgetting: the task-A test accuracy of the pretrained MLP minus that of the
    finetuned `W1, W2` with the saved task-A head (`pretrain_acc -
    retained_acc`, fractions). Seeds are run together (vmapped, float32).

    Returns:
        numpy arrays (leading seed axis for a sequence): `train_loss` (steps + 1,)
        (task-B training loss before each step, then after the last),
        `final_train_loss`, `pretrain_acc`, `retained_acc`, `forgetting`,
        `new_task_acc` (task-B test), `new_task_train_acc`; with `keep_params`
        also `start` and `final` (dicts `W1, W2, W3`).

    Raises:
        ValueError: an unknown `optimizer` (and what `nanoadam` raises).
    """
    if optimizer not in NANO_OPTIMIZERS:
        raise ValueError(
            f"nanoadam_finetune: `optimizer` must be one of {NANO_OPTIMIZERS}, got "
            f"{optimizer!r}."
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"nanoadam_finetune: `steps` must be a positive int, got {steps!r}."
        )
    single, seeds = _seeds(seed, "nanoadam_finetune")
    pre = _pretrained(seeds)
    d = pre["data"]
    start = dict(pre["pretrained"], W3=pre["head"])
    if optimizer == "adamw":
        key = ("adamw", 0.0, "small", float(lr), steps, 1)
    else:
        key = ("nanoadam", float(k), criterion, float(lr), steps, int(mask_every))
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam bias correction
        out = _finetune_program(*key)(
            jnp.asarray(seeds, jnp.int32),
            start,
            pre["pretrained"]["W3"],
            d["X_train"],
            d["YB_train"],
            d["X_test"],
            d["YA_test"],
            d["YB_test"],
        )
    final = out.pop("final")
    out["final_train_loss"] = out["train_loss"][:, -1]
    out["pretrain_acc"] = pre["acc"]
    out["forgetting"] = pre["acc"] - out["retained_acc"]
    if keep_params:
        out["start"], out["final"] = start, final
    return _unstack(out, single)
