"""Test configuration: float64, strict promotion, seeded keys."""

import jax
import jax.random as jr
import pytest


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def getkey():
    """A function returning fresh PRNG keys from a fixed seed."""
    keys = iter(jr.split(jr.PRNGKey(0), 10_000))
    return lambda: next(keys)
