"""Saving and loading every unlearner (pickle, joblib, skops) keeps it fully working.

For each unlearner found by ``all_unlearners()``: a model saved after some requests and loaded
back predicts as the original did, and the next ``unlearn`` gives the same model on both sides
(unlearn after load equals unlearn before save). skops loads only the types it is told to
trust; the types it reports as untrusted must be ours or reviewed foreign ones (listed below
and in doc/user_guide/scale.rst).
"""

import io
import pickle

import joblib
import numpy as np
import pytest
from _unlearner_cases import (
    assert_same_outputs,
    fitted,
    instance_id,
    make_data,
    unlearner_instances,
)

INSTANCES = unlearner_instances()

# Types that skops does not trust by default and that are not skunlearn's own, each reviewed.
# A new one makes test_skops_untrusted_types_are_reviewed fail until it is reviewed here and
# listed in the user guide.
REVIEWED_FOREIGN_TYPES = {
    "numpy.dtype": (
        "a NumPy dtype object kept in a fitted state (the exact linear models record the "
        "training dtype); rebuilt from its type string, no code runs"
    ),
    "sklearn.neighbors._kd_tree.KDTree": (
        "scikit-learn's KD-tree index of the nearest-neighbour models, rebuilt from its arrays"
    ),
    "sklearn.neighbors._ball_tree.BallTree": (
        "scikit-learn's ball-tree index of the nearest-neighbour models, rebuilt from its arrays"
    ),
    "sklearn.metrics._dist_metrics.EuclideanDistance64": (
        "the distance object held by a KD-tree or ball tree (no state beyond its parameters)"
    ),
    "sklearn.gaussian_process.kernels.RBF": (
        "scikit-learn's RBF kernel (SparseGPClassifier's kernel): a plain object holding its "
        "length scale"
    ),
    "sklearn.tree._tree.Tree": (
        "scikit-learn's compiled tree (inside every decision tree and forest); skops "
        "rebuilds it from its arrays, but does not list it as trusted by default"
    ),
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": (
        "the compiled predictor of each HistGradientBoosting tree: its node array and "
        "bitsets, rebuilt from their arrays"
    ),
}


def _pickle(est):
    return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))


def _joblib(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(est):
    sio = pytest.importorskip("skops.io", reason="skops is not installed (extra 'persistence')")
    blob = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=blob)
    _check_reviewed(untrusted)
    return sio.loads(blob, trusted=untrusted)


def _check_reviewed(untrusted):
    unknown = [t for t in untrusted if not t.startswith("skunlearn.")]
    unknown = [t for t in unknown if t not in REVIEWED_FOREIGN_TYPES]
    assert not unknown, (
        f"skops reports untrusted types {unknown} that are neither skunlearn's nor reviewed: "
        "review them and add them to REVIEWED_FOREIGN_TYPES and the user guide (scale.rst)"
    )


FORMATS = {"pickle": _pickle, "joblib": _joblib, "skops": _skops}

# Failures of other modules' estimators, reported to their authors; strict, so that the fix
# makes the test fail until the entry is removed.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def _cases():
    for estimator in INSTANCES:
        for fmt in FORMATS:
            reason = KNOWN_FAILURES.get((type(estimator).__name__, fmt))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(estimator, fmt, marks=marks, id=f"{instance_id(estimator)}-{fmt}")


def _without_timings(report):
    if isinstance(report, dict):
        return {k: _without_timings(v) for k, v in report.items() if k != "seconds"}
    if isinstance(report, list | tuple):
        return [_without_timings(v) for v in report]
    return report


def _assert_same_report(a, b):
    np.testing.assert_equal(_without_timings(a), _without_timings(b))


def test_every_unlearner_is_covered():
    names = {type(est).__name__ for est in INSTANCES}
    assert {"ShardedEnsembleClassifier", "ShardedEnsembleRegressor"} <= names


@pytest.mark.parametrize("estimator, fmt", list(_cases()))
def test_unlearn_after_load_equals_unlearn_before_save(estimator, fmt):
    X, y = make_data(estimator)
    est = fitted(estimator, X, y)
    est.unlearn([0, 7])  # the saved model carries earlier requests
    loaded = FORMATS[fmt](est)

    assert type(loaded) is type(est)
    assert loaded.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    assert_same_outputs(est, loaded, X)
    assert loaded.n_samples_fit_ == est.n_samples_fit_
    np.testing.assert_array_equal(loaded.unlearned_indices_, est.unlearned_indices_)
    assert loaded.estimate_unlearn_cost([5, 9]) == est.estimate_unlearn_cost([5, 9])

    request = [3, 11, 20, 41]
    assert est.unlearn(request) is est
    assert loaded.unlearn(request) is loaded
    assert_same_outputs(est, loaded, X)
    np.testing.assert_array_equal(loaded.unlearned_indices_, [0, 3, 7, 11, 20, 41])
    _assert_same_report(est.unlearn_report_, loaded.unlearn_report_)

    # The bookkeeping survived: what was forgotten before saving cannot be forgotten again.
    with pytest.raises(ValueError, match="already unlearned"):
        loaded.unlearn([7])
    # And the loaded model is an ordinary estimator: it can be refitted.
    loaded.fit(X) if y is None else loaded.fit(X, y)
    assert loaded.unlearned_indices_.size == 0


@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_skops_refuses_untrusted_types(estimator):
    sio = pytest.importorskip("skops.io", reason="skops is not installed (extra 'persistence')")
    X, y = make_data(estimator)
    blob = sio.dumps(fitted(estimator, X, y))
    untrusted = sio.get_untrusted_types(data=blob)
    assert any(t.startswith("skunlearn.") for t in untrusted)
    from skops.io.exceptions import UntrustedTypesFoundException

    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(blob)
    # Trusting only what skops reports, after review, loads it.
    _check_reviewed(untrusted)
    sio.loads(blob, trusted=untrusted)


def test_skops_untrusted_types_are_reviewed():
    """The untrusted types of every unlearner, gathered: ours plus the reviewed foreign ones."""
    sio = pytest.importorskip("skops.io", reason="skops is not installed (extra 'persistence')")
    found = set()
    for estimator in INSTANCES:
        X, y = make_data(estimator)
        est = fitted(estimator, X, y)
        est.unlearn([1])
        found |= set(sio.get_untrusted_types(data=sio.dumps(est)))
    _check_reviewed(sorted(found))
    assert "skunlearn.ensemble._sharded.ShardedEnsembleClassifier" in found
