"""The :class:`Dataset` container every loader returns. Next read: ``builtin.py`` (the registry)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass
class Dataset:
    """Features ``X`` of shape ``(n_samples, n_features)``, targets ``y`` of shape ``(n_samples,)`` or
    ``(n_samples, n_outputs)``, and what is known about them. Unpacks as ``X, y = dataset``.

    ``classes`` maps class index -> original label when the targets are classes
    (``y`` then holds the indices ``0..k-1``); :meth:`decode` turns predicted indices back into labels.
    """

    X: NDArray[Any]
    y: NDArray[Any]
    name: str = ""
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "y"
    classes: list[Any] | None = None

    def __iter__(self) -> Iterator[NDArray[Any]]:
        return iter((self.X, self.y))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def decode(self, indices: Any) -> NDArray[Any]:
        """Original class labels for predicted class indices (e.g. ``net.predict(X)``)."""
        if self.classes is None:
            return np.asarray(indices)
        return np.asarray(self.classes, dtype=object)[np.asarray(indices, dtype=np.int64)]

    def subset(self, rows: Any, name: str | None = None) -> Dataset:
        """The same dataset restricted to ``rows`` (an index array, mask or slice)."""
        return Dataset(self.X[rows], self.y[rows], self.name if name is None else name, list(self.feature_names),
                       self.target_name, None if self.classes is None else list(self.classes))

    def __repr__(self) -> str:
        kind = f", {len(self.classes)} classes" if self.classes is not None else ""
        return f"Dataset({self.name!r}, X {self.X.shape}, y {self.y.shape}{kind})"
