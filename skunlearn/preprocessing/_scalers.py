"""Scalers that forget rows exactly: drop-ins for scikit-learn's StandardScaler, MinMaxScaler and
MaxAbsScaler.

Each subclasses scikit-learn's scaler (same parameters, fitted attributes, ``partial_fit``,
``sample_weight`` and NaN handling: scikit-learn still does every fit) and adds ``unlearn``:

- ``StandardScaler`` splits the forgotten rows' weighted count, mean and centred second moment
  off the fitted ones, per feature and NaN-aware (:mod:`skunlearn.utils._moments`);
- ``MinMaxScaler`` and ``MaxAbsScaler`` keep per-block extremes of the rows
  (:class:`~skunlearn.preprocessing._extremes.BlockExtremes`) and rescan only what a forgotten
  row could have been the extreme of.

The rows themselves are kept in a :class:`~skunlearn.utils._rowstore.RowStore`, from which
forgotten rows are removed.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn import preprocessing as _sk
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils.validation import FLOAT_DTYPES, _check_sample_weight, check_array

from skunlearn.preprocessing._base import DecrementalTransformerMixin
from skunlearn.preprocessing._extremes import BlockExtremes
from skunlearn.utils._moments import Moments, merge_moments, moments_of, recentred, split_moments
from skunlearn.utils._rowstore import RowStore
from skunlearn.utils._state import reads_one_state

__all__ = ["MaxAbsScaler", "MinMaxScaler", "StandardScaler"]


def _as_rows(X, accept_sparse=False):
    """``X`` as the scaler's ``partial_fit`` validated it (float dtype kept, NaN allowed)."""
    return check_array(
        X, accept_sparse=accept_sparse, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan"
    )


def _dense(rows) -> np.ndarray:
    return rows.toarray() if sparse.issparse(rows) else np.asarray(rows)


def _is_constant(var, mean, n_samples):
    """scikit-learn's ``_is_constant_feature`` (the error bound of the two-pass variance, Chan,
    Golub and LeVeque), for NumPy arrays only: its array-API dispatch costs more than the rest
    of a one-row unlearn."""
    eps = np.finfo(np.float64).eps
    return var <= n_samples * eps * var + (n_samples * mean * eps) ** 2


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a, b, equal_nan=True)


def _counts_like(counts: np.ndarray, like):
    """Per-feature counts in the dtype of ``like`` (scikit-learn's ``n_samples_seen_``),
    reduced to a scalar when equal across features, as scikit-learn does."""
    dtype = np.asarray(like).dtype
    if dtype.kind in "iu":
        counts = np.rint(counts)
    counts = counts.astype(dtype)
    return counts[0] if counts.max() == counts.min() else counts


# Splitting rows off a second moment subtracts large numbers; when what is left is below this
# fraction of what was there, too few digits survive and the feature is recomputed instead.
_CANCELLED = 1e-6

_UNLEARN_DOC = """
    Unlearning: :meth:`unlearn` forgets rows by their position among the rows seen since the
    last :meth:`fit` (``fit`` numbers its rows from 0; each :meth:`partial_fit` call numbers its
    rows after those already seen). The fitted attributes then equal those of a fit on the
    retained rows. The rows are kept, in blocks, to be taken back out; forgotten rows are
    removed from them.
"""

_BOOKKEEPING_DOC = """
    n_samples_fit_ : int
        Number of rows seen since the last :meth:`fit` (including :meth:`partial_fit` calls),
        forgotten ones included; positions run over ``0 .. n_samples_fit_ - 1``.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``,
        ``distance_bound`` (None), ``seconds``, ``samples_retrained`` (0),
        ``transform_changed`` (whether :meth:`transform` now gives other values) and
        ``recomputed`` (what was recomputed).
"""


class StandardScaler(DecrementalTransformerMixin, _sk.StandardScaler):
    """Standardize features, and forget training rows exactly.

    A drop-in for :class:`sklearn.preprocessing.StandardScaler` (same parameters, fitted
    attributes, ``partial_fit``, ``sample_weight``, sparse input with ``with_mean=False`` and
    NaN handling) with :meth:`unlearn`. Forgetting ``k`` rows costs ``O(k d)`` plus copying the
    ``O(sqrt(n))`` rows kept beside each of them, whatever ``n``: the rows' weighted count, mean
    and centred second moment are split off the fitted ones per feature, counting for each
    feature only the rows where it is not missing.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    copy : bool, default=True
        If False, try to scale in place in :meth:`transform`.

    with_mean : bool, default=True
        Center the data before scaling (not possible for sparse input).

    with_std : bool, default=True
        Scale the data to unit variance.

    Attributes
    ----------
    scale_ : ndarray of shape (n_features,) or None
        Per-feature scaling, ``sqrt(var_)`` with near-constant features left unscaled; None
        when ``with_std=False``.

    mean_ : ndarray of shape (n_features,) or None
        Per-feature mean of the retained rows; None when neither centering nor scaling.

    var_ : ndarray of shape (n_features,) or None
        Per-feature (biased, weighted) variance of the retained rows; None when
        ``with_std=False``.

    n_samples_seen_ : int, float or ndarray of shape (n_features,)
        Number (or total weight) of retained rows per feature, counting only non-missing
        entries; a scalar when equal for every feature.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {bookkeeping}
    See Also
    --------
    MinMaxScaler : Scale features to a range, forgetting rows exactly.
    skunlearn.pipeline.Pipeline : Unlearn through every step of a pipeline.

    Notes
    -----
    {unlearning}
    The statistics are merged and split with Chan, Golub and LeVeque's centred formulas, which do
    not cancel catastrophically when the mean is large compared with the spread. They equal a
    refit up to floating-point rounding (about ``1e-12`` relative for well-conditioned data);
    a request removing more rows than it keeps recomputes them from the retained rows instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.preprocessing import StandardScaler
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0], [6.0, 9.0]])
    >>> scaler = StandardScaler().fit(X)
    >>> scaler.mean_
    array([3.  , 5.25])
    >>> scaler.unlearn([3]).mean_
    array([2., 4.])
    >>> bool(np.allclose(scaler.var_, X[:3].var(axis=0)))
    True
    >>> scaler.n_samples_seen_
    np.float64(3.0)
    """

    # One read of the statistics per call: an unlearn in another thread swaps them at once.
    transform = reads_one_state(_sk.StandardScaler.transform)
    inverse_transform = reads_one_state(_sk.StandardScaler.inverse_transform)

    def fit(self, X, y=None, sample_weight=None, keys=None):
        """Compute the statistics of ``X``, whose rows get the positions ``0 .. n - 1``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Individual weights for each row.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        super().fit(X, y, sample_weight)
        self._fit_keys(keys)
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the statistics with a batch of rows, numbered after the rows already seen.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Individual weights for each row.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        first = not hasattr(self, "n_samples_seen_")
        super().partial_fit(X, y, sample_weight)
        rows = _as_rows(X, accept_sparse=("csr", "csc"))
        weights = (
            np.ones(rows.shape[0])
            if sample_weight is None
            else _check_sample_weight(sample_weight, rows, dtype=np.float64)
        )
        batch = RowStore.from_columns({"X": rows, "w": weights}, start=self._next_position(first))
        self._add_batch(batch, first)
        self._n_positive_weight = int(np.count_nonzero(weights > 0)) + (
            0 if first else self._n_positive_weight
        )
        if first:
            self._shift = (
                np.zeros(rows.shape[1])
                if self.mean_ is None or sparse.issparse(rows)
                else np.nan_to_num(np.asarray(self.mean_, dtype=np.float64))
            )
        if sparse.issparse(rows):
            # Centering sparse rows would densify them: take scikit-learn's statistics.
            self._moments = self._moments_from_attributes()
        else:
            moments = self._moments_of_rows(rows, weights)
            if not first:
                moments = merge_moments(Moments(*self._moments), moments)
            self._moments = tuple(moments)
        return self

    # The moments are kept about a shift (the mean of the first batch, then after every
    # unlearn the retained mean, see recentred): the shifted data has a mean near zero, known
    # to full precision, so splitting rows off does not lose the digits that a large mean would
    # swamp (the error stays relative to the spread, not to the mean). Moving the shift on
    # unlearn matters for the purge: a shift that still averaged forgotten rows would give
    # their sum away (n times the shift minus the retained rows). The state keeps a plain tuple
    # ``(weight, mean - shift, centred second moment)``, which pickles whatever Moments does.

    def _moments_from_attributes(self) -> tuple:
        """The fitted statistics as moments about the shift."""
        d = self.n_features_in_
        n = np.broadcast_to(np.asarray(self.n_samples_seen_, dtype=np.float64), (d,)).copy()
        mean = np.zeros(d) if self.mean_ is None else np.asarray(self.mean_, dtype=np.float64)
        m2 = np.zeros(d) if self.var_ is None else np.asarray(self.var_, dtype=np.float64) * n
        return (n, np.nan_to_num(mean) - self._shift, np.nan_to_num(m2))

    def _moments_of_rows(self, rows, weights, features=None) -> Moments:
        """Moments of ``rows`` (of ``features`` only if given) about the shift, counted per
        feature as scikit-learn counts."""
        shift = self._shift
        if features is not None:
            rows, shift = rows[:, features], shift[features]
        dense = _dense(rows)
        if self.mean_ is None and not sparse.issparse(rows):
            # scikit-learn counts dense rows without weights when it neither centers nor scales.
            weights = np.ones_like(weights)
        if self.mean_ is None:
            n = weights @ ~np.isnan(dense)
            return Moments(n, np.zeros_like(n), np.zeros_like(n))
        return moments_of(dense, weights, shift=shift, ignore_nan=True)

    def _check_unlearn_feasible(self, positions):
        if self._n_positive_weight == self.n_samples_fit_ - self.unlearned_indices_.size:
            return  # every retained row weighs: any request that leaves rows is feasible
        weights = self._store.take(positions, ["w"])["w"]
        if self._n_positive_weight - np.count_nonzero(weights > 0) <= 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero sample "
                "weight, from which no statistics can be computed."
            )

    def _unlearn_aside(self, positions):
        taken, store, _ = self._store.pop(positions)
        rows, weights = taken["X"], taken["w"]
        n_left = self._n_retained_after(positions)
        if positions.size > n_left and not sparse.issparse(rows):
            # Splitting off most of the rows would amplify rounding; the rest is smaller anyway.
            kept = self._moments_of_rows(store.column("X"), store.column("w"))
            recomputed = "statistics of the retained rows"
        else:
            total = Moments(*self._moments)
            kept = split_moments(total, self._moments_of_rows(rows, weights))
            recomputed = "statistics split off the forgotten rows"
            # Where the retained spread is a tiny remainder of the fitted one (the rows left
            # are nearly or exactly equal), the split has lost the digits that matter: those
            # features are recomputed from the retained rows, as a refit would compute them.
            cancelled = np.flatnonzero((kept.m2 <= _CANCELLED * total.m2) & (kept.n > 0))
            if cancelled.size and self.var_ is not None:
                retained = store.column("X"), store.column("w")
                redo = self._moments_of_rows(*retained, features=cancelled)
                kept = Moments(*(np.array(a, dtype=np.float64) for a in kept))
                for a, b in zip(kept, redo):
                    a[cancelled] = b
                recomputed += f"; features {cancelled.tolist()} from the retained rows"
        n, shifted_mean, m2 = kept
        with np.errstate(invalid="ignore", divide="ignore"):
            # A feature left without any value has no mean or variance, as in a refit.
            mean = np.where(n > 0, self._shift + shifted_mean, np.nan)
            var = np.where(n > 0, m2 / n, np.nan)
        kept, shift = recentred(Moments(n, shifted_mean, m2), self._shift)

        old = (self.mean_, self.scale_)
        counts = _counts_like(n, self.n_samples_seen_)
        if self.mean_ is not None:
            self.mean_ = mean.astype(self.mean_.dtype, copy=False)
        if self.var_ is not None:
            self.var_ = var.astype(self.var_.dtype, copy=False)
            constant = _is_constant(self.var_, self.mean_, counts)
            self.scale_ = _handle_zeros_in_scale(
                np.sqrt(self.var_), copy=False, constant_mask=constant
            )
        self.n_samples_seen_ = counts
        self._store = store
        self._n_positive_weight -= int(np.count_nonzero(weights > 0))
        self._shift = shift
        self._moments = (kept.n, np.asarray(kept.mean), np.asarray(kept.m2))
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": 0,
            "transform_changed": not (_same(old[0], self.mean_) and _same(old[1], self.scale_)),
            "recomputed": recomputed,
        }


StandardScaler.__doc__ = StandardScaler.__doc__.format(
    bookkeeping=_BOOKKEEPING_DOC, unlearning=_UNLEARN_DOC.strip()
)


class _ExtremesScalerMixin(DecrementalTransformerMixin):
    """Shared by the scalers fitted from per-feature extremes (MinMaxScaler, MaxAbsScaler)."""

    _accept_sparse = False

    def fit(self, X, y=None, keys=None):
        """Compute the statistics of ``X``, whose rows get the positions ``0 .. n - 1``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        super().fit(X, y)
        self._fit_keys(keys)
        return self

    def partial_fit(self, X, y=None):
        """Update the extremes with a batch of rows, numbered after the rows already seen.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows (sparse only for :class:`MaxAbsScaler`).
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        first = not hasattr(self, "n_samples_seen_")
        super().partial_fit(X, y)
        rows = _as_rows(X, accept_sparse=("csr", "csc") if self._accept_sparse else False)
        batch = RowStore.from_columns({"X": rows}, start=self._next_position(first))
        extremes = BlockExtremes.of(batch)
        self._add_batch(batch, first)
        self._extremes = extremes if first else self._extremes.append(extremes)
        return self

    def _stale_features(self, rows) -> np.ndarray:
        """Features whose fitted extreme a forgotten row attained, or that have none."""
        raise NotImplementedError

    def _set_extremes(self, stale, new_min, new_max) -> bool:
        """Set the fitted attributes from the new extremes of the ``stale`` features (the
        others keep theirs); return whether :meth:`transform` changed."""
        raise NotImplementedError

    def _unlearn_aside(self, positions):
        taken, store, touched = self._store.pop(positions)
        rows = _dense(taken["X"])
        extremes = self._extremes.after_removal(store, touched, rows)
        # Only these features are recomputed, from the block summaries.
        stale = self._stale_features(rows)
        changed = self._set_extremes(stale, *extremes.overall(stale))
        self.n_samples_seen_ = self.n_samples_seen_ - positions.size
        self._store, self._extremes = store, extremes
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": 0,
            "transform_changed": changed,
            "recomputed": {"features": stale.tolist()},
        }


class MinMaxScaler(_ExtremesScalerMixin, _sk.MinMaxScaler):
    """Scale each feature to a given range, and forget training rows exactly.

    A drop-in for :class:`sklearn.preprocessing.MinMaxScaler` (same parameters, fitted
    attributes, ``partial_fit`` and NaN handling) with :meth:`unlearn`. The minimum of what is
    left cannot be obtained by subtraction, so the rows are kept in blocks of about
    ``sqrt(n)`` rows with each block's per-feature minimum and maximum: forgetting a row
    rescans the features of its block where it was the block's extreme, and the overall
    extremes are recomputed from the block summaries only for the features where it was the
    overall extreme. The result is bitwise identical to a refit on the retained rows.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
        Desired range of transformed data.

    copy : bool, default=True
        Set to False to scale in place in :meth:`transform`.

    clip : bool, default=False
        Clip transformed values of held-out data to ``feature_range``.

    Attributes
    ----------
    min_ : ndarray of shape (n_features,)
        Per-feature adjustment for minimum, ``min - data_min_ * scale_``.

    scale_ : ndarray of shape (n_features,)
        Per-feature relative scaling, ``(max - min) / data_range_``.

    data_min_ : ndarray of shape (n_features,)
        Per-feature minimum of the retained rows (NaN ignored).

    data_max_ : ndarray of shape (n_features,)
        Per-feature maximum of the retained rows (NaN ignored).

    data_range_ : ndarray of shape (n_features,)
        Per-feature range ``data_max_ - data_min_``.

    n_features_in_ : int
        Number of features seen during fit.

    n_samples_seen_ : int
        Number of retained rows.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {bookkeeping}
    See Also
    --------
    MaxAbsScaler : Scale by the maximum absolute value, forgetting rows exactly.

    Notes
    -----
    {unlearning}
    Memory: one copy of the rows (which are needed, since any of them may become the new
    extreme) plus two summaries per block of about ``sqrt(n)`` rows; no sorted copy.

    Examples
    --------
    >>> from skunlearn.preprocessing import MinMaxScaler
    >>> X = [[-1.0, 2.0], [-0.5, 6.0], [0.0, 10.0], [1.0, 18.0]]
    >>> scaler = MinMaxScaler().fit(X)
    >>> scaler.data_max_
    array([ 1., 18.])
    >>> scaler.unlearn([3]).data_max_
    array([ 0., 10.])
    >>> scaler.unlearn_report_["transform_changed"]
    True
    """

    transform = reads_one_state(_sk.MinMaxScaler.transform)
    inverse_transform = reads_one_state(_sk.MinMaxScaler.inverse_transform)

    def _stale_features(self, rows):
        return np.flatnonzero(
            np.any(rows == self.data_min_, axis=0)
            | np.any(rows == self.data_max_, axis=0)
            | np.isnan(self.data_min_)
        )

    def _set_extremes(self, stale, new_min, new_max):
        data_min, data_max = self.data_min_, self.data_max_
        if stale.size:
            data_min, data_max = data_min.copy(), data_max.copy()
            data_min[stale], data_max[stale] = new_min, new_max
        changed = not (_same(data_min, self.data_min_) and _same(data_max, self.data_max_))
        if changed:
            # scikit-learn's formulas, in the data's dtype, so that the result is bitwise a refit's.
            low = np.asarray(self.feature_range[0], dtype=data_min.dtype)
            high = np.asarray(self.feature_range[1], dtype=data_min.dtype)
            data_range = data_max - data_min
            self.scale_ = (high - low) / _handle_zeros_in_scale(data_range, copy=True)
            self.min_ = low - data_min * self.scale_
            self.data_min_, self.data_max_, self.data_range_ = data_min, data_max, data_range
        return changed


class MaxAbsScaler(_ExtremesScalerMixin, _sk.MaxAbsScaler):
    """Scale each feature by its maximum absolute value, and forget training rows exactly.

    A drop-in for :class:`sklearn.preprocessing.MaxAbsScaler` (same parameters, fitted
    attributes, ``partial_fit``, sparse input and NaN handling) with :meth:`unlearn`. As for
    :class:`MinMaxScaler`, the rows are kept in blocks with per-block extremes, and forgetting a
    row recomputes only what it could have been the extreme of; the result is bitwise identical
    to a refit on the retained rows.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    copy : bool, default=True
        Set to False to scale in place in :meth:`transform`.

    clip : bool, default=False
        Clip transformed values of held-out data to ``[-1, 1]``.

    Attributes
    ----------
    scale_ : ndarray of shape (n_features,)
        Per-feature relative scaling of the data.

    max_abs_ : ndarray of shape (n_features,)
        Per-feature maximum absolute value of the retained rows (NaN ignored).

    n_features_in_ : int
        Number of features seen during fit.

    n_samples_seen_ : int
        Number of retained rows.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {bookkeeping}
    See Also
    --------
    MinMaxScaler : Scale features to a range, forgetting rows exactly.

    Notes
    -----
    {unlearning}
    Sparse rows are kept sparse; as in scikit-learn, a feature's implicit zeros take part in
    its extremes.

    Examples
    --------
    >>> from skunlearn.preprocessing import MaxAbsScaler
    >>> X = [[1.0, -1.0, 2.0], [2.0, 0.0, 0.0], [0.0, 1.0, -1.0]]
    >>> scaler = MaxAbsScaler().fit(X)
    >>> scaler.max_abs_
    array([2., 1., 2.])
    >>> scaler.unlearn([0]).max_abs_
    array([2., 1., 1.])
    """

    _accept_sparse = True

    transform = reads_one_state(_sk.MaxAbsScaler.transform)
    inverse_transform = reads_one_state(_sk.MaxAbsScaler.inverse_transform)

    def _stale_features(self, rows):
        hit = np.any(np.abs(rows) == self.max_abs_, axis=0)
        return np.flatnonzero(hit | np.isnan(self.max_abs_))

    def _set_extremes(self, stale, new_min, new_max):
        max_abs = self.max_abs_
        if stale.size:
            max_abs = max_abs.copy()
            max_abs[stale] = np.maximum(np.abs(new_min), np.abs(new_max))
        changed = not _same(max_abs, self.max_abs_)
        if changed:
            self.max_abs_ = max_abs
            self.scale_ = _handle_zeros_in_scale(max_abs, copy=True)
        return changed


for _cls in (MinMaxScaler, MaxAbsScaler):
    _cls.__doc__ = _cls.__doc__.format(
        bookkeeping=_BOOKKEEPING_DOC, unlearning=_UNLEARN_DOC.strip()
    )
