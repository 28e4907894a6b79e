"""Predict, then check: the change of the loss a gradient predicts for a nudge ``d``, beside the change that happens.

For one parameter entry ``w`` (a weight, a bias, any layer's own parameter) with gradient ``g = dL/dw``, Taylor's
theorem says::

    L(w + d) = L(w) + g*d + (1/2) L''(w) d^2 + O(d^3)

so the first-order prediction ``g*d`` misses the curvature term: the gap ``(L(w+d) - L(w)) - g*d`` is
``(1/2) L'' d^2 + O(d^3)``. Divide ``d`` by 10 and the gap shrinks about 100 times; ``gap/d^2`` tends to
``(1/2) L''``, which :func:`predict_then_check` shows beside a central difference of the second derivative,
``L'' ~ (L(w+h) - 2 L(w) + L(w-h)) / h^2``. For ``d`` so small that ``(1/2) L'' d^2`` is below float64's rounding
of ``L`` itself (about ``eps*|L|``, ``eps = 2.2e-16``: for ``d`` around ``1e-8``) the gap is rounding noise and
stops shrinking like ``d^2``; a row is marked when its gap is below the rounding of ``L``. A loss that is linear
in ``w`` (Huber's linear part with an identity output) has no curvature there: the gap is 0 up to rounding. Where
``L'' = 0`` but the loss is not linear (an inflection) the gap is the next term, ``L''' d^3 / 6``: it shrinks about
1000 times when ``d`` does 10 times.

The whole step has the same check: the change the gradient predicts for the optimizer's actual update,
``sum_p dL/dp * (p_new - p)`` over every parameter, beside the loss of the same batch after the update
(:class:`StepCheck`). :func:`glassnet.explain` writes both as records of its last phase, ``"check"``
(``predict_records.py``).

Every loss is the network's own (``Network._forward`` and ``_loss_value``, the L2 penalty included) on the same
rows, in the same mode as the step: in training mode Dropout gets the mask the step drew (``net.rng`` is put back
to the state the step started from before each evaluation) and BatchNorm normalises by the batch, whose statistics
move with ``w`` as the engine's gradient says they do; running statistics are put back after each pass. The
network is left as it was, bit for bit (parameters, buffers, ``net.rng``, modes: ``netstate.py``); only the
layers' caches and gradient buffers hold the last pass, as after :func:`glassnet.explain`. A float32 network is
evaluated on a float64 copy of it (its parameters and buffers cast exactly): in float32 the rounding of ``L``
(``1.2e-7 * |L|``) would drown the gaps of the default nudges.

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
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.explain.netstate import NetState, one_row_batchnorm, step_data
from glassnet.explain.records import fmt
from glassnet.explain.weight_names import largest_gradient, parse_weight, symbol_of

Array = NDArray[np.floating]

DEFAULT_NUDGES = (1e-1, 1e-2, 1e-3)
H = 1e-4  # the central difference's step: its truncation error ~h^2, its rounding error ~eps*|L|/h^2 balance here
SHEET_H = 1e-2  # a worksheet's h: its given losses have 10 digits, L'' h^2 must stand well above 1e-10
MAX_STEP_TERMS = 40  # the whole step's predicted change lists its g*dp terms up to this many
EPS = float(np.finfo(np.float64).eps)
# A gap below this many roundings of L (eps*|L|) is called rounding noise.
ROUNDING_FACTOR = 100.0

WHY = ("Taylor: L(w+d) = L(w) + g*d + (1/2) L'' d^2 + O(d^3). The prediction g*d is the first-order part; the gap "
       "is the curvature term (1/2) L'' d^2 it leaves out (plus O(d^3)): d 10 times smaller, gap about 100 times "
       "smaller, and gap/d^2 tends to (1/2) L''.")
ROUNDING = ("Rows marked * are rounding noise: for d that small the gap is below the rounding of L itself "
            "(about eps*|L|, eps = 2.2e-16 in float64), so it stops shrinking like d^2.")
INFLECTION = ("Here L'' is 0 up to rounding (an inflection): the gap is the next Taylor term, L''' d^3 / 6, and "
              "shrinks about 1000 times when d does 10 times.")
FLOAT32 = "This float32 network was evaluated on a float64 copy of it (float32 rounding would hide the gaps)."


def check_nudges(nudges: Any) -> tuple[float, ...]:
    """The nudges ``d``: one number or a sequence of finite, non-zero numbers (float64)."""
    values = [nudges] if isinstance(nudges, (int, float, np.number, bool, np.bool_)) else nudges
    how = "nudges must be numbers such as (0.1, 0.01, 0.001)"
    try:
        items = list(values)
    except TypeError:
        raise ConfigError(f"{how}, got {nudges!r:.60}") from None
    if any(isinstance(d, (bool, np.bool_)) for d in items):
        raise ConfigError(f"{how}, not True/False; got {nudges!r:.60}")
    try:
        out = tuple(float(d) for d in items)
    except (TypeError, ValueError):
        raise ConfigError(f"{how}, got {nudges!r:.60}") from None
    bad = [d for d in out if not math.isfinite(d) or d == 0.0]
    if not out or bad:
        raise ConfigError(f"nudges must be finite and non-zero (the change to try on the weight), got {list(out)}")
    twice = sorted({d for d in out if out.count(d) > 1})
    if twice:
        raise ConfigError(f"nudges must differ (each is one row of the check): {twice} given more than once in "
                          f"{list(out)}; drop the repeats")
    return out


# ----------------------------------------------------------------------------- evaluating the loss
class Probe:
    """The network's loss on ``(X, Y)`` with some parameter entries changed, everything put back after each pass.

    ``start`` is the state to evaluate from (default: the network's now). A float32 network is evaluated on a
    float64 copy (``Network.float64_copy``); ``dtype`` keeps the network's own. The network is left as it was.
    """

    def __init__(self, net: Network, X: Array, Y: Array, training: bool, start: NetState | None = None) -> None:
        start = start if start is not None else NetState(net)
        self.dtype = net.dtype.name
        self.net = net if net.dtype == np.float64 else net.float64_copy()
        self.X = np.asarray(X, dtype=np.float64)
        self.Y = np.asarray(Y, dtype=np.float64) if np.issubdtype(np.asarray(Y).dtype, np.floating) else Y
        self.training = training
        self.params = {k: np.array(p, dtype=np.float64) for k, p in start.params.items()}
        self.buffers = {k: np.array(b, dtype=np.float64) for k, b in start.buffers.items()}
        self.rng_state = copy.deepcopy(start.rng)

    def _run(self, changes: dict[str, Array], backward: bool) -> tuple[float, dict[str, Array]]:
        net = self.net
        kept = NetState(net)
        try:
            for key, p in net.parameters().items():
                p[...] = changes.get(key, self.params[key])
            for key, b in net.buffers().items():
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
            kept.restore()
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
    dtype: str = "float64"  # the network's own; the losses are float64 either way (a float32 one is copied)
    eps: float = EPS  # float64's machine epsilon: every loss here is float64
    rounding_level: float = field(init=False)

    def __post_init__(self) -> None:
        self.rounding_level = self.eps * max(abs(self.loss), self.eps)
        level = ROUNDING_FACTOR * self.rounding_level
        for n in self.nudges:  # the gap itself is down at the rounding of L (not its expected size: L'' may be 0)
            n.rounding = abs(n.gap) < level

    @property
    def half_second_derivative(self) -> float:
        """``(1/2) L''``: what ``gap/d^2`` tends to as ``d -> 0``."""
        return 0.5 * self.second_derivative

    @property
    def flat(self) -> bool:
        """True when ``L''`` is 0 up to rounding: the central difference's numerator is itself rounding."""
        return abs(self.second_derivative) * self.h ** 2 < ROUNDING_FACTOR * self.rounding_level

    @property
    def linear(self) -> bool:
        """True when the loss has no curvature in ``w`` that float64 can see (every gap is rounding noise)."""
        return self.flat and all(n.rounding for n in self.nudges)

    @property
    def inflection(self) -> bool:
        """True when ``L'' = 0`` up to rounding but the gaps are not noise: they are ``L''' d^3 / 6``."""
        return self.flat and not self.linear

    def limit(self, digits: int = 6) -> str:
        """What ``gap/d^2`` tends to, in words: ``(1/2) L'' = ...``, or 0 when ``L''`` is rounding."""
        if self.flat:
            return "0 (L'' is 0 up to rounding here)"
        return f"(1/2) L'' = {fmt(self.half_second_derivative, digits)}"

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
               f"gap/d^2 tends to {self.limit(digits)}; the central difference L'' = (L(w+h) - 2*L(w) + "
               f"L(w-h)) / h^2 = {f(self.second_derivative)} (h = {fmt(self.h)}).", WHY]
        if self.linear:
            out.append("Here L is linear in this weight (no curvature float64 can see): the gap is 0 up to rounding, "
                       "and g*d predicts the change exactly.")
        elif self.inflection:
            out.append(INFLECTION)
        if not self.linear and any(n.rounding for n in self.nudges):
            out.append(ROUNDING + f" Here eps*|L| = {fmt(self.rounding_level, 3)}.")
        if self.dtype != "float64":
            out.append(FLOAT32)
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
    terms: list[tuple[str, float, float]]  # (symbol, gradient, change) of the first MAX_STEP_TERMS entries that moved
    moved: int = -1  # how many parameter entries moved (default: len(terms))
    dtype: str = "float64"  # the network's own; the losses are float64 either way

    def __post_init__(self) -> None:
        if self.moved < 0:
            self.moved = len(self.terms)

    @property
    def rounding(self) -> bool:
        """True when the gap is below the rounding of the losses: noise, not curvature."""
        return abs(self.gap) < ROUNDING_FACTOR * EPS * max(abs(self.loss), abs(self.loss_after), EPS)

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
                + ("rounding noise: the loss is linear along this step as far as float64 can see" if self.rounding else
                   "the curvature the first-order prediction leaves out: it grows like the square of the step"))


def step_check(probe: Probe, loss: float, gradients: dict[str, Array], after: dict[str, Array]) -> StepCheck:
    """:class:`StepCheck` of an update from ``probe.params`` to ``after`` (the loss ``loss`` and ``gradients`` at the
    start, the engine's), with one more evaluation of the loss. The sum is one ``vdot`` per parameter array; only
    the first :data:`MAX_STEP_TERMS` moved entries are named (the records write no more)."""
    terms: list[tuple[str, float, float]] = []
    predicted, moved = 0.0, 0
    for key, g in gradients.items():
        change = np.asarray(after[key], dtype=np.float64) - probe.params[key]
        predicted += float(np.vdot(np.asarray(g, dtype=np.float64), change))
        moved += int(np.count_nonzero(change))
        for flat in np.flatnonzero(change)[:max(0, MAX_STEP_TERMS - len(terms))]:
            idx = tuple(int(i) for i in np.unravel_index(int(flat), change.shape))
            terms.append((symbol_of(key, idx), float(g[idx]), float(change[idx])))
    return StepCheck(loss, probe.loss(after), predicted, terms, moved, probe.dtype)


def nudge(probe: Probe, key: str, index: tuple[int, ...], loss: float, gradient: float,
          nudges: Sequence[float], h: float = H) -> Prediction:
    """:class:`Prediction` for one entry, given ``L(w)`` and the engine's ``g`` at the probe's parameters; ``L''``
    by a central difference with step ``h``."""
    rows = []
    for d in nudges:
        value = probe.nudged(key, index, d)
        rows.append(Nudge(d, value, gradient * d, value - loss))
    plus, minus = probe.nudged(key, index, h), probe.nudged(key, index, -h)
    second = (plus - 2.0 * loss + minus) / h ** 2
    return Prediction(key, index, symbol_of(key, index), float(probe.params[key][index]), loss, gradient, rows,
                      second, h, plus, minus, probe.training, probe.dtype)


def check_h(h: Any) -> float:
    """The central difference's step ``h``: a finite number > 0 (not a bool)."""
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, float, np.number)) or not 0 < float(h) < math.inf:
        raise ConfigError(f"h (the central difference's step for L'') must be a number > 0 such as 1e-4, got {h!r:.40}")
    return float(h)


def predict_then_check(net: Network, X: Any, y: Any, weight: Any = None, nudges: Any = DEFAULT_NUDGES, *,
                       training: bool = True, h: float = H) -> Prediction:
    """For one weight, the change of the loss its gradient predicts for each nudge ``d``, beside the actual change.

    Parameters
    ----------
    net : Network
        Left exactly as it was. A float32 network is evaluated on a float64 copy of it (see the module docstring).
    X : array-like of shape (n_samples, n_in)
    y : array-like
        The targets, as for :meth:`Network.fit`.
    weight : str or (str, tuple), optional
        ``"0.W[1,2]"``, ``("0.W", (1, 2))`` or the symbol ``"w^(1)_{2,3}"`` (see :func:`parse_weight`); default the
        weight with the largest ``|gradient|``.
    nudges : float or sequence of float
        The changes ``d`` to try (float64, all different); ``(1e-1, 1e-2, ..., 1e-9)`` shows the gap shrinking like
        ``d^2`` and then, near ``1e-8``, drowning in rounding.
    training : bool
        The mode, as in :func:`glassnet.explain` (default True: training mode, the step's Dropout mask); the
        network's own mode (``net.eval()``) does not matter.
    h : float
        The central difference's step for ``L''`` (default 1e-4).

    Returns
    -------
    Prediction
        ``L(w)``, the gradient ``g`` (float64), and per nudge ``g*d``, ``L(w+d) - L(w)``, the gap and ``gap/d^2``,
        with ``L''`` by a central difference.
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"predict_then_check needs a glassnet Network, got {type(net).__name__}")
    Xc, Y = step_data(net, X, y)  # as explain reads them: one sample may be a flat list
    values, step = check_nudges(nudges), check_h(h)
    training = check_bool(training, "predict_then_check: training")
    key_index = parse_weight(net, weight) if weight is not None else None  # a wrong weight fails before any pass
    probe = Probe(net, Xc, Y, training)
    try:
        loss, grads = probe.gradients()
    except ShapeError as exc:
        better = one_row_batchnorm(exc, "predict_then_check", training, Xc.shape[0])
        if better is not None:
            raise better from None
        raise
    key, index = largest_gradient(grads, net.frozen) if key_index is None else key_index
    return nudge(probe, key, index, loss, float(grads[key][index]), values, step)
