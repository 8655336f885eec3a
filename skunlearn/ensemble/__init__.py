"""Exact unlearning by isolation (sharded SISA and class-partitioned ARCANE ensembles) and by
cached split statistics (unlearnable random forests)."""

from skunlearn.ensemble._class_partitioned import ClassPartitionedClassifier
from skunlearn.ensemble._forest import UnlearningForestClassifier, UnlearningForestRegressor
from skunlearn.ensemble._sharded import (
    ShardedEnsembleClassifier,
    ShardedEnsembleRegressor,
)

__all__ = [
    "ClassPartitionedClassifier",
    "ShardedEnsembleClassifier",
    "ShardedEnsembleRegressor",
    "UnlearningForestClassifier",
    "UnlearningForestRegressor",
]
