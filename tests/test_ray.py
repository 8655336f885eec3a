"""Shard fits and retrains on a local Ray instance, through ``ray.util.joblib``.

``register_ray()`` adds joblib's "ray" backend, which runs each task as a Ray task in the Ray
worker processes started by ``ray.init``. The fitted sub-estimators record the process that
trained them, which proves that the work left the test process; fit and unlearn through Ray
give the predictions that ``n_jobs=1`` gives.
"""

import os
import sys

import joblib
import numpy as np
import pytest
from _process_recording import TreeRecordingProcess
from sklearn.datasets import load_wine

from skunlearn.ensemble import ShardedEnsembleClassifier

if os.environ.get("SKUNLEARN_REQUIRE_RAY") == "1":
    # CI installs the ray extra and sets this: a missing Ray fails there instead of skipping.
    import ray
    import ray.util.joblib as ray_joblib
else:
    ray = pytest.importorskip("ray", reason="ray is not installed (install skunlearn[ray])")
    ray_joblib = pytest.importorskip(
        "ray.util.joblib", reason="ray is installed without ray.util.joblib"
    )


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance of its own, two CPUs, no dashboard, shut down after the module."""
    if ray.is_initialized():  # pragma: no cover - a Ray instance left by someone else
        ray.shutdown()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
    )
    # The workers cannot import the tests' helper module: send its classes by value.
    helpers = sys.modules[TreeRecordingProcess.__module__]
    ray.cloudpickle.register_pickle_by_value(helpers)
    ray_joblib.register_ray()
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(helpers)
    ray.shutdown()


def test_fit_and_unlearn_through_ray_joblib(local_ray):
    X, y = load_wine(return_X_y=True)
    params = dict(estimator=TreeRecordingProcess(), n_shards=4, random_state=0)
    local = ShardedEnsembleClassifier(**params, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("ray"):
        remote = ShardedEnsembleClassifier(**params, n_jobs=-1).fit(X, y)
        trained_in = {est.pid_ for est in remote.estimators_}
        assert os.getpid() not in trained_in  # the shards were fitted by Ray workers
        np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))

        request = np.arange(0, len(y), 9)  # touches every shard
        remote.unlearn(request)
        local.unlearn(request)
        assert remote.unlearn_report_["shards_retrained"] == [0, 1, 2, 3]
        assert os.getpid() not in {est.pid_ for est in remote.estimators_}
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
    np.testing.assert_array_equal(remote.unlearned_indices_, local.unlearned_indices_)


def test_scale_guide_claims_on_ray(local_ray, tmp_path, capsys):
    """What doc/user_guide/scale.rst says of Ray: a request touching one shard retrains it in
    the calling process; with ``verbose`` the per-shard lines come at the end (Ray's backend
    cannot yield results as they complete); with ``store=`` the workers map the shard files
    themselves; every result is bitwise the one of ``n_jobs=1``."""
    X, y = load_wine(return_X_y=True)
    params = dict(estimator=TreeRecordingProcess(), n_shards=3, random_state=0)
    local = ShardedEnsembleClassifier(**params, n_jobs=1).fit(X, y)
    remote = ShardedEnsembleClassifier(**params, n_jobs=2, verbose=1, store=str(tmp_path))
    with joblib.parallel_backend("ray"):
        remote.fit(X, y)
        out = capsys.readouterr().out
        assert out.count("fitted shard") == 3 and "3/3 done" in out
        assert os.getpid() not in {est.pid_ for est in remote.estimators_}

        one_shard = remote.shard_indices_[1][:2]
        remote.unlearn(one_shard)
        local.unlearn(one_shard)
        assert remote.unlearn_report_["shards_retrained"] == [1]
        assert remote.estimators_[1].pid_ == os.getpid()  # no Ray task for one shard
        assert os.getpid() not in {remote.estimators_[k].pid_ for k in (0, 2)}
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    assert remote.store_dir_.startswith(str(tmp_path))
