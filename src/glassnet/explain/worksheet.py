"""``worksheet(net, X, y)``: one training step as a do-it-by-hand exercise, with an answer key.

The learner gets the givens (inputs, targets, every parameter, the learning rate) and one blank per
quantity of the step, in the order it is computed, each with its symbolic formula; the answer key is the
real trace of ``explain`` (the formula with the numbers and the engine's value). Markdown or LaTeX. With
BatchNorm1d the givens include its running statistics (and ``eps``, ``momentum``), with Dropout the masks (drawn
at random: given, not computed); a frozen parameter is not asked for.

Next read: ``glassnet/interfaces/cli/explain.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from glassnet.core.checks import check_bool
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer
from glassnet.explain.records import SYMBOLS_HELP, SYMBOLS_HELP_TEX, Record, fmt, sym, tex_escape, to_latex
from glassnet.explain.render import PREAMBLE, TITLES
from glassnet.explain.trace import Trace, explain

GIVEN_KINDS = ("input", "target", "mask")  # a Dropout mask is drawn at random: given, not computed
NOT_ASKED = ("frozen",)  # a frozen parameter keeps its value: nothing to compute
BLANK = "________"


class Worksheet:
    """An exercise made from a :class:`Trace`: ``to_markdown()`` and ``to_latex()``, with or without answers."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.questions = [r for r in trace.records
                          if r.kind not in GIVEN_KINDS + NOT_ASKED and r.value is not None]
        self.givens = [r for r in trace.records if r.kind in GIVEN_KINDS]

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
        return lines

    @staticmethod
    def question(r: Record) -> str:
        """``symbol op expression = ____`` (just ``symbol = ____`` when the quantity has no formula)."""
        return f"{r.symbol} {r.op} " + (f"{r.expression} = " if r.expression else "") + BLANK

    def to_markdown(self, answers: bool = True) -> str:
        answers = check_bool(answers, "answers")
        d = self.trace.digits
        out = ["# Worksheet: one training step by hand", "",
               "Compute each blank to at least 4 significant digits, in order; the answer key is at the end.", ""]
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
               tex_escape("Compute each blank to at least 4 significant digits, in order; the answer key is at the end."),
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
              neurons: Mapping[int, Sequence[int]] | None = None, digits: int = 6) -> Worksheet:
    """A by-hand exercise of one training step of ``net`` on ``(X, y)``, with the answer key from :func:`explain`.

    The network is not changed. ``optimizer``/``lr`` choose the update the learner works out (``None``:
    stop at the gradients); ``neurons`` keeps a wide network's sheet short, as in :func:`explain`.
    """
    return Worksheet(explain(net, X, y, optimizer, lr, neurons=neurons, digits=digits))
