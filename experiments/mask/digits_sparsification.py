r"""Continuous sparsification of an MLP on sklearn's digits: constant vs PILoT decay.

A laptop-scale stand-in for the papers' CIFAR/ImageNet tables (Mask in the Mirror's
continuous-sparsification experiments; here an MLP on `sklearn.datasets.load_digits`, $x
= m\odot w$ per layer). Each weight matrix of a 64-H-10 ReLU MLP is trained as $x =
m\odot w$ with the package's optax transformations: `hadamard_reparam` (PILoT
initialization, $m_0^2 - w_0^2 = \beta$) around minibatch SGD with either (i) constant
weight decay on the factors, `scheduled_weight_decay(ConstantDecay(lambda))` (implicit
bias: the lasso, a shrinkage of every weight), or (ii) PILoT's adaptive decay (`pilot`:
lambda grows while the training accuracy holds and ||x||_1 is above its target, and
decays geometrically in the second half, so the total dose is finite and the final bias
is the hypentropy of a small scale: Mask in the Mirror, Thm 3.3 and Algorithm 1;
docs/theory/mask_in_the_mirror.md, sections 3 and 6). Biases are trained by plain SGD.
After training, the final x = m*w is magnitude-pruned (global threshold over both
layers) at several sparsities and evaluated on the held-out 20%. Seeds change the split,
the initialization and the batch order; the sidecar holds every per-seed number and
their mean and standard deviation (numpy, ddof = 0). Qualitative only: no accuracy of
the papers is claimed.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mirrorflow.app import (
    COLORS,
    Experiment,
    new_figure,
    paper_style,
    save_figure,
)
from mirrorflow.optimizers import (
    factors_mask,
    hadamard_reparam,
    pilot,
    scheduled_weight_decay,
)
from mirrorflow.papers.digits import mlp_accuracy, mlp_init, mlp_logits, mlp_loss
from mirrorflow.regularization import ConstantDecay


METHODS = ("constant", "pilot")
_LABEL = {"constant": "constant decay (explicit L1)", "pilot": "PILoT (switched off)"}


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the training runs.

    Attributes:
        seed: the first seed; runs use seed, seed + 1, ... (split, init, batches).
        num_seeds, num_seeds_quick: seeds of the full run (3) and of `--quick` (2).
        hidden, hidden_quick: width of the hidden layer.
        epochs, epochs_quick: training epochs.
        batch_size: minibatch size.
        learning_rate: SGD step on the factors (and biases).
        beta: the PILoT initialization imbalance m0^2 - w0^2.
        constant_strength: lambda of the constant-decay baseline.
        pilot_initial, pilot_factor, pilot_l1_fraction: PILoT's rule: initial
            lambda, factor delta per epoch and the L1 target as a fraction of the
            initial ||x||_1.
        sparsities: fractions of weights set to zero before the test evaluation.
    """

    seed: int = 0
    num_seeds: int = 3
    num_seeds_quick: int = 2
    hidden: int = 128
    hidden_quick: int = 16
    epochs: int = 60
    epochs_quick: int = 3
    batch_size: int = 64
    learning_rate: float = 0.1
    beta: float = 1.0
    constant_strength: float = 3e-3
    pilot_initial: float = 1e-2
    pilot_factor: float = 1.2
    pilot_l1_fraction: float = 0.3
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def load_data(seed: int):
    """Digits scaled to [0, 1], a seeded 80/20 split, one-hot labels."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    perm = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.8 * len(y))
    train, test = perm[:cut], perm[cut:]
    onehot = np.eye(10)[y]
    return (X[train], onehot[train]), (X[test], onehot[test])


# The shared digits MLP (also used by the other digits experiment).
init_params = mlp_init
logits = mlp_logits
loss_fn = mlp_loss
accuracy = mlp_accuracy


_WEIGHTS = {"W1": True, "b1": False, "W2": True, "b2": False}


def prune(params: dict, sparsity: float) -> dict:
    """Zero the fraction `sparsity` of smallest |x| over W1 and W2 (global)."""
    if sparsity <= 0:
        return params
    mags = np.concatenate([np.abs(np.asarray(params[k])).ravel() for k in ("W1", "W2")])
    thr = np.quantile(mags, sparsity)
    out = dict(params)
    for k in ("W1", "W2"):
        out[k] = jnp.where(jnp.abs(params[k]) > thr, params[k], 0.0)
    return out


def expected_l1(hidden: int) -> float:
    """E||W1||_1 + E||W2||_1 at the He initialization (E|N(0, s^2)| = s sqrt(2/pi))."""
    c = np.sqrt(2.0 / np.pi)
    return float(
        c * (64 * hidden * np.sqrt(2.0 / 64) + hidden * 10 * np.sqrt(2.0 / hidden))
    )


def make_optimizer(method: str, config: Config, hidden: int, epochs: int, steps: int):
    eta = config.learning_rate
    if method == "constant":
        inner = optax.chain(
            scheduled_weight_decay(
                ConstantDecay(config.constant_strength), eta, mask=factors_mask
            ),
            optax.sgd(eta),
        )
        return hadamard_reparam(inner, beta=config.beta, mask=_WEIGHTS)
    return pilot(
        eta,
        beta=config.beta,
        initial_strength=config.pilot_initial,
        factor=config.pilot_factor,
        l1_target=config.pilot_l1_fraction * expected_l1(hidden),
        num_epochs=epochs,
        steps_per_epoch=steps,
        mask=_WEIGHTS,
    )


def _sizes(config: Config, quick: bool):
    hidden = config.hidden_quick if quick else config.hidden
    epochs = config.epochs_quick if quick else config.epochs
    return hidden, epochs


def make_epoch(method: str, config: Config, quick: bool, steps: int):
    """(optimizer, jitted epoch(carry, X, Y, idx)); one compilation for all seeds."""
    hidden, epochs = _sizes(config, quick)
    tx = make_optimizer(method, config, hidden, epochs, steps)

    @jax.jit
    def epoch(carry, X, Y, idx):
        def step(c, ix):
            p, s, acc = c
            g = jax.grad(loss_fn)(p, X[ix], Y[ix])
            upd, s = tx.update(g, s, p, accuracy=acc)
            return (optax.apply_updates(p, upd), s, acc), None

        (p, s, _), _ = jax.lax.scan(step, carry, idx)
        # The training accuracy at the end of the epoch drives PILoT's rule.
        return (p, s, accuracy(p, X, Y))

    return tx, epoch


def train(tx, epoch, config: Config, seed: int, quick: bool):
    """One run: the final params x = m*w, training accuracy per epoch, test data."""
    (Xtr, Ytr), (Xte, Yte) = load_data(seed)
    Xtr, Ytr, Xte, Yte = (jnp.asarray(v) for v in (Xtr, Ytr, Xte, Yte))
    hidden, epochs = _sizes(config, quick)
    bs = config.batch_size
    steps = Xtr.shape[0] // bs
    params = init_params(jax.random.key(seed), hidden)
    rng = np.random.default_rng(1000 + seed)
    carry = (params, tx.init(params), jnp.asarray(0.0))
    train_acc = []
    for _ in range(epochs):
        idx = rng.permutation(Xtr.shape[0])[: steps * bs].reshape(steps, bs)
        carry = epoch(carry, Xtr, Ytr, jnp.asarray(idx))
        train_acc.append(float(carry[2]))
    return carry[0], np.asarray(train_acc), (Xte, Yte)


def run(config: Config, quick: bool) -> dict:
    """Per method and seed: test accuracy at each sparsity; mean and std."""
    n_seeds = config.num_seeds_quick if quick else config.num_seeds
    seeds = [config.seed + i for i in range(n_seeds)]
    sparsities = np.asarray(config.sparsities)
    out: dict = {"seeds": np.asarray(seeds), "sparsities": sparsities}
    for method in METHODS:
        acc = np.zeros((n_seeds, len(sparsities)))
        train_acc, l1, near_zero = [], [], []
        steps = len(load_data(config.seed)[0][0]) // config.batch_size
        tx, epoch = make_epoch(method, config, quick, steps)
        for i, seed in enumerate(seeds):
            params, tr, (Xte, Yte) = train(tx, epoch, config, seed, quick)
            for j, s in enumerate(sparsities):
                acc[i, j] = float(accuracy(prune(params, float(s)), Xte, Yte))
            train_acc.append(tr)
            w = np.concatenate(
                [np.abs(np.asarray(params[k])).ravel() for k in ("W1", "W2")]
            )
            l1.append(float(w.sum()))
            near_zero.append(float(np.mean(w < 1e-3)))
        out |= {
            f"{method}_test_acc": acc,
            f"{method}_test_acc_mean": acc.mean(axis=0),
            f"{method}_test_acc_std": acc.std(axis=0),
            f"{method}_train_acc": np.stack(train_acc),
            f"{method}_l1": np.asarray(l1),
            f"{method}_frac_small": np.asarray(near_zero),
            f"{method}_frac_small_mean": float(np.mean(near_zero)),
        }
    out["hidden"], out["epochs"] = _sizes(config, quick)
    return out


def plot(result: dict, path) -> None:
    """Test accuracy (mean +- std over seeds) against the pruned fraction."""
    s = result["sparsities"]
    n = len(result["seeds"])
    with paper_style():
        fig, axes = new_figure(1, 2, width=7.0, height=2.7)
        ax, ax_tr = axes[0]
        for i, method in enumerate(METHODS):
            mean = result[f"{method}_test_acc_mean"]
            std = result[f"{method}_test_acc_std"]
            ax.errorbar(
                100 * s,
                mean,
                yerr=std,
                marker="o",
                ms=3,
                capsize=2,
                color=COLORS[i],
                label=_LABEL[method],
            )
            tr = result[f"{method}_train_acc"]
            epochs = np.arange(1, tr.shape[1] + 1)
            ax_tr.plot(epochs, tr.mean(axis=0), color=COLORS[i], label=_LABEL[method])
        ax.set_xlabel("weights pruned by magnitude (%)")
        ax.set_ylabel(f"test accuracy (mean ± std, {n} seeds)")
        ax.set_title("digits MLP, x = m*w: accuracy vs sparsity")
        ax.set_ylim(0.0, 1.02)
        ax.legend(loc="lower left")
        ax_tr.set_xlabel("epoch")
        ax_tr.set_ylabel("training accuracy (mean over seeds)")
        ax_tr.set_title("training")
        ax_tr.legend(loc="lower right")
        fig.suptitle(
            "Laptop-scale stand-in for the papers' CIFAR/ImageNet tables "
            f"(64-{result['hidden']}-10 MLP, {result['epochs']} epochs)",
            fontsize=8,
        )
        save_figure(fig, path)


EXPERIMENT = Experiment(
    name="mask.digits_sparsification",
    paper="mask",
    figure=(
        "Mask in the Mirror (ICLR 2025) CIFAR/ImageNet tables (laptop-scale "
        "digits stand-in)"
    ),
    title="Laptop-scale stand-in for the papers' CIFAR/ImageNet tables: digits MLP, "
    "constant decay vs PILoT, accuracy vs sparsity",
    description=(
        "Laptop-scale stand-in for the papers' CIFAR/ImageNet tables. A 64-H-10 MLP "
        "on sklearn's digits with every weight matrix trained as x = m*w "
        "(hadamard_reparam, beta = 1): constant weight decay on the factors vs "
        "PILoT's adaptive, switched-off decay (pilot). Left: test accuracy after "
        "global magnitude pruning of the final x (mean +- std over seeds); right: "
        "training accuracy per epoch. Qualitative only."
    ),
    config=Config(),
    run=run,
    plot=plot,
    claims=("mask.pilot_beats_l1", "mask.constant_wd_lasso"),
)
