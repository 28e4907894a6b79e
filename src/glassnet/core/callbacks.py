"""Early stopping: end training when a watched number stops improving, optionally with the best weights back.

:class:`EarlyStopping` follows ``keras.callbacks.EarlyStopping`` (Keras 3) rule for rule, as a ``fit`` callback
(``core/training.py``'s module docstring lists the hooks). After each epoch, with ``current = logs[monitor]``::

    skip the epoch while epoch <= start_from_epoch
    if restore_best_weights and nothing kept yet: keep the weights now (the first epoch watched is the best so far)
    wait += 1
    improved = best is None or current - min_delta < best     (mode "min"; "max": current - min_delta > best,
                                                              with min_delta's sign flipped for "min", as Keras)
    if improved:  best, best_epoch = current, epoch; keep the weights (restore_best_weights);
                  wait = 0 unless a baseline is given and current does not beat it too
    elif wait >= patience and epoch > 1:  stop (stopped_epoch = epoch)

and when training ends (stopped early *or* run to the end, also after Ctrl-C) the kept weights are put back.
Epochs are counted from 1 here, as ``fit`` counts them (Keras counts from 0 and adds 1 in its messages), so
``stopped_epoch`` and ``best_epoch`` are the numbers of ``History``'s entries (epoch ``e`` is ``history.loss[e-1]``);
0 means "never". "Weights" are every parameter and every buffer (BatchNorm's running statistics), as Keras'
``get_weights`` holds its non-trainable weights too; the optimizer's state is not restored (neither is it in Keras).

One difference, on purpose: a ``monitor`` that is not in the logs is an error naming the keys that are there
(Keras only warns, and then never stops). ``val_loss`` needs ``validation_data``.

A resumed run (``fit(checkpoint=..., resume=True)``) replays the history it has behind it, so ``wait``, ``best`` and
``best_epoch`` are those of an uninterrupted run, and the checkpoint keeps the best weights beside the latest ones
(``checkpoint_state``), so ``restore_best_weights`` restores the same weights too. A checkpoint refuses to resume
under other settings (``config``).

Next read: ``glassnet/lr_finder.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool
from glassnet.errors import ConfigError, GlassnetTypeError

MODES = ("auto", "min", "max")


def best_is_highest(monitor: str) -> bool | None:
    """For ``mode="auto"``: True for a number to maximise (an accuracy, a score), False for a loss, None if unknown.

    Keras 3 asks the metric itself for its direction and knows ``loss``; glassnet's logs hold ``loss``,
    ``accuracy``, their ``val_`` forms and whatever a callback adds (the estimators' ``val_score``).
    """
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith(("loss", "error")):
        return False
    if name in ("accuracy", "acc", "score") or name.endswith(("accuracy", "score")):
        return True
    return None


def _weights(net: Any) -> dict[str, NDArray[Any]]:
    """Copies of every parameter and buffer of ``net`` (buffers are under ``"buffer:<key>"``)."""
    kept = {key: p.copy() for key, p in net.parameters().items()}
    buffers = getattr(net, "buffers", None)  # BatchNorm's running statistics (Network.buffers)
    if callable(buffers):
        kept.update({f"buffer:{key}": b.copy() for key, b in buffers().items()})
    return kept


def _put_back(net: Any, kept: dict[str, NDArray[Any]]) -> None:
    """Copy ``kept`` (from :func:`_weights`) into the live arrays of ``net``."""
    for key, p in net.parameters().items():
        p[...] = kept[key]
    buffers = getattr(net, "buffers", None)
    if callable(buffers):
        for key, b in buffers().items():
            if f"buffer:{key}" in kept:
                b[...] = kept[f"buffer:{key}"]


class EarlyStopping:
    """Stop ``fit`` when ``monitor`` has not improved for ``patience`` epochs (Keras' rule; module docstring).

    Parameters
    ----------
    monitor : str
        The entry of ``fit``'s logs to watch: ``"val_loss"`` (needs ``validation_data``), ``"val_accuracy"``,
        ``"loss"``, ``"accuracy"``.
    patience : int
        Epochs without improvement after which training stops (0: at the first epoch that does not improve).
    min_delta : float
        The least change that counts as an improvement (its sign is ignored, as in Keras).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` knows losses (min) and accuracies or scores (max) and asks for
        ``mode`` otherwise.
    baseline : float, optional
        A value to beat: until ``monitor`` beats it (and its best so far), ``wait`` is not reset.
    restore_best_weights : bool
        When training ends, put back the parameters and buffers of the best epoch.
    start_from_epoch : int
        Epochs at the start that are not watched (a warm-up).
    verbose : bool
        Print a line when stopping and when restoring.

    Attributes
    ----------
    wait : int
        Epochs since the last improvement (as Keras counts them).
    best : float or None
        The best value of ``monitor`` so far.
    best_epoch, stopped_epoch : int
        The epoch (from 1) of the best value and the one training stopped after; 0 for none.
    best_weights : dict of str to array, or None
        The weights kept (``restore_best_weights``), those after epoch ``weights_epoch`` (= ``best_epoch``). A
        checkpoint keeps them (``checkpoint_state``), so a resumed run restores the same weights as one never
        interrupted.
    """

    # It reads the logs and copies weights; it writes parameters only after the last step (on_train_end).
    observes_only = True

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 baseline: float | None = None, restore_best_weights: bool = False, start_from_epoch: int = 0,
                 verbose: bool = False) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise GlassnetTypeError(f"EarlyStopping: monitor must be the name of a logged number such as 'val_loss', "
                                    f"got {monitor!r}")
        for what, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"EarlyStopping: {what} must be an integer >= 0 (epochs), got {value!r}")
        for what, number in (("min_delta", min_delta), ("baseline", 0.0 if baseline is None else baseline)):
            if isinstance(number, bool) or not isinstance(number, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(number):
                raise ConfigError(f"EarlyStopping: {what} must be a finite number, got {number!r}")
        if mode not in MODES:
            raise ConfigError(f"EarlyStopping: mode must be 'auto', 'min' (lower is better) or 'max', got {mode!r}")
        highest = {"min": False, "max": True}.get(mode, best_is_highest(monitor))
        if highest is None:
            raise ConfigError(f"EarlyStopping: mode='auto' cannot tell whether {monitor!r} should go down or up; "
                              "pass mode='min' (lower is better) or mode='max'")
        self.monitor, self.mode, self.highest = monitor, mode, highest
        self.patience, self.start_from_epoch = int(patience), int(start_from_epoch)
        # Keras keeps |min_delta| and flips its sign for "min", so one comparison serves both directions.
        self.min_delta = abs(float(min_delta)) * (1.0 if highest else -1.0)
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = check_bool(restore_best_weights, "EarlyStopping: restore_best_weights")
        self.verbose = check_bool(verbose, "EarlyStopping: verbose")
        self._reset()

    def _reset(self) -> None:
        self.wait, self.stopped_epoch, self.best_epoch, self.weights_epoch = 0, 0, 0, 0
        self.best: float | None = None
        self.best_weights: dict[str, NDArray[Any]] | None = None

    def improves(self, current: float, reference: float | None) -> bool:
        """Keras' ``_is_improvement``: ``current - min_delta`` beats ``reference`` (always, when there is none)."""
        if reference is None:
            return True
        return current - self.min_delta > reference if self.highest else current - self.min_delta < reference

    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        self._reset()  # an instance may be used for several runs, as in Keras
        history = info.get("history")
        done = int(info.get("epochs_done", 0))
        if done and history is not None:  # a resumed run: the counters of the epochs behind it
            values = getattr(history, self.monitor, None)
            if isinstance(values, list) and len(values) == done:
                for epoch, value in enumerate(values, start=1):
                    self._watch(None, epoch, value)

    def on_epoch_end(self, net: Any, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            hint = " (val_loss and val_accuracy need validation_data)" if self.monitor.startswith("val_") else ""
            raise ConfigError(f"EarlyStopping watches {self.monitor!r}, which is not in the logs{hint}; the logs hold "
                              f"{', '.join(sorted(logs))}. Give EarlyStopping(monitor=...) one of those")
        return self._watch(net, epoch, float(logs[self.monitor]))

    def _watch(self, net: Any, epoch: int, current: float) -> bool:
        """One epoch's value (``net`` None while replaying a resumed run's history: no weights to keep)."""
        if epoch <= self.start_from_epoch:
            return False
        if self.restore_best_weights and self.best_weights is None and net is not None:
            # Never kept yet: the weights now are the best seen (Keras).
            self.best_weights, self.weights_epoch = _weights(net), epoch
        self.wait += 1
        if self.improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights and net is not None:
                self.best_weights, self.weights_epoch = _weights(net), epoch
            if self.baseline is None or self.improves(current, self.baseline):
                self.wait = 0  # only when it beats both its best and the baseline
            return False
        if self.wait >= self.patience and epoch > 1:  # Keras: never at its first epoch (epoch 0 there)
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, net: Any, history: Any) -> None:
        if self.stopped_epoch and self.verbose:
            print(f"epoch {self.stopped_epoch}: early stopping ({self.monitor} did not improve for {self.wait} epochs)")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"restoring the weights of epoch {self.weights_epoch} (best {self.monitor}: {self.best:.6g} at "
                      f"epoch {self.best_epoch})")
            _put_back(net, self.best_weights)

    def config(self) -> dict[str, Any]:
        """The settings (a checkpoint resumes only under the same ones)."""
        return {"name": "early_stopping", "monitor": self.monitor, "patience": self.patience,
                "min_delta": abs(self.min_delta), "mode": self.mode, "baseline": self.baseline,
                "restore_best_weights": self.restore_best_weights, "start_from_epoch": self.start_from_epoch}

    def checkpoint_state(self) -> dict[str, NDArray[Any]]:
        """The best weights kept so far and their epoch (for a checkpoint: a resumed run restores the same ones)."""
        if self.best_weights is None:
            return {}
        return {"weights_epoch": np.array([float(self.weights_epoch)]), **self.best_weights}

    def resume_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Take back :meth:`checkpoint_state` (after ``on_train_begin`` replayed the counters from the history)."""
        if arrays:
            weights = dict(arrays)
            self.weights_epoch = int(weights.pop("weights_epoch")[0])
            self.best_weights = weights

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


__all__ = ["EarlyStopping"]
