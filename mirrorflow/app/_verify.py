"""The claims registry and the verify runner (with the integration audit).

The registry is filled lazily from the paper tables (`mirrorflow.papers.*.CLAIMS`)
the first time a command asks for claims; `import mirrorflow` never runs this.
"""

import dataclasses
import importlib
import sys
import time
import traceback
from collections.abc import Iterable

from ..papers._claim import Check, Claim
from ..solvers import _audit


#: Label of the check `run_claim` adds to every claim that integrates a flow.
AUDIT_LABEL = "integrations end at convergence and within budget"

#: The paper modules whose claim tables `mirrorflow verify` runs, in order.
PAPER_MODULES = (
    "mirrorflow.papers.core",
    "mirrorflow.papers.mask",
    "mirrorflow.papers.mirror2",
    "mirrorflow.papers.ham",
    "mirrorflow.papers.signin",
    "mirrorflow.papers.nanoadam",
    "mirrorflow.papers.graphon",
)


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
        compile_time: seconds of the wall time spent tracing, lowering and
            compiling JAX programs (JAX's compile events; the rest is running).
    """

    claim: Claim
    checks: tuple[Check, ...]
    wall_time: float
    exception: str | None = None
    error_line: str | None = None
    integrations: tuple = ()
    compile_time: float = 0.0

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
        """The check closest to (or furthest past) its tolerance; the integration
        audit only when it fails (it is a precondition, not the claim)."""
        shown = [
            c for c in self.checks if c.label != AUDIT_LABEL or not c.passed
        ] or list(self.checks)
        return max(shown, key=lambda c: c.ratio) if shown else None

    def to_dict(self) -> dict:
        c = self.claim
        return {
            "id": c.id,
            "paper": c.paper,
            "statement": c.statement,
            "reference": c.reference,
            "tolerance_origin": c.tolerance_origin,
            "citation": c.citation,
            "docs": c.docs,
            "passed": self.passed,
            "wall_time": self.wall_time,
            "compile_time": self.compile_time,
            "exception": self.exception,
            "error_line": self.error_line,
            "integrations": [dataclasses.asdict(r) for r in self.integrations],
            "checks": [
                dataclasses.asdict(k) | {"passed": k.passed} for k in self.checks
            ],
        }


class _Registry(dict):
    """Claims by id; filled from the paper tables on first access of any kind."""

    loaded = False

    def load(self) -> "_Registry":
        if not self.loaded:
            self.loaded = True
            for name in PAPER_MODULES:
                for c in importlib.import_module(name).CLAIMS:
                    register(c)
        return self

    def __getitem__(self, key):
        return dict.__getitem__(self.load(), key)

    def __contains__(self, key):
        return dict.__contains__(self.load(), key)

    def __iter__(self):
        return dict.__iter__(self.load())

    def __len__(self):
        return dict.__len__(self.load())

    def get(self, key, default=None):
        return dict.get(self.load(), key, default)

    def keys(self):
        return dict.keys(self.load())

    def values(self):
        return dict.values(self.load())

    def items(self):
        return dict.items(self.load())


REGISTRY: dict[str, Claim] = _Registry()


def claims() -> dict[str, Claim]:
    """Every registered claim by id (the paper tables, loaded on first call)."""
    return REGISTRY.load()


def register(claim: Claim, *, replace: bool = False) -> Claim:
    """Add `claim` to the registry (`replace=True` to overwrite an id)."""
    if dict.__contains__(REGISTRY, claim.id) and not replace:
        raise ValueError(f"claim {claim.id!r} is already registered.")
    dict.__setitem__(REGISTRY, claim.id, claim)
    return claim


def unregister(claim_id: str) -> None:
    """Remove a claim (used by tests that register temporary claims)."""
    REGISTRY.pop(claim_id, None)


def select(
    *, paper: str | None = None, ids: Iterable[str] | None = None
) -> list[Claim]:
    """Claims filtered by paper and/or ids; unknown ids raise `KeyError`."""
    claims = list(REGISTRY.load().values())
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


# JAX's compile-phase events (tracing to a jaxpr, lowering to MLIR, XLA's backend
# compilation): their durations add up to the compile time of a claim.
_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compile_seconds = [0.0]
_listening = [False]


def _on_duration(event: str, duration: float, **_kwargs) -> None:
    if event in _COMPILE_EVENTS:
        _compile_seconds[0] += duration


def compile_seconds() -> float:
    """Seconds JAX has spent compiling in this process since the first call (a
    counter: take differences around the work you time)."""
    if not _listening[0]:
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        _listening[0] = True
    return _compile_seconds[0]


def run_claim(claim: Claim) -> ClaimResult:
    """Run one claim; an exception becomes a failed result with its traceback.

    Every `integrate` call inside the claim is recorded and audited: the claim
    gets one more check (`AUDIT_LABEL`) that fails if a flow was integrated far
    past its convergence or used more than a quarter of its step budget.
    """
    compiled0 = compile_seconds()
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
        compile_seconds() - compiled0,
    )


def _shipped(claim: Claim) -> bool:
    """Whether a fresh process would find `claim` in the paper tables."""
    try:
        table = importlib.import_module(f"mirrorflow.papers.{claim.paper}").CLAIMS
    except ImportError:
        return False
    return any(c is claim for c in table)


def _run_in_worker(ids: list[str], verbose_progress: bool) -> list[tuple]:
    """Run the claims `ids` in a fresh process (float64 on, as in the CLI).

    Returns plain tuples (the claim is rebuilt from its id by the caller).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    out = []
    for cid in ids:
        r = run_claim(REGISTRY[cid])
        out.append(
            (
                cid,
                r.checks,
                r.wall_time,
                r.exception,
                r.error_line,
                r.integrations,
                r.compile_time,
            )
        )
        if verbose_progress:
            status = "PASS" if r.passed else ("ERROR" if r.exception else "FAIL")
            print(
                f"{cid} ... {status} ({r.wall_time:.1f} s)", file=sys.stderr, flush=True
            )
    return out


def run_claims(
    selected: list[Claim], *, workers: int = 1, progress: bool = True
) -> list[ClaimResult]:
    """Run claims, in order, on `workers` processes (one group per task).

    Claims of one group (`Claim.group`; by default the whole paper) share cached
    flows, so a group runs in one process; the groups are handed to the workers
    as they free up, costliest first (`Claim.cost`). Claims registered at run
    time (not in a paper table) and `workers = 1` run here, in this process.
    Results come back in the order of `selected`; progress lines go to stderr.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"run_claims: `workers` must be an int >= 1, got {workers!r}.")
    # One task per (paper, group): claims of a group share cached solves.
    tasks: dict[tuple[str, str], list[Claim]] = {}
    for c in selected:
        tasks.setdefault((c.paper, c.group), []).append(c)
    if workers == 1 or len(tasks) == 1 or not all(_shipped(c) for c in selected):
        results = []
        for i, c in enumerate(selected, 1):
            if progress:
                print(f"[{i}/{len(selected)}] {c.id} ...", end="", file=sys.stderr)
                sys.stderr.flush()
            r = run_claim(c)
            results.append(r)
            if progress:
                status = "PASS" if r.passed else ("ERROR" if r.exception else "FAIL")
                print(f" {status} ({r.wall_time:.1f} s)", file=sys.stderr, flush=True)
        return results
    # Costliest tasks first (longest-processing-time scheduling), ties in order.
    order = sorted(tasks.values(), key=lambda cs: -sum(c.cost for c in cs))
    import concurrent.futures
    import multiprocessing

    by_id: dict[str, ClaimResult] = {}
    context = multiprocessing.get_context("spawn")  # JAX does not survive fork
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=context
    ) as pool:
        futures = [
            pool.submit(_run_in_worker, [c.id for c in cs], progress) for cs in order
        ]
        for fut in concurrent.futures.as_completed(futures):
            for cid, checks, wall, exc, line, records, comp in fut.result():
                by_id[cid] = ClaimResult(
                    REGISTRY[cid], tuple(checks), wall, exc, line, tuple(records), comp
                )
    return [by_id[c.id] for c in selected]
