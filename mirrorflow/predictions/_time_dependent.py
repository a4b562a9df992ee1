r"""Limits of flows with weight decay: projection at the total dose, or lasso."""

import math

import jax.numpy as jnp

from ..potentials import AbstractTimeDependentPotential
from ..regularization import AbstractSchedule
from ._bregman import Projection
from ._lasso import LassoSolution, lasso
from ._predict import predict


def predict_regularized(
    problem,
    potential: AbstractTimeDependentPotential,
    schedule: AbstractSchedule,
    *,
    z0,
    total_dose: float | None = None,
    tol: float = 1e-12,
) -> Projection | LassoSolution:
    r"""Where gradient flow with the weight-decay `schedule` converges.

    For a loss $f = L(Ax)$ with $n < d$ and the time-dependent mirror flow
    $\frac{d}{dt}\nabla R_{\Lambda_t}(x_t) = -\nabla f(x_t)$ started at $z_0$:

    - **Finite total dose** $\Lambda_\infty < \infty$ (switched off, or decaying):
      if $x_t$ converges to an interpolant,
      $x_\infty = \arg\min_{Ax=b} R_{\Lambda_\infty}(x) - \langle z_0, x\rangle$
      (Mask in the Mirror, Thm 3.3; Mirror, Mirror, Thm 3.2). It depends on the schedule
      only through $\Lambda_\infty$ (schedule invariance). Returns a `Projection`.
    - **Constant decay forever** ($\lambda_t \to \lambda > 0$): the flow does not
      interpolate; for the hypentropy families it converges to the lasso
      $\arg\min_x f(x) + \mu\|x\|_1$ with $\mu$ = `potential.l1_weight` $\cdot\lambda$
      ($\mu = 2\lambda$ for $m\odot w$; our derivation, outside the papers' theorems).
      Returns a `LassoSolution` (coordinate descent with a KKT certificate).

    Args:
        problem: a `LinearRegression`.
        potential: the family $R_\Lambda$ (`weight_decay_potential`).
        schedule: $\lambda_t$.
        z0: the flow's initial dual point $\nabla R_0(x_0)$, shape `(d,)`.
        total_dose: override $\Lambda_\infty$ (e.g. the discrete dose
            $\eta\sum_k\lambda_k$ of a GD run).
        tol: relative residual of the projection.

    Raises:
        ValueError: the loss is not linear, the schedule's decay is not summable and
            does not settle to a constant, or no lasso limit is known for the family.
    """
    dose = schedule.total_dose if total_dose is None else float(total_dose)
    if math.isfinite(dose):
        proj = predict(problem, potential.at(dose), z0=jnp.asarray(z0), tol=tol)
        return Projection(
            x=proj.x,
            nu=proj.nu,
            residual=proj.residual,
            iterations=proj.iterations,
            theorem="time-dependent mirror flow limit argmin_{Ax=b} R_{Lambda_inf}(x) "
            "- <z0, x> "
            "(Mask in the Mirror, Thm 3.3; Mirror, Mirror of the Flow, Thm 3.2)",
        )
    lam = schedule.final_strength
    if not (lam > 0 and math.isfinite(potential.l1_weight)):
        raise ValueError(
            "predict_regularized: the total dose is infinite and no lasso limit is "
            f"known (final strength {lam!r}, l1_weight {potential.l1_weight!r}); use a "
            "schedule that switches off or decays, or a hypentropy family."
        )
    if not getattr(problem, "is_linear", False):
        raise ValueError("predict_regularized: pass a LinearRegression.")
    return lasso(problem.A, problem.b, potential.l1_weight * lam, scale=problem.scale)
