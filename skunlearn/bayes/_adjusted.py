"""The adjusted likelihood of the erased rows and importance sampling against the target it
defines, shared by the EUBO and reverse-KL methods.

Nguyen, Low & Jaillet (2020) count the erased rows' log-likelihood only where the posterior
``q(theta | D)`` is not too small, ``q(theta) > lambda * max q``, because ``q`` is least accurate
in its tails, where dividing by the likelihood is largest. For a Gaussian ``q`` that region is a
Mahalanobis ball; its radius is set by a coverage probability of ``q`` (a chi-square quantile):
``lambda = exp(-radius2 / 2)``.

The indicator of the ball is smoothed (a logistic step in the squared Mahalanobis distance whose
width is half a standard deviation of its chi-square distribution under ``q``, and at most a
tenth of the squared radius so that the centre counts fully in few dimensions): with the hard
indicator the Monte-Carlo objective jumps whenever a sample crosses the boundary, and the line
searches of a quasi-Newton optimizer fail after a few steps.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit, logsumexp

from skunlearn.bayes._gaussian import ball_radius2

__all__ = [
    "AdjustedLikelihood",
    "EffectiveSampleSizeWarning",
    "antithetic_normal",
    "log_gaussian",
    "target_weights",
    "warn_if_few",
]

# Width of the smoothed boundary, in standard deviations of chi2(p) (which is sqrt(2 p)).
_SOFTNESS = 0.5


class AdjustedLikelihood:
    """``log p~(y_e | theta) = ind(theta) * sum_i w_i log sigma(t_i x_i^T theta)``.

    Parameters
    ----------
    X, t, w : ndarray
        Design rows, signs (+1 / -1) and weights of the erased rows of one binary model.
    center : ndarray of shape (p,)
        Mean of the posterior ``q(theta | D)`` that defines the ball.
    chol_precision : ndarray of shape (p, p)
        Lower Cholesky factor ``L`` of its precision: ``d2 = ||L^T (theta - center)||^2``.
    coverage : float
        Mass of ``q`` inside the ball, in (0, 1).
    """

    def __init__(self, X, t, w, center, chol_precision, coverage):
        self.X, self.t, self.w = X, t, w
        self.center = center
        self.chol_precision = chol_precision
        p = center.shape[0]
        self.radius2 = ball_radius2(coverage, p)
        self.width = min(_SOFTNESS * np.sqrt(2.0 * p), self.radius2 / 10)

    @property
    def threshold(self) -> float:
        """The paper's ``lambda``: the ball is ``q(theta) > lambda * max q``."""
        return float(np.exp(-self.radius2 / 2))

    def __call__(self, theta, gradient: bool = False):
        """Adjusted log-likelihood at each row of ``theta`` (S, p), and optionally its gradient.

        Returns
        -------
        value : ndarray of shape (S,)
        grad : ndarray of shape (S, p)
            Only with ``gradient=True``.
        """
        u = (theta - self.center) @ self.chol_precision
        d2 = np.einsum("ij,ij->i", u, u)
        inside = expit((self.radius2 - d2) / self.width)
        ta = (theta @ self.X.T) * self.t
        loglik = -np.logaddexp(0.0, -ta) @ self.w
        value = inside * loglik
        if not gradient:
            return value
        d_logit = inside[:, None] * (self.w * self.t * expit(-ta))
        # d inside / d theta = -inside (1 - inside) / width * 2 Lambda (theta - center)
        d_inside = -2.0 * inside * (1.0 - inside) / self.width
        grad = d_logit @ self.X + (loglik * d_inside)[:, None] * (u @ self.chol_precision.T)
        return value, grad


def log_gaussian(theta, mean, chol_precision):
    """Log-density of ``N(mean, (L L^T)^-1)`` at each row of ``theta``, up to ``-p/2 log 2 pi``."""
    u = (theta - mean) @ chol_precision
    return -0.5 * np.einsum("ij,ij->i", u, u) + np.sum(np.log(np.diagonal(chol_precision)))


def target_weights(theta, loglik: AdjustedLikelihood, proposal_mean, proposal_chol_precision):
    """Self-normalized importance weights of ``theta`` (drawn from the Gaussian proposal) for the
    target ``q(theta | D) / p~(y_e | theta)``, and their effective sample size.

    The effective sample size also diagnoses a Gaussian ``q_u`` used as the proposal: when
    few of its draws carry the target's mass, ``q_u`` misses the target ("Yes, but did it
    work?", Yao et al., ICML 2018).

    Returns
    -------
    weights : ndarray of shape (S,)
        Non-negative, summing to one.
    ess : float
        ``1 / sum(weights ** 2)``, between 1 and S.
    """
    log_w = (
        log_gaussian(theta, loglik.center, loglik.chol_precision)
        - loglik(theta)
        - log_gaussian(theta, proposal_mean, proposal_chol_precision)
    )
    weights = np.exp(log_w - logsumexp(log_w))
    return weights, float(1.0 / np.sum(weights * weights))


def antithetic_normal(rng: np.random.Generator, n_samples: int, dim: int) -> np.ndarray:
    """``n_samples`` standard-normal draws in antithetic pairs ``(z, -z)``: their mean is exactly
    zero, which removes the Monte-Carlo noise of every term linear in the draws."""
    half = rng.standard_normal(((n_samples + 1) // 2, dim))
    return np.vstack([half, -half])[:n_samples]


# Below this many effective samples per dimension, a moment-matched covariance is unreliable.
_MIN_ESS_PER_DIM = 10


class EffectiveSampleSizeWarning(UserWarning):
    """Too few effective importance samples: the unlearned posterior is unreliable.

    Issued by the "rkl" method (its moment match rests on the weights) and by "eubo" (whose
    result, used as a proposal for the target it approximates, carries too little of its mass).
    Prefer ``method="site"``, raise ``n_mc_samples`` or lower ``coverage``.
    """


def warn_if_few(ess: float, n_samples: int, dim: int, what: str) -> None:
    """Warn when ``ess`` is below ``_MIN_ESS_PER_DIM`` per dimension."""
    if ess < _MIN_ESS_PER_DIM * dim:
        warnings.warn(
            f"{what} had an effective sample size of {ess:.0f} out of {n_samples} draws, "
            f"below {_MIN_ESS_PER_DIM} per dimension ({dim} dimensions): the unlearned "
            "posterior is unreliable. Prefer method='site', or raise n_mc_samples or lower "
            "coverage.",
            EffectiveSampleSizeWarning,
            stacklevel=6,  # the caller of unlearn
        )
