"""Test session settings shared by every test module."""

import os

import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# CI runs the same examples every time, so that a red build is reproducible; local runs keep
# exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_process():
    # The test machine has two cores; BLAS and OpenMP pools in every process (and in loky
    # workers started by n_jobs=2 tests) oversubscribe them and make small fits 10-30x
    # slower. Results do not depend on the thread count.
    with threadpool_limits(limits=1):
        yield
