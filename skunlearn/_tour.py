"""``python -m skunlearn demo``: a tour of every family of unlearners.

Each stop fits one family's estimator on data shipped with scikit-learn, forgets rows, times the
requests against retraining from scratch on the retained rows, and checks the result against a
retrained model: equality for exact methods, the reported bound for approximate ones. The first
stop is the sharded demo of :mod:`skunlearn._demo`, unchanged.

Stops use only the public API of the estimators (``unlearn``, ``unlearn_report_``,
``unlearned_indices_``, fitted attributes) and :mod:`skunlearn.metrics`.
"""

from __future__ import annotations

import copy
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn import linear_model as sk_linear
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_neighbors
from sklearn import pipeline as sk_pipeline
from sklearn import preprocessing as sk_preprocessing
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skunlearn._demo import _clock, _say, _speed_phrase, sharded_demo

__all__ = ["STOPS", "Measurement", "StopResult", "TourOptions", "run_tour"]


@dataclass
class TourOptions:
    """Settings of a tour; the sharded stop keeps the options of the original demo."""

    seed: int = 0
    n_shards: int = 10
    fraction: float = 0.05
    n_jobs: int | None = None


@dataclass
class Measurement:
    """One estimator's figures at a stop: what the summary table shows."""

    model: str
    data: str
    n_forgotten: int
    unlearn_seconds: float  # median wall time of one request
    retrain_seconds: float  # median time of retraining from scratch on the retained rows
    verified: bool

    @property
    def speedup(self) -> float:
        return self.retrain_seconds / max(self.unlearn_seconds, 1e-12)


@dataclass
class StopResult:
    """What a stop measured, and the panels of its figure (see :mod:`skunlearn._plots`)."""

    name: str
    measurements: list[Measurement] = field(default_factory=list)
    panels: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return (
            self.error is None
            and bool(self.measurements)
            and all(m.verified for m in self.measurements)
        )

    @property
    def n_forgotten(self) -> int:
        return sum(m.n_forgotten for m in self.measurements)


# -- helpers ---------------------------------------------------------------------------------


def _fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.2f} s"


def _median_seconds(func, repeats: int = 3) -> float:
    return float(np.median([_clock(func)[1] for _ in range(repeats)]))


def _split(loader, seed: int, *, scale: bool = False, classification: bool = True):
    """Training and held-out rows of a scikit-learn dataset.

    With ``scale``, features are standardized with the statistics of the *held-out* rows: no
    training row, hence no row the stop forgets, shapes the preprocessing (a scaler fitted on
    the training rows would keep the forgotten rows' mean; see the decremental stop for
    scalers that forget).
    """
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if classification else None
    )
    if scale:
        scaler = sk_preprocessing.StandardScaler().fit(X_test)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


# Deletion requests at the stops on generated data: enough for a median, a few seconds in all.
_N_REQUESTS = 20


def _retained(model) -> np.ndarray:
    return np.setdiff1d(np.arange(model.n_samples_fit_), model.unlearned_indices_)


def _forget_one_by_one(model, rows, on_request: Callable | None = None) -> list[float]:
    """Forget ``rows`` one request each, as deletion requests arrive; wall time per request.

    ``on_request(model)`` runs after each request, outside the timing.
    """
    seconds = []
    start = time.perf_counter()
    for done, row in enumerate(rows, start=1):
        _, elapsed = _clock(lambda row=row: model.unlearn([row]))
        seconds.append(elapsed)
        if on_request is not None:
            on_request(model)
        so_far = time.perf_counter() - start
        # Progress only where the wait is noticeable.
        if so_far > 1.0 and (done % max(1, len(rows) // 4) == 0 or done == len(rows)):
            _say(f"      {done}/{len(rows)} requests done, {so_far:.1f}s so far")
    return seconds


def _exact_check(report) -> str:
    """One line for an exact claim checked by :func:`skunlearn.metrics.verify_unlearning`."""
    verdict = "PASSED" if report["passed"] else "FAILED"
    return (
        f"verify_unlearning {verdict}: {report['gap']['output']} equals a retrained model's "
        f"(max diff {report['max_abs_diff']:.1e})"
    )


def _verdict(ok: bool, text: str) -> None:
    _say()
    _say(("OK" if ok else "FAILED") + f": {text}")


def _generated(seed: int, *, classification: bool, n_samples: int = 100_000):
    """Training and held-out rows of generated data large enough that a refit costs what it
    costs in production (tens of milliseconds), where the data shipped with scikit-learn (a
    few hundred rows) refits in about a millisecond, no slower than one request."""
    from sklearn.datasets import make_classification, make_regression

    if classification:
        X, y = make_classification(
            n_samples=n_samples,
            n_features=40,
            n_informative=10,
            n_redundant=0,
            n_classes=5,
            n_clusters_per_class=1,
            class_sep=1.5,
            random_state=seed,
        )
    else:
        X, y = make_regression(n_samples=n_samples, n_features=50, noise=10.0, random_state=seed)
    return train_test_split(X, y, test_size=0.2, random_state=seed)


def _request_panel(title: str, seconds, retrain_seconds: float, label: str) -> dict:
    return {
        "title": title,
        "kind": "lines",
        "xlabel": "deletion request",
        "ylabel": "milliseconds",
        "log": True,
        "series": {"unlearn (one request)": [1e3 * s for s in seconds]},
        "hlines": {label: 1e3 * retrain_seconds},
    }


# -- the stops -------------------------------------------------------------------------------


def _sharded(options: TourOptions) -> StopResult:
    summary = sharded_demo(
        n_shards=options.n_shards,
        fraction=options.fraction,
        n_jobs=options.n_jobs,
        seed=options.seed,
    )
    measurement = Measurement(
        model=f"Sharded(RF, {options.n_shards} shards)",
        data="digits",
        n_forgotten=summary["n_forgotten"],
        unlearn_seconds=summary["median_request_seconds"],
        retrain_seconds=summary["retrain_seconds"],
        verified=summary["verified"],
    )
    panels = [
        _request_panel(
            "Sharded ensemble: one request retrains one shard",
            summary["request_seconds"],
            summary["retrain_seconds"],
            "retrain every shard",
        ),
        {
            "title": "Test accuracy",
            "kind": "bars",
            "categories": ["before", "after unlearning", "retrained from scratch"],
            "series": {
                "accuracy": [
                    summary["accuracy_before"],
                    summary["accuracy_after"],
                    summary["accuracy_retrained"],
                ]
            },
            "ylim": (0.8, 1.0),
        },
    ]
    return StopResult("sharded", [measurement], panels)


#: The forest stop's size: generated data large enough that scikit-learn's refit takes about a
#: second, so that the speedup shown is the one a user sees (a refit grows with the rows, a
#: request barely does); the data shipped with scikit-learn refit in milliseconds.
_FOREST = {"n_samples": 10_000, "n_test": 2_500, "n_estimators": 20, "max_depth": 20}


def _forest(options: TourOptions) -> StopResult:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    from skunlearn.ensemble import UnlearningForestClassifier
    from skunlearn.metrics import verify_unlearning

    n, n_test = _FOREST["n_samples"], _FOREST["n_test"]
    trees, depth = _FOREST["n_estimators"], _FOREST["max_depth"]
    X, y = make_classification(
        n_samples=n + n_test, n_features=20, n_informative=10, random_state=options.seed
    )
    X, X_test, y, y_test = train_test_split(
        X, y, test_size=n_test, random_state=options.seed, stratify=y
    )
    _say("Exact unlearnable random forest: cached split statistics, bitwise equal to a refit")
    _say(f"data  : make_classification, {n} rows x 20 features to train on, {n_test} held out")
    _say(f"model : UnlearningForestClassifier(n_estimators={trees}, max_depth={depth})")
    _say()

    def forest():
        return UnlearningForestClassifier(
            n_estimators=trees, max_depth=depth, random_state=options.seed
        )

    # The compiled kernels are built at their first call (and cached on disk): not the cost
    # of fitting or forgetting, so they are warmed up apart, and the wait is said.
    _say("      preparing the compiled kernels (the first run compiles them: a minute or two)")
    _, warm = _clock(lambda: forest().set_params(n_estimators=2).fit(X[:300], y[:300]).unlearn([0]))
    _say(f"      kernels ready in {_fmt_seconds(warm)} (compiled at first use, then cached)")
    model = forest()
    _, fit_seconds = _clock(lambda: model.fit(X, y))
    acc_before = model.score(X_test, y_test)
    _say(f"      fitted in {_fmt_seconds(fit_seconds)}; test accuracy {acc_before:.3f}")

    rng = np.random.RandomState(options.seed)
    forget = rng.choice(n, size=20, replace=False)
    _say(f"[1/3] Forgetting {forget.size} rows one request at a time")
    rebuilt = []
    seconds = _forget_one_by_one(
        model, forget, lambda m: rebuilt.append(m.unlearn_report_["samples_retrained"])
    )
    median_request = float(np.median(seconds))
    acc_after = model.score(X_test, y_test)
    _say(
        f"      median request: {_fmt_seconds(median_request)} "
        f"(slowest {_fmt_seconds(max(seconds))})\n      rows re-read to rebuild subtrees, "
        f"per tree: median {int(np.median(rebuilt))} per request (a refit reads {n})"
    )
    _say(f"      test accuracy now {acc_after:.3f}")
    _say()

    _say("[2/3] Retraining from scratch on the retained rows, for comparison")
    keep = _retained(model)
    sklearn_forest = RandomForestClassifier(
        n_estimators=trees, max_depth=depth, random_state=options.seed
    )
    _, refit = _clock(lambda: sklearn_forest.fit(X[keep], y[keep]))
    acc_sklearn = sklearn_forest.score(X_test, y_test)
    fresh = forest()
    _, own_refit = _clock(lambda: fresh.fit(X[keep], y[keep]))
    _say(
        f"      scikit-learn's RandomForestClassifier (same trees and depth): "
        f"{_fmt_seconds(refit)} ({refit / median_request:.0f}x a request); "
        f"test accuracy {acc_sklearn:.3f}"
    )
    _say(
        f"      the forest's own fit on the retained rows: {_fmt_seconds(own_refit)} "
        f"({own_refit / median_request:.0f}x a request)"
    )
    _say()

    _say("[3/3] Verifying exactness: the unlearned forest against that fresh fit, bitwise")
    report = verify_unlearning(model, X, y, reference=fresh, rtol=0, atol=0)
    same_leaves = bool(np.array_equal(model.apply(X_test), fresh.apply(X_test)))
    _say(f"      {_exact_check(report)}")
    _say(
        f"      every tree sends every held-out row to the same leaf: "
        f"{'yes' if same_leaves else 'NO'} ({trees} trees x {n_test} rows)"
    )
    verified = bool(report["passed"]) and same_leaves
    baseline = "scikit-learn's refit"
    _verdict(
        verified,
        f"forgot {forget.size} rows exactly; accuracy {acc_before:.3f} -> {acc_after:.3f}; "
        f"{_speed_phrase(refit / median_request, baseline)} per request.",
    )
    panels = [
        _request_panel(
            "Unlearnable forest: one request updates cached statistics",
            seconds,
            refit,
            "scikit-learn RF refit",
        ),
        {
            "title": "Test accuracy",
            "kind": "bars",
            "categories": ["before", "after unlearning", "scikit-learn RF refit"],
            "series": {"accuracy": [acc_before, acc_after, acc_sklearn]},
            "ylim": (0.8, 1.0),
        },
    ]
    measurement = Measurement(
        f"UnlearningForest({trees} trees)",
        "generated",
        int(forget.size),
        median_request,
        refit,
        verified,
    )
    return StopResult("forest", [measurement], panels)


def _influence(options: TourOptions) -> StopResult:
    from skunlearn.linear_model import InfluenceUnlearnLogistic
    from skunlearn.metrics import verify_unlearning

    # Generated rows: on breast_cancer (426 rows) a refit takes 3 ms, hardly more than one
    # request, which undersells a method whose cheap requests cost O(p^2) whatever the rows.
    X, y = make_classification(
        n_samples=50_000,
        n_features=30,
        n_informative=10,
        n_redundant=0,
        class_sep=2.0,
        flip_y=0.01,
        random_state=options.seed,
    )
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.2, random_state=options.seed)
    scaler = sk_preprocessing.StandardScaler().fit(X_test)
    X, X_test = scaler.transform(X), scaler.transform(X_test)
    _say("Newton unlearning of logistic regression, with a certified distance bound")
    _say(
        f"data  : make_classification, {len(y)} rows x {X.shape[1]} features to train on, "
        f"{len(y_test)} held out\n"
        "        (standardized with the held-out rows' statistics: no forgotten row shapes them)"
    )
    _say("model : InfluenceUnlearnLogistic(LogisticRegression())")
    _say()
    model = InfluenceUnlearnLogistic(sk_linear.LogisticRegression())
    _, fit_seconds = _clock(lambda: model.fit(X, y))
    acc_before = model.score(X_test, y_test)
    _say(f"      fitted in {_fmt_seconds(fit_seconds)}; test accuracy {acc_before:.3f}")

    rng = np.random.RandomState(options.seed)
    forget = rng.choice(len(y), size=_N_REQUESTS, replace=False)
    _say(
        f"[1/3] Forgetting {forget.size} rows one request at a time; after each, a retrain "
        "from scratch\n      to the optimum (newton-cholesky, tol=1e-12) measures the true distance"
    )
    bounds, distances, held, tight_seconds, paid = [], [], [], [], []

    def check(model):
        reference = sk_linear.LogisticRegression(solver="newton-cholesky", tol=1e-12)
        keep = _retained(model)
        _, elapsed = _clock(lambda: reference.fit(X[keep], y[keep]))
        tight_seconds.append(elapsed)
        report = verify_unlearning(model, X, y, reference=reference)
        bounds.append(report["distance_bound"])
        distances.append(report["parameter_distance"])
        held.append(report["passed"] is True)
        paid.append(bool(model.unlearn_report_.get("exact_pass", True)))

    seconds = _forget_one_by_one(model, forget, check)
    median_request = float(np.median(seconds))
    acc_after = model.score(X_test, y_test)
    _say(
        f"      median request: {_fmt_seconds(median_request)} "
        f"({model.unlearn_report_['newton_steps']} Newton step(s), no retraining); "
        f"test accuracy now {acc_after:.3f}"
    )
    _say()

    _say("[2/3] Retraining from scratch on the retained rows, for comparison")
    keep = _retained(model)
    refit = _median_seconds(lambda: sk_linear.LogisticRegression().fit(X[keep], y[keep]), repeats=5)
    tight = float(np.median(tight_seconds))
    _say(
        f"      scikit-learn's LogisticRegression() refit: {_fmt_seconds(refit)} "
        f"({refit / median_request:.1f}x a request)"
    )
    _say(
        f"      a refit as accurate (newton-cholesky, tol=1e-12): {_fmt_seconds(tight)} "
        f"({tight / median_request:.1f}x a request)"
    )
    _say()

    _say("[3/3] Verifying: the certified bound against the true distance to the retrained optimum")
    ratios = np.asarray(distances) / np.asarray(bounds)
    _say(
        f"      after the last request: true distance {distances[-1]:.2e} "
        f"{'<=' if held[-1] else '>'} reported bound {bounds[-1]:.2e}"
    )
    _say(
        f"      the bound held on {sum(held)}/{len(held)} requests "
        f"(true distance / bound: median {np.median(ratios):.2f}, largest {ratios.max():.2f})"
    )
    cheap = ~np.asarray(paid)
    looseness = (
        f"median {np.median(1.0 / ratios[cheap]):.0f}x the true distance"
        if cheap.any()
        else "none needed"
    )
    _say(
        f"      {int(cheap.sum())}/{len(paid)} requests were certified without a pass over the "
        f"rows (an O(p^2) bound,\n      {looseness}); the others paid one exact "
        "pass, whose bound is near the true distance"
    )
    verified = all(held)
    _verdict(
        verified,
        f"forgot {forget.size} rows within the certified bound; accuracy {acc_before:.3f} -> "
        f"{acc_after:.3f}; {refit / median_request:.1f}x faster than a refit.",
    )
    measurement = Measurement(
        "InfluenceUnlearnLogistic",
        "make_classification",
        int(forget.size),
        median_request,
        refit,
        verified,
    )
    panels = [
        _request_panel("Newton unlearning: time", seconds, refit, "LogisticRegression() refit"),
        {
            "title": "Distance to the retrained optimum",
            "kind": "lines",
            "xlabel": "deletion request",
            "ylabel": "parameter distance",
            "log": True,
            "series": {"certified bound": bounds, "true distance": distances},
        },
    ]
    return StopResult("influence", [measurement], panels)


def _linear(options: TourOptions) -> StopResult:
    from skunlearn.linear_model import Ridge
    from skunlearn.metrics import verify_unlearning

    X, X_test, y, y_test = _generated(options.seed, classification=False)
    _say("Exact closed-form unlearning of ridge regression: sufficient statistics, downdated")
    _say(
        f"data  : make_regression, {len(y)} rows x {X.shape[1]} features to train on, "
        f"{len(y_test)} held out"
    )
    _say("model : skunlearn.linear_model.Ridge(alpha=1.0), a drop-in for scikit-learn's Ridge")
    _say()
    model = Ridge(alpha=1.0).fit(X, y)
    r2_before = model.score(X_test, y_test)
    rng = np.random.RandomState(options.seed)
    forget = rng.choice(len(y), size=_N_REQUESTS, replace=False)
    _say(
        f"[1/2] Forgetting {forget.size} rows one request at a time; after each, scikit-learn's "
        "Ridge is\n      refitted on the retained rows for comparison"
    )
    refit_seconds, differences = [], []

    def compare(model):
        reference = sk_linear.Ridge(alpha=1.0)
        keep = _retained(model)
        _, elapsed = _clock(lambda: reference.fit(X[keep], y[keep]))
        refit_seconds.append(elapsed)
        scale = np.max(np.abs(reference.coef_))
        differences.append(float(np.max(np.abs(model.coef_ - reference.coef_)) / scale))

    seconds = _forget_one_by_one(model, forget, compare)
    median_request, refit = float(np.median(seconds)), float(np.median(refit_seconds))
    r2_after = model.score(X_test, y_test)
    _say(
        f"      median request: {_fmt_seconds(median_request)} "
        f"(statistics {model.unlearn_report_['statistics']}); scikit-learn refit: "
        f"{_fmt_seconds(refit)} ({refit / median_request:.1f}x)"
    )
    _say(f"      held-out R^2 {r2_before:.3f} -> {r2_after:.3f}")
    _say()

    _say("[2/2] Verifying exactness against retraining from scratch")
    report = verify_unlearning(model, X, y)
    worst = max(differences)
    _say(
        f"      coefficients vs scikit-learn's refit, after every request: largest relative "
        f"difference {worst:.1e}"
    )
    _say(f"      {_exact_check(report)}")
    # The tests of the exact linear models require 1e-10; rounding is around 1e-14.
    verified = bool(report["passed"]) and worst <= 1e-10
    _verdict(
        verified,
        f"forgot {forget.size} rows exactly; {_speed_phrase(refit / median_request, 'a refit')} "
        "per request.",
    )
    panels = [
        _request_panel("Exact ridge: time", seconds, refit, "scikit-learn Ridge refit"),
        {
            "title": "Coefficients vs a refit",
            "kind": "lines",
            "xlabel": "deletion request",
            "ylabel": "largest relative difference",
            "log": True,
            "series": {"|coef - refit coef| / max|refit coef|": differences},
        },
    ]
    measurement = Measurement(
        "Ridge", "make_regression", int(forget.size), median_request, refit, verified
    )
    return StopResult("linear", [measurement], panels)


def _decremental(options: TourOptions) -> StopResult:
    from skunlearn.metrics import verify_unlearning
    from skunlearn.naive_bayes import GaussianNB
    from skunlearn.neighbors import KNeighborsClassifier
    from skunlearn.pipeline import make_pipeline
    from skunlearn.preprocessing import MinMaxScaler

    _say("Exact decremental drop-ins: change one import and the model can forget")
    _say(
        "      naive Bayes subtracts the rows' statistics, neighbours rebuild their index over\n"
        "      the rows left, and a pipeline forgets through every step"
    )
    _say()
    generated = _generated(options.seed, classification=True)
    digits = _split(load_digits, options.seed)
    n_digits = round(0.05 * len(digits[2]))
    cases = [
        ("GaussianNB", "make_classification", GaussianNB(), sk_nb.GaussianNB(), generated, None),
        (
            "KNeighborsClassifier",
            "digits",
            KNeighborsClassifier(),
            sk_neighbors.KNeighborsClassifier(),
            digits,
            n_digits,
        ),
        (
            "Pipeline: MinMaxScaler + GaussianNB",
            "make_classification",
            make_pipeline(MinMaxScaler(), GaussianNB()),
            sk_pipeline.make_pipeline(sk_preprocessing.MinMaxScaler(), sk_nb.GaussianNB()),
            generated,
            None,
        ),
    ]
    rng = np.random.RandomState(options.seed)
    measurements, names = [], []
    for step, (name, data_name, model, baseline, data, n_forget) in enumerate(cases, start=1):
        X, X_test, y, y_test = data
        model.fit(X, y)
        acc_before = model.score(X_test, y_test)
        forget = rng.choice(len(y), size=n_forget or _N_REQUESTS, replace=False)
        _say(
            f"[{step}/{len(cases)}] {name} on {data_name} ({len(y)} rows):\n"
            f"      forgetting {forget.size} rows one request at a time"
        )
        retrained = []
        seconds = _forget_one_by_one(
            model,
            forget,
            lambda m, out=retrained: out.append(m.unlearn_report_["samples_retrained"]),
        )
        median_request = float(np.median(seconds))
        keep = _retained(model)
        refit = _median_seconds(lambda b=baseline, k=keep, X=X, y=y: clone(b).fit(X[k], y[k]), 5)
        report = verify_unlearning(model, X, y)
        verified = bool(report["passed"])
        speedup = refit / median_request
        _say(
            f"      median request: {_fmt_seconds(median_request)} "
            f"(rows retrained: {int(np.median(retrained))}); scikit-learn refit: "
            f"{_fmt_seconds(refit)}\n      -> {_speed_phrase(speedup, 'a refit')}"
        )
        if name.startswith("KNeighbors"):
            _say(
                "      (a nearest-neighbour model is its rows: forgetting rebuilds scikit-learn's\n"
                "      index over the rows left, so that every answer, ties included, is a\n"
                "      refit's; it costs what a refit costs)"
            )
        if name.startswith("Pipeline"):
            n_refit = sum(r > 0 for r in retrained)
            _say(
                f"      ({forget.size - n_refit} of {forget.size} requests left the scaler's "
                "extremes alone and only updated the\n      naive Bayes; a request that removes "
                "an extreme changes every feature and refits\n      the steps after it)"
            )
        _say(f"      test accuracy {acc_before:.3f} -> {model.score(X_test, y_test):.3f}")
        _say(f"      {_exact_check(report)}")
        measurements.append(
            Measurement(name, data_name, int(forget.size), median_request, refit, verified)
        )
        names.append(name.split("(")[0].split(":")[0])
    verified = all(m.verified for m in measurements)
    total = sum(m.n_forgotten for m in measurements)
    slower = [m.model for m in measurements if m.speedup < 1]
    speed = (
        f"; SLOWER than a refit: {', '.join(slower)}"
        if slower
        else "; every model faster than a refit"
    )
    _verdict(
        verified, f"forgot {total} rows exactly in {len(cases)} models, equal to refits{speed}."
    )
    panels = [
        {
            "title": "Decremental drop-ins: time per request",
            "kind": "bars",
            "categories": names,
            "series": {
                "unlearn (median request)": [1e3 * m.unlearn_seconds for m in measurements],
                "scikit-learn refit": [1e3 * m.retrain_seconds for m in measurements],
            },
            "ylabel": "milliseconds",
            "log": True,
        },
    ]
    return StopResult("decremental", measurements, panels)


def _arcane(options: TourOptions) -> StopResult:
    from skunlearn.ensemble import ClassPartitionedClassifier
    from skunlearn.metrics import verify_unlearning

    X, X_test, y, y_test = _split(load_digits, options.seed)
    _say("Class-partitioned exact unlearning (ARCANE): one density model per class")
    _say(f"data  : load_digits, {len(y)} rows to train on, {len(y_test)} held out")
    _say("model : ClassPartitionedClassifier(GaussianMixture(reg_covar=0.1))")
    _say()
    model = ClassPartitionedClassifier(GaussianMixture(reg_covar=0.1), random_state=options.seed)
    _, fit_seconds = _clock(lambda: model.fit(X, y))
    acc_before = model.score(X_test, y_test)
    _say(f"      fitted in {_fmt_seconds(fit_seconds)}; test accuracy {acc_before:.3f}")
    rng = np.random.RandomState(options.seed)
    forget = rng.choice(len(y), size=10, replace=False)
    _say(f"[1/3] Forgetting {forget.size} rows one request at a time")
    rows_retrained = []
    seconds = _forget_one_by_one(
        model, forget, lambda m: rows_retrained.append(m.unlearn_report_["samples_retrained"])
    )
    median_request = float(np.median(seconds))
    acc_after = model.score(X_test, y_test)
    _say(
        f"      median request: {_fmt_seconds(median_request)}, retraining one class's model "
        f"({int(np.median(rows_retrained))} of {len(y)} rows)"
    )
    _say(f"      test accuracy now {acc_after:.3f}")
    _say()
    _say("[2/3] Retraining from scratch on the retained rows, for comparison")
    keep = _retained(model)
    retrain = _median_seconds(lambda: clone(model).fit(X[keep], y[keep]), repeats=2)
    _say(f"      full retrain: {_fmt_seconds(retrain)} ({retrain / median_request:.1f}x a request)")
    _say()
    _say("[3/3] Verifying exactness: verify_unlearning against a model retrained from scratch")
    report = verify_unlearning(model, X, y)
    verified = bool(report["passed"])
    _say(f"      {_exact_check(report)}")
    _verdict(
        verified,
        f"forgot {forget.size} rows exactly; accuracy {acc_before:.3f} -> {acc_after:.3f}; "
        f"{_speed_phrase(retrain / median_request)} per request.",
    )
    panels = [
        _request_panel("ARCANE: one request retrains one class", seconds, retrain, "full retrain"),
        {
            "title": "Rows retrained per request",
            "kind": "bars",
            "categories": ["one request (median)", "full retrain"],
            "series": {"rows": [float(np.median(rows_retrained)), float(keep.size)]},
        },
    ]
    measurement = Measurement(
        "ClassPartitioned(GMM)", "digits", int(forget.size), median_request, retrain, verified
    )
    return StopResult("arcane", [measurement], panels)


def _cholesky_distance(a, b) -> float:
    """Distance in (means, Cholesky factors): the metric of the posterior's certified bound."""
    mean_a, mean_b = np.atleast_2d(a.posterior_mean_), np.atleast_2d(b.posterior_mean_)
    shape = (mean_a.shape[0], mean_a.shape[1], mean_a.shape[1])
    chol_a = np.linalg.cholesky(a.posterior_covariance_.reshape(shape))
    chol_b = np.linalg.cholesky(b.posterior_covariance_.reshape(shape))
    return float(np.sqrt(np.sum((mean_a - mean_b) ** 2) + np.sum((chol_a - chol_b) ** 2)))


def _bayes(options: TourOptions) -> StopResult:
    from skunlearn.bayes import VariationalUnlearnLogistic
    from skunlearn.bayes._gaussian import gaussian_kl
    from skunlearn.metrics import retrain_gap

    X, X_test, y, y_test = _split(load_breast_cancer, options.seed, scale=True)
    _say("Bayesian unlearning: a Gaussian posterior that forgets rows (site subtraction + refine)")
    _say(
        f"data  : load_breast_cancer, {len(y)} rows to train on, {len(y_test)} held out\n"
        "        (standardized with the held-out rows' statistics: no forgotten row shapes them)"
    )
    _say("model : VariationalUnlearnLogistic()")
    _say()
    model = VariationalUnlearnLogistic(random_state=options.seed)
    _, fit_seconds = _clock(lambda: model.fit(X, y))
    full = copy.deepcopy(model)
    _say(f"      fitted in {_fmt_seconds(fit_seconds)}")
    rng = np.random.RandomState(options.seed)
    forget = rng.choice(len(y), size=round(0.1 * len(y)), replace=False)
    _say(f"[1/3] Forgetting {forget.size} rows (10%) in one request")
    _, unlearn_seconds = _clock(lambda: model.unlearn(forget))
    bound = model.unlearn_report_["distance_bound"]
    _say(f"      request: {_fmt_seconds(unlearn_seconds)}; certified distance bound {bound:.3g}")
    _say()
    _say("[2/3] Retraining from scratch on the retained rows, for comparison")
    keep = _retained(model)
    retrain = _median_seconds(lambda: clone(model).fit(X[keep], y[keep]), repeats=3)
    reference = clone(model).set_params(tol=1e-10).fit(X[keep], y[keep])
    _say(
        f"      retrain: {_fmt_seconds(retrain)} ({retrain / unlearn_seconds:.1f}x the request); "
        "reference posterior refitted with tol=1e-10"
    )
    _say()
    _say("[3/3] Verifying: KL divergence to the retrained posterior, and the certified bound")

    def kl(a):
        return gaussian_kl(
            a.posterior_mean_,
            a.posterior_covariance_,
            reference.posterior_mean_,
            reference.posterior_covariance_,
        )

    kl_unlearned, kl_nothing = kl(model), kl(full)
    gap_unlearned = retrain_gap(model, reference, X_test)["tv_max"]
    gap_nothing = retrain_gap(full, reference, X_test)["tv_max"]
    distance = _cholesky_distance(model, reference)
    # The bound is on the distance to the exact optimum; the reference is itself within its
    # own certified bound of that optimum.
    allowed = bound + reference.optimality_bound_
    _say(f"      KL(unlearned || retrained) = {kl_unlearned:.2e} nats")
    _say(
        f"      KL(full || retrained)      = {kl_nothing:.2e} nats (doing nothing: "
        f"{kl_nothing / kl_unlearned:.0f}x more)"
    )
    _say(
        f"      largest held-out probability difference from the retrained model: "
        f"{gap_unlearned:.1e}\n      (doing nothing: {gap_nothing:.1e})"
    )
    _say(
        "      distance to the retrained posterior (means, Cholesky factors): "
        f"{distance:.2e}\n      {'<=' if distance <= allowed else '>'} certified bound "
        f"{allowed:.2e}"
    )
    verified = bool(kl_unlearned < kl_nothing and distance <= allowed)
    _verdict(
        verified,
        f"forgot {forget.size} rows; {kl_nothing / kl_unlearned:.0f}x closer (KL) to the "
        f"retrained posterior; {_speed_phrase(retrain / unlearn_seconds)}.",
    )
    panels = [
        {
            "title": "KL divergence to the retrained posterior",
            "kind": "bars",
            "categories": ["doing nothing", "unlearned"],
            "series": {"KL (nats)": [kl_nothing, kl_unlearned]},
            "log": True,
        },
        {
            "title": "Time",
            "kind": "bars",
            "categories": ["unlearn (one request)", "retrain"],
            "series": {"milliseconds": [1e3 * unlearn_seconds, 1e3 * retrain]},
            "log": True,
        },
    ]
    measurement = Measurement(
        "VariationalUnlearnLogistic",
        "breast_cancer",
        int(forget.size),
        unlearn_seconds,
        retrain,
        verified,
    )
    return StopResult("bayes", [measurement], panels)


#: The stops in tour order: name -> (title, function).
STOPS: dict[str, tuple[str, Callable[[TourOptions], StopResult]]] = {
    "sharded": ("sharded ensembles (SISA), exact", _sharded),
    "forest": ("unlearnable random forest, exact", _forest),
    "influence": ("Newton / influence unlearning, certified bound", _influence),
    "linear": ("exact linear models (ridge)", _linear),
    "decremental": ("decremental drop-ins: naive Bayes, neighbours, pipeline", _decremental),
    "arcane": ("class-partitioned ensembles (ARCANE), exact", _arcane),
    "bayes": ("Bayesian unlearning of a variational posterior", _bayes),
}


# -- the tour --------------------------------------------------------------------------------


def _summary(results: list[StopResult]) -> None:
    columns = ("stop", "model", "data", "forgot", "unlearn", "retrain", "speedup", "verified")
    rows = []
    for result in results:
        if result.error is not None:
            rows.append((result.name, "(raised an error)", "-", "-", "-", "-", "-", "NO"))
        for m in result.measurements:
            rows.append(
                (
                    result.name,
                    m.model,
                    m.data,
                    str(m.n_forgotten),
                    _fmt_seconds(m.unlearn_seconds),
                    _fmt_seconds(m.retrain_seconds),
                    f"{m.speedup:.1f}x" if m.speedup >= 1 else f"{m.speedup:.1f}x SLOWER",
                    "yes" if m.verified else "NO",
                )
            )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    left = {"stop", "model", "data"}

    def line(cells):
        return "  ".join(
            cell.ljust(w) if name in left else cell.rjust(w)
            for name, cell, w in zip(columns, cells, widths)
        )

    _say("Summary: median time of one request against retraining from scratch on the retained rows")
    _say(line(columns))
    for row in rows:
        _say(line(row))
    _say(
        "(speedup: retrain / unlearn; below 1x a request is SLOWER than retraining. The stops\n"
        " on generated data train on 10,000 to 80,000 rows, where a refit takes tens to\n"
        " hundreds of milliseconds as in production; on the few hundred rows shipped with\n"
        " scikit-learn any refit takes about a millisecond. A neighbours model rebuilds its\n"
        " index over the rows left, which costs a refit. The gap grows with the data:\n"
        " python -m skunlearn bench)"
    )


def run_tour(
    stops: list[str] | None = None, options: TourOptions | None = None, plot_dir=None
) -> list[StopResult]:
    """Run the given stops (all by default) in tour order and return what they measured.

    A stop that raises is reported as failed and the tour goes on. With ``plot_dir``, each
    stop's figure (and, for several stops, a summary figure) is written there as PNG.
    """
    options = options or TourOptions()
    names = [name for name in STOPS if stops is None or name in stops]
    tour = len(names) > 1
    if tour:
        _say("skunlearn demo: a tour of machine unlearning, one stop per family of methods")
        _say("      each stop forgets rows, times the requests against retraining from scratch,")
        _say("      and verifies the result against a retrained model")
        for number, name in enumerate(names, start=1):
            _say(f"      {number}. {name:12s} {STOPS[name][0]}")
    results = []
    # Small models: one BLAS thread is fastest and keeps the timings comparable across stops.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for number, name in enumerate(names, start=1):
            title, stop = STOPS[name]
            if tour:
                _say()
                _say(f"=== stop {number}/{len(names)}: {name} - {title} ".ljust(100, "="))
            start = time.perf_counter()
            try:
                result = stop(options)
            except Exception as exc:  # a broken stop must not hide the others' results
                traceback.print_exc()
                result = StopResult(name, error=f"{type(exc).__name__}: {exc}")
                _say(f"FAILED: the {name} stop raised {result.error}")
            result.seconds = time.perf_counter() - start
            results.append(result)

    written = []
    if plot_dir is not None:
        from skunlearn._plots import write_figures

        written = write_figures(results, Path(plot_dir))
    if tour or written:
        _say()
        if tour:
            _summary(results)
            _say()
        if written:
            _say(f"figures written to {plot_dir}:")
            _say("      " + ", ".join(p.name for p in written))
        failed = [r.name for r in results if not r.verified]
        n_forgotten = sum(r.n_forgotten for r in results)
        seconds = sum(r.seconds for r in results)
        if failed:
            _say(f"FAILED: verification did not pass at {', '.join(failed)}.")
        else:
            _say(
                f"OK: forgot {n_forgotten} rows in {len(results)} stop(s); every verification "
                f"passed ({seconds:.1f}s)."
            )
    return results
