"""Ridge, LinearRegression and BayesianRidge that forget rows exactly, from sufficient statistics.

Each is a subclass of scikit-learn's estimator of the same name, with the same parameters and
fitted attributes. ``fit`` keeps the joint moments of ``[X, y]`` and the rows themselves
(``_exact_stats``: a request names rows by position, so their values are needed to subtract
them); ``unlearn`` subtracts the forgotten rows' moments and solves again from the statistics,
in time independent of the number of rows. The result is the model scikit-learn
fits on the retained rows, up to rounding; when rounding could matter (the downdate cancelled
most of a column's variance, or ordinary least squares is too ill-conditioned for the normal
equations), the statistics are recomputed, or the model refitted with scikit-learn, from the
retained rows, and the report says so.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.linear_model import BayesianRidge as _SkBayesianRidge
from sklearn.linear_model import LinearRegression as _SkLinearRegression
from sklearn.linear_model import Ridge as _SkRidge
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skunlearn.base import UnlearnerMixin
from skunlearn.linear_model._bayesian_evidence import evidence_iterations
from skunlearn.linear_model._exact_solvers import (
    ScaledCholesky,
    nnls_from_gram,
    pinv_from_gram,
    singular_values_from_gram,
)
from skunlearn.linear_model._exact_stats import COLUMNS, LinearMoments, store_rows

__all__ = ["BayesianRidge", "LinearRegression", "Ridge"]

_EPS = np.finfo(np.float64).eps
# Extra relative error that downdate rounding may add to a solve before the statistics are
# recomputed from the retained rows. The solve amplifies a relative error in the statistics by
# about the condition number kappa of the matrix it factors, so the rounding bound of every
# column (relative to its variance) is kept below max(_SOLVE_RTOL / kappa, _ROUNDING_FLOOR).
# The floor lets ill-conditioned problems, whose fresh fit is itself only accurate to about
# kappa * eps, absorb about a thousand ulps of drift instead of recomputing every few calls.
# The bound is worst-case: measured drift is 30 to 100 times smaller (see the tests).
_SOLVE_RTOL = 1e-10
_ROUNDING_FLOOR = 1024 * _EPS
# Ordinary least squares through the normal equations loses kappa(X^T X) * eps where
# scikit-learn's lstsq loses kappa(X) * eps; beyond this the retained rows are used instead.
_LSTSQ_GRAM_KAPPA_MAX = 1e7
# Eigenvalues of X^T X dropped by the rank cutoff must be rounding noise (at most this many
# ulps of the largest, per feature) for the truncated solution to match lstsq's.
_NULL_ULPS = 100
# BayesianRidge's residual sum of squares is y^T y minus a quadratic form, good to a few ulps
# of y^T y per feature; below this fraction of y^T y it would move alpha_ by more than 1e-10.
_SSE_RTOL = 1e10 * _EPS


class _SolveFromRows(Exception):
    """The statistics cannot give scikit-learn's answer accurately: use the retained rows."""


class _ExactLinearMixin(UnlearnerMixin):
    """What the three exact linear models share: storage, statistics, downdates, fallbacks.

    Fitted private state:

    - ``_rows``: :class:`RowStore` of the retained rows (features, targets, weights);
    - ``_stats``: :class:`LinearMoments` of the retained rows;
    - ``_y_ndim``, ``_dtype``: shape of ``y`` and dtype of ``X`` at fit, to shape the outputs
      as scikit-learn does;
    - ``_last_solve``: how the current coefficients were obtained and at what conditioning.

    Subclasses set ``_sklearn_class`` and ``_multi_output`` and implement
    ``_solve_statistics(stats, n_rows) -> (attributes, kappa)``, raising ``_SolveFromRows``
    when scikit-learn's own fit on the rows is needed.
    """

    _sklearn_class: type
    _multi_output = True
    # scikit-learn's Ridge returns coef_ of shape (n_features,) for a single target even when
    # y is a column; LinearRegression keeps (1, n_features).
    _ravel_single_target = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._sparse_supported()
        tags.array_api_support = False
        return tags

    def _sparse_supported(self) -> bool:
        """Whether ``fit`` takes sparse ``X`` with these parameters (as scikit-learn's does)."""
        return False

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, keys=None):
        """Fit the model and keep what :meth:`unlearn` needs.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse matrices are accepted where scikit-learn's estimator
            accepts them (see the Notes of the class).
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Target values (one target only for :class:`BayesianRidge`).
        sample_weight : float or ndarray of shape (n_samples,), default=None
            Non-negative weight of each row.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_solver_params(sp.issparse(X))
        X, y = validate_data(
            self,
            X,
            y,
            # Sparse rows are stored as CSR (memory follows the non-zeros); their moments are
            # dense either way, so the model is the same as for the dense array.
            accept_sparse=["csr", "csc", "coo"] if self._sparse_supported() else False,
            dtype=[np.float64, np.float32],
            y_numeric=True,
            multi_output=self._multi_output,
        )
        n = X.shape[0]
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            if not sample_weight.sum() > 0:
                raise ValueError("Sample weights must contain at least one non-zero number.")
        Y = np.asarray(y, dtype=np.float64).reshape(n, -1)
        self._y_ndim = y.ndim
        self._dtype = X.dtype
        rows = store_rows(X, Y, sample_weight)
        stats = LinearMoments.from_store(rows, X.shape[1])
        attributes, solve = self._solve(stats, rows)
        n_weighted = n if sample_weight is None else int(np.count_nonzero(sample_weight))
        self._swap_state(
            _rows=rows, _stats=stats, _n_weighted=n_weighted, _last_solve=solve, **attributes
        )
        self._reset_unlearning(n, keys)
        return self

    def _check_solver_params(self, is_sparse: bool):
        """Reject parameter combinations scikit-learn rejects (Ridge overrides)."""

    def _solve(self, stats: LinearMoments, rows):
        """Fitted attributes for these statistics, and how they were obtained."""
        try:
            attributes, kappa = self._solve_statistics(stats, len(rows))
        except _SolveFromRows as reason:
            return self._solve_rows(rows), {"solved_from": f"rows: {reason}", "kappa": np.inf}
        return self._finish(attributes, stats), {"solved_from": "statistics", "kappa": kappa}

    def _solve_rows(self, rows) -> dict:
        """Fit scikit-learn's estimator on the retained rows and take its fitted attributes."""
        X, Y, w = (rows.column(name) for name in COLUMNS)
        estimator = self._sklearn_class(**self.get_params())
        estimator.fit(X, Y[:, 0] if self._y_ndim == 1 else Y, sample_weight=w)
        return {
            name: value
            for name, value in vars(estimator).items()
            if name.endswith("_") and not name.startswith("_") and not name.endswith("in_")
        }

    def _finish(self, attributes: dict, stats: LinearMoments) -> dict:
        """Intercept, output shapes and dtype of scikit-learn's fitted attributes."""
        p = stats.n_features
        coef = attributes["coef_"]
        if self.fit_intercept:
            mean = stats.mean
            intercept = mean[p:] - coef @ mean[:p]
        else:
            intercept = 0.0
        if self._y_ndim == 1:
            coef = coef[0]
            intercept = intercept[0] if self.fit_intercept else 0.0
        elif coef.shape[0] == 1 and self._ravel_single_target:
            coef = coef[0]
        attributes = {**attributes, "coef_": coef, "intercept_": intercept}
        if self._dtype != np.float64:
            # scikit-learn keeps float32 inputs in float32; the statistics stay float64.
            attributes = {k: _as_dtype(v, self._dtype) for k, v in attributes.items()}
        return attributes

    def _decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False)
        coef, intercept = self._read_state("coef_", "intercept_")
        return X @ (coef if coef.ndim == 1 else coef.T) + intercept

    # -- unlearn ---------------------------------------------------------------------------

    def _downdate(self, positions):
        """The retained rows and their statistics after forgetting ``positions`` (pure)."""
        removed, rows, _ = self._rows.pop(positions, COLUMNS)
        return rows, self._stats.without(removed, rows, positions), removed["w"]

    def _rounding_budget(self, kappa: float) -> float:
        return max(_SOLVE_RTOL / kappa, _ROUNDING_FLOOR)

    def _unlearn(self, positions):
        rows, stats, w_removed = self._downdate(positions)
        attributes, solve = self._solve(stats, rows)
        statistics = "downdated"
        if stats.relative_rounding() > self._rounding_budget(solve["kappa"]):
            stats = LinearMoments.from_store(rows, stats.n_features)
            attributes, solve = self._solve(stats, rows)
            statistics = "recomputed from the retained rows"
        n_weighted = self._n_weighted - (0 if w_removed is None else np.count_nonzero(w_removed))
        # One swap: a concurrent predict sees the old model or the new one, never a mix.
        self._swap_state(
            _rows=rows, _stats=stats, _n_weighted=int(n_weighted), _last_solve=solve, **attributes
        )
        reread = statistics != "downdated" or solve["solved_from"] != "statistics"
        return {
            "exact": True,
            "distance_bound": None,
            "statistics": statistics,
            "solved_from": solve["solved_from"],
            "condition_number": float(solve["kappa"]),
            "samples_retrained": len(rows) if reread else 0,
        }

    def _check_unlearn_feasible(self, positions):
        w = self._rows.take(positions, ("w",))["w"]
        if w is None:
            return
        if self._n_weighted - np.count_nonzero(w) <= 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero "
                "sample weight, from which no linear model can be fitted."
            )

    def _estimate_unlearn_cost(self, positions):
        rows, stats, _ = self._downdate(positions)
        from_rows = self._last_solve["solved_from"] != "statistics"
        recompute = stats.relative_rounding() > self._rounding_budget(self._last_solve["kappa"])
        return {
            "samples_retrained": len(rows) if (from_rows or recompute) else 0,
            "statistics": "recomputed from the retained rows" if recompute else "downdated",
        }


def _as_dtype(value, dtype):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    if isinstance(value, np.floating):
        return dtype.type(value)
    return value


_UNLEARN_ATTRIBUTES_DOC = """
    n_samples_fit_ : int
        Number of rows seen by the last :term:`fit`; positions passed to :meth:`unlearn`
        index them.

    unlearned_indices_ : ndarray of int
        Positions forgotten since the last fit, sorted.

    unlearn_report_ : dict or None
        The last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact`` (always True),
        ``distance_bound`` (None), ``statistics`` (``"downdated"``, or ``"recomputed from the
        retained rows"`` when the downdate's rounding could have mattered),
        ``solved_from`` (``"statistics"``, or ``"rows: <reason>"`` when scikit-learn's own fit
        on the retained rows was needed), ``condition_number`` of the matrix solved,
        ``samples_retrained`` (retained rows read again: 0 for a plain downdate) and
        ``seconds``."""

_COMMON_NOTES = """
    Notes
    -----
    ``fit`` keeps a copy of the training rows (split into blocks of about 128 kB) because an
    unlearning request names rows by position and their values are needed to subtract them;
    forgetting a row drops it from its block, so no copy of it remains in the model. Memory is
    therefore the size of the training data plus ``(n_features + n_targets)**2`` floats.

    The sufficient statistics are the weighted count, means and centred second moment of
    ``[X, y]``, taken about a retained row so that features with a large offset lose no
    precision. See :ref:`exact_linear` for the mathematics, the accuracy and the cost.

    Sparse ``X`` (CSR, CSC or COO) is accepted wherever scikit-learn's estimator accepts it,
    and refused as it refuses it. The rows are stored as CSR, so their memory follows the
    non-zeros, but the statistics are dense (``p x p``) and a row's moments are taken densely:
    the model is the one fitted on ``X.toarray()``, up to rounding, not scikit-learn's
    iterative sparse solution (``sparse_cg`` or ``lsqr``, good to ``tol``)."""


class Ridge(_ExactLinearMixin, _SkRidge):
    __doc__ = f"""Ridge regression that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.linear_model.Ridge` (same parameters, fitted
    attributes and predictions) with :meth:`unlearn`: forgetting rows subtracts their
    contribution to ``X^T X``, ``X^T y`` and the means and solves the normal equations again,
    in ``O(m p^2 + p^3)`` time for ``m`` rows and ``p`` features, whatever the training set
    size. The result equals a refit on the retained rows up to rounding.

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
        L2 penalty, one per target if an array.
    fit_intercept : bool, default=True
        Whether to fit an intercept (the statistics are centred).
    copy_X : bool, default=True
        Kept for compatibility: the rows are always copied.
    max_iter : int, default=None
        Has no effect: no iterative solver is run (see ``solver``).
    tol : float, default=1e-4
        Has no effect: no iterative solver is run (see ``solver``).
    solver : {{'auto', 'svd', 'cholesky', 'lsqr', 'sparse_cg', 'sag', 'saga', 'lbfgs'}}, \
default='auto'
        Every value scikit-learn accepts is accepted, and the combinations it refuses are
        refused with its errors: 'lbfgs' only with ``positive=True``, ``positive=True`` only
        with 'auto' or 'lbfgs'; on sparse ``X``, 'svd' never, and 'cholesky' or 'saga' not
        with ``fit_intercept=True``. Whatever the value, the coefficients are the exact
        minimiser of the ridge objective, from a Cholesky factorization of the statistics'
        ``X^T X + alpha I`` (non-negative least squares on it with ``positive=True``):

        - 'auto', 'cholesky', 'svd': scikit-learn's direct solvers compute the same
          minimiser; results agree to rounding;
        - 'lsqr', 'sparse_cg', 'sag', 'saga', 'lbfgs': scikit-learn's iterative solvers
          approximate this minimiser to ``tol``, so results agree to that tolerance, not to
          rounding, and ``max_iter``, ``tol`` and ``random_state`` have no effect.

        ``solver_`` records the method actually used. A downdate cannot be run by an
        iterative solver and stay exact, which is why none is run.
    positive : bool, default=False
        Constrain the coefficients to be non-negative. Solved exactly (active-set non-negative
        least squares on the Cholesky factor), where scikit-learn's 'lbfgs' approximates it.
    random_state : int, RandomState instance or None, default=None
        Has no effect: nothing is random (scikit-learn uses it for 'sag' and 'saga').

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weight vector(s).
    intercept_ : float or ndarray of shape (n_targets,)
        Independent term; 0.0 when ``fit_intercept=False``.
    n_iter_ : None
        No iterative solver is run.
    solver_ : str
        ``"cholesky"`` (``"nnls"`` with ``positive=True``), or scikit-learn's solver when the
        retained rows had to be used (a singular ``X^T X + alpha I``, possible only with
        ``alpha=0``).
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are all strings.
{_UNLEARN_ATTRIBUTES_DOC}

    See Also
    --------
    sklearn.linear_model.Ridge : The estimator this one extends.
    LinearRegression : The same without a penalty.
{_COMMON_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge as SklearnRidge
    >>> from skunlearn.linear_model import Ridge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = Ridge(alpha=0.1).fit(X, y)
    >>> model.unlearn([0, 5, 42]).unlearn_report_["statistics"]
    'downdated'
    >>> keep = np.setdiff1d(np.arange(len(y)), [0, 5, 42])
    >>> refit = SklearnRidge(alpha=0.1).fit(X[keep], y[keep])
    >>> bool(np.allclose(model.coef_, refit.coef_, rtol=1e-10))
    True
    """

    _sklearn_class = _SkRidge
    _ravel_single_target = True

    def _sparse_supported(self) -> bool:
        # scikit-learn's rule (its Ridge.__sklearn_tags__), so the tags and fit agree with it.
        return self.solver != "svd" and (self.solver != "cholesky" or not self.fit_intercept)

    def _check_solver_params(self, is_sparse: bool):
        # The same rejections as scikit-learn's Ridge, with its messages, so that code moving
        # between the two behaves the same (the exact solve itself could do without them).
        if self.solver == "lbfgs" and not self.positive:
            raise ValueError(
                "'lbfgs' solver can be used only when positive=True. Please use another solver."
            )
        if self.positive and self.solver not in ("auto", "lbfgs"):
            raise ValueError(
                f"solver='{self.solver}' does not support positive fitting. Please set the "
                "solver to 'auto' or 'lbfgs', or set `positive=False`"
            )
        if not is_sparse or self.positive:
            return
        if self.fit_intercept and self.solver not in ("auto", "lbfgs", "lsqr", "sag", "sparse_cg"):
            raise ValueError(
                f"solver='{self.solver}' does not support fitting the intercept on sparse data. "
                "Please set the solver to 'auto' or 'lsqr', 'sparse_cg', 'sag', 'lbfgs' or set "
                "`fit_intercept=False`"
            )
        if self.solver == "svd":
            raise TypeError("SVD solver does not support sparse inputs currently")

    def _solve_statistics(self, stats, n_rows):
        xtx, xty, _ = stats.gram(self.fit_intercept)
        n_targets = xty.shape[1]
        alpha = np.ravel(np.asarray(self.alpha, dtype=np.float64))
        if alpha.shape[0] not in (1, n_targets):
            raise ValueError(
                "Number of targets and number of penalties do not correspond: "
                f"{alpha.shape[0]} != {n_targets}"
            )
        alpha = np.broadcast_to(alpha, (n_targets,))
        coef = np.empty((n_targets, xtx.shape[0]))
        kappa = 1.0
        for value in np.unique(alpha):
            targets = np.flatnonzero(alpha == value)
            try:
                chol = ScaledCholesky(xtx + value * np.eye(xtx.shape[0]))
            except np.linalg.LinAlgError:
                raise _SolveFromRows("X^T X + alpha I is singular") from None
            if self.positive:
                coef[targets] = nnls_from_gram(None, xty[:, targets], chol)
            else:
                coef[targets] = chol.solve(xty[:, targets]).T
            kappa = max(kappa, chol.kappa)
        solver = "nnls" if self.positive else "cholesky"
        return {"coef_": coef, "n_iter_": None, "solver_": solver}, kappa


class LinearRegression(_ExactLinearMixin, _SkLinearRegression):
    __doc__ = f"""Ordinary least squares that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.linear_model.LinearRegression` (same parameters,
    fitted attributes and predictions) with :meth:`unlearn`: forgetting rows subtracts their
    contribution to ``X^T X``, ``X^T y`` and the means and solves again, in
    ``O(m p^2 + p^3)`` time for ``m`` rows and ``p`` features, whatever the training set size.

    scikit-learn solves with an SVD of ``X`` (error about ``cond(X) * eps``); the normal
    equations lose ``cond(X)**2 * eps``. When the retained ``X^T X`` is too ill-conditioned for
    that (condition number above 1e7) or its rank is ambiguous, the model is refitted with
    scikit-learn on the retained rows instead, and ``unlearn_report_["solved_from"]`` says so.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept (the statistics are centred).
    copy_X : bool, default=True
        Kept for compatibility: the rows are always copied.
    tol : float, default=1e-6
        Singular values of ``X`` below ``tol`` times the largest are treated as zero, as in
        ``scipy.linalg.lstsq(cond=tol)``.
    n_jobs : int, default=None
        Kept for compatibility.
    positive : bool, default=False
        Constrain the coefficients to be non-negative (exact non-negative least squares).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Estimated coefficients.
    rank_ : int
        Rank of the (centred, weighted) ``X``. Not set when ``positive=True``.
    singular_ : ndarray of shape (min(n_samples, n_features),)
        Singular values of ``X``, computed as square roots of the eigenvalues of ``X^T X``:
        accurate to about ``sqrt(eps) * singular_[0]`` (scikit-learn's are accurate to
        ``eps * singular_[0]``), so values near zero differ. Not set when ``positive=True``.
    intercept_ : float or ndarray of shape (n_targets,)
        Independent term; 0.0 when ``fit_intercept=False``.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are all strings.
{_UNLEARN_ATTRIBUTES_DOC}

    See Also
    --------
    sklearn.linear_model.LinearRegression : The estimator this one extends.
    Ridge : Least squares with an L2 penalty.
{_COMMON_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import LinearRegression as SklearnLinearRegression
    >>> from skunlearn.linear_model import LinearRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = LinearRegression().fit(X, y).unlearn(np.arange(10))
    >>> refit = SklearnLinearRegression().fit(X[10:], y[10:])
    >>> bool(np.allclose(model.coef_, refit.coef_, rtol=1e-10)), model.rank_
    (True, 10)
    """

    _sklearn_class = _SkLinearRegression

    def _sparse_supported(self) -> bool:
        # scikit-learn's non-negative least squares takes dense X only.
        return not self.positive

    def _solve_statistics(self, stats, n_rows):
        xtx, xty, _ = stats.gram(self.fit_intercept)
        n_features = xtx.shape[0]
        if self.positive:
            try:
                chol = ScaledCholesky(xtx)
            except np.linalg.LinAlgError:
                raise _SolveFromRows("X^T X is singular") from None
            if chol.kappa > _LSTSQ_GRAM_KAPPA_MAX:
                raise _SolveFromRows(f"X^T X is ill-conditioned ({chol.kappa:.1e})")
            return {"coef_": nnls_from_gram(None, xty, chol)}, chol.kappa
        singular, rank = singular_values_from_gram(xtx, self.tol)
        fitted = {"rank_": rank, "singular_": singular[: min(n_rows, n_features)]}
        if rank == 0:
            return {**fitted, "coef_": np.zeros((xty.shape[1], n_features))}, 1.0
        if rank == n_features:
            # Full rank: Cholesky, whose accuracy does not depend on the units of the features.
            chol = ScaledCholesky(xtx)
            coef, kappa = chol.solve(xty).T, chol.kappa
        else:
            coef, kappa, gap = pinv_from_gram(xtx, xty, self.tol)
            if gap > _NULL_ULPS * n_features * _EPS:
                raise _SolveFromRows(f"the rank of X is ambiguous (dropped eigenvalue {gap:.1e})")
        if kappa > _LSTSQ_GRAM_KAPPA_MAX:
            raise _SolveFromRows(f"X^T X is ill-conditioned ({kappa:.1e})")
        return {**fitted, "coef_": coef}, kappa


class BayesianRidge(_ExactLinearMixin, _SkBayesianRidge):
    __doc__ = f"""Bayesian ridge regression that can forget training rows exactly.

    A drop-in replacement for :class:`sklearn.linear_model.BayesianRidge` (same parameters,
    fitted attributes and predictions, including ``predict(X, return_std=True)``) with
    :meth:`unlearn`: forgetting rows subtracts their contribution to the statistics and re-runs
    scikit-learn's evidence iterations for ``alpha_`` and ``lambda_`` from the eigendecomposition
    of the retained ``X^T X``, in ``O(m p^2 + p^3 + n_iter p^2)`` time for ``m`` rows and ``p``
    features, whatever the training set size.

    Parameters
    ----------
    max_iter : int, default=300
        Maximum number of evidence iterations.
    tol : float, default=1e-3
        Stop when the L1 change of ``coef_`` is below ``tol``.
    alpha_1, alpha_2, lambda_1, lambda_2 : float, default=1e-6
        Gamma hyper-priors on the noise precision ``alpha`` and weight precision ``lambda``.
    alpha_init : float, default=None
        Initial ``alpha`` (default ``1 / Var(y)``).
    lambda_init : float, default=None
        Initial ``lambda`` (default 1).
    compute_score : bool, default=False
        Record the log marginal likelihood at each iteration.
    fit_intercept : bool, default=True
        Whether to fit an intercept (the statistics are centred).
    copy_X : bool, default=True
        Kept for compatibility: the rows are always copied.
    verbose : bool, default=False
        Print when the iterations converge.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the weights.
    intercept_ : float
        Independent term; 0.0 when ``fit_intercept=False``.
    alpha_ : float
        Estimated noise precision.
    lambda_ : float
        Estimated weight precision.
    sigma_ : ndarray of shape (n_features, n_features)
        Posterior covariance of the weights.
    scores_ : ndarray of shape (n_iter_ + 1,) or list
        Log marginal likelihood per iteration if ``compute_score``, else an empty list.
    n_iter_ : int
        Number of evidence iterations run.
    X_offset_ : ndarray of shape (n_features,)
        Weighted mean of the retained ``X`` (zeros without intercept).
    X_scale_ : ndarray of shape (n_features,)
        Ones, as in scikit-learn.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :term:`fit`, when they are all strings.
{_UNLEARN_ATTRIBUTES_DOC}

    See Also
    --------
    sklearn.linear_model.BayesianRidge : The estimator this one extends.
    Ridge : Ridge regression with a fixed penalty.
{_COMMON_NOTES}

    The noise precision depends on the residual sum of squares, obtained from the statistics
    as a difference of second moments: for near-perfect fits (``1 - R^2`` below about 1e-6) it
    carries a relative error of about ``eps / (1 - R^2)`` that a refit on the rows does not.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import BayesianRidge as SklearnBayesianRidge
    >>> from skunlearn.linear_model import BayesianRidge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = BayesianRidge().fit(X, y).unlearn(np.arange(20))
    >>> refit = SklearnBayesianRidge().fit(X[20:], y[20:])
    >>> bool(np.isclose(model.alpha_, refit.alpha_, rtol=1e-10)), model.n_iter_ == refit.n_iter_
    (True, True)
    """

    _sklearn_class = _SkBayesianRidge
    _multi_output = False

    def predict(self, X, return_std=False):
        """Predict with the posterior mean, and optionally the predictive standard deviation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        return_std : bool, default=False
            Also return the standard deviation of the posterior predictive distribution.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Mean of the predictive distribution.
        y_std : ndarray of shape (n_samples,)
            Its standard deviation, if ``return_std``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False)
        # One read: the five attributes come from the same model even during an unlearn.
        coef, intercept, offset, sigma, alpha = self._read_state(
            "coef_", "intercept_", "X_offset_", "sigma_", "alpha_"
        )
        y_mean = X @ coef + intercept
        if not return_std:
            return y_mean
        centred = np.asarray(X - offset)
        return y_mean, np.sqrt((centred @ sigma * centred).sum(axis=1) + 1.0 / alpha)

    def _solve_statistics(self, stats, n_rows):
        xtx, xty, yty = stats.gram(self.fit_intercept)
        p = stats.n_features
        y_var = stats.moments.m2[p, p] / stats.weight
        fitted = evidence_iterations(
            xtx, xty[:, 0], float(yty[0, 0]), stats.weight, y_var, self.get_params()
        )
        kappa = fitted.pop("kappa")
        sse = fitted.pop("sse")
        if sse < _SSE_RTOL * p * yty[0, 0]:
            raise _SolveFromRows(f"near-perfect fit (residual {sse:.1e} of y^T y {yty[0, 0]:.1e})")
        fitted["coef_"] = fitted["coef_"][None, :]
        fitted["X_offset_"] = stats.mean[:p] if self.fit_intercept else np.zeros(p)
        fitted["X_scale_"] = np.ones(p)
        return fitted, kappa
