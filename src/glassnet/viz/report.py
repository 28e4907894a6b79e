"""The training report: one self-contained HTML page to step through a real run, like a playground.

:func:`write_report` turns a network, its data and (optionally) a recorded :class:`~glassnet.viz.snapshots.Run`
into a single HTML file with everything inline (CSS, JavaScript, data; no network access). The page
shows the architecture, the training curves, for 2-D inputs the decision boundary and every neuron's
activation map at each snapshot (a slider and play/pause move through them), the network diagram with
the weights and biases of the selected snapshot, the full ledger of one training step for a sample
picked on the page, the gradient-check table and the health warnings.

What goes into the page, and how it stays small:

- maps: each neuron's activations over a ``resolution x resolution`` grid covering the data, quantised
  to 8 bits per map (its own min and max are kept), delta-coded (see :func:`neuron_maps`) and zlib-compressed; the browser
  inflates them with ``DecompressionStream``. If they would pass ``max_map_bytes`` the resolution is
  lowered, then snapshots are dropped from the maps, and the page says so.
- ledgers: one step on each of ``ledger_samples`` samples at ``ledger_snapshots`` of the snapshots
  (first and last included; fewer if they would pass ``max_ledger_bytes``); the page shows the ledger of
  the nearest such snapshot and says which.
  A ledger is ``glassnet.explain(...).to_dict(latex=False)`` (the ``glassnet-trace`` JSON without its
  LaTeX), made compact by :func:`glassnet.viz.ledger.ledger`. Its update step uses a fresh optimizer of the run's kind.
- weights and biases: every snapshot's, to 9 significant digits (the page prints at most 6); if they
  would pass ``max_param_bytes`` (a wide network), the page keeps fewer snapshots and says so. Each layer's
  parameters go under their own names: a Dense layer's ``W`` and ``b`` are drawn as the diagram's edges and
  beside its units; a layer of your own (``meta.layers``: its class, parameter names and formulas) is drawn
  as its units with its per-unit parameters beside them and its formulas above the gap before them (no edges:
  its connections are its own), and every one of its parameters by name in the table.
- curves: at most :data:`~glassnet.viz.snapshots.MAX_CURVE_POINTS` epochs; points: at most ``max_points``.

The page itself is ``report_assets/report.html`` (+ ``report.js``, ``report.css``), filled in here.
Next read: ``report_assets/report.js``.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import zlib
from copy import deepcopy
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_inputs, positive_int
from glassnet.core.layers import Layer
from glassnet.core.network import Network
from glassnet.core.optimizers import OPTIMIZERS, Optimizer
from glassnet.core.training import labels_kind
from glassnet.errors import ConfigError, ShapeError
from glassnet.explain import explain
from glassnet.verify import inside
from glassnet.viz.ledger import ledger, weights_and_biases
from glassnet.viz.predict_panel import panel_data, panel_html
from glassnet.viz.snapshots import Run, thin

RESOLUTIONS = (48, 40, 32, 24, 16)
MAX_RESOLUTION = 256


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _digits(a: NDArray[Any]) -> Any:
    """``a`` as nested lists of numbers rounded to 9 significant digits (the page prints at most 6); a scalar
    parameter (a layer of your own may have one) as a number."""
    if a.ndim == 0:
        return float(f"{a.item():.9g}")
    return [float(f"{v:.9g}") for v in a.ravel()] if a.ndim == 1 else [_digits(row) for row in a]


def _clone(net: Network, params: dict[str, NDArray[Any]]) -> Network:
    """A copy of ``net`` holding ``params`` (a snapshot: parameters, and buffers where it kept them): its own layers,
    of whatever class (registered or not)."""
    twin = deepcopy(net)
    twin.metadata = {}  # the recorded run may be large, and the copy has no use for it
    buffers = twin.buffers()
    twin.set_parameters({key: p for key, p in params.items() if key not in buffers})
    twin.set_buffers({key: b for key, b in params.items() if key in buffers})
    return twin.eval()  # the pictures and losses of a trained network: no Dropout mask, BatchNorm's running statistics


def grid_points(X: NDArray[Any], resolution: int) -> tuple[list[float], NDArray[Any]]:
    """Bounds ``[x_min, x_max, y_min, y_max]`` (data range plus 10 %) and the grid, row 0 at the top."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(hi[1], lo[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])], np.column_stack([gx.ravel(), gy.ravel()])


def neuron_maps(net: Network, snapshots: list[dict[str, NDArray[Any]]], grid: NDArray[Any]) -> tuple[bytes, list[Any]]:
    """Every unit's activation over ``grid`` at each snapshot, quantised to uint8 and delta-coded.

    Each map is quantised against its own ``[lo, hi]`` (``value = lo + q / 255 * (hi - lo)``). To compress
    well the bytes hold, for each snapshot, unit and grid row, the differences along the row of
    (this snapshot's map minus the previous snapshot's map), modulo 256. Returns the bytes
    (snapshot-major, then layer, then unit, then grid rows) and per snapshot the ``[lo, hi]`` of each map.
    """
    maps, ranges = [], []
    for params in snapshots:
        A = np.concatenate(_clone(net, params).layer_outputs(grid), axis=1).T  # (units, points)
        lo, hi = A.min(axis=1, keepdims=True), A.max(axis=1, keepdims=True)
        maps.append(np.round((A - lo) / np.where(hi > lo, hi - lo, 1.0) * 255).astype(np.int16))
        ranges.append(np.column_stack([lo[:, 0], hi[:, 0]]).round(7).tolist())
    Q = np.stack(maps)
    res = int(round(np.sqrt(Q.shape[2])))
    Q = Q.reshape(Q.shape[0], Q.shape[1], res, res)
    coded = np.diff(np.diff(Q, axis=0, prepend=0), axis=3, prepend=0) % 256
    return coded.astype(np.uint8).tobytes(), ranges


def _fresh_optimizer(config: dict[str, Any] | None) -> Optimizer:
    """A new optimizer from the run's ``optimizer.config()`` (plain SGD with lr 0.1 when none was recorded)."""
    return OPTIMIZERS.from_config(dict(config or {"name": "sgd", "lr": 0.1}))


def _unit_kind(layer: Layer) -> str:
    """What a layer's units compute, as the page labels them: its activation, or its class without one."""
    return layer.activation.name if layer.activation is not None else type(layer).__name__


_RANGE_PROBE = np.array([[-60.0, 60.0], [60.0, -60.0], [0.0, 0.0]])  # far out both ways, and z = 0


def _unit_outputs(layer: Layer) -> dict[str, Any]:
    """How the page colours a layer's outputs, from the activation's own ``forward`` (no name is looked at):
    ``centre`` its value at ``z = 0`` (sigmoid 0.5, tanh and ReLU 0), ``bounds`` the range it stays in when it
    has one (sigmoid and softmax ``[0, 1]``, tanh ``[-1, 1]``), ``None`` when it grows with ``z`` (ReLU, GELU)."""
    if layer.activation is None:
        return {"centre": 0.0, "bounds": None}
    A = layer.activation.forward(_RANGE_PROBE.copy())
    lo, hi = float(A.min()), float(A.max())
    bounded = max(abs(lo), abs(hi)) < 30.0  # an unbounded output reaches about 60 on the probe
    return {"centre": round(float(A[2, 0]), 9), "bounds": [round(lo, 9), round(hi, 9)] if bounded else None}


def _layer_info(layer: Layer) -> dict[str, Any]:
    """How the page draws a layer: its class, whether its parameters are a weight matrix and biases (drawn as edges
    and beside the units, :func:`~glassnet.viz.ledger.weights_and_biases`), its parameter names and formulas."""
    shapes = {name: p.shape for name, p in layer.params.items()}
    return {"type": type(layer).__name__, "weights": weights_and_biases(shapes, layer.n_in, layer.n_out),
            "params": list(layer.params), "formulas": [str(f) for f in layer.formulas()]}


def _gradcheck(net: Network, X: NDArray[Any], Y: NDArray[Any]) -> dict[str, Any]:
    """:func:`glassnet.gradcheck` of the final network on up to 32 samples and 64 entries per tensor, as a table."""
    from glassnet.verify.gradcheck import gradcheck

    rows = thin(len(X), 32)
    report = gradcheck(net, X[rows], Y[rows], sample=64)
    return {"ok": report.ok, "title": report.title, "samples": int(len(rows)), "notes": list(report.notes),
            "columns": ["parameter", "verdict", *report.columns, "diagnosis"],
            "rows": [[f.param, f.verdict, *(f.details.get(c) for c in report.columns), f.message] for f in report.findings],
            "passed": [f.ok for f in report.findings]}


def check_options(resolution: Any, ledger_samples: Any, ledger_snapshots: Any) -> tuple[int, int, int]:
    """The report's options, checked (``ConfigError`` says which is wrong)."""
    resolution = positive_int(resolution, "resolution")
    if resolution < 4:
        raise ConfigError(f"resolution must be at least 4 grid points per side, got {resolution}")
    if resolution > MAX_RESOLUTION:  # a huge grid would exhaust memory before the page's size limits apply
        raise ConfigError(f"resolution must be at most {MAX_RESOLUTION} grid points per side (a finer grid only "
                          f"makes the page larger), got {resolution}")
    return resolution, positive_int(ledger_samples, "ledger_samples"), positive_int(ledger_snapshots, "ledger_snapshots")


def report_data(net: Network, X: Any, y: Any, run: Run | None = None, *, data_name: str = "",
                warnings: list[Any] | None = None, resolution: int = 32, ledger_samples: int = 4,
                ledger_snapshots: int = 6, max_points: int = 600,
                max_map_bytes: int = 2_000_000, max_ledger_bytes: int = 1_500_000,
                max_param_bytes: int = 1_000_000, layer_stats: dict[str, Any] | None = None,
                breaks: list[Any] | None = None, predict: Any = None) -> tuple[dict[str, Any], str]:
    """Everything the page shows, as JSON-able data, and the packed maps (base64 of zlib bytes).

    Parameters
    ----------
    net : Network
        The trained network (the last snapshot when ``run`` is given).
    X : array of shape (n_samples, n_in)
        The rows it was trained on, as it saw them (standardised if it was).
    y : array of shape (n_samples,) or (n_samples, n_out)
        Their targets, as for ``fit``.
    run : Run, optional
        The recording of the training (:class:`~glassnet.viz.snapshots.SnapshotRecorder`). Without it the
        page has one snapshot, the network as it is now, and says so.
    data_name : str
        Shown in the title.
    warnings : list, optional
        Warnings to list (strings or ``{"check", "message"}`` dicts); default: those recorded in ``run``.
    resolution : int
        Grid points per side of the boundary and neuron maps (lowered, and said, to fit ``max_map_bytes``).
    ledger_samples, ledger_snapshots : int
        How many samples the page offers a step ledger for, at how many snapshots.
    max_points : int
        Most samples drawn on the boundary.
    max_map_bytes, max_ledger_bytes, max_param_bytes : int
        Size budgets (base64 bytes) for the maps, the ledgers and the weights of all snapshots.
    layer_stats : dict, optional
        Each layer's gradient norm and update ratio over training (``history.layers``, verify/inside.py), drawn by
        ``glassnet.plot_layer_stats``; default: the one in ``net.metadata["history"]`` (``glassnet train`` keeps it).
    breaks : list of Break, optional
        The steps ``glassnet.find_break`` found (``glassnet/breaks.py``), each marked on the loss curve with its
        sentence.
    predict : str or (str, tuple), optional
        The weight of the "Predict, then check" panel (``"0.W[0,1]"``, ``"w^(1)_{1,2}"``; see
        ``glassnet/viz/predict_panel.py``); default the one with the largest ``|gradient|`` on these rows.

    Returns
    -------
    (dict, str)
        The page data (see ``report_assets/report.js`` for how it is read) and the packed maps.
    """
    X = check_inputs(X, net.n_in, net.dtype)
    Y = net._targets(y, X.shape[0])
    resolution, ledger_samples, ledger_snapshots = check_options(resolution, ledger_samples, ledger_snapshots)
    notes: list[str] = []
    if run is None:
        run = Run(snapshots=[(0, {k: p.copy() for k, p in net.parameters().items()})], info={})
        notes.append("This report was made from a saved model without a recorded run: it shows one snapshot, the "
                     "final network. Train with `glassnet train ... --report` to step through training.")
    if not run.snapshots:
        raise ConfigError("the run has no snapshots; record one with SnapshotRecorder as a fit callback")
    snapshots, tables = _snapshot_tables(net, run, max_param_bytes, notes)
    epochs = [e for e, _ in snapshots]
    params = [p for _, p in snapshots]
    losses = []
    for p in params:
        copy = _clone(net, p)
        copy._forward(X)
        losses.append(copy._loss_value(Y))
    total = run.info.get("epochs", epochs[-1])
    if run.info.get("curve_epochs_total", 0) > len(run.curves.get("epoch", [])):
        notes.append(f"The curves show {len(run.curves['epoch'])} of {run.info['curve_epochs_total']} epochs, evenly spaced.")

    if "standardize" in net.metadata:
        notes.append("The inputs are standardised with the training rows' mean and standard deviation, as in training; "
                     "the inputs on this page are in those units.")
    kind = labels_kind(Y)
    shown = thin(len(X), max_points)
    if len(shown) < len(X):
        notes.append(f"The plots show {len(shown)} of the {len(X)} samples, evenly spaced.")
    target = (Y.argmax(axis=1) if kind == "onehot" else Y[:, 0]).tolist()
    data: dict[str, Any] = {
        "meta": {"sizes": net.sizes, "activations": [_unit_kind(layer) for layer in net.layers],
                 "outputs": [_unit_outputs(layer) for layer in net.layers],
                 "layers": [_layer_info(layer) for layer in net.layers], "n_params": int(net.num_parameters()),
                 "loss": net.loss_fn.name, "l2": net.l2, "dtype": net.dtype.name, "data": data_name,
                 "n_samples": int(len(X)), "optimizer": run.info.get("optimizer"), "epochs": total,
                 "batch_size": run.info.get("batch_size"), "stopped": run.info.get("stopped"),
                 "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "recorded": len(epochs) > 1},
        "curves": run.curves,
        "snapshots": {"epochs": epochs, "loss": losses, "params": tables},
        "points": {"X": X[shown].tolist(), "y": [target[i] for i in shown], "kind": kind or "regression"},
        "warnings": [w if isinstance(w, dict) else {"check": "", "message": str(w)}
                     for w in (warnings if warnings is not None else run.info.get("warnings", []))],
        "warnings_recorded": warnings is not None or "warnings" in run.info,
        "gradcheck": _gradcheck(net, X, Y),
        "breaks": [b.mark() for b in breaks or []],  # "when did it break?": marks on the loss curve (breaks.py)
        "layer_stats": _finite_or_none(layer_stats if layer_stats is not None
                                       else (net.metadata.get("history") or {}).get("layers")),
    }
    maps = ""
    if net.n_in == 2:
        data["grid"], maps = _maps(net, X, params, resolution, max_map_bytes, notes)
    else:
        data["grid"] = None
        notes.append(f"Decision-boundary and neuron maps need 2 input features; this data has {net.n_in}.")
    data["ledgers"] = _ledgers(net, X, Y, snapshots, run.info.get("optimizer"), ledger_samples, ledger_snapshots,
                               max_ledger_bytes, notes)
    data["predict"] = panel_data(net, X, Y, predict)  # predict, then check (viz/predict_panel.py)
    data["notes"] = notes
    return data, maps


def _snapshot_tables(net: Network, run: Run, max_bytes: int,
                     notes: list[str]) -> tuple[list[tuple[int, dict[str, NDArray[Any]]]], list[Any]]:
    """The snapshots the page shows and their weights and biases as lists; fewer if they would pass ``max_bytes``."""
    snapshots = run.snapshots
    tables = [[{name: _digits(p[f"{i}.{name}"]) for name in layer.params} for i, layer in enumerate(net.layers)]
              for _, p in snapshots]
    cost = len(_pack(json.dumps(tables, separators=(",", ":")).encode("utf-8")))
    recorded = [e for e, _ in snapshots]
    if len(recorded) > 1:
        notes.append(f"Parameters were recorded at {len(recorded)} of the {recorded[-1] + 1} epochs 0..{recorded[-1]} "
                     "(denser early, when the network changes most).")
    if cost > max_bytes:  # a wide network: show fewer snapshots rather than a huge file
        keep = thin(len(snapshots), max(2, len(snapshots) * max_bytes // cost)).tolist()
        notes.append(f"The page shows {len(keep)} of those {len(snapshots)} snapshots to bound the file size.")
        snapshots, tables = [snapshots[k] for k in keep], [tables[k] for k in keep]
    return snapshots, tables


def _maps(net: Network, X: NDArray[Any], params: list[dict[str, NDArray[Any]]], resolution: int, max_bytes: int,
          notes: list[str]) -> tuple[dict[str, Any], str]:
    """The grid description and the packed maps; lowers the resolution, then drops snapshots, to fit ``max_bytes``."""
    keep = list(range(len(params)))
    for res in [resolution] + [r for r in RESOLUTIONS if r < resolution]:
        bounds, grid = grid_points(X, res)
        raw, ranges = neuron_maps(net, params, grid)
        maps = _pack(raw)
        if len(maps) <= max_bytes:
            break
    if len(maps) > max_bytes:  # still too big at the lowest resolution: keep fewer snapshots' maps
        keep = thin(len(params), max(2, int(len(params) * max_bytes / len(maps)))).tolist()
        raw, ranges = neuron_maps(net, [params[k] for k in keep], grid)
        maps = _pack(raw)
        notes.append(f"Neuron maps were kept for {len(keep)} of the {len(params)} snapshots to bound the file size; "
                     "the others show the nearest one.")
    if res != resolution:
        notes.append(f"Maps are drawn at {res}x{res} points (asked for {resolution}x{resolution}) to bound the file size.")
    grid_info = {"resolution": res, "bounds": bounds, "ranges": ranges, "snapshots": keep,
                 "units": [[_unit_kind(layer), layer.n_out] for layer in net.layers]}
    return grid_info, maps


def _ledgers(net: Network, X: NDArray[Any], Y: NDArray[Any], snapshots: list[tuple[int, dict[str, NDArray[Any]]]],
             optimizer: dict[str, Any] | None, n_samples: int, n_snapshots: int, max_bytes: int,
             notes: list[str]) -> dict[str, Any] | None:
    """Ledgers for ``n_samples`` samples at up to ``n_snapshots`` snapshots, as many as fit ``max_bytes``."""
    samples = thin(len(X), n_samples).tolist()
    epochs, last = [e for e, _ in snapshots], len(snapshots) - 1

    def one(copy: Network, s: int) -> Any:
        try:
            return explain(copy, X[s:s + 1], Y[s:s + 1], optimizer=_fresh_optimizer(optimizer))
        except ShapeError:  # a layer that cannot train on one sample (BatchNorm1d): the step in evaluation mode
            if not any("evaluation mode" in note for note in notes):
                notes.append("The ledgers show steps in evaluation mode: a layer of this network (BatchNorm1d) "
                             "cannot run a training step on one sample.")
            return explain(copy, X[s:s + 1], Y[s:s + 1], optimizer=_fresh_optimizer(optimizer), training=False)

    def row(k: int) -> list[dict[str, Any]]:
        copy = _clone(net, snapshots[k][1])
        # The page has no use for LaTeX, and typesetting it is most of the time to_dict takes.
        return [ledger(one(copy, s).to_dict(latex=False)) for s in samples]

    try:
        final = row(last)
    except ConfigError as exc:  # explain refuses steps too large to read
        notes.append(f"No step ledger: {exc}")
        return None
    cost = len(_pack(json.dumps(final, separators=(",", ":")).encode("utf-8")))
    if cost > max_bytes and len(samples) > 1:  # a wide network: fewer samples, at the final snapshot only
        keep = max(1, len(samples) * max_bytes // cost)
        final, samples = final[:keep], samples[:keep]
        notes.append(f"Ledgers were kept for {keep} of {n_samples} samples to bound the file size.")
    fit = max(1, min(n_snapshots, max_bytes // max(cost * len(samples) // len(final), 1)))
    at = [last] if fit == 1 else thin(len(epochs), fit).tolist()
    if len(at) < min(n_snapshots, len(epochs)):
        notes.append(f"Ledgers were kept for {len(at)} snapshot(s) (asked for {n_snapshots}) to bound the file size.")
    if len(at) < len(epochs):
        notes.append(f"Ledgers (one training step, every number) were recorded for {len(samples)} sample(s) at "
                     f"{len(at)} of the {len(epochs)} snapshots (epochs {', '.join(str(epochs[k]) for k in at)}); other "
                     "epochs show the nearest recorded one.")
    traces = [final if k == last else row(k) for k in at]
    return {"samples": [{"index": s, "x": X[s].tolist(), "y": Y[s].tolist()} for s in samples],
            "snapshots": at, "traces": traces, "source": final[0]["source"]}


def _finite_or_none(record: Any) -> Any:
    """``history.layers`` for the page's JSON (which has no NaN or inf): each infinite ratio becomes ``None``."""
    if not record:
        return None
    clean = lambda values: [v if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]
    return {key: {k: clean(v) for k, v in value.items()} if isinstance(value, dict)
            else clean(value) if isinstance(value, list) else value for key, value in record.items()}


def _layer_stats_html(record: dict[str, Any] | None) -> str:
    """The page's "inside training" panel: :func:`glassnet.viz.plots.plot_layer_stats` as an inline SVG image (the
    page draws everything else itself; this one figure comes from matplotlib, when it is installed)."""
    if not record or not record.get("step"):
        return ("<p>Not recorded: each layer's gradient norm and update ratio are kept in the training history "
                "(<code>fit(monitor=True)</code>, the default; <code>glassnet train</code> saves them with the model).</p>")
    try:
        import matplotlib
    except ImportError:
        return '<p>Drawing this figure needs matplotlib: <code>pip install "glassnet[plot]"</code>.</p>'
    import io as bytes_io

    from glassnet.viz.plots import plot_layer_stats

    buffer = bytes_io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "glassnet"}):  # text as text, stable ids
        plot_layer_stats(record).savefig(buffer, format="svg")
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    steps = record["step"]
    return (f'<img alt="gradient norm and update ratio of each layer over {len(steps)} sampled steps" '
            f'src="data:image/svg+xml;base64,{image}" style="max-width:100%">'
            f"<figcaption>Sampled at {len(steps)} steps ({inside.sampling(record)}, up to step "
            f"{steps[-1]}). Left: each layer's gradient norm; a layer far below the last one learns far more slowly "
            "(vanishing gradients). Right: how far one step moved the layer's parameters relative to their size; "
            "about 1e-3 is healthy (shaded: 1e-4 to 1e-2). The numbers are in <code>history.layers</code>.</figcaption>")


def render_html(data: dict[str, Any], maps: str) -> str:
    """The page: the template with the CSS, the JavaScript and the data inlined."""
    assets = resources.files("glassnet.viz") / "report_assets"
    template = (assets / "report.html").read_text("utf-8")
    payload = _pack(json.dumps(data, allow_nan=False, separators=(",", ":")).encode("utf-8"))
    meta = data["meta"]
    title = f"glassnet report: {'-'.join(map(str, meta['sizes']))} network" + (f" on {meta['data']}" if meta["data"] else "")
    summary = (f"A {'-'.join(map(str, meta['sizes']))} network ({', '.join(meta['activations'])}; loss {meta['loss']}) "
               f"trained on {meta['data'] or 'the given data'} ({meta['n_samples']} samples). "
               f"Loss {data['snapshots']['loss'][0]:.6g} at epoch {data['snapshots']['epochs'][0]}, "
               f"{data['snapshots']['loss'][-1]:.6g} at epoch {data['snapshots']['epochs'][-1]}.")
    filled = {"TITLE": html.escape(title), "SUMMARY": html.escape(summary),
              "CSS": (assets / "report.css").read_text("utf-8"),
              "JS": (assets / "report.js").read_text("utf-8").replace("</", "<\\/"),
              "PAYLOAD": payload, "MAPS": maps, "LAYERS": _layer_stats_html(data.get("layer_stats")),
              "PREDICT": panel_html(data.get("predict"))}
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: filled[m[1]], template)


def write_report(path: str | os.PathLike[str], net: Network, X: Any, y: Any, run: Run | None = None,
                 **options: Any) -> int:
    """Write the report for ``net`` on ``(X, y)`` to ``path`` atomically; returns its size in bytes.

    ``options`` go to :func:`report_data` (``data_name``, ``warnings``, ``resolution``, ``ledger_samples``, ...).
    """
    from glassnet.errors import OutputFileError
    from glassnet.io import atomic_write

    page = render_html(*report_data(net, X, y, run, **options)).encode("utf-8")
    with atomic_write(path, "wb", OutputFileError) as handle:
        handle.write(page)
    return len(page)
