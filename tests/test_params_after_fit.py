"""Parameters changed after fit: ``unlearn`` always works with the parameters of the last fit.

For every meta-estimator, both kinds of change (one of its own parameters, a parameter of the
wrapped estimator) are made between ``fit`` and ``unlearn``: the result must equal the model
unlearned without the change, and the next ``fit`` must use the new parameters.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.mixture import GaussianMixture

from skunlearn.compose import ColumnTransformer
from skunlearn.ensemble import (
    ClassPartitionedClassifier,
    ShardedEnsembleClassifier,
    ShardedEnsembleRegressor,
)
from skunlearn.pipeline import make_pipeline, make_union
from skunlearn.preprocessing import MinMaxScaler, StandardScaler

X, y = make_classification(n_samples=120, n_features=5, n_informative=3, random_state=0)
FORGET = [0, 7, 33, 90]


def _same_after_change(make, change, method="predict_proba", data=(X, y)):
    changed = make().fit(*data)
    changed.set_params(**change)
    changed.unlearn(FORGET)
    plain = make().fit(*data).unlearn(FORGET)
    np.testing.assert_array_equal(
        getattr(changed, method)(data[0]), getattr(plain, method)(data[0])
    )
    return changed, plain


@pytest.mark.parametrize(
    "change", [{"n_shards": 3}, {"estimator__C": 0.01}, {"n_slices": 1}, {"estimator": Ridge()}]
)
def test_sharded_classifier(change):
    def make():
        return ShardedEnsembleClassifier(
            SGDClassifier(loss="log_loss", random_state=0), n_shards=4, n_slices=2, random_state=0
        )

    def make_c():
        return ShardedEnsembleClassifier(
            LogisticRegression(), n_shards=4, n_slices=1, random_state=0
        )

    if "estimator__C" in change:
        changed, _ = _same_after_change(make_c, change)
        assert all(est.C == 1.0 for est in changed.estimators_)
        assert changed.fit(X, y).estimators_[0].C == 0.01  # the next fit takes it
        return
    if "estimator" in change:  # a regressor in a classifier: still unlearns as fitted
        changed, _ = _same_after_change(make, change, method="predict")
        return
    changed, _ = _same_after_change(make, change)
    assert len(changed.estimators_) == 4
    assert len(changed.slice_indices_[0]) == 2
    assert len(changed.fit(X, y).estimators_) == changed.n_shards


def test_sharded_regressor():
    Xr, yr = make_regression(n_samples=120, n_features=4, random_state=0)
    make = lambda: ShardedEnsembleRegressor(Ridge(), n_shards=3, random_state=0)  # noqa: E731
    for change in ({"n_shards": 2}, {"estimator__alpha": 100.0}):
        _same_after_change(make, change, method="predict", data=(Xr, yr))


@pytest.mark.parametrize(
    "change",
    [
        {"n_blocks": 1},
        {"selection": 10},
        {"estimator__covariance_type": "spherical"},
        {"estimator": GaussianMixture(n_components=2)},
    ],
)
def test_class_partitioned(change):
    def make():
        return ClassPartitionedClassifier(
            GaussianMixture(covariance_type="diag", max_iter=20, warm_start=True),
            n_blocks=3,
            random_state=0,
        )

    changed, _ = _same_after_change(make, change)
    assert len(changed.block_indices_[0]) == 3


def test_pipeline_nested_changes_and_refit_tail():
    def make():
        return make_pipeline(
            StandardScaler(),
            ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0),
        )

    # The scaler changes with every request, so the ensemble is refit from the template of
    # the last fit: neither the new C nor the new n_shards leak into it.
    changed, _ = _same_after_change(
        make,
        {
            "shardedensembleclassifier__estimator__C": 0.01,
            "shardedensembleclassifier__n_shards": 2,
        },
    )
    assert changed.unlearn_report_["steps"]["shardedensembleclassifier"] == "refit"
    final = changed[-1]
    assert final.n_shards == 3 and len(final.estimators_) == 3
    assert all(est.C == 1.0 for est in final.estimators_)


def test_pipeline_replaced_step_raises():
    pipe = make_pipeline(
        StandardScaler(),
        ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0),
    ).fit(X, y)
    pipe.set_params(standardscaler=MinMaxScaler())
    with pytest.raises(ValueError, match=r"\['standardscaler'\] were replaced after fit"):
        pipe.unlearn([0])
    assert pipe.unlearned_indices_.size == 0
    pipe.fit(X, y).unlearn([0])  # a new fit makes it consistent again


def test_column_transformer_and_feature_union():
    def make_ct():
        return ColumnTransformer(
            [("a", StandardScaler(), [0, 1]), ("b", MinMaxScaler(), [2, 3])],
            remainder="passthrough",
        )

    _same_after_change(make_ct, {"a__with_mean": False, "remainder": "drop"}, "transform")
    # Replacing a transformer of the template: unlearn still uses the fitted ones.
    _same_after_change(make_ct, {"a": MinMaxScaler()}, "transform")

    def make_union_():
        return make_union(StandardScaler(), MinMaxScaler())

    changed = make_union_().fit(X)
    changed.set_params(minmaxscaler__clip=True)
    changed.unlearn(FORGET)
    plain = make_union_().fit(X).unlearn(FORGET)
    np.testing.assert_array_equal(
        changed.transformer_list[1][1].data_min_, plain.transformer_list[1][1].data_min_
    )
