"""Weight-decay schedules $\\lambda_t$ and their cumulative dose $\\Lambda_t$."""

from ._schedules import (
    AbstractSchedule as AbstractSchedule,
    CallableSchedule as CallableSchedule,
    ConstantDecay as ConstantDecay,
    CosineDecay as CosineDecay,
    ExponentialDecay as ExponentialDecay,
    LinearDecay as LinearDecay,
    PiecewiseConstant as PiecewiseConstant,
    PilotRule as PilotRule,
    SwitchOff as SwitchOff,
    dose_from_mirror2 as dose_from_mirror2,
    pilot_schedule as pilot_schedule,
    strength_from_mirror2 as strength_from_mirror2,
)
