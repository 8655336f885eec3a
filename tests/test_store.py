"""Shard data and checkpoints on disk (``store=``) for the sharded ensembles.

The store is private machinery (``skunlearn/ensemble/_store.py``) behind a public parameter, so
it is tested through the estimators: the same model as in memory; after ``unlearn`` no file in
the directory holds a forgotten row (the bytes of every file are scanned); the directory holds
exactly the files the model references; pickles refer to the files; workers map their shard.
"""

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_digits
from sklearn.linear_model import Ridge, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier, ShardedEnsembleRegressor
from skunlearn.ensemble._store import StoredArray, referenced_files
from skunlearn.utils.estimator_checks import check_unlearner


def _digits(n=600):
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    # Jitter makes every row unique, so that its bytes identify it in a file.
    return X[:n] / 16 + rng.uniform(0, 1e-3, size=X[:n].shape), y[:n]


def _weights(n):
    return np.random.RandomState(1).uniform(0.5, 2.0, size=n)


CONFIGS = {
    "tree": lambda: ShardedEnsembleClassifier(n_shards=3, random_state=0),
    "sliced_sgd": lambda: ShardedEnsembleClassifier(
        SGDClassifier(loss="log_loss", max_iter=5, tol=None),
        n_shards=3,
        n_slices=4,
        random_state=0,
    ),
    # Neighbours keep their training rows in the shard models and in every checkpoint.
    "knn": lambda: ShardedEnsembleClassifier(
        KNeighborsClassifier(n_neighbors=3), n_shards=4, random_state=0
    ),
    "weighted_ridge": lambda: ShardedEnsembleRegressor(Ridge(), n_shards=4, random_state=0),
}
REQUESTS = ([7], [0, 1, 2, 300, 599], np.arange(100, 160))


def _fit(name, store=None, X=None, y=None, **params):
    X, y = _digits() if X is None else (X, y)
    model = CONFIGS[name]().set_params(store=store, **params)
    if name == "weighted_ridge":
        return model.fit(X, y.astype(float), sample_weight=_weights(len(y)))
    return model.fit(X, y)


def _files(root):
    return sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names)


def _all_bytes(root) -> bytes:
    return b"".join(open(f, "rb").read() for f in _files(root))


def _same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("name", CONFIGS)
def test_store_gives_the_same_model_as_memory(name, tmp_path):
    X, _ = _digits()
    on_disk, in_memory = _fit(name, store=tmp_path), _fit(name)
    _same_predictions(on_disk, in_memory, X)
    for request in REQUESTS:
        on_disk.unlearn(request)
        in_memory.unlearn(request)
        _same_predictions(on_disk, in_memory, X)
        for key in ("shards_retrained", "samples_retrained", "slices_replayed"):
            assert on_disk.unlearn_report_[key] == in_memory.unlearn_report_[key]
    assert on_disk.store_dir_.startswith(str(tmp_path)) and in_memory.store_dir_ is None


@pytest.mark.parametrize("name", CONFIGS)
def test_unlearn_rewrites_the_files_without_the_rows(name, tmp_path):
    X, _ = _digits()
    weights = _weights(len(X))
    model = _fit(name, store=tmp_path)
    assert all(X[i].tobytes() in _all_bytes(tmp_path) for i in (0, 7, 599)), "scan is blind"
    forgotten = []
    for request in REQUESTS:
        model.unlearn(request)
        forgotten.extend(request)
        blob = _all_bytes(tmp_path)
        for i in forgotten:
            assert X[i].tobytes() not in blob, f"row {i} is still in a file of the store"
            if name == "weighted_ridge":
                assert weights[i].tobytes() not in blob
        # Exactly the files the model references: nothing orphaned, nothing missing.
        assert set(_files(tmp_path)) == referenced_files(model._stored_refs())
    # Rows not forgotten are still there (the scan above could fail).
    assert X[8].tobytes() in _all_bytes(tmp_path)


def test_untouched_shards_keep_their_files(tmp_path):
    model = _fit("sliced_sgd", store=tmp_path)
    before = [tuple(ref.files for ref in data if ref is not None) for data in model._shard_data]
    checkpoints_before = [list(c) for c in model._checkpoints]
    row = int(model.slice_indices_[1][-1][0])  # a row of the last slice of shard 1
    model.unlearn([row])
    after = [tuple(ref.files for ref in data if ref is not None) for data in model._shard_data]
    assert model.unlearn_report_["shards_retrained"] == [1]
    assert after[0] == before[0] and after[2] == before[2]
    assert not set(after[1]) & set(before[1])
    # Only the last slice was replayed: the earlier checkpoints are the same files.
    assert model._checkpoints[1] == checkpoints_before[1]


def test_pickle_refers_to_the_files(tmp_path):
    X, _ = _digits()
    model = _fit("tree", store=tmp_path)
    blob = pickle.dumps(model)
    assert len(blob) < X.nbytes / 4
    assert X[10].tobytes() not in blob  # the rows stay in the files
    copy = pickle.loads(blob)
    _same_predictions(copy, model, X)

    # The copy works on the same files: its unlearn equals the original's...
    reference = _fit("tree")
    copy.unlearn([5, 50])
    reference.unlearn([5, 50])
    _same_predictions(copy, reference, X)
    # ...and deleted the files holding rows 5 and 50, which the original still refers to.
    # The original can still predict, but cannot unlearn, and a refusal changes nothing.
    state = pickle.dumps(model)
    with pytest.raises(FileNotFoundError, match="Another copy of the model sharing the store"):
        model.unlearn([60])
    assert pickle.dumps(model) == state
    assert set(_files(tmp_path)) == referenced_files(copy._stored_refs())
    model.predict(X)


def test_refit_replaces_the_directory(tmp_path):
    X, y = _digits()
    model = _fit("tree", store=tmp_path)
    first = model.store_dir_
    model.fit(X, y)
    assert model.store_dir_ != first and not os.path.exists(first)
    assert os.listdir(tmp_path) == [os.path.basename(model.store_dir_)]
    clone(model).fit(X, y)  # a clone shares the parameter, not the files
    assert len(os.listdir(tmp_path)) == 2 and os.path.exists(model.store_dir_)


class _FailingFit(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("injected failure in fit")

    def predict(self, X):  # pragma: no cover - never fitted
        raise AssertionError


def test_failed_fit_leaves_nothing_behind(tmp_path):
    X, y = _digits()
    with pytest.raises(RuntimeError, match="injected"):
        ShardedEnsembleClassifier(_FailingFit(), aggregation="hard", store=tmp_path).fit(X, y)
    assert os.listdir(tmp_path) == []


def test_store_must_be_a_directory(tmp_path):
    X, y = _digits()
    path = tmp_path / "a_file"
    path.write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        ShardedEnsembleClassifier(store=path).fit(X, y)
    with pytest.raises(ValueError, match="store"):
        ShardedEnsembleClassifier(store=3).fit(X, y)


@pytest.mark.parametrize("name", ["tree", "sliced_sgd"])
def test_contract_with_a_store(name, tmp_path):
    X, y = _digits(120)
    check_unlearner(CONFIGS[name]().set_params(store=tmp_path), X, y)


def test_sparse_data_and_string_labels(tmp_path):
    X, y = _digits()
    X = sp.csr_matrix(np.where(X > 0.3, X, 0))
    labels = np.array([f"digit {d}" for d in y], dtype=object)
    on_disk = ShardedEnsembleClassifier(n_shards=3, random_state=0, store=tmp_path).fit(X, labels)
    in_memory = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, labels)
    assert on_disk._shard_data[0][0].kind == "csr" and on_disk._shard_data[0][1].kind == "pickle"
    on_disk.unlearn([3, 4])
    in_memory.unlearn([3, 4])
    _same_predictions(on_disk, in_memory, X)
    blob = _all_bytes(tmp_path)
    for i in (3, 4):
        assert X[i].data.tobytes() not in blob


def test_fit_from_a_memory_mapped_file(tmp_path):
    """Data that lives on disk goes to the shard files block by block, never whole in memory."""
    X, y = _digits()
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    model = _fit("tree", store=tmp_path / "store", X=X_map, y=y)
    _same_predictions(model, _fit("tree"), X)


class _RecordsInput(ClassifierMixin, BaseEstimator):
    """Records how its training rows arrived."""

    def fit(self, X, y):
        self.got_memmap_ = isinstance(X, np.memmap)
        self.n_rows_ = X.shape[0]
        self.pid_ = os.getpid()
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.repeat(self.classes_[0], X.shape[0])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_workers_map_their_shard(n_jobs, tmp_path):
    X, y = _digits()
    model = ShardedEnsembleClassifier(
        _RecordsInput(),
        n_shards=3,
        aggregation="hard",
        n_jobs=n_jobs,
        store=tmp_path,
        random_state=0,
    ).fit(X, y)
    for est, rows in zip(model.estimators_, model.shard_indices_):
        assert est.got_memmap_ and est.n_rows_ == rows.size
    if n_jobs == 2:
        assert {est.pid_ for est in model.estimators_} != {os.getpid()}
    model.unlearn([0, 1, 2, 3])
    for est, rows in zip(model.estimators_, model.shard_indices_):
        assert est.got_memmap_ and est.n_rows_ == rows.size


def test_skops_with_a_store(tmp_path):
    sio = pytest.importorskip("skops.io", reason="skops is not installed (extra 'persistence')")
    X, _ = _digits()
    model = _fit("sliced_sgd", store=tmp_path)
    blob = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=blob)
    assert {
        "skunlearn.ensemble._store.ShardStore",
        "skunlearn.ensemble._store.StoredArray",
        "skunlearn.ensemble._store.StoredObject",
    } <= set(untrusted)
    loaded = sio.loads(blob, trusted=untrusted)
    assert isinstance(loaded._shard_data[0][0], StoredArray)
    reference = _fit("sliced_sgd")
    loaded.unlearn([1, 2])
    reference.unlearn([1, 2])
    _same_predictions(loaded, reference, X)


def test_relative_store_path_survives_a_change_of_directory(tmp_path, monkeypatch):
    X, _ = _digits()
    monkeypatch.chdir(tmp_path)
    model = _fit("tree", store="relative/store")
    assert os.path.isabs(model.store_dir_)
    assert model.store_dir_.startswith(str(tmp_path / "relative" / "store"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    model.unlearn([3])
    reference = _fit("tree").unlearn([3])
    _same_predictions(model, reference, X)
