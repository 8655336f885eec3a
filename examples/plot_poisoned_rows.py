"""
=========================================================
Removing mislabelled and poisoned rows restores the model
=========================================================

Training data often comes from many sources, and some of them are bad: a careless annotator
whose labels are systematically wrong, or an attacker who plants a *backdoor* (rows carrying a
small trigger pattern, all labelled with the class the attacker wants). Once a bad source is
found, its rows must leave the model, and every model trained on them.

Here a :class:`~skunlearn.ensemble.ShardedEnsembleClassifier` is trained on digits collected
from 20 contributors, six of them bad. Unlearning their rows, contributor by contributor,
restores the accuracy and removes the backdoor, and the result is exactly the model trained
without them. Sharding the rows by contributor makes each removal retrain a single shard.
"""

# %%
# Data from 20 contributors, six of them bad
# ------------------------------------------
# Five careless contributors label every digit as the next one (a 3 as a 4, a 9 as a 0), and
# one attacker lights up the top-left corner of its images and labels them all 0: a model that
# learns the trigger reads any digit with a lit corner as a 0.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.metrics import verify_unlearning

X, y = load_digits(return_X_y=True)
X_clean, X_test, y_clean, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
rng = np.random.RandomState(0)
contributor = rng.randint(20, size=len(y_clean))
careless = [2, 5, 9, 14, 17]
attacker = 11


def add_trigger(images):
    """Light up the 2x2 top-left corner of 8x8 digit images."""
    images = images.copy()
    images[:, [0, 1, 8, 9]] = 16.0
    return images


X_train, y_train = X_clean.copy(), y_clean.copy()
sloppy = np.isin(contributor, careless)
y_train[sloppy] = (y_train[sloppy] + 1) % 10
planted = contributor == attacker
X_train[planted] = add_trigger(X_train[planted])
y_train[planted] = 0
print(f"{sloppy.sum()} mislabelled rows, {planted.sum()} poisoned rows of {len(y_train)}")

# %%
# The backdoor's success rate is the share of test digits other than 0 that the model reads as
# a 0 once the trigger is added.
X_triggered = add_trigger(X_test[y_test != 0])


def evaluate(model):
    accuracy = model.score(X_test, y_test)
    backdoor = np.mean(model.predict(X_triggered) == 0)
    return accuracy, backdoor


def make_model():
    # A loose solver tolerance keeps the example fast and changes none of its conclusions.
    return ShardedEnsembleClassifier(
        make_pipeline(StandardScaler(), LogisticRegression(tol=1e-2)),
        n_shards=5,
        random_state=0,
    )


# %%
# Unlearn the bad contributors, one request each
# ----------------------------------------------
# Each request names one contributor's rows (here as a boolean mask over the training rows;
# positions work too). The ensemble retrains only the shards that held them, each once per
# request. We try two partitions of the rows into shards: at random (the default), and by
# contributor (``groups=contributor``), which keeps every contributor's rows in one shard.


def unlearn_bad_contributors(partition):
    model = make_model()
    groups = contributor if partition == "by contributor" else None
    model.fit(X_train, y_train, groups=groups)
    accuracy, backdoor = evaluate(model)
    print(f"{partition}: before, accuracy {accuracy:.3f}, backdoor success {backdoor:.1%}")
    history = [(accuracy, backdoor, 0)]
    for source in [*careless, attacker]:
        model.unlearn(contributor == source)
        report = model.unlearn_report_
        accuracy, backdoor = evaluate(model)
        history.append((accuracy, backdoor, report["samples_retrained"]))
        print(
            f"  contributor {source:2d} ({report['n_removed']:2d} rows) forgotten: retrained "
            f"shards {report['shards_retrained']} on {report['samples_retrained']:4d} rows; "
            f"accuracy {accuracy:.3f}, backdoor {backdoor:.1%}"
        )
    return model, np.array(history)


model_random, history_random = unlearn_bad_contributors("random")
model_grouped, history_grouped = unlearn_bad_contributors("by contributor")

# %%
# Both ways, accuracy climbs back as each careless contributor leaves. With a random partition
# every shard holds some of every contributor's rows, so the backdoor is learnt everywhere
# (and succeeds), and every request retrains every shard: about a full retrain each time.
# Sharded by contributor, a request retrains one shard, and the attacker's rows sat in a
# single shard, outvoted by the others, so its backdoor never worked.

# %%
# The same as never having seen them
# ----------------------------------
# :func:`~skunlearn.metrics.verify_unlearning` retrains every shard from scratch on its
# retained rows, with its seed, and compares: the unlearned model is identical. (Its score on
# the forgotten rows is near zero: their labels were wrong, and the model no longer repeats
# them.)
print(verify_unlearning(model_grouped, X_train, y_train))

# %%
# A fresh fit on the good rows deals them to shards differently, so it is another valid model
# rather than a bitwise reference, but its accuracy is what the unlearned models should reach.
good = ~(sloppy | planted)
fresh_accuracy, fresh_backdoor = evaluate(make_model().fit(X_train[good], y_train[good]))
print(f"fresh fit on the good rows: accuracy {fresh_accuracy:.3f}, backdoor {fresh_backdoor:.1%}")

# %%
# The picture
# -----------
steps = ["none"] + [str(c) for c in careless] + [f"{attacker}\n(attacker)"]
fig, (ax_accuracy, ax_backdoor, ax_cost) = plt.subplots(1, 3, figsize=(11, 4.4))
for history, name, color in [
    (history_random, "random shards", "tab:blue"),
    (history_grouped, "shards by contributor", "tab:green"),
]:
    ax_accuracy.plot(steps, history[:, 0], "o-", color=color, label=name)
    ax_backdoor.plot(steps, history[:, 1], "s-", color=color, label=name)
ax_accuracy.axhline(
    fresh_accuracy, color="k", linewidth=0.8, linestyle=":", label="fresh fit on the good rows"
)
ax_accuracy.set_ylabel("test accuracy")
ax_backdoor.set_ylabel("backdoor success rate")
ax_backdoor.set_ylim(-0.02, 1.02)
for ax in (ax_accuracy, ax_backdoor):
    ax.set_xlabel("contributors unlearned so far")

x = np.arange(1, len(steps))
ax_cost.bar(x - 0.2, history_random[1:, 2], 0.4, color="tab:blue")
ax_cost.bar(x + 0.2, history_grouped[1:, 2], 0.4, color="tab:green")
ax_cost.set_xticks(x, steps[1:])
ax_cost.set_xlabel("contributor unlearned")
ax_cost.set_ylabel("rows retrained by the request")
ax_cost.set_title("cost of each request")
# One legend for the three panels, above them, where it hides no point.
fig.legend(*ax_accuracy.get_legend_handles_labels(), loc="upper center", ncol=3)
fig.tight_layout(rect=(0, 0, 1, 0.9))
plt.show()
