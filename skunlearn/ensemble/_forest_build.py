"""Growing a tree (or a subtree) of the unlearnable forest: compiled kernels.

A node's split is a deterministic function of its key, its depth and its rows taken in position
order, so a subtree rebuilt by ``unlearn`` equals the subtree ``fit`` grows on the same rows.

- Candidate thresholds of a feature are the ``n_thresholds`` distinct values ``v`` of the node's
  rows that give a valid split ``x <= v`` (``min_samples_leaf`` rows on each side) with the
  smallest :func:`value_hash`. They come from the node's rows only.
- A greedy node considers the ``max_features`` features with a valid candidate that come first
  by :func:`feature_hash`, and takes the candidate of least weighted child impurity, ties going
  to the smaller feature index, then the smaller threshold (never to the order of evaluation).
  A random node (depth below ``random_depth``) takes the first feature by hash that has a valid
  candidate, and its candidate of smallest hash.
- Nodes with at least ``cache_min`` rows, and random nodes, keep their candidates and the
  statistics left of every candidate (a *slot*), so that forgetting a row updates them in
  constant time; smaller nodes are re-evaluated from their rows.
- Statistics kept in a slot are error-free double-double sums (``hi + lo``) with an exactness
  flag: while every addition is exact, the pair is the correctly rounded exact sum whatever the
  order of the additions, so removing a row gives bitwise what summing the remaining rows
  gives. When an addition is not exact, the node recomputes its statistics from its rows in
  position order. Integer class counts are plain sums (exact in any order), and so are the
  statistics of nodes without a slot, which are always summed afresh in position order.

The layout of a tree is a tuple of arrays (``TREE_FIELDS``). A grown tree has its nodes in
depth-first preorder (left child first); ``unlearn`` may later place a rebuilt subtree in the
ids its old one freed, or past the last one in use (see :mod:`._forest_delete`), so that only
the links, never the ids, say where a node sits. Every node's rows are a contiguous range of
``order`` (its left child's rows, then its right child's), each leaf's rows in position order.
"""

import numpy as np
from numba import njit

from skunlearn.ensemble._forest_hash import child_key, feature_hash, value_hash

# Layout of the parameter vector handed to the kernels.
(P_D, P_C, P_KF, P_KT, P_MAXD, P_MSS, P_MSL, P_RD, P_CRIT, P_CACHE, P_REG, P_INT, P_UNIT) = range(
    13
)
# How add_row sums (:func:`sum_mode`): double-double or plain (plain modes from PLAIN on),
# class or regression channels; the REG1 modes are regression with every weight 1, whose
# candidates keep no weight channel (the weight left of a candidate is its row count).
DD, REG, REG1, PLAIN, REG_PLAIN, REG1_PLAIN = range(6)
GINI, ENTROPY, SQUARED_ERROR = 0, 1, 2

TREE_FIELDS = (
    "feature",  # int32, -1 at leaves
    "threshold",  # float32, split "x <= threshold"
    "left",  # int32 child ids, -1 at leaves
    "right",
    "start",  # int32, first index of the node's rows in ``order``
    "count",  # int32, number of rows
    "slot",  # int32, index of the node's cached statistics, -1 if none
    "wsum",  # float64, total weight of the node's rows
    "impurity",  # float64
    "value",  # float64 (n_nodes, n_outputs): class fractions or mean, at leaves
    "order",  # int32 row positions, each node's rows contiguous, each leaf's ascending
    "c_feat",  # int32 (n_slots, max_features): considered features, -1 unused
    "c_ncand",  # int32 (n_slots, max_features): number of candidates
    "c_thr",  # float32 (n_slots, max_features, n_thresholds): candidates, ascending
    "c_eq",  # int32: rows whose value equals the candidate
    "c_lcnt",  # int32: rows left of (<=) the candidate
    "c_lhi",  # float64 (..., n_channels): statistics left of the candidate, high part
    "c_llo",  # float64: low part (a last axis of length 0 under integer class counts)
    "c_thi",  # float64 (n_slots, n_node_channels): the node's totals, high part
    "c_tlo",  # float64: low part (likewise)
    "c_exact",  # bool (n_slots,): every statistic of the slot is an exact sum
    "meta",  # int64 (4,): nodes in use, slots in use, free nodes and free slots among them
)


@njit(cache=True, nogil=True, inline="always")
def two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, nogil=True, inline="always")
def dd_add(hi, lo, x):
    """``(hi, lo) + x`` renormalized, and whether the result is the exact sum."""
    s, e = two_sum(hi, x)
    t, e2 = two_sum(lo, e)
    h, low = two_sum(s, t)
    return h, low, e2 == 0.0


@njit(cache=True, nogil=True)
def dd_minus_hi(thi, tlo, lhi, llo):
    """High part of the double-double difference ``t - l`` (same inputs, same bits)."""
    s, e = two_sum(thi, -lhi)
    return s + (e + (tlo - llo))


@njit(cache=True, nogil=True)
def n_channels(P):
    """Channels of the candidate statistics and of the node totals."""
    if P[P_REG]:
        # (weight, weighted y) and (weight, weighted y, weighted y^2); with every weight 1,
        # a candidate's left weight is its left row count, and only weighted y is kept.
        return (1 if P[P_UNIT] else 2), 3
    return P[P_C], P[P_C]


@njit(cache=True, nogil=True)
def has_slot(P, depth, m):
    """Whether a split node at ``depth`` with ``m`` rows keeps its statistics in a slot."""
    return depth < P[P_RD] or m >= P[P_CACHE]


@njit(cache=True, nogil=True)
def low_channels(P):
    """Channels of the low parts kept in slots (``c_llo``, ``c_tlo``): none when every sum is
    an integer count, whose low parts are all zero (half the memory of the slots)."""
    if order_free(P):
        return 0, 0
    return n_channels(P)


@njit(cache=True, nogil=True)
def sum_mode(P, cached):
    """How the statistics of a node are summed.

    Statistics kept in a slot are updated by subtraction, so their bits must not depend on the
    order of the additions: double-double sums (:data:`DD`, :data:`REG`), or plain sums
    (:data:`PLAIN`) under integer class weights whose total is below 2**52, where every sum is
    an exact integer. A node without a slot is always summed afresh from its rows in position
    order, so plain sums (:data:`PLAIN`, :data:`REG_PLAIN`) are deterministic there. The
    regression modes come in two kinds: :data:`REG` and :data:`REG_PLAIN` keep a weight channel
    in the candidates' statistics, :data:`REG1` and :data:`REG1_PLAIN` (every weight 1) do not.
    """
    if P[P_REG] and P[P_UNIT]:
        return REG1 if cached else REG1_PLAIN
    if P[P_REG]:
        return REG if cached else REG_PLAIN
    return PLAIN if P[P_INT] or not cached else DD


@njit(cache=True, nogil=True)
def order_free(P):
    """Whether every sum is exact in any order (integer class counts)."""
    return not P[P_REG] and P[P_INT]


# The helpers of node evaluation are inlined into their callers (``inline="always"``): a call
# passing arrays costs their reference counting, several times the work of a per-row helper
# and a tenth of a small node's evaluation.
@njit(cache=True, nogil=True, inline="always")
def add_row(hi, lo, p, sign, yk, yr, w, mode, node_level):
    """Add (``sign=1``) or remove (``-1``) row ``p`` to statistics ``hi/lo``; exactness."""
    wi = sign * w[p]
    if mode == PLAIN:
        hi[yk[p]] += wi
        return True
    if mode == REG_PLAIN or mode == REG1_PLAIN:
        wy = wi * yr[p]
        hi[0] += wi
        hi[1] += wy
        if node_level:
            hi[2] += wy * yr[p]
        return True
    if mode == REG or mode == REG1:
        h0, l0, e0 = dd_add(hi[0], lo[0], wi)
        wy = wi * yr[p]
        h1, l1, e1 = dd_add(hi[1], lo[1], wy)
        hi[0] = h0
        lo[0] = l0
        hi[1] = h1
        lo[1] = l1
        ok = e0 & e1
        if node_level:
            h2, l2, e2 = dd_add(hi[2], lo[2], wy * yr[p])
            hi[2] = h2
            lo[2] = l2
            ok &= e2
        return ok
    k = yk[p]
    h, low, e = dd_add(hi[k], lo[k], wi)
    hi[k] = h
    lo[k] = low
    return e


@njit(cache=True, nogil=True, inline="always")
def add_row_at(hi, lo, b, p, sign, yk, yr, w, mode):
    """:func:`add_row` into row ``b`` of candidate statistics ``hi/lo`` (2-d), indexing them
    in place (a view per row costs more than the addition)."""
    wi = sign * w[p]
    if mode == PLAIN:
        hi[b, yk[p]] += wi
        return True
    if mode == REG_PLAIN:
        hi[b, 0] += wi
        hi[b, 1] += wi * yr[p]
        return True
    if mode == REG1_PLAIN:
        hi[b, 0] += wi * yr[p]
        return True
    if mode == REG1:
        h, low, e = dd_add(hi[b, 0], lo[b, 0], wi * yr[p])
        hi[b, 0] = h
        lo[b, 0] = low
        return e
    if mode == REG:
        h0, l0, e0 = dd_add(hi[b, 0], lo[b, 0], wi)
        h1, l1, e1 = dd_add(hi[b, 1], lo[b, 1], wi * yr[p])
        hi[b, 0] = h0
        lo[b, 0] = l0
        hi[b, 1] = h1
        lo[b, 1] = l1
        return e0 & e1
    k = yk[p]
    h, low, e = dd_add(hi[b, k], lo[b, k], wi)
    hi[b, k] = h
    lo[b, k] = low
    return e


@njit(cache=True, nogil=True, inline="always")
def node_totals(rows, m, yk, yr, w, mode, thi, tlo):
    """Totals of the node's rows in position order; returns exactness."""
    thi[:] = 0.0
    tlo[:] = 0.0
    exact = True
    for i in range(m):
        exact &= add_row(thi, tlo, rows[i], 1.0, yk, yr, w, mode, True)
    return exact


@njit(cache=True, nogil=True, inline="always")
def is_pure(thi, P):
    """A classification node whose rows all carry one class (monotone under deletion)."""
    if P[P_REG]:
        return False
    seen = 0
    for k in range(P[P_C]):
        if thi[k] != 0.0:
            seen += 1
    return seen <= 1


@njit(cache=True, nogil=True, inline="always")
def node_summary(thi, P, value_out):
    """Weight and impurity of a node from its totals; writes its leaf value."""
    if P[P_REG]:
        wsum = thi[0]
        mean = thi[1] / wsum if wsum > 0 else 0.0
        value_out[0] = mean
        imp = thi[2] / wsum - mean * mean if wsum > 0 else 0.0
        return wsum, imp
    C = P[P_C]
    wsum = 0.0
    for k in range(C):
        wsum += thi[k]
    imp = 0.0 if P[P_CRIT] == ENTROPY else 1.0
    for k in range(C):
        pk = thi[k] / wsum if wsum > 0 else 1.0 / C
        value_out[k] = pk
        if P[P_CRIT] == ENTROPY:
            if pk > 0:
                imp -= pk * np.log2(pk)
        else:
            imp -= pk * pk
    return wsum, imp


@njit(cache=True, nogil=True, inline="always")
def feature_candidates(rows, m, f, fh, X, Xb, msl, kt, vbuf, out_v, out_h):
    """The up to ``kt`` valid candidate thresholds of feature ``f`` with the smallest hash,
    written to ``out_v`` in ascending order; returns how many."""
    if m < 2 * msl:
        return 0
    # The node's values of ``f``, gathered once (then read contiguously, here and by
    # :func:`feature_stats`).
    for i in range(m):
        vbuf[i] = X[rows[i], f]
    col = vbuf[:m]
    bits = col.view(np.uint32)
    if msl == 1:
        lo = col[0]
        hi = lo
        for i in range(1, m):
            v = col[i]
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
    else:
        vs = np.sort(col)
        lo = vs[msl - 1]
        hi = vs[m - msl]
    if not lo < hi:
        return 0
    # Valid thresholds: values v with lo <= v < hi (msl rows at most v, msl rows above).
    n = 0
    for i in range(m):
        v = col[i]
        if v < lo or v >= hi:
            continue
        h = value_hash(fh, bits[i])
        if n == kt and (h > out_h[n - 1] or (h == out_h[n - 1] and v >= out_v[n - 1])):
            continue
        dup = False
        for j in range(n):
            if out_h[j] == h and out_v[j] == v:
                dup = True
                break
        if dup:
            continue
        if n < kt:
            pos = n
            n += 1
        else:
            pos = kt - 1
        while pos > 0 and (out_h[pos - 1] > h or (out_h[pos - 1] == h and out_v[pos - 1] > v)):
            out_h[pos] = out_h[pos - 1]
            out_v[pos] = out_v[pos - 1]
            pos -= 1
        out_h[pos] = h
        out_v[pos] = v
    # Ascending values (insertion sort, n is small).
    for i in range(1, n):
        v = out_v[i]
        j = i
        while j > 0 and out_v[j - 1] > v:
            out_v[j] = out_v[j - 1]
            j -= 1
        out_v[j] = v
    return n


@njit(cache=True, nogil=True, inline="always")
def feature_stats(rows, m, col, yk, yr, w, mode, nc, cand, eq, lcnt, lhi, llo, bcnt, bhi, blo):
    """Statistics left of each candidate (rows in position order, bucketed then prefix-summed,
    as :func:`sum_mode` says); ``col`` holds the rows' values of the feature. Returns
    exactness."""
    # Bucket ``nc`` takes the rows above every candidate (and is not used): finding a row's
    # bucket takes no branch that depends on the data, whose mispredictions would cost more
    # than the work.
    bcnt[: nc + 1] = 0
    eq[:nc] = 0
    bhi[: nc + 1, :] = 0.0
    blo[: nc + 1, :] = 0.0
    exact = True
    top = nc - 1
    for i in range(m):
        v = col[i]
        b = 0
        for j in range(nc):
            b += v > cand[j]
        bcnt[b] += 1
        e = min(b, top)
        eq[e] += v == cand[e]
        p = rows[i]
        if mode == PLAIN:
            bhi[b, yk[p]] += w[p]  # spelled out: the hottest loop of a classification fit
        elif mode >= PLAIN or b < nc:  # (the exactness of bucket nc must not count)
            exact &= add_row_at(bhi, blo, b, p, 1.0, yk, yr, w, mode)
    cnt = 0
    nch = bhi.shape[1]
    for j in range(nc):
        cnt += bcnt[j]
        lcnt[j] = cnt
        if mode >= PLAIN:  # (the caller zeroed ``llo``, which may have no channel)
            for c in range(nch):
                lhi[j, c] = bhi[j, c] if j == 0 else lhi[j - 1, c] + bhi[j, c]
            continue
        for c in range(nch):
            if j == 0:
                lhi[0, c] = bhi[0, c]
                llo[0, c] = blo[0, c]
            else:
                h, low, e1 = dd_add(lhi[j - 1, c], llo[j - 1, c], bhi[j, c])
                h, low, e2 = dd_add(h, low, blo[j, c])
                lhi[j, c] = h
                llo[j, c] = low
                exact &= e1 and e2
    return exact


@njit(cache=True, nogil=True, inline="always")
def split_score(lhi, llo, nl, thi, tlo, P, rbuf):
    """Weighted impurity of the two children (lower is better); inf if a side has no weight.
    ``nl`` is the number of rows left of the candidate."""
    if P[P_REG]:
        if P[P_UNIT]:  # the same numbers as the weight channel would hold (exact counts)
            wl = np.float64(nl)
            wr = dd_minus_hi(thi[0], tlo[0], wl, 0.0)
            sl = lhi[0]
            sr = dd_minus_hi(thi[1], tlo[1], lhi[0], llo[0])
        else:
            wl = lhi[0]
            sl = lhi[1]
            wr = dd_minus_hi(thi[0], tlo[0], lhi[0], llo[0])
            sr = dd_minus_hi(thi[1], tlo[1], lhi[1], llo[1])
        if not (wl > 0 and wr > 0):
            return np.inf
        return -(sl * sl / wl + sr * sr / wr)
    C = P[P_C]
    wl = 0.0
    wr = 0.0
    if P[P_INT]:
        # Integer counts (no low parts): the Gini sum w_l g_l + w_r g_r is
        # w - (S_l / w_l + S_r / w_r) with S the sums of squared counts, which are exact; two
        # divisions instead of 2C.
        sl = 0.0
        sr = 0.0
        for k in range(C):
            a = lhi[k]
            b = thi[k] - a
            rbuf[k] = b
            wl += a
            wr += b
            sl += a * a
            sr += b * b
        if not (wl > 0 and wr > 0):
            return np.inf
        if P[P_CRIT] != ENTROPY:
            return -(sl / wl + sr / wr)
    else:
        for k in range(C):
            rbuf[k] = dd_minus_hi(thi[k], tlo[k], lhi[k], llo[k])
            wl += lhi[k]
            wr += rbuf[k]
        if not (wl > 0 and wr > 0):
            return np.inf
    if P[P_CRIT] == ENTROPY:
        el = 0.0
        er = 0.0
        for k in range(C):
            if lhi[k] > 0:
                pk = lhi[k] / wl
                el -= pk * np.log2(pk)
            if rbuf[k] > 0:
                pk = rbuf[k] / wr
                er -= pk * np.log2(pk)
        return wl * el + wr * er
    gl = 1.0
    gr = 1.0
    for k in range(C):
        pk = lhi[k] / wl
        gl -= pk * pk
        pk = rbuf[k] / wr
        gr -= pk * pk
    return wl * gl + wr * gr


@njit(cache=True, nogil=True, inline="always")
def best_split(s_feat, s_ncand, s_thr, s_lcnt, s_lhi, s_llo, thi, tlo, m, P, rbuf):
    """Best (feature, threshold) over the cached candidates: (found, feature, threshold)."""
    msl = P[P_MSL]
    found = False
    best = np.inf
    bf = -1
    bt = np.float32(0.0)
    for s in range(s_feat.shape[0]):
        f = s_feat[s]
        if f < 0:
            break
        for j in range(s_ncand[s]):
            nl = s_lcnt[s, j]
            if nl < msl or m - nl < msl:
                continue
            score = split_score(s_lhi[s, j], s_llo[s, j], nl, thi, tlo, P, rbuf)
            if not score < np.inf:
                continue
            t = s_thr[s, j]
            if not found or score < best or (score == best and (f < bf or (f == bf and t < bt))):
                found = True
                best = score
                bf = f
                bt = t
    return found, bf, bt


@njit(cache=True, nogil=True)
def make_scratch(P, m_max):
    """Work arrays of :func:`eval_node` for nodes of up to ``m_max`` rows."""
    D, KF, KT = P[P_D], P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    return (
        np.full(KF, -1, np.int32),  # s_feat
        np.zeros(KF, np.int32),  # s_ncand
        np.zeros((KF, KT), np.float32),  # s_thr
        np.zeros((KF, KT), np.int32),  # s_eq
        np.zeros((KF, KT), np.int32),  # s_lcnt
        np.zeros((KF, KT, chc), np.float64),  # s_lhi
        np.zeros((KF, KT, chc), np.float64),  # s_llo
        np.zeros(chn, np.float64),  # thi
        np.zeros(chn, np.float64),  # tlo
        np.zeros(D, np.uint64),  # feature hashes
        np.empty(max(m_max, 1), np.float32),  # the node's values of one feature
        np.zeros(KT, np.uint64),  # candidate hashes
        np.zeros(KT + 1, np.int32),  # bucket counts
        np.zeros((KT + 1, chc), np.float64),  # bucket sums, high
        np.zeros((KT + 1, chc), np.float64),  # bucket sums, low
        np.zeros(max(chn, 1), np.float64),  # right-side channel buffer
    )


@njit(cache=True, nogil=True)
def eval_node(rows, m, key, depth, X, Xb, yk, yr, w, P, S):
    """Evaluate a node: totals, stopping rules, candidates and the chosen split.

    Fills the scratch slot of ``S`` and returns ``(split, feature, threshold, exact)``.
    """
    (
        s_feat,
        s_ncand,
        s_thr,
        s_eq,
        s_lcnt,
        s_lhi,
        s_llo,
        thi,
        tlo,
        fh,
        vbuf,
        hbuf,
        bcnt,
        bhi,
        blo,
        rbuf,
    ) = S
    mode = sum_mode(P, has_slot(P, depth, m))
    exact = node_totals(rows, m, yk, yr, w, mode, thi, tlo)
    # Unused entries are zero, so that a slot is a function of the node's rows alone.
    s_feat[:] = -1
    s_ncand[:] = 0
    s_thr[:] = 0.0
    s_eq[:] = 0
    s_lcnt[:] = 0
    s_lhi[:] = 0.0
    s_llo[:] = 0.0
    no = np.float32(0.0)
    if depth >= P[P_MAXD] or m < P[P_MSS] or m < 2 * P[P_MSL] or is_pure(thi, P):
        return False, -1, no, exact
    random = depth < P[P_RD]
    D = P[P_D]
    for f in range(D):
        fh[f] = feature_hash(key, f)
    want = 1 if random else P[P_KF]
    kt = 1 if random else P[P_KT]
    ns = 0
    prev_h = np.uint64(0)
    prev_f = -1
    for _ in range(D):
        # The next feature by (hash, index): a selection step instead of sorting all D
        # hashes, since only the first few are usually needed.
        f = -1
        for g in range(D):
            h = fh[g]
            if prev_f >= 0 and (h < prev_h or (h == prev_h and g <= prev_f)):
                continue
            if f < 0 or h < fh[f]:
                f = g
        prev_h = fh[f]
        prev_f = f
        nc = feature_candidates(rows, m, f, fh[f], X, Xb, P[P_MSL], kt, vbuf, s_thr[ns], hbuf)
        if nc == 0:
            continue
        s_feat[ns] = f
        s_ncand[ns] = nc
        exact &= feature_stats(
            rows,
            m,
            vbuf[:m],
            yk,
            yr,
            w,
            mode,
            nc,
            s_thr[ns],
            s_eq[ns],
            s_lcnt[ns],
            s_lhi[ns],
            s_llo[ns],
            bcnt,
            bhi,
            blo,
        )
        ns += 1
        if ns == want:
            break
    if ns == 0:
        return False, -1, no, exact
    if random:
        return True, s_feat[0], s_thr[0, 0], exact
    found, bf, bt = best_split(s_feat, s_ncand, s_thr, s_lcnt, s_lhi, s_llo, thi, tlo, m, P, rbuf)
    return found, bf, bt, exact


@njit(cache=True, nogil=True)
def _resize(a, n):
    shape = (n,) + a.shape[1:]  # noqa: RUF005 (numba types tuple concatenation)
    out = np.zeros(shape, a.dtype)
    out[: a.shape[0]] = a[: min(a.shape[0], n)]
    return out


@njit(cache=True, nogil=True)
def build_subtree(rows_in, depth0, key0, X, Xb, yk, yr, w, P):
    """Grow the subtree of the node with key ``key0`` at depth ``depth0`` on ``rows_in``
    (positions, ascending). Returns the tree tuple of ``TREE_FIELDS`` with ids and ``start``
    relative to this subtree."""
    m0 = rows_in.shape[0]
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
    cv = 1 if P[P_REG] else P[P_C]
    cap = max(2 * m0 - 1, 1)
    feature = np.empty(cap, np.int32)
    threshold = np.zeros(cap, np.float32)
    left = np.empty(cap, np.int32)
    right = np.empty(cap, np.int32)
    start = np.empty(cap, np.int32)
    count = np.empty(cap, np.int32)
    slot = np.empty(cap, np.int32)
    wsum = np.empty(cap, np.float64)
    impurity = np.empty(cap, np.float64)
    value = np.zeros((cap, cv), np.float64)
    order = np.empty(m0, np.int32)
    order[:] = rows_in  # a copy: the caller reuses its buffer
    tmp = np.empty(max(m0, 1), np.int32)

    scap = 8
    c_feat = np.full((scap, KF), -1, np.int32)
    c_ncand = np.zeros((scap, KF), np.int32)
    c_thr = np.zeros((scap, KF, KT), np.float32)
    c_eq = np.zeros((scap, KF, KT), np.int32)
    c_lcnt = np.zeros((scap, KF, KT), np.int32)
    c_lhi = np.zeros((scap, KF, KT, chc), np.float64)
    c_llo = np.zeros((scap, KF, KT, lc), np.float64)
    c_thi = np.zeros((scap, chn), np.float64)
    c_tlo = np.zeros((scap, ln), np.float64)
    c_exact = np.zeros(scap, np.bool_)
    ns = 0

    S = make_scratch(P, m0)
    s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]

    stack_cap = 64
    st_start = np.empty(stack_cap, np.int64)
    st_count = np.empty(stack_cap, np.int64)
    st_depth = np.empty(stack_cap, np.int64)
    st_key = np.empty(stack_cap, np.uint64)
    st_parent = np.empty(stack_cap, np.int64)
    sp = 0
    st_start[0] = 0
    st_count[0] = m0
    st_depth[0] = depth0
    st_key[0] = key0
    st_parent[0] = -1
    sp = 1
    nid = 0
    while sp > 0:
        sp -= 1
        s0 = st_start[sp]
        c0 = st_count[sp]
        d0 = st_depth[sp]
        k0 = st_key[sp]
        parent = st_parent[sp]
        v = nid
        nid += 1
        if parent >= 0:
            right[parent] = v
        rows = order[s0 : s0 + c0]
        split, f, t, exact = eval_node(rows, c0, k0, d0, X, Xb, yk, yr, w, P, S)
        start[v] = s0
        count[v] = c0
        if not split:
            feature[v] = -1
            left[v] = -1
            right[v] = -1
            slot[v] = -1
            wsum[v], impurity[v] = node_summary(thi, P, value[v])
            continue
        wsum[v], impurity[v] = node_summary(thi, P, value[v])
        value[v, :] = 0.0
        feature[v] = f
        threshold[v] = t
        if has_slot(P, d0, c0):
            if ns == scap:
                scap *= 2
                c_feat = _resize(c_feat, scap)
                c_ncand = _resize(c_ncand, scap)
                c_thr = _resize(c_thr, scap)
                c_eq = _resize(c_eq, scap)
                c_lcnt = _resize(c_lcnt, scap)
                c_lhi = _resize(c_lhi, scap)
                c_llo = _resize(c_llo, scap)
                c_thi = _resize(c_thi, scap)
                c_tlo = _resize(c_tlo, scap)
                c_exact = _resize(c_exact, scap)
            c_feat[ns] = s_feat
            c_ncand[ns] = s_ncand
            c_thr[ns] = s_thr
            c_eq[ns] = s_eq
            c_lcnt[ns] = s_lcnt
            c_lhi[ns] = s_lhi
            if lc:
                c_llo[ns] = s_llo
            c_thi[ns] = thi
            if ln:
                c_tlo[ns] = tlo
            c_exact[ns] = exact
            slot[v] = ns
            ns += 1
        else:
            slot[v] = -1
        # Stable partition: each child's rows stay in position order.
        nl = 0
        nr = 0
        for i in range(c0):
            p = rows[i]
            if X[p, f] <= t:
                rows[nl] = p
                nl += 1
            else:
                tmp[nr] = p
                nr += 1
        rows[nl:c0] = tmp[:nr]
        left[v] = v + 1
        if sp + 2 > stack_cap:
            stack_cap *= 2
            st_start = _resize(st_start, stack_cap)
            st_count = _resize(st_count, stack_cap)
            st_depth = _resize(st_depth, stack_cap)
            st_key = _resize(st_key, stack_cap)
            st_parent = _resize(st_parent, stack_cap)
        st_start[sp] = s0 + nl
        st_count[sp] = c0 - nl
        st_depth[sp] = d0 + 1
        st_key[sp] = child_key(k0, 1)
        st_parent[sp] = v
        sp += 1
        st_start[sp] = s0
        st_count[sp] = nl
        st_depth[sp] = d0 + 1
        st_key[sp] = child_key(k0, 0)
        st_parent[sp] = -1
        sp += 1
    return (
        feature[:nid].copy(),
        threshold[:nid].copy(),
        left[:nid].copy(),
        right[:nid].copy(),
        start[:nid].copy(),
        count[:nid].copy(),
        slot[:nid].copy(),
        wsum[:nid].copy(),
        impurity[:nid].copy(),
        value[:nid].copy(),
        order,
        c_feat[:ns].copy(),
        c_ncand[:ns].copy(),
        c_thr[:ns].copy(),
        c_eq[:ns].copy(),
        c_lcnt[:ns].copy(),
        c_lhi[:ns].copy(),
        c_llo[:ns].copy(),
        c_thi[:ns].copy(),
        c_tlo[:ns].copy(),
        c_exact[:ns].copy(),
        np.array([nid, ns, 0, 0], np.int64),
    )
