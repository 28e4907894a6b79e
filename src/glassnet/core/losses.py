"""Losses: one number that says how wrong the network's outputs are, and its gradient.

All losses are means: ``mse`` and ``huber`` over samples and outputs (like ``torch.nn.MSELoss`` and
``torch.nn.HuberLoss``), ``bce`` over samples and outputs (like ``torch.nn.BCEWithLogitsLoss``),
``cross_entropy`` over samples (like ``torch.nn.CrossEntropyLoss``). **Batch averaging lives here**, in
the gradient's ``1 / N``; layers then apply the plain chain rule.

Two losses are *fused* with the output activation. ``bce`` needs a sigmoid output layer and
``cross_entropy`` a softmax one; both compute the loss from the pre-activation ``Z`` (stable for any
``Z``) and give ``dZ`` directly, because ``dLoss/dZ`` simplifies to ``(A - Y) / N`` (derived in each
docstring). An unfused loss (``mse``, ``huber``) gives ``dA`` and the layer multiplies by the
activation's derivative.

Targets ``Y`` always arrive here as float arrays of shape ``(n_samples, n_outputs)``; integer class
labels are one-hot encoded by the network before they get here. ``value`` and ``gradient`` are the
readable forms; ``value_and_gradient_into`` computes both into the engine's buffers, beside them, and
is checked against them (see ``activations.py``). Next read: ``network.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.activations import Activation, Sigmoid, Softmax
from glassnet.core.registry import Registry
from glassnet.errors import ConfigError

Array = NDArray[np.floating]


def mean_into(a: Array) -> float:
    """``np.mean(a)``'s own arithmetic without its Python wrapper: the sum, divided by the count in float64
    (NumPy promotes float32 / intp to float64), rounded back to the array's dtype."""
    value = float(np.add.reduce(a, None)) / a.size
    return value if a.dtype == np.float64 else float(a.dtype.type(value))


class Loss:
    """Base class. Subclasses define ``value`` and ``gradient``; everything else has a working default.

    Class attributes
    ----------------
    name, aliases : the names in files, the CLI and messages.
    fused_activation : the output activation class a fused loss requires (``None``: any, and ``gradient`` is dA).
    targets : ``"values"`` (regression), ``"binary"`` (0/1 or probabilities per output) or ``"classes"``
        (one class per row: integer labels, one-hot encoded before they get here).
    per : ``"entry"`` when the mean is over every output of every sample, ``"sample"`` when over samples.
    torch_name : the ``torch.nn`` loss with the same maths; it takes ``Z`` (logits) when the loss is fused.
    """

    name = ""
    aliases: tuple[str, ...] = ()
    fused_activation: type[Activation] | None = None
    targets = "values"
    per = "entry"
    torch_name: str | None = None

    # ---------------------------------------------------------------- the maths, readable
    def value(self, Z: Array, A: Array, Y: Array) -> float:
        """The mean loss, from the output layer's pre-activation ``Z`` and activation ``A``."""
        raise NotImplementedError

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        """``dLoss/dA`` for an unfused loss, ``dLoss/dZ`` for a fused one; shape ``(n_samples, n_outputs)``."""
        raise NotImplementedError

    # ---------------------------------------------------------------- the same maths, into buffers
    def value_and_gradient_into(self, Z: Array, A: Array, Y: Array, G: Array, work: Any) -> float:
        """``value(Z, A, Y)``, with ``gradient(Z, A, Y)`` written into ``G``. ``work`` as in ``activations.py``;
        a fused loss may read what its activation's ``forward_into`` left there."""
        np.copyto(G, self.gradient(Z, A, Y))
        return self.value(Z, A, Y)

    # Loop forms the in-place form may call through work.loops, as an activation's (see Activation.into_loops).
    into_loops: dict[str, str] = {}

    # ---------------------------------------------------------------- what the rest of glassnet reads
    @property
    def is_classifier(self) -> bool:
        """True when predictions are class labels (``bce``, ``cross_entropy``)."""
        return self.targets != "values"

    def labels(self, A: Array) -> NDArray[Any]:
        """The predicted class of each row from the outputs ``A`` (classifiers; regression returns ``A``)."""
        return A

    def chance(self, Y: Array) -> float:
        """The loss of the best constant prediction for targets ``Y``; 0.0 turns the health checks needing it off."""
        return 0.0

    def formula(self, a: str, y: str, N: str) -> str:
        """The loss as text over outputs ``a`` and targets ``y`` (symbols), averaged over ``N``; for the ledger."""
        return f"{self.name}({a}, {y})"

    def gradient_formula(self, a: str, y: str, N: str) -> str:
        """``dL/da`` (or ``dL/dz`` when fused) for one entry, as text; ``""`` when there is none to show."""
        return ""

    def config(self) -> dict[str, Any]:
        """The name and settings, as saved in model files."""
        return {"name": self.name}

    def torch_kwargs(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({settings})"


class MeanSquaredError(Loss):
    """``L = mean((A - Y)**2)`` over all ``N = n_samples * n_outputs`` entries; ``dL/dA = 2 (A - Y) / N``."""

    name = "mse"
    aliases = ("mean_squared_error",)
    torch_name = "MSELoss"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        return float(np.mean((A - Y) ** 2))

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return 2.0 * (A - Y) / A.size

    def value_and_gradient_into(self, Z: Array, A: Array, Y: Array, G: Array, work: Any) -> float:
        np.subtract(A, Y, G)
        np.multiply(G, G, work.T2)
        value = mean_into(work.T2)
        np.multiply(G, 2.0, G)
        np.divide(G, A.size, G)
        return value

    def chance(self, Y: Array) -> float:
        return float(np.mean(Y.var(axis=0)))

    def formula(self, a: str, y: str, N: str) -> str:
        return f"(1/{N}) * sum ({a} - {y})^2"

    def gradient_formula(self, a: str, y: str, N: str) -> str:
        return f"2*({a} - {y})/{N}"


class Huber(Loss):
    """The Huber loss, as ``torch.nn.HuberLoss(delta=delta)``: squared near the target, linear far from it.

    Per entry, with ``r = a - y``: ``l = r**2 / 2`` if ``|r| < delta``, else ``delta * (|r| - delta / 2)``
    (the two pieces meet with the same slope at ``|r| = delta``). The mean over ``N = n_samples * n_outputs``
    entries gives ``dL/dA = clip(r, -delta, delta) / N``: the error itself near the target, at most
    ``delta`` in size far from it, so outliers pull no harder than ``delta``.
    """

    name = "huber"
    aliases = ("smooth_l1",)
    torch_name = "HuberLoss"

    def __init__(self, delta: float = 1.0) -> None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) or not (
                np.isfinite(delta) and delta > 0):
            raise ConfigError(f"Huber delta must be a positive number (where the loss turns linear), got {delta!r}")
        self.delta = float(delta)

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        r = A - Y
        return float(np.mean(np.where(np.abs(r) < self.delta, 0.5 * r * r, self.delta * (np.abs(r) - 0.5 * self.delta))))

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return np.clip(A - Y, -self.delta, self.delta) / A.size

    def chance(self, Y: Array) -> float:
        return self.value(Y, np.broadcast_to(np.median(Y, axis=0), Y.shape), Y)

    def formula(self, a: str, y: str, N: str) -> str:
        d = f"{self.delta:g}"
        return f"(1/{N}) * sum (({a} - {y})^2/2 if |{a} - {y}| < {d} else {d}*(|{a} - {y}| - {d}/2))"

    def gradient_formula(self, a: str, y: str, N: str) -> str:
        return f"clip({a} - {y}, -{self.delta:g}, {self.delta:g})/{N}"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "delta": self.delta}

    def torch_kwargs(self) -> dict[str, Any]:
        return {"delta": self.delta}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on a sigmoid output, ``L = -mean(y log a + (1 - y) log(1 - a))``.

    With ``a = sigmoid(z)``: ``log a = -softplus(-z)`` and ``log(1 - a) = -softplus(z)``, so per entry
    ``l = softplus(z) - y z`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``, finite for every ``z``.
    Derivative: ``dl/dz = sigmoid(z) - y = a - y``; the mean over ``N = n_samples * n_outputs``
    entries gives ``dL/dZ = (A - Y) / N``.
    """

    name = "bce"
    aliases = ("binary_cross_entropy",)
    fused_activation = Sigmoid
    targets = "binary"
    torch_name = "BCEWithLogitsLoss"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        softplus = np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))
        return float(np.mean(softplus - Y * Z))

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return (A - Y) / A.size

    def value_and_gradient_into(self, Z: Array, A: Array, Y: Array, G: Array, work: Any) -> float:
        # exp(-|z|) is still in work.T from Sigmoid.forward_into.
        T, T2 = work.T, work.T2
        np.log1p(T, T)
        np.maximum(Z, 0.0, out=T2)
        np.add(T2, T, T2)
        np.multiply(Y, Z, T)
        np.subtract(T2, T, T2)
        value = mean_into(T2)
        np.subtract(A, Y, G)
        np.divide(G, A.size, G)
        return value

    def labels(self, A: Array) -> NDArray[Any]:
        return (A > 0.5).astype(np.int64)

    def chance(self, Y: Array) -> float:
        p = np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12)
        return float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))

    def formula(self, a: str, y: str, N: str) -> str:
        return f"-(1/{N}) * sum ({y}*log({a}) + (1 - {y})*log(1 - {a}))"

    def gradient_formula(self, a: str, y: str, N: str) -> str:
        return f"({a} - {y})/{N}"


class CrossEntropy(Loss):
    """Cross-entropy on a softmax output, ``L = -mean over samples of sum_k y_k log a_k``.

    With ``a = softmax(z)``: ``log a_k = z_k - logsumexp(z)``, computed after subtracting the row
    maximum so nothing overflows. Derivative: ``dl/dz_j = a_j * sum_k y_k - y_j = a_j - y_j`` when each
    row of ``y`` sums to 1; the mean over ``n_samples`` rows gives ``dL/dZ = (A - Y) / n_samples``.
    """

    name = "cross_entropy"
    aliases = ("categorical_cross_entropy",)
    fused_activation = Softmax
    targets = "classes"
    per = "sample"
    torch_name = "CrossEntropyLoss"

    def value(self, Z: Array, A: Array, Y: Array) -> float:
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-np.sum(Y * log_probs) / Z.shape[0])

    def gradient(self, Z: Array, A: Array, Y: Array) -> Array:
        return (A - Y) / Z.shape[0]

    def value_and_gradient_into(self, Z: Array, A: Array, Y: Array, G: Array, work: Any) -> float:
        # work.T holds z - max and work.rows the sums of exp, from Softmax.forward_into.
        T = work.T
        np.log(work.rows, work.rows)
        terms = getattr(work, "loops", {}).get("terms_loop")  # terms_loop below, compiled, if the engine chose it
        if terms is None or not Y.flags.c_contiguous:  # (a target array of another layout: a compile mid-step)
            np.subtract(T, work.rows, T)
            np.multiply(Y, T, T)
            np.subtract(A, Y, G)
            np.divide(G, Z.shape[0], G)
        else:
            terms(T, work.rows, A, Y, G)
        return float(-np.add.reduce(T, None) / Z.shape[0])

    into_loops = {"terms_loop": "gradient"}

    @staticmethod
    def terms_loop(T: Array, log_sums: Array, A: Array, Y: Array, G: Array) -> None:
        """``T = Y * (T - log_sums)`` (each entry's term of the loss: y times log a) and ``G = (A - Y) / n``, in one
        pass: value_and_gradient_into's four NumPy passes after the log (the log and the sum stay NumPy's)."""
        n = T.dtype.type(T.shape[0])  # in the arrays' dtype, as NumPy works the row count into a float32 array
        for i in range(T.shape[0]):
            log_sum = log_sums[i, 0]
            for j in range(T.shape[1]):
                T[i, j] = Y[i, j] * (T[i, j] - log_sum)
                G[i, j] = (A[i, j] - Y[i, j]) / n

    def labels(self, A: Array) -> NDArray[Any]:
        return A.argmax(axis=1)

    def chance(self, Y: Array) -> float:
        p = np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12)
        return float(-np.sum(p * np.log(p)))  # the entropy of the class frequencies

    def formula(self, a: str, y: str, N: str) -> str:
        return f"-(1/{N}) * sum {y}*log({a})"

    def gradient_formula(self, a: str, y: str, N: str) -> str:
        return f"({a} - {y})/{N}"


LOSSES: Registry[Loss] = Registry("loss", [MeanSquaredError, Huber, BinaryCrossEntropy, CrossEntropy])


def get_loss(name: str | Loss) -> Loss:
    """Return the loss called ``name`` (or ``name`` itself if it already is one)."""
    if isinstance(name, Loss):
        return name
    return LOSSES.lookup(name)()
