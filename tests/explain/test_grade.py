"""Grading worksheets: answer sets made by an independent NumPy learner with every known slip, and right answers.

Each learner (``grade_learner.work``) computes the whole step from the parameters and the data, slipping once;
the grader must name the slip on the blank where it was made, grade every later blank that used it "carried"
(right given the learner's own numbers) and every other blank right.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from grade_learner import work

import glassnet as gn
from glassnet.explain.worksheet import worksheet

XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def dense(n_in: int, n_out: int, act: str, seed: int) -> gn.Dense:
    rng = np.random.default_rng(seed)
    return gn.Dense(n_in, n_out, act, init=(rng.uniform(-1, 1, (n_in, n_out)).round(3),
                                            rng.uniform(-0.5, 0.5, n_out).round(3)))


def make(sheet: str) -> dict[str, Any]:
    """A sheet's network, data, optimizer and the learner's settings."""
    if sheet == "sigmoid-mse-1":
        acts, loss, X, Y, opt = ("sigmoid", "sigmoid"), "mse", np.array([[0.05, 0.10]]), np.array([[0.01]]), \
            {"name": "sgd", "lr": 0.5}
        sizes = (2, 3, 1)
    elif sheet == "sigmoid-mse-batch":
        acts, loss, X, Y, opt = ("sigmoid", "sigmoid"), "mse", XOR, np.array([[0.0], [1.0], [1.0], [0.0]]), \
            {"name": "sgd", "lr": 0.5}
        sizes = (2, 2, 1)
    elif sheet == "tanh-mse-2":
        acts, loss, X, Y, opt = ("tanh", "identity"), "mse", np.array([[0.5, -0.2], [0.1, 0.8]]), \
            np.array([[0.3], [-0.4]]), {"name": "sgd", "lr": 0.1}
        sizes = (2, 3, 1)
    elif sheet == "relu-softmax-ce":
        acts, loss, X, Y, opt = ("relu", "softmax"), "cross_entropy", np.array([[0.5, 0.9], [0.7, 0.2], [0.9, 0.6]]), \
            np.eye(3), {"name": "sgd", "lr": 0.2}
        sizes = (2, 3, 3)
    elif sheet == "adam":
        acts, loss, X, Y, opt = ("sigmoid", "sigmoid"), "mse", np.array([[0.3, 0.7]]), np.array([[1.0]]), \
            {"name": "adam", "lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8}
        sizes = (2, 2, 1)
    else:  # momentum
        acts, loss, X, Y, opt = ("sigmoid", "sigmoid"), "mse", XOR[1:3], np.array([[1.0], [0.0]]), \
            {"name": "sgd", "lr": 0.3, "momentum": 0.9}
        sizes = (2, 2, 1)
    layers = [dense(sizes[0], sizes[1], acts[0], 1), dense(sizes[1], sizes[2], acts[1], 2)]
    net = gn.Network(layers, loss=loss)
    optimizer = gn.Adam(opt["lr"], betas=opt["betas"], eps=opt["eps"]) if opt["name"] == "adam" else \
        gn.SGD(opt["lr"], momentum=opt.get("momentum", 0.0))
    ws = worksheet(net, X, Y, optimizer=optimizer)
    W = [layer.params["W"].copy() for layer in layers]
    b = [layer.params["b"].copy() for layer in layers]
    return {"ws": ws, "args": (W, b, X, Y, acts, loss, opt)}


SHEETS = ["sigmoid-mse-1", "sigmoid-mse-batch", "tanh-mse-2", "relu-softmax-ce", "adam", "momentum"]


@pytest.fixture(scope="module")
def sheets() -> dict[str, dict[str, Any]]:
    return {name: make(name) for name in SHEETS}


def learner_values(case: dict[str, Any], slip: str | None) -> dict[int, float]:
    numbers = work(*case["args"], slip=slip)
    return {q.number: numbers[(q.symbol, q.sample if q.phase in ("forward", "backward") else None)]
            for q in case["ws"].sheet().questions}


@pytest.mark.parametrize("name", SHEETS)
def test_the_independent_learner_agrees_with_the_key(sheets, name):
    case = sheets[name]
    values = learner_values(case, None)
    for q in case["ws"].sheet().questions:
        assert values[q.number] == pytest.approx(q.value, rel=1e-9, abs=1e-12), f"blank {q.number} {q.symbol}"


@pytest.mark.parametrize("name", SHEETS)
@pytest.mark.parametrize("digits", [4, 6])
def test_right_answers_rounded_to_the_digits_asked_are_all_right(sheets, name, digits):
    case = sheets[name]
    answers = {q: f"{v:.{digits}g}" for q, v in learner_values(case, None).items()}
    grading = case["ws"].grade(answers)
    wrong = [(b.number, b.symbol, b.answer, b.key) for b in grading.blanks if b.verdict != "right"]
    assert not wrong
    assert grading.score == grading.total and grading.first_wrong is None


# (sheet, slip made by the learner, the slip the grader must name, the blanks where it was made)
CASES = [
    ("sigmoid-mse-1", "derivative at z", "derivative at z", {("sigmoid'(z^(1)_1)", 0)}),
    ("sigmoid-mse-1", "forgotten bias", "forgotten bias", {("z^(1)_1", 0)}),
    ("sigmoid-mse-1", "swapped index", "swapped index", {("z^(1)_1", 0)}),
    ("sigmoid-mse-1", "forgot the derivative", "forgot the derivative", {("delta^(1)_1", 0)}),
    ("sigmoid-mse-1", "sign loss", "sign", {("dL/da^(2)_1", 0)}),
    ("sigmoid-mse-1", "sign update", "sign", {("w^(1)_{1,1}", None)}),
    ("sigmoid-mse-1", "forgot the learning rate", "forgot the learning rate", {("w^(1)_{1,1}", None)}),
    ("sigmoid-mse-1", "learning rate twice", "learning rate twice", {("w^(1)_{1,1}", None)}),
    ("sigmoid-mse-1", "updated weight", "updated weight", {(f"delta^(1)_{j}", 0) for j in (1, 2, 3)}),
    ("sigmoid-mse-1", "too much rounding", "too much rounding", {("a^(1)_1", 0)}),
    ("sigmoid-mse-batch", "lost 1/N", "lost 1/N", {("dL/da^(2)_1", n) for n in range(4)}),
    ("sigmoid-mse-batch", "transposed gradient", "swapped index", {("dL/dw^(1)_{1,2}", None),
                                                                  ("dL/dw^(1)_{2,1}", None)}),
    ("sigmoid-mse-batch", "one sample", "one sample", None),  # every changed gradient is a root
    ("tanh-mse-2", "derivative at z", "derivative at z", {("tanh'(z^(1)_1)", 0)}),
    ("tanh-mse-2", "forgotten bias", "forgotten bias", {("z^(1)_1", 0)}),
    ("relu-softmax-ce", "sign loss", "sign", {(f"delta^(2)_{j}", n) for j in (1, 2, 3) for n in range(3)}),
    ("relu-softmax-ce", "swapped index", "swapped index", {("z^(1)_1", 0)}),
    ("adam", "forgot the learning rate", "forgot the learning rate", {("w^(1)_{1,1}", None)}),
    ("adam", "sign loss", "sign", {("dL/da^(2)_1", 0)}),
    ("momentum", "sign update", "sign", {("w^(1)_{1,1}", None)}),
]


@pytest.mark.parametrize("typed", [6, 4])  # the learner's numbers as typed: 6 or 4 significant digits
@pytest.mark.parametrize(("name", "slip", "named", "roots"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_slip_is_named_where_it_was_made_and_carried_after(sheets, name, slip, named, roots, typed):
    case = sheets[name]
    questions = case["ws"].sheet().questions
    right, slipped = learner_values(case, None), learner_values(case, slip)
    answers = {n: f"{v:.{typed}g}" for n, v in slipped.items()}
    grading = case["ws"].grade(answers)
    def off(number: int, rel: float) -> bool:
        return abs(slipped[number] - right[number]) > rel * abs(right[number]) + 1e-12

    changed = {q.number for q in questions if off(q.number, 1e-6)}
    if roots is None:
        roots = {(q.symbol, q.sample) for q in questions if q.number in changed and q.kind in ("dW", "db")}
    root_numbers = {q.number for q in questions if (q.symbol, q.sample) in roots and q.number in changed}
    assert root_numbers, "the slip changed none of the blanks it was made in"
    for q in questions:
        g = grading[q.number]
        if q.number in root_numbers:
            assert (g.verdict, g.slip) == ("wrong", named), f"blank {q.number} {q.symbol}: {g}"
            assert g.diagnosis.startswith(named)
        elif q.number in changed:
            # Changed by less than ~1 unit in the 4th digit: right to the digits asked, or carried.
            allowed = ("carried",) if off(q.number, 1e-3) and slip != "too much rounding" else ("carried", "right")
            assert g.verdict in allowed, f"blank {q.number} {q.symbol}: {g}"
            if g.verdict == "carried":
                # From the learner's typed numbers: as close as their rounding lets it be.
                assert g.ecf == pytest.approx(slipped[q.number], rel=1e-3 if typed == 6 else 3e-2, abs=1e-9)
        else:
            assert g.verdict == "right", f"blank {q.number} {q.symbol}: {g}"
    assert grading.first_wrong is not None and grading.first_wrong.number == min(root_numbers)
    assert grading.score == grading.total - len(root_numbers)


def test_a_near_zero_value_is_judged_on_the_scale_of_its_terms():
    # z = 0.1*1 + (-0.1)*1 + 3e-12: the key is 3e-12, made of terms of size 0.1; 0 is right to 4 digits of that.
    net = gn.Network([gn.Dense(2, 1, "sigmoid", init=([[0.1], [-0.1]], [3e-12]))], loss="mse")
    ws = worksheet(net, np.array([[1.0, 1.0]]), np.array([[1.0]]), optimizer=None)
    assert ws.sheet().questions[0].value == pytest.approx(3e-12)
    assert ws.grade({"1": "0"})[1].verdict == "right"
    assert ws.grade({"1": "0.01"})[1].verdict == "wrong"


def test_unreadable_and_missing_answers_are_graded_not_crashed(sheets):
    ws = sheets["sigmoid-mse-1"]["ws"]
    values = learner_values(sheets["sigmoid-mse-1"], None)
    answers: dict[str, Any] = {str(n): f"{v:.5g}" for n, v in values.items()}
    answers["1"] = "about a third"
    del answers["2"]
    answers["3"] = ""
    grading = ws.grade(answers)
    assert grading[1].verdict == "unreadable" and "about a third" in grading[1].note
    assert grading[2].verdict == grading[3].verdict == "blank"
    assert grading[4].verdict == "right"  # later blanks use the key where the learner gave nothing readable
    assert grading.score == grading.total - 3 and grading.answered == grading.total - 2
    with pytest.raises(gn.DataError, match="blank 999"):
        ws.grade({"999": "1"})
