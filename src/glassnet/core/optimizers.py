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

``update_loop``, the third form, is the rule for one entry inside a plain ``for`` loop over the flat arrays: what
the engine runs instead of ``update_into`` when numba is installed (``pip install "glassnet[fast]"``), compiled
into one pass over memory (``core/compiled.py``), and checked against ``update_one`` like ``update_into``. It
computes and checks every new value before it writes any (``write=False``, then ``write=True``), so a step that
would overflow changes nothing.

A step whose update makes a parameter or a state array NaN or inf is undone and raises ``TrainingDiverged``
(:func:`update_or_undo` on the readable path; ``core/fast.py`` keeps the same promise on its flat buffers): the
loss and the gradients can be finite while ``lr * g`` overflows.

Three controls, each as torch defines it, and not to be confused with one another:

- ``Network(l2=...)`` is a penalty *in the loss*: ``(l2 / 2) * sum(W**2)`` over the weights only (not the biases),
  so it shows in the loss value and in the gradients ``gradients()`` returns.
- ``weight_decay=`` on :class:`SGD`, :class:`Adam` and :class:`RMSprop` is torch's *coupled* decay, in the
  optimizer: ``g <- g + weight_decay * p`` for *every* parameter (biases too) before the rule, so the decay
  passes through momentum and Adam's ``m`` and ``v``. The loss and the gradients of the network do not show it.
- :class:`AdamW`'s ``weight_decay`` is *decoupled* (Loshchilov & Hutter, 2019): ``p <- p * (1 - lr * weight_decay)``
  on the weights themselves, then Adam's step from the plain gradient; ``m`` and ``v`` never see the decay.

``max_grad_norm=`` (every optimizer; Keras calls it ``global_clipnorm``) clips by global norm before the
update, with :func:`clip_grad_norm` (``torch.nn.utils.clip_grad_norm_``'s rule); the total norm of the last
update is kept in ``optimizer.last_grad_norm``. The network's own gradients are left as backprop made them: the
rule receives clipped copies. Settings at their defaults are left out of ``config()``, so a configuration
saved before these settings existed still names the same optimizer.

``explain_update`` writes the rule as text, one :class:`UpdateLine` per state buffer and one for the new
value, for ``glassnet.explain``'s ledger and worksheets: an optimizer class carries its own formulas, so a
new one appears there with no edit elsewhere (the base class's version lists the state buffers it kept).

Next read: ``glassnet.verify`` (gradient checks) or ``glassnet.explain``.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
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


def _check_decay(value: float, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
            math.isfinite(value) and value >= 0):
        raise ConfigError(f"{owner}: weight_decay must be a number >= 0 (0 for none), got {value!r}. "
                          "Try weight_decay=1e-4 (or 1e-2 for AdamW)")
    return float(value)


def _check_max_norm(value: float | None, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
            math.isfinite(value) and value > 0):
        raise ConfigError(f"{owner}: max_grad_norm must be a positive number (or None for no clipping), got "
                          f"{value!r}. Try max_grad_norm=1.0")
    return float(value)


CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s guard against dividing by a zero norm


def clip_grad_norm(grads: Mapping[str, Array], max_norm: float) -> float:
    """Scale all gradients by one factor so that together they are about ``max_norm`` long; returns the total norm.

    ``torch.nn.utils.clip_grad_norm_``'s rule (Pascanu et al., 2013): every gradient entry of every parameter is
    one long vector, and that vector's 2-norm is the total::

        total = sqrt(sum over all gradients g of sum(g**2))
        coef  = max_norm / (total + 1e-6)
        if coef < 1:  g <- g * coef   for every g          (in place; the direction of the step is kept)

    Parameters
    ----------
    grads : dict of str to array
        The gradients, keyed like the parameters (``"0.W"``: shape ``(n_in, n_out)``, ``"0.b"``: ``(n_out,)``);
        changed in place.
    max_norm : float
        The largest total norm let through (> 0).

    Returns
    -------
    float
        The total norm *before* clipping (what torch returns too).
    """
    max_norm = _check_positive(max_norm, "max_norm", "clip_grad_norm")
    total, coef = clip_factor(grads.values(), max_norm)
    if coef < 1.0:
        for g in grads.values():
            g *= coef
    return total


def clip_factor(grads: Iterable[Array], max_norm: float) -> tuple[float, float]:
    """The total 2-norm of ``grads`` and the factor :func:`clip_grad_norm` scales them by: ``max_norm / (total +
    1e-6)``, clamped at 1 as torch clamps it (gradients under the limit are not touched). The fast path's clipping
    (``core/fast.py``) asks this too, on its flat gradient buffer."""
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    return total, min(1.0, max_norm / (total + CLIP_EPS))


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
    """Base class: ``update(params, grads)`` and per-parameter ``state``.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    max_grad_norm : float, optional
        Clip the gradients by global norm before each update (:func:`clip_grad_norm`); ``None``: no clipping.
    """

    name = ""
    aliases: tuple[str, ...] = ()
    counts_steps = False
    torch_name: str | None = None  # the torch.optim class with the same rule
    max_grad_norm: float | None = None  # class defaults: a subclass of yours need not call super().__init__
    last_grad_norm: float | None = None  # the total gradient norm of the last update (set only when clipping)

    def __init__(self, lr: float, max_grad_norm: float | None = None) -> None:
        self.lr = _check_positive(lr, "learning rate lr", type(self).__name__)
        self.max_grad_norm = _check_max_norm(max_grad_norm, type(self).__name__)
        self.last_grad_norm = None  # an instance attribute from the start: the fast path counts them (a hook adds one)
        self.state: dict[str, dict[str, Any]] = {}

    def update(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """Update every array of ``params`` in place (``update_one`` each), after clipping if ``max_grad_norm`` is set.

        Only the parameters in ``params`` are updated, and only their gradients count in the clipping norm (the
        network leaves its frozen parameters out of both).
        """
        if self.max_grad_norm is not None:
            # Clipped copies: the network's gradients stay as backprop made them (the ledger shows both).
            grads = {name: grads[name].copy() for name in params}
            self.last_grad_norm = clip_grad_norm(grads, self.max_grad_norm)
        for name, p in params.items():
            self.update_one(name, p, grads[name])

    def clip_coefficient(self) -> float | None:
        """The factor the last update's clipping multiplied every gradient by, or ``None`` if it left them alone."""
        if self.max_grad_norm is None or self.last_grad_norm is None:
            return None
        coef = self.max_grad_norm / (self.last_grad_norm + CLIP_EPS)
        return coef if coef < 1.0 else None

    def explain_gradient(self, g: str, num: Callable[[float], str]) -> tuple[str, str]:
        """The symbol of the gradient the rule used, and a note on clipping (``""`` without): for ``explain_update``.

        After a clipped update the rule received ``clip(dL/dw) = dL/dw * coef``, not the gradient backprop made.
        """
        limit, total, coef = self.max_grad_norm, self.last_grad_norm, self.clip_coefficient()
        if limit is None or total is None:
            return g, ""
        if coef is None:
            return g, f"gradients not clipped: their total norm {num(total)} is within max_grad_norm {num(limit)}"
        return f"clip({g})", (
            f"clip(g) = g * max_grad_norm/(total norm + 1e-6) = g * {num(limit)}/({num(total)} + 1e-6) = "
            f"g * {num(coef)}: every gradient clipped by global norm (torch.nn.utils.clip_grad_norm_) before the rule")

    def base_config(self) -> dict[str, Any]:
        """The base class's settings for ``config()``: ``max_grad_norm`` when clipping is on."""
        return {} if self.max_grad_norm is None else {"max_grad_norm": self.max_grad_norm}

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

    # The loop form (compiled by numba when glassnet[fast] is installed; see core/compiled.py): ``update_loop(p, g,
    # *loop_buffers, *loop_scalars(t, coef), write)`` is ``update_one`` entry by entry over flat arrays, in one pass.
    # ``write=False`` computes every new value and returns whether all of them are finite, writing nothing;
    # ``write=True`` writes them. ``loop_buffers`` names its state arrays in order (one not kept, such as SGD's
    # velocity without momentum, is passed as an empty array). Only subclasses that define it.
    loop_buffers: tuple[str, ...] = ()

    def loop_scalars(self, t: int, coef: float) -> tuple[float | bool, ...]:
        """The numbers ``update_loop`` needs at step ``t`` (1 for the first), computed as ``update_one`` computes them;
        ``coef`` is the clipping factor (1.0 when the gradients are not clipped)."""
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
        clipping = self.explain_gradient(g, num)[1]
        return [*lines, UpdateLine(p, values.after, note="; ".join(filter(None, [note, clipping])))]

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments (besides ``lr``) of the ``torch.optim`` class named ``torch_name``.

        ``max_grad_norm`` is not one: in PyTorch clipping is its own call, ``torch.nn.utils.clip_grad_norm_``.
        """
        return {k: v for k, v in self.config().items() if k not in ("name", "lr", "max_grad_norm")}

    def config(self) -> dict[str, Any]:
        """The settings, as saved in checkpoints and shown in explanations."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and weight decay, as in ``torch.optim.SGD``.

    With ``weight_decay`` ``wd`` (torch's coupled decay, on every parameter) the gradient is first
    ``g <- g + wd * p``. Without momentum: ``p <- p - lr * g``. With momentum ``mu``, per parameter a
    velocity ``v`` (``v <- g`` at the first step, then ``v <- mu * v + g``) and the step uses ``v``, or
    ``g + mu * v`` with Nesterov (Sutskever et al., 2013, in PyTorch's formulation).
    """

    name = "sgd"
    torch_name = "SGD"

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        if isinstance(momentum, bool) or not (isinstance(momentum, (int, float, np.integer, np.floating))
                                              and 0.0 <= momentum < 1.0):
            raise ConfigError(f"SGD: momentum must be a number in [0, 1), like 0.9; got {momentum!r}")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ConfigError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ConfigError("SGD: nesterov=True needs a momentum > 0, e.g. SGD(lr, momentum=0.9, nesterov=True)")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_decay(weight_decay, "SGD")

    def update_one(self, name: str, p: Array, g: Array) -> None:
        if self.weight_decay:  # torch's coupled decay: part of the gradient, so it also goes into the velocity
            g = g + self.weight_decay * p
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
        if self.weight_decay:  # g + wd * p, into tmp2 (g is the network's own gradient: left as it is)
            np.multiply(p, self.weight_decay, tmp2)
            np.add(g, tmp2, tmp2)
            g = tmp2
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

    loop_buffers = ("velocity",)

    def loop_scalars(self, t: int, coef: float) -> tuple[float | bool, ...]:
        return (coef, self.weight_decay, self.momentum, self.nesterov, t == 1, self.lr)

    @staticmethod
    def update_loop(p: Array, g: Array, velocity: Array, coef: float, weight_decay: float, momentum: float,
                    nesterov: bool, first: bool, lr: float, write: bool) -> bool:
        finite = True
        for i in range(p.shape[0]):
            gi = g[i] * coef  # clipped (coef is 1 when not clipping: exact)
            if weight_decay != 0:
                gi = gi + weight_decay * p[i]
            vi = gi  # the velocity starts at the gradient
            if momentum != 0:
                if not first:
                    vi = momentum * velocity[i] + gi
                gi = gi + momentum * vi if nesterov else vi
            pi = p[i] - lr * gi
            if write:
                p[i] = pi
                if momentum != 0:
                    velocity[i] = vi
            else:
                finite &= np.isfinite(pi) & np.isfinite(vi)
        return finite

    def config(self) -> dict[str, Any]:
        decay = {"weight_decay": self.weight_decay} if self.weight_decay else {}
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov, **decay,
                **self.base_config()}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        lr, pv = num(self.lr), num(values.before)
        g, clipping = self.explain_gradient(g, num)
        gv, decay_note = num(values.grad), ""
        if self.weight_decay:  # the decayed gradient g + wd*p, as its own term (worked out from the engine's g and p)
            wd = num(self.weight_decay)
            decayed = values.grad + self.weight_decay * values.before
            g, gv = f"({g} + wd*{p})", f"({gv} + {wd}*{pv})"
            decay_note = (f"weight decay (coupled, as torch.optim.SGD): the gradient becomes {g[1:-1]} = {num(decayed)}"
                          f" with wd = {wd}")
        note = "; ".join(filter(None, [clipping, decay_note]))
        if not self.momentum:
            return [UpdateLine(p, values.after, f"{p} - lr*{g}", f"{pv} - {lr}*{gv}", note=note)]
        mu, v = num(self.momentum), values.state_after["velocity"]
        if "velocity" in values.state_before:
            velocity = UpdateLine(f"v[{p}]", v, f"mu*v[{p}] + {g}", f"{mu}*{num(values.state_before['velocity'])} + {gv}",
                                  state="velocity", note=note)
        else:
            velocity = UpdateLine(f"v[{p}]", v, g, gv if self.weight_decay else "", state="velocity", note="; ".join(
                filter(None, ["the first step starts the velocity at the gradient (as torch.optim.SGD)", note])))
        if self.nesterov:
            new = UpdateLine(p, values.after, f"{p} - lr*({g} + mu*v[{p}])", f"{pv} - {lr}*({gv} + {mu}*{num(v)})")
        else:
            new = UpdateLine(p, values.after, f"{p} - lr*v[{p}]", f"{pv} - {lr}*{num(v)}")
        return [velocity, new]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as in ``torch.optim.Adam``.

    Per parameter, at step ``t``::

        g <- g + weight_decay * p                  only with weight_decay > 0 (torch's coupled decay)
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Coupled decay is divided by ``sqrt(v)`` like the rest of the gradient, so parameters with large gradients
    are decayed less; :class:`AdamW` (``decoupled = True``) decays the weights directly instead.
    """

    name = "adam"
    counts_steps = True
    torch_name = "Adam"
    decoupled = False  # AdamW: the decay shrinks the weights and never enters m and v

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        owner = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(
                isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, bool) and 0.0 <= b < 1.0
                for b in betas):
            raise ConfigError(f"{owner}: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _check_positive(eps, "eps", owner)
        self.weight_decay = _check_decay(weight_decay, owner)

    def update_one(self, name: str, p: Array, g: Array) -> None:
        beta1, beta2 = self.betas
        state = self.state.setdefault(name, {})
        if "m" not in state:
            state["t"] = 0
            state["m"] = np.zeros_like(p)
            state["v"] = np.zeros_like(p)
        state["t"] += 1
        t = state["t"]
        if self.decoupled:  # AdamW: shrink the weights themselves, before the step (torch.optim.AdamW's order)
            p *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:  # Adam's coupled decay: an L2 term in the gradient, which m and v then see
            g = g + self.weight_decay * p
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
        if self.decoupled:  # p *= 1 - lr * wd
            np.multiply(p, 1 - self.lr * self.weight_decay, p)
        elif self.weight_decay:  # g + wd * p, into tmp2 (free until the last lines; g itself is left as it is)
            np.multiply(p, self.weight_decay, tmp2)
            np.add(g, tmp2, tmp2)
            g = tmp2
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

    loop_buffers = ("m", "v")

    def loop_scalars(self, t: int, coef: float) -> tuple[float | bool, ...]:
        beta1, beta2 = self.betas
        shrink = 1 - self.lr * self.weight_decay if self.decoupled else 1.0  # AdamW's decoupled decay
        coupled = 0.0 if self.decoupled else self.weight_decay  # Adam's coupled decay
        return (coef, shrink, coupled, beta1, 1 - beta1, beta2, 1 - beta2, self.lr / (1 - beta1**t),
                math.sqrt(1 - beta2**t), self.eps)

    @staticmethod
    def update_loop(p: Array, g: Array, m: Array, v: Array, coef: float, shrink: float, coupled_decay: float,
                    beta1: float, one_minus_beta1: float, beta2: float, one_minus_beta2: float, step_size: float,
                    root: float, eps: float, write: bool) -> bool:
        finite = True
        for i in range(p.shape[0]):
            gi = g[i] * coef  # clipped (coef is 1 when not clipping: exact)
            pi = p[i] * shrink  # AdamW: p * (1 - lr * wd); Adam: p * 1 (exact)
            if coupled_decay != 0:  # Adam's weight decay (0 for AdamW)
                gi = gi + coupled_decay * pi
            mi = beta1 * m[i] + one_minus_beta1 * gi
            vi = beta2 * v[i] + one_minus_beta2 * gi * gi
            pi = pi - step_size * mi / (np.sqrt(vi) / root + eps)
            if write:
                p[i], m[i], v[i] = pi, mi, vi
            else:
                finite &= np.isfinite(pi) & np.isfinite(mi) & np.isfinite(vi)
        return finite

    def config(self) -> dict[str, Any]:
        decay = {"weight_decay": self.weight_decay} if self.weight_decay or self.decoupled else {}
        return {"name": self.name, "lr": self.lr, "betas": list(self.betas), "eps": self.eps, **decay,
                **self.base_config()}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        (beta1, beta2), before, after = self.betas, values.state_before, values.state_after
        b1, b2, pv = num(beta1), num(beta2), num(values.before)
        g, clipping = self.explain_gradient(g, num)
        gv, decay_note, wd = num(values.grad), "", num(self.weight_decay)
        if self.weight_decay and not self.decoupled:  # the decayed gradient as its own term, in m and in v
            decayed = values.grad + self.weight_decay * values.before
            g, gv = f"({g} + wd*{p})", f"({gv} + {wd}*{pv})"
            decay_note = (f"weight decay (coupled, as torch.optim.Adam): the gradient becomes {g[1:-1]} = "
                          f"{num(decayed)} with wd = {wd}, before m and v")
        t, m, v = int(after["t"]), after["m"], after["v"]
        lines = [
            UpdateLine(f"m[{p}]", m, f"beta1*m[{p}] + (1 - beta1)*{g}",
                       f"{b1}*{num(before.get('m', 0.0))} + (1 - {b1})*{gv}", state="m",
                       note="; ".join(filter(None, [clipping, decay_note]))),
            UpdateLine(f"v[{p}]", v, f"beta2*v[{p}] + (1 - beta2)*{g}^2",
                       f"{b2}*{num(before.get('v', 0.0))} + (1 - {b2})*{gv}^2", state="v"),
        ]
        # The bias-corrected step size and denominator, worked out for the reader from the engine's m and v.
        step_size = self.lr / (1 - beta1**t)
        denominator = math.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        start, start_numbers, note = p, pv, f"step t = {t}; 1 - beta1^t and 1 - beta2^t are Adam's bias corrections"
        if self.decoupled:  # AdamW: the weight first shrinks by (1 - lr*wd), worked out from the engine's p
            start, start_numbers = f"{p}*(1 - lr*wd)", f"{pv}*(1 - {num(self.lr)}*{wd})"
            shrunk = values.before * (1 - self.lr * self.weight_decay)
            note = (f"decoupled weight decay (AdamW): {p} first shrinks to {start} = {num(shrunk)}, then Adam's step "
                    f"from the plain gradient (m and v never see the decay); {note}")
            steps: tuple[str, ...] = (f"{num(shrunk)} - {num(step_size)} * {num(m)}/{num(denominator)}",)
        else:
            steps = (f"{pv} - {num(step_size)} * {num(m)}/{num(denominator)}",)
        return [*lines, UpdateLine(
            p, values.after, f"{start} - lr/(1 - beta1^t) * m[{p}]/(sqrt(v[{p}])/sqrt(1 - beta2^t) + eps)",
            f"{start_numbers} - {num(self.lr)}/(1 - {b1}^{t}) * {num(m)}/(sqrt({num(v)})/sqrt(1 - {b2}^{t}) + "
            f"{num(self.eps)})", steps, note)]


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019, "Decoupled weight decay regularization"), as in ``torch.optim.AdamW``.

    Adam with the weight decay taken out of the gradient and applied to the parameters directly, at step ``t``::

        p <- p * (1 - lr * weight_decay)           decoupled: m and v never see it
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Every parameter decays at the same rate ``lr * weight_decay`` per step, whatever the size of its gradients
    (with Adam's coupled decay the decay is divided by ``sqrt(v)`` too). Like torch, on every parameter, biases
    included (freeze a parameter, ``Network.freeze``, to keep it out). torch.optim.AdamW is Adam with
    ``decoupled_weight_decay=True``; so is this class.
    """

    name = "adamw"
    torch_name = "AdamW"
    decoupled = True

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, max_grad_norm: float | None = None) -> None:
        super().__init__(lr, betas, eps, weight_decay, max_grad_norm)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012), as in ``torch.optim.RMSprop`` (not centered).

    Per parameter, a running mean of squared gradients ``s`` (starting at 0)::

        g <- g + weight_decay * p                               only with weight_decay > 0 (coupled, as torch)
        s <- alpha * s + (1 - alpha) * g**2
        p <- p - lr * g / (sqrt(s) + eps)                       without momentum
        u <- mu * u + g / (sqrt(s) + eps);  p <- p - lr * u     with momentum mu (u starts at 0)

    Each parameter's step is divided by the size of its recent gradients, so all move at a similar pace.
    """

    name = "rmsprop"
    counts_steps = True
    torch_name = "RMSprop"

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 weight_decay: float = 0.0, max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        for what, value in (("alpha", alpha), ("momentum", momentum)):
            if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                               and 0.0 <= value < 1.0):
                raise ConfigError(f"RMSprop: {what} must be a number in [0, 1), like 0.99 or 0.9; got {value!r}")
        self.alpha = float(alpha)
        self.momentum = float(momentum)
        self.eps = _check_positive(eps, "eps", "RMSprop")
        self.weight_decay = _check_decay(weight_decay, "RMSprop")

    def update_one(self, name: str, p: Array, g: Array) -> None:
        if self.weight_decay:  # torch's coupled decay: part of the gradient, so also of s
            g = g + self.weight_decay * p
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
        if self.weight_decay:  # g + wd * p, into tmp2 (each later write to tmp2 reads g first; g itself is left alone)
            np.multiply(p, self.weight_decay, tmp2)
            np.add(g, tmp2, tmp2)
            g = tmp2
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

    loop_buffers = ("square_avg", "momentum_buffer")

    def loop_scalars(self, t: int, coef: float) -> tuple[float | bool, ...]:
        return (coef, self.weight_decay, self.alpha, 1 - self.alpha, self.eps, self.momentum, self.lr)

    @staticmethod
    def update_loop(p: Array, g: Array, square_avg: Array, momentum_buffer: Array, coef: float, weight_decay: float,
                    alpha: float, one_minus_alpha: float, eps: float, momentum: float, lr: float, write: bool) -> bool:
        finite = True
        for i in range(p.shape[0]):
            gi = g[i] * coef  # clipped (coef is 1 when not clipping: exact)
            if weight_decay != 0:
                gi = gi + weight_decay * p[i]
            si = alpha * square_avg[i] + one_minus_alpha * gi * gi
            denom = np.sqrt(si) + eps
            ui = si  # without momentum there is no buffer u: this checks s twice below instead
            if momentum != 0:
                ui = momentum * momentum_buffer[i] + gi / denom
                pi = p[i] - lr * ui
            else:
                pi = p[i] - lr * gi / denom
            if write:
                p[i], square_avg[i] = pi, si
                if momentum != 0:
                    momentum_buffer[i] = ui
            else:
                finite &= np.isfinite(pi) & np.isfinite(si) & np.isfinite(ui)
        return finite

    def config(self) -> dict[str, Any]:
        decay = {"weight_decay": self.weight_decay} if self.weight_decay else {}
        return {"name": "rmsprop", "lr": self.lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum,
                **decay, **self.base_config()}

    def explain_update(self, p: str, g: str, values: StepValues, num: Callable[[float], str]) -> list[UpdateLine]:
        before, after = values.state_before, values.state_after
        alpha, lr, pv, gv = num(self.alpha), num(self.lr), num(values.before), num(values.grad)
        g, clipping = self.explain_gradient(g, num)
        decay_note = ""
        if self.weight_decay:  # the decayed gradient as its own term (worked out from the engine's g and p)
            wd = num(self.weight_decay)
            decayed = values.grad + self.weight_decay * values.before
            g, gv = f"({g} + wd*{p})", f"({gv} + {wd}*{pv})"
            decay_note = (f"weight decay (coupled, as torch.optim.RMSprop): the gradient becomes {g[1:-1]} = "
                          f"{num(decayed)} with wd = {wd}")
        s = after["square_avg"]
        first = "square_avg" not in before
        start = f"{'s and u start' if self.momentum else 's starts'} at 0, as in torch.optim.RMSprop" if first else ""
        lines = [UpdateLine(f"s[{p}]", s, f"alpha*s[{p}] + (1 - alpha)*{g}^2",
                            f"{alpha}*{num(before.get('square_avg', 0.0))} + (1 - {alpha})*{gv}^2", state="square_avg",
                            note="; ".join(filter(None, [start, clipping, decay_note])))]
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


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer", [SGD, Adam, RMSprop, AdamW])


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
