"""Passes over the retained rows, Newton steps and their certificate.

A *problem* is the retained objective: the :class:`~._losses.LogisticObjective`, the retained
rows (a :class:`~._rows.RowStore`), their weights (:class:`Weighting`) and, for certified
removal, a linear perturbation ``b^T theta``. :func:`evaluate` makes one pass over the rows and
returns the exact gradient with everything the certificate needs; :func:`newton_steps` takes
Newton steps on it with a cached factored Hessian (:class:`~._cholesky.HessianCache`) or, for
many parameters or sparse data, with conjugate gradients on exact Hessian-vector products, and
certifies the result (:func:`certify`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg

from skunlearn.linear_model._certificate import (
    cheap_distance_bound,
    curvature_radius,
    distance_bound,
    path_staleness,
    refined_distance_bound,
    rounding_allowance,
    schur_curvature_bound,
)
from skunlearn.linear_model._cholesky import HessianCache
from skunlearn.linear_model._kernels import binary_pass, multinomial_pass
from skunlearn.utils._rowstore import RowBlock, RowStore

__all__ = [
    "Anchor",
    "CheapStep",
    "Costs",
    "Evaluation",
    "NewtonResult",
    "Problem",
    "Weighting",
    "build_store",
    "certify",
    "cheap_step",
    "costs",
    "evaluate",
    "full_hessian",
    "minimize",
    "newton_steps",
    "refresh",
    "with_reference_scores",
]


# Target size of a block of stored rows: large enough that a pass over the blocks costs little
# more than one pass over a contiguous array, small enough that rewriting one block (to forget
# a row) is cheap next to a request that pays no pass (tens of microseconds). Dense blocks go
# through one compiled call each, so they can be small; sparse blocks through several NumPy
# calls each.
_BLOCK_BYTES = 512 * 2**10
_SPARSE_BLOCK_BYTES = 4 * 2**20
# Steps beyond ``max_steps`` allowed while no finite bound can be certified.
_EXTRA_STEPS = 4
# A Newton step that leaves more than this fraction of the gradient triggers a refresh.
_SLOW = 0.1
# A step that leaves at most this fraction shows the cached Hessian to be accurate: the next
# step keeps it, however far the scores moved since it was computed.
_ACCURATE = 0.01


def row_norms(X, fit_intercept: bool) -> np.ndarray:
    """``||(x_i, 1)||`` (or ``||x_i||`` without intercept) for every row."""
    if sparse.issparse(X):
        sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    else:
        sq = np.einsum("ij,ij->i", X, X)
    return np.sqrt(sq + (1.0 if fit_intercept else 0.0))


def build_store(X, target, sample_weight, positions, fit_intercept: bool) -> RowStore:
    """Keep rows for exact gradient passes, in blocks of half a megabyte (dense) or four.

    Columns: ``X``, ``target`` (class codes), ``sample_weight`` and ``norms``
    (:func:`row_norms`). Every block owns a copy of its rows, so that no block keeps alive a
    buffer that also holds rows forgotten later (or that the caller may modify).
    """
    n, d = X.shape
    per_row = 8 * (X.nnz / max(n, 1) * 1.5 if sparse.issparse(X) else d) + 32
    budget = _SPARSE_BLOCK_BYTES if sparse.issparse(X) else _BLOCK_BYTES
    block_size = max(64, int(budget // per_row))
    norms = row_norms(X, fit_intercept)
    positions = np.asarray(positions, dtype=np.intp)
    starts, blocks = [], []
    for lo in range(0, n, block_size):
        rows = slice(lo, min(lo + block_size, n))
        data = {
            "X": sparse.csr_matrix(X[rows], copy=True) if sparse.issparse(X) else X[rows].copy(),
            "target": np.array(target[rows], dtype=np.intp),
            "sample_weight": np.array(sample_weight[rows], dtype=np.float64),
            "norms": norms[rows].copy(),
        }
        starts.append(positions[lo])
        blocks.append(RowBlock(positions[rows].copy(), data))
    return RowStore(np.asarray(starts, dtype=np.intp), blocks, block_size)


@dataclass(frozen=True)
class Costs:
    """Floating-point operations of the pieces of an unlearning request (a cost model, not a
    measurement: what the choices between a stale cache, a refresh and a refit compare).

    ``step``: one Newton step after the first (a pass over the retained rows, about four
    flops per stored value and output, and two triangular solves); ``column``: the rank-one
    downdate of the factor by one column (``2 p^2``); ``refresh``: recomputing, factoring and
    certifying the Hessian (``n p^2`` for the rows' curvature, about ``2 p^3`` for the
    factorization and the eigenvalue certificate); ``recertify``: certifying the smallest
    eigenvalue again from the factor (about ``2 p^3``); ``call``: the fixed cost of one
    call through Python (a request, a step, an iteration of scikit-learn's solver).

    The matrix-matrix work of a refresh or a recertification runs at about 2.5 times the
    rate of a pass (measured on one core), so it is counted at ``_LEVEL3`` of its flops,
    and a call at ``_CALL`` flops: what is compared is then close to time.
    """

    step: float
    column: float
    refresh: float
    recertify: float
    call: float = 0.0

    @property
    def pass_(self) -> float:
        """One pass over the rows (the step without its solves)."""
        return self.step - self.column - self.call

    @property
    def refresh_steps(self) -> float:
        """A refresh, in Newton steps."""
        return self.refresh / self.step

    @property
    def recertify_steps(self) -> float:
        """A recertification, in Newton steps."""
        return self.recertify / self.step


def costs(problem: Problem, n_rows: int | None = None) -> Costs:
    """The :class:`Costs` of requests on ``problem`` (its retained rows, as stored now;
    ``n_rows``: their number, if the caller knows it, which spares a walk over the blocks
    for dense rows)."""
    obj = problem.objective
    p = float(obj.n_params)
    K = obj.n_outputs
    blocks = problem.store.blocks
    if n_rows is None:
        n_rows = sum(len(b) for b in blocks)
    n = float(n_rows)
    if blocks and sparse.issparse(blocks[0].data["X"]):
        values = float(sum(b.data["X"].nnz for b in blocks))
    else:
        values = n * obj.n_features
    values += n if obj.fit_intercept else 0.0
    solve = 2.0 * p * p
    cubic = 2.0 * p**3
    return Costs(
        step=4.0 * K * values + solve + _CALL,
        column=solve,
        refresh=_LEVEL3 * (n * p * p + cubic),
        recertify=_LEVEL3 * cubic,
        call=_CALL,
    )


# Cost model (see Costs): matrix-matrix flops per pass flop, and one call through Python in
# flops (about 0.1 ms at the rate of a small pass).
_LEVEL3 = 0.4
_CALL = 1e5


@dataclass(frozen=True)
class Weighting:
    """Weights of the rows in the objective: ``s_i = sample_weight_i * class_scale[t_i]``,
    times ``multiplier[position_i]`` when PUMA has reweighted rows."""

    class_scale: np.ndarray
    multiplier: np.ndarray | None = None
    #: Whether every class weight is 1 (derived; blocks' weights are then their own).
    unit: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "unit", bool(np.all(np.asarray(self.class_scale) == 1.0)))

    def of(self, block) -> np.ndarray:
        """Weights of the rows of a :class:`~skunlearn.utils._rowstore.RowBlock` (read only:
        without class weights or PUMA, the block's own sample weights)."""
        if self.multiplier is None and self.unit:
            return block.data["sample_weight"]
        s = block.data["sample_weight"] * self.class_scale[block.data["target"]]
        if self.multiplier is not None:
            s = s * self.multiplier[block.positions]
        return s


@dataclass(frozen=True)
class Problem:
    """The retained objective: what :func:`evaluate` and :func:`newton_steps` work on."""

    objective: object
    store: object
    weighting: Weighting
    noise: np.ndarray | None = None


@dataclass(frozen=True)
class Evaluation:
    """The exact state of the retained objective at ``theta`` (one pass over the rows).

    ``score_shift`` is the largest spread, over the weighted rows, of the change of a row's
    scores since the cached Hessian's reference point (``inf`` without reference scores).
    """

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    grad_norm: float
    rounding: float
    radius: float
    mu_schur: float
    score_shift: float


def _spread(dz) -> np.ndarray:
    """Per row, ``|dz|`` (one score) or ``max_k dz_k - min_k dz_k`` (softmax scores)."""
    if dz.shape[1] == 1:
        return np.abs(dz[:, 0])
    return dz.max(axis=1) - dz.min(axis=1)


def evaluate(problem: Problem, theta, *, schur: bool = True, value: bool = True) -> Evaluation:
    """One pass over the retained rows: exact gradient and certificate inputs.

    ``schur``: also compute the intercept-block curvature bound (for the softmax its blocks
    cost ``K^2`` products with the rows, several times the gradient's ``K``: callers skip it
    when a cached Hessian certifies more). ``value``: also compute the objective (NaN
    otherwise; only line searches need it).

    Dense blocks go through one compiled sweep (:mod:`._kernels`) that reads each row once
    for its scores, its gradient term and its certificate terms; sparse blocks (and the
    softmax's coupling blocks) through NumPy.
    """
    obj = problem.objective
    loss = 0.0
    grad = np.zeros(obj.n_params)
    K, d = obj.n_outputs, obj.n_features
    # Compiled accumulators: gradient rows (x, 1) per output, coupling, and the statistics
    # [loss, sum term, sum of squared score terms, max norm, max shift].
    kgrad = np.zeros((K, d + 1))
    kcoupling = np.zeros(d + 1 if (schur and obj.fit_intercept and K == 1) else 0)
    stats = np.zeros(5)
    abs_terms = score_sq = 0.0
    max_norm = shift = 0.0
    max_rows = 0
    B = M = None
    compiled = False
    coef, intercept = obj.split(theta)
    coef = np.ascontiguousarray(coef)
    for block in problem.store:
        data = block.data
        s = problem.weighting.of(block)
        norms = data["norms"]
        z_ref = data.get("z_ref")
        max_rows = max(max_rows, block.positions.size)
        X = data["X"]
        if isinstance(X, np.ndarray) and not (schur and obj.fit_intercept and K > 1):
            if z_ref is None:
                shift = np.inf
                z_ref = _NO_REF[K > 1]
            if K == 1:
                binary_pass(
                    X, data["target"], s, norms, coef[0], float(intercept[0]),
                    z_ref[:, 0] if z_ref.ndim == 2 else z_ref, kgrad[0], kcoupling, stats,
                    value,
                )  # fmt: skip
            else:
                multinomial_pass(
                    X, data["target"], s, norms, coef, intercept, z_ref, kgrad, stats, value
                )
            compiled = True
            continue
        terms = obj.data_terms(X, data["target"], s, theta, coupling=schur, loss=value)
        loss += terms.loss
        grad += terms.gradient
        abs_terms += float(s @ (norms * terms.residual_norms))
        score_sq += float(np.sum((s * terms.curvature * norms * norms) ** 2))
        live = s > 0
        if live.any():
            max_norm = max(max_norm, float(norms[live].max()))
            if z_ref is None:
                shift = np.inf
            else:
                shift = max(shift, float(_spread(terms.scores[live] - z_ref[live]).max()))
        if terms.coupling is not None:
            B = terms.coupling[0] if B is None else B + terms.coupling[0]
            M = terms.coupling[1] if M is None else M + terms.coupling[1]
    if compiled:
        loss += stats[0]
        grad[: obj.n_coef] += kgrad[:, :d].ravel()
        if obj.fit_intercept:
            grad[obj.n_coef :] += kgrad[:, d]
        abs_terms += stats[1]
        score_sq += stats[2]
        max_norm = max(max_norm, stats[3])
        shift = max(shift, stats[4])
        if kcoupling.size:
            B = kcoupling[:d, None] if B is None else B + kcoupling[:d, None]
            m = np.array([[kcoupling[d]]])
            M = m if M is None else M + m
    if not value:
        loss = np.nan
    value_ = obj.value(loss, theta)
    gradient = obj.gradient(grad, theta)
    if problem.noise is not None:
        value_ += float(problem.noise @ theta)
        gradient = gradient + problem.noise
    gradient = obj.project(gradient)
    mu_schur = 0.0
    if B is not None:
        # The bound is for a unit penalty; a smaller one lowers it at most in proportion.
        mu_schur = schur_curvature_bound(obj.C * B, obj.C * M, gauge=obj.multinomial)
        mu_schur *= min(1.0, obj.penalty_min)
    # A row's score carries an error of at most ||x_i|| ||theta|| per score (times the
    # allowance's factor; see rounding_allowance).
    score_error = np.sqrt(obj.n_outputs) * float(np.linalg.norm(theta))
    rounding = rounding_allowance(
        obj.C * abs_terms,
        max_rows + obj.n_features,
        score_terms=obj.C * score_error * np.sqrt(score_sq),
        n_score_terms=obj.n_features + 1,
    )
    return Evaluation(
        theta=theta,
        value=value_,
        gradient=gradient,
        grad_norm=float(np.linalg.norm(gradient)),
        rounding=rounding,
        radius=curvature_radius(max_norm, obj.multinomial),
        mu_schur=mu_schur,
        score_shift=shift,
    )


_EPS = np.finfo(np.float64).eps
_TINY = np.finfo(np.float64).tiny

# Empty reference scores for the compiled passes (no shift to measure).
_NO_REF = (np.zeros(0), np.zeros((0, 2)))


def full_hessian(problem: Problem, theta):
    """The dense Hessian of the retained objective at ``theta`` (``O(n p^2)``)."""
    obj = problem.objective
    hess = np.zeros((obj.n_params, obj.n_params))
    for block in problem.store:
        hess += obj.data_hessian(block.data["X"], problem.weighting.of(block), theta)
    return obj.hessian(hess)


def with_reference_scores(store: RowStore, objective, theta) -> RowStore:
    """A store whose blocks also hold every row's scores at ``theta`` (column ``z_ref``).

    They let a pass measure exactly how far each row's scores moved since the cached
    Hessian was computed, which is what the curvature bound needs; being a column, a row's
    scores leave the store with the row.
    """
    blocks = [
        RowBlock(b.positions, {**b.data, "z_ref": objective.raw(b.data["X"], theta)})
        for b in store.blocks
    ]
    return RowStore(store.starts, blocks, store.block_size)


def refresh(problem: Problem, theta, *, seed: int = 0) -> tuple[Problem, HessianCache]:
    """Compute, factor and certify the Hessian at ``theta``, and record the rows' scores
    there; returns the problem over the re-annotated rows and the new cache."""
    obj = problem.objective
    hessian = full_hessian(problem, theta)
    mu_schur = 0.0
    if obj.fit_intercept:  # the intercept-block bound of this very Hessian, as a hint
        q = obj.n_coef
        mu_schur = schur_curvature_bound(hessian[:q, q:], hessian[q:, q:], gauge=obj.multinomial)
        mu_schur *= min(1.0, obj.penalty_min)
    cache = HessianCache.build(
        hessian,
        theta,
        problem.weighting.class_scale,
        obj.gauge(),
        len(problem.store),
        seed=seed,
        mu_schur=mu_schur,
        penalty_ref=obj.penalty,
    )
    store = with_reference_scores(problem.store, obj, theta)
    return replace(problem, store=store), cache


def certify(problem: Problem, ev: Evaluation, cache: HessianCache | None, *, with_step=False):
    """Certified bound on the distance from ``ev.theta`` to the optimum, and the curvature
    bound it used.

    The curvature bound is the best of the cache's (carried to ``theta`` by the rows' score
    shifts) and the Schur bound computed in the pass; without an intercept, also the global
    1-strong convexity. With a cache, the bound is then sharpened with the cached Hessian
    itself (:func:`~._certificate.refined_distance_bound`), localized by the better of the
    plain bound and its analogue in the cached Hessian's norm (see
    :func:`~._certificate.cheap_distance_bound`). ``with_step``: also return the Newton
    direction ``H^-1 g`` the sharpening computed (None without a cache), so that a further
    step need not solve again.
    """
    step = None
    obj = problem.objective
    mu = ev.mu_schur
    if cache is not None:
        mu = max(mu, cache.curvature_at(ev.score_shift, problem.weighting.class_scale, obj.penalty))
    global_mu = 0.0 if obj.fit_intercept else obj.penalty_min
    mu = max(mu, global_mu)
    grad_norm = ev.grad_norm + ev.rounding
    bound = distance_bound(grad_norm, mu, ev.radius, global_mu)
    if cache is not None and np.isfinite(bound):
        lo, hi = cache.ratio_bounds(problem.weighting.class_scale, obj.penalty)
        # The cached Hessian is at least hess F(theta) / (hi e^shift), whose smallest
        # eigenvalue is at least the pass's Schur bound: a second certificate for mu_ref.
        mu_ref = max(cache.mu, ev.mu_schur * np.exp(-ev.score_shift) / hi)
        if mu_ref > 0:
            step = obj.project(cache.solve(ev.gradient))
            # The gradient's rounding error e adds at most ||e|| / mu to ||H^-1 g|| and
            # ||e|| / sqrt(mu) to ||g||_{H^-1}; the solve's own rounding is relative.
            newton = float(np.linalg.norm(step)) * (1 + 1e-8) + ev.rounding / mu_ref
            dual = np.sqrt(max(float(ev.gradient @ step), 0.0)) * (1 + 1e-8)
            dual += ev.rounding / np.sqrt(mu_ref)
            if ev.score_shift < 700:
                scaled = dual * np.exp(ev.score_shift) / (lo * np.sqrt(mu_ref))
                bound = min(bound, distance_bound(scaled, 1.0, ev.radius))
            bound = refined_distance_bound(
                newton, dual, mu_ref, ev.score_shift, ev.radius, lo, hi, bound
            )
    if with_step:
        return bound, mu, step
    return bound, mu


@dataclass(frozen=True)
class Anchor:
    """What the last exact pass measured, the cheap certificate's starting point.

    ``theta``: where; ``shift``: the largest score spread there from the cached Hessian's
    reference point (exact); ``radius``: ``R`` over the weighted rows then (it can only
    shrink as rows leave).
    """

    theta: np.ndarray
    shift: float
    radius: float

    @classmethod
    def of(cls, ev: Evaluation) -> Anchor:
        return cls(ev.theta, float(ev.score_shift), float(ev.radius))

    def shift_at(self, theta) -> float:
        """Bound on the score spread at ``theta`` (spreads are subadditive)."""
        return self.shift + self.radius * float(np.linalg.norm(theta - self.theta))


def gradient_error(ev: Evaluation, cache: HessianCache | None) -> float:
    """Bound on the error of ``ev.gradient`` in the cached Hessian's inverse norm."""
    if cache is None or not cache.mu > 0:
        return np.inf
    return float(ev.rounding / np.sqrt(cache.mu))


@dataclass(frozen=True)
class CheapStep:
    """A Newton step certified without a pass (:func:`cheap_step`)."""

    theta: np.ndarray
    error: float
    bound: float
    shift: float
    residual: float


def cheap_step(problem: Problem, theta, gradient, error, cache: HessianCache, anchor: Anchor):
    """One Newton step with the cached factor, certified in ``O(p^2)``, without a pass.

    ``gradient`` is the known part ``g`` of the retained objective's gradient at ``theta``
    and ``error`` bounds the rest, ``||grad F(theta) - g||_{H^-1}``, in the norm of the
    cache's Hessian ``H``. The step ``delta = H^-1 g`` leaves the gradient
    ``grad F(theta - delta) = (H - Hbar) delta + (grad F(theta) - g)`` with ``Hbar`` the
    Hessian averaged along the step, and ``-k H <= Hbar - H <= k H`` on the data part with
    ``k`` from :func:`~._certificate.path_staleness`, so
    ``||(H - Hbar) delta||_{H^-1} <= k ||delta||_H`` (see the User Guide for the proof).
    Returns the step with the new error bound (the known part is now zero) and the distance
    bound it certifies (:func:`~._certificate.cheap_distance_bound`).
    """
    obj = problem.objective
    lo, hi = cache.ratio_bounds(problem.weighting.class_scale, obj.penalty)
    direction = obj.project(cache.solve(gradient))
    step_norm = float(np.sqrt(max(float(gradient @ direction), 0.0)))  # ||delta||_H
    new = obj.project(theta - direction)
    a0 = float(np.linalg.norm(theta - anchor.theta))
    a1 = float(np.linalg.norm(new - anchor.theta))
    k = path_staleness(anchor.shift, anchor.radius, a0, a1, max(hi, 1.0 / lo))
    # The solves are backward stable: g - H delta is at most a rounding multiple of
    # trace(H) ||delta||, which the inverse norm divides by sqrt(mu) at most.
    p = obj.n_params
    solve = 4.0 * (p + 1) * _EPS * cache.trace * float(np.linalg.norm(direction))
    residual = k * step_norm * (1.0 + 1e-12) + solve / np.sqrt(max(cache.mu, _TINY))
    err = float(error + residual)
    shift = anchor.shift + anchor.radius * a1
    bound = cheap_distance_bound(err, cache.mu, cache.lam_max, shift, anchor.radius, lo, hi)
    return CheapStep(new, err, bound, shift, residual)


def _cg_direction(problem: Problem, theta, gradient, *, rtol=1e-10, maxiter=200):
    """Solve ``H d = g`` by conjugate gradients on exact Hessian-vector products (each one a
    pass over the rows), preconditioned by the Hessian's diagonal."""
    obj = problem.objective
    gauge = obj.gauge()
    p = obj.n_params
    diag = np.zeros(p)
    for block in problem.store:
        diag += obj.data_hessian_diag(block.data["X"], problem.weighting.of(block), theta)
    diag = obj.C * diag
    pi = obj.penalty_weights()
    diag[: obj.n_coef] += 1.0 if pi is None else pi
    weight = float(max(np.mean(diag), 1.0))
    n_products = [0]

    def matvec(v):
        n_products[0] += 1
        out = np.zeros(p)
        for block in problem.store:
            out += obj.data_hessp(block.data["X"], problem.weighting.of(block), theta, v)
        out = obj.hessp(out, v)
        if gauge is not None:
            # The objective is flat along the gauge; solving with H + w e e^T instead gives
            # the same direction for a gradient orthogonal to it.
            out += weight * (gauge @ v) * gauge
        return out

    if gauge is not None:
        diag = diag + weight * gauge * gauge
    H = LinearOperator((p, p), matvec=matvec, dtype=np.float64)
    precond = LinearOperator((p, p), matvec=lambda v: v / diag, dtype=np.float64)
    direction, _ = cg(H, gradient, rtol=rtol, atol=0.0, maxiter=maxiter, M=precond)
    return obj.project(direction), n_products[0] + 1


@dataclass(frozen=True)
class NewtonResult:
    """Outcome of :func:`newton_steps`: the problem (its rows re-annotated if the Hessian was
    refreshed), the final evaluation and certificate, and what it cost.

    ``refit_wanted``: the steps stopped because the cache needed a refresh costing more than
    the caller's ``refresh_budget`` (a refit is cheaper); ``evaluation`` is then the last one
    made (None if no step was taken) and nothing else is final.
    """

    problem: Problem
    evaluation: Evaluation | None
    bound: float
    mu: float
    steps: int
    passes: int
    cache: HessianCache | None
    refreshes: int
    recertifications: int = 0
    refit_wanted: bool = False


def _maintain(
    problem, theta, cache, score_shift, refresh_below, contraction, seed, *, accurate=None
):
    """Before a step: keep the cache, certify its curvature anew, or recompute it at
    ``theta``; returns the problem, the cache and what was done.

    The curvature the cache certifies at ``theta``, ``mu exp(-score_shift)``, falls for two
    reasons: ``mu`` shrinks with every downdate (by a worst-case leverage factor), and the
    scores move away from the reference point. The first is undone by certifying ``mu`` again
    from the factor (``O(p^3)``); only the second needs the Hessian recomputed from the rows,
    and not before a further step if the previous one (``contraction``: the factor by which it
    shrank the gradient, None before the first) showed the cache to be an accurate model (a
    contraction of at most ``accurate``, by default ``_ACCURATE``).
    """
    if cache.degradation(score_shift) >= refresh_below:
        return problem, cache, 0, 0
    recertified = 0
    # Only worth it while the scores stayed close: a stale Hessian also makes worse steps.
    if cache.mu < cache.mu_at_refresh and np.exp(-score_shift) >= np.sqrt(refresh_below):
        cache, recertified = cache.recertified(seed=seed), 1
        if cache.degradation(score_shift) >= refresh_below:
            return problem, cache, 0, recertified
    if contraction is not None and contraction <= (accurate or _ACCURATE):
        return problem, cache, 0, recertified
    problem, cache = refresh(problem, theta, seed=seed)
    return problem, cache, 1, recertified


# A stale cache is kept while its steps shrink the gradient at least this much each.
_KEEP_CONTRACTION = 0.5
# ... and, while the bound is still infinite, at least this much.
_KEEP_OUTSIDE = 0.25
# With a cost model, a stale cache is tried for one step before a refresh when a refresh
# costs at least this many steps (the step measures how good a model the cache still is).
_TRIAL_STEPS = 4.0


def _steps_needed(bound, target, contraction) -> float:
    """Further steps at ``contraction`` per step to bring ``bound`` down to ``target``
    (the bound shrinks about like the gradient while it is far above its rounding floor)."""
    if not np.isfinite(bound) or contraction is None or not contraction < 1:
        return np.inf
    if bound <= target:
        return 0.0
    if target <= 0 or contraction <= 0:
        return np.inf if target <= 0 else 1.0
    return float(np.ceil(np.log(bound / target) / -np.log(contraction)))


def _priced_maintenance(cache, state, cost, refresh_below):
    """Before a step, with a cost model: ``"keep"``, ``"recertify"`` or ``"refresh"``.

    The rule of :func:`_maintain` says when the cache is stale; here a stale cache is still
    kept whenever the steps it would take to the target (projected from the last step's
    contraction) cost less than a refresh and the step after it, and fit in the steps left;
    before the first step it is tried once when a refresh costs more than
    ``_TRIAL_STEPS`` steps and a further step is allowed. A decayed ``mu`` is certified
    anew only when that costs at most two steps (else only as a last resort, see
    :func:`newton_steps`).
    """
    contraction, shift, bound, target, steps_left = state
    stale = cache.degradation(shift) < refresh_below or (
        contraction is not None and contraction > _SLOW and shift > 0
    )
    if not stale:
        return "keep"
    if (
        cache.mu < cache.mu_at_refresh
        and np.exp(-shift) >= np.sqrt(refresh_below)
        and cost.recertify_steps <= 2.0
        and (contraction is None or contraction <= _SLOW)
    ):
        return "recertify"
    usable = cache.mu > 0 and shift < 30.0
    if contraction is None:
        # A trial step is only worth it if a further step can correct it.
        trial = usable and steps_left >= 2 and cost.refresh_steps >= _TRIAL_STEPS
        return "keep" if trial else "refresh"
    if usable and contraction <= _KEEP_CONTRACTION:
        needed = _steps_needed(bound, target, contraction)
        if not np.isfinite(bound) and steps_left > 1 and contraction <= _KEEP_OUTSIDE:
            # Still outside the region the certificate covers (the curvature it proves at
            # the new point fell with the scores' shift): a step that shrinks the gradient
            # well usually gets there, at a fraction of a refresh.
            needed = 1.0
        if needed <= steps_left and needed <= cost.refresh_steps + 1.0:
            return "keep"
    return "refresh"


def newton_steps(
    problem: Problem,
    theta,
    gradient,
    cache: HessianCache | None,
    *,
    max_steps: int,
    tol: float,
    score_shift: float,
    refresh_below: float = 0.5,
    seed: int = 0,
    cost: Costs | None = None,
    refresh_budget: float = np.inf,
) -> NewtonResult:
    """Newton steps on the retained objective from ``theta``, where its exact gradient is
    ``gradient``, until the certified bound is below ``tol * max(1, ||theta||)`` or
    ``max_steps`` steps have been taken.

    With a cache, each step solves with its factored Hessian: exact at its reference point,
    a good preconditioned step near it. Before a step, if the curvature the cache
    certifies at the current point (``score_shift``: how far the rows' scores moved since its
    reference point) has fallen below ``refresh_below`` times its value at the last refresh,
    the cache's curvature bound is certified anew, and if that is not enough the Hessian is
    recomputed at the current point. Before a further step the same holds, except that a
    previous step that shrank the gradient a hundredfold shows the cache to be a good model
    however far the scores moved (it is kept), and one that shrank it less than tenfold
    shows it stale (it is recomputed). If the bound is still infinite once the steps are
    spent, up to four more steps are taken (a very influential row can move the optimum far
    enough that one step does not reach the region where the certificate holds); they keep
    the cache as long as each shrinks the gradient tenfold. Without a cache, conjugate
    gradients on exact Hessian-vector products give the step.

    ``cost`` (a :class:`Costs`) prices those choices instead: a stale cache is kept while
    its projected steps to the target are cheaper than a refresh (see
    :func:`_priced_maintenance`), a decayed curvature bound is certified anew when the steps
    are spent (or the gradient is at its rounding level) and the bound still misses the
    target, and a refresh costing more than ``refresh_budget`` is not made: the result then
    has ``refit_wanted`` set.
    """
    obj = problem.objective
    steps = passes = refreshes = recertifications = extra = 0
    contraction = None
    bound, mu, ev = np.inf, 0.0, None
    last_resort = cost is not None  # one recertification before stopping above the target
    certified = (None, None)  # (cache, its direction at the current point) from certify

    def stop_for_refit():
        return NewtonResult(
            problem, ev, bound, mu, steps, passes, cache, refreshes, recertifications, True
        )

    while True:
        if cache is not None and cost is not None:
            target = tol * max(1.0, float(np.linalg.norm(theta)))
            steps_left = max_steps + extra - steps
            action = _priced_maintenance(
                cache, (contraction, score_shift, bound, target, steps_left), cost, refresh_below
            )
            if action == "recertify":
                cache = cache.recertified(seed=seed)
                recertifications += 1
                if cache.degradation(score_shift) < refresh_below and contraction is None:
                    trial = steps_left >= 2 and cost.refresh_steps >= _TRIAL_STEPS
                    action = "keep" if trial else "refresh"
            if action == "refresh":
                if cost.refresh > refresh_budget:
                    return stop_for_refit()
                problem, cache = refresh(problem, theta, seed=seed)
                refreshes += 1
        elif cache is not None:
            # A step with a Hessian exact at its point converges quadratically; one that
            # barely shrank the gradient used a stale Hessian, worth recomputing.
            if contraction is not None and contraction > _SLOW and score_shift > 0:
                problem, cache = refresh(problem, theta, seed=seed)
                refreshes += 1
            else:
                # Steps past max_steps only seek a finite bound: a stale cache that still
                # shrinks the gradient tenfold gets there sooner than a recomputed one.
                accurate = _SLOW if steps >= max_steps else _ACCURATE
                problem, cache, refreshed, recertified = _maintain(
                    problem,
                    theta,
                    cache,
                    score_shift,
                    refresh_below,
                    contraction,
                    seed,
                    accurate=accurate,
                )
                refreshes += refreshed
                recertifications += recertified
        if cache is not None:
            if certified[0] is cache and certified[1] is not None:
                direction = certified[1]  # certify solved with this very factor already
            else:
                direction = cache.solve(gradient)
        else:
            direction, products = _cg_direction(problem, theta, gradient)
            passes += products
        theta = obj.project(theta - direction)
        ev = evaluate(problem, theta, schur=cache is None or cache.wants_schur, value=False)
        passes += 1
        steps += 1
        contraction = ev.grad_norm / max(float(np.linalg.norm(gradient)), np.finfo(float).tiny)
        score_shift, gradient = ev.score_shift, ev.gradient
        bound, mu, step = certify(problem, ev, cache, with_step=True)
        certified = (cache, step)
        target = tol * max(1.0, float(np.linalg.norm(theta)))
        if bound <= target:
            break
        at_rounding = ev.grad_norm <= ev.rounding
        spent = steps >= max_steps + extra
        if (
            last_resort
            and target > 0
            and (at_rounding or spent)
            and cache is not None
            and cache.mu < 0.9 * cache.mu_at_refresh
            and np.exp(-score_shift) >= np.sqrt(refresh_below)
        ):
            # Last resort before stopping above the target: the curvature bound, decayed by
            # the downdates' worst-case leverage, certified anew (no pass needed; only while
            # the scores stayed close, or the cache would look fresher than it is).
            last_resort = False
            cache = cache.recertified(seed=seed)
            recertifications += 1
            bound, mu, step = certify(problem, ev, cache, with_step=True)
            certified = (cache, step)
            if bound <= target:
                break
        if at_rounding:
            # The gradient is at its rounding level: no further step can lower the bound.
            break
        if spent:
            if np.isfinite(bound) or extra == _EXTRA_STEPS:
                break
            extra += 1
    return NewtonResult(problem, ev, bound, mu, steps, passes, cache, refreshes, recertifications)


def minimize(problem: Problem, theta, *, max_iter: int = 50, use_cg: bool = False, seed: int = 0):
    """Minimize the retained objective from ``theta`` by damped Newton with exact Hessians
    (dense, or by conjugate gradients with ``use_cg``), down to the rounding level of its
    gradient (used to train the perturbed objective of certified removal, and to start PUMA
    from an optimum). Returns the final :class:`Evaluation` and the number of iterations.
    """
    obj = problem.objective
    ev = evaluate(problem, theta)
    for iteration in range(1, max_iter + 1):
        if ev.grad_norm <= 4.0 * ev.rounding:
            return ev, iteration - 1
        if use_cg:
            direction, _ = _cg_direction(problem, ev.theta, ev.gradient)
        else:
            direction = refresh(problem, ev.theta, seed=seed)[1].solve(ev.gradient)
        decrease = float(ev.gradient @ direction)
        step = 1.0
        while step > 1e-10:
            candidate = evaluate(problem, obj.project(ev.theta - step * direction))
            # Near the optimum the objective's rounding hides the decrease; a smaller
            # gradient is then the sign of progress.
            if (
                candidate.value <= ev.value - 1e-4 * step * decrease
                or candidate.grad_norm < 0.5 * ev.grad_norm
            ):
                break
            step *= 0.5
        else:
            return ev, iteration  # no further progress is possible in floating point
        ev = candidate
    return ev, max_iter
