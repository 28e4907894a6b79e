"""The fast training path: each part's in-place form, on buffers made once, with no Python overhead to spare.

Read ``layers.py``, ``losses.py``, ``network.py`` and ``optimizers.py`` first: their readable methods
*define* what a training step computes. This module holds no maths of its own. It runs, for every part
of the network, that part's in-place form (``forward_into``, ``backward_into``,
``value_and_gradient_into``, ``update_into``: written in the part's own class, right beside the
readable form) when ``agreement.py`` has found it to be the class's own and to agree with the readable
form; otherwise it runs the readable form. What it adds is the bookkeeping that makes a step cheap:

- **One flat buffer per network** for all parameters, one for all gradients, one per optimizer
  state buffer (Adam's ``m`` and ``v``, SGD's velocity). ``layer.params``, ``layer.grads`` and
  ``optimizer.state`` hold *views* into them, so everything stays visible under the usual names,
  while the optimizer and the NaN/inf check run a handful of NumPy calls on the whole network
  instead of a dozen per parameter.
- **Workspaces per batch size** (``workspace.py``), allocated once and reused through ``out=``
  arguments: no large temporaries are allocated, freed and page-faulted in again on every step.
- **Cache-sized chunks** for the optimizer on large networks, so its passes stay in cache.
- **Compiled loop forms** when numba is installed (``pip install "glassnet[fast]"``; ``core/compiled.py``): an
  optimizer's ``update_loop`` and an activation's ``forward_loop``/``backward_loop``, the same rule entry by entry,
  run in one pass over memory instead of the in-place form's dozen NumPy passes, when ``agreement.py`` finds them
  the class's own and agreeing with the readable form. The optimizer's loop computes and checks a step before it
  writes it, so it needs neither chunks nor undo copies.
- **Frozen parameters** (``Network.freeze``) are skipped: the optimizer runs on the contiguous runs of the flat
  buffer that hold trainable parameters, and its state buffers hold those only (a frozen parameter gets no
  update and no state, as on the readable path). Skipping slices keeps the fast path for fine-tuning, where
  most of a network is frozen; the bookkeeping is one list of runs.
- **Clipping by global norm** (``optimizer.max_grad_norm``): the total norm of the trainable gradients, then each
  chunk's gradients scaled into a buffer of their own right before its update (the network's gradients stay as
  backprop made them, as on the readable path).

A :class:`Plan` is built per network on first use by ``fit`` and ``Network.step``; its first step on a
new kind of network is also run the readable way on a few rows and compared (``Plan.check_step``), which
covers the network's own methods. Whenever user code may have run (every ``net.step`` call; in ``fit``
at the start and after each callback not marked ``observes_only``) the plan checks that the network is
still the one it was made for: same parts, no method replaced on a class or an instance (e.g. by
``glassnet.explain``'s recording hooks, which make the readable ``Network._step`` run). Set
``glassnet.core.fast.enabled = False`` to always use the readable path. After each step ``layer.cache``
and ``layer.grads`` hold that step's arrays, as the readable path leaves them (workspace views:
overwritten by the next step; copy what you keep). ``Network`` packs its parameters when it is built; a
network whose parameter arrays were replaced (or that was copied or unpickled) is packed again at its
next step: ``layer.params`` then hold new arrays with the same values.
"""

from __future__ import annotations

import contextlib
import math
import operator
import signal
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core import agreement, compiled
from glassnet.core.activations import Activation
from glassnet.core.checks import all_finite_flat, diverged, update_overflowed
from glassnet.core.layers import Layer
from glassnet.core.losses import Loss
from glassnet.core.optimizers import SGD, Optimizer, clip_factor, largest_gradient, not_finite_after_update, update_or_undo
from glassnet.core.workspace import Workspace
from glassnet.errors import FastFormWarning, TrainingDiverged

try:  # the C functions that the signal module wraps (CPython's); elsewhere the module itself (see _whole)
    import _signal  # no type stubs: its calls are not type-checked
    _signals: Any = _signal
except ImportError:  # pragma: no cover
    _signals = signal
SIGINT = int(signal.SIGINT)

if TYPE_CHECKING:
    from glassnet.core.network import Network

Array = NDArray[Any]

enabled = True
"""Set to ``False`` to make ``fit`` and ``Network.step`` always run the readable path."""

ctrl_c_held = False  # True while fit holds the first Ctrl-C back itself (training._defer_ctrl_c): see _whole
# While fit holds Ctrl-C: True inside an update's check and write passes, where fit's handler notes a second Ctrl-C
# in ``ctrl_c_pending`` instead of raising, and _whole raises it once the step is whole
in_update = False
ctrl_c_pending = False

CHUNK = 1 << 15  # optimizer elements per chunk: a few arrays of this size stay in L2 cache
MAX_WORKSPACES = 4  # batch sizes whose buffers are kept (full batches plus one ragged last batch, typically)
PROBE_ROWS = 4  # rows of the first batch on which check_step runs a step both ways

# Methods a hook (or a subclass) may replace; if any is replaced on an instance, the readable path runs.
_LAYER_METHODS = frozenset({"forward", "backward", "backward_from_dZ", "forward_into", "backward_into",
                            "backward_from_dZ_into", "add_bias_loop", "bias_gradient_loop"})
_NET_METHODS = frozenset({"_forward", "_backward", "_step", "_loss_value", "_penalty", "_grads"})
_ACT_METHODS = frozenset({"forward", "backward", "forward_into", "backward_into"})
_LOSS_METHODS = frozenset({"value", "gradient", "value_and_gradient_into"})

_plans: weakref.WeakKeyDictionary[Any, Plan] = weakref.WeakKeyDictionary()
_step_verdicts: dict[tuple[Any, ...], bool] = {}  # check_step's results, by kind of network


def pack_parameters(layers: list[Layer], dtype: Any) -> Array:
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


def _packed(layers: list[Layer], flat: Array | None) -> bool:
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


def _runs_own(form: Any, part: Any, base: type) -> bool:
    """True if ``form``, the bound method the engine chose to run for ``part``, is its class's own in-place form (not
    ``base``'s default, which calls the readable form, nor a compiled loop form)."""
    func, name = getattr(form, "__func__", None), getattr(form, "__name__", "")
    return func is not None and func is getattr(type(part), name, None) and func is not getattr(base, name, None)


def _plain(obj: Any, methods: frozenset[str]) -> bool:
    """No method of ``methods`` replaced on the instance (as recording hooks do)."""
    return methods.isdisjoint(vars(obj))


def readable_only(net: Network) -> bool:
    """True when a step of ``net`` must run the readable ``Network._step`` (hooks, or ``enabled`` off)."""
    if not enabled or net.dtype not in (np.float64, np.float32):
        return True
    # A subclass of Network that overrides one of its maths methods: a second definition along the class's MRO
    # (found without importing network.py, which imports this module).
    mro = type(net).__mro__
    if any(sum(m in vars(cls) for cls in mro) > 1 for m in _NET_METHODS):
        return True
    if not _plain(net, _NET_METHODS) or not _plain(net.loss_fn, _LOSS_METHODS):
        return True
    for layer in net.layers:
        if not _plain(layer, _LAYER_METHODS) or (layer.activation is not None and not _plain(layer.activation, _ACT_METHODS)):
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
    """``Network._step``'s check (loss and every gradient finite) on the flat gradient array."""
    return math.isfinite(loss) and all_finite_flat(grads)


class Plan:
    """A network's flat parameter/gradient buffers, per-batch-size workspaces, chosen forms and optimizer states.

    Holds only a weak reference to the network (plans live in a weak dictionary keyed by network).
    """

    def __init__(self, net: Network) -> None:
        self.net = weakref.ref(net)
        self.layers: list[Layer] = list(net.layers)
        self.activations = [layer.activation for layer in self.layers]
        self.loss_fn = net.loss_fn
        self.fused = net.loss_fn.fused_activation is not None
        self.dtype = net.dtype
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
        # Frozen parameters (Network.freeze) are left out of the update: the trainable ones by index into names, and
        # the runs of the flat buffer they fill, (start, stop) with neighbours merged (one run when nothing is frozen).
        self.frozen: frozenset[str] = net._frozen
        self.trainable = [i for i, name in enumerate(self.names) if name not in self.frozen]
        self.runs: list[tuple[int, int]] = []
        start, trainable = 0, set(self.trainable)
        for i, p in enumerate(self.params):
            if i in trainable:
                if self.runs and self.runs[-1][1] == start:
                    self.runs[-1] = (self.runs[-1][0], start + p.size)
                else:
                    self.runs.append((start, start + p.size))
            start += p.size
        self.loops = compiled.worth_it(flat.size)  # run the compiled loop forms (numba installed, network large enough)
        self.switches = (compiled.enabled, compiled.always, compiled.MIN_PARAMETERS)  # a new plan when they change
        self.choose_forms()
        # The penalized parameters with their gradient views and a temporary each: made at the first step with an
        # L2 penalty (net.l2 is read every step: a schedule, such as the estimators', may change it between steps).
        self.penalized: list[tuple[Array, Array, Array]] | None = None
        # Every layer's buffers, each with a copy made once: what a failing step puts back (see step).
        self.kept_buffers = [(b, np.empty_like(b)) for layer in self.layers for b in layer.buffers.values()]
        self.work: dict[int, list[Workspace]] = {}
        self.opt_states: weakref.WeakKeyDictionary[Optimizer, _FlatState] = weakref.WeakKeyDictionary()
        # (weak reference, its state, its _stamp)
        self.last_optimizer: tuple[Callable[[], Any], Any, Any] = (lambda: None, None, None)
        self.optimizer_checked = False  # last_optimizer's state checked since user code last ran (see update)
        # What must not change for this plan to stay right (checked by unchanged() after user code runs):
        # the objects and their instance attributes (a hook adds one), the live parameter arrays and
        # activations, and the class methods whose forms were chosen.
        objects = [net, net.loss_fn, *self.layers, *[a for a in self.activations if a is not None]]
        self.objects, self.n_vars = objects, [len(vars(o)) for o in objects]
        refs: list[tuple[dict[str, Any], str, Any]] = [
            (layer.params, name, p) for layer in self.layers for name, p in layer.params.items()]
        refs += [(vars(layer), "activation", layer.activation) for layer in self.layers if "activation" in vars(layer)]
        self.ref_dicts, self.ref_keys, self.ref_values = (list(column) for column in zip(*refs))
        # (an activation's and a loss's into_loops too: a plan keeps the compiled ones it chose)
        classes: dict[type, frozenset[str]] = {type(a): _ACT_METHODS | set(a.into_loops)
                                               for a in self.activations if a is not None}
        classes.update({type(layer): _LAYER_METHODS for layer in self.layers})
        classes[type(net.loss_fn)] = _LOSS_METHODS | set(net.loss_fn.into_loops)
        self.methods = [(cls, name, getattr(cls, name)) for cls, names in classes.items() for name in sorted(names)
                        if hasattr(cls, name)]
        self.m_classes, self.m_names, self.m_funcs = (list(column) for column in zip(*self.methods))
        self.verdict: bool | None = None  # check_step's verdict for this kind of network, once known
        self.signature = (type(net), self.dtype.name, type(net.loss_fn), tuple(self.methods),
                          tuple((type(layer), type(layer.activation)) for layer in self.layers), tuple(self.own))

    def choose_forms(self) -> None:
        """For every part, its own in-place form or its readable one (``agreement.py`` decides)."""
        self.own: list[bool] = []
        self.forward_forms: list[Callable[..., Any]] = []
        self.backward_forms: list[Callable[..., Any]] = []
        self.act_forms: list[tuple[Callable[..., Any], Callable[..., Any]] | tuple[None, None]] = []
        self.loop_forms: list[dict[str, Callable[..., Any]]] = []  # per layer, its work.loops (agreement.layer_loops)
        for layer in self.layers:
            own = agreement.layer_own(layer, self.dtype)
            self.own.append(own)
            self.forward_forms.append(layer.forward_into if own else Layer.forward_into.__get__(layer))
            self.backward_forms.append(layer.backward_into if own else Layer.backward_into.__get__(layer))
            act = layer.activation
            self.act_forms.append(agreement.activation_forms(act, self.dtype, self.loops) if act is not None
                                  else (None, None))
        last, act = self.layers[-1], self.layers[-1].activation
        if self.fused:
            self.backward_forms[-1] = (last.backward_from_dZ_into if self.own[-1]
                                       else Layer.backward_from_dZ_into.__get__(last))
        fused = self.loss_fn.fused_activation
        output_own = (fused is not None and act is not None and self.own[-1]
                      and getattr(self.act_forms[-1][0], "__func__", None) is fused.forward_into)
        self.loss_form = agreement.loss_form(self.loss_fn, self.dtype, output_own)
        # The loop forms each layer's in-place forms may call (work.loops): only for the parts whose own in-place form
        # runs (an activation's or a loss's in-place form replaced by its readable one would never call them).
        for i, layer in enumerate(self.layers):
            parts: list[Any] = []
            if layer.activation is not None and _runs_own(self.act_forms[i][0], layer.activation, Activation):
                parts.append(layer.activation)
            if layer is last and _runs_own(self.loss_form, self.loss_fn, Loss):
                parts.append(self.loss_fn)
            self.loop_forms.append(agreement.layer_loops(layer, parts, self.dtype, self.loops) if self.own[i] else {})

    def unchanged(self, net: Network) -> bool:
        """True if ``net`` is still the network this plan was made for (cheap; run after user code).

        The objects and their instance attributes (a hook adds one), the live parameter arrays and
        activations, and the class methods the plan relies on; the loops run in C (map).
        """
        return (enabled and net.layers == self.layers and net.loss_fn is self.loss_fn
                and (compiled.enabled, compiled.always, compiled.MIN_PARAMETERS) == self.switches
                and net.dtype == self.dtype and net._frozen == self.frozen
                and list(map(len, map(vars, self.objects))) == self.n_vars
                and all(map(operator.is_, map(dict.get, self.ref_dicts, self.ref_keys), self.ref_values))
                and all(map(operator.is_, map(getattr, self.m_classes, self.m_names), self.m_funcs)))

    def workspace(self, n: int) -> list[Workspace]:
        work = self.work.get(n)
        if work is None:
            if len(self.work) >= MAX_WORKSPACES:
                self.work.pop(next(iter(self.work)))
            work = [Workspace(n, layer.n_in, layer.n_out, self.dtype, grads, i == 0, forward, backward, loops)
                    for i, (layer, grads, (forward, backward), loops) in enumerate(zip(self.layers, self.grads,
                                                                                       self.act_forms, self.loop_forms))]
            if not self.fused:
                work[-1].G = np.empty_like(work[-1].Z)
            self.work[n] = work
        return work

    # ------------------------------------------------------------------------------------ one step
    def step(self, X: Array, Y: Array, optimizer: Optimizer) -> float:
        """``Network._step`` on the plan's buffers: forward, loss, backward, check, update. Returns the loss."""
        if self.verdict is None:
            self.verdict = _step_verdicts.get(self.signature)
            if self.verdict is None:
                self.verdict = self.check_step(X, Y)  # None while undecided: checked again at the next step
        if self.verdict is False:
            net = self.net()
            if net is None:
                raise RuntimeError("this plan's network no longer exists")
            return net._step(X, Y, optimizer)
        if not self.kept_buffers:
            loss = self.gradients(X, Y)
            if not all_finite(loss, self.gflat):
                raise diverged(loss, optimizer)
            self.update(optimizer)  # undone, and raises, if it makes a parameter NaN or inf (_FlatState.update)
            return loss
        # Network._step's promise for buffers (BatchNorm's running statistics, moved by the forward pass): a step
        # that fails puts them back.
        for live, kept in self.kept_buffers:
            np.copyto(kept, live)
        try:
            loss = self.gradients(X, Y)
            if not all_finite(loss, self.gflat):
                raise diverged(loss, optimizer)
            self.update(optimizer)
        except BaseException:
            for live, kept in self.kept_buffers:
                np.copyto(live, kept)
            raise
        return loss

    def gradients(self, X: Array, Y: Array) -> float:
        """Forward, loss and backward on the workspace of ``len(X)`` rows; returns the loss (gradients in gflat)."""
        work = self.workspace(X.shape[0])
        A = X
        for forward, w in zip(self.forward_forms, work):
            A = forward(A, w)
        last = work[-1]
        cache = self.layers[-1].cache
        # The layer's own cache: any layer (one without an activation, such as BatchNorm1d, caches no Z: its output
        # is its own pre-activation, as Network._loss_value reads it).
        loss = self.loss_form(cache.get("Z", cache["A"]), cache["A"], Y, last.G, last)
        d: Any = last.G
        for backward, w in zip(reversed(self.backward_forms), reversed(work)):
            d = backward(d, w)
        net = self.net()
        l2 = 0.0 if net is None else net.l2  # read each step: a schedule may change it between steps
        if l2:
            penalized = self.penalized_parameters()
            loss += 0.5 * l2 * self.penalty()
            for p, g, tmp in penalized:
                np.multiply(p, l2, tmp)
                np.add(g, tmp, g)
        return loss + 0.0

    def penalized_parameters(self) -> list[tuple[Array, Array, Array]]:
        if self.penalized is None:
            self.penalized = [(layer.params[name], grads[name], np.empty_like(layer.params[name]))
                              for layer, grads in zip(self.layers, self.grads) for name in layer.penalized]
        return self.penalized

    def penalty(self) -> float:
        """``sum of p**2`` over the penalized parameters, as ``Network._penalty`` adds them (from 0)."""
        total = 0.0
        for p, _, tmp in self.penalized_parameters():
            np.multiply(p, p, tmp)
            total += float(np.add.reduce(tmp, None))
        return total

    def named(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """The parameters and their gradients under the names ``Network.parameters()`` uses (views, not copies)."""
        grads = {f"{i}.{k}": g for i, gs in enumerate(self.grads) for k, g in gs.items()}
        return dict(zip(self.names, self.params)), grads

    def trainable_named(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """:meth:`named` without the frozen parameters: what ``Network._step`` hands the optimizer."""
        params, grads = self.named()
        if not self.frozen:
            return params, grads
        keys = [self.names[i] for i in self.trainable]
        return {k: params[k] for k in keys}, {k: grads[k] for k in keys}

    def check_step(self, X: Array, Y: Array) -> bool | None:
        """Run one step of a few rows the readable way and this plan's way, and compare (once per kind of network).

        Covers what no single part's probe can: the network's own methods (``_step``, ``_backward``,
        ``_loss_value``, ``_penalty``) against this module's orchestration. Both ways start from the same state,
        including what a forward pass changes besides the caches (the layers' buffers, such as BatchNorm's running
        statistics, and the random generators, such as Dropout's: ``agreement.keep_side_state``), and compare the
        buffers too. Everything is put back afterwards.
        """
        net = self.net()
        if net is None:
            return True
        k = min(PROBE_ROWS, X.shape[0])
        Xp, Yp = X[:k], Y[:k]
        saved, l2 = self.flat.copy(), net.l2
        restore = agreement.keep_side_state(self.layers, net.rng)
        kept = [(layer.cache, layer.grads) for layer in self.layers]
        had_workspace = k in self.work
        net.l2 = l2 or 0.125  # always with a penalty, so its path is checked too (the value may change later)
        try:
            with np.errstate(all="ignore"):
                loss_readable = net._step(Xp, Yp, SGD(0.5))
                moved_readable = self.flat - saved
                buffers_readable = agreement.buffer_values(self.layers)
                self.flat[...] = saved
                restore()
                loss_fast = self.gradients(Xp, Yp)
                SGD(0.5).update(*self.trainable_named())
                moved_fast = self.flat - saved
                buffers_fast = agreement.buffer_values(self.layers)
        except TrainingDiverged:
            return None  # not comparable on these rows; decided on a later step
        finally:
            self.flat[...] = saved
            restore()
            net.l2 = l2
            for layer, (cache, grads) in zip(self.layers, kept):
                layer.cache, layer.grads = cache, grads
            if not had_workspace:
                self.work.pop(k, None)
        gap = max(agreement.differ(loss_fast, loss_readable, self.dtype),
                  agreement.differ(moved_fast, moved_readable, self.dtype),
                  agreement.differ(buffers_fast, buffers_readable, self.dtype))
        _step_verdicts[self.signature] = not gap
        if gap:
            agreement.warn(FastFormWarning(type(net), "_step", "fast.Plan.step", gap, self.dtype.name))
        return not gap

    # ------------------------------------------------------------------------------------ optimizer
    def update(self, optimizer: Optimizer) -> None:
        # Most steps use the previous step's optimizer, already checked since user code last ran (plan_for
        # clears optimizer_checked): no lookup and no hook check on those steps. After user code ran, a cheap
        # stamp (its class's update methods, its instance attributes, its buffers) says whether to ask again.
        last, state, stamp = self.last_optimizer
        if self.optimizer_checked and last() is optimizer:
            state.update(optimizer, synced=True)  # no user code ran since the last update: its state is still ours
            return
        now = _stamp(optimizer)
        if last() is not optimizer or now != stamp:
            state = self.optimizer_state(optimizer)
        self.last_optimizer = (weakref.ref(optimizer), state, now)
        self.optimizer_checked = True
        state.update(optimizer)

    def optimizer_state(self, optimizer: Optimizer) -> _FlatState:
        """What updates ``optimizer`` on the flat buffers: its compiled ``update_loop`` (numba installed, and agreeing
        with ``update_one``), else its ``update_into`` (if its own and agreeing), else its readable update."""
        loop = agreement.optimizer_loop(optimizer, self.dtype) if self.loops else None
        if loop is None and not agreement.optimizer_own(optimizer, self.dtype):
            return _Readable(self)
        state = self.opt_states.get(optimizer)
        if state is None or state.buffer_names != optimizer.buffers() or state.loop is not loop:
            state = _FlatState(self, optimizer, loop)
            self.opt_states[optimizer] = state
        return state


def _stamp(opt: Optimizer) -> tuple[Any, ...]:
    """What must stay the same for an optimizer's chosen update to stay right: a hook adds an instance attribute."""
    cls = type(opt)
    return (len(vars(opt)), cls.update, cls.update_one, cls.update_into, getattr(cls, "update_loop", None),
            opt.buffers())


class _FlatState:
    """An optimizer's state buffers on the plan's flat arrays, and its compiled ``update_loop`` run over them (see
    :meth:`loop_update`) or else its ``update_into`` run chunk by chunk.

    ``optimizer.state[name][buffer]`` are views into these buffers (holds no reference to the optimizer). The
    buffers hold the trainable parameters only, packed in order (the plan's ``runs`` of the flat parameters map
    onto them); a frozen parameter has no state. A step that makes a parameter NaN or inf is undone
    (``optimizers.update_or_undo``'s promise, on flat buffers): each chunk of the parameters and of the state is
    copied to ``undo`` just before its update (while it is being read anyway, so the copy is one extra write),
    checked right after (still in cache), and on failure every chunk updated so far is copied back.
    """

    def __init__(self, plan: Plan, opt: Optimizer | None = None, loop: Callable[..., bool] | None = None) -> None:
        self.plan = plan
        self.buffer_names = opt.buffers() if opt is not None else ()
        self.counts = bool(getattr(opt, "counts_steps", False))
        self.names = [plan.names[i] for i in plan.trainable]
        grads = plan.named()[1]
        self.grad_views = [grads[name] for name in self.names]  # what the clipping norm sums over
        size, dtype = sum(g.size for g in self.grad_views), plan.flat.dtype
        self.buffers = {b: np.zeros(size, dtype) for b in self.buffer_names}
        self.views = {b: self.views_of(buffer) for b, buffer in self.buffers.items()}
        self.clipped: list[Array] | None = None  # each chunk's clipped gradients (made at the first step that clips)
        self.t = 0
        # The optimizer's compiled loop form when numba is installed and it agrees with update_one (agreement.py),
        # with its arrays per run of trainable parameters: (parameters, gradients, *its loop_buffers). It checks its
        # step before writing it (loop_update), so it needs neither chunks nor undo copies.
        self.loop = loop
        self.loop_arrays: list[tuple[Array, ...]] = []
        self.parts: list[tuple[Array, Array, dict[str, Array], Array, Array]] = []
        self.undo: list[list[tuple[Array, Array]]] = []
        if opt is not None and self.loop is not None:
            empty = np.zeros(0, dtype)  # a buffer the loop form takes but this optimizer does not keep
            packed = 0
            for first, stop in plan.runs:
                state = [self.buffers[b][packed:packed + stop - first] if b in self.buffers else empty
                         for b in type(opt).loop_buffers]
                self.loop_arrays.append((plan.flat[first:stop], plan.gflat[first:stop], *state))
                packed += stop - first
            return
        slices = self.chunks()
        t1, t2 = np.empty(min(size, CHUNK), dtype), np.empty(min(size, CHUNK), dtype)
        self.parts = [(plan.flat[s], plan.gflat[s], {b: buffer[c] for b, buffer in self.buffers.items()},
                       t1[: c.stop - c.start], t2[: c.stop - c.start]) for s, c in slices]
        # What each chunk's update overwrites (its parameters, then its state buffers), paired with the copy kept
        # of it during the step; empty for _Readable, which is guarded by update_or_undo instead.
        undo = [np.empty(size, dtype) for _ in range(1 + len(self.buffers))] if opt is not None else []
        self.undo = [[(live, kept[c]) for live, kept in zip((plan.flat[s], *(b[c] for b in self.buffers.values())), undo)]
                     for s, c in slices] if undo else []

    def views_of(self, flat: Array) -> list[Array]:
        """One view per trainable parameter into a buffer of the trainable parameters (shaped like it)."""
        out, start = [], 0
        for g in self.grad_views:
            out.append(flat[start:start + g.size].reshape(g.shape))
            start += g.size
        return out

    def chunks(self) -> list[tuple[slice, slice]]:
        """``(slice of the flat parameters, slice of the state buffers)`` per chunk: each run cut into CHUNKs."""
        out, packed = [], 0
        for first, stop in self.plan.runs:
            for s in range(first, stop, CHUNK):
                e = min(s + CHUNK, stop)
                out.append((slice(s, e), slice(packed + s - first, packed + e - first)))
            packed += stop - first
        return out

    def readable_update(self, opt: Optimizer) -> None:
        update_or_undo(opt, *self.plan.trainable_named())

    def clip_coefficient(self, opt: Optimizer, max_norm: float) -> float | None:
        """``clip_grad_norm``'s rule on the trainable gradients: the factor to scale them by, or ``None`` (under
        the limit). Sets ``opt.last_grad_norm`` as the readable ``Optimizer.update`` does."""
        total, coef = clip_factor(self.grad_views, max_norm)
        opt.last_grad_norm = total
        return None if coef >= 1.0 else coef

    def synced(self, opt: Optimizer) -> bool:
        """Make the optimizer's state ours (adopting what it holds); False if it cannot be (mixed steps).

        Only the trainable parameters' entries count; an entry of a frozen parameter (kept from before it was
        frozen) is left as it is, as the readable path leaves it.
        """
        if not self.buffer_names or not self.names:
            return True
        state, names, first_buffer = opt.state, self.names, self.buffer_names[0]
        first = state.get(names[0])
        if first is not None and first.get(first_buffer) is self.views[first_buffer][0] and (
                not self.counts or first.get("t") == self.t):
            return True
        entries = [state.get(name) for name in names]
        if all(entry is None for entry in entries):
            self.t = 0
            for buffer in self.buffers.values():
                buffer[...] = 0
        elif all(isinstance(e, dict) and all(b in e for b in self.buffer_names) for e in entries) and (
                not self.counts or len({e.get("t") for e in entries if e is not None}) == 1):
            for b in self.buffer_names:
                for name, view in zip(names, self.views[b]):
                    view[...] = state[name][b]
            self.t = state[names[0]]["t"] if self.counts else 1  # a buffer exists: its first step is behind it
        else:
            return False
        for i, name in enumerate(names):
            state[name] = {b: self.views[b][i] for b in self.buffer_names}
            if self.counts:
                state[name]["t"] = self.t
        return True

    def update(self, opt: Optimizer, synced: bool = False) -> None:
        """One update over the flat buffers (the loop form's, or ``update_into`` chunk by chunk); ``synced``: the caller
        knows the state is still ours."""
        if not synced and self.buffer_names and not self.synced(opt):
            return self.readable_update(opt)
        max_norm = opt.max_grad_norm
        coef = None if max_norm is None else self.clip_coefficient(opt, max_norm)
        # The step's count t is set only where the step is made (inside the block that makes it), never before: a
        # Ctrl-C arriving earlier leaves no count without its step.
        t0, t = self.t, self.t + 1
        if self.loop is not None:
            return self.loop_update(opt, 1.0 if coef is None else coef, t)
        if coef is not None and self.clipped is None:
            self.clipped = [np.empty_like(g) for _, g, *_ in self.parts]
        update_into = opt.update_into
        done = 0
        try:
            self.count(opt, t)
            for i, ((p, g, buffers, t1, t2), undo) in enumerate(zip(self.parts, self.undo)):
                for live, kept in undo:
                    kept[...] = live
                done += 1
                if coef is not None:  # this chunk's gradients, clipped into a buffer of their own
                    g = np.multiply(g, coef, self.clipped[i])  # type: ignore[index]
                update_into(p, g, buffers, t, t1, t2)
                for live, _ in undo:  # this chunk's parameters and state, while they are in cache
                    if not all_finite_flat(live):
                        params, grads = self.plan.trainable_named()
                        raise update_overflowed(not_finite_after_update(params, opt), opt, largest_gradient(grads))
        except BaseException:  # the overflow above, Ctrl-C or a user's update_into failing half-way: undo the step
            for undo in self.undo[:done]:
                for live, kept in undo:
                    live[...] = kept
            self.count(opt, t0)
            raise

    def loop_update(self, opt: Optimizer, coef: float, t: int) -> None:
        """The compiled ``update_loop`` over every run, as step ``t``: every new value is first computed and checked
        (nothing is written), then computed again and written. So a step that would make a value NaN or inf changes
        nothing, and no copy has to be kept: the readable update then runs it, finds the same, undoes it and raises
        (its message names what overflowed). Ctrl-C is held back while the runs are checked and written and the step
        counted (``_whole``), so a step is made whole or not at all, its count ``t`` with it."""
        loop, values = self.loop, compiled.scalars(opt.loop_scalars(t, coef), self.plan.dtype)
        with _whole():
            if all([loop(*arrays, *values, False) for arrays in self.loop_arrays]):  # type: ignore[misc]
                for arrays in self.loop_arrays:
                    loop(*arrays, *values, True)  # type: ignore[misc]
                self.count(opt, t)  # still inside the block: no Ctrl-C between the writes and the count
                return
        self.readable_update(opt)
        self.plan.optimizer_checked = False  # the readable step replaced opt.state's arrays: adopt them next time

    def count(self, opt: Optimizer, t: int) -> None:
        """Set the step count to ``t``, in ``opt.state`` too (a step made, or one undone: the count before it)."""
        self.t = t
        if self.counts:
            for name in self.names:
                opt.state[name]["t"] = t


@contextlib.contextmanager
def _whole() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done: it then arrives as usual, right after the block.

    Python runs its SIGINT handler between bytecodes of the main thread (the only one that gets KeyboardInterrupt),
    so the handler is swapped for one that only notes the signal, and the noted signal is handed to the previous
    handler after the block. (Masking the signal would not do: another thread, such as BLAS's, would take it.) Only
    while Python's own handler is installed (a loop of ``net.step``), and a handler of the user's is theirs. ``fit``
    holds the first Ctrl-C until its step is done itself (``training._defer_ctrl_c``), and a second one stops it at
    once, except inside this block (``in_update``): there it is noted and raised at the block's end.
    The handler is read and swapped with ``_signal``'s functions, which ``signal.getsignal`` and ``signal.signal`` wrap:
    the wrappers turn a handler into an enum member by trying and failing (a raised and caught ValueError), 5-7 us a
    call against 0.1-0.6 us, three calls a step (3-5% of a compiled ``digits`` step). ``_signals.signal`` takes plain
    ints, not ``signal.SIG_IGN`` and its kind, which it refuses.
    """
    global in_update, ctrl_c_pending
    main = threading.current_thread() is threading.main_thread()
    if ctrl_c_held and main:  # inside fit: its handler defers a second Ctrl-C to the end of the block (in_update)
        was, in_update = in_update, True
        try:
            yield
        finally:
            in_update = was
        if ctrl_c_pending:
            ctrl_c_pending = False
            raise KeyboardInterrupt
        return
    if not main or _signals.getsignal(SIGINT) is not signal.default_int_handler:
        yield
        return
    held: list[tuple[Any, ...]] = []
    previous = _signals.signal(SIGINT, lambda *args: held.append(args))
    try:
        yield
    finally:
        _signals.signal(SIGINT, previous)
        if held and callable(previous):
            previous(*held[0])
        elif held and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


class _Readable(_FlatState):
    def update(self, opt: Optimizer, synced: bool = False) -> None:
        self.readable_update(opt)
