"""
==============================================================
An unlearnable forest against sharding and plain retraining
==============================================================

Three ways to make a random forest forget one training row, exactly:

- **retrain**: refit scikit-learn's :class:`~sklearn.ensemble.RandomForestClassifier` on the
  retained rows, what one would do without skunlearn;
- **shard** (SISA): :class:`skunlearn.ensemble.ShardedEnsembleClassifier` around that forest,
  where a request refits only the shard that held the row, about ``1 / n_shards`` of a refit,
  and each shard learns from ``1 / n_shards`` of the rows;
- **unlearnable forest**: :class:`skunlearn.ensemble.UnlearningForestClassifier`, whose trees
  keep their split statistics, so that a request updates them along the row's path and
  rebuilds only the subtrees whose best split changed.

This example measures, on one generated data set, the held-out accuracy of each model and the
wall time of a one-row deletion request, then checks that the unlearned forest is bitwise the
forest a fresh fit on the retained rows grows. See :ref:`forest` for the algorithm.
"""

# %%
# Data and models
# ---------------
# All forests get the same number of trees and the same depth. BLAS is limited to one thread
# so that the timings do not depend on what else the machine runs.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skunlearn.ensemble import ShardedEnsembleClassifier, UnlearningForestClassifier

threadpool_limits(1)
X, y = make_classification(n_samples=10_000, n_features=20, n_informative=10, random_state=0)
X, X_test, y, y_test = train_test_split(X, y, test_size=2_000, random_state=0)
trees = dict(n_estimators=30, max_depth=15)


def clock(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


# The forest's compiled kernels are built at their first call (then cached on disk): warm them
# up on a few rows, so that the timings below measure fitting and forgetting only.
UnlearningForestClassifier(n_estimators=2, random_state=0).fit(X[:300], y[:300]).unlearn([0])

# %%
# Accuracy and the time of a one-row request
# ------------------------------------------
# Retraining is timed as the median of three refits. For the ensembles, the time is the median
# of real one-row ``unlearn`` requests at random rows (three for the sharded forests, each of
# which refits a shard; thirty for the unlearnable forest).
rng = np.random.RandomState(0)
results = {}

retrain = RandomForestClassifier(random_state=0, **trees)
seconds = np.median([clock(lambda: retrain.fit(X, y)) for _ in range(3)])
results["retrain (scikit-learn RF)"] = retrain.score(X_test, y_test), seconds, [seconds]

for n_shards in (5, 10, 20):
    sharded = ShardedEnsembleClassifier(
        RandomForestClassifier(**trees), n_shards=n_shards, random_state=0
    ).fit(X, y)
    accuracy = sharded.score(X_test, y_test)
    rows = rng.choice(len(y), 3, replace=False)
    requests = [clock(lambda i=i, m=sharded: m.unlearn([i])) for i in rows]
    results[f"shard (SISA, {n_shards} shards)"] = accuracy, np.median(requests), requests

forest = UnlearningForestClassifier(random_state=0, **trees).fit(X, y)
accuracy = forest.score(X_test, y_test)
forget = rng.choice(len(y), 30, replace=False)
requests = [clock(lambda i=i: forest.unlearn([i])) for i in forget]
results["unlearnable forest"] = accuracy, np.median(requests), requests

for name, (accuracy, seconds, _) in results.items():
    print(f"{name:28s} accuracy {accuracy:.3f}   one-row request {1e3 * seconds:9.2f} ms")

# %%
# The left panel places each model by accuracy and by the time of one deletion request (log
# scale); the right panel shows every request timed for the ensembles. Sharding buys its
# speedup with accuracy, and is bounded by the number of shards; the unlearnable forest keeps
# every tree trained on all the rows and answers a request in tens of milliseconds here.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
colors = dict(zip(results, ["k", "C0", "C1", "C2", "C3"]))
for name, (accuracy, seconds, _) in results.items():
    left.scatter(1e3 * seconds, accuracy, s=60, color=colors[name])
    left.annotate(name, (1e3 * seconds, accuracy), textcoords="offset points", xytext=(6, 4))
left.set_xscale("log")
left.set_xlabel("one-row deletion request (ms)")
left.set_ylabel("test accuracy")
left.set_title("Accuracy against deletion time")
left.margins(x=0.4, y=0.15)
for name, (_, _, requests) in results.items():
    if name.startswith("retrain"):
        right.axhline(1e3 * requests[0], color=colors[name], linestyle="--", label=name)
    else:
        x = np.arange(1, len(requests) + 1)
        right.plot(x, 1e3 * np.asarray(requests), "o-", color=colors[name], label=name)
right.set_yscale("log")
right.set_xlabel("deletion request")
right.set_ylabel("milliseconds")
right.set_title("Every request timed")
right.legend(fontsize="small")
fig.tight_layout()
plt.show()

refit = results["retrain (scikit-learn RF)"][1]
for name, (_, seconds, _) in results.items():
    if not name.startswith("retrain"):
        print(f"{name:28s} {refit / seconds:8.1f}x faster than retraining, per request")

# %%
# Exact, bitwise
# --------------
# After the thirty requests, the forest is the one a fresh fit on the retained rows grows with
# the same ``random_state``: every tree sends every row to the same leaf, and the predicted
# probabilities are equal bit for bit. The report of the last request says what it rebuilt.
report = forest.unlearn_report_
print(
    f"last request: {report['trees_changed']} trees changed, {report['subtrees_rebuilt']} "
    f"subtrees rebuilt, {report['samples_retrained']} rows re-read per tree "
    f"(a refit reads {len(y)}), {1e3 * report['seconds']:.1f} ms"
)
retained = np.setdiff1d(np.arange(len(y)), forest.unlearned_indices_)
fresh = UnlearningForestClassifier(random_state=0, **trees).fit(X[retained], y[retained])
print("same leaves:", np.array_equal(forest.apply(X_test), fresh.apply(X_test)))
print(
    "identical probabilities:",
    np.array_equal(forest.predict_proba(X_test), fresh.predict_proba(X_test)),
)
