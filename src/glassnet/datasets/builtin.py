"""Built-in datasets, made in code or shipped with scikit-learn, so they need no download.

``BUILTIN`` maps each name to its loader; :func:`get_dataset` is how the CLI and other callers pick one
by name (``get_dataset("moons", n=500, noise=0.2, seed=1)``). Next read: ``synthetic.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.real import breast_cancer, digits, iris, wine
from glassnet.datasets.synthetic import blobs, circles, moons, spiral
from glassnet.errors import ConfigError, unknown_name

__all__ = ["BUILTIN", "Dataset", "and_", "get_dataset", "or_", "xor"]

_TRUTH_TABLE = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def _logic(name: str, outputs: list[int]) -> Dataset:
    return Dataset(_TRUTH_TABLE.copy(), np.array(outputs, dtype=np.int64), name, ["x1", "x2"], name, [0, 1])


def xor() -> Dataset:
    """The four rows of exclusive or: ``y = x1 XOR x2``. Not linearly separable: it needs a hidden layer."""
    return _logic("xor", [0, 1, 1, 0])


def and_() -> Dataset:
    """The four rows of logical and."""
    return _logic("and", [0, 0, 0, 1])


def or_() -> Dataset:
    """The four rows of logical or."""
    return _logic("or", [0, 1, 1, 1])


BUILTIN: dict[str, Callable[..., Dataset]] = {
    "xor": xor, "and": and_, "or": or_,
    "circles": circles, "moons": moons, "spiral": spiral, "blobs": blobs,
    "iris": iris, "digits": digits, "wine": wine, "breast_cancer": breast_cancer,
}


def get_dataset(name: str, **options: Any) -> Dataset:
    """The built-in dataset called ``name`` (see ``BUILTIN``), made with ``options`` (e.g. ``n``, ``noise``, ``seed``).

    Options the dataset does not take raise :class:`ConfigError` listing the ones it does.
    """
    key = str(name).lower().rstrip("_")
    if key not in BUILTIN:
        raise unknown_name("dataset", name, BUILTIN)
    loader = BUILTIN[key]
    accepted = list(inspect.signature(loader).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no options"
        raise ConfigError(f"dataset {key!r} has no option(s) {', '.join(unknown)}; {takes}")
    return loader(**options)
