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
