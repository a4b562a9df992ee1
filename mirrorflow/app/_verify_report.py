"""Formatting verification results: terminal table, Markdown and JSON."""

import json
import math

from ..papers._claim import short_citation
from ._verify import ClaimResult


def fmt(value) -> str:
    """Short display of a predicted/measured/error value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    v = float(value)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    return f"{v:.2e}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row(result: ClaimResult) -> dict:
    """The table row of one claim: its worst check (closest to failing)."""
    w = result.worst
    status = "PASS" if result.passed else ("ERROR" if result.exception else "FAIL")
    return {
        "id": result.claim.id,
        "paper": result.claim.paper,
        "cites": short_citation(result.claim.citation),
        "statement": result.claim.statement,
        "predicted": fmt(w.predicted) if w else "-",
        "measured": fmt(w.measured) if w else "-",
        "error": fmt(w.error) if w else "-",
        "tolerance": fmt(w.tolerance) if w else "-",
        "status": status,
    }


COLUMNS = (
    ("id", 28),
    ("cites", 30),
    ("statement", 36),
    ("predicted", 14),
    ("measured", 16),
    ("error", 9),
    ("tolerance", 9),
    ("status", 5),
)


def table(results: list[ClaimResult], *, verbose: bool = False) -> str:
    """A fixed-width text table, one row per claim (its worst check)."""
    lines = ["  ".join(name.ljust(w) for name, w in COLUMNS)]
    lines.append("  ".join("-" * w for _, w in COLUMNS))
    for r in results:
        cells = row(r)
        lines.append("  ".join(_cut(str(cells[k]), w).ljust(w) for k, w in COLUMNS))
        if verbose or not r.passed:
            for c in r.checks:
                mark = "ok " if c.passed else "BAD"
                lines.append(
                    f"    {mark} {c.label}: predicted {fmt(c.predicted)}, measured "
                    f"{fmt(c.measured)}, error {fmt(c.error)} <= {fmt(c.tolerance)}"
                )
            if r.exception:
                lines.append("    ERROR " + (r.error_line or r.claim.id))
                if verbose:
                    lines.extend(
                        "      " + s for s in r.exception.rstrip().splitlines()
                    )
    return "\n".join(lines)


def summary(
    results: list[ClaimResult], wall_time: float | None = None, workers: int = 1
) -> str:
    """The last line of `verify`: passed/failed, and the time taken.

    The claims' own times add up to the first number; with `wall_time` (the
    command's elapsed time) and several `workers` both are shown.
    """
    passed = sum(r.passed for r in results)
    total_time = sum(r.wall_time for r in results)
    timing = f"{total_time:.1f} s"
    if wall_time is not None and workers > 1:
        timing += f" of claims, {wall_time:.1f} s on {workers} workers"
    failed = len(results) - passed
    return f"{passed}/{len(results)} claims passed, {failed} failed ({timing})"


def markdown(results: list[ClaimResult]) -> str:
    """A Markdown table of every claim with all of its checks."""
    out = [
        "| id | checks | statement | predicted | measured | error | tolerance | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def esc(s):
        return str(s).replace("|", "\\|")

    for r in results:
        cells = row(r)
        out.append(
            "| "
            + " | ".join(
                esc(cells[k])
                for k in (
                    "id",
                    "cites",
                    "statement",
                    "predicted",
                    "measured",
                    "error",
                    "tolerance",
                    "status",
                )
            )
            + " |"
        )
    out.append("")
    out.append(summary(results))
    out.append("")
    for r in results:
        out.append(f"### `{r.claim.id}`")
        out.append("")
        out.append(
            f"{r.claim.statement} Reference: {r.claim.reference}. "
            f"Tolerance: {r.claim.tolerance_origin}. Checks: {r.claim.citation}. "
            f"Theory: {r.claim.docs}."
        )
        out.append("")
        for c in r.checks:
            out.append(
                f"- {'PASS' if c.passed else 'FAIL'} {esc(c.label)}: predicted "
                f"{esc(fmt(c.predicted))}, measured {esc(fmt(c.measured))}, error "
                f"{fmt(c.error)} (tolerance {fmt(c.tolerance)})"
            )
        if r.exception:
            out.append(f"- ERROR {esc(r.error_line or r.claim.id)}")
            out.append("")
            out.append("```\n" + r.exception + "```")
        out.append("")
    return "\n".join(out)


def to_json(results: list[ClaimResult]) -> str:
    def clean(obj):
        if isinstance(obj, float) and not math.isfinite(obj):
            return str(obj)
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    return json.dumps(
        clean(
            {
                "summary": summary(results),
                "passed": all(r.passed for r in results),
                "claims": [r.to_dict() for r in results],
            }
        ),
        indent=2,
    )
