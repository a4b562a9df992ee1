"""Small numerical helpers: dtypes, stable hyperbolic functions, input checks."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np


def default_float() -> jnp.dtype:
    """The floating dtype JAX uses now: float64 when x64 is on, else float32."""
    return jnp.dtype(jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32)


def one_blas_thread():
    """A context in which host BLAS/LAPACK (scipy's and numpy's OpenBLAS) runs on
    one thread.

    Compiled loops that call LAPACK (LU, Cholesky) between XLA's own
    multithreaded products run faster so: a second thread pool spinning beside
    XLA's cost 20-40 % of a BDF trajectory and of `predict` on 2 cores. Only
    the host libraries are limited; XLA keeps its threads.
    """
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - a dependency (also scikit-learn's)
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def as_float_array(x, name: str, *, ndim: int | None = None) -> jax.Array:
    """Convert `x` to a floating JAX array, checking its rank and finiteness.

    Raises `ValueError` naming `name` if `x` has the wrong rank or is not finite.
    Only for concrete (non-traced) inputs at API boundaries.
    """
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(default_float())
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"`{name}` must have {ndim} dimension(s), got shape {arr.shape}; "
            f"pass a {'scalar' if ndim == 0 else f'{ndim}-d array'}."
        )
    if not isinstance(arr, jax.core.Tracer) and not bool(np.all(np.isfinite(arr))):
        raise ValueError(f"`{name}` contains NaN or inf; pass finite values.")
    return arr


def is_concrete(*xs) -> bool:
    """True when none of `xs` is a JAX tracer (so values can be checked eagerly)."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(xs))


def scaled_sinh(y, log_c):
    r"""$e^{\log c}\sinh(y)$ without overflow for large $|y|$ (log domain)."""
    ay = jnp.abs(y)
    big = jnp.sign(y) * 0.5 * jnp.exp(ay + log_c) * (-jnp.expm1(-2.0 * ay))
    small = jnp.exp(log_c) * jnp.sinh(jnp.where(ay < 1.0, y, 0.0))
    return jnp.where(ay < 1.0, small, big)


def scaled_cosh(y, log_c):
    r"""$e^{\log c}\cosh(y)$ without overflow for large $|y|$ (log domain)."""
    ay = jnp.abs(y)
    return 0.5 * jnp.exp(ay + log_c) * (1.0 + jnp.exp(-2.0 * ay))


def scaled_cosh_minus_one(y, log_c):
    r"""$e^{\log c}(\cosh(y) - 1)$, accurate for small $|y|$ and finite for large."""
    ay = jnp.abs(y)
    ys = jnp.where(ay < 1.0, y, 0.0)
    small = 2.0 * jnp.exp(log_c) * jnp.sinh(0.5 * ys) ** 2
    big = 0.5 * jnp.exp(ay + log_c) * (1.0 + jnp.exp(-2.0 * ay)) - jnp.exp(log_c)
    return jnp.where(ay < 1.0, small, big)
