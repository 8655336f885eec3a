"""``python -m skunlearn demo``: an end-to-end exact unlearning run on data shipped with
scikit-learn, which proves its own result by retraining."""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from skunlearn.ensemble import ShardedEnsembleClassifier


def _say(message: str = "") -> None:
    print(message, flush=True)


def _speed_phrase(speedup: float, baseline: str = "retraining") -> str:
    """How one request compares with ``baseline``, said plainly when it is slower."""
    if speedup < 1:
        return f"SLOWER than {baseline} (a request takes {1 / speedup:.2f}x as long)"
    return f"{speedup:.1f}x faster than {baseline}"


def _clock(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def sharded_demo(*, n_shards: int = 10, fraction: float = 0.05, n_jobs=None, seed: int = 0):
    """Fit a sharded ensemble on digits, forget ``fraction`` of its rows one request at a
    time, compare with retraining, and verify exactness shard by shard.

    Returns
    -------
    summary : dict
        The measured figures (accuracies, times, speedup, verification).
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    estimator = RandomForestClassifier(n_estimators=50)
    params = dict(n_shards=n_shards, n_jobs=n_jobs, random_state=seed)
    _say("skunlearn demo: exact unlearning with a sharded ensemble (SISA)")
    _say(
        f"data  : load_digits, {X.shape[0]} images x {X.shape[1]} pixels; "
        f"{len(y_train)} rows to train on, {len(y_test)} held out"
    )
    _say(
        f"model : ShardedEnsembleClassifier(RandomForestClassifier(50 trees), n_shards={n_shards})"
    )
    _say()

    _say(f"[1/4] Fitting {n_shards} shards")
    model = ShardedEnsembleClassifier(estimator, verbose=1, **params)
    _, fit_seconds = _clock(lambda: model.fit(X_train, y_train))
    model.set_params(verbose=0)
    acc_before = model.score(X_test, y_test)
    _say(f"      fitted in {fit_seconds:.2f}s; test accuracy {acc_before:.3f}")
    _say()

    rng = np.random.RandomState(seed)
    n_forget = round(fraction * len(y_train))
    forget = rng.choice(len(y_train), size=n_forget, replace=False)
    _say(
        f"[2/4] Forgetting {n_forget} training rows ({fraction:.0%}), one deletion request "
        "at a time, as they arrive"
    )
    seconds, rows_retrained, affected = [], [], set()
    for done, row in enumerate(forget, start=1):
        model.unlearn([row])
        report = model.unlearn_report_
        seconds.append(report["seconds"])
        rows_retrained.append(report["samples_retrained"])
        affected.update(report["shards_retrained"])
        if done % max(1, n_forget // 4) == 0 or done == n_forget:
            _say(f"      {done}/{n_forget} requests done, {sum(seconds):.2f}s so far")
    median_request = float(np.median(seconds))
    acc_after = model.score(X_test, y_test)
    _say(
        f"      median request: {median_request * 1e3:.0f} ms, retraining 1 of {n_shards} shards "
        f"({int(np.median(rows_retrained))} rows); test accuracy now {acc_after:.3f}"
    )
    _say()

    _say("[3/4] Retraining from scratch on the retained rows, for comparison")
    retained = np.setdiff1d(np.arange(len(y_train)), forget)
    scratch = ShardedEnsembleClassifier(estimator, **params)
    _, retrain_seconds = _clock(lambda: scratch.fit(X_train[retained], y_train[retained]))
    speedup = retrain_seconds / median_request
    _say(
        f"      full retrain: {retrain_seconds:.2f}s; one unlearn request: "
        f"{median_request:.3f}s  ->  {_speed_phrase(speedup, 'a full retrain')} per request"
    )
    _say()

    _say(f"[4/4] Verifying exactness: retraining each of the {len(affected)} affected shards")
    _say("      from scratch on its retained rows and comparing predictions")
    check = model._verify_exact(X_train, y_train, shards=sorted(affected))
    n_same = len(check["shards_identical"])
    stored = np.concatenate(model.shard_indices_)
    leaked = int(np.isin(forget, stored).sum())
    verified = n_same == len(check["shards_checked"]) and leaked == 0
    _say(
        f"      {n_same}/{len(check['shards_checked'])} shards identical to retraining "
        f"(largest difference in predicted probabilities: {check['max_abs_diff']:.1e})"
    )
    _say(f"      forgotten rows still stored in any shard: {leaked}")
    _say()
    _say(
        ("OK" if verified else "FAILED")
        + f": forgot {n_forget} rows exactly; accuracy {acc_before:.3f} -> {acc_after:.3f}; "
        f"{_speed_phrase(speedup)} per request."
    )
    return {
        "accuracy_before": acc_before,
        "accuracy_after": acc_after,
        "accuracy_retrained": scratch.score(X_test, y_test),
        "n_train": len(y_train),
        "n_forgotten": n_forget,
        "request_seconds": seconds,
        "median_request_seconds": median_request,
        "retrain_seconds": retrain_seconds,
        "speedup": speedup,
        "shards_checked": len(check["shards_checked"]),
        "shards_identical": n_same,
        "verified": verified,
    }
