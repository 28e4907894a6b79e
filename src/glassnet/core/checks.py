"""Input checks shared by the network and the training loop: turn user data into clean arrays or
raise an error that says what is wrong, where, and how to fix it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import ConfigError, DataError, GlassnetError, GlassnetTypeError, ShapeError, TrainingDiverged


def positive_int(value: Any, what: str) -> int:
    """``value`` as an int, or an error if it is not a positive integer (``what`` names it in the message)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise GlassnetTypeError(f"{what} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value}")
    return int(value)


def _smaller_lr(optimizer: Any) -> str:
    lr = getattr(optimizer, "lr", None)
    return f"Try a smaller learning rate than {lr:g}" if isinstance(lr, (int, float)) else "Try a smaller learning rate"


def diverged(loss: float, optimizer: Any = None) -> TrainingDiverged:
    """The error a training step raises when the loss or a gradient is NaN or inf (before any parameter changes).

    Raised by ``Network._step`` and by ``fast.Plan.step`` alike, so it lives here, below both.
    """
    return TrainingDiverged(
        f"the loss became {loss} (or a gradient became NaN/inf); the parameters were left as they "
        f"were after the last finite step. {_smaller_lr(optimizer)}"
    )


def update_overflowed(bad: list[str], optimizer: Any, largest_grad: float) -> TrainingDiverged:
    """The error a training step raises when its update made a parameter (or the optimizer's state) NaN or inf.

    ``bad`` names what stopped being finite (``"0.W"``, ``"0.W's v"``); ``largest_grad`` is the largest
    ``|gradient|`` of the step. Raised by ``optimizers.update_or_undo`` and ``fast._FlatState`` alike, after they undid
    the step. The loss and every gradient were finite, so "scale the inputs" would be the wrong advice: the step was
    too large.
    """
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return TrainingDiverged(
        f"the update overflowed: {optimizer!r} made {shown} NaN or inf although the loss and every gradient were "
        f"finite (largest |gradient| {largest_grad:.3g}): the steps are far too large. The parameters and the "
        f"optimizer's state were put back as they were before this step. {_smaller_lr(optimizer)}"
    )


def check_seed(seed: Any, what: str = "seed") -> int | None:
    """``seed`` if it is ``None`` or an integer >= 0 (what NumPy's generators accept), else an error."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise GlassnetTypeError(f"{what} must be an integer >= 0 or None, got {seed!r}")
    if seed < 0:
        raise ConfigError(f"{what} must be an integer >= 0 or None, got {seed}")
    return int(seed)



def check_bool(value: Any, what: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's ``bool_`` too), else an error: a string such as
    ``"no"`` is truthy, so accepting it would silently mean the opposite of what was written."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise GlassnetTypeError(f"{what} must be True or False, got {value!r} ({type(value).__name__})")

def check_callbacks(callbacks: Any) -> list[Any]:
    """``callbacks`` as a list (``None`` means none); a single callback object must be wrapped in a list."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise GlassnetTypeError(f"callbacks must be a list of callback objects, got {type(callbacks).__name__}; "
                                "write callbacks=[my_callback]")
    return list(callbacks)


def _row_shape(row: Any) -> tuple[int, ...] | None:
    """The shape of one row of user data, or ``None`` if the row is itself ragged."""
    try:
        inner = np.asarray(row)
    except ValueError:
        return None
    if inner.dtype == object and any(isinstance(v, (list, tuple, np.ndarray)) for v in inner.flat):
        return None
    return inner.shape


def _ragged_error(rows: Any, what: str, error: type[GlassnetError]) -> GlassnetError:
    """The error for nested rows of different lengths: the rows that differ from the most common shape, by number."""
    shapes = [_row_shape(row) for row in rows]
    known = [shape for shape in shapes if shape is not None]
    if not known:  # every row is ragged inside: name the rows inside the first one
        return _ragged_error(rows[0], f"{what}[0]", error)
    usual = max(known, key=known.count)  # the most common shape; on a tie, the earliest row's
    first = shapes.index(usual)
    odd = [i for i, shape in enumerate(shapes) if shape != usual]
    shown = ", ".join(f"row {i} " + ("is itself ragged" if shapes[i] is None else f"has shape {shapes[i]}")
                      for i in odd[:5]) + (f" and {len(odd) - 5} more rows differ" if len(odd) > 5 else "")
    others = known.count(usual) - 1
    like = " (as does 1 other row)" if others == 1 else f" (as do {others} other rows)" if others else ""
    return error(f"{what} could not be read as an array: it is ragged, row {first} has shape {usual}{like}, but "
                 f"{shown}. Give every row the same number of values (a rectangular array)")


def as_array(data: Any, what: str, error: type[GlassnetError]) -> NDArray[Any]:
    """``np.asarray(data)``, or a clear error for data that is no array: a dict or a set (GlassnetTypeError), or
    ragged rows (nested lists of different lengths, or an object array holding them): ``error`` (DataError for
    data, ShapeError for parameters), naming the rows that differ."""
    if isinstance(data, (dict, set, frozenset)):
        raise GlassnetTypeError(f"{what} is a {type(data).__name__}; give an array or a list of rows "
                                f"(for a dict of columns: np.column_stack(list(d.values())))")
    try:
        array = np.asarray(data)
    except ValueError:  # NumPy refuses nested lists of different lengths
        raise _ragged_error(data, what, error) from None
    if array.dtype == object and array.ndim >= 1 and any(isinstance(v, (list, tuple, np.ndarray)) for v in array.flat):
        raise _ragged_error(array, what, error)
    return array


def as_parameter(value: Any, what: str, dtype: Any) -> NDArray[Any]:
    """A finite float array (a copy) of ``dtype`` from user-given parameter values (``what`` names them)."""
    array = as_array(value, what, ShapeError)
    if array.dtype.kind not in "biuf":
        raise GlassnetTypeError(f"{what} has dtype {array.dtype}; parameters must be real numbers")
    array = np.array(array, dtype=dtype)
    if not all_finite(array):
        raise ConfigError(f"{what} contains NaN or inf; parameters must be finite")
    return array


def all_finite(a: NDArray[Any]) -> bool:
    """True if no element of the float array ``a`` is NaN or inf.

    One sum finds any NaN or inf (they propagate into it) without allocating a boolean array the size of
    ``a``; only when the sum is not finite (NaN/inf, or finite values whose sum overflowed) is every element
    looked at.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(np.add.reduce(a, None)) or bool(np.isfinite(a).all())


def all_finite_flat(a: NDArray[Any]) -> bool:
    """:func:`all_finite` for a 1-D float array on the per-step path (the flat gradients, parameters, state).

    One BLAS dot ``a @ a``: a sum of squares cannot cancel, so it is NaN or inf exactly when an element is, or
    when a finite element is so large that its square overflows (then every element is looked at). About three
    times faster than the sum :func:`all_finite` takes, for 10 elements and for a million alike.
    """
    return math.isfinite(a.dot(a)) or all_finite(a)


def _where_not_finite(M: NDArray[Any], what: str) -> str:
    bad = ~np.isfinite(M)
    rows = np.flatnonzero(bad.any(axis=1))
    cols = np.flatnonzero(bad.any(axis=0))
    shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
    return (
        f"{what} contains NaN or inf in {len(rows)} row(s) ({shown}) and column(s) "
        f"{', '.join(str(c) for c in cols[:10])}. Remove or fill those rows before training "
        f"(e.g. X[np.isfinite(X).all(axis=1)])"
    )


def as_matrix(data: Any, what: str, dtype: Any) -> NDArray[Any]:
    """Convert ``data`` to a finite 2-D float array of ``dtype``; a 1-D array becomes one column."""
    if isinstance(data, np.ma.MaskedArray):
        raise GlassnetTypeError(f"{what} is a masked array; its masked entries would be used as if they were data. "
                                f"Fill them or drop those rows first ({what}.filled(value) or {what}.compressed())")
    M = as_array(data, what, DataError)
    if M.dtype.kind in "mM":
        raise GlassnetTypeError(f"{what} has dtype {M.dtype} (dates or durations); convert it to numbers first, "
                                "e.g. seconds since a start date")
    if M.dtype == object or M.dtype.kind in "USV":
        raise GlassnetTypeError(
            f"{what} has dtype {M.dtype}; it must contain numbers only. Convert text columns first "
            "(glassnet.datasets.load_csv maps text class labels to integers)"
        )
    if M.dtype.kind == "c":
        raise GlassnetTypeError(f"{what} is complex; glassnet works with real numbers")
    if M.ndim == 1:
        M = M.reshape(-1, 1)
    if M.ndim != 2:
        raise ShapeError(f"{what} must be 2-D (n_samples, n_features); got shape {M.shape}")
    if M.shape[0] == 0:
        raise DataError(f"{what} is empty (0 rows); training and prediction need at least one sample")
    given = M
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 becomes inf: reported below
        M = M.astype(dtype, copy=False)
    if not all_finite(M):
        if M is not given and all_finite(given):
            raise DataError(_too_large_for(given, M, what))
        raise DataError(_where_not_finite(M, what))
    return M


def _too_large_for(given: NDArray[Any], M: NDArray[Any], what: str) -> str:
    """The message for values finite as given but not in ``M``'s (smaller) dtype: not NaN, only too large."""
    row, col = np.argwhere(~np.isfinite(M))[0]
    return (f"{what} does not fit {M.dtype}: row {row}, column {col} holds {given[row, col]:.6g}, beyond {M.dtype}'s "
            f"largest value {np.finfo(M.dtype).max:.6g}. Use dtype='float64', or scale that column down")


def check_inputs(X: Any, n_in: int, dtype: Any) -> NDArray[Any]:
    """``X`` as a finite array of shape ``(n_samples, n_in)``."""
    X = as_matrix(X, "X", dtype)
    if X.shape[1] != n_in:
        raise ShapeError(
            f"X has {X.shape[1]} feature column(s) but the first layer (layer 0) expects {n_in}; "
            f"give X of shape (n_samples, {n_in}) or build the network with Dense({X.shape[1]}, ...)"
        )
    return X


def check_targets(y: Any, loss: Any, n_out: int, n_rows: int, dtype: Any) -> NDArray[Any]:
    """Targets as a float array of shape ``(n_samples, n_out)``, integer class labels one-hot encoded.

    What the loss accepts is its ``targets`` kind: ``"values"`` (any finite numbers), ``"binary"`` (in [0, 1])
    or ``"classes"`` (integer labels, or one-hot rows).

    Raises :class:`DataError` / :class:`ShapeError` for targets the loss cannot use.
    """
    raw = as_array(y, "y", DataError)
    if raw.ndim == 0 or raw.shape[0] != n_rows:
        got = raw.shape[0] if raw.ndim else "a scalar"
        raise ShapeError(f"X has {n_rows} rows but y has {got}; each sample needs one target row")
    loss_name, kind = loss.name, loss.targets
    if kind == "classes" and raw.ndim == 1:
        return _one_hot(raw, n_out, dtype, loss_name)
    Y = as_matrix(raw, "y", dtype)
    if Y.shape[1] != n_out:
        hint = " (for class labels 0..k-1 use loss='cross_entropy' with a softmax output)" if n_out > 1 else ""
        raise ShapeError(f"y has {Y.shape[1]} column(s) but the last layer has {n_out} output(s){hint}")
    if kind != "values" and ((Y < 0).any() or (Y > 1).any()):
        bad = np.flatnonzero(((Y < 0) | (Y > 1)).any(axis=1))
        raise DataError(
            f"loss {loss_name!r} needs targets in [0, 1] (probabilities or 0/1 labels), but rows "
            f"{', '.join(str(r) for r in bad[:10])} are outside. Rescale y, or use loss='mse' for regression"
        )
    if kind == "classes" and not np.allclose(Y.sum(axis=1), 1.0):
        raise DataError(f"loss {loss_name!r} with 2-D y needs one-hot rows (each summing to 1), or give integer labels")
    return Y


def _one_hot(labels: NDArray[Any], n_classes: int, dtype: Any, loss_name: str) -> NDArray[Any]:
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.all(labels == np.round(labels)):
            raise DataError(f"loss {loss_name!r} needs integer class labels 0..k-1 in y; got non-integer values")
    elif labels.dtype.kind not in "iub":
        raise GlassnetTypeError(
            f"y has dtype {labels.dtype}; loss {loss_name!r} needs integer class labels 0..{n_classes - 1}"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if len(bad):
        raise DataError(
            f"class label {labels[bad[0]]} in row {bad[0]} is outside 0..{n_classes - 1}: the last layer has "
            f"{n_classes} outputs, one per class. Give the last layer as many units as classes"
        )
    labels = labels.astype(np.int64, copy=False)  # only now, in range: a float 1e20 would have become -2**63
    Y = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    Y[np.arange(labels.shape[0]), labels] = 1.0
    return Y
