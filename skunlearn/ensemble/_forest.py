"""Random forests that forget a training row in milliseconds, exactly (after DaRE and HedgeCut).

The trees and their unlearning run in a compiled core (:mod:`skunlearn.ensemble._forest_core`,
numba), imported only when a forest is first fitted or loaded so that ``import skunlearn``
stays fast.
"""

from __future__ import annotations

import threading
import time
import weakref
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skunlearn.base import UnlearnerMixin

__all__ = ["UnlearningForestClassifier", "UnlearningForestRegressor"]

# Nodes with at least this many rows keep the statistics of their candidate splits, so that a
# row leaving them costs O(1); smaller nodes are re-evaluated from their rows (O(rows)). It
# bounds the cached nodes of a tree to O(n / _CACHE_MIN_SAMPLES).
_CACHE_MIN_SAMPLES = 128

_CRITERIA = {"gini": 0, "entropy": 1, "log_loss": 1, "squared_error": 2}

# A depth no tree reaches (max_depth=None).
_NO_DEPTH_LIMIT = 2**30

_MAX_SEED = np.iinfo(np.int32).max


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def read(self):
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    def acquire_write(self):
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True

    def release_write(self):
        with self._cond:
            self._writing = False
            self._cond.notify_all()


# ``unlearn`` patches the arrays of the trees in place (copying every tree for every request
# would cost more than the request): readers of the fitted arrays (prediction, pickling) hold
# the lock of their forest while they read them, and the patch holds it alone, so that a reader
# sees the old forest or the new one, never a mix. Kept outside the estimators, as the write
# locks of :mod:`skunlearn.base`, so that they are neither pickled nor cloned.
_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


# Requests bound but not yet applied (see ``_unlearn``), by estimator.
_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _lock(estimator) -> _ReadWriteLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(estimator, _ReadWriteLock())


def _integer_weights(w):
    """Whether class counts of weights ``w`` are exact in any order (plain additions)."""
    return bool(np.all(w == np.floor(w)) and w.sum() < 2.0**52)


def _core():
    """The compiled core, imported (and numba with it) at first use."""
    from skunlearn.ensemble import _forest_core

    return _forest_core


def _pack():
    """Packing of trees for pickles (imports the core's layout, hence numba)."""
    from skunlearn.ensemble import _forest_pack

    return _forest_pack


_PREDICT_FIELDS = ("feature", "threshold", "left", "right", "value", "wsum", "impurity")


def _predict_view(trees):
    """What prediction reads of each tree (the arrays themselves, not copies)."""
    f = _core().FIELD
    return [tuple(tree[f[k]] for k in _PREDICT_FIELDS) for tree in trees]


class _BaseUnlearningForest(UnlearnerMixin, BaseEstimator):
    """Shared machinery of the unlearnable forest classifier and regressor.

    Fitted state, besides the documented attributes:

    - ``_X``: the training rows as float32, Fortran-ordered; forgotten rows are zeroed.
    - ``_yk`` (classes, int32 codes into ``classes_``) or ``_y`` (float64 targets), and ``_w``
      (the weight of every row: sample_weight times class_weight), zero for forgotten rows.
    - ``_trees``: one tuple of arrays per tree, laid out as
      :data:`~skunlearn.ensemble._forest_build.TREE_FIELDS`; ``_predict_trees`` holds the
      arrays prediction reads (the same objects). ``unlearn`` patches them in place, after the
      request has succeeded, under the lock of :func:`_lock` that readers hold while reading;
      after it, node ids need not follow preorder (:mod:`._forest_delete`), and
      ``__getstate__`` and ``serving_copy`` lay the trees out as ``fit`` does.
    - ``_seeds``: the int seed of every tree; ``_params``: the core's parameter vector.
    """

    _training_state = ("_X", "_yk", "_y", "_w", "_sw", "_trees", "_seeds", "_params")

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [Interval(Integral, 2, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "n_thresholds": [Interval(Integral, 1, None, closed="left")],
        "random_depth": [Interval(Integral, 0, None, closed="left")],
        "bootstrap": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _log(self, message):
        if self.verbose:
            print(f"[{type(self).__name__}] {message}", flush=True)

    def _n_features_considered(self, n_features):
        mf = self.max_features
        if mf is None:
            return n_features
        if mf == "sqrt":
            return max(1, int(np.sqrt(n_features)))
        if mf == "log2":
            return max(1, int(np.log2(n_features)))
        if isinstance(mf, Integral):
            return min(int(mf), n_features)
        return max(1, int(mf * n_features))

    # -- fit -------------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, keys, regression):
        if self.bootstrap:
            raise ValueError(
                "bootstrap=True is not supported: a bootstrap sample drawn by position cannot "
                "be drawn again by a fit on the retained rows, so unlearning could not be "
                "exact. The trees differ through their seeded random choices instead."
            )
        start = time.perf_counter()
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=regression)
        n, d = X.shape
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        core = _core()
        if regression:
            yk, yr = np.zeros(0, np.int32), np.asarray(y, dtype=np.float64).copy()
            n_classes = 0
            w = sw.copy()
        else:
            check_classification_targets(y)
            classes, codes = np.unique(y, return_inverse=True)
            yk, yr = codes.astype(np.int32), np.zeros(0, np.float64)
            n_classes = classes.size
            w = sw.copy()
            if self.class_weight is not None:
                w = w * compute_sample_weight(self.class_weight, y)
        if not np.any(w > 0):
            raise ValueError("Every sample has zero weight: there is nothing to learn from.")
        params = core.make_params(
            n_features=d,
            n_classes=n_classes,
            max_features=self._n_features_considered(d),
            n_thresholds=self.n_thresholds,
            max_depth=_NO_DEPTH_LIMIT if self.max_depth is None else self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            random_depth=self.random_depth,
            criterion=_CRITERIA[self.criterion],
            cache_min=_CACHE_MIN_SAMPLES,
            regression=regression,
            # Class counts of integer weights are exact in any order: plain additions.
            integer_weights=_integer_weights(w),
            # With every weight 1, a candidate's left weight is its left row count: the
            # regressor's candidates keep no weight channel (a third of the slots' memory).
            unit_weights=bool(np.all(w[w > 0] == 1.0)),
        )
        seeds = check_random_state(self.random_state).randint(_MAX_SEED, size=self.n_estimators)
        # float32 like scikit-learn's trees; "+ 0" turns -0.0 into 0.0 (one value, one hash).
        X32 = np.asfortranarray(X) + np.float32(0.0)
        rows = np.flatnonzero(w > 0)  # a row of zero weight teaches nothing and is not grown on
        trees = core.fit_trees(
            rows, seeds, X32, X32.view(np.uint32), yk, yr, w, params, self.n_jobs
        )
        if not regression:
            self.classes_ = classes
            self.n_classes_ = int(n_classes)
        self._X = X32
        self._yk = yk
        self._y = yr
        self._w = w
        # class_weight="balanced" depends on every row's class: keep the sample weights, from
        # which unlearn recomputes it (and then grows every tree again).
        self._sw = sw if self._balanced() else None
        self._seeds = seeds
        self._params = params
        self._set_trees(trees)
        self._reset_unlearning(n, keys)
        self._log(f"fitted {self.n_estimators} trees in {time.perf_counter() - start:.2f}s")
        return self

    def _balanced(self):
        return getattr(self, "class_weight", None) == "balanced"

    def _set_trees(self, trees, **more):
        self._swap_state(_trees=trees, _predict_trees=_predict_view(trees), **more)

    # -- unlearn ---------------------------------------------------------------------------

    def _check_unlearn_feasible(self, positions):
        w = self._w
        if not (np.sum(w > 0) - np.sum(w[positions] > 0)) > 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero "
                "sample weight, from which no tree can learn."
            )

    def _plan(self, positions):
        """New trees (computed aside) and what they cost, for ``positions``."""
        core = _core()
        X, yk, yr, w, trees, seeds, params = self._read_state(
            "_X", "_yk", "_y", "_w", "_trees", "_seeds", "_params"
        )
        n = X.shape[0]
        removed = np.zeros(n, dtype=bool)
        removed[positions] = True
        if self._sw is not None:  # class_weight="balanced": every weight changes
            keep = ~removed
            keep[self.unlearned_indices_] = False
            labels = self.classes_[yk]
            w_new = np.zeros(n)
            w_new[keep] = self._sw[keep] * compute_sample_weight("balanced", labels[keep])
            rows = np.flatnonzero(w_new > 0)
            params = params.copy()
            params[core.P_INT] = _integer_weights(w_new)
            new = core.fit_trees(
                rows, seeds, X, X.view(np.uint32), yk, yr, w_new, params, self.n_jobs
            )
            cost = {
                "trees_changed": len(trees),
                "subtrees_rebuilt": len(trees),
                "samples_retrained": int(rows.size),
                "tree_samples_retrained": int(rows.size) * len(trees),
            }
            return new, (w_new, params), cost
        rem = positions[w[positions] > 0]
        plans = []
        if rem.size:
            plans = core.plan_trees(
                trees,
                range(len(trees)),
                rem,
                removed,
                seeds,
                X,
                X.view(np.uint32),
                yk,
                yr,
                w,
                params,
                self.n_jobs,
            )
        rebuilt = retrained = 0
        for _, plan in plans:
            n_rebuilt, n_rows = core.plan_cost(plan)
            rebuilt += n_rebuilt
            retrained += n_rows
        cost = {
            "trees_changed": len(plans),
            "subtrees_rebuilt": rebuilt,
            # In units of a full refit (which grows every tree on every row): rows of the
            # rebuilt subtrees, summed over trees, per tree.
            "samples_retrained": -(-retrained // len(trees)),
            "tree_samples_retrained": retrained,
        }
        return plans, None, cost

    def _unlearn(self, positions):
        start = time.perf_counter()
        # Everything that can fail happens in the plan, which changes nothing.
        plans, w_new, cost = self._plan(positions)
        core = _core()
        present = None
        if self._yk.size:
            retained = self._retained_mask()
            retained[positions] = False
            present = np.bincount(self._yk[retained], minlength=self.classes_.size) > 0
        if w_new is not None or (present is not None and not present.all()):
            self._unlearn_aside(positions, plans, w_new, present)
        else:
            # The fast path patches the trees and the stored rows in place, which a failure
            # after this method (the contract's bookkeeping) could not undo: bind the new
            # state now (what the patch will make of it), and patch in _unlearn_cleanup, once
            # the request has succeeded. The lock keeps readers out until then.
            trees = self._trees
            new = core.commit_layout(trees, plans)
            lock = _lock(self)
            lock.acquire_write()
            _PENDING[self] = (new, trees, plans, positions, lock)
            self._set_trees(new)
        self._log(
            f"forgot {positions.size} rows: {cost['subtrees_rebuilt']} subtrees rebuilt "
            f"({cost['samples_retrained']} rows) in {time.perf_counter() - start:.3f}s"
        )
        return {"exact": True, "distance_bound": None, **cost}

    def _unlearn_cleanup(self):
        pending = _PENDING.pop(self, None)
        if pending is None:
            return
        new, trees, plans, positions, lock = pending
        try:
            if self._trees is new:  # the request succeeded: apply the patch
                _core().commit_trees(trees, plans, self.n_jobs)
                self._purge_rows(self._X, self._w, self._y, self._yk, positions)
        finally:
            lock.release_write()

    @staticmethod
    def _purge_rows(X, w, y, yk, positions):
        # Purge: the forgotten rows' features, targets and weights are overwritten with zeros.
        X[positions] = 0.0
        w[positions] = 0.0
        if y.size:
            y[positions] = 0.0
        if yk.size:
            yk[positions] = 0

    def _unlearn_aside(self, positions, plans, w_new, present):
        """The rare requests that build a new state aside: class_weight="balanced" (every
        tree grown again) or a class forgotten entirely (its column dropped everywhere)."""
        core = _core()
        X, y, yk = self._X.copy(order="F"), self._y.copy(), self._yk.copy()
        state = {"_X": X, "_y": y}
        if w_new is None:
            w = self._w.copy()
            copies = [tuple(a.copy() for a in tree) for tree in self._trees]
            trees = core.commit_trees(copies, plans)
        else:
            trees, (w, state["_params"]) = plans, w_new
        self._purge_rows(X, w, y, yk, positions)
        state["_w"] = w
        if self._sw is not None:
            sw = self._sw.copy()
            sw[positions] = 0.0
            state["_sw"] = sw
        if present is not None and not present.all():
            # A class whose rows are all forgotten leaves classes_: its label is row data,
            # and a fit on the retained rows would not know it. It has no weight left in
            # any node, so dropping its column changes no other number.
            trees = [core.drop_classes(tree, present) for tree in trees]
            yk = (np.cumsum(present) - 1).astype(np.int32)[yk]
            yk[positions] = 0
            params = state.get("_params", self._params).copy()
            params[1] = int(present.sum())
            state.update(
                classes_=self.classes_[present], n_classes_=int(present.sum()), _params=params
            )
        state["_yk"] = yk
        self._set_trees(trees, **state)

    def _estimate_unlearn_cost(self, positions):
        return self._plan(positions)[2]

    # -- predict ---------------------------------------------------------------------------

    def _validate_X_predict(self, X):
        check_is_fitted(self, "_predict_trees")
        return validate_data(self, X, dtype=np.float32, reset=False)

    def _leaf_sum(self, X, n_outputs):
        with _lock(self).read():
            trees = self._read_state("_predict_trees")[0]
            return _core().accumulate(trees, X, n_outputs, self.n_jobs) / len(trees)

    def __getstate__(self):
        # Copies taken under the lock: pickling reads them after this returns, when a request
        # may be patching the arrays of the forest.
        with _lock(self).read():
            state = dict(super().__getstate__())  # may be the instance's own __dict__
            for name in ("_X", "_yk", "_y", "_w"):
                if isinstance(state.get(name), np.ndarray):
                    state[name] = state[name].copy(order="K")
            if "_trees" in state:
                # The layout fit gives (no trace of the subtrees unlearning replaced), copied,
                # without the arrays that layout implies.
                trees = _core().compact_trees(state["_trees"], state["_params"])
                trees = [(*tree[:10], tree[10].copy(), *tree[11:]) for tree in trees]
                state["_trees"] = [_pack().pack(tree) for tree in trees]
                state.pop("_predict_trees", None)
            elif "_predict_trees" in state:  # a serving copy, laid out by _serving_copy
                state["_predict_trees"] = [
                    _pack().pack(view, _PREDICT_FIELDS) for view in state["_predict_trees"]
                ]
        return state

    def _serving_copy(self):
        new = super()._serving_copy()
        # The layout fit gives, as in a pickle: no free ids left by rebuilt subtrees.
        with _lock(self).read():
            new._predict_trees = _predict_view(_core().compact_trees(self._trees, self._params))
        return new

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_trees" in state:
            # Pickles hold the trees packed and without room to spare (see __getstate__):
            # give them some, so that the first requests need not lay every tree out afresh.
            core = _core()
            trees = [_pack().unpack(packed) for packed in self._trees]
            self._trees = [core.with_room(tree, self._params) for tree in trees]
            self._predict_trees = _predict_view(self._trees)
        elif "_predict_trees" in state:
            self._predict_trees = [
                _pack().unpack(packed, _PREDICT_FIELDS) for packed in self._predict_trees
            ]

    def apply(self, X):
        """Leaf of every sample in every tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples, compared with the thresholds as float32.

        Returns
        -------
        leaves : ndarray of shape (n_samples, n_estimators)
            The index (in depth-first preorder) of the leaf each sample falls in, per tree.
        """
        X = self._validate_X_predict(X)
        with _lock(self).read():
            trees = self._read_state("_predict_trees")[0]
            return _core().apply_trees(trees, X)

    @property
    def feature_importances_(self):
        """Impurity-based importances (mean decrease in impurity), normalized to sum to 1.

        Each tree's decreases are normalized, then averaged over trees, as in scikit-learn.
        """
        check_is_fitted(self, "_predict_trees")
        core = _core()
        total = np.zeros(self.n_features_in_)
        with _lock(self).read():
            trees = self._read_state("_predict_trees")[0]
            for feature, _, left, right, _, wsum, impurity in trees:
                imp = core.tree_importances(
                    feature, left, right, wsum, impurity, self.n_features_in_
                )
                s = imp.sum()
                if s > 0:
                    total += imp / s
        s = total.sum()
        return total / s if s > 0 else total

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


_PARAMS_DOC = """
    max_depth : int, default=None
        Maximum depth of a tree; None grows nodes until they are pure or cannot be split.

    min_samples_split : int, default=2
        Minimum number of rows a node needs to be split. Fractions are not accepted: they
        would depend on the number of rows, which unlearning changes.

    min_samples_leaf : int, default=1
        Minimum number of rows on each side of a split.

    n_thresholds : int, default=5
        Candidate thresholds a greedy node keeps per feature: the distinct values of the
        node's rows (that give a valid split) of smallest seeded hash, a uniform random choice
        that a fit on the retained rows makes again. More candidates fit better and cost more
        statistics per node.

    random_depth : int, default=1
        Number of top levels made of random nodes, whose feature and threshold are drawn by
        the seeded hash rather than by impurity: their split depends on the data only through
        the values present, so forgetting rows almost never changes it, and the expensive
        rebuilds near the root are rare.

    bootstrap : bool, default=False
        Only False is accepted: a bootstrap sample drawn by position cannot be drawn again by
        a fit on the retained rows, so unlearning could not be exact. The trees differ by
        their seeded choices of features and thresholds instead.
"""

_COMMON_DOC = """
    n_jobs : int, default=None
        Number of threads growing trees, unlearning (tree by tree) and predicting (row
        chunks); the compiled kernels release the GIL. None means 1 unless in a
        :func:`joblib.parallel_config` context; -1 means all processors. The threads are a
        pool kept for the process, whatever joblib backend is configured: ``unlearn``
        patches the trees in place, and starting threads anew per call would cost as much
        as a one-row request. Results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Seeds the trees: an int seed per tree is drawn once per fit, and every random choice
        of a tree is a hash of that seed, the node's position and the node's values.

    verbose : int, default=0
        Print the time of fits and requests.
"""

_ATTRS_DOC = """
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances of the current (unlearned) trees.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call (None before the first): ``n_removed``,
        ``indices``, ``exact`` (True), ``distance_bound`` (None), ``trees_changed``,
        ``subtrees_rebuilt``, ``tree_samples_retrained`` (rows of the rebuilt subtrees, summed
        over trees), ``samples_retrained`` (the same per tree, rounded up: a full refit counts
        every row once) and ``seconds``.
"""

_NOTES_DOC = """
    Exactness: after any sequence of :meth:`unlearn` calls, every tree is bitwise the tree that
    :meth:`fit` grows on the retained rows (in their original order) with the same
    ``random_state``: same features, thresholds, leaf values and predictions. Every random
    choice is a seeded hash of the node's position and values, every statistic has the same
    bits on both paths (integer counts; double-double sums, recomputed from the rows when a
    sum would round; plain sums in position order where a node keeps no statistics), and a
    subtree is rebuilt from its retained rows wherever the split a fresh fit would
    choose differs. Forgotten rows are overwritten in the stored data and counted by no
    statistic.

    Inputs are compared as float32, like scikit-learn's trees. NaN and infinite values are
    rejected with a ``ValueError``. With ``class_weight="balanced"`` every row's weight
    depends on the class counts, so :meth:`unlearn` grows every tree again (exactly, but
    without the speed of the cached statistics).
"""


class UnlearningForestClassifier(ClassifierMixin, _BaseUnlearningForest):
    """Random forest classifier that forgets training rows exactly, in milliseconds.

    Trees are grown on all rows; the top ``random_depth`` levels are random nodes and the
    others greedy nodes choosing, among ``max_features`` features and ``n_thresholds``
    candidate thresholds per feature (both picked by a seeded hash), the split of least
    impurity. Large nodes cache the statistics of their candidates. :meth:`unlearn` walks the
    forgotten rows' paths, updates the statistics, and rebuilds a subtree only where the split
    a fit on the retained rows would choose differs. After DaRE (Brophy & Lowd, ICML 2021)
    and HedgeCut (Schelter et al., SIGMOD 2021).

    Read more in the :ref:`User Guide <forest>`.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.

    criterion : {{"gini", "entropy", "log_loss"}}, default="gini"
        Impurity of a node ("log_loss" is "entropy").
    {params}
    max_features : {{"sqrt", "log2"}}, int, float or None, default="sqrt"
        Number of features a greedy node considers: the first ones by seeded hash among the
        features that can split the node. A float is a fraction of the features, None all.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights. With "balanced",
        unlearning grows every tree again (the weights depend on every row).
    {common}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels of the retained rows: a class whose rows are all forgotten leaves
        ``classes_`` (its label is row data; a fit on the retained rows would not know it).

    n_classes_ : int
        Number of classes.
    {attrs}
    See Also
    --------
    UnlearningForestRegressor : The same forest for regression.
    ShardedEnsembleClassifier : Exact unlearning of any estimator by sharding.

    Notes
    -----
    {notes}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn.ensemble import UnlearningForestClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = UnlearningForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> report = clf.unlearn([0, 5, 70]).unlearn_report_
    >>> report["exact"], report["n_removed"], report["trees_changed"]
    (True, 3, 10)
    """

    _parameter_constraints: dict = {
        **_BaseUnlearningForest._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features="sqrt",
        n_thresholds=5,
        random_depth=1,
        bootstrap=False,
        class_weight=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.random_depth = random_depth
        self.bootstrap = bootstrap
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, keys=None):
        """Grow the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (converted to float32).
        y : array-like of shape (n_samples,)
            Class labels (strings or numbers).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; rows of zero weight are not grown on.
        keys : array-like of shape (n_samples,), default=None
            One key per row, so that ``unlearn(keys=[...])`` can forget every row of a key;
            see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, keys, regression=False)

    def predict_proba(self, X):
        """Mean over trees of the class fractions of the leaf each sample falls in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        X = self._validate_X_predict(X)
        with _lock(self).read():
            trees, classes = self._read_state("_predict_trees", "classes_")
            return _core().accumulate(trees, X, classes.size, self.n_jobs) / len(trees)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Class of highest mean probability (ties to the first in ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_X_predict(X)
        with _lock(self).read():
            trees, classes = self._read_state("_predict_trees", "classes_")
            proba = _core().accumulate(trees, X, classes.size, self.n_jobs)
        return classes[np.argmax(proba, axis=1)]


class UnlearningForestRegressor(RegressorMixin, _BaseUnlearningForest):
    """Random forest regressor that forgets training rows exactly, in milliseconds.

    The regression twin of :class:`UnlearningForestClassifier`: greedy nodes minimize the
    squared error; leaves predict the weighted mean of their rows' targets.

    Read more in the :ref:`User Guide <forest>`.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.

    criterion : {{"squared_error"}}, default="squared_error"
        Impurity of a node.
    {params}
    max_features : {{"sqrt", "log2"}}, int, float or None, default=1.0
        Number of features a greedy node considers: the first ones by seeded hash among the
        features that can split the node. A float is a fraction of the features, None all.
    {common}
    Attributes
    ----------
    {attrs}
    See Also
    --------
    UnlearningForestClassifier : The same forest for classification.
    ShardedEnsembleRegressor : Exact unlearning of any estimator by sharding.

    Notes
    -----
    {notes}
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skunlearn.ensemble import UnlearningForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = UnlearningForestRegressor(n_estimators=5, max_depth=6, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.5
    True
    >>> reg.unlearn([3, 14]).unlearn_report_["exact"]
    True
    """

    _parameter_constraints: dict = {
        **_BaseUnlearningForest._parameter_constraints,
        "criterion": [StrOptions({"squared_error"})],
    }

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=1.0,
        n_thresholds=5,
        random_depth=1,
        bootstrap=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_thresholds = n_thresholds
        self.random_depth = random_depth
        self.bootstrap = bootstrap
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, keys=None):
        """Grow the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (converted to float32).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; rows of zero weight are not grown on.
        keys : array-like of shape (n_samples,), default=None
            One key per row, so that ``unlearn(keys=[...])`` can forget every row of a key;
            see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, keys, regression=True)

    def predict(self, X):
        """Mean over trees of the leaf each sample falls in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_X_predict(X)
        return self._leaf_sum(X, 1)[:, 0]


for _cls in (UnlearningForestClassifier, UnlearningForestRegressor):
    _cls.__doc__ = _cls.__doc__.format(
        params=_PARAMS_DOC, common=_COMMON_DOC, attrs=_ATTRS_DOC, notes=_NOTES_DOC
    )
