r"""Mirror descent as an optax transformation: forward Euler on the dual flow.

With a Legendre function $R$ (a potential), step size $\eta_k$ and gradient
$g_k = \nabla f(x_k)$, mirror descent (Nemirovski & Yudin 1983; Beck & Teboulle
2003) steps in dual coordinates $z = \nabla R(x)$:
$$z_{k+1} = z_k - \eta_k g_k,\qquad x_{k+1} = \nabla R^*(z_{k+1}).$$
With a constant $\eta$ this is the forward-Euler discretization, step $\eta$, of the
dual mirror flow $\dot z = -\nabla f(\nabla R^*(z))$ (`flows.MirrorFlow`), so its
iterates at step $k$ approximate the flow at $t = k\eta$ with an $O(\eta)$ error.
On a loss $f = L(Ax)$ every $g_k$ lies in $\mathrm{range}(A^\top)$, so the iterates
keep $\nabla R(x_k) \in \nabla R(x_0) + \mathrm{range}(A^\top)$ and, if they reach
an interpolant, it is the Bregman projection of $x_0$ (Gunasekar et al. 2018, Thm 1).
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import ArrayLike

from .._misc import is_concrete
from .._types import PyTree
from ..potentials import AbstractPotential
from ._finite import check_nan_policy, nonfinite_probe, report_nonfinite


class MirrorDescentState(NamedTuple):
    """State of `mirror_descent`.

    Attributes:
        dual: the dual iterate $z_k = \\nabla R(x_k)$, a pytree shaped (and typed)
            like the params. It is the authority on where the iterate is: the
            primal params are only read to return `updates = x_{k+1} - params`.
        count: steps taken $k$ (int32; the argument of a learning-rate schedule).
    """

    dual: PyTree
    count: jax.Array


def _is_potential(node) -> bool:
    return isinstance(node, AbstractPotential)


def _check_potential(potential) -> None:
    leaves = jax.tree.leaves(potential, is_leaf=_is_potential)
    if not leaves or not all(_is_potential(p) for p in leaves):
        raise TypeError(
            "mirror_descent: `potential` must be a potential (e.g. "
            "`mirrorflow.Hypentropy(alpha)`) or a pytree of potentials that is a "
            f"prefix of the params, got {type(potential).__name__}."
        )


def _check_learning_rate(learning_rate):
    """A finite rate > 0 as a Python float; a schedule or a tracer passes through."""
    if callable(learning_rate):
        return learning_rate
    if not is_concrete(learning_rate):
        return learning_rate  # traced (e.g. `optax.inject_hyperparams`): unchecked
    value = None
    if not isinstance(learning_rate, bool | np.bool_):
        try:
            arr = np.asarray(learning_rate)
        except (TypeError, ValueError):
            arr = None
        real = arr is not None and (
            np.issubdtype(arr.dtype, np.integer)
            or np.issubdtype(arr.dtype, np.floating)
        )
        if real and arr.ndim == 0:
            value = float(arr)
    if value is None or not (math.isfinite(value) and value > 0):
        raise ValueError(
            "mirror_descent: `learning_rate` must be a finite float > 0 or an optax "
            f"schedule (step count -> rate), got {learning_rate!r}."
        )
    return value


def _cast_floats(tree, dtype):
    """`tree` with its floating arrays cast to `dtype` (potential parameters).

    Under x64 a potential built from Python floats holds float64 arrays (e.g. the
    hypentropy scale); casting them keeps float32 params in float32 (and avoids a
    promotion error under `jax_numpy_dtype_promotion="strict"`).
    """
    return jax.tree.map(
        lambda a: (
            a.astype(dtype) if eqx.is_inexact_array(a) and a.dtype != dtype else a
        ),
        tree,
    )


def _leafwise(potential, fn, *trees):
    """Map `fn(potential_of_leaf, *leaves)` over the params' leaves."""
    if _is_potential(potential):
        return jax.tree.map(lambda *xs: fn(potential, *xs), *trees)
    return jax.tree.map(
        lambda p, *subtrees: jax.tree.map(lambda *xs: fn(p, *xs), *subtrees),
        potential,
        *trees,
        is_leaf=_is_potential,
    )


def _as_vector(method: str, potential, x, *, check: bool = False):
    """`potential.<method>` of `x` raveled to a vector, in the dtype of `x`."""
    potential = _cast_floats(potential, x.dtype)
    vector = x.reshape(-1)
    if check:
        potential.check_domain(vector, "params")  # only acts on concrete values
    out = getattr(potential, method)(vector)
    return out.reshape(x.shape).astype(x.dtype)


_MD_NONFINITE = (
    "mirror_descent: a gradient or the new point grad R*(z) contains NaN/inf "
    "(nan_policy='raise'). Check the loss, the data and the learning rate (a "
    "smaller step keeps the dual iterate where the inverse mirror map is finite); "
    "nan_policy='revert' keeps such a leaf where it was."
)


def mirror_descent(
    potential: AbstractPotential | PyTree,
    learning_rate: float | ArrayLike | Callable[[jax.Array], jax.Array],
    *,
    nan_policy: str = "raise",
) -> optax.GradientTransformation:
    r"""Mirror descent with the potential $R$ as an optax `GradientTransformation`.

    $z_{k+1} = z_k - \eta_k g_k$, $x_{k+1} = \nabla R^*(z_{k+1})$, with the dual
    iterate $z$ kept in the state: `init(params)` sets $z_0 = \nabla R(x_0)$
    (`potential.grad`), and `update(grads, state, params)` returns
    `updates = x_{k+1} - params` (`potential.grad_conjugate`), so that
    `optax.apply_updates` lands on $x_{k+1}$ up to one rounding. Keeping $z$ avoids
    the round-off of mapping $x$ back to the dual at every step. With a constant
    $\eta$, $k$ steps are forward Euler with step $\eta$ on `MirrorFlow(problem,
    potential)` up to $t = k\eta$; with `SquaredNorm(coef)` it is gradient descent
    with step $\eta/\mathrm{coef}$ (`optax.sgd`).

    Parameters may be one array or any pytree of arrays. The potential is applied
    leafwise, each leaf raveled to a vector (potentials are separable, so the
    shape does not matter; a per-coordinate potential parameter such as a
    `Hypentropy` scale of shape `(d,)` must match the leaf's size). Pass a pytree
    of potentials that is a prefix of the params to use different potentials for
    different leaves. The state, the updates and the arithmetic keep each leaf's
    dtype: floating parameters of the potential are cast to it (so float32 params
    stay float32 under x64).

    Place it last in an `optax.chain`: transformations before it may rescale or
    clip the gradient, but one after it would move the params away from
    $\nabla R^*(z)$ without the state knowing.

    Args:
        potential: the Legendre function $R$ (`Hypentropy`, `NegEntropy`,
            `SquaredNorm`, ...), or a prefix pytree of them.
        learning_rate: $\eta > 0$ (a Python, numpy or 0-d JAX scalar), or an optax
            schedule mapping the step count $k$ (int32, as in optax) to $\eta_k$.
            Some optax schedules (e.g. `exponential_decay`) return float32 at an
            int32 count even under x64, so their rates carry float32 rounding.
        nan_policy: what a NaN/inf gradient or step does, as for every optimizer
            of mirrorflow. `"raise"` (default): a runtime error, also under `jit`
            (`equinox.error_if`), when a gradient is not finite or the new point
            $\nabla R^*(z_{k+1})$ is not (the dual iterate left the range where
            the inverse mirror map is finite, e.g. $\exp$ overflowing for
            `NegEntropy`); `"revert"`: such a leaf keeps its dual iterate and
            its parameters this step (update zero); `"ignore"`: propagate.

    Returns:
        The transformation; its state is a `MirrorDescentState`.

    Raises:
        ValueError: a `learning_rate` that is not a finite scalar > 0 or a
            schedule; `init` with params outside the potential's domain (e.g.
            $x \le 0$ for `NegEntropy`); `update` without `params`.
        TypeError: `potential` is not a potential or a pytree of them.

    References:
        Nemirovski & Yudin (1983), *Problem complexity and method efficiency in
        optimization*; Beck & Teboulle (2003), *Mirror descent and nonlinear
        projected subgradient methods for convex optimization*; Gunasekar, Lee,
        Soudry & Srebro (2018), *Characterizing implicit bias in terms of
        optimization geometry*, Thm 1.
    """
    _check_potential(potential)
    learning_rate = _check_learning_rate(learning_rate)
    check_nan_policy(nan_policy, "mirror_descent")
    scheduled = callable(learning_rate)

    def init(params):
        params = jax.tree.map(jnp.asarray, params)
        dual = _leafwise(
            potential, lambda p, x: _as_vector("grad", p, x, check=True), params
        )
        return MirrorDescentState(dual=dual, count=jnp.zeros([], jnp.int32))

    def step(p, z, g, eta):
        z_new = z - jnp.asarray(eta).astype(z.dtype) * g.astype(z.dtype)
        x_new = _as_vector("grad_conjugate", p, z_new)
        if nan_policy == "revert":
            ok = jnp.all(jnp.isfinite(z_new)) & jnp.all(jnp.isfinite(x_new))
            x_old = _as_vector("grad_conjugate", p, z)
            z_new, x_new = jnp.where(ok, z_new, z), jnp.where(ok, x_new, x_old)
        return z_new, x_new

    def update(grads, state, params=None):
        if params is None:
            raise ValueError(
                "mirror_descent: `update` needs `params` (it returns "
                "`x_{k+1} - params`); call `update(grads, state, params)`."
            )
        eta = learning_rate(state.count) if scheduled else learning_rate
        pairs = _leafwise(
            potential, lambda p, z, g: step(p, z, g, eta), state.dual, grads
        )
        dual = jax.tree.map(lambda _, pair: pair[0], state.dual, pairs)
        new = jax.tree.map(lambda _, pair: pair[1], state.dual, pairs)
        updates = jax.tree.map(
            lambda x, p: x - jnp.asarray(p).astype(x.dtype), new, params
        )
        if nan_policy == "raise":
            probe = nonfinite_probe((grads, new))
            updates = report_nonfinite(updates, probe, _MD_NONFINITE)
        count = optax.safe_int32_increment(state.count)
        return updates, MirrorDescentState(dual=dual, count=count)

    return optax.GradientTransformation(init, update)
