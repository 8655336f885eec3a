"""Keeping shard data and slice checkpoints in files: the ``store=`` option of the ensembles.

Each fit writes into a directory of its own, ``<store>/fit-<id>/``. A file, once written, is
never modified: unlearning writes the retained rows of a shard (and the checkpoints replayed
without them) to *new* files, the new state references them, and once the request has settled
the files that the settled state no longer references are deleted: the old state's files after
a success (so no file in the directory holds a forgotten row), the half-built new ones after a
failure (so the model is exactly as before, on disk too).

The fitted state holds :class:`StoredArray` / :class:`StoredObject` references in place of the
arrays and checkpoints. They pickle as their paths, so a pickled model refers to the files
instead of carrying them, and a worker receives the path of its shard's rows and maps the file
itself (:func:`train_stored_shard`): the data never travels through the parent.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp

from skunlearn.ensemble._shard import train_shard

__all__ = ["ShardStore", "StoredArray", "StoredObject", "resolve", "train_stored_shard"]

# Rows are copied between files in blocks of about this many bytes, so that writing a shard
# never holds more than one block of it in memory.
_BLOCK_BYTES = 1 << 25


@dataclass(frozen=True)
class StoredArray:
    """Reference to an array kept in files; :meth:`load` maps it read-only.

    ``kind`` is "npy" (one ``.npy`` file), "csr" (three ``.npy`` files: data, indices, indptr)
    or "pickle" (arrays of Python objects, which cannot be memory-mapped).
    """

    files: tuple[str, ...]
    kind: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return sum(os.path.getsize(f) for f in self.files)

    def load(self):
        if self.kind == "pickle":
            return joblib.load(self.files[0])
        arrays = [np.load(f, mmap_mode="r") for f in self.files]
        if self.kind == "csr":
            return sp.csr_matrix(tuple(arrays), shape=self.shape, copy=False)
        return arrays[0]


@dataclass(frozen=True)
class StoredObject:
    """Reference to a pickled object (a slice checkpoint) kept in a file."""

    files: tuple[str, ...]

    def load(self):
        return joblib.load(self.files[0])


def resolve(ref):
    """The array or object behind ``ref``; anything that is not a reference is returned as is."""
    return ref.load() if isinstance(ref, StoredArray | StoredObject) else ref


def referenced_files(refs) -> set[str]:
    """Paths of every file the references in ``refs`` (an iterable, None allowed) point to."""
    return {f for ref in refs if isinstance(ref, StoredArray | StoredObject) for f in ref.files}


def _check_store_dtype(array) -> None:
    if array.dtype.kind == "V" and array.dtype.fields is None:
        raise ValueError(f"Cannot store arrays of dtype {array.dtype} in files.")


class ShardStore:
    """The directory of one fit's files, and the only code that writes or deletes in it.

    Parameters
    ----------
    directory : str
        The fit's own directory (``<store>/fit-<id>``), created by :meth:`create`.
    """

    def __init__(self, directory: str):
        self.directory = str(directory)

    def __repr__(self) -> str:
        return f"ShardStore({self.directory!r})"

    @classmethod
    def create(cls, root) -> ShardStore:
        """Make a fresh directory for one fit under ``root`` (created if needed)."""
        # Absolute, so that the references stay valid if the working directory changes.
        root = Path(root).absolute()
        if root.exists() and not root.is_dir():
            raise ValueError(f"store={str(root)!r} exists and is not a directory.")
        root.mkdir(parents=True, exist_ok=True)
        directory = root / f"fit-{uuid.uuid4().hex[:12]}"
        directory.mkdir()
        return cls(directory)

    def _new_path(self, stem: str, suffix: str) -> str:
        # A fresh name for every write: the current state's files are never overwritten.
        return os.path.join(self.directory, f"{stem}-{uuid.uuid4().hex[:10]}{suffix}")

    def save_rows(self, stem: str, array, rows) -> StoredArray:
        """Write ``array[rows]`` to new files without holding more than a block in memory."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if sp.issparse(array):
            part = sp.csr_matrix(array[rows])
            files = []
            for name in ("data", "indices", "indptr"):
                path = self._new_path(f"{stem}.{name}", ".npy")
                np.save(path, getattr(part, name))
                files.append(path)
            return StoredArray(tuple(files), "csr", tuple(part.shape), str(part.dtype))
        array = np.asarray(array) if not isinstance(array, np.ndarray) else array
        shape = (rows.size, *array.shape[1:])
        if array.dtype.hasobject:
            path = self._new_path(stem, ".pkl")
            joblib.dump(array[rows], path)
            return StoredArray((path,), "pickle", shape, str(array.dtype))
        _check_store_dtype(array)
        path = self._new_path(stem, ".npy")
        out = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=shape)
        row_bytes = max(1, array.dtype.itemsize * int(np.prod(array.shape[1:], dtype=np.int64)))
        step = max(1, _BLOCK_BYTES // row_bytes)
        for lo in range(0, rows.size, step):
            out[lo : lo + step] = array[rows[lo : lo + step]]
        out.flush()
        del out
        return StoredArray((path,), "npy", shape, str(array.dtype))

    def save_object(self, stem: str, obj) -> StoredObject:
        """Pickle ``obj`` (a checkpoint) to a new file."""
        path = self._new_path(stem, ".pkl")
        joblib.dump(obj, path)
        return StoredObject((path,))

    def missing(self, refs) -> list[str]:
        """Referenced files that no longer exist (another copy of the model removed them)."""
        return sorted(f for f in referenced_files(refs) if not os.path.exists(f))

    def collect(self, keep: set[str]) -> None:
        """Delete every file of the directory that is not in ``keep``."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        keep = {os.path.abspath(f) for f in keep}
        for name in names:
            path = os.path.abspath(os.path.join(self.directory, name))
            if path in keep:
                continue
            try:
                os.remove(path)
            except OSError as exc:  # e.g. a file still mapped by another process on Windows
                warnings.warn(
                    f"Could not delete {path} from the model's store ({exc}); it may still "
                    "hold rows that were unlearned. Delete it by hand.",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def remove(self) -> None:
        """Delete the directory and everything in it."""
        shutil.rmtree(self.directory, ignore_errors=True)


def save_shard(store: ShardStore | None, stem: str, arrays, rows) -> tuple:
    """The rows ``rows`` of each array of ``arrays`` (None stays None): as new arrays when
    ``store`` is None, else as new files of ``store``."""
    if store is None:
        return tuple(None if a is None else a[rows] for a in arrays)
    names = ("X", "y", "sample_weight")
    return tuple(
        None if a is None else store.save_rows(f"{stem}.{name}", a, rows)
        for name, a in zip(names, arrays)
    )


def train_stored_shard(store: ShardStore, stem: str, estimator, X, y, sample_weight, *args, **kw):
    """:func:`~skunlearn.ensemble._shard.train_shard` on a shard kept in ``store``.

    Runs in the worker: maps the shard's files (it received only their paths), trains, and
    writes the new checkpoints to new files of the store, returning references to them.
    """
    kw["start_model"] = resolve(kw.get("start_model"))
    model, checkpoints = train_shard(
        estimator, resolve(X), resolve(y), resolve(sample_weight), *args, **kw
    )
    first = kw.get("start_slice", 0)
    stored = [
        None if c is None else store.save_object(f"{stem}.checkpoint{r}", c)
        for r, c in enumerate(checkpoints, start=first)
    ]
    return model, stored
