"""``glassnet lr-find``: the learning-rate range test (``glassnet/lr_finder.py``) on the network ``train`` would build.

It takes ``train``'s data, network and optimizer options, so a command line can be turned from one into the other
by changing the command's name: find the rate, then ``glassnet train ... --lr RATE``.
"""

from __future__ import annotations

import argparse
import shlex

from glassnet.core.checks import positive_int
from glassnet.core.optimizers import OPTIMIZERS
from glassnet.datasets import Standardizer
from glassnet.errors import ConfigError, OutputFileError
from glassnet.interfaces.cli import controls
from glassnet.interfaces.cli.common import (
    HelpFormatter,
    add_architecture_arguments,
    add_data_arguments,
    data_command,
    fresh_network,
    make_optimizer,
    notes,
    one_of,
    optimizers_with,
    parse_sizes,
    read_data,
)
from glassnet.interfaces.cli.outputs import FIGURE, attempt, check_files
from glassnet.lr_finder import RULES, lr_finder

EXAMPLES = """examples:
  glassnet lr-find --data moons --layers 2,16,16,1 --activation tanh --optimizer adam --plot lr.png
  glassnet lr-find --data iris.csv --target species --layers 4,8,3 --standardize --batch-size 16 --rule steepest
      then train with the rate it suggests: glassnet train ... --lr RATE
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("lr-find", help="suggest a learning rate: a short run at growing rates (Smith 2017)",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    add_data_arguments(p)
    add_architecture_arguments(p, "layer sizes from inputs to outputs, e.g. 2,3,1")
    p.add_argument("--init", default="glorot", help="glorot, he, zeros or normal")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty (alpha/2)*sum(W**2) on the weights")
    p.add_argument("--standardize", action="store_true", help="standardise the features first (as train does)")
    p.add_argument("--optimizer", default="sgd", help=f"the optimizer to test: {one_of(OPTIMIZERS.names())}")
    p.add_argument("--momentum", type=float, default=0.0,
                   help=f"momentum (only {one_of(optimizers_with('momentum'))} have one)")
    controls.add_optimizer_controls(p)
    controls.add_layer_arguments(p)
    p.add_argument("--batch-size", type=int, default=64, help="rows per step")
    p.add_argument("--start-lr", type=float, default=1e-7, help="the first rate")
    p.add_argument("--end-lr", type=float, default=10.0, help="the last rate")
    p.add_argument("--num-steps", type=int, default=100, help="steps at most (fewer when the loss blows up)")
    p.add_argument("--rule", default="valley", choices=tuple(RULES),
                   help="what suggests the rate: valley (fastai's default, and this one's), steepest (where the smoothed "
                        "loss falls fastest) or minimum (a tenth of the rate of the lowest loss)")
    p.add_argument("--plot", default=None, help="save the loss-per-rate curve to this image file (needs matplotlib)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_files(inputs={"--data": args.data}, outputs={"--plot": (args.plot, FIGURE)})
    positive_int(args.batch_size, "--batch-size")  # before the first line printed says how many rows a step takes
    data = read_data(args)
    sizes = parse_sizes(args.layers)
    if sizes[0] != data.X.shape[1]:
        raise ConfigError(f"--layers starts with {sizes[0]} inputs but {data.name or args.data} has {data.X.shape[1]} "
                          f"feature column(s); use --layers {data.X.shape[1]},{','.join(map(str, sizes[1:]))}")
    net, chosen = fresh_network(args, sizes, data, init=args.init, l2=args.l2)
    net = controls.with_layers(net, args)
    if chosen:
        print(chosen)
    # the rate is replaced at every step: this lr only has to be valid
    optimizer = make_optimizer(args.optimizer, 1.0, args.momentum, **controls.optimizer_options(args))
    X = data.X
    if args.standardize:
        with notes():
            X = Standardizer().fit(X, data.feature_names).transform(X)
    print(f"trying up to {args.num_steps} rates from {args.start_lr:g} to {args.end_lr:g} on {net} with "
          f"{type(optimizer).__name__}, {min(args.batch_size, len(X))} rows per step", flush=True)
    result = lr_finder(net, X, data.y, start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.num_steps,
                       optimizer=optimizer, batch_size=args.batch_size, suggest_rule=args.rule)
    ended = {"completed": "every step ran", "diverged": "stopped: the loss passed 4x its best",
             "not finite": "stopped: the loss became NaN or inf"}[result.stopped]
    print(f"{len(result.lrs)} steps ({ended}); lowest smoothed loss {min(result.losses, default=float('nan')):.6g}")
    for name, lr in result.suggestions.items():
        print(f"  {name:<9} {lr:.3g}  ({RULES[name]})")
    if result.suggestion is None:
        print(result.rule)
    else:
        print(f"suggested learning rate: {result.suggestion:.3g} ({result.rule}); train with "
              f"`{_train_command(args)} --lr {result.suggestion:.3g}`")
    failed: list[str] = []
    if args.plot and len(result.lrs) < 2:
        print(f"--plot {args.plot} not drawn: {len(result.lrs)} point(s) are too few for a curve")
    elif args.plot:
        from glassnet.viz.plots import plot_lr_finder, save_figure

        draw = lambda: save_figure(plot_lr_finder(result, title=f"{net} on {data.name or args.data}"), args.plot)
        if attempt("--plot", args.plot, draw, failed):
            print(f"curve saved to {args.plot}")
    if failed:
        raise OutputFileError(f"the test ran (suggestion above), but {failed[0]}")
    return 0


def _train_command(args: argparse.Namespace) -> str:
    """``glassnet train`` with the options of this command line that it takes the same, quoted for the shell."""
    given = [("--layers", args.layers), ("--activation", args.activation if args.activation != "sigmoid" else None),
             ("--output-activation", args.output_activation), ("--loss", args.loss),
             ("--optimizer", args.optimizer if args.optimizer != "sgd" else None),
             ("--momentum", args.momentum or None), ("--weight-decay", args.weight_decay),
             ("--max-grad-norm", args.max_grad_norm), ("--dropout", args.dropout),
             ("--init", args.init if args.init != "glorot" else None), ("--l2", args.l2 or None),
             ("--seed", args.seed or None), ("--batch-size", args.batch_size)]
    words = [f"{option} {shlex.quote(str(value))}" for option, value in given if value is not None]
    words += [flag for flag, on in (("--batchnorm", args.batchnorm), ("--standardize", args.standardize)) if on]
    return " ".join([data_command(args, "train"), *words])
