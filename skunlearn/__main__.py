"""Command line: ``python -m skunlearn demo`` and ``python -m skunlearn bench``."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import traceback
from pathlib import Path

# The names are listed here rather than imported so that ``--help`` and argument errors do not
# pay for importing scikit-learn; a test keeps them equal to the modules' own lists.
STOP_NAMES = ("sharded", "influence", "linear", "decremental", "arcane", "bayes")
FAMILY_NAMES = STOP_NAMES


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skunlearn",
        description="skunlearn: machine unlearning for scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="a tour of every family of unlearners, each verified against retraining",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "A tour of machine unlearning on data shipped with scikit-learn, one stop per\n"
            "family of methods. Each stop fits an estimator, forgets rows, times the requests\n"
            "against retraining from scratch on the retained rows, and verifies the result\n"
            "against a retrained model (equality for exact methods, the reported bound for\n"
            "approximate ones). The exit code is 0 only if every verification passes.\n\n"
            "stops:\n"
            "  sharded      sharded ensemble (SISA) on digits: forget 5% of the rows one\n"
            "               request at a time, verify every affected shard by retraining it\n"
            "  influence    Newton unlearning of logistic regression on breast_cancer: the\n"
            "               certified bound against the true distance to a tight retrain\n"
            "  linear       exact ridge regression on diabetes, against scikit-learn's refit\n"
            "  decremental  GaussianNB, KNeighborsClassifier and a StandardScaler pipeline\n"
            "  arcane       class-partitioned ensemble (ARCANE) on digits\n"
            "  bayes        variational Bayesian logistic regression on breast_cancer: KL to\n"
            "               the retrained posterior against KL of doing nothing"
        ),
    )
    demo.add_argument(
        "--only",
        action="append",
        choices=STOP_NAMES,
        metavar="STOP",
        help="run only this stop (repeatable); one of: " + ", ".join(STOP_NAMES),
    )
    demo.add_argument(
        "--plot",
        type=Path,
        metavar="DIR",
        default=None,
        help="write each stop's figure as DIR/<stop>.png (needs matplotlib)",
    )
    demo.add_argument(
        "--shards", type=int, default=10, help="sharded stop: number of shards (default 10)"
    )
    demo.add_argument(
        "--fraction",
        type=float,
        default=0.05,
        help="sharded stop: share of rows to forget (default 0.05)",
    )
    demo.add_argument(
        "--n-jobs", type=int, default=None, help="sharded stop: parallel jobs (default 1)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    bench = commands.add_parser(
        "bench",
        help="quick benchmark: unlearn time / retrain time for every family",
        description=(
            "Measure, for every family, the median time of a one-row unlearn request over "
            "the median time of retraining from scratch on the retained rows, on generated "
            "data, and print the ratio table (below 1: unlearning is cheaper). A few seconds "
            "per family. The full-size suite is benchmarks/ in the source repository."
        ),
    )
    bench.add_argument(
        "--only",
        action="append",
        choices=FAMILY_NAMES,
        metavar="FAMILY",
        help="measure only this family (repeatable); one of: " + ", ".join(FAMILY_NAMES),
    )
    bench.add_argument(
        "--quick", action="store_true", help="small data sets: about a second per family"
    )
    bench.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per measurement (median)"
    )
    bench.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bench.add_argument(
        "--json", type=Path, metavar="FILE", default=None, help="also write the results as JSON"
    )
    return parser


def _demo(args) -> int:
    if not 0 < args.fraction < 1:
        print("--fraction must lie strictly between 0 and 1", file=sys.stderr)
        return 2
    if args.shards < 1:
        print("--shards must be a positive number of shards", file=sys.stderr)
        return 2
    if args.plot is not None:
        from skunlearn._plots import MissingMatplotlib, require_matplotlib

        try:
            require_matplotlib()
        except MissingMatplotlib as exc:
            print(exc, file=sys.stderr)
            return 2
    from skunlearn._tour import TourOptions, run_tour

    options = TourOptions(
        seed=args.seed, n_shards=args.shards, fraction=args.fraction, n_jobs=args.n_jobs
    )
    results = run_tour(args.only, options, plot_dir=args.plot)
    return 0 if all(result.verified for result in results) else 1


def _bench(args) -> int:
    if args.repeats is not None and args.repeats < 1:
        print("--repeats must be at least 1", file=sys.stderr)
        return 2
    from skunlearn._bench import FAMILIES, format_table, run_bench

    size = "quick" if args.quick else "default"
    rows, failed = [], []
    for family in FAMILIES:
        if args.only and family not in args.only:
            continue
        try:
            rows += run_bench([family], size=size, repeats=args.repeats, seed=args.seed)
        except Exception as exc:  # report the other families' figures all the same
            traceback.print_exc()
            print(f"FAILED: the {family} benchmark raised {type(exc).__name__}: {exc}")
            failed.append(family)
    print()
    if rows:
        print(
            "Median time of a one-row unlearn request and of retraining from scratch on the "
            "retained rows"
        )
        print(format_table(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "skunlearn bench",
            "size": size,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "failed": failed,
            "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"\nwritten: {args.json}")
    return 1 if failed else 0


def main(argv=None) -> int:
    """Run the command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if args.command == "bench":
        return _bench(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
