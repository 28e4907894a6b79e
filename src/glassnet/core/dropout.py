"""Dropout: in training, each input is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``; else passed on.

Inverted dropout (Srivastava et al., 2014, in the form ``torch.nn.Dropout`` uses): the scaling happens while
training, so the expected output of every unit is its input in both modes and evaluation needs no change::

    training:    mask = (u >= p) with u ~ Uniform[0, 1) per entry      keep with probability 1 - p
                 A    = X * (mask / (1 - p))
                 dX   = dA * (mask / (1 - p))                          the same mask, the same scale
    evaluation:  A    = X,  dX = dA

The mask is drawn from the network's own seeded generator (the one ``fit`` shuffles with), so a seed gives the
same masks every run, and it stays in ``cache["mask"]`` for ``explain`` to show which units were dropped.

Next read: ``batchnorm.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import positive_int
from glassnet.core.layers import LAYERS, Layer
from glassnet.errors import ConfigError, ShapeError

Array = NDArray[np.floating]


class Dropout(Layer):
    """Inverted dropout with drop probability ``p``; no parameters.

    Parameters
    ----------
    p : float
        Probability of dropping each input, ``0 <= p < 1`` (0.5 is the classic choice for hidden units).
    n : int, optional
        Inputs per sample (= outputs); taken from the layer before when the network is built.

    Attributes
    ----------
    cache : dict
        ``"X"`` (n_samples, n), ``"mask"`` (booleans, (n_samples, n): True where the input was kept; all True in
        evaluation mode), ``"keep"`` (``1 - p``, or 1.0 in evaluation mode) and ``"A"`` (n_samples, n) of the
        last :meth:`forward`.
    rng : numpy.random.Generator
        Where the masks come from: the network's generator, handed over by :meth:`initialize`.
    """

    name = "dropout"

    def __init__(self, p: float = 0.5, n: int | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not (
                math.isfinite(p) and 0.0 <= p < 1.0):
            raise ConfigError(f"Dropout: p (the probability of dropping an input) must be a number in [0, 1), "
                              f"like 0.5; got {p!r}")
        self.p = float(p)
        self.n_in = self.n_out = positive_int(n, "Dropout n") if n is not None else 0
        self.rng = np.random.default_rng()

    def take_size(self, n: int) -> None:
        """Take the width ``n`` of the layer before (a network calls this when ``n`` was not given)."""
        self.n_in = self.n_out = n

    def initialize(self, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        """Keep ``rng`` for the masks; there are no parameters to make."""
        self.rng = rng
        self.params, self.grads, self.cache = {}, {}, {}

    def forward(self, X: Array) -> Array:
        """``A = X * (mask / (1 - p))`` in training mode (a fresh mask each call), ``A = X`` in evaluation mode."""
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ShapeError(f"{self} got input with {X.shape[-1] if X.ndim else 0} features; expected {self.n_in}")
        if self.training and self.p > 0:
            mask = self.rng.random(X.shape) >= self.p
            keep = X.dtype.type(1 - self.p)  # in X's own type, so that float32 stays float32
        else:
            mask, keep = np.ones(X.shape, dtype=bool), X.dtype.type(1)
        A = X * (mask / keep)  # torch's order: the mask scaled first, then one product
        self.cache = {"X": X, "mask": mask, "keep": keep, "A": A}
        return A

    def backward(self, dA: Array) -> Array:
        """``dX = dA * (mask / (1 - p))``: a dropped input gets no gradient, a kept one the scale of the forward pass.

        Reads the mask and the kept fraction from the cache, so it undoes exactly the forward pass that ran.
        """
        return dA * (self.cache["mask"] / self.cache["keep"])

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "p": self.p, "n": self.n_in}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dropout:
        return cls(config["p"], config.get("n"))

    def formulas(self) -> list[str]:
        if not self.training:
            return ["a = a_prev    (evaluation mode: nothing is dropped)"]
        return [f"mask = (u >= p), u ~ Uniform[0, 1), p = {self.p:g}", "a = a_prev * mask / (1 - p)"]

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g}, {self.n_in})"


LAYERS.add(Dropout)
