"""The dense (fully connected) layer: ``Z = X @ W + b``, ``A = f(Z)``.

Index convention: rows are samples, columns are units. ``W[i, j]`` is the weight from input ``i``
to unit ``j``, so ``W`` has shape ``(n_in, n_out)`` and ``b`` has shape ``(n_out,)``.

``forward`` caches what ``backward`` needs (``X``, ``Z``, ``A``) in ``layer.cache``; ``backward``
only reads that cache. Parameters and their gradients share names: ``params["W"]`` pairs with
``grads["W"]``. Layers do the plain chain rule; averaging over the batch is the loss's job.

Next read: ``losses.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.activations import Activation, get_activation
from glassnet.core.checks import as_parameter, check_seed, positive_int
from glassnet.core.init import Initializer, get_initializer
from glassnet.errors import ConfigError, ShapeError

Array = NDArray[np.floating]


class Dense:
    """A fully connected layer with weights, biases and an activation.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and of units.
    activation : str or Activation
        ``"identity"``/``"linear"``, ``"sigmoid"``/``"logistic"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"`` or ``"softmax"`` (output layer only).
    init : str, callable or (W, b)
        ``"glorot"`` (default), ``"he"``, ``"zeros"``, ``"normal"``, an initialiser from
        ``glassnet.core.init``, or the arrays themselves: a pair ``(W, b)`` or a dict ``{"W": ..., "b": ...}``.
    seed : int, optional
        Seed for this layer's own initialisation. A :class:`Network` re-initialises its layers from
        its own seed, so this matters only for a layer used on its own.

    Attributes
    ----------
    params : dict
        ``"W"`` of shape ``(n_in, n_out)`` and ``"b"`` of shape ``(n_out,)``.
    grads : dict
        ``"dW"``-style gradients under the same names as ``params``, set by :meth:`backward`.
    cache : dict
        ``"X"``, ``"Z"`` and ``"A"`` of the last :meth:`forward`.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation = "sigmoid",
        init: str | Initializer | Sequence[Any] | dict[str, Any] = "glorot",
        seed: int | None = None,
    ) -> None:
        self.n_in = positive_int(n_in, "Dense n_in")
        self.n_out = positive_int(n_out, "Dense n_out")
        self.activation = get_activation(activation)
        self.init = init
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.cache: dict[str, Array] = {}
        if not self._given_arrays():
            get_initializer(init)  # type: ignore[arg-type]  # fail now on an unknown name, not when the network is built
        self.initialize(np.random.default_rng(check_seed(seed, "Dense seed")))

    def _given_arrays(self) -> bool:
        return isinstance(self.init, (dict, tuple, list))

    def initialize(self, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        """(Re)set ``W`` from the initialiser and ``b`` to zeros, or copy the arrays the user gave."""
        init: Any = self.init
        if self._given_arrays():
            if isinstance(init, dict):
                W, b = init.get("W"), init.get("b")
            else:
                if len(init) != 2:
                    raise ConfigError(f"{self}: init as arrays must be a pair (W, b), got {len(init)} items")
                W, b = init
            if W is None or b is None:
                raise ConfigError(f"{self}: init as a dict needs both 'W' and 'b'")
            self.params = {"W": as_parameter(W, f"{self}: init 'W'", dtype), "b": as_parameter(b, f"{self}: init 'b'", dtype)}
        else:
            try:
                W = get_initializer(init)(self.n_in, self.n_out, rng)
            except MemoryError:
                gib = self.n_in * self.n_out * np.dtype(dtype).itemsize / 2**30
                raise ConfigError(f"{self}: its weights need {gib:.3g} GiB, more memory than is free; "
                                  "use fewer inputs or units") from None
            self.params = {"W": as_parameter(W, f"{self}: the initialiser's W", dtype), "b": np.zeros(self.n_out, dtype=dtype)}
        self.check_shapes(self.params, "init")
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.cache = {}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The expected shape of each parameter."""
        return {"W": (self.n_in, self.n_out), "b": (self.n_out,)}

    def check_shapes(self, arrays: dict[str, Any], what: str) -> None:
        """Raise :class:`ShapeError` if ``arrays`` do not have this layer's parameter shapes."""
        for name, shape in self.shapes().items():
            got = np.shape(arrays[name])
            if got != shape:
                raise ShapeError(f"{self}: {what} {name!r} has shape {got}; expected {shape}")

    def forward(self, X: Array) -> Array:
        """Compute ``A = f(X @ W + b)`` for ``X`` of shape ``(n_samples, n_in)``; returns ``(n_samples, n_out)``."""
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ShapeError(
                f"{self} got input with {X.shape[-1] if X.ndim else 0} features; expected {self.n_in}"
            )
        Z = X @ self.params["W"] + self.params["b"]
        A = self.activation.forward(Z)
        self.cache = {"X": X, "Z": Z, "A": A}
        return A

    def backward(self, dA: Array) -> Array:
        """Backpropagate ``dA = dLoss/dA`` (shape ``(n_samples, n_out)``) through activation and weights.

        Stores ``grads["W"]`` and ``grads["b"]`` and returns ``dX`` of shape ``(n_samples, n_in)``.
        """
        dZ = self.activation.backward(self.cache["Z"], self.cache["A"], dA)
        return self.backward_from_dZ(dZ)

    def backward_from_dZ(self, dZ: Array) -> Array:
        """Backpropagate ``dZ = dLoss/dZ`` through ``Z = X @ W + b``; used directly by fused losses.

        ``dW = X^T @ dZ`` (n_in, n_out), ``db = sum of dZ over samples`` (n_out,), ``dX = dZ @ W^T``.
        """
        X = self.cache["X"]
        self.grads["W"] = X.T @ dZ
        self.grads["b"] = dZ.sum(axis=0)
        return dZ @ self.params["W"].T

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"
