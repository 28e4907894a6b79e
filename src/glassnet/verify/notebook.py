"""The doctor in a notebook: check a training loop where it is written, without running the training.

Two ways in, both ending in :func:`glassnet.verify.script.diagnose_source` (the doctor of a script as
written) and a report shown under the cell (an HTML table in Jupyter, text elsewhere):

* ``with gn.doctor.watch():`` around the training code, in a cell, a script or a function. The block's
  body is **never run**, not even its first line: :class:`watch` reads the block's source, stops Python
  before the body's first line, and hands the body to the doctor, which runs the lines before the loop
  and then single passes of the loop body on copies of the caller's variables.
* ``%%doctor [--loss EXPR] [--params W1,b1,...] [--loop LINE]`` on top of a cell (after
  ``%load_ext glassnet``): the whole cell is the script, the notebook's variables are its namespace.

How :class:`watch` skips its body (the well-known trick for a ``with`` block that must not run):
``__enter__`` finds the caller's frame, reads the ``with`` statement from the caller's source
(``linecache``, which IPython fills for every cell, else ``inspect``), switches tracing on (a no-op
global trace function, so Python emits line events) and gives the caller's frame a local trace function
that raises a private exception at the first line event inside the block. That exception comes out of the
body's first line before it executes; ``__exit__`` receives it, swallows it (returns True), restores the
previous trace functions and diagnoses the body, dedented and padded with blank lines so that every line
number in the report is the line of the cell or file.

Limits:

* The block must live in a file or a cell whose source Python can find (``linecache`` or ``inspect``):
  not in code typed at the plain ``python`` prompt, ``exec`` of a string, or a file edited since it ran.
* The body must start on a line of its own (``with watch(): x = 1`` cannot be stopped in time and is refused).
* A tracer that ignores frames' local trace functions (some C-level debuggers and coverage tools) is
  replaced while ``__enter__`` arms the stop and put back in ``__exit__``; if the body ran all the same,
  ``watch`` warns and still diagnoses the source. Tracing is per thread: use ``watch`` in the thread
  that runs it.
* What the body reads must exist when the ``with`` statement is reached (earlier cells, lines above it,
  a function's arguments); names bound inside the body are not bound after it, since it never ran.

Next read: ``script/__init__.py`` (how the doctor reads the loop).
"""

from __future__ import annotations

import argparse
import ast
import html
import inspect
import linecache
import shlex
import sys
import types
import warnings
from typing import Any, NoReturn

from glassnet.errors import ConfigError, GlassnetError
from glassnet.verify.report import Report
from glassnet.verify.script import diagnose_source
from glassnet.verify.script.causes import LoopRaised

__all__ = ["load_ipython_extension", "watch"]


class _SkipBody(Exception):
    """Raised by the trace function at the body's first line; only :meth:`watch.__exit__` sees it."""


def _no_trace(frame: types.FrameType, event: str, arg: Any) -> None:
    """The global trace function while the stop is armed: it traces no new frame."""
    return None


class watch:
    """``with gn.doctor.watch(): <training code>`` diagnoses the block's code instead of running it.

    Parameters
    ----------
    loss : str, optional
        An expression in the block's names that computes the cost from the current parameters
        (when the doctor cannot tell which printed value is the cost).
    params : list of str or a comma-separated str, optional
        The parameters, as the code names them (``["W1", "b1"]`` or ``"W1,b1"``).
    loop_line : int, optional
        The first line (of the cell or file) of the training loop, when the doctor picks another one.

    Attributes
    ----------
    report : Report or None
        The diagnosis, after the block (``LoopRaised``'s report when the loop body crashed); None when
        the doctor could not check the code.
    error : GlassnetError or None
        Why the doctor could not check the code (also shown in place of a report).

    Examples
    --------
    >>> with gn.doctor.watch() as w:          # doctest: +SKIP
    ...     for epoch in range(100_000):
    ...         ...
    >>> w.report.ok                           # doctest: +SKIP
    """

    def __init__(self, loss: str | None = None, params: list[str] | str | None = None,
                 loop_line: int | None = None) -> None:
        self.loss, self.params, self.loop_line = loss, _param_list(params), loop_line
        self.report: Report | None = None
        self.error: GlassnetError | None = None
        self._frame: types.FrameType | None = None
        self._previous: tuple[Any, Any] = (None, None)

    def __enter__(self) -> watch:
        frame = sys._getframe(1)
        line = frame.f_lineno
        self._filename, self._body, self._first = frame.f_code.co_filename, "", line + 1
        try:
            self._filename, self._body, self._first = _with_body(frame)
        except GlassnetError as error:  # shown at the end of the block, which is skipped all the same
            self.error = error
        if self._first <= line:
            raise ConfigError(f"{frame.f_code.co_filename} line {line}: put the body of `with glassnet.doctor.watch():` "
                              "on lines of its own, indented below it (a body on the `with` line cannot be stopped)")
        self._namespace = _namespace(frame)
        self._previous = (sys.gettrace(), frame.f_trace)
        if not isinstance(self._previous[0], (types.FunctionType, types.MethodType)):
            # No tracer, or a C-level one that would not call frame.f_trace: ours is needed for line events.
            sys.settrace(_no_trace)
        self._frame = frame
        frame.f_trace = self._stop_at_body
        return self

    def _stop_at_body(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno >= self._first:
            raise _SkipBody
        return self._stop_at_body

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        tracer, local = self._previous
        if self._frame is not None:
            self._frame.f_trace = local
            self._frame = None  # no frame <-> watch cycle
        sys.settrace(tracer)
        if exc_type is not None and not issubclass(exc_type, _SkipBody):
            return False  # the body ran after all and raised: let the user see it
        if self.error is not None:
            _show(None, self.error, self._filename)
            return True
        if exc_type is None:
            warnings.warn("glassnet.doctor.watch: the block's body ran, because another tool's tracer kept watch from "
                          "stopping it (a debugger or coverage); the diagnosis below is of its source", stacklevel=2)
        try:
            self.report = diagnose_source(self._body, self._filename, self._namespace, loss=self.loss,
                                          params=self.params, loop_line=self.loop_line)
        except LoopRaised as raised:
            self.report = raised.report
        except GlassnetError as error:
            if "--" in str(error):  # the doctor's messages name the command line's options
                error.args = (f"{error} (with watch(), pass them as arguments: watch(loss=\"EXPR\", "
                              "params=[\"W1\", ...], loop_line=LINE))",)
            self.error = error
        finally:
            sys.settrace(tracer)  # the doctor traces the user's code itself and switches tracing off after
        self._namespace = {}
        _show(self.report, self.error, self._filename)
        return True


def _param_list(params: list[str] | str | None) -> list[str] | None:
    if isinstance(params, str):
        return [p.strip() for p in params.split(",") if p.strip()]
    return list(params) if params is not None else None


def _with_body(frame: types.FrameType) -> tuple[str, str, int]:
    """The name to cite, the body of the ``with`` statement running in ``frame`` (padded), and its first line."""
    filename, line = frame.f_code.co_filename, frame.f_lineno
    lines = linecache.getlines(filename, frame.f_globals)
    if not lines:
        try:
            lines = inspect.findsource(frame)[0]
        except (OSError, TypeError):
            lines = []
    if not lines:
        raise ConfigError(f"glassnet.doctor.watch cannot find the source of {filename} (line {line}): use it in a "
                          "notebook cell or a .py file, not at the plain python prompt or in exec() of a string")
    node = _find_with(lines, line)
    if node is None:
        raise ConfigError(f"glassnet.doctor.watch found no `with` statement at {filename} line {line}; the source "
                          "Python has for that file may be out of date (edited since it ran?)")
    body = node.body
    first = min([body[0].lineno, *(d.lineno for d in getattr(body[0], "decorator_list", []))])
    last = body[-1].end_lineno or body[-1].lineno
    indent = body[0].col_offset
    text = [ln[indent:] if not ln[:indent].strip() else ln for ln in lines[first - 1:last]]
    source = "\n" * (first - 1) + "".join(ln if ln.endswith("\n") else ln + "\n" for ln in text)
    return _display_name(filename, first, last), source, first


def _find_with(lines: list[str], line: int) -> ast.With | None:
    """The innermost ``with`` statement whose header holds ``line``, from the whole file or cell."""
    source = "".join(lines)
    tree: ast.Module | None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = _parse_cell(source, lines, line)
    if tree is None:
        return None
    # the header runs from the `with` to the body (a body on the header's own line is refused by the caller)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.With) and n.lineno <= line <= max(n.lineno, n.body[0].lineno - 1)]
    return max(found, key=lambda n: n.lineno) if found else None


def _parse_cell(source: str, lines: list[str], line: int) -> ast.Module | None:
    """A cell with IPython syntax (``%magic``, ``!cmd``): IPython's own transform, else the block alone."""
    if "IPython" in sys.modules:
        from IPython.core.inputtransformer2 import TransformerManager

        try:
            transformed = TransformerManager().transform_cell(source)
            if transformed.count("\n") == source.count("\n"):  # same lines: the line numbers still hold
                return ast.parse(transformed)
        except SyntaxError:
            pass
    # the block alone: its header and the lines after it that are blank or indented deeper
    header = lines[line - 1]
    start = len(header) - len(header.lstrip())
    block = [header]
    for text in lines[line:]:
        if text.strip() and len(text) - len(text.lstrip()) <= start:
            break
        block.append(text)
    try:
        tree = ast.parse("".join(ln[start:] if not ln[:start].strip() else ln for ln in block))
    except SyntaxError:
        return None
    ast.increment_lineno(tree, line - 1)
    return tree


def _display_name(filename: str, first: int, last: int) -> str:
    """``In[3]`` for a notebook cell; otherwise the file with the block's lines.

    The doctor caches its (padded) text under this name, so it must not be the file's own name, whose cached
    lines Python uses for tracebacks.
    """
    shell = _shell()
    if shell is not None:
        try:
            kind, name = shell.compile.format_code_name(filename) or (None, None)
            if kind == "Cell":
                return str(name)
        except Exception:  # noqa: BLE001 - an older IPython without it: fall back to the file name
            pass
    return f"{filename} lines {first}-{last}"


def _namespace(frame: types.FrameType) -> dict[str, Any]:
    """The caller's variables: globals, then locals inside a function; IPython's own names left out."""
    names = dict(frame.f_globals)
    if frame.f_locals is not frame.f_globals:  # inside a function (or a class body)
        names.update(frame.f_locals)
    return {k: v for k, v in _user_names(names).items() if not isinstance(v, watch)}


def _user_names(names: dict[str, Any]) -> dict[str, Any]:
    shell = _shell()
    hidden = getattr(shell, "user_ns_hidden", {}) if shell is not None else {}
    return {k: v for k, v in names.items() if not (k in hidden and hidden[k] is v)}


def _shell() -> Any:
    """The running IPython shell, or None (without importing IPython when nothing uses it)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def _show(report: Report | None, error: GlassnetError | None, name: str) -> None:
    """The report (or why there is none): rich output under IPython, printed text elsewhere."""
    if report is not None:
        text, page = str(report), report._repr_html_()
    else:
        text = f"glassnet doctor could not check {name}: {error}"
        page = (f"<div style='border-left:4px solid #b00020;padding:4px 8px'><b>glassnet doctor could not check "
                f"{html.escape(name)}</b><br>{html.escape(str(error))}</div>")
    if _shell() is None:
        print(text)
        return
    from IPython.display import display

    display({"text/html": page, "text/plain": text}, raw=True)


def _doctor_magic(line: str, cell: str) -> None:
    """``%%doctor [--loss EXPR] [--params W1,b1,...] [--loop LINE]``: diagnose this cell's training loop.

    The whole cell (setup and loop) is the script and the notebook's variables are its namespace (copied,
    never changed). The cell's training never runs: the doctor runs the lines before the loop once and
    single passes of the loop body. Line numbers are the cell's (the ``%%doctor`` line is line 1).
    """
    from IPython import get_ipython

    shell = get_ipython()
    name = f"In[{shell.execution_count}]"
    try:
        args = _magic_args(line)
    except GlassnetError as exc:
        _show(None, exc, name)
        return
    report: Report | None = None
    error: GlassnetError | None = None
    tracer = sys.gettrace()
    try:
        report = diagnose_source("\n" + cell, name, _user_names(shell.user_ns), loss=args.loss,
                                 params=_param_list(args.params), loop_line=args.loop)
    except LoopRaised as raised:
        report = raised.report
    except GlassnetError as exc:
        error = exc
    finally:
        sys.settrace(tracer)
    _show(report, error, name)


class _MagicParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; usage: %%doctor [--loss EXPR] [--params W1,b1,...] [--loop LINE]")


def _magic_args(line: str) -> argparse.Namespace:
    """The ``%%doctor`` line's options; a bad one is a :class:`ConfigError` with the usage."""
    parser = _MagicParser(prog="%%doctor", add_help=False)
    parser.add_argument("--loss", help="an expression computing the cost from the current parameters")
    parser.add_argument("--params", help="the parameters, comma-separated: W1,b1,W2,b2")
    parser.add_argument("--loop", type=int, help="the training loop's first line (of the cell)")
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise ConfigError(f"%%doctor options {line!r}: {exc}") from None
    return parser.parse_args(words)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext glassnet``: registers the ``%%doctor`` cell magic."""
    ipython.register_magic_function(_doctor_magic, magic_kind="cell", magic_name="doctor")
