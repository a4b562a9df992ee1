"""ODE solvers for flows: diffrax by default, scipy as an independent referee."""

from ._bdf import BDF as BDF
from ._integrate import (
    ScipyReference as ScipyReference,
    integrate as integrate,
    log_times as log_times,
)
from ._solution import Solution as Solution
