"""
===============================================================
Forgetting rows exactly in naive Bayes and nearest neighbours
===============================================================

:mod:`skunlearn.naive_bayes` and :mod:`skunlearn.neighbors` are scikit-learn's classes with one
more verb, ``unlearn``. Naive Bayes subtracts the forgotten rows' counts and moments; nearest
neighbours delete the rows and rebuild scikit-learn's index over the rows left, which costs
about a refit but answers exactly as scikit-learn does, ties included.

This example honours a stream of deletion requests on 30,000 rows, times each request against a
refit of scikit-learn's estimator on the rows left, and checks that both models predict alike.
"""

# %%
# Data and models
# ---------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_nn

from skunlearn.naive_bayes import GaussianNB
from skunlearn.neighbors import KNeighborsClassifier

rng = np.random.RandomState(0)
n_samples, n_features = 30_000, 8
y = rng.randint(3, size=n_samples)
X = rng.normal(size=(n_samples, n_features)) + y[:, None]
X_test = rng.normal(size=(500, n_features)) + rng.randint(3, size=500)[:, None]

models = {
    "GaussianNB": (GaussianNB(), sk_nb.GaussianNB()),
    "KNeighborsClassifier (KD tree)": (
        KNeighborsClassifier(algorithm="kd_tree"),
        sk_nn.KNeighborsClassifier(algorithm="kd_tree"),
    ),
}
for ours, _ in models.values():
    ours.fit(X, y)

# %%
# Honour deletion requests
# ------------------------
# Each request forgets one row; every fifth forgets a user's 20 rows at once.
requests = [rng.choice(n_samples, size=20 if i % 5 == 4 else 1, replace=False) for i in range(15)]
retained = np.ones(n_samples, dtype=bool)
timings = {name: {"unlearn": [], "refit": []} for name in models}
agree = {name: [] for name in models}

for request in requests:
    request = request[retained[request]]  # a row can only be forgotten once
    retained[request] = False
    for name, (ours, ref) in models.items():
        start = time.perf_counter()
        ours.unlearn(request)
        timings[name]["unlearn"].append(time.perf_counter() - start)
        start = time.perf_counter()
        ref.fit(X[retained], y[retained])
        timings[name]["refit"].append(time.perf_counter() - start)
        agree[name].append(np.mean(ours.predict(X_test) == ref.predict(X_test)))

for name in models:
    unlearn_ms = 1e3 * np.median(timings[name]["unlearn"])
    refit_ms = 1e3 * np.median(timings[name]["refit"])
    print(
        f"{name}: median unlearn {unlearn_ms:.2f} ms, refit {refit_ms:.1f} ms "
        f"({refit_ms / unlearn_ms:.0f}x), predictions agree on {min(agree[name]):.0%} of rows"
    )

# %%
# The statistics are those of a refit
# -----------------------------------
# Naive Bayes agrees with scikit-learn's refit to rounding; the neighbours are the same rows.
nb, nb_ref = models["GaussianNB"]
print("largest relative gap in var_:", np.max(np.abs(nb.var_ / nb_ref.var_ - 1)))
knn, knn_ref = models["KNeighborsClassifier (KD tree)"]
print("same neighbours:", np.array_equal(knn.kneighbors(X_test)[1], knn_ref.kneighbors(X_test)[1]))

# %%
# Time per request
# ----------------
fig, ax = plt.subplots(figsize=(8, 4.8))
for i, name in enumerate(models):
    ax.plot(1e3 * np.array(timings[name]["refit"]), f"C{i}--", label=f"{name}: refit")
    ax.plot(1e3 * np.array(timings[name]["unlearn"]), f"C{i}-o", ms=3, label=f"{name}: unlearn")
ax.set_yscale("log")
ax.set_xlabel("deletion request")
ax.set_ylabel("time (ms)")
ax.set_title(f"Forgetting rows from models fitted on {n_samples:,} rows")
ax.legend(ncol=2, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()
plt.show()
