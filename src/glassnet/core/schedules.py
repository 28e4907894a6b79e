"""Learning-rate schedules: the rate of each epoch (or step) as a formula of its count, as ``fit`` callbacks.

Each schedule is equal to its ``torch.optim.lr_scheduler`` namesake for the same settings (tests run both side by
side in float64). ``t`` counts the scheduler's steps taken so far, as torch's ``last_epoch`` does: ``t = 0`` for
the first epoch, and after each epoch ``t`` grows by one (torch's ``scheduler.step()`` after each epoch). With
``per="batch"`` ``t`` counts optimizer steps instead (``scheduler.step()`` after each ``optimizer.step()``).
``base`` is the optimizer's ``lr`` when training begins::

    StepLR(step_size, gamma=0.1)          lr(t) = base * gamma ** (t // step_size)
    ExponentialLR(gamma)                  lr(t) = base * gamma ** t
    CosineAnnealingLR(T_max, eta_min=0)   lr(t) = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2
    LinearWarmup(start_factor=1/3,        lr(t) = base * (start_factor + (end_factor - start_factor)
                 end_factor=1.0,                         * min(t, total_iters) / total_iters)
                 total_iters=5)           (torch's LinearLR)
    SequentialLR(schedules, milestones)   schedules[k] from milestone k - 1 on, its own count restarting at 0

Torch computes most of these recursively (each rate from the previous one); the closed forms above are the
same numbers up to rounding (about 1e-16 relative). The cosine goes on past ``T_max`` as torch's does (back up:
its period is ``2 * T_max``).

How a schedule drives training: a schedule is a ``fit`` callback (``core/training.py``'s module docstring).
``on_train_begin`` takes the optimizer and its ``lr`` as ``base`` and sets the rate of the first epoch (of the
next one, for a resumed run: the count continues from the epochs, or steps, already done); ``on_epoch_end``
(or ``on_batch_end``) sets the rate of the next one; ``on_train_end`` puts ``base`` back into the optimizer, so a
second ``fit`` with the same optimizer starts the schedule again from the same rate. ``fit`` records the rate
of every epoch in ``History.lr``. A schedule changes nothing but ``optimizer.lr``, a number every update reads
afresh (``update_one`` and ``update_into`` alike), so it declares ``observes_only`` and the fast path stays on.

Next read: ``callbacks.py`` (early stopping), ``glassnet/lr_finder.py`` (choosing ``base``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from glassnet.core.registry import Registry
from glassnet.errors import ConfigError, GlassnetTypeError

PER = ("epoch", "batch")


def _number(value: Any, what: str, owner: str, low: float = 0.0, low_open: bool = True, high: float = math.inf,
            high_open: bool = False) -> float:
    """``value`` as a float in the given interval, or a :class:`ConfigError` naming the setting and the interval."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        side = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
        raise ConfigError(f"{owner}: {what} must be a number in {side}, got {value!r}")
    return float(value)


def _count(value: Any, what: str, owner: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{owner}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Schedule:
    """Base class: ``rate(t, base)`` gives the learning rate after ``t`` scheduler steps; the hooks apply it.

    Parameters
    ----------
    per : {"epoch", "batch"}
        What ``t`` counts: epochs (the default, torch's usual ``scheduler.step()`` after each epoch) or optimizer
        steps (``scheduler.step()`` after each batch).
    """

    name = ""
    aliases: tuple[str, ...] = ()
    torch_name = ""  # the torch.optim.lr_scheduler class with the same rule
    # Changes only optimizer.lr, which every update reads afresh: the fast path need not be asked again.
    observes_only = True

    def __init__(self, per: str = "epoch") -> None:
        if per not in PER:
            raise ConfigError(f"{type(self).__name__}: per must be 'epoch' (the rate changes after each epoch) or "
                              f"'batch' (after each step), got {per!r}")
        self.per = per
        self.optimizer: Any = None
        self.base = math.nan
        self.t = 0

    def rate(self, t: int, base: float) -> float:
        """The learning rate after ``t`` scheduler steps, for base rate ``base``."""
        raise NotImplementedError

    def rates(self, base: float, n: int) -> list[float]:
        """The first ``n`` rates (``t = 0 .. n - 1``): what a run of ``n`` epochs (or steps) would use."""
        return [self.rate(t, base) for t in range(n)]

    def _apply(self) -> None:
        self.optimizer.lr = self.rate(self.t, self.base)

    def on_train_begin(self, net: Any, info: dict[str, Any]) -> None:
        self.optimizer = info["optimizer"]
        self.base = float(self.optimizer.lr)
        history = info.get("history")
        if self.per == "epoch":
            self.t = int(info.get("epochs_done", 0))
        else:  # a resumed run continues the count of steps it has behind it
            self.t = int(history.steps) if history is not None else 0
        self._apply()

    def on_epoch_end(self, net: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.per == "epoch":
            self.t = epoch
            self._apply()

    def on_batch_end(self, net: Any, epoch: int, step: int, loss: float) -> None:
        if self.per == "batch":
            self.t += 1
            self._apply()

    def on_train_end(self, net: Any, history: Any) -> None:
        if self.optimizer is not None:
            self.optimizer.lr = self.base
            self.optimizer = None

    def on_train_abort(self, net: Any, error: BaseException) -> None:
        self.on_train_end(net, None)

    def config(self) -> dict[str, Any]:
        """The settings (``name`` and the constructor's arguments)."""
        raise NotImplementedError

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the ``torch.optim.lr_scheduler`` class named ``torch_name``."""
        return {k: v for k, v in self.config().items() if k not in ("name", "per")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name" and (k != "per" or v != "epoch"))
        return f"{type(self).__name__}({args})"


class StepLR(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: ``lr(t) = base * gamma ** (t // step_size)``."""

    name = "step"
    torch_name = "StepLR"

    def __init__(self, step_size: int, gamma: float = 0.1, per: str = "epoch") -> None:
        super().__init__(per)
        self.step_size = _count(step_size, "step_size", "StepLR")
        self.gamma = _number(gamma, "gamma", "StepLR")

    def rate(self, t: int, base: float) -> float:
        return base * self.gamma ** (t // self.step_size)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "step_size": self.step_size, "gamma": self.gamma, "per": self.per}


class ExponentialLR(Schedule):
    """Multiply the rate by ``gamma`` every epoch: ``lr(t) = base * gamma ** t``."""

    name = "exponential"
    torch_name = "ExponentialLR"

    def __init__(self, gamma: float, per: str = "epoch") -> None:
        super().__init__(per)
        self.gamma = _number(gamma, "gamma", "ExponentialLR")

    def rate(self, t: int, base: float) -> float:
        return base * self.gamma ** t

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "gamma": self.gamma, "per": self.per}


class CosineAnnealingLR(Schedule):
    """Half a cosine from ``base`` down to ``eta_min`` over ``T_max`` epochs (Loshchilov & Hutter, 2017, without
    restarts)::

        lr(t) = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2

    ``lr(0) = base``, ``lr(T_max) = eta_min``; past ``T_max`` the cosine rises again, as torch's does.
    """

    name = "cosine"
    torch_name = "CosineAnnealingLR"

    def __init__(self, T_max: int, eta_min: float = 0.0, per: str = "epoch") -> None:  # noqa: N803 (torch's name)
        super().__init__(per)
        self.T_max = _count(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = _number(eta_min, "eta_min", "CosineAnnealingLR", low_open=False)

    def rate(self, t: int, base: float) -> float:
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "T_max": self.T_max, "eta_min": self.eta_min, "per": self.per}


class LinearWarmup(Schedule):
    """A linear ramp of the rate's factor from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs, then
    constant (``torch.optim.lr_scheduler.LinearLR``, with its defaults)::

        lr(t) = base * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    A warm-up: small steps while Adam's moment estimates (or BatchNorm's statistics) are still poor. Chain it with
    a decay by :class:`SequentialLR` (``SequentialLR([LinearWarmup(0.1, total_iters=5), CosineAnnealingLR(95)],
    milestones=[5])``).
    """

    name = "warmup"
    aliases = ("linear",)
    torch_name = "LinearLR"

    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 per: str = "epoch") -> None:
        super().__init__(per)
        # torch's ranges: 0 < start_factor <= 1, 0 <= end_factor <= 1
        self.start_factor = _number(start_factor, "start_factor", "LinearWarmup", high=1.0)
        self.end_factor = _number(end_factor, "end_factor", "LinearWarmup", low_open=False, high=1.0)
        self.total_iters = _count(total_iters, "total_iters", "LinearWarmup")

    def rate(self, t: int, base: float) -> float:
        progress = min(t, self.total_iters) / self.total_iters
        return base * (self.start_factor + (self.end_factor - self.start_factor) * progress)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "start_factor": self.start_factor, "end_factor": self.end_factor,
                "total_iters": self.total_iters, "per": self.per}


class SequentialLR(Schedule):
    """One schedule after another (``torch.optim.lr_scheduler.SequentialLR``): ``schedules[0]`` until
    ``milestones[0]``, then ``schedules[1]`` with its own count starting again at 0, and so on::

        k = number of milestones <= t;  lr(t) = schedules[k].rate(t - milestones[k - 1] (or t when k = 0), base)

    The schedules share the chain's ``per``: they must all have the same one.
    """

    name = "sequential"
    torch_name = "SequentialLR"

    def __init__(self, schedules: Sequence[Schedule], milestones: Sequence[int]) -> None:
        if not isinstance(schedules, (list, tuple)) or not schedules or not all(isinstance(s, Schedule) for s in schedules):
            raise GlassnetTypeError(f"SequentialLR: schedules must be a list of schedules, e.g. [LinearWarmup(0.1, "
                                    f"total_iters=5), CosineAnnealingLR(95)]; got {schedules!r}")
        pers = {s.per for s in schedules}
        if len(pers) > 1:
            raise ConfigError(f"SequentialLR: the schedules step per {' and per '.join(sorted(pers))}; give them all the "
                              "same per=")
        super().__init__(schedules[0].per)
        if not isinstance(milestones, (list, tuple)) or len(milestones) != len(schedules) - 1:
            raise ConfigError(f"SequentialLR: {len(schedules)} schedules need {len(schedules) - 1} milestone(s) (the "
                              f"count at which each next one takes over), got {milestones!r}")
        steps = [_count(m, "each milestone", "SequentialLR") for m in milestones]
        if steps != sorted(set(steps)):
            raise ConfigError(f"SequentialLR: milestones must increase, got {list(milestones)}")
        self.schedules, self.milestones = list(schedules), steps

    def rate(self, t: int, base: float) -> float:
        k = bisect.bisect_right(self.milestones, t)
        start = self.milestones[k - 1] if k else 0
        return self.schedules[k].rate(t - start, base)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "schedules": [s.config() for s in self.schedules], "milestones": self.milestones}

    def __repr__(self) -> str:
        return f"SequentialLR({self.schedules!r}, milestones={self.milestones})"


SCHEDULES: Registry[Schedule] = Registry("schedule", [StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup])

__all__ = ["SCHEDULES", "CosineAnnealingLR", "ExponentialLR", "LinearWarmup", "Schedule", "SequentialLR", "StepLR"]
