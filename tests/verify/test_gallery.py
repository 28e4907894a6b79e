"""The bug gallery, used the way a learner uses it: each program run as a plain script, then through the doctor.

Each expectation comes from the bug planted in the program (its docstring says it), not from the doctor's
output: the parameters a right diagnosis flags (as the script names them), the verdict it gives them or the
words it must use, and the planted line (the doctor may point at it or at a flagged parameter's update line).
Every fixed twin (``gallery/fixed/NAME.py``: the same script with only the fix made) must learn when run and
pass the doctor with nothing flagged.

``known`` marks what the current doctor gets wrong, as strict xfails: an engine change that fixes one makes
its test pass, and the mark must then go.
"""

import ast
import difflib
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import pytest

from glassnet.verify import gallery
from glassnet.verify.script.isolate import diagnose_file

RUN_SECONDS = 120  # every program finishes in a few seconds; this only stops a hung one
ALLOWED_IMPORTS = {"numpy", "math", "random"}
COST = r"(?i)\b(?:loss|cost|error|mse|cross-entropy)\b\W*(-?\d[\d.e+-]*)"  # "epoch 10  loss 0.25" -> 0.25
ROWS = r"^\s*\d+\s+(-?\d[\d.e+-]*)$"                                         # "10 0.25" -> 0.25
ITERATION = r"iteration \d+: (-?\d[\d.e+-]*)"                                # "Cost after iteration 10: 0.25"


@dataclass
class Planted:
    """The bug planted in one program, and what a right diagnosis of it says."""

    flagged: set[str]             # the parameters with a wrong step, as the script names them
    verdicts: set[str] | None     # the verdicts the flagged parameters may get (None: any not-ok verdict)
    words: tuple[str | tuple[str, ...], ...]  # what the flagged findings' messages must say (any case; a tuple:
    #                                            one of its phrasings)
    bug: tuple[tuple[int, str], ...]       # the planted line(s): number and text
    updates: tuple[tuple[int, str], ...]   # the update lines of the flagged parameters
    cost: str = COST              # how to read the cost from the lines the program prints
    learns_below: float | None = None  # for a program that prints its cost once: the fixed twin gets below this
    known: dict[str, str] = field(default_factory=dict)  # test -> what the current doctor gets wrong (xfail)


PLANTED = {
    "activation_overwritten": Planted(
        flagged={"w_output"}, verdicts=None, words=("in place",),
        bug=((42, "h *= 1 - h"),),
        updates=((45, "w_output -= eta * delta_o @ h.T"),)),
    "bias_gradient_all_axes": Planted(
        flagged={"b1"}, verdicts={"bias_sum_all_axes"}, words=("axis=0",),
        bug=((46, "db1 = np.sum(dZ1) / m"),),
        updates=((49, "b1 -= lr * db1"),)),
    "bias_in_loop": Planted(
        flagged={"bias_11", "bias_12", "bias_13", "bias_output"}, verdicts={"changed_in_loop"}, words=("row loop",),
        bug=((59, "bias_output += error_output"), (63, "bias_11 += error_neural_11"),
             (64, "bias_12 += error_neural_12"), (65, "bias_13 += error_neural_13")),
        updates=((70, "bias_output -= learning_rate"), (71, "bias_11 -= learning_rate"),
                 (72, "bias_12 -= learning_rate"), (73, "bias_13 -= learning_rate")),
        cost=ROWS),
    "copy_paste_neuron": Planted(
        flagged={"w13", "w23", "b3"}, verdicts=None, words=("d3",),
        bug=((48, "d3 = d_o * v3 * h2 * (1 - h2)"),),
        updates=((70, "w13 -= rate * g_w13"), (71, "w23 -= rate * g_w23"), (72, "b3 -= rate * g_b3")),
        known={"cause": "scalar parameters get 'scaled' with negative factors ('moves along its gradient but -1.336 x "
                         "as far') and nothing ties w13, w23, b3 to the delta `d3` they share"}),
    "derivative_applied_twice": Planted(
        flagged={"brain.weights_ih", "brain.bias_h"}, verdicts=None, words=("derivative", "twice"),
        bug=((44, "hidden_errors = (self.weights_ho.T @ output_gradients) * dsigmoid(hidden)"),),
        updates=((48, "self.weights_ih += self.learning_rate"), (49, "self.bias_h += self.learning_rate")),
        cost=ROWS),
    "derivative_at_z": Planted(
        flagged={"W1", "b1"}, verdicts=None, words=("derivative", ("pre-activation", "at z", "z1")),
        bug=((44, "d1 = d2.dot(W2.T) * sigmoid_derivative(z1)"),),
        updates=((48, "W1 -= lr * X.T.dot(d1)"), (49, "b1 -= lr * d1.sum(axis=0)"))),
    "derivative_missing": Planted(
        flagged={"W1", "b1"}, verdicts=None, words=("derivative", ("missing", "never", "without")),
        bug=((27, "dh = dout @ W2.T"),),
        updates=((51, "W1 -= lr * dW1"), (52, "b1 -= lr * db1")),
        cost=ROWS),
    "derivative_of_error": Planted(
        flagged={"hidden_weights", "hidden_bias"}, verdicts=None, words=("derivative",),
        bug=((58, "sigmoid_derivative(error_hidden_layer)"),),
        updates=((63, "hidden_weights += inputs.T.dot(d_hidden_layer) * lr"), (64, "hidden_bias += np.sum(d_hidden_layer")),
        learns_below=0.01),
    "error_not_backpropagated": Planted(
        flagged={"weights[0]", "biases[0]"}, verdicts=None, words=("weights[1]",),
        bug=((50, "delta = delta * a * (1 - a)"),),
        updates=((53, "weights[i] -= learning_rate"), (54, "biases[i] -= learning_rate"))),
    "gradient_never_accumulated": Planted(
        flagged={"w_out"}, verdicts={"never_accumulated"}, words=("last row",),
        bug=((44, "grad_w_out = delta_out * hidden"),),
        updates=((50, "w_out -= lr * grad_w_out"),)),
    "gradient_not_reset": Planted(
        flagged={"W1", "b1", "W2", "b2"}, verdicts={"never_reset"}, words=("every epoch",),
        bug=((31, "dW1 = np.zeros_like(W1)"), (32, "db1 = np.zeros_like(b1)"), (33, "dW2 = np.zeros_like(W2)"),
             (34, "db2 = np.zeros_like(b2)")),
        updates=((50, "W1 -= alpha * dW1"), (51, "b1 -= alpha * db1"), (52, "W2 -= alpha * dW2"), (53, "b2 -= alpha * db2"))),
    "hardcoded_learning_rate": Planted(
        flagged={"b1"}, verdicts={"hardcoded_lr"}, words=("0.01", "learning_rate"),
        bug=((43, "b1 -= 0.01 * db1"),),
        updates=((43, "b1 -= 0.01 * db1"),)),
    "sign_flipped_update": Planted(
        flagged={"nn.b2"}, verdicts={"uphill"}, words=("-=",),
        bug=((44, "self.b2 += self.lr * db2"),),
        updates=((44, "self.b2 += self.lr * db2"),)),
    "softmax_ce_twice": Planted(
        flagged={"params['W1']", "params['b1']", "params['W2']", "params['b2']"}, verdicts=None, words=("derivative",),
        bug=((41, "dZ2 = (P - Y) / n * P * (1 - P)"),),
        updates=((58, "params[key] -= lr * grads[key]"),),
        known={"flagged": "b2's step happens to lie along its cross-entropy gradient (two classes), so only W1, b1 "
                          "and W2 are flagged"}),
    "sum_vs_mean": Planted(
        flagged={"b2"}, verdicts={"mean_vs_sum"}, words=("100",),
        bug=((44, "db2 = np.sum(dZ2, axis=0, keepdims=True)"),),
        updates=((52, "b2 = b2 - learning_rate * db2"),),
        cost=ITERATION),
    "update_before_backprop": Planted(
        flagged={"W1", "b1"}, verdicts={"updated_before_used"}, words=("W2",),
        bug=((33, "W2 -= lr * A1.T @ dZ2"), (35, "dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)")),
        updates=((36, "W1 -= lr * X.T @ dZ1"), (37, "b1 -= lr * dZ1.sum(axis=0)")),
        cost=ROWS),
    "weight_gradient_transposed": Planted(
        flagged={"W1"}, verdicts={"transposed"}, words=("transpose",),
        bug=((36, "dW1 = dz1.T @ X"),),
        updates=((39, "W1 -= lr * dW1"),)),
    "weight_gradient_transposed_columns": Planted(
        flagged={"parameters['W1']"}, verdicts={"transposed"}, words=("transpose", ("(n_out, n_in)", "@ X.T", "@ a0.T")),
        bug=((60, "dW1 = np.dot(X, dZ1.T) / m"),),
        updates=((71, 'W1 = W1 - learning_rate * grads["dW1"]'), (85, "parameters = update_parameters(parameters, grads)")),
        cost=ITERATION),
    "zero_init": Planted(
        flagged={"net.params['W1']", "net.params['W2']"}, verdicts=None, words=("symmetr",),
        bug=((23, 'self.params["W1"] = np.zeros'), (25, 'self.params["W2"] = np.zeros')),
        updates=((52, "self.params[name] -= learning_rate * grads[name]"),),
    ),
}


def _cases(test: str) -> list:
    """The programs, each marked xfail (strict) where the current doctor is known to fail ``test``."""
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=planted.known[test]))
            if test in planted.known else name for name, planted in sorted(PLANTED.items())]


def _key(name: str) -> str:
    """A parameter's name without its object: ``self.b2``, ``nn.b2`` -> ``b2`` (the class's and the script's view)."""
    head = name.split("[", 1)[0]
    return name.split(".", 1)[1] if "." in head else name


def _source(path: str) -> tuple[list[str], int]:
    """The file's lines and the last line of its module docstring."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return text.splitlines(), ast.parse(text).body[0].end_lineno or 0


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))


def _run_copy(path: str) -> subprocess.CompletedProcess:
    """``python NAME.py`` on a copy of the program in an empty folder, as a learner who downloaded it would."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gallery-") as tmp:
        copy = os.path.join(tmp, os.path.basename(path))
        shutil.copy(path, copy)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run([sys.executable, os.path.basename(path)], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=RUN_SECONDS)


@cache
def _runs() -> dict[str, object]:
    """Every program and every fixed twin, started at once (each takes a few seconds)."""
    paths = [gallery.path(n) for n in PLANTED] + [gallery.fixed_path(n) for n in PLANTED]
    return {p: _pool().submit(_run_copy, p) for p in paths}


@cache
def _reports() -> dict[str, object]:
    """The doctor's report on every program and every fixed twin, started at once."""
    paths = [gallery.path(n) for n in PLANTED] + [gallery.fixed_path(n) for n in PLANTED]
    return {p: _pool().submit(diagnose_file, p) for p in paths}


def _report(path: str):
    return _reports()[path].result()  # type: ignore[attr-defined]


def _flagged(report) -> list:
    return [f for f in report.findings if not f.ok]


def test_gallery_has_a_documented_standalone_program_and_a_fixed_twin_for_every_bug_class():
    entries = gallery.entries()
    assert set(entries) == set(PLANTED) and len(entries) >= 16
    twins = sorted(f[:-3] for f in os.listdir(os.path.join(gallery.FOLDER, "fixed")) if f.endswith(".py"))
    assert twins == sorted(PLANTED)
    for name, summary in entries.items():
        doc = gallery.describe(name)
        paragraphs = doc.split("\n\n")
        assert summary and summary == paragraphs[0] and summary.endswith("."), name
        assert any(p.startswith("The bug: ") for p in paragraphs), name
        assert any(p.startswith("The fix: ") for p in paragraphs), name
        assert f"Run it: python {name}.py    Diagnose it: glassnet doctor {name}.py" in doc.splitlines(), name
        for path in (gallery.path(name), gallery.fixed_path(name)):
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
            imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            assert imported <= ALLOWED_IMPORTS, (path, imported)  # a copy runs anywhere NumPy is installed


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_recorded_lines_are_the_planted_bug_and_the_fix_changes_it(name):
    planted = PLANTED[name]
    lines, _ = _source(gallery.path(name))
    for number, text in planted.bug + planted.updates:
        assert text in lines[number - 1], f"{name} line {number} is `{lines[number - 1].strip()}`, not `{text}`"
    # the twin differs from the program (below the docstrings) exactly at the fix: a bug line is among the changes
    twin, twin_doc = _source(gallery.fixed_path(name))
    _, doc = _source(gallery.path(name))
    changed = set()
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(a=lines[doc:], b=twin[twin_doc:], autojunk=False).get_opcodes():
        if tag != "equal":
            changed.update(range(doc + i1 + 1, doc + i2 + 1))
    assert changed and changed & {number for number, _ in planted.bug}, (name, sorted(changed))
    assert len(twin) - twin_doc - (len(lines) - doc) in (-1, 0, 1)  # only the fix: the same script otherwise


@pytest.mark.parametrize("twin", [False, True], ids=["program", "fixed"])
@pytest.mark.parametrize("name", sorted(PLANTED))
def test_runs_as_a_plain_script_copied_to_an_empty_folder(name, twin):
    path = gallery.fixed_path(name) if twin else gallery.path(name)
    done = _runs()[path].result()  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    costs = [float(m.group(1)) for line in done.stdout.splitlines() if (m := re.search(PLANTED[name].cost, line))]
    assert costs, f"{name} printed no cost this test can read:\n{done.stdout}"
    if twin:  # the fix learns: the printed cost falls tenfold (or, printed once, ends low)
        limit = PLANTED[name].learns_below
        if limit is not None:
            assert costs[-1] < limit, done.stdout
        else:
            assert len(costs) >= 2 and costs[-1] < 0.1 * costs[0], done.stdout


@pytest.mark.parametrize("name", _cases("flagged"))
def test_doctor_flags_the_planted_parameters(name):
    report = _report(gallery.path(name))
    assert not report.ok, str(report)  # glassnet doctor --gallery NAME exits 1
    assert {_key(f.param) for f in _flagged(report)} == {_key(p) for p in PLANTED[name].flagged}, str(report)


@pytest.mark.parametrize("name", _cases("cause"))
def test_doctor_names_the_cause(name):
    planted = PLANTED[name]
    report = _report(gallery.path(name))
    mine = [f for f in _flagged(report) if _key(f.param) in {_key(p) for p in planted.flagged}]
    assert mine, str(report)
    if planted.verdicts is not None:
        assert {f.verdict for f in mine} <= planted.verdicts, str(report)
    text = " ".join(f.message for f in mine).lower()
    missing = [w for w in planted.words if not any(p.lower() in text for p in ((w,) if isinstance(w, str) else w))]
    assert not missing, f"the diagnosis does not say {missing}:\n{report}"


@pytest.mark.parametrize("name", _cases("line"))
def test_doctor_points_at_the_planted_line(name):
    planted = PLANTED[name]
    report = _report(gallery.path(name))
    lines = {number for number, _ in planted.bug + planted.updates}
    mine = [f for f in _flagged(report) if _key(f.param) in {_key(p) for p in planted.flagged}]
    assert any(f.line in lines for f in mine), (sorted(lines), [(f.param, f.line) for f in mine], str(report))


@pytest.mark.parametrize("name", _cases("fixed"))
def test_fixed_twin_passes_the_doctor(name):
    report = _report(gallery.fixed_path(name))
    assert report.ok and not _flagged(report), str(report)
