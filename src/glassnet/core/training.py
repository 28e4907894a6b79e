"""The training loop behind ``Network.fit``: epochs, shuffled mini-batches, validation, history.

Everything that happens once per step is in ``Network._step`` (``core/fast.py`` runs the very same
arithmetic on preallocated buffers when the network is plain); this file only decides which rows go
into each step, records the results, and stops cleanly (on divergence or Ctrl-C).

Callbacks
---------
Observers and schedules (progress bars, health checks, checkpoints, the scikit-learn estimators'
stopping rules) are callbacks: objects with any of these methods, called in the order of the list:

``on_train_check(net)``
    first of all, before ``fit`` changes anything (before a resumed run's checkpoint is put into ``net``): raise to
    refuse the fit, which then touches nothing and calls no other method (the playground refuses a fit while its own
    run trains the network in the background).
``on_train_begin(net, info)``
    once, before the first step; ``info`` holds ``epochs``, ``n_samples``, ``batch_size``,
    ``optimizer``, the checked arrays ``X`` and ``Y``, ``epochs_done`` (0, or the epochs a resumed run
    has behind it: training continues with the next one) and ``history`` (the :class:`History` being
    filled; a resumed run's holds the epochs behind it).
``on_batch_begin(net, epoch, step, X, Y)``
    before each step, with the rows it is about to train on (read them, do not change them). The one
    place to change a setting for a single step: the estimators set ``net.l2`` from the batch's size here.
``on_batch_end(net, epoch, step, loss)``
    after each step, with the batch loss the step computed (before its update).
``on_epoch_end(net, epoch, logs) -> bool | None``
    after each epoch, with ``logs`` holding ``loss`` (and ``accuracy``, ``val_loss``, ``val_accuracy``
    when known); ``True`` stops training (``history.stopped == "callback"``).
``on_train_end(net, history)``
    once, also after Ctrl-C.
``on_train_abort(net, error)``
    instead, when training stops on an exception (a divergence, an error in a callback): to let go of what the
    callback took (the checkpointer's lock); the exception is raised again after.

A callback whose settings change what training computes (a schedule, early stopping) may say so with
``config() -> dict``: a checkpoint keeps those and refuses to resume under others. One that keeps state a resumed
run needs (early stopping's best weights) may give it as ``checkpoint_state() -> dict of arrays`` and take it back
in ``resume_state(arrays)``, which the checkpointer calls after every ``on_train_begin``.

A method that is absent costs nothing: with no callbacks the loop runs no Python code for them. A
callback that only reads (never replaces a part of the network or the optimizer's state) may say so
with ``observes_only = True``; for the others, ``fit`` asks ``core/fast.py`` again before the next step
whether the fast path still applies.

Default callbacks: the layers above the core
--------------------------------------------
The core imports nothing outside itself and ``glassnet.errors``, yet ``fit(monitor=True)`` watches the
training's health and ``fit(checkpoint=...)`` saves and resumes it. Those arguments are handed to one
function installed from outside, :func:`install_default_callbacks`: it gets the :class:`Run` (the checked
inputs and settings) and returns the callbacks to add after the user's; it may also restore a run
(``Run.epochs_done``). ``glassnet/wiring.py`` installs it (``glassnet/__init__.py`` calls its ``install()``):
that file is the one place where ``monitor=`` becomes a ``HealthMonitor`` and ``checkpoint=`` a ``Checkpointer``.

Next read: ``optimizers.py`` (if not yet), ``schedules.py`` and ``callbacks.py`` (callbacks glassnet ships: learning-rate
schedules, early stopping), then ``glassnet/wiring.py`` and ``glassnet/checkpoint.py``.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from glassnet.core import fast
from glassnet.core.checks import all_finite, check_bool, check_callbacks, check_inputs, positive_int
from glassnet.core.optimizers import Optimizer, get_optimizer
from glassnet.errors import ConfigError, DataError, GlassnetTypeError, TrainingDiverged

if TYPE_CHECKING:
    from glassnet.core.network import Network


@dataclass
class History:
    """What happened during :func:`fit`, one entry per completed epoch.

    ``accuracy`` / ``val_accuracy`` are filled when the targets are class labels (0/1 or one-hot);
    ``val_*`` when ``validation_data`` was given. ``stopped`` is ``"completed"``, ``"interrupted"``
    (Ctrl-C) or ``"callback"``. ``lr`` is the optimizer's learning rate in each epoch (at its first step, after
    any ``on_batch_begin``: a schedule's rate, see ``core/schedules.py``). ``layers`` holds each layer's
    gradient norm and update-to-weight ratio at a sample of the steps (``glassnet/verify/inside.py``; empty
    when nothing recorded them, e.g. ``monitor=False``).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epochs: int = 0
    steps: int = 0
    seconds: float = 0.0
    stopped: str = "completed"
    layers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": list(self.loss), "accuracy": list(self.accuracy), "val_loss": list(self.val_loss),
            "val_accuracy": list(self.val_accuracy), "lr": list(self.lr), "epochs": self.epochs, "steps": self.steps,
            "seconds": self.seconds, "stopped": self.stopped,
            "layers": deepcopy(self.layers),  # lists and dicts of lists: a copy the caller may change
        }

    def __repr__(self) -> str:
        if not self.loss:
            return "History(no epochs)"
        parts = [f"{self.epochs} epochs", f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}"]
        if self.accuracy:
            parts.append(f"accuracy {self.accuracy[-1]:.3f}")
        if self.val_loss:
            parts.append(f"val_loss {self.val_loss[-1]:.4g}")
        if self.val_accuracy:
            parts.append(f"val_accuracy {self.val_accuracy[-1]:.3f}")
        if self.stopped != "completed":
            parts.append(f"stopped: {self.stopped}")
        return f"History({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """For Jupyter: the summary line and a small inline SVG of the loss per epoch (no plotting library)."""
        import html

        text = f"<code>{html.escape(repr(self))}</code>"
        values = [v for v in self.loss if np.isfinite(v)]
        if len(values) < 2:
            return text
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        points = " ".join(f"{200 * i / (len(values) - 1):.1f},{4 + 52 * (high - v) / span:.1f}" for i, v in enumerate(values))
        return (f"{text}<br><svg width='200' height='60' role='img' aria-label='training loss per epoch'>"
                f"<polyline fill='none' stroke='steelblue' stroke-width='1.5' points='{points}'/></svg>")


@dataclass
class Run:
    """One call of :func:`fit` as the default-callbacks function sees it: the checked inputs and settings.

    ``X_val`` and ``Y_val`` are ``None`` without validation data; ``history`` is the :class:`History` that
    ``fit`` will return. A function that restores a run (the ``Checkpointer``) fills ``history``, the
    network and the optimizer state, and sets ``epochs_done``: training continues with the epoch after it.
    """

    net: Network
    X: NDArray[Any]
    Y: NDArray[Any]
    X_val: NDArray[Any] | None
    Y_val: NDArray[Any] | None
    epochs: int
    batch_size: int
    shuffle: bool
    optimizer: Optimizer
    history: History
    epochs_done: int = 0
    callbacks: list[Any] = field(default_factory=list)  # the user's, in order (the checkpointer keeps their state)


class DefaultCallbacks(Protocol):
    """What turns ``fit``'s ``monitor``, ``checkpoint``, ``checkpoint_every`` and ``resume`` into callbacks."""

    def __call__(self, run: Run, *, monitor: bool, checkpoint: Any, checkpoint_every: int | None,
                 resume: bool) -> list[Any]: ...


def no_default_callbacks(run: Run, *, monitor: bool, checkpoint: Any, checkpoint_every: int | None,
                         resume: bool) -> list[Any]:
    """The core's own answer, before anything above it is installed: nothing to add, and no way to checkpoint.

    Never reached through ``import glassnet`` (``glassnet/wiring.py`` installs the real one); the health monitor
    only observes, so without it training computes exactly the same numbers.
    """
    if checkpoint is not None:
        raise ConfigError("checkpoint=... needs glassnet.checkpoint, which is plugged into fit by glassnet/wiring.py "
                          "when glassnet is imported; nothing installed it (see core.training.install_default_callbacks)")
    return []


_default_callbacks: DefaultCallbacks = no_default_callbacks


def install_default_callbacks(function: DefaultCallbacks) -> DefaultCallbacks:
    """Make ``function`` the one :func:`fit` asks for its default callbacks; returns the one it replaces.

    Called once, by ``glassnet/wiring.py`` (see the module docstring); a test may install its own and put
    the returned one back.
    """
    global _default_callbacks
    previous, _default_callbacks = _default_callbacks, function
    return previous


def labels_kind(Y: NDArray[Any]) -> str | None:
    """``"binary"`` for 0/1 targets in one column, ``"onehot"`` for one-hot rows, else ``None`` (no accuracy)."""
    if not np.isin(Y, (0.0, 1.0)).all():
        return None
    if Y.shape[1] == 1:
        return "binary"
    return "onehot" if np.all(Y.sum(axis=1) == 1) else None


def target_labels(Y: NDArray[Any], kind: str) -> NDArray[Any]:
    """The class of each row of targets ``Y``: ``y > 0.5`` (binary, one column) or the one-hot column (``argmax``)."""
    return Y > 0.5 if kind == "binary" else Y.argmax(axis=1)


def count_correct(A: NDArray[Any], labels: NDArray[Any], kind: str) -> int:
    """Number of rows whose prediction from outputs ``A`` matches ``labels`` (from :func:`target_labels`)."""
    predicted = A > 0.5 if kind == "binary" else A.argmax(axis=1)
    return int(np.add.reduce(predicted == labels, None))  # the count of True (np.count_nonzero, minus its wrapper)


@contextmanager
def _defer_ctrl_c() -> Iterator[list[bool]]:
    """Turn the first Ctrl-C into a flag, so the current step finishes before training stops.

    A second Ctrl-C interrupts at once (inside a compiled update's passes: right after them, ``fast._whole``). Only
    possible in the main thread; elsewhere nothing changes.
    """
    pressed = [False]
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if pressed[0]:
            if fast.in_update:  # between an update's check and its writes: raised once the step is whole
                fast.ctrl_c_pending = True
                return
            raise KeyboardInterrupt
        pressed[0] = True

    signal.signal(signal.SIGINT, handler)
    held, fast.ctrl_c_held = fast.ctrl_c_held, True  # the fast path need not hold Ctrl-C back around its updates
    try:
        yield pressed
    finally:
        fast.ctrl_c_held, fast.ctrl_c_pending = held, False
        signal.signal(signal.SIGINT, previous)


def take_rows(A: NDArray[Any], rows: Any) -> NDArray[Any]:
    """``A[rows]`` for a slice or an index array from :func:`batches`; ``take`` gathers rows about 3x faster
    than fancy indexing for a small batch (same values, a new C-ordered array)."""
    return A[rows] if isinstance(rows, slice) else A.take(rows, axis=0)


def epoch_order(rng: np.random.Generator, n_rows: int, batch_size: int, shuffle: bool) -> NDArray[Any] | None:
    """The rows' order for one epoch: a fresh permutation drawn from ``rng`` when shuffling changes anything
    (``shuffle`` and more than one batch), else None (in order, and no draw). ``fit`` and its replay
    (``glassnet/replay.py``) both ask it, so the replay draws exactly what ``fit`` drew."""
    return rng.permutation(n_rows) if shuffle and batch_size < n_rows else None


def batches(n_rows: int, batch_size: int, order: NDArray[Any] | None) -> Iterator[Any]:
    """Row selections for one epoch: slices in order, or index arrays following ``order``."""
    for start in range(0, n_rows, batch_size):
        if order is None:
            yield slice(start, start + batch_size)
        else:
            yield order[start:start + batch_size]


def _epoch_ended(on_epoch: list[Any], net: Network, epoch: int, logs: dict[str, float]) -> bool:
    """Call every ``on_epoch_end``; True when any of them asks to stop."""
    stop = False
    for on_epoch_end in on_epoch:
        if on_epoch_end(net, epoch, logs):
            stop = True
    return stop


def _aborted(callbacks: list[Any], net: Network, error: BaseException) -> None:
    """Call every ``on_train_abort``: training stops on ``error``, which the caller raises again."""
    for cb in callbacks:
        if hasattr(cb, "on_train_abort"):
            cb.on_train_abort(net, error)


def _print_every(verbose: Any, epochs: int) -> int:
    """Epochs between progress lines for ``fit``'s ``verbose``: ``True`` about ten lines, ``False`` or 0 none, an
    integer ``k`` every ``k`` epochs; anything else (a string such as ``"no"`` is truthy) is refused."""
    if isinstance(verbose, (bool, np.bool_)):
        return max(1, epochs // 10) if verbose else 0
    if not isinstance(verbose, (int, np.integer)):
        raise GlassnetTypeError(f"fit: verbose must be True, False or a number of epochs k >= 1 (print every k "
                                f"epochs), got {verbose!r} ({type(verbose).__name__})")
    return 0 if verbose == 0 else positive_int(verbose, "verbose")


def _validation_diverged(val_loss: float, loss: float, epoch: int) -> TrainingDiverged:
    """The error ``fit`` raises when the loss on ``validation_data`` is NaN or inf while training's was finite."""
    return TrainingDiverged(
        f"training diverged at epoch {epoch}: the loss on validation_data became {val_loss} while the training loss "
        f"was {loss:.6g}: the network's outputs on X_val overflowed (X_val on a much larger scale than X?) or it gives "
        f"a validation target a probability of 0. The parameters are those after epoch {epoch}. Scale X_val exactly as "
        "X (the same standardiser), or use a smaller learning rate", epoch=epoch, step=0)


_FITS_OWN = nullcontext()  # glassnet's own callbacks keep fit's NumPy error settings (see fit's loop)

# The networks this process has trained (``fit`` or ``Network.step``), weakly held: the health monitor's checks
# of an untrained network (a loss far below chance before training) do not apply to them.
TRAINED: weakref.WeakSet[Any] = weakref.WeakSet()

# The defaults of ``fit`` and of ``glassnet train`` (one place, so a run and its checkpoint mean the same in both).
DEFAULT_EPOCHS = 100
DEFAULT_LR = 0.1


def fit(net: Network, X: Any, y: Any, epochs: int = DEFAULT_EPOCHS, optimizer: Optimizer | str = "sgd",
        lr: float = DEFAULT_LR,
        batch_size: int | None = None, shuffle: bool = True, validation_data: tuple[Any, Any] | None = None,
        verbose: bool | int = False, callbacks: Sequence[Any] = (), monitor: bool = True, checkpoint: Any = None,
        checkpoint_every: int | None = None, resume: bool = False) -> History:
    """Train ``net`` on ``(X, y)``.

    The steps run in training mode (Dropout drops, BatchNorm1d normalises by the batch) and ``validation_data`` is
    evaluated in evaluation mode; the network is left in the modes it had (``Network.train`` / ``Network.eval``).

    Parameters
    ----------
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
        Targets; integer class labels for ``cross_entropy``.
    epochs : int
        Passes over the data.
    optimizer : str or Optimizer
        ``"sgd"``, ``"adam"`` or an optimizer object (which keeps its own ``lr``).
    lr : float
        Learning rate for an optimizer given by name.
    batch_size : int, optional
        Rows per step; ``None`` (default) uses all rows in one step (full batch).
    shuffle : bool
        Shuffle the rows each epoch with the network's seeded generator.
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch.
    verbose : bool or int
        ``True`` prints about ten progress lines; an integer ``k`` prints every ``k`` epochs.
    callbacks : sequence
        Observers and schedules; see the module docstring.
    monitor : bool
        Watch the training's health (``glassnet.verify.health``) and warn, once per problem, about collapsed
        outputs, saturated or dead units, badly sized updates, a bad initial loss or a loss that does not move.
        This and the three checkpoint arguments below go to the default-callbacks function that
        ``glassnet/wiring.py`` installs (module docstring); its callbacks run after those in ``callbacks``.
    checkpoint : str or path, optional
        Save the training state to this file every ``checkpoint_every`` epochs and when training ends
        (also on Ctrl-C); see :mod:`glassnet.checkpoint`. An existing file is never overwritten unless resuming.
    checkpoint_every : int, optional
        Epochs between checkpoints; default about 100 checkpoints per run.
    resume : bool
        Continue from ``checkpoint`` if the file exists (start fresh if not); the result is bit-identical
        to an uninterrupted run. The settings must be those of the checkpointed run; ``epochs`` may grow.

    Returns
    -------
    History
        Also when stopped by Ctrl-C (``history.stopped == "interrupted"``); the parameters are those
        after the last whole step.

    Raises
    ------
    TrainingDiverged
        When the loss or a gradient becomes NaN or inf, when an update would make a parameter (or the optimizer's
        state) NaN or inf (that step is undone), or when the loss on ``validation_data`` is NaN or inf; the
        parameters are those of the last finite step.
    GlassnetTypeError
        For a flag (``shuffle``, ``monitor``, ``resume``) that is not ``True`` or ``False``, or a ``verbose``
        that is neither a bool nor an integer.
    """
    epochs = positive_int(epochs, "epochs")
    shuffle, monitor, resume = (check_bool(shuffle, "fit: shuffle"), check_bool(monitor, "fit: monitor"),
                                check_bool(resume, "fit: resume"))
    callbacks = check_callbacks(callbacks)
    opt = get_optimizer(optimizer, lr)
    X = check_inputs(X, net.n_in, net.dtype)
    Y = net._targets(y, X.shape[0])
    n_rows = X.shape[0]
    size = n_rows if batch_size is None else min(positive_int(batch_size, "batch_size"), n_rows)
    net._check_batch_rows(n_rows, size)  # a BatchNorm1d refuses a batch of one row: say so now, not mid-run
    kind = labels_kind(Y)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise GlassnetTypeError("validation_data must be a pair (X_val, y_val)")
        X_val = check_inputs(validation_data[0], net.n_in, net.dtype)
        Y_val = net._targets(validation_data[1], X_val.shape[0])
        val_kind = labels_kind(Y_val)
        val_labels: Any = target_labels(Y_val, val_kind) if val_kind else None
    print_every = _print_every(verbose, epochs)

    not_finite = [key for key, p in net.parameters().items() if not all_finite(p)]
    if not_finite:  # else the first step would report a NaN loss and blame the learning rate
        raise DataError(f"the network's parameter(s) {', '.join(not_finite[:5])} hold NaN or inf before training starts, "
                        "so every output, loss and gradient would too; give it finite parameters (set_parameters "
                        "checks them) or build it again")
    for cb in callbacks:  # a refusal before anything is changed (see the module docstring)
        if hasattr(cb, "on_train_check"):
            cb.on_train_check(net)
    history = History()
    run = Run(net, X, Y, X_val if validation_data is not None else None, Y_val if validation_data is not None else None,
              epochs, size, shuffle, opt, history, callbacks=list(callbacks))
    # The health monitor and the checkpointer, from outside the core (module docstring); a resumed run is restored
    # here, before any callback sees the network.
    users = callbacks
    callbacks = [*users, *_default_callbacks(run, monitor=monitor, checkpoint=checkpoint,
                                             checkpoint_every=checkpoint_every, resume=resume)]
    done = run.epochs_done
    try:
        for cb in callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(net, {"epochs": epochs, "n_samples": n_rows, "batch_size": size, "optimizer": opt,
                                        "X": X, "Y": Y, "epochs_done": done, "history": history})
    except BaseException as error:  # a callback refused to begin: the others let go of what they took (a lock, a rate)
        _aborted(callbacks, net, error)
        raise
    on_begin = [cb.on_batch_begin for cb in callbacks if hasattr(cb, "on_batch_begin")]
    on_batch = [cb.on_batch_end for cb in callbacks if hasattr(cb, "on_batch_end")]
    on_epoch = [cb.on_epoch_end for cb in callbacks if hasattr(cb, "on_epoch_end")]
    users_on_epoch = any(hasattr(cb, "on_epoch_end") for cb in users)  # glassnet's own say in words what overflowed
    # Likewise per step: glassnet's own batch callbacks (fit(monitor=True)'s layer-stats recorder) run under fit's
    # settings, not in two np.errstate blocks a step (a few microseconds each: a tenth of a tiny network's step).
    users_on_batch = any(hasattr(cb, "on_batch_begin") or hasattr(cb, "on_batch_end") for cb in users)
    # net._step, or the same arithmetic on preallocated buffers (core/fast.py); asked again before the next step
    # whenever user code ran (``stale``), unless every callback declares that it only looks (``observes_only = True``,
    # as the health monitor does: such a callback must not hook or replace any part of the network or the optimizer).
    run_step = fast.step_function(net)
    recheck = not all(getattr(cb, "observes_only", False) for cb in callbacks)
    stale = False
    labels: Any = target_labels(Y, kind) if kind else None  # once, not per step
    started = time.perf_counter()
    # NumPy's overflow warnings are silenced while glassnet computes: every step checks its loss, gradients and new
    # parameters, and an overflow becomes one TrainingDiverged, not a RuntimeWarning before it. The user's callbacks
    # run under the user's own settings (``user``), so their own arithmetic still warns as they expect.
    user = np.geterr()
    # The steps run in training mode, validation in evaluation mode; the modes found here are restored at the end.
    modes = net._modes()
    net.train()
    try:
        with _defer_ctrl_c() as ctrl_c, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(done + 1, epochs + 1):
                order = epoch_order(net.rng, n_rows, size, shuffle)
                total, correct = 0.0, 0
                epoch_lr = opt.lr  # the rate of the epoch's first step (History.lr), unless on_batch_begin changes it
                for step, rows in enumerate(batches(n_rows, size, order), start=1):
                    if ctrl_c[0]:
                        break
                    Xb, Yb = take_rows(X, rows), take_rows(Y, rows)
                    if on_begin:
                        with np.errstate(**user) if users_on_batch else _FITS_OWN:
                            for on_batch_begin in on_begin:
                                on_batch_begin(net, epoch, step, Xb, Yb)
                        stale = stale or recheck
                        if step == 1:
                            epoch_lr = opt.lr
                    if stale:
                        run_step, stale = fast.step_function(net), False
                    try:
                        loss = run_step(Xb, Yb, opt)
                    except TrainingDiverged as exc:  # its message says what to try (checks.diverged, update_overflowed)
                        history.seconds = time.perf_counter() - started
                        raise TrainingDiverged(f"training diverged at epoch {epoch}, step {step}: {exc}",
                                               epoch=epoch, step=step) from None
                    history.steps += 1
                    total += loss * Xb.shape[0]
                    if kind:
                        correct += count_correct(net.layers[-1].cache["A"], take_rows(labels, rows), kind)
                    if on_batch:
                        with np.errstate(**user) if users_on_batch else _FITS_OWN:
                            for on_batch_end in on_batch:
                                on_batch_end(net, epoch, step, loss)
                        stale = stale or recheck
                if ctrl_c[0]:
                    history.stopped = "interrupted"
                    break
                history.epochs = epoch
                history.loss.append(total / n_rows)
                history.lr.append(float(epoch_lr))
                logs: dict[str, float] = {"loss": history.loss[-1]}
                if kind:
                    history.accuracy.append(correct / n_rows)
                    logs["accuracy"] = history.accuracy[-1]
                if validation_data is not None:
                    with net.evaluating():  # no mask drawn, no running statistic changed
                        net._forward(X_val)
                    val_loss = net._loss_value(Y_val)
                    if not math.isfinite(val_loss):
                        history.seconds = time.perf_counter() - started
                        raise _validation_diverged(val_loss, history.loss[-1], epoch)
                    history.val_loss.append(val_loss)
                    logs["val_loss"] = val_loss
                    if val_kind:
                        history.val_accuracy.append(count_correct(net.layers[-1].cache["A"], val_labels, val_kind) / len(Y_val))
                        logs["val_accuracy"] = history.val_accuracy[-1]
                if print_every and (epoch % print_every == 0 or epoch == 1 or epoch == epochs):
                    print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  " + "  ".join(f"{k} {v:.6f}" for k, v in logs.items()),
                          flush=True)
                if users_on_epoch:
                    with np.errstate(**user):
                        stop = _epoch_ended(on_epoch, net, epoch, logs)
                else:
                    stop = _epoch_ended(on_epoch, net, epoch, logs)
                if stop:
                    history.stopped = "callback"
                    break
                if on_epoch:
                    stale = stale or recheck
    except BaseException as error:  # glassnet's or the user's: let every callback let go of what it took
        net._set_modes(modes)
        if history.steps:
            TRAINED.add(net)
        _aborted(callbacks, net, error)
        raise
    history.seconds = time.perf_counter() - started
    net._set_modes(modes)
    if history.steps:
        TRAINED.add(net)
    for cb in callbacks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(net, history)
    return history
