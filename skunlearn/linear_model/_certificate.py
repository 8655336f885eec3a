"""Certified bounds on the distance to the exact optimum of the retained objective.

Every unlearning call of :class:`~skunlearn.linear_model.InfluenceUnlearnLogistic` ends here:
given the exact gradient ``g`` of the retained objective ``F`` at the new parameters ``theta``,
a certified lower bound ``mu`` on the smallest eigenvalue of the Hessian of ``F`` at ``theta``
(on the identifiable subspace) and the radius ``R`` below, it bounds ``||theta - theta*||``.

The logistic and softmax losses are not quadratic, so a curvature bound *at* ``theta`` says
nothing by itself about the curvature on the way to ``theta*``. What closes the gap is that
their curvature cannot fall faster than exponentially: along a direction ``delta`` every row's
loss Hessian shrinks at most by ``exp(-R ||delta||)``, with ``R = max_i ||(x_i, 1)||`` for the
sigmoid and ``sqrt(2) max_i ||(x_i, 1)||`` for the softmax (the derivative of the softmax
variance along ``v`` is bounded by ``max_k v_k - min_k v_k`` times the variance). Integrating the
Hessian along the segment from ``theta*`` to ``theta`` gives::

    ||g|| >= mu (1 - exp(-R r)) / R,   r = ||theta - theta*||,

hence ``r <= -log(1 - R ||g|| / mu) / R`` (about ``||g|| / mu`` when ``R ||g|| / mu`` is small,
and no bound at all when it reaches 1). Without an intercept ``F`` is 1-strongly convex in the
sum form everywhere, so ``r <= ||g||`` also holds.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "cheap_distance_bound",
    "curvature_radius",
    "distance_bound",
    "path_staleness",
    "refined_distance_bound",
    "rounding_allowance",
    "schur_curvature_bound",
]

_EPS = np.finfo(np.float64).eps

# Fixed-point steps tried before falling back to bisection in refined_distance_bound.
_FIXED_POINT_STEPS = 30


def curvature_radius(max_row_norm: float, multinomial: bool) -> float:
    """``R`` of the module docstring, from the largest ``||(x_i, 1)||`` of a weighted row."""
    return float(max_row_norm) * (np.sqrt(2.0) if multinomial else 1.0)


def distance_bound(grad_norm: float, mu: float, radius: float, global_mu: float = 0.0) -> float:
    """Bound on ``||theta - theta*||`` from the gradient norm at ``theta``.

    Parameters
    ----------
    grad_norm : float
        ``||grad F(theta)||`` (plus any rounding allowance).
    mu : float
        Certified lower bound on the smallest Hessian eigenvalue at ``theta`` (0 if unknown).
    radius : float
        ``R``: the rate at which the curvature may decay away from ``theta``.
    global_mu : float, default=0.0
        A strong-convexity modulus valid everywhere (1 without intercept), or 0.

    Returns
    -------
    bound : float
        ``inf`` when neither argument proves anything.

    Examples
    --------
    >>> from skunlearn.linear_model._certificate import distance_bound
    >>> round(distance_bound(1e-6, mu=0.5, radius=10.0), 9)  # about ||g|| / mu
    2e-06
    >>> distance_bound(1.0, mu=0.5, radius=10.0)  # too far from the optimum to tell
    inf
    """
    bounds = [np.inf]
    if global_mu > 0:
        bounds.append(grad_norm / global_mu)
    if mu > 0:
        x = radius * grad_norm / mu
        if radius == 0 or x == 0:
            bounds.append(grad_norm / mu)
        elif x < 1:
            bounds.append(-np.log1p(-x) / radius)
    return float(min(bounds))


def refined_distance_bound(
    newton: float,
    dual: float,
    mu_ref: float,
    shift: float,
    radius: float,
    lo: float,
    hi: float,
    basic: float,
) -> float:
    """A sharper bound from a Hessian ``H_ref`` known exactly at a nearby reference point.

    By the mean value theorem ``theta - theta* = Hbar^-1 g`` with ``Hbar`` the Hessian
    averaged over the segment ``[theta*, theta]``. Along it every row's scores are within
    ``shift + R r`` of their values at the reference point (``r = ||theta - theta*||``), so
    ``c H_ref <= Hbar <= C H_ref`` with ``c = lo exp(-(shift + R r))`` and
    ``C = hi exp(shift + R r)`` (``lo``, ``hi``: how class weights changed). Writing
    ``Hbar^-1 = H_ref^-1 + (Hbar^-1 - H_ref^-1)`` gives::

        r <= ||H_ref^-1 g|| + kappa(r) ||g||_{H_ref^-1} / sqrt(mu_ref),
        kappa(r) = max(1/c - 1, 1 - 1/C).

    The right side minus ``r`` is convex in ``r`` and non-negative at 0; since ``r`` is also
    at most ``basic`` (the plain gradient-norm bound), ``r`` is at most the first root of
    ``r = right side`` when that root lies below ``basic``. The result is often smaller than
    ``basic`` by the square root of the condition number of ``H_ref``.

    Parameters
    ----------
    newton : float
        ``||H_ref^-1 g||``, the length of the Newton step ``H_ref`` would take.
    dual : float
        ``||g||_{H_ref^-1} = sqrt(g^T H_ref^-1 g)``.
    mu_ref : float
        Certified lower bound on the smallest eigenvalue of ``H_ref``.
    shift : float
        Largest spread of a row's score change between the reference point and ``theta``.
    radius : float
        ``R``.
    lo, hi : float
        Smallest and largest ratio of current to reference class weights, clipped at 1.
    basic : float
        A valid bound, from :func:`distance_bound`.

    Returns
    -------
    bound : float
        At most ``basic``.

    Examples
    --------
    >>> from skunlearn.linear_model._certificate import refined_distance_bound
    >>> b = refined_distance_bound(1e-6, 1e-5, 1.0, 0.0, 5.0, 1.0, 1.0, basic=1e-3)
    >>> 1e-6 < b < 1.01e-6
    True
    """
    if not (np.isfinite(basic) and mu_ref > 0):
        return basic
    scale = dual / math.sqrt(mu_ref)

    def right_side(r):
        x = min(shift + radius * r, 700.0)  # beyond, kappa is astronomically large anyway
        return newton + max(math.exp(x) / lo - 1.0, 1.0 - math.exp(-x) / hi) * scale

    def gap(r):
        return right_side(r) - r

    if gap(basic) >= 0:
        return basic
    # The right side increases with r, so iterating r <- right_side(r) from 0 climbs to the
    # first root from below, fast when the correction term is small (the usual case). Any
    # point below ``basic`` where the gap is negative lies past that root: a valid bound.
    r = 0.0
    for _ in range(_FIXED_POINT_STEPS):
        following = right_side(r)
        if following - r <= 1e-13 * following:
            break
        r = following
    candidate = r * (1.0 + 1e-9)
    if candidate < basic and gap(candidate) < 0:
        return float(candidate)
    left, right = 0.0, basic
    for _ in range(100):
        mid = 0.5 * (left + right)
        if gap(mid) >= 0:
            left = mid
        else:
            right = mid
    return float(right)


def path_staleness(shift: float, radius: float, a0: float, a1: float, scale: float = 1.0) -> float:
    """How far the Hessian along a Newton step can differ from the cached one, relatively.

    The step goes from ``theta`` to ``theta - delta``; ``shift`` bounds every weighted row's
    score spread between the cached Hessian's reference point and an *anchor* point (where
    the last exact pass measured it), and ``a0``, ``a1`` are the distances of the two ends of
    the step to the anchor. Along the segment a row's spread is at most
    ``t(u) = shift + radius ((1 - u) a0 + u a1)`` (subadditivity of the spread, convexity of
    the distance), so its Hessian lies between ``e^-t`` and ``e^t`` times its cached one, and
    ``scale >= 1`` covers class weights that changed (``max(hi, 1 / lo)``). Then, with
    ``Hbar`` the Hessian averaged along the step and ``H`` the cached one,
    ``-k H_data <= Hbar - H <= k H_data`` for the returned ``k``::

        k = scale * int_0^1 exp(t(u)) du - 1

    (``1 - lo e^-t <= e^t / lo - 1`` by the arithmetic-geometric mean inequality).

    Examples
    --------
    >>> from skunlearn.linear_model._certificate import path_staleness
    >>> round(path_staleness(0.0, 10.0, 0.0, 1e-4), 8)  # about radius * a1 / 2
    0.00050017
    """
    A = shift + radius * a0
    x = radius * (a1 - a0)
    if abs(x) < 1e-5:
        phi, phi_minus_1 = 1.0 + x / 2 + x * x / 6, x / 2 + x * x / 6 * (1 + x / 4)
    else:
        phi = math.expm1(x) / x
        phi_minus_1 = (math.expm1(x) - x) / x
    if A > 700 or not math.isfinite(phi):
        return math.inf
    out = (scale - 1.0) * math.exp(A) * phi + math.expm1(A) * phi + phi_minus_1
    return float(max(out, 0.0) * (1.0 + 1e-12) + 1e-15)


def cheap_distance_bound(
    error: float,
    mu: float,
    lam_max: float,
    shift: float,
    radius: float,
    lo: float = 1.0,
    hi: float = 1.0,
) -> float:
    """Bound on ``||theta - theta*||`` when only a bound on the gradient is known.

    ``error`` bounds ``||grad F(theta)||_{H^-1}`` in the norm of the cached Hessian ``H``
    (certified smallest eigenvalue ``mu``, largest at most ``lam_max``), whose reference
    point is within ``shift`` (score spread) of ``theta``. Then ``||H^-1 g|| <= error /
    sqrt(mu)`` and ``||g||_{H^-1} <= error``, and :func:`refined_distance_bound` applies.
    Its localization is the better of :func:`distance_bound` on ``||g|| <= sqrt(lam_max)
    error`` and the same argument in the norm of ``H``: with ``delta = theta - theta*``,
    ``delta^T g = delta^T Hbar delta >= c(r) ||delta||_H^2`` where
    ``c(r) = lo e^-shift (1 - e^(-R r)) / (R r)`` bounds the averaged Hessian ``Hbar`` below
    (the spread along the segment is at most ``shift + R (1 - u) r``), and
    ``delta^T g <= ||delta||_H error``; with ``r <= ||delta||_H / sqrt(mu)`` this gives
    ``(1 - e^(-R r)) / R <= error e^shift / (lo sqrt(mu))``.

    Examples
    --------
    >>> from skunlearn.linear_model._certificate import cheap_distance_bound
    >>> b = cheap_distance_bound(1e-6, mu=1.0, lam_max=1e4, shift=0.0, radius=10.0)
    >>> 1e-6 < b < 1.01e-6
    True
    """
    if not (mu > 0 and math.isfinite(error)):
        return math.inf
    lo = min(1.0, lo)
    euclid = distance_bound(math.sqrt(lam_max) * error, mu * math.exp(-shift) * lo, radius)
    if shift < 700:
        scaled = error * math.exp(shift) / (lo * math.sqrt(mu))
        euclid = min(euclid, distance_bound(scaled, 1.0, radius))
    newton = error / math.sqrt(mu)
    return refined_distance_bound(newton, error, mu, shift, radius, lo, hi, euclid)


def rounding_allowance(
    abs_terms: float, n_terms: int, *, score_terms: float = 0.0, n_score_terms: int = 1
) -> float:
    """Allowance for the floating-point error of a gradient summed over ``n_terms`` rows.

    Two sources. The sum itself: ``abs_terms`` bounds the sum of the norms of the summed
    terms, and we use the probabilistic bound of Higham & Mary (SIAM J. Sci. Comput., 2019),
    ``lambda sqrt(n) u`` times the sum of absolute values, with a generous ``lambda = 8``,
    rather than the worst case ``n u`` that is never approached in practice. And the error
    each row's score carries into its term: a score is a dot product of ``n_score_terms``
    products, off by at most ``lambda sqrt(n_score_terms) u ||xt_i|| ||theta||`` under the
    same model, and it moves the row's term by its curvature times that, along ``xt_i``.
    Those errors come from different rows' rounding, independent with mean zero in the
    model, so their sum is a sum of independent random vectors of norms at most ``a_i``,
    whose norm exceeds ``lambda ||a||_2`` with probability below ``2 exp(-lambda^2 / 2)``
    (``4e-14`` for ``lambda = 8``): ``score_terms`` is ``||a||_2`` divided by the per-score
    factor, so this part grows like ``sqrt(n)``, not ``n``.
    """
    per_score = 8.0 * np.sqrt(max(n_score_terms, 1)) * _EPS
    return float(8.0 * np.sqrt(max(n_terms, 1)) * _EPS * abs_terms + 8.0 * per_score * score_terms)


def _gauge_basis(k: int) -> np.ndarray:
    """Orthonormal basis, shape ``(k, k - 1)``, of the vectors of R^k summing to zero."""
    q, _ = np.linalg.qr(np.eye(k) - 1.0 / k)
    return q[:, : k - 1]


def schur_curvature_bound(B, M, *, gauge: bool) -> float:
    """Lower bound on the smallest eigenvalue of ``hess F`` from its intercept blocks.

    ``hess F = [[I + A, B], [B^T, M]]`` where ``[[A, B], [B^T, M]]`` is the (positive
    semi-definite) data part scaled by ``C``, ``I`` comes from the penalty on the
    coefficients and the intercepts are not penalized. Dropping the PSD Schur complement
    ``A - B M^-1 B^T`` leaves ``[[I + B M^-1 B^T, B], [B^T, M]]``, whose spectrum is 1 away
    from ``range(B)`` and that of a ``2q x 2q`` matrix on it. So the bound costs only the
    blocks ``B`` and ``M``, which one pass over the rows gives, and holds at the point where
    they were computed. It never exceeds 1.

    Parameters
    ----------
    B : ndarray of shape (n_coef, q)
        Coefficient-intercept block of the scaled data Hessian.
    M : ndarray of shape (q, q)
        Intercept-intercept block.
    gauge : bool
        Restrict to intercepts summing to zero (the multinomial's identifiable subspace).

    Returns
    -------
    mu : float
        A lower bound (0 when the intercept block is singular).
    """
    if gauge:
        V = _gauge_basis(M.shape[0])
        B, M = B @ V, V.T @ M @ V
    # numpy's LAPACK wrappers: these matrices are tiny and called on every pass.
    w, Q = np.linalg.eigh(M)
    if w[0] <= 1e-10 * max(w[-1], 1.0):
        return 0.0
    R = np.linalg.qr(B, mode="r")
    q = R.shape[0]
    RM = R @ Q
    S = np.empty((q + M.shape[0], q + M.shape[0]))
    S[:q, :q] = np.eye(q) + (RM / w) @ RM.T
    S[:q, q:] = R
    S[q:, :q] = R.T
    S[q:, q:] = M
    lam = float(np.linalg.eigvalsh(S)[0])
    # Allowance for the rounding of this small eigenproblem and of M^-1.
    lam -= 1e3 * _EPS * (np.abs(S).sum() + w[-1] / w[0])
    return max(0.0, min(1.0, lam))
