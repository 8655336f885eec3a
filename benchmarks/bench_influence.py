"""Newton unlearning of logistic regression: speed against a refit, accuracy against the optimum.

For breast_cancer (binary, 31 parameters), digits (10 classes, 650 parameters) and
``make_classification(n_samples=100_000, n_features=200)`` (binary, 201 parameters), all
standardized, measures in one run:

- ``refit_s``: scikit-learn's ``LogisticRegression()`` fitted from scratch on the retained rows
  (default lbfgs, ``tol=1e-4``): the cold refit a user would otherwise run;
- ``exact_s``: a refit to the accuracy unlearning reaches (newton-cholesky, ``tol=1e-10``);
- ``unlearn_s``: one :meth:`unlearn` call forgetting ``rows`` random rows, with exactly
  ``steps`` Newton steps (``max_newton_steps=steps, tol=0``), the median over the requests;
  ``mean_s``: their mean, which includes the occasional recomputation of the Hessian;
- ``speedup`` / ``speedup_exact``: ``refit_s`` / ``exact_s`` over ``unlearn_s``;
  ``speedup_mean``: ``refit_s`` over ``mean_s`` (the amortized figure);
- ``rel_err``: ``||theta - theta*|| / ||theta*||`` against the exact optimum of the retained
  objective (scikit-learn's newton-cholesky at ``tol=1e-12``, warm-started; its own error,
  around 1e-12 relative, is part of the figure);
- ``rel_bound``: the certified ``distance_bound`` over ``||theta*||``; ``err/bound``: the largest
  ratio of the true error to the bound (at most 1: the certificate holds);
- ``passes``: gradient passes over the rows per request; ``refresh``: Hessians recomputed
  from the rows per request, ``recert``: curvature bounds certified anew from the factor per
  request (both means); ``state/X``: pickled model bytes over the bytes of ``X``.

Times and errors are over ``--requests`` successive requests on one model (refit times are
medians of ``--repeats`` fits). A first,
unmeasured request is made after fitting: it also corrects the solver's own tolerance on the
full data (scikit-learn stops at ``tol=1e-4``), which is not the cost of forgetting. BLAS is
limited to one thread so that ratios do not depend on what else the machine runs.

Usage: ``python benchmarks/bench_influence.py [--quick] [--repeats R] [--requests Q]``; writes
``benchmarks/results/bench_influence.json``.
"""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
from _common import median_seconds, parser, report
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skunlearn.linear_model import InfluenceUnlearnLogistic


def _datasets(quick: bool):
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", StandardScaler().fit_transform(X), y
    X, y = load_digits(return_X_y=True)
    yield "digits", StandardScaler().fit_transform(X), y
    n, d = (10_000, 50) if quick else (100_000, 200)
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 4, random_state=0)
    yield f"make_classification({n}x{d})", StandardScaler().fit_transform(X), y


def _params(est):
    return np.concatenate([est.coef_.ravel(), est.intercept_.ravel()])


def _bench(name, X, y, rows, steps, repeats, requests, rng) -> dict:
    model = InfluenceUnlearnLogistic(LogisticRegression(), max_newton_steps=steps, tol=0.0)
    model.fit(X, y)
    model.unlearn(rng.choice(len(y), rows, replace=False))  # warm-up request, see docstring
    exact = LogisticRegression(solver="newton-cholesky", tol=1e-12, warm_start=True)
    exact.coef_, exact.intercept_ = model.coef_.copy(), model.intercept_.copy()
    times, errors, bounds, ratios, passes, refreshes, recerts = [], [], [], [], [], [], []
    for _ in range(requests):
        alive = np.flatnonzero(model._retained_mask())
        forget = rng.choice(alive, rows, replace=False)
        start = time.perf_counter()
        model.unlearn(forget)
        times.append(time.perf_counter() - start)
        report_ = model.unlearn_report_
        keep = model._retained_mask()
        exact.fit(X[keep], y[keep])
        ref = _params(exact)
        err = np.linalg.norm(_params(model) - ref)
        errors.append(err / np.linalg.norm(ref))
        bounds.append(report_["distance_bound"] / np.linalg.norm(ref))
        ratios.append(err / report_["distance_bound"])
        passes.append(report_["gradient_passes"])
        refreshes.append(report_["hessian_refreshes"])
        recerts.append(report_.get("curvature_recertifications", 0))
    keep = model._retained_mask()
    X_keep, y_keep = X[keep], y[keep]
    refit = median_seconds(lambda: LogisticRegression().fit(X_keep, y_keep), repeats)
    exact_s = median_seconds(
        lambda: LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X_keep, y_keep),
        max(1, repeats // 2),
    )
    unlearn, mean = float(np.median(times)), float(np.mean(times))
    return {
        "dataset": name,
        "params": model._objective.n_params,
        "rows": rows,
        "steps": steps,
        "refit_s": refit,
        "exact_s": exact_s,
        "unlearn_s": unlearn,
        "mean_s": mean,
        "speedup": refit / unlearn,
        "speedup_mean": refit / mean,
        "speedup_exact": exact_s / unlearn,
        "rel_err": float(np.median(errors)),
        "rel_bound": float(np.median(bounds)),
        "err/bound": float(np.max(ratios)),
        "passes": float(np.median(passes)),
        "refresh": float(np.mean(refreshes)),
        "recert": float(np.mean(recerts)),
        "state/X": len(pickle.dumps(model)) / X.nbytes,
    }


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20, help="unlearning requests per setting")
    args = p.parse_args(argv)
    repeats = max(2, args.repeats if not args.quick else 2)
    requests = max(2, args.requests if not args.quick else 4)
    rng = np.random.default_rng(0)
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, X, y in _datasets(args.quick):
            for n_removed in (1, 10):
                for steps in (1, 2):
                    rows.append(_bench(name, X, y, n_removed, steps, repeats, requests, rng))
    columns = [
        "dataset",
        "params",
        "rows",
        "steps",
        "refit_s",
        "exact_s",
        "unlearn_s",
        "mean_s",
        "speedup",
        "speedup_mean",
        "speedup_exact",
        "rel_err",
        "rel_bound",
        "err/bound",
        "passes",
        "refresh",
        "recert",
        "state/X",
    ]
    report("bench_influence", rows, columns, args, extra={"blas_threads": 1})


if __name__ == "__main__":
    main()
