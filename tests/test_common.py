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
from sklearn.utils.validation import has_fit_parameter

from skunlearn.base import is_unlearner
from skunlearn.utils import all_estimators
from skunlearn.utils.estimator_checks import UNLEARN_CHECKS


def _wrapped_classifiers():
    """Classifiers the meta-estimators are checked around, with tiny settings. SVC has no
    predict_proba: it is voted on (aggregation="hard")."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return [
        (LogisticRegression(), "soft"),
        (SVC(), "hard"),
        (HistGradientBoostingClassifier(max_iter=5, random_state=0), "soft"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "soft"),
        (KNeighborsClassifier(n_neighbors=3), "soft"),
    ]


def _wrapped_regressors():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    return [
        Ridge(),
        SVR(),
        HistGradientBoostingRegressor(max_iter=10, random_state=0),  # 5 scores R^2 < 0.5
        make_pipeline(StandardScaler(), Ridge()),
        KNeighborsRegressor(n_neighbors=3),
    ]


def _unlearner_pipelines(cls):
    """skunlearn's Pipeline: an unlearner scaler before a sharded ensemble around each wrapped
    estimator (unlearn refits the final step), and before the kNN drop-in."""
    ensemble = import_module("skunlearn.ensemble")
    scaler = import_module("skunlearn.preprocessing").StandardScaler
    pipes = [
        cls(
            [
                ("scaler", scaler()),
                (
                    "clf",
                    ensemble.ShardedEnsembleClassifier(
                        est, n_shards=2, aggregation=agg, random_state=0
                    ),
                ),
            ]
        )
        for est, agg in _wrapped_classifiers()
    ]
    knn = import_module("skunlearn.neighbors").KNeighborsClassifier(n_neighbors=3)
    return [*pipes, cls([("scaler", scaler()), ("knn", knn)])]


# Estimators that need arguments to be constructed, or that are worth checking in several
# configurations. Anything not listed is checked as ``cls()``.
_INSTANCES = {
    # Few trees keep scikit-learn's checks fast.
    "UnlearningForestClassifier": lambda cls: [cls(n_estimators=5, random_state=0)],
    "UnlearningForestRegressor": lambda cls: [cls(n_estimators=5, random_state=0)],
    "ShardedEnsembleClassifier": lambda cls: [
        cls(n_shards=3, random_state=0),
        cls(n_shards=2, aggregation="hard", random_state=0),
        *(
            cls(est, n_shards=2, aggregation=agg, random_state=0)
            for est, agg in _wrapped_classifiers()
        ),
    ],
    "ShardedEnsembleRegressor": lambda cls: [
        cls(n_shards=3, random_state=0),
        *(cls(est, n_shards=2, random_state=0) for est in _wrapped_regressors()),
    ],
    "ClassPartitionedClassifier": lambda cls: [
        cls(random_state=0),
        cls(n_blocks=3, selection=20, random_state=0),
        cls(import_module("sklearn.neighbors").KernelDensity(bandwidth=0.5), random_state=0),
        cls(import_module("sklearn.svm").OneClassSVM(), random_state=0),
    ],
    # As scikit-learn checks its own composites: one scaler.
    "ColumnTransformer": lambda cls: [
        cls([("trans1", import_module("skunlearn.preprocessing").StandardScaler(), [0, 1])]),
    ],
    "FeatureUnion": lambda cls: [
        cls([("trans1", import_module("skunlearn.preprocessing").StandardScaler())]),
    ],
    # strategy="most_frequent" fails check_dtype_object as scikit-learn's own does (a dict
    # in the data is unhashable): tests/test_impute.py covers it.
    "SimpleImputer": lambda cls: [cls(), cls(strategy="median", add_indicator=True)],
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
        *_unlearner_pipelines(cls),
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
    "UnlearningForestClassifier": {
        "check_class_weight_classifiers": (
            "fully grown trees fit every training row whatever the class weights; scikit-learn's "
            "forests pass only through the min_weight_fraction_leaf=0.01 the check sets, a rule "
            "on the total weight that unlearning changes, so the forest does not offer it"
        ),
    },
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
    # The composites fail what scikit-learn's own fail (its PER_ESTIMATOR_XFAIL_CHECKS),
    # except check_fit1d: ours says what is wrong with a 1-D X.
    "ColumnTransformer": {
        check: "as for scikit-learn's ColumnTransformer (in its own expected failures)"
        for check in (
            "check_estimators_empty_data_messages",
            "check_estimators_nan_inf",
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_fit2d_predict1d",
            "check_complex_data",
            "check_fit2d_1feature",
        )
    },
    "FeatureUnion": {
        check: (
            "as for scikit-learn's FeatureUnion (in its own expected failures): fit stores the "
            "fitted transformers in the `transformer_list` parameter"
        )
        for check in (
            "check_estimators_overwrite_params",
            "check_estimators_nan_inf",
            "check_dont_overwrite_parameters",
        )
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


# A sharded ensemble passes sample_weight to every shard's fit: around an estimator whose fit
# takes none (kNN, a scikit-learn Pipeline, which wants step__sample_weight), it refuses
# weights with a ValueError naming the estimator, as scikit-learn's BaggingClassifier does.
_NO_SAMPLE_WEIGHT = (
    "the wrapped estimator's fit takes no sample_weight: the ensemble refuses weights with a "
    "ValueError that names it"
)
_WEIGHT_CHECKS = (
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_all_zero_sample_weights_error",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_classifiers_one_label_sample_weights",
)


# ClassPartitionedClassifier passes sample_weight to every class model's fit: around one whose
# fit takes none (GaussianMixture, the default), it refuses weights with a ValueError naming it.
_CLASS_MODEL_WEIGHT_CHECKS = (
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data",
)


def _expected_failed_checks(estimator):
    failures = dict(_EXPECTED_FAILURES.get(type(estimator).__name__, {}))
    if type(estimator).__name__ == "ClassPartitionedClassifier":
        template = estimator._template()
        if not has_fit_parameter(template, "sample_weight"):
            failures.update(
                dict.fromkeys(
                    _CLASS_MODEL_WEIGHT_CHECKS,
                    f"the class models ({type(template).__name__}) take no sample_weight: the "
                    "ensemble refuses weights with a ValueError that names the estimator",
                )
            )
        if type(template).__name__ == "OneClassSVM":
            failures.update(
                dict.fromkeys(
                    (
                        "check_sample_weight_equivalence_on_dense_data",
                        "check_sample_weight_equivalence_on_sparse_data",
                    ),
                    "as for scikit-learn's OneClassSVM (in its own expected failures), whose "
                    "weights the class models use: sample_weight is not equivalent to "
                    "removing/repeating samples",
                )
            )
    inner = getattr(estimator, "estimator", None)
    if type(estimator).__name__.startswith("Sharded") and inner is not None:
        if not has_fit_parameter(inner, "sample_weight"):
            failures.update(dict.fromkeys(_WEIGHT_CHECKS, _NO_SAMPLE_WEIGHT))
    steps = getattr(estimator, "steps", None)
    if steps and not get_tags(estimator).input_tags.allow_nan:
        if all(get_tags(step).input_tags.allow_nan for _, step in steps):
            failures["check_estimators_nan_inf"] = (
                "as for scikit-learn's Pipeline with the same steps: its tags say NaN is "
                "refused while every step accepts it (a scaler, then gradient boosting)"
            )
    return failures


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
