"""``explain(net, X, y, optimizer)``: one training step, every number of it, as a :class:`Trace`.

The step is the engine's own: ``explain`` installs the recording hooks of ``hooks.py`` and runs the real
``Network._step`` (forward, loss, backward, ``optimizer.update``), or, without an optimizer, the real
forward, loss and backward. Unless ``apply=True`` it then puts back the parameters it found and updates
a deep copy of the optimizer, so neither the network's parameters nor the optimizer's state change.

Next read: ``ledger.py`` (records from the recorded arrays), then ``render.py`` and ``schema.py``.
Note: ``glassnet.explain`` (the attribute of the package) is this module's function :func:`explain`; import
the modules with ``from glassnet.explain.trace import Trace`` (``import glassnet.explain.trace as m`` would
look ``trace`` up on the function).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import check_bool
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer, get_optimizer
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.explain.hooks import StepRecord, recording
from glassnet.explain.ledger import Ledger, estimate_terms, parse_neurons
from glassnet.explain.netstate import NetState, one_row_batchnorm, step_data
from glassnet.explain.predict import (
    DEFAULT_NUDGES,
    H,
    Prediction,
    Probe,
    StepCheck,
    check_h,
    check_nudges,
    nudge,
)
from glassnet.explain.predict import step_check as check_the_step
from glassnet.explain.predict_records import loss_records, prediction_records, step_records
from glassnet.explain.records import Record
from glassnet.explain.weight_names import parse_weight, weights_of

Array = NDArray[np.floating]

MAX_TERMS = 200_000


class Trace:
    """The ledger of one training step: ordered :class:`~glassnet.explain.records.Record` objects plus the arrays.

    Attributes
    ----------
    records : list of Record
        In step order: forward, loss, backward, gradient, update (see ``ledger.py``).
    loss : float
        The loss before the update (with the L2 penalty), as ``net.step`` returns it.
    data_loss, penalty : float
        Its two parts (``penalty`` is 0 without L2).
    gradients : dict
        ``dLoss/dparam`` under ``net.gradients`` keys (``"0.W"``, ``"0.b"``, ...).
    updates : dict or None
        With an optimizer, the parameter values after the update (same keys); else None.
    params_before : dict
        The parameters the step started from.
    inputs, targets : ndarray
        ``X`` of shape ``(n_samples, n_in)`` and the targets as the loss saw them ``(n_samples, n_out)``.
    training : bool
        The mode the step ran in (``True``, as ``net.step`` and ``fit``; see :func:`explain`).
    frozen : list of str
        The frozen parameters (``net.frozen``): the update phase marks them instead of updating them.
    buffers_before, buffers_after : dict
        The layers' buffers (BatchNorm's running statistics, keyed like ``net.buffers()``) before and after the
        step's forward pass.
    layer_major : bool
        True when the forward and backward records go layer by layer (a BatchNorm in training mode needs every
        sample of a layer first), else sample by sample.
    predictions : list of Prediction
        Predict, then check (``explain(..., predict=...)``): for each weight asked for, the change of the loss its
        gradient predicts for each nudge beside the actual change (``predict.py``); records of phase ``"check"``.
    step_check : StepCheck or None
        With an optimizer (and ``check_step=True``): the change the gradients predict for the whole update beside
        the actual change of the loss; ``step_check.sentence()`` says it in words.
    """

    def __init__(self, net: Network, X: Array, Y: Array, step: StepRecord, records: list[Record],
                 params_before: dict[str, Array], gradients: dict[str, Array], optimizer: Optimizer | None,
                 applied: bool, digits: int, rows: list[int] | None = None,
                 params_after: dict[str, Array] | None = None, training: bool = True, frozen: Sequence[str] = (),
                 layer_major: bool = False, predictions: Sequence[Prediction] = (),
                 step_check: StepCheck | None = None) -> None:
        self.records = records
        self.predictions, self.step_check = list(predictions), step_check
        self.step = step
        self.inputs, self.targets = X, Y
        self.params_before, self.gradients = params_before, gradients
        self.data_loss = float(step.data_loss) if step.data_loss is not None else float("nan")
        self.penalty = float(step.penalty or 0.0)
        self.loss = self.data_loss + self.penalty
        self.updates = params_after if optimizer is not None else None
        self.optimizer = optimizer.config() if optimizer is not None else None
        self.applied = applied
        self.digits = digits
        self.training, self.frozen, self.layer_major = training, list(frozen), layer_major
        self.buffers_before = {f"{i}.{name}": b for i, rec in enumerate(step.layers) for name, b in rec.buffers_before.items()}
        self.buffers_after = {f"{i}.{name}": b for i, rec in enumerate(step.layers) for name, b in rec.buffers_after.items()}
        # Row numbers of the samples in the data they came from (for the CLI's --sample); default 0..n-1.
        self.rows = rows if rows is not None else list(range(X.shape[0]))
        self.network: dict[str, Any] = {
            "description": repr(net), "sizes": net.sizes, "loss": net.loss_fn.name, "l2": net.l2,
            "dtype": net.dtype.name,
            "layers": [{"index": i, "layer": i + 1, "type": type(layer).__name__, "n_in": layer.n_in,
                        "n_out": layer.n_out,
                        "activation": layer.activation.name if layer.activation is not None else None,
                        "params": [f"{i}.{name}" for name in layer.params],
                        **({"settings": _settings(layer)} if _settings(layer) else {})}
                       for i, layer in enumerate(net.layers)],
        }
        # Each layer's activation with its settings (LeakyReLU's slope), by layer number: the worksheet's grader
        # works a(z) out with the layer's own activation (not in the JSON trace: its schema has the names).
        self.activations: dict[int, dict[str, Any]] = {
            i + 1: layer.activation.config() for i, layer in enumerate(net.layers) if layer.activation is not None}

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def params_after(self) -> dict[str, Array]:
        """The parameter values after the step: the updates, or the unchanged parameters without an optimizer."""
        return self.updates if self.updates is not None else self.params_before

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def find(self, symbol: str, sample: int | None = None, kind: str | None = None) -> Record:
        """The record of ``symbol`` (e.g. ``"delta^(1)_2"``), for ``sample`` where it is per sample."""
        for r in self.records:
            if r.symbol == symbol and (sample is None or r.sample == sample) and (kind is None or r.kind == kind):
                return r
        raise KeyError(f"no record {symbol!r}" + (f" for sample {sample}" if sample is not None else ""))

    def where(self, phase: str | None = None, kind: str | None = None) -> list[Record]:
        """The records of one phase and/or kind, in order."""
        return [r for r in self.records if (phase is None or r.phase == phase) and (kind is None or r.kind == kind)]

    # ------------------------------------------------------------------ renderers
    def to_text(self, max_records: int | None = None) -> str:
        """A plain-text ledger for the terminal, one formula per line, grouped by phase and sample."""
        from glassnet.explain.render import to_text

        return to_text(self, max_records)

    def print(self, console: Any = None, max_records: int | None = None) -> None:
        """Print the ledger as rich tables (to ``console``, a ``rich.console.Console``, or the terminal)."""
        from glassnet.explain.render import print_rich

        print_rich(self, console, max_records)

    def to_markdown(self, max_records: int | None = None) -> str:
        """A Markdown document: one table per phase and sample, formulas in code spans."""
        from glassnet.explain.render import to_markdown

        return to_markdown(self, max_records)

    def to_latex(self, document: bool = False, max_records: int | None = None) -> str:
        """LaTeX: the body (to ``\\input``), or with ``document=True`` a whole file for plain ``pdflatex``."""
        from glassnet.explain.render import to_latex

        return to_latex(self, document, max_records)

    def to_dict(self, latex: bool = True) -> dict[str, Any]:
        """The trace as JSON-able data in the ``glassnet-trace`` schema, version 1 (see ``schema.py``).

        ``latex=False`` leaves out each record's ``latex_symbol`` and ``latex`` (for readers that have no use
        for them, like the HTML report: typesetting is most of the time this takes); every other field is the
        same, but the result no longer validates against the schema, where both are required.
        """
        from glassnet.explain.schema import trace_to_dict

        return trace_to_dict(self, latex)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string (strict JSON: NaN or inf are written as null)."""
        import json

        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def render(self, format: str) -> str:
        """Render as ``"text"``, ``"md"``/``"markdown"``, ``"tex"``/``"latex"`` (a whole document) or ``"json"``."""
        renderers = {"text": self.to_text, "txt": self.to_text, "md": self.to_markdown, "markdown": self.to_markdown,
                     "tex": lambda: self.to_latex(document=True), "latex": lambda: self.to_latex(document=True),
                     "json": self.to_json}
        if format not in renderers:
            from glassnet.errors import unknown_name

            raise unknown_name("format", format, ["text", "md", "tex", "json"])
        return renderers[format]()  # type: ignore[operator]

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        """Write the trace to ``path`` atomically, in ``format`` or the one its suffix names (.txt .md .tex .json)."""
        from glassnet.errors import OutputFileError
        from glassnet.io import atomic_write

        fmt = format or {".md": "md", ".tex": "tex", ".json": "json"}.get(Path(path).suffix.lower(), "text")
        text = self.render(fmt)
        with atomic_write(path, "w", OutputFileError) as handle:
            handle.write(text if text.endswith("\n") else text + "\n")

    def __repr__(self) -> str:
        opt = f", optimizer={self.optimizer['name']}" if self.optimizer else ""
        return f"Trace({self.network['description']}, {self.n_samples} sample(s), loss={self.loss:.6g}, {len(self)} records{opt})"


def _settings(layer: Any) -> dict[str, Any]:
    """A layer's own settings from its config (Dropout's ``p``, BatchNorm's ``eps`` and ``momentum``); sizes,
    name and activation are given elsewhere."""
    try:
        config = layer.config()
    except Exception:  # noqa: BLE001 - a layer of your own may have no config; it then has no settings to show
        return {}
    return {k: v for k, v in config.items() if k not in ("name", "n_in", "n_out", "n", "activation")
            and isinstance(v, (int, float, str, bool))}


def explain(net: Network, X: Any, y: Any, optimizer: Optimizer | str | None = None, lr: float = 0.1, *,
            apply: bool = False, neurons: Mapping[int, Sequence[int]] | None = None, digits: int = 6,
            max_terms: int = MAX_TERMS, rows: Sequence[int] | None = None, training: bool = True,
            predict: Any = None, nudges: Any = DEFAULT_NUDGES, check_step: bool = True, h: float = H) -> Trace:
    """Record one training step of ``net`` on ``(X, y)`` and explain every number of it.

    Parameters
    ----------
    net : Network
    X : array-like of shape (n_samples, n_in)
        One sample (a single row, or a 1-D array of the ``n_in`` inputs) or a batch.
    y : array-like
        The targets, as for :meth:`Network.fit`.
    optimizer : Optimizer or str, optional
        An optimizer's name (``"sgd"``, ``"adam"``, ``"rmsprop"``, ...) or an optimizer object (its state, e.g.
        momentum, is used); with one the trace includes the update, written by the optimizer's
        ``explain_update``. ``lr`` is the learning rate of an optimizer given by name.
    apply : bool
        If True (and with an optimizer), the step really happens: the parameters, the optimizer's state, the
        buffers (BatchNorm's running statistics) and ``net.rng`` (Dropout's masks) change exactly as ``net.step``
        would change them. If False (default), nothing about ``net`` or ``optimizer`` changes except the layers'
        caches and gradient buffers.
    neurons : dict, optional
        Compact mode for wide layers: ``{layer: [neuron, ...]}`` shows full detail only for those neurons
        (layer numbered as in the symbols, 1 = first layer, 0 = inputs; neurons 0-based as in the
        arrays); the other neurons of a listed layer are summed up in one line per group. The trace's
        ``gradients`` and ``updates`` are always complete.
    digits : int
        Significant digits of the numbers written in formulas (``value`` keeps every digit).
    max_terms : int
        Refuse (with advice) a trace that would write more numbers than this.
    rows : sequence of int, optional
        The row numbers of these samples in the data they came from, for the headings (default 0..n-1).
    training : bool
        The mode of the step: ``True`` (default) training mode, as ``net.step`` and ``fit`` run it (Dropout drops,
        BatchNorm1d normalises by the batch); ``False`` evaluation mode (Dropout passes everything on, BatchNorm1d
        uses its running statistics). The network's own mode is left as it was.
    predict : str, (str, tuple) or list of them, optional
        Predict, then check, for these weights (``"0.W[0,1]"``, ``("0.W", (0, 1))``, ``"w^(1)_{1,2}"``): the last
        phase, ``"check"``, gets for each nudge ``d`` the change ``dL/dw * d`` the gradient predicts, the loss with
        only that weight moved, the actual change, the gap and ``gap/d^2``, then ``L''`` by a central difference
        and the ratios of the gaps (see ``predict.py``). Off by default (a few forward passes per weight).
    nudges : float or sequence of float
        The nudges ``d`` tried on each weight of ``predict`` (default 0.1, 0.01, 0.001), all different.
    h : float
        The central difference's step for ``L''`` in the check (default 1e-4; a worksheet uses 1e-2, so that its
        10-digit given losses still show the curvature).
    check_step : bool
        With an optimizer, also predict, then check, the whole update (on by default: one more forward pass): the
        change ``sum_p dL/dp * (p_new - p)`` the gradients predict beside the loss after the update.

    Returns
    -------
    Trace
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"explain needs a glassnet Network, got {type(net).__name__}")
    X, Y = step_data(net, X, y)
    chosen = parse_neurons(neurons, net.sizes)
    terms = estimate_terms(net, X.shape[0], chosen)
    if terms > max_terms:
        raise ConfigError(
            f"explaining this step would write about {terms:,} numbers ({X.shape[0]} sample(s) through {net}); "
            f"that is more than anyone can read (max_terms={max_terms:,}). Explain one sample (X[:1], y[:1]), "
            "show chosen neurons only with neurons={1: [0, 1]}, or raise max_terms"
        )
    if not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ConfigError(f"digits must be an integer from 1 to 17, got {digits!r}")
    training = check_bool(training, "explain: training")
    check_step = check_bool(check_step, "explain: check_step")
    weights = [parse_weight(net, w) for w in weights_of(predict)]  # a weight that does not exist fails before the step
    nudge_values, h = check_nudges(nudges), check_h(h)
    if rows is not None and (len(rows) != X.shape[0] or not all(isinstance(r, (int, np.integer)) for r in rows)):
        raise ShapeError(f"rows must give one row number per sample: {X.shape[0]} sample(s), got {list(rows)!r:.80}")
    opt = None
    if optimizer is not None:
        opt = get_optimizer(optimizer, lr)
        if not apply:
            opt = copy.deepcopy(opt)  # the update record must not advance the caller's optimizer state
    params = net.parameters()
    start = NetState(net)  # what the step starts from; put back unless the step really happens
    before = start.params
    after: dict[str, Array] | None = None
    net.train(training)
    with recording(net, opt) as step:
        try:
            if opt is not None:
                net._step(X, Y, opt)  # the very code net.step and fit run
                after = {k: p.copy() for k, p in params.items()}
            else:
                net._forward(X)
                net._loss_value(Y)
                net._backward(Y)
            gradients = {k: g.copy() for k, g in net._grads().items()}
        except ShapeError as exc:
            better = one_row_batchnorm(exc, "explain", training, X.shape[0])  # BatchNorm1d and one row
            if better is not None:
                raise better from None
            raise
        finally:
            # the step did not happen: no running statistic moved, no mask was drawn
            start.restore(values=not apply or opt is None)
    ledger = Ledger(net, X, Y, step, before, gradients, opt, chosen, digits)
    records = ledger.build()
    # Predict, then check: the losses again, from the parameters, buffers and Dropout masks the step started from.
    probe = Probe(net, X, Y, training, start)  # a float32 network: a float64 copy
    checking = bool(weights) or (check_step and after is not None)
    loss = float(step.data_loss or 0.0) + float(step.penalty or 0.0)
    if checking and net.dtype != np.float64:
        loss = probe.loss()
    predictions = [nudge(probe, key, index, loss, float(gradients[key][index]), nudge_values, h)
                   for key, index in weights]
    checked = check_the_step(probe, loss, gradients, after) if check_step and after is not None else None
    records += loss_records(loss, digits, net.dtype != np.float64) if checking else []
    records += [r for p in predictions for r in prediction_records(p, digits)]
    records += step_records(checked, digits) if checked is not None else []
    return Trace(net, X, Y, step, records, before, gradients, opt, apply and opt is not None, digits,
                 list(rows) if rows is not None else None, after, training=training, frozen=net.frozen,
                 layer_major=ledger.layer_major, predictions=predictions, step_check=checked)
