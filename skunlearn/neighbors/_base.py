"""Nearest-neighbour search over blocks of training rows, so that forgetting rows rebuilds only
the blocks that held them.

A refit of a neighbours model on the retained rows copies the data (brute force) or rebuilds a
tree over all of it (KD / ball tree). Here the training rows, in their original order, are cut
into blocks of consecutive positions (:class:`~skunlearn.utils._rowstore.RowStore`); each block
carries its own scikit-learn :class:`~sklearn.neighbors.NearestNeighbors` index, built with the
same algorithm, metric and leaf size. A query asks every block for its nearest rows and merges
them; forgetting rows rebuilds only the blocks that held them.

The merge is exact: a distance between two points does not depend on which index computed it,
so the neighbours and distances are those of a refit on the retained rows. Equidistant
neighbours are ordered by training position (scikit-learn leaves their order to the search
algorithm), and each block is asked for more rows whenever a tie straddles its k-th neighbour,
so the k-th neighbour of a tie is the earliest row, whichever block holds it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.neighbors import VALID_METRICS
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.neighbors._base import _check_precomputed
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skunlearn.base import UnlearnerMixin
from skunlearn.utils._rowstore import RowBlock, RowStore

# A fit cuts its rows into at most _MAX_BLOCKS blocks of at least _MIN_BLOCK_ROWS rows:
# forgetting a row rebuilds one block (about n / _MAX_BLOCKS rows), a query visits every block.
_MIN_BLOCK_ROWS = 2048
_MAX_BLOCKS = 48

_NO_POSITION = np.iinfo(np.intp).max


def _block_size(n_samples: int) -> int:
    return max(_MIN_BLOCK_ROWS, -(-n_samples // _MAX_BLOCKS))


class _BlockedNeighborsMixin(UnlearnerMixin):
    """Fit, query and unlearn for the neighbours estimators.

    Fitted private state:

    - ``_store``: retained rows in blocks; columns ``X`` (and ``y`` for supervised models, as
      validated), payload a fitted scikit-learn ``NearestNeighbors`` over the block's rows;
    - ``_fit_method``: ``"blocked"``, which keeps scikit-learn's prediction code on the path
      that goes through :meth:`kneighbors`; ``_block_method`` is the per-block algorithm.

    ``_fit_X`` and ``_y`` are rebuilt on demand from the blocks (retained rows in order), so
    scikit-learn's own ``predict`` and ``predict_proba`` work unchanged.
    """

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(
        # scikit-learn does not validate the neighbours' metric parameter yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None):
        """Fit the estimator from the training dataset.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, n_samples) if metric='precomputed'
            Training data.

        y : {array-like, sparse matrix} of shape (n_samples,) or \
                (n_samples, n_outputs), default=None
            Target values (classifier and regressor); ignored by :class:`NearestNeighbors`.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if y is None and self._is_supervised():
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        return self._fit_blocks(X, None if not self._is_supervised() else y)

    def _validate_training_data(self, X, y):
        ensure_all_finite = "allow-nan" if get_tags(self).input_tags.allow_nan else True
        if y is None:
            return validate_data(
                self, X, ensure_all_finite=ensure_all_finite, accept_sparse="csr", order="C"
            ), None
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            order="C",
            ensure_all_finite=ensure_all_finite,
        )
        return X, y

    def _encode_targets(self, y):
        """Classifiers: record ``classes_`` and ``outputs_2d_`` as scikit-learn does."""
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            if y.ndim != 1:
                warnings.warn(
                    "A column-vector y was passed when a 1d array was expected. Please change "
                    "the shape of y to (n_samples,), for example using ravel().",
                    DataConversionWarning,
                    stacklevel=3,
                )
            self.outputs_2d_ = False
            y = y.reshape((-1, 1))
        else:
            self.outputs_2d_ = True
        check_classification_targets(y)
        classes, counts = zip(*(np.unique(y[:, k], return_counts=True) for k in range(y.shape[1])))
        self._fit_classes = list(classes)
        self._class_rows = list(counts)
        self.classes_ = list(classes) if self.outputs_2d_ else classes[0]
        return y

    def _fit_blocks(self, X, y=None):
        X, y = self._validate_training_data(X, y)
        if y is not None and self._is_classifier():
            y = self._encode_targets(y)
        self._check_algorithm_metric()
        if self.metric == "precomputed":
            X = _check_precomputed(X)
            if X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"Precomputed matrix must be square. Input is a {X.shape[0]}x{X.shape[1]} "
                    "matrix."
                )
            self.n_features_in_ = X.shape[1]
        n = X.shape[0]
        self._block_method = self._resolve_method(n, X.shape[1], sp.issparse(X))
        columns = {"X": X} if y is None else {"X": X, "y": y}
        # A precomputed matrix has one column per training row: it cannot be cut by rows.
        size = n if self.metric == "precomputed" else _block_size(n)
        first = [True]

        def build(block):
            # Warnings of scikit-learn's fit (sparse input, p < 1) are given once, not per block.
            with warnings.catch_warnings():
                if not first[0]:
                    warnings.simplefilter("ignore")
                first[0] = False
                return self._new_index(self._block_method).fit(block.data["X"])

        self._store = RowStore.from_columns(columns, block_size=size, build_payload=build)
        index = self._store.blocks[0].payload
        self.effective_metric_ = index.effective_metric_
        self.effective_metric_params_ = index.effective_metric_params_
        self._fit_method = "blocked"
        self._reset_unlearning(n)
        return self

    def _is_classifier(self) -> bool:
        return get_tags(self).estimator_type == "classifier"

    def _is_supervised(self) -> bool:
        return get_tags(self).target_tags.required

    def _new_index(self, method):
        return _SkNearestNeighbors(
            algorithm=method,
            leaf_size=self.leaf_size,
            metric=self.metric,
            p=self.p,
            metric_params=self.metric_params,
            n_jobs=self.n_jobs,
        )

    def _resolve_method(self, n: int, d: int, sparse: bool) -> str:
        """scikit-learn's choice of algorithm for data of this shape (``_fit``'s rules)."""
        if sparse or self.metric == "precomputed":
            return "brute"
        if self.algorithm != "auto":
            return self.algorithm
        params = dict(self.metric_params or {})
        p = params.get("p", self.p)
        metric = self.metric
        if metric == "minkowski":
            w = params.get("w")
            if w is None and p in (1, 2, np.inf):
                metric = {1: "manhattan", 2: "euclidean", np.inf: "chebyshev"}[p]
            elif p is not None and p < 1:
                return "brute"
            elif w is not None:
                return "ball_tree" if d <= 15 else "brute"
        if d > 15 or (self.n_neighbors is not None and self.n_neighbors >= n // 2):
            return "brute"
        if metric in VALID_METRICS["kd_tree"]:
            return "kd_tree"
        if callable(metric) or metric in VALID_METRICS["ball_tree"]:
            return "ball_tree"
        return "brute"

    # -- retained rows as scikit-learn's private attributes -----------------------------------

    @property
    def _fit_X(self):
        return self._store.column("X")

    @property
    def _y(self):
        y = self._store.column("y")
        if not self._is_classifier():
            return y
        codes = np.column_stack(
            [np.searchsorted(c, y[:, k]) for k, c in enumerate(self._current_classes())]
        )
        return codes if self.outputs_2d_ else codes.ravel()

    def _current_classes(self) -> list:
        return list(self.classes_) if self.outputs_2d_ else [self.classes_]

    def _n_retained(self) -> int:
        return self.n_samples_fit_ - self.unlearned_indices_.size

    def _ranks(self, positions):
        """Index of each training position among the retained rows (what a refit numbers)."""
        return positions - np.searchsorted(self.unlearned_indices_, positions)

    # -- queries -----------------------------------------------------------------------------

    def _validate_query(self, X):
        if self.metric == "precomputed":
            return _check_precomputed(X)
        ensure_all_finite = "allow-nan" if get_tags(self).input_tags.allow_nan else True
        return validate_data(
            self,
            X,
            ensure_all_finite=ensure_all_finite,
            accept_sparse="csr",
            reset=False,
            order="C",
        )

    @staticmethod
    def _block_candidates(index, positions, X, k):
        """Distances and positions of a block's rows that can be among the ``k`` nearest.

        Returns every row closer than the block's k-th distance and every row tied with it:
        a block is asked for one row more than needed, and again for more wherever that row
        ties with the k-th, so no tied row of an earlier position is left out.
        """
        m = positions.size
        kk = min(k + 1, m)
        dist, ind = index.kneighbors(X, kk)
        valid = np.ones(dist.shape, dtype=bool)
        need = dist[:, k] == dist[:, k - 1] if kk > k else np.zeros(dist.shape[0], dtype=bool)
        while need.any() and kk < m:
            kk = min(2 * kk, m)
            rows = np.flatnonzero(need)
            more_dist, more_ind = index.kneighbors(X[rows], kk)
            width = dist.shape[1]
            dist = np.hstack([dist, np.full((dist.shape[0], kk - width), np.inf)])
            ind = np.hstack([ind, np.zeros((ind.shape[0], kk - width), dtype=ind.dtype)])
            valid = np.hstack([valid, np.zeros((valid.shape[0], kk - width), dtype=bool)])
            dist[rows], ind[rows], valid[rows] = more_dist, more_ind, True
            need = np.zeros_like(need)
            need[rows] = more_dist[:, -1] == more_dist[:, k - 1]
        return dist, np.where(valid, positions[ind], _NO_POSITION)

    def _query_positions(self, X, k):
        """``(dist, positions)`` of the ``k`` nearest retained rows, ties broken by position."""
        parts = [
            self._block_candidates(block.payload, block.positions, X, k) for block in self._store
        ]
        dist = np.hstack([d for d, _ in parts])
        pos = np.hstack([p for _, p in parts])
        order = np.lexsort((pos, dist), axis=1)[:, :k]
        return np.take_along_axis(dist, order, axis=1), np.take_along_axis(pos, order, axis=1)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest retained training rows of each query point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), \
                or (n_queries, n_indexed) if metric == 'precomputed', default=None
            The query points. If None, the neighbours of each retained training row are
            returned, the row itself excluded.

        n_neighbors : int, default=None
            Number of neighbours per query; the constructor's ``n_neighbors`` by default.

        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances to the neighbours, only present if ``return_distance=True``.

        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours among the retained rows, numbered in training order
            as a refit on the retained rows would number them. Equidistant neighbours come
            in training order.
        """
        check_is_fitted(self)
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif n_neighbors <= 0:
            raise ValueError(f"Expected n_neighbors > 0. Got {n_neighbors}")
        elif not isinstance(n_neighbors, numbers.Integral):
            raise TypeError(
                f"n_neighbors does not take {type(n_neighbors)} value, enter integer value"
            )
        query_is_train = X is None
        X = self._fit_X if query_is_train else self._validate_query(X)
        n_fit = self._n_retained()
        k = n_neighbors + 1 if query_is_train else n_neighbors
        if k > n_fit:
            inequality = (
                "n_neighbors < n_samples_fit"
                if query_is_train
                else ("n_neighbors <= n_samples_fit")
            )
            raise ValueError(
                f"Expected {inequality}, but n_neighbors = {n_neighbors}, n_samples_fit = "
                f"{n_fit}, n_samples = {X.shape[0]}"
            )
        dist, pos = self._query_positions(X, k)
        ind = self._ranks(pos)
        if query_is_train:
            # As scikit-learn: drop each row itself, or its first duplicate if it was crowded
            # out of its own neighbours by more duplicates than n_neighbors.
            n_queries = X.shape[0]
            mask = ind != np.arange(n_queries)[:, None]
            crowded = np.all(mask, axis=1)
            mask[:, 0][crowded] = False
            ind = ind[mask].reshape(n_queries, n_neighbors)
            dist = dist[mask].reshape(n_queries, n_neighbors)
        return (dist, ind) if return_distance else ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Compute the (weighted) graph of k-neighbours for points in ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; None for the retained training rows themselves.

        n_neighbors : int, default=None
            Number of neighbours per query; the constructor's ``n_neighbors`` by default.

        mode : {'connectivity', 'distance'}, default='connectivity'
            Whether edges carry ones or distances.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_retained)
            One column per retained training row, in training order, as for a refit.
        """
        graph = super().kneighbors_graph(X, n_neighbors=n_neighbors, mode=mode)
        return _with_columns(graph, self._n_retained())

    # -- unlearn ---------------------------------------------------------------------------

    def _check_unlearn_feasible(self, positions):
        # scikit-learn fits on fewer rows than n_neighbors and only fails at query time; a
        # request that leaves the model unable to answer its default query is refused instead.
        n_left = self._n_retained() - positions.size
        if n_left < self.n_neighbors:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave {n_left} rows, fewer than "
                f"n_neighbors={self.n_neighbors}: the model could no longer predict. Lower "
                "n_neighbors (set_params) first, or fit a new model."
            )

    def _unlearn(self, positions):
        n_left = self._n_retained() - positions.size
        # A refit chooses its algorithm from the retained rows (brute once n_neighbors reaches
        # half of them): follow it, so that distances are computed the same way.
        sparse = sp.issparse(self._store.blocks[0].data["X"])
        method = self._resolve_method(n_left, self.n_features_in_, sparse)

        def build(block):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return self._new_index(method).fit(block.data["X"])

        touched = self._store.blocks_touched(positions)
        if self.metric == "precomputed":
            # One block whose columns are the retained rows too: drop both.
            block = self._store.without(positions).blocks[0]
            keep = np.ones(block.data["X"].shape[1], dtype=bool)
            keep[self._ranks(positions)] = False
            block = RowBlock(block.positions, {**block.data, "X": block.data["X"][:, keep]})
            block.payload = build(block)
            store = RowStore(self._store.starts, [block], self._store.block_size)
        elif method != self._block_method:
            store = self._store.without(positions).rebuilt(build)
            touched = range(len(store.blocks))
        else:
            store = self._store.without(positions, build_payload=build)

        if self._is_classifier():
            self._forget_classes(positions)
        if self.metric == "precomputed":
            self.n_features_in_ = n_left
        self._store = store
        self._block_method = method
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": 0,
            "blocks_rebuilt": len(touched),
            "rows_reindexed": int(sum(len(store.blocks[b]) for b in touched)),
        }

    def _forget_classes(self, positions):
        """A class whose rows are all forgotten leaves ``classes_``, as in a refit."""
        y_removed = self._store.take(positions, ["y"])["y"]
        fit_classes, class_rows, current = [], [], []
        for k, classes in enumerate(self._fit_classes):
            rows = self._class_rows[k] - np.bincount(
                np.searchsorted(classes, y_removed[:, k]), minlength=classes.size
            )
            fit_classes.append(classes)
            class_rows.append(rows)
            current.append(classes[rows > 0])
        self._class_rows = class_rows
        self.classes_ = current if self.outputs_2d_ else current[0]

    def _estimate_unlearn_cost(self, positions):
        touched = self._store.blocks_touched(positions)
        return {
            "samples_retrained": 0,
            "blocks_rebuilt": len(touched),
            "rows_reindexed": int(sum(len(self._store.blocks[b]) for b in touched)),
        }


def _with_columns(graph, n_columns):
    """The graph with ``n_columns`` columns (scikit-learn sizes it by ``n_samples_fit_``)."""
    if graph.shape[1] != n_columns:
        graph = graph.copy()
        graph.resize((graph.shape[0], n_columns))
    return graph
