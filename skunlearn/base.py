"""The unlearning contract shared by every skunlearn estimator.

Every unlearner inherits :class:`UnlearnerMixin`, whose public :meth:`~UnlearnerMixin.unlearn`
validates the request, times it, keeps the bookkeeping and guarantees atomicity, and then
delegates the actual forgetting to the subclass's ``_unlearn(positions)``.

A subclass has three duties:

1. call ``self._reset_unlearning(n_samples, keys)`` at the end of every ``fit`` (``keys`` is
   the ``keys=None`` fit parameter every unlearner takes: one key per row, see
   :ref:`keys_and_audit`);
2. implement ``_unlearn(positions)``, which receives sorted, unique, validated positions into the
   last fit's ``X``, builds the new state *aside* (never mutating arrays, lists or estimators
   that the current state references) and then rebinds attributes; it returns a dict of details
   for the report, at least ``{"exact": bool, "distance_bound": float | None}``;
3. optionally override ``_check_unlearn_feasible(positions)`` to reject requests that would leave
   it without usable data (raise ``ValueError``), and ``_estimate_unlearn_cost(positions)``;
4. declare in ``_training_state`` the attributes that exist only to forget (stored rows,
   statistics, checkpoints), which :meth:`~UnlearnerMixin.serving_copy` leaves out, or
   override ``_serving_copy()`` (see :mod:`skunlearn._serving`).

Thread safety: rebind the new state with ``self._swap_state(name=value, ...)`` and let prediction
methods take their inputs with ``self._read_state("name", ...)``; a reader then sees the state
before or after an ``unlearn``, never a mix. Estimators that keep state outside the process
(files) release what the settled state no longer references in ``_unlearn_cleanup()``.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
import weakref
from datetime import UTC, datetime
from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils._metadata_requests import _routing_enabled

from skunlearn._keys import check_keys
from skunlearn._serving import _REGISTRY as _SERVED
from skunlearn._serving import PRIVATE_ATTRIBUTES, SERVING_MESSAGE, ServingMixin, as_serving

__all__ = ["UnlearnerMixin", "is_unlearner"]

# Progress and warnings go to the "skunlearn" logger and its children (this one is
# "skunlearn.base"): a request's outcome at INFO, a silent fallback to a refit at WARNING.
logger = logging.getLogger(__name__)

# Report entries copied into ``unlearn_history_``: what a request cost, never row values.
_HISTORY_FIELDS = (
    "samples_retrained",
    "shards_retrained",
    "steps_refit",
    "refit",
    "refit_reason",
    "method",
)

# The bookkeeping of the contract, which a serving copy never carries (the keys least of all).
_BOOKKEEPING = (
    "unlearned_indices_",
    "unlearn_report_",
    "unlearn_history_",
    "_keys",
)

# How many offending positions an error message lists before it abbreviates.
_N_SHOWN = 5

# Readers (predict) and the swap at the end of an unlearn take this lock only while they read or
# rebind fitted attributes, never while they compute, so one lock for every estimator costs
# microseconds and lets a reader see the old state or the new one, never a mix of both.
_STATE_LOCK = threading.RLock()

# Unlearn calls on one estimator are serialized (two concurrent requests planned on the same old
# state would each drop the other's removal). The locks live outside the estimators so that
# they are neither pickled nor cloned.
_WRITE_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(estimator) -> threading.RLock:
    with _WRITE_LOCKS_GUARD:
        try:
            return _WRITE_LOCKS.setdefault(estimator, threading.RLock())
        except TypeError:  # unhashable or not weak-referenceable: serialize with everyone
            return _STATE_LOCK


def _show(positions) -> str:
    """Format the first few offending positions for an error message."""
    positions = [int(p) if isinstance(p, Integral | np.integer) else p for p in positions]
    positions = [p.item() if isinstance(p, np.generic) else p for p in positions]
    shown = ", ".join(repr(p) for p in positions[:_N_SHOWN])
    more = len(positions) - _N_SHOWN
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def check_unlearn_indices(
    indices, n_samples_fit, unlearned=None, *, _sorted_unlearned=False
) -> np.ndarray:
    """Validate an unlearning request and return sorted unique positions.

    Parameters
    ----------
    indices : array-like of int or bool
        Row positions into the ``X`` of the last ``fit`` (``0 .. n_samples_fit - 1``), or a
        boolean mask of length ``n_samples_fit``. A single integer is accepted as one position.
    n_samples_fit : int
        Number of rows seen by the last ``fit``.
    unlearned : array-like of int, default=None
        Positions forgotten by earlier requests; asking for one of them again is an error.

    Returns
    -------
    positions : ndarray of shape (n_removed,), dtype=intp
        Sorted positions; empty for an empty request.

    Raises
    ------
    ValueError
        If the request is malformed. The message names the first few offending positions and
        why they were rejected.

    Examples
    --------
    >>> from skunlearn.base import check_unlearn_indices
    >>> check_unlearn_indices([4, 1], n_samples_fit=5)
    array([1, 4])
    >>> check_unlearn_indices([True, False, True], n_samples_fit=3)
    array([0, 2])
    """
    if indices is None:
        raise ValueError(
            "indices must be an array-like of integer positions or a boolean mask, got None."
        )
    if _is_pandas_labelled(indices):
        # Labels are not positions: after ``train = df[df.age > 30]``, reading
        # ``train.index[...]`` as positions would forget other people's rows.
        raise ValueError(
            f"indices is a pandas {type(indices).__name__}, whose values may be labels rather "
            "than row positions, and unlearn never guesses which. Pass positions into the X "
            "of the last fit, e.g. np.flatnonzero(mask) for a boolean mask over its rows "
            "(mask.to_numpy() for a Series), or fit with keys= and call unlearn(keys=[...])."
        )
    if isinstance(indices, bool | np.bool_):
        raise ValueError(
            "indices must be an array-like of integer positions or a boolean mask of "
            f"length {n_samples_fit}, got the scalar {indices!r}."
        )
    if hasattr(indices, "toarray"):  # sparse containers are not a valid request
        raise ValueError("indices must be a dense array-like, got a sparse matrix.")
    if isinstance(indices, list | tuple):
        n_bools = sum(isinstance(v, bool | np.bool_) for v in indices)
        if 0 < n_bools < len(indices):  # NumPy would silently read True as position 1
            raise ValueError(
                "indices mixes booleans and integers; pass integer positions or a boolean mask."
            )
    arr = np.asarray(indices)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"indices must be one-dimensional, got an array of shape {arr.shape}.")

    if arr.dtype == bool:
        if arr.shape[0] != n_samples_fit:
            raise ValueError(
                f"A boolean mask must have one entry per training row: expected length "
                f"{n_samples_fit}, got {arr.shape[0]}."
            )
        positions = np.flatnonzero(arr)
    else:
        if arr.size == 0:
            return np.empty(0, dtype=np.intp)
        if arr.dtype == object:
            bad = [v for v in arr if not isinstance(v, Integral | np.integer)]
        elif not np.issubdtype(arr.dtype, np.integer):
            bad = list(arr) if arr.dtype.kind != "f" else list(arr[arr != np.round(arr)])
            bad = bad or list(arr)
        else:
            bad = []
        if bad:
            raise ValueError(
                f"indices must be integer row positions (or a boolean mask); got "
                f"non-integer values {_show(bad)} of dtype {arr.dtype}. Convert them with "
                "np.asarray(indices, dtype=int) if they are whole numbers."
            )
        if arr.dtype == object or arr.dtype.kind == "u":
            # Python ints and unsigned values may not fit an intp: range-check them first.
            too_big = [v for v in arr.tolist() if int(v) >= n_samples_fit]
            if too_big:
                _raise_out_of_range(too_big, n_samples_fit)
        positions = arr.astype(np.intp)

    out_of_range = positions[(positions < 0) | (positions >= n_samples_fit)]
    if out_of_range.size:
        _raise_out_of_range(out_of_range, n_samples_fit)
    positions = np.sort(positions)
    duplicated = np.unique(positions[1:][positions[1:] == positions[:-1]])
    if duplicated.size:
        raise ValueError(f"Positions {_show(duplicated)} are duplicated in the request.")
    if unlearned is not None and len(unlearned):
        if isinstance(unlearned, np.ndarray) and _sorted_unlearned:
            again = positions[_in_sorted(positions, unlearned)]
        else:
            again = np.intersect1d(positions, unlearned)
        if again.size:
            raise ValueError(
                f"Positions {_show(again)} were already unlearned by an earlier request."
            )
    return positions


def _in_sorted(positions: np.ndarray, sorted_positions: np.ndarray) -> np.ndarray:
    """Mask of ``positions`` found in the sorted ``sorted_positions`` (the estimators' own
    ``unlearned_indices_``): O(k log m) per request, instead of an O(m) set operation."""
    if sorted_positions.size == 0:
        return np.zeros(positions.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_positions, positions), sorted_positions.size - 1)
    return sorted_positions[at] == positions


def _merged(unlearned: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Sorted union of two sorted disjoint position arrays, in ``O(m + k)`` (no sort)."""
    return np.insert(unlearned, np.searchsorted(unlearned, positions), positions)


def _is_pandas_labelled(obj) -> bool:
    """Whether ``obj`` is a pandas Index, Series or DataFrame (checked without importing pandas)."""
    name = type(obj).__name__
    return (type(obj).__module__ or "").startswith("pandas") and (
        name.endswith("Index") or name in ("Series", "DataFrame")
    )


def _raise_out_of_range(positions, n_samples_fit):
    raise ValueError(
        f"Positions {_show(positions)} are out of range: the last fit saw "
        f"{n_samples_fit} rows, so positions must lie in [0, {n_samples_fit}). "
        "Negative positions are not interpreted from the end."
    )


def _serving_value(value):
    """``value`` with every unlearner in it (also in lists and tuples, e.g. a pipeline's
    ``(name, step)`` pairs) replaced by its serving copy."""
    if is_unlearner(value) and hasattr(value, "n_samples_fit_"):
        return value.serving_copy()
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(_serving_value(v) for v in value)
    return value


def _served_objects(values):
    """The serving copies made by :func:`_serving_value` (not to be deep-copied again)."""
    for value in values:
        if getattr(value, "_serving", False) or isinstance(value, ServingMixin):
            yield value
        elif isinstance(value, list | tuple):
            yield from _served_objects(value)


class _ForgetsUnlessServing:
    """Method descriptor: the method, except on a serving copy, where reading it raises
    ``AttributeError`` with a message saying where the unlearnable model lives (so that
    ``hasattr(copy, "unlearn")`` is False, as for scikit-learn's own estimators)."""

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        if getattr(obj, "_serving", False):
            raise AttributeError(SERVING_MESSAGE.format(name=type(obj).__name__))
        return self.method.__get__(obj, owner)


class UnlearnerMixin:
    """Mixin class for estimators that can forget training rows.

    Adds :meth:`unlearn`, :meth:`estimate_unlearn_cost` and :meth:`serving_copy`, and the
    fitted bookkeeping of the contract: ``n_samples_fit_``, ``unlearned_indices_``,
    ``unlearn_report_`` and ``unlearn_history_``.

    Place it left of :class:`~sklearn.base.BaseEstimator` (and of scikit-learn's other mixins)
    in the bases of an estimator.
    """

    # Marker read by :func:`is_unlearner`: duck typing on ``unlearn`` alone would accept
    # third-party objects that merely share the method name but not the contract.
    _skunlearn_unlearner = True

    # With metadata routing enabled, ``keys`` given to a meta-estimator's fit (GridSearchCV,
    # Pipeline, ...) reach every unlearner without a set_fit_request(keys=True) on each: they
    # mean the same to all of them, and only unlearners take them.
    __metadata_request__fit = {"keys": True}

    #: How many requests ``unlearn_history_`` remembers (the oldest are dropped first).
    unlearn_history_size = 100

    # Attributes that exist only to forget (training rows, statistics, checkpoints, stores):
    # serving_copy leaves them out. None: not declared, and serving_copy refuses to guess.
    _training_state: tuple | None = None

    # The scikit-learn class a drop-in replaces: its serving copy is an instance of it (see
    # skunlearn._serving), carrying the public fitted attributes not in ``_training_state``
    # and the private ones listed in ``_serving_private``. None: a copy of the estimator.
    _serving_estimator: type | None = None
    _serving_private: tuple = ()

    def _reset_unlearning(self, n_samples: int, keys=None) -> None:
        """Start the bookkeeping of a new fit on ``n_samples`` rows, with their ``keys``."""
        key_index = check_keys(keys, n_samples)  # validated before anything changes
        self.n_samples_fit_ = int(n_samples)
        self.unlearned_indices_ = np.empty(0, dtype=np.intp)
        self.unlearn_report_ = None
        self.unlearn_history_ = []
        self._keys = key_index

    def _fit_keys(self, keys) -> None:
        """Record the ``keys`` of a fit whose bookkeeping was reset without them (by a shared
        helper that does not see the fit's parameters); call it at the end of ``fit``."""
        self._keys = check_keys(keys, self.n_samples_fit_)

    def _take_keys(self, params: dict):
        """For meta-estimators whose ``fit`` takes ``**params``: remove ``keys`` from ``params``
        and return them (the estimator's own, for ``unlearn(keys=...)``); with metadata
        routing, they stay in ``params`` too when a sub-estimator requests them."""
        keys = params.pop("keys", None)
        if keys is not None and _routing_enabled():
            if self.get_metadata_routing().consumes("fit", ["keys"]):
                params["keys"] = keys
        return keys

    def _retained_mask(self) -> np.ndarray:
        """Boolean mask over the last fit's rows, True for rows not yet forgotten."""
        mask = np.ones(self.n_samples_fit_, dtype=bool)
        mask[self.unlearned_indices_] = False
        return mask

    def _check_fitted(self) -> None:
        """Raise scikit-learn's ``NotFittedError`` before the first fit.

        What ``check_is_fitted(self, "n_samples_fit_")`` checks, without looking up the
        estimator tags: a pipeline of unlearners runs this once per step on every request.
        """
        if not hasattr(self, "n_samples_fit_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _validate_unlearn_request(self, indices) -> np.ndarray:
        self._check_fitted()
        positions = check_unlearn_indices(
            indices, self.n_samples_fit_, self.unlearned_indices_, _sorted_unlearned=True
        )
        self._check_leaves_data(positions)
        return positions

    def _check_leaves_data(self, positions: np.ndarray) -> None:
        if positions.size:
            n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
            if n_left <= 0:
                raise ValueError(
                    f"Unlearning positions {_show(positions)} would leave no training rows "
                    f"(the model has {self.n_samples_fit_ - self.unlearned_indices_.size} "
                    "retained rows). Fit a new model instead."
                )
            self._check_unlearn_feasible(positions)

    def _check_unlearn_feasible(self, positions: np.ndarray) -> None:
        """Raise ``ValueError`` if forgetting ``positions`` would leave no usable model."""

    def _resolve_request(self, indices, keys, already_forgotten) -> tuple[np.ndarray, dict]:
        """Validate a request given by positions or by keys; return its positions to forget
        (sorted, retained) and what the report says about the request itself."""
        if already_forgotten not in ("raise", "skip"):
            raise ValueError(
                f"already_forgotten must be 'raise' or 'skip', got {already_forgotten!r}."
            )
        if keys is None:
            if already_forgotten == "raise":
                return self._validate_unlearn_request(indices), {"n_skipped": 0}
            self._check_fitted()
            positions = check_unlearn_indices(indices, self.n_samples_fit_)
            again = _in_sorted(positions, self.unlearned_indices_)
            positions = positions[~again]
            self._check_leaves_data(positions)
            return positions, {"n_skipped": int(again.sum())}
        if indices is not None:
            raise ValueError("Pass either indices (row positions) or keys, not both.")
        self._check_fitted()
        key_index = getattr(self, "_keys", None)
        if key_index is None:
            raise ValueError(
                f"This {type(self).__name__} was fitted without keys, so it cannot forget by "
                "key: pass keys= to fit (one key per row, e.g. keys=df['customer_id']), or "
                "pass row positions to unlearn."
            )
        positions, unknown, n_found = key_index.positions(keys)
        if unknown.size and already_forgotten == "raise":
            raise ValueError(
                f"{unknown.size} requested keys (at positions {_show(unknown)} of the request) "
                "belong to no retained row: they were never seen at fit, or were already "
                "forgotten (forgotten keys are purged, so the model cannot tell which). Pass "
                "already_forgotten='skip' to skip them, e.g. when retrying a request."
            )
        self._check_leaves_data(positions)
        return positions, {"n_skipped": 0, "n_keys": n_found, "n_keys_skipped": int(unknown.size)}

    @_ForgetsUnlessServing
    def unlearn(self, indices=None, *, keys=None, already_forgotten="raise"):
        """Remove the influence of training rows from the fitted model.

        Parameters
        ----------
        indices : array-like of int or bool, default=None
            Row positions into the ``X`` of the last :term:`fit` (``0 .. n_samples_fit_ - 1``),
            or a boolean mask of length ``n_samples_fit_``. Positions are stable: a position
            names the same row after any number of earlier calls. An empty request is a no-op
            (``unlearn_report_`` keeps describing the last non-empty request). A pandas Index
            or Series is refused: its values may be labels (pass ``np.flatnonzero(mask)``).

        keys : hashable or collection of hashables, default=None
            Instead of ``indices``: forget every retained row of these keys (the ``keys``
            given to :term:`fit`, e.g. customer IDs). A single key, or a list, tuple, set,
            array, Series or Index of keys. Keys left without rows are purged from the model.

        already_forgotten : {"raise", "skip"}, default="raise"
            What to do with positions already forgotten, or keys that no retained row carries
            (never seen, or already forgotten): raise ``ValueError``, or skip them (counted in
            ``unlearn_report_["n_skipped"]`` / ``["n_keys_skipped"]`` and in
            ``unlearn_history_``), which makes retrying a half-processed request safe.

        Returns
        -------
        self : object
            The estimator, having forgotten the rows. ``unlearn_report_`` describes the call.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If a position is out of range, not an integer, duplicated or already unlearned, if
            a mask has the wrong length, if a key is unknown, or if the request would leave no
            usable training data. A rejected request changes nothing.
        AttributeError
            On a serving copy (see :meth:`serving_copy`), which cannot forget.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from skunlearn.naive_bayes import GaussianNB
        >>> X, y = load_iris(return_X_y=True)
        >>> customer = np.tile(["ann", "bob", "eve"], 50)
        >>> model = GaussianNB().fit(X, y, keys=customer)
        >>> model.unlearn([0, 1]).unlearn(keys="bob").unlearn_report_["n_removed"]
        49
        >>> retry = model.unlearn(keys=["bob", "eve"], already_forgotten="skip")
        >>> retry.unlearn_report_["n_keys_skipped"], retry.unlearn_report_["n_removed"]
        (1, 50)
        >>> [entry["n_removed"] for entry in model.unlearn_history_]
        [2, 49, 50]
        """
        with _write_lock(self):
            positions, request = self._resolve_request(indices, keys, already_forgotten)
            request["by_key"] = keys is not None
            if positions.size == 0:
                # A true no-op: even the report of the last call stays, so that the claim it
                # makes (exact, or approximate within a bound) still describes the model. A
                # retry whose every item was skipped is still logged.
                if request["n_skipped"] or request.get("n_keys_skipped"):
                    self._record(positions, request, None)
                return self
            start = time.perf_counter()
            # Atomicity safety net: subclasses build their new state aside and rebind it;
            # restoring the attribute bindings undoes everything they did before failing,
            # including on KeyboardInterrupt.
            snapshot = dict(self.__dict__)
            try:
                details = self._unlearn(positions)
                key_index = getattr(self, "_keys", None)
                keys_left = {} if key_index is None else {"_keys": key_index.without(positions)}
            except BaseException:
                with _STATE_LOCK:
                    # Never empty the dict: a reader must not find the model unfitted.
                    for name in set(self.__dict__) - set(snapshot):
                        del self.__dict__[name]
                    self.__dict__.update(snapshot)
                raise
            finally:
                self._unlearn_cleanup()
            self._swap_state(
                unlearned_indices_=_merged(self.unlearned_indices_, positions), **keys_left
            )
            report = {
                "n_removed": int(positions.size),
                "indices": positions,
                "exact": True,
                "distance_bound": None,
            }
            report.update(request)
            report.update(details)
            report["seconds"] = time.perf_counter() - start
            self.unlearn_report_ = report
            self._record(positions, request, report)
            return self

    def _record(self, positions, request, report) -> None:
        """Append the request to ``unlearn_history_`` and log it.

        The history keeps positions (which say nothing about a person once the rows are
        gone) and what each request cost; never keys, which are personal data.
        """
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "n_removed": int(positions.size),
            "indices": positions,
        }
        entry.update(request)
        if report is not None:
            entry.update(
                exact=report["exact"],
                distance_bound=report["distance_bound"],
                seconds=report["seconds"],
            )
            entry.update({k: report[k] for k in _HISTORY_FIELDS if k in report})
        history = list(getattr(self, "unlearn_history_", None) or [])
        history.append(entry)
        self._swap_state(unlearn_history_=history[-max(int(self.unlearn_history_size), 1) :])

        name = type(self).__name__
        skipped = request["n_skipped"] + request.get("n_keys_skipped", 0)
        if report is None:
            logger.info("%s: nothing to forget, %d already-forgotten items skipped", name, skipped)
            return
        how = "exact" if report["exact"] else f"approximate, bound {report['distance_bound']}"
        logger.info(
            "%s: forgot %d rows (%s) in %.3fs; %d rows retrained%s",
            name,
            positions.size,
            how,
            report["seconds"],
            int(report.get("samples_retrained", 0)),
            f", {skipped} already-forgotten items skipped" if skipped else "",
        )
        # A refit chosen because it was the cheaper answer is the fast path, not a fallback.
        if report.get("refit") is True and not report.get("refit_cheaper"):
            in_a_row = 0
            for past in reversed(self.unlearn_history_):
                if past.get("refit") is not True:
                    break
                in_a_row += 1
            logger.warning(
                "%s fell back to a refit from scratch on the retained rows (%s)%s: this request "
                "cost as much as retraining. Check the estimator's documentation for the "
                "conditions of its fast path (for InfluenceUnlearnLogistic: scaled features).",
                name,
                report.get("refit_reason") or "no reason given",
                f", for the last {in_a_row} requests in a row" if in_a_row > 1 else "",
            )

    def serving_copy(self):
        """A predict-only copy of the fitted model, holding nothing it needs only to forget.

        The copy predicts exactly as this model does (the same outputs, bit for bit) and
        holds no training rows, and no statistic beyond what scikit-learn's own fitted model
        of the same kind holds: a drop-in's copy is an instance of the scikit-learn class it
        replaces, a sharded ensemble's keeps the shards' estimators but neither their data nor
        their checkpoints, and a neighbours model's is scikit-learn's own over the retained
        rows (such a model *is* its rows). It holds no keys and no request history. Push it
        to where predictions are served; keep this model, which can forget, with the data.
        See :ref:`keys_and_audit`.

        Returns
        -------
        copy : estimator
            A fitted estimator whose ``unlearn`` raises ``AttributeError``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.naive_bayes import GaussianNB as ScikitLearnGaussianNB
        >>> from skunlearn.naive_bayes import GaussianNB
        >>> X, y = load_iris(return_X_y=True)
        >>> model = GaussianNB().fit(X, y).unlearn([0, 50])
        >>> serving = model.serving_copy()
        >>> isinstance(serving, ScikitLearnGaussianNB), hasattr(serving, "unlearn")
        (True, False)
        >>> bool((serving.predict_proba(X) == model.predict_proba(X)).all())
        True
        """
        self._check_fitted()
        with _write_lock(self):  # not halfway through a request of another thread
            return self._serving_copy()

    def _serving_copy(self):
        """Generic serving copy: an instance of the scikit-learn class a drop-in replaces, or a
        copy of this estimator without the ``_training_state`` it declares."""
        target = self._serving_estimator or next(
            (cls for cls in type(self).__mro__ if cls in _SERVED), None
        )
        if target is not None:
            # Public fitted attributes (scikit-learn's), the private ones the class lists as
            # needed to predict, and the parameters; nothing else of the unlearner.
            drop = set(self._training_state or ()) | set(_BOOKKEEPING) | {"n_samples_fit_"}
            private = set(self._serving_private) | set(PRIVATE_ATTRIBUTES.get(target, ()))
            state = target().get_params(deep=False)
            state.update(self._serving_params(target))
            state.update(
                {
                    k: v
                    for k, v in vars(self).items()
                    if k not in drop
                    and (k in private or (k.endswith("_") and not k.startswith("_")))
                }
            )
            return as_serving(self, state, target=target)
        if self._training_state is None:
            raise NotImplementedError(
                f"{type(self).__name__} does not declare its _training_state (the attributes "
                "it keeps only to forget), so serving_copy cannot tell what to leave out."
            )
        drop = set(self._training_state) | set(_BOOKKEEPING)
        state = {k: _serving_value(v) for k, v in vars(self).items() if k not in drop}
        served = {id(v): v for v in _served_objects(state.values())}
        new = object.__new__(type(self))
        new.__dict__.update(copy.deepcopy(state, memo=served))
        new._serving = True
        return new

    def _serving_params(self, target: type) -> dict:
        """Parameters of the scikit-learn ``target`` for the serving copy: this estimator's
        parameters that ``target`` shares."""
        names = set(target._get_param_names())
        return {k: v for k, v in self.get_params(deep=False).items() if k in names}

    def _swap_state(self, **attributes) -> None:
        """Rebind fitted attributes in one step that :meth:`_read_state` sees atomically."""
        with _STATE_LOCK:
            for name, value in attributes.items():
                setattr(self, name, value)

    def _read_state(self, *names) -> tuple:
        """Read fitted attributes together, all from before or all from after a swap.

        Take the snapshot here and compute outside: the lock is shared by every estimator.
        Missing attributes read as None.
        """
        with _STATE_LOCK:
            return tuple(getattr(self, name, None) for name in names)

    def _unlearn_cleanup(self) -> None:
        """Run after every non-empty request, once its outcome is settled (success or not).

        Estimators that keep part of their state outside the process (files) release here what
        the settled state no longer references: the old state's files after a success, the
        files written for the new state after a failure.
        """

    def _unlearn(self, positions: np.ndarray) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @_ForgetsUnlessServing
    def estimate_unlearn_cost(self, indices=None, *, keys=None, already_forgotten="raise") -> dict:
        """Describe what :meth:`unlearn` would recompute for a request, changing nothing.

        Parameters
        ----------
        indices : array-like of int or bool, default=None
            A request, validated exactly as :meth:`unlearn` validates it.
        keys : hashable or collection of hashables, default=None
            Or a request by key, as for :meth:`unlearn`.
        already_forgotten : {"raise", "skip"}, default="raise"
            As for :meth:`unlearn`.

        Returns
        -------
        cost : dict
            At least ``n_removed`` and ``samples_retrained`` (how many retained rows would be
            trained on again); estimators add their own keys (for instance the shards).
        """
        with _write_lock(self):
            positions, _ = self._resolve_request(indices, keys, already_forgotten)
            cost = {"n_removed": int(positions.size), "samples_retrained": 0}
            if positions.size:
                cost.update(self._estimate_unlearn_cost(positions))
            return cost

    def _estimate_unlearn_cost(self, positions: np.ndarray) -> dict:
        # Without a cheaper path, the safe assumption is a full retrain on what is left.
        n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
        return {"samples_retrained": int(n_left)}


def is_unlearner(estimator) -> bool:
    """Return True if ``estimator`` implements skunlearn's unlearning contract.

    scikit-learn's tags cannot be extended in place and metadata routing cannot route a new
    verb, so unlearners are recognised by the ``unlearn`` method together with the marker set
    by :class:`UnlearnerMixin`. Works on classes and instances, fitted or not.

    Parameters
    ----------
    estimator : object
        An estimator instance or class.

    Returns
    -------
    bool

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skunlearn.base import is_unlearner
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> is_unlearner(ShardedEnsembleClassifier())
    True
    >>> is_unlearner(LogisticRegression())
    False
    """
    # A serving copy (see UnlearnerMixin.serving_copy) keeps the class but cannot forget.
    return (
        callable(getattr(estimator, "unlearn", None))
        and bool(getattr(estimator, "_skunlearn_unlearner", False))
        and not getattr(estimator, "_serving", False)
    )
