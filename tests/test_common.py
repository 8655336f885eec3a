"""scikit-learn's estimator checks and skunlearn's unlearning checks over every estimator.

Estimators are discovered (``skunlearn.utils.all_estimators``), so a new public estimator is
checked without being listed here. Instances that need constructor arguments, and expected
failures with their reasons, are the only things listed by hand.
"""

from importlib import import_module

import numpy as np
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.datasets import make_classification, make_regression
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skunlearn.base import is_unlearner
from skunlearn.utils import all_estimators
from skunlearn.utils.estimator_checks import UNLEARN_CHECKS

# Estimators that need arguments to be constructed, or that are worth checking in several
# configurations. Anything not listed is checked as ``cls()``.
_INSTANCES = {
    "ShardedEnsembleClassifier": lambda cls: [
        cls(n_shards=3, random_state=0),
        cls(n_shards=2, aggregation="hard", random_state=0),
    ],
    "ShardedEnsembleRegressor": lambda cls: [cls(n_shards=3, random_state=0)],
    "ClassPartitionedClassifier": lambda cls: [
        cls(random_state=0),
        cls(n_blocks=3, selection=20, random_state=0),
    ],
    "Ridge": lambda cls: [cls(), cls(positive=True)],
    "LinearRegression": lambda cls: [cls(), cls(positive=True)],
    "InfluenceUnlearnLogistic": lambda cls: [
        cls(),
        cls(method="certified", random_state=0),
        cls(method="puma"),
        cls(solver="cg"),
    ],
    # An unlearner scaler followed by an unlearner: unlearn refits the final step.
    "Pipeline": lambda cls: [
        cls(
            [
                ("scaler", import_module("skunlearn.preprocessing").StandardScaler()),
                (
                    "clf",
                    import_module("skunlearn.ensemble").ShardedEnsembleClassifier(
                        import_module("sklearn.linear_model").LogisticRegression(),
                        n_shards=2,
                        random_state=0,
                    ),
                ),
            ]
        ),
        cls(
            [
                ("scaler", import_module("skunlearn.preprocessing").MinMaxScaler()),
                (
                    "reg",
                    import_module("skunlearn.ensemble").ShardedEnsembleRegressor(
                        import_module("sklearn.linear_model").Ridge(),
                        n_shards=2,
                        random_state=0,
                    ),
                ),
            ]
        ),
    ],
}

# scikit-learn checks that an estimator fails by design, each with the reason.
_SHARDING_BREAKS_WEIGHT_EQUIVALENCE = (
    "rows are dealt to shards at random, so a row with weight 2 and two copies of that row "
    "train different shards: weights and repetitions are not interchangeable across shards"
)
_EXPECTED_FAILURES = {
    "ShardedEnsembleClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _SHARDING_BREAKS_WEIGHT_EQUIVALENCE,
        "check_sample_weight_equivalence_on_sparse_data": _SHARDING_BREAKS_WEIGHT_EQUIVALENCE,
    },
    "ShardedEnsembleRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _SHARDING_BREAKS_WEIGHT_EQUIVALENCE,
        "check_sample_weight_equivalence_on_sparse_data": _SHARDING_BREAKS_WEIGHT_EQUIVALENCE,
    },
    "Pipeline": {
        "check_dont_overwrite_parameters": (
            "as for scikit-learn's Pipeline (in its own expected failures): fit stores the "
            "fitted steps in the `steps` parameter"
        ),
        "check_estimators_overwrite_params": (
            "as for scikit-learn's Pipeline (in its own expected failures): fit stores the "
            "fitted steps in the `steps` parameter"
        ),
    },
    "Ridge": {
        "check_non_transformer_estimators_n_iter": (
            "as for scikit-learn's Ridge (in its own expected failures): the solve is a closed "
            "form from the sufficient statistics, no iterations run, so n_iter_ is None"
        ),
    },
}


def _instances():
    for name, cls in all_estimators():
        yield from _INSTANCES.get(name, lambda c: [c()])(cls)


def _expected_failed_checks(estimator):
    return _EXPECTED_FAILURES.get(type(estimator).__name__, {})


def test_estimators_are_discovered():
    names = dict(all_estimators())
    assert {"ShardedEnsembleClassifier", "ShardedEnsembleRegressor"} <= set(names)


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _unlearning_data(estimator):
    """Data an estimator can be fitted on, with no two rows alike."""
    tags = get_tags(estimator)
    if is_regressor(estimator):
        X, y = make_regression(n_samples=90, n_features=5, noise=1.0, random_state=0)
    else:
        X, y = make_classification(
            n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=0
        )
    if tags.input_tags.positive_only:
        X = np.abs(X)
    if not (is_classifier(estimator) or is_regressor(estimator)) and not tags.target_tags.required:
        return X, None
    return X, y


_UNLEARNERS = [est for est in _instances() if is_unlearner(est)]


@pytest.mark.parametrize("estimator", _UNLEARNERS, ids=lambda est: repr(est))
@pytest.mark.parametrize("check", UNLEARN_CHECKS, ids=lambda check: check.__name__)
def test_unlearning_contract(estimator, check):
    X, y = _unlearning_data(estimator)
    check(estimator, X, y)
