"""Losses: one number that says how wrong the network's outputs are, and its gradient.

All losses are means: ``mse`` over samples and outputs (like ``torch.nn.MSELoss``), ``bce`` over
samples and outputs (like ``torch.nn.BCEWithLogitsLoss``), ``cross_entropy`` over samples (like
``torch.nn.CrossEntropyLoss``). **Batch averaging lives here**, in the gradient's ``1 / N``; layers
then apply the plain chain rule.

Two losses are *fused* with the output activation. ``bce`` needs a sigmoid output layer and
``cross_entropy`` a softmax one; both compute the loss from the pre-activation ``Z`` (stable for any
``Z``) and give ``dZ`` directly, because ``dLoss/dZ`` simplifies to ``(A - Y) / N`` (derived in each
docstring). An unfused loss (``mse``) gives ``dA`` and the layer multiplies by the activation's
derivative.

Targets ``Y`` always arrive here as float arrays of shape ``(n_samples, n_outputs)``; integer class
labels are one-hot encoded by the network before they get here. Next read: ``network.py``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import unknown_name

Array = NDArray[np.floating]


class Loss:
    """Base class. ``fused_activation`` names the output activation a fused loss requires."""

    name = ""
    fused_activation: str | None = None

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        """The mean loss, from the output layer's pre-activation ``Z`` and activation ``A``."""
        raise NotImplementedError

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        """``dLoss/dA`` for an unfused loss, ``dLoss/dZ`` for a fused one; shape ``(n_samples, n_outputs)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """``L = mean((A - Y)**2)`` over all ``N = n_samples * n_outputs`` entries; ``dL/dA = 2 (A - Y) / N``."""

    name = "mse"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        return float(np.mean((A - Y) ** 2))

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return 2.0 * (A - Y) / A.size


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on a sigmoid output, ``L = -mean(y log a + (1 - y) log(1 - a))``.

    With ``a = sigmoid(z)``: ``log a = -softplus(-z)`` and ``log(1 - a) = -softplus(z)``, so per entry
    ``l = softplus(z) - y z`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``, finite for every ``z``.
    Derivative: ``dl/dz = sigmoid(z) - y = a - y``; the mean over ``N = n_samples * n_outputs``
    entries gives ``dL/dZ = (A - Y) / N``.
    """

    name = "bce"
    fused_activation = "sigmoid"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        softplus = np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))
        return float(np.mean(softplus - Y * Z))

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return (A - Y) / A.size


class CrossEntropy(Loss):
    """Cross-entropy on a softmax output, ``L = -mean over samples of sum_k y_k log a_k``.

    With ``a = softmax(z)``: ``log a_k = z_k - logsumexp(z)``, computed after subtracting the row
    maximum so nothing overflows. Derivative: ``dl/dz_j = a_j * sum_k y_k - y_j = a_j - y_j`` when each
    row of ``y`` sums to 1; the mean over ``n_samples`` rows gives ``dL/dZ = (A - Y) / n_samples``.
    """

    name = "cross_entropy"
    fused_activation = "softmax"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-np.sum(Y * log_probs) / Z.shape[0])

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return (A - Y) / Z.shape[0]


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "bce": BinaryCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "cross_entropy": CrossEntropy,
    "categorical_cross_entropy": CrossEntropy,
}


def get_loss(name: str | Loss) -> Loss:
    """Return the loss called ``name`` (or ``name`` itself if it already is one)."""
    if isinstance(name, Loss):
        return name
    key = str(name).lower()
    if key not in LOSSES:
        raise unknown_name("loss", name, LOSSES)
    return LOSSES[key]()
