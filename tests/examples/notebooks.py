"""Running the tutorial notebooks of ``examples/`` on this interpreter's kernel, and reading what they printed and stored.

:func:`run_notebook` executes one notebook with nbclient (on the kernelspec of ``conftest.py``'s ``kernel``
fixture: this interpreter, this checkout's ``src`` first on its path, matplotlib's Agg backend, no user profile)
in a temporary folder. It appends one cell of its own that prints the variables a test names as JSON
(``STORED {...}``; a name may be an expression, e.g. ``"trace.gradients"``), so a test can compare the numbers a
notebook computed with an independent computation of its own; the notebook files themselves stay as a learner
reads them. Run times are kept in ``TIMES``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")
EXAMPLES = ROOT / "examples"
TIMES: dict[str, float] = {}

STORE = '''\
import json as _json
import sys

import numpy as _np


def _plain(value):
    if isinstance(value, _np.ndarray):
        return value.tolist()
    if isinstance(value, (_np.floating, _np.integer, _np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)


print("STORED " + _json.dumps({name: _plain(eval(name)) for name in NAMES}))
'''


class Executed:
    """An executed notebook: its cells (with outputs), the variables asked for, and how long it took."""

    def __init__(self, nb: nbformat.NotebookNode, stored: dict, seconds: float) -> None:
        self.nb, self.stored, self.seconds = nb, stored, seconds
        self.cells = nb.cells[:-1]  # without the STORED cell

    def tagged(self, tag: str) -> nbformat.NotebookNode:
        (cell,) = [c for c in self.cells if tag in c.get("metadata", {}).get("tags", [])]
        return cell

    def printed(self, tag: str) -> str:
        """What the cell tagged ``tag`` printed (stdout)."""
        cell = self.tagged(tag)
        return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")

    def shown(self, tag: str, mime: str) -> list[str]:
        """What the cell tagged ``tag`` displayed as ``mime`` (e.g. ``"text/html"``)."""
        return [o["data"][mime] for o in self.tagged(tag).outputs
                if o.get("output_type") in ("display_data", "execute_result") and mime in o.get("data", {})]


def run_notebook(name: str, names: list[str], kernel: dict, cwd: Path, timeout: int = 120) -> Executed:
    """Execute ``examples/<name>`` in ``cwd`` and return it with the variables ``names`` as plain JSON values."""
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / name, as_version=4)
    for cell in nb.cells:  # the repository keeps notebooks without outputs
        assert cell.cell_type != "code" or (not cell.outputs and cell.execution_count is None), f"{name} has outputs"
    nb.cells.append(nbformat.v4.new_code_cell(f"NAMES = {names!r}\n" + STORE))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in kernel.items():
            mp.setenv(key, value)  # searched before the system's kernelspecs
        spec = KernelSpecManager().get_kernel_spec("python3")
        assert spec.argv[0] == sys.executable, spec.to_dict()
        started = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}}).execute()
        seconds = time.perf_counter() - started
    TIMES[name] = seconds
    (line,) = [m for m in re.findall(r"^STORED (.*)$", "".join(o.get("text", "") for o in nb.cells[-1].outputs), re.M)]
    return Executed(nb, json.loads(line), seconds)
