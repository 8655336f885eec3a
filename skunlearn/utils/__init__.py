"""Utilities: estimator discovery and the unlearning estimator checks."""

from skunlearn.utils.discovery import all_estimators, all_unlearners

__all__ = ["all_estimators", "all_unlearners"]
