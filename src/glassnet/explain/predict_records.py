"""The ledger's last phase, ``"check"``: predict, then check, as records (``predict.py`` computes the numbers).

For each weight ``w`` asked for (``explain(..., predict=...)``) and each nudge ``d`` (written ``D``, its number as
in every formula), in this order::

    L(w+D)            = the loss with only w moved by d            (kind nudged_loss: a forward pass, given)
    dL_pred(w+D)      = dL/dw * D                                  (predicted_change)
    dL_actual(w+D)    = L(w+D) - L                                 (actual_change)
    gap(w+D)          = dL_actual(w+D) - dL_pred(w+D)              (gap)
    gap_per_d2(w+D)   = gap(w+D) / D^2                             (gap_per_d2)

then ``L(w+0.0001)``, ``L(w-0.0001)`` (nudged_loss), ``L''(w) = (L(w+0.0001) - 2*L + L(w-0.0001)) / 0.0001^2``
(second_derivative) and, for consecutive nudges, ``gap_ratio(w, D1/D2) = gap(w+D1) / gap(w+D2)`` (gap_ratio).
With an optimizer (unless ``check_step=False``) the whole step: ``L(step)`` (nudged_loss: the batch's loss with
the updated parameters), ``dL_pred(step) = sum_p dL/dp * (p_{new} - p)``, ``dL_actual(step) = L(step) - L`` and
``gap(step)``. ``L_0`` (kind nudged_loss, a given) is the loss at the start of the step, ``L``, again: written with
the digits the small differences need (a worksheet gives it to 10 digits, like the nudged losses, where ``L`` was
asked to 4), and for a float32 network evaluated in float64 on a copy (``predict.py``). ``dL/dw`` is the gradient
record's symbol.
Every value is float64 from ``predict.py``; these functions only write the formulas. Each operand of a
difference is written with the digits that keep the result's (:func:`operand_digits`): the numbers shown give the
value shown.

Next read: ``render.py``.
"""

from __future__ import annotations

import math

from glassnet.explain.predict import MAX_STEP_TERMS, WHY, Prediction, StepCheck
from glassnet.explain.records import Record, fmt, grad, term

CHECK_KINDS = ("nudged_loss", "predicted_change", "actual_change", "gap", "gap_per_d2", "second_derivative",
               "gap_ratio")
L0 = "L_0"  # the loss at the start of the step, a given of the check (float64, on a copy for a float32 network)


def operand_digits(digits: int, result: float, *operands: float) -> int:
    """The digits for the operands of a sum whose ``result`` is much smaller than they are (cancellation):
    ``digits + ceil(log10(max|operand| / |result|))``, from ``digits`` to 17, so that the numbers shown give the
    result to ``digits`` digits."""
    big = max((abs(v) for v in operands if math.isfinite(v)), default=0.0)
    if big == 0.0 or not math.isfinite(result):
        return digits
    if result == 0.0:
        return 17
    return max(digits, min(17, digits + math.ceil(math.log10(big / abs(result)))))


def loss_records(loss: float, digits: int, float32: bool) -> list[Record]:
    """``L_0``: the loss at the start of the step, in float64 (a given of the check)."""
    note = ("the same loss L in float64, on a float64 copy of this float32 network: the check's losses are float64 "
            "(float32 rounding would hide the gaps)" if float32 else
            "the loss L again, given with the digits the small differences below need")
    return [Record(kind="nudged_loss", phase="check", symbol=L0, value=loss, digits=digits, note=note)]


def prediction_records(p: Prediction, digits: int) -> list[Record]:
    """The records of one weight's :class:`~glassnet.explain.predict.Prediction`."""
    w, L = p.symbol, L0
    f = lambda v: fmt(v, digits)  # noqa: E731
    t = lambda v: term(v, digits)  # noqa: E731
    out: list[Record] = []

    def add(kind: str, symbol: str, value: float, expression: str = "", numbers: str = "", note: str = "") -> None:
        if kind == "nudged_loss" and any(r.symbol == symbol for r in out):
            return  # L(w+0.0001) is already there when 1e-4 is one of the nudges
        out.append(Record(kind=kind, phase="check", symbol=symbol, value=value, expression=expression,
                          numbers=numbers, note=note, key=p.key, indices=p.index, layer=int(p.key.split(".")[0]) + 1,
                          neuron=p.index[-1] if p.index else 0, digits=digits))

    for n, nudge in enumerate(p.nudges):
        D, tag = term(nudge.d), nudge_tag(w, nudge.d)  # the nudge as typed (it is given, not computed)
        add("nudged_loss", f"L({tag})", nudge.loss,
            note=f"the loss of the same rows with only {w} moved from {f(p.value)} by {fmt(nudge.d)}: a forward "
                 "pass again (given)" if n == 0 else "")
        add("predicted_change", f"dL_pred({tag})", nudge.predicted, f"{grad(w)} * {D}", f"{t(p.gradient)}*{D}",
            "what the gradient predicts: the first-order change g*d" if n == 0 else "")
        k = operand_digits(digits, nudge.actual, nudge.loss, p.loss)
        add("actual_change", f"dL_actual({tag})", nudge.actual, f"L({tag}) - {L}",
            f"{fmt(nudge.loss, k)} - {term(p.loss, k)}")
        k = operand_digits(digits, nudge.gap, nudge.actual, nudge.predicted)
        add("gap", f"gap({tag})", nudge.gap, f"dL_actual({tag}) - dL_pred({tag})",
            f"{fmt(nudge.actual, k)} - {term(nudge.predicted, k)}",
            "rounding noise: the gap is below the rounding of L here" if nudge.rounding
            else ("what the prediction misses: (1/2) L'' d^2 + O(d^3)" if n == 0 else ""))
        add("gap_per_d2", f"gap_per_d2({tag})", nudge.gap_per_d2, f"gap({tag}) / {D}^2", f"{t(nudge.gap)} / {D}^2",
            f"tends to {p.limit(digits)} as d -> 0" if n == 0 else "")
    plus, minus, h = f"L({nudge_tag(w, p.h)})", f"L({nudge_tag(w, -p.h)})", fmt(p.h)
    add("nudged_loss", plus, p.loss_plus_h)
    add("nudged_loss", minus, p.loss_minus_h)
    k = operand_digits(digits, p.second_derivative * p.h ** 2, p.loss_plus_h, 2 * p.loss, p.loss_minus_h)
    shape = (" L is linear in this weight here: the gaps are 0 up to rounding." if p.linear else
             " L'' is 0 here (an inflection): the gaps are L''' d^3 / 6." if p.inflection else "")
    add("second_derivative", f"L''({w})", p.second_derivative, f"({plus} - 2*{L} + {minus}) / {h}^2",
        f"({fmt(p.loss_plus_h, k)} - 2*{term(p.loss, k)} + {fmt(p.loss_minus_h, k)}) / {h}^2",
        f"a central difference; gap/d^2 tends to {p.limit(digits)}. {WHY}{shape}")
    for (a, b), (d1, d2, ratio) in zip(zip(p.nudges, p.nudges[1:]), p.ratios()):
        add("gap_ratio", f"gap_ratio({w}, {fmt(d1)}/{fmt(d2)})", ratio,
            f"gap({nudge_tag(w, d1)}) / gap({nudge_tag(w, d2)})", f"{t(a.gap)} / {t(b.gap)}",
            f"about ({fmt(d1)}/{fmt(d2)})^2 = {fmt((d1 / d2) ** 2, 4)} while the gap is the curvature term"
            + ("; here the gaps are rounding noise" if a.rounding or b.rounding else ""))
    return out


def nudge_tag(w: str, d: float) -> str:
    """``w^(1)_{1,2}+0.01``: the weight and its nudge, as the check's symbols write them."""
    return f"{w}{'+' if d > 0 else '-'}{fmt(abs(d))}"


def step_records(check: StepCheck, digits: int) -> list[Record]:
    """The records of the whole step's :class:`~glassnet.explain.predict.StepCheck`."""
    L = L0
    numbers = ""
    if 0 < check.moved <= MAX_STEP_TERMS:
        k = operand_digits(digits, check.predicted, *(g * change for _, g, change in check.terms))
        numbers = " + ".join(f"{term(g, k)}*{term(change, k)}" for _, g, change in check.terms)
    moved = f"{check.moved} parameter entries moved" if check.moved else "no parameter moved"
    k_actual = operand_digits(digits, check.actual, check.loss_after, check.loss)
    k_gap = operand_digits(digits, check.gap, check.actual, check.predicted)
    return [
        Record(kind="nudged_loss", symbol="L(step)", value=check.loss_after,
               note="the loss of the same rows after the update: a forward pass with the new parameters (given)",
               phase="check", digits=digits),
        Record(kind="predicted_change", symbol="dL_pred(step)", value=check.predicted,
               expression="sum_p dL/dp * (p_{new} - p)", numbers=numbers,
               note=f"over every parameter p ({moved}); for plain SGD, -lr times the sum of the squared gradients",
               phase="check", digits=digits),
        Record(kind="actual_change", symbol="dL_actual(step)", value=check.actual, expression=f"L(step) - {L}",
               numbers=f"{fmt(check.loss_after, k_actual)} - {term(check.loss, k_actual)}", phase="check",
               digits=digits),
        Record(kind="gap", symbol="gap(step)", value=check.gap, expression="dL_actual(step) - dL_pred(step)",
               numbers=f"{fmt(check.actual, k_gap)} - {term(check.predicted, k_gap)}", note=check.sentence(digits),
               phase="check", digits=digits),
    ]
