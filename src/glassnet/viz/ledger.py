"""The ledger of one training step, in the shape the HTML report consumes.

:func:`ledger` turns a trace (the JSON of ``glassnet.explain(...).to_json()`` when that module is
installed, else :func:`fallback_trace`, a minimal stand-in with the same kind of records) into the
report's normalised form: ordered records ``{section, symbol, formula, value, refs}`` where ``refs``
lists the diagram elements a record involves, found from the symbols in it (``z^(1)_2``,
``w^(1)_{1,2}``, ``b^(2)_1``, ``delta^(2)_1``, ``a^(0)_1`` or ``x_1``: layer in the superscript, 1-based
neuron subscripts), plus per-neuron and per-edge values for the diagram's tooltips.

Element ids: neuron ``n<l>_<j>`` (layer ``l``, 0 for the inputs; 0-based unit ``j``) and edge
``e<l>_<i>_<j>`` (weight ``W[i, j]`` of layer ``l``, 1-based like the superscripts).

Next read: ``report.py``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer

_SYMBOL = re.compile(r"(delta|z|a|b|w|x)(?:\^\{?\((\d+)\)\}?)?_\{?(\d+)(?:,\s*(\d+))?\}?")


def _g(v: Any) -> str:
    return f"{v:.6g}"


def fallback_trace(net: Network, x: NDArray[Any], y: NDArray[Any], optimizer: Optimizer) -> dict[str, Any]:
    """A minimal trace of one step on one sample, from the engine's own forward, backward and update.

    ``x`` has shape ``(1, n_in)``, ``y`` is the network's target array of shape ``(1, n_out)``. The network
    is left unchanged. This stands in for ``glassnet.explain`` where it is not available.
    """
    records: list[dict[str, Any]] = []
    add = lambda section, symbol, formula, value: records.append(
        {"section": section, "symbol": symbol, "formula": formula, "value": float(value)})
    net._forward(x)
    for l, layer in enumerate(net.layers, start=1):
        X, Z, A, W, b = layer.cache["X"][0], layer.cache["Z"][0], layer.cache["A"][0], layer.params["W"], layer.params["b"]
        prev = "x" if l == 1 else f"a^({l - 1})"
        for j in range(layer.n_out):
            terms = " + ".join(f"w^({l})_{{{i + 1},{j + 1}}} {prev}_{i + 1}" for i in range(layer.n_in))
            nums = " + ".join(f"({_g(W[i, j])})({_g(X[i])})" for i in range(layer.n_in))
            add("forward", f"z^({l})_{j + 1}", f"{terms} + b^({l})_{j + 1} = {nums} + ({_g(b[j])})", Z[j])
            add("forward", f"a^({l})_{j + 1}", f"{layer.activation.name}(z^({l})_{j + 1}) = "
                f"{layer.activation.name}({_g(Z[j])})", A[j])
    loss = net._loss_value(y)
    add("loss", "L", f"{net.loss_fn.name}(a^({len(net.layers)}), y) with y = {[_g(v) for v in y[0]]}", loss)
    last = net.layers[-1]
    d = net.loss_fn.gradient(last.cache["Z"], last.cache["A"], y)
    for l in range(len(net.layers), 0, -1):
        layer = net.layers[l - 1]
        fused = l == len(net.layers) and net.loss_fn.fused_activation
        dZ = d if fused else layer.activation.backward(layer.cache["Z"], layer.cache["A"], d)
        for j in range(layer.n_out):
            if l == len(net.layers):
                how = (f"a^({l})_{j + 1} - y_{j + 1}" if fused
                       else f"dL/da^({l})_{j + 1} * {layer.activation.name}'(z^({l})_{j + 1})")
            else:
                nxt = net.layers[l]
                how = "(" + " + ".join(f"w^({l + 1})_{{{j + 1},{k + 1}}} delta^({l + 1})_{k + 1}" for k in range(nxt.n_out))
                how += f") * {layer.activation.name}'(z^({l})_{j + 1})"
            add("backward", f"delta^({l})_{j + 1}", f"{how} = {_g(dZ[0, j])}", dZ[0, j])
        d = layer.backward_from_dZ(dZ)
        prev = "x" if l == 1 else f"a^({l - 1})"
        for i in range(layer.n_in):
            for j in range(layer.n_out):
                add("backward", f"dL/dw^({l})_{{{i + 1},{j + 1}}}", f"{prev}_{i + 1} delta^({l})_{j + 1} = "
                    f"({_g(layer.cache['X'][0, i])})({_g(dZ[0, j])})", layer.grads["W"][i, j])
        for j in range(layer.n_out):
            add("backward", f"dL/db^({l})_{j + 1}", f"delta^({l})_{j + 1}", layer.grads["b"][j])
    net._backward(y)  # the engine's own gradients, L2 included, for the update
    grads = {key: g.copy() for key, g in net._grads().items()}
    before = {key: p.copy() for key, p in net.parameters().items()}
    optimizer.update(net.parameters(), grads)
    updates = {key: p.copy() for key, p in net.parameters().items()}
    net.set_parameters(before)
    name = optimizer.config()["name"]
    for key, new in updates.items():
        l, kind = int(key.split(".")[0]) + 1, key.split(".")[1]
        for index in np.ndindex(new.shape):
            sub = ",".join(str(i + 1) for i in index)
            sym = f"w^({l})_{{{sub}}}" if kind == "W" else f"b^({l})_{sub}"
            rule = f"{sym} - {_g(optimizer.lr)} dL/d{sym}" if name == "sgd" and not optimizer.config().get("momentum") \
                else f"{name} step on {sym}"
            add("update", f"{sym} <-", f"{rule} = {_g(before[key][index])} -> {_g(new[index])}", new[index])
    return {"format": "glassnet-trace-fallback", "loss": float(loss), "records": records,
            "gradients": {k: g.tolist() for k, g in grads.items()}, "updates": {k: u.tolist() for k, u in updates.items()},
            "parameters": {k: p.tolist() for k, p in before.items()}}


def refs_of(text: str) -> list[str]:
    """Diagram element ids named by the symbols in ``text``, in order of first mention."""
    found: list[str] = []
    for kind, layer, i, j in _SYMBOL.findall(text):
        if kind == "x":
            ref = f"n0_{int(i) - 1}"
        elif not layer:
            continue
        elif kind == "w" and j:
            ref = f"e{layer}_{int(i) - 1}_{int(j) - 1}"
        elif kind == "w":
            continue
        else:
            ref = f"n{layer}_{int(i) - 1}"
        if ref not in found:
            found.append(ref)
    return found


def ledger(trace: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    """The report's form of one trace: records with ``refs``, and values per neuron and per edge."""
    records = [{"section": r.get("section", ""), "symbol": r["symbol"], "formula": r.get("formula", ""),
                "value": float(r["value"]), "refs": refs_of(r["symbol"] + " " + r.get("formula", ""))}
               for r in trace["records"]]
    neurons: dict[str, dict[str, float]] = {}
    for r in records:
        m = re.fullmatch(r"(z|a|delta)\^\((\d+)\)_(\d+)", r["symbol"])
        if m:
            neurons.setdefault(f"n{m[2]}_{int(m[3]) - 1}", {})[m[1]] = r["value"]
    edges: dict[str, dict[str, float]] = {}
    for key, grad in trace["gradients"].items():
        l, kind = int(key.split(".")[0]) + 1, key.split(".")[1]
        g, new = np.asarray(grad, dtype=float), np.asarray(trace["updates"][key], dtype=float)
        for index in np.ndindex(g.shape):
            if kind == "W":
                edges[f"e{l}_{index[0]}_{index[1]}"] = {"grad": float(g[index]), "new": float(new[index])}
            else:
                entry = neurons.setdefault(f"n{l}_{index[0]}", {})
                entry["grad_b"], entry["new_b"] = float(g[index]), float(new[index])
    return {"loss": float(trace["loss"]), "records": records, "neurons": neurons, "edges": edges,
            "source": trace.get("format", "glassnet-trace")}
