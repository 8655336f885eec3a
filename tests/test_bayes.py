"""Tests of skunlearn.bayes: the Gaussian algebra, the variational fit, and unlearning measured
against refitting on the retained rows.

Quality is ``KL(q_unlearned || q_refit)`` against ``KL(q_full || q_refit)`` (what doing nothing
costs), where ``q_refit`` is the same estimator fitted on the retained rows with a tight
tolerance. The margins come from ``benchmarks/bench_bayes.py`` over five seeds (see the user
guide): the worst ratio seen, with room to spare. "eubo" and "rkl" must either meet their margin
or say that they may not, with an ``EffectiveSampleSizeWarning``.
"""

import pickle
import warnings

import numpy as np
import pytest
from scipy import integrate, linalg
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine, make_moons
from sklearn.gaussian_process.kernels import RBF
from sklearn.preprocessing import StandardScaler

from skunlearn.bayes import (
    EffectiveSampleSizeWarning,
    SparseGPClassifier,
    VariationalUnlearnLogistic,
)
from skunlearn.bayes._adjusted import AdjustedLikelihood, antithetic_normal
from skunlearn.bayes._eubo import EUBO
from skunlearn.bayes._gaussian import ball_radius2, cholesky, gaussian_kl
from skunlearn.bayes._logistic import (
    evaluate,
    fit_laplace,
    fit_variational,
    predictive_proba,
    row_sites,
)
from skunlearn.bayes._rkl import rkl_unlearn

SEEDS = (0, 1, 2)
SCENARIOS = ("random10", "random30", "class30")
TIGHT = 1e-10


# -- data and helpers ------------------------------------------------------------------------


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


BREAST = _breast_cancer()
GRID = np.column_stack(
    [g.ravel() for g in np.meshgrid(np.linspace(-1.5, 2.5, 6), np.linspace(-1.0, 1.5, 6))]
)


def _moons(seed):
    return make_moons(300, noise=0.2, random_state=seed)


def _gp(**params):
    return SparseGPClassifier(RBF(0.5), inducing_points=GRID, **params)


def _removal(scenario, y, target, seed):
    rng = np.random.RandomState(seed)
    n = y.shape[0]
    if scenario == "random10":
        return rng.choice(n, n // 10, replace=False)
    if scenario == "random30":
        return rng.choice(n, 3 * n // 10, replace=False)
    members = np.flatnonzero(y == target)
    return rng.choice(members, int(0.3 * members.size), replace=False)


def _posterior(est):
    return est.posterior_mean_, est.posterior_covariance_


def _kl(a, b):
    return gaussian_kl(*_posterior(a), *_posterior(b))


def _distance(a, b):
    """Euclidean distance in (means, Cholesky factors), the metric of the certified bound."""
    ma, mb = np.atleast_2d(a.posterior_mean_), np.atleast_2d(b.posterior_mean_)
    shape = (ma.shape[0], ma.shape[1], ma.shape[1])
    Ca = np.array([cholesky(S) for S in a.posterior_covariance_.reshape(shape)])
    Cb = np.array([cholesky(S) for S in b.posterior_covariance_.reshape(shape)])
    return float(np.sqrt(np.sum((ma - mb) ** 2) + np.sum((Ca - Cb) ** 2)))


_CASES = {}


def _case(data, scenario, seed):
    """X, y, forgotten rows, the model template, and the refit on the retained rows (cached)."""
    key = (data, scenario, seed)
    if key not in _CASES:
        if data == "breast_cancer":
            X, y = BREAST
            template, target = VariationalUnlearnLogistic(), 0
        else:
            X, y = _moons(seed)
            template, target = _gp(), 1
        forget = _removal(scenario, y, target, seed)
        keep = np.setdiff1d(np.arange(y.shape[0]), forget)
        refit = clone(template).set_params(tol=TIGHT).fit(X[keep], y[keep])
        _CASES[key] = X, y, forget, template, refit
    return _CASES[key]


def _unlearn_ratio(data, scenario, seed, **params):
    """KL ratio of one method, whether it warned, and the unlearned model."""
    X, y, forget, template, refit = _case(data, scenario, seed)
    est = clone(template).set_params(random_state=seed, **params).fit(X, y)
    kl_full = _kl(est, refit)
    kwargs = {} if est.store_data else {"X_forget": X[forget], "y_forget": y[forget]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EffectiveSampleSizeWarning)
        est.unlearn(forget, **kwargs)
    warned = any(issubclass(w.category, EffectiveSampleSizeWarning) for w in caught)
    return _kl(est, refit) / kl_full, warned, est


# -- Gaussian algebra and quadrature -----------------------------------------------------------


def test_gaussian_kl_against_closed_form_and_stacking():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    S0, S1 = A @ A.T + np.eye(3), np.diag([1.0, 2.0, 3.0])
    m0, m1 = rng.standard_normal(3), rng.standard_normal(3)
    expected = 0.5 * (
        np.trace(np.linalg.solve(S1, S0))
        + (m1 - m0) @ np.linalg.solve(S1, m1 - m0)
        - 3
        + np.log(np.linalg.det(S1) / np.linalg.det(S0))
    )
    assert gaussian_kl(m0, S0, m1, S1) == pytest.approx(expected, rel=1e-12)
    assert gaussian_kl(m0, S0, m0, S0) == pytest.approx(0.0, abs=1e-12)
    stacked = gaussian_kl(
        np.stack([m0, m1]), np.stack([S0, S1]), np.stack([m1, m1]), np.stack([S1, S0])
    )
    assert stacked == pytest.approx(expected + gaussian_kl(m1, S1, m1, S0), rel=1e-12)


def test_ball_radius_is_the_chi2_quantile():
    # 95% of a 2-D standard normal lies within radius sqrt(-2 log 0.05).
    assert ball_radius2(0.95, 2) == pytest.approx(-2 * np.log(0.05), rel=1e-10)


@pytest.mark.parametrize("mu, s", [(0.0, 1.0), (2.5, 0.3), (-1.0, 4.0)])
def test_predictive_probability_matches_numerical_integration(mu, s):
    # One row x = (1, 0) under N((mu, 0), diag(s^2, 1)): the logit is N(mu, s^2).
    X = np.array([[1.0, 0.0]])
    got = predictive_proba(X, np.array([mu, 0.0]), np.diag([s * s, 1.0]))[0]
    density = lambda a: expit(a) * np.exp(-0.5 * ((a - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))  # noqa: E731
    expected, _ = integrate.quad(density, mu - 12 * s, mu + 12 * s, epsabs=1e-13)
    assert got == pytest.approx(expected, abs=1e-6)


def _small_problem(seed=0, n=80, p=3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_normal((n, p - 1)), np.ones(n)])
    t = np.where(rng.random(n) < expit(X @ np.array([1.5, -1.0, 0.3])[:p]), 1.0, -1.0)
    return X, t, rng.uniform(0.5, 2.0, n), np.array([1.0] * (p - 1) + [0.01])


def test_elbo_gradient_matches_finite_differences():
    X, t, w, prior = _small_problem()
    mean, precision, _ = fit_laplace(X, t, w, prior)
    mean = mean + 0.1  # away from the optimum, where the gradient is not zero
    state = evaluate(X, t, w, prior, mean, precision)
    eps = 1e-6
    numeric = []
    for j in range(mean.size):
        step = np.zeros(mean.size)
        step[j] = eps
        up = evaluate(X, t, w, prior, mean + step, precision).elbo
        down = evaluate(X, t, w, prior, mean - step, precision).elbo
        numeric.append((up - down) / (2 * eps))
    np.testing.assert_allclose(state.grad_mean, numeric, rtol=1e-6, atol=1e-8)


def test_variational_fit_is_a_product_of_sites():
    # At the optimum the precision is the prior's plus every row's site, and so is the
    # precision-mean: this is what site subtraction relies on.
    X, t, w, prior = _small_problem(seed=1)
    mean, precision, _ = fit_laplace(X, t, w, prior)
    state, _ = fit_variational(X, t, w, prior, mean, precision, tol=TIGHT, max_iter=200)
    assert state.grad_norm <= TIGHT
    beta, gamma = row_sites(X, t, w, state.mean, state.covariance)
    np.testing.assert_allclose(state.precision, np.diag(prior) + (X.T * beta) @ X, atol=1e-8)
    np.testing.assert_allclose(state.precision @ state.mean, X.T @ gamma, atol=1e-8)


def test_certified_bound_holds_during_the_fit():
    X, t, w, prior = _small_problem(seed=2)
    mean, precision, _ = fit_laplace(X, t, w, prior)
    best, _ = fit_variational(X, t, w, prior, mean, precision, tol=TIGHT, max_iter=300)
    for max_iter in (0, 1, 2, 4):
        state, _ = fit_variational(X, t, w, prior, mean, precision, tol=TIGHT, max_iter=max_iter)
        distance = np.sqrt(
            np.sum((state.mean - best.mean) ** 2) + np.sum((state.chol_cov - best.chol_cov) ** 2)
        )
        bound = state.grad_norm / prior.min() + best.grad_norm / prior.min()
        assert distance <= bound


# -- the adjusted likelihood, EUBO and reverse KL ----------------------------------------------


def _adjusted(seed=0, coverage=0.9):
    X, t, w, _ = _small_problem(seed, n=10)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3, 3))
    precision = A @ A.T + 3 * np.eye(3)
    return AdjustedLikelihood(X, t, w, rng.standard_normal(3), cholesky(precision), coverage)


def test_adjusted_likelihood_counts_rows_inside_the_ball_only():
    loglik = _adjusted()
    assert loglik.threshold == pytest.approx(np.exp(-ball_radius2(0.9, 3) / 2))
    inv_L = linalg.solve_triangular(loglik.chol_precision.T, np.eye(3))
    direction = inv_L @ np.array([1.0, 0.0, 0.0])  # unit Mahalanobis length
    radius = np.sqrt(loglik.radius2)
    inside = loglik.center + 0.1 * radius * direction
    outside = loglik.center + 3 * radius * direction
    full = -np.logaddexp(0, -loglik.t * (loglik.X @ inside)) @ loglik.w
    np.testing.assert_allclose(loglik(inside[None])[0], full, rtol=1e-4)
    assert abs(loglik(outside[None])[0]) < 1e-6 * abs(full)


def test_adjusted_likelihood_gradient_matches_finite_differences():
    loglik = _adjusted(seed=3)
    theta = loglik.center + np.array([[0.9, -0.4, 0.7]])  # near the boundary: both terms count
    _, grad = loglik(theta, gradient=True)
    eps = 1e-6
    numeric = [
        (loglik(theta + eps * e)[0] - loglik(theta - eps * e)[0]) / (2 * eps) for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-5, atol=1e-8)


def test_eubo_gradient_matches_finite_differences():
    loglik = _adjusted(seed=4)
    precision = loglik.chol_precision @ loglik.chol_precision.T
    eubo = EUBO(
        loglik.center, precision, loglik, antithetic_normal(np.random.default_rng(0), 64, 3)
    )
    v = eubo.pack(loglik.center + 0.3, cholesky(np.linalg.inv(precision)) * 1.2)
    _, grad = eubo(v)
    eps = 1e-6
    numeric = [(eubo(v + eps * e)[0] - eubo(v - eps * e)[0]) / (2 * eps) for e in np.eye(v.size)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_forgetting_rows_of_zero_weight_changes_nothing():
    X, y = BREAST
    for method in ("site", "eubo", "rkl"):
        est = VariationalUnlearnLogistic(
            unlearn_method=method, refine_steps=0, store_data=False, random_state=0
        ).fit(X, y)
        before = _posterior(est)
        est.unlearn([3, 8], X_forget=X[[3, 8]], y_forget=y[[3, 8]], sample_weight=[0.0, 0.0])
        np.testing.assert_allclose(est.posterior_mean_, before[0], atol=1e-5)
        np.testing.assert_allclose(est.posterior_covariance_, before[1], atol=1e-5)


def test_reverse_kl_with_uniform_weights_returns_its_proposal_exactly():
    # The control variate makes the estimate exact when reweighting changes nothing.
    loglik = _adjusted(seed=5)
    precision = loglik.chol_precision @ loglik.chol_precision.T
    w0 = np.zeros_like(loglik.w)
    mean, new_precision, info = rkl_unlearn(
        loglik.center, precision, loglik.X, loglik.t, w0, coverage=0.9, n_samples=64,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    np.testing.assert_allclose(mean, loglik.center, atol=1e-12)
    np.testing.assert_allclose(new_precision, precision, rtol=1e-10)
    assert info["ess"] == pytest.approx(64)


def test_few_draws_warn_about_the_effective_sample_size():
    X, y = BREAST
    est = VariationalUnlearnLogistic(unlearn_method="rkl", n_mc_samples=40, random_state=0)
    with pytest.warns(EffectiveSampleSizeWarning, match="effective sample size"):
        est.fit(X, y).unlearn(np.arange(100))
    assert est.unlearn_report_["ess"] < 10 * 31


# -- the estimators ----------------------------------------------------------------------------


def test_predict_proba_integrates_over_the_posterior():
    X, y = BREAST
    est = VariationalUnlearnLogistic().fit(X, y)
    D = np.column_stack([X[:20], np.ones(20)])
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(est.posterior_mean_, est.posterior_covariance_, 200_000)
    monte_carlo = expit(D @ draws.T).mean(axis=1)
    np.testing.assert_allclose(est.predict_proba(X[:20])[:, 1], monte_carlo, atol=3e-3)
    assert est.score(X, y) > 0.97


def test_multiclass_is_one_vs_rest():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = VariationalUnlearnLogistic().fit(X, y)
    assert est.posterior_mean_.shape == (3, 14)
    assert est.posterior_covariance_.shape == (3, 14, 14)
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
    binary = VariationalUnlearnLogistic().fit(X, (y == 1).astype(int))
    np.testing.assert_allclose(binary.posterior_mean_, est.posterior_mean_[1], atol=1e-5)


def test_sparse_gp_inducing_points_are_not_training_rows():
    X, y = _moons(0)
    gp = SparseGPClassifier(RBF(0.5), inducing_points=20).fit(X, y)
    assert gp.inducing_points_.shape == (20, 2)
    distances = np.min(np.linalg.norm(X[:, None] - gp.inducing_points_[None], axis=2), axis=0)
    assert distances.min() > 0
    assert gp.score(X, y) > 0.9
    with pytest.raises(ValueError, match="inducing_points has 3 features"):
        SparseGPClassifier(inducing_points=np.zeros((4, 3))).fit(X, y)


# -- unlearning against refitting ---------------------------------------------------------------

# Worst KL ratio over five seeds in benchmarks/bench_bayes.py, and the margin tested.
MARGINS = {
    ("breast_cancer", "site"): 0.25,  # worst seen 0.18
    ("breast_cancer", "site+refine"): 0.03,  # 0.016
    ("breast_cancer", "eubo"): 0.5,  # 0.38 without a warning (warned: up to 1.17)
    ("breast_cancer", "rkl"): 0.6,  # 0.45 without a warning (warned: up to 12)
    ("moons_gp", "site"): 0.07,  # 0.044
    ("moons_gp", "site+refine"): 0.002,  # 0.001
    ("moons_gp", "eubo"): 0.35,  # 0.23, never warned
    ("moons_gp", "rkl"): 0.35,  # 0.24, never warned
}
METHODS = {
    "site": {"unlearn_method": "site", "store_data": False},
    "site+refine": {"unlearn_method": "site", "refine_steps": 1},
    "eubo": {"unlearn_method": "eubo", "store_data": False},
    "rkl": {"unlearn_method": "rkl", "store_data": False},
}


@pytest.mark.parametrize("data", ["breast_cancer", "moons_gp"])
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("method", list(METHODS))
def test_unlearned_posterior_is_close_to_the_refit(data, scenario, method):
    margin = MARGINS[data, method]
    for seed in SEEDS:
        ratio, warned, est = _unlearn_ratio(data, scenario, seed, **METHODS[method])
        if method.startswith("site"):
            assert not warned
        assert ratio < margin or warned, (
            f"{method} on {data}/{scenario}, seed {seed}: KL ratio {ratio:.3g} >= {margin} "
            "without an EffectiveSampleSizeWarning"
        )
        assert est.unlearn_report_["method"] == method.split("+")[0]


@pytest.mark.parametrize("method", ["site", "eubo", "rkl"])
def test_certified_bound_holds_after_unlearning(method):
    X, y = BREAST
    est = VariationalUnlearnLogistic(unlearn_method=method, refine_steps=2, random_state=0)
    est.fit(X, y)
    forgotten = np.empty(0, dtype=int)
    for request in (np.arange(0, 60), np.arange(200, 230)):
        est.unlearn(request)
        forgotten = np.union1d(forgotten, request)
        keep = np.setdiff1d(np.arange(y.size), forgotten)
        refit = VariationalUnlearnLogistic(tol=TIGHT).fit(X[keep], y[keep])
        bound = est.unlearn_report_["distance_bound"]
        assert bound == est.optimality_bound_ and np.isfinite(bound)
        assert _distance(est, refit) <= bound + refit.optimality_bound_


def test_unlearning_without_stored_rows_has_no_bound_and_keeps_no_rows():
    X, y = BREAST
    est = VariationalUnlearnLogistic(store_data=False).fit(X, y)
    blob = pickle.dumps(est)
    assert not any(X[i].tobytes() in blob for i in range(0, 569, 50))
    est.unlearn([5, 1], X_forget=X[[5, 1]], y_forget=y[[5, 1]])
    assert est.unlearn_report_["distance_bound"] == np.inf
    # Rows given in the request's order, or as a mask (ascending), give the same model.
    by_mask = VariationalUnlearnLogistic(store_data=False).fit(X, y)
    mask = np.zeros(y.size, dtype=bool)
    mask[[1, 5]] = True
    by_mask.unlearn(mask, X_forget=X[[1, 5]], y_forget=y[[1, 5]])
    np.testing.assert_allclose(by_mask.posterior_mean_, est.posterior_mean_, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "store_data=False"),
        ({"X_forget": BREAST[0][:2]}, "store_data=False"),
        ({"X_forget": BREAST[0][:3], "y_forget": BREAST[1][:3]}, "must hold the 2"),
        ({"X_forget": BREAST[0][:2], "y_forget": [0, 7]}, "not in classes_"),
        ({"method": "newton", "X_forget": BREAST[0][:2], "y_forget": BREAST[1][:2]}, "method"),
    ],
)
def test_bad_forgotten_rows_are_rejected_and_change_nothing(kwargs, match):
    X, y = BREAST
    est = VariationalUnlearnLogistic(store_data=False).fit(X, y)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match=match):
        est.unlearn([0, 1], **kwargs)
    assert pickle.dumps(est) == before


def test_refit_without_storing_drops_the_rows_stored_by_an_earlier_fit():
    X, y = BREAST
    est = VariationalUnlearnLogistic().fit(X, y).set_params(store_data=False).fit(X, y)
    blob = pickle.dumps(est)
    assert not any(X[i].tobytes() in blob for i in range(0, 569, 50))
    with pytest.raises(ValueError, match="store_data=False"):
        est.unlearn([0])


def test_stored_rows_refuse_given_rows():
    X, y = BREAST
    est = VariationalUnlearnLogistic().fit(X, y)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="pass only the positions"):
        est.unlearn([0], X_forget=X[:1], y_forget=y[:1])
    assert pickle.dumps(est) == before


@pytest.mark.filterwarnings("ignore::skunlearn.bayes.EffectiveSampleSizeWarning")
def test_method_argument_overrides_the_parameter_and_is_deterministic():
    X, y = BREAST
    a = VariationalUnlearnLogistic(random_state=3).fit(X, y).unlearn(range(40), method="rkl")
    b = VariationalUnlearnLogistic(random_state=3).fit(X, y).unlearn(range(40), method="rkl")
    c = VariationalUnlearnLogistic(random_state=4).fit(X, y).unlearn(range(40), method="rkl")
    assert a.unlearn_report_["method"] == "rkl" and a.unlearn_method == "site"
    np.testing.assert_array_equal(a.posterior_mean_, b.posterior_mean_)
    assert not np.array_equal(a.posterior_mean_, c.posterior_mean_)
    report = a.unlearn_report_
    assert report["ess"] > 0 and report["n_mc_samples"] == 4096
    assert report["threshold_lambda"] == pytest.approx(np.exp(-ball_radius2(0.99, 31) / 2))


def test_sequential_requests_equal_one_batch_and_the_refit():
    X, y = BREAST
    params = {"refine_steps": 20, "tol": 1e-9}
    sequential = VariationalUnlearnLogistic(**params).fit(X, y)
    for request in (range(0, 30), range(100, 140), [300, 301]):
        sequential.unlearn(list(request))
    forgotten = sequential.unlearned_indices_
    batch = VariationalUnlearnLogistic(**params).fit(X, y).unlearn(forgotten)
    keep = np.setdiff1d(np.arange(y.size), forgotten)
    refit = VariationalUnlearnLogistic(tol=TIGHT).fit(X[keep], y[keep])
    assert _kl(sequential, refit) < 1e-8 and _kl(batch, refit) < 1e-8
    assert sequential.unlearn_report_["samples_retrained"] == keep.size


def test_forgetting_a_whole_class():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = VariationalUnlearnLogistic(refine_steps=20, tol=1e-9).fit(X, y)
    est.unlearn(np.flatnonzero(y == 0))
    keep = y != 0
    refit = VariationalUnlearnLogistic(tol=TIGHT).fit(X[keep], y[keep])
    np.testing.assert_array_equal(est.classes_, [1, 2])
    assert est.posterior_mean_.shape == (14,) and est.unlearn_report_["n_classes_removed"] == 1
    assert _kl(est, refit) < 1e-8
    np.testing.assert_allclose(est.predict_proba(X), refit.predict_proba(X), atol=1e-6)
    # Two classes left: forgetting all of one more would leave a single class.
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="only one class"):
        est.unlearn(np.flatnonzero(y == 1))
    assert pickle.dumps(est) == before


def test_failed_site_subtraction_refits_stored_rows_or_raises(monkeypatch):
    def improper(*args):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr("skunlearn.bayes._variational.site_unlearn", improper)
    X, y = BREAST
    est = VariationalUnlearnLogistic(tol=1e-9).fit(X, y).unlearn(range(40))
    refit = VariationalUnlearnLogistic(tol=TIGHT).fit(X[40:], y[40:])
    assert est.unlearn_report_["fallback_refit"]
    assert est.unlearn_report_["samples_retrained"] == y.size - 40
    assert _kl(est, refit) < 1e-8
    paper = VariationalUnlearnLogistic(store_data=False).fit(X, y)
    before = pickle.dumps(paper)
    with pytest.raises(ValueError, match="improper posterior"):
        paper.unlearn([0], X_forget=X[:1], y_forget=y[:1])
    assert pickle.dumps(paper) == before


def test_cost_estimate_describes_the_method():
    X, y = BREAST
    est = VariationalUnlearnLogistic().fit(X, y)
    cost = est.estimate_unlearn_cost(range(10))
    assert cost == {
        "n_removed": 10,
        "samples_retrained": 559,
        "method": "site",
        "rows_read": 559,
    }
    paper = VariationalUnlearnLogistic(unlearn_method="eubo", store_data=False).fit(X, y)
    assert paper.estimate_unlearn_cost(range(10))["samples_retrained"] == 0
