"""Saving and loading networks: an ``.npz`` archive of the parameters plus JSON metadata.

The file is a zip of ``.npy`` arrays (``"0.W"``, ``"0.b"``, ...) and one ``__glassnet__.npy`` array of
UTF-8 bytes holding the metadata: format name and version, architecture, loss, L2, dtype and a SHA-256
checksum of the parameters. It is never a pickle: arrays are read with ``allow_pickle=False``, their
declared shapes and dtypes are checked against the metadata *before* any data is read (so a forged
header cannot make glassnet allocate gigabytes), and nothing in a file is ever executed.

Every write goes to a temporary file in the same folder, is flushed to disk and then renamed over
the target (:func:`atomic_write`), so a crash mid-write leaves any old file intact.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.core.layers import Dense
from glassnet.core.network import Network
from glassnet.errors import ModelFileError

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
META_KEY = "__glassnet__"
MAX_META_BYTES = 1 << 20


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"cannot write {target}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
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


def checksum(arrays: dict[str, NDArray[Any]]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def network_metadata(net: Network) -> dict[str, Any]:
    """The architecture of ``net`` as plain JSON-able data (no parameters)."""
    layers = []
    for layer in net.layers:
        entry: dict[str, Any] = {"n_in": layer.n_in, "n_out": layer.n_out, "activation": layer.activation.name}
        if hasattr(layer.activation, "slope"):
            entry["slope"] = layer.activation.slope
        layers.append(entry)
    return {"layers": layers, "loss": net.loss_fn.name, "l2": net.l2, "dtype": net.dtype.name, "seed": net.seed}


def network_from_metadata(meta: dict[str, Any], source: str = "metadata") -> Network:
    """Build a network (fresh parameters) from :func:`network_metadata` output."""
    from glassnet.core.activations import LeakyReLU, get_activation

    try:
        layers = []
        for spec in meta["layers"]:
            act = LeakyReLU(spec["slope"]) if "slope" in spec else get_activation(spec["activation"])
            layers.append(Dense(int(spec["n_in"]), int(spec["n_out"]), act))
        return Network(layers, loss=meta["loss"], l2=meta["l2"], seed=meta.get("seed"), dtype=meta["dtype"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{source}: the architecture in the metadata is invalid ({exc})") from None


def save(net: Network, path: str | os.PathLike[str], arrays: dict[str, NDArray[Any]] | None = None) -> None:
    """Write ``net`` to ``path`` atomically, with ``net.metadata`` and any extra ``arrays`` alongside."""
    params = {key: np.ascontiguousarray(p) for key, p in net.parameters().items()}
    params.update(arrays or {})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **network_metadata(net),
            "checksum": checksum(params), "extra": net.metadata}
    encoded = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as handle:
        np.savez(handle, **params, **{META_KEY: encoded})  # type: ignore[arg-type]


def _read_member(archive: zipfile.ZipFile, name: str, source: str, expect_shape: tuple[int, ...] | None,
                 max_bytes: int) -> NDArray[Any]:
    """Read one ``.npy`` member after checking its header (dtype, shape, size) and never unpickling."""
    with archive.open(name + ".npy") as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(member)
        except ValueError as exc:
            raise ModelFileError(f"{source}: array {name!r} has a damaged header ({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(f"{source}: array {name!r} holds Python objects; glassnet files hold numbers only")
        if expect_shape is not None and tuple(shape) != expect_shape:
            raise ModelFileError(f"{source}: array {name!r} has shape {tuple(shape)}; the architecture says {expect_shape}")
        if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > max_bytes:
            raise ModelFileError(f"{source}: array {name!r} declares {shape}, larger than any glassnet file should be")
        data = member.read(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
    array = np.frombuffer(data, dtype=dtype)
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise ModelFileError(f"{source}: array {name!r} is truncated")
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Read and verify a glassnet file; returns ``(metadata, arrays)``. Raises :class:`ModelFileError`."""
    source = str(path)
    if not os.path.exists(path):
        raise ModelFileError(f"model file {source} does not exist; train one with `glassnet train ... --out {source}`")
    if os.path.isdir(path):
        raise ModelFileError(f"{source} is a folder, not a model file")
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
        archive = zipfile.ZipFile(io.BytesIO(blob))
        names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        if META_KEY not in names:
            raise ModelFileError(f"{source} is not a glassnet model file (no glassnet metadata inside)")
        raw = _read_member(archive, META_KEY, source, None, MAX_META_BYTES)
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelFileError(f"{source}: the glassnet metadata is damaged") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{source} is not a glassnet model file (format {meta.get('format')!r})")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{source} has format version {meta.get('format_version')!r}; this glassnet reads version "
                f"{FORMAT_VERSION}. Upgrade glassnet, or re-save the model with the glassnet that wrote it"
            )
        expected: dict[str, tuple[int, ...]] = {
            f"{i}.W": (s["n_in"], s["n_out"]) for i, s in enumerate(meta.get("layers", []))}
        expected.update({f"{i}.b": (s["n_out"],) for i, s in enumerate(meta.get("layers", []))})
        missing = sorted(set(expected) - set(names))
        if missing:
            raise ModelFileError(f"{source} is missing parameter arrays {missing}; the file is incomplete")
        budget = max(1 << 16, 64 * sum(int(np.prod(s)) * 8 for s in expected.values()))
        arrays = {name: _read_member(archive, name, source, expected.get(name), budget)
                  for name in names if name != META_KEY}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(f"{source} is truncated or is not a glassnet model file ({type(exc).__name__}: {exc})") from None
    if checksum(arrays) != meta.get("checksum"):
        raise ModelFileError(f"{source} is corrupted: its checksum does not match its contents")
    return meta, arrays


def load(path: str | os.PathLike[str]) -> Network:
    """Load a network saved with :meth:`Network.save`; the round trip is bit-exact."""
    meta, arrays = read(path)
    net = network_from_metadata(meta, str(path))
    params = net.parameters()
    for key in params:
        if arrays[key].dtype != net.dtype:
            raise ModelFileError(f"{path}: array {key!r} is {arrays[key].dtype}, the metadata says {net.dtype}")
        params[key][...] = arrays[key]
    net.metadata = meta.get("extra", {})
    return net
