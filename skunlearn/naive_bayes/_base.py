"""Bookkeeping shared by the decremental naive Bayes classifiers.

Every naive Bayes model is a sum of per-row contributions to per-class sufficient statistics,
so forgetting rows means subtracting their contributions. To know those contributions the model
keeps the rows it counted (as counted: binarized for Bernoulli, integer codes for categorical)
in a :class:`~skunlearn.utils._rowstore.RowStore`, together with each row's class and weight.

Positions number the rows of the last ``fit`` and of every ``partial_fit`` batch after it, in
order; a model started by ``partial_fit`` numbers its batches the same way.

Classes whose rows are all forgotten: a model built by ``fit`` drops them from ``classes_``,
exactly as a refit on the retained rows would; a model started by ``partial_fit`` was told its
``classes`` up front and keeps them with zero counts, exactly as ``partial_fit`` on the retained
rows with the same ``classes`` would. A ``fit`` model with fixed class priors cannot drop a
class (a refit would reject the priors), so such a request is refused.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.naive_bayes import _BaseNB
from sklearn.utils.validation import _check_sample_weight

from skunlearn.base import UnlearnerMixin, _show
from skunlearn.utils._moments import dd_sub
from skunlearn.utils._rowstore import RowStore, concat_rows
from skunlearn.utils._state import UnlearnOnCopyMixin, reads_one_state

# Rows per copy-on-write block: forgetting one row copies one block of this many rows.
_BLOCK_SIZE = 512

# The statistics are double-double sums (skunlearn.utils._moments): a subtraction errs by about
# eps**2 ~ 1e-32 of the magnitudes it involves. A result below this fraction of them (an outlier
# removed from rows nearly equal) is recomputed from the stored retained rows. The magnitudes are
# those of the current call (the statistic before it and the rows it removes), never kept: a
# reference kept from an earlier state would carry rows forgotten since.
_CANCELLATION_GUARD = 1e-16


def cancelled(result, magnitude) -> np.ndarray:
    """Rows (classes) of ``result`` that may have lost digits to cancellation.

    ``result`` and ``magnitude`` have shape ``(n_classes, ...)``; a row is flagged when one of
    its entries is below ``_CANCELLATION_GUARD`` times its magnitude (an exact zero included:
    it may be a remainder that should be exactly zero).
    """
    result = np.abs(np.asarray(result, dtype=float))
    bad = result < _CANCELLATION_GUARD * np.abs(np.asarray(magnitude, dtype=float))
    return bad.reshape(bad.shape[0], -1).any(axis=1)


def subtract_counted(total, part) -> tuple:
    """``total - part`` for double-double sums kept as ``(hi, lo, support)``, ``support`` the
    number of rows holding a non-zero term: a sum left without such rows is exactly zero, not
    a rounding remainder of the rows removed."""
    hi, lo = dd_sub(total[:2], part[:2])
    support = total[2] - part[2]
    empty = support == 0
    return np.where(empty, 0.0, hi), np.where(empty, 0.0, lo), support


class _DecrementalNBMixin(UnlearnOnCopyMixin, UnlearnerMixin):
    """Fit, row storage, positions across batches and class bookkeeping for naive Bayes.

    Subclasses implement ``_start_statistics(X, y, sample_weight, declared)`` (a new model,
    from ``fit`` or the first ``partial_fit``) and ``_add_batch(X, y, sample_weight)`` (a later
    ``partial_fit`` batch), both after scikit-learn's own fit of the same rows, and
    ``_unlearn_aside(positions)`` (see :class:`~skunlearn.utils._state.UnlearnOnCopyMixin`).

    Fitted private state:

    - ``_store``: retained rows, columns ``X`` (as counted), ``code`` (index into
      ``_fit_classes``) and ``w`` (sample weight, ones when none was given);
    - ``_fit_classes``: the classes known when the model started (fit or first partial_fit);
    - ``_class_rows``: retained rows per class of ``_fit_classes``;
    - ``_classes_declared``: True when the model was started by ``partial_fit``;
    - ``_n_weighted``: retained rows of positive weight;
    - ``_batch_starts``: first position of each batch (fit counts as one batch).
    """

    def _prior_param(self):
        raise NotImplementedError

    # scikit-learn's code reads the fitted attributes one at a time to predict: a prediction
    # runs on a copy taken in one read (and an unlearn on a copy swapped in at once).
    predict = reads_one_state(_BaseNB.predict)
    predict_proba = reads_one_state(_BaseNB.predict_proba)
    predict_log_proba = reads_one_state(_BaseNB.predict_log_proba)
    predict_joint_log_proba = reads_one_state(_BaseNB.predict_joint_log_proba)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, keys=None):
        """Fit the classifier according to ``X``, ``y``.

        The rows get the positions ``0 .. n_samples - 1`` that :meth:`unlearn` takes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors (sparse where the scikit-learn estimator accepts it).

        y : array-like of shape (n_samples,)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples (1. for unweighted).

        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Returns the instance itself.
        """
        super().fit(X, y, sample_weight=sample_weight)
        self._start_statistics(X, y, sample_weight, declared=False)
        self._fit_keys(keys)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Incremental fit on a batch of samples.

        The batch's rows get the positions after the rows already seen, so they can be
        forgotten later like any other row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training vectors (sparse where the scikit-learn estimator accepts it).

        y : array-like of shape (n_samples,)
            Target values.

        classes : array-like of shape (n_classes,), default=None
            List of all the classes that can possibly appear in the y vector. Must be
            provided at the first call to partial_fit, can be omitted in subsequent calls.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples (1. for unweighted).

        Returns
        -------
        self : object
            Returns the instance itself.
        """
        first_call = getattr(self, "classes_", None) is None
        super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)
        if first_call:
            self._start_statistics(X, y, sample_weight, declared=True)
        else:
            self._add_batch(X, y, sample_weight)
        return self

    def _rows_as_counted(self, X, y):
        """X as the parent class counts it (validated, binarized, ...), and y."""
        return self._check_X_y(X, y, reset=False)

    def _start_rows(self, X, y, sample_weight, declared: bool) -> None:
        X, y = self._rows_as_counted(X, y)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self._fit_classes = np.asarray(self.classes_).copy()
        codes = np.searchsorted(self._fit_classes, y).astype(np.intp)
        self._store = RowStore.from_columns({"X": X, "code": codes, "w": w}, block_size=_BLOCK_SIZE)
        self._class_rows = np.bincount(codes, minlength=self._fit_classes.size)
        self._classes_declared = declared
        self._n_weighted = int(np.count_nonzero(w > 0))
        self._batch_starts = np.zeros(1, dtype=np.intp)
        self._reset_unlearning(X.shape[0])
        return X, codes, w

    def _append_rows(self, X, y, sample_weight):
        X, y = self._rows_as_counted(X, y)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        codes = np.searchsorted(self._fit_classes, y).astype(np.intp)
        first = self.n_samples_fit_
        self._store = self._store.appended({"X": X, "code": codes, "w": w}, first)
        self._class_rows = self._class_rows + np.bincount(codes, minlength=self._fit_classes.size)
        self._n_weighted += int(np.count_nonzero(w > 0))
        self._batch_starts = np.append(self._batch_starts, first)
        # Positions continue across batches; what was forgotten stays forgotten.
        self.n_samples_fit_ = first + X.shape[0]
        return X, codes, w

    def _batch_of(self, positions) -> np.ndarray:
        return np.searchsorted(self._batch_starts, positions, side="right") - 1

    def _batch_range(self, b: int) -> tuple[int, int]:
        stop = self._batch_starts[b + 1] if b + 1 < self._batch_starts.size else None
        return int(self._batch_starts[b]), (self.n_samples_fit_ if stop is None else int(stop))

    def _current_index(self, codes) -> np.ndarray:
        """Row of ``classes_`` of each fit-class code."""
        return np.searchsorted(np.asarray(self.classes_), self._fit_classes[codes])

    def _class_rows_after(self, codes) -> np.ndarray:
        return self._class_rows - np.bincount(codes, minlength=self._fit_classes.size)

    def _pop_rows(self, positions):
        """The forgotten rows' ``X``, class codes and weights, and the store without them."""
        rows, store, _ = self._store.pop(positions, ["X", "code", "w"])
        return rows["X"], rows["code"], rows["w"], store

    def _classes_after(self, codes):
        """Rows per fit class once rows of ``codes`` are gone, the mask of the current
        ``classes_`` that stay, and the classes that leave."""
        class_rows = self._class_rows_after(codes)
        kept = self._kept_classes(class_rows)
        return class_rows, kept, list(np.asarray(self.classes_)[~kept])

    def _forget_rows(self, store, class_rows, w_removed, recomputed, removed) -> dict:
        """Rebind the row bookkeeping after a removal and return the unlearning report."""
        self._store = store
        self._class_rows = class_rows
        self._n_weighted -= int(np.count_nonzero(w_removed > 0))
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": 0,
            "classes_recomputed": recomputed,
            "classes_removed": removed,
        }

    def _kept_classes(self, class_rows) -> np.ndarray:
        """Mask over the current ``classes_`` of the classes that stay after a removal."""
        if self._classes_declared:
            return np.ones(len(self.classes_), dtype=bool)
        # classes_ is a sorted subset of _fit_classes: the rows of the current classes.
        return class_rows[np.searchsorted(self._fit_classes, self.classes_)] > 0

    def _check_unlearn_feasible(self, positions):
        rows = self._store.take(positions, ["code", "w"])
        class_rows = self._class_rows_after(rows["code"])
        kept = self._kept_classes(class_rows)
        if not kept.all() and self._prior_param() is not None:
            gone = np.asarray(self.classes_)[~kept]
            raise ValueError(
                f"Unlearning these rows would forget every row of class(es) {_show(gone)}, "
                f"but the model fixes {len(self.classes_)} class priors, and a refit on the "
                "retained rows would reject them. Fit a new model with priors for the "
                "remaining classes, or start the model with partial_fit(classes=...) so that "
                "classes are kept."
            )
        if self._n_weighted - np.count_nonzero(rows["w"] > 0) == 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero "
                "sample weight, from which the model cannot estimate class frequencies."
            )

    def _estimate_unlearn_cost(self, positions):
        return {
            "samples_retrained": 0,
            "blocks_copied": len(self._store.blocks_touched(positions)),
        }

    def _gather(self, store, codes_wanted=None, batch=None):
        """``X``, class codes and weights of the retained rows of the wanted classes (all
        classes by default), optionally of one batch only, concatenated in position order."""
        lo, hi = (None, None) if batch is None else self._batch_range(batch)
        parts = []
        for block in store:
            sel = np.ones(len(block), dtype=bool)
            if lo is not None:
                sel &= (block.positions >= lo) & (block.positions < hi)
            if codes_wanted is not None:
                sel &= np.isin(block.data["code"], codes_wanted)
            if sel.any():
                parts.append({k: block.data[k][sel] for k in ("X", "code", "w")})
        if not parts:
            first = store.blocks[0].data
            return first["X"][:0], first["code"][:0], first["w"][:0]
        return tuple(concat_rows([p[k] for p in parts]) for k in ("X", "code", "w"))
