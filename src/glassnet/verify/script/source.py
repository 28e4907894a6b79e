"""Reading the learner's script as text: where the training loop is, which lines are inside its row loop,
which lines update what, and which expressions the loop prints as its cost.

Nothing here runs the script; ``runner.py`` does. The training loop is the outermost ``for``/``while`` (at
module level, or in a function or method) whose body updates something: an augmented assignment such as
``W -= lr * dW``, or ``W = W - ...``, directly or in a function of the same file that the body calls.

Next read: ``state.py`` (the script's variables when it reaches the loop).
"""

from __future__ import annotations

import ast
import copy
import re
import types
from dataclasses import dataclass, field

from glassnet.errors import ConfigError

COST_NAME = re.compile(r"^(total_?|epoch_?|sum_?|mean_?|avg_?|running_?|train_?)?(cost|loss|error|err|mse|sse|j)"
                       r"(_?(sum|total|value|epoch|train|avg|mean))?$", re.IGNORECASE)
EPOCH_NAME = re.compile(r"epoch|iter|step|n_?iter|num|round|it$|^i$|^e$|^_$", re.IGNORECASE)


@dataclass
class Loop:
    """The training loop found in the script.

    Attributes
    ----------
    node : ast.For | ast.While
        The loop statement (its line numbers are the user's file's).
    function : ast.FunctionDef | None
        The function or method that holds it; ``None`` at module level.
    inner_lines : set of int
        Lines inside loops nested in the training loop's body (the row or batch loop).
    body_lines : set of int
        Every line of the loop's body.
    """

    node: ast.For | ast.While
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    inner_lines: set[int] = field(default_factory=set)
    body_lines: set[int] = field(default_factory=set)
    owner_class: str | None = None

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def where(self) -> str:
        if self.function is None:
            return f"the loop at line {self.line}"
        return f"the loop at line {self.line} (in {self.function.name}())"


def parse(source: str, filename: str) -> ast.Module:
    """The script's syntax tree; a syntax error becomes a :class:`ConfigError` naming the line."""
    try:
        return ast.parse(source, filename)
    except SyntaxError as exc:
        raise ConfigError(f"{filename} line {exc.lineno}: {exc.msg}; glassnet doctor reads scripts that Python can run"
                          ) from None


def _lines(nodes: list[ast.stmt]) -> set[int]:
    out: set[int] = set()
    for node in nodes:
        out.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return out


def _functions(tree: ast.Module) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method of the file by its name (methods of different classes share a name)."""
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(node.name, []).append(node)
    return found


def _called(nodes: list[ast.stmt]) -> set[str]:
    names = set()
    for node in nodes:
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                f = call.func
                names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


def _is_update(node: ast.AST) -> bool:
    """``p -= ...``, ``p += ...``, ``p = p - ...``/``p + ...``: a statement that moves something by a step."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Sub, ast.Add)):
        return not isinstance(node.target, ast.Name) or not COST_NAME.match(node.target.id)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp):
        target = ast.unparse(node.targets[0])
        return isinstance(node.value.op, (ast.Sub, ast.Add)) and ast.unparse(node.value.left) == target
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, (ast.ListComp, ast.Call,
                                                                                            ast.GeneratorExp)):
        # Nielsen's style: weights = [w - eta * nw for w, nw in zip(weights, nabla_w)]
        target = ast.unparse(node.targets[0])
        steps = any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Sub, ast.Add)) for n in ast.walk(node.value))
        reads = any(isinstance(n, (ast.Name, ast.Attribute)) and ast.unparse(n) == target for n in ast.walk(node.value))
        return steps and reads and any(isinstance(n, ast.comprehension) for n in ast.walk(node.value))
    return False


def _updates(nodes: list[ast.stmt], functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]],
             seen: set[str]) -> int:
    """How many update statements run in ``nodes``, counting those of the file's functions they call."""
    count = sum(1 for n in nodes for sub in ast.walk(n) if _is_update(sub))
    for name in _called(nodes) - seen:
        seen.add(name)
        for fn in functions.get(name, []):
            count += _updates(fn.body, functions, seen)
    return count


def _loops(tree: ast.Module) -> list[tuple[ast.For | ast.While, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
    """Every outermost loop of the module and of each function, with the function that holds it."""
    found: list[tuple[ast.For | ast.While, ast.FunctionDef | ast.AsyncFunctionDef | None]] = []

    def visit(nodes: list[ast.stmt], owner: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        for node in nodes:
            if isinstance(node, (ast.For, ast.While)):
                found.append((node, owner))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.body, node)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, None)
            elif isinstance(node, (ast.If, ast.With, ast.Try)):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []), owner)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, owner)

    visit(tree.body, None)
    return found


def _header_looks_like_epochs(node: ast.For | ast.While) -> bool:
    if isinstance(node, ast.While):
        return True
    names = [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)]
    iterated = ast.unparse(node.iter)
    return any(EPOCH_NAME.search(n) for n in names) or "range" in iterated or "epoch" in iterated.lower()


def find_loop(tree: ast.Module, line: int | None = None) -> Loop:
    """The training loop: the one at ``line`` if given, else the best outermost loop that updates something.

    Raises
    ------
    ConfigError
        When no loop updates anything (with the loops seen), or ``line`` is not a loop's first line.
    """
    functions = _functions(tree)
    if line is not None:
        for node in ast.walk(tree):
            if isinstance(node, (ast.For, ast.While)) and node.lineno == line:
                return _describe(tree, node)
        raise ConfigError(f"line {line} is not the first line of a for or while loop; give --loop the line of your "
                          "training loop's `for epoch in ...:`")
    scored = []
    loops = _loops(tree)
    # a loop in a function that another loop's body calls is that loop's row loop, not the training loop
    called_from_loops = {name for node, _ in loops for name in _called(node.body)}
    for order, (node, owner) in enumerate(loops):
        updates = _updates(node.body, functions, set())
        if owner is not None and owner.name in called_from_loops and any(
                owner.name in _called(other.body) for other, _ in loops if other is not node):
            continue
        if updates:
            nested = any(isinstance(n, (ast.For, ast.While)) for b in node.body for n in ast.walk(b)) or any(
                isinstance(n, (ast.For, ast.While)) for name in _called(node.body) for fn in functions.get(name, [])
                for n in ast.walk(fn))
            score = updates + 5 * _header_looks_like_epochs(node) + 2 * nested
            scored.append((score, -order, node))
    if not scored:
        raise ConfigError("found no training loop: no for/while loop updates a parameter (a line such as "
                          "`W -= learning_rate * dW` or `W = W - lr * dW`, in the loop or in a function it calls). "
                          "Point at it with --loop LINE (the line of `for epoch in ...:`)")
    return _describe(tree, max(scored, key=lambda s: (s[0], s[1]))[2])


def _describe(tree: ast.Module, node: ast.For | ast.While) -> Loop:
    owner = None
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(n is node for n in ast.walk(fn)):
            if owner is None or fn.lineno > owner.lineno:  # the innermost function holding it
                owner = fn
    inner: set[int] = set()
    for stmt in node.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, (ast.For, ast.While)):
                inner |= _lines(sub.body)
    cls = next((c.name for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and owner is not None
                and any(f is owner for f in c.body)), None)
    return Loop(node, owner, inner, _lines(node.body), cls)


@dataclass
class UpdateLine:
    """A statement that writes a parameter: its line, text, and the names and numbers that scale its step."""

    line: int
    text: str
    target: str
    in_inner_loop: bool
    names: list[str]
    literals: list[float]
    is_update: bool


def update_lines(tree: ast.Module, lines: list[str], loop: Loop) -> list[UpdateLine]:
    """Every update-like statement in the loop body and in the file's functions it calls, in file order."""
    functions = _functions(tree)
    nodes: list[tuple[ast.Assign | ast.AugAssign, bool]] = []
    seen: set[str] = set()

    def collect(body: list[ast.stmt], inner: bool) -> None:
        for stmt in body:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.AugAssign) or (isinstance(sub, ast.Assign) and len(sub.targets) == 1):
                    nodes.append((sub, inner or sub.lineno in loop.inner_lines))
        for name in _called(body) - seen:
            seen.add(name)
            for fn in functions.get(name, []):
                collect(fn.body, inner)

    collect(loop.node.body, False)
    out = []
    for node, inner in nodes:
        target = node.target if isinstance(node, ast.AugAssign) else node.targets[0]
        value = node.value
        names = [n.id for n in ast.walk(value) if isinstance(n, ast.Name)]
        literals = [float(n.value) for n in ast.walk(value)
                    if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)]
        out.append(UpdateLine(node.lineno, lines[node.lineno - 1].strip(), ast.unparse(target), inner, names, literals,
                              _is_update(node)))
    return sorted(out, key=lambda u: u.line)


@dataclass
class CostCandidate:
    """An expression that may hold the script's cost, and why it was picked (``print``, a name, ``append``)."""

    expr: str
    origin: str
    rank: int


def cost_candidates(loop: Loop) -> list[CostCandidate]:
    """Expressions the loop prints, names like ``cost``/``loss``, and values it appends to a list, best first."""
    found: list[CostCandidate] = []

    def add(expr: ast.expr, origin: str, rank: int) -> None:
        if isinstance(expr, ast.Constant):
            return
        text = ast.unparse(expr)
        if not any(c.expr == text for c in found):
            found.append(CostCandidate(text, origin, rank))

    for stmt in loop.node.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                for arg in node.args:
                    for value in _printed(arg):
                        add(value, f"printed at line {node.lineno}", 0)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                  and node.args):
                add(node.args[0], f"appended at line {node.lineno}", 2)
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, (ast.Name, ast.Attribute)):
                        name = t.id if isinstance(t, ast.Name) else t.attr
                        if COST_NAME.match(name):
                            # a total accumulated over the rows beats a per-row value
                            inner = node.lineno in loop.inner_lines
                            add(t, f"`{ast.unparse(t)}`, line {node.lineno}",
                                1 if (isinstance(node, ast.AugAssign) or not inner) else 3)
    return sorted(found, key=lambda c: c.rank)


def _printed(arg: ast.expr) -> list[ast.expr]:
    """The values a ``print`` argument shows: the fields of an f-string, ``.format``/``%`` arguments, what
    ``str(...)`` turns into text inside a concatenation, or the argument itself."""
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
        inner = [n.args[0] for n in ast.walk(arg) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id in ("str", "repr", "round", "float") and n.args]
        if inner:
            return inner
    if isinstance(arg, ast.JoinedStr):
        return [v.value for v in arg.values if isinstance(v, ast.FormattedValue)]
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "format":
        return list(arg.args)
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod) and isinstance(arg.left, ast.Constant):
        return list(arg.right.elts) if isinstance(arg.right, ast.Tuple) else [arg.right]
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id in ("str", "round", "float"):
        return list(arg.args[:1])
    return [arg]


def body_module(loop: Loop, filename: str) -> types.CodeType:
    """The loop's body compiled on its own, as one pass of a one-item loop (so ``break``/``continue`` work).

    A ``for`` loop's target is bound from ``__gn_item__``; a ``return`` inside a function's loop raises
    ``__GnReturn__`` (both names are put in the namespace by the runner).
    """
    node = loop.node
    target = node.target if isinstance(node, ast.For) else ast.Name("__gn_once__", ast.Store())
    body = [_RowsCapped().visit(_ReturnToRaise().visit(stmt)) for stmt in copy.deepcopy(node.body)]
    if loop.owner_class:
        body = [_Mangled(loop.owner_class).visit(stmt) for stmt in body]
    once = ast.For(target=copy.deepcopy(target), iter=ast.Tuple([ast.Name("__gn_item__", ast.Load())], ast.Load()),
                   body=body, orelse=[], type_comment=None)
    ast.copy_location(once, node)
    module = ast.Module(body=[once], type_ignores=[])
    ast.fix_missing_locations(module)
    return compile(module, filename, "exec")


class _Mangled(ast.NodeTransformer):
    """``self.__sigmoid`` inside a method means ``self._Net__sigmoid``: Python mangles private names in a class
    body, so the loop body of a method, compiled on its own, must be mangled the same way."""

    def __init__(self, cls: str) -> None:
        self.prefix = "_" + cls.lstrip("_")

    def _mangle(self, name: str) -> str:
        return self.prefix + name if name.startswith("__") and not name.endswith("__") else name

    def visit_Attribute(self, node: ast.Attribute) -> ast.Attribute:
        self.generic_visit(node)
        node.attr = self._mangle(node.attr)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._mangle(node.id)
        return node


def capped_functions(tree: ast.Module, loop: Loop, filename: str) -> list[tuple[str | None, str, types.CodeType]]:
    """The file's functions and methods that the loop body calls and that hold a loop, recompiled with their loops
    capped like the body's (``__gn_rows__``): ``(class name or None, function name, code defining it)``.

    Decorated functions and those the loop itself is in are left as they are.
    """
    called = _called(loop.node.body)
    out = []
    owners: list[tuple[str | None, list[ast.stmt]]] = [(None, tree.body)]
    owners += [(c.name, c.body) for c in tree.body if isinstance(c, ast.ClassDef)]
    for cls, statements in owners:
        for fn in statements:
            if (isinstance(fn, ast.FunctionDef) and fn.name in called and not fn.decorator_list
                    and fn is not loop.function and any(isinstance(n, ast.For) for n in ast.walk(fn))):
                new = copy.deepcopy(fn)
                new.body = [_RowsCapped().visit(stmt) for stmt in new.body]
                if cls:
                    new.body = [_Mangled(cls).visit(stmt) for stmt in new.body]
                module = ast.Module(body=[new], type_ignores=[])
                out.append((cls, fn.name, compile(ast.fix_missing_locations(module), filename, "exec")))
    return out


class _RowsCapped(ast.NodeTransformer):
    """``for x in ITER:`` nested in the training loop becomes ``for x in __gn_rows__(ITER):``: the runner caps a
    row loop over a large data set (every pass stops after the same rows, so the passes stay comparable)."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node

    def visit_For(self, node: ast.For) -> ast.For:
        # only the outermost nested loop (the rows or batches): a loop over the parameters inside it stays whole
        line = ast.Constant(node.lineno)
        node.iter = ast.copy_location(ast.Call(ast.Name("__gn_rows__", ast.Load()), [node.iter, line], []), node.iter)
        return node


class _ReturnToRaise(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node  # a nested function's own return stays

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node

    def visit_Return(self, node: ast.Return) -> ast.stmt:
        raise_ = ast.Raise(exc=ast.Name("__GnReturn__", ast.Load()), cause=None)
        return ast.copy_location(raise_, node)
