"""Recording the engine's own numbers: hooks that wrap a network's layers, loss and optimizer from outside.

Like thinc's ``with_debug``, a hook replaces a method *on one instance* (``layer.forward = wrapper``),
calls the original, and copies what went in and out. The hooks exist only inside ``with recording(...)``;
afterwards the instance attributes are deleted and the class methods are back in charge, so training
without tracing runs the same code as before and pays nothing.

Nothing here computes a number of the step: the arrays are those the engine's layers (``forward``,
``backward`` and, under a fused loss, ``backward_from_dZ``: the methods of the
:class:`~glassnet.core.layers.Layer` interface, so any layer is recorded, not only ``Dense``),
``Loss.value``/``gradient``, ``Network._penalty`` and ``Optimizer.update_one`` produced; with each layer's
cache after its forward pass (Dropout's mask, BatchNorm's batch statistics) and its buffers before and after.
Next read: ``trace.py`` (runs the step inside these hooks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer

Array = NDArray[np.floating]


def _empty() -> Array:
    return np.empty((0, 0))


@dataclass
class LayerRecord:
    """What one layer saw and produced in one step (copies). Shapes ``(n_samples, n_in)`` / ``(n_samples, n_out)``.

    Empty arrays until the step fills them; ``Z`` and ``dZ`` stay empty for a layer that has no ``Z`` in its
    cache or no ``backward_from_dZ`` (a layer of your own).
    """

    X: Array = field(default_factory=_empty)    # the input forward received
    Z: Array = field(default_factory=_empty)    # cache["Z"] after forward, if the layer keeps one
    A: Array = field(default_factory=_empty)    # the output forward returned
    dA: Array | None = None      # dLoss/dA handed to backward (None when a fused loss gave dZ directly)
    dZ: Array = field(default_factory=_empty)   # delta: dLoss/dZ, handed to backward_from_dZ
    dX: Array = field(default_factory=_empty)   # dLoss/dX returned to the layer below
    grads: dict[str, Array] = field(default_factory=dict)  # the layer's grads after its backward, before any L2 term
    cache: dict[str, Any] = field(default_factory=dict)  # copies of layer.cache after forward (Dropout's mask, ...)
    buffers_before: dict[str, Array] = field(default_factory=dict)  # layer.buffers when recording began
    buffers_after: dict[str, Array] = field(default_factory=dict)   # ... and after its forward pass

    @property
    def dW(self) -> Array:
        """``grads["W"]`` (a Dense layer's ``X^T dZ``), before any L2 term."""
        return self.grads.get("W", _empty())

    @property
    def db(self) -> Array:
        """``grads["b"]``."""
        return self.grads.get("b", _empty())


@dataclass
class UpdateRecord:
    """One parameter array's optimizer update: value and optimizer state before and after."""

    before: Array
    after: Array
    grad: Array
    state_before: dict[str, Any]
    state_after: dict[str, Any]


@dataclass
class StepRecord:
    """Everything recorded during one step."""

    layers: list[LayerRecord]
    data_loss: float | None = None
    penalty: float | None = None
    loss_gradient: Array = field(default_factory=_empty)  # dA (or dZ for a fused loss) from the loss
    updates: dict[str, UpdateRecord] = field(default_factory=dict)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)


@contextmanager
def recording(net: Network, optimizer: Optimizer | None = None) -> Iterator[StepRecord]:
    """Install the hooks on ``net`` (and ``optimizer``) for the duration of the block; yields the record."""
    step = StepRecord(layers=[LayerRecord() for _ in net.layers])
    installed: list[tuple[Any, str, Any]] = []

    def hook(obj: Any, name: str, after: Callable[..., None]) -> None:
        original = getattr(obj, name)
        had_own = name in vars(obj)

        def wrapper(*args: Any) -> Any:
            result = original(*args)
            after(result, *args)
            return result

        installed.append((obj, name, original if had_own else None))
        setattr(obj, name, wrapper)

    for layer, rec in zip(net.layers, step.layers):
        rec.buffers_before = {name: b.copy() for name, b in layer.buffers.items()}
        rec.buffers_after = {name: b.copy() for name, b in layer.buffers.items()}

        def forward_done(A: Array, X: Array, layer: Any = layer, rec: LayerRecord = rec) -> None:
            Z = layer.cache.get("Z")
            rec.X, rec.A = X.copy(), A.copy()
            rec.Z = Z.copy() if isinstance(Z, np.ndarray) else _empty()
            rec.cache = {name: _copy(value) for name, value in layer.cache.items()}
            rec.buffers_after = {name: b.copy() for name, b in layer.buffers.items()}

        def backward_done(dX: Array, dA: Array, layer: Any = layer, rec: LayerRecord = rec) -> None:
            rec.dA, rec.dX = dA.copy(), dX.copy()
            rec.grads = {name: g.copy() for name, g in layer.grads.items()}

        def dz_done(dX: Array, dZ: Array, layer: Any = layer, rec: LayerRecord = rec) -> None:
            rec.dZ, rec.dX = dZ.copy(), dX.copy()
            rec.grads = {name: g.copy() for name, g in layer.grads.items()}

        hook(layer, "forward", forward_done)
        hook(layer, "backward", backward_done)
        if hasattr(layer, "backward_from_dZ"):  # optional in the Layer interface (only a fused loss calls it)
            hook(layer, "backward_from_dZ", dz_done)

    def value_done(value: float, *args: Any) -> None:
        step.data_loss = float(value)

    def gradient_done(d: Array, *args: Any) -> None:
        step.loss_gradient = d.copy()

    def penalty_done(value: float) -> None:
        step.penalty = float(value)

    hook(net.loss_fn, "value", value_done)
    hook(net.loss_fn, "gradient", gradient_done)
    hook(net, "_penalty", penalty_done)

    if optimizer is not None:
        original_update_one = optimizer.update_one

        def update_one(name: str, p: Array, g: Array) -> None:
            before, state_before = p.copy(), copy.deepcopy(optimizer.state.get(name, {}))
            original_update_one(name, p, g)
            step.updates[name] = UpdateRecord(before, p.copy(), g.copy(), state_before,
                                              {k: _copy(v) for k, v in optimizer.state.get(name, {}).items()})

        installed.append((optimizer, "update_one", original_update_one if "update_one" in vars(optimizer) else None))
        optimizer.update_one = update_one  # type: ignore[method-assign]
    try:
        yield step
    finally:
        for obj, name, own in reversed(installed):
            if own is None:
                delattr(obj, name)
            else:
                setattr(obj, name, own)
