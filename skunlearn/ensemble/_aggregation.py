"""Combining the shards' outputs onto the ensemble's global ``classes_``.

After unlearning, a shard may have lost a class (or all but one), so every shard's output is
first mapped onto the columns of the global ``classes_``; a class the shard does not know gets
probability zero from it. The ensemble's decision scores are derived from the aggregate (the
mean probabilities, or the votes), never from the shards' own decision functions, so that
``predict``, ``predict_proba`` and ``decision_function`` tell the same story whatever the
shards are: averaging the shards' raw scores (margins of an SVC, log-odds of a logistic
regression, on scales that differ from shard to shard) would rank rows differently from the
averaged probabilities.
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


# Probabilities are clipped to the smallest normal float before the logarithm, so that a class
# the shards give no probability at all scores a finite lowest value (about -708) instead of
# -inf; every positive probability keeps its own logarithm, so the clipping ties nothing new.
_TINY = np.finfo(np.float64).tiny


def decision_from_proba(proba) -> np.ndarray:
    """Decision scores that rank as the aggregated probabilities do (soft vote).

    Two classes: the log-odds of ``classes_[1]``, ``log p1 - log p0``, positive exactly when
    the soft vote predicts ``classes_[1]``. More classes: the log-probabilities, whose argmax
    is the soft vote's.
    """
    log_proba = np.log(np.clip(proba, _TINY, None))
    if proba.shape[1] == 2:
        return log_proba[:, 1] - log_proba[:, 0]
    return log_proba


def decision_from_votes(counts, n_voters: int) -> np.ndarray:
    """Decision scores of a hard vote: the share of shards voting for each class.

    Two classes: the share for ``classes_[1]`` less the share for ``classes_[0]``, positive
    exactly when the vote predicts ``classes_[1]`` (a tie goes to ``classes_[0]``).
    """
    shares = counts / n_voters
    if counts.shape[1] == 2:
        return shares[:, 1] - shares[:, 0]
    return shares
