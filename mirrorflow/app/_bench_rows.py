"""Benchmark rows: timing helpers and the row every benchmark returns."""

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Timing:
    """Wall times of a callable: the first call (compile + run) and warm repeats."""

    first: float
    repeats: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.repeats)

    @property
    def compile(self) -> float:
        """First call minus the warm median: the compile/trace overhead."""
        return max(self.first - self.median, 0.0)


def time_call(fn: Callable[[], Any], *, repeats: int = 5) -> tuple[Timing, Any]:
    """Time `fn()`: one warm-up call, then `repeats` timed calls; returns the output.

    JAX outputs are blocked on (`block_until_ready`) so asynchronous dispatch does
    not hide work.
    """
    import jax

    def once():
        start = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        return time.perf_counter() - start, out

    first, out = once()
    times = []
    for _ in range(max(1, repeats)):
        t, out = once()
        times.append(t)
    return Timing(first, tuple(times)), out


@dataclasses.dataclass(frozen=True)
class BenchRow:
    """One benchmark target: ours against a baseline timed in the same run.

    `ratio` is baseline time / our time (bigger is better); `target_ratio` is what
    the issue asks for (None for rows that only report). `error` is the accuracy
    reached, checked against `tolerance`: CI fails on accuracy only, never on time.
    """

    name: str
    target: str
    baseline: str
    baseline_time: float | None
    ours_time: float
    error: float
    tolerance: float
    target_ratio: float | None = None
    compile_time: float = 0.0
    notes: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_time is None or self.ours_time <= 0:
            return None
        return self.baseline_time / self.ours_time

    @property
    def accurate(self) -> bool:
        return math.isfinite(self.error) and self.error <= self.tolerance

    @property
    def target_met(self) -> bool | None:
        if self.target_ratio is None or self.ratio is None:
            return None
        return self.ratio >= self.target_ratio

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(ratio=self.ratio, accurate=self.accurate, target_met=self.target_met)
        return out
