"""Helpers of the explain tests: the textbook 2-2-2 network and parsers for the numbers in formulas."""

from __future__ import annotations

import re

import glassnet as gn

# A symbol of the convention (z^(1)_2, w^(1)_{1,2}, a^(2)_j[n], sigmoid'(...) stays as words) or x_1 / y_2.
SYMBOL = re.compile(r"[A-Za-z]+\^\(\d+\)(?:_(?:\{[^}]*\}|\d+|[a-z]))?(?:\[n\])?|\b[xy]_(?:\d+|j)(?:\[n\])?|beta\d|\^t\b")
LATEX_SYMBOL = re.compile(r"[A-Za-z]+\^\{\(\d+\)\}(?:_\{[^}]*\})?(?:\[n\])?|\b[xy]_(?:\{\d+\}|\d+|j)|\\beta_\d|\^t\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
LATEX_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?")


def numbers(plain: str) -> list[float]:
    """Every number written in a plain formula, in order, after removing the symbols (whose indices are digits)."""
    return [float(tok) for tok in NUMBER.findall(SYMBOL.sub(" ", plain))]


def latex_numbers(tex: str) -> list[float]:
    """Every number written in a LaTeX formula (``1.5 \\times 10^{-5}`` read back as 1.5e-05)."""
    out = []
    for tok in LATEX_NUMBER.findall(LATEX_SYMBOL.sub(" ", tex)):
        mantissa, _, exponent = tok.partition(r" \times 10^{")
        out.append(float(mantissa) * 10.0 ** int(exponent.rstrip("}")) if exponent else float(mantissa))
    return out


def mazur_network() -> gn.Network:
    """Matt Mazur's classic 2-2-2 example ("A Step by Step Backpropagation Example", 2015).

    w1..w4 join the inputs to the hidden neurons h1, h2 and w5..w8 join h1, h2 to the outputs o1, o2:
    h1 = x1*w1 + x2*w2 + b1, h2 = x1*w3 + x2*w4 + b1, o1 = h1*w5 + h2*w6 + b2, o2 = h1*w7 + h2*w8 + b2.
    In glassnet's W[i, j] (input i -> unit j): W1 = [[w1, w3], [w2, w4]], W2 = [[w5, w7], [w6, w8]].
    """
    w1, w2, w3, w4, w5, w6, w7, w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55
    b1, b2 = 0.35, 0.60
    return gn.Network([gn.Dense(2, 2, "sigmoid", init=([[w1, w3], [w2, w4]], [b1, b1])),
                       gn.Dense(2, 2, "sigmoid", init=([[w5, w7], [w6, w8]], [b2, b2]))], loss="mse")
