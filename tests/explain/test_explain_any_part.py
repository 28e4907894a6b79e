"""The ledger writes whatever the classes say about themselves: GELU, Huber and RMSprop, parts defined in this
file (an activation, a loss, an optimizer), and a layer of your own, with no edit of glassnet.explain.

Every expected number is computed here by hand with plain Python floats and ``math.erf`` (no NumPy maths,
nothing read back from glassnet), then compared with the record values and with the numbers printed in
the formulas.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess

import jsonschema
import matplotlib
import numpy as np
import pytest
from explain_helpers import numbers

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS, GELU
from glassnet.core.layers import Dense, Layer
from glassnet.core.losses import LOSSES, Huber, Loss
from glassnet.core.optimizers import Optimizer, RMSprop, UpdateLine
from glassnet.explain.schema import load_schema
from tests import custom_parts

matplotlib.use("Agg")


def Phi(z: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def phi(z: float) -> float:
    """The standard normal density."""
    return math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)


def g6(value: float) -> float:
    """A number as the ledger prints it (6 significant digits), read back."""
    return float(f"{value:.6g}")


# ----------------------------------------------------------------------------- GELU + Huber + RMSprop(momentum)
X1, Y1, DELTA = [1.0, -2.0], [0.3, 1.5], 0.5
LR, ALPHA, EPS, MU = 0.01, 0.99, 1e-8, 0.9


def gelu_network() -> gn.Network:
    return gn.Network([Dense(2, 2, GELU(), init=([[0.5, -0.3], [0.2, 0.8]], [0.1, -0.2])),
                       Dense(2, 2, "identity", init=([[0.7, -0.6], [-0.4, 0.9]], [0.05, 0.0]))], loss=Huber(DELTA))


def gelu_hand_step(P: dict[str, list], state: dict[str, list]) -> dict[str, object]:
    """One step by hand; ``P`` and ``state`` (RMSprop's s and u per entry, flat) are updated in place."""
    W1, b1, W2, b2 = P["0.W"], P["0.b"], P["1.W"], P["1.b"]
    z1 = [X1[0] * W1[0][j] + X1[1] * W1[1][j] + b1[j] for j in range(2)]
    a1 = [z * Phi(z) for z in z1]
    a2 = [a1[0] * W2[0][j] + a1[1] * W2[1][j] + b2[j] for j in range(2)]  # identity output: a = z
    r = [a2[j] - Y1[j] for j in range(2)]
    N = 2  # Huber's mean is over 1 sample x 2 outputs
    loss = sum(e * e / 2 if abs(e) < DELTA else DELTA * (abs(e) - DELTA / 2) for e in r) / N
    dA2 = [max(-DELTA, min(DELTA, e)) / N for e in r]  # the error itself, at most delta in size, over N
    slope1 = [Phi(z) + z * phi(z) for z in z1]  # GELU's derivative, by the product rule
    delta1 = [(W2[i][0] * dA2[0] + W2[i][1] * dA2[1]) * slope1[i] for i in range(2)]
    grads = {"0.W": [[X1[i] * delta1[j] for j in range(2)] for i in range(2)], "0.b": delta1,
             "1.W": [[a1[i] * dA2[j] for j in range(2)] for i in range(2)], "1.b": dA2}
    steps = {}
    for key in ("0.W", "0.b", "1.W", "1.b"):
        flat_p = [v for row in P[key] for v in row] if key.endswith("W") else list(P[key])
        flat_g = [v for row in grads[key] for v in row] if key.endswith("W") else list(grads[key])
        s0, u0 = state.setdefault(f"{key}.s", [0.0] * len(flat_p)), state.setdefault(f"{key}.u", [0.0] * len(flat_p))
        out = []
        for e, (p, g) in enumerate(zip(flat_p, flat_g)):
            s = ALPHA * s0[e] + (1 - ALPHA) * g * g
            u = MU * u0[e] + g / (math.sqrt(s) + EPS)
            out.append({"p": p, "g": g, "s0": s0[e], "u0": u0[e], "s": s, "u": u, "new": p - LR * u})
            s0[e], u0[e] = s, u
        steps[key] = out
        new = [o["new"] for o in out]
        P[key] = [new[0:2], new[2:4]] if key.endswith("W") else new
    return {"z1": z1, "a1": a1, "a2": a2, "loss": loss, "dA2": dA2, "slope1": slope1, "delta1": delta1,
            "grads": grads, "steps": steps}


def test_gelu_huber_rmsprop_momentum_ledger_by_hand():
    P = {"0.W": [[0.5, -0.3], [0.2, 0.8]], "0.b": [0.1, -0.2], "1.W": [[0.7, -0.6], [-0.4, 0.9]], "1.b": [0.05, 0.0]}
    state: dict[str, list] = {}
    gelu_hand_step(P, state)  # the first step, which the network takes below too
    hand = gelu_hand_step(P, state)  # the second: momentum and the squared average both have history

    net, opt = gelu_network(), RMSprop(LR, alpha=ALPHA, eps=EPS, momentum=MU)
    gn.explain(net, [X1], [Y1], optimizer=opt, apply=True)
    trace = gn.explain(net, [X1], [Y1], optimizer=opt)
    assert trace.loss == pytest.approx(hand["loss"], rel=1e-12)

    # GELU forward: a = z*Phi(z), the numbers written in are z, z and the value
    for j in range(2):
        z, a = hand["z1"][j], hand["a1"][j]
        r = trace.find(f"a^(1)_{j + 1}")
        assert r.value == pytest.approx(a, rel=1e-12)
        assert r.expression == f"gelu(z^(1)_{j + 1})" and "Phi(" in r.numbers
        assert numbers(r.formula) == [g6(z), g6(z), g6(a)], r.formula
        d = trace.find(f"gelu'(z^(1)_{j + 1})")
        assert d.value == pytest.approx(hand["slope1"][j], rel=1e-12)
        assert d.expression == f"Phi(z^(1)_{j + 1}) + z^(1)_{j + 1}*phi(z^(1)_{j + 1})"
        assert numbers(d.numbers) == [g6(z)] * 3, d.numbers
        assert trace.find(f"delta^(1)_{j + 1}").value == pytest.approx(hand["delta1"][j], rel=1e-12)

    # Huber: output 1 is inside delta (the error itself), output 2 outside (clipped to delta = 0.5)
    assert abs(hand["a2"][0] - Y1[0]) < DELTA < abs(hand["a2"][1] - Y1[1])
    loss = trace.find("L", kind="loss")
    assert loss.expression.startswith("(1/2) * sum ((a^(2)_j - y_j)^2/2 if |a^(2)_j - y_j| < 0.5 else 0.5*(")
    for j in range(2):
        g = trace.find(f"dL/da^(2)_{j + 1}")
        assert g.value == pytest.approx(hand["dA2"][j], rel=1e-12)
        assert g.expression == f"clip(a^(2)_{j + 1} - y_{j + 1}, -0.5, 0.5)/2"
        assert numbers(g.numbers) == [g6(hand["a2"][j]), Y1[j], -0.5, 0.5, 2]
    assert hand["dA2"][1] == -DELTA / 2

    # RMSprop with momentum, second step: s, u and the new value of each entry
    for key, l in (("0.W", 1), ("0.b", 1), ("1.W", 2), ("1.b", 2)):
        for e, h in enumerate(hand["steps"][key]):
            p = f"w^({l})_{{{e // 2 + 1},{e % 2 + 1}}}" if key.endswith("W") else f"b^({l})_{e + 1}"
            s = trace.find(f"s[{p}]", kind="state")
            assert s.value == pytest.approx(h["s"], rel=1e-12)
            assert s.expression == f"alpha*s[{p}] + (1 - alpha)*dL/d{p}^2"
            assert numbers(s.numbers) == [0.99, g6(h["s0"]), 1, 0.99, g6(h["g"]), 2], s.numbers
            u = trace.find(f"u[{p}]", kind="state")
            assert u.value == pytest.approx(h["u"], rel=1e-10)
            assert u.expression == f"mu*u[{p}] + dL/d{p}/(sqrt(s[{p}]) + eps)"
            assert numbers(u.numbers) == [0.9, g6(h["u0"]), g6(h["g"]), g6(h["s"]), 1e-8], u.numbers
            assert numbers(u.steps[0]) == [0.9, g6(h["u0"]), g6(h["g"]), g6(math.sqrt(h["s"]) + EPS)]
            new = trace.find(p, kind="update")
            assert new.value == pytest.approx(h["new"], rel=1e-10, abs=1e-14)
            assert new.formula == f"{p} <- {p} - lr*u[{p}] = {h['p']:.6g} - 0.01*{fmt_factor(h['u'])} = {h['new']:.6g}"
    # and the state the trace shows is the engine's, to the last bit: net.step on copies gives the same
    twin, twin_opt = copy.deepcopy(net), copy.deepcopy(opt)
    twin.step([X1], [Y1], twin_opt)
    assert trace.find("s[w^(1)_{1,1}]").value == twin_opt.state["0.W"]["square_avg"][0, 0]
    assert trace.find("u[b^(2)_2]").value == twin_opt.state["1.b"]["momentum_buffer"][1]


def fmt_factor(value: float) -> str:
    text = f"{value:.6g}"
    return f"({text})" if text.startswith("-") else text


def test_gelu_huber_rmsprop_and_a_layer_of_your_own_render_everywhere(tmp_path):
    trace = gn.explain(gelu_network(), [X1], [Y1], optimizer=RMSprop(LR, momentum=MU))
    jsonschema.validate(json.loads(trace.to_json()), load_schema())
    assert r"\Phi(" in trace.to_latex() and r"\operatorname{clip}(" in trace.to_latex()
    assert "s and u start at 0" in trace.to_text()
    sheet = gn.worksheet(gelu_network(), [X1], [Y1], optimizer=RMSprop(LR, momentum=MU))
    assert "u[w^(1)_{1,1}] <- mu*u[w^(1)_{1,1}] + dL/dw^(1)_{1,1}/(sqrt(s[w^(1)_{1,1}]) + eps) = ____" in \
        sheet.to_markdown()
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (CI installs texlive-latex-base in .ci/run)")
    sources = {"gelu": trace.to_latex(document=True), "sheet": sheet.to_latex(),
               "scale": gn.explain(scale_network(), XS, YS, optimizer=gn.Adam(0.01)).to_latex(document=True)}
    for name, source in sources.items():
        (tmp_path / f"{name}.tex").write_text(source)
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:]


# ----------------------------------------------------------------------------- every registered activation and loss
def evaluate(text: str) -> float:
    """The arithmetic of a formula filled in with numbers (``^`` a power; the functions the classes write)."""
    names = {"exp": math.exp, "tanh": math.tanh, "max": max, "sqrt": math.sqrt, "Phi": Phi, "phi": phi,
             "clip": lambda v, lo, hi: max(lo, min(hi, v))}
    return float(eval(text.replace("^", "**"), {"__builtins__": {}}, names))  # noqa: S307


@pytest.mark.parametrize("name", [cls.name for cls in ACTIVATIONS.classes() if cls.elementwise])
def test_every_elementwise_activation_writes_numbers_that_give_its_value(name):
    """A registered activation's formula and derivative, filled in, evaluate to the engine's a and f'(z)."""
    net = gn.Network([Dense(2, 3, name, init=([[0.4, -1.2, 0.0], [0.9, 0.3, -0.5]], [0.1, -0.2, 0.3])),
                      Dense(3, 1, "identity")], loss="mse", seed=0)
    trace = gn.explain(net, [[0.7, -0.6]], [0.2], digits=15)
    act = net.layers[0].activation
    for j in range(3):
        a, d = trace.find(f"a^(1)_{j + 1}"), trace.find(f"{name}'(z^(1)_{j + 1})")
        assert evaluate(a.numbers) == pytest.approx(a.value, rel=1e-12), a.formula
        assert d.expression in ("", act.derivative(f"a^(1)_{j + 1}", f"z^(1)_{j + 1}"))
        if d.numbers:
            assert evaluate(d.numbers) == pytest.approx(d.value, rel=1e-12), d.formula


@pytest.mark.parametrize("name", [cls.name for cls in LOSSES.classes() if cls.fused_activation is None])
def test_every_unfused_loss_writes_its_gradient(name):
    loss = LOSSES.lookup(name)()
    net = gn.Network([Dense(2, 2, "identity", init=([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]))], loss=loss)
    X, Y = [[0.2, 3.0], [-0.4, 0.1]], [[0.5, -0.1], [0.0, 0.3]]
    trace = gn.explain(net, X, Y, digits=15)
    assert trace.find("L", kind="loss").expression == loss.formula("a^(1)_j[n]", "y_j[n]", "4")
    for n in range(2):
        for j in range(2):
            g = trace.find(f"dL/da^(1)_{j + 1}", sample=n)
            assert g.expression == loss.gradient_formula(f"a^(1)_{j + 1}", f"y_{j + 1}", "4")
            assert evaluate(g.numbers) == pytest.approx(g.value, rel=1e-12), g.formula


# ----------------------------------------------------------------------------- parts defined here
class Softsign(custom_parts.Softsign):
    """Softsign with its formula text, for the ledger."""

    def formula(self, z):
        return f"{z}/(1 + abs({z}))"

    def derivative(self, a, z):
        return f"1/(1 + abs({z}))^2"


class MeanAbsoluteError(Loss):
    """``L = mean(|A - Y|)``; ``dL/dA = sign(A - Y) / N``."""

    name = "mae"

    def value(self, Z, A, Y):
        return float(np.mean(np.abs(A - Y)))

    def gradient(self, Z, A, Y):
        return np.sign(A - Y) / A.size

    def formula(self, a, y, N):
        return f"(1/{N}) * sum |{a} - {y}|"

    def gradient_formula(self, a, y, N):
        return f"sign({a} - {y})/{N}"


class SignDescent(Optimizer):
    """``p <- p - lr * sign(g)``."""

    name = "sign_descent"

    def update_one(self, name, p, g):
        p -= self.lr * np.sign(g)

    def config(self):
        return {"name": self.name, "lr": self.lr}

    def explain_update(self, p, g, values, num):
        return [UpdateLine(p, values.after, f"{p} - lr*sign({g})",
                           f"{num(values.before)} - {num(self.lr)}*sign({num(values.grad)})")]


def test_parts_defined_here_appear_with_their_formulas():
    W, b, V, c, x, y = [[0.5], [-1.0]], [0.25], [[2.0]], [0.0], [1.0, 0.5], 0.3
    net = gn.Network([Dense(2, 1, Softsign(), init=(W, b)), Dense(1, 1, "identity", init=(V, c))],
                     loss=MeanAbsoluteError())
    trace = gn.explain(net, [x], [y], optimizer=SignDescent(0.1))
    z = 0.5 * 1.0 + (-1.0) * 0.5 + 0.25  # 0.25
    a = z / (1 + abs(z))  # 0.2
    out = 2.0 * a + 0.0  # 0.4, above the target: the gradient's sign is +1
    assert trace.find("a^(1)_1").formula == f"a^(1)_1 = softsign(z^(1)_1) = 0.25/(1 + abs(0.25)) = {a:.6g}"
    assert trace.find("softsign'(z^(1)_1)").formula == (
        f"softsign'(z^(1)_1) = 1/(1 + abs(z^(1)_1))^2 = 1/(1 + abs(0.25))^2 = {1 / (1 + z) ** 2:.6g}")
    sign = (out > y) - (out < y)
    assert trace.find("L", kind="loss").expression == "(1/1) * sum |a^(2)_j - y_j|"
    assert trace.find("dL/da^(2)_1").formula.startswith("dL/da^(2)_1 = sign(a^(2)_1 - y_1)/1 = sign(")
    assert trace.find("dL/da^(2)_1").value == sign
    update = trace.find("w^(1)_{1,1}", kind="update")
    assert update.expression == "w^(1)_{1,1} - lr*sign(dL/dw^(1)_{1,1})"
    assert update.numbers.startswith("0.5 - 0.1*sign(")
    jsonschema.validate(json.loads(trace.to_json()), load_schema())


# ----------------------------------------------------------------------------- a layer of your own
class Scale(Layer):
    """``a = c * (gamma * x + beta)`` entry by entry: a vector ``gamma``, a vector ``beta``, a scalar ``c``."""

    name = "scale"
    penalized = ("gamma",)

    def __init__(self, n, gamma, beta, c):
        super().__init__()
        self.n_in = self.n_out = n
        self.start = {"gamma": gamma, "beta": beta, "c": c}

    def initialize(self, rng, dtype=np.float64):
        self.params = {k: np.array(v, dtype=dtype) for k, v in self.start.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, X):
        inner = X * self.params["gamma"] + self.params["beta"]
        A = self.params["c"] * inner
        self.cache = {"X": X, "inner": inner, "A": A}
        return A

    def backward(self, dA):
        X, inner, c = self.cache["X"], self.cache["inner"], self.params["c"]
        self.grads = {"gamma": (dA * c * X).sum(axis=0), "beta": (dA * c).sum(axis=0), "c": np.array((dA * inner).sum())}
        return dA * c * self.params["gamma"]

    def formulas(self):
        return ["a = c * (gamma * x + beta)"]


W1, B1, GAMMA, BETA, C, W3, B3 = [[1.0, 0.5], [-0.5, 2.0]], [0.1, -0.1], [0.5, 1.5], [0.1, -0.2], 2.0, [0.3, -0.7], 0.05
XS, YS, L2, STEP = [[1.0, 2.0], [-1.0, 0.5]], [0.5, -0.2], 0.1, 0.1


def scale_network() -> gn.Network:
    return gn.Network([Dense(2, 2, "identity", init=(W1, B1)), Scale(2, GAMMA, BETA, C),
                       Dense(2, 1, "identity", init=([[W3[0]], [W3[1]]], [B3]))], loss="mse", l2=L2)


def scale_by_hand() -> dict[str, object]:
    a1 = [[sum(XS[n][i] * W1[i][j] for i in range(2)) + B1[j] for j in range(2)] for n in range(2)]
    a2 = [[C * (GAMMA[j] * a1[n][j] + BETA[j]) for j in range(2)] for n in range(2)]
    a3 = [a2[n][0] * W3[0] + a2[n][1] * W3[1] + B3 for n in range(2)]
    penalty = L2 / 2 * (sum(w * w for row in W1 for w in row) + sum(g * g for g in GAMMA) + sum(w * w for w in W3))
    loss = sum((a3[n] - YS[n]) ** 2 for n in range(2)) / 2 + penalty
    d3 = [2 * (a3[n] - YS[n]) / 2 for n in range(2)]  # N = 2 samples x 1 output
    dA2 = [[W3[j] * d3[n] for j in range(2)] for n in range(2)]
    data = {"gamma": [sum(dA2[n][j] * C * a1[n][j] for n in range(2)) for j in range(2)],
            "beta": [sum(dA2[n][j] * C for n in range(2)) for j in range(2)],
            "c": sum(dA2[n][j] * (GAMMA[j] * a1[n][j] + BETA[j]) for n in range(2) for j in range(2))}
    dA1 = [[dA2[n][j] * C * GAMMA[j] for j in range(2)] for n in range(2)]
    grads = {"1.gamma": [data["gamma"][j] + L2 * GAMMA[j] for j in range(2)], "1.beta": data["beta"], "1.c": data["c"],
             "2.W": [[sum(a2[n][j] * d3[n] for n in range(2)) + L2 * W3[j]] for j in range(2)],
             "2.b": [sum(d3)],
             "0.W": [[sum(XS[n][i] * dA1[n][j] for n in range(2)) + L2 * W1[i][j] for j in range(2)] for i in range(2)],
             "0.b": [sum(dA1[n][j] for n in range(2)) for j in range(2)]}
    return {"a2": a2, "a3": a3, "penalty": penalty, "loss": loss, "dA2": dA2, "dA1": dA1, "data": data,
            "grads": grads}


def test_a_layer_of_your_own_is_explained_entry_by_entry():
    hand = scale_by_hand()
    net = scale_network()
    twin = copy.deepcopy(net)
    trace = gn.explain(net, XS, YS, optimizer=gn.SGD(STEP))
    assert trace.loss == pytest.approx(hand["loss"], rel=1e-12)
    assert trace.find("L_{L2}").value == pytest.approx(hand["penalty"], rel=1e-12)
    assert "gamma of layer 2" in trace.find("L_{L2}").note
    for key, expected in hand["grads"].items():
        assert trace.gradients[key] == pytest.approx(np.array(expected), rel=1e-12), key

    # forward: the layer's outputs, sample by sample, with its formulas in its own words
    for n in range(2):
        for j in range(2):
            r = trace.find(f"a^(2)_{j + 1}", sample=n)
            assert r.kind == "a" and r.value == pytest.approx(hand["a2"][n][j], rel=1e-12)
    assert "a = c * (gamma * x + beta)" in trace.find("a^(2)_1", sample=0).note
    assert not [r for r in trace.records if r.kind == "z" and r.layer == 2]  # it has no z: none is made up

    # backward: dL/da handed to it (the Dense layer above's sum) and what its backward returned to layer 1
    for n in range(2):
        for j in range(2):
            received = trace.find(f"dL/da^(2)_{j + 1}", sample=n)
            assert received.kind == "dA" and received.value == pytest.approx(hand["dA2"][n][j], rel=1e-12)
            assert received.expression == f"(w^(3)_{{{j + 1},1}}*delta^(3)_1)"
            returned = trace.find(f"dL/da^(1)_{j + 1}", sample=n)
            assert returned.value == pytest.approx(hand["dA1"][n][j], rel=1e-12) and returned.expression == ""
            delta = trace.find(f"delta^(1)_{j + 1}", sample=n)
            assert delta.expression == f"dL/da^(1)_{j + 1} * identity'(z^(1)_{j + 1})"
            assert delta.value == pytest.approx(hand["dA1"][n][j], rel=1e-12)
    assert "returned by the backward of layer 2, Scale(2 -> 2)" in trace.find("dL/da^(1)_1", sample=0).note

    # gradients: every parameter entry, the L2 term on the penalized one written out
    for j in range(2):
        g = trace.find(f"dL/dgamma^(2)_{j + 1}")
        assert (g.kind, g.key, g.indices) == ("grad", "1.gamma", (j,))
        assert g.expression == f"dL_data/dgamma^(2)_{j + 1} + lambda*gamma^(2)_{j + 1}"
        assert numbers(g.numbers) == [g6(hand["data"]["gamma"][j]), 0.1, GAMMA[j]]
        assert g.value == pytest.approx(hand["grads"]["1.gamma"][j], rel=1e-12)
        beta = trace.find(f"dL/dbeta^(2)_{j + 1}")
        assert beta.expression == "" and beta.value == pytest.approx(hand["data"]["beta"][j], rel=1e-12)
    c = trace.find("dL/dc^(2)")
    assert c.indices == () and c.value == pytest.approx(hand["data"]["c"], rel=1e-12)

    # update: each entry by the optimizer's own text, values equal to net.step's
    new_c = trace.find("c^(2)", kind="update")
    assert new_c.formula == f"c^(2) <- c^(2) - lr*dL/dc^(2) = 2 - 0.1*{fmt_factor(hand['data']['c'])} = " \
                            f"{C - STEP * hand['data']['c']:.6g}"
    twin.step(XS, YS, gn.SGD(STEP))
    for key, p in twin.parameters().items():
        assert np.array_equal(trace.updates[key], p), key
    for j in range(2):
        assert trace.find(f"gamma^(2)_{j + 1}", kind="update").value == pytest.approx(
            GAMMA[j] - STEP * hand["grads"]["1.gamma"][j], rel=1e-12)

    # nothing of explain stays on the layer, and every renderer copes
    assert not {"forward", "backward", "backward_from_dZ"} & set(vars(net.layers[1]))
    data = json.loads(trace.to_json())
    jsonschema.validate(data, load_schema())
    assert data["network"]["layers"][1] == {"index": 1, "layer": 2, "type": "Scale", "n_in": 2, "n_out": 2,
                                            "activation": None, "params": ["1.gamma", "1.beta", "1.c"]}
    assert r"dL/dc^{(2)}" not in trace.to_latex() and r"\frac{\partial L}{\partial c^{(2)}}" in trace.to_latex()
    assert "dL/dc^(2)" in trace.to_markdown()
    assert "gamma^(2)_1 <- gamma^(2)_1 - lr*dL/dgamma^(2)_1 = ____" in gn.worksheet(net, XS, YS).to_markdown()
    gn.plot_network(net, trace)


def test_a_layer_of_your_own_with_adam_and_compact_mode():
    net = scale_network()
    trace = gn.explain(net, XS, YS, optimizer=gn.Adam(0.01), neurons={2: [1]})
    assert [r.neuron for r in trace.where(kind="a") if r.layer == 2] == [1, 1]
    assert any("more a of layer 2" in r.symbol for r in trace.where(kind="summary"))
    assert [r.indices for r in trace.where(kind="grad")] == [(1,), (1,), ()]  # gamma_2, beta_2 and the scalar c
    m = trace.find("m[beta^(2)_2]")
    assert m.kind == "state" and m.value == pytest.approx(0.1 * trace.gradients["1.beta"][1], rel=1e-12)
    jsonschema.validate(json.loads(trace.to_json()), load_schema())
