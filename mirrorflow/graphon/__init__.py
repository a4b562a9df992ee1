"""Pruning masks as graphons: bipartite graphs, the SAS estimator, graphon distances,
closed-form limits, the Graphon NTK and empirical NTKs of masked MLPs.

Estimation (`sas`, `histogram_distance`, `cut_norm`, `cut_distance`): the masks of an
MLP's layers as biadjacency matrices (rows = output units), the degree-sorted
block-averaging estimator and the distances between step graphons. Limits
(`random_sas_rms`, `snip_rank1_graphon`, ...): the closed forms that pruning masks
converge to. Kernels (`MLPGraphon`, `graphon_ntk`, `empirical_ntk`, ...): the Graphon
NTK by quadrature, the dense ReLU NTK (the W = 1 oracle) and the NTK of a finite
masked network. Spectral metrics of the kernels: `mirrorflow.spectral.kernel_spectrum`.

Reference: H. Pham, T. Ta, T. Jacobs, R. Burkholz, L. Tran-Thanh, "The Graphon Limit
Hypothesis: Understanding Neural Network Pruning via Infinite Width Analysis",
NeurIPS 2025. Theory page: docs/theory/graphon_limit.md.
"""

from ._estimate import (
    biadjacency as biadjacency,
    cut_distance as cut_distance,
    cut_norm as cut_norm,
    cut_norm_bounds as cut_norm_bounds,
    degree_order as degree_order,
    histogram_distance as histogram_distance,
    layer_densities as layer_densities,
    mlp_biadjacencies as mlp_biadjacencies,
    sas as sas,
)
from ._limits import (
    block_average as block_average,
    random_sas_bias as random_sas_bias,
    random_sas_rms as random_sas_rms,
    sas_zeta as sas_zeta,
    snip_rank1_graphon as snip_rank1_graphon,
    snip_rank1_threshold as snip_rank1_threshold,
)
from ._ntk import (
    MLPGraphon as MLPGraphon,
    apply as apply,
    dense_relu_ntk as dense_relu_ntk,
    dense_relu_ntk_terms as dense_relu_ntk_terms,
    empirical_ntk as empirical_ntk,
    graphon_ntk as graphon_ntk,
    init_params as init_params,
    jacobian_ntk as jacobian_ntk,
    relu_expectations as relu_expectations,
    sample_masks as sample_masks,
)


__all__ = [
    "MLPGraphon",
    "apply",
    "biadjacency",
    "block_average",
    "cut_distance",
    "cut_norm",
    "cut_norm_bounds",
    "degree_order",
    "dense_relu_ntk",
    "dense_relu_ntk_terms",
    "empirical_ntk",
    "graphon_ntk",
    "histogram_distance",
    "init_params",
    "jacobian_ntk",
    "layer_densities",
    "mlp_biadjacencies",
    "random_sas_bias",
    "random_sas_rms",
    "relu_expectations",
    "sample_masks",
    "sas",
    "sas_zeta",
    "snip_rank1_graphon",
    "snip_rank1_threshold",
]
