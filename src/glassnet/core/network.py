"""The network: a stack of layers (:class:`Dense` or any :class:`Layer`), a loss, an optional L2 penalty.

One training step, in the order the code below does it::

    A0 = X
    A1 = layer0.forward(A0)          Z = A @ W + b, A = f(Z), cached in the layer
    ...
    L  = loss(Z_last, A_last, Y) + (l2 / 2) * sum of W**2 over all layers (each layer's `penalized`: not the biases)
    d  = loss.gradient(...)          dA (or dZ for a fused loss), already divided by the batch size
    d  = layer.backward(d)           last layer to first; each stores grads["W"], grads["b"]
    dW += l2 * W                     the penalty's own gradient, added after backprop
    optimizer.update(params, grads)  keyed "0.W", "0.b", "1.W", ...

``Network.fit`` is ``training.py``'s loop; ``Network.save`` hands the network to the writer that the layers
above the core install with :func:`install_writer` (``glassnet/wiring.py`` installs ``glassnet.io.save``): the core
imports nothing outside itself and ``glassnet.errors``.

Next read: ``optimizers.py``, then ``training.py`` for ``fit``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core import fast, training
from glassnet.core.checks import all_finite, as_parameter, check_bool, check_inputs, check_seed, check_targets, diverged
from glassnet.core.layers import Dense, Layer
from glassnet.core.losses import Loss, get_loss
from glassnet.core.optimizers import Optimizer, get_optimizer, update_or_undo
from glassnet.errors import ConfigError, DataError, GlassnetTypeError, ShapeError

Array = NDArray[np.floating]
DTYPES = {"float64": np.float64, "float32": np.float32}


Writer = Callable[["Network", Any], None]
"""What :meth:`Network.save` calls: ``write(net, path)``."""


def _no_writer(net: Network, path: Any) -> None:
    raise ConfigError("Network.save needs glassnet.io, which glassnet/wiring.py plugs in when glassnet is imported; "
                      "nothing installed it (see core.network.install_writer)")


_writer: Writer = _no_writer


def install_writer(write: Writer) -> Writer:
    """Make ``write(net, path)`` what :meth:`Network.save` calls; returns the writer it replaces.

    Called once, by ``glassnet/wiring.py`` (with ``glassnet.io.save``), so that the core need not import the file
    format; a test may install its own and put the returned one back.
    """
    global _writer
    previous, _writer = _writer, write
    return previous


class Network:
    """A feed-forward network of dense layers trained on one loss.

    Parameters
    ----------
    layers : sequence of Dense
        Consecutive layers must chain: ``layers[i].n_out == layers[i + 1].n_in``.
    loss : str or Loss
        ``"mse"``, ``"bce"`` (needs a sigmoid output layer) or ``"cross_entropy"`` (needs softmax).
    l2 : float
        Adds ``(l2 / 2) * sum(W**2)`` over every layer's weights (not the biases) to the mean loss.
    seed : int, optional
        Seeds weight initialisation and the shuffling in :meth:`fit`; the same seed, data and
        settings give bit-identical results.
    dtype : {"float64", "float32"}
        Floating type of parameters and computations.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | Loss = "mse",
        l2: float = 0.0,
        seed: int | None = None,
        dtype: str = "float64",
    ) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise GlassnetTypeError(f"layers must be a list of Dense layers, got {type(layers).__name__}; "
                                    "e.g. Network([Dense(2, 3), Dense(3, 1)])")
        layers = list(layers)
        if not layers:
            raise ConfigError("Network needs at least one layer, e.g. Network([Dense(2, 3), Dense(3, 1)])")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise GlassnetTypeError(f"layer {i} is {type(layer).__name__}; glassnet networks are made of layers "
                                        "(Dense, or your own subclass of glassnet.core.layers.Layer)")
        for a, b in zip(layers, layers[1:]):
            if not b.n_in and hasattr(b, "take_size"):  # Dropout() and BatchNorm1d() take the width before them
                b.take_size(a.n_out)
        for i, (a, b) in enumerate(zip(layers, layers[1:])):
            if a.n_out != b.n_in:
                raise ConfigError(
                    f"layers do not chain: layer {i} ({a}) has {a.n_out} outputs but layer {i + 1} ({b}) "
                    f"expects {b.n_in} inputs; make them equal"
                )
        for i, layer in enumerate(layers[:-1]):
            if layer.activation is not None and not layer.activation.elementwise:
                raise ConfigError(f"layer {i} ({layer}) uses {layer.activation.name}, which couples its outputs and "
                                  "is for the output layer only")
        self.layers = layers
        self.loss_fn = get_loss(loss)
        self._check_loss_fits_output()
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not math.isfinite(l2) or l2 < 0:
            raise ConfigError(f"l2 must be a number >= 0, got {l2!r}")
        self.l2 = float(l2)
        if str(dtype) not in DTYPES:
            raise ConfigError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = np.dtype(DTYPES[str(dtype)])
        self.seed = check_seed(seed)
        # Free-form JSON-able facts saved with the model (e.g. class names of a CSV target).
        self.metadata: dict[str, Any] = {}
        self.rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            # A layer asking for init="zeros" already warned when it was built.
            warnings.simplefilter("ignore")
            for layer in self.layers:
                layer.initialize(self.rng, self.dtype)
        # All parameters live in one flat array (layer.params hold views), for the fast path's optimizer.
        self._flat_params = fast.pack_parameters(self.layers, self.dtype)

    @classmethod
    def from_sizes(
        cls,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str | None = None,
        init: str = "glorot",
        **kwargs: Any,
    ) -> Network:
        """Build a network from layer sizes, e.g. ``Network.from_sizes([2, 3, 1], "sigmoid", loss="mse")``.

        ``output_activation`` defaults to ``activation``, except that ``loss="bce"`` implies sigmoid and
        ``loss="cross_entropy"`` softmax.
        """
        if not isinstance(sizes, (list, tuple)):
            raise GlassnetTypeError(f"sizes must be a list of layer sizes like [2, 3, 1], got {sizes!r}")
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ConfigError(f"layer sizes need at least an input and an output size, e.g. [2, 3, 1]; got {sizes}")
        if output_activation is None:
            fused = get_loss(kwargs.get("loss", "mse")).fused_activation
            output_activation = fused.name if fused else activation
        layers = [
            Dense(n_in, n_out, activation if i < len(sizes) - 2 else output_activation, init=init)
            for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))
        ]
        return cls(layers, **kwargs)

    def _check_loss_fits_output(self) -> None:
        needed = self.loss_fn.fused_activation
        last = self.layers[-1]
        if needed and not (isinstance(last.activation, needed) and hasattr(last, "backward_from_dZ")):
            have = last.activation.name if last.activation is not None else "no activation"
            raise ConfigError(
                f"loss {self.loss_fn.name!r} needs a {needed.name} output layer, but the last layer "
                f"({last}) uses {have}; use activation={needed.name!r} on the last layer or loss='mse'"
            )

    # ----------------------------------------------------------------- shapes and parameters
    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    @property
    def sizes(self) -> list[int]:
        return [self.n_in] + [layer.n_out for layer in self.layers]

    @property
    def is_classifier(self) -> bool:
        """True for ``bce`` and ``cross_entropy``: predictions are class labels."""
        return self.loss_fn.is_classifier

    def parameters(self) -> dict[str, Array]:
        """The live parameter arrays, keyed ``"0.W"``, ``"0.b"``, ``"1.W"``, ... (changing them changes the net)."""
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers) for name, p in layer.params.items()}

    def set_parameters(self, values: dict[str, Any]) -> None:
        """Copy ``values`` into the parameters, after checking every name and shape.

        Keys are those of :meth:`parameters`; missing keys keep their current values.
        """
        if not isinstance(values, dict):
            raise GlassnetTypeError(f"set_parameters needs a dict like {{'0.W': ..., '0.b': ...}}, got {type(values).__name__}")
        current = self.parameters()
        unknown = sorted(map(str, set(values) - set(current)))
        if unknown:
            raise ConfigError(f"unknown parameter name(s) {unknown}; this network has {sorted(current)}")
        arrays = {}
        for key, value in values.items():
            layer = self.layers[int(key.split(".")[0])]
            array = as_parameter(value, f"{key} ({layer})", self.dtype)
            if array.shape != current[key].shape:
                raise ShapeError(f"{key} ({layer}) must have shape {current[key].shape}, got {array.shape}")
            arrays[key] = array
        for key, array in arrays.items():
            current[key][...] = array

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters().values())

    # ----------------------------------------------------------------- forward, loss, backward
    def forward(self, X: Any) -> Array:
        """Outputs of the last layer for ``X`` of shape ``(n_samples, n_in)``; shape ``(n_samples, n_out)``.

        Raises :class:`DataError` if the outputs overflow to NaN or inf (inputs far too large for the weights).
        """
        X = check_inputs(X, self.n_in, self.dtype)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # an overflow is reported below, as an error
            A = self._forward(X)
        if not all_finite(A):
            rows = np.flatnonzero(~np.isfinite(A).all(axis=1))
            raise self._not_finite("the network's outputs", X, rows=f" for {len(rows)} row(s) of X (first: row {rows[0]})")
        return A

    def _not_finite(self, what: str, X: Array, Y: Array | None = None, rows: str = "") -> DataError:
        """The error for ``what`` (outputs, loss or gradients computed on ``X`` and ``Y``; ``rows`` says which
        rows, as text) being NaN or inf.

        The one place that tells the causes apart, so that each gets the right advice: parameters that are NaN or
        inf themselves (no scaling of the data helps), an L2 penalty that overflows on huge weights, or inputs
        (or targets) on a scale the weights cannot take.
        """
        params = self.parameters()
        bad = [key for key, p in params.items() if not all_finite(p)]
        if bad:
            return DataError(
                f"{what} came out NaN or inf{rows} because the network's parameter(s) {', '.join(bad[:5])} hold NaN or inf, "
                "whatever the data (training that diverged, or values written into net.parameters()). Give finite "
                "parameters (set_parameters checks them) or train again with a smaller learning rate")
        largest_w = max(float(np.max(np.abs(p), initial=0.0)) for p in params.values())
        with np.errstate(over="ignore", invalid="ignore"):
            penalty = self._penalty()
        if not math.isfinite(penalty):
            return DataError(
                f"{what} came out inf{rows} because the L2 penalty (l2 / 2) * sum(W**2) overflowed: l2 is {self.l2:g} and the "
                f"largest |weight| is {largest_w:.3g}. Weights that large come from training that diverged: train again "
                "with a smaller learning rate (or a smaller l2)")
        scale = f"largest |x| {np.abs(X).max():.3g}" + (f", largest |y| {np.abs(Y).max():.3g}" if Y is not None else "")
        return DataError(
            f"{what} overflowed to NaN or inf{rows} ({scale}, largest |weight| {largest_w:.3g}). Scale the inputs "
            f"{'and targets ' if Y is not None else ''}(e.g. standardise each column) before using them")

    def _forward(self, X: Array) -> Array:
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def layer_outputs(self, X: Any) -> list[Array]:
        """Every layer's output ``A`` for ``X``, first layer first (each ``(n_samples, n_out)``).

        The pictures of hidden units (plots, the HTML report) read these; the last one is ``forward(X)``.
        """
        self._forward(check_inputs(X, self.n_in, self.dtype))
        return [layer.cache["A"] for layer in self.layers]

    def _targets(self, y: Any, n_rows: int) -> Array:
        return check_targets(y, self.loss_fn, self.n_out, n_rows, self.dtype)

    def _penalty(self) -> float:
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * sum(float(np.sum(layer.params[name] ** 2)) for layer in self.layers for name in layer.penalized)

    def _loss_value(self, Y: Array) -> float:
        last = self.layers[-1].cache
        return self.loss_fn.value(last["Z"], last["A"], Y) + self._penalty()

    def loss(self, X: Any, y: Any) -> float:
        """Mean loss over the samples, plus the L2 penalty.

        Raises :class:`DataError` (saying why) if it is NaN or inf, rather than returning it.
        """
        X = check_inputs(X, self.n_in, self.dtype)
        Y = self._targets(y, X.shape[0])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below, as one error
            self._forward(X)
            value = self._loss_value(Y)
        if not math.isfinite(value):
            raise self._not_finite("the loss", X, Y)
        return value

    def _backward(self, Y: Array) -> None:
        """Backpropagate from the cached forward pass; fills every layer's ``grads``."""
        last = self.layers[-1]
        d = self.loss_fn.gradient(last.cache["Z"], last.cache["A"], Y)
        d = last.backward_from_dZ(d) if self.loss_fn.fused_activation else last.backward(d)  # type: ignore[attr-defined]
        for layer in reversed(self.layers[:-1]):
            d = layer.backward(d)
        if self.l2:  # the penalty's own gradient, l2 * p, for each penalized parameter (W, not b)
            for layer in self.layers:
                layer.grads = {name: g + self.l2 * layer.params[name] if name in layer.penalized else g
                               for name, g in layer.grads.items()}

    def _grads(self) -> dict[str, Array]:
        return {f"{i}.{name}": g for i, layer in enumerate(self.layers) for name, g in layer.grads.items()}

    def gradients(self, X: Any, y: Any) -> dict[str, Array]:
        """Gradients of :meth:`loss` for every parameter (copies, same keys); parameters are unchanged.

        Raises :class:`DataError` (saying why) if a gradient is NaN or inf, rather than returning it.
        """
        X = check_inputs(X, self.n_in, self.dtype)
        Y = self._targets(y, X.shape[0])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below, as one error
            self._forward(X)
            self._backward(Y)
        grads = {key: g.copy() for key, g in self._grads().items()}
        bad = [key for key, g in grads.items() if not all_finite(g)]
        if bad:
            raise self._not_finite(f"the gradient(s) of {', '.join(bad[:5])}", X, Y)
        return grads

    # ----------------------------------------------------------------- training
    def step(self, X: Any, y: Any, optimizer: Optimizer | str = "sgd", lr: float = 0.1) -> float:
        """One update of every parameter on one batch; returns the batch loss *before* the update.

        Raises :class:`TrainingDiverged` (and leaves the parameters and the optimizer's state unchanged) if the
        loss or a gradient is NaN or inf, or if the update would make a parameter NaN or inf.
        """
        X = check_inputs(X, self.n_in, self.dtype)
        Y = self._targets(y, X.shape[0])
        # The same arithmetic as _step, on preallocated buffers when the network is plain (see core/fast.py); an
        # overflow is one TrainingDiverged (the step checks everything), not NumPy warnings before it (as in fit).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = fast.step(self, X, Y, get_optimizer(optimizer, lr))
        training.TRAINED.add(self)
        return loss

    def _step(self, X: Array, Y: Array, optimizer: Optimizer) -> float:
        self._forward(X)
        loss = self._loss_value(Y)
        self._backward(Y)
        grads = self._grads()
        if not (math.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())):
            raise diverged(loss, optimizer)
        # Finite gradients can still give an update that overflows: such a step is undone and raises.
        update_or_undo(optimizer, self.parameters(), grads)
        return loss

    def fit(self, X: Any, y: Any, epochs: int = training.DEFAULT_EPOCHS, optimizer: Optimizer | str = "sgd",
            lr: float = training.DEFAULT_LR,
            batch_size: int | None = None, shuffle: bool = True, validation_data: tuple[Any, Any] | None = None,
            verbose: bool | int = False, callbacks: Sequence[Any] = (), monitor: bool = True, checkpoint: Any = None,
            checkpoint_every: int | None = None, resume: bool = False) -> training.History:
        """Train for ``epochs`` passes over ``(X, y)``; returns a :class:`~glassnet.core.training.History`.

        See :func:`glassnet.core.training.fit` for every argument; ``monitor``, ``checkpoint``,
        ``checkpoint_every`` and ``resume`` become callbacks in ``glassnet/wiring.py``.
        """
        return training.fit(self, X, y, epochs=epochs, optimizer=optimizer, lr=lr, batch_size=batch_size, shuffle=shuffle,
                   validation_data=validation_data, verbose=verbose, callbacks=callbacks, monitor=monitor, checkpoint=checkpoint,
                   checkpoint_every=checkpoint_every, resume=resume)

    # ----------------------------------------------------------------- prediction
    def predict_proba(self, X: Any) -> Array:
        """Class probabilities of shape ``(n_samples, n_classes)``; a single sigmoid output gives ``[1 - p, p]``."""
        if not self.loss_fn.is_classifier:
            raise ConfigError(f"predict_proba needs a classifier (loss 'bce' on a sigmoid or 'cross_entropy' on a "
                              f"softmax output layer); this one uses loss {self.loss_fn.name!r}")
        A = self.forward(X)
        return np.hstack([1.0 - A, A]) if A.shape[1] == 1 else A

    def predict(self, X: Any) -> NDArray[Any]:
        """Class labels for a classifier (``bce``: 0/1 per output; ``cross_entropy``: argmax), else the outputs.

        A single output is returned as shape ``(n_samples,)``.
        """
        A = self.loss_fn.labels(self.forward(X))
        return A[:, 0] if A.ndim == 2 and A.shape[1] == 1 else A

    def save(self, path: Any) -> None:
        """Write the network to ``path`` (``.npz`` with JSON metadata, atomically); see :mod:`glassnet.io`.

        The writer is ``glassnet.io.save``, plugged in from outside the core by ``glassnet/wiring.py``
        (see :func:`install_writer`).
        """
        _writer(self, path)

    # ----------------------------------------------------------------- notebook display
    def _summary_rows(self) -> list[tuple[str, str, str, str, str]]:
        rows = []
        for i, layer in enumerate(self.layers):
            shapes = ", ".join(f"{name} {p.shape}" for name, p in layer.params.items())
            count = sum(p.size for p in layer.params.values())
            activation = layer.activation.name if layer.activation is not None else "-"
            rows.append((str(i), f"{type(layer).__name__}({layer.n_in} -> {layer.n_out})", activation,
                         f"(batch, {layer.n_out})", f"{count:,}  ({shapes})"))
        return rows

    def summary(self, print_it: bool = True) -> str:
        """A table of the layers, like Keras' ``model.summary()``: output shapes and parameter counts.

        Printed (unless ``print_it=False``) and returned as a string.
        """
        print_it = check_bool(print_it, "summary: print_it")
        header = ("#", "layer", "activation", "output shape", "parameters")
        rows = [header, *self._summary_rows()]
        widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
        line = "-" * (sum(widths) + 2 * (len(widths) - 1))
        fmt = lambda row: "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        text = "\n".join([
            f"Network: inputs (batch, {self.n_in}), loss {self.loss_fn.name}, l2 {self.l2:g}, {self.dtype.name}",
            line, fmt(header), line, *(fmt(row) for row in rows[1:]), line,
            f"Total parameters: {self.num_parameters():,}",
        ])
        if print_it:
            print(text)
        return text

    def _repr_html_(self) -> str:
        """An HTML table of the layers for Jupyter (the same content as :meth:`summary`)."""
        import html

        cells = lambda row, tag: "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self._summary_rows())
        return (f"<div><b>{html.escape(repr(self))}</b><table><tr>"
                f"{cells(('#', 'layer', 'activation', 'output shape', 'parameters'), 'th')}</tr>{body}</table>"
                f"<p>Total parameters: {self.num_parameters():,}</p></div>")

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        acts = ", ".join(layer.activation.name if layer.activation is not None else type(layer).__name__
                         for layer in self.layers)
        l2 = f", l2={self.l2}" if self.l2 else ""
        return f"Network({sizes}, activations=[{acts}], loss={self.loss_fn.name!r}{l2}, dtype={self.dtype.name})"
