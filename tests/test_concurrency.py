"""Thread safety: a prediction made while another thread unlearns sees the old model or the
new one, never a mix; concurrent unlearn calls on one model are serialized.

The sharded classifier is the hard case: forgetting every row of a class changes both the
shards' estimators and ``classes_``, and a reader pairing old estimators with new classes (or
the reverse) computes garbage or fails. The first test forces that interleaving: the reader
pauses right after reading ``estimators_`` until the writer has swapped ``classes_``. With the
state lock the writer cannot swap during the pause, and the reader gets the old model; with
the lock disabled (the control test) the same interleaving produces a mix, which shows that
the test can see one.
"""

import contextlib
import copy
import threading

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

import skunlearn.base
from skunlearn.ensemble import ShardedEnsembleClassifier


class _Interleaving:
    """Events that pause the reader thread between its reads of two attributes."""

    def __init__(self):
        self.reader_has_estimators = threading.Event()
        self.writer_swapped_classes = threading.Event()


class _PausingClassifier(ShardedEnsembleClassifier):
    """Pauses the thread named "reader" after it reads ``estimators_`` until the writer has
    rebound ``classes_`` (or 1 s has passed, which is what happens when a lock stops it)."""

    interleaving = None

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        hook = type(self).interleaving
        if hook is not None and name == "estimators_":
            if threading.current_thread().name == "reader":
                hook.reader_has_estimators.set()
                hook.writer_swapped_classes.wait(timeout=1.0)
        return value

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        hook = type(self).interleaving
        if hook is not None and name == "classes_":
            hook.writer_swapped_classes.set()


def _iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def _interleaved_read(monkeypatch):
    """Run one predict_proba in a reader thread, paused between its reads while the main
    thread forgets every row of class 2. Returns (result or exception, old, new)."""
    X, y = _iris()
    model = _PausingClassifier(n_shards=3, random_state=0).fit(X, y)
    request = np.flatnonzero(y == 2)
    old = model.predict_proba(X)
    new = copy.deepcopy(model).unlearn(request).predict_proba(X)
    assert old.shape == (150, 3) and new.shape == (150, 2)

    hook = _Interleaving()
    monkeypatch.setattr(_PausingClassifier, "interleaving", hook)
    seen = []

    def read():
        try:
            seen.append(model.predict_proba(X))
        except Exception as exc:  # a mix may also fail outright
            seen.append(exc)

    reader = threading.Thread(target=read, name="reader")
    reader.start()
    assert hook.reader_has_estimators.wait(timeout=10)
    model.unlearn(request)  # the writer, while the reader is paused
    reader.join(timeout=30)
    assert not reader.is_alive()
    np.testing.assert_array_equal(model.predict_proba(X), new)
    return seen[0], old, new


def _is_one_of(result, states) -> bool:
    return isinstance(result, np.ndarray) and any(
        result.shape == s.shape and np.array_equal(result, s) for s in states
    )


def test_reader_never_pairs_old_estimators_with_new_classes(monkeypatch):
    result, old, _ = _interleaved_read(monkeypatch)
    assert _is_one_of(result, [old]), f"the reader saw a mix: {result!r}"


def test_without_the_lock_the_same_interleaving_mixes(monkeypatch):
    """Control: the test above would catch a reader that is not protected."""
    monkeypatch.setattr(skunlearn.base, "_STATE_LOCK", contextlib.nullcontext())
    result, old, new = _interleaved_read(monkeypatch)
    assert not _is_one_of(result, [old, new]), "the control did not produce a mix"


def test_many_readers_during_a_sequence_of_unlearns():
    """Four threads predict non-stop while the main thread forgets rows (classes vanish on
    the way). Every prediction equals that of one of the successive models, in order."""
    X, y = _iris()
    model = ShardedEnsembleClassifier(
        RandomForestClassifier(n_estimators=15, random_state=0), n_shards=3, random_state=0
    ).fit(X, y)
    requests = [[0, 1, 2], np.flatnonzero(y == 2), list(range(3, 40)), np.flatnonzero(y == 0)[40:]]
    replay = copy.deepcopy(model)
    states = [replay.predict_proba(X)]
    for request in requests:
        states.append(replay.unlearn(request).predict_proba(X))
    assert len({s.shape for s in states}) > 1  # some request removes a class

    done = threading.Event()
    seen = {i: [] for i in range(4)}

    def read(i):
        while not done.is_set():
            seen[i].append(model.predict_proba(X))

    readers = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    for t in readers:
        t.start()
    for request in requests:
        model.unlearn(request)
    done.set()
    for t in readers:
        t.join(timeout=30)

    for i, results in seen.items():
        current = 0  # the earliest state the reader can be in; it never goes back
        for result in results:
            matches = [j for j, s in enumerate(states) if _is_one_of(result, [s])]
            assert matches, f"reader {i} saw a model that never existed"
            later = [j for j in matches if j >= current]
            assert later, f"reader {i} went back from state {current} to {matches}"
            current = later[0]
    assert all(results for results in seen.values())


def test_concurrent_unlearns_are_serialized():
    X, y = _iris()
    model = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, y)
    requests = [list(range(i, 150, 10)) for i in range(8)]
    errors = []

    def forget(request):
        try:
            model.unlearn(request)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=forget, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    # No request was lost to another planned on the same old state.
    expected = np.sort(np.concatenate(requests))
    np.testing.assert_array_equal(model.unlearned_indices_, expected)
    sequential = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, y)
    sequential.unlearn(expected)
    np.testing.assert_array_equal(model.predict_proba(X), sequential.predict_proba(X))


def test_the_same_row_requested_twice_at_once():
    X, y = _iris()
    model = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, y)
    outcomes = []

    def forget():
        try:
            model.unlearn([17, 18])
            outcomes.append("done")
        except ValueError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=forget) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("done") == 1
    assert any("already unlearned" in outcome for outcome in outcomes)
    np.testing.assert_array_equal(model.unlearned_indices_, [17, 18])


@pytest.mark.parametrize("fails", [False, True])
def test_readers_during_a_failing_unlearn(fails, monkeypatch):
    """A failed unlearn is undone under the same lock: readers see the model (old, briefly
    new, then old again), never a model without its fitted attributes."""
    X, y = _iris()
    model = ShardedEnsembleClassifier(n_shards=3, random_state=0).fit(X, y)
    old = model.predict_proba(X)
    new = copy.deepcopy(model).unlearn(np.flatnonzero(y == 2)).predict_proba(X)
    if fails:
        original = type(model)._unlearn

        def failing(self, positions):
            original(self, positions)
            raise RuntimeError("injected")

        monkeypatch.setattr(type(model), "_unlearn", failing)
    done, seen = threading.Event(), []

    def read():
        while not done.is_set():
            seen.append(model.predict_proba(X))

    reader = threading.Thread(target=read)
    reader.start()
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        model.unlearn(np.flatnonzero(y == 2))
    done.set()
    reader.join(timeout=30)
    assert all(_is_one_of(r, [old, new]) for r in seen)
    np.testing.assert_array_equal(model.predict_proba(X), old if fails else new)
