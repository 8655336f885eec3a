"""Pipeline.unlearn: every step ends as its own unlearning contract promises for the retained
rows, whether or not a forgotten row changed a transform before it."""

import pickle
from unittest import mock

import numpy as np
import pytest
import sklearn.preprocessing as skp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer
from sklearn.svm import SVC

from skunlearn.ensemble import ShardedEnsembleClassifier, ShardedEnsembleRegressor
from skunlearn.naive_bayes import GaussianNB
from skunlearn.pipeline import Pipeline, _unlearned_reference, make_pipeline
from skunlearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler


def _sharded(**kwargs):
    return ShardedEnsembleClassifier(
        LogisticRegression(max_iter=2000), n_shards=3, random_state=0, **kwargs
    )


def _assert_same_shards(got, want):
    """Two sharded ensembles trained alike: same rows per shard, same shard models."""
    for a, b in zip(got.shard_indices_, want.shard_indices_):
        assert a.size == b.size
    for a, b in zip(got.estimators_, want.estimators_):
        # The inputs agree to rounding; lbfgs then follows the same path up to its tolerance.
        assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-8)


def _expected_tail(pipe, start, X, y, forgotten, **fit_params):
    """The steps ``start:`` as a refit must leave them: clones fitted on every training row (the
    forgotten ones as they were) through the pipeline's current steps before ``start``, having
    then forgotten ``forgotten``. The pipeline itself never sees the forgotten rows' values.
    The same reference as verify_unlearning's for a pipeline."""
    return _unlearned_reference(pipe, X, y, forgotten, start=start, **fit_params)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300], X[300:]


def test_unlearn_through_a_changed_transform(cancer):
    X, y, X_test = cancer
    pipe = make_pipeline(StandardScaler(), _sharded()).fit(X, y)
    forget = [[0, 5, 17], np.arange(100, 130), [299]]
    for request in forget:
        pipe.unlearn(request)
    forgotten = np.concatenate([np.asarray(r) for r in forget])
    keep = np.setdiff1d(np.arange(300), forgotten)
    refit = clone(pipe).fit(X[keep], y[keep])

    report = pipe.unlearn_report_
    assert report["steps"] == {"standardscaler": "unlearned", "shardedensembleclassifier": "refit"}
    assert report["exact"] and report["distance_bound"] is None
    # A fit on every position, then the shard holding row 299 retrained.
    assert report["samples_retrained"] > 300
    assert_allclose(pipe[0].mean_, refit[0].mean_, rtol=1e-12)
    assert_allclose(pipe[0].scale_, refit[0].scale_, rtol=1e-12)
    expected = _expected_tail(pipe, 1, X, y, forgotten)
    _assert_same_shards(pipe[-1], expected[-1])
    assert pipe[-1].n_samples_fit_ == 300
    assert_array_equal(pipe[-1].unlearned_indices_, np.sort(forgotten))
    assert_allclose(pipe.predict_proba(X_test), expected.predict_proba(refit[0].transform(X_test)))
    assert_array_equal(pipe.predict(X_test), expected.predict(refit[0].transform(X_test)))


def test_deterministic_refit_step_equals_the_refit_pipeline(cancer):
    X, y, X_test = cancer
    pipe = make_pipeline(StandardScaler(), GaussianNB()).fit(X, y)
    pipe.unlearn([0, 5, 17]).unlearn(np.arange(100, 130))
    keep = np.setdiff1d(np.arange(300), np.r_[0, 5, 17, 100:130])
    refit = clone(pipe).fit(X[keep], y[keep])
    assert pipe.unlearn_report_["steps"]["gaussiannb"] == "refit"
    assert_allclose(pipe[-1].theta_, refit[-1].theta_, rtol=1e-10, atol=1e-12)
    assert_allclose(pipe[-1].var_, refit[-1].var_, rtol=1e-10)
    assert_allclose(pipe.predict_proba(X_test), refit.predict_proba(X_test), atol=1e-10)


def test_refit_steps_keep_the_pipeline_positions(cancer):
    # After a refit the final step still numbers the pipeline's rows: later requests name
    # pipeline positions and reach the right rows.
    X, y, _ = cancer
    pipe = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), _sharded()).fit(X, y)
    pipe.unlearn([0, 1, 2])
    assert pipe[-1].n_samples_fit_ == 300
    assert_array_equal(pipe[-1].unlearned_indices_, [0, 1, 2])
    pipe.unlearn([10, 250])
    forgotten = [0, 1, 2, 10, 250]
    _assert_same_shards(pipe[-1], _expected_tail(pipe, 2, X, y, forgotten)[-1])


def test_state_does_not_tell_whether_a_transform_changed(cancer):
    # Forgetting the row holding a feature's maximum changes the scaling and refits the final
    # step; forgetting an ordinary row in its place does not. Either way the final step ends
    # the same, or the pipeline would tell which kind of row was forgotten.
    X, y, X_test = cancer
    extreme = int(np.argmax(X[:, 0]))
    plain = X.copy()
    plain[extreme] = X[(extreme + 1) % 300]
    pipes = [make_pipeline(MinMaxScaler(), _sharded()).fit(data, y) for data in (X, plain)]
    for pipe in pipes:
        pipe.unlearn([extreme])
    assert pipes[0].unlearn_report_["steps"]["shardedensembleclassifier"] == "refit"
    assert pipes[1].unlearn_report_["steps"]["shardedensembleclassifier"] == "unlearned"
    assert_allclose(pipes[0][0].data_max_, pipes[1][0].data_max_)
    _assert_same_shards(pipes[0][-1], pipes[1][-1])
    assert_array_equal(pipes[0][-1].unlearned_indices_, pipes[1][-1].unlearned_indices_)
    assert_allclose(pipes[0].predict_proba(X_test), pipes[1].predict_proba(X_test), atol=1e-7)


def test_unchanged_transform_lets_the_next_step_unlearn(cancer):
    X, y, X_test = cancer
    interior = [
        i for i in range(300) if not np.any((X[i] == X.min(axis=0)) | (X[i] == X.max(axis=0)))
    ][:2]
    pipe = make_pipeline(MinMaxScaler(), _sharded()).fit(X, y)
    expected = clone(pipe[-1]).fit(pipe[0].transform(X), y).unlearn(interior)
    pipe.unlearn(interior)
    assert pipe.unlearn_report_["steps"]["shardedensembleclassifier"] == "unlearned"
    assert pipe.unlearn_report_["steps_refit"] == []
    _assert_same_shards(pipe[-1], expected)
    assert_array_equal(pipe.predict(X_test), expected.predict(pipe[0].transform(X_test)))
    # Forgetting an extreme changes the scaling: the final step is refit, and ends as if it
    # had been fitted under the new scaling and had forgotten the rows itself.
    extreme = int(np.argmax(X[:, 0]))
    assert extreme not in interior
    pipe.unlearn([extreme])
    assert pipe.unlearn_report_["steps"]["shardedensembleclassifier"] == "refit"
    _assert_same_shards(pipe[-1], _expected_tail(pipe, 1, X, y, [*interior, extreme])[-1])


def test_steps_without_fitting_are_passed_over():
    X, y = load_diabetes(return_X_y=True)
    pipe = Pipeline(
        [
            ("log", FunctionTransformer(np.abs)),
            ("skip", "passthrough"),
            ("norm", Normalizer()),
            ("none", None),
            ("reg", ShardedEnsembleRegressor(Ridge(), n_shards=4, random_state=0)),
        ]
    ).fit(X, y)
    expected = clone(pipe[-1]).fit(Normalizer().transform(np.abs(X)), y).unlearn([3, 9])
    pipe.unlearn([3, 9])
    assert pipe.unlearn_report_["steps"] == {
        "log": "stateless",
        "skip": "passthrough",
        "norm": "stateless",
        "none": "passthrough",
        "reg": "unlearned",
    }
    assert pipe._store is None  # no fitted step follows an unlearner transformer
    for a, b in zip(pipe[-1].estimators_, expected.estimators_):
        assert_allclose(a.coef_, b.coef_)


def test_step_that_cannot_unlearn_raises_and_explains(cancer):
    X, y, _ = cancer
    pipe = make_pipeline(skp.StandardScaler(), _sharded()).fit(X, y)
    before = pickle.dumps(pipe)
    with pytest.raises(ValueError, match=r"cannot unlearn.*ShardedEnsembleClassifier\(make_pipe"):
        pipe.unlearn([0])
    with pytest.raises(ValueError, match="'standardscaler'"):
        pipe.estimate_unlearn_cost([0])
    assert pickle.dumps(pipe) == before
    # A plain final estimator cannot unlearn either.
    with pytest.raises(ValueError, match="'svc'"):
        make_pipeline(StandardScaler(), SVC()).fit(X, y).unlearn([0])


def test_column_transformer_is_not_an_unlearner_but_works_inside_shards():
    X, y = load_wine(return_X_y=True)
    columns = ColumnTransformer(
        [("scale", skp.StandardScaler(), [0, 1, 2, 3]), ("minmax", skp.MinMaxScaler(), [4, 5])]
    )
    with pytest.raises(ValueError, match="'columntransformer'"):
        make_pipeline(columns, _sharded()).fit(X, y).unlearn([0])
    # The recommended pattern: the whole preprocessing inside each shard.
    inner = sk_make_pipeline(clone(columns), LogisticRegression(max_iter=2000))
    model = ShardedEnsembleClassifier(inner, n_shards=3, random_state=0).fit(X, y)
    model.unlearn([0, 60, 120])
    for k, est in enumerate(model.estimators_):
        rows = model.shard_indices_[k]
        expected = clone(inner).fit(X[rows], y[rows])
        assert not np.isin([0, 60, 120], rows).any()
        assert_allclose(est[-1].coef_, expected[-1].coef_, rtol=1e-6, atol=1e-8)


def test_failing_step_leaves_pipeline_unchanged(cancer):
    X, y, _ = cancer
    pipe = make_pipeline(StandardScaler(), _sharded()).fit(X, y)
    pipe.unlearn([0])
    before = pickle.dumps(pipe)
    steps = list(pipe.steps)
    with mock.patch.object(ShardedEnsembleClassifier, "fit", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError, match="boom"):
            pipe.unlearn([1, 2])
    assert pickle.dumps(pipe) == before
    assert pipe.steps == steps
    # An encoder whose explicit drop would vanish fails inside its own unlearn.
    Xc = np.array([["a"], ["b"], ["b"], ["c"]], dtype=object)
    enc = make_pipeline(OneHotEncoder(drop=["a"]), StandardScaler(with_mean=False)).fit(Xc)
    before = pickle.dumps(enc)
    with pytest.raises(ValueError, match="drop="):
        enc.unlearn([0])
    assert pickle.dumps(enc) == before


def test_forgotten_rows_are_purged_from_every_step(cancer):
    X, y, _ = cancer
    pipe = make_pipeline(StandardScaler(), MinMaxScaler(), _sharded()).fit(X, y)
    forget = np.arange(40, 60)
    pipe.unlearn(forget)
    blob = pickle.dumps(pipe)
    for i in forget:
        assert X[i].tobytes() not in blob
        assert pipe[:1].transform(X[i : i + 1]).tobytes() not in blob


def test_encoder_output_width_change_refits_downstream():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.choice(["a", "b", "c"], 120), rng.choice(["x", "y"], 120)])
    X = X.astype(object)
    X[7, 0] = "rare"
    y = (X[:, 0] == "a").astype(int) ^ (rng.random(120) < 0.2)
    pipe = make_pipeline(OneHotEncoder(handle_unknown="ignore"), _sharded()).fit(X, y)
    pipe.unlearn([3])  # a frequent category: same width, the final step unlearns
    assert pipe.unlearn_report_["steps"]["shardedensembleclassifier"] == "unlearned"
    pipe.unlearn([7])  # the only "rare" row: one column fewer, the final step is refit
    assert pipe.unlearn_report_["steps"]["shardedensembleclassifier"] == "refit"
    assert pipe[0].categories_[0].tolist() == ["a", "b", "c"]
    expected = _expected_tail(pipe, 1, X, y, [3, 7])
    _assert_same_shards(pipe[-1], expected[-1])
    assert_allclose(pipe.predict_proba(X), expected.predict_proba(pipe[0].transform(X)))


def test_fit_params_are_kept_for_refits(cancer):
    X, y, X_test = cancer
    w = np.random.default_rng(0).uniform(0.5, 2, size=300)
    pipe = make_pipeline(StandardScaler(), _sharded())
    pipe.fit(X, y, shardedensembleclassifier__sample_weight=w)
    pipe.unlearn([4, 8, 15])
    expected = _expected_tail(pipe, 1, X, y, [4, 8, 15], shardedensembleclassifier__sample_weight=w)
    _assert_same_shards(pipe[-1], expected[-1])
    assert_allclose(pipe.predict_proba(X_test), expected.predict_proba(pipe[0].transform(X_test)))
    # The weights reach the refit: without them the shard models differ.
    unweighted = _expected_tail(pipe, 1, X, y, [4, 8, 15])
    assert not np.allclose(pipe[-1].estimators_[0].coef_, unweighted[-1].estimators_[0].coef_)


def test_grid_search_best_estimator_unlearns(cancer):
    X, y, X_test = cancer
    search = GridSearchCV(
        make_pipeline(StandardScaler(), _sharded()),
        {"shardedensembleclassifier__n_shards": [2, 3]},
        cv=3,
    ).fit(X, y)
    best = search.best_estimator_
    assert isinstance(best, Pipeline)
    best.unlearn([0, 1, 2])
    expected = _expected_tail(best, 1, X, y, [0, 1, 2])
    assert_allclose(best[0].mean_, X[3:].mean(axis=0), rtol=1e-12)
    assert_allclose(best.predict_proba(X_test), expected.predict_proba(best[0].transform(X_test)))


def test_transformer_only_pipeline_with_fit_transform():
    X = load_wine().data
    pipe = make_pipeline(StandardScaler(), MinMaxScaler())
    Xt = pipe.fit_transform(X)
    assert pipe.n_samples_fit_ == X.shape[0]
    assert_allclose(Xt, pipe.transform(X))
    pipe.unlearn([0, 10])
    keep = np.setdiff1d(np.arange(X.shape[0]), [0, 10])
    refit = clone(pipe).fit(X[keep])
    assert pipe.unlearn_report_["steps"] == {"standardscaler": "unlearned", "minmaxscaler": "refit"}
    assert_allclose(pipe.transform(X), refit.transform(X), rtol=1e-10, atol=1e-12)


def _cost_cases():
    """(name, pipeline, requests): each request's estimate is checked against its report."""
    from skunlearn.neighbors import KNeighborsClassifier

    def sharded8():
        return ShardedEnsembleClassifier(GaussianNB(), n_shards=8, random_state=0)

    return [
        # Every request moves the scaler: the final step is refit on every position.
        ("scaler+sharded", make_pipeline(StandardScaler(), sharded8()), [[0], [5, 6], [40]]),
        ("stateless+sharded", make_pipeline(FunctionTransformer(np.log1p), sharded8()), [[3]]),
        # Only a request holding a column's extreme changes a MinMaxScaler.
        ("minmax+nb", make_pipeline(MinMaxScaler(), GaussianNB()), "extremes"),
        ("scaler+knn", make_pipeline(StandardScaler(), KNeighborsClassifier()), [[7], [8]]),
        ("encoder+sharded", None, None),
    ]


@pytest.mark.parametrize("case", range(5), ids=lambda i: _cost_cases()[i][0])
def test_estimate_unlearn_cost_matches_the_report(case, cancer):
    """The estimate counts what the request really retrains in every step: the refit of the
    later steps on every position when a transform changes, plus what they then retrain."""
    X, y, _ = cancer
    name, pipe, requests = _cost_cases()[case]
    if name == "encoder+sharded":
        X = np.column_stack([(X[:, 0] > 15).astype(int), (X[:, 1] // 5).astype(int)])
        pipe = make_pipeline(
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ShardedEnsembleClassifier(GaussianNB(), n_shards=4, random_state=0),
        )
        values, counts = np.unique(X[:, 1], return_counts=True)
        rare = np.flatnonzero(X[:, 1] == values[counts.argmin()])  # a whole category
        requests = [[int(np.flatnonzero(X[:, 1] == values[counts.argmax()])[0])], rare]
    if isinstance(requests, str):  # a middle row, then the rows holding a column's extremes
        middle = int(np.argmin(np.abs(X - np.median(X, axis=0)).max(axis=1)))
        requests = [[middle], [int(np.argmax(X[:, 0])), int(np.argmin(X[:, 0]))]]
    pipe.fit(X, y)
    refits = []
    for i, request in enumerate(requests):
        before = pickle.dumps(pipe)
        cost = pipe.estimate_unlearn_cost(request)
        assert pickle.dumps(pipe) == before  # the estimate changes nothing
        pipe.unlearn(request)
        report = pipe.unlearn_report_
        assert cost["steps_refit"] == report["steps_refit"], (name, request)
        if name == "scaler+sharded" and i > 0:
            # A refit sharded tail forgets the earlier requests' rows again, retraining their
            # shards too: the estimate counts the shards of this request's rows.
            assert pipe.n_samples_fit_ <= cost["samples_retrained"] <= report["samples_retrained"]
        else:
            assert cost["samples_retrained"] == report["samples_retrained"], (name, request)
        refits.append(bool(report["steps_refit"]))
    expected = {
        "scaler+sharded": [True] * 3,
        "stateless+sharded": [False],
        "minmax+nb": [False, True],
        "scaler+knn": [True, True],
        "encoder+sharded": [False, True],
    }[name]
    assert refits == expected


def test_memory_cache_is_refused(cancer, tmp_path):
    X, y, _ = cancer
    pipe = make_pipeline(StandardScaler(), _sharded(), memory=str(tmp_path)).fit(X, y)
    with pytest.raises(ValueError, match="memory"):
        pipe.unlearn([0])


def test_make_pipeline_and_slicing_return_skunlearn_pipelines():
    pipe = make_pipeline(StandardScaler(), _sharded())
    assert isinstance(pipe, Pipeline)
    assert isinstance(pipe[:1], Pipeline)
    assert [name for name, _ in pipe.steps] == ["standardscaler", "shardedensembleclassifier"]
    assert not hasattr(make_pipeline(StandardScaler(), _sharded()), "fit_transform")
    assert hasattr(make_pipeline(StandardScaler()), "fit_transform")


@pytest.mark.parametrize("copy_at_fit", [True, False])
def test_steps_transforming_in_place_do_not_change_the_kept_rows(copy_at_fit):
    # A scaler with copy=False scales its input in place, at fit (fit_transform) or when the
    # later steps are refit: neither may write into the rows the pipeline keeps.
    rng = np.random.RandomState(0)
    X, y = rng.normal(3.0, 2.0, size=(12, 3)), np.arange(12) % 2
    pipe = make_pipeline(StandardScaler(copy=copy_at_fit), GaussianNB()).fit(X.copy(), y)
    pipe.set_params(standardscaler__copy=False)
    pipe.unlearn([0]).unlearn([5])
    keep = np.setdiff1d(np.arange(12), [0, 5])
    reference = make_pipeline(StandardScaler(), GaussianNB()).fit(X[keep], y[keep])
    assert_allclose(pipe[0].mean_, reference[0].mean_, rtol=1e-12)
    assert_allclose(pipe[-1].theta_, reference[-1].theta_, rtol=1e-12, atol=1e-12)
    assert_allclose(pipe[-1].var_, reference[-1].var_, rtol=1e-12)
