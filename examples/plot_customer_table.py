"""
=================================================================
Forgetting a customer: deletion by ID on a DataFrame, end to end
=================================================================

A churn model is trained on a customer table: numeric columns with missing values, string
categories, one or more rows per customer. Then a customer writes in under the GDPR's right
to erasure (Article 17): "delete my data". The request names the customer, not row positions,
it must reach the model as well as the database, and someone will later ask when and how it
was honoured. The model that answers predictions in production should not hold training rows
at all.

This example goes through the whole story with skunlearn:

1. fit a pipeline (imputation, scaling, one-hot encoding by column name, then a classifier)
   on a pandas DataFrame, with ``keys=`` the customer IDs;
2. forget customers by ID, and retry a half-processed batch harmlessly;
3. verify the model against one refitted from scratch on the retained rows;
4. read the request log, the audit trail;
5. push a serving copy, which predicts exactly as the model and holds no training rows.

See :ref:`keys_and_audit` for the API and the deployment pattern.
"""

# %%
# A customer table
# ----------------
# Generated here: 1,500 customers with one to four rows each (one per contract). ``income`` and
# ``tenure`` have missing values, ``city`` and ``plan`` are strings, and churn depends on all
# of them.
import pickle

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn.naive_bayes
from sklearn.compose import make_column_selector

from skunlearn.compose import make_column_transformer
from skunlearn.impute import SimpleImputer
from skunlearn.metrics import verify_unlearning
from skunlearn.naive_bayes import GaussianNB
from skunlearn.pipeline import make_pipeline
from skunlearn.preprocessing import OneHotEncoder, StandardScaler

rng = np.random.default_rng(0)
n_customers = 1500
customer_ids = rng.choice(np.arange(10_000, 99_999), size=n_customers, replace=False)
records = rng.integers(1, 5, size=n_customers)
customer_id = np.repeat(customer_ids, records)
n = len(customer_id)

cities = np.array(["Lyon", "Porto", "Gdansk", "Tampere", "Graz", "Ghent"])
plans = np.array(["basic", "plus", "family", "business"])
city = cities[rng.integers(0, len(cities), n_customers)][np.repeat(np.arange(n_customers), records)]
plan = rng.choice(plans, size=n, p=[0.5, 0.25, 0.2, 0.05])
age = np.repeat(rng.integers(18, 80, n_customers), records).astype(float)
income = np.round(rng.lognormal(10.3, 0.4, n), -1)
tenure = np.round(rng.exponential(30, n))
calls = rng.poisson(2, n).astype(float)
income[rng.random(n) < 0.1] = np.nan
tenure[rng.random(n) < 0.05] = np.nan

score = (
    0.8 * calls
    - 0.03 * np.nan_to_num(tenure, nan=30)
    - 0.02 * (age - 45)
    + np.where(plan == "basic", 0.8, -0.4)
    + np.where(city == "Porto", 0.5, 0.0)
    + rng.normal(0, 1, n)
)
table = pd.DataFrame(
    {
        "customer_id": customer_id,
        "age": age,
        "income": income,
        "tenure": tenure,
        "calls": calls,
        "city": city,
        "plan": plan,
    }
)
churn = (score > np.median(score)).astype(int)
X = table.drop(columns="customer_id")  # the ID is a key, not a feature
print(f"{n} rows of {n_customers} customers, {int(X.isna().sum().sum())} missing values")
table.head()


# %%
# Fit with the customer IDs as keys
# ---------------------------------
# Every transformer and the classifier come from skunlearn: each one forgets exactly, and the
# pipeline forgets through all of them in one call. The columns are selected by name and by
# dtype, as in scikit-learn. ``keys=`` is fit metadata, like ``sample_weight``: the model
# keeps the table from each row to its customer.
def make_model():
    columns = make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city", "plan"]),
    )
    return make_pipeline(columns, GaussianNB())


model = make_model().fit(X, churn, keys=table["customer_id"])
before = model.predict_proba(X)
print(f"training accuracy {model.score(X, churn):.3f}, {model.n_samples_fit_} rows")

# %%
# Deletion requests by customer ID
# --------------------------------
# A first batch of requests: three customers. ``unlearn(keys=...)`` forgets every row of each
# of them in one atomic request, and then the IDs themselves leave the model.
batch = customer_ids[[3, 141, 1200]]
model.unlearn(keys=batch)
report = model.unlearn_report_
print(f"forgot {report['n_removed']} rows of {len(batch)} customers: {report['steps']}")

# %%
# The column transformer forgot the rows itself (the imputer's medians, the scaler's moments,
# the encoder's category counts are updated exactly). A scaler's mean moves with any row, so
# the features the classifier sees changed: the pipeline refit the naive Bayes step on them,
# which is cheap. With a costlier classifier, prefer a transform that rarely changes
# (``MinMaxScaler``) or the whole pipeline inside each shard of a
# :class:`~skunlearn.ensemble.ShardedEnsembleClassifier` (see :ref:`preprocessing_pipeline`).

# %%
# The batch job fails halfway and is rerun with one more customer. With
# ``already_forgotten="skip"`` the customers already forgotten are skipped and counted, instead
# of the whole request being rejected.
retry = np.append(batch, customer_ids[777])
model.unlearn(keys=retry, already_forgotten="skip")
print(
    f"retry: {model.unlearn_report_['n_removed']} rows removed, "
    f"{model.unlearn_report_['n_keys_skipped']} keys skipped"
)

# %%
# Verify: the model against a refit on the retained rows
# ------------------------------------------------------
# :func:`~skunlearn.metrics.verify_unlearning` builds a reference without the model's own
# ``unlearn`` and compares the outputs of the two on every row of ``X``; its report says how
# the reference was built and what was compared. We also refit the same pipeline ourselves on
# the retained rows, the way a user without skunlearn would honour the requests.
verdict = verify_unlearning(model, X, churn)
print(verdict)

forgotten = model.unlearned_indices_
retained = np.setdiff1d(np.arange(n), forgotten)
refit = make_model().fit(X.iloc[retained], churn[retained])
gap = np.abs(model.predict_proba(X) - refit.predict_proba(X)).max()
print(f"largest difference from a refit on the retained rows: {gap:.1e}")

# %%
# Nothing of the forgotten customers is left in the model. A scan of its pickle for the bytes
# of their rows' numeric features (as the imputer and the pipeline stored them) finds none,
# while it finds those of the retained rows; and their IDs have left the key table, so the
# model cannot tell them from IDs it never saw.
numeric = X[["age", "income", "tenure", "calls"]].to_numpy(dtype=float)
blob = pickle.dumps(model)
print(
    "forgotten rows found in the model's pickle: "
    f"{sum(numeric[i].tobytes() in blob for i in forgotten)} of {len(forgotten)}"
)
try:
    model.unlearn(keys=batch[0])
except ValueError as exc:
    print(exc)

# %%
# The audit trail
# ---------------
# ``unlearn_history_`` records every request: when, how many rows, whether it was by key,
# whether the result is exact, what was recomputed. It holds positions and counts, never the
# keys: a customer's ID would be personal data kept after the customer was forgotten.
history = pd.DataFrame(model.unlearn_history_)
columns = ["time", "n_removed", "by_key", "n_keys", "n_keys_skipped", "exact", "seconds"]
history[[*columns, "samples_retrained", "steps_refit"]]

# %%
# The serving copy
# ----------------
# To forget, the model keeps the training rows (the imputer's, the scaler's, the pipeline's
# own for its refits) and the key table. The model that answers predictions needs none of
# them: ``serving_copy()`` returns a predict-only copy, the same pipeline with every step
# replaced by its serving copy, and for the drop-ins that is an instance of the scikit-learn
# class they replace (``SimpleImputer``, ``StandardScaler``, ``OneHotEncoder``,
# ``GaussianNB``) holding the same fitted attributes as scikit-learn's own fit. The
# unlearnable model stays with the data; after each batch of deletions, a new serving copy is
# pushed to production.
serving = model.serving_copy()
same = np.array_equal(serving.predict_proba(X), model.predict_proba(X))
full_bytes = len(pickle.dumps(model))
serving_bytes = len(pickle.dumps(serving))
print(f"serving copy predicts as the model, bit for bit: {same}")
print(f"pickle: unlearnable model {full_bytes:,} bytes, serving copy {serving_bytes:,} bytes")
print(
    f"the served classifier, {type(serving[-1]).__name__}, is a scikit-learn GaussianNB: "
    f"{isinstance(serving[-1], sklearn.naive_bayes.GaussianNB)}"
)

# %%
# For comparison, the same pipeline built from scikit-learn's own classes and fitted on the
# retained rows: what a model that never had to forget would weigh.
from sklearn import compose, impute, pipeline, preprocessing

sklearn_model = pipeline.make_pipeline(
    compose.make_column_transformer(
        (
            pipeline.make_pipeline(
                impute.SimpleImputer(strategy="median"), preprocessing.StandardScaler()
            ),
            make_column_selector(dtype_include="number"),
        ),
        (
            preprocessing.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ["city", "plan"],
        ),
    ),
    sklearn.naive_bayes.GaussianNB(),
).fit(X.iloc[retained], churn[retained])
sklearn_bytes = len(pickle.dumps(sklearn_model))
print(f"scikit-learn's pipeline: {sklearn_bytes:,} bytes")

# %%
# A scan of the pickles for the bytes of 200 sampled retained rows (their numeric features, as
# the imputer stores them): the unlearnable model holds them, the serving copy does not.
sample = rng.choice(retained, size=200, replace=False)
for name, blob in [("model", pickle.dumps(model)), ("serving copy", pickle.dumps(serving))]:
    found = sum(numeric[i].tobytes() in blob for i in sample)
    print(f"training rows found in the {name}'s pickle: {found} of {len(sample)}")

# The serving copy cannot forget: its error says where the unlearnable model lives.
try:
    serving.unlearn([0])
except AttributeError as exc:
    print(exc)

# %%
# The figure
# ----------
# Left: the pickled size of the unlearnable model, of its serving copy, and of scikit-learn's
# own pipeline. Right, for every row of the table: how much the deletions changed the
# predicted churn probability (the serving copy against the model before the requests), and
# how far the serving copy is from the pipeline refitted from scratch on the retained rows.
# The deletions did change the model (by about :math:`10^{-3}` here: a few customers among
# 1,500), and the result is the refit to rounding, some ten orders of magnitude below.
after = serving.predict_proba(X)[:, 1]
floor = 1e-17  # a difference of exactly 0 drawn at the left edge of the log axis
changed = np.maximum(np.abs(after - before[:, 1]), floor)
from_refit = np.maximum(np.abs(after - refit.predict_proba(X)[:, 1]), floor)

print(
    f"median change {np.median(changed):.1e}, median distance from the refit "
    f"{np.median(from_refit):.1e}; rows where the two agree bit for bit: "
    f"{np.sum(from_refit == floor)} of {n}"
)

fig, (ax_size, ax_diff) = plt.subplots(1, 2, figsize=(10, 4.2), width_ratios=[1, 1.4])
bars = ax_size.bar(
    ["unlearnable\nmodel", "serving\ncopy", "scikit-learn's\npipeline"],
    [full_bytes / 1e3, serving_bytes / 1e3, sklearn_bytes / 1e3],
    color=["tab:grey", "tab:blue", "tab:green"],
)
ax_size.bar_label(bars, fmt="%.1f kB")
ax_size.set_yscale("log")
ax_size.set_ylabel("pickle size (kB)")
ax_size.set_title("What is deployed")
ax_size.set_ylim(min(serving_bytes, sklearn_bytes) / 1e3 / 3, full_bytes / 1e3 * 5)

bins = np.logspace(-17, 0, 52)
ax_diff.hist(changed, bins=bins, color="tab:orange", alpha=0.8, label="after vs before")
ax_diff.hist(from_refit, bins=bins, color="tab:blue", alpha=0.8, label="after vs refit")
ax_diff.set_xscale("log")
ax_diff.set_xlabel("|difference in P(churn)| per row")
ax_diff.set_ylabel("rows")
ax_diff.set_title("Changed by the deletions, equal to a refit")
n_identical = np.sum(from_refit == floor)
ax_diff.annotate(
    "0: identical",
    (1.5 * floor, n_identical),
    xytext=(1.5 * floor, n_identical + 200),
    ha="center",
    arrowprops={"arrowstyle": "->"},
)
ax_diff.legend(loc="upper center")
fig.tight_layout()
plt.show()
