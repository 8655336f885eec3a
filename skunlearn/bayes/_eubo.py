"""Forgetting by minimizing the evidence upper bound (EUBO) of Nguyen, Low & Jaillet (2020).

``U(q_u) = E_{q_u}[log p~(y_e | theta)] + KL[q_u || q(theta | D)]`` equals
``KL[q_u || p(theta | D_r)]`` up to a constant when ``q(theta | D)`` is the exact posterior: the
first term forgets the erased rows, the second keeps what the retained rows taught. Only the
posterior and the erased rows are needed. ``p~`` is the adjusted likelihood
(:class:`~skunlearn.bayes._adjusted.AdjustedLikelihood`).

The expectation is estimated with fixed antithetic standard-normal draws pushed through
``theta = m_u + C_u z`` (reparameterization), so the Monte-Carlo objective is a deterministic
smooth function of ``(m_u, C_u)``, minimized by L-BFGS from ``q(theta | D)``. The Cholesky factor's
diagonal is optimized on the log scale so that every iterate is a valid Gaussian.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from skunlearn.bayes._adjusted import (
    AdjustedLikelihood,
    antithetic_normal,
    target_weights,
    warn_if_few,
)
from skunlearn.bayes._gaussian import cholesky, inverse_spd

__all__ = ["EUBO", "eubo_unlearn"]


class EUBO:
    """The Monte-Carlo EUBO of ``q_u = N(m_u, C C^T)`` as a smooth function of a flat vector
    ``v = (m_u, lower triangle of C with its diagonal on the log scale)``, with its gradient.

    Parameters
    ----------
    mean, precision : ndarray
        The posterior ``q(theta | D)``.
    loglik : AdjustedLikelihood
        Of the erased rows.
    draws : ndarray of shape (S, p)
        Fixed standard-normal draws.
    """

    def __init__(self, mean, precision, loglik, draws):
        self.mean, self.precision, self.loglik, self.draws = mean, precision, loglik, draws
        p = mean.shape[0]
        self._tril, self._diag = np.tril_indices(p), np.diag_indices(p)
        self._logdet_cov = -2.0 * np.sum(np.log(np.diagonal(cholesky(precision))))

    def pack(self, mean, C):
        """The flat vector of ``N(mean, C C^T)`` (``C`` lower triangular, positive diagonal)."""
        C = C.copy()
        C[self._diag] = np.log(np.diagonal(C))
        return np.concatenate([mean, C[self._tril]])

    def unpack(self, v):
        """Mean and Cholesky factor of the flat vector ``v``."""
        p = self.mean.shape[0]
        C = np.zeros((p, p))
        C[self._tril] = v[p:]
        C[self._diag] = np.exp(C[self._diag])
        return v[:p], C

    def __call__(self, v):
        """The EUBO at ``v`` and its gradient in ``v``."""
        m_u, C = self.unpack(v)
        p, n = m_u.shape[0], self.draws.shape[0]
        value, grad = self.loglik(m_u + self.draws @ C.T, gradient=True)
        delta = m_u - self.mean
        P = self.precision
        kl = 0.5 * (
            np.sum(P * (C @ C.T))
            + delta @ P @ delta
            - p
            + self._logdet_cov
            - 2.0 * np.sum(np.log(np.diagonal(C)))
        )
        grad_mean = grad.sum(axis=0) / n + P @ delta
        grad_C = np.tril(grad.T @ self.draws) / n + np.tril(P @ C)
        grad_C[self._diag] -= 1.0 / np.diagonal(C)
        grad_C[self._diag] *= np.diagonal(C)  # chain rule through the log-diagonal
        return value.mean() + kl, np.concatenate([grad_mean, grad_C[self._tril]])


def eubo_unlearn(mean, precision, X, t, w, *, coverage, n_samples, rng, tol, max_iter):
    """Minimize the EUBO over Gaussians ``q_u`` for the erased rows ``(X, t, w)``.

    Returns
    -------
    mean, precision : ndarray
        Of ``q_u``.
    details : dict
        ``objective`` (the EUBO at the result, Monte-Carlo estimate), ``ess`` (effective sample
        size of fresh draws from ``q_u`` for the target ``q / p~``), ``threshold_lambda``,
        ``optimizer_iterations``.
    """
    p = mean.shape[0]
    loglik = AdjustedLikelihood(X, t, w, mean, cholesky(precision, "posterior precision"), coverage)
    eubo = EUBO(mean, precision, loglik, antithetic_normal(rng, n_samples, p))
    start = cholesky(inverse_spd(precision, "posterior precision"), "posterior covariance")
    result = minimize(
        eubo,
        eubo.pack(mean, start),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol},
    )
    m_u, C = eubo.unpack(result.x)
    new_precision = inverse_spd(C @ C.T, "unlearned covariance")
    # Diagnose with fresh draws from q_u: does it carry the mass of the target it approximates?
    theta = m_u + antithetic_normal(rng, n_samples, p) @ C.T
    _, ess = target_weights(theta, loglik, m_u, cholesky(new_precision))
    warn_if_few(ess, n_samples, p, "The EUBO's result, as a proposal for its target,")
    details = {
        "objective": float(result.fun),
        "ess": ess,
        "threshold_lambda": loglik.threshold,
        "optimizer_iterations": int(result.nit),
    }
    return m_u, new_precision, details
