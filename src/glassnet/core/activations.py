"""Activation functions: each one small class, the function and its derivative side by side.

Read this first. An activation turns a layer's weighted sums ``Z`` into its outputs ``A``.
``forward(Z)`` gives ``A``; ``backward(Z, A, dA)`` gives ``dZ = dA * f'(Z)`` (the chain rule
through the activation). Both ``Z`` and ``A`` are passed to ``backward`` because the derivative is
cheapest in terms of whichever the formula uses: sigmoid's is ``A * (1 - A)``, ReLU's is ``Z > 0``.

All arrays have shape ``(n_samples, n_units)``. Next read: ``layers.py``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import ConfigError, unknown_name

Array = NDArray[np.floating]


class Activation:
    """Base class. ``name`` is the canonical name used in files and messages."""

    name = ""
    # The input value(s) where the derivative jumps; gradient checks treat entries near them specially.
    kinks: tuple[float, ...] = ()

    def forward(self, Z: Array) -> Array:
        raise NotImplementedError

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(Activation):
    """``f(z) = z``, ``f'(z) = 1``."""

    name = "identity"

    def forward(self, Z: Array) -> Array:
        return Z

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = f(z) * (1 - f(z))``.

    Computed without overflow: for ``z < 0`` it uses ``exp(z) / (1 + exp(z))``.
    """

    name = "sigmoid"

    def forward(self, Z: Array) -> Array:
        # exp(-|z|) never overflows; the two branches are the same function rearranged.
        E = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * A * (1.0 - A)


class Tanh(Activation):
    """``f(z) = tanh(z)``, ``f'(z) = 1 - f(z)**2``."""

    name = "tanh"

    def forward(self, Z: Array) -> Array:
        return np.tanh(Z)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * (1.0 - A * A)


class ReLU(Activation):
    """``f(z) = max(z, 0)``, ``f'(z) = 1 if z > 0 else 0`` (0 at the kink ``z = 0``, like PyTorch)."""

    name = "relu"
    kinks = (0.0,)

    def forward(self, Z: Array) -> Array:
        return np.maximum(Z, 0.0)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return dA * (Z > 0)


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else slope * z``, ``f'(z) = 1 if z > 0 else slope``.

    ``slope`` defaults to 0.01, like ``torch.nn.LeakyReLU``.
    """

    name = "leaky_relu"
    kinks = (0.0,)

    def __init__(self, slope: float = 0.01) -> None:
        if isinstance(slope, bool) or not isinstance(slope, (int, float, np.integer, np.floating)) or not np.isfinite(slope):
            raise ConfigError(f"LeakyReLU slope must be a finite number (usually small, like 0.01), got {slope!r}")
        self.slope = float(slope)

    def forward(self, Z: Array) -> Array:
        return np.where(Z > 0, Z, self.slope * Z)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return np.where(Z > 0, dA, self.slope * dA)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class Softmax(Activation):
    """``f(z)_j = exp(z_j) / sum_k exp(z_k)`` over each row; for the output layer.

    Its Jacobian is ``diag(a) - a a^T``, so ``dZ = A * (dA - sum_k dA_k A_k)`` row by row.
    With ``loss="cross_entropy"`` that product is never formed: the loss gives ``dZ`` directly
    (see ``losses.CrossEntropy``). The row maximum is subtracted first so ``exp`` cannot overflow.
    """

    name = "softmax"

    def forward(self, Z: Array) -> Array:
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def backward(self, Z: Array, A: Array, dA: Array) -> Array:
        return A * (dA - (dA * A).sum(axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
}


def get_activation(name: str | Activation) -> Activation:
    """Return the activation called ``name`` (or ``name`` itself if it already is one).

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid names and the closest one.
    """
    if isinstance(name, Activation):
        return name
    key = str(name).lower()
    if key not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[key]()
