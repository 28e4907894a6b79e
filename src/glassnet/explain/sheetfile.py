"""The teacher's worksheet file: everything grading needs, without the network (``glassnet-worksheet`` JSON).

``Worksheet.to_dict()`` writes it (``worksheet.py``); :func:`load_worksheet` reads it back as a
:class:`SheetData` (graded by ``grade.py``: ``glassnet.grade(sheet, answers)``), which writes the learner's
answer template like the worksheet it came from. The file, version 1::

    {"format": "glassnet-worksheet", "version": 1,
     "digits_asked": 4,            # significant digits the sheet asks for ("at least 4")
     "digits_shown": 6,            # digits of the numbers printed on the sheet
     "n_samples": 1, "rows": [0], "n_outputs": 1, "settings": ["network: ...", ...],
     "activations": [{"layer": 1, "name": "leaky_relu", "slope": 0.2}, ...],   # each layer's Activation.config()
     "givens": [{"symbol": "w^(1)_{1,1}", "sample": null, "value": 0.15, "kind": "parameter"}, ...],
     "questions": [{"number": 1, "symbol": "z^(1)_1", "op": "=", "expression": "w^(1)_{1,1}*a^(0)_1 + ...",
                    "kind": "z", "phase": "forward", "layer": 1, "neuron": 0, "indices": [0], "sample": 0,
                    "key": null, "value": 0.3775, "formula": "z^(1)_1 = ... = 0.3775"}, ...]}

Givens' kinds: ``input``, ``target``, ``mask`` (and any other record the sheet gives), ``parameter``,
``buffer``, ``state`` (an optimizer's buffer before the step) and ``setting`` (``lr``, ``beta1``, ``eps``,
``lambda`` ...: exact numbers, no rounding). Values are full precision; NaN or inf are written as null.

Next read: ``grade.py``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from glassnet.errors import DataError, OutputFileError
from glassnet.explain.records import json_number

NUDGED_LOSS_DIGITS = 10  # the digits a worksheet gives a nudged loss with (the changes of the check are small)

FORMAT = "glassnet-worksheet"
VERSION = 1
DIGITS_ASKED = 4


@dataclass(frozen=True)
class Question:
    """One blank of the sheet: what is asked (symbol, expression) and the key's full-precision value."""

    number: int
    symbol: str
    value: float | None
    expression: str = ""
    op: str = "="
    kind: str = ""
    phase: str = ""
    layer: int | None = None
    neuron: int | None = None
    indices: tuple[int, ...] = ()
    sample: int | None = None
    key: str | None = None
    formula: str = ""


@dataclass(frozen=True)
class Given:
    """A number the learner is given: ``symbol`` (of ``sample``, or of every sample when None) is ``value``."""

    symbol: str
    value: float
    sample: int | None = None
    kind: str = "parameter"


@dataclass
class SheetData:
    """A worksheet as grading sees it: its questions, its givens, the digits it asks for."""

    questions: list[Question]
    givens: list[Given]
    digits_asked: int = DIGITS_ASKED
    digits_shown: int = 6
    n_samples: int = 1
    rows: list[int] = field(default_factory=list)
    n_outputs: int = 1
    settings: list[str] = field(default_factory=list)
    source: str = "the worksheet"
    # Each layer's activation with its settings (``Activation.config()``), by layer number (1-based); a file
    # without them (written before they were) grades with each activation's default settings.
    activations: dict[int, dict[str, Any]] = field(default_factory=dict)

    # ------------------------------------------------------------------ file
    def to_dict(self) -> dict[str, Any]:
        number = json_number
        return {"format": FORMAT, "version": VERSION, "digits_asked": self.digits_asked,
                "digits_shown": self.digits_shown, "n_samples": self.n_samples, "rows": list(self.rows),
                "n_outputs": self.n_outputs, "settings": list(self.settings),
                "activations": [{"layer": layer, **config} for layer, config in sorted(self.activations.items())],
                "givens": [{**asdict(g), "value": number(g.value)} for g in self.givens],
                "questions": [{**asdict(q), "indices": list(q.indices), "value": number(q.value)}
                              for q in self.questions]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the teacher's file (JSON) atomically."""
        from glassnet.io import atomic_write

        with atomic_write(path, "w", OutputFileError) as handle:
            handle.write(self.to_json() + "\n")

    @classmethod
    def from_dict(cls, data: Any, source: str = "the worksheet") -> SheetData:
        """Check and read a ``glassnet-worksheet`` dict; a damaged or foreign one is a :class:`DataError`."""
        fix = "write it again with glassnet explain --worksheet --format json --out sheet.json"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"{source} is not a glassnet worksheet file (format {found!r}, expected {FORMAT!r}); {fix}")
        if not isinstance(data.get("version"), int) or data["version"] > VERSION:
            raise DataError(f"{source} is a worksheet file of version {data.get('version')!r}; this glassnet reads "
                            f"version {VERSION}: update glassnet, or {fix}")
        try:
            questions = [Question(**{**q, "indices": tuple(int(i) for i in q.get("indices", ())),
                                     "value": _float(q["value"])}) for q in data["questions"]]
            givens = [Given(str(g["symbol"]), float(g["value"]) if g["value"] is not None else math.nan,
                            g.get("sample"), str(g.get("kind", "parameter"))) for g in data["givens"]]
            activations = {int(a["layer"]): {str(k): v for k, v in a.items() if k != "layer"}
                           for a in data.get("activations", [])}
            sheet = cls(questions, givens, int(data["digits_asked"]), int(data.get("digits_shown", 6)),
                        int(data["n_samples"]), list(data.get("rows", [])), int(data.get("n_outputs", 1)),
                        [str(s) for s in data.get("settings", [])], source, activations)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"{source} is a damaged worksheet file ({type(exc).__name__}: {exc}); {fix}") from None
        if not sheet.questions:
            raise DataError(f"{source} is a worksheet file with no questions: nothing to grade; {fix}")
        for where, sample in [*((f"question {q.number}", q.sample) for q in sheet.questions),
                              *((f"the given {g.symbol}", g.sample) for g in sheet.givens)]:
            if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)
                                       or not 0 <= sample < sheet.n_samples):
                raise DataError(f"{source} is a damaged worksheet file: {where} has sample {sample!r}; a sample is a "
                                f"whole number from 0 to {sheet.n_samples - 1} (or null); {fix}")
        for position, q in enumerate(sheet.questions, start=1):
            if q.number != position or not isinstance(q.symbol, str) or not isinstance(q.expression, str):
                raise DataError(f"{source} is a damaged worksheet file: question {position} is numbered "
                                f"{q.number!r} or has no symbol; {fix}")
        if not 1 <= sheet.digits_asked <= 15:
            raise DataError(f"{source}: digits_asked is {sheet.digits_asked}; it must be 1 to 15")
        return sheet

    # ------------------------------------------------------------------ for the learner and the grader
    def answer_template(self) -> str:
        """The learner's answer sheet as CSV: ``number,symbol,sample,answer`` with the answers empty."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["number", "symbol", "sample", "answer"])
        for q in self.questions:
            sample = "" if q.sample is None or self.n_samples == 1 else (self.rows or range(self.n_samples))[q.sample]
            writer.writerow([q.number, q.symbol, sample, ""])
        return out.getvalue()

    def save_answer_template(self, path: str | os.PathLike[str]) -> None:
        from glassnet.io import atomic_write

        with atomic_write(path, "w", OutputFileError) as handle:
            handle.write(self.answer_template())


def _float(value: Any) -> float | None:
    """A question's value as read from the file: a number, or None (NaN or inf, written as null)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a value must be a number, got {value!r}")
    return float(value)


def load_worksheet(path: str | os.PathLike[str]) -> SheetData:
    """Read a teacher's worksheet file written by ``Worksheet.save`` or ``glassnet explain --worksheet --format json``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a file saved by an editor that adds a byte-order mark
    except FileNotFoundError:
        raise DataError(f"worksheet file {p} does not exist; write one with glassnet explain --worksheet "
                        "--format json --out sheet.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the worksheet file {p}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{p} is not a worksheet file: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                        f"{exc.msg}); give the .json file of glassnet explain --worksheet --format json") from None
    return SheetData.from_dict(data, str(p))
