"""The unlearnable forest's trees as a pickle holds them: what the layout implies, left out.

A pickle holds every tree laid out as ``fit`` lays it out (nodes and slots in depth-first
preorder, each node's rows contiguous, left child's first; see
:func:`~skunlearn.ensemble._forest_delete.compact_tree`). In that layout four node arrays are
implied by the others and need not be stored:

- ``left``: a split node's left child is the next node in preorder;
- ``start``: a node's rows begin where the rows of the leaves before it in preorder end;
- ``slot``: slots are numbered in preorder, so a flag per node says which nodes have one;
- ``value`` at split nodes is zero (only leaves have a value).

Deep trees have about as many nodes as rows, so the node arrays are most of a pickle: leaving
these out shrinks it by a fifth (binary) to over a third (10 classes). Packing is a function of
the laid-out tree alone, so two models with equal trees pickle to equal bytes.
"""

import numpy as np

from skunlearn.ensemble._forest_build import TREE_FIELDS

_IMPLIED = ("left", "start", "slot", "value")


def pack(arrays, fields=TREE_FIELDS):
    """Arrays of a tree laid out as ``fit`` lays it out (named by ``fields``: a whole tree, or
    prediction's view of one), without what that layout implies: the arrays not implied, in
    the order of ``fields``, then a flag per node for its slot (if ``fields`` has slots) and
    the leaves' values."""
    named = dict(zip(fields, arrays))
    leaves = named["feature"] < 0
    kept = tuple(named[name] for name in fields if name not in _IMPLIED)
    has_slot = (named["slot"] >= 0,) if "slot" in named else ()
    return (*kept, *has_slot, named["value"][leaves])


def unpack(packed, fields=TREE_FIELDS):
    """The inverse of :func:`pack`: every array of ``fields``, in their order."""
    kept = [name for name in fields if name not in _IMPLIED]
    named = dict(zip(kept, packed))
    feature = named["feature"]
    n, leaves = feature.shape[0], feature < 0
    named["left"] = np.where(leaves, np.int32(-1), np.arange(1, n + 1, dtype=np.int32))
    leaf_value = packed[-1]
    named["value"] = np.zeros((n, leaf_value.shape[1]), np.float64)
    named["value"][leaves] = leaf_value
    if "start" in fields:
        named["start"] = np.zeros(n, np.int32)
        named["start"][1:] = np.cumsum(np.where(leaves, named["count"], 0)[:-1])
    if "slot" in fields:
        has_slot = packed[len(kept)]
        named["slot"] = np.where(has_slot, np.cumsum(has_slot) - 1, -1).astype(np.int32)
    return tuple(named[name] for name in fields)
