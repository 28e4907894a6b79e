"""The command line's first hour: defaults that fit the data, a pipe closed early, mistakes in one line with
the nearest command or option, predictions with their class and probability (safe in a spreadsheet), and
hints that work when typed as printed.

Each class is one table (pytest.mark.parametrize over rows); expected values are worked out from the data and
the rule, not copied from glassnet's output.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

FILES = {
    "flowers.csv": "a,b,kind\n1,2,rose\n3,4,tulip\n5,6,lily\n7,8,rose\n2,2,tulip\n4,1,lily\n",
    "answers.csv": "a,b,answer\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n",
    "prices.csv": "a,b,price\n1,2,3.5\n3,4,10.25\n5,6,-2.5\n7,8,4.0\n",
    "labels.csv": "a,b,label\n0,0,0\n0,1,1\n1,0,2\n1,1,3\n2,2,0\n",
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error: "), err
    return lines[0]


# ------------------------------------------------------------------ 1. defaults that fit the data
# (data options, --layers, the loss and output activation that fit: k classes on k outputs -> cross_entropy and
# softmax, two classes on one output -> bce and sigmoid, numbers -> mse and identity)
FITTING = [
    (["--data", "flowers.csv", "--target", "kind"], "2,8,3", "cross_entropy", "softmax"),  # the example
    (["--data", "xor"], "2,3,1", "bce", "sigmoid"),
    (["--data", "xor"], "2,3,2", "cross_entropy", "softmax"),  # two classes on two outputs
    (["--data", "answers.csv"], "2,4,1", "bce", "sigmoid"),  # two text classes
    (["--data", "answers.csv"], "2,4,2", "cross_entropy", "softmax"),
    (["--data", "spiral", "--classes", "4", "--n", "40"], "2,6,4", "cross_entropy", "softmax"),
    (["--data", "blobs", "--n", "30"], "2,5,3", "cross_entropy", "softmax"),
    (["--data", "labels.csv"], "2,4,4", "cross_entropy", "softmax"),  # integer labels 0..3
    (["--data", "prices.csv"], "2,4,1", "mse", "identity"),  # numbers
]


@pytest.mark.parametrize(("data", "layers", "loss", "output"), FITTING)
def test_train_without_loss_chooses_what_fits_and_says_so(cli, folder, data, layers, loss, output):
    code, out, err = cli("train", *data, "--layers", layers, "--epochs", "2", "--no-progress", "--out", "m.npz")
    assert code == 0, err
    net = gn.load(folder / "m.npz")
    assert (net.loss_fn.name, net.layers[-1].activation.name) == (loss, output)
    said = out.splitlines()[0]  # before the training starts
    assert loss in said and output in said and "chosen" in said, out


# (data options, --layers, the --layers the error must offer): nothing given, and no loss fits the outputs
MISFITS = [
    (["--data", "flowers.csv", "--target", "kind"], "2,8,1", "--layers 2,8,3"),
    (["--data", "flowers.csv", "--target", "kind"], "2,8,2", "--layers 2,8,3"),
    (["--data", "xor"], "2,3,3", "--layers 2,3,2"),
    (["--data", "spiral", "--n", "30"], "2,6,1", "--layers 2,6,3"),
    (["--data", "prices.csv"], "2,4,2", "--layers 2,4,1"),
]


@pytest.mark.parametrize(("data", "layers", "fix"), MISFITS)
def test_no_loss_fits_the_outputs_is_one_error_naming_the_layers_that_would(cli, folder, data, layers, fix):
    code, out, err = cli("train", *data, "--layers", layers, "--epochs", "2", "--no-progress", "--out", "m.npz")
    assert code == 2 and fix in one_error_line(err)
    assert "training" not in out and not (folder / "m.npz").exists()


# (data options, --layers, the explicit choice, the loss and output activation the model then has)
EXPLICIT = [
    (["--data", "xor"], "2,3,1", ["--loss", "mse"], "mse", "sigmoid"),  # output: --activation, as before
    (["--data", "xor"], "2,3,1", ["--loss", "huber", "--output-activation", "identity"], "huber", "identity"),
    (["--data", "xor"], "2,3,1", ["--output-activation", "tanh"], "mse", "tanh"),
    (["--data", "spiral", "--n", "30"], "2,6,3", ["--output-activation", "softmax"], "cross_entropy", "softmax"),
    (["--data", "prices.csv"], "2,4,1", ["--loss", "mse", "--output-activation", "relu"], "mse", "relu"),
]


@pytest.mark.parametrize(("data", "layers", "chosen", "loss", "output"), EXPLICIT)
def test_an_explicit_choice_is_never_overridden(cli, folder, data, layers, chosen, loss, output):
    code, out, err = cli("train", *data, "--layers", layers, *chosen, "--epochs", "2", "--no-progress", "--out", "m.npz")
    assert code == 0, err
    net = gn.load(folder / "m.npz")
    assert (net.loss_fn.name, net.layers[-1].activation.name) == (loss, output)


# (data options, --layers, an explicit choice that does not fit, the options the error must offer)
EXPLICIT_MISFITS = [
    (["--data", "flowers.csv", "--target", "kind"], "2,8,3", ["--loss", "mse"],
     "--loss cross_entropy --output-activation softmax"),
    (["--data", "flowers.csv", "--target", "kind"], "2,8,3", ["--loss", "bce"],
     "--loss cross_entropy --output-activation softmax"),
    (["--data", "xor"], "2,3,1", ["--loss", "cross_entropy"], "--loss bce --output-activation sigmoid"),
    (["--data", "prices.csv"], "2,4,1", ["--loss", "bce"], "--loss mse --output-activation identity"),
    (["--data", "spiral", "--n", "30"], "2,6,3", ["--output-activation", "sigmoid"],
     "--loss cross_entropy --output-activation softmax"),
]


@pytest.mark.parametrize(("data", "layers", "chosen", "fits"), EXPLICIT_MISFITS)
def test_an_explicit_choice_that_does_not_fit_says_which_would(cli, folder, data, layers, chosen, fits):
    code, out, err = cli("train", *data, "--layers", layers, *chosen, "--epochs", "2", "--no-progress")
    assert code == 2 and fits in one_error_line(err)
    assert "training" not in out  # refused before training, not after


@pytest.mark.parametrize(("argv", "loss"), [
    (["gradcheck", "--layers", "2,3,1", "--data", "xor"], "bce"),
    (["gradcheck", "--layers", "2,3,3", "--data", "spiral", "--n", "30", "--json"], "cross_entropy"),
    (["explain", "--layers", "2,3,2", "--data", "xor", "--format", "json"], "cross_entropy"),
])
def test_a_fresh_network_of_other_commands_fits_the_data_too(cli, folder, argv, loss):
    code, out, err = cli(*argv)
    assert code == 0, err
    assert re.search(rf"glassnet: note: output: \w+ with loss {loss}, chosen for", err), err
    if "json" in argv:
        json.loads(out)  # the note went to stderr: stdout is still JSON


# ------------------------------------------------------------------ 2. a pipe closed early
RUN_GLASSNET = "import sys; from glassnet.interfaces.cli import main; sys.exit(main())"


@pytest.mark.parametrize(("argv", "read_lines"), [
    (["demo"], 0),
    (["demo"], 1),  # glassnet demo | head -1
    (["train", "--help"], 1),
    (["doctor", "--gallery"], 0),
    (["predict", "m.npz", "--data", "moons", "--n", "4000"], 0),
    (["predict", "m.npz", "--data", "moons", "--n", "4000"], 3),  # more than a pipe holds: the write fails midway
    (["explain", "m.npz", "--data", "xor", "--sample", "all"], 1),
    (["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "3000", "--print-every", "1", "--out", "t.npz"], 1),
])
def test_a_pipe_closed_early_ends_quietly_with_status_0(tmp_path, argv, read_lines):
    gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0).save(tmp_path / "m.npz")
    process = subprocess.Popen([sys.executable, "-c", RUN_GLASSNET, *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"})
    assert process.stdout is not None and process.stderr is not None
    for _ in range(read_lines):
        process.stdout.readline()
    process.stdout.close()  # the reader leaves, as `head` does
    err = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert code == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err and "Exception ignored" not in err, err
    if "--out" in argv:  # the reader left, the work did not stop: the trained model is saved all the same
        assert (tmp_path / argv[argv.index("--out") + 1]).stat().st_size > 0


# ------------------------------------------------------------------ 3. mistakes: one line, the nearest name
# (argv, what the one line must say)
MISTAKES = [
    (["trian"], "did you mean train?"),
    (["predcit", "m.npz", "--data", "xor"], "did you mean predict?"),
    (["gradchek"], "did you mean gradcheck?"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--learning-rate", "0.1"], "--learning-rate: did you mean --lr?"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--epoch", "3"], "--epoch: did you mean --epochs?"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--optimiser", "adam"], "did you mean --optimizer?"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--output", "m.npz"], "--output: did you mean --out?"),
    (["explain", "--layer", "2,3,1", "--data", "xor"], "--layer: did you mean --layers?"),
    (["demo", "--seeds", "1"], "--seeds: did you mean --seed?"),
    (["plot", "m.npz", "--kind", "bondary", "-o", "p.png"], "did you mean boundary?"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "abc"], "--epochs: invalid int value: 'abc'"),
    (["train", "--data", "xor", "--layers", "2,3,1", "--lr", "fast"], "--lr: invalid float value: 'fast'"),
    (["predict"], "required"),
    (["explain", "m.npz", "--data", "xor", "--format", "yaml"], "choose from"),
]


@pytest.mark.parametrize(("argv", "says"), MISTAKES)
def test_a_command_line_mistake_is_one_line_with_the_nearest_name(cli, capsys, argv, says):
    with pytest.raises(SystemExit) as info:
        cli(*argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert says in one_error_line(err)


# ------------------------------------------------------------------ 4. predict: the class, its probability
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


X_ROWS = np.array([[0.0, 0.0], [1.0, -1.0], [-2.0, 0.5], [0.3, 2.0]])
W2 = np.array([[1.5, -1.0, 0.2], [-0.5, 2.0, 0.1]])
B2 = np.array([0.1, -0.2, 0.3])
# (output activation, loss, W, b, class names, the probabilities of each class worked out by hand)
CLASSIFIERS = [
    ("sigmoid", "bce", [[2.0], [-1.0]], [0.5], ["no", "yes"],
     lambda X: np.hstack([1 - sigmoid(X @ [[2.0], [-1.0]] + 0.5), sigmoid(X @ [[2.0], [-1.0]] + 0.5)])),
    ("softmax", "cross_entropy", W2, B2, ["lily", "rose", "tulip"], lambda X: softmax(X @ W2 + B2)),
    ("softmax", "cross_entropy", W2[:, :2], B2[:2], ["cat", "dog"], lambda X: softmax(X @ W2[:, :2] + B2[:2])),
    ("sigmoid", "bce", [[-3.0], [1.0]], [0.0], [0, 1], lambda X: np.hstack([1 - sigmoid(X @ [[-3.0], [1.0]]),
                                                                           sigmoid(X @ [[-3.0], [1.0]])])),
]


@pytest.mark.parametrize(("output", "loss", "W", "b", "classes", "probabilities"), CLASSIFIERS)
def test_predict_on_a_classifier_gives_the_class_and_its_probability(cli, tmp_path, output, loss, W, b, classes,
                                                                     probabilities):
    net = gn.Network([gn.Dense(2, len(b), output, init=(W, b))], loss=loss)
    net.metadata["classes"] = classes
    net.save(tmp_path / "m.npz")
    rows = "\n".join(f"{x0},{x1},{classes[i % 2]}" for i, (x0, x1) in enumerate(X_ROWS))
    (tmp_path / "d.csv").write_text(f"u,v,label\n{rows}\n")
    expected = probabilities(X_ROWS)
    names = [str(classes[k]) for k in expected.argmax(axis=1)]
    code, out, err = cli("predict", str(tmp_path / "m.npz"), "--data", str(tmp_path / "d.csv"))
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    assert header.split()[-2:] == ["prediction", "probability"]
    assert [line.split()[-2] for line in lines] == names
    np.testing.assert_allclose([float(line.split()[-1]) for line in lines], expected.max(axis=1), rtol=1e-5)
    code, out, err = cli("predict", str(tmp_path / "m.npz"), "--data", str(tmp_path / "d.csv"), "--out",
                         str(tmp_path / "p.csv"))
    assert code == 0, err
    with open(tmp_path / "p.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["prediction"] for row in table] == names
    np.testing.assert_allclose([float(row["probability"]) for row in table], expected.max(axis=1), rtol=1e-5)


def test_predict_on_a_regression_model_has_no_probability(cli, tmp_path):
    net = gn.Network([gn.Dense(2, 1, "identity", init=([[2.0], [-1.0]], [0.5]))], loss="mse")
    net.save(tmp_path / "m.npz")
    (tmp_path / "d.csv").write_text("u,v,y\n1,2,0.5\n-3,0,1.5\n")
    code, out, err = cli("predict", str(tmp_path / "m.npz"), "--data", str(tmp_path / "d.csv"))
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    assert "probability" not in header
    assert [float(line.split()[-1]) for line in lines] == [2 * 1 - 2 + 0.5, 2 * -3 - 0 + 0.5]


# (a class and feature name, how the CSV cell must read): OWASP's formula starts get a leading quote
SPREADSHEET = [
    ("=1+2", "'=1+2"),
    ("+SUM(A1:A2)", "'+SUM(A1:A2)"),
    ("-2+3", "'-2+3"),
    ("@SUM(1,1)", "'@SUM(1,1)"),
    ("\tTAB", "'\tTAB"),
    ("\rCR", "'\rCR"),
    ('=HYPERLINK("http://example.com","x")', '\'=HYPERLINK("http://example.com","x")'),
    ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
    ("plain", "plain"),  # not a formula: unchanged
    ("-0.5", "-0.5"),  # text that is a plain number is shown as that number: unchanged
]


@pytest.mark.parametrize(("name", "cell"), SPREADSHEET)
def test_predictions_csv_is_safe_in_a_spreadsheet(cli, tmp_path, name, cell):
    # One sigmoid output, W = 10: x = -1 gives class 0 (the name under test), x = 1 class 1.
    net = gn.Network([gn.Dense(1, 1, "sigmoid", init=([[10.0]], [0.0]))], loss="bce")
    net.metadata["classes"] = [name, "other"]
    net.save(tmp_path / "m.npz")
    feature = name if name != "-0.5" else "f"  # a header that looks like a number is a question for load_csv
    with open(tmp_path / "d.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([[feature, "label"], [-1, "a"], [1, "b"], [-0.5, "a"]])
    code, out, err = cli("predict", str(tmp_path / "m.npz"), "--data", str(tmp_path / "d.csv"), "--out",
                         str(tmp_path / "p.csv"))
    assert code == 0, err
    with open(tmp_path / "p.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    if feature == name and not name[0].isspace():  # load_csv strips the blanks around a header name
        assert header[0] == cell
    assert [row[header.index("prediction")] for row in rows] == [cell, "other", cell]
    assert [row[0] for row in rows] == ["-1", "1", "-0.5"]  # negative numbers stay numbers
    assert float(rows[0][1]) < 0.5  # the output cell is a number too


# ------------------------------------------------------------------ 5. every hint works as printed
HINT = re.compile(r"`(glassnet [^`]+)`|^\s+(glassnet \S.*)$", flags=re.M)
PLACEHOLDER = re.compile(r"\b[A-Z]{2,}\b|\.\.\.")  # NAME, FILE.py, ...: a pattern, not a command to type

# Command lines whose output suggests another glassnet command line.
HINTING = [
    ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "20", "--out", "run.npz", "--report", "r.html"],
    ["train", "--data", "flowers.csv", "--target", "kind", "--layers", "2,4,3", "--epochs", "5", "--out", "my run.npz",
     "--report", "f.html"],
    ["train", "--data", "moons", "--n", "50", "--data-seed", "3", "--layers", "2,4,1", "--epochs", "5", "--standardize",
     "--out", "moons.npz", "--report", "m.html"],
    ["demo", "--epochs", "50"],
    ["demo", "--bias-bug"],
    ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "abc"],
    ["trian", "--data", "xor"],
    ["predict", "missing.npz", "--data", "xor", "--target", "x", "--what"],
]


def run(cli, capsys, argv: list[str]) -> tuple[int, str, str]:
    """``cli(*argv)``, also when argparse ends it with SystemExit (--help: 0, a mistake: 2)."""
    try:
        return cli(*argv)  # type: ignore[no-any-return]
    except SystemExit as exc:
        captured = capsys.readouterr()
        return int(exc.code or 0), captured.out, captured.err


@pytest.mark.parametrize("argv", HINTING, ids=" ".join)
def test_every_glassnet_command_a_hint_prints_works_as_typed(cli, folder, capsys, argv):
    _, out, err = run(cli, capsys, argv)
    hints = [a or b for a, b in HINT.findall(out + err)]
    hints = [h.strip() for h in hints if not PLACEHOLDER.search(h)]
    assert hints, f"glassnet {' '.join(argv)} printed no command to try:\n{out}{err}"
    for hint in hints:
        words = shlex.split(hint)
        code, _, err = run(cli, capsys, words[1:])
        # gradcheck and doctor exit with 1 when they find a problem: the command worked
        assert code in ((0, 1) if words[1] in ("doctor", "gradcheck") else (0,)), f"{hint}\n{err}"
