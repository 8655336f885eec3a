"""Weighted counts, means and centred second moments that can be merged and split exactly.

This is the one place where sufficient statistics are combined and taken apart; the exact
decremental estimators (naive Bayes, scalers, linear models) build on it. It follows the update /
revert pattern of river's ``stats.Var``: ``merge`` adds a batch of rows, ``split`` removes one.

Moments are kept centred (Chan, Golub & LeVeque's pairwise formulas) rather than as raw sums of
squares, because ``sum(x**2) - n * mean**2`` cancels catastrophically when the mean is large
compared with the spread.

A moment is a triple ``(n, mean, m2)``:

- ``n``: total weight (a float; the count for unit weights), scalar or one per feature;
- ``mean``: weighted mean, shape ``(n_features,)``;
- ``m2``: weighted sum of squared deviations from ``mean``, shape ``(n_features,)`` for the
  diagonal form or ``(n_features, n_features)`` for the full (outer-product) form.

Large offsets. A float64 mean near ``1e9`` resolves the data only to about ``1e-7``; merging and
splitting moves the means, and that error enters ``m2`` through the squared mean difference.
So moments can be kept *about a shift* (``moments_of(..., shift=s)`` takes the moments of
``X - s``, whose mean is of the order of the spread, and ``x - s`` is exact for ``x`` near
``s``): every moment merged with or split from another must then be about the same shift.
:func:`recentred` moves moments onto a shift that is their own mean, rounded, keeping what the
rounding dropped as the mean about it: the state then depends only on the rows it describes,
never on rows forgotten since (a fixed shift such as a fit-time mean would keep their sum).

Missing values. ``moments_of(..., ignore_nan=True)`` counts each feature over the rows where it
is not NaN, so ``n`` is one weight per feature; merge and split work feature by feature.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Moments", "merge_moments", "moments_of", "recentred", "split_moments"]


class Moments(tuple):
    """``(n, mean, m2)``: total weight, weighted mean and centred second moment."""

    __slots__ = ()

    def __new__(cls, n, mean, m2):
        return super().__new__(cls, (n, mean, m2))

    def __getnewargs__(self):
        # Pickle calls __new__ with these: without them a Moments cannot be unpickled.
        return tuple(self)

    n = property(lambda self: self[0])
    mean = property(lambda self: self[1])
    m2 = property(lambda self: self[2])

    def variance(self, ddof: float = 0.0):
        """Weighted variance ``m2 / (n - ddof)`` (diagonal of the covariance when full)."""
        m2 = np.diagonal(self.m2) if np.ndim(self.m2) == 2 else self.m2
        with np.errstate(invalid="ignore", divide="ignore"):
            return m2 / (self.n - ddof)


def moments_of(
    X, sample_weight=None, *, full: bool = False, shift=None, ignore_nan: bool = False
) -> Moments:
    """Moments of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows (dense).
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights; None means 1.
    full : bool, default=False
        Keep the full ``(n_features, n_features)`` second moment instead of its diagonal.
    shift : ndarray of shape (n_features,), default=None
        Take the moments of ``X - shift``: the returned mean is relative to ``shift``. Use it
        for data far from zero (see the module's notes on large offsets).
    ignore_nan : bool, default=False
        Count each feature over the rows where it is not NaN: ``n`` is then an array of one
        weight per feature (a feature without values has zero mean and second moment). Only
        for the diagonal form.

    Returns
    -------
    Moments

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import moments_of
    >>> n, mean, m2 = moments_of(np.array([[1.0], [3.0]]))
    >>> float(n), mean.tolist(), m2.tolist()
    (2.0, [2.0], [2.0])
    >>> n, mean, m2 = moments_of(np.array([[1.0, np.nan], [3.0, 5.0]]), ignore_nan=True)
    >>> n.tolist(), mean.tolist(), m2.tolist()
    ([2.0, 1.0], [2.0, 5.0], [2.0, 0.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if shift is not None:
        X = X - shift
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    if ignore_nan:
        if full:
            raise ValueError("ignore_nan=True keeps one count per feature: use full=False.")
        present = ~np.isnan(X)
        if not present.all():
            return _nan_ignoring_moments(X, w, present)
        n, mean, m2 = moments_of(X, w)
        return Moments(np.full(X.shape[1], float(n)), mean, m2)
    n = w.sum()
    if n == 0:
        d = X.shape[1]
        return Moments(0.0, np.zeros(d), np.zeros((d, d)) if full else np.zeros(d))
    mean = w @ X / n
    centred = X - mean
    if full:
        m2 = (centred * w[:, None]).T @ centred
    else:
        m2 = w @ (centred * centred)
    return Moments(n, mean, m2)


def _nan_ignoring_moments(X, w, present) -> Moments:
    n = w @ present
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, w @ np.where(present, X, 0.0) / n, 0.0)
    centred = np.where(present, X - mean, 0.0)
    return Moments(n, mean, w @ (centred * centred))


def recentred(moments: Moments, shift) -> tuple[Moments, np.ndarray]:
    """Moments about ``shift`` moved onto their own mean: ``(moments about it, new shift)``.

    The new shift is ``shift + moments.mean`` rounded to float64 and the new mean is the
    rounding error of that sum, exactly (Knuth's TwoSum), so the mean keeps about twice the
    digits of a float64. Where no weight is left the shift, mean and second moment are zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import moments_of, recentred
    >>> X = 1e9 + np.array([[0.25], [0.5], [1.0]])
    >>> moments, shift = recentred(moments_of(X, shift=X[0]), X[0])
    >>> shift.tolist(), bool(abs(moments.mean[0]) <= 1e-7)
    ([1000000000.5833334], True)
    """
    n, mean, m2 = moments
    shift = np.asarray(shift, dtype=np.float64)
    head = shift + mean
    bb = head - shift
    residual = (shift - (head - bb)) + (mean - bb)
    if np.ndim(n) == 0:
        if n == 0:
            zero = np.zeros_like(head)
            return Moments(n, zero, np.zeros_like(m2)), zero
        return Moments(n, residual, m2), head
    alive = n > 0
    m2 = np.where(alive, m2, 0.0) if np.ndim(m2) == 1 else m2
    return Moments(n, np.where(alive, residual, 0.0), m2), np.where(alive, head, 0.0)


def _delta_term(delta, full):
    return np.outer(delta, delta) if full else delta * delta


def merge_moments(a: Moments, b: Moments) -> Moments:
    """Moments of the union of two disjoint sets of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import merge_moments, moments_of
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> merged = merge_moments(moments_of(X[:2]), moments_of(X[2:]))
    >>> np.allclose(merged.m2, moments_of(X).m2)
    True
    """
    n_a, mean_a, m2_a = a
    n_b, mean_b, m2_b = b
    n = n_a + n_b
    if np.all(n_b == 0):
        return Moments(n_a, mean_a, m2_a)
    if np.all(n_a == 0):
        return Moments(n_b, mean_b, m2_b)
    delta = mean_b - mean_a
    full = np.ndim(m2_a) == 2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = mean_a + delta * np.where(n > 0, n_b / n, 0.0)
        m2 = m2_a + m2_b + _delta_term(delta, full) * np.where(n > 0, n_a * n_b / n, 0.0)
    return Moments(n, mean, m2)


def split_moments(total: Moments, part: Moments) -> Moments:
    """Moments of ``total``'s rows once ``part``'s rows (a subset of them) are removed.

    The inverse of :func:`merge_moments`: ``split_moments(merge_moments(a, b), b) == a`` up to
    rounding. Where no weight is left, the mean and second moment are zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import moments_of, split_moments
    >>> X = 1e9 + np.arange(10.0).reshape(5, 2)  # a large offset does not cancel
    >>> rest = split_moments(moments_of(X), moments_of(X[3:]))
    >>> np.allclose(rest.m2, moments_of(X[:3]).m2), np.allclose(rest.mean, X[:3].mean(0))
    (True, True)
    """
    n, mean, m2 = total
    n_b, mean_b, m2_b = part
    n_a = n - n_b
    full = np.ndim(m2) == 2
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = n_a > 0
        # mean = mean_a + (mean_b - mean_a) * n_b / n  =>  mean_a = mean + (mean - mean_b) n_b/n_a
        mean_a = np.where(safe, mean + (mean - mean_b) * np.where(safe, n_b / n_a, 0.0), 0.0)
        delta = mean_b - mean_a
        coef = np.where(safe & (n > 0), n_a * n_b / np.where(n > 0, n, 1.0), 0.0)
        m2_a = m2 - m2_b - _delta_term(delta, full) * coef
    if full:
        keep = np.outer(np.broadcast_to(safe, mean.shape), np.broadcast_to(safe, mean.shape))
        m2_a = np.where(keep, m2_a, 0.0)
        # Rounding can leave tiny negative variances; a variance is never negative.
        np.fill_diagonal(m2_a, np.maximum(np.diagonal(m2_a), 0.0))
    else:
        m2_a = np.where(safe, np.maximum(m2_a, 0.0), 0.0)
    n_a = np.where(safe, n_a, 0.0) if np.ndim(n_a) else (n_a if n_a > 0 else 0.0)
    return Moments(n_a, mean_a, m2_a)
