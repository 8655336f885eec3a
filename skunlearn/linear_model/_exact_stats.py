"""Sufficient statistics of a least-squares problem that can be downdated exactly.

Everything a ridge, ordinary least-squares or Bayesian ridge fit needs from the data is the
weighted count, the means and the centred second moment of the joint matrix ``Z = [X, Y]``:
its blocks are the centred ``X^T X``, ``X^T Y`` and ``Y^T Y``. They are kept as one
:class:`~skunlearn.utils._moments.Moments` (the shared merge / split helper), so forgetting rows
is one ``split_moments`` with the rows' own moments, in time independent of ``n``.

The rows themselves are kept in a :class:`~skunlearn.utils._rowstore.RowStore` with columns
``"X"`` (features as fitted), ``"Y"`` (targets, 2-D float64) and ``"w"`` (weights or None):
a request names rows by position, so their values are needed to subtract their moments.
A sparse ``X`` is stored sparse (CSR); the moments are dense (``p x p`` whatever the input), so
rows are densified a bounded number at a time when their moments are taken.

Two numerical precautions:

- Moments are taken of ``Z - shift`` where ``shift`` is one retained row, copied exactly.
  Large offsets (a feature around 1e8 with unit spread) then cost nothing: ``z - shift`` is
  computed exactly (Sterbenz) and every stored mean is of the order of the spread. A fixed
  shift such as the fit-time mean would leak the forgotten rows (``n * mean`` minus the
  retained sum is their sum), so the shift is a retained row, replaced by another retained
  row when it is itself forgotten.
- A downdate subtracts; when the rows removed carried most of a column's variance, what is
  left can be dominated by rounding. ``rounding`` bounds, per column of ``Z``, the absolute
  error that downdates have added to the diagonal of the second moment (each adds a few ulps
  of the diagonal *before* the split); callers compare ``rounding / diagonal`` with what their
  solve can tolerate and recompute from the retained rows when it is exceeded.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from skunlearn.utils._moments import Moments, merge_moments, moments_of, split_moments
from skunlearn.utils._rowstore import RowStore

__all__ = ["COLUMNS", "LinearMoments", "store_rows"]

COLUMNS = ("X", "Y", "w")

_EPS = np.finfo(np.float64).eps
# Target size of one block of rows: copying it on a request must stay cheap next to the p^3
# solve.
_BLOCK_BYTES = 1 << 17
# Passes over all the rows read consecutive blocks in chunks of about this size, so that small
# blocks do not mean many small matrix products.
_CHUNK_BYTES = 1 << 23
# Ulps of the pre-split diagonal that one split may add to a diagonal entry of the second
# moment: three roundings in m2 - m2_b - coef * delta**2, plus the rounding of delta itself.
# Calibrated in tests/test_linear_exact.py (the bound must stay above the measured drift).
_SPLIT_ULPS = 4.0


def store_rows(X, Y, sample_weight, block_bytes: int = _BLOCK_BYTES) -> RowStore:
    """Copy ``X`` (n, p), ``Y`` (n, k) and ``sample_weight`` (n,) or None into a row store.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_stats import store_rows
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> store = store_rows(X, np.ones((5, 1)), None).without(np.array([1, 3]))
    >>> store.column("X").tolist()
    [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    """
    columns = {"X": X, "Y": Y, "w": sample_weight}
    return RowStore.from_columns(columns, block_bytes=block_bytes)


def _shift_row(store):
    """The first retained row, features then targets, as float64, and its position."""
    position = int(next(iter(store)).positions[0])
    row = store.take(np.array([position]), COLUMNS)
    return position, _joint(row["X"], row["Y"])[0]


def _joint(X, Y):
    X = X.toarray() if sparse.issparse(X) else X
    return np.hstack([np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)])


def _dense_parts(chunk: dict, n_columns: int):
    """``chunk`` as is, or, when its ``X`` is sparse, cut into row ranges whose dense joint
    matrix takes about ``_CHUNK_BYTES`` (a chunk is sized by its dense columns only)."""
    X = chunk["X"]
    if not sparse.issparse(X):
        yield chunk
        return
    rows = max(1, _CHUNK_BYTES // (8 * n_columns))
    for lo in range(0, X.shape[0], rows):
        part = slice(lo, lo + rows)
        w = chunk["w"]
        yield {"X": X[part], "Y": chunk["Y"][part], "w": None if w is None else w[part]}


class LinearMoments:
    """Joint moments of ``[X, Y]`` about a retained row, and how far rounding may have moved them.

    Immutable: :meth:`without` returns a new instance.

    Parameters
    ----------
    moments : Moments
        Weighted count, mean of ``Z - shift`` and full centred second moment of ``Z``.
    shift : ndarray of shape (n_features + n_targets,)
        The retained row (features then targets) the mean is taken about.
    shift_position : int
        Its position in the last fit.
    n_features : int
        Number of columns of ``X`` (the rest of ``Z`` is ``Y``).
    rounding : ndarray of shape (n_features + n_targets,)
        Bound on the absolute rounding error that downdates added to ``diag(m2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_stats import LinearMoments, store_rows
    >>> rng = np.random.RandomState(0)
    >>> X, Y = 1e8 + rng.randn(50, 2), rng.randn(50, 1)
    >>> store = store_rows(X, Y, None)
    >>> stats = LinearMoments.from_store(store, n_features=2)
    >>> gone = np.array([0, 7])
    >>> rest = stats.without(store.take(gone, ("X", "Y", "w")), store.without(gone), gone)
    >>> xtx, _, _ = rest.gram(fit_intercept=True)
    >>> Xr = np.delete(X, gone, axis=0)
    >>> bool(np.allclose(xtx, (Xr - Xr.mean(0)).T @ (Xr - Xr.mean(0)), rtol=1e-12))
    True
    """

    def __init__(self, moments, shift, shift_position, n_features, rounding):
        self.moments = moments
        self.shift = shift
        self.shift_position = shift_position
        self.n_features = n_features
        self.rounding = rounding

    def __setstate__(self, state):
        # skops saves a Moments (a tuple subclass) as a plain tuple: give it its type back.
        self.__dict__.update(state)
        self.moments = Moments(*self.moments)

    @classmethod
    def from_store(cls, store, n_features: int) -> LinearMoments:
        """Moments of the retained rows of a row store, computed from scratch."""
        position, shift = _shift_row(store)
        # Chunk by chunk, merged with the stable pairwise formulas: memory stays at one chunk.
        total = None
        for chunk in store.chunks(COLUMNS, _CHUNK_BYTES):
            for rows in _dense_parts(chunk, shift.size):
                part = moments_of(_joint(rows["X"], rows["Y"]), rows["w"], full=True, shift=shift)
                total = part if total is None else merge_moments(total, part)
        return cls(total, shift, position, n_features, np.zeros(shift.size))

    @property
    def weight(self) -> float:
        """Total sample weight (the number of rows when unweighted)."""
        return float(self.moments.n)

    @property
    def mean(self) -> np.ndarray:
        """Weighted mean of ``[X, Y]``."""
        return self.shift + self.moments.mean

    def without(self, removed: dict, rows_left, positions) -> LinearMoments:
        """Moments once the rows ``removed`` (columns ``X, Y, w``) at ``positions`` are gone.

        ``rows_left`` is the row store after the removal, used only to pick a new shift row
        when the current one is among ``positions``.
        """
        Z = _joint(removed["X"], removed["Y"])
        part = moments_of(Z, removed["w"], full=True, shift=self.shift)
        rest = split_moments(self.moments, part)
        rounding = self.rounding + _SPLIT_ULPS * _EPS * np.diagonal(self.moments.m2)
        shift, shift_position = self.shift, self.shift_position
        if np.isin(shift_position, positions):
            shift_position, shift = _shift_row(rows_left)
            # Both shifts are rows of the data: their difference is exact when they are close
            # (the large-offset case), so the mean stays at the precision of the spread.
            rest = Moments(rest.n, rest.mean + (self.shift - shift), rest.m2)
        return LinearMoments(rest, shift, shift_position, self.n_features, rounding)

    def relative_rounding(self) -> float:
        """Largest ``rounding / diag(m2)`` over the columns (0 when nothing was downdated).

        A column whose variance was zeroed by rounding, not by the data, gives ``inf``.
        """
        diag = np.diagonal(self.moments.m2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.rounding > 0, self.rounding / diag, 0.0)
        ratio = np.where(np.isnan(ratio) | (ratio < 0), np.inf, ratio)
        return float(np.max(ratio, initial=0.0))

    def gram(self, fit_intercept: bool):
        """``(X^T X, X^T Y, Y^T Y)``, weighted; centred when ``fit_intercept``.

        Without an intercept the raw cross products are rebuilt from the centred ones,
        ``Z^T Z = m2 + n * mean mean^T``, a sum of non-negative terms (no cancellation).
        """
        m2 = self.moments.m2
        if not fit_intercept:
            mean = self.mean
            m2 = m2 + self.moments.n * np.outer(mean, mean)
        p = self.n_features
        return m2[:p, :p], m2[:p, p:], m2[p:, p:]
