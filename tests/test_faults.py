"""Fault injection: whatever fails during ``unlearn``, the model is left exactly as it was.

Faults are injected while shards retrain: a wrapped estimator raising, a worker process killed
(``n_jobs=2``, loky), ``KeyboardInterrupt`` raised from a fit and a real SIGINT arriving during
a long retrain, and a write to the store failing. After each, the model's pickle (and, with
``store=``, every file of its directory) is byte for byte what it was, and the same request
then succeeds and gives the model that a never-faulted twin gives.
"""

import fcntl
import json
import os
import pickle
import signal
import sys
import threading
import time

import numpy as np
import pytest
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

from skunlearn.ensemble import ShardedEnsembleClassifier
from skunlearn.ensemble._store import ShardStore


class Saboteur(ClassifierMixin, BaseEstimator):
    """A decision tree that misbehaves once the file ``trigger`` exists.

    The file holds ``{"action", "after", "parent"}``: the first ``after`` fits proceed (each
    decrements the count), the next one performs ``action``: "raise" (RuntimeError),
    "interrupt" (KeyboardInterrupt), "kill" (SIGKILL to its own worker process, never to the
    test process ``parent``) or "sleep" (a long fit, to be interrupted). A file works across
    worker processes, where a class attribute would not.
    """

    def __init__(self, trigger=None):
        self.trigger = trigger

    def fit(self, X, y):
        if self.trigger is not None and os.path.exists(self.trigger):
            _misbehave(self.trigger)
        self.tree_ = DecisionTreeClassifier(random_state=0).fit(X, y)
        self.classes_ = self.tree_.classes_
        return self

    def predict(self, X):
        return self.tree_.predict(X)

    def predict_proba(self, X):
        return self.tree_.predict_proba(X)


def _misbehave(trigger):
    # Workers decrement the shared count concurrently: read-modify-write under a file lock,
    # or two workers could both read the same count and more fits than planned would pass.
    with open(f"{trigger}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(trigger) as f:
            plan = json.load(f)
        if plan["after"] > 0:
            plan["after"] -= 1
            # Replace the file in one step: a reader without the lock sees old or new.
            with open(f"{trigger}.{os.getpid()}", "w") as f:
                json.dump(plan, f)
            os.replace(f"{trigger}.{os.getpid()}", trigger)
            return
    action = plan["action"]
    if action == "raise":
        raise RuntimeError("injected failure in the wrapped estimator's fit")
    if action == "interrupt":
        raise KeyboardInterrupt
    if action == "sleep":
        time.sleep(30)
    if action == "kill":
        if os.getpid() == plan["parent"]:
            raise RuntimeError("refusing to kill the test process: expected a worker")
        os.kill(os.getpid(), signal.SIGKILL)


def _arm(path, action, after=0):
    path.write_text(json.dumps({"action": action, "after": after, "parent": os.getpid()}))


def _data():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300]


# A request that touches every shard, so that retraining is under way when the fault comes.
REQUEST = np.arange(0, 300, 7)


def _model(trigger, store=None, n_jobs=None):
    return ShardedEnsembleClassifier(
        Saboteur(trigger=str(trigger)), n_shards=4, n_jobs=n_jobs, random_state=0, store=store
    )


def _directory(root):
    if root is None:
        return None
    return {
        os.path.join(d, f): open(os.path.join(d, f), "rb").read()
        for d, _, names in os.walk(root)
        for f in names
    }


def _assert_recovers(model, trigger, X, y):
    """The same request succeeds once the fault is gone, and equals a never-faulted model."""
    os.remove(trigger)
    model.unlearn(REQUEST)
    twin = _model(trigger).fit(X, y).unlearn([1]).unlearn(REQUEST)
    np.testing.assert_array_equal(model.predict_proba(X), twin.predict_proba(X))
    np.testing.assert_array_equal(model.unlearned_indices_, twin.unlearned_indices_)


def _check_unchanged_after(model, call, exc_type, root, match=None):
    state, files = pickle.dumps(model), _directory(root)
    with pytest.raises(exc_type, match=match):
        call()
    assert pickle.dumps(model) == state, "the model changed"
    assert _directory(root) == files, "the files of the store changed"


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "store"])
def test_wrapped_estimator_raising_mid_retrain(n_jobs, on_disk, tmp_path):
    X, y = _data()
    trigger, store = tmp_path / "trigger", (tmp_path / "store" if on_disk else None)
    model = _model(trigger, store, n_jobs).fit(X, y).unlearn([1])  # state with a request
    # Two shards retrain, the third raises: some new shards are built when the fault comes.
    _arm(trigger, "raise", after=2)
    _check_unchanged_after(
        model, lambda: model.unlearn(REQUEST), RuntimeError, store, match="injected failure"
    )
    _assert_recovers(model, trigger, X, y)


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "store"])
def test_worker_killed_mid_retrain(on_disk, tmp_path):
    X, y = _data()
    trigger, store = tmp_path / "trigger", (tmp_path / "store" if on_disk else None)
    model = _model(trigger, store, n_jobs=2).fit(X, y).unlearn([1])
    _arm(trigger, "kill")
    _check_unchanged_after(model, lambda: model.unlearn(REQUEST), TerminatedWorkerError, store)
    _assert_recovers(model, trigger, X, y)


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "store"])
def test_keyboard_interrupt_raised_from_a_fit(on_disk, tmp_path):
    X, y = _data()
    trigger, store = tmp_path / "trigger", (tmp_path / "store" if on_disk else None)
    model = _model(trigger, store, n_jobs=1).fit(X, y).unlearn([1])
    _arm(trigger, "interrupt", after=1)
    _check_unlearn = lambda: model.unlearn(REQUEST)  # noqa: E731
    _check_unchanged_after(model, _check_unlearn, KeyboardInterrupt, store)
    _assert_recovers(model, trigger, X, y)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to its own process")
def test_sigint_during_a_long_unlearn(tmp_path):
    """A real Ctrl-C: SIGINT arrives while a shard retrains (a 30 s fit, cut short)."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT does not raise KeyboardInterrupt in this process")
    X, y = _data()
    trigger, store = tmp_path / "trigger", tmp_path / "store"
    model = _model(trigger, store, n_jobs=1).fit(X, y).unlearn([1])
    _arm(trigger, "sleep", after=1)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))

    def unlearn_then_wait():
        timer.start()
        started = time.perf_counter()
        try:
            model.unlearn(REQUEST)
        finally:
            timer.join()
            assert time.perf_counter() - started < 20, "the SIGINT did not cut the fit short"

    _check_unchanged_after(model, unlearn_then_wait, KeyboardInterrupt, store)
    _assert_recovers(model, trigger, X, y)


def test_store_write_failing(tmp_path, monkeypatch):
    """The disk fills up while the retained rows of the second shard are written."""
    X, y = _data()
    trigger, store = tmp_path / "trigger", tmp_path / "store"
    model = _model(trigger, store, n_jobs=1).fit(X, y).unlearn([1])
    original, calls = ShardStore.save_rows, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # X and y of one shard written, X of the next, then its y fails
            raise OSError(28, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ShardStore, "save_rows", failing)
    _check_unchanged_after(model, lambda: model.unlearn(REQUEST), OSError, store, match="space")
    monkeypatch.setattr(ShardStore, "save_rows", original)
    trigger.write_text("{}")
    _assert_recovers(model, trigger, X, y)
