"""Checkable claims of the papers, and the verification report."""

from . import _core as _core  # noqa: F401 -- registers the core claims
from ._registry import (
    REGISTRY as REGISTRY,
    Check as Check,
    Claim as Claim,
    ClaimResult as ClaimResult,
    claim as claim,
    register as register,
    run_claim as run_claim,
    select as select,
    unregister as unregister,
)
