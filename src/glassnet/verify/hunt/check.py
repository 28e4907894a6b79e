"""Is a student's fixed program right? It trains to the expected loss, the doctor finds nothing, and what changed.

:func:`check` answers three questions about the student's program for a seed, each on its own:

* **trains**: the program is run whole, as ``python FILE`` in a subprocess with a time limit (a crash or a hang
  is a verdict, with the student's own error); the number on its last ``final loss ...`` line must equal the one
  the correct program prints (relative tolerance ``RTOL``: another correct way of writing a line gives the same
  loss to rounding, a wrong fix does not);
* **doctor clean**: the doctor (``glassnet doctor``, in its own subprocess with a time limit; or in-process for
  trusted sources) finds nothing wrong in one pass of its loop;
* **what changed**: ``difflib`` against the planted program, in the planted program's line numbers, and whether
  the planted line (the key's) is among the changed ones.

Scoring: the fix is right (``ok``) when it trains and the doctor is clean, whatever lines it changed: a
student who fixed the bug another correct way passes, and is told the change was not where the key's is
(``fixed_planted_line`` False), so the teacher can look.

Next read: ``__init__.py`` (:class:`Hunt`, which ties the program, its key and this check together).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import math
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import GlassnetError
from glassnet.verify.hunt.key import Planted
from glassnet.verify.report import Report

RTOL, ATOL = 1e-5, 1e-9  # rounding differences of an equivalent line stay far below; a wrong fix moves the loss more
TIME_LIMIT = 20.0        # seconds: the programs train in well under one
FINAL = re.compile(r"^final\s+\w+\s+(\S+)\s*$")


@dataclass
class Checked:
    """The verdict on one student's program for one seed (see the module docstring for the scoring)."""

    seed: int
    trains: bool
    doctor_clean: bool
    changed_lines: list[int]         # lines of the planted program the student changed (an addition: the line above)
    fixed_planted_line: bool         # a planted line of the key is among them
    loss: float | None               # what the student's program printed as its final loss
    expected_loss: float             # what the correct program prints
    diff: str                        # unified diff, planted program -> the student's
    planted_lines: list[int]
    problems: list[str] = field(default_factory=list)   # why it is not right yet, in words
    findings: list[str] = field(default_factory=list)   # the doctor's findings, one line each

    @property
    def ok(self) -> bool:
        return self.trains and self.doctor_clean

    @property
    def verdict(self) -> str:
        if not self.ok:
            return "not fixed yet"
        return "fixed" if self.fixed_planted_line else "fixed another way"

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "ok": self.ok, "verdict": self.verdict, "trains": self.trains,
                "doctor_clean": self.doctor_clean, "changed_lines": list(self.changed_lines),
                "fixed_planted_line": self.fixed_planted_line, "planted_lines": list(self.planted_lines),
                "loss": _number(self.loss), "expected_loss": self.expected_loss, "problems": list(self.problems),
                "findings": list(self.findings), "diff": self.diff}

    def to_text(self) -> str:
        where = ", ".join(map(str, self.planted_lines))
        out = [f"Seed {self.seed}: {self.verdict.upper()}"]
        got = "no final loss" if self.loss is None else f"final loss {self.loss:.6g}"
        out.append(f"  trains to the expected loss: {'yes' if self.trains else 'no'} ({got}; the correct program "
                   f"prints {self.expected_loss:.6g})")
        out.append(f"  the doctor finds nothing:    {'yes' if self.doctor_clean else 'no'}")
        out += [f"    {f}" for f in self.findings]
        if not self.changed_lines:
            out.append("  you changed nothing")
        else:
            lines = ", ".join(map(str, self.changed_lines))
            said = ("yes" if self.fixed_planted_line else
                    f"no: the key's bug is at line {where}" + ("; your program is right, so the teacher may want to "
                                                               "see how you fixed it" if self.ok else ""))
            out.append(f"  lines you changed: {lines}; the planted line among them: {said}")
        out += [f"  {p}" for p in self.problems]
        if self.diff:
            out += ["", "What you changed (- as handed out, + yours):", self.diff.rstrip("\n")]
        return "\n".join(out)


def _number(value: float | None) -> float | str | None:
    """A loss for JSON: nan and infinities as the strings "nan", "inf" (JSON has no such numbers)."""
    return value if value is None or math.isfinite(value) else str(value)


def final_loss(stdout: str) -> float | None:
    """The number on the last ``final loss 0.0123`` line a program printed (None when there is none)."""
    for line in reversed(stdout.splitlines()):
        match = FINAL.match(line.strip())
        if match:
            try:
                return float(match.group(1))
            except ValueError:
                return None
    return None


def run_trusted(source: str) -> str:
    """What a program glassnet generated prints, run in this process (NumPy's global random state kept)."""
    state = np.random.get_state()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), np.errstate(all="ignore"):
            exec(compile(source, "<hunt>", "exec"), {"__name__": "__main__"})  # noqa: S102 - our own program
    finally:
        np.random.set_state(state)
    return out.getvalue()


def _run(path: str, timeout: float) -> tuple[str | None, str]:
    """``python FILE`` in the file's folder: (its output, or None when it failed; the problem in words)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # it needs NumPy only, as the student has it
    try:
        done = subprocess.run([sys.executable, os.path.basename(path)], cwd=os.path.dirname(path), env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"your program did not finish within {timeout:g} s (an endless loop, or far more epochs?)"
    if done.returncode != 0:
        tail = "\n".join("    " + s for s in done.stderr.strip().splitlines()[-4:])
        return None, f"your program stopped with an error (exit status {done.returncode}):\n{tail}"
    return done.stdout, ""


def _doctor(path: str, source: str, isolate: bool, timeout: float) -> Report | str:
    """The doctor's report on the program, or what stopped it, in words."""
    from glassnet.verify.script.analysis import diagnose_source
    from glassnet.verify.script.causes import LoopRaised
    from glassnet.verify.script.isolate import diagnose_file

    try:
        if isolate:
            return diagnose_file(path, timeout=timeout)
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            return diagnose_source(source, path)
    except LoopRaised as exc:
        return exc.report
    except GlassnetError as exc:
        return f"the doctor could not check your program: {exc}"


def check(planted: Planted, source: str, expected: float, *, isolate: bool = True, timeout: float = TIME_LIMIT,
          name: str = "hunt.py") -> Checked:
    """Check the student's ``source`` against the seed's planted program and the correct program's loss.

    ``name`` is the student's file as messages should call it (the check runs a copy in a scratch folder).
    """
    with tempfile.TemporaryDirectory(prefix="glassnet-hunt-") as tmp:
        path = os.path.join(tmp, f"hunt_{planted.key.seed}.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
        with ThreadPoolExecutor(max_workers=2) as pool:  # the run and the doctor, side by side
            ran = pool.submit(_run, path, timeout)
            report = _doctor(path, source, isolate, timeout)
            stdout, problem = ran.result()
    problems = [problem.replace(path, name)] if problem else []
    loss = final_loss(stdout) if stdout is not None else None
    if stdout is not None and loss is None:
        problems.append("your program printed no `final loss ...` line at its end; keep its last line as handed out")
    trains = loss is not None and math.isclose(loss, expected, rel_tol=RTOL, abs_tol=ATOL)
    if loss is not None and not trains:
        problems.append(f"it trains to a final loss of {loss:.6g}, not to the {expected:.6g} of the correct program")
    if isinstance(report, str):
        problems.append(report.replace(path, name))
        clean, findings = False, []
    else:
        clean = report.ok
        findings = [(f"line {f.line}: " if f.line else "") + f"{f.param}: {f.message}" for f in report.failed()]
        if not clean:
            problems.append("the doctor still finds a problem (above)")
    changed, touched = _changes(planted.program, source, planted.key.planted_lines)
    diff = "".join(difflib.unified_diff(planted.program.splitlines(keepends=True), source.splitlines(keepends=True),
                                        "handed out", "yours", n=1))
    return Checked(planted.key.seed, trains, clean, changed, touched, loss, expected, diff,
                   sorted(planted.key.planted_lines), problems, findings)


def _changes(planted: str, source: str, planted_lines: set[int]) -> tuple[list[int], bool]:
    """Lines of ``planted`` the student changed or deleted (an addition: the line above it), and whether one of the
    lines the key names was changed or deleted. Trailing spaces do not count as a change."""
    a = [s.rstrip() for s in planted.splitlines()]
    b = [s.rstrip() for s in source.splitlines()]
    changed: set[int] = set()
    touched = False
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            span = set(range(i1 + 1, i2 + 1))
            changed |= span
            touched |= bool(span & planted_lines)
        elif tag == "insert":
            changed.add(max(i1, 1))
    return sorted(changed), touched
