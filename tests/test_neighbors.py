"""Decremental nearest neighbours: after unlearning, queries and predictions equal those of
scikit-learn's estimator refitted on the retained rows."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neighbors as sk
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.metrics import pairwise_distances
from threadpoolctl import threadpool_limits

from skunlearn import neighbors as su
from skunlearn.utils.estimator_checks import check_unlearner


@pytest.fixture(autouse=True)
def one_thread():
    """Many tiny brute-force queries: OpenMP start-up would dominate on a busy machine."""
    with threadpool_limits(limits=1):
        yield


def _retained(n, removed):
    keep = np.ones(n, dtype=bool)
    keep[np.asarray(removed, dtype=int)] = False
    return keep


def _continuous(n=300, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    return X, rng.randint(3, size=n), X @ rng.normal(size=d)


def _unlearn_in_steps(est, n, seed=0):
    rng = np.random.RandomState(seed)
    removed = []
    for size in (1, 5, n // 6):
        request = rng.choice(np.setdiff1d(np.arange(n), removed), size=size, replace=False)
        est.unlearn(request)
        removed.extend(request)
    return _retained(n, removed)


CONFIGS = [
    {"algorithm": "brute"},
    {"algorithm": "kd_tree"},
    {"algorithm": "ball_tree"},
    {"algorithm": "auto", "metric": "manhattan"},
    {"algorithm": "ball_tree", "p": 3},
    {"algorithm": "kd_tree", "metric": "chebyshev"},
    {"algorithm": "brute", "metric": "cosine"},
]


def assert_same_distances(ours, ref, brute):
    """Bitwise: the index is scikit-learn's, over the same rows in the same order."""
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: "-".join(map(str, p.values())))
def test_kneighbors_identical_to_refit(params):
    X, _, _ = _continuous()
    Q = np.random.RandomState(1).normal(size=(40, 4))
    ours = su.NearestNeighbors(n_neighbors=6, **params).fit(X)
    keep = _unlearn_in_steps(ours, len(X))
    ref = sk.NearestNeighbors(n_neighbors=6, **params).fit(X[keep])
    dist, ind = ours.kneighbors(Q)
    ref_dist, ref_ind = ref.kneighbors(Q)
    brute = params["algorithm"] == "brute"
    assert_same_distances(dist, ref_dist, brute)
    np.testing.assert_array_equal(ind, ref_ind)
    # The training rows themselves (each excluded from its own neighbours).
    np.testing.assert_array_equal(ours.kneighbors()[1], ref.kneighbors()[1])
    train_dist = ours.kneighbors(n_neighbors=2)[0]
    assert_same_distances(train_dist, ref.kneighbors(n_neighbors=2)[0], brute)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_classifier_and_regressor_predictions_identical_to_refit(weights, algorithm):
    X, y_class, y_reg = _continuous()
    Q = np.random.RandomState(2).normal(size=(50, 4))
    params = {"n_neighbors": 7, "weights": weights, "algorithm": algorithm}
    clf = su.KNeighborsClassifier(**params).fit(X, y_class)
    keep = _unlearn_in_steps(clf, len(X))
    ref = sk.KNeighborsClassifier(**params).fit(X[keep], y_class[keep])
    np.testing.assert_array_equal(clf.predict(Q), ref.predict(Q))
    np.testing.assert_allclose(clf.predict_proba(Q), ref.predict_proba(Q), rtol=1e-12)
    assert clf.score(Q, ref.predict(Q)) == 1.0

    reg = su.KNeighborsRegressor(**params).fit(X, y_reg)
    keep = _unlearn_in_steps(reg, len(X))
    ref = sk.KNeighborsRegressor(**params).fit(X[keep], y_reg[keep])
    np.testing.assert_allclose(reg.predict(Q), ref.predict(Q), rtol=1e-12)
    np.testing.assert_allclose(reg.predict(None), ref.predict(None), rtol=1e-12)
    if weights == "uniform" or algorithm != "brute":
        np.testing.assert_array_equal(reg.predict(Q), ref.predict(Q))


def test_multioutput_targets():
    X, y_class, y_reg = _continuous()
    Y_class = np.column_stack([y_class, (y_class + 1) % 2])
    Y_reg = np.column_stack([y_reg, -2 * y_reg])
    clf = su.KNeighborsClassifier().fit(X, Y_class)
    keep = _unlearn_in_steps(clf, len(X))
    ref = sk.KNeighborsClassifier().fit(X[keep], Y_class[keep])
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))
    reg = su.KNeighborsRegressor(weights="distance").fit(X, Y_reg)
    keep = _unlearn_in_steps(reg, len(X))
    ref = sk.KNeighborsRegressor(weights="distance").fit(X[keep], Y_reg[keep])
    np.testing.assert_array_equal(reg.predict(X), ref.predict(X))


def test_radius_neighbors_identical_to_refit():
    X, _, _ = _continuous()
    Q = np.random.RandomState(3).normal(size=(20, 4))
    ours = su.NearestNeighbors(radius=1.2).fit(X)
    keep = _unlearn_in_steps(ours, len(X))
    ref = sk.NearestNeighbors(radius=1.2).fit(X[keep])
    dist, ind = ours.radius_neighbors(Q, sort_results=True)
    ref_dist, ref_ind = ref.radius_neighbors(Q, sort_results=True)
    for a, b, c, d in zip(dist, ref_dist, ind, ref_ind):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, d)
    for a, b in zip(ours.radius_neighbors(Q, return_distance=False), ref.radius_neighbors(Q)[1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ours.radius_neighbors(return_distance=False), ref.radius_neighbors()[1]):
        np.testing.assert_array_equal(a, b)
    graph = ours.radius_neighbors_graph(Q, mode="distance")
    ref_graph = ref.radius_neighbors_graph(Q, mode="distance")
    assert graph.shape == ref_graph.shape == (20, keep.sum())
    np.testing.assert_array_equal(graph.toarray(), ref_graph.toarray())


def test_kneighbors_graph_has_one_column_per_retained_row():
    X, _, _ = _continuous()
    ours = su.NearestNeighbors(n_neighbors=3).fit(X)
    keep = _unlearn_in_steps(ours, len(X))
    ref = sk.NearestNeighbors(n_neighbors=3).fit(X[keep])
    for mode in ("connectivity", "distance"):
        graph, ref_graph = ours.kneighbors_graph(X, mode=mode), ref.kneighbors_graph(X, mode=mode)
        assert graph.shape == (len(X), keep.sum())
        np.testing.assert_array_equal(graph.toarray(), ref_graph.toarray())


def test_class_forgotten_entirely_leaves_classes():
    X, y = load_iris(return_X_y=True)
    clf = su.KNeighborsClassifier().fit(X, y).unlearn(np.flatnonzero(y == 1))
    keep = y != 1
    ref = sk.KNeighborsClassifier().fit(X[keep], y[keep])
    np.testing.assert_array_equal(clf.classes_, [0, 2])
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_precomputed_metric_drops_rows_and_columns():
    X, y, _ = _continuous(n=120)
    D = pairwise_distances(X)
    clf = su.KNeighborsClassifier(metric="precomputed").fit(D, y)
    keep = _unlearn_in_steps(clf, len(X))
    assert clf.n_features_in_ == keep.sum()
    ref = sk.KNeighborsClassifier(metric="precomputed").fit(D[keep][:, keep], y[keep])
    D_query = D[:, keep]
    np.testing.assert_array_equal(clf.kneighbors(D_query)[1], ref.kneighbors(D_query)[1])
    np.testing.assert_array_equal(clf.predict(D_query), ref.predict(D_query))
    with pytest.raises(ValueError):
        clf.predict(D)  # distances to the forgotten rows are no longer accepted


def test_sparse_input():
    X, y, _ = _continuous(d=8)
    X[np.abs(X) < 0.5] = 0.0
    Xs = sp.csr_matrix(X)
    clf = su.KNeighborsClassifier().fit(Xs, y)
    keep = _unlearn_in_steps(clf, len(X))
    ref = sk.KNeighborsClassifier().fit(Xs[keep], y[keep])
    dist, ind = clf.kneighbors(Xs)
    ref_dist, ref_ind = ref.kneighbors(Xs)
    assert_same_distances(dist, ref_dist, brute=True)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(clf.predict(Xs), ref.predict(Xs))


def test_algorithm_follows_a_refit_when_rows_run_short():
    """'auto' picks brute force once n_neighbors reaches half the rows, as a refit would."""
    X, y, _ = _continuous(n=40)
    clf = su.KNeighborsClassifier(n_neighbors=9).fit(X, y)
    assert clf._index._fit_method == "kd_tree"
    clf.unlearn(np.arange(22))
    assert clf.unlearn_report_["algorithm"] == "brute"
    ref = sk.KNeighborsClassifier(n_neighbors=9).fit(X[22:], y[22:])
    assert ref._fit_method == "brute"
    dist, ind = clf.kneighbors(X)
    np.testing.assert_array_equal(ind, ref.kneighbors(X)[1])
    assert_same_distances(dist, ref.kneighbors(X)[0], brute=True)


def test_cost_and_report_count_the_rebuilt_index():
    X, y, _ = _continuous(n=300)
    clf = su.KNeighborsClassifier().fit(X, y)
    assert clf.estimate_unlearn_cost([150]) == {"n_removed": 1, "samples_retrained": 299}
    clf.unlearn([150])
    assert clf.unlearn_report_["samples_retrained"] == 299
    assert clf.unlearn_report_["algorithm"] == "kd_tree"


def test_query_parameters_set_after_fit_apply_to_queries():
    """n_neighbors and weights are read at query time, as by scikit-learn's estimators."""
    X, y, _ = _continuous(n=100)
    clf = su.KNeighborsClassifier(n_neighbors=3).fit(X, y).unlearn([4, 5])
    clf.set_params(n_neighbors=7, weights="distance")
    ref = sk.KNeighborsClassifier(n_neighbors=7, weights="distance")
    ref.fit(np.delete(X, [4, 5], axis=0), np.delete(y, [4, 5]))
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    assert clf._index.n_neighbors == 3  # the fitted index keeps the parameters of its fit


def test_too_many_neighbors_for_the_retained_rows():
    X, y, _ = _continuous(n=30)
    clf = su.KNeighborsClassifier(n_neighbors=5).fit(X, y)
    before = pickle.dumps(clf)
    # Leaving fewer rows than n_neighbors would leave a model that cannot predict: refused.
    with pytest.raises(ValueError, match="fewer than n_neighbors=5"):
        clf.unlearn(np.arange(26))
    assert pickle.dumps(clf) == before
    clf.set_params(n_neighbors=4).unlearn(np.arange(26))
    assert clf.kneighbors(X)[1].max() == 3
    np.testing.assert_array_equal(
        clf.predict(X), sk.KNeighborsClassifier(n_neighbors=4).fit(X[26:], y[26:]).predict(X)
    )


def test_forgotten_rows_and_targets_leave_the_pickle():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    reg = su.KNeighborsRegressor().fit(X, y)
    blob = pickle.dumps(reg)
    assert X[7].tobytes() in blob and y[7].tobytes() in blob  # so the test can fail
    blob = pickle.dumps(reg.unlearn([7]))
    assert X[7].tobytes() not in blob and y[7].tobytes() not in blob


def test_unfitted_clone_and_params_are_scikit_learns():
    params = sk.KNeighborsClassifier().get_params()
    assert su.KNeighborsClassifier().get_params() == params
    assert clone(su.KNeighborsClassifier(n_neighbors=2)).n_neighbors == 2


@pytest.mark.parametrize(
    "est",
    [
        su.KNeighborsClassifier(),
        su.KNeighborsRegressor(algorithm="ball_tree"),
        su.NearestNeighbors(algorithm="brute"),
    ],
    ids=lambda est: type(est).__name__,
)
def test_unlearning_contract(est):
    X, y, y_reg = _continuous(n=120)
    check_unlearner(est, X, y_reg if isinstance(est, su.KNeighborsRegressor) else y)
