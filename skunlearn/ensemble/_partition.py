"""Assigning training rows to shards and slices.

Every function here is a deterministic function of its arguments and of the ``RandomState`` it
is given, so that the partition of a fit is reproducible from ``random_state``.
"""

from __future__ import annotations

import heapq

import numpy as np


def _units(n_samples: int, groups) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit of each row, number of units): a unit is a group, or a single row."""
    if groups is None:
        return np.arange(n_samples), n_samples
    _, inverse = np.unique(groups, return_inverse=True)
    inverse = inverse.ravel()
    return inverse, int(inverse.max()) + 1


def _balance_units(unit_order, unit_sizes, n_shards) -> np.ndarray:
    """Greedy balancing: each unit, largest first, goes to the least loaded shard.

    ``unit_order`` is a random permutation of the units so that ties between equal-sized units
    (and between equally loaded shards) are broken at random but reproducibly.
    """
    order = unit_order[np.argsort(-unit_sizes[unit_order], kind="stable")]
    heap = [(0, k) for k in range(n_shards)]
    shard_of_unit = np.empty(unit_sizes.size, dtype=np.intp)
    for unit in order:
        load, k = heapq.heappop(heap)
        shard_of_unit[unit] = k
        heapq.heappush(heap, (load + int(unit_sizes[unit]), k))
    return shard_of_unit


def assign_shards(
    n_samples: int,
    n_shards: int,
    rng: np.random.RandomState,
    *,
    y=None,
    stratify: bool = False,
    groups=None,
    deletion_prior=None,
) -> list[np.ndarray]:
    """Split the positions ``0 .. n_samples - 1`` into ``n_shards`` disjoint shards.

    Parameters
    ----------
    n_samples, n_shards : int
        Number of rows and of shards (shards may be empty when rows are few).
    rng : RandomState
        Source of randomness.
    y : ndarray, default=None
        Class labels, used when ``stratify`` is True.
    stratify : bool, default=False
        Deal the rows of every class evenly over the shards.
    groups : ndarray, default=None
        Group label of each row; all rows of a group land in the same shard.
    deletion_prior : ndarray, default=None
        Likelihood that each row will be deleted. Units (groups or rows) are sorted by their
        summed prior and shards are filled in that order, so that likely deletions are packed
        into few shards; inside a shard rows are ordered by increasing prior, so that likely
        deletions sit in the last slices.

    Returns
    -------
    shards : list of ndarray
        For each shard, its positions in training order.
    """
    unit_of_row, n_units = _units(n_samples, groups)
    unit_sizes = np.bincount(unit_of_row, minlength=n_units)
    if deletion_prior is not None:
        unit_prior = np.bincount(unit_of_row, weights=deletion_prior, minlength=n_units)
        tie_break = rng.permutation(n_units)
        order = np.lexsort((tie_break, -unit_prior))
        # Fill shards contiguously in that order, each up to an equal share of the rows.
        rows_before = np.cumsum(unit_sizes[order]) - unit_sizes[order]
        shard_of_unit = np.empty(n_units, dtype=np.intp)
        shard_of_unit[order] = np.minimum(rows_before * n_shards // n_samples, n_shards - 1)
    elif stratify:
        classes, y_idx = np.unique(y, return_inverse=True)
        dealt = np.concatenate(
            [rng.permutation(np.flatnonzero(y_idx == c)) for c in range(classes.size)]
        )
        shard_of_unit = np.empty(n_units, dtype=np.intp)
        shard_of_unit[dealt] = np.arange(n_samples) % n_shards
    elif groups is None:
        shard_of_unit = np.empty(n_units, dtype=np.intp)
        shard_of_unit[rng.permutation(n_samples)] = np.arange(n_samples) % n_shards
    else:
        shard_of_unit = _balance_units(rng.permutation(n_units), unit_sizes, n_shards)

    shard_of_row = shard_of_unit[unit_of_row]
    shards = [np.flatnonzero(shard_of_row == k) for k in range(n_shards)]
    if deletion_prior is not None:
        shards = [s[np.argsort(deletion_prior[s], kind="stable")] for s in shards]
    return shards


def split_slices(shard: np.ndarray, n_slices: int) -> list[np.ndarray]:
    """Cut a shard's training order into ``n_slices`` contiguous, nearly equal slices."""
    return [np.asarray(s, dtype=np.intp) for s in np.array_split(shard, n_slices)]
