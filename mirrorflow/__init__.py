"""mirrorflow: mirror flows, implicit bias, sparsity and pruning, checked numerically.

The public API is flat: potentials (`Hypentropy`, ...), reparameterizations
(`DiffOfSquares`, ...), problems (`LinearRegression`), flows (`MirrorFlow`, ...),
the verbs `integrate`, `predict` and `optimize`, and the claims registry. Importing
mirrorflow never changes JAX's configuration: turn on float64 yourself
(`jax.config.update("jax_enable_x64", True)`) as the `mirrorflow` command does.
"""

from .claims import (
    REGISTRY as REGISTRY,
    Check as Check,
    Claim as Claim,
    ClaimResult as ClaimResult,
    claim as claim,
    register as register,
    run_claim as run_claim,
)
from .flows import (
    AbstractFlow as AbstractFlow,
    FlowPaths as FlowPaths,
    MirrorFlow as MirrorFlow,
    ReducedMirrorFlow as ReducedMirrorFlow,
    ReparamGradientFlow as ReparamGradientFlow,
    RiemannianFlow as RiemannianFlow,
    flow_paths as flow_paths,
)
from .optimizers import OptimizeResult as OptimizeResult, optimize as optimize
from .potentials import (
    AbstractPotential as AbstractPotential,
    DeepDiagonalPotential as DeepDiagonalPotential,
    Hypentropy as Hypentropy,
    NegEntropy as NegEntropy,
    SquaredNorm as SquaredNorm,
)
from .predictions import (
    Projection as Projection,
    bregman_projection as bregman_projection,
    min_l1_interpolant as min_l1_interpolant,
    min_l2_interpolant as min_l2_interpolant,
    predict as predict,
)
from .problems import (
    AbstractProblem as AbstractProblem,
    LinearRegression as LinearRegression,
    random_regression as random_regression,
)
from .reparam import (
    AbstractReparam as AbstractReparam,
    DeepDiagonal as DeepDiagonal,
    DiffOfSquares as DiffOfSquares,
    Hadamard as Hadamard,
    Square as Square,
)
from .solvers import (
    ScipyReference as ScipyReference,
    Solution as Solution,
    integrate as integrate,
    log_times as log_times,
)


__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "AbstractFlow",
    "AbstractPotential",
    "AbstractProblem",
    "AbstractReparam",
    "Check",
    "Claim",
    "ClaimResult",
    "DeepDiagonal",
    "DeepDiagonalPotential",
    "DiffOfSquares",
    "FlowPaths",
    "Hadamard",
    "Hypentropy",
    "LinearRegression",
    "MirrorFlow",
    "NegEntropy",
    "OptimizeResult",
    "Projection",
    "ReducedMirrorFlow",
    "ReparamGradientFlow",
    "RiemannianFlow",
    "ScipyReference",
    "Solution",
    "Square",
    "SquaredNorm",
    "bregman_projection",
    "claim",
    "flow_paths",
    "integrate",
    "log_times",
    "min_l1_interpolant",
    "min_l2_interpolant",
    "optimize",
    "predict",
    "random_regression",
    "register",
    "run_claim",
]
