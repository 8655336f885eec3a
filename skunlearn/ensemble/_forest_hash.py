"""Seeded hashes behind every random choice of the unlearnable forest.

A random choice made from an RNG stream depends on how many draws came before it, hence on the
order of work and on rows that are later forgotten. Here every choice is instead the minimum of
a hash of (tree seed, node position, feature, value): retraining on the retained rows sees the
same node keys and the same values, so it makes the same choices.

The node key chains the path from the root (``child_key(key, 0)`` is the left child), so two
nodes at the same place of two trees grown with the same seed have the same key whatever the
rows below them. Hashes are splitmix64 finalizers, cheap and well mixed.
"""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CHILD = np.uint64(0xD6E8FEB86659FD93)
_FEATURE = np.uint64(0xA0761D6478BD642F)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


@njit(cache=True, nogil=True)
def splitmix64(x):
    """The splitmix64 finalizer of ``x`` (uint64)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def root_key(seed):
    return splitmix64(np.uint64(seed))


@njit(cache=True, nogil=True)
def child_key(key, bit):
    """Key of the left (``bit=0``) or right (``bit=1``) child of the node with ``key``."""
    return splitmix64(key ^ (_CHILD * np.uint64(bit + 1)))


@njit(cache=True, nogil=True)
def feature_hash(key, feature):
    """Rank of ``feature`` at the node with ``key`` (smallest first).

    One finalizer round suffices: ``key`` is already well mixed, the inputs are distinct for
    distinct features, and the finalizer's avalanche decorrelates nearby inputs.
    """
    return splitmix64(key ^ (np.uint64(feature) * _FEATURE))


@njit(cache=True, nogil=True)
def value_hash(fhash, bits):
    """Rank of a candidate threshold (its float32 ``bits``) of a feature hashed ``fhash``.

    One finalizer round, as in :func:`feature_hash`: this hash runs for every row of every
    node and feature.
    """
    return splitmix64(fhash ^ np.uint64(bits))
