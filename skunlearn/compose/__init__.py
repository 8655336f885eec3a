"""Column transformers that forget training rows: drop-ins for :mod:`sklearn.compose`."""

from skunlearn.compose._column_transformer import ColumnTransformer, make_column_transformer

__all__ = ["ColumnTransformer", "make_column_transformer"]
