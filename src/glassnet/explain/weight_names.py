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

_KEY = re.compile(r"^\s*(\d+)\.([A-Za-z_]\w*)\s*(?:\[([^\[\]()]*)\]|\(([^\[\]()]*)\))?\s*$")
_SYMBOL = re.compile(r"^\s*([A-Za-z]+)\s*\^?\s*\(\s*(\d+)\s*\)\s*(?:_\s*(?:\{([^{}]*)\}|(\d+(?:\s*,\s*\d+)*)))?\s*$")
_PAIRS = ("[]", "()", "{}")


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
        unmatched = [pair for pair in _PAIRS if text.count(pair[0]) != text.count(pair[1])]
        if unmatched:
            raise ConfigError(f"predict: the brackets of {weight!r} do not match ({' '.join(unmatched)}); {HOW}")
        m = _KEY.match(text)
        if m:
            key, index = f"{m[1]}.{m[2]}", _ints(m[3] if m[3] is not None else (m[4] or ""), weight)
            return _checked(net, params, key, index, weight)
        m = _SYMBOL.match(text.replace("{(", "(").replace(")}", ")"))
        if m:
            name, layer = m[1], int(m[2])
            subscripts = _ints(m[3] if m[3] is not None else (m[4] or ""), weight)
            if any(i < 1 for i in subscripts):
                raise ShapeError(f"predict: in the symbol {weight!r} the neurons count from 1, as in the ledger; "
                                 f"got {list(subscripts)}. ({HOW})")
            names = {k.split(".", 1)[1].lower(): k for k in params if k.split(".", 1)[0] == str(layer - 1)}
            if name.lower() not in names:
                raise ConfigError(f"predict: {weight!r} names {name} of layer {layer}, which this network does not "
                                  f"have; its parameters are {_shapes(net)} (key 'k.W' is w^(k+1)). {HOW}")
            key = names[name.lower()]
            shape = params[key].shape
            if len(subscripts) == 1 and len(shape) == 2 and len(str(subscripts[0])) == 2:
                i, j = (int(c) - 1 for c in str(subscripts[0]))
                raise ShapeError(f"predict: {key} has shape {tuple(shape)}, two indices; {weight!r} gives one, "
                                 f"{subscripts[0]}. Separate them with a comma: {sym(name.lower(), layer, i, j)}")
            return _checked(net, params, key, tuple(i - 1 for i in subscripts), weight)
        raise ConfigError(f"predict: cannot read {weight!r} as a weight; {HOW}. This network has {_shapes(net)}")
    if isinstance(weight, (tuple, list)) and len(weight) == 2 and isinstance(weight[0], str):
        index = weight[1]
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            index = (int(index),)
        if not isinstance(index, (tuple, list)) or not all(
                isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in index):
            raise GlassnetTypeError(f"predict: the index of {weight[0]!r} must be integers, got {index!r}; {HOW}")
        return _checked(net, params, weight[0].strip(), tuple(int(i) for i in index), weight)
    raise GlassnetTypeError(f"predict: a weight is a string or a (key, index) pair, got {type(weight).__name__} "
                            f"{weight!r:.60}; {HOW}")


def _ints(text: str, weight: Any) -> tuple[int, ...]:
    """``"1, 2"`` -> ``(1, 2)``; ``""`` -> ``()`` (a scalar); an empty part (``"1,,2"``) or a non-number fails."""
    if not text.strip():
        return ()
    parts = [part.strip() for part in text.split(",")]
    if not all(re.fullmatch(r"-?\d+", part) for part in parts):
        raise ConfigError(f"predict: the indices of {weight!r} must be whole numbers separated by single commas, "
                          f"got {text!r}; {HOW}")
    return tuple(int(part) for part in parts)


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
    # ("0.W", (1, 2)) and ["0.W", [1, 2]] are one weight (a key and its index); ["0.W[1,2]", "1.b[0]"] are two.
    if isinstance(predict, str) or _is_pair(predict):
        return [predict]
    if isinstance(predict, (list, tuple)):
        return list(predict)
    raise GlassnetTypeError(f"predict must be a weight ('0.W[0,1]', ('0.W', (0, 1)), 'w^(1)_{{1,2}}') or a list "
                            f"of them, got {type(predict).__name__}")


def _is_pair(x: Any) -> bool:
    """A ``(key, index)`` pair: a bare key (no brackets, not a symbol) and an integer or a sequence of them."""
    return (isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], str)
            and not any(c in x[0] for c in "[(") and (isinstance(x[1], (int, np.integer)) or (
                isinstance(x[1], (tuple, list)) and not any(isinstance(i, str) for i in x[1]))))


def largest_gradients(grads: dict[str, Array], frozen: Sequence[str] = (), n: int = 1) -> list[tuple[str, tuple[int, ...]]]:
    """The ``n`` entries with the largest ``|gradient|``, largest first: among the weights ``W`` when there are any,
    else any parameter (frozen ones only when nothing else is left). ``np.argpartition`` per array: no sort of
    every entry."""
    keys = [k for k in grads if k not in frozen] or list(grads)
    weights = [k for k in keys if k.endswith(".W")] or keys
    found: list[tuple[float, str, tuple[int, ...]]] = []
    for key in weights:
        flat = np.abs(np.asarray(grads[key], dtype=np.float64)).ravel()
        if not flat.size:
            continue
        top = np.argpartition(-flat, min(n, flat.size) - 1)[:n] if flat.size > n else np.arange(flat.size)
        found += [(float(flat[i]), key, tuple(int(j) for j in np.unravel_index(int(i), grads[key].shape)))
                  for i in top]
    # ties: the first key, then the first entry (as argmax would pick)
    order = {key: k for k, key in enumerate(weights)}
    found.sort(key=lambda e: (-e[0], order[e[1]], e[2]))
    return [(key, index) for _, key, index in found[:n]]


def largest_gradient(grads: dict[str, Array], frozen: Sequence[str] = ()) -> tuple[str, tuple[int, ...]]:
    """The entry with the largest ``|gradient|``: among the weights ``W`` when there are any, else any parameter."""
    found = largest_gradients(grads, frozen, 1)
    if not found:
        raise ConfigError("predict: this network has no parameter entry to nudge")
    return found[0]


def symbol_of(key: str, index: tuple[int, ...]) -> str:
    """``"0.W", (1, 2)`` -> ``w^(1)_{2,3}`` (records.py's convention)."""
    k, name = key.split(".", 1)
    return sym(name.lower(), int(k) + 1, *index)
