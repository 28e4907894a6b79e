"""Model files under attack: every truncated, damaged, forged or foreign file is refused with a
:class:`ModelFileError` saying what is wrong, nothing in a file is executed or allowed to allocate
more than the file holds, and a write that crashes (exception or SIGKILL) leaves the old file intact."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import META_KEY, atomic_write, checksum, network_metadata

SRC = Path(__file__).resolve().parents[2] / "src"


def model() -> gn.Network:
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="bce", seed=1)
    net.metadata = {"classes": [0, 1]}
    return net


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def npy_header_only(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """An ``.npy`` header declaring ``shape`` with no data after it (a forged, absurd file)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def glassnet_meta(net: gn.Network, arrays: dict[str, np.ndarray], **changes) -> dict:
    meta = {"format": "glassnet-model", "format_version": 2, **network_metadata(net), "extra": {}, **changes}
    meta = json.loads(json.dumps(meta))
    meta["checksum"] = checksum(arrays, meta)
    return meta


def write_archive(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def forged(path: Path, arrays=None, meta=None, raw_meta: bytes | None = None, **changes) -> Path:
    """A file built by hand: given arrays (default: a real network's), metadata with a valid checksum."""
    net = model()
    arrays = {k: v.copy() for k, v in net.parameters().items()} if arrays is None else arrays
    meta = glassnet_meta(net, {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}, **changes) if meta is None else meta
    members = {f"{k}.npy": npy(v) if isinstance(v, np.ndarray) else v for k, v in arrays.items()}
    encoded = raw_meta if raw_meta is not None else json.dumps(meta).encode()
    members[f"{META_KEY}.npy"] = npy(np.frombuffer(encoded, dtype=np.uint8))
    return write_archive(path, members)


class Evil:
    """Unpickling this would create a file: proof that nothing in a model file is executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def make_case(name: str, tmp: Path) -> Path:
    """Build the damaged file called ``name`` in ``tmp``."""
    good = tmp / "good.npz"
    model().save(good)
    blob = good.read_bytes()
    path = tmp / f"{name}.npz"
    net = model()
    params = {k: v.copy() for k, v in net.parameters().items()}
    if name == "missing":
        return tmp / "nowhere.npz"
    if name == "directory":
        path.mkdir()
        return path
    if name == "empty":
        path.write_bytes(b"")
    elif name == "text":
        path.write_text("W = [[1, 2], [3, 4]]\n")
    elif name == "pickle":
        path.write_bytes(pickle.dumps({"0.W": Evil(str(tmp / "executed"))}))
    elif name == "npy_not_npz":
        path.write_bytes(npy(np.zeros((2, 3))))
    elif name == "foreign_npz":
        np.savez(path, weights=np.ones((2, 3)), bias=np.zeros(3))
    elif name == "plain_zip":
        write_archive(path, {"readme.txt": b"hello"})
    elif name == "wrong_version":
        forged(path, format_version=99)
    elif name == "wrong_format":
        forged(path, format="keras-model")
    elif name == "meta_not_json":
        forged(path, raw_meta=b"{not json")
    elif name == "meta_not_utf8":
        forged(path, raw_meta=b"\xff\xfe\x00garbage")
    elif name == "meta_is_a_list":
        forged(path, raw_meta=b"[1, 2, 3]")
    elif name == "meta_number_changed":  # valid JSON, one setting edited: only the checksum can tell
        meta = glassnet_meta(net, params)
        meta["l2"] = 0.5
        forged(path, meta=meta)
    elif name == "meta_layers_damaged":
        forged(path, layers="two layers")
    elif name == "meta_sizes_not_ints":
        forged(path, layers=[{"n_in": "2", "n_out": 3, "activation": "tanh"}, {"n_in": 3, "n_out": 1, "activation": "sigmoid"}])
    elif name == "meta_unknown_activation":
        forged(path, layers=[{"n_in": 2, "n_out": 3, "activation": "swish"}, {"n_in": 3, "n_out": 1, "activation": "sigmoid"}])
    elif name == "meta_wrong_dtype":
        forged(path, arrays={k: v.astype(np.float32) for k, v in params.items()})
    elif name == "meta_not_bytes":
        members = {f"{k}.npy": npy(v) for k, v in params.items()}
        members[f"{META_KEY}.npy"] = npy(np.zeros(4))
        write_archive(path, members)
    elif name == "meta_huge":
        members = {f"{k}.npy": npy(v) for k, v in params.items()}
        members[f"{META_KEY}.npy"] = npy_header_only((1 << 40,), "|u1")
        write_archive(path, members)
    elif name == "missing_array":
        forged(path, arrays={k: v for k, v in params.items() if k != "1.b"})
    elif name == "wrong_shape":
        forged(path, arrays={**params, "0.W": np.zeros((3, 2))})
    elif name == "object_array":
        forged(path, arrays={**params, "0.W": np.array([[Evil(str(tmp / "executed"))] * 3] * 2, dtype=object)})
    elif name == "int_array":
        forged(path, arrays={**params, "0.W": np.zeros((2, 3), dtype=np.int64)})
    elif name == "string_array":
        forged(path, arrays={**params, "extra": np.array(["a", "b"])})
    elif name == "absurd_shape":  # the header promises 8 TB; the metadata agrees; the file has none of it
        big = [{"n_in": 1 << 20, "n_out": 1 << 20, "activation": "tanh"}, {"n_in": 1 << 20, "n_out": 1, "activation": "sigmoid"}]
        meta = glassnet_meta(net, params, layers=big)
        forged(path, arrays={"0.W": npy_header_only((1 << 20, 1 << 20)), "0.b": npy(np.zeros(1 << 20)),
                             "1.W": npy(np.zeros(((1 << 20), 1))), "1.b": npy(np.zeros(1))}, meta=meta)
    elif name == "absurd_extra_shape":
        forged(path, arrays={**params, "extra": npy_header_only((1 << 31, 1 << 31))})
    elif name == "overflowing_shape":  # 2**32 * 2**32 * 8 overflows int64 arithmetic to 0
        forged(path, arrays={**params, "extra": npy_header_only((1 << 32, 1 << 32))})
    elif name == "damaged_npy_header":
        forged(path, arrays={**params, "0.W": b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8 ... "})
    elif name == "unknown_npy_version":
        forged(path, arrays={**params, "0.W": b"\x93NUMPY\x07\x00" + npy(params["0.W"])[8:]})
    elif name == "truncated_array_data":
        data = npy(params["0.W"])
        forged(path, arrays={**params, "0.W": data[:-5]})
    elif name == "duplicate_member":
        forged(path)
        with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as archive:
            archive.writestr("0.W.npy", npy(np.zeros((2, 3))))
    elif name == "bzip2_member":
        members = {f"{k}.npy": npy(v) for k, v in params.items()}
        members[f"{META_KEY}.npy"] = npy(np.frombuffer(json.dumps(glassnet_meta(net, params)).encode(), np.uint8))
        write_archive(path, members, zipfile.ZIP_BZIP2)
    elif name == "weight_changed":  # a different float where the data is: zip CRC or our checksum
        index = blob.find(npy(net.parameters()["0.W"])[-8:])
        data = bytearray(blob)
        data[index] ^= 0x01
        path.write_bytes(bytes(data))
    elif name == "weights_swapped_with_valid_crc":  # rewritten with a fresh zip, so only our checksum can tell
        with zipfile.ZipFile(good) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        swapped = params["0.W"].copy()
        swapped[0, 0] += 1.0
        members["0.W.npy"] = npy(swapped)
        write_archive(path, members)
    elif name == "extra_not_a_dict":
        forged(path, extra=[1, 2])
    elif name == "encrypted_flag":  # every central-directory entry claims encryption (flag bit 0)
        data = bytearray(blob)
        at = data.find(b"PK\x01\x02")
        while at != -1:
            data[at + 8] |= 0x01
            at = data.find(b"PK\x01\x02", at + 4)
        path.write_bytes(bytes(data))
    else:
        raise AssertionError(name)
    return path


CASES = [  # (case, words every message must contain)
    ("missing", "does not exist"),
    ("directory", "is a folder"),
    ("empty", "not a glassnet model file"),
    ("text", "not a glassnet model file"),
    ("pickle", "not a glassnet model file"),
    ("npy_not_npz", "not a glassnet model file"),
    ("foreign_npz", "no glassnet metadata"),
    ("plain_zip", "no glassnet metadata"),
    ("wrong_version", "format version 99"),
    ("wrong_format", "format 'keras-model'"),
    ("meta_not_json", "metadata is damaged"),
    ("meta_not_utf8", "metadata is damaged"),
    ("meta_is_a_list", "not a glassnet model file"),
    ("meta_number_changed", "checksum does not match"),
    ("meta_layers_damaged", "metadata is damaged"),
    ("meta_sizes_not_ints", "metadata is damaged"),
    ("meta_unknown_activation", "architecture in the metadata is invalid"),
    ("meta_wrong_dtype", "is float32, the metadata says float64"),
    ("meta_not_bytes", "bytes arrays only"),
    ("meta_huge", "larger than the file can hold"),
    ("missing_array", "missing arrays ['1.b']"),
    ("wrong_shape", "the architecture says (2, 3)"),
    ("object_array", "holds Python objects"),
    ("int_array", "float arrays only"),
    ("string_array", "float arrays only"),
    ("absurd_shape", "larger than the file can hold"),
    ("absurd_extra_shape", "larger than the file can hold"),
    ("overflowing_shape", "larger than the file can hold"),
    ("damaged_npy_header", "damaged header"),
    ("unknown_npy_version", "damaged header"),
    ("truncated_array_data", "truncated"),
    ("duplicate_member", "repeats a name"),
    ("bzip2_member", "compression type"),
    ("weight_changed", "corrupted"),
    ("weights_swapped_with_valid_crc", "checksum does not match"),
    ("extra_not_a_dict", "'extra' is not a dictionary"),
    ("encrypted_flag", "never writes encrypted files"),
]


@pytest.mark.parametrize("case, words", CASES, ids=[c for c, _ in CASES])
def test_damaged_file_is_refused_with_a_clear_error(tmp_path, case, words):
    path = make_case(case, tmp_path)
    with pytest.raises(gn.ModelFileError) as info:
        gn.load(path)
    message = str(info.value)
    assert words in message, message
    assert str(path) in message  # says which file
    assert not (tmp_path / "executed").exists(), "something in the file was executed"


def test_every_truncation_is_refused(tmp_path):
    good = tmp_path / "good.npz"
    model().save(good)
    blob = good.read_bytes()
    for cut in sorted(set(range(0, len(blob), 7)) | {1, 2, 4, 22, len(blob) - 22, len(blob) - 1}):
        (tmp_path / "cut.npz").write_bytes(blob[:cut])
        with pytest.raises(gn.ModelFileError, match="truncated|corrupted|not a glassnet|damaged"):
            gn.load(tmp_path / "cut.npz")


def test_every_flipped_byte_is_refused_or_harmless(tmp_path):
    """Flipping any byte either makes the file refused or (zip timestamps, flags) changes nothing loaded."""
    good = tmp_path / "good.npz"
    original = model()
    original.save(good)
    blob = good.read_bytes()
    refused = 0
    for position in range(0, len(blob), 3):
        data = bytearray(blob)
        data[position] ^= 0x5A
        (tmp_path / "flip.npz").write_bytes(bytes(data))
        try:
            loaded = gn.load(tmp_path / "flip.npz")
        except gn.ModelFileError:
            refused += 1
            continue
        for key, value in original.parameters().items():
            assert np.array_equal(loaded.parameters()[key], value), (position, key)
        assert repr(loaded) == repr(original) and loaded.metadata == original.metadata
    assert refused > len(blob) // 3 // 2


def test_version_1_files_still_load(tmp_path):
    net = model()
    params = {k: v.copy() for k, v in net.parameters().items()}
    meta = {"format": "glassnet-model", "format_version": 1, **network_metadata(net), "extra": {},
            "checksum": checksum(params)}
    loaded = gn.load(forged(tmp_path / "v1.npz", meta=meta))
    assert all(np.array_equal(loaded.parameters()[k], v) for k, v in params.items())


def test_files_of_the_previous_form_still_load(tmp_path):
    """Before layers had configs, a file described each layer as ``{"n_in", "n_out", "activation": name}`` with
    the activation's settings beside it (LeakyReLU's ``"slope"``) and the loss by its name: built here by hand."""
    net = gn.Network([gn.Dense(2, 3, gn.core.activations.LeakyReLU(0.2)), gn.Dense(3, 1, "sigmoid")], loss="bce", seed=4)
    params = {k: v.copy() for k, v in net.parameters().items()}
    old = {"format": "glassnet-model", "format_version": 2,
           "layers": [{"n_in": 2, "n_out": 3, "activation": "leaky_relu", "slope": 0.2},
                      {"n_in": 3, "n_out": 1, "activation": "sigmoid"}],
           "loss": "bce", "l2": 0.01, "dtype": "float64", "seed": 4, "extra": {"classes": [0, 1]}}
    old["checksum"] = checksum(params, old)
    loaded = gn.load(forged(tmp_path / "old.npz", arrays=params, meta=old))
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in net.layers]
    assert loaded.layers[0].activation.slope == 0.2 and loaded.loss_fn.name == "bce" and loaded.l2 == 0.01
    assert loaded.metadata == {"classes": [0, 1]}
    for key, value in params.items():
        assert np.array_equal(loaded.parameters()[key], value)
    meta, _ = gn.io.read(tmp_path / "old.npz")  # read() hands back the architecture in the current form
    assert meta["layers"][0] == {"name": "dense", "n_in": 2, "n_out": 3, "activation": {"name": "leaky_relu", "slope": 0.2}}
    assert meta["loss"] == {"name": "bce"}


def test_files_hold_each_part_s_config_and_its_settings_survive(tmp_path):
    from glassnet.core.activations import GELU, LeakyReLU
    from glassnet.core.losses import Huber

    net = gn.Network([gn.Dense(2, 4, LeakyReLU(0.3)), gn.Dense(4, 3, GELU()), gn.Dense(3, 2, "identity")],
                     loss=Huber(delta=0.4), seed=0)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        meta = json.loads(data[META_KEY].tobytes())
    assert meta["format_version"] == 3
    assert meta["layers"] == [layer.config() for layer in net.layers]
    assert meta["loss"] == {"name": "huber", "delta": 0.4}
    assert meta["parameters"] == {key: list(p.shape) for key, p in net.parameters().items()}
    back = gn.load(tmp_path / "m.npz")
    assert back.layers[0].activation.slope == 0.3 and isinstance(back.layers[1].activation, GELU)
    assert isinstance(back.loss_fn, Huber) and back.loss_fn.delta == 0.4
    X = np.random.default_rng(0).normal(size=(5, 2))
    assert np.array_equal(back.forward(X), net.forward(X))


def test_a_layer_type_this_glassnet_does_not_know_says_how_to_register_it(tmp_path):
    net = model()
    params = {k: v.copy() for k, v in net.parameters().items()}
    meta = glassnet_meta(net, params)
    meta["layers"][0] = {"name": "conv_thing", "n_in": 2, "n_out": 3, "kernel": 5}
    del meta["checksum"]
    meta["checksum"] = checksum(params, meta)
    with pytest.raises(gn.ModelFileError, match=r"layer 0 is of type 'conv_thing'.*glassnet\.core\.layers\.LAYERS\.add"):
        gn.load(forged(tmp_path / "m.npz", arrays=params, meta=meta))
    assert not (tmp_path / "executed").exists()


def test_rebuilt_layers_that_disagree_with_the_declared_shapes_are_refused(tmp_path):
    """A forged file whose layer config and declared parameter shapes disagree (with a valid checksum)."""
    net = model()
    params = {k: v.copy() for k, v in net.parameters().items()}
    meta = glassnet_meta(net, params)
    meta["layers"][0]["n_out"] = meta["layers"][1]["n_in"] = 4  # the layers want 0.W (2, 4); the file holds (2, 3)
    del meta["checksum"]
    meta["checksum"] = checksum(params, meta)
    with pytest.raises(gn.ModelFileError, match=r"array '0.W' has shape \(2, 3\); the architecture says \(2, 4\)"):
        gn.load(forged(tmp_path / "m.npz", arrays=params, meta=meta))


def test_round_trip_is_bit_exact_and_metadata_numpy_values_are_saved_as_json(tmp_path):
    net = model()
    net.metadata = {"classes": np.array(["cat", "dog"]), "n": np.int64(3), "scale": np.float32(0.5)}
    net.save(tmp_path / "m.npz")
    loaded = gn.load(tmp_path / "m.npz")
    assert loaded.metadata == {"classes": ["cat", "dog"], "n": 3, "scale": 0.5}
    for key, value in net.parameters().items():
        assert loaded.parameters()[key].tobytes() == value.tobytes()


def test_unsaveable_metadata_is_refused_before_writing(tmp_path):
    net = model()
    net.metadata = {"callback": print}
    with pytest.raises(gn.GlassnetTypeError, match="JSON data only"):
        net.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_metadata_too_large_to_read_back_is_refused_on_save(tmp_path, monkeypatch):
    monkeypatch.setattr(gn.io, "MAX_META_BYTES", 4096)
    net = model()
    net.metadata = {"notes": [f"note {i}" for i in range(1000)]}  # (1000 class names would not fit its 2 classes)
    with pytest.raises(gn.ConfigError, match="MiB glassnet reads back"):
        net.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- crashes while writing
def test_exception_inside_atomic_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old")
    for error in (RuntimeError("disk on fire"), KeyboardInterrupt()):
        with pytest.raises(type(error)), atomic_write(path, "w") as handle:
            handle.write("new but unfinished")
            raise error
        assert path.read_text() == "old"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no temporary file left


def test_save_crashing_midway_leaves_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = model()
    old.save(path)
    before = path.read_bytes()

    def half_a_savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half of an archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", half_a_savez)
    new = gn.Network.from_sizes([2, 3, 1], "tanh", loss="bce", seed=2)
    with pytest.raises(gn.ModelFileError, match="No space left"):  # an OSError while writing names the file
        new.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_writer_killed_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    model().save(path)
    before = path.read_bytes()
    script = (
        "import os, signal, sys\n"
        "from glassnet.io import atomic_write\n"
        "with atomic_write(sys.argv[1]) as handle:\n"
        "    handle.write(b'PK' + b'x' * 100000)\n"
        "    handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run([sys.executable, "-c", script, str(path)], env=env, capture_output=True, timeout=60)
    assert result.returncode == -9
    assert path.read_bytes() == before
    gn.load(path)


def test_atomic_write_refuses_a_missing_folder_or_a_folder_target(tmp_path):
    with pytest.raises(gn.ModelFileError, match="does not exist"):
        model().save(tmp_path / "no" / "such" / "model.npz")
    (tmp_path / "adir").mkdir()
    with pytest.raises(gn.ModelFileError, match="is a folder"):
        model().save(tmp_path / "adir")


def test_written_files_get_ordinary_permissions(tmp_path):
    path = tmp_path / "model.npz"
    mask = os.umask(0o022)
    try:
        model().save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp alone would leave 0600
        path.chmod(0o640)
        model().save(path)  # overwriting keeps the mode the user chose
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(mask)


# ----------------------------------------------------------------------------- PyTorch exports (glassnet.torch)
@pytest.mark.parametrize("case", ["malicious pickle", "truncated", "empty"])
def test_damaged_or_malicious_torch_export_is_refused_and_never_executed(tmp_path, case):
    import torch

    from glassnet.torch import load_torch, save_torch

    path = tmp_path / "model.pt"
    if case == "malicious pickle":
        torch.save({"architecture": Evil(str(tmp_path / "executed"))}, path)
    else:
        save_torch(model(), path)
        path.write_bytes(path.read_bytes()[:50] if case == "truncated" else b"")
    with pytest.raises(gn.ModelFileError, match="could not be read as a glassnet torch export"):
        load_torch(path)
    assert not (tmp_path / "executed").exists()
