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
``diverged``
    the step raised :class:`~glassnet.errors.TrainingDiverged` (its update would leave the finite numbers).

A unit condition may come and go (a dead unit comes back when the layer below changes, or momentum keeps moving
it): the step found is the last change from false to true before the end of the replay (the look that warned),
after which the condition held at every step; the earlier episodes are kept too. (A parameter turning NaN or inf
is not a condition of its own: the step that would do it raises ``TrainingDiverged``, ``diverged``.)

Steps are counted as ``history.steps`` counts them: globally over the run, from 1.

What a replay starts from: ``keyframes.py``'s :class:`~glassnet.keyframes.Keyframes`, the ``fit`` callback
``glassnet/wiring.py`` adds right after the health monitor when ``monitor=True``, keeps the state at the last look
that found nothing new and, for each warning that fires, the step it fired at and the state's fingerprint then.

Next read: ``keyframes.py`` (what fit keeps), ``breaks.py`` (the question, the answer and the sentence).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.checkpoint import capture_state, restore_state, state_fingerprint
from glassnet.core import fast
from glassnet.core.network import Network
from glassnet.core.optimizers import OPTIMIZERS, Optimizer
from glassnet.core.training import batches, epoch_order, take_rows
from glassnet.errors import TrainingDiverged
from glassnet.verify import health, inside
from glassnet.verify.health import HealthMonitor

Array = NDArray[Any]
UNIT_CHECKS = ("dead_relu", "saturated")
GRADIENT_CHECKS = ("exploding", "vanishing")
CHECKS = (*UNIT_CHECKS, *GRADIENT_CHECKS, "diverged")


@dataclass
class Found:
    """Where a condition began: for a unit condition the step after which it held up to the end of the replay
    (the last change from false to true), for the others the first step it held; and the numbers around it."""

    check: str
    step: int
    epoch: int
    batch: int
    layer: int | None
    units: list[int]
    rows: tuple[Array, Array]        # the step's batch (X, Y)
    indices: list[int]               # its row numbers in X
    numbers: dict[str, Any] = field(default_factory=dict)  # what the sentence quotes
    before: dict[str, Any] = field(default_factory=dict)   # capture_state before the step (breaks.py fills it in)


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


def steps_per_epoch(n_rows: int, batch_size: int | None) -> int:
    """Steps ``fit`` takes per epoch: ``ceil(n_rows / batch_size)`` (``None``: one batch of all rows)."""
    size = min(int(batch_size or n_rows), n_rows)
    return -(-n_rows // size)


def thresholds(monitor: Any = None) -> dict[str, Any]:
    """The health monitor's own thresholds (an instance's or subclass's values; the defaults without one)."""
    monitor = monitor if monitor is not None else HealthMonitor
    shares = monitor.shares() if isinstance(monitor, HealthMonitor) else dict(health.SHARES)
    return {"shares": shares, "saturated": getattr(monitor, "SATURATED", HealthMonitor.SATURATED),
            "saturated_rows": getattr(monitor, "SATURATED_ROWS", HealthMonitor.SATURATED_ROWS),
            "vanishing": getattr(monitor, "VANISHING", HealthMonitor.VANISHING),
            "exploding": getattr(monitor, "EXPLODING", HealthMonitor.EXPLODING)}


def layer_grad_norms(net: Network) -> dict[int, float]:
    """Each layer's gradient norm after a step: all its gradients as one vector (``verify/inside.py``'s measure)."""
    return {i: math.hypot(*(inside.norm(np.asarray(g)) for g in layer.grads.values()))
            for i, layer in enumerate(net.layers) if layer.params and layer.grads}


class _Watch:
    """Tests the wanted conditions after each step. A unit condition (dead, saturated) may come and go (deeper
    layers change, momentum keeps moving a unit): the watch keeps its current episode (the step it began, the
    numbers of that step) and the earlier ones; a gradient condition keeps the first step it held."""

    def __init__(self, net: Network, wanted: list[str], X: Array, Y: Array, piece: int,
                 first: dict[str, Any], limits: dict[str, Any], start: int = 0) -> None:
        self.net, self.wanted, self.X, self.Y, self.piece, self.first = net, list(wanted), X, Y, piece, first
        self.limits = limits
        self.found: dict[str, Found] = {}
        self.episodes: dict[str, list[tuple[int, int]]] = {check: [] for check in UNIT_CHECKS}
        self.row_loss: dict[int, float] = {}
        self.caches, loss = health.look(net, X, Y, piece) if wanted else ([], math.nan)
        if wanted:
            self.row_loss[start] = loss  # the loss on the rows where the replay begins (a divergence may be older)
        self.masks = self._masks(self.caches)
        for check in UNIT_CHECKS:  # a condition already true at the start: it began before the replay
            if check in wanted and any(health.layer_condition(c, m, limits["shares"])
                                       for (c, _), m in self.masks.items() if c == check):
                self.episodes[check].append((0, 0))

    def _masks(self, caches: list[dict[str, Array]]) -> dict[tuple[str, int], NDArray[np.bool_]]:
        masks = {}
        for i, (layer, cache) in enumerate(zip(self.net.layers[:-1], caches[:-1])):
            activation = getattr(layer, "activation", None)
            if activation is None or "Z" not in cache:
                continue
            if activation.dies and "dead_relu" in self.wanted:
                masks[("dead_relu", i)] = health.dead_units(cache["Z"])
            if activation.saturates and "saturated" in self.wanted:
                masks[("saturated", i)] = health.saturated_units(activation, cache["Z"], cache["A"],
                                                                 self.limits["saturated"], self.limits["saturated_rows"])
        return masks

    def after_step(self, at: int, epoch: int, batch: int, loss: float, Xb: Array, Yb: Array, indices: list[int]) -> None:
        if not self.wanted:
            return
        caches, self.row_loss[at] = health.look(self.net, self.X, self.Y, self.piece)
        masks = self._masks(caches)
        where: dict[str, Any] = dict(step=at, epoch=epoch, batch=batch, rows=(Xb.copy(), Yb.copy()), indices=indices)
        for check in UNIT_CHECKS:
            if check in self.wanted:
                self._units(check, at, caches, masks, where, loss)
        if any(check in self.wanted for check in GRADIENT_CHECKS):
            self._gradients(at, loss, where)
        self.caches, self.masks = caches, masks

    def _units(self, check: str, at: int, caches: list[dict[str, Array]], masks: dict[tuple[str, int], Any],
               where: dict[str, Any], loss: float) -> None:
        held = [i for (c, i), mask in masks.items() if c == check and health.layer_condition(c, mask, self.limits["shares"])]
        current = self.found.get(check)
        was = current is not None or bool(self.episodes[check] and self.episodes[check][-1][1] == 0)
        if not held:
            if current is not None:  # it came back: an episode, not the break
                self.episodes[check].append((current.step, at))
                del self.found[check]
            elif was:  # the episode that began before the replay ended
                self.episodes[check][-1] = (0, at)
            return
        if current is not None:  # still holding: which of its units stayed so at every step
            mask = masks.get((check, current.layer if current.layer is not None else -1))
            current.numbers["stayed"] = [u for u in current.numbers["stayed"] if mask is not None and mask[u]]
            return
        if was:  # true since before the replay began, with no false step since: nothing to show here
            return
        i = held[0]
        old, mask = self.masks[(check, i)], masks[(check, i)]
        newly = np.flatnonzero(mask & ~old).tolist() or np.flatnonzero(mask).tolist()
        Z0, Z1 = self.caches[i]["Z"], caches[i]["Z"]
        # what changed below the layer: its inputs on the rows looked at (the outputs of the layer under it)
        below = next((j for j in range(i - 1, -1, -1) if self.net.layers[j].params), None)
        A0 = self.caches[i - 1].get("A") if i > 0 else None
        A1 = caches[i - 1].get("A") if i > 0 else None
        self.found[check] = Found(check, layer=i, units=newly, **where, numbers={
            "rows": len(self.X), "max_z_before": Z0.max(axis=0)[newly].tolist(),
            "max_z_after": Z1.max(axis=0)[newly].tolist(),
            "share_before": float(old.mean()), "share_after": float(mask.mean()),
            "already": np.flatnonzero(old).tolist(), "stayed": list(newly),
            "grads": {name: np.asarray(g).copy() for name, g in self.net.layers[i].grads.items()},
            "params_after": {name: p.copy() for name, p in self.net.layers[i].params.items()},
            "below": below, "below_after": ({name: p.copy() for name, p in self.net.layers[below].params.items()}
                                            if below is not None else {}),
            "input_change": float(np.max(np.abs(A1 - A0))) if A0 is not None and A1 is not None else 0.0,
            "loss": loss})

    def _gradients(self, at: int, loss: float, where: dict[str, Any]) -> None:
        norms = layer_grad_norms(self.net)
        start = self.first.get("grad_norm", {})
        if "exploding" in self.wanted and "exploding" not in self.found and start:
            grown = [(now / start[i], i, now) for i, now in norms.items()
                     if i in start and health.exploding(start[i], now, self.first["loss"], loss, self.limits["exploding"])]
            if grown:
                factor, i, now = max(grown)
                self.found["exploding"] = Found("exploding", layer=i, units=[], **where, numbers={
                    "start": start[i], "now": now, "factor": factor, "loss_start": self.first["loss"], "loss": loss})
        if "vanishing" in self.wanted and "vanishing" not in self.found and len(norms) > 1:
            top = max(norms)
            faint = [(g, i) for i, g in norms.items() if i != top and health.vanishing(g, norms[top], self.limits["vanishing"])]
            if faint:
                g, i = min(faint)
                self.found["vanishing"] = Found("vanishing", layer=i, units=[], **where, numbers={
                    "norm": g, "top": norms[top], "top_layer": top, "loss": loss})

    @property
    def settled(self) -> bool:
        """Every wanted condition found, and none of them a unit condition (those are known only at the end)."""
        return (not any(c in UNIT_CHECKS for c in self.wanted)
                and all(c in self.found for c in self.wanted if c != "diverged"))

    def finish(self) -> None:
        """At the end of the replay: each unit condition's earlier episodes go with its answer."""
        for check, found in self.found.items():
            if check in UNIT_CHECKS:
                found.numbers["episodes"] = list(self.episodes[check])
                found.numbers["held_until"] = max(self.row_loss, default=found.step)


def replay(net: Network, X: Array, Y: Array, settings: dict[str, Any], state: dict[str, Any], start: int,
           until: int, wanted: list[str], first: dict[str, Any] | None = None,
           expect_divergence: bool = False, stop_early: bool = False) -> Replayed:
    """Replay steps ``start + 1 .. until`` of a run from ``state`` (the state after step ``start``, at an epoch's end).

    Parameters
    ----------
    net : Network
        The trained network; it is copied, never changed.
    X : array of shape (n_samples, n_in)
    Y : array of shape (n_samples, n_out)
        The training data as ``fit`` checked it (``Network._targets``).
    settings : dict
        ``optimizer`` (its ``config()``), ``batch_size``, ``shuffle``, ``max_rows`` (the health monitor's) and,
        optionally, ``thresholds`` (:func:`thresholds`).
    state : dict
        A :func:`~glassnet.checkpoint.capture_state`.
    wanted : list of str
        The conditions to watch (:data:`CHECKS`); ``"diverged"`` is always noticed. With none, the replay only
        runs the steps (no look at the rows): the state before a found step is ``replay(..., until=step - 1, [])``.
    first : dict, optional
        ``{"grad_norm": {layer: norm}, "loss": loss}`` of the run's first step (``exploding`` needs it).
    expect_divergence : bool
        The run stopped on a ``TrainingDiverged`` at step ``until + 1``: replay that step too.
    stop_early : bool
        Stop once every wanted condition is found, if none of them is a unit condition (which may still end before
        ``until``); only when nothing is compared with the state at ``until`` (a checkpoint's replay).
    """
    n = len(X)
    size = min(int(settings["batch_size"] or n), n)
    per_epoch = steps_per_epoch(n, size)
    copied = copy.deepcopy(net)
    opt = fresh_optimizer(settings["optimizer"])
    restore_state(copied, opt, state)
    rows = health.sample_rows(n, int(settings.get("max_rows", 256)))
    watch = _Watch(copied, list(wanted), X[rows], Y[rows], health.piece_rows(copied, size),
                   first or {}, settings.get("thresholds") or thresholds(), start)
    step_fn = fast.step_function(copied)
    at, limit, diverged = start, until + (1 if expect_divergence else 0), False
    modes = copied._modes()
    copied.train()
    epoch = start // per_epoch
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as in fit: an overflow is a TrainingDiverged
        while at < limit and not diverged:
            epoch += 1
            order = epoch_order(copied.rng, n, size, settings["shuffle"])
            for batch, chosen in enumerate(batches(n, size, order), start=1):
                if at >= limit:
                    break
                Xb, Yb = take_rows(X, chosen), take_rows(Y, chosen)
                indices = np.arange(n)[chosen].tolist()
                try:
                    loss = step_fn(Xb, Yb, opt)
                except TrainingDiverged:
                    diverged = True
                    watch.found.setdefault("diverged", Found("diverged", at + 1, epoch, batch, None, [],
                                                            (Xb.copy(), Yb.copy()), indices))
                    break
                at += 1
                watch.after_step(at, epoch, batch, loss, Xb, Yb, indices)
                if stop_early and watch.settled:
                    limit = at  # the answer is known: no need to go on
                    break
    watch.finish()
    copied._set_modes(modes)
    return Replayed(watch.found, state_fingerprint(capture_state(copied, opt, copy=False)), at, diverged,
                    watch.row_loss, copied, opt)


def state_before(net: Network, X: Array, Y: Array, settings: dict[str, Any], state: dict[str, Any], start: int,
                 step: int) -> dict[str, Any]:
    """The whole training state just before ``step`` (a second, plain replay from ``state``: the watching replay
    copies nothing per step, so only the step it found is gone over again)."""
    seen = replay(net, X, Y, settings, state, start, step - 1, [])
    return capture_state(seen.net, seen.optimizer)
