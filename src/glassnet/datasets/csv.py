"""Reading the user's own data from a CSV file (or any stream of CSV lines), in one pass.

``load_csv(path, target=...)`` reads numeric feature columns and one target column (by name or
0-based index; the last column by default). The file is read once, row by row, straight into compact
arrays, so a file larger than a few copies of its numbers never sits in memory as text.

* Header: detected when a cell of the first row is text where the second row has a number
  (``header=True/False`` overrides).
* Target: text labels are classes: sorted, numbered ``0..k-1``, and ``dataset.classes`` /
  ``dataset.decode`` map the numbers back. Integers ``0..k-1`` are classes as they are; other numbers are
  kept as they are (int64 if whole, else float64). ``task="classification"`` numbers any values as
  classes, ``task="regression"`` keeps every target as float64.
* Missing cells (empty, ``NA``, ``NaN``, ``null``, ``?``, ...): never silent. ``missing="error"`` (default)
  reports how many and where; ``"drop"`` drops those rows and ``"fill_mean"`` fills feature cells with
  the column mean, each with a warning that says how many.
* Every other problem (ragged rows, text in a feature column, inf, an empty file, a header with no
  rows, a target with a single class) raises :class:`DataError` with its line and column.

Next read: ``split.py`` (train/test split and standardisation).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import warnings
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.datasets.dataset import Dataset
from glassnet.errors import ConfigError, DataError, GlassnetTypeError

MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "-"})
MISSING_CHOICES = ("error", "drop", "fill_mean")
# Integer targets 0..k-1 with at most this many classes are taken as class labels when task="auto".
MAX_INTEGER_CLASSES = 20
# Distinct target texts remembered while reading; more than this many text labels is not a class column.
MAX_LABELS = 10_000


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    """A text cell in the first row above a number (or a missing cell) in the second row, or text above nothing."""
    for j, cell in enumerate(first):
        if _is_missing(cell) or _number(cell) is not None:
            continue
        if second is None or j >= len(second) or _is_missing(second[j]) or _number(second[j]) is not None:
            return True
    return False


def _rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line number where each ends (quoted fields may span lines)."""
    reader = csv.reader(lines, delimiter=delimiter)
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, [cell.strip() for cell in row]


def load_csv(path: str | os.PathLike[str] | Iterable[str], target: str | int | None = -1, delimiter: str = ",",
             header: bool | None = None, missing: str = "error", task: str = "auto") -> Dataset:
    """Read a CSV file (or an iterable of CSV lines, e.g. an open file or ``sys.stdin``) into a :class:`Dataset`.

    Parameters
    ----------
    path : path of the CSV file, or an iterable of its lines (read exactly once)
    target : str or int
        Name (needs a header) or 0-based index (negative counts from the end) of the target column.
    delimiter : str
        Field separator.
    header : bool, optional
        Whether the first row holds column names; ``None`` detects it.
    missing : {"error", "drop", "fill_mean"}
        What to do with missing cells: report them (default), drop their rows, or fill feature cells
        with the column mean (a missing *target* cannot be filled: drop those rows instead).
    task : {"auto", "classification", "regression"}
        How to read the target column (see the module docstring).

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_rows, n_columns - 1)``; ``y`` int64 class indices with ``classes``
        set, or the target values (int64 if all whole numbers, else float64) with ``classes=None``.
    """
    if missing not in MISSING_CHOICES:
        raise ConfigError(f"missing must be one of {', '.join(MISSING_CHOICES)}; got {missing!r}")
    if task not in ("auto", "classification", "regression"):
        raise ConfigError(f"task must be 'auto', 'classification' or 'regression'; got {task!r}")
    if target is None:
        target = -1
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"delimiter must be one character, like ',' or ';' or '\\t'; got {delimiter!r}")
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)) and not hasattr(path, "__iter__"):
        raise GlassnetTypeError(f"a CSV path must be a string, a pathlib.Path or an iterable of lines, got {type(path).__name__}")
    source = str(path) if isinstance(path, (str, os.PathLike)) else str(getattr(path, "name", "<stream>"))
    try:
        if not isinstance(path, (str, os.PathLike)):
            return _read(path, source, target, delimiter, header, missing, task)
        if not os.path.isfile(path):
            raise DataError(f"CSV file {source} does not exist" + (" (it is a folder)" if os.path.isdir(path) else ""))
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read(handle, source, target, delimiter, header, missing, task)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset "
                        f"{exc.start}); is it a CSV file? Save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise DataError(f"{source} could not be read as CSV ({exc}); is it a CSV file?") from None


def _read(lines: Iterable[str], source: str, target: str | int, delimiter: str, header: bool | None,
          missing: str, task: str) -> Dataset:
    rows = _rows(lines, delimiter)
    first_row = next(rows, None)
    if first_row is None:
        raise DataError(f"{source} is empty; a CSV needs feature columns and a target column")
    second_row = next(rows, None)
    first, second = first_row[1], (second_row[1] if second_row else None)
    has_header = _looks_like_header(first, second) if header is None else bool(header)
    width = len(first)
    names = first if has_header else [f"column {j}" for j in range(width)]
    if has_header and second_row is None:
        raise DataError(f"{source} has a header ({', '.join(first)}) but no data rows")
    if width < 2:
        raise DataError(f"{source} has {width} column; it needs at least one feature column and a target column "
                        f"(if its fields are separated by something other than {delimiter!r}, pass delimiter=...)")
    t = _target_index(target, names, has_header, source)
    feature_cols = [j for j in range(width) if j != t]

    values = array("d")                  # features, row after row
    label_codes = array("q")             # target: index of the cell's text in `labels`
    labels: dict[str, int] = {}
    target_values = array("d")           # target as a number (NaN where it is text or missing)
    missing_rows: list[int] = []         # 0-based data rows with any missing cell
    missing_count = [0] * width
    missing_where: list[str] = []        # the first few locations, for the message
    n = 0
    body = ([] if has_header else [first_row]) + ([second_row] if second_row else [])
    for line, row in itertools.chain(body, rows):
        if len(row) != width:
            fields = f"{len(row)} field{'s' if len(row) != 1 else ''}"
            raise DataError(f"{source}, line {line}: {fields}, but the first row has {width}. "
                            "Every row needs the same number of fields (check for a stray delimiter or a missing cell)")
        row_missing = False
        for j in feature_cols:
            cell = row[j]
            value = _number(cell)
            if value is None or not math.isfinite(value):
                if not _is_missing(cell):
                    what = "is not a number" if value is None else "is not finite"
                    raise DataError(f"{source}, line {line}, column {names[j]!r}: {cell!r} {what}. Feature columns "
                                    "must be numeric; encode that column as numbers or drop it")
                value, row_missing = math.nan, True
                missing_count[j] += 1
                if len(missing_where) < 5:
                    missing_where.append(f"line {line} column {names[j]!r}")
            values.append(value)
        cell = row[t]
        if _is_missing(cell):
            row_missing = True
            missing_count[t] += 1
            if len(missing_where) < 5:
                missing_where.append(f"line {line} column {names[t]!r} (target)")
            label_codes.append(-1)
            target_values.append(math.nan)
        else:
            if cell not in labels and len(labels) <= MAX_LABELS:
                labels[cell] = len(labels)
            label_codes.append(labels.get(cell, -2))
            number = _number(cell)
            target_values.append(math.nan if number is None else number)
        if row_missing:
            missing_rows.append(n)
        n += 1

    X = np.frombuffer(values, dtype=np.float64).reshape(n, len(feature_cols)) if n else np.empty((0, len(feature_cols)))
    codes = np.frombuffer(label_codes, dtype=np.int64)
    numbers = np.frombuffer(target_values, dtype=np.float64)
    if missing_rows:  # (without any, X stays a view of the buffer it was read into: no copy)
        keep = _handle_missing(X, missing_rows, missing_count, missing_where, names, feature_cols, t, missing, source)
        X, codes, numbers = X[keep], codes[keep], numbers[keep]
    if not len(X):
        raise DataError(f"{source} has no usable data rows" + (" after dropping rows with missing values" if n else ""))
    y, classes = _target(codes, numbers, labels, names[t], task, source)
    return Dataset(np.ascontiguousarray(X), y, os.path.basename(source), [names[j] for j in feature_cols], names[t], classes)


def _target_index(target: str | int, names: list[str], has_header: bool, source: str) -> int:
    width = len(names)
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if target not in names:
            where = f"columns are {', '.join(names)}" if has_header else "the file has no header row; give the column index"
            raise DataError(f"{source}: no target column {target!r}; {where}")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, (int, str, np.integer)):
        raise ConfigError(f"target must be a column name or index, got {target!r}")
    t = int(target)
    if not -width <= t < width:
        raise DataError(f"{source}: target column index {t} is out of range for {width} columns")
    return t % width


def _handle_missing(X: NDArray[np.float64], missing_rows: list[int], counts: list[int], where: list[str],
                    names: list[str], feature_cols: list[int], t: int, missing: str, source: str) -> NDArray[np.bool_]:
    """Apply the ``missing`` choice; returns the mask of rows to keep (``X`` may be filled in place)."""
    total = sum(counts)
    per_column = ", ".join(f"{names[j]!r}: {c}" for j, c in enumerate(counts) if c)
    summary = (f"{source} has {total} missing value(s) in {len(missing_rows)} row(s) (per column: {per_column}); "
               f"first at {', '.join(where)}")
    keep = np.ones(X.shape[0], dtype=bool)
    if missing == "error":
        raise DataError(f"{summary}. Choose missing='drop' to drop those rows or missing='fill_mean' to fill feature "
                        "cells with their column mean (CLI: --missing drop|fill_mean)")
    if missing == "drop" or counts[t]:
        if missing == "fill_mean":
            raise DataError(f"{summary}. {counts[t]} of them are in the target column {names[t]!r}, which cannot be "
                            "filled with a mean; use missing='drop'")
        keep[missing_rows] = False
        warnings.warn(f"{summary}; dropped those {len(missing_rows)} row(s), {int(keep.sum())} remain",
                      UserWarning, stacklevel=4)
        return keep
    for k, j in enumerate(feature_cols):
        if counts[j]:
            column = X[:, k]
            present = column[~np.isnan(column)]
            if not len(present):
                raise DataError(f"{source}: column {names[j]!r} has no values at all, so it has no mean; drop the column")
            column[np.isnan(column)] = present.mean()
    warnings.warn(f"{summary}; filled them with their column means (of the rows that have a value)",
                  UserWarning, stacklevel=4)
    return keep


def _target(codes: NDArray[np.int64], numbers: NDArray[np.float64], labels: dict[str, int], name: str, task: str,
            source: str) -> tuple[NDArray[Any], list[Any] | None]:
    """The target as class indices with their labels, or as regression values."""
    if np.isnan(numbers).any():  # some text: class labels
        if task == "regression":
            row = int(np.flatnonzero(np.isnan(numbers))[0])
            text = [k for k, v in labels.items() if v == codes[row]]
            raise DataError(f"{source}: target column {name!r} has text ({text[0]!r}) but task='regression' needs numbers")
        if (codes == -2).any():
            raise DataError(f"{source}: target column {name!r} has more than {MAX_LABELS} distinct text labels; "
                            "that is not a column of classes")
        texts = sorted(labels, key=labels.__getitem__)
        present = sorted((int(c) for c in np.unique(codes)), key=lambda k: texts[k])  # rows dropped may hide labels
        _at_least_two(len(present), texts[present[0]], name, len(codes), source)
        remap = np.full(len(texts), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return remap[codes], [texts[k] for k in present]
    distinct = np.unique(numbers)
    _at_least_two(len(distinct), distinct[0].item(), name, len(codes), source)
    integral = bool(np.all(distinct == np.round(distinct)))
    if task == "auto":
        # Numbers are never renumbered unless asked: labels that already are 0..k-1 are classes, other
        # integers stay as they are (a loss that needs 0..k-1 says so; task="classification" renumbers them).
        if integral and np.array_equal(distinct, np.arange(len(distinct))) and len(distinct) <= MAX_INTEGER_CLASSES:
            return numbers.astype(np.int64), list(range(len(distinct)))
        return (numbers.astype(np.int64) if integral else numbers.copy()), None
    if task == "regression":
        return numbers.copy(), None
    values = distinct.astype(np.int64) if integral else distinct
    return np.searchsorted(distinct, numbers).astype(np.int64), values.tolist()


def _at_least_two(n_distinct: int, value: Any, name: str, n_rows: int, source: str) -> None:
    if n_distinct < 2:
        raise DataError(f"{source}: target column {name!r} has the single value {value!r} in all {n_rows} rows; "
                        "a classifier needs at least two classes (and a constant regression target teaches nothing)")
