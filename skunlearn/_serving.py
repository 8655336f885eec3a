"""Serving copies: the predict-only models pushed to where predictions are served.

To forget, an unlearner keeps what a plain model does not need (its training rows, sufficient
statistics, checkpoints). The model that answers predictions needs none of it, so
``serving_copy()`` hands out a copy without it: for skunlearn's drop-ins, an instance of the
scikit-learn class they replace (a subclass of it defined here, whose only addition is a
clear error from ``unlearn``) holding the same fitted attributes as scikit-learn's own fit;
for skunlearn's own estimators, a copy of the estimator without its training state.

The serving classes are created when this module is imported, so that a pickled serving
copy loads in a new process: a drop-in whose scikit-learn class is not listed in
``_SERVED_CLASSES`` must be added there.
"""

from __future__ import annotations

import copy
from importlib import import_module

__all__ = ["SERVING_MESSAGE", "ServingMixin", "as_serving", "serving_class"]

SERVING_MESSAGE = (
    "This {name} is a serving copy (made by serving_copy()): it holds no training rows, so it "
    "cannot forget. Unlearn on the unlearnable model kept with the training data (in the data "
    "store), then push a new serving_copy() of it to where predictions are served."
)

# The scikit-learn classes that skunlearn's drop-ins replace (their serving copies' bases),
# each with the private fitted attributes its own prediction code reads. A serving copy holds
# the public fitted attributes, these, and the parameters: nothing else of the unlearner.
_SERVED_CLASSES = {
    "sklearn.linear_model.LogisticRegression": (),
    "sklearn.linear_model.LinearRegression": (),
    "sklearn.linear_model.Ridge": (),
    "sklearn.linear_model.BayesianRidge": (),
    "sklearn.naive_bayes.GaussianNB": (),
    "sklearn.naive_bayes.BernoulliNB": (),
    "sklearn.naive_bayes.CategoricalNB": (),
    "sklearn.naive_bayes.ComplementNB": (),
    "sklearn.naive_bayes.MultinomialNB": (),
    "sklearn.preprocessing.StandardScaler": (),
    "sklearn.preprocessing.MinMaxScaler": (),
    "sklearn.preprocessing.MaxAbsScaler": (),
    "sklearn.preprocessing.OneHotEncoder": (
        "_infrequent_enabled",
        "_drop_idx_after_grouping",
        "_n_features_outs",
        "_default_to_infrequent_mappings",
        "_infrequent_indices",
    ),
    "sklearn.impute.SimpleImputer": ("_fit_dtype", "_fill_dtype"),
    "sklearn.neighbors.KNeighborsClassifier": (),
    "sklearn.neighbors.KNeighborsRegressor": (),
    "sklearn.neighbors.NearestNeighbors": (),
}


class ServingMixin:
    """Base of the serving classes: a scikit-learn estimator that refuses to forget.

    ``unlearn`` and ``estimate_unlearn_cost`` raise ``AttributeError`` with a message saying
    where the unlearnable model lives, so ``hasattr(copy, "unlearn")`` is False and
    :func:`skunlearn.is_unlearner` does not take a serving copy for an unlearner.
    """

    @property
    def unlearn(self):
        raise AttributeError(SERVING_MESSAGE.format(name=type(self).__name__))

    @property
    def estimate_unlearn_cost(self):
        raise AttributeError(SERVING_MESSAGE.format(name=type(self).__name__))


_REGISTRY: dict[type, type] = {}

# For each served scikit-learn class, the private fitted attributes its prediction reads.
PRIVATE_ATTRIBUTES: dict[type, tuple] = {}


def _define(path: str, private: tuple) -> None:
    module, name = path.rsplit(".", 1)
    base = getattr(import_module(module), name)
    serving_name = f"Serving{name}"
    cls = type(
        serving_name,
        (ServingMixin, base),
        {
            "__module__": __name__,
            "__qualname__": serving_name,
            "__doc__": (
                f"A fitted :class:`{module}.{name}` handed out by ``serving_copy()``: it "
                "predicts as the unlearner it was copied from and cannot forget."
            ),
        },
    )
    globals()[serving_name] = cls
    _REGISTRY[base] = cls
    PRIVATE_ATTRIBUTES[base] = private


for _path, _private in _SERVED_CLASSES.items():
    _define(_path, _private)


def serving_class(cls: type) -> type:
    """The serving class whose base is the scikit-learn class ``cls``."""
    try:
        return _REGISTRY[cls]
    except KeyError:
        raise TypeError(
            f"No serving class for {cls.__module__}.{cls.__name__}: add it to "
            "skunlearn._serving._SERVED_CLASSES."
        ) from None


def as_serving(estimator, attributes: dict | None = None, target: type | None = None):
    """A serving copy of a fitted scikit-learn ``estimator``: a deep copy of its attributes
    (or of ``attributes`` only) in an instance of the serving subclass of its class (or of
    the scikit-learn class ``target``)."""
    new = object.__new__(serving_class(type(estimator) if target is None else target))
    new.__dict__.update(copy.deepcopy(vars(estimator) if attributes is None else attributes))
    return new
