"""The unlearning contract shared by every skunlearn estimator.

Every unlearner inherits :class:`UnlearnerMixin`, whose public :meth:`~UnlearnerMixin.unlearn`
validates the request, times it, keeps the bookkeeping and guarantees atomicity, and then
delegates the actual forgetting to the subclass's ``_unlearn(positions)``.

A subclass has three duties:

1. call ``self._reset_unlearning(n_samples)`` at the end of every ``fit``;
2. implement ``_unlearn(positions)``, which receives sorted, unique, validated positions into the
   last fit's ``X``, builds the new state *aside* (never mutating arrays, lists or estimators
   that the current state references) and then rebinds attributes; it returns a dict of details
   for the report, at least ``{"exact": bool, "distance_bound": float | None}``;
3. optionally override ``_check_unlearn_feasible(positions)`` to reject requests that would leave
   it without usable data (raise ``ValueError``), and ``_estimate_unlearn_cost(positions)``.

Thread safety: rebind the new state with ``self._swap_state(name=value, ...)`` and let prediction
methods take their inputs with ``self._read_state("name", ...)``; a reader then sees the state
before or after an ``unlearn``, never a mix. Estimators that keep state outside the process
(files) release what the settled state no longer references in ``_unlearn_cleanup()``.
"""

from __future__ import annotations

import threading
import time
import weakref
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["UnlearnerMixin", "is_unlearner"]

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


def check_unlearn_indices(indices, n_samples_fit, unlearned=None) -> np.ndarray:
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
        again = np.intersect1d(positions, unlearned)
        if again.size:
            raise ValueError(
                f"Positions {_show(again)} were already unlearned by an earlier request."
            )
    return positions


def _raise_out_of_range(positions, n_samples_fit):
    raise ValueError(
        f"Positions {_show(positions)} are out of range: the last fit saw "
        f"{n_samples_fit} rows, so positions must lie in [0, {n_samples_fit}). "
        "Negative positions are not interpreted from the end."
    )


class UnlearnerMixin:
    """Mixin class for estimators that can forget training rows.

    Adds :meth:`unlearn` and :meth:`estimate_unlearn_cost`, and the fitted bookkeeping of the
    contract: ``n_samples_fit_``, ``unlearned_indices_`` and ``unlearn_report_``.

    Place it left of :class:`~sklearn.base.BaseEstimator` (and of scikit-learn's other mixins)
    in the bases of an estimator.
    """

    # Marker read by :func:`is_unlearner`: duck typing on ``unlearn`` alone would accept
    # third-party objects that merely share the method name but not the contract.
    _skunlearn_unlearner = True

    def _reset_unlearning(self, n_samples: int) -> None:
        """Start the bookkeeping of a new fit on ``n_samples`` rows."""
        self.n_samples_fit_ = int(n_samples)
        self.unlearned_indices_ = np.empty(0, dtype=np.intp)
        self.unlearn_report_ = None

    def _retained_mask(self) -> np.ndarray:
        """Boolean mask over the last fit's rows, True for rows not yet forgotten."""
        mask = np.ones(self.n_samples_fit_, dtype=bool)
        mask[self.unlearned_indices_] = False
        return mask

    def _validate_unlearn_request(self, indices) -> np.ndarray:
        check_is_fitted(self, "n_samples_fit_")
        positions = check_unlearn_indices(indices, self.n_samples_fit_, self.unlearned_indices_)
        if positions.size:
            n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
            if n_left <= 0:
                raise ValueError(
                    f"Unlearning positions {_show(positions)} would leave no training rows "
                    f"(the model has {self.n_samples_fit_ - self.unlearned_indices_.size} "
                    "retained rows). Fit a new model instead."
                )
            self._check_unlearn_feasible(positions)
        return positions

    def _check_unlearn_feasible(self, positions: np.ndarray) -> None:
        """Raise ``ValueError`` if forgetting ``positions`` would leave no usable model."""

    def unlearn(self, indices):
        """Remove the influence of training rows from the fitted model.

        Parameters
        ----------
        indices : array-like of int or bool
            Row positions into the ``X`` of the last :term:`fit` (``0 .. n_samples_fit_ - 1``),
            or a boolean mask of length ``n_samples_fit_``. Positions are stable: a position
            names the same row after any number of earlier calls. An empty request is a no-op
            (``unlearn_report_`` keeps describing the last non-empty request).

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
            a mask has the wrong length, or if the request would leave no usable training data.
            A rejected request changes nothing.
        """
        with _write_lock(self):
            positions = self._validate_unlearn_request(indices)
            if positions.size == 0:
                # A true no-op: even the report of the last call stays, so that the claim it
                # makes (exact, or approximate within a bound) still describes the model.
                return self
            start = time.perf_counter()
            # Atomicity safety net: subclasses build their new state aside and rebind it;
            # restoring the attribute bindings undoes everything they did before failing,
            # including on KeyboardInterrupt.
            snapshot = dict(self.__dict__)
            try:
                details = self._unlearn(positions)
            except BaseException:
                with _STATE_LOCK:
                    # Never empty the dict: a reader must not find the model unfitted.
                    for name in set(self.__dict__) - set(snapshot):
                        del self.__dict__[name]
                    self.__dict__.update(snapshot)
                raise
            finally:
                self._unlearn_cleanup()
            self._swap_state(unlearned_indices_=np.union1d(self.unlearned_indices_, positions))
            report = {
                "n_removed": int(positions.size),
                "indices": positions,
                "exact": True,
                "distance_bound": None,
            }
            report.update(details)
            report["seconds"] = time.perf_counter() - start
            self.unlearn_report_ = report
            return self

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

    def estimate_unlearn_cost(self, indices) -> dict:
        """Describe what :meth:`unlearn` would recompute for a request, changing nothing.

        Parameters
        ----------
        indices : array-like of int or bool
            A request, validated exactly as :meth:`unlearn` validates it.

        Returns
        -------
        cost : dict
            At least ``n_removed`` and ``samples_retrained`` (how many retained rows would be
            trained on again); estimators add their own keys (for instance the shards).
        """
        with _write_lock(self):
            positions = self._validate_unlearn_request(indices)
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
    return callable(getattr(estimator, "unlearn", None)) and bool(
        getattr(estimator, "_skunlearn_unlearner", False)
    )
