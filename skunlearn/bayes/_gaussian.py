"""Gaussian algebra shared by the Bayesian unlearners, their tests, benchmark and example.

A posterior is kept as ``(mean, precision)`` and exposed as ``(mean, covariance)``; several
independent Gaussians (one per one-vs-rest class) are stacked along a leading axis.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.stats import chi2

__all__ = ["ball_radius2", "cholesky", "gaussian_kl", "inverse_spd"]


def cholesky(A: np.ndarray, what: str = "matrix") -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive-definite matrix, with a clear error."""
    try:
        return linalg.cholesky(A, lower=True, check_finite=True)
    except (linalg.LinAlgError, ValueError) as exc:
        raise linalg.LinAlgError(f"the {what} is not positive definite ({exc})") from exc


def inverse_spd(A: np.ndarray, what: str = "matrix") -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix, symmetrised against rounding."""
    L = cholesky(A, what)
    inv = linalg.cho_solve((L, True), np.eye(A.shape[0]))
    return (inv + inv.T) / 2


def _logdet_from_chol(L: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diagonal(L))))


def gaussian_kl(mean0, cov0, mean1, cov1) -> float:
    """KL divergence ``KL(N(mean0, cov0) || N(mean1, cov1))``.

    Stacked Gaussians (a leading axis, e.g. one per one-vs-rest class) are independent, so
    their divergences add up.

    Parameters
    ----------
    mean0, mean1 : ndarray of shape (p,) or (K, p)
        Means.
    cov0, cov1 : ndarray of shape (p, p) or (K, p, p)
        Covariances (symmetric positive definite).

    Returns
    -------
    kl : float
        Non-negative divergence, in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.bayes._gaussian import gaussian_kl
    >>> gaussian_kl(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))
    0.0
    >>> round(gaussian_kl(np.zeros(1), np.eye(1), np.ones(1), np.eye(1)), 6)
    0.5
    """
    mean0, mean1 = np.asarray(mean0, float), np.asarray(mean1, float)
    cov0, cov1 = np.asarray(cov0, float), np.asarray(cov1, float)
    if mean0.ndim == 2:
        return float(sum(gaussian_kl(*args) for args in zip(mean0, cov0, mean1, cov1)))
    p = mean0.shape[0]
    L0 = cholesky(cov0, "first covariance")
    L1 = cholesky(cov1, "second covariance")
    M = linalg.solve_triangular(L1, L0, lower=True)  # L1^-1 L0: trace term without inverses
    d = linalg.solve_triangular(L1, mean1 - mean0, lower=True)
    kl = 0.5 * (np.sum(M * M) + d @ d - p + _logdet_from_chol(L1) - _logdet_from_chol(L0))
    return max(float(kl), 0.0)


def ball_radius2(coverage: float, dim: int) -> float:
    """Squared Mahalanobis radius of the ball holding ``coverage`` of a Gaussian's mass.

    The adjusted likelihood of variational Bayesian unlearning counts an erased row only where
    ``q(theta) > lambda * max q``; for a Gaussian ``q`` that region is this ball and
    ``lambda = exp(-radius2 / 2)``.

    Examples
    --------
    >>> from skunlearn.bayes._gaussian import ball_radius2
    >>> round(ball_radius2(0.95, 1), 4)  # 1.96 ** 2
    3.8415
    """
    return float(chi2.ppf(coverage, df=dim))
