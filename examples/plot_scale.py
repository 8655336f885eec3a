"""
==========================================================
Unlearning with shard data on disk, and sharing the model
==========================================================

A sharded ensemble keeps every shard's rows, because forgetting a row means retraining its
shard without it. With ``store=`` those rows (and the slice checkpoints) live in files instead
of memory: the data can be larger than memory, and forgetting a row rewrites its shard's files
without it. This example fits such a model on data that lives in a memory-mapped file,
compares the memory fitting needs with and without a store, checks that a forgotten row has
left every file, and shares the model safely with skops.
"""

# %%
# Data on disk
# ------------
# 200,000 rows of 20 features are written to a ``.npy`` file and opened memory-mapped, as data
# too large for memory would be.
import os
import shutil
import tempfile
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
import skops.io as sio
from sklearn.linear_model import SGDClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier

workdir = tempfile.mkdtemp()
rng = np.random.RandomState(0)
X_all = rng.normal(size=(200_000, 20))
y = (X_all[:, :5].sum(axis=1) + rng.logistic(size=len(X_all)) > 0).astype(int)
np.save(os.path.join(workdir, "X.npy"), X_all)
del X_all
X = np.load(os.path.join(workdir, "X.npy"), mmap_mode="r")
data_mb = X.nbytes / 2**20
print(f"{X.shape[0]} rows, {data_mb:.0f} MB of features on disk")


def model(store=None):
    return ShardedEnsembleClassifier(
        SGDClassifier(loss="log_loss", max_iter=5, tol=None),
        n_shards=8,
        n_slices=4,
        random_state=0,
        store=store,
    )


# %%
# Memory needed to fit, with and without a store
# -----------------------------------------------
# ``tracemalloc`` follows NumPy's allocations. In memory, the ensemble copies every shard's
# rows (about the size of the data). With a store, the rows go to the shard files a block at a
# time and each shard is read back through a memory map while it trains.
peaks = {}
for label, store in [("in memory", None), ("store=", os.path.join(workdir, "store"))]:
    tracemalloc.start()
    fitted = model(store).fit(X, y)
    peaks[label] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
on_disk = fitted
print({label: f"{peak:.0f} MB" for label, peak in peaks.items()})

fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.bar(list(peaks), list(peaks.values()), color=["tab:gray", "tab:blue"])
ax.axhline(data_mb, color="k", linestyle="--", label="size of the data")
ax.set_ylabel("peak memory during fit (MB)")
ax.legend()
fig.tight_layout()

# %%
# Forgetting rewrites the files
# -----------------------------
# Each fit writes into its own directory, ``store_dir_``. Forgetting rows writes the retained
# rows of the affected shards to new files, then deletes the old ones: afterwards no file holds
# the forgotten rows' bytes.


def directory_bytes(path):
    return b"".join(open(os.path.join(path, f), "rb").read() for f in os.listdir(path))


forget = [12, 3_456, 150_000]
before = directory_bytes(on_disk.store_dir_)
print("rows in the files before:", [X[i].tobytes() in before for i in forget])
on_disk.unlearn(forget)
after = directory_bytes(on_disk.store_dir_)
print("rows in the files after: ", [X[i].tobytes() in after for i in forget])
print("shards retrained:", on_disk.unlearn_report_["shards_retrained"])

# %%
# Sharing the model with skops
# ----------------------------
# A pickle would run whatever code its author chose when loaded. skops loads only the types it
# is told to trust: list them, check that they are skunlearn's (a model with a store refers to
# its files through small ``skunlearn.ensemble._store`` objects), then load. The loaded model
# refers to the same files, so it can go on forgetting.
path = os.path.join(workdir, "model.skops")
sio.dump(on_disk, path)
untrusted = sio.get_untrusted_types(file=path)
print(untrusted)
assert all(t.startswith("skunlearn.") for t in untrusted)
loaded = sio.load(path, trusted=untrusted)
loaded.unlearn([7, 8])
reference = model().fit(X, y).unlearn(forget).unlearn([7, 8])
print(
    "same predictions as a model kept in memory:",
    np.array_equal(loaded.predict_proba(X[:1000]), reference.predict_proba(X[:1000])),
)

# %%
# The files belong to the model: delete its directory when the model is no longer needed.
shutil.rmtree(workdir)
