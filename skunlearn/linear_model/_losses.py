"""scikit-learn's L2-regularized logistic objective: losses, gradients, Hessians, products.

This is the one place where the objective minimized by :class:`~sklearn.linear_model.
LogisticRegression` (solvers lbfgs, newton-cg and newton-cholesky, L2 penalty) is written down.
Everything that unlearns a logistic model (Newton steps, certificates, certified removal, PUMA)
evaluates it through :class:`LogisticObjective`.

scikit-learn minimizes ``1/S sum_i s_i l_i + 1/(2 C S) ||W||^2`` (``S = sum_i s_i``). We use the
same objective multiplied by ``C S``, the *sum form* of Guo et al.::

    F(theta) = C * sum_i s_i l_i(theta) + 1/2 ||W||^2

which has the same minimizer; in it the penalty has unit curvature and does not depend on how
many rows are left, so removing rows only removes terms. ``s_i`` is the sample weight times the
class weight; the intercept is not penalized.

- Binary (two classes): ``l_i = log(1 + exp(z_i)) - t_i z_i`` with ``z_i = x_i . w + b`` and
  ``t_i = 1`` for ``classes_[1]``.
- Multiclass: the full K-way softmax with no reference class,
  ``l_i = logsumexp(z_i) - z_{i, t_i}`` with ``z_{ik} = x_i . w_k + b_k``. With an intercept the
  objective is flat along "every intercept shifted by the same amount": the Hessian is singular
  along ``e = (0_W; 1_K / sqrt(K))`` and scikit-learn reports the centred representative
  (intercepts summing to zero). :meth:`LogisticObjective.gauge` returns ``e``.

Parameters are handled as one flat vector in the layout of
``np.concatenate([coef_.ravel(), intercept_.ravel()])`` (the intercept part is absent without
an intercept). Data-dependent methods take one block of rows ``(X, t, s)``: features (dense or
CSR), class codes (positions in ``classes_``) and the rows' weights; they return the *data part*
``sum_i s_i (...)`` without the factor ``C`` and without the penalty, so that blocks can be
summed; :meth:`LogisticObjective.gradient` and :meth:`LogisticObjective.hessian` add both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.linalg import blas
from scipy.special import expit, logsumexp, softmax

__all__ = ["BlockTerms", "LogisticObjective"]


# A pass over a dense block of rows takes it in chunks of about this size: small enough to stay
# in cache between the product that gives the scores and the one that gives the gradient.
_CHUNK_BYTES = 2**20

# The ndarray checks come first: these helpers run on every block of every pass, and
# ``sparse.issparse`` is an abstract-class check that costs more than a small product.


def _dot(X, A):
    """``X @ A`` for dense or sparse ``X``, as a dense array."""
    out = X @ A
    return out if isinstance(out, np.ndarray) else np.asarray(out.todense())


def _tdot(X, A):
    """``X.T @ A`` for dense or sparse ``X``, as a dense array."""
    out = X.T @ A
    return out if isinstance(out, np.ndarray) else np.asarray(out.todense())


def _vecmat(Q, X):
    """``Q @ X`` (dense result) for ``Q`` of shape ``(m, n)`` or ``(n,)``, dense or sparse ``X``.

    For a dense C-ordered ``X`` this streams its rows once (``X.T @ Q`` with a tall ``Q``
    makes BLAS read the transpose, several times slower on large blocks).
    """
    if isinstance(X, np.ndarray):
        return Q @ X
    return _tdot(X, Q.T).T


def _gram(A):
    """``A.T @ A`` for a dense ``A``, by a symmetric rank-k update (half the flops of a product)."""
    # A.T is Fortran-ordered when A is C-ordered: BLAS reads it without a copy.
    lower = blas.dsyrk(1.0, np.asarray(A, dtype=np.float64).T, lower=1)
    return lower + np.tril(lower, -1).T


def _weighted_gram(X, w):
    """``X.T @ diag(w) @ X`` (dense result) for dense or sparse ``X``."""
    if isinstance(X, np.ndarray):
        if np.all(w >= 0):
            return _gram(X * np.sqrt(w)[:, None])
        return X.T @ (X * w[:, None])
    return _tdot(X, sparse.csr_array(X.multiply(w[:, None])))


class BlockTerms(NamedTuple):
    """What one pass over a block of rows gives (:meth:`LogisticObjective.data_terms`)."""

    #: ``sum_i s_i l_i``.
    loss: float
    #: ``sum_i s_i grad l_i``, shape ``(p,)``.
    gradient: np.ndarray
    #: ``||dl_i/dz||`` of each row, shape ``(n,)``.
    residual_norms: np.ndarray
    #: Upper bound on the largest eigenvalue of each row's loss Hessian in ``z``.
    curvature: np.ndarray
    #: With ``coupling`` and an intercept, the blocks of ``sum_i s_i hess l_i`` between the
    #: coefficients and the intercepts (``B``, ``(n_coef, n_outputs)``) and between
    #: intercepts (``M``, ``(n_outputs, n_outputs)``); else None.
    coupling: tuple | None
    #: The scores ``z``, shape ``(n, n_outputs)``.
    scores: np.ndarray


@dataclass(frozen=True)
class LogisticObjective:
    """The sum-form L2 logistic objective of scikit-learn, for one model shape.

    Parameters
    ----------
    n_features : int
        Number of features ``d``.
    n_classes : int
        Number of classes ``K >= 2``; two classes use the sigmoid.
    fit_intercept : bool
        Whether the model has an (unpenalized) intercept.
    C : float
        Inverse regularization strength, as in scikit-learn.
    penalty : ndarray of shape (n_features,), default=None
        Per-feature weights ``pi_j`` of the penalty ``1/2 sum_j pi_j ||W_:j||^2`` (None: all
        1, scikit-learn's). A model fitted on features ``x`` that are now served as
        ``x * a + c`` (a scaler's statistics moved) is the same model with ``pi = 1 / a^2``
        in the old coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._losses import LogisticObjective
    >>> obj = LogisticObjective(n_features=2, n_classes=2, fit_intercept=True, C=1.0)
    >>> X, t, s = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]), np.ones(2)
    >>> theta = np.zeros(obj.n_params)
    >>> round(float(obj.value(obj.data_loss(X, t, s, theta), theta)), 6)  # 2 log 2
    1.386294
    >>> obj.gradient(obj.data_gradient(X, t, s, theta), theta)
    array([ 0.5, -0.5,  0. ])
    """

    n_features: int
    n_classes: int
    fit_intercept: bool
    C: float
    penalty: np.ndarray | None = field(default=None, compare=False)

    # -- shape and layout ------------------------------------------------------------------

    @property
    def multinomial(self) -> bool:
        """True for three or more classes (softmax), False for the binary sigmoid."""
        return self.n_classes > 2

    @property
    def n_outputs(self) -> int:
        """Number of linear scores per row: 1 (binary) or ``K``."""
        return self.n_classes if self.multinomial else 1

    @property
    def n_coef(self) -> int:
        """Number of penalized parameters (the entries of ``coef_``)."""
        return self.n_outputs * self.n_features

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.n_coef + (self.n_outputs if self.fit_intercept else 0)

    def split(self, theta):
        """``(coef, intercept)`` of shapes ``(n_outputs, d)`` and ``(n_outputs,)``."""
        coef = theta[: self.n_coef].reshape(self.n_outputs, self.n_features)
        if self.fit_intercept:
            return coef, theta[self.n_coef :]
        return coef, np.zeros(self.n_outputs)

    def join(self, coef, intercept):
        """The flat parameter vector of ``coef`` and ``intercept``."""
        parts = [np.asarray(coef, dtype=np.float64).ravel()]
        if self.fit_intercept:
            parts.append(np.asarray(intercept, dtype=np.float64).ravel())
        return np.concatenate(parts)

    def gauge(self):
        """Unit vector of the flat direction of the objective, or None if it has none.

        Only the multinomial model with an intercept has one: shifting every intercept by the
        same amount changes no probability.
        """
        if not (self.multinomial and self.fit_intercept):
            return None
        e = np.zeros(self.n_params)
        e[self.n_coef :] = 1.0 / np.sqrt(self.n_classes)
        return e

    def project(self, v):
        """Remove the gauge component of a parameter-space vector (a no-op without gauge)."""
        if not (self.multinomial and self.fit_intercept):
            return v
        v = v.copy()
        v[self.n_coef :] -= v[self.n_coef :].mean()
        return v

    # -- pointwise pieces ------------------------------------------------------------------

    def raw(self, X, theta):
        """Scores ``z`` of shape ``(n, n_outputs)``."""
        coef, intercept = self.split(theta)
        if not self.multinomial:  # a matrix-vector product, not a one-column matrix product
            return (X @ coef[0] + intercept[0])[:, None]
        return _dot(X, coef.T) + intercept

    def residual(self, z, t):
        """Pointwise gradient of the loss with respect to ``z`` (``sigma(z) - t`` or
        ``softmax(z) - onehot(t)``), shape ``(n, n_outputs)``, and the probabilities."""
        if self.multinomial:
            proba = softmax(z, axis=1)
            r = proba.copy()
            r[np.arange(z.shape[0]), t] -= 1.0
            return r, proba
        proba = expit(z)
        return proba - t[:, None], proba

    def pointwise_loss(self, z, t):
        """Loss of each row, shape ``(n,)``."""
        if self.multinomial:
            return logsumexp(z, axis=1) - z[np.arange(z.shape[0]), t]
        return np.logaddexp(0.0, z[:, 0]) - t * z[:, 0]

    def curvature(self, proba):
        """Largest eigenvalue (an upper bound) of each row's loss Hessian in ``z``."""
        if self.multinomial:
            return np.minimum(proba.max(axis=1), 1.0 - np.sum(proba * proba, axis=1))
        return (proba * (1.0 - proba))[:, 0]

    def _from_scores(self, X, q):
        """Flat vector ``sum_i q_i (x) (x_i, 1)``: the chain rule through ``z``, for ``q`` of
        shape ``(n, n_outputs)`` (or ``(n, n_outputs, m)`` for ``m`` vectors at once)."""
        if q.ndim == 3:
            n, k, m = q.shape
            coef = _tdot(X, q.reshape(n, k * m)).reshape(self.n_features, k, m)
            coef = coef.transpose(1, 0, 2).reshape(k * self.n_features, m)
            if self.fit_intercept:
                return np.vstack([coef, q.sum(axis=0)])
            return coef
        coef = _vecmat(q[:, 0], X) if q.shape[1] == 1 else _vecmat(q.T, X).ravel()
        if self.fit_intercept:
            return np.concatenate([coef, q.sum(axis=0)])
        return coef

    # -- data parts over a block of rows ---------------------------------------------------

    def data_loss(self, X, t, s, theta) -> float:
        """``sum_i s_i l_i(theta)`` over the block."""
        return float(s @ self.pointwise_loss(self.raw(X, theta), t))

    def data_gradient(self, X, t, s, theta):
        """``sum_i s_i grad l_i(theta)`` over the block, a flat vector."""
        r, _ = self.residual(self.raw(X, theta), t)
        return self._from_scores(X, r * s[:, None])

    def data_terms(
        self, X, t, s, theta, *, coupling: bool = False, loss: bool = True
    ) -> BlockTerms:
        """Everything one pass over a block gives at once (see :class:`BlockTerms`).

        The gradient and the coupling blocks come from a single product with ``X``, taken
        chunk by chunk right after the chunk's scores, so that each row of a large dense
        block is read from memory once (the sweep over the rows dominates the cost on large
        data). With ``loss=False`` the loss (needed by line searches only) is skipped and
        reported as NaN.
        """
        want = coupling and self.fit_intercept
        n = X.shape[0]
        step = n
        if isinstance(X, np.ndarray) and X.nbytes > _CHUNK_BYTES:
            step = max(64, _CHUNK_BYTES // (8 * X.shape[1]))
        pieces, product = [], None
        for lo in range(0, n, step):
            rows = slice(lo, lo + step)
            Xc = X[rows] if step < n else X
            z = self.raw(Xc, theta)
            r, proba = self.residual(z, t[rows])
            columns = self._pass_columns(r, proba, s[rows], want)
            if columns.shape[1] == 1:
                part = _vecmat(columns[:, 0], Xc)[None, :]
            else:
                part = _vecmat(columns.T, Xc)
            product = part if product is None else product + part
            pieces.append((z, r, proba))
        if len(pieces) == 1:
            z, r, proba = pieces[0]
        else:
            z, r, proba = (np.concatenate(p) for p in zip(*pieces))
        value = float(s @ self.pointwise_loss(z, t)) if loss else np.nan
        if self.multinomial:
            residual_norms = np.sqrt(np.einsum("ij,ij->i", r, r))
        else:
            residual_norms = np.abs(r[:, 0])
        curv = self.curvature(proba)
        K, d = self.n_outputs, self.n_features
        sr = r * s[:, None]
        coef_gradient = product[:K].ravel()
        gradient = (
            np.concatenate([coef_gradient, sr.sum(axis=0)]) if self.fit_intercept else coef_gradient
        )
        if not want:
            return BlockTerms(value, gradient, residual_norms, curv, None, z)
        if self.multinomial:
            sp = proba * s[:, None]
            t1, t2 = product[K : 2 * K].T, product[2 * K :].T  # (d, K), (d, K^2)
            B = -t2.reshape(d, K, K).transpose(1, 0, 2)  # (K, d, K)
            B[np.arange(K), :, np.arange(K)] += t1.T
            B = B.reshape(K * d, K)
            M = np.diag(sp.sum(axis=0)) - sp.T @ proba
        else:
            B = product[1][:, None]
            M = np.array([[float(s @ curv)]])
        return BlockTerms(value, gradient, residual_norms, curv, (B, M), z)

    def _pass_columns(self, r, proba, s, coupling: bool):
        """Per-row columns whose product with ``X`` gives the coefficient gradient (and, with
        ``coupling``, the coefficient-intercept Hessian block): ``(n, K [+ K + K^2])``."""
        sr = r * s[:, None]
        if not coupling:
            return sr
        if self.multinomial:
            K = self.n_outputs
            sp = proba * s[:, None]
            pp = (sp[:, :, None] * proba[:, None, :]).reshape(-1, K * K)
            return np.hstack([sr, sp, pp])
        return np.column_stack([sr[:, 0], s * self.curvature(proba)])

    def row_gradient_dot(self, X, t, theta, v):
        """``grad l_i(theta) . v`` for every row of the block, shape ``(n,)``."""
        r, _ = self.residual(self.raw(X, theta), t)
        return np.einsum("ij,ij->i", r, self.raw(X, v))

    def data_hessp(self, X, s, theta, v):
        """``sum_i s_i hess l_i(theta) @ v`` for a flat vector ``v`` (or columns ``(p, m)``)."""
        z = self.raw(X, theta)
        dz = self._directional_scores(X, v)
        if self.multinomial:
            proba = softmax(z, axis=1)
            if dz.ndim == 3:
                q = proba[:, :, None] * (dz - np.einsum("nk,nkm->nm", proba, dz)[:, None, :])
            else:
                q = proba * (dz - np.sum(proba * dz, axis=1, keepdims=True))
        else:
            proba = expit(z)
            w = proba * (1.0 - proba)
            q = dz * (w[:, :, None] if dz.ndim == 3 else w)
        q = q * (s[:, None, None] if q.ndim == 3 else s[:, None])
        return self._from_scores(X, q)

    def data_hessian_diag(self, X, s, theta):
        """Diagonal of ``sum_i s_i hess l_i(theta)`` (a preconditioner for conjugate gradients)."""
        z = self.raw(X, theta)
        if self.multinomial:
            proba = softmax(z, axis=1)
            w = proba * (1.0 - proba) * s[:, None]
        else:
            proba = expit(z)
            w = proba * (1.0 - proba) * s[:, None]
        X2 = X * X if isinstance(X, np.ndarray) else X.multiply(X)
        return self._from_scores(X2, w)

    def _directional_scores(self, X, v):
        """Change of the scores ``z`` along ``v`` (flat ``(p,)`` or ``(p, m)``)."""
        if v.ndim == 1:
            return self.raw(X, v)
        m = v.shape[1]
        coef = v[: self.n_coef].reshape(self.n_outputs, self.n_features, m)
        dz = _dot(X, coef.transpose(1, 0, 2).reshape(self.n_features, -1))
        dz = dz.reshape(X.shape[0], self.n_outputs, m)
        if self.fit_intercept:
            dz = dz + v[self.n_coef :][None, :, :]
        return dz

    def data_hessian(self, X, s, theta):
        """``sum_i s_i hess l_i(theta)`` over the block, dense ``(p, p)``."""
        z = self.raw(X, theta)
        if not self.multinomial:
            proba = expit(z[:, 0])
            return self._gram_with_intercept(X, s * proba * (1.0 - proba))
        proba = softmax(z, axis=1)
        K, p = self.n_classes, self.n_params
        # sum_i s_i (diag(p_i) - p_i p_i^T) (x) xt_i xt_i^T, as a block-diagonal part minus
        # the Gram matrix of the rows sqrt(s_i) p_i (x) xt_i (one BLAS product).
        hess = np.zeros((p, p))
        idx = self._class_indices()
        for k in range(K):
            block = self._gram_with_intercept(X, s * proba[:, k])
            hess[np.ix_(idx[k], idx[k])] = block
        sp = np.sqrt(s)[:, None] * proba
        kron = self._scores_design(X, sp)
        hess -= kron.T @ kron  # a wide product: BLAS's symmetric rank-k update is no faster
        return hess

    def _class_indices(self):
        """For each class, its parameters' positions in the flat layout (coef then intercept)."""
        d = self.n_features
        out = []
        for k in range(self.n_outputs):
            idx = list(range(k * d, (k + 1) * d))
            if self.fit_intercept:
                idx.append(self.n_coef + k)
            out.append(np.array(idx, dtype=np.intp))
        return out

    def _gram_with_intercept(self, X, w):
        """``xt^T diag(w) xt`` for ``xt = (x, 1)`` (or ``x`` without intercept)."""
        gram = _weighted_gram(X, w)
        if not self.fit_intercept:
            return gram
        d = self.n_features
        out = np.empty((d + 1, d + 1))
        out[:d, :d] = gram
        out[:d, d] = out[d, :d] = _tdot(X, w)
        out[d, d] = w.sum()
        return out

    def _scores_design(self, X, q):
        """Rows ``q_i (x) (x_i, 1)`` in the flat layout, shape ``(n, p)`` (dense)."""
        Xd = X if isinstance(X, np.ndarray) else X.toarray()
        n = Xd.shape[0]
        parts = [(q[:, :, None] * Xd[:, None, :]).reshape(n, self.n_coef)]
        if self.fit_intercept:
            parts.append(q)
        return np.hstack(parts)

    def data_hessian_factor(self, X, s, theta):
        """``U`` of shape ``(p, m)`` with ``U @ U.T = sum_i s_i hess l_i(theta)`` (block rows).

        One column per row (binary) or ``K`` per row (multinomial: ``sqrt(s_i) A_i (x) xt_i``
        with ``A_i = diag(sqrt(p_i)) - p_i sqrt(p_i)^T``, a square root of
        ``diag(p_i) - p_i p_i^T``). Meant for the few rows of an unlearning request.
        """
        z = self.raw(X, theta)
        if not self.multinomial:
            proba = expit(z[:, 0])
            return self._scores_design(X, np.sqrt(s * proba * (1.0 - proba))[:, None]).T
        proba = softmax(z, axis=1)
        root = np.sqrt(proba)
        n, K = proba.shape
        # A[i, :, j] = sqrt(p_ij) (e_j - p_i): column j of A_i.
        A = np.einsum("nk,nj->nkj", -proba, root)
        A[:, np.arange(K), np.arange(K)] += root
        A *= np.sqrt(s)[:, None, None]
        cols = [self._scores_design(X, A[:, :, j]) for j in range(K)]
        return (
            np.stack(cols, axis=2)
            .reshape(n, self.n_params, K)
            .transpose(1, 0, 2)
            .reshape(self.n_params, n * K)
        )

    # -- the full objective ----------------------------------------------------------------

    def penalty_weights(self):
        """``pi`` over the flat coefficients (repeated for every class), or None for all 1."""
        if self.penalty is None:
            return None
        return np.tile(np.asarray(self.penalty, dtype=np.float64), self.n_outputs)

    @property
    def penalty_min(self) -> float:
        """Smallest penalty weight (1 for scikit-learn's penalty)."""
        return 1.0 if self.penalty is None else float(np.min(self.penalty))

    def penalty_gradient(self, theta):
        """Gradient of the penalty: ``pi * coef``, with zeros for the intercept."""
        out = theta.copy()
        out[self.n_coef :] = 0.0
        pi = self.penalty_weights()
        if pi is not None:
            out[: self.n_coef] *= pi
        return out

    def value(self, data_loss: float, theta) -> float:
        """``F = C * data_loss + 1/2 sum pi coef^2``."""
        coef = theta[: self.n_coef]
        pi = self.penalty_weights()
        quad = float(coef @ coef) if pi is None else float((pi * coef) @ coef)
        return self.C * data_loss + 0.5 * quad

    def gradient(self, data_gradient, theta):
        """``grad F = C * data_gradient + grad penalty``."""
        return self.C * data_gradient + self.penalty_gradient(theta)

    def hessian(self, data_hessian):
        """``hess F = C * data_hessian + diag(pi on coef, 0 on intercept)``."""
        hess = self.C * data_hessian
        idx = np.arange(self.n_coef)
        pi = self.penalty_weights()
        hess[idx, idx] += 1.0 if pi is None else pi
        return hess

    def hessp(self, data_hessp, v):
        """``hess F @ v`` from the data part ``data_hessp = sum_i s_i hess l_i @ v``."""
        out = self.C * data_hessp
        pi = self.penalty_weights()
        if pi is None:
            out[: self.n_coef] += v[: self.n_coef]
        elif v.ndim == 1:
            out[: self.n_coef] += pi * v[: self.n_coef]
        else:
            out[: self.n_coef] += pi[:, None] * v[: self.n_coef]
        return out
