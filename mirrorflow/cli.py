"""The `mirrorflow` command: verify the papers' claims, list them."""

import argparse
import sys
from pathlib import Path


def _enable_x64() -> None:
    # Entry points (never the library) switch JAX to float64: every verification
    # path runs in double precision.
    import jax

    jax.config.update("jax_enable_x64", True)


def _write(path: str, text: str, parser: argparse.ArgumentParser) -> None:
    try:
        Path(path).write_text(text)
    except OSError as err:
        parser.exit(2, f"mirrorflow: cannot write {path!r}: {err.strerror}\n")


def _cmd_verify(args, parser) -> int:
    from .claims import run_claim, select
    from .claims._report import markdown, summary, table, to_json

    try:
        claims = select(paper=args.paper, ids=args.claim)
    except KeyError as err:
        print(f"mirrorflow verify: {err.args[0]}", file=sys.stderr)
        return 2
    if not claims:
        from .claims import REGISTRY

        papers = sorted({c.paper for c in REGISTRY.values()})
        print(
            f"mirrorflow verify: no claims for paper {args.paper!r}; known papers: "
            + ", ".join(papers),
            file=sys.stderr,
        )
        return 2
    results = []
    for i, c in enumerate(claims, 1):
        if not args.quiet:
            print(
                f"[{i}/{len(claims)}] {c.id} ...", end="", file=sys.stderr, flush=True
            )
        r = run_claim(c)
        results.append(r)
        if not args.quiet:
            status = "PASS" if r.passed else ("ERROR" if r.exception else "FAIL")
            print(f" {status} ({r.wall_time:.1f} s)", file=sys.stderr, flush=True)
    print(table(results, verbose=args.verbose))
    print(summary(results))
    if args.json:
        _write(args.json, to_json(results), parser)
    if args.markdown:
        _write(args.markdown, markdown(results), parser)
    return 0 if all(r.passed for r in results) else 1


def _cmd_list(args, parser) -> int:
    from .claims import REGISTRY

    print(f"{'claim':28s} {'paper':6s} {'source':30s} statement")
    for c in REGISTRY.values():
        print(f"{c.id:28s} {c.paper:6s} {c.source[:30]:30s} {c.statement}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mirrorflow",
        description="Check the theorems of the mirror-flow papers numerically.",
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
    v.set_defaults(func=_cmd_verify)
    ls = sub.add_parser("list", help="list the claims")
    ls.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _enable_x64()
    return args.func(args, parser)


if __name__ == "__main__":
    sys.exit(main())
