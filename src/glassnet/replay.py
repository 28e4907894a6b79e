"""Replaying a stretch of a training run step by step, bit for bit, watching for a health condition.

:mod:`glassnet.breaks` asks "when did it break?"; this module does the work. From a keyframe (every number that
decides what training does next: :func:`glassnet.checkpoint.capture_state`), :func:`replay` runs the very steps
``fit`` ran: the same epochs, the same shuffling drawn from the restored ``net.rng``, the same batches, the same
step function (``core/fast.py``'s, as ``fit`` uses), on a copy of the network. After every step it looks at the
health monitor's rows (``verify/health.py``'s :func:`~glassnet.verify.health.look`) and tests each condition with
the health check's own definition:

``dead_relu``, ``saturated``
    a layer's units (:func:`~glassnet.verify.health.dead_units`, :func:`~glassnet.verify.health.saturated_units`)
    reach the share the warning needs (:func:`~glassnet.verify.health.layer_condition`).
``exploding``, ``vanishing``
    the step's gradient norms (each layer's gradients together, as ``verify/inside.py`` measures them) against the
    run's first step (:func:`~glassnet.verify.health.exploding`) or the last layer's
    (:func:`~glassnet.verify.health.vanishing`): the per-step form of the checks on the recorder's medians.
``not_finite``
    a parameter holds NaN or inf after the step.
``diverged``
    the step raised :class:`~glassnet.errors.TrainingDiverged` (its update would leave the finite numbers).

Steps are counted as ``history.steps`` counts them: globally over the run, from 1.

What a replay starts from: :class:`Keyframes`, the ``fit`` callback ``glassnet/wiring.py`` adds right after the health
monitor when ``monitor=True``, keeps the state at the last look that found nothing new and, for each warning that
fires, the step it fired at and the state's fingerprint then (:func:`recording_for` gives them).

Next read: ``breaks.py`` (the question, the answer and the sentence).
"""

from __future__ import annotations

import copy
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.checkpoint import capture_state, data_fingerprint, restore_state, state_fingerprint
from glassnet.core import fast
from glassnet.core.network import Network
from glassnet.core.optimizers import OPTIMIZERS, Optimizer
from glassnet.core.training import Run, batches, take_rows
from glassnet.errors import TrainingDiverged
from glassnet.verify import health, inside
from glassnet.verify.health import HealthMonitor

Array = NDArray[Any]
UNIT_CHECKS = ("dead_relu", "saturated")
CHECKS = (*UNIT_CHECKS, "exploding", "vanishing", "not_finite", "diverged")


@dataclass
class Found:
    """The first step after which a condition held: where, and the numbers on both sides of it."""

    check: str
    step: int
    epoch: int
    batch: int
    layer: int | None
    units: list[int]
    before: dict[str, Any]           # capture_state before the step (the ledger is explained from it)
    rows: tuple[Array, Array]        # the step's batch (X, Y)
    indices: list[int]               # its row numbers in X
    numbers: dict[str, Any] = field(default_factory=dict)  # what the sentence quotes


@dataclass
class Replayed:
    """What :func:`replay` saw: the conditions found, the state it ended in, the loss on the rows after each step."""

    found: dict[str, Found]
    fingerprint: str
    steps: int
    diverged: bool
    row_loss: dict[int, float]
    net: Network  # the copy, in the state it ended in
    optimizer: Optimizer


def fresh_optimizer(config: dict[str, Any]) -> Optimizer:
    """A new optimizer of the run's settings (``optimizer.config()``); its state comes from the keyframe."""
    return OPTIMIZERS.from_config(dict(config))


def layer_grad_norms(net: Network) -> dict[int, float]:
    """Each layer's gradient norm after a step: all its gradients as one vector (``verify/inside.py``'s measure)."""
    return {i: math.hypot(*(inside.norm(np.asarray(g)) for g in layer.grads.values()))
            for i, layer in enumerate(net.layers) if layer.params and layer.grads}


class _Watch:
    """Tests the wanted conditions after each step; keeps what the first step that makes each one true shows."""

    def __init__(self, net: Network, wanted: list[str], X: Array, Y: Array, piece: int,
                 first: dict[str, Any]) -> None:
        self.net, self.wanted, self.X, self.Y, self.piece, self.first = net, list(wanted), X, Y, piece, first
        self.found: dict[str, Found] = {}
        self.row_loss: dict[int, float] = {}
        self.caches, _ = health.look(net, X, Y, piece)
        self.masks = self._masks(self.caches)

    @property
    def pending(self) -> bool:
        return any(check not in self.found for check in self.wanted)

    def _masks(self, caches: list[dict[str, Array]]) -> dict[tuple[str, int], NDArray[np.bool_]]:
        masks = {}
        for i, (layer, cache) in enumerate(zip(self.net.layers[:-1], caches[:-1])):
            activation = getattr(layer, "activation", None)
            if activation is None or "Z" not in cache:
                continue
            if activation.dies and "dead_relu" in self.wanted:
                masks[("dead_relu", i)] = health.dead_units(cache["Z"])
            if activation.saturates and "saturated" in self.wanted:
                masks[("saturated", i)] = health.saturated_units(activation, cache["Z"], cache["A"])
        return masks

    def after_step(self, at: int, epoch: int, batch: int, loss: float, before: dict[str, Any] | None,
                   Xb: Array, Yb: Array, indices: list[int]) -> None:
        caches, self.row_loss[at] = health.look(self.net, self.X, self.Y, self.piece)
        masks = self._masks(caches)
        where: dict[str, Any] = dict(step=at, epoch=epoch, batch=batch, before=before or {}, rows=(Xb.copy(), Yb.copy()),
                                     indices=indices)
        for (check, i), mask in masks.items():
            if check in self.found or not health.layer_condition(check, mask):
                continue
            newly = np.flatnonzero(mask & ~self.masks[(check, i)]).tolist() or np.flatnonzero(mask).tolist()
            Z0, Z1 = self.caches[i]["Z"], caches[i]["Z"]
            self.found[check] = Found(check, layer=i, units=newly, **where, numbers={
                "rows": len(self.X), "max_z_before": Z0.max(axis=0)[newly].tolist(),
                "max_z_after": Z1.max(axis=0)[newly].tolist(),
                "share_before": float(self.masks[(check, i)].mean()), "share_after": float(mask.mean()),
                "already": np.flatnonzero(self.masks[(check, i)]).tolist(),
                "grads": {name: np.asarray(g).copy() for name, g in self.net.layers[i].grads.items()},
                "params_after": {name: p.copy() for name, p in self.net.layers[i].params.items()},
                "loss": loss})
        params = self.net.parameters()
        if "not_finite" in self.wanted and "not_finite" not in self.found:
            bad = [key for key, p in params.items() if not np.isfinite(p).all()]
            if bad:
                self.found["not_finite"] = Found("not_finite", layer=None, units=[], **where, numbers={"params": bad})
        if "exploding" in self.wanted or "vanishing" in self.wanted:
            self._gradients(at, loss, where)
        self.caches, self.masks = caches, masks

    def _gradients(self, at: int, loss: float, where: dict[str, Any]) -> None:
        norms = layer_grad_norms(self.net)
        start = self.first.get("grad_norm", {})
        if "exploding" in self.wanted and "exploding" not in self.found and start:
            grown = [(now / start[i], i, now) for i, now in norms.items()
                     if i in start and health.exploding(start[i], now, self.first["loss"], loss)]
            if grown:
                factor, i, now = max(grown)
                self.found["exploding"] = Found("exploding", layer=i, units=[], **where, numbers={
                    "start": start[i], "now": now, "factor": factor, "loss_start": self.first["loss"], "loss": loss})
        if "vanishing" in self.wanted and "vanishing" not in self.found and len(norms) > 1:
            top = max(norms)
            faint = [(g, i) for i, g in norms.items() if i != top and health.vanishing(g, norms[top])]
            if faint:
                g, i = min(faint)
                self.found["vanishing"] = Found("vanishing", layer=i, units=[], **where, numbers={
                    "norm": g, "top": norms[top], "top_layer": top, "loss": loss})


def replay(net: Network, X: Array, Y: Array, settings: dict[str, Any], state: dict[str, Any], start: int,
           until: int, wanted: list[str], first: dict[str, Any] | None = None,
           expect_divergence: bool = False) -> Replayed:
    """Replay steps ``start + 1 .. until`` of a run from ``state`` (the state after step ``start``, at an epoch's end).

    Parameters
    ----------
    net : Network
        The trained network; it is copied, never changed.
    X : array of shape (n_samples, n_in)
    Y : array of shape (n_samples, n_out)
        The training data as ``fit`` checked it (``Network._targets``).
    settings : dict
        ``optimizer`` (its ``config()``), ``batch_size``, ``shuffle`` and ``max_rows`` (the health monitor's).
    state : dict
        A :func:`~glassnet.checkpoint.capture_state`.
    wanted : list of str
        The conditions to watch (:data:`CHECKS`); ``"diverged"`` is always noticed.
    first : dict, optional
        ``{"grad_norm": {layer: norm}, "loss": loss}`` of the run's first step (``exploding`` needs it).
    expect_divergence : bool
        The run stopped on a ``TrainingDiverged`` at step ``until + 1``: replay that step too.
    """
    n = len(X)
    size = min(int(settings["batch_size"] or n), n)
    per_epoch = -(-n // size)
    copied = copy.deepcopy(net)
    opt = fresh_optimizer(settings["optimizer"])
    restore_state(copied, opt, state)
    rows = health.sample_rows(n, int(settings.get("max_rows", 256)))
    watch = _Watch(copied, wanted, X[rows], Y[rows], health.piece_rows(copied, size), first or {})
    step_fn = fast.step_function(copied)
    at, limit, diverged = start, until + (1 if expect_divergence else 0), False
    modes = copied._modes()
    copied.train()
    epoch = start // per_epoch
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as in fit: an overflow is a TrainingDiverged
        while at < limit and not diverged:
            epoch += 1
            order = copied.rng.permutation(n) if settings["shuffle"] and size < n else None
            for batch, chosen in enumerate(batches(n, size, order), start=1):
                if at >= limit:
                    break
                Xb, Yb = take_rows(X, chosen), take_rows(Y, chosen)
                indices = np.arange(n)[chosen].tolist()
                before = capture_state(copied, opt) if watch.pending or "diverged" in wanted else None
                try:
                    loss = step_fn(Xb, Yb, opt)
                except TrainingDiverged:
                    diverged = True
                    watch.found.setdefault("diverged", Found("diverged", at + 1, epoch, batch, None, [], before or {},
                                                            (Xb.copy(), Yb.copy()), indices))
                    break
                at += 1
                watch.after_step(at, epoch, batch, loss, before, Xb, Yb, indices)
    copied._set_modes(modes)
    return Replayed(watch.found, state_fingerprint(capture_state(copied, opt, copy=False)), at, diverged,
                    watch.row_loss, copied, opt)


# ----------------------------------------------------------------- the keyframes fit keeps to replay from
_recordings: weakref.WeakKeyDictionary[Any, Recording] = weakref.WeakKeyDictionary()


@dataclass
class Keyframe:
    """The whole training state after ``steps`` steps (the end of epoch ``epoch``)."""

    epoch: int
    steps: int
    state: dict[str, Any]


@dataclass
class Fired:
    """A warning the monitor gave: the state after ``steps`` steps (fingerprinted) and the keyframe before it."""

    check: str
    keyframe: Keyframe
    epoch: int
    steps: int
    fingerprint: str
    diverged: bool  # the run stopped: step ``steps + 1`` raised TrainingDiverged


@dataclass
class Recording:
    """What :class:`Keyframes` kept of one ``fit``: its settings, the data's fingerprint, the warnings that fired."""

    settings: dict[str, Any]
    fired: list[Fired] = field(default_factory=list)
    data: str | None = None
    first: dict[str, Any] = field(default_factory=dict)


def recording_for(net: Any) -> Recording | None:
    """What :class:`Keyframes` kept of ``net``'s last ``fit`` (``None`` without ``monitor=True``)."""
    return _recordings.get(net)


class Keyframes:
    """The ``fit`` callback that keeps the state to replay from; ``glassnet/wiring.py`` adds it after the monitor.

    Parameters
    ----------
    monitor : HealthMonitor
        The run's health monitor: its looks (``next_look``) and its warnings (``warned``) are read, never changed.
    run : Run
        The ``fit`` call's settings (optimizer, batch size, shuffling, the user's callbacks).
    """

    observes_only = True  # copies the state; never hooks or replaces anything: fit keeps its fast path

    def __init__(self, monitor: HealthMonitor, run: Run) -> None:
        self.monitor = monitor
        self.settings = {"optimizer": run.optimizer.config(), "batch_size": run.batch_size, "shuffle": run.shuffle,
                         "epochs": run.epochs, "max_rows": getattr(monitor, "max_rows", 256),
                         # a callback that runs before each step may change what the steps compute (a schedule)
                         "steering": [type(cb).__name__ for cb in run.callbacks if hasattr(cb, "on_batch_begin")]}

    def on_train_begin(self, net: Network, info: dict[str, Any]) -> None:
        self.net, self.opt, self.history = net, info["optimizer"], info["history"]
        self.data: tuple[Any, Any] | None = (info["X"], info["Y"])  # only while fit runs: for the fingerprint
        self.seen = set(getattr(self.monitor, "warned", ()))
        self.looked = getattr(self.monitor, "next_look", None)
        self.recording = _recordings[net] = Recording(dict(self.settings))
        self.keyframe = Keyframe(info.get("epochs_done", 0), self.history.steps, capture_state(net, self.opt))

    def on_epoch_end(self, net: Network, epoch: int, logs: dict[str, float]) -> None:
        now = getattr(self.monitor, "next_look", None)  # (a stand-in monitor a test installs may have none)
        if now == self.looked:  # no look this epoch (almost every epoch): nothing can have fired, nothing to keep
            return
        self.looked = now
        if not self._fired(epoch, diverged=False):  # a look that found nothing new: the next keyframe
            self.keyframe = Keyframe(epoch, self.history.steps, capture_state(net, self.opt))

    def on_train_abort(self, net: Network, error: BaseException) -> None:
        if isinstance(error, TrainingDiverged):  # (after the monitor's own last look at the gradients)
            self._fired(error.epoch, diverged=bool(error.step))
        self.data = None

    def on_train_end(self, net: Network, history: Any) -> None:
        self._fired(history.epochs, diverged=False)
        self.data = None

    def _fired(self, epoch: int, diverged: bool) -> bool:
        new = sorted(check for check in getattr(self.monitor, "warned", ()) if check not in self.seen)
        new += ["diverged"] if diverged else []
        if not new:
            return False
        self.seen.update(new)
        record = self.recording
        if record.data is None and self.data is not None:  # hashed only once something fired
            record.data = data_fingerprint(*self.data)
        layers = self.history.layers
        if not record.first and layers.get("step", [None])[:1] == [1]:  # the recorder sampled the run's first step
            record.first = {"grad_norm": {int(k): v[0] for k, v in layers["grad_norm"].items() if "." not in k},
                            "loss": layers["loss"][0]}
        fingerprint = state_fingerprint(capture_state(self.net, self.opt, copy=False))
        record.fired += [Fired(check, self.keyframe, epoch, self.history.steps, fingerprint, diverged) for check in new]
        return True
