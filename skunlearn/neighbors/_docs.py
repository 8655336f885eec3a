"""Docstring fragments shared by the neighbours estimators."""

PARAMETERS = """
    n_neighbors : int, default=5
        Number of neighbors to use by default for :meth:`kneighbors` queries.

    algorithm : {'auto', 'ball_tree', 'kd_tree', 'brute'}, default='auto'
        Algorithm used to compute the nearest neighbors, as in scikit-learn. 'auto' chooses
        from the retained rows again after rows are forgotten, as a refit would.

    leaf_size : int, default=30
        Leaf size passed to the KD or ball tree.

    p : float, default=2
        Power parameter for the Minkowski metric.

    metric : str or callable, default='minkowski'
        Metric to use for distance computation, as in scikit-learn. With
        ``metric='precomputed'`` the training matrix has one column per training row;
        forgetting rows drops their rows and columns, and later queries must have one column
        per retained row, as for a refit.

    metric_params : dict, default=None
        Additional keyword arguments for the metric function.

    n_jobs : int, default=None
        The number of parallel jobs to run for neighbors search.
"""

ATTRIBUTES = """
    effective_metric_ : str or callable
        The distance metric used.

    effective_metric_params_ : dict
        Additional keyword arguments for the metric function.

    n_features_in_ : int
        Number of features seen during fit (for ``metric='precomputed'``, the number of
        retained training rows).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows of the last fit. Unlike scikit-learn's attribute of the same name, it
        does not shrink when rows are forgotten (positions passed to :meth:`unlearn` keep
        their meaning); the number of retained rows is
        ``n_samples_fit_ - len(unlearned_indices_)``.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``
        (always True), ``distance_bound`` (None), ``samples_retrained`` (rows the new index
        was built over), ``algorithm`` (the algorithm of the new index) and ``seconds``.
"""

NOTES = """
    The fitted state is scikit-learn's estimator of the same name, with the parameters of the
    last fit, fitted on the retained rows in training order; it answers every query, and
    :meth:`unlearn` replaces it by one fitted on the rows left. Neighbours, distances, their
    order among equidistant rows and every prediction are therefore those of scikit-learn's
    estimator refitted on the retained rows, bit for bit (scikit-learn's brute force and its
    trees each order tied neighbours their own way, which no merge of partial searches
    reproduces). Forgetting costs what building that index costs: a copy of the rows for
    brute force, a tree build for the KD and ball trees.
"""


def fill(doc: str) -> str:
    return doc.format(
        parameters=PARAMETERS.strip("\n").lstrip(),
        attributes=ATTRIBUTES.strip("\n").lstrip(),
        notes=NOTES.rstrip(" "),
    )
