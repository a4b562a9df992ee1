"""The `mirrorflow` command: verify the claims, list them, run experiments, report.

Commands: `verify`, `list`, `run NAME`, `figures`, `report`, `bench`. Exit status 0
on success, 1 when a claim fails, an experiment raises or a benchmark is inaccurate,
2 on bad arguments, 130 when interrupted (Ctrl-C).
"""

import argparse
import os
import sys
import time
from pathlib import Path


def _enable_x64() -> None:
    # Entry points (never the library) switch JAX to float64: every verification
    # path runs in double precision.
    import jax

    jax.config.update("jax_enable_x64", True)


def _write(path: str, text: str, parser: argparse.ArgumentParser) -> None:
    """Write `text` to `path` atomically (a temporary file moved into place: an
    interrupted run never leaves a partial file)."""
    from ._cache import _atomic_write

    try:
        _atomic_write(Path(path), text.encode())
    except OSError as err:
        parser.exit(2, f"mirrorflow: cannot write {path!r}: {err.strerror}\n")


def _check_output_file(path: str | None, option: str, parser) -> None:
    """Refuse an output file that cannot be written, before any work is done."""
    if not path:
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    problem = None
    if target.is_dir():
        problem = "it is a folder"
    elif not folder.is_dir():
        problem = f"its folder {str(folder)!r} does not exist"
    elif not os.access(folder, os.W_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        problem = "permission denied"
    if problem:
        parser.exit(2, f"mirrorflow: cannot write {option} {path!r}: {problem}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _cmd_verify(args, parser) -> int:
    from ._verify import run_claims, select
    from ._verify_report import markdown, summary, table, to_json

    _check_output_file(args.json, "--json", parser)
    _check_output_file(args.markdown, "--markdown", parser)

    try:
        claims = select(paper=args.paper, ids=args.claim)
    except KeyError as err:
        print(f"mirrorflow verify: {err.args[0]}", file=sys.stderr)
        return 2
    if not claims:
        from ._verify import claims as all_claims

        papers = sorted({c.paper for c in all_claims().values()})
        print(
            f"mirrorflow verify: no claims for paper {args.paper!r}; known papers: "
            + ", ".join(papers),
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    results = run_claims(claims, workers=args.workers, progress=not args.quiet)
    wall = time.perf_counter() - start
    print(table(results, verbose=args.verbose))
    used = min(args.workers, len({c.paper for c in claims}))
    print(summary(results, wall, used))
    if args.json:
        _write(args.json, to_json(results), parser)
    if args.markdown:
        _write(args.markdown, markdown(results), parser)
    return 0 if all(r.passed for r in results) else 1


def _cmd_list(args, parser) -> int:
    from ._experiments import ExperimentsError, discover
    from ._verify import claims

    print(f"{'claim':34s} {'checks (paper result or derivation)':60s} statement")
    for c in claims().values():
        print(f"{c.id:34s} {_cut(c.citation, 60):60s} {c.statement}")
        print(f"{'':34s} theory: {c.docs}")
    try:
        experiments = discover(_experiments_dir(args))
    except ExperimentsError as err:
        print(f"mirrorflow list: no experiments: {err}", file=sys.stderr)
        return 0 if args.experiments_dir is None else 2
    print()
    print(f"{'experiment':28s} {'paper':6s} {'figure':44s} claims")
    for e in experiments.values():
        fig = e.figure if len(e.figure) <= 44 else e.figure[:43] + "…"
        print(f"{e.name:28s} {e.paper:6s} {fig:44s} {', '.join(e.claims)}")
    return 0


# --- experiments: run, figures, report -------------------------------------------


class _BadInput(Exception):
    """A bad argument: print one line, exit 2."""


def _experiments(args, names=None):
    from ._experiments import ExperimentsError, discover

    try:
        found = discover(_experiments_dir(args))
    except ExperimentsError as err:
        raise _BadInput(str(err)) from None
    if names is None:
        return list(found.values()), found
    unknown = [n for n in names if n not in found]
    if unknown:
        raise _BadInput(
            f"unknown experiment {', '.join(map(repr, unknown))}; known experiments: "
            + (", ".join(found) or "(none)")
        )
    return [found[n] for n in names], found


def _root_of(args) -> Path:
    """The project root: `--root`, else the parent of `--experiments-dir`, else
    the current directory."""
    if getattr(args, "root", None):
        return Path(args.root)
    if getattr(args, "experiments_dir", None):
        return Path(args.experiments_dir).resolve().parent
    return Path.cwd()


def _experiments_dir(args) -> Path:
    if getattr(args, "experiments_dir", None):
        return Path(args.experiments_dir)
    return _root_of(args) / "experiments"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _check_common(args) -> None:
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2**63:
        raise _BadInput(f"`--seed` must be an integer in [0, 2**63), got {seed}")
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise _BadInput(f"`--workers` must be >= 1, got {workers}")


def _figures_dir(args) -> Path:
    """`--out` (`--figures-dir` for report), else `figures/` of the checkout;
    `--quick` results go to `figures/quick/` so they never replace the committed
    renderings of full runs."""
    out = args.figures_dir if args.command == "report" else args.out
    if out:
        return Path(out)
    default = _root_of(args) / "figures"
    return default / "quick" if args.quick else default


def _cache(args):
    from ._cache import ResultCache

    if args.no_cache:
        return None
    return ResultCache(
        Path(args.cache_dir)
        if args.cache_dir
        else _root_of(args) / (".mirrorflow-cache")
    )


def _executor(args):
    from ._executor import DaskExecutor, make_executor

    if args.dask_scheduler:
        address = None if args.dask_scheduler == "local" else args.dask_scheduler
        try:
            return DaskExecutor(address=address, workers=args.workers)
        except ImportError as err:
            raise _BadInput(str(err)) from None
    return make_executor("auto", args.workers)


def _make_figures(args, experiments, *, seed=None, workers=True):
    from ._pipeline import make_figures

    return make_figures(
        experiments,
        quick=args.quick,
        out_dir=_figures_dir(args),
        cache=_cache(args),
        executor=_executor(args) if workers else None,
        seed=seed,
        force=args.force,
        progress=_progress(args, len(experiments)),
    )


def _progress(args, total):
    from ._pipeline import Progress

    return Progress(total, quiet=args.quiet)


def _guard(command):
    """Run a command; bad input and unwritable folders print one line, exit 2."""

    def wrapped(args, parser) -> int:
        from ._pipeline import OutputError
        from ._report import ReportError

        try:
            _check_common(args)
            return command(args, parser)
        except (_BadInput, OutputError, ReportError) as err:
            print(f"mirrorflow {args.command}: {err}", file=sys.stderr)
            return 2

    return wrapped


@_guard
def _cmd_run(args, parser) -> int:
    experiments, _ = _experiments(args, [args.name])
    outcomes = _make_figures(args, experiments, seed=args.seed, workers=False)
    return 0 if all(o.status != "failed" for o in outcomes) else 1


@_guard
def _cmd_figures(args, parser) -> int:
    experiments, _ = _experiments(args, args.only)
    outcomes = _make_figures(args, experiments)
    return 0 if all(o.status != "failed" for o in outcomes) else 1


@_guard
def _cmd_report(args, parser) -> int:
    from ._pipeline import check_writable
    from ._report import build_report, load_verify_json
    from ._verify import run_claim, select

    out_dir = Path(args.out) if args.out else _figures_dir(args)
    check_writable(out_dir, "the report folder")
    try:
        claims = select(paper=args.paper, ids=args.claim)
    except KeyError as err:
        raise _BadInput(err.args[0]) from None
    reused = load_verify_json(args.verify_json) if args.verify_json else []
    wanted = {c.id for c in claims}
    # Results read from the file come first; claims it lacks are run here.
    results = {r.claim.id: r for r in reused if r.claim.id in wanted}
    missing = [c for c in claims if c.id not in results]
    experiments, _ = _experiments(args, args.only)
    outcomes = _make_figures(args, experiments)
    if args.verify_json and not args.quiet:
        print(
            f"report: {len(results)} claim results read from {args.verify_json}, "
            f"{len(missing)} to run",
            file=sys.stderr,
        )
    for i, c in enumerate(missing, 1):
        if not args.quiet:
            print(
                f"[{i}/{len(missing)}] {c.id} ...", end="", file=sys.stderr, flush=True
            )
        r = run_claim(c)
        results[c.id] = r
        if not args.quiet:
            status = "PASS" if r.passed else ("ERROR" if r.exception else "FAIL")
            print(f" {status} ({r.wall_time:.1f} s)", file=sys.stderr, flush=True)
    ordered = [results[c.id] for c in claims]
    md, html = build_report(ordered, outcomes, out_dir)
    print(f"wrote {md} and {html}")
    ok = all(r.passed for r in ordered) and all(o.status != "failed" for o in outcomes)
    return 0 if ok else 1


def _cmd_bench(args, parser) -> int:
    from ._bench import run, table, to_json

    _check_output_file(args.json, "--json", parser)
    directory = (
        Path(args.benchmarks_dir)
        if args.benchmarks_dir
        else _root_of(args) / "benchmarks"
    )
    try:
        rows = run(
            quick=args.quick,
            select=args.only,
            directory=directory,
            progress=None if args.quiet else sys.stderr,
        )
    except (KeyError, FileNotFoundError) as err:
        print(f"mirrorflow bench: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    print(table(rows))
    bad = [r.name for r in rows if not r.accurate]
    met = [r.target_met for r in rows if r.target_met is not None]
    print(
        f"{len(rows)} rows; accuracy "
        f"{'ok' if not bad else 'FAILED: ' + ', '.join(bad)}; "
        f"speed targets met {sum(met)}/{len(met)} (reported, never a failure)"
    )
    if args.json:
        _write(args.json, to_json(rows, quick=args.quick), parser)
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mirrorflow",
        description="Check the theorems of the mirror-flow papers numerically.",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="the project checkout whose experiments/, benchmarks/ and figures/ "
        "to use (default: the current directory)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="run every checkable claim and print the table")
    v.add_argument("--paper", help="only this paper's claims (e.g. core)")
    v.add_argument(
        "--claim", action="append", metavar="ID", help="only this claim (repeatable)"
    )
    v.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    v.add_argument("--markdown", metavar="FILE", help="also write a Markdown report")
    v.add_argument(
        "--verbose", action="store_true", help="show every check of every claim"
    )
    v.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    v.add_argument(
        "--workers",
        type=_positive_int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="processes to run the papers on (default: min(2, CPUs); 1 runs "
        "everything in this process)",
    )
    v.set_defaults(func=_cmd_verify)
    ls = sub.add_parser("list", help="list the claims and the experiments")
    _experiments_dir_option(ls)
    ls.set_defaults(func=_cmd_list)

    r = sub.add_parser(
        "run", help="run one experiment and write its figure with a JSON sidecar"
    )
    r.add_argument("name", help="the experiment (see `mirrorflow list`)")
    r.add_argument("--seed", type=int, help="override the config's seed (>= 0)")
    r.add_argument(
        "--out",
        metavar="DIR",
        help="figure folder (default: figures/, or figures/quick/ with --quick)",
    )
    _run_options(r)
    r.set_defaults(func=_cmd_run)

    f = sub.add_parser(
        "figures", help="every experiment, resumable: finished results are cached"
    )
    f.add_argument(
        "--out",
        metavar="DIR",
        help="figure folder (default: figures/, or figures/quick/ with --quick)",
    )
    _only_option(f)
    _run_options(f)
    _worker_options(f)
    f.set_defaults(func=_cmd_figures)

    rep = sub.add_parser(
        "report",
        help="Markdown + self-contained HTML: the verify table and every figure "
        "beside its claims",
    )
    rep.add_argument(
        "--out", metavar="DIR", help="report folder (default: the figures folder)"
    )
    rep.add_argument(
        "--figures-dir",
        metavar="DIR",
        help="figure folder (default: figures/, or figures/quick/ with --quick)",
    )
    rep.add_argument(
        "--verify-json",
        metavar="FILE",
        help="reuse the claim results of `mirrorflow verify --json FILE` (claims "
        "missing from it are run)",
    )
    rep.add_argument("--paper", help="only this paper's claims")
    rep.add_argument(
        "--claim", action="append", metavar="ID", help="only this claim (repeatable)"
    )
    _only_option(rep)
    _run_options(rep)
    _worker_options(rep)
    rep.set_defaults(func=_cmd_report)

    b = sub.add_parser(
        "bench",
        help="the performance suite: each row a ratio against a baseline timed in "
        "the same run, plus the accuracy reached",
    )
    b.add_argument("--quick", action="store_true", help="CI-sized problems")
    b.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    b.add_argument(
        "--only", action="append", metavar="NAME", help="only benchmarks named so"
    )
    b.add_argument(
        "--benchmarks-dir",
        metavar="DIR",
        help="folder of bench_*.py modules (default: ROOT/benchmarks)",
    )
    b.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    b.set_defaults(func=_cmd_bench)
    return parser


def _experiments_dir_option(p) -> None:
    p.add_argument(
        "--experiments-dir",
        metavar="DIR",
        help="folder of experiment modules, one subfolder per paper (default: "
        "ROOT/experiments)",
    )


def _only_option(p) -> None:
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="only this experiment (repeatable)",
    )


def _run_options(p) -> None:
    p.add_argument(
        "--quick", action="store_true", help="seconds-long settings (what CI runs)"
    )
    p.add_argument(
        "--cache-dir", metavar="DIR", help="result cache (default: .mirrorflow-cache/)"
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write")
    p.add_argument(
        "--force", action="store_true", help="recompute and replace cached results"
    )
    _experiments_dir_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _worker_options(p) -> None:
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel workers (default 1: in this process)",
    )
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster (dask.distributed) at ADDRESS, e.g. "
        "tcp://host:8786, or 'local' for a LocalCluster of --workers processes; "
        'needs `pip install "mirrorflow[dask]"`',
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _enable_x64()
    try:
        return args.func(args, parser)
    except KeyboardInterrupt:
        # Ctrl-C: every file is written atomically, so nothing partial is left;
        # a rerun resumes from the cache.
        print(f"mirrorflow {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mirrorflow list | head`): stop quietly, as
        # Unix tools do; point stdout at devnull so the exit flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
