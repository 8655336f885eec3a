"""Exact linear models: one-row (and ten-row) unlearn against a cold refit.

For Ridge, LinearRegression and BayesianRidge at n = 200,000 rows and a few feature counts,
measures in one run (median of several repeats):

- ``refit``: scikit-learn's estimator fitted from scratch on the retained rows (the rows are
  prepared beforehand, so the baseline is not charged for copying them);
- ``unlearn_1`` / ``unlearn_10``: one :meth:`unlearn` call forgetting one / ten random rows;
- ``speedup_1`` / ``speedup_10``: refit time over unlearn time;
- ``rel_err``: largest relative difference between the coefficients after all the unlearn
  calls and scikit-learn's refit on the rows left;
- ``state/X``: bytes the fitted model keeps (rows and statistics) over the bytes of ``X``.

BLAS is limited to one thread so that the ratios do not depend on what else the machine runs.
Prints a table and writes ``benchmarks/results/bench_linear_exact[_quick].json``.

Usage: ``python benchmarks/bench_linear_exact.py [--quick] [--repeats N]`` (``N`` refits).
"""

from __future__ import annotations

import numpy as np
import sklearn
import sklearn.linear_model as sklm
from _common import median_seconds, parser, report
from threadpoolctl import threadpool_limits

from skunlearn.linear_model import BayesianRidge, LinearRegression, Ridge

MODELS = {
    "Ridge": lambda: Ridge(alpha=1.0),
    "LinearRegression": lambda: LinearRegression(),
    "BayesianRidge": lambda: BayesianRidge(),
}


def _state_bytes(model) -> int:
    rows = sum(
        block.positions.nbytes + sum(a.nbytes for a in block.data.values() if a is not None)
        for block in model._rows
    )
    return rows + sum(np.asarray(a).nbytes for a in model._stats.moments)


def _bench_model(name, model, X, y, rng, refit_repeats, unlearn_repeats) -> dict:
    fit_seconds = median_seconds(lambda: model.fit(X, y), 1)
    # Requests are drawn before timing: choosing them is not part of unlearning.
    order = rng.permutation(X.shape[0])
    ones = iter(order[:unlearn_repeats, None])
    tens = iter(order[unlearn_repeats : 11 * unlearn_repeats].reshape(unlearn_repeats, 10))
    unlearn_1 = median_seconds(lambda: model.unlearn(next(ones)), unlearn_repeats)
    unlearn_10 = median_seconds(lambda: model.unlearn(next(tens)), unlearn_repeats)
    left = np.sort(order[11 * unlearn_repeats :])
    recomputed = model.unlearn_report_["samples_retrained"] > 0
    X_left, y_left = X[left], y[left]
    reference = getattr(sklm, name)(**model.get_params())
    refit = median_seconds(lambda: reference.fit(X_left, y_left), refit_repeats)
    rel_err = np.max(np.abs(model.coef_ - reference.coef_)) / np.max(np.abs(reference.coef_))
    return {
        "model": name,
        "n_samples": X.shape[0],
        "n_features": X.shape[1],
        "fit_s": fit_seconds,
        "refit_s": refit,
        "unlearn_1_s": unlearn_1,
        "unlearn_10_s": unlearn_10,
        "speedup_1": refit / unlearn_1,
        "speedup_10": refit / unlearn_10,
        "rel_err": float(rel_err),
        "state_over_X": _state_bytes(model) / X.nbytes,
        "last_call_read_rows": bool(recomputed),
    }


def bench(n_samples: int, n_features: int, refit_repeats: int, unlearn_repeats: int, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features) * rng.uniform(0.5, 5.0, n_features)
    y = X @ rng.randn(n_features) + rng.randn(n_samples)
    return [
        _bench_model(name, make(), X, y, rng, refit_repeats, unlearn_repeats)
        for name, make in MODELS.items()
    ]


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    if args.quick:
        n_samples, feature_counts, unlearn_repeats = 20_000, (10, 50), 5
    else:
        n_samples, feature_counts, unlearn_repeats = 200_000, (10, 50, 200), 9

    results = []
    with threadpool_limits(limits=1):
        for p in feature_counts:
            results.extend(bench(n_samples, p, args.repeats, unlearn_repeats))

    columns = ["model", "n_samples", "n_features", "refit_s", "unlearn_1_s", "speedup_1"]
    columns += ["unlearn_10_s", "speedup_10", "rel_err", "state_over_X"]
    extra = {"blas_threads": 1, "numpy": np.__version__, "sklearn": sklearn.__version__}
    report("bench_linear_exact", results, columns, args, extra)
    return results


if __name__ == "__main__":
    main()
