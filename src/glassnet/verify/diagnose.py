"""Turning "this gradient is wrong" into "this is how it is wrong, and the likely cause".

Each function compares the user's gradient ``a`` of one parameter with the numerical one ``n`` (both
float64, same shape) and recognises the patterns of hand-written backprop bugs: all zeros, sign
flipped, a constant factor, transposed, wrong only in some entries / one row / one column (one
neuron), per-sample factors (an activation derivative), identical columns (symmetric start).

A factor that most parameters share (:func:`shared_factor`) is not a per-parameter bug: the gradients
are those of a differently scaled loss (:func:`explain_factor`); every parameter is then judged
against ``factor * n``.

Next read: ``doctor.py``, which runs the user's code and calls these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
RTOL = 1e-4       # gradients within this fraction of the tensor's largest entry count as equal
ZERO = 1e-8       # a numerical gradient below this everywhere counts as zero (central-difference noise is ~1e-10)


def _scale(*arrays: Array) -> float:
    return max([float(np.abs(x).max(initial=0.0)) for x in arrays] + [ZERO])


def close(a: Array, b: Array) -> bool:
    return bool(np.all(np.abs(a - b) <= RTOL * _scale(a, b)))


def fit_factor(a: Array, n: Array) -> float | None:
    """The ``c`` with ``a == c * n`` (to ``RTOL``), or ``None`` when ``a`` is not proportional to ``n``."""
    nn = float(np.dot(n.ravel(), n.ravel()))
    if nn == 0.0 or float(np.abs(n).max()) <= ZERO:
        return None
    c = float(np.dot(a.ravel(), n.ravel())) / nn
    return c if c != 0.0 and close(a, c * n) else None


def shared_factor(pairs: dict[str, tuple[Array, Array]]) -> float:
    """The factor shared by more than half of the parameters with a non-zero gradient (1.0 when none is)."""
    factors = [c for a, n in pairs.values() if (c := fit_factor(a, n)) is not None]
    counted = sum(1 for _, n in pairs.values() if float(np.abs(n).max(initial=0.0)) > ZERO)
    for c in factors:
        group = [f for f in factors if abs(f - c) <= 1e-3 * abs(c)]
        if len(group) * 2 > counted and len(group) >= 2:
            mean = float(np.mean(group))
            return 1.0 if _near(mean, 1.0) else mean
    return 1.0


def _near(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-3 * abs(y)


def explain_factor(s: float, n_samples: int | None = None, shared: bool = True) -> str:
    """Why gradients are ``s`` times the loss's own, and what that does to the learning rate."""
    whose = "Your gradients are" if shared else "This gradient is"
    sign = ""
    if s < 0:
        sign = (" Its sign is flipped: the output delta is (target - output) instead of (output - target), so "
                "`w -= lr * g` climbs the loss (only `w += lr * g` would descend).")
    m = abs(s)
    readings = {2.0: "a missing 1/2: the loss has 1/2 (t - o)**2 but the gradient is that of (t - o)**2, or the "
                     "gradient has an extra factor 2",
                0.5: "a 1/2 the loss does not have: the gradient is that of 1/2 (t - o)**2 (delta = o - t) but the loss "
                     "is (t - o)**2 (whose derivative is 2 (o - t))"}
    if n_samples:
        N = n_samples
        readings.update({
            float(N): f"a sum over the {N} samples where the loss takes the mean (sum instead of mean)",
            1.0 / N: f"a mean over the {N} samples where the loss sums",
            N / 2.0: f"sum instead of mean over the {N} samples, and a 1/2 the loss does not have (factor N/2)",
            2.0 * N: f"sum instead of mean over the {N} samples, and a missing 1/2 (factor 2N)",
            2.0 / N: f"mean instead of sum over the {N} samples, and a missing 1/2",
            1.0 / (2 * N): f"mean instead of sum over the {N} samples, and an extra 1/2",
        })
    reading = next((text for value, text in readings.items() if value != 1.0 and _near(m, value)), None)
    if reading is None and m >= 2.5 and _near(m, round(m)):
        reading = f"a sum over {round(m)} samples or outputs where the loss takes the mean"
    elif reading is None and m < 0.5 and _near(1 / m, round(1 / m)):
        reading = f"a mean over {round(1 / m)} samples or outputs where the loss sums"
    text = f"{whose} {s:.4g} x the numerical gradient of your loss"
    if _near(m, 1.0):
        return text + "." + sign
    text += f": the gradient of {m:.4g} x the loss" + (f", probably {reading}" if reading else "") + "."
    if reading is None and not shared:
        text += (" That is not a simple count like N or 2, so more likely a derivative is multiplied in where it does "
                 "not belong (e.g. p * (1 - p) after a cross-entropy delta p - y).")
    text += (f" A learning rate lr then acts like {m:.4g} * lr on the loss you wrote: steps {m:.4g} x "
             f"{'larger' if m > 1 else 'smaller'} than you think.")
    return text + sign


def where(bad: NDArray[np.bool_], shape: tuple[int, ...]) -> tuple[str, list[list[int]]]:
    """Describe the wrong entries: one column (one unit), one row (one input) or a list of entries."""
    idx = [list(map(int, i)) for i in np.argwhere(bad.reshape(shape))] if shape else [[]]
    if len(shape) == 2 and shape[1] > 1 and len({i[1] for i in idx}) == 1 and len(idx) > 1:
        j = idx[0][1]
        return (f"only column {j} is wrong: the weights into unit {j} (one neuron); look at that unit's delta", idx)
    if len(shape) == 2 and shape[0] > 1 and len({i[0] for i in idx}) == 1 and len(idx) > 1:
        i = idx[0][0]
        return f"only row {i} is wrong: the weights out of input (or unit) {i} of the layer below", idx
    shown = ", ".join(str(tuple(i)) if len(i) != 1 else str(i[0]) for i in idx[:8]) + (", ..." if len(idx) > 8 else "")
    unit = " (one unit's bias)" if len(shape) == 1 and len(idx) == 1 else ""
    return f"only {len(idx)} of {int(np.prod(shape))} entries are wrong: {shown}{unit}", idx


def _nature(a: Array, n: Array) -> str:
    if np.all(a == 0):
        return "they are zero"
    if close(a, -n):
        return "their sign is flipped"
    c = fit_factor(a, n)
    return f"they are {c:.4g} x the right value" if c is not None else "their values are off"


def diagnose(name: str, a: Array, n: Array, s: float, n_samples: int | None = None) -> tuple[str, bool, str, dict[str, Any]]:
    """Verdict, passed?, message and details for gradient ``a`` of parameter ``name`` against ``s * n``."""
    target = s * n
    err = float(np.abs(a - target).max(initial=0.0))
    details: dict[str, Any] = {"rel_error": err / _scale(a, target), "factor": None}
    shared = "" if s == 1.0 else f" (relative to the factor {s:.4g} most parameters share)"
    if close(a, target):
        if s == 1.0:
            return "ok", True, f"`{name}` matches the numerical gradient", details
        details["factor"] = s
        if s < 0:  # the whole gradient points uphill: not a scale, a sign convention the update must undo
            return ("sign", False, f"`{name}` is {s:.4g} x the numerical gradient, like most parameters: the sign "
                    "of every gradient is flipped (see the note)", details)
        return ("scaled", True, f"`{name}` is {s:.4g} x the numerical gradient, like most parameters: "
                "the gradient of a differently scaled loss (see the note)", details)
    if float(np.abs(n).max(initial=0.0)) <= ZERO:
        return ("wrong", False, f"`{name}` has a gradient (largest {float(np.abs(a).max()):.3g}) but the loss does not "
                "change with this parameter here (numerical gradient 0): it should be zero; is it computed for "
                "another parameter?", details)
    if np.all(a == 0):
        return ("zero", False, f"`{name}`'s gradient is all zeros while the numerical gradient is not (largest "
                f"{float(np.abs(n).max()):.3g}): this gradient is never accumulated (e.g. `db += delta` is missing "
                "or writes to another variable)", details)
    if close(a, -target):
        details["factor"] = -s
        return "sign", False, f"`{name}` has its sign flipped{shared}: look for (target - output) vs (output - target)", details
    c = fit_factor(a, target)
    if c is not None and a.size == 1:  # one number is always "proportional": say how far off it is instead
        details["factor"] = c
        return "wrong", False, f"`{name}` is {c:.4g} x the right value{shared}: check the chain rule for it", details
    if c is not None:
        details["factor"] = c
        return ("scaled", False, f"`{name}` is off by a constant factor {c:.4g}{shared}. "
                + explain_factor(c, n_samples, shared=False), details)
    if a.ndim == 2 and a.shape[0] == a.shape[1] and close(a, target.T):
        return "transposed", False, f"`{name}` holds the transpose of the right gradient: use X.T @ delta (n_in, n_out)", details
    bad = np.abs(a - target) > RTOL * _scale(a, target)
    # "partial" only when the right entries are clearly the rule (at most half wrong) or the wrong ones form one
    # row or column; otherwise a few entries that happen to agree would hide an error that is everywhere.
    one_line = a.ndim == 2 and (len(set(np.nonzero(bad)[0])) == 1 or len(set(np.nonzero(bad)[1])) == 1)
    if a.ndim and not bad.all() and (bad.mean() <= 0.5 or one_line):
        text, entries = where(bad, a.shape)
        details["entries"] = entries
        return "partial", False, f"`{name}`: {text}; {_nature(a[bad], target[bad])}, the other entries are right", details
    cos = float(np.dot(a.ravel(), n.ravel()) / (np.linalg.norm(a) * np.linalg.norm(n) + 1e-300)) * np.sign(s)
    details["cosine"] = cos
    big = np.abs(target) > 1e-3 * _scale(target)
    ratios = a[big] / target[big]
    if cos > 0.5:
        return ("wrong", False, f"`{name}` points roughly the right way (cosine {cos:.3f}) but its entries are off by "
                f"different factors (from {ratios.min():.3g} to {ratios.max():.3g} x){shared}: a factor that differs per "
                "sample is wrong, typically an activation derivative: taken at the pre-activation z instead of the "
                "output a, or applied twice (e.g. sigmoid_derivative(sigmoid(z)), or the softmax/sigmoid derivative "
                "multiplied again after the cross-entropy delta p - y)", details)
    return ("wrong", False, f"`{name}` disagrees with the numerical gradient (cosine {cos:.3f}, largest error {err:.3g})"
            f"{shared}: check the chain rule for it: the delta it uses and what multiplies it", details)


def symmetric(name: str, p: Array, n: Array) -> str | None:
    """A message when every column (unit) of ``p`` and of its gradient is identical, so the units stay copies."""
    if p.ndim != 2 or p.shape[1] < 2:
        return None
    if np.all(p == p[:, :1]) and close(n, np.repeat(n[:, :1], p.shape[1], axis=1)):
        return (f"all {p.shape[1]} columns of `{name}` (one per unit) are identical and so are their gradients: the "
                "units start the same, get the same updates and stay copies of each other (symmetry is never broken), "
                f"so the layer works like a single unit. Initialise the weights randomly, e.g. "
                f"np.random.default_rng(0).normal(0, 0.5, size={p.shape})")
    return None
