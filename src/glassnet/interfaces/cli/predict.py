"""``glassnet predict``: run a saved model on data and print or write its predictions."""

from __future__ import annotations

import argparse
import csv

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
    p.add_argument("--out", default=None, help="write predictions to this CSV file instead of printing them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    net = load(args.model)
    data = read_data(args)
    X = model_inputs(net, data, args.model)
    outputs = net.forward(X)
    predictions = net.predict(X)
    classes = net.metadata.get("classes")
    labels = [classes[int(p)] if classes and net.is_classifier and np.ndim(p) == 0 else p for p in predictions]
    header = [*(data.feature_names or [f"x{i}" for i in range(net.n_in)]),
              *[f"output_{j}" for j in range(net.n_out)], "prediction"]
    rows = [[*map(_fmt, x), *map(_fmt, o), _fmt(p)] for x, o, p in zip(data.X, outputs, labels)]
    if args.out:
        with atomic_write(args.out, "w", OutputFileError) as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        print(f"{len(rows)} predictions written to {args.out}")
    else:
        print("  ".join(f"{h:>10}" for h in header))
        for row in rows:
            print("  ".join(f"{c:>10}" for c in row))
    return 0


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return " ".join(_fmt(v) for v in value)
    return str(value)
