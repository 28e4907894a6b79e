"""Pictures of training and of what a network computes, as matplotlib ``Figure`` objects.

* :func:`plot_history`          loss (and accuracy) per epoch, training and validation
* :func:`plot_decision_boundary` the input plane coloured by the network's prediction, the data on top
* :func:`plot_neurons`          one small map per hidden unit: what each unit computes over the input
                                plane (the TensorFlow Playground picture, on your own network and data)
* :func:`plot_confusion_matrix` counts of true vs predicted class, every cell labelled
* :func:`plot_lr_finder`        the learning-rate range test's loss per rate, its suggestion marked
* :func:`plot_layer_stats`      inside training: each layer's gradient norm and update-to-weight ratio over the
                                sampled steps (``history.layers``, ``glassnet/verify/inside.py``), in one figure

Each function builds a ``matplotlib.figure.Figure`` directly, never through ``pyplot``: no global state,
no window, and the user's chosen backend is left alone (saving renders with Agg). Show one in Jupyter
by leaving it as the cell's value; save it with :func:`save_figure` (``glassnet.explain.diagram``'s:
atomic, png/svg/pdf from the suffix) or ``fig.savefig``.

Next read: ``glassnet/interfaces/cli/plot.py`` (the ``glassnet plot`` command).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import as_matrix, check_bool, positive_int
from glassnet.core.network import Network
from glassnet.core.training import History
from glassnet.errors import ConfigError, DataError, GlassnetTypeError, ShapeError, require
from glassnet.explain.diagram import plain, save_figure  # one saver (atomic, format from the suffix), one escape

_figure_module: Any = require("matplotlib.figure", "plot", "glassnet plots")
Figure = _figure_module.Figure

CLASS_COLORS = "tab10"


def _history_dict(history: History | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(history, History):
        return history.to_dict()
    if isinstance(history, Mapping) and "loss" in history:
        return dict(history)
    if hasattr(history, "loss_curve_"):  # a fitted glassnet.sklearn estimator
        return {"loss": list(history.loss_curve_)}
    raise GlassnetTypeError(f"plot_history needs a History, its to_dict() or a fitted estimator; got {type(history).__name__}")


def plot_history(history: History | Mapping[str, Any], title: str | None = None) -> Any:
    """Loss per epoch (and accuracy, when recorded), training and validation, on one or two axes.

    ``history`` is a :class:`History`, ``History.to_dict()`` (as kept in ``net.metadata["history"]``) or
    a fitted ``glassnet.sklearn`` estimator (its ``loss_curve_``); an ``"epoch"`` list, when present, gives
    the epoch of each entry (thinned long histories).
    """
    h = _history_dict(history)
    if not h["loss"]:
        raise DataError("the history has no epochs to plot; train for at least one epoch")
    epochs = h.get("epoch") or list(range(1, len(h["loss"]) + 1))
    panels = [("loss", "Loss")] + ([("accuracy", "Accuracy")] if h.get("accuracy") else [])
    fig = Figure(figsize=(5.5 * len(panels), 4), layout="constrained")
    for k, (key, name) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.plot(epochs[:len(h[key])], h[key], label="training", color="C0")
        if h.get(f"val_{key}"):
            ax.plot(epochs[:len(h[f"val_{key}"])], h[f"val_{key}"], label="validation", color="C1")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if key == "loss" and min(h["loss"]) > 0 and max(h["loss"]) / min(h["loss"]) > 100:
            ax.set_yscale("log")  # losses that fall by orders of magnitude read better on a log scale
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(plain(title))
    return fig


def _plane(X: NDArray[np.float64], resolution: int, padding: float) -> tuple[NDArray[np.float64], ...]:
    """A ``resolution`` x ``resolution`` grid covering the data plus ``padding`` of its range on each side."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = padding * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.c_[gx.ravel(), gy.ravel()]


def _network(net: Any, what: str) -> Network:
    """``net`` itself, or the ``network_`` of a fitted glassnet scikit-learn estimator."""
    net = getattr(net, "network_", net)
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"{what} needs a glassnet Network (or a fitted GlassClassifier), got {type(net).__name__}")
    return net


def _two_inputs(net: Network, X: Any, what: str) -> NDArray[np.float64]:
    if net.n_in != 2:
        raise ShapeError(f"{what} draws the input plane, so the network needs 2 inputs; this one has {net.n_in}. "
                         "For more inputs use plot_history or plot_confusion_matrix")
    return as_matrix(X, "X", np.float64) if X is not None else np.array([[-1.0, -1.0], [1.0, 1.0]])


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not 2 <= resolution <= 2000:
        raise ConfigError(f"resolution must be an integer from 2 to 2000, got {resolution!r}")
    return int(resolution)


def _scatter(ax: Any, X: NDArray[np.float64], y: Any, size: float = 18) -> None:
    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=size, c="k", edgecolors="w", linewidths=0.5)
        return
    labels = np.asarray(y).reshape(len(X), -1)
    labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0]
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=CLASS_COLORS, vmin=0, vmax=9, s=size, edgecolors="k", linewidths=0.5)


def plot_decision_boundary(net: Network, X: Any, y: Any = None, resolution: int = 200, padding: float = 0.1,
                           title: str | None = None) -> Any:
    """The input plane coloured by the network's output, with the data ``(X, y)`` on top.

    One output of a binary classifier (``loss.targets == "binary"``, e.g. ``bce``): the probability of class 1,
    with the 0.5 contour drawn as the boundary and a colorbar. Several outputs (softmax): the predicted class.
    Other single outputs (regression): the output value, with its median contour.
    """
    net = _network(net, "plot_decision_boundary")
    X = _two_inputs(net, X, "plot_decision_boundary")
    resolution = _check_resolution(resolution)
    gx, gy, grid = _plane(X, resolution, padding)
    with net.evaluating():  # a picture of the trained network: no Dropout mask, BatchNorm's running statistics
        out = net.forward(grid)
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    if out.shape[1] > 1:
        classes = out.argmax(axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, classes, levels=np.arange(out.shape[1] + 1) - 0.5, cmap=CLASS_COLORS, vmin=0, vmax=9, alpha=0.35)
        ax.contour(gx, gy, classes, levels=np.arange(out.shape[1]) + 0.5, colors="k", linewidths=0.8)
    else:
        values = out[:, 0].reshape(gx.shape)
        binary = net.loss_fn.targets == "binary"  # the output is P(class 1)
        filled = ax.contourf(gx, gy, values, levels=np.linspace(0, 1, 21) if binary else 20, cmap="RdBu_r", alpha=0.6)
        fig.colorbar(filled, ax=ax, label="P(class 1)" if binary else "output")
        level = 0.5 if binary else float(np.median(values))
        if values.min() < level < values.max():
            ax.contour(gx, gy, values, levels=[level], colors="k", linewidths=1.2)
    _scatter(ax, X, y)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(plain(title or "Decision boundary"))
    return fig


def plot_neurons(net: Network, X: Any = None, y: Any = None, resolution: int = 60, padding: float = 0.1,
                 include_output: bool = True, max_units: int = 16) -> Any:
    """One small map per hidden unit (and per output unit): its activation over the input plane.

    Row ``i`` holds layer ``i``'s units (the first ``max_units`` of a wider layer); each map is titled
    ``"L{i} unit {j} (activation)"`` and shares its row's colour scale (one colorbar per row). ``X`` sets the
    plane's extent and, with ``y``, is drawn on top.
    """
    show_data = X is not None
    net = _network(net, "plot_neurons")
    X = _two_inputs(net, X, "plot_neurons")
    resolution = _check_resolution(resolution)
    gx, gy, grid = _plane(X, resolution, padding)
    with net.evaluating():  # as in plot_decision_boundary
        activations = net.layer_outputs(grid)
    rows = activations if include_output else activations[:-1]
    if not rows:
        raise ConfigError("the network has no hidden layer; use include_output=True to see its outputs")
    max_units = positive_int(max_units, "max_units")
    hidden = sum(max(0, a.shape[1] - max_units) for a in rows)
    rows = [a[:, :max_units] for a in rows]
    width = max(a.shape[1] for a in rows)
    fig = Figure(figsize=(1.9 * width + 1.2, 1.9 * len(rows)), layout="constrained")
    extent = (gx.min(), gx.max(), gy.min(), gy.max())
    for i, A in enumerate(rows):
        low, high = float(A.min()), float(A.max())
        axes_row = []
        for j in range(A.shape[1]):
            ax = fig.add_subplot(len(rows), width, i * width + j + 1)
            image = ax.imshow(A[:, j].reshape(gx.shape), origin="lower", extent=extent, aspect="auto",
                              cmap="RdBu_r", vmin=low, vmax=high if high > low else low + 1e-12)
            if show_data:
                _scatter(ax, X, y, size=4)
            kind = "output" if i == len(net.layers) - 1 else "unit"
            layer = net.layers[i]  # a layer of your own may have no activation: its class names the map
            what = layer.activation.name if layer.activation is not None else type(layer).__name__
            ax.set_title(plain(f"L{i} {kind} {j} ({what})"), fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            axes_row.append(ax)
        fig.colorbar(image, ax=axes_row, shrink=0.8)
    fig.suptitle("What each unit computes over the input plane"
                 + (f" (first {max_units} units of each layer; {hidden} not shown)" if hidden else ""))
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> NDArray[np.int64]:
    """``M[i, j]`` = number of rows of true class ``i`` predicted as ``j`` (class indices ``0..k-1``)."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ShapeError(f"y_true has {t.size} labels but y_pred has {p.size}")
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.dtype.kind not in "iub" and not (v.dtype.kind == "f" and np.all(v == np.round(v))):
            raise DataError(f"{name} must hold class indices 0..k-1; got values like {v[:3].tolist()}")
    t, p = t.astype(np.int64), p.astype(np.int64)
    if t.size and min(t.min(), p.min()) < 0:
        raise DataError("class indices must be >= 0")
    largest = int(max(t.max(initial=0), p.max(initial=0)))
    k = n_classes or largest + 1
    if largest >= k:
        raise DataError(f"class index {largest} is outside the {k} classes given (0..{k - 1})")
    M = np.zeros((k, k), dtype=np.int64)
    np.add.at(M, (t, p), 1)
    return M


def plot_confusion_matrix(y_true: Any, y_pred: Any, classes: Sequence[Any] | None = None, normalize: bool = False,
                          title: str | None = None) -> Any:
    """A heat map of :func:`confusion_matrix` with each cell's count (or row fraction) written in it."""
    normalize = check_bool(normalize, "normalize")
    M = confusion_matrix(y_true, y_pred, len(classes) if classes else None)
    shown = M / np.maximum(M.sum(axis=1, keepdims=True), 1) if normalize else M
    names = [str(c) for c in classes] if classes else [str(i) for i in range(len(M))]
    shown_names = [plain(name) for name in names]
    fig = Figure(figsize=(1.0 + 0.6 * len(M) + 1.5, 0.6 * len(M) + 2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "count")
    threshold = shown.max() / 2 if shown.max() else 1
    for i in range(len(M)):
        for j in range(len(M)):
            text = f"{shown[i, j]:.2f}" if normalize else str(M[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(len(M)), shown_names, rotation=45 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(range(len(M)), shown_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(plain(title or f"Confusion matrix (accuracy {np.trace(M) / max(M.sum(), 1):.3f})"))
    return fig


RATIO_BAND = (1e-4, 1e-2)  # shaded around Karpathy's rule of thumb, an update ratio of about 1e-3 per step


def plot_layer_stats(history: History | Mapping[str, Any], ax: Any = None) -> Any:
    """Inside training, in one figure: each layer's gradient norm (left) and update-to-weight ratio (right) over
    the sampled steps, both on log scales, one line per layer with parameters in each panel.

    ``history`` is a :class:`History` (its ``layers``), ``History.to_dict()`` (as kept in ``net.metadata["history"]``)
    or the ``layers`` record itself (``LayerStatsRecorder.result()``). The ratio panel shades 1e-4 to 1e-2 around
    the rule of thumb of about 1e-3 per step (dotted). ``ax``: a pair of matplotlib axes to draw into (the figure
    they belong to is returned); by default a new figure with two panels.
    """
    from glassnet.verify.inside import layer_keys

    record = history.layers if isinstance(history, History) else history
    if isinstance(record, Mapping) and "layers" in record and "grad_norm" not in record:
        record = record["layers"]
    if not isinstance(record, Mapping):
        raise GlassnetTypeError("plot_layer_stats needs a History, its to_dict() or history.layers; got "
                                f"{type(history).__name__}")
    keys = layer_keys(record)
    if not record.get("step") or not keys:
        raise DataError("the history holds no layer statistics: train with fit(monitor=True) (the default) or add "
                        "glassnet.verify.inside.LayerStatsRecorder() to fit's callbacks")
    if ax is None:
        fig = Figure(figsize=(11, 4), layout="constrained")
        axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
    else:
        if not isinstance(ax, (list, tuple, np.ndarray)) or len(ax) != 2:
            raise GlassnetTypeError(f"plot_layer_stats draws two panels: ax must be a pair of axes, got {type(ax).__name__}")
        axes = list(ax)
        fig = axes[0].figure
    steps = record["step"]
    for panel, (field, title) in zip(axes, (("grad_norm", "Gradient norm per layer"),
                                            ("update_ratio", "Update ratio ||Δp|| / ||p|| per layer"))):
        for k, key in enumerate(keys):
            # zeros, and inf (the step of a layer whose parameters were all 0), are gaps on a log scale
            values = np.asarray(record[field][key], dtype=np.float64)
            values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
            panel.plot(steps, values, color=f"C{k % 10}", label=f"layer {key}", linewidth=1.2)
        panel.set_yscale("log")
        panel.set_xlabel("step")
        panel.set_title(title)
        panel.grid(alpha=0.3, which="both")
    axes[1].axhspan(*RATIO_BAND, color="0.9", zorder=0, label="1e-4 .. 1e-2")
    axes[1].axhline(1e-3, color="0.4", linestyle=":", linewidth=1, label="about 1e-3 per step")
    axes[0].set_ylabel("||gradient||")
    axes[1].set_ylabel("ratio per step")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    return fig


def plot_lr_finder(result: Any, ax: Any = None, title: str | None = None) -> Any:
    """The learning-rate range test's curve: smoothed loss against the rate (log scale), the suggestion marked.

    ``result`` is what ``glassnet.lr_finder`` returns (``lrs``, ``losses``, ``suggestion``, ``rule``). Draws on
    ``ax`` (a matplotlib Axes) when given, else on a new Figure; returns the Figure.
    """
    lrs, losses = getattr(result, "lrs", None), getattr(result, "losses", None)
    if lrs is None or losses is None:
        raise GlassnetTypeError(f"plot_lr_finder needs the result of glassnet.lr_finder, got {type(result).__name__}")
    if len(lrs) < 2:
        raise DataError(f"the learning-rate test has {len(lrs)} point(s), too few to draw; lower start_lr or raise "
                        "diverge so that it runs longer")
    if ax is None:
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    ax.plot(lrs, losses, color="C0", label="smoothed loss")
    ax.set_xscale("log")
    suggestion = getattr(result, "suggestion", None)
    if suggestion is not None:
        # the loss drawn at the suggestion: the curve's value there (minimum/10 lies between measured rates)
        at = float(np.interp(np.log(suggestion), np.log(lrs), losses))
        ax.axvline(suggestion, color="C3", linestyle="--", linewidth=1)
        ax.plot([suggestion], [at], "o", color="C3", label=f"suggestion {suggestion:.3g}\n({plain(result.rule)})")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss (smoothed)")
    ax.set_title(plain(title) if title else "Learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_decision_boundary", "plot_history", "plot_layer_stats",
           "plot_lr_finder", "plot_neurons", "save_figure"]
