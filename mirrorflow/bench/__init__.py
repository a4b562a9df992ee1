"""The performance suite behind `mirrorflow bench`.

Each benchmark in the top-level `benchmarks/` folder returns `BenchRow`s: our time
against a baseline timed in the same run (a ratio, never an absolute time), plus
the accuracy reached. CI fails on accuracy only; times are reported.
"""

from ._rows import BenchRow as BenchRow, Timing as Timing, time_call as time_call
from ._runner import (
    discover as discover,
    run as run,
    table as table,
    to_json as to_json,
)
