"""A SimpleImputer that forgets training rows: a drop-in for scikit-learn's.

scikit-learn does every fit and transform. The imputer keeps, besides the rows themselves (it is
told positions only, so it must know what the forgotten rows held), a per-feature structure from
which a row's value can be taken back out exactly:

- the count of present values of every feature (which features are empty, which have missing
  values for the indicator, and the constant strategy's dropped features);
- "mean": the sum of the present values as a double-double pair (:func:`dd_sums`), from which
  the forgotten values are subtracted almost exactly;
- "median": the sorted present values, from which the forgotten values are deleted;
- "most_frequent": the distinct present values with their counts, ties going to the smallest
  value as in scikit-learn.

Sparse input and callable strategies recompute the statistics from the retained rows.
"""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np
from scipy import sparse
from sklearn import impute as _ski
from sklearn.impute._base import _safe_min
from sklearn.utils._mask import _get_mask

from skunlearn.base import UnlearnerMixin
from skunlearn.utils._moments import dd_sub, dd_sums
from skunlearn.utils._rowstore import RowStore
from skunlearn.utils._state import UnlearnOnCopyMixin, reads_one_state

__all__ = ["SimpleImputer"]

# The parameters a fit's statistics depend on; unlearn uses their values at that fit.
_FIT_PARAMS = ("strategy", "missing_values", "fill_value", "keep_empty_features", "add_indicator")


def _remove_sorted(values: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """``values`` (sorted) without one occurrence of each of ``removed`` (all present in it)."""
    removed = np.sort(removed)
    # The i-th copy of a repeated value removes the i-th occurrence of it in ``values``.
    rank = np.arange(removed.size) - np.searchsorted(removed, removed, side="left")
    return np.delete(values, np.searchsorted(values, removed, side="left") + rank)


def _median(values: np.ndarray):
    n = values.size
    if n % 2:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


class _Counts:
    """Distinct present values of one feature and how often each occurs."""

    def __init__(self, column: np.ndarray):
        if column.dtype == object:
            self.values, self.counts = None, Counter(column.tolist())
        else:
            self.values, self.counts = np.unique(column, return_counts=True)

    def without(self, removed: np.ndarray) -> _Counts:
        new = copy.copy(self)
        if self.values is None:
            counts = self.counts.copy()
            counts.subtract(removed.tolist())
            new.counts = Counter({v: c for v, c in counts.items() if c > 0})
        else:
            gone, n_gone = np.unique(removed, return_counts=True)
            counts = self.counts.copy()
            counts[np.searchsorted(self.values, gone)] -= n_gone
            kept = counts > 0
            new.values, new.counts = self.values[kept], counts[kept]
        return new

    def mode(self):
        """The most frequent value, the smallest of those tied (None when empty)."""
        if self.values is None:
            if not self.counts:
                return None
            top = max(self.counts.values())
            return _safe_min([v for v, c in self.counts.items() if c == top])
        if self.counts.size == 0:
            return None
        return self.values[np.argmax(self.counts)]  # values are sorted: first is smallest


class SimpleImputer(UnlearnOnCopyMixin, UnlearnerMixin, _ski.SimpleImputer):
    """Impute missing values with a per-column statistic, and forget training rows exactly.

    A drop-in for :class:`sklearn.impute.SimpleImputer` (same parameters, fitted attributes,
    ``add_indicator``, ``keep_empty_features``, sparse input, DataFrames and ``set_output``)
    with :meth:`unlearn`. For dense input the statistics are taken apart, not recomputed:
    "mean" subtracts the forgotten values from an almost exact (double-double) sum, "median"
    deletes them from the sorted present values of each feature, "most_frequent" decrements
    their counts (ties go to the smallest value, as in scikit-learn) and "constant" only tracks
    which features are left without any value. Sparse input and a callable ``strategy``
    recompute the statistics from the retained rows.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    missing_values : int, float, str, np.nan, None or pandas.NA, default=np.nan
        The placeholder for missing values.

    strategy : str or callable, default='mean'
        "mean", "median", "most_frequent", "constant", or a callable of a 1d array.

    fill_value : str or numerical value, default=None
        The replacement with ``strategy="constant"`` (0 for numbers, "missing_value" for
        strings when None).

    copy : bool, default=True
        If False, impute in place where possible.

    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator` of the features that had missing
        values in the retained rows (updated by :meth:`unlearn`).

    keep_empty_features : bool, default=False
        Keep the features without any present value (imputed with 0, or ``fill_value``).

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        The imputation value of each feature, from the retained rows.

    indicator_ : :class:`~sklearn.impute.MissingIndicator` or None
        The indicator of missing values, if ``add_indicator``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``,
        ``distance_bound`` (None), ``seconds``, ``samples_retrained`` (0, or the retained rows
        for sparse input and callables), ``transform_changed`` and ``recomputed``.

    See Also
    --------
    skunlearn.compose.ColumnTransformer : Impute some columns, encode others, and unlearn.

    Notes
    -----
    Exactness: after :meth:`unlearn`, ``statistics_`` and ``indicator_`` equal those of a fit
    on the retained rows: bitwise for "median", "most_frequent" and "constant", to rounding
    (an ulp or so) for "mean". The retained rows are kept (the imputer is given positions, and
    must know what the forgotten rows held); forgotten rows are removed from them and from
    every statistic. :meth:`unlearn` uses the parameters of the last fit: ``set_params``
    afterwards changes the next fit, not what an unlearn computes.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.impute import SimpleImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 4.0], [7.0, np.nan], [9.0, 4.0]])
    >>> imp = SimpleImputer(strategy="median").fit(X)
    >>> imp.statistics_
    array([7., 4.])
    >>> imp.unlearn([3]).statistics_
    array([4., 3.])
    """

    # One read of the statistics per call: an unlearn swaps them at once.
    transform = reads_one_state(_ski.SimpleImputer.transform)
    inverse_transform = reads_one_state(_ski.SimpleImputer.inverse_transform)

    def fit(self, X, y=None, keys=None):
        """Fit the imputer on ``X`` and keep what :meth:`unlearn` needs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : None
            Ignored.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted imputer.
        """
        super().fit(X, y)
        # The array scikit-learn computed the statistics from (validated, NaN kept).
        X = self._validate_input(X, in_fit=True)
        self._fit_params = {name: getattr(self, name) for name in _FIT_PARAMS}
        self._store = RowStore.from_columns({"X": X})
        self._incremental = not sparse.issparse(X) and not callable(self.strategy)
        if self._incremental:
            self._summaries = self._summarize(X)
        self._reset_unlearning(X.shape[0], keys)
        return self

    # -- the per-feature structures ----------------------------------------------------------

    def _missing(self, X) -> np.ndarray:
        return _get_mask(X, self._fit_params["missing_values"])

    def _summarize(self, X) -> dict:
        mask = self._missing(X)
        summaries = {"n_present": (~mask).sum(axis=0)}
        strategy = self._fit_params["strategy"]
        if strategy == "mean":
            summaries["sums"] = dd_sums(np.where(mask, 0, X).astype(np.float64))
        elif strategy == "median":
            summaries["sorted"] = [np.sort(X[~mask[:, j], j]) for j in range(X.shape[1])]
        elif strategy == "most_frequent":
            summaries["counts"] = [_Counts(X[~mask[:, j], j]) for j in range(X.shape[1])]
        return summaries

    def _summaries_without(self, rows) -> dict:
        mask = self._missing(rows)
        old = self._summaries
        new = {"n_present": old["n_present"] - (~mask).sum(axis=0)}
        if "sums" in old:
            new["sums"] = dd_sub(old["sums"], dd_sums(np.where(mask, 0, rows).astype(np.float64)))
        if "sorted" in old:
            new["sorted"] = [
                _remove_sorted(values, rows[~mask[:, j], j])
                for j, values in enumerate(old["sorted"])
            ]
        if "counts" in old:
            new["counts"] = [
                counts.without(rows[~mask[:, j], j]) for j, counts in enumerate(old["counts"])
            ]
        return new

    def _statistics(self, summaries) -> np.ndarray:
        """``statistics_`` from the summaries, as scikit-learn's dense fit computes it."""
        params = self._fit_params
        n_present = summaries["n_present"]
        empty = n_present == 0
        keep_empty = params["keep_empty_features"]
        strategy = params["strategy"]
        if strategy == "mean":
            hi, lo = summaries["sums"]
            with np.errstate(invalid="ignore", divide="ignore"):
                stats = (hi + lo) / n_present
        elif strategy == "median":
            stats = np.array(
                [np.nan if v.size == 0 else _median(v) for v in summaries["sorted"]], dtype=object
            )
        elif strategy == "most_frequent":
            modes = [counts.mode() for counts in summaries["counts"]]
            stats = np.array([np.nan if m is None else m for m in modes], dtype=object)
        else:  # constant
            fill = params["fill_value"]
            if fill is None:
                fill = 0 if self._fill_dtype.kind in "iuf" else "missing_value"
            stats = np.full(n_present.size, fill, dtype=object)
            if not keep_empty:
                stats[empty] = np.nan
            return stats.astype(self.statistics_.dtype)
        stats = np.asarray(stats, dtype=object)
        stats[empty] = 0 if keep_empty else np.nan
        return stats.astype(self.statistics_.dtype)

    # -- unlearning ---------------------------------------------------------------------------

    def _unlearn_aside(self, positions):
        taken, store, _ = self._store.pop(positions, ["X"])
        old_statistics, old_indicator = self.statistics_, self.indicator_
        if self._incremental:
            summaries = self._summaries_without(taken["X"])
            self.statistics_ = self._statistics(summaries)
            self._summaries = summaries
            if old_indicator is not None:
                n_retained = store.positions().size
                indicator = copy.copy(old_indicator)
                indicator.features_ = np.flatnonzero(n_retained - summaries["n_present"])
                self.indicator_ = indicator
            recomputed, retrained = "statistics with the forgotten values taken out", 0
        else:
            self._refit_statistics(store.column("X"))
            recomputed, retrained = "statistics of the retained rows", len(store.positions())
        self._store = store
        changed = not _same_statistics(old_statistics, self.statistics_)
        if old_indicator is not None:
            changed = changed or not np.array_equal(
                old_indicator.features_, self.indicator_.features_
            )
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": retrained,
            "transform_changed": bool(changed),
            "recomputed": recomputed,
        }

    def _refit_statistics(self, X) -> None:
        """scikit-learn's own statistics of ``X`` (sparse input, callable strategies), with
        the parameters of the last fit."""
        params = self._fit_params
        current = {name: getattr(self, name) for name in _FIT_PARAMS}
        fill = params["fill_value"]
        if fill is None:
            fill = 0 if X.dtype.kind in "iuf" else "missing_value"
        try:
            for name, value in params.items():
                setattr(self, name, value)
            if sparse.issparse(X):
                # scikit-learn computes sparse statistics column by column, on CSC.
                fit, X = self._sparse_fit, X.tocsc()
            else:
                fit = self._dense_fit
            self.statistics_ = fit(X, params["strategy"], params["missing_values"], fill)
        finally:
            for name, value in current.items():
                setattr(self, name, value)

    def _estimate_unlearn_cost(self, positions):
        if self._incremental:
            return {"samples_retrained": 0}
        n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
        return {"samples_retrained": int(n_left)}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False  # the kept rows and summaries are NumPy arrays
        return tags


def _same_statistics(a, b) -> bool:
    """Whether two ``statistics_`` arrays hold the same values (NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return all(x == y or (x != x and y != y) for x, y in zip(a.tolist(), b.tolist()))
