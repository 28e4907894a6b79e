"""Recording a training run for the HTML report: parameters at chosen epochs, and the curves.

:class:`SnapshotRecorder` is a ``fit`` callback. It copies every parameter at epoch 0 (before the
first step) and at up to ``max_snapshots`` epochs spread over the run, denser early on (quadratic
spacing: the network changes most in its first epochs), plus the last epoch actually reached. It also
keeps every epoch's losses and accuracies. It stores parameters only: the decision boundary and the
neuron maps are a pure function of the parameters, so :mod:`glassnet.viz.report` computes them when
the page is built.

A *run file* is an ordinary glassnet model file (:func:`glassnet.io.save`) of the final network that
also holds the recording: arrays ``"snapshot.<k>.<param>"`` (e.g. ``"snapshot.3.0.W"``, the parameters
at the k-th snapshot) and, in the metadata under ``"run"``, the snapshot epochs, the curves (at most
:data:`MAX_CURVE_POINTS` epochs of them) and the training settings. ``glassnet.load`` reads it as a plain
model; :func:`load_run` reads the recording too. ``glassnet train --report r.html --out run.npz`` writes one.

Next read: ``ledger.py`` (the page's form of one step's trace), then ``report.py``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import positive_int
from glassnet.core.network import Network
from glassnet.errors import ModelFileError

MAX_CURVE_POINTS = 2000
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


def snapshot_epochs(epochs: int, max_snapshots: int) -> list[int]:
    """Which epochs to snapshot: 0 and ``epochs`` always, at most ``max_snapshots`` in all, denser early.

    >>> snapshot_epochs(10, 100)
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> snapshot_epochs(1000, 5)
    [0, 62, 250, 562, 1000]
    """
    count = max(2, max_snapshots)
    if epochs + 1 <= count:
        return list(range(epochs + 1))
    chosen = set(np.round(epochs * np.linspace(0.0, 1.0, count) ** 2).astype(int).tolist())
    # Quadratic spacing repeats the first epochs; fill the spare places evenly over the run.
    for extra in np.round(np.linspace(0, epochs, 4 * count)).astype(int):
        if len(chosen) >= count:
            break
        chosen.add(int(extra))
    return sorted(chosen)


def thin(n: int, limit: int) -> NDArray[np.int64]:
    """Indices of at most ``limit`` of ``n`` items, evenly spaced, first and last always included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, limit)).astype(np.int64))


@dataclass
class Run:
    """A recorded training run: the snapshots ``[(epoch, {"0.W": ..., ...}), ...]``, curves and settings.

    ``curves`` maps ``"epoch"`` and each of :data:`CURVES` that was recorded to a list of numbers
    (possibly thinned to :data:`MAX_CURVE_POINTS` epochs; ``info["curve_epochs_total"]`` says how many
    there were). ``info`` holds ``optimizer`` (its config), ``epochs`` (asked for), ``batch_size``,
    ``n_samples``, ``stopped`` (as in ``History``) and, when recorded with
    :meth:`SnapshotRecorder.catching_warnings`, ``warnings``: ``[{"check": ..., "message": ...}, ...]``
    (``check`` is a health warning's code, else the warning's class name).
    """

    snapshots: list[tuple[int, dict[str, NDArray[Any]]]] = field(default_factory=list)
    curves: dict[str, list[float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """What goes into the model file's metadata (JSON); the parameters go into arrays."""
        return {"snapshot_epochs": [e for e, _ in self.snapshots], "curves": self.curves, "info": self.info}

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {f"snapshot.{k}.{name}": p for k, (_, params) in enumerate(self.snapshots) for name, p in params.items()}


class SnapshotRecorder:
    """A ``fit`` callback that records a :class:`Run` for the HTML report.

    Parameters
    ----------
    max_snapshots : int
        Most parameter snapshots to keep, epoch 0 and the last epoch included (default 200).

    Examples
    --------
    >>> rec = SnapshotRecorder(max_snapshots=50)
    >>> with rec.catching_warnings():                                 # doctest: +SKIP
    ...     history = net.fit(X, y, epochs=500, callbacks=[rec])
    >>> glassnet.viz.report.write_report("r.html", net, X, y, run=rec.run)  # doctest: +SKIP
    """

    def __init__(self, max_snapshots: int = 200) -> None:
        self.max_snapshots = positive_int(max_snapshots, "max_snapshots")
        self.run = Run()
        self._plan: set[int] = set()
        self._logs: dict[str, list[float]] = {}

    @contextmanager
    def catching_warnings(self) -> Iterator[SnapshotRecorder]:
        """Record the warnings raised inside the block (health warnings too) into ``run.info["warnings"]``.

        They are shown as usual when the block ends: recording them must not hide them. Use it around ``fit``::

            with rec.catching_warnings():
                net.fit(X, y, callbacks=[rec])
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield self
        self.run.info["warnings"] = [
            {"check": getattr(w.message, "check", w.category.__name__), "message": str(w.message)} for w in caught]
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def on_train_begin(self, net: Network, info: dict[str, Any]) -> None:
        opt = info.get("optimizer")
        self.run = Run(info={"optimizer": opt.config() if opt is not None else None, "epochs": info["epochs"],
                             "batch_size": info.get("batch_size"), "n_samples": info.get("n_samples")})
        self._plan = set(snapshot_epochs(info["epochs"], self.max_snapshots))
        self._logs = {"epoch": []}
        self._take(net, 0)

    def on_epoch_end(self, net: Network, epoch: int, logs: dict[str, float]) -> None:
        self._logs["epoch"].append(epoch)
        for key in CURVES:
            if key in logs:
                self._logs.setdefault(key, []).append(float(logs[key]))
        if epoch in self._plan:
            self._take(net, epoch)

    def on_train_end(self, net: Network, history: Any) -> None:
        last = history.epochs
        if self.run.snapshots[-1][0] != last:
            self._take(net, last)
        self.run.info["stopped"] = history.stopped
        keep = thin(len(self._logs["epoch"]), MAX_CURVE_POINTS)
        self.run.curves = {key: [values[i] for i in keep] for key, values in self._logs.items()
                           if len(values) == len(self._logs["epoch"])}
        self.run.info["curve_epochs_total"] = len(self._logs["epoch"])

    def _take(self, net: Network, epoch: int) -> None:
        # The buffers too (BatchNorm's running statistics, under their own keys): a snapshot evaluates as it was then.
        state = {**net.parameters(), **net.buffers()}
        self.run.snapshots.append((epoch, {key: p.copy() for key, p in state.items()}))


def save_run(net: Network, run: Run, path: str | os.PathLike[str]) -> None:
    """Save ``net`` (the final network) with ``run`` inside, atomically; ``glassnet.load`` still reads it."""
    from glassnet.io import save

    previous = net.metadata.get("run")
    net.metadata["run"] = run.metadata()
    try:
        save(net, path, arrays=run.arrays())
    finally:
        if previous is None:
            net.metadata.pop("run", None)
        else:
            net.metadata["run"] = previous


def load_run(path: str | os.PathLike[str]) -> tuple[Network, Run | None]:
    """Read a model file; returns the network and its recorded :class:`Run`, or ``None`` for a plain model."""
    from glassnet.io import load, read

    net = load(path)
    meta, arrays = read(path)
    recorded = net.metadata.pop("run", None)
    if recorded is None:
        return net, None
    try:
        epochs = [int(e) for e in recorded["snapshot_epochs"]]
        snapshots = []
        for k, epoch in enumerate(epochs):
            live = {**net.parameters(), **net.buffers()}
            # Every parameter; the buffers where the file has them (files written before snapshots kept them do not).
            params = {name: arrays[f"snapshot.{k}.{name}"] for name in live
                      if name in net.parameters() or f"snapshot.{k}.{name}" in arrays}
            for name, p in params.items():
                if p.shape != live[name].shape:
                    raise ModelFileError(f"{path}: snapshot {k} array {name!r} has shape {p.shape}, expected "
                                         f"{live[name].shape}")
            snapshots.append((epoch, params))
        run = Run(snapshots, {k: list(v) for k, v in recorded["curves"].items()}, dict(recorded["info"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the recorded run inside is damaged ({type(exc).__name__}: {exc}); "
                             "the model itself loads with glassnet.load") from None
    if not snapshots:
        raise ModelFileError(f"{path}: the recorded run inside has no snapshots")
    return net, run
