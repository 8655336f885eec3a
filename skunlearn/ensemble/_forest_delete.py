"""Forgetting rows in one tree of the unlearnable forest: the compiled kernel.

:func:`unlearn_tree` walks the paths of the removed rows and visits the nodes on them from the
root down. At a node with cached statistics (a slot) the removed rows are subtracted; the
chosen split provably stays the choice of a fresh fit unless a candidate value vanished, a
candidate lost its validity, or an addition was inexact, and those cases re-evaluate the node
from its retained rows. A node without a slot is re-evaluated from its rows (it has fewer than
``cache_min``). Where the split a fresh fit would choose differs, the subtree is rebuilt by
:func:`build_subtree` from the node's retained rows. Leaves recompute their value.

The kernel never writes into the arrays of the tree it is given: it returns a new tree,
assembled in preorder from the untouched nodes, the updated ones and the rebuilt subtrees,
with slots renumbered in preorder, so that the result is laid out exactly as ``fit`` lays out
the tree it grows on the retained rows.
"""

import numpy as np
from numba import njit
from numba.typed import List

from skunlearn.ensemble._forest_build import (
    P_C,
    P_CACHE,
    P_KF,
    P_KT,
    P_MSL,
    P_MSS,
    P_RD,
    P_REG,
    add_row,
    best_split,
    build_subtree,
    eval_node,
    is_pure,
    make_scratch,
    n_channels,
    node_summary,
    node_totals,
)
from skunlearn.ensemble._forest_hash import child_key, root_key


@njit(cache=True, nogil=True)
def empty_tree(P):
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    cv = 1 if P[P_REG] else P[P_C]
    return (
        np.empty(0, np.int32),
        np.empty(0, np.float32),
        np.empty(0, np.int32),
        np.empty(0, np.int32),
        np.empty(0, np.int32),
        np.empty(0, np.int32),
        np.empty(0, np.int32),
        np.empty(0, np.float64),
        np.empty(0, np.float64),
        np.empty((0, cv), np.float64),
        np.empty(0, np.int32),
        np.empty((0, KF), np.int32),
        np.empty((0, KF), np.int32),
        np.empty((0, KF, KT), np.float32),
        np.empty((0, KF, KT), np.int32),
        np.empty((0, KF, KT), np.int32),
        np.empty((0, KF, KT, chc), np.float64),
        np.empty((0, KF, KT, chc), np.float64),
        np.empty((0, chn), np.float64),
        np.empty((0, chn), np.float64),
        np.empty(0, np.bool_),
    )


@njit(cache=True, nogil=True)
def subtree_end(feature, right, v):
    """One past the last preorder id of the subtree of ``v``."""
    while feature[v] >= 0:
        v = right[v]
    return v + 1


@njit(cache=True, nogil=True)
def _grow(a, n):
    out = np.empty(n, a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(cache=True, nogil=True)
def _gather(order, s0, c0, removed, out):
    n = 0
    for j in range(s0, s0 + c0):
        p = order[j]
        if not removed[p]:
            out[n] = p
            n += 1
    return n


@njit(cache=True, nogil=True)
def unlearn_tree(tree, rem, removed, seed, X, Xb, yk, yr, w, P):
    """Forget rows ``rem`` (ascending positions, all in this tree; ``removed`` is their mask
    over every position) from ``tree``. Returns ``(new_tree, subtrees_rebuilt, rows_rebuilt)``.
    """
    (
        feature,
        threshold,
        left,
        right,
        start,
        count,
        slot,
        wsum,
        impurity,
        value,
        order,
        c_feat,
        c_ncand,
        c_thr,
        c_eq,
        c_lcnt,
        c_lhi,
        c_llo,
        c_thi,
        c_tlo,
        c_exact,
    ) = tree
    N = feature.shape[0]
    r = rem.shape[0]
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    cv = value.shape[1]
    msl, mss, rd, cache_min = P[P_MSL], P[P_MSS], P[P_RD], P[P_CACHE]

    # 1. The paths of the removed rows, and where each sits in ``order``.
    tix = np.full(N, -1, np.int32)
    tcap = 64
    touched = np.empty(tcap, np.int64)
    tkey = np.empty(tcap, np.uint64)
    tdep = np.empty(tcap, np.int64)
    nt = 0
    q = np.empty(r, np.int64)
    rk = root_key(seed)
    for i in range(r):
        p = rem[i]
        v = 0
        key = rk
        d = 0
        while True:
            if tix[v] < 0:
                if nt == tcap:
                    tcap *= 2
                    touched = _grow(touched, tcap)
                    tkey = _grow(tkey, tcap)
                    tdep = _grow(tdep, tcap)
                tix[v] = nt
                touched[nt] = v
                tkey[nt] = key
                tdep[nt] = d
                nt += 1
            f = feature[v]
            if f < 0:
                break
            if X[p, f] <= threshold[v]:
                v = left[v]
                key = child_key(key, 0)
            else:
                v = right[v]
                key = child_key(key, 1)
            d += 1
        found = -1
        for j in range(start[v], start[v] + count[v]):
            if order[j] == p:
                found = j
                break
        if found < 0:
            raise ValueError("a removed row is not in the leaf its features lead to")
        q[i] = found
    qs = np.sort(q)
    perm = np.argsort(touched[:nt])

    # 2. Visit the touched nodes from the root down (preorder ids ascend).
    n_side = 0
    t_side = np.full(nt, -1, np.int64)
    for ti in range(nt):
        if slot[touched[ti]] >= 0:
            t_side[ti] = n_side
            n_side += 1
    x_feat = np.empty((n_side, KF), np.int32)
    x_ncand = np.empty((n_side, KF), np.int32)
    x_thr = np.empty((n_side, KF, KT), np.float32)
    x_eq = np.empty((n_side, KF, KT), np.int32)
    x_lcnt = np.empty((n_side, KF, KT), np.int32)
    x_lhi = np.empty((n_side, KF, KT, chc), np.float64)
    x_llo = np.empty((n_side, KF, KT, chc), np.float64)
    x_thi = np.empty((n_side, chn), np.float64)
    x_tlo = np.empty((n_side, chn), np.float64)
    x_exact = np.empty(n_side, np.bool_)

    t_cnt = np.empty(nt, np.int64)
    t_w = np.empty(nt, np.float64)
    t_imp = np.empty(nt, np.float64)
    t_val = np.zeros((nt, cv), np.float64)
    t_slot = np.full(nt, -1, np.int64)
    t_repl = np.zeros(nt, np.int64)
    t_end = np.zeros(nt, np.int64)

    subs = List()
    subs.append(empty_tree(P))  # index 0: "not rebuilt"
    S = make_scratch(P, count[0])
    s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]
    rbuf = S[15]
    rowbuf = np.empty(1, np.int32)  # grown to the largest node gathered
    dummy = np.empty(cv, np.float64)
    is_reg = P[P_REG] != 0
    skip_until = -1
    dropped = 0
    n_rebuilt = 0
    retrained = 0
    for ii in range(nt):
        ti = perm[ii]
        v = touched[ti]
        if v < skip_until:
            continue  # inside a subtree rebuilt above
        s0 = start[v]
        c0 = count[v]
        a = np.searchsorted(qs, s0)
        b = np.searchsorted(qs, s0 + c0)
        m1 = c0 - (b - a)
        depth = tdep[ti]
        key = tkey[ti]
        t_cnt[ti] = m1
        if rowbuf.shape[0] < c0:
            rowbuf = np.empty(c0, np.int32)
        if feature[v] < 0:
            n = _gather(order, s0, c0, removed, rowbuf)
            node_totals(rowbuf[:n], n, yk, yr, w, P, thi, tlo)
            t_w[ti], t_imp[ti] = node_summary(thi, P, t_val[ti])
            continue
        sl = slot[v]
        sd = t_side[ti]
        need_eval = True
        gathered = False
        split = False
        f = -1
        t = np.float32(0.0)
        exact = True
        if sl >= 0:
            x_feat[sd] = c_feat[sl]
            x_ncand[sd] = c_ncand[sl]
            x_thr[sd] = c_thr[sl]
            x_eq[sd] = c_eq[sl]
            x_lcnt[sd] = c_lcnt[sl]
            x_lhi[sd] = c_lhi[sl]
            x_llo[sd] = c_llo[sl]
            x_thi[sd] = c_thi[sl]
            x_tlo[sd] = c_tlo[sl]
            ok = c_exact[sl]
            for jq in range(a, b):
                p = order[qs[jq]]
                ok &= add_row(x_thi[sd], x_tlo[sd], p, -1.0, yk, yr, w, is_reg, True)
                for s in range(KF):
                    fs = x_feat[sd, s]
                    if fs < 0:
                        break
                    xv = X[p, fs]
                    for j in range(x_ncand[sd, s]):
                        if xv <= x_thr[sd, s, j]:
                            x_lcnt[sd, s, j] -= 1
                            ok &= add_row(
                                x_lhi[sd, s, j],
                                x_llo[sd, s, j],
                                p,
                                -1.0,
                                yk,
                                yr,
                                w,
                                is_reg,
                                False,
                            )
                            if xv == x_thr[sd, s, j]:
                                x_eq[sd, s, j] -= 1
            dirty = False
            for s in range(KF):
                if x_feat[sd, s] < 0:
                    break
                for j in range(x_ncand[sd, s]):
                    nl = x_lcnt[sd, s, j]
                    if x_eq[sd, s, j] == 0 or nl < msl or m1 - nl < msl:
                        dirty = True
            if ok and not dirty:
                need_eval = False
                if m1 < mss or is_pure(x_thi[sd], P):
                    split = False
                elif depth < rd:
                    split = True
                    f = feature[v]
                    t = threshold[v]
                else:
                    split, f, t = best_split(
                        x_feat[sd],
                        x_ncand[sd],
                        x_thr[sd],
                        x_lcnt[sd],
                        x_lhi[sd],
                        x_llo[sd],
                        x_thi[sd],
                        x_tlo[sd],
                        m1,
                        P,
                        rbuf,
                    )
                x_exact[sd] = True
                t_w[ti], t_imp[ti] = node_summary(x_thi[sd], P, dummy)
        if need_eval:
            n = _gather(order, s0, c0, removed, rowbuf)
            rowbuf[:n].sort()  # a node's range is its children's, one after the other
            gathered = True
            split, f, t, exact = eval_node(rowbuf[:n], n, key, depth, X, Xb, yk, yr, w, P, S)
            t_w[ti], t_imp[ti] = node_summary(thi, P, dummy)
        if split and f == feature[v] and t == threshold[v]:
            if depth < rd or m1 >= cache_min:
                if need_eval:
                    x_feat[sd] = s_feat
                    x_ncand[sd] = s_ncand
                    x_thr[sd] = s_thr
                    x_eq[sd] = s_eq
                    x_lcnt[sd] = s_lcnt
                    x_lhi[sd] = s_lhi
                    x_llo[sd] = s_llo
                    x_thi[sd] = thi
                    x_tlo[sd] = tlo
                    x_exact[sd] = exact
                t_slot[ti] = sd
            else:
                dropped += int(sl >= 0)
            continue
        if not gathered:
            n = _gather(order, s0, c0, removed, rowbuf)
            rowbuf[:n].sort()
        subs.append(build_subtree(rowbuf[:n], depth, key, X, Xb, yk, yr, w, P))
        t_repl[ti] = len(subs) - 1
        t_end[ti] = subtree_end(feature, right, v)
        skip_until = t_end[ti]
        n_rebuilt += 1
        retrained += m1

    # 3. Assemble the new tree in preorder.
    newid = np.empty(N, np.int32)
    u = 0
    n_out = 0
    s_out = 0
    while u < N:
        ti = tix[u]
        if ti >= 0 and t_repl[ti] > 0:
            sub = subs[t_repl[ti]]
            newid[u] = n_out
            n_out += sub[0].shape[0]
            s_out += sub[11].shape[0]
            u = t_end[ti]
            continue
        newid[u] = n_out
        n_out += 1
        if (t_slot[ti] >= 0) if ti >= 0 else (slot[u] >= 0):
            s_out += 1
        u += 1

    # Without a rebuilt subtree or a dropped slot the shape of the tree is unchanged: share its
    # arrays (never written) instead of copying them.
    static = n_rebuilt == 0 and dropped == 0
    if static:
        o_feature, o_threshold, o_left, o_right, o_slot = feature, threshold, left, right, slot
    else:
        o_feature = np.empty(n_out, np.int32)
        o_threshold = np.empty(n_out, np.float32)
        o_left = np.empty(n_out, np.int32)
        o_right = np.empty(n_out, np.int32)
        o_slot = np.empty(n_out, np.int32)
    o_start = np.empty(n_out, np.int32)
    o_count = np.empty(n_out, np.int32)
    o_wsum = np.empty(n_out, np.float64)
    o_impurity = np.empty(n_out, np.float64)
    o_value = np.empty((n_out, cv), np.float64)
    o_order = np.empty(order.shape[0] - r, np.int32)
    o_feat = np.empty((s_out, KF), np.int32)
    o_ncand = np.empty((s_out, KF), np.int32)
    o_thr = np.empty((s_out, KF, KT), np.float32)
    o_eq = np.empty((s_out, KF, KT), np.int32)
    o_lcnt = np.empty((s_out, KF, KT), np.int32)
    o_lhi = np.empty((s_out, KF, KT, chc), np.float64)
    o_llo = np.empty((s_out, KF, KT, chc), np.float64)
    o_thi = np.empty((s_out, chn), np.float64)
    o_tlo = np.empty((s_out, chn), np.float64)
    o_exact = np.empty(s_out, np.bool_)

    # Rows: the old order without the removed entries (rebuilt ranges overwritten below).
    prev = 0
    pos = 0
    for i in range(r):
        seg = qs[i] - prev
        o_order[pos : pos + seg] = order[prev : qs[i]]
        pos += seg
        prev = qs[i] + 1
    o_order[pos:] = order[prev:]

    u = 0
    o = 0
    so = 0
    while u < N:
        ti = tix[u]
        new_start = start[u] - np.searchsorted(qs, start[u])
        if ti >= 0 and t_repl[ti] > 0:
            (
                sf,
                sth,
                sle,
                sri,
                sst,
                sco,
                ssl,
                swe,
                sim,
                sva,
                sor,
                sfe,
                snc,
                sthr,
                seq,
                slc,
                slh,
                sll,
                sth2,
                stl,
                sex,
            ) = subs[t_repl[ti]]
            for i in range(sf.shape[0]):
                k = o + i
                o_feature[k] = sf[i]
                o_threshold[k] = sth[i]
                o_left[k] = sle[i] + o if sle[i] >= 0 else -1
                o_right[k] = sri[i] + o if sri[i] >= 0 else -1
                o_start[k] = sst[i] + new_start
                o_count[k] = sco[i]
                o_wsum[k] = swe[i]
                o_impurity[k] = sim[i]
                o_value[k] = sva[i]
                j = ssl[i]
                if j >= 0:
                    o_feat[so] = sfe[j]
                    o_ncand[so] = snc[j]
                    o_thr[so] = sthr[j]
                    o_eq[so] = seq[j]
                    o_lcnt[so] = slc[j]
                    o_lhi[so] = slh[j]
                    o_llo[so] = sll[j]
                    o_thi[so] = sth2[j]
                    o_tlo[so] = stl[j]
                    o_exact[so] = sex[j]
                    o_slot[k] = so
                    so += 1
                else:
                    o_slot[k] = -1
            o_order[new_start : new_start + sor.shape[0]] = sor
            o += sf.shape[0]
            u = t_end[ti]
            continue
        if not static:
            o_feature[o] = feature[u]
            o_threshold[o] = threshold[u]
            if feature[u] >= 0:
                o_left[o] = newid[left[u]]
                o_right[o] = newid[right[u]]
            else:
                o_left[o] = -1
                o_right[o] = -1
            o_slot[o] = -1
        o_start[o] = new_start
        if ti >= 0:
            o_count[o] = t_cnt[ti]
            o_wsum[o] = t_w[ti]
            o_impurity[o] = t_imp[ti]
            if feature[u] < 0:
                o_value[o] = t_val[ti]
            else:
                o_value[o] = value[u]
            sd = t_slot[ti]
            if sd >= 0:
                o_feat[so] = x_feat[sd]
                o_ncand[so] = x_ncand[sd]
                o_thr[so] = x_thr[sd]
                o_eq[so] = x_eq[sd]
                o_lcnt[so] = x_lcnt[sd]
                o_lhi[so] = x_lhi[sd]
                o_llo[so] = x_llo[sd]
                o_thi[so] = x_thi[sd]
                o_tlo[so] = x_tlo[sd]
                o_exact[so] = x_exact[sd]
                if not static:
                    o_slot[o] = so
                so += 1
        else:
            o_count[o] = count[u]
            o_wsum[o] = wsum[u]
            o_impurity[o] = impurity[u]
            o_value[o] = value[u]
            sl = slot[u]
            if sl >= 0:
                o_feat[so] = c_feat[sl]
                o_ncand[so] = c_ncand[sl]
                o_thr[so] = c_thr[sl]
                o_eq[so] = c_eq[sl]
                o_lcnt[so] = c_lcnt[sl]
                o_lhi[so] = c_lhi[sl]
                o_llo[so] = c_llo[sl]
                o_thi[so] = c_thi[sl]
                o_tlo[so] = c_tlo[sl]
                o_exact[so] = c_exact[sl]
                if not static:
                    o_slot[o] = so
                so += 1
        o += 1
        u += 1
    new_tree = (
        o_feature,
        o_threshold,
        o_left,
        o_right,
        o_start,
        o_count,
        o_slot,
        o_wsum,
        o_impurity,
        o_value,
        o_order,
        o_feat,
        o_ncand,
        o_thr,
        o_eq,
        o_lcnt,
        o_lhi,
        o_llo,
        o_thi,
        o_tlo,
        o_exact,
    )
    return new_tree, n_rebuilt, retrained
