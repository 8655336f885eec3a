"""k-nearest-neighbours regression that forgets rows exactly."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsRegressor as _SkKNeighborsRegressor

from skunlearn.neighbors import _docs
from skunlearn.neighbors._base import _NeighborsUnlearnerMixin

__all__ = ["KNeighborsRegressor"]


class KNeighborsRegressor(_NeighborsUnlearnerMixin, _SkKNeighborsRegressor):
    """Regression based on k-nearest neighbors that can forget training rows.

    A drop-in replacement for :class:`sklearn.neighbors.KNeighborsRegressor` (same
    parameters, fitted attributes and predictions) with one more method, :meth:`unlearn`,
    which removes rows (and their targets) from the stored data and rebuilds the index over
    the rows left. Predictions equal those of scikit-learn's estimator refitted on the
    retained rows, ties included.

    Read more in the :ref:`User Guide <decremental>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbors to use by default for :meth:`kneighbors` queries.

    weights : {{'uniform', 'distance'}}, callable or None, default='uniform'
        Weight function used in prediction, as in scikit-learn.

    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    sklearn.neighbors.KNeighborsRegressor : The scikit-learn estimator this one extends.
    KNeighborsClassifier : Classification by k-nearest neighbors, also decremental.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from skunlearn.neighbors import KNeighborsRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KNeighborsRegressor().fit(X, y).unlearn(np.arange(0, 400, 2))
    >>> keep = np.r_[np.arange(1, 400, 2), np.arange(400, len(y))]
    >>> ref = KNeighborsRegressor().fit(X[keep], y[keep])
    >>> bool(np.array_equal(reg.predict(X), ref.predict(X)))
    True
    """

    _sklearn_class = _SkKNeighborsRegressor

    def predict(self, X):
        """Predict the target for the provided data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), \
                or (n_queries, n_indexed) if metric == 'precomputed', or None
            Test samples. If None, predictions for all retained training rows are returned
            (each row not being its own neighbour).

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            Target values.
        """
        return self._query_index().predict(X)


KNeighborsRegressor.__doc__ = _docs.fill(KNeighborsRegressor.__doc__)
