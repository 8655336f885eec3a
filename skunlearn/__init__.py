"""skunlearn: machine unlearning for scikit-learn.

Drop-in scikit-learn estimators with one more verb, ``unlearn(indices)``, that removes training
rows from a fitted model: exactly where possible, approximately with a reported bound where not.

Subpackages are imported on first use (``import skunlearn; skunlearn.ensemble``), as in
scikit-learn, so that ``import skunlearn`` stays cheap.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

from skunlearn.base import UnlearnerMixin, is_unlearner

try:
    __version__ = version("skunlearn")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    __version__ = "0.0.0+unknown"

_SUBMODULES = [
    "bayes",
    "compose",
    "ensemble",
    "impute",
    "linear_model",
    "metrics",
    "naive_bayes",
    "neighbors",
    "pipeline",
    "preprocessing",
    "utils",
]

__all__ = ["UnlearnerMixin", "__version__", "is_unlearner", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"skunlearn.{name}")
    raise AttributeError(f"module 'skunlearn' has no attribute {name!r}")


def __dir__():
    return __all__
