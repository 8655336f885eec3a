"""Exact unlearning by isolation: sharded (SISA) and class-partitioned (ARCANE) ensembles."""

from skunlearn.ensemble._class_partitioned import ClassPartitionedClassifier
from skunlearn.ensemble._sharded import (
    ShardedEnsembleClassifier,
    ShardedEnsembleRegressor,
)

__all__ = ["ClassPartitionedClassifier", "ShardedEnsembleClassifier", "ShardedEnsembleRegressor"]
