"""Nearest neighbours that forget rows: one scikit-learn index over the retained rows.

A nearest-neighbour model *is* its training rows, and on data with equal distances (images,
counts, integer grids) which of the tied rows a query returns, and in which order, is decided
by scikit-learn's search code: its brute force and its KD and ball trees each have their own
order, set by how the rows are laid out in memory or in the tree. No merge of partial answers
reproduces it. So the fitted state is a scikit-learn estimator of the same class, with the
parameters of the last fit, fitted on the retained rows in training order; every query is
answered by it, and :meth:`unlearn` replaces it by one fitted on the rows left. The answers
are those of scikit-learn's estimator refitted on the retained rows, bit for bit, ties
included; forgetting costs what building that index costs (a copy of the rows for brute
force, a tree build for the trees).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from sklearn import config_context
from sklearn.base import _fit_context, clone
from sklearn.neighbors._base import _check_precomputed
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from skunlearn._serving import as_serving
from skunlearn.base import UnlearnerMixin

# Parameters that scikit-learn's estimators read when they answer a query, not when they
# build the index: changing one after fit changes the next query, as in scikit-learn.
_QUERY_PARAMS = ("n_neighbors", "radius", "weights", "n_jobs")

# Fitted attributes of the index that the estimator shows as its own.
_MIRRORED = ("classes_", "outputs_2d_", "effective_metric_", "effective_metric_params_")


class _NeighborsUnlearnerMixin(UnlearnerMixin):
    """Fit, query and unlearn for the neighbours estimators.

    Fitted private state, rebound together by every :meth:`unlearn`:

    - ``_index``: a fitted estimator of ``_sklearn_class`` over the retained rows, in training
      order; it answers every query;
    - ``_X_kept`` and ``_y_kept``: those rows (and targets) as validated at fit, from which
      the next index is built.
    """

    _sklearn_class: type = None  # set by each estimator

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(
        # scikit-learn does not validate the neighbours' metric parameter yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, keys=None):
        """Fit the estimator from the training dataset.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, n_samples) if metric='precomputed'
            Training data.

        y : {array-like, sparse matrix} of shape (n_samples,) or \
                (n_samples, n_outputs), default=None
            Target values (classifier and regressor); ignored by :class:`NearestNeighbors`.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        supervised = get_tags(self).target_tags.required
        if y is None and supervised:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        ensure_all_finite = "allow-nan" if get_tags(self).input_tags.allow_nan else True
        # The validation of scikit-learn's own fit, giving the rows the next index is built
        # from; the index itself is fitted on the data as given, as scikit-learn's would be.
        options = dict(accept_sparse="csr", order="C", ensure_all_finite=ensure_all_finite)
        if supervised:
            X_kept, y_kept = validate_data(self, X, y, multi_output=True, **options)
        else:
            X_kept, y_kept = validate_data(self, X, **options), None
        if self.metric == "precomputed":
            X_kept = _check_precomputed(X_kept)
        index = self._sklearn_class(**self.get_params())
        index = index.fit(X) if y_kept is None else index.fit(X, y)
        self._swap_state(_X_kept=X_kept, _y_kept=y_kept, **self._state_of(index))
        self._reset_unlearning(X_kept.shape[0], keys)
        return self

    @staticmethod
    def _state_of(index) -> dict:
        state = {name: getattr(index, name) for name in _MIRRORED if hasattr(index, name)}
        # Precomputed distances have one column per retained row: that count changes.
        state["n_features_in_"] = index.n_features_in_
        state["_index"] = index
        return state

    # -- queries ---------------------------------------------------------------------------

    def _query_index(self):
        """The fitted index, with the query parameters currently set on the estimator.

        It validates the queries itself, on the data as given: scikit-learn's brute force may
        take another code path (with its own order of tied neighbours) for a copy of an array
        than for a view of it. Read once per call: a concurrent :meth:`unlearn` swaps in a new
        index, and this call keeps answering from the one it took.
        """
        check_is_fitted(self)
        (index,) = self._read_state("_index")
        changed = {
            name: getattr(self, name)
            for name in _QUERY_PARAMS
            if hasattr(index, name) and getattr(index, name) is not getattr(self, name)
        }
        if changed:
            index = copy.copy(index)  # shallow: shares the rows and the tree
            index.set_params(**changed)
        return index

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
            as a refit on the retained rows would number them.
        """
        index = self._query_index()
        return index.kneighbors(X, n_neighbors, return_distance)

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
        index = self._query_index()
        return index.kneighbors_graph(X, n_neighbors, mode)

    def _serving_copy(self):
        # A neighbours model is its rows: the serving copy is scikit-learn's own model over
        # the retained rows (the index that answers every query), without the copy of the
        # rows kept to build the next one.
        return as_serving(self._query_index())

    # -- unlearn ---------------------------------------------------------------------------

    def _n_retained(self) -> int:
        return self.n_samples_fit_ - self.unlearned_indices_.size

    def _check_unlearn_feasible(self, positions):
        # scikit-learn fits on fewer rows than n_neighbors and only fails at query time; a
        # request that leaves the model unable to answer its default query is refused instead.
        n_left = self._n_retained() - positions.size
        if self.n_neighbors is not None and n_left < self.n_neighbors:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave {n_left} rows, fewer than "
                f"n_neighbors={self.n_neighbors}: the model could no longer predict. Lower "
                "n_neighbors (set_params) first, or fit a new model."
            )

    def _unlearn(self, positions):
        index, X, y = self._read_state("_index", "_X_kept", "_y_kept")
        # Rank of each forgotten row among the retained rows, which the arrays hold in order.
        ranks = positions - np.searchsorted(self.unlearned_indices_, positions)
        keep = np.ones(X.shape[0], dtype=bool)
        keep[ranks] = False
        X = X[keep][:, keep] if self.metric == "precomputed" else X[keep]
        y = None if y is None else y[keep]
        # The index of a refit on the retained rows, with the parameters of the last fit
        # ('auto' chooses its algorithm again from the rows left, as a refit does).
        # The rows were validated at fit: no second pass looking for NaN and infinities.
        with warnings.catch_warnings(), config_context(assume_finite=True):
            warnings.simplefilter("ignore")  # the fit's warnings were given at fit
            new = clone(index)
            new = new.fit(X) if y is None else new.fit(X, y)
        if hasattr(index, "feature_names_in_"):
            # Fitted on the validated rows: it must keep checking the names of the fit.
            new.feature_names_in_ = index.feature_names_in_
        self._swap_state(_X_kept=X, _y_kept=y, **self._state_of(new))
        return {
            "exact": True,
            "distance_bound": None,
            "samples_retrained": int(X.shape[0]),
            "algorithm": new._fit_method,
        }

    def _estimate_unlearn_cost(self, positions):
        # Every request builds the index of the retained rows anew.
        return {"samples_retrained": int(self._n_retained() - positions.size)}
