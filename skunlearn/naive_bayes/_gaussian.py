"""Gaussian naive Bayes that forgets rows by subtracting their power sums."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.naive_bayes import GaussianNB as _SkGaussianNB
from sklearn.utils.validation import validate_data

from skunlearn.naive_bayes._base import _DecrementalNBMixin, cancelled, subtract_counted
from skunlearn.utils._moments import Moments, PowerSums, dd_sums, power_sums_of

__all__ = ["GaussianNB"]


def _group_means(X, groups, n_groups) -> np.ndarray:
    """Plain float64 mean of the rows of each group (zero for an empty group): a shift close
    to the data, so that the sums about it are small, before they are recentred."""
    n = X.shape[0]
    indicator = sparse.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(n_groups, n))
    counts = np.bincount(groups, minlength=n_groups)
    return np.asarray(indicator @ X) / np.maximum(counts, 1)[:, None]


def _sums_of(X, w, groups, n_groups) -> PowerSums:
    """Power sums of the rows of each group, about the groups' own (rounded) means."""
    shift = _group_means(X, groups, n_groups)
    return power_sums_of(X, w, shift=shift, groups=groups, n_groups=n_groups).recentred()


def _subtract(sums: PowerSums, removed: PowerSums) -> tuple[PowerSums, np.ndarray]:
    """``sums`` minus ``removed`` (about the same shift), recentred, and the groups whose
    second moments cancelled (see :func:`~skunlearn.naive_bayes._base.cancelled`)."""
    new = sums.minus(removed).recentred()
    touched = removed.count > 0
    magnitude = np.abs(sums.s2[0]) + np.abs(removed.s2[0])
    # An emptied group is exactly zero already; a group with rows left whose second moment
    # fell below 1e-16 of what the call subtracted is recomputed.
    result = np.where((new.count > 0)[:, None], new.s2[0], np.inf)
    return new, touched & cancelled(result, magnitude)


def _select(mask, new: PowerSums, fresh: PowerSums) -> PowerSums:
    """Per group, ``fresh`` where ``mask`` is True, else ``new``."""
    rows = mask[:, None]
    return PowerSums(
        np.where(rows, fresh.shift, new.shift),
        np.where(mask, fresh.count, new.count),
        tuple(np.where(mask, b, a) for a, b in zip(new.n, fresh.n)),
        tuple(np.where(rows, b, a) for a, b in zip(new.s1, fresh.s1)),
        tuple(np.where(rows, b, a) for a, b in zip(new.s2, fresh.s2)),
    )


class GaussianNB(_DecrementalNBMixin, _SkGaussianNB):
    """Gaussian naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.GaussianNB` (same parameters, fitted
    attributes, ``partial_fit`` and ``sample_weight``) with one more method, :meth:`unlearn`.
    Each class keeps its weighted power sums (``sum w``, ``sum w (x - s)``,
    ``sum w (x - s)**2`` about the class's rounded mean ``s``) as double-double pairs, about
    106 bits. Forgetting rows subtracts their sums, moves the shift onto the new mean, derives
    ``theta_`` and ``var_``, recomputes ``var_smoothing``'s ``epsilon_`` from the pooled sums of
    the retained rows and renormalizes the class priors. The state left is that of the
    retained rows to about 1e-30 relative, with no trace of the forgotten ones, and the result
    equals :class:`sklearn.naive_bayes.GaussianNB` fitted on the retained rows to rounding
    (about 1e-12 relative), at a cost that does not depend on the number of training rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes. If specified, the priors are not adjusted
        according to the data.

    var_smoothing : float, default=1e-9
        Portion of the largest variance of all features that is added to variances for
        calculation stability.

    Attributes
    ----------
    class_count_ : ndarray of shape (n_classes,)
        Weighted number of training rows of each class.

    class_prior_ : ndarray of shape (n_classes,)
        Probability of each class.

    classes_ : ndarray of shape (n_classes,)
        Class labels known to the classifier. A class whose rows are all forgotten leaves
        ``classes_`` if the model was built by :meth:`fit`; a model started by
        :meth:`partial_fit` keeps the classes it was given, with zero counts.

    epsilon_ : float
        Absolute additive value to variances: ``var_smoothing`` times the largest
        (unweighted) feature variance of the retained rows of the last batch.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    var_ : ndarray of shape (n_classes, n_features)
        Variance of each feature per class.

    theta_ : ndarray of shape (n_classes, n_features)
        Mean of each feature per class.

    n_samples_fit_ : int
        Number of rows seen since the last :meth:`fit` (all batches of :meth:`partial_fit`
        included): positions passed to :meth:`unlearn` range over ``0 .. n_samples_fit_ - 1``.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``
        (always True), ``distance_bound`` (None), ``classes_recomputed`` (classes whose
        statistics were recomputed from the stored rows because the request removed more
        than 1e16 times what it left of their second moment, beyond what even double-double
        sums resolve), ``classes_removed`` and ``seconds``.

    See Also
    --------
    sklearn.naive_bayes.GaussianNB : The scikit-learn estimator this one extends.
    MultinomialNB : Naive Bayes for counts, also decremental.

    Notes
    -----
    The model keeps its training rows (in blocks copied on write) to know what to subtract:
    memory grows like the training data, and forgotten rows leave the model's state.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB as SkGaussianNB
    >>> from skunlearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GaussianNB().fit(X, y).unlearn([0, 50, 100])
    >>> keep = np.setdiff1d(np.arange(len(X)), [0, 50, 100])
    >>> ref = SkGaussianNB().fit(X[keep], y[keep])
    >>> bool(np.allclose(clf.var_, ref.var_, rtol=1e-12, atol=0))
    True
    >>> clf.unlearn_report_["exact"]
    True
    """

    def _prior_param(self):
        return self.priors

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The stored rows and moment updates are NumPy-only.
        tags.array_api_support = False
        return tags

    def _rows_as_counted(self, X, y):
        return validate_data(self, X, y, reset=False)

    # The model keeps one set of power sums (``_sums``) for two kinds of groups: group ``c <
    # n_classes`` holds the weighted rows of class ``c`` (theta_, var_), group ``n_classes + b``
    # all the rows of batch ``b``, unweighted (epsilon_). ``_batch_class_weight`` holds the
    # weight of each class in each batch, shape (n_batches, n_classes), as ``(hi, lo, rows)``.

    def _grouped(self, X, codes, w, batches):
        """Each row twice: in its class's group, weighted, and in its batch's, unweighted."""
        n_classes = self._fit_classes.size
        groups = np.concatenate([codes, n_classes + np.asarray(batches, dtype=np.intp)])
        return np.concatenate([X, X]), groups, np.concatenate([w, np.ones(X.shape[0])])

    def _class_weight(self, codes, w, batches, n_batches):
        n_classes = self._fit_classes.size
        keys = np.asarray(batches, dtype=np.intp) * n_classes + codes
        sums = dd_sums(w, keys, n_batches * n_classes, return_support=True)
        return tuple(part.reshape(n_batches, n_classes) for part in sums)

    def _start_statistics(self, X, y, sample_weight, declared):
        X, codes, w = self._start_rows(X, y, sample_weight, declared)
        X = np.asarray(X, dtype=np.float64)
        batch = np.zeros(X.shape[0], dtype=np.intp)
        classes = _sums_of(X, w, codes, self._fit_classes.size)
        self._sums = PowerSums.stacked([classes, _sums_of(X, None, batch, 1)])
        self._batch_class_weight = self._class_weight(codes, w, batch, 1)

    def _add_batch(self, X, y, sample_weight):
        X, codes, w = self._append_rows(X, y, sample_weight)
        X = np.asarray(X, dtype=np.float64)
        n_classes = self._fit_classes.size
        # A class without rows yet takes the batch's mean as its shift.
        classes = self._sums.groups(slice(0, n_classes))
        classes = classes.with_shift(_group_means(X, codes, n_classes))
        added = power_sums_of(X, w, shift=classes.shift, groups=codes, n_groups=n_classes)
        batch = _sums_of(X, None, np.zeros(X.shape[0], dtype=np.intp), 1)
        self._sums = PowerSums.stacked(
            [classes.plus(added).recentred(), self._sums.groups(slice(n_classes, None)), batch]
        )
        self._batch_class_weight = tuple(
            np.concatenate([old, new])
            for old, new in zip(
                self._batch_class_weight, self._class_weight(codes, w, np.zeros_like(codes), 1)
            )
        )

    def _unlearn_aside(self, positions):
        X_r, codes, w_r, store = self._pop_rows(positions)
        X_r = np.asarray(X_r, dtype=np.float64)
        n_classes, n_batches = self._fit_classes.size, self._batch_starts.size
        batches = self._batch_of(positions)

        X2, groups, w2 = self._grouped(X_r, codes, w_r, batches)
        removed = power_sums_of(
            X2, w2, shift=self._sums.shift, groups=groups, n_groups=n_classes + n_batches
        )
        sums, recompute = _subtract(self._sums, removed)
        if recompute.any():
            sums = _select(recompute, sums, self._recomputed(store, recompute))
        batch_class_weight = subtract_counted(
            self._batch_class_weight, self._class_weight(codes, w_r, batches, n_batches)
        )

        class_rows, kept, removed_classes = self._classes_after(codes)
        alive = np.zeros(n_classes, dtype=bool)
        alive[np.searchsorted(self._fit_classes, np.asarray(self.classes_)[kept])] = True
        moments = sums.moments()
        self._set_public_attributes(
            Moments(*(part[:n_classes] for part in moments)),
            Moments(*(part[n_classes:] for part in moments)),
            batch_class_weight[0],
            alive,
        )
        self._sums = sums
        self._batch_class_weight = batch_class_weight
        recomputed = [self._fit_classes[c] for c in np.flatnonzero(recompute[:n_classes])]
        return self._forget_rows(store, class_rows, w_r, recomputed, removed_classes)

    def __setstate__(self, state):
        # skops saves a PowerSums (a tuple subclass) as a plain tuple: give it its type back.
        super().__setstate__(state)
        if isinstance(self.__dict__.get("_sums"), tuple):
            self._sums = PowerSums(*self._sums)

    def _recomputed(self, store, groups) -> PowerSums:
        """Sums of the flagged ``groups`` (classes and batches) from the stored retained rows;
        the other groups are left empty."""
        n_classes = self._fit_classes.size
        parts = []
        classes = np.flatnonzero(groups[:n_classes])
        if classes.size:
            X, codes, w = self._gather(store, classes)
            parts.append((X, codes, w))
        for b in np.flatnonzero(groups[n_classes:]):
            X, codes, _ = self._gather(store, batch=int(b))
            parts.append((X, np.full(codes.size, n_classes + b), np.ones(codes.size)))
        X, groups_of_rows, w = (np.concatenate(p) for p in zip(*parts))
        return _sums_of(np.asarray(X, dtype=np.float64), w, groups_of_rows, groups.size)

    def _set_public_attributes(self, class_moments, batch_moments, batch_class_weight, alive):
        """Derive scikit-learn's fitted attributes from the moments (rebinding only)."""
        dtype = self.theta_.dtype
        present = np.flatnonzero(batch_moments.n > 0)
        batch_var = batch_moments.m2[present] / batch_moments.n[present, None]
        eps = self.var_smoothing * batch_var.max(axis=1)
        epsilon = eps[-1]
        # scikit-learn's partial_fit takes the *new* batch's epsilon off var_ before merging,
        # so the class's earlier rows carry eps_b - eps_next into its sum of squares at each
        # batch boundary. Reproduce it: the reference is partial_fit on the retained rows.
        m2 = class_moments.m2[alive]
        if present.size > 1:
            # Weight of each class seen before each boundary, times the epsilon step there.
            seen = np.cumsum(batch_class_weight[present[:-1]][:, alive], axis=0)
            m2 = m2 + (seen * (eps[:-1] - eps[1:])[:, None]).sum(axis=0)[:, None]
        n = class_moments.n[alive]
        var = m2 / np.where(n > 0, n, 1.0)[:, None]
        self.classes_ = self._fit_classes[alive]
        self.theta_ = class_moments.mean[alive].astype(dtype)
        self.var_ = (var + epsilon).astype(dtype)
        self.class_count_ = n.astype(dtype)
        self.epsilon_ = epsilon.astype(dtype) if hasattr(epsilon, "astype") else epsilon
        if self.priors is None:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
