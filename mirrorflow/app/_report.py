"""The report: the verify table and every figure beside the claims it supports.

`build_report` writes `report.md` (figures linked by relative path) and one
self-contained `report.html` (figures embedded as base64 PNG, inline CSS, no
scripts). Claim rows are formatted by `mirrorflow.app._verify_report`, the same
functions `mirrorflow verify` prints with. `load_verify_json` reads the file of
`mirrorflow verify --json` back, so a report can reuse a verify run.

An experiment can add tables beside its figure: a result key `report_tables`
holding a JSON string `{"tables": [{"title": str, "note": str, "columns": [str],
"rows": [[str]]}]}` (e.g. our numbers next to a paper's, each labelled with its
scale). Tables sit side by side in the HTML page and one after another in Markdown.
"""

import base64
import datetime
import html
import json
import math
import os
from pathlib import Path

from ..papers._claim import Check, Claim
from ._cache import _atomic_write
from ._figures import git_commit
from ._pipeline import Outcome
from ._verify import ClaimResult
from ._verify_report import fmt, markdown, row, summary


class ReportError(Exception):
    """A verify JSON file that cannot be used."""


def _num(value):
    # to_json wrote non-finite floats as "inf"/"nan" strings.
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _never_run():
    raise RuntimeError("this claim was read from a verify JSON file, not run")


def load_verify_json(path: str | Path) -> list[ClaimResult]:
    """The claim results written by `mirrorflow verify --json FILE`.

    Raises:
        ReportError: the file is missing, not JSON, or not in verify's format.
    """
    path = Path(path)
    fix = "write it again with `mirrorflow verify --json FILE`"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise ReportError(f"cannot read {str(path)!r}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ReportError(
            f"{str(path)!r} is not a `mirrorflow verify --json` file (binary, not "
            f"UTF-8 text); {fix}"
        ) from None
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise ReportError(
            f"{str(path)!r} is not JSON (truncated or damaged? {err}); {fix}"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list):
        got = (
            f"a JSON {type(doc).__name__}"
            if not isinstance(doc, dict)
            else "an object without a `claims` list"
        )
        raise ReportError(
            f"{str(path)!r} is not a `mirrorflow verify --json` file: expected an "
            f"object with a `claims` list, got {got}; {fix}"
        )
    try:
        results = []
        for c in doc["claims"]:
            claim = Claim(
                id=c["id"],
                paper=c["paper"],
                statement=c["statement"],
                citation=c.get("citation") or "not recorded",
                reference=c["reference"],
                tolerance_origin=c["tolerance_origin"],
                compute=_never_run,
                docs=c.get("docs", ""),
            )
            checks = tuple(
                Check(
                    k["label"],
                    _num(k["predicted"]),
                    _num(k["measured"]),
                    float(_num(k["error"])),
                    float(_num(k["tolerance"])),
                )
                for k in c["checks"]
            )
            results.append(
                ClaimResult(
                    claim,
                    checks,
                    float(c["wall_time"]),
                    c.get("exception"),
                    c.get("error_line"),
                    compile_time=float(c.get("compile_time", 0.0)),
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ReportError(
            f"{str(path)!r} is not a `mirrorflow verify --json` file "
            f"(missing or bad field: {err}); {fix}"
        ) from None
    return results


REPORT_TABLES_KEY = "report_tables"


def report_tables(outcome: Outcome) -> list[dict]:
    """The tables an experiment contributes through its result's `report_tables`.

    Returns an empty list when there are none. A malformed value gives one table
    whose note says so (a report never fails on an experiment's table).
    """
    raw = (outcome.result or {}).get(REPORT_TABLES_KEY)
    if raw is None:
        return []
    try:
        tables = json.loads(raw)["tables"]
        out = []
        for t in tables:
            columns = [str(c) for c in t["columns"]]
            rows = [[str(c) for c in r] for r in t["rows"]]
            if any(len(r) != len(columns) for r in rows):
                raise ValueError("a row has a different length than `columns`")
            out.append(
                {
                    "title": str(t.get("title", "")),
                    "note": str(t.get("note", "")),
                    "columns": columns,
                    "rows": rows,
                }
            )
        return out
    except (TypeError, ValueError, KeyError) as err:
        return [
            {
                "title": "unreadable table",
                "note": f"`{REPORT_TABLES_KEY}` of this result is malformed: {err}",
                "columns": [],
                "rows": [],
            }
        ]


def _md_tables(tables: list[dict]) -> list[str]:
    lines = []
    for t in tables:
        lines += [f"**{_md_escape(t['title'])}**", ""]
        if t["columns"]:
            lines.append("| " + " | ".join(_md_escape(c) for c in t["columns"]) + " |")
            lines.append("|" + "---|" * len(t["columns"]))
            for r in t["rows"]:
                lines.append("| " + " | ".join(_md_escape(c) for c in r) + " |")
            lines.append("")
        if t["note"]:
            lines += [f"*{_md_escape(t['note'])}*", ""]
    return lines


def _html_tables(tables: list[dict]) -> str:
    if not tables:
        return ""
    parts = []
    num = ' class="num"'
    for t in tables:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in t["columns"])
        body = "".join(
            "<tr>"
            + "".join(
                f"<td{'' if j == 0 else num}>{html.escape(c)}</td>"
                for j, c in enumerate(r)
            )
            + "</tr>"
            for r in t["rows"]
        )
        table = f"<table><tr>{head}</tr>{body}</table>" if t["columns"] else ""
        parts.append(
            f"<div class='xtable'><h4>{html.escape(t['title'])}</h4>{table}"
            f"<p class='meta'>{html.escape(t['note'])}</p></div>"
        )
    return f"<div class='xtables'>{''.join(parts)}</div>"


_STATUS_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "ERROR": "#9a6700"}
_ROW_KEYS = (
    "id",
    "cites",
    "statement",
    "predicted",
    "measured",
    "error",
    "tolerance",
    "status",
)


def _md_escape(text) -> str:
    return str(text).replace("|", "\\|")


def _md_rows(results: list[ClaimResult]) -> list[str]:
    out = [
        "| id | checks | statement | predicted | measured | error | tolerance | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = row(r)
        out.append("| " + " | ".join(_md_escape(cells[k]) for k in _ROW_KEYS) + " |")
    return out


def _relpath(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _report_time() -> datetime.datetime:
    """Now, or `SOURCE_DATE_EPOCH` (seconds since 1970) when it is set: the
    reproducible-builds convention, so two runs can write identical reports."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
    return datetime.datetime.now(datetime.UTC)


def _header(outcomes: list[Outcome]) -> dict:
    commit = git_commit()
    quick = {o.meta.get("quick") for o in outcomes if o.meta} - {None}
    mode = "quick" if quick == {True} else ("full" if quick == {False} else "mixed")
    return {
        "date": _report_time().strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit["commit"] or "unknown",
        "dirty": bool(commit["dirty"]),
        "mode": mode if outcomes else "none",
    }


def _figure_png(outcome: Outcome) -> Path | None:
    for p in outcome.files:
        if p.suffix == ".png" and p.exists():
            return p
    return None


def build_markdown(
    results: list[ClaimResult], outcomes: list[Outcome], out_dir: Path
) -> str:
    """The Markdown report (figures linked relative to `out_dir`)."""
    by_id = {r.claim.id: r for r in results}
    h = _header(outcomes)
    lines = [
        "# mirrorflow report",
        "",
        f"Generated {h['date']} at commit `{h['commit'][:12]}`"
        + (" (uncommitted changes)" if h["dirty"] else "")
        + f"; figures from {h['mode']} runs. {summary(results)}.",
        "",
        "## Claims",
        "",
        *_md_rows(results),
        "",
        "## Figures",
        "",
    ]
    for o in outcomes:
        exp = o.experiment
        lines += [f"### `{exp.name}`: {exp.title}", ""]
        png = _figure_png(o)
        if png is not None:
            lines += [f"![{exp.title}]({_relpath(png, out_dir)})", ""]
        else:
            lines += [f"**Figure missing** ({o.status}): {o.error or ''}".strip(), ""]
        lines += [
            f"{exp.description} Reproduces: {exp.figure}. Paper: `{exp.paper}`. "
            f"Seed {o.config.seed}.",
            "",
        ]
        lines += _md_tables(report_tables(o))
        shown = [by_id[c] for c in exp.claims if c in by_id]
        missing = [c for c in exp.claims if c not in by_id]
        if shown:
            lines += ["Claims this figure shows:", "", *_md_rows(shown), ""]
        if missing:
            lines += [f"Not run in this report: {', '.join(missing)}.", ""]
    # _verify_report.markdown is the table, the summary, then one section per
    # claim; the table is already above, so keep the sections.
    full = markdown(results)
    start = full.find("### `")
    lines += ["## Claim details", "", full[start:] if start >= 0 else ""]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#1f2328;line-height:1.45}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{font-family:ui-monospace,monospace;white-space:nowrap}
.status{font-weight:600} .exp{display:flex;flex-wrap:wrap;gap:1.5em;
align-items:flex-start;border-top:1px solid #d0d7de;padding-top:1em;margin-top:1.5em}
.exp img{max-width:640px;width:100%;border:1px solid #eee}
.exp .side{flex:1;min-width:360px} code{background:#f6f8fa;padding:0 3px}
details{margin:0.3em 0} .meta{color:#59636e;font-size:0.9em}
.xtables{display:flex;flex-wrap:wrap;gap:1.5em;width:100%}
.xtable{flex:1;min-width:360px} .xtable h4{margin:0.3em 0}
"""


def _html_table(results: list[ClaimResult]) -> str:
    head = "".join(f"<th>{k if k != 'status' else 'pass'}</th>" for k in _ROW_KEYS)
    body = []
    for r in results:
        cells = row(r)
        tds = []
        for k in _ROW_KEYS:
            text = html.escape(str(cells[k]))
            if k == "status":
                color = _STATUS_COLORS.get(cells[k], "#1f2328")
                tds.append(f'<td class="status" style="color:{color}">{text}</td>')
            elif k in ("predicted", "measured", "error", "tolerance"):
                tds.append(f'<td class="num">{text}</td>')
            elif k == "id":
                tds.append(f'<td><a href="#claim-{text}"><code>{text}</code></a></td>')
            else:
                tds.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html_details(r: ClaimResult) -> str:
    c = r.claim
    items = "".join(
        "<li>"
        + html.escape(
            f"{'PASS' if k.passed else 'FAIL'} {k.label}: predicted "
            f"{fmt(k.predicted)}, measured {fmt(k.measured)}, error "
            f"{fmt(k.error)} (tolerance {fmt(k.tolerance)})"
        )
        + "</li>"
        for k in r.checks
    )
    exc = f"<pre>{html.escape(r.exception)}</pre>" if r.exception else ""
    return (
        f'<h3 id="claim-{html.escape(c.id)}"><code>{html.escape(c.id)}</code></h3>'
        f"<p>{html.escape(c.statement)} <b>Checks:</b> {html.escape(c.citation)}. "
        f"Reference: {html.escape(c.reference)}. "
        f"Tolerance: {html.escape(c.tolerance_origin)}. Theory: "
        f"{html.escape(c.docs)}. ({r.wall_time:.1f} s)</p><ul>{items}</ul>{exc}"
    )


def build_html(results: list[ClaimResult], outcomes: list[Outcome]) -> str:
    """The self-contained HTML report (figures embedded as base64 PNG)."""
    by_id = {r.claim.id: r for r in results}
    h = _header(outcomes)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>mirrorflow report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>mirrorflow report</h1>",
        f"<p class='meta'>Generated {html.escape(h['date'])} at commit "
        f"<code>{html.escape(h['commit'][:12])}</code>"
        + (" (uncommitted changes)" if h["dirty"] else "")
        + f"; figures from {h['mode']} runs. {html.escape(summary(results))}.</p>",
        "<h2>Claims</h2>",
        _html_table(results),
        "<h2>Figures</h2>",
    ]
    for o in outcomes:
        exp = o.experiment
        png = _figure_png(o)
        if png is not None:
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            img = (
                f"<img alt='{html.escape(exp.title)}' "
                f"src='data:image/png;base64,{data}'>"
            )
        else:
            img = (
                f"<p><strong>Figure missing</strong> ({html.escape(o.status)})</p>"
                f"<pre>{html.escape(o.error or '')}</pre>"
            )
        shown = [by_id[c] for c in exp.claims if c in by_id]
        missing = [c for c in exp.claims if c not in by_id]
        claims_html = (
            "<p>Claims this figure shows:</p>" + _html_table(shown) if shown else ""
        )
        if missing:
            claims_html += (
                "<p class='meta'>Not run in this report: "
                + html.escape(", ".join(missing))
                + "</p>"
            )
        wall = o.meta.get("wall_time") if o.meta else None
        wall_text = (
            f"{wall:.1f} s" if isinstance(wall, float) and math.isfinite(wall) else "?"
        )
        parts.append(
            f"<div class='exp' id='fig-{html.escape(exp.name)}'><div>{img}</div>"
            f"<div class='side'><h3><code>{html.escape(exp.name)}</code>: "
            f"{html.escape(exp.title)}</h3><p>{html.escape(exp.description)}</p>"
            f"<p class='meta'>Reproduces: {html.escape(exp.figure)}. Paper "
            f"<code>{html.escape(exp.paper)}</code>, seed {o.config.seed}, computed "
            f"in {wall_text}.</p>{claims_html}</div>{_html_tables(report_tables(o))}"
            "</div>"
        )
    parts.append("<h2>Claim details</h2>")
    parts.extend(_html_details(r) for r in results)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def build_report(
    results: list[ClaimResult], outcomes: list[Outcome], out_dir: str | Path
) -> tuple[Path, Path]:
    """Write `out_dir/report.md` and `out_dir/report.html`; return their paths.

    Each is written to a temporary file and moved into place: an interrupted run
    leaves each file either as it was or complete (the two may come from
    different runs until the next one finishes)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    _atomic_write(md_path, build_markdown(results, outcomes, out_dir).encode())
    _atomic_write(html_path, build_html(results, outcomes).encode())
    return md_path, html_path
