"""The guard: every ``glassnet`` command, given hostile arguments and files, ends as glassnet promises: exit
status 0, 1 (a check found a problem) or 2 (one clear ``glassnet: error:`` line), never 70 ("This is a bug in
glassnet") and never a raw traceback.

The commands and their options are read from the parser (``build_parser``), so a command or option added later
is covered without touching this file. Each case is one command line: a baseline that works (``BASE``), with one
of its slots (a positional, an option) replaced by one hostile value. Paths (positionals, ``--data``, options
whose help names a file) get hostile files; other options get hostile scalars. Every case runs in-process in a
fresh copy of the same folder, with a time limit after which it gets a Ctrl-C, as a user would give it.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

from glassnet.interfaces.cli.main import build_parser, main

LIMIT = 3.0  # seconds a case may run before it gets a Ctrl-C
GRACE = 3.0  # seconds it then has to stop

# A command line that works, per command; the cases change one slot of it. A command missing here gets a
# baseline derived from its parser (positionals and required options filled from GOOD), so it is still driven.
BASE = {
    "demo": ["demo", "--epochs", "3"],
    "train": ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "2", "--no-progress"],
    "predict": ["predict", "m.npz", "--data", "xor"],
    "doctor": ["doctor", "net.py", "--timeout", "20"],
    "gradcheck": ["gradcheck", "m.npz", "--data", "xor"],
    "explain": ["explain", "m.npz", "--data", "xor"],
    "draw": ["draw", "m.npz", "--data", "xor", "-o", "d.svg"],
    "export": ["export", "m.npz", "--to", "torch", "-o", "m.pt"],
    "plot": ["plot", "m.npz", "--kind", "boundary", "--data", "xor", "-o", "p.svg"],
    "report": ["report", "m.npz", "--data", "xor", "-o", "r.html"],
    "grade": ["grade", "sheet.json", "answers.csv"],
    "breaks": ["breaks", "--data", "xor", "--layers", "2,3,1", "--epochs", "2"],
    "hunt": ["hunt", "--seed", "1"],
}
GOOD = {"data": "xor", "layers": "2,3,1", "model": "m.npz", "file": "net.py", "out": "out.png"}

# Files the folder holds (made by `folder`): hostile as any input, as a model (or script), as data; and paths
# hostile as an output.
ANY_INPUT = ["empty", "garbage.bin", "folder", "/dev/null", "missing.npz", "².csv"]
AS_MODEL = ["table.npz", "data.csv", "truncated.npz", "text_history.npz", "bad_classes.npz", "few_classes.npz"]
AS_DATA = ["one_row.csv", "header_only.csv", "nan.csv", "price $^$ up.csv", "m.npz"]
# "null" is a link to /dev/null: an output there must be refused as a device, and were a writer to replace it
# anyway, it would replace the link, never the machine's /dev/null itself.
OUTPUTS = ["folder", "null", "nodir/x.png", "price $^$ up.png", "x.bmp2", "m.npz", "data.csv", "²"]
OUTPUT_OPTIONS = ("out", "plot", "report", "checkpoint", "trace")
SCALARS = ["-1", "0", "nan", "inf", "1e400", "99999999999999999999", "²", "price $^$ up", "", "-0.5", "1,2,,",
           "0x10", "-99999999999999999999", "-inf"]
PER_OPTION = 1  # hostile scalars per option, taken in turn from SCALARS so that every one is used many times

LEARNER_SCRIPT = """import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([[0], [1], [1], [0]], dtype=float)
rng = np.random.default_rng(0)
W1, b1 = rng.normal(0, 1, (2, 3)), np.zeros((1, 3))
W2, b2 = rng.normal(0, 1, (3, 1)), np.zeros((1, 1))
lr = 0.5

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

for epoch in range(20):
    h = sigmoid(X @ W1 + b1)
    out = sigmoid(h @ W2 + b2)
    cost = np.mean((out - y) ** 2)
    d_out = 2 * (out - y) / len(X) * out * (1 - out)
    d_h = d_out @ W2.T * h * (1 - h)
    W2 -= lr * h.T @ d_out
    b2 -= lr * d_out.sum(axis=0, keepdims=True)
    W1 -= lr * X.T @ d_h
    b1 -= lr * d_h.sum(axis=0, keepdims=True)
    print(epoch, cost)
"""


# The members of the classes the issue names, each as a whole command line, besides the generated cases.
TRAIN = ["--layers", "2,3,1", "--epochs", "2", "--no-progress"]
NAMED = [
    ["train", "--data", "data.csv", "--target", "²", *TRAIN],
    ["train", "--data", "moons", "--data-seed", "-1", *TRAIN],
    ["train", "--data", "price $^$ up.csv", *TRAIN, "--plot", "price $^$ up.svg"],
    ["plot", "m.npz", "--kind", "boundary", "--data", "price $^$ up.csv", "-o", "price $^$ up.svg"],
    ["draw", "m.npz", "--data", "price $^$ up.csv", "-o", "price $^$ up.svg"],
    ["report", "m.npz", "--data", "price $^$ up.csv", "-o", "price $^$ up.html"],
    ["plot", "text_history.npz", "--kind", "loss", "-o", "p.svg"],
    ["train", "--data", "data.csv", *TRAIN, "--out", "data.csv"],
    ["train", "--data", "xor", *TRAIN, "--checkpoint", "c.ckpt", "--out", "c.ckpt"],
    ["train", "--data", "xor", "--layers", "2,99999999999,1", "--epochs", "2", "--no-progress"],
    ["train", "--data", "xor", *TRAIN, "--lr", "1e308"],
    ["train", "--data", "one_row.csv", *TRAIN, "--val-split", "0.5"],
]


@functools.cache
def commands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand of ``glassnet``, by name."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))


def hostile_paths(action: argparse.Action) -> list[str] | None:
    """The hostile paths for ``action`` when it takes a file (positionals do), else None."""
    if action.dest == "data":
        return ANY_INPUT + AS_DATA
    if action.dest == "file":  # a script (glassnet doctor): broken model files are nothing special to it
        return ANY_INPUT + ["data.csv"]
    if not action.option_strings or action.dest == "model":
        return ANY_INPUT + AS_MODEL
    if action.dest in OUTPUT_OPTIONS or "FILE" in str(action.metavar or ""):
        return OUTPUTS
    return None


def baseline(name: str, parser: argparse.ArgumentParser) -> list[str]:
    if name in BASE:
        return list(BASE[name])
    argv = [name]
    for action in parser._actions:
        if takes_value(action) and (not action.option_strings or action.required):
            value = GOOD.get(action.dest, str(next(iter(action.choices))) if action.choices else "1")
            argv += [value] if not action.option_strings else [action.option_strings[0], value]
    return argv


def with_value(argv: list[str], parser: argparse.ArgumentParser, action: argparse.Action, value: str) -> list[str]:
    """``argv`` with ``action``'s slot set to ``value``."""
    argv = list(argv)
    if not action.option_strings:  # the n-th positional is the n-th word after the command in a baseline
        positionals = [a for a in parser._actions if not a.option_strings and takes_value(a)]
        index = 1 + positionals.index(action)
        argv[index:index + 1] = [value]
        return argv
    for i, word in enumerate(argv):
        if word in action.option_strings:
            del argv[i:i + 2]
            break
    return [*argv, f"{action.option_strings[-1]}={value}"]  # "=": a value like -1 or "" stays this option's value


def cases() -> list[list[str]]:
    rows: list[list[str]] = []
    turn = 0
    for name, parser in commands().items():
        base = baseline(name, parser)
        rows.append(base)  # the baseline itself: it must work, or the hostile cases test nothing
        for action in parser._actions:
            if not takes_value(action):
                continue
            values = hostile_paths(action)
            if values is None:
                values = [SCALARS[(turn + k) % len(SCALARS)] for k in range(PER_OPTION)]
                turn += PER_OPTION
            rows += [with_value(base, parser, action, value) for value in values]
    return rows + NAMED


# Rows that fail for a reason fixed elsewhere, as {argv tuple: reason}: marked xfail(strict=True), so that the
# fix makes them fail here until they are taken out. None today.
KNOWN: dict[tuple[str, ...], str] = {}


def params() -> list:  # type: ignore[type-arg]
    rows = []
    for argv in cases():
        reason = KNOWN.get(tuple(argv))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        rows.append(pytest.param(argv, marks=marks, id=" ".join(argv)))
    return rows


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a good model and data, and the hostile files of PATHS."""
    import glassnet as gn

    for heavy in ("torch", "matplotlib.pyplot"):  # imported once here: an import is not what the time limit is for
        try:
            __import__(heavy)
        except ImportError:  # a plain install: the commands that need it must say which extra to install
            pass
    root = tmp_path_factory.mktemp("guard")
    net = gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0)
    history = net.fit(*gn.datasets.xor(), epochs=3, monitor=False)
    net.metadata["history"] = history.to_dict()
    net.save(root / "m.npz")
    good = (root / "m.npz").read_bytes()
    (root / "truncated.npz").write_bytes(good[: len(good) // 2])
    (root / "empty").write_bytes(b"")
    (root / "garbage.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "folder").mkdir()
    (root / "null").symlink_to(os.devnull)
    csv = "a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
    for name in ("data.csv", "price $^$ up.csv", "².csv"):
        (root / name).write_text(csv, encoding="utf-8")
    (root / "table.npz").write_text(csv)  # a CSV where a model file is expected
    (root / "one_row.csv").write_text("a,b,label\n0,1,1\n")
    (root / "header_only.csv").write_text("a,b,label\n")
    (root / "nan.csv").write_text("a,b,label\nnan,0,0\n0,inf,1\n1,0,1\n1,1,0\n")
    # Models with metadata the CLI reads but in a form it cannot use, checksummed as if glassnet wrote them.
    for name, key, value in [("text_history.npz", "history", "text"), ("bad_classes.npz", "classes", "ab"),
                             ("few_classes.npz", "classes", ["one"])]:
        rewrite_metadata(root / "m.npz", root / name, key, value)
    (root / "net.py").write_text(LEARNER_SCRIPT)
    gn.worksheet(net, *gn.datasets.xor()).save(root / "sheet.json")  # glassnet grade: a teacher's file, answers
    (root / "answers.csv").write_text("number,answer\n1,0.5\n2,oops\n")
    return root


def rewrite_metadata(source: Path, target: Path, key: str, value: object) -> None:
    """Copy the model file ``source`` to ``target`` with its metadata's ``extra[key]`` set to ``value`` and the
    checksum made to match, as a writer without glassnet's checks would leave it."""
    import json

    from glassnet import io

    with np.load(source) as arrays:
        contents = {name: arrays[name] for name in arrays.files}
    meta = json.loads(bytes(contents.pop(io.META_KEY)))
    meta["extra"][key] = value
    meta["checksum"] = io.checksum(contents, {k: v for k, v in meta.items() if k != "checksum"})
    np.savez(target, **contents, **{io.META_KEY: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)})


class Hung(BaseException):
    """A case that did not stop within GRACE seconds of its Ctrl-C (a BaseException: nothing may catch it)."""


@pytest.mark.parametrize("argv", params())
def test_hostile_command_line_ends_in_0_1_or_2(argv: list[str], folder: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "w"
    shutil.copytree(folder, work, symlinks=True)
    monkeypatch.chdir(work)
    interrupted, done = [], []

    def on_alarm(signum: int, frame: object) -> None:
        if done:  # main has returned: the alarm came too late to matter
            return
        if not interrupted:
            interrupted.append(True)
            signal.setitimer(signal.ITIMER_REAL, GRACE)
            raise KeyboardInterrupt
        raise Hung(f"glassnet {' '.join(argv)} did not stop {GRACE} s after a Ctrl-C")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # notes on stderr, as a user sees them (FastFormWarning stays an error)
            warnings.filterwarnings("error", category=__import__("glassnet.errors").errors.FastFormWarning)
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: a one-line error (2) or --help (0)
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        done.append(True)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    allowed = (0, 1, 2, 130) if interrupted else (0, 1, 2)
    shown = f"glassnet {' '.join(argv)}\nexit {code}\n{err[-2000:]}"
    assert code in allowed, shown
    assert stat.S_ISCHR(os.stat(work / "null").st_mode), f"{shown}\nreplaced the device behind the link 'null'"
    assert "Traceback" not in err and "This is a bug in glassnet" not in err, shown
    if code == 2:
        assert "glassnet: error: " in err, shown
    if argv == baseline(argv[0], commands()[argv[0]]):  # the line every hostile case changes must itself work
        assert code == 0, shown


def test_every_command_and_option_is_driven() -> None:
    """The cases come from the parser: each command has a baseline and each of its options a hostile value."""
    rows = cases()
    for name, parser in commands().items():
        mine = [argv for argv in rows if argv[0] == name]
        options = {o for a in parser._actions if takes_value(a) for o in a.option_strings}
        driven = {word.split("=", 1)[0] for argv in mine for word in argv if word.startswith("-")}
        assert options <= driven, (name, options - driven)
        assert len(mine) > len(options), name
