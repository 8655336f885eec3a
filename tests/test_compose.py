"""skunlearn.compose.ColumnTransformer and skunlearn.pipeline.FeatureUnion: forgetting through
every part, on DataFrames with missing values and string categories, inside pipelines."""

import pickle

import numpy as np
import pytest
from sklearn import compose as sk_compose
from sklearn import preprocessing as sk_pre
from sklearn.base import clone
from sklearn.compose import make_column_selector
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, SplineTransformer

from skunlearn.compose import ColumnTransformer, make_column_transformer
from skunlearn.ensemble import (
    ClassPartitionedClassifier,
    ShardedEnsembleClassifier,
    UnlearningForestClassifier,
)
from skunlearn.impute import SimpleImputer
from skunlearn.linear_model import InfluenceUnlearnLogistic
from skunlearn.metrics import verify_unlearning
from skunlearn.naive_bayes import BernoulliNB, GaussianNB
from skunlearn.neighbors import KNeighborsClassifier
from skunlearn.pipeline import FeatureUnion, _unlearned_reference, make_pipeline, make_union
from skunlearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from skunlearn.utils.estimator_checks import (
    check_unlearn_purges,
    check_unlearn_state_forgets_values,
)

pd = pytest.importorskip("pandas")

FORGET = np.array([0, 3, 17, 42, 99])


def _customers(n=150, seed=0):
    """Numeric columns with NaN, string categories; city 'q' belongs to row 0 only."""
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(3, 1, n),
            "city": rng.choice(["a", "b", "c", "d"], n),
            "plan": rng.choice(["basic", "premium"], n),
        }
    )
    df.loc[rng.rand(n) < 0.15, "age"] = np.nan
    df.loc[rng.rand(n) < 0.1, "income"] = np.nan
    df.loc[0, "city"] = "q"
    y = ((df["income"].fillna(20) > 20) ^ (df["city"] == "a")).astype(int).to_numpy()
    return df, y


def _columns(strategy="median"):
    return make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy=strategy), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["city", "plan"]),
    )


# Deterministic exact classifiers: after unlearn the pipeline equals a refit on the retained rows.
EXACT = [
    GaussianNB(),
    BernoulliNB(),
    KNeighborsClassifier(n_neighbors=5),
    ClassPartitionedClassifier(random_state=0),
    UnlearningForestClassifier(n_estimators=5, random_state=0),
]


def _kept(n):
    return np.setdiff1d(np.arange(n), FORGET)


@pytest.mark.parametrize("clf", EXACT, ids=lambda c: type(c).__name__)
def test_pipeline_equals_refit_on_retained_rows(clf):
    df, y = _customers()
    pipe = make_pipeline(_columns(), clone(clf)).fit(df, y)
    pipe.unlearn(FORGET[:2]).unlearn(FORGET[2:])
    kept = _kept(len(df))
    refit = make_pipeline(_columns(), clone(clf)).fit(df.iloc[kept], y[kept])
    np.testing.assert_allclose(pipe[0].transform(df), refit[0].transform(df), rtol=1e-12)
    np.testing.assert_allclose(pipe.predict_proba(df), refit.predict_proba(df), atol=1e-10)
    np.testing.assert_array_equal(pipe.predict(df), refit.predict(df))
    np.testing.assert_array_equal(pipe[0].get_feature_names_out(), refit[0].get_feature_names_out())
    assert "onehotencoder__city_q" not in pipe[0].get_feature_names_out()
    assert pipe.unlearn_report_["steps"]["columntransformer"] == "unlearned"


def test_sharded_final_step_equals_its_reference():
    # A sharded ensemble keeps its partition of the fit's positions: the pipeline equals the
    # transformers refitted on the retained rows, followed by the ensemble fitted on every
    # position and unlearning the forgotten ones (its contract, see Pipeline's Notes).
    df, y = _customers()
    clf = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    pipe = make_pipeline(_columns(), clf).fit(df, y).unlearn(FORGET)
    kept = _kept(len(df))
    refit = _columns().fit(df.iloc[kept])
    np.testing.assert_allclose(pipe[0].transform(df), refit.transform(df), rtol=1e-12)
    reference = _unlearned_reference(pipe, df, y, FORGET, start=1)
    np.testing.assert_array_equal(
        pipe.predict_proba(df), reference.predict_proba(pipe[0].transform(df))
    )


def test_approximate_final_step_stays_within_tolerance():
    df, y = _customers()
    pipe = make_pipeline(_columns(), InfluenceUnlearnLogistic()).fit(df, y).unlearn(FORGET)
    kept = _kept(len(df))
    refit = make_pipeline(_columns(), InfluenceUnlearnLogistic()).fit(df.iloc[kept], y[kept])
    np.testing.assert_allclose(pipe.predict_proba(df), refit.predict_proba(df), atol=1e-2)
    np.testing.assert_allclose(pipe[0].transform(df), refit[0].transform(df), rtol=1e-12)
    # Within its reported bound of the retrained optimum (a polished reference).
    report = verify_unlearning(pipe, df, y)
    assert report["status"] == "passed", report["reason"]


@pytest.mark.parametrize(
    "clf",
    [*EXACT, ShardedEnsembleClassifier(LogisticRegression(), n_shards=2, random_state=0)],
    ids=lambda c: type(c).__name__,
)
def test_dataframe_pipeline_purges(clf):
    df, y = _customers()
    pipe = make_pipeline(_columns(), clone(clf)).fit(df, y).unlearn(FORGET)
    blob = pickle.dumps(pipe)
    for i in FORGET:
        for column in ("age", "income"):
            value = df[column].iloc[i]
            if np.isfinite(value):
                assert np.float64(value).tobytes() not in blob, (i, column)
    assert b"city_q" not in blob  # the category of row 0 only


def _numeric(n=90, seed=0):
    """An array for the unlearning checks: three numeric columns with NaN, and an integer
    category column."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.randint(0, 3, n)
    X[rng.rand(n, 4) < 0.1] = np.nan
    X[np.isnan(X[:, 3]), 3] = 1.0
    y = (np.nan_to_num(X[:, 0]) + X[:, 3] > 1).astype(int)
    return X, y


def _numeric_columns():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0, 1, 2]),
            ("cat", OneHotEncoder(sparse_output=False), [3]),
        ]
    )


@pytest.mark.parametrize(
    "clf",
    [
        *EXACT,
        ShardedEnsembleClassifier(LogisticRegression(), n_shards=2, random_state=0),
    ],
    ids=lambda c: type(c).__name__,
)
@pytest.mark.parametrize("check", [check_unlearn_purges, check_unlearn_state_forgets_values])
def test_unlearning_checks_on_pipelines(clf, check):
    X, y = _numeric()
    check(make_pipeline(_numeric_columns(), clone(clf)), X, y)


def test_column_transformer_checks_and_report():
    X, y = _numeric()
    check_unlearn_purges(_numeric_columns(), X, y)
    check_unlearn_state_forgets_values(_numeric_columns(), X, y)
    ct = _numeric_columns().fit(X)
    report = ct.unlearn([1, 2]).unlearn_report_
    assert report["transformers"] == {"num": "unlearned", "cat": "unlearned"}
    assert set(report["transformer_reports"]) == {"num", "cat"}
    assert report["exact"] and report["distance_bound"] is None
    assert ct.estimate_unlearn_cost([5])["samples_retrained"] >= 0


def test_output_indices_follow_a_vanished_category():
    X = np.array([[0.0, 0], [1.0, 1], [2.0, 1], [3.0, 2], [4.0, 2]])
    ct = ColumnTransformer(
        [("num", StandardScaler(), [0]), ("cat", OneHotEncoder(sparse_output=False), [1])],
        remainder="drop",
    ).fit(X)
    assert ct.output_indices_["cat"] == slice(1, 4)
    ct.unlearn([0])
    refit = sk_compose.ColumnTransformer(
        [("num", sk_pre.StandardScaler(), [0]), ("cat", sk_pre.OneHotEncoder(), [1])]
    ).fit(X[1:])
    assert ct.output_indices_ == refit.output_indices_
    np.testing.assert_allclose(ct.transform(X[1:]), refit.transform(X[1:]))


def test_stateless_parts_need_nothing():
    X = np.random.RandomState(0).uniform(size=(40, 5))
    knots = np.linspace(0, 1, 4)[:, None]
    ct = ColumnTransformer(
        [
            ("log", FunctionTransformer(np.log1p), [0]),
            ("poly", PolynomialFeatures(2), [1]),
            ("spline", SplineTransformer(knots=knots), [2]),
            ("keep", "passthrough", [3]),
            ("gone", "drop", [4]),
        ]
    ).fit(X)
    before = ct.transform(X)
    report = ct.unlearn([0, 5]).unlearn_report_
    assert report["transformers"] == {
        "log": "stateless",
        "poly": "stateless",
        "spline": "stateless",
        "keep": "stateless",  # fitted 'passthrough' is scikit-learn's FunctionTransformer
        "gone": "drop",
    }
    assert not report["transform_changed"]
    np.testing.assert_array_equal(ct.transform(X), before)
    # The same transformers are accepted by skunlearn's Pipeline as steps.
    spline = SplineTransformer(knots=np.tile(np.linspace(0, 1, 4)[:, None], (1, 5)))
    pipe = make_pipeline(spline, PolynomialFeatures(1), GaussianNB())
    y = (X[:, 0] > 0.5).astype(int)
    pipe.fit(X, y).unlearn([1])
    assert pipe.unlearn_report_["steps"]["polynomialfeatures"] == "stateless"
    assert pipe.unlearn_report_["steps"]["splinetransformer"] == "stateless"


def test_parts_that_cannot_unlearn_raise_before_anything_changes():
    X, y = _numeric()
    X = np.nan_to_num(X)
    ct = ColumnTransformer([("num", sk_pre.StandardScaler(), [0, 1])]).fit(X)
    with pytest.raises(ValueError, match=r"transformer 'num' \(StandardScaler\)"):
        ct.unlearn([0])
    assert ct.unlearned_indices_.size == 0
    # Knots placed from the rows: learned from them.
    ct = ColumnTransformer([("spline", SplineTransformer(), [0])]).fit(X)
    with pytest.raises(ValueError, match="'spline'"):
        ct.unlearn([0])
    # scikit-learn's own ColumnTransformer inside skunlearn's Pipeline: the step is named.
    pipe = make_pipeline(
        sk_compose.make_column_transformer((sk_pre.StandardScaler(), [0, 1])), GaussianNB()
    ).fit(X, y)
    with pytest.raises(ValueError, match="'columntransformer'"):
        pipe.unlearn([0])


def test_pandas_output_after_unlearn():
    df, _ = _customers()
    ct = _columns().set_output(transform="pandas").fit(df)
    ct.unlearn(FORGET)
    kept = _kept(len(df))
    refit = _columns().set_output(transform="pandas").fit(df.iloc[kept])
    out, expected = ct.transform(df), refit.transform(df)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, expected, rtol=1e-12)


def test_set_params_after_fit_does_not_change_unlearn():
    df, _ = _customers()
    changed = _columns().fit(df)
    changed.set_params(pipeline__standardscaler__with_mean=False, remainder="passthrough")
    changed.unlearn(FORGET)
    plain = _columns().fit(df).unlearn(FORGET)
    np.testing.assert_array_equal(changed.transform(df), plain.transform(df))


def test_feature_union_equals_refit():
    X, _ = _numeric()
    X = np.nan_to_num(X)
    union = make_union(StandardScaler(), MinMaxScaler(), FunctionTransformer(np.tanh)).fit(X)
    union.unlearn([0, 1, 2])
    refit = make_union(StandardScaler(), MinMaxScaler(), FunctionTransformer(np.tanh)).fit(X[3:])
    np.testing.assert_allclose(union.transform(X), refit.transform(X), rtol=1e-12, atol=1e-14)
    assert union.unlearn_report_["transformers"] == {
        "standardscaler": "unlearned",
        "minmaxscaler": "unlearned",
        "functiontransformer": "stateless",
    }
    check_unlearn_purges(make_union(StandardScaler(), MinMaxScaler()), X, None)
    check_unlearn_state_forgets_values(make_union(StandardScaler(), MinMaxScaler()), X, None)


def test_feature_union_errors():
    X = np.random.RandomState(0).normal(size=(30, 3))
    union = FeatureUnion([("pca", PCA(n_components=2)), ("scale", StandardScaler())]).fit(X)
    with pytest.raises(ValueError, match=r"transformer 'pca' \(PCA\)"):
        union.unlearn([0])
    union = make_union(StandardScaler(), MinMaxScaler()).fit(X)
    union.set_params(minmaxscaler=MinMaxScaler())  # an unfitted replacement
    with pytest.raises(ValueError, match="replaced after fit"):
        union.unlearn([0])
    # Nested parameter changes leave the fitted parts in place: unlearn works with them.
    union = make_union(StandardScaler(), MinMaxScaler()).fit(X)
    union.set_params(standardscaler__with_mean=False)
    union.unlearn([0])
    refit = StandardScaler().fit(X[1:])
    np.testing.assert_allclose(union.transformer_list[0][1].mean_, refit.mean_, rtol=1e-12)
