"""The block schedule of the class-partitioned ensemble: per-class seeds and row keys.

Exact unlearning here means: after forgetting rows, the model equals a fresh fit on the retained
rows. A fresh fit sees fewer rows, so nothing that decides how a class is trained may depend on
how many rows there are or on their positions. Two things are therefore derived from content:

- the seed of a class, from the fit's base seed and the class label (not its index, which shifts
  when a class disappears);
- the block of a row, from a hash of the row's bytes under its class seed. A row keeps its block
  whatever else is forgotten, so forgetting a row changes its own block and no earlier one.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy import sparse

from skunlearn.ensemble._shard import MAX_SEED

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# Sparse rows are hashed as their dense values, this many bytes of them at a time.
_DENSE_CHUNK_BYTES = 1 << 23


def class_seed(base_seed: int, label) -> int:
    """Seed of one class: a function of the fit's base seed and the class label only."""
    value = label.item() if isinstance(label, np.generic) else label
    token = f"{int(base_seed)}|{type(value).__name__}|{value!r}".encode()
    digest = hashlib.blake2b(token, digest_size=8).digest()
    return int.from_bytes(digest, "little") % MAX_SEED


def _splitmix64(h: np.ndarray) -> np.ndarray:
    # SplitMix64's finalizer: a bijection of uint64 whose output bits all depend on all input
    # bits. uint64 arithmetic wraps around, which is what the mixer needs.
    h = h + _GOLDEN
    h = (h ^ (h >> np.uint64(30))) * _MIX1
    h = (h ^ (h >> np.uint64(27))) * _MIX2
    return h ^ (h >> np.uint64(31))


def row_keys(X: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-uniform number in [0, 1) for each row, a function of its bytes and ``seed``.

    Parameters
    ----------
    X : ndarray, sparse matrix or DataFrame of shape (n_samples, n_features)
        Rows (an array is converted to float64 first, so a row has one byte representation;
        a sparse matrix is hashed as its dense rows, so it gets the keys of ``X.toarray()``;
        a DataFrame's rows are hashed by pandas or polars, column by column).
    seed : int
        The class seed.

    Returns
    -------
    keys : ndarray of shape (n_samples,)
    """
    if sparse.issparse(X):
        rows = max(1, _DENSE_CHUNK_BYTES // (8 * max(X.shape[1], 1)))
        parts = [row_keys(X[lo : lo + rows].toarray(), seed) for lo in range(0, X.shape[0], rows)]
        return np.concatenate(parts) if parts else np.empty(0)
    if hasattr(X, "iloc"):
        # A pandas DataFrame (strings, categories): pandas' own deterministic row hash of the
        # values (not of the index), one 64-bit word per row, mixed with the seed below.
        import pandas as pd

        words = pd.util.hash_pandas_object(X, index=False).to_numpy(np.uint64)[:, None]
    elif hasattr(X, "hash_rows"):  # polars
        words = X.hash_rows(seed=0).to_numpy().astype(np.uint64)[:, None]
    else:
        words = np.ascontiguousarray(X, dtype=np.float64).view(np.uint64)
    start = _splitmix64(np.array([seed], dtype=np.uint64))  # arrays wrap without warnings
    h = np.repeat(start, words.shape[0])
    for j in range(words.shape[1]):
        h = _splitmix64(h ^ words[:, j])
    # The top 53 bits as a double in [0, 1).
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def block_keys(keys: np.ndarray, deletion_prior=None) -> np.ndarray:
    """Shift the keys of likely deletions towards 1, so that their blocks come last.

    A row with deletion probability ``p`` gets the key ``p + (1 - p) * u``: uniform on
    ``[p, 1)``. With ``p = 0`` the key is ``u``, uniform over all blocks.
    """
    if deletion_prior is None:
        return keys
    return deletion_prior + (1.0 - deletion_prior) * keys


def assign_blocks(positions: np.ndarray, keys: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    """Cut rows into ``n_blocks`` blocks: block ``b`` holds the keys in ``[b, b + 1) / n_blocks``.

    Inside a block rows keep their order (``positions`` are given in the class's row order).
    """
    block = np.minimum((keys * n_blocks).astype(np.intp), n_blocks - 1)
    return [positions[block == b] for b in range(n_blocks)]
