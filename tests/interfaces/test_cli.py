"""The command line: train, predict, demo and their error handling."""

import numpy as np

import glassnet as gn


def test_train_then_predict_xor(cli, tmp_path):
    model = tmp_path / "xor.npz"
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--activation", "sigmoid", "--loss", "mse",
                         "--optimizer", "sgd", "--lr", "0.5", "--epochs", "5000", "--out", str(model), "--no-progress")
    assert code == 0, err
    assert "final loss" in out and "accuracy 1.000" in out and str(model) in out
    net = gn.load(model)
    assert np.array_equal(net.predict(gn.datasets.xor().X) > 0.5, gn.datasets.xor().y == 1)
    code, out, err = cli("predict", str(model), "--data", "xor")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 5  # header + 4 rows


def test_demo_tells_the_story(cli):
    code, out, _ = cli("demo")
    assert code == 0
    assert "cost before training" in out and "0.b =" in out and "1.b =" in out
    assert out.count("(right)") == 4


def test_errors_are_one_line_without_traceback(cli, tmp_path):
    code, out, err = cli("train", "--data", "xor", "--layers", "3,3,1", "--epochs", "1")
    assert code == 2
    assert "--layers starts with 3 inputs" in err and "Traceback" not in err
    code, _, err = cli("predict", str(tmp_path / "missing.npz"), "--data", "xor")
    assert code == 2 and "does not exist" in err
    code, _, err = cli("train", "--data", "xr", "--layers", "2,3,1")
    assert code == 2 and "Did you mean 'xor'" in err



def test_every_help_has_a_summary_examples_and_no_empty_or_doubled_defaults():
    import argparse
    import re

    from glassnet.interfaces.cli.main import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"demo", "train", "predict", "doctor", "gradcheck", "explain", "draw", "export", "plot", "report"} <= set(sub.choices)
    for name, command in [("glassnet", parser), *sub.choices.items()]:
        text = command.format_help()
        assert re.search(r"^examples:\n  glassnet ", text, flags=re.M), name
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for option in re.split(r"\n  (?=-)", text):  # one entry per option
            assert option.count("(default:") <= 1, (name, option)
        if name != "glassnet":
            assert f"glassnet {name}: " in text, name
    assert "(default: 0)" in sub.choices["train"].format_help()  # --seed: a zero default is still shown


def test_training_warnings_are_one_line_notes(cli):
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--lr", "0.5", "--epochs", "200", "--no-progress")
    assert code == 0, err
    assert "glassnet: note: the loss has stayed at" in err
    assert "HealthWarning" not in err and "net.fit(" not in err  # no file:line header, no source line
