"""Command line: ``python -m skunlearn demo``."""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skunlearn",
        description="skunlearn: machine unlearning for scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="end-to-end exact unlearning run on load_digits, verified against retraining",
        description=(
            "Fit a sharded ensemble on load_digits, forget 5%% of its training rows one "
            "request at a time, time it against retraining from scratch, and verify that "
            "every affected shard equals a shard retrained without the rows."
        ),
    )
    demo.add_argument("--shards", type=int, default=10, help="number of shards (default 10)")
    demo.add_argument(
        "--fraction", type=float, default=0.05, help="share of rows to forget (default 0.05)"
    )
    demo.add_argument("--n-jobs", type=int, default=None, help="parallel jobs (default 1)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from skunlearn._demo import sharded_demo

        if not 0 < args.fraction < 1:
            print("--fraction must lie strictly between 0 and 1", file=sys.stderr)
            return 2
        summary = sharded_demo(
            n_shards=args.shards, fraction=args.fraction, n_jobs=args.n_jobs, seed=args.seed
        )
        return 0 if summary["verified"] else 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
