r"""Flows with explicit weight decay: parameter space, dual and reduced coordinates.

One mechanism for both papers (Mask in the Mirror, Thm 3.1; Mirror, Mirror, Thm 3.1):
gradient flow on $F_t(p) = f(g(p)) + \lambda_t h(p)$, with $h$ the
reparameterization's own penalty, moves $x = g(p)$ along the time-dependent mirror flow
$\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t)$. In dual coordinates the ODE
$\dot z = -\nabla f(\nabla R^*_{\Lambda_t}(z))$ only sees the dose $\Lambda_t$; the map
back $x = \nabla R^*_{\Lambda_t}(z)$ depends on time, so the dual and reduced states
carry a clock $s = t$ (schedules with a closed-form dose) or the dose $s = \Lambda$
itself ($\dot\Lambda = \lambda_t$, for `CallableSchedule`).
"""

import math

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._misc import as_float_array
from .._types import PyTree, Scalar, ScalarLike, Vector
from ..potentials import (
    AbstractSeparableTimeDependentPotential,
    AbstractTimeDependentPotential,
    CommutingQuadraticPotential,
)
from ..problems import AbstractProblem
from ..regularization import AbstractSchedule
from ..reparam import AbstractReparam
from ._base import AbstractFlow


class CommutingQuadratic(AbstractReparam):
    r"""A commuting quadratic parameterization $x_i = \tfrac12 w^\top A_iw$.

    Params `w` of shape `(p,)`; $A_1..A_d$ symmetric and commuting, with the admissible
    weight-decay penalty $h(w) = w^\top Bw$ ($B$ symmetric, commuting with every
    $A_i$; Mirror, Mirror, Thm 3.3 and Cor. 3.1: the penalty must be built from
    the model's own monomials). Covers $m\odot w$ ($p = 2d$, $B = I$) and
    simultaneously diagonalizable matrix sensing. Its potential is not separable in
    $x$: use `weight_decay_potential`, which returns a `CommutingQuadraticPotential`.

    Args:
        matrices: $A_1..A_d$, shape `(d, p, p)`.
        penalty_matrix: $B$, shape `(p, p)`.
    """

    matrices: Float[Array, "d p p"]
    penalty_matrix: Float[Array, "p p"]

    def __init__(self, matrices: ArrayLike, penalty_matrix: ArrayLike):
        self.matrices = as_float_array(matrices, "matrices", ndim=3)
        self.penalty_matrix = as_float_array(penalty_matrix, "penalty_matrix", ndim=2)
        p = self.penalty_matrix.shape[0]
        if self.matrices.shape[1:] != (p, p) or self.penalty_matrix.shape != (p, p):
            raise ValueError(
                "CommutingQuadratic: `matrices` must have shape (d, p, p) and "
                f"`penalty_matrix` (p, p), got {self.matrices.shape} and "
                f"{self.penalty_matrix.shape}."
            )

    def to_x(self, params: PyTree) -> Vector:
        w = jnp.asarray(params)
        return 0.5 * jnp.einsum("ijk,j,k->i", self.matrices, w, w)

    def conserved(self, params: PyTree) -> Vector:
        raise ValueError(
            "CommutingQuadratic has no elementwise conserved quantity; its flow is "
            "described by CommutingQuadraticPotential (weight_decay_potential)."
        )

    def induced_potential(self, params0: PyTree) -> AbstractTimeDependentPotential:
        raise ValueError(
            "CommutingQuadratic: the induced potential is not separable; use "
            "`weight_decay_potential(reparam, params0)` (its value at dose 0 is the "
            "unregularized potential, through its conjugate)."
        )

    def penalty(self, params: PyTree) -> Scalar:
        r"""$h(w) = w^\top Bw$."""
        w = jnp.asarray(params)
        return w @ self.penalty_matrix @ w

    @property
    def time_factor(self) -> float:
        return 1.0

    def decay_family(self, params0: PyTree):
        """`CommutingQuadraticPotential(A, B, w0)` and $z_0 = 0$."""
        family = CommutingQuadraticPotential(
            self.matrices, self.penalty_matrix, params0
        )
        return family, jnp.zeros(self.matrices.shape[0], self.matrices.dtype)


def weight_decay_penalty(reparam: AbstractReparam, params: PyTree) -> Scalar:
    r"""The reparameterization's own weight-decay penalty $h(p)$ (mask convention).

    $\|m\|^2 + \|w\|^2$ for `Hadamard`, $\|u\|^2 + \|v\|^2$ for `DiffOfSquares`
    (and the sum of squares of every leaf by default), $\sum_i u_i^D + v_i^D$ for
    `DeepDiagonal(D)` (Mirror, Mirror, Cor. 3.1: plain L2 decay is admissible only for
    depth 2), $w^\top Bw$ for `CommutingQuadratic`. The objective is
    $f(g(p)) + \lambda_t h(p)$. The same as `reparam.penalty(params)`.
    """
    return reparam.penalty(params)


def weight_decay_potential(
    reparam: AbstractReparam, params0: PyTree
) -> tuple[AbstractTimeDependentPotential, Vector]:
    r"""The time-dependent potential $R_\Lambda$ of `reparam` and the start $z_0$.

    Gradient flow on $f(g(p)) + \lambda_t h(p)$ from `params0` satisfies
    $\nabla R_{\Lambda_t}(x_t) = z_0 - \int_0^t\nabla f(x_s)\,ds$
    (Mask in the Mirror, Thm 3.1; Mirror, Mirror, Thms 3.1 and 3.3;
    derivations/06_weight_decay_time_dependent.py).

    - `Hadamard`: `TimeDependentHypentropy(|m0^2 - w0^2|/2, coef=1/2)`,
      $z_0 = \tfrac12\mathrm{arcsinh}(2x_0/|a_0|)$ (= artanh($w_0/m_0$) if
      $|m_0| > |w_0|$, $m_0 > 0$); needs $m_0^2 \ne w_0^2$.
    - `DiffOfSquares`: `TimeDependentHypentropy(2 u0 v0, coef=1/4)`,
      $z_0 = \tfrac14\log(u_0/v_0)$; needs $u_0v_0 > 0$.
    - `DeepDiagonal(D)`: `TimeDependentDeepDiagonal(D, u0, v0)`, $z_0 = 0$.
    - `CommutingQuadratic`: `CommutingQuadraticPotential`, $z_0 = 0$.

    Raises:
        ValueError: other reparameterizations, or an initialization outside the
            family's assumptions (balanced $m\odot w$, $u_0v_0 \le 0$).
    """
    return reparam.decay_family(params0)


class RegularizedGradientFlow(AbstractFlow):
    r"""Gradient flow with scheduled weight decay on parameters.

    $\dot p = -\nabla_p\big[f(g(p)) + \lambda_t h(p)\big]$, $h$ from
    `weight_decay_penalty` (for $x = m\odot w$:
    $\dot m = -w\odot\nabla f - 2\lambda_tm$, $\dot w = -m\odot\nabla f - 2\lambda_tw$;
    the mask convention, docs/theory/conventions.md). The general path (any loss); the
    state is the parameter pytree. Integrate it with `integrate_piecewise` so that
    solvers restart at the schedule's jumps.

    Args:
        problem: the loss $f$.
        reparam: $g$.
        schedule: $\lambda_t$.
    """

    problem: AbstractProblem
    reparam: AbstractReparam
    schedule: AbstractSchedule

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        dtype = jnp.result_type(*jax.tree.leaves(y))
        lam = self.schedule.strength(t).astype(dtype)

        def objective(p):
            return self.problem.loss(self.reparam.to_x(p)) + lam * weight_decay_penalty(
                self.reparam, p
            )

        return jax.tree.map(jnp.negative, jax.grad(objective)(y))

    def to_primal(self, y: PyTree) -> Vector:
        return self.reparam.to_x(y)


def _dose_state(schedule, z0, t0, dose0):
    dtype = jnp.result_type(z0)
    if schedule.closed_form_dose:
        if dose0 is not None:
            raise ValueError(
                "initial_state: `dose0` is only for schedules without a closed-form "
                "dose (CallableSchedule); the clock state starts at `t0`."
            )
        return jnp.asarray(t0, dtype)
    return jnp.asarray(0.0 if dose0 is None else dose0, dtype)


class _AbstractClockFlow(AbstractFlow):
    """A flow whose state is `(y, s)`, `s` the clock or the dose (see module doc)."""

    schedule: eqx.AbstractVar[AbstractSchedule]

    def dose(self, y: PyTree) -> Scalar:
        r"""The dose $\Lambda$ of a state (from its clock or its dose entry)."""
        s = y[1]
        if self.schedule.closed_form_dose:
            return self.schedule.dose(s).astype(jnp.result_type(s))
        return s

    def _ds(self, t, s):
        if self.schedule.closed_form_dose:
            return jnp.ones_like(s)
        return self.schedule.strength(t).astype(jnp.result_type(s))


class TimeDependentMirrorFlow(_AbstractClockFlow):
    r"""Time-dependent mirror flow in dual coordinates.

    $\dot z = -\nabla f(\nabla R^*_{\Lambda_t}(z))$, $x = \nabla R^*_{\Lambda_t}(z)$.

    State `(z, s)`: $s$ is the clock $t$ (closed-form dose, $\dot s = 1$) or the dose
    $\Lambda$ ($\dot s = \lambda_t$, `CallableSchedule`). Equals
    `RegularizedGradientFlow` on the weights $x$ (Mask in the Mirror, Thm 3.1; the
    dual ODE of Mirror, Mirror with $\mu = z - \varphi/2$,
    derivations/06_weight_decay_time_dependent.py). Start it from
    `flow.initial_state(z0)`.

    Args:
        problem: any loss.
        potential: the family $R_\Lambda$ (`weight_decay_potential`).
        schedule: $\lambda_t$.
    """

    problem: AbstractProblem
    potential: AbstractTimeDependentPotential
    schedule: AbstractSchedule

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        z, s = y
        x = self.potential.grad_conjugate(z, self.dose(y))
        return -self.problem.grad(x), self._ds(t, s)

    def to_primal(self, y: PyTree) -> Vector:
        return self.potential.grad_conjugate(y[0], self.dose(y))

    def initial_state(
        self, z0: ArrayLike, *, t0: ScalarLike = 0.0, dose0: ScalarLike | None = None
    ) -> tuple[Array, Array]:
        """`(z0, t0)`, or `(z0, dose0)` for a schedule without closed-form dose."""
        z0 = as_float_array(z0, "z0", ndim=1)
        if z0.shape[0] != self.problem.d:
            raise ValueError(
                f"`z0` has {z0.shape[0]} coordinates but the problem has "
                f"d = {self.problem.d}."
            )
        return z0, _dose_state(self.schedule, z0, t0, dose0)


class TimeDependentReducedFlow(_AbstractClockFlow):
    r"""Time-dependent mirror flow on a loss linear in x, in multipliers $\nu$.

    For $f(x) = L(Ax)$ the dual path stays on $z_0 - A^\top\nu$ whatever the dose, so
    $$x = \nabla R^*_{\Lambda_t}(z_0 - A^\top\nu),\qquad \dot\nu = \nabla L(Ax),
    \qquad \nu(0) = 0,$$
    with state `(nu, s)` as in `TimeDependentMirrorFlow` (the invariant behind Mask in
    the Mirror, Thm 3.3: $\nabla R_{\Lambda_t}(x_t) - z_0 \in \mathrm{range}A^\top$).

    Args:
        problem: a loss with `is_linear` (`LinearRegression`).
        potential: a separable family $R_\Lambda$.
        schedule: $\lambda_t$.
        z0: the initial dual point, shape `(d,)`.
    """

    problem: AbstractProblem
    potential: AbstractSeparableTimeDependentPotential
    schedule: AbstractSchedule
    z0: Vector

    def __init__(
        self,
        problem,
        potential: AbstractTimeDependentPotential,
        schedule: AbstractSchedule,
        z0: ArrayLike,
    ):
        if not getattr(problem, "is_linear", False):
            raise ValueError(
                "TimeDependentReducedFlow needs a loss linear in x (f = L(Ax)); use "
                "TimeDependentMirrorFlow for other losses."
            )
        if not isinstance(potential, AbstractSeparableTimeDependentPotential):
            raise ValueError(
                "TimeDependentReducedFlow: `potential` must be a separable family "
                "(TimeDependentHypentropy, TimeDependentDeepDiagonal); use "
                "TimeDependentMirrorFlow for CommutingQuadraticPotential."
            )
        z0 = as_float_array(z0, "z0", ndim=1)
        if z0.shape[0] != problem.d:
            raise ValueError(
                f"`z0` has {z0.shape[0]} coordinates but the problem has "
                f"d = {problem.d}."
            )
        self.problem, self.potential, self.schedule, self.z0 = (
            problem,
            potential,
            schedule,
            z0,
        )

    def dual(self, y: PyTree) -> Vector:
        """$z = z_0 - A^\\top\\nu$."""
        return self.z0 - y[0] @ self.problem.A

    def vector_field(self, t: Scalar, y: PyTree, args: PyTree) -> PyTree:
        nu, s = y
        x = self.potential.grad_conjugate(self.dual(y), self.dose(y))
        return self.problem.outer_grad(self.problem.A @ x), self._ds(t, s)

    def to_primal(self, y: PyTree) -> Vector:
        return self.potential.grad_conjugate(self.dual(y), self.dose(y))

    def initial_state(
        self, *, t0: ScalarLike = 0.0, dose0: ScalarLike | None = None
    ) -> tuple[Array, Array]:
        """$(\\nu, s) = (0, t_0)$ (or $(0, \\Lambda_0)$ without closed-form dose)."""
        nu0 = jnp.zeros(self.problem.n, dtype=self.z0.dtype)
        return nu0, _dose_state(self.schedule, self.z0, t0, dose0)


class RegularizedFlowPaths(eqx.Module):
    """The computation paths of one regularized problem, each `(flow, y0)`.

    Built by `regularized_flow_paths`. `reduced` is `None` unless the loss is linear
    in x and the family separable.
    """

    parameter: tuple[RegularizedGradientFlow, PyTree]
    dual: tuple[TimeDependentMirrorFlow, PyTree]
    reduced: tuple[TimeDependentReducedFlow, PyTree] | None
    potential: AbstractTimeDependentPotential
    z0: Vector


def regularized_flow_paths(
    problem, reparam: AbstractReparam, params0: PyTree, schedule: AbstractSchedule
) -> RegularizedFlowPaths:
    r"""Parameter, dual and reduced flows that give one $x(t)$ under weight decay.

    Gradient flow on $f(g(p)) + \lambda_t h(p)$ from `params0`, and the
    time-dependent mirror flow of `weight_decay_potential(reparam, params0)` in dual
    and (for linear losses) reduced coordinates, all on the same clock.
    """
    family, z0 = weight_decay_potential(reparam, params0)
    dual = TimeDependentMirrorFlow(problem, family, schedule)
    reduced = None
    if getattr(problem, "is_linear", False) and isinstance(
        family, AbstractSeparableTimeDependentPotential
    ):
        flow = TimeDependentReducedFlow(problem, family, schedule, z0)
        reduced = (flow, flow.initial_state())
    return RegularizedFlowPaths(
        parameter=(RegularizedGradientFlow(problem, reparam, schedule), params0),
        dual=(dual, dual.initial_state(z0)),
        reduced=reduced,
        potential=family,
        z0=z0,
    )


def _default_ts(t0, t1):
    from ..solvers._integrate import default_save_times

    return default_save_times(t0, t1)


def integrate_piecewise(
    flow: AbstractFlow,
    y0: PyTree,
    t0: float,
    t1: float,
    *,
    ts=None,
    solver=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    breakpoints: tuple[float, ...] | None = None,
    **kwargs,
):
    r"""`integrate` that restarts the solver at the schedule's jumps.

    A weight-decay schedule with jumps (switch-off, steps) makes the right-hand side
    discontinuous. With a diffrax solver this passes the jump times to the step-size
    controller (`diffrax.ClipStepSizeController(jump_ts=...)`), so one compiled solve
    steps exactly onto each jump and restarts there. With `ScipyReference` it
    integrates segment by segment, restarting from the state **at the segment end**
    (restarting from the last save time instead silently breaks the conservation
    laws; `solve_ivp` has no jump option). A terminating
    `stop_loss` event ends the whole run. Other arguments as in `integrate`.

    Args:
        flow: a flow with a `schedule` (or pass `breakpoints`).
        y0, t0, t1, ts, solver, rtol, atol: as in `integrate`.
        breakpoints: jump times (default: `flow.schedule.breakpoints`).
        **kwargs: passed to `integrate` (`stop_loss`, `max_steps`, `throw`, ...).

    Returns:
        A `Solution` over the whole span.
    """
    from ..solvers import BDF, ScipyReference, Solution, integrate

    t0, t1 = float(t0), float(t1)
    if breakpoints is None:
        schedule = getattr(flow, "schedule", None)
        breakpoints = () if schedule is None else schedule.breakpoints
    breaks = sorted(b for b in breakpoints if t0 < b < t1 and math.isfinite(b))
    if ts is None:
        ts = _default_ts(t0, t1)
    if not isinstance(solver, ScipyReference | BDF):
        if "stepsize_controller" in kwargs or not breaks:
            return integrate(
                flow, y0, t0, t1, ts=ts, solver=solver, rtol=rtol, atol=atol, **kwargs
            )
        if solver is None:
            solver = dfx.Kvaerno5()
        implicit = isinstance(solver, dfx.AbstractImplicitSolver)
        pid = dfx.PIDController(
            rtol=rtol,
            atol=atol,
            pcoeff=0.3 if implicit else 0.0,
            icoeff=0.3 if implicit else 1.0,
        )
        dtype = jnp.result_type(*jax.tree.leaves(y0))
        controller = dfx.ClipStepSizeController(
            pid, jump_ts=jnp.asarray(breaks, dtype=dtype)
        )
        return integrate(
            flow,
            y0,
            t0,
            t1,
            ts=ts,
            solver=solver,
            stepsize_controller=controller,
            **kwargs,
        )
    ts_np = np.asarray(ts, dtype=float)
    edges = [t0, *breaks, t1]
    pieces, y, stats, sol = [], y0, {}, None
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (ts_np > a) & (ts_np <= b) if k else (ts_np >= a) & (ts_np <= b)
        seg = ts_np[inside]
        extra = seg.size == 0 or seg[-1] < b
        seg_ts = np.append(seg, b) if extra else seg
        sol = integrate(flow, y, a, b, ts=jnp.asarray(seg_ts), solver=solver, **kwargs)
        keep = np.isin(np.asarray(sol.ts), seg)
        pieces.append((sol.ts[keep], jax.tree.map(lambda v, m=keep: v[m], sol.ys)))
        for key, val in sol.stats.items():
            if isinstance(val, int):
                stats[key] = stats.get(key, 0) + val
        y = sol.y_final
        if sol.result == "event":
            break
    stats.update(solver=sol.stats["solver"], segments=len(pieces))
    ts_out = jnp.concatenate([p[0] for p in pieces])
    ys = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *[p[1] for p in pieces])
    return Solution(
        ts=ts_out,
        ys=ys,
        xs=jax.vmap(flow.to_primal)(ys),
        t_final=sol.t_final,
        y_final=sol.y_final,
        x_final=sol.x_final,
        loss_final=sol.loss_final,
        result=sol.result,
        stats=stats,
    )
