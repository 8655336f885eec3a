"""The shared merge / split of weighted moments, against moments computed from scratch."""

import pickle
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skunlearn.utils._moments import (
    Moments,
    merge_moments,
    moments_of,
    recentred,
    split_moments,
)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_merge_and_split_equal_moments_from_scratch(full, weighted):
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4) * [1.0, 10.0, 0.1, 3.0] + 5.0
    w = rng.rand(80) if weighted else None
    wa, wb = (None, None) if w is None else (w[:30], w[30:])
    total = moments_of(X, w, full=full)
    merged = merge_moments(moments_of(X[:30], wa, full=full), moments_of(X[30:], wb, full=full))
    rest = split_moments(total, moments_of(X[30:], wb, full=full))
    fresh = moments_of(X[:30], wa, full=full)
    for got, want in ((merged, total), (rest, fresh)):
        assert_allclose(got.n, want.n, rtol=1e-14)
        assert_allclose(got.mean, want.mean, rtol=1e-12)
        assert_allclose(got.m2, want.m2, rtol=1e-10, atol=1e-10)


def test_split_of_everything_leaves_zeros():
    X = np.arange(6.0).reshape(3, 2)
    rest = split_moments(moments_of(X), moments_of(X))
    assert rest.n == 0 and not rest.mean.any() and not rest.m2.any()


def test_shift_keeps_the_digits_of_the_spread_under_large_offsets():
    rng = np.random.RandomState(1)
    offset = 1e9
    X = offset + rng.randn(2000, 2)
    exact = X[1000:].astype(np.longdouble).var(axis=0) * 1000
    shift = X[0]
    total = moments_of(X, shift=shift)
    kept = total
    for lo in range(0, 1000, 50):  # twenty successive splits
        kept = split_moments(kept, moments_of(X[lo : lo + 50], shift=shift))
    assert np.all(np.abs(kept.m2 - exact) <= 1e-9 * exact)
    exact_mean = X[1000:].astype(np.longdouble).mean(axis=0)
    assert np.all(np.abs((shift + kept.mean) - exact_mean) <= np.spacing(offset))
    # The same splits without a shift lose digits to the offset.
    plain = moments_of(X)
    for lo in range(0, 1000, 50):
        plain = split_moments(plain, moments_of(X[lo : lo + 50]))
    assert np.max(np.abs(plain.m2 - exact) / exact) > 10 * np.max(np.abs(kept.m2 - exact) / exact)


def test_ignore_nan_counts_each_feature_over_its_values():
    rng = np.random.RandomState(2)
    X = rng.randn(60, 4) + 3
    X[rng.rand(*X.shape) < 0.3] = np.nan
    X[:, 3] = np.nan  # a feature without any value
    w = rng.rand(60)
    n, mean, m2 = moments_of(X, w, ignore_nan=True)
    for j in range(3):
        rows = ~np.isnan(X[:, j])
        nj, mj, m2j = moments_of(X[rows, j : j + 1], w[rows])
        assert_allclose([n[j], mean[j], m2[j]], [nj, mj[0], m2j[0]], rtol=1e-13)
    assert n[3] == 0 and mean[3] == 0 and m2[3] == 0
    # Per-feature counts merge and split feature by feature.
    rest = split_moments(Moments(n, mean, m2), moments_of(X[40:], w[40:], ignore_nan=True))
    fresh = moments_of(X[:40], w[:40], ignore_nan=True)
    assert_allclose(rest.n, fresh.n, rtol=1e-13)
    assert_allclose(rest.mean, fresh.mean, rtol=1e-11, atol=1e-12)
    assert_allclose(rest.m2, fresh.m2, rtol=1e-10, atol=1e-12)


def test_ignore_nan_without_missing_values_is_the_plain_computation():
    X = np.random.RandomState(3).randn(20, 3)
    n, mean, m2 = moments_of(X, ignore_nan=True)
    plain = moments_of(X)
    assert_array_equal(n, np.full(3, plain.n))
    assert_array_equal(mean, plain.mean)
    assert_array_equal(m2, plain.m2)
    with pytest.raises(ValueError, match="full=False"):
        moments_of(X, ignore_nan=True, full=True)


def test_recentred_is_exact_and_forgets_the_old_shift():
    rng = np.random.RandomState(4)
    X = 1e8 + rng.randn(30, 3)
    shift = X[5].copy()
    moments = moments_of(X, shift=shift)
    about_mean, new_shift = recentred(moments, shift)
    for j in range(3):  # head + residual is exactly shift + mean
        exact = Fraction(shift[j]) + Fraction(moments.mean[j])
        assert Fraction(new_shift[j]) + Fraction(about_mean.mean[j]) == exact
    assert np.all(np.abs(about_mean.mean) <= np.spacing(new_shift))
    assert_array_equal(about_mean.m2, moments.m2)
    # Where no weight is left, nothing of the old shift remains.
    empty, zero_shift = recentred(Moments(0.0, moments.mean, moments.m2), shift)
    assert not zero_shift.any() and not empty.mean.any() and not empty.m2.any()
    per_feature = Moments(np.array([2.0, 0.0, 1.0]), moments.mean, moments.m2)
    partial, partial_shift = recentred(per_feature, shift)
    assert partial_shift[1] == 0 and partial.mean[1] == 0 and partial.m2[1] == 0
    assert partial_shift[0] != 0


def test_moments_pickle_as_moments():
    m = moments_of(np.arange(6.0).reshape(3, 2))
    back = pickle.loads(pickle.dumps(m))
    assert isinstance(back, Moments) and back.n == m.n
    assert_array_equal(back.m2, m.m2)
