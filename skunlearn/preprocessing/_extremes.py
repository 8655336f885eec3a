"""Per-feature minimum and maximum of retained rows, kept per block of a row store.

The minimum of a multiset cannot be taken back by subtraction: once the smallest value is
forgotten, the next one has to be found among the rows that remain. Keeping one minimum and one
maximum per block of rows (a square-root decomposition) makes that search cheap: forgetting a
row rescans only the features of its block where it attained the block's extreme, and the
overall extremes are recomputed from the block summaries only for the features where the row
attained them. Missing values (NaN) are ignored, as scikit-learn's scalers ignore them.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.utils.sparsefuncs import min_max_axis

__all__ = ["BlockExtremes"]


def _extremes(block, n_features: int, dtype):
    """NaN-ignoring per-feature ``(min, max)`` of one block of rows (NaN where none)."""
    if block.shape[0] == 0:
        empty = np.full(n_features, np.nan, dtype=dtype)
        return empty, empty.copy()
    if sparse.issparse(block):
        # Includes the implicit zeros of the block's rows, as scikit-learn's sparse path does.
        mins, maxs = min_max_axis(block, axis=0, ignore_nan=True)
        return np.asarray(mins, dtype=dtype), np.asarray(maxs, dtype=dtype)
    # fmin / fmax skip NaN (a column of NaN stays NaN) without nanmin's all-NaN warning.
    return np.fmin.reduce(block, axis=0), np.fmax.reduce(block, axis=0)


class BlockExtremes:
    """Per-block, per-feature minimum and maximum of the rows of a :class:`RowStore` field.

    Parameters
    ----------
    mins, maxs : ndarray of shape (n_blocks, n_features)
        NaN-ignoring extremes of each block (NaN for a block without a value).

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.preprocessing._extremes import BlockExtremes
    >>> from skunlearn.utils._rowstore import RowStore
    >>> X = np.array([[1.0], [5.0], [3.0], [2.0]])
    >>> store = RowStore.from_columns({"X": X}, block_size=2)
    >>> ext = BlockExtremes.of(store)
    >>> ext.overall()
    (array([1.]), array([5.]))
    >>> taken, new_store, touched = store.pop(np.array([1]))
    >>> ext.after_removal(new_store, touched, taken["X"]).overall()
    (array([1.]), array([3.]))
    """

    def __init__(self, mins: np.ndarray, maxs: np.ndarray):
        self.mins = mins
        self.maxs = maxs

    @classmethod
    def of(cls, store, field: str = "X") -> BlockExtremes:
        """Summarize every block of ``store``'s column ``field``."""
        first = store.blocks[0].data[field]
        n_features, dtype = first.shape[1], first.dtype
        pairs = [_extremes(block.data[field], n_features, dtype) for block in store.blocks]
        return cls(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))

    def append(self, other: BlockExtremes) -> BlockExtremes:
        """Summaries of this store's blocks followed by ``other``'s."""
        return BlockExtremes(np.vstack([self.mins, other.mins]), np.vstack([self.maxs, other.maxs]))

    def overall(self, features=None) -> tuple[np.ndarray, np.ndarray]:
        """NaN-ignoring minimum and maximum over all blocks (of ``features`` only if given)."""
        mins, maxs = (
            (self.mins, self.maxs)
            if features is None
            else (
                self.mins[:, features],
                self.maxs[:, features],
            )
        )
        return np.fmin.reduce(mins, axis=0), np.fmax.reduce(maxs, axis=0)

    def after_removal(self, store, touched, removed, field: str = "X") -> BlockExtremes:
        """Summaries once the rows ``removed`` are gone; ``self`` is left unchanged.

        Parameters
        ----------
        store : RowStore
            The store without the rows (as returned by :meth:`RowStore.pop`).
        touched : list of (int, slice)
            The rebuilt blocks, each with the slice of ``removed`` that it lost.
        removed : ndarray of shape (n_removed, n_features)
            The removed rows (dense), in the order of ``touched``'s slices.
        field : str, default="X"
            The column of ``store`` summarized.
        """
        mins, maxs = self.mins, self.maxs
        copied = False
        for b, part in touched:
            lost = removed[part]
            # A block's extreme can only move in a feature where a lost row attained it.
            hit = np.any(lost == mins[b], axis=0) | np.any(lost == maxs[b], axis=0)
            if not hit.any():
                continue
            if not copied:
                mins, maxs, copied = mins.copy(), maxs.copy(), True
            block = store.blocks[b].data[field]
            if sparse.issparse(block) or hit.all():
                mins[b], maxs[b] = _extremes(block, mins.shape[1], mins.dtype)
            else:
                cols = np.flatnonzero(hit)
                mins[b, cols], maxs[b, cols] = _extremes(block[:, cols], cols.size, mins.dtype)
        return BlockExtremes(mins, maxs) if copied else self
