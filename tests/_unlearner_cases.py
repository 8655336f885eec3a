"""Every unlearner of the package with data it can be fitted on, for the generic test modules.

The estimators come from :func:`skunlearn.utils.all_unlearners`, constructed as
``tests/test_common.py`` constructs them (its ``_INSTANCES`` is the one place that says how),
so a new unlearner is picked up by test_persistence, test_bad_input and test_properties
without being listed anywhere. The data adapts to the estimator's tags.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils import get_tags
from test_common import _INSTANCES

from skunlearn.utils import all_unlearners

# Outputs compared between two models that should be the same model.
OUTPUT_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "score_samples",
)


def unlearner_instances() -> list:
    """One or more unfitted instances of every public unlearner."""
    out = []
    for name, cls in all_unlearners():
        out.extend(_INSTANCES.get(name, lambda c: [c()])(cls))
    return out


def instance_id(estimator) -> str:
    return repr(estimator).replace(" ", "").replace("\n", "")


def is_supervised(estimator) -> bool:
    return (
        is_classifier(estimator)
        or is_regressor(estimator)
        or get_tags(estimator).target_tags.required
    )


def has_codes(estimator) -> bool:
    """Whether the estimator takes categories (CategoricalNB, OneHotEncoder): it then gets
    small non-negative integer codes, each frequent enough to survive a few requests."""
    return get_tags(estimator).input_tags.categorical


def make_data(estimator, n_samples: int = 60, n_features: int = 4, seed: int = 0):
    """Data ``estimator`` can be fitted on, every row unique (so its bytes identify it).

    Classifiers get three well separated classes, regressors a noisy linear target,
    transformers no target; positive-only estimators get non-negative features and
    categorical ones small non-negative integer codes (then rows need not be unique).
    """
    rng = np.random.RandomState(seed)
    tags = get_tags(estimator)
    n_classes = 3
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    centers = rng.uniform(-3, 3, size=(n_classes, n_features))
    X = centers[y] + rng.normal(scale=0.8, size=(n_samples, n_features))
    if has_codes(estimator):
        X = (np.floor(np.abs(X)) % 3).astype(float)
    elif tags.input_tags.positive_only:
        X = np.abs(X)
    if is_regressor(estimator):
        y = X @ rng.normal(size=n_features) + rng.normal(scale=0.1, size=n_samples)
    elif not is_supervised(estimator):
        y = None
    return X, y


def fitted(estimator, X, y, **fit_params):
    est = clone(estimator)
    return est.fit(X, **fit_params) if y is None else est.fit(X, y, **fit_params)


def _dense(value):
    return np.asarray(value.toarray() if hasattr(value, "toarray") else value)


class Raised(str):
    """The output of a method that raised on bad input: the exception's type name.

    Two models that are the same model fail alike (a neighbour model left with fewer rows
    than ``n_neighbors``, an encoder that no longer knows a category of ``X``).
    """


def _call(method, X):
    try:
        with np.errstate(divide="ignore"):
            return _dense(method(X))
    except (ValueError, IndexError) as exc:  # IndexError: CategoricalNB, unseen category
        return Raised(type(exc).__name__)


def outputs(estimator, X) -> dict:
    """Every output ``estimator`` offers on ``X`` (methods it lacks are skipped), dense."""
    out = {}
    for method in OUTPUT_METHODS:
        if hasattr(estimator, method):
            out[method] = _call(getattr(estimator, method), X)
    if hasattr(estimator, "kneighbors"):
        out["kneighbors_distance"] = _call(lambda X: estimator.kneighbors(X)[0], X)
        out["kneighbors_index"] = _call(lambda X: estimator.kneighbors(X)[1], X)
    return out


def assert_same_outputs(a, b, X, rtol=0.0, atol=0.0) -> None:
    """``a`` and ``b`` give the same outputs on ``X`` (bitwise by default)."""
    out_a, out_b = outputs(a, X), outputs(b, X)
    assert out_a.keys() == out_b.keys()
    assert out_a, f"{type(a).__name__} offers none of {OUTPUT_METHODS} nor kneighbors"
    for method, value in out_a.items():
        other = out_b[method]
        if isinstance(value, Raised) or isinstance(other, Raised):
            assert value == other, f"{method}: {value!r} != {other!r}"
            continue
        assert value.shape == other.shape, f"{method}: shapes {value.shape} != {other.shape}"
        if value.dtype.kind in "fc" and (rtol or atol):
            np.testing.assert_allclose(value, other, rtol=rtol, atol=atol, err_msg=method)
        else:
            np.testing.assert_array_equal(value, other, err_msg=method)
