"""
==============================================================
Class-partitioned (ARCANE) against sharded (SISA) unlearning
==============================================================

Both ensembles forget exactly by retraining only part of the model. A sharded ensemble
(:class:`skunlearn.ensemble.ShardedEnsembleClassifier`) splits the rows at random, so each of its
``S`` sub-models learns from ``1 / S`` of the data and the ensemble loses accuracy as ``S``
grows. A class-partitioned ensemble (:class:`skunlearn.ensemble.ClassPartitionedClassifier`)
gives each class its own density model, trained on *all* the rows of that class: a deletion
retrains one class's model, and nothing is lost by the partition.

Here both get as many sub-models as there are classes, so one deletion retrains about the same
number of rows. With representative selection, the class-partitioned model trains on a small,
diverse subset of each class, and forgetting a row outside that subset retrains nothing.
"""

# %%
# Data and models
# ---------------
# Digits (ten classes of 8x8 images) and a larger generated ten-class problem. Each model gets
# ten sub-models. The Gaussian mixtures get some covariance regularization, because many
# digit pixels are almost constant within a class.
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skunlearn.ensemble import ClassPartitionedClassifier, ShardedEnsembleClassifier

datasets = {
    "digits": load_digits(return_X_y=True),
    "generated": make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=12,
        n_classes=10,
        n_clusters_per_class=1,
        random_state=0,
    ),
}


def make_models():
    gmm = GaussianMixture(reg_covar=0.1)
    return {
        "SISA, trees": ShardedEnsembleClassifier(n_shards=10, random_state=0),
        "SISA, logistic": ShardedEnsembleClassifier(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
            n_shards=10,
            random_state=0,
        ),
        "ARCANE": ClassPartitionedClassifier(gmm, random_state=0),
        "ARCANE, 50 per class": ClassPartitionedClassifier(gmm, selection=50, random_state=0),
    }


# %%
# Accuracy, rows retrained per request, and unlearning time
# ---------------------------------------------------------
# The rows a one-row request retrains are averaged over random requests with
# ``estimate_unlearn_cost``, which changes nothing. The time is the median of a few real
# one-row ``unlearn`` calls.
rng = np.random.RandomState(0)
results = {}
for data_name, (X, y) in datasets.items():
    X, X_test, y, y_test = train_test_split(X, y, random_state=0, stratify=y)
    for name, model in make_models().items():
        model.fit(X, y)
        accuracy = model.score(X_test, y_test)
        probes = rng.choice(len(y), 40, replace=False)
        rows = np.mean([model.estimate_unlearn_cost([i])["samples_retrained"] for i in probes])
        seconds = []
        for i in probes[:5]:
            start = time.perf_counter()
            model.unlearn([i])
            seconds.append(time.perf_counter() - start)
        results[data_name, name] = accuracy, rows, np.median(seconds)
        print(
            f"{data_name:9s} {name:22s} accuracy={accuracy:.3f}  "
            f"rows retrained per request={rows:7.1f}  unlearn={np.median(seconds) * 1e3:6.1f} ms"
        )

# %%
# The class-partitioned model is at least as accurate as the sharded ones while a deletion
# retrains about as many rows (one class against one shard of the same size); with selection
# most deletions retrain nothing at all, for a small loss of accuracy. Rows retrained are not
# time, though: the right panel shows the median wall time of the real one-row requests above.
# The cost of a row retrained depends on the model: refitting a Gaussian mixture on one
# class's rows costs more than refitting a tree on one shard of the same size, so a request on
# the class-partitioned model can take longer than on a sharded one while it retrains as many
# rows. The times measured in this run,
# and their ratio against the sharded trees, are printed below the figure.
fig, axes = plt.subplots(1, 3, figsize=(11, 4.6), sharey=True)
names = list(make_models())
width = 0.4
for d, data_name in enumerate(datasets):
    offsets = np.arange(len(names)) + (d - 0.5) * width
    for ax, column in zip(axes, range(3)):
        values = [results[data_name, name][column] for name in names]
        if column == 2:
            values = [1e3 * v for v in values]  # milliseconds
        ax.barh(offsets, values, height=width, label=data_name)
titles = ["test accuracy", "rows retrained\nper one-row request", "one-row request (ms)"]
for ax, title in zip(axes, titles):
    ax.set_title(title)
axes[0].set_yticks(np.arange(len(names)), names)
axes[0].invert_yaxis()
axes[0].set_xlim(0.4, 1.0)
axes[1].set_xscale("symlog", linthresh=1)
axes[2].set_xscale("log")
# Times span about one decade: plain numbers at 1-2-5 steps, no labelled minor ticks (which
# would run into each other).
axes[2].xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
axes[2].xaxis.set_major_formatter(ScalarFormatter())
axes[2].xaxis.set_minor_formatter(NullFormatter())
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2)
fig.tight_layout(rect=(0, 0, 1, 0.9))
plt.show()

for data_name in datasets:
    arcane = results[data_name, "ARCANE"][2]
    sisa = results[data_name, "SISA, trees"][2]
    print(
        f"{data_name}: a one-row request takes {1e3 * arcane:.1f} ms on ARCANE and "
        f"{1e3 * sisa:.1f} ms on SISA with trees ({arcane / sisa:.1f}x)"
    )

# %%
# Exact, not approximately so
# ---------------------------
# After forgetting rows, the model is the one a fresh fit on the retained rows gives: the same
# blocks, selection, class models and priors, hence identical predictions.
X, y = datasets["digits"]
model = ClassPartitionedClassifier(
    GaussianMixture(reg_covar=0.1), selection=50, random_state=0
).fit(X, y)
forget = rng.choice(len(y), 30, replace=False)
model.unlearn(forget)
report = model.unlearn_report_
print("classes retrained:", report["classes_retrained"])
print("classes that lost only unselected rows:", report["classes_not_retrained"])
retained = np.ones(len(y), dtype=bool)
retained[model.unlearned_indices_] = False
fresh = ClassPartitionedClassifier(
    GaussianMixture(reg_covar=0.1), selection=50, random_state=0
).fit(X[retained], y[retained])
print("identical predictions:", np.array_equal(model.predict(X), fresh.predict(X)))
print(
    "largest probability difference:",
    np.abs(model.predict_proba(X) - fresh.predict_proba(X)).max(),
)
