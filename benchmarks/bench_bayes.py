"""Bayesian unlearning: distance to the refitted posterior and time, against a full refit.

For each data set, removal scenario and method it reports, over several seeds:

- ``KL_full``: ``KL(q_full || q_refit)``, the divergence of the posterior before unlearning from
  the posterior refitted on the retained rows (what doing nothing costs);
- ``KL_unl``: ``KL(q_unlearned || q_refit)``;
- ``ratio`` / ``ratio_max``: ``KL_unl / KL_full``, median and worst over the seeds (below 1:
  the method forgot; 0: it matched the refit);
- ``unl_s``, ``refit_s``, ``unl/refit``: median unlearning time, median time of a full refit
  (same estimator, same parameters, on the retained rows), and their ratio;
- ``ess_min``, ``warned``, ``max_unwarned``: for "eubo" and "rkl", the smallest effective
  sample size, how many seeds raised ``EffectiveSampleSizeWarning``, and the worst ratio
  among the seeds that did not.

Data: breast_cancer (standardized once, 31 parameters with the intercept) with a
``VariationalUnlearnLogistic``; ``make_moons`` with a ``SparseGPClassifier`` (RBF(0.5), 36 fixed
inducing inputs on a grid). Scenarios: 10% and 30% of the rows at random, and 30% of the rows of
one class (the minority class of breast_cancer, class 1 of moons). Methods: "site" (no
retained rows: ``store_data=False``), "site+refine" (stored rows, one refinement step), "eubo"
and "rkl" (``store_data=False``, the paper's setting). The reference refit uses ``tol=1e-10``
so that its own optimization error is negligible.

BLAS is limited to one thread (the machine is shared). Run
``python benchmarks/bench_bayes.py`` (a few minutes) or ``--quick`` (seconds).
"""

from __future__ import annotations

import warnings

import numpy as np
from _common import median_seconds, parser, report
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_moons
from sklearn.gaussian_process.kernels import RBF
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skunlearn.bayes import EffectiveSampleSizeWarning, SparseGPClassifier
from skunlearn.bayes import VariationalUnlearnLogistic as VUL
from skunlearn.bayes._gaussian import gaussian_kl

METHODS = {
    "site": {"unlearn_method": "site", "store_data": False},
    "site+refine": {"unlearn_method": "site", "store_data": True, "refine_steps": 1},
    "eubo": {"unlearn_method": "eubo", "store_data": False},
    "rkl": {"unlearn_method": "rkl", "store_data": False},
}
SCENARIOS = ("random10", "random30", "class30")


def datasets(seed: int, quick: bool):
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", StandardScaler().fit_transform(X), y, VUL(), 0
    n = 150 if quick else 300
    X, y = make_moons(n, noise=0.2, random_state=seed)
    grid = np.linspace(-1.5, 2.5, 6), np.linspace(-1.0, 1.5, 6)
    inducing = np.column_stack([g.ravel() for g in np.meshgrid(*grid)])
    yield "moons_gp", X, y, SparseGPClassifier(RBF(0.5), inducing_points=inducing), 1


def removal(scenario: str, y, target_class, rng) -> np.ndarray:
    n = y.shape[0]
    if scenario == "random10":
        return rng.choice(n, n // 10, replace=False)
    if scenario == "random30":
        return rng.choice(n, 3 * n // 10, replace=False)
    members = np.flatnonzero(y == target_class)
    return rng.choice(members, int(0.3 * members.size), replace=False)


def posterior(est):
    return est.posterior_mean_, est.posterior_covariance_


def time_unlearn(est, X, y, forget, kwargs, repeats):
    """Median time of ``unlearn(forget)`` on fresh fits of ``est`` (fits untimed), the last
    model, and whether its request raised an EffectiveSampleSizeWarning."""
    state = {}

    def setup():
        state["trial"] = clone(est).fit(X, y)

    def unlearn():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EffectiveSampleSizeWarning)
            state["trial"].unlearn(forget, **kwargs)
        state["warned"] = any(issubclass(w.category, EffectiveSampleSizeWarning) for w in caught)

    seconds = median_seconds(unlearn, repeats=repeats, setup=setup)
    return seconds, state["trial"], state["warned"]


def run(args):
    seeds = range(1 if args.quick else 5)
    records = []
    for seed in seeds:
        for name, X, y, template, target in datasets(seed, args.quick):
            for scenario in SCENARIOS:
                forget = removal(scenario, y, target, np.random.RandomState(seed))
                keep = np.setdiff1d(np.arange(y.shape[0]), forget)
                reference = clone(template).set_params(tol=1e-10).fit(X[keep], y[keep])
                refit_s = median_seconds(
                    lambda: clone(template).fit(X[keep], y[keep]),  # noqa: B023
                    repeats=1 if args.quick else args.repeats,
                )
                for method, params in METHODS.items():
                    est = clone(template).set_params(**params, random_state=seed)
                    est.fit(X, y)
                    kl_full = gaussian_kl(*posterior(est), *posterior(reference))
                    kwargs = (
                        {} if est.store_data else {"X_forget": X[forget], "y_forget": y[forget]}
                    )
                    repeats = 1 if args.quick else args.repeats
                    unlearn_s, trial, warned = time_unlearn(est, X, y, forget, kwargs, repeats)
                    kl_unl = gaussian_kl(*posterior(trial), *posterior(reference))
                    records.append(
                        {
                            "data": name,
                            "scenario": scenario,
                            "method": method,
                            "seed": seed,
                            "kl_full": kl_full,
                            "kl_unlearned": kl_unl,
                            "ratio": kl_unl / kl_full,
                            "unlearn_s": unlearn_s,
                            "refit_s": refit_s,
                            "ess": trial.unlearn_report_.get("ess"),
                            "warned": warned,
                            # Infinite without stored rows; JSON has no infinity.
                            "distance_bound": _finite(trial.unlearn_report_["distance_bound"]),
                        }
                    )
    return records


def summarize(records):
    rows = []
    keys = sorted({(r["data"], r["scenario"], r["method"]) for r in records}, key=_order)
    for data, scenario, method in keys:
        group = [
            r
            for r in records
            if (r["data"], r["scenario"], r["method"]) == (data, scenario, method)
        ]
        med = {
            k: float(np.median([r[k] for r in group])) for k in group[0] if _numeric(group[0], k)
        }
        rows.append(
            {
                "data": data,
                "scenario": scenario,
                "method": method,
                "seeds": len(group),
                "KL_full": med["kl_full"],
                "KL_unl": med["kl_unlearned"],
                "ratio": med["ratio"],
                "ratio_max": max(r["ratio"] for r in group),
                "unl_s": med["unlearn_s"],
                "refit_s": med["refit_s"],
                "unl/refit": med["unlearn_s"] / med["refit_s"],
                "ess_min": min(r["ess"] for r in group) if group[0]["ess"] is not None else None,
                "warned": sum(r["warned"] for r in group),
                "max_unwarned": max((r["ratio"] for r in group if not r["warned"]), default=None),
            }
        )
    return rows


def _finite(value):
    return float(value) if np.isfinite(value) else None


def _numeric(record, key):
    return isinstance(record[key], float | int) and key != "seed"


def _order(key):
    data, scenario, method = key
    return data, SCENARIOS.index(scenario), list(METHODS).index(method)


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    with threadpool_limits(1):
        records = run(args)
    rows = summarize(records)
    columns = list(rows[0])
    report("bayes", rows, columns, args, extra={"records": records})


if __name__ == "__main__":
    main()
