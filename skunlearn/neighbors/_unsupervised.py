"""Unsupervised nearest-neighbour search that forgets rows exactly."""

from __future__ import annotations

from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors

from skunlearn.neighbors import _docs
from skunlearn.neighbors._base import _NeighborsUnlearnerMixin

__all__ = ["NearestNeighbors"]


class NearestNeighbors(_NeighborsUnlearnerMixin, _SkNearestNeighbors):
    """Unsupervised learner for neighbor searches that can forget training rows.

    A drop-in replacement for :class:`sklearn.neighbors.NearestNeighbors` (same parameters,
    fitted attributes, :meth:`kneighbors` and :meth:`radius_neighbors`) with one more method,
    :meth:`unlearn`, which removes rows from the stored data and rebuilds the index over the
    rows left. Query results equal those of scikit-learn's estimator refitted on the retained
    rows, ties included.

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

    _sklearn_class = _SkNearestNeighbors

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
            If True, sort each query's neighbours by distance. Requires ``return_distance``.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,) of arrays
            Distances to the neighbours, only present if ``return_distance=True``.

        neigh_ind : ndarray of shape (n_queries,) of arrays
            Indices of the neighbours among the retained rows, numbered in training order
            as a refit would number them.
        """
        index = self._query_index()
        return index.radius_neighbors(X, radius, return_distance, sort_results)

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
        index = self._query_index()
        return index.radius_neighbors_graph(X, radius, mode, sort_results)


NearestNeighbors.__doc__ = _docs.fill(NearestNeighbors.__doc__)
