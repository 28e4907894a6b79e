"""The four benchmark configurations, their data, initial weights and batch order.

Every peer (glassnet, PyTorch, scikit-learn, plain NumPy) gets the same ``Problem``: the same
data, the same initial ``W``/``b`` (drawn here with NumPy, not by any peer) and the same per-epoch
permutations (``order_seed`` feeds ``np.random.default_rng``, whose ``permutation(n)`` is exactly
what ``glassnet.fit`` draws from ``net.rng`` once per shuffled epoch).

``final_loss`` scores every peer's trained parameters with one float64 formula, so the equal-loss
check compares training outcomes, not each library's own loss bookkeeping.

Next read: ``peers.py`` (the training loops), then ``run.py`` (the driver).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Params = list[tuple[NDArray[Any], NDArray[Any]]]


@dataclass(frozen=True)
class Config:
    name: str
    sizes: tuple[int, ...]
    hidden: str            # hidden activation
    output: str            # output activation
    loss: str              # "mse", "bce" or "cross_entropy"
    optimizer: str         # "sgd" or "adam"
    lr: float
    batch_size: int | None  # None: full batch
    epochs: int
    n_samples: int
    init: str = "glorot"   # "glorot" (uniform) or "he" (normal)
    repeats: int | None = None  # timed repeats in full mode (None: run.py's default)
    # Per mode: (n_samples, epochs, sizes) overrides for --quick and --smoke.
    quick: dict[str, Any] = field(default_factory=dict)
    smoke: dict[str, Any] = field(default_factory=dict)

    def scaled(self, mode: str) -> Config:
        """The configuration for ``mode`` ("full", "quick" or "smoke")."""
        over = {"full": {}, "quick": self.quick, "smoke": self.smoke}[mode]
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        values.update(over)
        return Config(**values)

    @property
    def steps_per_epoch(self) -> int:
        size = self.n_samples if self.batch_size is None else min(self.batch_size, self.n_samples)
        return -(-self.n_samples // size)

    @property
    def shuffled(self) -> bool:
        return self.batch_size is not None and self.batch_size < self.n_samples

    @property
    def n_parameters(self) -> int:
        """Weights and biases of the network: what a default install's ``compiled.worth_it`` counts."""
        return sum(a * b + b for a, b in zip(self.sizes, self.sizes[1:]))

    def matmul_flops_per_sample(self) -> int:
        """FLOPs of the three matrix products per training sample (forward, dW, dX; no dX into the data)."""
        fwd = sum(2 * a * b for a, b in zip(self.sizes, self.sizes[1:]))
        return 3 * fwd - 2 * self.sizes[0] * self.sizes[1]


CONFIGS: dict[str, Config] = {
    c.name: c
    for c in [
        Config("tiny", (2, 3, 1), "sigmoid", "sigmoid", "mse", "sgd", 0.5, None, 5000, 4,
               quick={"epochs": 2000}, smoke={"epochs": 100}),
        Config("moons", (2, 16, 16, 1), "tanh", "sigmoid", "bce", "adam", 0.01, 32, 20, 1000,
               quick={"epochs": 8}, smoke={"epochs": 2, "n_samples": 200}),
        Config("digits", (64, 128, 10), "relu", "softmax", "cross_entropy", "adam", 0.001, 64, 20, 1797, init="he",
               quick={"epochs": 6}, smoke={"epochs": 1, "n_samples": 300}),
        Config("wide", (784, 512, 512, 10), "relu", "softmax", "cross_entropy", "adam", 0.001, 256, 1, 8192, init="he", repeats=3,
               quick={"epochs": 1, "n_samples": 4096}, smoke={"epochs": 1, "n_samples": 512, "sizes": (784, 32, 32, 10)}),
    ]
}

DATA_SEED, INIT_SEED, ORDER_SEED = 0, 1, 2


@dataclass
class Problem:
    """Everything a peer needs: data (float64; peers cast), targets, initial parameters, batch order."""

    config: Config
    X: NDArray[np.float64]
    y: NDArray[Any]            # 0/1 floats of shape (n, 1) or integer labels of shape (n,)
    Y: NDArray[np.float64]     # targets as (n, n_out) floats (one-hot for cross-entropy)
    init: Params
    orders: list[NDArray[np.intp] | None]

    def batches(self) -> list[list[NDArray[np.intp] | slice]]:
        """Per epoch, the row selection of each step, exactly as ``glassnet.fit`` makes them."""
        c = self.config
        size = c.n_samples if c.batch_size is None else min(c.batch_size, c.n_samples)
        out = []
        for order in self.orders:
            starts = range(0, c.n_samples, size)
            out.append([slice(s, s + size) if order is None else order[s:s + size] for s in starts])
        return out


def make_data(c: Config) -> tuple[NDArray[np.float64], NDArray[Any]]:
    rng = np.random.default_rng(DATA_SEED)
    if c.name == "tiny":
        return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([[0], [1], [1], [0]], float)
    if c.name == "moons":
        from sklearn.datasets import make_moons

        X, y = make_moons(n_samples=c.n_samples, noise=0.2, random_state=DATA_SEED)
        return X.astype(float), y.reshape(-1, 1).astype(float)
    if c.name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X[: c.n_samples] / 16.0).astype(float), y[: c.n_samples].astype(np.int64)
    if c.name == "wide":
        n_classes = c.sizes[-1]
        centers = rng.normal(0.0, 1.0, size=(n_classes, c.sizes[0]))
        y = rng.integers(0, n_classes, size=c.n_samples)
        X = centers[y] + rng.normal(0.0, 3.0, size=(c.n_samples, c.sizes[0]))
        return X / X.std(), y.astype(np.int64)
    raise KeyError(c.name)


def make_init(c: Config) -> Params:
    rng = np.random.default_rng(INIT_SEED)
    params = []
    for a, b in zip(c.sizes, c.sizes[1:]):
        if c.init == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / a), size=(a, b))
        else:
            limit = np.sqrt(6.0 / (a + b))
            W = rng.uniform(-limit, limit, size=(a, b))
        params.append((W, np.zeros(b)))
    return params


def make_problem(name: str, mode: str = "full") -> Problem:
    c = CONFIGS[name].scaled(mode)
    X, y = make_data(c)
    if c.loss == "cross_entropy":
        Y = np.zeros((len(y), c.sizes[-1]))
        Y[np.arange(len(y)), y] = 1.0
    else:
        Y = y
    rng = np.random.default_rng(ORDER_SEED)
    orders = [rng.permutation(c.n_samples) if c.shuffled else None for _ in range(c.epochs)]
    return Problem(c, X, y, Y, make_init(c), orders)


def final_loss(c: Config, params: Params, X: NDArray[Any], Y: NDArray[Any]) -> float:
    """The mean training loss of ``params`` on all of ``X``, in float64, one formula for every peer."""
    A = np.asarray(X, np.float64)
    Z = A
    for i, (W, b) in enumerate(params):
        Z = A @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        act = c.hidden if i < len(params) - 1 else c.output
        if act == "sigmoid":
            A = 1.0 / (1.0 + np.exp(-Z))
        elif act == "tanh":
            A = np.tanh(Z)
        elif act == "relu":
            A = np.maximum(Z, 0.0)
        else:  # softmax: the loss below works from Z
            A = Z
    if c.loss == "mse":
        return float(np.mean((A - Y) ** 2))
    if c.loss == "bce":
        return float(np.mean(np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z))) - Y * Z))
    shifted = Z - Z.max(axis=1, keepdims=True)
    return float(-np.sum(Y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))) / len(Z))
