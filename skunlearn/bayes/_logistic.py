"""The logistic likelihood under a Gaussian: quadrature, Laplace start, variational fit, sites.

One binary model: design ``X`` (n, p) (intercept column included when fitted), signs
``t = 2y - 1``, row weights ``w``, prior ``N(0, diag(1 / prior_prec))``. The variational posterior
is ``q = N(m, S)`` with ``S = C C^T`` (``C`` lower triangular). For every row the logit
``a = x^T theta`` is Gaussian under ``q`` with mean ``mu = x^T m`` and standard deviation
``s = ||C^T x||``, so every expectation of the likelihood is one-dimensional and computed by
Gauss-Hermite quadrature, with the same nodes for fitting, unlearning and the certificate.

The evidence lower bound (ELBO) computed with these nodes is concave in ``(m, C)`` (pair the
symmetric nodes: a concave function non-increasing in ``s``, of an affine ``mu`` and a convex
``s``) and ``min(prior_prec)``-strongly concave through the prior term, so the norm of its
gradient certifies how far ``(m, C)`` is from the exact optimum:
``||(m, C) - (m*, C*)|| <= ||grad|| / min(prior_prec)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import linalg
from scipy.special import expit

from skunlearn.bayes._gaussian import cholesky, inverse_spd

__all__ = [
    "Evaluation",
    "evaluate",
    "fit_laplace",
    "fit_variational",
    "predictive_proba",
    "refine",
    "row_sites",
]


def _gauss_hermite(n_nodes: int):
    nodes, weights = hermegauss(n_nodes)
    return nodes, weights / weights.sum()


# Probabilists' Gauss-Hermite nodes, weights normalized to sum to one. Fitting uses 32: exact
# to rounding for logit standard deviations up to about 2 (those met in practice), and the
# objective is defined, optimized and certified with these very nodes. Prediction integrates
# the sigmoid, whose bend at 0 converges slowly for wide logits: 96 nodes keep the error below
# 1e-6 up to a standard deviation of 4 (32 nodes: 1e-4).
_NODES, _WEIGHTS = _gauss_hermite(32)
_PREDICT_NODES, _PREDICT_WEIGHTS = _gauss_hermite(96)


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def _logit_moments(X, m, C):
    mu = X @ m
    s = np.sqrt(np.einsum("ij,ij->i", X @ C, X @ C))
    return mu, s


def _row_terms(X, t, m, C):
    """Per-row ``E[log sigma(t a)]``, its derivative in ``mu`` and curvature ``beta``.

    ``beta = -E[d2/da2 log sigma(t a)]``, written in Stein's form ``-E[f'(a) eps] / s`` so that
    the quadrature ELBO's gradient in ``C`` is exactly ``-(sum_i w_i beta_i x_i x_i^T) C``.
    """
    mu, s = _logit_moments(X, m, C)
    a = mu[:, None] + s[:, None] * _NODES[None, :]
    ta = t[:, None] * a
    ell = _log_sigmoid(ta) @ _WEIGHTS
    r = expit(-ta)
    g1 = t * (r @ _WEIGHTS)
    positive = s > 0
    stein = -(r @ (_WEIGHTS * _NODES)) * t / np.where(positive, s, 1.0)
    # A zero row (s = 0) has no C-gradient; its curvature is the plain second derivative.
    plain = (r * (1.0 - r)) @ _WEIGHTS
    beta = np.where(positive, stein, plain)
    return mu, s, ell, g1, beta


@dataclass(frozen=True)
class Evaluation:
    """The variational objective of one binary model at ``q = N(mean, covariance)``.

    ``target_precision`` is where a natural-gradient step moves the precision
    (``diag(prior_prec) + sum_i w_i beta_i x_i x_i^T``); ``grad_mean`` is the ELBO's gradient in
    the mean; ``grad_norm`` the norm of its full gradient in ``(m, C)``.
    """

    mean: np.ndarray
    precision: np.ndarray
    covariance: np.ndarray
    chol_cov: np.ndarray
    elbo: float
    grad_mean: np.ndarray
    target_precision: np.ndarray
    grad_norm: float


def evaluate(X, t, w, prior_prec, mean, precision) -> Evaluation:
    """ELBO, its gradient and the natural-gradient target at ``N(mean, precision^-1)``."""
    cov = inverse_spd(precision, "posterior precision")
    C = cholesky(cov, "posterior covariance")
    _, _, ell, g1, beta = _row_terms(X, t, mean, C)
    p = mean.shape[0]
    logdet_cov = 2.0 * np.sum(np.log(np.diagonal(C)))
    kl_prior = 0.5 * (
        prior_prec @ np.diagonal(cov)
        + prior_prec @ (mean * mean)
        - p
        - np.sum(np.log(prior_prec))
        - logdet_cov
    )
    elbo = float(w @ ell - kl_prior)
    grad_mean = X.T @ (w * g1) - prior_prec * mean
    target = (X.T * (w * beta)) @ X
    target[np.diag_indices(p)] += prior_prec
    target = (target + target.T) / 2
    grad_C = np.tril(-target @ C)
    grad_C[np.diag_indices(p)] += 1.0 / np.diagonal(C)
    grad_norm = float(np.sqrt(grad_mean @ grad_mean + np.sum(grad_C * grad_C)))
    return Evaluation(mean, precision, cov, C, elbo, grad_mean, target, grad_norm)


def fit_laplace(X, t, w, prior_prec, *, max_iter: int = 100):
    """Laplace approximation: the MAP by damped Newton, and the Hessian there.

    It only starts the variational fit, so Newton stops once the objective is within about
    1e-12 (relative) of its maximum, or when a step no longer increases it.

    Returns
    -------
    mean : ndarray of shape (p,)
    precision : ndarray of shape (p, p)
    n_iter : int
    """
    p = X.shape[1]
    theta = np.zeros(p)

    def objective(theta):
        return float(w @ _log_sigmoid(t * (X @ theta)) - 0.5 * prior_prec @ (theta * theta))

    value = objective(theta)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        r = expit(-t * (X @ theta))
        grad = X.T @ (w * t * r) - prior_prec * theta
        hess = (X.T * (w * r * (1.0 - r))) @ X
        hess[np.diag_indices(p)] += prior_prec
        step = linalg.cho_solve((cholesky(hess, "Laplace Hessian"), True), grad)
        # Half the Newton decrement estimates the gap to the maximum.
        if grad @ step <= 2e-12 * (1.0 + abs(value)):
            break
        rate = 1.0
        while True:  # the objective is concave: backtracking finds an ascent unless at rounding
            new_value = objective(theta + rate * step)
            if new_value > value or rate < 1e-10:
                break
            rate /= 2
        if new_value <= value:
            break
        theta, value = theta + rate * step, new_value
    r = expit(-t * (X @ theta))
    precision = (X.T * (w * r * (1.0 - r))) @ X
    precision[np.diag_indices(p)] += prior_prec
    return theta, (precision + precision.T) / 2, n_iter


def fit_variational(X, t, w, prior_prec, mean, precision, *, tol: float, max_iter: int):
    """Gaussian variational posterior by natural-gradient steps from ``N(mean, precision^-1)``.

    Each iteration (see :func:`refine`) first takes Newton steps in the mean with the
    covariance held, then moves the precision to its natural-gradient target. Taking both at
    once (Khan & Rue's Bayesian learning rule with step size one) oscillates on the mean; held
    apart, the precision's fixed point converges linearly at a fast rate (about 0.2 per step on
    breast_cancer). Stops when the certified gradient norm is at most ``tol``.

    Returns
    -------
    evaluation : Evaluation
        At the last iterate.
    n_passes : int
        Evaluations of the objective, each one pass over the rows.
    """
    state = evaluate(X, t, w, prior_prec, mean, precision)
    return refine(X, t, w, prior_prec, state, tol=tol, max_iter=max_iter)


def refine(X, t, w, prior_prec, state: Evaluation, *, tol: float, max_iter: int):
    """At most ``max_iter`` iterations of :func:`fit_variational` from ``state``.

    Returns the final evaluation and the number of passes over the rows it took.
    """
    n_passes = 0
    for _ in range(max_iter):
        if state.grad_norm <= tol:
            break
        state, passes = _mean_newton(X, t, w, prior_prec, state, tol)
        n_passes += passes
        if state.grad_norm <= tol:
            break
        state = _precision_step(X, t, w, prior_prec, state)
        n_passes += 1
    return state, n_passes


# Newton steps in the mean stop once its gradient is this small next to the covariance's:
# solving the mean further is wasted while the covariance still moves.
_MEAN_INNER_RATIO = 0.1
_MAX_MEAN_STEPS = 20


def _mean_newton(X, t, w, prior_prec, state: Evaluation, tol: float):
    passes = 0
    for _ in range(_MAX_MEAN_STEPS):
        grad_mean2 = float(state.grad_mean @ state.grad_mean)
        grad_cov = np.sqrt(max(state.grad_norm**2 - grad_mean2, 0.0))
        if np.sqrt(grad_mean2) <= max(_MEAN_INNER_RATIO * grad_cov, tol / 4):
            break
        step = linalg.solve(state.target_precision, state.grad_mean, assume_a="pos")
        state = _ascend(X, t, w, prior_prec, state, state.precision, step)
        passes += 1
    return state, passes


def _precision_step(X, t, w, prior_prec, state: Evaluation) -> Evaluation:
    return _ascend(X, t, w, prior_prec, state, state.target_precision, 0.0)


def _ascend(X, t, w, prior_prec, state: Evaluation, precision, mean_step) -> Evaluation:
    """Move towards ``(precision, state.mean + mean_step)``, halving the step while the ELBO
    would decrease."""
    rate = 1.0
    while True:
        new = evaluate(
            X,
            t,
            w,
            prior_prec,
            state.mean + rate * mean_step,
            state.precision + rate * (precision - state.precision),
        )
        # Near the optimum ELBOs agree to rounding (~1e-12 relative): allow that much.
        if new.elbo >= state.elbo - 1e-12 * (1.0 + abs(state.elbo)) or rate < 1e-6:
            return new
        rate /= 2


def row_sites(X, t, w, mean, cov):
    """Gaussian sites of rows under ``q = N(mean, cov)``.

    Row ``i``'s site is ``exp(-beta_i (x_i^T theta)^2 / 2 + gamma_i x_i^T theta)``; at the
    variational optimum the posterior is exactly the prior times all the sites, so removing rows
    subtracts ``sum beta_i x_i x_i^T`` from the precision and ``sum gamma_i x_i`` from the
    precision-mean.

    Returns
    -------
    beta, gamma : ndarray of shape (n,)
        Weighted site precision and precision-mean in the logit.
    """
    C = cholesky(cov, "posterior covariance")
    mu, _, _, g1, beta = _row_terms(X, t, mean, C)
    return w * beta, w * (g1 + beta * mu)


def predictive_proba(X, mean, cov) -> np.ndarray:
    """``E_q[sigma(x^T theta)]`` for every row: the posterior predictive probability."""
    C = cholesky(cov, "posterior covariance")
    mu, s = _logit_moments(X, mean, C)
    return expit(mu[:, None] + s[:, None] * _PREDICT_NODES[None, :]) @ _PREDICT_WEIGHTS
