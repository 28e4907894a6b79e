"""Which form of each part's maths runs: its in-place form only while it agrees with the readable one.

Every activation, loss, layer and optimizer has a readable form (``forward``/``backward``, ``value``/
``gradient``, ``update_one``) and may have an in-place form beside it (``forward_into``, ...). The readable
form defines the maths. Before the engine runs an in-place form it asks two questions here:

1. **Is it the class's own?** The in-place form must be written in the same class body as the readable
   method it mirrors. A subclass that overrides ``forward`` alone, or a readable method replaced on the
   class after import (a monkeypatch, a spy), gets the base class's in-place form, which just calls the
   readable method. So your own class runs your own code.
2. **Does it still compute the same numbers?** On a small probe (a few rows, values around 0 and in the
   tails), once per class, settings and dtype per process, the two forms are run side by side: equal bit
   for bit in float64, to rounding in float32. If they differ (you edited one and not the other), glassnet
   warns once with :class:`~glassnet.errors.FastFormWarning`, naming both methods, and runs the readable
   form from then on. Silent divergence is impossible.

``fast.py`` also runs one whole step both ways on each new kind of network (``Plan.check_step``), which
covers the network's own methods (``Network._step``, ``_backward``, ``_loss_value``).

A probe runs a layer's forward pass more than once, and a forward pass may change more than its cache:
BatchNorm1d updates its running statistics (``layer.buffers``), Dropout draws its mask from a random generator.
:func:`keep_side_state` saves both before a probe, so that each form starts from the same state (the same mask,
the same statistics) and the probe leaves no trace: no changed statistic, no random number consumed.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core import compiled
from glassnet.core.activations import Activation
from glassnet.core.layers import Layer
from glassnet.core.losses import Loss
from glassnet.core.optimizers import Optimizer, clip_factor
from glassnet.core.workspace import Workspace
from glassnet.errors import FastFormWarning

Array = NDArray[Any]

_verdicts: dict[tuple[Any, ...], bool] = {}  # probe results of this process, by class, methods, settings and dtype
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # glassnet/


def warn(message: Warning) -> None:
    """Warn at the user's line (the first frame outside glassnet), not at the engine's."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the frame that called warn()
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, stacklevel=level)


def own_form(cls: type, readable: str, fast: str, base: type) -> bool:
    """True if ``cls.<fast>`` is written beside ``cls.<readable>``: in the same class body, not ``base``'s default."""
    owner = next((c for c in cls.__mro__ if fast in vars(c)), None)
    if owner is None or owner is base:
        return False
    method = getattr(cls, readable)
    qualname = getattr(method, "__qualname__", "")
    return qualname == f"{owner.__qualname__}.{readable}" and getattr(method, "__module__", None) == owner.__module__


def differ(a: Any, b: Any, dtype: Any) -> float:
    """How far two results of a probe are apart; 0.0 when they agree (bits in float64, rounding in float32)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if np.dtype(dtype) == np.float64:
        same = np.array_equal(a, b, equal_nan=True)
        return 0.0 if same else float(np.nanmax(np.abs(a - b), initial=0.0)) or float("inf")
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-30)
    gap = float(np.max(np.abs(a - b), initial=0.0))
    return 0.0 if gap <= 1e-4 * scale else gap


def keep_side_state(layers: Sequence[Layer], *generators: Any) -> Callable[[], None]:
    """Save what running ``layers`` changes besides their caches and gradients; returns what puts it back.

    That is every layer's ``buffers`` (copies of the arrays, put back into the same arrays and dict) and the state of
    every random generator among the layers' attributes (Dropout's ``rng``) and in ``generators`` (the network's
    ``rng``). The returned function may be called any number of times; each call restores the saved state.
    """
    buffers = [(layer, layer.buffers, [(name, b, b.copy()) for name, b in layer.buffers.items()]) for layer in layers]
    found = {id(g): g for g in generators}
    for layer in layers:
        found.update({id(v): v for v in vars(layer).values() if isinstance(v, (np.random.Generator, np.random.RandomState))})
    states = [(g, g.bit_generator.state if isinstance(g, np.random.Generator) else g.get_state()) for g in found.values()]

    def restore() -> None:
        for layer, kept, arrays in buffers:
            kept.clear()
            for name, array, copied in arrays:
                array[...] = copied
                kept[name] = array
            layer.buffers = kept
        for g, state in states:
            if isinstance(g, np.random.Generator):
                g.bit_generator.state = state
            else:
                g.set_state(state)

    return restore


def buffer_values(layers: Sequence[Layer]) -> Array:
    """Every layer's buffers, flattened into one new float64 array (for comparing two runs)."""
    arrays = [np.asarray(b, dtype=np.float64).ravel() for layer in layers for b in layer.buffers.values()]
    return np.concatenate(arrays) if arrays else np.zeros(0)


def _key(obj: Any, methods: tuple[str, ...], dtype: Any, settings: Any = ()) -> tuple[Any, ...]:
    cls = type(obj)
    return (cls, tuple(getattr(cls, m) for m in methods), np.dtype(dtype).name, settings)


def _verdict(key: tuple[Any, ...], probe: Callable[[], tuple[Any, ...] | None], cls: type) -> bool:
    """Run ``probe`` once per key; it returns ``None`` (agree) or (readable method, fast method, gap[, failure]),
    ``failure`` saying why a compiled loop form could not run at all."""
    if key not in _verdicts:
        found = probe()
        _verdicts[key] = found is None
        if found is not None:
            readable, fast, gap, *failure = found
            warn(FastFormWarning(cls, readable, fast, gap, key[2], *failure))
    return _verdicts[key]


def _compile_failure(exc: Exception) -> str:
    """What to say when numba cannot compile a loop form (say, one that calls a plain Python function)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"numba could not compile it: {type(exc).__name__}{': ' + first if first else ''}"


def _probe_values(dtype: Any, shape: tuple[int, int] = (4, 5), seed: int = 0) -> Array:
    """Values around 0 (including exact zeros, for kinks) and in the tails, in ``dtype``."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape) * 2.0
    values.flat[::7] = 0.0
    values.flat[3::11] = 9.0
    values.flat[5::13] = -9.0
    return values.astype(dtype)


def _work(n: int, n_in: int, n_out: int, dtype: Any, grads: dict[str, Array] | None = None, first: bool = False) -> Workspace:
    return Workspace(n, n_in, n_out, dtype, grads or {}, first)


# ---------------------------------------------------------------------------- activations
def activation_forms(act: Activation, dtype: Any, loops: bool = True) -> tuple[Callable[..., Array], Callable[..., Array]]:
    """The ``(forward, backward)`` forms the engine runs for ``act``: its compiled loop forms if ``loops`` and they agree
    (see ``_with_loops``), else its own in-place forms while they agree, else the readable ones written into buffers."""
    own = own_form(type(act), "forward", "forward_into", Activation) and own_form(
        type(act), "backward", "backward_into", Activation)
    if own and _verdict(_key(act, ("forward", "backward", "forward_into", "backward_into"), dtype, repr(act)),
                        lambda: _probe_activation(act, dtype), type(act)):
        forms = act.forward_into, act.backward_into
    else:
        forms = Activation.forward_into.__get__(act), Activation.backward_into.__get__(act)
    return _with_loops(act, dtype, *forms) if loops else forms


def _with_loops(act: Activation, dtype: Any, forward: Callable[..., Array],
                backward: Callable[..., Array]) -> tuple[Callable[..., Array], Callable[..., Array]]:
    """``forward`` and ``backward``, each replaced by the activation's compiled loop form (``forward_loop``,
    ``backward_loop``) where numba is installed and the class has one of its own that agrees with the readable form."""
    if not compiled.available():
        return forward, backward
    cls, forms = type(act), {"forward": forward, "backward": backward}
    for readable in forms:
        loop = _loop_of(act, readable, f"{readable}_loop", Activation)
        if loop is None:
            continue
        settings = compiled.scalars(act.loop_settings(), np.dtype(dtype))
        key = _key(act, (readable, f"{readable}_loop", "loop_settings"), dtype, repr(act))
        if _verdict(key, partial(_probe_activation_loop, act, readable, loop, settings, dtype), cls):
            run = _forward_loop if readable == "forward" else _backward_loop
            forms[readable] = run(act, loop, np.dtype(dtype))
    return forms["forward"], forms["backward"]


def _forward_loop(act: Activation, loop: Callable[..., None], dtype: Any) -> Callable[..., Array]:
    settings = act.loop_settings

    def forward(Z: Array, A: Array, work: Any) -> Array:  # forward_into's signature, for the engine
        loop(Z, A, *compiled.scalars(settings(), dtype))  # read each call: a LeakyReLU's slope may be changed
        return A
    return forward


def _backward_loop(act: Activation, loop: Callable[..., None], dtype: Any) -> Callable[..., Array]:
    settings = act.loop_settings

    def backward(Z: Array, A: Array, dA: Array, dZ: Array, work: Any) -> Array:  # backward_into's signature
        loop(Z, A, dA, dZ, *compiled.scalars(settings(), dtype))
        return dZ
    return backward


def _probe_activation_loop(act: Activation, readable: str, loop: Callable[..., None], settings: tuple[Any, ...],
                           dtype: Any) -> tuple[Any, ...] | None:
    Z = _probe_values(dtype)
    A = np.asarray(act.forward(Z), dtype=dtype)
    out = np.empty_like(Z)
    name = f"{getattr(type(act), readable + '_loop').__qualname__}[{np.dtype(dtype).name}]"
    dA = _probe_values(dtype, seed=1)
    arrays = (Z, out) if readable == "forward" else (Z, A, dA, out)
    try:
        compiled.first_call(name, loop, *arrays, *settings)
    except Exception as exc:  # numba could not compile it: the form it mirrors runs instead
        return readable, f"{readable}_loop", math.inf, _compile_failure(exc)
    expected = A if readable == "forward" else act.backward(Z, A, dA)
    gap = differ(out, expected, dtype)
    return (readable, f"{readable}_loop", gap) if gap else None


def _probe_activation(act: Activation, dtype: Any) -> tuple[str, str, float] | None:
    Z = _probe_values(dtype)
    dA = _probe_values(dtype, seed=1)
    work = _work(Z.shape[0], Z.shape[1], Z.shape[1], dtype)
    A = act.forward(Z)
    A_fast = act.forward_into(Z, work.A, work)
    gap = differ(A_fast, A, dtype)
    if gap:
        return "forward", "forward_into", gap
    dZ = act.backward(Z, A, dA)
    gap = differ(act.backward_into(Z, A_fast, dA, work.dZ, work), dZ, dtype)
    return ("backward", "backward_into", gap) if gap else None


# ---------------------------------------------------------------------------- losses
def loss_form(loss: Loss, dtype: Any, output_own: bool) -> Callable[..., float]:
    """The ``value_and_gradient_into`` the engine runs. A fused loss's own form reads what its activation's
    own ``forward_into`` left in the workspace, so it needs ``output_own``: the output layer runs exactly that."""
    fused = loss.fused_activation
    own = own_form(type(loss), "value", "value_and_gradient_into", Loss) and own_form(
        type(loss), "gradient", "value_and_gradient_into", Loss) and (fused is None or output_own)
    if own and _verdict(_key(loss, ("value", "gradient", "value_and_gradient_into"), dtype, repr(loss)),
                        lambda: _probe_loss(loss, dtype), type(loss)):
        return loss.value_and_gradient_into
    return Loss.value_and_gradient_into.__get__(loss)


def _probe_loss(loss: Loss, dtype: Any) -> tuple[str, str, float] | None:
    Z = _probe_values(dtype)
    work = _work(Z.shape[0], Z.shape[1], Z.shape[1], dtype)
    if loss.fused_activation is not None:
        A = loss.fused_activation().forward_into(Z, work.A, work)
    else:
        A = np.tanh(Z)
    rng = np.random.default_rng(2)
    if loss.targets == "classes":
        Y = np.eye(Z.shape[1], dtype=dtype)[rng.integers(0, Z.shape[1], Z.shape[0])]
    elif loss.targets == "binary":
        Y = (rng.random(Z.shape) > 0.5).astype(dtype)
    else:
        Y = (rng.normal(size=Z.shape) * 2).astype(dtype)
    value, gradient = loss.value(Z, A, Y), loss.gradient(Z, A, Y)
    fast_value = loss.value_and_gradient_into(Z, A, Y, work.G, work)
    gap = differ(fast_value, value, dtype)
    if gap:
        return "value", "value_and_gradient_into", gap
    gap = differ(work.G, gradient, dtype)
    return ("gradient", "value_and_gradient_into", gap) if gap else None


# ---------------------------------------------------------------------------- layers
_LAYER_PAIRS = (("forward", "forward_into"), ("backward", "backward_into"))


def layer_own(layer: Layer, dtype: Any) -> bool:
    """True if the engine may run ``layer``'s own in-place forms (they are its class's own, and agree)."""
    cls = type(layer)
    pairs = _LAYER_PAIRS + ((("backward_from_dZ", "backward_from_dZ_into"),) if hasattr(layer, "backward_from_dZ") else ())
    if not all(own_form(cls, r, f, Layer) for r, f in pairs):
        return False
    methods = tuple(name for pair in pairs for name in pair)
    return _verdict(_key(layer, methods, dtype, type(layer.activation)), lambda: _probe_layer(layer, dtype), cls)


def _probe_layer(layer: Layer, dtype: Any) -> tuple[str, str, float] | None:
    saved = (layer.cache, layer.grads)
    restore = keep_side_state([layer])  # both forms from the same buffers and random state; both put back after
    try:
        X = _probe_values(dtype, (3, layer.n_in))
        dA = _probe_values(dtype, (3, layer.n_out), seed=1)
        A = np.array(layer.forward(X))
        dX = np.array(layer.backward(dA))
        grads = {name: np.array(g) for name, g in layer.grads.items()}
        buffers = buffer_values([layer])
        restore()
        work = _work(3, layer.n_in, layer.n_out, dtype, {name: np.empty_like(g) for name, g in grads.items()})
        act = layer.activation
        if act is not None:
            work.activation_forward = Activation.forward_into.__get__(act)
            work.activation_backward = Activation.backward_into.__get__(act)
        gap = differ(layer.forward_into(X, work), A, dtype) or differ(buffer_values([layer]), buffers, dtype)
        if gap:
            return "forward", "forward_into", gap
        dX_fast = layer.backward_into(dA, work)
        for name, g in grads.items():
            gap = differ(work.grads[name], g, dtype)
            if gap:
                return "backward", "backward_into", gap
        gap = differ(dX_fast, dX, dtype)
        if gap:
            return "backward", "backward_into", gap
        if hasattr(layer, "backward_from_dZ"):
            dX = np.array(layer.backward_from_dZ(dA))
            grads = {name: np.array(g) for name, g in layer.grads.items()}
            dX_fast = layer.backward_from_dZ_into(dA, work)
            for name, g in grads.items():
                gap = differ(work.grads[name], g, dtype) or differ(dX_fast, dX, dtype)
                if gap:
                    return "backward_from_dZ", "backward_from_dZ_into", gap
        return None
    finally:
        layer.cache, layer.grads = saved
        restore()


def layer_loops(layer: Layer, parts: Sequence[Activation | Loss], dtype: Any,
                loops: bool = True) -> dict[str, Callable[..., Any]]:
    """The compiled loop forms the engine hands ``layer``'s in-place forms in ``work.loops`` (empty without ``loops``:
    numba missing or switched off, a small network): the dense layer's bias loops (``Dense.add_bias_loop``,
    ``Dense.bias_gradient_loop``) and the ``into_loops`` of ``parts`` (the layer's activation and, on the output
    layer, the loss: those whose own in-place form the engine runs). Each only when written beside the readable method
    it serves (not a subclass's rewrite of that method), not replaced on the instance, and agreeing on its probe (else
    one warning, and NumPy's form of the step runs). A layer of one unit keeps NumPy's bias gradient: NumPy sums one
    column pairwise (the comment above ``Dense.add_bias_loop``)."""
    if not loops or not compiled.available():
        return {}
    chosen: dict[str, Callable[..., Any]] = {}
    for readable, name in (("forward", "add_bias_loop"), ("backward_from_dZ", "bias_gradient_loop")):
        if name == "bias_gradient_loop" and layer.n_out < 2:
            continue
        loop = _loop_of(layer, readable, name, Layer)
        if loop is not None and _verdict(_key(layer, (readable, name), dtype),
                                         partial(_probe_bias_loop, type(layer), readable, name, loop, dtype), type(layer)):
            chosen[name] = loop
    for part in parts:
        base = Loss if isinstance(part, Loss) else Activation
        for name, readable in part.into_loops.items():
            loop = _loop_of(part, readable, name, base)
            into = "value_and_gradient_into" if base is Loss else f"{readable}_into"
            if loop is not None and _verdict(_key(part, (readable, into, name), dtype, repr(part)),
                                             partial(_probe_into_loop, part, name, loop, dtype), type(part)):
                chosen[name] = loop
    return chosen


def _loop_of(part: Any, readable: str, name: str, base: type) -> Callable[..., Any] | None:
    """``part``'s loop form ``name`` compiled, if it is written beside ``part``'s readable method and neither is replaced
    on the instance; else ``None`` (also without numba)."""
    if not hasattr(part, readable) or not own_form(type(part), readable, name, base) or {readable, name} & set(vars(part)):
        return None
    return compiled.kernel(getattr(type(part), name))


def _gap(out: Array, expected: Array, dtype: Any) -> float:
    """:func:`differ`, and a zero of the other sign counted too (``differ`` takes -0.0 and 0.0 as equal)."""
    gap = differ(out, expected, dtype)
    if not gap and not np.array_equal(np.signbit(out), np.signbit(expected)):
        gap = math.inf
    return gap


def _probe_bias_loop(cls: type, readable: str, name: str, loop: Callable[..., None],
                     dtype: Any) -> tuple[Any, ...] | None:
    """``add_bias_loop`` against ``Z + b``, ``bias_gradient_loop`` against ``dZ.sum(axis=0)`` (what the readable
    ``forward`` and ``backward_from_dZ`` compute), on probe values with zeros of both signs: a few rows,
    and enough rows that NumPy's order of adding them shows. (inf and NaN are left out: IEEE 754 adds them alike in
    both, and the float32 comparison measures gaps between numbers.)"""
    label = f"{getattr(cls, name).__qualname__}[{np.dtype(dtype).name}]"
    for shape in ((4, 5), (300, 3)):
        Z = _probe_values(dtype, shape)
        Z.flat[1] = -0.0
        Z[:, -1] = -0.0  # a column of negative zeros: NumPy's sum of it is +0.0
        b = _probe_values(dtype, (1, shape[1]), seed=1)[0]
        out = Z.copy() if name == "add_bias_loop" else np.empty(shape[1], dtype)
        args = (out, b) if name == "add_bias_loop" else (Z, out)
        try:
            compiled.first_call(label, loop, *args)
        except Exception as exc:  # numba could not compile it: NumPy's form runs
            return readable, name, math.inf, _compile_failure(exc)
        gap = _gap(out, Z + b if name == "add_bias_loop" else Z.sum(axis=0), dtype)
        if gap:
            return readable, name, gap
    return None


def _probe_into_loop(part: Activation | Loss, name: str, loop: Callable[..., Any], dtype: Any) -> tuple[Any, ...] | None:
    """The in-place form that calls loop form ``name`` run with it and without it (its NumPy passes) from the same
    buffers, on probe values with ties of zeros of both signs in a row: every buffer it writes compared (for a loss,
    after its fused activation's forward_into filled what it reads)."""
    readable = part.into_loops[name]
    label = f"{getattr(type(part), name).__qualname__}[{np.dtype(dtype).name}]"
    for shape in ((4, 5), (3, 40)):
        Z = _probe_values(dtype, shape)
        Z[0, :3] = [-0.0, 0.0, -0.0]
        Z[1, :] = 0.0
        Z[1, ::2] = -0.0
        works = [_work(shape[0], shape[1], shape[1], dtype), _work(shape[0], shape[1], shape[1], dtype)]
        works[0].loops = {name: partial(compiled.first_call, label, loop)}  # its first call timed (compiled.report)
        try:
            results: list[tuple[Array, ...]]
            if isinstance(part, Activation):
                outs = [part.forward_into(Z, w.A, w) for w in works]
                results = [(out, w.T) for out, w in zip(outs, works)]  # (what it returns, what a fused loss reads)
            else:
                fused = part.fused_activation() if part.fused_activation is not None else None
                Y = np.eye(shape[1], dtype=dtype)[np.arange(shape[0]) % shape[1]]
                As = [fused.forward_into(Z, w.A, w) if fused is not None else np.tanh(Z, w.A) for w in works]
                with np.errstate(all="ignore"):
                    values = [part.value_and_gradient_into(Z, A, Y, w.G, w) for A, w in zip(As, works)]
                results = [(np.array(v), w.G, w.T) for v, w in zip(values, works)]
        except Exception as exc:  # numba could not compile it: the NumPy passes run
            return readable, name, math.inf, _compile_failure(exc)
        # What the in-place form returns or writes for the engine (the output, the loss value and gradient) is compared
        # with the signs of its zeros; work.T, scratch a fused loss reads, without: NumPy's SIMD maximum picks either
        # of two equal zeros, machine by machine, and a zero's sign there reaches no result (exp(+-0) = 1; the loss
        # takes -log_sum from it, or adds it into a sum that starts from +0).
        for k, (got, expected) in enumerate(zip(*results)):
            gap = _gap(got, expected, dtype) if k < len(results[0]) - 1 else differ(got, expected, dtype)
            if gap:
                return readable, name, gap
    return None


# ---------------------------------------------------------------------------- optimizers
def optimizer_own(opt: Optimizer, dtype: Any) -> bool:
    """True if the engine may run ``opt.update_into`` on the flat buffers (its own, and agreeing with ``update_one``)."""
    cls = type(opt)
    if not own_form(cls, "update_one", "update_into", Optimizer) or cls.update is not Optimizer.update:
        return False
    if {"update", "update_one", "update_into"} & set(vars(opt)):
        return False  # a method replaced on this optimizer (a recording hook): it must be called
    settings = repr(sorted((k, v) for k, v in opt.config().items() if k != "lr")) if hasattr(opt, "config") else ""
    return _verdict(_key(opt, ("update", "update_one", "update_into", "buffers"), dtype, settings),
                    lambda: _probe_optimizer(opt, dtype), cls)


def _probe_parameters(opt: Optimizer, dtype: Any, seed: int) -> tuple[Any, ...]:
    """An optimizer probe's start: its generator, two parameters ``"0.W"`` (3, 2) and ``"0.b"`` (2,) drawn from it,
    the same values in one flat array, and a zero flat buffer per state buffer of ``opt``."""
    rng = np.random.default_rng(seed)
    shapes = {"0.W": (3, 2), "0.b": (2,)}
    params = {name: rng.normal(size=shape).astype(dtype) for name, shape in shapes.items()}
    flat = np.concatenate([p.ravel() for p in params.values()])
    return rng, shapes, params, flat, {name: np.zeros_like(flat) for name in opt.buffers()}


def _probe_optimizer(opt: Optimizer, dtype: Any) -> tuple[str, str, float] | None:
    readable, flat_opt = copy.copy(opt), copy.copy(opt)
    readable.state, flat_opt.state = {}, {}
    # The verdict holds for every lr (its key leaves lr out), so probe at a moderate one: at the user's lr=1e40 in
    # float32 both forms overflow to NaN, which is no disagreement (the step itself reports the overflow).
    readable.lr = flat_opt.lr = 0.1
    # Clipping (max_grad_norm) is done by Optimizer.update and by fast.py's flat state around update_into, not
    # inside it: the probe compares the rule alone.
    readable.max_grad_norm = flat_opt.max_grad_norm = None
    rng, shapes, params, flat, buffers = _probe_parameters(flat_opt, dtype, seed=3)
    tmp, tmp2 = np.empty_like(flat), np.empty_like(flat)
    for t in range(1, 4):
        grads = {name: rng.normal(size=shape).astype(dtype) for name, shape in shapes.items()}
        readable.update(params, grads)
        flat_opt.update_into(flat, np.concatenate([g.ravel() for g in grads.values()]), buffers, t, tmp, tmp2)
        gap = differ(flat, np.concatenate([p.ravel() for p in params.values()]), dtype)
        if gap:
            return "update_one", "update_into", gap
    return None


def optimizer_loop(opt: Optimizer, dtype: Any) -> Callable[..., bool] | None:
    """The compiled ``update_loop`` the engine may run for ``opt`` on flat ``dtype`` buffers, or ``None``: numba is not
    installed or is switched off (``core/compiled.py``), the loop form is not the class's own (written beside its
    ``update_one``), or it does not agree with ``update_one`` on the probe (then one warning says so)."""
    cls = type(opt)
    if not compiled.available() or not own_form(cls, "update_one", "update_loop", Optimizer):
        return None
    if cls.update is not Optimizer.update or {"update", "update_one", "update_loop", "loop_scalars"} & set(vars(opt)):
        return None  # a method replaced on this optimizer (a recording hook): it must be called
    loop = compiled.kernel(cls.update_loop)  # type: ignore[attr-defined]
    if loop is None:
        return None  # numba missing
    settings = repr(sorted((k, v) for k, v in opt.config().items() if k != "lr"))
    methods = ("update", "update_one", "update_loop", "loop_scalars", "loop_buffers", "buffers")
    agrees = _verdict(_key(opt, methods, dtype, settings), lambda: _probe_loop(opt, loop, dtype), cls)
    return loop if agrees else None


def _probe_loop(opt: Optimizer, loop: Callable[..., bool], dtype: Any) -> tuple[Any, ...] | None:
    """Three steps of ``update_one`` (through ``Optimizer.update``) and of the compiled loop from the same start,
    the second one clipped; the parameters and every state buffer compared after each."""
    readable = copy.copy(opt)
    readable.state, readable.lr = {}, 0.1  # any lr agrees if this one does (the verdict's key leaves lr out)
    rng, shapes, params, flat, buffers = _probe_parameters(opt, dtype, seed=4)
    arrays = [buffers.get(name, np.zeros(0, flat.dtype)) for name in type(opt).loop_buffers]
    name = f"{type(opt).update_loop.__qualname__}[{np.dtype(dtype).name}]"  # type: ignore[attr-defined]
    for t in range(1, 4):
        grads = {k: rng.normal(size=shape).astype(dtype) for k, shape in shapes.items()}
        g = np.concatenate([x.ravel() for x in grads.values()])
        # Step 2 clipped: update clips copies of the gradients by clip_grad_norm's factor, the loop multiplies by it.
        limit = 0.5 * float(np.linalg.norm(g))
        readable.max_grad_norm = limit if t == 2 else None
        readable.update(params, grads)
        coef = clip_factor(grads.values(), limit)[1] if t == 2 else 1.0  # summed per array, as update sums
        values = compiled.scalars(readable.loop_scalars(t, coef), flat.dtype)
        try:
            compiled.first_call(name, loop, flat, g, *arrays, *values, False)
        except Exception as exc:  # numba could not compile it: update_into (or update_one) runs instead
            return "update_one", "update_loop", math.inf, _compile_failure(exc)
        loop(flat, g, *arrays, *values, True)
        gap = differ(flat, np.concatenate([p.ravel() for p in params.values()]), dtype)
        for b, buffer in buffers.items():
            kept = [readable.state[k][b] for k in params]
            gap = gap or differ(buffer, np.concatenate([x.ravel() for x in kept]), dtype)
        if gap:
            return "update_one", "update_loop", gap
    return None
