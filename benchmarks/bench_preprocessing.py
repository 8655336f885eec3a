"""Exact decremental scalers, encoder and pipeline: one-row unlearn against a refit.

For each transformer, fitted on ``n`` rows (200,000 by default), it reports:

- ``refit_ms``: scikit-learn's transformer of the same name fitted on the retained rows (what a
  user would otherwise run to forget a row), median of repeats;
- ``unlearn_us``: one-row ``unlearn`` (a different row each repeat, public call including the
  request's validation and bookkeeping), median of repeats;
- ``refit/unlearn``: the speedup (target at least 1000 for the scalers);
- ``rel_err``: largest relative difference between the fitted statistics after all the
  unlearns and those of the refit (0 means bitwise equal);
- ``kept/data``: bytes of the unlearner's pickle over the bytes of ``X`` (the rows it keeps to
  take them back out).

A last row times a pipeline ``MinMaxScaler -> ShardedEnsembleClassifier`` (10 shards) when the
forgotten row is interior (the scaler is unchanged and one shard retrains) against refitting the
whole pipeline.

Run ``python benchmarks/bench_preprocessing.py`` (about a minute) or ``--quick``.
"""

from __future__ import annotations

import pickle

import numpy as np
import sklearn.preprocessing as skp
from _common import median_seconds, parser, report
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.pipeline import make_pipeline
from skunlearn.preprocessing import MaxAbsScaler, MinMaxScaler, OneHotEncoder, StandardScaler

_STATS = {
    "StandardScaler": ("mean_", "var_", "scale_"),
    "MinMaxScaler": ("data_min_", "data_max_", "scale_", "min_"),
    "MaxAbsScaler": ("max_abs_", "scale_"),
}


def _relative_error(est, reference) -> float:
    if isinstance(est, OneHotEncoder):
        same = all(a.tolist() == b.tolist() for a, b in zip(est.categories_, reference.categories_))
        return 0.0 if same else float("inf")
    errors = []
    for name in _STATS[type(est).__name__]:
        a, b = np.asarray(getattr(est, name)), np.asarray(getattr(reference, name))
        errors.append(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
    return float(max(errors))


def bench_transformer(est, X, repeats, rng):
    est = clone(est).fit(X)
    n = X.shape[0]
    kept = len(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL)) / X.nbytes
    times = []
    for _ in range(repeats):
        row = int(rng.integers(n))
        while row in est.unlearned_indices_:
            row = int(rng.integers(n))
        est.unlearn([row])
        times.append(est.unlearn_report_["seconds"])
    keep = np.ones(n, dtype=bool)
    keep[est.unlearned_indices_] = False
    X_kept = X[keep]
    reference = getattr(skp, type(est).__name__)(**est.get_params())
    refit = median_seconds(lambda: clone(reference).fit(X_kept), repeats=max(3, repeats // 4))
    unlearn = float(np.median(times))
    return {
        "transformer": type(est).__name__,
        "n": n,
        "d": X.shape[1],
        "refit_ms": refit * 1e3,
        "unlearn_us": unlearn * 1e6,
        "refit/unlearn": refit / unlearn,
        "rel_err": _relative_error(est, reference.fit(X_kept)),
        "kept/data": kept,
    }


def bench_pipeline(X, y, repeats, rng):
    pipe = make_pipeline(
        MinMaxScaler(),
        ShardedEnsembleClassifier(
            SGDClassifier(random_state=0),
            n_shards=10,
            aggregation="hard",
            random_state=0,
        ),
    ).fit(X, y)
    interior = np.flatnonzero(np.all((X > X.min(axis=0)) & (X < X.max(axis=0)), axis=1))
    times = []
    for row in rng.choice(interior, size=repeats, replace=False):
        pipe.unlearn([int(row)])
        assert pipe.unlearn_report_["steps_refit"] == []
        times.append(pipe.unlearn_report_["seconds"])
    refit = median_seconds(lambda: clone(pipe).fit(X, y), repeats=3)
    unlearn = float(np.median(times))
    return {
        "transformer": "Pipeline(MinMax, SISA x10)",
        "n": X.shape[0],
        "d": X.shape[1],
        "refit_ms": refit * 1e3,
        "unlearn_us": unlearn * 1e6,
        "refit/unlearn": refit / unlearn,
        "rel_err": None,
        "kept/data": len(pickle.dumps(pipe, protocol=pickle.HIGHEST_PROTOCOL)) / X.nbytes,
    }


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = 20_000 if args.quick else 200_000
    d = 50
    repeats = max(args.repeats, 9 if args.quick else 21)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 50, size=d) + rng.uniform(-1e3, 1e3, size=d)
    X[rng.random(X.shape) < 0.01] = np.nan
    categories = rng.integers(0, 50, size=(n, 8)) ** 2  # skewed, a few rare categories
    rows = [
        bench_transformer(StandardScaler(), X, repeats, rng),
        bench_transformer(MinMaxScaler(), X, repeats, rng),
        bench_transformer(MaxAbsScaler(), X, repeats, rng),
        bench_transformer(OneHotEncoder(), categories, repeats, rng),
    ]
    X_clean = np.nan_to_num(X)
    y = (X_clean[:, 0] + X_clean[:, 1] > np.median(X_clean[:, 0] + X_clean[:, 1])).astype(int)
    n_pipe = n // 10 if args.quick else n // 4
    rows.append(bench_pipeline(X_clean[:n_pipe], y[:n_pipe], min(repeats, 9), rng))
    columns = ["transformer", "n", "d", "refit_ms", "unlearn_us", "refit/unlearn", "rel_err"]
    report("bench_preprocessing", rows, [*columns, "kept/data"], args)


if __name__ == "__main__":
    main()
