"""Training one shard: the module-level worker that joblib runs, and its helpers.

The worker receives only the shard's own rows (never the ensemble, never the whole training
set), so that a process or cluster backend ships each task the data it needs and nothing more.
"""

from __future__ import annotations

import copy
from itertools import pairwise

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

MAX_SEED = np.iinfo(np.int32).max


def is_dataframe(X) -> bool:
    """Whether ``X`` is a pandas or polars DataFrame (checked without importing either, and
    without scikit-learn's private helpers, which moved between its versions)."""
    module = type(X).__module__ or ""
    return type(X).__name__ == "DataFrame" and module.split(".")[0] in ("pandas", "polars")


def take_rows(X, rows):
    """Rows ``rows`` (positions or a mask) of ``X``, in the container ``X`` came in.

    A DataFrame keeps its columns, dtypes and categories (pandas and polars rows are taken by
    position, never by index label), so that the wrapped estimators see what the user gave.
    """
    return _safe_indexing(X, rows, axis=0)


def slice_rows(X, lo, hi):
    """Rows ``lo .. hi - 1`` of ``X`` by position (``.iloc`` for pandas)."""
    return X.iloc[lo:hi] if hasattr(X, "iloc") else X[lo:hi]


def seed_estimator(estimator, seed: int):
    """Give every ``random_state`` parameter of ``estimator`` (nested ones too) an int seed.

    The seeds are drawn from ``seed``, so a shard retrained later with the same ``seed``
    reproduces the randomness of its first fit.
    """
    rng = np.random.RandomState(seed)
    to_set = {
        key: int(rng.randint(MAX_SEED))
        for key in sorted(estimator.get_params(deep=True))
        if key == "random_state" or key.endswith("__random_state")
    }
    if to_set:
        estimator.set_params(**to_set)
    return estimator


class SingleClassClassifier(ClassifierMixin, BaseEstimator):
    """Stands in for a shard whose retained rows all carry one class.

    Many classifiers refuse to fit on a single class, and every classifier that accepts it
    predicts that class with certainty, so a shard in that state is represented by this
    constant model, both at fit and after unlearning.
    """

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        if self.classes_.size != 1:
            raise ValueError("SingleClassClassifier is fitted on one class only.")
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.repeat(self.classes_, X.shape[0])

    def predict_proba(self, X):
        check_is_fitted(self)
        return np.ones((X.shape[0], 1))

    def decision_function(self, X):
        check_is_fitted(self)
        return np.ones(X.shape[0])


def train_shard(
    estimator,
    X,
    y,
    sample_weight,
    slice_sizes,
    *,
    is_classifier: bool = False,
    classes=None,
    start_slice: int = 0,
    start_model=None,
    cumulative: bool = False,
):
    """Fit one shard, slice by slice from ``start_slice``, and return its states.

    Parameters
    ----------
    estimator : estimator
        Unfitted template (already seeded) for this shard.
    X, y, sample_weight : arrays
        The shard's retained rows, in training order (``sample_weight`` may be None).
    slice_sizes : sequence of int
        Number of rows in each slice; a single slice means an ordinary ``fit``.
    is_classifier : bool, default=False
        Whether the shard is a classifier (single-class shards then get a constant model).
    classes : ndarray, default=None
        For sliced classifiers, every class of the ensemble (given to ``partial_fit``).
    start_slice : int, default=0
        First slice to train; earlier slices are represented by ``start_model``.
    start_model : estimator, default=None
        The checkpoint after slice ``start_slice - 1`` (None when no slice before it held rows).
    cumulative : bool, default=False
        For estimators without ``partial_fit``: slice ``r`` is learned by calling ``fit`` on the
        rows of slices ``0 .. r`` (all rows seen so far, in training order), continuing from the
        state after slice ``r - 1`` (so the estimator should be set to warm start). Until a first
        ``fit`` succeeds the state stays None: the first slices may hold too few rows for the
        estimator (a ``ValueError`` there is deferred to the next slice, never past the last).

    Returns
    -------
    model : estimator or None
        The state after the last slice; None if the shard has no rows.
    checkpoints : list
        The states after slices ``start_slice .. n_slices - 2`` (None where no row was seen yet).
    """
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    if len(slice_sizes) == 1:
        # Rows of zero weight teach nothing: a shard with no other rows is left out, and a
        # shard whose weighted rows carry one class predicts that class.
        informative = y if sample_weight is None else y[sample_weight > 0]
        if informative.shape[0] == 0:
            return None, []
        if is_classifier and np.unique(informative).size == 1:
            return SingleClassClassifier().fit(X, informative), []
        return clone(estimator).fit(X, y, **weights), []

    bounds = np.concatenate([[0], np.cumsum(slice_sizes)])
    model = copy.deepcopy(start_model)
    checkpoints = []
    informative = [
        hi > lo and (sample_weight is None or bool(sample_weight[lo:hi].any()))
        for lo, hi in pairwise(bounds)
    ]
    last_informative = max((r for r, i in enumerate(informative) if i), default=-1)
    for r in range(start_slice, len(slice_sizes)):
        lo, hi = bounds[r], bounds[r + 1]
        if informative[r] and cumulative:
            weight = None if sample_weight is None else sample_weight[:hi]
            last = r == last_informative
            model = _fit_cumulative(
                estimator, model, slice_rows(X, 0, hi), y[:hi], weight, last=last
            )
        elif informative[r]:
            if model is None:
                model = clone(estimator)
            params = {} if classes is None else {"classes": classes}
            if sample_weight is not None:
                params["sample_weight"] = sample_weight[lo:hi]
            model.partial_fit(slice_rows(X, lo, hi), y[lo:hi], **params)
        if r < len(slice_sizes) - 1:
            checkpoints.append(copy.deepcopy(model))
    return model, checkpoints


def _fit_cumulative(estimator, model, X, y, sample_weight, *, last: bool):
    """One step of the cumulative schedule: ``fit`` on every row seen so far, from ``model``.

    ``model`` is the worker's own copy (the previous state was deep-copied into the
    checkpoints already), so warm-starting it in place changes no stored state.
    """
    params = {} if sample_weight is None else {"sample_weight": sample_weight}
    if model is not None:
        return model.fit(X, y, **params)
    try:
        return clone(estimator).fit(X, y, **params)
    except ValueError:
        # Too few rows for the estimator yet: start at a later slice, deterministically.
        if last:
            raise
        return None
