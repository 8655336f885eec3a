"""A ColumnTransformer that forgets training rows through each of its transformers."""

from __future__ import annotations

import numpy as np
from sklearn import compose as _skc
from sklearn.compose._column_transformer import _get_transformer_list, _is_empty_column_selection
from sklearn.utils.validation import _check_feature_names_in, _num_samples

from skunlearn.base import UnlearnerMixin
from skunlearn.utils._composite import check_parts, estimate_parts, unlearn_parts
from skunlearn.utils._state import reads_one_state

__all__ = ["ColumnTransformer", "make_column_transformer"]


class ColumnTransformer(UnlearnerMixin, _skc.ColumnTransformer):
    """Apply transformers to columns of an array or DataFrame, and forget training rows.

    A drop-in for :class:`sklearn.compose.ColumnTransformer` (same parameters, fitted
    attributes, DataFrame and ``set_output`` support; scikit-learn does every fit and
    transform) with :meth:`unlearn`, which forwards the request to each fitted transformer.
    Every transformer must be a skunlearn unlearner (for instance
    :class:`skunlearn.preprocessing.StandardScaler`, :class:`skunlearn.impute.SimpleImputer`,
    :class:`skunlearn.preprocessing.OneHotEncoder`, or a :class:`skunlearn.pipeline.Pipeline`
    of them) or learn nothing from the rows' values (``'drop'``, ``'passthrough'``,
    :class:`~sklearn.preprocessing.FunctionTransformer`,
    :class:`~sklearn.preprocessing.PolynomialFeatures`,
    :class:`~sklearn.preprocessing.SplineTransformer` with knots given as an array); a fitted
    transformer that cannot unlearn makes :meth:`unlearn` raise ``ValueError``, naming it,
    before anything changes.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    transformers : list of tuples
        ``(name, transformer, columns)`` tuples, as for scikit-learn's ColumnTransformer
        (columns by name, position, mask, or a callable such as
        :func:`~sklearn.compose.make_column_selector`).

    remainder : {'drop', 'passthrough'} or estimator, default='drop'
        What to do with the columns no transformer selects. An estimator must follow the
        same rule as the transformers.

    sparse_threshold : float, default=0.3
        Output a sparse matrix when the fitted output's density is below this. The choice
        (``sparse_output_``) is made at fit, on every row, and kept by :meth:`unlearn`: only
        the container type can differ from a refit on the retained rows, never the values.

    n_jobs : int, default=None
        Number of jobs fitting the transformers in parallel.

    transformer_weights : dict, default=None
        Multiplicative weights of the transformers' outputs, by name.

    verbose : bool, default=False
        Print the time elapsed fitting each transformer.

    verbose_feature_names_out : bool, str or callable, default=True
        How :meth:`get_feature_names_out` prefixes the names, as in scikit-learn.

    Attributes
    ----------
    transformers_ : list
        The fitted transformers, as ``(name, fitted_transformer, columns)``.

    named_transformers_ : :class:`~sklearn.utils.Bunch`
        The fitted transformers by name.

    sparse_output_ : bool
        Whether :meth:`transform` outputs a sparse matrix.

    output_indices_ : dict
        The slice of the output each transformer produces, updated by :meth:`unlearn` when a
        transformer's output width changes (an encoder losing a category).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``,
        ``distance_bound``, ``seconds``, ``transformers`` (what was done to each: 'unlearned',
        'stateless', 'passthrough' or 'drop'), ``samples_retrained`` (summed over the
        transformers), ``transform_changed`` and ``transformer_reports`` (each unlearned
        transformer's own report).

    See Also
    --------
    make_column_transformer : Build a ColumnTransformer without naming the transformers.
    skunlearn.pipeline.FeatureUnion : Concatenate transformers applied to all the columns.

    Notes
    -----
    The transformers are fitted side by side on the same rows, so forgetting rows is forwarding
    the positions (the rows of the last fit) to each of them; each then ends as its own
    :meth:`unlearn` leaves it, a refit on the retained rows for skunlearn's exact
    transformers. :meth:`unlearn` uses the transformers of the last fit (``transformers_``):
    ``set_params`` after fit changes the next fit only.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.compose import ColumnTransformer
    >>> from skunlearn.preprocessing import OneHotEncoder, StandardScaler
    >>> X = np.array([[0.0, 1], [2.0, 2], [4.0, 1], [6.0, 3]])
    >>> ct = ColumnTransformer(
    ...     [("num", StandardScaler(), [0]), ("cat", OneHotEncoder(sparse_output=False), [1])]
    ... ).fit(X)
    >>> ct.transform(X).shape
    (4, 4)
    >>> ct.unlearn([3]).unlearn_report_["transformers"]
    {'num': 'unlearned', 'cat': 'unlearned'}
    >>> ct.transform(X[:3]).shape  # category 3 is forgotten with the only row that had it
    (3, 3)
    """

    # Nothing of its own is kept only to forget: serving_copy() keeps the fitted layout, with
    # each transformer replaced by its own serving copy.
    _training_state = ()

    # One read of the fitted transformers per call: an unlearn swaps them at once.
    transform = reads_one_state(_skc.ColumnTransformer.transform)

    def fit(self, X, y=None, **params):
        """Fit all transformers on their columns of ``X``.

        Parameters
        ----------
        X : {array-like, dataframe} of shape (n_samples, n_features)
            Input data, of which the transformers see their columns.
        y : array-like of shape (n_samples,), default=None
            Targets for supervised transformers.
        **params : dict
            Parameters of the transformers' ``fit`` (with metadata routing), and ``keys``:
            one key per row, for ``unlearn(keys=[...])`` (see :ref:`keys_and_audit`).

        Returns
        -------
        self : ColumnTransformer
            This estimator, fitted.
        """
        self.fit_transform(X, y, **params)
        return self

    def fit_transform(self, X, y=None, **params):
        """Fit all transformers, transform the data and concatenate the results.

        Parameters
        ----------
        X : {array-like, dataframe} of shape (n_samples, n_features)
            Input data, of which the transformers see their columns.
        y : array-like of shape (n_samples,), default=None
            Targets for supervised transformers.
        **params : dict
            Parameters routed to the transformers (with metadata routing enabled).

        Returns
        -------
        X_t : {array-like, sparse matrix} of shape (n_samples, sum_n_components)
            Horizontally stacked outputs of the transformers.
        """
        # scikit-learn's ColumnTransformer fails on a 1-D X with an IndexError from deep inside
        # its column selection; say what is wrong instead.
        ndim = len(X.shape) if hasattr(X, "shape") else np.asarray(X).ndim
        if ndim != 2:
            raise ValueError(
                f"Expected a 2D array or a DataFrame, got {ndim}D input instead; reshape a "
                "single feature with X.reshape(-1, 1)."
            )
        params = dict(params)
        keys = self._take_keys(params)
        out = super().fit_transform(X, y, **params)
        self._reset_unlearning(_num_samples(X), keys)
        return out

    def _parts(self):
        """The fitted transformers that saw some columns, as ``(name, transformer)``."""
        return [
            (name, trans)
            for name, trans, columns in self.transformers_
            if not _is_empty_column_selection(columns)
        ]

    def _check_unlearn_feasible(self, positions):
        check_parts(type(self).__name__, self._parts())

    def _unlearn(self, positions):
        parts = self._parts()
        new_parts, details = unlearn_parts(parts, positions)
        new = dict(zip((name for name, _ in parts), new_parts))
        transformers = [
            (name, new.get(name, trans), columns) for name, trans, columns in self.transformers_
        ]
        self._swap_state(
            transformers_=transformers, output_indices_=self._output_indices(transformers)
        )
        return details

    def _output_indices(self, transformers) -> dict:
        """``output_indices_`` for ``transformers``, from each one's output feature names.

        A transformer without ``get_feature_names_out`` keeps its current output width.
        """
        names_in = _check_feature_names_in(self, None)
        indices, start = {}, 0
        for name, trans, columns in transformers:
            if trans == "drop" or _is_empty_column_selection(columns):
                continue
            try:
                width = len(self._get_feature_name_out_for_transformer(name, trans, names_in))
            except AttributeError:
                current = self.output_indices_[name]
                width = current.stop - current.start
            indices[name] = slice(start, start + width)
            start += width
        for name in [t[0] for t in self.transformers] + ["remainder"]:
            indices.setdefault(name, slice(0, 0))
        return indices

    def _estimate_unlearn_cost(self, positions):
        return estimate_parts(self._parts(), positions)


def make_column_transformer(
    *transformers,
    remainder="drop",
    sparse_threshold=0.3,
    n_jobs=None,
    verbose=False,
    verbose_feature_names_out=True,
) -> ColumnTransformer:
    """Construct a :class:`ColumnTransformer`, naming the transformers after their classes.

    Parameters
    ----------
    *transformers : tuples
        ``(transformer, columns)`` tuples.
    remainder : {'drop', 'passthrough'} or estimator, default='drop'
        What to do with the columns no transformer selects.
    sparse_threshold : float, default=0.3
        Output a sparse matrix when the fitted output's density is below this.
    n_jobs : int, default=None
        Number of jobs fitting the transformers in parallel.
    verbose : bool, default=False
        Print the time elapsed fitting each transformer.
    verbose_feature_names_out : bool, str or callable, default=True
        How :meth:`~ColumnTransformer.get_feature_names_out` prefixes the names.

    Returns
    -------
    ct : ColumnTransformer
        A skunlearn :class:`ColumnTransformer`.

    Examples
    --------
    >>> from sklearn.compose import make_column_selector
    >>> from skunlearn.compose import make_column_transformer
    >>> from skunlearn.preprocessing import OneHotEncoder, StandardScaler
    >>> ct = make_column_transformer(
    ...     (StandardScaler(), make_column_selector(dtype_include="number")),
    ...     (OneHotEncoder(), make_column_selector(dtype_include=object)),
    ... )
    >>> [name for name, _, _ in ct.transformers]
    ['standardscaler', 'onehotencoder']
    """
    return ColumnTransformer(
        _get_transformer_list(transformers),
        remainder=remainder,
        sparse_threshold=sparse_threshold,
        n_jobs=n_jobs,
        verbose=verbose,
        verbose_feature_names_out=verbose_feature_names_out,
    )
