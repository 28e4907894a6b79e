"""glassnet's exceptions: one small hierarchy, each class also a built-in exception type.

Every error glassnet raises on purpose is a :class:`GlassnetError`, so a caller (or the CLI) can
catch them all in one place. Each subclass also inherits the built-in exception a Python
programmer would expect (``ValueError`` for bad values, ``TypeError`` for wrong types), so
``except ValueError`` keeps working too.

    GlassnetError
    ├── ConfigError        (ValueError)   unknown name, bad hyper-parameter, layers that do not chain,
    │                                     resuming a checkpoint with other settings, a network that cannot be
    │                                     saved (NaN or inf parameters, metadata glassnet would not read back)
    ├── ShapeError         (ValueError)   arrays whose shapes do not fit the network or each other
    ├── DataError          (ValueError)   NaN/inf, empty data, labels that do not fit the loss, bad CSV,
    │                                     outputs that overflow
    ├── ModelFileError     (ValueError)   missing, truncated, corrupted, forged or foreign model and checkpoint
    │                                     files; model files that cannot be written (disk full, read-only); a
    │                                     checkpoint another run is using
    ├── OutputFileError    (ValueError)   another file glassnet was asked to write (report, picture, trace,
    │                                     worksheet, predictions) that cannot be written there: no such folder,
    │                                     a folder, a full disk, a read-only folder
    ├── GlassnetTypeError  (TypeError)    an argument of the wrong type (text where numbers belong, a
    │                                     Dense where a list of layers belongs)
    ├── MissingDependency  (ImportError)  an optional library (matplotlib, scikit-learn, torch) is not installed
    ├── TrainingDiverged   (ArithmeticError) the loss or a gradient became NaN or inf during training;
    │                                     ``epoch`` and ``step`` say when, the parameters are the last finite ones
    └── UserCodeError      (RuntimeError) the user's own code, run by glassnet.doctor, raised

    FastFormWarning        (UserWarning)  an in-place (fast) form no longer computes what its readable
                                          form does; training runs the readable form

The rules every message follows: say *what* is wrong, *where* (layer, parameter name, column, row,
line, file) and *how to fix it*, in at most :data:`MAX_MESSAGE_CHARS` characters (a value quoted from a
file goes through :func:`shorten`; a longer message is cut by :func:`bounded`). Errors are raised, never
``assert``-ed, and raised before anything is changed (a refused ``set_parameters`` or checkpoint leaves the
network as it was). Input that is
malformed in any way gets one of these classes, never a NumPy traceback; the bad-input table in
``tests/reliability/test_bad_input_table.py`` holds glassnet to that.

The command line (``interfaces/cli/main.py``) turns a :class:`GlassnetError` into one line,
``glassnet: error: <message>``, and exit code 2 (a traceback only with ``--debug``); an operating-system
error (permission denied, disk full) the same way; Ctrl-C into exit code 130 (``glassnet train`` first
saves its checkpoint, when one is configured); and any other exception, which is a glassnet bug, into
a short message asking for a bug report, with exit code 70.

Next read: ``io.py`` and ``checkpoint.py``: files that survive crashes and refuse damage.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
from collections.abc import Iterable
from typing import Any

# The longest message an error keeps: a few screens. Messages quote what was wrong (names, values, lists from a
# file), and a file can make those as long as it likes (300,000 layers gave a 7-million-character message).
MAX_MESSAGE_CHARS = 4000


def bounded(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` cut to at most about ``limit`` characters, saying how many more there were.

    The start is kept (what is wrong and where come first in every message) and the last 200 characters (the
    advice on how to fix it comes last).
    """
    if len(message) <= limit:
        return message
    tail = message[-200:]
    head = message[:max(0, limit - len(tail) - 40)]
    return f"{head} ... ({len(message) - len(head) - len(tail)} more characters) ... {tail}"


def shorten(value: Any, limit: int = 200, _depth: int = 0) -> str:
    """``repr(value)`` cut to at most about ``limit`` characters, for quoting a value of any size in a message.

    Long lists and dictionaries keep their first entries and say how many more there are (``[0, 1, 2, ...
    (299997 more)]``), and nesting beyond a few levels shows as ``...``, so a message can quote what a file holds
    without becoming as large (or as deep) as the file.
    """
    if isinstance(value, (list, tuple, dict)):
        if _depth >= 4:
            return "{...}" if isinstance(value, dict) else "[...]"
        part = max(24, limit // 4)
        if isinstance(value, dict):
            parts = [f"{shorten(k, part, _depth + 1)}: {shorten(v, part, _depth + 1)}"
                     for k, v in itertools.islice(value.items(), 4)]
        else:
            parts = [shorten(v, part, _depth + 1) for v in value[:4]]
        if len(value) > len(parts):
            parts.append(f"... ({len(value) - len(parts)} more)")
        opening, closing = "{}" if isinstance(value, dict) else "()" if isinstance(value, tuple) else "[]"
        text = opening + ", ".join(parts) + closing
    elif isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value) - limit} more characters)"
    else:
        text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class GlassnetError(Exception):
    """Base class of every error glassnet raises on purpose.

    A message longer than :data:`MAX_MESSAGE_CHARS` is cut (:func:`bounded`): an error is read by a person,
    and the data it quotes can be as large as a hostile file makes it.
    """

    def __init__(self, *args: Any) -> None:
        if args and isinstance(args[0], str):
            args = (bounded(args[0]), *args[1:])
        super().__init__(*args)


class ConfigError(GlassnetError, ValueError):
    """An unknown name or an invalid setting (learning rate, epochs, layer sizes, ...)."""


class ShapeError(GlassnetError, ValueError):
    """Arrays whose shapes do not fit the network or each other."""


class DataError(GlassnetError, ValueError):
    """Data that cannot be used: NaN/inf, empty, labels that do not fit the loss, bad CSV cells."""


class ModelFileError(GlassnetError, ValueError):
    """A model or checkpoint file that is missing, truncated, corrupted, of another version or foreign."""


class OutputFileError(GlassnetError, ValueError):
    """A report, picture, trace, worksheet or predictions file that cannot be written where asked (no such folder,
    a folder)."""


class GlassnetTypeError(GlassnetError, TypeError):
    """An argument of the wrong type."""


class MissingDependency(GlassnetError, ImportError):
    """An optional library that a feature needs is not installed; the message names the extra to install."""


class TrainingDiverged(GlassnetError, ArithmeticError):
    """Training left the finite numbers: the loss or a gradient became NaN or inf, an update made a parameter or
    the optimizer's state NaN or inf, or a validation loss did. The network (and the optimizer's state) keeps
    the values of the last step that stayed finite.

    Attributes
    ----------
    epoch : int
        1-based epoch in which it happened.
    step : int
        1-based step (mini-batch) within that epoch.
    """

    def __init__(self, message: str, epoch: int = 0, step: int = 0) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step


class FastFormWarning(UserWarning):
    """A part's in-place form and its readable form compute different numbers; the readable form runs.

    Attributes: ``cls`` (the class), ``readable`` and ``fast`` (method names), ``gap`` (largest difference on
    the probe) and ``dtype``.
    """

    def __init__(self, cls: type, readable: str, fast: str, gap: float, dtype: str, failure: str | None = None) -> None:
        name = cls.__name__
        where = getattr(cls, "__module__", "?")
        fast_name = fast if "." in fast else f"{name}.{fast}"  # a method of the class, or a named function elsewhere
        # failure: why a compiled loop form could not run at all (numba could not compile it), instead of a gap
        what = (f"could not run on a small probe in {dtype} ({failure})" if failure else
                f"no longer computes what {name}.{readable} does: on a small probe in {dtype} they differ by up to "
                f"{gap:.3g}")
        super().__init__(
            f"{fast_name} (the fast form of {name}.{readable}, in {where}) {what}. glassnet follows "
            f"{name}.{readable}, the readable form, from now on (correct, but slower). To get the speed back, make "
            f"{fast_name} compute the same numbers, or delete it so that only the readable form is left")
        self.cls, self.readable, self.fast, self.gap, self.dtype, self.failure = cls, readable, fast, gap, dtype, failure


class UserCodeError(GlassnetError, RuntimeError):
    """The user's own code (a loss or gradient function, a script given to ``glassnet doctor``) raised.

    Attributes
    ----------
    user_traceback : str
        The traceback of the user's exception with glassnet's own frames left out, ready to print.
    """

    def __init__(self, message: str, user_traceback: str = "") -> None:
        super().__init__(message)
        self.user_traceback = user_traceback


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> ConfigError:
    """Build the error for an unknown ``kind`` name, listing the valid ones and the closest match."""
    valid = sorted(valid)
    message = f"unknown {kind} {name!r}; valid {kind}s are: {', '.join(valid)}"
    close = difflib.get_close_matches(str(name).lower(), valid, n=1)
    if close:
        message += f". Did you mean {close[0]!r}?"
    return ConfigError(message)


def require(module: str, extra: str, purpose: str) -> Any:
    """Import and return ``module``, or raise :class:`MissingDependency` naming the glassnet extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{purpose} needs {module.split('.')[0]}, which is not installed ({exc}). "
            f'Install it with: pip install "glassnet[{extra}]"'
        ) from None
