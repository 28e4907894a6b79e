"""What each parameter's step says about the learner's code, in the words an expert would use.

For parameter ``p`` with learning rate ``r`` (the ``lr`` on its update line, or 1 where there is none),
the *observed gradient* is ``g_obs = -step / r``, the step taken in the frozen pass. The gradient of
the printed cost ``g`` comes from central differences. A factor ``c`` with ``g_obs = c * g`` shared by
the parameters is the cost's normalisation (the update descends ``c x`` the printed cost): one note,
never a fault. A parameter whose ``g_obs`` is not ``c * g`` is a finding, named by its pattern: changed
inside the row loop, never moved, uphill, one tensor summed where the others average, a hard-coded rate,
and the patterns of ``diagnose.py`` (zero, transposed, one neuron, per-sample factors).

Next read: ``isolate.py`` (running all this in a subprocess with a time limit).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.verify import diagnose as dx
from glassnet.verify.report import Finding, Report

if TYPE_CHECKING:
    from glassnet.verify.script.analysis import Param, Study
    from glassnet.verify.script.runner import Run


class LoopRaised(Exception):
    """The loop body raised: the report says where and, for shape errors, what the shapes mean."""

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report


def body_error(run: Run, lines: list[str], filename: str) -> LoopRaised:
    """The report for a loop body that raised (a transposed gradient is the usual shape error)."""
    line = run.error_line or 0
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    error = run.error or ""
    message = f"your training loop raised {error} on line {line} `{text}`"
    shapes = [tuple(int(x) for x in re.findall(r"\d+", s)) for s in re.findall(r"\(([\d, ]*)\)", str(error))]
    if len(shapes) >= 2 and shapes[0] and shapes[0][::-1] == shapes[1] and shapes[0] != shapes[1]:
        message += (f": shapes {shapes[0]} and {shapes[1]} are transposes of each other, so a gradient is computed in "
                    "the other weight layout. For W of shape (n_in, n_out) (Z = X @ W) use dW = X.T @ dZ; for W of "
                    "shape (n_out, n_in) (Z = W @ X) use dW = dZ @ X.T")
    elif any(word in str(error) for word in ("broadcast", "mismatch", "shapes")):
        message += ": the shapes of a gradient and its parameter (or of a delta and the next layer's weights) disagree"
    target = re.match(r"\s*([\w.\[\]'\"]+)\s*[-+*/]?=", text)
    finding = Finding(target.group(1) if target else "loop", "error", message, False,
                      {"line": line, "source": text, "traceback": getattr(error, "user_traceback", "")}, line=line,
                      source=text)
    return LoopRaised(Report(f"glassnet doctor {filename}", [finding], columns=("line",)))


def _rtol(p: Param) -> float:
    """How closely a step must follow the gradient: central differences at a saturated unit are good to ~1e-5."""
    return 2e-3 if p.dtype == np.float32 else 1e-4


def _observed(study: Study, p: Param) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``g_obs`` and ``g`` on the checked entries (kinks left out), and the rounding bound of ``g``."""
    idx = study.entries[p.name]
    rate = study.lrs[p.name][0]
    obs = -study.steps[p.name].reshape(-1)[idx] / rate
    keep = ~study.kinks[p.name]
    return obs[keep], study.gradient[p.name][keep], study.tolerance[p.name][keep]


def _close(obs: np.ndarray, target: np.ndarray, tol: np.ndarray, rtol: float) -> bool:
    scale = max(float(np.abs(obs).max(initial=0.0)), float(np.abs(target).max(initial=0.0)), 1e-300)
    return bool(np.all(np.abs(obs - target) <= rtol * scale + tol))


def _factor(obs: np.ndarray, g: np.ndarray, tol: np.ndarray, rtol: float, c: float = 1.0) -> float | None:
    """The ``k`` with ``obs == k * c * g`` within tolerance (``None`` when not proportional)."""
    gg = float(np.dot(g, g))
    if gg == 0.0 or float(np.abs(g).max()) <= 10 * float(tol.max(initial=0.0)) + 1e-12:
        return None
    k = float(np.dot(obs, g)) / gg / c
    return k if k != 0.0 and _close(obs, k * c * g, abs(k * c) * tol, rtol) else None


NICE = (1.0, 2.0, 0.5)


def _niceness(c: float, n: int | None) -> float:
    options = list(NICE) + ([n, n / 2, 2 * n, 1 / n, 2 / n] if n else [])
    return min(abs(c - o) / abs(o) for o in options)


def shared_factor(study: Study) -> tuple[float, list[str]]:
    """The normalisation shared by the parameters (1.0 when none is), and which parameters share it."""
    factors = {}
    # one number is always "proportional" to its gradient: it may join a scale, never set it alone
    tensors = [p for p in study.params if p.size > 1] or study.params
    for p in tensors:
        obs, g, tol = _observed(study, p)
        k = _factor(obs, g, tol, _rtol(p))
        if k is not None:
            factors[p.name] = k
    groups: list[list[str]] = []
    for name, k in factors.items():
        for group in groups:
            if abs(factors[group[0]] - k) <= 1e-3 * abs(k):
                group.append(name)
                break
        else:
            groups.append([name])
    if not groups:
        return 1.0, []
    # a negative factor shared by every tensor is no scale but a flipped sign: it counts only when no positive does
    best = max(groups, key=lambda g: (factors[g[0]] > 0, len(g), -_niceness(factors[g[0]], study.n_rows)))
    return float(np.mean([factors[n] for n in best])), best


def normalisation_note(c: float, n: int | None, cost: str) -> str:
    """One note on the cost the updates descend, relative to the printed one (a choice, not a bug)."""
    near = lambda x, y: abs(x - y) <= 1e-3 * abs(y)
    readings = [(1.0, "exactly the cost it prints")]
    if n:
        readings += [(float(n), f"e.g. the sum over the {n} rows where `{cost}` is their mean"),
                     (n / 2, f"e.g. half the sum of squares over the {n} rows (1/2 sum) where `{cost}` is their "
                             f"mean; N/2 = {n / 2:g}"),
                     (2.0 * n, f"e.g. the sum over the {n} rows, with the 2 of the squares' derivative, where "
                               f"`{cost}` is their mean"),
                     (1.0 / n, f"e.g. the mean over the {n} rows where `{cost}` is their sum")]
    readings += [(2.0, f"twice `{cost}`: the derivative 2 (o - t) of a square where the cost halves it, or the gradient "
                       "has an extra factor 2"),
                 (0.5, f"half of `{cost}`: the gradient of 1/2 (t - o)**2 (delta = o - t) where the cost is (t - o)**2")]
    if n:  # after the plain 1/2: with 4 rows, 2/N is 0.5 too, and the missing 1/2 is the likelier reading
        readings.append((2.0 / n, f"e.g. the mean over the {n} rows where `{cost}` is half their sum"))
    reading = next((text for value, text in readings if near(c, value)), None)
    if near(c, 1.0):
        return f"normalisation: your updates descend {reading}"
    head = f"normalisation: your updates descend {c:.4g} x `{cost}`"
    head += f": {reading}" if reading else ""
    return (head + f". This is the cost's scale, not a bug: the learning rate acts like {c:.4g} x lr on the printed "
            "cost (every parameter is judged against that)")


def findings(study: Study) -> Report:
    """The doctor's report: one finding per parameter, each naming its line, and the notes."""
    c, sharing = shared_factor(study)
    report = Report(f"glassnet doctor {study.filename}", columns=("line", "rate", "factor"))
    if sharing and c < 0:
        report.notes.append(f"every parameter's step points uphill: the updates climb `{study.cost_expr}` "
                            f"({-c:.4g} x its gradient, added): the sign of the gradient is flipped")
        c = -c
        flipped = True
    else:
        flipped = False
        if sharing:
            report.notes.append(normalisation_note(c, study.n_rows, study.cost_expr))
    for p in study.params:
        finding = _judge(study, p, -c if flipped else c)
        if flipped and finding.verdict in ("ok", "scaled", "wrong", "mean_vs_sum") and finding.details.get("factor"):
            line = finding.line
            finding = _finding(p, "uphill", f"`{p.name}` moves uphill (+lr x gradient) on line {line} "
                               f"`{study.line_text(line or 0)}`: the step climbs the cost. Its gradient has the wrong "
                               "sign (a delta of (target - output) where (output - target) belongs) while the update "
                               "subtracts it, or the update adds a true gradient", False, line, study,
                               **{k: v for k, v in finding.details.items() if k not in ("line", "source")})
        report.findings.append(finding)
    _symmetric_downstream(study, report)
    if any(f.verdict in ("wrong", "partial", "scaled", "transposed") and not f.ok for f in report.findings):
        _name_the_bug(study, report)
    _notes(study, report, c)
    report.notes.extend(study.notes)
    return report


def _first_line(study: Study, p: Param, inner: bool | None = None) -> tuple[int | None, str]:
    """The line that changed ``p``; where that is a call (``W1, b1 = update(...)``), the update inside it."""
    changes = [ch for ch in study.frozen.of(p.path) if inner is None or ch.in_row_loop == inner]
    if not changes:
        changes = [ch for ch in study.first.of(p.path) if inner is None or ch.in_row_loop == inner]
    line = changes[0].line if changes else None
    if line is None or not any(u.line == line and u.is_update for u in study.updates):
        line = _static_update(study, p) or line
    return (line, study.line_text(line)) if line else (None, "")


def _static_update(study: Study, p: Param, inner: bool = False) -> int | None:
    """The line whose statement updates ``p`` (outside the row loop unless ``inner``), read from the source."""
    text, last = p.name, str(p.path.steps[-1][1])
    for u in study.updates:
        if u.is_update and u.in_inner_loop == inner and (u.target in (text, last) or u.target.endswith("." + last)):
            return int(u.line)
    return None


def _finding(p: Param, verdict: str, message: str, ok: bool, line: int | None, study: Study,
             **details: Any) -> Finding:
    source = study.line_text(line) if line else None
    details = {"line": line, "source": source, **details}
    return Finding(p.name, verdict, message, ok, details, line=line, source=source)


def _judge(study: Study, p: Param, c: float) -> Finding:
    obs, g, tol = _observed(study, p)
    rtol = _rtol(p)
    rate, rate_from = study.lrs[p.name]
    changes = study.frozen.of(p.path)
    # changes inside a nested loop count as per-row only when the parameter moves more than once (a loop over
    # the layers moves each parameter once)
    inner = [ch for ch in changes if ch.in_row_loop] if len(changes) > 1 else []
    line, text = _first_line(study, p)
    k = _factor(obs, g, tol, rtol, c)
    details = {"rate": rate, "factor": k}
    where = f"line {line} `{text}`" if line else "no line"
    sym = _symmetric(study, p, c)
    if sym:
        made = _made_at(study, p)
        return _finding(p, "symmetric", sym, False, made or _static_update(study, p) or line, study, **details)
    if not changes and float(np.abs(g).max(initial=0.0)) > float(tol.max(initial=0.0)) * 10:
        return _still(study, p, line)
    if float(np.abs(g).max(initial=0.0)) <= 10 * float(tol.max(initial=0.0)) + 1e-300 and not changes:
        return _finding(p, "ok", f"`{p.name}` has no gradient here and does not move", True, line, study, **details)
    others_outside = [q for q in study.params if q is not p and study.frozen.of(q.path)
                      and not (len(study.frozen.of(q.path)) > 1 and any(ch.in_row_loop for ch in study.frozen.of(q.path)))]
    if inner and others_outside and not (k is not None and abs(k - 1) <= 1e-3):
        return _changed_in_loop(study, p, inner, c, k, details)
    if p.name in study.stale:
        acc = study.stale[p.name]
        made = next((u.line for u in study.updates if u.target == acc and u.line < study.loop.line), None)
        return _finding(p, "never_reset", f"`{p.name}`'s gradient accumulator `{acc}` is created before the training "
                        "loop" + (f" (line {made} `{study.line_text(made)}`)" if made else "") + " and never set back "
                        "to zero: from the second epoch on, each update also adds every earlier epoch's gradient. "
                        f"Set `{acc}` to zero at the start of every epoch, inside the loop", False, made or line,
                        study, **details)
    never = _overwritten_in_row_loop(study, p, line)
    if never and not (k is not None and abs(k - 1) <= 1e-3):
        at, acc = never
        return _finding(p, "never_accumulated", f"`{p.name}`'s gradient `{acc}` is assigned, not added to, in the row "
                        f"loop: line {at} `{study.line_text(at)}` overwrites it in every row, so the update uses only the "
                        f"last row's gradient. Write `{acc} +=` there (and set it to zero before the row loop)", False,
                        at, study, **details)
    if k is not None and abs(k - 1) <= 1e-3 and p.name in study.early:
        culprit, at = study.early[p.name]
        reader = _reader_after(study, culprit, at)
        return _finding(p, "updated_before_used", f"`{p.name}`'s gradient is computed with `{culprit}` already "
                        f"updated: line {at} `{study.line_text(at)}` runs before "
                        + (f"line {reader} `{study.line_text(reader)}` reads it" if reader else "the lines that read it")
                        + f", so `{p.name}` moves along the gradient at the new `{culprit}`, not the current one. "
                        "Compute every gradient first, then update all the parameters", False, reader or line, study,
                        **details)
    if k is not None and abs(k - 1) <= 1e-3:
        lr = study.lr
        if rate_from == "literal" and lr is not None and abs(rate - lr[0]) > 1e-12 * lr[0] and lr[1] not in (
                r[1] for r in study.lrs.values()):
            return _finding(p, "hardcoded_lr", f"`{p.name}` is updated on {where} with the number {rate:g} written in, "
                            f"while `{lr[1]}` = {lr[0]:g} is defined and no update line uses it: changing `{lr[1]}` "
                            f"changes nothing. Write `{lr[1]}` there", False, line, study, **details)
        if rate_from == "literal" and lr is not None and abs(rate - lr[0]) > 1e-12 * lr[0]:
            return _finding(p, "hardcoded_lr", f"`{p.name}` is updated on {where} with the number {rate:g} written "
                            f"in, not `{lr[1]}` = {lr[0]:g} like the other parameters: a hard-coded learning rate, "
                            f"so this parameter learns {rate / lr[0]:.3g} x as fast, and changing `{lr[1]}` does not "
                            f"reach it. Write `{lr[1]}` there", False, line, study, **details)
        how = "once per row (stochastic gradient descent)" if inner and not others_outside else "by -lr x gradient"
        return _finding(p, "ok", f"`{p.name}` moves downhill {how}, on {where}", True, line, study, **details)
    if k is not None and k < 0 and abs(k + 1) <= 1e-3:
        return _finding(p, "uphill", f"`{p.name}` moves uphill (+lr x gradient) on {where}: the step climbs the cost. "
                        "Its gradient has the wrong sign (a delta of (target - output) where (output - target) belongs) "
                        "or the update adds it: use `-=`", False, line, study, **details)
    n = study.n_rows
    if k is not None and n and (abs(k - n) <= 1e-3 * n or abs(k - 1 / n) <= 1e-3 / n):
        what = "summed over the rows where the other gradients average" if k > 1 else \
            "averaged over the rows where the other gradients sum"
        return _finding(p, "mean_vs_sum", f"`{p.name}`'s step is {k:.4g} x what the other parameters' steps imply "
                        f"(N = {n} rows): its gradient is {what} (e.g. a missing or extra `/ {n}`), so it learns "
                        f"{k:.4g} x as fast. Line {line}: `{text}`", False, line, study, **details)
    summed = _summed_over_every_axis(obs, g, c, tol, rtol, np.shape(p.value), full=len(obs) == p.size)
    if summed:
        return _finding(p, "bias_sum_all_axes", f"every entry of `{p.name}`'s step is the same number, the sum of the "
                        f"whole gradient: its gradient is summed over every axis (np.sum(dZ) or dZ.sum()) where it "
                        f"belongs summed over the rows only: use np.sum(dZ, axis=0) (axis=1, keepdims=True for column "
                        f"data). Its update: {where}", False, line, study, **details)
    if k is not None:
        return _finding(p, "scaled", f"`{p.name}` moves along its gradient but {k:.4g} x as far as the others "
                        f"({where}): " + dx.explain_factor(k, n, shared=False), False, line, study, **details)
    # not along the gradient at all: the patterns of diagnose.py, on the full tensor when every entry was checked
    shape = np.shape(p.value)
    full = len(study.entries[p.name]) == p.size and not study.kinks[p.name].any()
    if full and len(shape) == 2:
        a = (-study.steps[p.name] / rate).reshape(shape)
        nv = study.gradient[p.name].reshape(shape)
        verdict, ok, message, more = dx.diagnose(p.name, a, nv, c, n)
        verdict = "ok" if ok else verdict  # a step along the shared factor's gradient, to diagnose's tolerance
        return _finding(p, verdict, message + f". Its update: {where}", ok, line, study, **{**details, **more})
    cos = float(np.dot(obs, g) / (np.linalg.norm(obs) * np.linalg.norm(g) + 1e-300))
    return _finding(p, "wrong", f"`{p.name}`'s step is not along its gradient (cosine {cos:.3f}): check the chain rule "
                    f"for the gradient used on {where}: the delta it uses and what multiplies it", False, line, study,
                    cosine=cos, **details)


def _symmetric_downstream(study: Study, report: Report) -> None:
    """Behind a layer of identical units, the weights out of them that start uniform over those units are part of the
    same symmetry (``W2 = np.zeros((H, 1))`` after ``W1 = np.zeros((D, H))``): flagged with it."""
    units = {np.shape(p.value)[i] for p, f in zip(study.params, report.findings) if f.verdict == "symmetric"
             for i in (0, 1)}
    for i, (p, f) in enumerate(zip(study.params, report.findings)):
        a = np.asarray(p.value)
        if f.verdict == "symmetric" or a.ndim != 2 or re.search(r"^b\d*$|bias", str(p.path.steps[-1][1]), re.I):
            continue
        axis = 0 if a.shape[0] in units and a.shape[0] > 1 else 1 if a.shape[1] in units and a.shape[1] > 1 else None
        if axis is not None and np.all(a == np.take(a, [0], axis=axis)):
            line = _made_at(study, p) or f.line
            report.findings[i] = _finding(p, "symmetric", f"`{p.name}` starts with the same weights out of every unit "
                                          "of the layer below, whose units are copies of each other: together they "
                                          "keep the units identical. Initialise the weights randomly", False, line,
                                          study, **{k: v for k, v in f.details.items() if k not in ("line", "source")})


def _made_at(study: Study, p: Param) -> int | None:
    """The line that created ``p`` with identical entries (``np.zeros``, ``np.ones``, ``np.full``), if one does."""
    key = re.escape(str(p.path.steps[-1][1]))
    for i, text in enumerate(study.lines, 1):
        if re.search(rf"\b{key}\b", text) and re.search(r"\b(zeros|ones|full|zeros_like|ones_like)\s*\(", text):
            return i
    return None


def _symmetric(study: Study, p: Param, c: float) -> str | None:
    """Units that start identical and get identical gradients stay copies: every column (or row) of a weight
    matrix the same, its gradient too. Said of the matrix, with where it was made."""
    value = np.asarray(p.value)
    if value.ndim != 2 or len(study.entries[p.name]) < p.size or min(value.shape) < 2:
        return None
    g = study.gradient[p.name].reshape(value.shape)
    for units, axis in (("columns", 1), ("rows", 0)):
        first = np.take(value, [0], axis=axis)
        gfirst = np.take(g, [0], axis=axis)
        if np.all(value == first) and np.allclose(g, gfirst, rtol=1e-6, atol=1e-12):
            start = "all zero" if not value.any() else f"all {value.shape[axis]} {units} identical"
            return (f"`{p.name}` starts {start} and its gradient has identical {units} too: the units start the same, get "
                    "the same updates and stay copies of each other (symmetry is never broken), so the layer works like "
                    f"a single unit. Initialise it randomly, e.g. np.random.default_rng(0).normal(0, 0.5, {value.shape})")
    return None


def _name_the_bug(study: Study, report: Report) -> None:
    """Where the network is a dense stack, test each known bug by the gradient it would produce (``stack.py``):
    the one that reproduces every parameter's step names the cause; when none does, say so plainly."""
    from glassnet.verify import stack as st

    theta = {p.name: p.value for p in study.params}
    if any(len(study.entries[p.name]) < p.size for p in study.params):
        return
    # data in the other layout too: a script may feed rows X[i] as columns (W @ x)
    data = {**study.data, **{f"{k}.T": v.T for k, v in study.data.items() if v.ndim == 2}}
    try:
        model = st.infer_stack(theta, data, study.cost_of)
    except Exception:  # noqa: BLE001 - a structure that is not a dense stack: keep the pattern-based words
        model = None
    if model is None:
        report.notes.append("the parameters do not form a dense stack the doctor can rebuild (or its cost is not one it "
                            "knows), so it could not test which known bug produces these gradients")
        return
    g_obs = {p.name: -study.steps[p.name] / study.lrs[p.name][0] for p in study.params}
    matches = st.match(model, theta, g_obs, st.hypotheses(model, theta))
    matches = [(h, k) for h, k in matches if h.bug != "none"]
    report.notes.append(f"the network is {model.describe()}")
    if not matches:
        report.notes.append("none of the known bugs (derivative at z, twice, missing or on the error; no backprop through "
                            "the weights; pre-activations as inputs; overwritten activations; bias summed over every "
                            "axis; last row only; sign; transposed) reproduces these gradients, so the cause is not named; "
                            "the findings say how each gradient is off")
        return
    hyp, factor = matches[0]
    n = model.n_samples  # the stack knows which axis holds the samples
    bug = hyp.bug
    if bug == "tensor_factor" and n and any(abs(r - n) <= 1e-3 * n or abs(r - 1 / n) <= 1e-3 / n
                                            for r in _tensor_ratios(hyp, g_obs, model.gradients(theta))):
        bug = "mean_vs_sum"
    elif bug == "tensor_sign":
        bug = "uphill"
    for i, f in enumerate(report.findings):
        changed = not np.allclose(hyp.gradients.get(f.param, 0), model.gradients(theta).get(f.param, 0))
        if not f.ok and changed:
            report.findings[i] = Finding(f.param, bug, f"{hyp.cause} (this bug reproduces the step of `{f.param}` "
                                         f"exactly). Its update: line {f.line} `{f.source}`", False,
                                         {**f.details, "cause": hyp.bug, "where": hyp.where}, line=f.line, source=f.source)


def _tensor_ratios(hyp: Any, g_obs: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> list[float]:
    """For a one-tensor-off hypothesis: how many times its gradient the off tensor's right gradient is."""
    out = []
    for name, g in hyp.gradients.items():
        r = right.get(name)
        if r is not None and not np.allclose(g, r):
            rr = float(np.dot(np.ravel(g), np.ravel(r)) / (np.dot(np.ravel(r), np.ravel(r)) + 1e-300))
            out.append(rr)
    return out


def _summed_over_every_axis(obs: np.ndarray, g: np.ndarray, c: float, tol: np.ndarray, rtol: float,
                            shape: tuple[int, ...], full: bool) -> bool:
    """A bias step whose entries all equal the sum of the true gradient: ``db = np.sum(dZ)``."""
    if not full or obs.size < 2 or sum(d > 1 for d in shape) != 1:
        return False
    total = c * float(g.sum())
    return bool(np.allclose(obs, total, rtol=max(rtol, 1e-6), atol=float(tol.sum()) * abs(c) + 1e-15))


def _overwritten_in_row_loop(study: Study, p: Param, line: int | None) -> tuple[int, str] | None:
    """``dW = x * delta`` (not ``+=``) inside the row loop, for the gradient that ``p``'s update line subtracts."""
    acc = _accumulator_of(study, p, line)
    if acc is None or any(u.line == line and u.in_inner_loop for u in study.updates):
        return None  # an update inside the row loop uses each row's gradient at once (stochastic descent)
    for u in study.updates:
        if u.target == acc[0] and u.in_inner_loop and not u.is_update and acc[0] not in u.names:
            return int(u.line), acc[0]
    return None


def _reader_after(study: Study, name: str, line: int) -> int | None:
    """The first line after ``line`` in the loop (or the functions it calls) that reads ``name``."""
    last = name.split(".")[-1].split("[")[0]
    for u in study.updates:
        if u.line > line and (last in u.names or re.search(rf"\b{re.escape(last)}\b", u.text.split("=", 1)[-1])):
            return int(u.line)
    return None


def _changed_in_loop(study: Study, p: Param, inner: list[Any], c: float, k: float | None,
                     details: dict[str, Any]) -> Finding:
    """The learner's bug: the parameter itself changed in the row loop, where its gradient was to be summed."""
    line = inner[0].line
    text = study.line_text(line)
    after = _static_update(study, p)
    accumulator = _accumulator_of(study, p, after)
    direction = ""
    if k is not None and k < 0:
        rate = -k * study.lrs[p.name][0]
        lr = study.lr
        direction = (f" Summed over the rows, it moves by +{rate:.3g} x its gradient, where the other parameters move "
                     "by -lr x theirs: the gradient is *added*, "
                     + (f"with learning rate {rate:.3g} instead of `{lr[1]}` = {lr[0]:g}, " if lr else "")
                     + "once per row, so it climbs the cost (gradient ascent).")
    message = (f"`{p.name}` is changed inside the row loop, on line {line} `{text}`, while its gradient is being "
               f"accumulated: the parameter itself moves {len(inner)} times, once per row.")
    message += direction
    if accumulator is not None:
        acc_name, acc_value = accumulator
        zero = acc_value is not None and np.all(np.asarray(acc_value) == 0)
        fixed = re.sub(rf"^\s*{re.escape(p.name)}\b", acc_name, text)
        message += (f" Meanwhile `{acc_name}`{' stays 0' if zero else ''}, so line {after} "
                    f"`{study.line_text(after or 0)}` applies nothing. You meant `{fixed}`.")
    elif after is None:
        message += (" Accumulate its gradient in the row loop (`d += ...`) and subtract `lr * d` after the loop, as for "
                    "the other parameters.")
    return _finding(p, "changed_in_loop", message, False, line, study, accumulator=accumulator[0] if accumulator else None,
                    **details)


def _shape(value: Any) -> tuple[int, ...] | None:
    return value.shape if isinstance(value, np.ndarray) else () if isinstance(value, (int, float, np.number)) else None


def _accumulator_of(study: Study, p: Param, line: int | None) -> tuple[str, Any] | None:
    """The gradient the update after the loop subtracts (``bias_11_gradient`` in ``bias_11 -= lr * bias_11_gradient``)."""
    if line is None:
        return None
    for u in study.updates:
        if u.line == line:
            names = [n for n in u.names if n != p.path.root and not re.search(r"lr|learning|rate|alpha|eta", n, re.I)]
            # the gradient is the name whose value has the parameter's shape (not the `n` of `lr * dW / n`)
            shaped = [n for n in names if _shape(study.body.value(n)) == np.shape(p.value)]
            named = [n for n in names if re.search(r"^d|grad|delta|nabla|change|adjust", n, re.I)]
            for name in shaped or named or names:
                return name, study.body.value(name)
    return None


def _still(study: Study, p: Param, line: int | None) -> Finding:
    if line is not None:
        acc = _accumulator_of(study, p, line)
        extra = f": its gradient `{acc[0]}` stays 0 (nothing is ever added to it)" if acc else ""
        return _finding(p, "still", f"`{p.name}` never moves although the cost depends on it: its update on line {line} "
                        f"`{study.line_text(line)}` changes nothing{extra}. Accumulate its gradient in the row loop",
                        False, line, study)
    return _finding(p, "still", f"`{p.name}` never moves although the cost depends on it: no line of the loop updates "
                    "it. Compute its gradient and subtract lr x gradient like the other parameters", False, None, study)


def _notes(study: Study, report: Report, c: float) -> None:
    bad = [f for f in report.findings if f.verdict == "changed_in_loop"]
    good = [f.param for f in report.findings if f.ok]
    if bad and good:
        report.notes.append(f"with the in-loop changes of {', '.join(f'`{f.param}`' for f in bad)} taken out (every "
                            f"line computed at the same parameters), {', '.join(f'`{n}`' for n in good)} step exactly "
                            "along the gradient: they are right, and only moved oddly because the others changed "
                            "under them during the row loop")
    for p, f in zip(study.params, report.findings):
        a = np.asarray(p.value)
        if a.ndim == 2 and min(a.shape) > 1 and a.any() and float(np.abs(a).max()) < 0.05 and f.verdict != "symmetric":
            report.notes.append(f"`{p.name}` starts tiny (largest entry {float(np.abs(a).max()):.2g}): its layer's outputs "
                                "start almost the same for every input and the gradients through it are tiny, so the "
                                "cost can sit on a plateau for a long time; start with a scale like 1/sqrt(n_in), e.g. "
                                f"np.random.randn{a.shape} / np.sqrt({a.shape[0] if a.shape[0] < a.shape[1] else a.shape[1]})")
    kinks = sum(int(k.sum()) for k in study.kinks.values())
    if kinks:
        report.notes.append(f"{kinks} entries sit at a kink of the cost (a relu at 0), where the slope is not defined; "
                            "they were left out of the comparison")
    if study.body.rows.cut:
        report.notes.append(f"each pass ran the first {study.body.rows.limit} of the {study.body.rows.cut} rows of its row "
                            "loop (every pass the same rows), to keep the check fast; the steps and the cost are those "
                            "of these rows")
    sampled = [p.name for p in study.params if len(study.entries[p.name]) < p.size]
    if sampled:
        report.notes.append(f"checked a sample of entries of {', '.join(sampled)} (the finite differences would take "
                            "too long for all of them)")
    if any(p.dtype == np.float32 for p in study.params):
        worst = max(float(t.max(initial=0.0)) for t in study.tolerance.values())
        report.notes.append(f"float32: the finite differences use a step of about 5e-3 and their rounding limits the "
                            f"comparison to about {worst:.1g} per entry; steps within that count as equal")
    for acc in study.accumulators:
        last = re.escape(str(acc.steps[-1][1]))
        momentum = any(re.search(rf"\b{last}\b\W*\s*=.*\*\s*\w*\[?\W*{last}|\*=", u.text) for u in study.updates
                       if re.search(rf"\b{last}\b", u.target))
        if str(acc) in study.stale.values() or momentum:
            continue  # already a finding, or a momentum buffer (which is meant to carry over)
        report.notes.append(f"`{acc}` exists before the loop and keeps its value from one epoch to the next: if it is a "
                            "gradient accumulator, set it to zero at the start of every epoch")

