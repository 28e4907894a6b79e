"""The doctor on training scripts as learners write them: nothing added, nothing changed.

Every expectation comes from the script's planted bug (the text substitution shown in each case), or, for
the correct scripts, from the fact that they are correct: nothing is copied from the doctor's output.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glassnet.errors import ConfigError, UserCodeError
from glassnet.verify import gallery
from glassnet.verify.script import diagnose_source
from glassnet.verify.script.isolate import diagnose_file

SCRIPTS = Path(__file__).parent / "scripts"
# The learner (one variable per neuron, `bias_11 += error_neural_11` in the row loop) is the gallery's
# bias_in_loop program; its fixed twin has only the fix.
FILES = {"seed_bias_bug": Path(gallery.path("bias_in_loop")), "seed_fixed": Path(gallery.fixed_path("bias_in_loop"))}


def script(name: str) -> Path:
    return FILES.get(name, SCRIPTS / f"{name}.py")


def source(name: str) -> str:
    return script(name).read_text()


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of ``text`` whose code starts with ``fragment`` (else holds it): the expectation names code,
    not numbers (and a docstring quoting the code is not the code)."""
    lines = list(enumerate(text.splitlines(), 1))
    return next((i for i, line in lines if line.strip().startswith(fragment)),
                next(i for i, line in lines if fragment in line))


def run(text: str, name: str = "learner.py", **options):
    return diagnose_source(text, name, **options)


CORRECT = {
    "seed_fixed": {f"weights_1{i}" for i in (1, 2, 3)} | {f"bias_1{i}" for i in (1, 2, 3)}
    | {"weights_output", "bias_output"},
    "vectorised": {"W1", "b1", "W2", "b2"},
    "functions_columns": {"W1", "b1", "W2", "b2"},
    "list_of_layers": {f"{k}[{i}]" for k in ("weights", "biases") for i in range(3)},
    "class_no_cost": {"nn.weights1", "nn.weights2"},
    # no false alarms: float32, relu kinks, saturated tanh/sigmoid, (1, n) and (n,) biases mixed, one tensor
    "float32_vectorised": {"W1", "b1", "W2", "b2"},
    "relu_kinks": {"W1", "b1", "W2", "b2"},
    "saturated": {"W1", "b1", "W2", "b2"},
    "bias_shapes_mixed": {"W1", "b1", "W2", "b2"},
    "single_tensor": {"w"},
    # written by a reviewer to break the doctor (all correct): `params = [W1, b1]` aliases, a buffer created on the
    # first pass, `global` in a function, a shuffled list of ints, numbers in a tuple, np.matrix, input() before the loop
    **{f"rv_{n}": {"W1", "b1", "W2", "b2"} for n in ("list_params", "tuple_params", "lazy_momentum", "global_fn",
                                                     "helper_global", "order_np", "tuple_with_number", "matrix",
                                                     "input_before")},
    # written by a tester who had not seen the doctor: ragged mini-batches printing only accuracy, a while loop
    # printing its counter with an L2 penalty, float32 per-row descent, a class with tanh and cross-entropy
    "unseen_ok3_functional_softmax": {"W1", "b1", "W2", "b2"},
    "unseen_ok6_while_l2": {"W1", "b1", "W2", "b2"},
    "unseen_ok7_float32_sgd": {"W_hidden", "b_hidden", "W_out", "b_out"},
    "unseen_ok2_class_tanh_bce": {"nn.W1", "nn.b1", "nn.W2", "nn.b2"},
    "unseen_ok5_dict_momentum": {"params['W1']", "params['b1']", "params['W2']", "params['b2']"},  # momentum
}

# the same tester's planted bugs (file, flagged parameters, verdict, fragment of the planted line)
UNSEEN_BUGS = {
    "unseen_bug1_rows_accum": ({"W2"}, "never_accumulated", "dW2 = delta_o * h"),
    "unseen_bug2_class_tanh_bce": ({"nn.W1", "nn.b1"}, "derivative_at_z", None),
    "unseen_bug3_functional_softmax": ({"b1"}, "bias_sum_all_axes", None),
    "unseen_bug4_layer_list": ({"weights[0]", "biases[0]", "weights[1]", "biases[1]"}, "updated_before_used", None),
    "unseen_bug5_dict_momentum": ({"params['b2']"}, "scaled", None),  # summed where the others average, with momentum
}


@pytest.mark.parametrize("name", sorted(UNSEEN_BUGS))
def test_bugs_planted_by_someone_else_are_found(name):
    bad, verdict, fragment = UNSEEN_BUGS[name]
    text = source(name)
    report = run(text)
    assert {f.param for f in report.failed()} == bad, str(report)
    assert {f.verdict for f in report.failed()} == {verdict}, str(report)
    if fragment:
        assert any(f.line == line_of(text, fragment) for f in report.failed()), str(report)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_scripts_pass_and_every_parameter_is_found(name):
    report = run(source(name))
    assert report.ok, str(report)
    assert {f.param for f in report.findings} == CORRECT[name], str(report)
    assert all(f.line and f.source for f in report.findings), str(report)


def test_the_seed_script_unchanged_names_the_biases_their_lines_and_the_fix():
    text = source("seed_bias_bug")
    report = run(text, "seed.py")
    failed = {f.param for f in report.failed()}
    assert failed == {"bias_11", "bias_12", "bias_13", "bias_output"}, str(report)
    b11 = report["bias_11"]
    assert b11.verdict == "changed_in_loop"
    assert b11.line == line_of(text, "bias_11 += error_neural_11")
    assert b11.source == "bias_11 += error_neural_11"
    assert "`bias_11_gradient` stays 0" in b11.message
    assert "You meant `bias_11_gradient += error_neural_11`" in b11.message
    assert "learning rate 1 instead of `learning_rate` = 0.1" in b11.message
    # the weights are right: judged at frozen parameters, they step along the gradient of the printed cost
    assert all(report[f"weights_1{i}"].ok for i in (1, 2, 3)) and report["weights_output"].ok
    # the normalisation is said once, as a note: the update descends 1/2 sum of squares = N/2 x the printed mean
    assert sum("normalisation" in n for n in report.notes) == 1
    assert any("N/2 = 2" in n for n in report.notes), report.notes
    assert not any("normalisation" in f.message for f in report.findings)


VEC = source("vectorised")
# name -> (planted change in vectorised.py, parameters that must be flagged, verdict, fragment of the cited line)
PLANTED = {
    "sign": (("    b2 -= lr * db2", "    b2 += lr * db2"), {"b2"}, "uphill", "b2 += lr * db2"),
    "hardcoded_lr": (("    W2 -= lr * dW2", "    W2 -= 0.1 * dW2"), {"W2"}, "hardcoded_lr", "W2 -= 0.1 * dW2"),
    "mean_vs_sum": (("dW2 = a1.T @ dz2", "dW2 = a1.T @ dz2 * len(X)"), {"W2"}, "mean_vs_sum", "W2 -= lr * dW2"),
    "bias_sum_all_axes": (("db1 = np.sum(dz1, axis=0)", "db1 = np.sum(dz1)"), {"b1"}, "bias_sum_all_axes",
                          "b1 -= lr * db1"),
    "updated_before_used": (("    da1 = dz2 @ W2.T\n", "    W2 -= lr * dW2\n    da1 = dz2 @ W2.T\n"), {"W1", "b1"},
                            "updated_before_used", "da1 = dz2 @ W2.T"),
    "derivative_at_z": (("dz1 = da1 * (1 - a1 ** 2)", "dz1 = da1 * (1 - z1 ** 2)"), {"W1", "b1"}, "derivative_at_z", None),
    "derivative_missing": (("dz1 = da1 * (1 - a1 ** 2)", "dz1 = da1"), {"W1", "b1"}, "derivative_missing", None),
    "no_backprop_through_weights": (("da1 = dz2 @ W2.T", "da1 = dz2"), {"W1", "b1"}, "no_backprop_through_weights",
                                    None),
    "preactivation_as_input": (("dW2 = a1.T @ dz2", "dW2 = z1.T @ dz2"), {"W2"}, "preactivation_as_input", None),
}


def plant(name: str) -> str:
    (old, new), *_ = PLANTED[name]
    text = VEC.replace(old, new, 1)
    if name == "updated_before_used":
        text = text.replace("    W2 -= lr * dW2\n    b2", "    b2", 1)  # the update moved up, not doubled
    assert text != VEC
    return text


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_planted_bug_flags_exactly_its_parameters(name):
    _, bad, verdict, fragment = PLANTED[name]
    text = plant(name)
    report = run(text)
    assert {f.param for f in report.failed()} == bad, str(report)
    if verdict:
        assert {f.verdict for f in report.failed()} == {verdict}, str(report)
    if fragment:
        assert any(f.line == line_of(text, fragment) for f in report.failed()), str(report)


SEED = source("seed_fixed")


def test_a_gradient_assigned_in_the_row_loop_instead_of_added_is_never_accumulated():
    text = SEED.replace("weights_11_gradient += error_neural_11 * x", "weights_11_gradient = error_neural_11 * x")
    report = run(text)
    assert [(f.param, f.verdict) for f in report.failed()] == [("weights_11", "never_accumulated")], str(report)
    assert report["weights_11"].line == line_of(text, "weights_11_gradient = error_neural_11 * x")


def test_an_accumulator_created_before_the_loop_is_never_reset():
    text = SEED.replace("    weights_output_gradient = np.zeros(3)\n", "").replace(
        "for epoch in range(20000):\n", "weights_output_gradient = np.zeros(3)\nfor epoch in range(20000):\n")
    report = run(text)
    assert [(f.param, f.verdict) for f in report.failed()] == [("weights_output", "never_reset")], str(report)
    assert "`weights_output_gradient`" in report["weights_output"].message


def test_the_command_line_reports_json_with_lines_and_exit_status(tmp_path):
    seed = script("seed_bias_bug")
    done = subprocess.run([sys.executable, "-m", "glassnet", "doctor", str(seed), "--json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    finding = next(f for f in data["findings"] if f["param"] == "bias_12")
    assert finding["line"] == line_of(seed.read_text(), "bias_12 += error_neural_12")
    assert finding["source"] == "bias_12 += error_neural_12"
    assert {"param", "verdict", "message", "ok", "line", "source"} <= set(finding)
    clean = subprocess.run([sys.executable, "-m", "glassnet", "doctor", str(script("seed_fixed"))],
                           capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_a_loop_of_a_billion_epochs_is_diagnosed_without_running_it(tmp_path):
    path = tmp_path / "forever.py"
    text = source("seed_bias_bug")
    assert "range(20000)" in text
    path.write_text(text.replace("range(20000)", "range(10 ** 9)"))
    report = diagnose_file(str(path), timeout=60)
    assert {f.param for f in report.failed()} == {"bias_11", "bias_12", "bias_13", "bias_output"}


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "learner.py"
    path.write_text(textwrap.dedent(text))
    return str(path)


LOOP = """
import numpy as np
w = np.array([0.5, -0.3]); X = np.array([[1.0, 2.0], [3.0, 1.0]]); y = np.array([1.0, 0.0]); lr = 0.1
for epoch in range(100):
    out = X @ w
    loss = np.mean((out - y) ** 2)
    w -= lr * 2 * X.T @ (out - y) / len(y)
"""


@pytest.mark.parametrize("prefix, words", [
    ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    ("raise KeyError('data.csv')\n", "KeyError"),
])
def test_a_script_that_stops_before_its_loop_says_so(tmp_path, prefix, words):
    with pytest.raises(UserCodeError, match="before reaching its training loop") as caught:
        diagnose_file(write(tmp_path, prefix + LOOP))
    assert words in str(caught.value)


def test_an_endless_step_before_the_loop_ends_at_the_time_limit_naming_its_line(tmp_path):
    with pytest.raises(ConfigError, match=r"within 3 s; it was at line 2 `while True: pass`"):
        diagnose_file(write(tmp_path, "\nwhile True: pass\n" + LOOP), timeout=3)


def test_a_flood_of_output_is_stopped(tmp_path):
    with pytest.raises(ConfigError, match="printed more than"):
        diagnose_file(write(tmp_path, "\nwhile True: print('x' * 1000)\n" + LOOP), timeout=60)


def test_a_script_that_kills_its_own_process_gets_a_clear_message(tmp_path):
    with pytest.raises(ConfigError, match="os._exit"):
        diagnose_file(write(tmp_path, "import os\nos._exit(4)\n" + LOOP))


def test_a_missing_file_and_a_script_without_a_loop_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        diagnose_file(str(tmp_path / "nope.py"))
    with pytest.raises(ConfigError, match="--loop LINE"):
        diagnose_file(write(tmp_path, "import numpy as np\nw = np.zeros(2)\n"))


def test_a_loop_without_a_cost_it_can_find_asks_for_loss_and_the_option_works(tmp_path):
    text = LOOP.replace("    loss = np.mean((out - y) ** 2)\n", "")
    report = run(textwrap.dedent(text), loss="np.mean((X @ w - y) ** 2)")
    assert report.ok and {f.param for f in report.findings} == {"w"}, str(report)


def test_params_option_names_the_parameters():
    report = run(textwrap.dedent(LOOP), params=["w"])
    assert report.ok and [f.param for f in report.findings] == ["w"]


def test_scripts_for_the_earlier_doctor_keep_working(tmp_path):
    old = """
    import numpy as np
    lr = 0.1
    def params():
        return {"w": np.array([0.5, -0.3])}
    def loss(p):
        return float(np.sum(p["w"] ** 2))
    def gradients(p):
        return {"w": -2 * p["w"]}
    """
    report = diagnose_file(write(tmp_path, old))
    assert report["w"].verdict == "sign" and not report.ok
    assert os.path.exists(write(tmp_path, old))
