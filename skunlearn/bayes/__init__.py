"""Bayesian unlearning: Gaussian variational posteriors that forget rows.

:class:`VariationalUnlearnLogistic` (Bayesian logistic regression) and
:class:`SparseGPClassifier` (sparse Gaussian-process classification) keep a full-covariance
Gaussian posterior and forget rows by site subtraction, by minimizing the evidence upper bound,
or by reverse-KL moment matching (Nguyen, Low & Jaillet, "Variational Bayesian Unlearning",
NeurIPS 2020), with or without the retained rows at hand.
"""

from skunlearn.bayes._adjusted import EffectiveSampleSizeWarning
from skunlearn.bayes._sparse_gp import SparseGPClassifier
from skunlearn.bayes._variational import VariationalUnlearnLogistic

__all__ = ["EffectiveSampleSizeWarning", "SparseGPClassifier", "VariationalUnlearnLogistic"]
