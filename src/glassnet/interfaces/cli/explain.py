"""``glassnet explain`` (every number of one training step) and ``glassnet draw`` (the network as a picture)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from glassnet.core.network import Network
from glassnet.errors import ConfigError
from glassnet.interfaces.cli.common import (
    HelpFormatter,
    add_data_arguments,
    add_network_arguments,
    add_optimizer_arguments,
    load_network,
    make_optimizer,
    model_inputs,
    read_data,
)
from glassnet.interfaces.cli.outputs import FIGURE, Writer, check_files

# Trace.save and the worksheet take their format from these suffixes (none, or .txt: text, or markdown for a worksheet)
TRACE = Writer("an explanation", "step.md", (".txt", ".md", ".tex", ".json", ""))
WORKSHEET = Writer("a worksheet", "sheet.md", (".md", ".tex", ".txt", ".json", ""))
ANSWER_SHEET = Writer("an answer sheet", "answers.csv", (".csv", ".txt"))

EXAMPLES = """examples:
  glassnet explain --layers 2,3,1 --seed 0 --data xor --sample 1
  glassnet explain xor.npz --data xor --sample 0 --format md --lr 0.5 --out step.md
  glassnet explain xor.npz --data xor --sample all --format json --out step.json
  glassnet explain --layers 2,2,2 --data xor --optimizer adam --lr 0.01 --format tex --out step.tex
  glassnet explain wide.npz --data wide.csv --neurons "1:0,2;2:0"
  glassnet explain --layers 2,2,1 --data xor --worksheet --format tex --out sheet.tex
  glassnet explain --layers 2,2,1 --data xor --worksheet --format json --out sheet.json --answer-sheet answers.csv
                    # the teacher's file for glassnet grade, and the learner's empty answer sheet
  glassnet explain --layers 2,3,1 --data xor --sample all --predict "0.W[0,1]" --nudge 0.1,0.01,1e-8

Symbols: z^(l)_j, a^(l)_j, w^(l)_{i,j}, b^(l)_j, delta^(l)_j with layer l and neurons counted from 1
(inputs are layer 0); --sample and --neurons use 0-based row and neuron numbers.
"""

DRAW_EXAMPLES = """examples:
  glassnet draw xor.npz -o net.png
  glassnet draw --layers 2,3,1 --seed 0 -o net.svg
  glassnet draw xor.npz --data xor --sample 2 -o step.png     # annotated with that sample's numbers
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("explain", help="show every number of one training step, neuron by neuron",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_network_arguments(p)
    add_data_arguments(p, required=False)
    p.add_argument("--sample", default="0", help="0-based row of the data to explain, or 'all' for the whole batch")
    add_eval_argument(p)
    p.add_argument("--format", default=None, choices=["text", "md", "tex", "json"],
                   help="output format (default: from the --out suffix, else text)")
    add_optimizer_arguments(p, lr="learning rate of the update shown", none="to stop at the gradients",
                            momentum="momentum; the first step shows its buffer")
    p.add_argument("--neurons", default=None,
                   help="compact mode: full detail only for these neurons, e.g. '1:0,2;2:0' = neurons 0 and 2 of layer 1 "
                        "and neuron 0 of layer 2 (layers as in the symbols, 1 = first Dense layer; neurons 0-based)")
    p.add_argument("--digits", type=int, default=6, help="significant digits of the numbers")
    p.add_argument("--worksheet", action="store_true",
                   help="write a do-it-by-hand exercise with blanks and an answer key instead (md or tex; json: the "
                        "teacher's file that glassnet grade reads)")
    p.add_argument("--answer-sheet", default=None, metavar="FILE",
                   help="with --worksheet: also write the learner's answer sheet (CSV: number,symbol,sample,answer)")
    p.add_argument("--out", default=None, help="write to this file (.txt, .md, .tex, .json) instead of the screen")
    p.add_argument("--predict", action="append", default=None, metavar="WEIGHT",
                   help="predict, then check: the change of the loss the gradient of this weight predicts for each "
                        "--nudge beside the actual change, the gap and why it shrinks like d^2; '0.W[0,1]' (0-based) "
                        "or the symbol 'w^(1)_{1,2}' (1-based); repeat for more weights")
    p.add_argument("--nudge", default=None, metavar="D",
                   help="the nudges d for --predict, comma-separated (default 0.1,0.01,0.001)")
    p.set_defaults(func=run)

    d = subparsers.add_parser("draw", help="draw the network (neurons, biases, weights) as PNG, SVG or PDF",
                              epilog=DRAW_EXAMPLES, formatter_class=HelpFormatter)
    add_network_arguments(d)
    add_data_arguments(d, required=False)
    d.add_argument("--sample", type=int, default=None, help="annotate with this row's activations and gradients "
                                                             "(needs --data)")
    add_eval_argument(d)
    d.add_argument("-o", "--out", required=True, help="image file: .png, .svg or .pdf")
    d.set_defaults(func=run_draw)


def add_eval_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval", action="store_true",
                   help="the step in evaluation mode: BatchNorm normalises by its running statistics and Dropout drops "
                        "nothing (default: training mode, as glassnet train runs it)")


def pick_rows(args: argparse.Namespace, n_rows: int) -> list[int]:
    text = str(args.sample).strip().lower()
    if text == "all":
        return list(range(n_rows))
    try:
        row = int(text)
    except ValueError:
        raise ConfigError(f"--sample must be a row number or 'all', got {args.sample!r}") from None
    if not 0 <= row < n_rows:
        raise ConfigError(f"--sample {row} is out of range: the data has rows 0..{n_rows - 1}")
    return [row]


def parse_neurons(text: str | None) -> dict[int, list[int]] | None:
    """``"1:0,2;2:0"`` -> ``{1: [0, 2], 2: [0]}``."""
    if not text:
        return None
    chosen: dict[int, list[int]] = {}
    try:
        for part in text.split(";"):
            layer, _, units = part.partition(":")
            chosen[int(layer)] = [int(u) for u in units.split(",") if u.strip()]
    except ValueError:
        raise ConfigError(f"--neurons must look like '1:0,2;2:0' (layer:neuron,neuron;...), got {text!r}") from None
    return chosen


def make_trace(args: argparse.Namespace, net: Network, optimizer: Any = None, neurons: Any = None,
               digits: int = 6) -> Any:
    from glassnet.explain import explain
    from glassnet.explain.predict import DEFAULT_NUDGES, SHEET_H, H

    data = read_data(args)
    X = model_inputs(net, data, args.model)  # standardised as in training, if it was
    rows = pick_rows(args, X.shape[0])
    training = not args.eval
    needs = max(net.layers, key=lambda layer: layer.min_training_rows)
    if training and len(rows) < needs.min_training_rows:  # BatchNorm: one row has no batch statistics
        raise ConfigError(f"--sample {args.sample} is {len(rows)} row, but {needs} needs at least "
                          f"{needs.min_training_rows} rows in training mode (one row has no batch variance); use "
                          "--sample all to explain the step on the whole batch, or --eval to explain this row in "
                          "evaluation mode (the running statistics)")
    predict, nudges = getattr(args, "predict", None), parse_nudges(getattr(args, "nudge", None))
    if nudges is not None and not predict:
        raise ConfigError("--nudge sets the nudges of --predict; add --predict WEIGHT, e.g. --predict '0.W[0,1]'")
    return explain(net, X[rows], data.y[rows], optimizer, neurons=neurons, digits=digits, rows=rows, training=training,
                   predict=predict, nudges=DEFAULT_NUDGES if nudges is None else nudges,
                   h=SHEET_H if getattr(args, "worksheet", False) else H)  # as worksheet() makes a sheet's L''


def parse_nudges(text: str | None) -> list[float] | None:
    """``"0.1,0.01"`` -> ``[0.1, 0.01]`` (explain checks that they are finite and not 0)."""
    if text is None:
        return None
    try:
        return [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--nudge must be numbers separated by commas, e.g. 0.1,0.01,1e-8; got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    writer = WORKSHEET if args.worksheet else TRACE
    if args.format:  # the format given, any file name will do
        writer = dataclasses.replace(writer, suffixes=None)
    check_files(inputs={"the model": args.model, "--data": args.data},
                outputs={"--out": (args.out, writer), "--answer-sheet": (args.answer_sheet, ANSWER_SHEET)})
    if args.answer_sheet and not args.worksheet:
        raise ConfigError("--answer-sheet goes with --worksheet: the answer sheet lists a worksheet's blanks")
    net = load_network(args)
    if args.data is None:
        raise ConfigError("glassnet explain needs data to run the step on, e.g. --data xor or --data file.csv")
    optimizer = None if str(args.optimizer).lower() == "none" else make_optimizer(args.optimizer, args.lr, args.momentum)
    trace = make_trace(args, net, optimizer, parse_neurons(args.neurons), args.digits)
    if args.worksheet:
        return write_worksheet(args, trace)
    if args.out:
        trace.save(args.out, args.format)
        print(f"wrote the explanation of one step ({len(trace)} records) to {args.out}")
    elif (args.format or "text") == "text" and sys.stdout.isatty():
        trace.print()  # rich tables on a terminal; plain text when piped
    else:
        sys.stdout.write(trace.render(args.format or "text"))
    return 0


def write_worksheet(args: argparse.Namespace, trace: Any) -> int:
    from glassnet.explain.worksheet import Worksheet

    suffix = str(args.out or "").lower()
    fmt = args.format or ("tex" if suffix.endswith(".tex") else "json" if suffix.endswith(".json") else "md")
    if fmt not in ("md", "tex", "json"):
        raise ConfigError(f"a worksheet is written as md, tex or json (the teacher's file for glassnet grade), not "
                          f"{fmt}; use --format md, tex or json")
    sheet = Worksheet(trace)
    text = {"tex": sheet.to_latex, "json": lambda: sheet.to_json() + "\n"}.get(fmt, sheet.to_markdown)()
    if args.answer_sheet:
        sheet.sheet().save_answer_template(args.answer_sheet)
        print(f"wrote the answer sheet of {len(sheet.questions)} blanks to {args.answer_sheet}",
              file=sys.stdout if args.out else sys.stderr)  # the sheet itself may be going to stdout
    if args.out:
        from glassnet.errors import OutputFileError
        from glassnet.io import atomic_write

        with atomic_write(args.out, "w", OutputFileError) as handle:
            handle.write(text)
        what = "the teacher's worksheet file (for glassnet grade)" if fmt == "json" else "a worksheet"
        print(f"wrote {what} of {len(sheet.questions)} blanks, with the answer key, to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def run_draw(args: argparse.Namespace) -> int:
    from glassnet.explain.diagram import plot_network

    check_files(inputs={"the model": args.model, "--data": args.data}, outputs={"-o": (args.out, FIGURE)})
    net = load_network(args)
    trace = None
    if args.sample is not None or args.data is not None:
        if args.data is None:
            raise ConfigError("--sample needs --data to annotate the drawing, e.g. --data xor --sample 0")
        args.sample = 0 if args.sample is None else args.sample
        trace = make_trace(args, net)
    plot_network(net, trace, path=args.out)
    print(f"drew {net} to {args.out}")
    return 0
