"""``glassnet doctor FILE.py``: the learner's script runs in a subprocess, with a time limit and an output cap.

The parent (:func:`diagnose_file`) starts ``python -m glassnet.verify.script.isolate FILE RESULT OPTIONS``,
reads what the script prints (keeping the start and the end, stopping a flood), kills it at the time limit,
and rebuilds the :class:`~glassnet.verify.report.Report` from the JSON the child wrote. Whatever the
script does (``sys.exit``, ``os._exit``, an endless loop, a crash of the interpreter), the parent answers
with a report or a :class:`~glassnet.errors.GlassnetError` that says what happened and where.

A script written for the earlier doctor (defining ``params()``, ``loss(params)`` and ``gradients``
and/or ``step``) is checked the earlier way, in the same subprocess.
"""

from __future__ import annotations

import ast
import faulthandler
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Any

from glassnet.errors import ConfigError, GlassnetError, OutputFileError, UserCodeError
from glassnet.io import atomic_write
from glassnet.verify.report import Finding, Report

OUTPUT_LIMIT = 2_000_000  # characters the script may print before it is stopped as a flood
KEEP = 2_000              # characters of the output's end kept, to show


def diagnose_file(path: str, *, loss: str | None = None, params: list[str] | None = None, loop_line: int | None = None,
                  sample: int | None = None, timeout: float = 60.0) -> Report:
    """Diagnose the training script at ``path`` as written, in a subprocess stopped after ``timeout`` seconds.

    Raises
    ------
    ConfigError
        The file does not exist, the doctor cannot find the loop, cost or parameters (the message says
        which option points at them), or the script ran out of time or flooded its output.
    UserCodeError
        The script raised before reaching its training loop (``.user_traceback`` has the user's frames).
    """
    if not os.path.isfile(path):
        raise ConfigError(f"{path} does not exist (or is not a file); give the path of your training script")
    if not (isinstance(timeout, (int, float)) and timeout > 0 and timeout == timeout):
        raise ConfigError(f"the time limit must be a positive number of seconds, got {timeout!r} (--timeout 60)")
    options = {"loss": loss, "params": params, "loop": loop_line, "sample": sample}
    with tempfile.TemporaryDirectory(prefix="glassnet-doctor-") as tmp:
        result = os.path.join(tmp, "result.json")
        stack = os.path.join(tmp, "stack.txt")
        # the child imports this very glassnet (not another checkout installed in the environment): the folder
        # that holds glassnet/, four levels above this file (glassnet/verify/script/isolate.py)
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        path_var = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH", "")]))
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", GLASSNET_DOCTOR_STACK=stack, PYTHONPATH=path_var)
        proc = subprocess.Popen([sys.executable, "-m", "glassnet.verify.script.isolate", path, result,
                                 json.dumps(options)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        output = _Output(proc)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            if hasattr(signal, "SIGUSR1"):
                proc.send_signal(signal.SIGUSR1)  # the child writes where it is (faulthandler), then it is stopped
            try:
                proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
            proc.kill()
            proc.wait()
            timed_out = True
        output.thread.join(timeout=5)
        if proc.stdout is not None and not output.thread.is_alive():
            proc.stdout.close()  # read to its end: close it here rather than leave it to a ResourceWarning
        if output.flooded:
            raise ConfigError(f"{path} printed more than {OUTPUT_LIMIT:,} characters, so the doctor stopped it. Its "
                              f"output ended with:\n{output.tail()}\nPrint less often (e.g. every 1000 epochs)")
        if timed_out:
            raise ConfigError(f"{path} did not finish being checked within {timeout:g} s; {_where(stack, path)}. "
                              "Allow more time with --timeout SECONDS")
        if not os.path.exists(result):
            raise ConfigError(f"{path} ended the doctor's process (exit code {proc.returncode}) without a result: "
                              f"os._exit() or a crash of Python itself. Its output ended with:\n{output.tail()}")
        with open(result, encoding="utf-8") as handle:
            answer = json.load(handle)
    if "error" in answer:
        err = answer["error"]
        if err["type"] == "UserCodeError":
            raise UserCodeError(err["message"], err.get("traceback", ""))
        if err["type"] == "internal":
            print(err.get("traceback", ""), file=sys.stderr, end="")  # what to send with the report
            raise ConfigError(f"the doctor could not check {path}: {err['message']} (this is a bug in glassnet; please "
                              "report it with your script)")
        raise ConfigError(err["message"])
    return _report(answer)


class _Output:
    """Reads the child's output on a thread, keeping its start and end and noticing a flood."""

    def __init__(self, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
        self.end, self.count, self.flooded = b"", 0, False
        self.proc = proc
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        if self.proc.stdout is None:
            return
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr,attr-defined]
            self.count += len(chunk)
            self.end = (self.end + chunk)[-KEEP:]
            if self.count > OUTPUT_LIMIT and not self.flooded:
                self.flooded = True
                self.proc.kill()

    def tail(self) -> str:
        return self.end.decode("utf-8", "replace")[-KEEP:]


def _where(stack: str, path: str) -> str:
    """Where the script was when time ran out, from faulthandler's dump: the innermost line of the user's file."""
    try:
        with open(stack, encoding="utf-8", errors="replace") as handle:
            dump = handle.read()
    except OSError:
        return "it was still running"
    lines = [int(n) for f, n in re.findall(r'File "([^"]+)", line (\d+)', dump) if os.path.abspath(f) ==
             os.path.abspath(path)]
    if not lines:
        return "it was still running"
    line = lines[0]  # faulthandler lists the innermost frame first
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read().splitlines()[line - 1].strip()
    except (OSError, IndexError):
        text = ""
    return (f"it was at line {line} `{text}` (the doctor runs the script only up to its training loop and then single "
            "passes of the loop's body: a slow step before the loop, or a very slow pass, takes this long)")


def _report(answer: dict[str, Any]) -> Report:
    data = answer["report"]
    findings = [Finding(f["param"], f["verdict"], f["message"], f["ok"], f.get("details", {}), line=f.get("line"),
                        source=f.get("source")) for f in data["findings"]]
    return Report(data["title"], findings, list(data["notes"]), tuple(answer.get("columns", ())))


def old_style(source: str) -> bool:
    """Whether the script defines ``params()``, ``loss`` and ``gradients`` or ``step`` (the earlier doctor's form)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    return {"params", "loss"} <= names and bool(names & {"gradients", "step"})


def _child(path: str, result: str, options: dict[str, Any]) -> None:
    """In the subprocess: diagnose, and write the report (or the error) as JSON to ``result``."""
    from glassnet.verify.script.analysis import diagnose_source
    from glassnet.verify.script.causes import LoopRaised

    stack = os.environ.get("GLASSNET_DOCTOR_STACK")
    if stack:  # a scratch file in the parent's temporary folder, kept open for faulthandler until the process ends
        dump = os.open(stack, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # on the parent's signal at the time limit, in the main thread (a watchdog thread reading the frames of a
        # traced thread can crash the interpreter)
        if hasattr(signal, "SIGUSR1"):
            faulthandler.register(signal.SIGUSR1, file=dump, all_threads=False)
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    answer: dict[str, Any]
    try:
        with open(path, encoding="utf-8-sig") as handle:  # a byte-order mark (some editors write one) is not code
            source = handle.read()
        if old_style(source):
            from glassnet.verify.doctor import check_script

            report = check_script(path, sample=options.get("sample"))
        else:
            report = diagnose_source(source, path, loss=options.get("loss"), params=options.get("params"),
                                     loop_line=options.get("loop"))
        answer = {"report": report.to_dict(), "columns": list(report.columns)}
    except LoopRaised as exc:
        answer = {"report": exc.report.to_dict(), "columns": list(exc.report.columns)}
    except UserCodeError as exc:
        answer = {"error": {"type": "UserCodeError", "message": str(exc), "traceback": exc.user_traceback}}
    except GlassnetError as exc:
        answer = {"error": {"type": type(exc).__name__, "message": str(exc)}}
    except UnicodeDecodeError:
        answer = {"error": {"type": "ConfigError", "message": f"{path} is not a text file in UTF-8; give your .py script"}}
    except (SystemExit, KeyboardInterrupt) as exc:
        answer = {"error": {"type": "UserCodeError", "message": f"your script raised {type(exc).__name__} while the "
                            "doctor ran one pass of its training loop", "traceback": ""}}
    except Exception as exc:  # noqa: BLE001 - the doctor's own failure, reported as such
        import traceback

        answer = {"error": {"type": "internal", "message": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()}}
    with atomic_write(result, "w", OutputFileError) as handle:
        json.dump(answer, handle, default=_jsonable)


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    sys.stdout.flush()
    os._exit(0)  # the user's threads and atexit handlers must not keep the process (or change the result)
