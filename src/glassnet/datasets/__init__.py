"""Data for glassnet: small built-in problems and reading the user's own CSV files.

Every loader returns a :class:`Dataset`, which unpacks as ``X, y = glassnet.datasets.xor()``.
Everything here works offline.
"""

from glassnet.datasets.builtin import BUILTIN, Dataset, and_, get_dataset, or_, xor
from glassnet.datasets.csv import load_csv

__all__ = ["BUILTIN", "Dataset", "and_", "get_dataset", "load_csv", "or_", "xor"]
