"""Running the learner's script up to its training loop, then its loop body once at a time, watched.

* :func:`reach_loop` runs the script from the top under a line tracer and stops it on the first arrival
  at the training loop's first line, keeping the namespace there (module globals, or a function's locals
  on top of its globals).
* :class:`Body` runs one pass of the loop body in that namespace. While it runs, a line tracer compares
  the watched values after every line of the user's file: the first line that changed a value is where it
  changed (with whether that line ran inside the row loop). In a *frozen* run each frozen value is put back
  after every line, so every line computes at the same parameters: the cost the body computes is then the
  cost at exactly those parameters, and each change is the step that line meant to take.

Next read: ``analysis.py``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import itertools
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import ConfigError, UserCodeError
from glassnet.verify.script.source import Loop, body_module
from glassnet.verify.script.state import Path, Snapshot, copy_value, is_float_array
from glassnet.verify.usercode import user_traceback


class _Reached(BaseException):
    """Raised by the tracer at the training loop's first line: stops the script there."""


class GnReturn(Exception):
    """What a ``return`` inside a function's training loop becomes when the body runs on its own."""


@dataclass
class Reached:
    """The namespace at the training loop, and how long the script took to get there."""

    env: dict[str, Any]
    seconds: float


def reach_loop(code: types.CodeType, loop: Loop, filename: str, env: dict[str, Any]) -> Reached:
    """Run ``code`` (the whole script) in ``env`` until it first reaches ``loop``; never runs the loop.

    Raises
    ------
    UserCodeError
        The script raised (or called ``sys.exit``) before reaching the loop.
    ConfigError
        The script ended without reaching the loop (it is in a function that is never called).
    """
    target = loop.function.name if loop.function is not None else "<module>"
    captured: dict[str, Any] = {}

    def local(frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == loop.line and frame.f_code.co_name == target:
            if captured:  # the user's code caught our stop; keep stopping it
                raise _Reached
            captured["globals"] = frame.f_globals
            captured["locals"] = dict(frame.f_locals) if loop.function is not None else None
            raise _Reached
        return local

    def tracer(frame: types.FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == filename else None

    started = time.perf_counter()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(_Capped(out)), _no_show():
            sys.settrace(tracer)
            try:
                exec(code, env)
            finally:
                sys.settrace(None)
    except _Reached:
        pass
    except Flood:
        raise ConfigError(f"your script printed more than {FLOOD:,} characters before reaching its training loop "
                          f"({loop.where}), so the doctor stopped it. It began with:\n{out.getvalue()[:500]}") from None
    except SystemExit as exc:
        if not captured:
            raise UserCodeError(f"your script called sys.exit({exc.code!r}) before reaching its training loop "
                                f"({loop.where}); the doctor needs the script to get there", user_traceback(exc)
                                ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's own error (GeneratorExit too), shown with their traceback
        if not captured:
            raise UserCodeError(f"your script raised {type(exc).__name__}: {exc} before reaching its training loop "
                                f"({loop.where})", user_traceback(exc)) from None
    if not captured:
        raise ConfigError(f"your script ended without reaching its training loop ({loop.where}): the function that "
                          "holds it is never called. Call it at the end of the script (e.g. under "
                          "`if __name__ == \"__main__\":`), or point at another loop with --loop LINE")
    # The body runs in the module's own globals, so the functions it calls (which read their globals there) see
    # what it changes; a function's locals are laid on top (the script was stopped: it never reads them again).
    body_env = captured["globals"]
    if captured["locals"] is not None:
        body_env.update(captured["locals"])
    return Reached(body_env, time.perf_counter() - started)


class Flood(BaseException):
    """The user's code printed more than :data:`FLOOD` characters before reaching its training loop."""


FLOOD = 2_000_000


class _Capped(io.TextIOBase):
    """A stdout that keeps the first 20,000 characters of what the user's code prints, drops the rest, and
    stops a flood (an endless loop of prints) by raising :class:`Flood`."""

    def __init__(self, into: io.StringIO, limit: int = 20_000) -> None:
        self.into, self.limit, self.count = into, limit, 0

    def write(self, text: str) -> int:
        room = self.limit - self.into.tell()
        if room > 0:
            self.into.write(text[:room])
        self.count += len(text)
        if self.count > FLOOD:
            raise Flood
        return len(text)


@dataclass
class Change:
    """One line's change of a watched value: where, and by how much (``None`` when the shape changed)."""

    path: Path
    line: int
    filename: str
    in_row_loop: bool
    delta: np.ndarray | None
    in_place: bool
    new_shape: tuple[int, ...]


@dataclass
class Run:
    """What one pass of the loop body did."""

    changes: list[Change] = field(default_factory=list)
    error: UserCodeError | None = None
    error_line: int | None = None
    seconds: float = 0.0
    row_passes: int = 0
    row_sums: dict[str, float] = field(default_factory=dict)

    def of(self, path: Path) -> list[Change]:
        return [c for c in self.changes if c.path == path]


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape != b.shape or not np.array_equal(a, b)
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001 - incomparable values count as changed
        return True


class RowCap:
    """Lets a loop nested in the training loop run at most :attr:`limit` times per pass, and remembers if it cut one."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit  # the analysis lowers it when a pass is slow
        self.fixed = False  # set when the analysis chose the limit itself (one mini-batch)
        self.only: set[int] | None = None  # the loops (by first line) the limit applies to; None: every row loop
        self.cut = 0  # the largest number of rows a capped loop would have run
        self.largest = 0  # the most rows one capped loop ran

    def __call__(self, iterable: Any, line: int = 0) -> Any:
        if self.only is not None and line not in self.only:
            return iterable
        iterator = iter(iterable)
        items = list(itertools.islice(iterator, self.limit + 1))
        if len(items) > self.limit:
            total = len(iterable) if hasattr(iterable, "__len__") else len(items) + sum(
                1 for _ in itertools.islice(iterator, 10**6))  # zip() has no len: count what is left
            self.cut = max(self.cut, total)
            items = items[: self.limit]
        self.largest = max(self.largest, len(items))
        return items

    def __deepcopy__(self, memo: dict[int, Any]) -> RowCap:
        return self  # one cap for every run


class Body:
    """One pass of the training loop's body, run again and again from the same starting point.

    Parameters
    ----------
    loop : Loop
        The training loop (``source.find_loop``).
    filename : str
        The user's file name, as the code was compiled with (the tracer follows only its frames).
    env : dict
        The namespace at the loop (``reach_loop``); the body runs in it, and it is restored before each run.
    items : list
        The values the loop's target takes in its first iterations (``[None, None]`` for a ``while`` loop).
    loop_lines : set of int
        Lines of the file inside some loop of a function (a row loop inside a function the body calls).
    """

    def __init__(self, loop: Loop, filename: str, env: dict[str, Any], items: list[Any],
                 loop_lines: set[int], capped: list[tuple[str | None, str, types.CodeType]] = ()) -> None:  # type: ignore[assignment]
        self.loop, self.filename, self.env, self.items = loop, filename, env, items
        self.code = body_module(loop, filename)
        self.loop_lines = loop_lines
        self.row_line = min(loop.inner_lines) if loop.inner_lines else None
        self.row_header = next((n.lineno for stmt in loop.node.body for n in ast.walk(stmt)
                                if isinstance(n, (ast.For, ast.While))), None)
        self.row_exprs: list[str] = []  # summed over the rows: the cost of a per-row loop that keeps no total
        env["__GnReturn__"] = GnReturn
        env["__gn_rows__"] = self.rows = RowCap()
        for cls, name, code in capped:  # the row loops of the functions the body calls are capped the same way
            made: dict[str, Any] = {}
            exec(code, env, made)
            owner = env.get(cls) if cls else None
            if cls is None:
                env[name] = types.FunctionType(made[name].__code__, env, name, made[name].__defaults__)
            elif isinstance(owner, type):
                setattr(owner, name, types.FunctionType(made[name].__code__, env, name, made[name].__defaults__))
        self.snapshot = Snapshot(env)
        self.runs = 0
        self.seconds = 0.0

    def restore(self) -> None:
        self.snapshot.restore(self.env)

    def run(self, iteration: int = 0, watch: list[Path] = (), freeze: dict[Path, Any] | None = None,  # type: ignore[assignment]
            start: dict[Path, Any] | None = None, restore: bool = True) -> Run:
        """Run the body once (the loop's ``iteration``-th item) and report the watched values' changes.

        ``start`` sets values before the run; ``freeze`` puts values back after every line (those values
        must also be in ``start``); ``restore=False`` continues from the namespace as the last run left it.
        """
        if restore:
            self.restore()
        env = self.env
        for path, value in (start or {}).items():
            path.set(env, copy_value(value))
        env["__gn_item__"] = self.items[iteration]
        freeze = freeze or {}
        watched = list(dict.fromkeys([*watch, *freeze]))
        last = {p: copy_value(p.get(env)) for p in watched}
        objects = {p: p.get(env) for p in watched}
        result = Run()
        compiled = [(e, compile(e, "<cost>", "eval")) for e in self.row_exprs]

        def add_rows() -> None:
            for text, code in compiled:
                try:
                    value = float(np.sum(eval(code, env)))
                except Exception:  # noqa: BLE001 - a name the row has not set yet
                    continue
                result.row_sums[text] = result.row_sums.get(text, 0.0) + value

        headers = {"count": 0}
        where: dict[str, Any] = {"line": self.loop.line, "inner": False}
        body_code = self.code

        def check() -> None:
            for p in watched:
                try:
                    now = p.get(env)
                except (KeyError, AttributeError, IndexError, TypeError):
                    continue
                if not _differs(now, last[p]):
                    continue
                shape = np.shape(now)
                delta = (np.asarray(now, dtype=np.float64) - np.asarray(last[p], dtype=np.float64)
                         if shape == np.shape(last[p]) and _numeric(now) else None)
                in_place = now is objects[p]
                result.changes.append(Change(p, where["line"], self.filename, where["inner"], delta, in_place, shape))
                if p in freeze:
                    value = freeze[p]
                    if in_place and isinstance(now, np.ndarray) and now.shape == np.shape(value):
                        np.copyto(now, value, casting="unsafe")
                    else:
                        p.set(env, copy_value(value))
                        objects[p] = p.get(env)
                    last[p] = copy_value(value)
                else:
                    last[p] = copy_value(now)
                    objects[p] = now

        def local(frame: types.FrameType, event: str, arg: Any) -> Any:
            if event in ("line", "return"):
                if watched:
                    check()
                if event == "line":
                    where["line"] = frame.f_lineno
                    where["inner"] = self._in_row_loop(frame, body_code)
                    if frame.f_code is body_code and frame.f_lineno == self.row_line:
                        result.row_passes += 1
                    if frame.f_code is body_code and frame.f_lineno == self.row_header:
                        headers["count"] += 1
                        if compiled and headers["count"] > 1:
                            add_rows()  # back at the row loop's header: the row before is complete, and its
                            # target (`for x, y in ...`) not yet rebound
                elif frame.f_back is not None and frame.f_back.f_code.co_filename == self.filename:
                    where["line"] = frame.f_back.f_lineno  # the caller goes on with its own line
                    where["inner"] = self._in_row_loop(frame.f_back, body_code)
            return local

        def tracer(frame: types.FrameType, event: str, arg: Any) -> Any:
            return local if frame.f_code.co_filename == self.filename else None

        started = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), _no_show():
                sys.settrace(tracer)
                try:
                    exec(body_code, env)
                finally:
                    sys.settrace(None)
        except GnReturn:
            pass
        except KeyboardInterrupt:
            raise
        except SystemExit as exc:
            result.error = UserCodeError(f"the loop body called sys.exit({exc.code!r})", user_traceback(exc))
            lines = [f.lineno for f in _frames(exc.__traceback__) if f.filename == self.filename]
            result.error_line = lines[-1] if lines else None
        except BaseException as exc:  # noqa: BLE001 - the user's loop body raised (GeneratorExit too): reported with its line
            tb = exc.__traceback__
            lines = [f.lineno for f in _frames(tb) if f.filename == self.filename]
            result.error_line = lines[-1] if lines else None
            result.error = UserCodeError(f"{type(exc).__name__}: {exc}", user_traceback(exc))
        if watched:
            check()
        result.seconds = time.perf_counter() - started
        self.runs += 1
        self.seconds += result.seconds
        return result

    def _in_row_loop(self, frame: types.FrameType, body_code: types.CodeType) -> bool:
        """Whether the line running now is inside a loop nested in the training loop."""
        f: types.FrameType | None = frame
        while f is not None:
            if f.f_code is body_code:
                return f.f_lineno in self.loop.inner_lines
            if f.f_lineno in self.loop_lines:
                return True
            f = f.f_back
        return False

    def value(self, expr: str) -> Any:
        """``expr`` evaluated in the namespace as the last run left it (``None`` when it fails)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return eval(compile(expr, self.filename, "eval"), self.env)
        except Exception:  # noqa: BLE001 - an expression that does not evaluate is no cost
            return None


def _numeric(value: Any) -> bool:
    return is_float_array(value) or isinstance(value, (int, float, np.number)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "iuf")


def _frames(tb: types.TracebackType | None) -> list[Any]:
    import traceback

    return list(traceback.extract_tb(tb))


@contextlib.contextmanager
def _no_show() -> Any:
    """``plt.show()`` and ``input()`` in the loop body would block: make them do nothing while it runs."""
    saved = builtins.input
    builtins.input = lambda *a, **k: ""  # type: ignore[assignment]
    plt: Any = sys.modules.get("matplotlib.pyplot")
    kept = {name: getattr(plt, name, None) for name in ("show", "pause")} if plt is not None else {}
    for name in kept:
        setattr(plt, name, lambda *a, **k: None)
    try:
        yield
    finally:
        builtins.input = saved
        for name, fn in kept.items():
            setattr(plt, name, fn)


def loop_items(loop: Loop, env: dict[str, Any], count: int = 2) -> list[Any]:
    """The first ``count`` values the training loop's target takes (``None`` each for a ``while`` loop)."""
    node = loop.node
    if isinstance(node, ast.While):
        return [None] * count
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            iterator = iter(eval(compile(ast.Expression(node.iter), "<loop>", "eval"), env))
            items = []
            for _ in range(count):
                items.append(next(iterator))
    except StopIteration:
        pass
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's iterable (GeneratorExit too)
        raise UserCodeError(f"the training loop's `{ast.unparse(node.iter)}` raised {type(exc).__name__}: {exc}",
                            user_traceback(exc)) from None
    if not items:
        raise ConfigError(f"{loop.where} runs no iteration (`{ast.unparse(node.iter)}` is empty)")
    return items

