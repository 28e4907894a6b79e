"""The bug gallery: classic mistakes in hand-written backprop, each a short runnable NumPy program.

Every program is written the way a learner writes a first network (per-row loops, plain arrays or
one variable per weight) and defines what ``glassnet doctor`` reads: ``params()``, ``loss(params)``,
``gradients(params)`` and/or ``step(params)``, ``lr`` and ``n_samples``. Run one with
``python FILE.py`` to see the symptom, and ``glassnet doctor --gallery NAME`` to see the diagnosis.
Its docstring says the bug and the fix. ``_xor.py`` holds what they share (data, sigmoid, cost).

These files are data shipped with the package, not modules of it: they import ``_xor`` from their
own folder, as a learner's scripts would.
"""

from __future__ import annotations

import ast
import os

from glassnet.errors import unknown_name

FOLDER = os.path.dirname(os.path.abspath(__file__))


def entries() -> dict[str, str]:
    """Name -> first line of the docstring (the bug in one sentence), for every program in the gallery."""
    found = {}
    for file in sorted(os.listdir(FOLDER)):
        if file.endswith(".py") and not file.startswith("_"):
            with open(os.path.join(FOLDER, file), encoding="utf-8") as handle:
                doc = ast.get_docstring(ast.parse(handle.read())) or ""
            found[file[:-3]] = doc.splitlines()[0] if doc else ""
    return found


def path(name: str) -> str:
    """The file of gallery program ``name`` (with or without ``.py``)."""
    name = name[:-3] if name.endswith(".py") else name
    if name not in entries():
        raise unknown_name("gallery program", name, entries())
    return os.path.join(FOLDER, name + ".py")


def describe(name: str) -> str:
    """The whole docstring of gallery program ``name``: the bug and the fix."""
    with open(path(name), encoding="utf-8") as handle:
        return ast.get_docstring(ast.parse(handle.read())) or ""
