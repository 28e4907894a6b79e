"""From recorded arrays to records: each number of the step written as a formula with its numbers.

Every *value* comes from the :class:`~glassnet.explain.hooks.StepRecord` (the engine's arrays); this
module only writes the formulas that show where each one came from, in the convention of
``records.py``. The one number asked of the engine here rather than recorded is an activation's
derivative ``f'(z)`` (and, for an activation that couples its outputs, its Jacobian), obtained from that
activation's own ``backward``.

The text comes from the classes themselves, so a new activation, loss or optimizer shows up here with its
formulas and no edit of this file: ``Activation.formula``/``derivative``/``elementwise``,
``Loss.formula``/``gradient_formula``/``per``/``fused_activation``, ``Optimizer.explain_update`` and, for a
layer that is not :class:`~glassnet.core.layers.Dense`, ``Layer.formulas``. A Dense layer (one that runs
Dense's own ``forward`` and ``backward``) is written neuron by neuron, ``z = sum_i w*a + b``; any other
layer gets one record per output and per parameter entry: what it computed and received, not how. BatchNorm1d
and Dropout (their own maths) are written out feature by feature in ``ledger_layers.py``; a network whose
BatchNorm runs in training mode is written layer by layer (``Ledger.layer_major``), since its statistics need
every sample of the batch. A frozen parameter (``net.freeze``) gets a ``frozen`` record instead of its update.

Order of the ledger: forward (per sample: inputs, then each layer's ``z`` and ``a``), loss (targets,
the loss, the L2 term), backward (per sample, last layer to first: ``dL/da``, ``f'(z)``, ``delta``),
gradients (each ``dL/dw`` and ``dL/db``: sums over samples), update (optimizer state, new values).
Next read: ``render.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from glassnet.core.activations import Activation
from glassnet.core.layers import Dense, Layer
from glassnet.core.losses import Loss
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer, StepValues
from glassnet.errors import ConfigError
from glassnet.explain.hooks import StepRecord
from glassnet.explain.ledger_layers import (
    batchnorm_backward,
    batchnorm_batch,
    batchnorm_forward,
    batchnorm_gradients,
    batchnorm_sums,
    couples_samples,
    dropout_forward,
    from_batchnorm,
    from_dropout,
    is_batchnorm,
    is_dropout,
)
from glassnet.explain.records import Record, fmt, grad, sym, term

Array = NDArray[np.floating]

# "(-0.5)" where the parentheses add nothing: a whole argument or the start of a term ("max((-0.5), 0)" reads
# "max(-0.5, 0)"); kept after "-", "*", "/" and before "^", where they are needed.
_BARE = re.compile(r"(?:^|(?<=[(,])|(?<=, )|(?<=\bif )|(?<=\belse ))\((-[0-9][0-9.e+-]*)\)(?=$|[),]| [-+*/<>] | if\b)")


def tidy(numbers: str) -> str:
    """A class's formula filled in with numbers, without the parentheses around negatives that add nothing."""
    return _BARE.sub(r"\1", numbers)


def is_dense(layer: Layer) -> bool:
    """True when ``layer`` runs Dense's own maths (a subclass that rewrites it is explained like any layer)."""
    return isinstance(layer, Dense) and all(getattr(type(layer), m) is getattr(Dense, m)
                                            for m in ("forward", "backward", "backward_from_dZ"))


def describe(layer: Layer) -> str:
    """The layer's own ``repr``, or ``Name(n_in -> n_out)`` when its class has none."""
    if type(layer).__repr__ is object.__repr__:
        return f"{type(layer).__name__}({layer.n_in} -> {layer.n_out})"
    return repr(layer)


def activation_name(act: Activation) -> str:
    return act.name or type(act).__name__


def activation_formula(act: Activation, z: str) -> str:
    """``act.formula(z)``; for a class that writes none (the base class's default) ``Name(z)`` by its class name
    when it has no ``name``."""
    return act.formula(z) if type(act).formula is not Activation.formula else f"{activation_name(act)}({z})"


def loss_formula(loss: Loss, a: str, y: str, N: str) -> str:
    """``loss.formula(a, y, N)``, named by its class when a loss of your own has neither a formula nor a name."""
    if type(loss).formula is Loss.formula:
        return f"{loss.name or type(loss).__name__}({a}, {y})"
    return loss.formula(a, y, N)


def received(rec: Any, l: int) -> Array:
    """The ``dA`` a hidden layer's ``backward`` was handed (always recorded: only the output layer may skip it)."""
    if rec.dA is None:
        raise RuntimeError(f"explain: layer {l}'s backward was not recorded; was the step run inside recording()?")
    return cast(Array, rec.dA)


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
        if not is_dense(layer):  # one record per output and sample, about four per parameter entry
            total += n_samples * shown * (above + 3) + 4 * sum(int(p.size) for p in layer.params.values())
            continue
        total += (n_samples + 1) * shown * (2 * layer.n_in + 8) + n_samples * shown * (2 * above + 4)
    return total


def _entry(value: Any, idx: tuple[int, ...]) -> float:
    """One entry of an optimizer state buffer (an array shaped like its parameter) or a scalar such as ``t``."""
    if isinstance(value, np.ndarray) and value.ndim:
        return float(value[idx])
    return float(value)


class Ledger:
    """Builds the list of records of one step; see the module docstring for the order."""

    def __init__(self, net: Network, X: Array, Y: Array, step: StepRecord, params: dict[str, Array],
                 grads: dict[str, Array], optimizer: Optimizer | None, chosen: dict[int, set[int]], digits: int) -> None:
        self.net, self.X, self.Y, self.step, self.params, self.grads = net, X, Y, step, params, grads
        self.optimizer, self.chosen, self.digits = optimizer, chosen, digits
        self.n = X.shape[0]
        # BatchNorm in training mode needs every sample of a layer before the next layer: write layer by layer.
        self.layer_major = self.n > 1 and any(couples_samples(layer, rec.cache)
                                              for layer, rec in zip(net.layers, step.layers))
        self.frozen = set(getattr(net, "frozen", ()))
        self.records: list[Record] = []
        self._skipped: dict[tuple[str, str, int, int | None], list[tuple[int, float]]] = defaultdict(list)

    # ------------------------------------------------------------------ helpers
    def t(self, value: Any) -> str:
        """A number as a factor (negatives in parentheses); ``value`` a float or a NumPy scalar."""
        return term(float(value), self.digits)

    def f(self, value: Any) -> str:
        return fmt(float(value), self.digits)

    def keep(self, kind: str, phase: str, layer: int, neuron: int, sample: int | None, value: float) -> bool:
        """True if neuron ``neuron`` of ``layer`` is shown; else remember it for a summary line."""
        if layer not in self.chosen or neuron in self.chosen[layer]:
            return True
        self._skipped[(kind, phase, layer, sample)].append((neuron, float(value)))
        return False

    def emit(self, **fields: Any) -> None:
        if fields.get("numbers"):
            fields["numbers"] = tidy(fields["numbers"])
        if fields.get("steps"):
            fields["steps"] = [tidy(s) for s in fields["steps"]]
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

    def layer_note(self, l: int) -> str:
        """What a layer that is not Dense computes, in its own words (``Layer.formulas``)."""
        layer = self.net.layers[l - 1]
        return f"layer {l} is {describe(layer)}: " + "; ".join(layer.formulas())

    # ------------------------------------------------------------------ the phases
    def build(self) -> list[Record]:
        self.forward()
        self.loss()
        self.backward()
        self.gradients()
        self.update()
        return self.records

    def forward(self) -> None:
        layers = range(1, len(self.net.layers) + 1)
        if not self.layer_major:
            for n in range(self.n):
                self._inputs(n)
                for l in layers:
                    self._forward_layer(l, n)
            return
        for n in range(self.n):
            self._inputs(n)
        for l in layers:
            if is_batchnorm(self.net.layers[l - 1]):
                batchnorm_batch(self, l)
            for n in range(self.n):
                self._forward_layer(l, n)

    def _inputs(self, n: int) -> None:
        for i in range(self.net.n_in):
            if self.keep("input", "forward", 0, i, n, self.X[n, i]):
                self.emit(kind="input", phase="forward", symbol=sym("a", 0, i), expression=f"x_{i + 1}",
                          value=float(self.X[n, i]), layer=0, neuron=i, indices=(i,), sample=n)
        self.flush()

    def _forward_layer(self, l: int, n: int) -> None:
        layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
        if is_dense(layer):
            self._dense_forward(l, n)
        elif is_batchnorm(layer):
            batchnorm_forward(self, l, n)
        elif is_dropout(layer):
            dropout_forward(self, l, n)
        else:
            for j in range(layer.n_out):
                if self.keep("a", "forward", l, j, n, rec.A[n, j]):
                    self.emit(kind="a", phase="forward", symbol=sym("a", l, j), value=float(rec.A[n, j]),
                              layer=l, neuron=j, indices=(j,), sample=n,
                              note=self.layer_note(l) if n == j == 0 else "")
            self.flush()

    def _dense_forward(self, l: int, n: int) -> None:
        layer, rec = cast(Dense, self.net.layers[l - 1]), self.step.layers[l - 1]
        W, b = self.params[f"{l - 1}.W"], self.params[f"{l - 1}.b"]
        act = layer.activation
        for j in range(layer.n_out):
            if not self.keep("z", "forward", l, j, n, rec.Z[n, j]):
                self.keep("a", "forward", l, j, n, rec.A[n, j])
                continue
            expression = " + ".join(f"{sym('w', l, i, j)}*{sym('a', l - 1, i)}" for i in range(layer.n_in))
            numbers = " + ".join(f"{self.t(W[i, j])}*{self.t(rec.X[n, i])}" for i in range(layer.n_in))
            self.emit(kind="z", phase="forward", symbol=sym("z", l, j), value=float(rec.Z[n, j]),
                      expression=f"{expression} + {sym('b', l, j)}", numbers=f"{numbers} + {self.t(b[j])}",
                      layer=l, neuron=j, indices=(j,), sample=n)
            expression = f"{activation_name(act)}({sym('z', l, j)})"
            if act.elementwise:
                numbers = activation_formula(act, self.t(rec.Z[n, j]))
                note = ""
            else:  # the output depends on the whole row: the class's formula, then the row it was given
                expression = activation_formula(act, sym("z", l, j))
                numbers = f"{activation_name(act)}([" + ", ".join(self.f(v) for v in rec.Z[n]) + f"])_{j + 1}"
                note = f"{activation_name(act)} of the whole row z^({l}) of this sample" if j == 0 else ""
            self.emit(kind="a", phase="forward", symbol=sym("a", l, j), value=float(rec.A[n, j]),
                      expression=expression, numbers="" if numbers == expression else numbers, note=note,
                      layer=l, neuron=j, indices=(j,), sample=n)
        self.flush()

    def _mean_over(self) -> tuple[int, str]:
        """The loss's ``N`` (what its mean divides by) and those words."""
        k = self.net.n_out
        if self.net.loss_fn.per == "sample":
            return self.n, f"{self.n} sample(s)"
        return self.n * k, f"{self.n} sample(s) x {k} output(s) = {self.n * k}"

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
        loss = self.net.loss_fn
        suffix = "[n]" if self.n > 1 else ""
        N, over = self._mean_over()
        # The sum runs over every entry; written with numbers, the entries are listed in order (sample by sample).
        a_values = "[" + ", ".join(self.f(v) for v in A.ravel()) + "]"
        y_values = "[" + ", ".join(self.f(v) for v in self.Y.ravel()) + "]"
        note = f"the mean over {over} entries" if loss.per == "entry" else f"the mean over the {over}"
        note += "; with numbers, the sum runs over the lists entry by entry"
        if loss.fused_activation is not None:
            note += f"; the engine computes it stably from z (the {loss.fused_activation.name} output's input)"
        data_symbol = "L_{data}" if self.net.l2 else "L"
        self.emit(kind="loss", phase="loss", symbol=data_symbol, value=self.step.data_loss, layer=L,
                  expression=loss_formula(loss, f"a^({L})_j{suffix}", f"y_j{suffix}", str(N)),
                  numbers=loss_formula(loss, a_values, y_values, str(N)), note=note)
        if self.net.l2:
            penalized = [(l, name) for l, layer in enumerate(self.net.layers, start=1) for name in layer.penalized]
            values = [float(v) for l, name in penalized for v in self.params[f"{l - 1}.{name}"].ravel()]
            names = list(dict.fromkeys(name.lower() for _, name in penalized))  # in order, once each
            covers = ", ".join(f"{name.lower()} of layer {l}" for l, name in penalized) or "nothing"
            sums = " + ".join(f"sum of every {name}^2" for name in names) or "0"
            self.emit(kind="penalty", phase="loss", symbol="L_{L2}", value=self.step.penalty,
                      expression=f"(lambda/2) * {f'({sums})' if len(names) > 1 else sums}",
                      numbers=f"({self.f(self.net.l2)}/2) * (" + " + ".join(f"{self.t(w)}^2" for w in values) + ")"
                      if values else "",
                      note=f"the L2 penalty covers the parameters each layer names in `penalized` ({covers}); "
                           "not the biases")
            total = (self.step.data_loss or 0.0) + (self.step.penalty or 0.0)
            self.emit(kind="loss_total", phase="loss", symbol="L", value=total, expression="L_{data} + L_{L2}",
                      numbers=f"{self.f(self.step.data_loss or 0.0)} + {self.f(self.step.penalty or 0.0)}")

    def _derivative(self, l: int, j: int, n: int) -> tuple[str, float]:
        """Emit ``f'(z^(l)_j)`` for sample ``n`` (an elementwise activation); returns its symbol and value."""
        layer, rec = cast(Dense, self.net.layers[l - 1]), self.step.layers[l - 1]
        act = layer.activation
        # The engine's own derivative: backward with dA = 1 gives f'(z) for an elementwise activation.
        value = float(act.backward(rec.Z[n:n + 1, j:j + 1], rec.A[n:n + 1, j:j + 1], np.ones((1, 1), rec.Z.dtype))[0, 0])
        symbol = f"{activation_name(act)}'({sym('z', l, j)})"
        expression = act.derivative(sym("a", l, j), sym("z", l, j))
        numbers = act.derivative(self.t(rec.A[n, j]), self.t(rec.Z[n, j]))
        if numbers == expression:  # a constant: nothing to fill in
            numbers = ""
        if expression == "1":
            expression = ""
        self.emit(kind="derivative", phase="backward", symbol=symbol, value=value, expression=expression,
                  numbers=numbers, layer=l, neuron=j, indices=(j,), sample=n)
        return symbol, value

    def _from_above(self, l: int, j: int, n: int) -> tuple[str, str]:
        """``dL/da^(l)_j`` of sample ``n`` as the layer above sent it back: its expression and numbers."""
        nxt = self.net.layers[l]
        if not is_dense(nxt):
            return "", ""
        W, below = self.params[f"{l}.W"], self.step.layers[l]
        ks = range(nxt.n_out)
        return ("(" + " + ".join(f"{sym('w', l + 1, j, k)}*{sym('delta', l + 1, k)}" for k in ks) + ")",
                "(" + " + ".join(f"{self.t(W[j, k])}*{self.t(below.dZ[n, k])}" for k in ks) + ")")

    def backward(self) -> None:
        L = len(self.net.layers)
        if not self.layer_major:
            for n in range(self.n):
                for l in range(L, 0, -1):
                    self._backward_layer(l, n)
            return
        for l in range(L, 0, -1):
            for n in range(self.n):
                self._backward_layer(l, n)
            if is_batchnorm(self.net.layers[l - 1]):
                batchnorm_sums(self, l)

    def _backward_layer(self, l: int, n: int) -> None:
        L = len(self.net.layers)
        layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
        dense = is_dense(layer)
        for j in range(layer.n_out):
            if l == L:
                value = rec.dZ[n, j] if rec.dZ.size else self.step.loss_gradient[n, j]
                if self.keep("delta", "backward", l, j, n, value):
                    self._output(n, j, dense)
                continue
            if not dense:
                if self.keep("dA", "backward", l, j, n, received(rec, l)[n, j]):
                    self._received(l, j, n)
                continue
            if not self.keep("delta", "backward", l, j, n, rec.dZ[n, j]):
                continue
            delta = dict(kind="delta", phase="backward", symbol=sym("delta", l, j), value=float(rec.dZ[n, j]),
                         layer=l, neuron=j, indices=(j,), sample=n)
            if not is_dense(self.net.layers[l]):  # dL/da from a layer of your own: its own record first
                upstream = self._received(l, j, n)
                derivative = self._derivative(l, j, n)
                self.emit(**delta, expression=f"{grad(sym('a', l, j))} * {derivative[0]}",
                          numbers=f"{self.t(upstream)} * {self.t(derivative[1])}")
                continue
            derivative = self._derivative(l, j, n)
            expression, numbers = self._from_above(l, j, n)
            self.emit(**delta, expression=f"{expression} * {derivative[0]}",
                      numbers=f"{numbers} * {self.t(derivative[1])}",
                      steps=[f"{self.t(received(rec, l)[n, j])} * {self.t(derivative[1])}"],
                      note="chain rule: the sum is dL/da of this neuron (from the layer above), times "
                           "the slope of its activation" if n == j == 0 else "")
        self.flush()
        if is_batchnorm(layer):
            batchnorm_backward(self, l, n)

    def _received(self, l: int, j: int, n: int) -> float:
        """Emit ``dL/da^(l)_j`` of sample ``n``, the gradient a hidden layer's ``backward`` received; returns it."""
        value = float(received(self.step.layers[l - 1], l)[n, j])
        expression, numbers, steps = self._from_layer_above(l, j, n)
        notes = []
        if n == j == 0:
            if not expression:
                notes.append(f"returned by the backward of layer {l + 1}, {describe(self.net.layers[l])}")
            if not is_dense(self.net.layers[l - 1]):
                notes.append(f"handed to the backward of layer {l}, {describe(self.net.layers[l - 1])}")
        note = "; ".join(notes)
        self.emit(kind="dA", phase="backward", symbol=grad(sym("a", l, j)), value=value, expression=expression,
                  numbers=numbers, steps=steps, note=note, layer=l, neuron=j, indices=(j,), sample=n)
        return value

    def _from_layer_above(self, l: int, j: int, n: int) -> tuple[str, str, list[str]]:
        """``dL/da^(l)_j`` of sample ``n`` from whatever layer is above: expression, numbers and steps ("" if unknown)."""
        above = self.net.layers[l]
        if is_batchnorm(above):
            return from_batchnorm(self, l, j, n)
        if is_dropout(above):
            return from_dropout(self, l, j, n)
        expression, numbers = self._from_above(l, j, n)
        return expression, numbers, []

    def _output(self, n: int, j: int, dense: bool) -> None:
        """The output layer's records of sample ``n``, neuron ``j``: ``dL/da`` then ``delta`` (or ``delta`` at once)."""
        L = len(self.net.layers)
        layer, rec, loss = self.net.layers[-1], self.step.layers[-1], self.net.loss_fn
        a, y = sym("a", L, j), f"y_{j + 1}"
        av, yv = self.t(rec.A[n, j]), self.t(self.Y[n, j])
        N, over = self._mean_over()
        first = n == j == 0
        if loss.fused_activation is not None:
            fused = loss.fused_activation.name
            note = (f"{loss.name} on a {fused} output gives dL/dz directly; the 1/N averages over {over} and is the "
                    "only averaging in the step: the gradients below are plain sums") if first else ""
            self.emit(kind="delta", phase="backward", symbol=sym("delta", L, j), value=float(rec.dZ[n, j]),
                      expression=loss.gradient_formula(a, y, str(N)), numbers=loss.gradient_formula(av, yv, str(N)),
                      note=note, layer=L, neuron=j, indices=(j,), sample=n)
            return
        d = float(self.step.loss_gradient[n, j])
        note = (f"the 1/N with N = {over} comes from the mean in the loss; it is the only averaging in the step: "
                "the gradients below are plain sums over samples") if first else ""
        if not dense and first:
            note += f"; handed to the backward of layer {L}, {describe(layer)}"
        self.emit(kind="loss_grad", phase="backward", symbol=grad(a), value=d,
                  expression=loss.gradient_formula(a, y, str(N)), numbers=loss.gradient_formula(av, yv, str(N)),
                  note=note, layer=L, neuron=j, indices=(j,), sample=n)
        if not dense:
            return
        act = cast(Dense, layer).activation
        delta = dict(kind="delta", phase="backward", symbol=sym("delta", L, j), value=float(rec.dZ[n, j]),
                     layer=L, neuron=j, indices=(j,), sample=n)
        if not act.elementwise:
            # delta_j = sum_k dL/da_k * da_k/dz_j; each da_k/dz_j from the activation's own backward with dA = e_k.
            Z, A, k = rec.Z[n:n + 1], rec.A[n:n + 1], self.net.n_out
            dA = self.step.loss_gradient[n]
            J = [act.backward(Z, A, np.eye(k, dtype=Z.dtype)[q:q + 1])[0, j] for q in range(k)]
            closed = act.derivative(a, sym("z", L, j))
            self.emit(**delta, expression=f"sum_k dL/da^({L})_k * da^({L})_k/d{sym('z', L, j)}",
                      numbers=" + ".join(f"{self.t(dA[q])}*{self.t(J[q])}" for q in range(k)),
                      note=(f"{activation_name(act)} couples the outputs of a sample, so every da_k/dz_j enters (its "
                            f"Jacobian, from {type(act).__name__}.backward)"
                            + (f"; in closed form delta = {closed}" if closed else "")) if n == j == 0 else "")
            return
        derivative = self._derivative(L, j, n)
        self.emit(**delta, expression=f"{grad(a)} * {derivative[0]}", numbers=f"{self.t(d)} * {self.t(derivative[1])}")

    def gradients(self) -> None:
        for l in range(len(self.net.layers), 0, -1):
            if is_dense(self.net.layers[l - 1]):
                self._dense_gradients(l)
            elif is_batchnorm(self.net.layers[l - 1]) and not (self.net.l2 and self.net.layers[l - 1].penalized):
                batchnorm_gradients(self, l)
            else:
                self._layer_gradients(l)

    def _dense_gradients(self, l: int) -> None:
        l2 = self.net.l2
        layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
        key_W, key_b = f"{l - 1}.W", f"{l - 1}.b"
        W, final = self.params[key_W], self.grads[key_W]
        penalized = bool(l2) and "W" in layer.penalized
        samples = range(self.n)
        for i in range(layer.n_in):
            for j in range(layer.n_out):
                if not self.keep("dW", "gradient", l, j, None, final[i, j]):
                    continue
                w = sym("w", l, i, j)
                expression = self.sum_n(f"{self.s('a', l - 1, i)} * {self.s('delta', l, j)}")
                numbers = " + ".join(f"{self.t(rec.X[n, i])}*{self.t(rec.dZ[n, j])}" for n in samples)
                steps: list[str] = []
                if penalized:
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

    def _layer_gradients(self, l: int) -> None:
        """A layer of your own: each parameter entry's gradient as its backward left it (plus the L2 term)."""
        layer, rec = self.net.layers[l - 1], self.step.layers[l - 1]
        l2 = self.net.l2
        for name in layer.params:
            key = f"{l - 1}.{name}"
            final, p = self.grads[key], self.params[key]
            data = rec.grads.get(name, final)
            for count, idx in enumerate(np.ndindex(final.shape)):
                j = idx[-1] if idx else 0  # compact mode picks entries by their last index; a scalar is always shown
                if idx and not self.keep("grad", "gradient", l, j, None, float(final[idx])):
                    continue
                symbol = sym(name.lower(), l, *idx)
                expression = numbers = ""
                if l2 and name in layer.penalized:
                    expression = f"dL_data/d{symbol} + lambda*{symbol}"
                    numbers = f"{self.t(data[idx])} + {self.f(l2)}*{self.t(p[idx])}"
                note = (f"from the backward of layer {l}, {describe(layer)}" + (", plus the L2 term" if expression else "")
                        if count == 0 else "")
                self.emit(kind="grad", phase="gradient", symbol=grad(symbol), value=float(final[idx]),
                          expression=expression, numbers=numbers, layer=l, neuron=j,
                          indices=tuple(int(i) for i in idx), key=key, note=note)
            self.flush()

    def update(self) -> None:
        opt = self.optimizer
        if opt is None:
            return
        for key in self.params:
            if key in self.frozen:
                self._frozen(key)
                continue
            if key not in self.step.updates:
                continue
            u = self.step.updates[key]
            k, name = key.split(".", 1)
            l = int(k) + 1
            noted: set[str] = set()  # a note the optimizer gives every entry is written once per parameter array
            for idx in np.ndindex(u.before.shape):
                j = idx[-1] if idx else 0  # as in the gradients: a scalar parameter is always shown
                if idx and not self.keep("update", "update", l, j, None, float(u.after[idx])):
                    continue
                p = sym(name.lower(), l, *idx)
                values = StepValues(float(u.before[idx]), float(u.grad[idx]), float(u.after[idx]),
                                    {b: _entry(v, idx) for b, v in u.state_before.items()},
                                    {b: _entry(v, idx) for b, v in u.state_after.items()})
                common = dict(phase="update", layer=l, neuron=j, indices=tuple(int(i) for i in idx), key=key, op="<-")
                for line in opt.explain_update(p, grad(p), values, self.t):
                    note = "" if line.note in noted else line.note
                    noted.add(line.note)
                    self.emit(kind="state" if line.state else "update", symbol=line.symbol, value=float(line.value),
                              expression=line.expression, numbers=line.numbers, steps=list(line.steps),
                              note=note, **common)
            self.flush()

    def _frozen(self, key: str) -> None:
        """A frozen parameter in the update phase: its value, unchanged, marked frozen instead of an update line."""
        k, name = key.split(".", 1)
        l, p = int(k) + 1, self.params[key]
        for count, idx in enumerate(np.ndindex(p.shape)):
            j = idx[-1] if idx else 0
            if idx and not self.keep("frozen", "update", l, j, None, float(p[idx])):
                continue
            self.emit(kind="frozen", phase="update", symbol=sym(name.lower(), l, *idx), value=float(p[idx]),
                      layer=l, neuron=j, indices=tuple(int(i) for i in idx), key=key,
                      note=f"{key} is frozen (net.freeze): not updated, no optimizer state" if count == 0 else "frozen")
        self.flush()
