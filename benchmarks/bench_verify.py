"""The main job's time: `mirrorflow verify` of every registered claim.

Target (performance issue, second pass): under 150 s on 2 cores. The row runs the
real command (`mirrorflow verify --json`, its default workers) in a child process
and reads the claims' own times from its JSON: the notes name the 5 slowest claims
with their compile time (JAX tracing, lowering and XLA compilation) and run time.
Quick: two cheap claims, in one process.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mirrorflow.app import BenchRow


QUICK_CLAIMS = ("core.alpha_to_inf_l2", "core.alpha_to_zero_l1")
TARGET_S = 150.0


def bench_verify(quick: bool) -> BenchRow:
    """Wall time of `mirrorflow verify` (quick: two claims, `--workers 1`)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "verify.json"
        cli = [sys.executable, "-m", "mirrorflow.app.cli"]
        cmd = [*cli, "verify", "--quiet", "--json", str(out)]
        if quick:
            cmd += ["--workers", "1"]
            for cid in QUICK_CLAIMS:
                cmd += ["--claim", cid]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"bench_verify: `mirrorflow verify` failed: {tail}")
        data = json.loads(out.read_text())
    claims = data["claims"]
    failed = sum(not c["passed"] for c in claims)
    total = sum(c["wall_time"] for c in claims)
    compiled = sum(c.get("compile_time", 0.0) for c in claims)
    slowest = sorted(claims, key=lambda c: -c["wall_time"])[:5]

    def split(c):
        comp = c.get("compile_time", 0.0)
        return f"{c['id']} {c['wall_time']:.1f}s (compile {comp:.1f}, run " + (
            f"{c['wall_time'] - comp:.1f})"
        )

    return BenchRow(
        name=f"verify ({len(claims)} claims)",
        target=f"< {TARGET_S:.0f} s on 2 cores",
        baseline=f"{TARGET_S:.0f} s budget",
        baseline_time=TARGET_S,
        ours_time=wall,
        error=float(failed),
        tolerance=0.0,
        target_ratio=1.0,
        notes=(
            f"claims' own times {total:.1f} s, of which compile {compiled:.1f} s; "
            "5 slowest: " + "; ".join(split(c) for c in slowest)
        ),
        extra={
            "claims_total": total,
            "compile_total": compiled,
            "slowest": [
                (c["id"], c["wall_time"], c.get("compile_time", 0.0)) for c in slowest
            ],
        },
    )


BENCHMARKS = [bench_verify]
