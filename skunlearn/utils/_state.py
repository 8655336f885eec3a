"""One consistent state for the drop-ins whose prediction code is scikit-learn's.

skunlearn's own estimators read their fitted attributes with ``_read_state`` and rebind them
with ``_swap_state`` (see :mod:`skunlearn.base`). The drop-ins (naive Bayes, scalers, encoders,
the pipeline) inherit their ``fit``, ``predict`` and ``transform`` from scikit-learn, which reads
and sets attributes one at a time. Three helpers give them the same guarantee without
rewriting that code:

- :func:`state_copy`: a shallow copy of the estimator, all of its attributes taken in one
  ``_read_state``. Shallow is enough: an unlearn rebinds attributes and never mutates the
  arrays or objects the old state references.
- :func:`swap_in`: the unlearn path runs scikit-learn's code on such a copy (which no reader
  sees) and then rebinds, in one ``_swap_state``, every attribute the copy changed.
  :class:`UnlearnOnCopyMixin` does both.
- :func:`reads_one_state`: a prediction method that runs scikit-learn's method on a
  :func:`state_copy`, so that everything it reads belongs to the same model.
"""

from __future__ import annotations

import functools

from sklearn.utils._available_if import _AvailableIfDescriptor, available_if

__all__ = ["UnlearnOnCopyMixin", "reads_one_state", "state_copy", "swap_in"]

_MISSING = object()


def state_copy(estimator):
    """A shallow copy of ``estimator`` whose attributes all come from one ``_read_state``."""
    names = tuple(vars(estimator))
    copy = object.__new__(type(estimator))
    copy.__dict__.update(zip(names, estimator._read_state(*names)))
    return copy


def swap_in(estimator, new) -> None:
    """Rebind on ``estimator``, in one ``_swap_state``, every attribute that ``new`` (a
    :func:`state_copy` of it) rebound or added."""
    current = vars(estimator)
    changed = {
        name: value for name, value in vars(new).items() if current.get(name, _MISSING) is not value
    }
    estimator._swap_state(**changed)


def reads_one_state(method):
    """A method that runs ``method`` (scikit-learn's) on a :func:`state_copy` of ``self``.

    ``method`` may be an ``available_if`` descriptor, whose condition is kept. A ``transform``
    wrapped by scikit-learn's ``set_output`` is unwrapped first: the class that defines the new
    method is wrapped again by ``set_output`` itself.
    """
    check = None
    if isinstance(method, _AvailableIfDescriptor):
        method, check = method.fn, method.check
    inner = method
    if method.__name__ == "transform" and hasattr(method, "__wrapped__"):
        inner = method.__wrapped__

    @functools.wraps(inner)
    def read(self, *args, **kwargs):
        return inner(state_copy(self), *args, **kwargs)

    return read if check is None else available_if(check)(read)


class UnlearnOnCopyMixin:
    """``_unlearn`` for estimators whose new state comes from scikit-learn's own code.

    That code sets the fitted attributes one at a time, so it runs on a shallow copy that no
    reader sees (subclasses implement ``_unlearn_aside(positions)``, which rebinds attributes
    of ``self``, the copy, and returns the report's details); the changes are then swapped in
    at once. Place it left of :class:`~skunlearn.base.UnlearnerMixin`.
    """

    def _unlearn(self, positions):
        new = state_copy(self)
        details = new._unlearn_aside(positions)
        swap_in(self, new)
        return details

    def _unlearn_aside(self, positions) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError
