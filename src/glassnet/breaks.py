"""When did it break? The first step at which a health warning's condition became true, and that step's ledger.

The health monitor (``verify/health.py``) looks at the network rarely (epochs 1, 2, 4, 8, ...), so a warning
such as "3 of 8 relu units of layer 0 output 0 for every sample" says only that it happened between two looks.
:func:`find_break` says exactly when: it replays the run from the last look that was clean, step by step and bit
for bit (``replay.py``), tests the warning's own condition after every step, and explains the first step after
which it held::

    history = net.fit(X, y, epochs=200, lr=2.0)        # HealthWarning: ... dead_relu ...
    found = gn.find_break(net, X, y)                   # a Break
    print(found)   # unit 3 of layer 0 (Dense(2 -> 8, relu)) died at step 412 (epoch 52, batch 4): this update ...
    found.ledger   # the Trace of that step (glassnet.explain), for those units, from the state before it

Nothing has to be planned for it. With ``monitor=True`` (``fit``'s default) ``replay.py``'s :class:`~glassnet.replay.Keyframes`
(added by ``glassnet/wiring.py`` right after the health monitor) keeps, in memory, the whole training state
(:func:`glassnet.checkpoint.capture_state`: parameters, buffers, optimizer state, random generator) at the last
look that found nothing new, and for each warning that fires the step it fired at and a fingerprint of the state
then. The replay must arrive at exactly that state; if it does not (other data, a learning-rate schedule, a
network changed since), :func:`find_break` says so and refuses to guess. A run that stopped on a
``TrainingDiverged`` is replayed up to the step that raised it. Memory: one copy of the state (plus one per
fired warning); fit's cost when nothing fires: a copy per look.

From a checkpoint (``fit(checkpoint=...)``): ``find_break(net, X, y, checkpoint="run.ckpt", epochs=N)`` replays
training on from the checkpoint's state to epoch ``N`` (what ``fit(..., resume=True)`` would compute) and finds the
first step at which any condition holds. The report's snapshots hold parameters only (no optimizer state, no
random generator), so they cannot be replayed bit for bit; the report marks the step found instead.

Numbering: steps are global and 1-based (``history.steps``), epochs and batches 1-based as ``fit`` counts them,
layers and units 0-based as the health warnings and ``net.layers`` number them (the ledger's symbols number layers
from 1).

Next read: ``replay.py`` (the replay and the conditions), ``interfaces/cli/breaks.py`` (``glassnet breaks``).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.checkpoint import data_fingerprint, file_state, read_checkpoint, restore_state
from glassnet.core.checks import check_inputs, positive_int
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError, TrainingDiverged, unknown_name
from glassnet.explain.trace import explain
from glassnet.replay import CHECKS, UNIT_CHECKS, Found, fresh_optimizer, recording_for, replay
from glassnet.verify.health import HealthMonitor


@dataclass
class Break:
    """The answer of :func:`find_break`: the first step after which ``condition`` held, and why.

    ``step`` is global and 1-based (``epoch``, ``batch`` 1-based too); ``layer`` and ``units`` 0-based as in the
    health warnings; ``numbers`` the values the sentence quotes (before and after the step); ``ledger`` the
    :class:`~glassnet.explain.trace.Trace` of that step for those units, from the state before it (``None`` when
    the step could not be explained: an update that overflowed); ``replayed`` the steps replayed
    (``(first, last)``); ``verified`` whether the replay was compared with the state ``fit`` had at ``last``.
    """

    condition: str
    step: int
    epoch: int
    batch: int
    layer: int | None
    units: list[int]
    sentence: str
    numbers: dict[str, Any]
    replayed: tuple[int, int]
    verified: bool
    ledger: Any = None
    steps_per_epoch: int = 1

    def mark(self) -> dict[str, Any]:
        """What the HTML report draws on its loss curve: where (``at``, in epochs: the step's place within its
        epoch), what and the sentence."""
        return {"condition": self.condition, "step": self.step, "epoch": self.epoch, "batch": self.batch,
                "at": self.epoch - 1 + self.batch / self.steps_per_epoch, "sentence": self.sentence}

    def to_text(self, ledger: bool = True) -> str:
        lines = [self.sentence, f"(replayed steps {self.replayed[0]}-{self.replayed[1]} bit for bit"
                 + (", checked against the state fit had then)" if self.verified else
                    " from a checkpoint: nothing recorded after it to compare with)")]
        if ledger and self.ledger is not None:
            lines += ["", f"The ledger of step {self.step} (from the state before it):", self.ledger.to_text()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "step": self.step, "epoch": self.epoch, "batch": self.batch,
                "layer": self.layer, "units": list(self.units), "sentence": self.sentence,
                "numbers": _plain(self.numbers), "replayed": list(self.replayed), "verified": self.verified,
                "steps_per_epoch": self.steps_per_epoch,
                "ledger": self.ledger.to_dict(latex=False) if self.ledger is not None else None}

    def __str__(self) -> str:
        return self.to_text(ledger=False)


def find_break(net: Network, X: Any, y: Any, condition: str | None = None, *,
               checkpoint: str | os.PathLike[str] | None = None, epochs: int | None = None,
               validation_data: tuple[Any, Any] | None = None) -> Break:
    """The first step of ``net``'s training after which a health condition held; see the module docstring.

    Parameters
    ----------
    net : Network
        The network after ``fit`` (or, with ``checkpoint``, any network of the checkpointed architecture).
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
        The training data ``fit`` was given.
    condition : str, optional
        One of ``dead_relu``, ``saturated``, ``exploding``, ``vanishing``, ``not_finite``, ``diverged``. Default:
        the first warning of the last ``fit`` (or, from a checkpoint, whichever condition comes first).
    checkpoint : path, optional
        Replay from this checkpoint file instead of the last ``fit``'s keyframes, on to epoch ``epochs``.
    validation_data : (X_val, y_val), optional
        With ``checkpoint``: the run's validation data, only to check that the data are the run's.
    """
    if condition is not None and condition not in CHECKS:
        raise unknown_name("condition", condition, CHECKS)
    X = check_inputs(X, net.n_in, net.dtype)
    Y = net._targets(y, X.shape[0])
    if checkpoint is not None:
        return _from_checkpoint(net, X, Y, condition, checkpoint, epochs, validation_data)
    record = recording_for(net)
    if record is None:
        raise ConfigError("find_break needs a run to replay: train with fit(..., monitor=True) (the default) first, "
                          "or pass checkpoint='run.ckpt' (a fit(checkpoint=...) file) and epochs")
    fired = [f for f in record.fired if f.check in CHECKS and condition in (None, f.check)]
    if not fired:
        said = ", ".join(f.check for f in record.fired) or "none"
        raise ConfigError(f"no {condition or 'health'} warning of a condition find_break can replay fired during the "
                          f"last fit of this network (warnings: {said}); conditions it replays: {', '.join(CHECKS)}")
    if record.settings["steering"]:
        raise ConfigError(f"the last fit ran callbacks before every step ({', '.join(record.settings['steering'])}), "
                          "which may change what a step computes (a learning-rate schedule); the replay would not "
                          "be that run, so glassnet does not guess. Train with a checkpoint and replay from it")
    if record.data != data_fingerprint(X, Y):
        raise ConfigError("X and y are not the data of the last fit of this network (their SHA-256 differs): the "
                          "replay must run the very same batches; pass the arrays fit was given")
    settings = {**record.settings, "steps_per_epoch": -(-len(X) // min(int(record.settings["batch_size"]), len(X)))}
    target = fired[0]
    wanted = [target.check]
    key = target.keyframe
    seen = replay(net, X, Y, settings, key.state, key.steps, target.steps, wanted, record.first,
                  expect_divergence=target.diverged)
    if seen.fingerprint != target.fingerprint or seen.diverged != target.diverged:
        raise ConfigError(f"replaying steps {key.steps + 1}-{target.steps} from epoch {key.epoch} did not arrive at "
                          "the state fit had there, bit for bit (the network or its optimizer state was changed "
                          "after fit, or training depends on something the replay cannot repeat); glassnet will "
                          "not guess which step it was")
    found = seen.found.get(target.check)
    if found is None:
        raise ConfigError(f"the {target.check} condition never held on the monitor's rows after any step of "
                          f"{key.steps + 1}-{target.steps} (the warning read the recorder's medians); nothing to show")
    return _answer(net, found, settings, (key.steps + 1, seen.steps), True, seen.row_loss, earlier=[
        f"{f.check} (epoch {f.epoch})" for f in record.fired if f.check in CHECKS and f.steps < target.steps])


def _from_checkpoint(net: Network, X: Any, Y: Any, condition: str | None, path: str | os.PathLike[str],
                     epochs: int | None, validation_data: tuple[Any, Any] | None) -> Break:
    if epochs is None:
        raise GlassnetTypeError("find_break(..., checkpoint=...) needs epochs=N: the epoch to replay up to")
    epochs = positive_int(epochs, "epochs")
    meta, arrays = read_checkpoint(path)
    section = meta["checkpoint"]
    flat = section["settings"]
    data = [X, Y] + ([check_inputs(validation_data[0], net.n_in, net.dtype),
                      net._targets(validation_data[1], len(validation_data[0]))] if validation_data else [])
    if flat.get("data") != data_fingerprint(*data):
        raise ConfigError(f"X and y are not the data checkpoint {path} was trained on (their SHA-256 differs"
                          + ("" if validation_data else "; if the run had validation data, pass validation_data")
                          + "): the replay must run the very same batches")
    try:
        state = file_state(net, meta, arrays)
    except KeyError as missing:
        raise ConfigError(f"checkpoint {path} is not of this network's architecture (it has no {missing}); pass "
                          f"glassnet.load({str(path)!r})") from None
    if flat.get("callbacks"):  # their config() is kept because they change what training computes (a schedule)
        raise ConfigError(f"checkpoint {path} was trained with callbacks that change training "
                          f"({', '.join(str(c.get('name', c)) if isinstance(c, dict) else str(c) for c in flat['callbacks'])}); "
                          "the replay runs the plain steps and would not be that run, so glassnet does not guess")
    settings = {"optimizer": {k[len("optimizer "):]: v for k, v in flat.items() if k.startswith("optimizer ")},
                "batch_size": flat["batch_size"], "shuffle": flat["shuffle"], "max_rows": HealthMonitor().max_rows}
    done = int(section["epoch"])
    if epochs <= done:
        raise ConfigError(f"checkpoint {path} is at epoch {done}; ask for epochs beyond it (epochs={done + 1} or more)")
    per_epoch = settings["steps_per_epoch"] = -(-len(X) // min(int(flat["batch_size"] or len(X)), len(X)))
    layers = section.get("layers") or {}
    first = ({"grad_norm": {int(k): v[0] for k, v in layers["grad_norm"].items() if "." not in k},
              "loss": layers["loss"][0]} if layers.get("step", [None])[:1] == [1] else {})
    wanted = [condition] if condition else list(CHECKS)
    start = int(section["steps"])
    seen = replay(net, X, Y, settings, state, start, start + (epochs - done) * per_epoch, wanted, first)
    if not seen.found:
        raise ConfigError(f"no {condition or 'health'} condition held after any step from epoch {done + 1} to {epochs} "
                          f"of the run checkpointed in {path}")
    found = min(seen.found.values(), key=lambda f: f.step)
    return _answer(net, found, settings, (start + 1, seen.steps), False, seen.row_loss)


def _answer(net: Network, found: Found, settings: dict[str, Any], replayed: tuple[int, int], verified: bool,
            row_loss: dict[int, float], earlier: list[str] | None = None) -> Break:
    """The :class:`Break` of a found step: its numbers, its sentence and its ledger (``earlier``: the replayable
    warnings that fired before this one, named in a divergence's sentence)."""
    numbers = dict(found.numbers)
    if found.check == "diverged" and earlier:
        numbers["earlier"] = earlier
    before = found.before
    lr = float(settings["optimizer"].get("lr", math.nan))
    numbers["lr"] = lr
    layer = net.layers[found.layer] if found.layer is not None else None
    if found.check in UNIT_CHECKS and layer is not None and before:
        i = found.layer
        for name in layer.params:
            numbers[f"{name}_before"] = _columns(before["params"][f"{i}.{name}"], found.units)
            numbers[f"{name}_after"] = _columns(numbers["params_after"][name], found.units)
            numbers[f"{name}_grad"] = _columns(numbers["grads"][name], found.units)
    numbers.pop("grads", None)
    numbers.pop("params_after", None)
    if found.check == "diverged" and row_loss:
        low = min(row_loss.values())
        numbers["growth_from"] = max(s for s, v in row_loss.items() if v == low) + 1  # after the last lowest loss
        numbers["lowest_loss"] = low
    return Break(found.check, found.step, found.epoch, found.batch, found.layer, list(found.units),
                 sentence(net, found, numbers, settings), numbers, replayed, verified,
                 _ledger(net, found, settings) if before else None, settings["steps_per_epoch"])


def _columns(array: Any, units: list[int]) -> Any:
    """The entries of ``units`` (a bias: its numbers; a weight matrix: each unit's column as a list)."""
    a = np.asarray(array)
    return a[units].tolist() if a.ndim == 1 else a[:, units].T.tolist()


def _ledger(net: Network, found: Found, settings: dict[str, Any]) -> Any:
    """The ledger (glassnet.explain) of the found step, from the state before it, for the units concerned."""
    copied, opt = copy.deepcopy(net), fresh_optimizer(settings["optimizer"])
    restore_state(copied, opt, found.before)
    neurons = {found.layer + 1: found.units} if found.layer is not None and found.units else None
    try:
        with np.errstate(all="ignore"):
            return explain(copied, *found.rows, optimizer=opt, neurons=neurons, rows=found.indices)
    except (TrainingDiverged, ConfigError):  # an update that overflows, or a step too large to write out
        return None


def _plain(value: Any) -> Any:
    """``value`` with NumPy numbers as Python ones and non-finite floats as strings (JSON-able)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def _g(x: float) -> str:
    return f"{x:.3g}"


def sentence(net: Network, found: Found, numbers: dict[str, Any], settings: dict[str, Any]) -> str:
    """The answer in words, as a teacher would say it (the numbers are those of ``numbers``)."""
    when = f"step {found.step} (epoch {found.epoch}, batch {found.batch})"
    lr = numbers["lr"]
    i = found.layer
    layer = f"layer {i} ({net.layers[i]})" if i is not None else ""
    if found.check in UNIT_CHECKS:
        verb = "died" if found.check == "dead_relu" else "saturated"
        parts = [_unit_sentence(found, numbers, k, f"Unit {unit} of {layer} {verb} at {when}", settings)
                 for k, unit in enumerate(found.units[:3])]
        if len(found.units) > 3:
            parts.append(f"Units {found.units[3:]} {verb} at the same step.")
        share = ("dead" if found.check == "dead_relu" else "saturated")
        threshold = HealthMonitor.DEAD_SHARE if found.check == "dead_relu" else HealthMonitor.SATURATED_SHARE
        parts.append(f"With {'it' if len(found.units) == 1 else 'them'}, {100 * numbers['share_after']:.3g}% of the "
                     f"units of layer {i} are {share} (the warning's threshold is {threshold:.0%}; before this step "
                     f"{100 * numbers['share_before']:.3g}%" + (f": units {numbers['already']}" if numbers["already"] else "")
                     + ").")
        return " ".join(parts)
    if found.check == "exploding":
        return (f"The gradient of {layer} exploded at {when}: its norm reached {_g(numbers['now'])}, "
                f"{numbers['factor']:.3g} times its {_g(numbers['start'])} at step 1 (the warning's threshold is "
                f"{HealthMonitor.EXPLODING:g} times), while the batch loss rose from {numbers['loss_start']:.4g} to "
                f"{numbers['loss']:.4g}; the learning rate is {lr:g}.")
    if found.check == "vanishing":
        return (f"The gradient of {layer} vanished at {when}: its norm {_g(numbers['norm'])} is "
                f"{numbers['norm'] / numbers['top']:.1e} times that of the last layer {numbers['top_layer']} "
                f"({_g(numbers['top'])}; the warning's threshold is {HealthMonitor.VANISHING:g} times).")
    if found.check == "not_finite":
        return f"At {when} the parameter(s) {', '.join(numbers['params'][:5])} first held NaN or inf."
    text = (f"Training diverged at {when}: the update of that step would have made a parameter (or the optimizer's "
            f"state) NaN or inf, with the learning rate {lr:g}.")
    if "growth_from" in numbers and numbers["growth_from"] < found.step:
        text += (f" Of the steps replayed (from the last look that found nothing new), the loss on the rows checked "
                 f"was lowest ({numbers['lowest_loss']:.4g}) after step {numbers['growth_from'] - 1}; from step "
                 f"{numbers['growth_from']} on it never came back down.")
    if numbers.get("earlier"):
        text += (f" Earlier warnings of this run: {', '.join(numbers['earlier'])}; find_break(net, X, y, condition) "
                 "shows where each began.")
    return text


def _unit_sentence(found: Found, numbers: dict[str, Any], k: int, head: str, settings: dict[str, Any]) -> str:
    """One unit's story: how the step moved its bias (and why), and its largest pre-activation before and after."""
    text = head
    lr = numbers["lr"]
    if "b_before" in numbers:
        b0, b1, g = numbers["b_before"][k], numbers["b_after"][k], numbers["b_grad"][k]
        text += f": this update moved its bias from {_g(b0)} to {_g(b1)}"
        plain = settings["optimizer"].get("name") == "sgd" and not settings["optimizer"].get("momentum")
        if plain and math.isclose(b1 - b0, -lr * g, rel_tol=1e-9, abs_tol=1e-300):
            text += f" because the learning rate {lr:g} times its gradient {_g(g)} is {_g(lr * g)}"
        else:
            text += f" (its gradient {_g(g)}, the learning rate {lr:g}; the optimizer's step {_g(b1 - b0)})"
    if "W_before" in numbers:
        w0, w1 = (float(np.linalg.norm(numbers[f"W_{when}"][k])) for when in ("before", "after"))
        text += f", and the length of its incoming weights from {_g(w0)} to {_g(w1)}"
    z0, z1 = numbers["max_z_before"][k], numbers["max_z_after"][k]
    rows = numbers["rows"]
    if found.check == "dead_relu":
        text += (f"; its largest pre-activation over the {rows} training rows checked went from {_g(z0)} to {_g(z1)}: "
                 "at most 0 on every row, it outputs 0 and gets no gradient from now on.")
    else:
        text += (f"; after it the unit's derivative is below {HealthMonitor.SATURATED:g} of its peak on at least 95% "
                 f"of the {rows} rows checked (its largest pre-activation went from {_g(z0)} to {_g(z1)}).")
    return text
