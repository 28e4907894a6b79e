"""``glassnet demo``: the story glassnet starts from, on XOR with a 2-3-1 sigmoid network with biases."""

from __future__ import annotations

import argparse

import numpy as np

from glassnet.core.layers import Dense
from glassnet.core.network import Network
from glassnet.datasets import xor
from glassnet.interfaces.cli.common import HelpFormatter

EXAMPLES = """examples:
  glassnet demo
  glassnet demo --epochs 10000 --lr 1.0 --seed 3
  glassnet demo --bias-bug        # the learner's bias bug: the symptom, the doctor's diagnosis, the fix
"""

STORY = """A learner writes a 2-input, 3-hidden, 1-output sigmoid network by hand to understand every
operation. Here is that network in glassnet, weights *and* biases, trained on XOR with plain
gradient descent on the mean squared error. Watch the cost fall."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("demo", help="train the 2-3-1 sigmoid network on XOR and show everything",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("--epochs", type=int, default=5000, help="full-batch gradient steps")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed for the initial weights")
    p.add_argument("--bias-bug", action="store_true",
                   help="run the learner's hand-written loop with the bias bug, diagnose it, then fix it")
    p.set_defaults(func=run)


def build_xor_network(seed: int = 0) -> Network:
    """The 2-3-1 sigmoid network with biases, on the mean squared error."""
    return Network([Dense(2, 3, "sigmoid"), Dense(3, 1, "sigmoid")], loss="mse", seed=seed)


def run(args: argparse.Namespace) -> int:
    if args.bias_bug:  # a separate story, kept in its own module (interfaces/cli/bias_bug.py)
        from glassnet.interfaces.cli.bias_bug import run_bias_bug

        return run_bias_bug()  # the learner's script runs as written: --epochs, --lr, --seed do not apply
    X, y = xor()
    net = build_xor_network(args.seed)
    print(STORY, end="\n\n")
    print(f"network: {net}")
    print(f"data: XOR, inputs {X.tolist()}, targets {y.tolist()}")
    print(f"cost before training: {net.loss(X, y):.6f}\n")
    history = net.fit(X, y, epochs=args.epochs, optimizer="sgd", lr=args.lr,
                      verbose=max(1, args.epochs // 10))
    print(f"\ncost after {history.epochs} epochs: {history.loss[-1]:.6f}\n")
    print("learned parameters (W is (inputs, units): W[i, j] connects input i to unit j):")
    with np.printoptions(precision=4, suppress=True):
        for key, value in net.parameters().items():
            print(f"  {key} =\n    " + str(value).replace("\n", "\n    "))
    print("\npredictions:")
    outputs = net.forward(X)[:, 0]
    for x, target, out in zip(X, y, outputs):
        verdict = "right" if (out > 0.5) == bool(target) else "WRONG"
        print(f"  x = {x.astype(int).tolist()}  target {target}  output {out:.4f}  -> {int(out > 0.5)} ({verdict})")
    from glassnet.explain import explain

    print("\nOne more gradient step of the trained network on sample 0, every number (not applied; see "
          "`glassnet explain --help`):\n")
    print(explain(net, X[:1], y[:1], "sgd", args.lr).to_text())
    return 0
