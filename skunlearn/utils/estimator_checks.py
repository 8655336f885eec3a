"""Checks of the unlearning contract, to run over any unlearner.

These complement scikit-learn's :func:`~sklearn.utils.estimator_checks.parametrize_with_checks`:
scikit-learn checks the estimator API, these check section 1 of the design (the ``unlearn``
contract). Each check takes an unfitted estimator and data it can be fitted on, and raises
``AssertionError`` when the contract is broken.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from skunlearn.ensemble import ShardedEnsembleClassifier
>>> from skunlearn.utils.estimator_checks import check_unlearner
>>> X, y = load_iris(return_X_y=True)
>>> check_unlearner(ShardedEnsembleClassifier(n_shards=3, random_state=0), X, y)
"""

from __future__ import annotations

import pickle
from unittest import mock

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skunlearn.base import is_unlearner

__all__ = [
    "UNLEARN_CHECKS",
    "check_serving_copy",
    "check_unlearn_atomic",
    "check_unlearn_bad_requests",
    "check_unlearn_bookkeeping",
    "check_unlearn_by_key",
    "check_unlearn_estimate_cost",
    "check_unlearn_not_fitted",
    "check_unlearn_purges",
    "check_unlearn_returns_self",
    "check_unlearn_state_forgets_values",
    "check_unlearner",
]


def _fit(estimator, X, y):
    return clone(estimator).fit(X, y)


def _dump(estimator) -> bytes:
    return pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)


def _forget_candidates(n_samples: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return np.sort(rng.choice(n_samples, size=n, replace=False))


def check_unlearn_not_fitted(estimator, X, y):
    """``unlearn`` and ``estimate_unlearn_cost`` raise ``NotFittedError`` before ``fit``."""
    est = clone(estimator)
    for method in ("unlearn", "estimate_unlearn_cost"):
        try:
            getattr(est, method)([0])
        except NotFittedError:
            continue
        raise AssertionError(f"{method} on an unfitted estimator did not raise NotFittedError")


def check_unlearn_returns_self(estimator, X, y):
    """``unlearn`` returns the estimator itself."""
    est = _fit(estimator, X, y)
    assert est.unlearn([0]) is est, "unlearn must return self"


def check_unlearn_bookkeeping(estimator, X, y):
    """``n_samples_fit_``, ``unlearned_indices_`` and ``unlearn_report_`` follow the calls."""
    n = X.shape[0]
    est = _fit(estimator, X, y)
    assert est.n_samples_fit_ == n
    assert est.unlearned_indices_.size == 0
    est.unlearn([5, 2])
    est.unlearn(np.array([9]))
    mask = np.zeros(n, dtype=bool)
    mask[[1, 7]] = True
    est.unlearn(mask)
    np.testing.assert_array_equal(est.unlearned_indices_, [1, 2, 5, 7, 9])
    report = est.unlearn_report_
    for key in ("n_removed", "exact", "distance_bound", "seconds"):
        assert key in report, f"unlearn_report_ lacks {key!r}"
    assert report["n_removed"] == 2
    assert isinstance(report["exact"], bool)
    if report["exact"]:
        assert report["distance_bound"] is None
    else:
        assert report["distance_bound"] >= 0
    assert report["seconds"] >= 0
    assert est.unlearn([]) is est
    assert est.unlearn_report_ is report, "an empty request must leave the last report as is"
    np.testing.assert_array_equal(est.unlearned_indices_, [1, 2, 5, 7, 9])
    # A new fit starts over.
    est.fit(X, y)
    assert est.unlearned_indices_.size == 0 and est.n_samples_fit_ == n


def check_unlearn_bad_requests(estimator, X, y):
    """Every malformed request raises ``ValueError`` and leaves the estimator unchanged."""
    n = X.shape[0]
    est = _fit(estimator, X, y)
    est.unlearn([3])
    bad_requests = {
        "negative": [-1],
        "out of range": [n],
        "float": [1.5],
        "whole floats": np.array([1.0, 2.0]),
        "strings": ["a"],
        "duplicated": [4, 4],
        "already unlearned": [3],
        "mask too short": np.ones(n - 1, dtype=bool),
        "mask too long": np.zeros(n + 1, dtype=bool),
        "two-dimensional": [[0, 1]],
        "None": None,
        "scalar bool": True,
        "all rows": np.arange(n),
        "all remaining rows": np.setdiff1d(np.arange(n), [3]),
    }
    before = _dump(est)
    for what, request in bad_requests.items():
        try:
            est.unlearn(request)
        except ValueError as exc:
            assert str(exc), f"empty error message for a {what} request"
        else:
            raise AssertionError(f"a {what} request was accepted")
        assert _dump(est) == before, f"a rejected {what} request changed the estimator"


def check_unlearn_estimate_cost(estimator, X, y):
    """``estimate_unlearn_cost`` describes a request without changing anything."""
    est = _fit(estimator, X, y)
    before = _dump(est)
    cost = est.estimate_unlearn_cost([0, 1])
    assert cost["n_removed"] == 2
    # Up to twice the rows: a pipeline whose transform changed refits its later steps on
    # every row, and these then retrain what forgetting the rows costs them.
    assert 0 <= cost["samples_retrained"] <= 2 * X.shape[0]
    assert _dump(est) == before, "estimate_unlearn_cost changed the estimator"


def _failing_after(original, exc_type):
    def failing(self, positions):
        original(self, positions)
        raise exc_type("injected failure at the end of _unlearn")

    return failing


def check_unlearn_atomic(estimator, X, y):
    """A failure at the last moment of ``_unlearn`` leaves the estimator exactly as it was.

    The injected failure comes after the estimator has done all its work, so this catches any
    in-place mutation of the state that the estimator had before the call.
    """
    est = _fit(estimator, X, y)
    est.unlearn([0])
    before = _dump(est)
    cls = type(est)
    for exc_type in (RuntimeError, KeyboardInterrupt):
        with mock.patch.object(cls, "_unlearn", _failing_after(cls._unlearn, exc_type)):
            try:
                est.unlearn([1, 2])
            except exc_type:
                pass
            else:  # pragma: no cover - the patch always raises
                raise AssertionError("the injected failure did not propagate")
        assert _dump(est) == before, (
            f"{exc_type.__name__} during unlearn left the estimator changed: "
            "_unlearn must build its new state aside and only rebind attributes"
        )
    est.unlearn([1, 2])  # and it still works afterwards
    np.testing.assert_array_equal(est.unlearned_indices_, [0, 1, 2])


def check_unlearn_purges(estimator, X, y):
    """No forgotten row's features (as float64 or float32 bytes) remain in the pickle."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    est = _fit(estimator, X, y)
    forget = _forget_candidates(X.shape[0], max(2, X.shape[0] // 10), seed=1)
    est.unlearn(forget)
    blob = _dump(est)
    for i in forget:
        for dtype in (np.float64, np.float32):
            assert X[i].astype(dtype).tobytes() not in blob, (
                f"the features of forgotten row {i} ({np.dtype(dtype).name}) are still in "
                "the model's pickle"
            )
    y_arr = np.asarray(y)
    if y_arr.dtype.kind == "f":
        for i in forget:
            assert y_arr[i].tobytes() not in blob, (
                f"the target of forgotten row {i} is still in the model's pickle"
            )


def _numeric_leaves(obj, path="", seen=None):
    """Walk an object graph (attributes, dicts, sequences) and yield ``(path, value)`` for its
    numeric arrays and scalars. Timings, the report of the last call and the history of the
    calls are skipped."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biufc":
            yield path, obj
        elif obj.dtype == object:
            for i, item in enumerate(obj.ravel()):
                yield from _numeric_leaves(item, f"{path}[{i}]", seen)
        return
    if isinstance(obj, bool | int | float | np.number):
        yield path, np.asarray(obj)
        return
    if obj is None or isinstance(obj, str | bytes | type):
        return
    seen.add(id(obj))
    if hasattr(obj, "tocoo"):  # sparse matrix
        yield path, obj.toarray()
        return
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list | tuple):
        items = enumerate(obj)
    elif hasattr(obj, "__dict__"):
        items = vars(obj).items()
    else:
        return
    for key, value in items:
        # The report and the history describe the calls (what they had to recompute), not
        # the model.
        if isinstance(key, str) and (
            "seconds" in key or key in ("unlearn_report_", "unlearn_history_")
        ):
            continue
        yield from _numeric_leaves(value, f"{path}.{key}", seen)


def check_unlearn_state_forgets_values(estimator, X, y):
    """After ``unlearn``, the fitted state does not depend on the forgotten rows' values.

    Two models are fitted on data that differ only in the rows to be forgotten (those rows are
    replaced by copies of other rows; for regressors their targets too), and the same rows are
    unlearned from both. An exact unlearner must then hold the same state, to rounding: any
    difference is information about the forgotten rows that the model still carries, even when
    their bytes no longer appear in it (for instance a mean kept from the first fit). Approximate
    unlearners are exempt: their state legitimately carries a bounded trace of the rows.

    The state compared is the one the model persists (``__getstate__``, what its pickle
    holds): an estimator may keep a layout in memory that its pickle puts back in canonical
    form (the unlearnable forest's free node ids, wiped, are such a layout).
    """
    n = X.shape[0]
    forget = _forget_candidates(n, max(2, n // 10), seed=2)
    donors = np.random.RandomState(3).choice(np.setdiff1d(np.arange(n), forget), forget.size)
    X_other = np.array(X, copy=True)
    X_other[forget] = X_other[donors]
    y_other = None if y is None else np.array(y, copy=True)
    if y_other is not None and y_other.dtype.kind == "f":
        y_other[forget] = y_other[donors]
    a = _fit(estimator, X, y).unlearn(forget)
    if not a.unlearn_report_["exact"]:
        return
    b = _fit(estimator, X_other, y_other).unlearn(forget)
    leaves_a = dict(_numeric_leaves(a.__getstate__()))
    leaves_b = dict(_numeric_leaves(b.__getstate__()))
    assert leaves_a.keys() == leaves_b.keys(), (
        "the structure of the fitted state depends on the forgotten rows' values: "
        f"{sorted(leaves_a.keys() ^ leaves_b.keys())[:5]}"
    )
    for path, value in leaves_a.items():
        other = leaves_b[path]
        same_shape = np.shape(value) == np.shape(other)
        if not (same_shape and np.allclose(value, other, rtol=1e-6, atol=1e-8, equal_nan=True)):
            raise AssertionError(
                f"after unlearning, the state at {type(a).__name__}{path} depends on the "
                "values of the forgotten rows (it differs between two fits that differ only in "
                "those rows)"
            )


def _keys_for(n_samples: int) -> np.ndarray:
    """Customer-like string keys, three rows per key (the last key may have fewer)."""
    return np.array([f"customer-{i // 3:05d}" for i in range(n_samples)])


def _fit_keyed(estimator, X, y, keys):
    est = clone(estimator)
    if "random_state" in est.get_params(deep=False) and est.random_state is None:
        est.set_params(random_state=0)  # two fits to compare must draw the same numbers
    return est.fit(X, y, keys=keys)


def _assert_no_key_bytes(blob: bytes, keys, what: str):
    for key in keys:
        for encoding in ("utf-8", "utf-32-le"):
            assert key.encode(encoding) not in blob, (
                f"the forgotten key {key!r} ({encoding}) is still in the pickle of {what}"
            )


def check_unlearn_by_key(estimator, X, y):
    """``unlearn(keys=...)`` forgets exactly the rows of the keys given at fit, purges the keys,
    skips already-forgotten items on request, and refuses pandas labels as positions."""
    n = X.shape[0]
    keys = _keys_for(n)
    forget_keys = [keys[4], keys[40]]
    rows = np.flatnonzero(np.isin(keys, forget_keys))
    by_key = _fit_keyed(estimator, X, y, keys).unlearn(keys=forget_keys)
    np.testing.assert_array_equal(by_key.unlearned_indices_, rows)
    report = by_key.unlearn_report_
    assert report["n_removed"] == rows.size and report["n_keys"] == 2 and report["by_key"]
    by_position = _fit_keyed(estimator, X, y, keys).unlearn(rows)
    leaves_key = {p: v for p, v in _numeric_leaves(by_key) if "history" not in p}
    leaves_pos = {p: v for p, v in _numeric_leaves(by_position) if "history" not in p}
    assert leaves_key.keys() == leaves_pos.keys()
    for path, value in leaves_key.items():
        assert np.array_equal(value, leaves_pos[path], equal_nan=True), (
            f"unlearn(keys=...) and unlearn(positions) of the same rows differ at {path}"
        )
    _assert_no_key_bytes(_dump(by_key), forget_keys, "the model")
    assert keys[0].encode() in _dump(by_key) or keys[0].encode("utf-32-le") in _dump(by_key)

    # Retries: already-forgotten keys or positions raise, or are skipped and logged.
    before = _dump(by_key)
    for request in ({"keys": forget_keys}, {"indices": rows[:1]}):
        try:
            by_key.unlearn(**request)
        except ValueError:
            pass
        else:
            raise AssertionError(f"an already-forgotten request {request} was accepted")
        assert _dump(by_key) == before, "a rejected request changed the estimator"
    n_logged = len(by_key.unlearn_history_)
    by_key.unlearn(keys=[forget_keys[0], keys[10]], already_forgotten="skip")
    assert by_key.unlearn_report_["n_keys_skipped"] == 1
    assert by_key.unlearn_report_["n_removed"] == int(np.sum(keys == keys[10]))
    by_key.unlearn([int(rows[0])], already_forgotten="skip")  # nothing left to do: logged
    assert len(by_key.unlearn_history_) == n_logged + 2
    assert by_key.unlearn_history_[-1]["n_skipped"] == 1
    assert by_key.unlearn_history_[-1]["n_removed"] == 0

    try:  # pandas labels are never read as positions
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a test dependency
        return
    for labels in (pd.Index([0, 1]), pd.Series([0, 1])):
        try:
            by_key.unlearn(labels)
        except ValueError as exc:
            assert "position" in str(exc)
        else:
            raise AssertionError(f"a pandas {type(labels).__name__} was read as positions")


# Prediction methods whose outputs the serving copy must reproduce, bit for bit.
_SERVING_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "score_samples",
    "kneighbors",
)


def _foreign_models(obj, seen=None):
    """The scikit-learn models inside a serving copy: estimators of other packages, and
    serving copies of neighbours models (which *are* their rows). Their own state is what
    scikit-learn holds; a serving copy may hold a training row only inside them."""
    from sklearn.neighbors._base import NeighborsBase

    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, str | bytes | np.ndarray):
        return
    seen.add(id(obj))
    if hasattr(obj, "get_params") and (
        not type(obj).__module__.startswith("skunlearn.") or isinstance(obj, NeighborsBase)
    ):
        yield obj
        return
    if isinstance(obj, dict):
        values = obj.values()
    elif isinstance(obj, list | tuple):
        values = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        values = vars(obj).values()
    else:
        return
    for value in values:
        yield from _foreign_models(value, seen)


def _dense(a):
    return np.asarray(a.toarray() if hasattr(a, "toarray") else a)


def check_serving_copy(estimator, X, y):
    """``serving_copy()`` predicts bit for bit as the model, holds no training rows, keys or
    history, and cannot forget (``unlearn`` raises ``AttributeError`` saying where to)."""
    from skunlearn._serving import ServingMixin

    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    keys = _keys_for(n)
    est = _fit_keyed(estimator, X, y, keys)
    forget = _forget_candidates(n, max(2, n // 10), seed=4)
    est.unlearn(forget)
    serving = est.serving_copy()
    assert serving is not est
    assert not is_unlearner(serving), "a serving copy must not pass for an unlearner"
    for method in ("unlearn", "estimate_unlearn_cost"):
        try:
            getattr(serving, method)([0])
        except AttributeError as exc:
            assert "serving copy" in str(exc) and "serving_copy()" in str(exc), str(exc)
        else:
            raise AssertionError(f"{method} on a serving copy did not raise AttributeError")

    retained = np.setdiff1d(np.arange(n), forget)
    X_query = X[retained]  # forgotten categories (an encoder's) are unknown to both
    for method in _SERVING_METHODS:
        if not hasattr(est, method):
            continue
        expected, got = getattr(est, method)(X_query), getattr(serving, method)(X_query)
        for a, b in zip(expected, got) if method == "kneighbors" else [(expected, got)]:
            a, b = _dense(a), _dense(b)
            if method == "predict_log_proba" and isinstance(serving, ServingMixin):
                # scikit-learn's class takes np.log of its probabilities, the unlearner may
                # compute log-probabilities more stably: equal to rounding, not bitwise.
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
                continue
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), (
                f"the serving copy's {method} differs from the model's"
            )

    # Nothing to forget with: the rows (all of them, unless the model is its rows), the keys
    # and the request history.
    blob = _dump(serving)
    foreign = _dump(list(_foreign_models(serving)))
    for i in range(n):
        # A forgotten row nowhere; a retained row only where scikit-learn's model keeps it.
        allowed = b"" if i in forget else foreign
        for dtype in (np.float64, np.float32):
            row = X[i].astype(dtype).tobytes()
            assert row not in blob or row in allowed, (
                f"the features of training row {i} ({np.dtype(dtype).name}) are in the "
                "serving copy's pickle"
            )
        if i in forget and y is not None and np.asarray(y).dtype.kind == "f":
            # (A retained row's target may legitimately be a leaf value of a regression
            # tree, as in scikit-learn's own trees: only forgotten targets are scanned.)
            assert np.asarray(y)[i].tobytes() not in blob, (
                f"the target of forgotten row {i} is in the serving copy's pickle"
            )
    _assert_no_key_bytes(blob, np.unique(keys), "the serving copy")
    for name in ("unlearn_history_", "unlearned_indices_", "unlearn_report_", "_keys"):
        assert not hasattr(serving, name) or getattr(serving, name) is None, (
            f"the serving copy keeps {name}"
        )
    # It survives pickling and still predicts the same.
    loaded = pickle.loads(blob)
    method = next(m for m in _SERVING_METHODS if hasattr(serving, m))
    a, b = getattr(serving, method)(X_query), getattr(loaded, method)(X_query)
    if method == "kneighbors":
        a, b = a[0], b[0]
    assert np.array_equal(_dense(a), _dense(b)), "a pickled serving copy predicts otherwise"


UNLEARN_CHECKS = (
    check_unlearn_not_fitted,
    check_unlearn_returns_self,
    check_unlearn_bookkeeping,
    check_unlearn_bad_requests,
    check_unlearn_estimate_cost,
    check_unlearn_atomic,
    check_unlearn_purges,
    check_unlearn_state_forgets_values,
    check_unlearn_by_key,
    check_serving_copy,
)


def check_unlearner(estimator, X, y=None):
    """Run every unlearning check on ``estimator`` with data ``X, y``.

    Parameters
    ----------
    estimator : estimator instance
        An unfitted unlearner.
    X : ndarray of shape (n_samples, n_features)
        Training data, at least 30 rows with no two rows alike.
    y : ndarray of shape (n_samples,), default=None
        Targets, for supervised estimators.

    Raises
    ------
    AssertionError
        On the first check that fails.
    """
    if not is_unlearner(estimator):
        raise TypeError(f"{type(estimator).__name__} does not implement unlearn.")
    for check in UNLEARN_CHECKS:
        check(estimator, X, y)
