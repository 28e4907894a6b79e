"""The fast training path: the readable path's arithmetic, without its allocations and Python overhead.

Read ``layers.py``, ``losses.py``, ``network.py`` and ``optimizers.py`` first: they *define* what a
training step computes. This module computes exactly the same numbers, operation for operation (so
float64 results are bit-identical; ``tests/core/test_fast.py`` checks that for every activation,
loss and optimizer), only faster:

- **One flat buffer per network** for all parameters, one for all gradients, one per optimizer
  state (Adam's ``m`` and ``v``, SGD's velocity). ``layer.params``, ``layer.grads`` and
  ``optimizer.state`` hold *views* into them, so everything stays visible under the usual names,
  while the optimizer and the NaN/inf check run a handful of NumPy calls on the whole network
  instead of a dozen per parameter.
- **Workspace buffers per batch size**, allocated once and reused through ``out=`` arguments: no
  large temporaries are allocated, freed and page-faulted in again on every step.
- **Fused element-wise steps** that reuse what the forward pass computed (the loss reuses the
  sigmoid's ``exp(-|z|)`` and the softmax's row sums) and skip what nobody reads (``dX`` of the
  first layer).
- **Cache-sized chunks** for the optimizer on large networks, so its dozen passes stay in cache.

A :class:`Plan` is built per network on first use by ``fit`` and ``Network.step``. Whenever user code
may have run (every ``net.step`` call; in ``fit`` at the start and after each callback that is not
marked ``observes_only``) it checks that the network and the optimizer are still plain (built-in layer,
activation, loss and optimizer classes, no method replaced on an instance, e.g. by ``glassnet.explain``'s
recording hooks); otherwise it hands the step to the readable ``Network._step`` (or the optimizer's own
``update``). Set ``glassnet.core.fast.enabled = False`` to always use the
readable path. After each step ``layer.cache`` and ``layer.grads`` hold that step's arrays, as the
readable path leaves them (workspace views: they are overwritten by the next step; copy what you keep).
``Network`` packs its parameters when it is built; a network whose parameter arrays were replaced
(or that was copied or unpickled) is packed again at its next step: ``layer.params`` then hold new
arrays with the same values.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core import activations as acts
from glassnet.core.checks import all_finite as all_finite_array
from glassnet.core.layers import Dense
from glassnet.core.losses import BinaryCrossEntropy, CrossEntropy, MeanSquaredError
from glassnet.core.optimizers import SGD, Adam, Optimizer

if TYPE_CHECKING:
    from glassnet.core.network import Network

Array = NDArray[Any]

enabled = True
"""Set to ``False`` to make ``fit`` and ``Network.step`` always run the readable path."""

CHUNK = 1 << 15  # optimizer elements per chunk: a few arrays of this size stay in L2 cache
MAX_WORKSPACES = 4  # batch sizes whose buffers are kept (full batches plus one ragged last batch, typically)

_ACTIVATIONS = {acts.Identity: "identity", acts.Sigmoid: "sigmoid", acts.Tanh: "tanh", acts.ReLU: "relu",
                acts.LeakyReLU: "leaky_relu", acts.Softmax: "softmax"}
_LOSSES = {MeanSquaredError: "mse", BinaryCrossEntropy: "bce", CrossEntropy: "cross_entropy"}
# Methods a hook (or a subclass) may replace; if any is replaced, the readable path runs.
_LAYER_METHODS = frozenset({"forward", "backward", "backward_from_dZ"})
_NET_METHODS = frozenset({"_forward", "_backward", "_step", "_loss_value", "_penalty", "_grads"})
_ACT_METHODS = frozenset({"forward", "backward"})
_LOSS_METHODS = frozenset({"value", "gradient"})
_OPT_METHODS = frozenset({"update", "update_one"})
_ORIGINAL_METHODS: list[tuple[type, str, Any]] = (
    [(Dense, name, getattr(Dense, name)) for name in sorted(_LAYER_METHODS)]
    + [(cls, name, getattr(cls, name)) for cls in _ACTIVATIONS for name in sorted(_ACT_METHODS)]
    + [(cls, name, getattr(cls, name)) for cls in _LOSSES for name in sorted(_LOSS_METHODS)])
_ORIGINAL_OPT = {SGD: (SGD.update, SGD.update_one), Adam: (Adam.update, Adam.update_one)}

_plans: weakref.WeakKeyDictionary[Any, Plan] = weakref.WeakKeyDictionary()


def pack_parameters(layers: list[Dense], dtype: Any) -> Array:
    """Move every layer's ``W`` and ``b`` into one flat array; ``layer.params`` then hold views into it.

    The values are unchanged; the order is that of ``Network.parameters()``. Returns the flat array.
    """
    arrays = [p for layer in layers for p in layer.params.values()]
    flat = np.empty(sum(p.size for p in arrays), dtype=dtype)
    start = 0
    for layer in layers:
        for name, p in list(layer.params.items()):
            view = flat[start:start + p.size].reshape(p.shape)
            view[...] = p
            layer.params[name] = view
            start += p.size
    return flat


def _packed(layers: list[Dense], flat: Array | None) -> bool:
    """True if the layers' parameters are still the views :func:`pack_parameters` made into ``flat``."""
    if flat is None:
        return False
    start = flat.ctypes.data
    for layer in layers:
        for p in layer.params.values():
            if p.base is not flat or p.ctypes.data != start or not p.flags.c_contiguous:
                return False
            start += p.nbytes
    return start == flat.ctypes.data + flat.nbytes


def _plain(obj: Any, methods: frozenset[str]) -> bool:
    """No method of ``methods`` replaced on the instance (as recording hooks do)."""
    return methods.isdisjoint(vars(obj))


def _hooked_classes(methods: list[tuple[type, str, Any]] | None = None) -> bool:
    """A method of a built-in class was replaced (monkeypatched) after import."""
    for cls, name, original in _ORIGINAL_METHODS if methods is None else methods:
        if getattr(cls, name) is not original:
            return True
    return False


def readable_only(net: Network) -> bool:
    """True when a step of ``net`` must run the readable path (hooked or custom parts, or ``enabled`` off)."""
    from glassnet.core.network import Network

    if not enabled or net.dtype not in (np.float64, np.float32) or _hooked_classes():
        return True
    if type(net) is not Network and any(getattr(type(net), m) is not getattr(Network, m) for m in _NET_METHODS):
        return True
    if not _plain(net, _NET_METHODS) or type(net.loss_fn) not in _LOSSES or not _plain(net.loss_fn, _LOSS_METHODS):
        return True
    for layer in net.layers:
        if type(layer) is not Dense or not _plain(layer, _LAYER_METHODS):
            return True
        if type(layer.activation) not in _ACTIVATIONS or not _plain(layer.activation, _ACT_METHODS):
            return True
    return False


def plan_for(net: Network) -> Plan | None:
    """The fast plan of ``net`` (built on first use), or ``None`` when the readable path must run."""
    plan = _plans.get(net)
    if plan is not None and plan.unchanged(net):
        plan.optimizer_checked = False  # user code may have run since the last step: update checks the optimizer again
        return plan
    if readable_only(net):
        return None
    plan = Plan(net)
    _plans[net] = plan
    return plan


def step_function(net: Network) -> Callable[[Array, Array, Optimizer], float]:
    """What runs one training step of ``net`` now: its plan's ``step``, or the readable ``net._step``.

    ``fit`` asks again whenever user code (a callback) has run, since that code may have changed the
    network or hooked its methods.
    """
    plan = plan_for(net)
    return net._step if plan is None else plan.step


def step(net: Network, X: Array, Y: Array, optimizer: Optimizer) -> float:
    """One training step of ``net``: the fast plan when possible, else the readable ``net._step``."""
    return step_function(net)(X, Y, optimizer)


def all_finite(loss: float, grads: Array) -> bool:
    """``Network._step``'s check (loss and every gradient finite) on the flat gradient array.

    ``checks.all_finite``'s one sum, without its ``errstate`` on the (per step) path where the sum is finite.
    """
    if math.isfinite(loss) and math.isfinite(np.add.reduce(grads)):
        return True
    return math.isfinite(loss) and all_finite_array(grads)


def _mean(a: Array) -> float:
    # np.mean's own arithmetic without its Python wrapper: the sum, divided by the count in float64
    # (NumPy promotes float32 / intp to float64), rounded back to the array's dtype.
    value = float(np.add.reduce(a, None)) / a.size
    return value if a.dtype == np.float64 else float(a.dtype.type(value))


class _LayerWork:
    """One layer's buffers for one batch size, and its forward/backward on them."""

    def __init__(self, layer: Dense, W: Array, b: Array, gW: Array, gb: Array, n: int, first: bool) -> None:
        dtype = W.dtype
        shape = (n, layer.n_out)
        self.layer, self.W, self.b, self.gW, self.gb = layer, W, b, gW, gb
        self.kind = _ACTIVATIONS[type(layer.activation)]
        self.slope = getattr(layer.activation, "slope", 0.0)
        self.Z = np.empty(shape, dtype)
        self.A = self.Z if self.kind == "identity" else np.empty(shape, dtype)
        self.T = np.empty(shape, dtype)      # element-wise temporary (sigmoid: exp(-|z|); softmax: z - max)
        self.T2 = np.empty(shape, dtype)     # second temporary (backward, loss)
        self.dZ = np.empty(shape, dtype)
        self.mask = np.empty(shape, bool)
        self.rows = np.empty((n, 1), dtype)  # per-row values (softmax max and sums)
        self.dX = None if first else np.empty((n, layer.n_in), dtype)
        self.G = self.dZ  # the loss gradient, for the output layer (its own buffer when it is dA, not dZ)
        self.X: Array | None = None
        self.cache: dict[str, Any] = {"X": None, "Z": self.Z, "A": self.A}  # layer.cache after a step; "X" set per step

    def forward(self, X: Array) -> Array:
        Z, A, T = self.Z, self.A, self.T
        self.X = X
        np.matmul(X, self.W, Z)
        np.add(Z, self.b, Z)
        kind = self.kind
        if kind == "relu":
            np.maximum(Z, 0.0, out=A)
        elif kind == "tanh":
            np.tanh(Z, A)
        elif kind == "sigmoid":
            # Sigmoid.forward: e = exp(-|z|), then 1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0.
            # Both numerators are exp(min(z, 0)): exp(0) = 1 exactly, and -|z| = z for z < 0, so this is
            # the same division, bit for bit, without a mask and a masked second division.
            np.copysign(Z, -1.0, T)  # -|z|, bit for bit, in one pass
            np.exp(T, T)
            np.add(T, 1.0, self.T2)
            np.minimum(Z, 0.0, out=A)
            np.exp(A, A)
            np.divide(A, self.T2, A)
        elif kind == "softmax":
            np.maximum.reduce(Z, axis=1, out=self.rows, keepdims=True)
            np.subtract(Z, self.rows, T)
            np.exp(T, A)
            np.add.reduce(A, axis=1, out=self.rows, keepdims=True)
            np.divide(A, self.rows, A)
        elif kind == "leaky_relu":
            np.multiply(Z, self.slope, A)
            np.greater(Z, 0, self.mask)
            np.copyto(A, Z, where=self.mask)
        return A

    def activation_backward(self, dA: Array) -> Array:
        """``dZ`` from ``dA``, as ``Activation.backward`` computes it."""
        kind, A, dZ = self.kind, self.A, self.dZ
        if kind == "relu":
            np.greater(self.Z, 0, self.mask)
            np.multiply(dA, self.mask, dZ)
        elif kind == "tanh":
            np.multiply(A, A, self.T2)
            np.subtract(1.0, self.T2, self.T2)
            np.multiply(dA, self.T2, dZ)
        elif kind == "sigmoid":
            np.multiply(dA, A, dZ)
            np.subtract(1.0, A, self.T2)
            np.multiply(dZ, self.T2, dZ)
        elif kind == "softmax":
            np.multiply(dA, A, self.T2)
            np.add.reduce(self.T2, axis=1, out=self.rows, keepdims=True)
            np.subtract(dA, self.rows, self.T2)
            np.multiply(A, self.T2, dZ)
        elif kind == "leaky_relu":
            np.multiply(dA, self.slope, dZ)
            np.greater(self.Z, 0, self.mask)
            np.copyto(dZ, dA, where=self.mask)
        else:
            return dA
        return dZ

    def backward_from_dZ(self, dZ: Array) -> Array | None:
        """``Dense.backward_from_dZ`` into the gradient views; ``dX`` is skipped for the first layer."""
        assert self.X is not None
        np.matmul(self.X.T, dZ, self.gW)
        np.add.reduce(dZ, axis=0, out=self.gb)
        if self.dX is None:
            return None
        np.matmul(dZ, self.W.T, self.dX)
        return self.dX


class Plan:
    """A network's flat parameter/gradient buffers, per-batch-size workspaces and optimizer states.

    Holds no reference to the network itself (plans live in a weak dictionary keyed by network).
    """

    def __init__(self, net: Network) -> None:
        self.layers = list(net.layers)
        self.activations = [layer.activation for layer in self.layers]
        self.loss_fn = net.loss_fn
        self.loss = _LOSSES[type(net.loss_fn)]
        self.dtype = net.dtype
        self.l2 = net.l2
        flat = getattr(net, "_flat_params", None)
        if flat is None or flat.dtype != self.dtype or not _packed(self.layers, flat):
            flat = pack_parameters(self.layers, self.dtype)
            net._flat_params = flat
        self.flat = flat
        self.gflat = np.zeros_like(flat)
        self.params: list[Array] = []
        self.grads: list[dict[str, Array]] = []
        self.names: list[str] = []
        start = 0
        for i, layer in enumerate(self.layers):
            grads = {}
            for name, p in layer.params.items():
                self.params.append(p)
                self.names.append(f"{i}.{name}")
                grads[name] = self.gflat[start:start + p.size].reshape(p.shape)
                start += p.size
            self.grads.append(grads)
        # Squares / l2 * W of each weight matrix, only for an L2 penalty.
        self.w_tmp = [np.empty_like(layer.params["W"]) for layer in self.layers] if self.l2 else []
        self.work: dict[int, list[_LayerWork]] = {}
        self.opt_states: weakref.WeakKeyDictionary[Optimizer, _FlatState] = weakref.WeakKeyDictionary()
        self.last_optimizer: tuple[Callable[[], Any], Any] = (lambda: None, None)  # (weak reference, its state)
        self.optimizer_checked = False  # last_optimizer's state checked since user code last ran (see update)
        # What must not change for this plan to stay right (checked by unchanged() after user code runs):
        # the objects and their instance attributes (a hook adds one), the live parameter arrays and
        # activations, and the class methods the plan stands in for.
        objects = [net, net.loss_fn, *self.layers, *self.activations]
        self.objects, self.n_vars = objects, [len(vars(o)) for o in objects]
        refs: list[tuple[dict[str, Any], str, Any]] = [
            (layer.params, name, p) for layer in self.layers for name, p in layer.params.items()]
        refs += [(vars(layer), "activation", layer.activation) for layer in self.layers]
        self.ref_dicts, self.ref_keys, self.ref_values = (list(column) for column in zip(*refs))
        classes: dict[type, tuple[str, ...]] = {type(a): ("forward", "backward") for a in self.activations}
        classes[Dense] = ("forward", "backward", "backward_from_dZ")
        classes[type(net.loss_fn)] = ("value", "gradient")
        self.methods = [(cls, name, getattr(cls, name)) for cls, names in classes.items() for name in names]
        self.m_classes, self.m_names, self.m_funcs = (list(column) for column in zip(*self.methods))

    def unchanged(self, net: Network) -> bool:
        """True if ``net`` is still the network this plan was made for (cheap; run after user code).

        The objects and their instance attributes (a hook adds one), the live parameter arrays and
        activations, and the class methods the plan stands in for; the loops run in C (map).
        """
        return (enabled and net.layers == self.layers and net.loss_fn is self.loss_fn and net.l2 == self.l2
                and net.dtype == self.dtype
                and list(map(len, map(vars, self.objects))) == self.n_vars
                and all(map(operator.is_, map(dict.get, self.ref_dicts, self.ref_keys), self.ref_values))
                and all(map(operator.is_, map(getattr, self.m_classes, self.m_names), self.m_funcs)))

    def workspace(self, n: int) -> list[_LayerWork]:
        work = self.work.get(n)
        if work is None:
            if len(self.work) >= MAX_WORKSPACES:
                self.work.pop(next(iter(self.work)))
            work = [_LayerWork(layer, layer.params["W"], layer.params["b"], g["W"], g["b"], n, i == 0)
                    for i, (layer, g) in enumerate(zip(self.layers, self.grads))]
            if self.loss == "mse":
                work[-1].G = np.empty_like(work[-1].Z)
            self.work[n] = work
        return work

    # ------------------------------------------------------------------------------------ one step
    def step(self, X: Array, Y: Array, optimizer: Optimizer) -> float:
        """``Network._step`` on the plan's buffers: forward, loss, backward, check, update. Returns the loss."""
        work = self.workspace(X.shape[0])
        A = X
        for w in work:
            A = w.forward(A)
        last = work[-1]
        loss = self.loss_value_and_gradient(last, Y)
        d: Any = last.activation_backward(last.G) if self.loss == "mse" else last.G
        for w in reversed(work):
            if w is not last:
                d = w.activation_backward(d)
            d = w.backward_from_dZ(d)
        if self.l2:
            for w, tmp in zip(work, self.w_tmp):
                np.multiply(w.W, self.l2, tmp)
                np.add(w.gW, tmp, w.gW)
        for layer, w, grads in zip(self.layers, work, self.grads):
            w.cache["X"] = w.X
            layer.cache = w.cache
            layer.grads = grads
        if not all_finite(loss, self.gflat):
            from glassnet.core.network import diverged

            raise diverged(loss)
        self.update(optimizer)
        return loss

    def loss_value_and_gradient(self, w: _LayerWork, Y: Array) -> float:
        """The data loss plus the L2 penalty, as ``Network._loss_value``; leaves the loss gradient in ``w.G``."""
        Z, A, T, T2, G = w.Z, w.A, w.T, w.T2, w.G
        if self.loss == "mse":
            # MeanSquaredError: mean((A - Y)**2); dA = 2 (A - Y) / N.
            np.subtract(A, Y, G)
            np.multiply(G, G, T2)
            value = _mean(T2)
            np.multiply(G, 2.0, G)
            np.divide(G, A.size, G)
        elif self.loss == "bce":
            # BinaryCrossEntropy: max(z, 0) + log1p(exp(-|z|)) - y z, with exp(-|z|) still in T from the sigmoid.
            np.log1p(T, T)
            np.maximum(Z, 0.0, out=T2)
            np.add(T2, T, T2)
            np.multiply(Y, Z, T)
            np.subtract(T2, T, T2)
            value = _mean(T2)
            np.subtract(A, Y, G)
            np.divide(G, A.size, G)
        else:
            # CrossEntropy: -sum(y (z - max - log sum exp(z - max))) / n; T holds z - max, rows the sums.
            np.log(w.rows, w.rows)
            np.subtract(T, w.rows, T)
            np.multiply(Y, T, T)
            value = float(-np.add.reduce(T, None) / Z.shape[0])
            np.subtract(A, Y, G)
            np.divide(G, Z.shape[0], G)
        if not self.l2:
            return value + 0.0
        total = 0.0  # sum() of the readable path starts from 0; same result
        for layer, tmp in zip(self.layers, self.w_tmp):
            np.multiply(layer.params["W"], layer.params["W"], tmp)
            total += float(np.add.reduce(tmp, None))
        return value + 0.5 * self.l2 * total

    # ------------------------------------------------------------------------------------ optimizer
    def update(self, optimizer: Optimizer) -> None:
        # Most steps use the previous step's optimizer, already checked since user code last ran (plan_for
        # clears optimizer_checked): no lookup and no hook check on those steps.
        last, state = self.last_optimizer
        if last() is not optimizer or not self.optimizer_checked:
            state = self.optimizer_state(optimizer)
            self.last_optimizer = (weakref.ref(optimizer), state)
            self.optimizer_checked = True
        state.update(optimizer)

    def optimizer_state(self, optimizer: Optimizer) -> _FlatState:
        """What updates ``optimizer``: its flat state, or the readable update when it is hooked or custom."""
        kind = type(optimizer)
        plain = kind in _ORIGINAL_OPT and (kind.update, kind.update_one) == _ORIGINAL_OPT[kind]
        if not plain or not _plain(optimizer, _OPT_METHODS):
            return _Readable(self)
        state = self.opt_states.get(optimizer)
        if state is None:
            state = _FlatAdam(self) if kind is Adam else _FlatSGD(self)
            self.opt_states[optimizer] = state
        return state


class _FlatState:
    """An optimizer's state on the plan's flat buffers (holds no reference to the optimizer)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def update(self, opt: Any) -> None:
        raise NotImplementedError

    def readable_update(self, opt: Optimizer) -> None:
        params = dict(zip(self.plan.names, self.plan.params))
        grads = {f"{i}.{k}": g for i, gs in enumerate(self.plan.grads) for k, g in gs.items()}
        opt.update(params, grads)

    def views(self, flat: Array) -> list[Array]:
        out, start = [], 0
        for p in self.plan.params:
            out.append(flat[start:start + p.size].reshape(p.shape))
            start += p.size
        return out

    def chunks(self) -> list[slice]:
        n = self.plan.flat.size
        return [slice(s, s + CHUNK) for s in range(0, n, CHUNK)] if n > CHUNK else [slice(None)]


class _Readable(_FlatState):
    def update(self, opt: Optimizer) -> None:
        self.readable_update(opt)


class _FlatSGD(_FlatState):
    """``SGD.update_one`` for every parameter at once, on flat buffers; ``state["velocity"]`` are views."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        self.velocity = np.zeros_like(plan.flat)
        self.velocity_views = self.views(self.velocity)
        tmp = np.empty(min(plan.flat.size, CHUNK), plan.flat.dtype)
        self.parts = [(plan.flat[s], plan.gflat[s], self.velocity[s], tmp[: plan.flat[s].size]) for s in self.chunks()]

    def synced(self, opt: SGD) -> bool | None:
        """True if the optimizer's state is ours, False if it is empty (first step), None if foreign."""
        state, names = opt.state, self.plan.names
        if not state:
            return False
        first = state.get(names[0])
        if first is not None and first.get("velocity") is self.velocity_views[0]:
            return True
        if set(state) == set(names) and all("velocity" in s for s in state.values()):
            for name, view in zip(names, self.velocity_views):
                view[...] = state[name]["velocity"]
                state[name]["velocity"] = view
            return True
        return None

    def update(self, opt: SGD) -> None:
        lr = opt.lr
        if not opt.momentum:
            for p, g, _, t in self.parts:
                np.multiply(g, lr, t)
                np.subtract(p, t, p)
            return
        synced = self.synced(opt)
        if synced is None:
            return self.readable_update(opt)
        mu = opt.momentum
        for p, g, v, t in self.parts:
            if synced:  # v = mu * v + g
                np.multiply(v, mu, v)
                np.add(v, g, v)
            else:  # first step: v = g
                np.copyto(v, g)
            if opt.nesterov:  # g + mu * v
                np.multiply(v, mu, t)
                np.add(g, t, t)
                np.multiply(t, lr, t)
            else:
                np.multiply(v, lr, t)
            np.subtract(p, t, p)
        if not synced:
            for name, view in zip(self.plan.names, self.velocity_views):
                opt.state[name] = {"velocity": view}


class _FlatAdam(_FlatState):
    """``Adam.update_one`` for every parameter at once, in cache-sized chunks; ``state["m"]``/``["v"]`` are views."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        self.m, self.v = np.zeros_like(plan.flat), np.zeros_like(plan.flat)
        self.m_views, self.v_views = self.views(self.m), self.views(self.v)
        size = min(plan.flat.size, CHUNK)
        t1, t2 = np.empty(size, plan.flat.dtype), np.empty(size, plan.flat.dtype)
        # Per chunk: views of p, g, m, v and two temporaries, made once.
        self.parts = [(plan.flat[s], plan.gflat[s], self.m[s], self.v[s], t1[: plan.flat[s].size], t2[: plan.flat[s].size])
                      for s in self.chunks()]
        self.t = 0

    def synced(self, opt: Adam) -> bool:
        """Make the optimizer's state ours (adopting what it holds); False if it cannot be (mixed steps)."""
        state, names = opt.state, self.plan.names
        first = state.get(names[0])
        if first is not None and first.get("m") is self.m_views[0] and first.get("t") == self.t:
            return True
        if not state:
            self.t = 0
            self.m[...] = 0
            self.v[...] = 0
        elif set(state) == set(names) and len({s.get("t") for s in state.values()}) == 1 and all(
                "m" in s and "v" in s for s in state.values()):
            for name, m, v in zip(names, self.m_views, self.v_views):
                m[...] = state[name]["m"]
                v[...] = state[name]["v"]
            self.t = state[names[0]]["t"]
        else:
            return False
        for name, m, v in zip(names, self.m_views, self.v_views):
            state[name] = {"t": self.t, "m": m, "v": v}
        return True

    def update(self, opt: Adam) -> None:
        if not self.synced(opt):
            return self.readable_update(opt)
        beta1, beta2 = opt.betas
        self.t += 1
        t = self.t
        for name in self.plan.names:
            opt.state[name]["t"] = t
        step_size = opt.lr / (1 - beta1**t)
        root = math.sqrt(1 - beta2**t)
        eps, c1, c2 = opt.eps, 1 - beta1, 1 - beta2
        for p, g, m, v, t1, t2 in self.parts:
            # m = beta1 * m + (1 - beta1) * g
            np.multiply(m, beta1, m)
            np.multiply(g, c1, t1)
            np.add(m, t1, m)
            # v = beta2 * v + (1 - beta2) * g * g
            np.multiply(v, beta2, v)
            np.multiply(g, c2, t1)
            np.multiply(t1, g, t1)
            np.add(v, t1, v)
            # p -= step_size * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
            np.sqrt(v, t1)
            np.divide(t1, root, t1)
            np.add(t1, eps, t1)
            np.multiply(m, step_size, t2)
            np.divide(t2, t1, t2)
            np.subtract(p, t2, p)
