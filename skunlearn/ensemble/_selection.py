"""Representative selection: the greedy log-determinant subset of one class's rows.

The selection is a deterministic function of the class's rows in their order, so a fresh fit on
the retained rows selects exactly what unlearning recomputes (it recomputes the selection and
compares, rather than trusting that it is unchanged).
"""

from __future__ import annotations

import numpy as np

# Stop once the best remaining gain (a conditional variance; the first is 1) is this small:
# the rows left are, numerically, duplicates of selected ones and add nothing.
_GAIN_FLOOR = 1e-10


def greedy_logdet_selection(X: np.ndarray, n_select: int) -> np.ndarray:
    """Select up to ``n_select`` diverse rows by greedy log-determinant maximization.

    The kernel is the RBF kernel ``K_ij = exp(-gamma ||x_i - x_j||^2)``. Each step adds the row
    with the largest gain ``log det K_{S+j} - log det K_S`` (the greedy MAP of a determinantal
    point process), obtained from an incremental Cholesky factor (Chen, Zhang & Zhou, NeurIPS
    2018) in ``O(n_select * n * (n_features + n_select))``; ties go to the earliest row, so the
    first row is selected first. The bandwidth is ``1 / (n_features * mean feature variance)``
    rounded to a power of two: forgetting one row moves the variance slightly and the rounded
    bandwidth almost never, and with the bandwidth fixed, forgetting a row that was not
    selected leaves every greedy choice, hence the selection, unchanged.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows of one class, in their order.
    n_select : int
        Largest number of rows to select.

    Returns
    -------
    selected : ndarray of int
        Sorted indices into ``X`` (all of them when ``n_select >= n_samples``; fewer than
        ``n_select`` when the other rows duplicate selected ones).

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.ensemble._selection import greedy_logdet_selection
    >>> X = np.array([[0.0], [0.1], [5.0], [0.05], [2.5]])
    >>> greedy_logdet_selection(X, 3).tolist()
    [0, 2, 4]
    """
    n, d = X.shape
    if n_select >= n:
        return np.arange(n)
    spread = float(X.var(axis=0).mean())
    gamma = 2.0 ** np.round(np.log2(1.0 / (d * spread))) if spread > 0 else 1.0
    gains = np.ones(n)  # the diagonal of K
    factor = np.empty((n_select, n))
    selected: list[int] = []
    j = 0
    for t in range(n_select):
        if not gains[j] > _GAIN_FLOOR:
            break
        selected.append(j)
        if t == n_select - 1:
            break
        column = np.exp(-gamma * ((X - X[j]) ** 2).sum(axis=1))
        e = (column - factor[:t, j] @ factor[:t]) / np.sqrt(gains[j])
        factor[t] = e
        gains = gains - e * e
        gains[selected] = -np.inf
        j = int(np.argmax(gains))
    return np.sort(np.asarray(selected, dtype=np.intp))
