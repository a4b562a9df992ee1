"""Pruning masks as graphons: bipartite graphs, the SAS estimator, graphon distances,
closed-form limits, the Graphon NTK and empirical NTKs of masked MLPs."""
