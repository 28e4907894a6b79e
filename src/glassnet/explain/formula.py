"""A safe evaluator of the plain formula language of ``records.py``, for grading a learner's worksheet.

A worksheet's question ``z^(1)_1 = w^(1)_{1,1}*a^(0)_1 + w^(1)_{2,1}*a^(0)_2 + b^(1)_1`` is worked out again
here with any values for its symbols: the key's own (to check that this evaluator reads the expression right)
or the learner's earlier answers (error carried forward, ``grade.py``). Nothing is passed to ``eval``: the
symbols are replaced by placeholders, the rest is parsed with :mod:`ast` and walked node by node, and only
numbers, the placeholders, a few named settings (``lr``, ``beta1``, ``eps``, ``lambda``, ...), ``+ - * / ^``,
comparisons, ``a if c else b``, ``|x|``, the plain maths of :data:`FUNCTIONS` and the activations of
``core/activations.py`` (each class's own forward, :func:`activation_functions`) are allowed; anything else is a
:class:`FormulaError` (the grader then says that blank has no error carried forward).

Sums: ``sum_n BODY`` runs over the samples, ``sum_k BODY`` over ``k = 1, 2, ...`` while the symbols exist, and a
bare ``sum BODY`` (a loss) over every free index of its body (``j`` and ``[n]``). ``BODY`` is the product that
follows, up to the next ``+``/``-`` outside parentheses, as in written maths.

Besides the value, :meth:`Formula.evaluate` returns a *magnitude*: the size of the terms that make the value
(``|a| + |b|`` for ``a - b``), so that a key of ``3e-12`` that is ``0.1 - 0.1`` is judged on the scale 0.2.
Settings and number literals are exact (they add no magnitude of their own); everything else may carry rounding,
a number given with more digits than the rest (a nudged loss) that much less.

Next read: ``answers.py`` (reading what the learner typed), then ``grade.py``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from glassnet.core.activations import ACTIVATIONS

# A symbol of the convention of records.py: dL/dw^(1)_{1,2}, a^(2)_j[n], gamma^(1) ...
_SYMBOL = r"(?:dL/d)?[A-Za-z][A-Za-z0-9]*\^\(\d+\)(?:_(?:\{[^}]*\}|\d+|[a-z]\b))?(?:\[n\])?"
_TOKEN = re.compile(
    rf"\b[a-z]+\[{_SYMBOL}\]"                      # an optimizer's state: m[w^(1)_{1,1}]
    rf"|\b[A-Za-z_][A-Za-z0-9_]*'\({_SYMBOL}\)"     # an activation's slope: sigmoid'(z^(1)_1)
    rf"|{_SYMBOL}"
    r"|(?:\bdL/d)?\b[xy]_(?:\d+|[a-z]\b)(?:\[n\])?"  # inputs and targets: x_1, y_j[n]
    r"|\bL_\{\w+\}|\bL\b"                            # the loss and its parts
)
# A free index inside a subscript (j in a^(2)_j, k in w^(2)_{j,k}).
_FREE = re.compile(r"(?<=[_{,])([a-z])(?=[},)\]]|$)")
_SUM = re.compile(r"\bsum(?:_([a-z]))?\s+")
_STOPS = (" + ", " - ", " if ", " else ", " < ", " > ", " <= ", " >= ")
_KEYWORDS = {"lambda": "_lambda"}  # a Python keyword as a setting's name


def _phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


# Plain maths of the formulas of glassnet's losses and optimizers (and of GELU's slope). The activations are not
# here: each is its own class's forward (``activation_functions``), with the settings of the sheet's layer.
FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs, "max": max, "min": min,
    "clip": lambda x, lo, hi: min(max(x, lo), hi), "Phi": _Phi, "phi": _phi,
    "softplus": lambda z: math.log1p(math.exp(-abs(z))) + max(z, 0.0),
}
MAX_LENGTH = 100_000  # characters of an expression: a z of 1,000 inputs is ~27,000


def activation_functions(config: Mapping[str, Any] | None = None) -> dict[str, Callable[..., float]]:
    """The elementwise activations of :mod:`glassnet.core.activations` as functions of one number, by name (and
    alias): each class's own ``forward`` with default settings, and the one of ``config`` (``{"name":
    "leaky_relu", "slope": 0.2}``, a layer's ``Activation.config()``) with its own settings."""
    def scalar(act: Any) -> Callable[..., float]:
        return lambda z: float(act.forward(np.array([[float(z)]]))[0, 0])

    out: dict[str, Callable[..., float]] = {}
    acts = [cls() for cls in ACTIVATIONS.classes()]
    if config:
        try:
            acts.append(ACTIVATIONS.from_config(dict(config)))
        except Exception:  # noqa: BLE001 - an activation of your own, unknown here: its blanks get no error carried forward
            pass
    for act in acts:
        if act.elementwise:
            for name in (act.name, *act.aliases):
                out[name] = scalar(act)
    return out


# lookup(symbol, sample) -> (value, exact) or (value, exact, weight); raises KeyError for a symbol it does not know.
# ``weight`` (1 when left out) scales the symbol's share of the magnitude: less than 1 for a number given with more
# digits than the rest (a nudged loss, to 10), whose rounding is that much smaller.
Lookup = Callable[[str, "int | None"], "tuple[float, bool] | tuple[float, bool, float]"]


class FormulaError(Exception):
    """The expression is not one this evaluator can read or work out (a layer of your own, a summary line)."""


def _body_end(text: str, start: int) -> int:
    """Where the product after ``sum`` at ``start`` ends: the next top-level ``+``/``-``, ``)``, ``,`` or the end."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (c == "," or any(text.startswith(s, i) for s in _STOPS)):
            return i
        i += 1
    return len(text)


def _rewrite_sums(text: str) -> str:
    """``sum_n BODY`` -> ``_sum_n(BODY)``, innermost (last) first so a sum inside a body is already a call."""
    while True:
        found = list(_SUM.finditer(text))
        if not found:
            return text
        m = found[-1]
        end = _body_end(text, m.end())
        text = f"{text[:m.start()]}_sum_{m[1] or ''}({text[m.end():end]}){text[end:]}"


class Formula:
    """One expression of a worksheet, parsed once, evaluated with any values of its symbols.

    Parameters
    ----------
    expression : str
        The plain formula (``Record.expression``).
    layer : int or None
        The record's layer: a softmax's ``sum_k exp(z_k)`` means ``z^(layer)_k``.
    known : iterable of str
        Symbols of the sheet shaped like a call (``L(w^(1)_{1,2}+0.1)``, ``gap(...)``): replaced first, longest
        first, since the symbol pattern would read them as a function of a symbol.
    functions : mapping of str to callable, optional
        The activations it may call, by name (default: :func:`activation_functions` with default settings;
        the grader passes the record's layer's own, ``LeakyReLU(0.2)``), besides :data:`FUNCTIONS`.
    """

    def __init__(self, expression: str, layer: int | None = None, known: Iterable[str] = (),
                 functions: Mapping[str, Callable[..., float]] | None = None) -> None:
        if not expression.strip():
            raise FormulaError("no expression")
        if len(expression) > MAX_LENGTH:
            raise FormulaError(f"an expression of {len(expression)} characters; at most {MAX_LENGTH} are read")
        self.functions = {**(functions if functions is not None else activation_functions()), **FUNCTIONS}
        self.templates: list[str] = []
        text = expression
        for symbol in sorted(set(known), key=len, reverse=True):
            if symbol in text:
                text = text.replace(symbol, self._hold(symbol))
        if layer is not None:
            text = re.sub(r"\bz_k\b", f"z^({layer})_k", text)
        text = _TOKEN.sub(lambda m: self._hold(m[0]), text)
        for word, name in _KEYWORDS.items():
            text = re.sub(rf"\b{word}\b", name, text)
        text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text).replace("^", "**")
        text = _rewrite_sums(text).strip()
        try:
            self.tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested too deep for the parser
            raise FormulaError(f"cannot read {expression[:80]!r}") from None
        self.text = text

    def _hold(self, symbol: str) -> str:
        self.templates.append(symbol)
        return f" _s{len(self.templates) - 1} "

    def evaluate(self, lookup: Lookup, sample: int | None, samples: Sequence[int] = (0,)) -> tuple[float, float]:
        """``(value, magnitude)`` with each symbol's value from ``lookup``; ``sample`` is the record's sample and
        ``samples`` the ones ``sum_n`` runs over. Raises :class:`FormulaError` when it cannot be worked out."""
        try:
            value, magnitude, _ = _Walker(self, lookup, samples).walk(self.tree.body, {"n": sample})
        except (KeyError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError, MemoryError) as exc:
            raise FormulaError(f"cannot work out {self.text!r}: {exc!r}") from None
        return float(value), float(magnitude)


def bind(template: str, names: dict[str, Any]) -> tuple[str, int | None]:
    """``a^(2)_j[n]`` with ``j = 1, n = 3`` -> ``("a^(2)_1", 3)``: the symbol and its sample."""
    sample = names.get("n")
    if template.endswith("[n]"):
        template = template[:-3]
    symbol = _FREE.sub(lambda m: str(names[m[1]]) if m[1] in names and m[1] != "n" else m[0], template)
    return symbol, sample


def free_letters(template: str) -> set[str]:
    letters = set(_FREE.findall(template[:-3] if template.endswith("[n]") else template))
    return letters | ({"n"} if template.endswith("[n]") else set())


class _Walker:
    """Evaluates the parsed tree: ``walk`` returns ``(value, magnitude, exact)``."""

    def __init__(self, formula: Formula, lookup: Lookup, samples: Sequence[int]) -> None:
        self.formula, self.lookup, self.samples = formula, lookup, samples

    def walk(self, node: ast.AST, names: dict[str, Any]) -> tuple[float, float, bool]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value), abs(float(node.value)), True
        if isinstance(node, ast.Name):
            if node.id.startswith("_s") and node.id[2:].isdigit():
                symbol, sample = bind(self.formula.templates[int(node.id[2:])], names)
            else:
                symbol, sample = node.id.lstrip("_"), None
            found = self.lookup(symbol, sample)
            value, exact = found[0], found[1]
            return value, abs(value) * (found[2] if len(found) > 2 else 1.0), exact
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v, m, e = self.walk(node.operand, names)
            return (-v if isinstance(node.op, ast.USub) else v), m, e
        if isinstance(node, ast.BinOp):
            return self._binop(node, names)
        if isinstance(node, ast.IfExp):
            return self.walk(node.body if self._test(node.test, names) else node.orelse, names)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node.func.id, node.args, names)
        raise ValueError(f"not allowed in a formula: {ast.dump(node)[:80]}")

    def _sum_chain(self, node: ast.BinOp, names: dict[str, Any]) -> tuple[float, float, bool]:
        """``t1 + t2 - t3 ...`` term by term, not by recursion: a wide layer's z has hundreds of terms."""
        spine: list[ast.BinOp] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and isinstance(left.op, (ast.Add, ast.Sub)):
            spine.append(left)
            left = left.left
        v, m, exact = self.walk(left, names)
        for step in reversed(spine):
            rv, rm, re_ = self.walk(step.right, names)
            both = exact and re_
            v = v + rv if isinstance(step.op, ast.Add) else v - rv
            m, exact = (abs(v) if both else m + rm), both
        return v, m, exact

    def _binop(self, node: ast.BinOp, names: dict[str, Any]) -> tuple[float, float, bool]:
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return self._sum_chain(node, names)
        lv, lm, le = self.walk(node.left, names)
        rv, rm, re_ = self.walk(node.right, names)
        exact = le and re_
        if isinstance(node.op, ast.Mult):
            v = lv * rv
            return v, (abs(v) if exact else lm * rm), exact
        if isinstance(node.op, ast.Div):
            v = lv / rv
            return v, (abs(v) if exact else lm / abs(rv)), exact
        if isinstance(node.op, ast.Pow):
            v = float(lv ** rv)
            return v, (lm ** rv if not le and re_ and rv > 0 else abs(v)), exact
        raise ValueError(f"operator {type(node.op).__name__} is not allowed in a formula")

    def _test(self, node: ast.AST, names: dict[str, Any]) -> bool:
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
            raise ValueError("a condition must be one comparison")
        a, b = self.walk(node.left, names)[0], self.walk(node.comparators[0], names)[0]
        ops: dict[type, Callable[[float, float], bool]] = {
            ast.Lt: lambda x, y: x < y, ast.Gt: lambda x, y: x > y, ast.LtE: lambda x, y: x <= y,
            ast.GtE: lambda x, y: x >= y, ast.Eq: lambda x, y: x == y}
        if type(node.ops[0]) not in ops:
            raise ValueError("comparison not allowed")
        return ops[type(node.ops[0])](a, b)

    def _call(self, name: str, args: list[ast.expr], names: dict[str, Any]) -> tuple[float, float, bool]:
        if name.startswith("_sum_"):
            if len(args) != 1:
                raise ValueError("a sum has one body")
            return self._sum(name[5:], args[0], names)
        functions = self.formula.functions
        if name not in functions:
            raise ValueError(f"unknown function {name}")
        walked = [self.walk(a, names) for a in args]
        value = float(functions[name](*(w[0] for w in walked)))
        exact = all(w[2] for w in walked)
        magnitude = walked[0][1] if name == "abs" else abs(value)
        return value, magnitude, exact

    def _letters(self, node: ast.AST) -> set[str]:
        out: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id.startswith("_s") and sub.id[2:].isdigit():
                out |= free_letters(self.formula.templates[int(sub.id[2:])])
        return out

    def _range(self, letter: str, body: ast.AST, names: dict[str, Any]) -> list[Any]:
        """The values of a free index: the samples for ``n``; else 1, 2, ... while some symbol with it exists."""
        if letter == "n":
            return list(self.samples)
        templates = [t for sub in ast.walk(body) if isinstance(sub, ast.Name) and sub.id.startswith("_s")
                     and sub.id[2:].isdigit() for t in [self.formula.templates[int(sub.id[2:])]]
                     if letter in free_letters(t)]
        if not templates:
            raise ValueError(f"no symbol of the sum's body carries its index {letter}")
        values = []
        for v in range(1, 10_000):
            trial = {**names, letter: v}
            if "n" in free_letters(templates[0]) and trial.get("n") is None:
                trial["n"] = self.samples[0]
            try:
                self.lookup(*bind(templates[0], trial))
            except KeyError:
                break
            values.append(v)
        if not values:
            raise ValueError(f"no values for the index {letter}")
        return values

    def _sum(self, letter: str, body: ast.AST, names: dict[str, Any]) -> tuple[float, float, bool]:
        letters = [letter] if letter else sorted(self._letters(body) - {k for k, v in names.items() if v is not None
                                                                        and k != "n"})
        if not letter and "n" in self._letters(body):
            letters = sorted(set(letters) | {"n"})
        combos: list[dict[str, Any]] = [dict(names)]
        for free in letters:
            combos = [{**c, free: v} for c in combos for v in self._range(free, body, c)]
        total, magnitude, exact = 0.0, 0.0, True
        for c in combos:
            v, m, e = self.walk(body, c)
            total, magnitude, exact = total + v, magnitude + m, exact and e
        return total, (abs(total) if exact else magnitude), exact
