"""The one-hidden-layer ReLU MLP the digits experiments train (64-hidden-10)."""

import jax
import jax.numpy as jnp
import numpy as np


def mlp_init(key, hidden: int, dtype=None) -> dict:
    """He-initialized 64-hidden-10 MLP with zero biases: `W1, b1, W2, b2`.

    `dtype`: the floating dtype of the draws (default: JAX's default float, which
    follows `jax_enable_x64`; pass `jnp.float32` for values that do not).
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    k1, k2 = jax.random.split(key)
    return {
        "W1": jax.random.normal(k1, (64, hidden), dtype) * float(np.sqrt(2.0 / 64)),
        "b1": jnp.zeros(hidden, dtype),
        "W2": jax.random.normal(k2, (hidden, 10), dtype) * float(np.sqrt(2.0 / hidden)),
        "b2": jnp.zeros(10, dtype),
    }


def mlp_logits(params: dict, X):
    """Class scores, shape `(batch, 10)`."""
    h = jax.nn.relu(X @ params["W1"] + params["b1"][None, :])
    return h @ params["W2"] + params["b2"][None, :]


def mlp_loss(params: dict, X, Y):
    """Mean cross-entropy against one-hot labels `Y`."""
    return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(mlp_logits(params, X)), axis=1))


def mlp_accuracy(params: dict, X, Y):
    """Fraction of correct argmax predictions (dtype of `X`)."""
    pred = jnp.argmax(mlp_logits(params, X), axis=1)
    return jnp.mean((pred == jnp.argmax(Y, axis=1)).astype(X.dtype))
