"""Find every public estimator of the package, as ``sklearn.utils.all_estimators`` does."""

from __future__ import annotations

import inspect
import pkgutil
from importlib import import_module

from sklearn.base import BaseEstimator

from skunlearn.base import is_unlearner

__all__ = ["all_estimators", "all_unlearners"]


def all_estimators() -> list[tuple[str, type]]:
    """List the public estimator classes of skunlearn.

    Walks every public module of the package (skipping tests and private modules) and keeps the
    classes that derive from :class:`~sklearn.base.BaseEstimator`, are defined in skunlearn and
    are not abstract.

    Returns
    -------
    estimators : list of (name, class)
        Sorted by name.

    Examples
    --------
    >>> from skunlearn.utils import all_estimators
    >>> "ShardedEnsembleClassifier" in dict(all_estimators())
    True
    """
    import skunlearn

    found = {}
    for module_info in pkgutil.walk_packages(skunlearn.__path__, prefix="skunlearn."):
        parts = module_info.name.split(".")
        if any(part.startswith("_") or part == "tests" for part in parts[1:]):
            continue
        if parts[1] in ("__main__",):
            continue
        module = import_module(module_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("skunlearn.")
                and not name.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items())


def all_unlearners() -> list[tuple[str, type]]:
    """List the public estimator classes that implement the unlearning contract.

    Returns
    -------
    unlearners : list of (name, class)
        Sorted by name.

    Examples
    --------
    >>> from skunlearn.utils import all_unlearners
    >>> "ShardedEnsembleRegressor" in dict(all_unlearners())
    True
    """
    return [(name, cls) for name, cls in all_estimators() if is_unlearner(cls)]
