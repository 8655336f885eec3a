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

from skunlearn.ensemble._shard import take_rows, train_shard

__all__ = [
    "ShardStore",
    "StoredArray",
    "StoredFrame",
    "StoredObject",
    "resolve",
    "train_stored_shard",
]

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


@dataclass(frozen=True)
class StoredFrame:
    """Reference to a pandas (or polars) DataFrame kept column by column; :meth:`load`
    rebuilds it.

    Each column is stored in files of its own (so a mixed-dtype frame is never pickled
    whole), in one of four encodings (``encodings``):

    - "values": a column with a NumPy dtype, as one memory-mappable ``.npy`` file;
    - "category": the integer codes as ``.npy``; the ``CategoricalDtype`` (the user's own
      list of categories, as a plain refit on the retained rows would also see it) is kept
      in ``dtypes``;
    - "text": a column of strings (object or string dtype, NaN or None for missing) as its
      distinct values (fixed-width unicode ``.npy``) and an integer code per row (-1 where
      missing);
    - "pickle": anything else (nullable extension dtypes, mixed objects), one file per column.

    The rebuilt frame has the stored columns and dtypes and a fresh ``RangeIndex``: the index
    labels of the rows (often identifiers) are not written to disk. A polars frame is kept the
    same way (numbers without nulls as "values", strings as "text", the rest pickled per
    column) and rebuilt as a polars frame.
    """

    columns: tuple
    parts: tuple
    encodings: tuple[str, ...]
    dtypes: tuple
    missing: tuple  # for "text" columns: the missing value to restore (None or NaN)
    n_rows: int
    library: str = "pandas"  # or "polars"

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f for part in self.parts for f in part.files)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, len(self.columns))

    @property
    def nbytes(self) -> int:
        return sum(os.path.getsize(f) for f in self.files)

    def load(self):
        if self.library == "polars":
            return self._load_polars()
        import pandas as pd

        series = []
        for part, encoding, dtype, missing in zip(
            self.parts, self.encodings, self.dtypes, self.missing
        ):
            values = part.load()
            if encoding == "category":
                column = pd.Categorical.from_codes(np.asarray(values), dtype=dtype)
            elif encoding == "text":
                column, mask = _decoded(*values)
                column[mask] = missing
                # An object column stays one (pandas would infer its string dtype).
                column = (
                    pd.Series(column, dtype=object)
                    if isinstance(dtype, np.dtype) and dtype.kind == "O"
                    else pd.array(column, dtype=dtype)
                )
            elif encoding == "pickle":
                column = values.reset_index(drop=True)  # the pickled Series
            else:
                column = np.asarray(values).view(np.ndarray)  # still mapped, not copied
            series.append(pd.Series(column, copy=False))
        frame = pd.concat(series, axis=1) if series else pd.DataFrame(index=range(self.n_rows))
        frame.columns = pd.Index(self.columns, tupleize_cols=False)
        return frame

    def _load_polars(self):
        import polars as pl

        columns = []
        for name, part, encoding, dtype in zip(
            self.columns, self.parts, self.encodings, self.dtypes
        ):
            values = part.load()
            if encoding == "text":
                values, mask = _decoded(*values)
                values[mask] = None
                columns.append(pl.Series(name, values.tolist(), dtype=dtype))
            elif encoding == "values":
                columns.append(pl.Series(name, np.asarray(values)).cast(dtype))
            else:
                columns.append(values)
        return pl.DataFrame(columns)


def _decoded(uniques, codes):
    """The object array of strings coded by :meth:`ShardStore._save_text`, and its mask of
    missing values (to be filled by the caller)."""
    codes = np.asarray(codes)
    mask = codes < 0
    values = (
        np.asarray(uniques).astype(object)[np.where(mask, 0, codes)]
        if len(uniques)
        else (np.empty(codes.size, dtype=object))
    )
    return values, mask


_REFERENCES = (StoredArray, StoredObject, StoredFrame)


def resolve(ref):
    """The array or object behind ``ref``; anything that is not a reference is returned as is."""
    return ref.load() if isinstance(ref, _REFERENCES) else ref


def referenced_files(refs) -> set[str]:
    """Paths of every file the references in ``refs`` (an iterable, None allowed) point to."""
    return {f for ref in refs if isinstance(ref, _REFERENCES) for f in ref.files}


def _text_encoding(column):
    """``(strings, missing mask, missing value)`` for a column of strings, else None.

    The missing value is restored on load, so it must be a single kind (all None or all NaN).
    """
    values = column.to_numpy(dtype=object)
    missing = column.isna().to_numpy()
    present = values[~missing]
    if not all(isinstance(v, str) for v in present):
        return None
    absent = values[missing]
    if not (isinstance(column.dtype, np.dtype) and column.dtype.kind == "O"):
        fill = None  # a string dtype: pd.array restores the dtype's own missing value
    elif all(v is None for v in absent):
        fill = None
    elif all(isinstance(v, float) and v != v for v in absent):
        fill = np.nan
    else:
        return None
    strings = np.where(missing, "", values).astype(str) if values.size else np.array([], str)
    return strings, missing, fill


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

    def save_rows(self, stem: str, array, rows) -> StoredArray | StoredFrame:
        """Write ``array[rows]`` to new files without holding more than a block in memory."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if hasattr(array, "iloc") and getattr(array, "ndim", 1) == 2:
            return self._save_frame(stem, array, rows)
        if type(array).__module__.split(".")[0] == "polars":
            return self._save_polars_frame(stem, array, rows)
        if hasattr(array, "__dataframe__") or hasattr(array, "to_arrow"):
            # Other dataframes: the rows, taken by position, pickled as one object.
            path = self._new_path(stem, ".pkl")
            part = take_rows(array, rows)
            joblib.dump(part, path)
            return StoredArray((path,), "pickle", tuple(part.shape), "frame")
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

    def _save_frame(self, stem: str, frame, rows) -> StoredFrame:
        """Write the rows ``rows`` of a pandas DataFrame, one column (or two) at a time."""
        import pandas as pd

        parts, encodings, dtypes, missing = [], [], [], []
        everything = np.arange(rows.size)
        for j in range(frame.shape[1]):
            column = frame.iloc[rows, j]
            dtype = column.dtype
            name = f"{stem}.col{j}"
            fill = None
            if isinstance(dtype, pd.CategoricalDtype):
                encoding = "category"
                part = self.save_rows(name, np.asarray(column.cat.codes), everything)
            elif isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
                encoding = "values"
                part = self.save_rows(name, column.to_numpy(), everything)
            elif (text := _text_encoding(column)) is not None:
                encoding = "text"
                strings, mask, fill = text
                part = self._save_text(name, strings, mask)
            else:
                encoding = "pickle"
                path = self._new_path(name, ".pkl")
                joblib.dump(column.reset_index(drop=True), path)
                part = StoredObject((path,))
            parts.append(part)
            encodings.append(encoding)
            dtypes.append(dtype)
            missing.append(fill)
        return StoredFrame(
            tuple(frame.columns),
            tuple(parts),
            tuple(encodings),
            tuple(dtypes),
            tuple(missing),
            int(rows.size),
        )

    def _save_text(self, name: str, strings, mask) -> _StoredPair:
        """A column of strings as its distinct values (fixed-width unicode) and one integer
        code per row (-1 where missing): compact for the repeated values of categories, and
        holding only values of the stored rows."""
        uniques, codes = np.unique(strings[~mask], return_inverse=True)
        full = np.full(strings.shape[0], -1, dtype=np.int32)
        full[~mask] = codes
        return _StoredPair(
            self.save_rows(f"{name}.values", uniques, np.arange(uniques.size)),
            self.save_rows(f"{name}.codes", full, np.arange(full.size)),
        )

    def _save_polars_frame(self, stem: str, frame, rows) -> StoredFrame:
        """Write the rows ``rows`` of a polars DataFrame, one column at a time: numbers
        without nulls as ``.npy``, strings as unicode plus a null mask, the rest pickled."""
        import polars as pl

        parts, encodings = [], []
        everything = np.arange(rows.size)
        for j, column in enumerate(frame.get_columns()):
            column = column.gather(rows)
            name = f"{stem}.col{j}"
            if (column.dtype.is_numeric() or column.dtype == pl.Boolean) and not (
                column.null_count()
            ):
                encoding = "values"
                part = self.save_rows(name, column.to_numpy(), everything)
            elif column.dtype == pl.String:
                encoding = "text"
                mask = column.is_null().to_numpy()
                strings = column.fill_null("").to_numpy().astype(str)
                part = self._save_text(name, strings, mask)
            else:
                encoding = "pickle"
                path = self._new_path(name, ".pkl")
                joblib.dump(column, path)
                part = StoredObject((path,))
            parts.append(part)
            encodings.append(encoding)
        return StoredFrame(
            tuple(frame.columns),
            tuple(parts),
            tuple(encodings),
            tuple(frame.dtypes),
            (None,) * frame.width,
            int(rows.size),
            library="polars",
        )

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


@dataclass(frozen=True)
class _StoredPair:
    """Two stored arrays loaded together (a text column and its missing-value mask)."""

    first: StoredArray
    second: StoredArray

    @property
    def files(self) -> tuple[str, ...]:
        return self.first.files + self.second.files

    @property
    def nbytes(self) -> int:
        return self.first.nbytes + self.second.nbytes

    def load(self):
        return self.first.load(), self.second.load()


def save_shard(store: ShardStore | None, stem: str, arrays, rows) -> tuple:
    """The rows ``rows`` of each array of ``arrays`` (None stays None): as new arrays when
    ``store`` is None, else as new files of ``store``. Rows are taken by position, in the
    container they came in (a DataFrame stays a DataFrame)."""
    if store is None:
        return tuple(None if a is None else take_rows(a, rows) for a in arrays)
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
