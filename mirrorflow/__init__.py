"""mirrorflow: mirror flows, implicit bias, sparsity and pruning, checked numerically.

The public API, by topic:

- potentials: Legendre functions, fixed (`Hypentropy`, ...) or indexed by a
  weight-decay dose (`TimeDependentHypentropy`, ...), one hierarchy;
- reparameterizations: $x = g(p)$ (`Hadamard`, `DiffOfSquares`, ...), with their
  induced potentials, penalties and decay families;
- problems: `LinearRegression` and the abstract losses;
- schedules: weight decay $\\lambda_t$ and its dose;
- flows: `GradientFlow`, `MirrorFlow`, `ReducedMirrorFlow`, `RiemannianFlow`, each
  with an optional schedule;
- the three verbs: `integrate` (a flow to its limit), `predict` (the theory's
  limit, a `Prediction`) and `optimize` (a discrete optimizer);
- optimizers: optax transformations (`mirror_descent`, `ham`, `pilot`, ...);
- submodules `masks` (pruning masks) and `references` (independent referees:
  lasso, min-L1, min-L2).

The papers' claims live in `mirrorflow.papers` and the `mirrorflow` command in
`mirrorflow.app`; importing mirrorflow loads neither. Importing mirrorflow never
changes JAX's configuration: turn on float64 yourself
(`jax.config.update("jax_enable_x64", True)`) as the `mirrorflow` command does.
"""

from . import masks as masks, references as references
from .flows import (
    AbstractFlow as AbstractFlow,
    GradientFlow as GradientFlow,
    MirrorFlow as MirrorFlow,
    ReducedMirrorFlow as ReducedMirrorFlow,
    RiemannianFlow as RiemannianFlow,
    flow_paths as flow_paths,
)
from .optimizers import (
    OptimizeResult as OptimizeResult,
    hadamard_reparam as hadamard_reparam,
    ham as ham,
    mirror_descent as mirror_descent,
    optimize as optimize,
    pilot as pilot,
    scheduled_weight_decay as scheduled_weight_decay,
)
from .potentials import (
    AbstractPotential as AbstractPotential,
    AbstractPotentialFamily as AbstractPotentialFamily,
    CommutingQuadraticPotential as CommutingQuadraticPotential,
    DeepDiagonalPotential as DeepDiagonalPotential,
    HamPotential as HamPotential,
    Hypentropy as Hypentropy,
    NegEntropy as NegEntropy,
    SquaredNorm as SquaredNorm,
    TimeDependentDeepDiagonal as TimeDependentDeepDiagonal,
    TimeDependentHypentropy as TimeDependentHypentropy,
)
from .predictions import Prediction as Prediction, predict as predict
from .problems import (
    AbstractLinearProblem as AbstractLinearProblem,
    AbstractProblem as AbstractProblem,
    LinearRegression as LinearRegression,
    random_regression as random_regression,
)
from .regularization import (
    AbstractSchedule as AbstractSchedule,
    CallableSchedule as CallableSchedule,
    ConstantDecay as ConstantDecay,
    CosineDecay as CosineDecay,
    ExponentialDecay as ExponentialDecay,
    LinearDecay as LinearDecay,
    PiecewiseConstant as PiecewiseConstant,
    SwitchOff as SwitchOff,
)
from .reparam import (
    AbstractReparam as AbstractReparam,
    CommutingQuadratic as CommutingQuadratic,
    DeepDiagonal as DeepDiagonal,
    DiffOfSquares as DiffOfSquares,
    Hadamard as Hadamard,
    Square as Square,
)
from .solvers import (
    BDF as BDF,
    Result as Result,
    ScipyReference as ScipyReference,
    Solution as Solution,
    integrate as integrate,
    log_times as log_times,
)


__version__ = "0.1.0"

# Grouped by topic, sorted within each group.
__all__ = [
    # potentials
    "AbstractPotential",
    "AbstractPotentialFamily",
    "CommutingQuadraticPotential",
    "DeepDiagonalPotential",
    "HamPotential",
    "Hypentropy",
    "NegEntropy",
    "SquaredNorm",
    "TimeDependentDeepDiagonal",
    "TimeDependentHypentropy",
    # reparameterizations
    "AbstractReparam",
    "CommutingQuadratic",
    "DeepDiagonal",
    "DiffOfSquares",
    "Hadamard",
    "Square",
    # problems
    "AbstractLinearProblem",
    "AbstractProblem",
    "LinearRegression",
    "random_regression",
    # weight-decay schedules
    "AbstractSchedule",
    "CallableSchedule",
    "ConstantDecay",
    "CosineDecay",
    "ExponentialDecay",
    "LinearDecay",
    "PiecewiseConstant",
    "SwitchOff",
    # flows
    "AbstractFlow",
    "GradientFlow",
    "MirrorFlow",
    "ReducedMirrorFlow",
    "RiemannianFlow",
    "flow_paths",
    # integrate
    "BDF",
    "Result",
    "ScipyReference",
    "Solution",
    "integrate",
    "log_times",
    # predict
    "Prediction",
    "predict",
    # optimize
    "OptimizeResult",
    "hadamard_reparam",
    "ham",
    "mirror_descent",
    "optimize",
    "pilot",
    "scheduled_weight_decay",
    # submodules
    "masks",
    "references",
]
