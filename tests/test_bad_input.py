"""The bad-input table, over every unlearner: a clear error, and nothing changed.

At fit and predict, unlearners reject what scikit-learn rejects (NaN unless the estimator's
tags allow it, infinity, complex numbers, strings for numeric estimators, wrong width, a
1-D ``X``, no rows, targets of the wrong length) with a ``ValueError`` saying what is wrong,
and accept string class labels as scikit-learn classifiers do. A drop-in that shares its name
with a scikit-learn estimator (``skunlearn.naive_bayes.GaussianNB``...) must do exactly what
its scikit-learn twin does with the same input: succeed, or raise the same exception type (or
a clearer ``ValueError``). ``unlearn`` rejects every malformed request with a ``ValueError``
naming the offending positions, and leaves the model exactly as it was (compared through its
pickle).
"""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from _unlearner_cases import (
    assert_same_outputs,
    fitted,
    instance_id,
    is_supervised,
    make_data,
    outputs,
    unlearner_instances,
)
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.utils import all_estimators, get_tags

INSTANCES = unlearner_instances()
N = 60  # rows of make_data


_SKLEARN = dict(all_estimators())


# Sharded ensembles hand the user's X to the wrapped estimator as scikit-learn's bagging does:
# they accept what it accepts (infinity for HistGradientBoosting, say).
_META_TWINS = {
    "ShardedEnsembleClassifier": BaggingClassifier,
    "ShardedEnsembleRegressor": BaggingRegressor,
}


def _twin(estimator):
    """The scikit-learn estimator of the same name and parameters, if there is one (for a
    sharded ensemble around a scikit-learn estimator: bagging around it)."""
    meta = _META_TWINS.get(type(estimator).__name__)
    if meta is not None:
        inner = estimator.get_params(deep=False)["estimator"]
        if inner is None or not type(inner).__module__.startswith("sklearn."):
            return None
        return meta(estimator=clone(inner), n_estimators=2, bootstrap=False)  # every row
    cls = _SKLEARN.get(type(estimator).__name__)
    if cls is None:
        return None
    try:
        return cls(**estimator.get_params(deep=False))
    except TypeError:  # parameters of its own: not a drop-in
        return None


def _outcome(call):
    try:
        call()
    except Exception as exc:
        return exc
    return None


def _check_like_sklearn(estimator, call, message):
    """``call(est)`` on a fresh clone does what it does on the scikit-learn twin (succeeds, or
    raises the same exception type or a ``ValueError``); without a twin, raises a
    ``ValueError`` matching ``message`` (None: succeeds)."""
    ours = _outcome(lambda: call(clone(estimator)))
    twin = _twin(estimator)
    if twin is not None:
        theirs = _outcome(lambda: call(twin))
        # Where scikit-learn fails by accident (a TypeError from deep inside NumPy), a clear
        # ValueError is better; otherwise, the same outcome.
        same = type(ours) is type(theirs) or (theirs is not None and type(ours) is ValueError)
        assert same, f"scikit-learn's {type(twin).__name__} gives {theirs!r}, ours {ours!r}"
        assert ours is None or str(ours), "an error without a message"
        return
    if message is None:
        assert ours is None, f"rejected input its tags accept: {ours!r}"
    else:
        assert isinstance(ours, ValueError), f"expected a ValueError, got {ours!r}"
        assert re.search(message, str(ours)), f"{str(ours)!r} does not match {message!r}"


def _fit(est, X, y):
    return est.fit(X) if y is None else est.fit(X, y)


def _use(est, X):
    """Call the estimator's main output method (predict, transform or kneighbors) on ``X``."""
    for method in ("predict", "transform", "kneighbors"):
        if hasattr(est, method):
            return getattr(est, method)(X)
    raise AssertionError(f"{type(est).__name__} has no predict, transform or kneighbors")


def _with(X, value, dtype=None):
    X = X.astype(dtype or X.dtype)
    X[2, 1] = value
    return X


# -- fit and predict -------------------------------------------------------------------------

# case: (how to spoil X, pattern the error message must match, or None if the tags may allow it)
BAD_X = {
    "NaN": (lambda X: _with(X, np.nan), "NaN"),
    "infinity": (lambda X: _with(X, np.inf), "infinity"),
    "minus infinity": (lambda X: _with(X, -np.inf), "infinity"),
    "complex": (lambda X: _with(X, 1 + 2j, complex), "[Cc]omplex"),
    "strings": (lambda X: _with(X, "abc", object), "string|convert|float|invalid literal"),
}


def _allowed(estimator, case) -> bool:
    tags = get_tags(estimator).input_tags
    return (case == "NaN" and tags.allow_nan) or (case == "strings" and tags.string)


@pytest.mark.parametrize("case", BAD_X)
@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_bad_X_at_fit(estimator, case):
    X, y = make_data(estimator)
    spoil, message = BAD_X[case]
    allowed = _allowed(estimator, case)
    _check_like_sklearn(estimator, lambda est: _fit(est, spoil(X), y), None if allowed else message)
    if allowed:
        est = _fit(clone(estimator), spoil(X), y)
        est.unlearn([2])  # the row holding the value can be forgotten too


@pytest.mark.parametrize("case", BAD_X)
@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_bad_X_at_predict(estimator, case):
    X, y = make_data(estimator)
    spoil, message = BAD_X[case]
    message = None if _allowed(estimator, case) else message
    _check_like_sklearn(estimator, lambda est: _use(_fit(est, X, y), spoil(X)), message)
    est = fitted(estimator, X, y)
    est.unlearn([0])
    outputs_before = outputs(est, X)
    before = pickle.dumps(est)
    _outcome(lambda: _use(est, spoil(X)))
    assert pickle.dumps(est) == before
    for method, value in outputs(est, X).items():
        np.testing.assert_array_equal(value, outputs_before[method])


@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_bad_shapes(estimator):
    X, y = make_data(estimator)
    est = clone(estimator)
    with pytest.raises(NotFittedError):
        _use(est, X)
    with pytest.raises(ValueError, match="2D"):
        _fit(clone(estimator), X[:, 0], y)
    with pytest.raises(ValueError, match="sample"):
        _fit(clone(estimator), X[:0], None if y is None else y[:0])
    if y is not None:
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            _fit(clone(estimator), X, y[:-1])
        y_nan = y.astype(float)
        y_nan[2] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            _fit(clone(estimator), X, y_nan)

    est = fitted(estimator, X, y)
    before = pickle.dumps(est)
    for width in (X.shape[1] - 1, X.shape[1] + 1):
        wrong = np.resize(X, (X.shape[0], width))
        with pytest.raises(ValueError, match="features"):
            _use(est, wrong)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_string_labels(estimator):
    X, y = make_data(estimator)
    if not is_supervised(estimator):
        pytest.skip("a transformer or neighbour search takes no labels")
    labels = np.array(["spam", "ham", "eggs"])[np.asarray(y, dtype=int) % 3]
    if is_regressor(estimator):
        _check_like_sklearn(estimator, lambda est: _fit(est, X, labels), "convert|numeric|float")
        return
    assert is_classifier(estimator)
    # As in scikit-learn, labels can be strings, and predictions are those strings.
    est = fitted(estimator, X, labels)
    assert set(est.classes_) == {"spam", "ham", "eggs"}
    assert set(est.predict(X)) <= {"spam", "ham", "eggs"}
    est.unlearn([1, 2])
    by_codes = fitted(estimator, X, np.searchsorted(["eggs", "ham", "spam"], labels))
    by_codes.unlearn([1, 2])
    np.testing.assert_array_equal(
        est.predict(X), np.array(["eggs", "ham", "spam"])[by_codes.predict(X)]
    )


# -- unlearn ---------------------------------------------------------------------------------

FORGOTTEN = 3  # unlearned before every bad request

# case: (request, pattern the message must match: it names the offending positions)
BAD_REQUESTS = {
    "negative": ([5, -1], r"\[-1\] are out of range"),
    "out of range": ([N], rf"\[{N}\] are out of range"),
    "far out of range": ([2**70], rf"\[{2**70}\] are out of range"),
    "unsigned out of range": (np.array([2**63], dtype=np.uint64), "out of range"),
    "float": ([1.5], r"non-integer values \[1.5\]"),
    "whole floats": (np.array([1.0, 2.0]), r"non-integer values \[1.0, 2.0\]"),
    "NaN": (np.array([np.nan]), r"non-integer values \[nan\]"),
    "strings": (["a"], r"non-integer values \['a'\]"),
    "booleans mixed with integers": ([True, 4], "mixes booleans and integers"),
    "duplicated": ([4, 9, 4], r"\[4\] are duplicated"),
    "repeated (already unlearned)": ([FORGOTTEN], rf"\[{FORGOTTEN}\] were already unlearned"),
    "all rows, on a fresh fit": (np.arange(N), "no training rows"),
    "all remaining rows": (np.setdiff1d(np.arange(N), [FORGOTTEN]), "no training rows"),
    "mask too short": (np.ones(N - 1, dtype=bool), rf"expected length {N}, got {N - 1}"),
    "mask too long": (np.zeros(N + 1, dtype=bool), rf"expected length {N}, got {N + 1}"),
    "two-dimensional": ([[0, 1]], "one-dimensional"),
    "None": (None, "got None"),
    "scalar bool": (True, "scalar"),
    "sparse": (sp.csr_matrix(np.ones((1, 2))), "sparse"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_bad_unlearn_request(estimator, case):
    X, y = make_data(estimator)
    est = fitted(estimator, X, y)
    if "fresh" not in case:
        est.unlearn([FORGOTTEN])
    # Outputs first: a neighbour index counts its queries, which shows in the pickle.
    outputs_before = outputs(est, X)
    before = pickle.dumps(est)
    request, message = BAD_REQUESTS[case]
    with pytest.raises(ValueError, match=message):
        est.unlearn(request)
    with pytest.raises(ValueError, match=message):
        est.estimate_unlearn_cost(request)
    assert pickle.dumps(est) == before, f"a rejected {case} request changed the model"
    after = outputs(est, X)
    for method, value in outputs_before.items():
        np.testing.assert_array_equal(after[method], value)


@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_unlearn_before_fit(estimator):
    for method in ("unlearn", "estimate_unlearn_cost"):
        with pytest.raises(NotFittedError):
            getattr(clone(estimator), method)([0])


@pytest.mark.parametrize(
    "request_", [[], np.array([], dtype=int), np.array([]), np.zeros(N, dtype=bool)], ids=repr
)
@pytest.mark.parametrize("estimator", INSTANCES, ids=instance_id)
def test_empty_request_is_a_no_op(estimator, request_):
    X, y = make_data(estimator)
    est = fitted(estimator, X, y)
    est.unlearn([FORGOTTEN])
    reference = pickle.loads(pickle.dumps(est))
    report = est.unlearn_report_
    assert est.unlearn(request_) is est
    assert est.unlearn_report_ is report  # the last non-empty request's report stays
    np.testing.assert_array_equal(est.unlearned_indices_, [FORGOTTEN])
    assert_same_outputs(est, reference, X)
