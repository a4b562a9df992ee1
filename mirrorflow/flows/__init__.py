"""Vector fields of training dynamics in their natural coordinates."""

from ._base import AbstractFlow as AbstractFlow
from ._flows import (
    FlowPaths as FlowPaths,
    MirrorFlow as MirrorFlow,
    ReducedMirrorFlow as ReducedMirrorFlow,
    ReparamGradientFlow as ReparamGradientFlow,
    RiemannianFlow as RiemannianFlow,
    flow_paths as flow_paths,
)
from ._ham import HamFlow as HamFlow
from ._time_dependent import (
    CommutingQuadratic as CommutingQuadratic,
    RegularizedFlowPaths as RegularizedFlowPaths,
    RegularizedGradientFlow as RegularizedGradientFlow,
    TimeDependentMirrorFlow as TimeDependentMirrorFlow,
    TimeDependentReducedFlow as TimeDependentReducedFlow,
    integrate_piecewise as integrate_piecewise,
    regularized_flow_paths as regularized_flow_paths,
    weight_decay_penalty as weight_decay_penalty,
    weight_decay_potential as weight_decay_potential,
)
