"""One error style: glassnet errors are one line and exit code 2 (traceback only with --debug), OS errors
likewise, Ctrl-C is exit code 130, and anything else is a bug: a short report request, exit code 70."""

from __future__ import annotations

import argparse
import importlib

import pytest

import glassnet as gn
from glassnet.interfaces.cli import train

cli_main = importlib.import_module("glassnet.interfaces.cli.main")  # the package re-exports main() under that name


def test_hierarchy_is_one_family_with_builtin_parents():
    for cls, builtin in [(gn.ConfigError, ValueError), (gn.ShapeError, ValueError), (gn.DataError, ValueError),
                         (gn.ModelFileError, ValueError), (gn.OutputFileError, ValueError), (gn.GlassnetTypeError, TypeError),
                         (gn.TrainingDiverged, ArithmeticError)]:
        assert issubclass(cls, gn.GlassnetError) and issubclass(cls, builtin)
        assert cls.__name__ in gn.errors.__doc__


def raising(error: BaseException):
    def run(args: argparse.Namespace) -> int:
        raise error

    return run


@pytest.mark.parametrize("debug", [False, True])
def test_glassnet_error_is_one_line_and_traceback_only_with_debug(cli, monkeypatch, debug):
    monkeypatch.setattr(train, "run", raising(gn.DataError("column 'age', line 7: 'abc' is not a number")))
    code, _, err = cli(*(["--debug"] if debug else []), "train", "--data", "xor", "--layers", "2,3,1")
    assert code == cli_main.EXIT_USER_ERROR == 2
    assert err.strip().splitlines()[-1] == "glassnet: error: column 'age', line 7: 'abc' is not a number"
    assert ("Traceback" in err) == debug


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_asks_for_a_bug_report(cli, monkeypatch, debug):
    monkeypatch.setattr(train, "run", raising(RuntimeError("index 3 is out of bounds")))
    code, _, err = cli(*(["--debug"] if debug else []), "train", "--data", "xor", "--layers", "2,3,1")
    assert code == cli_main.EXIT_BUG == 70
    assert "unexpected error: RuntimeError: index 3 is out of bounds" in err
    assert "This is a bug in glassnet. Please report it" in err and "--debug" in err
    assert ("Traceback" in err) == debug


def test_operating_system_error_is_one_line_not_a_bug(cli, monkeypatch):
    monkeypatch.setattr(train, "run", raising(PermissionError(13, "Permission denied", "/models/xor.npz")))
    code, _, err = cli("train", "--data", "xor", "--layers", "2,3,1")
    assert code == 2 and err.strip() == "glassnet: error: Permission denied (/models/xor.npz)"


def test_ctrl_c_outside_training_is_exit_130(cli, monkeypatch):
    monkeypatch.setattr(train, "run", raising(KeyboardInterrupt()))
    code, _, err = cli("train", "--data", "xor", "--layers", "2,3,1")
    assert code == cli_main.EXIT_INTERRUPTED == 130 and "interrupted" in err


def test_unwritable_output_folder_is_reported_not_a_bug(cli, tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # what a read-only folder does to atomic_write
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--epochs", "2", "--out", str(tmp_path / "m.npz"))
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("glassnet: error: ") and str(tmp_path / "m.npz") in last
    assert "ermission denied" in last
    assert "final loss" in out  # it trained; only the save failed, and said so in one line
