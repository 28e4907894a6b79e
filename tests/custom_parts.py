"""Parts of the tests' own, written as a user would, to show that glassnet works with any part, not its own alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.core.activations import Activation
from glassnet.core.layers import Layer


class Shift(Layer):
    """``a = x + t``: one learnable shift per feature, no activation (a layer that is not Dense)."""

    name = "shift"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n_in = self.n_out = n

    def initialize(self, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        self.params = {"t": np.zeros(self.n_in, dtype)}
        self.grads = {"t": np.zeros(self.n_in, dtype)}

    def forward(self, X: np.ndarray) -> np.ndarray:
        A = X + self.params["t"]
        self.cache = {"X": X, "Z": A, "A": A}
        return A

    def backward(self, dA: np.ndarray) -> np.ndarray:
        self.grads = {"t": dA.sum(axis=0)}
        return dA

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "n": self.n_in}

    def __repr__(self) -> str:
        return f"Shift({self.n_in})"


class Softsign(Activation):
    """``f(z) = z / (1 + |z|)``, ``f'(z) = 1 / (1 + |z|)**2``: an activation with only its readable forms."""

    name = "softsign"

    def forward(self, Z: np.ndarray) -> np.ndarray:
        return Z / (1 + np.abs(Z))

    def backward(self, Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> np.ndarray:
        return dA / (1 + np.abs(Z)) ** 2
