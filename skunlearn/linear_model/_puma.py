"""PUMA: remove rows while reweighting others so that performance is unchanged to first order.

After Wu, Hashemi and Srinivasa, "PUMA: Performance Unchanged Model Augmentation for Training
Data Removal", AAAI 2022. The model is the minimizer of ``C sum_i w_i l_i + 1/2 ||W||^2`` for
row weights ``w``; by the implicit function theorem a weight change ``dw`` moves it by
``dtheta = -H^-1 C sum_i dw_i grad l_i``, and a performance criterion ``P`` (a validation
loss, or the training loss) by::

    dP = sum_i dw_i phi_i,    phi_i = -C grad l_i . H^-1 grad P.

Removing the forgotten rows' weight changes ``P`` by ``-sum_{j in R} w_j phi_j``. PUMA cancels
that change with weight changes on retained rows: we take the *sparsest bounded* such change,
the least total weight moved (an L1 problem with box constraints, solved exactly by filling the
rows with the largest ``|w_i phi_i|`` first) with every multiplier kept within
``weight_bounds``. Because this is a first-order argument, the forgotten weight is removed in
steps of a fraction ``eta``, recomputing the influences at each step (and cancelling, with the
next step's reweighting, whatever change of ``P`` the previous linearizations let through),
and a Newton step on the reweighted objective follows every step. The argument holds at an
optimum, so the fitted model is first refined to the optimum of its objective.

The result is certified like every other call: its distance to the optimum of the reweighted
retained objective, and separately to the optimum of the plain retained objective (the model
a retrain gives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skunlearn.linear_model._certificate import distance_bound
from skunlearn.linear_model._cholesky import DowndateError
from skunlearn.linear_model._newton import (
    NewtonResult,
    Problem,
    Weighting,
    _cg_direction,
    evaluate,
    newton_steps,
    refresh,
)

__all__ = ["Criterion", "PumaOutcome", "greedy_compensation", "puma_unlearn"]


@dataclass(frozen=True)
class Criterion:
    """The performance PUMA keeps: the mean loss of validation rows, or (``X`` None) the
    weighted mean training loss of the retained rows, unweighted by PUMA."""

    data: tuple | None
    X: object = None
    target: np.ndarray | None = None

    @classmethod
    def build(cls, data, classes):
        """From ``(X_val, y_val)`` given to fit (or None), with the model's classes."""
        if data is None:
            return cls(None)
        X, y = data
        unknown = np.setdiff1d(y, classes)
        if unknown.size:
            raise ValueError(
                f"y_val has labels {unknown[:5].tolist()} that are not among the training "
                f"classes {classes.tolist()}."
            )
        return cls(data, X, np.searchsorted(classes, y))

    def value_and_gradient(self, problem: Problem, theta, exclude=None):
        """``(P(theta), grad P(theta))``; the training loss leaves out rows at ``exclude``."""
        obj = problem.objective
        if self.X is not None:
            s = np.full(self.target.size, 1.0 / self.target.size)
            terms = obj.data_terms(self.X, self.target, s, theta)
            return terms.loss, terms.gradient
        base = Weighting(problem.weighting.class_scale)
        loss, total = 0.0, 0.0
        grad = np.zeros(obj.n_params)
        for block in problem.store:
            s = base.of(block)
            if exclude is not None:
                s = s * ~np.isin(block.positions, exclude)
            b_loss, b_grad, *_ = obj.data_terms(block.data["X"], block.data["target"], s, theta)
            loss, total, grad = loss + b_loss, total + s.sum(), grad + b_grad
        return loss / total, grad / total


def greedy_compensation(efficacy, multiplier, target, bounds):
    """Sparsest multiplier change ``dm`` with ``efficacy @ dm == target`` within ``bounds``.

    Minimizes ``sum |dm_i|`` subject to the equality and ``low <= m_i + dm_i <= high``: an
    LP whose solution fills the rows in decreasing order of ``|efficacy_i|``. Returns ``dm``
    and the fraction of ``target`` reached (below 1 only if the bounds leave too little room).

    Examples
    --------
    >>> import numpy as np
    >>> from skunlearn.linear_model._puma import greedy_compensation
    >>> dm, reached = greedy_compensation(
    ...     np.array([0.5, -2.0, 1.0]), np.ones(3), target=3.0, bounds=(0.0, 2.0)
    ... )
    >>> dm.tolist(), reached
    ([0.0, -1.0, 1.0], 1.0)
    """
    low, high = bounds
    dm = np.zeros_like(multiplier)
    if target == 0:
        return dm, 1.0
    direction = np.sign(efficacy * target)
    room = np.where(direction > 0, high - multiplier, multiplier - low)
    gain = np.abs(efficacy) * np.maximum(room, 0.0)
    order = np.argsort(-np.abs(efficacy), kind="stable")
    cumulative = np.cumsum(gain[order])
    need = abs(target)
    k = int(np.searchsorted(cumulative, need))
    full = order[:k]
    dm[full] = direction[full] * np.maximum(room[full], 0.0)
    if k < order.size:
        last = order[k]
        rest = need - (cumulative[k - 1] if k else 0.0)
        dm[last] = direction[last] * rest / abs(efficacy[last])
        return dm, 1.0
    return dm, float(cumulative[-1] / need) if cumulative.size else 0.0


@dataclass(frozen=True)
class PumaOutcome:
    problem: Problem
    result: NewtonResult
    plain_bound: float
    details: dict


def _solve(problem, cache, theta, b):
    if cache is not None:
        return problem.objective.project(cache.solve(b)), 0
    return _cg_direction(problem, theta, b)


def _influences(problem, theta, v):
    """``phi_i / w_i`` per unit of multiplier, ``-C s_i grad l_i . v``, for every row."""
    obj = problem.objective
    base = Weighting(problem.weighting.class_scale)
    positions, efficacy = [], []
    for block in problem.store:
        dots = obj.row_gradient_dot(block.data["X"], block.data["target"], theta, v)
        positions.append(block.positions)
        efficacy.append(-obj.C * base.of(block) * dots)
    return np.concatenate(positions), np.concatenate(efficacy)


def _reweight(problem, cache, theta, gradient, positions, dm):
    """Apply multiplier changes ``dm`` at ``positions``: new problem, gradient at ``theta``
    and cache (low-rank update at its reference point)."""
    obj = problem.objective
    rows = problem.store.take(positions, ["X", "target", "sample_weight"])
    base = rows["sample_weight"] * problem.weighting.class_scale[rows["target"]]
    dw = base * dm
    gradient = obj.project(
        gradient + obj.C * obj.data_gradient(rows["X"], rows["target"], dw, theta)
    )
    multiplier = problem.weighting.multiplier.copy()
    multiplier[positions] += dm
    new_problem = Problem(
        obj, problem.store, Weighting(problem.weighting.class_scale, multiplier), problem.noise
    )
    if cache is not None:
        ref = rows["sample_weight"] * cache.class_scale_ref[rows["target"]] * dm
        down, up = ref < 0, ref > 0
        U_minus = np.sqrt(obj.C) * obj.data_hessian_factor(
            rows["X"][down], -ref[down], cache.theta_ref
        )
        U_plus = np.sqrt(obj.C) * obj.data_hessian_factor(rows["X"][up], ref[up], cache.theta_ref)
        try:
            cache = cache.update(U_minus, U_plus, n_removed=0)
        except DowndateError:
            new_problem, cache = refresh(new_problem, theta)
    return new_problem, gradient, cache


def puma_unlearn(
    problem: Problem,
    theta,
    gradient,
    cache,
    positions,
    criterion: Criterion,
    *,
    eta: float,
    bounds: tuple,
    max_steps: int,
    tol: float,
    refresh_below: float,
    seed: int = 0,
) -> PumaOutcome:
    """Forget ``positions`` by PUMA.

    ``problem`` is the current objective over the current rows (the forgotten ones included),
    ``gradient`` its exact gradient at ``theta``. Returns the final problem over the retained
    rows, the certified Newton result on it, and the bound on the distance to the plain
    retained optimum.
    """
    obj = problem.objective
    if cache is not None:
        cache = cache.with_factor()
    n_steps = max(1, math.ceil(1.0 / eta - 1e-9))
    start = problem.weighting.multiplier[positions].copy()
    before, _ = criterion.value_and_gradient(problem, theta, positions)
    passes = 0
    changed = set()
    reached = []
    removed_mask = None
    for k in range(n_steps):
        fraction = min(eta, 1.0 - k * eta)
        value, grad_p = criterion.value_and_gradient(problem, theta, positions)
        passes += criterion.X is None
        v, products = _solve(problem, cache, theta, grad_p)
        rows, efficacy = _influences(problem, theta, v)
        passes += products + 1
        if removed_mask is None:
            removed_mask = np.isin(rows, positions)
        dm_removed = -fraction * start
        # Cancel this step's first-order change, and the drift that the previous steps'
        # linearizations left (so that errors do not accumulate over the steps).
        target = -float(efficacy[removed_mask] @ dm_removed) - (value - before)
        keep = ~removed_mask
        dm_keep, got = greedy_compensation(
            efficacy[keep], problem.weighting.multiplier[rows[keep]], target, bounds
        )
        reached.append(got)
        moved = np.flatnonzero(dm_keep)
        changed.update(rows[keep][moved].tolist())
        all_pos = np.concatenate([positions, rows[keep][moved]])
        all_dm = np.concatenate([dm_removed, dm_keep[moved]])
        order = np.argsort(all_pos)
        problem, gradient, cache = _reweight(
            problem, cache, theta, gradient, all_pos[order], all_dm[order]
        )
        step, products = _solve(problem, cache, theta, gradient)
        theta = obj.project(theta - step)
        ev = evaluate(problem, theta, schur=False)
        gradient = ev.gradient
        passes += products + 1
    # The forgotten rows now weigh nothing: drop them (and make their multiplier exactly 0).
    multiplier = problem.weighting.multiplier.copy()
    multiplier[positions] = 0.0
    store = problem.store.without(positions)
    final = Problem(obj, store, Weighting(problem.weighting.class_scale, multiplier), problem.noise)
    ev = evaluate(final, theta, schur=False)
    result = newton_steps(
        final,
        theta,
        ev.gradient,
        cache,
        max_steps=max_steps,
        tol=tol,
        score_shift=ev.score_shift,
        refresh_below=refresh_below,
        seed=seed,
    )
    theta = result.evaluation.theta
    final = result.problem
    after, _ = criterion.value_and_gradient(final, theta)
    plain = Problem(obj, final.store, Weighting(final.weighting.class_scale), final.noise)
    ev_plain = evaluate(plain, theta)
    mu = ev_plain.mu_schur
    if result.cache is not None:
        retained = multiplier[final.store.positions()]
        # Curvature of the plain objective >= that of the reweighted one / max multiplier.
        ratio = min(1.0, 1.0 / max(float(retained.max()), 1e-300))
        cached = result.cache.curvature_at(
            ev_plain.score_shift, plain.weighting.class_scale, obj.penalty
        )
        mu = max(mu, ratio * cached)
    global_mu = 0.0 if obj.fit_intercept else obj.penalty_min
    plain_bound = distance_bound(
        ev_plain.grad_norm + ev_plain.rounding, max(mu, global_mu), ev_plain.radius, global_mu
    )
    details = {
        "puma_steps": n_steps,
        "rows_reweighted": len(changed),
        "compensated": float(np.min(reached)),
        "criterion_before": float(before),
        "criterion_after": float(after),
        "newton_steps": n_steps + result.steps,
        "gradient_passes": passes + 2 + result.passes,
        "hessian_refreshes": result.refreshes,
        "curvature_bound": result.mu,
        "gradient_norm": result.evaluation.grad_norm,
    }
    return PumaOutcome(final, result, plain_bound, details)
