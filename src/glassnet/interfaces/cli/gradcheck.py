"""``glassnet gradcheck``: compare a network's backprop with central differences, tensor by tensor."""

from __future__ import annotations

import argparse
import json

from glassnet.core.network import Network
from glassnet.errors import ConfigError, ShapeError
from glassnet.interfaces.cli.common import HelpFormatter, add_data_arguments, parse_sizes, read_data
from glassnet.io import load
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
    p.add_argument("model", nargs="?", help="a saved model (.npz); or describe a fresh network with --layers")
    add_data_arguments(p)
    p.add_argument("--layers", default=None, help="layer sizes for a fresh network, e.g. 2,3,1")
    p.add_argument("--activation", default="sigmoid", help="hidden-layer activation (with --layers)")
    p.add_argument("--output-activation", default=None, help="output activation (with --layers)")
    p.add_argument("--loss", default="mse", help="mse, bce or cross_entropy (with --layers)")
    p.add_argument("--seed", type=int, default=0, help="seed for the fresh network's weights")
    p.add_argument("--eps", type=float, default=1e-5, help="finite-difference step")
    p.add_argument("--sample", type=int, default=None, help="check this many random entries per tensor")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    data = read_data(args)
    if args.model and args.layers:
        raise ConfigError("give either a saved MODEL or --layers for a fresh network, not both")
    if args.model:
        net = load(args.model)
    elif args.layers:
        net = Network.from_sizes(parse_sizes(args.layers), activation=args.activation,
                                 output_activation=args.output_activation, loss=args.loss, seed=args.seed)
    else:
        raise ConfigError("give a saved MODEL (glassnet gradcheck xor.npz --data xor) or --layers 2,3,1")
    if data.X.shape[1] != net.n_in:
        raise ShapeError(f"the network expects {net.n_in} feature column(s); {args.data} has {data.X.shape[1]}")
    report = gradcheck(net, data.X, data.y, eps=args.eps, sample=args.sample)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1
