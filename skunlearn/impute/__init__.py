"""Imputers that forget training rows: drop-ins for :mod:`sklearn.impute`."""

from skunlearn.impute._simple import SimpleImputer

__all__ = ["SimpleImputer"]
