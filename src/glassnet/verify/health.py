"""Health checks during ``fit``: cheap observations that warn, with an explanation and a suggestion.

:class:`HealthMonitor` is a training callback that ``fit`` adds by default (``monitor=False`` turns it
off). It looks at the network rarely, at epochs 1, 2, 4, 8, ... (exponential back-off) and at the end,
never per step, so even a tiny network trained for thousands of epochs pays almost nothing. Each look is
one forward pass over at most ``max_rows`` training rows. What it checks:

* ``initial_loss``  the loss before training (on at least 64 of the sampled rows) far from its chance level,
  ``loss.chance(Y)`` (the loss of the best constant prediction: the targets' mean for ``mse``, the class
  frequencies for ``bce`` and ``cross_entropy``, ...): badly scaled targets or initial weights. Not on a resumed run
  (``info["epochs_done"] > 0``), a second ``fit`` of one network or a trained model loaded from its file: a
  well-trained network is rightly far below chance.
* ``not_finite``    a parameter holds NaN or inf (then the checks below, which would blame the data or the units, are
  skipped for that look).
* ``collapsed``     the outputs are one constant for every sample while the targets vary.
* ``saturated``     most units of a hidden layer whose activation ``saturates`` (sigmoid, tanh) sit in a flat tail
  for almost all samples: the derivative ``activation.backward(Z, A, 1)``, over its ``peak_slope``, is tiny. The
  suggestion blames the inputs only when they are on a large scale (``INPUT_SCALE``), else the weights.
* ``dead_relu``     a quarter or more of the units of a layer whose activation ``dies`` (ReLU) output 0 for every
  sample (they never learn again).
* ``update_ratio``  the size of one step relative to the weights (each layer's ``penalized`` parameters; a layer
  without them as a whole), far from about 1e-3 (lr too high or low): the median of the steps the layer-stats
  recorder (``inside.py``) sampled since the last look. A monitor used without a recorder measures it itself,
  over the epoch after a look, on at most ``SAMPLE`` (4096) evenly spaced weights of each matrix.
* ``vanishing``     a layer's gradient norm (recorded) far below the last layer's (``VANISHING``, 1e-4 times): the
  layers below learn far more slowly than the top (deep sigmoid or tanh stacks, saturated units, unscaled inputs).
* ``exploding``     a layer's gradient norm (recorded) grown by orders of magnitude (``EXPLODING``, 1e3 times) since
  the first step while the loss rose: steps that feed on themselves (learning rate too high, weights too large).
  Also checked when training stops on a ``TrainingDiverged``, with the numbers recorded up to then.
* ``stuck``         at the end, the loss has not moved over the last half of training while still near chance
  level (not earlier: XOR-like problems sit on a plateau for a while before they learn).

The warnings about gradients and update ratios (and dead units) name the layer and the numbers, and point to
``history.layers`` / ``glassnet.plot_layer_stats(history)``, the record and its picture.

The definitions of a dead and a saturated unit, of a layer warned about, and of vanishing and exploding gradients
are module functions (:func:`dead_units`, :func:`saturated_units`, :func:`layer_condition`, :func:`vanishing`,
:func:`exploding`), and a look is :func:`look`: ``glassnet/replay.py`` tests the same conditions after every step
when ``glassnet.find_break`` asks at which step a warning's condition became true.

Each distinct problem is warned about once per ``fit``, as a :class:`HealthWarning` (a ``UserWarning``;
silence it with ``warnings.simplefilter("ignore", HealthWarning)``).

Next read: ``gallery/`` (the backprop bugs the doctor recognises, as programs you can run).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import all_finite
from glassnet.core.training import TRAINED
from glassnet.errors import TrainingDiverged
from glassnet.verify import inside

Array = NDArray[Any]
_GLASSNET_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class HealthWarning(UserWarning):
    """A training-health observation: ``check`` (its code), what was seen, ``explanation`` and ``suggestion``."""

    def __init__(self, check: str, seen: str, explanation: str, suggestion: str) -> None:
        super().__init__(f"{seen}. {explanation} Suggestion: {suggestion}")
        self.check, self.seen, self.explanation, self.suggestion = check, seen, explanation, suggestion


class HealthMonitor:
    """The training callback behind ``fit(monitor=True)``; see the module docstring.

    Parameters
    ----------
    max_rows : int
        Rows of the training data used for each look (evenly spaced, so the looks are reproducible).
    """

    SATURATED = 0.01   # a unit is in a flat tail where its derivative is below this ...
    SATURATED_ROWS = 0.95  # ... on at least this share of the rows looked at
    SATURATED_SHARE = 0.5  # a layer is warned about when this share of its units is saturated ...
    DEAD_SHARE = 0.25      # ... or this share dead (one dead unit among many is common and harmless; a quarter is not)
    INPUT_SCALE = 10.0  # inputs larger than this (in absolute value) are worth scaling; smaller ones are not the cause
    SAMPLE = 4096      # weights per matrix kept for the update ratio (evenly spaced; all of them in smaller matrices)
    INITIAL_ROWS = 64  # the loss before training is taken on at least this many of the sampled rows
    # Only reads the network (never hooks or replaces its parts or the optimizer's): fit need not re-check its
    # fast path after each look.
    observes_only = True
    # per-step change relative to the weights; healthy is about 1e-3, these are "far" (Adam's first step is lr itself)
    RATIO_LOW, RATIO_HIGH = 1e-6, 0.3
    VANISHING = 1e-4  # a layer's gradient norm below this times the last layer's: vanishing gradients
    EXPLODING = 1e3   # a layer's gradient norm grown this many times since the first step (the loss rising): exploding

    def shares(self) -> dict[str, float]:
        """The share of a layer's units each unit condition needs (:data:`SHARES`, with this monitor's values)."""
        return {"dead_relu": self.DEAD_SHARE, "saturated": self.SATURATED_SHARE}

    def __init__(self, max_rows: int = 256) -> None:
        self.max_rows = max_rows
        self.warned: set[str] = set()
        self.next_look = 1
        self.snapshot: list[tuple[str, int, Array]] | None = None
        self.losses: dict[int, float] = {}
        self.inside: inside.LayerStatsRecorder | None = None  # the recorder of this fit, when one runs before us
        self.checked = 0  # the recorder's samples already looked at

    # ----------------------------------------------------------------- callback methods
    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        self.net = net
        # A resumed run (fit(resume=True) restored epochs_done epochs), a network this process trained before (a
        # second fit call) and a saved model that was trained (its history kept) are not at their start: their loss
        # may rightly be far below chance, so the checks of an untrained network are skipped.
        self.resumed = info.get("epochs_done", 0) > 0 or net in TRAINED or "history" in net.metadata
        self.steps_per_epoch = -(-info["n_samples"] // info["batch_size"])
        self.epochs = info.get("epochs", 0)
        # fit's recorder (or the user's) began before this monitor: its numbers are the gradient and ratio checks'.
        # (A resumed run's recorder continues the record of the run before: only the samples from now on are new.)
        self.inside = inside.recorder_for(net)
        self.checked = len(self.inside.steps) if self.inside is not None else 0
        if "X" not in info or "Y" not in info:  # called by a loop that does not share its data: nothing to look at
            self.X = self.Y = None
            return
        # Evenly spaced rows, so data sorted by class still gives a fair sample.
        rows = sample_rows(info["n_samples"], self.max_rows)
        self.X, self.Y = info["X"][rows], info["Y"][rows]
        # Look in pieces of at most a training batch, so that no product of a look is larger than a training step's:
        # a larger one can wake BLAS threads that training does not use, which then spin on the other cores for a
        # while. Small networks (under 64k multiply-adds per layer and piece) look at all rows at once.
        self.piece = piece_rows(net, info["batch_size"])
        # The loss of the best constant prediction, from the loss itself (0.0, a loss without one: checks off).
        self.chance = net.loss_fn.chance(self.Y)
        Y_range = np.ptp(self.Y, axis=0)
        self.Y_range = Y_range + 1e-12 if Y_range.any() else None  # once, not per look
        if self.inside is None:
            self._take_snapshot()
        # The loss before training on an evenly spread part of the sampled rows: at least INITIAL_ROWS of them (fewer
        # make the comparison with the chance level noisy) and all of them when a look is one piece anyway.
        every = max(1, len(self.X) // max(self.piece, self.INITIAL_ROWS))
        if not self.resumed:
            self._initial_loss(self._look(rows=slice(None, None, every)))

    def on_epoch_end(self, net: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.snapshot is not None:  # one epoch after a look: how far did the weights move?
            self._update_ratio(epoch)
        if epoch < self.next_look:
            return
        self.next_look = 2 * epoch
        self._layer_checks()
        if self.X is None:
            return
        self.losses[epoch] = logs["loss"]
        if epoch != self.epochs and self.inside is None:  # for the next epoch's update ratio (none after the last)
            self._take_snapshot()
        self._inspect(epoch)

    def on_train_abort(self, net: Any, error: BaseException) -> None:
        if isinstance(error, TrainingDiverged):  # what the recorder saw on the way there: gradients that exploded?
            self._layer_checks()

    def on_train_end(self, net: Any, history: Any) -> None:
        self._layer_checks()
        if self.X is None or not history.loss:
            return
        self.losses[history.epochs] = history.loss[-1]
        self._stuck(history.epochs)

    # ----------------------------------------------------------------- the checks
    def _initial_loss(self, start: float) -> None:
        """``start``: the loss before training."""
        self.losses[0] = start
        far_above = start > 3 * self.chance + 0.1
        # Constant targets (chance level 0) have no meaningful chance level to compare with.
        if self.chance > 0 and (far_above or (self.chance > 0.05 and start < self.chance / 20)):
            self._warn("initial_loss", f"the loss before training is {start:.4g}, far "
                       f"{'above' if far_above else 'below'} its chance level {self.chance:.4g} (the loss of the best "
                       "constant prediction, such as the targets' mean or their class frequencies)",
                       "A network starting far above chance makes confident wrong predictions: targets on a large "
                       "scale, or initial weights that are too large. Far below chance before any training usually "
                       "means the answer leaks into the inputs.",
                       "standardise the targets (and inputs), and use init='glorot' or 'he'")

    def _look(self, loss_too: bool = True, rows: slice = slice(None)) -> float:
        """Loss on the sampled rows (those of them that ``rows`` picks; NaN unless ``loss_too``); their Z and A go
        to ``self.caches``, the layers keep the caches training left."""
        if self.X is None or self.Y is None:  # looks happen only when fit shared its data
            return math.nan
        self.caches, loss = look(self.net, self.X[rows], self.Y[rows] if loss_too else None, self.piece)
        return loss

    def _inspect(self, epoch: int) -> None:
        bad = [key for key, p in self.net.parameters().items() if not all_finite(p)]  # (no boolean copy of p)
        if bad:  # every other check would blame the data or the units for what the parameters themselves are
            self._warn("not_finite", f"after epoch {epoch} the parameter(s) {', '.join(bad[:5])} hold NaN or inf",
                       "Non-finite weights make every output NaN or inf, whatever the inputs: an update overflowed "
                       "(the learning rate is far too high) or the values were written into the network.",
                       "lower the learning rate (e.g. by a factor of 100) and train again from finite weights")
            return
        self._look(loss_too=False)  # the epoch's loss is in the logs already
        A_out = self.caches[-1]["A"]
        if self.Y_range is not None and np.all(np.ptp(A_out, axis=0) <= 1e-3 * self.Y_range):
            self._warn("collapsed", f"after epoch {epoch} the network outputs the same value {A_out[0].round(4).tolist()} "
                       "for every sample while the targets vary",
                       "The output no longer depends on the input: all hidden units are identical (symmetric start), "
                       "dead or saturated, or the learning rate pushed every unit into a flat region.",
                       "use random initial weights (init='glorot' or 'he'), a smaller learning rate, or check the data")
        for i, (layer, cache) in enumerate(zip(self.net.layers[:-1], self.caches[:-1])):
            activation = layer.activation
            if activation is None or "Z" not in cache:  # a layer of its own kind: nothing known to check
                continue
            name, A, Z = activation.name, cache["A"], cache["Z"]
            if activation.saturates:
                flat = saturated_units(activation, Z, A, self.SATURATED, self.SATURATED_ROWS)
                if layer_condition("saturated", flat, self.shares()):
                    self._warn("saturated", f"after epoch {epoch}, {int(flat.sum())} of {layer.n_out} {name} units of "
                               f"layer {i} ({layer}) are saturated for at least {self.SATURATED_ROWS:.0%} of the samples",
                               f"In its flat tails the {name}'s derivative is almost 0, so almost no gradient flows "
                               "through these units and they (and the layers below) stop learning.",
                               self._saturation_cure(i))
            if activation.dies:
                dead = dead_units(Z)
                if layer_condition("dead_relu", dead, self.shares()):
                    self._warn("dead_relu", f"after epoch {epoch}, {int(dead.sum())} of {layer.n_out} {name} units of "
                               f"layer {i} ({layer}) output 0 for every sample checked (units "
                               f"{np.flatnonzero(dead).tolist()[:10]}){self._gradient_note(i)}",
                               f"A {name} unit whose input is negative for every sample gets zero gradient and never "
                               "recovers (a 'dead' unit); the layer has fewer units than you think.",
                               "lower the learning rate, use init='he', or try activation='leaky_relu'")

    def _saturation_cure(self, i: int) -> str:
        """What to do about saturated units of layer ``i``: scale the inputs only when they are on a large scale;
        with inputs already small the layer's weights are too large (a learning rate far too high, or the start)."""
        largest_x = float(np.max(np.abs(self.X), initial=0.0)) if self.X is not None else 0.0
        if largest_x > self.INPUT_SCALE:
            return ("scale the inputs (e.g. standardise X; the largest |x| is "
                    f"{largest_x:.3g}), start with smaller weights (init='glorot'), or lower the learning rate")
        largest_w = max(float(np.max(np.abs(p), initial=0.0)) for p in self.net.layers[i].params.values())
        return (f"the inputs are already on a small scale (largest |x| {largest_x:.3g}), but layer {i}'s weights reach "
                f"|w| = {largest_w:.3g}: lower the learning rate, or start with smaller weights (init='glorot')")

    def _take_snapshot(self) -> None:
        """Keep at most ``SAMPLE`` evenly spaced weights of each matrix: enough for the update ratio's size,
        without copying (and later subtracting) every weight of a large network."""
        self.snapshot = []
        for i, layer in enumerate(self.net.layers):
            for name in layer.penalized:  # the weights (Dense: W), not the biases
                weights = layer.params[name]
                stride = max(1, weights.size // self.SAMPLE)
                self.snapshot.append((f"{i}.{name}", stride, weights.ravel()[::stride].copy()))

    def _update_ratio(self, epoch: int) -> None:
        if self.snapshot is None:
            return
        params = self.net.parameters()
        for key, stride, before in self.snapshot:
            size = _norm(before)
            if size == 0:
                continue
            with np.errstate(all="ignore"):
                change = params[key].ravel()[::stride] - before
            ratio = _norm(change) / size / self.steps_per_epoch
            if not math.isfinite(ratio):  # non-finite weights: the not_finite check says so, with the right words
                continue
            if ratio > self.RATIO_HIGH or (0 < ratio < self.RATIO_LOW and self._moving_matters(epoch)):
                high = ratio > self.RATIO_HIGH
                self._warn("update_ratio", f"in epoch {epoch} one step changed {key} by about {ratio:.1e} of its size",
                           "Healthy training changes each weight matrix by roughly 1e-3 of its size per step; "
                           + ("much more means the learning rate is so high that steps jump around the minimum."
                              if high else "much less means the learning rate is too low to learn in a useful time."),
                           f"{'lower' if high else 'raise'} the learning rate (e.g. by a factor of 10)")
        self.snapshot = None

    def _moving_matters(self, epoch: int) -> bool:
        """Tiny steps are a problem only while the loss is still far from zero."""
        return self.losses.get(epoch - 1, 0.0) > 0.1 * self.chance

    def _stuck(self, epoch: int) -> None:
        earlier = [e for e in self.losses if e <= epoch // 2]
        if epoch < 20 or not earlier:
            return
        then, now = self.losses[max(earlier)], self.losses[epoch]
        if self.chance > 0 and abs(then - now) <= 1e-3 * abs(then) and now > 0.5 * self.chance:
            self._warn("stuck", f"the loss has stayed at {now:.4g} from epoch {max(earlier)} to epoch {epoch}, still "
                       f"{now / self.chance:.0%} of its chance level {self.chance:.4g}",
                       "Training is not making progress: the learning rate may be far too low, the units saturated "
                       "or dead, or the gradients wrong.",
                       "check the other health warnings, try a learning rate 10 x larger, and run glassnet.gradcheck")

    # ----------------------------------------------------------------- the recorded gradients and update ratios
    def _layer_checks(self) -> None:
        """Vanishing and exploding gradients and badly sized steps, from the recorder's samples since the last look."""
        rec = self.inside
        if rec is None or len(rec.steps) <= self.checked:
            return
        new = slice(self.checked, len(rec.steps))
        self.checked = len(rec.steps)
        first, last = rec.steps[new][0], rec.steps[new][-1]
        span = f"at step {first}" if first == last else f"over steps {first}-{last}"
        layers = self.net.layers
        indices = [i for i, _ in rec.keys]
        # The loss still well above zero: tiny steps then mean slow learning, not a finished job.
        learning = _median(rec.losses[new]) > 0.1 * getattr(self, "chance", 0.0)
        for i, names in rec.keys:
            keys = [f"{i}.{name}" for name in layers[i].penalized if name in names] or [f"{i}"]
            for key in keys:
                size = _median(rec.update_ratio[key][new])
                if not math.isfinite(size) or not (size > self.RATIO_HIGH or (0 < size < self.RATIO_LOW and learning)):
                    continue
                high = size > self.RATIO_HIGH
                what = "its weights" if "." in key else "its parameters"
                self._warn("update_ratio", f"{span} one step changed {what} {key} of layer {i} ({layers[i]}) by a median "
                           f"{size:.1e} of their size (update ratio ||p_after - p_before|| / ||p_before||)",
                           "Healthy training changes each weight matrix by roughly 1e-3 of its size per step; "
                           + ("much more means the learning rate is so high that steps jump around the minimum."
                              if high else "much less means the learning rate is too low to learn in a useful time."),
                           f"{'lower' if high else 'raise'} the learning rate (e.g. by a factor of 10); {inside.SEE}")
        if len(indices) > 1:
            top = indices[-1]
            top_norm = _median(rec.grad_norm[f"{top}"][new])
            low = [(_median(rec.grad_norm[f"{i}"][new]), i) for i in indices[:-1]]
            faint = [(g, i) for g, i in low if vanishing(g, top_norm, self.VANISHING)]
            if faint:
                g, i = min(faint)
                self._warn("vanishing", f"{span} the gradient of layer {i} ({layers[i]}) has a median norm of {g:.2e}, "
                           f"{g / top_norm:.1e} times that of the last layer {top} ({top_norm:.2e})"
                           + (f"; layers {', '.join(str(j) for _, j in sorted(faint, key=lambda f: f[1]))} are all below "
                              f"{self.VANISHING:g} times it" if len(faint) > 1 else ""),
                           "Vanishing gradients: each layer multiplies the gradient on its way down by its weights and "
                           "its activation's slope (at most 0.25 for sigmoid), so a deep stack of saturating layers "
                           "passes almost nothing to its first layers, which then barely learn.",
                           f"use relu (or tanh instead of sigmoid) with init='he' or 'glorot', fewer layers, or scale the "
                           f"inputs; {inside.SEE}")
        grown = []
        for i in indices:
            curve = rec.grad_norm[f"{i}"]
            start, now = curve[0], curve[new][-1]
            if exploding(start, now, rec.losses[0], rec.losses[new][-1], self.EXPLODING):
                grown.append((now / start, i, start, now))
        if grown:
            factor, i, start, now = max(grown)
            self._warn("exploding", f"the gradient norm of layer {i} ({layers[i]}) grew from {start:.2e} at step "
                       f"{rec.steps[0]} to {now:.2e} at step {last} ({factor:.1e} times) while the loss rose from "
                       f"{rec.losses[0]:.4g} to {rec.losses[new][-1]:.4g}",
                       "Exploding gradients: each step makes the next gradient larger (weights so large, or a learning "
                       "rate so high, that the steps overshoot further each time), until the numbers overflow.",
                       f"lower the learning rate (e.g. by a factor of 10), start with smaller weights (init='glorot'), "
                       f"or clip the gradients; {inside.SEE}")

    def _gradient_note(self, i: int) -> str:
        """For a warning about layer ``i``'s units: its latest recorded gradient norm, and where to see more."""
        rec = self.inside
        if rec is None or f"{i}" not in rec.grad_norm or not rec.steps:
            return ""
        return f" (its gradient norm at step {rec.steps[-1]}: {rec.grad_norm[f'{i}'][-1]:.2e}; {inside.SEE})"

    def _warn(self, check: str, seen: str, explanation: str, suggestion: str) -> None:
        if check not in self.warned:
            self.warned.add(check)
            warnings.warn(HealthWarning(check, seen, explanation, suggestion), stacklevel=_caller_level())


def sample_rows(n: int, max_rows: int) -> NDArray[np.int64]:
    """The rows a look checks: all ``n`` of them, or ``max_rows`` evenly spaced (so data sorted by class still gives
    a fair sample; spaced >= 1 apart when ``n > max_rows``, so the truncated positions are distinct)."""
    return np.arange(n) if n <= max_rows else np.linspace(0, n - 1, max_rows).astype(np.int64)


def piece_rows(net: Any, batch_size: int) -> int:
    """Rows per piece of a look: at most a training batch, so that no product of a look is larger than a training
    step's, except on small networks (under 64k multiply-adds per layer and piece), which look at all rows at once."""
    widest = max((p.size for layer in net.layers for p in layer.params.values()), default=1)
    return max(batch_size, 65536 // max(widest, 1), 1)


def look(net: Any, X: Array, Y: Array | None, piece: int) -> tuple[list[dict[str, Array]], float]:
    """One look: ``net``'s forward pass over the rows ``X`` (in pieces of at most ``piece`` rows), in evaluation mode.

    Returns each layer's cache over all the rows (``Z`` and ``A``, shape (n_rows, n_out)) and the loss on targets
    ``Y`` (NaN without them). The layers keep the caches training left (the fast path reuses them), and a look
    draws no Dropout mask from ``net.rng`` and changes no BatchNorm running statistic: training is the same
    without it. The health monitor and ``glassnet.breaks`` (its replay, after every step) both look this way.
    """
    layers = net.layers
    saved = [layer.cache for layer in layers]
    pieces = []
    for start in range(0, len(X), piece):
        # Huge weights overflow here (the checks say what that means).
        with np.errstate(all="ignore"), net.evaluating():
            net._forward(X[start:start + piece])
        pieces.append([layer.cache for layer in layers])
    if len(pieces) > 1:  # one cache per layer over all the rows looked at
        for i, layer in enumerate(layers):
            layer.cache = {k: np.concatenate([part[i][k] for part in pieces]) for k in ("Z", "A") if k in pieces[0][i]}
    with np.errstate(all="ignore"):
        loss = float(net._loss_value(Y)) if Y is not None else math.nan
    caches = [layer.cache for layer in layers]
    for layer, cache in zip(layers, saved):
        layer.cache = cache  # leave the caches as training left them
    return caches, loss


def dead_units(Z: Array) -> NDArray[np.bool_]:
    """Per unit of a layer whose activation ``dies`` (ReLU): dead, its pre-activation ``Z`` (shape (n_rows, n_units))
    at most 0 on every row looked at, so it outputs 0 and gets zero gradient. The ``dead_relu`` warning's
    definition (and ``glassnet.breaks``'s)."""
    return np.all(Z <= 0, axis=0)


def saturated_units(activation: Any, Z: Array, A: Array, level: float | None = None,
                    rows: float | None = None) -> NDArray[np.bool_]:
    """Per unit of a layer whose activation ``saturates`` (sigmoid, tanh): in a flat tail, its derivative (the
    activation's own ``backward``, scaled to 1 at its steepest) below ``level`` (``HealthMonitor.SATURATED``) for at
    least the share ``rows`` (``HealthMonitor.SATURATED_ROWS``, 95%) of the rows. The ``saturated`` warning's
    definition (and ``glassnet.breaks``'s); the monitor passes its own values, so a subclass's are obeyed."""
    level = HealthMonitor.SATURATED if level is None else level
    rows = HealthMonitor.SATURATED_ROWS if rows is None else rows
    with np.errstate(all="ignore"):  # huge Z underflows the derivative to 0 (flat): no RuntimeWarning
        slope = activation.backward(Z, A, np.ones_like(A)) / activation.peak_slope
    # np.mean of a boolean array is its count over its length: the same numbers, without the wrapper
    return np.asarray(np.count_nonzero(slope < level, axis=0) / len(A) >= rows)


# The share of a layer's units each unit condition needs before the layer is warned about (HealthMonitor.shares()
# gives an instance's own values): a quarter dead (one dead unit among many is common and harmless), half saturated.
SHARES = {"dead_relu": HealthMonitor.DEAD_SHARE, "saturated": HealthMonitor.SATURATED_SHARE}


def layer_condition(check: str, units: NDArray[np.bool_], shares: dict[str, float] | None = None) -> bool:
    """Whether a layer's ``units`` (from :func:`dead_units` or :func:`saturated_units`) make the layer warned about:
    their share at least ``shares[check]`` (default :data:`SHARES`)."""
    share = np.count_nonzero(units) / units.size
    return bool(share >= (SHARES if shares is None else shares)[check])


def vanishing(norm: float, top_norm: float, times: float | None = None) -> bool:
    """A layer's gradient norm far below the last layer's ``top_norm`` (``times``: ``HealthMonitor.VANISHING``)."""
    times = HealthMonitor.VANISHING if times is None else times
    return top_norm > 0 and norm < times * top_norm


def exploding(start: float, now: float, loss_start: float, loss_now: float, times: float | None = None) -> bool:
    """A layer's gradient norm grown from ``start`` (the run's first step) to ``now`` by ``times``
    (``HealthMonitor.EXPLODING``) or more while the loss rose from ``loss_start`` to ``loss_now``."""
    times = HealthMonitor.EXPLODING if times is None else times
    return start > 0 and now > times * start and loss_now > loss_start


_norm = inside.norm  # the Euclidean length, rescaled when the squares overflow (one definition, in inside.py)


def _median(values: list[float]) -> float:
    """The median of the finite ``values`` (``nan`` if none): one odd sample does not make a warning."""
    finite = [v for v in values if math.isfinite(v)]
    # (statistics.median: the same middle value, or mean of the two, as np.median, without its array round trip,
    # which took 20 us a call: a look of a small network makes a dozen)
    return float(statistics.median(finite)) if finite else math.nan


def _caller_level() -> int:
    """The ``stacklevel`` of the frame that called ``fit``: the user's code, or the command-line module."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _inside_glassnet(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def _inside_glassnet(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(_GLASSNET_DIR) and not path.startswith(os.path.join(_GLASSNET_DIR, "interfaces"))
