"""The script's variables when it reaches its training loop, and how to put them back exactly.

A variable is reached by a :class:`Path`: a name, then attributes and list or dict entries
(``W1``, ``self.b1``, ``net.layers[0].W``, ``params['W2']``), spelled as the script spells it.
:func:`candidates` lists every path to a float array or number: the parameters are among them.
:class:`Snapshot` keeps deep copies of the namespace (and of NumPy's and ``random``'s global random
state) so every run of the loop body starts from the same point.

Next read: ``runner.py`` (running the loop body once, watched).
"""

from __future__ import annotations

import copy
import random
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_DEPTH = 4          # self.layers[0].W is three steps below its name
MAX_ITEMS = 64         # lists longer than this are data, not a list of layers


@dataclass(frozen=True)
class Path:
    """Where a value lives: ``steps[0]`` is a name, then ``("attr", name)`` or ``("item", key)`` steps."""

    steps: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        text = str(self.steps[0][1])
        for kind, key in self.steps[1:]:
            text += f".{key}" if kind == "attr" else f"[{key!r}]"
        return text

    @property
    def root(self) -> str:
        return str(self.steps[0][1])

    def get(self, env: dict[str, Any]) -> Any:
        value = env[self.steps[0][1]]
        for kind, key in self.steps[1:]:
            value = getattr(value, key) if kind == "attr" else value[key]
        return value

    def set(self, env: dict[str, Any], new: Any) -> None:
        """Put ``new`` at the path: into the array that is there when the shapes agree (so every other name for
        that array, ``params = [W1, b1]``, sees it too), else by rebinding (a tuple entry is always written in place)."""
        try:
            now = self.get(env)
        except (KeyError, AttributeError, IndexError, TypeError):
            now = None
        if isinstance(now, np.ndarray) and isinstance(new, np.ndarray) and now.shape == new.shape and now is not new:
            np.copyto(now, new, casting="unsafe")
            return
        if len(self.steps) == 1:
            env[self.steps[0][1]] = new
            return
        owner = Path(self.steps[:-1]).get(env)
        kind, key = self.steps[-1]
        if kind == "attr":
            setattr(owner, key, new)
        elif isinstance(owner, tuple):
            np.copyto(owner[key], new)
        else:
            owner[key] = new


def is_number(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) or (isinstance(value, (int, np.integer)) and not isinstance(value, bool))


def is_float_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size > 0


def _skip(name: str, value: Any) -> bool:
    return (name.startswith("__") or isinstance(value, (types.ModuleType, type, types.FunctionType,
                                                        types.BuiltinFunctionType, types.MethodType)))


def candidates(env: dict[str, Any], integers: bool = False, prefer: Callable[[Path], bool] | None = None
               ) -> Iterator[tuple[Path, Any]]:
    """Every path below the namespace that holds a float array or a number (or any numeric array), with its value.

    An array reachable by several paths (``W1`` and ``params[0]``) is listed once: under the first path for
    which ``prefer`` is true (the one the loop's update lines write), else the first found.
    """
    if prefer is not None:
        found = list(candidates(env, integers, None)) + list(_aliases(env, integers))
        best: dict[int, tuple[Path, Any]] = {}
        for path, value in found:
            key = id(value) if isinstance(value, np.ndarray) else id(path)
            if key not in best or (prefer(path) and not prefer(best[key][0])):
                best[key] = (path, value)
        yield from best.values()
        return
    seen: set[int] = set()
    arrays: set[int] = set()  # one path per array: `W1` and `params[0]` may be the same object

    def walk(value: Any, steps: tuple[tuple[str, Any], ...], depth: int, in_tuple: bool = False
             ) -> Iterator[tuple[Path, Any]]:
        if isinstance(value, np.ndarray) and (is_float_array(value) or (integers and value.dtype.kind in "iu"
                                                                         and value.size > 0)):
            if id(value) not in arrays:
                arrays.add(id(value))
                yield Path(steps), value
            return
        if is_number(value):
            if not in_tuple:  # a number inside a tuple cannot be put back
                yield Path(steps), value
            return
        if depth >= MAX_DEPTH or id(value) in seen:
            return
        if isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_ITEMS:
            seen.add(id(value))
            for i, item in enumerate(value):
                yield from walk(item, (*steps, ("item", i)), depth + 1, isinstance(value, tuple))
        elif isinstance(value, dict) and 0 < len(value) <= MAX_ITEMS:
            seen.add(id(value))
            for key, item in value.items():
                if isinstance(key, (str, int)):
                    yield from walk(item, (*steps, ("item", key)), depth + 1)
        elif hasattr(value, "__dict__") and not isinstance(value, (np.ndarray, np.random.Generator,
                                                                    np.random.RandomState)):
            seen.add(id(value))
            for key, item in list(vars(value).items()):
                if not key.startswith("__") and not callable(item):
                    yield from walk(item, (*steps, ("attr", key)), depth + 1)

    for name, value in list(env.items()):
        if not _skip(name, value) and name != "__builtins__":
            yield from walk(value, (("name", name),), 0)


def _aliases(env: dict[str, Any], integers: bool) -> Iterator[tuple[Path, Any]]:
    """The paths :func:`candidates` leaves out because their array was found first by another path."""
    first = {id(v): p for p, v in candidates(env, integers) if isinstance(v, np.ndarray)}
    for name, value in env.items():
        if _skip(name, value) or name == "__builtins__" or not isinstance(value, (list, dict)):
            continue
        items = enumerate(value) if isinstance(value, list) else value.items()
        for key, item in items:
            if isinstance(item, np.ndarray) and id(item) in first and first[id(item)] != Path((("name", name),
                                                                                                  ("item", key))):
                yield Path((("name", name), ("item", key))), item


def parse_path(text: str, env: dict[str, Any]) -> Path:
    """``"self.W1"``, ``"weights[0]"`` or ``"p['b']"`` as a :class:`Path` (for ``--params``)."""
    import ast

    from glassnet.errors import ConfigError

    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"--params entry {text!r} is not a Python name or expression like W1, self.W1 or "
                          "weights[0]") from None
    steps: list[tuple[str, Any]] = []
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            steps.append(("item", node.slice.value))
            node = node.value
        else:
            raise ConfigError(f"--params entry {text!r}: give names, attributes or constant indices, "
                              "e.g. W1, self.W1, weights[0], params['W1']")
    path = Path((("name", node.id), *reversed(steps)))
    try:
        value = path.get(env)
    except (KeyError, AttributeError, IndexError, TypeError):
        raise ConfigError(f"--params entry {text!r} does not exist when the script reaches its training loop; "
                          f"the names there are: {', '.join(sorted(k for k in env if not k.startswith('_'))[:30])}"
                          ) from None
    if not (is_float_array(value) or is_number(value)):
        raise ConfigError(f"--params entry {text!r} holds {type(value).__name__}, not an array of floats or a number")
    return path


class Snapshot:
    """Deep copies of a namespace's values (aliasing kept) and of the global random states.

    Modules, functions and classes are kept as they are; a value that cannot be copied (an open file)
    is kept by reference and named in :attr:`shared`.
    """

    def __init__(self, env: dict[str, Any]) -> None:
        self.values: dict[str, Any] = {}
        self.shared: list[str] = []
        memo: dict[int, Any] = {}
        for name, value in env.items():
            if _skip(name, value) or name == "__builtins__":
                continue
            try:
                self.values[name] = copy.deepcopy(value, memo)
            except Exception:  # noqa: BLE001 - anything that cannot be copied is shared, and said so
                self.shared.append(name)
        self.names = set(env)
        self.np_state = np.random.get_state()
        self.py_state = random.getstate()

    def restore(self, env: dict[str, Any]) -> None:
        """Put every copied value back into ``env`` (fresh copies each time), drop the names a run created
        (a ``try: m = 0.9 * m + g except NameError`` must start afresh) and reset the random states."""
        for name in [n for n in env if n not in self.names and not n.startswith("__gn")]:
            if not isinstance(env[name], types.ModuleType):
                del env[name]
        env.update(copy.deepcopy(self.values))
        np.random.set_state(self.np_state)
        random.setstate(self.py_state)


def copy_value(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value

