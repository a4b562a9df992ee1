r"""The runtime NaN/inf check shared by the optimizers' `nan_policy="raise"`.

`nonfinite_probe(values)` is a scalar that is 0 when every entry of every array is
finite and NaN otherwise ($0\cdot x$ is 0 for finite $x$ and NaN for NaN or
$\pm\infty$; a sum of zeros cannot overflow, so large finite gradients never
trip it). A matrix-shaped leaf is probed as a matrix-vector product with a zero
vector, `x.reshape(-1, n) @ zeros(n)`: XLA hands it to its multithreaded GEMV,
which reads the gradient once at memory speed, while a plain `sum(0 * x)` over a
large leaf is a reduction XLA runs on one thread (on a 2-core CPU the step of a
10.5M-parameter MLP went from 16 ms to 37 ms with the reduction and stays at
~16 ms with the product; `benchmarks/bench_ham.py` measures it).
`report_nonfinite(tree, probe, message)` attaches `equinox.error_if` to the
smallest leaf of an output `tree`, so the update itself never waits for the check
and no large leaf is copied; the error stops the computation (also under `jit`
and `vmap`) as soon as that output is used.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


# A trailing axis shorter than this is probed by the plain reduction (a GEMV with
# a very short vector has no advantage).
_MIN_GEMV_COLUMNS = 8


def _probe_leaf(x: jax.Array) -> jax.Array:
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros((), jnp.float32)
    if x.ndim >= 2 and x.shape[-1] >= _MIN_GEMV_COLUMNS and x.size > 0:
        cols = x.shape[-1]
        return jnp.sum(x.reshape(-1, cols) @ jnp.zeros((cols,), x.dtype))
    return jnp.sum(jnp.zeros((), x.dtype) * x)


def nonfinite_probe(values) -> jax.Array:
    """0 if every entry of every array leaf of `values` is finite, else NaN (float32
    or wider: the widest leaf dtype)."""
    leaves = [x for x in jax.tree.leaves(values) if np.size(x) > 0]
    if not leaves:
        return jnp.zeros((), jnp.float32)
    return sum(_probe_leaf(jnp.asarray(x)) for x in leaves)


def report_nonfinite(tree, probe: jax.Array, message: str):
    """`tree` with a runtime error (`message`) attached if `probe` is not finite.

    The error rides on the smallest array leaf of `tree` (an output of the step,
    so the check runs whenever the step's result is used); a tree without array
    leaves is returned as is, with the error raised through `probe` itself.
    """
    leaves, treedef = jax.tree.flatten(tree)
    sizes = [np.size(x) if hasattr(x, "shape") else None for x in leaves]
    candidates = [i for i, s in enumerate(sizes) if s is not None]
    if not candidates:
        raise ValueError(
            "report_nonfinite: `tree` has no array leaf to carry the check."
        )
    i = min(candidates, key=lambda j: sizes[j])
    leaves[i] = eqx.error_if(leaves[i], ~jnp.isfinite(probe), message)
    return jax.tree.unflatten(treedef, leaves)


def check_transformation(value, call: str, name: str) -> None:
    """A `TypeError` unless `value` is an optax transformation (`init`, `update`)."""
    if not (
        callable(getattr(value, "init", None))
        and callable(getattr(value, "update", None))
    ):
        raise TypeError(
            f"{call}: `{name}` must be an optax GradientTransformation (with `init` "
            f"and `update`, e.g. optax.sgd(0.01)), got {type(value).__name__}."
        )


NAN_POLICIES = ("raise", "revert", "ignore")


def check_nan_policy(value, call: str) -> None:
    """A `ValueError` unless `value` is one of `NAN_POLICIES` (the one policy of
    every optimizer: `"raise"` a runtime error, `"revert"` skip the affected
    leaf's step, `"ignore"` propagate)."""
    if not (isinstance(value, str) and value in NAN_POLICIES):
        raise ValueError(
            f"{call}: `nan_policy` must be one of {NAN_POLICIES}, got {value!r}."
        )
