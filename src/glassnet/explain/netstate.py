"""What a step needs from the caller and what it must give back: the checked data, and the network's state.

:func:`step_data` reads ``X`` and ``y`` as :func:`glassnet.explain` and :func:`glassnet.predict_then_check` take
them (one sample may be a flat list). :class:`NetState` is a copy of everything a pass may change (parameters,
buffers such as BatchNorm's running statistics, ``net.rng`` for Dropout's masks, the modes) that can be put back
bit for bit; ``explain`` (``trace.py``) and the loss probe of predict, then check (``predict.py``) both use it,
with :func:`one_row_batchnorm` (the advice when BatchNorm1d meets one row in training mode).

Next read: ``trace.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_inputs
from glassnet.core.network import Network
from glassnet.errors import ShapeError

Array = NDArray[np.floating]


def step_data(net: Network, X: Any, y: Any) -> tuple[Array, Array]:
    """``X`` of shape ``(n_samples, n_in)`` and the targets as the loss sees them, checked; one sample may be given
    as a flat list of its inputs (and of its targets)."""
    raw = np.asarray(X)
    if raw.ndim == 1 and raw.shape[0] == net.n_in and net.n_in > 1:
        raw = raw.reshape(1, -1)  # one sample given as a flat list of its inputs
    inputs = check_inputs(raw, net.n_in, net.dtype)
    y_raw = np.asarray(y)
    if inputs.shape[0] == 1 and y_raw.ndim == 0:
        y_raw = y_raw.reshape(1)
    elif inputs.shape[0] == 1 and y_raw.ndim == 1 and y_raw.shape[0] == net.n_out > 1:
        y_raw = y_raw.reshape(1, -1)  # the targets of one sample given as a flat list
    return inputs, net._targets(y_raw, inputs.shape[0])


class NetState:
    """A copy of the network's parameters, buffers, ``net.rng`` state and modes, taken now.

    ``params``, ``buffers`` (dicts of arrays, keyed like ``net.parameters()`` / ``net.buffers()``) and ``rng``
    (the bit generator's state) can be read; :meth:`restore` writes them back into the network's own arrays.
    """

    def __init__(self, net: Network) -> None:
        self.net = net
        self.params = {k: p.copy() for k, p in net.parameters().items()}
        self.buffers = {k: b.copy() for k, b in net.buffers().items()}
        self.rng = copy.deepcopy(net.rng.bit_generator.state)
        self.modes = net._modes()

    def restore(self, modes: bool = True, values: bool = True) -> None:
        """Put the values (parameters, buffers, rng) and/or the modes back, in place."""
        net = self.net
        if values:
            for key, p in net.parameters().items():
                p[...] = self.params[key]
            for key, b in net.buffers().items():
                b[...] = self.buffers[key]
            net.rng.bit_generator.state = copy.deepcopy(self.rng)
        if modes:
            net._set_modes(self.modes)


def one_row_batchnorm(exc: ShapeError, where: str, training: bool, n_rows: int) -> ShapeError | None:
    """The error to raise when BatchNorm1d cannot normalise one row by itself in training mode, else None."""
    if training and n_rows == 1:
        return ShapeError(f"{where}: {exc}. Here the mode is this call's, not the network's (net.eval() does not "
                          "change it): for one sample pass training=False (evaluation mode), or give two samples or more")
    return None
