"""Which scikit-learn transformers learn nothing from the values of their training rows.

A pipeline or column transformer that forgets rows has nothing to do for such a step: its
fitted state is a function of its parameters and of the shape (or column names) of the data,
never of a row's values, so it is the same after a refit on the retained rows.
"""

from __future__ import annotations

from sklearn.preprocessing import PolynomialFeatures, SplineTransformer
from sklearn.utils import get_tags

__all__ = ["learns_from_rows"]


def learns_from_rows(step) -> bool:
    """Whether fitting ``step`` keeps anything computed from the values of the rows.

    False for estimators with ``requires_fit=False`` in their tags (``FunctionTransformer``,
    ``Normalizer``, ...), for :class:`~sklearn.preprocessing.PolynomialFeatures` (its fit
    counts features) and for :class:`~sklearn.preprocessing.SplineTransformer` with knots given
    as an array (with ``knots="uniform"`` or ``"quantile"`` it places them from the rows, so it
    learns from them). True for everything else.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import SplineTransformer, StandardScaler
    >>> from skunlearn.utils._stateless import learns_from_rows
    >>> learns_from_rows(StandardScaler()), learns_from_rows(SplineTransformer())
    (True, True)
    >>> learns_from_rows(SplineTransformer(knots=np.linspace(0, 1, 5)[:, None]))
    False
    """
    if not get_tags(step).requires_fit:
        return False
    if type(step) is PolynomialFeatures:
        return False
    if type(step) is SplineTransformer and not isinstance(step.knots, str):
        return False
    return True
