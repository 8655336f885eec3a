"""The cached Hessian of the retained objective, its Cholesky factor and low-rank updates.

:class:`HessianCache` holds the Hessian ``H`` of the retained objective at a reference point
``theta_ref`` (and, while a request runs, its lower Cholesky factor) with a certified lower
bound ``mu`` on its smallest eigenvalue. Removing rows subtracts their curvature at
``theta_ref``, a low-rank downdate ``H - U U^T`` in ``O(p^2 m)``, then refactors (LAPACK's
``p^3 / 3`` is faster, for the ``p`` a dense cache is used for, than ``m`` rank-one updates of
the factor written in NumPy, and it cannot lose accuracy). The certificate follows the downdate
without any eigenvalue problem, because for ``G = U^T H^-1 U``::

    lambda_min(H - U U^T) >= lambda_min(H) (1 - lambda_max(G))

(``||U^T x||^2 <= lambda_max(G) x^T H x``). ``lambda_max(G)`` is the largest leverage of the
removed rows; it is tiny unless a removed row dominates some direction, and a downdate whose
leverage reaches 1/2 is refused so that the caller recomputes the Hessian from the rows.

The cache only ever holds the curvature of retained rows: after a downdate no term of a
forgotten row remains in ``H`` or its factor (up to rounding). With an intercept the multinomial
Hessian is singular along the gauge direction ``e``; the factor is that of ``H + w e e^T``,
which solves exactly on the identifiable subspace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg

__all__ = ["DowndateError", "HessianCache", "certified_min_eigenvalue"]

_EPS = np.finfo(np.float64).eps

# Up to this size, eigenvalues are computed directly rather than by inverse iteration.
_SMALL = 200

# Largest leverage a downdate may have before the cache is rebuilt instead: beyond it the
# certificate would lose more than half of its curvature in one step.
_MAX_LEVERAGE = 0.5


class DowndateError(ArithmeticError):
    """A low-rank downdate would make the cached Hessian singular or badly conditioned."""


def _with_gauge(H, gauge, weight):
    """``H + weight * e e^T``; ``e`` lives on the few intercept coordinates only."""
    if gauge is None:
        return H
    idx = np.flatnonzero(gauge)
    A = H.copy()
    A[np.ix_(idx, idx)] += weight * np.outer(gauge[idx], gauge[idx])
    return A


def _cholesky(A):
    return linalg.cholesky(A, lower=True, check_finite=False)


def _cho_solve(L, b):
    # LAPACK directly: scipy's wrapper costs more than the solve itself for small p.
    x, info = linalg.lapack.dpotrs(L, b, lower=1)
    if info != 0:  # pragma: no cover - only on malformed input
        raise linalg.LinAlgError(f"dpotrs failed with info={info}")
    return x


def certified_min_eigenvalue(H, gauge=None, *, n_iter: int = 30, seed: int = 0) -> float:
    """A certified lower bound on the smallest eigenvalue of ``H`` (on ``gauge``'s complement).

    Inverse power iteration (or, for small matrices, a full eigendecomposition) estimates
    the smallest eigenvalue ``lambda``; a successful
    Cholesky factorization of ``H - mu I`` then *proves* ``lambda_min(H) >= mu`` for a
    ``mu`` slightly below the estimate (tried at decreasing fractions until one succeeds).
    An allowance for the rounding of the factorization is subtracted.

    Parameters
    ----------
    H : ndarray of shape (p, p)
        Symmetric matrix.
    gauge : ndarray of shape (p,), default=None
        Unit null direction of ``H`` to leave out.
    n_iter : int, default=30
        Inverse iterations.
    seed : int, default=0
        Seed of the starting vector.

    Returns
    -------
    mu : float
        ``0.0`` if ``H`` is not (numerically) positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._cholesky import certified_min_eigenvalue
    >>> mu = certified_min_eigenvalue(np.diag([3.0, 2.0, 5.0]))
    >>> 1.8 < mu <= 2.0
    True
    """
    p = H.shape[0]
    # A gauge weight at least as large as every diagonal entry cannot be the minimum.
    weight = float(max(np.max(np.diag(H)), 1.0))
    A = _with_gauge(H, gauge, weight)
    try:
        L = _cholesky(A)
    except linalg.LinAlgError:
        return 0.0
    if p <= _SMALL:
        # A full eigendecomposition is cheaper than the iteration's overhead here; the
        # gauge direction's eigenvalue (weight >= every diagonal entry) is never the minimum.
        estimate = float(np.linalg.eigvalsh(A)[0])
    else:
        v = np.random.default_rng(seed).standard_normal(p)
        for _ in range(n_iter):
            if gauge is not None:
                v -= (v @ gauge) * gauge
            v /= np.linalg.norm(v)
            v = _cho_solve(L, v)
        if gauge is not None:
            v -= (v @ gauge) * gauge
        v /= np.linalg.norm(v)
        estimate = float(v @ A @ v)  # a Rayleigh quotient: never below the true minimum
    allowance = 4.0 * (p + 1) * _EPS * np.linalg.norm(A)
    for fraction in (0.95, 0.8, 0.5, 0.25, 0.1, 0.01):
        mu = fraction * estimate
        try:
            _cholesky(A - mu * np.eye(p))
        except linalg.LinAlgError:
            continue
        return float(max(0.0, mu - allowance))
    return 0.0


@dataclass(frozen=True)
class HessianCache:
    """Hessian of the retained objective at ``theta_ref``, with its certified curvature bound.

    Attributes
    ----------
    hessian : ndarray of shape (p, p)
        ``hess F`` over the retained rows, at ``theta_ref``, with the weights of
        ``class_scale_ref``.
    factor : ndarray of shape (p, p) or None
        Lower Cholesky factor of ``hessian + gauge_weight * e e^T``, when computed. Every
        update refactors, so the estimator keeps the cache without it between requests
        (half the memory) and :meth:`with_factor` restores it when needed.
    theta_ref : ndarray of shape (p,)
        Where the curvature was evaluated.
    class_scale_ref : ndarray of shape (n_classes,)
        Class weights in force when it was (they change under ``class_weight="balanced"``).
    mu : float
        Certified lower bound on the smallest eigenvalue of ``hessian`` (identifiable
        subspace), carried through the downdates since the last refresh.
    gauge : ndarray of shape (p,) or None
        Unit null direction of the objective.
    gauge_weight : float
        Weight of ``e e^T`` in the factored matrix.
    rows_at_refresh : int
        Retained rows when the Hessian was last computed from scratch.
    mu_at_refresh : float
        ``mu`` then.
    removed_since_refresh : int
        Rows downdated since.
    """

    hessian: np.ndarray
    factor: np.ndarray | None
    theta_ref: np.ndarray
    class_scale_ref: np.ndarray
    mu: float
    gauge: np.ndarray | None
    gauge_weight: float
    rows_at_refresh: int
    mu_at_refresh: float
    removed_since_refresh: int = 0

    @classmethod
    def build(cls, hessian, theta_ref, class_scale_ref, gauge, n_rows, *, seed=0):
        """Factor a freshly computed Hessian and certify its smallest eigenvalue."""
        weight = float(max(np.mean(np.diag(hessian)), 1.0))
        factor = _cholesky(_with_gauge(hessian, gauge, weight))
        mu = certified_min_eigenvalue(hessian, gauge, seed=seed)
        return cls(
            hessian=hessian,
            factor=factor,
            theta_ref=theta_ref.copy(),
            class_scale_ref=np.array(class_scale_ref, dtype=np.float64),
            mu=mu,
            gauge=gauge,
            gauge_weight=weight,
            rows_at_refresh=int(n_rows),
            mu_at_refresh=mu,
        )

    def with_factor(self) -> HessianCache:
        """This cache with its Cholesky factor computed (itself if it has one)."""
        if self.factor is not None:
            return self
        factor = _cholesky(_with_gauge(self.hessian, self.gauge, self.gauge_weight))
        return replace(self, factor=factor)

    def without_factor(self) -> HessianCache:
        """This cache without its factor, to be kept between requests."""
        return replace(self, factor=None)

    def solve(self, b):
        """``H^-1 b`` on the identifiable subspace (``b`` orthogonal to the gauge)."""
        return _cho_solve(self.with_factor().factor, b)

    def update(self, U_minus, U_plus=None, n_removed: int = 0) -> HessianCache:
        """A new cache for ``H - U_minus U_minus^T + U_plus U_plus^T``; this one is unchanged.

        The downdate's leverage is read off the new factor: for ``H' = H - U U^T``,
        ``U^T H^-1 U = G' (I + G')^-1`` with ``G' = U^T H'^-1 U``, so the curvature bound
        shrinks by ``1 / (1 + lambda_max(G'))``.

        Raises
        ------
        DowndateError
            If the downdate's leverage exceeds the safe limit or the result is not
            positive definite: the caller must rebuild the Hessian instead.
        """
        hessian = self.hessian - U_minus @ U_minus.T
        try:
            factor = _cholesky(_with_gauge(hessian, self.gauge, self.gauge_weight))
        except linalg.LinAlgError as exc:
            raise DowndateError("the downdated Hessian is not positive definite") from exc
        shrink = 1.0
        if U_minus.shape[1]:
            V = linalg.solve_triangular(factor, U_minus, lower=True, check_finite=False)
            shrink = 1.0 / (1.0 + float(np.linalg.eigvalsh(V.T @ V)[-1]))
            if not 1.0 - shrink < _MAX_LEVERAGE:
                raise DowndateError(f"a removed row's leverage is {1.0 - shrink:.3g}")
        if U_plus is not None and U_plus.shape[1]:
            # An update only raises the smallest eigenvalue.
            hessian = hessian + U_plus @ U_plus.T
            factor = _cholesky(_with_gauge(hessian, self.gauge, self.gauge_weight))
        # Allowance for the rounding of the subtraction (||U U^T||_F <= ||U||_F^2).
        allowance = 4.0 * _EPS * (np.linalg.norm(self.hessian) + np.sum(U_minus * U_minus))
        return replace(
            self,
            hessian=hessian,
            factor=factor,
            mu=max(0.0, self.mu * shrink - allowance),
            removed_since_refresh=self.removed_since_refresh + int(n_removed),
        )

    def degradation(self, score_shift: float) -> float:
        """Fraction of the refresh-time curvature bound still certified after the scores
        moved by ``score_shift`` (see :meth:`curvature_at`)."""
        if self.mu_at_refresh <= 0:
            return 0.0
        return self.mu * np.exp(-score_shift) / self.mu_at_refresh

    def curvature_at(self, score_shift: float, class_scale) -> float:
        """Certified lower bound on the smallest Hessian eigenvalue at another point.

        ``score_shift`` is the largest change, over the weighted rows, of the spread of a
        row's scores between ``theta_ref`` and that point (``|dz_i|`` for the sigmoid,
        ``max_k dz_ik - min_k dz_ik`` for the softmax). Every row's curvature decays at most
        like ``exp(-score_shift)`` along the way (see :mod:`._certificate`); class weights
        that shrank since the reference scale it down in proportion.
        """
        ratio = float(np.min(np.asarray(class_scale) / self.class_scale_ref))
        return self.mu * np.exp(-score_shift) * min(1.0, ratio)
