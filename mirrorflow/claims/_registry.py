"""The registry of checkable claims and the machinery that runs them."""

import dataclasses
import math
import time
import traceback
from collections.abc import Callable, Iterable


@dataclasses.dataclass(frozen=True)
class Check:
    """One measured comparison inside a claim.

    Passes iff `error <= tolerance` (a NaN error fails). `predicted` and `measured`
    are what the table shows (numbers or short text); `error` is the number the
    tolerance bounds (an absolute or relative error, or a distance of a fitted slope
    from its predicted value).
    """

    label: str
    predicted: float | str
    measured: float | str
    error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return math.isfinite(self.error) and self.error <= self.tolerance

    @property
    def ratio(self) -> float:
        """error / tolerance (inf for a NaN error): how close to failing."""
        if not math.isfinite(self.error):
            return math.inf
        return (
            self.error / self.tolerance
            if self.tolerance > 0
            else (0.0 if self.error == 0 else math.inf)
        )


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checkable statement of a paper with its oracle and tolerance.

    Attributes:
        id: unique id, `<paper>.<name>` (e.g. `core.min_l2`).
        paper: the paper prefix (`core`, `mask`, ...).
        statement: the claim in one sentence.
        reference: the independent oracle (closed form, convex solver, 2nd ODE, ...).
        tolerance_origin: where the tolerance comes from.
        compute: returns the claim's `Check`s; each carries its own tolerance.
        source: the spec section the claim is taken from.
    """

    id: str
    paper: str
    statement: str
    reference: str
    tolerance_origin: str
    compute: Callable[[], list[Check]]
    source: str = ""


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    """A claim after running: its checks, wall time and any exception."""

    claim: Claim
    checks: tuple[Check, ...]
    wall_time: float
    exception: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.exception is None
            and bool(self.checks)
            and all(c.passed for c in self.checks)
        )

    @property
    def worst(self) -> Check | None:
        """The check closest to (or furthest past) its tolerance."""
        return max(self.checks, key=lambda c: c.ratio) if self.checks else None

    def to_dict(self) -> dict:
        c = self.claim
        return {
            "id": c.id,
            "paper": c.paper,
            "statement": c.statement,
            "reference": c.reference,
            "tolerance_origin": c.tolerance_origin,
            "source": c.source,
            "passed": self.passed,
            "wall_time": self.wall_time,
            "exception": self.exception,
            "checks": [
                dataclasses.asdict(k) | {"passed": k.passed} for k in self.checks
            ],
        }


REGISTRY: dict[str, Claim] = {}


def register(claim: Claim, *, replace: bool = False) -> Claim:
    """Add `claim` to the registry (`replace=True` to overwrite an id)."""
    if "." not in claim.id or not claim.id.startswith(claim.paper + "."):
        raise ValueError(
            f"claim id {claim.id!r} must look like '{claim.paper}.<name>' "
            "(the paper prefix, a dot, a name)."
        )
    if claim.id in REGISTRY and not replace:
        raise ValueError(f"claim {claim.id!r} is already registered.")
    REGISTRY[claim.id] = claim
    return claim


def unregister(claim_id: str) -> None:
    """Remove a claim (used by tests that register temporary claims)."""
    REGISTRY.pop(claim_id, None)


def claim(
    id: str,
    *,
    paper: str,
    statement: str,
    reference: str,
    tolerance_origin: str,
    source: str = "",
) -> Callable[[Callable[[], list[Check]]], Callable[[], list[Check]]]:
    """Decorator registering a function that returns a claim's `Check`s."""

    def wrap(fn):
        register(
            Claim(
                id=id,
                paper=paper,
                statement=statement,
                reference=reference,
                tolerance_origin=tolerance_origin,
                compute=fn,
                source=source,
            )
        )
        return fn

    return wrap


def select(
    *, paper: str | None = None, ids: Iterable[str] | None = None
) -> list[Claim]:
    """Claims filtered by paper and/or ids; unknown ids raise `KeyError`."""
    claims = list(REGISTRY.values())
    if ids is not None:
        ids = list(ids)
        unknown = [i for i in ids if i not in REGISTRY]
        if unknown:
            raise KeyError(
                f"unknown claim id(s) {', '.join(unknown)}; known ids: "
                + ", ".join(sorted(REGISTRY))
            )
        claims = [REGISTRY[i] for i in ids]
    if paper is not None:
        claims = [c for c in claims if c.paper == paper]
    return claims


def run_claim(claim: Claim) -> ClaimResult:
    """Run one claim; an exception becomes a failed result with its traceback."""
    start = time.perf_counter()
    try:
        checks = tuple(claim.compute())
        exc = None
        if not checks:
            exc = "the claim produced no checks"
    except Exception:  # noqa: BLE001 -- reported as a failing row, not swallowed
        checks, exc = (), traceback.format_exc(limit=5)
    return ClaimResult(claim, checks, time.perf_counter() - start, exc)
