"""k-nearest-neighbours classification that forgets rows exactly."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier as _SkKNeighborsClassifier

from skunlearn.neighbors import _docs
from skunlearn.neighbors._base import _NeighborsUnlearnerMixin

__all__ = ["KNeighborsClassifier"]


class KNeighborsClassifier(_NeighborsUnlearnerMixin, _SkKNeighborsClassifier):
    """Classifier implementing the k-nearest neighbors vote that can forget training rows.

    A drop-in replacement for :class:`sklearn.neighbors.KNeighborsClassifier` (same
    parameters, fitted attributes and predictions) with one more method, :meth:`unlearn`,
    which removes rows from the stored data and rebuilds the index over the rows left.
    Predictions equal those of scikit-learn's estimator refitted on the retained rows, ties
    included.

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
    classes_ : array of shape (n_classes,) or list of such arrays
        Class labels known to the classifier. A class whose rows are all forgotten leaves
        ``classes_``, as in a refit.

    outputs_2d_ : bool
        False when ``y``'s shape is (n_samples, ) or (n_samples, 1) during fit.

    {attributes}

    See Also
    --------
    sklearn.neighbors.KNeighborsClassifier : The scikit-learn estimator this one extends.
    KNeighborsRegressor : Regression based on k-nearest neighbors, also decremental.

    Notes
    -----{notes}
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn.neighbors import KNeighborsClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KNeighborsClassifier(n_neighbors=3).fit(X, y).unlearn([0, 1, 2])
    >>> ref = KNeighborsClassifier(n_neighbors=3).fit(X[3:], y[3:])
    >>> bool(np.array_equal(clf.kneighbors(X)[1], ref.kneighbors(X)[1]))
    True
    >>> clf.unlearn_report_["samples_retrained"]  # the index is rebuilt over the rows left
    147
    """

    _sklearn_class = _SkKNeighborsClassifier

    def predict(self, X):
        """Predict the class labels for the provided data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), \
                or (n_queries, n_indexed) if metric == 'precomputed', or None
            Test samples. If None, predictions for all retained training rows are returned
            (each row not being its own neighbour).

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            Class labels for each data sample.
        """
        return self._query_index().predict(X)

    def predict_proba(self, X):
        """Return probability estimates for the test data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), \
                or (n_queries, n_indexed) if metric == 'precomputed', or None
            Test samples. If None, predictions for all retained training rows are returned.

        Returns
        -------
        p : ndarray of shape (n_queries, n_classes), or a list of such arrays
            The class probabilities of the input samples, columns in the order of
            ``classes_``.
        """
        return self._query_index().predict_proba(X)


KNeighborsClassifier.__doc__ = _docs.fill(KNeighborsClassifier.__doc__)
