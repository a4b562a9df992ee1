"""The computation paths of one reparameterized problem, built together."""

import equinox as eqx
import jax

from .. import _validate
from .._types import PyTree, Vector
from ..potentials import AbstractPotentialFamily, AbstractSeparablePotentialFamily
from ..problems import AbstractLinearProblem, AbstractProblem
from ..regularization import AbstractSchedule
from ..reparam import AbstractReparam
from ._gradient import GradientFlow
from ._mirror import MirrorFlow, ReducedMirrorFlow
from ._riemannian import RiemannianFlow


class FlowPaths(eqx.Module):
    """The flows that should give one $x(t)$, each as `(flow, y0)`.

    Built by `flow_paths`. `primal` is `None` under a schedule (the Riemannian form
    needs the family's drift), `reduced` is `None` unless the loss is linear in x
    and the potential separable.

    Attributes:
        parameter: `GradientFlow` on the parameters.
        dual: `MirrorFlow` of `potential`.
        primal: `RiemannianFlow` with the metric of `potential`, or `None`.
        reduced: `ReducedMirrorFlow`, or `None`.
        potential: the induced potential, or the weight-decay family.
        z0: the dual start.
    """

    parameter: tuple[GradientFlow, PyTree]
    dual: tuple[MirrorFlow, PyTree]
    primal: tuple[RiemannianFlow, PyTree] | None
    reduced: tuple[ReducedMirrorFlow, PyTree] | None
    potential: AbstractPotentialFamily
    z0: Vector


def flow_paths(
    problem,
    reparam: AbstractReparam,
    params0: PyTree,
    schedule: AbstractSchedule | None = None,
) -> FlowPaths:
    r"""Gradient flow on `reparam` from `params0` and its mirror-flow paths.

    Without a schedule: the mirror flow of `reparam.induced_potential(params0)` in
    dual, primal (Riemannian) and reduced coordinates (the reparameterization is
    the mirror flow of its induced potential, e.g. Woodworth et al. 2020, Thm 1).
    With a weight-decay `schedule`: the time-dependent mirror flow of
    `reparam.decay_family(params0)` in dual and reduced coordinates (Mask in the
    Mirror, Thm 3.1). All on the same clock.
    """
    call = "flow_paths"
    _validate.instance(
        problem, AbstractProblem, call, "problem", "a problem (e.g. LinearRegression)"
    )
    _validate.instance(
        reparam,
        AbstractReparam,
        call,
        "reparam",
        "a reparameterization (e.g. Hadamard())",
    )
    if schedule is not None:
        _validate.instance(
            schedule, AbstractSchedule, call, "schedule", "a schedule or None"
        )
    for leaf in jax.tree.leaves(params0):
        _validate.real_array(leaf, call, "params0")
    try:
        return _flow_paths(problem, reparam, params0, schedule)
    except (ValueError, TypeError) as err:
        raise type(err)(
            f"{call}: `params0` does not fit {type(reparam).__name__} on this "
            f"problem: {err}"
        ) from None


def _flow_paths(problem, reparam, params0, schedule) -> FlowPaths:
    if schedule is None:
        potential = reparam.induced_potential(params0)
        dual = MirrorFlow(problem, potential)
        z0 = dual.initial_state(reparam.to_x(params0))
        riemann = RiemannianFlow(problem, potential)
        primal = (riemann, riemann.initial_state(reparam.to_x(params0)))
        dual_y0 = z0
    else:
        potential, z0 = reparam.decay_family(params0)
        dual = MirrorFlow(problem, potential, schedule)
        dual_y0 = dual.initial_state(z0=z0)
        primal = None
    reduced = None
    if isinstance(problem, AbstractLinearProblem) and isinstance(
        potential, AbstractSeparablePotentialFamily
    ):
        flow = ReducedMirrorFlow(problem, potential, z0, schedule)
        reduced = (flow, flow.initial_state())
    return FlowPaths(
        parameter=(GradientFlow(problem, reparam, schedule), params0),
        dual=(dual, dual_y0),
        primal=primal,
        reduced=reduced,
        potential=potential,
        z0=z0,
    )
