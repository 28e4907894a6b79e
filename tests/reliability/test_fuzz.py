"""Fuzzing the two readers of outside data, with a bounded budget so it runs in CI: the CSV reader and
the model/checkpoint reader. Any input gives a result or a glassnet error, never another exception;
a mutated model file either loads exactly the original network or is refused."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.checkpoint import read_checkpoint
from glassnet.datasets import Dataset, load_csv

BUDGET = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FOLDER = Path(tempfile.mkdtemp(prefix="glassnet-fuzz-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)

CELLS = st.one_of(
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-", "1e400", "0x10", "1_000", "yes", "a,b", '"', '""', "é", "\x00", "\r"]),
    st.text(max_size=6),
)


def read_csv_text(data: bytes, target: str | int = -1) -> Dataset | None:
    path = FOLDER / "fuzz.csv"
    path.write_bytes(data)
    try:
        return load_csv(path, target=target)
    except gn.GlassnetError:
        return None


@BUDGET
@given(st.binary(max_size=300))
def test_csv_reader_survives_any_bytes(data):
    read_csv_text(data)


@BUDGET
@given(st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]),
       st.one_of(st.integers(-5, 5), st.sampled_from(["a", "label", "0", "-1"])))
def test_csv_reader_survives_any_grid_of_cells(rows, delimiter, target):
    text = "\n".join(delimiter.join(row) for row in rows)
    path = FOLDER / "grid.csv"
    path.write_bytes(text.encode("utf-8", errors="replace"))  # lone surrogates from st.text() become '?'
    try:
        data = load_csv(path, target=target, delimiter=delimiter)
    except gn.GlassnetError:
        return
    assert data.X.ndim == 2 and data.X.dtype == np.float64 and len(data.y) == data.X.shape[0]
    assert len(data.feature_names) == data.X.shape[1]
    if data.classes is not None and data.y.dtype.kind == "i":
        assert data.y.min() >= 0 and data.y.max() < max(len(data.classes), 2)


def _original():
    net = gn.Network.from_sizes([2, 3, 2], "tanh", loss="cross_entropy", seed=4)
    net.metadata = {"classes": ["no", "yes"]}
    return net


ORIGINAL = _original()
ORIGINAL.save(FOLDER / "model.npz")
MODEL = (FOLDER / "model.npz").read_bytes()
X, Y = gn.datasets.xor()
_ckpt_net = _original()
_ckpt_net.fit(X, Y, epochs=3, optimizer="adam", batch_size=2, checkpoint=FOLDER / "run.ckpt")
CHECKPOINT = (FOLDER / "run.ckpt").read_bytes()

MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]), st.integers(0, 10**6),
                               st.integers(0, 255)), min_size=1, max_size=4)


def mutate(blob: bytes, mutations) -> bytes:
    data = bytearray(blob)
    for kind, where, value in mutations:
        if not data:
            break
        at = where % len(data)
        if kind == "flip":
            data[at] ^= 1 << (value % 8)
        elif kind == "set":
            data[at] = value
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes([value]) * (1 + value % 16)
        else:
            del data[at:at + 1 + value % 16]
    return bytes(data)


@BUDGET
@given(MUTATIONS)
def test_mutated_model_file_loads_the_original_or_is_refused(mutations):
    path = FOLDER / "mutant.npz"
    path.write_bytes(mutate(MODEL, mutations))
    try:
        loaded = gn.load(path)
    except gn.ModelFileError:
        return
    assert repr(loaded) == repr(ORIGINAL) and loaded.metadata == ORIGINAL.metadata
    for key, value in ORIGINAL.parameters().items():
        assert loaded.parameters()[key].tobytes() == value.tobytes()


@BUDGET
@given(MUTATIONS)
def test_mutated_checkpoint_reads_the_original_or_is_refused(mutations):
    path = FOLDER / "mutant.ckpt"
    path.write_bytes(mutate(CHECKPOINT, mutations))
    (FOLDER / "good.ckpt").write_bytes(CHECKPOINT)
    try:
        meta, arrays = read_checkpoint(path)
    except gn.ModelFileError:
        return
    good_meta, good_arrays = read_checkpoint(FOLDER / "good.ckpt")
    assert meta == good_meta and arrays.keys() == good_arrays.keys()
    assert all(arrays[k].tobytes() == good_arrays[k].tobytes() for k in arrays)


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_with_a_zip_signature_are_refused(seed):
    rng = np.random.default_rng(seed)
    path = FOLDER / "random.npz"
    path.write_bytes(b"PK\x03\x04" + rng.bytes(2000) + b"PK\x05\x06" + rng.bytes(18))
    with pytest.raises(gn.ModelFileError):
        gn.load(path)
