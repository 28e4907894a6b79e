"""Which parameter entry a learner means: ``"0.W[1,2]"``, ``("0.W", (1, 2))`` or the symbol ``"w^(1)_{2,3}"``.

Keys and their indices count from 0, as in the arrays; symbols count layers and neurons from 1, as in the
ledger (``records.py``). Used by predict, then check (``predict.py``) and ``glassnet explain --predict``.

Next read: ``predict.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.explain.records import sym

Array = NDArray[np.floating]

_KEY = re.compile(r"^\s*(\d+)\.([A-Za-z_]\w*)\s*(?:[\[(]\s*([-\d\s,]*?)\s*[\])])?\s*$")
_SYMBOL = re.compile(r"^\s*([A-Za-z]+)\s*\^?\s*\{?\s*\(\s*(\d+)\s*\)\s*\}?\s*(?:_\s*\{?\s*([-\d\s,]+?)\s*\}?)?\s*$")


def _shapes(net: Network) -> str:
    return ", ".join(f"{k} {tuple(p.shape)}" for k, p in net.parameters().items())


HOW = "write a weight as '0.W[1,2]' (key, 0-based indices), ('0.W', (1, 2)) or its symbol 'w^(1)_{2,3}' (1-based)"


def parse_weight(net: Network, weight: Any) -> tuple[str, tuple[int, ...]]:
    """The parameter key and 0-based index of ``weight``, in any form a learner would type.

    ``"0.W[1,2]"`` or ``"0.W[1, 2]"`` (key and 0-based indices), ``("0.W", (1, 2))``, ``("0.b", 1)``, or the
    symbol ``"w^(1)_{2,3}"`` / ``"b^(2)_1"`` / ``"gamma^(2)_1"`` (layer and neurons from 1, as in the ledger; LaTeX's
    ``w^{(1)}_{2,3}`` too). Raises :class:`ConfigError` for a parameter that does not exist (naming the keys and
    shapes) and :class:`ShapeError` for an index outside the parameter.
    """
    params = net.parameters()
    if isinstance(weight, str):
        text = weight.strip()
        m = _KEY.match(text)
        if m:
            key, index = f"{m[1]}.{m[2]}", _ints(m[3] or "", weight)
            return _checked(net, params, key, index, weight)
        m = _SYMBOL.match(text.replace("{(", "(").replace(")}", ")"))
        if m:
            name, layer = m[1], int(m[2])
            subscripts = _ints(m[3] or "", weight)
            if any(i < 1 for i in subscripts):
                raise ShapeError(f"predict: in the symbol {weight!r} the neurons count from 1, as in the ledger; "
                                 f"got {list(subscripts)}. ({HOW})")
            names = {k.split(".", 1)[1].lower(): k for k in params if k.split(".", 1)[0] == str(layer - 1)}
            if name.lower() not in names:
                raise ConfigError(f"predict: {weight!r} names {name} of layer {layer}, which this network does not "
                                  f"have; its parameters are {_shapes(net)} (key 'k.W' is w^(k+1)). {HOW}")
            return _checked(net, params, names[name.lower()], tuple(i - 1 for i in subscripts), weight)
        raise ConfigError(f"predict: cannot read {weight!r} as a weight; {HOW}. This network has {_shapes(net)}")
    if isinstance(weight, (tuple, list)) and len(weight) == 2 and isinstance(weight[0], str):
        index = weight[1]
        if isinstance(index, (int, np.integer)):
            index = (int(index),)
        if not isinstance(index, (tuple, list)) or not all(isinstance(i, (int, np.integer)) for i in index):
            raise GlassnetTypeError(f"predict: the index of {weight[0]!r} must be integers, got {index!r}; {HOW}")
        return _checked(net, params, weight[0].strip(), tuple(int(i) for i in index), weight)
    raise GlassnetTypeError(f"predict: a weight is a string or a (key, index) pair, got {type(weight).__name__} "
                            f"{weight!r:.60}; {HOW}")


def _ints(text: str, weight: Any) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"predict: the indices of {weight!r} must be whole numbers; {HOW}") from None


def _checked(net: Network, params: dict[str, Array], key: str, index: tuple[int, ...],
             weight: Any) -> tuple[str, tuple[int, ...]]:
    if key not in params:
        raise ConfigError(f"predict: no parameter {key!r} (from {weight!r}); this network has {_shapes(net)}. "
                          f"{HOW[0].upper() + HOW[1:]}")
    shape = params[key].shape
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        ranges = ", ".join(f"0..{n - 1}" for n in shape) or "none (a scalar)"
        raise ShapeError(f"predict: {key} has shape {tuple(shape)}; {list(index)} (from {weight!r}) is not an entry "
                         f"of it. Indices of a key are 0-based ({ranges}); a symbol's count from 1")
    return key, index


def weights_of(predict: Any) -> list[Any]:
    """``explain``'s ``predict=``: one weight (a string or a ``(key, index)`` pair) or a list of them."""
    if predict is None:
        return []
    if isinstance(predict, str) or (isinstance(predict, tuple) and len(predict) == 2 and isinstance(predict[0], str)
                                    and not isinstance(predict[1], str)):
        return [predict]
    if isinstance(predict, (list, tuple)):
        return list(predict)
    raise GlassnetTypeError(f"predict must be a weight ('0.W[0,1]', ('0.W', (0, 1)), 'w^(1)_{{1,2}}') or a list "
                            f"of them, got {type(predict).__name__}")


def largest_gradient(grads: dict[str, Array], frozen: Sequence[str] = ()) -> tuple[str, tuple[int, ...]]:
    """The entry with the largest ``|gradient|``: among the weights ``W`` when there are any, else any parameter."""
    keys = [k for k in grads if k not in frozen] or list(grads)
    weights = [k for k in keys if k.endswith(".W")] or keys
    key = max(weights, key=lambda k: float(np.max(np.abs(grads[k]))) if grads[k].size else -1.0)
    index = np.unravel_index(int(np.argmax(np.abs(grads[key]))), grads[key].shape)
    return key, tuple(int(i) for i in index)


def symbol_of(key: str, index: tuple[int, ...]) -> str:
    """``"0.W", (1, 2)`` -> ``w^(1)_{2,3}`` (records.py's convention)."""
    k, name = key.split(".", 1)
    return sym(name.lower(), int(k) + 1, *index)
