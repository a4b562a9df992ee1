"""Pruning-at-initialization masks: random (uniform, ERK), magnitude, SNIP, GraSP,
SynFlow, one entry point `prune(method, ...)`, and the helpers `apply_mask` and
`density`.

Used by Sign-In, HAM's sparse runs and the graphon analysis of pruning masks. Each mask
function is pure and returns a pytree of boolean arrays shaped like the parameters;
by default only leaves with `ndim >= 2` are pruned (biases stay dense).
"""

from ._masks import (
    PRUNING_METHODS as PRUNING_METHODS,
    Density as Density,
    apply_mask as apply_mask,
    density as density,
    erk_densities as erk_densities,
    grasp_hessian_gradient as grasp_hessian_gradient,
    grasp_mask as grasp_mask,
    grasp_scores as grasp_scores,
    magnitude_mask as magnitude_mask,
    prune as prune,
    random_mask as random_mask,
    snip_mask as snip_mask,
    snip_scores as snip_scores,
    synflow_mask as synflow_mask,
    synflow_scores as synflow_scores,
)


__all__ = [
    "Density",
    "apply_mask",
    "density",
    "erk_densities",
    "grasp_hessian_gradient",
    "grasp_mask",
    "grasp_scores",
    "PRUNING_METHODS",
    "magnitude_mask",
    "prune",
    "random_mask",
    "snip_mask",
    "snip_scores",
    "synflow_mask",
    "synflow_scores",
]
