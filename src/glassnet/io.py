"""Saving and loading networks: an ``.npz`` archive of the parameters plus JSON metadata.

The file is a zip of ``.npy`` arrays (``"0.W"``, ``"0.b"``, ...; the layers' buffers, such as BatchNorm's
``"1.running_mean"``, beside them) and one ``__glassnet__.npy`` array of UTF-8 bytes holding the metadata: format
name and version, architecture, loss, L2, dtype and a SHA-256 checksum of the arrays *and* the metadata.
Checkpoints (:mod:`glassnet.checkpoint`) are the same kind of file with more arrays and a ``"checkpoint"``
section, so any checkpoint also loads as a model.

The architecture is each layer's own ``config()`` (``{"name": "dense", "n_in": 2, "n_out": 3, "activation":
{"name": "leaky_relu", "slope": 0.01}}``), the loss's ``config()`` (``{"name": "huber", "delta": 1.0}``) and the
shape of every parameter (and, under ``"buffers"``, of every buffer: only networks that have buffers write the
entry, so files of Dense networks are as before and all older files load); loading rebuilds them with
``LAYERS.from_config`` and ``LOSSES.from_config`` (activations inside a layer's config with
``ACTIVATIONS.from_config``), so this module knows no layer, activation or loss by name, and a part's settings
survive the round trip because the part itself lists them. A layer class of your own loads once registered:
``glassnet.core.layers.LAYERS.add(MyLayer)``.
Files written before layers had configs (layers as ``{"n_in", "n_out", "activation": name}`` with the
activation's settings beside them, e.g. ``"slope"``, and the loss as a name) still load: :func:`upgrade`
rewrites their architecture into the current form.

Reading trusts nothing in the file. It is never a pickle: arrays are read with their ``.npy`` headers
parsed by hand and only plain float arrays are accepted. Every declared shape is checked *before* any
data is read: against the bytes the file can physically hold (so a forged header cannot make glassnet
allocate gigabytes) and against the parameter shapes in the metadata; once the layers are rebuilt from
their configs, their parameters' shapes are checked against the file's too. Nothing in a file is ever
executed: a layer, activation or loss is rebuilt only from a class registered in this glassnet.

Reading never inflates more than the metadata declares: every array beyond the parameters is listed with its shape
under ``"arrays"`` (the buffers under ``"buffers"``), a member whose zip entry holds more bytes than its declared
shape needs is refused before any of it is read, and every read stops at the declared size (files written before
the list existed may hold at most ``MAX_UNDECLARED_BYTES`` plus 256 times their parameters' bytes in undeclared
arrays).

What glassnet writes, it reads back, and it writes only what it reads: :func:`save` and :func:`load` apply the same
rules, :func:`check_finite` to the parameters and buffers (a NaN or inf weight or running statistic is refused on
both sides, named with its row and column) and :func:`metadata_problem` to the entries of ``net.metadata`` that
glassnet's own readers use (``classes``, ``feature_names``, ``history``, ``standardize``, ``run``); metadata
nesting and size are bounded too.

Every write goes to a temporary file in the same folder, is flushed to disk and then renamed over
the target (:func:`atomic_write`), so a crash mid-write leaves any old file intact. An operating-system error on
the way (a full disk, a read-only folder, a file where a folder belongs) becomes a :class:`ModelFileError` (or the
writer's own error class) naming the file and saying what to do; the temporary is removed.

Next read: ``checkpoint.py`` (resuming training), ``errors.py`` (what goes wrong and how it is reported).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.layers import LAYERS, Dense
from glassnet.core.losses import LOSSES
from glassnet.core.network import Network
from glassnet.errors import ConfigError, GlassnetError, GlassnetTypeError, ModelFileError, shorten

FORMAT = "glassnet-model"
FORMAT_VERSION = 3
# Version 1 files (glassnet 0.1 before checkpoints) checksummed the arrays only; version 2 files checksum the
# metadata too but describe layers and loss by name (see upgrade); version 3 holds their configs. All still load.
READABLE_VERSIONS = (1, 2, 3)
META_KEY = "__glassnet__"
MAX_META_BYTES = 16 << 20  # JSON metadata beyond this is refused on save, so every saved file loads
# Deflate cannot expand data more than about 1032-fold: this bounds what a compressed member can hold.
MAX_DEFLATE_RATIO = 1032
# Metadata nested deeper than this is refused on save and on load: JSON that deep is no glassnet metadata, and
# Python's JSON reader and writer give up (RecursionError) a little beyond 900 levels.
MAX_META_DEPTH = 64
# Files written before every array was declared in the metadata ("arrays"): what their undeclared arrays
# (optimizer state, history, up to 200 snapshots of the parameters) may hold in all, as a fixed amount plus a
# multiple of the parameters' size. Files with the map hold no undeclared array at all.
MAX_UNDECLARED_BYTES = 16 << 20
UNDECLARED_BYTES_PER_PARAMETER_BYTE = 256

# What to say about an operating-system error, by errno: (what happened, how to fix it).
_OS_REASONS = {
    # (first: where there is no EDQUOT, the ENOSPC entry below replaces it)
    getattr(errno, "EDQUOT", errno.ENOSPC): ("the disk quota is used up", "free some space, or write to another disk"),
    errno.ENOSPC: ("the disk is full", "free some space, or write to another disk"),
    errno.EROFS: ("the file system is read-only", "write to a folder on a writable disk"),
    errno.EACCES: ("permission denied", "write to a folder you may write to, or change its permissions"),
    errno.EPERM: ("the operation is not permitted", "write to a folder you may write to, or change its permissions"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose a path inside a folder"),
    errno.ENOENT: ("the folder does not exist", "create it first, or choose another path"),
    errno.EISDIR: ("it is a folder", "give a file name inside it"),
    errno.ENAMETOOLONG: ("the file name is too long", "choose a shorter path"),
    errno.EIO: ("the disk reported an input/output error", "check the disk, or write to another one"),
}

ShapeRule = Callable[[dict[str, Any]], dict[str, tuple[int, ...]]]


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb",
                 error: type[GlassnetError] = ModelFileError) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On an exception (or a crash, or a kill) the target is untouched: it is only ever replaced by a
    complete file, in one rename. The temporary file is removed on an exception. A path that cannot
    be written (no such folder, a folder) raises ``error``: :class:`ModelFileError` for model and
    checkpoint files, :class:`OutputFileError` for everything else glassnet writes.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise GlassnetTypeError(f"a file path must be a string or a pathlib.Path, got {type(path).__name__}")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        if folder.exists():
            raise error(f"cannot write {target}: {folder} is a file, not a folder; choose a path inside a folder")
        raise error(f"cannot write {target}: folder {folder} does not exist; create it first, or choose another path")
    if target.is_dir():
        raise error(f"cannot write {target}: it is a folder; give a file name inside it")
    if target.exists() and not target.is_file():
        # The rename below would replace the device, pipe or socket itself (as root: /dev/null), not write into it.
        raise error(f"cannot write {target}: it is not a regular file (a device, pipe or socket); glassnet replaces "
                    "the files it writes whole, so give the name of a regular file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"cannot write {target}: {os_error_text(exc)}") from None
    try:
        _give_usual_permissions(fd, target)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:  # already gone, or the folder refuses: the old file is intact either way
            pass
        if isinstance(exc, OSError):  # disk full, read-only, ...: the writer's OSError is about this file
            raise error(f"cannot write {target}: {os_error_text(exc)}; the previous {target.name}, if any, is "
                        "unchanged") from None
        raise
    try:  # make the rename itself durable; not every platform allows opening a folder
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def os_error_text(exc: OSError, advice: bool = True) -> str:
    """What an operating-system error means for a file being written and how to fix it (``"the disk is full; free
    some space, or write to another disk"``; without ``advice`` only what it means); the system's own words for an
    error of another cause."""
    why, fix = _OS_REASONS.get(exc.errno or -1, (exc.strerror or str(exc) or type(exc).__name__, ""))
    return f"{why}; {fix}" if fix and advice else why


def _give_usual_permissions(fd: int, target: Path) -> None:
    """mkstemp makes a private (0600) file: give it the old file's mode, or what ``open`` would (0666 - umask)."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    try:
        os.fchmod(fd, mode)
    except (AttributeError, OSError):  # no fchmod on Windows, where mkstemp's default is fine
        pass


def _canonical_json(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, sort_keys=True).encode("utf-8")


def checksum(arrays: dict[str, NDArray[Any]], meta: dict[str, Any] | None = None) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in sorted name order, then ``meta``.

    ``meta`` (the metadata without its ``"checksum"`` entry) is hashed as sorted-key JSON, so a damaged
    number in the metadata (a learning rate, a random-generator state) is caught like a damaged weight.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    if meta is not None:
        digest.update(b"meta|" + _canonical_json(meta))
    return digest.hexdigest()


def network_metadata(net: Network) -> dict[str, Any]:
    """The architecture of ``net`` as plain JSON-able data (no parameter values): each layer's and the loss's
    ``config()``, and the shape of every parameter (what :func:`read` checks the arrays against)."""
    return {"layers": [layer.config() for layer in net.layers], "loss": net.loss_fn.config(),
            "parameters": {key: list(p.shape) for key, p in net.parameters().items()},
            "l2": net.l2, "dtype": net.dtype.name, "seed": net.seed,
            **({"frozen": net.frozen} if net.frozen else {}),  # only when any: older files read the same
            # Only networks with buffers (BatchNorm1d) have this entry: a Dense network's file is as it was.
            **({"buffers": {key: list(b.shape) for key, b in net.buffers().items()}} if net.buffers() else {})}


def _upgrade_layer(spec: Any) -> Any:
    """A layer of the files written before layers had configs, as ``Dense.config()`` describes it now.

    Those files held Dense layers only, as ``{"n_in", "n_out", "activation": name}`` with the activation's
    settings beside them (LeakyReLU's ``"slope"``, the only one there was); a layer with a ``"name"`` is
    already current and comes back unchanged, and so does anything that is not a dictionary.
    """
    if not isinstance(spec, dict) or "name" in spec:
        return spec
    placed = ("n_in", "n_out", "activation")
    layer = {"name": Dense.name, "n_in": spec.get("n_in"), "n_out": spec.get("n_out")}
    if "activation" in spec:  # those files always wrote one
        layer["activation"] = {"name": spec["activation"], **{k: v for k, v in spec.items() if k not in placed}}
    return layer


def upgrade(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with an architecture written by an earlier glassnet rewritten into the current form (layer
    configs, the loss as a config); current metadata comes back equal. Only the form changes, never a value."""
    meta = dict(meta)
    if isinstance(meta.get("layers"), list):
        meta["layers"] = [_upgrade_layer(spec) for spec in meta["layers"]]
    if isinstance(meta.get("loss"), str):
        meta["loss"] = {"name": meta["loss"]}
    return meta


def network_from_metadata(meta: dict[str, Any], source: str = "metadata") -> Network:
    """Build a network (fresh parameters) from :func:`network_metadata` output (or an earlier glassnet's)."""
    meta = upgrade(meta)
    try:
        layers = []
        for i, config in enumerate(meta["layers"]):
            if config["name"] not in LAYERS:
                raise ModelFileError(
                    f"{source}: layer {i} is of type {config['name']!r}, which this glassnet does not know (it knows "
                    f"{', '.join(LAYERS.names())}). If it is a layer class of your own, register it before loading: "
                    "glassnet.core.layers.LAYERS.add(YourLayer)")
            layers.append(LAYERS.from_config(config))
        net = Network(layers, loss=LOSSES.from_config(meta["loss"]), l2=meta["l2"], seed=meta.get("seed"),
                      dtype=meta["dtype"])
        frozen = meta.get("frozen", [])  # Network.frozen: parameter keys (freeze names an unknown one)
        if not (isinstance(frozen, list) and all(isinstance(key, str) for key in frozen)):
            raise ModelFileError(f"{source}: the metadata's 'frozen' must be a list of parameter keys, not "
                                 f"{shorten(frozen, 80)}")
        return net.freeze(*frozen) if frozen else net
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{source}: the architecture in the metadata is invalid ({exc})") from None


def nonfinite_entry(name: str, array: NDArray[Any]) -> str | None:
    """Where ``array`` first holds NaN or inf, in words (``"1.W holds inf at row 2, column 0"``), or ``None``."""
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return None
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    value = array[index]
    if array.ndim == 2:
        where = f"row {index[0]}, column {index[1]}"
    elif array.ndim == 1:
        where = f"entry {index[0]}"
    else:
        where = f"index {index}" if index else "its only entry"
    return f"{name} holds {value} at {where}"


def check_finite(arrays: dict[str, NDArray[Any]], error: type[GlassnetError], where: str, advice: str) -> None:
    """Raise ``error`` (``"<where>: <name> holds inf at row 2, column 0; <advice>"``) for the first array holding
    NaN or inf. A network with such a parameter predicts NaN for every input, so it is never written or read."""
    for name, array in arrays.items():
        found = nonfinite_entry(name, array)
        if found:
            raise error(f"{where}: {found}; {advice}")


def _json_depth(value: Any) -> int:
    """How deep lists and dictionaries nest in ``value`` (0 for a number); stops counting past MAX_META_DEPTH."""
    depth, level = 0, [value]
    while depth <= MAX_META_DEPTH:  # one level at a time: each step is a few calls into C, not one per entry
        containers = [item for item in level if isinstance(item, (dict, list, tuple))]
        if not containers:
            return depth
        depth += 1
        level = []
        for item in containers:
            level.extend(item.values() if isinstance(item, dict) else item)
    return depth


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(value: Any, finite: bool = False) -> bool:
    return isinstance(value, list) and all(_number(v) and (not finite or math.isfinite(v)) for v in value)


def _classes_problem(classes: Any, net: Network) -> str | None:
    if not isinstance(classes, list) or not all(isinstance(c, str) or (_number(c) and math.isfinite(c)) for c in classes):
        return f"must be a list of class names (text or finite numbers), not {shorten(classes, 80)}"
    # A classifier with one (sigmoid) output tells two classes apart; with k outputs, k classes (or k labels).
    count = 2 if net.n_out == 1 else net.n_out
    if net.is_classifier and len(classes) != count:
        return (f"names {len(classes)} class(es), but the classifier ({net.n_out} output(s)) has {count}: "
                f"give {count} names")
    return None


def _feature_names_problem(names: Any, net: Network) -> str | None:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return f"must be a list of column names (text), not {shorten(names, 80)}"
    if len(names) != net.n_in:
        return f"names {len(names)} column(s), but the network has {net.n_in} input(s)"
    return None


HISTORY_CURVES = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch")


def _history_problem(history: Any, net: Network) -> str | None:
    if not isinstance(history, dict) or not isinstance(history.get("loss"), list):
        return f"must be a dictionary with a 'loss' list (History.to_dict()), not {shorten(history, 80)}"
    for key, value in history.items():
        if key == "layers":  # History.layers: per-layer gradient norms and update ratios (verify/inside.py's form)
            from glassnet.verify.inside import problem as layers_problem

            problem = layers_problem(value)
            if problem:
                return f"entry 'layers' {problem}"
            continue
        if key in HISTORY_CURVES and not _numbers(value):
            return f"entry {shorten(key, 40)} must be a list of numbers, not {shorten(value, 80)}"
        if not (_numbers(value) or _number(value) or isinstance(value, str) or value is None):
            return f"entry {shorten(key, 40)} must be numbers or text, not {shorten(value, 80)}"
    if "epoch" in history:
        longer = [key for key in HISTORY_CURVES if len(history.get(key, [])) > len(history["epoch"])]
        if longer:
            return f"has more {longer[0]!r} values than 'epoch' numbers ({len(history['epoch'])})"
    return None


def _standardize_problem(spec: Any, net: Network) -> str | None:
    if not isinstance(spec, dict) or not _numbers(spec.get("mean"), finite=True) or not _numbers(spec.get("scale"), finite=True):
        return f"must hold finite 'mean' and 'scale' lists (Standardizer.to_dict()), not {shorten(spec, 80)}"
    if not len(spec["mean"]) == len(spec["scale"]) == net.n_in:
        return (f"has {len(spec['mean'])} means and {len(spec['scale'])} scales, but the network has "
                f"{net.n_in} input(s)")
    if min(spec["scale"], default=1.0) <= 0:
        return "has a scale <= 0; every scale must be positive"
    return None


def _run_problem(run: Any, net: Network) -> str | None:
    if not (isinstance(run, dict) and isinstance(run.get("snapshot_epochs"), list)
            and all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in run["snapshot_epochs"])
            and isinstance(run.get("curves"), dict) and all(_numbers(v) for v in run["curves"].values())
            and isinstance(run.get("info"), dict)):
        return ("must be a recorded run (SnapshotRecorder: snapshot epochs, curves of numbers, info), "
                f"not {shorten(run, 80)}")
    return None


# The entries of net.metadata that glassnet itself reads back (the CLI's predict, plot and report, the viz
# package), each with the rule its reader relies on. Any other entry is the user's and only has to be JSON.
METADATA_RULES: dict[str, Callable[[Any, Network], str | None]] = {
    "classes": _classes_problem, "feature_names": _feature_names_problem, "history": _history_problem,
    "standardize": _standardize_problem, "run": _run_problem,
}


def metadata_problem(extra: Any, net: Network) -> str | None:
    """What is wrong with ``extra`` (``net.metadata``, as JSON gives it back) for ``net``, or ``None``.

    The one rule for what :func:`save` writes and :func:`load` accepts: ``extra`` is a dictionary, and each entry
    that glassnet reads (:data:`METADATA_RULES`) has the form its reader needs, e.g. ``"classes"`` a list of as
    many names as the classifier has classes.
    """
    if not isinstance(extra, dict):
        return f"net.metadata must be a dictionary, not {type(extra).__name__}"
    for key, rule in METADATA_RULES.items():
        problem = rule(extra[key], net) if key in extra else None
        if problem:
            return f"net.metadata[{key!r}] {problem}"
    return None


def _jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: NumPy numbers and arrays become Python ones; anything else is refused."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return value.tolist()
    raise GlassnetTypeError(
        f"cannot save {type(value).__name__} {value!r:.60} in the model's metadata: net.metadata holds JSON "
        "data only (numbers, strings, lists, dicts)"
    )


def save(net: Network, path: str | os.PathLike[str], arrays: dict[str, NDArray[Any]] | None = None,
         sections: dict[str, Any] | None = None, parameters: dict[str, NDArray[Any]] | None = None,
         buffers: dict[str, NDArray[Any]] | None = None) -> None:
    """Write ``net`` to ``path`` atomically, with ``net.metadata``, extra float ``arrays`` and extra
    metadata ``sections`` (JSON-able dicts stored under their own keys) alongside.

    ``parameters`` (same keys as ``net.parameters()``) and ``buffers`` (same keys as ``net.buffers()``) are
    written instead of the live ones when given: a checkpoint writes them as they were at the end of its epoch.
    """
    params = {key: np.ascontiguousarray(p) for key, p in (parameters or net.parameters()).items()}
    check_finite(params, ConfigError, f"cannot save {path}", "a network with NaN or inf parameters computes NaN for "
                 "every input (did training diverge? train again with a smaller learning rate)")
    kept = {key: np.ascontiguousarray(b) for key, b in (net.buffers() if buffers is None else buffers).items()}
    check_finite(kept, ConfigError, f"cannot save {path}", "a layer's running statistics hold NaN or inf, so it would "
                 "compute NaN in evaluation mode (did training diverge? train again with a smaller learning rate)")
    clash = sorted(set(arrays or {}) & (set(params) | set(kept) | {META_KEY}))
    if clash:
        raise ModelFileError(f"cannot save extra arrays named {clash}: those names belong to the parameters")
    extras = {key: np.ascontiguousarray(a) for key, a in (arrays or {}).items()}
    params.update(kept)
    params.update(extras)
    meta: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, **network_metadata(net),
                            "arrays": {key: list(a.shape) for key, a in extras.items()},
                            "extra": net.metadata, **(sections or {})}
    if _json_depth(meta) > MAX_META_DEPTH:
        raise ConfigError(f"cannot save {path}: net.metadata nests lists or dictionaries more than {MAX_META_DEPTH - 2} "
                          "levels deep, which glassnet does not read back; flatten it")

    def too_large(size: int) -> ConfigError:
        return ConfigError(f"cannot save {path}: its metadata (net.metadata) takes {size / 2**20:.1f} MiB as JSON, more "
                           f"than the {MAX_META_BYTES / 2**20:g} MiB glassnet reads back; keep large data in a file of "
                           "its own")

    text = json.dumps(meta, default=_jsonable)
    if len(text) > MAX_META_BYTES:  # refused before any more work (json.dumps writes ASCII: one byte a character)
        raise too_large(len(text))
    meta = json.loads(text)  # plain JSON types, so the checksum reads back equal
    problem = metadata_problem(meta["extra"], net)
    if problem:
        raise ConfigError(f"cannot save {path}: {problem}. Fix or delete that entry before saving")
    meta["checksum"] = checksum(params, meta)
    encoded = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    if encoded.size > MAX_META_BYTES:  # the checksum's few bytes more
        raise too_large(encoded.size)
    with atomic_write(path) as handle:
        np.savez(handle, **params, **{META_KEY: encoded})  # type: ignore[arg-type]


def _read_member(archive: zipfile.ZipFile, name: str, source: str, expect_shape: tuple[int, ...] | None,
                 max_bytes: int, limit: str = "the file can hold") -> NDArray[Any]:
    """Read one ``.npy`` member after checking its header (dtype, shape, size) and never unpickling.

    At most the bytes its header declares are inflated: a member whose zip entry says it holds more than its shape
    needs is refused before any of its data is read, and the read itself stops at the declared size, so neither a
    lying zip entry nor a lying ``.npy`` header can make glassnet inflate more than ``max_bytes``.
    """
    info = archive.getinfo(name + ".npy")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{source}: array {name!r} uses zip compression type {info.compress_type}; "
                             "glassnet files are plain zip archives written by glassnet")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version not in ((1, 0), (2, 0), (3, 0)):
                raise ValueError(f"unknown .npy format version {version}")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(member)
        except zipfile.BadZipFile:  # a CRC mismatch noticed while reading: reported by read()
            raise
        except Exception as exc:  # noqa: BLE001 - NumPy's header parser raises many kinds (tokenize, SyntaxError, ...)
            raise ModelFileError(f"{source}: array {name!r} has a damaged header ({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(f"{source}: array {name!r} holds Python objects; glassnet files hold numbers only")
        wanted = "u" if name == META_KEY else "f"
        if dtype.kind != wanted or dtype.fields is not None or dtype.subdtype is not None:
            raise ModelFileError(f"{source}: array {name!r} has dtype {dtype}; glassnet files hold "
                                 f"{'bytes' if wanted == 'u' else 'float'} arrays only")
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: an absurd shape cannot overflow to a small number
        if nbytes > max_bytes:
            raise ModelFileError(f"{source}: array {name!r} declares shape {tuple(shape)} ({nbytes} bytes), "
                                 f"larger than {limit}; the file is damaged or not a glassnet file")
        if expect_shape is not None and tuple(shape) != expect_shape:
            raise ModelFileError(f"{source}: array {name!r} has shape {tuple(shape)}; the architecture says {expect_shape}")
        surplus = info.file_size - member.tell() - nbytes
        if surplus > 0:
            raise ModelFileError(f"{source}: array {name!r} holds {surplus} bytes more than its shape {tuple(shape)} "
                                 "needs; the file is damaged or not a glassnet file")
        data = member.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{source}: array {name!r} is truncated ({len(data)} of {nbytes} bytes)")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _shape_map(value: Any) -> dict[str, tuple[int, ...]] | None:
    """``{"0.W": [2, 3], ...}`` as shapes, or ``None`` when it is not a map of names to lists of sizes."""
    if not isinstance(value, dict) or not all(
            isinstance(key, str) and isinstance(shape, list) and all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            for key, shape in value.items()):
        return None
    return {key: tuple(shape) for key, shape in value.items()}


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def expected_shapes(meta: dict[str, Any], source: str) -> dict[str, tuple[int, ...]]:
    """Parameter shapes from the metadata, after checking that they are sizes at all.

    The metadata's ``"parameters"`` lists them (``{"0.W": [2, 3], ...}``, whatever the layers' parameters are
    called). Files written before it did held Dense layers only, whose shapes follow from the layer sizes:
    ``W`` is ``(n_in, n_out)`` and ``b`` is ``(n_out,)``.
    """
    layers = meta.get("layers")
    declared = meta.get("parameters")
    # A layer in the form of earlier files (no "name": a Dense layer) is its sizes; a current one is its class's
    # config, checked when the class rebuilds it.
    if not isinstance(layers, list) or not layers or not all(isinstance(s, dict) and (
            ("name" in s and declared is not None) or (_positive(s.get("n_in")) and _positive(s.get("n_out"))))
            for s in layers):
        raise ModelFileError(f"{source}: the metadata is damaged (its 'layers' are not a list of layer sizes)")
    if declared is not None:
        shapes = _shape_map(declared)
        if shapes is None:
            raise ModelFileError(f"{source}: the metadata is damaged (its 'parameters' are not a list of shapes)")
        return shapes
    expected: dict[str, tuple[int, ...]] = {}
    for i, s in enumerate(layers):
        expected[f"{i}.W"] = (s["n_in"], s["n_out"])
        expected[f"{i}.b"] = (s["n_out"],)
    return expected


def declared_buffers(meta: dict[str, Any], source: str) -> dict[str, tuple[int, ...]]:
    """The shapes of the buffers the metadata declares (``"buffers"``: ``{"1.running_mean": [8], ...}``), or ``{}``
    for a file without them (every file of a network without buffers, and all files written before buffers)."""
    if "buffers" not in meta:
        return {}
    shapes = _shape_map(meta["buffers"])
    if shapes is None or set(shapes) & set(_shape_map(meta.get("parameters")) or {}):
        raise ModelFileError(f"{source}: the metadata is damaged (its 'buffers' are not a list of shapes apart from "
                             "the parameters)")
    return shapes


def read(path: str | os.PathLike[str], shapes: ShapeRule | None = None) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Read and verify a glassnet file; returns ``(metadata, arrays)``. Raises :class:`ModelFileError`.

    ``shapes(meta)`` may give the expected shapes of arrays beyond the parameters (a checkpoint's
    optimizer state); every listed array must be present with that shape.
    """
    source = str(path)
    if not isinstance(path, (str, os.PathLike)):
        raise GlassnetTypeError(f"a model path must be a string or a pathlib.Path, got {type(path).__name__}")
    if not os.path.exists(path):
        raise ModelFileError(f"model file {source} does not exist; train one with `glassnet train ... --out {source}`")
    if os.path.isdir(path):
        raise ModelFileError(f"{source} is a folder, not a model file; give a file name inside it")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            all_names = archive.namelist()
            names = [n[:-4] for n in all_names if n.endswith(".npy")]
            if len(set(all_names)) != len(all_names):
                raise ModelFileError(f"{source} is not a glassnet model file (it repeats a name inside the archive)")
            pathlike = next((n for n in all_names if "/" in n or "\\" in n or "\0" in n), None)
            if pathlike is not None:
                raise ModelFileError(f"{source} is not a glassnet model file (it holds a member named "
                                     f"{shorten(pathlike, 80)}, a path; glassnet files hold arrays at the top only)")
            if META_KEY not in names:
                raise ModelFileError(f"{source} is not a glassnet model file (no glassnet metadata inside)")
            raw = _read_member(archive, META_KEY, source, None, min(MAX_META_BYTES, size),
                               "the file can hold" if size < MAX_META_BYTES else f"the {MAX_META_BYTES >> 20} MiB metadata limit")
            try:
                meta = json.loads(raw.tobytes().decode("utf-8"))
                too_deep = _json_depth(meta) > MAX_META_DEPTH
            except (UnicodeDecodeError, ValueError):
                raise ModelFileError(f"{source}: the glassnet metadata is damaged (not valid JSON)") from None
            except RecursionError:  # nested far deeper than any glassnet metadata
                too_deep = True
            if too_deep:
                raise ModelFileError(f"{source}: the glassnet metadata is damaged (nested more than {MAX_META_DEPTH} "
                                     "levels deep; glassnet never writes that)")
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
                raise ModelFileError(f"{source} is not a glassnet model file (format {found!r})")
            if meta.get("format_version") not in READABLE_VERSIONS:
                raise ModelFileError(
                    f"{source} has format version {meta.get('format_version')!r}; this glassnet reads versions "
                    f"{', '.join(map(str, READABLE_VERSIONS))}. Upgrade glassnet, or re-save the model with the "
                    "glassnet that wrote it"
                )
            expected = expected_shapes(meta, source)
            expected.update(declared_buffers(meta, source))
            if shapes is not None:
                expected.update(shapes(meta))
            present = set(names)
            missing = [name for name in expected if name not in present]  # in layer order, as declared
            if missing:
                raise ModelFileError(f"{source} is missing arrays {shorten(missing)}; the file is incomplete")
            # Every array beyond the parameters is declared in "arrays" (files written before that was so: within
            # MAX_UNDECLARED_BYTES in all), so no member inflates to more than the metadata says it holds.
            listed = _shape_map(meta["arrays"]) if "arrays" in meta else {}
            if listed is None:
                raise ModelFileError(f"{source}: the metadata is damaged (its 'arrays' are not a list of shapes)")
            declared = {**listed, **expected}
            parameter_bytes = sum(math.prod(shape) * 8 for shape in expected.values())
            budget = 0 if "arrays" in meta else MAX_UNDECLARED_BYTES + UNDECLARED_BYTES_PER_PARAMETER_BYTE * parameter_bytes
            arrays = {}
            for name in names:
                if name == META_KEY:
                    continue
                if name not in declared and "arrays" in meta:
                    raise ModelFileError(f"{source}: array {shorten(name, 80)} is not declared in the file's metadata; "
                                         "the file is damaged or not written by glassnet")
                # A stored member cannot hold more bytes than the file; a deflated one not more than 1032 times that.
                stored = archive.getinfo(name + ".npy").compress_type == zipfile.ZIP_STORED
                can_hold = size if stored else size * MAX_DEFLATE_RATIO
                if name in declared:
                    arrays[name] = _read_member(archive, name, source, declared[name], can_hold)
                else:
                    limit = ("the file can hold" if can_hold <= budget else f"the {budget} bytes left for arrays its "
                             "metadata does not declare")
                    arrays[name] = _read_member(archive, name, source, None, min(can_hold, budget), limit)
                    budget -= arrays[name].nbytes
    except ModelFileError:
        raise
    except PermissionError as exc:
        raise ModelFileError(f"cannot read {source}: {exc.strerror}; check the file's permissions") from None
    except OSError as exc:
        if exc.errno is None:  # zipfile's own complaints about the archive, not the system's
            raise ModelFileError(f"{source} is truncated or is not a glassnet model file ({exc})") from None
        raise ModelFileError(f"cannot read {source}: {os_error_text(exc, advice=False)}") from None
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise ModelFileError(f"{source} is corrupted: an array's bytes do not match their zip CRC ({exc})") from None
        raise ModelFileError(f"{source} is truncated or is not a glassnet model file (BadZipFile: {exc})") from None
    except (EOFError, KeyError, ValueError, NotImplementedError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(f"{source} is truncated or is not a glassnet model file ({type(exc).__name__}: {exc})") from None
    except RuntimeError as exc:  # zipfile's answer to a member flagged as encrypted
        raise ModelFileError(f"{source} is not a glassnet model file ({exc}); glassnet never writes encrypted files") from None
    body = {key: value for key, value in meta.items() if key != "checksum"}
    if checksum(arrays, body if meta["format_version"] >= 2 else None) != meta.get("checksum"):
        raise ModelFileError(f"{source} is corrupted: its checksum does not match its contents")
    return upgrade(meta), arrays


def load(path: str | os.PathLike[str]) -> Network:
    """Load a network saved with :meth:`Network.save` (or a checkpoint); the round trip is bit-exact."""
    meta, arrays = read(path)
    net = network_from_metadata(meta, str(path))
    params = net.parameters()
    check_finite({key: arrays[key] for key in params if key in arrays}, ModelFileError, str(path),
                 "the file holds a network that computes NaN for every input (saved after training diverged, or made "
                 "by hand); train it again")
    buffers = net.buffers()
    check_finite({key: arrays[key] for key in buffers if key in arrays}, ModelFileError, str(path),
                 "a layer's running statistics hold NaN or inf, so it computes NaN in evaluation mode (saved after "
                 "training diverged, or made by hand); train it again")
    missing = sorted(set(params) - set(arrays))
    if missing:
        raise ModelFileError(f"{path} is missing arrays {missing}, parameters of the layers its metadata describes")
    missing = sorted(set(buffers) - set(arrays))
    if missing:
        raise ModelFileError(f"{path} is missing arrays {missing}, buffers (running statistics) of the layers its "
                             "metadata describes")
    for key, live in [*params.items(), *buffers.items()]:
        if arrays[key].shape != live.shape:  # the layers as rebuilt disagree with the shapes the file declares
            raise ModelFileError(f"{path}: array {key!r} has shape {arrays[key].shape}; the architecture says "
                                 f"{live.shape}")
        if arrays[key].dtype != net.dtype:
            raise ModelFileError(f"{path}: array {key!r} is {arrays[key].dtype}, the metadata says {net.dtype}")
        live[...] = arrays[key]
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise ModelFileError(f"{path}: the metadata is damaged ('extra' is not a dictionary)")
    # An entry glassnet's readers cannot use is left out, loudly, rather than losing the whole model over it:
    # files written before save checked these entries may hold one (e.g. a text history).
    while (problem := metadata_problem(extra, net)) is not None:
        key = next(key for key in METADATA_RULES if key in extra and METADATA_RULES[key](extra[key], net))
        warnings.warn(f"{path}: {problem}; that entry is left out (the parameters are loaded as they are)",
                      stacklevel=2)
        extra = {k: v for k, v in extra.items() if k != key}
    net.metadata = extra
    return net
