"""Discrete optimizers (optax transformations) and the `optimize` loop."""

from ._hyperbolic import (
    HamScheduleState as HamScheduleState,
    ham as ham,
    hyperbolic_step as hyperbolic_step,
)
from ._mirror_descent import (
    MirrorDescentState as MirrorDescentState,
    mirror_descent as mirror_descent,
)
from ._nanoadam import (
    AdamLeafState as AdamLeafState,
    NanoAdamLeafState as NanoAdamLeafState,
    NanoAdamState as NanoAdamState,
    gradient_weight_ratio as gradient_weight_ratio,
    gradient_weight_ratio_tree as gradient_weight_ratio_tree,
    nanoadam as nanoadam,
    nanoadam_density as nanoadam_density,
    nanoadam_mask as nanoadam_mask,
    nanoadam_state_bytes as nanoadam_state_bytes,
)
from ._optimize import OptimizeResult as OptimizeResult, optimize as optimize
from ._pilot import (
    HadamardReparamState as HadamardReparamState,
    hadamard_reparam as hadamard_reparam,
    pilot as pilot,
    pilot_init as pilot_init,
)
from ._sign_in import sign_flips as sign_flips, sign_in as sign_in
from ._weight_decay import (
    MaskWeight as MaskWeight,
    PilotWeightDecayState as PilotWeightDecayState,
    ScheduledWeightDecayState as ScheduledWeightDecayState,
    factors_mask as factors_mask,
    pilot_weight_decay as pilot_weight_decay,
    scheduled_weight_decay as scheduled_weight_decay,
)
