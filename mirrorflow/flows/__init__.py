"""Vector fields of training dynamics in their natural coordinates.

Four flows, each with an optional weight-decay schedule: `GradientFlow` (the
parameters), `MirrorFlow` (dual coordinates), `ReducedMirrorFlow` (multipliers of
a linear loss) and `RiemannianFlow` (primal coordinates, with a drift).
"""

from ._base import (
    AbstractFlow as AbstractFlow,
    AbstractScheduledFlow as AbstractScheduledFlow,
)
from ._gradient import GradientFlow as GradientFlow
from ._mirror import MirrorFlow as MirrorFlow, ReducedMirrorFlow as ReducedMirrorFlow
from ._paths import FlowPaths as FlowPaths, flow_paths as flow_paths
from ._riemannian import RiemannianFlow as RiemannianFlow
