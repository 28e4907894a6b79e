"""Where the layers above the core plug into it: the one place where ``fit``'s defaults are wired.

``glassnet.core`` imports nothing outside itself and ``glassnet.errors`` (``tests/core/test_imports.py``
holds it to that), yet three things the core's API promises live outside it:

* ``fit(monitor=True)``: the :class:`~glassnet.verify.inside.LayerStatsRecorder` (``verify/inside.py``: each
  layer's gradient norm and update ratio, sampled, into ``history.layers``) and the
  :class:`~glassnet.verify.health.HealthMonitor` (``verify/health.py``), which reads the recorder's numbers, and
  the :class:`~glassnet.keyframes.Keyframes` it leaves for ``glassnet.find_break`` (``keyframes.py``, ``breaks.py``);
* ``fit(checkpoint=..., checkpoint_every=..., resume=...)``: the :class:`~glassnet.checkpoint.Checkpointer`
  (``checkpoint.py``), which also restores a resumed run before training starts;
* ``Network.save(path)``: the file format, :func:`glassnet.io.save` (``io.py``).

The core leaves a slot for each (``core.training.install_default_callbacks`` and
``core.network.install_writer``) and :func:`install` fills them. ``glassnet/__init__.py`` calls it, and any
``import glassnet.<something>`` runs that file first, so the slots are always filled before a network can be
trained or saved. The names are looked up when used, not when installed, so a test that replaces
``glassnet.verify.health.HealthMonitor`` or ``glassnet.io.save`` is obeyed.

The default callbacks run after the user's own, in this order: the layer-stats recorder (which steps aside when
the user added one of their own), the health monitor (after the recorder, so each look sees the steps before it),
the keyframes of ``keyframes.py`` (after the monitor, so they know what its look found), then the checkpointer (so a
checkpoint records an epoch after every other callback has seen it).

Next read: ``checkpoint.py`` (what a checkpoint holds), ``verify/health.py`` (what the monitor checks).
"""

from __future__ import annotations

from typing import Any

from glassnet import checkpoint as checkpoints
from glassnet import io, keyframes
from glassnet.core import network, training
from glassnet.core.training import Run
from glassnet.verify import health, inside


def default_callbacks(run: Run, *, monitor: bool, checkpoint: Any, checkpoint_every: int | None,
                      resume: bool) -> list[Any]:
    """The callbacks ``fit``'s ``monitor`` and ``checkpoint`` arguments ask for; restores ``run`` when resuming.

    ``resume`` and ``checkpoint_every`` mean nothing without ``checkpoint`` (as documented on ``fit``).
    """
    callbacks: list[Any] = []
    keyframes.forget(run.net)  # a new fit: what was kept of the last one (to replay it) no longer describes the network
    if monitor:
        # On by default, because the people who most need the warnings do not know to ask for them. The recorder
        # only samples (the first 8 steps, then one in 8 or fewer: at most ~120 a run): cheap on any network.
        callbacks.append(inside.LayerStatsRecorder(defer=True))
        watcher = health.HealthMonitor()
        callbacks.append(watcher)
        callbacks.append(keyframes.Keyframes(watcher, run))  # the state "when did it break?" replays from
    if checkpoint is not None:
        saver = checkpoints.Checkpointer(checkpoint, checkpoint_every, checkpoints.run_settings(run), run.callbacks)
        run.epochs_done = saver.begin(run.net, run.optimizer, run.history, run.epochs, resume)
        callbacks.append(saver)
    return callbacks


def save(net: network.Network, path: Any) -> None:
    """``Network.save``: :func:`glassnet.io.save` (looked up at each call)."""
    io.save(net, path)


def install() -> None:
    """Plug :func:`default_callbacks` into ``fit`` and :func:`save` into ``Network.save`` (``glassnet/__init__.py``
    calls this once; calling it again changes nothing)."""
    training.install_default_callbacks(default_callbacks)
    network.install_writer(save)
