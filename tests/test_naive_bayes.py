"""Decremental naive Bayes: unlearning equals refitting scikit-learn's estimator on the retained
rows (statistics within 1e-9 relative, predictions identical)."""

import pickle
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import naive_bayes as sk
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

from skunlearn import naive_bayes as su
from skunlearn.naive_bayes import _base as nb_base
from skunlearn.utils.estimator_checks import _numeric_leaves, check_unlearner

RTOL = 1e-9


def _retained(n, removed):
    keep = np.ones(n, dtype=bool)
    keep[np.asarray(removed, dtype=int)] = False
    return keep


def _assert_close(a, b, what, rtol=RTOL, atol=0.0):
    if isinstance(a, list):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{what}[{i}]", rtol, atol)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


_STATS = {
    "GaussianNB": ["classes_", "class_count_", "class_prior_", "theta_", "var_", "epsilon_"],
    "MultinomialNB": ["classes_", "class_count_", "feature_count_", "feature_log_prob_"],
    "ComplementNB": ["classes_", "class_count_", "feature_count_", "feature_all_"],
    "BernoulliNB": ["classes_", "class_count_", "feature_count_", "feature_log_prob_"],
    "CategoricalNB": ["classes_", "class_count_", "category_count_", "n_categories_"],
}


def assert_same_model(ours, ref, X_test, rtol=RTOL, atol=0.0):
    """Fitted statistics within ``rtol`` and identical predictions."""
    name = type(ref).__name__
    for attr in [*_STATS[name], "class_log_prior_", "feature_log_prob_"]:
        if hasattr(ref, attr):
            _assert_close(getattr(ours, attr), getattr(ref, attr), f"{name}.{attr}", rtol, atol)
    np.testing.assert_array_equal(ours.predict(X_test), ref.predict(X_test))
    np.testing.assert_allclose(
        ours.predict_log_proba(X_test), ref.predict_log_proba(X_test), rtol=1e-7, atol=1e-9
    )


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _cases():
    """(name, our estimator, scikit-learn's, X, y) on scikit-learn's data sets."""
    X_bc, y_bc = load_breast_cancer(return_X_y=True)
    X_w, y_w = load_wine(return_X_y=True)
    X_d, y_d = _digits()
    return [
        ("gaussian-breast_cancer", su.GaussianNB(), sk.GaussianNB(), X_bc, y_bc),
        (
            "gaussian-wine",
            su.GaussianNB(var_smoothing=1e-3),
            sk.GaussianNB(var_smoothing=1e-3),
            X_w,
            y_w,
        ),
        ("multinomial-digits", su.MultinomialNB(), sk.MultinomialNB(), X_d, y_d),
        ("complement-digits", su.ComplementNB(norm=True), sk.ComplementNB(norm=True), X_d, y_d),
        ("bernoulli-digits", su.BernoulliNB(binarize=7.5), sk.BernoulliNB(binarize=7.5), X_d, y_d),
        ("categorical-digits", su.CategoricalNB(), sk.CategoricalNB(), X_d // 4, y_d),
    ]


CASES = _cases()


@pytest.mark.parametrize("name, ours, ref, X, y", CASES, ids=[c[0] for c in CASES])
def test_unlearn_matches_refit(name, ours, ref, X, y):
    ours, ref = clone(ours), clone(ref)  # parametrized instances are shared
    rng = np.random.RandomState(0)
    n = X.shape[0]
    ours.fit(X, y)
    removed = []
    for size in (1, 7, n // 5):  # several requests in a row
        request = rng.choice(np.setdiff1d(np.arange(n), removed), size=size, replace=False)
        ours.unlearn(request)
        removed.extend(request.tolist())
        keep = _retained(n, removed)
        assert_same_model(ours, ref.fit(X[keep], y[keep]), X[keep])
    assert ours.unlearn_report_["exact"] is True
    assert ours.unlearn_report_["samples_retrained"] == 0


@pytest.mark.parametrize("name, ours, ref, X, y", CASES, ids=[c[0] for c in CASES])
def test_unlearn_with_sample_weight_matches_refit(name, ours, ref, X, y):
    ours, ref = clone(ours), clone(ref)  # parametrized instances are shared
    rng = np.random.RandomState(1)
    n = X.shape[0]
    w = rng.uniform(0.1, 3.0, size=n)
    w[::17] = 0.0  # zero-weight rows count for nothing but are still rows
    removed = rng.choice(n, size=n // 4, replace=False)
    ours.fit(X, y, sample_weight=w).unlearn(removed)
    keep = _retained(n, removed)
    assert_same_model(ours, ref.fit(X[keep], y[keep], sample_weight=w[keep]), X[keep])


def test_unlearn_before_any_change_is_bitwise_scikit_learn():
    X, y = load_wine(return_X_y=True)
    ours, ref = su.GaussianNB().fit(X, y), sk.GaussianNB().fit(X, y)
    np.testing.assert_array_equal(ours.theta_, ref.theta_)
    np.testing.assert_array_equal(ours.var_, ref.var_)
    np.testing.assert_array_equal(ours.predict_proba(X), ref.predict_proba(X))


# -- partial_fit ---------------------------------------------------------------------------


def _batches(n, n_batches):
    return np.array_split(np.arange(n), n_batches)


@pytest.mark.parametrize("name, ours, ref, X, y", CASES, ids=[c[0] for c in CASES])
def test_partial_fit_positions_span_batches(name, ours, ref, X, y):
    """Positions count rows across batches; the reference is partial_fit on each batch's
    retained rows (empty batches skipped), which fixes GaussianNB's epsilon_ and
    CategoricalNB's n_categories_ to the last batch, as scikit-learn does."""
    ours, ref = clone(ours), clone(ref)  # parametrized instances are shared
    rng = np.random.RandomState(2)
    n = X.shape[0]
    classes = np.unique(y)
    batches = _batches(n, 3)
    for b in batches:
        ours.partial_fit(X[b], y[b], classes=classes)
    assert ours.n_samples_fit_ == n
    removed = np.concatenate([rng.choice(batches[0], 20, replace=False), batches[2][:30]])
    ours.unlearn(removed)
    keep = _retained(n, removed)
    for b in batches:
        rows = b[keep[b]]
        ref.partial_fit(X[rows], y[rows], classes=classes)
    assert_same_model(ours, ref, X[keep])


def test_partial_fit_after_unlearn_continues_positions():
    X, y = load_wine(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(y))  # wine is sorted by class
    X, y = X[order], y[order]
    ours = su.GaussianNB().fit(X[:100], y[:100]).unlearn([0, 5])
    ours.partial_fit(X[100:], y[100:])
    assert ours.n_samples_fit_ == X.shape[0]
    ours.unlearn([150, 3])
    np.testing.assert_array_equal(ours.unlearned_indices_, [0, 3, 5, 150])
    keep = _retained(X.shape[0], [0, 3, 5, 150])
    ref = sk.GaussianNB().fit(X[:100][keep[:100]], y[:100][keep[:100]])
    ref.partial_fit(X[100:][keep[100:]], y[100:][keep[100:]])
    assert_same_model(ours, ref, X)


def test_emptied_last_batch_falls_back_to_previous_epsilon():
    X, y = load_breast_cancer(return_X_y=True)
    classes = np.unique(y)
    ours = su.GaussianNB().partial_fit(X[:400], y[:400], classes=classes)
    ours.partial_fit(X[400:], y[400:])
    ours.unlearn(np.arange(400, X.shape[0]))
    ref = sk.GaussianNB().partial_fit(X[:400], y[:400], classes=classes)
    assert_same_model(ours, ref, X)


# -- classes that lose all their rows ------------------------------------------------------


@pytest.mark.parametrize("name, ours, ref, X, y", CASES, ids=[c[0] for c in CASES])
def test_class_forgotten_entirely_leaves_classes(name, ours, ref, X, y):
    ours, ref = clone(ours), clone(ref)  # parametrized instances are shared
    ours.fit(X, y)
    gone = np.flatnonzero(y == y.min())
    ours.unlearn(gone)
    keep = _retained(len(y), gone)
    assert y.min() not in ours.classes_
    assert ours.unlearn_report_["classes_removed"] == [y.min()]
    assert_same_model(ours, ref.fit(X[keep], y[keep]), X[keep])


@pytest.mark.parametrize("name, ours, ref, X, y", CASES, ids=[c[0] for c in CASES])
def test_class_forgotten_entirely_stays_when_declared(name, ours, ref, X, y):
    ours, ref = clone(ours), clone(ref)  # parametrized instances are shared
    classes = np.unique(y)
    ours.partial_fit(X, y, classes=classes)
    gone = np.flatnonzero(y == y.min())
    ours.unlearn(gone)
    keep = _retained(len(y), gone)
    np.testing.assert_array_equal(ours.classes_, classes)
    assert ours.class_count_[0] == 0
    assert_same_model(ours, ref.partial_fit(X[keep], y[keep], classes=classes), X[keep])


@pytest.mark.parametrize(
    "est",
    [su.GaussianNB(priors=[0.3, 0.3, 0.4]), su.MultinomialNB(class_prior=[0.3, 0.3, 0.4])],
    ids=["gaussian", "multinomial"],
)
def test_fixed_priors_refuse_to_drop_a_class(est):
    X, y = load_wine(return_X_y=True)
    est.fit(X, y).unlearn([0])
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match=r"class\(es\) \[np.int64\(0\)\]|class\(es\) \[0\]"):
        est.unlearn(np.flatnonzero(y == 0)[1:])
    assert pickle.dumps(est) == before


def test_only_zero_weight_rows_left_is_refused():
    X, y = load_wine(return_X_y=True)
    w = np.zeros(len(y))
    w[:5] = 1.0
    est = su.MultinomialNB().fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="zero sample weight"):
        est.unlearn(np.arange(5))


# -- numerical stability -------------------------------------------------------------------


def test_gaussian_large_offsets_do_not_cancel():
    """Features of spread ~1 on offsets of 1e6 .. 1e8: raw sums of squares would lose every
    digit of the variance; centred moments keep it within 1e-9 of a two-pass refit."""
    rng = np.random.RandomState(0)
    n, offsets = 3000, np.array([1e6, 1e7, 1e8, 3e7])
    X = offsets + rng.normal(scale=[1.0, 2.0, 0.5, 1.0], size=(n, 4))
    y = rng.randint(3, size=n)
    ours = su.GaussianNB().fit(X, y)
    removed = []
    for _ in range(5):
        request = rng.choice(np.setdiff1d(np.arange(n), removed), size=200, replace=False)
        ours.unlearn(request)
        removed.extend(request)
    keep = _retained(n, removed)
    ref = sk.GaussianNB().fit(X[keep], y[keep])
    for attr in ("theta_", "var_", "class_prior_", "epsilon_"):
        _assert_close(getattr(ours, attr), getattr(ref, attr), attr)
    # Against an exact computation in extended precision, not only against scikit-learn.
    for c in range(3):
        rows = X[keep & (y == c)].astype(np.longdouble)
        centred = rows - rows.mean(axis=0)
        exact_var = (centred**2).mean(axis=0)
        np.testing.assert_allclose(ours.var_[c] - ours.epsilon_, exact_var, rtol=RTOL)


def test_gaussian_removing_far_rows_leaves_no_trace_without_recomputing():
    rng = np.random.RandomState(0)
    X = 1e7 + rng.normal(size=(4000, 3))
    X[:10] += 1e5  # a few far rows dominate the class's second moment
    y = np.r_[np.zeros(2000, int), np.ones(2000, int)]
    ours = su.GaussianNB().fit(X, y).unlearn(np.arange(10))
    # The double-double sums lose about 1e-32 of the removed magnitude: nothing to recompute.
    assert ours.unlearn_report_["classes_recomputed"] == []
    keep = _retained(4000, np.arange(10))
    ref = sk.GaussianNB().fit(X[keep], y[keep])
    _assert_close(ours.var_, ref.var_, "var_")
    _assert_close(ours.theta_, ref.theta_, "theta_")
    rows = X[keep & (y == 0)].astype(np.longdouble)
    exact_var = ((rows - rows.mean(axis=0)) ** 2).mean(axis=0)
    np.testing.assert_allclose(ours.var_[0] - ours.epsilon_, exact_var, rtol=RTOL)


def test_gaussian_cancelling_beyond_double_double_recomputes_the_class():
    rng = np.random.RandomState(0)
    X = 1e3 + 1e-3 * rng.normal(size=(400, 2))
    X[0] += 1e12  # its square is 1e30 times what the rest of its class holds
    y = np.arange(400) % 2
    ours = su.GaussianNB().fit(X, y).unlearn([0])
    assert ours.unlearn_report_["classes_recomputed"] == [0]
    ref = sk.GaussianNB().fit(X[1:], y[1:])
    _assert_close(ours.var_, ref.var_, "var_")
    _assert_close(ours.theta_, ref.theta_, "theta_")


def test_discrete_fractional_counts_subtract_a_huge_row_exactly():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1e-3, size=(300, 5))
    X[0] = 1e6  # one huge row: a float64 subtraction would leave ~1e-10 of it
    y = np.arange(300) % 2
    w = rng.uniform(0.5, 2.0, size=300)
    ours = su.ComplementNB().fit(X, y, sample_weight=w).unlearn([0])
    assert ours.unlearn_report_["classes_recomputed"] == []
    ref = sk.ComplementNB().fit(X[1:], y[1:], sample_weight=w[1:])
    assert_same_model(ours, ref, X)
    exact = [sum(Fraction(v) * Fraction(u) for v, u in zip(X[2::2, j], w[2::2])) for j in range(5)]
    assert ours.feature_count_[0].tolist() == [float(e) for e in exact]  # correctly rounded


def test_discrete_cancelling_beyond_double_double_recounts_the_class():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1e-3, size=(300, 5))
    X[0] = 1e20
    y = np.arange(300) % 2
    ours = su.MultinomialNB().fit(X, y).unlearn([0])
    assert ours.unlearn_report_["classes_recomputed"] == [0]
    assert_same_model(ours, sk.MultinomialNB().fit(X[1:], y[1:]), X[1:])


def test_gaussian_float32_keeps_dtype():
    X, y = load_wine(return_X_y=True)
    X32 = X.astype(np.float32)
    ours = su.GaussianNB().fit(X32, y).unlearn(np.arange(0, 178, 5))
    keep = _retained(178, np.arange(0, 178, 5))
    ref = sk.GaussianNB().fit(X32[keep], y[keep])
    assert ours.theta_.dtype == ref.theta_.dtype == np.float32
    _assert_close(ours.var_, ref.var_, "var_", rtol=1e-5)


# -- input formats and categorical specifics -----------------------------------------------


@pytest.mark.parametrize("cls", ["MultinomialNB", "ComplementNB", "BernoulliNB"])
def test_sparse_input(cls):
    X, y = _digits()
    Xs = sp.csr_matrix(X)
    ours = getattr(su, cls)().fit(Xs, y).unlearn(np.arange(0, 600, 3))
    keep = _retained(600, np.arange(0, 600, 3))
    assert_same_model(ours, getattr(sk, cls)().fit(Xs[keep], y[keep]), Xs)


def test_categorical_categories_shrink_and_respect_min_categories():
    rng = np.random.RandomState(0)
    X = rng.randint(4, size=(80, 3))
    X[7, 1] = 9  # the only row with categories 4..9 in feature 1
    y = rng.randint(2, size=80)
    ours = su.CategoricalNB().fit(X, y).unlearn([7])
    assert ours.n_categories_.tolist() == [4, 4, 4]
    X_kept, y_kept = np.delete(X, 7, 0), np.delete(y, 7)
    assert_same_model(ours, sk.CategoricalNB().fit(X_kept, y_kept), X_kept)
    ours = su.CategoricalNB(min_categories=[2, 6, 8]).fit(X, y).unlearn([7])
    ref = sk.CategoricalNB(min_categories=[2, 6, 8]).fit(X_kept, y_kept)
    assert ours.n_categories_.tolist() == [4, 6, 8]
    assert_same_model(ours, ref, X_kept)


# -- the contract beyond test_common -------------------------------------------------------


def test_cost_does_not_depend_on_the_training_set():
    X, y = _digits()
    est = su.MultinomialNB().fit(X, y)
    cost = est.estimate_unlearn_cost([3])
    assert cost["samples_retrained"] == 0 and cost["blocks_copied"] == 1
    est.unlearn([3])
    assert est.unlearn_report_["samples_retrained"] == 0


def test_forgotten_rows_leave_the_pickle():
    X, y = load_wine(return_X_y=True)
    est = su.GaussianNB().fit(X, y).unlearn([10, 11])
    blob = pickle.dumps(est)
    assert X[10].tobytes() not in blob and X[11].tobytes() not in blob
    assert X[12].tobytes() in blob  # retained rows are kept, so the test can fail


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(12, 60),
    n_classes=st.integers(1, 4),
    frac=st.floats(0.0, 0.8),
)
def test_property_gaussian_equals_refit(seed, n, n_classes, frac):
    rng = np.random.RandomState(seed)
    X = rng.normal(loc=rng.uniform(-50, 50, 3), size=(n, 3))
    y = np.arange(n) % n_classes
    removed = rng.choice(n, size=int(frac * n), replace=False)
    keep = _retained(n, removed)
    if keep.sum() == 0:
        return
    ours = su.GaussianNB().fit(X, y).unlearn(removed)
    assert_same_model(ours, sk.GaussianNB().fit(X[keep], y[keep]), X, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "est",
    [su.GaussianNB(), su.MultinomialNB(), su.CategoricalNB()],
    ids=lambda est: type(est).__name__,
)
def test_unlearning_contract_across_many_blocks(est, monkeypatch):
    monkeypatch.setattr(nb_base, "_BLOCK_SIZE", 8)
    X, y = _digits()
    check_unlearner(est, X[:120] // 4, y[:120])


# -- no trace of the forgotten rows' values ----------------------------------------------------


def _state_leaves(est):
    return dict(_numeric_leaves(est))


def _assert_same_state(a, b, magnitude):
    """Every numeric leaf of two fitted states equal to 1e-13 relative; the low words of the
    double-double sums to about eps**2 (1e-32) of the ``magnitude`` of the rows removed,
    their only trace (a float64 subtraction would leave eps, 1e-16, of it)."""
    la, lb = _state_leaves(a), _state_leaves(b)
    assert la.keys() == lb.keys(), sorted(la.keys() ^ lb.keys())[:5]
    for path, value in la.items():
        other = lb[path]
        assert np.shape(value) == np.shape(other), path
        np.testing.assert_allclose(value, other, rtol=1e-13, atol=1e-29 * magnitude, err_msg=path)


# Magnitude of what the forgotten rows add to the largest sum (squares for GaussianNB).
_TRACE_CASES = [
    ("gaussian", su.GaussianNB(), 1e6, 1e14),
    ("multinomial", su.MultinomialNB(), 1e6, 1e7),
    ("complement", su.ComplementNB(), 1e6, 1e7),
    ("bernoulli", su.BernoulliNB(), 1e6, 1e2),
    ("categorical", su.CategoricalNB(), None, 1e2),
]


@pytest.mark.parametrize("batches", [1, 3], ids=["fit", "partial_fit"])
@pytest.mark.parametrize(
    "name, est, outlier, magnitude", _TRACE_CASES, ids=[c[0] for c in _TRACE_CASES]
)
def test_state_carries_no_trace_of_forgotten_values(name, est, outlier, magnitude, batches):
    """Two models whose training data differ only in the rows to forget (outliers and a
    category of their own in one, copies of other rows in the other) hold the same state once
    those rows are forgotten, fractional weights, outliers and batches included."""
    rng = np.random.RandomState(5)
    n = 240
    y = rng.randint(3, size=n)
    if name == "categorical":
        X = rng.randint(4, size=(n, 3))
    elif name == "gaussian":
        X = 1e4 + rng.normal(size=(n, 3)) + y[:, None]
    else:
        X = rng.uniform(0, 2, size=(n, 3)) * (y[:, None] + 1)
    w = rng.uniform(0.2, 3.0, size=n)
    forget = np.array([3, 50, 51, 130, 200, 239])
    donors = rng.choice(np.setdiff1d(np.arange(n), forget), forget.size)
    X_trace = X.copy()
    if outlier is None:
        X_trace[forget, 1] = 9  # the only rows of categories 4..9
    else:
        X_trace[forget] = outlier * rng.uniform(1, 2, size=(forget.size, 3))
    X_clean = X.copy()
    X_clean[forget] = X[donors]
    models = []
    for data in (X_trace, X_clean):
        model = clone(est)
        for rows in np.array_split(np.arange(n), batches):
            model.partial_fit(data[rows], y[rows], np.unique(y), sample_weight=w[rows])
        models.append(model.unlearn(forget[:2]).unlearn(forget[2:]))
    _assert_same_state(*models, magnitude)
    keep = _retained(n, forget)
    ref = getattr(sk, type(est).__name__)()
    for rows in np.array_split(np.arange(n), batches):
        rows = rows[keep[rows]]
        ref.partial_fit(X[rows], y[rows], np.unique(y), sample_weight=w[rows])
    assert_same_model(models[0], ref, X[keep])
