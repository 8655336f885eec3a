"""Sparse input and sample weights for the estimators whose scikit-learn counterparts take them.

Every test compares against the dense path and against a fresh fit on the retained rows:
- exact linear models (Ridge, LinearRegression) on CSR / CSC / COO matrices and sparse arrays,
  and Ridge's ``solver`` values against scikit-learn's own rules;
- the class-partitioned ensemble around class models that take sparse rows, and its
  ``sample_weight``;
- the variational logistic model (sparse rows are densified) and the sparse GP (dense only).
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sklm
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import SGDOneClassSVM
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils import get_tags

from skunlearn.bayes import SparseGPClassifier, VariationalUnlearnLogistic
from skunlearn.ensemble import ClassPartitionedClassifier
from skunlearn.linear_model import BayesianRidge, LinearRegression, Ridge, _exact_stats
from skunlearn.linear_model._exact_stats import LinearMoments, store_rows
from skunlearn.utils.estimator_checks import _numeric_leaves

SPARSE_CONTAINERS = [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array]
FORGET = np.array([0, 3, 17, 40, 41, 99])


def _sparse_regression(n=160, p=7, density=0.3, seed=0):
    rng = np.random.RandomState(seed)
    X = sp.random(n, p, density=density, random_state=rng, format="csr")
    X.data = rng.randn(X.nnz) + 3.0  # distinct values far from zero, found by the byte scan
    coef = rng.randn(p)
    y = X @ coef + 0.1 * rng.randn(n) + 2.0
    return X, y


def _retained(n, forget=FORGET):
    return np.setdiff1d(np.arange(n), forget)


def _row_bytes(X, i):
    """The bytes a stored copy of sparse row ``i`` would contain: its non-zero values."""
    row = sp.csr_matrix(X)[[i]].toarray()[0]
    return row[row != 0].tobytes()


def _assert_rows_purged(model, X, forget):
    blob = pickle.dumps(model)
    scanned = [i for i in forget if _row_bytes(X, i)]  # an empty row has nothing to find
    assert len(scanned) >= len(forget) // 2
    for i in scanned:
        assert _row_bytes(X, i) not in blob, f"forgotten row {i} is in the pickle"
    kept = next(i for i in range(X.shape[0]) if i not in forget and _row_bytes(X, i))
    return kept


def _assert_state_forgets_values(make, X, y, forget):
    """Two fits on data differing only in the forgotten rows end with equal state."""
    X_other = sp.lil_matrix(X)
    donors = _retained(X.shape[0], forget)[: forget.size]
    X_other[forget] = X[donors]
    y_other = np.array(y, copy=True)
    if y_other.dtype.kind == "f":
        y_other[forget] = y_other[donors]
    a = make().fit(X, y).unlearn(forget)
    b = make().fit(sp.csr_matrix(X_other), y_other).unlearn(forget)
    leaves_a, leaves_b = dict(_numeric_leaves(a)), dict(_numeric_leaves(b))
    assert leaves_a.keys() == leaves_b.keys()
    for path, value in leaves_a.items():
        np.testing.assert_allclose(value, leaves_b[path], rtol=1e-6, atol=1e-8, err_msg=path)


# -- exact linear models ---------------------------------------------------------------------

_LINEAR = {
    "ridge": (Ridge, dict(alpha=0.5)),
    "ridge-no-intercept": (Ridge, dict(alpha=0.5, fit_intercept=False)),
    "ridge-positive": (Ridge, dict(alpha=0.5, positive=True)),
    "ridge-lsqr": (Ridge, dict(alpha=0.5, solver="lsqr")),
    "ridge-cholesky-no-intercept": (Ridge, dict(solver="cholesky", fit_intercept=False)),
    "ols": (LinearRegression, dict()),
    "ols-no-intercept": (LinearRegression, dict(fit_intercept=False)),
}


def _sklearn_direct(model):
    """scikit-learn's estimator with a direct (non-iterative) solve, for dense rows."""
    params = model.get_params()
    if isinstance(model, Ridge):
        params["solver"] = "cholesky"
    return getattr(sklm, type(model).__name__)(**params)


@pytest.mark.parametrize("container", SPARSE_CONTAINERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", _LINEAR)
def test_linear_sparse_fit_equals_dense_fit(name, container):
    cls, params = _LINEAR[name]
    X, y = _sparse_regression()
    sparse_model = cls(**params).fit(container(X), y)
    dense_model = cls(**params).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse_model.coef_, dense_model.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse_model.intercept_, dense_model.intercept_, rtol=1e-10)
    np.testing.assert_allclose(
        sparse_model.predict(container(X)), dense_model.predict(X.toarray()), rtol=1e-10
    )


@pytest.mark.parametrize("name", _LINEAR)
def test_linear_sparse_unlearn_equals_refit_on_retained_rows(name):
    cls, params = _LINEAR[name]
    X, y = _sparse_regression()
    rng = np.random.RandomState(1)
    w = rng.uniform(0.5, 2.0, size=y.size)
    keep = _retained(y.size)
    model = cls(**params).fit(X, y, sample_weight=w).unlearn(FORGET)
    assert model.unlearn_report_["exact"]
    # Against our own fit and scikit-learn's direct solve on the retained (dense) rows.
    fresh = cls(**params).fit(X[keep], y[keep], sample_weight=w[keep])
    others = [fresh]
    if not model.positive:  # scikit-learn has no direct solver for positive ridge
        dense = X[keep].toarray()
        others.append(_sklearn_direct(model).fit(dense, y[keep], sample_weight=w[keep]))
    for other in others:
        np.testing.assert_allclose(model.coef_, other.coef_, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(model.intercept_, other.intercept_, rtol=1e-9, atol=1e-11)
    _assert_rows_purged(model, X, FORGET)


@pytest.mark.parametrize("cls", [Ridge, LinearRegression])
def test_linear_sparse_state_forgets_values(cls):
    X, y = _sparse_regression()
    _assert_state_forgets_values(cls, X, y, FORGET)


def test_linear_sparse_multi_target_and_float32():
    X, y = _sparse_regression()
    Y = np.column_stack([y, -2 * y + 1])
    model = Ridge(alpha=0.1).fit(X.astype(np.float32), Y).unlearn(FORGET)
    keep = _retained(y.size)
    reference = sklm.Ridge(alpha=0.1).fit(X[keep].toarray().astype(np.float32), Y[keep])
    assert model.coef_.dtype == reference.coef_.dtype == np.float32
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4, atol=1e-6)
    assert model.coef_.shape == reference.coef_.shape


def test_linear_sparse_moments_are_those_of_the_dense_rows(monkeypatch):
    # Chunks of sparse rows are densified a few rows at a time: force many small pieces.
    monkeypatch.setattr(_exact_stats, "_CHUNK_BYTES", 8 * 8 * 5)
    X, y = _sparse_regression(n=90)
    Y = y[:, None]
    sparse_stats = LinearMoments.from_store(store_rows(X, Y, None, block_bytes=512), 7)
    dense_stats = LinearMoments.from_store(store_rows(X.toarray(), Y, None), 7)
    for fit_intercept in (True, False):
        for a, b in zip(sparse_stats.gram(fit_intercept), dense_stats.gram(fit_intercept)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_linear_sparse_recompute_and_fallback_paths():
    X, y = _sparse_regression()
    # Forget the rows that carry almost all of a column's variance: the downdate's rounding
    # bound then exceeds the budget and the statistics are recomputed from the sparse rows.
    X = sp.lil_matrix(X)
    X[:, 0] = 0.0
    X[:3, 0] = np.array([[1e7], [-1e7], [3e6]])
    X = sp.csr_matrix(X)
    model = LinearRegression().fit(X, y).unlearn([0, 1, 2])
    assert model.unlearn_report_["statistics"] == "recomputed from the retained rows"
    keep = _retained(y.size, [0, 1, 2])
    reference = sklm.LinearRegression().fit(X[keep].toarray(), y[keep])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8, atol=1e-10)
    # alpha=0 with a column of zeros: X^T X is singular and scikit-learn's own fit on the
    # retained (sparse) rows is used, as the report says.
    X_zero = sp.csr_matrix(X.toarray() * (np.arange(7) != 0))
    ridge = Ridge(alpha=0.0, solver="lsqr").fit(X_zero, y).unlearn(FORGET)
    assert ridge.unlearn_report_["solved_from"].startswith("rows")
    keep = _retained(y.size)
    reference = sklm.Ridge(alpha=0.0, solver="lsqr").fit(X_zero[keep], y[keep])
    np.testing.assert_array_equal(ridge.coef_, reference.coef_)


_SOLVERS = ["auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs"]


def _outcome(estimator, X, y):
    try:
        estimator.fit(X, y)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", _SOLVERS)
@pytest.mark.parametrize("is_sparse", [False, True], ids=["dense", "sparse"])
def test_ridge_solver_is_accepted_and_refused_as_by_scikit_learn(
    solver, fit_intercept, positive, is_sparse
):
    X, y = _sparse_regression()
    X = X if is_sparse else X.toarray()
    params = dict(solver=solver, fit_intercept=fit_intercept, positive=positive)
    ours = Ridge(**params)
    theirs = sklm.Ridge(**params, tol=1e-12, max_iter=100_000, random_state=0)
    # The same tags, so scikit-learn's checks exercise the same paths.
    assert get_tags(ours).input_tags.sparse == get_tags(theirs).input_tags.sparse
    expected = _outcome(theirs, X, y)
    got = _outcome(ours, X, y)
    if expected is not None:
        assert got is not None and got[0] is expected[0], (got, expected)
        assert got[1] == expected[1]
        return
    assert got is None, got
    # Every solver gives the exact minimiser; scikit-learn's iterative ones approximate it
    # (here with a tight tol), its direct ones reach it to rounding.
    assert ours.solver_ == ("nnls" if positive else "cholesky")
    iterative = theirs.solver_ not in ("cholesky", "svd")
    rtol = 1e-4 if iterative else 1e-9
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=rtol, atol=rtol)


def test_linear_sparse_refused_where_scikit_learn_refuses():
    X, y = _sparse_regression()
    for model in (LinearRegression(positive=True), BayesianRidge()):
        assert not get_tags(model).input_tags.sparse
        with pytest.raises(TypeError, match="Sparse data was passed"):
            model.fit(X, y)
    for model in (Ridge(), Ridge(solver="sag"), LinearRegression()):
        assert get_tags(model).input_tags.sparse


# -- class-partitioned ensemble --------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs_sparse():
    # Three classes, no value shared by two rows (the byte scan looks for them); about a
    # third of the values are zeros.
    X, y = make_classification(
        n_samples=150,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=0,
    )
    X[np.abs(X) < 0.5] = 0.0
    return sp.csr_matrix(X), y


_SPARSE_CLASS_MODELS = {
    "one-class-svm": dict(estimator=OneClassSVM(gamma="scale")),
    "one-class-svm-selection": dict(estimator=OneClassSVM(gamma="scale"), selection=20),
    "isolation-forest": dict(estimator=IsolationForest(n_estimators=10)),
    "sgd-partial-fit-blocks": dict(estimator=SGDOneClassSVM(nu=0.2), n_blocks=3),
}


def _assert_same_predictions(a, b, X_a, X_b=None, atol=1e-12):
    X_b = X_a if X_b is None else X_b
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_array_equal(a.predict(X_a), b.predict(X_b))
    np.testing.assert_allclose(a.predict_proba(X_a), b.predict_proba(X_b), rtol=0, atol=atol)


@pytest.mark.parametrize("name", _SPARSE_CLASS_MODELS)
def test_class_partitioned_sparse_unlearn_equals_refit(name, blobs_sparse):
    X, y = blobs_sparse
    params = _SPARSE_CLASS_MODELS[name]
    model = ClassPartitionedClassifier(**params, random_state=0).fit(X, y)
    assert get_tags(model).input_tags.sparse
    forget = np.array([0, 7, 60, 61, 130])
    model.unlearn(forget)
    keep = _retained(y.size, forget)
    fresh = ClassPartitionedClassifier(**params, random_state=0).fit(X[keep], y[keep])
    for blocks, fresh_blocks in zip(model.block_indices_, fresh.block_indices_, strict=True):
        for b, fb in zip(blocks, fresh_blocks, strict=True):
            np.testing.assert_array_equal(b, keep[fb])
    _assert_same_predictions(model, fresh, X)
    _assert_rows_purged(model, X, forget)


@pytest.mark.parametrize("name", ["one-class-svm", "one-class-svm-selection", "isolation-forest"])
def test_class_partitioned_sparse_equals_dense(name, blobs_sparse):
    # For class models whose own sparse and dense paths agree (SGD's do not: scikit-learn
    # decays the intercept differently on sparse rows), so does the ensemble: the blocks come
    # from the dense values of the rows, whatever their format.
    X, y = blobs_sparse
    params = _SPARSE_CLASS_MODELS[name]
    a = ClassPartitionedClassifier(**params, random_state=0).fit(X, y)
    b = ClassPartitionedClassifier(**params, random_state=0).fit(X.toarray(), y)
    _assert_same_predictions(a, b, X, X.toarray(), atol=1e-9)
    for blocks_a, blocks_b in zip(a.block_indices_, b.block_indices_, strict=True):
        for block_a, block_b in zip(blocks_a, blocks_b, strict=True):
            np.testing.assert_array_equal(block_a, block_b)
    serving = a.serving_copy()
    np.testing.assert_array_equal(serving.predict_proba(X), a.predict_proba(X))


def test_class_partitioned_sparse_blocks_follow_dense_row_keys(blobs_sparse):
    X, y = blobs_sparse
    params = dict(estimator=SGDOneClassSVM(nu=0.2), n_blocks=3, random_state=0)
    a = ClassPartitionedClassifier(**params).fit(X, y)
    b = ClassPartitionedClassifier(**params).fit(X.toarray(), y)
    for blocks_a, blocks_b in zip(a.block_indices_, b.block_indices_, strict=True):
        for block_a, block_b in zip(blocks_a, blocks_b, strict=True):
            np.testing.assert_array_equal(block_a, block_b)


def test_class_partitioned_refuses_sparse_for_dense_class_models(blobs_sparse):
    X, y = blobs_sparse
    for estimator in (None, KernelDensity()):
        model = ClassPartitionedClassifier(estimator, random_state=0)
        assert not get_tags(model).input_tags.sparse
        with pytest.raises(TypeError, match=r"Sparse data .* requires dense data"):
            model.fit(X, y)
    fitted = ClassPartitionedClassifier(random_state=0).fit(X.toarray(), y)
    with pytest.raises(TypeError, match="Sparse data"):
        fitted.predict(X)


_WEIGHTED_CLASS_MODELS = {
    "kernel-density": dict(estimator=KernelDensity(bandwidth=0.5)),
    "one-class-svm": dict(estimator=OneClassSVM(gamma="scale")),
    # (Its subsamples are drawn in proportion to the weights: fewer than the rows of positive
    # weight.)
    "isolation-forest": dict(estimator=IsolationForest(n_estimators=10, max_samples=16)),
    "sgd-partial-fit-blocks": dict(estimator=SGDOneClassSVM(nu=0.2), n_blocks=3),
    "kernel-density-selection": dict(estimator=KernelDensity(bandwidth=0.5), selection=15),
}


def _weights(n, seed=0):
    # Distinctive values (found by the byte scan), some zeros.
    w = np.random.RandomState(seed).uniform(0.3, 3.0, size=n) + 1e-9 * np.arange(n)
    w[::11] = 0.0
    return w


@pytest.mark.parametrize(
    "name, is_sparse",
    [
        (name, is_sparse)
        for name, params in _WEIGHTED_CLASS_MODELS.items()
        # KernelDensity takes dense rows only.
        for is_sparse in (
            [False] if isinstance(params["estimator"], KernelDensity) else [False, True]
        )
    ],
)
def test_class_partitioned_sample_weight_unlearn_equals_refit(name, is_sparse, blobs_sparse):
    X, y = blobs_sparse
    params = _WEIGHTED_CLASS_MODELS[name]
    X = X if is_sparse else X.toarray()
    w = _weights(y.size)
    model = ClassPartitionedClassifier(**params, random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(np.exp(model.class_log_prior_), np.bincount(y, w) / w.sum())
    forget = np.array([1, 5, 50, 51, 52, 149])
    model.unlearn(forget)
    keep = _retained(y.size, forget)
    fresh = ClassPartitionedClassifier(**params, random_state=0).fit(
        X[keep], y[keep], sample_weight=w[keep]
    )
    np.testing.assert_array_equal(model.class_log_prior_, fresh.class_log_prior_)
    np.testing.assert_allclose(model.score_offset_, fresh.score_offset_, rtol=1e-12)
    np.testing.assert_allclose(model.score_scale_, fresh.score_scale_, rtol=1e-12)
    _assert_same_predictions(model, fresh, X)
    # The weights of the forgotten rows leave the model with them.
    blob = pickle.dumps(model)
    for i in forget:
        if w[i] > 0:
            assert w[i].tobytes() not in blob, f"the weight of forgotten row {i} is kept"
    assert w[keep[keep % 11 != 0][0]].tobytes() in blob  # (the scan would find a kept one)


def test_class_partitioned_sample_weight_changes_the_model_and_equals_repetition():
    X, y = load_iris(return_X_y=True)
    w = np.ones(y.size)
    w[[10, 70, 120]] = 3.0
    params = dict(estimator=KernelDensity(bandwidth=0.5), random_state=0)
    weighted = ClassPartitionedClassifier(**params).fit(X, y, sample_weight=w)
    repeated_rows = np.repeat(np.arange(y.size), w.astype(int))
    repeated = ClassPartitionedClassifier(**params).fit(X[repeated_rows], y[repeated_rows])
    unweighted = ClassPartitionedClassifier(**params).fit(X, y)
    _assert_same_predictions(weighted, repeated, X, atol=1e-9)
    assert not np.allclose(weighted.predict_proba(X), unweighted.predict_proba(X))
    # Ones are no weights at all.
    ones = ClassPartitionedClassifier(**params).fit(X, y, sample_weight=np.ones(y.size))
    _assert_same_predictions(ones, unweighted, X, atol=1e-12)


def test_class_partitioned_sample_weight_errors_and_atomicity():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="GaussianMixture does not accept sample_weight"):
        ClassPartitionedClassifier(random_state=0).fit(X, y, sample_weight=np.ones(y.size))
    w = np.ones(y.size)
    w[y == 2] = 0.0
    kde = ClassPartitionedClassifier(KernelDensity(), random_state=0)
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] all have zero sample weight"):
        kde.fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="Negative values"):
        kde.fit(X, y, sample_weight=-w)
    # A request that would leave a class with zero-weight rows only changes nothing.
    w = np.ones(y.size)
    w[100:149] = 0.0
    model = kde.fit(X, y, sample_weight=w)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="class 2 with rows of zero sample weight only"):
        model.unlearn([3, 149])
    assert pickle.dumps(model) == before
    model.unlearn(np.arange(100, 150))  # the whole class: it leaves
    np.testing.assert_array_equal(model.classes_, [0, 1])


# -- Bayesian models -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer_sparse():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X[np.abs(X) < 0.7] = 0.0  # about half the values
    return sp.csr_matrix(X), y


@pytest.mark.parametrize("container", SPARSE_CONTAINERS, ids=lambda c: c.__name__)
def test_variational_sparse_equals_dense_and_refit(container, cancer_sparse):
    X, y = cancer_sparse
    forget = np.arange(0, 60, 3)
    params = dict(random_state=0, refine_steps=3)
    sparse_model = VariationalUnlearnLogistic(**params).fit(container(X), y)
    dense_model = VariationalUnlearnLogistic(**params).fit(X.toarray(), y)
    assert get_tags(sparse_model).input_tags.sparse
    # Sparse rows are densified: the same computation, bit for bit.
    np.testing.assert_array_equal(sparse_model.posterior_mean_, dense_model.posterior_mean_)
    sparse_model.unlearn(forget)
    dense_model.unlearn(forget)
    np.testing.assert_array_equal(sparse_model.posterior_mean_, dense_model.posterior_mean_)
    np.testing.assert_array_equal(
        sparse_model.predict_proba(container(X)), dense_model.predict_proba(X.toarray())
    )
    # Approximate: within the certified bounds of a refit on the retained rows.
    keep = _retained(y.size, forget)
    refit = VariationalUnlearnLogistic(**params).fit(X[keep], y[keep])
    gap = np.linalg.norm(sparse_model.posterior_mean_ - refit.posterior_mean_)
    assert gap <= sparse_model.unlearn_report_["distance_bound"] + refit.optimality_bound_
    _assert_rows_purged(sparse_model, X, forget)


def test_variational_sparse_rows_given_to_unlearn(cancer_sparse):
    X, y = cancer_sparse
    forget = np.array([4, 9, 200])
    stored = VariationalUnlearnLogistic(random_state=0).fit(X, y).unlearn(forget)
    given = VariationalUnlearnLogistic(random_state=0, store_data=False, refine_steps=0)
    given.fit(X, y).unlearn(forget, X_forget=X[forget], y_forget=y[forget])
    dense = VariationalUnlearnLogistic(random_state=0, store_data=False, refine_steps=0)
    dense.fit(X.toarray(), y).unlearn(forget, X_forget=X[forget].toarray(), y_forget=y[forget])
    np.testing.assert_array_equal(given.posterior_mean_, dense.posterior_mean_)
    assert np.linalg.norm(given.posterior_mean_ - stored.posterior_mean_) < 1e-2


def test_sparse_gp_refuses_sparse_input(cancer_sparse):
    X, y = cancer_sparse
    model = SparseGPClassifier(inducing_points=5)
    assert not get_tags(model).input_tags.sparse
    with pytest.raises(TypeError, match="Sparse data was passed for X, but SparseGPClassifier"):
        model.fit(X, y)
    fitted = clone(model).fit(X[:, :4].toarray(), y)
    with pytest.raises(TypeError, match="requires dense data"):
        fitted.predict(X[:, :4])
