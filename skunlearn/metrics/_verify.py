"""Checking an unlearned model against retraining from scratch: the method keeps its promise."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from skunlearn.base import is_unlearner
from skunlearn.metrics._gap import are_labels, paired_outputs, retrain_gap
from skunlearn.metrics._membership import membership_inference_auc
from skunlearn.metrics._outputs import kind_of
from skunlearn.pipeline import Pipeline, _unlearned_reference

__all__ = ["VerificationReport", "verify_unlearning"]


class VerificationReport(dict):
    """The result of :func:`verify_unlearning`: a dict that prints as a readable report.

    Keys are documented in :func:`verify_unlearning`; ``report["passed"]`` is the verdict.

    Examples
    --------
    >>> from skunlearn.metrics import VerificationReport
    >>> print(VerificationReport(passed=True, claim="exact", match=True, max_abs_diff=0.0))
    unlearning verification: PASSED
      claim: exact
      match: True
      max_abs_diff: 0
    """

    def __str__(self) -> str:
        verdict = {True: "PASSED", False: "FAILED", None: "NOT VERIFIABLE"}[self.get("passed")]
        lines = [f"unlearning verification: {verdict}"]
        for key, value in self.items():
            if key == "passed":
                continue
            if isinstance(value, dict):
                inner = ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
                lines.append(f"  {key}: {inner}")
            else:
                lines.append(f"  {key}: {_fmt(value)}")
        return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def _scores(model, X, y, masks) -> dict:
    if not hasattr(model, "score") or y is None:
        return {}
    return {
        name: float(model.score(_safe_indexing(X, rows), y[rows])) if rows.size else None
        for name, rows in masks.items()
    }


def verify_unlearning(
    model,
    X,
    y=None,
    *,
    reference=None,
    sample_weight=None,
    X_test=None,
    y_test=None,
    rtol=1e-7,
    atol=1e-9,
) -> VerificationReport:
    """Check an unlearned model against a model retrained from scratch on the retained rows.

    The retained rows are those of ``X`` not in ``model.unlearned_indices_``. The check
    depends on what the method claims in ``model.unlearn_report_``:

    - **exact**: the model must behave as the retrained model does. When no reference is
      given and the model can check this itself (it has a ``_verify_exact(X, y)`` method, as
      the sharded ensembles do: every shard is compared with a shard retrained from scratch on
      its retained rows, with its seed and slice schedule, since a fresh fit of the whole
      ensemble would partition the rows differently) that check decides; otherwise the
      outputs of the model and of the reference must agree to ``rtol`` and ``atol``. For a
      :class:`skunlearn.pipeline.Pipeline` the reference is built as its steps promise to
      end (see Notes), not as a fresh fit of the whole pipeline.
    - **approximate**: the distance between the parameters of the model and of the retrained
      model must be within the bound the last ``unlearn`` call reported.

    Parameters
    ----------
    model : estimator
        A fitted skunlearn unlearner.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The training data of the model's last ``fit`` (all ``n_samples_fit_`` rows,
        forgotten ones included: positions index into it).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        The training targets, if the model is supervised.
    reference : estimator, default=None
        An already retrained model to compare with, for example one fitted with a tighter
        tolerance than the model's own solver uses. None retrains a clone of the model.
    sample_weight : array-like of shape (n_samples,), default=None
        The sample weights of the last ``fit``, if any; the retrained model uses those of the
        retained rows. For a pipeline they are the final step's (``<name>__sample_weight``).
    X_test, y_test : array-like, default=None
        Rows never trained on. If given, the report adds test scores and membership
        inference AUCs (forgotten and retained rows against these rows).
    rtol, atol : float, default=1e-7, 1e-9
        Tolerance of the exact check: outputs ``a`` and reference outputs ``b`` must satisfy
        ``|a - b| <= atol + rtol * |b|`` (a model's own ``_verify_exact`` reports a largest
        absolute difference, compared with ``atol``). For the approximate check, the bound is
        relaxed by the same tolerances. Use ``rtol=0, atol=0`` to demand bitwise equality.

    Returns
    -------
    report : VerificationReport
        A dict, which prints as a readable report, with:

        - ``"passed"``: the verdict (True or False), or None when the claim cannot be checked
          (an approximate model that is not linear, without a parameter distance);
        - ``"claim"``: ``"exact"`` or ``"approximate"``, from ``unlearn_report_``;
        - ``"n_forgotten"``, ``"n_retained"``;
        - ``"reference"``: how the reference was obtained;
        - ``"checked_by"``, ``"match"``, ``"max_abs_diff"`` (exact claim): how the exact
          check was made and its outcome; ``"exact_check"``: what the model's own
          ``_verify_exact`` returned, if it was used;
        - ``"distance_bound"``, ``"parameter_distance"``, ``"within_bound"`` (approximate
          claim);
        - ``"gap"``: :func:`retrain_gap` between the model and the reference on ``X``;
        - ``"scores"``, ``"reference_scores"``: ``score`` of the model and of the reference
          on the forgotten, retained and (if given) test rows: after unlearning, the model's
          score on the forgotten rows should look like the reference's, not like its score on
          retained rows;
        - ``"membership_auc"`` (if ``X_test`` is given, and the model has ``predict_proba``
          or is a regressor): loss-attack AUC of forgotten against test rows (``"forget"``,
          0.5 is ideal) and of retained against test rows (``"retain"``, the baseline).

    See Also
    --------
    retrain_gap : The distances between the model and the reference.
    membership_inference_auc : The membership attack.

    Notes
    -----
    An estimator for which "retrained from scratch" is not a clone fitted on the retained rows
    (the sharded ensembles: their partition depends on the number of rows) defines
    ``_verify_exact(X, y, sample_weight=None)``. It receives the training data of the last
    fit and returns a dict with ``"max_abs_diff"`` and the verdict, either as ``"match"`` or
    as the lists ``"shards_checked"`` and ``"shards_identical"`` (all must be identical).

    A :class:`skunlearn.pipeline.Pipeline` with an exact claim is compared with a reference
    built step by step: each fitted step is a clone fitted on every row of ``X`` (the forgotten
    ones included) transformed by the reference's earlier steps, which then forgets
    ``unlearned_indices_`` with its own ``unlearn``. That is what the pipeline promises: a
    sharded ensemble after a changed scaler keeps the partition of all ``n_samples_fit_``
    positions, which a fit on the retained rows would not; a deterministic exact step (a
    scaler, naive Bayes) equals its refit on the retained rows. Steps with
    ``random_state=None`` cannot be reproduced: give them an int seed.

    The check is only as good as the reference: an approximate method's bound is on the
    distance to the *exact* optimum of the retained objective, so a reference fitted with a
    loose solver tolerance may itself be off by more than the bound. Pass a reference fitted
    with a tight tolerance in that case.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> from skunlearn.metrics import verify_unlearning
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = ShardedEnsembleClassifier(GaussianNB(), n_shards=4, random_state=0)
    >>> model.fit(X[:400], y[:400]).unlearn(range(20))  # doctest: +ELLIPSIS
    ShardedEnsembleClassifier(...)
    >>> report = verify_unlearning(model, X[:400], y[:400], X_test=X[400:], y_test=y[400:])
    >>> report["passed"], report["claim"], report["n_forgotten"]
    (True, 'exact', 20)
    """
    if not is_unlearner(model):
        raise TypeError(
            f"verify_unlearning checks skunlearn unlearners; {type(model).__name__} cannot unlearn."
        )
    check_is_fitted(model, "n_samples_fit_")
    n_x = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_x != model.n_samples_fit_:
        raise ValueError(
            f"X must be the training data of the model's last fit: the model was fitted on "
            f"{model.n_samples_fit_} rows, X has {n_x}. Positions in unlearned_indices_ "
            "index into that data."
        )
    y = None if y is None else np.asarray(y)
    if y is not None and y.shape[0] != n_x:
        raise ValueError(f"X and y have different numbers of rows: {n_x} and {y.shape[0]}.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=float)
        if sample_weight.shape != (n_x,):
            raise ValueError(
                f"sample_weight must have one value per row of X: expected shape ({n_x},), "
                f"got {sample_weight.shape}."
            )
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass X_test and y_test together, or neither.")

    forgotten = np.asarray(model.unlearned_indices_, dtype=np.intp)
    retained_mask = np.ones(n_x, dtype=bool)
    retained_mask[forgotten] = False
    retained = np.flatnonzero(retained_mask)
    last = model.unlearn_report_ or {}
    exact = bool(last.get("exact", True))
    report = VerificationReport(
        passed=None,
        claim="exact" if exact else "approximate",
        n_forgotten=int(forgotten.size),
        n_retained=int(retained.size),
    )

    own_check = getattr(model, "_verify_exact", None) if reference is None else None
    if reference is None and exact and isinstance(model, Pipeline):
        # Its steps end as their own unlearn leaves them, which for a sharded ensemble is not
        # a fresh fit on the retained rows (that would partition them differently).
        reference = _unlearned_reference(
            model, X, y, forgotten, **_weight_params(model, sample_weight)
        )
        report["reference"] = (
            "each step cloned, fitted on every row of X through the reference's earlier "
            "steps, then unlearn(forgotten)"
        )
    elif reference is None:
        weights = None if sample_weight is None else sample_weight[retained]
        X_retained = _safe_indexing(X, retained)
        y_retained = None if y is None else y[retained]
        reference = clone(model).fit(X_retained, y_retained, **_weight_params(model, weights))
        report["reference"] = "clone(model).fit(X[retained], y[retained])"
    else:
        check_is_fitted(reference)
        report["reference"] = f"given ({type(reference).__name__})"
    gap = retrain_gap(model, reference, X)

    if exact:
        if own_check is not None:
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            result = own_check(X, y, **weights)
            max_diff = float(result["max_abs_diff"])
            match = _own_check_matches(result, max_diff, atol)
            report.update(checked_by="the model's own _verify_exact", exact_check=result)
        else:
            match, max_diff = _outputs_match(model, reference, X, gap["output"], rtol, atol)
            report["checked_by"] = f"{gap['output']} of the reference on X"
        report.update(match=match, max_abs_diff=max_diff)
        report["passed"] = match
    else:
        bound = last.get("distance_bound")
        distance = gap["parameter_distance"]
        within = None
        if distance is not None and bound is not None:
            within = bool(distance <= bound * (1 + rtol) + atol)
        report.update(distance_bound=bound, parameter_distance=distance, within_bound=within)
        report["passed"] = within
        if within is False:
            report["note"] = (
                "the bound is on the distance to the exact optimum of the retained objective; "
                "a reference fitted with a loose solver tolerance can be off by more than the "
                "bound itself: pass reference= fitted with a tight tolerance to rule this out"
            )

    report["gap"] = gap
    masks = {"forget": forgotten, "retain": retained}
    scores = _scores(model, X, y, masks)
    reference_scores = _scores(reference, X, y, masks)
    if X_test is not None and y_test is not None and hasattr(model, "score"):
        scores["test"] = float(model.score(X_test, y_test))
        reference_scores["test"] = float(reference.score(X_test, y_test))
    if scores:
        report["scores"] = scores
        report["reference_scores"] = reference_scores
    attackable = hasattr(model, "predict_proba") or kind_of(model) == "regressor"
    if X_test is not None and y_test is not None and y is not None and attackable:
        report["membership_auc"] = {
            name: membership_inference_auc(
                model, _safe_indexing(X, rows), y[rows], X_test, y_test, attack="loss"
            )
            if rows.size
            else None
            for name, rows in masks.items()
        }
    return report


def _weight_params(model, sample_weight) -> dict:
    """Fit parameters passing ``sample_weight`` (a pipeline's go to its final step)."""
    if sample_weight is None:
        return {}
    if isinstance(model, Pipeline):
        return {f"{model.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


def _own_check_matches(result: dict, max_diff: float, atol: float) -> bool:
    """Read the verdict of a model's ``_verify_exact``.

    Its ``"match"`` decides if present. Otherwise, when it lists the parts it checked and
    those found identical (``shards_checked`` / ``shards_identical``), every part must be
    identical: a shard left empty on one side only shows in no output difference. Otherwise
    the largest output difference must be within ``atol``.
    """
    if "match" in result:
        return bool(result["match"])
    if "shards_checked" in result and "shards_identical" in result:
        return set(result["shards_checked"]) == set(result["shards_identical"])
    return max_diff <= atol


def _outputs_match(model, reference, X, method, rtol, atol) -> tuple[bool, float]:
    """Whether the compared outputs agree to tolerance, and their largest difference."""
    a, b = paired_outputs(model, reference, X, method)
    if are_labels(model, method):
        return bool(np.all(a == b)), float(np.mean(a != b)) if a.size else 0.0
    diff = np.abs(a - b)
    ok = bool(np.all(diff <= atol + rtol * np.abs(b)))
    return ok, float(diff.max()) if diff.size else 0.0
