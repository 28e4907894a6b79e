"""``glassnet`` command-line entry point: builds the parser from the subcommand modules and turns
glassnet errors into one-line messages (a traceback only with ``--debug``)."""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from glassnet.errors import GlassnetError
from glassnet.interfaces.cli.common import AFTER_SUCCESS, show_note

# Each module defines register(subparsers), which adds its subcommand and sets func=run(args) -> int.
COMMANDS = [
    "glassnet.interfaces.cli.demo",
    "glassnet.interfaces.cli.train",
    "glassnet.interfaces.cli.lr_find",
    "glassnet.interfaces.cli.predict",
    "glassnet.interfaces.cli.doctor",
    "glassnet.interfaces.cli.hunt",
    "glassnet.interfaces.cli.gradcheck",
    "glassnet.interfaces.cli.explain",
    "glassnet.interfaces.cli.grade",
    "glassnet.interfaces.cli.export",
    "glassnet.interfaces.cli.plot",
    "glassnet.interfaces.cli.report",
    "glassnet.interfaces.cli.breaks",
]

EXAMPLES = """examples:
  glassnet demo                   # the 2-3-1 sigmoid network learning XOR, every number shown
  glassnet train --data xor --layers 2,3,1 --lr 0.5 --epochs 5000 --out xor.npz
  glassnet explain xor.npz --data xor --sample 0
  glassnet gradcheck xor.npz --data xor
  glassnet doctor my_net.py       # check the backprop of your own NumPy code
  glassnet grade sheet.json answers.csv    # grade a learner's worksheet: right, carried, wrong, and why
  glassnet hunt --seed 7 --out hunt_7.py   # a training program with one planted bug, for student 7
  glassnet breaks --data moons --layers 2,8,1 --activation relu --lr 0.6 --batch-size 12 --epochs 40 --seed 3
                                  # the step at which each health warning's condition became true, and why

Start with `glassnet demo`. `glassnet COMMAND --help` shows the options and examples of each command.
"""

EXIT_USER_ERROR = 2
EXIT_BUG = 70
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse with glassnet's error style, for the ``glassnet`` parser and (as its ``parser_class``) every
    subcommand's: a mistake is one line ``glassnet: error: ...`` on stderr and exit status 2, not a usage block,
    and an unknown command or option comes with the nearest one (:func:`nearest`).

    Abbreviations are off: with them ``--output m.npz`` silently meant ``--output-activation m.npz``, and an
    option added later would change what an abbreviation typed today means.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("glassnet").strip()  # "train" for `glassnet train`, "" for glassnet itself
        where = f"{command}: " if command else ""
        self.exit(EXIT_USER_ERROR, f"glassnet: error: {where}{message} (see `{self.prog} --help`)\n")

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # A subcommand's unknown options come back to the top-level parser; the subcommand reports them,
            # with its own options as the candidates.
            command = self._subcommands().get(getattr(parsed, "command", None) or "", self)
            hints = [f"{a}: did you mean {near}?" for a in extras if (near := nearest(a, command))]
            command.error(f"unrecognized argument(s): {' '.join(extras)}" + (f" ({'; '.join(hints)})" if hints else ""))
        return parsed

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            choices = [str(c) for c in action.choices]
            near = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
            hint = f"did you mean {near[0]}? " if near else ""
            raise argparse.ArgumentError(action, f"invalid choice: {str(value)!r}; {hint}(choose from {', '.join(choices)})")

    def _subcommands(self) -> dict[str, argparse.ArgumentParser]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}


def nearest(typed: str, parser: argparse.ArgumentParser, n: int = 3) -> str | None:
    """The options of ``parser`` closest to ``typed``, as ``"--epochs"`` or ``"--out or --output-activation"``;
    None when none is close.

    An option is close by its spelling (``--epoch`` -> ``--epochs``) or, for a name of several words, by the
    words its help starts with (``--learning-rate`` -> ``--lr``, whose help is "learning rate ...").
    """
    name = typed.split("=", 1)[0]
    words = name.lstrip("-").replace("-", " ").replace("_", " ").lower()
    if not name.startswith("-") or not words:
        return None
    scores: dict[str, float] = {}
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        opening = " ".join((action.help or "").lower().replace(",", " ").split()[: len(words.split())])
        # One word is a spelling; a help's first word would match too much ("--output": "output activation ...").
        described = difflib.SequenceMatcher(None, words, opening).ratio() if " " in words and opening else 0.0
        for option in action.option_strings:
            scores[option] = max(difflib.SequenceMatcher(None, name, option).ratio(), described)
    close = sorted((o for o, score in scores.items() if score >= 0.75), key=lambda o: -scores[o])[:n]
    return " or ".join(close) or None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    """Run ``glassnet ARGV``; the exit status (argparse's own mistakes and ``--help`` raise SystemExit).

    A reader that leaves early (``glassnet demo | head -1``) ends nothing: what is printed after it goes nowhere,
    as Unix tools do, and the command still finishes its work (``train ... | head -1`` still saves the model).
    """
    AFTER_SUCCESS.clear()
    real = sys.stdout
    sys.stdout = _ClosedPipeIsQuiet(real)  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        AFTER_SUCCESS.clear()
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        sys.stdout = real


class _ClosedPipeIsQuiet:
    """``sys.stdout`` whose writes stop quietly once its reader has gone: the first ``BrokenPipeError`` points the
    stream at devnull (as Python's docs on SIGPIPE advise, so the flush at exit does not raise it again) and every
    later write is dropped."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.closed_pipe = stream, False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                return int(self.stream.write(text))
            except BrokenPipeError:
                self._reader_left()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        self.closed_pipe = True
        _silence_stdout(self.stream)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...: the real stream's
        return getattr(self.stream, name)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        with warnings.catch_warnings():
            # Warnings while a command runs (e.g. fit's HealthWarning) as one-line notes, not source lines.
            warnings.showwarning = show_note
            code = int(args.func(args) or 0)
        for note in AFTER_SUCCESS:
            show_note(note)
        return code
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


def _silence_stdout(stream: Any) -> None:
    """Point the file descriptor under ``stream`` at devnull (nothing when it has none, e.g. captured)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
