"""Issue 14, "nothing the user made is lost" on the command line, one table per class:

1. an output that is also an input (or another output) is refused before anything is written, compared as files;
2. every output is checked before training starts (folder, writability, suffix, optional library), and a write
   that still fails after training leaves the trained model saved, where asked or at an announced fallback;
3. plots never fail on text: matplotlib's math syntax in a title, class name or path is drawn as written.

Run the tables: ``python3 -m pytest -q tests/reliability/test_round2_outputs.py``.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.interfaces.cli import main

XOR_CSV = "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
TRAIN = ["train", "--layers", "2,3,1", "--epochs", "3", "--no-progress", "--print-every", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained by the CLI (with a history), copied into each test's folder."""
    path = tmp_path_factory.mktemp("model") / "m.npz"
    assert main([*TRAIN, "--data", "xor", "--out", str(path)]) == 0
    return path


@pytest.fixture
def folder(tmp_path: Path, trained: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's working folder holding ``d.csv`` (XOR as CSV), ``m.npz`` (a trained model) and ``sub/``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(XOR_CSV)
    shutil.copy(trained, tmp_path / "m.npz")
    (tmp_path / "sub").mkdir()
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder, the target for a link), to see what changed."""
    seen: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            seen[key] = os.readlink(path).encode()
        elif path.is_dir():
            seen[key] = None
        elif path.is_file():
            seen[key] = path.read_bytes()
        else:
            seen[key] = b"<special>"
    return seen


def one_clear_error(code: int, err: str) -> None:
    assert code == 2, err
    assert err.startswith("glassnet: error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ----------------------------------------------------------------------------- 1. an output that is an input
def hard_link(src: str, name: str):
    return lambda root: os.link(root / src, root / name)


def sym_link(src: str, name: str):
    return lambda root: os.symlink(root / src, root / name)


SAME_FILE = [
    # (case, setup(root) or None, argv)
    ("train --out is the data", None, [*TRAIN, "--data", "d.csv", "--out", "d.csv"]),
    ("train --out a hard link to the data", hard_link("d.csv", "copy.npz"), [*TRAIN, "--data", "d.csv", "--out", "copy.npz"]),
    ("train --out a symlink to the data", sym_link("d.csv", "link.npz"), [*TRAIN, "--data", "d.csv", "--out", "link.npz"]),
    ("train --out the data through ..", None, [*TRAIN, "--data", "d.csv", "--out", "sub/../d.csv"]),
    ("train --data through a symlink, --out the file", sym_link("d.csv", "alias.csv"),
     [*TRAIN, "--data", "alias.csv", "--out", "d.csv"]),
    ("train --report the data", None, [*TRAIN, "--data", "d.csv", "--report", "d.csv"]),
    ("train --plot the data", None, [*TRAIN, "--data", "d.csv", "--plot", "d.csv"]),
    ("train --checkpoint the data", None, [*TRAIN, "--data", "d.csv", "--checkpoint", "d.csv"]),
    ("train --checkpoint X --out X", None, [*TRAIN, "--data", "xor", "--checkpoint", "x.ckpt", "--out", "x.ckpt"]),
    ("train --checkpoint X --resume --out X", None,
     [*TRAIN, "--data", "xor", "--checkpoint", "x.ckpt", "--resume", "--out", "x.ckpt"]),
    ("train two outputs, one through ..", None, [*TRAIN, "--data", "xor", "--checkpoint", "sub/../run.npz", "--out", "run.npz"]),
    ("train --out a dangling link to --checkpoint", sym_link("later.ckpt", "out.npz"),
     [*TRAIN, "--data", "xor", "--checkpoint", "later.ckpt", "--out", "out.npz"]),
    ("train --out and --report one name", None, [*TRAIN, "--data", "xor", "--out", "r.html", "--report", "./r.html"]),
    ("predict --out is the data", None, ["predict", "m.npz", "--data", "d.csv", "--out", "d.csv"]),
    ("predict --out a hard link to the model", hard_link("m.npz", "p.csv"),
     ["predict", "m.npz", "--data", "xor", "--out", "p.csv"]),
    ("explain MODEL --out MODEL", None, ["explain", "m.npz", "--data", "xor", "--out", "m.npz"]),
    ("explain --format json --out the data", None, ["explain", "m.npz", "--data", "d.csv", "--format", "json", "--out", "d.csv"]),
    ("export MODEL -o MODEL", None, ["export", "m.npz", "--to", "torch", "-o", "m.npz"]),
    ("export -o a hard link to the model", hard_link("m.npz", "m.pt"), ["export", "m.npz", "--to", "torch", "-o", "m.pt"]),
    ("plot MODEL -o MODEL", None, ["plot", "m.npz", "--kind", "loss", "-o", "m.npz"]),
    ("plot -o a symlink to the data", sym_link("d.csv", "c.png"),
     ["plot", "m.npz", "--data", "d.csv", "--kind", "boundary", "-o", "c.png"]),
    ("report MODEL -o MODEL", None, ["report", "m.npz", "--data", "xor", "-o", "m.npz"]),
    ("report -o the data", None, ["report", "m.npz", "--data", "d.csv", "-o", "sub/../d.csv"]),
    ("draw MODEL -o a symlink to the model", sym_link("m.npz", "net.svg"), ["draw", "m.npz", "-o", "net.svg"]),
]


@pytest.mark.parametrize("case, setup, argv", SAME_FILE, ids=[row[0] for row in SAME_FILE])
def test_an_output_that_is_an_input_is_refused_before_anything_is_written(cli, folder, case, setup, argv):
    if setup is not None:
        setup(folder)
    before = snapshot(folder)
    code, out, err = cli(*argv)
    one_clear_error(code, err)
    assert "same file" in err, err
    assert "done:" not in out  # refused before training, not after
    assert snapshot(folder) == before  # nothing read was destroyed, nothing half-written was left


# Every option of every command that names a file to write, pointed at a file the command reads: a command added
# later with an output option and no row in MINIMAL fails the coverage test below.
OUTPUT_DESTS = {"out", "plot", "report", "checkpoint", "trace"}
MINIMAL = {  # (argv that runs the command on d.csv and m.npz, the input the output is pointed at)
    "train": ([*TRAIN, "--data", "d.csv"], "d.csv"),
    "predict": (["predict", "m.npz", "--data", "d.csv"], "d.csv"),
    "explain": (["explain", "m.npz", "--data", "d.csv"], "m.npz"),
    "draw": (["draw", "m.npz", "--data", "d.csv"], "d.csv"),
    "export": (["export", "m.npz", "--to", "onnx"], "m.npz"),
    "plot": (["plot", "m.npz", "--data", "d.csv", "--kind", "boundary"], "d.csv"),
    "report": (["report", "m.npz", "--data", "d.csv"], "m.npz"),
    "lr-find": (["lr-find", "--data", "d.csv", "--layers", "2,3,1"], "d.csv"),
    "grade": (["grade", "m.npz", "d.csv"], "m.npz"),
    "breaks": (["breaks", "--data", "d.csv", "--layers", "2,3,1", "--epochs", "2"], "d.csv"),
    "hunt": (["hunt", "--check", "d.csv", "--seed", "1"], "d.csv"),
}


def output_options() -> list[tuple[str, str]]:
    import argparse

    from glassnet.interfaces.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, action.option_strings[0]) for name, command in commands.choices.items()
            for action in command._actions if action.dest in OUTPUT_DESTS]


def test_every_command_with_an_output_has_a_row():
    assert {name for name, _ in output_options()} == set(MINIMAL)


@pytest.mark.parametrize("command, option", output_options(), ids=[" ".join(row) for row in output_options()])
def test_every_output_option_of_every_command_refuses_an_input(cli, folder, command, option):
    argv, victim = MINIMAL[command]
    before = snapshot(folder)
    code, out, err = cli(*argv, option, victim)
    one_clear_error(code, err)
    assert "same file" in err, err
    assert snapshot(folder) == before


# ----------------------------------------------------------------------------- 2. every output checked first
def read_only(name: str):
    """``name`` made a folder that cannot be written. chmod means nothing to root (these tests may run as root), so
    os.access, the question glassnet asks, answers as for a read-only disk; without root, chmod makes it real."""
    def setup(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        target = root / name
        target.mkdir()
        target.chmod(0o555)
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p).resolve() == target.resolve()
                            else real(p, mode, **kw))
    return setup


def fifo(name: str):
    return lambda root, monkeypatch: os.mkfifo(root / name)


def folder_named(name: str):
    return lambda root, monkeypatch: (root / name).mkdir()


def without(library: str, *users: str):
    """An install without ``library``: importing it (or any part of it) fails, as with None in sys.modules, and the
    glassnet modules that import it (``users``) are not loaded yet."""
    def setup(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in [m for m in sys.modules if m.startswith(f"{library}.")] + [library]:
            monkeypatch.setitem(sys.modules, name, None)
        for name in users:
            monkeypatch.delitem(sys.modules, name, raising=False)
    return setup


without_matplotlib = without("matplotlib", "glassnet.viz.plots", "glassnet.plots")


CHECKED_FIRST = [
    # (case, setup(root, monkeypatch) or None, argv, words in the error)
    ("--plot into a missing folder", None, [*TRAIN, "--data", "xor", "--plot", "nodir/c.png"], "folder nodir does not exist"),
    ("--plot with an unknown suffix", None, [*TRAIN, "--data", "xor", "--plot", "c.bmp2"], ".bmp2"),
    ("--plot .jpeg (not one of save_figure's)", None, [*TRAIN, "--data", "xor", "--plot", "c.jpeg"], ".png, .svg or .pdf"),
    ("--plot ending in a separator", None, [*TRAIN, "--data", "xor", "--plot", "c.png/"], "is a folder"),
    ("--out into a missing folder", None, [*TRAIN, "--data", "xor", "--out", "nodir/m.npz"], "folder nodir does not exist"),
    ("--out an existing folder", folder_named("SOMEFOLDER"), [*TRAIN, "--data", "xor", "--out", "SOMEFOLDER"], "is a folder"),
    ("--out .", None, [*TRAIN, "--data", "xor", "--out", "."], "is a folder"),
    ("--out under a file", None, [*TRAIN, "--data", "xor", "--out", "d.csv/m.npz"], "is a file, not a folder"),
    ("--out a named pipe", fifo("pipe.npz"), [*TRAIN, "--data", "xor", "--out", "pipe.npz"], "not a regular file"),
    ("--out empty", None, [*TRAIN, "--data", "xor", "--out", ""], "needs a file name"),
    ("--plot with a NUL byte", None, [*TRAIN, "--data", "xor", "--plot", "c\0.png"], "NUL character"),
    ("--out in a read-only folder", read_only("ro"), [*TRAIN, "--data", "xor", "--out", "ro/m.npz"], "not writable"),
    ("--checkpoint in a read-only folder", read_only("ro"), [*TRAIN, "--data", "xor", "--checkpoint", "ro/run.ckpt"],
     "not writable"),
    ("--checkpoint into a missing folder", None, [*TRAIN, "--data", "xor", "--checkpoint", "no/run.ckpt"],
     "folder no does not exist"),
    ("--report with a suffix it does not know", None, [*TRAIN, "--data", "xor", "--report", "r.txt"], ".html"),
    ("--report in a read-only folder", read_only("ro"), [*TRAIN, "--data", "xor", "--report", "ro/r.html"], "not writable"),
    ("--plot without matplotlib", without_matplotlib, [*TRAIN, "--data", "xor", "--plot", "c.png"],
     'pip install "glassnet[plot]"'),
    ("draw without matplotlib", without_matplotlib, ["draw", "m.npz", "-o", "net.png"], 'pip install "glassnet[plot]"'),
    ("plot without matplotlib", without_matplotlib, ["plot", "m.npz", "--kind", "loss", "-o", "c.png"],
     'pip install "glassnet[plot]"'),
    ("export without torch", without("torch", "glassnet.torch"), ["export", "m.npz", "--to", "torch", "-o", "m.pt"],
     'pip install "glassnet[torch]"'),
    ("export --to onnx without onnx", without("onnx", "glassnet.torch"), ["export", "m.npz", "--to", "onnx", "-o", "m.onnx"],
     'pip install "glassnet[onnx]"'),
    ("plot -o .gif", None, ["plot", "m.npz", "--kind", "loss", "-o", "c.gif"], ".gif"),
    ("report -o a folder", folder_named("pages"), ["report", "m.npz", "--data", "xor", "-o", "pages"], "is a folder"),
    ("predict --out .png", None, ["predict", "m.npz", "--data", "xor", "--out", "p.png"], ".csv"),
    ("explain --out .png", None, ["explain", "m.npz", "--data", "xor", "--out", "step.png"], ".png"),
    ("export --to onnx -o .pt", None, ["export", "m.npz", "--to", "onnx", "-o", "m.pt"], ".onnx"),
]


@pytest.mark.parametrize("case, setup, argv, words", CHECKED_FIRST, ids=[row[0] for row in CHECKED_FIRST])
def test_every_output_is_checked_before_training(cli, folder, monkeypatch, case, setup, argv, words):
    if setup is not None:
        setup(folder, monkeypatch)
    before = snapshot(folder)
    code, out, err = cli(*argv)
    one_clear_error(code, err)
    assert words in err, err
    assert "training " not in out and "done:" not in out, out  # said before the training, not after it
    assert snapshot(folder) == before


# ----------------------------------------------------------------------------- 2. writes that fail after training
def disk_full(*names: str, where: str | None = None):
    """io.atomic_write (what every model save goes through) fails as on a full disk for these file names (or for
    every name starting with ``glassnet-rescued-`` in folder ``where``)."""
    def setup(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import glassnet.io

        real = glassnet.io.atomic_write

        def atomic_write(path, *args, **kwargs):
            target = Path(path)
            rescued_here = where is not None and target.name.startswith("glassnet-rescued-") and \
                target.parent.resolve() == (root / where).resolve()
            if target.name in names or rescued_here:
                raise OSError(28, "No space left on device", str(path))
            return real(path, *args, **kwargs)

        monkeypatch.setattr(glassnet.io, "atomic_write", atomic_write)
    return setup


def broken(module: str, name: str, exc: BaseException):
    def setup(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import importlib

        def fail(*args, **kwargs):
            raise exc

        monkeypatch.setattr(importlib.import_module(module), name, fail)
    return setup


def both(*setups):
    return lambda root, monkeypatch: [setup(root, monkeypatch) for setup in setups]


def other_tmp(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    (root / "systmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root / "systmp"))


AFTER = [
    # (case, setup, extra argv, words in the error, where the model must be: a name, or "rescued" in cwd or systmp)
    ("the curves cannot be drawn", broken("glassnet.viz.plots", "plot_history", ValueError("Unknown symbol: \\^")),
     ["--out", "m2.npz", "--plot", "c.png"], "--plot c.png was not written", "m2.npz"),
    ("the disk is full for the curves", broken("glassnet.viz.plots", "save_figure", OSError(28, "No space left on device")),
     ["--out", "m2.npz", "--plot", "c.png"], "No space left on device", "m2.npz"),
    ("the report cannot be written", broken("glassnet.viz.report", "write_report", OSError(28, "No space left on device")),
     ["--out", "m2.npz", "--report", "r.html", "--resolution", "4", "--snapshots", "3"], "--report r.html was not written",
     "m2.npz"),
    ("the disk is full for the model", disk_full("m2.npz"), ["--out", "m2.npz"], "--out m2.npz was not written", "rescued"),
    ("the disk is full for the model and the curves", both(disk_full("m2.npz"),
     broken("glassnet.viz.plots", "save_figure", OSError(28, "No space left on device"))),
     ["--out", "m2.npz", "--plot", "c.png"], "--plot c.png was not written", "rescued"),
    ("no --out and the curves fail", broken("glassnet.viz.plots", "plot_history", RuntimeError("cannot draw")),
     ["--plot", "c.png"], "RuntimeError: cannot draw", "rescued"),
    ("the disk is full here too: the temporary folder", both(disk_full("m2.npz", where="."), other_tmp),
     ["--out", "m2.npz"], "--out m2.npz was not written", "systmp"),
]


@pytest.mark.parametrize("case, setup, extra, words, kept", AFTER, ids=[row[0] for row in AFTER])
def test_a_write_that_fails_after_training_keeps_the_trained_model(cli, folder, monkeypatch, case, setup, extra, words, kept):
    setup(folder, monkeypatch)
    code, out, err = cli(*TRAIN, "--data", "xor", *extra)
    one_clear_error(code, err)
    assert "done:" in out and words in err, err
    if kept in ("rescued", "systmp"):
        place = folder / "systmp" if kept == "systmp" else folder
        found = sorted(place.glob("glassnet-rescued-*.npz"))
        assert len(found) == 1 and str(found[0].name) in err, (err, found)  # announced where it went
        model = found[0]
    else:
        model = folder / kept
        assert f"saved in {kept}" in err, err
    net = gn.load(model)
    assert len(net.metadata["history"]["loss"]) == 3  # the run of --epochs 3, not some other network
    assert not list(folder.glob(".*.tmp"))  # no half-written temporary left behind


# ----------------------------------------------------------------------------- 3. plots never fail on text
TEXTS = ["price $^$ up", "a$b.csv", "$", "$$", "cost $5 or $6", "$x^{2}$", r"\frac{$a}{b}$", "50% of $_{x}", "$\\$"]


def svg_text(fig) -> str:
    """The SVG of ``fig`` with its text kept as text, so a test can read what was drawn."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def drawn_literally(text: str, svg: str) -> bool:
    """Whether ``text`` is in the SVG as one piece of text (not split into math glyphs). Comments are left out: the
    SVG writer repeats each text's source string in a comment, however it was drawn."""
    drawn = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    return html.escape(text, quote=False) in drawn or html.escape(text) in drawn


def history_title(text: str):
    from glassnet.plots import plot_history

    return plot_history({"loss": [1.0, 0.5, 0.25]}, title=text)


def boundary_title(text: str):
    from glassnet.plots import plot_decision_boundary

    net = gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0)
    return plot_decision_boundary(net, np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]), resolution=8, title=text)


def confusion_class(text: str):
    from glassnet.plots import plot_confusion_matrix

    return plot_confusion_matrix([0, 1, 1], [0, 1, 0], classes=[text, "other"])


def confusion_title(text: str):
    from glassnet.plots import plot_confusion_matrix

    return plot_confusion_matrix([0, 1], [0, 1], title=text)


def diagram_layer_text(text: str):
    from glassnet.explain.diagram import plot_network
    from tests.custom_parts import Shift

    class Labelled(Shift):  # a user's layer whose formula text holds the hostile text
        def formulas(self) -> list[str]:
            return [f"a = x + t  ({text})"]

    return plot_network(gn.Network([gn.Dense(2, 2, seed=0), Labelled(2), gn.Dense(2, 1, seed=1)]))


@pytest.mark.parametrize("draw", [history_title, boundary_title, confusion_class, confusion_title, diagram_layer_text])
@pytest.mark.parametrize("text", TEXTS)
def test_plots_draw_math_syntax_as_written(draw, text):
    svg = svg_text(draw(text))  # saving renders every text: mathtext that does not parse raises here
    assert drawn_literally(text, svg), f"{text!r} was not drawn as written"


CLI_TEXT = [
    # (case, data file name, argv after the data)
    ("train --plot on a data file named a$b.csv", "a$b.csv", [*TRAIN, "--plot", "c.png"]),
    ("train --plot on a data file named price $^$ up.csv", "price $^$ up.csv", [*TRAIN, "--plot", "c.png"]),
    ("train --plot on a data file named $x$.csv", "$x$.csv", [*TRAIN, "--plot", "c.svg"]),
]


@pytest.mark.parametrize("case, name, argv", CLI_TEXT, ids=[row[0] for row in CLI_TEXT])
def test_cli_plots_of_files_named_with_math_syntax(cli, folder, case, name, argv):
    (folder / name).write_text(XOR_CSV)
    code, out, err = cli(*argv, "--data", name, "--out", "m$1.npz")
    assert code == 0, err
    code, out, err = cli("plot", "m$1.npz", "--kind", "loss", "-o", "loss $^$.png")
    assert code == 0, err
    assert (folder / "loss $^$.png").read_bytes()[:4] == b"\x89PNG"
