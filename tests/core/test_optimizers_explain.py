"""Optimizer.explain_update: every optimizer writes its own update as text, and the text computes the engine's value.

The check is generic, so a new optimizer is covered the day it is registered: each line's ``numbers`` (the
formula filled in with numbers) is evaluated here as arithmetic, and must give the line's value, which is
the engine's. RMSprop's lines are also written out by hand.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.optimizers import OPTIMIZERS, Optimizer, RMSprop, StepValues, UpdateLine


def num(value: float) -> str:
    """Twelve significant digits, negatives in parentheses (as the ledger writes a factor)."""
    text = f"{value:.12g}"
    return f"({text})" if text.startswith("-") else text


def evaluate(numbers: str) -> float:
    """The arithmetic of a filled-in formula: ``^`` is a power, ``sqrt`` the square root."""
    return float(eval(numbers.replace("^", "**"), {"__builtins__": {}}, {"sqrt": math.sqrt}))  # noqa: S307


VARIANTS = {cls.name: cls for cls in OPTIMIZERS.classes()} | {
    "sgd_momentum": lambda: gn.SGD(0.1, momentum=0.9), "sgd_nesterov": lambda: gn.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop_momentum": lambda: RMSprop(0.01, momentum=0.9)}


def entry_lines(opt: Optimizer, steps: int) -> list[tuple[StepValues, list[UpdateLine]]]:
    """``steps`` real updates of a 2x3 parameter; each entry's values (from the engine) and its explanation."""
    rng = np.random.default_rng(0)
    p = rng.normal(size=(2, 3))
    out = []
    for _ in range(steps):
        g = rng.normal(size=(2, 3))
        before, state_before = p.copy(), copy.deepcopy(opt.state.get("0.W", {}))
        opt.update_one("0.W", p, g)
        state_after = opt.state["0.W"] if "0.W" in opt.state else {}
        for idx in np.ndindex(p.shape):
            pick = lambda state: {k: float(v[idx]) if np.ndim(v) else float(v) for k, v in state.items()}  # noqa: E731
            values = StepValues(float(before[idx]), float(g[idx]), float(p[idx]), pick(state_before), pick(state_after))
            out.append((values, opt.explain_update("w", "dL/dw", values, num)))
    return out


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_every_line_computes_its_value(kind):
    opt = VARIANTS[kind]()
    for values, lines in entry_lines(opt, steps=3):
        assert lines[-1].state is None and lines[-1].symbol == "w" and lines[-1].value == values.after
        for line in lines[:-1]:
            assert line.state in opt.buffers() and line.value == values.state_after[line.state]
        assert {line.state for line in lines[:-1]} == set(opt.buffers())
        for line in lines:
            for text in (line.numbers, *line.steps):
                if text:
                    assert evaluate(text) == pytest.approx(line.value, rel=1e-9, abs=1e-12), (kind, line)


def test_rmsprop_with_momentum_written_out_by_hand():
    values = StepValues(before=0.5, grad=-0.2, after=0.49, state_before={"square_avg": 0.04, "momentum_buffer": 0.3,
                                                                        "t": 1},
                        state_after={"square_avg": 0.99 * 0.04 + 0.01 * 0.04, "momentum_buffer": 0.1, "t": 2})
    s = 0.99 * 0.04 + 0.01 * 0.04
    lines = RMSprop(0.01, momentum=0.9).explain_update("w", "dL/dw", values, num)
    assert [line.symbol for line in lines] == ["s[w]", "u[w]", "w"]
    assert lines[0].expression == "alpha*s[w] + (1 - alpha)*dL/dw^2"
    assert lines[0].numbers == "0.99*0.04 + (1 - 0.99)*(-0.2)^2"
    assert lines[1].expression == "mu*u[w] + dL/dw/(sqrt(s[w]) + eps)"
    assert lines[1].numbers == f"0.9*0.3 + (-0.2)/(sqrt({s:.12g}) + 1e-08)"
    assert lines[1].steps == (f"0.9*0.3 + (-0.2)/{math.sqrt(s) + 1e-8:.12g}",)
    assert lines[2].expression == "w - lr*u[w]" and lines[2].numbers == "0.5 - 0.01*0.1"
    # the values are the engine's, passed through untouched
    assert [line.value for line in lines] == [values.state_after["square_avg"], 0.1, 0.49]
    assert all(line.note == "" for line in lines)  # not the first step: nothing starts at 0 here


def test_rmsprop_without_momentum_and_its_first_step():
    values = StepValues(before=-0.3, grad=0.5, after=-0.35, state_before={}, state_after={"square_avg": 0.0025, "t": 1})
    lines = RMSprop(0.05).explain_update("b", "dL/db", values, num)
    assert [line.symbol for line in lines] == ["s[b]", "b"]
    assert lines[0].numbers == "0.99*0 + (1 - 0.99)*0.5^2" and "s starts at 0" in lines[0].note
    assert lines[1].expression == "b - lr*dL/db/(sqrt(s[b]) + eps)"
    assert lines[1].numbers == "(-0.3) - 0.05*0.5/(sqrt(0.0025) + 1e-08)"
    assert lines[1].steps == (f"(-0.3) - 0.05*0.5/{0.05 + 1e-8:.12g}",)


def test_an_optimizer_of_your_own_gets_the_generic_lines():
    class SignDescent(Optimizer):
        def update_one(self, name, p, g):
            state = self.state.setdefault(name, {})
            state["last"] = np.sign(g)
            p -= self.lr * state["last"]

        def buffers(self):
            return ("last",)

        def config(self):
            return {"name": "sign_descent", "lr": self.lr}

    values = StepValues(1.0, -2.0, 1.1, {}, {"last": -1.0})
    lines = SignDescent(0.1).explain_update("w", "dL/dw", values, num)
    assert lines == [UpdateLine("last[w]", -1.0, state="last"),
                     UpdateLine("w", 1.1, note="SignDescent's own rule; its state: last")]
