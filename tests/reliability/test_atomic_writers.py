"""Every file glassnet writes goes through ``glassnet.io.atomic_write`` (temporary file, then rename), so a
crash mid-write never leaves a half-written model, checkpoint, trace, report or plot. This test reads the
source: any call that writes a file (``open`` for writing, ``write_text``, ``savefig``, ``np.save``, ...)
must sit inside a ``with atomic_write(...)`` block."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "glassnet"
WRITERS = {"write_text", "write_bytes", "savefig", "save", "savez", "savez_compressed", "tofile"}
# Calls named like writers that write no file: Network.save / Trace.save / io.save delegate to atomic_write
# (io.save is what wiring.py plugs into Network.save).
# So do a worksheet's teacher file (SheetData.save), a grading (Grading.save) and a hunt's program (Hunt.save).
NOT_FILE_WRITES = {("net", "save"), ("self", "save"), ("trace", "save"), ("model", "save"), ("io", "save"),
                   ("sheet", "save"), ("grading", "save"), ("hunt", "save")}


def _is_atomic(with_node: ast.With) -> bool:
    for item in with_node.items:
        call = item.context_expr
        if isinstance(call, ast.Call):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name == "atomic_write":
                return True
    return False


def _writes_a_file(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id == "open" or isinstance(func, ast.Attribute) and func.attr == "open":
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")
    if isinstance(func, ast.Attribute) and func.attr in WRITERS:
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return (owner, func.attr) not in NOT_FILE_WRITES
    return False


def _in_memory(tree: ast.AST) -> set[str]:
    """Names assigned an in-memory file (``io.BytesIO()``, ``StringIO()``): writing into one writes no file."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("BytesIO", "StringIO"):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def unprotected_writes(tree: ast.AST) -> list[int]:
    found: list[int] = []
    memory = _in_memory(tree)

    def visit(node: ast.AST, protected: bool) -> None:
        if isinstance(node, ast.With) and _is_atomic(node):
            protected = True
        if isinstance(node, ast.FunctionDef) and node.name == "atomic_write":
            return  # the one place that opens the temporary file itself
        into_memory = isinstance(node, ast.Call) and bool(node.args) and isinstance(node.args[0], ast.Name) \
            and node.args[0].id in memory
        if isinstance(node, ast.Call) and not protected and not into_memory and _writes_a_file(node):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, protected)

    visit(tree, False)
    return found


def test_every_file_write_in_glassnet_is_atomic():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for line in unprotected_writes(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(SRC.parent)}:{line}")
    assert not offenders, "write these through glassnet.io.atomic_write: " + ", ".join(offenders)


def test_the_check_catches_a_plain_write():
    code = "def f(fig, p):\n    with open(p, 'w') as h:\n        h.write('x')\n    fig.savefig(p)\n"
    assert unprotected_writes(ast.parse(code)) == [2, 4]
    safe = "def f(fig, p):\n    with atomic_write(p) as h:\n        fig.savefig(h, format='png')\n"
    assert unprotected_writes(ast.parse(safe)) == []
    memory = "def f(fig, p):\n    buffer = io.BytesIO()\n    fig.savefig(buffer, format='svg')\n    fig.savefig(p)\n"
    assert unprotected_writes(ast.parse(memory)) == [4]


def test_no_writer_replaces_a_device_or_a_pipe(tmp_path):
    """A rename onto a device or pipe replaces it (as root, /dev/null itself): every writer refuses one, here a
    FIFO and a link to /dev/null (the link stands in for the device, so the test can never harm the machine)."""
    import os
    import stat

    import numpy as np
    import pytest

    import glassnet as gn
    from glassnet.errors import GlassnetError
    from glassnet.io import atomic_write

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "null").symlink_to(os.devnull)
    net = gn.Network.from_sizes([2, 2, 1], seed=0)

    def text(path):
        with atomic_write(path, "w") as handle:
            handle.write("x")

    def trace(path):
        gn.explain(net, np.zeros((1, 2)), np.zeros((1, 1))).save(path)

    for name, kind in (("pipe", stat.S_ISFIFO), ("null", stat.S_ISCHR)):
        for write in (net.save, text, trace):
            with pytest.raises(GlassnetError, match="not a regular file"):
                write(tmp_path / name)
            assert kind(os.stat(tmp_path / name).st_mode), (name, write)
    assert (tmp_path / "null").is_symlink()
