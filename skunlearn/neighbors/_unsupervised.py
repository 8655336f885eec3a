"""Unsupervised nearest-neighbour search that forgets rows exactly."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.utils.validation import check_is_fitted

from skunlearn.neighbors import _docs
from skunlearn.neighbors._base import _BlockedNeighborsMixin, _with_columns

__all__ = ["NearestNeighbors"]


def _as_object_array(parts):
    out = np.empty(len(parts), dtype=object)
    out[:] = parts
    return out


class NearestNeighbors(_BlockedNeighborsMixin, _SkNearestNeighbors):
    """Unsupervised learner for neighbor searches that can forget training rows.

    A drop-in replacement for :class:`sklearn.neighbors.NearestNeighbors` (same parameters,
    fitted attributes, :meth:`kneighbors` and :meth:`radius_neighbors`) with one more method,
    :meth:`unlearn`, which removes rows from the stored data and rebuilds only the index
    blocks that held them. Query results equal those of scikit-learn's estimator refitted on
    the retained rows.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbors to use by default for :meth:`kneighbors` queries.

    radius : float, default=1.0
        Range of parameter space to use by default for :meth:`radius_neighbors` queries.

    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The scikit-learn estimator this one extends.
    KNeighborsClassifier : Classification by k-nearest neighbors, also decremental.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.neighbors import NearestNeighbors
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [1.0, 0.0]])
    >>> nn = NearestNeighbors(n_neighbors=2).fit(X)
    >>> nn.kneighbors([[0.1, 0.1]], return_distance=False)
    array([[0, 1]])
    >>> nn.unlearn([0]).kneighbors([[0.1, 0.1]], return_distance=False)  # rows 1 and 3 left
    array([[0, 2]])
    """

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the retained training rows within a given radius of each query point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points. If None, the neighbours of each retained training row are
            returned, the row itself excluded.

        radius : float, default=None
            Limiting distance of neighbours (boundary included); the constructor's
            ``radius`` by default.

        return_distance : bool, default=True
            Whether to return the distances.

        sort_results : bool, default=False
            If True, sort each query's neighbours by distance (equidistant ones in training
            order); otherwise they come in training order. Requires ``return_distance``.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,) of arrays
            Distances to the neighbours, only present if ``return_distance=True``.

        neigh_ind : ndarray of shape (n_queries,) of arrays
            Indices of the neighbours among the retained rows, numbered in training order
            as a refit would number them.
        """
        check_is_fitted(self)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        if radius is None:
            radius = self.radius
        query_is_train = X is None
        X = self._fit_X if query_is_train else self._validate_query(X)
        n_queries = X.shape[0]
        query, pos, dist = [], [], []
        for block in self._store:
            d, i = block.payload.radius_neighbors(X, radius, return_distance=True)
            counts = np.fromiter((a.size for a in i), dtype=np.intp, count=n_queries)
            query.append(np.repeat(np.arange(n_queries), counts))
            pos.append(block.positions[np.concatenate(i)] if counts.sum() else counts[:0])
            dist.append(np.concatenate(d) if counts.sum() else np.empty(0))
        query, dist = np.concatenate(query), np.concatenate(dist)
        ind = self._ranks(np.concatenate(pos))
        keys = (ind, dist, query) if sort_results else (ind, query)
        order = np.lexsort(keys)
        query, ind, dist = query[order], ind[order], dist[order]
        if query_is_train:
            own = ind != query
            query, ind, dist = query[own], ind[own], dist[own]
        bounds = np.searchsorted(query, np.arange(1, n_queries))
        neigh_ind = _as_object_array(np.split(ind, bounds))
        if not return_distance:
            return neigh_ind
        return _as_object_array(np.split(dist, bounds)), neigh_ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity", sort_results=False):
        """Compute the (weighted) graph of neighbours within ``radius`` of points in ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; None for the retained training rows themselves.

        radius : float, default=None
            Radius of the neighbourhoods; the constructor's ``radius`` by default.

        mode : {'connectivity', 'distance'}, default='connectivity'
            Whether edges carry ones or distances.

        sort_results : bool, default=False
            Sort each row's neighbours by distance (``mode='distance'`` only).

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_retained)
            One column per retained training row, in training order, as for a refit.
        """
        graph = super().radius_neighbors_graph(
            X, radius=radius, mode=mode, sort_results=sort_results
        )
        return _with_columns(graph, self._n_retained())


NearestNeighbors.__doc__ = _docs.fill(NearestNeighbors.__doc__)
