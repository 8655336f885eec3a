"""(epsilon, delta)-certified removal for L2 logistic regression (Guo et al., ICML 2020).

Training minimizes the perturbed objective ``F_D(theta) + b^T theta`` with a secret
``b ~ N(0, sigma^2 I)``. If a removal mechanism returns parameters whose gradient residual
``||grad (F_D' + b^T .)(theta)||`` on the retained rows ``D'`` is at most ``eps'``, then the
distribution of its output (over ``b``) and that of training from scratch on ``D'`` are
``(epsilon, delta)``-indistinguishable as long as ``eps' <= sigma * epsilon / c`` with
``c = sqrt(2 log(1.5 / delta))`` (Guo et al., Theorem 3). Residuals of successive removals are
accumulated against that budget; once it is spent, the model is retrained with a fresh ``b``.

The objective is in the sum form of :mod:`._losses` (``C sum_i s_i l_i + 1/2 ||W||^2``), so
``sigma`` is in its units. For the multinomial model with an intercept the objective is flat
along the gauge direction, where a linear term would make it unbounded: ``b`` is drawn on the
identifiable subspace only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_noise", "removal_budget"]


def removal_budget(epsilon: float, delta: float, noise: float) -> float:
    """Largest accumulated gradient residual ``sigma * epsilon / c`` that keeps the guarantee.

    Examples
    --------
    >>> from skunlearn.linear_model._certified import removal_budget
    >>> round(removal_budget(epsilon=1.0, delta=1e-4, noise=1.0), 4)
    0.228
    """
    c = np.sqrt(2.0 * np.log(1.5 / delta))
    return float(noise * epsilon / c)


def draw_noise(seed: int, training: int, noise: float, objective) -> np.ndarray:
    """The perturbation ``b`` of one training: a pure function of the fit's seed and of the
    number of trainings before it, so that retrains draw fresh noise reproducibly."""
    rng = np.random.default_rng([int(seed), int(training)])
    b = rng.normal(0.0, noise, size=objective.n_params)
    return objective.project(b)
