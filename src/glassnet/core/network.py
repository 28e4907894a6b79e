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

Modes (as in torch): a new network is in training mode; ``net.eval()`` switches every layer to evaluation mode and
``net.train()`` back. Dense layers compute the same in both; Dropout and BatchNorm1d do not (``dropout.py``,
``batchnorm.py``). ``forward``, ``loss``, ``gradients`` and ``layer_outputs`` follow the mode; ``predict`` and
``predict_proba`` always evaluate; ``fit`` and ``step`` always train (and validate in evaluation mode), leaving the
mode as they found it. State a layer keeps but does not train (BatchNorm's running statistics) is in its
``buffers``: ``net.buffers()`` names them like the parameters (``"1.running_mean"``) and model files keep them.

``Network.fit`` is ``training.py``'s loop; ``Network.save`` hands the network to the writer that the layers
above the core install with :func:`install_writer` (``glassnet/wiring.py`` installs ``glassnet.io.save``): the core
imports nothing outside itself and ``glassnet.errors``.

Next read: ``optimizers.py``, then ``training.py`` for ``fit``.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
        Adds ``(l2 / 2) * sum(W**2)`` over every layer's weights (not the biases) to the mean loss. Not to be
        confused with an optimizer's ``weight_decay`` (torch's: ``g + wd * p`` inside the update, on every
        parameter, not in the loss) or AdamW's decoupled decay; see ``optimizers.py``.
    seed : int, optional
        Seeds weight initialisation and the shuffling in :meth:`fit`; the same seed, data and
        settings give bit-identical results.
    dtype : {"float64", "float32"}
        Floating type of parameters and computations.
    """

    _frozen: frozenset[str] = frozenset()  # the keys of the frozen parameters (see freeze); a new frozenset per change

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
        if not layers[0].n_in and hasattr(layers[0], "take_size"):
            raise ConfigError(f"layer 0 ({type(layers[0]).__name__}) has no width: it takes the width of the layer "
                              "before it, and the first layer has none. Give it the number of inputs, e.g. "
                              f"{type(layers[0]).__name__}(n=4)")
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
        self._frozen = frozenset()  # set here too: the fast path's plan counts instance attributes
        self.rng = np.random.default_rng(seed)
        # Every layer gets its own `training` attribute now, not at the first eval(): the fast path's plan checks
        # that no instance attribute was added since it was made (a hook adds one), and a mode switch is none.
        self.train()
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
        _copy_checked(self, self.parameters(), values, "parameter", "{'0.W': ..., '0.b': ...}")

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters().values())

    def float64_copy(self) -> Network:
        """A deep copy computing in float64: parameters and buffers cast exactly (float32 -> float64 loses
        nothing), gradients zeroed, caches empty; any patched method is kept. The reference copy of gradcheck and
        of explain's predict-then-check."""
        twin = copy.deepcopy(self)
        twin.dtype = np.dtype(np.float64)
        for layer in twin.layers:
            layer.params = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in layer.params.items()}
            layer.grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
            layer.buffers = {k: np.array(v, dtype=np.float64) for k, v in layer.buffers.items()}
            layer.cache = {}
        return twin

    def buffers(self) -> dict[str, Array]:
        """The live state the layers keep but do not train, keyed like :meth:`parameters` (``"1.running_mean"``).

        Empty for a network of Dense layers. Saved in model files and checkpoints beside the parameters.
        """
        return {f"{i}.{name}": b for i, layer in enumerate(self.layers) for name, b in layer.buffers.items()}

    def set_buffers(self, values: dict[str, Any]) -> None:
        """Copy ``values`` into the buffers (in place), after checking every name, shape and value (finite).

        Keys are those of :meth:`buffers`; missing keys keep their current values.
        """
        _copy_checked(self, self.buffers(), values, "buffer", "{'1.running_mean': ...}")

    # ----------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Network:
        """Put the network and every layer in training mode (``mode=False``: evaluation mode); returns the network.

        As ``torch.nn.Module.train``: Dropout drops and BatchNorm1d normalises by the batch (and updates its running
        statistics) only in training mode. A new network is in training mode.
        """
        mode = check_bool(mode, "Network.train: mode")
        self.training = mode
        for layer in self.layers:
            layer.training = mode
        return self

    def eval(self) -> Network:
        """Put the network and every layer in evaluation mode (``train(False)``); returns the network."""
        return self.train(False)

    def _modes(self) -> tuple[bool, list[bool]]:
        return self.training, [layer.training for layer in self.layers]

    def _set_modes(self, modes: tuple[bool, list[bool]]) -> None:
        self.training = modes[0]
        for layer, mode in zip(self.layers, modes[1]):
            layer.training = mode

    @contextmanager
    def evaluating(self) -> Iterator[Network]:
        """``with net.evaluating(): ...`` runs in evaluation mode and restores the modes there were (also on an error).

        For code that looks at a network without training it (predictions, reports, health checks): no mask is
        drawn from ``net.rng`` and no running statistic changes.
        """
        modes = self._modes()
        self.eval()
        try:
            yield self
        finally:
            self._set_modes(modes)

    def _check_batch_rows(self, n_rows: int, batch_size: int) -> None:
        """Raise :class:`ConfigError` before training if a batch of ``n_rows`` split by ``batch_size`` is too small
        for a layer in training mode (BatchNorm1d needs 2 rows: one row has no batch variance)."""
        needs = [(i, layer, layer.min_training_rows) for i, layer in enumerate(self.layers)]
        i, layer, least = max(needs, key=lambda need: need[2])
        last = n_rows % batch_size or batch_size
        smallest = min(batch_size, last)
        if smallest >= least:
            return
        if n_rows < least:
            raise ConfigError(f"layer {i} ({layer}) needs at least {least} rows per batch in training mode, but the "
                              f"data has {n_rows} row(s); train on more rows")
        # The nearest batch size that fits (smaller first): n_rows itself always does.
        nearest = (b for d in range(n_rows) for b in (batch_size - d, batch_size + d) if least <= b <= n_rows)
        best = next(b for b in nearest if min(b, n_rows % b or b) >= least)
        where = (f"batch_size={batch_size} leaves a last batch of {last} row(s) out of n_rows={n_rows}"
                 if last < batch_size else f"batch_size={batch_size} gives batches of {batch_size} row(s)")
        raise ConfigError(f"{where}, but layer {i} ({layer}) needs at least {least} rows per batch in training mode "
                          f"(one row has no batch variance). Use batch_size={best}, or drop or add a row")

    # ----------------------------------------------------------------- forward, loss, backward
    def forward(self, X: Any) -> Array:
        """Outputs of the last layer for ``X`` of shape ``(n_samples, n_in)``; shape ``(n_samples, n_out)``.

        In the network's mode, as torch's ``forward``: in training mode (a new network's) Dropout draws a mask from
        ``net.rng`` and BatchNorm1d updates its running statistics; :meth:`predict` always evaluates. Raises
        :class:`DataError` if the outputs overflow to NaN or inf (inputs far too large for the weights).
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

        The pictures of hidden units (plots, the HTML report) read these; the last one is ``forward(X)``. In the
        network's mode, as :meth:`forward` (the plots and the report evaluate: :meth:`evaluating`).
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
        # A last layer without an activation (BatchNorm1d) caches no Z: its output is its own pre-activation.
        return self.loss_fn.value(last.get("Z", last["A"]), last["A"], Y) + self._penalty()

    def loss(self, X: Any, y: Any) -> float:
        """Mean loss over the samples, plus the L2 penalty, in the network's mode (see :meth:`forward`).

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
        d = self.loss_fn.gradient(last.cache.get("Z", last.cache["A"]), last.cache["A"], Y)
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

        In the network's mode (see :meth:`forward`): in training mode the gradients are those of the mask this call
        drew (``layer.cache["mask"]``) and of the batch's statistics, which also move the running statistics.

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

        Runs in training mode (Dropout drops, BatchNorm1d updates its running statistics) whatever the network's
        mode, and leaves the mode as it was. Raises :class:`TrainingDiverged` (and leaves the parameters and the
        optimizer's state unchanged) if the loss or a gradient is NaN or inf, or if the update would make a parameter
        NaN or inf.
        """
        X = check_inputs(X, self.n_in, self.dtype)
        Y = self._targets(y, X.shape[0])
        # The same arithmetic as _step, on preallocated buffers when the network is plain (see core/fast.py); an
        # overflow is one TrainingDiverged (the step checks everything), not NumPy warnings before it (as in fit).
        modes = self._modes()
        training_already = modes[0] and all(modes[1])
        if not training_already:
            self.train()
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                loss = fast.step(self, X, Y, get_optimizer(optimizer, lr))
        finally:
            if not training_already:
                self._set_modes(modes)
        training.TRAINED.add(self)
        return loss

    def _step(self, X: Array, Y: Array, optimizer: Optimizer) -> float:
        # BatchNorm's running statistics move in the forward pass: a step that fails puts them back with the rest,
        # so a diverged run keeps the buffers of its last good step as it keeps those parameters.
        kept = [(b, b.copy()) for layer in self.layers for b in layer.buffers.values()]
        try:
            self._forward(X)
            loss = self._loss_value(Y)
            self._backward(Y)
            grads = self._grads()
            if not (math.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())):
                raise diverged(loss, optimizer)
            params = self.parameters()
            if self._frozen:  # frozen parameters are not handed to the optimizer: no update, no state (see freeze)
                params = {key: p for key, p in params.items() if key not in self._frozen}
                grads = {key: grads[key] for key in params}
            # Finite gradients can still give an update that overflows: such a step is undone and raises.
            update_or_undo(optimizer, params, grads)
        except BaseException:
            for live, copy in kept:
                live[...] = copy
            raise
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

    # ----------------------------------------------------------------- freezing
    @property
    def frozen(self) -> list[str]:
        """The keys of the frozen parameters, in the order of :meth:`parameters` (``["0.b", "1.b"]``)."""
        return [key for key in self.parameters() if key in self._frozen]

    def freeze(self, *what: int | str) -> Network:
        """Stop training some parameters; returns the network. ``net.freeze(0)``, ``net.freeze("0.b", "1.b")``.

        Each of ``what`` is a layer index (all of that layer's parameters; negative counts from the end, as in
        ``net.layers``) or a parameter key of :meth:`parameters`; nothing at all freezes every parameter. A frozen
        parameter gets no update and no optimizer state in :meth:`fit` and :meth:`step` (as ``requires_grad=False``
        in PyTorch: leaving it out of the optimizer and out of clipping's global norm), while :meth:`gradients`
        still computes its gradient. Saved with the model and in checkpoints. Freezing all biases at 0 trains a
        network without biases (the textbook case).
        """
        self._frozen = self._frozen | self._parameter_keys(what, "freeze")
        return self

    def unfreeze(self, *what: int | str) -> Network:
        """Train parameters again (the same ``what`` as :meth:`freeze`; nothing at all: every parameter)."""
        self._frozen = self._frozen - self._parameter_keys(what, "unfreeze")
        return self

    def _parameter_keys(self, what: tuple[int | str, ...], verb: str) -> frozenset[str]:
        """The parameter keys ``what`` names (layer indices or keys), after checking each; all for nothing."""
        keys = list(self.parameters())
        if not what:
            return frozenset(keys)
        n, chosen = len(self.layers), set[str]()
        for item in what:
            if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
                if not -n <= item < n:
                    raise ConfigError(f"Network.{verb}: there is no layer {item}; this network's layers are 0 to {n - 1}"
                                      f" (or -{n} to -1), and its parameters {keys}")
                layer = self.layers[int(item)]
                if not layer.params:
                    raise ConfigError(f"Network.{verb}: layer {item} ({layer}) has no parameters to {verb}; this "
                                      f"network's parameters are {keys}")
                chosen.update(f"{int(item) % n}.{name}" for name in layer.params)
            elif isinstance(item, str):
                if item not in keys:
                    raise ConfigError(f"Network.{verb}: unknown parameter {item!r}; this network's parameters are "
                                      f"{keys} (or give a layer index, 0 to {n - 1})")
                chosen.add(item)
            else:
                raise GlassnetTypeError(f"Network.{verb} takes layer indices (0, 1, ...) or parameter keys "
                                        f"('0.W', '0.b'), got {type(item).__name__} {item!r}")
        return frozenset(chosen)

    # ----------------------------------------------------------------- prediction
    def predict_proba(self, X: Any) -> Array:
        """Class probabilities of shape ``(n_samples, n_classes)``; a single sigmoid output gives ``[1 - p, p]``.

        Always in evaluation mode (see :meth:`evaluating`)."""
        if not self.loss_fn.is_classifier:
            raise ConfigError(f"predict_proba needs a classifier (loss 'bce' on a sigmoid or 'cross_entropy' on a "
                              f"softmax output layer); this one uses loss {self.loss_fn.name!r}")
        A = self._evaluated(X)
        return np.hstack([1.0 - A, A]) if A.shape[1] == 1 else A

    def predict(self, X: Any) -> NDArray[Any]:
        """Class labels for a classifier (``bce``: 0/1 per output; ``cross_entropy``: argmax), else the outputs.

        A single output is returned as shape ``(n_samples,)``. Always in evaluation mode (see :meth:`evaluating`).
        """
        A = self.loss_fn.labels(self._evaluated(X))
        return A[:, 0] if A.ndim == 2 and A.shape[1] == 1 else A

    def _evaluated(self, X: Any) -> Array:
        """:meth:`forward` in evaluation mode, the modes restored after: :meth:`evaluating` without the cost of a
        context manager on every prediction (a tiny network's ``predict`` takes a few microseconds)."""
        modes = self._modes()
        self.eval()
        try:
            return self.forward(X)
        finally:
            self._set_modes(modes)

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


def _copy_checked(net: Network, current: dict[str, Array], values: Any, kind: str, example: str) -> None:
    """Copy ``values`` into the live arrays ``current`` (a network's parameters or buffers) once every name, shape
    and value has been checked; nothing is copied if any is wrong."""
    if not isinstance(values, dict):
        raise GlassnetTypeError(f"set_{kind}s needs a dict like {example}, got {type(values).__name__}")
    unknown = sorted(map(str, set(values) - set(current)))
    if unknown:
        raise ConfigError(f"unknown {kind} name(s) {unknown}; this network has {sorted(current) or 'none'}")
    arrays = {}
    for key, value in values.items():
        layer = net.layers[int(key.split(".")[0])]
        where = f"{key} ({layer})" if kind == "parameter" else f"{kind} {key} ({layer})"
        array = as_parameter(value, where, net.dtype)
        if array.shape != current[key].shape:
            raise ShapeError(f"{where} must have shape {current[key].shape}, got {array.shape}")
        arrays[key] = array
    for key, array in arrays.items():
        current[key][...] = array
