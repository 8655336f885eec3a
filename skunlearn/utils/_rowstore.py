"""Training rows kept in copy-on-write blocks, so that forgetting rows is cheap.

``unlearn(indices)`` names rows by position and receives no data, so an estimator that must take
a row's contribution back out (or whose model *is* its rows, as for neighbours) has to keep the
rows. The contract forbids mutating state in place (atomicity) and requires forgotten rows to
leave the pickle (purge); one contiguous array would make every removal an O(n) copy. A
:class:`RowStore` instead cuts the positions into blocks of consecutive positions, each block
owning its arrays (never a view of the caller's buffer, which would keep forgotten rows
reachable and alias data the caller may change). Removing rows rebuilds only the blocks that
held them and shares every other block with the previous store, which is never written to: a
removal costs O(block size + number of blocks).

Each block holds ``positions`` (sorted training positions of its retained rows), named columns
aligned on those rows and an optional ``payload`` derived from them (for instance a search
index), rebuilt when rows leave. A column may be a NumPy array, a SciPy sparse matrix or array
(kept as CSR), a list, any container :func:`sklearn.utils._safe_indexing` indexes by rows (a
pandas DataFrame or Series), or None when absent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import pairwise

import numpy as np
from scipy import sparse
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

__all__ = ["RowBlock", "RowStore", "concat_rows", "default_block_size"]

# Removing this many rows or fewer from an array copies the runs between them, which is
# cheaper than gathering the kept rows through an index.
_FEW_ROWS = 8
# Without a size from the caller, a block holds at most about this many bytes of wide rows:
# forgetting one row copies its block, on every request, in every step that keeps rows.
_MAX_DEFAULT_BLOCK_BYTES = 1 << 17


def default_block_size(n_rows: int) -> int:
    """Rows per block for ``n_rows`` rows when the caller has no better size.

    Forgetting one row copies its block (``B`` rows) and the list of blocks (``n / B``
    entries), and estimators that keep a summary per block rescan one block and the ``n / B``
    summaries: ``B`` near ``sqrt(n)`` balances the two.

    Examples
    --------
    >>> from skunlearn.utils._rowstore import default_block_size
    >>> default_block_size(10), default_block_size(1_000_000)
    (16, 1024)
    """
    return max(16, 1 << math.ceil(math.log2(max(math.isqrt(max(n_rows, 1)), 1))))


def _as_container(column):
    """``column`` as a container the store can slice by rows."""
    if column is None or isinstance(column, np.ndarray | list):
        return column
    if sparse.issparse(column):
        return column.tocsr()
    if hasattr(column, "iloc"):  # pandas keeps its dtypes and column names
        return column
    return np.asarray(column)


def _row_bytes(column) -> float:
    """Approximate bytes per row of ``column`` (to size blocks)."""
    if column is None:
        return 0.0
    if sparse.issparse(column):
        n = max(column.shape[0], 1)
        return column.nnz * (column.data.itemsize + column.indices.itemsize) / n + 8
    if isinstance(column, np.ndarray):
        return column.itemsize * math.prod(column.shape[1:])
    return 8.0  # a reference per row; the objects themselves are not counted


def _rows(column, index):
    """Rows ``index`` (an int array or a slice) of ``column``, as a new object it owns."""
    if column is None:
        return None
    if isinstance(column, np.ndarray):
        # Basic slicing returns a view of the caller's buffer: copy so that the block owns its
        # rows (and a pickle of a block never drags the whole buffer along).
        return column[index].copy() if isinstance(index, slice) else column[index]
    if sparse.issparse(column):
        return column[index].copy()
    if isinstance(column, list):
        return column[index] if isinstance(index, slice) else [column[i] for i in index]
    out = _safe_indexing(column, index)
    return out.copy() if hasattr(out, "copy") else out


def _rows_without(column, local: np.ndarray, n_held: int):
    """``column`` without its rows ``local`` (sorted), as a new object."""
    if isinstance(column, np.ndarray) and local.size <= _FEW_ROWS:
        bounds = [-1, *local.tolist(), n_held]
        return np.concatenate([column[a + 1 : b] for a, b in pairwise(bounds)])
    keep = np.ones(n_held, dtype=bool)
    keep[local] = False
    return _rows(column, np.flatnonzero(keep))


def concat_rows(parts: list):
    """Stack the row blocks ``parts`` of one column into a new object (None if absent).

    The result never shares memory with the parts, so a caller may modify it.
    """
    first = parts[0]
    if first is None:
        return None
    if len(parts) == 1:
        return _rows(first, slice(None))
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


class RowBlock:
    """Retained rows of one block of training positions. Never modified once built.

    Parameters
    ----------
    positions : ndarray of int
        Sorted training positions of the rows.
    data : mapping of str to column
        The columns, each aligned with ``positions`` (None for an absent column).
    payload : object, default=None
        Something derived from the rows, rebuilt when rows leave.
    """

    __slots__ = ("data", "payload", "positions")

    def __init__(self, positions: np.ndarray, data: Mapping, payload=None):
        self.positions = positions
        self.data = dict(data)
        self.payload = payload

    def __len__(self) -> int:
        return self.positions.size

    def __getstate__(self):
        return self.positions, self.data, self.payload

    def __setstate__(self, state):
        self.positions, self.data, self.payload = state


class RowStore:
    """Rows addressed by their training position, in copy-on-write blocks; immutable.

    Parameters
    ----------
    starts : ndarray of int
        First training position covered by each block (increasing).
    blocks : list of RowBlock
        The blocks, aligned with ``starts``; a block may be empty.
    block_size : int
        Rows per block of :meth:`from_columns` (and of :meth:`appended` batches).

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._rowstore import RowStore
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> store = RowStore.from_columns({"X": X, "y": np.arange(5)}, block_size=2)
    >>> smaller = store.without(np.array([1, 2]))
    >>> smaller.column("X").tolist(), len(store), len(smaller)
    ([[0.0, 1.0], [6.0, 7.0], [8.0, 9.0]], 5, 3)
    >>> taken, rest, touched = smaller.pop(np.array([4]))
    >>> taken["y"].tolist(), rest.positions().tolist(), touched
    ([4], [0, 3], [(2, slice(0, 1, None))])
    """

    __slots__ = ("block_size", "blocks", "starts")

    def __init__(self, starts: np.ndarray, blocks: list[RowBlock], block_size: int):
        self.starts = starts
        self.blocks = blocks
        self.block_size = block_size

    def __getstate__(self):
        return self.starts, self.blocks, self.block_size

    def __setstate__(self, state):
        self.starts, self.blocks, self.block_size = state

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def from_columns(
        cls,
        columns: Mapping,
        *,
        block_size: int | None = None,
        block_bytes: int | None = None,
        start: int = 0,
        positions: np.ndarray | None = None,
        build_payload: Callable[[RowBlock], object] | None = None,
    ) -> RowStore:
        """Copy rows given as named columns of equal length into blocks.

        Parameters
        ----------
        columns : mapping of str to column
            The columns (at least one not None).
        block_size : int, default=None
            Rows per block. None: ``block_bytes`` if given, else :func:`default_block_size`
            capped at about 128 KiB of rows.
        block_bytes : int, default=None
            Target bytes per block (positions included), when ``block_size`` is None.
        start : int, default=0
            Position of the first row; rows are numbered ``start, start + 1, ...``.
        positions : ndarray of int, default=None
            Sorted positions of the rows, instead of numbering them from ``start``.
        build_payload : callable, default=None
            ``build_payload(block)`` derives each block's payload from its rows.

        Returns
        -------
        RowStore
        """
        columns = {name: _as_container(c) for name, c in columns.items()}
        n = next((_num_samples(c) for c in columns.values() if c is not None), None)
        if n is None:
            raise ValueError(f"No column holds rows: every column of {list(columns)} is None.")
        if block_size is None:
            per_row = 8 + sum(_row_bytes(c) for c in columns.values())
            if block_bytes is None:
                by_bytes = max(16, int(_MAX_DEFAULT_BLOCK_BYTES // per_row))
                block_size = min(default_block_size(n), by_bytes)
            else:
                block_size = max(1, int(block_bytes // per_row))
        if positions is None:
            positions = np.arange(start, start + n, dtype=np.intp)
        else:
            positions = np.asarray(positions, dtype=np.intp)
        starts, blocks = [], []
        for lo in range(0, n, block_size):
            rows = slice(lo, min(lo + block_size, n))
            block = RowBlock(
                positions[rows].copy(), {k: _rows(c, rows) for k, c in columns.items()}
            )
            if build_payload is not None:
                block.payload = build_payload(block)
            starts.append(positions[lo])
            blocks.append(block)
        return cls(np.asarray(starts, dtype=np.intp), blocks, int(block_size))

    def append(self, other: RowStore) -> RowStore:
        """A new store holding this store's rows followed by ``other``'s (later positions)."""
        return RowStore(
            np.concatenate([self.starts, other.starts]), self.blocks + other.blocks, self.block_size
        )

    def appended(self, columns: Mapping, first: int, build_payload=None) -> RowStore:
        """A new store with rows ``first, first + 1, ...`` added, in blocks of this store's size."""
        batch = RowStore.from_columns(
            columns, block_size=self.block_size, start=first, build_payload=build_payload
        )
        return self.append(batch)

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of rows held."""
        return sum(len(b) for b in self.blocks)

    def __iter__(self) -> Iterator[RowBlock]:
        """The non-empty blocks, in position order."""
        return (b for b in self.blocks if len(b))

    def _names(self, names) -> list:
        return list(self.blocks[0].data) if names is None else list(names)

    def _locate(self, positions: np.ndarray):
        """Yield ``(block, local rows, slice of positions)`` for sorted held ``positions``."""
        positions = np.asarray(positions, dtype=np.intp)
        if positions.size == 0:
            return
        block_of = np.searchsorted(self.starts, positions, side="right") - 1
        if block_of[0] == block_of[-1]:  # the common request: one block, skip the grouping
            bounds = [(0, positions.size)]
        else:
            cuts = (np.flatnonzero(block_of[1:] != block_of[:-1]) + 1).tolist()
            bounds = zip([0, *cuts], [*cuts, positions.size])
        for lo, hi in bounds:
            b = int(block_of[lo])
            wanted = positions[lo:hi]
            held = self.blocks[max(b, 0)].positions
            local = np.searchsorted(held, wanted)
            if b < 0 or np.any(local >= held.size) or np.any(held[local] != wanted):
                raise KeyError(f"positions {wanted.tolist()} are not held by the store")
            yield b, local, slice(lo, hi)

    def _gathered(self, name, parts: list):
        if not parts:  # an empty request: empty rows of the column's kind
            return _rows(self.blocks[0].data[name], np.empty(0, dtype=np.intp))
        return concat_rows(parts)

    def take(self, positions: np.ndarray, names: Iterable[str] | None = None) -> dict:
        """The rows at sorted held ``positions``, in that order, per column of ``names``
        (every column by default). Raises ``KeyError`` for a position not held."""
        names = self._names(names)
        parts = {name: [] for name in names}
        for b, local, _ in self._locate(positions):
            for name in names:
                parts[name].append(_rows(self.blocks[b].data[name], local))
        return {name: self._gathered(name, p) for name, p in parts.items()}

    def column(self, name: str):
        """All held rows of one column, in position order, as a new object."""
        return concat_rows([b.data[name] for b in self] or [self.blocks[0].data[name]])

    def chunks(self, names: Iterable[str], chunk_bytes: int) -> Iterator[dict]:
        """Yield the held rows of ``names`` in position order, several blocks at a time.

        A pass over all rows then costs a few large operations instead of one per block, so
        that small blocks (cheap to copy on a request) do not mean many small products. A chunk
        of one block yields the block's own arrays: read them, never write to them.
        """
        names = list(names)
        group, size = [], 0
        for block in self:
            group.append(block.data)
            size += sum(getattr(block.data[name], "nbytes", 0) for name in names)
            if size >= chunk_bytes:
                yield _joined(group, names)
                group, size = [], 0
        if group:
            yield _joined(group, names)

    def positions(self) -> np.ndarray:
        """Training positions of the held rows, in order."""
        parts = [b.positions for b in self]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)

    def blocks_touched(self, positions: np.ndarray) -> list[int]:
        """Indices of the blocks holding sorted ``positions``."""
        return [b for b, _, _ in self._locate(positions)]

    # -- removing ----------------------------------------------------------------------------

    def pop(
        self, positions: np.ndarray, names: Iterable[str] | None = None, build_payload=None
    ) -> tuple[dict, RowStore, list[tuple[int, slice]]]:
        """:meth:`take` and :meth:`without` in one pass.

        Returns
        -------
        taken : dict
            The rows at ``positions`` per column of ``names`` (every column by default).
        store : RowStore
            A new store without them; this store is left unchanged.
        touched : list of (int, slice)
            Each rebuilt block, with the slice of ``positions`` (and of ``taken``) it lost.
        """
        names = self._names(names)
        parts = {name: [] for name in names}
        blocks = list(self.blocks)
        touched = []
        for b, local, part in self._locate(positions):
            old = self.blocks[b]
            for name in names:
                parts[name].append(_rows(old.data[name], local))
            data = {k: _rows_without(c, local, len(old)) for k, c in old.data.items()}
            block = RowBlock(_rows_without(old.positions, local, len(old)), data)
            if build_payload is not None and len(block):  # an emptied block gets no payload
                block.payload = build_payload(block)
            blocks[b] = block
            touched.append((b, part))
        taken = {name: self._gathered(name, p) for name, p in parts.items()}
        return taken, RowStore(self.starts, blocks, self.block_size), touched

    def without(self, positions: np.ndarray, build_payload=None) -> RowStore:
        """A new store without the rows at sorted held ``positions``.

        Untouched blocks are shared; touched blocks are rebuilt from their remaining rows (and
        their payload with ``build_payload``; an emptied block gets no payload).
        """
        return self.pop(positions, names=(), build_payload=build_payload)[1]

    def rebuilt(self, build_payload) -> RowStore:
        """A new store whose non-empty blocks all get a fresh payload (rows unchanged)."""
        blocks = []
        for old in self.blocks:
            block = RowBlock(old.positions, old.data)
            if len(block):
                block.payload = build_payload(block)
            blocks.append(block)
        return RowStore(self.starts, blocks, self.block_size)


def _joined(group: list, names: list) -> dict:
    if len(group) == 1:
        return {name: group[0][name] for name in names}
    return {name: concat_rows([data[name] for data in group]) for name in names}
