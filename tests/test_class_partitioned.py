"""Tests of the class-partitioned ensemble (ARCANE): exactness against retraining from scratch."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from joblib import parallel_config
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import SGDOneClassSVM
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KernelDensity
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

from skunlearn.ensemble import ClassPartitionedClassifier
from skunlearn.ensemble._arcane_blocks import assign_blocks, block_keys, class_seed, row_keys
from skunlearn.ensemble._selection import greedy_logdet_selection
from skunlearn.ensemble._shard import train_shard
from skunlearn.metrics import expected_unlearn_cost


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny per-class fits are dominated by thread start-up on a busy machine.
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    # Every class keeps its rows; a subset keeps the per-class fits fast.
    keep = np.concatenate([np.flatnonzero(y == c)[:60] for c in range(10)])
    return X[np.sort(keep)], y[np.sort(keep)]


def _fresh(model, X, y, deletion_prior=None):
    """The model a fresh fit on the retained rows gives, with the same parameters."""
    retained = model._retained_mask()
    prior = None if deletion_prior is None else deletion_prior[retained]
    return clone(model).fit(X[retained], y[retained], deletion_prior=prior)


def assert_same_as_fresh(model, X, y, deletion_prior=None):
    fresh = _fresh(model, X, y, deletion_prior)
    kept = np.flatnonzero(model._retained_mask())
    np.testing.assert_array_equal(model.classes_, fresh.classes_)
    # Same rows in the same blocks, in the same order (fresh positions index X[retained]).
    for blocks, fresh_blocks in zip(model.block_indices_, fresh.block_indices_, strict=True):
        assert len(blocks) == len(fresh_blocks)
        for b, fb in zip(blocks, fresh_blocks):
            np.testing.assert_array_equal(b, kept[fb])
    np.testing.assert_array_equal(model.class_count_, fresh.class_count_)
    np.testing.assert_array_equal(model.class_log_prior_, fresh.class_log_prior_)
    np.testing.assert_allclose(model.score_offset_, fresh.score_offset_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(model.score_scale_, fresh.score_scale_, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(model.predict(X), fresh.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), fresh.predict_proba(X), rtol=0, atol=1e-12)
    return fresh


_CONFIGS = {
    "gmm": dict(),
    "gmm-warm-blocks": dict(n_blocks=3),
    "gmm-selection": dict(estimator=GaussianMixture(reg_covar=0.1), selection=25),
    "gmm-warm-blocks-selection": dict(n_blocks=3, selection=25),
    "sgd-partial-fit-blocks": dict(estimator=SGDOneClassSVM(nu=0.2), n_blocks=4),
    "one-class-svm": dict(estimator=OneClassSVM(gamma="scale")),
    "kernel-density": dict(estimator=KernelDensity(bandwidth=2.0)),
    "isolation-forest": dict(estimator=IsolationForest(n_estimators=10)),
}


@pytest.mark.parametrize("config", _CONFIGS.values(), ids=_CONFIGS.keys())
def test_unlearn_equals_fresh_fit_on_retained_rows(config, wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0, **config).fit(X, y)
    rng = np.random.RandomState(1)
    first = rng.choice(len(y), 12, replace=False)
    model.unlearn(first)
    assert model.unlearn_report_["exact"] is True
    assert model.unlearn_report_["distance_bound"] is None
    rest = rng.choice(np.setdiff1d(np.arange(len(y)), first), 9, replace=False)
    model.unlearn(rest)
    assert_same_as_fresh(model, X, y)


def test_default_is_gaussian_mixture_log_density(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    assert all(isinstance(est, GaussianMixture) for est in model.estimators_)
    assert model.schedule_ == "fit"
    # Log-densities are used as they are: the probabilities are Bayes' posterior.
    np.testing.assert_array_equal(model.score_offset_, 0.0)
    np.testing.assert_array_equal(model.score_scale_, 1.0)
    joint = np.column_stack([est.score_samples(X) for est in model.estimators_])
    joint += np.log(np.bincount(y) / len(y))
    posterior = np.exp(joint - joint.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), posterior, rtol=1e-10)
    assert model.score(X, y) > 0.95


def test_non_density_scores_are_standardized_on_the_class_training_rows(wine):
    X, y = wine
    model = ClassPartitionedClassifier(OneClassSVM(gamma="scale"), random_state=0).fit(X, y)
    model.unlearn(np.flatnonzero(y == 1)[:10])
    for k, est in enumerate(model.estimators_):
        scores = est.score_samples(X[model.shard_indices_[k]])
        assert model.score_offset_[k] == pytest.approx(scores.mean(), rel=1e-12)
        assert model.score_scale_[k] == pytest.approx(scores.std(), rel=1e-12)


def test_only_the_affected_class_is_retrained(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    before = list(model.estimators_)
    model.unlearn(np.flatnonzero(y == 2)[[0, 3]])
    report = model.unlearn_report_
    assert report["classes_retrained"] == [2]
    assert report["samples_retrained"] == np.sum(y == 2) - 2
    assert model.estimators_[0] is before[0] and model.estimators_[1] is before[1]
    assert model.estimators_[2] is not before[2]
    # The priors follow the retained counts even for classes that were not retrained.
    counts = np.bincount(y) - [0, 0, 2]
    np.testing.assert_array_equal(model.class_count_, counts)
    np.testing.assert_allclose(model.class_log_prior_, np.log(counts / counts.sum()))


def test_partial_fit_blocks_replay_from_the_block_of_the_row(wine):
    X, y = wine
    model = ClassPartitionedClassifier(SGDOneClassSVM(), n_blocks=4, random_state=0).fit(X, y)
    assert model.schedule_ == "partial_fit"
    k = 1
    blocks = model.block_indices_[k]
    checkpoints = list(model._checkpoints[k])
    assert len(checkpoints) == 3
    b = max(i for i, block in enumerate(blocks) if block.size)  # the last non-empty block
    row = blocks[b][0]
    cost = model.estimate_unlearn_cost([row])
    model.unlearn([row])
    report = model.unlearn_report_
    replayed = sum(block.size for block in blocks[b:]) - 1
    assert report["samples_retrained"] == replayed == cost["samples_retrained"]
    assert report["blocks_replayed"] == {1: 4 - b}
    # Checkpoints before the block are kept as they were, not retrained.
    assert all(new is old for new, old in zip(model._checkpoints[k][:b], checkpoints[:b]))
    assert_same_as_fresh(model, X, y)


def test_warm_start_blocks_fit_cumulative_rows(wine):
    X, y = wine
    model = ClassPartitionedClassifier(n_blocks=3, random_state=0).fit(X, y)
    assert model.schedule_ == "warm_start"
    assert all(est.warm_start for est in model.estimators_)
    assert all(len(c) == 2 for c in model._checkpoints)
    k = 0
    sizes = np.array([b.size for b in model.block_indices_[k]])
    last = model.block_indices_[k][2][0]
    model.unlearn([last])
    sizes[2] -= 1
    report = model.unlearn_report_
    # Replaying the last block fits once, on every row of the class; no row is skipped.
    assert report["blocks_replayed"] == {0: 1}
    assert report["rows_fitted"] == report["samples_retrained"] == sizes.sum()
    first = model.block_indices_[k][0][0]
    cost = model.estimate_unlearn_cost([first])
    sizes[0] -= 1
    assert cost["rows_fitted"] == np.cumsum(sizes)[sizes > 0].sum()
    assert cost["samples_retrained"] == sizes.sum()


def test_warm_start_chain_is_the_documented_schedule(wine):
    """Block b is fitted on the rows of blocks 0..b, warm-started from block b - 1's model."""
    X, y = wine
    model = ClassPartitionedClassifier(n_blocks=3, random_state=0).fit(X, y)
    k = 2
    rows = model.shard_indices_[k]
    sizes = np.cumsum([b.size for b in model.block_indices_[k]])
    assert np.all(np.diff(sizes) > 0)  # no empty block: each one is a fit
    manual = clone(model.estimators_[k]).set_params(warm_start=True)
    for hi in sizes:
        manual.fit(X[rows[:hi]])
    np.testing.assert_array_equal(manual.means_, model.estimators_[k].means_)
    np.testing.assert_array_equal(manual.covariances_, model.estimators_[k].covariances_)


def test_cold_estimator_with_blocks_warns_and_fits_once(wine):
    X, y = wine
    with pytest.warns(UserWarning, match="n_blocks=3 has no effect with KernelDensity"):
        model = ClassPartitionedClassifier(KernelDensity(), n_blocks=3, random_state=0).fit(X, y)
    assert model.schedule_ == "fit"
    assert all(len(blocks) == 1 for blocks in model.block_indices_)
    assert model.estimate_unlearn_cost([0])["samples_retrained"] == np.sum(y == y[0]) - 1


def test_deletion_prior_puts_likely_deletions_in_last_blocks(digits):
    X, y = digits
    prior = np.zeros(len(y))
    likely = np.random.RandomState(0).choice(len(y), 30, replace=False)
    prior[likely] = 0.9
    model = ClassPartitionedClassifier(SGDOneClassSVM(), n_blocks=5, random_state=0)
    model.fit(X, y, deletion_prior=prior)
    last = np.concatenate([blocks[-1] for blocks in model.block_indices_])
    assert np.isin(likely, last).all()
    hit = np.unique(y[likely])
    replayed = sum(model.block_indices_[k][-1].size for k in np.searchsorted(model.classes_, hit))
    assert model.estimate_unlearn_cost(likely)["samples_retrained"] == replayed - likely.size
    model.unlearn(likely)
    assert max(model.unlearn_report_["blocks_replayed"].values()) == 1
    assert_same_as_fresh(model, X, y, deletion_prior=prior)


def test_deletion_prior_zero_changes_nothing(wine):
    X, y = wine
    a = ClassPartitionedClassifier(n_blocks=3, random_state=0).fit(X, y)
    b = ClassPartitionedClassifier(n_blocks=3, random_state=0).fit(
        X, y, deletion_prior=np.zeros(len(y))
    )
    for blocks_a, blocks_b in zip(a.block_indices_, b.block_indices_):
        for block_a, block_b in zip(blocks_a, blocks_b):
            np.testing.assert_array_equal(block_a, block_b)


def test_unselected_row_costs_no_retraining(digits):
    X, y = digits
    model = ClassPartitionedClassifier(GaussianMixture(reg_covar=0.1), selection=20)
    model.set_params(random_state=0).fit(X, y)
    assert all(len(s) == 20 for s in model.shard_indices_)
    unselected = np.setdiff1d(np.flatnonzero(y == 3), model.shard_indices_[3])
    before = model.estimators_[3]
    cost = model.estimate_unlearn_cost(unselected[:1])
    model.unlearn(unselected[:1])
    report = model.unlearn_report_
    assert report["classes_not_retrained"] == [3] and report["classes_retrained"] == []
    assert report["samples_retrained"] == cost["samples_retrained"] == 0
    assert model.estimators_[3] is before
    # The prior still moved: the model is a fresh fit on the retained rows, prior included.
    assert model.class_count_[3] == np.sum(y == 3) - 1
    assert_same_as_fresh(model, X, y)
    # Forgetting a selected row changes the selection and retrains the class.
    model.unlearn(model.shard_indices_[3][:1])
    assert model.unlearn_report_["classes_retrained"] == [3]
    assert_same_as_fresh(model, X, y)


def test_vanished_class_leaves_classes(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    model.unlearn(np.flatnonzero(y == 1))
    assert model.unlearn_report_["n_classes_removed"] == 1
    assert 1 not in model.unlearn_report_["classes_retrained"]
    np.testing.assert_array_equal(model.classes_, [0, 2])
    assert len(model.estimators_) == len(model.shard_indices_) == 2
    assert set(model.predict(X)) <= {0, 2}
    assert_same_as_fresh(model, X, y)
    # Position bookkeeping survives the shift of class indices.
    model.unlearn(np.flatnonzero(y == 2)[:3])
    assert model.unlearn_report_["classes_retrained"] == [2]
    assert_same_as_fresh(model, X, y)


def test_single_class_left_predicts_it(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    model.unlearn(np.flatnonzero(y != 0))
    np.testing.assert_array_equal(model.predict(X), 0)
    np.testing.assert_array_equal(model.predict_proba(X), 1.0)


def test_string_labels_and_class_seeds_follow_labels(wine):
    X, y = wine
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    model = ClassPartitionedClassifier(n_blocks=2, random_state=0).fit(X, labels)
    model.unlearn(np.flatnonzero(labels == "barbera"))  # the first class in sorted order
    assert model.unlearn_report_["n_classes_removed"] == 1
    assert_same_as_fresh(model, X, labels)


def test_seeds_and_blocks_do_not_depend_on_other_rows():
    X = np.random.RandomState(0).normal(size=(50, 4))
    seed = class_seed(7, np.int64(3))
    assert seed == class_seed(7, 3) == class_seed(7, np.int32(3))
    assert seed != class_seed(8, 3) and seed != class_seed(7, 4)
    keys = row_keys(X, seed)
    assert np.all((keys >= 0) & (keys < 1))
    np.testing.assert_array_equal(row_keys(X[10:20], seed), keys[10:20])
    assert not np.array_equal(row_keys(X, seed + 1), keys)
    # Keys are close to uniform, so blocks are balanced in expectation.
    many = row_keys(np.random.RandomState(1).normal(size=(4000, 3)), seed)
    counts = np.bincount((many * 4).astype(int), minlength=4)
    assert np.all(np.abs(counts - 1000) < 120)
    shifted = block_keys(keys, np.full(50, 0.75))
    assert np.all(shifted >= 0.75)
    blocks = assign_blocks(np.arange(50), shifted, 4)
    assert [b.size for b in blocks[:3]] == [0, 0, 0]


def test_errors_name_the_problem(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0)
    with pytest.raises(ValueError, match=r"deletion_prior must have one value per row"):
        model.fit(X, y, deletion_prior=np.zeros(3))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        model.fit(X, y, deletion_prior=np.full(len(y), 2.0))
    y_small = y.copy()
    y_small[np.flatnonzero(y == 2)[1:]] = 1  # class 2 keeps one row
    with pytest.raises(ValueError, match=r"GaussianMixture of class 2 .* 1 training rows"):
        model.fit(X, y_small)


def test_request_leaving_a_class_too_small_changes_nothing(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match=r"class 2 could not be fitted on its 1 training rows"):
        model.unlearn(np.flatnonzero(y == 2)[1:])
    assert pickle.dumps(model) == before


def test_estimate_matches_report_and_per_row_cost(wine):
    X, y = wine
    for config in ({}, {"estimator": SGDOneClassSVM(), "n_blocks": 3}, {"n_blocks": 3}):
        model = ClassPartitionedClassifier(random_state=0, **config).fit(X, y)
        per_row = model._per_row_unlearn_cost()
        order = np.concatenate(model.shard_indices_)
        for i in (0, 60, 177):
            expected = model.estimate_unlearn_cost([i])["samples_retrained"]
            assert per_row[np.flatnonzero(order == i)[0]] == expected
        request = [1, 70, 150]
        cost = model.estimate_unlearn_cost(request)
        model.unlearn(request)
        for key in ("samples_retrained", "rows_fitted", "classes_retrained"):
            assert model.unlearn_report_[key] == cost[key]
    selecting = ClassPartitionedClassifier(selection=10, random_state=0).fit(X, y)
    assert not hasattr(selecting, "_per_row_unlearn_cost")
    assert 0 <= expected_unlearn_cost(selecting, n_probes=5) <= 1


def test_parallel_training_is_identical(wine):
    X, y = wine
    one = ClassPartitionedClassifier(n_blocks=2, random_state=0).fit(X, y)
    with parallel_config(backend="threading"):
        two = ClassPartitionedClassifier(n_blocks=2, n_jobs=2, random_state=0).fit(X, y)
        two.unlearn([0, 100])
    one.unlearn([0, 100])
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_fewer_rows_retrained_than_sharding_at_least_as_accurate():
    """The claim of the method on a generated multiclass set, at equal numbers of sub-models."""
    from sklearn.model_selection import train_test_split

    from skunlearn.ensemble import ShardedEnsembleClassifier

    X, y = make_classification(
        n_samples=1500,
        n_features=8,
        n_informative=6,
        n_classes=5,
        n_clusters_per_class=1,
        random_state=0,
    )
    X, X_test, y, y_test = train_test_split(X, y, random_state=0, stratify=y)
    arcane = ClassPartitionedClassifier(selection=40, random_state=0).fit(X, y)
    sisa = ShardedEnsembleClassifier(n_shards=5, random_state=0).fit(X, y)
    assert arcane.score(X_test, y_test) >= sisa.score(X_test, y_test)
    assert expected_unlearn_cost(arcane, n_probes=40) < expected_unlearn_cost(sisa)


def test_predict_log_proba_is_log_of_predict_proba(wine):
    X, y = wine
    model = ClassPartitionedClassifier(random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(model.predict_log_proba(X), np.log(model.predict_proba(X)))


# -- the blocks worker (``train_shard(cumulative=True)``) -----------------------------------


def test_cumulative_schedule_defers_until_enough_rows():
    X = np.random.RandomState(0).normal(size=(9, 2))
    y = np.zeros(9)
    gmm = GaussianMixture(n_components=2, warm_start=True, random_state=0)
    # Block 0 holds one row (too few for two components): the model starts at block 1.
    model, checkpoints = train_shard(gmm, X, y, None, [1, 4, 4], cumulative=True)
    assert checkpoints[0] is None and checkpoints[1] is not None
    resumed, _ = train_shard(
        gmm, X, y, None, [1, 4, 4], cumulative=True, start_slice=2, start_model=checkpoints[1]
    )
    np.testing.assert_array_equal(resumed.means_, model.means_)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        train_shard(gmm, X[:1], y[:1], None, [1, 0], cumulative=True)


# -- representative selection ---------------------------------------------------------------


def _brute_force_greedy(X, k, gamma):
    K = np.exp(-gamma * ((X[:, None] - X[None]) ** 2).sum(-1))
    chosen = []
    for _ in range(k):
        gains = [
            -np.inf if j in chosen else np.linalg.slogdet(K[np.ix_([*chosen, j], [*chosen, j])])[1]
            for j in range(len(X))
        ]
        chosen.append(int(np.argmax(gains)))
    return sorted(chosen)


def test_selection_is_the_greedy_log_determinant():
    X = load_iris().data[:40]
    d = X.shape[1]
    gamma = 2.0 ** np.round(np.log2(1 / (d * X.var(axis=0).mean())))
    assert greedy_logdet_selection(X, 8).tolist() == _brute_force_greedy(X, 8, gamma)
    np.testing.assert_array_equal(greedy_logdet_selection(X, 50), np.arange(40))
    # Duplicates add nothing: the selection stops early rather than pick them.
    assert greedy_logdet_selection(np.ones((6, 2)), 3).tolist() == [0]


def _rounded_bandwidth(X):
    return 2.0 ** np.round(np.log2(1 / (X.shape[1] * X.var(axis=0).mean())))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), which=st.integers(0, 23))
def test_forgetting_an_unselected_row_keeps_the_selection(seed, which):
    X = np.random.RandomState(seed).normal(size=(30, 3))
    selected = greedy_logdet_selection(X, 6)
    drop = np.setdiff1d(np.arange(30), selected)[which]
    rest = np.delete(np.arange(30), drop)
    # When the rounded bandwidth moves, the selection may change (unlearning recomputes it).
    assume(_rounded_bandwidth(X[rest]) == _rounded_bandwidth(X))
    np.testing.assert_array_equal(rest[greedy_logdet_selection(X[rest], 6)], selected)
