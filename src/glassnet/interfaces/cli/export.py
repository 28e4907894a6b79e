"""``glassnet export``: write a trained model for PyTorch (``torch.save`` of tensors) or as ONNX."""

from __future__ import annotations

import argparse

from glassnet.interfaces.cli.common import HelpFormatter
from glassnet.interfaces.cli.outputs import ONNX_FILE, TORCH_FILE, check_files
from glassnet.io import load

EXAMPLES = """examples:
  glassnet export iris.npz --to torch -o iris.pt      # then: glassnet.torch.load_torch("iris.pt")
  glassnet export iris.npz --to onnx -o iris.onnx     # input "x" (batch, n_in), output "y" (batch, n_out)
  glassnet export iris.npz --to torch --logits -o iris_logits.pt   # no output softmax/sigmoid
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("export", help="export a model to PyTorch or ONNX", epilog=EXAMPLES,
                              formatter_class=HelpFormatter)
    p.add_argument("model", help="model file written by `glassnet train --out` or Network.save")
    p.add_argument("--to", required=True, choices=("torch", "onnx"), help="target format")
    p.add_argument("-o", "--out", required=True, help="file to write")
    p.add_argument("--logits", action="store_true",
                   help="leave out the output activation (for CrossEntropyLoss / BCEWithLogitsLoss in PyTorch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_files(inputs={"the model": args.model}, outputs={"-o": (args.out, TORCH_FILE if args.to == "torch" else ONNX_FILE)})
    net = load(args.model)
    from glassnet.torch import export_onnx, save_torch

    (save_torch if args.to == "torch" else export_onnx)(net, args.out, include_output_activation=not args.logits)
    print(f"{args.model} exported to {args.out} ({args.to}{', logits' if args.logits else ''})")
    return 0
