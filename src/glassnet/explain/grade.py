"""Grading a learner's worksheet as a teacher would: right, wrong, or right given their own earlier numbers.

``grade(sheet, answers)`` (also ``Worksheet.grade`` and ``SheetData.grade``) gives every blank one verdict:

- ``right``: agrees with the key to the digits the sheet asks for (``digits_asked``, 4). A value is judged on
  its own scale, or on 1/100 of the size of the terms that make it where those cancel (see ``formula.py``): 0
  for a true 3e-12 that is 0.1 - 0.1 is right. An answer that misses the key only because the learner carried
  their own rounded (but right) earlier values is right too.
- ``carried``: wrong against the key but right given the learner's own earlier numbers (error carried forward):
  the blank's expression worked out again with the givens and the learner's earlier answers (the key where they
  left a blank empty or unreadable) gives their answer. The learner's earlier values count as known to the digits
  they typed, and at least to the digits asked (:func:`typed_uncertainty`): ``"0.4"`` is 0.4000, not 0.4 +- 0.05,
  and ``"1"`` for relu' (exactly 1) is exact; so a carried answer must follow from those values.
- ``wrong``, ``blank`` (not answered) and ``unreadable`` (not a number; the text is quoted).

Error carried forward needs the expression to be one :mod:`~glassnet.explain.formula` can work out; it checks
itself on the key (the expression with the key's own values must give the key's value to 1e-9) and a blank
where it does not (a layer of your own, a summary line) is graded right or wrong only, and says so: never a
wrong "carried". ``first_wrong`` is the first wrong blank whose inputs were right: the root of the trouble. Every
wrong blank whose inputs were right gets a diagnosis from the known slips of ``slips.py``.

Blanks of "predict, then check" (``dL_actual = L(w+d) - L_0``, ``gap``, ``L''``) are small differences of losses
that the sheet gives to ``NUDGED_LOSS_DIGITS`` (10) digits: each is judged on the size of its terms, weighted by
how much smaller the rounding of those givens is (``10**(digits_shown - 10)``), so a sign-flipped ``L''`` is wrong.

Score: right + carried, out of every blank of the sheet (an empty blank scores 0); ``answered`` counts the
blanks with an answer. Shown by :class:`Grading` as text, HTML (``grade_html.py``) and JSON.

Next read: ``grade_html.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from glassnet.errors import GlassnetTypeError, OutputFileError, unknown_name
from glassnet.explain.answers import parse_number, read_answers, unreadable_reason
from glassnet.explain.formula import Formula, FormulaError, activation_functions
from glassnet.explain.records import json_number
from glassnet.explain.sheetfile import NUDGED_LOSS_DIGITS, Given, Question, SheetData, load_worksheet
from glassnet.explain.slips import SLIPS, SlipContext, round_sig

VERDICTS = ("right", "carried", "wrong", "blank", "unreadable")
CANCELLATION = 1e-2  # a value is judged on at least this fraction of the size of its terms
SELF_CHECK = 1e-9  # how closely the evaluator must reproduce the key before it may carry an error forward
_CALL_SHAPED = re.compile(r"^[A-Za-z_][\w']*\(")


def unit(x: float, digits: int) -> float:
    """One unit in the ``digits``-th significant digit of ``x`` (``unit(0.3775, 4) == 0.0001``)."""
    if x == 0 or not math.isfinite(x):
        return 1e-12
    return float(10.0 ** (math.floor(math.log10(abs(x))) - digits + 1))


def close(a: float, b: float, magnitude: float, digits: int, slack: float = 0.0) -> bool:
    """``a`` agrees with ``b`` to ``digits`` significant digits of ``max(|b|, CANCELLATION * magnitude)`` (plus
    ``slack``: how much ``b`` is uncertain by)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= unit(max(abs(b), CANCELLATION * magnitude), digits) * (1 + 1e-9) + slack


def typed_digits(text: str) -> int:
    """How many significant digits a learner typed: ``"0,3775"`` -> 4, ``"1.2 x 10^-3"`` -> 2."""
    mantissa = re.split(r"[eE]|[x×X*·⋅]\s*10", text)[0]
    return max(len("".join(c for c in mantissa if c.isdigit()).lstrip("0")), 1)


def typed_uncertainty(text: str, value: float, key: float, digits_asked: int) -> float:
    """How much a learner's typed input is uncertain by: half a unit in its last digit, counting at least the
    digits the sheet asks for (``"0.4"`` for an asked 4 digits means 0.4000 +- 0.00005, not 0.4 +- 0.05); 0 when
    the value is exactly the key (``"1"`` for relu' is exactly 1: the slope of relu is an integer)."""
    if value == key:
        return 0.0
    return unit(value, max(typed_digits(text), digits_asked)) / 2


def _typed_slack(book: Book, q: Question, learner: dict[int, float], inputs: set[int], texts: dict[int, str | None],
                 keys: dict[int, float], ecf: float) -> float:
    """How much the error-carried-forward value of ``q`` is uncertain by because the learner's own earlier values
    were typed rounded (:func:`typed_uncertainty` each): the sum of each one's effect."""
    slack = 0.0
    for n in inputs:
        text = texts.get(n)
        if n >= q.number or text is None:
            continue
        half = typed_uncertainty(text, learner[n], keys[n], book.sheet.digits_asked)
        if not half:
            continue
        moved = book.evaluate(q, {**learner, n: learner[n] + half})
        if moved is not None:
            slack += abs(moved[0] - ecf)
    return slack


@dataclass
class BlankGrade:
    """The verdict on one blank: the answer as typed and as read, the key, the error-carried-forward value."""

    number: int
    symbol: str
    sample: int | None
    answer: str | None
    value: float | None
    key: float | None
    verdict: str
    diagnosis: str = ""
    slip: str | None = None
    ecf: float | None = None
    note: str = ""
    inputs: tuple[int, ...] = ()

    def read_as(self) -> str:
        """`` (read as 12.346)`` where the typed text could be read two ways (a lone comma, or a dot followed by
        exactly three digits: a decimal mark or a thousands separator?), so the reading is no mystery; else ``""``."""
        if self.answer is None or self.value is None:
            return ""
        if self.answer.count(",") == 1 or re.search(r"\.\d{3}(?!\d)", self.answer):
            return f" (read as {self.value:.15g})"
        return ""


class Book:
    """Where each symbol of a sheet gets its value: an earlier blank (the latest with that symbol) or a given."""

    def __init__(self, sheet: SheetData) -> None:
        self.sheet = sheet
        self.blanks: dict[tuple[str, int | None], list[int]] = {}
        for q in sheet.questions:
            self.blanks.setdefault((q.symbol, q.sample), []).append(q.number)
        self.givens: dict[tuple[str, int | None], Given] = {(g.symbol, g.sample): g for g in sheet.givens}
        known = [s for s, _ in [*self.blanks, *self.givens] if _CALL_SHAPED.match(s)]
        # a(z) of a layer is that layer's own activation with its settings (LeakyReLU(0.2), not a default 0.01).
        functions = {layer: activation_functions(sheet.activations.get(layer) if layer is not None else None)
                     for layer in {q.layer for q in sheet.questions}}
        self.formulas: dict[int, Formula | None] = {}
        for q in sheet.questions:
            try:
                self.formulas[q.number] = Formula(q.expression, q.layer, known, functions[q.layer])
            except FormulaError:
                self.formulas[q.number] = None

    def find(self, symbol: str, sample: int | None, before: int) -> int | Given:
        """The blank number or the given that ``symbol`` of ``sample`` means in blank ``before``: the latest earlier
        blank of that name, else the given (a parameter before its update), else a later blank."""
        keys = [(symbol, sample), (symbol, None)] + ([(symbol, 0)] if self.sheet.n_samples == 1 else [])
        for k in keys:
            earlier = [n for n in self.blanks.get(k, ()) if n < before]
            if earlier:
                return earlier[-1]
        for k in keys:
            if k in self.givens:
                return self.givens[k]
        for k in keys:  # a softmax's sum over the row names outputs asked for after it
            if self.blanks.get(k):
                return self.blanks[k][0]
        raise KeyError(symbol)

    def evaluate(self, q: Question, values: Mapping[int, float], used: set[int] | None = None, *,
                 rename: Callable[[str], str] | None = None, fix: Callable[[str], float | None] | None = None,
                 samples: Iterable[int] | None = None, round_to: int | None = None) -> tuple[float, float] | None:
        """``(value, magnitude)`` of blank ``q``'s expression with ``values`` for the earlier blanks; None if it
        cannot be worked out. ``rename``/``fix``/``round_to`` change what the symbols read (for the slips)."""
        formula = self.formulas.get(q.number)
        if formula is None:
            return None

        def lookup(symbol: str, sample: int | None) -> tuple[float, bool, float]:
            fixed = fix(symbol) if fix else None
            if fixed is not None:
                return fixed, False, 1.0
            where = self.find(rename(symbol) if rename else symbol, sample, q.number)
            weight = 1.0
            if isinstance(where, Given):
                value, exact = where.value, where.kind == "setting"
                if where.kind == "nudged_loss":  # given to NUDGED_LOSS_DIGITS: its rounding is that much smaller
                    weight = 10.0 ** min(0, self.sheet.digits_shown - NUDGED_LOSS_DIGITS)
            else:
                if used is not None:
                    used.add(where)
                value, exact = values[where], False
            return (round_sig(value, round_to) if round_to and not exact else value), exact, weight

        try:
            return formula.evaluate(lookup, q.sample, list(samples) if samples is not None
                                    else range(self.sheet.n_samples))
        except FormulaError:
            return None


def grade_sheet(sheet: SheetData, answers: Any, decimal: str | None = None) -> Grading:
    """Grade ``answers`` (dict, list, or .json/.csv path; see ``answers.py``) against ``sheet``."""
    book = Book(sheet)
    texts = read_answers(answers, [q.symbol for q in sheet.questions])
    keys = {q.number: q.value if q.value is not None else math.nan for q in sheet.questions}
    read = {n: parse_number(t, decimal) for n, t in texts.items() if t is not None}
    # The learner's values where readable, else the key's (a softmax's row also reads outputs asked after it).
    learner = {**keys, **{n: v for n, v in read.items() if v is not None}}
    d = sheet.digits_asked
    grades: dict[int, BlankGrade] = {}
    for q in sheet.questions:
        text, value, key = texts.get(q.number), read.get(q.number), keys[q.number]
        used: set[int] = set()
        check = book.evaluate(q, keys, used)
        ecf_ok = check is not None and abs(check[0] - key) <= SELF_CHECK * max(abs(key), check[1], 1e-300)
        magnitude = check[1] if check is not None and ecf_ok else abs(key)
        inputs = tuple(sorted(used))
        # An earlier input is off if it was graded wrong or carried; a later one (a softmax's row) if it is off the key.
        bad_inputs = [n for n in inputs if (grades[n].verdict in ("wrong", "carried") if n < q.number
                                            else not close(learner[n], keys[n], abs(keys[n]), d))]
        g = BlankGrade(q.number, q.symbol, q.sample, text, value, q.value, "blank", inputs=inputs)
        if not ecf_ok:
            g.note = ("no error carried forward: glassnet cannot work this expression out by itself"
                      if q.expression else "no expression: graded against the key only")
        if not math.isfinite(key):  # a file written before such blanks were left out: no answer can be right
            g.note = "the key is not a number (0/0 or overflow): no answer can be right; write the sheet again"
        grades[q.number] = g
        if text is None:
            continue
        if value is None:
            g.verdict, g.note = "unreadable", unreadable_reason(text)
            continue
        ecf_inputs: set[int] = set()
        ecf = book.evaluate(q, learner, ecf_inputs) if ecf_ok else None
        g.ecf = ecf[0] if ecf is not None else None
        slack = _typed_slack(book, q, learner, ecf_inputs, texts, keys, ecf[0]) if ecf is not None else 0.0
        if close(value, key, magnitude, d):
            g.verdict = "right"
        elif ecf is not None and close(value, ecf[0], max(ecf[1], magnitude), d, slack):
            g.verdict = "carried" if bad_inputs else "right"
            if bad_inputs:
                g.note = f"right from your own earlier values (blank{'s' if len(bad_inputs) > 1 else ''} " \
                         f"{', '.join(map(str, bad_inputs))})"
        else:
            g.verdict = "wrong"
            if bad_inputs:
                g.note = (g.note + "; " if g.note else "") + f"its inputs were already wrong (blank " \
                         f"{', '.join(map(str, bad_inputs))})"
            else:
                _diagnose(g, q, book, keys, magnitude)
    return Grading(sheet, [grades[q.number] for q in sheet.questions])


def _diagnose(g: BlankGrade, q: Question, book: Book, keys: dict[int, float], magnitude: float) -> None:
    """Try the known slips in order on a wrong blank whose inputs were right; the first that matches names it."""
    sheet, d = book.sheet, book.sheet.digits_asked
    answer, key = float(g.value or 0.0), keys[q.number]
    by_kind = {(x.symbol, x.kind): x.number for x in sheet.questions}

    def evaluate(**changes: Any) -> float | None:
        out = book.evaluate(q, keys, **changes)
        return out[0] if out is not None else None

    def key_of(symbol: str, kind: str) -> float | None:
        number = by_kind.get((symbol, kind))
        return keys[number] if number is not None else None

    def given(symbol: str) -> float | None:
        found = book.givens.get((symbol, None))
        return found.value if found is not None else None

    ctx = SlipContext(q, answer, key, sheet, evaluate, key_of, given,
                      matches=lambda v: close(answer, v, magnitude, d),
                      close_to=lambda a, b, digits: close(a, b, magnitude, digits),
                      typed=typed_digits(g.answer or ""))
    for slip in SLIPS:
        detail = slip.test(ctx)
        if detail:
            g.slip, g.diagnosis = slip.name, f"{slip.name}: {detail}; {slip.why}"
            return
    g.note = "; ".join(filter(None, [g.note, "none of the known slips gives this value"]))


class Grading:
    """The grading of one learner's worksheet.

    Attributes
    ----------
    blanks : list of BlankGrade
        One per blank, in the sheet's order.
    counts : dict
        How many blanks got each verdict of :data:`VERDICTS`.
    score, total, answered : int
        ``score`` = right + carried, out of ``total`` blanks; ``answered`` have an answer.
    first_wrong : BlankGrade or None
        The first wrong blank whose inputs were right: where the learner's trouble starts.
    """

    def __init__(self, sheet: SheetData, blanks: list[BlankGrade]) -> None:
        self.sheet, self.blanks = sheet, blanks
        self.counts = {v: sum(b.verdict == v for b in blanks) for v in VERDICTS}
        self.score = self.counts["right"] + self.counts["carried"]
        self.total = len(blanks)
        self.answered = self.total - self.counts["blank"]
        wrong_inputs = {b.number for b in blanks if b.verdict in ("wrong", "carried")}
        self.first_wrong = next((b for b in blanks if b.verdict == "wrong"
                                 and not wrong_inputs.intersection(b.inputs)), None)

    def __getitem__(self, number: int) -> BlankGrade:
        """The grade of blank ``number`` (1-based, as printed)."""
        return self.blanks[number - 1]

    def summary(self) -> str:
        c = self.counts
        return (f"score {self.score}/{self.total} (right + carried, out of every blank): {c['right']} right, "
                f"{c['carried']} carried, {c['wrong']} wrong, {c['unreadable']} unreadable, {c['blank']} blank")

    def to_text(self) -> str:
        lines = [f"Worksheet graded: {self.summary()}"]
        if self.first_wrong is not None:
            fw = self.first_wrong
            lines.append(f"first wrong value with right inputs: blank {fw.number}, {fw.symbol}"
                         + (f" ({fw.diagnosis})" if fw.diagnosis else ""))
        lines.append("")
        for b in self.blanks:
            mark = {"right": "ok ", "carried": "ecf", "wrong": "XX ", "blank": " - ", "unreadable": "?? "}[b.verdict]
            key = "" if b.key is None else f"{b.key:.{self.sheet.digits_shown}g}"
            said = "(empty)" if b.answer is None else b.answer + b.read_as()
            line = f"{mark} {b.number:>3}. {b.symbol}{self._where(b)} = {said}   [{b.verdict}; key {key}]"
            extra = [x for x in (b.diagnosis, b.note) if x]
            lines.append(line + ("".join(f"\n          {x}" for x in extra)))
        return "\n".join(lines) + "\n"

    def _where(self, b: BlankGrade) -> str:
        if b.sample is None or self.sheet.n_samples == 1:
            return ""
        rows = self.sheet.rows or list(range(self.sheet.n_samples))
        return f" (sample {rows[b.sample]})"

    def to_dict(self) -> dict[str, Any]:
        number = json_number
        return {"format": "glassnet-grading", "version": 1, "score": self.score, "total": self.total,
                "answered": self.answered, "counts": dict(self.counts),
                "score_rule": "right + carried, out of every blank of the sheet",
                "digits_asked": self.sheet.digits_asked,
                "first_wrong": self.first_wrong.number if self.first_wrong else None,
                "blanks": [{**asdict(b), "inputs": list(b.inputs), "value": number(b.value), "key": number(b.key),
                            "ecf": number(b.ecf)} for b in self.blanks]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_html(self) -> str:
        """A standalone page (no external assets): the table of verdicts in colour, with the diagnoses."""
        from glassnet.explain.grade_html import grading_html

        return grading_html(self)

    def render(self, format: str) -> str:
        renderers = {"text": self.to_text, "html": self.to_html, "json": lambda: self.to_json() + "\n"}
        if format not in renderers:
            raise unknown_name("format", format, list(renderers))
        return renderers[format]()

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        """Write the grading to ``path`` atomically, as ``format`` or what its suffix says (.html, .json, else text)."""
        from glassnet.io import atomic_write

        fmt = format or {".html": "html", ".htm": "html", ".json": "json"}.get(Path(path).suffix.lower(), "text")
        with atomic_write(path, "w", OutputFileError) as handle:
            handle.write(self.render(fmt))

    def __repr__(self) -> str:
        return f"Grading({self.summary()})"


def as_sheet(sheet: Any) -> SheetData:
    """A :class:`SheetData` from a Worksheet, a SheetData, a dict of the teacher's file or a path to one."""
    if isinstance(sheet, SheetData):
        return sheet
    if isinstance(sheet, (str, os.PathLike)):
        return load_worksheet(sheet)
    if isinstance(sheet, dict):
        return SheetData.from_dict(sheet)
    if hasattr(sheet, "sheet") and callable(sheet.sheet):
        return sheet.sheet()  # type: ignore[no-any-return]
    raise GlassnetTypeError(f"a worksheet must be a Worksheet, a worksheet file's path or its dict, got "
                            f"{type(sheet).__name__}")


def grade(sheet: Any, answers: Any, decimal: str | None = None) -> Grading:
    """Grade a learner's ``answers`` to ``sheet`` (a Worksheet, or the path of its JSON file).

    ``answers``: a dict by blank number or symbol, a list in order, or the path of a .json or .csv file (see
    ``answers.py``); ``decimal`` forces how a comma or a dot in a value is read (``","`` or ``"."``).
    """
    return grade_sheet(as_sheet(sheet), answers, decimal)
