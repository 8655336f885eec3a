"""Command line: ``python -m skunlearn demo`` and ``python -m skunlearn bench``."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import traceback
from pathlib import Path

# The names are listed here rather than imported so that ``--help`` and argument errors do not
# pay for importing scikit-learn; a test keeps them equal to the modules' own lists.
STOP_NAMES = ("sharded", "forest", "influence", "linear", "decremental", "arcane", "bayes")
FAMILY_NAMES = STOP_NAMES


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# Argument types: argparse turns their ArgumentTypeError into the one-line error above.


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


# Bounds on values that are valid types but would make a run absurd: more worker processes
# than any machine has (and than joblib's C int holds), more shards than the sharded stop's
# 1347 training rows can fill with enough rows to learn from, repeats that never end.
MAX_N_JOBS = 1024
MAX_SHARDS = 100
MAX_REPEATS = 1000


def _bounded(parse, upper: int, why: str):
    def parse_bounded(text: str) -> int:
        value = parse(text)
        if value > upper:
            raise argparse.ArgumentTypeError(f"must be at most {upper} ({why}), got {text!r}")
        return value

    return parse_bounded


def _n_jobs(text: str) -> int:
    value = _int(text)
    if value == 0 or abs(value) > MAX_N_JOBS:
        raise argparse.ArgumentTypeError(
            f"must be a number of jobs from 1 to {MAX_N_JOBS}, or negative for joblib's "
            f"'every CPU but |n| - 1' (-1: every CPU), got {text!r}"
        )
    return value


def _seed(text: str) -> int:
    value = _int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32), got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text!r}")
    return value


def _unwritable_dir(path: Path) -> str | None:
    """Why files cannot be written in directory ``path`` (created if missing), or None."""
    if path.exists() and not path.is_dir():
        return f"{str(path)!r} is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return f"cannot write files in {str(path)!r}: {exc.strerror or exc}"
    return None


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
            "A tour of machine unlearning on data shipped with scikit-learn and generated\n"
            "data, one stop per family of methods. Each stop fits an estimator, forgets rows,\n"
            "times the requests against retraining from scratch on the retained rows, and\n"
            "verifies the result against a retrained model (equality for exact methods, the\n"
            "reported bound for approximate ones). The summary says which requests are slower\n"
            "than retraining. The exit code is 0 only if every verification passes, 2 for bad\n"
            "arguments.\n\n"
            "stops:\n"
            "  sharded      sharded ensemble (SISA) on digits: forget 5% of the rows one\n"
            "               request at a time, verify every affected shard by retraining it\n"
            "  forest       exact unlearnable random forest on generated data: forget rows in\n"
            "               milliseconds, bitwise equal to a fresh fit on the retained rows\n"
            "  influence    Newton unlearning of logistic regression on 50,000 generated\n"
            "               rows: the certified bound against the true distance to a tight\n"
            "               retrain\n"
            "  linear       exact ridge regression on 80,000 generated rows, against\n"
            "               scikit-learn's refit\n"
            "  decremental  GaussianNB, KNeighborsClassifier and a MinMaxScaler pipeline\n"
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
        "--shards",
        type=_bounded(
            _positive_int,
            MAX_SHARDS,
            "the sharded stop trains on 1347 digits: more shards leave each too few rows",
        ),
        default=10,
        help=f"sharded stop: number of shards, at most {MAX_SHARDS} (default 10)",
    )
    demo.add_argument(
        "--fraction",
        type=_fraction,
        default=0.05,
        help="sharded stop: share of rows to forget, in (0, 1) (default 0.05)",
    )
    demo.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="sharded stop: parallel jobs, -1 for every CPU (default 1)",
    )
    demo.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")

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
        "--repeats",
        type=_bounded(_positive_int, MAX_REPEATS, "the median settles long before"),
        default=None,
        help="timed repeats per measurement (median)",
    )
    bench.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    bench.add_argument(
        "--json", type=Path, metavar="FILE", default=None, help="also write the results as JSON"
    )
    return parser


def _usage_error(command: str, message: str) -> int:
    prog = f"python -m skunlearn {command}"
    print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
    return 2


def _demo(args) -> int:
    if args.plot is not None:
        from skunlearn._plots import MissingMatplotlib, require_matplotlib

        try:
            require_matplotlib()
        except MissingMatplotlib as exc:
            print(exc, file=sys.stderr)
            return 2
        # Checked before anything runs: a tour must not end in a traceback over its figures.
        problem = _unwritable_dir(args.plot)
        if problem is not None:
            return _usage_error("demo", f"argument --plot: {problem}")
    from skunlearn._tour import TourOptions, run_tour

    options = TourOptions(
        seed=args.seed, n_shards=args.shards, fraction=args.fraction, n_jobs=args.n_jobs
    )
    results = run_tour(args.only, options, plot_dir=args.plot)
    return 0 if all(result.verified for result in results) else 1


def _bench(args) -> int:
    if args.json is not None:
        problem = (
            f"{str(args.json)!r} is a directory"
            if args.json.is_dir()
            else _unwritable_dir(args.json.parent)
        )
        if problem is not None:
            return _usage_error("bench", f"argument --json: {problem}")
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
