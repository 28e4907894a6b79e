"""Save and load (io.py): bit-exact round trips, npz files without pickles, refused damaged files, atomic writes."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.activations import LeakyReLU
from glassnet.io import atomic_write


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype):
    net = gn.Network([gn.Dense(3, 5, LeakyReLU(0.2)), gn.Dense(5, 4, "tanh"), gn.Dense(4, 3, "softmax")],
                     loss="cross_entropy", l2=0.01, seed=4, dtype=dtype)
    net.fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 3, epochs=3, optimizer="adam", lr=0.01)
    net.metadata["classes"] = ["a", "b", "c"]
    path = tmp_path / "model.npz"
    net.save(path)
    back = gn.load(path)
    assert repr(back) == repr(net) and back.metadata == {"classes": ["a", "b", "c"]}
    assert back.layers[0].activation.slope == 0.2
    for key, value in net.parameters().items():
        assert value.dtype == back.parameters()[key].dtype == np.dtype(dtype)
        assert np.array_equal(value, back.parameters()[key]), key


def test_model_file_is_npz_without_pickles(tmp_path):
    path = tmp_path / "m.npz"
    gn.Network.from_sizes([2, 3, 1], seed=0).save(path)
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["__glassnet__"].tobytes())
        assert meta["format"] == "glassnet-model" and meta["format_version"] == 3  # 3: layers and loss as their configs
        assert [layer["activation"] for layer in meta["layers"]] == [{"name": "sigmoid"}, {"name": "sigmoid"}]
        assert data["0.W"].shape == (2, 3)


def test_load_rejects_truncated_foreign_and_other_version_files(tmp_path):
    good = tmp_path / "good.npz"
    gn.Network.from_sizes([2, 3, 1], seed=0).save(good)
    blob = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    np.savez(tmp_path / "foreign.npz", a=np.ones(3))
    (tmp_path / "text.npz").write_text("hello")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "v9.npz", "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "__glassnet__.npy":
                header_end = data.index(b"\n") + 1
                meta = json.loads(data[header_end:])
                meta["format_version"] = 9
                body = json.dumps(meta).encode()
                arr = np.frombuffer(body, dtype=np.uint8)
                import io
                buf = io.BytesIO()
                np.save(buf, arr)
                data = buf.getvalue()
            dst.writestr(name, data)
    for name, words in [("cut.npz", "truncated"), ("foreign.npz", "not a glassnet model file"),
                        ("text.npz", "not a glassnet model file"), ("v9.npz", "format version 9")]:
        with pytest.raises(gn.ModelFileError, match=words):
            gn.load(tmp_path / name)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "model.npz"
    gn.Network.from_sizes([2, 3, 1], seed=0).save(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write(b"half a file")
            raise RuntimeError("crash mid-write")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind
