"""
===================================================
Forgetting rows through a preprocessing pipeline
===================================================

A scaler fitted on every row still carries the rows to forget, and when it changes every
feature the model sees changes too. This example forgets rows from a whole pipeline in one call
with :class:`skunlearn.pipeline.Pipeline` and skunlearn's drop-in scalers, checks that every
step ends as its own unlearning contract promises, and compares it with the recommended pattern
for preprocessing that cannot unlearn: the whole pipeline inside each shard of a sharded
ensemble.
"""

# %%
# A pipeline whose every step can forget
# --------------------------------------
# :class:`skunlearn.preprocessing.MinMaxScaler` is scikit-learn's scaler plus ``unlearn``; the
# final step is a sharded ensemble, which forgets by retraining the shard that held the row.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.pipeline import make_pipeline
from skunlearn.preprocessing import MinMaxScaler

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = make_pipeline(
    MinMaxScaler(),
    ShardedEnsembleClassifier(LogisticRegression(max_iter=1000), n_shards=5, random_state=0),
).fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Forget a row that holds no extreme
# ----------------------------------
# Its features lie strictly inside every feature's range, so the scaler's minima and maxima do
# not move: the scaler forgets it in microseconds, its transform is unchanged, and the ensemble
# forgets it by retraining one shard.
inside = (X_train > X_train.min(axis=0)) & (X_train < X_train.max(axis=0))
interior_row = int(np.flatnonzero(inside.all(axis=1))[0])
start = time.perf_counter()
pipe.unlearn([interior_row])
interior_seconds = time.perf_counter() - start
print(pipe.unlearn_report_["steps"])
print(
    "shards retrained:",
    pipe.unlearn_report_["step_reports"]["shardedensembleclassifier"]["shards_retrained"],
)

# %%
# Forget the row that holds a maximum
# -----------------------------------
# Now the scaling of that feature changes, so every feature the ensemble saw changes: the
# ensemble is refit, as a clone, on every training position re-scaled (each forgotten row's
# place held by a copy of a retained row), and then forgets both rows with its own
# ``unlearn``. It keeps its partition of the training positions and ends as it would have had
# the scaling not changed, so its state does not tell that the row held an extreme. The
# pipeline kept the training rows for this (and dropped the forgotten ones from them).
extreme_row = int(np.argmax(X_train[:, 0]))
start = time.perf_counter()
pipe.unlearn([extreme_row])
extreme_seconds = time.perf_counter() - start
print(pipe.unlearn_report_["steps"])

# %%
# Each step ends as its own contract promises
# -------------------------------------------
# The scaler equals a refit on the retained rows, bitwise. The ensemble equals a clone fitted
# under the new scaling on every training row, the forgotten ones with their true values,
# that then forgot them: the same partition of the positions, each shard trained on its
# retained rows. A fresh fit of the whole pipeline on the retained rows is another model: it
# partitions two rows fewer, differently. :func:`skunlearn.metrics.verify_unlearning` builds
# the right reference for a pipeline by itself.
from skunlearn.metrics import verify_unlearning

forgotten = [interior_row, extreme_row]
keep = np.setdiff1d(np.arange(len(y_train)), forgotten)
start = time.perf_counter()
refit = clone(pipe).fit(X_train[keep], y_train[keep])
refit_seconds = time.perf_counter() - start
same_extremes = all(
    np.array_equal(getattr(pipe[0], name), getattr(refit[0], name))
    for name in ("data_min_", "data_max_")
)
print("scaler extremes equal to a refit:", same_extremes)
reference = clone(pipe[-1]).fit(pipe[0].transform(X_train), y_train).unlearn(forgotten)
gap = np.abs(pipe.predict_proba(X_test) - reference.predict_proba(pipe[0].transform(X_test)))
print("largest difference in predicted probabilities from the reference:", gap.max())
print("verify_unlearning passed:", verify_unlearning(pipe, X_train, y_train)["passed"])

# %%
# A step that cannot unlearn is refused
# -------------------------------------
# scikit-learn's own StandardScaler would keep what it learned from the forgotten rows, so the
# pipeline refuses to unlearn, before changing anything, and says what to do instead.
from sklearn.preprocessing import StandardScaler as SklearnStandardScaler

leaky = make_pipeline(SklearnStandardScaler(), clone(pipe[-1])).fit(X_train, y_train)
try:
    leaky.unlearn([0])
except ValueError as error:
    print(str(error)[:160], "...")

# %%
# The recommended pattern: preprocessing inside each shard
# --------------------------------------------------------
# Any scikit-learn preprocessing is exact inside a shard, since each shard's pipeline is refit
# on that shard's retained rows; a request retrains the shards that held the rows.
from sklearn.pipeline import make_pipeline as sklearn_make_pipeline

sharded = ShardedEnsembleClassifier(
    sklearn_make_pipeline(SklearnStandardScaler(), LogisticRegression(max_iter=1000)),
    n_shards=5,
    random_state=0,
).fit(X_train, y_train)
start = time.perf_counter()
sharded.unlearn([extreme_row])
sharded_seconds = time.perf_counter() - start
print(f"test accuracy: {sharded.score(X_test, y_test):.3f}")

# %%
# What each request cost
# ----------------------
fig, ax = plt.subplots(figsize=(7, 3))
labels = [
    "Pipeline: interior row\n(one shard)",
    "Pipeline: extreme row\n(ensemble refit)",
    "scaler inside shards\n(one shard)",
    "refit of the pipeline",
]
seconds = [interior_seconds, extreme_seconds, sharded_seconds, refit_seconds]
ax.barh(labels, np.array(seconds) * 1e3, color=["C2", "C1", "C0", "C7"])
ax.set_xlabel("milliseconds")
ax.set_title("Forgetting one row")
fig.tight_layout()
plt.show()
