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
import itertools
import sys
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


# -- every family: readers racing a sequence of unlearns ----------------------------------------
#
# The drop-ins (naive Bayes, scalers, the encoder, the pipeline) inherit scikit-learn's code,
# which sets and reads fitted attributes one at a time; skunlearn runs an unlearn on a copy and
# swaps the result in at once, and runs each prediction on a copy read at once (see
# skunlearn.utils._state). Two kinds of test: a structural one (on the live model, every
# attribute an unlearn rebinds is rebound, and read by a prediction, only under the state lock)
# and a race (reader threads predicting non-stop while the main thread forgets rows; every
# output equals that of one of the successive models, in order).


def _disjoint(requests):
    """The requests without the positions of the requests before them (none left empty)."""
    seen, out = np.array([], dtype=int), []
    for request in requests:
        request = np.setdiff1d(request, seen)
        if request.size:
            out.append(request)
            seen = np.union1d(seen, request)
    return out


def _fit_case(name):
    """(fitted model, its readers, requests); some request removes a class or category.

    Each reader makes one call (two calls could straddle an unlearn and pair two models)."""
    from sklearn.datasets import load_digits
    from sklearn.gaussian_process.kernels import RBF

    from skunlearn import naive_bayes, preprocessing
    from skunlearn.bayes import SparseGPClassifier
    from skunlearn.pipeline import make_pipeline

    X, y = _iris()
    # Ten requests of six rows, with every row of class 2 forgotten after the fourth.
    steps = [range(i, 150, 25) for i in range(10)]
    class_requests = _disjoint([*steps[:4], np.flatnonzero(y == 2), *steps[4:]])
    if name in ("GaussianNB", "SparseGPClassifier", "Pipeline"):
        if name == "GaussianNB":
            model = naive_bayes.GaussianNB()
        elif name == "Pipeline":
            model = make_pipeline(
                preprocessing.StandardScaler(),
                preprocessing.MinMaxScaler(),
                naive_bayes.GaussianNB(),
            )
        else:
            model = SparseGPClassifier(RBF(1.0), inducing_points=12, random_state=0)
        return model.fit(X, y), [lambda m: m.predict_proba(X)], class_requests
    if name in ("MultinomialNB", "ComplementNB", "BernoulliNB", "CategoricalNB"):
        Xd, yd = load_digits(return_X_y=True)
        Xd, yd = Xd[:300], yd[:300]
        Xd = {"BernoulliNB": Xd > 4, "CategoricalNB": (Xd // 4).astype(int)}.get(name, Xd)
        # Predicting a category that left categorical naive Bayes fails: keep them all.
        params = {"min_categories": 5} if name == "CategoricalNB" else {}
        model = getattr(naive_bayes, name)(**params).fit(Xd, yd)
        digit_steps = [range(i, 300, 30) for i in range(12)]
        requests = _disjoint([*digit_steps[:5], np.flatnonzero(yd == 3), *digit_steps[5:]])
        return model, [lambda m: m.predict_proba(Xd), lambda m: m.predict(Xd)], requests
    if name in ("StandardScaler", "MinMaxScaler", "MaxAbsScaler"):
        model = getattr(preprocessing, name)().fit(X)
        # The most extreme rows first: every request changes the transform.
        order = np.argsort(-np.abs(X - X.mean(axis=0)).max(axis=1))
        requests = [order[i : i + 5] for i in range(0, 60, 5)]
        return model, [lambda m: m.transform(X), lambda m: m.inverse_transform(X)], requests
    if name == "OneHotEncoder":
        Xc = np.column_stack([(X[:, 0] * 2).round(), X[:, 2].round()]).astype(int)
        model = preprocessing.OneHotEncoder(sparse_output=False, handle_unknown="ignore").fit(Xc)
        # Every row of a category at a time, the rarest first: the width changes each time.
        values, counts = np.unique(Xc[:, 0], return_counts=True)
        requests = [np.flatnonzero(Xc[:, 0] == v) for v in values[np.argsort(counts)][:5]]
        return model, [lambda m: m.transform(Xc), lambda m: m.get_feature_names_out()], requests
    return _other_family_case(name, X, y, class_requests)


def _other_family_case(name, X, y, class_requests):
    """The ensembles, forests, linear and Bayesian models and the composites: each rebinds
    its state in one swap (the contract), whoever wrote its unlearn."""
    from sklearn.datasets import load_diabetes
    from sklearn.mixture import GaussianMixture
    from sklearn.naive_bayes import GaussianNB

    from skunlearn import bayes, compose, ensemble, impute, linear_model, pipeline, preprocessing

    classifiers = {
        "ShardedEnsembleClassifier": lambda: ensemble.ShardedEnsembleClassifier(
            GaussianNB(), n_shards=3, n_slices=2, random_state=0
        ),
        "ClassPartitionedClassifier": lambda: ensemble.ClassPartitionedClassifier(
            GaussianMixture(reg_covar=0.1), n_blocks=3, random_state=0
        ),
        "UnlearningForestClassifier": lambda: ensemble.UnlearningForestClassifier(
            n_estimators=4, max_depth=4, random_state=0
        ),
        "InfluenceUnlearnLogistic": lambda: linear_model.InfluenceUnlearnLogistic(),
        "VariationalUnlearnLogistic": lambda: bayes.VariationalUnlearnLogistic(),
    }
    if name in classifiers:
        Xs = (X - X.mean(axis=0)) / X.std(axis=0)
        if name == "VariationalUnlearnLogistic":  # binary
            yb = (y == 1).astype(int)
            requests = [np.arange(i, 150, 25) for i in range(8)]
            return classifiers[name]().fit(Xs, yb), [lambda m: m.predict_proba(Xs)], requests
        model = classifiers[name]().fit(Xs, y)
        return model, [lambda m: m.predict_proba(Xs), lambda m: m.predict(Xs)], class_requests
    Xr, yr = load_diabetes(return_X_y=True)
    Xr, yr = Xr[:200], yr[:200]
    reg_requests = [np.arange(i, 200, 20) for i in range(10)]
    regressors = {
        "ShardedEnsembleRegressor": lambda: ensemble.ShardedEnsembleRegressor(
            n_shards=3, random_state=0
        ),
        "UnlearningForestRegressor": lambda: ensemble.UnlearningForestRegressor(
            n_estimators=4, max_depth=4, random_state=0
        ),
        "Ridge": lambda: linear_model.Ridge(alpha=0.1),
        "LinearRegression": lambda: linear_model.LinearRegression(),
        "BayesianRidge": lambda: linear_model.BayesianRidge(),
    }
    if name in regressors:
        model = regressors[name]().fit(Xr, yr)
        return model, [lambda m: m.predict(Xr)], reg_requests
    # Transformers: every request moves the statistics.
    order = np.argsort(-np.abs(X - X.mean(axis=0)).max(axis=1))
    requests = [order[i : i + 5] for i in range(0, 50, 5)]
    Xn = X.copy()
    Xn[::7, 1] = np.nan
    transformers = {
        "ColumnTransformer": lambda: compose.ColumnTransformer(
            [
                ("std", preprocessing.StandardScaler(), [0, 1]),
                ("minmax", preprocessing.MinMaxScaler(), [2, 3]),
            ]
        ),
        "FeatureUnion": lambda: pipeline.FeatureUnion(
            [("std", preprocessing.StandardScaler()), ("maxabs", preprocessing.MaxAbsScaler())]
        ),
        "SimpleImputer": lambda: impute.SimpleImputer(strategy="mean"),
    }
    data = Xn if name == "SimpleImputer" else X
    model = transformers[name]().fit(data)
    return model, [lambda m: m.transform(data)], requests


FAMILIES = [
    "GaussianNB",
    "MultinomialNB",
    "ComplementNB",
    "BernoulliNB",
    "CategoricalNB",
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "OneHotEncoder",
    "Pipeline",
    "SparseGPClassifier",
    # Owned by other modules' authors; listed so that the contract's thread-safety line is
    # checked on every family.
    "ShardedEnsembleClassifier",
    "ShardedEnsembleRegressor",
    "ClassPartitionedClassifier",
    "UnlearningForestClassifier",
    "UnlearningForestRegressor",
    "InfluenceUnlearnLogistic",
    "Ridge",
    "LinearRegression",
    "BayesianRidge",
    "VariationalUnlearnLogistic",
    "ColumnTransformer",
    "FeatureUnion",
    "SimpleImputer",
]

# Reader/writer runs of the race below, by family (printed with pytest -s).
RACE_RUNS = {}


@pytest.fixture
def frequent_switches():
    """Switch threads every 10 microseconds (instead of 5 ms), so that the readers really
    run in the middle of each unlearn."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("name", FAMILIES)
def test_readers_racing_unlearns_see_old_or_new_models(name, frequent_switches):
    model, reads, requests = _fit_case(name)
    replay = copy.deepcopy(model)
    # states[k][j]: what reader function k returns on the model after j requests.
    states = [[read(replay)] for read in reads]
    for request in requests:
        replay.unlearn(request)
        for k, read in enumerate(reads):
            states[k].append(read(replay))
    changes = sum(not _is_one_of(a, [b]) for a, b in itertools.pairwise(states[0]))
    assert changes >= len(requests) // 2

    n_readers, reads_per_request = 3, 8
    done = threading.Event()
    seen = {i: [] for i in range(n_readers)}

    def reader(i):
        read = reads[i % len(reads)]
        while not done.is_set():
            seen[i].append(read(model))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(n_readers)]
    for t in threads:
        t.start()
    try:
        for request in requests:
            # Let the readers run before each request, so that some read overlaps each one.
            target = sum(map(len, seen.values())) + reads_per_request
            while sum(map(len, seen.values())) < target:
                threading.Event().wait(1e-4)
            model.unlearn(request)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)

    for i, results in seen.items():
        expected = states[i % len(reads)]
        current = 0  # the earliest model the reader may see; it never goes back
        for result in results:
            matches = [j for j, s in enumerate(expected) if _is_one_of(result, [s])]
            assert matches, f"{name}: reader {i} saw a model that never existed"
            later = [j for j in matches if j >= current]
            assert later, f"{name}: reader {i} went back from model {current} to {matches}"
            current = later[0]
    for k, read in enumerate(reads):
        assert _is_one_of(read(model), [states[k][-1]])
    n_reads = sum(map(len, seen.values()))
    assert n_reads >= reads_per_request * len(requests)
    RACE_RUNS[name] = (n_reads, len(requests))
    print(f"{name}: {n_reads} reads by {n_readers} threads racing {len(requests)} unlearns")


def _in_available_if_check() -> bool:
    """Whether an ``available_if`` condition or ``check_is_fitted`` is being evaluated: they
    read the model only to know whether a method or a fitted attribute exists, which an
    unlearn never changes."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_filename.endswith("_available_if.py"):
            return True
        if code.co_filename.endswith("validation.py") and code.co_name == "check_is_fitted":
            return True
        frame = frame.f_back
    return False


class _LockWatch:
    """Records, on one live model, each rebinding or read of an attribute and whether the
    state lock was held at the time."""

    def __init__(self, model):
        self.model, self.sets, self.reads, self.watched = model, [], [], set()

    def install(self, monkeypatch):
        cls = type(self.model)
        watch = self

        def __setattr__(obj, attr, value):
            if obj is watch.model:
                watch.sets.append((attr, skunlearn.base._STATE_LOCK._is_owned()))
            object.__setattr__(obj, attr, value)

        def __getattribute__(obj, attr):
            if attr in watch.watched and object.__getattribute__(obj, "__dict__") is watch.dict:
                if not _in_available_if_check():
                    watch.reads.append((attr, skunlearn.base._STATE_LOCK._is_owned()))
            return object.__getattribute__(obj, attr)

        self.dict = self.model.__dict__
        watched_cls = type(
            "Watched" + cls.__name__,
            (cls,),
            {"__setattr__": __setattr__, "__getattribute__": __getattribute__},
        )
        monkeypatch.setattr(self.model, "__class__", watched_cls)


# The report of the last call and the history of calls: bookkeeping of the base class, set
# after the swap and never read by predictions.
_REPORTS = {"unlearn_report_", "unlearn_history_"}


@pytest.mark.parametrize("name", FAMILIES)
def test_unlearn_rebinds_and_predict_reads_only_under_the_state_lock(name, monkeypatch):
    """Deterministic: no interleaving can show a mix when the live model's state changes only
    inside one swap and a prediction reads what changes only inside one read."""
    model, reads, requests = _fit_case(name)
    watch = _LockWatch(model)
    watch.install(monkeypatch)
    model.unlearn(requests[0])
    rebound = {attr for attr, _ in watch.sets} - _REPORTS
    assert rebound - {"unlearned_indices_"}, "the unlearn changed nothing?"
    outside = {attr for attr, locked in watch.sets if not locked} - _REPORTS
    assert not outside, f"{name}: rebound outside the state swap: {sorted(outside)}"
    watch.watched = rebound
    for read in reads:
        read(model)
    outside = sorted({attr for attr, locked in watch.reads if not locked})
    assert not outside, f"{name}: a prediction read {outside} outside one state read"


# -- the neighbours: one scikit-learn index, swapped whole --------------------------------------


def _neighbours_case(name):
    """(fitted model, how to read it, requests); one request forgets every row of class 2."""
    from skunlearn import neighbors

    X, y = _iris()
    requests = _disjoint([range(0, 150, 30), np.flatnonzero(y == 2), range(1, 100, 9)])
    if name == "NearestNeighbors":
        model = neighbors.NearestNeighbors(n_neighbors=4).fit(X)
        return model, lambda m: np.hstack(m.kneighbors(X)), requests
    if name == "KNeighborsRegressor":
        model = neighbors.KNeighborsRegressor(n_neighbors=4, algorithm="ball_tree")
        model.fit(X, X[:, 0] + y)
        return model, lambda m: m.predict(X), requests
    model = neighbors.KNeighborsClassifier(n_neighbors=4, algorithm="brute").fit(X, y)
    return model, lambda m: m.predict_proba(X), requests


NEIGHBOURS = ["KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors"]


@pytest.mark.parametrize("name", NEIGHBOURS)
def test_neighbours_readers_racing_unlearns(name, frequent_switches):
    """Three threads query non-stop while the main thread forgets rows (a class vanishes on
    the way): every answer is that of one of the successive models, in order."""
    model, read, requests = _neighbours_case(name)
    replay = copy.deepcopy(model)
    states = [read(replay)]
    for request in requests:
        states.append(read(replay.unlearn(request)))
    done, seen = threading.Event(), {i: [] for i in range(3)}

    def reader(i):
        while not done.is_set():
            seen[i].append(read(model))

    threads = [threading.Thread(target=reader, args=(i,)) for i in seen]
    for t in threads:
        t.start()
    try:
        for request in requests:
            target = sum(map(len, seen.values())) + 6  # some reads before each request
            while sum(map(len, seen.values())) < target:
                threading.Event().wait(1e-4)
            model.unlearn(request)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)
    for i, results in seen.items():
        current = 0
        for result in results:
            matches = [j for j, s in enumerate(states) if j >= current and _is_one_of(result, [s])]
            assert matches, f"{name}: reader {i} saw a model that never existed, or went back"
            current = matches[0]
    assert _is_one_of(read(model), [states[-1]])
    n_reads = sum(map(len, seen.values()))
    RACE_RUNS[name] = (n_reads, len(requests))
    print(f"{name}: {n_reads} reads by {len(seen)} threads racing {len(requests)} unlearns")


@pytest.mark.parametrize("name", NEIGHBOURS)
def test_neighbours_rebind_and_read_only_under_the_state_lock(name, monkeypatch):
    model, read, requests = _neighbours_case(name)
    watch = _LockWatch(model)
    watch.install(monkeypatch)
    model.unlearn(requests[1])  # a whole class
    rebound = {attr for attr, _ in watch.sets} - {"unlearn_report_"}
    assert "_index" in rebound
    outside = {attr for attr, locked in watch.sets if not locked} - {"unlearn_report_"}
    assert not outside, f"{name}: rebound outside the state swap: {sorted(outside)}"
    watch.watched = rebound
    read(model)
    outside = sorted({attr for attr, locked in watch.reads if not locked})
    assert not outside, f"{name}: a query read {outside} outside one state read"
