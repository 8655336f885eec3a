"""Sharded ensembles (SISA): exactness against retraining, partitions, slices, aggregation."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skunlearn.ensemble import ShardedEnsembleClassifier, ShardedEnsembleRegressor

DATASETS = {
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
}


def _load(name):
    X, y = DATASETS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _replay(estimator, X, y, slices, classes):
    """Train ``estimator`` from scratch through a slice schedule, independently of the
    ensemble's own worker: one partial_fit per non-empty slice, in order."""
    if len(slices) == 1:
        if np.unique(y).size == 1:
            return None  # represented by a constant model, checked separately
        return clone(estimator).fit(X, y)
    model = clone(estimator)
    start = 0
    for s in slices:
        if s.size:
            model.partial_fit(X[start : start + s.size], y[start : start + s.size], classes=classes)
        start += s.size
    return model


def assert_shards_match_retraining(model, X, y):
    """Every shard equals a fresh clone trained on exactly its retained rows."""
    retained = np.setdiff1d(np.arange(model.n_samples_fit_), model.unlearned_indices_)
    in_shards = np.concatenate(model.shard_indices_)
    np.testing.assert_array_equal(np.sort(in_shards), retained)
    for k, est in enumerate(model.estimators_):
        rows = model.shard_indices_[k]
        np.testing.assert_array_equal(np.concatenate(model.slice_indices_[k]), rows)
        if rows.size == 0:
            assert est is None
            continue
        classes = getattr(model, "classes_", None)
        fresh = _replay(est, X[rows], y[rows], model.slice_indices_[k], classes)
        if fresh is None:
            assert set(est.predict(X)) == set(np.unique(y[rows]))
            continue
        np.testing.assert_array_equal(est.predict(X), fresh.predict(X))
        if hasattr(fresh, "predict_proba"):
            np.testing.assert_allclose(est.predict_proba(X), fresh.predict_proba(X), rtol=1e-12)


WRAPPED = {
    "logistic": (LogisticRegression(max_iter=2000), {}),
    "tree": (DecisionTreeClassifier(), {}),
    "forest": (RandomForestClassifier(n_estimators=10), {}),
    "knn": (KNeighborsClassifier(n_neighbors=3), {}),
    "scaler_svc": (make_pipeline(StandardScaler(), SVC()), {"aggregation": "hard"}),
    "sgd_sliced": (SGDClassifier(loss="log_loss"), {"n_slices": 4}),
    "gaussian_nb_sliced": (GaussianNB(), {"n_slices": 3}),
}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("wrapped", sorted(WRAPPED))
def test_unlearning_equals_retraining_each_shard(dataset, wrapped):
    X, y = _load(dataset)
    estimator, params = WRAPPED[wrapped]
    model = ShardedEnsembleClassifier(clone(estimator), n_shards=4, random_state=0, **params)
    model.fit(X, y)
    rng = np.random.RandomState(1)
    forget_1 = rng.choice(len(y), size=len(y) // 20, replace=False)
    model.unlearn(forget_1)
    remaining = np.setdiff1d(np.arange(len(y)), forget_1)
    model.unlearn(rng.choice(remaining, size=3, replace=False))
    assert model.unlearn_report_["exact"] is True
    assert_shards_match_retraining(model, X, y)


def test_unlearning_with_sample_weight_equals_weighted_retraining():
    X, y = _load("breast_cancer")
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    model = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    model.fit(X, y, sample_weight=w)
    model.unlearn(np.arange(0, 60, 3))
    for k, est in enumerate(model.estimators_):
        rows = model.shard_indices_[k]
        fresh = clone(est).fit(X[rows], y[rows], sample_weight=w[rows])
        np.testing.assert_allclose(est.coef_, fresh.coef_)


def test_regressor_unlearning_equals_retraining():
    X, y = load_diabetes(return_X_y=True)
    for estimator, n_slices in [(DecisionTreeRegressor(), 1), (Ridge(), 1)]:
        model = ShardedEnsembleRegressor(estimator, n_shards=3, n_slices=n_slices, random_state=2)
        model.fit(X, y).unlearn(np.arange(10, 40))
        assert_shards_match_retraining(model, X, y)
        expected = np.mean([est.predict(X) for est in model.estimators_], axis=0)
        np.testing.assert_allclose(model.predict(X), expected)


def test_sliced_regressor_equals_replayed_schedule():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = ShardedEnsembleRegressor(
        SGDRegressor(random_state=0), n_shards=2, n_slices=5, random_state=0
    ).fit(X, y)
    model.unlearn([7, 300])
    for k, est in enumerate(model.estimators_):
        fresh = clone(est)
        start = 0
        for s in model.slice_indices_[k]:
            rows = model.shard_indices_[k][start : start + s.size]
            fresh.partial_fit(X[rows], y[rows])
            start += s.size
        np.testing.assert_array_equal(est.coef_, fresh.coef_)


def test_unlearning_retrains_only_affected_shards_and_slices():
    X, y = _load("digits")
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=5, n_slices=4, random_state=0)
    model.fit(X, y)
    before = list(model.estimators_)
    row = model.slice_indices_[2][3][0]  # a row in the last slice of shard 2
    cost = model.estimate_unlearn_cost([row])
    model.unlearn([row])
    report = model.unlearn_report_
    assert report["shards_retrained"] == [2] == cost["shards_retrained"]
    assert report["slices_replayed"] == {2: 1}
    assert report["samples_retrained"] == model.slice_indices_[2][3].size
    assert report["samples_retrained"] == cost["samples_retrained"]
    for k in (0, 1, 3, 4):
        assert model.estimators_[k] is before[k]
    assert model.estimators_[2] is not before[2]


def test_batch_retrains_each_affected_shard_once():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(n_shards=4, random_state=0).fit(X, y)
    rows = np.concatenate([model.shard_indices_[1][:5], model.shard_indices_[3][:2]])
    model.unlearn(rows)
    report = model.unlearn_report_
    assert report["shards_retrained"] == [1, 3]
    assert (
        report["samples_retrained"] == model.shard_indices_[1].size + model.shard_indices_[3].size
    )


def test_partition_keeps_groups_together():
    X, y = _load("breast_cancer")
    groups = np.arange(len(y)) // 7
    model = ShardedEnsembleClassifier(n_shards=6, random_state=0).fit(X, y, groups=groups)
    shard_of_group = {}
    for k, rows in enumerate(model.shard_indices_):
        for g in np.unique(groups[rows]):
            assert shard_of_group.setdefault(g, k) == k
    sizes = [rows.size for rows in model.shard_indices_]
    assert max(sizes) - min(sizes) <= 7  # balanced up to one group
    model.unlearn(np.flatnonzero(groups == 3))
    assert len(model.unlearn_report_["shards_retrained"]) == 1


def test_stratified_partition_balances_classes():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(n_shards=3, partition="stratified", random_state=0)
    model.fit(X, y)
    for c in np.unique(y):
        per_shard = [np.sum(y[rows] == c) for rows in model.shard_indices_]
        assert max(per_shard) - min(per_shard) <= 1


def test_deletion_prior_packs_likely_deletions_into_few_shards_and_late_slices():
    X, y = _load("digits")
    prior = np.zeros(len(y))
    likely = np.random.RandomState(0).choice(len(y), size=100, replace=False)
    prior[likely] = 1.0
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=6, n_slices=3, random_state=0)
    model.fit(X, y, deletion_prior=prior)
    holding = [k for k, rows in enumerate(model.shard_indices_) if np.isin(rows, likely).any()]
    assert len(holding) == 1
    last_slice = model.slice_indices_[holding[0]][-1]
    assert np.isin(likely, last_slice).all()
    packed = model.estimate_unlearn_cost(likely)["samples_retrained"]
    spread = ShardedEnsembleClassifier(GaussianNB(), n_shards=6, n_slices=3, random_state=0)
    spread.fit(X, y)
    assert packed < spread.estimate_unlearn_cost(likely)["samples_retrained"] / 5


def test_partition_is_reproducible():
    X, y = _load("wine")
    a = ShardedEnsembleClassifier(n_shards=4, random_state=3).fit(X, y)
    b = ShardedEnsembleClassifier(n_shards=4, random_state=3).fit(X, y)
    for ra, rb in zip(a.shard_indices_, b.shard_indices_):
        np.testing.assert_array_equal(ra, rb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_shard_losing_a_class_and_all_rows_keeps_aggregating():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(
        LogisticRegression(), n_shards=3, partition="stratified", random_state=0
    )
    model.fit(X, y)
    shard = model.shard_indices_[0]
    # Forget everything in shard 0 but one class: it becomes a single-class shard.
    keep_class = y[shard][0]
    model.unlearn(shard[y[shard] != keep_class])
    assert model.estimators_[0].classes_.tolist() == [keep_class]
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Then forget the rest of shard 0: it leaves the aggregation.
    model.unlearn(model.shard_indices_[0])
    assert model.estimators_[0] is None
    assert model.unlearn_report_["empty_shards"] == [0]
    expected = np.mean([est.predict_proba(X) for est in model.estimators_[1:]], axis=0)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert model.score(X, y) > 0.9


def test_forgetting_a_whole_class_removes_it_from_classes():
    X, y = _load("wine")
    for n_slices, estimator in [(1, DecisionTreeClassifier()), (3, GaussianNB())]:
        model = ShardedEnsembleClassifier(estimator, n_shards=3, n_slices=n_slices, random_state=0)
        model.fit(X, y).unlearn(np.flatnonzero(y == 1))
        assert model.classes_.tolist() == [0, 2]
        assert set(model.predict(X)) <= {0, 2}
        assert model.predict_proba(X).shape == (len(y), 2)
        assert_shards_match_retraining(model, X, y)


def test_hard_vote_breaks_ties_towards_the_first_class():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1, 1, 0, 0])
    model = ShardedEnsembleClassifier(
        DecisionTreeClassifier(), n_shards=2, aggregation="hard", random_state=0
    )
    model.fit(X, y, groups=[0, 0, 1, 1])  # one shard votes 1, the other 0, everywhere
    np.testing.assert_array_equal(model.predict(X), [0, 0, 0, 0])


@pytest.mark.parametrize("aggregation", ["soft", "hard"])
def test_decision_function_tells_the_story_of_predict(aggregation):
    """Scores come from the aggregate (mean probabilities or votes), not from the shards' own
    decision functions: the same ranking as predict_proba and the same labels as predict."""
    X, y = _load("breast_cancer")
    model = ShardedEnsembleClassifier(
        LogisticRegression(), n_shards=3, aggregation=aggregation, random_state=0
    ).fit(X, y)
    scores = model.decision_function(X)
    np.testing.assert_array_equal(model.classes_[(scores > 0).astype(int)], model.predict(X))
    if aggregation == "soft":
        proba = model.predict_proba(X)
        np.testing.assert_allclose(scores, np.log(proba[:, 1]) - np.log(proba[:, 0]))
    else:
        votes = np.mean([est.predict(X) for est in model.estimators_], axis=0)
        np.testing.assert_allclose(scores, 2 * votes - 1)  # share for 1 less share for 0
    Xw, yw = _load("wine")
    model.fit(Xw, yw)
    scores = model.decision_function(Xw)
    assert scores.shape == (len(yw), 3)
    np.testing.assert_array_equal(model.classes_[scores.argmax(axis=1)], model.predict(Xw))
    if aggregation == "soft":
        np.testing.assert_allclose(np.exp(scores), model.predict_proba(Xw))


def test_decision_function_and_predict_proba_availability():
    assert not hasattr(ShardedEnsembleClassifier(aggregation="hard"), "predict_proba")
    assert not hasattr(ShardedEnsembleClassifier(SVC()), "predict_proba")  # SVC has none
    # Derived from the aggregate: present whatever the shards are.
    assert hasattr(ShardedEnsembleClassifier(DecisionTreeClassifier()), "decision_function")
    X, y = _load("breast_cancer")
    model = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, y)
    scores = model.decision_function(X)  # trees: probabilities 0 or 1, scores stay finite
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(model.classes_[(scores > 0).astype(int)], model.predict(X))


def test_sparse_input():
    X, y = _load("breast_cancer")
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    model = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    model.fit(X_sparse, y).unlearn([1, 2, 3])
    dense = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    dense.fit(X_sparse.toarray(), y).unlearn([1, 2, 3])
    np.testing.assert_allclose(
        model.predict_proba(X_sparse), dense.predict_proba(X_sparse.toarray())
    )


def test_parallel_and_sequential_agree():
    X, y = _load("digits")
    kwargs = dict(estimator=RandomForestClassifier(n_estimators=5), n_shards=4, random_state=0)
    seq = ShardedEnsembleClassifier(n_jobs=1, **kwargs).fit(X, y).unlearn(np.arange(50))
    par = ShardedEnsembleClassifier(n_jobs=2, **kwargs).fit(X, y).unlearn(np.arange(50))
    np.testing.assert_array_equal(seq.predict_proba(X), par.predict_proba(X))


class _ArmedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that fails to fit while the class-level switch is on."""

    armed = False

    def fit(self, X, y):
        if type(self).armed:
            raise RuntimeError("injected fit failure")
        self.inner_ = DecisionTreeClassifier(random_state=0).fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return self.inner_.predict(X)

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


def test_failure_inside_a_retrain_leaves_the_model_unchanged():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(_ArmedClassifier(), n_shards=3, n_jobs=1, random_state=0)
    model.fit(X, y).unlearn([0])
    before = pickle.dumps(model)
    _ArmedClassifier.armed = True
    try:
        with pytest.raises(RuntimeError, match="injected"):
            model.unlearn(np.arange(1, 60))
    finally:
        _ArmedClassifier.armed = False
    assert pickle.dumps(model) == before
    model.unlearn(np.arange(1, 60))
    np.testing.assert_array_equal(model.unlearned_indices_, np.arange(60))


def test_forgotten_rows_leave_stored_data_and_checkpoints():
    X, y = _load("digits")
    X = np.ascontiguousarray(X + np.random.RandomState(0).uniform(0, 1e-3, X.shape))
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=3, n_slices=3, random_state=0)
    model.fit(X, y)
    forget = np.random.RandomState(1).choice(len(y), 40, replace=False)
    blob = pickle.dumps(model)
    assert all(X[i].tobytes() in blob for i in forget)  # the check can see stored rows
    model.unlearn(forget)
    blob = pickle.dumps(model)
    assert not any(X[i].tobytes() in blob for i in forget)
    retained = np.setdiff1d(np.arange(len(y)), forget)
    assert all(X[i].tobytes() in blob for i in retained[:40])


@pytest.mark.parametrize(
    "params, fit_kwargs, message",
    [
        ({"estimator": SVC()}, {}, "aggregation='soft'"),
        ({"estimator": DecisionTreeClassifier(), "n_slices": 2}, {}, "partial_fit"),
        ({}, {"groups": [0, 1]}, "groups must have one label per row"),
        ({"partition": "stratified"}, {"groups": "same"}, "cannot keep groups together"),
        ({}, {"deletion_prior": "negative"}, "non-negative"),
        ({"estimator": KNeighborsClassifier()}, {"sample_weight": "ones"}, "sample_weight"),
    ],
)
def test_bad_fit_arguments_raise_clear_errors(params, fit_kwargs, message):
    X, y = _load("wine")
    substitutes = {
        "same": np.zeros(len(y)),
        "negative": -np.ones(len(y)),
        "ones": np.ones(len(y)),
    }
    fit_kwargs = {
        k: substitutes.get(v, v) if isinstance(v, str) else v for k, v in fit_kwargs.items()
    }
    with pytest.raises(ValueError, match=message):
        ShardedEnsembleClassifier(**params).fit(X, y, **fit_kwargs)


def test_error_messages_name_offending_positions():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"\[178, 500\] are out of range"):
        model.unlearn([0, 178, 500])
    with pytest.raises(ValueError, match=r"\[4\] are duplicated"):
        model.unlearn([4, 4, 5])
    model.unlearn([7])
    with pytest.raises(ValueError, match=r"\[7\] were already unlearned"):
        model.unlearn([7, 8])
    assert model.unlearned_indices_.tolist() == [7]


def test_per_row_cost_matches_requests():
    X, y = _load("wine")
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=3, n_slices=2, random_state=0)
    model.fit(X, y).unlearn([0, 1])
    costs = model._per_row_unlearn_cost()
    rows = np.concatenate(model.shard_indices_)
    for row, cost in list(zip(rows, costs))[::17]:
        assert model.estimate_unlearn_cost([row])["samples_retrained"] == cost


def test_verify_exact_detects_a_stale_shard():
    X, y = _load("digits")
    model = ShardedEnsembleClassifier(GaussianNB(), n_shards=3, n_slices=2, random_state=0)
    model.fit(X, y)
    stale = list(model.estimators_)
    model.unlearn(np.arange(40))
    result = model._verify_exact(X, y)
    assert result["shards_identical"] == result["shards_checked"] == [0, 1, 2]
    assert result["max_abs_diff"] == 0.0
    model.estimators_ = stale  # as if unlearning had not retrained anything
    result = model._verify_exact(X, y)
    assert result["shards_identical"] == []
    assert result["max_abs_diff"] > 0
