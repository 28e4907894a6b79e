"""Imports flow outward: the core imports NumPy, itself and ``glassnet.errors`` alone; no glassnet module
imports another in a circle; ``import glassnet`` pulls in no optional library.

The package's imports are read with ``ast`` from the source files (every ``import`` statement, at module
level, inside functions and classes, inside ``try`` and inside ``if TYPE_CHECKING:``), so an import the
tests never execute is still seen. What counts where:

* **Into the core**: every import counts, even one inside a function or under ``TYPE_CHECKING``: the
  core must not even name a type from the layers above it (``glassnet/wiring.py`` plugs those in).
* **Cycles**: every import that can run counts, at module level or inside a function (a lazy import
  that closes a circle is still a circle, only a later one). Imports under ``TYPE_CHECKING`` do not:
  they never run (each module has ``from __future__ import annotations``), so they cannot take part in
  an import at run time; mypy resolves them without running anything.
* An edge goes to the module an import runs: ``from glassnet.core import fast`` to ``glassnet.core.fast``,
  ``from glassnet.core import Network`` to the package ``glassnet.core`` (its ``__init__``). The parent
  packages Python imports first are not edges: a package's ``__init__`` always starts before its
  submodules, so counting them would put every package in a circle with its own modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

OPTIONAL = ["torch", "matplotlib", "sklearn", "rich", "scipy", "pandas"]
SRC = Path(__file__).resolve().parents[2] / "src"
CORE, ALLOWED = "glassnet.core", ("glassnet.errors",)


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="src").stdout
    return set(out.split())


def test_core_imports_numpy_alone():
    modules = imported_after("import glassnet.core")
    assert "numpy" in modules
    assert not modules & set(OPTIONAL), modules & set(OPTIONAL)


def test_import_glassnet_loads_no_optional_library():
    assert not imported_after("import glassnet") & set(OPTIONAL)


# ------------------------------------------------------------------------------------------- the import graph
@dataclass(frozen=True)
class Import:
    """One ``import`` statement of ``source``, resolved to the glassnet module it runs (``target``)."""

    source: str
    target: str
    line: int
    in_function: bool
    type_checking: bool

    def __str__(self) -> str:
        where = " (under TYPE_CHECKING)" if self.type_checking else " (inside a function)" if self.in_function else ""
        return f"{self.source} line {self.line} imports {self.target}{where}"


def modules_under(root: Path, package: str = "glassnet") -> dict[str, tuple[Path, bool]]:
    """Every module of ``package`` below ``root``: dotted name -> (file, is a package ``__init__``)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, is_package: bool, modules: dict[str, tuple[Path, bool]],
               package: str = "glassnet") -> list[Import]:
    """The imports of one module that run (or name) a module of ``package``."""

    def resolve(dotted: str) -> str:
        while dotted not in modules and "." in dotted:  # ``glassnet.core.fast.step`` -> ``glassnet.core.fast``
            dotted = dotted.rsplit(".", 1)[0]
        return dotted

    found: list[Import] = []

    def add(target: str, node: ast.stmt, in_function: bool, type_checking: bool) -> None:
        if target == package or target.startswith(package + "."):
            found.append(Import(name, resolve(target), node.lineno, in_function, type_checking))

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, in_function, True)
            for statement in node.orelse:
                visit(statement, in_function, type_checking)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, in_function, type_checking)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package, one level up per extra dot
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            for alias in node.names:  # ``from pkg import sub`` runs the submodule, ``from pkg import name`` the package
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base, node, in_function,
                    type_checking)
        in_function = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function, type_checking)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)
    return list(dict.fromkeys(found))  # one entry per statement and target (``from m import a, b`` is one)


def package_imports(root: Path = SRC, package: str = "glassnet") -> list[Import]:
    modules = modules_under(root, package)
    return [imp for name, (path, is_package) in modules.items() for imp in imports_of(name, path, is_package, modules, package)]


def outward_from_core(imports: list[Import], core: str = CORE, allowed: tuple[str, ...] = ALLOWED) -> list[Import]:
    """Imports made by the core (or by a module it may use) of anything outside the core and ``allowed``."""
    inside = lambda module: module == core or module.startswith(core + ".") or module in allowed
    return [imp for imp in imports if inside(imp.source) and not inside(imp.target)]


def runtime_graph(imports: list[Import]) -> dict[str, set[str]]:
    """Module -> the modules it imports when it runs (module level or in a function; not ``TYPE_CHECKING``)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set())
        graph.setdefault(imp.target, set())
        if not imp.type_checking and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle ``[a, b, ..., a]`` through each group of modules that import each other (Tarjan's strongly
    connected components; a group of one module is no cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    found = []
    for group in groups:  # the shortest way from the group's first module back to itself, inside the group
        start = min(group)
        paths = {w: [start, w] for w in sorted(graph[start] & group)}
        queue = list(paths)
        while start not in paths:
            v = queue.pop(0)
            for w in sorted(graph[v] & group):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
        found.append(paths[start])
    return found


def describe(cycle: list[str], imports: list[Import]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:]):
        imp = next(i for i in imports if i.source == a and i.target == b and not i.type_checking)
        steps.append(str(imp))
    return " -> ".join(cycle) + "\n    " + "\n    ".join(steps)


# ------------------------------------------------------------------------------------------- the package itself
IMPORTS = package_imports()


def test_the_walk_sees_the_package():
    names = {imp.source for imp in IMPORTS}
    assert {"glassnet", "glassnet.core.network", "glassnet.core.training", "glassnet.sklearn", "glassnet.wiring"} <= names
    # It reads imports inside functions and under TYPE_CHECKING too (both exist in the package).
    assert any(imp.in_function for imp in IMPORTS) and any(imp.type_checking for imp in IMPORTS)


def test_core_imports_nothing_outside_itself_and_errors():
    bad = outward_from_core(IMPORTS)
    assert not bad, "glassnet.core (and glassnet.errors) must import only each other; plug the rest in from " \
                    "glassnet/wiring.py:\n" + "\n".join(map(str, bad))


def test_core_has_no_dynamic_imports():
    # importlib.import_module("glassnet.io") or __import__ would slip past the walk above.
    for name, (path, _) in modules_under(SRC).items():
        if name == CORE or name.startswith(CORE + "."):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))]
            assert not calls, f"{name} imports dynamically at line {calls[0].lineno}"


def test_no_import_cycles_between_glassnet_modules():
    found = cycles(runtime_graph(IMPORTS))
    assert not found, "glassnet modules import each other in a circle:\n" + "\n".join(describe(c, IMPORTS) for c in found)


# ------------------------------------------------------------------------------------------- the checks can fail
def test_cycle_finder_on_small_graphs():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    found = cycles({"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"e"}})
    assert sorted(found) == [["a", "b", "a"], ["c", "d", "c"]]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_planted_outward_import_and_cycle_are_caught(tmp_path):
    # A small package shaped like glassnet: the core saves through io lazily (the old Network.save), io imports
    # the core at module level: one outward import and one cycle, both through a function-level import.
    _write(tmp_path, {
        "glassnet/__init__.py": "from glassnet.core import net\n",
        "glassnet/errors.py": "",
        "glassnet/io.py": "from glassnet.core.net import Net\n",
        "glassnet/core/__init__.py": "from .net import Net\n",
        "glassnet/core/net.py": ("from typing import TYPE_CHECKING\nfrom glassnet.errors import *\n"
                                 "if TYPE_CHECKING:\n    from glassnet.viz import Plot\n"
                                 "class Net:\n    def save(self):\n        from glassnet import io\n"),
        "glassnet/viz.py": "from glassnet.core import net\n",
    })
    imports = package_imports(tmp_path)
    assert {(i.source, i.target, i.in_function, i.type_checking) for i in imports} == {
        ("glassnet", "glassnet.core.net", False, False), ("glassnet.io", "glassnet.core.net", False, False),
        ("glassnet.core", "glassnet.core.net", False, False),  # relative import
        ("glassnet.core.net", "glassnet.errors", False, False), ("glassnet.core.net", "glassnet.viz", False, True),
        ("glassnet.core.net", "glassnet.io", True, False), ("glassnet.viz", "glassnet.core.net", False, False)}
    assert [(i.target, i.line) for i in outward_from_core(imports)] == [("glassnet.viz", 4), ("glassnet.io", 7)]
    # The lazy import closes a cycle with io; the TYPE_CHECKING one does not close one with viz.
    assert cycles(runtime_graph(imports)) == [["glassnet.core.net", "glassnet.io", "glassnet.core.net"]]
    assert "inside a function" in describe(cycles(runtime_graph(imports))[0], imports)
    # Moved out of the core (as glassnet/wiring.py does for the real package), both findings go.
    _write(tmp_path, {"glassnet/core/net.py": "from glassnet.errors import *\nclass Net:\n    pass\n"})
    imports = package_imports(tmp_path)
    assert outward_from_core(imports) == [] and cycles(runtime_graph(imports)) == []


# ------------------------------------------------------------------------------------------- the core on its own
CORE_ALONE = """
import sys, types
import numpy as np
# A bare glassnet package: its __init__ (and so wiring.py) never runs; only what the core itself imports loads.
package = types.ModuleType("glassnet")
package.__path__ = [{path!r}]
sys.modules["glassnet"] = package
from glassnet.core import Network
from glassnet.errors import ConfigError
loaded = sorted(m for m in sys.modules if m.startswith("glassnet."))
outside = [m for m in loaded if not (m.startswith("glassnet.core") or m == "glassnet.errors")]
assert not outside, outside
X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = np.array([0., 1., 1., 0.])
net = Network.from_sizes([2, 3, 1], "sigmoid", loss="bce", seed=0)
history = net.fit(X, y, epochs=50, lr=0.5, batch_size=2)   # monitor=True by default: nothing installed to monitor
for call in (lambda: net.save("m.npz"), lambda: net.fit(X, y, epochs=1, checkpoint="c.ckpt")):
    try:
        call()
    except ConfigError as exc:
        assert "glassnet/wiring.py" in str(exc), exc
    else:
        raise AssertionError("expected a ConfigError")
print(repr(history.loss[-1]), len(loaded))
"""


def test_the_core_runs_without_the_layers_above_it():
    code = CORE_ALONE.format(path=str(SRC / "glassnet"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    alone = float(done.stdout.split()[0])
    X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="bce", seed=0)
    history = net.fit(X, [0., 1., 1., 0.], epochs=50, lr=0.5, batch_size=2, monitor=False)
    assert history.loss[-1] == alone  # the same numbers: the monitor only watches


def test_wiring_fills_the_cores_slots():
    from glassnet import wiring
    from glassnet.core import network, training

    assert training._default_callbacks is wiring.default_callbacks
    assert network._writer is wiring.save


def test_fit_hands_its_default_arguments_to_the_installed_function(tmp_path):
    from glassnet.core import training
    from glassnet.core.training import Run

    seen = []

    class Marker:
        def on_train_begin(self, net, info):
            seen.append(("begin", info["epochs"]))

    def defaults(run, *, monitor, checkpoint, checkpoint_every, resume):
        assert isinstance(run, Run) and run.epochs == 3 and run.batch_size == 2 and run.X_val is None
        seen.append((monitor, checkpoint, checkpoint_every, resume))
        run.epochs_done = 1  # as a resumed checkpoint would: epoch 1 is behind this run
        return [Marker()]

    previous = training.install_default_callbacks(defaults)
    try:
        net = gn.Network.from_sizes([2, 2, 1], "tanh", seed=0)
        history = net.fit(np.eye(2), [0.0, 1.0], epochs=3, batch_size=2, monitor=False, checkpoint=tmp_path / "x",
                          checkpoint_every=2, resume=True)
    finally:
        training.install_default_callbacks(previous)
    assert seen == [(False, tmp_path / "x", 2, True), ("begin", 3)]
    assert history.epochs == 3 and len(history.loss) == 2  # epochs 2 and 3 ran


@pytest.mark.filterwarnings("ignore::glassnet.verify.health.HealthWarning")
def test_on_batch_begin_sees_every_batch_before_its_step():
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = X[:, :1] * 2

    class L2Schedule:
        def __init__(self):
            self.calls = []

        def on_batch_begin(self, net, epoch, step, Xb, Yb):
            self.calls.append((epoch, step, Xb.shape[0]))
            net.l2 = 0.01 * Xb.shape[0]  # a per-batch setting, read by the step that follows

    schedule = L2Schedule()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=1)
    net.fit(X, y, epochs=2, batch_size=4, shuffle=False, callbacks=[schedule])
    assert schedule.calls == [(1, 1, 4), (1, 2, 4), (1, 3, 2), (2, 1, 4), (2, 2, 4), (2, 3, 2)]
    # The same steps by hand, with the readable step and the same l2 per batch.
    ref = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=1)
    opt = gn.SGD(0.1)
    for _ in range(2):
        for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
            ref.l2 = 0.01 * len(X[rows])
            ref._step(X[rows], y[rows], opt)
    for key, p in net.parameters().items():
        np.testing.assert_allclose(p, ref.parameters()[key], rtol=1e-13, atol=1e-15)
