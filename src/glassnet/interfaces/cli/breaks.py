"""``glassnet breaks``: train as ``glassnet train`` would and say, for each health warning, the step it broke at.

With ``--checkpoint FILE`` it trains nothing new from scratch: it replays the run on from the checkpoint's state
(``fit(checkpoint=...)``, ``glassnet train --checkpoint``) to ``--epochs`` and names the first step at which a
condition holds. The work is :func:`glassnet.breaks.find_break`'s; this file reads the options and prints.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from typing import Any

from glassnet.breaks import Break, find_break
from glassnet.core.training import DEFAULT_EPOCHS
from glassnet.errors import ConfigError, OutputFileError, TrainingDiverged
from glassnet.interfaces.cli.common import (
    HelpFormatter,
    add_architecture_arguments,
    add_data_arguments,
    add_optimizer_arguments,
    fresh_network,
    make_optimizer,
    parse_sizes,
    read_data,
)
from glassnet.interfaces.cli.outputs import REPORT, Writer, check_files
from glassnet.interfaces.cli.train import training_rows
from glassnet.io import atomic_write
from glassnet.keyframes import recording_for
from glassnet.replay import CHECKS
from glassnet.verify.health import HealthWarning

ANSWER = Writer("an answer", "break.txt", (".txt", ".json", ""))

EXAMPLES = """examples:
  glassnet breaks --data moons --n 120 --layers 2,8,1 --activation relu --loss mse --lr 0.6 --batch-size 12 \\
                  --epochs 40 --seed 3
      (trains, and for each health warning: "Unit 5 of layer 0 (...) died at step 23 (epoch 3, batch 3): ...",
       then the ledger of that step for those units)
  glassnet breaks ... --condition dead_relu --no-ledger --format json --out break.json
  glassnet breaks --checkpoint run.ckpt --data moons --n 120 --epochs 40
      (replays the checkpointed run on from its epoch to epoch 40, step by step)
  glassnet breaks ... --report run.html    (the training report, the step marked on its loss curve)
"""


# Options that build the network and its optimizer: a checkpoint has both, so with --checkpoint they would be
# ignored, and are refused instead (filled in by register: each option's default).
BUILDING = ("layers", "activation", "output_activation", "loss", "optimizer", "lr", "momentum", "batch_size", "init",
            "l2", "dtype")
_DEFAULTS: dict[str, Any] = {}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("breaks", help="when did training break? the step each health warning's condition began",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_data_arguments(p)
    add_architecture_arguments(p, "layer sizes from inputs to outputs, e.g. 2,8,1 (not with --checkpoint)", required=False)
    add_optimizer_arguments(p, lr="learning rate", momentum="momentum")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="passes over the data (as glassnet train)")
    p.add_argument("--batch-size", type=int, default=None, help="rows per step (default: all rows)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and --val-split")
    p.add_argument("--init", default="glorot", help="glorot, he, zeros or normal")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty (alpha/2)*sum(W**2) on the weights")
    p.add_argument("--dtype", default="float64", help="float64 or float32")
    p.add_argument("--val-split", type=float, default=None,
                   help="hold out this fraction of the rows as validation data (as glassnet train; also with --checkpoint)")
    p.add_argument("--standardize", action="store_true",
                   help="standardise the features as glassnet train does (also with --checkpoint)")
    # dest is not "checkpoint": this file is read, not written (the CLI's output checks look for that name)
    p.add_argument("--checkpoint", dest="replay_from", default=None,
                   help="replay on from this checkpoint file instead of training anew")
    p.add_argument("--condition", default=None, choices=CHECKS, help="only this condition (default: every warning)")
    p.add_argument("--no-ledger", action="store_true", help="the sentence and numbers only, not the step's ledger")
    p.add_argument("--format", default="text", choices=("text", "json"), help="how to print the answer")
    p.add_argument("--out", default=None, help="write the answer to this file instead of printing it")
    p.add_argument("--report", default=None, metavar="FILE.html", help="also write the training report, each step marked")
    p.set_defaults(func=run)
    _DEFAULTS.update({name: p.get_default(name) for name in BUILDING})


def run(args: argparse.Namespace) -> int:
    check_files(inputs={"--data": args.data, "--checkpoint": args.replay_from},
                outputs={"--out": (args.out, ANSWER), "--report": (args.report, REPORT)})
    if args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
    # with --format json on standard output, standard output is the JSON: everything else goes to standard error
    say = functools.partial(print, file=sys.stderr if args.format == "json" and not args.out else sys.stdout)
    data = read_data(args)
    if args.replay_from:
        ignored = [f"--{name.replace('_', '-')}" for name in BUILDING if getattr(args, name) != _DEFAULTS.get(name)]
        if ignored:
            raise ConfigError(f"{', '.join(ignored)} would be ignored with --checkpoint (the checkpoint holds the network, "
                              "its optimizer and the batch size); drop them")
        from glassnet.io import load

        net = load(args.replay_from)
        X, y, validation = training_rows(args, data, net)
        found = [find_break(net, X, y, args.condition, checkpoint=args.replay_from, epochs=args.epochs,
                            validation_data=validation)]
        return _show(args, found, say)
    if not args.layers:
        raise ConfigError("glassnet breaks needs --layers (the network to train) or --checkpoint FILE (a run to replay)")
    net, chosen = fresh_network(args, parse_sizes(args.layers), data, init=args.init, l2=args.l2, dtype=args.dtype)
    if chosen:
        say(chosen)
    optimizer = make_optimizer(args.optimizer, args.lr, args.momentum)
    X, y, validation = training_rows(args, data, net)
    recorders: list[Any] = []
    if args.report:
        from glassnet.viz.snapshots import SnapshotRecorder

        recorders.append(SnapshotRecorder())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HealthWarning)
        try:
            net.fit(X, y, epochs=args.epochs, optimizer=optimizer, batch_size=args.batch_size,
                    validation_data=validation, callbacks=recorders)
        except TrainingDiverged as exc:
            say(f"training stopped: {exc}")
    said = [w.message for w in caught if isinstance(w.message, HealthWarning)]
    for warning in said:
        say(f"health warning ({warning.check}): {warning}")
    record = recording_for(net)
    checks = [f.check for f in record.fired if f.check in CHECKS] if record is not None else []
    checks = [c for c in dict.fromkeys(checks) if args.condition in (None, c)]
    if not checks:
        say("nothing broke that glassnet can replay: no " + (f"{args.condition} " if args.condition else "")
            + f"warning of {', '.join(CHECKS)} fired")
        return 0
    found = [find_break(net, X, y, check) for check in checks]
    if args.report:
        from glassnet.viz.report import write_report

        write_report(args.report, net, X, y, run=recorders[0].run, data_name=data.name or args.data,
                     breaks=found, warnings=[{"check": w.check, "message": str(w)} for w in said])
        say(f"report written to {args.report}, each step marked on the loss curve")
    return _show(args, found, say)


def _show(args: argparse.Namespace, found: list[Break], say: Any) -> int:
    if args.format == "json":
        text = json.dumps([{**b.to_dict(), **({"ledger": None} if args.no_ledger else {})} for b in found], indent=2,
                          allow_nan=False)
    else:
        text = "\n\n".join(b.to_text(ledger=not args.no_ledger) for b in found)
    if args.out:
        with atomic_write(args.out, "w", OutputFileError) as handle:
            handle.write(text + "\n")
        say(f"{len(found)} break(s) written to {args.out}")
    else:
        print(text)
    return 0
