"""Logistic regression that forgets rows by Newton steps, with a certificate on every call."""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skunlearn.base import UnlearnerMixin
from skunlearn.linear_model._certificate import rounding_allowance
from skunlearn.linear_model._certified import draw_noise, removal_budget
from skunlearn.linear_model._cholesky import _MAX_LEVERAGE, DowndateError, _leverage
from skunlearn.linear_model._losses import LogisticObjective
from skunlearn.linear_model._newton import (
    Anchor,
    Problem,
    Weighting,
    build_store,
    certify,
    cheap_step,
    costs,
    evaluate,
    gradient_error,
    minimize,
    newton_steps,
    refresh,
)
from skunlearn.linear_model._puma import Criterion, puma_unlearn

__all__ = ["InfluenceUnlearnLogistic", "RefitWarning"]

_MAX_SEED = np.iinfo(np.int32).max
_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky")
# Above this many parameters, "auto" solves Newton systems by conjugate gradients instead of
# keeping a dense (p, p) Hessian and its factor.
_MAX_DENSE_PARAMS = 2000
# Downdates accumulate rounding; past this fraction of the rows present at the last refresh,
# the Hessian is recomputed from the rows.
_REFRESH_FRACTION = 0.5
_EPS = np.finfo(np.float64).eps
# Requests a cache is assumed to serve before any has been replaced (see _price).
_PRIOR_SERVED = 32
# What a request reads of the rows it removes.
_REMOVED_COLUMNS = ("X", "target", "sample_weight", "norms")
# The rows a request's validation took out of the store, for the _unlearn that follows it,
# kept outside the estimator's state (neither pickled nor restored by a failed call's undo).
_POPPED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class RefitWarning(UserWarning):
    """An unlearning request fell back to training from scratch on the retained rows."""


def _class_scale(class_weight, classes, weighted_counts) -> np.ndarray:
    """Class weights exactly as scikit-learn computes them for the rows at hand."""
    if class_weight is None:
        return np.ones(classes.size)
    if isinstance(class_weight, str):  # "balanced", with the weighted counts of the rows
        with np.errstate(divide="ignore"):
            return weighted_counts.sum() / (classes.size * weighted_counts)
    return compute_class_weight(class_weight, classes=classes, y=classes)


class InfluenceUnlearnLogistic(UnlearnerMixin, ClassifierMixin, BaseEstimator):
    """L2 logistic regression that unlearns rows by Newton steps, with a certified bound.

    Fitting trains a scikit-learn :class:`~sklearn.linear_model.LogisticRegression` (binary or
    multinomial, L2 penalty, solvers lbfgs, newton-cg or newton-cholesky) and keeps what a
    Newton step needs. :meth:`unlearn` then moves the parameters to the optimum of the
    objective without the forgotten rows by Newton steps on that *retained* objective, with
    its exact gradient and the cached Cholesky factor of its Hessian, downdated for the
    removed rows rather than refactorized. Every call reports a certified bound on the
    distance between the parameters and the exact optimum of the retained objective (the
    model retraining converges to).

    After Guo, Goldstein, Hannun and van der Maaten, "Certified Data Removal from Machine
    Learning Models", ICML 2020, and, for ``method="puma"``, Wu, Hashemi and Srinivasa, "PUMA:
    Performance Unchanged Model Augmentation for Training Data Removal", AAAI 2022.

    Read more in the :ref:`User Guide <influence>`.

    Parameters
    ----------
    estimator : LogisticRegression, default=None
        The model to train, unfitted; None means ``LogisticRegression()``. It must use the
        L2 penalty (``l1_ratio=0``, finite ``C``) and the solver lbfgs, newton-cg or
        newton-cholesky. Its ``C``, ``fit_intercept`` and ``class_weight`` define the
        objective; its solver and ``tol`` only matter for fits and refits.

    method : {"newton", "certified", "puma"}, default="newton"
        - "newton": Newton steps towards the retrained optimum, with a certified bound.
        - "certified": (epsilon, delta)-certified removal (Guo et al.): the model is trained
          on a randomly perturbed objective (to its exact optimum, starting from the wrapped
          model's fit), unlearns by Newton steps, and retrains itself with fresh noise when
          the removal budget is spent.
        - "puma": PUMA (Wu et al.): the forgotten rows' weight is removed in steps of size
          ``eta`` while a few retained rows are reweighted so that a performance criterion
          (the validation loss given to :meth:`fit`, else the training loss) is unchanged to
          first order. The fit is refined to the exact optimum, where that argument holds.

    max_newton_steps : int, default=5
        Most Newton steps per request; steps stop as soon as the certified bound is below
        ``tol * max(1, ||theta||)``. The first step of a request is certified without a pass
        when ``certificate`` allows; every further step costs one pass over the retained rows.

    tol : float, default=1e-6
        Relative target of the certified bound for further Newton steps.

    max_distance : float, default=None
        If the certified bound after the Newton steps exceeds this distance, refit from
        scratch on the retained rows instead (the report says so). None never refits for
        that reason (a refit still happens if no finite bound can be certified).

    solver : {"auto", "cholesky", "cg", "refit"}, default="auto"
        How a request reaches the retrained optimum: Newton steps whose systems are solved
        with a cached dense Cholesky factor of the Hessian, downdated at each request in
        ``O(p^2 k)`` ("cholesky"), or by conjugate gradients on exact Hessian-vector
        products ("cg": no ``(p, p)`` matrix, each product one pass over the rows); or a
        refit from scratch on the retained rows at every request ("refit": exact, no
        cache). "auto" takes "cholesky" up to 2000 parameters and "cg" beyond, and refits
        instead of a request's Newton update whenever a refit is expected to cost fewer
        floating-point operations (small data whose Hessian needs refreshing often; see
        :meth:`estimate_unlearn_cost` and the User Guide). A refit is exact: the report
        says so (``refit`` True, with the two costs in ``refit_reason``), without a
        :class:`RefitWarning`.

    certificate : {"auto", "lazy", "exact"}, default="auto"
        When a request pays an exact pass over the retained rows. Every request first takes
        a Newton step with the cached factor and certifies it without a pass, in
        ``O(p^2)`` (a bound that accumulates across requests; see the User Guide).

        - "auto": the pass (exact gradient, further Newton steps, an exact certificate) is
          paid only when that cheap bound exceeds ``tol * max(1, ||theta||)``: every
          call's bound meets the target.
        - "lazy": the pass is paid every ``pass_every`` requests (or when the cheap bound
          is infinite or above ``max_distance``); in between, each call reports the cheap
          bound, valid but possibly above the target. The cheapest stream of requests.
        - "exact": every request pays the pass.

    pass_every : int, default=50
        With ``certificate="lazy"``, the most requests between two exact passes.

    refresh_threshold : float, default=0.5
        The cached Hessian is stale when the curvature it certifies at the current
        parameters has fallen below this fraction of its value at the last refresh (or a
        Newton step shrank the gradient by less than a factor 10). A stale cache is still
        kept while the Newton steps it takes are cheaper than recomputing the Hessian at the
        current parameters (``O(n p^2)``); its smallest eigenvalue is certified anew from
        the factor (``O(p^3)``) when that is cheap; see the User Guide.

    epsilon : float, default=1.0
        Privacy parameter of certified removal (``method="certified"``).

    delta : float, default=1e-4
        Failure probability of certified removal (``method="certified"``).

    noise : float, default=1.0
        Standard deviation ``sigma`` of the training perturbation ``b^T theta`` of certified
        removal, in the units of the objective ``C sum_i s_i l_i + 1/2 ||W||^2``. The
        removal budget is ``sigma * epsilon / sqrt(2 log(1.5 / delta))``: more noise, fewer
        retrains, a less accurate model.

    eta : float, default=0.25
        PUMA step size: each step removes this fraction of the forgotten rows' weight, so
        that the first-order approximation behind the reweighting holds.

    weight_bounds : tuple of float, default=(0.0, 2.0)
        PUMA keeps every retained row's weight multiplier within these bounds.

    random_state : int, RandomState instance or None, default=None
        Seeds the training noise of certified removal (an int seed is drawn once per fit).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, updated by every :meth:`unlearn`.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts; for more than two classes they sum to zero (scikit-learn's convention
        for the full softmax, which is blind to shifting them all by the same amount).

    distance_bound_ : float
        Certified bound on the distance from the current parameters,
        ``np.concatenate([coef_.ravel(), intercept_.ravel()])``, to the exact optimum of the
        current objective (after :meth:`fit`: how far the solver stopped from it).

    solver_ : str
        "cholesky" or "cg": how Newton systems are solved; "refit" when every request
        refits.

    removal_budget_ : float
        Certified removal only: the budget of accumulated gradient residual.

    budget_used_ : float
        Certified removal only: the residual accumulated since the last (re)training.

    n_trainings_ : int
        Certified removal only: trainings so far, the fit's included (each one draws fresh
        noise).

    weights_ : ndarray of shape (n_samples_fit_,)
        PUMA only: the weight multiplier of every training row (0 for forgotten rows). Rows
        reweighted most carry the most of the performance the forgotten rows supported.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``seconds``,
        ``exact`` and ``distance_bound`` (the certified bound, or None after an exact
        refit), ``method``, ``newton_steps``, ``gradient_passes``, ``hessian_refreshes``,
        ``curvature_recertifications``, ``curvature_bound`` (the certified smallest Hessian
        eigenvalue used), ``gradient_norm`` (of the exact gradient, or None when no pass was
        paid), ``exact_pass`` (whether the call paid a pass over the rows),
        ``requests_since_pass``, ``refit`` and ``refit_reason``, ``samples_retrained``,
        ``newton_flops`` and ``refit_flops`` (the expected cost of either way, when
        ``solver="auto"`` weighed them), ``refit_cheaper`` (True for a refit chosen because
        it was cheaper); for
        certified removal also ``removal_budget``, ``budget_used``, ``budget_left`` and
        ``retrained``; for PUMA ``reweighted_distance_bound``, ``criterion_before``,
        ``criterion_after``, ``rows_reweighted`` and ``puma_steps``.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The wrapped model.
    skunlearn.ensemble.ShardedEnsembleClassifier : Exact unlearning by retraining shards.

    Notes
    -----
    The objective is scikit-learn's, written in the sum form
    ``F(theta) = C sum_i s_i l_i(theta) + 1/2 ||W||^2`` (``s_i``: sample weight times class
    weight; the intercept is not penalized). The reported bound holds on every call: it is
    computed either without a pass, from a bound on the gradient accumulated across requests
    and the cached Hessian (``unlearn_report_["exact_pass"]`` is False), or from the exact
    gradient of the retained objective at the new parameters, and in both cases a certified
    lower bound on the curvature (see the User Guide). The training rows are kept (the
    gradient needs them) and a forgotten row leaves them, and the cached Hessian, on the call
    that forgets it. Inside :class:`skunlearn.pipeline.Pipeline`, a StandardScaler just
    before this model does not make it refit when the scaler's statistics move: the change of
    features is absorbed into the same certified Newton step. A request that falls back to
    a refit warns with ``skunlearn.linear_model.RefitWarning``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skunlearn.linear_model import InfluenceUnlearnLogistic
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = InfluenceUnlearnLogistic().fit(scale(X), y)
    >>> report = clf.unlearn([0, 1, 2]).unlearn_report_
    >>> report["exact"], report["distance_bound"] < 1e-5
    (False, True)
    >>> clf.score(scale(X), y) > 0.95
    True
    """

    # serving_copy() is scikit-learn's LogisticRegression with the same coef_, intercept_ and
    # classes_ (for method="certified", the published model that the guarantee is about):
    # none of the certificate's state, PUMA's row weights or the cached curvature.
    _serving_estimator = LogisticRegression
    _training_state = (
        "distance_bound_",
        "solver_",
        "budget_used_",
        "n_trainings_",
        "removal_budget_",
        "weights_",
    )

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "method": [StrOptions({"newton", "certified", "puma"})],
        "max_newton_steps": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_distance": [Interval(Real, 0, None, closed="neither"), None],
        "solver": [StrOptions({"auto", "cholesky", "cg", "refit"})],
        "certificate": [StrOptions({"auto", "lazy", "exact"})],
        "pass_every": [Interval(Integral, 1, None, closed="left")],
        "refresh_threshold": [Interval(Real, 0, 1, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="neither")],
        "eta": [Interval(Real, 0, 1, closed="right")],
        "weight_bounds": [tuple],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        method="newton",
        max_newton_steps=5,
        tol=1e-6,
        max_distance=None,
        solver="auto",
        certificate="auto",
        pass_every=50,
        refresh_threshold=0.5,
        epsilon=1.0,
        delta=1e-4,
        noise=1.0,
        eta=0.25,
        weight_bounds=(0.0, 2.0),
        random_state=None,
    ):
        self.estimator = estimator
        self.method = method
        self.max_newton_steps = max_newton_steps
        self.tol = tol
        self.max_distance = max_distance
        self.solver = solver
        self.certificate = certificate
        self.pass_every = pass_every
        self.refresh_threshold = refresh_threshold
        self.epsilon = epsilon
        self.delta = delta
        self.noise = noise
        self.eta = eta
        self.weight_bounds = weight_bounds
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- configuration ---------------------------------------------------------------------

    def _serving_params(self, target):
        return self._fitted_template.get_params(deep=False)

    def _template(self) -> LogisticRegression:
        """The wrapped model, checked to optimize the objective this class unlearns."""
        est = LogisticRegression() if self.estimator is None else self.estimator
        if not isinstance(est, LogisticRegression) or type(est).__name__ != "LogisticRegression":
            raise ValueError(
                f"estimator must be a scikit-learn LogisticRegression, got {type(est).__name__}."
            )
        problems = []
        if est.solver not in _SOLVERS:
            problems.append(f"solver={est.solver!r} (use one of {', '.join(_SOLVERS)})")
        if est.penalty not in ("deprecated", "l2"):
            problems.append(f"penalty={est.penalty!r} (only the L2 penalty)")
        if est.l1_ratio not in (0, 0.0, None):
            problems.append(f"l1_ratio={est.l1_ratio!r} (only l1_ratio=0, the L2 penalty)")
        if not (np.isfinite(est.C) and est.C > 0):
            problems.append(f"C={est.C!r} (C must be finite: no penalty, no strong convexity)")
        if est.dual:
            problems.append("dual=True (only the primal problem)")
        if problems:
            raise ValueError(
                "InfluenceUnlearnLogistic unlearns scikit-learn's L2-penalized logistic "
                "objective (solvers lbfgs, newton-cg, newton-cholesky); the estimator has "
                + "; ".join(problems)
                + "."
            )
        bounds = tuple(self.weight_bounds)
        if len(bounds) != 2 or not (0 <= bounds[0] <= 1 <= bounds[1]):
            raise ValueError(
                f"weight_bounds must be (low, high) with 0 <= low <= 1 <= high, got "
                f"{self.weight_bounds!r}."
            )
        return est

    # -- fit -------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, keys=None):
        """Fit the wrapped logistic regression and prepare for unlearning.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, as in scikit-learn.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation rows whose loss PUMA keeps unchanged (``method="puma"``); without
            them it keeps the training loss.
        y_val : array-like of shape (n_val,), default=None
            Their labels.
        keys : array-like of shape (n_samples,), default=None
            One key per row (a customer ID, e.g. ``df["customer_id"]``), so that
            ``unlearn(keys=[...])`` can forget every row of a key; see :ref:`keys_and_audit`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        template = self._template()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64, order="C")
        check_classification_targets(y)
        has_weights = sample_weight is not None
        if has_weights:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        else:
            sample_weight = np.ones(X.shape[0])
        criterion = None
        if self.method == "puma" and X_val is not None:
            if y_val is None:
                raise ValueError("X_val was given without y_val.")
            X_val, y_val = validate_data(
                self, X_val, y_val, accept_sparse="csr", dtype=np.float64, reset=False
            )
            criterion = (X_val, np.asarray(y_val))
        n = X.shape[0]
        self._has_sample_weight = has_weights
        self._seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
        self._fitted_template = clone(template)
        state = self._train(X, y, sample_weight, np.arange(n), n, criterion, 0)
        self._swap_state(**state, _history=_History())
        self._reset_unlearning(n, keys)
        return self

    def _train(
        self, X, y, sample_weight, positions, n_total, criterion, training, *, cache_wanted=True
    ):
        """Train from scratch on the rows at ``positions`` (of ``n_total`` training rows)
        and return the fitted state, unbound.

        Shared by :meth:`fit` and by refits, so that a refit is exactly a fit on the
        retained rows. ``cache_wanted=False`` skips the Hessian factor (a refit chosen because it
        was cheaper than refreshing it; the next Newton update computes it if it is taken).
        """
        template = self._fitted_template
        est = clone(template)
        est.fit(X, y, sample_weight if self._has_sample_weight else None)
        classes = est.classes_
        target = np.searchsorted(classes, y)
        obj = LogisticObjective(X.shape[1], classes.size, bool(est.fit_intercept), float(est.C))
        theta = obj.project(obj.join(est.coef_, est.intercept_))
        store = build_store(X, target, sample_weight, positions, obj.fit_intercept)
        counts = np.bincount(target, minlength=classes.size)
        weighted = np.bincount(target, weights=sample_weight, minlength=classes.size)
        weighting = Weighting(_class_scale(template.class_weight, classes, weighted))
        state = {
            "classes_": classes,
            "_objective": obj,
            "_class_counts": counts,
            "_n_positive": int(np.count_nonzero(sample_weight > 0)),
        }
        solver = self.solver
        if solver == "auto":
            solver = "cholesky" if obj.n_params <= _MAX_DENSE_PARAMS else "cg"
        # What a refit costs, in the cost model of ._newton.Costs: scikit-learn's
        # iterations of this fit, each about one pass (lbfgs), ten Hessian-vector products
        # (newton-cg) or one Hessian (newton-cholesky).
        state["_fit_iterations"] = int(np.max(np.atleast_1d(est.n_iter_)))
        noise = None
        if self.method == "certified":
            noise = draw_noise(self._seed, training, self.noise, obj)
        elif self.method == "puma":
            multiplier = np.zeros(n_total)
            multiplier[positions] = 1.0
            weighting = Weighting(weighting.class_scale, multiplier)
            state["_criterion"] = Criterion.build(criterion, classes)
        problem = Problem(obj, store, weighting, noise)
        if self.method != "newton":
            # Certified removal needs the exact optimum of the perturbed objective; PUMA's
            # first-order argument holds at the optimum.
            ev, _ = minimize(problem, theta, use_cg=solver == "cg", seed=self._seed)
            theta = ev.theta
        cache = None
        if solver == "cholesky" and cache_wanted:
            problem, cache = refresh(problem, theta, seed=self._seed)
        ev = evaluate(problem, theta)
        bound, _ = certify(problem, ev, cache)
        coef, intercept = obj.split(ev.theta)
        state.update(
            coef_=coef.copy(),
            intercept_=intercept.copy(),
            distance_bound_=bound,
            solver_=solver,
            _problem=problem,
            _theta=ev.theta,
            _gradient=ev.gradient,
            _gradient_error=gradient_error(ev, cache),
            _anchor=Anchor.of(ev),
            _since_pass=0,
            _cache=cache,
            _input_scale=None,
            _input_shift=None,
        )
        if noise is not None:
            state.update(
                removal_budget_=removal_budget(self.epsilon, self.delta, self.noise),
                budget_used_=ev.grad_norm + ev.rounding,
                n_trainings_=training + 1,
            )
        if self.method == "puma":
            state["weights_"] = weighting.multiplier
        return state

    # -- unlearn ---------------------------------------------------------------------------

    def _retained_counts_after(self, positions):
        """Rows left per class, and how many rows of positive weight are left."""
        removed = self._problem.store.take(positions, ["target", "sample_weight"])
        return self._counts_after(removed)

    def _counts_after(self, removed):
        counts = self._class_counts - np.bincount(removed["target"], minlength=self.classes_.size)
        positive = self._n_positive - int(np.count_nonzero(removed["sample_weight"] > 0))
        return counts, positive

    def _check_unlearn_feasible(self, positions):
        # The walk over the store that finds the removed rows also builds the store without
        # them; _unlearn reuses it for these very positions (the array validation returned).
        removed, store, _ = self._problem.store.pop(positions, _REMOVED_COLUMNS)
        _POPPED[self] = (positions, removed, store)
        counts, positive = self._counts_after(removed)
        if np.count_nonzero(counts) < 2:
            left = self.classes_[counts > 0]
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of class "
                f"{left.tolist()}: a logistic model needs two classes. Fit a new model "
                "instead."
            )
        if positive == 0:
            raise ValueError(
                f"Unlearning these {positions.size} rows would leave only rows of zero "
                "sample weight, from which nothing can be learned."
            )

    def _estimate_unlearn_cost(self, positions):
        _POPPED.pop(self, None)  # an estimate changes nothing, keeps nothing
        counts, _ = self._retained_counts_after(positions)
        n_left = self.n_samples_fit_ - self.unlearned_indices_.size - positions.size
        if np.any(counts == 0) or self.solver_ == "refit":
            return {"samples_retrained": int(n_left), "refit": True}
        upfront = forced = self._forced_refresh(positions.size)
        cache = self._cache
        if not forced and cache is not None:
            # The downdate is refused (and the Hessian recomputed) past a leverage of 0.85:
            # the estimate computes the removed rows' leverage, as the downdate would.
            removed = self._problem.store.take(positions, ["X", "target", "sample_weight"])
            ref = Weighting(cache.class_scale_ref, self._problem.weighting.multiplier)
            U = np.sqrt(self._objective.C) * self._objective.data_hessian_factor(
                removed["X"], ref.of(_Rows(removed, positions)), cache.theta_ref
            )
            try:
                forced = not _leverage(cache.factor, U) < _MAX_LEVERAGE
            except DowndateError:
                forced = True
        price = self._price(positions.size, forced, downdate=not upfront)
        refit = price["refit"]
        # A request pays no pass when the pass-free certificate suffices (see certificate).
        pass_free = cache is not None and self.certificate != "exact" and self.method != "puma"
        return {
            "samples_retrained": int(n_left) if refit else 0,
            "refit": refit,
            "min_gradient_passes": 0 if (pass_free and not forced) else 1,
            "max_gradient_passes": int(self.max_newton_steps),
            "hessian_refresh": bool(forced),
            "newton_flops": price["newton_flops"],
            "refit_flops": price["refit_flops"],
        }

    def _n_left(self, positions) -> int:
        """Rows left after forgetting ``positions`` (not yet in ``unlearned_indices_``)."""
        return int(self.n_samples_fit_ - self.unlearned_indices_.size - positions.size)

    def _forced_refresh(self, n_removed) -> bool:
        """Whether the Newton update of a request must recompute the Hessian whatever its
        rows' leverage: no cache (after a refit that skipped it), or too many rows removed
        since the last refresh."""
        if self.solver_ != "cholesky":
            return False
        cache = self._cache
        return cache is None or (
            cache.removed_since_refresh + n_removed > _REFRESH_FRACTION * cache.rows_at_refresh
        )

    def _price(self, n_removed, forced_refresh, *, downdate=None) -> dict:
        """The expected cost (flops, in the model of :class:`~._newton.Costs`) of a request's
        Newton update and of a refit on the retained rows, and which one ``solver="auto"``
        takes.

        The Newton update costs the downdate of the factor (``K`` columns per row for the
        softmax), the passes this model's earlier updates paid on average, and a share of a
        refresh: one refresh per cache, shared by the requests a cache serves (measured,
        with the fit's cache counted as having served ``_PRIOR_SERVED``). A refit costs the
        iterations scikit-learn took to fit this model and the pass that certifies it; it
        keeps no cache, so a later Newton update pays a refresh. ``refresh_budget`` is the
        most a refresh may cost before a refit is cheaper. ``downdate``: whether the
        downdate is attempted (by default unless the refresh is forced; a refused downdate
        is paid too).
        """
        if downdate is None:
            downdate = not forced_refresh
        n_now = self.n_samples_fit_ - self.unlearned_indices_.size
        c = costs(self._problem, n_now - n_removed)
        obj = self._objective
        # (a model pickled before the cost model existed has neither attribute)
        h = self.__dict__.get("_history") or _History()
        iterations = self.__dict__.get("_fit_iterations", 100)
        cholesky = self.solver_ == "cholesky"
        if h.newton:
            pay = h.paid / h.newton
            per_paid = h.passes / max(h.paid, 1)
        else:
            pay = 1.0 / self.pass_every if self.certificate == "lazy" else 1.0
            per_paid = 2.0 if cholesky else 40.0
        if self.certificate == "exact" or self._cache is None:
            pay = 1.0
        newton = pay * per_paid * c.step
        refresh_budget = np.inf
        # scikit-learn's iterations: lbfgs evaluates the loss and its gradient about twice
        # per iteration (line search included), newton-cg takes about ten Hessian-vector
        # products, newton-cholesky one Hessian.
        refit_ = iterations * (
            c.call
            + {
                "lbfgs": 2.0 * c.pass_,
                "newton-cg": 10.0 * c.pass_,
                "newton-cholesky": c.refresh,
            }[self._fitted_template.solver]
        )
        refit_ += c.step  # the pass that certifies it
        newton += c.call
        if cholesky and downdate:
            newton += (n_removed * (obj.n_outputs if obj.multinomial else 1) + 1) * c.column
            # Requests a cache serves: those measured, with the fit's cache counted as one
            # that served _PRIOR_SERVED (or as many as the refresh fraction allows, if fewer),
            # so that a first refresh (the first request also corrects the solver's own
            # tolerance) does not condemn the model to refits.
            cache = self._cache
            rows = cache.rows_at_refresh if cache is not None else n_now
            prior = min(_PRIOR_SERVED, _REFRESH_FRACTION * rows / max(n_removed, 1))
            served = max((h.newton + prior) / (h.refreshes + 1), 1.0)
            # A refresh is worth its cost while, shared by the requests it serves, it keeps
            # the Newton update cheaper than a refit.
            refresh_budget = served * max(refit_ - newton, 0.0)
            # Refreshes, forced now or to come, are shared by the requests a cache serves.
            newton += c.refresh / served
        auto = self.solver == "auto" and self.method != "puma"
        return {
            "newton_flops": float(newton),
            "refit_flops": float(refit_),
            "refit": bool(auto and refit_ < newton),
            "refresh_budget": float(refresh_budget) if auto else np.inf,
        }

    def _unlearn(self, positions):
        # One walk over the store takes the removed rows and builds the store without them.
        popped = _POPPED.pop(self, None)
        if popped is not None and popped[0] is positions:
            removed, store = popped[1], popped[2]
        else:
            removed, store, _ = self._problem.store.pop(positions, _REMOVED_COLUMNS)
        left = self._counts_after(removed)
        counts = left[0]
        if np.any(counts == 0):
            gone = self.classes_[counts == 0].tolist()
            return self._refit(store, f"no row of class {gone} is left")
        if self.solver_ == "refit":
            return self._refit(store, "solver='refit'", warn=False, cache_wanted=False)
        if self.method == "puma":
            return self._unlearn_puma(positions, store, left)
        price = self._price(positions.size, self._forced_refresh(positions.size))
        if price["refit"]:
            return self._cheaper_refit(store, price)
        try:
            return self._unlearn_newton(positions, store, left, removed, price)
        except _RefitIsCheaper as cheaper:
            return self._cheaper_refit(store, cheaper.price)

    def _cheaper_refit(self, store, price):
        reason = (
            f"a refit (about {price['refit_flops']:.3g} flops) is cheaper than the Newton "
            f"update (about {price['newton_flops']:.3g} flops)"
        )
        details = {k: price[k] for k in ("newton_flops", "refit_flops")}
        details["refit_cheaper"] = True
        return self._refit(store, reason, details, warn=False, cache_wanted=False)

    def _newton_update(self, positions, store, removed, price=None):
        """A Newton step to the optimum of the objective without ``positions``, certified
        without a pass when the policy of ``certificate`` allows, else further steps with
        exact passes; returns an :class:`_Outcome` and the report's details."""
        old = self._problem
        obj = old.objective
        scale, shift_in = self._input_scale, self._input_shift
        pending = self.__dict__.get("_pending_input")
        if pending is not None:
            # The features are now served as x * a + c in the coordinates the rows are
            # stored in: the same objective with penalty weights 1 / a^2 (see the hook).
            scale, shift_in = pending
            obj = replace(obj, penalty=1.0 / (scale * scale))
        removed_block = _Rows(removed, positions)
        weighted = None
        class_weight = self._fitted_template.class_weight
        if isinstance(class_weight, str):
            weighted = np.zeros(self.classes_.size)
            for block in store:
                weighted += np.bincount(
                    block.data["target"],
                    weights=block.data["sample_weight"],
                    minlength=self.classes_.size,
                )
        class_scale = _class_scale(class_weight, self.classes_, weighted)
        weighting = Weighting(class_scale, old.weighting.multiplier)
        problem = Problem(obj, store, weighting, old.noise)
        theta = self._theta
        passes = 0
        error = self._gradient_error
        factor = _bound_factor(scale, shift_in)
        same_scale = np.array_equal(class_scale, old.weighting.class_scale)
        if same_scale:
            # The retained gradient at theta is the known one minus the removed rows' terms
            # (computed exactly, to a rounding error added to the error bound below).
            s = old.weighting.of(removed_block)
            term = obj.C * obj.data_gradient(removed["X"], removed["target"], s, theta)
            if obj is not old.objective:  # the penalty weights changed: exact O(p) correction
                term = term - obj.penalty_gradient(theta) + old.objective.penalty_gradient(theta)
            grad = obj.project(self._gradient - term)
            term_error = self._removal_rounding(removed, s, theta, term)
        else:  # balanced class weights changed every row's weight: one more pass
            grad = evaluate(problem, theta, schur=False).gradient
            passes += 1
            term_error = error = np.inf
        cache = self._cache
        refreshes = 0
        shift = self._anchor.shift_at(theta)
        if cache is None and self.solver_ == "cholesky":  # a refit skipped it: compute it
            problem, cache = refresh(problem, theta, seed=self._seed)
            refreshes, shift, error = 1, 0.0, np.inf
        elif cache is not None:
            try:
                if cache.removed_since_refresh + positions.size > (
                    _REFRESH_FRACTION * cache.rows_at_refresh
                ):
                    raise DowndateError("many rows removed since the last refresh")
                ref = Weighting(cache.class_scale_ref, old.weighting.multiplier)
                U = np.sqrt(obj.C) * obj.data_hessian_factor(
                    removed["X"], ref.of(removed_block), cache.theta_ref
                )
                cache = cache.update(U, n_removed=positions.size)
                # ||.||_{H^-1} grows by at most 1 / sqrt(shrink) when H shrinks.
                error = error / np.sqrt(cache.shrink) if cache.shrink > 0 else np.inf
            except DowndateError:
                if price is not None and self.solver == "auto":
                    forced = self._price(positions.size, True, downdate=True)
                    if forced["refit"]:
                        raise _RefitIsCheaper(forced) from None
                problem, cache = refresh(problem, theta, seed=self._seed)
                refreshes, shift, error = 1, 0.0, np.inf
        since = self._since_pass + 1
        if (
            cache is not None
            and self.certificate != "exact"
            and self.method != "puma"
            and np.isfinite(error)
            and cache.mu > 0
        ):
            step = cheap_step(
                problem, theta, grad, error + term_error / np.sqrt(cache.mu), cache, self._anchor
            )
            outcome = _Outcome(
                problem=problem,
                theta=step.theta,
                bound=step.bound * factor,
                mu=cache.curvature_at(step.shift, class_scale, obj.penalty),
                cache=cache,
                gradient=np.zeros_like(grad),
                error=step.error,
                anchor=self._anchor,
                since_pass=since,
                residual=float(np.sqrt(cache.lam_max) * step.error),
                exact_pass=False,
                input_scale=scale,
                input_shift=shift_in,
            )
            if self._accept_cheap(outcome):
                details = {
                    "method": self.method,
                    "newton_steps": 1,
                    "gradient_passes": passes,
                    "hessian_refreshes": 0,
                    "curvature_recertifications": 0,
                    "curvature_bound": outcome.mu,
                    "gradient_norm": None,
                    "exact_pass": False,
                    "requests_since_pass": since,
                }
                return outcome, details
        result = newton_steps(
            problem,
            theta,
            grad,
            cache,
            max_steps=self.max_newton_steps,
            tol=self.tol,
            score_shift=shift,
            refresh_below=self.refresh_threshold,
            seed=self._seed,
            cost=None if cache is None else costs(problem, self._n_left(positions)),
            refresh_budget=np.inf if price is None else price["refresh_budget"],
        )
        if result.refit_wanted:
            raise _RefitIsCheaper(self._price(positions.size, True))
        ev = result.evaluation
        outcome = _Outcome(
            problem=result.problem,
            theta=ev.theta,
            bound=result.bound * factor,
            mu=result.mu,
            cache=result.cache,
            gradient=ev.gradient,
            error=gradient_error(ev, result.cache),
            anchor=Anchor.of(ev),
            since_pass=0,
            residual=ev.grad_norm + ev.rounding,
            exact_pass=True,
            input_scale=scale,
            input_shift=shift_in,
        )
        details = {
            "method": self.method,
            "newton_steps": result.steps,
            "gradient_passes": passes + result.passes,
            "hessian_refreshes": refreshes + result.refreshes,
            "curvature_recertifications": result.recertifications,
            "curvature_bound": result.mu,
            "gradient_norm": ev.grad_norm,
            "exact_pass": True,
            "requests_since_pass": 0,
        }
        return outcome, details

    def _removal_rounding(self, removed, s, theta, term):
        """Rounding bound of the removed rows' gradient term and of its subtraction."""
        obj = self._objective
        norms = removed["norms"]
        # Residuals are at most sqrt(2) in norm and curvatures at most 1/2.
        score_error = np.sqrt(obj.n_outputs) * float(np.linalg.norm(theta))
        allowance = rounding_allowance(
            obj.C * np.sqrt(2.0) * float(np.abs(s) @ norms),
            norms.size + obj.n_features,
            score_terms=obj.C * score_error * float(np.linalg.norm(0.5 * s * norms * norms)),
            n_score_terms=obj.n_features + 1,
        )
        subtraction = _EPS * (float(np.linalg.norm(self._gradient)) + float(np.linalg.norm(term)))
        return allowance + 2.0 * subtraction

    def _accept_cheap(self, outcome) -> bool:
        """Whether a step certified without a pass is good enough for this call."""
        bound = outcome.bound
        if not np.isfinite(bound):
            return False
        if self.max_distance is not None and bound > self.max_distance:
            return False
        if self.method == "certified" and (
            self.budget_used_ + outcome.residual > self.removal_budget_
        ):
            return False
        if self.certificate == "lazy" and outcome.since_pass < self.pass_every:
            return True
        return bound <= self.tol * max(1.0, float(np.linalg.norm(outcome.theta)))

    def _unlearn_newton(self, positions, store, left, removed, price=None):
        outcome, details = self._newton_update(positions, store, removed, price)
        if price is not None:
            details.update(newton_flops=price["newton_flops"], refit_flops=price["refit_flops"])
        bound = outcome.bound
        if not np.isfinite(bound):
            return self._refit(store, "no finite distance bound could be certified", details)
        if self.max_distance is not None and bound > self.max_distance:
            return self._refit(
                store, f"the certified bound {bound:.3g} exceeds max_distance", details
            )
        state = self._state_after(outcome, left)
        state["_history"] = (self.__dict__.get("_history") or _History()).after(details)
        if self.method == "certified":
            used = self.budget_used_ + outcome.residual
            if used > self.removal_budget_:
                details["retrained"] = True
                return self._refit(
                    store,
                    f"the removal budget is spent ({used:.3g} > {self.removal_budget_:.3g})",
                    details,
                )
            state["budget_used_"] = used
            details.update(self._budget_details(used), retrained=False)
        self._swap_state(**state)
        return {
            "exact": False,
            "distance_bound": bound,
            "refit": False,
            "refit_cheaper": False,
            "refit_reason": None,
            "samples_retrained": 0,
            **details,
        }

    def _budget_details(self, used):
        return {
            "removal_budget": self.removal_budget_,
            "budget_used": used,
            "budget_left": max(0.0, self.removal_budget_ - used),
            "epsilon": self.epsilon,
            "delta": self.delta,
        }

    def _state_after(self, outcome, left):
        """The fitted state after Newton steps; ``left``: rows left per class and rows of
        positive weight left (see ``_retained_counts_after``)."""
        coef, intercept = _served_params(
            outcome.problem.objective, outcome.theta, outcome.input_scale, outcome.input_shift
        )
        return {
            "coef_": coef,
            "intercept_": intercept,
            "_input_scale": outcome.input_scale,
            "_input_shift": outcome.input_shift,
            "distance_bound_": outcome.bound,
            "_problem": outcome.problem,
            "_theta": outcome.theta,
            "_gradient": outcome.gradient,
            "_gradient_error": outcome.error,
            "_anchor": outcome.anchor,
            "_since_pass": outcome.since_pass,
            "_cache": outcome.cache,
            "_class_counts": left[0],
            "_n_positive": left[1],
        }

    def _unlearn_puma(self, positions, store, left):
        out = puma_unlearn(
            self._problem,
            self._theta,
            self._gradient,
            self._cache,
            positions,
            self._criterion,
            eta=self.eta,
            bounds=tuple(self.weight_bounds),
            max_steps=self.max_newton_steps,
            tol=self.tol,
            refresh_below=self.refresh_threshold,
            seed=self._seed,
        )
        if not np.isfinite(out.result.bound):
            return self._refit(store, "no finite distance bound could be certified")
        result = out.result
        ev = result.evaluation
        state = self._state_after(
            _Outcome(
                problem=result.problem,
                theta=ev.theta,
                bound=result.bound,
                mu=result.mu,
                cache=result.cache,
                gradient=ev.gradient,
                error=gradient_error(ev, result.cache),
                anchor=Anchor.of(ev),
                since_pass=0,
                residual=ev.grad_norm + ev.rounding,
                exact_pass=True,
            ),
            left,
        )
        state["weights_"] = out.problem.weighting.multiplier
        self._swap_state(**state)
        return {
            "exact": False,
            "distance_bound": out.plain_bound,
            "reweighted_distance_bound": out.result.bound,
            "refit": False,
            "refit_reason": None,
            "samples_retrained": 0,
            "method": "puma",
            **out.details,
        }

    def _refit(self, store, reason, details=None, *, warn=True, cache_wanted=True):
        """Train from scratch on the retained rows (with fresh noise for certified removal);
        ``warn``: a fallback (not a refit chosen for its cost) warns."""
        if warn:
            warnings.warn(
                f"InfluenceUnlearnLogistic refits on the {len(store)} retained rows: {reason}.",
                RefitWarning,
                stacklevel=4,
            )
        X, target, sample_weight = (store.column(k) for k in ("X", "target", "sample_weight"))
        pending = self.__dict__.get("_pending_input")
        scale, shift = pending if pending is not None else (self._input_scale, self._input_shift)
        if scale is not None:  # the rows as they are served now
            if sparse.issparse(X) and not np.any(shift):
                X = sparse.csr_matrix(X.multiply(scale))
            else:
                X = (X.toarray() if sparse.issparse(X) else X) * scale + shift
        y = self.classes_[target]
        training = getattr(self, "n_trainings_", 0)
        criterion = None
        if self.method == "puma":
            criterion = self._criterion.data
        state = self._train(
            X,
            y,
            sample_weight,
            store.positions(),
            self.n_samples_fit_,
            criterion,
            training,
            cache_wanted=cache_wanted,
        )
        self._swap_state(**state)
        out = {
            "refit_cheaper": False,
            "newton_steps": 0,
            "gradient_passes": 1,  # the pass that certifies the refit's distance_bound_
            "hessian_refreshes": int(cache_wanted and state["_cache"] is not None),
            **(details or {}),
        }
        out.update(
            exact_pass=True,  # the refit read every retained row
            requests_since_pass=0,
            exact=True,
            distance_bound=None,
            method=self.method,
            refit=True,
            refit_reason=reason,
            samples_retrained=len(store),
        )
        if self.method == "certified":
            out.update(self._budget_details(state["budget_used_"]), retrained=True)
        return out

    def _unlearn_with_input_change(self, indices, scale, shift):
        """Forget rows while the features change to ``x * scale + shift`` (per column).

        The hook :class:`skunlearn.pipeline.Pipeline` calls when a scaler before this model
        forgot the same rows and its statistics moved: instead of refitting this model on the
        new features, the change is absorbed into the same certified Newton step. In the
        coordinates the rows are stored in, serving ``x * a + c`` to a model with
        coefficients ``w`` is serving ``x`` to ``u = a w`` with the intercept shifted by
        ``c . w``, and the L2 penalty ``||w||^2 / 2`` becomes ``sum_j u_j^2 / (2 a_j^2)``:
        the objective only changes by its penalty weights, a diagonal term whose gradient
        correction is exact and whose Hessian change enters the certificate like a change of
        class weights. ``coef_`` and ``intercept_`` are then reported for the new features,
        and so is the bound (times the norm of the change of coordinates, near 1).
        """
        if self.method != "newton":
            raise ValueError("Only method='newton' absorbs a change of its input features.")
        self._check_fitted()
        scale = np.asarray(scale, dtype=np.float64)
        shift = np.asarray(shift, dtype=np.float64)
        if scale.shape != (self.n_features_in_,) or shift.shape != (self.n_features_in_,):
            raise ValueError("scale and shift must have one entry per feature.")
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0) and np.all(np.isfinite(shift))):
            raise ValueError("scale must be positive and finite, shift finite.")
        if np.any(shift) and not self._objective.fit_intercept:
            raise ValueError("A model without intercept cannot absorb a shift of its features.")
        if self._input_scale is not None:  # compose with the changes absorbed so far
            shift = self._input_shift * scale + shift
            scale = self._input_scale * scale
        self._pending_input = (scale, shift)
        try:
            return self.unlearn(indices)
        finally:
            self.__dict__.pop("_pending_input", None)

    # -- prediction ------------------------------------------------------------------------

    def decision_function(self, X):
        """Scores of the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``, as in scikit-learn.
        """
        return self._scores(X)[0]

    def _scores(self, X):
        """Scores and the classes they belong to, read from one state (see ``_read_state``:
        a concurrent unlearn that drops a class cannot mix the old and the new model)."""
        check_is_fitted(self)
        coef, intercept, classes = self._read_state("coef_", "intercept_", "classes_")
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        scores = np.asarray(X @ coef.T) + intercept
        return (scores.ravel() if scores.shape[1] == 1 else scores), classes

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of highest probability for each row.
        """
        scores, classes = self._scores(X)
        if scores.ndim == 1:
            return classes[(scores > 0).astype(int)]
        return classes[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities (sigmoid for two classes, softmax otherwise).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities; columns follow ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)


class _RefitIsCheaper(Exception):
    """Raised inside a Newton update that turned out to need a refresh costing more than a
    refit (``price``: the request's costs with that refresh)."""

    def __init__(self, price):
        super().__init__(price)
        self.price = price


@dataclass(frozen=True)
class _History:
    """Counts of this model's Newton updates since :meth:`fit`, from which the cost of the
    next one is forecast: updates, those that paid a pass, the passes they paid and the
    Hessian refreshes they made."""

    newton: int = 0
    paid: int = 0
    passes: int = 0
    refreshes: int = 0

    def after(self, details) -> _History:
        return _History(
            self.newton + 1,
            self.paid + bool(details["exact_pass"]),
            self.passes + int(details["gradient_passes"]),
            self.refreshes + int(details["hessian_refreshes"]),
        )


@dataclass(frozen=True)
class _Outcome:
    """Where a request's Newton steps ended and what the next request starts from: the
    known part of the gradient there and a bound on the rest (in the cached Hessian's
    inverse norm), the anchor of the cheap certificate, and ``residual``, a bound on the
    gradient's Euclidean norm (what certified removal spends)."""

    problem: Problem
    theta: np.ndarray
    bound: float
    mu: float
    cache: object
    gradient: np.ndarray
    error: float
    anchor: Anchor
    since_pass: int
    residual: float
    exact_pass: bool
    input_scale: np.ndarray | None = None
    input_shift: np.ndarray | None = None


def _served_params(obj, theta, scale, shift):
    """``coef_`` and ``intercept_`` for features served as ``x * scale + shift`` when the
    parameters ``theta`` score the stored rows ``x``: ``w = u / scale``,
    ``b = b_stored - w . shift``."""
    coef, intercept = obj.split(theta)
    if scale is None:
        return coef.copy(), intercept.copy()
    coef = coef / scale
    intercept = intercept - coef @ shift
    if obj.multinomial and obj.fit_intercept:  # scikit-learn's representative: sum zero
        intercept = intercept - intercept.mean()
    return coef, intercept


def _bound_factor(scale, shift) -> float:
    """Norm of the map from stored-coordinate to served parameters (see _served_params):
    ``||M|| <= max(1, max 1/scale) + ||shift / scale||``."""
    if scale is None:
        return 1.0
    return float(max(1.0, float(np.max(1.0 / scale))) + np.linalg.norm(shift / scale))


class _Rows:
    """Removed rows in the shape :class:`~._newton.Weighting` reads (``data``, ``positions``)."""

    def __init__(self, data, positions):
        self.data = data
        self.positions = positions
