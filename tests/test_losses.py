"""The logistic objective of skunlearn.linear_model._losses against scikit-learn's own."""

import numpy as np
import pytest
from scipy import sparse
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._linear_loss import LinearModelLoss
from sklearn.preprocessing import scale

from skunlearn.linear_model._losses import LogisticObjective


def _problem(n_classes, fit_intercept, seed=0, n=40, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    t = rng.integers(0, n_classes, n)
    s = rng.uniform(0.2, 3.0, n)
    obj = LogisticObjective(d, n_classes, fit_intercept, C=0.7)
    theta = rng.standard_normal(obj.n_params)
    return obj, X, t, s, theta


def _sklearn_value_gradient(obj, X, t, s, theta):
    """scikit-learn's LinearModelLoss, converted to the sum form and our layout."""
    S = s.sum()
    l2 = 1.0 / (obj.C * S)
    if obj.multinomial:
        lml = LinearModelLoss(HalfMultinomialLoss(n_classes=obj.n_classes), obj.fit_intercept)
        W, b = obj.split(theta)
        coef = np.hstack([W, b[:, None]]) if obj.fit_intercept else W.copy()
        value, grad = lml.loss_gradient(coef, X, t.astype(float), s, l2)
        grad = obj.join(grad[:, : obj.n_features], grad[:, -1] if obj.fit_intercept else None)
    else:
        lml = LinearModelLoss(HalfBinomialLoss(), obj.fit_intercept)
        value, grad = lml.loss_gradient(theta.copy(), X, t.astype(float), s, l2)
    return value * obj.C * S, grad * obj.C * S


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_value_and_gradient_match_scikit_learn(n_classes, fit_intercept):
    obj, X, t, s, theta = _problem(n_classes, fit_intercept)
    value = obj.value(obj.data_loss(X, t, s, theta), theta)
    grad = obj.gradient(obj.data_gradient(X, t, s, theta), theta)
    ref_value, ref_grad = _sklearn_value_gradient(obj, X, t, s, theta)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hessian_products_and_factor(n_classes, fit_intercept):
    obj, X, t, s, theta = _problem(n_classes, fit_intercept, seed=1)
    H = obj.hessian(obj.data_hessian(X, s, theta))
    # Central differences of the exact gradient.
    h = 1e-6
    fd = np.empty_like(H)
    for j in range(obj.n_params):
        e = np.zeros(obj.n_params)
        e[j] = h
        plus = obj.gradient(obj.data_gradient(X, t, s, theta + e), theta + e)
        minus = obj.gradient(obj.data_gradient(X, t, s, theta - e), theta - e)
        fd[:, j] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(H, fd, atol=1e-6 * np.abs(H).max())
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    rng = np.random.default_rng(2)
    v = rng.standard_normal(obj.n_params)
    V = rng.standard_normal((obj.n_params, 3))
    np.testing.assert_allclose(obj.hessp(obj.data_hessp(X, s, theta, v), v), H @ v, atol=1e-10)
    data = obj.data_hessian(X, s, theta)
    np.testing.assert_allclose(obj.data_hessp(X, s, theta, V), data @ V, atol=1e-10)
    U = obj.data_hessian_factor(X, s, theta)
    np.testing.assert_allclose(U @ U.T, data, atol=1e-10)
    np.testing.assert_allclose(obj.data_hessian_diag(X, s, theta), np.diag(data), atol=1e-10)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_coupling_blocks_and_row_terms(n_classes):
    obj, X, t, s, theta = _problem(n_classes, True, seed=3)
    data = obj.data_hessian(X, s, theta)
    terms = obj.data_terms(X, t, s, theta, coupling=True)
    loss, grad, res, curv, (B, M) = terms[:5]
    np.testing.assert_allclose(terms.scores, obj.raw(X, theta))
    np.testing.assert_allclose(B, data[: obj.n_coef, obj.n_coef :], atol=1e-12)
    np.testing.assert_allclose(M, data[obj.n_coef :, obj.n_coef :], atol=1e-12)
    np.testing.assert_allclose(grad, obj.data_gradient(X, t, s, theta), atol=1e-12)
    assert np.isclose(loss, obj.data_loss(X, t, s, theta))
    # curvature bounds each row's loss Hessian in the scores from above.
    for i in range(len(t)):
        Hi = obj.data_hessian(X[i : i + 1], np.ones(1), theta)
        xt = np.append(X[i], 1.0)
        assert np.linalg.eigvalsh(Hi)[-1] <= curv[i] * (xt @ xt) * (1 + 1e-9)
    v = np.random.default_rng(4).standard_normal(obj.n_params)
    dots = obj.row_gradient_dot(X, t, theta, v)
    per_row = [
        obj.data_gradient(X[i : i + 1], t[i : i + 1], np.ones(1), theta) @ v for i in range(5)
    ]
    np.testing.assert_allclose(dots[:5], per_row, atol=1e-12)
    assert res.shape == curv.shape == (len(t),)


def test_gauge_direction_of_the_multinomial_with_intercept():
    obj, X, t, s, theta = _problem(4, True, seed=5)
    e = obj.gauge()
    H = obj.hessian(obj.data_hessian(X, s, theta))
    grad = obj.gradient(obj.data_gradient(X, t, s, theta), theta)
    np.testing.assert_allclose(H @ e, 0.0, atol=1e-12)
    assert abs(grad @ e) < 1e-12
    assert abs(obj.project(theta)[obj.n_coef :].sum()) < 1e-12
    for n_classes, fit_intercept in [(2, True), (4, False)]:
        assert LogisticObjective(3, n_classes, fit_intercept, 1.0).gauge() is None


def test_sparse_rows_give_the_dense_results():
    obj, X, t, s, theta = _problem(3, True, seed=6)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sparse.csr_matrix(X)
    v = np.ones(obj.n_params)
    for method, args in [
        ("data_gradient", (t, s, theta)),
        ("data_hessian", (s, theta)),
        ("data_hessp", (s, theta, v)),
        ("data_hessian_factor", (s, theta)),
        ("data_hessian_diag", (s, theta)),
    ]:
        dense = getattr(obj, method)(X, *args)
        np.testing.assert_allclose(getattr(obj, method)(Xs, *args), dense, atol=1e-12)


@pytest.mark.parametrize(
    "loader, class_weight",
    [(load_breast_cancer, None), (load_breast_cancer, {0: 2.0}), (load_wine, "balanced")],
)
def test_scikit_learn_optimum_is_a_stationary_point(loader, class_weight):
    """Our gradient vanishes at the optimum scikit-learn finds: the same objective."""
    X, y = loader(return_X_y=True)
    X = scale(X)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    lr = LogisticRegression(
        solver="newton-cholesky", tol=1e-12, C=0.3, class_weight=class_weight
    ).fit(X, y, sample_weight=sw)
    classes, t = np.unique(y, return_inverse=True)
    from sklearn.utils.class_weight import compute_class_weight

    cw = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=sw)
    obj = LogisticObjective(X.shape[1], classes.size, True, C=0.3)
    theta = obj.join(lr.coef_, lr.intercept_)
    s = sw * cw[t]
    grad = obj.gradient(obj.data_gradient(X, t, s, theta), theta)
    scale_of_terms = obj.C * s.sum()
    assert np.linalg.norm(grad) < 1e-8 * scale_of_terms
    # ... and not at a perturbed point.
    moved = theta + 1e-3
    assert np.linalg.norm(obj.gradient(obj.data_gradient(X, t, s, moved), moved)) > 1e-4
