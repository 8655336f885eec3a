"""How far a model is from a reference model (typically: retrained without the forgotten rows)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skunlearn.metrics._outputs import PROBA_FLOOR, compared_output, kind_of, proba_on

__all__ = ["are_labels", "paired_outputs", "parameter_vector", "retrain_gap"]


def parameter_vector(model) -> np.ndarray | None:
    """``concatenate([coef_.ravel(), intercept_.ravel()])`` of a linear model, else None.

    This is the layout in which skunlearn's approximate linear unlearners report their
    ``distance_bound``. A model fitted without intercept contributes ``coef_`` only (or a zero
    intercept, which does not change distances).
    """
    coef = getattr(model, "coef_", None)
    if coef is None:
        return None
    parts = [np.asarray(coef, dtype=float).ravel()]
    intercept = getattr(model, "intercept_", None)
    if intercept is not None:
        parts.append(np.asarray(intercept, dtype=float).ravel())
    return np.concatenate(parts)


def paired_outputs(model, reference, X, method: str) -> tuple[np.ndarray, np.ndarray]:
    """The two models' ``method`` outputs on ``X``, ready to subtract.

    Probabilities are put on the union of both models' classes; class labels are returned as
    they are (compare them with ``!=``); other outputs as float arrays of equal shapes.
    """
    if method == "predict_proba":
        classes = np.union1d(model.classes_, reference.classes_)
        return proba_on(model, X, classes), proba_on(reference, X, classes)
    a = _dense(getattr(model, method)(X))
    b = _dense(getattr(reference, method)(X))
    if a.shape != b.shape:
        raise ValueError(
            f"The models' {method} outputs have different shapes {a.shape} and {b.shape}; "
            "were they fitted on the same classes and features?"
        )
    if are_labels(model, method):
        return a, b
    return a.astype(float), b.astype(float)


def _dense(output) -> np.ndarray:
    """An output as an ndarray (a sparse transform, e.g. one-hot codes, made dense)."""
    return np.asarray(output.toarray() if hasattr(output, "toarray") else output)


def are_labels(model, method: str) -> bool:
    """Whether ``method``'s output is class labels (compared for equality, not subtracted)."""
    return method == "predict" and kind_of(model) == "classifier"


def retrain_gap(model, reference, X) -> dict:
    """Measure how differently two fitted models behave on ``X``.

    Typically ``model`` has unlearned rows and ``reference`` was retrained from scratch without
    them; a gap of zero everywhere means unlearning was indistinguishable from retraining on
    these rows. Evaluate on the training rows (forgotten ones included: that is where a
    difference would show first) and on unseen rows.

    Parameters
    ----------
    model : estimator
        A fitted estimator.
    reference : estimator
        A fitted estimator of the same kind (both classifiers, both regressors, ...).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows on which both models are evaluated.

    Returns
    -------
    gap : dict
        - ``"output"``: the output compared (``"predict_proba"``, ``"decision_function"``,
          ``"predict"`` or ``"transform"``, the first one both models have);
        - ``"max_abs_diff"``, ``"mean_abs_diff"``: largest and mean absolute difference between
          the two models' values of that output (for classifiers compared only by
          ``predict``: 1 if any label differs, and the share of rows whose labels differ);
        - ``"disagreement"``: share of rows whose predicted labels differ (classifiers; None
          otherwise);
        - ``"tv_mean"``, ``"tv_max"``: mean and largest total-variation distance
          ``0.5 * sum_c |p_c - q_c|`` between the predicted distributions (classifiers with
          ``predict_proba``; None otherwise);
        - ``"kl_mean"``, ``"kl_max"``: mean and largest ``KL(reference || model)``, with the
          model's probabilities floored at 1e-12 so that the divergence stays finite;
        - ``"parameter_distance"``: Euclidean distance between
          ``concatenate([coef_.ravel(), intercept_.ravel()])`` of the two models when both are
          linear with parameters of the same shape; None otherwise.

    See Also
    --------
    verify_unlearning : Retrains the reference itself and checks the method's guarantee.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import scale
    >>> from skunlearn.metrics import retrain_gap
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> a = LogisticRegression().fit(X, y)
    >>> b = LogisticRegression().fit(X[10:], y[10:])
    >>> gap = retrain_gap(a, b, X)
    >>> gap["output"], gap["disagreement"] < 0.05, 0 < gap["parameter_distance"] < 1
    ('predict_proba', True, True)
    >>> retrain_gap(a, a, X)["tv_max"]
    0.0
    """
    check_is_fitted(model)
    check_is_fitted(reference)
    kind = kind_of(model)
    if kind != kind_of(reference):
        raise ValueError(
            f"Cannot compare a {kind} ({type(model).__name__}) with a {kind_of(reference)} "
            f"({type(reference).__name__})."
        )
    gap = {
        "output": None,
        "max_abs_diff": None,
        "mean_abs_diff": None,
        "disagreement": None,
        "tv_mean": None,
        "tv_max": None,
        "kl_mean": None,
        "kl_max": None,
        "parameter_distance": None,
    }
    method = compared_output(model)
    if not hasattr(reference, method):
        method = compared_output(reference)
    gap["output"] = method

    if kind == "classifier":
        predicted = np.asarray(model.predict(X))
        gap["disagreement"] = float(np.mean(predicted != np.asarray(reference.predict(X))))
    a, b = paired_outputs(model, reference, X, method)
    if method == "predict_proba":
        diff = np.abs(a - b)
        tv = 0.5 * diff.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(b > 0, b * (np.log(b) - np.log(np.maximum(a, PROBA_FLOOR))), 0.0)
        kl = np.maximum(terms.sum(axis=1), 0.0)  # rounding can make a zero divergence negative
        gap.update(tv_mean=_mean(tv), tv_max=_max(tv), kl_mean=_mean(kl), kl_max=_max(kl))
    elif are_labels(model, method):
        diff = (a != b).astype(float)  # labels: the share of rows that differ
    else:
        diff = np.abs(a - b)
    gap.update(max_abs_diff=_max(diff), mean_abs_diff=_mean(diff))

    theta, theta_ref = parameter_vector(model), parameter_vector(reference)
    if theta is not None and theta_ref is not None and theta.shape == theta_ref.shape:
        gap["parameter_distance"] = float(np.linalg.norm(theta - theta_ref))
    return gap


def _max(values) -> float:
    return float(np.max(values)) if np.size(values) else 0.0


def _mean(values) -> float:
    return float(np.mean(values)) if np.size(values) else 0.0
