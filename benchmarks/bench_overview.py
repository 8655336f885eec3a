"""Every family at a glance: one-row unlearn time over retrain time, as ratios within one run.

The measurements are those of ``python -m skunlearn bench`` (``skunlearn/_bench.py``, shipped
with the package so that the installed command can run them), at larger sizes. For each family
it reports, on generated data:

- ``unlearn_s``: median wall time of a one-row ``unlearn`` request (successive requests on one
  model; the influence model gets one unmeasured request first, which also corrects its fit's
  solver tolerance);
- ``retrain_s``: median time of retraining from scratch on the retained rows: scikit-learn's
  estimator for the drop-ins, a clone of the model for the ensembles and the Bayesian model,
  both scikit-learn's default and an as-accurate refit for the influence model;
- ``unlearn/retrain`` (below 1: forgetting is cheaper) and ``speedup``, its inverse.

Sizes per family are ``SIZES[family]["full"]`` in ``skunlearn/_bench.py`` (``--quick``: the
"quick" sizes, a few seconds in all). BLAS is limited to one thread. Each family's own
benchmark (``bench_<family>.py``) goes deeper: batches, accuracy, memory.

Usage: ``python benchmarks/bench_overview.py [--quick] [--repeats R]``; writes
``benchmarks/results/overview[_quick].json``.
"""

from __future__ import annotations

from _common import parser, report

from skunlearn._bench import COLUMNS, SIZES, run_bench


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    size = "quick" if args.quick else "full"
    rows = run_bench(size=size, repeats=args.repeats)
    print()
    sizes = {family: sizes[size] for family, sizes in SIZES.items()}
    report("overview", rows, COLUMNS, args, {"size": size, "n_samples": sizes, "blas_threads": 1})


if __name__ == "__main__":
    main()
