"""Built-in datasets, made in code so they need no download."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import unknown_name


@dataclass
class Dataset:
    """Features ``X`` of shape ``(n_samples, n_features)``, targets ``y`` of shape ``(n_samples,)`` or
    ``(n_samples, n_outputs)``, and what is known about them. Unpacks as ``X, y = dataset``.

    ``classes`` maps class index -> original label when the targets are classes.
    """

    X: NDArray[Any]
    y: NDArray[Any]
    name: str = ""
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "y"
    classes: list[Any] | None = None

    def __iter__(self) -> Iterator[NDArray[Any]]:
        return iter((self.X, self.y))

    def __repr__(self) -> str:
        kind = f", {len(self.classes)} classes" if self.classes is not None else ""
        return f"Dataset({self.name!r}, X {self.X.shape}, y {self.y.shape}{kind})"


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


BUILTIN: dict[str, Callable[..., Dataset]] = {"xor": xor, "and": and_, "or": or_}


def get_dataset(name: str, **options: Any) -> Dataset:
    """The built-in dataset called ``name`` (see ``BUILTIN``), made with ``options`` (e.g. ``n``, ``seed``)."""
    key = name.lower().rstrip("_")
    if key not in BUILTIN:
        raise unknown_name("dataset", name, BUILTIN)
    return BUILTIN[key](**options)
