"""Checkable claims of the papers, and the verification report."""

from . import (
    _core as _core,  # noqa: F401 -- registers the core claims
    _ham as _ham,  # noqa: F401 -- registers the HAM claims
    _mask as _mask,  # noqa: F401 -- registers the mask claims
    _mirror2 as _mirror2,  # noqa: F401 -- registers the mirror2 claims
)
from ._registry import (
    AUDIT_LABEL as AUDIT_LABEL,
    REGISTRY as REGISTRY,
    Check as Check,
    Claim as Claim,
    ClaimResult as ClaimResult,
    audit_check as audit_check,
    claim as claim,
    register as register,
    run_claim as run_claim,
    running as running,
    select as select,
    unregister as unregister,
)
