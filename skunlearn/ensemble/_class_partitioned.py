"""Class-partitioned exact unlearning (ARCANE): one density or one-class model per class."""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
from scipy import sparse
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
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
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

from skunlearn.base import UnlearnerMixin
from skunlearn.ensemble._arcane_blocks import assign_blocks, block_keys, class_seed, row_keys
from skunlearn.ensemble._selection import greedy_logdet_selection
from skunlearn.ensemble._shard import (
    MAX_SEED,
    is_dataframe,
    seed_estimator,
    take_rows,
    train_shard,
)
from skunlearn.utils._moments import moments_of

__all__ = ["ClassPartitionedClassifier"]

# Estimators whose ``score_samples`` is a log-density: comparable across classes as they are.
_LOG_DENSITIES = (BaseMixture, KernelDensity)


class _ClassRows(NamedTuple):
    """The retained rows of one class, in their original order, and what is derived from them."""

    X: np.ndarray  # the rows themselves (float64 array or CSR matrix, or DataFrame rows)
    positions: np.ndarray  # their positions in the X of fit (sorted)
    keys: np.ndarray  # their block keys in [0, 1)
    w: np.ndarray | None  # their sample weights (None: fitted without weights)

    def subset(self, rows) -> _ClassRows:
        """The rows ``rows`` (a mask or positions into these rows), as new arrays."""
        return _ClassRows._make(None if a is None else take_rows(a, rows) for a in self)


class _ClassPlan(NamedTuple):
    """What forgetting some rows of one class changes (None in a plan: the class vanishes)."""

    keep: np.ndarray  # mask over the class's current rows
    blocks: list  # the new blocks (positions)
    first: int | None  # first block that differs from the current ones; None: no retraining


def _float_numbers(X):
    """A pandas DataFrame with its integer and boolean columns as float64, the rest unchanged.

    Arrays are converted to float64 before the class models see them; the numeric columns of a
    DataFrame are too, so that a model scores a frame as it scores the same array (density
    models do not all treat integers as floats), while names, strings and categories stay.
    """
    if not hasattr(X, "iloc"):
        return X
    ints = {
        c: np.float64 for c, t in X.dtypes.items() if isinstance(t, np.dtype) and t.kind in "biu"
    }
    return X.astype(ints) if ints else X


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


def _check_weights_supported(estimator, n_blocks: int) -> None:
    """Refuse sample weights the class models cannot take, naming the estimator (as
    scikit-learn's meta-estimators do) rather than dropping them."""
    missing = [] if has_fit_parameter(estimator, "sample_weight") else ["fit"]
    if _schedule(estimator, n_blocks) == "partial_fit":
        if "sample_weight" not in inspect.signature(estimator.partial_fit).parameters:
            missing.append("partial_fit")
    if missing:
        raise ValueError(
            f"The estimator {type(estimator).__name__} does not accept sample_weight in "
            f"{' or '.join(missing)}: the class models cannot be trained with weights. Use an "
            "estimator that takes them (e.g. KernelDensity, OneClassSVM) or fit without."
        )


def _check_class_weights(classes, totals) -> None:
    """Every class must keep some weight: a model cannot be trained on zero-weight rows."""
    empty = classes[~(totals > 0)]
    if empty.size:
        raise ValueError(
            f"The rows of class(es) {empty[:5].tolist()} all have zero sample weight: every "
            "class needs rows of positive weight to train its model."
        )


def _score_standardization(model, X, sample_weight=None) -> tuple[float, float]:
    """Mean and standard deviation of ``model``'s scores on its own training rows.

    Weighted by the rows' sample weights, so that a row of weight 2 and two copies of it give
    the same standardization.
    """
    scores = np.asarray(model.score_samples(X), dtype=float)[:, None]
    n, mean, m2 = moments_of(scores, sample_weight)
    scale = float(np.sqrt(m2[0] / n))
    return float(mean[0]), scale if np.isfinite(scale) and scale > 0 else 1.0


def _train_class(
    estimator, X, sample_weight, block_sizes, *, label, schedule, start_block, start_model, norm
):
    """Train one class's model from ``start_block`` on (a joblib task: it gets its rows only).

    Returns the model, the checkpoints after blocks ``start_block .. n_blocks - 2`` and the
    offset and scale that standardize its scores (0 and 1 for a log-density).
    """
    try:
        model, checkpoints = train_shard(
            estimator,
            X,
            np.zeros(X.shape[0]),  # one-class models ignore y
            sample_weight,
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
    if model is None:
        raise ValueError(
            f"The {type(estimator).__name__} of class {label!r} would be trained on rows of "
            "zero sample weight only: every class needs rows of positive weight."
        )
    offset, scale = _score_standardization(model, X, sample_weight) if norm else (0.0, 1.0)
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
        lists such classes in ``classes_not_retrained``). Rows are selected by their values
        (densified for the kernel when sparse), whatever their sample weights, which travel
        with the selected rows. None trains on every row.

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
        Log of the retained class frequencies (of their total sample weight when fitted with
        ``sample_weight``), updated by every :meth:`unlearn`.

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

    DataFrames: a pandas (or polars) DataFrame reaches the class models as it is, each class
    getting its rows by position with their column names and dtypes (integer and boolean
    columns converted to float64, as arrays are); its rows' block keys come from pandas' own
    hash of their values.

    Sparse matrices reach the class models as CSR rows when the estimator accepts sparse
    input (its ``input_tags.sparse``, e.g. :class:`~sklearn.svm.OneClassSVM`,
    :class:`~sklearn.ensemble.IsolationForest`); otherwise ``fit`` raises a ``TypeError``.
    A sparse row gets the block of its dense values, so the ensemble equals the one fitted on
    ``X.toarray()`` wherever the estimator's own sparse and dense fits agree. Sample
    weights travel with their rows into every class model's ``fit`` or ``partial_fit``, the
    priors and the score standardization, and leave with them on :meth:`unlearn`: the model
    equals a fresh fit on the retained rows and their weights.

    Parameters: :meth:`unlearn` retrains with a clone of ``estimator``
    taken at ``fit`` and with that fit's ``n_blocks`` and ``selection``; ``set_params`` after
    ``fit`` changes the next fit only.

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

    # Left out of serving_copy(): the classes' rows, blocks, checkpoints and seeds.
    _training_state = (
        "_class_rows",
        "block_indices_",
        "shard_indices_",
        "_checkpoints",
        "_class_seeds",
        "_fit_params",
    )

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
        # Sparse rows reach the class models as they are: accepted when the estimator takes
        # them (OneClassSVM, IsolationForest, SGDOneClassSVM; not the density models).
        tags.input_tags.sparse = get_tags(self._template()).input_tags.sparse
        tags.input_tags.allow_nan = False
        return tags

    def _accept_sparse(self, template):
        """``accept_sparse`` for validating ``X`` (rows are taken by class, hence CSR)."""
        return "csr" if get_tags(template).input_tags.sparse else False

    def _check_sparse(self, X, template):
        if sparse.issparse(X) and not get_tags(template).input_tags.sparse:
            raise TypeError(
                f"Sparse data was passed for X, but the {type(template).__name__} fitted to "
                "each class requires dense data. Use X.toarray(), or an estimator that accepts "
                "sparse input (e.g. OneClassSVM, IsolationForest)."
            )

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, deletion_prior=None, keys=None):
        """Fit one model per class.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data. A DataFrame is passed to the class models as it is; a sparse
            matrix (converted to CSR) only if ``estimator`` accepts sparse input.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, passed with the class's rows to ``fit`` (and
            ``partial_fit``) of its model; the class priors and the standardization of
            scores are weighted too. The estimator must take ``sample_weight``
            (:class:`~sklearn.neighbors.KernelDensity`, :class:`~sklearn.svm.OneClassSVM`,
            :class:`~sklearn.ensemble.IsolationForest`, ... but not
            :class:`~sklearn.mixture.GaussianMixture`), and every class needs rows of
            positive weight. :meth:`unlearn` forgets a row's weight with the row.
        deletion_prior : array-like of shape (n_samples,), default=None
            Probability in [0, 1] that each row will be deleted later. A row with probability
            ``p`` is placed in the blocks covering ``[p, 1)`` of its class's key range, so
            likely deletions sit in the last blocks and forgetting them replays little.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if is_dataframe(X):
            # The class models get the user's DataFrame rows (column names, dtypes,
            # categories), as a plain scikit-learn fit of the estimator would.
            X = _float_numbers(validate_data(self, X, skip_check_array=True))
            y = _check_y(y, estimator=self)
            check_consistent_length(X, y)
        else:
            self._check_sparse(X, self._template())
            X, y = validate_data(
                self, X, y, dtype=np.float64, accept_sparse=self._accept_sparse(self._template())
            )
        check_classification_targets(y)
        n = X.shape[0]
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
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
        if sample_weight is not None:
            _check_weights_supported(template, self.n_blocks)
        # unlearn retrains with the parameters of this fit, whatever set_params does later.
        self._fit_params = {
            "estimator": clone(template),
            "n_blocks": self.n_blocks,
            "selection": self.selection,
        }
        self.schedule_ = _schedule(template, self.n_blocks)
        if self.n_blocks > 1 and self.schedule_ == "fit":
            warnings.warn(
                f"n_blocks={self.n_blocks} has no effect with {type(template).__name__}, which "
                "has neither partial_fit nor warm_start: every class is fitted on all its rows "
                "at once and a deletion refits its class.",
                UserWarning,
            )
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if sample_weight is not None:
            _check_class_weights(self.classes_, np.bincount(y_idx, sample_weight))
        base_seed = int(check_random_state(self.random_state).randint(MAX_SEED))
        self._class_seeds = [class_seed(base_seed, label) for label in self.classes_]

        class_rows, blocks = [], []
        for k, seed in enumerate(self._class_seeds):
            positions = np.flatnonzero(y_idx == k)
            X_k = take_rows(X, positions)
            prior = None if deletion_prior is None else deletion_prior[positions]
            block_key = block_keys(row_keys(X_k, seed), prior)
            selected = self._select(X_k)
            w_k = None if sample_weight is None else sample_weight[positions]
            class_rows.append(_ClassRows(X_k, positions, block_key, w_k))
            blocks.append(self._blocks(positions[selected], block_key[selected]))
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
            **self._priors(class_rows),
        )
        self._reset_unlearning(n, keys)
        return self

    def _select(self, X_k) -> np.ndarray:
        selection = self._fit_params["selection"]
        if selection is None:
            return np.arange(X_k.shape[0])
        try:
            # The greedy selection works on dense rows: a sparse class is densified for it
            # (its kernel rows are dense anyway).
            X_k = X_k.toarray() if sparse.issparse(X_k) else np.asarray(X_k, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "selection picks rows by an RBF kernel of their values, which needs numeric "
                f"features ({exc}); use selection=None with non-numeric columns."
            ) from exc
        return greedy_logdet_selection(X_k, selection)

    def _blocks(self, positions, keys) -> list[np.ndarray]:
        n_blocks = 1 if self.schedule_ == "fit" else self._fit_params["n_blocks"]
        return assign_blocks(positions, keys, n_blocks)

    def _task(self, k, rows: _ClassRows, blocks, start_block, start_model) -> dict:
        """Keyword arguments of :func:`_train_class` for class ``k`` (its own rows only)."""
        order = np.searchsorted(rows.positions, np.concatenate(blocks))
        template = self._fit_params["estimator"]
        estimator = seed_estimator(clone(template), self._class_seeds[k])
        if self.schedule_ == "warm_start":
            estimator.set_params(warm_start=True)
        return {
            "estimator": estimator,
            "X": take_rows(rows.X, order),
            "sample_weight": None if rows.w is None else rows.w[order],
            "block_sizes": [b.size for b in blocks],
            "label": self._labels([k])[0],
            "schedule": self.schedule_,
            "start_block": start_block,
            "start_model": start_model,
            "norm": not isinstance(template, _LOG_DENSITIES),
        }

    def _train(self, tasks: dict) -> dict:
        classes = list(tasks)
        results = Parallel(n_jobs=self.n_jobs)(delayed(_train_class)(**tasks[k]) for k in classes)
        return dict(zip(classes, results))

    @staticmethod
    def _priors(class_rows) -> dict:
        """Row counts and log priors (of the weight totals when fitted with weights)."""
        counts = np.array([rows.positions.size for rows in class_rows])
        totals = counts if class_rows[0].w is None else np.array([r.w.sum() for r in class_rows])
        return {"class_count_": counts, "class_log_prior_": np.log(totals / totals.sum())}

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
            selected = self._select(take_rows(rows.X, keep))
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
            k: self._class_rows[k].subset(step.keep) for k, step in plan.items() if step is not None
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
        alive = np.ones(len(class_rows), dtype=bool)
        for k, step in plan.items():
            if step is None:
                alive[k] = False
                continue
            class_rows[k] = kept[k]
            blocks[k] = step.blocks
            if k in results:
                model, new_checkpoints, offsets[k], scales[k] = results[k]
                estimators[k] = model
                checkpoints[k] = list(self._checkpoints[k][: step.first]) + new_checkpoints
        # A class whose rows are all forgotten leaves classes_: its label is row data.
        alive = np.flatnonzero(alive)
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
            **self._priors([class_rows[k] for k in alive]),
        )
        return report

    def _check_unlearn_feasible(self, positions):
        if self._class_rows[0].w is None:
            return
        # A class that keeps rows keeps a model, which needs some weight to be trained on.
        owner = self._owners(positions)
        for k in np.unique(owner):
            rows = self._class_rows[k]
            keep = ~np.isin(rows.positions, positions[owner == k])
            if keep.any() and not rows.w[keep].sum() > 0:
                raise ValueError(
                    f"Unlearning these {positions.size} rows would leave class "
                    f"{self._labels([k])[0]!r} with rows of zero sample weight only, from "
                    "which its model cannot be trained; forget those rows too."
                )

    def _estimate_unlearn_cost(self, positions):
        plan = self._plan(positions)
        costs = {k: self._cost(step) for k, step in sorted(plan.items())}
        return {
            "classes_retrained": self._labels([k for k, c in costs.items() if c[1] > 0]),
            "samples_retrained": sum(c[0] for c in costs.values()),
            "rows_fitted": sum(c[1] for c in costs.values()),
        }

    @available_if(lambda self: getattr(self, "_fit_params", vars(self))["selection"] is None)
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
        classes, estimators, offset, scale, log_prior = self._read_state(
            "classes_", "estimators_", "score_offset_", "score_scale_", "class_log_prior_"
        )
        if is_dataframe(X):
            X = _float_numbers(validate_data(self, X, skip_check_array=True, reset=False))
        else:
            # The fitted class models say whether they take sparse rows (a serving copy keeps
            # no template).
            self._check_sparse(X, estimators[0])
            X = validate_data(
                self,
                X,
                dtype=np.float64,
                accept_sparse=self._accept_sparse(estimators[0]),
                reset=False,
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
