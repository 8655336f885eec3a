"""Training rows kept in blocks that are copied on write, so that forgetting rows is cheap.

Exact decremental estimators must keep the rows they were trained on (to know what to subtract,
or, for neighbours, because the rows *are* the model), yet the contract forbids mutating state
in place (atomicity) and requires forgotten rows to leave the pickle (purge). One contiguous
array would make every removal an O(n) copy. A :class:`RowStore` instead cuts the positions of
the last fit into fixed blocks; removing rows copies only the blocks that held them and shares
every other block with the previous store. A removal therefore costs O(block_size + n_blocks)
and never touches an array the previous store references.

Each block holds ``positions`` (sorted training positions of its retained rows), named ``data``
columns sliced by row (dense arrays or CSR matrices; None for an absent column) and an optional
``payload`` derived from the rows (for instance a search index), rebuilt when rows leave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import scipy.sparse as sp

__all__ = ["RowBlock", "RowStore"]


def _take_rows(column, rows):
    if column is None:
        return None
    return column[rows]


def _copy_rows(column, lo: int, hi: int):
    if column is None:
        return None
    return column[lo:hi].copy()


def _stack(parts: list):
    if not parts or parts[0] is None:
        return None
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts, axis=0)


class RowBlock:
    """Retained rows of one block of training positions. Never modified once built."""

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
    """Rows of the last fit, cut into copy-on-write blocks of consecutive positions.

    Parameters
    ----------
    starts : ndarray of int
        First training position covered by each block (increasing).
    blocks : list of RowBlock
        The blocks, aligned with ``starts``; a block may be empty.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.utils._rowstore import RowStore
    >>> store = RowStore.from_columns({"X": np.arange(10.0).reshape(5, 2)}, block_size=2)
    >>> smaller = store.without(np.array([1, 2]))
    >>> smaller.column("X").tolist(), len(store), len(smaller)
    ([[0.0, 1.0], [6.0, 7.0], [8.0, 9.0]], 5, 3)
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

    @staticmethod
    def _cut(columns: Mapping, first: int, block_size: int, build_payload):
        n = next(c.shape[0] for c in columns.values() if c is not None)
        starts, blocks = [], []
        for lo in range(0, n, block_size):
            hi = min(lo + block_size, n)
            # Copies, not views: a view would keep the caller's whole array (forgotten rows
            # included) reachable from the model, and would change if the caller mutated it.
            data = {k: _copy_rows(c, lo, hi) for k, c in columns.items()}
            block = RowBlock(np.arange(first + lo, first + hi, dtype=np.intp), data)
            if build_payload is not None:
                block.payload = build_payload(block)
            starts.append(first + lo)
            blocks.append(block)
        return np.asarray(starts, dtype=np.intp), blocks

    @classmethod
    def from_columns(
        cls,
        columns: Mapping,
        *,
        block_size: int,
        build_payload: Callable[[RowBlock], object] | None = None,
    ) -> RowStore:
        """Store rows ``0 .. n - 1`` given as named columns of equal length.

        ``build_payload(block)``, if given, derives each block's payload from its rows.
        """
        starts, blocks = cls._cut(columns, 0, block_size, build_payload)
        return cls(starts, blocks, int(block_size))

    def appended(self, columns: Mapping, first: int, build_payload=None) -> RowStore:
        """A new store with rows ``first ..`` added after the existing ones."""
        starts, blocks = self._cut(columns, first, self.block_size, build_payload)
        starts = np.concatenate([self.starts, starts])
        return RowStore(starts, self.blocks + blocks, self.block_size)

    def __len__(self) -> int:
        return sum(len(b) for b in self.blocks)

    def __iter__(self) -> Iterator[RowBlock]:
        return (b for b in self.blocks if len(b))

    def _block_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, positions, side="right") - 1

    def _groups(self, positions: np.ndarray):
        """Yield ``(block index, rows of positions within the block)`` for sorted positions."""
        if positions.size == 0:
            return
        block_ids = self._block_of(positions)
        if block_ids[0] == block_ids[-1]:  # the common case: one block
            b = int(block_ids[0])
            yield b, np.searchsorted(self.blocks[b].positions, positions)
            return
        bounds = np.flatnonzero(np.diff(block_ids)) + 1
        for part in np.split(np.arange(positions.size), bounds):
            if part.size:
                b = int(block_ids[part[0]])
                rows = np.searchsorted(self.blocks[b].positions, positions[part])
                yield b, rows

    def take(self, positions: np.ndarray, names) -> dict:
        """Rows at sorted, retained ``positions``, in that order, for each column in ``names``."""
        parts = {name: [] for name in names}
        for b, rows in self._groups(positions):
            for name in names:
                parts[name].append(_take_rows(self.blocks[b].data[name], rows))
        return {name: _stack(p) for name, p in parts.items()}

    def without(self, positions: np.ndarray, build_payload=None) -> RowStore:
        """A new store without the rows at sorted, retained ``positions``.

        Untouched blocks are shared; touched blocks are rebuilt from their remaining rows (and
        their payload with ``build_payload``; an emptied block gets no payload).
        """
        blocks = list(self.blocks)
        for b, rows in self._groups(positions):
            old = self.blocks[b]
            keep = np.ones(len(old), dtype=bool)
            keep[rows] = False
            data = {k: _take_rows(c, keep) for k, c in old.data.items()}
            block = RowBlock(old.positions[keep], data)
            if build_payload is not None and len(block):
                block.payload = build_payload(block)
            blocks[b] = block
        return RowStore(self.starts, blocks, self.block_size)

    def rebuilt(self, build_payload) -> RowStore:
        """A new store whose non-empty blocks all get a fresh payload (rows unchanged)."""
        blocks = []
        for old in self.blocks:
            block = RowBlock(old.positions, old.data)
            if len(block):
                block.payload = build_payload(block)
            blocks.append(block)
        return RowStore(self.starts, blocks, self.block_size)

    def blocks_touched(self, positions: np.ndarray) -> list[int]:
        """Indices of the blocks holding ``positions``."""
        return sorted({b for b, _ in self._groups(positions)})

    def column(self, name: str):
        """All retained rows of one column, in training order."""
        return _stack([b.data[name] for b in self])

    def positions(self) -> np.ndarray:
        """Training positions of the retained rows, in order."""
        parts = [b.positions for b in self]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
