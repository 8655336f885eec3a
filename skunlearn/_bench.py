"""``python -m skunlearn bench``: unlearn time over retrain time, for every family.

The measurements live in the package (``benchmarks/`` is not installed) and
``benchmarks/bench_overview.py`` runs them at larger sizes. Every figure is a ratio of two
medians measured in the same run: the wall time of a one-row ``unlearn`` request over the time
of retraining from scratch on the retained rows (the estimator a user would otherwise refit).
BLAS is limited to one thread so that the ratios do not depend on what else the machine runs.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn import linear_model as sk_linear
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_neighbors
from sklearn import preprocessing as sk_preprocessing
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

__all__ = ["COLUMNS", "FAMILIES", "SIZES", "format_table", "run_bench"]

#: Rows of generated data per family and size ("quick": about a second per family; "default":
#: what ``python -m skunlearn bench`` runs, a few seconds per family; "full": the benchmark).
SIZES = {
    "sharded": {"quick": 2_000, "default": 20_000, "full": 100_000},
    "forest": {"quick": 2_000, "default": 20_000, "full": 100_000},
    "influence": {"quick": 2_000, "default": 50_000, "full": 200_000},
    "linear": {"quick": 5_000, "default": 200_000, "full": 500_000},
    "decremental": {"quick": 5_000, "default": 200_000, "full": 500_000},
    "arcane": {"quick": 1_000, "default": 20_000, "full": 100_000},
    "bayes": {"quick": 500, "default": 10_000, "full": 50_000},
}
FAMILIES = tuple(SIZES)
_REPEATS = {"quick": 3, "default": 7, "full": 9}

COLUMNS = [
    "family",
    "model",
    "n_samples",
    "n_features",
    "baseline",
    "unlearn_s",
    "retrain_s",
    "unlearn/retrain",
    "speedup",
]


def _median_seconds(func: Callable, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _classification(n: int, d: int, seed: int, n_classes: int = 2, scale: bool = False):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=max(2, d // 2),
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    if scale:
        X = sk_preprocessing.StandardScaler().fit_transform(X)
    return X, y


def _regression(n: int, d: int, seed: int):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * rng.uniform(0.5, 5.0, d)
    return X, X @ rng.randn(d) + rng.randn(n)


def _measure(
    family, name, model, baselines, X, y, repeats, rng, warm_up: bool = False
) -> list[dict]:
    """Fit ``model``, time ``repeats`` one-row requests, then each baseline on the rows left.

    ``baselines`` maps a description to an unfitted estimator (None: a clone of ``model``).
    With ``warm_up``, one unmeasured request comes first (the influence model's first
    request also corrects the fit's own solver tolerance, which is not the cost of forgetting).
    """
    model.fit(X, y)
    n = X.shape[0]
    order = rng.permutation(n)
    if warm_up:
        model.unlearn(order[-1:])
    requests = iter(order[:repeats, None])  # drawn before timing: choosing is not forgetting
    unlearn = _median_seconds(lambda: model.unlearn(next(requests)), repeats)
    keep = np.setdiff1d(np.arange(n), model.unlearned_indices_)
    X_keep = X[keep]
    y_keep = None if y is None else y[keep]
    rows = []
    for baseline_name, baseline in baselines.items():
        template = clone(model) if baseline is None else baseline
        retrain = _median_seconds(lambda t=template: clone(t).fit(X_keep, y_keep), repeats)
        rows.append(
            {
                "family": family,
                "model": name,
                "n_samples": n,
                "n_features": X.shape[1],
                "baseline": baseline_name,
                "unlearn_s": unlearn,
                "retrain_s": retrain,
                "unlearn/retrain": unlearn / retrain,
                "speedup": retrain / unlearn,
            }
        )
    return rows


def _sharded(n, repeats, seed, rng):
    from skunlearn.ensemble import ShardedEnsembleClassifier

    X, y = _classification(n, 20, seed)
    model = ShardedEnsembleClassifier(
        RandomForestClassifier(n_estimators=10), n_shards=10, random_state=seed
    )
    return _measure(
        "sharded",
        "Sharded(RF, 10 shards)",
        model,
        {"refit all shards": None},
        X,
        y,
        repeats,
        rng,
    )


def _forest(n, repeats, seed, rng):
    from skunlearn.ensemble import UnlearningForestClassifier

    X, y = _classification(n, 20, seed)
    # Beside the sharded forest, against what a user would otherwise run: scikit-learn's
    # forest with the same trees and depth, refitted on the retained rows (the ratio to the
    # forest's own fit is in benchmarks/bench_forest.py).
    model = UnlearningForestClassifier(n_estimators=20, max_depth=20, random_state=seed)
    baselines = {
        "sklearn RF refit": RandomForestClassifier(n_estimators=20, max_depth=20, random_state=seed)
    }
    # The first request is not timed: it may load (or compile) the deletion kernels.
    return _measure(
        "forest", "UnlearningForest(20 trees)", model, baselines, X, y, repeats, rng, True
    )


def _influence(n, repeats, seed, rng):
    from skunlearn.linear_model import InfluenceUnlearnLogistic

    X, y = _classification(n, 50, seed, scale=True)
    baselines = {
        "LogisticRegression()": sk_linear.LogisticRegression(),
        "newton-cholesky 1e-10": sk_linear.LogisticRegression(solver="newton-cholesky", tol=1e-10),
    }
    model = InfluenceUnlearnLogistic(sk_linear.LogisticRegression())
    rows = _measure(
        "influence", "InfluenceUnlearnLogistic", model, baselines, X, y, repeats, rng, True
    )
    # certificate="lazy": a valid, looser bound per request and an exact pass every 50.
    lazy = InfluenceUnlearnLogistic(sk_linear.LogisticRegression(), certificate="lazy")
    return rows + _measure(
        "influence", "InfluenceUnlearnLogistic(lazy)", lazy, baselines, X, y, repeats, rng, True
    )


def _linear(n, repeats, seed, rng):
    from skunlearn.linear_model import Ridge

    X, y = _regression(n, 20, seed)
    return _measure(
        "linear", "Ridge", Ridge(), {"sklearn refit": sk_linear.Ridge()}, X, y, repeats, rng
    )


def _decremental(n, repeats, seed, rng):
    from skunlearn.naive_bayes import GaussianNB
    from skunlearn.neighbors import KNeighborsClassifier
    from skunlearn.preprocessing import StandardScaler

    X, y = _classification(n, 20, seed, n_classes=5)
    rows = _measure(
        "decremental",
        "GaussianNB",
        GaussianNB(),
        {"sklearn refit": sk_nb.GaussianNB()},
        X,
        y,
        repeats,
        rng,
    )
    rows += _measure(
        "decremental",
        "KNeighborsClassifier",
        KNeighborsClassifier(),
        {"sklearn refit": sk_neighbors.KNeighborsClassifier()},
        X[:, :8],
        y,
        repeats,
        rng,
    )
    rows += _measure(
        "decremental",
        "StandardScaler",
        StandardScaler(),
        {"sklearn refit": sk_preprocessing.StandardScaler()},
        X,
        None,
        repeats,
        rng,
    )
    return rows


def _arcane(n, repeats, seed, rng):
    from skunlearn.ensemble import ClassPartitionedClassifier

    X, y = _classification(n, 10, seed, n_classes=10)
    model = ClassPartitionedClassifier(GaussianMixture(), random_state=seed)
    return _measure("arcane", "ClassPartitioned(GMM)", model, {"refit": None}, X, y, repeats, rng)


def _bayes(n, repeats, seed, rng):
    from skunlearn.bayes import VariationalUnlearnLogistic

    X, y = _classification(n, 10, seed, scale=True)
    model = VariationalUnlearnLogistic(random_state=seed)
    return _measure(
        "bayes", "VariationalUnlearnLogistic", model, {"refit": None}, X, y, repeats, rng
    )


_CASES = {
    "sharded": _sharded,
    "forest": _forest,
    "influence": _influence,
    "linear": _linear,
    "decremental": _decremental,
    "arcane": _arcane,
    "bayes": _bayes,
}


def run_bench(
    families=None,
    *,
    size: str = "default",
    repeats: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = print,
) -> list[dict]:
    """Measure one-row unlearn time over retrain time for each family.

    Parameters
    ----------
    families : list of str, default=None
        Which families, in :data:`FAMILIES` order; None runs every one.
    size : {"quick", "default", "full"}, default="default"
        Data sizes (see :data:`SIZES`) and repeats.
    repeats : int, default=None
        Requests timed per model, and fits per baseline (medians); None takes the size's.
    seed : int, default=0
        Seed of the generated data, the models and the requests.
    progress : callable, default=print
        Called with a line before each family; None is silent.

    Returns
    -------
    rows : list of dict
        One row per model and baseline, with the keys of :data:`COLUMNS`.
    """
    if size not in _REPEATS:
        raise ValueError(f"size must be one of {sorted(_REPEATS)}, got {size!r}.")
    unknown = sorted(set(families or ()) - set(FAMILIES))
    if unknown:
        raise ValueError(f"Unknown families {unknown}; choose among {list(FAMILIES)}.")
    repeats = repeats or _REPEATS[size]
    rng = np.random.RandomState(seed)
    rows = []
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for family in FAMILIES:
            if families is not None and family not in families:
                continue
            n = SIZES[family][size]
            if progress is not None:
                progress(f"bench: {family} ({n} rows, {repeats} repeats)")
            start = time.perf_counter()
            rows += _CASES[family](n, repeats, seed, rng)
            if progress is not None:
                progress(f"       done in {time.perf_counter() - start:.1f}s")
    return rows


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.2f} s"


def format_table(rows: list[dict]) -> str:
    """The ratio table: one line per model and baseline, times as medians."""
    header = ("family", "model", "data", "baseline", "unlearn", "retrain", "unlearn/retrain")
    cells = [
        (
            row["family"],
            row["model"],
            f"{row['n_samples']}x{row['n_features']}",
            row["baseline"],
            _fmt_seconds(row["unlearn_s"]),
            _fmt_seconds(row["retrain_s"]),
            f"{row['unlearn/retrain']:.3g}",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(
            v.ljust(w) if i < 4 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))
        )

    return "\n".join([line(header)] + [line(c) for c in cells])
