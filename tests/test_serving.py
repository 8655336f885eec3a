"""Serving copies: predict-only models without the state kept to forget.

``check_serving_copy`` (test_common.py, every unlearner) checks bitwise predictions, the byte
scan of the training rows and keys, and the error from ``unlearn``. These tests check what is
specific: the class of the copy, its pickle size against scikit-learn's own model, and the
deployment pattern (unlearn the stored model, push a new copy).
"""

import pickle

import numpy as np
import pytest
import sklearn.impute
import sklearn.linear_model
import sklearn.naive_bayes
import sklearn.neighbors
import sklearn.preprocessing
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression

import skunlearn.impute
import skunlearn.linear_model
import skunlearn.naive_bayes
import skunlearn.neighbors
import skunlearn.preprocessing
from skunlearn.base import UnlearnerMixin, is_unlearner
from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.pipeline import make_pipeline

N_ROWS = 1500

# (skunlearn drop-in, the scikit-learn class its serving copy is, data kind)
DROP_INS = [
    (skunlearn.naive_bayes.GaussianNB(), sklearn.naive_bayes.GaussianNB(), "clf"),
    (skunlearn.naive_bayes.BernoulliNB(), sklearn.naive_bayes.BernoulliNB(), "clf"),
    (skunlearn.naive_bayes.MultinomialNB(), sklearn.naive_bayes.MultinomialNB(), "counts"),
    (skunlearn.naive_bayes.ComplementNB(), sklearn.naive_bayes.ComplementNB(), "counts"),
    (skunlearn.naive_bayes.CategoricalNB(), sklearn.naive_bayes.CategoricalNB(), "counts"),
    (skunlearn.preprocessing.StandardScaler(), sklearn.preprocessing.StandardScaler(), "reg"),
    (skunlearn.preprocessing.MinMaxScaler(), sklearn.preprocessing.MinMaxScaler(), "reg"),
    (skunlearn.preprocessing.MaxAbsScaler(), sklearn.preprocessing.MaxAbsScaler(), "reg"),
    (skunlearn.preprocessing.OneHotEncoder(), sklearn.preprocessing.OneHotEncoder(), "counts"),
    (skunlearn.impute.SimpleImputer(), sklearn.impute.SimpleImputer(), "reg"),
    (skunlearn.linear_model.Ridge(), sklearn.linear_model.Ridge(), "reg"),
    (skunlearn.linear_model.LinearRegression(), sklearn.linear_model.LinearRegression(), "reg"),
    (skunlearn.linear_model.BayesianRidge(), sklearn.linear_model.BayesianRidge(), "reg"),
    (
        skunlearn.linear_model.InfluenceUnlearnLogistic(),
        sklearn.linear_model.LogisticRegression(),
        "clf",
    ),
    (
        skunlearn.neighbors.KNeighborsClassifier(),
        sklearn.neighbors.KNeighborsClassifier(),
        "clf",
    ),
    (skunlearn.neighbors.KNeighborsRegressor(), sklearn.neighbors.KNeighborsRegressor(), "reg"),
]


def _data(kind):
    if kind == "reg":
        return make_regression(n_samples=N_ROWS, n_features=8, noise=1.0, random_state=0)
    X, y = make_classification(n_samples=N_ROWS, n_features=8, random_state=0)
    if kind == "counts":
        X = np.floor(np.abs(X) * 2)
    return X, y


def _size(est) -> int:
    return len(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.mark.parametrize(
    "ours, theirs, kind", DROP_INS, ids=[type(d[0]).__name__ for d in DROP_INS]
)
def test_drop_in_serving_copy_is_scikit_learns_model(ours, theirs, kind):
    X, y = _data(kind)
    forget = np.arange(0, N_ROWS, 7)
    model = clone(ours).fit(X, y).unlearn(forget)
    serving = model.serving_copy()
    assert isinstance(serving, type(theirs)) and not is_unlearner(serving)
    assert not hasattr(serving, "unlearn")
    with pytest.raises(AttributeError, match="push a new serving_copy"):
        serving.unlearn([0])
    # The same fitted attributes as scikit-learn's own fit on the retained rows, and a pickle
    # of the same order of size (the unlearner's is many times larger: it keeps the rows).
    reference = clone(theirs).fit(np.delete(X, forget, axis=0), np.delete(y, forget))
    fitted = {k for k in vars(reference) if k.endswith("_") and not k.startswith("_")}
    # (InfluenceUnlearnLogistic's Newton steps are not lbfgs iterations: no n_iter_.)
    assert fitted - {"n_iter_"} <= set(vars(serving))
    assert _size(serving) <= 2 * _size(reference)
    assert _size(serving) < _size(model)


def test_sharded_serving_copy_keeps_the_shards_estimators_only(tmp_path):
    X, y = make_classification(n_samples=N_ROWS, n_features=8, random_state=0)
    model = ShardedEnsembleClassifier(
        LogisticRegression(), n_shards=5, n_slices=1, random_state=0, store=tmp_path
    ).fit(X, y)
    model.unlearn([0, 1, 2])
    serving = model.serving_copy()
    for name in ("_shard_data", "_checkpoints", "_store", "store_dir_", "shard_indices_"):
        assert not hasattr(serving, name)
    assert _size(serving) <= 2 * _size(serving.estimators_)
    np.testing.assert_array_equal(serving.predict_proba(X), model.predict_proba(X))
    # It does not depend on the store: the stored model may refit (and delete its files).
    model.fit(X, y)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(serving)).predict(X), serving.predict(X)
    )


def test_nested_unlearners_are_served_too():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    pipe = make_pipeline(
        skunlearn.preprocessing.StandardScaler(),
        ShardedEnsembleClassifier(skunlearn.naive_bayes.GaussianNB(), n_shards=3, random_state=0),
    ).fit(X, y)
    serving = pipe.serving_copy()
    scaler, ensemble = serving[0], serving[-1]
    assert type(scaler) is not skunlearn.preprocessing.StandardScaler
    assert isinstance(scaler, sklearn.preprocessing.StandardScaler)
    assert all(isinstance(e, sklearn.naive_bayes.GaussianNB) for e in ensemble.estimators_)
    assert not any(is_unlearner(e) for e in ensemble.estimators_)
    for copy in (serving, ensemble):
        with pytest.raises(AttributeError, match="serving copy"):
            copy.unlearn([0])
        assert not is_unlearner(copy)
    np.testing.assert_array_equal(serving.predict_proba(X), pipe.predict_proba(X))


def test_deployment_pattern():
    """The unlearnable model stays with the data; after each batch of deletions a new
    serving copy is pushed, predicting as the unlearned model does."""
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    keys = np.array([f"c{i // 3}" for i in range(300)])
    stored = skunlearn.naive_bayes.GaussianNB().fit(X, y, keys=keys)
    pushed = stored.serving_copy()
    for batch in (["c1", "c2"], ["c10"], ["c2", "c40"]):
        stored.unlearn(keys=batch, already_forgotten="skip")
        previous, pushed = pushed, stored.serving_copy()
        np.testing.assert_array_equal(pushed.predict_proba(X), stored.predict_proba(X))
    assert not np.array_equal(previous.theta_, skunlearn.naive_bayes.GaussianNB().fit(X, y).theta_)


def test_serving_copy_loads_with_skops():
    sio = pytest.importorskip("skops.io")
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    model = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    serving = model.fit(X, y).unlearn([4]).serving_copy()
    blob = sio.dumps(serving)
    untrusted = sio.get_untrusted_types(data=blob)
    assert all(t.startswith("skunlearn.") for t in untrusted)
    loaded = sio.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), serving.predict_proba(X))
    with pytest.raises(AttributeError, match="serving copy"):
        loaded.unlearn([0])


def test_undeclared_training_state_is_refused():
    class Undeclared(UnlearnerMixin, sklearn.base.BaseEstimator):
        def fit(self, X, y=None):
            self.X_ = np.asarray(X)
            self._reset_unlearning(len(self.X_))
            return self

    with pytest.raises(NotImplementedError, match="_training_state"):
        Undeclared().fit(np.zeros((3, 1))).serving_copy()
