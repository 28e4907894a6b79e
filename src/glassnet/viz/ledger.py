"""The ledger of one training step, in the compact shape the HTML report's page consumes.

:func:`ledger` turns a trace in the ``glassnet-trace`` JSON schema (``glassnet.explain(...).to_dict()``, with or
without ``latex``; see ``glassnet/explain/schema.py``) into ordered records ``{section, symbol, op, expr, value,
note, refs}`` plus per-neuron and per-edge values for the diagram's tooltips. ``expr`` is the formula without its
leading ``symbol op`` and its trailing ``= value`` (the page prints both itself); ``refs`` lists the
diagram elements a record involves, found from the symbols in it (``z^(1)_2``, ``w^(1)_{1,2}``,
``b^(2)_1``, ``delta^(2)_1``, ``a^(0)_1`` or ``x_1``: layer in the superscript, neurons from 1).

Element ids: neuron ``n<l>_<j>`` (layer ``l``, 0 for the inputs; 0-based unit ``j``) and edge
``e<l>_<i>_<j>`` (weight ``W[i, j]`` of layer ``l``, numbered from 1 like the superscripts).

Which parameters the diagram draws: a layer whose parameters are a weight matrix ``W`` of shape ``(n_in, n_out)``
and a bias ``b`` of shape ``(n_out,)`` (Dense, and any layer built the same way; :func:`weights_and_biases`) has
its ``W[i, j]`` drawn as the edge from unit ``i`` to unit ``j`` and its ``b[j]`` beside unit ``j``; their
gradients and updated values go to ``edges`` and ``neurons`` (``grad_b``, ``new_b``). Any other layer's
parameters keep their own names: ``params`` maps each key (``"0.s"``) to its gradient and updated value,
whatever its shape, and the page shows them by those names.

Next read: ``report.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_SYMBOL = re.compile(r"(delta|z|a|b|w|x)(?:\^\{?\((\d+)\)\}?)?_\{?(\d+)(?:,\s*(\d+))?\}?")
_NUMBER = re.compile(r"\(?[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\)?|[-+]?(inf|nan)", re.I)


def refs_of(text: str) -> list[str]:
    """Diagram element ids named by the symbols in ``text``, in order of first mention."""
    found: list[str] = []
    for kind, layer, i, j in _SYMBOL.findall(text):
        if kind == "x":
            ref = f"n0_{int(i) - 1}"
        elif not layer or (kind == "w") != bool(j):
            continue
        elif kind == "w":
            ref = f"e{layer}_{int(i) - 1}_{int(j) - 1}"
        else:
            ref = f"n{layer}_{int(i) - 1}"
        if ref not in found:
            found.append(ref)
    return found


def weights_and_biases(shapes: Mapping[str, Sequence[int]], n_in: int, n_out: int) -> bool:
    """True when a layer's parameters are exactly ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``,
    as Dense's are: the diagram draws those as edges and biases. Any other layer shows its parameters by name."""
    return set(shapes) == {"W", "b"} and tuple(shapes["W"]) == (n_in, n_out) and tuple(shapes["b"]) == (n_out,)


def _expression(record: dict[str, Any]) -> str:
    """The formula between ``symbol op`` and the final ``= value``."""
    text, head = record.get("formula") or "", f"{record['symbol']} {record.get('op', '=')} "
    if text.startswith(head):
        text = text[len(head):]
    body, _, last = text.rpartition(" = ")
    if body and _NUMBER.fullmatch(last.strip()):
        return body
    return "" if _NUMBER.fullmatch(text.strip()) else text


def ledger(trace: dict[str, Any]) -> dict[str, Any]:
    """The page's form of one trace (``glassnet-trace`` JSON of one sample)."""
    records = []
    neurons: dict[str, dict[str, float]] = {}
    for r in trace["records"]:
        value = None if r.get("value") is None else float(r["value"])
        records.append({"section": r.get("phase", ""), "symbol": r["symbol"], "op": r.get("op", "="),
                        "expr": _expression(r), "value": value, "note": r.get("note", ""),
                        "refs": refs_of(r["symbol"] + " " + (r.get("formula") or ""))})
        if r.get("kind") in ("z", "a", "delta", "dA") and r.get("layer") is not None and r.get("neuron") is not None:
            neurons.setdefault(f"n{r['layer']}_{r['neuron']}", {})[r["kind"]] = value  # type: ignore[assignment]
    edges: dict[str, dict[str, float]] = {}
    params: dict[str, dict[str, Any]] = {}
    after = trace.get("params_after") or trace["params_before"]
    grads = {key: np.asarray(grad, dtype=float) for key, grad in trace["gradients"].items()}
    for spec in trace["network"]["layers"]:
        k, l = spec["index"], spec["index"] + 1
        keys = {key.split(".", 1)[1]: key for key in grads if key.split(".", 1)[0] == str(k)}
        drawn = weights_and_biases({name: grads[key].shape for name, key in keys.items()}, spec["n_in"], spec["n_out"])
        for name, key in keys.items():
            g, new = grads[key], np.asarray(after[key], dtype=float)
            if not drawn:
                params[key] = {"grad": g.tolist(), "new": new.tolist()}
                continue
            for index in np.ndindex(g.shape):
                if name == "W":
                    edges[f"e{l}_{index[0]}_{index[1]}"] = {"grad": float(g[index]), "new": float(new[index])}
                else:
                    entry = neurons.setdefault(f"n{l}_{index[0]}", {})
                    entry["grad_b"], entry["new_b"] = float(g[index]), float(new[index])
    return {"loss": trace["loss"], "records": records, "neurons": neurons, "edges": edges, "params": params,
            "inputs": trace["inputs"][0], "source": f"{trace.get('schema', 'trace')} v{trace.get('version', '?')}"}
