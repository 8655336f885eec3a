"""Least-squares solves from the normal equations, with the conditioning they were done at.

The exact linear models never see rows at solve time, only ``A = X^T X (+ alpha I)`` and
``B = X^T Y``. These helpers solve with them and report the condition number of the matrix
actually factored, which decides both whether the normal equations are accurate enough and how
much downdate rounding the statistics can absorb (see ``_exact_stats``).

Cholesky is applied to the Jacobi-scaled matrix ``D^-1/2 A D^-1/2``: the scaling changes
nothing mathematically (and keeps ``w >= 0`` constraints as they are), but it makes the
reported condition number, and the accuracy, independent of the units of the features.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize
from scipy.linalg import lapack

__all__ = ["ScaledCholesky", "nnls_from_gram", "pinv_from_gram", "singular_values_from_gram"]


class ScaledCholesky:
    """Cholesky factor of a symmetric positive definite matrix after Jacobi scaling.

    Parameters
    ----------
    A : ndarray of shape (p, p)
        Symmetric matrix; ``numpy.linalg.LinAlgError`` if it is not positive definite.

    Attributes
    ----------
    kappa : float
        Estimated 1-norm condition number of the scaled matrix (LAPACK ``dpocon``).

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_solvers import ScaledCholesky
    >>> A = np.array([[4.0, 1.0], [1.0, 9.0]])
    >>> chol = ScaledCholesky(A)
    >>> bool(np.allclose(A @ chol.solve(np.array([1.0, 2.0])), [1.0, 2.0]))
    True
    """

    def __init__(self, A):
        diag = np.diagonal(A)
        if not np.all(diag > 0):
            raise np.linalg.LinAlgError("the matrix has a non-positive diagonal entry")
        self.scale = np.sqrt(diag)
        S = A / np.outer(self.scale, self.scale)
        self.factor = linalg.cholesky(S, lower=False, check_finite=False)
        rcond, info = lapack.dpocon(self.factor, np.linalg.norm(S, 1))
        self.kappa = np.inf if info != 0 or rcond == 0 else 1.0 / rcond

    def solve(self, B):
        """``A^-1 B`` for ``B`` of shape (p,) or (p, k)."""
        scale = self.scale if B.ndim == 1 else self.scale[:, None]
        return linalg.cho_solve((self.factor, False), B / scale, check_finite=False) / scale

    def nnls(self, b):
        """``argmin_{w >= 0} 1/2 w^T A w - b^T w`` for ``b`` of shape (p,).

        With ``S = R^T R`` the objective is ``1/2 ||R v - c||^2 + const`` for ``v = D^1/2 w``
        and ``R^T c = D^-1/2 b``; the scaling is positive, so ``w >= 0`` iff ``v >= 0``.
        """
        c = linalg.solve_triangular(self.factor, b / self.scale, trans="T", check_finite=False)
        v, _ = optimize.nnls(self.factor, c)
        return v / self.scale


def nnls_from_gram(A, B, chol: ScaledCholesky | None = None):
    """Non-negative least squares for each column of ``B`` (shape (p, k)): rows of the result.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import nnls
    >>> from skunlearn.linear_model._exact_solvers import nnls_from_gram
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> y = np.array([1.0, -1.0, 0.0])
    >>> nnls_from_gram(X.T @ X, (X.T @ y)[:, None]).round(6).tolist()
    [[0.5, 0.0]]
    >>> nnls(X, y)[0].round(6).tolist()
    [0.5, 0.0]
    """
    chol = ScaledCholesky(A) if chol is None else chol
    return np.vstack([chol.nnls(B[:, j]) for j in range(B.shape[1])])


def singular_values_from_gram(A, cutoff: float):
    """Singular values of ``X`` from ``A = X^T X``, in decreasing order, and the rank of ``X``.

    Singular values at most ``cutoff`` times the largest do not count towards the rank (the
    convention of ``scipy.linalg.lstsq(cond=cutoff)``). Being square roots of eigenvalues, the
    small ones are only accurate to about ``sqrt(eps)`` times the largest.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_solvers import singular_values_from_gram
    >>> X = np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    >>> singular, rank = singular_values_from_gram(X.T @ X, 1e-6)
    >>> singular.tolist(), rank
    ([4.0, 3.0], 2)
    """
    eigval = linalg.eigvalsh(A, check_finite=False)[::-1]
    singular = np.sqrt(np.clip(eigval, 0.0, None))
    top = singular[0] if singular.size else 0.0
    rank = int(np.count_nonzero(singular > cutoff * top)) if top > 0 else 0
    return singular, rank


def pinv_from_gram(A, B, cutoff: float):
    """Minimum-norm least squares from the normal equations, as a truncated SVD of ``X`` does.

    Singular values of ``X`` are ``sqrt(eig(A))``; those at most ``cutoff`` times the largest
    are treated as zero (the convention of ``scipy.linalg.lstsq(cond=cutoff)``).

    Returns
    -------
    coef : ndarray of shape (k, p)
    kappa : float
        Condition number of ``A`` restricted to the kept directions.
    gap : float
        Largest dropped eigenvalue over the largest one (0 when none is dropped): a truncation
        only reproduces lstsq's if the dropped eigenvalues are rounding noise.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._exact_solvers import pinv_from_gram
    >>> X = np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]])  # two identical columns
    >>> coef, _, gap = pinv_from_gram(X.T @ X, (X.T @ [1.0, 2.0, 0.0])[:, None], 1e-6)
    >>> coef.round(6).tolist(), gap < 1e-15
    ([[0.5, 0.5]], True)
    """
    eigval, V = linalg.eigh(A, check_finite=False)
    eigval, V = eigval[::-1], V[:, ::-1]
    singular = np.sqrt(np.clip(eigval, 0.0, None))
    kept = singular > cutoff * singular[0]
    rank = int(kept.sum())
    coef = (V[:, kept] / eigval[kept]) @ (V[:, kept].T @ B)
    kappa = float(eigval[0] / eigval[rank - 1])
    gap = max(float(eigval[rank] / eigval[0]), 0.0) if rank < eigval.size else 0.0
    return coef.T, kappa, gap
