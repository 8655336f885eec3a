"""InfluenceUnlearnLogistic against retraining from scratch, and its building blocks.

The reference for every comparison is scikit-learn alone: a newton-cholesky retrain with a
tight tolerance, whose own distance to the exact optimum is bounded with scikit-learn's
gradient and Hessian (LinearModelLoss), independently of the code under test. A reported
bound ``b`` is violated when ``||theta - theta_ref|| > b + err_ref``.
"""

import pickle
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.linear_model._linear_loss import LinearModelLoss
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import scale
from sklearn.utils.class_weight import compute_class_weight

from skunlearn.linear_model import InfluenceUnlearnLogistic
from skunlearn.linear_model import _losses as losses
from skunlearn.linear_model._certificate import (
    distance_bound,
    refined_distance_bound,
    schur_curvature_bound,
)
from skunlearn.linear_model._cholesky import (
    DowndateError,
    HessianCache,
    certified_min_eigenvalue,
    cholesky_update,
)
from skunlearn.linear_model._influence import RefitWarning
from skunlearn.linear_model._newton import _maintain, evaluate, full_hessian


def _data(loader):
    X, y = loader(return_X_y=True)
    return scale(X), y


def _params(est):
    return np.concatenate([est.coef_.ravel(), est.intercept_.ravel()])


def _sklearn_derivatives(theta, X, y, template, sample_weight=None, noise=None):
    """Gradient and Hessian of the sum-form objective, by scikit-learn's LinearModelLoss."""
    classes, t = np.unique(y, return_inverse=True)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    cw = compute_class_weight(template.class_weight, classes=classes, y=y, sample_weight=sw)
    s = sw * cw[t]
    scale_ = template.C * s.sum()
    d, fi = X.shape[1], template.fit_intercept
    if classes.size == 2:
        lml = LinearModelLoss(HalfBinomialLoss(), fi)
        coef = theta[: d + 1] if fi else theta[:d]
    else:
        lml = LinearModelLoss(HalfMultinomialLoss(n_classes=classes.size), fi)
        K = classes.size
        W = theta[: K * d].reshape(K, d)
        coef = np.hstack([W, theta[K * d :][:, None]]) if fi else W
    grad, hess, _ = lml.gradient_hessian(coef, X, t.astype(float), s, 1.0 / scale_)
    grad = np.ravel(grad) * scale_
    if noise is not None:
        grad = grad + noise  # the perturbation is in our layout; norms only are used
    return grad, hess * scale_


def _reference(X, y, template, sample_weight=None, warm=None):
    """The retrained optimum by scikit-learn, and a bound on its own distance to the exact one.

    ``warm``: a newton-cholesky LogisticRegression with ``warm_start=True`` to reuse (it
    starts from its previous solution, which only saves iterations)."""
    lr = warm or clone(template).set_params(solver="newton-cholesky", tol=1e-12, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(X, y, sample_weight=sample_weight)
    theta = _params(lr)
    grad, hess = _sklearn_derivatives(theta, X, y, template, sample_weight)
    eig = np.linalg.eigvalsh(hess)
    if len(lr.classes_) > 2 and template.fit_intercept:
        eig = eig[1:]  # the flat gauge direction of the full softmax
    # Locally quadratic at this scale: a factor 2 covers the third-order term.
    return theta, 2.0 * np.linalg.norm(grad) / eig[0], lr


def _check_against_retrain(clf, X, y, template, sample_weight=None, warm=None):
    keep = clf._retained_mask()
    sw = None if sample_weight is None else sample_weight[keep]
    if clf.unlearn_report_["refit"]:  # a refit is exact: scikit-learn's fit on the rows left
        assert clf.unlearn_report_["distance_bound"] is None
        lr = clone(template).fit(X[keep], y[keep], sample_weight=sw)
        # (up to the rounding of the multinomial intercepts' sum-zero representative)
        np.testing.assert_allclose(_params(clf), _params(lr), rtol=0, atol=1e-14)
        return 0.0, 0.0, 0.0, lr
    theta_ref, err_ref, lr = _reference(X[keep], y[keep], template, sw, warm)
    err = np.linalg.norm(_params(clf) - theta_ref)
    bound = clf.unlearn_report_["distance_bound"]
    assert err <= bound + err_ref, (err, bound, err_ref)
    return err, bound, err_ref, lr


# -- the certificate holds on every call ------------------------------------------------------


def test_bound_holds_over_many_binary_requests():
    X, y = _data(load_breast_cancer)
    template = LogisticRegression()
    # One Newton step per request keeps the bounds far from rounding, so the test is sharp.
    clf = InfluenceUnlearnLogistic(template, max_newton_steps=1, tol=0.0).fit(X, y)
    rng = np.random.default_rng(0)
    errors, ratios = [], []
    for _ in range(120):
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, size=rng.integers(1, 4), replace=False))
        err, bound, err_ref, _ = _check_against_retrain(clf, X, y, template)
        errors.append(err)
        ratios.append(bound / max(err, err_ref))
    # Honest accuracy: one Newton step from the previous model per request.
    assert np.median(errors) < 1e-4
    # ... and a bound that is not vacuous: typically within a factor 1.5 of the true error.
    assert np.median(ratios) < 5


def test_bound_holds_over_many_multinomial_requests():
    X, y = _data(load_wine)
    template = LogisticRegression(C=0.5)
    clf = InfluenceUnlearnLogistic(template, max_newton_steps=1, tol=0.0).fit(X, y)
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(60):
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, size=rng.integers(1, 3), replace=False))
        err, *_ = _check_against_retrain(clf, X, y, template)
        errors.append(err)
        # The reported parameters are in scikit-learn's gauge: intercepts sum to zero.
        assert abs(clf.intercept_.sum()) < 1e-12
    # 178 rows: one or two rows are 1% of the data, and one Newton step per request.
    assert np.median(errors) < 1e-3


@pytest.mark.parametrize(
    "options",
    [
        {"sample_weight": True},
        {"class_weight": {0: 3.0, 1: 0.5}},
        {"class_weight": "balanced"},
        {"fit_intercept": False},
        {"C": 0.05},
        {"sparse": True},
        {"solver": "cg"},
        {"multinomial": True, "class_weight": "balanced", "sample_weight": True},
        {"multinomial": True, "fit_intercept": False},
        {"multinomial": True, "solver": "cg"},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_bound_holds_with_weights_and_options(options):
    options = dict(options)
    X, y = _data(load_wine if options.pop("multinomial", False) else load_breast_cancer)
    sw = None
    if options.pop("sample_weight", False):
        sw = np.random.default_rng(2).uniform(0.2, 3.0, len(y))
    solver = options.pop("solver", "auto")
    if options.pop("sparse", False):
        X = X.copy()
        X[np.abs(X) < 0.7] = 0.0
        X = sparse.csr_matrix(X)
    template = LogisticRegression(**options)
    clf = InfluenceUnlearnLogistic(template, max_newton_steps=1, tol=0.0, solver=solver)
    clf.fit(X, y, sample_weight=sw)
    assert clf.solver_ == ("cholesky" if solver == "auto" else solver)
    rng = np.random.default_rng(3)
    for _ in range(12):
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, size=rng.integers(1, 4), replace=False))
        assert not clf.unlearn_report_["refit"]
        err, *_ = _check_against_retrain(clf, X, y, template, sw)
        assert err < 1e-2


@pytest.mark.parametrize(
    "loader, n_removed, tolerance",
    [
        (load_breast_cancer, 1, 1e-6),
        (load_breast_cancer, 10, 1e-6),
        (load_breast_cancer, 100, 1e-6),
        (load_wine, 1, 1e-6),
        (load_wine, 10, 1e-6),
        (load_wine, 50, 1e-5),
    ],
)
def test_against_retrain_on_real_data(loader, n_removed, tolerance):
    """Default settings (Newton steps until the bound is below 1e-6 relative, at most 5):
    the relative parameter error and the largest change of a test probability against the
    retrained model, with the bound checked. Wine's 50 rows are 38% of its training set."""
    X, y = _data(loader)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    # solver="auto" would refit wine's 50 rows (cheaper: see test_auto_refits_when_cheaper).
    clf = InfluenceUnlearnLogistic(solver="cholesky").fit(X_train, y_train)
    forget = np.random.default_rng(4).choice(len(y_train), n_removed, replace=False)
    clf.unlearn(forget)
    err, bound, err_ref, retrained = _check_against_retrain(
        clf, X_train, y_train, LogisticRegression()
    )
    assert err / np.linalg.norm(_params(retrained)) < tolerance
    # A probability moves at most (1/2) max ||(x, 1)|| ||dtheta|| (softmax; 1/4 for sigmoid).
    proba_change = np.abs(clf.predict_proba(X_test) - retrained.predict_proba(X_test)).max()
    x_norm = np.sqrt((X_test**2).sum(axis=1).max() + 1.0)
    assert proba_change <= 0.5 * x_norm * (bound + err_ref)
    assert proba_change < 10 * tolerance


def test_against_retrain_on_digits():
    """Ten classes, 650 parameters: requests of 1, 10 and 100 rows on one model."""
    X, y = _data(load_digits)
    template = LogisticRegression(C=0.1)
    # solver="auto" would refit for the 100 rows (a rank-1000 downdate costs more).
    clf = InfluenceUnlearnLogistic(template, solver="cholesky").fit(X, y)
    # The reference starts from the fitted model's parameters (only to save iterations).
    warm = clone(template).set_params(solver="newton-cholesky", tol=1e-12, warm_start=True)
    warm.coef_, warm.intercept_ = clf.coef_.copy(), clf.intercept_.copy()
    rng = np.random.default_rng(5)
    for n_removed, tolerance in [(1, 1e-6), (10, 1e-6), (100, 1e-5)]:
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, n_removed, replace=False))
        err, _, _, retrained = _check_against_retrain(clf, X, y, template, warm=warm)
        assert err / np.linalg.norm(_params(retrained)) < tolerance
        proba_change = np.abs(clf.predict_proba(X) - retrained.predict_proba(X)).max()
        assert proba_change < 10 * tolerance


def test_further_newton_steps_tighten_the_bound():
    X, y = _data(load_breast_cancer)
    forget = np.arange(0, 60, 3)
    bounds = []
    for steps in (1, 2, 3):
        clf = InfluenceUnlearnLogistic(max_newton_steps=steps, tol=0.0).fit(X, y)
        clf.unlearn(forget)
        assert clf.unlearn_report_["newton_steps"] >= steps
        bounds.append(clf.unlearn_report_["distance_bound"])
        _check_against_retrain(clf, X, y, LogisticRegression())
    assert bounds[0] > 10 * bounds[1] > 100 * bounds[2]
    # With a tolerance, steps stop as soon as the bound is below it.
    clf = InfluenceUnlearnLogistic(max_newton_steps=10, tol=1e-9).fit(X, y).unlearn(forget)
    report = clf.unlearn_report_
    assert report["distance_bound"] <= 1e-9 * max(1.0, np.linalg.norm(_params(clf)))
    assert report["newton_steps"] < 10


# -- building blocks --------------------------------------------------------------------------


def test_cached_hessian_is_that_of_the_retained_rows():
    """After downdates, the cache holds exactly the retained rows' curvature (nothing of the
    forgotten rows), and its curvature bound is certified."""
    X, y = _data(load_wine)
    clf = InfluenceUnlearnLogistic(max_newton_steps=1, refresh_threshold=1e-9).fit(X, y)
    for rows in ([3], [10, 11], [50, 120, 7]):
        clf.unlearn(rows)
    cache = clf._cache
    assert cache.removed_since_refresh == 6
    expected = full_hessian(clf._problem, cache.theta_ref)
    np.testing.assert_allclose(cache.hessian, expected, atol=1e-10 * np.abs(expected).max())
    e = clf._objective.gauge()
    true_min = np.linalg.eigvalsh(expected + 1e6 * np.outer(e, e))[0]
    assert 0 < cache.mu <= true_min
    assert cache.mu > 0.3 * true_min  # and not vacuous


def test_downdate_leverage_bound_and_refusal():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((60, 8))
    H = A.T @ A + np.eye(8)
    cache = HessianCache.build(H, np.zeros(8), np.ones(2), None, 60)
    assert cache.mu <= np.linalg.eigvalsh(H)[0]
    U = A[:3].T * 0.5
    smaller = cache.update(U, n_removed=3)
    np.testing.assert_allclose(smaller.hessian, H - U @ U.T)
    assert smaller.mu <= np.linalg.eigvalsh(H - U @ U.T)[0]
    assert smaller.removed_since_refresh == 3 and cache.removed_since_refresh == 0
    # A column that carries most of a direction's curvature is refused.
    v = np.linalg.eigh(H)[1][:, 0] * np.sqrt(np.linalg.eigvalsh(H)[0] * 0.9)
    with pytest.raises(DowndateError):
        cache.update(v[:, None])
    assert certified_min_eigenvalue(-np.eye(3)) == 0.0


def test_schur_bound_and_distance_bound_are_lower_and_upper_bounds():
    rng = np.random.default_rng(7)
    for trial in range(20):
        q = 1 if trial % 2 else 3
        Z = rng.standard_normal((40, 6 + q)) * rng.uniform(0.1, 3.0)
        M = Z.T @ Z
        H = M.copy()
        H[np.arange(6), np.arange(6)] += 1.0
        gauge = q == 3
        if gauge:  # make the intercept block blind to a common shift, as the softmax is
            P = np.eye(9)
            P[6:, 6:] -= 1.0 / 3.0
            H, M = P @ H @ P, P @ M @ P
            H[np.arange(6), np.arange(6)] = M[np.arange(6), np.arange(6)] + 1.0
        mu = schur_curvature_bound(M[:6, 6:], M[6:, 6:], gauge=gauge)
        eig = np.linalg.eigvalsh(H)
        true_min = eig[1] if gauge else eig[0]
        assert 0 < mu <= true_min + 1e-12
    assert distance_bound(1e-3, mu=0.5, radius=0.0) == pytest.approx(2e-3)
    assert distance_bound(1e-3, mu=0.5, radius=10.0) > 2e-3
    assert distance_bound(1.0, mu=0.1, radius=1.0, global_mu=1.0) == 1.0
    assert distance_bound(1.0, mu=0.0, radius=1.0) == np.inf


def _spd(rng, p, scale=1.0):
    A = rng.standard_normal((p, 2 * p)) * scale
    return A @ A.T / p + np.eye(p)


@pytest.mark.parametrize(
    "p, k, block", [(5, 1, None), (40, 3, None), (70, 1, 7), (130, 12, 32), (90, 40, 16)]
)
def test_cholesky_update_is_a_fresh_factorization(p, k, block):
    """Blocked up- and downdates against LAPACK's factorization of the modified matrix, and
    the leverage the downdate reports against its definition."""
    rng = np.random.default_rng(p + k)
    H = _spd(rng, p)
    L = np.linalg.cholesky(H)
    before = L.copy()
    U = rng.standard_normal((p, k)) * 0.4 / np.sqrt(p * k)
    down, leverage = cholesky_update(L, U, downdate=True, block=block)
    expected = np.linalg.cholesky(H - U @ U.T)
    np.testing.assert_allclose(down, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert np.all(np.triu(down, 1) == 0)
    G = U.T @ np.linalg.solve(H, U)
    assert leverage == pytest.approx(np.linalg.eigvalsh(G)[-1], rel=1e-9)
    up, none = cholesky_update(L, U, downdate=False, block=block)
    np.testing.assert_allclose(up, np.linalg.cholesky(H + U @ U.T), atol=1e-12 * np.abs(L).max())
    assert none == 0.0
    np.testing.assert_array_equal(L, before)  # built aside
    same, zero = cholesky_update(L, np.empty((p, 0)), downdate=True)
    np.testing.assert_array_equal(same, L)
    assert zero == 0.0


def test_many_successive_downdates_stay_accurate():
    """Rounding does not build up over hundreds of rank-one downdates (one per forgotten row)."""
    rng = np.random.default_rng(11)
    p = 60
    X = rng.standard_normal((600, p))
    H = np.eye(p) + X.T @ X
    L = np.linalg.cholesky(H)
    for i in range(400):
        L, _ = cholesky_update(L, X[i][:, None], downdate=True)
    expected = np.linalg.cholesky(np.eye(p) + X[400:].T @ X[400:])
    np.testing.assert_allclose(L, expected, atol=1e-10 * np.abs(expected).max())


def test_downdate_that_is_not_positive_definite_is_refused():
    rng = np.random.default_rng(12)
    H = _spd(rng, 50)
    w, Q = np.linalg.eigh(H)
    # Removes 1.01 times the curvature along the weakest direction.
    u = Q[:, :1] * np.sqrt(1.01 * w[0])
    with pytest.raises(DowndateError):
        cholesky_update(np.linalg.cholesky(H), u, downdate=True, block=8)


def test_recertification_restores_the_curvature_bound():
    """Leverages shrink mu at every downdate; certifying it again from the factor gives back
    a bound that is valid and close to the smallest eigenvalue."""
    rng = np.random.default_rng(13)
    p = 230  # above the size where eigenvalues come from inverse iteration
    X = rng.standard_normal((2000, p)) * 0.3
    H = np.eye(p) * 0.2 + X.T @ X
    cache = HessianCache.build(H, np.zeros(p), np.ones(2), None, 2000)
    for i in range(0, 300, 3):
        cache = cache.update(X[i : i + 3].T, n_removed=3)
    true_min = np.linalg.eigvalsh(np.eye(p) * 0.2 + X[300:].T @ X[300:])[0]
    assert cache.mu < 0.6 * true_min  # the worst-case leverage carry is pessimistic
    again = cache.recertified()
    assert 0.8 * true_min < again.mu <= true_min
    np.testing.assert_array_equal(again.factor, cache.factor)


def test_policy_recertifies_before_recomputing_the_hessian():
    """Before a request's first step: a decayed mu is certified again (cheap); a far move of
    the scores recomputes the Hessian; an intact cache is kept."""
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    problem, theta, cache = clf._problem, clf._theta, clf._cache
    decayed = replace(cache, mu=0.3 * cache.mu)
    out = _maintain(problem, theta, decayed, 0.0, 0.5, None, 0)
    assert out[2:] == (0, 1) and out[1].mu > 0.9 * cache.mu
    out = _maintain(problem, theta, decayed, 2.0, 0.5, None, 0)
    assert out[2:] == (1, 0)
    assert out[1].mu_at_refresh == out[1].mu
    out = _maintain(problem, theta, cache, 0.1, 0.5, None, 0)
    assert out[1] is cache and out[2:] == (0, 0)
    # Before a further step, a step that shrank the gradient a hundredfold keeps the cache.
    out = _maintain(problem, theta, decayed, 2.0, 0.5, 1e-3, 0)
    assert out[2] == 0


def _refined_gap(r, newton, dual, mu, shift, radius, lo, hi):
    """Right side minus left side of the refined inequality (see refined_distance_bound)."""
    x = shift + radius * r
    kappa = max(np.exp(x) / lo - 1, 1 - np.exp(-x) / hi)
    return newton + kappa * dual / np.sqrt(mu) - r


@pytest.mark.parametrize("shift, radius, lo, hi", [(0.0, 5.0, 1.0, 1.0), (0.3, 40.0, 0.8, 1.5)])
def test_refined_bound_is_the_first_root(shift, radius, lo, hi):
    """The fast fixed-point search returns a point just past the first root of the refined
    inequality, which bisection locates independently."""
    rng = np.random.default_rng(14)
    checked = 0
    for _ in range(50):
        newton = 10 ** rng.uniform(-9, -3)
        dual = newton * 10 ** rng.uniform(0, 2)
        mu = 10 ** rng.uniform(-2, 0)
        basic = newton * 10 ** rng.uniform(0.5, 3)
        bound = refined_distance_bound(newton, dual, mu, shift, radius, lo, hi, basic)
        args = (newton, dual, mu, shift, radius, lo, hi)
        if _refined_gap(basic, *args) >= 0:
            assert bound == basic
            continue
        left, right = 0.0, basic
        for _ in range(200):
            mid = 0.5 * (left + right)
            left, right = (mid, right) if _refined_gap(mid, *args) >= 0 else (left, mid)
        assert right <= bound <= right * (1 + 1e-8) and bound <= basic
        checked += 1
    assert checked > 25


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_a_lighter_pass_gives_the_same_gradient(loader):
    """Skipping the objective's value and the intercept-block bound, or taking a block in
    chunks, changes nothing else that a pass computes (to rounding: the softmax's light
    pass is the compiled sweep, its full pass NumPy)."""
    X, y = _data(loader)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    full = evaluate(clf._problem, clf._theta)
    light = evaluate(clf._problem, clf._theta, schur=False, value=False)
    # Within the rounding allowance the certificate adds (the products are grouped otherwise).
    assert np.linalg.norm(light.gradient - full.gradient) <= full.rounding
    assert light.rounding == pytest.approx(full.rounding, rel=1e-10)
    assert light.radius == pytest.approx(full.radius, rel=1e-12)
    assert light.score_shift == pytest.approx(full.score_shift, abs=1e-12)
    assert np.isnan(light.value) and np.isfinite(full.value) and light.mu_schur == 0.0
    obj, block = clf._objective, next(iter(clf._problem.store))
    s = clf._problem.weighting.of(block)
    args = (block.data["X"], block.data["target"], s, clf._theta)
    whole = obj.data_terms(*args, coupling=True)
    original = losses._CHUNK_BYTES
    try:
        losses._CHUNK_BYTES = 64 * 8 * X.shape[1]  # chunks of 64 rows
        chunked = obj.data_terms(*args, coupling=True)
    finally:
        losses._CHUNK_BYTES = original
    # Sums in another order: equal up to rounding relative to the summed terms.
    scale_ = np.abs(block.data["X"]).sum() * s.max()
    np.testing.assert_allclose(chunked.gradient, whole.gradient, rtol=0, atol=1e-13 * scale_)
    for a, b in zip(chunked.coupling, whole.coupling):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * scale_)
    np.testing.assert_array_equal(chunked.scores, whole.scores)
    assert chunked.loss == pytest.approx(whole.loss, rel=1e-13)


# -- certified removal ------------------------------------------------------------------------


def _perturbed_optimum(X, y, template, noise, start):
    """Newton's method on the perturbed objective with scikit-learn's derivatives."""
    theta = start.copy()
    for _ in range(30):
        grad, hess = _sklearn_derivatives(theta, X, y, template, noise=noise)
        theta = theta - np.linalg.solve(hess, grad)
    grad, hess = _sklearn_derivatives(theta, X, y, template, noise=noise)
    return theta, 2.0 * np.linalg.norm(grad) / np.linalg.eigvalsh(hess)[0]


def test_certified_removal_spends_its_budget_and_retrains():
    X, y = _data(load_breast_cancer)
    template = LogisticRegression()
    # One Newton step per request leaves residuals that spend a small budget quickly.
    clf = InfluenceUnlearnLogistic(
        template,
        method="certified",
        noise=0.05,
        epsilon=1.0,
        delta=1e-4,
        max_newton_steps=1,
        tol=0.0,
        random_state=0,
    )
    clf.fit(X, y)
    c = np.sqrt(2 * np.log(1.5 / 1e-4))
    assert clf.removal_budget_ == pytest.approx(0.05 / c)
    assert clf.budget_used_ < 1e-8 and clf.n_trainings_ == 1
    noise = clf._problem.noise
    rng = np.random.default_rng(8)
    used, retrained_at = [clf.budget_used_], None
    for request in range(40):
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, size=3, replace=False))
        report = clf.unlearn_report_
        assert report["budget_used"] <= report["removal_budget"]
        assert report["budget_left"] == pytest.approx(
            report["removal_budget"] - report["budget_used"]
        )
        keep = clf._retained_mask()
        if report["retrained"]:
            retrained_at = request
            assert report["exact"] and clf.n_trainings_ == 2
            assert not np.allclose(clf._problem.noise, noise)  # fresh noise
            assert report["budget_used"] < 1e-8
            break
        # The accumulated budget grows by the residual of each call ...
        assert report["budget_used"] > used[-1]
        used.append(report["budget_used"])
        # ... and the parameters are within the bound of the perturbed retained optimum.
        theta_ref, err_ref = _perturbed_optimum(X[keep], y[keep], template, noise, _params(clf))
        assert np.linalg.norm(_params(clf) - theta_ref) <= report["distance_bound"] + err_ref
    assert retrained_at is not None and retrained_at > 0
    # The retrained model is the perturbed optimum of the retained rows for the new noise.
    theta_ref, err_ref = _perturbed_optimum(
        X[keep], y[keep], template, clf._problem.noise, _params(clf)
    )
    assert np.linalg.norm(_params(clf) - theta_ref) <= clf.distance_bound_ + err_ref


def test_certified_removal_is_reproducible_and_multinomial():
    X, y = _data(load_wine)
    a = InfluenceUnlearnLogistic(method="certified", random_state=3).fit(X, y)
    b = InfluenceUnlearnLogistic(method="certified", random_state=3).fit(X, y)
    np.testing.assert_array_equal(_params(a), _params(b))
    assert abs(a.intercept_.sum()) < 1e-10
    assert a._problem.noise @ a._objective.gauge() == pytest.approx(0.0, abs=1e-12)
    a.unlearn([0, 1])
    assert 0 < a.unlearn_report_["budget_used"] < a.removal_budget_


# -- PUMA -------------------------------------------------------------------------------------


def test_puma_keeps_accuracy_and_moves_forgotten_rows_towards_retraining():
    X, y = _data(load_breast_cancer)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
    clf = InfluenceUnlearnLogistic(method="puma", eta=0.25).fit(
        X_train, y_train, X_val=X_val, y_val=y_val
    )
    full = LogisticRegression().fit(X_train, y_train)
    forget = np.random.default_rng(9).choice(len(y_train), 40, replace=False)
    val_loss_before = log_loss(y_val, clf.predict_proba(X_val))
    clf.unlearn(forget)
    report = clf.unlearn_report_
    keep = clf._retained_mask()
    retrained = LogisticRegression().fit(X_train[keep], y_train[keep])
    # Accuracy kept on held-out rows.
    assert clf.score(X_val, y_val) >= full.score(X_val, y_val) - 0.02
    # The forgotten rows' loss moves from the full model's towards the retrained model's.
    loss = {
        name: log_loss(y_train[forget], m.predict_proba(X_train[forget]), labels=[0, 1])
        for name, m in [("full", full), ("puma", clf), ("retrained", retrained)]
    }
    assert abs(loss["puma"] - loss["retrained"]) < 0.5 * abs(loss["full"] - loss["retrained"])
    # Sparse, bounded reweighting; forgotten rows weigh nothing.
    weights = clf.weights_
    assert np.all(weights[forget] == 0)
    changed = np.flatnonzero(keep & (weights != 1.0))
    assert 0 < changed.size <= 0.1 * keep.sum() and report["rows_reweighted"] == changed.size
    assert np.all((weights >= 0) & (weights <= 2))
    # The criterion (validation loss) is kept far better than by plain removal.
    newton = InfluenceUnlearnLogistic().fit(X_train, y_train).unlearn(forget)
    newton_val = log_loss(y_val, newton.predict_proba(X_val))
    assert abs(report["criterion_after"] - report["criterion_before"]) < 0.1 * abs(
        newton_val - report["criterion_before"]
    )
    assert report["criterion_before"] == pytest.approx(val_loss_before, rel=1e-12)
    assert report["criterion_after"] == pytest.approx(
        log_loss(y_val, clf.predict_proba(X_val)), rel=1e-12
    )
    # Certified: distance to the optimum of the reweighted objective, which scikit-learn
    # finds when given the weights as sample weights.
    theta_ref, err_ref, _ = _reference(
        X_train[keep], y_train[keep], LogisticRegression(), weights[keep]
    )
    assert np.linalg.norm(_params(clf) - theta_ref) <= report["reweighted_distance_bound"] + err_ref


def test_puma_on_training_loss_and_multinomial():
    X, y = _data(load_wine)
    clf = InfluenceUnlearnLogistic(method="puma", eta=0.5).fit(X, y)
    before = clf.score(X, y)
    clf.unlearn(np.arange(0, 30, 2))
    report = clf.unlearn_report_
    assert report["puma_steps"] == 2 and report["compensated"] == pytest.approx(1.0)
    assert clf.score(X, y) >= before - 0.03
    assert abs(clf.intercept_.sum()) < 1e-10
    assert np.isfinite(report["reweighted_distance_bound"])


# -- the certificate without a pass -----------------------------------------------------------


@pytest.mark.parametrize(
    "loader, options, weighted",
    [
        (load_breast_cancer, {}, False),
        (load_breast_cancer, {"class_weight": {0: 2.0, 1: 0.5}}, True),
        (load_wine, {}, False),
        (load_wine, {"C": 0.3}, True),
    ],
)
def test_lazy_certificate_holds_between_passes(loader, options, weighted):
    """With certificate="lazy", most requests pay no pass, every bound still holds against
    retraining, and a pass is paid at least every ``pass_every`` requests."""
    X, y = _data(loader)
    rng = np.random.default_rng(3)
    sw = rng.uniform(0.5, 2.0, len(y)) if weighted else None
    template = LogisticRegression(**options)
    clf = InfluenceUnlearnLogistic(template, certificate="lazy", pass_every=4)
    clf.fit(X, y, sample_weight=sw)
    warm = clone(template).set_params(solver="newton-cholesky", tol=1e-12, warm_start=True)
    paid, since = [], 0
    for k in (1, 1, 3, 1, 8, 1, 1, 2, 1, 1):
        alive = np.flatnonzero(clf._retained_mask())
        clf.unlearn(rng.choice(alive, k, replace=False))
        report = clf.unlearn_report_
        _check_against_retrain(clf, X, y, template, sw, warm)
        since = 0 if report["exact_pass"] else since + 1
        assert since < 4 and report["requests_since_pass"] == since
        assert (report["gradient_passes"] > 0) == report["exact_pass"]
        paid.append(report["exact_pass"])
    assert 0 < sum(paid) < len(paid)


def test_auto_certificate_meets_the_target_and_skips_passes():
    """By default a pass is paid only when the pass-free bound misses ``tol``: the bound
    always meets it, and on a loose target most requests pay nothing."""
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic(tol=1e-3).fit(X, y)
    rng = np.random.default_rng(0)
    paid = []
    for _ in range(12):
        clf.unlearn(rng.choice(np.flatnonzero(clf._retained_mask()), 1))
        report = clf.unlearn_report_
        assert report["distance_bound"] <= 1e-3 * max(1.0, np.linalg.norm(clf._theta))
        paid.append(report["exact_pass"])
        assert report["gradient_norm"] is None or report["exact_pass"]
    _check_against_retrain(clf, X, y, LogisticRegression())
    assert sum(paid) < len(paid) // 2
    exact = InfluenceUnlearnLogistic(certificate="exact").fit(X, y).unlearn([0])
    assert exact.unlearn_report_["exact_pass"]


def test_pipeline_absorbs_the_scaler_change_without_refit():
    """make_pipeline(StandardScaler(), InfluenceUnlearnLogistic()) on raw features: the
    scaler's moved statistics become a certified correction of the final step, and the
    bound holds against retraining the whole pipeline."""
    from skunlearn.pipeline import make_pipeline
    from skunlearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), InfluenceUnlearnLogistic()).fit(X, y)
    rng = np.random.default_rng(1)
    for k in (1, 4, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RefitWarning)
            pipe.unlearn(rng.choice(np.flatnonzero(pipe._retained_mask()), k, replace=False))
        report = pipe.unlearn_report_
        assert report["steps"]["influenceunlearnlogistic"] == "unlearned"
        assert report["steps_refit"] == []
        keep = pipe._retained_mask()
        Xs = scale(X[keep])  # what a retrain of the pipeline's scaler gives
        final = pipe.steps[-1][1]
        theta_ref, err_ref, lr = _reference(Xs, y[keep], LogisticRegression())
        err = np.linalg.norm(_params(final) - theta_ref)
        assert err <= report["distance_bound"] + err_ref
    mean, std = X[keep].mean(axis=0), X[keep].std(axis=0)
    np.testing.assert_allclose(
        pipe.predict_proba(X), lr.predict_proba((X - mean) / std), rtol=0, atol=1e-5
    )


# -- refits, errors, predictions --------------------------------------------------------------


def test_refit_when_a_class_disappears_is_exact():
    X, y = _data(load_wine)
    clf = InfluenceUnlearnLogistic(solver="cholesky").fit(X, y)
    clf.unlearn(np.flatnonzero(y == 0)[:-1])
    assert not clf.unlearn_report_["refit"]
    with pytest.warns(RefitWarning, match="no row of class"):
        clf.unlearn(np.flatnonzero(y == 0)[-1:])
    report = clf.unlearn_report_
    assert report["refit"] and report["exact"] and report["distance_bound"] is None
    assert "class [0]" in report["refit_reason"]
    np.testing.assert_array_equal(clf.classes_, [1, 2])
    keep = y != 0
    ref = LogisticRegression().fit(X[keep], y[keep])
    np.testing.assert_array_equal(_params(clf), _params(ref))
    # It goes on unlearning as a binary model, with its positions unchanged.
    clf.unlearn([int(np.flatnonzero(keep)[0])])
    assert clf.unlearn_report_["distance_bound"] < 1e-5


def test_binary_model_cannot_lose_a_class():
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    with pytest.raises(ValueError, match="two classes"):
        clf.unlearn(np.flatnonzero(y == 0))
    assert clf.unlearned_indices_.size == 0


def test_max_distance_refits_exactly():
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic(max_newton_steps=1, max_distance=1e-12).fit(X, y)
    clf.unlearn(np.arange(20))
    report = clf.unlearn_report_
    assert report["refit"] and "max_distance" in report["refit_reason"]
    assert report["samples_retrained"] == len(y) - 20
    ref = LogisticRegression().fit(X[20:], y[20:])
    np.testing.assert_array_equal(_params(clf), _params(ref))
    assert clf.estimate_unlearn_cost([30])["samples_retrained"] == 0


@pytest.mark.parametrize(
    "estimator, message",
    [
        (LogisticRegression(solver="saga"), "solver='saga'"),
        (LogisticRegression(solver="saga", l1_ratio=1.0), "l1_ratio=1.0"),
        (LogisticRegression(C=np.inf), "C=inf"),
        (SGDClassifier(loss="log_loss"), "LogisticRegression, got SGDClassifier"),
    ],
)
def test_unsupported_configurations_are_rejected(estimator, message):
    X, y = _data(load_breast_cancer)
    with pytest.raises(ValueError, match=message):
        InfluenceUnlearnLogistic(estimator).fit(X, y)


def test_bad_weight_bounds_are_rejected():
    X, y = _data(load_breast_cancer)
    with pytest.raises(ValueError, match="weight_bounds"):
        InfluenceUnlearnLogistic(method="puma", weight_bounds=(0.5, 0.9)).fit(X, y)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_fit_is_the_wrapped_model_and_predictions_agree(loader):
    X, y = _data(loader)
    clf = InfluenceUnlearnLogistic(LogisticRegression(C=0.3)).fit(X, y)
    ref = LogisticRegression(C=0.3).fit(X, y)
    np.testing.assert_allclose(_params(clf), _params(ref), atol=1e-14)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        np.testing.assert_allclose(getattr(clf, method)(X), getattr(ref, method)(X), atol=1e-12)
    assert clf.distance_bound_ > 0  # the solver's own distance to the optimum, certified


def test_report_keys_and_estimated_cost():
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    cost = clf.estimate_unlearn_cost([1, 2])
    newton, refit = cost.pop("newton_flops"), cost.pop("refit_flops")
    assert cost == {
        "n_removed": 2,
        "samples_retrained": 0,
        "refit": False,
        "min_gradient_passes": 0,
        "max_gradient_passes": 5,
        "hessian_refresh": False,
    }
    assert 0 < newton < refit
    report = clf.unlearn([1, 2]).unlearn_report_
    for key in ("newton_steps", "gradient_passes", "hessian_refreshes", "curvature_bound"):
        assert key in report
    assert report["gradient_passes"] == report["newton_steps"]
    assert X[1].tobytes() not in pickle.dumps(clf)


def test_many_parameters_use_conjugate_gradients():
    X, y = make_classification(
        n_samples=120, n_features=700, n_informative=20, n_classes=3, random_state=0
    )
    # Without intercept the objective is 1-strongly convex, so the reference's own error is
    # bounded by its gradient norm, with no (2100, 2100) eigenvalue problem in the test.
    template = LogisticRegression(C=0.1, fit_intercept=False)
    clf = InfluenceUnlearnLogistic(template, solver="cg").fit(X, y)
    assert clf.solver_ == "cg" and clf._cache is None
    clf.unlearn([0, 5])
    report = clf.unlearn_report_
    assert not report["refit"] and np.isfinite(report["distance_bound"])
    assert report["gradient_passes"] > report["newton_steps"]  # Hessian-vector products
    keep = clf._retained_mask()
    lr = clone(template).set_params(tol=1e-10, max_iter=5000).fit(X[keep], y[keep])
    _, t = np.unique(y[keep], return_inverse=True)
    lml = LinearModelLoss(HalfMultinomialLoss(n_classes=3), False)
    scale_ = 0.1 * keep.sum()
    grad = lml.gradient(lr.coef_, X[keep], t.astype(float), np.ones(keep.sum()), 1 / scale_)
    err_ref = np.linalg.norm(grad) * scale_
    assert np.linalg.norm(_params(clf) - _params(lr)) <= report["distance_bound"] + err_ref


# -- a refit when it is cheaper -----------------------------------------------------------


def test_auto_refits_when_cheaper():
    """solver="auto" refits instead of a Newton update when the cost model says a refit is
    cheaper (small data: a heavy request, or a Hessian that needs refreshing at almost
    every request), exactly as scikit-learn would on the retained rows, without a warning;
    estimate_unlearn_cost says so beforehand. On larger data the Newton update is taken."""
    X, y = _data(load_digits)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    forget = np.random.default_rng(8).choice(len(y), 100, replace=False)
    cost = clf.estimate_unlearn_cost(forget)
    # A rank-1000 downdate of a (650, 650) factor costs more than scikit-learn's fit.
    assert cost["refit"] and cost["refit_flops"] < cost["newton_flops"]
    assert cost["samples_retrained"] == len(y) - 100
    with warnings.catch_warnings():
        warnings.simplefilter("error", RefitWarning)
        clf.unlearn(forget)
    report = clf.unlearn_report_
    assert report["refit"] and report["refit_cheaper"] and "cheaper" in report["refit_reason"]
    assert report["samples_retrained"] == len(y) - 100
    assert report["refit_flops"] < report["newton_flops"]
    _check_against_retrain(clf, X, y, LogisticRegression())

    # Small and wide: a downdate often removes most of a direction's curvature.
    X, y = make_classification(80, 300, n_informative=10, random_state=0)
    X = scale(X)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    rng = np.random.default_rng(0)
    refits = 0
    for _ in range(8):
        alive = np.flatnonzero(clf._retained_mask())
        rows = rng.choice(alive, 1)
        predicted = clf.estimate_unlearn_cost(rows)["refit"]
        with warnings.catch_warnings():
            warnings.simplefilter("error", RefitWarning)
            clf.unlearn(rows)
        report = clf.unlearn_report_
        assert report["refit"] or not predicted  # a predicted refit is taken
        refits += report["refit"]
        _check_against_retrain(clf, X, y, LogisticRegression())
    assert refits > 0

    X, y = make_classification(5000, 20, random_state=0)
    X = scale(X)
    clf = InfluenceUnlearnLogistic().fit(X, y)
    cost = clf.estimate_unlearn_cost([7])
    assert not cost["refit"] and cost["newton_flops"] < cost["refit_flops"] / 3
    clf.unlearn([7])
    assert not clf.unlearn_report_["refit"]
    _check_against_retrain(clf, X, y, LogisticRegression())


def test_solver_refit_refits_every_request():
    X, y = _data(load_breast_cancer)
    clf = InfluenceUnlearnLogistic(solver="refit").fit(X, y)
    assert clf.solver_ == "refit" and clf._cache is None
    assert clf.estimate_unlearn_cost([3])["samples_retrained"] == len(y) - 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RefitWarning)
        clf.unlearn([3]).unlearn([4, 5])
    report = clf.unlearn_report_
    assert report["refit"] and report["exact"] and report["distance_bound"] is None
    _check_against_retrain(clf, X, y, LogisticRegression())
