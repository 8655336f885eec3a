"""Multinomial, complement, Bernoulli and categorical naive Bayes that forget rows by
subtracting their counts."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.naive_bayes import BernoulliNB as _SkBernoulliNB
from sklearn.naive_bayes import CategoricalNB as _SkCategoricalNB
from sklearn.naive_bayes import ComplementNB as _SkComplementNB
from sklearn.naive_bayes import MultinomialNB as _SkMultinomialNB

from skunlearn.naive_bayes._base import _DecrementalNBMixin, cancelled, subtract_counted
from skunlearn.utils._moments import dd_add, dd_sums, two_prod

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "MultinomialNB"]


def _weighted(X, w):
    """``w * X`` row by row, and the rounding errors of the products (None when exact)."""
    if np.all(w == 1.0):
        return X, None
    if sp.issparse(X):
        X = X.tocoo()
        return two_prod(w[X.row], X.data)
    return two_prod(w[:, None], np.asarray(X, dtype=np.float64))


def _sums_by_class(X, class_index, w, n_classes) -> tuple:
    """Double-double sums of ``w * X`` per class, with how many rows hold each non-zero."""
    values, errors = _weighted(X, w)
    if not sp.issparse(X):
        return dd_sums(values, class_index, n_classes, corrections=errors, return_support=True)
    coo = X.tocoo()
    n_features = X.shape[1]
    if values is X:
        values = coo.data
    keys = class_index[coo.row] * n_features + coo.col
    sums = dd_sums(values, keys, n_classes * n_features, corrections=errors, return_support=True)
    return tuple(part.reshape(n_classes, n_features) for part in sums)


def _plus(total, part) -> tuple:
    """``total + part`` for ``(hi, lo, support)`` sums."""
    return (*dd_add(total[:2], part[:2]), total[2] + part[2])


def _select_rows(rows, new, fresh) -> tuple:
    """Per class (first axis), ``fresh`` where ``rows`` is True, else ``new``."""
    return tuple(
        np.where(rows.reshape((-1,) + (1,) * (a.ndim - 1)), f, a) for a, f in zip(new, fresh)
    )


class _DecrementalDiscreteNB(_DecrementalNBMixin):
    """Subtract-the-counts unlearning shared by the discrete naive Bayes classifiers.

    Each model's sufficient statistics are scikit-learn's own count attributes (one row per
    class). The model keeps the same counts as double-double sums (``_count_sums``: a list of
    ``(hi, lo, support)``, each of shape (n_classes, ...), ``support`` the rows holding a
    non-zero term), so that a subtraction leaves the counts of the retained rows to about
    1e-32 relative, with no trace of the rows removed: a float64 subtraction would keep its
    rounding error, of the order of the removed values, and could cancel the digits of a
    small remainder. A count without rows is exactly zero. Forgetting rows subtracts their
    sums and sets scikit-learn's counts to ``hi`` (the exact counts, rounded), from which
    scikit-learn's own code recomputes the smoothed log probabilities.
    """

    def _prior_param(self):
        return self.class_prior

    # -- the counts, one row per class -----------------------------------------------------

    def _set_count_arrays(self, arrays) -> None:
        """Set scikit-learn's count attributes from the ``hi`` of each ``_count_sums``."""
        self.class_count_, self.feature_count_ = arrays

    def _contributions(self, X, class_index, w, n_classes) -> list[tuple]:
        """The rows' counts as ``(hi, lo, support)`` sums, each of shape (n_classes, ...)."""
        return [
            dd_sums(w, class_index, n_classes, return_support=True),
            _sums_by_class(X, class_index, w, n_classes),
        ]

    def _refresh_derived(self) -> None:
        """Recompute what scikit-learn derives from the counts (rebinding attributes)."""
        with warnings.catch_warnings():
            # Already warned about at fit: a too small alpha is clipped the same way.
            warnings.simplefilter("ignore", UserWarning)
            alpha = self._check_alpha()
        self._update_feature_log_prob(alpha)
        self._update_class_log_prior(class_prior=self.class_prior)

    # -- fit -------------------------------------------------------------------------------

    def _start_statistics(self, X, y, sample_weight, declared):
        X, codes, w = self._start_rows(X, y, sample_weight, declared)
        index = self._current_index(codes)
        self._count_sums = self._contributions(X, index, w, len(self.classes_))
        self._start_batches(X)

    def _add_batch(self, X, y, sample_weight):
        X, codes, w = self._append_rows(X, y, sample_weight)
        self._after_batch(X)
        total = self._widened(self._count_sums)
        batch = self._contributions(X, self._current_index(codes), w, len(self.classes_))
        self._count_sums = [_plus(t, b) for t, b in zip(total, batch)]

    def _widened(self, sums):
        """The stored sums laid out for the count shapes of the batch just added."""
        return sums

    def _start_batches(self, X) -> None:
        """Per-batch statistics beyond the counts (none for most models)."""

    def _after_batch(self, X) -> None:
        """Update per-batch statistics after a partial_fit batch."""

    # -- unlearn ---------------------------------------------------------------------------

    def _unlearn_aside(self, positions):
        X_r, codes, w_r, store = self._pop_rows(positions)
        n_classes = len(self.classes_)
        class_index = self._current_index(codes)

        extra = self._batch_update(positions, X_r)
        removed = self._contributions(X_r, class_index, w_r, n_classes)
        new = [subtract_counted(t, r) for t, r in zip(self._count_sums, removed)]

        touched = np.zeros(n_classes, dtype=bool)
        touched[class_index] = True
        recompute = np.zeros(n_classes, dtype=bool)
        for after, before, part in zip(new, self._count_sums, removed):
            # Only where rows are left: an emptied count is exactly zero already.
            result = np.where(after[2] > 0, after[0], np.inf)
            recompute |= touched & cancelled(result, np.abs(before[0]) + np.abs(part[0]))
        if recompute.any():
            fresh = self._recount(store, np.flatnonzero(recompute), n_classes)
            new = [_select_rows(recompute, a, f) for a, f in zip(new, fresh)]

        class_rows, kept, removed_classes = self._classes_after(codes)
        new = self._trim([tuple(part[kept] for part in sums) for sums in new], extra)

        self.classes_ = np.asarray(self.classes_)[kept]
        self._set_count_arrays([hi for hi, _, _ in new])
        self._apply_batch_update(extra)
        self._refresh_derived()
        self._count_sums = new
        recomputed = list(self.classes_[recompute[kept]]) if recompute.any() else []
        return self._forget_rows(store, class_rows, w_r, recomputed, removed_classes)

    def _recount(self, store, classes_wanted, n_classes):
        """Sums of the retained rows of the wanted classes (other classes zero), from the
        store."""
        wanted = np.searchsorted(self._fit_classes, np.asarray(self.classes_)[classes_wanted])
        X, codes, w = self._gather(store, wanted)
        return self._contributions(X, self._current_index(codes), w, n_classes)

    def _batch_update(self, positions, X_r):
        """New per-batch statistics after removing rows (none for most models)."""
        return None

    def _apply_batch_update(self, extra) -> None:
        """Rebind the per-batch statistics computed by ``_batch_update``."""

    def _trim(self, sums, extra):
        """Adjust count shapes to the retained data (categorical widths)."""
        return sums


_DISCRETE_NOTES = """
    The model keeps its training rows (as counted, in blocks copied on write) to know what
    to subtract: memory grows like the training data, and forgotten rows leave the model's
    state. The counts are also kept as double-double sums (about 106 bits), so a subtraction
    leaves the counts of the retained rows to about 1e-32 relative, with no trace of the
    forgotten rows; a class whose counts still lost more than sixteen orders of magnitude in
    one request is recounted from the stored rows (reported as ``classes_recomputed``).
"""

_UNLEARN_ATTRIBUTES = """
    n_samples_fit_ : int
        Number of rows seen since the last :meth:`fit` (all batches of :meth:`partial_fit`
        included): positions passed to :meth:`unlearn` range over ``0 .. n_samples_fit_ - 1``.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``
        (always True), ``distance_bound`` (None), ``classes_recomputed``,
        ``classes_removed`` and ``seconds``.
"""


class MultinomialNB(_DecrementalDiscreteNB, _SkMultinomialNB):
    """Multinomial naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.MultinomialNB` with one more method,
    :meth:`unlearn`, which subtracts the forgotten rows' class and feature counts and
    recomputes the smoothed log probabilities and priors. The result equals scikit-learn's
    estimator fitted on the retained rows, at a cost that does not grow with the number of
    training rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing parameter (0 for no smoothing).

    force_alpha : bool, default=True
        If False and alpha is less than 1e-10, alpha is set to 1e-10.

    fit_prior : bool, default=True
        Whether to learn class prior probabilities or not. If false, a uniform prior is used.

    class_prior : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes. If specified, the priors are not adjusted
        according to the data.

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        Weighted number of rows of each class.

    class_log_prior_ : ndarray of shape (n_classes,)
        Smoothed empirical log probability for each class.

    classes_ : ndarray of shape (n_classes,)
        Class labels. A class whose rows are all forgotten leaves ``classes_`` if the model
        was built by :meth:`fit`; a model started by :meth:`partial_fit` keeps its classes.

    feature_count_ : ndarray of shape (n_classes, n_features)
        Weighted feature counts per class.

    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        Empirical log probability of features given a class, ``P(x_i|y)``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {unlearn_attributes}
    See Also
    --------
    sklearn.naive_bayes.MultinomialNB : The scikit-learn estimator this one extends.
    ComplementNB : Complement naive Bayes, also decremental.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.naive_bayes import MultinomialNB
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randint(5, size=(60, 8)), np.arange(60) % 3
    >>> clf = MultinomialNB().fit(X, y).unlearn([0, 1, 2])
    >>> ref = MultinomialNB().fit(X[3:], y[3:])
    >>> bool(np.array_equal(clf.feature_count_, ref.feature_count_))
    True
    """


class ComplementNB(_DecrementalDiscreteNB, _SkComplementNB):
    """Complement naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.ComplementNB` with one more method,
    :meth:`unlearn`, which subtracts the forgotten rows' counts, recomputes ``feature_all_``
    and the complement weights. The result equals scikit-learn's estimator fitted on the
    retained rows, at a cost that does not grow with the number of training rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing parameter (0 for no smoothing).

    force_alpha : bool, default=True
        If False and alpha is less than 1e-10, alpha is set to 1e-10.

    fit_prior : bool, default=True
        Only used in edge case with a single class in the training set.

    class_prior : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes. Only used with a single class.

    norm : bool, default=False
        Whether or not a second normalization of the weights is performed.

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        Weighted number of rows of each class.

    class_log_prior_ : ndarray of shape (n_classes,)
        Smoothed empirical log probability for each class (single-class edge case only).

    classes_ : ndarray of shape (n_classes,)
        Class labels. A class whose rows are all forgotten leaves ``classes_`` if the model
        was built by :meth:`fit`; a model started by :meth:`partial_fit` keeps its classes.

    feature_all_ : ndarray of shape (n_features,)
        Weighted feature counts over all classes.

    feature_count_ : ndarray of shape (n_classes, n_features)
        Weighted feature counts per class.

    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        Empirical weights for class complements.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {unlearn_attributes}
    See Also
    --------
    sklearn.naive_bayes.ComplementNB : The scikit-learn estimator this one extends.
    MultinomialNB : Multinomial naive Bayes, also decremental.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.naive_bayes import ComplementNB
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randint(5, size=(60, 8)), np.arange(60) % 3
    >>> clf = ComplementNB().fit(X, y).unlearn(np.arange(10))
    >>> ref = ComplementNB().fit(X[10:], y[10:])
    >>> bool(np.allclose(clf.feature_log_prob_, ref.feature_log_prob_, rtol=1e-12))
    True
    """

    def _refresh_derived(self):
        self.feature_all_ = self.feature_count_.sum(axis=0)
        super()._refresh_derived()


class BernoulliNB(_DecrementalDiscreteNB, _SkBernoulliNB):
    """Bernoulli naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.BernoulliNB` with one more method,
    :meth:`unlearn`, which subtracts the forgotten rows' (binarized) counts and recomputes the
    smoothed log probabilities and priors. Integer weights make the result identical to
    scikit-learn's estimator fitted on the retained rows; the cost does not grow with the
    number of training rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing parameter (0 for no smoothing).

    force_alpha : bool, default=True
        If False and alpha is less than 1e-10, alpha is set to 1e-10.

    binarize : float or None, default=0.0
        Threshold for binarizing (mapping to booleans) of sample features. If None, input is
        presumed to already consist of binary vectors. The rows are stored binarized.

    fit_prior : bool, default=True
        Whether to learn class prior probabilities or not.

    class_prior : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes.

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        Weighted number of rows of each class.

    class_log_prior_ : ndarray of shape (n_classes,)
        Log probability of each class (smoothed).

    classes_ : ndarray of shape (n_classes,)
        Class labels. A class whose rows are all forgotten leaves ``classes_`` if the model
        was built by :meth:`fit`; a model started by :meth:`partial_fit` keeps its classes.

    feature_count_ : ndarray of shape (n_classes, n_features)
        Weighted counts of each (class, feature) being one.

    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        Empirical log probability of features given a class, ``P(x_i|y)``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    {unlearn_attributes}
    See Also
    --------
    sklearn.naive_bayes.BernoulliNB : The scikit-learn estimator this one extends.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.naive_bayes import BernoulliNB
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randint(2, size=(60, 8)), np.arange(60) % 2
    >>> clf = BernoulliNB().fit(X, y).unlearn([5])
    >>> ref = BernoulliNB().fit(np.delete(X, 5, 0), np.delete(y, 5))
    >>> bool(np.array_equal(clf.predict_proba(X), ref.predict_proba(X)))
    True
    """


class CategoricalNB(_DecrementalDiscreteNB, _SkCategoricalNB):
    """Categorical naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.CategoricalNB` with one more method,
    :meth:`unlearn`, which subtracts the forgotten rows' category counts, shrinks
    ``n_categories_`` (and the width of ``category_count_``) when the highest category of a
    feature is only seen in forgotten rows, and recomputes the smoothed log probabilities.
    The result equals scikit-learn's estimator fitted on the retained rows, at a cost that
    does not grow with the number of training rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    alpha : float, default=1.0
        Additive (Laplace/Lidstone) smoothing parameter (0 for no smoothing).

    force_alpha : bool, default=True
        If False and alpha is less than 1e-10, alpha is set to 1e-10.

    fit_prior : bool, default=True
        Whether to learn class prior probabilities or not.

    class_prior : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes.

    min_categories : int or array-like of shape (n_features,), default=None
        Minimum number of categories per feature.

    Attributes
    ----------
    category_count_ : list of arrays of shape (n_features,)
        For each feature, an array of shape (n_classes, n_categories of that feature) with
        the weighted number of rows of each class and category.

    class_count_ : ndarray of shape (n_classes,)
        Weighted number of rows of each class.

    class_log_prior_ : ndarray of shape (n_classes,)
        Smoothed empirical log probability for each class.

    classes_ : ndarray of shape (n_classes,)
        Class labels. A class whose rows are all forgotten leaves ``classes_`` if the model
        was built by :meth:`fit`; a model started by :meth:`partial_fit` keeps its classes.

    feature_log_prob_ : list of arrays of shape (n_features,)
        For each feature, the empirical log probability of categories given a class.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_categories_ : ndarray of shape (n_features,), dtype=np.int64
        Number of categories for each feature (of the last batch, as in scikit-learn).
    {unlearn_attributes}
    See Also
    --------
    sklearn.naive_bayes.CategoricalNB : The scikit-learn estimator this one extends.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.naive_bayes import CategoricalNB
    >>> X = np.array([[0, 1], [1, 2], [2, 0], [0, 3], [1, 1], [2, 2]])
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> clf = CategoricalNB().fit(X, y).unlearn([3])  # the only row with category 3
    >>> clf.n_categories_.tolist(), clf.category_count_[1].shape
    ([3, 3], (2, 3))
    """

    # The category counts of all features are kept side by side, one row per class: column
    # ``offsets[i] + k`` counts category k of feature i, so that one pass handles every feature.

    def _set_count_arrays(self, arrays):
        self.class_count_, counts = arrays
        self.category_count_ = np.split(counts, np.cumsum(self._widths)[:-1], axis=1)

    def _contributions(self, X, class_index, w, n_classes):
        widths = self._widths
        offsets = np.cumsum(widths) - widths
        keys = (class_index[:, None] * widths.sum() + offsets + X).ravel()
        n_cells = n_classes * int(widths.sum())
        sums = dd_sums(np.repeat(w, X.shape[1]), keys, n_cells, return_support=True)
        return [
            dd_sums(w, class_index, n_classes, return_support=True),
            tuple(part.reshape(n_classes, -1) for part in sums),
        ]

    def _start_statistics(self, X, y, sample_weight, declared):
        self._widths = np.array([c.shape[1] for c in self.category_count_], dtype=np.intp)
        super()._start_statistics(X, y, sample_weight, declared)

    def _widened(self, sums):
        # scikit-learn's partial_fit widened category_count_ for the batch's new categories.
        widths = np.array([c.shape[1] for c in self.category_count_], dtype=np.intp)
        sums = [sums[0], _relaid(sums[1], self._widths, widths)]
        self._widths = widths
        return sums

    # Rows per category of each feature, per batch, as an array (n_features, width): the
    # width is the largest category still present in the batch, plus one, so that no trailing
    # column tells the largest category of forgotten rows. n_categories_ follows the largest
    # category still present (of the last batch, as scikit-learn's partial_fit does).
    @staticmethod
    def _category_rows(X) -> np.ndarray:
        X = np.asarray(X, dtype=np.intp)
        width = int(X.max()) + 1 if X.size else 0
        keys = (np.arange(X.shape[1]) * width + X).ravel()
        return np.bincount(keys, minlength=X.shape[1] * width).reshape(X.shape[1], width)

    def _start_batches(self, X):
        self._batch_category_rows = [self._category_rows(X)]

    def _after_batch(self, X):
        self._batch_category_rows = [*self._batch_category_rows, self._category_rows(X)]

    def _batch_update(self, positions, X_r):
        per_batch = list(self._batch_category_rows)
        batches = self._batch_of(positions)
        for b in np.unique(batches):
            rows = per_batch[b]
            n_features, width = rows.shape
            keys = (np.arange(n_features) * width + X_r[batches == b]).ravel()
            rows = rows - np.bincount(keys, minlength=rows.size).reshape(rows.shape)
            present = np.flatnonzero(rows.any(axis=0))
            per_batch[b] = rows[:, : present[-1] + 1 if present.size else 0]
        return per_batch

    def _apply_batch_update(self, per_batch):
        self._batch_category_rows = per_batch
        self.n_categories_ = self._n_categories(next(b for b in reversed(per_batch) if b.size))

    def _n_categories(self, category_rows) -> np.ndarray:
        # One past the last category with rows, per feature.
        highest = category_rows.shape[1] - np.argmax(category_rows[:, ::-1] > 0, axis=1)
        highest = highest.astype(np.int64)
        if self.min_categories is None:
            return highest
        return np.maximum(highest, np.asarray(self.min_categories), dtype=np.int64)

    def _trim(self, sums, per_batch):
        # scikit-learn widens category_count_ to the largest n_categories_ of any batch.
        widths = np.max([self._n_categories(b) for b in per_batch if b.size], axis=0)
        widths = widths.astype(np.intp)
        sums = [sums[0], _relaid(sums[1], self._widths, widths)]
        self._widths = widths
        return sums


def _relaid(sums, widths, new_widths) -> tuple:
    """Side-by-side per-feature blocks of columns, each cut or padded with zeros to its new
    width."""
    if np.array_equal(widths, new_widths):
        return sums
    cuts = np.cumsum(widths)[:-1]
    out = []
    for part in sums:
        blocks = []
        for block, width in zip(np.split(part, cuts, axis=1), new_widths):
            if block.shape[1] >= width:
                blocks.append(block[:, :width])
            else:
                pad = np.zeros((block.shape[0], width - block.shape[1]), dtype=block.dtype)
                blocks.append(np.hstack([block, pad]))
        out.append(np.hstack(blocks))
    return tuple(out)


for _cls in (MultinomialNB, ComplementNB, BernoulliNB, CategoricalNB):
    _cls.__doc__ = _cls.__doc__.format(
        unlearn_attributes=_UNLEARN_ATTRIBUTES.rstrip("\n"), notes=_DISCRETE_NOTES.rstrip(" ")
    )
