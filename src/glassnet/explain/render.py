"""Text, Markdown and LaTeX renderings of a :class:`~glassnet.explain.trace.Trace`.

All three write the same records in the same order with the same numbers: the plain formulas of
``records.py`` (text, Markdown) or their LaTeX translation (``Record.latex``). Records are grouped
by phase and, inside forward and backward, by sample. A renderer refuses a trace with more than
``max_records`` records (default :data:`MAX_RECORDS`) and says how to make a smaller one.

Next read: ``schema.py`` (the JSON form), ``diagram.py``, ``worksheet.py``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from glassnet.core.checks import check_bool
from glassnet.errors import ConfigError
from glassnet.explain.records import (
    LAYER_SYMBOLS_HELP,
    LAYER_SYMBOLS_KINDS,
    SYMBOLS_HELP,
    SYMBOLS_HELP_TEX,
    Record,
    tex_escape,
)
from glassnet.explain.records import to_latex as tex_math

if TYPE_CHECKING:
    from glassnet.explain.trace import Trace

MAX_RECORDS = 5000

TITLES = {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass (deltas)",
          "gradient": "Gradients", "update": "Update", "check": "Predict, then check"}


def check_size(trace: Trace, max_records: int | None) -> None:
    limit = MAX_RECORDS if max_records is None else max_records
    if len(trace.records) > limit:
        raise ConfigError(
            f"this trace has {len(trace.records):,} records, more than max_records={limit:,} to render. "
            "Explain fewer samples, show chosen neurons only with explain(..., neurons={1: [0, 1]}), "
            "use to_json() for programs, or pass max_records"
        )


def groups(trace: Trace) -> Iterator[tuple[str, list[Record]]]:
    """Consecutive records under one heading: the phase, and the sample for per-sample records (and the layer, in a
    trace written layer by layer: one with BatchNorm in training mode)."""
    current: tuple[str, int | None, int | None] | None = None
    batch: list[Record] = []
    by_layer = getattr(trace, "layer_major", False)
    for r in trace.records:
        key = (r.phase, r.sample, r.layer if by_layer and r.phase in ("forward", "backward") else None)
        if key != current and batch:
            yield heading(trace, *current), batch  # type: ignore[misc]
            batch = []
        current = key
        batch.append(r)
    if batch and current is not None:
        yield heading(trace, *current), batch


def heading(trace: Trace, phase: str, sample: int | None, layer: int | None = None) -> str:
    title = "Targets" if phase == "loss" and sample is not None else TITLES.get(phase, phase)
    if phase == "update" and trace.optimizer:
        settings = ", ".join(f"{k}={v}" for k, v in trace.optimizer.items() if k != "name")
        title += f" ({trace.optimizer['name']}: {settings})"
    if layer is not None:
        title += ", inputs" if layer == 0 else f", layer {layer} ({trace.network['layers'][layer - 1]['type']})"
        if sample is None:
            title += ", the whole batch"
    if sample is not None and trace.n_samples > 1:
        title += f", sample {trace.rows[sample]}"
    return title


def summary_lines(trace: Trace) -> list[str]:
    rows = trace.rows if trace.n_samples <= 10 else f"{trace.rows[:10]} ..."
    lines = [f"network: {trace.network['description']}",
             f"samples: {trace.n_samples} (rows {rows} of the data)",
             f"loss before the step: {trace.loss:.{trace.digits}g}"]
    if trace.optimizer:
        lines.append("optimizer: " + ", ".join(f"{k}={v}" for k, v in trace.optimizer.items())
                     + ("; the update was applied to the network" if trace.applied else "; not applied (apply=False)"))
    if not getattr(trace, "training", True):
        lines.append("mode: evaluation (Dropout drops nothing, BatchNorm1d uses its running statistics)")
    if getattr(trace, "frozen", None):
        lines.append(f"frozen (not updated): {', '.join(trace.frozen)}")
    checked = getattr(trace, "step_check", None)
    if checked is not None:
        lines.append("predict, then check: " + checked.sentence(trace.digits))
    if any(r.kind in LAYER_SYMBOLS_KINDS for r in trace.records):
        lines.append(LAYER_SYMBOLS_HELP)
    return lines


# --------------------------------------------------------------------------- text
def to_text(trace: Trace, max_records: int | None = None) -> str:
    check_size(trace, max_records)
    out = ["One training step, every number", *summary_lines(trace), *textwrap.wrap(SYMBOLS_HELP, 110)]
    for title, records in groups(trace):
        out += ["", title, "-" * len(title)]
        for r in records:
            out.append(f"  {r.formula}")
            if r.note and r.value is not None:
                out.append(f"      # {r.note}")
    return "\n".join(out) + "\n"


def print_rich(trace: Trace, console: Any = None, max_records: int | None = None) -> None:
    """Print the ledger with rich: one table per phase and sample (quantity, formula with numbers, value)."""
    from rich.console import Console
    from rich.table import Table

    check_size(trace, max_records)
    console = console or Console()
    console.print("[bold]One training step, every number[/bold]")
    for line in summary_lines(trace):
        console.print(line, highlight=False, markup=False)
    console.print(SYMBOLS_HELP, style="dim", highlight=False, markup=False)
    for title, records in groups(trace):
        table = Table(title=title, title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
        table.add_column("quantity", style="cyan", no_wrap=True)
        table.add_column("formula with the numbers", overflow="fold")
        table.add_column("value", justify="right", style="bold", no_wrap=True)
        for r in records:
            if r.value is None:
                table.add_row(escape(r.symbol), escape(r.note), "", style="dim")
                continue
            right = r.right()[:-1]
            formula = escape(f"{r.op} " + " = ".join(right)) if right else ""
            if r.note:
                formula += f"\n[dim]{escape(r.note)}[/dim]"
            table.add_row(escape(r.symbol), formula, r.shown_value)
        console.print()
        console.print(table)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# --------------------------------------------------------------------------- Markdown
def to_markdown(trace: Trace, max_records: int | None = None) -> str:
    check_size(trace, max_records)
    out = ["# One training step, every number", ""] + [f"- {line}" for line in summary_lines(trace)]
    out += ["", f"> {SYMBOLS_HELP}"]
    for title, records in groups(trace):
        out += ["", f"## {title}", "", "| quantity | formula with the numbers | value | note |", "|---|---|---|---|"]
        for r in records:
            if r.value is None:
                out.append(f"| {r.symbol} |  |  | {r.note} |")
                continue
            right = r.right()[:-1]
            formula = f"`{r.symbol} {r.op} " + " = ".join(right) + "`" if right else f"`{r.symbol}`"
            out.append(f"| `{r.symbol}` | {formula} | {r.shown_value} | {r.note} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- LaTeX
PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage{amsmath}
\setlength{\textwidth}{16cm}\setlength{\oddsidemargin}{0cm}\setlength{\evensidemargin}{0cm}
\setlength{\textheight}{23cm}\setlength{\topmargin}{-1cm}
\setlength{\parindent}{0pt}
\sloppy
\begin{document}
"""


def to_latex(trace: Trace, document: bool = False, max_records: int | None = None) -> str:
    document = check_bool(document, "document")
    check_size(trace, max_records)
    out = [r"\section*{One training step, every number}", r"\begin{itemize}"]
    out += [rf"\item {tex_escape(line)}" for line in summary_lines(trace)]
    out += [r"\end{itemize}", SYMBOLS_HELP_TEX]
    for title, records in groups(trace):
        out += ["", rf"\subsection*{{{tex_escape(title)}}}", r"\begin{itemize}"]
        for r in records:
            note = rf" \\ {{\small\textit{{{tex_escape(r.note)}}}}}" if r.note and r.value is not None else ""
            out.append(rf"\item ${r.latex}${note}")
        out.append(r"\end{itemize}")
    body = "\n".join(out) + "\n"
    return PREAMBLE + body + "\\end{document}\n" if document else body


def latex_math(plain: str) -> str:
    """A plain formula of the symbol convention as inline LaTeX math (``$...$``)."""
    return f"${tex_math(plain)}$"
