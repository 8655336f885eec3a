"""Sparse Gaussian-process classification as Bayesian logistic regression on whitened features."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import linalg
from scipy.stats import qmc
from sklearn.base import clone
from sklearn.gaussian_process.kernels import RBF, Kernel
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array

from skunlearn.bayes._gaussian import cholesky
from skunlearn.bayes._variational import (
    _SHARED_ATTRIBUTES_DOC,
    _SHARED_PARAMS_DOC,
    _BaseVariationalClassifier,
)
from skunlearn.utils._moments import moments_of

__all__ = ["SparseGPClassifier"]

# Jitter added to the inducing kernel matrix, relative to its mean diagonal.
_JITTER = 1e-6


def _halton_box(X, sample_weight, n_points: int) -> np.ndarray:
    """``n_points`` Halton points in the box ``mean +- 2 std`` of the weighted columns of ``X``.

    Only the columns' means and spreads are used, never a row: inducing inputs are
    hyperparameters and must not carry a training row that could later be forgotten. Weighted
    moments make a row of weight 2 and two copies of it give the same box.
    """
    n, mean, m2 = moments_of(X, sample_weight)
    std = np.sqrt(m2 / n)
    # Skip the first Halton point, the box's corner.
    unit = qmc.Halton(d=X.shape[1], scramble=False).random(n_points + 1)[1:]
    return mean - 2 * std + unit * (4 * std)


class SparseGPClassifier(_BaseVariationalClassifier):
    """Sparse Gaussian-process classifier whose Gaussian posterior forgets rows.

    The latent function is ``f(x) = k(x, Z) K(Z, Z)^-1 u`` for fixed inducing inputs ``Z`` and a
    fixed kernel ``k`` (the subset-of-regressors approximation). Whitening the inducing values,
    ``u = L v`` with ``K(Z, Z) = L L^T``, gives ``f(x) = phi(x)^T v`` with features
    ``phi(x) = L^-1 k(Z, x)`` and prior ``v ~ N(0, I)``: classification is Bayesian logistic
    regression on ``phi``, fitted and forgotten exactly as by
    :class:`VariationalUnlearnLogistic`.

    Input must be dense, as for scikit-learn's
    :class:`~sklearn.gaussian_process.GaussianProcessClassifier`: the kernels of
    :mod:`sklearn.gaussian_process.kernels` are evaluated on dense rows, and a sparse ``X`` is
    refused with a ``TypeError``.

    Read more in the :ref:`User Guide <bayesian>`.

    Parameters
    ----------
    kernel : kernel instance, default=None
        A kernel of :mod:`sklearn.gaussian_process.kernels`, whose hyperparameters are used as
        they are (not optimized). None means ``RBF(length_scale=1.0)``.

    inducing_points : int or array-like of shape (n_inducing, n_features), default=32
        The inducing inputs ``Z``. An int places that many Halton points in the box
        ``mean +- 2 std`` of the (weighted) training columns: no training row becomes an
        inducing input, so none has to be forgotten from them. Pass an array to fix them
        across fits, e.g. to compare with a refit on the retained rows.

    fit_intercept : bool, default=True
        Add a constant to the latent function (the last entry of the posterior).

    intercept_prior_scale : float, default=10.0
        Standard deviation of the Gaussian prior on the intercept.
    {shared}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels. A class whose rows are all forgotten is removed.

    kernel_ : kernel instance
        The kernel used.

    inducing_points_ : ndarray of shape (n_inducing, n_features)
        The inducing inputs used.

    posterior_mean_ : ndarray of shape (n_params,) or (n_classes, n_params)
        Posterior mean of the whitened inducing values ``v`` (intercept last).
        ``n_params = n_inducing + fit_intercept``.

    posterior_covariance_ : ndarray of shape (n_params, n_params) or (n_classes, n_params, \
n_params)
        Posterior covariance.
    {attributes}
    See Also
    --------
    VariationalUnlearnLogistic : The same posterior over the raw features.
    sklearn.gaussian_process.GaussianProcessClassifier : Exact-kernel GP classification
        (Laplace approximation), which cannot forget.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.gaussian_process.kernels import RBF
    >>> from skunlearn.bayes import SparseGPClassifier
    >>> X, y = make_moons(200, noise=0.2, random_state=0)
    >>> gp = SparseGPClassifier(RBF(0.5), inducing_points=25, random_state=0).fit(X, y)
    >>> round(gp.score(X, y), 2)
    0.95
    >>> gp.unlearn(range(20)).unlearn_report_["method"]
    'site'
    """

    _parameter_constraints: dict = {
        **_BaseVariationalClassifier._parameter_constraints,
        "kernel": [Kernel, None],
        "inducing_points": [Interval(Integral, 1, None, closed="left"), "array-like"],
    }

    def __init__(
        self,
        kernel=None,
        *,
        inducing_points=32,
        fit_intercept=True,
        intercept_prior_scale=10.0,
        unlearn_method="site",
        refine_steps=1,
        coverage=0.99,
        n_mc_samples="auto",
        store_data=True,
        tol=1e-6,
        max_iter=100,
        random_state=None,
    ):
        self.kernel = kernel
        self.inducing_points = inducing_points
        self.fit_intercept = fit_intercept
        self.intercept_prior_scale = intercept_prior_scale
        self.unlearn_method = unlearn_method
        self.refine_steps = refine_steps
        self.coverage = coverage
        self.n_mc_samples = n_mc_samples
        self.store_data = store_data
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit_features(self, X, sample_weight):
        self.kernel_ = RBF(1.0) if self.kernel is None else clone(self.kernel)
        if isinstance(self.inducing_points, Integral):
            Z = _halton_box(X, sample_weight, self.inducing_points)
        else:
            Z = check_array(self.inducing_points, dtype=np.float64, copy=True)
            if Z.shape[1] != X.shape[1]:
                raise ValueError(
                    f"inducing_points has {Z.shape[1]} features, but X has {X.shape[1]}."
                )
        K = self.kernel_(Z)
        K[np.diag_indices_from(K)] += _JITTER * max(float(np.mean(np.diagonal(K))), 1e-300)
        self.inducing_points_ = Z
        self._whitening = cholesky(K, "inducing kernel matrix")
        return self._features(X)

    def _features(self, X):
        cross = self.kernel_(self.inducing_points_, X)
        return self._with_intercept(linalg.solve_triangular(self._whitening, cross, lower=True).T)


SparseGPClassifier.__doc__ = SparseGPClassifier.__doc__.format(
    shared=_SHARED_PARAMS_DOC.rstrip(" "), attributes=_SHARED_ATTRIBUTES_DOC.rstrip(" ")
)
