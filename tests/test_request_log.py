"""Requests as a log: idempotent retries, a bounded history for the audit, and logging."""

import logging
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.preprocessing import scale

from skunlearn.linear_model import InfluenceUnlearnLogistic
from skunlearn.naive_bayes import GaussianNB


@pytest.fixture
def model():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    keys = np.array([f"user-{i // 2:03d}" for i in range(60)])
    return GaussianNB().fit(X, y, keys=keys)


def test_retry_of_a_half_processed_batch_is_skipped_and_reported(model):
    model.unlearn([1, 2])
    with pytest.raises(ValueError, match="already unlearned"):
        model.unlearn([2, 3, 4])
    model.unlearn([2, 3, 4], already_forgotten="skip")
    report = model.unlearn_report_
    assert report["n_removed"] == 2 and report["n_skipped"] == 1
    np.testing.assert_array_equal(report["indices"], [3, 4])
    np.testing.assert_array_equal(model.unlearned_indices_, [1, 2, 3, 4])


def test_a_retry_with_nothing_left_is_logged_not_reported(model):
    model.unlearn(keys=["user-005"])
    report = model.unlearn_report_
    model.unlearn(keys=["user-005"], already_forgotten="skip")
    model.unlearn([10, 11], already_forgotten="skip")
    assert model.unlearn_report_ is report  # the model did not change
    first, second, third = model.unlearn_history_
    assert first["n_removed"] == 2 and first["by_key"] and first["n_keys"] == 1
    assert second["n_removed"] == 0 and second["n_keys_skipped"] == 1
    assert third["n_removed"] == 0 and third["n_skipped"] == 2
    assert "exact" not in second  # nothing was computed


def test_already_forgotten_is_validated(model):
    with pytest.raises(ValueError, match="already_forgotten must be"):
        model.unlearn([0], already_forgotten="ignore")


def test_history_is_bounded_and_holds_no_keys(model):
    model.unlearn_history_size = 3
    for key in ("user-001", "user-002", "user-003", "user-004"):
        model.unlearn(keys=key)
    assert len(model.unlearn_history_) == 3
    entry = model.unlearn_history_[-1]
    np.testing.assert_array_equal(entry["indices"], [8, 9])
    assert {"time", "n_removed", "exact", "distance_bound", "seconds"} <= set(entry)
    assert entry["exact"] is True and entry["distance_bound"] is None
    assert "samples_retrained" in entry
    # Keys are personal data: the log keeps positions, never keys.
    blob = pickle.dumps(model.unlearn_history_)
    for key in ("user-001", "user-004"):
        assert key.encode() not in blob and key.encode("utf-32-le") not in blob


def test_fit_starts_a_new_history(model):
    model.unlearn([0])
    X, y = make_classification(n_samples=60, n_features=4, random_state=1)
    assert model.fit(X, y).unlearn_history_ == []


def test_requests_are_logged(model, caplog):
    with caplog.at_level(logging.INFO, logger="skunlearn"):
        model.unlearn([0, 1])
    (record,) = [r for r in caplog.records if r.name.startswith("skunlearn")]
    assert record.levelno == logging.INFO
    assert "GaussianNB: forgot 2 rows (exact)" in record.getMessage()


def test_a_refit_on_every_request_is_a_warning(caplog):
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    # A distance budget no Newton step can meet: every request falls back to a refit.
    model = InfluenceUnlearnLogistic(max_distance=1e-14, solver="cholesky").fit(X * 100, y)
    with caplog.at_level(logging.WARNING, logger="skunlearn"), pytest.warns(UserWarning):
        model.unlearn([0])
        model.unlearn([1])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and model.unlearn_report_["refit"] is True
    assert "fell back to a refit" in warnings[0].getMessage()
    assert "for the last 2 requests in a row" in warnings[1].getMessage()
    assert model.unlearn_history_[-1]["refit"] is True


def test_a_refit_chosen_because_it_is_cheaper_is_no_warning(caplog):
    X, y = load_digits(return_X_y=True)
    model = InfluenceUnlearnLogistic().fit(scale(X), y)  # solver="auto"
    # A rank-1000 downdate of the (650, 650) factor costs more than a refit.
    forget = np.arange(0, len(y), 18)
    assert model.estimate_unlearn_cost(forget)["refit"]
    with caplog.at_level(logging.INFO, logger="skunlearn"):
        model.unlearn(forget)
    assert model.unlearn_report_["refit"] and model.unlearn_report_["refit_cheaper"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r for r in caplog.records if r.levelno == logging.INFO]  # the request is logged
