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
from sklearn.utils.extmath import safe_sparse_dot

from skunlearn.naive_bayes._base import _DecrementalNBMixin, ill_conditioned

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "MultinomialNB"]


def _is_integral(X, w) -> bool:
    """True when every count built from these rows is an integer, hence exact in float64."""
    values = X.data if sp.issparse(X) else np.asarray(X)
    return bool(np.all(np.mod(values, 1) == 0) and np.all(np.mod(w, 1) == 0))


def _class_matrix(class_index, w, n_classes) -> np.ndarray:
    Y = np.zeros((class_index.size, n_classes))
    Y[np.arange(class_index.size), class_index] = w
    return Y


class _DecrementalDiscreteNB(_DecrementalNBMixin):
    """Subtract-the-counts unlearning shared by the discrete naive Bayes classifiers.

    Each model's sufficient statistics are scikit-learn's own count attributes (a list of
    arrays with one row per class, see ``_count_arrays``); forgetting rows subtracts the rows'
    counts and recomputes the smoothed log probabilities with scikit-learn's own code.
    Fitted private state, besides the mixin's: ``_count_ref`` (size of each count at its last
    exact computation, for the cancellation guard) and ``_integral`` (every stored value and
    weight is an integer, so subtraction is exact and the guard is off).
    """

    _SCALAR_COUNTS = ("class_count_",)

    def _prior_param(self):
        return self.class_prior

    # -- the count arrays, one row per class -----------------------------------------------

    def _count_arrays(self) -> list[np.ndarray]:
        return [self.class_count_, self.feature_count_]

    def _set_count_arrays(self, arrays) -> None:
        self.class_count_, self.feature_count_ = arrays

    def _contributions(self, X, class_index, w, n_classes) -> list[np.ndarray]:
        Y = _class_matrix(class_index, w, n_classes)
        return [Y.sum(axis=0), np.asarray(safe_sparse_dot(Y.T, X), dtype=np.float64)]

    def _refresh_derived(self) -> None:
        """Recompute what scikit-learn derives from the counts (rebinding attributes)."""
        with warnings.catch_warnings():
            # Already warned about at fit: a too small alpha is clipped the same way.
            warnings.simplefilter("ignore", UserWarning)
            alpha = self._check_alpha()
        self._update_feature_log_prob(alpha)
        self._update_class_log_prior(class_prior=self.class_prior)

    # -- fit -------------------------------------------------------------------------------

    def _add_batch(self, X, y, sample_weight):
        X, _, w = self._append_rows(X, y, sample_weight)
        self._integral = self._integral and _is_integral(X, w)
        self._after_batch(X)
        # Adding never cancels: the counts now set the scale of later subtractions.
        self._count_ref = [_max_padded(r, a) for r, a in zip(self._count_ref, self._count_arrays())]

    def _start_statistics(self, X, y, sample_weight, declared):
        X, _, w = self._start_rows(X, y, sample_weight, declared)
        self._integral = _is_integral(X, w)
        self._count_ref = [np.array(a, dtype=float, copy=True) for a in self._count_arrays()]
        self._start_batches(X)

    def _start_batches(self, X) -> None:
        """Per-batch statistics beyond the counts (none for most models)."""

    def _after_batch(self, X) -> None:
        """Update per-batch statistics after a partial_fit batch."""

    # -- unlearn ---------------------------------------------------------------------------

    def _unlearn(self, positions):
        X_r, codes, w_r, store = self._pop_rows(positions)
        n_classes = len(self.classes_)
        class_index = self._current_index(codes)

        extra = self._batch_update(positions, X_r)
        arrays = [np.asarray(a, dtype=float) for a in self._count_arrays()]
        delta = self._contributions(X_r, class_index, w_r, n_classes)
        new = [a - d for a, d in zip(arrays, delta)]
        refs = list(self._count_ref)

        recompute = np.zeros(n_classes, dtype=bool)
        if not self._integral:
            touched = np.zeros(n_classes, dtype=bool)
            touched[class_index] = True
            for a, r in zip(new, refs):
                recompute |= touched & ill_conditioned(a, r)
        if recompute.any():
            fresh = self._recount(store, np.flatnonzero(recompute), n_classes)
            new = [np.where(_rows_mask(recompute, a), f, a) for a, f in zip(new, fresh)]
            refs = [np.where(_rows_mask(recompute, r), f, r) for r, f in zip(refs, fresh)]

        class_rows, kept, removed = self._classes_after(codes)
        new = [a[kept] for a in new]
        refs = [r[kept] for r in refs]
        new, refs = self._trim(new, refs, extra)

        self.classes_ = np.asarray(self.classes_)[kept]
        self._set_count_arrays(new)
        self._apply_batch_update(extra)
        self._refresh_derived()
        self._count_ref = refs
        recomputed = list(self.classes_[recompute[kept]]) if recompute.any() else []
        return self._forget_rows(store, class_rows, w_r, recomputed, removed)

    def _recount(self, store, classes_wanted, n_classes):
        """Counts of the retained rows of the wanted classes (other rows zero), from the store."""
        wanted_codes = np.searchsorted(self._fit_classes, np.asarray(self.classes_)[classes_wanted])
        total = None
        for block in store:
            sel = np.isin(block.data["code"], wanted_codes)
            if not sel.any():
                continue
            X_b = block.data["X"][sel]
            part = self._contributions(
                X_b, self._current_index(block.data["code"][sel]), block.data["w"][sel], n_classes
            )
            total = part if total is None else [t + p for t, p in zip(total, part)]
        if total is None:
            total = [np.zeros_like(np.asarray(a, dtype=float)) for a in self._count_arrays()]
        return total

    def _batch_update(self, positions, X_r):
        """New per-batch statistics after removing rows (none for most models)."""
        return None

    def _apply_batch_update(self, extra) -> None:
        """Rebind the per-batch statistics computed by ``_batch_update``."""

    def _trim(self, new, refs, extra):
        """Adjust count shapes to the retained data (categorical widths)."""
        return new, refs


def _rows_mask(rows: np.ndarray, like: np.ndarray) -> np.ndarray:
    return rows.reshape((-1,) + (1,) * (like.ndim - 1))


def _max_padded(ref, current):
    current = np.asarray(current, dtype=float)
    if ref.shape != current.shape:  # a categorical feature grew new categories
        padded = np.zeros_like(current)
        padded[tuple(slice(0, s) for s in ref.shape)] = ref
        ref = padded
    return np.maximum(ref, current)


_DISCRETE_NOTES = """
    The model keeps its training rows (as counted, in blocks copied on write) to know what
    to subtract: memory grows like the training data, and forgotten rows leave the model's
    state. Counts of integer data with integer weights are subtracted exactly; otherwise a
    class whose counts lost more than six orders of magnitude to the subtraction is recounted
    from the stored rows (reported as ``classes_recomputed``).
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

    def _count_arrays(self):
        return [self.class_count_, *self.category_count_]

    def _set_count_arrays(self, arrays):
        self.class_count_ = arrays[0]
        self.category_count_ = list(arrays[1:])

    def _contributions(self, X, class_index, w, n_classes):
        out = [np.bincount(class_index, weights=w, minlength=n_classes).astype(float)]
        for i, counts in enumerate(self.category_count_):
            width = counts.shape[1]
            flat = np.bincount(
                class_index * width + X[:, i], weights=w, minlength=n_classes * width
            )
            out.append(flat.reshape(n_classes, width))
        return out

    # Rows per category value of each feature, per batch: n_categories_ follows the largest
    # category still present (of the last batch, as scikit-learn's partial_fit does).
    def _category_rows(self, X):
        return [np.bincount(X[:, i]) for i in range(X.shape[1])]

    def _start_batches(self, X):
        self._batch_category_rows = [self._category_rows(X)]

    def _after_batch(self, X):
        self._batch_category_rows = [*self._batch_category_rows, self._category_rows(X)]

    def _batch_update(self, positions, X_r):
        per_batch = list(self._batch_category_rows)
        batches = self._batch_of(positions)
        for b in np.unique(batches):
            sel = batches == b
            per_batch[b] = [
                rows - np.bincount(X_r[sel, i], minlength=rows.size)
                for i, rows in enumerate(per_batch[b])
            ]
        return per_batch

    def _apply_batch_update(self, per_batch):
        self._batch_category_rows = per_batch
        self.n_categories_ = self._n_categories(
            next(b for b in reversed(per_batch) if b[0].sum() > 0)
        )

    def _n_categories(self, category_rows) -> np.ndarray:
        highest = np.array([np.flatnonzero(r)[-1] + 1 for r in category_rows], dtype=np.int64)
        if self.min_categories is None:
            return highest
        return np.maximum(highest, np.asarray(self.min_categories), dtype=np.int64)

    def _trim(self, new, refs, per_batch):
        # scikit-learn widens category_count_ to the largest n_categories_ of any batch.
        widths = np.max([self._n_categories(b) for b in per_batch if b[0].sum() > 0], axis=0)
        new = [new[0], *(a[:, :w] for a, w in zip(new[1:], widths))]
        refs = [refs[0], *(r[:, :w] for r, w in zip(refs[1:], widths))]
        return new, refs


for _cls in (MultinomialNB, ComplementNB, BernoulliNB, CategoricalNB):
    _cls.__doc__ = _cls.__doc__.format(
        unlearn_attributes=_UNLEARN_ATTRIBUTES.rstrip("\n"), notes=_DISCRETE_NOTES.rstrip(" ")
    )
