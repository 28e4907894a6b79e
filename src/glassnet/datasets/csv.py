"""Reading the user's own data from a CSV file (or any stream of CSV lines), in one pass.

``load_csv(path, target=...)`` reads numeric feature columns and one target column (by name or
0-based index; the last column by default). The file is read once, row by row, straight into compact
arrays, so a file larger than a few copies of its numbers never sits in memory as text.

* Header: detected when a cell of the first row is text where the second row has a number, or when the
  target is given by a name that is a cell of the first row (``header=True/False`` overrides). Names mean
  what they say: two columns with the same name are an error, and a byte-order mark before the first name
  is not part of it.
* Target: a string that is a column name means that column, even if it looks like a number (``"0"`` is the
  column *named* 0 when there is one); otherwise a string of ASCII digits or an int is a 0-based index.
* Target values: text labels are classes: sorted, numbered ``0..k-1``, and ``dataset.classes`` /
  ``dataset.decode`` map the numbers back. Numbers keep the value written: whole numbers ("3", "3.0",
  "-0.0") are read exactly as int64 (so "1" and "1.0" are one class, 9007199254740993 is not rounded to
  ...992); integers ``0..k-1`` are classes as they are; other numbers are kept as they are (int64 if every one
  is a whole number int64 holds, else float64). ``task="classification"`` numbers the values as classes and
  needs each to be text or a whole number int64 holds (1e20 or 2.5 is refused, naming its line);
  ``task="regression"`` keeps every target as float64. A target of ``inf`` is refused in every task.
* Missing cells (empty, ``NA``, ``NaN``, ``null``, ``?``, ...): never silent. ``missing="error"`` (default)
  reports how many and where; ``"drop"`` drops those rows and ``"fill_mean"`` fills feature cells with
  the column mean, each with a warning that says how many.
* ``dtype="float32"``: numbers beyond float32's range (finite in float64) are refused with "does not fit
  float32", naming line and column, instead of turning into inf later.
* Every other problem (ragged rows, text in a feature column, inf, an empty file, a folder, a header with no
  rows, a target with a single class) raises :class:`DataError` with its line and column.

Next read: ``split.py`` (train/test split and standardisation).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
import stat
import warnings
from array import array
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool
from glassnet.datasets.dataset import Dataset
from glassnet.errors import ConfigError, DataError, GlassnetTypeError

MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "-"})
MISSING_CHOICES = ("error", "drop", "fill_mean")
# Integer targets 0..k-1 with at most this many classes are taken as class labels when task="auto".
MAX_INTEGER_CLASSES = 20
# Distinct target texts remembered while reading; more than this many text labels is not a class column.
MAX_LABELS = 10_000
# A target given as text is an index only if it is ASCII digits: "²".isdigit() is True, but int("²") fails.
INDEX_TEXT = re.compile(r"[+-]?[0-9]+")
FLOAT_TYPES = {"float64": np.float64, "float32": np.float32}


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


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` with a byte-order mark removed from the first (a stream or an open file may still carry one)."""
    it = iter(lines)
    first = next(it, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff") if isinstance(first, str) else first
    yield from it


def _rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line number where each ends (quoted fields may span lines)."""
    reader = csv.reader(_without_bom(lines), delimiter=delimiter)
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, [cell.strip() for cell in row]


def load_csv(path: str | os.PathLike[str] | Iterable[str], target: str | int | None = -1, delimiter: str = ",",
             header: bool | None = None, missing: str = "error", task: str = "auto",
             dtype: str | type = "float64") -> Dataset:
    """Read a CSV file (or an iterable of CSV lines, e.g. an open file or ``sys.stdin``) into a :class:`Dataset`.

    Parameters
    ----------
    path : path of the CSV file, or an iterable of its lines (read exactly once)
    target : str or int
        Name (needs a header) or 0-based index (negative counts from the end) of the target column. A string
        that is a column name means that column even if it looks like a number (``target="0"`` is the column
        named ``0``); a string of ASCII digits that is no column name is an index, as an int always is.
    delimiter : str
        Field separator.
    header : bool, optional
        Whether the first row holds column names; ``None`` detects it.
    missing : {"error", "drop", "fill_mean"}
        What to do with missing cells: report them (default), drop their rows, or fill feature cells
        with the column mean (a missing *target* cannot be filled: drop those rows instead).
    task : {"auto", "classification", "regression"}
        How to read the target column (see the module docstring).
    dtype : {"float64", "float32"}
        The float type of ``X``; a number that does not fit it (1e300 for float32) is an error naming its
        line and column.

    Returns
    -------
    Dataset
        ``X`` of ``dtype`` and shape ``(n_rows, n_columns - 1)``; ``y`` int64 class indices with ``classes``
        set, or the target values (int64 if all whole numbers int64 holds, else float64) with ``classes=None``.
    """
    if missing not in MISSING_CHOICES:
        raise ConfigError(f"missing must be one of {', '.join(MISSING_CHOICES)}; got {missing!r}")
    if task not in ("auto", "classification", "regression"):
        raise ConfigError(f"task must be 'auto', 'classification' or 'regression'; got {task!r}")
    if target is None:
        target = -1
    if header is not None:
        header = check_bool(header, "load_csv: header (or None to detect it)")
    float_type = FLOAT_TYPES.get(np.dtype(dtype).name if isinstance(dtype, type) else str(dtype))
    if float_type is None:
        raise ConfigError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"delimiter must be one character, like ',' or ';' or '\\t'; got {delimiter!r}")
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)) and not hasattr(path, "__iter__"):
        raise GlassnetTypeError(f"a CSV path must be a string, a pathlib.Path or an iterable of lines, got {type(path).__name__}")
    source = str(path) if isinstance(path, (str, os.PathLike)) else str(getattr(path, "name", "<stream>"))
    try:
        if not isinstance(path, (str, os.PathLike)):
            return _read(path, source, target, delimiter, header, missing, task, float_type)
        with _open(path, source) as handle:
            return _read(handle, source, target, delimiter, header, missing, task, float_type)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset "
                        f"{exc.start}); is it a CSV file? Save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise DataError(f"{source} could not be read as CSV ({exc}); is it a CSV file?") from None


def _open(path: str | os.PathLike[str], source: str) -> IO[str]:
    """``path`` opened as UTF-8 text (a byte-order mark skipped), or a :class:`DataError` saying what it is instead.

    A regular file opens as usual. A FIFO or character device (``<(command)``, ``/dev/stdin``, ``/dev/null``)
    opens without waiting for a writer: one that nothing writes to reads as empty instead of hanging.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"CSV file {source} does not exist") from None
    except OSError as exc:
        raise DataError(f"CSV file {source} cannot be reached ({exc.strerror}); check the path") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{source} is a folder, not a CSV file; give the path of a CSV file")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        kind = "socket" if stat.S_ISSOCK(mode) else "block device" if stat.S_ISBLK(mode) else "special file"
        raise DataError(f"{source} is a {kind}, not a CSV file; give the path of a CSV file")
    try:
        if stat.S_ISREG(mode):
            return open(path, newline="", encoding="utf-8-sig")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO: do not block until someone writes
        os.set_blocking(fd, True)  # ... but then read what is written, to the end
        return open(fd, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"CSV file {source} cannot be opened ({exc.strerror}); check its permissions") from None


def _read(lines: Iterable[str], source: str, target: str | int, delimiter: str, header: bool | None,
          missing: str, task: str, float_type: Any) -> Dataset:
    rows = _rows(lines, delimiter)
    first_row = next(rows, None)
    if first_row is None:
        raise DataError(f"{source} is empty; a CSV needs feature columns and a target column")
    second_row = next(rows, None)
    first, second = first_row[1], (second_row[1] if second_row else None)
    has_header = _looks_like_header(first, second) if header is None else header
    if header is None and isinstance(target, str) and target.strip() in first and not INDEX_TEXT.fullmatch(target.strip()):
        has_header = True  # the target is named by a cell of the first row, so that row holds names
    width = len(first)
    names = first if has_header else [f"column {j}" for j in range(width)]
    if has_header:
        _check_unique(names, source)
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
    label_lines: list[int] = []          # the line where each text in `labels` first appears, for messages
    largest = float(np.finfo(float_type).max)  # a number beyond it (or inf, or NaN) does not fit X
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
            if value is None or not -largest <= value <= largest:
                if not _is_missing(cell):
                    if value is not None:
                        raise DataError(_unfit(source, line, f"column {names[j]!r}", cell, value, float_type))
                    raise DataError(f"{source}, line {line}, column {names[j]!r}: {cell!r} is not a number. Feature "
                                    "columns must be numeric; encode that column as numbers or drop it")
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
            number = _number(cell)
            if number is not None and not -largest <= number <= largest:
                raise DataError(_unfit(source, line, f"target column {names[t]!r}", cell, number, float_type))
            if cell not in labels and len(labels) <= MAX_LABELS:
                labels[cell] = len(labels)
                label_lines.append(line)
            label_codes.append(labels.get(cell, -2))
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
    y, classes = _target(codes, numbers, labels, label_lines, names[t], task, source)
    return Dataset(np.ascontiguousarray(X, dtype=float_type), y, os.path.basename(source),
                   [names[j] for j in feature_cols], names[t], classes)


def _unfit(source: str, line: int, column: str, cell: str, value: float, float_type: Any) -> str:
    """The message for a number cell that is inf (or beyond float64, like 1e400) or beyond ``float_type``;
    ``column`` says which, e.g. ``"column 'a'"``."""
    where = f"{source}, line {line}, {column}: {cell!r}"
    if not math.isfinite(value):
        return (f"{where} is not finite (float64 holds numbers up to about 1.8e308). Every number must be finite: "
                "fix or drop that row")
    name = np.dtype(float_type).name
    return (f"{where} does not fit {name} (its numbers go up to about {np.finfo(float_type).max:.2g}). Scale that "
            "column down (the CLI's --standardize does), or use float64 (dtype='float64', CLI --dtype float64)")


def _check_unique(names: list[str], source: str) -> None:
    """Refuse a header in which two columns have the same name: a name must say which column it means."""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise DataError(f"{source}: columns {seen[name]} and {j} (counting from 0) are both named {name!r} in the "
                            "header; rename one of them so that each name means one column")
        seen[name] = j


def _target_index(target: str | int, names: list[str], has_header: bool, source: str) -> int:
    """The 0-based column of ``target``: a column name (the name wins, even ``"0"``), else an index given as an
    int or as a string of ASCII digits (negative counts from the end)."""
    width = len(names)
    if isinstance(target, str):
        text = target.strip()  # names are read stripped, so " label " means the column label
        if text in names:
            return names.index(text)
        where = f"columns are {', '.join(names)}" if has_header else "the file has no header row; give the column index"
        if not INDEX_TEXT.fullmatch(text):
            raise DataError(f"{source}: no target column {target!r}; {where}")
        t = int(text)
    elif isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ConfigError(f"target must be a column name or index, got {target!r}")
    else:
        t, where = int(target), ""
    if not -width <= t < width:
        named = f" (and no column is named {target!r}: {where})" if isinstance(target, str) and has_header else ""
        raise DataError(f"{source}: target column index {t} is out of range for {width} columns{named}")
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


def _target(codes: NDArray[np.int64], numbers: NDArray[np.float64], labels: dict[str, int], label_lines: list[int],
            name: str, task: str, source: str) -> tuple[NDArray[Any], list[Any] | None]:
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
    whole = None if task == "regression" else _whole_numbers(codes, numbers, labels, label_lines, name, source,
                                                             required=task == "classification")
    if whole is None:  # asked for, or numbers that are not all whole numbers int64 holds: float64, as read
        distinct = np.unique(numbers)
        _at_least_two(len(distinct), distinct[0].item(), name, len(codes), source)
        return numbers.copy(), None
    values, indices = np.unique(whole, return_inverse=True)
    _at_least_two(len(values), values[0].item(), name, len(codes), source)
    if task == "classification":
        return indices.astype(np.int64).reshape(-1), values.tolist()
    # Numbers are never renumbered unless asked: labels that already are 0..k-1 are classes, other
    # integers stay as they are (a loss that needs 0..k-1 says so; task="classification" renumbers them).
    if np.array_equal(values, np.arange(len(values))) and len(values) <= MAX_INTEGER_CLASSES:
        return whole, list(range(len(values)))
    return whole, None


def _whole(text: str) -> int | None:
    """The whole number the cell ``text`` writes, read exactly from the text ("3", "3.0", "-0.0" -> 0, "1e2" ->
    100, "9007199254740993" stays itself where float64 would round it to ...992), or None for a fraction."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)  # at most 309 digits: a cell beyond float64's range was refused while reading


def _whole_numbers(codes: NDArray[np.int64], numbers: NDArray[np.float64], labels: dict[str, int],
                   label_lines: list[int], name: str, source: str, required: bool) -> NDArray[np.int64] | None:
    """The exact-cast check: the numeric target as the whole numbers written, int64, one per row.

    Each distinct text is read exactly (:func:`_whole`) and must fit int64; otherwise the result is ``None``
    or, when ``required`` (the values are to be class labels), a :class:`DataError` naming the line and the
    value as written ("1e20", never the int64 it would be cast to). Rows whose text was not kept (more than
    ``MAX_LABELS`` distinct values) are taken from their float64 value, which is exact for whole numbers
    below 2**53 in size.
    """
    texts = list(labels)  # in the order of their codes: a dict keeps its insertion order
    table = np.zeros(len(texts), dtype=np.int64)
    present = np.unique(codes)
    for code in present[present >= 0]:  # ascending codes: the order the texts first appear in the file
        value = _whole(texts[code])
        if value is None or not -2**63 <= value < 2**63:
            if not required:
                return None
            why = "is not a whole number" if value is None else "is a whole number beyond int64 (about ±9.2e18)"
            raise DataError(f"{source}, line {label_lines[code]}, target column {name!r}: class label {texts[code]!r} "
                            f"{why}; a numeric class label must be a whole number that int64 holds exactly. Give "
                            "text labels instead, or use task='regression' for numbers")
        table[code] = value
    whole = table[np.maximum(codes, 0)]
    unknown = codes == -2
    if unknown.any():
        if required:
            raise DataError(f"{source}: target column {name!r} has more than {MAX_LABELS} distinct values; that is not "
                            "a column of classes (use task='regression' for numbers)")
        floats = numbers[unknown]
        if not np.all((floats == np.round(floats)) & (np.abs(floats) < 2.0**53)):
            return None
        whole[unknown] = floats.astype(np.int64)
    return whole


def _at_least_two(n_distinct: int, value: Any, name: str, n_rows: int, source: str) -> None:
    if n_distinct < 2:
        raise DataError(f"{source}: target column {name!r} has the single value {value!r} in all {n_rows} rows; "
                        "a classifier needs at least two classes (and a constant regression target teaches nothing)")
