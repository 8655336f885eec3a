"""Audit: check that unlearning took effect, and weigh what forgetting costs.

- membership inference: can an attacker still tell the forgotten rows from rows the model
  never saw (:func:`membership_inference_auc`, :class:`MembershipInferenceAttack`);
- distance to retraining: how differently the unlearned model behaves from one retrained
  without the rows (:func:`retrain_gap`), and whether the method kept its promise, exact or
  within its bound (:func:`verify_unlearning`);
- cost: the expected number of rows retrained to forget one row
  (:func:`expected_unlearn_cost`), as a scorer for model selection (:data:`unlearn_cost_scorer`,
  :func:`make_unlearn_cost_scorer`).
"""

from skunlearn.metrics._cost import (
    expected_unlearn_cost,
    make_unlearn_cost_scorer,
    unlearn_cost_scorer,
)
from skunlearn.metrics._gap import retrain_gap
from skunlearn.metrics._membership import MembershipInferenceAttack, membership_inference_auc
from skunlearn.metrics._verify import VerificationReport, verify_unlearning

__all__ = [
    "MembershipInferenceAttack",
    "VerificationReport",
    "expected_unlearn_cost",
    "make_unlearn_cost_scorer",
    "membership_inference_auc",
    "retrain_gap",
    "unlearn_cost_scorer",
    "verify_unlearning",
]
