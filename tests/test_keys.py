"""Deletion by key: fit with one key per row (a customer ID), forget every row of some keys.

The generic contract (keys equal positions, purge, retries, pandas labels refused) runs on
every unlearner in test_common.py (``check_unlearn_by_key``); these tests cover key types,
errors, persistence, sharding by key and metadata routing.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.naive_bayes import GaussianNB
from skunlearn.pipeline import make_pipeline
from skunlearn.preprocessing import StandardScaler


@pytest.fixture
def data():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return X, y


def _customers(n, per=3):
    return np.array([f"cust-{i // per:04d}" for i in range(n)])


@pytest.mark.parametrize(
    "keys",
    [
        np.repeat(np.arange(40) * 7, 3),  # ints
        _customers(120),  # strings
        [(i // 3, "eu") for i in range(120)],  # tuples, kept whole
        [i // 3 if i % 2 else str(i // 3) for i in range(120)],  # 1 and "1" are different
        pd.Series(_customers(120), dtype="category"),
    ],
    ids=["int", "str", "tuple", "mixed", "categorical"],
)
def test_unlearn_by_key_equals_refit_on_retained_rows(data, keys):
    X, y = data
    key_list = list(keys)
    forget = [key_list[5], key_list[60], key_list[61]]
    rows = np.array([i for i, k in enumerate(key_list) if k in forget])
    model = GaussianNB().fit(X, y, keys=keys).unlearn(keys=forget)
    np.testing.assert_array_equal(model.unlearned_indices_, rows)
    refit = GaussianNB().fit(np.delete(X, rows, axis=0), np.delete(y, rows))
    # Exact decremental statistics: equal to a refit up to rounding.
    np.testing.assert_allclose(model.predict_proba(X), refit.predict_proba(X), rtol=1e-12)
    assert model.unlearn_report_["n_keys"] == len(set(forget))


def test_mixed_keys_stay_apart(data):
    X, y = data
    keys = [1 if i < 60 else "1" for i in range(120)]
    model = GaussianNB().fit(X, y, keys=keys).unlearn(keys=[1])
    np.testing.assert_array_equal(model.unlearned_indices_, np.arange(60))


def test_single_key_and_collections(data):
    X, y = data
    keys = _customers(120)
    for request in ("cust-0001", ["cust-0001"], {"cust-0001"}, pd.Index(["cust-0001"])):
        model = GaussianNB().fit(X, y, keys=keys).unlearn(keys=request)
        np.testing.assert_array_equal(model.unlearned_indices_, [3, 4, 5])


@pytest.mark.parametrize(
    "keys, match",
    [
        (_customers(119), "one key per training row"),
        ("customer_id", "one key per training row"),
        (np.where(np.arange(120) == 7, None, _customers(120)), "missing"),
        (np.where(np.arange(120) == 7, np.nan, np.arange(120.0)), "missing"),
        (np.zeros((120, 2)), "one key per row"),
    ],
)
def test_bad_keys_at_fit(data, keys, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        GaussianNB().fit(X, y, keys=keys)


def test_bad_key_requests(data):
    X, y = data
    model = GaussianNB().fit(X, y, keys=_customers(120))
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="either indices"):
        model.unlearn([0], keys=["cust-0000"])
    with pytest.raises(ValueError, match="belong to no retained row"):
        model.unlearn(keys=["cust-0000", "nobody"])
    assert pickle.dumps(model) == before
    with pytest.raises(ValueError, match="fitted without keys"):
        GaussianNB().fit(X, y).unlearn(keys=["cust-0000"])


def test_forgotten_keys_are_purged(data):
    X, y = data
    keys = _customers(120)
    model = GaussianNB().fit(X, y, keys=keys)
    # Every row of a key forgotten by position also forgets the key.
    model.unlearn([3, 4, 5]).unlearn(keys=["cust-0002"])
    blob = pickle.dumps(model)
    for key in ("cust-0001", "cust-0002"):
        assert key.encode("utf-32-le") not in blob and key.encode() not in blob
    assert "cust-0003".encode("utf-32-le") in blob
    with pytest.raises(ValueError, match="already forgotten"):
        model.unlearn(keys=["cust-0001"])
    # A key with a row left stays.
    model.unlearn([9])
    model.unlearn(keys=["cust-0003"])
    np.testing.assert_array_equal(model.unlearned_indices_, [3, 4, 5, 6, 7, 8, 9, 10, 11])


def test_pandas_labels_are_never_read_as_positions(data):
    X, y = data
    df = pd.DataFrame(X, columns=list("abcde")).assign(customer=_customers(120), age=y * 40)
    train = df[df.age > 30]  # labels no longer match positions
    model = GaussianNB().fit(train[list("abcde")], y[train.index], keys=train["customer"])
    target = train.customer.iloc[0]
    with pytest.raises(ValueError, match=r"np\.flatnonzero"):
        model.unlearn(train.index[train.customer == target])
    with pytest.raises(ValueError, match="position"):
        model.unlearn(train.customer == target)
    model.unlearn(keys=target)
    np.testing.assert_array_equal(
        model.unlearned_indices_, np.flatnonzero(train.customer.to_numpy() == target)
    )


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_keys_survive_persistence(data, how):
    X, y = data
    model = GaussianNB().fit(X, y, keys=_customers(120)).unlearn(keys=["cust-0004"])
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(model))
    else:
        sio = pytest.importorskip("skops.io")
        blob = sio.dumps(model)
        loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    model.unlearn(keys=["cust-0009", "cust-0010"])
    loaded.unlearn(keys=["cust-0009", "cust-0010"])
    np.testing.assert_array_equal(loaded.unlearned_indices_, model.unlearned_indices_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_sharding_by_key_keeps_a_customer_in_one_shard(data):
    X, y = data
    keys = np.array([f"c{i % 17}" for i in range(120)])  # a customer's rows are spread out
    model = ShardedEnsembleClassifier(LogisticRegression(), n_shards=4, random_state=0)
    model.fit(X, y, keys=keys)
    shard_of = model._shard_of_position
    assert all(np.unique(shard_of[keys == k]).size == 1 for k in np.unique(keys))
    model.unlearn(keys=["c3"])
    assert len(model.unlearn_report_["shards_retrained"]) == 1
    # groups, when given, decide the shards; keys still name the rows.
    groups = np.arange(120) % 4
    model = ShardedEnsembleClassifier(LogisticRegression(), n_shards=4, random_state=0)
    model.fit(X, y, groups=groups, keys=keys)
    assert all(np.unique(model._shard_of_position[groups == g]).size == 1 for g in range(4))


def test_more_shards_than_keys_warns(data, caplog):
    X, y = data
    keys = np.arange(120) % 3
    with caplog.at_level("WARNING", logger="skunlearn"):
        ShardedEnsembleClassifier(LogisticRegression(), n_shards=5, random_state=0).fit(
            X, y, keys=keys
        )
    assert "n_shards=5 exceeds the number of groups (or keys) (3)" in caplog.text


def test_keys_routed_through_grid_search_and_pipeline(data):
    X, y = data
    keys = _customers(120)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(),
            ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0),
        )
        search = GridSearchCV(pipe, {"shardedensembleclassifier__n_shards": [2, 3]}, cv=3)
        best = search.fit(X, y, keys=keys).best_estimator_
    # The pipeline and its steps all received the keys; one customer sits in one shard.
    for est in (best, best[0], best[-1]):
        assert est._keys.n_keys == 40
    shard_of = best[-1]._shard_of_position
    assert all(np.unique(shard_of[keys == k]).size == 1 for k in np.unique(keys))
    best.unlearn(keys=["cust-0003", "cust-0007"])
    assert best.unlearn_report_["n_removed"] == 6
    assert best[-1]._keys.n_keys == 38  # the steps purged the keys too
    # Without routing, GridSearchCV passes fit parameters to the estimator as they are.
    search = GridSearchCV(GaussianNB(), {"var_smoothing": [1e-9, 1e-8]}, cv=3)
    assert search.fit(X, y, keys=keys).best_estimator_._keys.n_keys == 40


def test_keys_on_partial_fit_rows(data):
    X, y = data
    model = GaussianNB().fit(X[:60], y[:60], keys=_customers(60))
    model.partial_fit(X[60:], y[60:])  # rows without keys
    model.unlearn(keys=["cust-0000"]).unlearn([100])
    np.testing.assert_array_equal(model.unlearned_indices_, [0, 1, 2, 100])
