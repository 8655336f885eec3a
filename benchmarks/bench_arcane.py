"""Class-partitioned (ARCANE) against sharded (SISA) ensembles with as many sub-models as classes.

For each dataset (digits; a larger generated 10-class set) and model it reports:

- ``acc``: test accuracy;
- ``rows/req``: rows retrained by a one-row request, mean over random requests (from
  ``estimate_unlearn_cost``, which is what ``unlearn`` then does), and ``rows/req vs SISA``
  its ratio to the sharded ensemble of decision trees with the same number of sub-models;
- ``fitted/req``: rows passed to ``fit`` / ``partial_fit`` by such a request, counting a row
  once per call (with warm-started blocks, block ``b`` is a fit on the rows of blocks
  ``0 .. b``, so this exceeds ``rows/req``);
- ``free``: share of those requests that retrain nothing (with representative selection);
- ``rows/10req``: rows retrained by a batch of 10 random rows, mean over batches;
- ``one/fit``: median time of a one-row ``unlearn`` over the model's full ``fit`` time;
- ``fit_s`` and ``one_s``: those two times, for scale.

Times are medians of ``--repeats`` runs, measured with BLAS and OpenMP limited to one thread
(the sub-models are small, and on a shared machine thread start-up would dominate).
Run ``python benchmarks/bench_arcane.py`` (a few minutes on two cores) or ``--quick``.
"""

from __future__ import annotations

import numpy as np
from _common import median_seconds, parser, report
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skunlearn.ensemble import ClassPartitionedClassifier, ShardedEnsembleClassifier


def datasets(quick: bool):
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y
    n = 2_000 if quick else 20_000
    X, y = make_classification(
        n_samples=n,
        n_features=20,
        n_informative=12,
        n_classes=10,
        n_clusters_per_class=1,
        random_state=0,
    )
    yield f"generated_{n}", X, y


def models(n_classes: int, rows_per_class: int, quick: bool):
    # Digits' pixels range over 0..16: full covariances need some regularization there.
    gmm = GaussianMixture(reg_covar=0.1)
    selection = max(20, rows_per_class // 10)
    return {
        "SISA tree": ShardedEnsembleClassifier(n_shards=n_classes),
        "SISA logistic": ShardedEnsembleClassifier(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)), n_shards=n_classes
        ),
        "SISA forest": ShardedEnsembleClassifier(
            RandomForestClassifier(n_estimators=10 if quick else 30), n_shards=n_classes
        ),
        "ARCANE gmm": ClassPartitionedClassifier(gmm),
        "ARCANE gmm 4 blocks": ClassPartitionedClassifier(gmm, n_blocks=4),
        f"ARCANE gmm select {selection}": ClassPartitionedClassifier(gmm, selection=selection),
    }


def request_costs(model, n_requests: int, batch: int, rng):
    retained = np.flatnonzero(model._retained_mask())
    requests = [rng.choice(retained, batch, replace=False) for _ in range(n_requests)]
    costs = [model.estimate_unlearn_cost(request) for request in requests]
    # The sharded ensemble passes each retrained row once to fit: rows fitted = rows retrained.
    return (
        np.array([c["samples_retrained"] for c in costs]),
        np.array([c.get("rows_fitted", c["samples_retrained"]) for c in costs]),
    )


def bench_one(name, template, X, y, X_test, y_test, args):
    fitted = {}

    def fit():
        fitted["model"] = clone(template).set_params(random_state=0).fit(X, y)

    fit_s = median_seconds(fit, repeats=args.repeats)
    model = fitted["model"]
    rng = np.random.RandomState(0)
    n_requests = 20 if args.quick else 200
    one, one_fitted = request_costs(model, n_requests, 1, rng)
    ten, _ = request_costs(model, max(10, n_requests // 4), 10, rng)
    rows = iter(rng.choice(np.flatnonzero(model._retained_mask()), args.repeats, replace=False))
    one_s = median_seconds(lambda: model.unlearn([next(rows)]), repeats=args.repeats)
    return {
        "model": name,
        "acc": model.score(X_test, y_test),
        "rows/req": float(one.mean()),
        "fitted/req": float(one_fitted.mean()),
        "free": float(np.mean(one == 0)),
        "rows/10req": float(ten.mean()),
        "fit_s": fit_s,
        "one_s": one_s,
        "one/fit": one_s / fit_s,
    }


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    rows = []
    with threadpool_limits(1):
        for data_name, X, y in datasets(args.quick):
            X, X_test, y, y_test = train_test_split(X, y, random_state=0, stratify=y)
            n_classes = np.unique(y).size
            sisa = None
            for name, template in models(n_classes, len(y) // n_classes, args.quick).items():
                row = {"data": data_name, "n_train": len(y)}
                row.update(bench_one(name, template, X, y, X_test, y_test, args))
                sisa = row["rows/req"] if sisa is None else sisa
                row["rows/req vs SISA"] = row["rows/req"] / sisa
                print(
                    f"{data_name:16s} {name:24s} acc={row['acc']:.3f} "
                    f"rows/req={row['rows/req']:.1f} one/fit={row['one/fit']:.3f}",
                    flush=True,
                )
                rows.append(row)
    print()
    columns = [
        "data",
        "model",
        "acc",
        "rows/req",
        "rows/req vs SISA",
        "fitted/req",
        "free",
        "rows/10req",
        "fit_s",
        "one_s",
        "one/fit",
    ]
    report("arcane", rows, columns, args)


if __name__ == "__main__":
    main()
