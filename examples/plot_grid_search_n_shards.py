"""
===========================================================
Grid-searching the accuracy / unlearning-cost trade-off
===========================================================

More shards make unlearning cheaper, because a deletion retrains only the shard that held the
row, but each shard then learns from fewer rows and the ensemble gets less accurate. How many
shards to use is a trade-off, and it can be searched like any other hyper-parameter.

:func:`skunlearn.metrics.unlearn_cost_scorer` scores a fitted unlearner by the expected share of
the training set that one deletion request retrains (negated, because scikit-learn maximizes
scores). Given to :class:`~sklearn.model_selection.GridSearchCV` next to accuracy, it shows both
sides of the trade-off for every candidate.
"""

# %%
# Search the number of shards
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.metrics import unlearn_cost_scorer

X, y = load_digits(return_X_y=True)
model = ShardedEnsembleClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), random_state=0
)
search = GridSearchCV(
    model,
    param_grid={"n_shards": [1, 2, 4, 8, 16, 32]},
    scoring={"accuracy": "accuracy", "unlearn_cost": unlearn_cost_scorer},
    refit="accuracy",
    cv=3,
)
search.fit(X, y)

n_shards = np.array(search.cv_results_["param_n_shards"], dtype=int)
accuracy = search.cv_results_["mean_test_accuracy"]
cost = -search.cv_results_["mean_test_unlearn_cost"]  # share of rows retrained per request
for s, a, c in zip(n_shards, accuracy, cost):
    print(f"n_shards={s:2d}  accuracy={a:.3f}  rows retrained per request={c:.1%}")

# %%
# Plot the trade-off
# ------------------
# Each point is one number of shards. Cost falls as ``1 / n_shards`` while accuracy falls slowly
# at first: a model with a handful of shards forgets several times faster than one trained on
# everything at little loss of accuracy.
fig, ax = plt.subplots(figsize=(7.5, 4.8))
ax.plot(cost, accuracy, "o-")
for s, a, c in zip(n_shards, accuracy, cost):
    ax.annotate(
        f"{s} shard{'s' if s > 1 else ''}", (c, a), textcoords="offset points", xytext=(5, 5)
    )
ax.set_xscale("log")
ax.set_xlabel("share of the training set retrained per deletion request (log)")
ax.set_ylabel("cross-validated accuracy")
ax.set_title("Sharded ensembles on digits: accuracy against unlearning cost")
fig.tight_layout()
plt.show()

# %%
# Refit and unlearn
# -----------------
# ``refit="accuracy"`` picks the most accurate candidate; a deployment that must forget often
# would rather pick the smallest number of shards whose accuracy is good enough.
best = search.best_estimator_
best.unlearn([0, 1, 2])
print(best.unlearn_report_["shards_retrained"], best.unlearn_report_["samples_retrained"])
