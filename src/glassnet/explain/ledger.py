"""From recorded arrays to records: each number of the step written as a formula with its numbers.

Every *value* comes from the :class:`~glassnet.explain.hooks.StepRecord` (the engine's arrays); this
module only writes the formulas that show where each one came from, in the convention of
``records.py``. The one number asked of the engine here rather than recorded is an activation's
derivative ``f'(z)``, obtained from that activation's own ``backward(Z, A, 1)``.

Order of the ledger: forward (per sample: inputs, then each layer's ``z`` and ``a``), loss (targets,
the loss, the L2 term), backward (per sample, last layer to first: ``dL/da``, ``f'(z)``, ``delta``),
gradients (each ``dL/dw`` and ``dL/db``: sums over samples), update (optimizer state, new values).
Next read: ``render.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.network import Network
from glassnet.core.optimizers import SGD, Adam, Optimizer
from glassnet.errors import ConfigError
from glassnet.explain.hooks import StepRecord
from glassnet.explain.records import Record, fmt, grad, sym, term

Array = NDArray[np.floating]

# Plain-text templates, keyed by activation name: the function at z, and its derivative.
_ACT: dict[str, Callable[[float, Callable[[float], str]], str]] = {
    "sigmoid": lambda z, f: f"1/(1 + exp({f(-z)}))",
    "tanh": lambda z, f: f"tanh({f(z)})",
    "relu": lambda z, f: f"max({f(z)}, 0)",
    "identity": lambda z, f: f(z),
}
_DERIV = {
    "sigmoid": (lambda a, z: f"{a}*(1 - {a})", "A"),
    "tanh": (lambda a, z: f"1 - {a}^2", "A"),
    "relu": (lambda a, z: f"1 if {z} > 0 else 0", "Z"),
    "identity": (lambda a, z: "1", ""),
}


def parse_neurons(neurons: Mapping[int, Sequence[int]] | None, sizes: Sequence[int]) -> dict[int, set[int]]:
    """Check a ``{layer: [neuron, ...]}`` selection (layer as in symbols, 0 = inputs; neurons 0-based)."""
    if neurons is None:
        return {}
    chosen: dict[int, set[int]] = {}
    for layer, units in neurons.items():
        if not isinstance(layer, (int, np.integer)) or not 0 <= layer < len(sizes):
            raise ConfigError(f"neurons: layer {layer!r} does not exist; layers are 0 (inputs) to {len(sizes) - 1}")
        given: list[Any] = [units] if isinstance(units, (int, np.integer)) else list(units)
        bad = [u for u in given if not isinstance(u, (int, np.integer)) or not 0 <= u < sizes[layer]]
        if bad:
            raise ConfigError(f"neurons: layer {layer} has neurons 0..{sizes[layer] - 1} (0-based); got {bad}")
        chosen[int(layer)] = {int(u) for u in given}
    return chosen


def estimate_terms(net: Network, n_samples: int, chosen: dict[int, set[int]]) -> int:
    """About how many numbers the ledger will write: the size guard of :func:`glassnet.explain`."""
    total = n_samples * net.n_in
    for l, layer in enumerate(net.layers, start=1):
        shown = len(chosen.get(l, range(layer.n_out)))
        above = net.layers[l].n_out if l < len(net.layers) else 1  # terms of each hidden delta's chain-rule sum
        total += (n_samples + 1) * shown * (2 * layer.n_in + 8) + n_samples * shown * (2 * above + 4)
    return total


class Ledger:
    """Builds the list of records of one step; see the module docstring for the order."""

    def __init__(self, net: Network, X: Array, Y: Array, step: StepRecord, params: dict[str, Array],
                 grads: dict[str, Array], optimizer: Optimizer | None, chosen: dict[int, set[int]], digits: int) -> None:
        self.net, self.X, self.Y, self.step, self.params, self.grads = net, X, Y, step, params, grads
        self.optimizer, self.chosen, self.digits = optimizer, chosen, digits
        self.n = X.shape[0]
        self.records: list[Record] = []
        self._skipped: dict[tuple[str, str, int, int | None], list[tuple[int, float]]] = defaultdict(list)

    # ------------------------------------------------------------------ helpers
    def t(self, value: float) -> str:
        return term(float(value), self.digits)

    def f(self, value: float) -> str:
        return fmt(float(value), self.digits)

    def keep(self, kind: str, phase: str, layer: int, neuron: int, sample: int | None, value: float) -> bool:
        """True if neuron ``neuron`` of ``layer`` is shown; else remember it for a summary line."""
        if layer not in self.chosen or neuron in self.chosen[layer]:
            return True
        self._skipped[(kind, phase, layer, sample)].append((neuron, float(value)))
        return False

    def emit(self, **fields: Any) -> None:
        self.records.append(Record(digits=self.digits, **fields))

    def flush(self) -> None:
        """One summary record for each group of neurons left out since the last flush."""
        for (kind, phase, layer, sample), items in self._skipped.items():
            values = [v for _, v in items]
            self.emit(kind="summary", phase=phase, layer=layer, sample=sample, value=None,
                      symbol=f"({len(items)} more {kind} of layer {layer} not shown)",
                      note=f"{kind} of neurons {sorted({i + 1 for i, _ in items})[:20]} (1-based) range from "
                           f"{self.f(min(values))} to {self.f(max(values))}")
        self._skipped.clear()

    def s(self, name: str, layer: int, *neurons: int) -> str:
        """A symbol inside a sum over samples: ``[n]`` appended when the batch has several samples."""
        return sym(name, layer, *neurons) + ("[n]" if self.n > 1 else "")

    def sum_n(self, body: str) -> str:
        return f"sum_n {body}" if self.n > 1 else body

    # ------------------------------------------------------------------ the phases
    def build(self) -> list[Record]:
        self.forward()
        self.loss()
        self.backward()
        self.gradients()
        self.update()
        return self.records

    def forward(self) -> None:
        for n in range(self.n):
            for i in range(self.net.n_in):
                if self.keep("input", "forward", 0, i, n, self.X[n, i]):
                    self.emit(kind="input", phase="forward", symbol=sym("a", 0, i), expression=f"x_{i + 1}",
                              value=float(self.X[n, i]), layer=0, neuron=i, indices=(i,), sample=n)
            self.flush()
            for l, (layer, rec) in enumerate(zip(self.net.layers, self.step.layers), start=1):
                W, b = self.params[f"{l - 1}.W"], self.params[f"{l - 1}.b"]
                act = layer.activation.name
                for j in range(layer.n_out):
                    if not self.keep("z", "forward", l, j, n, rec.Z[n, j]):
                        self.keep("a", "forward", l, j, n, rec.A[n, j])
                        continue
                    expression = " + ".join(f"{sym('w', l, i, j)}*{sym('a', l - 1, i)}" for i in range(layer.n_in))
                    numbers = " + ".join(f"{self.t(W[i, j])}*{self.t(rec.X[n, i])}" for i in range(layer.n_in))
                    self.emit(kind="z", phase="forward", symbol=sym("z", l, j), value=float(rec.Z[n, j]),
                              expression=f"{expression} + {sym('b', l, j)}", numbers=f"{numbers} + {self.t(b[j])}",
                              layer=l, neuron=j, indices=(j,), sample=n)
                    z = float(rec.Z[n, j])
                    if act == "softmax":
                        expression = f"exp({sym('z', l, j)})/sum_k exp(z^({l})_k)"
                        numbers = f"exp({self.f(z)})/(" + " + ".join(f"exp({self.f(v)})" for v in rec.Z[n]) + ")"
                    elif act in _ACT:
                        expression, numbers = f"{act}({sym('z', l, j)})", _ACT[act](z, self.f)
                    elif act == "leaky_relu":
                        slope = self.f(layer.activation.slope)  # type: ignore[attr-defined]
                        expression = f"{act}({sym('z', l, j)})"
                        numbers = f"{self.f(z)} if {self.f(z)} > 0 else {slope}*{self.t(z)}"
                    else:
                        expression, numbers = f"{act}({sym('z', l, j)})", f"{act}({self.f(z)})"
                    self.emit(kind="a", phase="forward", symbol=sym("a", l, j), value=float(rec.A[n, j]),
                              expression=expression, numbers=numbers, layer=l, neuron=j, indices=(j,), sample=n)
                self.flush()

    def loss(self) -> None:
        L = len(self.net.layers)
        A = self.step.layers[-1].A
        k = self.net.n_out
        for n in range(self.n):
            for j in range(k):
                if self.keep("target", "loss", L, j, n, self.Y[n, j]):
                    self.emit(kind="target", phase="loss", symbol=f"y_{j + 1}", value=float(self.Y[n, j]),
                              layer=L, neuron=j, indices=(j,), sample=n)
            self.flush()
        name = self.net.loss_fn.name
        suffix = "[n]" if self.n > 1 else ""
        a, y = f"a^({L})_j{suffix}", f"y_j{suffix}"
        pairs = [(float(A[n, j]), float(self.Y[n, j])) for n in range(self.n) for j in range(k)]
        if name == "mse":
            N = self.n * k
            expression = f"(1/{N}) * {self.sum_n('sum_j')} ({a} - {y})^2"
            numbers = f"(1/{N}) * (" + " + ".join(f"({self.f(av)} - {self.f(yv)})^2" for av, yv in pairs) + ")"
            note = f"glassnet's mse is the mean over all {self.n} sample(s) x {k} output(s) = {N} squared errors"
        elif name == "bce":
            N = self.n * k
            expression = f"-(1/{N}) * {self.sum_n('sum_j')} ({y}*log({a}) + (1 - {y})*log(1 - {a}))"
            numbers = f"-(1/{N}) * (" + " + ".join(
                f"{self.f(yv)}*log({self.f(av)}) + (1 - {self.f(yv)})*log(1 - {self.f(av)})" for av, yv in pairs) + ")"
            note = "the engine computes each term stably from z as softplus(z) - y*z, which equals it"
        elif name == "cross_entropy":
            expression = f"-(1/{self.n}) * {self.sum_n('sum_j')} {y}*log({a})"
            numbers = f"-(1/{self.n}) * (" + " + ".join(
                f"{self.f(yv)}*log({self.f(av)})" for av, yv in pairs if yv != 0) + ")"
            note = "only the terms with y != 0 are written; the engine computes log(a) stably from z"
        else:
            expression, numbers, note = "", "", f"loss {name!r}"
        data_symbol = "L_{data}" if self.net.l2 else "L"
        self.emit(kind="loss", phase="loss", symbol=data_symbol, value=self.step.data_loss, layer=L,
                  expression=expression, numbers=numbers, note=note)
        if self.net.l2:
            weights = [float(v) for i in range(L) for v in self.params[f"{i}.W"].ravel()]
            self.emit(kind="penalty", phase="loss", symbol="L_{L2}", value=self.step.penalty,
                      expression="(lambda/2) * sum of every w^2", numbers=f"({self.f(self.net.l2)}/2) * ("
                      + " + ".join(f"{self.t(w)}^2" for w in weights) + ")",
                      note="the L2 penalty covers the weights of every layer, not the biases")
            total = (self.step.data_loss or 0.0) + (self.step.penalty or 0.0)
            self.emit(kind="loss_total", phase="loss", symbol="L", value=total, expression="L_{data} + L_{L2}",
                      numbers=f"{self.f(self.step.data_loss or 0.0)} + {self.f(self.step.penalty or 0.0)}")

    def _derivative(self, l: int, j: int, n: int) -> tuple[str, float]:
        """Emit ``f'(z^(l)_j)`` for sample ``n`` (an elementwise activation); returns its symbol and value."""
        layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
        act = layer.activation
        # The engine's own derivative: backward with dA = 1 gives f'(z) for an elementwise activation.
        value = float(act.backward(rec.Z[n:n + 1, j:j + 1], rec.A[n:n + 1, j:j + 1], np.ones((1, 1)))[0, 0])
        symbol = f"{act.name}'({sym('z', l, j)})"
        expression = numbers = ""
        if act.name in _DERIV:
            template, source = _DERIV[act.name]
            expression = template(sym("a", l, j), sym("z", l, j))
            numbers = template(self.t(rec.A[n, j]), self.f(rec.Z[n, j])) if source else ""
        elif act.name == "leaky_relu":
            slope = self.f(act.slope)  # type: ignore[attr-defined]
            expression = f"1 if {sym('z', l, j)} > 0 else {slope}"
            numbers = f"1 if {self.f(rec.Z[n, j])} > 0 else {slope}"
        if expression == "1":
            expression = ""
        self.emit(kind="derivative", phase="backward", symbol=symbol, value=value, expression=expression,
                  numbers=numbers, layer=l, neuron=j, indices=(j,), sample=n)
        return symbol, value

    def backward(self) -> None:
        L = len(self.net.layers)
        for n in range(self.n):
            for l in range(L, 0, -1):
                layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
                for j in range(layer.n_out):
                    if not self.keep("delta", "backward", l, j, n, rec.dZ[n, j]):
                        continue
                    delta = dict(kind="delta", phase="backward", symbol=sym("delta", l, j), value=float(rec.dZ[n, j]),
                                 layer=l, neuron=j, indices=(j,), sample=n)
                    if l == L:
                        self._output_delta(n, j, delta)
                        continue
                    nxt, below = self.net.layers[l], self.step.layers[l]
                    W = self.params[f"{l}.W"]
                    derivative = self._derivative(l, j, n)
                    ks = range(nxt.n_out)
                    expression = "(" + " + ".join(f"{sym('w', l + 1, j, k)}*{sym('delta', l + 1, k)}" for k in ks) + ")"
                    numbers = "(" + " + ".join(f"{self.t(W[j, k])}*{self.t(below.dZ[n, k])}" for k in ks) + ")"
                    self.emit(**delta, expression=f"{expression} * {derivative[0]}",
                              numbers=f"{numbers} * {self.t(derivative[1])}",
                              steps=[f"{self.t(below.dX[n, j])} * {self.t(derivative[1])}"],
                              note="chain rule: the sum is dL/da of this neuron (from the layer above), times "
                                   "the slope of its activation" if n == j == 0 else "")
                self.flush()

    def _output_delta(self, n: int, j: int, delta: dict[str, Any]) -> None:
        L = len(self.net.layers)
        layer, rec, loss = self.net.layers[-1], self.step.layers[-1], self.net.loss_fn
        a, y = sym("a", L, j), f"y_{j + 1}"
        av, yv = self.f(rec.A[n, j]), self.f(self.Y[n, j])
        k = self.net.n_out
        if loss.fused_activation:
            per_entry = loss.name == "bce"  # bce averages over every output, cross-entropy over samples
            N, what = (self.n * k, f"{self.n} sample(s) x {k} output(s)") if per_entry else (self.n, f"{self.n} sample(s)")
            note = (f"{loss.name} on {layer.activation.name} simplifies to (a - y)/N; the 1/N averages over {what} "
                    "and is the only averaging in the step: dW and db below are plain sums") if n == j == 0 else ""
            self.emit(**delta, expression=f"({a} - {y})/{N}", numbers=f"({av} - {yv})/{N}", note=note)
            return
        d = float(self.step.loss_gradient[n, j])
        if loss.name == "mse":
            N = self.n * k
            expression, numbers = f"2*({a} - {y})/{N}", f"2*({av} - {yv})/{N}"
            note = (f"the 1/N with N = {self.n} sample(s) x {k} output(s) = {N} comes from the mean in the loss; it is "
                    "the only averaging in the step: dW and db below are plain sums over samples") if n == j == 0 else ""
        else:
            expression, numbers, note = "", "", ""
        self.emit(kind="loss_grad", phase="backward", symbol=grad(a), value=d, expression=expression,
                  numbers=numbers, note=note, layer=L, neuron=j, indices=(j,), sample=n)
        if layer.activation.name == "softmax":
            A, dA = rec.A[n], self.step.loss_gradient[n]
            ks = range(k)
            self.emit(**delta, expression=f"{a}*({grad(a)} - sum_k dL/da^({L})_k*a^({L})_k)",
                      numbers=f"{av}*({self.t(d)} - (" + " + ".join(f"{self.t(dA[q])}*{self.t(A[q])}" for q in ks) + "))",
                      note="softmax couples the outputs: its Jacobian is diag(a) - a a^T")
            return
        derivative = self._derivative(L, j, n)
        self.emit(**delta, expression=f"{grad(a)} * {derivative[0]}", numbers=f"{self.t(d)} * {self.t(derivative[1])}")

    def gradients(self) -> None:
        l2 = self.net.l2
        for l in range(len(self.net.layers), 0, -1):
            layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
            key_W, key_b = f"{l - 1}.W", f"{l - 1}.b"
            W, final = self.params[key_W], self.grads[key_W]
            samples = range(self.n)
            for i in range(layer.n_in):
                for j in range(layer.n_out):
                    if not self.keep("dW", "gradient", l, j, None, final[i, j]):
                        continue
                    w = sym("w", l, i, j)
                    expression = self.sum_n(f"{self.s('a', l - 1, i)} * {self.s('delta', l, j)}")
                    numbers = " + ".join(f"{self.t(rec.X[n, i])}*{self.t(rec.dZ[n, j])}" for n in samples)
                    steps: list[str] = []
                    if l2:
                        expression += f" + lambda*{w}"
                        numbers = (f"({numbers})" if self.n > 1 else numbers) + f" + {self.f(l2)}*{self.t(W[i, j])}"
                        steps = [f"{self.t(rec.dW[i, j])} + {self.t(l2 * W[i, j])}"]
                    self.emit(kind="dW", phase="gradient", symbol=grad(w), value=float(final[i, j]), expression=expression,
                              numbers=numbers, steps=steps, layer=l, neuron=j, indices=(i, j), key=key_W,
                              note="a plain sum over the samples: the 1/N is already inside each delta"
                              if self.n > 1 and i == j == 0 else "")
            self.flush()
            for j in range(layer.n_out):
                if self.keep("db", "gradient", l, j, None, rec.db[j]):
                    self.emit(kind="db", phase="gradient", symbol=grad(sym("b", l, j)), value=float(self.grads[key_b][j]),
                              expression=self.sum_n(self.s("delta", l, j)),
                              numbers=" + ".join(self.t(rec.dZ[n, j]) for n in samples) if self.n > 1 else "",
                              layer=l, neuron=j, indices=(j,), key=key_b,
                              note="the deltas of all samples are added up first; b changes once, after the sum "
                                   "(changing b inside the loop over samples is a different algorithm)"
                              if self.n > 1 and j == 0 and l == len(self.net.layers) else "")
            self.flush()

    def update(self) -> None:
        opt = self.optimizer
        if opt is None:
            return
        lr = self.f(opt.lr)
        for key, u in self.step.updates.items():
            k, name = key.split(".")
            l = int(k) + 1
            for idx in np.ndindex(u.before.shape):
                j = idx[-1]
                if not self.keep("update", "update", l, j, None, float(u.after[idx])):
                    continue
                p = sym(name.lower(), l, *idx)
                steps: list[str] = []
                g, gv, pv = grad(p), float(u.grad[idx]), self.f(float(u.before[idx]))
                common = dict(phase="update", layer=l, neuron=j, indices=tuple(int(i) for i in idx), key=key, op="<-")
                if isinstance(opt, SGD) and opt.momentum:
                    mu, v = self.f(opt.momentum), float(u.state_after["velocity"][idx])
                    if "velocity" in u.state_before:
                        vb = float(u.state_before["velocity"][idx])
                        self.emit(kind="velocity", symbol=f"v[{p}]", value=v, expression=f"mu*v[{p}] + {g}",
                                  numbers=f"{mu}*{self.t(vb)} + {self.t(gv)}", **common)
                    else:
                        self.emit(kind="velocity", symbol=f"v[{p}]", value=v, expression=g,
                                  note="the first step starts the velocity at the gradient (as torch.optim.SGD)", **common)
                    if opt.nesterov:
                        expression, numbers = f"{p} - lr*({g} + mu*v[{p}])", f"{pv} - {lr}*({self.t(gv)} + {mu}*{self.t(v)})"
                    else:
                        expression, numbers = f"{p} - lr*v[{p}]", f"{pv} - {lr}*{self.t(v)}"
                elif isinstance(opt, SGD):
                    expression, numbers = f"{p} - lr*{g}", f"{pv} - {lr}*{self.t(gv)}"
                elif isinstance(opt, Adam):
                    b1, b2 = (self.f(b) for b in opt.betas)
                    st0, st = u.state_before, u.state_after
                    t = int(st["t"])
                    m0 = float(st0["m"][idx]) if "m" in st0 else 0.0
                    v0 = float(st0["v"][idx]) if "v" in st0 else 0.0
                    m, v = float(st["m"][idx]), float(st["v"][idx])
                    self.emit(kind="adam_m", symbol=f"m[{p}]", value=m, expression=f"beta1*m[{p}] + (1 - beta1)*{g}",
                              numbers=f"{b1}*{self.t(m0)} + (1 - {b1})*{self.t(gv)}", **common)
                    self.emit(kind="adam_v", symbol=f"v[{p}]", value=v, expression=f"beta2*v[{p}] + (1 - beta2)*{g}^2",
                              numbers=f"{b2}*{self.t(v0)} + (1 - {b2})*{self.t(gv)}^2", **common)
                    expression = f"{p} - lr/(1 - beta1^t) * m[{p}]/(sqrt(v[{p}])/sqrt(1 - beta2^t) + eps)"
                    numbers = (f"{pv} - {lr}/(1 - {b1}^{t}) * {self.t(m)}/(sqrt({self.f(v)})/sqrt(1 - {b2}^{t}) + "
                               f"{self.f(opt.eps)})")
                    # The bias-corrected step size and denominator, worked out for the reader (the value is the engine's).
                    step_size = opt.lr / (1 - opt.betas[0] ** t)
                    denominator = math.sqrt(v) / math.sqrt(1 - opt.betas[1] ** t) + opt.eps
                    steps = [f"{pv} - {self.f(step_size)} * {self.t(m)}/{self.f(denominator)}"]
                    common["note"] = f"step t = {t}; 1 - beta1^t and 1 - beta2^t are Adam's bias corrections"
                else:
                    expression, numbers = "", ""
                    common["note"] = f"{type(opt).__name__}'s own rule"
                self.emit(kind="update", symbol=p, value=float(u.after[idx]), expression=expression, numbers=numbers,
                          steps=steps, **common)
            self.flush()
