"""``gradcheck(net, X, y)``: compare a glassnet network's backprop with central differences.

The check runs on a float64 copy of the network (whatever its dtype), so it tests the *math* of
backward, not float32 round-off, and never touches the user's network. One row per parameter
tensor: every layer's ``W`` and ``b`` on its own row, because a bias is a tiny share of a flattened
parameter vector and its error would vanish in a global norm.

Relative error of a tensor: ``max|a - n| / max(max|a|, max|n|, tiny)`` (largest entry error over
the tensor's largest gradient entry), so an entry whose true gradient is ~0 cannot turn round-off
into a huge "relative" error. Thresholds, the usual ones: ``<= 1e-7`` ok, ``<= 1e-4`` acceptable
(typical near kinks), ``<= 1e-2`` suspect, above that wrong.

Kinks: an activation lists the inputs where it has no derivative in its class's ``kinks`` (ReLU and leaky
ReLU: 0). An entry whose ``+eps`` and ``-eps`` evaluations put some pre-activation ``Z`` of such a layer on
different sides of a kink is reported as a kink crossing and left out of the error, not counted as a bug.

Next read: ``usercode.py`` and ``diagnose.py``, then ``doctor.py``: the same idea for code glassnet did not write.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from glassnet.core.checks import check_inputs
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError
from glassnet.verify.numeric import central_differences, plan
from glassnet.verify.report import Finding, Report

GOOD, ACCEPTABLE, SUSPECT = 1e-7, 1e-4, 1e-2
TINY = 1e-12


def float64_copy(net: Network) -> Network:
    """A deep copy of ``net`` computing in float64 (keeps any patched method, e.g. in tests)."""
    twin = copy.deepcopy(net)
    twin.dtype = np.dtype(np.float64)
    for layer in twin.layers:
        layer.params = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in layer.params.items()}
        layer.grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
        layer.cache = {}
    return twin


def verdict_for(rel: float) -> tuple[str, bool]:
    """The verdict code and whether it passes, for a relative error."""
    if rel <= GOOD:
        return "ok", True
    if rel <= ACCEPTABLE:
        return "acceptable", True
    if rel <= SUSPECT:
        return "suspect", False
    return "wrong", False


def gradcheck(net: Network, X: Any, y: Any, eps: float = 1e-5, sample: int | None = None, seed: int = 0,
              max_seconds: float | None = 60.0) -> Report:
    """Check ``net``'s analytic gradients on ``(X, y)`` against central differences, tensor by tensor.

    Parameters
    ----------
    net : Network
        Any glassnet network; it is copied to float64 and left unchanged.
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
    eps : float
        Finite-difference step.
    sample : int, optional
        Check only this many randomly chosen entries per tensor (seeded by ``seed``); every tensor is still
        checked. ``None`` checks every entry.
    max_seconds : float, optional
        Refuse (with a time estimate and the ``sample=`` to use) a check expected to take longer.

    Returns
    -------
    Report
        One finding per tensor (``"0.W"``, ``"0.b"``, ...) with ``max_abs_error``, ``rel_error``, ``checked``
        and ``kinks`` (entries whose difference crossed a kink) in its details.
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"gradcheck needs a glassnet Network, got {type(net).__name__}; "
                                "for your own code use glassnet.doctor.check_gradients(loss_fn, params, grads)")
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ConfigError(f"eps must be a small positive number like 1e-5, got {eps!r}")
    twin = float64_copy(net)
    X64 = check_inputs(X, twin.n_in, np.float64)
    Y64 = twin._targets(y, X64.shape[0])
    analytic = twin.gradients(X64, Y64)
    params = twin.parameters()
    kinked = [(layer, layer.activation.kinks) for layer in twin.layers
              if layer.activation is not None and layer.activation.kinks]

    def evaluate() -> tuple[float, Any]:
        twin._forward(X64)
        signature = [np.sign(layer.cache["Z"] - k) for layer, kinks in kinked if "Z" in layer.cache for k in kinks]
        return twin._loss_value(Y64), signature or None

    entries = plan(params, evaluate, sample, seed, max_seconds)
    numeric = central_differences(params, evaluate, eps, entries)
    report = Report(f"gradcheck of {net} on {X64.shape[0]} samples (eps={eps:g}, float64)",
                    columns=("max_abs_error", "rel_error", "checked", "kinks"))
    for name, diff in numeric.items():
        report.findings.append(_finding(name, twin, analytic[name].reshape(-1)[diff.indices], diff.values, diff.kinks,
                                        diff.indices, analytic[name].shape, params[name].size))
    if sample is not None:
        report.notes.append(f"sampled at most {sample} entries per tensor (seed {seed}); every tensor was checked")
    return report


def _finding(name: str, net: Network, a: np.ndarray, n: np.ndarray, kinks: np.ndarray, indices: np.ndarray,
             shape: tuple[int, ...], size: int) -> Finding:
    layer = net.layers[int(name.split(".")[0])]
    clean = ~kinks
    err = np.abs(a - n)
    scale = max(float(np.abs(a[clean]).max(initial=0.0)), float(np.abs(n[clean]).max(initial=0.0)), TINY)
    if not clean.any():  # every entry crossed a kink: measure their errors against the whole tensor instead
        scale = max(float(np.abs(a).max()), float(np.abs(n).max()), TINY)
    max_abs = float(err[clean].max(initial=0.0))
    rel = max_abs / scale
    verdict, ok = verdict_for(rel)
    details: dict[str, Any] = {"max_abs_error": max_abs, "rel_error": rel, "checked": f"{len(indices)}/{size}",
                               "kinks": int(kinks.sum())}
    where = f"{name} ({layer})"
    if ok:
        message = f"{where} matches the numerical gradient" if clean.any() else (
            f"{where}: every checked entry crossed a kink, so nothing could be compared away from it (a pre-activation "
            "is exactly at the kink, e.g. a zero input row with zero biases); check again at other inputs or parameters")
        if kinks.any():
            kink_rel = float(err[kinks].max()) / scale
            if verdict_for(kink_rel)[0] != "ok" and verdict == "ok":
                verdict = "kink"
            activation = layer.activation  # only a layer with an activation that has kinks can cross one
            what = activation.name if activation is not None else type(layer).__name__
            at = ", ".join(f"{k:g}" for k in (activation.kinks if activation is not None else ()))
            message += (f"; {int(kinks.sum())} entr{'y' if kinks.sum() == 1 else 'ies'} crossed the {what} kink at "
                        f"{at} and {'is' if kinks.sum() == 1 else 'are'} left out "
                        f"(error there {kink_rel:.1e}, expected: the derivative jumps)")
    else:
        worst = int(np.argmax(np.where(clean, err, -1.0)))
        entry = tuple(int(i) for i in np.unravel_index(int(indices[worst]), shape))
        message = (f"{where}: backprop disagrees with central differences (relative error {rel:.1e}); worst at entry "
                   f"{entry}: analytic {a[worst]:.6g}, numerical {n[worst]:.6g}. Check {type(layer).__name__}.backward "
                   f"(the activation derivative, or each parameter's gradient: for Dense dW = X.T @ dZ, "
                   f"db = dZ.sum(axis=0))")
        details["worst_entry"] = list(entry)
    return Finding(name, verdict, message, ok, details)
