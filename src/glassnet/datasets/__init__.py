"""Data for glassnet: built-in problems, scikit-learn's offline real datasets, the user's own CSV files,
and the two steps every experiment needs next: a seeded train/test split and standardisation.

Every loader returns a :class:`Dataset`, which unpacks as ``X, y = glassnet.datasets.xor()``.
Everything here works offline. Reading order: ``dataset.py``, ``builtin.py``, ``synthetic.py``,
``real.py``, ``csv.py``, ``split.py``.
"""

from glassnet.datasets.builtin import BUILTIN, and_, get_dataset, or_, xor
from glassnet.datasets.csv import load_csv
from glassnet.datasets.dataset import Dataset
from glassnet.datasets.real import breast_cancer, digits, iris, wine
from glassnet.datasets.split import Standardizer, train_test_split
from glassnet.datasets.synthetic import blobs, circles, moons, spiral

__all__ = [
    "BUILTIN", "Dataset", "Standardizer", "and_", "blobs", "breast_cancer", "circles", "digits", "get_dataset",
    "iris", "load_csv", "moons", "or_", "spiral", "train_test_split", "wine", "xor",
]
