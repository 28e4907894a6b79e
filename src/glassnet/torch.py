"""A bridge to PyTorch: ``to_torch(net)`` gives an ``nn.Sequential``, ``from_torch(module)`` a glassnet ``Network``.

When a model outgrows a teaching library, move it (weights included) to PyTorch and keep training there::

    import torch
    import glassnet as gn
    from glassnet.torch import from_torch, to_torch, torch_loss, torch_optimizer

    model = to_torch(net, include_output_activation=False)     # logits out, for CrossEntropyLoss
    loss_fn = torch_loss(net)                                   # nn.CrossEntropyLoss() for loss="cross_entropy"
    opt = torch_optimizer(gn.Adam(1e-3), model.parameters())    # torch.optim.Adam(..., lr=1e-3, betas=..., eps=...)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)        # float64 stays float64
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn(model(X_t), y_t)
        loss.backward()
        opt.step()
    back = from_torch(model, loss="cross_entropy")              # a softmax output layer is added back

The one transpose: glassnet's ``W`` is ``(n_in, n_out)`` (``Z = X @ W + b``) while ``nn.Linear.weight`` is
``(n_out, n_in)`` (``Z = X @ weight.T + bias``), so ``weight = W.T``. Parameters are copied, never shared, and
keep their dtype (float64 stays float64).

Nothing here knows an activation, loss or optimizer by name: each class says what its PyTorch twin is
(``torch_name`` and ``torch_kwargs()``, and ``from_torch(module)`` for the way back), and the bridge reads
that. An activation is ``nn.<torch_name>(**torch_kwargs())``, or no module at all when ``torch_name`` is
``None`` (the identity); a module is converted by the registered activation whose ``torch_name`` is its
class name. Each conversion is checked on a small probe (glassnet's ``forward`` against the module), so an
activation that claims a twin computing something else (an edited ``forward``, a wrong ``torch_kwargs``, a
custom class without ``torch_name``) is refused by name rather than silently exported. :func:`torch_loss`
and :func:`torch_optimizer` give the matching ``torch.nn`` loss and ``torch.optim`` optimizer, to continue
training in PyTorch on the same path. The bridge converts :class:`~glassnet.core.layers.Dense` layers
(``nn.Linear`` + activation), :class:`~glassnet.core.batchnorm.BatchNorm1d` (``nn.BatchNorm1d``: ``weight`` is
``gamma``, ``bias`` is ``beta``, the running statistics, ``eps`` and ``momentum`` copied) and
:class:`~glassnet.core.dropout.Dropout` (``nn.Dropout(p)``); any other layer is refused by name. A BatchNorm1d
or Dropout (of a class that may have edited the maths) is checked on a probe like an activation. The module is
in the network's mode (``module.train()`` or ``.eval()``), and :func:`from_torch` gives the network the
module's; :func:`export_onnx` always exports the evaluation-mode function (BatchNorm as ONNX
``BatchNormalization`` with the running statistics, Dropout gone), which is what ``net.predict`` computes.

``save_torch`` / ``load_torch`` write a file with ``torch.save`` holding only tensors, strings and numbers
(no pickled modules: ``torch.load(..., weights_only=True)`` reads it); ``export_onnx`` writes ONNX.

Imported only on demand: ``import glassnet`` never imports torch. Next read: ``glassnet/viz/plots.py``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

import numpy as np

from glassnet.core.activations import ACTIVATIONS, Activation, Identity
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.checks import check_bool
from glassnet.core.dropout import Dropout
from glassnet.core.layers import Dense, Layer
from glassnet.core.losses import LOSSES, Loss, MeanSquaredError, get_loss
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer
from glassnet.errors import ConfigError, GlassnetTypeError, ModelFileError, require
from glassnet.io import atomic_write, network_from_metadata, network_metadata

torch: Any = require("torch", "torch", "glassnet.torch")
nn = torch.nn

FORMAT = "glassnet-torch"
_FLOAT_DTYPES = {torch.float64: "float64", torch.float32: "float32"}
# A probe of pre-activations, rows and columns distinct (so a softmax over the wrong dimension shows).
_PROBE = np.linspace(-3.0, 2.5, 12).reshape(3, 4) * np.array([1.0, -0.7, 0.4, 1.3])


def _torch_module(activation: Activation, where: str) -> Any:
    """``nn.<torch_name>(**torch_kwargs())`` for ``activation``, or ``None`` for the identity (no module)."""
    if activation.torch_name is None:
        return None
    module_class = getattr(nn, activation.torch_name, None)
    if module_class is None:
        raise ConfigError(f"{where}: activation {activation!r} names torch.nn.{activation.torch_name} as its PyTorch "
                          "twin, which this torch does not have; set torch_name on its class to a torch.nn module")
    return module_class(**activation.torch_kwargs())


def _check_same_function(activation: Activation, module: Any, where: str) -> None:
    """Refuse a conversion whose torch module (``None``: the identity) computes another function on the probe."""
    ours = activation.forward(_PROBE.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Softmax(dim=None) announces its implicit dimension
        theirs = _PROBE if module is None else module(torch.from_numpy(_PROBE)).detach().numpy()
    if not np.allclose(ours, theirs, rtol=1e-7, atol=1e-9):
        twin = "no module (the identity)" if module is None else repr(module)
        raise ConfigError(
            f"{where}: glassnet's {activation!r} and its PyTorch twin {twin} compute different functions (largest "
            f"difference {float(np.max(np.abs(ours - theirs))):.3g} on a probe); give its class the torch_name and "
            "torch_kwargs() of a torch.nn module computing its forward (or, going from PyTorch, use a module that "
            "glassnet's activation reproduces)")


def _torch_layer(layer: Layer, dtype: Any, where: str) -> Any:
    """``nn.BatchNorm1d`` or ``nn.Dropout`` for a BatchNorm1d or Dropout layer (checked on a probe); else ``None``."""
    if isinstance(layer, BatchNorm1d):
        module = nn.BatchNorm1d(layer.n_in, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(layer.params["gamma"].copy()))
            module.bias.copy_(torch.from_numpy(layer.params["beta"].copy()))
            module.running_mean.copy_(torch.from_numpy(layer.buffers["running_mean"].copy()))
            module.running_var.copy_(torch.from_numpy(layer.buffers["running_var"].copy()))
    elif isinstance(layer, Dropout):
        module = nn.Dropout(layer.p)
    else:
        return None
    _check_same_layer(layer, module, where)
    return module


def _check_same_layer(layer: Layer, module: Any, where: str) -> None:
    """Refuse a layer whose torch twin computes something else in evaluation mode on a probe (a subclass with an
    edited ``forward``); glassnet's layer and the module are left as they were (mode, buffers, cache)."""
    probe = np.linspace(-2.0, 3.0, 5 * layer.n_in).reshape(5, layer.n_in)
    if layer.params:
        probe = probe.astype(next(iter(layer.params.values())).dtype)
    training, cache = layer.training, layer.cache
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    try:
        layer.training = False
        ours = layer.forward(probe)
    finally:
        layer.training, layer.cache = training, cache
        for k, v in buffers.items():
            layer.buffers[k][...] = v
    was_training = module.training
    with torch.no_grad():
        theirs = module.eval()(torch.from_numpy(probe)).numpy()
    module.train(was_training)
    if not np.allclose(ours, theirs, rtol=1e-6, atol=1e-9):
        raise ConfigError(f"{where}: glassnet's {layer!r} and {module!r} compute different functions in evaluation "
                          f"mode (largest difference {float(np.max(np.abs(ours - theirs))):.3g} on a probe); a class "
                          f"that changes {type(layer).__mro__[1].__name__}'s maths has no PyTorch twin")


def to_torch(net: Network, include_output_activation: bool = True) -> Any:
    """A ``torch.nn.Sequential`` computing the same function as ``net``, with copies of its parameters.

    Parameters
    ----------
    net : Network, or a fitted ``glassnet.sklearn`` estimator (its ``network_``)
    include_output_activation : bool
        ``True`` (default): the module ends with the output activation (e.g. ``nn.Softmax(dim=1)``), so it
        outputs what ``net.forward`` does. ``False``: it ends with the last ``nn.Linear`` and outputs
        logits, which is what ``nn.CrossEntropyLoss`` / ``nn.BCEWithLogitsLoss`` expect when you continue
        training in PyTorch (see :func:`torch_loss`).

    Raises
    ------
    GlassnetTypeError
        For a layer other than :class:`Dense`, BatchNorm1d or Dropout (naming it).
    ConfigError
        For an activation or layer without a PyTorch twin computing the same function.

    The module is in the network's mode: ``module.training`` is ``net.training``; frozen parameters
    (``net.frozen``) have ``requires_grad=False``.
    """
    net = getattr(net, "network_", net)  # a fitted GlassClassifier / GlassRegressor gives its network
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"to_torch needs a glassnet Network (or a fitted glassnet estimator), got {type(net).__name__}")
    include_output_activation = check_bool(include_output_activation, "include_output_activation")
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules: list[Any] = []
    frozen = set(net.frozen)
    for i, layer in enumerate(net.layers):
        where = f"layer {i} ({layer})"
        twin = _torch_layer(layer, dtype, where)
        if twin is not None:
            _carry_frozen(twin, i, frozen)
            modules.append(twin)
            continue
        if not isinstance(layer, Dense):
            raise GlassnetTypeError(f"{where} is a {type(layer).__name__}; the PyTorch bridge converts Dense layers "
                                    "(each becomes nn.Linear and its activation module), BatchNorm1d and Dropout only")
        linear = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            # The one transpose: glassnet W is (n_in, n_out), nn.Linear.weight is (n_out, n_in).
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["W"].T)))
            linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
        _carry_frozen(linear, i, frozen)
        modules.append(linear)
        act = _torch_module(layer.activation, where)
        _check_same_function(layer.activation, act, where)
        if act is not None and (include_output_activation or i < len(net.layers) - 1):
            modules.append(act)
    return nn.Sequential(*modules).train(net.training)


# glassnet's parameter names and the torch.nn parameters they become (Dense -> nn.Linear, BatchNorm1d -> nn.BatchNorm1d).
TORCH_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}


def _carry_frozen(module: Any, i: int, frozen: set[str]) -> None:
    """``requires_grad=False`` on the torch parameters of layer ``i``'s frozen ones (``Network.freeze``), so training
    continued in PyTorch leaves them as glassnet's ``fit`` would."""
    for name, torch_name in TORCH_NAMES.items():
        if f"{i}.{name}" in frozen:
            getattr(module, torch_name).requires_grad_(False)


def torch_loss(net: Network | Loss | str) -> Any:
    """The ``torch.nn`` loss module computing ``net``'s loss (``nn.<torch_name>(**torch_kwargs())``).

    A fused loss (``loss.fused_activation`` set: ``bce``, ``cross_entropy``) takes the logits, so pair it with
    ``to_torch(net, include_output_activation=False)``; the others take the outputs of ``to_torch(net)``.
    """
    given: Any = getattr(getattr(net, "network_", net), "loss_fn", net)  # a network's (or an estimator's) loss
    loss = get_loss(given)
    module_class = getattr(nn, loss.torch_name, None) if loss.torch_name else None
    if module_class is None:
        raise ConfigError(f"loss {loss!r} has no PyTorch twin (its class has no torch_name naming a torch.nn loss)")
    return module_class(**loss.torch_kwargs())


def torch_optimizer(optimizer: Optimizer, parameters: Any) -> Any:
    """The ``torch.optim`` optimizer with ``optimizer``'s rule and settings, over ``parameters`` (e.g.
    ``module.parameters()``): ``torch.optim.<torch_name>(parameters, lr=lr, **torch_kwargs())``."""
    if not isinstance(optimizer, Optimizer):
        raise GlassnetTypeError(f"torch_optimizer needs a glassnet optimizer (e.g. glassnet.Adam(0.01)), "
                                f"got {type(optimizer).__name__}")
    optimizer_class = getattr(torch.optim, optimizer.torch_name, None) if optimizer.torch_name else None
    if optimizer_class is None:
        raise ConfigError(f"{optimizer!r} has no PyTorch twin (its class has no torch_name naming a torch.optim class)")
    return optimizer_class(parameters, lr=optimizer.lr, **optimizer.torch_kwargs())


def _activation_for(child: Any, where: str) -> Activation:
    """The glassnet activation whose class names ``type(child)`` as its ``torch_name``, with ``child``'s settings."""
    kind = type(child).__name__
    matches = [cls for cls in ACTIVATIONS.classes() if cls.torch_name == kind]
    if not matches or type(child) is not getattr(nn, kind, None):  # a subclass of nn.ReLU may compute anything
        known = ", ".join(["Linear", *(cls.torch_name for cls in ACTIVATIONS.classes() if cls.torch_name), "Identity",
                           "BatchNorm1d", "Dropout"])
        raise GlassnetTypeError(f"cannot convert {where}: glassnet has {known} only. Remove or replace that module")
    activation = matches[0].from_torch(child)
    _check_same_function(activation, child, where)
    return activation


def from_torch(module: Any, loss: str | Loss | None = None, l2: float = 0.0, seed: int | None = None) -> Network:
    """A glassnet :class:`Network` from an ``nn.Sequential`` of ``nn.Linear`` and activation modules.

    Supported modules: ``Linear`` (float32 or float64; without a bias, glassnet's bias starts at 0), ``Identity``,
    and the module of every glassnet activation that has one (``torch_name``: ``Sigmoid``, ``Tanh``, ``ReLU``,
    ``LeakyReLU``, ``GELU()``, ``Softmax(dim=1)`` (last only), ...), ``BatchNorm1d`` (with ``affine`` and
    ``track_running_stats``, as by default; its running statistics are copied) and ``Dropout``, each after a
    ``Linear`` and its activation. Parameters are copied; the network is in the module's mode.

    Parameters
    ----------
    loss : str or Loss, optional
        Default: the fused loss of the final activation (``"bce"`` after ``Sigmoid``, ``"cross_entropy"`` after
        ``Softmax``), else ``"mse"``. A fused loss with a module that ends in ``Linear`` (logits) gives the last
        layer the loss's activation, so ``from_torch(to_torch(net, False), loss=...)`` round-trips.

    Raises
    ------
    GlassnetTypeError
        For a module glassnet has no equivalent of (naming it and its index), or a non-float dtype.
    ConfigError
        For an activation with no ``Linear`` before it, two activations in a row, settings glassnet's activation
        does not reproduce (``Softmax(dim=0)``, ``GELU(approximate='tanh')``), or one coupling the units anywhere
        but last.
    """
    if isinstance(module, nn.Linear):
        module = nn.Sequential(module)
    if not isinstance(module, nn.Sequential):
        raise GlassnetTypeError(f"from_torch needs a torch.nn.Sequential of Linear and activation modules; got "
                                f"{type(module).__name__}. Rebuild it as nn.Sequential(...) first")
    specs: list[dict[str, Any]] = []
    dtype: Any = None
    for index, child in enumerate(module):
        where = f"module {index} ({type(child).__name__})"
        if isinstance(child, nn.Identity):
            continue
        if type(child) in (nn.BatchNorm1d, nn.Dropout):
            layer, arrays = _layer_from(child, where, specs, dtype)
            specs.append({"layer": layer, "arrays": arrays, "activation": None})
            continue
        if isinstance(child, nn.Linear):
            if child.weight.dtype not in _FLOAT_DTYPES:
                raise GlassnetTypeError(f"{where} has dtype {child.weight.dtype}; glassnet works in float32 or float64. "
                                        "Convert it first, e.g. module.double()")
            if dtype is not None and child.weight.dtype != dtype:
                raise GlassnetTypeError(f"{where} is {child.weight.dtype} but earlier layers are {dtype}; use one dtype")
            dtype = child.weight.dtype
            weight = child.weight.detach().cpu().numpy()
            bias = child.bias.detach().cpu().numpy() if child.bias is not None else np.zeros(child.out_features)
            # The one transpose back: nn.Linear.weight is (n_out, n_in), glassnet W is (n_in, n_out).
            specs.append({"W": weight.T.copy(), "b": bias.copy(), "activation": None})
            continue
        if not specs or "layer" in specs[-1]:
            _activation_for(child, where)  # an unknown module is reported as such, wherever it is
            after = f"follows {type(module[index - 1]).__name__}" if specs else "comes before any Linear"
            raise ConfigError(f"{where} {after}; glassnet applies an activation after a Linear layer only (its Dense "
                              "layer's activation): put BatchNorm1d or Dropout after the activation, e.g. Linear, "
                              "ReLU, BatchNorm1d")
        if specs[-1]["activation"] is not None:
            _activation_for(child, where)
            raise ConfigError(f"{where} follows another activation; glassnet has one activation per Linear layer")
        activation = _activation_for(child, where)
        if not activation.elementwise and index != len(module) - 1:
            raise ConfigError(f"{where} is not the last module; {activation.name} couples the units of a layer, so "
                              "glassnet uses it on the output layer only")
        specs[-1]["activation"] = activation
    if not any("W" in spec for spec in specs):
        raise ConfigError("the module has no Linear layer; there is nothing to convert")
    last = specs[-1]
    if loss is None:  # the loss fused with the final activation, if there is one
        loss_fn: Loss = next((cls() for cls in LOSSES.classes() if cls.fused_activation is not None
                              and isinstance(last["activation"], cls.fused_activation)), MeanSquaredError())
    else:
        loss_fn = get_loss(loss)
    if loss_fn.fused_activation is not None and last["activation"] is None and "W" in last:
        last["activation"] = loss_fn.fused_activation()  # the module outputs logits; the fused loss wants its activation
    layers = [s["layer"] if "layer" in s else
              Dense(s["W"].shape[0], s["W"].shape[1], s["activation"] or Identity(), init=(s["W"], s["b"]))
              for s in specs]
    net = Network(layers, loss=loss_fn, l2=l2, seed=seed, dtype=_FLOAT_DTYPES[dtype])
    for spec, layer in zip(specs, net.layers):
        for name, value in spec.get("arrays", {}).items():  # BatchNorm1d's, into the arrays the network made
            (layer.params if name in layer.params else layer.buffers)[name][...] = value
    return net.train(bool(module.training))


def _layer_from(child: Any, where: str, specs: list[dict[str, Any]], dtype: Any) -> tuple[Layer, dict[str, Any]]:
    """The glassnet BatchNorm1d or Dropout of an ``nn.BatchNorm1d`` or ``nn.Dropout``, and the arrays to copy into
    it once the network has made its parameters (``gamma``, ``beta``, the running statistics)."""
    if not specs:
        raise ConfigError(f"{where} comes before any Linear; glassnet's networks start with a Dense layer")
    if isinstance(child, nn.Dropout):
        return Dropout(child.p), {}
    missing = [what for what, has in (("affine=True (a learnable weight and bias)", child.affine),
                                      ("track_running_stats=True (running statistics)", child.track_running_stats),
                                      ("a momentum (not None: a cumulative average)", child.momentum is not None))
               if not has]
    if missing:
        raise ConfigError(f"cannot convert {where}: glassnet's BatchNorm1d needs {' and '.join(missing)}, as "
                          "torch's defaults have; rebuild it as nn.BatchNorm1d(n) and copy what it learned")
    if child.weight.dtype != dtype:
        raise GlassnetTypeError(f"{where} is {child.weight.dtype} but the Linear layers before it are {dtype}; use one dtype")
    arrays = {"gamma": child.weight, "beta": child.bias, "running_mean": child.running_mean,
              "running_var": child.running_var}
    return (BatchNorm1d(child.num_features, eps=child.eps, momentum=child.momentum),
            {k: v.detach().cpu().numpy().copy() for k, v in arrays.items()})


# ---------------------------------------------------------------------- files
def _architecture(net: Network, include_output_activation: bool) -> dict[str, Any]:
    return {"format": FORMAT, "format_version": 1, "include_output_activation": include_output_activation,
            **network_metadata(net)}


def save_torch(net: Network, path: str | os.PathLike[str], include_output_activation: bool = True) -> None:
    """Write ``{"architecture": ..., "state_dict": ...}`` with ``torch.save`` (tensors, strings, numbers only).

    Read it back with :func:`load_torch`, or in plain PyTorch with ``torch.load(path, weights_only=True)``.
    """
    module = to_torch(net, include_output_activation)
    payload = {"architecture": _architecture(net, include_output_activation),
               "state_dict": {k: v.detach().clone() for k, v in module.state_dict().items()}}
    with atomic_write(path) as handle:
        torch.save(payload, handle)


def load_torch(path: str | os.PathLike[str]) -> Any:
    """The ``nn.Sequential`` saved by :func:`save_torch` (read with ``weights_only=True``: nothing is unpickled)."""
    source = str(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"{source} does not exist")
    try:
        payload = torch.load(path, weights_only=True)
        arch = payload["architecture"]
        if arch.get("format") != FORMAT:
            raise ModelFileError(f"{source} is not a glassnet torch export (format {arch.get('format')!r})")
        module = to_torch(network_from_metadata(arch, source), bool(arch["include_output_activation"]))
        module.load_state_dict(payload["state_dict"])
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise ModelFileError(f"{source} could not be read as a glassnet torch export ({type(exc).__name__}: {exc})") from None
    return module


def export_onnx(net: Network, path: str | os.PathLike[str], include_output_activation: bool = True) -> None:
    """Write ``net`` as an ONNX model with input ``"x"`` (batch, n_in) and output ``"y"`` (batch, n_out).

    Uses ``torch.onnx.export`` (the TorchScript exporter, fast and offline; it needs the ``onnx`` package). The
    model is the network in evaluation mode, whatever its mode: Dropout passes its input on (and is left out) and
    BatchNorm1d normalises by its running statistics (an ONNX ``BatchNormalization``).
    """
    require("onnx", "onnx", "ONNX export")
    module = to_torch(net, include_output_activation).eval()  # the function net.predict computes
    for child in module:
        if isinstance(child, nn.BatchNorm1d):
            # ONNX keeps BatchNormalization's epsilon as a 32-bit float; what rounding it loses is added to the
            # running variance (which the model uses only as var + eps), so the file computes glassnet's function.
            eps32 = float(np.float32(child.eps))
            with torch.no_grad():
                child.running_var += child.eps - eps32
            child.eps = eps32
    example = torch.zeros(1, net.n_in, dtype=torch.float64 if net.dtype == np.float64 else torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_file = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            torch.onnx.export(module, (example,), tmp_file, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        with open(tmp_file, "rb") as src, atomic_write(path) as dst:
            dst.write(src.read())


__all__ = ["export_onnx", "from_torch", "load_torch", "save_torch", "to_torch", "torch_loss", "torch_optimizer"]
