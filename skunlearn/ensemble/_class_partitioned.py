"""Class-partitioned exact unlearning (ARCANE): one density or one-class model per class."""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
from scipy.special import softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.ensemble import BaseEnsemble
from sklearn.mixture import GaussianMixture
from sklearn.mixture._base import BaseMixture
from sklearn.neighbors import KernelDensity
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from skunlearn.base import UnlearnerMixin
from skunlearn.ensemble._arcane_blocks import assign_blocks, block_keys, class_seed, row_keys
from skunlearn.ensemble._selection import greedy_logdet_selection
from skunlearn.ensemble._shard import MAX_SEED, seed_estimator, train_shard
from skunlearn.utils._moments import moments_of

__all__ = ["ClassPartitionedClassifier"]

# Estimators whose ``score_samples`` is a log-density: comparable across classes as they are.
_LOG_DENSITIES = (BaseMixture, KernelDensity)


class _ClassRows(NamedTuple):
    """The retained rows of one class, in their original order, and what is derived from them."""

    X: np.ndarray  # the rows themselves (float64)
    positions: np.ndarray  # their positions in the X of fit (sorted)
    keys: np.ndarray  # their block keys in [0, 1)


class _ClassPlan(NamedTuple):
    """What forgetting some rows of one class changes (None in a plan: the class vanishes)."""

    keep: np.ndarray  # mask over the class's current rows
    blocks: list  # the new blocks (positions)
    first: int | None  # first block that differs from the current ones; None: no retraining


def _schedule(estimator, n_blocks: int) -> str:
    """How a class's blocks are trained: "fit", "partial_fit" or "warm_start"."""
    if n_blocks == 1:
        return "fit"
    if hasattr(estimator, "partial_fit"):
        return "partial_fit"
    # An ensemble's warm_start adds members instead of refining the previous solution, so it
    # would ignore the later blocks' rows.
    if "warm_start" in estimator.get_params(deep=False) and not isinstance(estimator, BaseEnsemble):
        return "warm_start"
    return "fit"


def _score_standardization(model, X) -> tuple[float, float]:
    """Mean and standard deviation of ``model``'s scores on its own training rows."""
    n, mean, m2 = moments_of(np.asarray(model.score_samples(X), dtype=float)[:, None])
    scale = float(np.sqrt(m2[0] / n))
    return float(mean[0]), scale if np.isfinite(scale) and scale > 0 else 1.0


def _train_class(estimator, X, block_sizes, *, label, schedule, start_block, start_model, norm):
    """Train one class's model from ``start_block`` on (a joblib task: it gets its rows only).

    Returns the model, the checkpoints after blocks ``start_block .. n_blocks - 2`` and the
    offset and scale that standardize its scores (0 and 1 for a log-density).
    """
    try:
        model, checkpoints = train_shard(
            estimator,
            X,
            np.zeros(X.shape[0]),  # one-class models ignore y
            None,
            block_sizes,
            start_slice=start_block,
            start_model=start_model,
            cumulative=schedule == "warm_start",
        )
    except ValueError as exc:
        raise ValueError(
            f"The {type(estimator).__name__} of class {label!r} could not be fitted on its "
            f"{X.shape[0]} training rows: {exc}"
        ) from exc
    offset, scale = _score_standardization(model, X) if norm else (0.0, 1.0)
    return model, checkpoints, offset, scale


class ClassPartitionedClassifier(
    UnlearnerMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Classifier that unlearns exactly by learning every class with its own model (ARCANE).

    One clone of a density or one-class ``estimator`` is trained per class, on that class's
    rows only, and a row is assigned to the class of highest calibrated score plus log prior.
    Forgetting a row retrains its class's model only, from the checkpoint before the first
    block it changes; the other classes are untouched. Unlike a sharded ensemble, every
    sub-model learns from all the rows of its class, so accuracy does not fall as the number of
    sub-models grows. After Yan et al., "ARCANE: An Efficient Architecture for Exact Machine
    Unlearning", IJCAI 2022.

    Read more in the :ref:`User Guide <class_partitioned>`.

    Parameters
    ----------
    estimator : estimator object, default=None
        The model cloned for every class: anything with ``fit`` and ``score_samples``. None
        means :class:`~sklearn.mixture.GaussianMixture` (one full-covariance Gaussian per
        class). Scores of :class:`~sklearn.mixture.GaussianMixture`,
        :class:`~sklearn.mixture.BayesianGaussianMixture` and
        :class:`~sklearn.neighbors.KernelDensity` are log-densities and are used as they are;
        the scores of any other estimator (:class:`~sklearn.svm.OneClassSVM`,
        :class:`~sklearn.ensemble.IsolationForest`, :class:`~sklearn.linear_model.SGDOneClassSVM`,
        pipelines, ...) are standardized per class by their mean and standard deviation on that
        class's training rows.

    n_blocks : int, default=1
        Number of blocks each class's training rows are split into, trained in order with a
        checkpoint after each; forgetting a row replays its class from the block it sat in.
        A row's block is fixed by a hash of its values under the class seed (uniform over the
        blocks, or pushed late by ``deletion_prior``), never by the other rows, so forgetting a
        row leaves every earlier block as it was. How block ``b`` is trained depends on the
        estimator (``schedule_``): with ``partial_fit``, one ``partial_fit`` call on the block's
        rows; otherwise, if the estimator has ``warm_start`` (and is not an ensemble, whose
        warm start adds members), ``fit`` on all the rows of blocks ``0 .. b`` with
        ``warm_start=True``, continuing from the state after block ``b - 1``. Any other
        estimator learns from all its rows at once, so blocks cannot save anything:
        ``n_blocks`` is then ignored, with a warning.

    selection : int, default=None
        If set, every class's model is trained on at most this many rows of the class, chosen
        by greedy maximization of the log-determinant of an RBF kernel matrix (a diverse,
        representative subset). Forgetting a row that was not selected retrains nothing when
        the selection recomputed without it is unchanged, which is almost always (the report
        lists such classes in ``classes_not_retrained``). None trains on every row.

    n_jobs : int, default=None
        Number of jobs training classes in parallel. None means 1 unless in a
        :func:`joblib.parallel_config` context; -1 means all processors.

    random_state : int, RandomState instance or None, default=None
        Controls the seeds. One base seed is drawn per fit; the seed of a class (given to its
        estimator and used to place its rows in blocks) is a function of that base seed and the
        class label only, so a fresh fit on the retained rows reproduces it.

    Attributes
    ----------
    estimators_ : list of estimators
        One fitted model per class, in the order of ``classes_``.

    shard_indices_ : list of ndarray
        For each class, the positions (into the ``X`` of ``fit``) its model is trained on, in
        training order (block by block).

    block_indices_ : list of list of ndarray
        For each class, the positions of each block (a single block when ``schedule_`` is
        "fit").

    schedule_ : {"fit", "partial_fit", "warm_start"}
        How the blocks are trained (see ``n_blocks``).

    classes_ : ndarray of shape (n_classes,)
        The classes with retained rows. A class whose rows are all forgotten leaves.

    class_count_ : ndarray of shape (n_classes,)
        Retained rows per class (selected or not).

    class_log_prior_ : ndarray of shape (n_classes,)
        Log of the retained class frequencies, updated by every :meth:`unlearn`.

    score_offset_, score_scale_ : ndarray of shape (n_classes,)
        The calibrated score of class ``k`` is ``(score_samples - score_offset_[k]) /
        score_scale_[k]``: 0 and 1 for log-densities, else the mean and standard deviation of
        the class model's scores on its training rows.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call (None before the first): ``n_removed``,
        ``indices``, ``exact`` (True), ``distance_bound`` (None), ``seconds``,
        ``classes_retrained`` (labels), ``classes_not_retrained`` (classes that lost only rows
        outside their selection, whose selection did not change: nothing retrained),
        ``samples_retrained`` (distinct rows trained on again), ``rows_fitted`` (rows passed to
        ``fit`` / ``partial_fit``, counted once per call), ``blocks_replayed`` (per retrained
        class) and ``n_classes_removed``.

    See Also
    --------
    skunlearn.ensemble.ShardedEnsembleClassifier : Exact unlearning by random shards (SISA).

    Notes
    -----
    Exactness: the fitted model is a deterministic function of each class's rows, in their
    original order, and of ``random_state``. A row's block is drawn from a hash of its bytes
    under its class seed (shifted towards the last blocks by ``deletion_prior``), so it does not
    depend on the other rows. After any sequence of :meth:`unlearn` calls the model therefore
    equals ``ClassPartitionedClassifier(**same_params).fit(X[retained], y[retained])``: the
    same blocks, selections, checkpoints, standardizations and priors, and identical
    predictions. Stored rows and checkpoints never hold a forgotten row after the call.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn.ensemble import ClassPartitionedClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = ClassPartitionedClassifier(random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.98
    >>> report = clf.unlearn([0, 1]).unlearn_report_
    >>> report["classes_retrained"], report["samples_retrained"]
    ([0], 48)
    >>> clf.estimate_unlearn_cost([100])["samples_retrained"]
    49
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "selection": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator=None, *, n_blocks=1, selection=None, n_jobs=None, random_state=None
    ):
        self.estimator = estimator
        self.n_blocks = n_blocks
        self.selection = selection
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _template(self):
        return GaussianMixture() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, deletion_prior=None):
        """Fit one model per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense).
        y : array-like of shape (n_samples,)
            Class labels.
        deletion_prior : array-like of shape (n_samples,), default=None
            Probability in [0, 1] that each row will be deleted later. A row with probability
            ``p`` is placed in the blocks covering ``[p, 1)`` of its class's key range, so
            likely deletions sit in the last blocks and forgetting them replays little.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        n = X.shape[0]
        if deletion_prior is not None:
            deletion_prior = np.asarray(deletion_prior, dtype=float)
            if deletion_prior.shape != (n,):
                raise ValueError(
                    f"deletion_prior must have one value per row: expected shape ({n},), got "
                    f"{deletion_prior.shape}."
                )
            if not np.all((deletion_prior >= 0) & (deletion_prior <= 1)):
                raise ValueError("deletion_prior must hold probabilities in [0, 1].")
        template = self._template()
        self.schedule_ = _schedule(template, self.n_blocks)
        if self.n_blocks > 1 and self.schedule_ == "fit":
            warnings.warn(
                f"n_blocks={self.n_blocks} has no effect with {type(template).__name__}, which "
                "has neither partial_fit nor warm_start: every class is fitted on all its rows "
                "at once and a deletion refits its class.",
                UserWarning,
            )
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        base_seed = int(check_random_state(self.random_state).randint(MAX_SEED))
        self._class_seeds = [class_seed(base_seed, label) for label in self.classes_]

        class_rows, blocks = [], []
        for k, seed in enumerate(self._class_seeds):
            positions = np.flatnonzero(y_idx == k)
            X_k = X[positions]
            prior = None if deletion_prior is None else deletion_prior[positions]
            keys = block_keys(row_keys(X_k, seed), prior)
            selected = self._select(X_k)
            class_rows.append(_ClassRows(X_k, positions, keys))
            blocks.append(self._blocks(positions[selected], keys[selected]))
        tasks = {k: self._task(k, class_rows[k], blocks[k], 0, None) for k in range(len(blocks))}
        results = self._train(tasks)

        results = [results[k] for k in range(len(blocks))]
        self._swap_state(
            _class_rows=class_rows,
            block_indices_=blocks,
            shard_indices_=[np.concatenate(b) for b in blocks],
            estimators_=[r[0] for r in results],
            _checkpoints=[r[1] for r in results],
            score_offset_=np.array([r[2] for r in results]),
            score_scale_=np.array([r[3] for r in results]),
            **self._priors(np.array([rows.positions.size for rows in class_rows])),
        )
        self._reset_unlearning(n)
        return self

    def _select(self, X_k) -> np.ndarray:
        if self.selection is None:
            return np.arange(X_k.shape[0])
        return greedy_logdet_selection(X_k, self.selection)

    def _blocks(self, positions, keys) -> list[np.ndarray]:
        n_blocks = 1 if self.schedule_ == "fit" else self.n_blocks
        return assign_blocks(positions, keys, n_blocks)

    def _task(self, k, rows: _ClassRows, blocks, start_block, start_model) -> dict:
        """Keyword arguments of :func:`_train_class` for class ``k`` (its own rows only)."""
        order = np.searchsorted(rows.positions, np.concatenate(blocks))
        estimator = seed_estimator(clone(self._template()), self._class_seeds[k])
        if self.schedule_ == "warm_start":
            estimator.set_params(warm_start=True)
        return {
            "estimator": estimator,
            "X": rows.X[order],
            "block_sizes": [b.size for b in blocks],
            "label": self._labels([k])[0],
            "schedule": self.schedule_,
            "start_block": start_block,
            "start_model": start_model,
            "norm": not isinstance(self._template(), _LOG_DENSITIES),
        }

    def _train(self, tasks: dict) -> dict:
        classes = list(tasks)
        results = Parallel(n_jobs=self.n_jobs)(delayed(_train_class)(**tasks[k]) for k in classes)
        return dict(zip(classes, results))

    @staticmethod
    def _priors(counts) -> dict:
        return {"class_count_": counts, "class_log_prior_": np.log(counts / counts.sum())}

    # -- unlearn ---------------------------------------------------------------------------

    def _owners(self, positions) -> np.ndarray:
        """The class (index into ``classes_``) of each retained position."""
        owner = np.empty(positions.size, dtype=np.intp)
        for k, rows in enumerate(self._class_rows):
            owner[np.isin(positions, rows.positions)] = k
        return owner

    def _plan(self, positions) -> dict[int, _ClassPlan | None]:
        """For each class that loses rows, what changes. Pure: reads the state, changes nothing."""
        owner = self._owners(positions)
        plan = {}
        for k in np.unique(owner):
            rows = self._class_rows[k]
            keep = ~np.isin(rows.positions, positions[owner == k])
            if not keep.any():
                plan[int(k)] = None
                continue
            selected = self._select(rows.X[keep])
            blocks = self._blocks(rows.positions[keep][selected], rows.keys[keep][selected])
            changed = (
                b
                for b, (old, new) in enumerate(zip(self.block_indices_[k], blocks))
                if not np.array_equal(old, new)
            )
            plan[int(k)] = _ClassPlan(keep, blocks, next(changed, None))
        return plan

    def _cost(self, step: _ClassPlan | None) -> tuple[int, int]:
        """(distinct rows trained on again, rows passed to fit / partial_fit) for one class."""
        if step is None or step.first is None:
            return 0, 0
        sizes = np.array([b.size for b in step.blocks])
        if self.schedule_ == "partial_fit":
            replayed = int(sizes[step.first :].sum())
            return replayed, replayed
        if self.schedule_ == "warm_start":
            seen = np.cumsum(sizes)
            fitted = seen[step.first :][sizes[step.first :] > 0]
            return int(sizes.sum()), int(fitted.sum())
        return int(sizes.sum()), int(sizes.sum())

    def _unlearn(self, positions):
        plan = self._plan(positions)
        kept = {
            k: _ClassRows._make(a[step.keep] for a in self._class_rows[k])
            for k, step in plan.items()
            if step is not None
        }
        tasks = {}
        for k, step in plan.items():
            if step is not None and step.first is not None:
                start_model = self._checkpoints[k][step.first - 1] if step.first > 0 else None
                tasks[k] = self._task(k, kept[k], step.blocks, step.first, start_model)
        results = self._train(tasks)

        # Build the new state aside, then rebind: never mutate the current lists or arrays.
        class_rows = list(self._class_rows)
        blocks = list(self.block_indices_)
        estimators = list(self.estimators_)
        checkpoints = list(self._checkpoints)
        offsets = self.score_offset_.copy()
        scales = self.score_scale_.copy()
        counts = self.class_count_.copy()
        for k, step in plan.items():
            if step is None:
                counts[k] = 0
                continue
            class_rows[k] = kept[k]
            counts[k] = kept[k].positions.size
            blocks[k] = step.blocks
            if k in results:
                model, new_checkpoints, offsets[k], scales[k] = results[k]
                estimators[k] = model
                checkpoints[k] = list(self._checkpoints[k][: step.first]) + new_checkpoints
        # A class whose rows are all forgotten leaves classes_: its label is row data.
        alive = np.flatnonzero(counts > 0)
        retrained = sorted(results)
        untouched = [k for k, step in sorted(plan.items()) if step is not None and k not in results]
        costs = [self._cost(step) for step in plan.values()]
        report = {
            "exact": True,
            "distance_bound": None,
            "classes_retrained": self._labels(retrained),
            "classes_not_retrained": self._labels(untouched),
            "samples_retrained": sum(c[0] for c in costs),
            "rows_fitted": sum(c[1] for c in costs),
            "blocks_replayed": dict(
                zip(
                    self._labels(retrained),
                    [len(plan[k].blocks) - plan[k].first for k in retrained],
                )
            ),
            "n_classes_removed": int(self.classes_.size - alive.size),
        }
        # One swap, so that a concurrent predict never pairs new models with old classes,
        # priors or standardizations.
        self._swap_state(
            _class_rows=[class_rows[k] for k in alive],
            block_indices_=[blocks[k] for k in alive],
            shard_indices_=[np.concatenate(blocks[k]) for k in alive],
            estimators_=[estimators[k] for k in alive],
            _checkpoints=[checkpoints[k] for k in alive],
            _class_seeds=[self._class_seeds[k] for k in alive],
            score_offset_=offsets[alive],
            score_scale_=scales[alive],
            classes_=self.classes_[alive],
            **self._priors(counts[alive]),
        )
        return report

    def _estimate_unlearn_cost(self, positions):
        plan = self._plan(positions)
        costs = {k: self._cost(step) for k, step in sorted(plan.items())}
        return {
            "classes_retrained": self._labels([k for k, c in costs.items() if c[1] > 0]),
            "samples_retrained": sum(c[0] for c in costs.values()),
            "rows_fitted": sum(c[1] for c in costs.values()),
        }

    @available_if(lambda self: self.selection is None)
    def _per_row_unlearn_cost(self) -> np.ndarray:
        """Rows retrained if each retained row alone were forgotten (used by the cost scorer).

        Without selection every retained row is trained on: a row in block ``b`` costs a replay
        of its class's blocks from ``b`` on with ``partial_fit``, and its whole class otherwise.
        """
        costs = []
        for blocks in self.block_indices_:
            sizes = np.array([b.size for b in blocks])
            if self.schedule_ == "partial_fit":
                replay = np.cumsum(sizes[::-1])[::-1] - 1
            else:
                replay = np.full(sizes.size, sizes.sum() - 1)
            costs.append(np.repeat(replay, sizes))
        return np.concatenate(costs)

    def _labels(self, indices) -> list:
        """Class labels as Python scalars, for reports."""
        return self.classes_[np.asarray(indices, dtype=np.intp)].tolist()

    # -- predict ---------------------------------------------------------------------------

    def _calibrated_scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The classes and, for each row and class, calibrated score plus log prior.

        The fitted attributes are read together, so an :meth:`unlearn` in another thread
        cannot pair the old models with the new classes or priors (or the reverse).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        classes, estimators, offset, scale, log_prior = self._read_state(
            "classes_", "estimators_", "score_offset_", "score_scale_", "class_log_prior_"
        )
        scores = np.column_stack([est.score_samples(X) for est in estimators])
        return classes, (scores - offset) / scale + log_prior

    def predict(self, X):
        """Predict the class of highest calibrated score plus log prior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        classes, scores = self._calibrated_scores(X)
        return classes[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Softmax of the calibrated scores plus log priors.

        For log-density models this is Bayes' rule: the posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return softmax(self._calibrated_scores(X)[1], axis=1)

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
