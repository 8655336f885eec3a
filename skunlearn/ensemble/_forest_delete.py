"""Forgetting rows in one tree of the unlearnable forest: the compiled kernels.

:func:`plan_tree` walks the paths of the removed rows and visits the nodes on them from the
root down. At a node with cached statistics (a slot) the removed rows are subtracted; the
chosen split provably stays the choice of a fresh fit unless a candidate value vanished, a
candidate lost its validity, or an addition was inexact, and those cases re-evaluate the node
from its retained rows. A node without a slot is re-evaluated from its rows (it has fewer than
``cache_min``). Where the split a fresh fit would choose differs, the subtree is rebuilt by
:func:`build_subtree` from the node's retained rows. Leaves recompute their value.

The plan writes into nothing the tree holds; :func:`commit_tree` applies it, in place, once
every tree of the request has its plan. A tree whose shape is unchanged (:data:`STATIC`) is
patched at the visited nodes; otherwise the new tree is laid out in preorder from the untouched
nodes, the updated ones and the rebuilt subtrees, with slots renumbered in preorder, exactly as
``fit`` lays out the tree it grows on the retained rows: over the old arrays in one forward
sweep when no write lands ahead of a read still to come (:data:`INPLACE`, the caller then cuts
the arrays to the new sizes), or in new arrays (:data:`NEW`, allocated by the plan). ``order``
is always rewritten in place and keeps its length (a ``-1`` tail for the forgotten rows).
"""

import numpy as np
from numba import njit
from numba.typed import List

from skunlearn.ensemble._forest_build import (
    COUNTS,
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
    sum_mode,
)
from skunlearn.ensemble._forest_hash import child_key, root_key

# What a plan does to its tree: patch it (same shape), write the new tree over it, or replace
# its node arrays by new ones.
STATIC, INPLACE, NEW = 0, 1, 2


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
def plan_tree(tree, rem, removed, seed, X, Xb, yk, yr, w, P):
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
        _wsum,
        _impurity,
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

    # 1. The paths of the removed rows, and where each sits in ``order``. Path nodes are
    # collected with repeats, then sorted and deduplicated: no array of the tree's size.
    pcap = 64
    pv = np.empty(pcap, np.int64)
    pkey = np.empty(pcap, np.uint64)
    pdep = np.empty(pcap, np.int64)
    npth = 0
    q = np.empty(r, np.int64)
    rk = root_key(seed)
    for i in range(r):
        p = rem[i]
        v = 0
        key = rk
        d = 0
        while True:
            if npth == pcap:
                pcap *= 2
                pv = _grow(pv, pcap)
                pkey = _grow(pkey, pcap)
                pdep = _grow(pdep, pcap)
            pv[npth] = v
            pkey[npth] = key
            pdep[npth] = d
            npth += 1
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
    pord = np.argsort(pv[:npth], kind="mergesort")
    touched = np.empty(npth, np.int64)
    tkey = np.empty(npth, np.uint64)
    tdep = np.empty(npth, np.int64)
    nt = 0
    for ii in range(npth):
        j = pord[ii]
        if nt > 0 and touched[nt - 1] == pv[j]:
            continue
        touched[nt] = pv[j]
        tkey[nt] = pkey[j]
        tdep[nt] = pdep[j]
        nt += 1
    touched = touched[:nt]

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
    # Sized for the nodes without statistics; grown if a larger node must be re-evaluated.
    S = make_scratch(P, min(count[0], cache_min))
    s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]
    rbuf = S[15]
    rowbuf = np.empty(1, np.int32)  # grown to the largest node gathered
    dummy = np.empty(cv, np.float64)
    mode = sum_mode(P)
    skip_until = -1
    dropped = 0
    n_rebuilt = 0
    retrained = 0
    for ti in range(nt):
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
        sorted_rows = False
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
                ok &= add_row(x_thi[sd], x_tlo[sd], p, -1.0, yk, yr, w, mode, True)
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
                                mode,
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
            # A node's range is its children's, one after the other: sorted, the rows are in
            # position order, which sums that may round need. Integer class counts are exact
            # in any order, and so is the rest of the evaluation: sort only to rebuild.
            sorted_rows = mode != COUNTS
            if sorted_rows:
                rowbuf[:n].sort()
            gathered = True
            if S[10].shape[0] < n:
                S = make_scratch(P, n)
                s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]
                rbuf = S[15]
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
        elif not sorted_rows:
            rowbuf[:n].sort()
        subs.append(build_subtree(rowbuf[:n], depth, key, X, Xb, yk, yr, w, P))
        t_repl[ti] = len(subs) - 1
        t_end[ti] = subtree_end(feature, right, v)
        skip_until = t_end[ti]
        n_rebuilt += 1
        retrained += m1

    no_i = np.empty(0, np.int64)
    if n_rebuilt == 0 and dropped == 0:
        # The shape of the tree is unchanged: :func:`commit_tree` patches it in place.
        return (
            STATIC,
            qs,
            touched,
            t_cnt,
            t_w,
            t_imp,
            t_val,
            t_slot,
            (x_feat, x_ncand, x_thr, x_eq, x_lcnt, x_lhi, x_llo, x_thi, x_tlo, x_exact),
            empty_tree(P),
            np.empty(0, np.int32),
            t_repl,
            t_end,
            np.empty(0, np.int32),
            no_i,
            no_i,
            0,
            0,
            n_rebuilt,
            retrained,
            no_i,
        )

    # 3. The layout of the new tree in preorder: new ids of the old nodes, and whether the new
    # arrays can be written over the old ones in one forward sweep (no write ahead of a read
    # still to come), which saves allocating and filling arrays of the tree's size.
    tix = np.full(N, -1, np.int32)
    for ti in range(nt):
        tix[touched[ti]] = ti
    n_sub = len(subs) - 1
    sub_n0 = np.zeros(n_sub + 1, np.int64)  # offsets of the subtrees, concatenated
    sub_s0 = np.zeros(n_sub + 1, np.int64)
    sub_r0 = np.zeros(n_sub + 1, np.int64)
    for k in range(n_sub):
        sub = subs[k + 1]
        sub_n0[k + 1] = sub_n0[k] + sub[0].shape[0]
        sub_s0[k + 1] = sub_s0[k] + sub[11].shape[0]
        sub_r0[k + 1] = sub_r0[k] + sub[10].shape[0]
    newid = np.empty(N, np.int32)
    u = 0
    n_out = 0
    s_out = 0
    s_old = 0  # old slots before u (slots ascend in preorder)
    inplace = True
    while u < N:
        ti = tix[u]
        if ti >= 0 and t_repl[ti] > 0:
            k = t_repl[ti] - 1
            newid[u] = n_out
            n_out += sub_n0[k + 1] - sub_n0[k]
            s_out += sub_s0[k + 1] - sub_s0[k]
            for j in range(u, t_end[ti]):
                s_old += int(slot[j] >= 0)
            u = t_end[ti]
            inplace &= n_out <= u and s_out <= s_old
            continue
        newid[u] = n_out
        inplace &= n_out <= u and s_out <= s_old
        n_out += 1
        if (t_slot[ti] >= 0) if ti >= 0 else (slot[u] >= 0):
            s_out += 1
        s_old += int(slot[u] >= 0)
        u += 1

    cat = _concat(subs, sub_n0, sub_s0, sub_r0, P)
    x = (x_feat, x_ncand, x_thr, x_eq, x_lcnt, x_lhi, x_llo, x_thi, x_tlo, x_exact)
    if inplace:
        new_tree = empty_tree(P)
    else:
        new_tree = _alloc_tree(n_out, s_out, order, P, cv)
        _sweep(
            tree,
            new_tree,
            qs,
            tix,
            newid,
            t_repl,
            t_end,
            t_cnt,
            t_w,
            t_imp,
            t_val,
            t_slot,
            x,
            cat,
            sub_n0,
            sub_s0,
            False,
        )
    return (
        INPLACE if inplace else NEW,
        qs,
        touched,
        t_cnt,
        t_w,
        t_imp,
        t_val,
        t_slot,
        x,
        cat if inplace else new_tree,  # what commit_tree sweeps in, or the new tree
        newid,
        t_repl,
        t_end,
        cat[10],
        sub_n0,
        sub_s0,
        n_out,
        s_out,
        n_rebuilt,
        retrained,
        sub_r0,
    )


@njit(cache=True, nogil=True)
def _concat(subs, sub_n0, sub_s0, sub_r0, P):
    """The rebuilt subtrees (``subs[1:]``) concatenated field by field (ids stay relative)."""
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    cv = 1 if P[P_REG] else P[P_C]
    nn, ns, nr = sub_n0[-1], sub_s0[-1], sub_r0[-1]
    cat = (
        np.empty(nn, np.int32),
        np.empty(nn, np.float32),
        np.empty(nn, np.int32),
        np.empty(nn, np.int32),
        np.empty(nn, np.int32),
        np.empty(nn, np.int32),
        np.empty(nn, np.int32),
        np.empty(nn, np.float64),
        np.empty(nn, np.float64),
        np.empty((nn, cv), np.float64),
        np.empty(nr, np.int32),
        np.empty((ns, KF), np.int32),
        np.empty((ns, KF), np.int32),
        np.empty((ns, KF, KT), np.float32),
        np.empty((ns, KF, KT), np.int32),
        np.empty((ns, KF, KT), np.int32),
        np.empty((ns, KF, KT, chc), np.float64),
        np.empty((ns, KF, KT, chc), np.float64),
        np.empty((ns, chn), np.float64),
        np.empty((ns, chn), np.float64),
        np.empty(ns, np.bool_),
    )
    for k in range(len(subs) - 1):
        sub = subs[k + 1]
        a, b = sub_n0[k], sub_n0[k + 1]
        cat[0][a:b] = sub[0]
        cat[1][a:b] = sub[1]
        cat[2][a:b] = sub[2]
        cat[3][a:b] = sub[3]
        cat[4][a:b] = sub[4]
        cat[5][a:b] = sub[5]
        cat[6][a:b] = sub[6]
        cat[7][a:b] = sub[7]
        cat[8][a:b] = sub[8]
        cat[9][a:b] = sub[9]
        cat[10][sub_r0[k] : sub_r0[k + 1]] = sub[10]
        a, b = sub_s0[k], sub_s0[k + 1]
        cat[11][a:b] = sub[11]
        cat[12][a:b] = sub[12]
        cat[13][a:b] = sub[13]
        cat[14][a:b] = sub[14]
        cat[15][a:b] = sub[15]
        cat[16][a:b] = sub[16]
        cat[17][a:b] = sub[17]
        cat[18][a:b] = sub[18]
        cat[19][a:b] = sub[19]
        cat[20][a:b] = sub[20]
    return cat


@njit(cache=True, nogil=True)
def _alloc_tree(n_out, s_out, order, P, cv):
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    return (
        np.empty(n_out, np.int32),
        np.empty(n_out, np.float32),
        np.empty(n_out, np.int32),
        np.empty(n_out, np.int32),
        np.empty(n_out, np.int32),
        np.empty(n_out, np.int32),
        np.empty(n_out, np.int32),
        np.empty(n_out, np.float64),
        np.empty(n_out, np.float64),
        np.empty((n_out, cv), np.float64),
        order,
        np.empty((s_out, KF), np.int32),
        np.empty((s_out, KF), np.int32),
        np.empty((s_out, KF, KT), np.float32),
        np.empty((s_out, KF, KT), np.int32),
        np.empty((s_out, KF, KT), np.int32),
        np.empty((s_out, KF, KT, chc), np.float64),
        np.empty((s_out, KF, KT, chc), np.float64),
        np.empty((s_out, chn), np.float64),
        np.empty((s_out, chn), np.float64),
        np.empty(s_out, np.bool_),
    )


@njit(cache=True, nogil=True)
def _copy_slots(tree, out, src, dst, n, inplace):
    """Copy slots ``src:src + n`` of ``tree`` to ``dst:dst + n`` of ``out`` (a forward move
    when ``out`` is ``tree``; numba copies overlapping sources first)."""
    if n == 0 or (inplace and src == dst):
        return
    out[11][dst : dst + n] = tree[11][src : src + n]
    out[12][dst : dst + n] = tree[12][src : src + n]
    out[13][dst : dst + n] = tree[13][src : src + n]
    out[14][dst : dst + n] = tree[14][src : src + n]
    out[15][dst : dst + n] = tree[15][src : src + n]
    out[16][dst : dst + n] = tree[16][src : src + n]
    out[17][dst : dst + n] = tree[17][src : src + n]
    out[18][dst : dst + n] = tree[18][src : src + n]
    out[19][dst : dst + n] = tree[19][src : src + n]
    out[20][dst : dst + n] = tree[20][src : src + n]


@njit(cache=True, nogil=True)
def _sweep(
    tree,
    out,
    qs,
    tix,
    newid,
    t_repl,
    t_end,
    t_cnt,
    t_w,
    t_imp,
    t_val,
    t_slot,
    x,
    cat,
    sub_n0,
    sub_s0,
    inplace,
):
    """Write the new tree into ``out`` in preorder: the old nodes (patched where touched) and
    the rebuilt subtrees. ``out`` may be ``tree`` itself when the plan found that no write
    lands ahead of a read still to come. Returns the number of nodes and slots written."""
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
        _order,
        _c_feat,
        _c_ncand,
        _c_thr,
        _c_eq,
        _c_lcnt,
        _c_lhi,
        _c_llo,
        _c_thi,
        _c_tlo,
        _c_exact,
    ) = tree
    (
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
        _,
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
    ) = out
    x_feat, x_ncand, x_thr, x_eq, x_lcnt, x_lhi, x_llo, x_thi, x_tlo, x_exact = x
    cv = value.shape[1]
    N = feature.shape[0]
    r = qs.shape[0]
    u = 0
    o = 0
    so = 0
    kq = 0
    run_src = 0
    run_dst = 0
    run_n = 0
    while u < N:
        ti = tix[u]
        while kq < r and qs[kq] < start[u]:
            kq += 1
        new_start = start[u] - kq
        if ti >= 0 and t_repl[ti] > 0:
            k = t_repl[ti] - 1
            n0 = sub_n0[k]
            s0 = sub_s0[k]
            for i in range(sub_n0[k + 1] - n0):
                kk = o + i
                j = n0 + i
                o_feature[kk] = cat[0][j]
                o_threshold[kk] = cat[1][j]
                o_left[kk] = cat[2][j] + o if cat[2][j] >= 0 else -1
                o_right[kk] = cat[3][j] + o if cat[3][j] >= 0 else -1
                o_start[kk] = cat[4][j] + new_start
                o_count[kk] = cat[5][j]
                o_wsum[kk] = cat[7][j]
                o_impurity[kk] = cat[8][j]
                for c in range(cv):
                    o_value[kk, c] = cat[9][j, c]
                js = cat[6][j]
                if js >= 0:
                    js += s0
                    _copy_slots(tree, out, run_src, run_dst, run_n, inplace)
                    run_n = 0
                    o_feat[so] = cat[11][js]
                    o_ncand[so] = cat[12][js]
                    o_thr[so] = cat[13][js]
                    o_eq[so] = cat[14][js]
                    o_lcnt[so] = cat[15][js]
                    o_lhi[so] = cat[16][js]
                    o_llo[so] = cat[17][js]
                    o_thi[so] = cat[18][js]
                    o_tlo[so] = cat[19][js]
                    o_exact[so] = cat[20][js]
                    o_slot[kk] = so
                    so += 1
                else:
                    o_slot[kk] = -1
            o += sub_n0[k + 1] - n0
            u = t_end[ti]
            continue
        f = feature[u]
        sl = slot[u]
        o_feature[o] = f
        o_threshold[o] = threshold[u]
        if f >= 0:
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
            if f < 0:
                for c in range(cv):
                    o_value[o, c] = t_val[ti, c]
            else:
                for c in range(cv):
                    o_value[o, c] = value[u, c]
            sd = t_slot[ti]
            if sd >= 0:
                _copy_slots(tree, out, run_src, run_dst, run_n, inplace)
                run_n = 0
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
                o_slot[o] = so
                so += 1
        else:
            o_count[o] = count[u]
            o_wsum[o] = wsum[u]
            o_impurity[o] = impurity[u]
            for c in range(cv):
                o_value[o, c] = value[u, c]
            if sl >= 0:
                # Untouched slots move in runs, copied a run at a time.
                if run_n > 0 and sl == run_src + run_n and so == run_dst + run_n:
                    run_n += 1
                else:
                    _copy_slots(tree, out, run_src, run_dst, run_n, inplace)
                    run_src, run_dst, run_n = sl, so, 1
                o_slot[o] = so
                so += 1
        o += 1
        u += 1
    _copy_slots(tree, out, run_src, run_dst, run_n, inplace)
    return o, so


@njit(cache=True, nogil=True)
def _zero_tail(tree, n_out, s_out):
    """Zero the nodes and slots past the new end (they are cut off by the caller): no value of
    the old subtrees stays behind in memory."""
    tree[0][n_out:] = -1
    tree[1][n_out:] = 0.0
    tree[2][n_out:] = -1
    tree[3][n_out:] = -1
    tree[4][n_out:] = 0
    tree[5][n_out:] = 0
    tree[6][n_out:] = -1
    tree[7][n_out:] = 0.0
    tree[8][n_out:] = 0.0
    tree[9][n_out:] = 0.0
    tree[11][s_out:] = -1
    tree[12][s_out:] = 0
    tree[13][s_out:] = 0.0
    tree[14][s_out:] = 0
    tree[15][s_out:] = 0
    tree[16][s_out:] = 0.0
    tree[17][s_out:] = 0.0
    tree[18][s_out:] = 0.0
    tree[19][s_out:] = 0.0
    tree[20][s_out:] = False


@njit(cache=True, nogil=True)
def commit_tree(tree, plan, compact):
    """Apply ``plan`` (from :func:`plan_tree`) to ``tree``: rewrite its ``order`` in place and
    patch its node and slot arrays in place (:data:`STATIC`: same shape; :data:`INPLACE`: the
    new tree written over the old one, whose first ``n_out`` nodes and ``s_out`` slots the
    caller keeps). With :data:`NEW` the plan holds the new node arrays.

    ``order`` keeps the length it had at fit: the live rows come first (``count[0]`` of them)
    and the tail left by forgotten rows holds -1, so that the array says nothing about which
    rows were forgotten.
    """
    feature = tree[0]
    start = tree[4]
    count = tree[5]
    slot = tree[6]
    wsum = tree[7]
    impurity = tree[8]
    value = tree[9]
    order = tree[10]
    kind, qs, touched, t_cnt, t_w, t_imp, t_val, t_slot, x = plan[:9]
    newid, t_repl, t_end, rows, sub_n0, sub_s0, n_out, s_out = plan[10:18]
    cat = plan[9]
    sub_r0 = plan[20]
    r = qs.shape[0]
    n_live = count[0]
    if compact:
        # Drop the removed entries (a forward copy: the write index never passes the read
        # index). A few entries are dropped by the caller instead, with memmove.
        pos = 0
        prev = 0
        for i in range(r + 1):
            end = qs[i] if i < r else n_live
            for j in range(prev, end):
                order[pos] = order[j]
                pos += 1
            prev = end + 1
        for j in range(n_live - r, n_live):
            order[j] = -1
    if kind != STATIC:
        # Rows of the rebuilt subtrees, at the new starts of their roots.
        kq = 0
        for ti in range(touched.shape[0]):
            if t_repl[ti] > 0:
                v = touched[ti]
                while kq < r and qs[kq] < start[v]:
                    kq += 1
                s0 = start[v] - kq
                kk = t_repl[ti] - 1
                a = sub_r0[kk]
                for j in range(sub_r0[kk + 1] - a):
                    order[s0 + j] = rows[a + j]
        if kind == INPLACE:
            tix = np.full(feature.shape[0], -1, np.int32)
            for ti in range(touched.shape[0]):
                tix[touched[ti]] = ti
            _sweep(
                tree,
                tree,
                qs,
                tix,
                newid,
                t_repl,
                t_end,
                t_cnt,
                t_w,
                t_imp,
                t_val,
                t_slot,
                x,
                cat,
                sub_n0,
                sub_s0,
                True,
            )
            _zero_tail(tree, n_out, s_out)
        return
    # Node starts shift down by the removed entries before them (starts ascend in preorder).
    # The nodes past a removed entry form a suffix of the preorder: shift by slices, from the
    # last entry back (so that the starts searched are not yet shifted by smaller entries).
    for k in range(r - 1, -1, -1):
        u0 = np.searchsorted(start, qs[k], side="right")
        start[u0:] -= 1
    x_feat, x_ncand, x_thr, x_eq, x_lcnt, x_lhi, x_llo, x_thi, x_tlo, x_exact = x
    c_feat, c_ncand, c_thr, c_eq, c_lcnt = tree[11], tree[12], tree[13], tree[14], tree[15]
    c_lhi, c_llo, c_thi, c_tlo, c_exact = tree[16], tree[17], tree[18], tree[19], tree[20]
    for ti in range(touched.shape[0]):
        v = touched[ti]
        count[v] = t_cnt[ti]
        wsum[v] = t_w[ti]
        impurity[v] = t_imp[ti]
        if feature[v] < 0:
            value[v] = t_val[ti]
        sd = t_slot[ti]
        if sd >= 0:
            sl = slot[v]
            c_feat[sl] = x_feat[sd]
            c_ncand[sl] = x_ncand[sd]
            c_thr[sl] = x_thr[sd]
            c_eq[sl] = x_eq[sd]
            c_lcnt[sl] = x_lcnt[sd]
            c_lhi[sl] = x_lhi[sd]
            c_llo[sl] = x_llo[sd]
            c_thi[sl] = x_thi[sd]
            c_tlo[sl] = x_tlo[sd]
            c_exact[sl] = x_exact[sd]
