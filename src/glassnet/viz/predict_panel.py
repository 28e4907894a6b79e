"""The report's "Predict, then check" panel: for a few weights, predicted beside actual changes of the loss.

:func:`panel_data` runs :func:`glassnet.explain.predict.predict_then_check`'s machinery on the trained network and
the report's rows (evaluation mode, as everything the report shows: no Dropout mask, BatchNorm's running
statistics) for the weight asked for (default: the weight with the largest ``|gradient|`` on those rows, then the
next largest ones, each selectable on the page) and nudges ``d = 1e-1 ... 1e-9``; :func:`panel_html` writes it as
static HTML: per weight a table (``g*d``, ``L(w+d) - L(w)``, the gap, ``gap/d^2`` beside ``(1/2) L''``, the ratio of
successive gaps) and a small log-log plot of ``|gap|`` against ``d`` with a slope-2 line and float64's rounding
level, where the gap stops shrinking like ``d^2``. No JavaScript: ``<details>`` elements select the weight.

Next read: ``report.py`` (which puts the panel on the page).
"""

from __future__ import annotations

import html
import math
from typing import Any

from numpy.typing import NDArray

from glassnet.core.network import Network
from glassnet.explain.predict import (
    FLOAT32,
    INFLECTION,
    ROUNDING,
    ROUNDING_FACTOR,
    WHY,
    Prediction,
    Probe,
    check_nudges,
    nudge,
)
from glassnet.explain.records import fmt
from glassnet.explain.weight_names import largest_gradients, parse_weight

NUDGES = tuple(10.0 ** -k for k in range(1, 10))  # 0.1 ... 1e-9: the d^2 law, then rounding
N_WEIGHTS = 3


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None  # the page's JSON has no NaN


def panel_data(net: Network, X: NDArray[Any], Y: NDArray[Any], weight: Any = None,
               nudges: Any = NUDGES, n_weights: int = N_WEIGHTS) -> dict[str, Any]:
    """The panel's numbers, JSON-able: ``{"rows", "weights": [...]}``, one entry per weight shown (first: ``weight``,
    or the largest-gradient weight; then the next largest ``|gradient|`` weights)."""
    values = check_nudges(nudges)
    probe = Probe(net, X, Y, training=False)
    loss, grads = probe.gradients()
    chosen = [parse_weight(net, weight)] if weight is not None else []
    for entry in largest_gradients(grads, net.frozen, n_weights + 1):  # one ranking (np.argpartition)
        if len(chosen) < n_weights and entry not in chosen:
            chosen.append(entry)
    return {"rows": int(X.shape[0]), "weights": [_one(nudge(probe, key, idx, loss, float(grads[key][idx]), values))
                                                 for key, idx in chosen]}


def _one(p: Prediction) -> dict[str, Any]:
    return {"symbol": p.symbol, "key": p.key, "index": list(p.index), "value": p.value, "loss": p.loss,
            "gradient": p.gradient, "second": _finite(p.second_derivative), "h": p.h,
            "rounding": p.rounding_level, "linear": p.linear, "inflection": p.inflection, "flat": p.flat,
            "dtype": p.dtype,
            "nudges": [{"d": n.d, "predicted": n.predicted, "actual": n.actual, "gap": n.gap,
                        "gap_per_d2": _finite(n.gap_per_d2), "rounding": n.rounding,
                        "ratio": None if k == 0 else _finite(p.ratios()[k - 1][2])} for k, n in enumerate(p.nudges)]}


def panel_html(data: dict[str, Any] | None) -> str:
    """The panel's HTML (inside the page's ``<section>``): a ``<details>`` per weight, the first one open."""
    if not data or not data.get("weights"):
        return "<p>Not available for this network.</p>"
    out = [f"<p>The loss of the trained network on the {data['rows']} rows of this report (evaluation mode), with "
           "one weight nudged by <i>d</i>: the change its gradient predicts, <i>g&middot;d</i>, beside the change "
           "that happens. " + html.escape(WHY) + "</p>"]
    for k, w in enumerate(data["weights"]):
        largest = " (the largest |gradient|)" if k == 0 else ""
        out.append(f'<details class="predict"{" open" if k == 0 else ""}><summary><code>{html.escape(w["symbol"])}'
                   f'</code> = {fmt(w["value"])}, <code>{html.escape(w["key"])}{w["index"]}</code>, gradient '
                   f"{fmt(w['gradient'])}{largest}</summary>")
        out += [_table(w), _plot(w), f"<p>{_words(w)}</p>", "</details>"]
    return "\n".join(out)


def _words(w: dict[str, Any]) -> str:
    half = "?" if w["second"] is None else fmt(w["second"] / 2)
    limit = "0 (L'' is 0 up to rounding here)" if w.get("flat") else f"(1/2) L'' = {half}"
    text = (f"gap/d<sup>2</sup> tends to {html.escape(limit)}, from a central difference with h = {fmt(w['h'])}. ")
    if w.get("dtype", "float64") != "float64":
        text += html.escape(FLOAT32) + " "
    if w["linear"]:
        return text + "The loss is linear in this weight here: the gap is 0 up to rounding."
    if w.get("inflection"):
        text += html.escape(INFLECTION) + " "
    return text + html.escape(ROUNDING) + (f" Here eps&middot;|L| = {fmt(w['rounding'], 3)}; a gap below "
                                           f"{ROUNDING_FACTOR:g} times that (dotted line) is marked.")


def _table(w: dict[str, Any]) -> str:
    head = ("<tr><th>d</th><th>predicted g&middot;d</th><th>actual L(w+d) &minus; L(w)</th><th>gap</th>"
            "<th>gap / d<sup>2</sup></th><th>gap ratio</th></tr>")
    rows = []
    for n in w["nudges"]:
        ratio = "" if n.get("ratio") is None else fmt(n["ratio"], 4)
        mark = " *" if n["rounding"] else ""
        rows.append(f"<tr><td>{fmt(n['d'])}</td><td>{fmt(n['predicted'])}</td><td>{fmt(n['actual'])}</td>"
                    f"<td>{fmt(n['gap'])}{mark}</td><td>{'' if n['gap_per_d2'] is None else fmt(n['gap_per_d2'])}</td>"
                    f"<td>{ratio}</td></tr>")
    caption = "<caption>* rounding noise, not curvature</caption>" if any(n["rounding"] for n in w["nudges"]) else ""
    return f'<table class="predict-table">{caption}<thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _plot(w: dict[str, Any], width: int = 360, height: int = 220) -> str:
    """``log10 |gap|`` against ``log10 d``: circles (curvature), crosses (rounding), a dashed slope-2 line through
    the middle one of the curvature points (by ``d``), a dotted line at the rounding level."""
    points = [(math.log10(abs(n["d"])), math.log10(abs(n["gap"])), n["rounding"]) for n in w["nudges"]
              if n["gap"] != 0 and n["d"] != 0]
    if len(points) < 2:
        return "<p>(No plot: the gaps are 0.)</p>"
    # Where rounding takes over: the level below which predict.py calls a gap rounding noise.
    floor = math.log10(ROUNDING_FACTOR * w["rounding"]) if w["rounding"] > 0 else None
    xs, ys = [p[0] for p in points], [p[1] for p in points] + ([floor] if floor is not None else [])
    x0, x1, y0, y1 = min(xs), max(xs), math.floor(min(ys)) - 0.5, math.ceil(max(ys)) + 0.5
    left, right, top, bottom = 48, 10, 10, 34
    sx = lambda x: left + (x - x0) / ((x1 - x0) or 1) * (width - left - right)  # noqa: E731
    sy = lambda y: top + (y1 - y) / ((y1 - y0) or 1) * (height - top - bottom)  # noqa: E731
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#333"/>']
    for x in range(math.ceil(x0), math.floor(x1) + 1):
        parts.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="middle">1e{x}</text>')
    for y in range(math.ceil(y0), math.floor(y1) + 1, max(1, (math.floor(y1) - math.ceil(y0)) // 6 or 1)):
        parts.append(f'<text x="{left - 4}" y="{sy(y) + 3:.1f}" font-size="10" text-anchor="end">1e{y}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" font-size="11" text-anchor="middle">'
                 "nudge d (log scale)</text>")
    parts.append(f'<text x="12" y="{(top + height - bottom) / 2:.0f}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {(top + height - bottom) / 2:.0f})">|gap|</text>')
    curve = [p for p in points if not p[2]]
    if curve:  # slope 2 through the middle one of the gaps that are curvature: the d^2 law
        cx, cy, _ = sorted(curve)[len(curve) // 2]
        ends = [(x, cy + 2 * (x - cx)) for x in (x0, x1)]
        parts.append(f'<line x1="{sx(ends[0][0]):.1f}" y1="{sy(ends[0][1]):.1f}" x2="{sx(ends[1][0]):.1f}" '
                     f'y2="{sy(ends[1][1]):.1f}" stroke="#0b6fb0" stroke-dasharray="6 3"><title>slope 2: gap ~ d^2'
                     "</title></line>")
    if floor is not None:
        parts.append(f'<line x1="{left}" y1="{sy(floor):.1f}" x2="{width - right}" y2="{sy(floor):.1f}" stroke="#d9730d" '
                     f'stroke-dasharray="2 3"><title>{ROUNDING_FACTOR:g} eps*|L|: float64 rounding of the loss takes over'
                     "</title></line>")
    for px, py, noise in points:
        if noise:
            parts.append(f'<path d="M{sx(px) - 4:.1f},{sy(py) - 4:.1f}l8,8m0,-8l-8,8" stroke="#d9730d" stroke-width="2">'
                         f"<title>d = 1e{px:.0f}: rounding noise</title></path>")
        else:
            parts.append(f'<circle cx="{sx(px):.1f}" cy="{sy(py):.1f}" r="4" fill="#0b6fb0"><title>d = 1e{px:.0f}: '
                         "curvature</title></circle>")
    label = (f"log-log plot of |gap| against d for {w['symbol']}: circles follow the dashed slope-2 line (gap ~ d^2) "
             "down to the dotted rounding level; crosses below it are rounding noise")
    return (f'<svg class="predict-plot" role="img" aria-label="{html.escape(label)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
            '<p class="legend">Circles: gap from curvature; crosses: rounding noise; dashed: slope 2 (gap ~ '
            f"d<sup>2</sup>); dotted: {ROUNDING_FACTOR:g} eps&middot;|L|, below which a gap is rounding noise.</p>")
