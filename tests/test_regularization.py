"""Weight-decay schedules: strength, dose, total dose, the PILoT rule, bad input."""

import math

import jax
import jax.numpy as jnp
import pytest
import scipy.integrate

from mirrorflow.regularization import (
    CallableSchedule,
    ConstantDecay,
    CosineDecay,
    ExponentialDecay,
    LinearDecay,
    PiecewiseConstant,
    PilotRule,
    SwitchOff,
    dose_from_mirror2,
    pilot_schedule,
    strength_from_mirror2,
)


def _smooth(t):
    return 0.3 * (1.0 + jnp.sin(t))


SCHEDULES = [
    ("constant", ConstantDecay(0.3)),
    ("switch_off", SwitchOff(0.4, 2.5)),
    ("steps", PiecewiseConstant([0.5, 0.1, 0.2, 0.0], [1.0, 2.0, 4.0])),
    ("exponential", ExponentialDecay(0.7, 1.5)),
    ("exponential_hold", ExponentialDecay(0.7, 1.5, hold=2.0)),
    ("pilot", pilot_schedule(0.2, 1.0, 1.1)),
    ("linear", LinearDecay(0.6, 3.0)),
    ("cosine", CosineDecay(0.6, 3.0)),
]


@pytest.mark.parametrize("name,schedule", SCHEDULES)
def test_dose_is_the_integral_of_the_strength(name, schedule):
    # Oracle: scipy.integrate.quad of the strength, split at the breakpoints (quad
    # tolerance 1e-13; the closed forms agree to round-off) -> 1e-11.
    import mirrorflow as mf

    assert isinstance(schedule, mf.AbstractSchedule)
    points = [b for b in schedule.breakpoints if 0 < b < 6.0]
    for t in (0.0, 0.4, 1.0, 2.5, 3.7, 6.0):
        ref, _ = scipy.integrate.quad(
            lambda s: float(schedule.strength(s)),
            0.0,
            t,
            points=[p for p in points if p < t] or None,
            epsabs=1e-14,
            epsrel=1e-13,
            limit=200,
        )
        assert abs(float(schedule.dose(t)) - ref) <= 1e-11, (name, t)


@pytest.mark.parametrize("name,schedule", SCHEDULES)
def test_total_dose_is_the_limit_of_the_dose(name, schedule):
    # Oracle: the dose at a time where the remaining strength is below 1e-300
    # (exponential tails) or past the last breakpoint; inf for constant decay.
    total = schedule.total_dose
    if name == "constant":
        assert total == math.inf and schedule.final_strength == 0.3
        return
    late = float(schedule.dose(1e4))
    assert abs(total - late) <= 1e-12 * max(1.0, total), name
    assert float(schedule.strength(1e4)) <= 1e-300 or schedule.final_strength == 0


def test_closed_forms_of_the_total_dose():
    # Oracle: the formulas lambda*T, lambda*(hold + tau), lambda*T/2 (exact).
    assert SwitchOff(0.4, 2.5).total_dose == pytest.approx(1.0, rel=1e-15)
    assert ExponentialDecay(0.7, 1.5, 2.0).total_dose == pytest.approx(2.45, rel=1e-15)
    assert LinearDecay(0.6, 3.0).total_dose == pytest.approx(0.9, rel=1e-15)
    assert CosineDecay(0.6, 3.0).total_dose == pytest.approx(0.9, rel=1e-15)
    pilot = pilot_schedule(0.2, 1.0, 1.1)
    assert pilot.total_dose == pytest.approx(0.2 * (1 + 1 / math.log(1.1)), 1e-14)
    steps = PiecewiseConstant([0.5, 0.1, 0.2, 0.0], [1.0, 2.0, 4.0])
    assert steps.total_dose == pytest.approx(0.5 + 0.1 + 0.4, rel=1e-15)
    assert PiecewiseConstant([0.5, 0.1], [1.0]).total_dose == math.inf


def test_breakpoints_and_jumps():
    # Oracle: the definitions (left-closed pieces).
    s = SwitchOff(0.4, 2.5)
    assert s.breakpoints == (2.5,)
    assert float(s.strength(2.5 - 1e-12)) == 0.4 and float(s.strength(2.5)) == 0.0
    steps = PiecewiseConstant([0.5, 0.1, 0.2], [1.0, 2.0])
    assert [float(steps.strength(t)) for t in (0.0, 1.0, 1.5, 2.0, 9.0)] == [
        0.5,
        0.1,
        0.1,
        0.2,
        0.2,
    ]
    assert ExponentialDecay(1.0, 2.0).breakpoints == ()


def test_schedules_are_values_that_reuse_a_compiled_function():
    # Oracle: a trace counter; parameters are arrays, so new values do not retrace.
    traces = []

    @jax.jit
    def dose(schedule, t):
        traces.append(1)
        return schedule.dose(t)

    for lam, T in ((0.1, 1.0), (0.3, 2.0), (0.0, 5.0)):
        assert float(dose(SwitchOff(lam, T), 10.0)) == pytest.approx(lam * T, 1e-15)
    assert len(traces) == 1


def test_callable_schedule_has_no_closed_form_dose():
    s = CallableSchedule(_smooth, total_dose=None, breakpoints=(1.0,))
    assert not s.closed_form_dose and s.breakpoints == (1.0,)
    assert float(s.strength(0.0)) == pytest.approx(0.3, rel=1e-15)
    with pytest.raises(ValueError, match="no closed-form dose"):
        s.dose(1.0)
    with pytest.raises(ValueError, match="total dose is unknown"):
        _ = s.total_dose
    assert CallableSchedule(_smooth, total_dose=2.0).total_dose == 2.0


@pytest.mark.parametrize(
    "build,match",
    [
        (
            lambda: ConstantDecay(-0.1),
            "ConstantDecay: `strength` must be a finite float >= 0",
        ),
        (lambda: ConstantDecay(float("nan")), "`strength`"),
        (lambda: SwitchOff(float("inf"), 1.0), "`strength`"),
        (
            lambda: SwitchOff(0.1, -1.0),
            "SwitchOff: `switch_time` must be a finite float >= 0",
        ),
        (lambda: SwitchOff(0.1, float("nan")), "`switch_time`"),
        (
            lambda: ExponentialDecay(0.1, 0.0),
            "ExponentialDecay: `time_scale` must be a finite float > 0",
        ),
        (lambda: ExponentialDecay(0.1, 1.0, hold=-2.0), "`hold`"),
        (lambda: LinearDecay(0.1, -1.0), "`duration`"),
        (lambda: CosineDecay(-0.1, 1.0), "`strength`"),
        (lambda: PiecewiseConstant([0.1, -0.2], [1.0]), "`strengths`"),
        (lambda: PiecewiseConstant([0.1, 0.2], [-1.0]), "`boundaries`"),
        (lambda: PiecewiseConstant([0.1, 0.2, 0.3], [2.0, 1.0]), "`boundaries`"),
        (lambda: PiecewiseConstant([0.1, 0.2], [1.0, 2.0]), "`boundaries`"),
        (lambda: pilot_schedule(0.1, 1.0, 1.0), "`factor` must be > 1"),
        (lambda: PilotRule(0.1, 0.5, 1.0, 10), "`factor` must be > 1"),
        (lambda: PilotRule(-0.1, 2.0, 1.0, 10), "`initial_strength`"),
        (lambda: PilotRule(0.1, 2.0, 1.0, 0), "`num_epochs`"),
        (lambda: CallableSchedule(lambda t: -1.0 + 0.0 * t), "`fn\\(0\\)`"),
    ],
)
def test_bad_schedules_raise_value_error_naming_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_pilot_rule_truth_table():
    # Oracle: Algorithm 1 as the spec reads it (docs/theory/core.md), in Python.
    rule = PilotRule(0.1, 2.0, 1.0, 10)

    def reference(lam, epoch, acc, prev, l1):
        grow = acc >= prev and l1 > 1.0 and epoch < 10 / 2
        return lam * 2.0 if grow else lam / 2.0

    for epoch in (1, 4, 5, 9):
        for acc, prev in ((0.5, 0.4), (0.4, 0.4), (0.3, 0.4)):
            for l1 in (0.5, 1.0, 2.0):
                got = rule.next_strength(
                    jnp.asarray(0.1), jnp.asarray(epoch), acc, prev, l1
                )
                assert float(got) == reference(0.1, epoch, acc, prev, l1)


def test_mirror2_conversion_preserves_the_dose():
    # Oracle (docs/theory/mirror_mirror.md): alpha on [0, T) in the mean-loss clock
    # has dose
    # a = -alpha T; our SwitchOff(n alpha/2, T/n) has Lambda = alpha T/2 = -a/2
    # (exact up to one rounding).
    for alpha, T, n in ((0.5, 2.0, 10), (0.1, 10.0, 20), (1.0, 4.0, 1)):
        s = SwitchOff(strength_from_mirror2(alpha, n=n), T / n)
        assert s.total_dose == pytest.approx(dose_from_mirror2(-alpha * T), rel=1e-15)
        k2 = SwitchOff(strength_from_mirror2(alpha, n=n, half_penalty=False), T / n)
        assert k2.total_dose == pytest.approx(
            dose_from_mirror2(-alpha * T, half_penalty=False), rel=1e-15
        )
    with pytest.raises(ValueError, match="`a`"):
        dose_from_mirror2(0.5)
    with pytest.raises(ValueError, match="`n`"):
        strength_from_mirror2(0.5, n=0)
