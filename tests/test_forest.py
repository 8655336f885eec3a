"""The unlearnable forest: after any sequence of requests, every tree is bitwise the tree a fit
on the retained rows (in their original order, same random_state) grows.

Trees are compared array by array (features, thresholds, children, row ranges, leaf values,
cached statistics; the stored row positions through the map from the fresh fit's positions to
the original ones) and through ``predict_proba`` / ``predict``, bitwise. Small data and few
trees keep every test to a few seconds; a small cache threshold makes the cached-statistics
path run on them.
"""

import pickle
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import GridSearchCV

from skunlearn.ensemble import (
    UnlearningForestClassifier,
    UnlearningForestRegressor,
    _forest,
    _forest_delete,
)
from skunlearn.ensemble._forest_core import FIELD, compact_trees


@pytest.fixture(params=[_forest._CACHE_MIN_SAMPLES, 12], ids=["cache256", "cache12"])
def cache_min(request, monkeypatch):
    """Run with the default cache threshold and with one small enough to cache most nodes."""
    monkeypatch.setattr(_forest, "_CACHE_MIN_SAMPLES", request.param)
    return request.param


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:700], y[:700]


def _ten_classes():
    return make_classification(
        n_samples=500, n_features=12, n_informative=8, n_classes=10, random_state=0
    )


def _regression():
    return make_regression(n_samples=400, n_features=8, noise=5.0, random_state=0)


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:300], y[:300]


CLASSIFICATION = {
    "digits": _digits,
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
    "ten_classes": _ten_classes,
}
REGRESSION = {"make_regression": _regression, "diabetes": _diabetes}


def assert_same_forest(model, fresh, keep, X):
    """``model`` (unlearned) equals ``fresh`` (fitted on ``X[keep]``), tree by tree."""
    assert len(model._trees) == len(fresh._trees)
    mine_trees = compact_trees(model._trees, model._params)
    fresh_trees = compact_trees(fresh._trees, fresh._params)
    for t, (a, b) in enumerate(zip(mine_trees, fresh_trees)):
        for name, i in FIELD.items():
            mine = a[i]
            other = b[i]
            if name == "order":
                # ``order`` keeps its length: the live rows, then -1 for each forgotten one.
                live = a[FIELD["count"]][0]
                assert (mine[live:] == -1).all(), t
                mine = mine[:live]
                other = keep[other].astype(other.dtype)
            assert mine.shape == other.shape, (t, name, mine.shape, other.shape)
            assert mine.dtype == other.dtype, (t, name)
            assert np.array_equal(mine, other), f"tree {t}: {name} differs"
    if hasattr(model, "classes_"):
        np.testing.assert_array_equal(model.classes_, fresh.classes_)
        assert np.array_equal(model.predict_proba(X), fresh.predict_proba(X))
    assert np.array_equal(model.predict(X), fresh.predict(X))
    assert np.array_equal(model.apply(X), fresh.apply(X))
    assert np.array_equal(model.feature_importances_, fresh.feature_importances_)


def assert_same_trees(a, b, params):
    """Same trees, in the layout fit gives them (free ids left by unlearning aside)."""
    assert len(a) == len(b)
    for ta, tb in zip(compact_trees(a, params), compact_trees(b, params)):
        for name, i in FIELD.items():
            assert ta[i].dtype == tb[i].dtype and np.array_equal(ta[i], tb[i]), name


def run_requests(est, X, y, requests, sample_weight=None):
    """Fit, apply ``requests`` one after the other, and compare with a fresh fit."""
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    model = clone(est).fit(X, y, **fit_params)
    forgotten = np.empty(0, dtype=int)
    for request in requests:
        model.unlearn(request)
        forgotten = np.union1d(forgotten, request)
    keep = np.setdiff1d(np.arange(len(y)), forgotten)
    fresh_params = {} if sample_weight is None else {"sample_weight": sample_weight[keep]}
    fresh = clone(est).fit(X[keep], y[keep], **fresh_params)
    assert_same_forest(model, fresh, keep, X)
    return model


def _requests(n, seed, sizes=(1, 1, 7, 30)):
    rng = np.random.RandomState(seed)
    perm = rng.permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(perm[start : start + size])
        start += size
    return out


@pytest.mark.parametrize("name", list(CLASSIFICATION))
def test_classifier_equals_fresh_fit(name, cache_min):
    X, y = CLASSIFICATION[name]()
    est = UnlearningForestClassifier(n_estimators=4, random_state=0)
    run_requests(est, X, y, _requests(len(y), seed=1))


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regressor_equals_fresh_fit(name, cache_min):
    X, y = REGRESSION[name]()
    est = UnlearningForestRegressor(n_estimators=3, max_features=0.5, random_state=0)
    run_requests(est, X, y, _requests(len(y), seed=2))


@pytest.mark.parametrize(
    "params",
    [
        {"criterion": "entropy"},
        {"min_samples_leaf": 3, "min_samples_split": 7},
        {"max_depth": 4},
        {"random_depth": 0},
        {"random_depth": 3, "n_thresholds": 2},
        {"max_features": None, "n_thresholds": 1},
        {"max_features": "log2", "n_thresholds": 12},
    ],
    ids=repr,
)
def test_parameters_keep_exactness(params, cache_min):
    X, y = load_breast_cancer(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=3, random_state=3, **params)
    run_requests(est, X, y, _requests(len(y), seed=4))


def test_regressor_parameters_keep_exactness(cache_min):
    X, y = _regression()
    est = UnlearningForestRegressor(
        n_estimators=3, min_samples_leaf=2, max_depth=6, random_depth=2, random_state=5
    )
    run_requests(est, X, y, _requests(len(y), seed=6))


def test_one_batch_equals_many_requests():
    X, y = load_wine(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=5, random_state=0)
    rows = np.arange(0, 178, 9)
    one = clone(est).fit(X, y).unlearn(rows)
    many = clone(est).fit(X, y)
    for row in rows[::-1]:
        many.unlearn([row])
    assert_same_trees(one._trees, many._trees, one._params)


def test_whole_leaf_removed(cache_min):
    X, y = load_breast_cancer(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=3, random_state=0)
    model = clone(est).fit(X, y)
    tree = model._trees[0]
    feature, start, count = (tree[FIELD[k]] for k in ("feature", "start", "count"))
    leaf = int(np.flatnonzero((feature < 0) & (count >= 3))[0])
    rows = np.sort(tree[FIELD["order"]][start[leaf] : start[leaf] + count[leaf]])
    others = np.setdiff1d(np.arange(len(y)), rows)[::97]
    run_requests(est, X, y, [rows, others])


def test_whole_class_removed(cache_min):
    X, y = load_iris(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=4, random_state=0)
    model = run_requests(est, X, y, [np.flatnonzero(y == 1)[:20], np.flatnonzero(y == 1)[20:]])
    np.testing.assert_array_equal(model.classes_, [0, 2])
    assert model.n_classes_ == 2 and model.predict_proba(X).shape == (150, 2)
    # and it keeps unlearning exactly with the remaining classes
    run_requests(est, X, y, [np.flatnonzero(y == 1), [0, 120]])


def test_string_labels_and_class_removed():
    X, y = load_wine(return_X_y=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    est = UnlearningForestClassifier(n_estimators=3, random_state=1)
    model = run_requests(est, X, labels, [np.flatnonzero(labels == "barbera")])
    assert set(model.predict(X)) <= {"barolo", "grignolino"}
    np.testing.assert_array_equal(model.classes_, ["barolo", "grignolino"])


def test_sample_weight(cache_min):
    X, y = load_breast_cancer(return_X_y=True)
    w = np.random.RandomState(0).choice([0.0, 0.5, 1.0, 2.5, 7.0], size=len(y))
    est = UnlearningForestClassifier(n_estimators=3, random_state=2)
    run_requests(est, X, y, _requests(len(y), seed=3), sample_weight=w)


def test_low_parts_kept_only_where_sums_can_round():
    # Integer class counts are exact plain sums: their slots keep no low part (half the
    # memory of a classifier's slots); fractional weights keep one per class. Exactness with
    # and without them: test_classifier_equals_fresh_fit, test_sample_weight.
    X, y = load_wine(return_X_y=True)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    plain = UnlearningForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    weighted = UnlearningForestClassifier(n_estimators=2, random_state=0)
    weighted.fit(X, y, sample_weight=w)
    for model, low in ((plain, 0), (weighted, 3)):
        for tree in model._trees:
            assert tree[FIELD["c_lhi"]].shape[0] > 0  # the root keeps a slot
            assert tree[FIELD["c_lhi"]].shape[-1] == 3
            assert tree[FIELD["c_llo"]].shape[-1] == low
            assert tree[FIELD["c_tlo"]].shape[-1] == low


def test_unit_weights_keep_no_weight_channel(cache_min):
    # With every weight 1 the regressor's candidates keep weighted y alone (their left
    # weight is their left row count): a third of the slots. Weights all 2 keep the weight
    # channel and scale every sum exactly, so both grow bitwise the same trees, before and
    # after unlearning.
    X, y = _regression()
    est = UnlearningForestRegressor(n_estimators=3, max_features=0.5, random_state=0)
    unit = clone(est).fit(X, y)
    doubled = clone(est).fit(X, y, sample_weight=np.full(len(y), 2.0))
    for model, channels in ((unit, 1), (doubled, 2)):
        for tree in model._trees:
            assert tree[FIELD["c_lhi"]].shape[-1] == channels
            assert tree[FIELD["c_llo"]].shape[-1] == channels
    for request in _requests(len(y), seed=3):
        for model in (unit, doubled):
            model.unlearn(request)
        assert np.array_equal(unit.predict(X), doubled.predict(X))
        assert np.array_equal(unit.apply(X), doubled.apply(X))
        assert np.array_equal(unit.feature_importances_, doubled.feature_importances_)


def test_sample_weight_regression(cache_min):
    X, y = _diabetes()
    w = np.random.RandomState(1).uniform(0.1, 3.0, size=len(y))
    est = UnlearningForestRegressor(n_estimators=2, max_features=0.5, random_state=2)
    run_requests(est, X, y, _requests(len(y), seed=4), sample_weight=w)


@pytest.mark.parametrize("class_weight", [{0: 1.0, 1: 3.0, 2: 0.3}, "balanced"], ids=repr)
def test_class_weight(class_weight):
    X, y = load_wine(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=3, class_weight=class_weight, random_state=0)
    run_requests(est, X, y, _requests(len(y), seed=5))


def test_zero_weight_rows_are_not_grown_on():
    X, y = load_iris(return_X_y=True)
    w = np.ones(len(y))
    w[::3] = 0.0
    a = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y, sample_weight=w)
    b = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X[w > 0], y[w > 0])
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    a.unlearn([0, 3])  # rows of zero weight: in no tree, only purged
    assert not a._X[[0, 3]].any()
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_forgotten_rows_are_zeroed_and_counted_nowhere():
    X, y = _regression()
    model = UnlearningForestRegressor(n_estimators=2, random_state=0).fit(X, y)
    model.unlearn([4, 17])
    assert not model._X[[4, 17]].any() and not model._y[[4, 17]].any()
    for tree in model._trees:
        assert not np.isin([4, 17], tree[FIELD["order"]]).any()
        assert tree[FIELD["count"]][0] == len(y) - 2


def _fail_third_plan(monkeypatch):
    """Make the third tree planned raise MemoryError; returns the list of plans attempted."""
    from skunlearn.ensemble import _forest_core

    calls = []
    real = _forest_core.plan_tree

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("injected")
        return real(*args)

    monkeypatch.setattr(_forest_core, "plan_tree", failing)
    return calls


def test_failed_request_changes_nothing(monkeypatch):
    # Requests are planned for every tree before any tree is patched in place: a failure while
    # planning (here in the third tree) leaves the forest, its data and its pickle as they were.
    from skunlearn.ensemble import _forest_core

    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    model.unlearn([1, 2])
    before = pickle.dumps(model)
    proba = model.predict_proba(X)
    real = _forest_core.plan_tree
    calls = _fail_third_plan(monkeypatch)
    with pytest.raises(MemoryError, match="injected"):
        model.unlearn(np.arange(10, 569, 5))
    assert len(calls) == 3
    assert pickle.dumps(model) == before
    assert np.array_equal(model.predict_proba(X), proba)
    monkeypatch.setattr(_forest_core, "plan_tree", real)
    run_requests(model, X, y, [[1, 2], np.arange(10, 569, 5)])


def test_concurrent_reader_sees_old_or_new_forest():
    # unlearn patches the trees in place; a reader in another thread must still see the
    # forest before the request or after it, never a mix of both.
    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=8, random_state=0).fit(X, y)
    old = model.predict_proba(X)
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            seen.append(model.predict_proba(X))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(20):
            if seen:
                break
            threading.Event().wait(0.01)
        model.unlearn(np.arange(0, 569, 3))
    finally:
        stop.set()
        reader.join()
    new = model.predict_proba(X)
    assert seen
    assert all(np.array_equal(p, old) or np.array_equal(p, new) for p in seen)


def test_plans_of_every_kind_stay_exact(cache_min):
    # One-row requests exercise the ways a plan applies: patched in place with no subtree
    # rebuilt, patched with rebuilt subtrees in freed ids (or past the last one in use), and
    # laid out afresh in new arrays when there is no room left.
    from skunlearn.ensemble import _forest_core
    from skunlearn.ensemble._forest_delete import NEW, PATCH

    X, y = load_digits(return_X_y=True)
    est = UnlearningForestClassifier(n_estimators=4, random_depth=0, random_state=0)
    model = clone(est).fit(X, y)
    # Without room to spare (as in a pickle), the first growing tree is laid out afresh.
    model._set_trees(compact_trees(model._trees, model._params))
    kinds = set()
    real = _forest_core.plan_tree

    def spy(*args):
        plan = real(*args)
        kinds.add((int(plan[1]), int(plan[3]) > 0))
        return plan

    rows = np.random.RandomState(0).permutation(len(y))[:60]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_forest_core, "plan_tree", spy)
        for i in rows:
            model.unlearn([int(i)])
    assert {(PATCH, False), (PATCH, True), (NEW, True)} <= kinds
    keep = np.setdiff1d(np.arange(len(y)), rows)
    assert_same_forest(model, clone(est).fit(X[keep], y[keep]), keep, X)


def test_free_ids_and_slots_are_wiped():
    # Ids and slots freed by rebuilt subtrees, and the room past the last one in use, hold
    # nothing of the old subtrees; ``meta`` counts them.
    X, y = load_digits(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=3, random_depth=0, random_state=0)
    model.fit(X, y)
    for pair in np.random.RandomState(1).permutation(len(y))[:40].reshape(20, 2):
        model.unlearn(pair)
    for tree in model._trees:
        feature, left, right = (tree[FIELD[k]] for k in ("feature", "left", "right"))
        meta = tree[FIELD["meta"]]
        live = _forest_delete.preorder_ids(feature, left, right)
        dead = np.setdiff1d(np.arange(feature.size), live)
        assert dead.size == feature.size - meta[0] + meta[2]
        for name in ("feature", "left", "right", "slot"):
            assert (tree[FIELD[name]][dead] == -1).all(), name
        for name in ("threshold", "start", "count", "wsum", "impurity", "value"):
            assert not tree[FIELD[name]][dead].any(), name
        slot = tree[FIELD["slot"]]
        unused = np.setdiff1d(np.arange(tree[FIELD["c_feat"]].shape[0]), slot[live])
        assert unused.size == tree[FIELD["c_feat"]].shape[0] - meta[1] + meta[3]
        assert (tree[FIELD["c_feat"]][unused] == -1).all()
        for name in ("c_ncand", "c_thr", "c_eq", "c_lcnt", "c_lhi", "c_llo", "c_thi"):
            assert not tree[FIELD[name]][unused].any(), name
    assert any(t[FIELD["meta"]][2] for t in model._trees)  # the test saw free ids


def test_pickle_taken_before_a_request_is_not_patched():
    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    blob = pickle.dumps(model)
    model.unlearn(np.arange(0, 569, 5))
    old = pickle.loads(blob)
    assert old._trees[0][FIELD["count"]][0] == len(y)
    fresh = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert_same_trees(old._trees, fresh._trees, old._params)


@pytest.mark.parametrize("random_depth", [0, 1])
def test_root_rebuilt_and_subtrees_vanishing(random_depth, cache_min):
    # Forgetting most of one side of the root changes the root's split (random_depth=0: a
    # greedy root) or empties whole subtrees; one request, then one row at a time.
    X, y = load_breast_cancer(return_X_y=True)
    est = UnlearningForestClassifier(
        n_estimators=3, max_depth=6, random_depth=random_depth, random_state=0
    )
    side = np.flatnonzero(X[:, 22] <= np.median(X[:, 22]))
    model = run_requests(est, X, y, [side[: side.size * 3 // 4]])
    assert model.unlearn_report_["subtrees_rebuilt"] > 0
    run_requests(est, X, y, [[int(i)] for i in side[:40]])


def test_n_jobs_does_not_change_the_model():
    X, y = _ten_classes()
    a = UnlearningForestClassifier(n_estimators=6, random_state=0, n_jobs=1).fit(X, y)
    b = UnlearningForestClassifier(n_estimators=6, random_state=0, n_jobs=2).fit(X, y)
    a.unlearn([1, 2, 50])
    b.unlearn([1, 2, 50])
    assert_same_trees(a._trees, b._trees, a._params)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_failure_in_a_thread_changes_nothing(monkeypatch):
    # With two threads taking trees in turn, a tree failing to plan stops the request once
    # both threads are done; nothing was patched.

    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=8, random_state=0, n_jobs=2).fit(X, y)
    before = pickle.dumps(model)
    _fail_third_plan(monkeypatch)
    with pytest.raises(MemoryError, match="injected"):
        model.unlearn(np.arange(10, 569, 5))
    assert pickle.dumps(model) == before


def test_patches_in_threads_whatever_the_joblib_backend():
    # The commit patches arrays in place, so it must run in threads of this process even when
    # joblib is configured to use processes.
    from joblib import parallel_config

    X, y = _ten_classes()
    est = UnlearningForestClassifier(n_estimators=6, random_state=0, n_jobs=2)
    model = clone(est).fit(X, y)
    with parallel_config(backend="loky", n_jobs=2):
        model.unlearn([1, 2, 50])
        model.unlearn([7])
    keep = np.setdiff1d(np.arange(len(y)), [1, 2, 7, 50])
    assert_same_forest(model, clone(est).fit(X[keep], y[keep]), keep, X)


def test_thread_pool_grows_without_stopping_the_old_one():
    # A thread that took the pool just before another asked for a larger one can still use it.
    from skunlearn.ensemble import _forest_core

    old = _forest_core._pool(1)
    new = _forest_core._pool(old._max_workers + 2)
    assert new is not old and new._max_workers >= 3
    assert old.submit(sum, [40, 2]).result() == 42
    assert _forest_core._pool(1) is new  # a smaller request reuses the larger pool


def test_estimate_unlearn_cost_matches_the_report():
    X, y = load_breast_cancer(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    before = pickle.dumps(model)
    cost = model.estimate_unlearn_cost([3, 99])
    assert pickle.dumps(model) == before
    report = model.unlearn([3, 99]).unlearn_report_
    for key in ("trees_changed", "subtrees_rebuilt", "samples_retrained", "tree_samples_retrained"):
        assert cost[key] == report[key]
    assert report["trees_changed"] == 4 and report["exact"] is True


def test_pickle_round_trip_keeps_unlearning():
    X, y = _digits()
    model = UnlearningForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    model.unlearn([1, 2])
    loaded = pickle.loads(pickle.dumps(model))
    model.unlearn([10, 11])
    loaded.unlearn([10, 11])
    assert_same_trees(model._trees, loaded._trees, model._params)


@pytest.mark.parametrize("regression", [False, True])
def test_pickle_packs_what_the_layout_implies(regression, cache_min):
    # A pickle leaves out left children, row starts, slot ids and split nodes' values (the
    # layout fit gives implies them); loading restores every array, after rebuilds too.
    Forest = UnlearningForestRegressor if regression else UnlearningForestClassifier
    X, y = _regression() if regression else _ten_classes()
    model = Forest(n_estimators=3, random_state=0).fit(X, y)
    model.unlearn(np.arange(0, 120, 2))
    model.unlearn([1, 3])
    packed = model.__getstate__()["_trees"]
    assert all(len(tree) < len(FIELD) for tree in packed)
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_trees(loaded._trees, model._trees, model._params)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    serving = pickle.loads(pickle.dumps(model.serving_copy()))
    for a, b in zip(
        serving._predict_trees, _forest._predict_view(compact_trees(model._trees, model._params))
    ):
        assert all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))
    assert np.array_equal(serving.predict(X), model.predict(X))


def test_outputs():
    X, y = load_iris(return_X_y=True)
    model = UnlearningForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(model.predict_log_proba(X), np.log(proba))
    assert model.apply(X).shape == (150, 5)
    importances = model.feature_importances_
    assert importances.shape == (4,) and np.isclose(importances.sum(), 1.0)
    assert importances[2:].sum() > importances[:2].sum()  # petal features matter most


def test_accuracy_close_to_a_random_forest():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    ours = UnlearningForestClassifier(n_estimators=30, random_state=0).fit(X_tr, y_tr)
    theirs = RandomForestClassifier(n_estimators=30, random_state=0).fit(X_tr, y_tr)
    assert ours.score(X_te, y_te) >= theirs.score(X_te, y_te) - 0.05


def test_bad_inputs():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="bootstrap=True is not supported"):
        UnlearningForestClassifier(bootstrap=True).fit(X, y)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        UnlearningForestClassifier(n_estimators=2).fit(X_nan, y)
    with pytest.raises(ValueError, match="min_samples_split"):
        UnlearningForestClassifier(min_samples_split=0.5).fit(X, y)
    with pytest.raises(ValueError, match="non-zero"):
        UnlearningForestClassifier(n_estimators=2).fit(X, y, sample_weight=np.zeros(150))
    model = UnlearningForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        model.unlearn([150])


def test_grid_search():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        UnlearningForestClassifier(n_estimators=3, random_state=0), {"max_depth": [2, 4]}, cv=3
    ).fit(X, y)
    search.best_estimator_.unlearn([0, 1])


@st.composite
def _scenario(draw):
    n = draw(st.integers(20, 60))
    seed = draw(st.integers(0, 2**16))
    n_classes = draw(st.integers(2, 4))
    requests = draw(
        st.lists(st.lists(st.integers(0, n - 1), min_size=1, max_size=8), min_size=1, max_size=4)
    )
    params = draw(
        st.fixed_dictionaries(
            {
                "min_samples_leaf": st.integers(1, 3),
                "random_depth": st.integers(0, 2),
                "n_thresholds": st.integers(1, 4),
                "max_features": st.sampled_from([1, 2, None]),
            }
        )
    )
    return n, seed, n_classes, requests, params


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=_scenario(), regression=st.booleans())
def test_random_request_sequences(scenario, regression, monkeypatch):
    n, seed, n_classes, requests, params = scenario
    monkeypatch.setattr(_forest, "_CACHE_MIN_SAMPLES", 8)
    rng = np.random.RandomState(seed)
    # Few distinct values: ties, vanishing candidates and constant features happen often.
    X = rng.randint(0, 5, size=(n, 3)).astype(float)
    if regression:
        y = rng.randint(0, 4, size=n) * 1.5
        est = UnlearningForestRegressor(n_estimators=2, random_state=seed, **params)
    else:
        y = rng.randint(0, n_classes, size=n)
        est = UnlearningForestClassifier(n_estimators=2, random_state=seed, **params)
    model = clone(est).fit(X, y)
    forgotten = np.empty(0, dtype=int)
    for request in requests:
        request = np.setdiff1d(request, forgotten)
        if request.size == 0 or request.size + forgotten.size >= n:
            continue
        model.unlearn(request)
        forgotten = np.union1d(forgotten, request)
    keep = np.setdiff1d(np.arange(n), forgotten)
    fresh = clone(est).fit(X[keep], y[keep])
    assert_same_forest(model, fresh, keep, X)
