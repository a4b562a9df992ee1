"""Discover and run the benchmarks of the project's `benchmarks/` folder."""

import importlib.util
import json
import math
import sys
import time
from pathlib import Path

from ._bench_rows import BenchRow


def default_benchmarks_dir() -> Path:
    """`benchmarks/` in the current directory (the checkout's root)."""
    return Path.cwd() / "benchmarks"


def discover(directory: Path) -> dict[str, object]:
    """Import every `bench_*.py` in `directory`; each defines `BENCHMARKS`."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"no benchmarks folder at {directory}; run from the checkout's root or "
            "pass --root DIR or --benchmarks-dir DIR."
        )
    found = {}
    for path in sorted(directory.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(
            f"_mirrorflow_bench_{path.stem}", path
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for fn in getattr(module, "BENCHMARKS", ()):
            group = path.stem.removeprefix("bench_")
            found[f"{group}.{fn.__name__.removeprefix('bench_')}"] = fn
    return found


def run(
    *,
    quick: bool,
    select: list[str] | None = None,
    directory: Path | None = None,
    progress=sys.stderr,
) -> list[BenchRow]:
    """Run the selected benchmarks (all by default) and return their rows."""
    benches = discover(directory or default_benchmarks_dir())
    if select:
        unknown = [s for s in select if not any(k.startswith(s) for k in benches)]
        if unknown:
            raise KeyError(
                f"unknown benchmark(s) {', '.join(unknown)}; "
                f"known: {', '.join(benches)}"
            )
        benches = {
            k: v for k, v in benches.items() if any(k.startswith(s) for s in select)
        }
    rows: list[BenchRow] = []
    for i, (name, fn) in enumerate(benches.items(), 1):
        if progress is not None:
            print(f"[{i}/{len(benches)}] {name} ...", end="", file=progress, flush=True)
        start = time.perf_counter()
        out = fn(quick)
        new = list(out) if isinstance(out, list | tuple) else [out]
        rows.extend(new)
        if progress is not None:
            print(f" {time.perf_counter() - start:.1f} s", file=progress, flush=True)
    return rows


def _fmt(v, spec=".3g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, spec)


def table(rows: list[BenchRow]) -> str:
    """Fixed-width table: one row per target."""
    head = (
        f"{'benchmark':34s} {'baseline':30s} {'base s':>8s} {'ours s':>8s} "
        f"{'compile':>8s} {'ratio':>7s} {'target':>7s} {'met':>4s} {'error':>9s} "
        f"{'tol':>8s} {'acc':>4s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        met = {None: "-", True: "yes", False: "no"}[r.target_met]
        lines.append(
            f"{r.name[:34]:34s} {r.baseline[:30]:30s} {_fmt(r.baseline_time):>8s} "
            f"{_fmt(r.ours_time):>8s} {_fmt(r.compile_time):>8s} {_fmt(r.ratio):>7s} "
            f"{_fmt(r.target_ratio):>7s} {met:>4s} {_fmt(r.error, '.1e'):>9s} "
            f"{_fmt(r.tolerance, '.0e'):>8s} {'ok' if r.accurate else 'BAD':>4s}"
        )
        if r.notes:
            lines.append(f"    {r.notes}")
    return "\n".join(lines)


def to_json(rows: list[BenchRow], *, quick: bool) -> str:
    import platform

    import jax

    def clean(obj):
        if isinstance(obj, float) and not math.isfinite(obj):
            return str(obj)
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    return json.dumps(
        clean(
            {
                "quick": quick,
                "device": str(jax.devices()[0]),
                "machine": platform.machine(),
                "python": platform.python_version(),
                "jax": jax.__version__,
                "rows": [r.to_dict() for r in rows],
            }
        ),
        indent=2,
    )
