"""``python -m bench``: generate the benchmark data set, then time the pages.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from bench import say, setup_django


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Generate a realistic data set in DATABASE_URL and time the issue pages.",
    )
    parser.add_argument("--issues", type=int, default=100_000, help="issues (default 100000)")
    parser.add_argument("--communities", type=int, default=16, help="communities (default 16)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (3)")
    parser.add_argument(
        "--keep", action="store_true",
        help="measure the benchmark data already there, writing nothing (even if its size "
             "differs from --issues)",
    )  # fmt: skip
    parser.add_argument(
        "--force", action="store_true",
        help="write into a database that also holds other data",
    )  # fmt: skip
    parser.add_argument(
        "--explain", action="store_true",
        help="print EXPLAIN ANALYZE of each page's slowest SQL statement",
    )  # fmt: skip
    parser.add_argument(
        "--try-fixes", nargs="?", const="cap", default="", metavar="LIST",
        help="measure with a change the app does not make, for this run only: cap "
             "(search counts capped at 5,000); see bench/fixes.py",
    )  # fmt: skip
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    setup_django(migrate=not args.no_migrate)
    from bench import generate, measure

    try:
        generate.check_database(force=args.force)
        present = generate.bench_issue_count()
        if args.keep and present:
            say(f"--keep: measuring the {present:,} benchmark issues present; writing nothing.")
            made = generate.Generated(issues=present, written=0, seconds=0.0)
        else:
            made = generate.generate(issues=args.issues, communities=args.communities, out=say)
    except generate.BenchRefused as refusal:
        print(f"bench: {refusal}", file=sys.stderr)
        return 2

    from bench import fixes

    wanted = {name.strip() for name in args.try_fixes.split(",") if name.strip()}
    unknown = wanted - {"cap"}
    if unknown:
        print(f"bench: unknown fixes: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    fixes.drop_index()  # left by an earlier --try-fixes run: measure the app as it is
    applied = fixes.apply(wanted)

    say("Measuring …")
    started = time.perf_counter()
    results = measure.run(repeat=args.repeat, warmup=args.warmup, keep_sql=args.explain, out=say)
    took = time.perf_counter() - started

    generated = (
        f"generated {made.written:,} issues in {made.seconds:,.0f} s"
        if made.written
        else "reused (nothing written by this run)"
    )
    report = [
        "",
        f"Yishi benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        *measure.machine(),
        *measure.database(),
        measure.dataset(),
        f"          {generated}",
        f"method    in-process django.test.Client, DEBUG off, {args.warmup} warm-up + "
        f"{args.repeat} timed requests per page ({took:.0f} s in all)",
        f"changes   {'; '.join(applied) if applied else 'none (the app as it is)'}",
        "",
        measure.table(results),
        "",
    ]
    say("\n".join(report))
    if args.explain:
        from bench.explain import explain_slowest

        for result in results:
            say(explain_slowest(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
