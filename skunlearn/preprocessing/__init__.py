"""Exact decremental drop-ins for scikit-learn's scalers and encoders.

Change one import (``from skunlearn.preprocessing import StandardScaler``) and the fitted
transformer can forget training rows with ``unlearn(indices)``; its fitted attributes then equal
those of a fit on the retained rows, at a cost that does not grow with the training set.
"""

from skunlearn.preprocessing._encoders import OneHotEncoder
from skunlearn.preprocessing._scalers import MaxAbsScaler, MinMaxScaler, StandardScaler

__all__ = ["MaxAbsScaler", "MinMaxScaler", "OneHotEncoder", "StandardScaler"]
