"""``glassnet demo --bias-bug``: the learner's bug, its symptom, the doctor's diagnosis, the fix.

Runs the gallery program ``bias_in_loop.py`` (a hand-written 2-3-1 sigmoid network, one variable per
neuron, whose row loop adds the bias gradients straight into the biases) as the learner would, with
``python``, and shows its printed cost stuck near 0.5. Then ``diagnose_file`` reads the same script,
unchanged, and says what is wrong and on which lines. Last, the fixed twin (``gallery/fixed/``, the same
script with only the fix made) runs and learns.
"""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import sys
import tempfile

from glassnet.verify import gallery
from glassnet.verify.script.isolate import diagnose_file

NAME = "bias_in_loop"
BIASES = {"bias_11", "bias_12", "bias_13", "bias_output"}
TIMEOUT = 120.0  # seconds for one run of the learner's script

STORY = """A learner wrote a 2-3-1 sigmoid network by hand for XOR, one variable per neuron, with a loop over
the four rows inside the epoch loop. The cost gets stuck. The script ({name}) runs as written:

    python {path}
"""

DOCTOR = """
The cost is stuck at {cost:.4f}. Asking the doctor about the same script, unchanged:

    glassnet doctor {path}
"""

FIX = """
The fix, in the row loop (the fixed twin, {fixed}, differs only in these lines):
"""


def _run(path: str) -> list[tuple[int, float]]:
    """Run the script with ``python`` in an empty folder, echo what it prints, return its (epoch, cost) lines."""
    with tempfile.TemporaryDirectory(prefix="glassnet-demo-") as tmp:
        done = subprocess.run([sys.executable, path], cwd=tmp, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    costs: list[tuple[int, float]] = []
    for line in done.stdout.splitlines():
        print("    " + line)
        fields = line.split()
        try:
            costs.append((int(fields[0]), float(fields[-1])))
        except (ValueError, IndexError):
            continue
    if done.returncode != 0 or not costs:
        print(done.stderr, file=sys.stderr, end="")
    return costs


def _changed_lines(path: str, fixed: str) -> list[tuple[str, str]]:
    """The code lines the fix changes, as (before, after) pairs (the docstrings differ too, and are left out)."""
    with open(path, encoding="utf-8") as a, open(fixed, encoding="utf-8") as b:
        old, new = a.read().splitlines(), b.read().splitlines()
    old, new = old[old.index("import numpy as np"):], new[new.index("import numpy as np"):]
    pairs: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            pairs.extend(zip(old[i1:i2], new[j1:j2]))
    return pairs


def run_bias_bug() -> int:
    """Tell the story end to end; 0 when the fixed twin learns and the doctor found exactly the four biases."""
    path, fixed = gallery.path(NAME), gallery.fixed_path(NAME)
    # Whole paths in the commands shown: each must work when typed as printed, from any folder.
    print(STORY.format(name=os.path.basename(path), path=shlex.quote(path)))
    broken = _run(path)
    if not broken:
        print(f"\n{path} printed no cost lines; it should print `epoch cost` every 2000 epochs")
        return 1

    print(DOCTOR.format(cost=broken[-1][1], path=shlex.quote(path)))
    report = diagnose_file(path)
    print(report)
    flagged = {f.param for f in report.findings if not f.ok}

    print(FIX.format(fixed=os.path.relpath(fixed, gallery.FOLDER)))
    for before, after in _changed_lines(path, fixed):
        print(f"    - {before.strip()}\n    + {after.strip()}")
    print(f"\nRunning the fixed twin from the same start:\n\n    python {shlex.quote(fixed)}\n")
    learned = _run(fixed)
    if not learned:
        print(f"\n{fixed} printed no cost lines")
        return 1
    falls = learned[-1][1] < 0.1 * learned[0][1]
    print(f"\ncost at epoch {broken[-1][0]}: the learner's script {broken[-1][1]:.4f}, the fixed twin "
          f"{learned[-1][1]:.4f} ({'XOR learned' if falls else 'not learned'})")
    if flagged != BIASES:
        print(f"the doctor flagged {', '.join(sorted(flagged)) or 'nothing'}; the bug is in "
              f"{', '.join(sorted(BIASES))}")
    return 0 if falls and flagged == BIASES else 1
