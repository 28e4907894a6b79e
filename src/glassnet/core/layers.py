"""Layers: the :class:`Layer` interface, and the dense (fully connected) layer ``Z = X @ W + b``, ``A = f(Z)``.

Index convention: rows are samples, columns are units. ``W[i, j]`` is the weight from input ``i``
to unit ``j``, so ``W`` has shape ``(n_in, n_out)`` and ``b`` has shape ``(n_out,)``.

``forward`` caches what ``backward`` needs (``X``, ``Z``, ``A``) in ``layer.cache``; ``backward``
only reads that cache. Parameters and their gradients share names: ``params["W"]`` pairs with
``grads["W"]``. Layers do the plain chain rule; averaging over the batch is the loss's job.

Any class that implements :class:`Layer` can sit in a :class:`~glassnet.core.network.Network`: the
network, ``fit``, gradient checks, ``explain`` and save/load use only this interface. ``forward_into``
and ``backward_into`` are the in-place forms the engine runs (``Dense`` writes them out beside its
readable forms; a layer of your own inherits versions that call its readable ones).

Next read: ``losses.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.activations import ACTIVATIONS, Activation, get_activation
from glassnet.core.checks import as_parameter, check_seed, positive_int
from glassnet.core.init import Initializer, get_initializer
from glassnet.core.registry import Registry
from glassnet.errors import ConfigError, ShapeError

Array = NDArray[np.floating]


class Layer:
    """What a layer of a :class:`~glassnet.core.network.Network` provides.

    Attributes
    ----------
    n_in, n_out : int
        Inputs and outputs per sample: ``forward`` maps ``(n_samples, n_in)`` to ``(n_samples, n_out)``.
    params, grads : dict of str to array
        Parameters and their gradients under the same names (``grads`` set by ``backward``).
    cache : dict of str to array
        What ``forward`` kept for ``backward`` (and for ``explain`` to show).
    buffers : dict of str to array
        State that is kept but not trained (BatchNorm's running statistics); saved with the parameters.
    training : bool
        The mode (``Network.train()`` / ``Network.eval()`` set it): layers such as Dropout and BatchNorm1d
        compute differently in training and in evaluation.
    min_training_rows : int
        The fewest rows a batch may have in training mode (BatchNorm1d: 2); ``fit`` checks its batches against it
        before training starts.
    penalized : tuple of str
        The parameters the network's L2 penalty covers.
    activation : Activation or None
        The output's activation, if the layer has one (a fused loss needs it on the last layer).
    name : str
        The layer's type in model files; register the class in ``LAYERS`` to load it by that name.

    Methods to write: ``initialize(rng, dtype)``, ``forward(X)``, ``backward(dA) -> dX``, ``config()``;
    ``formulas()`` (text for ``explain``) and ``backward_from_dZ`` (only under a fused loss) are optional.
    """

    name = ""
    aliases: tuple[str, ...] = ()
    penalized: tuple[str, ...] = ()
    activation: Activation | None = None
    training = True
    min_training_rows = 1
    n_in: int
    n_out: int

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.buffers: dict[str, Array] = {}
        self.cache: dict[str, Any] = {}

    def initialize(self, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        """(Re)create the parameters in ``dtype``, drawing random values from ``rng``."""
        raise NotImplementedError

    def forward(self, X: Array) -> Array:
        raise NotImplementedError

    def backward(self, dA: Array) -> Array:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The type and settings that rebuild this layer (``LAYERS.from_config``); parameters are saved apart."""
        return {"name": self.name, "n_in": self.n_in, "n_out": self.n_out}

    def formulas(self) -> list[str]:
        """What the layer computes, as text lines for ``explain``."""
        return [f"a = {type(self).__name__}(x)"]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The expected shape of each parameter."""
        return {name: p.shape for name, p in self.params.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_in} -> {self.n_out})"

    # ---------------------------------------------------------------- in-place forms (engine)
    def forward_into(self, X: Array, work: Any) -> Array:
        """``forward(X)``, into the engine's buffers where the layer has its own form; this one calls ``forward``."""
        return self.forward(X)

    def backward_into(self, dA: Array, work: Any) -> Array | None:
        """``backward(dA)``, leaving the gradients in ``work.grads`` (views into the engine's flat buffer)."""
        dX = self.backward(dA)
        self._grads_into(work)
        return dX

    def backward_from_dZ_into(self, dZ: Array, work: Any) -> Array | None:
        """``backward_from_dZ(dZ)`` (fused losses), leaving the gradients in ``work.grads``."""
        dX = self.backward_from_dZ(dZ)  # type: ignore[attr-defined]  # only layers under a fused loss have it
        self._grads_into(work)
        return dX

    def _grads_into(self, work: Any) -> None:
        """Copy what the readable backward left in ``self.grads`` into the engine's views."""
        for name, g in self.grads.items():
            np.copyto(work.grads[name], g)
        self.grads = dict(work.grads)  # a dict of its own: a layer's readable backward may change its entries


class Dense(Layer):
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

    name = "dense"
    penalized = ("W",)
    activation: Activation

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation = "sigmoid",
        init: str | Initializer | Sequence[Any] | dict[str, Any] = "glorot",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.n_in = positive_int(n_in, "Dense n_in")
        self.n_out = positive_int(n_out, "Dense n_out")
        self.activation = get_activation(activation)
        self.init = init
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

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "n_in": self.n_in, "n_out": self.n_out, "activation": self.activation.config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        activation = config.get("activation", "identity")
        if isinstance(activation, dict):
            activation = ACTIVATIONS.from_config(activation)
        return cls(config["n_in"], config["n_out"], activation)

    def formulas(self) -> list[str]:
        return ["z = a_prev @ W + b", f"a = {self.activation.formula('z')}"]

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
        dW = X.T @ dZ
        db = dZ.sum(axis=0)
        self.grads = {"W": dW, "b": db}
        return dZ @ self.params["W"].T

    # ---------------------------------------------------------------- the same maths, into buffers
    # forward, backward and backward_from_dZ above, on buffers the engine made once per batch size (work.Z,
    # work.A, work.dZ, work.dX, work.grads); work.activation_forward/backward are the activation's own
    # in-place forms, or its readable ones when it has none. The first layer's dX is not computed (work.dX None).
    def forward_into(self, X: Array, work: Any) -> Array:
        Z = np.matmul(X, self.params["W"], work.Z)
        add_bias = getattr(work, "loops", {}).get("add_bias_loop")  # add_bias_loop below, compiled, if the engine chose it
        if add_bias is None:
            np.add(Z, self.params["b"], Z)
        else:
            add_bias(Z, self.params["b"])
        A = work.activation_forward(Z, work.A, work)
        cache = work.cache  # {"X", "Z", "A"}: the same buffers every step, but for the input
        cache["X"], cache["A"] = X, A
        self.cache = cache
        return A

    def backward_into(self, dA: Array, work: Any) -> Array | None:
        dZ = work.activation_backward(work.Z, self.cache["A"], dA, work.dZ, work)
        return self.backward_from_dZ_into(dZ, work)

    def backward_from_dZ_into(self, dZ: Array, work: Any) -> Array | None:
        grads = work.grads
        np.matmul(self.cache["X"].T, dZ, grads["W"])
        bias_gradient = getattr(work, "loops", {}).get("bias_gradient_loop")  # bias_gradient_loop below, compiled, if chosen
        if bias_gradient is None:
            np.add.reduce(dZ, axis=0, out=grads["b"])
        else:
            bias_gradient(dZ, grads["b"])
        self.grads = grads  # the engine's views (the readable forms never change a grads dict, they make a new one)
        if work.dX is None:
            return None
        return np.matmul(dZ, self.params["W"].T, work.dX)

    # ---------------------------------------------------------------- the bias, entry by entry
    # Loop forms (compiled by numba with glassnet[fast], core/compiled.py; the engine hands them to forward_into and
    # backward_from_dZ_into in work.loops): forward's "+ b" and backward_from_dZ's
    # dZ.sum(axis=0) in one pass each. On a small batch NumPy spends longer setting up a broadcast add or an axis-0
    # sum than adding (64 x 128: 9 us against 4). The sum adds the rows in order, as NumPy sums the columns of a
    # C-ordered array of several columns; a single column it sums pairwise, as a vector, so a layer of one unit keeps
    # NumPy's sum. Checked against the readable forms like every fast form (agreement.py).
    @staticmethod
    def add_bias_loop(Z: Array, b: Array) -> None:
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                Z[i, j] = Z[i, j] + b[j]

    @staticmethod
    def bias_gradient_loop(dZ: Array, db: Array) -> None:
        zero = dZ.dtype.type(0)
        for j in range(dZ.shape[1]):
            db[j] = zero  # from +0, as NumPy's sum starts: a column of -0.0 sums to +0.0
        for i in range(dZ.shape[0]):
            for j in range(dZ.shape[1]):
                db[j] = db[j] + dZ[i, j]

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


LAYERS: Registry[Layer] = Registry("layer", [Dense])
"""Layer types by the name in model files; ``LAYERS.add(MyLayer)`` lets :func:`glassnet.load` rebuild your own."""
