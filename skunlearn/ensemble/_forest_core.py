"""The compiled core of the unlearnable forest, as the estimators call it.

Importing this module imports numba (kernels compile at their first call and are cached on
disk), so :mod:`skunlearn.ensemble._forest` imports it only inside its methods: ``import
skunlearn`` stays fast.

Trees are tuples of arrays laid out as :data:`TREE_FIELDS`. Work over trees runs in ``n_jobs``
threads (the kernels release the GIL), each taking the next tree when done with one, so that a
one-row request pays the dispatch of ``n_jobs`` tasks, not of one task per tree. The threads
are a pool kept for the process (:func:`_pool`): a joblib ``Parallel`` call starts its threads
anew, which costs about 12 ms here, as much as a whole one-row request, and the commit must run
in threads of this process whatever joblib backend is configured, since it patches arrays in
place. A request is planned for every tree (:func:`plan_trees`, which changes nothing) before
any tree is patched in place (:func:`commit_trees`).
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from numba import njit

from skunlearn.ensemble._forest_build import (
    P_C,
    P_CACHE,
    P_CRIT,
    P_D,
    P_INT,
    P_KF,
    P_KT,
    P_MAXD,
    P_MSL,
    P_MSS,
    P_RD,
    P_REG,
    P_UNIT,
    TREE_FIELDS,
    build_subtree,
)
from skunlearn.ensemble._forest_delete import (
    NEW,
    commit_tree,
    compact_tree,
    plan_tree,
    planned_tree,
    preorder_ids,
    with_room,
)
from skunlearn.ensemble._forest_hash import root_key

__all__ = [
    "TREE_FIELDS",
    "accumulate",
    "apply_trees",
    "commit_layout",
    "commit_trees",
    "compact_trees",
    "drop_classes",
    "fit_trees",
    "make_params",
    "plan_cost",
    "plan_trees",
    "tree_importances",
    "with_room",
]

FIELD = {name: i for i, name in enumerate(TREE_FIELDS)}

# Up to this many rows per request, ``order`` is compacted by memmoves, one per row.
_FEW = 8


def make_params(
    *,
    n_features,
    n_classes,
    max_features,
    n_thresholds,
    max_depth,
    min_samples_split,
    min_samples_leaf,
    random_depth,
    criterion,
    cache_min,
    regression,
    integer_weights=False,
    unit_weights=False,
):
    P = np.zeros(13, dtype=np.int64)
    P[P_D] = n_features
    P[P_C] = n_classes
    P[P_KF] = max_features
    P[P_KT] = n_thresholds
    P[P_MAXD] = max_depth
    P[P_MSS] = min_samples_split
    P[P_MSL] = min_samples_leaf
    P[P_RD] = random_depth
    P[P_CRIT] = criterion
    P[P_CACHE] = cache_min
    P[P_REG] = int(regression)
    P[P_INT] = int(bool(integer_weights) and not regression)
    P[P_UNIT] = int(bool(unit_weights) and regression)
    return P


def _chunks(n_items, n_jobs):
    n_chunks = max(1, min(n_items, n_jobs))
    bounds = np.linspace(0, n_items, n_chunks + 1).astype(int)
    return [range(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _effective_jobs(n_jobs):
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs)


_POOL = None  # (pid, workers, executor)
_POOL_LOCK = threading.Lock()


def _pool(workers):
    """A thread pool of at least ``workers`` threads, kept for the process (made anew in a
    forked child, whose parent's threads do not exist)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < workers:
            # A smaller pool is dropped, not shut down: another thread may be about to submit
            # to it; its idle threads exit once it is collected.
            executor = ThreadPoolExecutor(workers, thread_name_prefix="skunlearn-forest")
            _POOL = (os.getpid(), workers, executor)
        return _POOL[2]


def _in_chunks(work, chunks):
    """``[work(c) for c in chunks]``, the first chunk in this thread and the others in the
    pool; every chunk has finished when this returns or raises."""
    if len(chunks) == 1:
        return [work(chunks[0])]
    futures = [_pool(len(chunks) - 1).submit(work, c) for c in chunks[1:]]
    try:
        first = work(chunks[0])
    finally:
        wait(futures)
    return [first, *(f.result() for f in futures)]


def _run(func, items, n_jobs):
    """``[func(i) for i in items]`` in ``n_jobs`` threads, results in order.

    Each thread takes the next item when it is done with one: a request's cost is uneven
    across trees (one rebuilt subtree can cost more than every other tree together), and
    fixed halves would leave a thread idle while the other finishes.
    """
    jobs = min(_effective_jobs(n_jobs), len(items))
    if jobs <= 1:
        return [func(i) for i in items]
    out = [None] * len(items)
    taken = itertools.count()  # next() on it is atomic under the GIL

    def work(_):
        while (i := next(taken)) < len(items):
            out[i] = func(items[i])

    _in_chunks(work, range(jobs))
    return out


def fit_trees(rows, seeds, X, Xb, yk, yr, w, P, n_jobs=None):
    """Grow one tree per seed on ``rows`` (ascending positions)."""
    rows = np.ascontiguousarray(rows, dtype=np.int32)

    def grow(seed):
        key = np.uint64(root_key(np.uint64(seed)))
        # Room to spare, so that the first requests place rebuilt subtrees without laying
        # the tree out afresh.
        return with_room(build_subtree(rows, 0, key, X, Xb, yk, yr, w, P), P)

    return _run(grow, list(seeds), n_jobs)


def plan_trees(trees, tree_ids, rem, removed, seeds, X, Xb, yk, yr, w, P, n_jobs=None):
    """Plan forgetting ``rem`` in the trees ``tree_ids``, without changing them; returns
    ``[(tree_id, plan)]`` for :func:`commit_trees`."""
    rem = np.ascontiguousarray(rem, dtype=np.int64)

    def forget(t):
        return t, plan_tree(trees[t], rem, removed, np.uint64(seeds[t]), X, Xb, yk, yr, w, P)

    return _run(forget, list(tree_ids), n_jobs)


def plan_cost(plan):
    """``(subtrees_rebuilt, rows_rebuilt)`` of a plan."""
    return int(plan[3]), int(plan[4])


def commit_layout(trees, plans):
    """The list of trees ``commit_trees(trees, plans)`` will return, before it runs: a tree
    patched in place is the same tuple; a replaced one, the new arrays of its plan (sharing
    ``order``)."""
    new = list(trees)
    for t, plan in plans:
        if plan[1] == NEW:
            new_tree = planned_tree(plan[0])
            new[t] = (*new_tree[:10], trees[t][10], *new_tree[11:])
    return new


def _commit_one(tree, plan):
    box, _, qs = plan[:3]
    few = qs.size <= _FEW
    if few:
        # numpy's overlapping slice assignment is a memmove, several times faster than a
        # compiled loop over the rows after the removed entry.
        order = tree[FIELD["order"]]
        live = int(tree[FIELD["count"]][0])
        for i, q in enumerate(qs.tolist()):
            q -= i
            order[q : live - i - 1] = order[q + 1 : live - i]
        order[live - qs.size : live] = -1
    commit_tree(tree, box, not few)


def commit_trees(trees, plans, n_jobs=None):
    """Apply the plans to ``trees`` in place and return :func:`commit_layout`. Nothing here
    allocates much or raises: plan first, then commit."""
    _run(lambda item: _commit_one(trees[item[0]], item[1]), list(plans), n_jobs)
    return commit_layout(trees, plans)


def compact_trees(trees, params):
    """The trees in the layout ``fit`` gives them (preorder, no free ids, exact sizes)."""
    return [compact_tree(tree, params) for tree in trees]


@njit(cache=True, nogil=True)
def _leaves(X, feature, threshold, left, right, out):
    for i in range(X.shape[0]):
        v = 0
        while feature[v] >= 0:
            if X[i, feature[v]] <= threshold[v]:
                v = left[v]
            else:
                v = right[v]
        out[i] = v


@njit(cache=True, nogil=True)
def _accumulate(X, feature, threshold, left, right, value, out):
    cv = value.shape[1]
    for i in range(X.shape[0]):
        v = 0
        while feature[v] >= 0:
            if X[i, feature[v]] <= threshold[v]:
                v = left[v]
            else:
                v = right[v]
        for k in range(cv):
            out[i, k] += value[v, k]


def _row_chunks(n_rows, n_jobs):
    jobs = _effective_jobs(n_jobs)
    if n_rows < 2000:
        jobs = 1
    return _chunks(n_rows, jobs) if n_rows else [range(0, 0)]


def accumulate(trees, X, n_outputs, n_jobs=None):
    """Sum over trees (in tree order, for every row) of the leaf values of ``X``'s rows.

    ``trees`` are tuples starting with (feature, threshold, left, right, value).
    """
    out = np.zeros((X.shape[0], n_outputs), dtype=np.float64)

    def rows_part(c):
        Xc = X[c.start : c.stop]
        oc = out[c.start : c.stop]
        for tree in trees:
            _accumulate(Xc, *tree[:5], oc)

    _in_chunks(rows_part, _row_chunks(X.shape[0], n_jobs))
    return out


def apply_trees(trees, X):
    """Leaf of every row in every tree, as its index in depth-first preorder (what it is in
    the tree ``fit`` grows), shape (n_rows, n_trees)."""
    out = np.empty((X.shape[0], len(trees)), dtype=np.int64)
    col = np.empty(X.shape[0], dtype=np.int64)
    for t, tree in enumerate(trees):
        _leaves(X, *tree[:4], col)
        ids = preorder_ids(tree[0], tree[2], tree[3])
        rank = np.empty(tree[0].shape[0], dtype=np.int64)
        rank[ids] = np.arange(ids.size)
        out[:, t] = rank[col]
    return out


def drop_classes(tree, keep):
    """The tree with only the classes ``keep`` (a boolean mask) in its values and statistics;
    the dropped classes have no row left, so every other number is unchanged."""
    tree = list(tree)
    tree[FIELD["value"]] = np.ascontiguousarray(tree[FIELD["value"]][:, keep])
    for name in ("c_lhi", "c_llo", "c_thi", "c_tlo"):
        a = tree[FIELD[name]]
        if a.shape[-1]:  # low parts have no channel under integer counts
            tree[FIELD[name]] = np.ascontiguousarray(a[..., keep])
    return tuple(tree)


def tree_importances(feature, left, right, wsum, impurity, n_features):
    """Impurity decrease per feature of one tree (unnormalized), summed in preorder (the
    order of the tree ``fit`` grows: the same bits)."""
    wimp = wsum * impurity
    ids = preorder_ids(feature, left, right)
    internal = ids[feature[ids] >= 0]
    gain = wimp[internal] - wimp[left[internal]] - wimp[right[internal]]
    return np.bincount(feature[internal], weights=gain, minlength=n_features)
