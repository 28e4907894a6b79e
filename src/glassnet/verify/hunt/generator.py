"""The correct programs a bug hunt starts from: a learner-style NumPy training script, drawn from a seed.

A :class:`Spec` holds every choice a seed makes (the style: one vectorised loop, a loop over the rows, or a
small class; the variable names; the data; the hidden size and activation; the loss; the learning rate and
the number of epochs). :func:`render` writes the script for a spec as a list of :class:`Line`; each line that
a bug may change carries a *tag* (``"d_z1"``, ``"upd_b2"``, ...), and a few empty *slots* (``"early_update"``,
``"before_loop"``) are places a bug may put a line that the correct program does not have. A bug class
(``bugs.py``) is a mutation: tag -> the lines that replace it. The planted program and the correct one come
from the same template, so their difference (the key) is exact by construction.

Everything is drawn from ``random.Random(seed)``: the same seed gives the same program on every machine.

Next read: ``bugs.py`` (the bug classes, each a mutation of named lines).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

# Three ways learners name the same network (parameters, gradients, activations, deltas, data, rate).
NAMES = [
    dict(W1="W1", b1="b1", W2="W2", b2="b2", dW1="dW1", db1="db1", dW2="dW2", db2="db2", z1="z1", h="h", out="out",
         d_out="d_out", d_h="d_h", d_z1="d_z1", X="X", y="y", x="x", t="t", lr="learning_rate", loss="loss"),
    dict(W1="weights_hidden", b1="bias_hidden", W2="weights_output", b2="bias_output", dW1="grad_weights_hidden",
         db1="grad_bias_hidden", dW2="grad_weights_output", db2="grad_bias_output", z1="hidden_input", h="hidden",
         out="output", d_out="output_delta", d_h="hidden_error", d_z1="hidden_delta", X="inputs", y="targets",
         x="row", t="target", lr="lr", loss="cost"),
    dict(W1="w_ih", b1="b_h", W2="w_ho", b2="b_o", dW1="dw_ih", db1="db_h", dW2="dw_ho", db2="db_o", z1="net_h",
         h="a_h", out="a_o", d_out="delta_o", d_h="err_h", d_z1="delta_h", X="X", y="Y", x="xi", t="yi", lr="eta",
         loss="error"),
]
STYLES = ("vector", "rows", "class")
DATA = ("xor", "and", "or", "blobs")
# the draw's weights: the blobs (3 inputs, always 3 hidden units) twice, so that a square W1 (the only shape in
# which a transposed weight gradient runs) is common in every class's programs and its 3-3-1 header tells nothing
DRAWN = ("xor", "and", "or", "blobs", "blobs")
TRUTH = {"xor": (0, 1, 1, 0), "and": (0, 0, 0, 1), "or": (0, 1, 1, 1)}


@dataclass(frozen=True)
class Spec:
    """Every choice a seed makes about the correct program (``bugs.py`` may narrow the choices)."""

    seed: int
    style: str            # "vector", "rows" or "class"
    names: int            # index into NAMES
    data: str             # "xor", "and", "or" or "blobs"
    hidden: int
    act: str              # hidden activation: "sigmoid" or "tanh"
    loss: str             # "half_sum" (0.5 sum of squares) or "mean" (mean of squares)
    norm: str             # with "mean": the 1/n in the output "delta" or in each "grads" line
    helper: bool          # the activation's derivative as a helper function (else written inline)
    two_step: bool        # the hidden error and the hidden delta on two lines (else one)
    lr: float
    epochs: int
    init_seed: int
    scale: float
    rows: tuple[tuple[float, ...], ...] = field(default=())
    targets: tuple[int, ...] = field(default=())
    secret: bool = False  # drawn with a teacher's secret: only the teacher can check it


@dataclass
class Line:
    """One line of the program: its indent level, its text (None: an empty slot) and its tag."""

    indent: int
    text: str | None
    tag: str = ""


def draw(seed: int, allowed: Mapping[str, tuple[object, ...]] | None = None, attempt: int = 0, salt: int = 0) -> Spec:
    """The spec for ``seed``, each choice drawn from ``allowed[choice]`` where a bug class narrows it (``attempt``:
    the next draw for the same seed, when a bug class rejects one; ``salt``: from a teacher's secret, 0 without)."""
    rng = random.Random(seed * 1_000_003 + 17 + attempt * 7_919 + salt)
    allowed = allowed or {}

    def pick(name: str, options: tuple[object, ...]) -> object:
        narrowed = [o for o in options if o in allowed.get(name, options)]
        return rng.choice(narrowed)

    style = str(pick("style", STYLES))
    data = str(pick("data", DRAWN))
    hidden = int(pick("hidden", (3,) if data == "blobs" else (3, 4, 5)))  # type: ignore[call-overload]
    act = str(pick("act", ("sigmoid", "tanh")))
    loss = str(pick("loss", ("half_sum", "mean")))
    norm = str(pick("norm", ("delta", "grads"))) if loss == "mean" else "delta"
    if data == "blobs":
        n_rows = rng.choice((6, 8))
        centres = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        rows = tuple(tuple(round(c + rng.uniform(-0.35, 0.35), 1) for c in centres[i % 2]) for i in range(n_rows))
        targets = tuple(i % 2 for i in range(n_rows))
    else:
        rows = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
        targets = TRUTH[data]
    base = {"half_sum": (0.5, 1.0, 2.0), "mean": (1.0, 2.0, 4.0)}[loss]
    if loss == "mean" and len(rows) > 4:
        base = (2.0, 4.0, 6.0)
    epochs = rng.choice((300, 400, 500)) if style == "rows" else rng.choice((1000, 1500, 2000))
    slow = data == "xor" and act == "sigmoid" and style == "rows"  # a plateau a few hundred epochs do not leave
    if slow:
        epochs = rng.choice((1000, 1200))
    return Spec(seed=seed, style=style, names=int(pick("names", (0, 1, 2))), data=data,  # type: ignore[call-overload]
                hidden=hidden, act=act, loss=loss, norm=norm,
                helper=bool(pick("helper", (True, False))), two_step=bool(pick("two_step", (True, False))),
                lr=base[-1] if slow else rng.choice(base), epochs=epochs, init_seed=rng.randrange(100),
                scale=rng.choice((0.5, 1.0)), rows=rows, targets=targets, secret=bool(salt))


def n_inputs(spec: Spec) -> int:
    return len(spec.rows[0])


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


ATTRIBUTES = ("W1", "b1", "W2", "b2", "z1", "h", "out", "lr")  # a class keeps these on self


def names(spec: Spec) -> dict[str, str]:
    """The program's names as they appear in its training code (``self.W1`` in a class)."""
    n = dict(NAMES[spec.names])
    if spec.style == "class":
        n.update({k: "self." + n[k] for k in ATTRIBUTES})
    return n


def slope(spec: Spec, of: str) -> str:
    """The hidden activation's slope written from ``of`` (the helper function, or inline), as the program has it."""
    if spec.helper:
        return ("sigmoid_derivative({})" if spec.act == "sigmoid" else "tanh_derivative({})").format(of)
    return ("{0} * (1 - {0})" if spec.act == "sigmoid" else "(1 - {0} ** 2)").format(of)


def parameters(spec: Spec) -> dict[str, str]:
    """W1, b1, W2, b2 -> the expression that reads each trained parameter at the program's end (``net.W1``)."""
    n = NAMES[spec.names]
    return {k: ("net." + n[k] if spec.style == "class" else n[k]) for k in ("W1", "b1", "W2", "b2")}


def render(spec: Spec) -> list[Line]:
    """The correct program for ``spec``, line by line (tags on the lines a bug may change)."""
    n = dict(NAMES[spec.names])
    cls = spec.style == "class"
    p = names(spec)
    lr = p["lr"]
    X, y = (n["x"], n["t"]) if spec.style == "rows" else (n["X"], n["y"])
    if cls:
        X, y = "X", "y"
    acc = "+=" if spec.style == "rows" else "="
    out: list[Line] = []

    def add(indent: int, text: str | None, tag: str = "") -> None:
        out.append(Line(indent, text, tag))

    task = {"xor": "XOR", "and": "AND", "or": "OR", "blobs": "two blobs (class 0 near 0, class 1 near 1)"}[spec.data]
    add(0, f"# A {n_inputs(spec)}-{spec.hidden}-1 network learns {task} with hand-written backprop.")
    if spec.secret:  # the check needs the teacher's word
        add(0, "# This program has one bug. Find it, fix it, and hand it in; your teacher checks it with")
        add(0, f"#     glassnet hunt --check THIS_FILE --seed {spec.seed} --secret ...")
    else:
        add(0, "# This program has one bug. Find it, fix it, and check your fix with")
        add(0, f"#     glassnet hunt --check THIS_FILE --seed {spec.seed}")
    add(0, "import numpy as np")
    add(0, "")
    rows = ["[" + ", ".join(_num(v) for v in r) + "]" for r in spec.rows]
    if len(rows) > 4:  # one row a line, as a learner types a small data set in
        add(0, f"{n['X']} = np.array([")
        for row in rows:
            add(1, row + ",")
        add(0, "])")
    else:
        add(0, f"{n['X']} = np.array([{', '.join(rows)}])")
    add(0, f"{n['y']} = np.array([{', '.join(f'[{t}]' for t in spec.targets)}], dtype=float)")
    add(0, f"n = len({n['X']})")
    add(0, "")
    add(0, "")
    add(0, "def sigmoid(z):")
    add(1, "return 1 / (1 + np.exp(-z))")
    add(0, "")
    if spec.helper:
        add(0, "")
        if spec.act == "sigmoid":
            add(0, "def sigmoid_derivative(s):")
            add(1, "return s * (1 - s)  # the slope of the sigmoid, from its output s")
        else:
            add(0, "def tanh_derivative(a):")
            add(1, "return 1 - a ** 2  # the slope of tanh, from its output a")
        add(0, "")
    add(0, "")
    act = "sigmoid({})" if spec.act == "sigmoid" else "np.tanh({})"
    n_in, hid = n_inputs(spec), spec.hidden
    a, b = ("n_in", "n_hidden") if cls else (n_in, hid)  # a class takes its sizes as arguments
    init = [(f"{p['W1']} = np.random.randn({a}, {b}) * {spec.scale}", "init_W1"),
            (f"{p['b1']} = np.zeros((1, {b}))", "init_b1"),
            (f"{p['W2']} = np.random.randn({b}, 1) * {spec.scale}", "init_W2"),
            (f"{p['b2']} = np.zeros((1, 1))", "init_b2")]
    sq = f"({p['out']} - {y}) ** 2"
    loss_expr = f"0.5 * np.sum({sq})" if spec.loss == "half_sum" else f"np.mean({sq})"
    dsig = f"{p['out']} * (1 - {p['out']})"
    if spec.loss == "half_sum":
        d_out = f"({p['out']} - {y}) * {dsig}"
    elif spec.norm == "delta":
        d_out = f"2 * ({p['out']} - {y}) / n * {dsig}"
    else:
        d_out = f"2 * ({p['out']} - {y}) * {dsig}"
    per = " / n" if spec.norm == "grads" and spec.style != "rows" else ""
    upd_per = " / n" if spec.norm == "grads" and spec.style == "rows" else ""

    def forward(i: int) -> None:
        add(i, f"{p['z1']} = {X} @ {p['W1']} + {p['b1']}", "z1")
        add(i, f"{p['h']} = {act.format(p['z1'])}", "h")
        add(i, f"{p['out']} = sigmoid({p['h']} @ {p['W2']} + {p['b2']})", "out")

    def backward(i: int) -> None:
        add(i, f"{n['d_out']} = {d_out}", "d_out")
        add(i, f"{n['dW2']} {acc} {p['h']}.T @ {n['d_out']}{per}", "dW2")
        add(i, f"{n['db2']} {acc} " + (n["d_out"] if acc == "+=" else f"np.sum({n['d_out']}, axis=0, keepdims=True)")
            + per, "db2")
        add(i, None, "early_update")
        if spec.two_step:
            add(i, f"{n['d_h']} = {n['d_out']} @ {p['W2']}.T", "d_h")
            add(i, f"{n['d_z1']} = {n['d_h']} * {slope(spec, p['h'])}", "d_z1")
        else:
            add(i, f"{n['d_z1']} = ({n['d_out']} @ {p['W2']}.T) * {slope(spec, p['h'])}", "d_z1")
        add(i, f"{n['dW1']} {acc} {X}.T @ {n['d_z1']}{per}", "dW1")
        add(i, f"{n['db1']} {acc} " + (n["d_z1"] if acc == "+=" else f"np.sum({n['d_z1']}, axis=0, keepdims=True)")
            + per, "db1")

    def update(i: int) -> None:
        for k in ("W2", "b2", "W1", "b1"):
            add(i, f"{p[k]} -= {lr} * {n['d' + k]}{upd_per}", "upd_" + k)

    every = spec.epochs // 5
    report = f'print(f"epoch {{epoch}}  {n["loss"]} {{{n["loss"]}:.5f}}")'
    if cls:
        add(0, "class Network:")
        add(1, "def __init__(self, n_in, n_hidden, learning_rate):")
        add(2, f"np.random.seed({spec.init_seed})")
        for text, tag in init:
            add(2, text, tag)
        add(2, f"{lr} = learning_rate")
        add(0, "")
        add(1, "def forward(self, X):")
        forward(2)
        add(2, f"return {p['out']}")
        add(0, "")
        add(1, "def backward(self, X, y):")
        backward(2)
        update(2)
        add(0, "")
        add(1, "def train(self, X, y, epochs):")
        add(2, "for epoch in range(epochs):")
        add(3, "self.forward(X)")
        add(3, f"{n['loss']} = {loss_expr}", "loss")
        add(3, "self.backward(X, y)")
        add(3, f"if epoch % {every} == 0:")
        add(4, report)
        add(0, "")
        add(0, "")
        add(0, f"net = Network({n_in}, {hid}, {_num(spec.lr)})")
        add(0, f"net.train({n['X']}, {n['y']}, {spec.epochs})")
        add(0, f"{n['out']} = net.forward({n['X']})")
        final = f"({n['out']} - {n['y']}) ** 2"
    else:
        add(0, f"np.random.seed({spec.init_seed})")
        for text, tag in init:
            add(0, text, tag)
        add(0, f"{n['lr']} = {_num(spec.lr)}")
        add(0, None, "before_loop")
        add(0, "")
        add(0, f"for epoch in range({spec.epochs}):")
        if spec.style == "rows":
            for k in ("dW1", "db1", "dW2", "db2"):
                add(1, f"{n[k]} = np.zeros_like({n[k[1:]]})", "zero_" + k)
            add(1, f"{n['loss']} = 0.0")
            add(1, "for i in range(n):")
            add(2, f"{X} = {n['X']}[i:i + 1]")
            add(2, f"{y} = {n['y']}[i:i + 1]")
            forward(2)
            add(2, f"{n['loss']} += " + (loss_expr if spec.loss == "half_sum" else f"np.sum({sq}) / n"), "loss")
            add(0, "")
            backward(2)
        else:
            add(1, "# forward pass")
            forward(1)
            add(1, f"{n['loss']} = {loss_expr}", "loss")
            add(0, "")
            add(1, "# backward pass")
            backward(1)
        add(0, "")
        if spec.style == "vector":
            add(1, "# update")
        update(1)
        add(0, "")
        add(1, f"if epoch % {every} == 0:")
        add(2, report)
        add(0, "")
        add(0, f"{n['h']} = {act.format(n['X'] + ' @ ' + n['W1'] + ' + ' + n['b1'])}")
        add(0, f"{n['out']} = sigmoid({n['h']} @ {n['W2']} + {n['b2']})")
        final = f"({n['out']} - {n['y']}) ** 2"
    total = f"0.5 * np.sum({final})" if spec.loss == "half_sum" else f"np.mean({final})"
    add(0, f'print("final {n["loss"]}", {total})')
    return out


def text(lines: list[Line]) -> str:
    """The program as source text (empty slots leave no line)."""
    return "".join("    " * line.indent + line.text + "\n" if line.text else "\n"
                   for line in lines if line.text is not None)
