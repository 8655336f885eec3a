"""DataFrames end to end: the meta-estimators hand the user's DataFrame rows to the wrapped
estimators unchanged (by position), in memory and through ``store=``."""

import os

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skunlearn.ensemble import (
    ClassPartitionedClassifier,
    ShardedEnsembleClassifier,
    ShardedEnsembleRegressor,
)
from skunlearn.ensemble._store import StoredFrame

pd = pytest.importorskip("pandas")


def _frame(n=120, seed=0):
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "visits": rng.randint(0, 20, n),
            "city": rng.choice(["north", "south", "east"], n),
            "tier": pd.Categorical(rng.choice(["gold", "silver"], n)),
            "note": pd.Series(rng.choice(["x", "y", None], n), dtype=object),
        }
    )
    df.loc[rng.rand(n) < 0.1, "age"] = np.nan
    df.index = rng.permutation(np.arange(1000, 1000 + n))  # labels that are not positions
    y = ((df["visits"] > 9) ^ (df["city"] == "east")).astype(int).to_numpy()
    return df, y


def _by_name():
    """A scikit-learn pipeline that needs column names, dtypes and categories."""
    return make_pipeline(
        make_column_transformer(
            (
                make_pipeline(SimpleImputer(), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (OneHotEncoder(handle_unknown="ignore"), ["city", "tier"]),
        ),
        LogisticRegression(),
    )


def _check_shards_match_refits(model, df, y):
    """Each shard equals a fresh fit on its own rows, taken from ``df`` by position."""
    for k, rows in enumerate(model.shard_indices_):
        fresh = clone(model.estimator).fit(df.iloc[rows], y[rows])
        np.testing.assert_array_equal(
            model.estimators_[k].predict_proba(df), fresh.predict_proba(df)
        )


@pytest.mark.parametrize("store", [False, True])
def test_sharded_passes_the_dataframe(store, tmp_path):
    df, y = _frame()
    model = ShardedEnsembleClassifier(
        _by_name(), n_shards=3, random_state=0, store=tmp_path if store else None
    ).fit(df, y)
    np.testing.assert_array_equal(model.feature_names_in_, df.columns)
    assert model.n_features_in_ == df.shape[1]
    for est in model.estimators_:
        np.testing.assert_array_equal(est.feature_names_in_, df.columns)
    model.unlearn([0, 5, 77])
    _check_shards_match_refits(model, df, y)
    assert model._verify_exact(df, y)["match"]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(df[df.columns[::-1]])


def test_categorical_dtype_and_pandas_output_inside_shards():
    df, y = _frame()
    X = df[["age", "visits", "tier"]]
    hgb = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=5, random_state=0
    )
    model = ShardedEnsembleClassifier(hgb, n_shards=2, random_state=0).fit(X, y)
    for est in model.estimators_:
        np.testing.assert_array_equal(est.is_categorical_, [False, False, True])
    model.unlearn([1, 2])
    _check_shards_match_refits(model, X, y)

    seen = []

    def record(frame):
        seen.append(frame)
        return frame

    inner = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["age", "visits"]), (OneHotEncoder(sparse_output=False), ["city"])
        ).set_output(transform="pandas"),
        FunctionTransformer(record),
        LogisticRegression(),
    )
    ShardedEnsembleClassifier(inner, n_shards=2, random_state=0).fit(df.fillna(0), y)
    assert all(isinstance(frame, pd.DataFrame) for frame in seen)
    assert "standardscaler__age" in seen[0].columns


def test_sliced_shards_take_dataframe_slices():
    df, y = _frame()
    X = df[["age", "visits"]].fillna(0)
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=2, n_slices=3, random_state=0)
    model.fit(X, y).unlearn([3])
    for est in model.estimators_:
        np.testing.assert_array_equal(est.feature_names_in_, ["age", "visits"])
    assert model._verify_exact(X, y)["match"]


def test_regressor_passes_the_dataframe():
    df, _ = _frame()
    y = df["visits"].to_numpy(dtype=float)
    inner = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), (SimpleImputer(), ["age"])), Ridge()
    )
    model = ShardedEnsembleRegressor(inner, n_shards=2, random_state=0).fit(df, y)
    model.unlearn([0])
    for k, rows in enumerate(model.shard_indices_):
        fresh = clone(inner).fit(df.iloc[rows], y[rows])
        np.testing.assert_allclose(model.estimators_[k].predict(df), fresh.predict(df))


def test_store_keeps_frames_column_by_column(tmp_path):
    df, y = _frame()
    model = ShardedEnsembleClassifier(_by_name(), n_shards=2, random_state=0, store=tmp_path)
    model.fit(df, y)
    stored = model._shard_data[0][0]
    assert isinstance(stored, StoredFrame)
    assert stored.encodings == ("values", "values", "text", "category", "text")
    assert all(f.endswith(".npy") for f in stored.files)  # nothing pickled
    loaded = stored.load()
    expected = df.iloc[model.shard_indices_[0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded, expected)
    assert loaded["note"].isna().sum() == expected["note"].isna().sum()
    assert all(v is None for v in loaded["note"][loaded["note"].isna()])

    in_memory = ShardedEnsembleClassifier(_by_name(), n_shards=2, random_state=0).fit(df, y)
    forget = [0, 1, 2]
    model.unlearn(forget)
    in_memory.unlearn(forget)
    np.testing.assert_array_equal(model.predict_proba(df), in_memory.predict_proba(df))
    # The rewritten files hold no forgotten row: the old ones are gone.
    files = [os.path.join(model.store_dir_, f) for f in os.listdir(model.store_dir_)]
    data = b"".join(open(f, "rb").read() for f in files)
    for i in forget:
        age = df["age"].iloc[i]
        if np.isfinite(age):
            assert np.float64(age).tobytes() not in data


def test_class_partitioned_passes_the_dataframe():
    df, y = _frame()
    inner = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), ["age", "visits"]),
            (OneHotEncoder(sparse_output=False), ["city", "tier"]),
        ),
        GaussianMixture(covariance_type="diag", random_state=0),
    )
    model = ClassPartitionedClassifier(inner, n_blocks=1, random_state=0).fit(df, y)
    np.testing.assert_array_equal(model.feature_names_in_, df.columns)
    model.unlearn([0, 4, 9])
    kept = np.setdiff1d(np.arange(len(df)), [0, 4, 9])
    refit = ClassPartitionedClassifier(inner, n_blocks=1, random_state=0).fit(
        df.iloc[kept], y[kept]
    )
    np.testing.assert_array_equal(model.predict_proba(df), refit.predict_proba(df))
    with pytest.raises(ValueError, match="numeric features"):
        ClassPartitionedClassifier(inner, selection=10, random_state=0).fit(df, y)


def test_class_partitioned_blocks_from_dataframe_rows_are_exact():
    df, y = _frame()
    X = df[["age", "visits"]].fillna(0)
    est = GaussianMixture(random_state=0, warm_start=False, max_iter=20)
    model = ClassPartitionedClassifier(est, n_blocks=3, random_state=0).fit(X, y)
    model.unlearn([5, 6])
    kept = np.setdiff1d(np.arange(len(X)), [5, 6])
    refit = ClassPartitionedClassifier(est, n_blocks=3, random_state=0).fit(X.iloc[kept], y[kept])
    for a, b in zip(model.block_indices_, refit.block_indices_):
        for block_a, block_b in zip(a, b):
            np.testing.assert_array_equal(kept[block_b], block_a)
    np.testing.assert_allclose(model.predict_proba(X), refit.predict_proba(X))


def test_pandas_index_is_never_read_as_positions():
    df, y = _frame()
    model = ShardedEnsembleClassifier(_by_name(), n_shards=2, random_state=0).fit(df, y)
    with pytest.raises(ValueError, match="pandas"):
        model.unlearn(df.index[:2])  # labels 1000.. would be out of range or other rows
    assert model.unlearned_indices_.size == 0


def test_polars_frames_reach_the_shards(tmp_path):
    # As scikit-learn's VotingClassifier does (its BaggingClassifier converts to an array).
    pl = pytest.importorskip("polars")
    df, y = _frame()
    frame = pl.DataFrame(
        {
            "age": df["age"].to_numpy(),
            "visits": df["visits"].to_numpy(),
            "city": df["city"].tolist(),
        }
    )
    inner = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), ["age", "visits"]),
            (OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ),
        LogisticRegression(),
    )
    for store in (None, tmp_path):
        model = ShardedEnsembleClassifier(inner, n_shards=2, random_state=0, store=store)
        model.fit(frame, y).unlearn([0, 1])
        np.testing.assert_array_equal(model.feature_names_in_, ["age", "visits", "city"])
        assert model._verify_exact(frame, y)["match"]
        if store is not None:
            stored = model._shard_data[0][0]
            assert stored.library == "polars"
            assert stored.encodings == ("values", "values", "text")  # NaN, not null
            assert stored.load().equals(frame[model.shard_indices_[0]])


def test_stored_frame_round_trips_every_kind_of_column(tmp_path):
    from skunlearn.ensemble._store import ShardStore

    df = pd.DataFrame(
        {
            "float": [1.5, np.nan, 3.0, 4.0],
            "int": [1, 2, 3, 4],
            "bool": [True, False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "object_nan": pd.Series(["a", np.nan, "b", "a"], dtype=object),
            "string": pd.Series(["x", None, "y", "y"], dtype="string"),
            "category": pd.Categorical(["u", "v", "u", "w"], categories=["u", "v", "w", "z"]),
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
        }
    )
    store = ShardStore.create(tmp_path)
    rows = np.array([3, 1, 0])
    ref = store.save_rows("s", df, rows)
    assert ref.encodings == (
        "values",
        "values",
        "values",
        "values",
        "text",
        "text",
        "category",
        "pickle",
    )
    pd.testing.assert_frame_equal(ref.load(), df.iloc[rows].reset_index(drop=True))
    # Only the stored rows' strings are written: "b" (row 2) is not.
    data = b"".join(open(f, "rb").read() for f in ref.files if ".col4" in f)
    assert "b".encode("utf-32-le") not in data
