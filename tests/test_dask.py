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
from _process_recording import TreeRecordingProcess
from sklearn.datasets import load_wine

from skunlearn.ensemble import ShardedEnsembleClassifier

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (install skunlearn[dask])"
)


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
    params = dict(estimator=TreeRecordingProcess(), n_shards=4, random_state=0)
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
