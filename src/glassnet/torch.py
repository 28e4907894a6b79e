"""A bridge to PyTorch: ``to_torch(net)`` gives an ``nn.Sequential``, ``from_torch(module)`` a glassnet ``Network``.

When a model outgrows a teaching library, move it (weights included) to PyTorch and keep training there::

    import torch
    from glassnet.torch import to_torch, from_torch

    model = to_torch(net, include_output_activation=False)     # logits out, for CrossEntropyLoss
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)        # float64 stays float64
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X_t), y_t)
        loss.backward()
        opt.step()
    back = from_torch(model, loss="cross_entropy")              # a softmax output layer is added back

The one transpose: glassnet's ``W`` is ``(n_in, n_out)`` (``Z = X @ W + b``) while ``nn.Linear.weight`` is
``(n_out, n_in)`` (``Z = X @ weight.T + bias``), so ``weight = W.T``. Activations map one to one
(sigmoid, tanh, relu, leaky_relu with its slope, softmax over dim 1; identity is no module at all).
Parameters are copied, never shared, and keep their dtype (float64 stays float64).

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

from glassnet.core.activations import LeakyReLU, get_activation
from glassnet.core.layers import Dense
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError, ModelFileError, require
from glassnet.io import atomic_write, network_from_metadata, network_metadata

torch: Any = require("torch", "torch", "glassnet.torch")
nn = torch.nn

FORMAT = "glassnet-torch"
_FLOAT_DTYPES = {torch.float64: "float64", torch.float32: "float32"}


def _activation_module(name: str, slope: float | None, where: str) -> Any:
    modules = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
    if name == "identity":
        return None
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=slope)
    if name == "softmax":
        return nn.Softmax(dim=1)
    if name not in modules:
        raise ConfigError(f"{where} uses activation {name!r}, which the PyTorch bridge does not know")
    return modules[name]()


def to_torch(net: Network, include_output_activation: bool = True) -> Any:
    """A ``torch.nn.Sequential`` computing the same function as ``net``, with copies of its parameters.

    Parameters
    ----------
    net : Network, or a fitted ``glassnet.sklearn`` estimator (its ``network_``)
    include_output_activation : bool
        ``True`` (default): the module ends with the output activation (e.g. ``nn.Softmax(dim=1)``), so it
        outputs what ``net.forward`` does. ``False``: it ends with the last ``nn.Linear`` and outputs
        logits, which is what ``nn.CrossEntropyLoss`` / ``nn.BCEWithLogitsLoss`` expect when you continue
        training in PyTorch.
    """
    net = getattr(net, "network_", net)  # a fitted GlassClassifier / GlassRegressor gives its network
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"to_torch needs a glassnet Network (or a fitted glassnet estimator), got {type(net).__name__}")
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules: list[Any] = []
    for i, layer in enumerate(net.layers):
        linear = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            # The one transpose: glassnet W is (n_in, n_out), nn.Linear.weight is (n_out, n_in).
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["W"].T)))
            linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
        modules.append(linear)
        last = i == len(net.layers) - 1
        act = _activation_module(layer.activation.name, getattr(layer.activation, "slope", None), f"layer {i} ({layer})")
        if act is not None and (include_output_activation or not last):
            modules.append(act)
    return nn.Sequential(*modules)


_ACTIVATION_NAMES = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "LeakyReLU": "leaky_relu", "Softmax": "softmax"}


def from_torch(module: Any, loss: str | None = None, l2: float = 0.0, seed: int | None = None) -> Network:
    """A glassnet :class:`Network` from an ``nn.Sequential`` of ``nn.Linear`` and activation modules.

    Supported modules: ``Linear`` (float32 or float64; without a bias, glassnet's bias starts at 0),
    ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU``, ``Softmax(dim=1)`` (last only) and ``Identity``.
    Parameters are copied.

    Parameters
    ----------
    loss : str, optional
        Default: ``"bce"`` after a final ``Sigmoid``, ``"cross_entropy"`` after ``Softmax``, else ``"mse"``.
        ``"cross_entropy"`` (``"bce"``) with a module that ends in ``Linear`` (logits) gives the last layer
        a softmax (sigmoid) activation, so ``from_torch(to_torch(net, False), loss=...)`` round-trips.

    Raises
    ------
    GlassnetTypeError
        For a module glassnet has no equivalent of (naming it and its index), or a non-float dtype.
    ConfigError
        For an activation with no ``Linear`` before it, or two activations in a row.
    """
    if isinstance(module, nn.Linear):
        module = nn.Sequential(module)
    if not isinstance(module, nn.Sequential):
        raise GlassnetTypeError(f"from_torch needs a torch.nn.Sequential of Linear and activation modules; got "
                                f"{type(module).__name__}. Rebuild it as nn.Sequential(...) first")
    specs: list[dict[str, Any]] = []
    dtype: Any = None
    for index, child in enumerate(module):
        kind = type(child).__name__
        where = f"module {index} ({kind})"
        if isinstance(child, nn.Identity):
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
            specs.append({"W": weight.T.copy(), "b": bias.copy(), "activation": "identity", "index": index})
            continue
        name = _ACTIVATION_NAMES.get(kind)
        if name is None or type(child) is not getattr(nn, kind):
            raise GlassnetTypeError(
                f"cannot convert {where}: glassnet has Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax(dim=1) and "
                "Identity only. Remove or replace that module (e.g. drop Dropout after training)")
        if not specs:
            raise ConfigError(f"{where} comes before any Linear; glassnet applies an activation after a Linear layer")
        if specs[-1]["activation"] != "identity":
            raise ConfigError(f"{where} follows another activation; glassnet has one activation per Linear layer")
        if name == "softmax":
            if child.dim not in (1, -1, None):
                raise ConfigError(f"{where} has dim={child.dim}; glassnet's softmax is over the units (dim=1)")
            if index != len(module) - 1:
                raise ConfigError(f"{where} is not the last module; glassnet uses softmax on the output layer only")
        specs[-1]["activation"] = LeakyReLU(float(child.negative_slope)) if name == "leaky_relu" else name
    if not specs:
        raise ConfigError("the module has no Linear layer; there is nothing to convert")
    last = specs[-1]
    if loss is None:
        loss = {"sigmoid": "bce", "softmax": "cross_entropy"}.get(str(last["activation"]), "mse")
    fused = {"bce": "sigmoid", "binary_cross_entropy": "sigmoid", "cross_entropy": "softmax",
             "categorical_cross_entropy": "softmax"}.get(str(loss).lower())
    if fused and last["activation"] == "identity":
        last["activation"] = fused  # the module outputs logits; glassnet's fused loss wants the activation
    layers = [Dense(s["W"].shape[0], s["W"].shape[1], get_activation(s["activation"]), init=(s["W"], s["b"]))
              for s in specs]
    return Network(layers, loss=loss, l2=l2, seed=seed, dtype=_FLOAT_DTYPES[dtype])


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

    Uses ``torch.onnx.export`` (the TorchScript exporter, fast and offline; it needs the ``onnx`` package).
    """
    require("onnx", "onnx", "ONNX export")
    module = to_torch(net, include_output_activation).eval()
    example = torch.zeros(1, net.n_in, dtype=torch.float64 if net.dtype == np.float64 else torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_file = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            torch.onnx.export(module, (example,), tmp_file, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        with open(tmp_file, "rb") as src, atomic_write(path) as dst:
            dst.write(src.read())


__all__ = ["export_onnx", "from_torch", "load_torch", "save_torch", "to_torch"]
