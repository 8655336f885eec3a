"""Drop-ins answer as scikit-learn does on the same data, on data full of ties.

Digits (integer pixels from 0 to 16) and small integer grids have many equal distances, equal
feature values and repeated rows: where scikit-learn's own code decides between equals (which of
several equidistant neighbours a query returns, the order of tied neighbours, a tie in a vote),
a drop-in must decide the same way. Each case is compared twice: fitted on the same rows as
scikit-learn's estimator, and after ``unlearn`` against scikit-learn's estimator fitted on the
retained rows.
"""

import numpy as np
import pytest
from sklearn import linear_model as sk_lm
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_nn
from sklearn import preprocessing as sk_pre
from sklearn.datasets import load_digits
from sklearn.neighbors import VALID_METRICS
from threadpoolctl import threadpool_limits

from skunlearn import linear_model as su_lm
from skunlearn import naive_bayes as su_nb
from skunlearn import neighbors as su_nn
from skunlearn import preprocessing as su_pre

FORGET = np.r_[0, 3, 17, 40:60, 101]


@pytest.fixture(autouse=True)
def one_thread():
    """scikit-learn's brute force merges per-thread results, whose order among ties depends
    on the thread count: both sides of a comparison must run with the same one."""
    with threadpool_limits(limits=1):
        yield


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def _grid():
    """Integer points on a 4 x 4 x 4 grid, many rows repeated, 3 classes."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(300, 3)).astype(float)
    return X, rng.randint(0, 3, size=300)


DATA = {"digits": _digits, "grid": _grid}


def _pairs(ours, ref, X, y):
    """``ours`` and ``ref`` fitted on the same rows; then ``ours`` after unlearning FORGET
    and ``ref`` refitted on the retained rows."""
    keep = np.setdiff1d(np.arange(len(X)), FORGET)

    def fit(est, rows):
        return est.fit(X[rows]) if y is None else est.fit(X[rows], y[rows])

    everything = np.arange(len(X))
    yield "fit", fit(ours, everything), fit(ref, everything)
    yield "unlearn", ours.unlearn(FORGET), fit(ref, keep)


def _same(a, b):
    if isinstance(a, np.ndarray) and a.dtype == object:  # radius_neighbors
        assert len(a) == len(b)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    else:
        np.testing.assert_array_equal(a, b)


NEIGHBOUR_CASES = [
    (algorithm, metric)
    for algorithm in ("brute", "kd_tree", "ball_tree", "auto")
    for metric in ("minkowski", "manhattan", "chebyshev", {"metric": "minkowski", "p": 3})
] + [("brute", "cosine"), ("brute", "hamming"), ("ball_tree", "canberra")]


def _case_id(case):
    algorithm, metric = case
    return f"{algorithm}-{metric if isinstance(metric, str) else 'p3'}"


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("case", NEIGHBOUR_CASES, ids=_case_id)
def test_neighbours_equal_scikit_learn_ties_included(data, case):
    algorithm, metric = case
    params = {"algorithm": algorithm, "n_neighbors": 6}
    params.update(metric if isinstance(metric, dict) else {"metric": metric})
    X, y = DATA[data]()
    if isinstance(metric, dict):  # p=3 distances are slow to compute: fewer rows
        X, y = X[:200], y[:200]
    Q = np.vstack([X[::9], np.round(X[::13] * 0.5)])  # training rows and new points on the grid
    y_reg = (y * 1.5 + X[:, 0]).astype(float)
    for kind, (ours_cls, ref_cls, target) in {
        "classifier": (su_nn.KNeighborsClassifier, sk_nn.KNeighborsClassifier, y),
        "regressor": (su_nn.KNeighborsRegressor, sk_nn.KNeighborsRegressor, y_reg),
        "unsupervised": (su_nn.NearestNeighbors, sk_nn.NearestNeighbors, None),
    }.items():
        for weights in ("uniform", "distance") if kind != "unsupervised" else (None,):
            extra = {} if weights is None else {"weights": weights}
            pairs = _pairs(ours_cls(**params, **extra), ref_cls(**params, **extra), X, target)
            for stage, ours, ref in pairs:
                where = f"{kind} {weights} after {stage}"
                for query in (Q, None):
                    dist, ind = ours.kneighbors(query)
                    ref_dist, ref_ind = ref.kneighbors(query)
                    np.testing.assert_array_equal(ind, ref_ind, err_msg=where)
                    np.testing.assert_array_equal(dist, ref_dist, err_msg=where)
                if kind == "unsupervised":
                    radius = float(np.median(ref_dist))
                    for sort in (False, True):
                        got = ours.radius_neighbors(Q, radius, sort_results=sort)
                        want = ref.radius_neighbors(Q, radius, sort_results=sort)
                        _same(got[0], want[0])
                        _same(got[1], want[1])
                    continue
                np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q), err_msg=where)
                if kind == "classifier":
                    np.testing.assert_array_equal(
                        ours.predict_proba(Q), ref.predict_proba(Q), err_msg=where
                    )
                    np.testing.assert_array_equal(ours.classes_, ref.classes_)


# Metrics that need parameters of their own (V, VI, w), take only two features (haversine), or
# are not names (callables); "precomputed" is compared below.
_NEEDS_PARAMS = {"mahalanobis", "seuclidean", "wminkowski", "haversine", "precomputed", "pyfunc"}
EVERY_METRIC = [
    (algorithm, metric)
    for algorithm in ("brute", "kd_tree", "ball_tree")
    for metric in sorted(set(VALID_METRICS[algorithm]) - _NEEDS_PARAMS)
    if isinstance(metric, str)
]


@pytest.mark.filterwarnings("ignore:Data was converted to boolean")
@pytest.mark.parametrize("case", EVERY_METRIC, ids=_case_id)
def test_every_metric_of_every_algorithm_equals_scikit_learn(case):
    """Every metric each algorithm accepts by name, on digits: neighbours, distances and
    probabilities (weighted by distance, where ties in distance decide) after fit and after
    unlearn."""
    algorithm, metric = case
    X, y = _digits()
    X, y = X[:200], y[:200]
    Q = np.vstack([X[::9], np.round(X[::13] * 0.5)])
    params = dict(n_neighbors=6, algorithm=algorithm, metric=metric, weights="distance")
    pairs = _pairs(su_nn.KNeighborsClassifier(**params), sk_nn.KNeighborsClassifier(**params), X, y)
    for stage, ours, ref in pairs:
        with np.errstate(all="ignore"):  # 0/0 for some metrics on blank pixels, both sides
            for query in (Q, None):
                for got, want in zip(ours.kneighbors(query), ref.kneighbors(query)):
                    np.testing.assert_array_equal(got, want, err_msg=f"{metric} {stage}")
            np.testing.assert_array_equal(ours.predict_proba(Q), ref.predict_proba(Q))
            np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q))


def test_neighbours_ties_are_really_there():
    """The data of the comparison above has ties at the k-th neighbour, where scikit-learn's
    algorithms disagree with one another: a test on it can fail."""
    X, _ = _digits()
    orders = {
        algorithm: sk_nn.NearestNeighbors(n_neighbors=6, algorithm=algorithm, metric="manhattan")
        .fit(X)
        .kneighbors(X[::9])[1]
        for algorithm in ("brute", "kd_tree", "ball_tree")
    }
    assert not np.array_equal(orders["brute"], orders["kd_tree"])
    assert not np.array_equal(orders["kd_tree"], orders["ball_tree"])


def test_vanished_class_and_precomputed_equal_scikit_learn():
    X, y = _grid()
    forget = np.flatnonzero(y == 1)
    keep = y != 1
    ours = su_nn.KNeighborsClassifier(n_neighbors=4).fit(X, y).unlearn(forget)
    ref = sk_nn.KNeighborsClassifier(n_neighbors=4).fit(X[keep], y[keep])
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_array_equal(ours.predict_proba(X), ref.predict_proba(X))
    D = np.abs(X[:, None, :] - X[None, :, :]).sum(axis=2)
    ours = su_nn.KNeighborsClassifier(n_neighbors=4, metric="precomputed").fit(D, y)
    ours.unlearn(FORGET)
    retained = np.setdiff1d(np.arange(len(X)), FORGET)
    ref = sk_nn.KNeighborsClassifier(n_neighbors=4, metric="precomputed")
    ref.fit(D[np.ix_(retained, retained)], y[retained])
    np.testing.assert_array_equal(
        ours.kneighbors(D[:, retained])[1], ref.kneighbors(D[:, retained])[1]
    )
    np.testing.assert_array_equal(
        ours.predict_proba(D[:, retained]), ref.predict_proba(D[:, retained])
    )


# -- the other drop-ins ----------------------------------------------------------------------

OTHER_CASES = {
    "GaussianNB": (su_nb.GaussianNB(), sk_nb.GaussianNB()),
    "MultinomialNB": (su_nb.MultinomialNB(), sk_nb.MultinomialNB()),
    "ComplementNB": (su_nb.ComplementNB(), sk_nb.ComplementNB()),
    "BernoulliNB": (su_nb.BernoulliNB(binarize=4.0), sk_nb.BernoulliNB(binarize=4.0)),
    "CategoricalNB": (su_nb.CategoricalNB(), sk_nb.CategoricalNB()),
    "StandardScaler": (su_pre.StandardScaler(), sk_pre.StandardScaler()),
    "MinMaxScaler": (su_pre.MinMaxScaler(), sk_pre.MinMaxScaler()),
    "MaxAbsScaler": (su_pre.MaxAbsScaler(), sk_pre.MaxAbsScaler()),
    "OneHotEncoder": (
        su_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    ),
    "Ridge": (su_lm.Ridge(alpha=1.0), sk_lm.Ridge(alpha=1.0)),
}


def _outputs(est, X):
    out = {}
    for method in ("predict", "predict_proba", "predict_log_proba", "transform"):
        if hasattr(est, method):
            out[method] = getattr(est, method)(X)
    return out


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("name", OTHER_CASES)
def test_other_drop_ins_equal_scikit_learn(name, data):
    """Same outputs as scikit-learn's estimator on tie-heavy integer data: bitwise for labels
    and counts, to 1e-9 relative for statistics that skunlearn accumulates in another order
    (sums of moments, normal equations)."""
    X, y = DATA[data]()
    if name == "CategoricalNB" and data == "digits":
        X = (X // 4).astype(int)  # four categories per pixel
    ours, ref = OTHER_CASES[name]
    target = y.astype(float) + X[:, 1] if name == "Ridge" else y
    Q = X[::3]
    for stage, fitted, fitted_ref in _pairs(ours, ref, X, target):
        got, want = _outputs(fitted, Q), _outputs(fitted_ref, Q)
        assert got.keys() == want.keys()
        for method in got:
            where = f"{name} {method} after {stage}"
            if method == "predict" and name != "Ridge":
                np.testing.assert_array_equal(got[method], want[method], err_msg=where)
            else:
                np.testing.assert_allclose(
                    got[method], want[method], rtol=1e-9, atol=1e-12, err_msg=where
                )
