"""The record type of a trace and the one symbol convention every renderer uses.

Symbol convention (plain text, as in every formula; LaTeX is derived from it by :func:`to_latex`)::

    x_i = a^(0)_i         input i of the sample (the inputs are "layer 0")
    w^(l)_{i,j}           the weight from neuron i of layer l-1 to neuron j of layer l
    b^(l)_j               the bias of neuron j of layer l
    z^(l)_j               the weighted sum of neuron j of layer l: sum_i w^(l)_{i,j} a^(l-1)_i + b^(l)_j
    a^(l)_j               its activation f(z^(l)_j)
    y_j                   target j;   L the loss
    dL/da^(l)_j           how the loss changes with a^(l)_j
    delta^(l)_j           dL/dz^(l)_j, the neuron's error signal
    dL/dw^(l)_{i,j}, dL/db^(l)_j   the gradients
    [n]                   "of sample n", inside sums over the samples of a batch

Layers ``l`` and neurons ``i, j`` count from 1 in symbols, like a textbook; the arrays count from 0.
The first layer (``net.layers[0]``, parameter keys ``"0.W"``, ``"0.b"``) is layer 1, so
``"0.W"[i, j]`` is ``w^(1)_{i+1,j+1}`` and ``"1.b"[j]`` is ``b^(2)_{j+1}``; in general
``"{k}.W"[i, j]`` is ``w^(k+1)_{i+1,j+1}``. Samples are 0-based row numbers of ``X`` everywhere
(``sample 0`` is ``X[0]``), like ``--sample 0`` on the command line. A parameter of a layer of your own
is named the same way: ``"{k}.gamma"[j]`` is ``gamma^(k+1)_{j+1}`` (a scalar one just ``gamma^(k+1)``).

Every :class:`Record` carries ``layer`` as in the symbol (1 = first layer, 0 = input), ``neuron``
and ``indices`` as 0-based array indices, and ``key`` the parameter name where it is about one.

Next read: ``hooks.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

LAYER_SYMBOLS_HELP = (
    "BatchNorm1d: mu, var = the batch's mean and variance of a feature; runmean, runvar = its running statistics; "
    "xhat = the normalised input; gamma, beta = scale and shift. Dropout: m = the mask (1 kept, 0 dropped)."
)
LAYER_SYMBOLS_KINDS = frozenset({"batch_mean", "batch_var", "running", "x_hat", "dx_hat", "batch_sum", "mask"})

SYMBOLS_HELP = (
    "Symbols: layer l as superscript ^(l), neuron as subscript, both counted from 1 (x_i = a^(0)_i is input i). "
    "w^(l)_{i,j} joins neuron i of layer l-1 to neuron j of layer l; z = weighted sum, a = activation, "
    "delta = dL/dz; [n] = of sample n. Array keys count from 0: \"0.W\"[i, j] is w^(1)_{i+1,j+1}. "
    "Samples are the 0-based rows of X."
)

# The same, typeset for the LaTeX renderers.
SYMBOLS_HELP_TEX = (
    r"Symbols: layer $l$ as superscript $^{(l)}$, neuron as subscript, both counted from 1 ($x_i = a^{(0)}_i$ is "
    r"input $i$). $w^{(l)}_{i,j}$ joins neuron $i$ of layer $l-1$ to neuron $j$ of layer $l$; $z$ = weighted sum, "
    r"$a$ = activation, $\delta = \partial L / \partial z$; $[n]$ = of sample $n$. Array keys count from 0: "
    r"\texttt{0.W[i, j]} is $w^{(1)}_{i+1,j+1}$. Samples are the 0-based rows of $X$."
)

# "check": predict, then check (predict.py): the change the gradient predicts beside the one that happens.
PHASES = ("forward", "loss", "backward", "gradient", "update", "check")


@dataclass
class Record:
    """One number of a training step, with how it was obtained.

    ``formula`` reads ``symbol = expression = numbers = value`` (the parts that are empty are left out),
    e.g. ``z^(1)_1 = w^(1)_{1,1}*a^(0)_1 + b^(1)_1 = 0.15*0.05 + 0.35 = 0.3575``.
    """

    kind: str
    phase: str
    symbol: str
    value: float | None
    expression: str = ""
    numbers: str = ""
    layer: int | None = None
    neuron: int | None = None
    indices: tuple[int, ...] = ()
    key: str | None = None
    sample: int | None = None
    note: str = ""
    digits: int = 6
    # "=" for a definition, "<-" for an optimizer's assignment.
    op: str = "="
    # Extra right-hand steps between ``numbers`` and the value (e.g. a product of two partial results).
    steps: list[str] = field(default_factory=list)

    @property
    def shown_value(self) -> str:
        return "" if self.value is None else fmt(self.value, self.digits)

    def right(self) -> list[str]:
        """The right-hand side, step by step: expression, numbers, intermediate steps, value."""
        return [p for p in (self.expression, self.numbers, *self.steps, self.shown_value) if p]

    @property
    def formula(self) -> str:
        """The plain-text formula with the numbers (a summary record gives its note)."""
        if self.value is None and not self.expression:
            return f"{self.symbol}: {self.note}" if self.note else self.symbol
        return f"{self.symbol} {self.op} " + " = ".join(self.right())

    @property
    def latex(self) -> str:
        """The same formula in LaTeX math (without ``$``)."""
        if self.value is None and not self.expression:
            return r"\text{" + tex_escape(self.formula) + "}"
        return f"{to_latex(self.symbol)} {to_latex(self.op)} " + " = ".join(to_latex(p) for p in self.right())

    def to_dict(self, latex: bool = True) -> dict[str, Any]:
        """The record as JSON-able data (see ``schema.py``); ``latex=False`` leaves out ``latex_symbol`` and
        ``latex``, whose writing is most of the time this takes."""
        data = {
            "kind": self.kind, "phase": self.phase, "layer": self.layer, "neuron": self.neuron,
            "indices": list(self.indices), "key": self.key, "sample": self.sample, "symbol": self.symbol,
            "latex_symbol": "", "expression": self.expression, "formula": self.formula, "latex": "",
            "value": json_number(self.value), "note": self.note, "op": self.op,
        }
        if latex:
            data["latex_symbol"], data["latex"] = to_latex(self.symbol), self.latex
        else:
            del data["latex_symbol"], data["latex"]
        return data


# ----------------------------------------------------------------------------- symbols
def sym(name: str, layer: int, *neurons: int) -> str:
    """The plain symbol of ``name`` in ``layer`` for 0-based ``neurons``: ``sym("w", 1, 0, 1)`` -> ``w^(1)_{1,2}``."""
    sub = ",".join(str(n + 1) for n in neurons)
    if not neurons:  # a scalar parameter of a layer of your own
        return f"{name}^({layer})"
    return f"{name}^({layer})_{{{sub}}}" if len(neurons) > 1 else f"{name}^({layer})_{sub}"


def grad(symbol: str) -> str:
    """``dL/d<symbol>``."""
    return f"dL/d{symbol}"


def fmt(value: float, digits: int = 6) -> str:
    """A number as shown in every formula: ``digits`` significant digits, negatives in parentheses are added
    by :func:`term`."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.{digits}g}"
    return "0" if text == "-0" else text


def term(value: float, digits: int = 6) -> str:
    """A number as a factor in a product: negative numbers wrapped in parentheses."""
    text = fmt(value, digits)
    return f"({text})" if text.startswith("-") else text


def json_number(value: float | None) -> float | None:
    """Finite floats as they are; NaN and inf (not JSON) as ``None``."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


# ----------------------------------------------------------------------------- LaTeX
_SCRIPT = r"(?:\{[^}]*\}|\d+|[a-z]\b)"
_SYMBOL = rf"[A-Za-z]+\^\((\d+)\)(?:_{_SCRIPT})?(?:\[n\])?"  # no subscript: a scalar parameter
_TEX_RULES: list[tuple[str, str]] = [
    (r"(\d(?:\.\d+)?)e([+-]?)0*(\d+)", lambda m: f"{m[1]} \\times 10^{{{'-' if m[2] == '-' else ''}{m[3]}}}"),  # type: ignore[list-item]
    (rf"dL/d({_SYMBOL})", r"\\frac{\\partial L}{\\partial \1}"),
    (r"\bdL/d([a-z])_(\d+)", r"\\frac{\\partial L}{\\partial \1_{\2}}"),
    (r"\b([A-Za-z]+)\^\((\d+)\)_\{([^}]*)\}", r"\1^{(\2)}_{\3}"),
    (r"\b([A-Za-z]+)\^\((\d+)\)_(\d+|[a-z]\b)", r"\1^{(\2)}_{\3}"),
    (r"\b([A-Za-z]+)\^\((\d+)\)(?!_)", r"\1^{(\2)}"),
    (r"\b([A-Za-z]+\^\{\(\d+\)\}_\{[^}]*\})(?=\^)", r"{\1}"),  # a symbol squared: {a^{(1)}_{1}}^2, not a double superscript
    (r"\bsqrt\(((?:[^()]|\([^()]*\))*)\)", r"\\sqrt{\1}"),
    (r"\bsum_(\w)\b", r"\\sum_{\1}"),
    (r"\bsum\b", r"\\sum"),
    (r"\bdelta\b", r"\\delta"),
    (r"\blambda\b", r"\\lambda"),
    (r"\bbeta(\d)\b", r"\\beta_\1"),
    (r"\balpha\b", r"\\alpha"),
    (r"\bmu\b", r"\\mu"),
    (r"\bxhat\b", r"\\hat{x}"),  # BatchNorm's symbols (ledger_layers.py), after mu
    (r"\brunmean\b", r"\\bar{\\mu}"),
    (r"\bvar\b(?=\^)", r"\\operatorname{var}"),
    (r"\brunvar\b", r"\\overline{\\operatorname{var}}"),
    (r"\bgamma\b(?=\^)", r"\\gamma"),
    (r"\bmomentum\b", r"\\text{momentum}"),
    (r"\bbeta\b(?=\^)", r"\\beta"),
    (r"\beps\b", r"\\epsilon"),
    (r"\blr\b", r"\\eta"),
    (r"\b(exp|log|tanh|max|min)(?=[('])", r"\\\1"),
    (r"\b(Phi|phi)\(", r"\\\1("),  # the standard normal CDF and density (GELU)
    (r"\bsigmoid\b", r"\\sigma"),
    (r"\bidentity\b", r"\\operatorname{id}"),
    # Any other name of a function (an activation's, a layer's, clip, softplus ...) set upright, "_" escaped.
    (r"(?<![\\{])\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)(?=\(|')",
     lambda m: m[0] if len(m[0]) < 2 else "\\operatorname{" + m[0].replace("_", "\\_") + "}"),  # type: ignore[list-item]
    (r"<-", r"\\leftarrow "),
    (r"\*", r" \\cdot "),
    (r"\bif\b", r"\\text{ if }"),
    (r"\belse\b", r"\\text{ else }"),
]


def to_latex(plain: str) -> str:
    """Translate a plain formula of this convention into LaTeX math: ``w^(1)_{1,2}*x`` -> ``w^{(1)}_{1,2} \\cdot x``."""
    text = plain
    for pattern, repl in _TEX_RULES:
        text = re.sub(pattern, repl, text)
    return text


def tex_escape(text: str) -> str:
    """Escape LaTeX's special characters in running text."""
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
    return "".join(table.get(c, c) for c in text)
