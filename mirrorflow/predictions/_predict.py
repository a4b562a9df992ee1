r"""`predict`: the theory's limit of a flow, as one `Prediction`."""

import math

import jax.numpy as jnp

from .. import _validate
from ..potentials import AbstractPotentialFamily
from ..problems import require_linear
from ..references import lasso
from ..references._prediction import Prediction
from ..regularization import AbstractSchedule
from ._bregman import dual_start, project


_MAX_ITER = 200  # Newton steps per continuation stage
_TIME_DEPENDENT = (
    "time-dependent mirror flow limit argmin_{Ax=b} R_{Lambda_inf}(x) - <z0, x> "
    "(Mask in the Mirror, Thm 3.3; Mirror, Mirror of the Flow, Thm 3.2)"
)
_LASSO = (
    "limit of constant weight decay: lasso argmin f + mu ||x||_1, mu = l1_weight * "
    "lambda (derived; outside the papers' theorems)"
)


def predict(
    problem,
    potential: AbstractPotentialFamily,
    *,
    x0=None,
    z0=None,
    schedule: AbstractSchedule | None = None,
    total_dose: float | None = None,
    tol: float = 1e-12,
) -> Prediction:
    r"""The implicit bias: where the mirror flow of `potential` on `problem` converges.

    For a loss $f = L(Ax)$ (`problem.A`, `problem.b`, loss scale `problem.scale`)
    and the (time-dependent) mirror flow
    $\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t)$ started at $x_0$, i.e.
    at the dual point $z_0 = \nabla R_0(x_0)$:

    - **No schedule** (a fixed potential, or a family at dose 0), $n < d$: every flow
      that reaches an interpolant converges to the Bregman projection
      $\arg\min_{Ax=b} D_R(x, x_0) = \arg\min_{Ax=b} R(x) - \langle z_0, x\rangle$
      (Gunasekar et al. 2018, Thm 1). Gradient flow on a reparameterization is
      covered by `reparam.induced_potential(params0)` and $x_0 = g(\text{params}_0)$.
    - **Finite total dose** $\Lambda_\infty$ (a schedule that switches off or
      decays, or `total_dose`), $n < d$: if $x_t$ converges to an interpolant,
      $x_\infty = \arg\min_{Ax=b} R_{\Lambda_\infty}(x) - \langle z_0, x\rangle$,
      with `potential.at(dose)` (Mask in the Mirror, Thm 3.3; Mirror, Mirror,
      Thm 3.2); it depends on the schedule only through $\Lambda_\infty$.
    - **Infinite dose**, the schedule settling to a constant $\lambda > 0$: the flow
      does not interpolate; for the hypentropy families it converges to the lasso
      $\arg\min_x f(x) + \mu\|x\|_1$ with $\mu$ = `potential.l1_weight`
      $\cdot\lambda$ ($\mu = 2\lambda$ for $m\odot w$; our derivation, outside the
      papers' theorems), solved by the referee `mirrorflow.references.lasso`
      (independent of $x_0$).

    The projections are computed by damped Newton on the $n$-dimensional dual, one
    compiled loop shared by every potential, with continuation along
    `potential.continuation()` for small scales.

    Args:
        problem: a loss linear in x (a `LinearRegression`).
        potential: the flow's Legendre function, or a family $R_\Lambda$.
        x0: the flow's initial weights, or
        z0: its initial dual point $\nabla R_0(x_0)$ (exactly one of the two, except
            for the lasso case, which needs neither).
        schedule: the weight decay $\lambda_t$ (default: none).
        total_dose: override $\Lambda_\infty$ (e.g. the discrete dose
            $\eta\sum_k\lambda_k$ of a GD run).
        tol: the certificate's tolerance: $\|Ax - b\|_2 \le$ `tol`$\max(1, \|b\|_2)$
            for a projection, KKT violation $\le$ `tol` for the lasso.

    Returns:
        A `Prediction`: `x`, the `theorem` applied, its `certificate` (constraint
        residual, or KKT violation for the lasso), Newton `iterations` (or
        coordinate-descent sweeps) and the multiplier `nu` (projections only).

    Raises:
        TypeError: a `problem` whose loss is not linear, or a `potential` or
            `schedule` of the wrong type.
        ValueError: a projection with $n \ge d$, bad or missing `x0`/`z0`, a bad
            `tol` or `total_dose`, a float32 problem with a `tol` float32 cannot
            certify (the message says to turn on float64), no convergence, or
            an infinite dose with no known lasso limit.
    """
    problem = require_linear(problem, "predict")
    _validate.instance(
        potential,
        AbstractPotentialFamily,
        "predict",
        "potential",
        "a potential or potential family (e.g. Hypentropy(alpha))",
    )
    if schedule is not None:
        _validate.instance(
            schedule, AbstractSchedule, "predict", "schedule", "a schedule or None"
        )
    tol = _validate.scalar(tol, "predict", "tol", low=0.0, high=1.0, example="1e-12")
    dtype = jnp.result_type(problem.A)
    if jnp.finfo(dtype).bits < 64 and tol < 1e3 * float(jnp.finfo(dtype).eps):
        raise ValueError(
            f"predict: the problem is {dtype}, which cannot certify `tol`={tol:g}; "
            "turn on float64 (jax.config.update('jax_enable_x64', True) before "
            "building the problem) or pass tol >= 1e-4."
        )
    if total_dose is not None:
        dose = _validate.scalar(
            total_dose, "predict", "total_dose", low=0.0, strict=False, allow_inf=True
        )
    elif schedule is not None:
        dose = schedule.total_dose
    else:
        dose = 0.0
    if math.isfinite(dose):
        problem.check_underdetermined("predict")
        if not hasattr(potential, "at"):
            raise TypeError(
                f"predict: `potential` {type(potential).__name__} is not a separable "
                "family (no `at(dose)`); the projection needs R at a fixed dose."
            )
        z0 = dual_start(potential.at(0.0), x0, z0, problem.d, "predict")
        pred = project(
            potential.at(dose), z0, problem.A, problem.b, tol, _MAX_ITER, "predict"
        )
        if schedule is None and total_dose is None:
            return pred
        return Prediction(
            x=pred.x,
            theorem=_TIME_DEPENDENT,
            certificate=pred.certificate,
            certificate_name=pred.certificate_name,
            iterations=pred.iterations,
            nu=pred.nu,
        )
    lam = math.nan if schedule is None else schedule.final_strength
    weight = potential.l1_weight
    if not (lam > 0 and math.isfinite(lam) and math.isfinite(weight)):
        raise ValueError(
            "predict: the total dose (`schedule` / `total_dose`) is infinite and no "
            f"lasso limit is known (final strength {lam!r}, l1_weight {weight!r}); "
            "use a schedule that switches off or decays, or a hypentropy family."
        )
    sol = lasso(problem.A, problem.b, weight * lam, scale=problem.scale, kkt_tol=tol)
    return Prediction(
        x=sol.x,
        theorem=_LASSO,
        certificate=sol.certificate,
        certificate_name=sol.certificate_name,
        iterations=sol.iterations,
    )
