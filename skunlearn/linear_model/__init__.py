"""Linear models that unlearn: exact closed forms for least squares, certified approximations."""

from skunlearn.linear_model._exact import BayesianRidge, LinearRegression, Ridge
from skunlearn.linear_model._influence import InfluenceUnlearnLogistic, RefitWarning

__all__ = [
    "BayesianRidge",
    "InfluenceUnlearnLogistic",
    "LinearRegression",
    "RefitWarning",
    "Ridge",
]
