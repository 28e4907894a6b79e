"""``check_intermediates``: the exercise "backpropagate tensor by tensor", checked one tensor at a time.

A learner computes one backward pass through a dense stack by hand and hands over the tensors, e.g.
``{"dZ2": ..., "dW2": ..., "db2": ..., "dA1": ..., "dZ1": ..., "dW1": ..., "db1": ...}`` (``dlogits`` is the
``dZ`` of the last layer; forward ``Z{l}``, ``A{l}`` may be given too). Each is compared with the exact tensor
(:meth:`Stack.intermediates <glassnet.verify.stack.Stack.intermediates>`) in the learner's layout, in the
order backprop computes them, output layer first. Per tensor the verdict is:

* ``ok`` (float64 rounding), ``rounding`` (off by about the given dtype's epsilon times the tensor's condition,
  estimated by running the same pass in float32: ``cond = max(1, rel_error_float32 / eps_float32)``), ``close``
  (above that but below ``sqrt(eps)``: the same maths computed another way, e.g. an unfused derivative); all pass.
  A transposed tensor ``(n, k)`` for ``(k, n)`` and a kept dimension ``(n,)`` / ``(1, n)`` / ``(n, 1)`` pass with a note.
* ``inherited``: wrong, but computed rightly from the learner's own (wrong) input tensor: fix that one first.
* ``sign``, ``factor``, ``zero``, ``transposed`` (a square tensor), ``shape``, ``wrong``.

The first wrong tensor gets a note naming the line to look at. Next read: ``stack.py``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from glassnet.core.activations import get_activation
from glassnet.errors import ConfigError, ShapeError, unknown_name
from glassnet.verify.report import Finding, Report
from glassnet.verify.stack import ALIASES, HIDDEN, LOSSES, OUTPUT, Array, Stack, activate, candidates, slope

__all__ = ["build_stack", "check_intermediates"]

SLACK = 50.0  # a learner's rounding may exceed the float32 re-run's by this much and still count as rounding


def build_stack(params: dict[str, Any], X: Any, y: Any, activations: list[str], loss: str = "squared_error",
                scale: float | None = None) -> Stack:
    """The stack of ``params`` on ``X``, ``y`` with the activations (one per layer) and loss given; no cost calls.

    Weights, biases and layout are read off the shapes as in :func:`~glassnet.verify.stack.infer_stack` (row layout
    ``Z = A @ W + b`` first when both fit). ``scale`` (cost = ``scale * sum of per-entry losses``) defaults to ``1 / N``.
    """
    loss = ALIASES.get(str(loss).lower(), str(loss).lower())
    if loss not in LOSSES:
        raise unknown_name("loss", loss, list(LOSSES) + list(ALIASES))
    for i, f in enumerate(activations):
        if f not in (OUTPUT if i == len(activations) - 1 else HIDDEN):
            raise unknown_name("activation", f, OUTPUT if i == len(activations) - 1 else HIDDEN)
    theta = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    stack = next((group[0] for group in candidates(theta, {"X": X, "y": y}, list(activations), (loss,)) if group), None)
    if stack is None:
        raise ShapeError(f"the parameters {({k: v.shape for k, v in theta.items()})} do not form a dense stack of "
                         f"{len(activations)} layers on X of shape {np.shape(X)} with y of shape {np.shape(y)}")
    stack.scale = float(scale) if scale is not None else 1.0 / stack.n_samples
    return stack


def _order(stack: Stack) -> list[str]:
    """Tensor names in the order they are computed: forward ``Z1, A1, ...``, then backward, output layer first."""
    L = len(stack.layers)
    names = [f"{k}{l}" for l in range(1, L + 1) for k in ("Z", "A")]
    for l in range(L, 0, -1):
        names += [f"dA{l}", f"dZ{l}", f"dW{l}"] + ([f"db{l}"] if stack.layers[l - 1].bias else [])
    return names


def _source(stack: Stack, key: str) -> tuple[str | None, str]:
    """The tensor ``key`` is computed from (None: from the data alone), and the line that does it in words."""
    kind, l = re.fullmatch(r"(d?[ZAWb])(\d+)", key).groups()  # type: ignore[union-attr]
    n, L = int(l), len(stack.layers)
    layer, a_in = stack.layers[n - 1], f"A{n - 1}" if n > 1 else "X"
    if kind == "Z":
        bias = f" and {layer.bias}" if layer.bias else ""
        return (f"A{n - 1}" if n > 1 else None), f"Z{n} from {a_in}, {layer.weight}{bias}"
    if kind == "A":
        return f"Z{n}", f"A{n} = {layer.activation}(Z{n})"
    if kind == "dA" and n == L:
        return None, f"dA{n} from A{n} and {stack.y_name} (the derivative of the cost, times its scale)"
    if kind == "dA":
        return f"dZ{n + 1}", f"dA{n} from dZ{n + 1} and {stack.layers[n].weight}"
    if kind == "dZ":
        return f"dA{n}", f"dZ{n} from dA{n} (or from A{n} and {stack.y_name}) and the {layer.activation} derivative"
    if kind == "dW":
        return f"dZ{n}", f"dW{n} (the gradient of {layer.weight}) from {a_in} and dZ{n}"
    return f"dZ{n}", f"db{n} (the gradient of {layer.bias}) from dZ{n}, summed over the samples"


def _recompute(stack: Stack, theta: dict[str, Any], key: str, up: Array, Zs: list, As: list) -> Array:
    """Tensor ``key`` (row layout) computed rightly from the learner's input tensor ``up`` (row layout)."""
    kind, l = re.fullmatch(r"(d?[ZAWb])(\d+)", key).groups()  # type: ignore[union-attr]
    n = int(l)
    f = stack.layers[n - 1].activation
    if kind == "Z":
        return up @ stack.weight(theta, n) + stack.bias(theta, n)
    if kind == "A":
        return activate(f, up)
    if kind == "dA":
        return up @ stack.weight(theta, n + 1).T
    if kind == "dZ":
        return get_activation(f).backward(Zs[n], As[n], up) if f == "softmax" else up * slope(f, Zs[n], As[n])
    return As[n - 1].T @ up if kind == "dW" else up.sum(axis=0)


def _align(name: str, got: Array, want: Array) -> tuple[Array | None, str]:
    """``got`` in ``want``'s shape, and a note when it had to be transposed or reshaped (None: shapes do not fit)."""
    if got.shape == want.shape:
        return got, ""
    if got.ndim == 2 and want.ndim == 2 and got.T.shape == want.shape:
        return got.T, f" (given transposed, {got.shape} for {want.shape}: fine if the whole pass uses that layout)"
    if got.size == want.size and [s for s in got.shape if s != 1] == [s for s in want.shape if s != 1]:
        return got.reshape(want.shape), f" (given as {got.shape} for {want.shape}: a kept dimension, same numbers)"
    return None, ""


def _rel(got: Array, want: Array) -> float:
    return float(np.abs(got - want).max(initial=0.0)) / max(float(np.abs(want).max(initial=0.0)), 1e-300)


def _factor_words(c: float, N: int) -> str:
    readings = {float(N): f"summed over the {N} samples where the cost averages (or a missing / {N})",
                1.0 / N: f"divided by {N} where the cost sums", 2.0: "a factor 2 too many (a 1/2 in the cost, or a 2 twice)",
                0.5: "missing the 2 of d(a - y)**2 / da = 2 (a - y)"}
    return next((text for v, text in readings.items() if abs(c - v) <= 1e-3 * abs(v)), "a constant factor")


def _verdict(name: str, got: Array, want: Array, tol: float, N: int,
             own: tuple[str, Array] | None) -> tuple[str, str, dict[str, Any]]:
    """Verdict, message, details for a wrong tensor ``got`` (aligned) against ``want``; ``own``: the learner's wrong input
    and ``got`` computed rightly from it."""
    if np.all(got == 0):
        return "zero", f"`{name}` is all zeros (the right one is not): never computed or never accumulated", {}
    if _rel(got, -want) <= tol:
        return "sign", f"`{name}` has its sign flipped: a (y - a) where (a - y) belongs, or a minus too many", {"factor": -1.0}
    ww = float(np.vdot(want, want))
    c = float(np.vdot(got, want)) / ww if ww else 0.0
    if c and _rel(got, c * want) <= tol:
        return "factor", f"`{name}` is {c:.4g} x the right tensor: {_factor_words(c, N)}", {"factor": c}
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _rel(got.T, want) <= tol:
        return "transposed", f"`{name}` is the transpose of the right tensor (square, so the shape fits)", {}
    if own is not None and _rel(got, own[1]) <= tol:
        return "inherited", f"`{name}` is wrong only because {own[0]} is: computed from your {own[0]} it is right", {}
    return "wrong", f"`{name}` differs from the right tensor (relative error {_rel(got, want):.3g})", {}


def check_intermediates(given: dict[str, Any], stack: Stack | None = None, theta: dict[str, Any] | None = None, *,
                        params: dict[str, Any] | None = None, X: Any = None, y: Any = None,
                        activations: list[str] | None = None, loss: str = "squared_error",
                        scale: float | None = None) -> Report:
    """Check a learner's backprop tensors one by one, in backprop order, and name the first wrong one.

    Parameters
    ----------
    given : dict of name -> array
        ``Z{l}``, ``A{l}``, ``dA{l}``, ``dZ{l}``, ``dW{l}``, ``db{l}`` (1-based ``l``, any case) and ``dlogits``
        (``dZ`` of the last layer), in the learner's layout; ``dW{l}``, ``db{l}`` shaped like the parameters.
    stack, theta : Stack and dict of name -> array
        The network (from :func:`~glassnet.verify.stack.infer_stack`) and the parameter values of the pass.
    params, X, y, activations, loss, scale
        Instead of ``stack`` and ``theta``: the parameters, data, one activation per layer, the loss
        (``squared_error``, ``binary_cross_entropy``, ``categorical_cross_entropy``) and the cost's scale
        (cost = ``scale * sum of per-entry losses``; default ``1 / N``); see :func:`build_stack`.

    Returns
    -------
    Report
        One finding per given tensor (``verdict`` as in the module docstring), notes on the first wrong one.
    """
    if stack is None:
        if params is None or X is None or y is None or activations is None:
            raise ConfigError("check_intermediates needs a stack and theta, or params, X, y and activations")
        stack, theta = build_stack(params, X, y, activations, loss, scale), params
    elif theta is None:
        raise ConfigError("check_intermediates got a stack but no theta: pass the parameter values of the pass")
    order, L = _order(stack), len(stack.layers)
    lookup = {k.lower(): k for k in order} | {"dlogits": f"dZ{L}"}
    unknown = [k for k in given if k.lower() not in lookup]
    if unknown:
        raise unknown_name("intermediate tensor", unknown[0], list(lookup.values()) + ["dlogits"])
    keys = sorted(given, key=lambda k: order.index(lookup[k.lower()]))
    exact, single = stack.intermediates(theta), stack.intermediates(theta, dtype=np.float32)
    Zs, As = stack.forward(theta)
    report = Report("check_intermediates: your tensors vs the exact ones, in backprop order",
                    columns=("rel_error", "tolerance", "factor"))
    status: dict[str, bool] = {}
    shown: dict[str, str] = {}  # canonical key -> the learner's name for it
    root: dict[str, str] = {}  # a wrong tensor -> the wrong tensor its error comes from (itself unless inherited)
    aligned_given: dict[str, Array] = {}
    for name in keys:
        key, got = lookup[name.lower()], np.asarray(given[name])
        want = exact[key]
        eps = float(np.finfo(got.dtype).eps) if got.dtype.kind == "f" else float(np.finfo(np.float64).eps)
        cond = max(1.0, _rel(single[key].astype(np.float64), want) / float(np.finfo(np.float32).eps))
        tol, tol64 = SLACK * eps * cond, SLACK * float(np.finfo(np.float64).eps) * cond
        aligned, note = _align(name, got.astype(np.float64), want)
        details: dict[str, Any] = {"rel_error": None, "tolerance": tol, "factor": None, "condition": cond}
        if aligned is None:
            finding = Finding(name, "shape", f"`{name}` has shape {got.shape}; it should be {want.shape} "
                              f"(the layout of your {stack.layout} data)", False, details)
        elif not np.all(np.isfinite(aligned)):
            finding = Finding(name, "wrong", f"`{name}` contains NaN or inf", False, details)
        else:
            rel = details["rel_error"] = _rel(aligned, want)
            up, _ = _source(stack, key)
            own: tuple[str, Array] | None = None
            if up is not None and up in aligned_given and not status.get(up, True):
                own = shown[up], stack.to_script(key, _recompute(stack, theta, key, stack.from_script(up, aligned_given[up]),
                                                                  Zs, As))
            if rel <= tol64:
                finding = Finding(name, "ok", f"`{name}` is right{note}", True, details)
            elif rel <= tol:
                finding = Finding(name, "rounding", f"`{name}` is right to rounding: relative error {rel:.2g}, at the level of "
                                  f"{got.dtype}'s epsilon {eps:.2g} x condition ~{cond:.3g}{note}", True, details)
            elif rel <= np.sqrt(eps):
                finding = Finding(name, "close", f"`{name}` agrees to {rel:.2g}: above rounding ({tol:.2g}) but far below any "
                                  "formula error, so an equivalent formula computed another way (an unfused derivative, a "
                                  f"clipped log){note}", True, details)
            else:
                verdict, message, extra = _verdict(name, aligned, want, max(tol, 1e-9), stack.n_samples, own)
                details |= extra
                finding = Finding(name, verdict, message + note, False, details)
            aligned_given[key], shown[key] = aligned, name
        status[key] = finding.ok
        if not finding.ok:
            root[key] = root.get(str(_source(stack, key)[0]), key) if finding.verdict == "inherited" else key
        report.findings.append(finding)
    first = next((f for f in report.findings if not f.ok), None)
    if first is not None:
        key = lookup[first.param.lower()]
        before = [f.param for f in report.findings[: report.findings.index(first)]]
        up, line = _source(stack, key)
        where = f"the line that computes {line}"
        if up is not None and up not in status:
            where += f", or {up} (not given) is already wrong"
        since = f"Everything given before it ({', '.join(before)}) is right, so the" if before else "The"
        report.notes.append(f"the first wrong tensor is {first.param}: {first.message}. {since} error is in {where}")
        others = [f.param for f in report.failed() if f is not first and f.verdict != "inherited"]
        if others:
            report.notes.append(f"wrong on their own too (not because of an earlier tensor): {', '.join(others)}")
        for source in {root[k] for k in root if root[k] != k}:
            heirs = [shown.get(k, k) for k in root if root[k] == source and k != source]
            report.notes.append(f"{', '.join(heirs)} {'is' if len(heirs) == 1 else 'are'} wrong only because "
                                f"{shown.get(source, source)} is: fix {shown.get(source, source)} first")
    return report
