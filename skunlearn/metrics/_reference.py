"""A reference optimum tight enough to judge an approximate model's distance bound.

An approximate unlearner reports a bound on its distance to the *exact* optimum of the retained
objective. A model refitted by a solver stops at its tolerance, often farther from that optimum
than the bound itself (lbfgs at ``tol=1e-4`` against bounds of 1e-7), so a check against it can
call a correct model wrong. For L2-regularized logistic regression the objective is written down
once, in :mod:`skunlearn.linear_model._losses`; here the refit's parameters are polished by
Newton steps on it until the gradient stops shrinking (its rounding floor), and the reference
comes with an estimate of its own distance to the exact optimum, ``2 ||g|| / mu`` (``g`` the
final gradient, ``mu`` the smallest eigenvalue of the Hessian there; the factor 2 covers the
change of curvature over so small a distance).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight

from skunlearn.linear_model._losses import LogisticObjective

__all__ = ["logistic_objective_of", "polish_logistic"]

# Dense Newton steps need the (p, p) Hessian: above this many parameters the polish is skipped
# and the verdict is left undecided rather than paid for with minutes of factorizations.
_MAX_PARAMS = 3000
_MAX_STEPS = 30


def logistic_objective_of(model, X, y, sample_weight):
    """``(objective, class codes, row weights)`` of an ``InfluenceUnlearnLogistic``'s
    objective on the rows ``(X, y)``, or None if it cannot be rebuilt cheaply.

    The objective is scikit-learn's for the model's wrapped ``LogisticRegression``: its ``C``,
    ``fit_intercept`` and ``class_weight`` (computed for these rows, as a refit would).
    """
    params = model.get_params(deep=False)
    est = params.get("estimator") or LogisticRegression()
    classes = np.unique(y)
    if classes.size < 2:
        return None
    weights = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    class_weight = np.ones(classes.size)
    if est.class_weight is not None:
        class_weight = compute_class_weight(
            est.class_weight, classes=classes, y=y, sample_weight=weights
        )
    target = np.searchsorted(classes, y)
    obj = LogisticObjective(X.shape[1], classes.size, bool(est.fit_intercept), float(est.C))
    if obj.n_params > _MAX_PARAMS:
        return None
    return obj, target, weights * class_weight[target]


def polish_logistic(obj, X, target, weights, theta):
    """Newton steps on ``obj`` from ``theta`` until the gradient reaches its rounding floor.

    Returns ``(theta, gradient_norm, error)``: the polished parameters (in the layout of
    ``concatenate([coef_.ravel(), intercept_.ravel()])``, intercepts centred for the full
    softmax), the norm of the objective's gradient there and the estimated distance to the
    exact optimum.
    """
    gauge = obj.gauge()
    theta = obj.project(np.asarray(theta, dtype=np.float64))
    best = None
    for _ in range(_MAX_STEPS):
        gradient = obj.project(obj.gradient(obj.data_gradient(X, target, weights, theta), theta))
        norm = float(np.linalg.norm(gradient))
        if best is not None and norm >= 0.5 * best[1]:
            break  # no longer shrinking: rounding decides from here on
        hessian = obj.hessian(obj.data_hessian(X, weights, theta))
        if gauge is not None:  # flat along the gauge: solve on its complement
            hessian = hessian + np.outer(gauge, gauge)
        best = (theta, norm, hessian)
        if norm == 0.0:
            break
        step = linalg.solve(hessian, gradient, assume_a="pos")
        theta = obj.project(theta - step)
    theta, norm, hessian = best
    curvature = float(linalg.eigvalsh(hessian, subset_by_index=[0, 0])[0])
    error = 2.0 * norm / curvature if curvature > 0 else np.inf
    return theta, norm, error
