"""The example of doc/developers.rst ("Write your own unlearner") runs and passes its checks."""

import re
import sys
import types
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import check_estimator

from skunlearn.utils.estimator_checks import UNLEARN_CHECKS

PAGE = Path(__file__).resolve().parents[1] / "doc" / "developers.rst"


def _code_blocks(text):
    """The ``.. code-block:: python`` blocks of a reStructuredText page, dedented."""
    blocks = []
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:(?: {3}.*)?\n)+)", text):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[3:] for line in lines))
    return blocks


@pytest.fixture(scope="module")
def namespace():
    if not PAGE.exists():
        pytest.skip("the documentation is not part of this checkout")
    # A real module, so that the checks can pickle the example's estimator.
    module = types.ModuleType("skunlearn_developers_example")
    sys.modules[module.__name__] = module
    try:
        for block in _code_blocks(PAGE.read_text(encoding="utf-8")):
            exec(compile(block, str(PAGE), "exec"), module.__dict__)
        yield module.__dict__
    finally:
        del sys.modules[module.__name__]


def test_example_is_exact(namespace):
    assert namespace["model"].unlearn_report_["samples_retrained"] == 147


def test_example_passes_sklearn_checks(namespace):
    check_estimator(namespace["UnlearningNearestCentroid"]())


@pytest.mark.parametrize("check", UNLEARN_CHECKS, ids=lambda check: check.__name__)
def test_example_passes_unlearning_checks(namespace, check):
    check(namespace["UnlearningNearestCentroid"](), namespace["X"], namespace["y"])
