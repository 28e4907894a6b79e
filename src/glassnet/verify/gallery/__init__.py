"""The bug gallery: classic mistakes in hand-written backprop, each a learner's training script that runs as is.

Every program is a standalone NumPy script (data inline, no imports beyond NumPy and the standard
library), written the way learners write their first networks: module-level epoch loops with a loop
over the rows, vectorised W1/b1/W2/b2 code, a class with ``train``/``forward``/``backward``, a list of
weight matrices, functions that take and return arrays, one variable per weight; weights in the
(n_in, n_out) and the (n_out, n_in) layout. Each has one planted bug. Its docstring says, in its
first line, the bug in one sentence, then "The bug:" (what goes wrong and what you see) and
"The fix:".

``python NAME.py`` runs it (copy it anywhere: it needs nothing else); ``glassnet doctor NAME.py``
(or ``glassnet doctor --gallery NAME``) diagnoses it unchanged. ``fixed/NAME.py`` is its fixed twin:
the same script with only the fix made, which learns, and which the doctor passes.

These files are data shipped with the package, not modules of it: nothing imports them.
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


def fixed_path(name: str) -> str:
    """The fixed twin of gallery program ``name``: the same script with only the fix made."""
    return os.path.join(FOLDER, "fixed", os.path.basename(path(name)))


def describe(name: str) -> str:
    """The whole docstring of gallery program ``name``: the bug and the fix."""
    with open(path(name), encoding="utf-8") as handle:
        return ast.get_docstring(ast.parse(handle.read())) or ""
