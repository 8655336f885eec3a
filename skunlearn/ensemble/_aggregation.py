"""Combining the shards' outputs onto the ensemble's global ``classes_``.

After unlearning, a shard may have lost a class (or all but one), so every shard's output is
first mapped onto the columns of the global ``classes_``; a class the shard does not know gets
probability zero from it.
"""

from __future__ import annotations

import numpy as np


def class_columns(classes, shard_classes) -> np.ndarray:
    """Column of the global ``classes`` for each of a shard's classes."""
    return np.searchsorted(classes, shard_classes)


def mean_proba(estimators, X, classes) -> np.ndarray:
    """Soft vote: the mean over shards of ``predict_proba`` on the global classes."""
    total = np.zeros((X.shape[0], classes.size))
    for est in estimators:
        total[:, class_columns(classes, est.classes_)] += est.predict_proba(X)
    return total / len(estimators)


def vote_counts(estimators, X, classes) -> np.ndarray:
    """Hard vote: for every row and class, how many shards predict that class."""
    counts = np.zeros((X.shape[0], classes.size))
    rows = np.arange(X.shape[0])
    for est in estimators:
        np.add.at(counts, (rows, class_columns(classes, est.predict(X))), 1)
    return counts


def _scores_per_class(est, X, classes) -> np.ndarray:
    """A shard's decision scores as one column per global class.

    Binary scores ``s`` (for ``est.classes_[1]``) become ``(-s, s)``; a single-class shard
    scores 1 for its class; classes the shard does not know score one less than the lowest
    score the shard gives that row, so they never win on its account.
    """
    raw = np.asarray(est.decision_function(X), dtype=float)
    if raw.ndim == 1:
        raw = raw[:, None] if len(est.classes_) == 1 else np.column_stack([-raw, raw])
    out = np.repeat(raw.min(axis=1, keepdims=True) - 1, classes.size, axis=1)
    out[:, class_columns(classes, est.classes_)] = raw
    return out


def mean_decision(estimators, X, classes) -> np.ndarray:
    """Mean over shards of per-class decision scores, in scikit-learn's output layout."""
    scores = sum(_scores_per_class(est, X, classes) for est in estimators) / len(estimators)
    if classes.size == 2:
        return (scores[:, 1] - scores[:, 0]) / 2
    return scores
