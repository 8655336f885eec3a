"""The expected cost of forgetting one row, and the scorer that lets model selection weigh it."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from skunlearn.base import is_unlearner
from skunlearn.utils._stateless import learns_from_rows

__all__ = ["expected_unlearn_cost", "make_unlearn_cost_scorer", "unlearn_cost_scorer"]

# The probe sample is drawn with a fixed seed so that the cost of a model is a deterministic
# number and candidates of a grid search are compared on the same footing.
_PROBE_SEED = 0


def _measured_unlearner(estimator):
    """The estimator whose requests are costed.

    A skunlearn :class:`~skunlearn.pipeline.Pipeline` is itself an unlearner, and its estimate
    counts every step (a changed transform refits the later steps on every row). A
    scikit-learn pipeline cannot unlearn: it is costed by its final step only when every step
    before it learns nothing from the rows (passthrough or stateless transformers).
    """
    while isinstance(estimator, Pipeline) and not is_unlearner(estimator):
        fitted = [
            name
            for name, step in estimator.steps[:-1]
            if step is not None and not isinstance(step, str) and learns_from_rows(step)
        ]
        if fitted:
            raise TypeError(
                f"This scikit-learn Pipeline cannot unlearn: its steps {fitted} learned from "
                "every row, and forgetting one would mean refitting them and every later step. "
                "Use skunlearn.pipeline.Pipeline (whose cost counts every step), or put the "
                "preprocessing inside the shards of a sharded ensemble."
            )
        estimator = estimator.steps[-1][1]
    if not is_unlearner(estimator):
        raise TypeError(
            f"{type(estimator).__name__} cannot unlearn, so it has no unlearning cost: every "
            "deletion would mean retraining it from scratch. Pass a skunlearn unlearner (or a "
            "pipeline ending in one)."
        )
    check_is_fitted(estimator, "n_samples_fit_")
    return estimator


def expected_unlearn_cost(estimator, *, normalize=True, n_probes=100) -> float:
    """Expected number of rows retrained to forget one row, uniform over the retained rows.

    For a sharded ensemble with ``S`` equal shards and no slicing this is about ``N / S``
    (``1 / S`` normalized); for a method that retrains from scratch it is about ``N`` (1).

    Parameters
    ----------
    estimator : estimator
        A fitted unlearner. A :class:`skunlearn.pipeline.Pipeline` is costed as a whole: a
        request that changes a transform (a scaler's statistics move whenever a row leaves)
        refits every later step on all rows, and the cost says so. A scikit-learn pipeline is
        accepted when only its final step learns from the rows.
    normalize : bool, default=True
        Divide by the number of retained rows, giving the expected fraction of the training
        set retrained by one deletion.
    n_probes : int, default=100
        For estimators without an exact per-row cost, the number of retained rows (drawn with
        a fixed seed) whose one-row :meth:`~skunlearn.UnlearnerMixin.estimate_unlearn_cost`
        is averaged.

    Returns
    -------
    cost : float
        Expected rows retrained by a one-row request (a fraction if ``normalize``).

    See Also
    --------
    make_unlearn_cost_scorer : The negated cost as a scikit-learn scorer.

    Notes
    -----
    Estimators that know the cost of forgetting each row (the sharded ensembles: a row in
    slice ``r`` of a shard costs a replay of that shard's slices from ``r`` on) provide it
    through ``_per_row_unlearn_cost()``, and the mean is exact. Otherwise the cost is the
    mean of ``estimate_unlearn_cost([i])["samples_retrained"]`` over up to ``n_probes``
    retained rows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> from skunlearn.metrics import expected_unlearn_cost
    >>> X, y = load_iris(return_X_y=True)
    >>> model = ShardedEnsembleClassifier(n_shards=5, random_state=0).fit(X, y)
    >>> expected_unlearn_cost(model, normalize=False)  # a 30-row shard, less the row itself
    29.0
    >>> round(expected_unlearn_cost(model), 3)
    0.193
    """
    if not isinstance(n_probes, Integral) or isinstance(n_probes, bool) or n_probes < 1:
        raise ValueError(f"n_probes must be a positive integer, got {n_probes!r}.")
    model = _measured_unlearner(estimator)
    n_retained = model.n_samples_fit_ - len(model.unlearned_indices_)
    per_row = getattr(model, "_per_row_unlearn_cost", None)
    cost = float(np.mean(per_row())) if per_row is not None else _probed_cost(model, n_probes)
    return cost / n_retained if normalize else cost


def _probed_cost(model, n_probes: int) -> float:
    """Mean one-row ``estimate_unlearn_cost`` over a fixed-seed sample of retained rows."""
    retained = np.flatnonzero(model._retained_mask())
    rng = np.random.RandomState(_PROBE_SEED)
    probes = rng.choice(retained, size=min(n_probes, retained.size), replace=False)
    return float(np.mean([model.estimate_unlearn_cost([i])["samples_retrained"] for i in probes]))


class _UnlearnCostScorer:
    """Scorer returning minus :func:`expected_unlearn_cost` (scikit-learn maximizes scores)."""

    def __init__(self, normalize: bool = True):
        self.normalize = normalize

    def __call__(self, estimator, X=None, y_true=None, **kwargs) -> float:
        # X and y are unused: the cost is a property of the fitted model, not of the rows it
        # is scored on. GridSearchCV still passes them, as to every scorer.
        return -expected_unlearn_cost(estimator, normalize=self.normalize)

    def __repr__(self) -> str:
        return f"make_unlearn_cost_scorer(normalize={self.normalize})"


def make_unlearn_cost_scorer(normalize=True):
    """Make a scorer that rates a fitted model by how cheaply it forgets a row.

    scikit-learn maximizes scores, so the scorer returns the *negated*
    :func:`expected_unlearn_cost`: a lower cost is a higher score, and 0 would be free
    forgetting.

    Parameters
    ----------
    normalize : bool, default=True
        Score with the expected fraction of the training rows retrained by a one-row request
        (between -1 and 0) rather than with the number of rows.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable wherever scikit-learn takes a scorer, for
        example in the ``scoring`` dict of :class:`~sklearn.model_selection.GridSearchCV`. It
        ignores ``X`` and ``y``.

    See Also
    --------
    unlearn_cost_scorer : The scorer with ``normalize=True``.
    expected_unlearn_cost : The cost itself.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> from skunlearn.metrics import make_unlearn_cost_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(
    ...     ShardedEnsembleClassifier(random_state=0),
    ...     {"n_shards": [1, 5]},
    ...     scoring={"accuracy": "accuracy", "unlearn_cost": make_unlearn_cost_scorer()},
    ...     refit="accuracy",
    ... ).fit(X, y)
    >>> search.cv_results_["mean_test_unlearn_cost"].round(2).tolist()
    [-0.99, -0.19]
    """
    return _UnlearnCostScorer(normalize=bool(normalize))


unlearn_cost_scorer = make_unlearn_cost_scorer(normalize=True)
unlearn_cost_scorer.__doc__ = """Scorer: minus the expected fraction of rows retrained per deletion.

``unlearn_cost_scorer(estimator, X, y)`` equals ``-expected_unlearn_cost(estimator)``; use it
in ``scoring={"accuracy": "accuracy", "unlearn_cost": unlearn_cost_scorer}``.
"""
