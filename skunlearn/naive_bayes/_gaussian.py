"""Gaussian naive Bayes that forgets rows by splitting centred moments."""

from __future__ import annotations

import numpy as np
from sklearn.naive_bayes import GaussianNB as _SkGaussianNB
from sklearn.utils.validation import validate_data

from skunlearn.naive_bayes._base import _DecrementalNBMixin, ill_conditioned
from skunlearn.utils._moments import (
    Moments,
    merge_moments,
    moments_of,
    recentred,
    split_moments,
)

__all__ = ["GaussianNB"]


def _zero(d: int) -> tuple[Moments, np.ndarray]:
    return Moments(0.0, np.zeros(d), np.zeros(d)), np.zeros(d)


def _as_state(moments: Moments, shift) -> tuple[Moments, np.ndarray]:
    """Moments about ``shift`` as the model keeps them: ``(n, mean head, m2)`` and the residual.

    With large offsets a float64 mean cannot carry the digits of the spread (near 1e8 it is
    resolved to 1.5e-8 only), and a later split would square that error at first order, so the
    mean is kept as a float64 head plus the residual it drops (:func:`recentred`).
    """
    moments, head = recentred(moments, shift)
    return Moments(moments.n, head, moments.m2), moments.mean


def _precise_moments(X, w=None) -> tuple[Moments, np.ndarray]:
    """Moments of ``X``, computed about a first estimate of the mean so that the offsets never
    enter a sum, as the model keeps them (:func:`_as_state`)."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return _zero(X.shape[1])
    pivot = X.mean(axis=0)
    return _as_state(moments_of(X, w, shift=pivot), pivot)


def _update(update, total: Moments, residual, X, w=None) -> tuple[Moments, np.ndarray]:
    """``update`` (merge or split) of ``total`` with the rows ``X``, centred on its mean.

    The pivot is the model's own current mean, so nothing about other rows enters the state;
    in that frame the total's mean is its residual and the rows' offsets are exact
    differences, so the update keeps full precision.
    """
    if total.n == 0:
        return _precise_moments(X, w) if update is merge_moments else (total, residual)
    pivot = total.mean
    shifted = update(Moments(total.n, residual, total.m2), moments_of(X, w, shift=pivot))
    return _as_state(shifted, pivot)


def _stack(parts: list[tuple[Moments, np.ndarray]]) -> tuple[Moments, np.ndarray]:
    return (
        Moments(
            np.array([m.n for m, _ in parts], dtype=float),
            np.vstack([m.mean for m, _ in parts]),
            np.vstack([m.m2 for m, _ in parts]),
        ),
        np.vstack([r for _, r in parts]),
    )


def _row(stats: tuple[Moments, np.ndarray], c: int) -> tuple[Moments, np.ndarray]:
    moments, residual = stats
    return Moments(moments.n[c], moments.mean[c], moments.m2[c]), residual[c]


def _with_rows(stats, rows: dict) -> tuple[Moments, np.ndarray]:
    """A copy of per-class ``stats`` with some classes replaced (never in place)."""
    moments, residual = stats
    n, mean, m2, res = moments.n.copy(), moments.mean.copy(), moments.m2.copy(), residual.copy()
    for c, (m, r) in rows.items():
        n[c], mean[c], m2[c], res[c] = m.n, m.mean, m.m2, r
    return Moments(n, mean, m2), res


class GaussianNB(_DecrementalNBMixin, _SkGaussianNB):
    """Gaussian naive Bayes that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.naive_bayes.GaussianNB` (same parameters, fitted
    attributes, ``partial_fit`` and ``sample_weight``) with one more method, :meth:`unlearn`.
    Forgetting rows subtracts their weighted count, mean and centred second moment from their
    class's statistics (Chan, Golub and LeVeque's pairwise formulas run backwards), recomputes
    ``var_smoothing``'s ``epsilon_`` from the pooled moments of the retained rows and
    renormalizes the class priors. The result equals :class:`sklearn.naive_bayes.GaussianNB`
    fitted on the retained rows to rounding (about 1e-12 relative), at a cost that does not
    depend on the number of training rows.

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
        statistics were recomputed from the stored rows because the subtraction would have
        cancelled too many digits), ``classes_removed`` and ``seconds``.

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

    def _add_batch(self, X, y, sample_weight):
        X, codes, w = self._append_rows(X, y, sample_weight)
        per_class = {}
        for c in np.unique(codes):
            sel = codes == c
            per_class[int(c)] = _update(merge_moments, *_row(self._class_stats, c), X[sel], w[sel])
        self._class_stats = _with_rows(self._class_stats, per_class)
        # Merging never cancels: what is there now is the scale of later subtractions.
        n_ref, m2_ref = self._class_ref
        self._class_ref = (
            np.maximum(n_ref, self._class_stats[0].n),
            np.maximum(m2_ref, self._class_stats[0].m2),
        )
        batch = _precise_moments(X)
        self._batch_stats = [*self._batch_stats, batch]
        self._batch_ref = [*self._batch_ref, batch[0].m2]
        self._batch_class_weight = [*self._batch_class_weight, self._class_weight(codes, w)]

    def _class_weight(self, codes, w):
        return np.bincount(codes, weights=w, minlength=self._fit_classes.size)

    def _start_statistics(self, X, y, sample_weight, declared):
        X, codes, w = self._start_rows(X, y, sample_weight, declared)
        parts = []
        for c in range(self._fit_classes.size):
            sel = codes == c
            parts.append(_precise_moments(X[sel], w[sel]))
        self._class_stats = _stack(parts)
        self._class_ref = (self._class_stats[0].n.copy(), self._class_stats[0].m2.copy())
        batch = _precise_moments(X)
        self._batch_stats = [batch]
        self._batch_ref = [batch[0].m2]
        self._batch_class_weight = [self._class_weight(codes, w)]

    def _unlearn(self, positions):
        X_r, codes, w_r, store = self._pop_rows(positions)

        # Per-class weighted moments: split the removed rows out of their classes.
        n_ref, m2_ref = self._class_ref
        per_class, recompute = {}, []
        for c in np.unique(codes):
            sel = codes == c
            new = _update(split_moments, *_row(self._class_stats, c), X_r[sel], w_r[sel])
            bad = ill_conditioned(
                np.append(new[0].n, new[0].m2)[None], np.append(n_ref[c], m2_ref[c])[None]
            )
            if bad[0]:
                recompute.append(int(c))
            else:
                per_class[int(c)] = new
        if recompute:
            for c, (xs, ws) in self._rows_of_classes(store, recompute).items():
                per_class[c] = (
                    _precise_moments(np.concatenate(xs), np.concatenate(ws))
                    if xs
                    else _zero(self.n_features_in_)
                )
        class_stats = _with_rows(self._class_stats, per_class)
        class_moments = class_stats[0]
        new_n_ref, new_m2_ref = n_ref.copy(), m2_ref.copy()
        for c in recompute:
            new_n_ref[c], new_m2_ref[c] = class_moments.n[c], class_moments.m2[c]

        # Pooled unweighted moments of each batch, for epsilon_.
        batch_stats, batch_ref = list(self._batch_stats), list(self._batch_ref)
        batch_class_weight = list(self._batch_class_weight)
        batches = self._batch_of(positions)
        for b in np.unique(batches):
            sel = batches == b
            batch_class_weight[b] = batch_class_weight[b] - self._class_weight(codes[sel], w_r[sel])
            new = _update(split_moments, *batch_stats[b], X_r[sel])
            if ill_conditioned(new[0].m2[None], batch_ref[b][None])[0]:
                xs = self._rows_of_classes(store, [None], batch=int(b))[None][0]
                new = _precise_moments(np.concatenate(xs)) if xs else _zero(self.n_features_in_)
                batch_ref[b] = new[0].m2
            batch_stats[b] = new

        class_rows, kept, removed = self._classes_after(codes)
        alive = np.isin(self._fit_classes, np.asarray(self.classes_)[kept])
        batch_moments = [m for m, _ in batch_stats]
        self._set_public_attributes(class_moments, batch_moments, batch_class_weight, alive)

        self._class_stats = class_stats
        self._class_ref = (new_n_ref, new_m2_ref)
        self._batch_stats = batch_stats
        self._batch_ref = batch_ref
        self._batch_class_weight = batch_class_weight
        recomputed = [self._fit_classes[c] for c in recompute]
        return self._forget_rows(store, class_rows, w_r, recomputed, removed)

    def _set_public_attributes(self, class_moments, batch_moments, batch_class_weight, alive):
        """Derive scikit-learn's fitted attributes from the moments (rebinding only)."""
        dtype = self.theta_.dtype
        present = [b for b, m in enumerate(batch_moments) if m.n > 0]
        eps = [self.var_smoothing * np.max(batch_moments[b].variance()) for b in present]
        epsilon = eps[-1]
        # scikit-learn's partial_fit takes the *new* batch's epsilon off var_ before merging,
        # so the class's earlier rows carry eps_b - eps_next into its sum of squares at each
        # batch boundary. Reproduce it: the reference is partial_fit on the retained rows.
        m2 = class_moments.m2[alive].copy()
        seen = np.zeros(int(alive.sum()))
        for i, b in enumerate(present[:-1]):
            seen = seen + batch_class_weight[b][alive]
            m2 += seen[:, None] * (eps[i] - eps[i + 1])
        n = class_moments.n[alive]
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(n[:, None] > 0, m2 / n[:, None], 0.0)
        self.classes_ = self._fit_classes[alive]
        self.theta_ = class_moments.mean[alive].astype(dtype)
        self.var_ = (var + epsilon).astype(dtype)
        self.class_count_ = n.astype(dtype)
        self.epsilon_ = epsilon.astype(dtype) if hasattr(epsilon, "astype") else epsilon
        if self.priors is None:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
