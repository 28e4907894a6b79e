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
``gap(step)``. ``L`` is the loss record's symbol; ``dL/dw`` the gradient record's. Every value is float64 from
``predict.py``; these functions only write the formulas.

Next read: ``render.py``.
"""

from __future__ import annotations

from glassnet.explain.predict import WHY, Prediction, StepCheck
from glassnet.explain.records import Record, fmt, grad, term

CHECK_KINDS = ("nudged_loss", "predicted_change", "actual_change", "gap", "gap_per_d2", "second_derivative",
               "gap_ratio")
MAX_STEP_TERMS = 40  # the whole step's predicted change lists its g*dp terms up to this many


def prediction_records(p: Prediction, digits: int) -> list[Record]:
    """The records of one weight's :class:`~glassnet.explain.predict.Prediction`."""
    w = p.symbol
    f = lambda v: fmt(v, digits)  # noqa: E731
    t = lambda v: term(v, digits)  # noqa: E731
    out: list[Record] = []

    def add(kind: str, symbol: str, value: float, expression: str = "", numbers: str = "", note: str = "") -> None:
        if kind == "nudged_loss" and any(r.symbol == symbol for r in out):
            return  # L(w+0.0001) is already there when 1e-4 is one of the nudges
        out.append(Record(kind=kind, phase="check", symbol=symbol, value=value, expression=expression,
                          numbers=numbers, note=note, key=p.key, indices=p.index, layer=int(p.key.split(".")[0]) + 1,
                          neuron=p.index[-1] if p.index else 0, digits=digits))

    # The change is a small difference of two losses: its operands are written with more digits (a worksheet gives
    # the nudged losses with as many, worksheet.py).
    given = max(digits, 10)
    for n, nudge in enumerate(p.nudges):
        D, tag = term(nudge.d), _tag(w, nudge.d)  # the nudge as typed (it is given, not computed)
        add("nudged_loss", f"L({tag})", nudge.loss,
            note=f"the loss of the same rows with only {w} moved from {f(p.value)} by {fmt(nudge.d)}: a forward "
                 "pass again (given)" if n == 0 else "")
        add("predicted_change", f"dL_pred({tag})", nudge.predicted, f"{grad(w)} * {D}", f"{t(p.gradient)}*{D}",
            "what the gradient predicts: the first-order change g*d" if n == 0 else "")
        add("actual_change", f"dL_actual({tag})", nudge.actual, f"L({tag}) - L",
            f"{fmt(nudge.loss, given)} - {term(p.loss, given)}")
        add("gap", f"gap({tag})", nudge.gap, f"dL_actual({tag}) - dL_pred({tag})",
            f"{f(nudge.actual)} - {t(nudge.predicted)}",
            "rounding noise: (1/2) L'' d^2 is below the rounding of L here" if nudge.rounding
            else ("what the prediction misses: (1/2) L'' d^2 + O(d^3)" if n == 0 else ""))
        add("gap_per_d2", f"gap_per_d2({tag})", nudge.gap_per_d2, f"gap({tag}) / {D}^2", f"{t(nudge.gap)} / {D}^2",
            f"tends to (1/2) L'' = {f(p.half_second_derivative)} as d -> 0" if n == 0 else "")
    plus, minus, h = f"L({_tag(w, p.h)})", f"L({_tag(w, -p.h)})", fmt(p.h)
    add("nudged_loss", plus, p.loss_plus_h)
    add("nudged_loss", minus, p.loss_minus_h)
    add("second_derivative", f"L''({w})", p.second_derivative, f"({plus} - 2*L + {minus}) / {h}^2",
        f"({fmt(p.loss_plus_h, given)} - 2*{term(p.loss, given)} + {fmt(p.loss_minus_h, given)}) / {h}^2",
        f"a central difference; half of it, {f(p.half_second_derivative)}, is what gap/d^2 tends to. {WHY}"
        + (" L is linear in this weight here: the gaps are 0 up to rounding." if p.linear else ""))
    for a, b in zip(p.nudges, p.nudges[1:]):
        ratio = a.gap / b.gap if b.gap != 0.0 else float("nan")
        add("gap_ratio", f"gap_ratio({w}, {fmt(a.d)}/{fmt(b.d)})", ratio,
            f"gap({_tag(w, a.d)}) / gap({_tag(w, b.d)})", f"{t(a.gap)} / {t(b.gap)}",
            f"about ({fmt(a.d)}/{fmt(b.d)})^2 = {fmt((a.d / b.d) ** 2, 4)} while the gap is the curvature term"
            + ("; here the gaps are rounding noise" if a.rounding or b.rounding else ""))
    return out


def _tag(w: str, d: float) -> str:
    """``w^(1)_{1,2}+0.01``: the weight and its nudge, as the check's symbols write them."""
    return f"{w}{'+' if d > 0 else '-'}{fmt(abs(d))}"


def step_records(check: StepCheck, digits: int) -> list[Record]:
    """The records of the whole step's :class:`~glassnet.explain.predict.StepCheck`."""
    f = lambda v: fmt(v, digits)  # noqa: E731
    t = lambda v: term(v, digits)  # noqa: E731
    terms = check.terms
    numbers = " + ".join(f"{t(g)}*{t(change)}" for _, g, change in terms) if 0 < len(terms) <= MAX_STEP_TERMS else ""
    moved = (f"{len(terms)} parameter entries moved" if terms else "no parameter moved")
    given = max(digits, 10)  # as for a nudged weight: the change is a small difference of two losses
    return [
        Record(kind="nudged_loss", symbol="L(step)", value=check.loss_after,
               note="the loss of the same rows after the update: a forward pass with the new parameters (given)",
               phase="check", digits=digits),
        Record(kind="predicted_change", symbol="dL_pred(step)", value=check.predicted,
               expression="sum_p dL/dp * (p_{new} - p)", numbers=numbers,
               note=f"over every parameter p ({moved}); for plain SGD, -lr times the sum of the squared gradients",
               phase="check", digits=digits),
        Record(kind="actual_change", symbol="dL_actual(step)", value=check.actual, expression="L(step) - L",
               numbers=f"{fmt(check.loss_after, given)} - {term(check.loss, given)}", phase="check", digits=digits),
        Record(kind="gap", symbol="gap(step)", value=check.gap, expression="dL_actual(step) - dL_pred(step)",
               numbers=f"{f(check.actual)} - {t(check.predicted)}", note=check.sentence(digits), phase="check", digits=digits),
    ]
