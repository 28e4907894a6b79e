"""Optimizers: update rules keyed by stable parameter names (``"0.W"``, ``"0.b"``, ``"1.W"``, ...).

``optimizer.update(params, grads)`` changes every array in ``params`` in place, using the gradient
under the same name; state such as momentum buffers is kept per name in ``optimizer.state``. The
equations are those of ``torch.optim.SGD`` and ``torch.optim.Adam`` (tests compare trajectories).

Next read: ``glassnet.verify`` (gradient checks) or ``glassnet.explain``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import ConfigError, unknown_name

Array = NDArray[np.floating]


def _check_positive(value: float, what: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(f"{owner}: {what} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{owner}: {what} must be a positive number, got {value}. Try {what}=0.1.")
    return float(value)


class Optimizer:
    """Base class: ``update(params, grads)`` and per-parameter ``state``."""

    def __init__(self, lr: float) -> None:
        self.lr = _check_positive(lr, "learning rate lr", type(self).__name__)
        self.state: dict[str, dict[str, Any]] = {}

    def update(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        for name, p in params.items():
            self.update_one(name, p, grads[name])

    def update_one(self, name: str, p: Array, g: Array) -> None:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The settings, as saved in checkpoints and shown in explanations."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as in ``torch.optim.SGD``.

    Without momentum: ``p <- p - lr * g``. With momentum ``mu``, per parameter a velocity ``v``
    (``v <- g`` at the first step, then ``v <- mu * v + g``) and the step uses ``v``, or
    ``g + mu * v`` with Nesterov (Sutskever et al., 2013, in PyTorch's formulation).
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        if isinstance(momentum, bool) or not (isinstance(momentum, (int, float, np.integer, np.floating))
                                              and 0.0 <= momentum < 1.0):
            raise ConfigError(f"SGD: momentum must be a number in [0, 1), like 0.9; got {momentum!r}")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ConfigError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ConfigError("SGD: nesterov=True needs a momentum > 0, e.g. SGD(lr, momentum=0.9, nesterov=True)")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def update_one(self, name: str, p: Array, g: Array) -> None:
        if self.momentum:
            state = self.state.setdefault(name, {})
            if "velocity" not in state:
                state["velocity"] = g.copy()
            else:
                state["velocity"] = self.momentum * state["velocity"] + g
            g = g + self.momentum * state["velocity"] if self.nesterov else state["velocity"]
        p -= self.lr * g

    def config(self) -> dict[str, Any]:
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as in ``torch.optim.Adam``.

    Per parameter, at step ``t``::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(
                isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, bool) and 0.0 <= b < 1.0
                for b in betas):
            raise ConfigError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _check_positive(eps, "eps", "Adam")

    def update_one(self, name: str, p: Array, g: Array) -> None:
        beta1, beta2 = self.betas
        state = self.state.setdefault(name, {})
        if "m" not in state:
            state["t"] = 0
            state["m"] = np.zeros_like(p)
            state["v"] = np.zeros_like(p)
        state["t"] += 1
        t = state["t"]
        state["m"] = beta1 * state["m"] + (1 - beta1) * g
        state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
        step_size = self.lr / (1 - beta1**t)
        denom = np.sqrt(state["v"]) / math.sqrt(1 - beta2**t) + self.eps
        p -= step_size * state["m"] / denom

    def config(self) -> dict[str, Any]:
        return {"name": "adam", "lr": self.lr, "betas": list(self.betas), "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(name: str | Optimizer, lr: float = 0.1, **options: Any) -> Optimizer:
    """Return an optimizer: ``name`` itself if it already is one, else a new one with ``lr`` and ``options``."""
    if isinstance(name, Optimizer):
        return name
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    cls = OPTIMIZERS[key]
    settings = [name for name in inspect.signature(cls).parameters if name != "lr"]
    unknown = sorted(set(options) - set(settings))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no setting(s) {', '.join(map(repr, unknown))}; its settings are lr, "
                          f"{', '.join(settings)}")
    return cls(lr, **options)
