"""Predict, then check: the change of the loss a gradient predicts for a nudge ``d``, beside the change that happens.

For one parameter entry ``w`` (a weight, a bias, any layer's own parameter) with gradient ``g = dL/dw``, Taylor's
theorem says::

    L(w + d) = L(w) + g*d + (1/2) L''(w) d^2 + O(d^3)

so the first-order prediction ``g*d`` misses the curvature term: the gap ``(L(w+d) - L(w)) - g*d`` is
``(1/2) L'' d^2 + O(d^3)``. Divide ``d`` by 10 and the gap shrinks about 100 times; ``gap/d^2`` tends to
``(1/2) L''``, which :func:`predict_then_check` shows beside a central difference of the second derivative,
``L'' ~ (L(w+h) - 2 L(w) + L(w-h)) / h^2``. For ``d`` so small that ``(1/2) L'' d^2`` is below float64's rounding
of ``L`` itself (about ``eps*|L|``, ``eps = 2.2e-16``: for ``d`` around ``1e-8``) the gap is rounding noise and
stops shrinking like ``d^2``; those rows are marked. A loss that is linear in ``w`` (Huber's linear part with an
identity output) has no curvature there: the gap is 0 up to rounding.

The whole step has the same check: the change the gradient predicts for the optimizer's actual update,
``sum_p dL/dp * (p_new - p)`` over every parameter, beside the loss of the same batch after the update
(:class:`StepCheck`). :func:`glassnet.explain` writes both as records of its last phase, ``"check"``
(``predict_records.py``).

Every loss is the network's own (``Network._forward`` and ``_loss_value``, the L2 penalty included) on the same
rows, in the same mode as the step: in training mode Dropout gets the mask the step drew (``net.rng`` is put back
to the state the step started from before each evaluation) and BatchNorm normalises by the batch, whose statistics
move with ``w`` as the engine's gradient says they do; running statistics are put back after each pass. The
network is left as it was, bit for bit (parameters, buffers, ``net.rng``, modes); only the layers' caches and
gradient buffers hold the last pass, as after :func:`glassnet.explain`.

Next read: ``weight_names.py`` (the forms a weight may be written in), ``predict_records.py`` (the records),
``trace.py`` (``explain(..., predict=...)``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError
from glassnet.explain.records import fmt
from glassnet.explain.weight_names import largest_gradient, parse_weight, symbol_of

Array = NDArray[np.floating]

DEFAULT_NUDGES = (1e-1, 1e-2, 1e-3)
H = 1e-4  # the central difference's step: its truncation error ~h^2, its rounding error ~eps*|L|/h^2 balance here
H_FLOAT32 = 1e-2  # the same balance for a float32 network (eps 1.2e-7): h about eps**(1/4)
EPS = float(np.finfo(np.float64).eps)
# A gap whose curvature term (1/2)|L''| d^2 is below this many roundings of L (eps*|L|) is called rounding noise.
ROUNDING_FACTOR = 100.0

WHY = ("Taylor: L(w+d) = L(w) + g*d + (1/2) L'' d^2 + O(d^3). The prediction g*d is the first-order part; the gap "
       "is the curvature term (1/2) L'' d^2 it leaves out (plus O(d^3)): d 10 times smaller, gap about 100 times "
       "smaller, and gap/d^2 tends to (1/2) L''.")
ROUNDING = ("Rows marked * are rounding noise: for d that small, (1/2) L'' d^2 is below the rounding of L itself "
            "(about eps*|L|, eps = 2.2e-16 in float64), so the gap stops shrinking like d^2.")


def check_nudges(nudges: Any) -> tuple[float, ...]:
    """The nudges ``d``: one number or a sequence of finite, non-zero numbers (float64)."""
    values = [nudges] if isinstance(nudges, (int, float, np.number)) else nudges
    try:
        out = tuple(float(d) for d in values)
    except (TypeError, ValueError):
        raise ConfigError(f"nudges must be numbers such as (0.1, 0.01, 0.001), got {nudges!r:.60}") from None
    bad = [d for d in out if not math.isfinite(d) or d == 0.0]
    if not out or bad:
        raise ConfigError(f"nudges must be finite and non-zero (the change to try on the weight), got {list(out)}")
    return out


# ----------------------------------------------------------------------------- evaluating the loss
class Probe:
    """The network's loss on ``(X, Y)`` with some parameter entries changed, everything put back after each pass.

    ``params``, ``buffers`` and ``rng_state`` are the state to evaluate from (default: the network's now); the
    network's own state is restored after every call, bit for bit.
    """

    def __init__(self, net: Network, X: Array, Y: Array, training: bool, params: dict[str, Array] | None = None,
                 buffers: dict[str, Array] | None = None, rng_state: Any = None) -> None:
        self.net, self.X, self.Y, self.training = net, X, Y, training
        self.params = {k: p.copy() for k, p in (params or net.parameters()).items()}
        self.buffers = {k: b.copy() for k, b in (buffers or net.buffers()).items()}
        self.rng_state = copy.deepcopy(rng_state if rng_state is not None else net.rng.bit_generator.state)

    def _run(self, changes: dict[str, Array], backward: bool) -> tuple[float, dict[str, Array]]:
        net = self.net
        live, live_buffers = net.parameters(), net.buffers()
        kept = {k: p.copy() for k, p in live.items()}
        kept_buffers = {k: b.copy() for k, b in live_buffers.items()}
        kept_rng, modes = copy.deepcopy(net.rng.bit_generator.state), net._modes()
        try:
            for key, p in live.items():
                p[...] = changes.get(key, self.params[key])
            for key, b in live_buffers.items():
                b[...] = self.buffers[key]
            net.rng.bit_generator.state = copy.deepcopy(self.rng_state)  # the step's own Dropout mask
            net.train(self.training)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                net._forward(self.X)
                value = float(net._loss_value(self.Y))
                grads = {}
                if backward:
                    net._backward(self.Y)
                    grads = {k: g.copy() for k, g in net._grads().items()}
        finally:
            for key, p in live.items():
                p[...] = kept[key]
            for key, b in live_buffers.items():
                b[...] = kept_buffers[key]
            net.rng.bit_generator.state = kept_rng
            net._set_modes(modes)
        return value, grads

    def loss(self, changes: dict[str, Array] | None = None) -> float:
        """The loss with the parameters in ``changes`` (whole arrays, by key) replacing the probe's own."""
        return self._run(changes or {}, backward=False)[0]

    def nudged(self, key: str, index: tuple[int, ...], d: float) -> float:
        """The loss with only entry ``index`` of ``key`` moved by ``d``."""
        p = self.params[key].copy()
        p[index] = p[index] + d
        return self.loss({key: p})

    def gradients(self) -> tuple[float, dict[str, Array]]:
        """The loss and the engine's gradients (backward) at the probe's parameters."""
        return self._run({}, backward=True)


# ----------------------------------------------------------------------------- results
@dataclass
class Nudge:
    """One nudge ``d`` of the weight: ``loss`` is ``L(w+d)``, ``predicted`` ``g*d``, ``actual`` ``L(w+d) - L(w)``."""

    d: float
    loss: float
    predicted: float
    actual: float
    rounding: bool = False  # the gap is below the rounding of L: noise, not curvature

    @property
    def gap(self) -> float:
        return self.actual - self.predicted

    @property
    def gap_per_d2(self) -> float:
        return self.gap / self.d ** 2


@dataclass
class Prediction:
    """Predicted beside actual changes of the loss for nudges of one parameter entry (see the module docstring).

    Attributes
    ----------
    key, index, symbol : str, tuple of int, str
        The entry: ``"0.W"``, ``(0, 1)``, ``"w^(1)_{1,2}"``.
    value, loss, gradient : float
        ``w``, ``L(w)`` and the engine's ``g = dL/dw``.
    nudges : list of Nudge
        In the order given.
    second_derivative : float
        ``L''(w)`` by a central difference with step ``h``; ``loss_plus_h``, ``loss_minus_h`` are ``L(w +- h)``.
    rounding_level : float
        ``eps*|L|``: float64's rounding of the loss itself.
    training : bool
        The mode the losses were evaluated in.
    """

    key: str
    index: tuple[int, ...]
    symbol: str
    value: float
    loss: float
    gradient: float
    nudges: list[Nudge]
    second_derivative: float
    h: float
    loss_plus_h: float
    loss_minus_h: float
    training: bool = True
    eps: float = EPS  # the machine epsilon of the network's dtype (float64: 2.2e-16)
    rounding_level: float = field(init=False)

    def __post_init__(self) -> None:
        self.rounding_level = self.eps * max(abs(self.loss), self.eps)
        curvature, level = 0.5 * abs(self.second_derivative), ROUNDING_FACTOR * self.rounding_level
        for n in self.nudges:  # the gap, or the curvature term it should be, is down at the rounding of L
            n.rounding = abs(n.gap) < level or curvature * n.d ** 2 < level

    @property
    def half_second_derivative(self) -> float:
        """``(1/2) L''``: what ``gap/d^2`` tends to as ``d -> 0``."""
        return 0.5 * self.second_derivative

    @property
    def linear(self) -> bool:
        """True when the loss has no curvature in ``w`` that float64 can see (every gap is rounding noise)."""
        # The central difference's numerator L(w+h) - 2 L(w) + L(w-h) is itself rounding: no curvature to see.
        flat = abs(self.second_derivative) * self.h ** 2 < ROUNDING_FACTOR * self.rounding_level
        return flat and all(n.rounding for n in self.nudges)

    def ratios(self) -> list[tuple[float, float, float]]:
        """``(d1, d2, gap(d1)/gap(d2))`` for consecutive nudges: about ``(d1/d2)^2`` while the gap is curvature."""
        return [(a.d, b.d, a.gap / b.gap if b.gap != 0.0 else math.nan) for a, b in zip(self.nudges, self.nudges[1:])]

    def to_text(self, digits: int = 6) -> str:
        """A table of the nudges, the curvature beside ``gap/d^2``, and the words why."""
        f = lambda v: fmt(v, digits)  # noqa: E731
        head = (f"Predict, then check: {self.symbol} ({self.key}{list(self.index)}) = {f(self.value)}; "
                f"L = {f(self.loss)} ({'training' if self.training else 'evaluation'} mode), "
                f"dL/d{self.symbol} = g = {f(self.gradient)}")
        rows = [f"{'d':>10} {'predicted g*d':>15} {'actual L(w+d)-L(w)':>19} {'gap':>13} {'gap/d^2':>13} {'gap ratio':>10}"]
        ratios = [None] + [r for _, _, r in self.ratios()]
        for n, ratio in zip(self.nudges, ratios):
            rows.append(f"{f(n.d):>10} {f(n.predicted):>15} {f(n.actual):>19} {f(n.gap):>13} {f(n.gap_per_d2):>13} "
                        f"{'' if ratio is None else fmt(ratio, 4):>10}" + (" *" if n.rounding else ""))
        out = [head, *rows,
               f"(1/2) L'' = {f(self.half_second_derivative)}, from the central difference L'' = (L(w+h) - 2*L(w) + "
               f"L(w-h)) / h^2 = {f(self.second_derivative)} (h = {fmt(self.h)}): what gap/d^2 tends to.", WHY]
        if self.linear:
            out.append("Here L is linear in this weight (no curvature float64 can see): the gap is 0 up to rounding, "
                       "and g*d predicts the change exactly.")
        elif any(n.rounding for n in self.nudges):
            out.append(ROUNDING + f" Here eps*|L| = {fmt(self.rounding_level, 3)}.")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (f"Prediction({self.symbol}, g={self.gradient:.6g}, (1/2)L''={self.half_second_derivative:.6g}, "
                f"{len(self.nudges)} nudge(s))")


@dataclass
class StepCheck:
    """The whole step: ``predicted = sum_p dL/dp * (p_new - p)`` beside ``actual = L(after) - L(before)``."""

    loss: float
    loss_after: float
    predicted: float
    terms: list[tuple[str, float, float]]  # (symbol, gradient, change) of every parameter entry that moved

    @property
    def actual(self) -> float:
        return self.loss_after - self.loss

    @property
    def gap(self) -> float:
        return self.actual - self.predicted

    def sentence(self, digits: int = 6) -> str:
        """``this step was predicted to lower the loss by X; it lowered it by Y``."""
        def by(v: float) -> str:
            return f"by {fmt(abs(v), digits)}"

        predicted = ("lower" if self.predicted < 0 else "raise") + f" the loss {by(self.predicted)}"
        actual = ("lowered" if self.actual < 0 else "raised") + f" it {by(self.actual)}"
        return (f"this step was predicted to {predicted}; it {actual} "
                f"(from {fmt(self.loss, digits)} to {fmt(self.loss_after, digits)}); the gap, {fmt(self.gap, digits)}, is "
                "the curvature the first-order prediction leaves out: it grows like the square of the step")


def step_check(probe: Probe, loss: float, gradients: dict[str, Array], after: dict[str, Array]) -> StepCheck:
    """:class:`StepCheck` of an update from ``probe.params`` to ``after`` (the loss ``loss`` and ``gradients`` at the
    start, the engine's), with one more evaluation of the loss."""
    terms: list[tuple[str, float, float]] = []
    predicted = 0.0
    for key, g in gradients.items():
        change = np.asarray(after[key], dtype=np.float64) - np.asarray(probe.params[key], dtype=np.float64)
        predicted += float(np.sum(np.asarray(g, dtype=np.float64) * change))
        terms += [(symbol_of(key, tuple(int(i) for i in idx)), float(g[idx]), float(change[idx]))
                  for idx in np.ndindex(change.shape) if change[idx] != 0.0]
    return StepCheck(loss, probe.loss(after), predicted, terms)


def nudge(probe: Probe, key: str, index: tuple[int, ...], loss: float, gradient: float,
          nudges: Sequence[float]) -> Prediction:
    """:class:`Prediction` for one entry, given ``L(w)`` and the engine's ``g`` at the probe's parameters."""
    rows = []
    for d in nudges:
        value = probe.nudged(key, index, d)
        rows.append(Nudge(d, value, gradient * d, value - loss))
    eps = float(np.finfo(probe.X.dtype).eps)
    h = H if eps < 1e-12 else H_FLOAT32
    plus, minus = probe.nudged(key, index, h), probe.nudged(key, index, -h)
    second = (plus - 2.0 * loss + minus) / h ** 2
    return Prediction(key, index, symbol_of(key, index), float(probe.params[key][index]), loss, gradient, rows,
                      second, h, plus, minus, probe.training, eps)


def predict_then_check(net: Network, X: Any, y: Any, weight: Any = None, nudges: Any = DEFAULT_NUDGES, *,
                       training: bool = True) -> Prediction:
    """For one weight, the change of the loss its gradient predicts for each nudge ``d``, beside the actual change.

    Parameters
    ----------
    net : Network
    X : array-like of shape (n_samples, n_in)
    y : array-like
        The targets, as for :meth:`Network.fit`.
    weight : str or (str, tuple), optional
        ``"0.W[1,2]"``, ``("0.W", (1, 2))`` or the symbol ``"w^(1)_{2,3}"`` (see :func:`parse_weight`); default the
        weight with the largest ``|gradient|``.
    nudges : float or sequence of float
        The changes ``d`` to try (float64); ``(1e-1, 1e-2, ..., 1e-9)`` shows the gap shrinking like ``d^2`` and
        then, near ``1e-8``, drowning in rounding.
    training : bool
        The mode, as in :func:`glassnet.explain` (default True: training mode, the step's Dropout mask).

    Returns
    -------
    Prediction
        ``L(w)``, the engine's ``g``, and per nudge ``g*d``, ``L(w+d) - L(w)``, the gap and ``gap/d^2``, with
        ``L''`` by a central difference. The network is left exactly as it was.
    """
    from glassnet.explain.trace import step_data  # trace.py imports this module

    if not isinstance(net, Network):
        raise GlassnetTypeError(f"predict_then_check needs a glassnet Network, got {type(net).__name__}")
    Xc, Y = step_data(net, X, y)  # as explain reads them: one sample may be a flat list
    values = check_nudges(nudges)
    training = check_bool(training, "predict_then_check: training")
    probe = Probe(net, Xc, Y, training)
    loss, grads = probe.gradients()
    key, index = largest_gradient(grads, net.frozen) if weight is None else parse_weight(net, weight)
    return nudge(probe, key, index, loss, float(grads[key][index]), values)
