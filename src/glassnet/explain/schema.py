"""The JSON form of a trace: schema ``"glassnet-trace"``, version 2, described by ``trace.schema.json``.

Top level (all keys always present)::

    schema        "glassnet-trace"            version       2
    glassnet      the glassnet version        conventions   {"symbols": text, "indices": text}
    network       {"description", "sizes", "loss", "l2", "dtype",
                   "layers": [{"index" (0-based, as in keys), "layer" (1-based, as in symbols), "type" (class),
                               "n_in", "n_out", "activation" (null if none), "params": ["0.W", "0.b"],
                               "settings" (only for a layer with some: Dropout's p, BatchNorm's eps, momentum)}]}
    optimizer     null or {"name": "sgd"|"adam"|"rmsprop"|..., "lr", ...settings}       applied   bool
    samples       number of samples           rows          their row numbers in the data
    inputs        [[x, ...], ...] (n_samples x n_in)
    targets       [[y, ...], ...] (n_samples x n_out, one-hot for class labels)
    loss, data_loss, penalty                   numbers
    params_before, gradients                   {"0.W": [[...]], "0.b": [...], ...} ("k.name" for any layer's own)
    params_after  null (no optimizer) or the same keys
    layers        per layer, the recorded arrays (n_samples x n_out each; z and delta are [] for a layer
                  that has neither, like one of your own):
                  [{"layer": 1, "z": [[...]], "a": [[...]], "delta": [[...]]}, ...]
    training      the mode the step ran in (true: training)     layer_major   records go layer by layer
    frozen        the frozen parameter keys                     buffers_before, buffers_after   {"1.running_mean": [...]}
    digits        significant digits of the numbers written in formulas
    phases        ["forward", "loss", "backward", "gradient", "update", "check"] (a trace written before "check"
                  was added, still version 2, lacks it: the phase only adds records, so the version stayed)
    records       [record, ...] in step order

A record::

    kind      input | z | a | target | loss | penalty | loss_total | loss_grad | dA | derivative | delta |
              dW | db | grad | state | update | summary | batch_mean | batch_var | running | x_hat | mask |
              dx_hat | batch_sum | frozen | nudged_loss | predicted_change | actual_change | gap | gap_per_d2 |
              second_derivative | gap_ratio
              (BatchNorm1d and Dropout, see ledger_layers.py: batch_mean/batch_var the batch's statistics, running
              the update of a running statistic, x_hat the normalised input, mask Dropout's 1 or 0, dx_hat dL/dxhat,
              batch_sum the two sums over the batch in BatchNorm's dx; frozen: a frozen parameter, not updated)
              (dA: dL/da a hidden layer received from the layer above, where that is not a Dense layer's sum or
              the layer is not Dense; grad: a gradient entry of a layer that is not Dense; state: an optimizer's
              state buffer, whatever the optimizer: m and v of Adam, the velocity of SGD, s and u of RMSprop)
              (phase "check", predict then check, see predict.py and predict_records.py: nudged_loss the loss with a
              weight nudged or after the whole update, predicted_change dL/dw * d, actual_change the change of L, gap
              their difference, gap_per_d2 gap / d^2, second_derivative L'' by a central difference, gap_ratio the
              ratio of the gaps of two nudges)
    phase     one of phases
    layer     int or null: as in symbols (0 = inputs, 1 = first layer = keys "0.*")
    neuron    int or null: 0-based unit index within the layer (the subscript minus 1; for a parameter entry
              its last index)
    indices   [int, ...]: 0-based array indices ([i, j] of W, [j] of b or of a unit)
    key       "0.W" etc. for gradient and update records, else null
    sample    int or null: 0-based index into inputs for per-sample records
    symbol    plain text symbol, e.g. "z^(1)_2"            latex_symbol   its LaTeX
    op        "=" or "<-" (an optimizer assignment)
    expression  the symbolic right-hand side ("" when none)
    formula   the whole plain-text formula with numbers      latex   the same in LaTeX math
    value     number, or null for a summary record (or a non-finite value)
    note      text, possibly ""

Next read: ``diagram.py``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.core.checks import check_bool
from glassnet.explain.records import PHASES, SYMBOLS_HELP, json_number

if TYPE_CHECKING:
    from glassnet.explain.trace import Trace

SCHEMA_NAME = "glassnet-trace"
SCHEMA_VERSION = 2  # 2: one "state" kind for every optimizer buffer (was velocity/adam_m/adam_v); any layer
INDICES_HELP = ('Keys "k.W" and "k.b" name the parameters of net.layers[k], which is layer k+1 in symbols; '
                '"k.W"[i][j] is w^(k+1)_{i+1,j+1}, "k.b"[j] is b^(k+1)_{j+1}. W has shape (n_in, n_out).')


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of version 2, shipped as ``glassnet/explain/trace.schema.json``."""
    text = resources.files("glassnet.explain").joinpath("trace.schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def _array(a: Any) -> Any:
    values = np.asarray(a, dtype=float)
    if np.isfinite(values).all():
        return values.tolist()
    out = values.astype(object)
    out[~np.isfinite(values)] = None  # strict JSON has no NaN or inf
    return out.tolist()


def trace_to_dict(trace: Trace, latex: bool = True) -> dict[str, Any]:
    """``trace`` as data in this schema; ``latex=False`` leaves out each record's ``latex_symbol`` and ``latex``
    (most of the time this takes; the result then no longer validates against ``trace.schema.json``)."""
    latex = check_bool(latex, "latex")
    from glassnet._version import __version__

    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "glassnet": __version__,
        "conventions": {"symbols": SYMBOLS_HELP, "indices": INDICES_HELP},
        "network": trace.network,
        "optimizer": trace.optimizer,
        "applied": trace.applied,
        "samples": trace.n_samples,
        "rows": list(trace.rows),
        "inputs": _array(trace.inputs),
        "targets": _array(trace.targets),
        "loss": json_number(trace.loss),
        "data_loss": json_number(trace.data_loss),
        "penalty": json_number(trace.penalty),
        "params_before": {k: _array(v) for k, v in trace.params_before.items()},
        "gradients": {k: _array(v) for k, v in trace.gradients.items()},
        "params_after": {k: _array(v) for k, v in trace.updates.items()} if trace.updates is not None else None,
        "layers": [{"layer": l, "z": _array(rec.Z), "a": _array(rec.A), "delta": _array(rec.dZ)}
                   for l, rec in enumerate(trace.step.layers, start=1)],
        "training": trace.training,
        "layer_major": trace.layer_major,
        "frozen": list(trace.frozen),
        "buffers_before": {k: _array(v) for k, v in trace.buffers_before.items()},
        "buffers_after": {k: _array(v) for k, v in trace.buffers_after.items()},
        "digits": trace.digits,
        "phases": list(PHASES),
        "records": [r.to_dict(latex) for r in trace.records],
    }
