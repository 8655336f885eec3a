"""Newton unlearning of logistic regression: speed against a refit, bounds against the optimum.

Three tables, every ratio measured in one run with BLAS limited to one thread.

**Streams** (``make_classification(n_samples=100_000, n_features=200)`` standardized, binary,
201 parameters; and digits, 10 classes, 650 parameters): a stream of one-row requests on one
model, after one unmeasured warm-up request (it also corrects scikit-learn's own tolerance on
the full data, which is not the cost of forgetting). Per setting:

- ``certificate`` / ``tol``: "auto" pays an exact pass only when the pass-free bound misses
  ``tol * max(1, ||theta||)``; "lazy" pays one every 50 requests (valid looser bounds between);
- ``refit_s``: scikit-learn's default ``LogisticRegression()`` fitted on the retained rows
  (median of ``--repeats``);
- ``median_s`` / ``mean_s``: the request's median and mean time, every exact pass,
  recertification and Hessian refresh of the stream included in the mean;
- ``speedup`` / ``speedup_amortized``: ``refit_s`` over them;
- ``pass_s``: the median time of one exact pass (``evaluate``), ``pass/Xv``: over one
  ``X_r @ v`` (the floor of a read of the rows), ``cheap_s``: the median request that paid no
  pass, ``cheap/floor``: over the bare floor (a compiled rank-one downdate of the factor, two
  triangular solves and the removed row's gradient, in a bare loop);
- ``passes_paid``: the fraction of requests that paid a pass, ``between_passes``: requests per
  pass; ``rel_bound``: the median bound over ``||theta||``; ``refits``: requests that
  ``solver="auto"`` answered by an exact refit because the cost model found it cheaper.

**Pipeline**: ``make_pipeline(StandardScaler(), InfluenceUnlearnLogistic())`` on raw features
(the standardized data with random column scales and offsets) against the same model on the
pre-scaled data, certificate "lazy": ``pipe/prescaled`` is the ratio of median requests.

**Bounds** (``--sweep``, hundreds of requests): binary and multinomial, sample weights, class
weights, sparse, batches of 1 to 1,000 rows, both certificates. After each request the
reference optimum is scikit-learn's newton-cholesky at ``tol=1e-12`` warm-started and then
polished by exact Newton steps to the rounding level of its gradient; reported:
``bound/true`` median and smallest (a value >= 1 means the bound held), and ``violations``.

Usage: ``python benchmarks/bench_influence.py [--quick] [--repeats R] [--requests Q]
[--sweep N]``; writes ``benchmarks/results/bench_influence.json``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _common import median_seconds, parser, report
from scipy import sparse
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler as SkStandardScaler
from threadpoolctl import threadpool_limits

from skunlearn.linear_model import InfluenceUnlearnLogistic
from skunlearn.linear_model._cholesky import _cho_solve
from skunlearn.linear_model._influence import RefitWarning
from skunlearn.linear_model._kernels import rank_k_update, rank_one_update
from skunlearn.linear_model._newton import evaluate, minimize
from skunlearn.pipeline import make_pipeline
from skunlearn.preprocessing import StandardScaler


def _synthetic(n, d, seed=0):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 4, random_state=seed)
    return SkStandardScaler().fit_transform(X), y


def _floor(model, repeats=200) -> float:
    """Median time of the bare O(p^2) work of a one-row request, in a bare loop: the row's
    curvature factor and gradient, the compiled downdate of the factor by its column (K
    columns for the softmax, in one interleaved pass), two triangular solves."""
    cache, obj = model._cache, model._objective
    L = cache.factor
    block = model._problem.store.blocks[0].data
    X1, t1, s1 = block["X"][:1], block["target"][:1], np.ones(1)
    theta, g = model._theta, model._gradient
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        U = np.sqrt(obj.C) * obj.data_hessian_factor(X1, s1, cache.theta_ref)
        F = L.copy(order="F")
        if U.shape[1] == 1:
            rank_one_update(F, U[:, 0].copy(), -1.0)
        else:
            rank_k_update(F, np.ascontiguousarray(U.T), -1.0, np.ones(U.shape[1]))
        g_new = g - obj.C * obj.data_gradient(X1, t1, s1, theta)
        _cho_solve(F, g_new)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _stream(name, X, y, certificate, tol, requests, repeats, rng) -> dict:
    model = InfluenceUnlearnLogistic(tol=tol, certificate=certificate, pass_every=50)
    model.fit(X, y)
    model.unlearn(rng.choice(len(y), 1, replace=False))  # warm-up, see the docstring
    times, paid, bounds, refits = [], [], [], 0
    alive = np.flatnonzero(model._retained_mask())
    order = rng.permutation(alive)[:requests]
    for i in order:
        start = time.perf_counter()
        model.unlearn([int(i)])
        times.append(time.perf_counter() - start)
        rep = model.unlearn_report_
        paid.append(rep["exact_pass"])
        refits += bool(rep["refit"])
        if rep["distance_bound"] is not None:  # None: an exact refit (cheaper, see solver)
            bounds.append(rep["distance_bound"] / max(1.0, np.linalg.norm(model._theta)))
    times, paid = np.asarray(times), np.asarray(paid)
    keep = model._retained_mask()
    X_keep, y_keep = X[keep], y[keep]
    refit = median_seconds(lambda: LogisticRegression().fit(X_keep, y_keep), repeats)
    pass_s = median_seconds(
        lambda: evaluate(model._problem, model._theta, schur=False, value=False), 5
    )
    v = np.ones(X.shape[1])
    xv = median_seconds(lambda: X_keep @ v, 5)
    floor = _floor(model)
    cheap = float(np.median(times[~paid])) if (~paid).any() else float("nan")
    return {
        "dataset": name,
        "params": model._objective.n_params,
        "certificate": certificate,
        "tol": tol,
        "requests": len(times),
        "refit_s": refit,
        "median_s": float(np.median(times)),
        "mean_s": float(np.mean(times)),
        "speedup": refit / float(np.median(times)),
        "speedup_amortized": refit / float(np.mean(times)),
        "pass_s": pass_s,
        "pass/Xv": pass_s / xv,
        "cheap_s": cheap,
        "floor_s": floor,
        "cheap/floor": cheap / floor,
        "passes_paid": float(paid.mean()),
        "between_passes": float(len(paid) / max(paid.sum(), 1) - 1),
        "rel_bound": float(np.median(bounds)) if bounds else float("nan"),
        "refits": refits,
    }


def _pipeline(X, y, requests, rng) -> dict:
    scales = np.exp(rng.uniform(-3, 3, X.shape[1]))
    offsets = rng.uniform(-100, 100, X.shape[1])
    raw = X * scales + offsets
    order = rng.permutation(len(y))[:requests]
    out = {}
    for label, data, est in [
        ("prescaled", X, InfluenceUnlearnLogistic(certificate="lazy")),
        ("pipeline", raw, make_pipeline(StandardScaler(), InfluenceUnlearnLogistic(
            certificate="lazy"))),
    ]:  # fmt: skip
        est.fit(data, y)
        est.unlearn([int(order[0])])
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", RefitWarning)  # a refit would be a failure here
            for i in order[1:]:
                start = time.perf_counter()
                est.unlearn([int(i)])
                times.append(time.perf_counter() - start)
        out[label] = float(np.median(times))
        out[label + "_mean"] = float(np.mean(times))
        if label == "pipeline":
            out["steps_refit"] = len(est.unlearn_report_["steps_refit"])
    return {
        "prescaled_s": out["prescaled"],
        "pipeline_s": out["pipeline"],
        "pipe/prescaled": out["pipeline"] / out["prescaled"],
        "pipe/prescaled_mean": out["pipeline_mean"] / out["prescaled_mean"],
        "pipeline_refits": out["steps_refit"],
    }


def _polished(model, X, y, sw, template):
    """The retained optimum: scikit-learn at tol=1e-12, then exact Newton steps."""
    keep = model._retained_mask()
    lr = LogisticRegression(
        C=template.C, class_weight=template.class_weight, solver="newton-cholesky", tol=1e-12,
        max_iter=300,
    )  # fmt: skip
    Xk = X[keep]
    lr.fit(Xk, y[keep], sample_weight=None if sw is None else sw[keep])
    obj = model._objective
    theta = obj.project(obj.join(lr.coef_, lr.intercept_))
    ev, _ = minimize(model._problem, theta)
    return ev.theta


def _sweep(n_requests, rng) -> list[dict]:
    """Bound / true distance over many random requests of many kinds."""
    Xb, yb = _synthetic(20_000, 20, seed=1)
    cases = [
        ("breast_cancer", *load_breast_cancer(return_X_y=True), {}, False, False),
        ("breast_cancer weights", *load_breast_cancer(return_X_y=True), {}, True, False),
        ("wine balanced", *load_wine(return_X_y=True), {"class_weight": "balanced"}, False,
         False),
        ("digits", *load_digits(return_X_y=True), {}, False, False),
        ("digits sparse", *load_digits(return_X_y=True), {"C": 0.1}, False, True),
        ("synthetic 20000x20 batches", Xb, yb, {"class_weight": {0: 1.0, 1: 3.0}}, True, False),
    ]  # fmt: skip
    rows = []
    per_case = max(4, n_requests // (2 * len(cases)))
    for name, X, y, options, weighted, sparse_ in cases:
        X = SkStandardScaler().fit_transform(X)
        if sparse_:
            X = sparse.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
        sw = rng.uniform(0.5, 2.0, len(y)) if weighted else None
        template = LogisticRegression(**options)
        for certificate in ("auto", "lazy"):
            model = InfluenceUnlearnLogistic(template, certificate=certificate, pass_every=10)
            model.fit(X, y, sample_weight=sw)
            ratios, violations, cheap = [], 0, 0
            sizes = [1, 1, 2, 5, 10] + ([100, 1000] if len(y) > 10_000 else [20])
            for _ in range(per_case):
                alive = np.flatnonzero(model._retained_mask())
                k = int(min(rng.choice(sizes), alive.size // 10))
                try:
                    model.unlearn(rng.choice(alive, max(k, 1), replace=False))
                except ValueError:
                    continue
                rep = model.unlearn_report_
                if rep["distance_bound"] is None:
                    continue
                ref = _polished(model, X, y, sw, template)
                true = float(np.linalg.norm(model._theta - ref))
                ratios.append(rep["distance_bound"] / max(true, 1e-300))
                violations += bool(true > rep["distance_bound"])
                cheap += not rep["exact_pass"]
            rows.append(
                {
                    "case": name,
                    "certificate": certificate,
                    "requests": len(ratios),
                    "no_pass": cheap,
                    "bound/true_median": float(np.median(ratios)),
                    "bound/true_min": float(np.min(ratios)),
                    "bound/true_max": float(np.max(ratios)),
                    "violations": violations,
                }
            )
    return rows


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1000, help="one-row requests per stream")
    p.add_argument("--sweep", type=int, default=300, help="requests of the bound sweep")
    args = p.parse_args(argv)
    repeats = max(2, args.repeats if not args.quick else 2)
    requests = 40 if args.quick else args.requests
    rng = np.random.default_rng(0)
    rows, extra = [], {"blas_threads": 1}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RefitWarning)
        n, d = (10_000, 50) if args.quick else (100_000, 200)
        X, y = _synthetic(n, d)
        name = f"make_classification({n}x{d})"
        for certificate, tol, count in [
            ("lazy", 1e-4, requests),
            ("auto", 1e-4, requests),
            ("auto", 1e-6, max(30, requests // 10)),
        ]:
            rows.append(_stream(name, X, y, certificate, tol, count, repeats, rng))
        Xd, yd = load_digits(return_X_y=True)
        Xd = SkStandardScaler().fit_transform(Xd)
        for certificate in ("lazy", "auto"):
            rows.append(_stream("digits", Xd, yd, certificate, 1e-4, 300, repeats, rng))
        extra["pipeline"] = _pipeline(X, y, max(31, requests // 10), rng)
        if args.sweep:
            extra["sweep"] = _sweep(40 if args.quick else args.sweep, rng)
    columns = [
        "dataset", "params", "certificate", "tol", "requests", "refit_s", "median_s", "mean_s",
        "speedup", "speedup_amortized", "pass_s", "pass/Xv", "cheap_s", "cheap/floor",
        "passes_paid", "between_passes", "rel_bound", "refits",
    ]  # fmt: skip
    report("bench_influence", rows, columns, args, extra=extra)
    print("\npipeline (raw features) against the pre-scaled model:", extra["pipeline"])
    for row in extra.get("sweep", []):
        print(row)


if __name__ == "__main__":
    main()
