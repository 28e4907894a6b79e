"""Reading the user's own data from a CSV file.

``load_csv(path, target=...)`` reads numeric feature columns and one target column (by name or
index; the last column by default). A first row that is not all numbers is taken as the header.
A text target column is treated as class labels: the labels are sorted and numbered 0..k-1, and
``dataset.classes`` maps the numbers back. Every problem is reported with its row and column.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

from glassnet.datasets.builtin import Dataset
from glassnet.errors import ConfigError, DataError, GlassnetTypeError


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def load_csv(path: str | os.PathLike[str], target: str | int | None = -1, delimiter: str = ",") -> Dataset:
    """Read ``path`` into a :class:`Dataset`.

    Parameters
    ----------
    path : path of the CSV file
    target : str or int
        Name (needs a header) or 0-based index (negative counts from the end) of the target column.
    delimiter : str
        Field separator.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise GlassnetTypeError(f"a CSV path must be a string or a pathlib.Path, got {type(path).__name__}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"delimiter must be one character, like ',' or ';' or '\\t'; got {delimiter!r}")
    target = -1 if target is None else target
    if isinstance(target, bool) or not isinstance(target, (str, int)):
        raise ConfigError(f"target must be a column name or a 0-based column index, got {target!r}")
    source = str(path)
    if not os.path.isfile(path):
        raise DataError(f"CSV file {source} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 "
                        "(\"CSV UTF-8\" in spreadsheet programs)") from None
    except csv.Error as exc:
        raise DataError(f"{source} is not a readable CSV file ({exc})") from None
    if not rows:
        raise DataError(f"{source} is empty; a CSV needs feature columns and a target column")
    has_header = not all(_is_number(cell) for cell in rows[0])
    header = [cell.strip() for cell in rows[0]] if has_header else [f"column {i}" for i in range(len(rows[0]))]
    body = rows[1:] if has_header else rows
    first_line = 2 if has_header else 1
    if not body:
        raise DataError(f"{source} has a header but no data rows")
    width = len(header)
    if width < 2:
        raise DataError(f"{source} has {width} column; it needs at least one feature column and a target column")
    for i, row in enumerate(body):
        if len(row) != width:
            raise DataError(f"{source}, line {first_line + i}: {len(row)} fields, but the first line has {width}")

    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if target not in header:
            where = f"columns are {', '.join(header)}" if has_header else "the file has no header row; give the column index"
            raise DataError(f"{source}: no target column {target!r}; {where}")
        t = header.index(target)
    else:
        t = int(target)
        if not -width <= t < width:
            raise DataError(f"{source}: target column index {t} is out of range for {width} columns")
        t %= width

    feature_cols = [c for c in range(width) if c != t]
    X = np.empty((len(body), len(feature_cols)))
    for i, row in enumerate(body):
        for j, c in enumerate(feature_cols):
            cell = row[c].strip()
            try:
                X[i, j] = float(cell)
            except ValueError:
                raise DataError(
                    f"{source}, line {first_line + i}, column {header[c]!r}: {cell!r} is not a number. Feature "
                    "columns must be numeric; encode or drop that column"
                ) from None
    labels = [row[t].strip() for row in body]
    classes: list[Any] | None = None
    if all(_is_number(cell) for cell in labels):
        y: Any = np.array([float(cell) for cell in labels])
        if np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53):  # integers that int64 holds exactly
            y = y.astype(np.int64)
            classes = sorted(set(y.tolist())) if len(set(y.tolist())) <= 2 and set(y.tolist()) <= {0, 1} else None
    else:
        classes = sorted(set(labels))
        index = {label: k for k, label in enumerate(classes)}
        y = np.array([index[label] for label in labels], dtype=np.int64)
    return Dataset(X, y, os.path.basename(source), [header[c] for c in feature_cols], header[t], classes)
