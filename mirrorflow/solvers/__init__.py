"""ODE solvers for flows: diffrax by default, scipy as an independent referee."""

from ._audit import (
    IntegrationRecord as IntegrationRecord,
    audit_integration as audit_integration,
    record_integrations as record_integrations,
    scale_tolerances as scale_tolerances,
)
from ._bdf import BDF as BDF
from ._integrate import (
    ScipyReference as ScipyReference,
    integrate as integrate,
    log_times as log_times,
)
from ._solution import Result as Result, Solution as Solution
