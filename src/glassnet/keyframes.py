"""What ``fit`` keeps so that :func:`glassnet.find_break` can replay its run: the keyframes.

:class:`Keyframes` is the ``fit`` callback ``glassnet/wiring.py`` adds right after the health monitor when
``monitor=True``. At each look of the monitor that found nothing new it keeps the whole training state
(:func:`glassnet.checkpoint.capture_state`, in memory: one copy, the old one let go first); for each warning that
fires, the step it fired at and the state's fingerprint then (the replay must arrive there bit for bit); at the end
of a fit in which a warning fired, the network's fingerprint (a later ``net.step`` or fit changes it: nothing left to
replay); and the callbacks that change what the steps compute (a schedule: such a run is not replayed). No keyframe
is taken at a look on the run's last epoch (no step follows it), so a one-epoch run copies its state once.
:func:`recording_for` gives what was kept of a network's last fit; every new fit forgets the one before
(:func:`forget`).

Next read: ``replay.py`` (the replay), ``breaks.py`` (the answer).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from glassnet.checkpoint import capture_state, data_fingerprint, state_fingerprint
from glassnet.core.network import Network
from glassnet.core.schedules import Schedule
from glassnet.core.training import Run
from glassnet.errors import TrainingDiverged
from glassnet.replay import thresholds
from glassnet.verify.health import HealthMonitor

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
    """What :class:`Keyframes` kept of one ``fit``: its settings, the data's fingerprint, the warnings that fired,
    and the fingerprint of the network when the fit ended (a later step or fit changes it: nothing to replay)."""

    settings: dict[str, Any]
    fired: list[Fired] = field(default_factory=list)
    data: str | None = None
    first: dict[str, Any] = field(default_factory=dict)
    final: str | None = None  # (only when something fired: without a warning find_break has nothing to replay)


def first_step(layers: dict[str, Any]) -> dict[str, Any]:
    """``{"grad_norm": {layer: norm}, "loss": loss}`` of a run's first step from the recorder's samples
    (``history.layers``), or ``{}`` when the recorder did not sample step 1 (``exploding`` compares with it)."""
    if layers.get("step", [None])[:1] != [1]:
        return {}
    return {"grad_norm": {int(k): v[0] for k, v in layers["grad_norm"].items() if "." not in k}, "loss": layers["loss"][0]}


def net_fingerprint(net: Network) -> str:
    """SHA-256 of a network's parameters, buffers and generator: changes with any later step or fit."""
    return state_fingerprint({"params": net.parameters(), "buffers": net.buffers(), "optimizer": {},
                              "rng": net.rng.bit_generator.state})


def recording_for(net: Any) -> Recording | None:
    """What :class:`Keyframes` kept of ``net``'s last ``fit`` (``None`` without ``monitor=True``)."""
    return _recordings.get(net)


def forget(net: Any) -> None:
    """Drop what was kept of ``net``'s earlier fit (``glassnet/wiring.py`` calls this as every ``fit`` starts)."""
    _recordings.pop(net, None)


def steering(callbacks: list[Any]) -> list[str]:
    """The callbacks that change what the steps compute (a learning-rate schedule, anything run before each
    step), named; the replay runs plain steps, so a run with one cannot be replayed. Early stopping only decides
    when to stop: it is not among them."""
    return [type(cb).__name__ for cb in callbacks if isinstance(cb, Schedule) or hasattr(cb, "on_batch_begin")]


class Keyframes:
    """The ``fit`` callback that keeps the state to replay from; ``glassnet/wiring.py`` adds it after the monitor.

    Parameters
    ----------
    monitor : HealthMonitor
        The run's health monitor: its looks (``next_look``), its warnings (``warned``) and its thresholds are read,
        never changed.
    run : Run
        The ``fit`` call's settings (optimizer, batch size, shuffling, the user's callbacks).
    """

    observes_only = True  # copies the state; never hooks or replaces anything: fit keeps its fast path

    def __init__(self, monitor: HealthMonitor, run: Run) -> None:
        self.monitor = monitor
        self.settings: dict[str, Any] = {
            "optimizer": run.optimizer.config(), "batch_size": run.batch_size, "shuffle": run.shuffle,
            "epochs": run.epochs, "max_rows": getattr(monitor, "max_rows", 256),
            "thresholds": thresholds(monitor), "steering": steering(list(run.callbacks))}

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
        # A look that found nothing new: the next keyframe, unless no step follows (the run's last epoch; a 1-epoch
        # run's only look): nothing can fire later that a replay from it would reach sooner.
        if not self._fired(epoch, diverged=False) and epoch < self.settings["epochs"]:
            # let go of the old state before copying the new one (a warning that fired still holds its own): the
            # peak is one copy of the state, not two
            self.keyframe = Keyframe(0, 0, {})
            self.keyframe = Keyframe(epoch, self.history.steps, capture_state(net, self.opt))

    def on_train_abort(self, net: Network, error: BaseException) -> None:
        # (after the monitor's own last look at the gradients; nothing to do if fit stopped before this began)
        if isinstance(error, TrainingDiverged) and getattr(self, "recording", None) is not None:
            self._fired(error.epoch, diverged=bool(error.step))
        self._end(net)

    def on_train_end(self, net: Network, history: Any) -> None:
        self._fired(history.epochs, diverged=False)
        self._end(net)

    def _end(self, net: Network) -> None:
        self.data = None
        if getattr(self, "recording", None) is None:  # fit stopped before this callback began (another refused)
            return
        if self.recording.fired:  # without a warning there is nothing to replay: no need to hash every parameter
            self.recording.final = net_fingerprint(net)
        if self.opt.config() != self.settings["optimizer"]:  # something changed the learning rate (or more) mid-run
            change = _changed(self.settings["optimizer"], self.opt.config())
            self.recording.settings["steering"] = [*self.recording.settings["steering"],
                                                   f"a change of the optimizer's settings during fit ({change})"]

    def _fired(self, epoch: int, diverged: bool) -> bool:
        new = sorted(check for check in getattr(self.monitor, "warned", ()) if check not in self.seen)
        new += ["diverged"] if diverged else []
        if not new:
            return False
        self.seen.update(new)
        record = self.recording
        if record.data is None and self.data is not None:  # hashed only once something fired
            record.data = data_fingerprint(*self.data)
        if not record.first:  # the recorder sampled the run's first step
            record.first = first_step(self.history.layers)
        fingerprint = state_fingerprint(capture_state(self.net, self.opt, copy=False))
        record.fired += [Fired(check, self.keyframe, epoch, self.history.steps, fingerprint, diverged) for check in new]
        return True


def _changed(before: dict[str, Any], after: dict[str, Any]) -> str:
    return ", ".join(f"{key} {before.get(key)!r} -> {after.get(key)!r}" for key in sorted(set(before) | set(after))
                     if before.get(key) != after.get(key))
