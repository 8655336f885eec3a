"""Exact unlearnable forests: one-row unlearn against refitting scikit-learn's forest, in one run.

For each data set (binary and 10-class ``make_classification``, 20 features; Friedman #1
regression, 10 features) it fits :class:`skunlearn.ensemble.UnlearningForestClassifier` (or
``...Regressor``) and scikit-learn's ``RandomForestClassifier`` (``...Regressor``) with the same
number of trees, ``max_depth`` and ``n_jobs`` (each with its defaults otherwise: scikit-learn
bootstraps, the unlearnable forest does not), BLAS limited to one thread, and reports one row
per model:

- ``score``: held-out ROC AUC (one-vs-rest for 10 classes) or R^2, and ``d_score``, its
  difference to scikit-learn's forest in points (x100); both models trained on the same rows;
- ``fit_s``: median fit time (the unlearnable forest: its first fit on all rows, then
  ``--fit-repeats - 1`` fits on the retained rows; scikit-learn: ``--repeats`` refits on the
  retained rows, what a user would otherwise run);
- ``one_med_s`` / ``one_p95_s``: median and 95th percentile wall time of one-row ``unlearn``
  requests at random rows (``--requests``, at least 30);
- ``refit/one``, ``refit/p95``: scikit-learn's refit over the median / p95 request (the speedup
  a user sees; target 1000 and 100), and ``fit/one``: the forest's own fit over the median;
- ``batch/1000x1``: one request of ``--batch`` rows over that many times the median one-row
  request (below 1: batching pays);
- ``peak/data``: peak resident memory added during fit (VmHWM after resetting it through
  ``/proc/self/clear_refs``; the compiled kernels allocate outside tracemalloc's reach) over the
  training data's bytes; ``pickle/data``: pickle size over the same bytes;
  ``serving/data``: the pickle of ``serving_copy()`` (what prediction needs, no training
  rows: the counterpart of scikit-learn's pickle); ``state/data``: what the forest keeps only
  to forget, in memory (stored rows, row positions, node row ranges, cached statistics);
- ``exact``: the unlearned forest's ``apply`` and predictions equal bitwise those of a fresh
  fit on the retained rows (the fresh fits timed for ``fit_s``).

On the regression set the regressor runs a second time with ``random_depth=3``
(``--random-depth``): the knob that trades accuracy for the cost of a deletion, spent.

For comparison, sharded forests (``ShardedEnsembleClassifier(RandomForestClassifier(...))``,
SISA, 10 and 20 shards) on the binary set: their fit, score and one-row request (a request
refits one shard). The first-call compile time of the numba kernels is measured separately,
in a subprocess with an empty cache (``compile_s``) and again with the cache it wrote
(``cached_s``), and is not part of any figure above (a warm-up fit comes first).

Run ``python benchmarks/bench_forest.py`` (tens of minutes on two cores: scikit-learn's forest
of 100 trees of depth 20 on 100,000 rows takes a minute or more per refit) or ``--quick``.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import parser, peak_bytes, report
from sklearn.base import clone
from sklearn.datasets import make_classification, make_friedman1
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skunlearn.ensemble import (
    ShardedEnsembleClassifier,
    UnlearningForestClassifier,
    UnlearningForestRegressor,
)

COLUMNS = [
    "dataset",
    "model",
    "score",
    "d_score",
    "fit_s",
    "one_med_s",
    "one_p95_s",
    "refit/one",
    "refit/p95",
    "fit/one",
    "batch/1000x1",
    "peak/data",
    "pickle/data",
    "serving/data",
    "state/data",
    "exact",
]


# -- measurements -------------------------------------------------------------------------------


def _clock(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(re.search(rf"{field}:\s+(\d+)", status.read()).group(1))


def peak_resident(func):
    """Run ``func()``; return its result and the peak resident bytes it added.

    Writing 5 to ``/proc/self/clear_refs`` resets the process's high-water mark (VmHWM) to its
    current resident size, so the mark after the call is the peak during it. Falls back to
    tracemalloc (which misses allocations made outside Python's allocator) elsewhere.
    """
    gc.collect()
    try:
        # Hand memory freed earlier back to the system first, or the call would reuse it
        # without raising the mark.
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return peak_bytes(func)
    before = _status_kib("VmRSS")
    result = func()
    return result, 1024 * (_status_kib("VmHWM") - before)


class _Counter:
    """A write-only file that counts bytes: pickle sizes without holding the pickle."""

    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += memoryview(data).nbytes


def pickle_size(obj) -> int:
    counter = _Counter()
    pickle.dump(obj, counter, protocol=pickle.HIGHEST_PROTOCOL)
    return counter.size


def score(model, X, y, regression: bool) -> float:
    if regression:
        return float(r2_score(y, model.predict(X)))
    proba = model.predict_proba(X)
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr"))


def one_row_requests(model, rows) -> np.ndarray:
    """Wall time of ``unlearn([row])`` for each row, as requests arrive."""
    return np.array([_clock(lambda r=r: model.unlearn([int(r)]))[1] for r in rows])


_COMPILE = """
import time
import numpy as np
from skunlearn.ensemble import UnlearningForestClassifier, UnlearningForestRegressor
X = np.random.RandomState(0).rand(300, 5)
def run(seed):
    start = time.perf_counter()
    for Forest, y in ((UnlearningForestClassifier, (X[:, 0] > 0.5).astype(int)),
                      (UnlearningForestRegressor, X.sum(axis=1))):
        model = Forest(n_estimators=2, max_depth=6, random_state=seed).fit(X, y)
        model.predict(X)
        model.unlearn([0, 1])
        model.unlearn([2])
    return time.perf_counter() - start
first = run(0)
print(first - run(1))
"""


def compile_seconds() -> tuple[float, float]:
    """First-call overhead of the kernels: with an empty numba cache, then with that cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE], env=env, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"compile-time probe failed:\n{out.stderr}")
            times.append(float(out.stdout.split()[-1]))
    return times[0], times[1]


# -- data -------------------------------------------------------------------------------------


def datasets(n_train: int, n_test: int):
    n = n_train + n_test
    X, y = make_classification(n, 20, n_informative=10, random_state=0)
    yield "binary", X, y, False
    X, y = make_classification(
        n, 20, n_informative=10, n_classes=10, n_clusters_per_class=1, random_state=0
    )
    yield "10 classes", X, y, False
    X, y = make_friedman1(n, n_features=10, noise=1.0, random_state=0)
    yield "regression", X, y, True


# -- one data set ---------------------------------------------------------------------------------


def unlearning_state_bytes(forest) -> int:
    """Bytes of what the forest keeps only to forget: stored rows, targets and weights, row
    positions, node row ranges and cached split statistics (everything but the arrays
    prediction reads, which a scikit-learn tree stores too), in memory."""
    from skunlearn.ensemble._forest import _PREDICT_FIELDS
    from skunlearn.ensemble._forest_core import FIELD

    rows = sum(
        getattr(forest, name).nbytes
        for name in ("_X", "_yk", "_y", "_w", "_sw")
        if isinstance(getattr(forest, name, None), np.ndarray)
    )
    kept = [i for name, i in FIELD.items() if name not in _PREDICT_FIELDS]
    return rows + sum(tree[i].nbytes for tree in forest._trees for i in kept)


def bench_forest(label, forest, X, y, X_test, y_test, regression, args, rng):
    """Fit (timed, peak memory), sizes, one-row requests and score of one unlearnable forest;
    returns the measurements and the rows it retains."""
    (_, fit_first), peak = peak_resident(lambda: _clock(lambda: forest.fit(X, y)))
    sizes = {
        "pickle": pickle_size(forest),
        "serving": pickle_size(forest.serving_copy()),
        "state": unlearning_state_bytes(forest),
    }
    requests = rng.choice(len(y), args.requests, replace=False)
    one = one_row_requests(forest, requests)
    one_med, one_p95 = float(np.median(one)), float(np.percentile(one, 95))
    forest_score = score(forest, X_test, y_test, regression)
    print(
        f"{label}: fit {fit_first:.2f}s, one-row median {1e3 * one_med:.2f} ms, "
        f"p95 {1e3 * one_p95:.2f} ms, score {forest_score:.4f}",
        flush=True,
    )
    keep = np.setdiff1d(np.arange(len(y)), forest.unlearned_indices_)
    measured = dict(
        fit_first=fit_first,
        peak=peak,
        one=one,
        one_med=one_med,
        one_p95=one_p95,
        score=forest_score,
        **sizes,
    )
    return measured, keep


def fresh_fits(forest, measured, X_keep, y_keep, X_test, regression, args):
    """The forest's fit time (its first fit, then fits on the retained rows) and whether the
    unlearned forest equals bitwise the first fresh fit."""
    fits, exact = [measured["fit_first"]], True
    for repeat in range(1, max(args.fit_repeats, 2)):
        fresh = clone(forest)
        _, seconds = _clock(lambda f=fresh: f.fit(X_keep, y_keep))
        fits.append(seconds)
        if repeat == 1:
            output = "predict" if regression else "predict_proba"
            exact = bool(
                np.array_equal(forest.apply(X_test), fresh.apply(X_test))
                and np.array_equal(getattr(forest, output)(X_test), getattr(fresh, output)(X_test))
            )
        del fresh
    return fits, exact


def speed_row(name, model, model_score, sk_score, fit, one, refit):
    """The columns every unlearning model fills: score, fit and one-row requests, as ratios
    to scikit-learn's refit and to the model's own fit."""
    one_med, one_p95 = float(np.median(one)), float(np.percentile(one, 95))
    return {
        "dataset": name,
        "model": model,
        "score": model_score,
        "d_score": 100 * (model_score - sk_score),
        "fit_s": fit,
        "one_med_s": one_med,
        "one_p95_s": one_p95,
        "refit/one": refit / one_med,
        "refit/p95": refit / one_p95,
        "fit/one": fit / one_med,
        "one_s_all": np.asarray(one).tolist(),
    }


def forest_row(name, model, measured, fits, exact, batch, refit, sk_score, data_bytes, args):
    fit = float(np.median(fits))
    row = speed_row(name, model, measured["score"], sk_score, fit, measured["one"], refit)
    return {
        **row,
        "batch/1000x1": batch / (args.batch * row["one_med_s"]),
        "peak/data": measured["peak"] / data_bytes,
        "pickle/data": measured["pickle"] / data_bytes,
        "serving/data": measured["serving"] / data_bytes,
        "state/data": measured["state"] / data_bytes,
        "exact": exact,
        "batch_s": batch,
        "batch_rows": args.batch,
        "fit_s_all": fits,
    }


def bench_dataset(name, X, y, regression, args, rng):
    X, X_test, y, y_test = train_test_split(X, y, test_size=args.n_test, random_state=0)
    data_bytes = X.nbytes + y.nbytes
    params = dict(n_estimators=args.n_estimators, max_depth=args.max_depth, n_jobs=args.n_jobs)
    Forest = UnlearningForestRegressor if regression else UnlearningForestClassifier
    Baseline = RandomForestRegressor if regression else RandomForestClassifier

    # The unlearnable forest with its defaults: fit, sizes, one-row requests, score.
    forest = Forest(random_state=0, **params)
    measured, keep = bench_forest(name, forest, X, y, X_test, y_test, regression, args, rng)
    X_keep, y_keep = X[keep], y[keep]

    # scikit-learn's forest refitted on the same retained rows, what a user would run.
    refits, sk_peak = [], 0
    for repeat in range(args.repeats):
        baseline = Baseline(random_state=repeat, **params)
        if repeat == 0:
            (_, seconds), sk_peak = peak_resident(
                lambda b=baseline: _clock(lambda: b.fit(X_keep, y_keep))
            )
        else:
            _, seconds = _clock(lambda b=baseline: b.fit(X_keep, y_keep))
        refits.append(seconds)
    refit = float(np.median(refits))
    sk_score = score(baseline, X_test, y_test, regression)
    sk_pickled = pickle_size(baseline)
    del baseline
    print(f"{name}: scikit-learn refit {refit:.2f}s (median of {args.repeats})", flush=True)

    rows = [
        {
            "dataset": name,
            "model": "sklearn RF (refit)",
            "score": sk_score,
            "fit_s": refit,
            "peak/data": sk_peak / data_bytes,
            "pickle/data": sk_pickled / data_bytes,
            "refit_s_all": refits,
        }
    ]
    variants = [("UnlearningForest", forest, measured, keep)]
    if regression and args.random_depth:
        # The knob that trades accuracy for deletion cost, spent: more random top levels.
        label = f"UnlearningForest(random_depth={args.random_depth})"
        tuned = Forest(random_state=0, random_depth=args.random_depth, **params)
        tuned_measured, tuned_keep = bench_forest(
            f"{name}, {label}", tuned, X, y, X_test, y_test, regression, args, rng
        )
        variants.append((label, tuned, tuned_measured, tuned_keep))
    for label, model, model_measured, model_keep in variants:
        # Fresh fits on the retained rows (fit time, exactness), then one batch request
        # against as many one-row requests.
        fits, exact = fresh_fits(
            model, model_measured, X[model_keep], y[model_keep], X_test, regression, args
        )
        batch_rows = rng.choice(model_keep, args.batch, replace=False)
        _, batch = _clock(lambda m=model, b=batch_rows: m.unlearn(b))
        rows.append(
            forest_row(
                name, label, model_measured, fits, exact, batch, refit, sk_score, data_bytes, args
            )
        )
        del model
    if args.sharded or (name == "binary" and not regression):
        rows += bench_sharded(
            name, X, y, X_test, y_test, regression, params, refit, sk_score, args, rng
        )
    return rows


def bench_sharded(name, X, y, X_test, y_test, regression, params, refit, sk_score, args, rng):
    """SISA over scikit-learn's forest: a request refits the shard that held the row."""
    from skunlearn.ensemble import ShardedEnsembleRegressor

    Sharded = ShardedEnsembleRegressor if regression else ShardedEnsembleClassifier
    Baseline = RandomForestRegressor if regression else RandomForestClassifier
    rows = []
    for n_shards in (10, 20):
        model = Sharded(Baseline(**params), n_shards=n_shards, random_state=0)
        _, fit = _clock(lambda m=model: m.fit(X, y))
        model_score = score(model, X_test, y_test, regression)
        one = one_row_requests(model, rng.choice(len(y), args.sharded_requests, replace=False))
        print(f"{name}: sharded S={n_shards} one-row median {np.median(one):.2f}s", flush=True)
        rows.append(
            speed_row(name, f"Sharded(RF, S={n_shards})", model_score, sk_score, fit, one, refit)
        )
    return rows


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--n-jobs", type=int, default=1, help="n_jobs of every forest (default 1)")
    p.add_argument("--requests", type=int, default=None, help="one-row requests timed")
    p.add_argument(
        "--only",
        action="append",
        choices=("binary", "10 classes", "regression"),
        help="run only this data set (repeatable)",
    )
    p.add_argument("--sharded", action="store_true", help="sharded forests on every data set")
    p.add_argument(
        "--fit-repeats",
        type=int,
        default=2,
        help="fits of the unlearnable forest (the first on all rows; default 2)",
    )
    p.add_argument(
        "--random-depth",
        type=int,
        default=3,
        help="also run the regressor with this random_depth (0: do not; default 3)",
    )
    p.add_argument("--skip-compile", action="store_true", help="do not measure the compile time")
    args = p.parse_args(argv)
    quick = args.quick
    args.n_train = 5_000 if quick else 100_000
    args.n_test = 2_000 if quick else 20_000
    args.n_estimators = 20 if quick else 100
    args.max_depth = 20
    args.requests = args.requests or (10 if quick else 30)
    args.batch = 100 if quick else 1_000
    args.sharded_requests = 3
    rng = np.random.RandomState(0)
    rows = []
    with threadpool_limits(limits=1):
        # Minutes on a busy machine: --quick (a sanity check) leaves it out.
        skip = quick or args.skip_compile
        compile_s, cached_s = (None, None) if skip else compile_seconds()
        for name, X, y, regression in datasets(args.n_train, args.n_test):
            if args.only and name not in args.only:
                continue
            # Warm up the kernels (compiled or loaded from the cache) before anything is timed.
            Forest = UnlearningForestRegressor if regression else UnlearningForestClassifier
            Forest(n_estimators=2, max_depth=4, random_state=0).fit(X[:500], y[:500]).unlearn([0])
            rows += bench_dataset(name, X, y, regression, args, rng)
    print()
    extra = {
        "n_train": args.n_train,
        "n_test": args.n_test,
        "n_estimators": args.n_estimators,
        "max_depth": args.max_depth,
        "n_jobs": args.n_jobs,
        "blas_threads": 1,
        "requests": args.requests,
        "batch": args.batch,
        "regression_random_depth": args.random_depth,
        "compile_s": compile_s,
        "cached_s": cached_s,
    }
    report("forest", rows, COLUMNS, args, extra)
    if compile_s is not None:
        print(
            f"first call of the kernels: {compile_s:.1f}s with an empty numba cache "
            f"(compilation), {cached_s:.2f}s with the cache"
        )


if __name__ == "__main__":
    main()
