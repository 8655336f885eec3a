"""Test session settings shared by every test module."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_process():
    # The test machine has two cores; BLAS and OpenMP pools in every process (and in loky
    # workers started by n_jobs=2 tests) oversubscribe them and make small fits 10-30x
    # slower. Results do not depend on the thread count.
    with threadpool_limits(limits=1):
        yield
