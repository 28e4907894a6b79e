"""``plot_network(net, trace=None)``: the network as a matplotlib figure.

Neurons are circles, one column per layer (inputs on the left). Each layer's biases hang from their own
square node (a constant ``+1`` input) under the column before it, so a bias is drawn like the weight
it is. Every edge is coloured by the sign of its weight (blue positive, red negative, grey zero) and its width grows
with the magnitude. With a :class:`~glassnet.explain.trace.Trace`, each neuron is annotated with one
sample's ``z``, ``a`` and ``delta``, and each edge (when there are few enough) with ``dL/dw``; the
numbers are the trace's, i.e. the engine's. A layer that is not Dense (one of your own) has no weights
to draw: a grey band joins its two columns, labelled with the layer and its formulas (BatchNorm1d, Dropout); with
a trace its units also show what the layer kept in its cache (BatchNorm's ``xhat``; Dropout's units marked kept
or dropped for the sample). matplotlib is imported only when this module is used.

Next read: ``worksheet.py``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError
from glassnet.explain.ledger import describe, is_dense
from glassnet.explain.records import fmt

if TYPE_CHECKING:
    from glassnet.explain.trace import Trace

POSITIVE, NEGATIVE, ZERO = "#1f77b4", "#d62728", "#b0b0b0"
RADIUS = 0.25
SX, SY = 3.2, 1.7  # distance between layers, between neurons of a layer (data units, about inches)
MAX_NEURONS = 200
FIGURE_FORMATS = ("png", "svg", "pdf")  # what save_figure writes (a name without a suffix: png)


def _mathtext(name: str, layer: int, *neurons: int) -> str:
    return f"${name}^{{({layer})}}_{{{','.join(str(n + 1) for n in neurons)}}}$"


def plot_network(net: Network, trace: Trace | None = None, sample: int = 0, *, digits: int = 4,
                 edge_labels: bool | None = None, figsize: tuple[float, float] | None = None,
                 path: str | os.PathLike[str] | None = None) -> Any:
    """Draw ``net``; returns a ``matplotlib.figure.Figure``.

    Parameters
    ----------
    net : Network
    trace : Trace, optional
        Annotate with the numbers of this trace (its parameters before the step, one sample's ``z``,
        ``a`` and ``delta``, and the gradients).
    sample : int
        Which of the trace's samples (0-based position in the trace) the neuron annotations show.
    digits : int
        Significant digits of the numbers drawn.
    edge_labels : bool, optional
        Write each weight (and gradient) on its edge; default: only when there are at most 40 edges.
    path : str or Path, optional
        Also save the figure there (PNG, SVG or PDF by suffix), atomically.
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"plot_network needs a glassnet Network, got {type(net).__name__}")
    sizes = net.sizes
    if max(sizes) > MAX_NEURONS:
        raise ConfigError(f"a layer of {max(sizes)} neurons is too wide to draw (at most {MAX_NEURONS}); "
                          "draw a smaller network or use explain(..., neurons=...) for the numbers")
    params = {k: p.copy() for k, p in net.parameters().items()}
    if trace is not None:
        if trace.network["sizes"] != sizes:
            raise ConfigError(f"the trace is of a {trace.network['sizes']} network but net has sizes {sizes}")
        if not 0 <= sample < trace.n_samples:
            raise ConfigError(f"sample must be 0..{trace.n_samples - 1} (the trace has {trace.n_samples} sample(s))")
        params = trace.params_before
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Polygon, Rectangle

    n_edges = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    label_edges = n_edges <= 40 if edge_labels is None else edge_labels
    top = SY * max(sizes) / 2
    fig = Figure(figsize=figsize or (SX * (len(sizes) - 1) + 2.5, 2 * top + 2.5))
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.axis("off")

    def y_of(layer: int, i: int) -> float:
        return SY * ((sizes[layer] - 1) / 2 - i)

    biggest = max((float(np.abs(p).max()) for p in params.values() if p.size), default=0.0) or 1.0

    def edge(l: int, y0: float, y1: float, w: float, g: float | None, where: float) -> None:
        x0, x1 = SX * (l - 1), SX * l
        ax.add_line(Line2D([x0, x1], [y0, y1], color=POSITIVE if w > 0 else NEGATIVE if w < 0 else ZERO,
                           linewidth=0.4 + 4.0 * abs(w) / biggest, alpha=0.7, zorder=1))
        if label_edges:  # staggered along the edges so that the labels of one fan do not overlap
            text = fmt(w, digits) + (f" (∂ {fmt(g, digits)})" if g is not None else "")
            ax.text(x0 + where * (x1 - x0), y0 + where * (y1 - y0), text, fontsize=6.5, ha="center", va="center",
                    zorder=3, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))

    for l in range(1, len(sizes)):
        layer = net.layers[l - 1]
        if not is_dense(layer):
            x0, x1, y0, y1 = SX * (l - 1) + RADIUS, SX * l - RADIUS, y_of(l - 1, 0), y_of(l, 0)
            ax.add_patch(Polygon([(x0, y0 + RADIUS), (x1, y1 + RADIUS), (x1, -y1 - RADIUS), (x0, -y0 - RADIUS)],
                                 closed=True, fc="#eeeeee", ec="#999999", ls="--", zorder=0))
            text = "\n".join([describe(layer), *(textwrap.fill(f, 34, subsequent_indent="  ") for f in layer.formulas())])
            ax.text((x0 + x1) / 2, 0, plain(text), ha="center", va="center",
                    fontsize=7, zorder=3, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#999999", alpha=0.9))
            continue
        W, b = params[f"{l - 1}.W"], params[f"{l - 1}.b"]
        gW = trace.gradients[f"{l - 1}.W"] if trace is not None else None
        gb = trace.gradients[f"{l - 1}.b"] if trace is not None else None
        bias_y = -top - 0.3
        for j in range(sizes[l]):
            where = 0.25 + 0.5 * j / max(1, sizes[l] - 1)
            for i in range(sizes[l - 1]):
                edge(l, y_of(l - 1, i), y_of(l, j), float(W[i, j]), None if gW is None else float(gW[i, j]), where)
            edge(l, bias_y, y_of(l, j), float(b[j]), None if gb is None else float(gb[j]), where)
        x = SX * (l - 1)
        ax.add_patch(Rectangle((x - RADIUS, bias_y - RADIUS), 2 * RADIUS, 2 * RADIUS, fc="#f2f2f2", ec="black",
                               zorder=2, label=f"bias {l}"))
        ax.text(x, bias_y, "+1", ha="center", va="center", fontsize=8, zorder=4)
        ax.text(x, bias_y - RADIUS - 0.1, f"biases $b^{{({l})}}$", ha="center", va="top", fontsize=7)

    for l, n in enumerate(sizes):
        for i in range(n):
            x, y = SX * l, y_of(l, i)
            ax.add_patch(Circle((x, y), RADIUS, fc="white" if l else "#e8f0fe", ec="black", zorder=2,
                                label=f"neuron {l},{i}"))
            ax.text(x, y, _mathtext("a", l, i) if l else f"$x_{{{i + 1}}}$", ha="center", va="center", fontsize=8,
                    zorder=4)
            if trace is not None:
                rec = trace.step.layers[l - 1] if l else None
                if rec is None:
                    lines = [f"x={fmt(float(trace.inputs[sample, i]), digits)}"]
                else:
                    lines = [f"a={fmt(float(rec.A[sample, i]), digits)}"]
                    if rec.Z.shape == rec.A.shape:
                        lines.insert(0, f"z={fmt(float(rec.Z[sample, i]), digits)}")
                    cache = rec.cache  # a layer's own intermediates: BatchNorm's x_hat, Dropout's mask
                    x_hat, mask = cache.get("X_hat"), cache.get("mask")
                    if isinstance(x_hat, np.ndarray) and x_hat.shape == rec.A.shape:
                        lines.insert(0, f"xhat={fmt(float(x_hat[sample, i]), digits)}")
                    if isinstance(mask, np.ndarray) and mask.shape == rec.A.shape and float(cache.get("keep", 1.0)) < 1:
                        lines.append("kept" if mask[sample, i] else "dropped")
                    if rec.dZ.shape == rec.A.shape:
                        lines.append(f"δ={fmt(float(rec.dZ[sample, i]), digits)}")
                    elif rec.dA is not None:
                        lines.append(f"∂a={fmt(float(rec.dA[sample, i]), digits)}")
                ax.text(x, y - RADIUS - 0.05, "\n".join(lines), fontsize=6.5, ha="center", va="top", zorder=4,
                        color="#222222", bbox=dict(boxstyle="round,pad=0.15", fc="#fffbe6", ec="#cccccc", alpha=0.9))
        act = net.layers[l - 1].activation if l else None
        title = "inputs" if l == 0 else f"layer {l}: {act.name if act is not None else type(net.layers[l - 1]).__name__}"
        ax.text(SX * l, top + 0.1, plain(title), ha="center", va="bottom", fontsize=9)
    ax.legend(handles=[Line2D([], [], color=POSITIVE, label="positive weight"),
                       Line2D([], [], color=NEGATIVE, label="negative weight")],
              loc="lower right", fontsize=7, frameon=False)
    ax.set_xlim(-0.8, SX * (len(sizes) - 1) + 0.8)
    ax.set_ylim(-top - 1.0, top + 0.5)
    heading = plain(repr(net))
    if trace is not None:
        heading += (f"\nsample {trace.rows[sample]}: z, a, δ = dL/dz per neuron; ∂ = dL/dw of the batch on edges; "
                    + ("∂a = dL/da; " if not all(is_dense(layer) for layer in net.layers) else "")
                    + f"loss {fmt(trace.loss, digits)}")
    fig.suptitle(heading, fontsize=8)
    if path is not None:
        save_figure(fig, path)
    return fig


def plain(text: object) -> str:
    """``text`` as matplotlib should draw it: literally, with every ``$`` escaped.

    Every text glassnet's figures (this diagram and ``glassnet.viz.plots``) take from outside (a title, a path,
    a class, layer or activation name, a custom layer's formulas) goes through here: matplotlib reads a pair of
    ``$`` as math, so ``price $^$ up`` or a dataset ``a$b.csv`` would otherwise be parsed as mathtext, drawn
    wrong or fail when the figure is saved. Outside math, matplotlib draws ``\\$`` as ``$``; glassnet's own
    math (``$x_1$``, log-axis ticks) is written here and left alone.
    """
    return str(text).replace("$", r"\$")


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """Save ``fig`` atomically; the format (png, svg, pdf) comes from the suffix."""
    from glassnet.errors import OutputFileError
    from glassnet.io import atomic_write

    kind = Path(path).suffix.lower().lstrip(".") or "png"
    if kind not in FIGURE_FORMATS:
        raise ConfigError(f"cannot save a figure as {kind!r}; use a .png, .svg or .pdf file name")
    with atomic_write(path, "wb", OutputFileError) as handle:
        fig.savefig(handle, format=kind, dpi=150, bbox_inches="tight")
