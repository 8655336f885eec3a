"""
==================================================================
PUMA: forgetting rows while keeping a model's performance
==================================================================

Forgetting many rows from a model usually costs some of its performance. PUMA (Wu et al.,
AAAI 2022) removes the forgotten rows' contribution while reweighting a few retained rows so
that a performance criterion, here the loss on a validation set, is unchanged to first order.
:class:`skunlearn.linear_model.InfluenceUnlearnLogistic` with ``method="puma"`` does this in
small steps and exposes the weights it chose.

This example forgets the 60 correctly classified training rows closest to the decision
boundary, the rows the model leans on most, and compares four models: the original, plain
Newton unlearning (which reaches the retrained model), PUMA, and a retrain from scratch.
"""

# %%
# Fit, forget, compare
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skunlearn.linear_model import InfluenceUnlearnLogistic

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)

full = LogisticRegression().fit(X_train, y_train)
# Rows near the decision boundary, correctly classified: the ones the model leans on.
margin = full.decision_function(X_train) * np.where(y_train == 1, 1, -1)
forget = np.argsort(np.where(margin > 0, margin, np.inf))[:60]
keep = np.setdiff1d(np.arange(len(y_train)), forget)

newton = InfluenceUnlearnLogistic().fit(X_train, y_train).unlearn(forget)
puma = InfluenceUnlearnLogistic(method="puma", eta=0.2).fit(
    X_train, y_train, X_val=X_val, y_val=y_val
)
puma.unlearn(forget)
retrained = LogisticRegression().fit(X_train[keep], y_train[keep])

models = {"original": full, "Newton": newton, "PUMA": puma, "retrained": retrained}
for name, model in models.items():
    print(
        f"{name:>9}: validation loss {log_loss(y_val, model.predict_proba(X_val)):.4f}, "
        f"accuracy {model.score(X_val, y_val):.3f}; loss on the forgotten rows "
        f"{log_loss(y_train[forget], model.predict_proba(X_train[forget]), labels=[0, 1]):.3f}"
    )
report = puma.unlearn_report_
print(
    f"PUMA reweighted {report['rows_reweighted']} rows in {report['puma_steps']} steps; "
    f"certified distance to the reweighted optimum {report['reweighted_distance_bound']:.1e}"
)

# %%
# Validation loss kept, forgotten rows forgotten
# ----------------------------------------------
# Plain unlearning reaches the retrained model, whose validation loss is worse than the
# original's. PUMA keeps the validation loss of the original model, while the loss of the
# forgotten rows moves away from the original's, towards the retrained model's. The right panel
# shows the weight multipliers PUMA chose for the retained rows it reweighted, one marker per
# row, labelled by its position (the forgotten rows all have weight 0 and are counted in the
# title rather than drawn). A multiplier of 0 means that PUMA dropped a retained row as well.
fig, (ax_loss, ax_w) = plt.subplots(1, 2, figsize=(10, 4.2))
names = list(models)
val = [log_loss(y_val, models[n].predict_proba(X_val)) for n in names]
fgt = [
    log_loss(y_train[forget], models[n].predict_proba(X_train[forget]), labels=[0, 1])
    for n in names
]
pos = np.arange(len(names))
ax_loss.bar(pos - 0.2, val, width=0.4, label="validation loss")
ax_loss.bar(pos + 0.2, fgt, width=0.4, label="loss on forgotten rows")
ax_loss.set_xticks(pos, names)
ax_loss.legend()
ax_loss.set_title("Losses")
ax_loss.set_ylim(0, 1.35 * max(max(val), max(fgt)))  # room for the legend
reweighted = np.setdiff1d(np.flatnonzero(puma.weights_ != 1.0), forget)
weights = puma.weights_[reweighted]
pos = np.arange(len(reweighted))
# One marker per reweighted row, so that a row whose weight went to 0 is seen too.
ax_w.vlines(pos, 1.0, weights, color="tab:green", lw=2)
ax_w.plot(pos, weights, "o", color="tab:green", ms=10)
for x, w in zip(pos, weights):
    ax_w.annotate(f"{w:.3g}", (x, w), textcoords="offset points", xytext=(10, -4))
ax_w.axhline(1.0, color="grey", lw=0.8, ls="--")
ax_w.set_xticks(pos, [f"row {i}" for i in reweighted])
ax_w.set_xlim(-0.7, len(reweighted) - 0.3)
ax_w.set_ylim(-0.1, 1.1 * max(1.0, weights.max(initial=1.0)))
ax_w.set_ylabel("weight multiplier (1: unchanged)")
ax_w.set_title(f"{len(reweighted)} retained rows reweighted ({len(forget)} forgotten)")
fig.tight_layout()
plt.show()
print("reweighted rows:", {int(i): round(float(puma.weights_[i]), 4) for i in reweighted})
