"""Small numerical helpers: dtypes, stable hyperbolic functions, input checks."""

import contextlib
import sys

import jax
import jax.numpy as jnp

from . import _validate


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


def _caller_name(depth: int = 1) -> str:
    """The public call that is checking its input: the class of an `__init__` or
    `__check_init__`, else the function's name. Wrapper frames (a runtime type
    checker's `wrapped_fn`, anything outside this package) are skipped."""
    package = __file__.rsplit("/", 1)[0]
    frame = sys._getframe(depth)
    while frame is not None:
        code = frame.f_code
        helper = code.co_name in ("wrapped_fn", "as_float_array", "_caller_name")
        if not helper and code.co_filename.startswith(package):
            break
        frame = frame.f_back
    if frame is None:
        return "mirrorflow"
    name = frame.f_code.co_name
    methods = ("__init__", "__check_init__", "__post_init__")
    if name in methods and "self" in frame.f_locals:
        return type(frame.f_locals["self"]).__name__
    return name.lstrip("_")


def as_float_array(x, name: str, *, ndim: int | None = None, call: str | None = None):
    """Convert `x` to a floating JAX array, checking its kind, rank and finiteness.

    Raises `TypeError` (complex, string or object input) or `ValueError` (wrong
    rank, empty, NaN/inf) naming `call` (default: the calling class or function)
    and `name`. Integer input becomes the default float dtype. A traced `x` is
    converted without checks.
    """
    if isinstance(x, jax.core.Tracer):
        arr = jnp.asarray(x)
        return (
            arr
            if jnp.issubdtype(arr.dtype, jnp.floating)
            else arr.astype(default_float())
        )
    call = call or _caller_name()
    _validate.real_array(x, call, name, ndim=ndim)
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(default_float())
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
