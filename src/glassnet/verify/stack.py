"""The dense network a learner's NumPy script computes, and the gradient each classic backprop bug gives it.

A doctor that reads a training script as written gets the script's parameters (its own names: ``W1``,
``self.b1``, ``weights[0]``), a callable ``cost(theta)`` that reruns the script's printed cost, the data
arrays of the script and the step each update line took. This module answers two questions:

* :func:`infer_stack`: which stack ``X -> dense -> f -> ... -> dense -> f_out -> loss`` is it? Every
  structure the shapes allow (weight order, layout, a bias per layer or none, X and y, activations, loss)
  is scored against ``cost`` at the parameters and at three perturbed copies shared by all candidates:
  at most four calls of ``cost``, however many candidates there are.
* :func:`hypotheses` and :func:`match`: which bug gives the observed gradient? A hypothesis is the whole
  set of gradients a learner's code with that bug computes; ``match`` keeps those proportional to it.

Conventions. Inside, everything is in row layout, one sample per row: ``A0 = X`` of shape ``(N, n0)``,
``Z_l = A_{l-1} @ W_l + b_l`` with ``W_l`` of shape ``(n_{l-1}, n_l)``, ``A_l = f_l(Z_l)``, and the cost is
``scale * sum of per-entry losses``. A script in column layout (``Z = W @ A + b``, ``W`` of shape
``(n_out, n_in)``, ``A`` of shape ``(features, samples)``) computes the transpose of all that; :class:`Stack`
converts at the edges (``weight``, ``own``, ``to_script``), so each formula is written once, in row layout.

Not covered: a cost with a regularisation term or anything but ``scale * sum of a per-entry loss``; hidden layers with
different activations (inference tries one shared one); a cost that broadcasts ``(N, 1)`` against ``(N,)`` into
``(N, N)``; mini-batches (X must be an array of the namespace); targets equal to X (autoencoders); layers other than
dense. At most ``MAX_GROUPS`` structures are scored, the likeliest (by their names) first.

Next read: ``intermediates.py`` (checking a learner's dZ, dA, dW, db tensor by tensor).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.activations import get_activation
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError

Array = NDArray[Any]
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")  # tried for the hidden layers (all the same), preferred first
OUTPUT = ("sigmoid", "softmax", "linear", "tanh", "relu", "leaky_relu")
LOSSES = {"squared_error": "squared error", "binary_cross_entropy": "binary cross-entropy",
          "categorical_cross_entropy": "categorical cross-entropy"}
ALIASES = {"mse": "squared_error", "se": "squared_error", "bce": "binary_cross_entropy",
           "cce": "categorical_cross_entropy", "cross_entropy": "categorical_cross_entropy"}
PERTURBATIONS = 3
MAX_STRUCTURES = 5000  # layouts x weight orders x bias assignments listed (bounds a net of many equal layers)
MAX_GROUPS = 300  # structures scored against the cost, the likeliest first
_FUNCTIONS = {name: get_activation(name) for name in set(HIDDEN + OUTPUT)}


def activate(name: str, Z: Array) -> Array:
    """``A = f(Z)``, softmax over each row's units."""
    return _FUNCTIONS[name].forward(Z)


def slope(name: str, Z: Array, A: Array) -> Array:
    """``f'(Z)`` entry by entry (not for softmax, whose derivative is a Jacobian)."""
    return _FUNCTIONS[name].backward(Z, A, np.ones_like(Z))


def learner_derivative(name: str, x: Array) -> Array:
    """The derivative as learners write it, from the activation's output: sigmoid ``x (1 - x)``, tanh ``1 - x**2``,
    relu ``x > 0``, leaky relu ``1 or 0.01``, linear ``1`` (softmax: its diagonal ``x (1 - x)``). Right when ``x = f(z)``."""
    if name in ("sigmoid", "softmax"):
        return x * (1 - x)
    if name == "tanh":
        return 1 - x * x
    if name in ("relu", "leaky_relu"):
        return np.where(x > 0, 1.0, 0.0 if name == "relu" else 0.01).astype(x.dtype)
    return np.ones_like(x)


def entry_loss(loss: str, A: Array, Y: Array) -> Array:
    """Per-entry loss: squared error ``(a - y)**2``, BCE ``-(y log a + (1 - y) log(1 - a))``, CE ``-y log a``.

    A term whose weight (``y`` or ``1 - y``) is 0 counts 0 even where its log is ``-inf`` (a class-index cost never
    takes that log)."""
    xlog = lambda w, a: np.where(w != 0, w * np.log(np.where(w != 0, a, 1.0)), 0.0)
    with np.errstate(all="ignore"):
        if loss == "squared_error":
            return (A - Y) ** 2
        if loss == "binary_cross_entropy":
            return -(xlog(Y, A) + xlog(1 - Y, 1 - A))
        return -xlog(Y, A)


def loss_slope(loss: str, A: Array, Y: Array) -> Array:
    """``d entry_loss / dA``: ``2 (a - y)``, ``(a - y) / (a (1 - a))``, ``-y / a``."""
    with np.errstate(all="ignore"):
        if loss == "squared_error":
            return 2 * (A - Y)
        if loss == "binary_cross_entropy":
            return (A - Y) / (A * (1 - A))
        return -Y / A


def fused(activation: str, loss: str) -> bool:
    """Whether the output activation's derivative cancels in ``dLoss/dZ`` (see :func:`output_delta`)."""
    return (activation, loss) in {("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"),
                                  ("sigmoid", "categorical_cross_entropy")}


def output_delta(activation: str, loss: str, Z: Array, A: Array, Y: Array) -> Array:
    """``d sum_loss / dZ_L``. Fused: sigmoid + BCE ``a - y``; softmax + CE ``a * sum_k y_k - y`` (``a - y`` for one-hot
    rows); sigmoid + CE ``-y (1 - a)``. Otherwise ``dA * f'(Z)`` (softmax: its Jacobian ``a * (dA - sum_k dA_k a_k)``)."""
    if (activation, loss) == ("sigmoid", "binary_cross_entropy"):
        return A - Y
    if (activation, loss) == ("softmax", "categorical_cross_entropy"):
        return A * Y.sum(axis=1, keepdims=True) - Y
    if (activation, loss) == ("sigmoid", "categorical_cross_entropy"):
        return -Y * (1 - A)
    dA = loss_slope(loss, A, Y)
    return _FUNCTIONS[activation].backward(Z, A, dA) if activation == "softmax" else dA * slope(activation, Z, A)


@dataclass(frozen=True)
class Layer:
    """One dense layer as the script writes it: ``layout`` "row" is ``Z = A @ W + b``, "column" is ``Z = W @ A + b``."""

    weight: str
    bias: str | None
    layout: str
    activation: str
    n_in: int
    n_out: int


@dataclass
class Tweak:
    """What a buggy backprop does differently from :meth:`Stack.backprop`; all fields empty is the right backprop.

    ``out(Z_L, A_L, Y, dA_L)`` replaces ``dZ_L``; ``slope[l](Z_l, A_l, dA_l)`` replaces ``f_l'(Z_l)``; ``through[l](dZ_{l+1},
    W_{l+1})`` replaces ``dA_l = dZ_{l+1} @ W_{l+1}.T``; ``inputs[l](Z_{l-1}, A_{l-1})`` replaces ``A_{l-1}`` in ``dW_l``;
    ``bias_all`` sums ``db_l`` over every axis; ``transpose`` transposes ``dW_l``. All arrays in row layout.
    """

    out: Callable[[Array, Array, Array, Array], Array] | None = None
    slope: dict[int, Callable[[Array, Array, Array], Array]] = field(default_factory=dict)
    through: dict[int, Callable[[Array, Array], Array]] = field(default_factory=dict)
    inputs: dict[int, Callable[[Array, Array], Array]] = field(default_factory=dict)
    bias_all: set[int] = field(default_factory=set)
    transpose: set[int] = field(default_factory=set)
    # dA_l = dZ_{l+1} @ (k * dW_{l+1}).T: sent back through the gradient, not W (k: where the learner put the 1/N)
    through_gradient: dict[int, float] = field(default_factory=dict)


@dataclass
class Stack:
    """A dense feed-forward network read off a script: its layers, loss, cost scale and data.

    ``X`` has shape ``(N, n_in)`` and ``Y`` shape ``(N, k)`` whatever the script's layout (labels one-hot);
    ``shapes`` holds every parameter's own shape; ``vector_output`` is true when the last weight is a vector
    ``w`` (``X @ w`` has shape ``(N,)``). ``cost_calls`` and ``ties`` say how inference went.
    """

    layers: list[Layer]
    loss: str
    scale: float
    X_name: str
    y_name: str
    X: Array
    Y: Array
    shapes: dict[str, tuple[int, ...]]
    vector_output: bool = False
    cost_calls: int = 0
    ties: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        return self.layers[0].layout

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def weight(self, theta: dict[str, Any], l: int, dtype: Any = np.float64) -> Array:
        """``W_l`` (1-based ``l``) in row layout, shape ``(n_in, n_out)``."""
        W = np.asarray(theta[self.layers[l - 1].weight], dtype=dtype)
        return W.reshape(-1, 1) if W.ndim == 1 else W.T if self.layout == "column" else W

    def bias(self, theta: dict[str, Any], l: int, dtype: Any = np.float64) -> Array:
        layer = self.layers[l - 1]
        return np.zeros(layer.n_out, dtype) if layer.bias is None else np.asarray(theta[layer.bias], dtype).reshape(-1)

    def own(self, name: str, g: Array) -> Array:
        """Row-layout gradient ``g`` of parameter ``name`` in the parameter's own shape."""
        is_weight = any(layer.weight == name for layer in self.layers)
        if is_weight and self.layout == "column" and len(self.shapes[name]) == 2:
            g = g.T
        return g.reshape(self.shapes[name])

    def forward(self, theta: dict[str, Any], X: Array | None = None, dtype: Any = np.float64) -> tuple[list, list]:
        """Row-layout ``Zs, As`` with ``As[0] = Zs[0] = X`` and ``Zs[l], As[l]`` of shape ``(N, n_l)``."""
        A = (self.X if X is None else X).astype(dtype)
        Zs, As = [A], [A]
        with np.errstate(all="ignore"):
            for l, layer in enumerate(self.layers, 1):
                Z = A @ self.weight(theta, l, dtype) + self.bias(theta, l, dtype)
                A = activate(layer.activation, Z)
                Zs.append(Z)
                As.append(A)
        return Zs, As

    def cost(self, theta: dict[str, Any]) -> float:
        """``scale * sum of per-entry losses`` over all samples and outputs."""
        return float(self.scale) * float(entry_loss(self.loss, self.forward(theta)[1][-1], self.Y).sum())

    def backprop(self, theta: dict[str, Any], tweak: Tweak | None = None, rows: Any = None, dtype: Any = np.float64,
                 fwd: tuple[list, list] | None = None) -> tuple[dict[str, Array], dict[str, Array]]:
        """Gradients (own shapes) and row-layout ``dA{l}, dZ{l}, dW{l}, db{l}`` of ``scale * sum loss`` over ``rows``.

        ``dZ_L = scale * output_delta``; then per layer ``dW_l = A_{l-1}.T @ dZ_l``, ``db_l = dZ_l.sum(axis=0)``,
        ``dA_{l-1} = dZ_l @ W_l.T``, ``dZ_{l-1} = dA_{l-1} * f'(Z_{l-1})``; a :class:`Tweak` swaps one of these.
        ``fwd`` is this :meth:`forward` (all rows, ``dtype``) when the caller already has it.
        """
        t, s, L = tweak or Tweak(), float(self.scale), len(self.layers)
        X, Y = (self.X, self.Y) if rows is None else (self.X[rows], self.Y[rows])
        Zs, As = fwd if fwd is not None and rows is None else self.forward(theta, X, dtype)
        Y, out = Y.astype(dtype), self.layers[-1].activation
        grads: dict[str, Array] = {}
        inter: dict[str, Array] = {}
        with np.errstate(all="ignore"):
            dA = s * loss_slope(self.loss, As[L], Y)
            if t.out is not None:
                dZ = t.out(Zs[L], As[L], Y, dA)
            elif L in t.slope:
                dZ = dA * t.slope[L](Zs[L], As[L], dA)
            else:
                dZ = s * output_delta(out, self.loss, Zs[L], As[L], Y)
            for l in range(L, 0, -1):
                layer = self.layers[l - 1]
                A_in = t.inputs[l](Zs[l - 1], As[l - 1]) if l in t.inputs else As[l - 1]
                dW = A_in.T @ dZ
                db = np.full(layer.n_out, dZ.sum(), dtype) if l in t.bias_all else dZ.sum(axis=0)
                dW = dW.T if l in t.transpose else dW
                inter.update({f"dA{l}": dA, f"dZ{l}": dZ, f"dW{l}": dW, f"db{l}": db})
                grads[layer.weight] = self.own(layer.weight, dW)
                if layer.bias is not None:
                    grads[layer.bias] = self.own(layer.bias, db)
                if l > 1:
                    W, below, Z, A = self.weight(theta, l, dtype), self.layers[l - 2].activation, Zs[l - 1], As[l - 1]
                    back = t.through_gradient[l - 1] * dW if l - 1 in t.through_gradient else W
                    dA = t.through[l - 1](dZ, W) if l - 1 in t.through else dZ @ back.T
                    dZ = dA * (t.slope[l - 1](Z, A, dA) if l - 1 in t.slope else slope(below, Z, A))
        return grads, inter

    def gradients(self, theta: dict[str, Any]) -> dict[str, Array]:
        """The exact gradient of :meth:`cost` in each parameter's own shape."""
        return self.backprop(theta)[0]

    def row_gradients(self, theta: dict[str, Any], i: int) -> dict[str, Array]:
        """The gradient of sample ``i``'s term alone (times ``scale``)."""
        return self.backprop(theta, rows=[i])[0]

    def to_script(self, key: str, g: Array) -> Array:
        """Row-layout tensor ``key`` (``Z2``, ``dA1``, ``dW1``, ``db2``, ``A0``) as the script holds it."""
        kind, l = re.fullmatch(r"(d?[ZAWb])(\d+)", key).groups()  # type: ignore[union-attr]
        layer = self.layers[int(l) - 1] if int(l) else None
        if kind == "dW" and layer is not None:
            return self.own(layer.weight, g)
        if kind == "db" and layer is not None:
            return self.own(layer.bias, g) if layer.bias else g
        if self.vector_output and int(l) == len(self.layers):
            return g.reshape(-1)
        return g.T if self.layout == "column" else g

    def from_script(self, key: str, g: Array) -> Array:
        """The inverse of :meth:`to_script`: the script's tensor ``key`` in row layout."""
        kind, l = re.fullmatch(r"(d?[ZAWb])(\d+)", key).groups()  # type: ignore[union-attr]
        layer = self.layers[int(l) - 1] if int(l) else None
        if kind == "dW" and layer is not None:
            return g.reshape(-1, 1) if g.ndim == 1 else g.T if self.layout == "column" else g
        if kind == "db":
            return g.reshape(-1)
        if self.vector_output and int(l) == len(self.layers):
            return g.reshape(-1, 1)
        return g.T if self.layout == "column" else g

    def intermediates(self, theta: dict[str, Any], dtype: Any = np.float64) -> dict[str, Array]:
        """``A0 = X`` and per layer ``Z{l}, A{l}, dZ{l}, dA{l}, dW{l}, db{l}`` (1-based), in the script's layout."""
        Zs, As = self.forward(theta, dtype=dtype)
        _, inter = self.backprop(theta, dtype=dtype)
        found = {"A0": As[0]} | {f"{k}{l}": v[l] for l in range(1, len(self.layers) + 1) for k, v in (("Z", Zs), ("A", As))}
        found |= {k: v for k, v in inter.items() if k[:2] != "db" or self.layers[int(k[2:]) - 1].bias}
        return {k: self.to_script(k, v) for k, v in found.items()}

    def describe(self) -> str:
        """One line: ``2 -> 3 sigmoid -> 1 sigmoid, squared error, cost = 1/4 x sum over rows (the mean)``."""
        chain = " -> ".join([str(self.layers[0].n_in)] + [f"{x.n_out} {x.activation}" for x in self.layers])
        N, k = self.n_samples, self.layers[-1].n_out
        frac = Fraction(self.scale).limit_denominator(100000)
        number = str(frac) if abs(float(frac) - self.scale) <= 1e-12 * self.scale else f"{self.scale:.6g}"
        readings = {1.0: "the sum", 0.5: "half the sum", 1 / N: "the mean" if k == 1 else f"the mean over the {N} rows",
                    1 / (2 * N): "half the mean" if k == 1 else f"half the mean over the {N} rows"}
        if k > 1:
            readings |= {1 / (N * k): f"the mean over all {N} x {k} entries", 1 / (2 * N * k): "half the mean over all entries"}
        reading = next((text for v, text in readings.items() if abs(v - self.scale) <= 1e-12 * v), None)
        over = "rows" if k == 1 else "rows and outputs"
        layout = "" if self.layout == "row" else "; column layout (Z = W @ A + b)"
        return (f"{chain}, {LOSSES[self.loss]}, cost = {number} x sum over {over}" + (f" ({reading})" if reading else "")
                + layout)


@functools.lru_cache(maxsize=4096)
def _natural(name: str) -> list[Any]:
    """Sort key that puts ``W2`` before ``W10`` and ``weights[0]`` before ``weights[1]``."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", name)]


def _chains(params: dict[str, Array], d: int, layout: str, used: tuple[str, ...] = ()) -> Iterator[list[tuple[str, int, int]]]:
    """Every ordering of weights that chains from ``d`` inputs, as ``(name, n_in, n_out)``; a vector ``w`` ends a chain."""
    for name in sorted(params, key=_natural):
        p = params[name]
        if name in used or p.ndim not in (1, 2) or (p.ndim == 1 and p.size != d):
            continue
        n_in, n_out = (d, 1) if p.ndim == 1 else p.shape if layout == "row" else p.shape[::-1]
        if n_in != d:
            continue
        yield [(name, n_in, n_out)]
        if p.ndim == 2:
            for rest in _chains(params, n_out, layout, (*used, name)):
                yield [(name, n_in, n_out), *rest]


def _fits_bias(p: Array, n: int) -> bool:
    return p.size == n and p.ndim <= 2 and sum(s > 1 for s in p.shape) <= 1


def _biases(rest: list[str], params: dict[str, Array], widths: list[int]) -> Iterator[list[str | None]]:
    """Every way to give each leftover parameter to a different layer of its width."""
    slots: list[str | None] = [None] * len(widths)

    def assign(i: int) -> Iterator[list[str | None]]:
        if i == len(rest):
            yield list(slots)
            return
        for l, n in enumerate(widths):
            if slots[l] is None and _fits_bias(params[rest[i]], n):
                slots[l] = rest[i]
                yield from assign(i + 1)
                slots[l] = None

    yield from assign(0)


def _targets(data: dict[str, Array], x_name: str, N: int, k: int) -> Iterator[tuple[str, Array]]:
    """Arrays that can be the targets of N samples and k outputs, as ``(name, Y of shape (N, k))``."""
    for name in sorted(data, key=_natural):
        y = data[name]
        if name == x_name:
            continue
        if y.ndim == 1 and y.size == N and k == 1:
            yield name, y[:, None]
        elif y.ndim == 1 and y.size == N and np.all(y == np.round(y)) and y.min() >= 0 and y.max() < k:
            yield name, np.eye(k)[y.astype(int)]  # class labels
        for shape, Y in (((N, k), y), ((k, N), y.T)):
            if y.shape == shape and not (shape == (k, N) and N == k and np.array_equal(y, y.T)):
                yield name, Y


def _losses(out: str, Y: Array) -> Iterator[str]:
    yield "squared_error"
    if Y.min() >= 0 and Y.max() <= 1 and out in ("sigmoid", "softmax"):
        yield from (["binary_cross_entropy"] if out == "sigmoid" else []) + ["categorical_cross_entropy"]


@functools.lru_cache(maxsize=4096)
def _hint(name: str) -> str:
    """"w" or "b" when a name says weight or bias (``W1``, ``self.weights[0]``, ``b_out``, ``bias2``), else ""."""
    base = re.sub(r"[\[\]\d_]+$", "", name.split(".")[-1]).lower()
    return "b" if base.startswith("b") else "w" if base.startswith(("w", "theta", "syn")) or "weight" in base else ""


def _inversions(names: list[str]) -> int:
    keys = [_natural(n) for n in names]
    return sum(keys[i] > keys[j] for i in range(len(keys)) for j in range(i + 1, len(keys)))


def _structures(params: dict[str, Array], arrays: dict[str, Array]) -> list[tuple[str, str, list, list]]:
    """Every (layout, X name, weight chain, bias per layer) the shapes allow, the likeliest first: names that say
    weight or bias used as such, weights and biases in the order of their names, row layout before column."""
    def every() -> Iterator[tuple[tuple[int, int], tuple[str, str, list, list]]]:
        for layout in ("row", "column"):
            for x_name, X in sorted(arrays.items(), key=lambda kv: _natural(kv[0])):
                for chain in _chains(params, (X if layout == "row" else X.T).shape[1], layout) if X.ndim == 2 else ():
                    rest = [n for n in sorted(params, key=_natural) if n not in {c[0] for c in chain}]
                    for biases in _biases(rest, params, [c[2] for c in chain]):
                        weights, used = [c[0] for c in chain], [b for b in biases if b]
                        misnamed = sum(_hint(w) == "b" for w in weights) + sum(_hint(b) == "w" for b in used)
                        yield (misnamed, _inversions(weights) + _inversions(used)), (layout, x_name, chain, biases)

    return [s for _, s in sorted(itertools.islice(every(), MAX_STRUCTURES), key=lambda t: t[0])]


def candidates(params: dict[str, Array], data: dict[str, Any], activations: list[str] | None = None,
               losses: tuple[str, ...] | None = None) -> Iterator[list[Stack]]:
    """Every stack (with ``scale = 1``) the shapes of ``params`` and ``data`` allow, the likeliest first.

    Grouped by structure (layout, X, weight order, biases); a group holds every target, activation and loss for it.
    ``activations`` (one per layer) and ``losses`` restrict the search; by default the hidden layers share one of
    :data:`HIDDEN` and the output takes one of :data:`OUTPUT`.
    """
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in data.items() if k not in params
              and np.asarray(v).dtype.kind in "fiub" and np.all(np.isfinite(np.asarray(v, dtype=np.float64)))}
    shapes = {k: tuple(np.shape(v)) for k, v in params.items()}
    for layout, x_name, chain, biases in _structures(params, arrays):
        Xr = arrays[x_name] if layout == "row" else arrays[x_name].T
        yield [Stack([Layer(w, b, layout, f, i, o) for (w, i, o), b, f in zip(chain, biases, acts)], loss, 1.0,
                     x_name, y_name, Xr, Y, shapes, params[chain[-1][0]].ndim == 1)
               for y_name, Y in _targets(arrays, x_name, Xr.shape[0], chain[-1][2])
               for acts in _activations(len(chain), chain[-1][2], activations)
               for loss in losses or tuple(_losses(acts[-1], Y))]


def _activations(L: int, k: int, given: list[str] | None) -> Iterator[list[str]]:
    if given is not None:
        if len(given) == L:
            yield list(given)
        return
    for hidden in HIDDEN if L > 1 else ("linear",):
        for out in OUTPUT:
            if out != "softmax" or k > 1:
                yield [hidden] * (L - 1) + [out]


def _nice(scale: float, stack: Stack, tol: float) -> float:
    """``scale`` snapped to 1, 1/2, 1/N, 1/(2N), 1/(Nk), ... when it is one of them to ``tol``."""
    N, k = stack.n_samples, stack.layers[-1].n_out
    for v in (1.0, 0.5, 1 / N, 1 / (2 * N), 1 / (N * k), 1 / (2 * N * k), 1 / k, 1 / (2 * k), 2 / N, 2 / (N * k)):
        if abs(scale - v) <= tol * v:
            return v
    return scale


def _perturb(theta: dict[str, Array], rng: np.random.Generator) -> dict[str, Array]:
    """A copy of ``theta`` moved by about 20% of each tensor's size (plus 0.02), in the tensor's own dtype."""
    moved = {}
    for name, p in theta.items():
        spread = 0.2 * float(np.sqrt(np.mean(p.astype(np.float64) ** 2))) + 0.02
        moved[name] = np.asarray(p + spread * rng.standard_normal(p.shape), dtype=p.dtype)
    return moved


def _plain_sum(stack: Stack, theta: dict[str, Array], cache: dict[tuple, Array]) -> float:
    """``sum loss`` of ``stack`` at ``theta``; ``cache`` holds the layers computed for stacks of the same structure."""
    A, acts = stack.X, ()  # type: Array, tuple[str, ...]
    for l, layer in enumerate(stack.layers, 1):  # Z_l depends on the activations below it only
        if (*acts, "z") not in cache:
            cache[(*acts, "z")] = A @ stack.weight(theta, l) + stack.bias(theta, l)
        Z, acts = cache[(*acts, "z")], (*acts, layer.activation)
        A = cache[acts] if acts in cache else cache.setdefault(acts, _FUNCTIONS[layer.activation].forward(Z))
    return float(entry_loss(stack.loss, A, stack.Y).sum())


def infer_stack(params: dict[str, Any], data: dict[str, Any], cost: Callable[[dict[str, Any]], float],
                rng_seed: int = 0) -> Stack | None:
    """The dense stack whose ``scale * sum loss`` reproduces ``cost``, or None when no candidate does.

    Parameters
    ----------
    params : dict of name -> float array
        The script's parameters in the script's own shapes. Never modified (``cost`` gets copies).
    data : dict of name -> array
        Arrays of the script's namespace; X is one of shape ``(N, n_in)`` (row) or ``(n_in, N)`` (column), y one of
        ``(N,)``, ``(N, 1)``, ``(N, k)``, ``(1, N)``, ``(k, N)`` or class labels ``(N,)``.
    cost : callable
        ``cost(theta) -> float``, the script's own cost at parameter values ``theta``.
    rng_seed : int
        Seed of the three perturbed parameter sets.

    Returns
    -------
    Stack or None
        The first candidate (in order of preference) that matches at ``params`` and at three perturbations of it with
        one ``scale``, to 1e-7 relative (1e-3 when any parameter or X is float32). ``cost`` is called at most 4 times.
    """
    theta = {k: np.asarray(v) for k, v in params.items()}
    bad = [k for k, v in theta.items() if v.dtype.kind != "f"]
    if bad:
        raise GlassnetTypeError(f"parameters {bad} are not float arrays (dtype {theta[bad[0]].dtype}); pass the script's floats")
    low = any(v.dtype.itemsize < 8 for v in theta.values()) or any(
        np.asarray(v).dtype.kind == "f" and np.asarray(v).dtype.itemsize < 8 for v in data.values())
    tol = 1e-3 if low else 1e-7
    rng = np.random.default_rng(rng_seed)
    points: list[dict[str, Array]] = []
    values: list[float] = []  # cost at points[i], each asked of the script once, when a candidate first needs it

    def value(i: int) -> float:
        while len(points) <= i:
            points.append(theta if not points else _perturb(theta, rng))
            values.append(float(cost({k: v.copy() for k, v in points[-1].items()})))
        return values[i]

    alive: list[tuple[Stack, float]] = []
    for n, group in enumerate(candidates(theta, data)):  # the first structure with a candidate that fits wins
        if n == MAX_GROUPS:
            break
        if not group:
            continue
        c0 = value(0)
        if not (np.isfinite(c0) and c0 > 0):
            return None
        caches: list[dict[tuple, Array]] = [{} for _ in range(PERTURBATIONS + 1)]  # the group's layers, per point
        with np.errstate(all="ignore"):
            scored = [(stack, _plain_sum(stack, theta, caches[0])) for stack in group]
            alive = [(stack, _nice(c0 / m, stack, tol)) for stack, m in scored if np.isfinite(m) and m > 0]
            for i in range(1, PERTURBATIONS + 1):
                if not alive:
                    break
                c = value(i)
                alive = [(s, r) for s, r in alive if abs(r * _plain_sum(s, points[i], caches[i]) - c) <= tol * abs(c)]
        if alive:
            break
    if not alive:
        return None
    best = alive[0][0]
    best.scale, best.cost_calls = alive[0][1], len(values)
    for other, r in alive[1:4]:
        other.scale = r
        best.ties.append(f"{other.describe()} (X = {other.X_name}, y = {other.y_name})")
    return best


@dataclass
class Hypothesis:
    """One bug, and the gradient of every parameter that code with the bug computes (right ones where it does not reach).

    ``bug`` is the id (see :func:`hypotheses`), ``where`` the layer, ``cause`` what an expert would say, ``layer`` the
    1-based layer (None for a bug of every layer), ``variant`` which form of the bug.
    """

    bug: str
    where: str
    cause: str
    gradients: dict[str, Array]
    layer: int | None = None
    variant: str = ""


def _same(g: dict[str, Array], h: dict[str, Array]) -> bool:
    top = max(float(np.abs(v).max(initial=0.0)) for v in h.values())
    return all(np.allclose(g[k], h[k], rtol=1e-12, atol=1e-14 * top) for k in h)


def _slope_bug(f: str, kind: str, k: float = 1.0) -> Callable[..., Array]:
    """``f'(Z)`` as buggy code computes it (``kind``: at_z, at_f_of_a, squared, missing, of_output, on_error). ``on_error``
    is ``g(e)`` of the learner's back-propagated error ``e = dA / k`` (``k < 0``: the error is y - a)."""
    def bad(Z: Array, A: Array, dA: Array | None = None) -> Array:
        if kind == "on_error" and dA is not None:
            return learner_derivative(f, dA / k)
        if kind == "at_z":
            return learner_derivative(f, Z)
        if kind == "at_f_of_a":
            return slope(f, A, activate(f, A))
        if kind == "squared":
            return slope(f, Z, A) ** 2
        return np.ones_like(Z) if kind == "missing" else learner_derivative(f, A)
    return bad


def _error_bug(f: str, sign: float, proper: bool, s: float) -> Callable[[Array, Array, Array, Array], Array]:
    """``dZ_L = sign * s * g(sign * (A - Y))``: the derivative of the error (``g = f'`` itself when ``proper``)."""
    def bad(Z: Array, A: Array, Y: Array, dA: Array) -> Array:
        e = sign * (A - Y)
        return sign * s * (slope(f, e, activate(f, e)) if proper else learner_derivative(f, e))
    return bad


def _fused_twice(f: str, loss: str, s: float) -> Callable[[Array, Array, Array, Array], Array]:
    """``dZ_L = s * output_delta * g(A)``: a fused delta multiplied by the output activation's derivative again."""
    return lambda Z, A, Y, dA: s * output_delta(f, loss, Z, A, Y) * learner_derivative(f, A)


def _layer_words(stack: Stack, l: int) -> tuple[str, str, str]:
    """How a cause names layer ``l``, its right derivative, and the formula of ``dW_l`` from input ``a{l-1}``."""
    L, f, a, z = len(stack.layers), stack.layers[l - 1].activation, f"a{l}", f"z{l}"
    words = "the output layer" if l == L else "the hidden layer" if L == 2 else f"hidden layer {l}"
    right = {"sigmoid": f"{a} * (1 - {a})", "tanh": f"1 - {a}**2", "relu": f"({z} > 0)",
             "leaky_relu": f"np.where({z} > 0, 1, 0.01)", "softmax": f"{a} * (1 - {a})"}.get(f, "1")
    dW = f"a{l - 1}.T @ dZ{l}" if stack.layout == "row" else f"dZ{l} @ a{l - 1}.T"
    return words, right, dW


def hypotheses(stack: Stack, theta: dict[str, Any]) -> list[Hypothesis]:
    """The gradients a learner's backprop computes with each classic bug, at ``theta`` and the stack's scale.

    The first hypothesis is ``none`` (the right gradients). Each bug below is tried at every layer ``l`` it applies to
    (row layout; ``g`` is the learner's derivative from the output, :func:`learner_derivative`; ``s`` the scale); a bug
    that changes nothing at ``theta`` (relu's derivative at z, ...) is left out, and so is a copy of an earlier one.

    * ``derivative_at_z`` (sigmoid, tanh): ``f_l'`` is ``g(Z_l)`` = ``z (1 - z)`` or ``1 - z**2`` instead of ``g(A_l)``.
    * ``derivative_twice``: variant ``at_f_of_a``, ``f_l'`` is ``f'(A_l)`` = ``sigmoid(a) (1 - sigmoid(a))``, the
      activation applied twice; ``squared``, ``f_l'**2``; ``after_fused`` (sigmoid + BCE or softmax + CE output),
      ``dZ_L = s (A - Y) * A (1 - A)``: the derivative multiplied into a delta that already contains it.
    * ``derivative_missing``: ``f_l'`` is 1 (at the output only for a loss not fused with the activation).
    * ``derivative_on_error`` (output): ``dZ_L = s g(A - Y)`` or ``-s g(Y - A)`` (the update adds then), also with
      ``g = f'`` proper (``sigmoid(e) (1 - sigmoid(e))``): ``f'(error)`` instead of ``error * f'(a)``.
    * ``no_backprop_through_weights`` (hidden): ``dA_l = dZ_{l+1}.sum(axis=1, keepdims=True)`` broadcast over the units
      (variant ``sum``), or ``dA_l = dZ_{l+1}`` when the widths agree (``elementwise``); the ``@ W.T`` is missing.
    * ``untransposed_backprop`` (hidden, ``W_{l+1}`` square): ``dA_l = dZ_{l+1} @ W_{l+1}``, no ``.T``.
    * ``preactivation_as_input`` (``l >= 2``): ``dW_l = Z_{l-1}.T @ dZ_l`` instead of ``A_{l-1}.T @ dZ_l``.
    * ``activations_overwritten`` (``l >= 2``): ``dW_l = g(A_{l-1}).T @ dZ_l``: ``A_{l-1}`` was overwritten in place
      by its derivative before ``dW_l`` was computed.
    * ``bias_sum_all_axes``: ``db_l = dZ_l.sum()`` in every entry of ``b_l``, instead of ``dZ_l.sum(axis=0)``.
    * ``transposed`` (``W_l`` square): ``dW_l.T``.
    * ``derivative_on_error`` (hidden, sigmoid or tanh): ``f_l'`` is ``g(dA_l / k)``, the derivative of the learner's own
      back-propagated error (``k = +-2s`` for squared error, ``+-s`` otherwise: an output error ``a - y`` or ``y - a``).
    * ``last_row_only``: every gradient (variant ``""``), or one parameter's (variant: its name), is ``s`` times the last
      sample's term alone: assigned, not accumulated, in the loop over samples.
    * ``sign``: every gradient negated.
    """
    fwd = stack.forward(theta)
    right = stack.backprop(theta, fwd=fwd)[0]
    found = [Hypothesis("none", "every parameter", "the backprop is right", right)]
    L, N, s, row = len(stack.layers), stack.n_samples, float(stack.scale), stack.layout == "row"

    def add(bug: str, l: int | None, cause: str, tweak: Tweak | None = None, grads: dict | None = None,
            variant: str = "", where: str = "") -> None:
        g = grads if grads is not None else stack.backprop(theta, tweak, fwd=fwd)[0]
        if all(np.all(np.isfinite(v)) for v in g.values()) and not any(_same(g, h.gradients) for h in found):
            layer = stack.layers[l - 1] if l else None
            names = ", ".join(filter(None, (layer.weight, layer.bias))) if layer else ""
            where = where or ("every parameter" if layer is None else f"layer {l} ({names})")
            found.append(Hypothesis(bug, where, cause, g, l, variant))

    for l in range(L, 0, -1):
        layer, f, a, z = stack.layers[l - 1], stack.layers[l - 1].activation, f"a{l}", f"z{l}"
        (words, right_g, dW), W = _layer_words(stack, l), layer.weight
        # at a fused output (sigmoid + cross-entropy) the learner may still take the long way, dA * f'(z): its bugs too
        if f in ("sigmoid", "tanh", "relu", "leaky_relu"):
            if f in ("sigmoid", "tanh"):
                add("derivative_at_z", l, f"{words}'s derivative is taken at z ({f}_derivative({z})) where the function expects "
                    f"the activation {a} = {f}({z}): use {right_g}", Tweak(slope={l: _slope_bug(f, "at_z")}))
                add("derivative_twice", l, f"{words}'s derivative is computed from {f}({a}), applying the {f} twice (a "
                    f"derivative function that calls {f} itself, given {a}): use {right_g}",
                    Tweak(slope={l: _slope_bug(f, "at_f_of_a")}), variant="at_f_of_a")
            add("derivative_twice", l, f"{words}'s delta is multiplied by the derivative {right_g} twice: multiply once",
                Tweak(slope={l: _slope_bug(f, "squared")}), variant="squared")
            add("derivative_missing", l, f"{words}'s delta is never multiplied by the activation's derivative: "
                f"dZ{l} = dA{l} * {right_g}", Tweak(slope={l: _slope_bug(f, "missing")}))
        if l == L and fused(f, stack.loss):
            add("derivative_twice", l, f"the output delta of {LOSSES[stack.loss]} on a {f} output, a{L} - y, already "
                f"contains the {f}'s derivative; multiplying it by {a} * (1 - {a}) again is wrong: use dZ{L} = a{L} - y",
                Tweak(out=_fused_twice(f, stack.loss, s)), variant="after_fused")
        if l == L and f in ("sigmoid", "tanh", "relu", "leaky_relu"):
            for err, sign in (("y - a", -1.0), ("a - y", 1.0)):
                for proper in (False, True):
                    add("derivative_on_error", l, f"the output delta is the{' proper' * proper} {f} derivative of the error "
                        f"({f}_derivative({err})) instead of the error times the derivative at the output: use "
                        f"dZ{L} = ({err}) * {right_g}", Tweak(out=_error_bug(f, sign, proper, s)),
                        variant=("proper " if proper else "") + err)
        if l < L:
            above, width = stack.layers[l].weight, layer.n_out
            back = f"dZ{l + 1} @ {above}.T" if row else f"{above}.T @ dZ{l + 1}"
            add("no_backprop_through_weights", l, f"{words}'s delta takes the delta of the layer above summed (or "
                f"broadcast) over its units, not sent back through its weights: use dA{l} = {back}", variant="sum",
                tweak=Tweak(through={l: lambda dZ, W_: np.repeat(dZ.sum(axis=1, keepdims=True), W_.shape[0], axis=1)}))
            grad_of_above = f"d{above}"
            for k in (1.0, 1.0 / s):  # the learner's dZ may carry the cost's 1/N or leave it to dW
                add("no_backprop_through_weights", l, f"{words}'s delta is sent back through {grad_of_above}, the "
                    f"gradient of the weights above, instead of through {above} itself: use dA{l} = {back}",
                    Tweak(through_gradient={l: k}), variant="through_gradient")
            if stack.layers[l].n_out == width:
                add("no_backprop_through_weights", l, f"{words}'s delta multiplies the delta of the layer above entry "
                    f"by entry, not sent back through its weights: use dA{l} = {back}", variant="elementwise",
                    tweak=Tweak(through={l: lambda dZ, W_: dZ}))
                add("untransposed_backprop", l, f"{words}'s delta is sent back through {above} untransposed ({above} is "
                    f"square, so the shapes fit): use dA{l} = {back}", Tweak(through={l: lambda dZ, W_: dZ @ W_}))
        if l >= 2 and stack.layers[l - 2].activation != "linear":
            below, a_in = stack.layers[l - 2].activation, f"a{l - 1}"
            add("preactivation_as_input", l, f"{W}'s gradient uses the pre-activation z{l - 1} where it needs the "
                f"layer's input {a_in} = {below}(z{l - 1}): use d{W} = {dW}", Tweak(inputs={l: lambda Z, A: Z}))
            add("activations_overwritten", l, f"{W}'s gradient uses the derivative of {a_in} instead of {a_in}: {a_in} was "
                f"overwritten in place by its derivative before d{W} = {dW} was computed; put the derivative in a new array",
                Tweak(inputs={l: _slope_bug(below, "of_output")}))
        if l < L and f in ("sigmoid", "tanh"):
            k = s * (2.0 if stack.loss == "squared_error" else 1.0)  # the learner's error is a - y, without the 2 or 1/N
            for err, sign in (("y - a", -1.0), ("a - y", 1.0)):
                add("derivative_on_error", l, f"{words}'s delta multiplies the back-propagated error by {f}_derivative of "
                    f"that error (with output error {err}) instead of the derivative at the layer's output: use "
                    f"dZ{l} = dA{l} * {right_g}", Tweak(slope={l: _slope_bug(f, "on_error", sign * k)}), variant=err)
        if layer.bias is not None and layer.n_out > 1:
            axis = "axis=0" if row else "axis=1, keepdims=True"
            add("bias_sum_all_axes", l, f"{layer.bias}'s gradient sums dZ{l} over every axis, adding the {layer.n_out} units "
                f"together: sum over the samples only, dZ{l}.sum({axis})", Tweak(bias_all={l}))
        if layer.n_in == layer.n_out and len(stack.shapes[W]) == 2:
            add("transposed", l, f"{W}'s gradient is transposed (square, so the shape fits): use d{W} = {dW}",
                Tweak(transpose={l}))
    # The output *error* sent back where the output *delta* belongs: dA_{L-1} = dA_L @ W_L.T, the output activation's
    # derivative skipped on the way back (the output layer's own weight gradient is right).
    if L >= 2 and stack.layers[-1].activation != "linear":
        dA_out = s * loss_slope(stack.loss, fwd[1][L], stack.Y.astype(np.float64))
        add("no_backprop_through_weights", L - 1, f"the error sent back to {_layer_words(stack, L - 1)[0]} is the output "
            f"error, not the output delta: multiply it by the output's derivative first (dZ{L} = dA{L} * "
            f"{_layer_words(stack, L)[1]}), then send dZ{L} back through the weights",
            Tweak(through={L - 1: lambda dZ, W_: dA_out @ W_.T}), variant="error_not_delta")
        add("no_backprop_through_weights", L - 1, f"{_layer_words(stack, L - 1)[0]}'s delta takes the output error itself, "
            f"broadcast over its units: neither multiplied by the output's derivative nor sent back through the "
            f"weights; use dZ{L} = dA{L} * {_layer_words(stack, L)[1]} and then dZ{L} @ {stack.layers[-1].weight}.T",
            Tweak(through={L - 1: lambda dZ, W_: np.repeat(dA_out.sum(axis=1, keepdims=True), W_.shape[0], axis=1)}),
            variant="error_broadcast")
    # A wrong derivative *function* is wrong wherever it is called: the same bug in every layer that uses it.
    every = [(l, stack.layers[l - 1].activation) for l in range(1, L + 1)
             if stack.layers[l - 1].activation in ("sigmoid", "tanh") and not (l == L and fused(stack.layers[l - 1].activation,
                                                                                          stack.loss))]
    if len(every) >= 2:
        for bug, kind, cause in (
                ("derivative_at_z", "at_z", "the derivative function expects the activation a (a * (1 - a)) but every layer "
                 "gives it the pre-activation z: pass a, or compute the derivative from z"),
                ("derivative_twice", "at_f_of_a", "the derivative function applies the activation itself "
                 "(sigmoid(x) * (1 - sigmoid(x))) but every layer gives it the activation a, so the activation is applied "
                 "twice: give it z, or use a * (1 - a)"),
                ("derivative_twice", "squared", "every layer's delta is multiplied by the activation's derivative twice"),
                ("derivative_missing", "missing", "no layer's delta is multiplied by its activation's derivative")):
            add(bug, None, cause, Tweak(slope={l: _slope_bug(f, kind) for l, f in every}), variant=f"{kind}, every layer",
                where="every layer")
    last = stack.row_gradients(theta, N - 1)
    if N > 1:
        add("last_row_only", None, f"the gradients hold only the last sample's term: they are assigned (dW = ...) in the loop "
            f"over samples instead of accumulated (dW += ...): add up all {N} samples' terms", grads=last)
        for l, layer in enumerate(stack.layers, 1):
            for name in filter(None, (layer.weight, layer.bias)):
                add("last_row_only", l, f"`{name}`'s gradient holds only the last sample's term: it is assigned (= ...) in "
                    f"the loop over samples where the others are accumulated (+=): add up all {N} samples' terms",
                    grads=right | {name: last[name]}, variant=name, where=f"{name} (layer {l})")
    add("sign", None, "every gradient has the wrong sign: the output delta is y - a while the update subtracts "
        "lr * gradient; use a - y (or add the step)", grads={k: -v for k, v in right.items()})
    return found


def _fit(h: dict[str, Array], g: dict[str, Array], names: list[str], top: float, tol: float) -> tuple[float, float] | None:
    """``(c, error)`` with ``h == c * g`` on ``names`` to ``tol`` relative per tensor (floor: 1e-3 of ``top``), ``c > 0``."""
    gg = sum(float(np.vdot(g[n], g[n])) for n in names)
    if gg == 0.0:
        return None
    c = sum(float(np.vdot(h[n], g[n])) for n in names) / gg
    if not c > 0:
        return None
    errors = [float(np.abs(h[n] - c * g[n]).max(initial=0.0))
              / max(float(np.abs(h[n]).max(initial=0.0)), c * float(np.abs(g[n]).max(initial=0.0)), 1e-3 * top, 1e-300)
              for n in names]
    return (c, max(errors)) if max(errors) <= tol else None


def _odd_factors(N: int, free: float) -> list[tuple[float, str, str]]:
    """``(q, bug, words)``: one tensor's right gradient is ``q`` x the others' factor x what the learner's code gives."""
    found = [] if N == 1 else [(1 / N, "tensor_factor", f"summed over the {N} samples where the others are averaged: "
                                f"divide it by {N}"),
                               (float(N), "tensor_factor", f"averaged over the {N} samples where the others are summed")]
    found.append((-1.0, "tensor_sign", "of the wrong sign while the others are right"))
    if free > 0 and abs(free - 1) > 1e-6:
        found.append((free, "tensor_factor", f"{1 / free:.4g} x what the other parameters' gradients imply: its update line "
                      "uses another learning rate or normalisation"))
    return found


def match(stack: Stack, theta: dict[str, Any], g_obs: dict[str, Any], hypotheses: list[Hypothesis],
          rtol: float | None = None) -> list[tuple[Hypothesis, float]]:
    """The hypotheses whose gradients are ``factor * g_obs`` for every observed parameter, best first.

    ``factor`` is one positive number shared by all parameters (the learner's normalisation may differ from the printed
    cost by N, 2, ...). When no hypothesis matches that way, one tensor may be off by ``N``, ``1/N`` (sum instead of
    mean, or the reverse), ``-1`` or, last, any positive factor (another learning rate on its update line) while the
    others match: that comes back as a new hypothesis (``tensor_factor``, ``tensor_sign`` for the right backprop, else
    the bug's own id) whose gradients are ``factor * g_obs``.

    ``rtol`` defaults to 1e-6 for float64 (gradients agree to ~1e-8; ``-step / lr`` adds ``ulp(theta) / lr``) and 1e-3
    when ``g_obs`` or the parameters are float32. Empty when nothing matches (noise, or a bug not in the list).
    """
    names = [n for n in stack.shapes if n in g_obs]
    if not names:
        raise ConfigError(f"none of the observed gradients {sorted(g_obs)} is a parameter of the stack {sorted(stack.shapes)}")
    g = {}
    for n in names:
        obs = np.asarray(g_obs[n])
        if obs.size != int(np.prod(stack.shapes[n])):
            raise ShapeError(f"the observed gradient of {n!r} has shape {obs.shape}; the parameter has {stack.shapes[n]}")
        g[n] = obs.astype(np.float64).reshape(stack.shapes[n])
    low = any(np.asarray(v).dtype.itemsize < 8 for v in [*(g_obs[n] for n in names), *(theta[n] for n in names)])
    tol = rtol if rtol is not None else 1e-3 if low else 1e-6
    N, full, partial = stack.n_samples, [], []
    for h in hypotheses:
        top = max(float(np.abs(h.gradients[n]).max(initial=0.0)) for n in names)
        if (fit := _fit(h.gradients, g, names, top, tol)) is not None:
            full.append((fit[1], h, fit[0]))
    for h in [] if full or len(names) < 2 else hypotheses:
        top = max(float(np.abs(h.gradients[n]).max(initial=0.0)) for n in names)
        for odd in names:
            if (fit := _fit(h.gradients, g, [n for n in names if n != odd], top, tol)) is None:
                continue
            c, want, got = fit[0], h.gradients[odd], g[odd]
            gg = c * float(np.vdot(got, got))
            free = float(np.vdot(want, got)) / gg if gg else 0.0  # want = free * c * got, fitted
            for q, bug, text in _odd_factors(N, free):
                err = float(np.abs(want - q * c * got).max(initial=0.0)) / max(float(np.abs(want).max(initial=0.0)),
                                                                              1e-3 * top, 1e-300)
                if err <= tol:
                    cause = f"`{odd}`'s gradient is {text}"
                    grads = dict(h.gradients) | {odd: want / q}
                    derived = (Hypothesis(bug, odd, cause, grads, None, "") if h.bug == "none" else
                               Hypothesis(h.bug, f"{h.where}; {odd}", f"{h.cause}; and {cause}", grads, h.layer, h.variant))
                    partial.append((max(err, fit[1]), derived, c))
                    break
    return [(h, c) for _, h, c in sorted(full, key=lambda t: t[0]) + sorted(partial, key=lambda t: t[0])]
