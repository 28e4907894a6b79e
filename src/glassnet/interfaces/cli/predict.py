"""``glassnet predict``: run a saved model on data and print or write its predictions.

Each row shows the inputs, the raw outputs and the prediction; for a classifier (one class per row) the
prediction is the class name and the next column its probability (``Network.predict_proba``). Written as CSV
(``--out``), every text cell is safe to open in a spreadsheet (:func:`spreadsheet_safe`).
"""

from __future__ import annotations

import argparse
import csv
import re

import numpy as np

from glassnet.errors import OutputFileError
from glassnet.interfaces.cli.common import HelpFormatter, add_data_arguments, model_inputs, read_data
from glassnet.io import atomic_write, load

EXAMPLES = """examples:
  glassnet predict xor.npz --data xor
  glassnet predict iris.npz --data iris.csv --target species --out predictions.csv
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("predict", help="predict with a saved model", epilog=EXAMPLES,
                              formatter_class=HelpFormatter)
    p.add_argument("model", help="model file written by `glassnet train --out` or Network.save")
    add_data_arguments(p)
    p.add_argument("--out", default=None,
                   help="write predictions to this CSV file instead of printing them (columns: the inputs, output_0.., "
                        "prediction and, for a classifier, probability)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet.interfaces.cli.outputs import PREDICTIONS, check_files

    check_files(inputs={"the model": args.model, "--data": args.data}, outputs={"--out": (args.out, PREDICTIONS)})
    net = load(args.model)
    data = read_data(args)
    X = model_inputs(net, data, args.model)
    with net.evaluating():  # as predict does: Dropout passes everything on, BatchNorm uses its running statistics
        outputs = net.forward(X)
    predictions = net.predict(X)
    header = [*(data.feature_names or [f"x{i}" for i in range(net.n_in)]),
              *[f"output_{j}" for j in range(net.n_out)], "prediction"]
    labels: list[object] = list(predictions)
    if net.is_classifier and predictions.ndim == 1:  # one class per row: its name and how sure the network is
        classes = net.metadata.get("classes")  # checked against the network by load (io.METADATA_RULES)
        chosen = predictions.astype(np.int64)
        labels = [classes[c] for c in chosen] if classes else list(chosen)
        probability = net.predict_proba(X)[np.arange(len(chosen)), chosen]
        header.append("probability")
        rows = [[*x, *o, label, p] for x, o, label, p in zip(data.X, outputs, labels, probability)]
    else:
        rows = [[*x, *o, label] for x, o, label in zip(data.X, outputs, labels)]
    if args.out:
        with atomic_write(args.out, "w", OutputFileError) as handle:
            writer = csv.writer(handle)
            writer.writerow([spreadsheet_safe(h) for h in header])
            writer.writerows([[_csv_cell(c) for c in row] for row in rows])
        print(f"{len(rows)} predictions written to {args.out}")
    else:
        print("  ".join(f"{h:>10}" for h in header))
        for row in rows:
            print("  ".join(f"{_fmt(c):>10}" for c in row))
    return 0


# A text cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows rather than runs: a cell starting with ``= + - @``, a tab or a
    carriage return gets a leading single quote, as OWASP recommends, unless it is a plain number (``-0.5``)."""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_cell(value: object) -> str:
    # Numbers are written as numbers (a negative one stays -0.5); only text (class and feature names) can be a formula.
    return spreadsheet_safe(value) if isinstance(value, str) else _fmt(value)


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return " ".join(_fmt(v) for v in value)
    return str(value)
