"""``glassnet plot``: draw a trained model's training curves, per-layer gradient statistics (``--kind layers``),
decision boundary, per-neuron maps or confusion matrix."""

from __future__ import annotations

import argparse

from glassnet.errors import ConfigError
from glassnet.interfaces.cli.common import HelpFormatter, add_data_arguments, model_inputs, read_data
from glassnet.interfaces.cli.outputs import FIGURE, check_files
from glassnet.io import load

EXAMPLES = """examples:
  glassnet train --data moons --layers 2,8,1 --activation tanh --loss bce --optimizer adam --lr 0.05 \\
                 --epochs 300 --val-split 0.2 --out moons.npz
  glassnet plot moons.npz --kind loss -o curves.png
  glassnet plot moons.npz --kind layers -o layers.png     # each layer's gradient norm and update ratio
  glassnet plot moons.npz --data moons --kind boundary -o boundary.png
  glassnet plot moons.npz --data moons --kind neurons -o neurons.png
  glassnet plot moons.npz --data moons --kind confusion -o confusion.png
"""

KINDS = ("loss", "layers", "boundary", "neurons", "confusion")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("plot", help="draw training curves, per-layer gradient norms and update ratios, decision "
                              "boundary, neuron maps or a confusion matrix",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("model", help="model file written by `glassnet train --out` or Network.save")
    add_data_arguments(p, required=False)
    p.add_argument("--kind", required=True, choices=KINDS, help="what to draw")
    p.add_argument("-o", "--out", required=True, help="image file: .png, .svg or .pdf")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_files(inputs={"the model": args.model, "--data": args.data}, outputs={"-o": (args.out, FIGURE)})
    from glassnet.viz import plots

    net = load(args.model)
    if args.kind in ("loss", "layers"):
        history = net.metadata.get("history")
        if not history:
            raise ConfigError(f"{args.model} holds no training history; models trained with `glassnet train` keep "
                              "one (or save net.metadata['history'] = history.to_dict() yourself)")
        if args.kind == "layers" and not history.get("layers"):
            raise ConfigError(f"{args.model}'s history holds no per-layer gradient norms and update ratios: it was "
                              "trained with fit(monitor=False), or by a glassnet that did not record them yet; train it "
                              "again (glassnet train records them) to draw them")
        fig = (plots.plot_history(history, title=f"Training of {args.model}") if args.kind == "loss"
               else plots.plot_layer_stats(history))
    else:
        if not args.data:
            raise ConfigError(f"--kind {args.kind} needs --data (the samples to draw or to predict)")
        data = read_data(args)
        X = model_inputs(net, data, args.model)  # standardised when the model was trained so (axes in those units)
        if args.kind == "boundary":
            fig = plots.plot_decision_boundary(net, X, data.y, title=f"{args.model} on {data.name or args.data}")
        elif args.kind == "neurons":
            fig = plots.plot_neurons(net, X, data.y)
        else:
            if not net.is_classifier:
                raise ConfigError(f"a confusion matrix needs a classifier; {args.model} uses loss {net.loss_fn.name!r}")
            predicted = net.predict(X)
            if predicted.ndim > 1:
                raise ConfigError(f"a confusion matrix needs one class per row; {args.model} predicts {predicted.shape[1]} "
                                  f"labels per row (one per output, loss {net.loss_fn.name!r})")
            classes = net.metadata.get("classes") or data.classes
            fig = plots.plot_confusion_matrix(data.y, predicted, classes)
    plots.save_figure(fig, args.out)
    print(f"{args.kind} plot written to {args.out}")
    return 0
