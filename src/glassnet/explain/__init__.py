"""Explain one training step, neuron by neuron: every number with its formula, as text, Markdown, LaTeX,
JSON, a diagram and a worksheet.

Reading order: ``records.py`` (the record type and the symbol convention), ``hooks.py`` (recording the
engine's own numbers), ``trace.py`` (``explain`` and ``Trace``), ``ledger.py`` (formulas from the
recorded numbers; ``ledger_layers.py`` for BatchNorm1d and Dropout), ``render.py`` (text, Markdown,
LaTeX), ``schema.py`` (JSON), ``diagram.py`` (``plot_network``), ``worksheet.py``; predict, then check (the change
a gradient predicts beside the actual one): ``weight_names.py``, ``predict.py``, ``predict_records.py``;
grading a learner's worksheet: ``sheetfile.py`` (the teacher's file), ``formula.py``, ``answers.py``, ``slips.py``, ``grade.py``.
"""

from typing import Any

from glassnet.explain.grade import Grading, grade
from glassnet.explain.predict import Prediction, predict_then_check
from glassnet.explain.records import SYMBOLS_HELP, Record
from glassnet.explain.sheetfile import SheetData, load_worksheet
from glassnet.explain.trace import Trace, explain
from glassnet.explain.worksheet import Worksheet, worksheet


def plot_network(net: Any, trace: Trace | None = None, sample: int = 0, **options: Any) -> Any:
    """Draw ``net`` with matplotlib; see :func:`glassnet.explain.diagram.plot_network` (imports matplotlib lazily)."""
    from glassnet.explain.diagram import plot_network as plot

    return plot(net, trace, sample, **options)


__all__ = ["SYMBOLS_HELP", "Grading", "Prediction", "Record", "SheetData", "Trace", "Worksheet", "explain", "grade",
           "load_worksheet", "plot_network", "predict_then_check", "worksheet"]
