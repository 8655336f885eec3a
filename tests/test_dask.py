"""Shard fits and retrains on a real Dask cluster, through joblib's "dask" backend.

A ``distributed.LocalCluster`` of two worker processes on the loopback interface runs the
shards; the fitted sub-estimators record the process that trained them, which proves that
the work left the test process. Fit and unlearn on the cluster give the predictions that
``n_jobs=1`` gives, in memory and with ``store=`` (workers and client share the disk here).
"""

import os

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_wine
from sklearn.tree import DecisionTreeClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (install skunlearn[dask])"
)


class _TreeRecordingProcess(ClassifierMixin, BaseEstimator):
    """A seeded decision tree that remembers the process that trained it."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.tree_ = DecisionTreeClassifier(random_state=self.random_state).fit(X, y)
        self.classes_ = self.tree_.classes_
        self.pid_ = os.getpid()
        return self

    def predict(self, X):
        return self.tree_.predict(X)

    def predict_proba(self, X):
        return self.tree_.predict_proba(X)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
    # Leaving the with-blocks closed the client, the scheduler and both worker processes.


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "store"])
def test_fit_and_unlearn_on_a_dask_cluster(client, on_disk, tmp_path):
    X, y = load_wine(return_X_y=True)
    params = dict(estimator=_TreeRecordingProcess(), n_shards=4, random_state=0)
    local = ShardedEnsembleClassifier(**params, n_jobs=1).fit(X, y)
    store = tmp_path / "store" if on_disk else None
    with joblib.parallel_config(backend="dask"):
        remote = ShardedEnsembleClassifier(**params, n_jobs=-1, store=store).fit(X, y)
        worker_pids = set(client.run(os.getpid).values())
        assert os.getpid() not in worker_pids and len(worker_pids) == 2
        assert {est.pid_ for est in remote.estimators_} <= worker_pids
        np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))

        request = np.arange(0, len(y), 9)  # touches every shard
        remote.unlearn(request)
        local.unlearn(request)
        assert remote.unlearn_report_["shards_retrained"] == [0, 1, 2, 3]
        assert {est.pid_ for est in remote.estimators_} <= worker_pids
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    np.testing.assert_array_equal(remote.unlearned_indices_, local.unlearned_indices_)
