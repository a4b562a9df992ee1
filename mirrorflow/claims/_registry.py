"""The registry of checkable claims and the machinery that runs them."""

import contextlib
import dataclasses
import functools
import math
import time
import traceback
from collections.abc import Callable, Iterable, Iterator

from ..solvers import _audit


#: Label of the check `run_claim` adds to every claim that integrates a flow.
AUDIT_LABEL = "integrations end at convergence and within budget"


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
    """A claim after running.

    Attributes:
        claim: the claim.
        checks: its checks; if it integrated a flow, the last one is the
            integration audit (`AUDIT_LABEL`).
        wall_time: seconds.
        exception: the traceback if the claim raised, else None.
        error_line: one line naming the check that was running and the exception.
        integrations: a record of every `integrate` call the claim made.
    """

    claim: Claim
    checks: tuple[Check, ...]
    wall_time: float
    exception: str | None = None
    error_line: str | None = None
    integrations: tuple = ()

    @property
    def checks_passed(self) -> bool:
        """Whether every check except the integration audit passed."""
        return (
            self.exception is None
            and bool(self.checks)
            and all(c.passed for c in self.checks if c.label != AUDIT_LABEL)
        )

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
            "error_line": self.error_line,
            "integrations": [dataclasses.asdict(r) for r in self.integrations],
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


def cache_per_tolerance(fn):
    """`functools.cache` for a claim's solves, keyed also on the tolerance scale.

    Claims share expensive solves (a path, a limit) through a cache; the key
    includes `scale_tolerances`'s current factor, so the robustness sweep never
    reuses a solve made at other tolerances.
    """
    cached = functools.cache(lambda scale, args, kwargs: fn(*args, **dict(kwargs)))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return cached(_audit.tolerance_scale(), args, tuple(sorted(kwargs.items())))

    return wrapper


@contextlib.contextmanager
def running(label: str) -> Iterator[None]:
    """Name the check a claim is computing, for its error line and audit.

    An exception raised inside the block is reported by `run_claim` as raised
    while computing `label` (the innermost block wins); `integrate` calls inside
    it are tagged with `label` in the claim's integration records.
    """
    try:
        with _audit.integration_label(label):
            yield
    except Exception as exc:
        if getattr(exc, "_mirrorflow_check", None) is None:
            exc._mirrorflow_check = label
        raise


def audit_check(records) -> Check | None:
    """The integration audit of one claim's `integrate` calls (None if none).

    Fails if a solve that ran to its horizon got there more than
    `HORIZON_FACTOR` x later than its loss reached `LOSS_FLOOR`, or if a solve
    used more than `STEP_FRACTION` of its `max_steps` (see
    `mirrorflow.solvers._audit`).
    """
    if not records:
        return None
    ratio, text = max(
        (
            (r, f"{rec.label}: {t}" if rec.label and t != "ok" else t)
            for rec in records
            for r, t in [_audit.audit_integration(rec)]
        ),
        key=lambda x: x[0],
    )
    steps = [rec.num_steps for rec in records if rec.num_steps is not None]
    return Check(
        AUDIT_LABEL,
        f"horizon <= {_audit.HORIZON_FACTOR:g} x t(loss <= {_audit.LOSS_FLOOR:g}), "
        f"steps <= {_audit.STEP_FRACTION:g} max_steps",
        f"{len(records)} solves, max {max(steps) if steps else '-'} steps"
        + ("" if text == "ok" else f"; worst: {text}"),
        ratio,
        1.0,
    )


def run_claim(claim: Claim) -> ClaimResult:
    """Run one claim; an exception becomes a failed result with its traceback.

    Every `integrate` call inside the claim is recorded and audited: the claim
    gets one more check (`AUDIT_LABEL`) that fails if a flow was integrated far
    past its convergence or used more than a quarter of its step budget.
    """
    start = time.perf_counter()
    error_line = None
    with _audit.record_integrations() as records:
        try:
            checks = tuple(claim.compute())
            exc = None
            if not checks:
                exc = "the claim produced no checks"
                error_line = f"{claim.id}: {exc}"
        except Exception as err:  # noqa: BLE001 -- reported as a failing row
            checks, exc = (), traceback.format_exc(limit=5)
            where = getattr(err, "_mirrorflow_check", None)
            message = " ".join(str(err).split())
            error_line = (
                f"{claim.id} [check: {where or 'outside any named check'}] "
                f"{type(err).__name__}: {message}"
            )
    if exc is None:
        audit = audit_check(records)
        if audit is not None:
            checks = (*checks, audit)
    return ClaimResult(
        claim,
        checks,
        time.perf_counter() - start,
        exc,
        error_line,
        tuple(records),
    )
