"""``glassnet`` command-line entry point: builds the parser from the subcommand modules and turns
glassnet errors into one-line messages (a traceback only with ``--debug``)."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings
from collections.abc import Sequence

from glassnet.errors import GlassnetError
from glassnet.interfaces.cli.common import show_note

# Each module defines register(subparsers), which adds its subcommand and sets func=run(args) -> int.
COMMANDS = [
    "glassnet.interfaces.cli.demo",
    "glassnet.interfaces.cli.train",
    "glassnet.interfaces.cli.predict",
    "glassnet.interfaces.cli.doctor",
    "glassnet.interfaces.cli.gradcheck",
    "glassnet.interfaces.cli.explain",
    "glassnet.interfaces.cli.export",
    "glassnet.interfaces.cli.plot",
    "glassnet.interfaces.cli.report",
]

EXAMPLES = """examples:
  glassnet demo                   # the 2-3-1 sigmoid network learning XOR, every number shown
  glassnet train --data xor --layers 2,3,1 --lr 0.5 --epochs 5000 --out xor.npz
  glassnet explain xor.npz --data xor --sample 0
  glassnet gradcheck xor.npz --data xor
  glassnet doctor my_net.py       # check the backprop of your own NumPy code

Start with `glassnet demo`. `glassnet COMMAND --help` shows the options and examples of each command.
"""

EXIT_USER_ERROR = 2
EXIT_BUG = 70
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="glassnet: dense neural networks in plain NumPy whose every number you can see and check.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    from glassnet import __version__

    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    for choice in subparsers._choices_actions:  # each command's --help opens with its one-line summary
        command = subparsers.choices[choice.dest]
        command.description = command.description or f"glassnet {choice.dest}: {choice.help}."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        with warnings.catch_warnings():
            # Warnings while a command runs (e.g. fit's HealthWarning) as one-line notes, not source lines.
            warnings.showwarning = show_note
            return int(args.func(args) or 0)
    except GlassnetError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"glassnet: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # permission denied, disk full, ...: the machine's answer, not a glassnet bug
        if args.debug:
            traceback.print_exc()
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"glassnet: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: ask for a bug report
        if args.debug:
            traceback.print_exc()
        print(
            f"glassnet: unexpected error: {type(exc).__name__}: {exc}\n"
            "This is a bug in glassnet. Please report it with the command you ran; "
            "rerun with --debug to include the traceback.",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
