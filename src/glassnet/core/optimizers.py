"""Optimizers: update rules keyed by stable parameter names (``"0.W"``, ``"0.b"``, ``"1.W"``, ...).

``optimizer.update(params, grads)`` changes every array in ``params`` in place, using the gradient
under the same name; state such as momentum buffers is kept per name in ``optimizer.state``. The
equations are those of ``torch.optim.SGD``, ``torch.optim.Adam`` and ``torch.optim.RMSprop`` (tests
compare trajectories).

``update_one`` is the readable rule for one parameter. ``update_into`` beside it is the same rule on
flat slices of *all* parameters at once (the engine keeps every parameter, gradient and state buffer of
a network in one flat array each), written with ``out=`` arguments; it is what ``fit`` and ``step`` run,
and the engine checks it against ``update_one`` once per class and dtype (``core/agreement.py``). An
optimizer without ``update_into`` (your own) runs on ``update_one``. ``buffers()`` names the state
arrays of one parameter; ``counts_steps`` says whether the state keeps the step count ``t``.

A step whose update makes a parameter or a state array NaN or inf is undone and raises ``TrainingDiverged``
(:func:`update_or_undo` on the readable path; ``core/fast.py`` keeps the same promise on its flat buffers): the
loss and the gradients can be finite while ``lr * g`` overflows.

``explain_update`` writes the rule as text, one :class:`UpdateLine` per state buffer and one for the new
value, for ``glassnet.explain``'s ledger and worksheets: an optimizer class carries its own formulas, so a
new one appears there with no edit elsewhere (the base class's version lists the state buffers it kept).

Next read: ``glassnet.verify`` (gradient checks) or ``glassnet.explain``.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import all_finite, update_overflowed
from glassnet.core.registry import Registry
from glassnet.errors import ConfigError

Array = NDArray[np.floating]


def _check_positive(value: float, what: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(f"{owner}: {what} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{owner}: {what} must be a positive number, got {value}. Try {what}=0.1.")
    return float(value)


class StepValues(NamedTuple):
    """One entry of one parameter in one step, as the engine computed it (what :meth:`Optimizer.explain_update`
    writes formulas about; it never computes these itself).

    ``state_before`` and ``state_after`` hold the entry's state buffers (``buffers()``) and scalars such as
    the step count ``"t"``; a buffer not yet made before the first step is missing from ``state_before``.
    """

    before: float
    grad: float
    after: float
    state_before: Mapping[str, float]
    state_after: Mapping[str, float]


class UpdateLine(NamedTuple):
    """One line of an optimizer step as the ledger prints it: ``symbol <- expression = numbers = *steps = value``.

    ``state`` is the buffer's name for a line that updates a state buffer, ``None`` for the parameter's new
    value (the last line). ``value`` is the engine's (from :class:`StepValues`); the rest is text.
    """

    symbol: str
    value: float
    expression: str = ""
    numbers: str = ""
    steps: tuple[str, ...] = ()
    note: str = ""
    state: str | None = None


class Optimizer:
    """Base class: ``update(params, grads)`` and per-parameter ``state``."""

    name = ""
    aliases: tuple[str, ...] = ()
    counts_steps = False
    torch_name: str | None = None  # the torch.optim class with the same rule

    def __init__(self, lr: float) -> None:
        self.lr = _check_positive(lr, "learning rate lr", type(self).__name__)
        self.state: dict[str, dict[str, Any]] = {}

    def update(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        for name, p in params.items():
            self.update_one(name, p, grads[name])

    def update_one(self, name: str, p: Array, g: Array) -> None:
        """The readable rule: change ``p`` in place from its gradient ``g`` and ``self.state[name]``."""
        raise NotImplementedError

    def buffers(self) -> tuple[str, ...]:
        """The state arrays ``update_one`` keeps per parameter (each shaped like the parameter)."""
        return ()

    def update_into(self, p: Array, g: Array, state: dict[str, Array], t: int, tmp: Array, tmp2: Array) -> None:
        """``update_one`` on flat slices: ``p``, ``g``, the ``buffers()`` in ``state`` and two temporaries,
        all of one length; ``t`` is the step being made (1 for the first). Only subclasses that define it."""
        raise NotImplementedError

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        """The update of one entry as text: a line per state buffer, in the order computed, then the new value.

        ``p`` and ``g`` are the symbols of the parameter entry and of its gradient (``w^(1)_{1,2}``,
        ``dL/dw^(1)_{1,2}``); ``num`` writes a number as the ledger does (negative numbers in parentheses).
        Every value comes from ``values``. This default names the rule and lists the state it kept.
        """
        kept = [b for b in self.buffers() if b in values.state_after]
        lines = [UpdateLine(f"{b}[{p}]", values.state_after[b], state=b) for b in kept]
        note = f"{type(self).__name__}'s own rule" + (f"; its state: {', '.join(kept)}" if kept else "")
        return [*lines, UpdateLine(p, values.after, note=note)]

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments (besides ``lr``) of the ``torch.optim`` class named ``torch_name``."""
        return {k: v for k, v in self.config().items() if k not in ("name", "lr")}

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

    name = "sgd"
    torch_name = "SGD"

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

    def buffers(self) -> tuple[str, ...]:
        return ("velocity",) if self.momentum else ()

    def update_into(self, p: Array, g: Array, state: dict[str, Array], t: int, tmp: Array, tmp2: Array) -> None:
        if not self.momentum:
            np.multiply(g, self.lr, tmp)
            np.subtract(p, tmp, p)
            return
        v = state["velocity"]
        if t == 1:  # v = g
            np.copyto(v, g)
        else:  # v = mu * v + g
            np.multiply(v, self.momentum, v)
            np.add(v, g, v)
        if self.nesterov:  # g + mu * v
            np.multiply(v, self.momentum, tmp)
            np.add(g, tmp, tmp)
            np.multiply(tmp, self.lr, tmp)
        else:
            np.multiply(v, self.lr, tmp)
        np.subtract(p, tmp, p)

    def config(self) -> dict[str, Any]:
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        lr, pv, gv = num(self.lr), num(values.before), num(values.grad)
        if not self.momentum:
            return [UpdateLine(p, values.after, f"{p} - lr*{g}", f"{pv} - {lr}*{gv}")]
        mu, v = num(self.momentum), values.state_after["velocity"]
        if "velocity" in values.state_before:
            velocity = UpdateLine(f"v[{p}]", v, f"mu*v[{p}] + {g}", f"{mu}*{num(values.state_before['velocity'])} + {gv}",
                                  state="velocity")
        else:
            velocity = UpdateLine(f"v[{p}]", v, g, state="velocity",
                                  note="the first step starts the velocity at the gradient (as torch.optim.SGD)")
        if self.nesterov:
            new = UpdateLine(p, values.after, f"{p} - lr*({g} + mu*v[{p}])", f"{pv} - {lr}*({gv} + {mu}*{num(v)})")
        else:
            new = UpdateLine(p, values.after, f"{p} - lr*v[{p}]", f"{pv} - {lr}*{num(v)}")
        return [velocity, new]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as in ``torch.optim.Adam``.

    Per parameter, at step ``t``::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    name = "adam"
    counts_steps = True
    torch_name = "Adam"

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

    def buffers(self) -> tuple[str, ...]:
        return ("m", "v")

    def update_into(self, p: Array, g: Array, state: dict[str, Array], t: int, tmp: Array, tmp2: Array) -> None:
        beta1, beta2 = self.betas
        m, v = state["m"], state["v"]
        # m = beta1 * m + (1 - beta1) * g
        np.multiply(m, beta1, m)
        np.multiply(g, 1 - beta1, tmp)
        np.add(m, tmp, m)
        # v = beta2 * v + (1 - beta2) * g * g
        np.multiply(v, beta2, v)
        np.multiply(g, 1 - beta2, tmp)
        np.multiply(tmp, g, tmp)
        np.add(v, tmp, v)
        # p -= step_size * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
        np.sqrt(v, tmp)
        np.divide(tmp, math.sqrt(1 - beta2**t), tmp)
        np.add(tmp, self.eps, tmp)
        np.multiply(m, self.lr / (1 - beta1**t), tmp2)
        np.divide(tmp2, tmp, tmp2)
        np.subtract(p, tmp2, p)

    def config(self) -> dict[str, Any]:
        return {"name": "adam", "lr": self.lr, "betas": list(self.betas), "eps": self.eps}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        (beta1, beta2), before, after = self.betas, values.state_before, values.state_after
        b1, b2, pv, gv = num(beta1), num(beta2), num(values.before), num(values.grad)
        t, m, v = int(after["t"]), after["m"], after["v"]
        lines = [
            UpdateLine(f"m[{p}]", m, f"beta1*m[{p}] + (1 - beta1)*{g}",
                       f"{b1}*{num(before.get('m', 0.0))} + (1 - {b1})*{gv}", state="m"),
            UpdateLine(f"v[{p}]", v, f"beta2*v[{p}] + (1 - beta2)*{g}^2",
                       f"{b2}*{num(before.get('v', 0.0))} + (1 - {b2})*{gv}^2", state="v"),
        ]
        # The bias-corrected step size and denominator, worked out for the reader from the engine's m and v.
        step_size = self.lr / (1 - beta1**t)
        denominator = math.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        return [*lines, UpdateLine(
            p, values.after, f"{p} - lr/(1 - beta1^t) * m[{p}]/(sqrt(v[{p}])/sqrt(1 - beta2^t) + eps)",
            f"{pv} - {num(self.lr)}/(1 - {b1}^{t}) * {num(m)}/(sqrt({num(v)})/sqrt(1 - {b2}^{t}) + {num(self.eps)})",
            (f"{pv} - {num(step_size)} * {num(m)}/{num(denominator)}",),
            f"step t = {t}; 1 - beta1^t and 1 - beta2^t are Adam's bias corrections")]


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012), as in ``torch.optim.RMSprop`` (not centered, no weight decay).

    Per parameter, a running mean of squared gradients ``s`` (starting at 0)::

        s <- alpha * s + (1 - alpha) * g**2
        p <- p - lr * g / (sqrt(s) + eps)                       without momentum
        u <- mu * u + g / (sqrt(s) + eps);  p <- p - lr * u     with momentum mu (u starts at 0)

    Each parameter's step is divided by the size of its recent gradients, so all move at a similar pace.
    """

    name = "rmsprop"
    counts_steps = True
    torch_name = "RMSprop"

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0) -> None:
        super().__init__(lr)
        for what, value in (("alpha", alpha), ("momentum", momentum)):
            if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                               and 0.0 <= value < 1.0):
                raise ConfigError(f"RMSprop: {what} must be a number in [0, 1), like 0.99 or 0.9; got {value!r}")
        self.alpha = float(alpha)
        self.momentum = float(momentum)
        self.eps = _check_positive(eps, "eps", "RMSprop")

    def update_one(self, name: str, p: Array, g: Array) -> None:
        state = self.state.setdefault(name, {})
        if "square_avg" not in state:
            state["t"] = 0
            state["square_avg"] = np.zeros_like(p)
            if self.momentum:
                state["momentum_buffer"] = np.zeros_like(p)
        state["t"] += 1
        state["square_avg"] = self.alpha * state["square_avg"] + (1 - self.alpha) * g * g
        denom = np.sqrt(state["square_avg"]) + self.eps
        if self.momentum:
            state["momentum_buffer"] = self.momentum * state["momentum_buffer"] + g / denom
            p -= self.lr * state["momentum_buffer"]
        else:
            p -= self.lr * g / denom

    def buffers(self) -> tuple[str, ...]:
        return ("square_avg", "momentum_buffer") if self.momentum else ("square_avg",)

    def update_into(self, p: Array, g: Array, state: dict[str, Array], t: int, tmp: Array, tmp2: Array) -> None:
        s = state["square_avg"]
        np.multiply(s, self.alpha, s)  # s = alpha * s + (1 - alpha) * g * g
        np.multiply(g, 1 - self.alpha, tmp)
        np.multiply(tmp, g, tmp)
        np.add(s, tmp, s)
        np.sqrt(s, tmp)  # denom = sqrt(s) + eps
        np.add(tmp, self.eps, tmp)
        if self.momentum:
            u = state["momentum_buffer"]
            np.multiply(u, self.momentum, u)  # u = mu * u + g / denom
            np.divide(g, tmp, tmp2)
            np.add(u, tmp2, u)
            np.multiply(u, self.lr, tmp2)  # p -= lr * u
        else:
            np.multiply(g, self.lr, tmp2)  # p -= lr * g / denom
            np.divide(tmp2, tmp, tmp2)
        np.subtract(p, tmp2, p)

    def config(self) -> dict[str, Any]:
        return {"name": "rmsprop", "lr": self.lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        before, after = values.state_before, values.state_after
        alpha, lr, pv, gv = num(self.alpha), num(self.lr), num(values.before), num(values.grad)
        s = after["square_avg"]
        first = "square_avg" not in before
        lines = [UpdateLine(f"s[{p}]", s, f"alpha*s[{p}] + (1 - alpha)*{g}^2",
                            f"{alpha}*{num(before.get('square_avg', 0.0))} + (1 - {alpha})*{gv}^2", state="square_avg",
                            note=f"{'s and u start' if self.momentum else 's starts'} at 0, as in torch.optim.RMSprop"
                            if first else "")]
        # sqrt(s) + eps, worked out for the reader from the engine's s.
        denominator = num(math.sqrt(s) + self.eps)
        if not self.momentum:
            return [*lines, UpdateLine(p, values.after, f"{p} - lr*{g}/(sqrt(s[{p}]) + eps)",
                                       f"{pv} - {lr}*{gv}/(sqrt({num(s)}) + {num(self.eps)})",
                                       (f"{pv} - {lr}*{gv}/{denominator}",))]
        mu, u = num(self.momentum), after["momentum_buffer"]
        lines.append(UpdateLine(f"u[{p}]", u, f"mu*u[{p}] + {g}/(sqrt(s[{p}]) + eps)",
                                f"{mu}*{num(before.get('momentum_buffer', 0.0))} + {gv}/(sqrt({num(s)}) + {num(self.eps)})",
                                (f"{mu}*{num(before.get('momentum_buffer', 0.0))} + {gv}/{denominator}",),
                                state="momentum_buffer"))
        return [*lines, UpdateLine(p, values.after, f"{p} - lr*u[{p}]", f"{pv} - {lr}*{num(u)}")]


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer", [SGD, Adam, RMSprop])


def update_or_undo(optimizer: Optimizer, params: dict[str, Array], grads: dict[str, Array]) -> None:
    """``optimizer.update(params, grads)``, undone if it makes a parameter (or its state) NaN or inf, or if it raises.

    The readable path's guard (``Network._step``; ``core/fast.py`` keeps the same promise on its flat buffers):
    a finite loss and finite gradients can still give an update that overflows (a huge learning rate, a
    momentum buffer grown too large), and a user's ``update_one`` can fail half-way. Either way the parameters
    (in place) and ``optimizer.state`` are put back as they were before the call, then
    :class:`~glassnet.errors.TrainingDiverged` (from ``checks.update_overflowed``) or the user's exception is raised.
    The copies are made on every call: the readable path is the one that is read, not the one that is fast.
    """
    saved = {name: p.copy() for name, p in params.items()}
    state = copy.deepcopy(optimizer.state)

    def undo() -> None:
        for name, p in params.items():
            p[...] = saved[name]
        optimizer.state.clear()  # the same dict object: whoever holds it sees the restored state
        optimizer.state.update(state)

    try:
        optimizer.update(params, grads)
        bad = not_finite_after_update(params, optimizer)
    except BaseException:  # Ctrl-C and the user's own errors keep their meaning, on an intact network
        undo()
        raise
    if bad:
        undo()
        raise update_overflowed(bad, optimizer, largest_gradient(grads))


def not_finite_after_update(params: dict[str, Array], optimizer: Optimizer) -> list[str]:
    """What an update left NaN or inf: parameters by name (``"0.W"``), state arrays as ``"0.W's v"``.

    The state counts too: Adam's ``v`` (the squared gradients) overflows to inf on gradients near 1e155 while the
    parameters stay finite, and every later step of that parameter is then silently 0.
    """
    bad = [name for name, p in params.items() if not all_finite(p)]
    for name, state in optimizer.state.items():
        entries = state.items() if isinstance(state, dict) else [("state", state)]  # a user's own layout, too
        bad += [f"{name}'s {key}" for key, value in entries
                if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not all_finite(value)]
    return bad


def largest_gradient(grads: dict[str, Array]) -> float:
    """The largest ``|gradient|`` over all parameters (for the message of an update that overflowed)."""
    return max((float(np.max(np.abs(g), initial=0.0)) for g in grads.values()), default=0.0)


def get_optimizer(name: str | Optimizer, lr: float = 0.1, **options: Any) -> Optimizer:
    """Return an optimizer: ``name`` itself if it already is one, else a new one with ``lr`` and ``options``."""
    if isinstance(name, Optimizer):
        return name
    cls = OPTIMIZERS.lookup(name)
    settings = [name for name in inspect.signature(cls).parameters if name != "lr"]
    unknown = sorted(set(options) - set(settings))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no setting(s) {', '.join(map(repr, unknown))}; its settings are lr, "
                          f"{', '.join(settings)}")
    return cls(lr, **options)
