"""A one-hot encoder that forgets rows exactly: a drop-in for scikit-learn's OneHotEncoder.

The encoder keeps, per feature, how many retained rows hold each category, and per row only the
integer codes of its categories (not its values). Forgetting rows decrements the counts; a
category learned from the data whose rows are all forgotten leaves ``categories_`` (its value is
itself row data, and a refit would not see it; the codes after it move down, so that the state
is the one a fit on the retained rows would hold, with no place kept for it), and the
infrequent-category grouping
(``min_frequency``, ``max_categories``) and the dropped categories (``drop``) are recomputed from
the counts, exactly as a refit on the retained rows computes them.
"""

from __future__ import annotations

import numpy as np
from sklearn import preprocessing as _sk
from sklearn.utils._encode import _check_unknown, _encode

from skunlearn.base import UnlearnerMixin
from skunlearn.utils._rowstore import RowBlock, RowStore
from skunlearn.utils._state import UnlearnOnCopyMixin, reads_one_state

__all__ = ["OneHotEncoder"]


def _same_structure(a, b) -> bool:
    """Equality of nested lists / arrays / None, as found in an encoder's fitted state."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all(a == b))


class OneHotEncoder(UnlearnOnCopyMixin, UnlearnerMixin, _sk.OneHotEncoder):
    """Encode categorical features as a one-hot numeric array, and forget training rows exactly.

    A drop-in for :class:`sklearn.preprocessing.OneHotEncoder` (same parameters and fitted
    attributes) with :meth:`unlearn`. The encoder keeps the number of retained rows holding each
    category and, per row, the integer codes of its categories; forgetting ``k`` rows costs
    ``O(k d)`` plus copying the ``O(sqrt(n))`` codes kept beside each of them (every row's
    codes are rewritten, ``O(n d)``, when a learned category loses its last row), and the
    result equals a refit on the retained rows.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    categories : 'auto' or a list of array-like, default='auto'
        Categories per feature: learned from the data ('auto') or given.

    drop : {'first', 'if_binary'} or array-like of shape (n_features,), default=None
        Category to drop per feature, as in scikit-learn.

    sparse_output : bool, default=True
        Return a sparse CSR matrix from :meth:`transform`.

    dtype : number type, default=np.float64
        Desired dtype of output.

    handle_unknown : {'error', 'ignore', 'infrequent_if_exist', 'warn'}, default='error'
        What :meth:`transform` does with a category not in ``categories_``, which after
        :meth:`unlearn` includes the categories whose rows were all forgotten.

    min_frequency : int or float, default=None
        Categories rarer than this are grouped as infrequent (a float is a fraction of the
        retained rows).

    max_categories : int, default=None
        Upper limit on the output features per input feature, infrequent group included.

    feature_name_combiner : "concat" or callable, default="concat"
        How output feature names are built.

    Attributes
    ----------
    categories_ : list of arrays
        The categories of each feature, learned from the retained rows (or given).

    drop_idx_ : array of shape (n_features,) or None
        Index in ``categories_[i]`` of the category dropped for each feature.

    infrequent_categories_ : list of ndarray
        Infrequent categories of each feature, when ``min_frequency`` or ``max_categories`` is
        set.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit, forgotten ones included.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact`` (True),
        ``distance_bound`` (None), ``seconds``, ``samples_retrained`` (0),
        ``transform_changed`` (whether :meth:`transform` now gives other values, for instance
        another output width) and ``categories_removed`` (per feature, how many categories
        left ``categories_``).

    See Also
    --------
    skunlearn.pipeline.Pipeline : Unlearn through every step of a pipeline; it refits the
        steps after an encoder whose output width changed.

    Notes
    -----
    Output width: with ``categories='auto'``, a category whose rows are all forgotten leaves
    ``categories_``, so :meth:`transform` returns one column fewer, as a refit would; a later
    row holding that value is then an unknown category, handled by ``handle_unknown`` (an error
    by default, a row of zeros with 'ignore', the infrequent column with
    'infrequent_if_exist'). Given categories (``categories=[...]``) are parameters, not data:
    they stay, and only the infrequent grouping can change. A request that would leave a
    category named in ``drop`` without rows raises ``ValueError`` and changes nothing, since a
    refit on the retained rows would fail the same way.

    Examples
    --------
    >>> from skunlearn.preprocessing import OneHotEncoder
    >>> X = [["red", 1], ["blue", 2], ["red", 2], ["green", 1]]
    >>> enc = OneHotEncoder(sparse_output=False).fit(X)
    >>> enc.transform([["red", 2]])
    array([[0., 0., 1., 0., 1.]])
    >>> enc.unlearn([3]).categories_[0]
    array(['blue', 'red'], dtype=object)
    >>> enc.transform([["red", 2]])
    array([[0., 1., 0., 1.]])
    """

    # scikit-learn's code reads (and, in an unlearn, derives) the encoding one attribute at a
    # time: each call reads one state, and _unlearn_aside runs on a copy swapped in at once.
    transform = reads_one_state(_sk.OneHotEncoder.transform)
    inverse_transform = reads_one_state(_sk.OneHotEncoder.inverse_transform)
    get_feature_names_out = reads_one_state(_sk.OneHotEncoder.get_feature_names_out)

    def fit(self, X, y=None, keys=None):
        """Fit the encoder to ``X`` and keep each row's category codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to determine the categories of each feature.
        y : None
            Ignored.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted encoder.
        """
        super().fit(X, y)
        columns, n_samples, _ = self._check_X(X, ensure_all_finite="allow-nan")
        codes = np.full((n_samples, len(columns)), -1, dtype=np.int32)
        for j, (column, cats) in enumerate(zip(columns, self.categories_)):
            # Values outside given categories (handle_unknown != 'error') have no code.
            _, known = _check_unknown(column, cats, return_mask=True)
            codes[known, j] = _encode(column[known], uniques=cats, check_unknown=False)
        # A row's code for a feature indexes that feature's categories_ (-1: no category);
        # _category_rows counts the retained rows holding each category.
        self._category_rows = [
            np.bincount(codes[codes[:, j] >= 0, j], minlength=len(cats))
            for j, cats in enumerate(self.categories_)
        ]
        self._store = RowStore.from_columns({"codes": codes})
        self._reset_unlearning(n_samples, keys)
        return self

    def _encoding(self) -> tuple:
        """The fitted state that :meth:`transform` depends on."""
        return (
            self.categories_,
            getattr(self, "_infrequent_indices", None),
            self._drop_idx_after_grouping,
        )

    def _estimate_unlearn_cost(self, positions):
        return {"samples_retrained": 0}

    def _unlearn_aside(self, positions):
        taken, store, _ = self._store.pop(positions)
        removed = taken["codes"]
        learned = isinstance(self.categories, str)  # 'auto': categories are row data
        counts, categories = list(self._category_rows), list(self.categories_)
        # Per feature, the new code of each old one (-1 for a category that left), or None.
        recode = [None] * len(categories)
        n_removed_categories = []
        for j in range(len(categories)):
            lost = removed[:, j]
            lost = lost[lost >= 0]
            n_dead = 0
            if lost.size:
                counts[j] = counts[j] - np.bincount(lost, minlength=counts[j].size)
                dead = counts[j] == 0
                n_dead = int(dead.sum()) if learned else 0
                if n_dead:
                    # The category's value is row data and a refit would not see it: it
                    # leaves categories_, and the codes after it move down, so that nothing
                    # (not even an empty place) is left of it.
                    alive = ~dead
                    categories[j] = categories[j][alive]
                    counts[j] = counts[j][alive]
                    recode[j] = np.where(alive, np.cumsum(alive) - 1, -1).astype(np.int32)
            n_removed_categories.append(n_dead)
        if any(r is not None for r in recode):
            store = _recoded(store, recode)

        before = self._encoding()
        self.categories_ = categories
        if self._infrequent_enabled:
            n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
            self._fit_infrequent_category_mapping(n_left, counts, {})
        try:
            self._set_drop_idx()
        except ValueError as exc:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave drop={self.drop!r} "
                f"invalid, as a refit on the retained rows would: {exc}"
            ) from exc
        self._n_features_outs = self._compute_n_features_outs()
        self._category_rows, self._store = counts, store
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": 0,
            "transform_changed": not _same_structure(before, self._encoding()),
            "categories_removed": n_removed_categories,
        }


def _recoded(store: RowStore, recode: list) -> RowStore:
    """A new store whose codes are mapped through ``recode`` (one array per feature, or None
    for a feature whose codes stay). Every block is rebuilt: this happens only when a category
    loses its last row."""
    blocks = []
    for block in store.blocks:
        codes = block.data["codes"].copy()
        for j, mapping in enumerate(recode):
            if mapping is not None:
                known = codes[:, j] >= 0
                codes[known, j] = mapping[codes[known, j]]
        blocks.append(RowBlock(block.positions, {**block.data, "codes": codes}))
    return RowStore(store.starts, blocks, store.block_size)
