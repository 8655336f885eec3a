"""Audit metrics: how the membership attack behaves, whether the cost model predicts, what
verification costs.

Three tables, each figure measured in this run:

- ``mia``: membership-inference AUC (loss attack) of a third of the training rows against unseen
  rows, before and after exact unlearning, over many seeds (``before``, ``after`` and
  ``retained`` are means; ``after_sd`` the spread of one seed; ``after_5`` the range of means of
  5 seeds). These are the measurements behind the margins of ``tests/test_metrics.py``.
- ``cost``: :func:`skunlearn.metrics.expected_unlearn_cost` against the rows actually retrained by
  one-row requests on random rows (``measured/expected`` should be 1 up to sampling noise).
- ``verify``: time of :func:`skunlearn.metrics.verify_unlearning` over the time of fitting the
  model (median of repeats); it retrains from scratch, so expect a small multiple of 1.

Run ``python benchmarks/bench_audit.py`` (a minute or two) or ``--quick`` (seconds).
"""

from __future__ import annotations

import copy

import numpy as np
from _common import median_seconds, parser, report
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.metrics import expected_unlearn_cost, membership_inference_auc, verify_unlearning


def noisy(seed):
    return make_classification(600, 20, n_informative=5, flip_y=0.2, random_state=seed)


def digits(seed):
    return load_digits(return_X_y=True)


MIA_SETTINGS = [
    ("noisy labels, trees, 2 shards", noisy, DecisionTreeClassifier, 2),
    ("digits, tree, 1 shard", digits, DecisionTreeClassifier, 1),
    (
        "noisy labels, 5-NN distance, 1 shard",
        noisy,
        lambda: KNeighborsClassifier(5, weights="distance"),
        1,
    ),
]


def bench_mia(n_seeds: int) -> list[dict]:
    rows = []
    for name, data, make, n_shards in MIA_SETTINGS:
        before, after, retained = [], [], []
        for seed in range(n_seeds):
            X, y = data(seed)
            X_tr, X_out, y_tr, y_out = train_test_split(X, y, test_size=0.5, random_state=seed)
            model = ShardedEnsembleClassifier(make(), n_shards=n_shards, random_state=seed)
            model.fit(X_tr, y_tr)
            n = y_tr.shape[0]
            forget = np.random.RandomState(seed).choice(n, n // 3, replace=False)
            retain = np.setdiff1d(np.arange(n), forget)
            before.append(membership_inference_auc(model, X_tr[forget], y_tr[forget], X_out, y_out))
            model.unlearn(forget)
            after.append(membership_inference_auc(model, X_tr[forget], y_tr[forget], X_out, y_out))
            retained.append(
                membership_inference_auc(model, X_tr[retain], y_tr[retain], X_out, y_out)
            )
        after = np.array(after)
        means_of_5 = after[: len(after) // 5 * 5].reshape(-1, 5).mean(axis=1)
        rows.append(
            {
                "setting": name,
                "seeds": n_seeds,
                "before": float(np.mean(before)),
                "after": float(after.mean()),
                "after_sd": float(after.std(ddof=1)),
                "after_5_min": float(means_of_5.min()) if means_of_5.size else None,
                "after_5_max": float(means_of_5.max()) if means_of_5.size else None,
                "retained": float(np.mean(retained)),
            }
        )
    return rows


def bench_cost(n_requests: int) -> list[dict]:
    X, y = load_digits(return_X_y=True)
    rows = []
    for n_shards, n_slices in [(1, 1), (4, 1), (16, 1), (4, 4)]:
        model = ShardedEnsembleClassifier(
            GaussianNB(), n_shards=n_shards, n_slices=n_slices, random_state=0
        ).fit(X, y)
        expected = expected_unlearn_cost(model, normalize=False)
        rng = np.random.RandomState(0)
        measured = []
        for row in rng.choice(y.size, size=n_requests, replace=False):
            trial = copy.deepcopy(model).unlearn([int(row)])
            measured.append(trial.unlearn_report_["samples_retrained"])
        rows.append(
            {
                "n_shards": n_shards,
                "n_slices": n_slices,
                "expected_rows": expected,
                "measured_rows": float(np.mean(measured)),
                "measured/expected": float(np.mean(measured) / expected) if expected else None,
                "normalized": expected_unlearn_cost(model),
            }
        )
    return rows


def bench_verify(repeats: int, quick: bool) -> list[dict]:
    X, y = load_digits(return_X_y=True)
    rows = []
    for n_shards in [4] if quick else [4, 16]:
        template = ShardedEnsembleClassifier(
            DecisionTreeClassifier(), n_shards=n_shards, random_state=0
        )
        fit = median_seconds(lambda t=template: clone(t).fit(X, y), repeats=repeats)
        model = clone(template).fit(X, y).unlearn(np.arange(0, y.size, 10))
        verify = median_seconds(lambda m=model: verify_unlearning(m, X, y), repeats=repeats)
        rows.append({"n_shards": n_shards, "verify/fit": verify / fit, "fit_s": fit})
    return rows


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    seeds = 5 if args.quick else 40
    print(f"membership inference, {seeds} seeds")
    mia = bench_mia(seeds)
    report(
        "audit_mia",
        mia,
        ["setting", "before", "after", "after_sd", "after_5_min", "after_5_max", "retained"],
        args,
    )
    print("\nexpected against measured cost of one-row requests")
    cost = bench_cost(20 if args.quick else 200)
    report(
        "audit_cost",
        cost,
        ["n_shards", "n_slices", "expected_rows", "measured_rows", "measured/expected"],
        args,
    )
    print("\nverification time")
    verify = bench_verify(args.repeats, args.quick)
    report("audit_verify", verify, ["n_shards", "verify/fit", "fit_s"], args)


if __name__ == "__main__":
    main()
