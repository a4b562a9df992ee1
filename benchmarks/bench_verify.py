"""Target 4 of the performance issue: all registered claims within 5 minutes."""

from mirrorflow.app import BenchRow


def bench_verify(quick: bool) -> BenchRow:
    """Run every registered claim (quick: only the cheap dual-Newton ones)."""
    from mirrorflow.app import REGISTRY, run_claim

    claims = list(REGISTRY.values())
    if quick:
        claims = [
            REGISTRY[i]
            for i in ("core.alpha_to_inf_l2", "core.alpha_to_zero_l1")
            if i in REGISTRY
        ]
    results = [run_claim(c) for c in claims]
    total = sum(r.wall_time for r in results)
    slowest = sorted(results, key=lambda r: -r.wall_time)[:5]
    failed = sum(not r.passed for r in results)
    return BenchRow(
        name=f"verify ({len(results)} claims)",
        target="< 300 s on 2 cores",
        baseline="300 s budget",
        baseline_time=300.0,
        ours_time=total,
        error=float(failed),
        tolerance=0.0,
        target_ratio=1.0,
        notes="5 slowest: "
        + ", ".join(f"{r.claim.id} {r.wall_time:.1f}s" for r in slowest),
        extra={"slowest": [(r.claim.id, r.wall_time) for r in slowest]},
    )


BENCHMARKS = [bench_verify]
