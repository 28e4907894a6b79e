"""The real datasets scikit-learn ships inside its package (no download): iris, digits, wine, breast_cancer.

scikit-learn is imported only when one of these is called; without it the error says which extra to
install (``pip install "glassnet[sklearn]"``). ``y`` holds class indices and ``dataset.classes`` the names.

Next read: ``csv.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.datasets.dataset import Dataset
from glassnet.errors import require


def _load(name: str) -> Dataset:
    datasets: Any = require("sklearn.datasets", "sklearn", f"the {name} dataset")
    bunch = getattr(datasets, f"load_{name}")()
    features = [str(f) for f in getattr(bunch, "feature_names", [])] or [f"x{i}" for i in range(bunch.data.shape[1])]
    return Dataset(np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64), name,
                   features, "target", [str(c) for c in bunch.target_names])


def iris() -> Dataset:
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species."""
    return _load("iris")


def digits() -> Dataset:
    """8x8 images of handwritten digits: 1797 samples, 64 pixel intensities 0..16, 10 classes."""
    return _load("digits")


def wine() -> Dataset:
    """Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars."""
    return _load("wine")


def breast_cancer() -> Dataset:
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, malignant or benign."""
    return _load("breast_cancer")
