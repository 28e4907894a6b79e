"""``glassnet report``: write the self-contained HTML training report of a saved model or recorded run.

A *run* is a model file saved by ``glassnet train ... --report r.html --out run.npz``: the final network
plus the parameter snapshots and curves of its training (see :mod:`glassnet.viz.snapshots`). A plain
model file gives a report of one snapshot, the final network, and the page says so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from glassnet.interfaces.cli.common import HelpFormatter, add_data_arguments, model_inputs, read_data
from glassnet.interfaces.cli.outputs import REPORT, attempt, check_files

EXAMPLES = """examples:
  glassnet train --data xor --layers 2,3,1 --lr 0.5 --epochs 3000 --out run.npz --report report.html
  glassnet report run.npz --data xor -o report.html
  glassnet report model.npz --data iris.csv --target species -o iris-report.html
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("report", help="write an HTML report of a model or recorded run", epilog=EXAMPLES,
                              formatter_class=HelpFormatter)
    p.add_argument("model", metavar="MODEL_OR_RUN", help="model file, or run file from `glassnet train --report --out`")
    add_data_arguments(p)
    p.add_argument("-o", "--out", default="report.html", help="the HTML file to write")
    add_report_options(p)
    p.add_argument("--predict", default=None, metavar="WEIGHT",
                   help="the weight the 'Predict, then check' panel shows first: '0.W[0,1]' (key, 0-based) or "
                        "'w^(1)_{1,2}' (default: the largest |gradient| on these rows)")
    p.set_defaults(func=run)


def add_report_options(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Options shared with ``glassnet train --report``."""
    p.add_argument("--resolution", type=int, default=32, help="grid points per side of the boundary and neuron maps")
    p.add_argument("--ledger-samples", type=int, default=4, help="samples the page offers a step ledger for")
    p.add_argument("--ledger-snapshots", type=int, default=6, help="snapshots with a step ledger (first and last included)")


def report_options(args: argparse.Namespace) -> dict[str, int]:
    return {"resolution": args.resolution, "ledger_samples": args.ledger_samples, "ledger_snapshots": args.ledger_snapshots}


def run(args: argparse.Namespace) -> int:
    from glassnet.viz.report import write_report
    from glassnet.viz.snapshots import load_run

    check_files(inputs={"the model": args.model, "--data": args.data}, outputs={"-o": (args.out, REPORT)})
    net, recorded = load_run(args.model)
    data = read_data(args)
    X = model_inputs(net, data, args.model)  # standardised as in training when the model says so
    size = write_report(args.out, net, X, data.y, run=recorded, data_name=data.name or args.data,
                        predict=args.predict, **report_options(args))
    what = f"{len(recorded.snapshots)} snapshots" if recorded else "one snapshot (a plain model: no recorded run)"
    print(f"report of {net} with {what} written to {args.out} ({size / 1e6:.2f} MB)")
    return 0


# ----------------------------------------------------------------- glassnet train --report
def add_train_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("HTML training report (the options after --report apply with it)")
    group.add_argument("--report", default=None, metavar="FILE.html",
                       help="also write the HTML training report (with --out, the model file keeps the recorded run)")
    group.add_argument("--snapshots", type=int, default=200, help="most parameter snapshots to record")
    add_report_options(group)


@contextmanager
def recording(args: argparse.Namespace) -> Iterator[list[Any]]:
    """Around ``fit``: yields the callbacks to add (none without ``--report``) and collects the warnings."""
    if not args.report:
        yield []
        return
    from glassnet.viz.report import check_options
    from glassnet.viz.snapshots import SnapshotRecorder

    check_options(**report_options(args))  # say so before training, not after (the file: outputs.check_files)
    recorder = SnapshotRecorder(args.snapshots)
    with recorder.catching_warnings():
        yield [recorder]


def model_saver(net: Any, recorders: list[Any]) -> Callable[[str], None]:
    """How ``glassnet train`` saves the trained model: ``save(path)`` writes ``net``, with the recorded run inside
    when ``--report`` recorded one (so ``glassnet report`` can read it back)."""
    if not recorders:
        return net.save
    from glassnet.viz.snapshots import save_run

    return lambda path: save_run(net, recorders[0].run, path)


def write_training_report(args: argparse.Namespace, net: Any, X: Any, y: Any, data_name: str, recorders: list[Any],
                          failed: list[str]) -> None:
    """After ``glassnet train`` saved the model: write the ``--report`` page; a failure is added to ``failed``
    (:func:`~glassnet.interfaces.cli.outputs.attempt`), not raised, so that the other outputs are still written.

    ``X, y`` are the rows the network was trained on (the training split, standardised if it was).
    """
    if not recorders:
        return
    from glassnet.breaks import fired_breaks
    from glassnet.viz.report import write_report

    size = 0

    def write() -> None:
        nonlocal size
        # each health warning that fired, marked at the step it broke (a replay each; a refused one is named)
        breaks, refused = fired_breaks(net, X, y)
        for reason in refused:
            print(f"report: no step marked for {reason}")
        size = write_report(args.report, net, X, y, run=recorders[0].run, data_name=data_name, breaks=breaks,
                            **report_options(args))

    if attempt("--report", args.report, write, failed):
        print(f"report written to {args.report} ({size / 1e6:.2f} MB)")
