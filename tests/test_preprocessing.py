"""Exact decremental scalers and encoder: unlearning equals a refit on the retained rows."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.preprocessing as skp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_wine

from skunlearn.preprocessing import MaxAbsScaler, MinMaxScaler, OneHotEncoder, StandardScaler

# -- helpers -------------------------------------------------------------------------------


def _retained(n, *requests):
    keep = np.ones(n, dtype=bool)
    for request in requests:
        keep[request] = False
    return keep


def _refit(est, X, keep, **fit_params):
    """scikit-learn's own estimator of the same name, fitted on the retained rows."""
    reference = getattr(skp, type(est).__name__)(**est.get_params())
    params = {k: v[keep] for k, v in fit_params.items()}
    X_kept = X[np.flatnonzero(keep)] if sp.issparse(X) else X[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        return reference.fit(X_kept, **params)


_SCALER_ATTRIBUTES = {
    "StandardScaler": ("mean_", "var_", "scale_", "n_samples_seen_"),
    "MinMaxScaler": ("data_min_", "data_max_", "data_range_", "scale_", "min_", "n_samples_seen_"),
    "MaxAbsScaler": ("max_abs_", "scale_", "n_samples_seen_"),
}


def _assert_same_fit(est, reference, rtol):
    for name in _SCALER_ATTRIBUTES[type(est).__name__]:
        got, want = getattr(est, name), getattr(reference, name)
        if want is None:
            assert got is None, name
            continue
        assert np.shape(got) == np.shape(want), name
        assert np.asarray(got).dtype == np.asarray(want).dtype, name
        if rtol == 0:
            assert_array_equal(got, want, err_msg=name)
        else:
            assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True, err_msg=name)


def _data_with_nan(seed=0, n=300, d=5, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 100, size=d) + offset
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


# -- scalers against a refit ---------------------------------------------------------------

SCALERS = [
    StandardScaler(),
    StandardScaler(with_mean=False),
    StandardScaler(with_std=False),
    StandardScaler(with_mean=False, with_std=False),
    MinMaxScaler(),
    MinMaxScaler(feature_range=(-3, 2), clip=True),
    MaxAbsScaler(),
]


def _rtol(est):
    # Extremes are exact order statistics; moments are split in floating point.
    return 0 if not isinstance(est, StandardScaler) else 1e-12


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_scaler_unlearn_equals_refit_with_nan(scaler):
    X = _data_with_nan()
    est = clone(scaler).fit(X)
    mask = np.zeros(300, dtype=bool)
    mask[[1, 3, 5]] = True
    for request in ([0, 7, 150], np.arange(200, 230), mask):
        est.unlearn(request)
    keep = _retained(300, [0, 7, 150], np.arange(200, 230), [1, 3, 5])
    reference = _refit(est, X, keep)
    _assert_same_fit(est, reference, _rtol(est))
    X_test = _data_with_nan(seed=1, n=20)
    assert_allclose(
        est.transform(X_test), reference.transform(X_test), rtol=1e-12, atol=1e-12, equal_nan=True
    )


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_scaler_unlearn_float32_keeps_dtype(scaler):
    X = load_wine().data.astype(np.float32)
    est = clone(scaler).fit(X).unlearn(np.arange(0, 178, 5))
    reference = _refit(est, X, _retained(178, np.arange(0, 178, 5)))
    _assert_same_fit(est, reference, 0 if _rtol(est) == 0 else 1e-6)
    assert est.transform(X).dtype == np.float32


def test_standard_scaler_sample_weight():
    X, _ = load_diabetes(return_X_y=True)
    w = np.random.default_rng(0).uniform(0, 3, size=X.shape[0])
    w[:10] = 0
    est = StandardScaler().fit(X, sample_weight=w).unlearn([3, 50, 400]).unlearn(np.arange(60, 90))
    keep = _retained(X.shape[0], [3, 50, 400], np.arange(60, 90))
    _assert_same_fit(est, _refit(est, X, keep, sample_weight=w), 1e-12)


@pytest.mark.parametrize("offset", [1e6, 1e9])
def test_standard_scaler_no_catastrophic_cancellation(offset):
    # Large offsets against a unit spread: raw sums of squares would lose every digit.
    X = np.random.default_rng(0).normal(size=(2000, 3)) + offset
    est = StandardScaler().fit(X[:700]).partial_fit(X[700:])
    for start in range(0, 1000, 50):  # twenty successive splits, half the rows in total
        est.unlearn(np.arange(start, start + 50))
    reference = skp.StandardScaler().fit(X[1000:])
    assert_allclose(est.var_, reference.var_, rtol=1e-9)
    assert_allclose(est.mean_, reference.mean_, rtol=1e-14)
    exact_var = X[1000:].astype(np.longdouble).var(axis=0)
    assert np.all(np.abs(est.var_ - exact_var) <= 1e-9 * exact_var)


def test_standard_scaler_state_depends_only_on_the_retained_rows():
    # The moments are kept about a shift: one that still averaged a forgotten row would give
    # that row away (n times the shift minus the retained rows).
    X = np.random.default_rng(0).normal(size=(100, 3)) + 50.0
    other = X.copy()
    other[42] = [1e3, -1e3, 7.0]
    a, b = (StandardScaler().fit(data).unlearn([42]) for data in (X, other))
    assert_allclose(a._shift, b._shift, rtol=1e-14)
    assert_allclose(a._moments[0], b._moments[0], rtol=0)
    assert_allclose(a._moments[1], b._moments[1], rtol=0, atol=1e-12)
    assert_allclose(a._moments[2], b._moments[2], rtol=1e-10)
    recovered = a._shift * 100 - X[np.arange(100) != 42].sum(axis=0)
    assert not np.allclose(recovered, X[42], atol=1e-3)


def test_standard_scaler_large_request_recomputes():
    X = _data_with_nan(seed=3)
    est = StandardScaler().fit(X).unlearn(np.arange(250))
    assert est.unlearn_report_["recomputed"] == "statistics of the retained rows"
    _assert_same_fit(est, _refit(est, X, _retained(300, np.arange(250))), 1e-12)


def test_standard_scaler_feature_left_without_values_is_nan_like_refit():
    X = np.random.default_rng(0).normal(size=(40, 3))
    X[1:, 1] = np.nan  # only row 0 has a value in feature 1
    est = StandardScaler().fit(X).unlearn([0])
    _assert_same_fit(est, _refit(est, X, _retained(40, [0])), 1e-12)
    assert np.isnan(est.mean_[1]) and est.n_samples_seen_[1] == 0


@pytest.mark.parametrize("scaler", [StandardScaler(with_mean=False), MaxAbsScaler()], ids=repr)
def test_scaler_unlearn_sparse(scaler):
    X = sp.random(200, 30, density=0.2, format="csr", random_state=0) * 10
    X.data[::17] = np.nan
    est = clone(scaler).fit(X).unlearn(np.arange(0, 200, 3)).unlearn([1, 199])
    keep = _retained(200, np.arange(0, 200, 3), [1, 199])
    _assert_same_fit(est, _refit(est, X, keep), _rtol(est))
    assert sp.issparse(est.transform(X))


@pytest.mark.parametrize("scaler", [*SCALERS[::2], MaxAbsScaler()], ids=repr)
def test_scaler_partial_fit_positions_follow_batches(scaler):
    X = _data_with_nan(seed=4)
    est = clone(scaler).partial_fit(X[:100]).partial_fit(X[100:180]).partial_fit(X[180:])
    assert est.n_samples_fit_ == 300
    est.unlearn([5, 120, 250]).unlearn(np.arange(90, 200, 7))
    keep = _retained(300, [5, 120, 250], np.arange(90, 200, 7))
    _assert_same_fit(est, _refit(est, X, keep), _rtol(est))
    # A new fit starts the positions over.
    est.fit(X[:50])
    assert est.n_samples_fit_ == 50 and est.unlearned_indices_.size == 0


def test_minmax_transform_changed_only_when_an_extreme_goes():
    X = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 9.0], [3.0, 7.0]])
    est = MinMaxScaler().fit(X)
    before = est.scale_
    est.unlearn([1])  # interior in both features
    assert not est.unlearn_report_["transform_changed"]
    assert est.scale_ is before
    assert est.unlearn_report_["recomputed"] == {"features": []}
    est.unlearn([2])  # the maximum of feature 1
    assert est.unlearn_report_["transform_changed"]
    assert_array_equal(est.data_max_, [3.0, 7.0])


def test_extremes_with_ties_and_many_blocks():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(2000, 3)).astype(float)  # many ties for the extremes
    est = MaxAbsScaler().fit(X - 1.5)
    minmax = MinMaxScaler().fit(X)
    order = rng.permutation(2000)
    for chunk in np.array_split(order[:1990], 40):
        est.unlearn(chunk)
        minmax.unlearn(chunk)
        keep = _retained(2000, est.unlearned_indices_)
        _assert_same_fit(est, _refit(est, X - 1.5, keep), 0)
        _assert_same_fit(minmax, _refit(minmax, X, keep), 0)


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    n=st.integers(3, 60),
    kind=st.sampled_from(["StandardScaler", "MinMaxScaler", "MaxAbsScaler"]),
)
def test_scaler_any_request_sequence_equals_refit(data, n, kind):
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 3)) * 4) / 2  # ties and repeated values
    X[rng.random(X.shape) < 0.15] = np.nan
    est = {"StandardScaler": StandardScaler, "MinMaxScaler": MinMaxScaler}.get(
        kind, MaxAbsScaler
    )().fit(X)
    left = list(range(n))
    while len(left) > 1:
        k = data.draw(st.integers(1, len(left) - 1))
        request = sorted(data.draw(st.permutations(left))[:k])
        est.unlearn(request)
        left = [i for i in left if i not in request]
        if data.draw(st.booleans()):
            break
    _assert_same_fit(est, _refit(est, X, _retained(n, est.unlearned_indices_)), _rtol(est))


def test_standard_scaler_zero_weight_leftover_is_rejected():
    X = np.arange(12.0).reshape(6, 2)
    w = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    est = StandardScaler().fit(X, sample_weight=w)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="zero sample weight"):
        est.unlearn([0, 1])
    assert pickle.dumps(est) == before
    est.unlearn([0, 2])  # leaves row 1 with weight
    assert est.n_samples_seen_ == 1.0


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(), MaxAbsScaler()], ids=repr)
def test_scaler_purges_forgotten_values(scaler):
    # Values unique to the forgotten rows, searched one by one in the pickle.
    X = np.random.default_rng(0).normal(size=(100, 3)) + 1000.123
    est = clone(scaler).partial_fit(X[:60]).partial_fit(X[60:])
    est.unlearn(np.arange(40, 80))
    blob = pickle.dumps(est)
    kept_values = set(X[_retained(100, np.arange(40, 80))].ravel().tolist())
    for value in X[40:80].ravel():
        if value not in kept_values:
            assert np.float64(value).tobytes() not in blob


# -- OneHotEncoder -------------------------------------------------------------------------


def _categorical(seed=0, n=200):
    rng = np.random.default_rng(seed)
    colors = rng.choice(
        ["red", "green", "blue", "teal", "mauve"], size=n, p=[0.4, 0.3, 0.2, 0.07, 0.03]
    )
    sizes = rng.choice([1, 2, 3, 7], size=n).astype(object)
    maybe = rng.choice(["a", "b", None], size=n).astype(object)
    return np.column_stack([colors.astype(object), sizes, maybe])


def _assert_same_encoder(est, reference, X_test):
    assert len(est.categories_) == len(reference.categories_)
    for got, want in zip(est.categories_, reference.categories_):
        assert got.tolist() == want.tolist()
    assert _as_list(est.drop_idx_) == _as_list(reference.drop_idx_)
    if hasattr(reference, "infrequent_categories_"):
        got = [None if c is None else c.tolist() for c in est.infrequent_categories_]
        want = [None if c is None else c.tolist() for c in reference.infrequent_categories_]
        assert got == want
    assert_array_equal(est.get_feature_names_out(), reference.get_feature_names_out())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown categories in X_test
        out, ref = est.transform(X_test), reference.transform(X_test)
    assert_array_equal(
        out.toarray() if sp.issparse(out) else out, ref.toarray() if sp.issparse(ref) else ref
    )


def _as_list(a):
    return None if a is None else list(a)


ENCODERS = [
    OneHotEncoder(),
    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    OneHotEncoder(drop="first"),
    OneHotEncoder(drop="if_binary", handle_unknown="ignore"),
    OneHotEncoder(min_frequency=8, handle_unknown="infrequent_if_exist"),
    OneHotEncoder(min_frequency=0.1),
    OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist"),
    OneHotEncoder(max_categories=2, min_frequency=5, drop="first"),
]


@pytest.mark.parametrize("encoder", ENCODERS, ids=repr)
def test_one_hot_unlearn_equals_refit(encoder):
    X = _categorical()
    est = clone(encoder).fit(X)
    rare = np.flatnonzero(X[:, 0] == "mauve")  # forgetting them all removes the category
    est.unlearn(rare).unlearn(np.arange(100, 140))
    keep = _retained(200, rare, np.arange(100, 140))
    reference = clone(encoder).fit(X[keep])
    _assert_same_encoder(
        est, reference, _categorical(seed=1, n=50) if encoder.handle_unknown != "error" else X[keep]
    )


def test_one_hot_category_leaves_and_width_shrinks():
    X = _categorical()
    est = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X)
    width = est.transform(X[:1]).shape[1]
    est.unlearn(np.flatnonzero(X[:, 0] == "mauve"))
    report = est.unlearn_report_
    assert report["transform_changed"] and report["categories_removed"] == [1, 0, 0]
    assert "mauve" not in est.categories_[0]
    assert est.transform(X[:1]).shape[1] == width - 1
    # A later "mauve" row is now an unknown category: all zeros for that feature.
    row = np.array([["mauve", 1, "a"]], dtype=object)
    assert est.transform(row)[0, : len(est.categories_[0])].sum() == 0
    strict = OneHotEncoder().fit(X).unlearn(np.flatnonzero(X[:, 0] == "mauve"))
    with pytest.raises(ValueError, match="unknown categories"):
        strict.transform(row)


def test_one_hot_unchanged_transform_is_reported():
    X = _categorical()
    est = OneHotEncoder().fit(X)
    est.unlearn([0, 1])  # frequent categories: nothing leaves
    assert not est.unlearn_report_["transform_changed"]


def test_one_hot_given_categories_stay():
    X = _categorical()
    categories = [["blue", "green", "mauve", "red", "teal"], [1, 2, 3, 7], ["a", "b", None]]
    est = OneHotEncoder(categories=categories).fit(X)
    est.unlearn(np.flatnonzero(X[:, 0] == "mauve"))
    assert "mauve" in est.categories_[0]
    assert not est.unlearn_report_["transform_changed"]


def test_one_hot_explicit_drop_that_would_vanish_is_rejected():
    X = _categorical()
    est = OneHotEncoder(drop=["mauve", 1, "a"]).fit(X)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="drop="):
        est.unlearn(np.flatnonzero(X[:, 0] == "mauve"))
    assert pickle.dumps(est) == before
    est.unlearn([np.flatnonzero(X[:, 0] == "mauve")[0]])  # one of them may go


def test_one_hot_numeric_nan_categories():
    rng = np.random.default_rng(0)
    X = rng.choice([0.5, 1.5, 2.5, np.nan], size=(80, 2))
    est = OneHotEncoder(sparse_output=False).fit(X)
    gone = np.flatnonzero(np.isnan(X[:, 1]))
    est.unlearn(gone)
    reference = skp.OneHotEncoder(sparse_output=False).fit(np.delete(X, gone, axis=0))
    assert_array_equal(est.categories_[1], reference.categories_[1])
    assert_array_equal(
        est.transform(X[~np.isnan(X[:, 1])]), reference.transform(X[~np.isnan(X[:, 1])])
    )


def test_one_hot_purges_forgotten_categories():
    X = np.array([[f"user-{i}", i % 3] for i in range(30)], dtype=object)
    est = OneHotEncoder().fit(X).unlearn([4, 17])
    blob = pickle.dumps(est)
    assert b"user-4" not in blob and b"user-17" not in blob
    assert b"user-5" in blob


@pytest.mark.parametrize("encoder", [OneHotEncoder(), OneHotEncoder(min_frequency=8)], ids=repr)
def test_one_hot_state_is_that_of_a_fit_on_the_retained_rows(encoder):
    # A category that leaves takes its place with it: the codes and counts kept are those a
    # fit on the retained rows would keep, so nothing tells how many categories left.
    X = _categorical()
    forget = np.r_[np.flatnonzero(X[:, 0] == "mauve"), 3, 50]
    other = X.copy()
    other[forget] = X[np.setdiff1d(np.arange(200), forget)[: forget.size]]
    keep = _retained(200, forget)
    fresh = clone(encoder).fit(X[keep])
    for data in (X, other):
        est = clone(encoder).fit(data).unlearn(forget[:3]).unlearn(forget[3:])
        for got, want in zip(est.categories_, fresh.categories_):
            assert got.tolist() == want.tolist()
        for got, want in zip(est._category_rows, fresh._category_rows):
            assert_array_equal(got, want)
        assert_array_equal(est._store.column("codes"), fresh._store.column("codes"))
        assert_array_equal(est._store.positions(), np.flatnonzero(keep))
