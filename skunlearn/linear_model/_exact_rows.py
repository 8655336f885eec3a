"""The training rows the exact linear models keep, in the shared copy-on-write row store.

An ``unlearn`` request names rows by position, so the rows' values are needed to subtract
their statistics. They live in a :class:`skunlearn.utils._rowstore.RowStore` with columns
``"X"`` (features as fitted), ``"Y"`` (targets, 2-D float64) and ``"w"`` (weights or None),
which copies only the blocks that held a forgotten row. Two things are added here:

- every block is built as its own copy: slicing one array into blocks would give views that
  keep the whole original buffer, forgotten rows included, reachable from the model;
- passes over all rows (the statistics) read several blocks at a time, so that small blocks
  (cheap to copy on a request) do not mean many small matrix products.
"""

from __future__ import annotations

import numpy as np

from skunlearn.utils._rowstore import RowBlock, RowStore

__all__ = ["COLUMNS", "first_position", "iter_chunks", "store_rows"]

COLUMNS = ("X", "Y", "w")

# Target size of one block: copying it on a request must stay cheap next to the p^3 solve.
_BLOCK_BYTES = 1 << 17
# Passes over all the rows read consecutive blocks in chunks of about this size.
_CHUNK_BYTES = 1 << 23


def store_rows(X, Y, sample_weight, block_bytes: int = _BLOCK_BYTES) -> RowStore:
    """Copy ``X`` (n, p), ``Y`` (n, k) and ``sample_weight`` (n,) or None into a row store.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_rows import store_rows
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> store = store_rows(X, np.ones((5, 1)), None).without(np.array([1, 3]))
    >>> store.column("X").tolist()
    [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    >>> any(block.data["X"].base is not None for block in store)  # no views of X
    False
    """
    n = X.shape[0]
    row_bytes = X.itemsize * X.shape[1] + Y.itemsize * Y.shape[1] + 8
    block_size = max(1, block_bytes // row_bytes)
    starts, blocks = [], []
    for lo in range(0, n, block_size):
        hi = min(lo + block_size, n)
        data = {
            "X": np.array(X[lo:hi], order="C"),
            "Y": np.array(Y[lo:hi], order="C"),
            "w": None if sample_weight is None else np.array(sample_weight[lo:hi]),
        }
        starts.append(lo)
        blocks.append(RowBlock(np.arange(lo, hi, dtype=np.intp), data))
    return RowStore(np.asarray(starts, dtype=np.intp), blocks, block_size)


def iter_chunks(store: RowStore, chunk_bytes: int = _CHUNK_BYTES):
    """Yield ``(X, Y, w)`` of the retained rows in position order, several blocks at a time."""
    group, size = [], 0
    for block in store:
        group.append(block.data)
        size += block.data["X"].nbytes + block.data["Y"].nbytes
        if size >= chunk_bytes:
            yield _concatenate(group)
            group, size = [], 0
    if group:
        yield _concatenate(group)


def first_position(store: RowStore) -> int:
    """The smallest retained position."""
    for block in store:
        return int(block.positions[0])
    raise ValueError("the store holds no rows")


def _concatenate(parts):
    if len(parts) == 1:
        return parts[0]["X"], parts[0]["Y"], parts[0]["w"]
    X = np.concatenate([p["X"] for p in parts])
    Y = np.concatenate([p["Y"] for p in parts])
    w = None if parts[0]["w"] is None else np.concatenate([p["w"] for p in parts])
    return X, Y, w
