"""Shared test helpers: tolerant comparison, tables of potentials and problems."""

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

import mirrorflow as mf


def tree_allclose(a, b, *, rtol: float, atol: float) -> bool:
    """Leafwise `np.allclose` of two pytrees with explicit tolerances."""
    import jax

    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
        for x, y in zip(la, lb, strict=True)
    )


def potentials_under_test(d: int = 6):
    """(name, potential, sampler of domain points) for every potential."""
    rng = np.random.default_rng(0)
    signs = jnp.asarray(rng.choice([-1.0, 1.0], d))

    def real(r):
        return jnp.asarray(r.standard_normal(d) * 2.0)

    def signed(r):
        return signs * jnp.asarray(r.uniform(0.1, 3.0, d))

    return [
        ("SquaredNorm", mf.SquaredNorm(), real),
        ("SquaredNorm(coef=3)", mf.SquaredNorm(coef=3.0), real),
        (
            "NegEntropy",
            mf.NegEntropy(0.25),
            lambda r: jnp.asarray(r.uniform(0.1, 3.0, d)),
        ),
        ("NegEntropy(signed)", mf.NegEntropy(0.5, sign=signs), signed),
        ("Hypentropy(alpha=1)", mf.Hypentropy(1.0), real),
        ("Hypentropy(alpha=0.05)", mf.Hypentropy(0.05), real),
        (
            "Hypentropy(scale vec)",
            mf.Hypentropy(scale=jnp.asarray(rng.uniform(0.01, 2, d)), coef=0.5),
            real,
        ),
        ("HamPotential(alpha=0.5)", mf.HamPotential(0.5), real),
        ("HamPotential(alpha=50)", mf.HamPotential(50.0), real),
        ("DeepDiagonal(3)", mf.DeepDiagonalPotential(3, 0.5), real),
        (
            "DeepDiagonal(4, u0!=v0)",
            mf.DeepDiagonalPotential(
                4,
                u0=jnp.asarray(rng.uniform(0.2, 1, d)),
                v0=jnp.asarray(rng.uniform(0.2, 1, d)),
            ),
            real,
        ),
    ]


def optimize_twice_without_retracing(
    optimizer, objective, first, second, params0, steps
):
    """Run `mf.optimize` on two problems of the same shapes; assert one trace.

    `objective(problem, params)` must append to `traces` (a Python side effect, so
    it runs only while JAX traces); the problem is passed through
    `jax.tree_util.Partial`, so its data are traced arguments. optax's bias
    correction raises a Python float to an int32 count, which the tests' strict
    promotion refuses, hence the standard promotion around the calls.

    Returns:
        The two `OptimizeResult`s.
    """
    traces = []

    def counted(problem, params):
        traces.append(1)
        return objective(problem, params)

    with jax.numpy_dtype_promotion("standard"):
        res1 = mf.optimize(optimizer, jtu.Partial(counted, first), params0, steps)
        n = len(traces)
        assert n > 0
        res2 = mf.optimize(optimizer, jtu.Partial(counted, second), params0, steps)
    assert len(traces) == n, "the second problem of the same shapes retraced"
    return res1, res2
