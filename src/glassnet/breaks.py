"""When did it break? The step after which a health warning's condition held (up to the warning), and its ledger.

The health monitor (``verify/health.py``) looks at the network rarely (epochs 1, 2, 4, 8, ...), so a warning
such as "3 of 8 relu units of layer 0 output 0 for every sample" says only that it happened between two looks.
:func:`find_break` says exactly when: it replays the run from the last look that was clean, step by step and bit
for bit (``replay.py``), tests the warning's own condition after every step, and explains the step after which it
held up to the look that warned (a dead unit may come back and die again: the earlier, brief episodes are named
too)::

    history = net.fit(X, y, epochs=200, lr=2.0)        # HealthWarning: ... dead_relu ...
    found = gn.find_break(net, X, y)                   # a Break
    print(found)   # unit 3 of layer 0 (Dense(2 -> 8, relu)) died at step 412 (epoch 52, batch 4): this update ...
    found.ledger   # the Trace of that step (glassnet.explain), for those units, from the state before it

Nothing has to be planned for it. With ``monitor=True`` (``fit``'s default) :class:`~glassnet.keyframes.Keyframes`
(added by ``glassnet/wiring.py`` right after the health monitor) keeps, in memory, the whole training state
(:func:`glassnet.checkpoint.capture_state`: parameters, buffers, optimizer state, random generator) at the last
look that found nothing new, and for each warning that fires the step it fired at and a fingerprint of the state
then. The replay must arrive at exactly that state; if it does not (other data, a learning-rate schedule, a
network changed since), :func:`find_break` says so and refuses to guess. A run that stopped on a
``TrainingDiverged`` is replayed up to the step that raised it. Memory: one copy of the state (plus one per
fired warning); fit's cost when nothing fires: a copy per look.

From a checkpoint (``fit(checkpoint=...)``): ``find_break(net, X, y, checkpoint="run.ckpt", epochs=N)`` replays
training on from the checkpoint's state to epoch ``N`` (what ``fit(..., resume=True)`` would compute) and finds the
earliest answer of any condition (a unit condition: the step after which it held to epoch ``N``). The report's
snapshots hold parameters only (no optimizer state, no random generator), so they cannot be replayed bit for bit;
``glassnet train --report`` marks the steps found after its fit instead (:func:`fired_breaks`).

Numbering: steps are global and 1-based (``history.steps``), epochs and batches 1-based as ``fit`` counts them,
layers and units 0-based as the health warnings and ``net.layers`` number them (the ledger's symbols number layers
from 1).

Next read: ``replay.py`` (the replay and the conditions), ``keyframes.py`` (what fit keeps), ``break_sentences.py``,
``interfaces/cli/breaks.py`` (``glassnet breaks``).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.break_sentences import sentence
from glassnet.checkpoint import data_fingerprint, file_state, read_checkpoint, restore_state
from glassnet.core.checks import check_inputs, positive_int
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetTypeError, TrainingDiverged, unknown_name
from glassnet.explain.ledger import estimate_terms
from glassnet.explain.trace import MAX_TERMS, explain
from glassnet.keyframes import first_step, net_fingerprint, recording_for
from glassnet.replay import CHECKS, UNIT_CHECKS, Found, fresh_optimizer, replay, state_before, steps_per_epoch, thresholds
from glassnet.verify.health import HealthMonitor


@dataclass
class Break:
    """The answer of :func:`find_break`: the step after which ``condition`` held, and why.

    ``step`` is global and 1-based (``epoch``, ``batch`` 1-based too); ``layer`` and ``units`` 0-based as in the
    health warnings; ``numbers`` the values the sentence quotes (before and after the step; ``episodes``: the
    earlier ``(began, ended)`` steps of a unit condition that came back); ``ledger`` the
    :class:`~glassnet.explain.trace.Trace` of that step for those units, from the state before it (``None`` when
    the step could not be explained: ``ledger_note`` says why); ``replayed`` the steps replayed
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
    ledger_note: str = field(default="")

    def mark(self) -> dict[str, Any]:
        """What the HTML report draws on its loss curve: where (``at``, in epochs: the step's place within its
        epoch, ``epoch - 1 + batch / steps_per_epoch``; the curve's first point is epoch 1, the loss after it, so a
        step of epoch 1 is drawn there), what and the sentence."""
        at = max(1.0, self.epoch - 1 + self.batch / self.steps_per_epoch)
        return {"condition": self.condition, "step": self.step, "epoch": self.epoch, "batch": self.batch,
                "at": at, "sentence": self.sentence}

    def to_text(self, ledger: bool = True) -> str:
        lines = [self.sentence, f"(replayed steps {self.replayed[0]}-{self.replayed[1]} bit for bit"
                 + (", checked against the state fit had then)" if self.verified else
                    " from a checkpoint: nothing recorded after it to compare with)")]
        if ledger and self.ledger is not None:
            lines += ["", f"The ledger of step {self.step} (from the state before it):", self.ledger.to_text()]
        elif ledger:
            lines += ["", f"No ledger of step {self.step}: {self.ledger_note or 'not asked for'}."]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "step": self.step, "epoch": self.epoch, "batch": self.batch,
                "layer": self.layer, "units": list(self.units), "sentence": self.sentence,
                "numbers": _plain(self.numbers), "replayed": list(self.replayed), "verified": self.verified,
                "steps_per_epoch": self.steps_per_epoch, "ledger_note": self.ledger_note,
                "ledger": self.ledger.to_dict(latex=False) if self.ledger is not None else None}

    def __str__(self) -> str:
        return self.to_text(ledger=False)


def find_break(net: Network, X: Any, y: Any, condition: str | None = None, *,
               checkpoint: str | os.PathLike[str] | None = None, epochs: int | None = None,
               validation_data: tuple[Any, Any] | None = None) -> Break:
    """The step of ``net``'s training after which a health condition held; see the module docstring.

    Parameters
    ----------
    net : Network
        The network after ``fit`` (or, with ``checkpoint``, any network of the checkpointed architecture).
    X : array of shape (n_samples, n_in)
    y : array of shape (n_samples,) or (n_samples, n_out)
        The training data ``fit`` was given.
    condition : str, optional
        One of ``dead_relu``, ``saturated``, ``exploding``, ``vanishing``, ``diverged``. Default: the first warning
        of the last ``fit`` (or, from a checkpoint, whichever condition comes first).
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
    if record.final is not None and record.final != net_fingerprint(net):
        raise ConfigError("the network changed since the fit that warned (a net.step, a change of its parameters, "
                          "or training with monitor=False after it): there is no run to replay that ends in this "
                          "network. Ask find_break right after the fit, or train again with monitor=True")
    fired = [f for f in record.fired if f.check in CHECKS and condition in (None, f.check)]
    if not fired:
        said = ", ".join(f.check for f in record.fired) or "none"
        raise ConfigError(f"no {condition or 'health'} warning of a condition find_break can replay fired during the "
                          f"last fit of this network (warnings: {said}); conditions it replays: {', '.join(CHECKS)}")
    if record.settings["steering"]:
        raise ConfigError(f"the last fit had {', '.join(record.settings['steering'])}, which changes what the steps "
                          "compute (the learning rate, from epoch to epoch or step to step); the replay runs plain "
                          "steps and would not be that run, so glassnet does not guess. Train without it to find "
                          "the step (EarlyStopping is fine: it only decides when to stop)")
    if record.data != data_fingerprint(X, Y):
        raise ConfigError("X and y are not the data of the last fit of this network (their SHA-256 differs): the "
                          "replay must run the very same batches; pass the arrays fit was given")
    settings = {**record.settings, "steps_per_epoch": steps_per_epoch(len(X), record.settings["batch_size"])}
    target = fired[0]
    key = target.keyframe
    seen = replay(net, X, Y, settings, key.state, key.steps, target.steps, [target.check], record.first,
                  expect_divergence=target.diverged)
    if seen.fingerprint != target.fingerprint or seen.diverged != target.diverged:
        raise ConfigError(f"replaying steps {key.steps + 1}-{target.steps} from epoch {key.epoch} did not arrive at "
                          "the state fit had there, bit for bit (the network or its optimizer state was changed "
                          "after fit, or training depends on something the replay cannot repeat); glassnet will "
                          "not guess which step it was")
    found = seen.found.get(target.check)
    if found is None:
        raise ConfigError(f"the {target.check} condition did not hold on the monitor's rows at the end of steps "
                          f"{key.steps + 1}-{target.steps} (the warning read the recorder's medians); nothing to show")
    found.before = state_before(net, X, Y, settings, key.state, key.steps, found.step)
    return _answer(net, found, settings, (key.steps + 1, seen.steps), True, seen.row_loss, earlier=[
        f"{f.check} (epoch {f.epoch})" for f in record.fired if f.check in CHECKS and f.steps < target.steps],
        until=f"step {target.steps}, the look that warned (epoch {target.epoch})")


def fired_breaks(net: Network, X: Any, y: Any) -> tuple[list[Break], list[str]]:
    """The :class:`Break` of each replayable warning the last ``fit`` of ``net`` gave (one replay each), and, for
    those :func:`find_break` refuses, why (``"dead_relu: ..."``): what ``glassnet train --report`` marks."""
    record = recording_for(net)
    found, refused = [], []
    for check in dict.fromkeys(f.check for f in (record.fired if record else []) if f.check in CHECKS):
        try:
            found.append(find_break(net, X, y, check))
        except ConfigError as error:
            refused.append(f"{check}: {error}")
    return found, refused


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
    # their config() is kept because they may change what training computes (a schedule); early stopping does not
    changing = [c for c in flat.get("callbacks") or [] if not (isinstance(c, dict) and c.get("name") == "early_stopping")]
    if changing:
        raise ConfigError(f"checkpoint {path} was trained with callbacks that change training "
                          f"({', '.join(str(c.get('name', c)) if isinstance(c, dict) else str(c) for c in changing)}: "
                          "a learning-rate schedule); the replay runs the plain steps and would not be that run, so "
                          "glassnet does not guess")
    settings = {"optimizer": {k[len("optimizer "):]: v for k, v in flat.items() if k.startswith("optimizer ")},
                "batch_size": flat["batch_size"], "shuffle": flat["shuffle"], "max_rows": HealthMonitor().max_rows,
                "thresholds": thresholds()}
    done = int(section["epoch"])
    if epochs <= done:
        raise ConfigError(f"checkpoint {path} is at epoch {done}; ask for epochs beyond it (epochs={done + 1} or more)")
    per_epoch = settings["steps_per_epoch"] = steps_per_epoch(len(X), flat["batch_size"])
    wanted = [condition] if condition else list(CHECKS)
    start = int(section["steps"])
    seen = replay(net, X, Y, settings, state, start, start + (epochs - done) * per_epoch, wanted,
                  first_step(section.get("layers") or {}), stop_early=True)
    if not seen.found:
        raise ConfigError(f"no {condition or 'health'} condition held (at the end of the replay, for a unit "
                          f"condition) after any step from epoch {done + 1} to {epochs} of the run checkpointed in {path}")
    found = min(seen.found.values(), key=lambda f: f.step)
    found.before = state_before(net, X, Y, settings, state, start, found.step)
    return _answer(net, found, settings, (start + 1, seen.steps), False, seen.row_loss,
                   until=f"step {seen.steps}, the end of the replay (epoch {epochs})")


def _answer(net: Network, found: Found, settings: dict[str, Any], replayed: tuple[int, int], verified: bool,
            row_loss: dict[int, float], earlier: list[str] | None = None, until: str = "") -> Break:
    """The :class:`Break` of a found step: its numbers, its sentence and its ledger (``earlier``: the replayable
    warnings that fired before this one, named in a divergence's sentence; ``until``: where the replay ended)."""
    numbers = dict(found.numbers)
    if found.check == "diverged" and earlier:
        numbers["earlier"] = earlier
    before = found.before
    numbers["lr"] = float(settings["optimizer"].get("lr", math.nan))
    numbers["until"] = until
    layer = net.layers[found.layer] if found.layer is not None else None
    if found.check in UNIT_CHECKS and layer is not None and before:
        i = found.layer
        for name in layer.params:
            numbers[f"{name}_before"] = _columns(before["params"][f"{i}.{name}"], found.units)
            numbers[f"{name}_after"] = _columns(numbers["params_after"][name], found.units)
            numbers[f"{name}_grad"] = _columns(numbers["grads"][name], found.units)
        j = numbers["below"]  # how far the step moved the parameters of the layer under it
        numbers["below_change"] = max((float(np.max(np.abs(after - before["params"][f"{j}.{name}"])))
                                       for name, after in numbers["below_after"].items()), default=0.0)
    for bulky in ("grads", "params_after", "below_after"):
        numbers.pop(bulky, None)
    if found.check == "diverged" and row_loss:
        low = min(row_loss.values())
        numbers["lowest_after"] = max(s for s, v in row_loss.items() if v == low)  # the last step with the lowest loss
        numbers["lowest_loss"] = low
        numbers["replay_start"] = replayed[0] - 1
    ledger, note = _ledger(net, found, settings) if before else (None, "the state before it was not kept")
    return Break(found.check, found.step, found.epoch, found.batch, found.layer, list(found.units),
                 sentence(net, found, numbers, settings), numbers, replayed, verified, ledger,
                 settings["steps_per_epoch"], note)


def _columns(array: Any, units: list[int]) -> Any:
    """The entries of ``units`` (a bias: its numbers; a weight matrix: each unit's column as a list)."""
    a = np.asarray(array)
    return a[units].tolist() if a.ndim == 1 else a[:, units].T.tolist()


def ledger_neurons(net: Network, layer: int | None, units: list[int], rows: int) -> dict[int, list[int]] | None:
    """A compact selection for the ledger of a step (``explain(neurons=...)``, layers numbered from 1): the units
    concerned in their layer and the first few of every other layer, as many as fit in ``MAX_TERMS`` numbers
    (``None``: not even one unit a layer fits)."""
    for mine, others in ((3, 3), (3, 1), (1, 1)):
        chosen = {l: (units[:mine] if i == layer and units else list(range(min(others, net.layers[i].n_out))))
                  for i, l in enumerate(range(1, len(net.layers) + 1))}
        if estimate_terms(net, rows, {l: set(u) for l, u in chosen.items()}) <= MAX_TERMS:
            return chosen
    return None


def _ledger(net: Network, found: Found, settings: dict[str, Any]) -> tuple[Any, str]:
    """The ledger (glassnet.explain) of the found step, from the state before it, for the units concerned; or
    ``None`` and why not."""
    copied, opt = copy.deepcopy(net), fresh_optimizer(settings["optimizer"])
    restore_state(copied, opt, found.before)
    neurons = ledger_neurons(net, found.layer, found.units, len(found.indices))
    if neurons is None:
        return None, (f"the step's {len(found.indices)} rows through {net} make a ledger larger than "
                      f"{MAX_TERMS:,} numbers even with one unit a layer")
    try:
        with np.errstate(all="ignore"):
            return explain(copied, *found.rows, optimizer=opt, neurons=neurons, rows=found.indices,
                           check_step=False), ""
    except TrainingDiverged:
        return None, "its update overflows (the step that diverged), so it cannot be written out"
    except ConfigError as error:
        return None, f"it cannot be explained ({error})"


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

