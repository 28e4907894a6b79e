"""Reading a learner's answers to a worksheet: JSON or CSV, numbers as people type them.

Where the answers can come from (:func:`read_answers`):

- a dict ``{"1": "0.3775", "2": "0,5932", ...}`` keyed by blank number (1-based, as printed), or by the blank's
  symbol where it names one blank only (``{"z^(1)_1": "0.3775"}``); a list in blank order (``None`` or ``""``
  for a blank left empty);
- a ``.json`` file holding either of those;
- any other file as CSV (:func:`_from_csv`): ``number,answer`` with or without a header; ``;`` or a tab as the
  delimiter (a spreadsheet in a decimal-comma locale writes ``;``); or one value per line, in blank order, where
  an empty line is a blank left empty (empty lines at the end are nothing). A first row that is not numbers is a
  header when it names a column: the number as ``number``, ``no``, ``nr``, ``#``, ``blank``, ``question``,
  ``frage`` ... and the answer as ``answer``, ``value``, ``result``, ``antwort``, ``valeur`` ... (see
  :data:`NUMBER_NAMES`, :data:`ANSWER_NAMES`); two columns of other words are number, then answer; a lone answer
  column is one value per line. The answer template ``number,symbol,sample,answer`` is read by its header.
  Headerless comma rows ``1,0.3775`` are number,answer when their first fields are distinct blank numbers; rows
  that are all two whole numbers (``1,106``: blank 1 = 106, or the value 1.106?) are never guessed: a
  :class:`~glassnet.errors.DataError` asks for a header ``number,answer`` or ``;``.

How a value is read (:func:`parse_number`): spaces, non-breaking and thin spaces are dropped; a unicode minus
or dash is a minus; one pair of brackets around the whole is dropped (``(-0.3)``); ``1.2e-3``, ``1.2 x 10^-3``,
``1.2×10^(-3)``, ``1.2×10^{-3}``, ``1.2·10⁻³`` (superscript digits), ``1.2*10^-3`` and ``10^-3`` are numbers,
and so are fractions ``3/4`` (learners write exact values so); ``≈``, ``~`` or ``=`` in front are ignored.
Decimal point or comma: with both, the last one is the decimal separator (``1,234.5`` and ``1.234,5``); with
commas only, one comma is a decimal comma (``0,3775``; ``1,234`` reads 1.234, since a worksheet's numbers are
mostly below 1000) and several are thousands (``1,234,567``); with dots only, the same the other way round.
``decimal=","`` or ``decimal="."`` forces one reading, except where it reads no number at all (``"0.3775"`` with
``decimal=","``: its dot cannot be a thousands separator), where the other mark is used. Text that is not a
number is not an error: the blank is graded "unreadable", its text quoted and, where it helps, why
(:func:`unreadable_reason`): a percentage (a worksheet never asks for one: ``25%`` is unreadable, the note says
write 0.25), or ``inf``, ``nan``, ``1e400`` (no step has a value that is not finite). An answer to a blank that
does not exist is an error naming it.

Next read: ``slips.py``, then ``grade.py``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from glassnet.errors import ConfigError, DataError, GlassnetTypeError, shorten

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f\u2007']")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\u2014": "-", "\ufe63": "-", "\uff0d": "-"})
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_TIMES_TEN = re.compile(r"^(?:(?P<m>.+?)[x×X*·⋅]|(?P<sign>[+-]?))10\^[({]?(?P<e>[+-]?\d+)[)}]?$")
_MANTISSA = re.compile(r"^[+-]?[0-9.,]*[0-9][0-9.,]*(?:[eE][+-]?\d+)?$")
DECIMALS = (None, ",", ".")


def _clean(text: str) -> str:
    """``text`` without spaces, with a plain minus, ``10⁻³`` as ``10^-3`` and one enclosing pair of brackets off."""
    s = _SPACES.sub("", str(text)).translate(_MINUS).lstrip("≈~=")
    s = re.sub(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)$", lambda m: "10^" + m[1].translate(_SUPERSCRIPT), s)
    if len(s) > 2 and s[0] == "(" and s[-1] == ")" and "(" not in s[1:-1]:
        s = s[1:-1]
    return s


def parse_number(text: str, decimal: str | None = None) -> float | None:
    """The number a learner typed, or ``None`` if ``text`` is not one (see the module docstring for the rules)."""
    if decimal not in DECIMALS:
        raise ConfigError(f"decimal must be ',' or '.' (or None to decide from each value), got {decimal!r}")
    s = _clean(text)
    if not s:
        return None
    fraction = re.fullmatch(r"([+-]?\d+(?:[.,]\d+)?)/(\d+(?:[.,]\d+)?)", s)
    if fraction:
        top, bottom = (parse_number(part, decimal) for part in fraction.groups())
        return None if top is None or not bottom else top / bottom
    exponent = 0
    m = _TIMES_TEN.match(s)
    if m:
        s, exponent = (m["m"] or m["sign"] + "1"), int(m["e"])  # "10^-3" alone is 1 x 10^-3
    if not _MANTISSA.match(s):
        return None
    mantissa, _, e = s.partition("e") if "e" in s else s.partition("E")
    number = _decimal_point(mantissa, decimal)
    if number is None:
        return None
    try:
        value = float(number + (f"e{e}" if e else "")) * 10.0 ** exponent
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None  # "1e400" is no answer, not infinity


def unreadable_reason(text: str) -> str:
    """Why ``text`` is not read as a number: what the grader says of an unreadable blank."""
    s = _clean(text)
    if s.endswith("%") and parse_number(s[:-1]) is not None:
        return f"not a number: {text!r} (a worksheet asks for plain numbers, not percentages: write " \
               f"{parse_number(s[:-1]) / 100:g})"  # type: ignore[operator]
    if re.fullmatch(r"[+-]?(inf(inity)?|nan|∞)", s, re.IGNORECASE) or (
            _MANTISSA.match(s) and _decimal_point(s.partition("e")[0].partition("E")[0], None) is not None):
        return f"not a finite number: {text!r} (every value of a training step is a finite number)"
    return f"not a number: {text!r}"


def _decimal_point(s: str, decimal: str | None) -> str | None:
    """``s`` (digits, dots and commas) with a plain ``.`` decimal point and no thousands separators.

    A forced ``decimal`` that makes no number of ``s`` (``decimal=","`` and ``"0.3775"``: a dot that is no
    thousands separator, since its groups are not threes) gives way to the other mark."""
    if decimal is None:
        if "," in s and "." in s:
            decimal = "," if s.rfind(",") > s.rfind(".") else "."
        elif "," in s:
            decimal = "," if s.count(",") == 1 else "."
        else:
            decimal = "." if s.count(".") <= 1 else ","
        return _with_mark(s, decimal)
    read = _with_mark(s, decimal)
    other = "." if decimal == "," else ","
    if read is None and decimal not in s and s.count(other) == 1:
        return _with_mark(s, other)
    return read


def _with_mark(s: str, decimal: str) -> str | None:
    thousands = "." if decimal == "," else ","
    whole = s.split(decimal)[0].lstrip("+-")
    if thousands in whole and not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", whole):
        return None  # "0.3.7" is no number: thousands come in groups of three digits
    s = s.replace(thousands, "").replace(decimal, ".")
    return s if s.count(".") <= 1 else None


def read_answers(source: Any, symbols: Sequence[str]) -> dict[int, str | None]:
    """The learner's answers as text by blank number (1-based); ``None`` for a blank left empty.

    ``symbols`` are the blanks' symbols in order (their count is the number of blanks). Blanks not answered at
    all are not in the result.
    """
    where = "the answers"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"answers file {path} does not exist; give the file the learner filled in") from None
        except OSError as exc:
            raise DataError(f"cannot read the answers file {path}: {exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # a spreadsheet's CSV in the Windows code page (Excel's default in many locales)
            text = raw.decode("cp1252", errors="replace")
        if path.suffix.lower() == ".json":
            try:
                source = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"answers file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); write {{\"1\": \"0.3775\", ...}} or a list of answers") from None
        else:
            source = _from_csv(text, path, len(symbols))
    if isinstance(source, Mapping):
        return _from_mapping(source, symbols, where)
    if isinstance(source, (list, tuple)):
        if len(source) > len(symbols):
            raise DataError(f"{where}: {len(source)} answers for a worksheet of {len(symbols)} blanks; blank "
                            f"{len(symbols) + 1} does not exist")
        return {i: _text(v, where, i) for i, v in enumerate(source, start=1)}
    raise GlassnetTypeError(f"answers must be a dict, a list or a path to a .json or .csv file, got "
                            f"{type(source).__name__}")


def _text(value: Any, where: str, number: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: the answer to blank {number} is {shorten(value)}; give a number or text")
    text = str(value).strip()
    return text or None


def _from_mapping(source: Mapping[Any, Any], symbols: Sequence[str], where: str) -> dict[int, str | None]:
    by_symbol: dict[str, list[int]] = {}
    for i, s in enumerate(symbols, start=1):
        by_symbol.setdefault(s, []).append(i)
    out: dict[int, str | None] = {}
    for name, value in source.items():
        label = str(name).strip()
        if re.fullmatch(r"\d+", label):
            number = int(label)
            if not 1 <= number <= len(symbols):
                raise DataError(f"{where}: an answer to blank {number}, but the worksheet has blanks 1 to "
                                f"{len(symbols)}; check the numbering (1-based, as printed on the sheet)")
        elif label in by_symbol:
            if len(by_symbol[label]) > 1:
                raise DataError(f"{where}: {label!r} names blanks {by_symbol[label]} (one per sample); key these "
                                "answers by blank number instead")
            number = by_symbol[label][0]
        else:
            raise DataError(f"{where}: {shorten(label)} is neither a blank number (1 to {len(symbols)}) nor the "
                            "symbol of a blank of this worksheet")
        if number in out:
            raise DataError(f"{where}: blank {number} is answered twice")
        out[number] = _text(value, where, number)
    return out


# Header names of the number and the answer columns, in the languages of the classrooms that asked (lower case).
NUMBER_NAMES = ("number", "no", "nr", "#", "n", "num", "blank", "question", "q", "frage", "aufgabe", "nummer",
                "numero", "numéro", "symbol")
ANSWER_NAMES = ("answer", "value", "result", "antwort", "wert", "ergebnis", "valeur", "réponse", "reponse",
                "résultat", "resultat", "respuesta", "valor")


def _name(cell: str) -> str:
    return cell.strip().lower().rstrip(".:").strip()


def _blank_row(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def _from_csv(text: str, path: Path, n_blanks: int) -> dict[str, str | None] | list[str | None]:
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # trailing empty lines are no answers; interior ones are skipped blanks
        lines.pop()
    if not lines:
        return {}
    first = next(line for line in lines if line.strip())
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error as exc:
        raise DataError(f"{path} is not a CSV file of answers ({exc}); write number,answer per line") from None
    numbered = [(line, r) for line, r in enumerate(rows, start=1) if not _blank_row(r)]
    head_line, head = numbered[0]
    names = [_name(c) for c in head]
    answer = next((i for i, c in enumerate(names) if c in ANSWER_NAMES), None)
    number = next((i for i, c in enumerate(names) if c in NUMBER_NAMES), None)
    words = len(head) >= 2 and all(c.strip() and parse_number(c) is None for c in head)
    if answer is not None or (number is not None and len(head) == 2) or (
            words and all(re.fullmatch(r"\s*\d+\s*", r[0]) for _, r in numbered[1:])):
        if answer is None:  # "Nr;Ergebnis" unknown, or two columns of words: the first is the number, the second the answer
            answer = 1 if number in (0, None) else 0
        if len(head) == 1:  # a lone answer column: one value per line, in blank order
            return [delimiter.join(r).strip() or None for r in rows[head_line:]]
        if number is None or number == answer:
            number = 0 if answer != 0 else 1
        return _numbered(numbered[1:], number, answer, len(head), delimiter, path)
    firsts = [r[0].strip() for _, r in numbered]
    ints = all(re.fullmatch(r"\d+", f) and 1 <= int(f) <= n_blanks for f in firsts) and all(
        len(r) >= 2 for _, r in numbered)
    whole = all(len(r) == 2 and re.fullmatch(r"\s*\d+\s*", r[1]) for _, r in numbered)
    if ints and delimiter == "," and whole:
        if len(set(firsts)) == len(firsts):  # "1,106": blank 1 is 106, or the value 1.106? Never guess.
            raise DataError(
                f"{path}: every line is two whole numbers split by a comma (line {head_line}: {first.strip()!r}); "
                "that reads as number,answer or as one value per line with a decimal comma. Add a header line "
                "'number,answer', or separate the number and the answer with ';'")
    elif ints:  # "1,0.3775", "1;0,3775": a blank number, then its answer
        return _numbered(numbered, 0, 1, 2, delimiter, path)
    # One value per line, in blank order (a decimal comma split by the reader is put back; an empty line is a blank).
    return [delimiter.join(r).strip() or None for r in rows]


def _numbered(rows: list[tuple[int, list[str]]], k: int, a: int, width: int, delimiter: str,
              path: Path) -> dict[str, str | None]:
    """``{number: answer}`` of the rows ``(line, cells)``, the number in column ``k`` and the answer in ``a``."""
    out: dict[str, str | None] = {}
    for line, row in rows:
        if len(row) <= k or not row[k].strip():
            raise DataError(f"{path}, line {line}: no blank number in column {k + 1}")
        # An unquoted decimal comma in a comma-separated file splits the answer: the rest of the row is it.
        answer = delimiter.join(row[a:]) if a == width - 1 else (row[a] if a < len(row) else "")
        name = row[k].strip()
        if name in out:
            raise DataError(f"{path}, line {line}: blank {name} is answered twice; keep one answer per blank")
        out[name] = answer.strip() or None
    return out
