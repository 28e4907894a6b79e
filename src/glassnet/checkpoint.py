"""Checkpoints: everything a training run needs to continue later exactly as if it never stopped.

``fit(X, y, ..., checkpoint="run.ckpt", checkpoint_every=10, resume=True)`` writes the file every 10
epochs and when training ends (also on Ctrl-C). Run the same call again after a crash or a kill and it
continues from the last checkpoint; the result is bit for bit the one of an uninterrupted run.

Bit-identical resumption needs every number that decides what happens next:

- the parameters (``"0.W"``, ``"0.b"``, ..., under whatever names a layer gives them) and the layers' buffers
  (BatchNorm's running statistics, ``"1.running_mean"``), as in a model file;
- the optimizer's state per parameter: SGD's velocity, Adam's ``m``, ``v`` and step count ``t``;
- the network's random-generator state (``net.rng``), which draws each epoch's shuffling order (and Dropout's
  masks: a Dropout layer draws from the network's generator);
- the history so far, the epoch and step counters.

A checkpoint is a glassnet model file (:mod:`glassnet.io`: ``.npz`` + JSON, checksummed, written
atomically) with extra arrays ``optimizer:<param>:<key>`` and ``history:<name>`` and a ``"checkpoint"``
metadata section, so ``glassnet.load("run.ckpt")`` also gives the network as it was at that epoch.
Checkpoints are taken at epoch ends only: an epoch cut short by Ctrl-C is discarded and redone on resume.

Resuming checks every array against the network before anything changes: the parameters and the optimizer's
buffers must have the shapes and dtype of the network's own parameters (the file's ``"parameters"`` map, which
any layer's shapes come from, is checked against the bytes the file can hold before any array is read).

The run's settings (architecture, seed, optimizer and its settings, batch size, shuffling, a SHA-256
of the training and validation data) are stored too; resuming with different ones is refused, since
the result would match neither run. Only ``epochs`` may grow, to train a finished run for longer.

One checkpoint has one writer: a run holds ``<checkpoint>.lock`` (an ``flock`` lock, which dies with its process)
from :meth:`Checkpointer.begin` until training ends, and a second run on the same checkpoint is refused, naming
the process that holds it. Only the holder removes the temporaries a killed writer left behind.

What a checkpoint records is read back as written: a validation loss that was ``inf``, an accuracy that was NaN.
The state that training continues from (parameters and optimizer buffers) must be finite; the writer refuses
anything else with the very rule the reader applies (:func:`state_problem`).

``fit`` itself knows nothing of checkpoints (the core imports nothing outside itself): ``glassnet/wiring.py``
turns ``checkpoint=`` into a :class:`Checkpointer`, lets it restore the run, and adds it as the last callback.

Next read: ``interfaces/cli/train.py`` (``--checkpoint``, ``--resume``).
"""

from __future__ import annotations

import errno
import glob
import json
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.checks import positive_int
from glassnet.core.network import Network
from glassnet.core.optimizers import Optimizer
from glassnet.core.training import History, Run
from glassnet.errors import ConfigError, GlassnetTypeError, ModelFileError, TrainingDiverged, shorten
from glassnet.io import checksum, expected_shapes, network_metadata, nonfinite_entry, os_error_text, read, save
from glassnet.verify import inside

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not protected from a second writer
    fcntl = None  # type: ignore[assignment]

CHECKPOINT_VERSION = 1
HISTORY_LISTS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")
# Lists a checkpoint written before they existed does not hold: read as empty (History.lr: the rate of each epoch).
NEWER_LISTS = ("lr",)
# Architecture entries of the metadata that must match between the checkpoint and the network resuming it.
ARCHITECTURE = ("layers", "loss", "l2", "dtype", "seed", "frozen")  # "frozen" only when any (Network.freeze)


def data_fingerprint(*arrays: NDArray[Any] | None) -> str:
    """SHA-256 of the arrays' positions, shapes, dtypes and bytes (``None`` for an absent one)."""
    return checksum({str(i): a for i, a in enumerate(arrays) if a is not None})


def run_settings(run: Run) -> dict[str, Any]:
    """The settings of a ``fit`` call that must match on resume: optimizer, batch size, shuffling, data, and the
    ``config()`` of each callback that has one (a learning-rate schedule, early stopping)."""
    settings = {"optimizer": run.optimizer.config(), "batch_size": run.batch_size, "shuffle": run.shuffle,
                "n_samples": run.X.shape[0], "data": data_fingerprint(run.X, run.Y, run.X_val, run.Y_val)}
    configs = [cb.config() for cb in run.callbacks if callable(getattr(cb, "config", None))]
    if configs:  # only then: a checkpoint of a run without them reads as before
        settings["callbacks"] = configs
    return settings


def stateful(callbacks: list[Any]) -> list[Any]:
    """The callbacks whose state a checkpoint keeps (``checkpoint_state`` and ``resume_state``), in order."""
    return [cb for cb in callbacks if callable(getattr(cb, "checkpoint_state", None))
            and callable(getattr(cb, "resume_state", None))]


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists), so saved and current settings compare equal."""
    return json.loads(json.dumps(value))


def _shapes_rule(meta: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shapes the checkpoint's own arrays must have, from its metadata (see :func:`glassnet.io.read`).

    An optimizer buffer has the shape of its parameter, as the file declares it: the metadata's ``"parameters"``
    map, whatever the layers call their parameters (files written before it held Dense layers only: ``W`` and
    ``b`` from the layer sizes). :func:`glassnet.io.read` has checked those shapes before it asks for these, and
    checks every declared shape against the bytes the file can hold before reading any array.
    """
    section: Any = meta.get("checkpoint")
    try:
        params = expected_shapes(meta, "checkpoint")
        shapes: dict[str, tuple[int, ...]] = {}
        for name, entries in section["optimizer_state"].items():
            for key, value in entries.items():
                if value is None and name not in params:  # (a number for a stray name is refused on resume)
                    raise ModelFileError(f"the checkpoint's optimizer state is damaged: it holds an array {key!r} of "
                                         f"{name!r}, a parameter the file does not declare")
                if value is None:  # stored as an array of the parameter's shape
                    shapes[f"optimizer:{name}:{key}"] = params[name]
        for i, declared in section.get("callbacks", {}).items():  # callbacks' own state (absent in older files)
            for key, shape in declared.items():
                if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
                    raise ValueError(shape)
                shapes[f"callback:{int(i)}:{key}"] = tuple(shape)
        for key in HISTORY_LISTS:
            if key in NEWER_LISTS and key not in section["history"]:
                continue
            length = section["history"][key]
            if not isinstance(length, int) or length < 0:
                raise ValueError(length)
            shapes[f"history:{key}"] = (length,)
    except ModelFileError:  # a ValueError too: the one above, which says what is wrong
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelFileError("the file is not a glassnet checkpoint, or its checkpoint section is damaged "
                             "(a model saved with Network.save is not a checkpoint)") from None
    return shapes


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Read and verify a checkpoint; returns ``(metadata, arrays)``. Raises :class:`ModelFileError`."""
    try:
        meta, arrays = read(path, _shapes_rule)
    except ModelFileError as exc:
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise ModelFileError(f"{message}. Delete it, or give another checkpoint path, to start over") from None
    if meta["checkpoint"].get("version") != CHECKPOINT_VERSION:
        raise ModelFileError(f"{path} is checkpoint version {meta['checkpoint'].get('version')!r}; this glassnet "
                             f"resumes version {CHECKPOINT_VERSION}")
    return meta, arrays


def state_problem(arrays: dict[str, NDArray[Any]], optimizer_state: dict[str, dict[str, Any]]) -> str | None:
    """Where the state a run continues from is not finite, in words, or ``None``; the writer and the reader's rule.

    ``arrays`` are a checkpoint's arrays (the parameters and ``optimizer:<param>:<key>`` buffers are checked; the
    ``history:`` records are not, since a loss of ``inf`` is a fact worth keeping), ``optimizer_state`` its
    ``{param: {key: number or None}}`` section, whose numbers must be finite too.
    """
    for name, array in arrays.items():
        found = None if name.startswith("history:") else nonfinite_entry(name, array)
        if found:
            return found
    for name, entries in optimizer_state.items():
        for key, value in entries.items():
            if isinstance(value, float) and not np.isfinite(value):
                return f"the optimizer's {key} of {name} is {value}"
    return None


class CheckpointLock:
    """``<checkpoint>.lock``, held (``flock``) by the one run that writes the checkpoint.

    The operating system drops the lock when its process ends, killed or not, so a dead run never blocks the next.
    The file holds the holder's pid and host, for the message a second run gets. A run of this same process that
    ended with an exception (no clean end) still holds it: a new run on the same checkpoint takes it over.
    """

    held: dict[str, CheckpointLock] = {}  # by real path of the lock file: this process's locks

    def __init__(self, checkpoint: str | os.PathLike[str]) -> None:
        self.checkpoint = os.fspath(checkpoint)
        self.path = self.checkpoint + ".lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ModelFileError` naming the process that holds it."""
        if fcntl is None:
            return
        key = os.path.realpath(self.path)
        if key in self.held:
            self.held[key].release()
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ModelFileError(f"cannot use checkpoint {self.checkpoint}: cannot create its lock file {self.path}: "
                                     f"{os_error_text(exc)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "a process that is starting"
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise ModelFileError(f"cannot lock checkpoint {self.checkpoint}: {os_error_text(exc)}") from None
                raise ModelFileError(
                    f"checkpoint {self.checkpoint} is in use by another run ({holder}). Two runs writing one checkpoint "
                    "would destroy each other's work: wait for that run to end (or stop it), or give this run another "
                    "checkpoint path") from None
            # A holder that ended between our open and our lock removed the file we locked: lock the one at the path.
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                current = False
            if current:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self.fd = fd
        self.held[key] = self

    def release(self) -> None:
        """Remove the lock file and drop the lock (removed first, while still held, so no one locks a dead file)."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
        self.held.pop(os.path.realpath(self.path), None)


def saved_epoch(path: str | os.PathLike[str]) -> int | None:
    """The epoch a checkpoint file was taken at, or ``None`` if there is no file (a damaged one raises)."""
    if not os.path.exists(path):
        return None
    return int(read_checkpoint(path)[0]["checkpoint"]["epoch"])


def checkpoint_settings(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a resumed command line may leave out: the ``loss`` and ``output_activation`` names and the ``seed`` of
    the network a checkpoint file was taken of. A checkpoint another run is writing is refused here already."""
    lock = CheckpointLock(path)
    lock.acquire()  # raises naming the run that holds it
    lock.release()
    meta = read_checkpoint(path)[0]
    try:
        loss, output = meta["loss"]["name"], meta["layers"][-1]["activation"]["name"]
    except (KeyError, TypeError, IndexError):  # an older file (names as plain strings), a custom last layer
        loss = output = None  # nothing taken: the command line's own choice, checked against the file on resume
    return {"loss": loss, "output_activation": output, "seed": meta.get("seed")}


def capture_state(net: Network, opt: Optimizer, copy: bool = True) -> dict[str, Any]:
    """Every number that decides what training does next: ``{"params", "buffers", "optimizer", "rng"}``.

    What a checkpoint writes (:meth:`Checkpointer._capture` adds the counters and the history) and what
    ``glassnet.breaks`` keeps in memory at the health monitor's looks to replay a run from; ``copy`` takes copies
    so later steps (which update the arrays in place) cannot change it.
    """
    take = (lambda a: a.copy()) if copy else (lambda a: a)
    return {
        "params": {key: take(p) for key, p in net.parameters().items()},
        "buffers": {key: take(b) for key, b in net.buffers().items()},
        "optimizer": {name: {key: take(v) if isinstance(v, np.ndarray) else v for key, v in entries.items()}
                      for name, entries in opt.state.items()},
        "rng": net.rng.bit_generator.state,
    }


def restore_state(net: Network, opt: Optimizer, state: dict[str, Any]) -> None:
    """Put a :func:`capture_state` back into ``net`` and ``opt`` (copies: the state can be restored again)."""
    net.set_parameters({key: state["params"][key] for key in net.parameters()})
    net.set_buffers({key: state["buffers"][key] for key in net.buffers()})
    opt.state = {name: {key: v.copy() if isinstance(v, np.ndarray) else v for key, v in entries.items()}
                 for name, entries in state["optimizer"].items()}
    net.rng.bit_generator.state = state["rng"]


def file_state(net: Network, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> dict[str, Any]:
    """The :func:`capture_state` a checkpoint's ``(metadata, arrays)`` (:func:`read_checkpoint`) holds for ``net``."""
    section = meta["checkpoint"]
    return {"params": {key: arrays[key] for key in net.parameters()},
            "buffers": {key: arrays[key] for key in net.buffers()},
            "optimizer": {name: {key: arrays[f"optimizer:{name}:{key}"] if value is None else value
                                 for key, value in entries.items()}
                          for name, entries in section["optimizer_state"].items()},
            "rng": section["rng"]}


def state_fingerprint(state: dict[str, Any]) -> str:
    """SHA-256 of a :func:`capture_state`: equal exactly when every bit of it is equal."""
    arrays = {f"param:{k}": a for k, a in state["params"].items()}
    arrays.update({f"buffer:{k}": a for k, a in state["buffers"].items()})
    numbers: dict[str, Any] = {"rng": state["rng"]}
    for name, entries in state["optimizer"].items():
        for key, v in entries.items():
            if isinstance(v, np.ndarray):
                arrays[f"optimizer:{name}:{key}"] = v
            else:
                numbers[f"optimizer:{name}:{key}"] = repr(v)
    return checksum(arrays, _plain(numbers))


class Checkpointer:
    """Saves and restores training state for :func:`glassnet.core.training.fit`; a fit callback.

    ``glassnet/wiring.py`` makes one for ``fit(checkpoint=...)``, calls :meth:`begin` before training starts
    and adds it after every other callback.

    Parameters
    ----------
    path : str or path
        The checkpoint file.
    every : int, optional
        Save every ``every`` epochs (and always when training ends). ``None``: about 100 saves per run.
    settings : dict
        The fit settings that must match on resume (see the module docstring); :func:`run_settings`.
    """

    def __init__(self, path: str | os.PathLike[str], every: int | None, settings: dict[str, Any],
                 callbacks: Sequence[Any] = ()) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise GlassnetTypeError(f"checkpoint must be a file path (str or pathlib.Path), got {type(path).__name__}")
        self.path = path
        self.every = 0 if every is None else positive_int(every, "checkpoint_every")
        # One entry per setting (optimizer settings flattened), so a refusal names exactly what differs.
        flat = {key: value for key, value in settings.items() if key != "optimizer"}
        flat.update({f"optimizer {key}": value for key, value in settings.get("optimizer", {}).items()})
        self.settings = _plain(flat)
        self.saved_at = 0
        self.previous_seconds = 0.0
        self.pending: dict[str, Any] | None = None
        self.lock = CheckpointLock(path)
        self.keeps = stateful(list(callbacks))  # callbacks whose state each checkpoint keeps (early stopping's best)
        self.resumed: dict[int, dict[str, NDArray[Any]]] | None = None  # their state read back, until on_train_begin

    # ------------------------------------------------------------------ starting: fresh or resumed
    def begin(self, net: Network, opt: Optimizer, history: History, epochs: int, resume: bool) -> int:
        """Take the checkpoint's lock, and restore the state from the file when resuming; returns the number of
        epochs already done. A refusal leaves the lock free and everything else as it was."""
        self.net, self.opt, self.history = net, opt, history
        self.started = time.perf_counter()
        if not self.every:
            self.every = max(1, epochs // 100)
        self.lock.acquire()
        try:
            return self._begin(epochs, resume)
        except BaseException:
            self.lock.release()
            raise

    def _begin(self, epochs: int, resume: bool) -> int:
        exists = os.path.exists(self.path)
        if exists and not resume:
            raise ConfigError(
                f"checkpoint {self.path} already exists; pass resume=True (--resume) to continue that run, or delete "
                "the file (or choose another path) to start a new one. glassnet does not overwrite it unasked"
            )
        if not exists:
            return 0
        self._remove_stale_temporaries()
        meta, arrays = read_checkpoint(self.path)
        self._check_section(meta["checkpoint"], arrays)
        self._check_same_run(meta, epochs)
        self._check_arrays(meta["checkpoint"], arrays)
        self._restore(meta, arrays)  # only after every check: a refused checkpoint leaves the network as it was
        self.saved_at = int(meta["checkpoint"]["epoch"])
        return self.saved_at

    def _remove_stale_temporaries(self) -> None:
        """A writer killed mid-write leaves its temporary file (never the checkpoint itself) behind.

        Called with the lock held: any other writer of this checkpoint is gone, so its temporaries are stale.
        """
        folder, name = os.path.split(os.fspath(self.path))
        for tmp in glob.glob(os.path.join(glob.escape(folder or "."), f".{glob.escape(name)}.*.tmp")):
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _check_section(self, section: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        """Types and values of the checkpoint section (a hand-made file can pass the checksum)."""
        def damaged(what: str) -> ModelFileError:
            return ModelFileError(f"{self.path}: the checkpoint's {what} is damaged. Delete it, or give another "
                                  "checkpoint path, to start over")

        counts = [section.get(key) for key in ("epoch", "steps")]
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise damaged("epoch or step count")
        if not isinstance(section.get("seconds"), (int, float)) or not isinstance(section.get("settings"), dict):
            raise damaged("time or settings")
        if section["history"]["loss"] != section["epoch"]:
            raise damaged("history (its length is not the epoch count)")
        if inside.problem(section.get("layers", {})):  # history.layers (verify/inside.py); absent in older files
            raise damaged(f"record of the layers' gradient norms ({inside.problem(section['layers'])})")
        params = self.net.parameters()
        for name, entries in section["optimizer_state"].items():
            if name not in params or not isinstance(entries, dict):
                raise damaged(f"optimizer state ({name!r} is not a parameter of this network)")
            for key, value in entries.items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise damaged(f"optimizer state ({name}: {key} = {value!r})")
        problem = state_problem(arrays, section["optimizer_state"])
        if problem:
            raise damaged(f"arrays (NaN or inf inside: {problem})")
        rng_state = section.get("rng")
        probe = type(self.net.rng.bit_generator)()  # try the state on a spare generator, not on the network's
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != type(probe).__name__:
            raise damaged("random-generator state (it is for another generator)")
        try:
            probe.state = rng_state
        except (TypeError, ValueError, KeyError, OverflowError):
            raise damaged("random-generator state") from None

    def _check_same_run(self, meta: dict[str, Any], epochs: int) -> None:
        current = {key: value for key, value in _plain(network_metadata(self.net)).items() if key in ARCHITECTURE}
        saved = {key: meta.get(key) for key in ARCHITECTURE}
        saved_settings = meta["checkpoint"].get("settings", {})
        differences = [f"{key}: {shorten(saved[key])} in the checkpoint, {shorten(current.get(key))} now"
                       for key in ARCHITECTURE if saved[key] != current.get(key)]
        differences += [f"{key}: {shorten(saved_settings.get(key))} in the checkpoint, {shorten(self.settings.get(key))} now"
                        for key in dict.fromkeys([*self.settings, *saved_settings])
                        if saved_settings.get(key) != self.settings.get(key)]
        if differences:
            raise ConfigError(
                f"checkpoint {self.path} belongs to a different run, so resuming it would match neither run: "
                + "; ".join(differences) + ". Resume with the same settings, or delete the file (or choose another "
                "path) to start over"
            )
        done = int(meta["checkpoint"]["epoch"])
        if done > epochs:
            raise ConfigError(f"checkpoint {self.path} is at epoch {done}, beyond epochs={epochs}; "
                              f"ask for at least {done} epochs to resume it")

    def _check_arrays(self, section: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        """Every parameter and optimizer buffer has the shape and dtype of the network's own parameter, and every
        layer buffer (running statistics) those of the network's own buffer.

        The file's arrays match the shapes its metadata declares (:func:`glassnet.io.read`), and its layers match
        the network's (:meth:`_check_same_run`); a hand-made file can still declare other parameter shapes than
        its layers have, or other dtypes, which would resume a run that is neither.
        """
        kinds = [("parameter", self.net.parameters()), ("buffer", self.net.buffers())]
        for kind, key, p in [(kind, key, p) for kind, arrays_of in kinds for key, p in arrays_of.items()]:
            stored = [arrays.get(key)] + [arrays[f"optimizer:{key}:{name}"]
                                          for name, value in section["optimizer_state"].get(key, {}).items() if value is None]
            for a in stored:
                if a is None or a.shape != p.shape or a.dtype != p.dtype:
                    found = "missing" if a is None else f"{a.dtype} of shape {a.shape}"
                    raise ModelFileError(
                        f"{self.path}: the checkpoint's arrays are damaged (an array of {kind} {key} is {found}; "
                        f"the network's {key} is {p.dtype} of shape {p.shape}). Delete it, or give another checkpoint "
                        "path, to start over")

    def _restore(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        section = meta["checkpoint"]
        restore_state(self.net, self.opt, file_state(self.net, meta, arrays))
        for key in HISTORY_LISTS:
            saved = arrays.get(f"history:{key}")  # None only for a NEWER_LISTS entry of an older checkpoint
            getattr(self.history, key)[:] = [] if saved is None else saved.tolist()
        self.history.layers = section.get("layers") or {}  # the layer-stats recorder continues it
        self.resumed = {i: {key: arrays[f"callback:{i}:{key}"] for key in section.get("callbacks", {}).get(str(i), {})}
                        for i in range(len(self.keeps))}
        self.history.epochs = int(section["epoch"])
        self.history.steps = int(section["steps"])
        self.previous_seconds = float(section["seconds"])

    # ------------------------------------------------------------------ saving at epoch ends
    def _capture(self, epoch: int, copy: bool) -> dict[str, Any]:
        """The state after ``epoch``; ``copy`` takes copies so later steps cannot change it."""
        take = (lambda a: a.copy()) if copy else (lambda a: a)
        return {
            "epoch": epoch, "steps": self.history.steps,
            "seconds": self.previous_seconds + time.perf_counter() - self.started,
            **capture_state(self.net, self.opt, copy),
            # Lengths only: fit only appends to the history, so the lists' first entries never change.
            "history": {key: len(getattr(self.history, key)) for key in HISTORY_LISTS},
            "layers": len(self.history.layers.get("step", ())),  # samples of history.layers (which only grows)
            "callbacks": [{key: take(a) for key, a in cb.checkpoint_state().items()} for cb in self.keeps],
        }

    def on_train_begin(self, net: Network, info: dict[str, Any]) -> None:
        """Hand each stateful callback what the checkpoint kept of it (after its own ``on_train_begin`` ran: the
        checkpointer comes after every other callback)."""
        if self.resumed is not None:
            for i, cb in enumerate(self.keeps):
                cb.resume_state(self.resumed[i])
            self.resumed = None

    def on_epoch_end(self, net: Network, epoch: int, logs: dict[str, float]) -> None:
        due = epoch % self.every == 0
        state = self._capture(epoch, copy=not due)
        if not due:
            self.pending = state
            return
        try:
            self._write(state)
        except BaseException:  # the error ends the run (fit calls no on_train_end then): free the checkpoint
            self.lock.release()
            raise

    def on_train_end(self, net: Network, history: History) -> None:
        history.seconds += self.previous_seconds
        try:
            if self.pending is not None and self.pending["epoch"] > self.saved_at:
                self._write(self.pending)
        finally:
            self.lock.release()

    def on_train_abort(self, net: Network, error: BaseException) -> None:
        self.lock.release()  # the file keeps the last checkpoint written; the next run may take it up

    def _write(self, state: dict[str, Any]) -> None:
        arrays: dict[str, NDArray[Any]] = {}
        optimizer_state: dict[str, dict[str, Any]] = {}
        for name, entries in state["optimizer"].items():
            optimizer_state[name] = {}
            for key, value in entries.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optimizer:{name}:{key}"] = value
                    optimizer_state[name][key] = None
                else:
                    optimizer_state[name][key] = value
        for key, length in state["history"].items():
            arrays[f"history:{key}"] = np.fromiter(getattr(self.history, key), np.float64, count=length)
        for i, kept in enumerate(state["callbacks"]):
            arrays.update({f"callback:{i}:{key}": np.asarray(a) for key, a in kept.items()})
        # The reader's rule: write what resumes.
        problem = state_problem({**state["params"], **state["buffers"], **arrays}, optimizer_state)
        if problem:
            raise TrainingDiverged(
                f"training diverged by epoch {state['epoch']}: {problem}, so checkpoint {self.path} is not written "
                f"(it could not be resumed); "
                + (f"the one of epoch {self.saved_at} is kept" if self.saved_at else "none was written before")
                + ". Try a smaller learning rate",
                epoch=state["epoch"])
        section = {
            "version": CHECKPOINT_VERSION, "epoch": state["epoch"], "steps": state["steps"],
            "seconds": state["seconds"], "rng": state["rng"], "settings": self.settings,
            "optimizer_state": optimizer_state, "history": state["history"],
            "layers": inside.upto(self.history.layers, state["layers"]),
            "callbacks": {str(i): {key: list(np.shape(a)) for key, a in kept.items()}
                          for i, kept in enumerate(state["callbacks"]) if kept},
        }
        save(self.net, self.path, arrays=arrays, sections={"checkpoint": section}, parameters=state["params"],
             buffers=state["buffers"])
        self.saved_at = state["epoch"]
        self.pending = None
