"""Docstring fragments shared by the neighbours estimators."""

PARAMETERS = """
    n_neighbors : int, default=5
        Number of neighbors to use by default for :meth:`kneighbors` queries.

    algorithm : {'auto', 'ball_tree', 'kd_tree', 'brute'}, default='auto'
        Algorithm used within each block of rows. 'auto' follows scikit-learn's choice for
        the whole training set (and follows it again after rows are forgotten).

    leaf_size : int, default=30
        Leaf size passed to the trees of the blocks.

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
        The number of parallel jobs to run for neighbors search within a block.
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
        (always True), ``distance_bound`` (None), ``blocks_rebuilt``, ``rows_reindexed``
        (rows of the rebuilt blocks) and ``seconds``.
"""

NOTES = """
    The training rows are kept in their original order in blocks of consecutive rows (at
    most 48 blocks of at least 2048 rows), each with its own scikit-learn index; a query asks
    every block and merges the answers, and :meth:`unlearn` rebuilds only the blocks that
    held the forgotten rows. Neighbours and distances equal those of scikit-learn's estimator
    refitted on the retained rows; equidistant neighbours come in training order (scikit-learn
    leaves their order to the search algorithm, so on data with ties a refit may list them,
    or pick among them at the k-th place, differently).
"""


def fill(doc: str) -> str:
    return doc.format(
        parameters=PARAMETERS.strip("\n").lstrip(),
        attributes=ATTRIBUTES.strip("\n").lstrip(),
        notes=NOTES.rstrip(" "),
    )
