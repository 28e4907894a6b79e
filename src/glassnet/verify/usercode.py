"""Running code glassnet did not write: the user's parameters, loss, gradient and step functions, scripts.

* :func:`as_named` turns what the user calls "params" (a dict of arrays, one array, a list of arrays,
  plain numbers) into named float64 arrays, and :class:`Params` rebuilds the user's own structure
  around them, so the user's functions receive the kind of object they were written for.
* :func:`call` runs one user function; an exception becomes :class:`~glassnet.errors.UserCodeError`
  carrying the user's traceback without glassnet's frames.
* :func:`load_script` imports ``FILE.py`` for ``glassnet doctor`` and checks which functions it has.

Next read: ``diagnose.py``.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import ConfigError, DataError, GlassnetTypeError, ModelFileError, ShapeError, UserCodeError

Array = NDArray[Any]
_GLASSNET_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # glassnet/, above verify/


@dataclass
class Params:
    """Named float64 arrays plus how to hand them back in the user's own structure.

    ``kind`` is ``"dict"``, ``"array"`` or ``"list"``; ``notes`` records conversions (integer arrays).
    """

    arrays: dict[str, Array]
    kind: str
    notes: list[str] = field(default_factory=list)

    def copy(self) -> Params:
        return Params({k: v.copy() for k, v in self.arrays.items()}, self.kind, list(self.notes))

    def user(self) -> Any:
        """The arrays in the user's structure (they share memory with ``self.arrays``)."""
        if self.kind == "array":
            return self.arrays["params"]
        if self.kind == "list":
            return list(self.arrays.values())
        return dict(self.arrays)


def _names(value: Any, what: str) -> tuple[str, list[tuple[str, Any]]]:
    if isinstance(value, dict):
        if not value:
            raise ConfigError(f"{what} is an empty dict; give at least one parameter array")
        return "dict", [(str(k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)) and value and all(np.ndim(v) > 0 or isinstance(v, np.ndarray) for v in value):
        return "list", [(f"params[{i}]", v) for i, v in enumerate(value)]
    return "array", [("params", value)]


def as_named(value: Any, what: str = "params", convert_note: bool = True) -> Params:
    """``value`` as named, contiguous float64 arrays (copies); integer arrays are converted with a note."""
    kind, items = _names(value, what)
    arrays, notes = {}, []
    for name, v in items:
        label = f"{what} {name!r}" if kind != "array" else what
        if isinstance(v, dict):
            raise GlassnetTypeError(f"{label} is a dict; give one flat dict of arrays, e.g. {{'{name}.W': ..., "
                                    f"'{name}.b': ...}}")
        try:
            a = np.asarray(v)
        except ValueError as exc:
            raise DataError(f"{label} could not be read as an array: {exc}") from None
        if a.dtype.kind in "iu":
            if convert_note:
                notes.append(f"{label} has dtype {a.dtype}; finite differences need floats (a step of 1e-5 does not "
                             "exist in integers), so it was converted to float64 for the check")
        elif a.dtype.kind == "b" or a.dtype.kind not in "f":
            raise GlassnetTypeError(f"{label} has dtype {a.dtype}; parameters and gradients must be arrays of floats")
        arrays[name] = np.array(a, dtype=np.float64, order="C")
        if what == "params" and not np.isfinite(arrays[name]).all():
            raise DataError(f"{label} contains NaN or inf; the check needs finite parameters")
    return Params(arrays, kind, notes)


def match_names(grads: Params, params: Params, what: str) -> None:
    """Raise :class:`ConfigError` when ``grads`` lacks names of ``params`` or has extra ones."""
    missing = [n for n in params.arrays if n not in grads.arrays]
    extra = [n for n in grads.arrays if n not in params.arrays]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no gradient for {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"gradients for unknown parameter(s) {', '.join(map(repr, extra))}")
        message = f"{what} do not match the parameters: {'; '.join(parts)}. The parameters are {list(params.arrays)}"
        close = [(e, difflib.get_close_matches(e, missing, n=1, cutoff=0.4)) for e in extra]
        message += "".join(f". Did you mean {m[0]!r} for {e!r}?" for e, m in close if m)
        raise ConfigError(message + ". Return one gradient per parameter, under the same name")


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` without glassnet's own frames (the user's code is what they need to see)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not (f.filename.startswith("<frozen") or os.path.abspath(f.filename).startswith(_GLASSNET_DIR))]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    return "".join(lines + traceback.format_exception_only(type(exc), exc))


def call(fn: Callable[..., Any], what: str, *args: Any) -> Any:
    """Run the user's ``fn``; turn an exception into :class:`UserCodeError` showing the user's traceback.

    Any ``BaseException`` counts (a ``GeneratorExit`` or the user's own subclass of it is their code failing, and
    would otherwise end glassnet with a raw traceback), except ``KeyboardInterrupt`` and ``SystemExit``, which keep
    their meaning: stop now, and exit.
    """
    try:
        return fn(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure of the user's code is reported as theirs
        raise UserCodeError(f"your {what} raised {type(exc).__name__}: {exc}", user_traceback(exc)) from exc


def loss_value(loss_fn: Callable[[Any], Any], params: Params, where: str = "") -> float:
    """Call the user's loss on ``params`` and check it returns one finite number."""
    value = call(loss_fn, "loss function" + where, params.user())
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GlassnetTypeError(f"your loss function returned {type(value).__name__} {value!r}{where}; it must return "
                                "one number, e.g. float(np.mean((t - o) ** 2))") from None
    if a.size != 1:
        raise ShapeError(f"your loss function returned an array of shape {a.shape}{where}; it must return one number "
                         "(sum or average the per-sample losses, e.g. np.mean(...))")
    result = float(a.reshape(-1)[0])
    if not math.isfinite(result):
        raise DataError(f"your loss function returned {result}{where}; it must be finite there. Check for log(0), "
                        "division by zero or overflowing exp in it")
    return result


@dataclass
class Script:
    """A user's ``FILE.py`` for ``glassnet doctor``: its functions and settings."""

    path: str
    module: ModuleType
    params: Callable[[], Any]
    loss: Callable[[Any], Any]
    gradients: Callable[[Any], Any] | None
    step: Callable[[Any], Any] | None
    lr: float | None
    n_samples: int | None


def load_script(path: str) -> Script:
    """Import ``path`` and check it defines ``params()``, ``loss(params)`` and ``gradients`` and/or ``step``."""
    if not os.path.isfile(path):
        raise ModelFileError(f"{path} does not exist (or is not a file); give the path of your Python script")
    name = "glassnet_doctor_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelFileError(f"{path} cannot be imported as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # let the script import its neighbours
    try:
        call(spec.loader.exec_module, f"script {path}", module)
    finally:
        sys.path.pop(0)
    have = {n: getattr(module, n, None) for n in ("params", "loss", "gradients", "step")}
    missing = [f"{n}()" if n == "params" else f"{n}(params)" for n in ("params", "loss") if not callable(have[n])]
    if not (callable(have["gradients"]) or callable(have["step"])):
        missing.append("gradients(params) or step(params)")
    if missing:
        raise ConfigError(
            f"{path} lacks {', '.join(missing)}. glassnet doctor needs params() returning your parameters, "
            "loss(params) returning the cost, and gradients(params) returning your gradients and/or step(params) "
            "doing one training step (optionally lr = your learning rate). Or give it your training script as it is: "
            "the doctor reads the training loop as written (`glassnet doctor --gallery` lists examples)"
        )
    lr = getattr(module, "lr", None)
    n = getattr(module, "n_samples", None)
    return Script(path, module, have["params"], have["loss"], have["gradients"], have["step"],  # type: ignore[arg-type]
                  float(lr) if isinstance(lr, (int, float)) else None, int(n) if isinstance(n, int) else None)
