"""skunlearn.impute.SimpleImputer: unlearning equals scikit-learn's fit on the retained rows."""

import numpy as np
import pytest
from scipy import sparse
from sklearn import impute as sk_impute

from skunlearn.impute import SimpleImputer
from skunlearn.utils.estimator_checks import check_unlearner

STRATEGIES = ["mean", "median", "most_frequent", "constant"]


def _data(seed=0, n=80, d=4):
    """Small integers (ties for most_frequent, repeated medians) with NaN; feature 3 is
    present in rows 0-2 only, so forgetting them leaves it empty."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 6, size=(n, d)).astype(float) + rng.choice([0.0, 0.25], size=(n, d))
    X[rng.rand(n, d) < 0.2] = np.nan
    X[:, 3] = np.nan
    X[:3, 3] = [1.0, 2.0, 2.0]
    return X


def _same(a, b):
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    assert a.shape == b.shape
    for x, y in zip(a.tolist(), b.tolist()):
        assert x == y or (x != x and y != y), (a, b)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("keep_empty_features", [False, True])
@pytest.mark.parametrize("add_indicator", [False, True])
def test_unlearn_equals_refit(strategy, keep_empty_features, add_indicator):
    X = _data()
    params = dict(
        strategy=strategy, keep_empty_features=keep_empty_features, add_indicator=add_indicator
    )
    imputer = SimpleImputer(**params).fit(X)
    forgotten = []
    for request in ([5, 9], [0, 1, 2], [40, 41, 42, 43]):  # the second one empties feature 3
        imputer.unlearn(request)
        forgotten += request
        kept = np.setdiff1d(np.arange(X.shape[0]), forgotten)
        reference = sk_impute.SimpleImputer(**params).fit(X[kept])
        if strategy == "mean":
            np.testing.assert_allclose(
                imputer.statistics_, reference.statistics_, rtol=1e-15, equal_nan=True
            )
        else:  # bitwise
            _same(imputer.statistics_, reference.statistics_)
        assert imputer.statistics_.dtype == reference.statistics_.dtype
        np.testing.assert_allclose(
            imputer.transform(X), reference.transform(X), rtol=1e-15, equal_nan=True
        )
        if add_indicator:
            np.testing.assert_array_equal(
                imputer.indicator_.features_, reference.indicator_.features_
            )
        np.testing.assert_array_equal(
            imputer.get_feature_names_out(), reference.get_feature_names_out()
        )


def test_median_is_bitwise_on_continuous_values():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(101, 3)) * 1e3
    X[rng.rand(101, 3) < 0.1] = np.nan
    imputer = SimpleImputer(strategy="median").fit(X)
    for request in ([0], [1, 2, 3], [50]):
        imputer.unlearn(request)
    kept = np.setdiff1d(np.arange(101), [0, 1, 2, 3, 50])
    reference = sk_impute.SimpleImputer(strategy="median").fit(X[kept])
    np.testing.assert_array_equal(imputer.statistics_, reference.statistics_)


def test_most_frequent_ties_go_to_the_smallest_value():
    X = np.array([[3.0], [3.0], [1.0], [1.0], [2.0], [2.0], [2.0]])
    imputer = SimpleImputer(strategy="most_frequent").fit(X)
    assert imputer.statistics_[0] == 2.0
    imputer.unlearn([6])  # 1, 2 and 3 now tie
    assert imputer.statistics_[0] == 1.0
    assert sk_impute.SimpleImputer(strategy="most_frequent").fit(X[:6]).statistics_[0] == 1.0
    assert imputer.unlearn_report_["transform_changed"]


def test_most_frequent_on_strings():
    X = np.array(
        [["a", "x"], ["b", np.nan], ["b", "y"], ["a", "y"], [np.nan, "x"], ["c", "x"]],
        dtype=object,
    )
    imputer = SimpleImputer(strategy="most_frequent").fit(X)
    imputer.unlearn([1, 5])
    reference = sk_impute.SimpleImputer(strategy="most_frequent").fit(X[[0, 2, 3, 4]])
    _same(imputer.statistics_, reference.statistics_)
    np.testing.assert_array_equal(imputer.transform(X), reference.transform(X))


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_constant_only_tracks_empty_features():
    X = _data()
    imputer = SimpleImputer(strategy="constant", fill_value=-1.0).fit(X)
    imputer.unlearn([10])
    assert not imputer.unlearn_report_["transform_changed"]
    imputer.unlearn([0, 1, 2])  # feature 3 left without values: dropped, as by a refit
    assert imputer.unlearn_report_["transform_changed"]
    assert imputer.transform(X).shape[1] == 3


def test_sparse_and_callable_recompute_from_retained_rows():
    X = _data()
    Xs = sparse.csr_matrix(X)  # NaN stored explicitly, zeros implicit
    imputer = SimpleImputer(strategy="mean").fit(Xs).unlearn([3, 4])
    kept = np.setdiff1d(np.arange(X.shape[0]), [3, 4])
    reference = sk_impute.SimpleImputer(strategy="mean").fit(Xs[kept])
    np.testing.assert_allclose(imputer.statistics_, reference.statistics_, equal_nan=True)
    assert imputer.unlearn_report_["samples_retrained"] == kept.size

    X = _data()[:, :3]
    imputer = SimpleImputer(strategy=np.nanmax).fit(X).unlearn([7])
    reference = sk_impute.SimpleImputer(strategy=np.nanmax).fit(np.delete(X, 7, axis=0))
    np.testing.assert_array_equal(imputer.statistics_, reference.statistics_)


def test_dataframe_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X = _data()[:, :3]
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    imputer = SimpleImputer(strategy="median").set_output(transform="pandas").fit(df)
    imputer.unlearn([0, 1])
    out = imputer.transform(df)
    reference = sk_impute.SimpleImputer(strategy="median").set_output(transform="pandas")
    reference.fit(df.iloc[2:])
    pd.testing.assert_frame_equal(out, reference.transform(df))
    assert list(imputer.feature_names_in_) == ["a", "b", "c"]


def test_set_params_after_fit_does_not_change_unlearn():
    X = _data()
    changed = SimpleImputer(strategy="median").fit(X)
    changed.set_params(strategy="mean", keep_empty_features=True)
    changed.unlearn([0, 1, 2, 5])
    reference = SimpleImputer(strategy="median").fit(X).unlearn([0, 1, 2, 5])
    _same(changed.statistics_, reference.statistics_)
    # The next fit uses the new parameters.
    assert np.isfinite(changed.fit(X).statistics_).all()


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_unlearning_contract(strategy):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    X[rng.rand(60, 4) < 0.15] = np.nan
    check_unlearner(SimpleImputer(strategy=strategy, add_indicator=True), X)
