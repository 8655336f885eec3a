"""Exact unlearning for Ridge, LinearRegression and BayesianRidge, checked against retraining.

Every comparison is with scikit-learn's own estimator fitted from scratch on the retained rows
(same order, same weights). Tolerances are relative to the size of the compared quantity:
1e-10 for well-conditioned problems, looser only where the reason is stated.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sklm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression

from skunlearn.linear_model import BayesianRidge, LinearRegression, Ridge
from skunlearn.linear_model._exact_stats import COLUMNS, LinearMoments, store_rows

RTOL = 1e-10

_ATTRIBUTES = {
    "Ridge": ("coef_", "intercept_"),
    "LinearRegression": ("coef_", "intercept_", "rank_"),
    "BayesianRidge": (
        "coef_",
        "intercept_",
        "alpha_",
        "lambda_",
        "sigma_",
        "n_iter_",
        "X_offset_",
        "scores_",
    ),
}


def _close(actual, expected, rtol=RTOL, what=""):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = np.max(np.abs(expected), initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _refit(model, X, y, keep, sample_weight=None):
    sk = getattr(sklm, type(model).__name__)(**model.get_params())
    return sk.fit(X[keep], y[keep], None if sample_weight is None else sample_weight[keep])


def _assert_matches(model, reference, rtol=RTOL, X=None):
    for name in _ATTRIBUTES[type(model).__name__]:
        if name == "X_offset_" and X is not None:
            # Means of standardized features are rounding noise: compare at the scale of X.
            atol = rtol * np.abs(X).max()
            np.testing.assert_allclose(model.X_offset_, reference.X_offset_, rtol, atol)
        elif hasattr(reference, name):
            _close(getattr(model, name), getattr(reference, name), rtol, what=name)
    if hasattr(reference, "singular_"):
        # Square roots of eigenvalues of X^T X: accurate to sqrt(eps) of the largest.
        top = reference.singular_[0]
        np.testing.assert_allclose(model.singular_, reference.singular_, atol=1e-7 * top)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


_MODELS = [
    Ridge(alpha=0.1),
    Ridge(alpha=1.0, fit_intercept=False),
    LinearRegression(),
    LinearRegression(fit_intercept=False),
    LinearRegression(positive=True),
    BayesianRidge(compute_score=True),
    BayesianRidge(fit_intercept=False),
]


@pytest.mark.parametrize("model", _MODELS, ids=repr)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_removed", [0, 1, 10, 100])
def test_unlearn_equals_refit_on_retained_rows(diabetes, model, weighted, n_removed):
    X, y = diabetes
    rng = np.random.RandomState(n_removed)
    w = rng.uniform(0.5, 2.0, size=y.size) if weighted else None
    model = model.fit(X, y, sample_weight=w)
    gone = rng.choice(y.size, size=n_removed, replace=False)
    model.unlearn(gone)
    keep = np.setdiff1d(np.arange(y.size), gone)
    reference = _refit(model, X, y, keep, w)
    _assert_matches(model, reference, X=X)
    _close(model.predict(X), reference.predict(X), what="predict")
    report = model.unlearn_report_
    if n_removed:
        assert report["exact"] is True and report["distance_bound"] is None
        assert report["samples_retrained"] == 0, "a plain downdate reads no retained row"
    else:
        assert report is None, "an empty request is a no-op and writes no report"


def test_many_sequential_requests_stay_exact(diabetes):
    X, y = diabetes
    rng = np.random.RandomState(1)
    models = [Ridge(alpha=0.5), LinearRegression(), BayesianRidge()]
    for model in models:
        model.fit(X, y)
    order = rng.permutation(y.size)
    requests = [order[i : i + 1] for i in range(60)] + [order[60:200], order[200:210]]
    for request in requests:
        for model in models:
            model.unlearn(request)
    keep = np.sort(order[210:])
    for model in models:
        np.testing.assert_array_equal(model.unlearned_indices_, np.sort(order[:210]))
        _assert_matches(model, _refit(model, X, y, keep), X=X)


def test_multi_target_and_per_target_alpha():
    X, Y = make_regression(n_samples=300, n_features=8, n_targets=3, noise=5.0, random_state=0)
    gone = np.arange(0, 300, 7)
    keep = np.setdiff1d(np.arange(300), gone)
    for model in (Ridge(alpha=[0.1, 1.0, 100.0]), Ridge(alpha=3.0), LinearRegression()):
        model.fit(X, Y).unlearn(gone)
        assert model.coef_.shape == (3, 8) and model.intercept_.shape == (3,)
        _assert_matches(model, _refit(model, X, Y, keep), X=X)
    # A single target given as a column gets scikit-learn's shapes, which differ by class.
    for model in (Ridge(), LinearRegression(), Ridge(fit_intercept=False)):
        model.fit(X, Y[:, :1]).unlearn(gone)
        reference = _refit(model, X, Y[:, :1], keep)
        assert model.coef_.shape == reference.coef_.shape
        assert np.shape(model.intercept_) == np.shape(reference.intercept_)
        _assert_matches(model, reference)


def test_alpha_must_match_targets():
    X, Y = make_regression(n_samples=40, n_features=3, n_targets=2, random_state=0)
    with pytest.raises(ValueError, match="Number of targets and number of penalties"):
        Ridge(alpha=[1.0, 2.0, 3.0]).fit(X, Y)


def test_parameters_changed_after_fit_apply_to_the_next_unlearn(diabetes):
    # Like a refit, unlearn solves with the estimator's current parameters.
    X, y = diabetes
    model = Ridge(alpha=0.1).fit(X, y)
    model.set_params(alpha=10.0).unlearn([3, 4])
    keep = np.setdiff1d(np.arange(y.size), [3, 4])
    _assert_matches(model, sklm.Ridge(alpha=10.0).fit(X[keep], y[keep]), X=X)


def test_wide_data_fewer_rows_than_features():
    X, y = make_regression(n_samples=25, n_features=40, noise=1.0, random_state=3)
    keep = np.arange(3, 25)
    for model in (Ridge(alpha=0.3), LinearRegression(), BayesianRidge(compute_score=True)):
        model.fit(X, y).unlearn([0, 1, 2])
        reference = _refit(model, X, y, keep)
        # The minimum-norm / posterior solutions along a rank-deficient X^T X: the null
        # space is computed from eigenvalues at eps * ||X^T X||, hence 1e-9.
        _assert_matches(model, reference, rtol=1e-9, X=X)


def test_ridge_positive_is_the_exact_constrained_minimiser(diabetes):
    X, y = diabetes
    gone = np.arange(50)
    keep = np.arange(50, y.size)
    model = Ridge(alpha=0.01, positive=True).fit(X, y).unlearn(gone)
    own_refit = Ridge(alpha=0.01, positive=True).fit(X[keep], y[keep])
    _close(model.coef_, own_refit.coef_)
    _close(model.intercept_, own_refit.intercept_)
    # Karush-Kuhn-Tucker conditions of min ||y - Xw - b||^2 + alpha ||w||^2 s.t. w >= 0.
    Xk, yk = X[keep], y[keep]
    residual = yk - Xk @ model.coef_ - model.intercept_
    gradient = -2 * Xk.T @ residual + 2 * 0.01 * model.coef_
    scale = np.abs(2 * Xk.T @ yk).max()
    assert np.all(model.coef_ >= 0)
    assert np.all(gradient >= -1e-10 * scale)
    assert np.all(np.abs(gradient[model.coef_ > 0]) <= 1e-10 * scale)
    assert abs(residual.sum()) <= 1e-10 * np.abs(yk).sum()
    # scikit-learn's lbfgs approximates the same minimiser.
    lbfgs = sklm.Ridge(alpha=0.01, positive=True, tol=1e-10).fit(Xk, yk)
    _close(model.coef_, lbfgs.coef_, rtol=1e-3)


def test_large_offsets_lose_no_precision():
    rng = np.random.RandomState(0)
    n, p = 500, 4
    X = 1e8 + rng.randn(n, p) * [1.0, 3.0, 0.5, 2.0]
    y = 1e6 + (X - 1e8) @ [1.0, -2.0, 0.5, 3.0] + rng.randn(n)
    # Position 0 is the row the statistics are centred about: forgetting it moves the centre.
    requests = [[0], [1, 2, 3], list(range(10, 60)), [4]]
    for model in (Ridge(alpha=1.0), LinearRegression(), BayesianRidge()):
        model.fit(X, y)
        for request in requests:
            model.unlearn(request)
            assert model.unlearn_report_["statistics"] == "downdated"
        keep = np.setdiff1d(np.arange(n), np.concatenate(requests))
        reference = _refit(model, X, y, keep)
        # scikit-learn itself centres X around a mean known to eps * 1e8, so its intercept
        # is good to about 1e-8 / |intercept|; the coefficients to 1e-10.
        _close(model.coef_, reference.coef_, what="coef_")
        _close(model.predict(X), reference.predict(X), what="predict")


def _outlier_data():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    X[17, 1] = 1e7  # one row holds almost all the variance of feature 1
    y = X @ [1.0, 0.0, -1.0] + rng.randn(300)
    y[17] = 0.0
    return X, y


def test_cancelling_downdate_is_detected_and_recomputed():
    X, y = _outlier_data()
    keep = np.setdiff1d(np.arange(300), [17])
    for model in (Ridge(alpha=1e-3), LinearRegression(), BayesianRidge()):
        model.fit(X, y)
        assert model.estimate_unlearn_cost([17])["statistics"] != "downdated"
        model.unlearn([17])
        report = model.unlearn_report_
        assert report["statistics"] == "recomputed from the retained rows"
        assert report["samples_retrained"] == 299
        _assert_matches(model, _refit(model, X, y, keep), X=X)


def test_unguarded_downdate_would_have_been_wrong():
    # Why the guard exists: subtracting the outlier leaves a variance dominated by rounding.
    X, y = _outlier_data()
    store = store_rows(X, y[:, None], None)
    stats = LinearMoments.from_store(store, 3)
    rest = store.without(np.array([17]))
    downdated = stats.without(store.take(np.array([17]), COLUMNS), rest, np.array([17]))
    fresh = LinearMoments.from_store(rest, 3)
    true_var = fresh.moments.m2[1, 1]
    error = abs(downdated.moments.m2[1, 1] - true_var) / true_var
    assert error > 1e-9
    assert downdated.relative_rounding() >= error  # the bound covers the damage


@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("weighted", [False, True])
def test_rounding_bound_covers_measured_drift(offset, weighted):
    rng = np.random.RandomState(2)
    n, p = 600, 4
    X = offset + rng.randn(n, p) * [1.0, 10.0, 0.01, 100.0]
    Y = rng.randn(n, 1) + 3.0
    w = rng.rand(n) if weighted else None
    store = store_rows(X, Y, w, block_bytes=2048)
    stats = LinearMoments.from_store(store, p)
    for i in rng.permutation(n)[:500]:
        gone = np.array([i])
        rest = store.without(gone)
        stats, store = stats.without(store.take(gone, COLUMNS), rest, gone), rest
    fresh = LinearMoments.from_store(store, p)
    drift = np.abs(np.diagonal(stats.moments.m2) - np.diagonal(fresh.moments.m2))
    assert np.all(drift <= stats.rounding)
    spread = np.sqrt(np.diagonal(fresh.moments.m2) / fresh.weight)
    np.testing.assert_allclose(stats.mean, fresh.mean, rtol=0, atol=1e-13 * spread.max())


def test_high_leverage_removal_is_as_accurate_as_a_fresh_fit():
    # Row 5 alone separates two nearly equal features: forgetting it multiplies the condition
    # number by about 1e6 without cancelling any diagonal. The downdated statistics are then
    # as good as freshly computed ones, and so is the solution.
    rng = np.random.RandomState(0)
    a = rng.randn(500)
    X = np.column_stack([a, a + 1e-3 * rng.randn(500), rng.randn(500)])
    X[5, 1] += 50.0
    y = X @ [1.0, 2.0, 3.0] + 0.1 * rng.randn(500)
    keep = np.setdiff1d(np.arange(500), [5])
    for model in (LinearRegression(), Ridge(alpha=1e-8)):
        fresh = clone(model).fit(X[keep], y[keep])
        model.fit(X, y).unlearn([5])
        kappa = model.unlearn_report_["condition_number"]
        assert kappa > 1e6
        reference = _refit(model, X, y, keep)
        scale = np.abs(reference.coef_).max()
        fresh_error = np.abs(fresh.coef_ - reference.coef_).max() / scale
        error = np.abs(model.coef_ - reference.coef_).max() / scale
        assert error <= 10 * fresh_error + 10 * kappa * np.finfo(float).eps


def test_ill_conditioned_least_squares_uses_the_rows():
    rng = np.random.RandomState(0)
    base = rng.randn(400, 3)
    X = np.column_stack([base, base[:, 0] + 1e-5 * rng.randn(400)])  # cond(X) ~ 1e5
    y = X @ [1.0, 2.0, 3.0, 4.0] + 0.1 * rng.randn(400)
    keep = np.arange(5, 400)
    model = LinearRegression().fit(X, y).unlearn(np.arange(5))
    assert model.unlearn_report_["solved_from"].startswith("rows: X^T X is ill-conditioned")
    _assert_matches(model, _refit(model, X, y, keep), X=X)
    # Ridge: scikit-learn also solves the normal equations, so both carry an error of about
    # cond(X^T X + alpha I) * eps; they agree to that, not to 1e-10.
    ridge = Ridge(alpha=1e-6).fit(X, y).unlearn(np.arange(5))
    kappa = ridge.unlearn_report_["condition_number"]
    assert kappa > 1e6
    _close(ridge.coef_, _refit(ridge, X, y, keep).coef_, rtol=kappa * 1e-15)


def test_exactly_collinear_features_use_the_minimum_norm_solution():
    rng = np.random.RandomState(0)
    base = rng.randn(200, 3)
    X = np.column_stack([base, base[:, 1]])  # a duplicated column: rank 3
    y = base @ [1.0, 2.0, 3.0] + 0.1 * rng.randn(200)
    model = LinearRegression().fit(X, y).unlearn([7, 8])
    assert model.unlearn_report_["solved_from"] == "statistics"
    assert model.rank_ == 3
    _assert_matches(model, _refit(model, X, y, np.setdiff1d(np.arange(200), [7, 8])), X=X)


def test_singular_ridge_without_penalty_falls_back_to_scikit_learn():
    rng = np.random.RandomState(0)
    base = rng.randn(100, 2)
    X = np.column_stack([base, base[:, 0]])
    y = base @ [1.0, 1.0] + rng.randn(100)
    model = Ridge(alpha=0.0).fit(X, y).unlearn([0])
    assert model.unlearn_report_["solved_from"].startswith("rows:")
    assert model.unlearn_report_["samples_retrained"] == 99
    _assert_matches(model, _refit(model, X, y, np.arange(1, 100)), X=X)


def test_near_perfect_bayesian_fit_uses_the_rows():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    y = X @ [1.0, 2.0, 3.0] + 1e-6 * rng.randn(200)
    model = BayesianRidge().fit(X, y).unlearn([0, 1])
    assert model.unlearn_report_["solved_from"].startswith("rows: near-perfect fit")
    _assert_matches(model, _refit(model, X, y, np.arange(2, 200)), X=X)


def test_bayesian_predictive_std_matches(diabetes):
    X, y = diabetes
    model = BayesianRidge().fit(X, y).unlearn(np.arange(0, 442, 3))
    reference = _refit(model, X, y, np.setdiff1d(np.arange(442), np.arange(0, 442, 3)))
    for mine, theirs in zip(model.predict(X, return_std=True), reference.predict(X, True)):
        _close(mine, theirs)


def test_float32_input_keeps_float32_outputs(diabetes):
    X, y = diabetes
    X32 = X.astype(np.float32)
    for model in (Ridge(), LinearRegression(), BayesianRidge()):
        model.fit(X32, y).unlearn([0, 1])
        assert model.coef_.dtype == np.float32
        reference = _refit(model, X32, y, np.arange(2, y.size))
        # scikit-learn solves in float32; the statistics here stay float64.
        _close(model.coef_, reference.coef_, rtol=1e-4)


def test_purge_includes_the_centring_row_and_the_targets(diabetes):
    X, y = diabetes
    y = y + np.random.RandomState(0).uniform(0, 0.5, size=y.size)  # no two targets alike
    for model in (Ridge(), LinearRegression(), BayesianRidge()):
        model.fit(X, y)
        before = pickle.dumps(model)
        assert X[0].tobytes() in before and y[0].tobytes() in before  # the check can fail
        model.unlearn([0, 100])
        blob = pickle.dumps(model)
        for i in (0, 100):
            assert X[i].tobytes() not in blob
            assert y[i].tobytes() not in blob
        assert model._stats.shift_position == 1


def test_bad_inputs_are_rejected_clearly(diabetes):
    X, y = diabetes
    # As scikit-learn's BayesianRidge (Ridge and LinearRegression take sparse X: see
    # tests/test_sparse_input.py).
    with pytest.raises(TypeError, match="Sparse data was passed for X"):
        BayesianRidge().fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        LinearRegression().fit(X, y, sample_weight=-np.ones(y.size))
    with pytest.raises(ValueError, match="at least one non-zero"):
        BayesianRidge().fit(X, y, sample_weight=np.zeros(y.size))
    with pytest.raises(ValueError, match="'lbfgs' solver can be used only when positive"):
        Ridge(solver="lbfgs").fit(X, y)


def test_unlearning_all_weighted_rows_is_rejected(diabetes):
    X, y = diabetes
    w = np.zeros(y.size)
    w[:5] = 1.0
    model = Ridge().fit(X, y, sample_weight=w)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="only rows of zero sample weight"):
        model.unlearn(np.arange(5))
    assert pickle.dumps(model) == before
    model.unlearn(np.arange(4))  # one weighted row left: allowed
    _assert_matches(model, _refit(model, X, y, np.arange(4, y.size), w), X=X)


def test_unlearn_copies_only_the_blocks_it_changes_and_owns_them():
    rng = np.random.RandomState(0)
    X, y = rng.randn(8000, 3), rng.randn(8000)
    model = Ridge().fit(X, y)
    blocks = model._rows.block_size
    assert 1 < blocks < 4000  # several blocks, so that sharing can be observed
    before = list(model._rows.blocks)
    model.unlearn([3, blocks + 1])
    after = model._rows.blocks
    changed = [b for b in range(len(before)) if after[b] is not before[b]]
    assert changed == [0, 1]
    for block in model._rows:  # own arrays, not views keeping the forgotten bytes alive
        assert block.data["X"].base is None and block.data["Y"].base is None
    keep = np.setdiff1d(np.arange(8000), [3, blocks + 1])
    np.testing.assert_array_equal(model._rows.column("X"), X[keep])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_requests=st.integers(1, 4),
    fit_intercept=st.booleans(),
    weighted=st.booleans(),
)
def test_random_request_sequences_match_refit(seed, n_requests, fit_intercept, weighted):
    rng = np.random.RandomState(seed)
    n, p = 80, 5
    X = rng.randn(n, p) * rng.uniform(0.1, 10, size=p) + rng.uniform(-100, 100, size=p)
    y = X @ rng.randn(p) + rng.randn(n)
    w = rng.uniform(0.1, 3, size=n) if weighted else None
    models = [
        Ridge(alpha=0.3, fit_intercept=fit_intercept),
        BayesianRidge(fit_intercept=fit_intercept),
    ]
    for model in models:
        model.fit(X, y, sample_weight=w)
    left = np.arange(n)
    for _ in range(n_requests):
        request = rng.choice(left, size=rng.randint(1, 10), replace=False)
        left = np.setdiff1d(left, request)
        for model in models:
            model.unlearn(request)
    for model in models:
        _assert_matches(model, _refit(model, X, y, left, w), rtol=1e-9, X=X)
