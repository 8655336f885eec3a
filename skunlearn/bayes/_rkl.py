"""Forgetting by reverse-KL moment matching (Nguyen, Low & Jaillet, 2020).

Minimizing ``KL[p~(theta | D_r) || q_u]`` over Gaussians ``q_u``, with
``p~(theta | D_r) ∝ q(theta | D) / p~(y_e | theta)``, is matching the mean and covariance of
``p~``. They are estimated by self-normalized importance sampling. The paper draws from
``q(theta | D)``; we draw from the site-subtracted Gaussian (:func:`site_unlearn`), which is much
closer to the target and makes the weights bounded (a Gaussian site over a logistic likelihood
vanishes in both tails), so fewer draws give the same effective sample size. The covariance is
estimated with a control variate (the draws' known covariance under the proposal), without
which its Monte-Carlo error, about ``p^2 / (4 n_samples)`` nats of KL, swamps the effect of
forgetting a few rows.

The effective sample size ``(sum w)^2 / sum w^2`` is reported; moment matching in ``p``
dimensions needs it well above ``p``, and
:class:`~skunlearn.bayes.EffectiveSampleSizeWarning` is issued below ``10 p``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from skunlearn.bayes._adjusted import (
    AdjustedLikelihood,
    antithetic_normal,
    log_gaussian,
    target_weights,
    warn_if_few,
)
from skunlearn.bayes._gaussian import cholesky, inverse_spd
from skunlearn.bayes._site import site_unlearn

__all__ = ["rkl_unlearn"]


# Smallest variance the moment match may keep in any direction, relative to the proposal's.
_MIN_RELATIVE_VARIANCE = 1e-2


def _floor_relative(cov, reference):
    """Raise the variances of ``cov`` to at least ``_MIN_RELATIVE_VARIANCE`` times those of
    ``reference`` in every direction (generalized eigenvalues), so that an estimate from too few
    effective draws (it is warned about) is still a valid covariance. Returns it and how many
    directions were raised."""
    L = cholesky(reference, "proposal covariance")
    whitened = linalg.solve_triangular(L, linalg.solve_triangular(L, cov, lower=True).T, lower=True)
    values, vectors = linalg.eigh((whitened + whitened.T) / 2)
    clipped = int(np.count_nonzero(values < _MIN_RELATIVE_VARIANCE))
    if not clipped:
        return cov, 0
    root = L @ vectors
    floored = (root * np.maximum(values, _MIN_RELATIVE_VARIANCE)) @ root.T
    return (floored + floored.T) / 2, clipped


def rkl_unlearn(mean, precision, X, t, w, *, coverage, n_samples, rng):
    """Moment-match ``q(theta | D) / p~(y_e | theta)`` for the erased rows ``(X, t, w)``.

    Returns
    -------
    mean, precision : ndarray
        Of ``q_u``.
    details : dict
        ``ess`` (effective sample size), ``ess_fraction``, ``objective`` (the cross-entropy
        ``-E_p~[log q_u]``, the part of the reverse KL that ``q_u`` controls),
        ``threshold_lambda`` and ``directions_clipped`` (0 unless too few effective draws made
        the estimated covariance collapse in some directions; see :func:`_floor_relative`).
    """
    p = mean.shape[0]
    L = cholesky(precision, "posterior precision")
    try:
        prop_mean, prop_precision = site_unlearn(mean, precision, X, t, w)
    except linalg.LinAlgError:
        prop_mean, prop_precision = mean, precision  # the paper's proposal
    prop_L = cholesky(prop_precision, "proposal precision")
    prop_cov = inverse_spd(prop_precision, "proposal precision")
    theta = prop_mean + antithetic_normal(rng, n_samples, p) @ cholesky(prop_cov).T
    loglik = AdjustedLikelihood(X, t, w, mean, L, coverage)
    weights, ess = target_weights(theta, loglik, prop_mean, prop_L)
    warn_if_few(ess, n_samples, p, "Reverse-KL moment matching")
    # Control variate: the draws' unweighted second moment about the proposal mean has the known
    # expectation prop_cov, so only the reweighting's change to it is estimated. Plain weighted
    # moments carry a Monte-Carlo error of about p^2 / (4 n_samples) nats of KL, which swamps
    # the effect of forgetting a few rows; this keeps only the error of the weights.
    centred = theta - prop_mean
    shift = weights @ centred
    excess = weights - 1.0 / n_samples
    new_mean = prop_mean + shift
    new_cov = prop_cov + (centred * excess[:, None]).T @ centred - np.outer(shift, shift)
    new_cov = (new_cov + new_cov.T) / 2
    new_cov, clipped = _floor_relative(new_cov, prop_cov)
    new_precision = inverse_spd(new_cov, "moment-matched covariance")
    cross_entropy = -float(weights @ log_gaussian(theta, new_mean, cholesky(new_precision)))
    details = {
        "ess": ess,
        "ess_fraction": ess / n_samples,
        "objective": cross_entropy + 0.5 * p * np.log(2 * np.pi),
        "threshold_lambda": loglik.threshold,
        "directions_clipped": clipped,
    }
    return new_mean, new_precision, details
