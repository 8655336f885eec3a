"""Sharded, isolated, sliced and aggregated (SISA) ensembles that unlearn exactly."""

from __future__ import annotations

import logging
import os
import time
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_consistent_length,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from skunlearn._keys import check_keys
from skunlearn.base import UnlearnerMixin
from skunlearn.ensemble._aggregation import (
    decision_from_proba,
    decision_from_votes,
    mean_proba,
    vote_counts,
)
from skunlearn.ensemble._partition import assign_shards, split_slices
from skunlearn.ensemble._shard import (
    MAX_SEED,
    is_dataframe,
    seed_estimator,
    take_rows,
    train_shard,
)
from skunlearn.ensemble._store import (
    ShardStore,
    referenced_files,
    resolve,
    save_shard,
    train_stored_shard,
)

__all__ = ["ShardedEnsembleClassifier", "ShardedEnsembleRegressor"]

logger = logging.getLogger(__name__)


def _soft_with_proba(self) -> bool:
    """``predict_proba`` exists for a soft vote over estimators that have it."""
    return self.aggregation == "soft" and hasattr(self._template(), "predict_proba")


def _output_gap(a, b) -> float:
    """Largest absolute difference of numeric outputs; share of differing labels otherwise."""
    a, b = np.asarray(a), np.asarray(b)
    if a.size == 0:
        return 0.0
    if a.dtype.kind in "fc":
        return float(np.max(np.abs(a - b)))
    return float(np.mean(a != b))


class _BaseShardedEnsemble(UnlearnerMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared machinery of the sharded classifier and regressor.

    Fitted state, besides the public attributes documented on the subclasses:

    - ``_shard_data[k]``: ``(X, y, sample_weight)`` of shard ``k``'s retained rows, in training
      order (``sample_weight`` may be None). Forgetting a row rebuilds these arrays without it.
    - ``_checkpoints[k][r]``: the state of shard ``k`` after its slices ``0 .. r``.
    - ``_store``: None, or the :class:`~skunlearn.ensemble._store.ShardStore` of this fit, in
      which case ``_shard_data`` and ``_checkpoints`` hold references to files in it.
    - ``_shard_seeds[k]``: the int seed every fit of shard ``k`` uses.
    - ``_shard_of_position[i]``: the shard that held training row ``i``.
    """

    # Left out of serving_copy(): the shards' rows, checkpoints, store and partition.
    _training_state = (
        "_shard_data",
        "_checkpoints",
        "_store",
        "store_dir_",
        "shard_indices_",
        "slice_indices_",
        "_shard_of_position",
        "_slice_of_position",
        "_class_counts",
        "_shard_seeds",
        "_fit_template",
    )

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_shards": [Interval(Integral, 1, None, closed="left")],
        "n_slices": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "store": [str, os.PathLike, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_shards=5,
        n_slices=1,
        partition="random",
        n_jobs=None,
        random_state=None,
        verbose=0,
        store=None,
    ):
        self.estimator = estimator
        self.n_shards = n_shards
        self.n_slices = n_slices
        self.partition = partition
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.store = store

    # -- helpers ---------------------------------------------------------------------------

    def _template(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._template())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.positive_only = inner.input_tags.positive_only
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.input_tags.string = inner.input_tags.string
        tags.target_tags.multi_output = inner.target_tags.multi_output and not isinstance(
            self, ClassifierMixin
        )
        return tags

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[{type(self).__name__}] {message}", flush=True)

    def _run_shards(self, tasks, what: str, store=None):
        """Train shards in parallel; ``tasks`` maps a shard to the keyword args of
        :func:`train_shard` (its estimator and its own rows only). With a ``store``, the rows
        and start checkpoints are file references that the worker maps itself, and the
        checkpoints come back as references to the files the worker wrote."""
        shards = list(tasks)
        # A single shard trains in this process: a worker pool would only add start-up and
        # data transfer to the common one-row request.
        n_jobs = 1 if len(shards) == 1 else self.n_jobs
        try:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        except ValueError:
            # The backend cannot yield results as they come (Ray's): the log comes at the end.
            parallel = Parallel(n_jobs=n_jobs)
        if store is None:
            calls = (delayed(train_shard)(**tasks[k]) for k in shards)
        else:
            calls = (delayed(train_stored_shard)(store, f"shard{k}", **tasks[k]) for k in shards)
        results = parallel(calls)
        start = time.perf_counter()
        out = {}
        for done, (k, result) in enumerate(zip(shards, results), start=1):
            out[k] = result
            self._log(
                f"{what} shard {k} ({tasks[k]['y'].shape[0]} rows): {done}/{len(shards)} done, "
                f"{time.perf_counter() - start:.1f}s"
            )
        return out

    def _fitted_template(self):
        """The estimator as it was at the last fit: :meth:`unlearn` retrains shards with it,
        so ``set_params`` after ``fit`` (``estimator__C=...``, ``n_shards=...``) changes the
        next fit, never the shards an ``unlearn`` retrains."""
        return self._fit_template

    def _shard_task(self, k, X, y, sample_weight, slices, classes, start_slice=0, start_model=None):
        return {
            "estimator": seed_estimator(clone(self._fitted_template()), int(self._shard_seeds[k])),
            "X": X,
            "y": y,
            "sample_weight": sample_weight,
            "slice_sizes": [s.size for s in slices],
            # Sliced classifiers must be told every class on their first partial_fit.
            "is_classifier": is_classifier(self),
            "classes": classes if len(slices) > 1 else None,
            "start_slice": start_slice,
            "start_model": start_model,
        }

    def _prepare_targets(self, y):
        """Record what the targets say before the shards train (classes, for classifiers)."""

    def _retained_class_counts(self, plan):
        """Rows per class of ``classes_`` left after the planned removal (None: regressor)."""
        return None

    # -- fit -------------------------------------------------------------------------------

    def _validate_fit_inputs(self, X, y, sample_weight, groups, deletion_prior):
        template = self._template()
        multi_output = get_tags(template).target_tags.multi_output and not is_classifier(self)
        # A regressor's targets must be numbers: string targets would fit and fail only at
        # predict, deep inside the wrapped estimator.
        y_numeric = is_regressor(self)
        if is_dataframe(X):
            # The shards get the user's DataFrame (rows taken by position): its column names,
            # dtypes and categories reach the wrapped estimator as in a plain scikit-learn fit.
            X = validate_data(self, X, skip_check_array=True)
            y = _check_y(y, multi_output=multi_output, y_numeric=y_numeric, estimator=self)
            check_consistent_length(X, y)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=["csr", "csc"],
                dtype=None,
                ensure_all_finite=False,
                multi_output=multi_output,
                y_numeric=y_numeric,
            )
        if hasattr(X, "tocsr"):
            X = X.tocsr()  # shards are cut by rows
        n = X.shape[0]
        if sample_weight is not None:
            if not has_fit_parameter(template, "sample_weight"):
                raise ValueError(
                    f"The wrapped estimator {type(template).__name__} does not accept "
                    "sample_weight in fit."
                )
            sample_weight = _check_sample_weight(sample_weight, X)
            if not np.any(sample_weight > 0):
                raise ValueError("Sample weights must contain at least one non-zero number.")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (n,):
                raise ValueError(
                    f"groups must have one label per row: expected shape ({n},), got "
                    f"{groups.shape}."
                )
            if self.partition == "stratified":
                raise ValueError(
                    "partition='stratified' cannot keep groups together; use "
                    "partition='random' with groups."
                )
        if deletion_prior is not None:
            deletion_prior = np.asarray(deletion_prior, dtype=float)
            if deletion_prior.shape != (n,):
                raise ValueError(
                    f"deletion_prior must have one value per row: expected shape ({n},), "
                    f"got {deletion_prior.shape}."
                )
            if not np.all(np.isfinite(deletion_prior)) or np.any(deletion_prior < 0):
                raise ValueError("deletion_prior must be finite and non-negative.")
        if self.n_slices > 1 and not hasattr(template, "partial_fit"):
            raise ValueError(
                f"n_slices={self.n_slices} trains each shard slice by slice with "
                f"partial_fit, which {type(template).__name__} does not have. Use "
                "n_slices=1, or an incremental estimator (SGDClassifier, GaussianNB, "
                "MLPClassifier, ...)."
            )
        return X, y, sample_weight, groups, deletion_prior

    def _fit(self, X, y, sample_weight=None, groups=None, deletion_prior=None, keys=None):
        X, y, sample_weight, groups, deletion_prior = self._validate_fit_inputs(
            X, y, sample_weight, groups, deletion_prior
        )
        self._prepare_targets(y)
        n = X.shape[0]
        key_index = check_keys(keys, n)
        if groups is None and key_index is not None and self.partition == "random":
            # Sharding by key keeps each customer in one shard: forgetting a customer
            # retrains one shard.
            groups = key_index.codes
        n_units = n if groups is None else np.unique(groups).size
        if self.n_shards > n_units:
            logger.warning(
                "%s: n_shards=%d exceeds the number of %s (%d): %d shards stay empty.",
                type(self).__name__,
                self.n_shards,
                "rows" if groups is None else "groups (or keys)",
                n_units,
                self.n_shards - n_units,
            )
        rng = check_random_state(self.random_state)
        shards = assign_shards(
            n,
            self.n_shards,
            rng,
            y=y,
            stratify=self.partition == "stratified",
            groups=groups,
            deletion_prior=deletion_prior,
        )
        self._shard_seeds = rng.randint(MAX_SEED, size=self.n_shards)
        self._fit_template = clone(self._template())
        slices = [split_slices(s, self.n_slices) for s in shards]

        store = None if self.store is None else ShardStore.create(self.store)
        try:
            data = [
                save_shard(store, f"shard{k}", (X, y, sample_weight), s)
                for k, s in enumerate(shards)
            ]
            classes = getattr(self, "classes_", None)
            tasks = {
                k: self._shard_task(k, *data[k], slices[k], classes) for k in range(self.n_shards)
            }
            self._log(f"fitting {self.n_shards} shards of about {n // self.n_shards} rows")
            results = self._run_shards(tasks, "fitted", store)
        except BaseException:
            if store is not None:
                store.remove()
            raise
        # fit starts over: the previous fit's files are no longer this model's, and leaving
        # them would keep its rows on disk (rows the user may since have asked to forget).
        previous = getattr(self, "_store", None)
        if previous is not None and previous.directory != getattr(store, "directory", None):
            previous.remove()
        self._store = store
        self.store_dir_ = None if store is None else store.directory

        self.estimators_ = [results[k][0] for k in range(self.n_shards)]
        self._checkpoints = [results[k][1] for k in range(self.n_shards)]
        self._shard_data = data
        self.shard_indices_ = shards
        self.slice_indices_ = slices
        shard_of_position = np.empty(n, dtype=np.intp)
        slice_of_position = np.empty(n, dtype=np.intp)
        for k, s in enumerate(shards):
            shard_of_position[s] = k
            for r, rows in enumerate(slices[k]):
                slice_of_position[rows] = r
        self._shard_of_position = shard_of_position
        # Positions only (no row values): what a refit on every position would slice, which
        # the cost of a pipeline's refit of this step needs (see _refit_unlearn_cost).
        self._slice_of_position = slice_of_position
        self._reset_unlearning(n, keys)
        return self

    # -- unlearn ---------------------------------------------------------------------------

    def _plan(self, positions, replay_all=False):
        """For each shard to retrain: the mask of its rows kept, its new slices and the first
        slice to replay. Pure: reads the fitted state and changes nothing.

        With ``replay_all``, every non-empty shard is replayed from its first slice.
        """
        plan = {}
        shard_of = self._shard_of_position[positions]
        shards = range(len(self.shard_indices_)) if replay_all else np.unique(shard_of)
        for k in shards:
            removed = positions[shard_of == k]
            if self.shard_indices_[k].size == 0:
                continue  # an empty shard stays empty
            hit = [np.isin(s, removed) for s in self.slice_indices_[k]]
            new_slices = [s[~h] for s, h in zip(self.slice_indices_[k], hit)]
            first = 0 if replay_all else next(r for r, h in enumerate(hit) if h.any())
            keep = ~np.isin(self.shard_indices_[k], removed)
            plan[int(k)] = (keep, new_slices, first)
        return plan

    def _replay_size(self, new_slices, first) -> int:
        return int(sum(s.size for s in new_slices[first:]))

    def _plan_with_classes(self, positions):
        """The plan of :meth:`_plan`, the retained class counts and the classes left."""
        plan = self._plan(positions)
        counts = self._retained_class_counts(plan)
        classes = None if counts is None else self.classes_[counts > 0]
        n_slices = len(self.slice_indices_[0])
        if classes is not None and classes.size < self.classes_.size and n_slices > 1:
            # A class vanished: sliced shards were told every class at their first
            # partial_fit, so each must be replayed from scratch with the classes left.
            plan = self._plan(positions, replay_all=True)
        return plan, counts, classes

    def _unlearn(self, positions):
        plan, counts, classes = self._plan_with_classes(positions)
        tasks = {}
        for k, (keep, new_slices, first) in plan.items():
            shard = tuple(resolve(a) for a in self._shard_data[k])
            # With a store this writes new files: the current ones stay as they are until
            # the request has succeeded (then _unlearn_cleanup deletes them).
            data = save_shard(self._store, f"shard{k}", shard, keep)
            start_model = self._checkpoints[k][first - 1] if first > 0 else None
            tasks[k] = self._shard_task(k, *data, new_slices, classes, first, start_model)
        self._log(f"retraining {len(tasks)} of {len(self.shard_indices_)} shards")
        results = self._run_shards(tasks, "retrained", self._store)

        # Build the new state aside, then rebind: never mutate the current lists.
        estimators = list(self.estimators_)
        checkpoints = list(self._checkpoints)
        shard_data = list(self._shard_data)
        shard_indices = list(self.shard_indices_)
        slice_indices = list(self.slice_indices_)
        emptied = []
        for k, (keep, new_slices, first) in plan.items():
            model, new_checkpoints = results[k]
            estimators[k] = model
            checkpoints[k] = list(self._checkpoints[k][:first]) + new_checkpoints
            shard_data[k] = tasks[k]["X"], tasks[k]["y"], tasks[k]["sample_weight"]
            shard_indices[k] = self.shard_indices_[k][keep]
            slice_indices[k] = new_slices
            if model is None:
                emptied.append(k)
        new_state = {
            "estimators_": estimators,
            "_checkpoints": checkpoints,
            "_shard_data": shard_data,
            "shard_indices_": shard_indices,
            "slice_indices_": slice_indices,
        }
        if counts is not None:
            # A class whose rows are all forgotten leaves classes_: its label is row data.
            new_state["_class_counts"] = counts[counts > 0]
            new_state["classes_"] = classes
        # One swap, so that a concurrent predict sees the old estimators and classes or the
        # new ones, never new estimators with old classes.
        self._swap_state(**new_state)
        return {
            "exact": True,
            "distance_bound": None,
            "shards_retrained": sorted(plan),
            "samples_retrained": sum(self._replay_size(p[1], p[2]) for p in plan.values()),
            "slices_replayed": {k: len(p[1]) - p[2] for k, p in plan.items()},
            "empty_shards": emptied,
        }

    def _stored_refs(self):
        for data in self._shard_data:
            yield from data
        for checkpoints in self._checkpoints:
            yield from checkpoints

    def _unlearn_cleanup(self):
        # Whatever the outcome, the store keeps exactly the files of the settled state.
        store = getattr(self, "_store", None)
        if store is not None:
            store.collect(referenced_files(self._stored_refs()))

    def _check_store_intact(self):
        store = getattr(self, "_store", None)
        if store is None:
            return
        missing = store.missing(self._stored_refs())
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of this model's files in its store {store.directory!r} are "
                f"gone (first: {missing[0]!r}). Another copy of the model sharing the store "
                "has unlearned or refitted since this copy was made (which deletes the files "
                "holding the forgotten rows), or the files were deleted. This copy can still "
                "predict, but it cannot unlearn: fit it again."
            )

    def _check_unlearn_feasible(self, positions):
        self._check_store_intact()
        if self._shard_data[0][2] is None:
            return  # unweighted: the base class already checked that rows remain
        # Rows of zero weight teach nothing: some row of positive weight must remain.
        weights = [resolve(w) for _, _, w in self._shard_data]
        weighted = sum(int((w > 0).sum()) for w in weights)
        for k, (keep, _, _) in self._plan(positions).items():
            weighted -= int((weights[k][~keep] > 0).sum())
        if weighted == 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero "
                "sample weight, from which no shard can learn."
            )

    def _estimate_unlearn_cost(self, positions):
        plan = self._plan_with_classes(positions)[0]
        return {
            "shards_retrained": sorted(plan),
            "samples_retrained": sum(self._replay_size(p[1], p[2]) for p in plan.values()),
        }

    def _refit_unlearn_cost(self, forgotten) -> int:
        """Rows retrained by a clone fitted on all ``n_samples_fit_`` positions (this fit's
        partition and slices) when it forgets ``forgotten`` in one request.

        This is what :class:`skunlearn.pipeline.Pipeline` does to the steps after a changed
        transform: it refits them on every position and then forgets every forgotten
        position, those of earlier requests included, so the shards that held an earlier
        forgotten row are retrained again. Each affected shard replays its retained rows from
        the first slice holding a forgotten row. The forgotten positions' places are held by
        copies of retained rows, so no class vanishes and no shard replays from scratch for
        that reason.
        """
        forgotten = np.unique(np.asarray(forgotten, dtype=np.intp))
        gone = np.zeros(self.n_samples_fit_, dtype=bool)
        gone[forgotten] = True
        total = 0
        for k in np.unique(self._shard_of_position[forgotten]):
            in_shard = self._shard_of_position == k
            first = self._slice_of_position[forgotten[self._shard_of_position[forgotten] == k]]
            replayed = in_shard & (self._slice_of_position >= first.min()) & ~gone
            total += int(replayed.sum())
        return total

    def _per_row_unlearn_cost(self) -> np.ndarray:
        """Rows retrained if each retained row alone were forgotten (used by the cost scorer).

        A row in slice ``r`` of a shard costs a replay of slices ``r ..`` without it.
        """
        costs = []
        for slices in self.slice_indices_:
            sizes = np.array([s.size for s in slices])
            replay = np.cumsum(sizes[::-1])[::-1] - 1  # rows from slice r on, minus the row
            costs.append(np.repeat(replay, sizes))
        return np.concatenate(costs)

    def _verify_exact(self, X, y, sample_weight=None, shards=None):
        """Retrain shards from scratch on ``X[shard_indices_[k]]`` and compare predictions.

        ``X, y, sample_weight`` are the training data of the last fit (positions index into
        them). Each
        shard is trained from nothing through its slice schedule with its own seed, and its
        predictions on ``X`` are compared with the fitted shard's.

        Returns
        -------
        result : dict
            ``match`` (every checked shard identical), ``shards_checked``,
            ``shards_identical`` (lists of shard numbers) and ``max_abs_diff`` (largest
            difference between predictions or probabilities).
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        y = np.asarray(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        shards = range(len(self.shard_indices_)) if shards is None else shards
        checked, identical, max_diff = [], [], 0.0
        classes = getattr(self, "classes_", None)
        for k in shards:
            rows = self.shard_indices_[k]
            fitted = self.estimators_[k]
            checked.append(int(k))
            if rows.size == 0:
                if fitted is None:
                    identical.append(int(k))
                continue
            w_k = None if w is None else w[rows]
            X_k = take_rows(X, rows)
            task = self._shard_task(k, X_k, y[rows], w_k, self.slice_indices_[k], classes)
            fresh, _ = train_shard(**task)
            outputs = ["predict"] + (["predict_proba"] if hasattr(fresh, "predict_proba") else [])
            diff = max(_output_gap(getattr(fitted, m)(X), getattr(fresh, m)(X)) for m in outputs)
            max_diff = max(max_diff, diff)
            if diff == 0.0:
                identical.append(int(k))
        return {
            "match": identical == checked,
            "shards_checked": checked,
            "shards_identical": identical,
            "max_abs_diff": max_diff,
        }

    # -- predict ---------------------------------------------------------------------------

    def _fitted_estimators(self):
        return self._prediction_state()[0]

    def _prediction_state(self):
        """The shards' estimators and ``classes_`` (None for a regressor), read together.

        Prediction computes on this snapshot, so an :meth:`unlearn` in another thread cannot
        pair the old estimators with the new classes (or the reverse).
        """
        check_is_fitted(self)
        estimators, classes = self._read_state("estimators_", "classes_")
        return [est for est in estimators if est is not None], classes

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        if is_dataframe(X):
            # Checks the feature names and count; the shards get the DataFrame as it is.
            return validate_data(self, X, skip_check_array=True, reset=False)
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=False,
            reset=False,
        )


_STORE_DOC = """
    store : str or path-like, default=None
        Directory in which to keep the shards' data and slice checkpoints as files (None: in
        memory). Each fit writes into a new subdirectory of it, ``store_dir_``, and workers
        memory-map their shard's file, so the shards need not fit in memory together.
        Unlearning rewrites the affected shards' files without the forgotten rows and deletes
        the old ones. A pickled model refers to these files rather than containing them; see
        the :ref:`User Guide <scale>`.
"""

_SHARED_PARAMS_DOC = """
    estimator : estimator object, default=None
        The estimator cloned into every shard. Any scikit-learn estimator works, pipelines
        included (put preprocessing inside the shards: it then unlearns exactly too). None
        means a decision tree. With ``n_slices > 1`` it must have ``partial_fit``. A pandas
        (or polars) DataFrame reaches it as it is: each shard gets its rows by position, with
        the column names, dtypes and categories, so column transformers selecting by name,
        ``categorical_features="from_dtype"`` and ``set_output(transform="pandas")`` work in
        the shards. :meth:`unlearn` retrains shards with a clone of this estimator taken at
        ``fit``, and with the ``n_shards`` and ``n_slices`` of that fit: ``set_params`` after
        ``fit`` (``estimator__C=...``, ``n_shards=...``) changes the next fit only.

    n_shards : int, default=5
        Number of disjoint shards, each trained in isolation. Forgetting a row retrains only
        its shard: the expected number of rows retrained by ``K`` batched uniform requests is
        ``N * (1 - (1 - 1/n_shards) ** K)``. More shards make unlearning cheaper and each
        sub-model weaker.

    n_slices : int, default=1
        Number of slices per shard. With ``n_slices > 1`` each shard is trained slice by slice:
        ``partial_fit`` is called once on the rows of slice 0, then once on the rows of slice 1,
        and so on (every row is seen once, in training order), and the model after each slice
        is checkpointed. Forgetting a row restarts from the checkpoint before its slice and
        replays the later slices without it.
"""


class ShardedEnsembleClassifier(ClassifierMixin, _BaseShardedEnsemble):
    """Classifier that unlearns exactly by sharding, isolation, slicing and aggregation (SISA).

    The training rows are split into ``n_shards`` disjoint shards and one clone of
    ``estimator`` is trained on each. The ensemble predicts by aggregating the shards.
    :meth:`unlearn` retrains only the shards that held a forgotten row (in parallel, each
    once per request), so the result is exactly the model that training on the retained rows
    of every shard gives. After Bourtoule et al., "Machine Unlearning", IEEE S&P 2021.

    Read more in the :ref:`User Guide <sharded>`.

    Parameters
    ----------
    {shared}
    partition : {{"random", "stratified"}}, default="random"
        How rows are dealt to shards: at random (groups kept together when ``groups`` is given),
        or class by class so that every shard sees every class in proportion.

    aggregation : {{"soft", "hard"}}, default="soft"
        "soft" averages the shards' ``predict_proba`` (the wrapped estimator must have it);
        "hard" takes a majority vote of their predictions, ties going to the class that comes
        first in ``classes_``.

    n_jobs : int, default=None
        Number of jobs training shards in parallel. None means 1 unless in a
        :func:`joblib.parallel_config` context (which can also select a Dask or Ray backend);
        -1 means all processors.

    random_state : int, RandomState instance or None, default=None
        Controls the partition and the seeds of the shards' estimators. The seeds are drawn once
        per fit and reused by every retrain, so unlearning is exact for randomized estimators
        too.

    verbose : int, default=0
        Print progress while shards train.

    {store}

    Attributes
    ----------
    estimators_ : list of estimators
        One fitted estimator per shard; None for a shard whose rows were all forgotten. A
        shard whose retained rows carry a single class holds a constant classifier.

    shard_indices_ : list of ndarray
        For each shard, the positions (into the ``X`` of ``fit``) it currently trains on, in
        training order.

    slice_indices_ : list of list of ndarray
        For each shard, the positions of each slice.

    classes_ : ndarray of shape (n_classes,)
        The class labels seen at fit.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    store_dir_ : str or None
        The directory of this fit's files (a new ``fit-<id>`` subdirectory of ``store``), or
        None when the shard data is kept in memory.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call (None before the first): ``n_removed``,
        ``indices``, ``exact`` (True), ``distance_bound`` (None), ``seconds``,
        ``shards_retrained``, ``samples_retrained``, ``slices_replayed`` (per shard) and
        ``empty_shards`` (shards left without rows by this call).

    See Also
    --------
    ShardedEnsembleRegressor : The same ensemble for regression.

    Notes
    -----
    Exactness: after any sequence of :meth:`unlearn` calls, ``estimators_[k]`` equals a fresh
    clone of the shard's estimator trained on ``X[shard_indices_[k]]`` through the same slice
    schedule, with the same seed. The stored shard data and checkpoints never contain a
    forgotten row after the call returns.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> report = clf.unlearn([0, 5, 70]).unlearn_report_
    >>> report["exact"], report["n_removed"], report["distance_bound"]
    (True, 3, None)
    >>> len(clf.estimate_unlearn_cost([10])["shards_retrained"])  # one row: one shard
    1
    """

    _parameter_constraints: dict = {
        **_BaseShardedEnsemble._parameter_constraints,
        "partition": [StrOptions({"random", "stratified"})],
        "aggregation": [StrOptions({"soft", "hard"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_shards=5,
        n_slices=1,
        partition="random",
        aggregation="soft",
        n_jobs=None,
        random_state=None,
        verbose=0,
        store=None,
    ):
        super().__init__(
            estimator,
            n_shards=n_shards,
            n_slices=n_slices,
            partition=partition,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            store=store,
        )
        self.aggregation = aggregation

    def _default_estimator(self):
        return DecisionTreeClassifier()

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, deletion_prior=None, keys=None):
        """Fit one estimator per shard.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse matrices are accepted if the wrapped estimator accepts them.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to each shard's fit (the wrapped estimator must accept them).
        groups : array-like of shape (n_samples,), default=None
            Group (e.g. user) of each row. All rows of a group go to one shard, so forgetting a
            whole group retrains a single shard.
        deletion_prior : array-like of shape (n_samples,), default=None
            Non-negative likelihood that each row will be deleted later. Likely deletions are
            packed into few shards and into their last slices, which lowers the expected cost of
            future requests.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.
            Without ``groups``, rows are sharded by key: forgetting a key retrains one shard.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if self.aggregation == "soft" and not hasattr(self._template(), "predict_proba"):
            raise ValueError(
                f"aggregation='soft' averages predict_proba, which "
                f"{type(self._template()).__name__} does not have; use aggregation='hard'."
            )
        return self._fit(X, y, sample_weight, groups, deletion_prior, keys)

    def _prepare_targets(self, y):
        # Classes are known before the shards train: sliced shards pass them to partial_fit.
        check_classification_targets(y)
        self.classes_, self._class_counts = np.unique(y, return_counts=True)

    def _retained_class_counts(self, plan):
        counts = self._class_counts.copy()
        for k, (keep, _, _) in plan.items():
            removed = resolve(self._shard_data[k][1])[~keep]
            counts -= np.bincount(
                np.searchsorted(self.classes_, removed), minlength=self.classes_.size
            )
        return counts

    @available_if(_soft_with_proba)
    def predict_proba(self, X):
        """Mean of the shards' class probabilities (soft aggregation only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        estimators, classes = self._prediction_state()
        return mean_proba(estimators, self._validate_X_predict(X), classes)

    @available_if(_soft_with_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def decision_function(self, X):
        """Decision scores derived from the aggregate, consistent with :meth:`predict`.

        With ``aggregation="soft"``, from the mean probabilities: for two classes the log-odds
        of ``classes_[1]``, ``log p1 - log p0``; for more, the log-probabilities. With
        ``aggregation="hard"``, from the votes: the share of shards voting for each class (for
        two classes, the share for ``classes_[1]`` less the share for ``classes_[0]``). The
        shards' own decision functions are not averaged: their scales differ from shard to
        shard, and their mean would rank rows differently from the mean probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``, positive exactly where
            :meth:`predict` returns ``classes_[1]``; otherwise one column per class of
            ``classes_``, whose argmax is :meth:`predict`'s class.
        """
        estimators, classes = self._prediction_state()
        X = self._validate_X_predict(X)
        if self.aggregation == "soft":
            return decision_from_proba(mean_proba(estimators, X, classes))
        return decision_from_votes(vote_counts(estimators, X, classes), len(estimators))

    def predict(self, X):
        """Predict class labels by aggregating the shards.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        estimators, classes = self._prediction_state()
        X = self._validate_X_predict(X)
        if self.aggregation == "soft":
            scores = mean_proba(estimators, X, classes)
        else:
            scores = vote_counts(estimators, X, classes)
        return classes[np.argmax(scores, axis=1)]


class ShardedEnsembleRegressor(RegressorMixin, _BaseShardedEnsemble):
    """Regressor that unlearns exactly by sharding, isolation, slicing and averaging (SISA).

    The training rows are split into ``n_shards`` disjoint shards and one clone of
    ``estimator`` is trained on each; the prediction is the mean of the shards' predictions.
    :meth:`unlearn` retrains only the shards that held a forgotten row.

    Read more in the :ref:`User Guide <sharded>`.

    Parameters
    ----------
    {shared}
    partition : {{"random"}}, default="random"
        Rows are dealt to shards at random (groups kept together when ``groups`` is given).

    n_jobs : int, default=None
        Number of jobs training shards in parallel (see :func:`joblib.parallel_config`).

    random_state : int, RandomState instance or None, default=None
        Controls the partition and the seeds of the shards' estimators, drawn once per fit.

    verbose : int, default=0
        Print progress while shards train.

    {store}

    Attributes
    ----------
    estimators_ : list of estimators
        One fitted estimator per shard; None for a shard whose rows were all forgotten.

    shard_indices_ : list of ndarray
        For each shard, the positions it currently trains on, in training order.

    slice_indices_ : list of list of ndarray
        For each shard, the positions of each slice.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    store_dir_ : str or None
        The directory of this fit's files (a new ``fit-<id>`` subdirectory of ``store``), or
        None when the shard data is kept in memory.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call, as for :class:`ShardedEnsembleClassifier`.

    See Also
    --------
    ShardedEnsembleClassifier : The same ensemble for classification.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skunlearn.ensemble import ShardedEnsembleRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = ShardedEnsembleRegressor(Ridge(), n_shards=4, random_state=0).fit(X, y)
    >>> reg.unlearn([3, 4]).unlearn_report_["exact"]
    True
    >>> len(reg.shard_indices_[0]) + len(reg.shard_indices_[1]) > 0
    True
    """

    _parameter_constraints: dict = {
        **_BaseShardedEnsemble._parameter_constraints,
        "partition": [StrOptions({"random"})],
    }

    def _default_estimator(self):
        return DecisionTreeRegressor()

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, deletion_prior=None, keys=None):
        """Fit one estimator per shard.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (several outputs if the wrapped estimator supports them).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to each shard's fit.
        groups : array-like of shape (n_samples,), default=None
            Group (e.g. user) of each row; all rows of a group go to one shard.
        deletion_prior : array-like of shape (n_samples,), default=None
            Non-negative likelihood that each row will be deleted later.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.
            Without ``groups``, rows are sharded by key: forgetting a key retrains one shard.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, groups, deletion_prior, keys)

    def predict(self, X):
        """Mean of the shards' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        estimators = self._fitted_estimators()
        X = self._validate_X_predict(X)
        return sum(est.predict(X) for est in estimators) / len(estimators)


ShardedEnsembleClassifier.__doc__ = ShardedEnsembleClassifier.__doc__.format(
    shared=_SHARED_PARAMS_DOC.strip("\n").lstrip(), store=_STORE_DOC.strip("\n").lstrip()
)
ShardedEnsembleRegressor.__doc__ = ShardedEnsembleRegressor.__doc__.format(
    shared=_SHARED_PARAMS_DOC.strip("\n").lstrip(), store=_STORE_DOC.strip("\n").lstrip()
)
