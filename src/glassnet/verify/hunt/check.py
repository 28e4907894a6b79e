"""Is a student's fixed program right? It trains to the correct program's parameters, the doctor finds nothing.

:func:`check` answers three questions about the student's program for a seed, each on its own:

* **trains**: the program is run whole, as ``python FILE`` in a subprocess with a time limit (a crash, a hang or
  a flood of output is a verdict, with the student's own error), with an :func:`ending` appended that writes the
  trained parameters (``W1``, ``b1``, ``W2``, ``b2`` under the program's own names) and its data to a scratch
  file. What the program prints is never read: the final loss is worked out here, from those parameters and
  data (:func:`loss_of`), so a faked last line proves nothing. The parameters must equal the correct program's,
  run in this process with the same ending (same seed, same machine: ``RTOL``, rounding level); where the
  class's fix is not unique (``Bug.unique_fix`` False: any small random start is as right) the program must
  learn instead: a final loss below ``LEARNS`` of a network that answers 0.5 everywhere, and near the correct
  program's (``NEAR``);
* **doctor clean**: the doctor (``glassnet doctor``, in its own subprocess with a time limit; or in-process for
  trusted sources) finds nothing wrong in one pass of its loop;
* **what changed**: ``difflib`` over the lines' tokens (spaces and comments do not count), in the planted
  program's line numbers; whether the key's place (a planted line, or where the key's fix inserts lines) is
  among the changes; and whether most of the program was rewritten.

Scoring: the fix is right (``ok``) when it trains and the doctor is clean, whatever lines it changed: a
student who fixed the bug another correct way passes, and is told the change was not where the key's is
(``fixed_planted_line`` False), so the teacher can look. The expected loss is never shown (it would be a
number to print); ``to_text(hints="some")`` names the parameters still wrong, not the line or the fix.

Next read: ``__init__.py`` (:class:`Hunt`, which ties the program, its key and this check together).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import ConfigError, GlassnetError, OutputFileError
from glassnet.io import atomic_write
from glassnet.verify.hunt.generator import NAMES, Spec, parameters
from glassnet.verify.hunt.key import Key, Planted
from glassnet.verify.report import Report
from glassnet.verify.script.isolate import OUTPUT_LIMIT, _Output

# Same seed, same machine, same NumPy: an equivalent line moves the parameters by rounding only (measured: the
# loss by <= 4e-12 relative); a fix that is almost right (a step 0.1 % short) moves them by far more than this.
RTOL, ATOL = 1e-9, 1e-12
LEARNS = 0.2   # a fix that is not unique: the final loss below 0.2 x the loss of answering 0.5 everywhere
NEAR = 3.0     # ... and at most 3 x the correct program's final loss (plus 1 % of that baseline)
TIME_LIMIT = 20.0        # seconds: the programs train in well under one
HINTS = ("some", "full")  # what --check tells: "some" names the wrong parameters; "full" adds the doctor's words
PARAMS = ("W1", "b1", "W2", "b2")
DIFF_LINES = 60  # lines of the diff shown in words (a rewrite would print the whole file twice)


@dataclass
class Checked:
    """The verdict on one student's program for one seed (see the module docstring for the scoring)."""

    seed: int
    trains: bool
    doctor_clean: bool
    changed_lines: list[int]         # lines of the planted program the student changed (an addition: the line above)
    fixed_planted_line: bool         # the key's place (a planted line, or where its fix inserts) is among them
    loss: float | None               # the final loss of the student's trained parameters, worked out by the check
    expected_loss: float             # the correct program's (never shown to the student)
    diff: str                        # unified diff, planted program -> the student's
    planted_lines: list[int]
    problems: list[str] = field(default_factory=list)   # why it is not right yet, in words (no line, no fix)
    findings: list[str] = field(default_factory=list)   # the doctor's findings, one line each (hints="full")
    wrong_params: list[str] = field(default_factory=list)  # parameters (the program's names) not where they should be
    rewritten: bool = False          # most of the program's lines were changed

    @property
    def ok(self) -> bool:
        return self.trains and self.doctor_clean

    @property
    def verdict(self) -> str:
        if not self.ok:
            return "not fixed yet"
        if self.rewritten:
            return "fixed by a rewrite"
        return "fixed" if self.fixed_planted_line else "fixed another way"

    def to_dict(self, hints: str = "full") -> dict[str, Any]:
        full = _hints(hints) == "full"
        out = {"seed": self.seed, "ok": self.ok, "verdict": self.verdict, "trains": self.trains,
               "doctor_clean": self.doctor_clean, "changed_lines": list(self.changed_lines),
               "fixed_planted_line": self.fixed_planted_line, "rewritten": self.rewritten,
               "loss": _number(self.loss), "wrong_params": list(self.wrong_params), "problems": list(self.problems),
               "diff": self.diff}
        if full:
            out.update(planted_lines=list(self.planted_lines), findings=list(self.findings))
        return out

    def to_text(self, hints: str = "full") -> str:
        full = _hints(hints) == "full"
        out = [f"Seed {self.seed}: {self.verdict.upper()}"]
        got = "no trained parameters" if self.loss is None else f"final loss {self.loss:.6g}, worked out by the check"
        out.append(f"  trains like the correct program: {'yes' if self.trains else 'no'} ({got})")
        out.append(f"  the doctor finds nothing:        {'yes' if self.doctor_clean else 'no'}")
        if full:
            out += [f"    {f}" for f in self.findings]
        if not self.changed_lines:
            out.append("  you changed nothing")
        else:
            lines = ", ".join(map(str, self.changed_lines))
            if self.rewritten:
                said = "you rewrote most of the program, so the teacher may want to read it"
            elif self.fixed_planted_line:
                said = "the planted line among them: yes"
            elif self.ok:
                where = f" (the key's bug is at line {', '.join(map(str, self.planted_lines))})" if full else ""
                said = (f"the planted line among them: no{where}; your program is right, so the teacher may want to "
                        "see how you fixed it")
            else:
                said = ("the planted line among them: no"
                        + (f" (the key's bug is at line {', '.join(map(str, self.planted_lines))})" if full else ""))
            out.append(f"  lines you changed: {lines}; {said}")
        out += [f"  {p}" for p in self.problems]
        if not full and not self.doctor_clean:
            out.append("  (--hints full shows the doctor's findings: the line and what is wrong there)")
        if self.diff:
            diff = self.diff.rstrip("\n").splitlines()
            more = len(diff) - DIFF_LINES
            out += ["", "What you changed (- as handed out, + yours):", *diff[:DIFF_LINES]]
            if more > 0:  # a rewrite (or the wrong file) would print thousands of lines; .diff keeps them all
                out.append(f"... and {more} more lines of the diff (in the result's `diff`, or --json)")
        return "\n".join(out)


def _hints(hints: str) -> str:
    if hints not in HINTS:
        raise ConfigError(f"hints must be one of {', '.join(HINTS)} (--hints some|full), got {hints!r}")
    return hints


def _number(value: float | None) -> float | str | None:
    """A loss for JSON: nan and infinities as the strings "nan", "inf" (JSON has no such numbers)."""
    return value if value is None or math.isfinite(value) else str(value)


def ending(spec: Spec, path: str) -> str:
    """Code appended to a program: it writes the trained parameters and the data, as JSON, to ``path``.

    A name the program does not have (renamed, or kept inside a function) is written as null.
    """
    n = NAMES[spec.names]
    exprs = {**parameters(spec), "X": n["X"], "y": n["y"]}
    return f"""

# ---- added by glassnet hunt --check (not in the file handed in): it reads the trained parameters ----
def _glassnet_hunt_state():
    import json
    import numpy
    values = {{}}
    for key, expr in {exprs!r}.items():
        try:
            values[key] = numpy.asarray(eval(expr), dtype=float).tolist()
        except Exception:
            values[key] = None
    with open({path!r}, "w", encoding="utf-8") as handle:
        json.dump(values, handle)


_glassnet_hunt_state()
"""


def loss_of(spec: Spec, state: dict[str, Any]) -> float:
    """The final loss of trained parameters on the program's data, worked out here (the spec's network and loss).

    ``state`` maps W1, b1, W2, b2, X, y to nested lists. Raises ValueError when the shapes do not fit together.
    """
    W1, b1, W2, b2, X, y = (np.asarray(state[k], dtype=float) for k in (*PARAMS, "X", "y"))
    with np.errstate(all="ignore"):
        z = X @ W1 + b1
        h = 1 / (1 + np.exp(-z)) if spec.act == "sigmoid" else np.tanh(z)
        out = 1 / (1 + np.exp(-(h @ W2 + b2)))
        if out.shape != y.shape:
            raise ValueError(f"the output has shape {out.shape}, the targets {y.shape}")
        sq = (out - y) ** 2
        return float(0.5 * np.sum(sq) if spec.loss == "half_sum" else np.mean(sq))


def baseline(spec: Spec, state: dict[str, Any]) -> float:
    """The loss of a network that answers 0.5 for every row (where zero weights start): what learning beats."""
    sq = (0.5 - np.asarray(state["y"], dtype=float)) ** 2
    return float(0.5 * np.sum(sq) if spec.loss == "half_sum" else np.mean(sq))


def trusted_state(spec: Spec, source: str) -> dict[str, Any]:
    """The trained parameters and data of a program glassnet generated, run in this process with :func:`ending`
    (NumPy's global random state kept)."""
    state = np.random.get_state()
    with tempfile.TemporaryDirectory(prefix="glassnet-hunt-") as tmp:
        path = os.path.join(tmp, "state.json")
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                code = compile(source + ending(spec, path), "<hunt>", "exec")
                exec(code, {"__name__": "__main__"})  # noqa: S102 - our own program
        finally:
            np.random.set_state(state)
        with open(path, encoding="utf-8") as handle:
            return dict(json.load(handle))


def _run(path: str, state: str, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """``python FILE`` in the file's folder: (the state its ending wrote, or None when it failed; the problem)."""
    # the child keeps the environment as it is (NumPy may be found only through PYTHONPATH); its output goes
    # through the doctor's reader, which keeps only the tail and stops a flood
    proc = subprocess.Popen([sys.executable, os.path.basename(path)], cwd=os.path.dirname(path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = _Output(proc)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        output.thread.join(timeout=5)
        return None, f"your program did not finish within {timeout:g} s (an endless loop, or far more epochs?)"
    output.thread.join(timeout=5)
    if proc.stdout is not None and not output.thread.is_alive():
        proc.stdout.close()
    if output.flooded:
        return None, (f"your program printed more than {OUTPUT_LIMIT:,} characters, so the check stopped it; "
                      "print less often")
    if proc.returncode != 0:
        tail = "\n".join("    " + s for s in output.tail().strip().splitlines()[-4:])
        return None, f"your program stopped with an error (exit status {proc.returncode}):\n{tail}"
    if not os.path.exists(state):
        return None, ("your program ended before its last line (exit() or os._exit()?), so the check could not "
                      "read its trained parameters; let it run to its end")
    with open(state, encoding="utf-8") as handle:
        return dict(json.load(handle)), ""


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


def check(planted: Planted, source: str, expected: dict[str, Any], *, isolate: bool = True,
          timeout: float = TIME_LIMIT, name: str = "hunt.py") -> Checked:
    """Check the student's ``source`` against the seed's planted program and the correct program's ``expected``
    state (:func:`trusted_state` of the correct program).

    ``name`` is the student's file as messages should call it (the check runs a copy in a scratch folder).
    """
    source = source.removeprefix("\ufeff")  # a byte-order mark some editors write is not part of the program
    with tempfile.TemporaryDirectory(prefix="glassnet-hunt-") as tmp:
        path = os.path.join(tmp, f"hunt_{planted.key.seed}.py")
        state_path = os.path.join(tmp, "state.json")
        with atomic_write(path, "w", OutputFileError) as handle:  # scratch files, but written as glassnet writes
            handle.write(source)
        with atomic_write(os.path.join(tmp, "run.py"), "w", OutputFileError) as handle:
            handle.write(source + ("" if source.endswith("\n") else "\n") + ending(planted.spec, state_path))
        with ThreadPoolExecutor(max_workers=2) as pool:  # the run and the doctor, side by side
            ran = pool.submit(_run, os.path.join(tmp, "run.py"), state_path, timeout)
            report = _doctor(path, source, isolate, timeout)
            state, problem = ran.result()
    problems = [problem.replace(path, name).replace(os.path.join(tmp, "run.py"), name)] if problem else []
    loss: float | None = None
    wrong: list[str] = []
    trains = False
    if state is not None:
        loss, wrong, trains = _trains(planted, state, expected, problems)
    if isinstance(report, str):
        problems.append(report.replace(path, name))
        clean, findings = False, []
    else:
        clean = report.ok
        findings = [(f"line {f.line}: " if f.line else "") + f"{f.param}: {f.message}" for f in report.failed()]
        if not clean:
            problems.append("the doctor still finds a problem in your program")
    changed, touched, rewritten = _changes(planted.program, source, planted.key)
    diff = "".join(difflib.unified_diff(planted.program.splitlines(keepends=True), source.splitlines(keepends=True),
                                        "handed out", "yours", n=1))
    return Checked(planted.key.seed, trains, clean, changed, touched, loss, loss_of(planted.spec, expected), diff,
                   sorted(planted.key.planted_lines), problems, findings, wrong, rewritten)


def _trains(planted: Planted, state: dict[str, Any], expected: dict[str, Any],
            problems: list[str]) -> tuple[float | None, list[str], bool]:
    """(the checker's final loss, the parameters not where the correct program's are, trains?); adds the problems."""
    spec, names = planted.spec, parameters(planted.spec)
    names.update(X=NAMES[spec.names]["X"], y=NAMES[spec.names]["y"])
    missing = [names[k] for k in (*PARAMS, "X", "y") if state.get(k) is None]
    if missing:
        problems.append(f"your program has no {', '.join(f'`{m}`' for m in missing)} at its end: keep the names "
                        f"{', '.join(names.values())} as handed out; the check reads them")
        return None, [], False
    try:
        loss = loss_of(spec, state)
    except ValueError as exc:
        problems.append(f"your parameters do not fit together into the network ({exc}); keep their shapes")
        return None, [], False
    if not planted.bug.unique_fix:  # any right fix learns, each to its own parameters
        start, best = baseline(spec, state), loss_of(spec, expected)
        trains = math.isfinite(loss) and loss < LEARNS * start and loss <= NEAR * best + 0.01 * start
        if not trains:
            problems.append(f"it does not learn well enough: its final loss {loss:.6g} should be far below the "
                            f"{start:.6g} of a network that answers 0.5 everywhere")
        return loss, [], trains
    wrong = [names[k] for k in PARAMS if not _close(state[k], expected[k])]  # (the data's names are not params)
    data_changed = not (_close(state["X"], expected["X"]) and _close(state["y"], expected["y"]))
    if data_changed:
        problems.append("your program's data (X and y) is not the data handed out; put it back")
    if wrong:
        problems.append(f"after training, {', '.join(f'`{w}`' for w in wrong)} "
                        f"{'is' if len(wrong) == 1 else 'are'} not where the correct program's end")
    return loss, wrong, not wrong and not data_changed


def _close(a: Any, b: Any) -> bool:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=RTOL, atol=ATOL))


REWRITE = 0.5  # more than half of the handed-out program's lines changed: a rewrite, not a fix


def _changes(planted: str, source: str, key: Key) -> tuple[list[int], bool, bool]:
    """Lines of ``planted`` the student changed or deleted (an addition: the line above it), whether the key's place
    is among them (one of its planted lines changed, or lines added where its fix adds them), and whether most of
    the program was rewritten. Lines are compared as tokens: spaces, blank lines and comments do not count."""
    a, b = _code_lines(planted), _code_lines(source)
    if a is None or b is None:  # one side does not tokenize (a syntax error): compare both as squeezed lines
        a, b = _plain_lines(planted), _plain_lines(source)
    planted_lines = key.planted_lines
    inserts = {h.start for h in key.hunks if not h.planted}  # the fix adds lines before planted line h.start
    changed: set[int] = set()
    touched = False
    kept = 0
    matcher = difflib.SequenceMatcher(a=[t for _, t in a], b=[t for _, t in b], autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            kept += i2 - i1
        if tag in ("replace", "delete"):
            span = {a[i][0] for i in range(i1, i2)}
            changed |= span
            touched |= bool(span & planted_lines)
        if tag in ("replace", "insert"):
            # between the code lines around the addition: the same place as the key's, whatever blank lines
            low = a[i1 - 1][0] if i1 > 0 else 0
            high = a[i1][0] if i1 < len(a) else math.inf
            touched |= any(low < start <= high for start in inserts)
            if tag == "insert":
                changed.add(max(low, 1))
    rewritten = bool(a) and kept < REWRITE * len(a)
    return sorted(changed), touched and not rewritten, rewritten


def _plain_lines(source: str) -> list[tuple[int, str]]:
    return [(i, " ".join(line.split())) for i, line in enumerate(source.splitlines(), 1) if line.strip()]


def _code_lines(source: str) -> list[tuple[int, str]] | None:
    """(line number, the line's tokens joined by one space) for each line with code (comments and layout dropped);
    None for a file Python cannot tokenize."""
    by_line: dict[int, list[str]] = {}
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER}
    depth = 0  # the block depth, not the spaces: a line moved into a loop is a change, 2-space indents are not
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.INDENT, tokenize.DEDENT):
                depth += 1 if tok.type == tokenize.INDENT else -1
            elif tok.type not in skip:
                by_line.setdefault(tok.start[0], [str(depth)]).append(tok.string)
    except (tokenize.TokenError, SyntaxError):
        return None
    return sorted((i, " ".join(words)) for i, words in by_line.items())
