"""The peers of the benchmark: one trainer per library, all doing the same arithmetic.

A peer is built by ``PEERS[name](problem, dtype)`` and returns a ``Trainer`` with ``reset()``
(back to the initial parameters, a fresh optimizer, the same batch order) and ``train()`` (every
epoch of the configuration; returns the summed per-sample loss, which every peer computes each step
as ``glassnet.fit`` does for its history) and ``params()`` (the trained ``[(W, b), ...]``).

- ``glassnet-fit``: ``Network.fit`` with its defaults (health monitor on, where glassnet has one;
  shuffling from ``net.rng``, seeded to the shared order).
- ``glassnet-step``: a Python loop of ``Network.step`` calls over the same batches.
- ``glassnet-nomonitor``: ``fit(monitor=False)``, to see what the health monitor costs.
- ``glassnet-fast``, ``glassnet-fast-step``: the same trainers as ``glassnet-fit`` and ``glassnet-step`` (see
  ``COMPILED``), run with ``GLASSNET_COMPILED=1``: the engine with numba's compiled loop forms. Every other glassnet
  cell runs with ``GLASSNET_COMPILED=0``: today's NumPy engine (``run.py`` sets the variable per cell).
- ``numpy``: a minimal hand-written vectorised MLP, the reference for what NumPy can do.
- ``torch``: ``torch.nn`` + ``torch.optim`` on the CPU, default threads.
- ``sklearn``: ``MLPClassifier`` with alpha=0, no early stopping, shuffle off (its batches go in
  data order, so its final loss is compared loosely; see ``run.py``).

Next read: ``run.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from configs import ORDER_SEED, Params, Problem


class Trainer:
    def reset(self) -> None:
        raise NotImplementedError

    def train(self) -> float:
        raise NotImplementedError

    def params(self) -> Params:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------- glassnet
class GlassnetFit(Trainer):
    def __init__(self, p: Problem, dtype: str) -> None:
        import glassnet as gn

        c = self.c = p.config
        layers = [gn.Dense(a, b, c.hidden if i < len(p.init) - 1 else c.output, init=(W, bb))
                  for i, ((W, bb), a, b) in enumerate(zip(p.init, c.sizes, c.sizes[1:]))]
        self.net = gn.Network(layers, loss=c.loss, dtype=dtype)
        self.init = {k: v.copy() for k, v in self.net.parameters().items()}
        self.X = p.X.astype(dtype)
        self.y = p.y if c.loss == "cross_entropy" else p.y.astype(dtype)
        self.problem = p

    def reset(self) -> None:
        self.net.set_parameters(self.init)
        self.net.rng = np.random.default_rng(ORDER_SEED)

    def train(self) -> float:
        c = self.c
        h = self.net.fit(self.X, self.y, epochs=c.epochs, optimizer=c.optimizer, lr=c.lr, batch_size=c.batch_size,
                         shuffle=True)
        return float(sum(h.loss) * c.n_samples)

    def params(self) -> Params:
        return [(layer.params["W"].copy(), layer.params["b"].copy()) for layer in self.net.layers]


class GlassnetNoMonitor(GlassnetFit):
    """``fit(monitor=False)``: without the health monitor that ``fit`` runs by default (where it exists)."""

    def train(self) -> float:
        import inspect

        c = self.c
        extra = {"monitor": False} if "monitor" in inspect.signature(self.net.fit).parameters else {}
        h = self.net.fit(self.X, self.y, epochs=c.epochs, optimizer=c.optimizer, lr=c.lr, batch_size=c.batch_size,
                         shuffle=True, **extra)
        return float(sum(h.loss) * c.n_samples)


class GlassnetStep(GlassnetFit):
    def train(self) -> float:
        from glassnet.core.optimizers import get_optimizer

        net, X, y, c = self.net, self.X, self.y, self.c
        opt = get_optimizer(c.optimizer, c.lr)
        total = 0.0
        for epoch in self.problem.batches():
            for rows in epoch:
                Xb = X[rows]
                total += net.step(Xb, y[rows], opt) * Xb.shape[0]
        return total


# ---------------------------------------------------------------------------------------- plain NumPy
class PlainNumpy(Trainer):
    """What a careful person writes by hand: vectorised forward, backward and update, nothing else."""

    def __init__(self, p: Problem, dtype: str) -> None:
        self.p, self.c, self.dtype = p, p.config, np.dtype(dtype)
        self.X, self.Y = p.X.astype(dtype), p.Y.astype(dtype)

    def reset(self) -> None:
        self.W = [W.astype(self.dtype) for W, _ in self.p.init]
        self.b = [b.astype(self.dtype) for _, b in self.p.init]
        self.m = [np.zeros_like(a) for a in self.W + self.b]
        self.v = [np.zeros_like(a) for a in self.W + self.b]
        self.t = 0

    def _act(self, name: str, Z: Any) -> Any:
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-Z))
        if name == "tanh":
            return np.tanh(Z)
        if name == "relu":
            return np.maximum(Z, 0.0)
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def train(self) -> float:
        c, X, Y = self.c, self.X, self.Y
        n_layers = len(self.W)
        total = 0.0
        for epoch in self.p.batches():
            for rows in epoch:
                Xb, Yb = X[rows], Y[rows]
                As, Zs = [Xb], []
                for i in range(n_layers):
                    Z = As[-1] @ self.W[i] + self.b[i]
                    Zs.append(Z)
                    As.append(self._act(c.hidden if i < n_layers - 1 else c.output, Z))
                A, Z = As[-1], Zs[-1]
                n = Xb.shape[0]
                if c.loss == "mse":
                    total += float(np.mean((A - Yb) ** 2)) * n
                    d = 2.0 * (A - Yb) / A.size * A * (1.0 - A)
                elif c.loss == "bce":
                    total += float(np.mean(np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z))) - Yb * Z)) * n
                    d = (A - Yb) / A.size
                else:
                    total += float(-np.log(A[Yb > 0]).sum())
                    d = (A - Yb) / n
                gW, gb = [None] * n_layers, [None] * n_layers
                for i in reversed(range(n_layers)):
                    gW[i] = As[i].T @ d
                    gb[i] = d.sum(axis=0)
                    if i:
                        d = d @ self.W[i].T
                        A_prev = As[i]
                        if c.hidden == "tanh":
                            d = d * (1.0 - A_prev * A_prev)
                        elif c.hidden == "relu":
                            d = d * (Zs[i - 1] > 0)
                        else:
                            d = d * A_prev * (1.0 - A_prev)
                self._update(self.W + self.b, gW + gb)
        return total

    def _update(self, params: list[Any], grads: list[Any]) -> None:
        lr = self.c.lr
        if self.c.optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= lr * g
            return
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.t += 1
        step = lr / (1 - b1**self.t)
        root = math.sqrt(1 - b2**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= step * m / (np.sqrt(v) / root + eps)

    def params(self) -> Params:
        return list(zip(self.W, self.b))


# ---------------------------------------------------------------------------------------- PyTorch
class Torch(Trainer):
    def __init__(self, p: Problem, dtype: str) -> None:
        import torch

        self.torch, self.p, self.c = torch, p, p.config
        c = self.c
        self.tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
        acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
        mods: list[Any] = []
        for i, (a, b) in enumerate(zip(c.sizes, c.sizes[1:])):
            mods.append(torch.nn.Linear(a, b, dtype=self.tdtype))
            if i < len(c.sizes) - 2:
                mods.append(acts[c.hidden]())
            elif c.loss == "mse":
                mods.append(acts[c.output]())
        self.model = torch.nn.Sequential(*mods)
        self.linears = [m for m in mods if isinstance(m, torch.nn.Linear)]
        self.loss_fn: Any = {"mse": torch.nn.MSELoss, "bce": torch.nn.BCEWithLogitsLoss,
                             "cross_entropy": torch.nn.CrossEntropyLoss}[c.loss]()
        self.X = torch.tensor(p.X, dtype=self.tdtype)
        self.y = torch.tensor(p.y) if c.loss == "cross_entropy" else torch.tensor(p.y, dtype=self.tdtype)
        self.batches = [[torch.as_tensor(r) if not isinstance(r, slice) else r for r in epoch] for epoch in p.batches()]

    def reset(self) -> None:
        torch = self.torch
        with torch.no_grad():
            for lin, (W, b) in zip(self.linears, self.p.init):
                lin.weight.copy_(torch.tensor(W.T))
                lin.bias.copy_(torch.tensor(b))
        opt = torch.optim.SGD if self.c.optimizer == "sgd" else torch.optim.Adam
        self.opt = opt(self.model.parameters(), lr=self.c.lr)

    def train(self) -> float:
        model, loss_fn, opt, X, y = self.model, self.loss_fn, self.opt, self.X, self.y
        total = 0.0
        for epoch in self.batches:
            for rows in epoch:
                Xb = X[rows]
                opt.zero_grad()
                loss = loss_fn(model(Xb), y[rows])
                loss.backward()
                opt.step()
                total += loss.item() * Xb.shape[0]
        return total

    def params(self) -> Params:
        return [(lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()) for lin in self.linears]


# ---------------------------------------------------------------------------------------- scikit-learn
class Sklearn(Trainer):
    def __init__(self, p: Problem, dtype: str) -> None:
        from sklearn.neural_network import MLPClassifier

        c = self.c = p.config
        self.p = p
        act = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}[c.hidden]
        batch = c.n_samples if c.batch_size is None else c.batch_size
        self.clf = MLPClassifier(hidden_layer_sizes=c.sizes[1:-1], activation=act, solver=c.optimizer, alpha=0.0,
                                 batch_size=batch, learning_rate_init=c.lr, max_iter=1, shuffle=False, tol=0.0,
                                 n_iter_no_change=10**9, momentum=0.0, nesterovs_momentum=False, warm_start=True,
                                 random_state=0)
        self.X = p.X.astype(dtype)
        self.y = p.y.ravel().astype(np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.fit(self.X, self.y)  # builds the structure; reset() then puts the shared init in
        self.clf.max_iter = c.epochs

    def reset(self) -> None:
        self.clf.coefs_ = [W.astype(self.X.dtype) for W, _ in self.p.init]
        self.clf.intercepts_ = [b.astype(self.X.dtype) for _, b in self.p.init]
        # What MLPClassifier._initialize sets, so that each repeat starts the same way.
        self.clf.n_iter_, self.clf.t_, self.clf.loss_curve_ = 0, 0, []
        self.clf._no_improvement_count, self.clf.best_loss_ = 0, np.inf

    def train(self) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.fit(self.X, self.y)
        return float(sum(self.clf.loss_curve_) * self.c.n_samples)

    def params(self) -> Params:
        return [(W.copy(), b.copy()) for W, b in zip(self.clf.coefs_, self.clf.intercepts_)]


# The compiled engine's cells (GLASSNET_COMPILED=1: numba's loop forms, ``glassnet/core/compiled.py``) -> the cell of
# the NumPy engine (GLASSNET_COMPILED=0) whose code they run: the same trainer, the same data, the other engine.
COMPILED = {"glassnet-fast": "glassnet-fit", "glassnet-fast-step": "glassnet-step", "monitor-paired-fast": "monitor-paired"}

PEERS: dict[str, Callable[[Problem, str], Trainer]] = {
    "glassnet-fit": GlassnetFit,
    "glassnet-step": GlassnetStep,
    "glassnet-nomonitor": GlassnetNoMonitor,
    "numpy": PlainNumpy,
    "torch": Torch,
    "sklearn": Sklearn,
}
