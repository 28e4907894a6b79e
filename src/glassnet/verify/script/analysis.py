"""The doctor for a script as written: from one watched pass of the training loop to findings in words.

:func:`diagnose_source` does, in order:

1. find the training loop (``source.py``) and run the script up to it (``runner.reach_loop``);
2. run one pass of the body watching every float array and number the script has: the values whose
   update lines move them (``W -= lr * dW``, ``W = W - ...``, in-place changes) are the candidate
   parameters; the expression the loop prints (or a variable such as ``cost``) is the cost;
3. keep the candidates the cost depends on: those are the parameters (accumulators and stored
   activations are not);
4. run the body *frozen* at the parameters (every parameter put back after every line): the cost it
   computes is the cost at exactly those parameters, so central differences of it give the true gradient,
   and the change each update line made is the step it meant to take;
5. compare each parameter's step with ``-lr x gradient``: a factor shared by the parameters is the
   normalisation of the cost the update descends (one note); the rest are findings, each with its line.

Next read: ``causes.py`` (what a wrong step means, in an expert's words).
"""

from __future__ import annotations

import ast
import builtins
import linecache
import random
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.verify.report import Report
from glassnet.verify.script import causes
from glassnet.verify.script.runner import Body, Run, loop_items, reach_loop
from glassnet.verify.script.source import COST_NAME, Loop, capped_functions, cost_candidates, find_loop, parse, update_lines
from glassnet.verify.script.state import Path, Snapshot, candidates, copy_value, is_float_array, parse_path

LR_NAME = re.compile(r"(^|_)(lr|learning_?rate|alpha|eta|rate|step_?size|learnrate|l_?rate)($|_)", re.IGNORECASE)
PARAM_NAME = re.compile(r"^(w|b|weight|weights|bias|biases|theta|param|params|kernel|coef|intercept|syn)[a-z0-9_]*$",
                        re.IGNORECASE)
PROBE_SECONDS = 10.0  # the time the finite differences may take before entries are sampled


@dataclass
class Param:
    """One parameter found in the script: where it lives and its value at the start of the loop."""

    path: Path
    value: Any

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def size(self) -> int:
        return int(np.size(self.value))

    @property
    def dtype(self) -> np.dtype:  # type: ignore[type-arg]
        return self.value.dtype if isinstance(self.value, np.ndarray) else np.dtype(np.float64)


@dataclass
class Study:
    """Everything learned about the script, handed to ``causes.py`` to be put into words."""

    filename: str
    lines: list[str]
    loop: Loop
    body: Body
    params: list[Param]
    cost_expr: str
    cost_origin: str
    first: Run                      # the real first pass (parameters free)
    frozen: Run                     # the pass frozen at the starting parameters
    steps: dict[str, np.ndarray]    # each parameter's intended step (frozen pass)
    real_steps: dict[str, np.ndarray | None]
    gradient: dict[str, np.ndarray]  # the true gradient of the cost (central differences), on ``entries``
    entries: dict[str, np.ndarray]
    tolerance: dict[str, np.ndarray]
    kinks: dict[str, np.ndarray]
    lrs: dict[str, tuple[float, str]]  # parameter -> (its rate, where the rate comes from)
    lr: tuple[float, str] | None
    n_rows: int | None
    cost: float
    notes: list[str] = field(default_factory=list)
    accumulators: list[Path] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    early: dict[str, tuple[str, int]] = field(default_factory=dict)  # param -> (parameter updated too early, its line)
    stale: dict[str, str] = field(default_factory=dict)  # param -> the accumulator that carries over between epochs
    cost_of: Any = None  # theta by parameter name -> the chosen cost (for testing bug hypotheses on a dense stack)
    data: dict[str, np.ndarray] = field(default_factory=dict)  # the script's other arrays (X, y, ...)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""


def diagnose_source(source: str, filename: str = "<script>", namespace: dict[str, Any] | None = None, *,
                    loss: str | None = None, params: list[str] | None = None, loop_line: int | None = None) -> Report:
    """Diagnose the training loop of ``source`` as written.

    Parameters
    ----------
    source : str
        The whole script (or a notebook cell: pad it with blank lines so line numbers match the cell).
    filename : str
        Its name: findings cite lines of it.
    namespace : dict, optional
        Variables the script may use that it does not define (a notebook's earlier cells). Copied, never changed.
    loss : str, optional
        An expression in the script's names that computes the cost from the current parameters.
    params : list of str, optional
        The parameters, as the script names them (``W1``, ``self.b1``, ``weights[0]``).
    loop_line : int, optional
        The first line of the training loop, when the doctor picks another one.

    Returns
    -------
    Report
        One finding per parameter; ``details["line"]``/``["source"]`` name the line of the user's file.
    """
    tree = parse(source, filename)
    loop = find_loop(tree, loop_line)
    if loss is not None:
        try:
            compile(loss, "--loss", "eval")
        except SyntaxError as exc:
            raise ConfigError(f"--loss {loss!r} is not a Python expression ({exc.msg}); give the cost in your script's "
                              "names, e.g. --loss \"np.mean((y - predict(X)) ** 2)\"") from None
    lines = source.splitlines()
    linecache.cache[filename] = (len(source), None, [line + "\n" for line in lines], filename)
    states = np.random.get_state(), random.getstate()  # the caller's (a notebook's) random streams stay as they were
    try:
        env = _fresh_namespace(filename, namespace)
        reached = reach_loop(compile(tree, filename, "exec"), loop, filename, env)
        items = loop_items(loop, reached.env)
        body = Body(loop, filename, reached.env, items, _lines_in_function_loops(tree),
                    capped_functions(tree, loop, filename))
        study = _study(tree, lines, loop, body, filename, loss, params)
        report = causes.findings(study)
        if not report.ok and _per_batch(study):
            # Updates once per mini-batch: with momentum, or batches of different sizes, a whole pass's steps lie
            # along no single gradient. The first batch alone is one honest step: check that.
            body.rows.limit, body.rows.fixed = 1, True
            body.rows.only = _batch_loops(loop, study)
            first_batch = _study(tree, lines, loop, body, filename, loss, params)
            again = causes.findings(first_batch)
            if len(again.failed()) < len(report.failed()):
                study, report = first_batch, again
                report.notes[:] = [n for n in report.notes if not n.startswith("each pass ran the first")]
                report.notes.append("the loop updates once per mini-batch; its steps were checked on the first batch "
                                    "of the pass (a whole pass mixes batches of different sizes, or momentum)")
    finally:
        np.random.set_state(states[0])
        random.setstate(states[1])
    report.notes.insert(0, _summary(study, reached.seconds))
    if body.snapshot.shared:
        report.notes.append(f"{', '.join(body.snapshot.shared)} could not be copied, so every pass shared them "
                            "(their changes carried from one pass to the next)")
    return report


def _fresh_namespace(filename: str, namespace: dict[str, Any] | None) -> dict[str, Any]:
    env: dict[str, Any] = {"__name__": "__main__", "__file__": filename, "__builtins__": builtins}
    if namespace:
        given = {k: v for k, v in namespace.items() if not k.startswith("_")}
        env.update(given)  # modules and functions as they are ...
        env.update(Snapshot(given).values)  # ... and copies of the values: the notebook's own arrays stay as they are
    return env


def _lines_in_function_loops(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.For, ast.While)):
                    for stmt in node.body:
                        lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _statements(tree: ast.Module) -> dict[int, ast.stmt]:
    """The innermost simple statement starting at each line."""
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
            found.setdefault(node.lineno, node)
    return found


def _last_name(path: Path) -> str:
    kind, key = path.steps[-1]
    return str(key) if kind != "item" else str(Path(path.steps[:-1]).steps[-1][1])


def _param_like(path: Path, run: Run, statements: dict[int, ast.stmt]) -> bool:
    """Whether ``path`` changed like a parameter: in place, or by a statement that reads it to write it."""
    for change in run.of(path):
        if change.delta is not None and change.in_place:
            return True
        stmt = statements.get(change.line)
        value = getattr(stmt, "value", None)
        if value is None:
            continue
        read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        read |= {n.attr for n in ast.walk(value) if isinstance(n, ast.Attribute)}
        if _last_name(path) in read or isinstance(stmt, ast.AugAssign):
            return True
    return False


def _counter(before: Any, after: Any) -> bool:
    """An integer that stays an integer (``it += 1``, ``epoch += 1``): a loop counter, not a parameter."""
    whole = (int, np.integer)
    return (isinstance(before, whole) and isinstance(after, whole)) or (
        isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.dtype.kind in "iu"
        and after.dtype.kind in "iu")


def _permutation(before: Any, after: Any) -> bool:
    a, b = np.asarray(before), np.asarray(after)
    return a.shape == b.shape and a.size > 1 and not np.array_equal(a, b) and np.array_equal(np.sort(a, None),
                                                                                             np.sort(b, None))


def _perturbed(value: Any, rng: np.random.Generator, scale: float = 1e-3) -> Any:
    if isinstance(value, np.ndarray):  # elementwise even for np.matrix, whose * is a matrix product
        noise = np.multiply(scale * (np.abs(np.asarray(value)) + 0.1), rng.standard_normal(value.shape))
        return np.add(value, noise.astype(value.dtype))
    return float(value) + scale * (abs(float(value)) + 0.1) * float(rng.standard_normal())


def _scalar(value: Any) -> float | None:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if a.size != 1 or not np.isfinite(a).all():
        return None
    return float(a.reshape(-1)[0])


def _study(tree: ast.Module, lines: list[str], loop: Loop, body: Body, filename: str, loss: str | None,
           given: list[str] | None) -> Study:
    env = body.env
    body.restore()  # the namespace as the loop found it (an earlier study's passes left their names in it)
    targets = {n.id for n in ast.walk(loop.node.target) if isinstance(n, ast.Name)} if isinstance(loop.node, ast.For) else set()
    if given:
        found = {parse_path(text, env): None for text in given}
        watch = list(found)
    else:
        written = {u.target.split("[")[0].split(".")[0] for u in update_lines(tree, lines, loop) if u.is_update}
        watch = [p for p, _ in candidates(env, prefer=lambda q: q.root in written)
                 if p.root not in targets and not p.root.startswith("__gn")]
    start = {p: copy_value(p.get(env)) for p in watch}
    first = body.run(0, watch=watch)
    # Row loops run at most 256 rows per pass (unless the limit was chosen: one mini-batch); a fast pass gets all
    # its rows back (a cost computed over the whole data then matches the steps), a slow one (a large data set,
    # row by row) fewer, for ~0.2 s a pass.
    if body.rows.fixed:
        pass
    elif body.rows.cut and first.seconds < 0.1:
        body.rows.limit = max(body.rows.limit, min(body.rows.cut, int(body.rows.limit * 0.3 / max(first.seconds, 1e-3))))
        body.rows.cut = body.rows.largest = 0
        first = body.run(0, watch=watch)
    elif first.seconds > 0.5 and body.rows.largest > 64:
        body.rows.limit = max(32, int(body.rows.largest * 0.2 / first.seconds))
        body.rows.cut = body.rows.largest = 0
        first = body.run(0, watch=watch)
    if first.error is not None:
        raise causes.body_error(first, lines, filename)
    statements = _statements(tree)
    changed = list(dict.fromkeys(c.path for c in first.changes))
    if given:
        movers = watch
    else:
        movers = [p for p in changed if _param_like(p, first, statements) and not _counter(start[p], p.get(env))
                  and not _permutation(start[p], p.get(env)) and not COST_NAME.match(_last_name(p))]
    updates = update_lines(tree, lines, loop)
    rng = np.random.default_rng(0)

    # The cost: an expression the loop prints (or a cost-like variable) that the movers change.
    exprs = [(loss, "given with --loss")] if loss else [(c.expr, c.origin) for c in cost_candidates(loop)]
    # a cost the loop prints or keeps in a body-level variable is what the learner means to minimise
    stated = {e for e, _ in exprs[:1]} if loss else {c.expr for c in cost_candidates(loop) if c.rank <= 1}
    if not loss:
        env.setdefault("np", np)  # the guesses below are written with np, as learners write them
        exprs += _guessed_costs(body, start, movers, rng)
        body.row_exprs = _row_errors(loop, env) if loop.inner_lines else []
        exprs += [(e, f"guessed: summed over the rows, `{e}`") for e in body.row_exprs]
    if not exprs:
        raise ConfigError(f"{loop.where} prints no cost and has no variable named cost, loss or error, so the doctor "
                          "cannot tell what it minimises. Give the cost with --loss EXPR, an expression in your "
                          "script's names computed from the current parameters, e.g. --loss \"np.mean((y - "
                          "predict(X)) ** 2)\"")

    def evaluate(theta: dict[Path, Any] | None, frozen: bool, watch_: list[Path] = ()) -> tuple[list[Any], Run]:  # type: ignore[assignment]
        run = Run()
        if not loss or watch_:  # with --loss the body runs only for the steps; the cost is the expression
            run = body.run(0, watch=list(watch_), start=theta, freeze=theta if frozen else None)
            if run.error is not None and theta is None:
                raise causes.body_error(run, lines, filename)  # the script's own pass failed: the learner's error
            if run.error is not None:  # only at values the doctor chose: that probe tells nothing
                return [None] * len(exprs), run
        if loss:
            body.restore()
            for p, v in (theta or {}).items():
                p.set(env, copy_value(v))
        return [run.row_sums.get(e) if e in body.row_exprs else _scalar(body.value(e)) for e, _ in exprs], run

    base, _ = evaluate(None, False)
    if not movers:
        raise ConfigError(f"no parameter changed during the first pass of {loop.where}: no line in it (or in the "
                          "functions it calls) updated an array or number that existed before the loop. If the update "
                          "happens only in later iterations, or the parameters are somewhere the doctor does not look, "
                          "name them with --params W1,b1,W2,b2")
    moved = {p: _perturbed(start[p], rng) for p in movers}
    shifted, _ = evaluate(moved, False)
    # a cost is a real number that moves with the parameters; a whole number (a counter, a count of correct
    # answers) is no cost even when the loop prints it
    live = [i for i, (a, b) in enumerate(zip(base, shifted)) if a is not None and b is not None and a != b
            and not (float(a).is_integer() and float(b).is_integer())][:12]
    if not live:
        shown = ", ".join(f"`{e}`" for e, _ in exprs[:4])
        raise ConfigError(f"found {len(movers)} value(s) your loop updates ({', '.join(map(str, movers[:6]))}) but none "
                          f"of the costs it computes ({shown}) depends on them. Give the cost with --loss EXPR, an "
                          "expression in your script's names computed from the current parameters")

    # The parameters: movers some live cost depends on when frozen at a shifted value.
    params: list[Param] = []
    for p in movers:
        if given:
            params.append(Param(p, start[p]))
            continue
        if len(movers) > 1 and _is_accumulator(p, updates, movers):
            continue
        values, _ = evaluate({p: moved[p]}, True)
        if any(values[i] is not None and values[i] != base[i] for i in live):
            params.append(Param(p, start[p]))
    if not params:
        raise ConfigError(f"the cost `{exprs[live[0]][0]}` does not depend on any value the loop updates; give the "
                          "parameters with --params or the cost with --loss")
    params.extend(_still_params(env, start, params, watch, changed, evaluate, live, base, rng))
    theta = {p.path: p.value for p in params}
    frozen_values, frozen = evaluate(theta, True, [p.path for p in params])
    live = [i for i in live if frozen_values[i] is not None]
    if not live:
        raise ConfigError(f"the cost `{exprs[0][0]}` is not one finite number at the loop's start")
    steps: dict[str, np.ndarray] = {}
    for q in params:
        total = np.zeros(np.shape(q.value))
        for change in frozen.of(q.path):
            if change.delta is not None:
                total = total + change.delta
        steps[q.name] = total
    real_steps: dict[str, np.ndarray | None] = {}
    body.run(0)  # the real first pass again, to read where the parameters got to
    for q in params:
        after = q.path.get(env)
        real_steps[q.name] = (np.asarray(after, dtype=np.float64) - np.asarray(q.value, dtype=np.float64)
                              if np.shape(after) == np.shape(q.value) else None)
    early = _updated_too_early(body, params, theta, frozen, steps, real_steps)
    accumulators = [p for p in changed if p not in theta and _is_accumulator(p, updates, movers)]
    stale = _carried_over(body, params, accumulators, start, updates) if len(body.items) > 1 else {}
    differences = _differences(params, theta, lambda t: evaluate(t, True)[0], frozen, frozen_values, live)
    lrs, lr = _rates(params, frozen, updates, env, tree)
    n_rows = first.row_passes or _rows(env, params)
    studies = []
    for rank, i in enumerate(live):
        gradient, entries, tolerance, kinks = differences[i]
        study = Study(filename, lines, loop, body, params, exprs[i][0], exprs[i][1], first, frozen, steps, real_steps,
                      gradient, entries, tolerance, kinks, lrs, lr, n_rows, float(frozen_values[i]),
                      accumulators=accumulators, updates=updates, early=early, stale=stale)
        # the cost the updates descend: the one most parameters step along with one shared factor
        explained = len(causes.shared_factor(study)[1])
        studies.append((explained, -rank, study))
    # (with the row loop capped, a cost the script computes over all the data no longer matches the capped steps;
    # then the costs summed over the rows that ran compete on equal terms)
    said = [t for t in studies if t[2].cost_expr in stated] if not body.rows.cut else []
    best = max(said or studies, key=lambda s: (s[0], s[1]))[2]
    pick = exprs.index((best.cost_expr, best.cost_origin))
    by_name = {q.name: q.path for q in params}
    best.cost_of = lambda t: evaluate({by_name[n]: v for n, v in t.items()}, True)[0][pick]
    # the data are the arrays the script had before its loop (not the loop's own scratch)
    best.data = {str(path): value for path, value in candidates(body.snapshot.values, integers=True)
                 if isinstance(value, np.ndarray) and value.size > 1 and path not in theta}
    if best.cost_origin.startswith("guessed: cross-entropy of `"):  # a sigmoid output's, not a softmax's
        best.notes.append("your updates descend the cross-entropy of the output, not its squared error: if you meant "
                          "the squared error, the output delta lacks the sigmoid's derivative out * (1 - out)")
    if best.cost_origin.startswith("guessed"):
        best.notes.append(f"your loop computes no cost the doctor could find, so it used `{best.cost_expr}` "
                          f"({best.cost_origin}): the cost your updates descend most consistently. If your network "
                          "minimises something else, give it with --loss EXPR")
    return best


def _row_errors(loop: Loop, env: dict[str, Any]) -> list[str]:
    """``0.5 * np.sum(error ** 2)`` for each error-like name the row loop assigns: summed over the rows by the
    runner, the squared error of a per-row loop that never adds up its cost."""
    names = []
    for node in ast.walk(loop.node):
        if isinstance(node, ast.Assign) and node.lineno in loop.inner_lines:
            for t in (n for target in node.targets for n in ast.walk(target)):
                if isinstance(t, ast.Name) and re.fullmatch(r"(output_?|out_?|layer_\d+_?|l\d_?)?(error|err|e|residual)s?",
                                                            t.id, re.IGNORECASE):
                    names.append(t.id)
    numpy = "np"
    # the error may be the residual (square it) or already the row's cost (add it up)
    guesses = [g for n in dict.fromkeys(names) for g in (f"0.5 * {numpy}.sum({n} ** 2)", f"{numpy}.sum({n})")]
    # an output the row loop computes against the row's target (`for x, y in zip(X, Y)`: y, or `t = T[i]`)
    outputs, targets = [], []
    for node in ast.walk(loop.node):
        if isinstance(node, ast.For) and node is not loop.node:
            targets += [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name) and TARGET_NAME.fullmatch(n.id)]
        if isinstance(node, ast.Assign) and node.lineno in loop.inner_lines:
            for t in (n for target in node.targets for n in ast.walk(target)):  # `out, cache = forward(...)` too
                if isinstance(t, ast.Name) and TARGET_NAME.fullmatch(t.id):
                    targets.append(t.id)
                elif isinstance(t, ast.Name) and OUTPUT_NAME.search(t.id) and not GRADIENT_NAME.search(t.id):
                    outputs.append(t.id)
    for out in dict.fromkeys(outputs):
        for target in dict.fromkeys(targets):
            guesses.append(f"0.5 * {numpy}.sum(({out} - {target}) ** 2)")
    return guesses[:10]


TARGET_NAME = re.compile(r"(y|t|target|label|truth|goal|expected|desired)(_?\w{0,6})?", re.IGNORECASE)
GRADIENT_NAME = re.compile(r"^d[A-Z_a-z]|^D[A-Z]|grad|delta|error|err$|deriv|prime")
OUTPUT_NAME = re.compile(r"out|pred|y_?hat|prob|a\d|^a$|activation|layer|h\d|final", re.IGNORECASE)


def _guessed_costs(body: Body, start: dict[Path, Any], movers: list[Path], rng: np.random.Generator
                   ) -> list[tuple[str, str]]:
    """For a loop that computes no cost: squared error (and cross-entropy) of an output against a target.

    Two passes, the second with the parameters moved, tell them apart: an output is an array the parameters
    change (``out``, ``self.output``, ``A2``), a target one they do not (``y``, ``Y_batch``), of the same shape.
    """
    env = body.env

    def arrays() -> dict[Path, np.ndarray]:
        return {p: np.array(v) for p, v in candidates(env, integers=True) if isinstance(v, np.ndarray) and v.size > 1
                and p not in movers and not p.root.startswith("__gn")}

    body.run(0)
    before = arrays()
    body.run(0, start={p: _perturbed(start[p], rng) for p in movers})
    after = arrays()
    outputs = [p for p, v in before.items() if p in after and after[p].shape == v.shape and not np.array_equal(after[p], v)
               and v.dtype.kind == "f" and not GRADIENT_NAME.search(_last_name(p))]
    targets = [p for p, v in before.items() if p in after and np.array_equal(after[p], v)]
    outputs.sort(key=lambda p: (not OUTPUT_NAME.search(_last_name(p)), -len(str(p))))
    guesses: list[tuple[str, str]] = []
    for out in outputs:
        o = before[out]
        for t in targets:
            tv = before[t]
            if tv.shape != o.shape or np.array_equal(np.sort(tv, None), np.sort(o, None)):
                continue
            guesses.append((f"np.mean(({out} - {t}) ** 2)", f"guessed: mean squared error of `{out}` against `{t}`"))
            if np.all((tv == 0) | (tv == 1)) and np.all((o > 0) & (o < 1)):
                guesses.append((f"-np.mean({t} * np.log({out}) + (1 - {t}) * np.log(1 - {out}))",
                                f"guessed: cross-entropy of `{out}` against `{t}`"))
                for axis in (0, 1):  # one-hot targets of a softmax: classes along the other axis
                    if o.ndim == 2 and np.allclose(o.sum(axis=1 - axis), 1):
                        guesses.append((f"-np.sum({t} * np.log({out})) / {out}.shape[{axis}]",
                                        f"guessed: cross-entropy of the softmax `{out}` against `{t}`"))
        if len(guesses) >= 8:
            break
    return guesses[:8]


def _updated_too_early(body: Body, params: list[Param], theta: dict[Path, Any], frozen: Run,
                       steps: dict[str, np.ndarray], real: dict[str, np.ndarray | None]) -> dict[str, tuple[str, int]]:
    """Parameters whose real step differs from the frozen one because another was updated before their gradient
    read it (``W2 -= ...`` above ``dA1 = dZ2 @ W2.T``): param -> (the parameter updated too early, its line).

    Only for loops that move each parameter once; per-row updates legitimately see moved parameters.
    """
    if any(len(frozen.of(p.path)) > 1 for p in params):
        return {}

    def off(p: Param, step: np.ndarray | None) -> bool:
        want = steps[p.name]
        scale = float(np.abs(want).max(initial=0.0)) + 1e-300
        return step is None or float(np.abs(step - want).max(initial=0.0)) > 1e-6 * scale

    diverged = [p for p in params if off(p, real[p.name])]
    if not diverged:
        return {}
    order = sorted((p for p in params if frozen.of(p.path)), key=lambda p: frozen.of(p.path)[0].line)
    found: dict[str, tuple[str, int]] = {}
    held: dict[Path, Any] = {}
    for culprit in order:  # hold back one more early update at a time; each fixes the steps that read it
        held[culprit.path] = culprit.value
        body.run(0, start=theta, freeze=held)
        for q in diverged:
            if q is not culprit and q.name not in found and q.path not in held and not off(
                    q, np.asarray(q.path.get(body.env), dtype=np.float64) - np.asarray(q.value, dtype=np.float64)):
                found[q.name] = (culprit.name, frozen.of(culprit.path)[0].line)
        if all(q.name in found or q.path in held for q in diverged):
            break
    return found


def _carried_over(body: Body, params: list[Param], accumulators: list[Path], start: dict[Path, Any],
                  updates: list[Any]) -> dict[str, str]:
    """Accumulators created before the loop that are never reset: param -> accumulator.

    After the real first pass, the second pass's step is taken twice, frozen at the same parameters: once with
    the accumulators as the first pass left them, once with them set back to their starting values. A step
    that differs depends on the last epoch's gradient.
    """
    if not accumulators:
        return {}
    body.run(0)
    after_first = Snapshot(body.env)
    theta1 = {p.path: copy_value(p.path.get(body.env)) for p in params}
    saved, body.snapshot = body.snapshot, after_first
    try:
        carried = body.run(1, watch=list(theta1), start=theta1, freeze=theta1)
        reset = body.run(1, watch=list(theta1), start={**theta1, **{a: start[a] for a in accumulators}},
                         freeze=theta1)
    finally:
        body.snapshot = saved
    out = {}
    for p in params:
        a = sum((c.delta for c in carried.of(p.path) if c.delta is not None), np.zeros(np.shape(p.value)))
        b = sum((c.delta for c in reset.of(p.path) if c.delta is not None), np.zeros(np.shape(p.value)))
        if not np.allclose(a, b, rtol=1e-6, atol=1e-12 * (float(np.abs(b).max(initial=0.0)) + 1e-300)):
            read = {n for u in updates if u.is_update and u.target in (p.name, _last_name(p.path)) for n in u.names}
            acc = next((a for a in accumulators if _last_name(a) in read or str(a) in read), None)
            if acc is not None:  # a step that changes for another reason (not this accumulator) is no stale gradient
                out[p.name] = str(acc)
    return out


def _batch_loops(loop: Loop, study: Study) -> set[int]:
    """The first lines of the loops nested in the training loop that hold the parameters' update lines."""
    lines = {c.line for p in study.params for c in study.frozen.of(p.path)}
    return {n.lineno for stmt in loop.node.body for n in ast.walk(stmt) if isinstance(n, ast.For)
            and any(n.lineno < line <= (n.end_lineno or n.lineno) for line in lines)}


def _per_batch(study: Study) -> bool:
    """Whether every parameter moves the same number (> 1) of times in a pass, inside a nested loop: per batch."""
    counts = {len(study.frozen.of(p.path)) for p in study.params}
    inner = all(all(c.in_row_loop for c in study.frozen.of(p.path)) for p in study.params)
    return inner and len(counts) == 1 and counts.pop() > 1


def _is_accumulator(path: Path, updates: list[Any], movers: list[Path] | None = None) -> bool:
    """Whether another mover's update line reads ``path`` (``W -= lr * dW`` reads ``dW``): a gradient or momentum
    buffer. Lines that update a value computed in the loop (``z += b`` in the forward pass) do not count."""
    text, last = str(path), _last_name(path)
    targets = None if movers is None else {str(m) for m in movers} | {_last_name(m) for m in movers}
    for u in updates:
        if not u.is_update or u.target in (text, last) or u.target.endswith("." + last) or u.target.startswith(last + "["):
            continue
        if targets is not None and not (u.target in targets or u.target.split(".")[-1] in targets
                                        or u.target.split("[")[0] in targets):
            continue
        if text in u.names or last in u.names or re.search(rf"\b{re.escape(text)}\b", u.text.split("=", 1)[-1]):
            return True
    return False


def _still_params(env: dict[str, Any], start: dict[Path, Any], params: list[Param], watch: list[Path],
                  changed: list[Path], evaluate: Any, live: list[int], base: list[Any],
                  rng: np.random.Generator) -> list[Param]:
    """Values named like parameters, beside the found ones, that the cost depends on but no line changes."""
    found = {p.path for p in params}
    roots = {p.path.steps[:-1] for p in params if len(p.path.steps) > 1}
    names = {p.path.root for p in params}
    out = []
    for p in watch:
        if p in found or p in changed or not (is_float_array(start[p]) or isinstance(start[p], float)):
            continue
        sibling = (len(p.steps) > 1 and p.steps[:-1] in roots) or (len(p.steps) == 1 and _sibling_name(p.root, names))
        if not sibling or not PARAM_NAME.match(_last_name(p)) or re.search(r"grad|delta|^d[A-Z_a-z]", _last_name(p)):
            continue
        if _identical_units(start[p]):  # a zero or symmetric start may leave the cost flat in it: report it anyway
            out.append(Param(p, start[p]))
            continue
        values, _ = evaluate({p: _perturbed(start[p], rng)}, True)
        if any(values[i] is not None and values[i] != base[i] for i in live):
            out.append(Param(p, start[p]))
    return out


def _identical_units(value: Any) -> bool:
    """A weight matrix whose columns (or rows) are all the same: zeros, or one vector copied."""
    a = np.asarray(value)
    return a.ndim == 2 and min(a.shape) > 1 and (bool(np.all(a == a[:, :1])) or bool(np.all(a == a[:1, :])))


def _sibling_name(name: str, names: set[str]) -> bool:
    stem = re.sub(r"[\d_]+$", "", name).lower()
    return any(re.sub(r"[\d_]+$", "", n).lower() == stem for n in names) or stem in ("w", "b", "bias", "weights",
                                                                                      "weight", "biases")


def _differences(params: list[Param], theta: dict[Path, Any], cost: Any, frozen: Run, base: list[Any],
                 picks: list[int]) -> dict[int, tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                    dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Central differences of each picked cost (all from the same frozen runs), with a step chosen per dtype
    and a rounding bound per entry; for each pick: gradient, entries checked, tolerance, kinks."""
    seconds = max(frozen.seconds, 1e-4)
    total = sum(p.size for p in params)
    budget = max(1, int(PROBE_SECONDS / (2 * seconds)))
    per_tensor = None if 2 * total * seconds <= PROBE_SECONDS else max(3, budget // max(1, len(params)))
    rng = np.random.default_rng(0)
    out: dict[int, tuple[dict[str, np.ndarray], ...]] = {i: ({}, {}, {}, {}) for i in picks}
    for p in params:
        value = np.array(p.value, dtype=np.float64)
        flat = value.reshape(-1)
        idx = np.arange(flat.size) if per_tensor is None or flat.size <= per_tensor else np.sort(
            rng.choice(flat.size, per_tensor, replace=False))
        eps = float(np.finfo(p.dtype).eps)
        g, tol = np.empty((len(picks), len(idx))), np.empty((len(picks), len(idx)))
        kink = np.zeros((len(picks), len(idx)), dtype=bool)
        for k, i in enumerate(idx):
            h = eps ** (1 / 3) * max(1.0, abs(flat[i]))
            up, down = flat.copy(), flat.copy()
            up[i] += h
            down[i] -= h
            his, los = cost(_with(theta, p, up, value.shape)), cost(_with(theta, p, down, value.shape))
            near: list[Any] | None = None
            for j, pick in enumerate(picks):
                hi, lo, mid = his[pick], los[pick], base[pick]
                if hi is None or lo is None:
                    hi = lo = mid = float("nan")
                g[j, k] = (hi - lo) / (2 * h)
                # rounding of the cost's own dtype, magnified by the division by the step
                tol[j, k] = 8 * eps * max(abs(hi), abs(lo), abs(mid), 1e-30) / h
                # a kink (relu at 0) between the probes: the one-sided slopes disagree, and keep disagreeing at a
                # step 100 x smaller (curvature makes them differ too, but in proportion to the step)
                gap = abs((hi - mid) / h - (mid - lo) / h)
                if gap > 100 * tol[j, k] + 1e-3 * abs(g[j, k]) + 1e-12:
                    if near is None:
                        small_up, small_down = flat.copy(), flat.copy()
                        small_up[i] += h / 100
                        small_down[i] -= h / 100
                        near = [cost(_with(theta, p, small_up, value.shape)), cost(_with(theta, p, small_down, value.shape))]
                    shi, slo = near[0][pick], near[1][pick]
                    if shi is not None and slo is not None:
                        small_gap = abs((shi - mid) / (h / 100) - (mid - slo) / (h / 100))
                        kink[j, k] = small_gap > 0.3 * gap and small_gap > 1e4 * tol[j, k]
        for j, pick in enumerate(picks):
            gradient, entries, tolerance, kinks = out[pick]
            gradient[p.name], entries[p.name], tolerance[p.name], kinks[p.name] = g[j], idx, tol[j], kink[j]
    return out  # type: ignore[return-value]


def _with(theta: dict[Path, Any], p: Param, flat: np.ndarray, shape: tuple[int, ...]) -> dict[Path, Any]:
    out = dict(theta)
    value = flat.reshape(shape)
    out[p.path] = value.astype(p.dtype) if isinstance(p.value, np.ndarray) else float(value)
    return out


def _defaults(tree: ast.Module) -> dict[str, float]:
    """Numbers given as default arguments (``def update(params, grads, learning_rate=1.2)``), by argument name."""
    found: dict[str, float] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = fn.args.args[len(fn.args.args) - len(fn.args.defaults):] + fn.args.kwonlyargs
            values = list(fn.args.defaults) + list(fn.args.kw_defaults)
            for arg, value in zip(args, values):
                if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
                    found.setdefault(arg.arg, float(value.value))
    return found


def _rates(params: list[Param], frozen: Run, updates: list[Any], env: dict[str, Any], tree: ast.Module) -> tuple[
        dict[str, tuple[float, str]], tuple[float, str] | None]:
    """Each parameter's learning rate, read off the lines that changed it: a name like ``lr``, a number, or 1."""
    by_line = {u.line: u for u in updates}
    defaults = _defaults(tree)
    rates: dict[str, tuple[float, str]] = {}
    for p in params:
        lines = [c.line for c in frozen.of(p.path)]
        rate: tuple[float, str] = (1.0, "none")
        for line in lines[-1:] + lines[:-1]:
            u = by_line.get(line)
            if u is None:
                continue
            named = [(float(env[n]), n) for n in u.names if LR_NAME.search(n) and _positive(env.get(n))]
            named += [(defaults[n], n) for n in u.names if LR_NAME.search(n) and n not in env and n in defaults
                      and _positive(defaults[n])]
            named += _attribute_rates(u.text, env)
            if named:
                rate = named[0]
                break
            literal = [x for x in u.literals if 0 < x < 1]
            if literal:
                rate = (literal[0], "literal")
                break
        rates[p.name] = rate
    names = [(v, n) for n, v in env.items() if isinstance(n, str) and LR_NAME.search(n) and _positive(v)
             and not n.startswith("_")]
    used = [r for r in rates.values() if r[1] not in ("none", "literal")]
    lr = used[0] if used else (names[0][0], names[0][1]) if names else None
    return rates, lr


def _attribute_rates(text: str, env: dict[str, Any]) -> list[tuple[float, str]]:
    """``self.lr`` or ``self.learning_rate`` on an update line: its value from an object in the namespace."""
    out = []
    for match in re.finditer(r"\b(\w+)\.(\w+)\b", text.split("=", 1)[-1]):
        owner, attr = match.groups()
        if not LR_NAME.search(attr):
            continue
        objects = [env[owner]] if owner in env else [v for v in env.values() if hasattr(v, "__dict__")]
        for obj in objects:
            value: Any = getattr(obj, attr, None)
            if _positive(value):
                out.append((float(value), f"{owner}.{attr}"))
                break
    return out


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and 0 < float(value) < 100


def _rows(env: dict[str, Any], params: list[Param]) -> int | None:
    """The number of samples: the most common leading size of the data arrays (not the parameters)."""
    ids = {id(p.value) for p in params}
    sizes = [v.shape[0] for v in env.values() if isinstance(v, np.ndarray) and v.ndim >= 1 and v.size > 1
             and id(v) not in ids]
    return max(set(sizes), key=sizes.count) if sizes else None


def _summary(study: Study, seconds: float) -> str:
    names = ", ".join(f"`{p.name}`" for p in study.params)
    lr = f"learning rate `{study.lr[1]}` = {study.lr[0]:g}" if study.lr else "no learning-rate variable"
    runs = study.body.runs
    return (f"read {study.loop.where}: parameters {names}; {lr}; cost `{study.cost_expr}` ({study.cost_origin}) = "
            f"{study.cost:.6g}. Ran the script up to the loop ({seconds:.2f} s), then {runs} single passes of its body "
            f"({study.body.seconds:.2f} s), never the whole training")



__all__ = ["Param", "Study", "diagnose_source"]
