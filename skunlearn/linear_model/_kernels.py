"""Compiled inner loops of Newton unlearning (numba): the factor downdate and the data pass.

Two loops dominate an unlearning request once its Python overhead is gone, and neither maps
onto one BLAS call:

- a rank-one change of a Cholesky factor, ``O(p^2)`` with a data dependence from column to
  column (LAPACK has none; the blocked BLAS-3 version in :mod:`._cholesky` only pays off for
  many columns);
- the exact pass over the retained rows, which needs each row's score before it can add the
  row to the gradient. As one NumPy expression it reads the rows twice (``X @ theta``, then
  ``r @ X``); here each row is read once, while it is in cache, and the certificate's terms
  (rounding allowance, score shift, largest row norm) come out of the same sweep.

The pass kernels sum in a vectorizable order (``fastmath`` reassociation): the rounding
allowance of :mod:`._certificate` is a probabilistic bound that does not depend on the order.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["binary_pass", "multinomial_pass", "rank_k_update", "rank_one_update"]

_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, nogil=True)
def rank_one_update(L, x, sign):  # pragma: no cover - compiled
    """In place: ``L`` (lower, Fortran order) becomes the factor of ``L L^T + sign x x^T``.

    ``x`` is overwritten. Returns ``prod_k (L'_kk / L_kk)^2``, which is
    ``det(L' L'^T) / det(L L^T) = 1 + sign x^T (L L^T)^-1 x``: for a downdate, one minus the
    leverage of ``x``. Returns -1.0 (``L`` partly overwritten) if a downdate would not be
    positive definite.
    """
    p = L.shape[0]
    ratio = 1.0
    for k in range(p):
        lkk = L[k, k]
        xk = x[k]
        r2 = lkk * lkk + sign * xk * xk
        if not r2 > 0.0:
            return -1.0
        r = math.sqrt(r2)
        c = r / lkk
        s = xk / lkk
        L[k, k] = r
        ratio *= c * c
        inv_c = 1.0 / c
        for i in range(k):  # the strict upper triangle reads as zero
            L[i, k] = 0.0
        for i in range(k + 1, p):
            lik = (L[i, k] + sign * s * x[i]) * inv_c
            L[i, k] = lik
            x[i] = c * x[i] - s * lik
    return ratio


@numba.njit(cache=True, nogil=True)
def rank_k_update(L, V, sign, ratios):  # pragma: no cover - compiled
    """In place: ``L`` becomes the factor of ``L L^T + sign V^T V`` for ``V`` of shape
    ``(m, p)`` (C order: a column to add or remove per row), ``V`` is overwritten.

    The same arithmetic as ``m`` successive :func:`rank_one_update` calls, with the loops
    interchanged: each column of ``L`` takes the ``m`` rotations while it is in cache
    (column ``k`` of the ``j``-th pass only needs column ``k`` after the earlier passes and
    the ``j``-th vector after columns ``0..k-1``), so the factor is read once instead of
    ``m`` times. ``ratios[j]`` is multiplied by ``1 + sign v_j^T (L_j L_j^T)^-1 v_j`` with
    ``L_j`` the factor before the ``j``-th vector. Returns False (``L`` partly
    overwritten) if a downdate would not be positive definite.
    """
    p = L.shape[0]
    m = V.shape[0]
    for k in range(p):
        for i in range(k):  # the strict upper triangle reads as zero
            L[i, k] = 0.0
        for j in range(m):
            lkk = L[k, k]
            vk = V[j, k]
            r2 = lkk * lkk + sign * vk * vk
            if not r2 > 0.0:
                return False
            r = math.sqrt(r2)
            c = r / lkk
            s = vk / lkk
            L[k, k] = r
            ratios[j] *= c * c
            inv_c = 1.0 / c
            for i in range(k + 1, p):
                lik = (L[i, k] + sign * s * V[j, i]) * inv_c
                L[i, k] = lik
                V[j, i] = c * V[j, i] - s * lik
    return True


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _dot(a, b):  # pragma: no cover - compiled
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def binary_pass(
    X, t, s, norms, w, b, z_ref, grad, coupling, stats, want_loss
):  # pragma: no cover - compiled
    """One sweep over a dense block for the sigmoid loss; accumulates into the outputs.

    ``grad`` (``d + 1``): ``sum_i s_i r_i (x_i, 1)``. ``coupling`` (``d + 1`` or empty):
    ``sum_i s_i sigma'_i (x_i, 1)``. ``stats``: ``[loss, sum_i s_i ||xt_i|| |r_i|,
    sum_i (s_i sigma'_i ||xt_i||^2)^2, max ||xt_i||, max |z_i - z_ref_i|]`` over the rows of
    positive weight (the two maxima), where ``z_ref`` may be empty (no shift measured).
    """
    n, d = X.shape
    has_ref = z_ref.shape[0] > 0
    has_coupling = coupling.shape[0] > 0
    loss = 0.0
    abs_terms = 0.0
    score_sq = 0.0
    max_norm = stats[3]
    shift = stats[4]
    g_int = 0.0
    for i in range(n):
        si = s[i]
        if si == 0.0:
            continue
        x = X[i]
        z = _dot(x, w) + b
        if z >= 0:
            e = math.exp(-z)
            p = 1.0 / (1.0 + e)
            if want_loss:
                loss += si * (math.log1p(e) + z - t[i] * z)
        else:
            e = math.exp(z)
            p = e / (1.0 + e)
            if want_loss:
                loss += si * (math.log1p(e) - t[i] * z)
        r = p - t[i]
        sr = si * r
        for j in range(d):
            grad[j] += sr * x[j]
        g_int += sr
        curv = p * (1.0 - p)
        nrm = norms[i]
        abs_terms += si * nrm * abs(r)
        q = si * curv * nrm * nrm
        score_sq += q * q
        if has_coupling:
            sc = si * curv
            for j in range(d):
                coupling[j] += sc * x[j]
            coupling[d] += sc
        if si > 0.0:
            if nrm > max_norm:
                max_norm = nrm
            if has_ref:
                dz = abs(z - z_ref[i])
                if dz > shift:
                    shift = dz
    grad[d] += g_int
    stats[0] += loss
    stats[1] += abs_terms
    stats[2] += score_sq
    stats[3] = max_norm
    stats[4] = shift


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def multinomial_pass(
    X, t, s, norms, W, b, z_ref, grad, stats, want_loss
):  # pragma: no cover - compiled
    """:func:`binary_pass` for the softmax over ``K`` classes (no coupling blocks).

    ``W`` is ``(K, d)``, ``b`` ``(K,)``, ``z_ref`` ``(n, K)`` or ``(0, K)``; ``grad`` is
    ``(K, d + 1)``: row ``k`` holds ``sum_i s_i r_ik (x_i, 1)``. The shift is the spread
    ``max_k dz_k - min_k dz_k``; a row's curvature bound is ``min(max_k p_k, 1 - ||p||^2)``.
    """
    n, d = X.shape
    K = W.shape[0]
    has_ref = z_ref.shape[0] > 0
    z = np.empty(K)
    r = np.empty(K)
    loss = 0.0
    abs_terms = 0.0
    score_sq = 0.0
    max_norm = stats[3]
    shift = stats[4]
    for i in range(n):
        si = s[i]
        if si == 0.0:
            continue
        x = X[i]
        zmax = -np.inf
        for k in range(K):
            zk = _dot(x, W[k]) + b[k]
            z[k] = zk
            if zk > zmax:
                zmax = zk
        total = 0.0
        for k in range(K):
            ek = math.exp(z[k] - zmax)
            r[k] = ek
            total += ek
        inv = 1.0 / total
        pmax = 0.0
        psq = 0.0
        rsq = 0.0
        ti = t[i]
        for k in range(K):
            pk = r[k] * inv
            if pk > pmax:
                pmax = pk
            psq += pk * pk
            rk = pk - (1.0 if k == ti else 0.0)
            r[k] = rk
            rsq += rk * rk
        if want_loss:
            loss += si * (math.log(total) + zmax - z[ti])
        for k in range(K):
            srk = si * r[k]
            gk = grad[k]
            for j in range(d):
                gk[j] += srk * x[j]
            gk[d] += srk
        curv = min(pmax, 1.0 - psq)
        nrm = norms[i]
        abs_terms += si * nrm * math.sqrt(rsq)
        q = si * curv * nrm * nrm
        score_sq += q * q
        if si > 0.0:
            if nrm > max_norm:
                max_norm = nrm
            if has_ref:
                lo = np.inf
                hi = -np.inf
                for k in range(K):
                    dz = z[k] - z_ref[i, k]
                    if dz < lo:
                        lo = dz
                    if dz > hi:
                        hi = dz
                if hi - lo > shift:
                    shift = hi - lo
    stats[0] += loss
    stats[1] += abs_terms
    stats[2] += score_sq
    stats[3] = max_norm
    stats[4] = shift
