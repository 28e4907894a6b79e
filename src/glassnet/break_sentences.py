"""The answer of :func:`glassnet.find_break` in words, as a teacher would say it.

Every number a sentence quotes is in the ``numbers`` dict ``breaks.py`` builds (and keeps on the
:class:`~glassnet.breaks.Break`), so a test can check each against its own computation. A unit's story says what
the step did to the unit itself (its bias, by how much and why: ``-lr x g`` for plain SGD) and, when the unit's own
parameters did not move, what moved below it (the layer under it, the unit's inputs on the rows checked).

Next read: ``breaks.py`` (where the numbers come from), ``replay.py`` (the conditions).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.core.network import Network
from glassnet.replay import UNIT_CHECKS, Found, thresholds

EPISODES_SHOWN = 4  # earlier episodes named one by one; the rest counted


def _g(x: float) -> str:
    return f"{x:.3g}"


def _signed(x: float) -> str:
    return f"{x:+.3g}"


def _paren(x: float) -> str:
    return f"({_g(x)})" if x < 0 else _g(x)


def sentence(net: Network, found: Found, numbers: dict[str, Any], settings: dict[str, Any]) -> str:
    """The answer in words (the numbers are those of ``numbers``)."""
    when = f"step {found.step} (epoch {found.epoch}, batch {found.batch})"
    lr = numbers["lr"]
    limits = settings.get("thresholds") or thresholds()
    i = found.layer
    layer = f"layer {i} ({net.layers[i]})" if i is not None else ""
    if found.check in UNIT_CHECKS:
        return _units_sentence(found, numbers, settings, limits, layer, when)
    if found.check == "exploding":
        return (f"The gradient of {layer} exploded at {when}: its norm reached {_g(numbers['now'])}, "
                f"{numbers['factor']:.3g} times its {_g(numbers['start'])} at step 1 (the warning's threshold is "
                f"{limits['exploding']:g} times), while the batch loss rose from {numbers['loss_start']:.4g} to "
                f"{numbers['loss']:.4g}; the learning rate is {lr:g}.")
    if found.check == "vanishing":
        return (f"The gradient of {layer} vanished at {when}: its norm {_g(numbers['norm'])} is "
                f"{numbers['norm'] / numbers['top']:.1e} times that of the last layer {numbers['top_layer']} "
                f"({_g(numbers['top'])}; the warning's threshold is {limits['vanishing']:g} times).")
    text = (f"Training diverged at {when}: the update of that step would have made a parameter (or the optimizer's "
            f"state) NaN or inf, with the learning rate {lr:g}.")
    if "lowest_after" in numbers:
        low, start = numbers["lowest_after"], numbers["replay_start"]
        if low <= start:  # the lowest loss of the replay is where it began: the growth is older than the replay
            text += (f" The loss on the rows checked was already growing when the replay began (after step {start}, "
                     f"the last look before that found nothing new: a warning is given once per fit, so that look "
                     f"was not necessarily healthy); it never came back down to {numbers['lowest_loss']:.4g}, so the "
                     f"growth began at step {start} or earlier.")
        elif low < found.step - 1:
            text += (f" Of the steps replayed, the loss on the rows checked was lowest ({numbers['lowest_loss']:.4g}) "
                     f"after step {low}; from step {low + 1} on it never came back down.")
    if numbers.get("earlier"):
        text += (f" Earlier warnings of this run: {', '.join(numbers['earlier'])}; find_break(net, X, y, condition) "
                 "shows where each began.")
    return text


def _units_sentence(found: Found, numbers: dict[str, Any], settings: dict[str, Any], limits: dict[str, Any],
                    layer: str, when: str) -> str:
    dead = found.check == "dead_relu"
    verb = "died" if dead else "saturated"
    symbol = f"z^({(found.layer or 0) + 1})"  # a unit condition always has its layer
    parts = [_unit_sentence(found, numbers, k, f"Unit {unit} of {layer} ({symbol}_{unit + 1} in the ledger) {verb} at {when}",
                            settings, limits)
             for k, unit in enumerate(found.units[:3])]
    if len(found.units) > 3:
        parts.append(f"Units {found.units[3:]} {verb} at the same step.")
    i = found.layer
    share = "dead" if dead else "saturated"
    parts.append(f"With {'it' if len(found.units) == 1 else 'them'}, {100 * numbers['share_after']:.3g}% of the "
                 f"units of layer {i} are {share} (the warning's threshold is {limits['shares'][found.check]:.0%}; "
                 f"before this step {100 * numbers['share_before']:.3g}%"
                 + (f": units {numbers['already']}" if numbers["already"] else "") + "); the layer stayed at or above "
                 f"the threshold at every step from then up to {numbers['until'] or 'the end of the replay'}.")
    episodes = numbers.get("episodes") or []
    if episodes:
        shown = [(f"from before the replay to step {b - 1}" if a == 0 else f"step {a}" if b == a + 1
                  else f"steps {a}-{b - 1}") for a, b in episodes]
        more = len(shown) - EPISODES_SHOWN
        parts.append(f"Before that (of the steps replayed) the layer reached the threshold only briefly, "
                     f"{len(shown)} time(s): "
                     + ", ".join(shown[:EPISODES_SHOWN]) + (f" and {more} more" if more > 0 else "")
                     + ", each time followed by a step after which it was below the threshold again.")
    return " ".join(parts)


def _unit_sentence(found: Found, numbers: dict[str, Any], k: int, head: str, settings: dict[str, Any],
                   limits: dict[str, Any]) -> str:
    """One unit's story: what the step did to its own bias and weights (and why), or, when they did not move, what
    moved below it; its largest pre-activation before and after; whether it stayed so."""
    text = head
    lr = numbers["lr"]
    unit = found.units[k]
    moved = False
    if "b_before" in numbers:
        b0, b1, g = numbers["b_before"][k], numbers["b_after"][k], numbers["b_grad"][k]
        w_change = (float(np.max(np.abs(np.subtract(numbers["W_after"][k], numbers["W_before"][k]))))
                    if "W_before" in numbers else 0.0)
        moved = not (math.isclose(b1, b0, rel_tol=1e-12, abs_tol=1e-300) and w_change <= 1e-12 * (1 + abs(b0)))
        if moved:
            text += f": this update changed its bias by {_signed(b1 - b0)} (from {b0:.4g}"
            plain = settings["optimizer"].get("name") == "sgd" and not settings["optimizer"].get("momentum")
            if plain and math.isclose(b1 - b0, -lr * g, rel_tol=1e-9, abs_tol=1e-300):
                text += f": -lr x g = -{lr:g} x {_paren(g)} = {_signed(-lr * g)})"
            else:
                text += f"; its gradient {_g(g)}, the learning rate {lr:g} and the optimizer's state made the step)"
            if "W_before" in numbers:
                w0, w1 = (float(np.linalg.norm(numbers[f"W_{side}"][k])) for side in ("before", "after"))
                text += f", and the length of its incoming weights from {_g(w0)} to {_g(w1)}"
    if not moved:
        below = numbers.get("below")
        text += (f": this step did not move its own weights or bias (its gradient on this batch is "
                 f"{_g(numbers['b_grad'][k]) if 'b_grad' in numbers else '0'}); what changed is its input")
        text += (f": the step moved the parameters of layer {below} under it by up to {_g(numbers['below_change'])}, "
                 f"and the unit's inputs on the rows checked changed by up to {_g(numbers['input_change'])}"
                 if below is not None else " (the data, which do not change: only its own parameters can move it)")
    z0, z1 = numbers["max_z_before"][k], numbers["max_z_after"][k]
    rows = numbers["rows"]
    stayed = unit in numbers.get("stayed", [unit])
    if found.check == "dead_relu":
        text += (f"; its largest pre-activation over the {rows} training rows checked went from {_g(z0)} to {_g(z1)}: "
                 "at most 0 on every row, it outputs 0 there and passes no gradient back")
    else:
        text += (f"; after it the unit's derivative is below {limits['saturated']:g} of its peak on at least "
                 f"{limits['saturated_rows']:.0%} of the {rows} rows checked (its largest pre-activation went from "
                 f"{_g(z0)} to {_g(z1)})")
    return text + ("." if stayed else " (this unit came back later, while the layer stayed at the threshold).")
