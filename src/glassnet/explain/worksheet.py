"""``worksheet(net, X, y)``: one training step as a do-it-by-hand exercise, with an answer key.

The learner gets the givens (inputs, targets, every parameter, the learning rate) and one blank per
quantity of the step, in the order it is computed, each with its symbolic formula; the answer key is the
real trace of ``explain`` (the formula with the numbers and the engine's value). Markdown or LaTeX. With
BatchNorm1d the givens include its running statistics (and ``eps``, ``momentum``), with Dropout the masks (drawn
at random: given, not computed); a frozen parameter is not asked for, nor a value that is not a finite number (a
gap ratio 0/0 of a dead unit: no answer could be right), in every form (markdown, LaTeX, JSON, answer template).

For grading: ``to_dict()``/``save()`` write the teacher's file (``sheetfile.py``), ``answer_template()`` the
learner's empty answer sheet, and ``grade(answers)`` grades one learner (``grade.py``).

Next read: ``sheetfile.py`` and ``grade.py`` (grading), ``glassnet/interfaces/cli/explain.py``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.core.checks import check_bool
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer
from glassnet.explain.grade import grade_sheet
from glassnet.explain.predict import DEFAULT_NUDGES, SHEET_H
from glassnet.explain.predict_records import nudge_tag
from glassnet.explain.records import SYMBOLS_HELP, SYMBOLS_HELP_TEX, Record, fmt, sym, tex_escape, to_latex
from glassnet.explain.render import PREAMBLE, TITLES
from glassnet.explain.sheetfile import DIGITS_ASKED, NUDGED_LOSS_DIGITS, Given, Question, SheetData
from glassnet.explain.trace import Trace, explain

if TYPE_CHECKING:
    from glassnet.explain.grade import Grading

# A Dropout mask is drawn at random: given, not computed. A nudged loss (predict, then check) is a forward pass again:
# given, so that the learner computes the predicted and the actual change and the gap, not the whole pass once more.
GIVEN_KINDS = ("input", "target", "mask", "nudged_loss")
NOT_ASKED = ("frozen",)  # a frozen parameter keeps its value: nothing to compute
NOT_ASKED_WITH_NOISE = ("actual_change", "gap", "gap_per_d2", "gap_ratio")  # of a nudge lost in rounding
BLANK = "________"


class Worksheet:
    """An exercise made from a :class:`Trace`: ``to_markdown()`` and ``to_latex()``, with or without answers."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        # Predict, then check is asked only of a sheet made with predict=... (explain's whole-step check is on by
        # default; a sheet without predict stays as it was).
        records = [r for r in trace.records if r.phase != "check" or getattr(trace, "predictions", None)]
        # A value that is not a number (a gap ratio 0/0 of a loss linear in the weight) can never be right: not asked;
        # nor the change, gap and ratios of a nudge so small that the given losses cannot show its change at all
        # (d = 1e-8: L(w+d) and L print the same 10 digits): the key has them, worked from every digit.
        noise = 10 * 0.5 * 10.0 ** (1 - NUDGED_LOSS_DIGITS)  # ten times the given losses' rounding, relative to L
        self.unanswerable = [f"({nudge_tag(p.symbol, n.d)})" for p in getattr(trace, "predictions", None) or []
                             for n in p.nudges if min(abs(n.gap), abs(n.actual)) < noise * abs(p.loss)]
        self.questions = [r for r in records if r.kind not in GIVEN_KINDS + NOT_ASKED
                          and r.value is not None and math.isfinite(r.value)
                          and not (r.kind in NOT_ASKED_WITH_NOISE and any(t in r.symbol or t in r.expression
                                                                          for t in self.unanswerable))]
        # A nudged loss is given with 10 digits at least: the learner subtracts L from it, and the change is small.
        self.givens = [dataclasses.replace(r, digits=max(r.digits, NUDGED_LOSS_DIGITS)) if r.kind == "nudged_loss" else r
                       for r in records if r.kind in GIVEN_KINDS]

    def parameter_givens(self) -> list[tuple[str, float]]:
        """``(symbol, value)`` of every parameter before the step, in the convention of the symbols."""
        out = []
        for key, array in self.trace.params_before.items():
            index, name = key.split(".", 1)
            for idx in np.ndindex(array.shape):
                out.append((sym(name.lower(), int(index) + 1, *idx), float(array[idx])))
        return out

    def buffer_givens(self) -> list[tuple[str, float]]:
        """``(symbol, value)`` of every buffer before the step (BatchNorm's running statistics: ``runmean``, ``runvar``)."""
        names = {"running_mean": "runmean", "running_var": "runvar"}
        out = []
        for key, array in getattr(self.trace, "buffers_before", {}).items():
            index, name = key.split(".", 1)
            for idx in np.ndindex(array.shape):
                out.append((sym(names.get(name, name.lower()), int(index) + 1, *idx), float(array[idx])))
        return out

    def settings(self) -> list[str]:
        t = self.trace
        lines = [f"network: {t.network['description']}"]
        if t.optimizer:
            lines.append("optimizer: " + ", ".join(f"{k}={v}" for k, v in t.optimizer.items()))
        if not getattr(t, "training", True):
            lines.append("mode: evaluation (Dropout drops nothing, BatchNorm1d uses its running statistics)")
        settings = {f"{layer['type']} of layer {layer['layer']}": layer.get("settings") for layer in t.network["layers"]
                    if layer.get("settings")}
        lines += [f"{where}: " + ", ".join(f"{k}={v}" for k, v in values.items()) for where, values in settings.items()]
        if getattr(t, "frozen", None):
            lines.append(f"frozen (not updated, nothing to compute): {', '.join(t.frozen)}")
        if self.unanswerable:
            lines.append(f"not asked: the change and gap of the nudges {', '.join(self.unanswerable)}, too small for the "
                         f"{NUDGED_LOSS_DIGITS}-digit losses given to show (rounding, not curvature); the key has them")
        return lines

    @staticmethod
    def question(r: Record) -> str:
        """``symbol op expression = ____`` (just ``symbol = ____`` when the quantity has no formula)."""
        return f"{r.symbol} {r.op} " + (f"{r.expression} = " if r.expression else "") + BLANK

    # ------------------------------------------------------------------ the teacher's file and grading
    def sheet(self) -> SheetData:
        """What grading needs, without the network: questions (number, symbol, expression, key), givens, digits."""
        t = self.trace
        where = [Given(r.symbol, float(r.value), r.sample, r.kind) for r in self.givens if r.value is not None]
        where += [Given(s, v) for s, v in self.parameter_givens()]
        where += [Given(s, v, kind="buffer") for s, v in self.buffer_givens()]
        where += [Given(s, v, kind="setting") for s, v in self.setting_givens()]
        where += [Given(s, 0.0, kind="state") for s in self.fresh_state()]
        questions = [Question(number, r.symbol, r.value, r.expression, r.op, r.kind, r.phase, r.layer, r.neuron,
                              tuple(int(i) for i in r.indices), r.sample, r.key, r.formula)
                     for number, r in enumerate(self.questions, start=1)]
        return SheetData(questions, where, DIGITS_ASKED, t.digits, t.n_samples, list(t.rows),
                         int(t.targets.shape[1]) if t.targets.ndim > 1 else 1, self.settings(),
                         activations=dict(getattr(t, "activations", {})))

    def setting_givens(self) -> list[tuple[str, float]]:
        """The exact numbers of the formulas: the optimizer's settings under their symbols (``lr``, ``beta1``,
        ``mu``, ``wd`` ...), the step number ``t`` and the L2 ``lambda``."""
        names = {"lr": "lr", "eps": "eps", "momentum": "mu", "alpha": "alpha", "weight_decay": "wd"}
        out = [(names[k], float(v)) for k, v in (self.trace.optimizer or {}).items()
               if k in names and isinstance(v, (int, float)) and not isinstance(v, bool)]
        betas = (self.trace.optimizer or {}).get("betas")
        if betas:
            out += [("beta1", float(betas[0])), ("beta2", float(betas[1]))]
        steps = {float(u.state_after["t"]) for u in self.trace.step.updates.values() if "t" in u.state_after}
        if len(steps) == 1:
            out.append(("t", steps.pop()))
        if self.trace.network.get("l2"):
            out.append(("lambda", float(self.trace.network["l2"])))
        return out

    def fresh_state(self) -> list[str]:
        """The symbols of optimizer state (``m[w^(1)_{1,1}]`` ...) that start at 0: a fresh optimizer, whose first
        step reads its buffers as 0 (state carried over from earlier steps is not given: those blanks are graded
        without error carried forward)."""
        fresh = {key for key, u in self.trace.step.updates.items() if not u.state_before}
        return list(dict.fromkeys(r.symbol for r in self.questions if r.kind == "state" and r.key in fresh))

    def to_dict(self) -> dict[str, Any]:
        """The teacher's file as JSON-able data (``glassnet-worksheet``, see ``sheetfile.py``)."""
        return self.sheet().to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return self.sheet().to_json(indent)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the teacher's file (JSON, with the key) to ``path`` atomically; read it with ``load_worksheet``."""
        sheet = self.sheet()
        sheet.save(path)  # atomic (SheetData.save)

    def answer_template(self) -> str:
        """The learner's answer sheet as CSV, ``number,symbol,sample,answer``, the answers empty."""
        return self.sheet().answer_template()

    def grade(self, answers: Any, decimal: str | None = None) -> Grading:
        """Grade a learner's ``answers`` (a dict by blank number or symbol, a list, or a .json/.csv path)."""
        return grade_sheet(self.sheet(), answers, decimal)

    def to_markdown(self, answers: bool = True) -> str:
        answers = check_bool(answers, "answers")
        d = self.trace.digits
        out = ["# Worksheet: one training step by hand", "",
               f"Compute each blank to at least {DIGITS_ASKED} significant digits, in order; the answer key is at the end.", ""]
        out += [f"- {line}" for line in self.settings()]
        out += ["", f"> {SYMBOLS_HELP}", "", "## Given", ""]
        out += [f"- `{r.formula}`" + (f" (sample {self.trace.rows[r.sample]})"
                                      if r.sample is not None and self.trace.n_samples > 1 else "") for r in self.givens]
        out += [f"- `{s} = {fmt(v, d)}`" for s, v in self.parameter_givens() + self.buffer_givens()]
        phase = None
        for number, r in enumerate(self.questions, start=1):
            if r.phase != phase:
                phase = r.phase
                out += ["", f"## {TITLES[phase]}", ""]
            where = f" (sample {self.trace.rows[r.sample]})" if r.sample is not None and self.trace.n_samples > 1 else ""
            out.append(f"{number}. `{self.question(r)}`{where}")
        if answers:
            out += ["", "## Answer key", ""]
            out += [f"{number}. `{r.formula}`" for number, r in enumerate(self.questions, start=1)]
        return "\n".join(out) + "\n"

    def to_latex(self, answers: bool = True, document: bool = True) -> str:
        answers, document = check_bool(answers, "answers"), check_bool(document, "document")
        d = self.trace.digits
        blank = r"\underline{\hspace{2.5cm}}"
        out = [r"\section*{Worksheet: one training step by hand}",
               tex_escape(f"Compute each blank to at least {DIGITS_ASKED} significant digits, in order; the answer key is at "
                          "the end."),
               r"\begin{itemize}", *[rf"\item {tex_escape(line)}" for line in self.settings()], r"\end{itemize}",
               SYMBOLS_HELP_TEX, r"\subsection*{Given}", r"\begin{itemize}"]
        out += [rf"\item ${r.latex}$" for r in self.givens]
        out += [rf"\item ${to_latex(s)} = {to_latex(fmt(v, d))}$" for s, v in self.parameter_givens() + self.buffer_givens()]
        out += [r"\end{itemize}", r"\begin{enumerate}"]
        phase = None
        for r in self.questions:
            if r.phase != phase:
                phase = r.phase
                out.append(rf"\item[] \textbf{{{tex_escape(TITLES[phase])}}}")
            rhs = f"{to_latex(r.expression)} = " if r.expression else ""
            out.append(rf"\item ${to_latex(r.symbol)} {to_latex(r.op)} {rhs}$ {blank}")
        out.append(r"\end{enumerate}")
        if answers:
            out += [r"\newpage", r"\subsection*{Answer key}", r"\begin{enumerate}"]
            out += [rf"\item ${r.latex}$" for r in self.questions]
            out.append(r"\end{enumerate}")
        body = "\n".join(out) + "\n"
        return PREAMBLE + body + "\\end{document}\n" if document else body


def worksheet(net: Network, X: Any, y: Any, optimizer: Optimizer | str | None = "sgd", lr: float = 0.5, *,
              neurons: Mapping[int, Sequence[int]] | None = None, digits: int = 6, predict: Any = None,
              nudges: Any = DEFAULT_NUDGES) -> Worksheet:
    """A by-hand exercise of one training step of ``net`` on ``(X, y)``, with the answer key from :func:`explain`.

    The network is not changed. ``optimizer``/``lr`` choose the update the learner works out (``None``:
    stop at the gradients); ``neurons`` keeps a wide network's sheet short, as in :func:`explain`. With
    ``predict="0.W[0,1]"`` (or a list) the sheet ends with predict, then check for that weight and ``nudges``: the
    loss with the weight nudged is given, and the learner works out the predicted change ``dL/dw * d``, the actual
    change, the gap and ``gap/d^2``, ``L''`` and the ratios of the gaps, then the same for the whole step.
    """
    # h = 1e-2 for L'': with 1e-4 the 10-digit given losses would lose its digits in L(w+h) - 2*L + L(w-h)
    return Worksheet(explain(net, X, y, optimizer, lr, neurons=neurons, digits=digits, predict=predict, nudges=nudges,
                             h=SHEET_H))
