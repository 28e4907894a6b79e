"""Saving and loading networks: an ``.npz`` archive of the parameters plus JSON metadata.

The file is a zip of ``.npy`` arrays (``"0.W"``, ``"0.b"``, ...) and one ``__glassnet__.npy`` array of
UTF-8 bytes holding the metadata: format name and version, architecture, loss, L2, dtype and a SHA-256
checksum of the arrays *and* the metadata. Checkpoints (:mod:`glassnet.checkpoint`) are the same kind
of file with more arrays and a ``"checkpoint"`` section, so any checkpoint also loads as a model.

The architecture is each layer's own ``config()`` (``{"name": "dense", "n_in": 2, "n_out": 3, "activation":
{"name": "leaky_relu", "slope": 0.01}}``), the loss's ``config()`` (``{"name": "huber", "delta": 1.0}``) and
the shape of every parameter; loading rebuilds them with ``LAYERS.from_config`` and ``LOSSES.from_config``
(activations inside a layer's config with ``ACTIVATIONS.from_config``), so this module knows no layer,
activation or loss by name, and a part's settings survive the round trip because the part itself lists
them. A layer class of your own loads once registered: ``glassnet.core.layers.LAYERS.add(MyLayer)``.
Files written before layers had configs (layers as ``{"n_in", "n_out", "activation": name}`` with the
activation's settings beside them, e.g. ``"slope"``, and the loss as a name) still load: :func:`upgrade`
rewrites their architecture into the current form.

Reading trusts nothing in the file. It is never a pickle: arrays are read with their ``.npy`` headers
parsed by hand and only plain float arrays are accepted. Every declared shape is checked *before* any
data is read: against the bytes the file can physically hold (so a forged header cannot make glassnet
allocate gigabytes) and against the parameter shapes in the metadata; once the layers are rebuilt from
their configs, their parameters' shapes are checked against the file's too. Nothing in a file is ever
executed: a layer, activation or loss is rebuilt only from a class registered in this glassnet.

Every write goes to a temporary file in the same folder, is flushed to disk and then renamed over
the target (:func:`atomic_write`), so a crash mid-write leaves any old file intact.

Next read: ``checkpoint.py`` (resuming training), ``errors.py`` (what goes wrong and how it is reported).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
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
from glassnet.errors import ConfigError, GlassnetError, GlassnetTypeError, ModelFileError

FORMAT = "glassnet-model"
FORMAT_VERSION = 3
# Version 1 files (glassnet 0.1 before checkpoints) checksummed the arrays only; version 2 files checksum the
# metadata too but describe layers and loss by name (see upgrade); version 3 holds their configs. All still load.
READABLE_VERSIONS = (1, 2, 3)
META_KEY = "__glassnet__"
MAX_META_BYTES = 16 << 20  # JSON metadata beyond this is refused on save, so every saved file loads
# Deflate cannot expand data more than about 1032-fold: this bounds what a compressed member can hold.
MAX_DEFLATE_RATIO = 1032

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
        raise error(f"cannot write {target}: folder {folder} does not exist")
    if target.is_dir():
        raise error(f"cannot write {target}: it is a folder; give a file name inside it")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        _give_usual_permissions(fd, target)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
            "l2": net.l2, "dtype": net.dtype.name, "seed": net.seed}


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
        return Network(layers, loss=LOSSES.from_config(meta["loss"]), l2=meta["l2"], seed=meta.get("seed"),
                       dtype=meta["dtype"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{source}: the architecture in the metadata is invalid ({exc})") from None


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
         sections: dict[str, Any] | None = None, parameters: dict[str, NDArray[Any]] | None = None) -> None:
    """Write ``net`` to ``path`` atomically, with ``net.metadata``, extra float ``arrays`` and extra
    metadata ``sections`` (JSON-able dicts stored under their own keys) alongside.

    ``parameters`` (same keys as ``net.parameters()``) are written instead of the live ones when given:
    a checkpoint writes the parameters as they were at the end of its epoch.
    """
    params = {key: np.ascontiguousarray(p) for key, p in (parameters or net.parameters()).items()}
    clash = sorted(set(arrays or {}) & (set(params) | {META_KEY}))
    if clash:
        raise ModelFileError(f"cannot save extra arrays named {clash}: those names belong to the parameters")
    params.update({key: np.ascontiguousarray(a) for key, a in (arrays or {}).items()})
    meta: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, **network_metadata(net),
                            "extra": net.metadata, **(sections or {})}
    meta = json.loads(json.dumps(meta, default=_jsonable))  # plain JSON types, so the checksum reads back equal
    meta["checksum"] = checksum(params, meta)
    encoded = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    if encoded.size > MAX_META_BYTES:
        raise ConfigError(f"cannot save {path}: its metadata (net.metadata) takes {encoded.size / 2**20:.1f} MiB as "
                          f"JSON, more than the {MAX_META_BYTES / 2**20:g} MiB glassnet reads back; keep large data in a "
                          "file of its own")
    with atomic_write(path) as handle:
        np.savez(handle, **params, **{META_KEY: encoded})  # type: ignore[arg-type]


def _read_member(archive: zipfile.ZipFile, name: str, source: str, expect_shape: tuple[int, ...] | None,
                 max_bytes: int, limit: str = "the file can hold") -> NDArray[Any]:
    """Read one ``.npy`` member after checking its header (dtype, shape, size) and never unpickling."""
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
        data = member.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{source}: array {name!r} is truncated ({len(data)} of {nbytes} bytes)")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


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
        if not isinstance(declared, dict) or not all(
                isinstance(key, str) and isinstance(shape, list) and all(
                    isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
                for key, shape in declared.items()):
            raise ModelFileError(f"{source}: the metadata is damaged (its 'parameters' are not a list of shapes)")
        return {key: tuple(shape) for key, shape in declared.items()}
    expected: dict[str, tuple[int, ...]] = {}
    for i, s in enumerate(layers):
        expected[f"{i}.W"] = (s["n_in"], s["n_out"])
        expected[f"{i}.b"] = (s["n_out"],)
    return expected


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
        raise ModelFileError(f"{source} is a folder, not a model file")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            all_names = archive.namelist()
            names = [n[:-4] for n in all_names if n.endswith(".npy")]
            if len(set(all_names)) != len(all_names):
                raise ModelFileError(f"{source} is not a glassnet model file (it repeats a name inside the archive)")
            if META_KEY not in names:
                raise ModelFileError(f"{source} is not a glassnet model file (no glassnet metadata inside)")
            raw = _read_member(archive, META_KEY, source, None, min(MAX_META_BYTES, size),
                               "the file can hold" if size < MAX_META_BYTES else f"the {MAX_META_BYTES >> 20} MiB metadata limit")
            try:
                meta = json.loads(raw.tobytes().decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise ModelFileError(f"{source}: the glassnet metadata is damaged (not valid JSON)") from None
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
            if shapes is not None:
                expected.update(shapes(meta))
            missing = sorted(set(expected) - set(names))
            if missing:
                raise ModelFileError(f"{source} is missing arrays {missing}; the file is incomplete")
            arrays = {}
            for name in names:
                if name == META_KEY:
                    continue
                # A stored member cannot hold more bytes than the file; a deflated one not more than 1032 times that.
                stored = archive.getinfo(name + ".npy").compress_type == zipfile.ZIP_STORED
                arrays[name] = _read_member(archive, name, source, expected.get(name),
                                            size if stored else size * MAX_DEFLATE_RATIO)
    except ModelFileError:
        raise
    except PermissionError as exc:
        raise ModelFileError(f"cannot read {source}: {exc.strerror}; check the file's permissions") from None
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise ModelFileError(f"{source} is corrupted: an array's bytes do not match their zip CRC ({exc})") from None
        raise ModelFileError(f"{source} is truncated or is not a glassnet model file (BadZipFile: {exc})") from None
    except (EOFError, OSError, KeyError, ValueError, NotImplementedError, zipfile.LargeZipFile) as exc:
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
    missing = sorted(set(params) - set(arrays))
    if missing:
        raise ModelFileError(f"{path} is missing arrays {missing}, parameters of the layers its metadata describes")
    for key in params:
        if arrays[key].shape != params[key].shape:  # the layers as rebuilt disagree with the shapes the file declares
            raise ModelFileError(f"{path}: array {key!r} has shape {arrays[key].shape}; the architecture says "
                                 f"{params[key].shape}")
        if arrays[key].dtype != net.dtype:
            raise ModelFileError(f"{path}: array {key!r} is {arrays[key].dtype}, the metadata says {net.dtype}")
        params[key][...] = arrays[key]
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise ModelFileError(f"{path}: the metadata is damaged ('extra' is not a dictionary)")
    net.metadata = extra
    return net
