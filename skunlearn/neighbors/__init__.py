"""Nearest-neighbour estimators that forget training rows exactly.

Drop-in replacements for :mod:`sklearn.neighbors`: change the import and the fitted model
gains :meth:`~skunlearn.UnlearnerMixin.unlearn`, which removes rows from the stored data
and rebuilds only the index blocks that held them.
"""

from skunlearn.neighbors._classification import KNeighborsClassifier
from skunlearn.neighbors._regression import KNeighborsRegressor
from skunlearn.neighbors._unsupervised import NearestNeighbors

__all__ = ["KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors"]
