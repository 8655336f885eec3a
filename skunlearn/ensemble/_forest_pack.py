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

_F = {name: i for i, name in enumerate(TREE_FIELDS)}
_IMPLIED = ("left", "start", "slot", "value")
# The fields a packed tree stores, in this order, then "has_slot" and the leaves' values.
_KEPT = tuple(name for name in TREE_FIELDS if name not in _IMPLIED)

# Prediction's view of a tree (see ``_forest._PREDICT_FIELDS``), packed likewise.
_PREDICT_KEPT = ("feature", "threshold", "right", "wsum", "impurity")


def _left(feature):
    n = feature.shape[0]
    return np.where(feature >= 0, np.arange(1, n + 1, dtype=np.int32), np.int32(-1))


def _leaf_value(feature, leaf_value):
    value = np.zeros((feature.shape[0], leaf_value.shape[1]), np.float64)
    value[feature < 0] = leaf_value
    return value


def pack_tree(tree):
    """A tree laid out as ``fit`` lays it out, without the arrays that layout implies."""
    feature = tree[_F["feature"]]
    kept = tuple(tree[_F[name]] for name in _KEPT)
    return (*kept, tree[_F["slot"]] >= 0, tree[_F["value"]][feature < 0])


def unpack_tree(packed):
    """The inverse of :func:`pack_tree`: the tree with every array of ``TREE_FIELDS``."""
    fields = dict(zip(_KEPT, packed[: len(_KEPT)]))
    has_slot, leaf_value = packed[len(_KEPT) :]
    feature, count = fields["feature"], fields["count"]
    start = np.zeros(feature.shape[0], np.int32)
    start[1:] = np.cumsum(np.where(feature < 0, count, 0)[:-1], dtype=np.int64)
    slot = np.where(has_slot, np.cumsum(has_slot) - 1, -1).astype(np.int32)
    fields.update(
        left=_left(feature), start=start, slot=slot, value=_leaf_value(feature, leaf_value)
    )
    return tuple(fields[name] for name in TREE_FIELDS)


def pack_predict(view, fields):
    """Prediction's view of a tree (arrays named by ``fields``), packed as :func:`pack_tree`."""
    named = dict(zip(fields, view))
    feature = named["feature"]
    return (*(named[name] for name in _PREDICT_KEPT), named["value"][feature < 0])


def unpack_predict(packed, fields):
    """The inverse of :func:`pack_predict`, in the order of ``fields``."""
    named = dict(zip(_PREDICT_KEPT, packed[: len(_PREDICT_KEPT)]))
    feature = named["feature"]
    named.update(left=_left(feature), value=_leaf_value(feature, packed[-1]))
    return tuple(named[name] for name in fields)
