"""Bookkeeping shared by the decremental transformers: the rows seen since ``fit``, by position."""

from __future__ import annotations

import numpy as np

from skunlearn.base import UnlearnerMixin
from skunlearn.utils._rowstore import RowStore
from skunlearn.utils._state import UnlearnOnCopyMixin

__all__ = ["DecrementalTransformerMixin"]

# Attributes that a new fit must not inherit from the previous one.
_FIT_STATE = ("n_samples_fit_", "unlearned_indices_", "unlearn_report_")


class DecrementalTransformerMixin(UnlearnOnCopyMixin, UnlearnerMixin):
    """Unlearning bookkeeping for a transformer whose ``fit`` is ``_reset`` + ``partial_fit``.

    Positions run over every row seen since the last ``fit``: ``fit`` numbers its rows from 0 and
    each later ``partial_fit`` call numbers its rows after those already seen, so ``unlearn`` can
    forget a row of any batch. The rows themselves (in whatever form the transformer needs to
    take their contribution back) live in ``self._store``, a :class:`RowStore`.

    Subclasses forget rows in ``_unlearn_aside`` (on a copy, swapped in at once) and wrap
    scikit-learn's ``transform`` and ``inverse_transform`` with
    :func:`~skunlearn.utils._state.reads_one_state`, so that a concurrent reader sees the
    old statistics or the new ones, never a mix.
    """

    def _reset(self):
        super()._reset()
        for name in (*_FIT_STATE, "_store"):
            if name in self.__dict__:
                delattr(self, name)

    def _add_batch(self, batch: RowStore, first: bool) -> None:
        """Record the rows of one ``fit`` / ``partial_fit`` call, numbered after earlier ones."""
        n = len(batch)
        if first:
            self._store = batch
            self._reset_unlearning(n)
        else:
            self._store = self._store.append(batch)
            self.n_samples_fit_ += n

    def _next_position(self, first: bool) -> int:
        return 0 if first else self.n_samples_fit_

    def _n_retained_after(self, positions: np.ndarray) -> int:
        return self.n_samples_fit_ - self.unlearned_indices_.size - positions.size

    def _estimate_unlearn_cost(self, positions):
        # Only the blocks that held the rows are rescanned; no row is fitted again.
        return {"samples_retrained": 0}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The kept rows and their summaries are NumPy arrays.
        tags.array_api_support = False
        return tags
