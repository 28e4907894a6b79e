"""``glassnet.doctor``: checks backprop code glassnet did not write, and says what is wrong in words.

* :func:`check_gradients` compares the user's gradients with central differences of the user's loss,
  one finding per parameter (see ``diagnose.py`` for the patterns), and also notices a gradient function
  that changes the parameters it was given, or that returns something else when called twice.
* :func:`check_step` runs one training step and infers each parameter's effective learning rate from how
  far it moved along the numerical gradient: uphill, still, or out of line with the others.
* :func:`check_script` does both for a ``FILE.py`` in the earlier form, defining ``params()``,
  ``loss(params)``, ``gradients(params)`` and/or ``step(params)`` and optionally ``lr``.
* :func:`check_intermediates` (``intermediates.py``) checks a learner's ``dZ2``, ``dA1``, ... one by one;
  :func:`watch` (``notebook.py``) diagnoses the training loop in a ``with`` block without running it.

A training script as the learner wrote it (what ``glassnet doctor FILE.py`` runs, any form) is read by
``script/``, which uses the same reports and patterns. The user's arrays are never changed: every call gets
fresh float64 copies.

Next read: ``script/`` (the doctor for a script as written).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.errors import ConfigError, ShapeError
from glassnet.verify import diagnose as dx
from glassnet.verify.intermediates import check_intermediates
from glassnet.verify.notebook import watch
from glassnet.verify.numeric import central_differences, plan
from glassnet.verify.report import Finding, Report
from glassnet.verify.usercode import Params, as_named, call, load_script, loss_value, match_names

__all__ = ["check_gradients", "check_intermediates", "check_script", "check_step", "watch"]

RATE_TOL = 0.15  # a parameter whose effective rate is within 15% of lr counts as in line (rows shift the rest)


def _numerical(loss_fn: Callable[[Any], Any], params: Params, eps: float, sample: int | None, seed: int,
               max_seconds: float | None) -> dict[str, Any]:
    """Central differences of the user's loss at ``params`` (restored afterwards)."""
    work = params.copy()
    loss_value(loss_fn, work)  # a broken loss is reported before anything else
    evaluate = lambda: (loss_value(loss_fn, work, " at a parameter moved by eps"), None)
    entries = plan(work.arrays, evaluate, sample, seed, max_seconds)
    return central_differences(work.arrays, evaluate, eps, entries)


def _user_grads(grads: Any, params: Params) -> tuple[Params, dict[str, float], Params | None]:
    """The user's gradients, how far a gradient function moved each parameter it changed, a second call's result."""
    if not callable(grads):
        result = as_named(grads, "gradients", convert_note=False)
        match_names(result, params, "the gradients")
        return result, {}, None
    results: list[Params] = []
    changed: dict[str, float] = {}
    for _ in range(2):  # twice, each on fresh copies: a different second answer means hidden state
        work = params.copy()
        given = work.user()
        out = call(grads, "gradient function", given)
        if out is None:
            raise ConfigError("your gradient function returned None; it must return the gradients "
                              "(a dict name -> array like the parameters)")
        result = as_named(out, "gradients", convert_note=False)
        match_names(result, params, "the gradients your function returned")
        results.append(result)
        # a dict or list may have had entries rebound (`params["b"] = b + delta`), an array only changed in place
        after = work.arrays if params.kind == "array" else as_named(given, "params", convert_note=False).arrays
        changed = changed or {k: float(np.abs(after[k] - p).max()) for k, p in params.arrays.items()
                              if not np.array_equal(after[k], p)}
    return results[0], changed, results[1]


def check_gradients(loss_fn: Callable[[Any], Any], params: Any, grads: Any, eps: float = 1e-5,
                    sample: int | None = None, seed: int = 0, max_seconds: float | None = 60.0,
                    n_samples: int | None = None) -> Report:
    """Check the user's gradients of ``loss_fn`` at ``params``, with a diagnosis in words per parameter.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``; receives the parameters in the structure given.
    params : dict of name -> array, an array, or a list of arrays
        Where to check. Never modified. Integer arrays are converted to float64 (with a note).
    grads : same structure as ``params``, or a callable ``grads(params)`` returning it
        The user's gradients. A callable is run twice on fresh copies: to catch code that changes the
        parameters while computing gradients, and code that keeps accumulating between calls.
    eps : float
        Central-difference step.
    sample, seed, max_seconds
        Check ``sample`` random entries per tensor; refuse a full check estimated to take over ``max_seconds``.
    n_samples : int, optional
        Rows in the user's data; lets a shared factor be named (``N`` = sum instead of mean, ``N/2``, ...).

    Returns
    -------
    Report
        ``findings``: one per parameter, ``verdict`` in ``ok``, ``scaled``, ``sign``, ``zero``, ``transposed``,
        ``partial``, ``shape``, ``mutated``, ``stale``, ``symmetric``, ``wrong``.
    """
    P = as_named(params)
    numeric = _numerical(loss_fn, P, eps, sample, seed, max_seconds)
    G, changed, again = _user_grads(grads, P)
    full = all(len(d.indices) == P.arrays[k].size for k, d in numeric.items())
    same = {k: (G.arrays[k].reshape(-1)[d.indices], d.values) for k, d in numeric.items()
            if G.arrays[k].shape == P.arrays[k].shape}
    s = dx.shared_factor(same)
    report = Report("doctor: your gradients vs central differences of your loss", notes=list(P.notes),
                    columns=("rel_error", "factor"))
    if s != 1.0:
        report.notes.append(dx.explain_factor(s, n_samples))
    for name, d in numeric.items():
        finding = _gradient_finding(name, G.arrays[name], P.arrays[name], d, s, full, n_samples)
        if again is not None and not np.array_equal(again.arrays[name], G.arrays[name]):
            ratio = dx.fit_factor(again.arrays[name], G.arrays[name])
            how = f"{ratio:.3g} x the first" if ratio is not None else "different numbers"
            finding = Finding(name, "stale", f"a second call at the same parameters returned {how}: gradient "
                              "accumulators are not reset between calls (set them to zero at the start of every "
                              f"epoch), or the function is random. First call: {finding.message}", False, finding.details)
        if name in changed:
            finding = Finding(name, "mutated", f"your gradient code updated `{name}` while computing gradients (by up "
                              f"to {changed[name]:.3g}): a gradient function must only read the parameters; accumulate "
                              f"into a gradient and let the update subtract lr * gradient after the loop. Its "
                              f"gradient: {finding.message}", False, finding.details)
        report.findings.append(finding)
    wrong = [f.param for f in report.findings if not f.ok]
    if 0 < len(wrong) < len(report.findings) and len(report.findings) > 2:
        report.notes.append(f"wrong: {', '.join(wrong)}; the other parameters are right, so look at the code "
                            "that only these use")
    if changed and len(changed) < len(P.arrays):
        report.notes.append(f"{', '.join(changed)} changed during the gradient computation, so the other gradients "
                            "were computed at moving parameters; fix that first")
    if not full:
        report.notes.append(f"sampled at most {sample} entries per tensor (seed {seed}); every tensor was checked")
    return report


def _gradient_finding(name: str, a: np.ndarray, p: np.ndarray, d: Any, s: float, full: bool,
                      n_samples: int | None) -> Finding:
    """The finding for gradient ``a`` of parameter ``p``, against the numerical differences ``d`` times ``s``."""
    if a.shape != p.shape:
        return _shape_finding(name, a, p, d.full(p.shape) * s if full else None)
    av, nv = (a, d.full(p.shape)) if full else (a.reshape(-1)[d.indices], d.values)
    if not np.isfinite(av).all():
        return Finding(name, "wrong", f"`{name}`'s gradient contains NaN or inf", False)
    verdict, ok, message, details = dx.diagnose(name, av, nv, s, n_samples)
    sym = dx.symmetric(name, p, nv) if full and ok else None
    if sym:
        return Finding(name, "symmetric", sym, False, details)
    return Finding(name, verdict, message, ok, details)


def _shape_finding(name: str, a: np.ndarray, p: np.ndarray, n: np.ndarray | None) -> Finding:
    message = f"`{name}`'s gradient has shape {a.shape} but the parameter has shape {p.shape}"
    if a.ndim == 2 and a.T.shape == p.shape:
        if n is not None and dx.close(a.T, n):
            return Finding(name, "transposed", message + ": it is the transpose of the right gradient; for W of shape "
                           "(n_in, n_out) use dW = np.outer(x, delta) per row (X.T @ delta for a batch), not "
                           "np.outer(delta, x)", False)
        return Finding(name, "shape", message + " (transposed shape, and the values differ too)", False)
    if a.size == p.size and n is not None and dx.close(a.reshape(p.shape), n):
        return Finding(name, "shape", message + f": the numbers are right, reshape it to {p.shape}", False)
    return Finding(name, "shape", message + "; it must have the parameter's shape", False)


def check_step(step_fn: Callable[[Any], Any], params: Any, loss_fn: Callable[[Any], Any], lr: float | None = None,
               eps: float = 1e-5, sample: int | None = None, seed: int = 0, max_seconds: float | None = 60.0) -> Report:
    """Run the user's training step once and judge how each parameter moved against the numerical gradient.

    ``step_fn(params)`` may update the arrays in place or return the new parameters. For each parameter the
    effective learning rate ``r`` is fitted from ``new - old = -r * gradient``.

    Returns
    -------
    Report
        ``verdict`` per parameter: ``ok``, ``uphill`` (moved along +gradient), ``still`` (did not move although
        its gradient is not zero), ``rate`` (out of line with ``lr`` / the others), ``direction`` (not along
        the gradient), ``shape``.
    """
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ConfigError(f"lr must be a positive number (your learning rate), got {lr!r}")
    P = as_named(params)
    numeric = _numerical(loss_fn, P, eps, sample, seed, max_seconds)
    work = P.copy()
    given = work.user()
    out = call(step_fn, "step function", given)
    new = as_named(out if _same_kind(out, P) else given, "params", convert_note=False)
    match_names(new, P, "the parameters after your step")
    moves: dict[str, tuple[float, float]] = {}
    report = Report("doctor: one training step vs the numerical gradient", notes=list(P.notes),
                    columns=("rate", "cosine"))
    for name, d in numeric.items():
        if new.arrays[name].shape != P.arrays[name].shape:
            raise ShapeError(f"your step changed the shape of `{name}` from {P.arrays[name].shape} to "
                             f"{new.arrays[name].shape}; an update must keep each parameter's shape")
        delta = (new.arrays[name] - P.arrays[name]).reshape(-1)[d.indices]
        g = d.values
        gg, dd = float(np.dot(g, g)), float(np.linalg.norm(delta))
        if gg > dx.ZERO ** 2 and dd > 0:
            moves[name] = (-float(np.dot(delta, g)) / gg, -float(np.dot(delta, g)) / (dd * np.sqrt(gg)))
    aligned = [r for r, cos in moves.values() if cos > 0.99]
    # The reference rate: the learning rate the user says they use, else what most parameters do.
    ref = lr if lr is not None else float(np.median(aligned)) if aligned else None
    if lr is not None and aligned and abs(float(np.median(aligned)) / lr - 1) > RATE_TOL:
        m = float(np.median(aligned))
        report.notes.append(f"most parameters moved by -{m:.3g} x gradient, {m / lr:.3g} x lr = {lr:g}: the step uses "
                            f"{m / lr:.3g} x the gradient of your loss (a differently scaled loss, see check_gradients, "
                            f"or updates inside the row loop), so the effective learning rate is {m:.3g}")
    for name, d in numeric.items():
        report.findings.append(_step_finding(name, P, new, d.values, moves.get(name), ref, lr, moves))
    full = all(len(d.indices) == P.arrays[k].size for k, d in numeric.items())
    if full and any(not f.ok for f in report.findings):
        # Rates read off one step assume the loss is nearly straight along it; say so when it is not.
        predicted = sum(float(np.dot((new.arrays[k] - P.arrays[k]).ravel(), d.values)) for k, d in numeric.items())
        actual = loss_value(loss_fn, new) - loss_value(loss_fn, P)
        if abs(actual - predicted) > 0.5 * abs(predicted):
            report.notes.append(f"this step is large: the loss changed by {actual:.3g} where a straight line predicts "
                                f"{predicted:.3g}, so the rates above are rough; a smaller lr gives a cleaner reading")
    if all(f.verdict == "uphill" for f in report.findings):
        report.notes.append("every parameter moved uphill: the gradient's sign is flipped (a delta of target - output) "
                            "while the update subtracts it, or a true gradient is added")
    return report


def _same_kind(out: Any, params: Params) -> bool:
    """Whether a step's return value is the new parameters (else it updated them in place and returned, say, the cost)."""
    if params.kind == "dict":
        return isinstance(out, dict)
    if params.kind == "list":
        return isinstance(out, (list, tuple)) and len(out) == len(params.arrays)
    return isinstance(out, np.ndarray) and out.shape == params.arrays["params"].shape


def _step_finding(name: str, P: Params, new: Params, g: np.ndarray, move: tuple[float, float] | None,
                  ref: float | None, lr: float | None, moves: dict[str, tuple[float, float]]) -> Finding:
    changed = not np.array_equal(new.arrays[name], P.arrays[name])
    if move is None:
        if float(np.abs(g).max(initial=0.0)) <= dx.ZERO:
            if changed:
                return Finding(name, "direction", f"`{name}` moved although its gradient is zero", False)
            return Finding(name, "ok", f"`{name}` has no gradient here and did not move", True)
        return Finding(name, "still", f"`{name}` did not move although its gradient is not zero (largest "
                       f"{float(np.abs(g).max()):.3g}): its gradient is never accumulated, or never applied", False)
    rate, cos = move
    details = {"rate": rate, "cosine": cos}
    others = [k for k, (r, c) in moves.items() if k != name and c > 0.99 and r > 0]
    if cos < -0.5:
        text = f"`{name}` moved by {-rate:+.3g} x gradient (uphill: the loss rises along it)"
        typical = float(np.median([moves[k][0] for k in others])) if others else 0.0
        if others and lr is not None and abs(typical / lr - 1) > RATE_TOL:  # the others are off too: a broader fault
            text += (f" while the others moved at {typical / lr:.3g} x lr = {lr:g}: the parameters are probably updated "
                     "inside the row loop, before all rows are accumulated, so later rows see moved parameters")
        elif others:
            scale = typical / lr if lr else 1.0  # how much the gradient the step uses is scaled, from the others
            text += (f" while {', '.join(others[:4])}{' ...' if len(others) > 4 else ''} moved by {-typical:+.3g} x "
                     f"gradient: its gradient is added to the parameter, with learning rate {-rate / scale:.2g}, instead "
                     "of being accumulated and subtracted (e.g. `b += delta` inside the row loop instead of "
                     "`db += delta` there and `b -= lr * db` after it)")
        else:
            text += ": the step adds the gradient, or subtracts one whose sign is flipped"
        return Finding(name, "uphill", text, False, details)
    if cos < 0.99:
        return Finding(name, "direction", f"`{name}` moved in a direction that is not the gradient's (cosine {cos:.3f}, "
                       f"effective rate {rate:.3g}): updates applied before all rows are accumulated, or parameters "
                       "changed inside the row loop (per-row updates with a large learning rate do this too)", False,
                       details)
    if ref is not None and not (abs(rate / ref - 1) <= RATE_TOL):
        base = f"lr = {lr:g}" if lr is not None else f"the other parameters (-{ref:.3g} x gradient)"
        return Finding(name, "rate", f"`{name}` moved by -{rate:.3g} x gradient, {rate / ref:.3g} x {base}: the "
                       "gradient it uses is scaled (summed instead of averaged? see check_gradients), or it is updated "
                       "more often than once per step (inside the row loop?)", False, details)
    return Finding(name, "ok", f"`{name}` moved downhill by -{rate:.3g} x gradient", True, details)


def check_script(path: str, sample: int | None = None, max_seconds: float | None = 60.0) -> Report:
    """``glassnet doctor FILE.py``: :func:`check_gradients` and/or :func:`check_step` on the script's functions.

    Each finding's ``details["check"]`` says which check it comes from (``"gradients"`` or ``"step"``).
    """
    script = load_script(path)
    params = call(script.params, "params()")
    reports = []
    if script.gradients is not None:
        reports.append(("gradients", check_gradients(script.loss, params, script.gradients, n_samples=script.n_samples,
                                                     sample=sample, max_seconds=max_seconds)))
    if script.step is not None:
        reports.append(("step", check_step(script.step, params, script.loss, lr=script.lr, sample=sample,
                                           max_seconds=max_seconds)))
    merged = Report(f"glassnet doctor {path}", columns=("check", "rel_error", "factor", "rate"))
    for check, report in reports:
        for f in report.findings:
            f.details["check"] = check
            merged.findings.append(f)
        merged.notes += [n for n in report.notes if n not in merged.notes]
    if script.lr is None and script.step is not None:
        merged.notes.append("the script defines no `lr`, so step rates were compared with each other only")
    return merged
