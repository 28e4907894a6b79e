"""The doctor where the loop is written: ``with gn.doctor.watch():`` and the ``%%doctor`` cell magic.

The training code is a smaller copy of the gallery's ``bias_in_loop.py`` (a 2-2-1 sigmoid network by hand whose
biases are changed inside the row loop, ``bias_11 += error_neural_11``, instead of accumulating their gradient).
Its loop runs 100,000 epochs and prints every 10,000th: if a body ran even once, "0 0.2..." would be printed and
the ``ran`` counter would move. Every test checks both, and the line the doctor names, counted in the file or cell.
"""

import os
import re
import runpy
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.verify.notebook import _find_with

SRC = str(Path(__file__).resolve().parents[2] / "src")

DATA = """\
inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
targets = np.array([0, 1, 1, 0])
learning_rate = 0.1


def sigmoid(x):
    return 1 / (1 + np.exp(-x))
"""

WEIGHTS = """\
np.random.seed(1)
weights_11 = np.random.uniform(size=2)
weights_12 = np.random.uniform(size=2)
weights_output = np.random.uniform(size=2)
bias_11 = np.random.uniform()
bias_12 = np.random.uniform()
bias_output = np.random.uniform()
"""

LOOP = """\
for epoch in range(100000):
    cost = 0
    weights_11_gradient = np.zeros(2)
    weights_12_gradient = np.zeros(2)
    weights_output_gradient = np.zeros(2)
    bias_11_gradient = 0
    bias_12_gradient = 0
    bias_output_gradient = 0
    for row in range(len(inputs)):
        x = inputs[row]
        neural_11 = sigmoid(np.dot(x, weights_11) + bias_11)
        neural_12 = sigmoid(np.dot(x, weights_12) + bias_12)
        hidden = np.array([neural_11, neural_12])
        output = sigmoid(np.dot(hidden, weights_output) + bias_output)
        cost += (output - targets[row]) ** 2
        error_output = (output - targets[row]) * output * (1 - output)
        error_neural_11 = error_output * weights_output[0] * neural_11 * (1 - neural_11)
        error_neural_12 = error_output * weights_output[1] * neural_12 * (1 - neural_12)
        weights_output_gradient += error_output * hidden
        bias_output_gradient += error_output
        weights_11_gradient += error_neural_11 * x
        weights_12_gradient += error_neural_12 * x
        bias_11 += error_neural_11
        bias_12 += error_neural_12
    weights_output -= learning_rate * weights_output_gradient
    weights_11 -= learning_rate * weights_11_gradient
    weights_12 -= learning_rate * weights_12_gradient
    bias_output -= learning_rate * bias_output_gradient
    bias_11 -= learning_rate * bias_11_gradient
    bias_12 -= learning_rate * bias_12_gradient
    if epoch % 10000 == 0:
        print(epoch, cost / len(inputs))
"""

BUG_11, BUG_12 = "bias_11 += error_neural_11", "bias_12 += error_neural_12"
EPOCH_PRINT = re.compile(r"^\d+ 0\.\d+", re.MULTILINE)  # what the loop prints when it really runs


def _indent(text, n):
    return textwrap.indent(text, " " * n)


def _lines_of(text, needle):
    """The 1-based lines of ``text`` holding ``needle``."""
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line]


# A learner's script: the loop under watch() at module level and inside a function (its weights are locals
# there), and a block with no training loop.
MODULE = f"""\
import numpy as np

import glassnet as gn

ran = {{"body": 0}}
{DATA}
{WEIGHTS}
with gn.doctor.watch() as at_module:
    ran["body"] += 1
{_indent(LOOP, 4)}

def train():
{_indent(WEIGHTS, 4)}
    with gn.doctor.watch() as w:
        ran["body"] += 1
{_indent(LOOP, 8)}
    return w


in_function = train()

with gn.doctor.watch() as no_loop:
    ran["body"] += 1
    total = 1 + 1

print("ran", ran["body"])
"""


def _assert_bias_findings(report, text, occurrence):
    """``bias_11``/``bias_12`` flagged at their ``+=`` line (its ``occurrence``-th copy in ``text``), weights ok."""
    by_name = {f.param: f for f in report.findings}
    for name, bug in (("bias_11", BUG_11), ("bias_12", BUG_12)):
        finding = by_name[name]
        assert not finding.ok and finding.verdict == "changed_in_loop", finding
        assert finding.line == _lines_of(text, bug)[occurrence], (finding.line, _lines_of(text, bug))
        assert finding.source == bug
    assert all(by_name[n].ok for n in ("weights_11", "weights_12", "weights_output", "bias_output"))


def test_watch_in_a_module_and_a_function_diagnoses_without_running_the_body(tmp_path, capsys):
    path = tmp_path / "learner.py"
    path.write_text(MODULE)
    started = time.perf_counter()
    ns = runpy.run_path(str(path), run_name="__main__")
    seconds = time.perf_counter() - started
    out = capsys.readouterr().out

    assert ns["ran"] == {"body": 0}  # not one body ran, not even its first line
    assert not EPOCH_PRINT.search(out), out  # nor one epoch of the 100,000
    assert seconds < 30  # three diagnoses of single passes; the real training takes minutes
    _assert_bias_findings(ns["at_module"].report, MODULE, 0)
    _assert_bias_findings(ns["in_function"].report, MODULE, 1)  # the weights are train()'s locals
    assert ns["at_module"].error is None
    # no training loop: a message, no report, no traceback, and the script goes on
    assert ns["no_loop"].report is None and isinstance(ns["no_loop"].error, ConfigError)
    assert "could not check" in out and "Traceback" not in out and "ran 0" in out
    # printed as the report's text table, with the file's line numbers
    line = _lines_of(MODULE, BUG_11)[0]
    assert re.search(rf"bias_11\s+changed_in_loop\s+{line}\b", out), out
    # the caller's variables are untouched
    assert ns["bias_11"] == pytest.approx(runpy.run_path(str(path))["bias_11"])


def test_watch_in_a_fresh_python_prints_the_report(tmp_path):
    path = tmp_path / "learner.py"
    path.write_text(MODULE)
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and not EPOCH_PRINT.search(done.stdout)
    for line in _lines_of(MODULE, BUG_11):
        assert re.search(rf"bias_11\s+changed_in_loop\s+{line}\b", done.stdout), done.stdout
    assert done.stdout.count("PROBLEMS FOUND") == 2 and "ran 0" in done.stdout


def test_watch_refuses_a_body_on_the_with_line():
    ran = []
    with pytest.raises(ConfigError, match="lines of its own"):
        with gn.doctor.watch(): ran.append(1)  # noqa: E701
    assert ran == []


def test_watch_without_source_skips_the_body_and_says_why(capsys):
    ns = {"gn": gn, "ran": []}
    exec("with gn.doctor.watch() as w:\n    ran.append(1)\n    for i in range(10**9):\n        ran.append(i)\n", ns)
    assert ns["ran"] == [] and ns["w"].report is None
    assert "cannot find the source of <string>" in str(ns["w"].error)
    assert "could not check" in capsys.readouterr().out


@pytest.mark.parametrize("ipython", [True, False], ids=["IPython's transform", "the block alone"])
def test_watch_finds_its_block_in_a_cell_with_ipython_syntax(ipython, monkeypatch):
    if ipython:
        import IPython  # noqa: F401
    else:
        monkeypatch.delitem(sys.modules, "IPython", raising=False)
    lines = ["!ls\n", "x = 1\n", "with gn.doctor.watch() as w:\n", "    for i in range(3):\n", "        x -= 0.1 * x\n",
             "print(x)\n"]
    node = _find_with(lines, 3)
    assert node is not None and (node.lineno, node.body[0].lineno, node.body[-1].end_lineno) == (3, 4, 5)


def test_watch_puts_back_the_callers_trace_function():
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return None

    sys.settrace(tracer)
    try:
        with gn.doctor.watch() as w:
            print("never")
    finally:
        now = sys.gettrace()
        sys.settrace(None)
    assert now is tracer and isinstance(w.error, ConfigError)  # no loop in that body


# ---------------------------------------------------------------- a real notebook, run by a real kernel

SETUP_CELL = f"import numpy as np\nimport glassnet as gn\n\nran = 0\n{DATA}\n{WEIGHTS}"
DOCTOR_CELL = ("%%doctor --params weights_11,weights_12,weights_output,bias_11,bias_12,bias_output\n"
               f"ran += 1\n{LOOP}")
WATCH_CELL = f"names = %who_ls\nwith gn.doctor.watch() as w:\n    ran += 1\n{_indent(LOOP, 4)}"
CELLS = [
    SETUP_CELL,
    "%load_ext glassnet",
    DOCTOR_CELL,
    WATCH_CELL,
    "import sys\nprint('ran', ran, 'report', w.report is not None)\nprint(sys.executable)\nprint(gn.__file__)",
    "%%doctor\ntotal = 1 + 1",                          # no training loop: a message
    "with gn.doctor.watch() as nothing:\n    total = 2",  # the same through watch()
    "%%doctor --bogus\n" + LOOP,                         # a bad option: a message with the usage
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook above, executed by the python3 kernel of this interpreter (a kernelspec made here, so a
    fresh machine with only the pip packages runs it: no `ipykernel install` beforehand)."""
    from ipykernel.kernelspec import install

    tmp = tmp_path_factory.mktemp("jupyter")
    env = {"PYTHONPATH": SRC, "IPYTHONDIR": str(tmp / "ipython")}  # this checkout's glassnet; no user profile
    install(kernel_name="python3", prefix=str(tmp), env=env)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(tmp / "share" / "jupyter"))  # searched before the system's kernelspecs
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))
        spec = KernelSpecManager().get_kernel_spec("python3")
        assert Path(spec.resource_dir).is_relative_to(tmp) and spec.argv[0] == sys.executable, spec.to_dict()
        started = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True).execute()
        print(f"notebook executed in {time.perf_counter() - started:.1f} s")
    return nb


def _outputs(cell, mime):
    return [o["data"][mime] for o in cell.outputs if o.get("output_type") in ("display_data", "execute_result")
            and mime in o.get("data", {})]


def _html_row(page, name, line):
    """Whether the report's HTML table has a row for ``name`` naming ``line``."""
    return re.search(rf"<td>{name}</td><td>changed_in_loop</td><td>{line}</td>", page) is not None


def test_notebook_runs_with_no_error_and_no_training(executed):
    for cell in executed.cells:
        assert not [o for o in cell.outputs if o.get("output_type") == "error"], (cell.source, cell.outputs)
        streams = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert "Traceback" not in streams and not EPOCH_PRINT.search(streams), (cell.source, streams)
    printed = "".join(o.get("text", "") for o in executed.cells[4].outputs)
    assert "ran 0 report True" in printed  # neither the %%doctor cell nor the watch() body ran
    assert f"{sys.executable}\n{SRC}" in printed  # the kernel is this interpreter, with this checkout's glassnet


def test_doctor_magic_shows_the_report_table_with_the_cells_lines(executed):
    (page,) = _outputs(executed.cells[2], "text/html")
    assert "<table>" in page and "PROBLEMS FOUND" in page
    for name, bug in (("bias_11", BUG_11), ("bias_12", BUG_12)):
        (line,) = _lines_of(DOCTOR_CELL, bug)  # the %%doctor line is the cell's line 1
        assert _html_row(page, name, line), page
    (text,) = _outputs(executed.cells[2], "text/plain")
    assert "bias_11" in text and "PROBLEMS FOUND" in text  # a terminal IPython gets the text table


def test_watch_in_a_cell_shows_the_report_table_with_the_cells_lines(executed):
    (page,) = _outputs(executed.cells[3], "text/html")
    assert "<table>" in page and "In[" in page
    for name, bug in (("bias_11", BUG_11), ("bias_12", BUG_12)):
        (line,) = _lines_of(WATCH_CELL, bug)
        assert _html_row(page, name, line), page


@pytest.mark.parametrize("index, says", [(5, "no training loop"), (6, "no training loop"), (7, "--bogus")])
def test_cells_the_doctor_cannot_check_show_a_message(executed, index, says):
    (page,) = _outputs(executed.cells[index], "text/html")
    assert "could not check" in page and "<table>" not in page and "Traceback" not in page
    assert says in page.lower() or says in page, page
