"""Checking an unlearned model against retraining from scratch: the method keeps its promise."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_array, check_is_fitted

from skunlearn.base import is_unlearner
from skunlearn.metrics._gap import are_labels, paired_outputs, parameter_vector, retrain_gap
from skunlearn.metrics._membership import membership_inference_auc
from skunlearn.metrics._outputs import compared_output, kind_of
from skunlearn.metrics._reference import logistic_objective_of, polish_logistic
from skunlearn.pipeline import Pipeline, _unlearned_reference

__all__ = ["VerificationReport", "verify_unlearning"]


class VerificationReport(dict):
    """The result of :func:`verify_unlearning`: a dict that prints as a readable report.

    Keys are documented in :func:`verify_unlearning`; ``report["status"]`` is the verdict
    (``"passed"``, ``"failed"`` or ``"undecided"``) and ``report["reason"]`` says why.

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
        status = self.get("status") or {True: "passed", False: "failed"}.get(
            self.get("passed"), "undecided"
        )
        lines = [f"unlearning verification: {status.upper()}"]
        for key, value in self.items():
            if key in ("passed", "status"):
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
      model must be within the bound the last ``unlearn`` call reported. For
      :class:`~skunlearn.linear_model.InfluenceUnlearnLogistic` (alone or as the final step of
      a pipeline) the retrained parameters are polished by Newton steps on scikit-learn's
      objective until its gradient reaches its rounding floor, so that the reference itself
      is within a known, tiny distance of the exact optimum the bound refers to (a solver's
      refit stops at its tolerance, often farther away than the bound): the verdict is
      "passed" when the distance plus the reference's error is within the bound, "failed"
      when the distance less that error exceeds it, and "undecided" in between or when the
      reference could not be made tight enough. Certified removal is "undecided" without a
      given reference: its bound is on a noise-perturbed objective whose noise stays private.

    Forgotten rows may hold what the unlearned model no longer knows (a category whose rows
    were all forgotten, which an encoder or :class:`~skunlearn.naive_bayes.CategoricalNB`
    then refuses; a class). Outputs are compared on the rows that both the model and the
    reference answer for; a forgotten row that only one of them refuses is a failure, since
    the two then do not know the same categories.

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

        - ``"status"``: the verdict, ``"passed"``, ``"failed"`` or ``"undecided"`` (the claim
          cannot be checked, or the reference is not tight enough to judge it);
        - ``"passed"``: the same verdict as True, False or None (undecided);
        - ``"reason"``: one sentence saying why;
        - ``"claim"``: ``"exact"`` or ``"approximate"``, from ``unlearn_report_``;
        - ``"n_forgotten"``, ``"n_retained"``;
        - ``"reference"``: how the reference was obtained;
        - ``"checked_by"``, ``"match"``, ``"max_abs_diff"`` (exact claim): how the exact
          check was made and its outcome; ``"exact_check"``: what the model's own
          ``_verify_exact`` returned, if it was used;
        - ``"distance_bound"``, ``"parameter_distance"``, ``"within_bound"`` (approximate
          claim); ``"reference_gradient_norm"`` and ``"reference_error"`` (the gradient norm
          at the polished reference and its estimated distance to the exact optimum) when
          the reference was polished;
        - ``"rows_compared"``: present when some forgotten rows were left out of the
          comparison because both models refuse them;
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
    >>> report["status"], report["claim"], report["n_forgotten"]
    ('passed', 'exact', 20)
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
        status=None,
        passed=None,
        reason=None,
        claim="exact" if exact else "approximate",
        n_forgotten=int(forgotten.size),
        n_retained=int(retained.size),
    )

    own_check = getattr(model, "_verify_exact", None) if reference is None else None
    given = reference is not None
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

    # Forgotten rows may hold what neither model knows any more (a category or class whose
    # rows were all forgotten): compare where both answer, and require both to refuse alike.
    method = compared_output(model)
    if not hasattr(reference, method):
        method = compared_output(reference)
    answered, one_sided = _answered_rows(model, reference, X, forgotten, method)
    rows = np.sort(np.concatenate([retained, answered]))
    X_eval = _safe_indexing(X, rows)
    if answered.size < forgotten.size:
        report["rows_compared"] = int(rows.size)
    try:
        gap = retrain_gap(model, reference, X_eval)
    except ValueError as exc:  # outputs of different shapes: other classes or categories
        gap = None
        reason = f"the model and the reference cannot be compared: {exc}"
        _decide(report, "failed", _one_sided_reason(one_sided) if one_sided.size else reason)

    if gap is None:
        pass
    elif getattr(_final_step(model), "method", None) == "certified" and not given:
        report.update(distance_bound=last.get("distance_bound"))
        _decide(
            report,
            "undecided",
            "certified removal trains on a noise-perturbed objective (and retrains with fresh "
            "noise when its budget is spent), whose noise the model keeps private: neither "
            "its bound nor a retrain can be rebuilt from outside; pass reference= to check it",
        )
    elif exact:
        if own_check is not None:
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            result = own_check(X, y, **weights)
            max_diff = float(result["max_abs_diff"])
            match = _own_check_matches(result, max_diff, atol)
            report.update(checked_by="the model's own _verify_exact", exact_check=result)
        else:
            match, max_diff = _outputs_match(model, reference, X_eval, gap["output"], rtol, atol)
            report["checked_by"] = f"{gap['output']} of the reference on X"
        if one_sided.size:
            match = False
        report.update(match=match, max_abs_diff=max_diff)
        _decide(report, "passed" if match else "failed", _exact_reason(report, one_sided))
    else:
        _judge_bound(report, model, X, y, sample_weight, retained, gap, last, given, rtol, atol)

    report["gap"] = gap
    kept = np.isin(forgotten, answered)
    masks = {"forget": forgotten[kept], "retain": retained}
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


def _decide(report, status: str, reason: str) -> None:
    report["status"] = status
    report["passed"] = {"passed": True, "failed": False}.get(status)
    report["reason"] = reason


# Errors a fitted model raises on a row holding something it does not know (an unknown
# category: ValueError from an encoder, IndexError from CategoricalNB's count tables).
_REFUSALS = (ValueError, IndexError, KeyError)


def _answers(model, X, method) -> bool:
    try:
        getattr(model, method)(X)
    except _REFUSALS:
        return False
    return True


def _answered_rows(model, reference, X, forgotten, method):
    """The forgotten positions both models answer for, and those only one of them refuses."""
    if forgotten.size == 0:
        return forgotten, forgotten
    X_forgotten = _safe_indexing(X, forgotten)
    if _answers(model, X_forgotten, method) and _answers(reference, X_forgotten, method):
        return forgotten, forgotten[:0]
    both, one_sided = [], []
    for i in forgotten:  # rare: only after a category or class vanished
        row = _safe_indexing(X, [i])
        a, b = _answers(model, row, method), _answers(reference, row, method)
        if a and b:
            both.append(i)
        elif a != b:
            one_sided.append(i)
    return np.asarray(both, dtype=np.intp), np.asarray(one_sided, dtype=np.intp)


def _one_sided_reason(one_sided) -> str:
    return (
        f"{one_sided.size} forgotten rows (first: {one_sided[:5].tolist()}) are refused by "
        "only one of the model and the reference: they do not know the same categories"
    )


def _exact_reason(report, one_sided) -> str:
    if one_sided.size:
        return _one_sided_reason(one_sided)
    compared = report.get("rows_compared")
    where = "every row of X" if compared is None else f"{compared} rows of X (the others hold "
    where += "" if compared is None else "categories both models no longer know)"
    if report["match"]:
        return f"the model behaves as the reference on {where} ({report['checked_by']})"
    return (
        f"the model differs from the reference on {where}: largest difference "
        f"{report['max_abs_diff']:.3g} ({report['checked_by']})"
    )


def _final_step(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _polished_reference(model, X, y, sample_weight, retained):
    """``(theta, gradient_norm, error)`` of the exact retained optimum of a logistic model
    (or of a pipeline's final logistic step, on the retained rows through its earlier steps),
    or None when the objective cannot be rebuilt."""
    from skunlearn.linear_model import InfluenceUnlearnLogistic

    final = _final_step(model)
    if not isinstance(final, InfluenceUnlearnLogistic) or y is None:
        return None
    X_r = _safe_indexing(X, retained)
    if isinstance(model, Pipeline):
        X_r = model[:-1].transform(X_r)
    X_r = check_array(X_r, accept_sparse="csr", dtype=np.float64, order="C")
    weights = None if sample_weight is None else sample_weight[retained]
    built = logistic_objective_of(final, X_r, y[retained], weights)
    if built is None:
        return None
    obj, target, row_weights = built
    start = obj.project(obj.join(final.coef_, final.intercept_))
    return polish_logistic(obj, X_r, target, row_weights, start)


def _judge_bound(report, model, X, y, sample_weight, retained, gap, last, given, rtol, atol):
    """The verdict on an approximate claim: the reported bound against the distance to the
    exact retained optimum, allowing for the reference's own error."""
    bound = last.get("distance_bound")
    polished = None if given else _polished_reference(model, X, y, sample_weight, retained)
    error = 0.0
    if polished is not None:
        theta, grad_norm, error = polished
        own = parameter_vector(_final_step(model))
        distance = float(np.linalg.norm(own - theta))
        report["reference"] += "; polished by Newton steps on the model's objective"
        report.update(reference_gradient_norm=grad_norm, reference_error=error)
    else:
        distance = gap["parameter_distance"]
    within = None
    if distance is not None and bound is not None:
        within = bool(distance <= bound * (1 + rtol) + atol)
    report.update(distance_bound=bound, parameter_distance=distance, within_bound=within)
    limit = None if bound is None else bound * (1 + rtol) + atol

    if bound is None or distance is None:
        what = "no distance bound" if bound is None else "no parameter vector to measure"
        _decide(report, "undecided", f"the model reports {what}; the claim cannot be checked")
    elif polished is not None and error > 0.1 * bound:
        _decide(
            report,
            "undecided",
            f"the Newton-polished reference is within {error:.1g} of the exact optimum only, "
            f"too loose to judge a bound of {bound:.3g} (distance {distance:.3g})",
        )
    elif polished is not None and distance + error <= limit:
        _decide(
            report,
            "passed",
            f"distance {distance:.3g} to the exact optimum (reference within {error:.1g} of "
            f"it) is within the reported bound {bound:.3g}",
        )
    elif polished is not None and distance - error > limit:
        _decide(
            report,
            "failed",
            f"distance {distance:.3g} to the exact optimum exceeds the reported bound "
            f"{bound:.3g} by more than the reference's own error {error:.1g}",
        )
    elif polished is not None:
        _decide(
            report,
            "undecided",
            f"distance {distance:.3g} and bound {bound:.3g} differ by less than the "
            f"reference's own error {error:.1g}: the reference is not tight enough to judge",
        )
    elif within:
        _decide(report, "passed", f"distance {distance:.3g} is within the bound {bound:.3g}")
    else:
        _decide(
            report,
            "failed",
            f"distance {distance:.3g} to the reference exceeds the reported bound {bound:.3g}",
        )
        report["note"] = (
            "the bound is on the distance to the exact optimum of the retained objective; "
            "a reference fitted with a loose solver tolerance can be off by more than the "
            "bound itself: pass reference= fitted with a tight tolerance to rule this out"
        )


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
