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
When *every* checked entry of a tensor crossed a kink (a pre-activation sitting exactly on it, e.g. a zero
input row with zero biases), nothing of that tensor was compared: it is checked instead at a nearby point
(inputs and parameters moved by a small random amount, said in the finding with its size), or, if no nearby
point helps, reported as ``unchecked``, which does not pass.

Next read: ``usercode.py`` and ``diagnose.py``, then ``doctor.py``: the same idea for code glassnet did not write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.core.checks import check_inputs
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError
from glassnet.verify.numeric import Differences, central_differences, plan
from glassnet.verify.report import Finding, Report

GOOD, ACCEPTABLE, SUSPECT = 1e-7, 1e-4, 1e-2
TINY = 1e-12
# Sizes, in multiples of eps, of the random moves tried when every entry of a tensor crossed a kink: the
# smallest clears the eps band around a kink for inputs of order 1, the largest still stays near the given point.
NUDGES = (1e2, 1e3, 1e4)


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
        (entries compared / entries of the tensor) and ``kinks`` (entries whose difference crossed a kink, left
        out) in its details; ``moved_by`` when the tensor had to be checked at a nearby point (see the module
        docstring), whose ``checked`` and errors are then those of the nearby point.
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"gradcheck needs a glassnet Network, got {type(net).__name__}; "
                                "for your own code use glassnet.doctor.check_gradients(loss_fn, params, grads)")
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ConfigError(f"eps must be a small positive number like 1e-5, got {eps!r}")
    twin = float64_copy(net)
    X64 = check_inputs(X, twin.n_in, np.float64)
    Y64 = twin._targets(y, X64.shape[0])
    entries = plan(twin.parameters(), _evaluator(twin, X64, Y64), sample, seed, max_seconds)
    analytic, numeric = _differences(twin, X64, Y64, eps, entries)
    report = Report(f"gradcheck of {net} on {X64.shape[0]} samples (eps={eps:g}, float64)",
                    columns=("max_abs_error", "rel_error", "checked", "kinks"))
    for name, diff in numeric.items():
        if len(diff.kinks) and diff.kinks.all():  # nothing of this tensor could be compared here
            report.findings.append(_check_nearby(twin, X64, Y64, name, diff, eps, seed))
        else:
            report.findings.append(_finding(name, twin, analytic[name].reshape(-1)[diff.indices], diff.values,
                                            diff.kinks, diff.indices, analytic[name].shape))
    if sample is not None:
        report.notes.append(f"sampled at most {sample} entries per tensor (seed {seed}); every tensor was checked")
    return report


def _evaluator(net: Network, X: np.ndarray, Y: np.ndarray) -> Callable[[], tuple[float, Any]]:
    """The loss at ``net``'s current parameters, with the sides of every kink its pre-activations are on.

    The signature (``sign(Z - kink)`` per layer whose activation has kinks) is what
    :func:`~glassnet.verify.numeric.central_differences` compares between ``+eps`` and ``-eps``.
    """
    kinked = [(layer, layer.activation.kinks) for layer in net.layers
              if layer.activation is not None and layer.activation.kinks]

    def evaluate() -> tuple[float, Any]:
        net._forward(X)
        signature = [np.sign(layer.cache["Z"] - k) for layer, kinks in kinked if "Z" in layer.cache for k in kinks]
        return net._loss_value(Y), signature or None

    return evaluate


def _differences(net: Network, X: np.ndarray, Y: np.ndarray, eps: float,
                 entries: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Differences]]:
    """Backprop's gradients of ``net`` at ``(X, Y)`` and central differences at the chosen ``entries``."""
    analytic = net.gradients(X, Y)
    return analytic, central_differences(net.parameters(), _evaluator(net, X, Y), eps, entries)


def _check_nearby(twin: Network, X: np.ndarray, Y: np.ndarray, name: str, given: Differences, eps: float,
                  seed: int) -> Finding:
    """Check tensor ``name``, every entry of which crossed a kink at the given point, at a nearby point.

    Every input and every parameter moves by a random amount between ``size / 2`` and ``size`` (either sign,
    seeded by ``seed``), with ``size`` growing through ``NUDGES`` (multiples of ``eps``) until some entry no
    longer crosses a kink. A pre-activation sitting exactly on a kink (a zero input row with zero biases, a
    bias set to the kink) then lies well outside the ``eps`` band around it. If no nudge helps, the tensor
    is reported as ``unchecked`` (not passed): nothing was compared, so nothing is vouched for.
    """
    layer = twin.layers[int(name.split(".")[0])]
    crossed = (f"{name} ({layer}): at the given point all {len(given.indices)} checked entries crossed the "
               f"{_kink(layer)}, so none of them could be compared there")
    rng = np.random.default_rng(seed)
    for size in (eps * factor for factor in NUDGES):
        moved = float64_copy(twin)
        for p in moved.parameters().values():
            p += _nudge(rng, p.shape, size)
        X_moved = X + _nudge(rng, X.shape, size)
        analytic, numeric = _differences(moved, X_moved, Y, eps, {name: given.indices})
        diff = numeric[name]
        if diff.kinks.all():
            continue
        found = _finding(name, moved, analytic[name].reshape(-1)[diff.indices], diff.values, diff.kinks,
                         diff.indices, analytic[name].shape)
        if found.ok:
            found.verdict = "kink"
        there = found.message.removeprefix(f"{name} ({layer})").lstrip(": ")
        found.message = (f"{crossed}; checked instead at a nearby point (every input and parameter moved by a random "
                         f"{size / 2:.1e} to {size:.1e}, seed {seed}): {there}")
        found.details.update(kinks=int(given.kinks.sum()), moved_by=size)
        return found
    largest = eps * NUDGES[-1]
    return Finding(name, "unchecked",
                   f"{crossed}, nor at nearby points (inputs and parameters moved by up to {largest:.1e}): {name} was "
                   "NOT checked. Check again at other inputs or parameters", False,
                   {"max_abs_error": float("nan"), "rel_error": float("nan"),
                    "checked": f"0/{given.indices.size}", "kinks": int(given.kinks.sum()), "moved_by": largest})


def _kink(layer: Any) -> str:
    """The kink(s) of ``layer``'s activation in words: ``"relu kink at 0"``."""
    activation = layer.activation  # only a layer with an activation that has kinks can cross one
    what = activation.name if activation is not None else type(layer).__name__
    at = ", ".join(f"{k:g}" for k in (activation.kinks if activation is not None else ()))
    return f"{what} kink at {at}"


def _nudge(rng: np.random.Generator, shape: tuple[int, ...], size: float) -> np.ndarray:
    """Random steps of magnitude in ``[size / 2, size]`` and random sign, of ``shape``."""
    return rng.uniform(size / 2, size, shape) * rng.choice((-1.0, 1.0), shape)


def _finding(name: str, net: Network, a: np.ndarray, n: np.ndarray, kinks: np.ndarray, indices: np.ndarray,
             shape: tuple[int, ...]) -> Finding:
    """The verdict on tensor ``name`` from its analytic (``a``) and numerical (``n``) gradient at flat ``indices``;
    entries that crossed a kink (``kinks``) are left out of the error. Some entry must be free of kinks."""
    layer = net.layers[int(name.split(".")[0])]
    clean = ~kinks
    err = np.abs(a - n)
    scale = max(float(np.abs(a[clean]).max(initial=0.0)), float(np.abs(n[clean]).max(initial=0.0)), TINY)
    max_abs = float(err[clean].max(initial=0.0))
    rel = max_abs / scale
    verdict, ok = verdict_for(rel)
    details: dict[str, Any] = {"max_abs_error": max_abs, "rel_error": rel,
                               "checked": f"{int(clean.sum())}/{int(np.prod(shape))}", "kinks": int(kinks.sum())}
    where = f"{name} ({layer})"
    if ok:
        message = f"{where} matches the numerical gradient"
        if kinks.any():
            kink_rel = float(err[kinks].max()) / scale
            if verdict_for(kink_rel)[0] != "ok" and verdict == "ok":
                verdict = "kink"
            message += (f"; {int(kinks.sum())} entr{'y' if kinks.sum() == 1 else 'ies'} crossed the {_kink(layer)} "
                        f"and {'is' if kinks.sum() == 1 else 'are'} left out "
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
