r"""Weight-decay schedules as values: strength $\lambda_t$ and dose $\Lambda_t$.

Convention (the *mask* convention of Mask in the Mirror, Jacobs & Burkholz 2025, the
package default; see docs/theory/conventions.md):
the regularized objective is $f(g(p)) + \lambda_t\,h(p)$, where $h$ is the
reparameterization's own penalty ($\|m\|^2 + \|w\|^2$ for $x = m\odot w$), and the
cumulative dose is $\Lambda_t = \int_0^t \lambda_s\,ds$. Everything the time-dependent
mirror flow needs from a schedule is $\Lambda_t$: for $x = m\odot w$ the imbalance
decays as $a_t = a_0 e^{-4\Lambda_t}$ (Mask in the Mirror, Lemma A.1;
derivations/06_weight_decay_time_dependent.py).

The mirror2 convention (Mirror, Mirror of the Flow, Jacobs, Zhou & Burkholz 2025)
writes the penalty as
$\tfrac{\alpha_t}{2}(\|m\|^2 + \|w\|^2)$ and the dose as $a = -\int\alpha$; hence
$\lambda = \alpha/2$, $\Lambda = -a/2$ and $\gamma_a = a_0 e^{-4\Lambda}$. For
$x = u^{2k} - v^{2k}$ mirror2 writes $\alpha_t(u^{2k} + v^{2k})$ (no 1/2), so there
$\lambda = \alpha$ and $\Lambda = -a$.
"""

import abc
import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .. import _validate
from .._misc import default_float, is_concrete
from .._types import Scalar, ScalarLike


def _value(value, name: str, who: str, *, positive: bool = False) -> Array:
    """A finite float >= 0 (> 0 if `positive`) as a 0-d array; ValueError otherwise."""
    if is_concrete(value):
        _validate.scalar(value, who, name, low=0.0, strict=positive)
    return jnp.asarray(value, dtype=default_float())


class AbstractSchedule(eqx.Module):
    r"""A weight-decay schedule: strength $\lambda_t \ge 0$ and dose $\Lambda_t$.

    $\Lambda_t = \int_0^t\lambda_s\,ds$ for $t \ge 0$. Schedules with
    `closed_form_dose = False` make the time-dependent flows carry $\Lambda$ as an
    extra ODE state ($\dot\Lambda = \lambda_t$). `breakpoints` are the times where
    $\lambda$ jumps or kinks: solvers restart there (a step across a discontinuity
    of the right-hand side loses accuracy).
    Parameters are stored as arrays, so schedules of one class with different
    values reuse a compiled solve.
    """

    closed_form_dose: ClassVar[bool] = True

    @abc.abstractmethod
    def strength(self, t: ScalarLike) -> Scalar:
        r"""$\lambda_t$."""

    @abc.abstractmethod
    def dose(self, t: ScalarLike) -> Scalar:
        r"""$\Lambda_t = \int_0^t \lambda_s\,ds$."""

    @property
    @abc.abstractmethod
    def total_dose(self) -> float:
        r"""$\Lambda_\infty$ as a Python float (`inf` if $\lambda$ is not summable)."""

    @property
    def final_strength(self) -> float:
        r"""$\lim_{t\to\infty}\lambda_t$ (0 for schedules that switch off or decay)."""
        return 0.0

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Times where the strength jumps or kinks (empty by default)."""
        return ()

    def _t(self, t):
        return jnp.asarray(t, dtype=default_float())


class ConstantDecay(AbstractSchedule):
    r"""Constant weight decay, $\lambda_t = \lambda$, $\Lambda_t = \lambda t$.

    With $\lambda > 0$ the flow does not interpolate: for $x = m\odot w$ it
    converges to the lasso $\arg\min f + 2\lambda\|x\|_1$ (our derivation; constant
    decay is outside the papers' theorems: on the conserved set the penalty tends to
    $2\lambda\|x\|_1$, derivations/06_weight_decay_time_dependent.py).

    Args:
        strength: $\lambda \ge 0$.
    """

    value: Float[Array, ""]

    def __init__(self, strength: ScalarLike):
        self.value = _value(strength, "strength", "ConstantDecay")

    def strength(self, t: ScalarLike) -> Scalar:
        return jnp.zeros_like(self._t(t)) + self.value

    def dose(self, t: ScalarLike) -> Scalar:
        return self.value * jnp.maximum(self._t(t), 0.0)

    @property
    def total_dose(self) -> float:
        return math.inf if float(self.value) > 0 else 0.0

    @property
    def final_strength(self) -> float:
        return float(self.value)


class SwitchOff(AbstractSchedule):
    r"""Weight decay $\lambda$ on $[0, T)$, switched off at $T$.

    $\Lambda_t = \lambda\min(t, T)$, $\Lambda_\infty = \lambda T$. The switch-off
    proposal of Mirror, Mirror (its Thm 3.2 covers decay switched off after a finite
    time) and the "step" schedule of the Mask-in-the-Mirror claims.

    Args:
        strength: $\lambda \ge 0$.
        switch_time: $T \ge 0$.
    """

    value: Float[Array, ""]
    switch_time: Float[Array, ""]

    def __init__(self, strength: ScalarLike, switch_time: ScalarLike):
        self.value = _value(strength, "strength", "SwitchOff")
        self.switch_time = _value(switch_time, "switch_time", "SwitchOff")

    def strength(self, t: ScalarLike) -> Scalar:
        return jnp.where(self._t(t) < self.switch_time, self.value, 0.0)

    def dose(self, t: ScalarLike) -> Scalar:
        return self.value * jnp.clip(self._t(t), 0.0, self.switch_time)

    @property
    def total_dose(self) -> float:
        return float(self.value * self.switch_time)

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return (float(self.switch_time),)


class PiecewiseConstant(AbstractSchedule):
    r"""Step schedule: $\lambda_t = \lambda_i$ on $[b_{i-1}, b_i)$, $b_{-1} = 0$.

    The last strength holds on $[b_{k-1}, \infty)$; $\Lambda_\infty$ is finite iff it
    is 0.

    Args:
        strengths: $\lambda_0, \dots, \lambda_k \ge 0$, shape `(k + 1,)`.
        boundaries: $0 \le b_0 < \dots < b_{k-1}$, shape `(k,)`.
    """

    values: Float[Array, " k1"]
    boundaries: Float[Array, " k"]

    def __init__(
        self,
        strengths: ArrayLike | Sequence[float],
        boundaries: ArrayLike | Sequence[float],
    ):
        s = _validate.real_array(
            strengths, "PiecewiseConstant", "strengths", allow_empty=True, finite=False
        ).astype(float)
        b = _validate.real_array(
            boundaries,
            "PiecewiseConstant",
            "boundaries",
            allow_empty=True,
            finite=False,
        ).astype(float)
        if s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(
                "PiecewiseConstant: `strengths` must be a 1-d array of finite values "
                f">= 0, got {strengths!r}."
            )
        if b.ndim != 1 or b.size != s.size - 1:
            raise ValueError(
                "PiecewiseConstant: `boundaries` must be 1-d with one entry fewer "
                f"than `strengths`, got shapes {b.shape} and {s.shape}."
            )
        if not np.all(np.isfinite(b)) or np.any(b < 0) or np.any(np.diff(b) <= 0):
            raise ValueError(
                "PiecewiseConstant: `boundaries` must be finite, >= 0 and strictly "
                f"increasing, got {boundaries!r}."
            )
        self.values = jnp.asarray(s, dtype=default_float())
        self.boundaries = jnp.asarray(b, dtype=default_float())

    def strength(self, t: ScalarLike) -> Scalar:
        idx = jnp.searchsorted(self.boundaries, self._t(t), side="right")
        return self.values[idx]

    def dose(self, t: ScalarLike) -> Scalar:
        t = self._t(t)
        zero = jnp.zeros((1,), self.boundaries.dtype)
        starts = jnp.concatenate([zero, self.boundaries])
        ends = jnp.concatenate([self.boundaries, zero + jnp.inf])
        return jnp.sum(self.values * jnp.clip(t - starts, 0.0, ends - starts))

    @property
    def total_dose(self) -> float:
        if float(self.values[-1]) > 0:
            return math.inf
        b = np.concatenate([[0.0], np.asarray(self.boundaries)])
        return float(np.sum(np.asarray(self.values)[:-1] * np.diff(b)))

    @property
    def final_strength(self) -> float:
        return float(self.values[-1])

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return tuple(float(b) for b in np.asarray(self.boundaries))


class ExponentialDecay(AbstractSchedule):
    r"""Exponential decay after an optional hold.

    $\lambda_t = \lambda$ for $t < h$, $\lambda e^{-(t-h)/\tau}$ after;
    $\Lambda_t = \lambda\min(t,h) + \lambda\tau\,(1 - e^{-(t-h)_+/\tau})$,
    $\Lambda_\infty = \lambda(h + \tau)$. With $h = 0$ it is the "exp" schedule of the
    Mask-in-the-Mirror claims; `pilot_schedule` builds the held, geometric one.

    Args:
        strength: $\lambda \ge 0$.
        time_scale: $\tau > 0$.
        hold: $h \ge 0$ (default 0).
    """

    value: Float[Array, ""]
    time_scale: Float[Array, ""]
    hold: Float[Array, ""]

    def __init__(
        self, strength: ScalarLike, time_scale: ScalarLike, hold: ScalarLike = 0.0
    ):
        self.value = _value(strength, "strength", "ExponentialDecay")
        self.time_scale = _value(
            time_scale, "time_scale", "ExponentialDecay", positive=True
        )
        self.hold = _value(hold, "hold", "ExponentialDecay")

    def strength(self, t: ScalarLike) -> Scalar:
        late = jnp.maximum(self._t(t) - self.hold, 0.0)
        return self.value * jnp.exp(-late / self.time_scale)

    def dose(self, t: ScalarLike) -> Scalar:
        t = jnp.maximum(self._t(t), 0.0)
        late = jnp.maximum(t - self.hold, 0.0)
        return self.value * (
            jnp.minimum(t, self.hold)
            - self.time_scale * jnp.expm1(-late / self.time_scale)
        )

    @property
    def total_dose(self) -> float:
        return float(self.value * (self.hold + self.time_scale))

    @property
    def breakpoints(self) -> tuple[float, ...]:
        h = float(self.hold)
        return (h,) if h > 0 else ()


class LinearDecay(AbstractSchedule):
    r"""Linear decay to zero: $\lambda_t = \lambda(1 - t/T)_+$.

    $\Lambda_t = \lambda(s - s^2/(2T))$ with $s = \min(t, T)$;
    $\Lambda_\infty = \lambda T/2$.

    Args:
        strength: $\lambda \ge 0$.
        duration: $T > 0$.
    """

    value: Float[Array, ""]
    duration: Float[Array, ""]

    def __init__(self, strength: ScalarLike, duration: ScalarLike):
        self.value = _value(strength, "strength", "LinearDecay")
        self.duration = _value(duration, "duration", "LinearDecay", positive=True)

    def strength(self, t: ScalarLike) -> Scalar:
        s = jnp.clip(self._t(t), 0.0, self.duration)
        return self.value * (1.0 - s / self.duration)

    def dose(self, t: ScalarLike) -> Scalar:
        s = jnp.clip(self._t(t), 0.0, self.duration)
        return self.value * (s - 0.5 * s**2 / self.duration)

    @property
    def total_dose(self) -> float:
        return float(0.5 * self.value * self.duration)

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return (float(self.duration),)


class CosineDecay(AbstractSchedule):
    r"""Cosine decay to zero: $\lambda_t = \tfrac{\lambda}{2}(1 + \cos(\pi t/T))$.

    For $t < T$, and 0 after. $\Lambda_t = \tfrac{\lambda}{2}(s + \tfrac{T}{\pi}
    \sin(\pi s/T))$ with $s = \min(t, T)$; $\Lambda_\infty = \lambda T/2$.

    Args:
        strength: $\lambda \ge 0$ (the strength at $t = 0$).
        duration: $T > 0$.
    """

    value: Float[Array, ""]
    duration: Float[Array, ""]

    def __init__(self, strength: ScalarLike, duration: ScalarLike):
        self.value = _value(strength, "strength", "CosineDecay")
        self.duration = _value(duration, "duration", "CosineDecay", positive=True)

    def strength(self, t: ScalarLike) -> Scalar:
        s = jnp.clip(self._t(t), 0.0, self.duration)
        return 0.5 * self.value * (1.0 + jnp.cos(jnp.pi * s / self.duration))

    def dose(self, t: ScalarLike) -> Scalar:
        s = jnp.clip(self._t(t), 0.0, self.duration)
        return (
            0.5
            * self.value
            * (s + self.duration / jnp.pi * jnp.sin(jnp.pi * s / self.duration))
        )

    @property
    def total_dose(self) -> float:
        return float(0.5 * self.value * self.duration)

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return (float(self.duration),)


class CallableSchedule(AbstractSchedule):
    r"""A user-supplied strength $t\mapsto\lambda_t$ without a closed-form dose.

    The time-dependent flows then integrate $\dot\Lambda = \lambda_t$ as an extra ODE
    state. `fn` must be a JAX-traceable, non-negative function of a scalar time;
    define it once (at module level) so that compiled solves are reused.

    Args:
        fn: $t \mapsto \lambda_t$.
        total_dose: $\Lambda_\infty$ if known (needed by `predict_regularized`).
        breakpoints: times where `fn` jumps or kinks.
    """

    closed_form_dose: ClassVar[bool] = False
    fn: Callable = eqx.field(static=True)
    total: float = eqx.field(static=True)
    jumps: tuple[float, ...] = eqx.field(static=True)

    def __init__(
        self,
        fn: Callable,
        *,
        total_dose: float | None = None,
        breakpoints: tuple[float, ...] = (),
    ):
        if not callable(fn):
            raise TypeError(
                "CallableSchedule: `fn` must be a function of t returning the "
                f"strength, got {type(fn).__name__}."
            )
        lam0 = float(fn(jnp.asarray(0.0, default_float())))
        if not (math.isfinite(lam0) and lam0 >= 0):
            raise ValueError(
                f"CallableSchedule: `fn(0)` must be finite and >= 0, got {lam0}."
            )
        if total_dose is not None:
            total_dose = _validate.scalar(
                total_dose,
                "CallableSchedule",
                "total_dose",
                low=0.0,
                strict=False,
                allow_inf=True,
            )
        self.fn = fn
        self.total = math.nan if total_dose is None else float(total_dose)
        self.jumps = tuple(float(b) for b in breakpoints)

    def strength(self, t: ScalarLike) -> Scalar:
        return jnp.asarray(self.fn(self._t(t)), dtype=default_float())

    def dose(self, t: ScalarLike) -> Scalar:
        raise ValueError(
            "CallableSchedule.dose: this schedule has no closed-form dose; the flows "
            "integrate it as an extra ODE state (check `closed_form_dose` first)."
        )

    @property
    def total_dose(self) -> float:
        if math.isnan(self.total):
            raise ValueError(
                "CallableSchedule: the total dose is unknown; pass `total_dose=` when "
                "building the schedule."
            )
        return self.total

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return self.jumps


def pilot_schedule(
    strength: ScalarLike, hold: ScalarLike, factor: float
) -> ExponentialDecay:
    r"""PILoT's deterministic schedule family: hold $\lambda$ for $\tau$, then decay.

    $\lambda_t = \lambda$ on $[0, \tau)$ and $\lambda\,\delta^{-(t-\tau)}$ after (the
    continuous form of "divide by $\delta$ per time unit"), so
    $\Lambda_\infty = \lambda(\tau + 1/\log\delta)$ (only $\Lambda_\infty$ matters for
    the limit: Mask in the Mirror, Thm 3.3).

    Args:
        strength: $\lambda \ge 0$.
        hold: $\tau \ge 0$.
        factor: $\delta > 1$.
    """
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 1):
        raise ValueError(f"pilot_schedule: `factor` must be > 1, got {factor!r}.")
    return ExponentialDecay(strength, 1.0 / math.log(factor), hold)


class PilotRule(eqx.Module):
    r"""PILoT's adaptive weight-decay rule (Algorithm 1 of Jacobs & Burkholz, 2025).

    After epoch $k$ of $T$, with training accuracy $\mathrm{acc}_k$ and
    $\|x\|_1 = \|m\odot w\|_1$:
    $$\lambda \leftarrow \begin{cases}\lambda\,\delta & \text{if }
    \mathrm{acc}_k \ge \mathrm{acc}_{k-1},\ \|x\|_1 > K,\ k < T/2,\\
    \lambda/\delta & \text{otherwise,}\end{cases}$$
    with $\mathrm{acc}_0 = -\infty$ (the paper's $0$ for accuracies in $[0, 1]$).
    In the second half $\lambda$ decays geometrically, so $\Lambda_\infty < \infty$
    and the limit theorem (Mask in the Mirror, Thm 3.3) applies.

    **Flagged:** this rule was reconstructed from a quoted text of Algorithm 1 whose
    comparison symbols were lost; the two directions ($\ge$ for accuracy, $>$ for the
    L1 target) are that reading: strengthen while accuracy holds up and the weights
    are not yet sparse enough. The arXiv v1 text of Algorithm 1 compares
    $\|m\odot w\|_1 \ge K$ (the two differ only at equality), and no text read
    confirms the accuracy condition or the clause $k < T/2$; see
    docs/theory/conventions.md.

    Args:
        initial_strength: $\lambda_{\rm init} \ge 0$.
        factor: $\delta > 1$.
        l1_target: $K \ge 0$.
        num_epochs: $T$, a positive int.
    """

    initial_strength: Float[Array, ""]
    factor: Float[Array, ""]
    l1_target: Float[Array, ""]
    num_epochs: int = eqx.field(static=True)

    def __init__(
        self,
        initial_strength: ScalarLike,
        factor: ScalarLike,
        l1_target: ScalarLike,
        num_epochs: int,
    ):
        self.initial_strength = _value(
            initial_strength, "initial_strength", "PilotRule"
        )
        self.factor = _value(factor, "factor", "PilotRule", positive=True)
        if is_concrete(self.factor) and not float(self.factor) > 1:
            raise ValueError(f"PilotRule: `factor` must be > 1, got {factor!r}.")
        self.l1_target = _value(l1_target, "l1_target", "PilotRule")
        if not (isinstance(num_epochs, int | np.integer) and num_epochs > 0):
            raise ValueError(
                f"PilotRule: `num_epochs` must be a positive int, got {num_epochs!r}."
            )
        self.num_epochs = int(num_epochs)

    def next_strength(
        self,
        strength: Scalar,
        epoch: Int[ArrayLike, ""] | int,
        accuracy: Scalar,
        previous_accuracy: Scalar,
        l1_norm: Scalar,
    ) -> Scalar:
        r"""The strength for epoch $k + 1$ given the state after epoch $k$ = `epoch`."""
        dtype = jnp.result_type(strength)
        grow = (
            (accuracy >= previous_accuracy)
            & (l1_norm > self.l1_target.astype(dtype))
            & (2 * epoch < self.num_epochs)
        )
        factor = self.factor.astype(dtype)
        return jnp.where(grow, strength * factor, strength / factor)


def strength_from_mirror2(
    alpha: float, *, n: int = 1, half_penalty: bool = True
) -> float:
    r"""The mask-convention strength $\lambda$ of mirror2's decay $\alpha$.

    Mirror, Mirror trains $\tfrac1{2n}\|Ax-y\|^2 + \tfrac{\alpha}{2}h$
    ($\tfrac{\alpha}{2}(\|m\|^2+\|w\|^2)$, $\tfrac{\alpha}{2}w^\top Bw$;
    `half_penalty=False` for its $\alpha(u^{2k}+v^{2k})$). The package trains
    $\tfrac12\|Ax-y\|^2 + \lambda h$ at time $t/n$ (pass `n`; `n=1` keeps the mean
    loss via `LinearRegression(mean=True)` and the paper's clock), so
    $\lambda = n\alpha/2$ (or $n\alpha$). Divide the paper's times by `n` as well
    (docs/theory/conventions.md).
    """
    if not (isinstance(n, int) and n > 0):
        raise ValueError(
            f"strength_from_mirror2: `n` must be a positive int, got {n!r}."
        )
    return n * alpha * (0.5 if half_penalty else 1.0)


def dose_from_mirror2(a: float, *, half_penalty: bool = True) -> float:
    r"""The mask-convention dose $\Lambda$ of mirror2's $a = -\int\alpha \le 0$.

    $\Lambda = -a/2$ for the penalties with a factor $1/2$ ($m\odot w$, commuting
    quadratic), $\Lambda = -a$ for $\alpha(u^{2k}+v^{2k})$. Independent of the loss
    normalization. Then mirror2's $\gamma_a = e^{2a}\gamma_0$ is the mask convention's
    $|a_t| = |a_0|e^{-4\Lambda}$ (docs/theory/conventions.md).
    """
    if not a <= 0:
        raise ValueError(
            f"dose_from_mirror2: `a` = -int alpha must be <= 0, got {a!r}."
        )
    return -a * (0.5 if half_penalty else 1.0)
