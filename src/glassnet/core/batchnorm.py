"""Batch normalisation (Ioffe & Szegedy, 2015) of each feature, with a learnable scale ``gamma`` and shift ``beta``.

In training mode each feature is normalised by the mean and variance of the batch, and running estimates of
both are kept for evaluation mode, which normalises by those instead (as ``torch.nn.BatchNorm1d``)::

    training:    mean = sum_i x_i / N                  var = sum_i (x_i - mean)^2 / N      (biased)
                 inv_std = 1 / sqrt(var + eps)         x_hat = (x - mean) * inv_std
                 a = gamma * x_hat + beta
                 running_mean <- (1 - momentum) * running_mean + momentum * mean
                 running_var  <- (1 - momentum) * running_var  + momentum * var * N / (N - 1)   (unbiased)
    evaluation:  x_hat = (x - running_mean) / sqrt(running_var + eps),  a = gamma * x_hat + beta

The backward pass in training mode is where hand-written backprop goes wrong: ``mean`` and ``var`` depend on
every row of the batch, so each ``x_i`` reaches the loss through every ``x_hat_j``. Written out per feature, with
``dx_hat = dA * gamma``::

    dgamma = sum_i dA_i * x_hat_i          dbeta = sum_i dA_i
    dvar   = sum_i dx_hat_i * (x_i - mean) * (-1/2) * (var + eps)^(-3/2)
    dmean  = -inv_std * sum_i dx_hat_i     (+ dvar * sum_i -2 (x_i - mean) / N, which is 0)
    dx_i   = dx_hat_i * inv_std + dvar * 2 (x_i - mean) / N + dmean / N
           = inv_std / N * (N * dx_hat_i - sum_j dx_hat_j - x_hat_i * sum_j dx_hat_j * x_hat_j)

The last line is what :meth:`BatchNorm1d.backward` computes. In evaluation mode the statistics are constants
and ``dx = dA * gamma * inv_std``.

Next read: ``losses.py``.
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


class BatchNorm1d(Layer):
    """Normalise each of ``n`` features over the batch, then scale by ``gamma`` and shift by ``beta``.

    Parameters
    ----------
    n : int, optional
        Features per sample (inputs = outputs); taken from the layer before when the network is built.
    eps : float
        Added to the variance before the square root, so a constant feature does not divide by zero.
    momentum : float
        Weight of the new batch in the running statistics (torch's convention: 0.1).

    Attributes
    ----------
    params : dict
        ``"gamma"`` (n,), starting at 1, and ``"beta"`` (n,), starting at 0.
    buffers : dict
        ``"running_mean"`` (n,), starting at 0, and ``"running_var"`` (n,), starting at 1: kept, not trained.
    cache : dict
        ``"X"``, ``"mean"``, ``"var"``, ``"inv_std"``, ``"X_hat"`` and ``"A"`` of the last :meth:`forward`, and
        ``"training"``: the mode it ran in (so :meth:`backward` differentiates what forward computed).
    """

    name = "batchnorm1d"
    aliases = ("batchnorm", "batch_norm")
    min_training_rows = 2  # one row has no batch variance (fit checks its batches before training starts)

    def __init__(self, n: int | None = None, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        for what, value, low in (("eps", eps, 0.0), ("momentum", momentum, 0.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                    math.isfinite(value) and value > low and (what == "eps" or value <= 1)):
                expected = "a number > 0, like 1e-5" if what == "eps" else "a number in (0, 1], like 0.1"
                raise ConfigError(f"BatchNorm1d: {what} must be {expected}; got {value!r}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.n_in = self.n_out = positive_int(n, "BatchNorm1d n") if n is not None else 0
        if n is not None:
            self.initialize(np.random.default_rng(0))

    def take_size(self, n: int) -> None:
        """Take the width ``n`` of the layer before (a network calls this when ``n`` was not given)."""
        self.n_in = self.n_out = n

    def initialize(self, rng: np.random.Generator, dtype: Any = np.float64) -> None:
        """``gamma`` to ones, ``beta`` to zeros, the running mean to 0 and the running variance to 1 (no randomness)."""
        n = self.n_in
        self.params = {"gamma": np.ones(n, dtype), "beta": np.zeros(n, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.buffers = {"running_mean": np.zeros(n, dtype), "running_var": np.ones(n, dtype)}
        self.cache = {}

    def forward(self, X: Array) -> Array:
        """Normalise ``X`` (n_samples, n) by the batch's statistics (training) or the running ones (evaluation)."""
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ShapeError(f"{self} got input with {X.shape[-1] if X.ndim else 0} features; expected {self.n_in}")
        N = X.shape[0]
        if self.training:
            if N < 2:
                raise ShapeError(
                    f"{self} got a batch of {N} row in training mode: one row has no batch variance (torch refuses "
                    "it too). Use batch_size >= 2 (and a number of rows that leaves no last batch of one), or "
                    "net.eval() to normalise by the running statistics")
            mean = X.mean(axis=0)
            var = ((X - mean) ** 2).mean(axis=0)
            m = self.momentum
            self.buffers["running_mean"][...] = (1 - m) * self.buffers["running_mean"] + m * mean
            self.buffers["running_var"][...] = (1 - m) * self.buffers["running_var"] + m * var * (N / (N - 1))
        else:
            mean, var = self.buffers["running_mean"].copy(), self.buffers["running_var"].copy()
        inv_std = 1 / np.sqrt(var + self.eps)
        X_hat = (X - mean) * inv_std
        A = self.params["gamma"] * X_hat + self.params["beta"]
        self.cache = {"X": X, "mean": mean, "var": var, "inv_std": inv_std, "X_hat": X_hat, "A": A,
                      "training": self.training}
        return A

    def backward(self, dA: Array) -> Array:
        """Gradients of ``gamma`` and ``beta`` and ``dX`` (n_samples, n) from ``dA`` (n_samples, n); see the module
        docstring for the derivation."""
        X_hat, inv_std = self.cache["X_hat"], self.cache["inv_std"]
        dgamma = (dA * X_hat).sum(axis=0)
        dbeta = dA.sum(axis=0)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        dX_hat = dA * self.params["gamma"]
        if not self.cache["training"]:
            return dX_hat * inv_std  # the running statistics are constants
        N = dA.shape[0]
        return inv_std / N * (N * dX_hat - dX_hat.sum(axis=0) - X_hat * (dX_hat * X_hat).sum(axis=0))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "n": self.n_in, "eps": self.eps, "momentum": self.momentum}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BatchNorm1d:
        return cls(config.get("n"), config.get("eps", 1e-5), config.get("momentum", 0.1))

    def formulas(self) -> list[str]:
        if not self.training:
            return ["x_hat = (a_prev - running_mean) / sqrt(running_var + eps)", "a = gamma * x_hat + beta"]
        return ["mean = sum_i a_prev_i / N,  var = sum_i (a_prev_i - mean)^2 / N",
                "x_hat = (a_prev - mean) / sqrt(var + eps)", "a = gamma * x_hat + beta"]

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.n_in})"


LAYERS.add(BatchNorm1d)
