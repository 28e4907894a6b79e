"""glassnet's exceptions: one small hierarchy, each class also a built-in exception type.

Every error glassnet raises on purpose is a :class:`GlassnetError`, so a caller (or the CLI) can
catch them all in one place. Each subclass also inherits the built-in exception a Python
programmer would expect (``ValueError`` for bad values, ``TypeError`` for wrong types), so
``except ValueError`` keeps working too.

    GlassnetError
    ├── ConfigError        (ValueError)   unknown name, bad hyper-parameter, layers that do not chain,
    │                                     resuming a checkpoint with other settings
    ├── ShapeError         (ValueError)   arrays whose shapes do not fit the network or each other
    ├── DataError          (ValueError)   NaN/inf, empty data, labels that do not fit the loss, bad CSV,
    │                                     outputs that overflow
    ├── ModelFileError     (ValueError)   missing, truncated, corrupted, forged or foreign model and checkpoint
    │                                     files; model files that cannot be written
    ├── OutputFileError    (ValueError)   another file glassnet was asked to write (report, picture, trace,
    │                                     worksheet, predictions) that cannot be written there: no such folder,
    │                                     a folder
    ├── GlassnetTypeError  (TypeError)    an argument of the wrong type (text where numbers belong, a
    │                                     Dense where a list of layers belongs)
    ├── MissingDependency  (ImportError)  an optional library (matplotlib, scikit-learn, torch) is not installed
    ├── TrainingDiverged   (ArithmeticError) the loss or a gradient became NaN or inf during training;
    │                                     ``epoch`` and ``step`` say when, the parameters are the last finite ones
    └── UserCodeError      (RuntimeError) the user's own code, run by glassnet.doctor, raised

    FastFormWarning        (UserWarning)  an in-place (fast) form no longer computes what its readable
                                          form does; training runs the readable form

The rules every message follows: say *what* is wrong, *where* (layer, parameter name, column, row,
line, file) and *how to fix it*. Errors are raised, never ``assert``-ed, and raised before anything
is changed (a refused ``set_parameters`` or checkpoint leaves the network as it was). Input that is
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
from collections.abc import Iterable
from typing import Any


class GlassnetError(Exception):
    """Base class of every error glassnet raises on purpose."""


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
    """The loss or a gradient became NaN or inf; the network keeps its last finite parameters.

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

    def __init__(self, cls: type, readable: str, fast: str, gap: float, dtype: str) -> None:
        name = cls.__name__
        where = getattr(cls, "__module__", "?")
        fast_name = fast if "." in fast else f"{name}.{fast}"  # a method of the class, or a named function elsewhere
        super().__init__(
            f"{fast_name} (the fast form of {name}.{readable}, in {where}) no longer computes what "
            f"{name}.{readable} does: on a small probe in {dtype} they differ by up to {gap:.3g}. glassnet follows "
            f"{name}.{readable}, the readable form, from now on (correct, but slower). To get the speed back, make "
            f"{fast_name} compute the same numbers, or delete it so that only the readable form is left")
        self.cls, self.readable, self.fast, self.gap, self.dtype = cls, readable, fast, gap, dtype


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
