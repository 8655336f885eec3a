"""What the audit reads from a fitted model: its outputs, aligned so two models can be compared.

Two models of the same data may know different classes (forgetting every row of a class removes
it from ``classes_``), so class probabilities are always put on an explicit list of classes,
where a class the model does not know has probability zero.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier, is_regressor

# Floor on probabilities before taking logs: a model that gives a row's class probability zero
# has a large but finite loss, so averages and AUCs stay defined.
PROBA_FLOOR = 1e-12


def proba_on(model, X, classes) -> np.ndarray:
    """``model.predict_proba(X)`` with one column per entry of ``classes`` (zero if unknown)."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((proba.shape[0], len(classes)))
    known = np.isin(model.classes_, classes)
    out[:, np.searchsorted(classes, model.classes_[known])] = proba[:, known]
    return out


def true_class_proba(model, X, y, proba=None) -> np.ndarray:
    """Probability the model gives each row's own label (zero for a label it does not know).

    ``proba``, if given, is ``model.predict_proba(X)`` already computed.
    """
    y = np.asarray(y)
    if proba is None:
        proba = model.predict_proba(X)
    proba = np.asarray(proba, dtype=float)
    classes = model.classes_
    col = np.searchsorted(classes, y).clip(max=classes.size - 1)
    known = classes[col] == y
    return np.where(known, proba[np.arange(y.shape[0]), col], 0.0)


def compared_output(model) -> str:
    """The richest output both an audit and a comparison can use, by method name."""
    for method in ("predict_proba", "decision_function", "predict", "transform"):
        if hasattr(model, method):
            return method
    raise TypeError(
        f"{type(model).__name__} has none of predict_proba, decision_function, predict or "
        "transform, so its outputs cannot be compared."
    )


def kind_of(model) -> str:
    """'classifier', 'regressor' or 'other', as scikit-learn's tags say."""
    if is_classifier(model):
        return "classifier"
    if is_regressor(model):
        return "regressor"
    return "other"
