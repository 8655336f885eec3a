"""k-nearest-neighbours regression that forgets rows exactly."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsRegressor as _SkKNeighborsRegressor

from skunlearn.neighbors import _docs
from skunlearn.neighbors._base import _BlockedNeighborsMixin

__all__ = ["KNeighborsRegressor"]


class KNeighborsRegressor(_BlockedNeighborsMixin, _SkKNeighborsRegressor):
    """Regression based on k-nearest neighbors that can forget training rows.

    A drop-in replacement for :class:`sklearn.neighbors.KNeighborsRegressor` (same
    parameters, fitted attributes and predictions) with one more method, :meth:`unlearn`,
    which removes rows (and their targets) from the stored data and rebuilds only the index
    blocks that held them. Predictions equal those of scikit-learn's estimator refitted on
    the retained rows.

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


KNeighborsRegressor.__doc__ = _docs.fill(KNeighborsRegressor.__doc__)
