"""
=================================================
Membership inference before and after unlearning
=================================================

A model that fits its training rows closely gives them away: an attacker who can query it sees
that it is more confident, and more often right, on rows it was trained on. A
*membership-inference attack* turns this into a score per row, and its AUC says how well it
tells training rows from rows the model never saw (0.5: not at all).

After a row is unlearned, it should look exactly like a row the model never saw. This example
measures that with :func:`skunlearn.metrics.membership_inference_auc`: the AUC of forgotten
rows against unseen rows falls from the level of the retained rows to 0.5, the level of a model
retrained without them, while the retained rows stay recognisable.
"""

# %%
# A model that memorizes
# ----------------------
# The labels of this data set are noisy (20% are flipped), as they are in many real data sets.
# A distance-weighted nearest-neighbour model predicts its own training rows' labels with
# certainty, noise included, so it memorizes them. We shard it in a
# :class:`~skunlearn.ensemble.ShardedEnsembleClassifier`, which unlearns exactly.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import roc_curve
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.metrics import (
    MembershipInferenceAttack,
    membership_inference_auc,
    verify_unlearning,
)

X, y = make_classification(
    n_samples=2400, n_features=20, n_informative=5, flip_y=0.2, random_state=0
)
X_train, X_unseen, y_train, y_unseen = train_test_split(X, y, test_size=0.5, random_state=0)

model = ShardedEnsembleClassifier(
    KNeighborsClassifier(5, weights="distance"), n_shards=2, random_state=0
).fit(X_train, y_train)
print(f"test accuracy: {model.score(X_unseen, y_unseen):.3f}")

# %%
# The attack
# ----------
# The loss attack scores a row by the log-probability the model gives its label: the higher,
# the more the row looks like a training row. 250 users ask for their rows to be deleted.
rng = np.random.RandomState(0)
forget = np.sort(rng.choice(len(y_train), size=250, replace=False))
retain = np.setdiff1d(np.arange(len(y_train)), forget)
attack = MembershipInferenceAttack("loss")


def auc_against_unseen(model, rows):
    return membership_inference_auc(
        model, X_train[rows], y_train[rows], X_unseen, y_unseen, attack=attack
    )


def audit(model):
    """The attack's scores on the three kinds of rows, and the AUCs against unseen rows."""
    scores = {
        "forgotten": attack.score_samples(model, X_train[forget], y_train[forget]),
        "retained": attack.score_samples(model, X_train[retain], y_train[retain]),
        "unseen": attack.score_samples(model, X_unseen, y_unseen),
    }
    aucs = {
        "forgotten": auc_against_unseen(model, forget),
        "retained": auc_against_unseen(model, retain),
    }
    return scores, aucs


scores_before, auc_before = audit(model)
print("before unlearning:", {k: round(v, 3) for k, v in auc_before.items()})

# %%
# Unlearn, and compare with retraining
# ------------------------------------
# The ensemble retrains only the shards that held the forgotten rows. A model retrained from
# scratch on the retained rows is the standard to compare with: its AUC on the forgotten rows
# is what "never seen" looks like for this split of the data.
model.unlearn(forget)
print(model.unlearn_report_["shards_retrained"], model.unlearn_report_["samples_retrained"])
scores_after, auc_after = audit(model)
print("after unlearning: ", {k: round(v, 3) for k, v in auc_after.items()})

retrained = clone(model).fit(X_train[retain], y_train[retain])
auc_retrained = {"forgotten": auc_against_unseen(retrained, forget)}
print(f"retrained from scratch: forgotten {auc_retrained['forgotten']:.3f}")

# %%
# The attack is a statistic of 250 forgotten rows, so an AUC of exactly 0.5 is not to be
# expected: when the forgotten rows are truly unseen, the AUC's standard deviation is about
# :math:`\sqrt{(n_1 + n_0 + 1) / (12 n_1 n_0)}`.
n1, n0 = len(forget), len(y_unseen)
noise = np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
print(f"sampling noise of the AUC: +/- {noise:.3f}")

# %%
# :func:`~skunlearn.metrics.verify_unlearning` proves what the attack suggests: every shard is
# identical to a shard retrained from scratch on its retained rows.
report = verify_unlearning(model, X_train, y_train)
print(report)


# %%
# The picture
# -----------
# Left: the attack's ROC curves against unseen rows (true-positive rate: members called members;
# false-positive rate: unseen rows called members). Before unlearning the forgotten rows are
# recognised as well as the retained ones; after, the attack does no better than chance on
# them, and still recognises the retained rows. Right: the areas under these curves.
def roc(scores, members):
    truth = np.r_[np.ones(len(scores[members])), np.zeros(len(scores["unseen"]))]
    fpr, tpr, _ = roc_curve(truth, np.r_[scores[members], scores["unseen"]])
    return fpr, tpr


fig, (ax_roc, ax_auc) = plt.subplots(1, 2, figsize=(10, 4))
colors = {"forgotten": "tab:red", "retained": "tab:blue"}
ax_roc.plot(
    *roc(scores_before, "forgotten"),
    "--",
    color=colors["forgotten"],
    label=f"forgotten rows, before (AUC {auc_before['forgotten']:.2f})",
)
ax_roc.plot(
    *roc(scores_after, "forgotten"),
    color=colors["forgotten"],
    label=f"forgotten rows, after (AUC {auc_after['forgotten']:.2f})",
)
ax_roc.plot(
    *roc(scores_after, "retained"),
    color=colors["retained"],
    label=f"retained rows, after (AUC {auc_after['retained']:.2f})",
)
ax_roc.plot([0, 1], [0, 1], color="k", linewidth=0.8)
ax_roc.set_xlabel("false-positive rate (unseen rows)")
ax_roc.set_ylabel("true-positive rate")
ax_roc.set_title("loss attack against unseen rows")
ax_roc.legend(loc="lower right", fontsize="small")

labels = ["before", "after unlearning", "retrained"]
width = 0.35
positions = np.arange(len(labels))
for offset, name in [(-width / 2, "forgotten"), (width / 2, "retained")]:
    values = np.array([auc.get(name, np.nan) for auc in (auc_before, auc_after, auc_retrained)])
    ax_auc.bar(
        positions + offset,
        values - 0.5,
        width,
        bottom=0.5,
        color=colors[name],
        label=f"{name} rows",
    )
ax_auc.axhspan(0.5 - 2 * noise, 0.5 + 2 * noise, color="0.85", zorder=0, label="chance, +/- 2 sd")
ax_auc.axhline(0.5, color="k", linewidth=0.8)
ax_auc.set_xticks(positions, labels)
ax_auc.set_ylim(0.4, 0.8)
ax_auc.set_ylabel("attack AUC against unseen rows")
ax_auc.legend(loc="upper right", fontsize="small")
fig.tight_layout()
plt.show()
