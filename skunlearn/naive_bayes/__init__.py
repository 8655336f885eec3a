"""Naive Bayes classifiers that forget training rows exactly.

Drop-in replacements for :mod:`sklearn.naive_bayes`: change the import and the fitted model
gains :meth:`~skunlearn.UnlearnerMixin.unlearn`, which subtracts the forgotten rows'
sufficient statistics at a cost that does not grow with the training set.
"""

from skunlearn.naive_bayes._discrete import (
    BernoulliNB,
    CategoricalNB,
    ComplementNB,
    MultinomialNB,
)
from skunlearn.naive_bayes._gaussian import GaussianNB

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "GaussianNB", "MultinomialNB"]
