"""Site subtraction: forget rows by removing their Gaussian sites from the posterior.

At the optimum of the variational objective the Gaussian posterior is exactly the prior times
one Gaussian site per row (see :func:`skunlearn.bayes._logistic.row_sites`). Removing the erased
rows' sites, computed under the current posterior, is one natural-gradient step of the evidence
upper bound from ``q(theta | D)``; it needs only the posterior and the erased rows, and costs
``O(n_e p^2 + p^3)`` whatever the number of retained rows.
"""

from __future__ import annotations

from scipy import linalg

from skunlearn.bayes._gaussian import cholesky, inverse_spd
from skunlearn.bayes._logistic import row_sites

__all__ = ["site_unlearn"]


def site_unlearn(mean, precision, X, t, w):
    """Subtract the sites of rows ``(X, t, w)`` from ``N(mean, precision^-1)``.

    Returns
    -------
    mean, precision : ndarray
        The cavity posterior, as new arrays.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the cavity precision is not positive definite (the posterior was too far from the
        optimum it is the product of sites at, e.g. after earlier unrefined removals).
    """
    beta, gamma = row_sites(X, t, w, mean, inverse_spd(precision, "posterior precision"))
    new_precision = precision - (X.T * beta) @ X
    new_precision = (new_precision + new_precision.T) / 2
    L = cholesky(new_precision, "precision left after subtracting the erased rows' sites")
    new_mean = linalg.cho_solve((L, True), precision @ mean - X.T @ gamma)
    return new_mean, new_precision
