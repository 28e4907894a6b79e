"""The bug classes a hunt plants: each one of the doctor's gallery classes, written as a mutation of named lines.

A :class:`Bug` narrows the choices of the correct program where it can only be planted (or only be seen by
the doctor) in some of them (``allowed``, e.g. the row-loop bugs need the style ``"rows"``), and its
``mutate`` returns, for the tags of ``generator.render``, the lines that replace them (an empty list deletes
the line; a slot tag adds lines where the correct program has none). Its ``why`` is what a teacher reads
aloud, with the program's own names filled in.

Each name is the gallery program's name (``glassnet doctor --gallery NAME`` shows the classic example).

Next read: ``key.py`` (the teacher's key: the difference between the planted and the correct program).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from glassnet.verify.hunt.generator import Line, Spec
from glassnet.verify.hunt.generator import names as _names
from glassnet.verify.hunt.generator import slope as _slope

Mutation = dict[str, list[str]]


@dataclass(frozen=True)
class Bug:
    """One plantable bug class: where it can be planted, how, and how to explain it."""

    name: str
    title: str  # the class in one sentence (no names of a particular program)
    why: str    # what goes wrong, with {placeholders} for the program's names
    mutate: Callable[[Spec, dict[str, Line], random.Random], tuple[Mutation, dict[str, str]]]
    allowed: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    fits: Callable[[Spec], bool] | None = None  # a condition across choices (``allowed`` narrows one at a time)
    # the key's fix is the only right one (up to rounding: the fixed program trains to the correct program's
    # parameters); False where other fixes are as right (any small random start breaks the symmetry), so the
    # check asks that the program learns instead
    unique_fix: bool = True


def _sign(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    k = rng.choice(("W2", "b2", "W1", "b1"))
    return {"upd_" + k: [at["upd_" + k].text.replace(" -= ", " += ", 1)]}, _on(spec, k)  # type: ignore[union-attr]


def _hardcoded(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    k = rng.choice(("W2", "b2", "W1", "b1"))
    n = _names(spec)
    rate = rng.choice([r for r in (0.01, 0.05, 0.1) if r != spec.lr])
    line = at["upd_" + k].text.replace(f"{n['lr']} *", f"{rate} *", 1)  # type: ignore[union-attr]
    return {"upd_" + k: [line]}, {**_on(spec, k), "rate": str(rate), "value": f"{spec.lr:g}"}


def _words(spec: Spec) -> dict[str, str]:
    n = _names(spec)
    return {"slope": _slope(spec, n["h"]), "act": spec.act, **_on(spec, "W1", "b1")}


def _on(spec: Spec, *params: str) -> dict[str, str]:
    """The words for the parameters whose steps the bug makes wrong (``p``: the first; ``params``: all)."""
    n = _names(spec)
    return {"p": n[params[0]], "params": ",".join(n[k] for k in params)}


def _missing(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    return {"d_z1": [f"{n['d_z1']} = {n['d_out']} @ {n['W2']}.T"]}, _words(spec)


def _at_z(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    line = at["d_z1"].text.replace(_slope(spec, n["h"]), _slope(spec, n["z1"]))  # type: ignore[union-attr]
    return {"d_z1": [line]}, _words(spec)


def _of_error(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    return {"d_z1": [f"{n['d_z1']} = {n['d_h']} * {_slope(spec, n['d_h'])}"]}, _words(spec)


def _twice(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    return {"d_h": [f"{n['d_h']} = {n['d_out']} @ {n['W2']}.T * {_slope(spec, n['h'])}"]}, _words(spec)


def _not_back(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    return {"d_z1": [f"{n['d_z1']} = {n['d_out']} * {_slope(spec, n['h'])}"]}, _words(spec)


def _all_axes(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    op = "+=" if spec.style == "rows" else "="
    tail = " / n" if spec.norm == "grads" and spec.style != "rows" else ""
    return {"db1": [f"{n['db1']} {op} np.sum({n['d_z1']}){tail}"]}, _on(spec, "b1")


def _sum_mean(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    k = rng.choice(("W2", "b2", "W1", "b1"))
    tag = ("upd_" if spec.style == "rows" else "d") + k
    return {tag: [at[tag].text.replace(" / n", "", 1)]}, _on(spec, k)  # type: ignore[union-attr]


def _not_reset(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    tags = ["zero_dW1", "zero_db1", "zero_dW2", "zero_db2"]
    moved: Mutation = {tag: [] for tag in tags}
    moved["before_loop"] = [at[tag].text for tag in tags]  # type: ignore[misc]
    return moved, _on(spec, "W1", "b1", "W2", "b2")


def _bias_in_loop(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    k = rng.choice(("b1", "b2"))
    n = _names(spec)
    line = at["d" + k].text.replace(f"{n['d' + k]} +=", f"{n[k]} +=", 1)  # type: ignore[union-attr]
    return {"d" + k: [line]}, {**_on(spec, k), "g": n["d" + k]}


def _never_accumulated(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    k = rng.choice(("W1", "W2"))
    n = _names(spec)
    return {"d" + k: [at["d" + k].text.replace(" += ", " = ", 1)]}, {**_on(spec, k), "g": n["d" + k]}  # type: ignore[union-attr]


def _transposed(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    n = _names(spec)
    rows = spec.style == "rows"
    x = n["x"] if rows else "X" if spec.style == "class" else n["X"]
    tail = " / n" if spec.norm == "grads" and not rows else ""
    return {"dW1": [f"{n['dW1']} {'+=' if rows else '='} {n['d_z1']}.T @ {x}{tail}"]}, {"x": x, **_on(spec, "W1")}


def _before(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    return {"early_update": [at["upd_W2"].text], "upd_W2": []}, _on(spec, "W1", "b1")  # type: ignore[list-item]


def _zero_init(spec: Spec, at: dict[str, Line], rng: random.Random) -> tuple[Mutation, dict[str, str]]:
    def zeros(tag: str) -> str:
        text = at[tag].text or ""
        return text.replace("np.random.randn(", "np.zeros((", 1).split(" * ")[0] + ")"

    return {"init_W1": [zeros("init_W1")], "init_W2": [zeros("init_W2")]}, _on(spec, "W1", "W2")


ROWS = {"style": ("rows",)}
MATRIX = {"style": ("vector", "class")}
BUGS = [
    Bug("sign_flipped_update", "One parameter is updated with `+=`: it climbs the loss while the others descend it.",
        "`{p}` is moved *along* its gradient (`+=`), uphill, while the other parameters move against theirs. The "
        "loss may still fall, because the other parameters make up for it. The fix: `-=`, like the other updates.",
        _sign),
    Bug("hardcoded_learning_rate", "One update line has its learning rate written in as a number.",
        "`{p}` is updated with the number {rate} where the other lines use the learning rate variable (= {value}), "
        "so `{p}` learns at another speed, and changing the learning rate never reaches it. The fix: use the "
        "variable.", _hardcoded),
    Bug("derivative_missing", "The hidden layer's activation derivative is missing from the hidden delta.",
        "The error sent back through the output weights is the gradient with respect to the hidden *outputs*; "
        "the hidden weights and biases act before the {act}, so it still needs the slope `{slope}`. The fix: "
        "multiply it in.", _missing, {"two_step": (False,)}),
    Bug("derivative_at_z", "The hidden activation's derivative is computed from z, not from the activation's output.",
        "The slope is written in terms of the {act}'s *output*, but it is given the pre-activation, so it is not the "
        "slope at all (and can be negative). The fix: `{slope}`, the slope from the hidden output.", _at_z),
    Bug("derivative_of_error", "The activation's derivative is taken of the hidden error instead of the hidden output.",
        "The slope helper expects the hidden layer's output but is given the error that came back through the "
        "output weights. The fix: `{slope}`.", _of_error, {"two_step": (True,), "helper": (True,)}),
    Bug("derivative_applied_twice", "The hidden layer's activation derivative is multiplied in twice.",
        "The hidden error already includes the slope `{slope}`, and the next line multiplies by it again, so the "
        "hidden gradients are too small, by a different factor for every unit and row. The fix: multiply the slope "
        "in once (here: take it out of the hidden error's line).", _twice, {"two_step": (True,)}),
    Bug("error_not_backpropagated", "The output error is not sent back through the output weights.",
        "The hidden delta multiplies the output delta by the hidden slope directly, so every hidden unit gets the "
        "same error whatever weight connects it to the output. The chain rule goes through that weight: "
        "`... @ {W2}.T` before the slope. The fix: send the error back through the output weights.", _not_back,
        {"two_step": (False,)}),
    Bug("bias_gradient_all_axes", "The hidden bias gradient is summed over every axis: one number for all units.",
        "`np.sum` without `axis=0` adds up the deltas of all rows *and* all hidden units, so every hidden bias moves "
        "by the same step. The fix: sum over the rows only (`axis=0`).", _all_axes, MATRIX),
    Bug("sum_vs_mean", "One gradient is summed over the rows where every other one takes the mean.",
        "The loss is a mean, and every gradient is divided by n except the one of `{p}`, so `{p}` takes steps n "
        "times too large. The fix: divide it by n too.", _sum_mean, {"loss": ("mean",), "norm": ("grads",)}),
    Bug("gradient_not_reset", "The gradient accumulators are made once, before the epoch loop, and never reset.",
        "The gradients are set to zero before the epoch loop, so each epoch adds its gradient to all the earlier "
        "ones and the steps grow. The fix: set them to zero at the start of every epoch (move those lines into "
        "the epoch loop).", _not_reset, ROWS),
    Bug("bias_in_loop", "A bias is changed inside the row loop instead of its gradient being summed.",
        "In the row loop `{p}` itself gets each row's delta (with a plus sign and no learning rate) instead of its "
        "gradient `{g}`, which stays zero, so `{p}` climbs the loss during the pass. The fix: add to `{g}`.",
        _bias_in_loop, ROWS),
    Bug("gradient_never_accumulated", "A weight gradient is overwritten in the row loop instead of summed.",
        "`{g} = ...` assigns each row's gradient, so after the row loop it holds the gradient of the last row alone "
        "while the others hold the sum over all rows. The fix: `{g} += ...`.", _never_accumulated, ROWS),
    Bug("weight_gradient_transposed", "The first layer's weight gradient is the transpose of the right one.",
        "With `{z1} = {x} @ {W1} + {b1}` the gradient is `{x}.T @ delta`; `delta.T @ {x}` is its transpose, which only runs "
        "because {W1} is square here: each weight gets the gradient of its mirror image. The fix: `{x}.T @ delta`.",
        _transposed, {"data": ("blobs",), "hidden": (3,)}),
    Bug("update_before_backprop", "The output weights are updated before the hidden error is sent back through them.",
        "The hidden error goes back through the *new* output weights, not the ones that produced the output, so "
        "the hidden layer gets the gradient of a network that never ran. The fix: update the output weights "
        "after the hidden delta is computed (move the line down to the other updates).", _before, MATRIX),
    Bug("zero_init", "The weights start at zero: every hidden unit computes the same thing and they stay copies.",
        "With every weight zero, all hidden units have the same inputs, outputs and gradients, so no update can "
        "make them differ (the symmetry is never broken) and they act like one unit. The fix: start the weights "
        "at small random values.", _zero_init, {"data": ("and", "or")},
        # XOR's and the blobs' balanced targets leave zero weights with no gradient at all; at module level the
        # doctor sees weights that do not move in the first pass as parameters only when named W1/W2
        lambda spec: spec.style == "class" or (spec.names == 0 and spec.act == "sigmoid"), unique_fix=False),
]
BY_NAME = {bug.name: bug for bug in BUGS}
