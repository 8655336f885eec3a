"""The shared merge / split of weighted moments, against moments computed from scratch."""

import pickle
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skunlearn.utils._moments import (
    Moments,
    dd_add,
    dd_div,
    dd_mul,
    dd_sub,
    dd_sums,
    merge_moments,
    moments_of,
    power_sums_of,
    recentred,
    split_moments,
    two_prod,
    two_sum,
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


# -- double-double sums -------------------------------------------------------------------------


def _exact(values) -> Fraction:
    return sum((Fraction(float(v)) for v in values), Fraction(0))


def _pair(hi, lo) -> Fraction:
    return Fraction(float(hi)) + Fraction(float(lo))


def test_two_sum_and_two_prod_are_exact():
    rng = np.random.RandomState(5)
    a = rng.normal(size=50) * 10.0 ** rng.randint(-8, 8, size=50)
    b = rng.normal(size=50) * 10.0 ** rng.randint(-8, 8, size=50)
    s, e = two_sum(a, b)
    p, f = two_prod(a, b)
    for i in range(50):
        assert Fraction(s[i]) + Fraction(e[i]) == Fraction(a[i]) + Fraction(b[i])
        assert Fraction(p[i]) + Fraction(f[i]) == Fraction(a[i]) * Fraction(b[i])


@pytest.mark.parametrize("shape", [(3000,), (3000, 3)])
def test_dd_sums_are_the_exact_sums_correctly_rounded(shape):
    rng = np.random.RandomState(6)
    # Magnitudes from 1e-6 to 1e9 and signs that cancel: float64 sums lose digits here.
    values = rng.normal(size=shape) * 10.0 ** rng.randint(-6, 10, size=shape)
    groups = rng.randint(4, size=shape[0])
    hi, lo, support = dd_sums(values, groups, 4, return_support=True)
    columns = values.reshape(shape[0], -1)
    for g in range(4):
        for j in range(columns.shape[1]):
            exact = _exact(columns[groups == g, j])
            got = (hi[g], lo[g]) if len(shape) == 1 else (hi[g, j], lo[g, j])
            assert float(exact) == got[0]  # hi is the exact sum rounded to float64
            assert abs(_pair(*got) - exact) <= Fraction(2.0**-100) * abs(exact)
    assert support.sum() == values.size
    # Integers take the exact plain path, corrections are added.
    counts = rng.randint(0, 50, size=(40, 2)).astype(float)
    hi, lo = dd_sums(counts)
    assert_array_equal(hi, counts.sum(axis=0))
    assert not lo.any()
    hi, lo = dd_sums(np.array([1.0, 2.0]), corrections=np.array([2.0**-60, 0.0]))
    assert _pair(hi, lo) == Fraction(3) + Fraction(2.0**-60)


def test_dd_arithmetic_keeps_twice_the_digits():
    third = dd_div((np.array(1.0), np.array(0.0)), (np.array(3.0), np.array(0.0)))
    assert abs(_pair(*third) - Fraction(1, 3)) <= Fraction(2.0**-105)
    big = dd_add((np.array(1e20), np.array(0.0)), (np.array(0.1), np.array(0.0)))
    back = dd_sub(big, (np.array(1e20), np.array(0.0)))
    assert _pair(*back) == Fraction(0.1)
    square = dd_mul(third, third)
    assert abs(_pair(*square) - Fraction(1, 9)) <= Fraction(2.0**-104)


def _retained_moments(X, w):
    """Exact weighted count, mean and centred second moment of each column, as fractions."""
    wf = [Fraction(float(v)) for v in w]
    n = sum(wf)
    out = []
    for j in range(X.shape[1]):
        xs = [Fraction(float(v)) for v in X[:, j]]
        mean = sum(a * b for a, b in zip(wf, xs)) / n
        out.append((mean, sum(a * (b - mean) ** 2 for a, b in zip(wf, xs))))
    return n, out


def test_power_sums_split_twenty_times_equal_the_retained_rows_exactly():
    rng = np.random.RandomState(7)
    X = 1e8 + rng.normal(size=(600, 2))
    X[::37] += 1e5  # outliers, removed along the way
    w = rng.uniform(0.5, 2.0, size=600)
    sums = power_sums_of(X, w, shift=X.mean(axis=0)).recentred()
    for lo in range(0, 400, 20):  # twenty successive splits
        part = power_sums_of(X[lo : lo + 20], w[lo : lo + 20], shift=sums.shift)
        sums = sums.minus(part).recentred()
    n, columns = _retained_moments(X[400:], w[400:])
    moments = sums.moments()
    assert sums.count[0] == 200 and abs(_pair(sums.n[0][0], sums.n[1][0]) - n) <= n * 2.0**-100
    for j, (mean, m2) in enumerate(columns):
        assert sums.shift[0, j] == float(mean)  # the shift is the retained mean, rounded
        s2 = _pair(sums.s2[0][0, j], sums.s2[1][0, j])
        assert abs(s2 - (m2 + _pair(sums.s1[0][0, j], sums.s1[1][0, j]) ** 2 / n)) <= m2 * 1e-25
        assert abs(moments.m2[0, j] - float(m2)) <= 1e-15 * float(m2)


def test_power_sums_do_not_depend_on_the_rows_removed():
    rng = np.random.RandomState(8)
    X = 1e6 + rng.normal(size=(300, 3))
    groups = rng.randint(3, size=300)
    removed = X.copy()
    removed[:30] = 1e9 * rng.uniform(1, 2, size=(30, 3))  # huge rows, later removed
    # What the removed rows added to the second moments: their only trace is eps**2 of it.
    magnitude = Fraction(float(np.sum(removed[:30] ** 2)))
    states = []
    for data in (X, removed):
        start = power_sums_of(data, shift=np.zeros(3), groups=groups, n_groups=3).recentred()
        part = power_sums_of(data[:30], shift=start.shift, groups=groups[:30], n_groups=3)
        states.append(start.minus(part).recentred())
    (a, b), fresh = states, power_sums_of(X[30:], shift=np.zeros(3), groups=groups[30:], n_groups=3)
    fresh = fresh.recentred()
    for got in (a, b):
        assert_array_equal(got.shift, fresh.shift)
        assert_array_equal(got.count, fresh.count)
        for k in (2, 3, 4):  # n, s1, s2: the pairs agree far beyond float64
            exact = [_pair(*hl) for hl in zip(fresh[k][0].ravel(), fresh[k][1].ravel())]
            mine = [_pair(*hl) for hl in zip(got[k][0].ravel(), got[k][1].ravel())]
            for e, m in zip(exact, mine):
                assert abs(e - m) <= Fraction(2.0**-100) * magnitude


def test_power_sums_of_empty_groups_are_exactly_zero():
    X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]])
    sums = power_sums_of(X, shift=np.zeros(2), groups=np.array([0, 0, 1]), n_groups=3).recentred()
    emptied = sums.minus(power_sums_of(X[2:], shift=sums.shift, groups=np.array([1]), n_groups=3))
    for k in (2, 3, 4):
        assert not emptied[k][0][1:].any() and not emptied[k][1][1:].any()
    assert not emptied.recentred().shift[1:].any()
    moments = emptied.recentred().moments()
    assert moments.n.tolist() == [2.0, 0.0, 0.0]
    assert_allclose(moments.mean[0], [2.0, 3.5])
    assert moments.m2[0].tolist() == [2.0, 4.5]
