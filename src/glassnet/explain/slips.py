"""The known slips of a learner working a training step by hand, each a small function that proposes what a
learner with that slip would have written for one blank.

The grader (``grade.py``) tries them in the order of :data:`SLIPS` on every wrong blank whose inputs were right,
and names the first whose proposal matches the answer (to the digits the sheet asks for), with one sentence of
why. The slips:

- ``derivative at z``: an activation's slope worked out at z, not at a = f(z) (sigmoid' as z(1 - z), tanh' as
  1 - z^2);
- ``forgotten bias``: z = sum_i w*a without + b;
- ``lost 1/N``: the mean's 1/N left out, or put in twice (a loss, its gradient, a delta or a gradient N times too
  large or too small; N the number of samples, or of samples x outputs for a loss that averages every entry);
- ``sign``: the negated value (y - a for a - y), or w + lr*g for w - lr*g;
- ``swapped index``: w_{j,i} for w_{i,j} in a sum, or a gradient or update of the transposed entry;
- ``forgot the derivative``: a delta without its activation's slope f'(z);
- ``forgot the learning rate`` and ``learning rate twice``: w - g, or w - lr*lr*g;
- ``updated weight``: a delta worked out with a weight already updated (the update comes after every gradient);
- ``one sample``: a batch gradient from one sample's term instead of the sum over all samples;
- ``too much rounding``: the key rounded to 1-3 significant digits (and no more digits typed), or right from
  givens rounded to 2-3 digits.

A slip of your own: a :class:`Slip` with a ``propose(ctx)`` that returns ``(value, detail)`` pairs, added to
:data:`SLIPS`.

Next read: ``grade.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_W = re.compile(r"^(dL/d)?w\^\((\d+)\)_\{(\d+),(\d+)\}$")
_A = re.compile(r"^a\^\((\d+)\)")


@dataclass
class SlipContext:
    """What a slip may look at for one blank: the question, the learner's value and the key, and ways to work
    the blank's expression out again with the key's values, changed (see ``grade.py``)."""

    question: Any  # sheetfile.Question
    answer: float
    key: float
    sheet: Any  # sheetfile.SheetData
    # evaluate(rename=..., fix=..., samples=..., round_to=...) -> the expression's value, or None if it fails
    evaluate: Callable[..., float | None]
    key_of: Callable[[str, str], float | None]  # the key of the blank with (symbol, kind), None if there is none
    given: Callable[[str], float | None]  # a given's value (lr, a parameter before the step), None if not given
    matches: Callable[[float], bool]  # the answer agrees with this value to the digits asked
    close_to: Callable[[float, float, int], bool]  # close_to(a, b, digits)
    typed: int = 15  # how many significant digits the learner typed


@dataclass(frozen=True)
class Slip:
    """A known slip: its name, one sentence of why, the kinds of blank it can explain, its proposals."""

    name: str
    why: str
    kinds: frozenset[str] | None
    propose: Callable[[SlipContext], list[tuple[float | None, str]]]

    def test(self, ctx: SlipContext) -> str | None:
        """The detail of the first proposal the answer matches (and the key does not), else None."""
        if self.kinds is not None and ctx.question.kind not in self.kinds:
            return None
        for value, detail in self.propose(ctx):
            if value is not None and ctx.matches(value) and not ctx.close_to(value, ctx.key, ctx.sheet.digits_asked):
                return detail
        return None


def round_sig(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (``round_sig(0.59327, 2) == 0.59``)."""
    return float(f"{x:.{digits - 1}e}") if math.isfinite(x) and x else x


def swap(symbol: str) -> str:
    """``w^(l)_{i,j}`` -> ``w^(l)_{j,i}`` (also ``dL/dw``); any other symbol unchanged."""
    m = _W.match(symbol)
    return f"{m[1] or ''}w^({m[2]})_{{{m[4]},{m[3]}}}" if m else symbol


def _derivative_at_z(ctx: SlipContext) -> list[tuple[float | None, str]]:
    value = ctx.evaluate(rename=lambda s: _A.sub(r"z^(\1)", s) if _A.match(s) and not s.startswith("a^(0)") else s)
    return [(value, f"{ctx.question.expression} with z in place of a")]


def _forgotten_bias(ctx: SlipContext) -> list[tuple[float | None, str]]:
    return [(ctx.evaluate(fix=lambda s: 0.0 if s.startswith("b^(") else None), "the weighted sum without + b")]


def _lost_n(ctx: SlipContext) -> list[tuple[float | None, str]]:
    sheet = ctx.sheet
    out: list[tuple[float | None, str]] = []
    for n in sorted({sheet.n_samples, sheet.n_samples * sheet.n_outputs} - {1}):
        out += [(ctx.key * n, f"{n} times the right value (no 1/N, N = {n})"),
                (ctx.key / n, f"1/{n} of the right value (1/N twice, N = {n})")]
    return out


def _sign(ctx: SlipContext) -> list[tuple[float | None, str]]:
    out: list[tuple[float | None, str]] = [(-ctx.key, "the negative of the right value (y - a for a - y?)")]
    before = ctx.given(ctx.question.symbol)
    if ctx.question.kind == "update" and before is not None:
        out.append((2 * before - ctx.key, "w + lr*g instead of w - lr*g: a step up the gradient, not down"))
    return out


def _swapped(ctx: SlipContext) -> list[tuple[float | None, str]]:
    q = ctx.question
    out: list[tuple[float | None, str]] = [(ctx.evaluate(rename=swap), "w_{j,i} used for w_{i,j}")]
    if swap(q.symbol) != q.symbol:
        out.append((ctx.key_of(swap(q.symbol), q.kind), f"the value of {swap(q.symbol)}, the transposed entry"))
    return out


def _no_derivative(ctx: SlipContext) -> list[tuple[float | None, str]]:
    return [(ctx.evaluate(fix=lambda s: 1.0 if "'(" in s else None), "the chain rule without f'(z)")]


def _step(ctx: SlipContext, factor: Callable[[float], float], detail: str) -> list[tuple[float | None, str]]:
    before, lr = ctx.given(ctx.question.symbol), ctx.given("lr")
    if before is None or not lr:
        return []
    return [(before - (before - ctx.key) * factor(lr), detail)]


def _updated_weight(ctx: SlipContext) -> list[tuple[float | None, str]]:
    return [(ctx.evaluate(fix=lambda s: ctx.key_of(s, "update") if _W.match(s) and not s.startswith("dL") else None),
             "the weights after the update used in the backward pass")]


def _one_sample(ctx: SlipContext) -> list[tuple[float | None, str]]:
    if ctx.sheet.n_samples < 2:
        return []
    return [(ctx.evaluate(samples=[n]), f"only the term of sample {n}") for n in range(ctx.sheet.n_samples)]


def _rounding(ctx: SlipContext) -> list[tuple[float | None, str]]:
    # A rounding, not a near miss: the learner typed at most that many digits, and they are the key's own rounded.
    for digits in (3, 2, 1):
        if ctx.typed <= digits and round_sig(ctx.answer, digits) == round_sig(ctx.key, digits):
            return [(ctx.answer, f"right to {digits} significant digit{'s' if digits > 1 else ''} only")]
    return [(ctx.evaluate(round_to=digits), f"right from givens rounded to {digits} significant digits")
            for digits in (3, 2)]


def _kinds(*names: str) -> frozenset[str]:
    return frozenset(names)


SLIPS: list[Slip] = [
    Slip("derivative at z", "the activation's slope belongs at a = f(z), not at z: sigmoid' is a(1 - a) and tanh' "
         "is 1 - a^2, in terms of the activation a, not the weighted sum z", _kinds("derivative"), _derivative_at_z),
    Slip("forgotten bias", "the weighted sum is z = sum_i w*a + b: the bias b belongs in it", _kinds("z"),
         _forgotten_bias),
    Slip("lost 1/N", "the loss is a mean over N, so its gradient carries one factor 1/N, once: the sums over the "
         "samples add no second one", _kinds("loss", "loss_grad", "delta", "dW", "db", "grad"), _lost_n),
    Slip("sign", "a sign is flipped: the gradient of the loss is a - y (not y - a), and an update steps against the "
         "gradient, w - lr*g", None, _sign),
    Slip("swapped index", "w^(l)_{i,j} joins neuron i of layer l-1 to neuron j of layer l (W has shape (n_in, "
         "n_out)); the indices were swapped", _kinds("z", "delta", "dW", "update", "state"), _swapped),
    Slip("forgot the derivative", "the chain rule multiplies by the activation's slope: delta = dL/da * f'(z)",
         _kinds("delta"), _no_derivative),
    Slip("forgot the learning rate", "an update moves by the learning rate times the gradient, w - lr*g, not by the "
         "gradient itself", _kinds("update"), lambda ctx: _step(ctx, lambda lr: 1 / lr, "w - g instead of w - lr*g")),
    Slip("learning rate twice", "the learning rate multiplies the gradient once", _kinds("update"),
         lambda ctx: _step(ctx, lambda lr: lr, "w - lr*lr*g instead of w - lr*g")),
    Slip("updated weight", "backpropagation uses the weights of the forward pass; the update comes after every "
         "gradient", _kinds("delta"), _updated_weight),
    Slip("one sample", "a batch's gradient is the sum over all its samples (each delta already carries the 1/N)",
         _kinds("dW", "db"), _one_sample),
    Slip("too much rounding", "the sheet asks for more significant digits: keep the full numbers of earlier steps and "
         "round only the answer", None, _rounding),
]
