"""Sharded ensembles (SISA): unlearning cost against retraining, as ratios within one run.

For each wrapped estimator and number of shards it reports:

- ``acc``: test accuracy of the ensemble;
- ``one/full``: one-row unlearn time over a full retrain of the ensemble;
- ``one/shard``: one-row unlearn time over fitting the affected shard alone (the irreducible
  work; the target is at most 1.2);
- ``batch_shards``: shards retrained by a batch of 100 rows (each at most once);
- ``batch 2j/1j``: time of that batch with two jobs over one job (below 1: both cores used);
- ``stored/data``: bytes of the shard data the model keeps over the training data's bytes
  (target at most 1.2);
- ``peak/data``: peak memory allocated during fit over the training data's bytes.

Run ``python benchmarks/bench_sharded.py`` (about ten minutes on two cores) or ``--quick``.
"""

from __future__ import annotations

import numpy as np
from _common import median_seconds, parser, peak_bytes, report
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skunlearn.ensemble import ShardedEnsembleClassifier


def estimators(quick: bool):
    return {
        "random_forest": RandomForestClassifier(n_estimators=10 if quick else 20, max_depth=12),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=20 if quick else 50),
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression()),
    }


def bench_one(name, estimator, n_shards, X, y, X_test, y_test, repeats, rng):
    model = ShardedEnsembleClassifier(clone(estimator), n_shards=n_shards, random_state=0)
    _, peak = peak_bytes(lambda: model.fit(X, y))
    data_bytes = X.nbytes + y.nbytes
    stored = sum(Xk.nbytes + yk.nbytes for Xk, yk, _ in model._shard_data)
    acc = model.score(X_test, y_test)

    full = median_seconds(
        lambda: ShardedEnsembleClassifier(clone(estimator), n_shards=n_shards, random_state=1).fit(
            X, y
        ),
        repeats=repeats,
    )
    one_times, shard_times = [], []
    for _ in range(repeats):
        row = int(rng.choice(np.setdiff1d(np.arange(len(y)), model.unlearned_indices_)))
        k = int(model._shard_of_position[row])
        model.unlearn([row])
        one_times.append(model.unlearn_report_["seconds"])
        X_k, y_k = X[model.shard_indices_[k]], y[model.shard_indices_[k]]
        template = clone(model.estimators_[k])
        shard_times.append(median_seconds(lambda t=template, a=X_k, b=y_k: t.fit(a, b), 1))
    one, shard = float(np.median(one_times)), float(np.median(shard_times))

    batch = rng.choice(np.setdiff1d(np.arange(len(y)), model.unlearned_indices_), 100, False)
    timings = {}
    for n_jobs in (1, 2):
        trial = ShardedEnsembleClassifier(
            clone(estimator), n_shards=n_shards, random_state=0, n_jobs=n_jobs
        ).fit(X, y)
        trial.unlearn(batch)
        timings[n_jobs] = trial.unlearn_report_["seconds"]
        shards_hit = len(trial.unlearn_report_["shards_retrained"])
    return {
        "estimator": name,
        "n_shards": n_shards,
        "acc": acc,
        "full_s": full,
        "one_s": one,
        "one/full": one / full,
        "one/shard": one / shard,
        "batch_shards": shards_hit,
        "batch 2j/1j": timings[2] / timings[1],
        "stored/data": stored / data_bytes,
        "peak/data": peak / data_bytes,
    }


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    n_samples = 10_000 if args.quick else 100_000
    X, y = make_classification(
        n_samples=n_samples + 10_000, n_features=40, n_informative=20, random_state=0
    )
    X, X_test, y, y_test = train_test_split(X, y, test_size=10_000, random_state=0)
    rng = np.random.RandomState(0)
    rows = []
    for name, estimator in estimators(args.quick).items():
        for n_shards in (1, 5, 10, 20):
            row = bench_one(name, estimator, n_shards, X, y, X_test, y_test, args.repeats, rng)
            print(
                f"{name:24s} S={n_shards:2d}  one/full={row['one/full']:.3f}  "
                f"one/shard={row['one/shard']:.2f}",
                flush=True,
            )
            rows.append(row)
    print()
    columns = [
        "estimator",
        "n_shards",
        "acc",
        "full_s",
        "one_s",
        "one/full",
        "one/shard",
        "batch_shards",
        "batch 2j/1j",
        "stored/data",
        "peak/data",
    ]
    report("sharded", rows, columns, args, {"n_samples": n_samples, "n_features": 40})


if __name__ == "__main__":
    main()
