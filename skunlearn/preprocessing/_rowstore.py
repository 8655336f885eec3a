"""Training rows kept by their fit position, in blocks, so that forgetting rows is cheap.

``unlearn(indices)`` names rows by position and receives no data, so an estimator that must take
a row's contribution back out has to keep the row. Keeping all rows in one array would make
purging a row either an O(n) copy or an in-place write into the current state, which the
atomicity rule forbids. Here the rows live in blocks, each its own array (never a view of a
shared buffer): a request rebuilds only the blocks that held a forgotten row, without those
rows, and shares every other block with the previous state, which is never written to.

A row is a tuple of *fields* aligned on rows (features, targets, weights, encoded codes, ...).
A field may be a NumPy array, a SciPy sparse matrix or array (kept as CSR), a list, or any
container :func:`sklearn.utils._safe_indexing` can index by rows (a pandas DataFrame or Series),
or None when absent.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from scipy import sparse
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

__all__ = ["RowStore"]


def default_block_size(n_rows: int) -> int:
    """Rows per block for ``n_rows`` rows.

    Forgetting one row copies its block (``B`` rows) and the list of blocks (``n / B`` entries),
    and estimators that keep a summary per block rescan one block and the ``n / B`` summaries:
    ``B`` near ``sqrt(n)`` balances the two.
    """
    return max(16, 1 << math.ceil(math.log2(max(math.isqrt(max(n_rows, 1)), 1))))


def _as_container(field):
    """``field`` as a container the store can slice by rows."""
    if field is None or isinstance(field, np.ndarray | list) or sparse.issparse(field):
        return field.tocsr() if sparse.issparse(field) else field
    if hasattr(field, "iloc"):  # pandas keeps its dtypes and column names
        return field
    return np.asarray(field)


def _rows(field, index):
    """Rows ``index`` (an int array or a slice) of ``field``, as a new object."""
    if field is None:
        return None
    if isinstance(field, np.ndarray):
        # Basic slicing returns a view of the caller's buffer: copy so that the store owns
        # its rows (and a pickle of a block never drags the whole buffer along).
        return field[index].copy() if isinstance(index, slice) else field[index]
    if sparse.issparse(field):
        return field[index].copy()
    if isinstance(field, list):
        if isinstance(index, slice):
            return field[index]
        return [field[i] for i in index]
    out = _safe_indexing(field, index)
    return out.copy() if hasattr(out, "copy") else out


def _rows_without(field, local: np.ndarray, n_held: int):
    """``field`` without its rows ``local`` (sorted), as a new object."""
    if isinstance(field, np.ndarray) and local.size <= 8:
        # Copying the runs between the removed rows is cheaper than gathering the kept ones.
        bounds = [-1, *local.tolist(), n_held]
        return np.concatenate([field[a + 1 : b] for a, b in pairwise(bounds)])
    keep = np.ones(n_held, dtype=bool)
    keep[local] = False
    return _rows(field, np.flatnonzero(keep))


def concat_rows(parts: list):
    """Stack the row blocks ``parts`` of one field (all of the same kind)."""
    first = parts[0]
    if first is None:
        return None
    if len(parts) == 1:
        return first
    if any(sparse.issparse(part) for part in parts):  # partial_fit may mix dense and sparse
        return sparse.vstack(parts, format="csr")
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    if isinstance(first, list):
        return [row for part in parts for row in part]
    if hasattr(first, "iloc"):  # pandas DataFrame or Series
        import pandas as pd

        return pd.concat(parts)
    return np.concatenate([np.asarray(part) for part in parts])


class RowStore:
    """Rows addressed by their fit position, in blocks; immutable.

    Parameters
    ----------
    blocks : list of tuple
        Per block, one entry per field: that field's retained rows of the block (or None).
    positions : list of ndarray of int
        Per block, the sorted positions of its retained rows.
    starts : ndarray of int
        Per block, the first position of the range of positions it was built from.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.preprocessing._rowstore import RowStore
    >>> store = RowStore.from_rows((np.arange(10.0).reshape(5, 2),), block_size=2)
    >>> store = store.without(np.array([1, 3]))[0]
    >>> store.rows()[0].tolist()
    [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    >>> store.take(np.array([4]))[0].tolist()
    [[8.0, 9.0]]
    """

    def __init__(self, blocks: list, positions: list, starts: np.ndarray):
        self.blocks = blocks
        self.positions = positions
        self.starts = starts

    @classmethod
    def from_rows(cls, fields: tuple, *, start: int = 0, block_size: int | None = None):
        """Copy the rows of ``fields`` into blocks, numbering them from ``start``."""
        fields = tuple(_as_container(f) for f in fields)
        n = next(_num_samples(f) for f in fields if f is not None)
        size = block_size or default_block_size(n)
        bounds = list(range(0, n, size))
        blocks = [tuple(_rows(f, slice(lo, min(lo + size, n))) for f in fields) for lo in bounds]
        positions = [np.arange(start + lo, start + min(lo + size, n)) for lo in bounds]
        return cls(blocks, positions, np.asarray([start + lo for lo in bounds], dtype=np.intp))

    def append(self, other: RowStore) -> RowStore:
        """A store holding this store's rows followed by ``other``'s (later positions)."""
        return RowStore(
            self.blocks + other.blocks,
            self.positions + other.positions,
            np.concatenate([self.starts, other.starts]),
        )

    @property
    def n_rows(self) -> int:
        """Number of rows held."""
        return sum(p.size for p in self.positions)

    def __len__(self) -> int:
        return len(self.blocks)

    def _locate(self, positions: np.ndarray):
        """Yield ``(block, local rows, slice of positions)`` for sorted held positions."""
        block_of = np.searchsorted(self.starts, positions, side="right") - 1
        if positions.size == 1:  # the common request: skip the grouping
            bounds = [(0, 1)]
        else:
            cuts = (np.flatnonzero(block_of[1:] != block_of[:-1]) + 1).tolist()
            bounds = zip([0, *cuts], [*cuts, positions.size])
        for lo, hi in bounds:
            b = int(block_of[lo])
            wanted = positions[lo:hi]
            held = self.positions[max(b, 0)]
            local = np.searchsorted(held, wanted)
            if b < 0 or np.any(local >= held.size) or np.any(held[local] != wanted):
                raise KeyError(f"positions {wanted.tolist()} are not held by the store")
            yield b, local, slice(lo, hi)

    def take(self, positions: np.ndarray) -> tuple:
        """The fields of the rows at sorted ``positions`` (held), in that order."""
        return self.pop(positions)[0]

    def without(self, positions: np.ndarray) -> tuple[RowStore, list[tuple[int, slice]]]:
        """A new store without the rows at sorted ``positions``, and the blocks it rebuilt.

        Untouched blocks are shared with this store, which is left unchanged. Each rebuilt block
        comes with the slice of ``positions`` it lost (the same rows, in the same order, as
        :meth:`take` returns for ``positions``).
        """
        return self.pop(positions)[1:]

    def pop(self, positions: np.ndarray) -> tuple[tuple, RowStore, list[tuple[int, slice]]]:
        """:meth:`take` and :meth:`without` in one pass: ``(fields, new store, touched)``."""
        blocks = list(self.blocks)
        kept = list(self.positions)
        touched, parts = [], []
        for b, local, part in self._locate(positions):
            held = self.positions[b].size
            parts.append(tuple(_rows(f, local) for f in self.blocks[b]))
            blocks[b] = tuple(_rows_without(f, local, held) for f in self.blocks[b])
            kept[b] = _rows_without(self.positions[b], local, held)
            touched.append((b, part))
        fields = tuple(concat_rows([p[i] for p in parts]) for i in range(len(self.blocks[0])))
        return fields, RowStore(blocks, kept, self.starts), touched

    def block(self, b: int) -> tuple:
        """The fields of block ``b``."""
        return self.blocks[b]

    def rows(self) -> tuple:
        """The fields of every held row, in position order."""
        n_fields = len(self.blocks[0])
        return tuple(concat_rows([blk[i] for blk in self.blocks]) for i in range(n_fields))

    def held_positions(self) -> np.ndarray:
        """The positions of every held row, sorted."""
        return np.concatenate(self.positions)
