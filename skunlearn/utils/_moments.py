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

Forgetting without a trace. A float64 subtraction leaves in its result a rounding error of the
order of ``eps`` times the magnitudes involved, so a statistic from which rows were subtracted
still carries a trace of those rows, and a large removed value (an outlier) can swamp a small
remainder. Where that matters, sums are kept as double-double pairs ``(hi, lo)`` (``hi + lo``,
about 106 bits, ``hi`` the float64 rounding of the pair): :func:`dd_sums` adds many values almost
exactly (error-free extraction, Rump, Ogita & Oishi), and :func:`dd_add`, :func:`dd_sub`,
:func:`dd_mul`, :func:`dd_div` combine pairs with an error of about ``eps**2`` times the
magnitudes (Dekker's TwoProduct, Knuth's TwoSum). :class:`PowerSums` keeps weighted power sums
about a per-group shift that way: subtracting rows leaves, to about ``1e-30`` relative, the sums
of the retained rows, whatever was added and removed before.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = [
    "Moments",
    "PowerSums",
    "dd_add",
    "dd_div",
    "dd_mul",
    "dd_sub",
    "dd_sums",
    "merge_moments",
    "moments_of",
    "power_sums_of",
    "recentred",
    "split_moments",
    "two_prod",
    "two_sum",
]


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


# -- error-free transformations and double-double sums ------------------------------------------

# Veltkamp's splitter, 2**27 + 1: splits a float64 into two halves whose products are exact.
_SPLITTER = 134217729.0

# Extraction levels of dd_sums: each level captures (52 - log2(n)) more bits of every value
# exactly, and what is left after three is below anything a double-double pair can hold.
_LEVELS = 3


def two_sum(a, b):
    """``a + b`` as ``(s, e)``: ``s`` rounded to float64 and ``s + e == a + b`` exactly (Knuth).

    Examples
    --------
    >>> from skunlearn.utils._moments import two_sum
    >>> two_sum(1e16, 1.0)
    (1e+16, 1.0)
    """
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _veltkamp(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a, b):
    """``a * b`` as ``(p, e)``: ``p`` rounded to float64 and ``p + e == a * b`` exactly (Dekker).

    Exact for finite factors below about ``1e300`` in magnitude whose product does not
    underflow.

    Examples
    --------
    >>> from skunlearn.utils._moments import two_prod
    >>> p, e = two_prod(0.1, 0.1)
    >>> p, bool(e != 0)
    (0.010000000000000002, True)
    """
    p = a * b
    a_hi, a_lo = _veltkamp(a)
    b_hi, b_lo = _veltkamp(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def dd_add(x, y):
    """Sum of two double-double pairs ``(hi, lo)``, renormalized so that ``hi = fl(hi + lo)``.

    The error is about ``eps**2 * (|x| + |y|)``: a sum that cancels keeps its digits down to
    that level, far below what float64 resolves of the operands.

    Examples
    --------
    >>> from skunlearn.utils._moments import dd_add, dd_sub
    >>> x = dd_add((1e16, 0.0), (1.0, 0.0))  # 1e16 + 1 needs more than 53 bits
    >>> x, dd_sub(x, (1e16, 0.0))
    ((1e+16, 1.0), (1.0, 0.0))
    """
    s, e = two_sum(x[0], y[0])
    return two_sum(s, e + (x[1] + y[1]))


def dd_sub(x, y):
    """Difference of two double-double pairs (see :func:`dd_add`)."""
    s, e = two_sum(x[0], -y[0])
    return two_sum(s, e + (x[1] - y[1]))


def dd_mul(x, y):
    """Product of two double-double pairs, with an error of about ``eps**2 * |x * y|``."""
    return two_sum(*_dd_mul_unnormalized(x, y))


def _dd_mul_unnormalized(x, y):
    # The pair before renormalization, for an operand of another double-double operation.
    p, e = two_prod(x[0], y[0])
    return p, e + (x[0] * y[1] + x[1] * y[0])


def dd_div(x, y):
    """Quotient of two double-double pairs (``y`` non-zero), error about ``eps**2 * |x / y|``.

    Examples
    --------
    >>> from skunlearn.utils._moments import dd_div
    >>> hi, lo = dd_div((1.0, 0.0), (3.0, 0.0))
    >>> float(hi), bool(abs(lo) < 1e-16)
    (0.3333333333333333, True)
    """
    q1 = x[0] / y[0]
    r = dd_sub(x, dd_mul((q1, np.zeros_like(q1)), y))
    return two_sum(q1, r[0] / y[0])


# Values per chunk of rows: the temporaries of one chunk stay in cache, and a pass over the rows
# allocates nothing the size of the data.
_CHUNK_VALUES = 1 << 15


def _row_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_VALUES // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _group_total(groups, n_groups):
    """A function summing the rows of an array per group (or all together without groups).

    The sums run through a 0/1 indicator matrix (dense when small, else sparse): its products
    are exact, so exactly summable values keep their exact sums.
    """
    if groups is None:
        return lambda a: a.sum(axis=0)
    indicator = None

    def total(a):
        nonlocal indicator
        if a.ndim == 1:
            return np.bincount(groups, weights=a, minlength=n_groups)
        if indicator is None:
            rows = np.arange(groups.size)
            if n_groups * groups.size <= 1 << 20:
                indicator = np.zeros((n_groups, groups.size))
                indicator[groups, rows] = 1.0
            else:
                ones = np.ones(groups.size)
                indicator = sparse.csr_matrix((ones, (groups, rows)), (n_groups, groups.size))
        return np.asarray(indicator @ a)

    return total


class _Extraction:
    """Almost exact sums of values bounded by ``bound``, fed chunk by chunk of rows.

    Each value is cut into ``_LEVELS`` slices aligned on grids fixed by ``bound`` and the number
    of rows (error-free extraction, Rump, Ogita & Oishi, 2008): the slices of one level add up
    exactly in float64, in any order and across chunks; only the last remainder (and the
    ``corrections``) is summed in rounded arithmetic, far below a double-double's precision.
    """

    def __init__(self, bound, n_rows: int):
        # 2**span >= n + 2: n slices of magnitude up to 2**e sum to less than 2**(e + span).
        span = int(np.ceil(np.log2(n_rows + 2)))
        exponent = np.frexp(np.asarray(bound, dtype=np.float64))[1]  # bound < 2**exponent
        self.sigmas = []
        for _ in range(_LEVELS):
            self.sigmas.append(np.ldexp(1.0, exponent + span))
            exponent = exponent + span - 52  # what a level leaves is below 2**exponent
        self.exact = [0.0] * _LEVELS
        self.rounded = 0.0

    def add(self, values, total, corrections=None) -> None:
        rest = np.array(values, dtype=np.float64)  # a copy, updated in place
        level = np.empty_like(rest)
        for k, sigma in enumerate(self.sigmas):
            np.add(rest, sigma, out=level)
            np.subtract(level, sigma, out=level)  # multiples of eps * sigma: exact sums
            np.subtract(rest, level, out=rest)  # exact
            self.exact[k] = self.exact[k] + total(level)
        if corrections is not None:
            rest += corrections
        self.rounded = self.rounded + total(rest)

    def pair(self, like):
        pair = (np.zeros_like(like) + self.exact[0], np.zeros_like(like))
        for part in (*self.exact[1:], self.rounded):
            pair = dd_add(pair, (part, 0.0))
        return pair


def _integral(v, n_cols: int) -> bool:
    # Chunk by chunk: fractional data is usually recognised in the first chunk.
    return all(np.all(v[rows] == np.rint(v[rows])) for rows in _row_chunks(v.shape[0], n_cols))


def dd_sums(values, groups=None, n_groups=None, *, corrections=None, return_support=False):
    """Sums of ``values`` over their rows, almost exactly, as double-double pairs.

    The values are cut into slices on a common grid per column whose sums are exact in any
    order (error-free extraction, Rump, Ogita & Oishi, 2008). ``hi + lo`` is within about
    ``2**-100 * max|values|`` of the exact sum (for fewer than a million rows) plus
    ``n * eps**2 * sum|corrections|``, and ``hi`` is the exact sum rounded to float64 (barring
    a tie within that error).

    Parameters
    ----------
    values : ndarray of shape (n_rows,) or (n_rows, n_columns)
        Finite values, below about ``1e300`` in magnitude.
    groups : ndarray of int of shape (n_rows,), default=None
        Group of each row; None sums all rows together.
    n_groups : int, default=None
        Number of groups (required with ``groups``).
    corrections : ndarray like ``values``, default=None
        Small terms (rounding errors of a product, ...) added to the sums in plain float64.
    return_support : bool, default=False
        Also return how many rows hold a non-zero value, per sum.

    Returns
    -------
    hi, lo : ndarray of shape ``values.shape[1:]``, or ``(n_groups,) + values.shape[1:]``
        The sums as double-double pairs, ``hi = fl(hi + lo)``.
    support : ndarray of int, same shape, only with ``return_support=True``

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import dd_sums
    >>> hi, lo = dd_sums(np.array([1e16, 1.0, -1e16, 0.5]))
    >>> float(hi), float(lo)
    (1.5, 0.0)
    >>> hi, lo, support = dd_sums(
    ...     np.array([0.1, 0.2, 0.0]), np.array([0, 1, 1]), 2, return_support=True
    ... )
    >>> hi.tolist(), support.tolist()
    ([0.1, 0.2], [1, 1])
    """
    v = np.asarray(values, dtype=np.float64)
    if groups is not None:
        groups = np.asarray(groups, dtype=np.intp)
    n = v.shape[0]
    like = np.zeros(v.shape[1:] if groups is None else (n_groups, *v.shape[1:]))
    if groups is not None and n and np.bincount(groups, minlength=n_groups).max() == 1:
        # One value per sum at most (a request for a row or a few): the sums are the values.
        hi, lo = like, np.zeros_like(like)
        hi[groups] = v
        out = (hi, lo)
        if corrections is not None:
            lo[groups] = corrections
            out = two_sum(hi, lo)
        if return_support:
            support = np.zeros(like.shape, dtype=np.int64)
            support[groups] = v != 0
            out = (*out, support)
        return out
    total = _group_total(groups, n_groups)
    out = ()
    if return_support:
        support = like.astype(np.int64)
        for rows in _row_chunks(n, int(np.prod(v.shape[1:]))):
            part = total if groups is None else _group_total(groups[rows], n_groups)
            support = support + part((v[rows] != 0).astype(np.float64)).astype(np.int64)
        out = (support,)
    top = np.max(np.abs(v), axis=0) if n else np.zeros(v.shape[1:])
    n_cols = int(np.prod(v.shape[1:]))
    if corrections is None and np.all(top * n < 2.0**53) and _integral(v, n_cols):
        # Integers whose partial sums stay below 2**53: every float64 sum is exact.
        hi = total(v)
        return (hi, np.zeros_like(hi), *out)
    sums = _Extraction(top, n)
    for rows in _row_chunks(n, n_cols):
        part = total if groups is None else _group_total(groups[rows], n_groups)
        sums.add(v[rows], part, None if corrections is None else corrections[rows])
    return (*sums.pair(like), *out)


# -- power sums as double-double pairs -------------------------------------------------------


class PowerSums(tuple):
    """Weighted power sums per group, about a per-group shift, as double-double pairs.

    ``(shift, count, n, s1, s2)``: ``shift`` of shape ``(n_groups, n_features)``; ``count`` the
    rows of non-zero weight per group (int); ``n``, ``s1`` and ``s2`` pairs ``(hi, lo)`` of
    ``sum w``, ``sum w (x - shift)`` and ``sum w (x - shift)**2``, of shapes ``(n_groups,)``,
    ``(n_groups, n_features)`` twice.

    Sums about the same shift add and subtract (:meth:`plus`, :meth:`minus`) to about ``1e-30``
    of the magnitudes involved, so what is left after a subtraction is the sums of the rows
    left, not a trace of the rows taken out. :meth:`recentred` moves the sums onto the groups'
    own means, rounded, which are then functions of the rows described, and :meth:`moments`
    turns them into float64 :class:`Moments`.
    """

    __slots__ = ()

    def __new__(cls, shift, count, n, s1, s2):
        return super().__new__(cls, (shift, count, n, s1, s2))

    def __getnewargs__(self):
        return tuple(self)

    shift = property(lambda self: self[0])
    count = property(lambda self: self[1])
    n = property(lambda self: self[2])
    s1 = property(lambda self: self[3])
    s2 = property(lambda self: self[4])

    def _emptied(self) -> PowerSums:
        """Groups without rows of weight hold exactly nothing (not a rounding remainder),
        about a zero shift (not one left by rows gone)."""
        empty = self.count == 0
        if not empty.any():
            return self
        rows = empty[:, None]
        return PowerSums(
            np.where(rows, 0.0, self.shift),
            self.count,
            tuple(np.where(empty, 0.0, part) for part in self.n),
            tuple(np.where(rows, 0.0, part) for part in self.s1),
            tuple(np.where(rows, 0.0, part) for part in self.s2),
        )

    def plus(self, other: PowerSums) -> PowerSums:
        """Sums of the union of two disjoint sets of rows, about the same shift."""
        return PowerSums(
            self.shift,
            self.count + other.count,
            dd_add(self.n, other.n),
            dd_add(self.s1, other.s1),
            dd_add(self.s2, other.s2),
        )

    def minus(self, other: PowerSums) -> PowerSums:
        """Sums once ``other``'s rows (a subset, about the same shift) are taken out."""
        return PowerSums(
            self.shift,
            self.count - other.count,
            dd_sub(self.n, other.n),
            dd_sub(self.s1, other.s1),
            dd_sub(self.s2, other.s2),
        )._emptied()

    def groups(self, index) -> PowerSums:
        """The sums of some groups (``index``: a slice or an array of group indices)."""
        return PowerSums(
            self.shift[index],
            self.count[index],
            tuple(part[index] for part in self.n),
            tuple(part[index] for part in self.s1),
            tuple(part[index] for part in self.s2),
        )

    @staticmethod
    def stacked(parts) -> PowerSums:
        """The groups of several :class:`PowerSums` one after the other."""
        return PowerSums(
            np.concatenate([p.shift for p in parts]),
            np.concatenate([p.count for p in parts]),
            *(tuple(np.concatenate([p[k][i] for p in parts]) for i in (0, 1)) for k in (2, 3, 4)),
        )

    def with_shift(self, shift) -> PowerSums:
        """The same sums about ``shift`` where a group holds nothing (elsewhere unchanged)."""
        empty = (self.count == 0)[:, None]
        return PowerSums(np.where(empty, shift, self.shift), *self[1:])

    def recentred(self) -> PowerSums:
        """The same sums about each group's mean rounded to float64 (zero for empty groups).

        The new shift is the exact mean rounded (to about ``1e-30``, so barring a tie), hence a
        function of the rows described whatever the old shift was.
        """
        n = self.n
        alive = self.count > 0
        if not alive.all():
            n = tuple(np.where(alive, part, 1.0) for part in n)
        n = (n[0][:, None], n[1][:, None])
        head = self.shift + self.s1[0] / n[0]  # the mean, nearly rounded
        for _ in range(3):
            delta = two_sum(head, -self.shift)  # exact
            s1 = dd_sub(self.s1, _dd_mul_unnormalized(n, delta))  # sum w (x - head)
            # head is the mean rounded when the mean about it is at most half an ulp.
            off = s1[0] / n[0]
            wrong = np.abs(off) > 0.5 * np.abs(np.spacing(head))
            if not wrong.any():
                break
            head = np.where(wrong, head + off, head)
        # sum w (x - head)**2 = s2 - 2 delta s1 + n delta**2 = s2 - delta (s1 + s1_new)
        s2 = dd_sub(self.s2, _dd_mul_unnormalized(delta, dd_add(self.s1, s1)))
        return PowerSums(head, self.count, self.n, s1, s2)._emptied()

    def moments(self) -> Moments:
        """Float64 :class:`Moments` per group: ``n`` of shape (n_groups,), mean and ``m2``."""
        alive = self.count > 0
        n = self.n[0]
        safe = (n if alive.all() else np.where(alive, n, 1.0))[:, None]
        offset = self.s1[0] / safe
        mean = self.shift + offset
        m2 = np.maximum((self.s2[0] - self.s1[0] * offset) + self.s2[1], 0.0)
        if not alive.all():
            rows = alive[:, None]
            n, mean, m2 = (
                np.where(alive, n, 0.0),
                np.where(rows, mean, 0.0),
                np.where(rows, m2, 0.0),
            )
        return Moments(n, mean, m2)


def power_sums_of(X, sample_weight=None, *, shift, groups=None, n_groups=None) -> PowerSums:
    """:class:`PowerSums` of the rows of ``X`` about ``shift``, per group.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows (dense, finite).
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights; None means 1.
    shift : ndarray of shape (n_groups, n_features) or (n_features,)
        Shift of each group.
    groups : ndarray of int of shape (n_samples,), default=None
        Group of each row; None puts every row in one group.
    n_groups : int, default=None
        Number of groups (required with ``groups``).

    Returns
    -------
    PowerSums

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._moments import power_sums_of
    >>> X = 1e8 + np.array([[0.5], [1.5], [4.0]])
    >>> sums = power_sums_of(X, shift=X.mean(axis=0)).recentred()
    >>> moments = sums.minus(power_sums_of(X[2:], shift=sums.shift)).recentred().moments()
    >>> moments.n.tolist(), moments.mean.tolist(), moments.m2.tolist()
    ([2.0], [[100000001.0]], [[0.5]])
    """
    X = np.asarray(X, dtype=np.float64)
    n_rows, n_features = X.shape
    if groups is None:
        n_groups, row_group = 1, np.zeros(n_rows, dtype=np.intp)
    else:
        row_group = np.asarray(groups, dtype=np.intp)
    shift = np.asarray(shift, dtype=np.float64)
    if shift.shape != (n_groups, n_features):
        shift = np.array(np.broadcast_to(shift, (n_groups, n_features)))
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if w is not None and np.all(w == 1.0):
        w = None  # unit weights: the products are exact
    rows_per_group = np.bincount(row_group, minlength=n_groups)
    count = rows_per_group if w is None else np.bincount(row_group[w != 0], minlength=n_groups)
    count = count.astype(np.int64)
    if w is None:
        n = (rows_per_group.astype(np.float64), np.zeros(n_groups))
    else:
        n = dd_sums(w, row_group, n_groups)
    if n_rows and rows_per_group.max() == 1:
        return _sums_of_single_rows(X, w, shift, row_group, count, n)
    # Bounds of |x - shift| and of the products, rounded up, fix the extraction grids.
    if n_rows:
        reach = np.maximum(np.abs(X.max(axis=0) - shift), np.abs(shift - X.min(axis=0))).max(0)
    else:
        reach = np.zeros(n_features)
    reach = reach * (1 + 2.0**-50)
    top_w = 1.0 if w is None or not n_rows else float(np.max(np.abs(w))) * (1 + 2.0**-50)
    s1 = _Extraction(top_w * reach, n_rows)
    s2 = _Extraction(top_w * reach * reach * (1 + 2.0**-50), n_rows)
    for rows in _row_chunks(n_rows, n_features):
        g = row_group[rows]
        total = _group_total(g, n_groups)
        dh, dl = two_sum(X[rows], -shift[g])  # x - shift, exactly
        square, square_err = two_prod(dh, dh)
        square_err += dl * (2.0 * dh + dl)
        if w is None:
            s1.add(dh, total, dl)
            s2.add(square, total, square_err)
        else:
            wc = w[rows, None]
            p1, e1 = two_prod(wc, dh)
            s1.add(p1, total, e1 + wc * dl)
            p2, e2 = two_prod(wc, square)
            s2.add(p2, total, e2 + wc * square_err)
    like = np.zeros((n_groups, n_features))
    return PowerSums(shift, count, n, s1.pair(like), s2.pair(like))


def _sums_of_single_rows(X, w, shift, row_group, count, n) -> PowerSums:
    """:func:`power_sums_of` when no group has two rows: each sum is one row's terms, exact
    but for the rounding of ``w (x - shift)**2`` to a double-double."""
    dh, dl = two_sum(X, -shift[row_group])
    square, square_err = two_prod(dh, dh)
    square_err += dl * (2.0 * dh + dl)
    if w is None:
        s1, s2 = two_sum(dh, dl), two_sum(square, square_err)
    else:
        wc = w[:, None]
        p1, e1 = two_prod(wc, dh)
        s1 = two_sum(p1, e1 + wc * dl)
        p2, e2 = two_prod(wc, square)
        s2 = two_sum(p2, e2 + wc * square_err)
    shape = (shift.shape[0], X.shape[1])
    out = []
    for pair in (s1, s2):
        placed = (np.zeros(shape), np.zeros(shape))
        placed[0][row_group], placed[1][row_group] = pair
        out.append(placed)
    return PowerSums(shift, count, n, *out)
