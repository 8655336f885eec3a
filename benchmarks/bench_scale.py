"""Sharded ensembles at scale: millions of rows, in memory and with ``store=`` on disk.

The data (generated, ``n_rows x 16`` float64) is written block by block to a ``.npy`` file.
Each configuration runs in a fresh Python process, with ``n_jobs=1`` so that all the work is
in that process and its memory can be measured; in memory the process loads the file into RAM,
on disk it maps it and fits with ``store=``. Reported, per wrapped estimator and mode:

- ``fit_s``: time to fit the ensemble;
- ``one_s`` / ``k1000_s``: median time to unlearn one random row / 1,000 random rows;
- ``one/fit``, ``k1000/fit``: those times over the fit time, the in-run ratios to compare;
- ``fit_peak/data``, ``k1000_peak/data``: peak anonymous memory (heap, NumPy buffers, C
  allocations: ``RssAnon`` sampled every 5 ms) above what the process held before the call,
  over the data's bytes (first fit; median over the 1,000-row requests). Memory-mapped file
  pages are page cache, not counted;
- ``disk/data``: bytes in the store directory over the data's bytes (0 in memory);
- ``pickle_MB``: size of the fitted model's pickle (with a store it refers to the files).

Times are medians over ``--repeats`` runs. ``python benchmarks/bench_scale.py`` uses 8 million
rows (1 GB of features, about ten minutes on two cores); ``--quick`` uses 60,000 rows and runs
in seconds; ``--rows`` sets the size.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import parser, report

N_FEATURES = 16
BLOCK_ROWS = 250_000


def _estimators():
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    return {
        "logistic_regression": (LogisticRegression(), 1),
        "sgd_4_slices": (SGDClassifier(loss="log_loss", max_iter=5, tol=None), 4),
    }


def generate(path: Path, n_rows: int) -> None:
    """Write ``X.npy`` and ``y.npy`` under ``path`` without holding ``X`` in memory."""
    rng = np.random.RandomState(0)
    weights = rng.normal(size=N_FEATURES)
    X = np.lib.format.open_memmap(path / "X.npy", "w+", np.float64, (n_rows, N_FEATURES))
    y = np.empty(n_rows, dtype=np.int64)
    for lo in range(0, n_rows, BLOCK_ROWS):
        block = rng.normal(size=(min(BLOCK_ROWS, n_rows - lo), N_FEATURES))
        X[lo : lo + len(block)] = block
        noise = rng.logistic(size=len(block))
        y[lo : lo + len(block)] = block @ weights + noise > 0
    X.flush()
    del X
    np.save(path / "y.npy", y)


def _rss_anon_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon not found")


class AnonPeak:
    """Peak anonymous resident memory above its level at entry, sampled by a thread."""

    def __enter__(self):
        self.base = self.peak = _rss_anon_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_anon_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_anon_bytes())
        self.extra = self.peak - self.base


def child(spec: dict) -> dict:
    """One configuration, run in its own process."""
    from skunlearn.ensemble import ShardedEnsembleClassifier

    data = Path(spec["data"])
    on_disk = spec["mode"] == "store"
    X = np.load(data / "X.npy", mmap_mode="r" if on_disk else None)
    y = np.load(data / "y.npy")
    data_bytes = X.nbytes + y.nbytes
    estimator, n_slices = _estimators()[spec["estimator"]]
    store = data / f"store-{spec['estimator']}" if on_disk else None
    model = ShardedEnsembleClassifier(
        estimator,
        n_shards=spec["n_shards"],
        n_slices=n_slices,
        n_jobs=1,
        random_state=0,
        store=store,
    )
    fits = []
    for repeat in range(spec["repeats"]):
        # Memory is measured on the first fit: a refit holds the previous model meanwhile.
        with AnonPeak() as peak:
            start = time.perf_counter()
            model.fit(X, y)
            fits.append(time.perf_counter() - start)
        if repeat == 0:
            fit_peak = peak
    fit_s = float(np.median(fits))

    rng = np.random.RandomState(1)

    def fresh_rows(k):
        return rng.choice(np.setdiff1d(np.arange(len(y)), model.unlearned_indices_), k, False)

    one = []
    for _ in range(spec["repeats"]):
        row = fresh_rows(1)
        start = time.perf_counter()
        model.unlearn(row)
        one.append(time.perf_counter() - start)
    thousand, peaks = [], []
    for _ in range(spec["repeats"]):
        rows = fresh_rows(1000)
        with AnonPeak() as peak:
            start = time.perf_counter()
            model.unlearn(rows)
            thousand.append(time.perf_counter() - start)
        peaks.append(peak.extra)
    disk = 0
    if on_disk:
        disk = sum(f.stat().st_size for f in Path(model.store_dir_).iterdir())
    return {
        "estimator": spec["estimator"],
        "mode": spec["mode"],
        "n_rows": len(y),
        "data_MB": data_bytes / 2**20,
        "n_shards": spec["n_shards"],
        "fit_s": fit_s,
        "one_s": float(np.median(one)),
        "k1000_s": float(np.median(thousand)),
        "one/fit": float(np.median(one)) / fit_s,
        "k1000/fit": float(np.median(thousand)) / fit_s,
        "fit_peak/data": fit_peak.extra / data_bytes,
        "k1000_peak/data": float(np.median(peaks)) / data_bytes,
        "disk/data": disk / data_bytes,
        "pickle_MB": len(pickle.dumps(model)) / 2**20,
        "accuracy": float(model.score(X[:100_000], y[:100_000])),
    }


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="number of generated rows")
    p.add_argument("--child", default=None, help="internal: run one configuration (JSON)")
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    n_rows = args.rows or (60_000 if args.quick else 8_000_000)
    n_shards = 5 if args.quick else 20
    workdir = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    rows = []
    try:
        start = time.perf_counter()
        generate(workdir, n_rows)
        print(f"generated {n_rows} rows in {time.perf_counter() - start:.1f}s", flush=True)
        for estimator in _estimators():
            for mode in ("memory", "store"):
                spec = {
                    "data": str(workdir),
                    "estimator": estimator,
                    "mode": mode,
                    "n_shards": n_shards,
                    "repeats": args.repeats,
                }
                env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps(spec)],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{estimator:20s} {mode:6s} fit={row['fit_s']:.1f}s "
                    f"one={row['one_s']:.2f}s 1000={row['k1000_s']:.1f}s "
                    f"fit_peak/data={row['fit_peak/data']:.2f}",
                    flush=True,
                )
                rows.append(row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    columns = [
        "estimator",
        "mode",
        "n_rows",
        "data_MB",
        "n_shards",
        "fit_s",
        "one_s",
        "k1000_s",
        "one/fit",
        "k1000/fit",
        "fit_peak/data",
        "k1000_peak/data",
        "disk/data",
        "pickle_MB",
        "accuracy",
    ]
    report("scale", rows, columns, args, {"n_rows": n_rows, "n_features": N_FEATURES})


if __name__ == "__main__":
    main()
