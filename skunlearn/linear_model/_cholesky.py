"""The cached Hessian of the retained objective: its Cholesky factor and low-rank updates of it.

:class:`HessianCache` holds the lower Cholesky factor ``L`` of the Hessian ``H`` of the retained
objective at a reference point ``theta_ref``, with a certified lower bound ``mu`` on its smallest
eigenvalue. Removing rows subtracts their curvature at ``theta_ref``, a low-rank downdate
``H - U U^T`` (one column per row, ``K`` per row for the softmax). :func:`cholesky_update`
applies it to the factor itself, in ``O(p^2 k)`` for ``k`` columns instead of the ``p^3 / 3`` of
a refactorization: compiled rank-one passes for a few columns, a blocked hyperbolic downdate
whose every step is a BLAS or LAPACK call for many.

The certificate follows the downdate without any eigenvalue problem, because for
``G = U^T H^-1 U``::

    lambda_min(H - U U^T) >= lambda_min(H) (1 - lambda_max(G))

(``||U^T x||^2 <= lambda_max(G) x^T H x``). ``lambda_max(G)`` is the largest leverage of the
removed rows; for one row the rank-one downdate yields it as a by-product. It is tiny unless a
removed row dominates some direction; when the bound has lost too much,
:meth:`HessianCache.recertified` certifies it anew from the factor, and a downdate whose
leverage reaches 0.85 is refused so that the caller recomputes the Hessian from the rows.

The cache only ever holds the curvature of retained rows: the downdated factor is the Cholesky
factor of the retained rows' Hessian (unique, so a function of those rows alone, up to
rounding), and no term of a forgotten row remains in it. With an intercept the multinomial
Hessian is singular along the gauge direction ``e``; the factor is that of ``H + w e e^T``,
which solves exactly on the identifiable subspace (the removed rows' curvature is orthogonal to
``e``, so downdates leave the ``w e e^T`` term alone).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg
from scipy.linalg import blas, lapack

from skunlearn.linear_model._kernels import rank_k_update, rank_one_update

__all__ = ["DowndateError", "HessianCache", "certified_min_eigenvalue", "cholesky_update"]

_EPS = np.finfo(np.float64).eps

# Up to this size, eigenvalues are computed directly rather than by inverse iteration.
_SMALL = 200

# Largest leverage a downdate may have before the cache is rebuilt instead: beyond it the
# certificate would keep less than 15% of its curvature (certifying it anew from the
# factor, much cheaper than a rebuild, recovers from smaller losses) and the downdate would
# lose accuracy (its transformations have condition number up to 1 / (1 - leverage)).
_MAX_LEVERAGE = 0.85

# Below this, the leverage bound the rank-one passes give for free is used as it is (it
# only scales the certified curvature by one minus it).
_CHEAP_LEVERAGE = 0.05

# Column blocks of the blocked update. Its cost is about p^2 (b / 2 + 2 k + k^2 / (2 b)) flops
# plus a few calls per block: b = k balances the flops, and below 32 columns the calls dominate.
_MIN_BLOCK = 32
# Up to this many columns, compiled rank-one passes beat the blocked algorithm's BLAS calls.
_SEQUENTIAL = 16
_MAX_BLOCK = 256

# Inverse iterations stop once the Rayleigh quotient has settled to this relative change.
_SETTLED = 1e-3


class DowndateError(ArithmeticError):
    """A low-rank downdate would make the cached Hessian singular or badly conditioned."""


def _gauge_weight(H) -> float:
    # At least every diagonal entry, hence at least lambda_min on the gauge's complement (a
    # coefficient axis is orthogonal to the gauge): the gauge direction's eigenvalue of
    # H + w e e^T is never the smallest. And at most lambda_max: no worse conditioning.
    return float(max(np.max(np.diag(H)), 1.0))


def _with_gauge(H, gauge, weight):
    """``H + weight * e e^T``; ``e`` lives on the few intercept coordinates only."""
    if gauge is None:
        return H
    idx = np.flatnonzero(gauge)
    A = H.copy()
    A[np.ix_(idx, idx)] += weight * np.outer(gauge[idx], gauge[idx])
    return A


def _cholesky(A):
    """Lower Cholesky factor in Fortran order (what LAPACK reads without a copy)."""
    L, info = lapack.dpotrf(A, lower=1, clean=1)
    if info != 0:
        raise linalg.LinAlgError(f"the matrix is not positive definite (dpotrf info={info})")
    return L


def _cho_solve(L, b):
    # Two triangular solves straight through LAPACK: faster than dpotrs (which loops over
    # right-hand sides) and than scipy's wrappers for small p; a Fortran-ordered factor is
    # read in place.
    y, info = lapack.dtrtrs(L, b, lower=1)
    if info == 0:
        x, info = lapack.dtrtrs(L, y, lower=1, trans=1)
    if info != 0:  # pragma: no cover - only on malformed input
        raise linalg.LinAlgError(f"dtrtrs failed with info={info}")
    return x


def _leverage(L, U) -> float:
    """``lambda_max(U^T (L L^T)^-1 U) = ||L^-1 U||_2^2``, from the smaller Gram matrix of
    ``V = L^-1 U`` (``O(p^2 k)`` for the solve, ``min(p, k)^3`` for the eigenvalue)."""
    V, info = lapack.dtrtrs(L, U, lower=1)
    if info != 0:
        raise DowndateError("the cached factor is singular")
    gram = V.T @ V if V.shape[1] <= V.shape[0] else V @ V.T
    top = float(np.linalg.eigvalsh(gram)[-1])
    # Rounding of the solve (backward stable) and of the small eigenproblem.
    return top * (1.0 + 1e-10) + 4.0 * (L.shape[0] + 1) * _EPS * max(top, 1.0)


def cholesky_update(L, U, *, downdate: bool, block: int | None = None):
    """Lower Cholesky factor of ``L L^T - U U^T`` (downdate) or ``L L^T + U U^T`` (update).

    For a few columns (the usual request), compiled rank-one passes
    (:func:`~._kernels.rank_one_update`, ``2 p^2`` flops each, no BLAS call), interleaved
    column by column of the factor for several (:func:`~._kernels.rank_k_update`: the
    factor is read once). For many, a
    blocked hyperbolic (downdate) or orthogonal (update) transformation whose every step is
    a BLAS or LAPACK call, ``O(p^2 k)`` for ``U`` of shape ``(p, k)``. With ``s = -1`` for a
    downdate and ``+1`` for an update, a block of columns ``L = [[L11, 0], [L21, L22]]``,
    ``U = [U1; U2]`` is processed as::

        V    = L11^-1 U1,               T = I + s V^T V = R^T R,
        L11' = chol(L11 L11^T + s U1 U1^T),
        L21' = (L21 + s U2 V^T) (L11'^-1 L11)^T,
        U2'  = (U2 - L21 V) R^-1,

    after which ``L22 L22^T + s U2' U2'^T`` is the new trailing Schur complement, updated the
    same way block after block. The largest leverage ``lambda_max(U^T (L L^T)^-1 U)`` of
    the removed columns is ``1 - prod_k (L'_kk / L_kk)^2`` for one column (a determinant
    ratio the rank-one pass yields for free); for several, that ratio bounds it from above
    and is used when below 0.05, else ``||L^-1 U||_2^2``.

    Parameters
    ----------
    L : ndarray of shape (p, p)
        Lower Cholesky factor (its strict upper triangle is ignored and zero in the result).
    U : ndarray of shape (p, k)
        Columns to remove (downdate) or add (update).
    downdate : bool
        Subtract ``U U^T`` (True) or add it (False).
    block : int, default=None
        Columns per block of the blocked algorithm; None takes the compiled rank-one passes
        up to 16 columns and blocks of ``k`` columns within [32, 256] beyond.

    Returns
    -------
    factor : ndarray of shape (p, p)
        The new lower factor, a new Fortran-ordered array (``L`` is not modified).
    leverage : float
        For a downdate, an upper bound on ``lambda_max(U^T (L L^T)^-1 U)`` (rounding
        included); 0 for an update.

    Raises
    ------
    DowndateError
        If the downdated matrix is not (numerically) positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._cholesky import cholesky_update
    >>> H = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> u = np.array([[1.0], [0.5]])
    >>> L, leverage = cholesky_update(np.linalg.cholesky(H), u, downdate=True)
    >>> bool(np.allclose(L, np.linalg.cholesky(H - u @ u.T)))
    True
    >>> round(leverage, 6) == round(float(u[:, 0] @ np.linalg.solve(H, u[:, 0])), 6)
    True
    """
    p, k = U.shape
    out = np.array(L, dtype=np.float64, order="F")
    if k == 0:
        return out, 0.0
    if block is None and k <= _SEQUENTIAL:
        sign = -1.0 if downdate else 1.0
        if k == 1:
            ratio = rank_one_update(out, np.array(U[:, 0], dtype=np.float64), sign)
        else:
            ratios = np.ones(k)
            V = np.array(U.T, dtype=np.float64, order="C")
            ratio = float(np.prod(ratios)) if rank_k_update(out, V, sign, ratios) else -1.0
        if ratio < 0:
            raise DowndateError("the downdated Hessian is not positive definite")
        if not downdate:
            return out, 0.0
        # The ratios multiply to det(I - G) = prod_i (1 - lambda_i(G)) <= 1 - lambda_max(G)
        # for G = U^T (L L^T)^-1 U: a free upper bound on the leverage, sharp when one
        # eigenvalue dominates (a row of the softmax), else computed from the factor.
        leverage = 1.0 - ratio + 4.0 * k * (p + 1) * _EPS
        if k > 1 and leverage > _CHEAP_LEVERAGE:
            leverage = min(leverage, _leverage(np.asarray(L, order="F"), U))
        return out, float(min(1.0, max(0.0, leverage)))
    return _blocked_update(out, U, downdate, block)


def _blocked_update(out, U, downdate, block):
    """The blocked algorithm of :func:`cholesky_update`, on ``out`` (a copy) in place."""
    p, k = U.shape
    out[np.triu_indices(p, 1)] = 0.0
    L = out.copy(order="F") if downdate else None
    sign = -1.0 if downdate else 1.0
    if block is None:
        block = min(max(_MIN_BLOCK, k), _MAX_BLOCK)
    W = np.array(U, dtype=np.float64)
    eye = np.eye(k)
    for j0 in range(0, p, block):
        j1 = min(j0 + block, p)
        L11 = out[j0:j1, j0:j1]
        U1 = W[j0:j1]
        V, info = lapack.dtrtrs(L11, U1, lower=1)
        if info != 0:
            raise DowndateError("the cached factor is singular")
        R, info = lapack.dpotrf(eye + sign * (V.T @ V), lower=0, clean=1)
        if info != 0:
            raise DowndateError("the downdated Hessian is not positive definite")
        L11_new, info = lapack.dpotrf(L11 @ L11.T + sign * (U1 @ U1.T), lower=1, clean=1)
        if info != 0:
            raise DowndateError("the downdated Hessian is not positive definite")
        if j1 < p:
            # NumPy's products read the strided panels in place (LAPACK wrappers would copy).
            L21 = out[j1:, j0:j1]
            U2 = W[j1:]
            Q, _ = lapack.dtrtrs(L11_new, L11, lower=1)  # L11'^-1 L11
            R_inv, _ = lapack.dtrtri(R, lower=0)
            shifted = (U2 - L21 @ V) @ R_inv
            panel = L21 @ Q.T
            panel += U2 @ (sign * (Q @ V)).T
            out[j1:, j0:j1] = panel  # L21 and U2 are views: both read before either is written
            W[j1:] = shifted
        out[j0:j1, j0:j1] = L11_new
    if not downdate:
        return out, 0.0
    return out, float(min(1.0, max(0.0, _leverage(L, U))))


def certified_min_eigenvalue(
    H, gauge=None, *, n_iter: int = 30, seed: int = 0, factor=None
) -> float:
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
        Most inverse iterations (they stop earlier once the estimate has settled).
    seed : int, default=0
        Seed of the starting vector.
    factor : ndarray of shape (p, p), default=None
        Lower Cholesky factor of ``H + w e e^T`` with ``w = max(max(diag(H)), 1)``, if the
        caller has it (it is computed otherwise).

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
    A = _with_gauge(H, gauge, _gauge_weight(H))
    L = factor
    if L is None:
        try:
            L = _cholesky(A)
        except linalg.LinAlgError:
            return 0.0
    return _certified_min_eigenvalue(A, L, gauge, n_iter=n_iter, seed=seed)


def _certified_min_eigenvalue(A, L, gauge, *, n_iter: int, seed: int) -> float:
    """:func:`certified_min_eigenvalue` of the gauge-augmented ``A`` with factor ``L``.

    A successful Cholesky factorization of ``A - mu I`` proves ``lambda_min(A) >= mu``, hence
    the same on the gauge's complement (a restriction's eigenvalues lie within the whole's),
    whatever the gauge weight; the weight only decides whether the bound is sharp.
    """
    p = A.shape[0]
    if p <= _SMALL:
        # A full eigendecomposition is cheaper than the iteration's overhead here; the
        # gauge direction's eigenvalue (weight >= every diagonal entry) is never the minimum.
        estimate = float(np.linalg.eigvalsh(A)[0])
    else:
        v = np.random.default_rng(seed).standard_normal(p)
        estimate = np.inf
        for _ in range(n_iter):
            if gauge is not None:
                v -= (v @ gauge) * gauge
            v /= np.linalg.norm(v)
            previous, estimate = estimate, float(v @ A @ v)
            if abs(previous - estimate) <= _SETTLED * estimate:
                break
            v = _cho_solve(L, v)
        # The last estimate is a Rayleigh quotient: never below the true minimum.
    allowance = 4.0 * (p + 1) * _EPS * np.linalg.norm(A)
    shifted = np.array(A, order="F")
    diagonal = np.diag_indices(p)
    for fraction in (0.95, 0.8, 0.5, 0.25, 0.1, 0.01):
        mu = fraction * estimate
        shifted[diagonal] = A[diagonal] - mu
        try:
            _cholesky(shifted)
        except linalg.LinAlgError:
            continue
        return float(max(0.0, mu - allowance))
    return 0.0


@dataclass(frozen=True)
class HessianCache:
    """Factored Hessian of the retained objective at ``theta_ref``, with its certified
    curvature bound.

    Attributes
    ----------
    factor : ndarray of shape (p, p)
        Lower Cholesky factor (Fortran order) of ``H + gauge_weight * e e^T``, where ``H`` is
        ``hess F`` over the retained rows, at ``theta_ref``, with the weights of
        ``class_scale_ref``. Downdated in place of ``H`` itself, which is not kept.
    theta_ref : ndarray of shape (p,)
        Where the curvature was evaluated.
    class_scale_ref : ndarray of shape (n_classes,)
        Class weights in force when it was (they change under ``class_weight="balanced"``).
    mu : float
        Certified lower bound on the smallest eigenvalue of ``H`` (identifiable subspace),
        carried through the downdates since the last refresh.
    gauge : ndarray of shape (p,) or None
        Unit null direction of the objective.
    gauge_weight : float
        Weight of ``e e^T`` in the factored matrix.
    trace : float
        Trace of the factored matrix (``||factor||_F^2``), an upper bound on its norm that
        sizes the rounding allowances.
    rows_at_refresh : int
        Retained rows when the Hessian was last computed from scratch.
    mu_at_refresh : float
        ``mu`` then.
    mu_schur_ref : float
        The intercept-block (Schur) curvature bound then: a hint of whether computing that
        bound in a pass can beat the cache's (see :func:`~._newton.evaluate`).
    removed_since_refresh : int
        Rows downdated since.
    lam_max : float
        Upper bound on the largest eigenvalue of the factored matrix (Gershgorin at the
        refresh; downdates only lower it, updates add at most ``||U_plus||_F^2``).
    shrink : float
        Factor by which the last update lowered the matrix: ``H_new >= shrink * H_old``
        (``1 - leverage`` of the downdate; 1 after a build).
    penalty_ref : ndarray of shape (n_features,) or None
        Per-feature penalty weights in force when the Hessian was computed (None: all 1;
        see :class:`~._losses.LogisticObjective`).
    """

    factor: np.ndarray
    theta_ref: np.ndarray
    class_scale_ref: np.ndarray
    mu: float
    gauge: np.ndarray | None
    gauge_weight: float
    trace: float
    rows_at_refresh: int
    mu_at_refresh: float
    mu_schur_ref: float = 0.0
    removed_since_refresh: int = 0
    lam_max: float = np.inf
    shrink: float = 1.0
    penalty_ref: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        hessian,
        theta_ref,
        class_scale_ref,
        gauge,
        n_rows,
        *,
        seed=0,
        mu_schur=0.0,
        penalty_ref=None,
    ):
        """Factor a freshly computed Hessian and certify its smallest eigenvalue."""
        weight = _gauge_weight(hessian)
        A = _with_gauge(hessian, gauge, weight)
        factor = _cholesky(A)
        mu = certified_min_eigenvalue(hessian, gauge, seed=seed, factor=factor)
        return cls(
            factor=factor,
            theta_ref=theta_ref.copy(),
            class_scale_ref=np.array(class_scale_ref, dtype=np.float64),
            mu=mu,
            gauge=gauge,
            gauge_weight=weight,
            trace=float(np.trace(A)),
            rows_at_refresh=int(n_rows),
            mu_at_refresh=mu,
            mu_schur_ref=float(mu_schur),
            lam_max=min(float(np.trace(A)), float(np.abs(A).sum(axis=1).max())),
            penalty_ref=None if penalty_ref is None else np.array(penalty_ref, dtype=float),
        )

    @property
    def hessian(self) -> np.ndarray:
        """The cached Hessian ``H``, rebuilt from the factor (``O(p^3)``: for inspection)."""
        H = self.factor @ self.factor.T
        return _with_gauge(H, self.gauge, -self.gauge_weight)

    def with_factor(self) -> HessianCache:
        """This cache, ready to solve (the factor is always kept, so: itself)."""
        return self

    @property
    def wants_schur(self) -> bool:
        """Whether the intercept-block bound may beat this cache's certified curvature by
        enough (a factor 2) to be worth its products with the rows in a pass."""
        return self.mu_schur_ref > 2.0 * self.mu

    def solve(self, b):
        """``H^-1 b`` on the identifiable subspace (``b`` orthogonal to the gauge)."""
        return _cho_solve(self.factor, b)

    def update(self, U_minus, U_plus=None, n_removed: int = 0) -> HessianCache:
        """A new cache for ``H - U_minus U_minus^T + U_plus U_plus^T``; this one is unchanged.

        Both are applied to the factor (:func:`cholesky_update`); the downdate first, whose
        leverage shrinks the curvature bound by ``1 - lambda_max(U^T H^-1 U)`` (an update
        only raises the smallest eigenvalue).

        Raises
        ------
        DowndateError
            If the downdate's leverage exceeds the safe limit or the result is not
            positive definite: the caller must rebuild the Hessian instead.
        """
        factor, shrink = self.factor, 1.0
        norm_minus = float(np.sum(U_minus * U_minus))
        if U_minus.shape[1]:
            factor, leverage = cholesky_update(factor, U_minus, downdate=True)
            if not leverage < _MAX_LEVERAGE:
                raise DowndateError(f"a removed row's leverage is {leverage:.3g}")
            shrink = 1.0 - leverage
        trace = self.trace - norm_minus
        lam_max = self.lam_max
        if U_plus is not None and U_plus.shape[1]:
            factor, _ = cholesky_update(factor, U_plus, downdate=False)
            trace += float(np.sum(U_plus * U_plus))
            lam_max += float(np.sum(U_plus * U_plus))
        # Allowance for the rounding of the downdate, backward stable like a factorization
        # of the downdated matrix (whose norm is at most the old trace plus ||U||_F^2).
        p = factor.shape[0]
        allowance = 4.0 * (p + 1) * _EPS * (self.trace + norm_minus)
        return replace(
            self,
            factor=factor,
            trace=trace,
            mu=max(0.0, self.mu * shrink - allowance),
            removed_since_refresh=self.removed_since_refresh + int(n_removed),
            lam_max=lam_max + allowance,
            shrink=max(0.0, shrink - allowance / max(self.mu, _EPS)),
        )

    def recertified(self, *, seed: int = 0) -> HessianCache:
        """This cache with ``mu`` certified anew on its (downdated) Hessian.

        Each downdate shrinks ``mu`` by the removed rows' largest leverage, a worst case that
        ignores whether they touch the directions of least curvature at all, so ``mu`` falls
        faster than the smallest eigenvalue. Certifying it again costs ``O(p^3)`` from the
        factor (rebuilding the matrix, a few solves, one factorization), against
        ``O(n p^2)`` for recomputing the Hessian from the rows.
        """
        A = blas.dtrmm(1.0, self.factor, self.factor.T, lower=1)  # L L^T
        mu = _certified_min_eigenvalue(A, self.factor, self.gauge, n_iter=30, seed=seed)
        return replace(self, mu=max(mu, self.mu))

    def degradation(self, score_shift: float) -> float:
        """Fraction of the refresh-time curvature bound still certified after the scores
        moved by ``score_shift`` (see :meth:`curvature_at`)."""
        if self.mu_at_refresh <= 0:
            return 0.0
        return self.mu * np.exp(-score_shift) / self.mu_at_refresh

    def ratio_bounds(self, class_scale, penalty=None) -> tuple[float, float]:
        """``(lo, hi)``: every term of the Hessian now (a row's weight, a penalty weight) is
        between ``lo`` and ``hi`` times its value in the cached one, at equal scores;
        ``lo <= 1 <= hi``."""
        ratios = [np.asarray(class_scale, dtype=float) / self.class_scale_ref]
        if penalty is not None or self.penalty_ref is not None:
            new = np.ones(1) if penalty is None else np.asarray(penalty, dtype=float)
            ref = np.ones(1) if self.penalty_ref is None else self.penalty_ref
            ratios.append(np.ravel(new / ref))
        lo = min(1.0, *(float(r.min()) for r in ratios))
        hi = max(1.0, *(float(r.max()) for r in ratios))
        return lo, hi

    def curvature_at(self, score_shift: float, class_scale, penalty=None) -> float:
        """Certified lower bound on the smallest Hessian eigenvalue at another point.

        ``score_shift`` is the largest change, over the weighted rows, of the spread of a
        row's scores between ``theta_ref`` and that point (``|dz_i|`` for the sigmoid,
        ``max_k dz_ik - min_k dz_ik`` for the softmax). Every row's curvature decays at most
        like ``exp(-score_shift)`` along the way (see :mod:`._certificate`); class weights
        (and penalty weights) that shrank since the reference scale it down in proportion.
        """
        lo, _ = self.ratio_bounds(class_scale, penalty)
        return self.mu * np.exp(-score_shift) * lo
