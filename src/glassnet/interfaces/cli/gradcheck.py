"""``glassnet gradcheck``: compare a network's backprop with central differences, tensor by tensor."""

from __future__ import annotations

import argparse
import json

from glassnet.interfaces.cli.common import (
    HelpFormatter,
    add_data_arguments,
    add_network_arguments,
    load_network,
    model_inputs,
    read_data,
)
from glassnet.verify.gradcheck import gradcheck

EXAMPLES = """examples:
  glassnet gradcheck xor.npz --data xor
  glassnet gradcheck --layers 2,3,1 --activation relu --loss bce --data xor
  glassnet gradcheck big.npz --data train.csv --target label --sample 50

exit status: 0 when every tensor passes, 1 when one fails, 2 for errors.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("gradcheck", help="check a network's gradients against central differences",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_network_arguments(p)
    add_data_arguments(p)
    p.add_argument("--eps", type=float, default=1e-5, help="finite-difference step")
    p.add_argument("--sample", type=int, default=None, help="check this many random entries per tensor")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    net = load_network(args)
    data = read_data(args)
    X = model_inputs(net, data, args.model)  # standardised as in training, if it was
    report = gradcheck(net, X, data.y, eps=args.eps, sample=args.sample)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1
