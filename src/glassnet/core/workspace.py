"""The buffers one layer's in-place forms write into, for one batch size (see ``fast.py``).

A :class:`Workspace` is made once per layer and batch size and reused by every step of that size, so a
step allocates nothing: ``Z``, ``A`` and ``dZ`` of shape ``(n_samples, n_out)``, ``dX`` of shape
``(n_samples, n_in)`` (``None`` for the first layer, whose ``dX`` nobody reads), the temporaries ``T``,
``T2``, ``mask`` (booleans) and ``rows`` (``(n_samples, 1)``) that activations and losses may use,
``grads``: views into the network's flat gradient array under the layer's parameter names, and
``cache``: the dict that becomes ``layer.cache`` after a step (its arrays are these buffers: they are
overwritten by the next step; copy what you keep).

``activation_forward`` and ``activation_backward`` are the forms of the layer's activation that the
engine chose (``agreement.py``): its own in-place forms, or its readable ones written into the buffers.
``loops`` holds the compiled loop forms the engine chose for the layer's in-place forms to call, by name: the dense
layer's ``add_bias_loop`` and ``bias_gradient_loop``, its activation's and (on the output layer) its loss's
``into_loops`` (``Softmax.shift_loop``, ``CrossEntropy.terms_loop``). A name that is absent means NumPy's form of the
same step: without numba, for a small network, and in the probes that check the in-place forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


class Workspace:
    """One layer's buffers for ``n`` samples; ``grads`` are views the caller provides."""

    def __init__(self, n: int, n_in: int, n_out: int, dtype: Any, grads: dict[str, Array], first: bool,
                 activation_forward: Callable[..., Array] | None = None,
                 activation_backward: Callable[..., Array] | None = None,
                 loops: dict[str, Callable[..., Any]] | None = None) -> None:
        shape = (n, n_out)
        self.Z = np.empty(shape, dtype)
        self.A = np.empty(shape, dtype)
        self.T = np.empty(shape, dtype)
        self.T2 = np.empty(shape, dtype)
        self.dZ = np.empty(shape, dtype)
        self.G = self.dZ  # the loss gradient (output layer): dZ itself when the loss is fused, else its own buffer
        self.mask = np.empty(shape, bool)
        self.rows = np.empty((n, 1), dtype)
        self.dX = None if first else np.empty((n, n_in), dtype)
        self.grads = grads
        self.cache: dict[str, Any] = {"X": None, "Z": self.Z, "A": self.A}
        self.activation_forward = activation_forward
        self.activation_backward = activation_backward
        self.loops = loops or {}
