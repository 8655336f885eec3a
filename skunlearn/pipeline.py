"""A Pipeline that forgets training rows through every step.

:class:`Pipeline` is scikit-learn's :class:`~sklearn.pipeline.Pipeline` with one more verb,
``unlearn(indices)``, as imbalanced-learn's pipeline adds its own. It follows section 4 of the
design: a transformer fitted on every row still carries the forgotten ones, and when it changes,
every downstream feature changes; so a request walks the steps in order:

- steps that learn nothing from the rows (``'passthrough'``, None, stateless transformers such
  as :class:`~sklearn.preprocessing.FunctionTransformer` or
  :class:`~sklearn.preprocessing.Normalizer`, i.e. ``requires_fit=False`` in their tags, and
  :class:`~sklearn.preprocessing.PolynomialFeatures` or a
  :class:`~sklearn.preprocessing.SplineTransformer` with fixed knots) are passed over;
- an unlearner step (:func:`skunlearn.is_unlearner`) forgets the rows itself;
- once a transformer's output has changed (its report says ``transform_changed``), the fitted
  steps after it are refit, as clones, on the retained rows re-transformed by the updated steps,
  and then forget every forgotten position: they end as they would have, had the transform not
  changed (as their own ``unlearn`` leaves them), so the fitted state never tells whether a
  forgotten row changed a transform. For that the pipeline keeps the training rows (``X``,
  ``y`` and row-aligned fit parameters) when, and only when, some fitted step follows an
  unlearner transformer;
- a fitted step that cannot unlearn makes ``unlearn`` raise, before anything changes, an error
  that explains the recommended pattern: preprocessing inside each shard of a sharded ensemble.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext

import numpy as np
from sklearn import config_context
from sklearn import pipeline as _skp
from sklearn.base import clone
from sklearn.pipeline import _final_estimator_has, _name_estimators
from sklearn.preprocessing import StandardScaler as _SkStandardScaler
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples

from skunlearn.base import UnlearnerMixin, is_unlearner
from skunlearn.utils._composite import check_parts, estimate_parts, unlearn_parts
from skunlearn.utils._rowstore import RowStore
from skunlearn.utils._state import reads_one_state
from skunlearn.utils._stateless import learns_from_rows

__all__ = ["FeatureUnion", "Pipeline", "make_pipeline", "make_union"]

# Prefix of the stored columns that hold row-aligned fit parameters (beside "X" and "y").
_PARAM = "param:"

_CANNOT_UNLEARN = (
    "Step {name!r} ({cls}) is fitted but cannot unlearn: it was fitted on the rows to forget and "
    "would keep what it learned from them, and Pipeline.unlearn never leaves such a step behind. "
    "Either use an unlearner for this step (skunlearn's drop-ins, e.g. "
    "skunlearn.preprocessing.StandardScaler for sklearn.preprocessing.StandardScaler, or a "
    "skunlearn estimator such as ShardedEnsembleClassifier), or, as recommended, put the whole "
    "pipeline inside each shard of a sharded ensemble, where every step is refit exactly on its "
    "shard's retained rows and a request retrains one shard: "
    "ShardedEnsembleClassifier(make_pipeline(StandardScaler(), LogisticRegression())). See the "
    "user guide page 'Unlearning preprocessing and pipelines'."
)


def _is_passthrough(step) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def _kind(step) -> str:
    """'passthrough', 'unlearner', 'stateless' (needs no fit) or 'fitted' (cannot unlearn)."""
    if _is_passthrough(step):
        return "passthrough"
    if is_unlearner(step):
        return "unlearner"
    if not learns_from_rows(step):
        return "stateless"
    return "fitted"


def _learns(step) -> bool:
    return _kind(step) in ("unlearner", "fitted")


def _is_row_aligned(value, n_samples: int) -> bool:
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__len__"):
        return False
    try:
        return _num_samples(value) == n_samples
    except TypeError:
        return False


class Pipeline(UnlearnerMixin, _skp.Pipeline):
    """A sequence of transformers and a final estimator that can forget training rows.

    A drop-in for :class:`sklearn.pipeline.Pipeline` (same parameters, methods and behaviour)
    with :meth:`unlearn`, which forgets rows through every step. Each step ends as its own
    :meth:`unlearn` would leave it after a fit on the rows its upstream steps now produce; for
    deterministic exact steps (naive Bayes, scalers, encoders) that is a refit on the retained
    rows, while a sharded ensemble keeps its partition of the original positions:

    - steps that learn nothing from the rows (``'passthrough'``, None, stateless transformers
      with ``requires_fit=False`` in their tags, PolynomialFeatures, SplineTransformer with
      fixed knots) are passed over;
    - unlearner steps (skunlearn's estimators and drop-ins) forget the rows themselves, in
      order;
    - when a transformer's output changed (a scaler's statistics moved, an encoder lost a
      category), the fitted steps after it are refit, as clones with the same parameters, on
      every position transformed by the updated steps (each forgotten row's place held by a
      copy of a retained row), and then forget the forgotten positions (see Notes);
    - a fitted step that cannot unlearn (a plain scikit-learn estimator) makes :meth:`unlearn`
      raise ``ValueError`` before anything changes. The recommended pattern for such
      pipelines is to put the whole pipeline inside each shard:
      ``ShardedEnsembleClassifier(make_pipeline(StandardScaler(), SVC()), aggregation="hard")``.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    steps : list of tuples
        ``(name, transform)`` tuples, in order, the last one being the final estimator. An
        intermediate step may be ``'passthrough'`` or None.

    transform_input : list of str, default=None
        Metadata to transform through the steps before passing it on (requires metadata
        routing); not supported by :meth:`unlearn`.

    memory : str or object with the joblib.Memory interface, default=None
        Cache of fitted transformers. The cache holds fits on every row, outside the model, so
        :meth:`unlearn` refuses to run while it is set.

    verbose : bool, default=False
        Print the time elapsed while fitting each step.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        The steps by name.

    classes_ : ndarray of shape (n_classes,)
        The classes of the final estimator, if it is a classifier.

    n_features_in_ : int
        Number of features seen by the first step during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen by the first step during fit, when defined.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call: ``n_removed``, ``indices``, ``exact``,
        ``distance_bound``, ``seconds``, ``steps`` (what happened to each step: 'passthrough',
        'stateless', 'unlearned' or 'refit'), ``steps_unlearned``, ``steps_refit``,
        ``samples_retrained`` (retained rows trained on again), ``transform_changed`` and
        ``step_reports`` (each unlearned step's own report).

    See Also
    --------
    make_pipeline : Build a pipeline, naming the steps from their classes.
    skunlearn.ensemble.ShardedEnsembleClassifier : Put a whole (scikit-learn) pipeline in each
        shard, the recommended pattern for steps that cannot unlearn.

    Notes
    -----
    Rows: a refit of the steps after a changed transformer needs the retained training rows,
    so the pipeline keeps ``X``, ``y`` and the row-aligned fit parameters (blocked, forgotten
    rows removed) when some fitted step follows an unlearner transformer; otherwise it keeps
    nothing.

    Refit: whether a request changes a transformer's output depends on the forgotten rows
    themselves (a minimum, a category of their own), so the steps after it must end the same
    either way, or their state would tell. A refit step is therefore fitted on every training
    position, each forgotten row's place held by a copy of a retained row, and then forgets
    every forgotten position with its own ``unlearn``: it ends as its ``unlearn`` would have
    left it, had the transform not changed, and its positions stay the pipeline's. This costs
    a fit on ``n_samples_fit_`` rows plus the step's own ``unlearn`` of the forgotten rows; an
    approximate step (an influence-based model) then reports its own bound, as it would have
    without the refit.

    Exactness: the pipeline is exact when its steps are. Every fitted step ends as its own
    contract promises for a fit on the retained rows transformed by the updated steps before
    it, under the same randomness (for a sharded ensemble: the same partition of positions,
    each shard trained on its retained rows; for a deterministic exact unlearner: the step of
    ``clone(pipeline).fit(X_retained, y_retained)``). If an approximate step is followed by
    other fitted steps, the report says ``exact=False`` with ``distance_bound=inf``: its bound
    does not carry through the steps after it.

    Atomic: the steps are updated as copies and swapped in at the end; if any step fails, the
    pipeline is left exactly as it was. Step objects taken from the pipeline before the call
    (``pipe.named_steps[...]``) still hold the old state: read them again after ``unlearn``.

    Composites: :class:`skunlearn.compose.ColumnTransformer` and :class:`FeatureUnion` are
    unlearners (they forward the request to their transformers). scikit-learn's own
    ColumnTransformer and FeatureUnion are fitted steps that cannot unlearn: ``unlearn``
    raises, naming the step; use skunlearn's, or the whole pipeline inside each shard of a
    sharded ensemble (see the user guide).

    Parameters after fit: ``unlearn`` works with the steps and parameters of the last fit. A
    refit of later steps starts from clones taken at that fit, so ``set_params(step__C=...)``
    afterwards changes the next fit only; a step replaced after fit
    (``set_params(step=other)``) makes ``unlearn`` raise until the pipeline is fitted again.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skunlearn.ensemble import ShardedEnsembleClassifier
    >>> from skunlearn.pipeline import make_pipeline
    >>> from skunlearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     ShardedEnsembleClassifier(LogisticRegression(), n_shards=3, random_state=0),
    ... ).fit(X, y)
    >>> pipe.unlearn([0, 1]).unlearn_report_["steps"]
    {'standardscaler': 'unlearned', 'shardedensembleclassifier': 'refit'}
    """

    # -- prediction: each call reads ``steps`` once, so that an unlearn swapping them in
    # another thread never pairs old transformers with a new final step (or the reverse).
    predict = reads_one_state(_skp.Pipeline.__dict__["predict"])
    predict_proba = reads_one_state(_skp.Pipeline.__dict__["predict_proba"])
    predict_log_proba = reads_one_state(_skp.Pipeline.__dict__["predict_log_proba"])
    decision_function = reads_one_state(_skp.Pipeline.__dict__["decision_function"])
    # Left out of serving_copy() (whose steps are the steps' own serving copies): the rows
    # kept to refit later steps.
    _training_state = ("_store", "_row_params", "_other_params", "_fit_steps", "_step_templates")

    score_samples = reads_one_state(_skp.Pipeline.__dict__["score_samples"])
    score = reads_one_state(_skp.Pipeline.__dict__["score"])
    transform = reads_one_state(_skp.Pipeline.__dict__["transform"])
    inverse_transform = reads_one_state(_skp.Pipeline.__dict__["inverse_transform"])

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y=None, **params):
        """Fit the steps one after the other, as scikit-learn's Pipeline does.

        Parameters
        ----------
        X : iterable
            Training data, as the first step accepts it.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters of the steps' ``fit``, as ``step__parameter`` (or routed metadata).

        Returns
        -------
        self : object
            Pipeline with fitted steps.
        """
        self._fit_and_record(super().fit, X, y, params)
        return self

    @available_if(_skp.Pipeline._can_fit_transform)
    def fit_transform(self, X, y=None, **params):
        """Fit the steps and transform ``X`` with the final step.

        Parameters
        ----------
        X : iterable
            Training data, as the first step accepts it.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters of the steps' ``fit``, as ``step__parameter`` (or routed metadata).

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_transformed_features)
            Transformed samples.
        """
        return self._fit_and_record(super().fit_transform, X, y, params)

    @available_if(_final_estimator_has("fit_predict"))
    def fit_predict(self, X, y=None, **params):
        """Fit the steps and predict with the final step's ``fit_predict``.

        Parameters
        ----------
        X : iterable
            Training data, as the first step accepts it.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters of the steps' ``fit``, as ``step__parameter`` (or routed metadata).

        Returns
        -------
        y_pred : ndarray
            The final step's ``fit_predict`` output.
        """
        return self._fit_and_record(super().fit_predict, X, y, params)

    def _needs_rows(self) -> bool:
        """Whether a request may have to refit a step, which needs the retained rows."""
        kinds = [_kind(step) for _, step in self.steps]
        if "fitted" in kinds:
            return False  # unlearn will refuse: keeping the rows would serve nothing
        first = next((i for i, kind in enumerate(kinds) if kind == "unlearner"), None)
        return first is not None and "unlearner" in kinds[first + 1 :]

    def _fit_and_record(self, fit_method, X, y, params):
        """Run scikit-learn's ``fit_method`` and record what :meth:`unlearn` needs.

        The rows are copied before fitting: a step with ``copy=False`` may transform ``X`` in
        place while it is fitted.
        """
        n_samples = _num_samples(X)
        # ``keys`` (one per row) are the pipeline's own, for unlearn(keys=...); with metadata
        # routing they also reach the steps that request them (a sharded ensemble shards by
        # key), as any routed metadata does.
        params = dict(params)
        keys = self._take_keys(params)
        store, row_params, other_params = None, [], {}
        if self._needs_rows():
            row_params = [k for k, v in params.items() if _is_row_aligned(v, n_samples)]
            other_params = {k: v for k, v in params.items() if k not in row_params}
            columns = {"X": X, "y": None if y is None else np.asarray(y)}
            columns.update({_PARAM + k: params[k] for k in row_params})
            store = RowStore.from_columns(columns)
        out = fit_method(X, y, **params)
        self._store, self._row_params, self._other_params = store, row_params, other_params
        # unlearn works with the steps of this fit: the fitted objects (a step replaced by
        # set_params afterwards makes it raise) and unfitted clones with this fit's
        # parameters, from which a refit of later steps starts (set_params(step__C=...) after
        # fit changes the next fit, not the steps an unlearn refits).
        self._fit_steps = [step for _, step in self.steps]
        self._step_templates = [s if _is_passthrough(s) else clone(s) for s in self._fit_steps]
        self._reset_unlearning(n_samples, keys)
        return out

    # -- unlearning ------------------------------------------------------------------------

    def _check_unlearn_feasible(self, positions):
        if self.memory is not None:
            raise ValueError(
                "Pipeline.unlearn cannot run with memory set: the cache holds transformers "
                "fitted on every row, outside the model. Clear the cache and use memory=None."
            )
        if self.transform_input is not None:
            raise ValueError("Pipeline.unlearn does not support transform_input.")
        fitted = getattr(self, "_fit_steps", None)
        if fitted is not None and (
            len(fitted) != len(self.steps)
            or any(step is not old for (_, step), old in zip(self.steps, fitted))
        ):
            replaced = [n for (n, s), old in zip(self.steps, fitted) if s is not old]
            raise ValueError(
                f"Steps {replaced or [n for n, _ in self.steps]} were replaced after fit (with "
                "set_params or by assigning steps), so the pipeline no longer holds the steps "
                "it fitted and cannot unlearn from them. Fit the pipeline again."
            )
        for name, step in self.steps:
            if _kind(step) == "fitted":
                raise ValueError(_CANNOT_UNLEARN.format(name=name, cls=type(step).__name__))

    def _changes_downstream(self, idx: int, step) -> bool:
        """Whether step ``idx``, just unlearned, forces a refit of the steps after it."""
        changed = step.unlearn_report_.get("transform_changed", True)
        return bool(changed) and any(_learns(s) for _, s in self.steps[idx + 1 :])

    def _refit_tail(self, steps, start, store, forgotten):
        """Refit ``steps[start:]`` on the retained rows transformed by ``steps[:start]``, on
        every training position, then forget the ``forgotten`` positions (see the Notes)."""
        if store is None:
            raise ValueError(
                "The pipeline kept no training rows to refit its later steps on (its steps "
                "were changed after fit); fit it again."
            )
        held = store.positions()
        # The retained row that fills each position: its own, or for a forgotten position a
        # copy of the first retained row (which the steps then forget).
        source = np.zeros(self.n_samples_fit_, dtype=np.intp)
        source[held] = np.arange(held.size)

        def full(column):
            return None if column is None else _safe_indexing(column, source)

        Xt = full(store.column("X"))
        for _, step in steps[:start]:
            if not _is_passthrough(step):
                Xt = step.transform(Xt)
        templates = self._step_templates[start:]
        tail = Pipeline(
            [
                (n, t if _is_passthrough(t) else clone(t))
                for (n, _), t in zip(steps[start:], templates)
            ],
            verbose=self.verbose,
        )
        params = {**self._other_params}
        params.update({k: full(store.column(_PARAM + k)) for k in self._row_params})
        # Keys reach the steps only through metadata routing: when they did at fit, the
        # later steps are refitted with them the same way (a sharded ensemble shards by key).
        routed = "keys" in params
        if not _routing_enabled() and not routed:
            names = {n for n, _ in tail.steps}
            params = {k: v for k, v in params.items() if k.split("__", 1)[0] in names}
        with config_context(enable_metadata_routing=True) if routed else nullcontext():
            tail.fit(Xt, full(store.column("y")), **params)
        tail.unlearn(forgotten)
        return tail.steps, tail.unlearn_report_

    def _unlearn(self, positions):
        steps = list(self.steps)
        actions, reports = {}, {}
        refit_from = None
        changed = False
        for idx, (name, step) in enumerate(steps):
            kind = _kind(step)
            actions[name] = kind
            if kind != "unlearner":
                continue
            # A shallow copy is enough: unlearners rebind their state and never mutate it.
            new = copy.copy(step)
            new.unlearn(positions)
            steps[idx] = (name, new)
            reports[name] = new.unlearn_report_
            actions[name] = "unlearned"
            changed = changed or bool(new.unlearn_report_.get("transform_changed", True))
            if idx < len(steps) - 1 and self._changes_downstream(idx, new):
                absorbed = _absorb_input_change(steps, idx, step, new, positions)
                if absorbed is not None:  # the final step took the change: no refit
                    steps[-1] = (steps[-1][0], absorbed)
                    reports[steps[-1][0]] = absorbed.unlearn_report_
                    actions[steps[-1][0]] = "unlearned"
                    break
                refit_from = idx + 1
                break
        store = None if self._store is None else self._store.without(positions)
        n_refit_rows = 0
        if refit_from is not None:
            forgotten = np.union1d(self.unlearned_indices_, positions)
            tail, tail_report = self._refit_tail(steps, refit_from, store, forgotten)
            for offset, (name, step) in enumerate(tail):
                steps[refit_from + offset] = (name, step)
                actions[name] = "refit" if _learns(step) else _kind(step)
            reports.update(tail_report["step_reports"])
            n_refit_rows = self.n_samples_fit_ + int(tail_report["samples_retrained"])
        # One swap: a concurrent predict runs every step of the old pipeline or of the new.
        self._swap_state(steps=steps, _store=store, _fit_steps=[step for _, step in steps])

        refit = [n for n, a in actions.items() if a == "refit"]
        approximate = [n for n, r in reports.items() if not r.get("exact", True)]
        bound = None
        if approximate:
            learners = [n for n, a in actions.items() if a in ("unlearned", "refit")]
            alone_at_end = approximate == [learners[-1]]
            bound = reports[approximate[0]]["distance_bound"] if alone_at_end else float("inf")
        return {
            "exact": not approximate,
            "distance_bound": bound,
            "steps": actions,
            "steps_unlearned": [n for n, a in actions.items() if a == "unlearned"],
            "steps_refit": refit,
            "samples_retrained": max(
                [n_refit_rows] + [int(r.get("samples_retrained", 0)) for r in reports.values()]
            ),
            "transform_changed": changed or bool(refit),
            "step_reports": reports,
        }

    def _estimate_unlearn_cost(self, positions):
        """What :meth:`unlearn` would retrain, step by step, as its report will count it.

        Each unlearner step gives its own estimate. Whether a transformer's output changes
        (which makes the later steps refit on every position) is found by unlearning a
        shallow copy of it: cheap for scalers and encoders, and the step itself is untouched
        (unlearners rebind their state, never mutate it).
        """
        costs, refit = {}, []
        samples = [0]
        for idx, (name, step) in enumerate(self.steps):
            if _kind(step) != "unlearner":
                continue
            costs[name] = step.estimate_unlearn_cost(positions)
            samples.append(int(costs[name].get("samples_retrained", 0)))
            later = [(n, s) for n, s in self.steps[idx + 1 :] if _learns(s)]
            if later and self._transform_would_change(step, positions):
                # The later steps are fitted on every position, then forget every forgotten
                # one, those of earlier requests included (see _refit_cost).
                refit = [n for n, _ in later]
                forgotten = np.union1d(self.unlearned_indices_, positions)
                tail = [
                    self._refit_cost(s, positions, forgotten)
                    for _, s in later
                    if _kind(s) == "unlearner"
                ]
                samples.append(self.n_samples_fit_ + max(tail, default=0))
                break
        return {"samples_retrained": max(samples), "steps": costs, "steps_refit": refit}

    @staticmethod
    def _refit_cost(step, positions, forgotten) -> int:
        """Rows a fresh fit of ``step`` on every position retrains to forget ``forgotten``.

        A step that knows (a sharded ensemble: the shards holding any forgotten row, earlier
        ones included, are retrained) says so through ``_refit_unlearn_cost``. For the others
        the cost depends on the rows left, not on where the forgotten rows were: a fresh fit
        forgetting every forgotten row costs what this request costs the fitted step.
        """
        own = getattr(step, "_refit_unlearn_cost", None)
        if own is not None:
            return int(own(forgotten))
        return int(step.estimate_unlearn_cost(positions).get("samples_retrained", 0))

    @staticmethod
    def _transform_would_change(step, positions) -> bool:
        try:
            trial = copy.copy(step).unlearn(positions)
        except Exception:  # an unknown outcome: assume the costly one
            return True
        return bool(trial.unlearn_report_.get("transform_changed", True))


def _affine_change(old, new):
    """``(a, c)`` with ``new.transform(x) == old.transform(x) * a + c`` for every ``x``, when
    both are the same fitted StandardScaler before and after an unlearn; else None."""
    if not isinstance(old, _SkStandardScaler) or type(old) is not type(new):
        return None

    def stats(scaler):
        n = scaler.n_features_in_
        mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
        scale = scaler.scale_ if scaler.with_std else np.ones(n)
        return np.asarray(mean, dtype=float), np.asarray(scale, dtype=float)

    (m0, s0), (m1, s1) = stats(old), stats(new)
    a, c = s0 / s1, (m0 - m1) / s1
    if not (np.all(np.isfinite(a)) and np.all(a > 0) and np.all(np.isfinite(c))):
        return None
    return a, c


def _absorb_input_change(steps, idx, old, new, positions):
    """Hand a per-column affine change of step ``idx``'s output to the final step, when that
    step follows it directly and can take it inside its own unlearning (for instance
    :class:`~skunlearn.linear_model.InfluenceUnlearnLogistic`: a warm-started, certified
    correction instead of a refit). Returns the updated final step, or None."""
    if idx != len(steps) - 2:
        return None
    final = steps[-1][1]
    hook = getattr(final, "_unlearn_with_input_change", None)
    change = _affine_change(old, new)
    if hook is None or change is None or getattr(final, "method", "newton") != "newton":
        return None
    updated = copy.copy(final)
    try:
        updated._unlearn_with_input_change(positions, *change)
    except ValueError:
        return None
    return updated


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False) -> Pipeline:
    """Construct a :class:`Pipeline` from the given estimators, naming them after their classes.

    Parameters
    ----------
    *steps : list of estimators
        The transformers and the final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        Cache of fitted transformers (incompatible with :meth:`Pipeline.unlearn`).
    transform_input : list of str, default=None
        Metadata to transform through the steps (requires metadata routing).
    verbose : bool, default=False
        Print the time elapsed while fitting each step.

    Returns
    -------
    p : Pipeline
        A skunlearn :class:`Pipeline`.

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skunlearn.ensemble import ShardedEnsembleRegressor
    >>> from skunlearn.pipeline import make_pipeline
    >>> import numpy as np
    >>> pipe = make_pipeline(
    ...     FunctionTransformer(np.log1p), ShardedEnsembleRegressor(random_state=0)
    ... )
    >>> X, y = np.arange(40.0).reshape(20, 2), np.arange(20.0)
    >>> pipe.fit(X, y).unlearn([3]).unlearn_report_["steps"]
    {'functiontransformer': 'stateless', 'shardedensembleregressor': 'unlearned'}
    """
    return Pipeline(
        _name_estimators(steps),
        memory=memory,
        transform_input=transform_input,
        verbose=verbose,
    )


def _unlearned_reference(pipe, X, y, forgotten, *, start: int = 0, **fit_params) -> Pipeline:
    """The steps ``start:`` of ``pipe`` as its :meth:`~Pipeline.unlearn` must leave them,
    built without it: the reference that tests and :func:`skunlearn.metrics.verify_unlearning`
    compare a pipeline with.

    Step by step, each fitted step is a clone fitted on every training row (the forgotten rows
    with their true values, which the pipeline itself no longer holds) transformed by the
    reference's steps before it, and then forgets ``forgotten`` with its own ``unlearn``; the
    steps before ``start`` are ``pipe``'s own, as they are now. This is the pipeline's contract
    (see the Notes of :class:`Pipeline`): a sharded ensemble keeps the partition of a fit on
    every position, a deterministic exact step equals a refit on the retained rows. A step
    with ``random_state=None`` draws another seed in its clone and cannot be reproduced.

    ``fit_params`` are ``step__parameter`` fit parameters of the whole training set (the
    ``X`` of the last fit), routed to their steps by name. Returns a :class:`Pipeline` of the
    fitted steps ``start:`` (to be applied to ``pipe[:start].transform(...)``).
    """
    forgotten = np.asarray(forgotten, dtype=np.intp)
    Xt = pipe[:start].transform(X) if start else X
    steps = pipe.steps[start:]
    reference = []
    for i, (name, step) in enumerate(steps):
        if _is_passthrough(step):
            reference.append((name, step))
            continue
        params = {
            key.split("__", 1)[1]: value
            for key, value in fit_params.items()
            if key.split("__", 1)[0] == name
        }
        new = clone(step).fit(Xt, y, **params)
        if forgotten.size and _kind(new) == "unlearner":
            new.unlearn(forgotten)
            # As in Pipeline.unlearn, a retained row holds each forgotten row's place from
            # here on: the step may no longer know a forgotten row's values (a category whose
            # rows were all forgotten), and the later steps forget these places anyway.
            Xt = _safe_indexing(Xt, _filled_positions(_num_samples(Xt), forgotten))
        if i < len(steps) - 1:
            Xt = new.transform(Xt)
        reference.append((name, new))
    return Pipeline(reference)


def _filled_positions(n_samples: int, forgotten) -> np.ndarray:
    """Row of each position with every forgotten position pointing at the first retained row."""
    source = np.arange(n_samples)
    kept = np.setdiff1d(source, forgotten)
    source[forgotten] = kept[0]
    return source


class FeatureUnion(UnlearnerMixin, _skp.FeatureUnion):
    """Concatenate the outputs of several transformers, and forget training rows.

    A drop-in for :class:`sklearn.pipeline.FeatureUnion` (scikit-learn does every fit and
    transform) with :meth:`unlearn`, which forwards the request to each fitted transformer.
    Every transformer must be a skunlearn unlearner or learn nothing from the rows' values
    ('drop', 'passthrough', :class:`~sklearn.preprocessing.FunctionTransformer`,
    :class:`~sklearn.preprocessing.PolynomialFeatures`, ...); a fitted transformer that cannot
    unlearn makes :meth:`unlearn` raise ``ValueError``, naming it, before anything changes.

    Read more in the :ref:`User Guide <preprocessing_pipeline>`.

    Parameters
    ----------
    transformer_list : list of (str, transformer) tuples
        The transformers, each applied to all the columns; 'drop' or 'passthrough' allowed.

    n_jobs : int, default=None
        Number of jobs fitting the transformers in parallel.

    transformer_weights : dict, default=None
        Multiplicative weights of the transformers' outputs, by name.

    verbose : bool, default=False
        Print the time elapsed fitting each transformer.

    verbose_feature_names_out : bool, default=True
        Prefix the output feature names with the transformer names.

    Attributes
    ----------
    named_transformers : :class:`~sklearn.utils.Bunch`
        The transformers by name (fitted after :meth:`fit`).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    n_samples_fit_ : int
        Number of rows seen by the last fit.

    unlearned_indices_ : ndarray of int
        Sorted positions forgotten since the last fit.

    unlearn_report_ : dict or None
        Report of the last :meth:`unlearn` call, with the keys of
        :class:`skunlearn.compose.ColumnTransformer`'s.

    See Also
    --------
    make_union : Build a FeatureUnion without naming the transformers.
    skunlearn.compose.ColumnTransformer : Apply transformers to subsets of the columns.

    Notes
    -----
    As scikit-learn's, ``fit`` stores the fitted transformers in ``transformer_list``.
    :meth:`unlearn` forgets through those fitted transformers, with the parameters of the last
    fit; a transformer replaced after fit (``set_params(name=other)``) makes it raise.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skunlearn.pipeline import make_union
    >>> from skunlearn.preprocessing import MinMaxScaler
    >>> X = np.array([[0.0], [1.0], [4.0]])
    >>> union = make_union(MinMaxScaler(), FunctionTransformer(np.sqrt)).fit(X)
    >>> union.unlearn([2]).transform(X)
    array([[0., 0.],
           [1., 1.],
           [4., 2.]])
    >>> union.unlearn_report_["transformers"]
    {'minmaxscaler': 'unlearned', 'functiontransformer': 'stateless'}
    """

    transform = reads_one_state(_skp.FeatureUnion.transform)

    # Left out of serving_copy() (whose transformers are their own serving copies).
    _training_state = ("_fit_parts",)

    def fit(self, X, y=None, **fit_params):
        """Fit every transformer on ``X``.

        Parameters
        ----------
        X : iterable or array-like
            Input data.
        y : array-like of shape (n_samples,), default=None
            Targets for supervised transformers.
        **fit_params : dict
            Parameters of the transformers' ``fit``.

        Returns
        -------
        self : object
            FeatureUnion with fitted transformers.
        """
        fit_params = dict(fit_params)
        keys = self._take_keys(fit_params)
        super().fit(X, y, **fit_params)
        self._record_fit(X, keys)
        return self

    def fit_transform(self, X, y=None, **params):
        """Fit every transformer, transform ``X`` and concatenate the results.

        Parameters
        ----------
        X : iterable or array-like
            Input data.
        y : array-like of shape (n_samples,), default=None
            Targets for supervised transformers.
        **params : dict
            Parameters of the transformers' ``fit``.

        Returns
        -------
        X_t : {array-like, sparse matrix} of shape (n_samples, sum_n_components)
            Horizontally stacked outputs of the transformers.
        """
        params = dict(params)
        keys = self._take_keys(params)
        out = super().fit_transform(X, y, **params)
        self._record_fit(X, keys)
        return out

    def _record_fit(self, X, keys=None):
        self._fit_parts = [trans for _, trans in self.transformer_list]
        self._reset_unlearning(_num_samples(X), keys)

    def _check_unlearn_feasible(self, positions):
        if len(self.transformer_list) != len(self._fit_parts) or any(
            trans is not old for (_, trans), old in zip(self.transformer_list, self._fit_parts)
        ):
            raise ValueError(
                "The transformers were replaced after fit (set_params), so the FeatureUnion no "
                "longer holds the transformers it fitted and cannot unlearn from them. Fit it "
                "again."
            )
        check_parts(type(self).__name__, self.transformer_list)

    def _unlearn(self, positions):
        new_parts, details = unlearn_parts(self.transformer_list, positions)
        names = [name for name, _ in self.transformer_list]
        self._swap_state(transformer_list=list(zip(names, new_parts)), _fit_parts=new_parts)
        return details

    def _estimate_unlearn_cost(self, positions):
        return estimate_parts(self.transformer_list, positions)


def make_union(*transformers, n_jobs=None, verbose=False, verbose_feature_names_out=True):
    """Construct a :class:`FeatureUnion`, naming the transformers after their classes.

    Parameters
    ----------
    *transformers : list of estimators
        The transformers.
    n_jobs : int, default=None
        Number of jobs fitting the transformers in parallel.
    verbose : bool, default=False
        Print the time elapsed fitting each transformer.
    verbose_feature_names_out : bool, default=True
        Prefix the output feature names with the transformer names.

    Returns
    -------
    f : FeatureUnion
        A skunlearn :class:`FeatureUnion`.

    Examples
    --------
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from skunlearn.pipeline import make_union
    >>> from skunlearn.preprocessing import StandardScaler
    >>> make_union(StandardScaler(), PolynomialFeatures())
    FeatureUnion(transformer_list=[('standardscaler', StandardScaler()),
                                   ('polynomialfeatures', PolynomialFeatures())])
    """
    return FeatureUnion(
        _name_estimators(transformers),
        n_jobs=n_jobs,
        verbose=verbose,
        verbose_feature_names_out=verbose_feature_names_out,
    )
