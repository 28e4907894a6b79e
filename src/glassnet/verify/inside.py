"""Watching the inside of training: each layer's gradient norm and update-to-weight ratio, sampled.

A loss curve says *that* training goes badly; these numbers say *where*. For every layer with parameters
(and for each of its parameters, under the names ``Network.parameters()`` uses), at a sample of the steps:

``grad_norm``     ``||g||``, the Euclidean length of the gradient the step computed (``layer.grads``, with the L2
                  penalty's ``l2 * W`` when ``l2`` is set; before ``max_grad_norm`` clips it, since the optimizer
                  clips copies, and without an optimizer's ``weight_decay``, which is part of its update rule).
                  A layer's value is the length of all its gradients
                  together: ``sqrt(||g_W||**2 + ||g_b||**2)``. Lower layers far below the last one (1e-4 times):
                  vanishing gradients; norms growing by orders of magnitude: exploding ones.
``update_ratio``  ``||p_after - p_before|| / ||p_before||``, how far one step moved the parameters relative to their
                  size (a layer's: all its parameters together). Karpathy's rule of thumb: about 1e-3; far below,
                  the learning rate is too low; far above, too high. ``inf`` where ``||p_before|| = 0`` and the
                  step moved them (biases that start at zero, at the first step).
``loss``          the batch loss of that step (before its update), so a curve can be read beside the numbers.

:class:`LayerStatsRecorder` is the ``fit`` callback that measures them. ``fit(monitor=True)`` (the default) adds
one (``glassnet/wiring.py``); add your own to choose the sampling: ``fit(..., callbacks=[LayerStatsRecorder(every=1)])``
(then the default one steps aside). The result lands in ``history.layers`` (:meth:`LayerStatsRecorder.result`),
which ``History.to_dict()`` carries into model files; ``glassnet.plot_layer_stats(history)`` draws it, and the
health monitor (``health.py``) reads it to warn about vanishing and exploding gradients and badly sized steps.

Cheap by construction: it samples the first step and every ``every``-th step after (by default: each of the first
8 steps, where a run that blows up shows it, then every ``every``-th, with ``every`` at least 8 and chosen so a long run
keeps between 100 and 120 samples). On a step it does not sample it runs two Python calls and
a comparison. On a sampled step it copies the parameters in ``on_batch_begin`` (the step then updates them in
place) into buffers it keeps while ``fit`` runs, and in ``on_batch_end`` takes the norms of ``layer.grads`` (views
the step filled: nothing to copy) and of the change, in the arrays' own dtype (:func:`norm`). It only reads
(``observes_only``): training computes exactly the same numbers with it or without it. Still, a sample costs about
eight passes over the parameters: 10% to 20% of a step of a 670k-parameter network (bench/README.md, issue 17), and
on a tiny one its Python calls take about as long as the step. Hence the default's floor of 8 (``MIN_EVERY``): on a
short run, sampling every step made a default ``fit`` 10% to 20% slower; one sample in 8 after the first 8 steps costs
2% to 3% (a 32-step run still samples 11 of its steps; a run of 800 steps or more, one in 8 or fewer).

Next read: ``health.py`` (the warnings that point here), then ``glassnet/viz/plots.py``'s ``plot_layer_stats``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import positive_int

Array = NDArray[Any]

FIELDS = ("grad_norm", "update_ratio")  # the per-key curves of a record; "step", "epoch" and "loss" are per sample
SEE = "see history.layers / glassnet.plot_layer_stats(history)"  # what the health warnings point to

# The recorder watching each network while fit runs (weakly held): the health monitor reads its numbers, and the
# default recorder steps aside for one the user added.
_recording: weakref.WeakKeyDictionary[Any, LayerStatsRecorder] = weakref.WeakKeyDictionary()


def recorder_for(net: Any) -> LayerStatsRecorder | None:
    """The :class:`LayerStatsRecorder` recording ``net``'s training now, if any."""
    return _recording.get(net)


def norm(v: Array) -> float:
    """The Euclidean length of the array ``v`` (any shape): ``sqrt(v . v)``, rescaled by its largest entry when
    the squares overflow (weights and gradients near 1e200 have a finite length) or underflow (a gradient of 1e-30s).

    A float32 or float64 array is summed in its own dtype (one BLAS dot, no copy); any other is converted to float64
    first. In float32 that gives up precision a diagnostic does not need: each square and the sum are rounded to
    float32, a relative error of the length (measured with OpenBLAS 0.3.31, which keeps many partial sums) of 5e-7
    for 400k entries, 1e-5 for 4M; a BLAS summing left to right would give about 1e-5 for 100k and 2e-4 for a
    million. The checks that read these numbers compare them with thresholds a factor of 3 or more away. (A float64
    copy of each float32 array, as before, made one sample of the 670k-parameter ``wide`` network cost 4 ms or more
    instead of 1: bench/README.md.) A float64 array of more than ``_PIECE`` entries is summed in pieces (see there).
    """
    with np.errstate(all="ignore"):
        return _length(v)


def _length(v: Array) -> float:
    """:func:`norm` without its ``np.errstate`` (a few microseconds each): for callers inside one already."""
    kind = v.dtype.char  # "d" float64, "f" float32
    if kind != "d" and kind != "f":
        v, kind = v.astype(np.float64), "d"
    flat = v.ravel()
    n = flat.size
    if kind == "f" or n <= _PIECE:
        size = math.sqrt(flat.dot(flat))
    else:  # (see _PIECE)
        size = math.sqrt(sum(float(part.dot(part)) for part in (flat[i:i + _PIECE] for i in range(0, n, _PIECE))))
    # The squares lost to overflow (inf) or to underflow (entries below sqrt(tiny), 1e-19 in float32, 1e-154 in
    # float64, square to subnormals or 0): only when the length is this small could they be a share of it above eps.
    if not 1e-8 < size < math.inf and (math.isinf(size) or size < _FLOOR[kind] * math.sqrt(n)):  # (the rare case)
        top = float(np.max(np.abs(flat), initial=0.0))
        if top == 0.0 or not math.isfinite(top):  # all zeros, or an inf entry
            return top
        scaled = flat / top
        size = top * math.sqrt(scaled.dot(scaled))
    return size


# OpenBLAS (0.3.31 here) runs a float64 dot of more than 10,000 entries on its threads, and waking them can cost far
# more than the dot: on the busy 2-core bench machine, one dot of 20,000 entries after 2 ms idle took 0.045 ms at best
# and 10 ms in the median, and a sample of the wide network (float64) a median 93 ms with whole-array dots against
# 15 ms in pieces. So a float64 array is summed in pieces that stay on the calling thread. (Its float32 dot, sdot,
# ran on one thread at every size measured, up to 8M entries.)
_PIECE = 8192
# sqrt(tiny / eps) per dtype: below _FLOOR * sqrt(n), the squares that underflowed might matter (see _length)
_FLOOR = {np.dtype(t).char: math.sqrt(float(np.finfo(t).tiny) / float(np.finfo(t).eps)) for t in (np.float32, np.float64)}


def ratio(change: float, size: float) -> float:
    """``change / size``; when ``size`` is 0, ``inf`` for a step that moved, 0 for one that did not."""
    if size > 0:
        return change / size
    return math.inf if change > 0 else 0.0


class LayerStatsRecorder:
    """Records each layer's gradient norm and update-to-weight ratio at a sample of the training steps.

    Parameters
    ----------
    every : int, optional
        Sample the first step and every ``every``-th step of training (steps counted from 1 over all epochs, as
        ``history.steps`` counts them). ``None`` (default): each of the first 8 steps (``FIRST``), then every
        ``every``-th with ``every`` chosen when training starts as ``steps of the run // 100`` and at least 8
        (``MIN_EVERY``), so a run of 800 steps or more keeps between 100 and 120 samples (a shorter one keeps steps
        1 to 8, 16, 24, ...; pass ``every=1`` to see every step). The
        run is all ``epochs`` of ``fit``, those a resumed run has behind it too: a run stopped and resumed samples
        the same steps as one that was not.
    defer : bool
        Record nothing when another recorder already records the same training (``fit``'s default recorder
        is made with ``defer=True``, so one you add yourself decides the sampling).

    Attributes
    ----------
    record : dict
        What :meth:`result` returns, as it grows; while ``fit`` runs it is also ``history.layers`` (so a checkpoint
        keeps it, and a resumed run continues it).
    steps, epochs, losses : list
        Per sample: the step number, its epoch and the batch loss that step computed (``record``'s lists).
    grad_norm, update_ratio : dict of str to list of float
        Per key (``"0"`` for layer 0 as a whole, ``"0.W"``, ``"0.b"`` for its parameters): one value per sample.
    """

    # Only reads layer.params and layer.grads (copies them, never replaces or hooks anything): fit keeps its fast path.
    observes_only = True
    PER_RUN = 100  # at least this many samples in a run of PER_RUN * MIN_EVERY steps or more (and at most about 120)
    MIN_EVERY = 8  # the default samples at most one step in 8 after its first FIRST (a sample's cost: module docstring)
    FIRST = 8  # the default samples each of the first FIRST steps: a run that blows up often does so within them

    def __init__(self, every: int | None = None, defer: bool = False) -> None:
        self.every = None if every is None else positive_int(every, "LayerStatsRecorder every")
        self.defer = bool(defer)
        self.active = False
        self.keys: list[tuple[int, list[str]]] = []  # (layer index, its parameter names) for each layer with parameters
        self._names: list[tuple[str, list[str]]] = []  # per layer in keys: its record keys ("0", ["0.W", "0.b"])
        self._buffers: list[list[Array]] = []  # per layer in keys, its parameters' copies at a sampled step (while fit runs)
        self._start(self.every or 1, 1, None)

    def _start(self, every: int, first: int, earlier: Any) -> None:
        """A new record sampling each of the steps up to ``first`` and every ``every``-th, or ``earlier`` (a resumed
        run's) continued when it fits."""
        names = sorted([f"{i}" for i, _ in self.keys] + [f"{i}.{name}" for i, names in self.keys for name in names],
                       key=_key_order)
        fresh: dict[str, Any] = {"every": every, "first": first, "step": [], "epoch": [], "loss": [],
                                 "grad_norm": {name: [] for name in names}, "update_ratio": {name: [] for name in names}}
        fits = (isinstance(earlier, dict) and problem(earlier) is None and earlier.get("every") == every
                and earlier.get("first", 1) == first
                and all(set(earlier.get(field, {})) == set(names) for field in FIELDS))
        self.record: dict[str, Any] = earlier if fits else fresh
        self.steps: list[int] = self.record["step"]
        self.epochs: list[int] = self.record["epoch"]
        self.losses: list[float] = self.record["loss"]
        self.grad_norm: dict[str, list[float]] = self.record["grad_norm"]
        self.update_ratio: dict[str, list[float]] = self.record["update_ratio"]
        self.before: list[list[Array]] | None = None

    # ----------------------------------------------------------------- callback methods
    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        self.active = not (self.defer and recorder_for(net) is not None)
        if not self.active:
            return
        _recording[net] = self
        self.keys = [(i, list(layer.params)) for i, layer in enumerate(net.layers) if layer.params]
        self._names = [(f"{i}", [f"{i}.{name}" for name in names]) for i, names in self.keys]  # the record's keys
        self.steps_per_epoch = -(-info["n_samples"] // info["batch_size"])
        self.k = self.every or max(self.MIN_EVERY, info["epochs"] * self.steps_per_epoch // self.PER_RUN)
        self.first = 1 if self.every else self.FIRST
        history = info.get("history")
        earlier = history.layers if history is not None and info.get("epochs_done", 0) else None
        if self.every is None and isinstance(earlier, dict) and earlier and problem(earlier) is None:
            # A resumed run keeps the sampling its record began with (one saved before "first" existed sampled step 1
            # and every k-th), so that its samples so far are continued, not dropped.
            self.k, self.first = earlier.get("every", 1), earlier.get("first", 1)
        self._start(self.k, self.first, earlier)
        if history is not None:
            history.layers = self.record  # live: a checkpoint at an epoch's end keeps the samples so far

    def on_batch_begin(self, net: Any, epoch: int, step: int, X: Array, Y: Array) -> None:
        if not self.active:
            return
        at = (epoch - 1) * self.steps_per_epoch + step
        if at % self.k and at > self.first:
            return
        self.at, self.epoch = at, epoch
        # The step updates the parameters in place (the fast path's flat buffer): keep what they were, in buffers made
        # at the first sample and reused (fresh copies at every sample paid for new memory each time: its page faults).
        layers, kept = net.layers, self._buffers
        params = [[layers[i].params[name] for name in names] for i, names in self.keys]
        if len(kept) != len(params) or any(b.shape != p.shape or b.dtype != p.dtype
                                           for bs, ps in zip(kept, params) for b, p in zip(bs, ps)):
            self._buffers = kept = [[p.copy() for p in ps] for ps in params]
        else:
            for bs, ps in zip(kept, params):
                for b, p in zip(bs, ps):
                    b[...] = p
        self.before = kept

    def on_batch_end(self, net: Any, epoch: int, step: int, loss: float) -> None:
        before = self.before
        if before is None:
            return
        self.before = None
        with np.errstate(all="ignore"):  # huge parameters overflow their squares: that is inf, not a warning
            self._measure(net.layers, before, loss)

    def _measure(self, layers: list[Any], before: list[list[Array]], loss: float) -> None:
        """One sample: the norms of each layer's gradients, of its parameters before the step and of the change."""
        self.steps.append(self.at)
        self.epochs.append(self.epoch)
        self.losses.append(float(loss))
        grad_norm, update_ratio = self.grad_norm, self.update_ratio
        for (i, names), kept, (whole, keys) in zip(self.keys, before, self._names):
            layer = layers[i]
            grads, sizes, changes = [], [], []
            for name, old, key in zip(names, kept, keys):
                g = layer.grads.get(name)
                grads.append(_length(np.asarray(g)) if g is not None else math.nan)
                sizes.append(_length(old))
                changes.append(_length(np.subtract(layer.params[name], old, out=old)))  # the copy becomes the change
                grad_norm[key].append(grads[-1])
                update_ratio[key].append(ratio(changes[-1], sizes[-1]))
            # A layer as a whole: the length of all its parameters (or gradients) as one vector.
            grad_norm[whole].append(math.hypot(*grads))
            update_ratio[whole].append(ratio(math.hypot(*changes), math.hypot(*sizes)))

    def on_train_end(self, net: Any, history: Any) -> None:
        if self.active:
            history.layers = self.record
        self._release(net)

    def on_train_abort(self, net: Any, error: BaseException) -> None:
        self._release(net)  # what was recorded stays readable in self.result()

    def _release(self, net: Any) -> None:
        if _recording.get(net) is self:
            del _recording[net]
        self.before = None
        self._buffers = []  # the copies go with the fit: a recorder kept afterwards holds no parameters

    # ----------------------------------------------------------------- the record
    def result(self) -> dict[str, Any]:
        """A copy of the record, what ``history.layers`` holds: plain lists and numbers (JSON-able).

        ``{"every": k, "first": f, "step": [...], "epoch": [...], "loss": [...], "grad_norm": {"0": [...], "0.W": [...], ...},
        "update_ratio": {...}}``, one entry per sample in every list.
        """
        return upto(self.record, len(self.steps))


def sampling(record: Mapping[str, Any]) -> str:
    """Which steps ``record`` (``history.layers``) sampled, in words: "the first and every 3rd", "each of the first 8
    and every 8th"."""
    every, first = record.get("every", 1), record.get("first", 1)
    nth = f"{every}{'th' if 10 <= every % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(every % 10, 'th')}"
    start = "the first" if first <= 1 else f"each of the first {first}"
    return "every step" if every == 1 else f"{start} and every {nth}"


def upto(record: Mapping[str, Any], n: int) -> dict[str, Any]:
    """A copy of ``record`` (``history.layers``) with its first ``n`` samples: what a checkpoint keeps of it."""
    cut = lambda value: ({k: list(v[:n]) for k, v in value.items()} if isinstance(value, dict)
                         else list(value[:n]) if isinstance(value, list) else value)
    return {key: cut(value) for key, value in record.items()}


def _key_order(key: str) -> tuple[int, str]:
    """Layer 0 first, then its parameters, then layer 1, ... (``"0" < "0.W" < "0.b" < "1" < ... < "10"``)."""
    layer, _, name = key.partition(".")
    return int(layer), name


def layer_keys(record: Mapping[str, Any]) -> list[str]:
    """The keys of ``record["grad_norm"]`` that stand for a whole layer (``"0"``, ``"1"``, ...), in layer order."""
    return sorted((k for k in record.get("grad_norm", {}) if "." not in k), key=int)


def problem(record: Any) -> str | None:
    """What is wrong with ``record`` as a ``history.layers`` entry read back from a file, or ``None``.

    An empty dictionary is fine (nothing was recorded). Otherwise: ``step`` and ``epoch`` lists of whole numbers
    and ``loss`` a list of numbers, all of one length, and ``grad_norm`` and ``update_ratio`` dictionaries mapping
    text to lists of numbers of that same length.
    """
    if not isinstance(record, dict):
        return f"must be a dictionary (LayerStatsRecorder.result()), not {type(record).__name__}"
    if not record:
        return None
    for key in ("step", "epoch"):
        value = record.get(key)
        if not (isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            return f"entry {key!r} must be a list of whole numbers"
    steps, lists = record["step"], {"epoch": record["epoch"], "loss": record.get("loss")}
    for field in FIELDS:
        curves = record.get(field)
        if not isinstance(curves, dict) or not all(isinstance(k, str) for k in curves):
            return f"entry {field!r} must be a dictionary of lists keyed by parameter names"
        lists.update({f"{field}[{k!r}]": v for k, v in curves.items()})
    for name, value in lists.items():
        if not (isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            return f"entry {name} must be a list of numbers"
        if len(value) != len(steps):
            return f"entry {name} has {len(value)} values for {len(steps)} steps"
    for key in ("every", "first"):  # "first" is absent from records saved before it existed: 1
        value = record.get(key, 1)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return f"entry {key!r} must be a whole number of at least 1"
    return None


__all__ = ["LayerStatsRecorder", "layer_keys", "norm", "problem", "recorder_for", "sampling", "upto"]
