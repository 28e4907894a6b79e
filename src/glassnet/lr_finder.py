"""The learning-rate range test (Smith, 2017, "Cyclical Learning Rates for Training Neural Networks", section 3.3;
popularised by fastai's ``lr_find``): which learning rate to start from, read off one short run.

``lr_finder(net, X, y)`` trains a *copy* of ``net`` for at most ``num_steps`` mini-batch steps, the rate growing
exponentially from ``start_lr`` to ``end_lr``::

    lr_i     = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))        i = 0 .. num_steps - 1
    avg_i    = smooth * avg_{i-1} + (1 - smooth) * loss_i                      avg_{-1} = 0
    smooth_i = avg_i / (1 - smooth ** (i + 1))                                 fastai's debiased smoothing

``loss_i`` is the batch loss of step ``i`` before its update (as ``Network.step`` returns it), so it shows the
effect of the rates before ``lr_i``, as fastai records it. The run stops early once ``smooth_i`` exceeds
``diverge`` times the best smoothed loss so far (fastai's ``stop_div``), or when a step diverges (NaN or inf).

Three rules suggest a rate from the curve, computed on it without the first tenth of the steps and the last five
(fastai's trimming: the start is flat noise, the end is the blow-up):

``"valley"`` (the default)
    fastai's default since 2.5: the longest stretch of decreasing losses (their longest decreasing subsequence),
    and the rate halfway along it (fastai's index ``start + len/3 + len/6``). It is the default because it is the
    least fragile: one noisy step can make the steepest slope sit almost anywhere (on iris with a 4-16-3 tanh
    network and SGD the steepest slope suggests 0.74, the valley 0.0059, minimum / 10 0.029).
``"steepest"``
    the rate where the smoothed loss falls fastest per factor of rate, the most negative
    ``(smooth_{i+1} - smooth_i) / (log lr_{i+1} - log lr_i)``: Smith's own rule ("the learning rate at which the
    loss decreases the fastest"), the one a reader checks by eye on the plot.
``"minimum"``
    the rate of the lowest smoothed loss, divided by 10 (fastai's older rule): safely below where it blows up.

The network passed in is left exactly as it was: parameters, buffers, its random generator and its mode (the copy
is a ``copy.deepcopy``; the optimizer too, when an object is given). ``glassnet lr-find`` runs this from the
command line; ``result.plot()`` draws the curve (``glassnet.viz.plots.plot_lr_finder``).

Next read: ``core/schedules.py`` (what to do with the rate once chosen).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.core.checks import check_inputs, positive_int
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer, get_optimizer
from glassnet.errors import ConfigError, GlassnetTypeError, TrainingDiverged

RULES = {
    "steepest": "steepest negative slope of the smoothed loss",
    "valley": "fastai's valley: halfway along the longest decreasing stretch of the smoothed loss",
    "minimum": "minimum / 10: a tenth of the rate with the lowest smoothed loss",
}


@dataclass
class LRFinderResult:
    """What :func:`lr_finder` found.

    Attributes
    ----------
    lrs : list of float
        The rate of each step taken.
    losses : list of float
        The smoothed loss of each step (what the rules and the plot read).
    raw_losses : list of float
        The batch loss of each step, unsmoothed.
    suggestion : float or None
        The rate the chosen rule suggests; None when the run was too short to have one.
    rule : str
        The words saying which rule chose ``suggestion`` (or why there is none).
    suggestions : dict of str to float
        What every rule (``"steepest"``, ``"valley"``, ``"minimum"``) suggests, to compare.
    stopped : str
        ``"completed"`` (every step ran), ``"diverged"`` (the loss passed ``diverge`` x its best) or
        ``"not finite"`` (a step's loss or update was NaN or inf).
    """

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float | None
    rule: str
    suggestions: dict[str, float] = field(default_factory=dict)
    stopped: str = "completed"

    def plot(self, ax: Any = None) -> Any:
        """The smoothed loss against the rate (log scale), the suggestion marked; returns the matplotlib Figure.

        Draws on ``ax`` when given (a matplotlib Axes), else on a new Figure. Needs matplotlib.
        """
        from glassnet.viz.plots import plot_lr_finder

        return plot_lr_finder(self, ax=ax)

    def __repr__(self) -> str:
        shown = f"{self.suggestion:.3g}" if self.suggestion is not None else "none"
        return f"LRFinderResult({len(self.lrs)} steps, {self.stopped}, suggestion {shown} ({self.rule}))"


def _steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def _valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's ``valley``, written as it is there: the longest decreasing subsequence, then 1/3 + 1/6 along it."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return float(lrs[max_start + int(sections) + int(sections / 2)])


def _minimum(lrs: np.ndarray, losses: np.ndarray) -> float:
    return float(lrs[int(np.argmin(losses))]) / 10


SUGGEST = {"steepest": _steepest, "valley": _valley, "minimum": _minimum}


def suggest(lrs: list[float], losses: list[float], num_steps: int) -> dict[str, float]:
    """Every rule's suggestion for a curve (see the module docstring); empty when fewer than 3 points remain."""
    a, b = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    start, end = num_steps // 10, len(a) - 5
    if end - start >= 3:  # fastai's trimming, when it leaves a curve to read
        a, b = a[start:end], b[start:end]
    if len(a) < 3:
        return {}
    return {name: rule(a, b) for name, rule in SUGGEST.items()}


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
            math.isfinite(value) and value > 0):
        raise ConfigError(f"lr_finder: {what} must be a positive number, got {value!r}")
    return float(value)


def lr_finder(net: Network, X: Any, y: Any, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
              optimizer: str | Optimizer = "sgd", batch_size: int | None = 64, smooth: float = 0.98,
              diverge: float = 4.0, suggest_rule: str = "valley") -> LRFinderResult:
    """Run the learning-rate range test on a copy of ``net`` (module docstring); ``net`` itself is not changed.

    Parameters
    ----------
    net : Network
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
    start_lr, end_lr : float
        The first and the last rate; the rates in between grow by the same factor each step.
    num_steps : int
        Steps at most (the run stops earlier when the loss diverges). At least 2.
    optimizer : str or Optimizer
        The optimizer to test (a name, or an object whose settings are used: it is copied, its ``lr`` replaced).
    batch_size : int or None
        Rows per step (``None``: all rows); the rows are reshuffled each pass, from the copy's generator (so the
        same network gives the same curve).
    smooth : float
        The smoothing factor ``beta`` of the loss, in [0, 1) (0: no smoothing).
    diverge : float
        Stop once the smoothed loss exceeds ``diverge`` times its best (> 1).
    suggest_rule : {"steepest", "valley", "minimum"}
        The rule that gives ``suggestion``; every rule's answer is in ``suggestions``.

    Returns
    -------
    LRFinderResult
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"lr_finder needs a glassnet Network, got {type(net).__name__}")
    start_lr, end_lr = _positive(start_lr, "start_lr"), _positive(end_lr, "end_lr")
    if end_lr <= start_lr:
        raise ConfigError(f"lr_finder: end_lr ({end_lr:g}) must be larger than start_lr ({start_lr:g}); e.g. "
                          "start_lr=1e-7, end_lr=10")
    num_steps = positive_int(num_steps, "lr_finder: num_steps")
    if num_steps < 2:
        raise ConfigError(f"lr_finder: num_steps must be at least 2 (a curve needs two points), got {num_steps}")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, float)) or not 0 <= smooth < 1:
        raise ConfigError(f"lr_finder: smooth must be a number in [0, 1) (fastai uses 0.98), got {smooth!r}")
    if isinstance(diverge, bool) or not isinstance(diverge, (int, float)) or not (math.isfinite(diverge) and diverge > 1):
        raise ConfigError(f"lr_finder: diverge must be a number > 1 (fastai stops at 4x the best loss), got {diverge!r}")
    if suggest_rule not in RULES:
        raise ConfigError(f"lr_finder: suggest_rule must be one of {', '.join(RULES)}, got {suggest_rule!r}")
    if not isinstance(optimizer, (str, Optimizer)):
        raise GlassnetTypeError(f"lr_finder: optimizer must be a name such as 'sgd' or 'adam', or an Optimizer; got "
                                f"{type(optimizer).__name__}")
    X = check_inputs(X, net.n_in, net.dtype)
    Y = net._targets(y, X.shape[0])
    n = X.shape[0]
    size = n if batch_size is None else min(positive_int(batch_size, "lr_finder: batch_size"), n)

    probe = copy.deepcopy(net)  # every change happens to the copy: net keeps its parameters, buffers, rng and mode
    if isinstance(optimizer, Optimizer):
        opt = copy.deepcopy(optimizer)
        opt.state = {}
        opt.lr = start_lr
    else:
        opt = get_optimizer(optimizer, start_lr)
    ratio = end_lr / start_lr
    lrs: list[float] = []
    raw: list[float] = []
    losses: list[float] = []
    avg, best, stopped = 0.0, math.inf, "completed"
    order: np.ndarray = np.arange(0)
    probe._check_batch_rows(n - n % size, size)  # one-row batches under BatchNorm, refused first (the ragged batch is left out)
    for i in range(num_steps):
        if len(order) < size:  # a new pass over the rows, reshuffled (a ragged last batch is left out)
            order = probe.rng.permutation(n) if size < n else np.arange(n)
        rows, order = order[:size], order[size:]
        lr = start_lr * ratio ** (i / (num_steps - 1))
        opt.lr = lr
        try:
            loss = probe.step(X[rows], Y[rows], opt)
        except TrainingDiverged:
            stopped = "not finite"
            break
        if not math.isfinite(loss):
            stopped = "not finite"
            break
        avg = smooth * avg + (1 - smooth) * loss
        smoothed = avg / (1 - smooth ** (i + 1))
        lrs.append(lr)
        raw.append(loss)
        losses.append(smoothed)
        best = min(best, smoothed)
        if smoothed > diverge * best:
            stopped = "diverged"
            break
    found = suggest(lrs, losses, num_steps)
    if suggest_rule in found:
        return LRFinderResult(lrs, losses, raw, found[suggest_rule], RULES[suggest_rule], found, stopped)
    why = f"no suggestion: only {len(lrs)} step(s) before the loss {stopped}; lower start_lr or raise diverge"
    return LRFinderResult(lrs, losses, raw, None, why, found, stopped)


__all__ = ["LRFinderResult", "lr_finder", "suggest"]
