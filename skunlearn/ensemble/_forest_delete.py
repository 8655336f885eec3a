"""Forgetting rows in one tree of the unlearnable forest: the compiled kernels.

:func:`plan_tree` walks the paths of the removed rows and visits the nodes on them from the
root down. At a node with cached statistics (a slot) the removed rows are subtracted; the
chosen split provably stays the choice of a fresh fit unless a candidate value vanished, a
candidate lost its validity, or an addition was inexact, and those cases re-evaluate the node
from its retained rows. A node without a slot is re-evaluated from its rows (it has fewer than
``cache_min``). Where the split a fresh fit would choose differs, the subtree is rebuilt by
:func:`build_subtree` from the node's retained rows. Leaves recompute their value.

The plan writes into nothing the tree holds; :func:`commit_tree` applies it, in place, once
every tree of the request has its plan. Node ids need not follow preorder (only the links say
where a node sits), so that a request costs what its paths and rebuilt subtrees cost, not the
size of the tree: a rebuilt subtree keeps the id of its root, takes the ids its old subtree
freed, then ids past the last one in use (:data:`PATCH`). Freed ids and slots are wiped (no
value of the old subtree stays in memory) and counted in ``meta``. When the arrays have no
room left, the plan lays the new tree out afresh in preorder, without free ids, in new arrays
with some room to spare (:data:`NEW`): rare, and it also reclaims the free ids.
:func:`compact_tree` gives that canonical layout of any tree, which is exactly what ``fit``
grows on the same rows (pickles and comparisons use it). ``order`` is always rewritten in place
and keeps its length (a ``-1`` tail for the forgotten rows).
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
    add_row_at,
    best_split,
    build_subtree,
    eval_node,
    feature_candidates,
    feature_stats,
    has_slot,
    is_pure,
    low_channels,
    make_scratch,
    n_channels,
    node_summary,
    node_totals,
    order_free,
    sum_mode,
)
from skunlearn.ensemble._forest_hash import child_key, feature_hash, root_key

# What a plan does to its tree: patch it in place, or replace its node and slot arrays.
PATCH, NEW = 0, 1
# Sort key of a touched node: depth first, then id (parents come before their children).
_DEPTH_KEY = np.int64(1) << 32


@njit(cache=True, nogil=True)
def empty_tree(P):
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
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
        np.empty((0, KF, KT, lc), np.float64),
        np.empty((0, chn), np.float64),
        np.empty((0, ln), np.float64),
        np.empty(0, np.bool_),
        np.zeros(4, np.int64),
    )


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
def _rows_to_evaluate(order, s0, c0, removed, rowbuf, any_order, S, P):
    """The node's retained rows gathered into ``rowbuf`` and how many, and scratch ``S`` large
    enough to evaluate them.

    A node's range is its children's, one after the other: sorted, the rows are in position
    order, which sums that may round need. Integer class counts are exact in any order, and
    so is the rest of the evaluation: then they are sorted only to rebuild.
    """
    n = _gather(order, s0, c0, removed, rowbuf)
    if not any_order:
        rowbuf[:n].sort()
    if S[10].shape[0] < n:
        S = make_scratch(P, n)
    return n, S


@njit(cache=True, nogil=True)
def plan_tree(tree, rem, removed, seed, X, Xb, yk, yr, w, P):
    """:func:`_plan_tree` with its plan kept in a numba list, which crosses into Python and
    back to :func:`commit_tree` as one object (the plan holds some seventy arrays, whose
    conversions would cost more than the plan itself for most trees): returns
    ``(plan_box, kind, removed_entries, n_rebuilt, retrained)``."""
    plan = _plan_tree(tree, rem, removed, seed, X, Xb, yk, yr, w, P)
    box = List()
    box.append(plan)
    return box, plan[0], plan[1], plan[21], plan[22]


@njit(cache=True, nogil=True)
def planned_tree(box):
    """The new arrays of a :data:`NEW` plan."""
    return box[0][20]


@njit(cache=True, nogil=True)
def _plan_tree(tree, rem, removed, seed, X, Xb, yk, yr, w, P):
    """Forget rows ``rem`` (ascending positions, all in this tree; ``removed`` is their mask
    over every position) from ``tree``, without writing into it: returns the plan that
    :func:`commit_tree` applies (its kind, what it writes where, and ``n_rebuilt`` and
    ``retrained``, the subtrees rebuilt and their rows).
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
        meta,
    ) = tree
    r = rem.shape[0]
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
    cv = value.shape[1]
    msl, mss, rd, cache_min = P[P_MSL], P[P_MSS], P[P_RD], P[P_CACHE]

    # 1. The paths of the removed rows, and where each sits in ``order``. Path nodes are
    # collected with repeats (and their parents), then sorted by depth and deduplicated: no
    # array of the tree's size.
    pcap = 64
    pv = np.empty(pcap, np.int64)
    pkey = np.empty(pcap, np.uint64)
    pdep = np.empty(pcap, np.int64)
    ppar = np.empty(pcap, np.int64)
    npth = 0
    q = np.empty(r, np.int64)
    rk = root_key(seed)
    for i in range(r):
        p = rem[i]
        v = 0
        key = rk
        d = 0
        parent = -1
        while True:
            if npth == pcap:
                pcap *= 2
                pv = _grow(pv, pcap)
                pkey = _grow(pkey, pcap)
                pdep = _grow(pdep, pcap)
                ppar = _grow(ppar, pcap)
            pv[npth] = v
            pkey[npth] = key
            pdep[npth] = d
            ppar[npth] = parent
            npth += 1
            f = feature[v]
            if f < 0:
                break
            parent = v
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
    psort = pdep[:npth] * _DEPTH_KEY + pv[:npth]
    pord = np.argsort(psort, kind="mergesort")
    touched = np.empty(npth, np.int64)
    tkey = np.empty(npth, np.uint64)
    tdep = np.empty(npth, np.int64)
    tsort = np.empty(npth, np.int64)
    tpar = np.empty(npth, np.int64)
    nt = 0
    for ii in range(npth):
        j = pord[ii]
        if nt > 0 and tsort[nt - 1] == psort[j]:
            continue
        touched[nt] = pv[j]
        tkey[nt] = pkey[j]
        tdep[nt] = pdep[j]
        tsort[nt] = psort[j]
        tpar[nt] = ppar[j]
        nt += 1
    touched = touched[:nt]
    tsort = tsort[:nt]

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
    x_llo = np.empty((n_side, KF, KT, lc), np.float64)
    x_thi = np.empty((n_side, chn), np.float64)
    x_tlo = np.empty((n_side, ln), np.float64)
    x_exact = np.empty(n_side, np.bool_)

    t_cnt = np.empty(nt, np.int64)
    t_w = np.empty(nt, np.float64)
    t_imp = np.empty(nt, np.float64)
    t_val = np.zeros((nt, cv), np.float64)
    t_slot = np.full(nt, -1, np.int64)
    t_repl = np.zeros(nt, np.int64)
    t_skip = np.zeros(nt, np.bool_)  # inside a subtree rebuilt above

    subs = List()
    subs.append(empty_tree(P))  # index 0: "not rebuilt"
    # Sized for the nodes without statistics; grown if a larger node must be re-evaluated.
    S = make_scratch(P, min(count[0], cache_min))
    s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]
    rbuf = S[15]
    rowbuf = np.empty(1, np.int32)  # grown to the largest node gathered
    f_dirty = np.zeros(KF, np.bool_)
    dummy = np.empty(cv, np.float64)
    mode = sum_mode(P, True)  # of the statistics in slots
    any_order = order_free(P)
    dropped = 0
    n_rebuilt = 0
    retrained = 0
    for ti in range(nt):
        v = touched[ti]
        if tdep[ti] > 0:
            up = np.searchsorted(tsort, (tdep[ti] - 1) * _DEPTH_KEY + tpar[ti])
            if t_skip[up] or t_repl[up] > 0:
                t_skip[ti] = True
                continue
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
            node_totals(rowbuf[:n], n, yk, yr, w, sum_mode(P, has_slot(P, depth, n)), thi, tlo)
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
        # A node falling below the size that keeps statistics is summed as a fresh fit sums
        # it (plainly, in position order): it is evaluated from its rows.
        if sl >= 0 and has_slot(P, depth, m1):
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
                    lhi_s = x_lhi[sd, s]
                    llo_s = x_llo[sd, s]
                    for j in range(x_ncand[sd, s]):
                        if xv <= x_thr[sd, s, j]:
                            x_lcnt[sd, s, j] -= 1
                            ok &= add_row_at(lhi_s, llo_s, j, p, -1.0, yk, yr, w, mode)
                            if xv == x_thr[sd, s, j]:
                                x_eq[sd, s, j] -= 1
            # A feature whose candidate value vanished, or whose candidate lost its validity,
            # has new candidates: they are recomputed from the node's rows, for that feature
            # alone (the other features keep theirs: the valid values only shrink, so the
            # candidates still there are still the ones of smallest hash).
            dirty = False
            for s in range(KF):
                f_dirty[s] = False
                if x_feat[sd, s] < 0:
                    break
                for j in range(x_ncand[sd, s]):
                    nl = x_lcnt[sd, s, j]
                    if x_eq[sd, s, j] == 0 or nl < msl or m1 - nl < msl:
                        f_dirty[s] = True
                        dirty = True
            leaf_now = m1 < mss or is_pure(x_thi[sd], P)
            if ok and dirty and not leaf_now:
                n, S = _rows_to_evaluate(order, s0, c0, removed, rowbuf, any_order, S, P)
                gathered = True
                kt = 1 if depth < rd else KT
                for s in range(KF):
                    fd = x_feat[sd, s]
                    if fd < 0:
                        break
                    if not f_dirty[s]:
                        continue
                    x_thr[sd, s] = 0.0
                    x_eq[sd, s] = 0
                    x_lcnt[sd, s] = 0
                    x_lhi[sd, s] = 0.0
                    x_llo[sd, s] = 0.0
                    fh = feature_hash(key, fd)
                    nc = feature_candidates(
                        rowbuf, n, fd, fh, X, Xb, msl, kt, S[10], x_thr[sd, s], S[11]
                    )
                    if nc == 0:  # the feature drops out: another one enters, evaluate all
                        ok = False
                        break
                    x_ncand[sd, s] = nc
                    ok &= feature_stats(
                        rowbuf,
                        n,
                        S[10][:n],
                        yk,
                        yr,
                        w,
                        mode,
                        nc,
                        x_thr[sd, s],
                        x_eq[sd, s],
                        x_lcnt[sd, s],
                        x_lhi[sd, s],
                        x_llo[sd, s],
                        S[12],
                        S[13],
                        S[14],
                    )
                dirty = not ok
            if ok and (leaf_now or not dirty):
                need_eval = False
                if leaf_now:
                    split = False
                elif depth < rd:
                    split = True
                    f = x_feat[sd, 0]
                    t = x_thr[sd, 0, 0]
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
            n, S = _rows_to_evaluate(order, s0, c0, removed, rowbuf, any_order, S, P)
            gathered = True
            s_feat, s_ncand, s_thr, s_eq, s_lcnt, s_lhi, s_llo, thi, tlo = S[:9]
            rbuf = S[15]
            split, f, t, exact = eval_node(rowbuf[:n], n, key, depth, X, Xb, yk, yr, w, P, S)
            t_w[ti], t_imp[ti] = node_summary(thi, P, dummy)
        if split and f == feature[v] and t == threshold[v]:
            if has_slot(P, depth, m1):
                if need_eval:
                    x_feat[sd] = s_feat
                    x_ncand[sd] = s_ncand
                    x_thr[sd] = s_thr
                    x_eq[sd] = s_eq
                    x_lcnt[sd] = s_lcnt
                    x_lhi[sd] = s_lhi
                    if lc:
                        x_llo[sd] = s_llo
                    x_thi[sd] = thi
                    if ln:
                        x_tlo[sd] = tlo
                    x_exact[sd] = exact
                t_slot[ti] = sd
            else:
                dropped += int(sl >= 0)
            continue
        if not gathered:
            n = _gather(order, s0, c0, removed, rowbuf)
            rowbuf[:n].sort()
        elif any_order:  # gathered unsorted
            rowbuf[:n].sort()
        subs.append(build_subtree(rowbuf[:n], depth, key, X, Xb, yk, yr, w, P))
        t_repl[ti] = len(subs) - 1
        n_rebuilt += 1
        retrained += m1

    # 3. Where the rebuilt subtrees go. Each keeps the id of its root; its other nodes take
    # the ids its old subtree freed (ascending), then ids past the last one in use.
    hw, shw, n_free, s_free = meta[0], meta[1], meta[2], meta[3]
    cat, sub_n0, sub_s0, sub_r0 = _concat(subs, P)
    roots = np.empty(n_rebuilt, np.int64)
    for ti in range(nt):
        if t_repl[ti] > 0:
            roots[t_repl[ti] - 1] = touched[ti]
    fn, fs, n_old = _old_subtrees(roots, feature, left, right, slot)
    n_new = sub_n0[-1]
    s_new = sub_s0[-1]
    x = (x_feat, x_ncand, x_thr, x_eq, x_lcnt, x_lhi, x_llo, x_thi, x_tlo, x_exact)
    new_nid = np.empty(n_new, np.int32)
    new_sid = np.empty(s_new, np.int32)
    meta_new = np.empty(4, np.int64)
    fits = n_new - n_rebuilt <= fn.shape[0] + feature.shape[0] - hw
    if fits and s_new <= fs.shape[0] + c_feat.shape[0] - shw:
        kind = PATCH
        new_tree = empty_tree(P)
        jn = 0
        nxt = hw
        for k in range(n_rebuilt):
            new_nid[sub_n0[k]] = roots[k]
            for i in range(sub_n0[k] + 1, sub_n0[k + 1]):
                if jn < fn.shape[0]:
                    new_nid[i] = fn[jn]
                    jn += 1
                else:
                    new_nid[i] = nxt
                    nxt += 1
        js = 0
        snxt = shw
        for i in range(s_new):
            if js < fs.shape[0]:
                new_sid[i] = fs[js]
                js += 1
            else:
                new_sid[i] = snxt
                snxt += 1
        meta_new[0] = nxt
        meta_new[1] = snxt
        meta_new[2] = n_free + fn.shape[0] - jn
        meta_new[3] = s_free + fs.shape[0] - js + dropped
    else:
        # No room left: lay the new tree out in preorder in new arrays, with room to spare.
        kind = NEW
        live_n = hw - n_free - n_old + n_new
        live_s = shw - s_free - fs.shape[0] - dropped + s_new
        new_tree = _alloc_tree(room(live_n), room(live_s), order, P, cv)
        n_out, s_out = _dfs_sweep(
            tree,
            new_tree,
            qs,
            touched,
            t_repl,
            t_cnt,
            t_w,
            t_imp,
            t_val,
            t_slot,
            x,
            cat,
            sub_n0,
            sub_s0,
        )
        meta_new[0] = n_out
        meta_new[1] = s_out
        meta_new[2] = 0
        meta_new[3] = 0
        new_tree[21][:] = meta_new
    return (
        kind,
        qs,
        touched,
        t_cnt,
        t_w,
        t_imp,
        t_val,
        t_slot,
        x,
        t_repl,
        t_skip,
        cat,
        sub_n0,
        sub_s0,
        sub_r0,
        new_nid,
        new_sid,
        fn,
        fs,
        meta_new,
        new_tree,
        n_rebuilt,
        retrained,
    )


@njit(cache=True, nogil=True)
def _old_subtrees(roots, feature, left, right, slot):
    """The ids (other than their roots) and slots of the subtrees at ``roots``, ascending, and
    how many nodes they hold."""
    n = 0
    cap = 64
    ids = np.empty(cap, np.int32)
    slots = np.empty(cap, np.int32)
    ns = 0
    stack = np.empty(64, np.int64)
    n_old = 0
    for k in range(roots.shape[0]):
        stack[0] = roots[k]
        sp = 1
        while sp > 0:
            sp -= 1
            u = stack[sp]
            n_old += 1
            if u != roots[k]:
                if n == ids.shape[0]:
                    ids = _grow(ids, 2 * n)
                ids[n] = u
                n += 1
            if slot[u] >= 0:
                if ns == slots.shape[0]:
                    slots = _grow(slots, 2 * ns)
                slots[ns] = slot[u]
                ns += 1
            if feature[u] >= 0:
                if sp + 2 > stack.shape[0]:
                    stack = _grow(stack, 2 * stack.shape[0])
                stack[sp] = right[u]
                stack[sp + 1] = left[u]
                sp += 2
    return np.sort(ids[:n]), np.sort(slots[:ns]), n_old


@njit(cache=True, nogil=True)
def _concat(subs, P):
    """The rebuilt subtrees (``subs[1:]``) concatenated field by field (ids stay relative),
    and the offsets of their nodes, slots and rows."""
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
    cv = 1 if P[P_REG] else P[P_C]
    n_sub = len(subs) - 1
    sub_n0 = np.zeros(n_sub + 1, np.int64)
    sub_s0 = np.zeros(n_sub + 1, np.int64)
    sub_r0 = np.zeros(n_sub + 1, np.int64)
    for k in range(n_sub):
        sub = subs[k + 1]
        sub_n0[k + 1] = sub_n0[k] + sub[0].shape[0]
        sub_s0[k + 1] = sub_s0[k] + sub[11].shape[0]
        sub_r0[k + 1] = sub_r0[k] + sub[10].shape[0]
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
        np.empty((ns, KF, KT, lc), np.float64),
        np.empty((ns, chn), np.float64),
        np.empty((ns, ln), np.float64),
        np.empty(ns, np.bool_),
    )
    for k in range(n_sub):
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
    return cat, sub_n0, sub_s0, sub_r0


@njit(cache=True, nogil=True)
def _alloc_tree(n_cap, s_cap, order, P, cv):
    """Arrays for ``n_cap`` nodes and ``s_cap`` slots, every one of them free (wiped)."""
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
    return (
        np.full(n_cap, -1, np.int32),
        np.zeros(n_cap, np.float32),
        np.full(n_cap, -1, np.int32),
        np.full(n_cap, -1, np.int32),
        np.zeros(n_cap, np.int32),
        np.zeros(n_cap, np.int32),
        np.full(n_cap, -1, np.int32),
        np.zeros(n_cap, np.float64),
        np.zeros(n_cap, np.float64),
        np.zeros((n_cap, cv), np.float64),
        order,
        np.full((s_cap, KF), -1, np.int32),
        np.zeros((s_cap, KF), np.int32),
        np.zeros((s_cap, KF, KT), np.float32),
        np.zeros((s_cap, KF, KT), np.int32),
        np.zeros((s_cap, KF, KT), np.int32),
        np.zeros((s_cap, KF, KT, chc), np.float64),
        np.zeros((s_cap, KF, KT, lc), np.float64),
        np.zeros((s_cap, chn), np.float64),
        np.zeros((s_cap, ln), np.float64),
        np.zeros(s_cap, np.bool_),
        np.zeros(4, np.int64),
    )


@njit(cache=True, nogil=True)
def _clear_node(tree, u):
    tree[0][u] = -1
    tree[1][u] = 0.0
    tree[2][u] = -1
    tree[3][u] = -1
    tree[4][u] = 0
    tree[5][u] = 0
    tree[6][u] = -1
    tree[7][u] = 0.0
    tree[8][u] = 0.0
    tree[9][u] = 0.0


@njit(cache=True, nogil=True)
def _clear_slot(tree, s):
    tree[11][s] = -1
    tree[12][s] = 0
    tree[13][s] = 0.0
    tree[14][s] = 0
    tree[15][s] = 0
    tree[16][s] = 0.0
    tree[17][s] = 0.0
    tree[18][s] = 0.0
    tree[19][s] = 0.0
    tree[20][s] = False


@njit(cache=True, nogil=True)
def _write_slot(src, si, out, so):
    """Slot ``si`` of the slot arrays ``src`` (a plan's updated slots, or ``tree[11:21]`` of a
    tree or of the concatenated subtrees) into slot ``so`` of the tree ``out``."""
    out[11][so] = src[0][si]
    out[12][so] = src[1][si]
    out[13][so] = src[2][si]
    out[14][so] = src[3][si]
    out[15][so] = src[4][si]
    out[16][so] = src[5][si]
    out[17][so] = src[6][si]
    out[18][so] = src[7][si]
    out[19][so] = src[8][si]
    out[20][so] = src[9][si]


@njit(cache=True, nogil=True)
def _dfs_sweep(
    tree, out, qs, touched, t_repl, t_cnt, t_w, t_imp, t_val, t_slot, x, cat, sub_n0, sub_s0
):
    """Write the tree, with the plan's changes, into ``out`` in depth-first preorder (slots
    numbered in the same order), as ``fit`` lays out the tree it grows; returns the number of
    nodes and slots written. Node starts shift down by the removed entries before them."""
    feature, threshold, left, right, start, count, slot, wsum, impurity, value = tree[:10]
    o_feature, o_threshold, o_left, o_right, o_start, o_count, o_slot = out[:7]
    o_wsum, o_impurity, o_value = out[7], out[8], out[9]
    tix = np.full(feature.shape[0], -1, np.int64)
    for ti in range(touched.shape[0]):
        tix[touched[ti]] = ti
    cv = value.shape[1]
    st_u = np.empty(64, np.int64)
    st_par = np.empty(64, np.int64)
    st_u[0] = 0
    st_par[0] = -1
    sp = 1
    o = 0
    so = 0
    while sp > 0:
        sp -= 1
        u = st_u[sp]
        if st_par[sp] >= 0:
            o_right[st_par[sp]] = o
        new_start = start[u] - np.searchsorted(qs, start[u])
        ti = tix[u]
        if ti >= 0 and t_repl[ti] > 0:
            k = t_repl[ti] - 1
            n0 = sub_n0[k]
            s0 = sub_s0[k]
            for j in range(n0, sub_n0[k + 1]):
                kk = o + j - n0
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
                    _write_slot(cat[11:21], s0 + js, out, so + js)
                    o_slot[kk] = so + js
                else:
                    o_slot[kk] = -1
            o += sub_n0[k + 1] - n0
            so += sub_s0[k + 1] - s0
            continue
        f = feature[u]
        o_feature[o] = f
        o_threshold[o] = threshold[u]
        o_start[o] = new_start
        o_slot[o] = -1
        if ti >= 0:
            o_count[o] = t_cnt[ti]
            o_wsum[o] = t_w[ti]
            o_impurity[o] = t_imp[ti]
            for c in range(cv):
                o_value[o, c] = t_val[ti, c] if f < 0 else value[u, c]
            if t_slot[ti] >= 0:
                _write_slot(x, t_slot[ti], out, so)
                o_slot[o] = so
                so += 1
        else:
            o_count[o] = count[u]
            o_wsum[o] = wsum[u]
            o_impurity[o] = impurity[u]
            for c in range(cv):
                o_value[o, c] = value[u, c]
            if slot[u] >= 0:
                _write_slot(tree[11:21], slot[u], out, so)
                o_slot[o] = so
                so += 1
        if f >= 0:
            o_left[o] = o + 1
            if sp + 2 > st_u.shape[0]:
                st_u = _grow(st_u, 2 * st_u.shape[0])
                st_par = _grow(st_par, 2 * st_par.shape[0])
            st_u[sp] = right[u]
            st_par[sp] = o
            st_u[sp + 1] = left[u]
            st_par[sp + 1] = -1
            sp += 2
        else:
            o_left[o] = -1
            o_right[o] = -1
        o += 1
    return o, so


@njit(cache=True, nogil=True)
def compact_tree(tree, P):
    """The tree in the layout ``fit`` gives it: nodes and slots in depth-first preorder, no
    free ids, arrays of exactly their size (``order`` is shared)."""
    meta = tree[21]
    n, s = meta[0] - meta[2], meta[1] - meta[3]
    cv = tree[9].shape[1]
    out = _alloc_tree(n, s, tree[10], P, cv)
    KF, KT = P[P_KF], P[P_KT]
    chc, chn = n_channels(P)
    lc, ln = low_channels(P)
    no = np.empty(0, np.int64)
    x = (
        np.empty((0, KF), np.int32),
        np.empty((0, KF), np.int32),
        np.empty((0, KF, KT), np.float32),
        np.empty((0, KF, KT), np.int32),
        np.empty((0, KF, KT), np.int32),
        np.empty((0, KF, KT, chc), np.float64),
        np.empty((0, KF, KT, lc), np.float64),
        np.empty((0, chn), np.float64),
        np.empty((0, ln), np.float64),
        np.empty(0, np.bool_),
    )
    t_val = np.empty((0, cv), np.float64)
    fl = np.empty(0, np.float64)
    subs = List()
    subs.append(empty_tree(P))
    cat, sub_n0, sub_s0, _ = _concat(subs, P)
    n_out, s_out = _dfs_sweep(tree, out, no, no, no, no, fl, fl, t_val, no, x, cat, sub_n0, sub_s0)
    out[21][0] = n_out
    out[21][1] = s_out
    return out


@njit(cache=True, nogil=True)
def room(n):
    """Capacity for ``n`` nodes or slots in use: an eighth more, at least 64."""
    return n + max(n // 8, 64)


@njit(cache=True, nogil=True)
def with_room(tree, P):
    """The tree (in the layout ``fit`` gives it) in arrays with :func:`room` to spare."""
    meta = tree[21]
    n, s = meta[0], meta[1]
    out = _alloc_tree(room(n), room(s), tree[10], P, tree[9].shape[1])
    out[0][:n] = tree[0][:n]
    out[1][:n] = tree[1][:n]
    out[2][:n] = tree[2][:n]
    out[3][:n] = tree[3][:n]
    out[4][:n] = tree[4][:n]
    out[5][:n] = tree[5][:n]
    out[6][:n] = tree[6][:n]
    out[7][:n] = tree[7][:n]
    out[8][:n] = tree[8][:n]
    out[9][:n] = tree[9][:n]
    out[11][:s] = tree[11][:s]
    out[12][:s] = tree[12][:s]
    out[13][:s] = tree[13][:s]
    out[14][:s] = tree[14][:s]
    out[15][:s] = tree[15][:s]
    out[16][:s] = tree[16][:s]
    out[17][:s] = tree[17][:s]
    out[18][:s] = tree[18][:s]
    out[19][:s] = tree[19][:s]
    out[20][:s] = tree[20][:s]
    out[21][:] = meta
    return out


@njit(cache=True, nogil=True)
def preorder_ids(feature, left, right):
    """The ids of the tree's nodes in depth-first preorder (left child first)."""
    out = np.empty(feature.shape[0], np.int64)
    stack = np.empty(64, np.int64)
    stack[0] = 0
    sp = 1
    n = 0
    while sp > 0:
        sp -= 1
        u = stack[sp]
        out[n] = u
        n += 1
        if feature[u] >= 0:
            if sp + 2 > stack.shape[0]:
                stack = _grow(stack, 2 * stack.shape[0])
            stack[sp] = right[u]
            stack[sp + 1] = left[u]
            sp += 2
    return out[:n]


@njit(cache=True, nogil=True)
def commit_tree(tree, box, compact):
    """Apply the plan in ``box`` (from :func:`plan_tree`) to ``tree``: rewrite its ``order``
    in place and, for :data:`PATCH`, patch its node and slot arrays in place (with :data:`NEW`
    the plan holds the new node and slot arrays).

    ``order`` keeps the length it had at fit: the live rows come first (``count[0]`` of them)
    and the tail left by forgotten rows holds -1, so that the array says nothing about which
    rows were forgotten.
    """
    feature, threshold, left, right, start, count, slot, wsum, impurity, value, order = tree[:11]
    meta = tree[21]
    plan = box[0]
    kind, qs, touched, t_cnt, t_w, t_imp, t_val, t_slot, x, t_repl, t_skip = plan[:11]
    cat, sub_n0, sub_s0, sub_r0, new_nid, new_sid, fn, fs, meta_new = plan[11:20]
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
    # Rows of the rebuilt subtrees, at the new starts of their roots.
    n_sub = sub_n0.shape[0] - 1
    new_start = np.empty(n_sub, np.int64)
    for ti in range(touched.shape[0]):
        if t_repl[ti] > 0:
            k = t_repl[ti] - 1
            s = start[touched[ti]]
            new_start[k] = s - np.searchsorted(qs, s)
            a = sub_r0[k]
            for j in range(sub_r0[k + 1] - a):
                order[new_start[k] + j] = cat[10][a + j]
    if kind != PATCH:
        return
    # Node starts shift down by the removed entries before them.
    hw = meta[0]
    if r == 1:
        q0 = np.int32(qs[0])
        for u in range(hw):
            start[u] -= np.int32(start[u] > q0)  # branch-free: the compiler vectorizes it
    elif r > 1:
        q0 = qs[0]
        for u in range(hw):
            s = start[u]
            if s > q0:
                start[u] = s - np.searchsorted(qs, s)
    for ti in range(touched.shape[0]):
        if t_skip[ti] or t_repl[ti] > 0:
            continue
        v = touched[ti]
        count[v] = t_cnt[ti]
        wsum[v] = t_w[ti]
        impurity[v] = t_imp[ti]
        if feature[v] < 0:
            value[v] = t_val[ti]
        sd = t_slot[ti]
        if sd >= 0:
            _write_slot(x, sd, tree, slot[v])
        elif slot[v] >= 0:  # below the size that keeps statistics: the slot is freed
            _clear_slot(tree, slot[v])
            slot[v] = -1
    # The old subtrees are wiped, then the new ones written in the ids the plan chose.
    for i in range(fn.shape[0]):
        _clear_node(tree, fn[i])
    for i in range(fs.shape[0]):
        _clear_slot(tree, fs[i])
    for k in range(n_sub):
        n0 = sub_n0[k]
        s0 = sub_s0[k]
        for j in range(n0, sub_n0[k + 1]):
            u = new_nid[j]
            feature[u] = cat[0][j]
            threshold[u] = cat[1][j]
            left[u] = new_nid[n0 + cat[2][j]] if cat[2][j] >= 0 else -1
            right[u] = new_nid[n0 + cat[3][j]] if cat[3][j] >= 0 else -1
            start[u] = cat[4][j] + new_start[k]
            count[u] = cat[5][j]
            wsum[u] = cat[7][j]
            impurity[u] = cat[8][j]
            value[u] = cat[9][j]
            js = cat[6][j]
            if js >= 0:
                sid = new_sid[s0 + js]
                _write_slot(cat[11:21], s0 + js, tree, sid)
                slot[u] = sid
            else:
                slot[u] = -1
    meta[:] = meta_new
