"""One-row unlearning against a refit, for the decremental naive Bayes and neighbours models.

For each model: fit on n rows, then time ``unlearn`` of one random row (a fresh row each
repeat) and time scikit-learn's estimator refitted on the retained rows (the retained array is
prepared outside the timer). The figure is the ratio of medians, refit / unlearn, measured in
one run. Neighbours rebuild scikit-learn's index over the retained rows, so forgetting costs
about a refit; the ratio of query times, ours / scikit-learn's, is reported too.

Usage::

    python benchmarks/bench_decremental.py            # n = 200,000
    python benchmarks/bench_decremental.py --quick    # n = 10,000, a few seconds

Writes ``benchmarks/results/bench_decremental[_quick].json``.
"""

from __future__ import annotations

import numpy as np
import sklearn
from _common import median_seconds, parser, report
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_nn

from skunlearn import naive_bayes as su_nb
from skunlearn import neighbors as su_nn


def _data(kind: str, n: int, d: int, rng):
    y = rng.randint(5, size=n)
    if kind == "gaussian":
        X = rng.normal(size=(n, d)) + y[:, None]
    elif kind == "counts":
        X = rng.poisson(1.0 + y[:, None] * 0.3, size=(n, d)).astype(float)
    elif kind == "binary":
        X = (rng.uniform(size=(n, d)) < 0.2 + 0.1 * y[:, None]).astype(float)
    else:  # categorical
        X = (rng.randint(8, size=(n, d)) + y[:, None]) % 8
    return X, y


def bench_model(name, ours, ref, X, y, repeats, rng, query=None):
    ours.fit(X, y)
    n = X.shape[0]
    rows = iter(rng.choice(n, size=repeats, replace=False))
    unlearn = median_seconds(lambda: ours.unlearn([next(rows)]), repeats)
    keep = np.ones(n, dtype=bool)
    keep[ours.unlearned_indices_] = False
    X_kept, y_kept = X[keep], y[keep]
    refit = median_seconds(lambda: ref.fit(X_kept, y_kept), repeats)
    result = {
        "model": name,
        "n": n,
        "n_features": X.shape[1],
        "unlearn_s": unlearn,
        "refit_s": refit,
        "speedup": refit / unlearn,
        "agrees_with_refit": bool(np.array_equal(ours.predict(X[:2000]), ref.predict(X[:2000]))),
    }
    if query is not None:
        ours_q = median_seconds(lambda: ours.predict(query), max(1, repeats // 2))
        ref_q = median_seconds(lambda: ref.predict(query), max(1, repeats // 2))
        result["query_ratio"] = ours_q / ref_q
        result["algorithm"] = ref._fit_method
    return result


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(repeats=None)  # 3 with --quick, else 7
    args = p.parse_args(argv)
    n = 10_000 if args.quick else 200_000
    args.repeats = repeats = args.repeats or (3 if args.quick else 7)
    rng = np.random.RandomState(0)

    cases = [
        ("GaussianNB", su_nb.GaussianNB(), sk_nb.GaussianNB(), "gaussian", 50),
        ("MultinomialNB", su_nb.MultinomialNB(), sk_nb.MultinomialNB(), "counts", 50),
        ("ComplementNB", su_nb.ComplementNB(), sk_nb.ComplementNB(), "counts", 50),
        ("BernoulliNB", su_nb.BernoulliNB(), sk_nb.BernoulliNB(), "binary", 50),
        ("CategoricalNB", su_nb.CategoricalNB(), sk_nb.CategoricalNB(), "categorical", 20),
    ]
    results = []
    for name, ours, ref, kind, d in cases:
        X, y = _data(kind, n, d, rng)
        results.append(bench_model(name, ours, ref, X, y, repeats, rng))
    for d, algorithm in ((8, "auto"), (8, "ball_tree"), (32, "auto")):
        X, y = _data("gaussian", n, d, rng)
        query = X[rng.choice(n, 200, replace=False)] + 0.01
        results.append(
            bench_model(
                f"KNeighborsClassifier({algorithm})",
                su_nn.KNeighborsClassifier(algorithm=algorithm),
                sk_nn.KNeighborsClassifier(algorithm=algorithm),
                X,
                y,
                repeats,
                rng,
                query=query,
            )
        )

    columns = ["model", "n", "n_features", "unlearn_s", "refit_s", "speedup", "query_ratio"]
    columns.append("agrees_with_refit")
    extra = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    report("bench_decremental", results, columns, args, extra)


if __name__ == "__main__":
    main()
