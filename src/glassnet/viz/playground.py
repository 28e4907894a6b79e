"""A live notebook view of training: ``gn.Playground(net, X, y)``, a widget that trains while you watch.

In Jupyter, leave a :class:`Playground` as a cell's value. It shows play, pause and "step one batch"; a
learning-rate slider (log scale) and a box to type a rate; the loss per epoch; for two inputs, the decision
boundary (the network's outputs on a ``grid`` x ``grid`` lattice over the data, sent as numbers and drawn
on a canvas); and the network as neurons and weights. Click a weight or a neuron to see its value, the
gradient of the last step and that step's update; type a value to change it, and the loss and the boundary
are recomputed at once. Values the network cannot take (NaN, inf, a rate <= 0) are refused with a message
in the widget, never a traceback in the notebook; a run that diverges stops with the weights of its last
finite step (``fit``'s promise) and says so.

How it trains
-------------
Play runs ``net.fit`` itself (the same loop and numbers as a ``fit`` in a cell) in a background thread, with
one callback, :class:`LiveCallback`. A thread, rather than a task on the kernel's event loop, because a step
is plain NumPy that never awaits: on the event loop, the kernel would handle no message (pause, the slider, a
click) until training gave control back, and training would have to be cut into chunks by hand. In the thread,
the kernel stays free to handle the widget's messages and to run other cells, and ipywidgets sends state from
any thread. Thread and kernel share the network through one lock (``Playground._cond``): the trainer holds it
except between two steps, where it lets the kernel in when the kernel asks (an edit, the rate, a click, pause),
so a step never sees half an edit. The same callback also watches a ``fit`` you run yourself:
``net.fit(X, y, callbacks=[playground.callback()])`` redraws live, but while that cell runs the kernel
handles no widget message, so the buttons wait until it ends.

Throttling: per step, the callback is one call and two integer comparisons (full batches: its ``on_epoch_end``
alone; several batches an epoch: :class:`MiniBatchCallback` adds ``on_batch_end``); the view is redrawn at most ``fps`` times a
second, and less often when a redraw is slow (redraws take at most ``SYNC_SHARE`` of the time): every ``k``
steps, with ``k`` measured from the steps per second so far. Only the step before a redraw keeps a copy of the
parameters (for "last update"). ``bench/live_view.py`` measures what all that costs.

``fit`` runs with ``monitor=False`` here: the health monitor's warnings would print from the thread into
whichever cell ran last. The redraws evaluate (``net.evaluating()``: Dropout off, BatchNorm's running
statistics) and leave the mode as it was, so a playground trains exactly as ``fit`` does (the tests compare
bit for bit). One network, one live playground: making a new one of the same network ends the old one's run.

Next read: ``playground.js`` beside this file (the drawing; every number it shows comes from here).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool, check_inputs, positive_int
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer, get_optimizer
from glassnet.core.training import History
from glassnet.errors import ConfigError, GlassnetError, GlassnetTypeError, ShapeError, TrainingDiverged, require

Array = NDArray[np.floating]
ASSETS = Path(__file__).resolve().parent
MAX_UNITS = 10  # neurons drawn per layer; a wider layer shows its first ones and says how many more it has
CURVE_POINTS = 400  # the loss curve is sent thinned to about this many epochs (the last one always)
SYNC_SHARE = 0.2  # redraws (outputs on the grid, the loss on all the data, the messages) take at most this share
WAIT_SECONDS = 30.0  # how long the kernel waits for the trainer to reach the next step (a step is far shorter)


class _Stopped(Exception):
    """Raised from the callback to end the playground's ``fit`` (``close()``)."""


def _number(value: Any, what: str) -> float:
    """``value`` (a number, or text typed in the widget) as a finite float, or a ConfigError saying what was given."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {value!r}; the network cannot take NaN or inf")
    return number


_widget_class: Any = None
# The newest playground of each network: a new one ends the run of the one before (two would train one network).
_newest: weakref.WeakKeyDictionary[Network, Playground] = weakref.WeakKeyDictionary()


def widget_class() -> Any:
    """The anywidget class behind :class:`Playground` (imported on first use: glassnet imports without it)."""
    global _widget_class
    if _widget_class is None:
        base: Any = require("anywidget", "notebook", "glassnet.Playground").AnyWidget
        T = require("traitlets", "notebook", "glassnet.Playground")

        class PlaygroundWidget(base):  # type: ignore[misc, valid-type]
            _esm = (ASSETS / "playground.js").read_text(encoding="utf-8")
            _css = (ASSETS / "playground.css").read_text(encoding="utf-8")
            status = T.Unicode("ready").tag(sync=True)  # ready playing paused finished diverged stopped error watching
            message = T.Unicode("").tag(sync=True)
            message_kind = T.Unicode("info").tag(sync=True)  # info or error
            epoch = T.Int(0).tag(sync=True)
            epochs = T.Int(0).tag(sync=True)
            steps = T.Int(0).tag(sync=True)
            lr = T.Float(0.1).tag(sync=True)
            loss = T.Float(None, allow_none=True).tag(sync=True)  # on all the data, now
            batch_loss = T.Float(None, allow_none=True).tag(sync=True)  # of the last step, before its update
            loss_curve = T.List().tag(sync=True)  # [[epoch, loss], ...], thinned
            boundary = T.Dict().tag(sync=True)  # {} unless two inputs
            points = T.Dict().tag(sync=True)
            network = T.Dict().tag(sync=True)
            selection = T.Dict().tag(sync=True)

        _widget_class = PlaygroundWidget
    return _widget_class


class LiveCallback:
    """The bookkeeping of a live view, as a ``fit`` callback: throttled redraws, and (in the playground's own
    run) the pause between steps.

    Per step it counts and compares; the rest (``_between``) runs only on a step before or at a redraw, or when
    the playground is held (paused, stopping, or the kernel waiting for the lock).
    """

    observes_only = True  # changes values in place (an edit, the rate), never a part of the network

    def __init__(self, playground: Playground, gate: bool) -> None:
        self.pg = playground
        self.gate = gate  # True in the playground's own thread; False when watching a fit run in a cell
        self.steps_per_epoch = 1
        self.mark = 1  # the step count at which _between runs next
        # This fit took the playground (its on_train_begin got past the check of a run in the background). Until then
        # its end touches nothing: the fit may have been refused, by this callback or another one, while the
        # playground's own run trains, and the network, the counters and the widget are that run's.
        self.began = False

    full_batch = True  # MiniBatchCallback, below, counts the steps of an epoch of several

    def on_train_check(self, net: Network) -> None:
        # Before fit changes anything: a resumed fit would otherwise put its checkpoint into the network first
        if not self.gate and self.pg._running:
            raise ConfigError("this playground is training the network in the background; call playground.close() "
                              "before you run fit with its callback")

    def on_train_begin(self, net: Network, info: dict[str, Any]) -> None:
        pg = self.pg
        self.began = False  # (a callback object may be handed to several fits)
        self.on_train_check(net)  # again: the background run may have started since
        if not self.gate:
            pg._set_status("watching")
        self.began = True
        self.steps_per_epoch = -(-info["n_samples"] // info["batch_size"])
        if self.full_batch and self.steps_per_epoch != 1:
            raise ConfigError(f"playground.callback(full_batch=True) is for a fit on all rows in one step; this fit has "
                              f"{self.steps_per_epoch} steps per epoch (batch_size {info['batch_size']}): use callback()")
        pg._optimizer_in_use = info["optimizer"]
        pg._last_time, pg._last_steps = time.perf_counter(), pg._steps
        if self.gate:
            pg._gate()
        self._prepare()

    def _live(self) -> bool:
        """Redraws are throttled (else every step is drawn: single steps, and the steps of a pause)."""
        return self.pg._playing or not self.gate

    def on_epoch_end(self, net: Network, epoch: int, logs: dict[str, float]) -> None:
        pg = self.pg
        if self.full_batch:  # no on_batch_end (one call less per step): the epoch is the step
            pg._steps += 1
            pg._batch_loss = logs["loss"]  # total / n_rows with total = loss * n_rows (exact for n_rows = 2^k)
        pg.history.loss.append(logs["loss"])
        pg.history.epochs += 1
        if pg._steps >= self.mark or (self.gate and pg._hold) or pg.history.epochs == pg.epochs:
            self._between()

    def on_train_end(self, net: Network, history: History) -> None:
        self._finish()

    def on_train_abort(self, net: Network, error: BaseException) -> None:
        self._finish()

    def _finish(self) -> None:
        pg = self.pg
        if not self.began:  # refused before it took the playground (see __init__)
            return
        self.began = False
        if pg._before_at == pg._steps - 1:
            pg._record_step()
        if not self.gate:  # a watched fit: show where it ended (the playground's own run does this in _run)
            pg._optimizer_in_use = pg.optimizer
            pg._status = "ready"
            pg._sync()

    def _between(self) -> None:
        """Between two steps: redraw when due, wait while held, and copy the parameters before a step that is
        redrawn after."""
        pg = self.pg
        if pg._steps >= pg._next_sync or not self._live():
            started = time.perf_counter()
            pg._record_step()
            pg._sync()
            pg._plan_next_sync(self._live(), started)
        if self.gate:
            pg._gate()
        self._prepare()

    def _prepare(self) -> None:
        pg = self.pg
        if pg._steps + 1 >= pg._next_sync or not self._live():
            pg._before = {key: p.copy() for key, p in pg.net.parameters().items()}
            pg._before_at = pg._steps
            self.mark = pg._steps + 1
        else:
            self.mark = pg._next_sync - 1


class MiniBatchCallback(LiveCallback):
    """:class:`LiveCallback` for epochs of several steps: it counts them, and stops between them."""

    full_batch = False

    def on_batch_end(self, net: Network, epoch: int, step: int, loss: float) -> None:
        pg = self.pg
        pg._steps += 1
        if step == self.steps_per_epoch:  # the epoch's end comes next: on_epoch_end does the rest
            pg._batch_loss = loss
        elif pg._steps >= self.mark or (self.gate and pg._hold):
            pg._batch_loss = loss
            self._between()


class Playground:
    """A live view of training ``net`` on ``(X, y)`` in a notebook: play, pause, step, rate, boundary, weights.

    Parameters
    ----------
    net : Network
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
    optimizer : str or Optimizer
        One optimizer object is kept across play and pause (Adam's moments carry on); ``lr`` sets its rate.
    lr : float
        The starting learning rate (for an optimizer given by name); the slider changes ``optimizer.lr``.
    batch_size : int, optional
        Rows per step, as in ``fit``; ``None`` (default) trains on all rows in one step.
    epochs : int
        The most epochs it trains in all (play stops there).
    fps : float
        At most this many redraws per second while playing (the steps in between are not drawn).
    grid : int
        The decision boundary is the output on ``grid`` x ``grid`` points (networks with two inputs).
    shuffle : bool
        Shuffle the rows each epoch (``fit``'s ``shuffle``).

    The widget is :attr:`widget` (an anywidget, so ``pip install "glassnet[notebook]"``); a ``Playground``
    shows it when it is a cell's value. The methods :meth:`play`, :meth:`pause`, :meth:`step`, :meth:`set_lr`,
    :meth:`set_value` and :meth:`select` do what the widget's controls do, and raise a glassnet error for a bad
    value (the widget shows that message instead). While it plays, the network changes under your feet: pause
    (the trainer then waits between two steps) before you use ``net`` in another cell.
    """

    def __init__(self, net: Network, X: Any, y: Any, optimizer: Optimizer | str = "sgd", lr: float = 0.1,
                 batch_size: int | None = None, epochs: int = 10_000, fps: float = 10.0, grid: int = 40,
                 shuffle: bool = True) -> None:
        if not isinstance(net, Network):
            raise GlassnetTypeError(f"Playground needs a glassnet Network, got {type(net).__name__}")
        self.net = net
        self.X = check_inputs(X, net.n_in, net.dtype)
        self.Y = net._targets(y, self.X.shape[0])
        self.optimizer = get_optimizer(optimizer, lr)
        self.batch_size = None if batch_size is None else positive_int(batch_size, "Playground: batch_size")
        self.epochs = positive_int(epochs, "Playground: epochs")
        self.fps = _number(fps, "Playground: fps")
        if self.fps <= 0:
            raise ConfigError(f"Playground: fps must be > 0 (redraws per second), got {fps!r}; e.g. fps=10")
        self.grid = positive_int(grid, "Playground: grid")
        if not 2 <= self.grid <= 200:
            raise ConfigError(f"Playground: grid must be between 2 and 200 points per side, got {grid}; e.g. grid=40")
        self.shuffle = check_bool(shuffle, "Playground: shuffle")
        self.history = History()  # every epoch the playground (or a watched fit) trained, across runs
        # One lock for the network: held by the trainer except between steps (see the module docstring).
        self._cond = threading.Condition()
        self._flags = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False  # a run (the playground's fit) is alive, maybe paused
        self._playing = False
        self._allow = 0  # single steps asked for while paused
        self._stop = False
        self._requests = 0  # kernel calls waiting for the lock
        self._hold = True  # = requests or not playing or stop: the trainer must stop at the next gap
        self._steps = 0
        self._next_sync = 1
        self._last_time, self._last_steps = time.perf_counter(), 0
        self._before: dict[str, Array] | None = None
        self._before_at = -2
        self._grads: dict[str, Array] | None = None  # of the last recorded step
        self._updates: dict[str, Array] | None = None
        self._batch_loss: float | None = None
        self._optimizer_in_use: Optimizer = self.optimizer
        self._selected: tuple[str, int, Any] | None = None  # ("weight", layer, index) or ("unit", layer, unit)
        self._status = "ready"
        self._grid_points = self._make_grid() if net.n_in == 2 else None
        self.widget = widget_class()(epochs=self.epochs, lr=self.optimizer.lr)
        before = _newest.get(net)
        if before is not None and before._running:
            before.close()
            before._say("a newer Playground of this network took over; this one is closed")
        _newest[net] = self
        self.widget.on_msg(self._on_msg)
        self.widget.points = self._points()
        self._sync()

    # ------------------------------------------------------------------ what the controls do
    def play(self) -> None:
        """Train in the background until :meth:`pause` (or ``epochs``, or a divergence)."""
        with self._exclusive():
            if self.history.epochs >= self.epochs:
                raise ConfigError(f"all {self.epochs} epochs are done; set playground.epochs higher to train on")
            self._playing = True
            self._start()
            self._set_status("playing")
            self._say("playing")

    def pause(self) -> None:
        """Stop after the current step; returns once the trainer has stopped (play again to go on)."""
        with self._exclusive():
            self._playing = False
            if self._running:
                self._status = "paused"
            self._sync()  # the counters and the status in one message: "paused" never shows beside stale numbers
            self._say(f"paused after {self._steps} steps ({self.history.epochs} epochs)")

    def step(self) -> float:
        """Train one batch (while paused) and return its loss, computed before its update (as ``fit`` does)."""
        with self._exclusive():
            if self._playing:
                raise ConfigError("step trains one batch while paused; press pause first")
            if self.history.epochs >= self.epochs:
                raise ConfigError(f"all {self.epochs} epochs are done; set playground.epochs higher to train on")
            target = self._steps + 1
            self._allow += 1
            self._start()
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._steps >= target or not self._running, WAIT_SECONDS):
                raise ConfigError(f"the trainer did not finish the step within {WAIT_SECONDS:g} s")
            if self._steps < target:  # the run ended instead (it diverged): its message is in the widget
                raise TrainingDiverged(self.widget.message)
            loss = float(self._batch_loss) if self._batch_loss is not None else math.nan
            self._say(f"step {self._steps}: the batch's loss was {loss:.6g} before the update")
            return loss

    def set_lr(self, lr: Any) -> None:
        """Set the optimizer's learning rate (a positive number); the next step uses it."""
        value = _number(lr, "the learning rate")
        if value <= 0:
            raise ConfigError(f"the learning rate must be > 0, got {lr!r}; e.g. 0.1 (the slider goes from 1e-4 to 10)")
        with self._exclusive():
            self.optimizer.lr = value
            self.widget.lr = value
            self._say(f"learning rate set to {value:.4g}")

    def set_value(self, key: str, index: Any, value: Any) -> float | None:
        """Set one entry of a parameter, e.g. ``set_value("0.W", (1, 2), 0.5)`` (``W[1, 2]`` of layer 0); returns
        the loss on all the data afterwards (``None`` if it is still NaN or inf). An entry whose new value makes a
        finite loss NaN or inf is put back."""
        number = _number(value, f"the new value of {key}{list(index) if isinstance(index, (list, tuple)) else index}")
        with self._exclusive():
            params = self.net.parameters()
            if key not in params:
                raise ConfigError(f"unknown parameter {key!r}; this network has {sorted(params)}")
            where = self._index(params[key], index, key)
            old, was = float(params[key][where]), self._current_loss()
            params[key][where] = number
            loss = self._current_loss()
            if loss is None and was is not None:
                params[key][where] = old
                raise ConfigError(f"{key}{list(where)} = {number:g} would make the loss on the data NaN or inf; it stays "
                                  f"{old:g}. Try a value closer to 0")
            self._sync()
            now = "still NaN or inf: change the other huge weights too" if loss is None else f"now {loss:.6g}"
            self._say(f"{key}{list(where)} set to {number:g}: the loss on all the data is {now}")
            return loss

    def select(self, kind: str, layer: Any, index: Any) -> dict[str, Any]:
        """Show a weight (``kind="weight"``, ``index=(i, j)`` of ``W``) or a unit (``"unit"``, its 1-d parameters
        such as ``b``) of ``layer``; returns what the widget shows."""
        if kind not in ("weight", "unit"):
            raise ConfigError(f"select needs kind 'weight' or 'unit', got {kind!r}")
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(self.net.layers):
            raise ConfigError(f"layer must be an index 0..{len(self.net.layers) - 1}, got {layer!r}")
        with self._exclusive():
            entries = self._selection_entries((kind, layer, index))  # checks the index before keeping it
            self._selected = (kind, layer, index)
            self.widget.selection = entries
            return entries

    def callback(self, full_batch: bool = False) -> LiveCallback:
        """A callback that redraws this playground during a ``fit`` you run (``fit(..., callbacks=[...])``);
        ``full_batch=True`` (a ``fit`` without ``batch_size``) saves it one call per step."""
        return (LiveCallback if check_bool(full_batch, "callback: full_batch") else MiniBatchCallback)(self, gate=False)

    def wait(self, timeout: float = WAIT_SECONDS) -> bool:
        """Wait until the background run is paused or over (``epochs`` done, diverged); True if it is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._running or self._status == "paused":
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """End the background run (if any) and close the widget."""
        with self._flags:
            self._stop, self._hold = True, True
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(WAIT_SECONDS)
        self.widget.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ messages from the widget
    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        """One message from the browser: never raises into the kernel; a refusal is shown in the widget."""
        try:
            action = content.get("action") if isinstance(content, dict) else None
            if action == "play":
                self.play()
            elif action == "pause":
                self.pause()
            elif action == "step":
                self.step()
            elif action == "lr":
                self.set_lr(content.get("value"))
            elif action == "edit":
                self.set_value(str(content.get("key")), content.get("index"), content.get("value"))
            elif action == "select":
                self.select(str(content.get("kind")), content.get("layer"), content.get("index"))
            else:
                raise ConfigError(f"unknown action {action!r} from the widget")
        except GlassnetError as exc:
            with self._exclusive():
                self._say(str(exc), error=True)
        except Exception as exc:  # a bug of ours: shown, not a traceback in the kernel's log
            with self._exclusive():
                self._say(f"{type(exc).__name__}: {exc}", error=True)

    # ------------------------------------------------------------------ the background run
    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the network's lock in the kernel's thread: the trainer gives it up at its next gap between steps."""
        if self._thread is threading.current_thread():  # called from the trainer itself (a watched fit's callback)
            yield
            return
        with self._flags:
            self._requests += 1
            self._hold = True
        self._cond.acquire()
        with self._flags:
            self._requests -= 1
            self._update_hold()
        try:
            yield
        finally:
            self._update_hold()
            self._cond.notify_all()
            self._cond.release()

    def _update_hold(self) -> None:
        self._hold = bool(self._requests or not self._playing or self._stop)

    def _start(self) -> None:
        """Start the run (a ``fit`` in a thread) unless one is alive; called with the lock held."""
        self._update_hold()
        if self._running:
            return
        self._running = True
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="glassnet-playground", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._cond:
            status, message = "finished", f"all {self.epochs} epochs done"
            try:
                self.net.fit(self.X, self.Y, epochs=self.epochs - self.history.epochs, optimizer=self.optimizer,
                             batch_size=self.batch_size, shuffle=self.shuffle, callbacks=[self._own_callback()],
                             monitor=False)
            except _Stopped:
                status, message = "stopped", "stopped"
            except TrainingDiverged as exc:
                status = "diverged"
                message = (f"{exc} (epoch {self.history.epochs + 1} of this playground). The network keeps the weights "
                           "of its last finite step; lower the learning rate (and type smaller weights if they are huge) "
                           "and press play to go on.")
            except Exception as exc:  # shown in the widget: a thread's traceback would land in some other cell
                status, message = "error", f"{type(exc).__name__}: {exc}"
            self._playing, self._allow = False, 0
            self._status = status
            self._say(message, error=status in ("diverged", "error"))  # before the status: whoever sees it, sees why
            self._sync()  # the status last: when it says the run is over, nothing of the run touches the network
            self._running = False
            self._update_hold()
            self._cond.notify_all()

    def _own_callback(self) -> LiveCallback:
        full = self.batch_size is None or self.batch_size >= len(self.X)
        return (LiveCallback if full else MiniBatchCallback)(self, gate=True)

    def _gate(self) -> None:
        """Between two steps, in the trainer (lock held): wait while the kernel asks for the lock or while paused."""
        waited = False
        while True:
            if self._stop:
                raise _Stopped
            if self._requests:
                self._cond.wait()
                waited = True
                continue
            if self._playing:
                break
            if self._allow > 0:
                self._allow -= 1
                break
            if self._status != "paused":
                self._status = "paused"
                self._sync()
            self._cond.notify_all()  # a step() waiting for this one
            self._cond.wait()
            waited = True
        with self._flags:
            self._update_hold()
        if waited:  # time spent waiting is not training time (the redraw rate is measured from steps per second)
            self._last_time, self._last_steps = time.perf_counter(), self._steps
            if self._playing and self._status != "playing":
                self._set_status("playing")

    def _plan_next_sync(self, throttled: bool, started: float) -> None:
        """Redraw again after as many steps as take ``1 / fps`` seconds (at the rate of steps measured since the last
        redraw), or longer when a redraw is slow: redraws take at most ``SYNC_SHARE`` of the time."""
        now = time.perf_counter()
        steps, seconds = self._steps - self._last_steps, started - self._last_time
        interval = max(1.0 / self.fps, (now - started) * (1 - SYNC_SHARE) / SYNC_SHARE)
        every = 1 if not throttled or seconds <= 0 else max(1, int(steps / seconds * interval))
        self._next_sync = self._steps + every
        self._last_time, self._last_steps = now, self._steps

    def _record_step(self) -> None:
        """Keep the gradients of the last step and, if the parameters were copied before it, its update."""
        self._grads = {f"{i}.{name}": g.copy() for i, layer in enumerate(self.net.layers) for name, g in layer.grads.items()}
        if self._before is not None and self._before_at == self._steps - 1:
            self._updates = {key: p - self._before[key] for key, p in self.net.parameters().items()}
        self._before = None

    # ------------------------------------------------------------------ what the widget shows
    def _set_status(self, status: str) -> None:
        self._status = status
        self.widget.status = status

    def _say(self, text: str, error: bool = False) -> None:
        with self.widget.hold_sync():
            self.widget.message = text
            self.widget.message_kind = "error" if error else "info"

    def _sync(self) -> None:
        """Send the current state: counters, losses, the boundary, the drawn weights, the selection."""
        w = self.widget
        with w.hold_sync():
            w.epoch, w.epochs, w.steps = self.history.epochs, self.epochs, self._steps
            w.lr = float(self._optimizer_in_use.lr)
            w.batch_loss = self._batch_loss
            w.loss = self._current_loss()
            w.loss_curve = self._loss_curve()
            w.network = self._network()
            if self._grid_points is not None:
                w.boundary = self._boundary()
            if self._selected is not None:
                w.selection = self._selection_entries(self._selected)
            w.status = self._status  # last: a test (or a person) who sees "finished" finds everything else done

    def _current_loss(self) -> float | None:
        try:
            with self.net.evaluating():
                return self.net.loss(self.X, self.Y)
        except GlassnetError:
            return None

    def _loss_curve(self) -> list[list[float]]:
        losses = self.history.loss
        if not losses:
            return []
        keep = np.unique(np.linspace(0, len(losses) - 1, min(len(losses), CURVE_POINTS)).round().astype(int))
        return [[int(i) + 1, float(losses[i])] for i in keep]

    def _make_grid(self) -> tuple[Array, list[float], list[float]]:
        low, high = self.X.min(axis=0), self.X.max(axis=0)
        pad = np.where(high > low, 0.1 * (high - low), 0.5)
        low, high = low - pad, high + pad
        xs, ys = np.linspace(low[0], high[0], self.grid), np.linspace(low[1], high[1], self.grid)
        points = np.column_stack([np.tile(xs, self.grid), np.repeat(ys, self.grid)])  # row by row, y from low to high
        return points.astype(self.net.dtype), [float(low[0]), float(high[0])], [float(low[1]), float(high[1])]

    def boundary(self) -> dict[str, Any]:
        """The outputs on the grid: ``values[r * grid + c]`` at ``x = linspace(*x_range, grid)[c]``,
        ``y = linspace(*y_range, grid)[r]``; one output's value, or the class (argmax) of several.

        Safe while the widget plays: it takes the network between two steps, as an edit does."""
        with self._exclusive():
            return self._boundary()

    def _boundary(self) -> dict[str, Any]:
        """:meth:`boundary`, for callers that hold the network already (the redraw)."""
        if self._grid_points is None:
            raise ConfigError(f"the decision boundary is drawn for networks with 2 inputs; this one has {self.net.n_in}")
        points, x_range, y_range = self._grid_points
        try:
            with self.net.evaluating():
                A = self.net.forward(points)
        except GlassnetError:
            return {}
        if A.shape[1] == 1:
            kind, values = ("probability" if self.net.is_classifier else "value"), A[:, 0]
            low, high = ((0.0, 1.0) if self.net.is_classifier
                         else (float(min(A.min(), self.Y.min())), float(max(A.max(), self.Y.max()))))
        else:
            kind, values, low, high = "class", A.argmax(axis=1).astype(float), 0.0, float(A.shape[1] - 1)
        return {"n": self.grid, "x_range": x_range, "y_range": y_range, "kind": kind, "low": low, "high": high,
                "values": values.tolist()}

    def _points(self) -> dict[str, Any]:
        if self.net.n_in != 2:
            return {}
        rows = np.linspace(0, len(self.X) - 1, min(len(self.X), 500)).round().astype(int)  # at most 500 dots
        labels = self.Y[rows, 0] if self.Y.shape[1] == 1 else self.Y[rows].argmax(axis=1)
        return {"x": self.X[rows, 0].tolist(), "y": self.X[rows, 1].tolist(), "label": labels.astype(float).tolist()}

    def _network(self) -> dict[str, Any]:
        """The drawing: units per layer (at most MAX_UNITS shown), and the shown part of each layer's ``W``."""
        sizes = self.net.sizes
        shown = [min(n, MAX_UNITS) for n in sizes]
        layers = []
        for i, layer in enumerate(self.net.layers):
            W = layer.params.get("W")
            drawn = W[:shown[i], :shown[i + 1]].tolist() if W is not None and W.shape == (layer.n_in, layer.n_out) else None
            act = layer.activation.name if layer.activation is not None else ""
            layers.append({"name": type(layer).__name__, "activation": act, "W": drawn})
        return {"sizes": sizes, "shown": shown, "layers": layers}

    @staticmethod
    def _index(array: Array, index: Any, key: str) -> tuple[int, ...]:
        where = tuple(index) if isinstance(index, (list, tuple)) else (index,)
        if len(where) != array.ndim or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in where):
            raise ShapeError(f"{key} has shape {array.shape}: give {array.ndim} whole-number index(es), got {index!r}")
        if any(not 0 <= i < n for i, n in zip(where, array.shape)):
            raise ShapeError(f"index {list(where)} is outside {key}, of shape {array.shape}")
        return tuple(int(i) for i in where)

    def _entry(self, key: str, where: tuple[int, ...]) -> dict[str, Any]:
        grad = None if self._grads is None or key not in self._grads else float(self._grads[key][where])
        update = None if self._updates is None or key not in self._updates else float(self._updates[key][where])
        return {"key": key, "index": list(where), "value": float(self.net.parameters()[key][where]),
                "grad": grad, "update": update}

    def _selection_entries(self, selected: tuple[str, int, Any] | None) -> dict[str, Any]:
        if selected is None:
            return {}
        kind, i, index = selected
        layer = self.net.layers[i]
        if kind == "weight":
            if "W" not in layer.params:
                raise ConfigError(f"layer {i} ({layer}) has no weights W")
            where = self._index(layer.params["W"], index, f"{i}.W")
            title = f"weight W[{where[0]}, {where[1]}] of layer {i}: from unit {where[0]} to unit {where[1]}"
            return {"kind": kind, "layer": i, "index": list(where), "title": title, "entries": [self._entry(f"{i}.W", where)]}
        unit = self._index(np.empty(layer.n_out), index, f"layer {i}'s units")
        names = [name for name, p in layer.params.items() if p.shape == (layer.n_out,)]  # b; gamma and beta
        title = f"unit {unit[0]} of layer {i} ({type(layer).__name__})"
        return {"kind": kind, "layer": i, "index": list(unit), "title": title,
                "entries": [self._entry(f"{i}.{name}", unit) for name in names]}
