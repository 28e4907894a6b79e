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

Modes: layers such as Dropout and BatchNorm1d compute differently in training and in evaluation mode. By
default (``mode="both"``) the network is checked in training mode and, when some layer computes differently in
evaluation mode (the outputs for the given ``X`` differ between the two modes), in evaluation mode too: those
findings are named ``"0.W (eval)"``. In training mode every evaluation of the loss sees the same random draws
(each generator a layer draws from, such as Dropout's masks from ``net.rng``, is put back to its state before
every evaluation) and the same buffers (BatchNorm's running statistics are put back too, so the many forward
passes do not move them); a network of Dense layers only is checked once, as before.

Finding the layer: when a tensor fails, the gradient each layer hands down (``dX``, what its ``backward``
returns) is checked too, from the top down; the first layer whose ``dX`` disagrees with central differences is
named in a note, since every tensor below it inherits its error (a BatchNorm backward that forgets the mean
term passes its own ``gamma`` and ``beta`` and fails the layers below).

Next read: ``usercode.py`` and ``diagnose.py``, then ``doctor.py``: the same idea for code glassnet did not write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from glassnet.core.checks import check_inputs
from glassnet.core.layers import Dense
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError, ShapeError
from glassnet.verify.numeric import Differences, central_differences, choose_entries, plan
from glassnet.verify.report import Finding, Report

GOOD, ACCEPTABLE, SUSPECT = 1e-7, 1e-4, 1e-2
TINY = 1e-12
# Central differences of a loss L cannot resolve a gradient much below eps_machine * |L| / eps (the rounding of the
# two losses, divided by the step): a tensor whose backprop and numerical gradients both sit within NOISE times that
# of each other and of 0 (the bias of a Dense just before a BatchNorm, exactly 0 in theory) agrees, whatever their
# relative error (noise over noise, about 1).
NOISE = 100
# Sizes, in multiples of eps, of the random moves tried when every entry of a tensor crossed a kink: the
# smallest clears the eps band around a kink for inputs of order 1, the largest still stays near the given point.
NUDGES = (1e2, 1e3, 1e4)
MODES = {"train": (True,), "eval": (False,), "both": (True, False)}
LOCATE_ENTRIES = 64  # input entries per layer whose dL/dX is checked when looking for the layer at fault


@contextmanager
def in_mode(net: Network, training: bool) -> Iterator[None]:
    """``net`` in training (``True``) or evaluation mode inside the block; the modes it had after."""
    before = net.training, [layer.training for layer in net.layers]
    net.train(training)
    try:
        yield
    finally:
        net.training = before[0]
        for layer, mode in zip(net.layers, before[1]):
            layer.training = mode


class Pinned:
    """The random state and the buffers of ``net`` as they are now; :meth:`restore` puts them back.

    A Dropout layer draws its mask from a generator (``net.rng``, kept as ``layer.rng``) and a BatchNorm layer
    moves its running statistics at every training-mode forward pass; restoring both before each evaluation
    makes every evaluation of the loss see the same masks, and leaves the buffers as they were.
    """

    def __init__(self, net: Network) -> None:
        found = [getattr(net, "rng", None), *(getattr(layer, "rng", None) for layer in net.layers)]
        generators = {id(g): g for g in found if isinstance(g, np.random.Generator)}
        self.states = [(g, copy.deepcopy(g.bit_generator.state)) for g in generators.values()]
        self.buffers = [(layer, {k: v.copy() for k, v in layer.buffers.items()}) for layer in net.layers]

    def restore(self) -> None:
        for generator, state in self.states:
            generator.bit_generator.state = copy.deepcopy(state)
        for layer, buffers in self.buffers:
            for name, value in buffers.items():
                layer.buffers[name][...] = value


def modes_to_check(net: Network, X: np.ndarray, mode: str) -> tuple[bool, ...]:
    """The modes (``True``: training) ``mode`` asks for; ``"both"`` drops evaluation mode when it computes the
    same outputs for ``X`` as training mode (every layer that ignores the mode, e.g. Dense)."""
    if mode not in MODES:
        raise ConfigError(f"mode must be 'both' (training, then evaluation if it computes differently), 'train' or "
                          f"'eval'; got {mode!r}")
    if mode != "both":
        return MODES[mode]
    pinned = Pinned(net)
    outputs = []
    for training in (True, False):
        with in_mode(net, training):
            pinned.restore()
            outputs.append([A.copy() for A in net.layer_outputs(X)])
    pinned.restore()
    same = all(np.array_equal(a, b) for a, b in zip(*outputs))
    return (True,) if same else (True, False)


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
              max_seconds: float | None = 60.0, mode: str = "both") -> Report:
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
    mode : {"both", "train", "eval"}
        ``"both"`` (default): training mode, and evaluation mode too when some layer (Dropout, BatchNorm1d)
        computes differently in it; ``"train"`` or ``"eval"``: that mode only. The network's own mode is
        left as it was.

    Returns
    -------
    Report
        One finding per tensor (``"0.W"``, ``"0.b"``, ...; ``"0.W (eval)"`` in evaluation mode when both are
        checked) with ``max_abs_error``, ``rel_error``, ``checked``
        (entries compared / entries of the tensor) and ``kinks`` (entries whose difference crossed a kink, left
        out) in its details; ``moved_by`` when the tensor had to be checked at a nearby point (see the module
        docstring), whose ``checked`` and errors are then those of the nearby point; ``mode`` (``"train"`` or
        ``"eval"``). When a tensor fails, a note names the first layer (from the top) whose ``dX`` is wrong.
    """
    if not isinstance(net, Network):
        raise GlassnetTypeError(f"gradcheck needs a glassnet Network, got {type(net).__name__}; "
                                "for your own code use glassnet.doctor.check_gradients(loss_fn, params, grads)")
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ConfigError(f"eps must be a small positive number like 1e-5, got {eps!r}")
    twin = net.float64_copy()
    X64 = check_inputs(X, twin.n_in, np.float64)
    Y64 = twin._targets(y, X64.shape[0])
    try:
        modes = modes_to_check(twin, X64, mode)
    except ShapeError as exc:
        if X64.shape[0] != 1 or mode == "eval":
            raise
        raise ShapeError(f"gradcheck: {exc}. To check one sample, pass mode='eval' (evaluation mode only), or "
                         "check two samples or more") from None

    def every_mode() -> None:  # what plan() times: one evaluation of the loss in each mode checked
        for training in modes:
            with in_mode(twin, training):
                _evaluator(twin, X64, Y64)()

    entries = plan(twin.parameters(), every_mode, sample, seed, max_seconds)
    in_words = " and ".join("training" if training else "evaluation" for training in modes)
    report = Report(f"gradcheck of {net} on {X64.shape[0]} samples (eps={eps:g}, float64, {in_words} mode)",
                    columns=("max_abs_error", "rel_error", "checked", "kinks"))
    for training in modes:
        with in_mode(twin, training):
            findings = _check_mode(twin, X64, Y64, eps, entries, seed)
            for f in findings:
                f.details["mode"] = "train" if training else "eval"
                if not training and len(modes) > 1:
                    f.param = f"{f.param} (eval)"
                    f.message = f"evaluation mode: {f.message}"
            report.findings += findings
            if any(not f.ok for f in findings):
                report.notes += _locate(twin, X64, Y64, eps, findings, seed)
    if sample is not None:
        report.notes.append(f"sampled at most {sample} entries per tensor (seed {seed}); every tensor was checked")
    return report


def _check_mode(twin: Network, X: np.ndarray, Y: np.ndarray, eps: float, entries: dict[str, np.ndarray],
                seed: int) -> list[Finding]:
    """One finding per tensor of ``twin`` in its current mode."""
    analytic, numeric = _differences(twin, X, Y, eps, entries)
    noise = _noise(twin, X, Y, eps)
    findings = []
    for name, diff in numeric.items():
        if len(diff.kinks) and diff.kinks.all():  # nothing of this tensor could be compared here
            findings.append(_check_nearby(twin, X, Y, name, diff, eps, seed))
        else:
            findings.append(_finding(name, twin, analytic[name].reshape(-1)[diff.indices], diff.values,
                                     diff.kinks, diff.indices, analytic[name].shape, noise))
    return findings


def _noise(net: Network, X: np.ndarray, Y: np.ndarray, eps: float) -> float:
    """The smallest difference central differences with step ``eps`` can tell from rounding at ``net``'s loss."""
    loss = _evaluator(net, X, Y)()[0]
    return NOISE * float(np.finfo(np.float64).eps) * max(1.0, abs(loss)) / eps


def _evaluator(net: Network, X: np.ndarray, Y: np.ndarray) -> Callable[[], tuple[float, Any]]:
    """The loss at ``net``'s current parameters, with the sides of every kink its pre-activations are on.

    The signature (``sign(Z - kink)`` per layer whose activation has kinks) is what
    :func:`~glassnet.verify.numeric.central_differences` compares between ``+eps`` and ``-eps``. Every
    evaluation starts from the random state and buffers ``net`` has now (see :class:`Pinned`).
    """
    kinked = [(layer, layer.activation.kinks) for layer in net.layers
              if layer.activation is not None and layer.activation.kinks]
    pinned = Pinned(net)

    def evaluate() -> tuple[float, Any]:
        pinned.restore()
        net._forward(X)
        signature = [np.sign(layer.cache["Z"] - k) for layer, kinks in kinked if "Z" in layer.cache for k in kinks]
        return net._loss_value(Y), signature or None

    return evaluate


def _differences(net: Network, X: np.ndarray, Y: np.ndarray, eps: float,
                 entries: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Differences]]:
    """Backprop's gradients of ``net`` at ``(X, Y)`` and central differences at the chosen ``entries``, all with the
    same random draws (Dropout's masks) and from the same buffers; ``net``'s state is as before afterwards."""
    pinned = Pinned(net)
    analytic = net.gradients(X, Y)
    pinned.restore()
    numeric = central_differences(net.parameters(), _evaluator(net, X, Y), eps, entries)
    pinned.restore()
    return analytic, numeric


def _locate(twin: Network, X: np.ndarray, Y: np.ndarray, eps: float, findings: list[Finding], seed: int) -> list[str]:
    """Notes naming the first layer (from the top) whose ``dX`` disagrees with central differences.

    A layer's ``dX`` is the gradient of the loss with respect to its input: backprop's is what its ``backward``
    returns; the numerical one perturbs the input the layer receives (the layers below run as usual, with the
    same random draws). Checked on at most ``LOCATE_ENTRIES`` input entries per layer.
    """
    failed = [f for f in findings if not f.ok]
    lowest = min(int(f.param.split(".")[0]) for f in failed)
    for k in range(len(twin.layers) - 1, lowest, -1):
        found = _check_dX(twin, X, Y, eps, k, seed)
        if found is None:
            continue
        rel, entry, a, n = found
        layer = twin.layers[k]
        below = [f.param for f in failed if int(f.param.split(".")[0]) < k]
        for f in failed:
            if f.param in below:
                f.message += f" (inherited: layer {k}, {layer}, hands down a wrong dX; see the note)"
        return [f"layer {k} ({layer}) hands down a wrong gradient dL/dX to the layer below (relative error {rel:.1e}; "
                f"worst at input entry {entry}: analytic {a:.6g}, numerical {n:.6g}), while everything above it is "
                f"right: check the dX that {type(layer).__name__}.backward returns. The tensors below it "
                f"({', '.join(below)}) inherit its error"]
    return []


def _check_dX(net: Network, X: np.ndarray, Y: np.ndarray, eps: float, k: int,
              seed: int) -> tuple[float, tuple[int, ...], float, float] | None:
    """``(relative error, worst entry, analytic, numerical)`` of layer ``k``'s ``dX`` if it fails, else None."""
    layer = net.layers[k]
    returned: list[np.ndarray] = []
    shift = np.zeros((X.shape[0], layer.n_in))
    originals = {name: getattr(layer, name) for name in ("forward", "backward", "backward_from_dZ")
                 if hasattr(layer, name)}
    own = {name: vars(layer)[name] for name in originals if name in vars(layer)}  # set on the instance already

    def record(name: str) -> Callable[[np.ndarray], np.ndarray]:
        def wrapper(d: np.ndarray) -> np.ndarray:
            dX = originals[name](d)
            returned.append(np.array(dX, dtype=np.float64))
            return dX  # type: ignore[no-any-return]
        return wrapper

    try:
        setattr(layer, "forward", lambda A: originals["forward"](A + shift))  # noqa: B010 - on this instance only
        for name in originals.keys() - {"forward"}:
            setattr(layer, name, record(name))
        pinned = Pinned(net)
        net.gradients(X, Y)
        pinned.restore()
        if not returned:
            return None
        analytic = returned[-1]
        entries = choose_entries({"dX": shift}, LOCATE_ENTRIES, seed)
        diff = central_differences({"dX": shift}, _evaluator(net, X, Y), eps, entries)["dX"]
        pinned.restore()
    finally:
        for name in originals:
            if name in own:
                setattr(layer, name, own[name])
            else:
                delattr(layer, name)  # the instance attributes set above; the class's methods are back
    clean = ~diff.kinks
    if not clean.any():
        return None
    a, n = analytic.reshape(-1)[diff.indices][clean], diff.values[clean]
    err = np.abs(a - n)
    rel = float(err.max()) / max(float(np.abs(a).max()), float(np.abs(n).max()), TINY)
    if verdict_for(rel)[1]:
        return None
    worst = int(np.argmax(err))
    entry = tuple(int(i) for i in np.unravel_index(int(diff.indices[clean][worst]), shift.shape))
    return rel, entry, float(a[worst]), float(n[worst])


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
        moved = twin.float64_copy()
        for p in moved.parameters().values():
            p += _nudge(rng, p.shape, size)
        X_moved = X + _nudge(rng, X.shape, size)
        analytic, numeric = _differences(moved, X_moved, Y, eps, {name: given.indices})
        diff = numeric[name]
        if diff.kinks.all():
            continue
        found = _finding(name, moved, analytic[name].reshape(-1)[diff.indices], diff.values, diff.kinks,
                         diff.indices, analytic[name].shape, _noise(moved, X_moved, Y, eps))
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
             shape: tuple[int, ...], noise: float) -> Finding:
    """The verdict on tensor ``name`` from its analytic (``a``) and numerical (``n``) gradient at flat ``indices``;
    entries that crossed a kink (``kinks``) are left out of the error. Some entry must be free of kinks. Gradients
    that are 0 to within ``noise`` (what central differences can resolve, :func:`_noise`) agree."""
    layer = net.layers[int(name.split(".")[0])]
    clean = ~kinks
    err = np.abs(a - n)
    scale = max(float(np.abs(a[clean]).max(initial=0.0)), float(np.abs(n[clean]).max(initial=0.0)), TINY)
    max_abs = float(err[clean].max(initial=0.0))
    rel = max_abs / scale
    verdict, ok = verdict_for(rel)
    zero = not ok and scale <= noise  # both gradients are 0 as far as central differences can tell
    if zero:
        verdict, ok = "ok", True
    details: dict[str, Any] = {"max_abs_error": max_abs, "rel_error": rel,
                               "checked": f"{int(clean.sum())}/{int(np.prod(shape))}", "kinks": int(kinks.sum())}
    where = f"{name} ({layer})"
    if zero:
        message = (f"{where} matches the numerical gradient: both are 0 to within what central differences resolve "
                   f"(largest {scale:.1e}, noise {noise:.1e}; a bias just before a BatchNorm has gradient 0)")
    elif ok:
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
                   + ("(the activation derivative, or each parameter's gradient: for Dense dW = X.T @ dZ, "
                      "db = dZ.sum(axis=0))" if isinstance(layer, Dense) else
                      "(each parameter's gradient), or the dX a layer above hands down (see the notes)"))
        details["worst_entry"] = list(entry)
    return Finding(name, verdict, message, ok, details)
