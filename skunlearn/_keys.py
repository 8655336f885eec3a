"""Deletion by key: the table from each training row to the key (customer ID) it belongs to.

A deletion request under the GDPR names a person, not row positions. An unlearner fitted with
``keys=`` keeps, for each training row, the code of its key, and the retained keys themselves;
``unlearn(keys=[...])`` turns keys into the positions of their retained rows. Keys are
personal data too: once no retained row carries a key, the key leaves the table, so a model
that has forgotten a customer no longer holds the customer's ID (nor can it tell a forgotten
key from one it never saw).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["KeyIndex", "as_key_array", "check_keys"]

# How many offending request positions an error message lists before it abbreviates.
_N_SHOWN = 5


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def as_key_array(keys) -> np.ndarray:
    """Keys as a one-dimensional array, typed (int, float, str) when they all share that type.

    Mixed types stay an object array, so that the key ``1`` and the key ``"1"`` stay apart.
    """
    if isinstance(keys, np.ndarray) and keys.dtype != object:
        arr = keys
    else:
        values = keys.tolist() if hasattr(keys, "tolist") else list(keys)
        # fromiter keeps tuple keys whole (np.asarray would make them a second dimension).
        arr = np.fromiter(values, dtype=object, count=len(values))
        types = {type(v) for v in values}
        if types and all(issubclass(t, str) for t in types):
            arr = np.asarray(values, dtype=str)
        elif types and all(
            issubclass(t, Integral) and not issubclass(t, bool | np.bool_) for t in types
        ):
            try:
                arr = np.asarray(values, dtype=np.int64)
            except OverflowError:
                pass  # keys beyond int64 stay Python ints
    if arr.ndim != 1:
        raise ValueError(f"keys must hold one key per row, got an array of shape {arr.shape}.")
    return arr


def check_keys(keys, n_samples: int) -> KeyIndex | None:
    """Validate the ``keys`` fit parameter and build its :class:`KeyIndex` (None without keys).

    Parameters
    ----------
    keys : array-like of shape (n_samples,) or None
        One hashable key per training row (a customer ID, for instance ``df["customer_id"]``);
        several rows may share a key.
    n_samples : int
        Number of rows of the fit.

    Returns
    -------
    index : KeyIndex or None
    """
    if keys is None:
        return None
    if isinstance(keys, str | bytes) or not hasattr(keys, "__len__"):
        raise ValueError(
            "keys must be an array-like with one key per training row (for a column of a "
            f"DataFrame X, pass keys=X['customer_id']), got {type(keys).__name__}."
        )
    arr = as_key_array(keys)
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"keys must have one key per training row: expected {n_samples}, got {arr.shape[0]}."
        )
    if arr.dtype.kind == "f":
        missing = np.isnan(arr)
    elif arr.dtype == object:
        missing = np.fromiter((_is_missing(v) for v in arr), dtype=bool, count=arr.size)
    else:
        missing = np.zeros(arr.size, dtype=bool)
    if missing.any():
        raise ValueError(
            f"keys holds {int(missing.sum())} missing values (None or NaN), at rows "
            f"{np.flatnonzero(missing)[:_N_SHOWN].tolist()}: every row needs a key."
        )
    if arr.dtype == object:
        # Any hashables, possibly of unorderable types: factorize by first appearance.
        codes_of = {}
        codes = np.fromiter(
            (codes_of.setdefault(v, len(codes_of)) for v in arr), dtype=np.intp, count=arr.size
        )
        values = np.fromiter(codes_of, dtype=object, count=len(codes_of))
        return KeyIndex(values, codes, ordered=False)
    values, codes = np.unique(arr, return_inverse=True)
    return KeyIndex(values, codes.astype(np.intp, copy=False), ordered=True)


class KeyIndex:
    """The keys of the retained rows and, for every training position, the code of its key.

    Parameters
    ----------
    values : ndarray of shape (n_keys,)
        The distinct keys that some retained row carries (sorted when ``ordered``).
    codes : ndarray of shape (n_samples_fit,), dtype=intp
        For each training position, the index of its key in ``values``; -1 once forgotten.
    ordered : bool
        Whether ``values`` is sorted (typed keys), so that a lookup can bisect.
    """

    def __init__(self, values, codes, ordered):
        self.values = values
        self.codes = codes
        self.ordered = ordered

    @property
    def n_keys(self) -> int:
        """Number of distinct keys held by retained rows."""
        return int(self.values.shape[0])

    def _lookup(self, requested: np.ndarray) -> np.ndarray:
        """Code of each requested key, -1 for a key no retained row carries."""
        kinds = {self.values.dtype.kind, requested.dtype.kind}
        if self.ordered and (len(kinds) == 1 or kinds <= set("iu")) and kinds <= set("iufUS"):
            at = np.searchsorted(self.values, requested)
            at_clipped = np.minimum(at, self.values.size - 1)
            found = (at < self.values.size) & (self.values[at_clipped] == requested)
            return np.where(found, at_clipped, -1).astype(np.intp)
        code_of = {v: i for i, v in enumerate(self.values.tolist())}
        out = np.empty(requested.size, dtype=np.intp)
        for i, key in enumerate(requested.tolist()):
            try:
                out[i] = code_of.get(key, -1)
            except TypeError:  # an unhashable request item cannot be a key
                out[i] = -1
        return out

    def positions(self, keys) -> tuple[np.ndarray, np.ndarray, int]:
        """Positions of the retained rows of ``keys``.

        Parameters
        ----------
        keys : hashable or collection of hashables
            One key, or several (a list, tuple, set, array, pandas Series or Index).

        Returns
        -------
        positions : ndarray of int
            Sorted positions of every retained row carrying one of the keys.
        unknown : ndarray of int
            Positions *in the request* of the keys that no retained row carries: never seen
            at fit, or already forgotten (which cannot be told apart: forgotten keys are
            purged).
        n_found : int
            Number of distinct requested keys that retained rows carry.
        """
        if isinstance(keys, str | bytes) or not hasattr(keys, "__iter__"):
            keys = [keys]
        if isinstance(keys, set | frozenset):
            keys = list(keys)
        requested = as_key_array(keys)
        codes = self._lookup(requested) if requested.size else np.empty(0, dtype=np.intp)
        unknown = np.flatnonzero(codes < 0)
        wanted = np.unique(codes[codes >= 0])
        positions = np.flatnonzero(np.isin(self.codes, wanted)) if wanted.size else wanted
        return positions.astype(np.intp), unknown, int(wanted.size)

    def without(self, positions: np.ndarray) -> KeyIndex:
        """A new index with ``positions`` forgotten, and the keys they leave without rows."""
        codes = self.codes.copy()
        # Rows added by a later partial_fit come after the keyed rows and have no key.
        codes[positions[positions < codes.size]] = -1
        live = np.unique(codes[codes >= 0])
        if live.size == self.values.size:
            return KeyIndex(self.values, codes, self.ordered)
        kept = codes >= 0
        codes[kept] = np.searchsorted(live, codes[kept])
        return KeyIndex(self.values[live].copy(), codes, self.ordered)
