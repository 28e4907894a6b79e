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
    assert "(default: 0.0)" in sub.choices["train"].format_help()  # --l2: a zero default is still shown


def test_training_warnings_are_one_line_notes(cli):
    code, out, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--loss", "mse", "--lr", "0.5", "--epochs", "200",
                         "--no-progress")  # mse on a sigmoid: the plateau that gives the note (bce, the default, learns)
    assert code == 0, err
    assert "glassnet: note: the loss has stayed at" in err
    assert "HealthWarning" not in err and "net.fit(" not in err  # no file:line header, no source line


def test_option_help_lists_every_registered_activation_loss_and_optimizer():
    """The choices come from the registries: a class added to its core module is offered at once."""
    import argparse
    import re

    from glassnet.core.activations import ACTIVATIONS
    from glassnet.core.losses import LOSSES
    from glassnet.core.optimizers import OPTIMIZERS
    from glassnet.interfaces.cli.main import build_parser

    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]

    def option_help(command: str, option: str) -> str:
        (action,) = [a for a in sub.choices[command]._actions if option in a.option_strings]
        return re.sub(r"\s+", " ", action.help or "")

    for command in ("train", "explain", "draw", "gradcheck"):
        assert all(name in option_help(command, "--activation") for name in ACTIVATIONS.names()), command
        assert all(name in option_help(command, "--loss") for name in LOSSES.names()), command
    for command in ("train", "explain"):
        assert all(name in option_help(command, "--optimizer") for name in OPTIMIZERS.names()), command
        assert "sgd or rmsprop have one" in option_help(command, "--momentum")  # the classes with that setting
    assert "gelu" in option_help("train", "--activation") and "huber" in option_help("train", "--loss")
    assert "rmsprop" in option_help("train", "--optimizer")


def test_train_with_rmsprop_huber_and_gelu_then_explain_the_step(cli, tmp_path):
    model = tmp_path / "m.npz"
    code, out, err = cli("train", "--data", "moons", "--n", "60", "--layers", "2,6,1", "--activation", "gelu",
                         "--loss", "huber", "--optimizer", "rmsprop", "--momentum", "0.5", "--lr", "0.01",
                         "--epochs", "30", "--out", str(model), "--no-progress")
    assert code == 0, err
    assert "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, momentum=0.5)" in out and "loss='huber'" in out
    net = gn.load(model)
    assert [layer.activation.name for layer in net.layers] == ["gelu", "gelu"]
    assert net.loss_fn.config() == {"name": "huber", "delta": 1.0}
    code, out, err = cli("explain", str(model), "--data", "moons", "--n", "60", "--optimizer", "rmsprop",
                         "--momentum", "0.5", "--lr", "0.01")
    assert code == 0, err
    assert "name=rmsprop" in out and "momentum=0.5" in out and "Phi(" in out
    # an optimizer without a momentum setting refuses one (before: silently ignored by explain)
    code, _, err = cli("explain", str(model), "--data", "moons", "--n", "60", "--optimizer", "adam", "--momentum", "0.9")
    assert code == 2 and "Adam has no setting(s) 'momentum'" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--optimizer", "rmsprp", "--epochs", "1")
    assert code == 2 and "unknown optimizer 'rmsprp'" in err and "rmsprop" in err
