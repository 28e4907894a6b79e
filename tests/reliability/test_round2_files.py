"""Files glassnet writes and reads, round two (issue 14): one table per class of failure.

1. What glassnet writes, it reads back, and it writes only what it can read: ``save`` refuses NaN/inf parameters
   and metadata its own readers would refuse, ``load`` refuses the same in a file with a valid checksum, and a
   checkpoint's non-finite records (a validation loss of inf) are read back while non-finite state is never written.
2. An ``OSError`` while writing (disk full, read-only, a file where a folder belongs) or reading becomes a
   ``ModelFileError`` / ``OutputFileError`` naming the file; the old file and the folder are left as they were.
3. One checkpoint, one writer: a second process on a checkpoint in use is refused and touches nothing.
4. Bounded resources: no member inflates beyond what the metadata declares, metadata depth and size are bounded,
   and no error message is longer than a few thousand characters.

Run the tables with ``python3 -m pytest -q tests/reliability/test_round2_files.py``.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.checkpoint import Checkpointer, read_checkpoint
from glassnet.io import META_KEY, checksum, read

SRC = Path(__file__).resolve().parents[2] / "src"


# ----------------------------------------------------------------------------- helpers
def classifier(n_out: int = 1, seed: int = 0) -> gn.Network:
    """2 inputs, a hidden layer of 3; one sigmoid output (2 classes) or ``n_out`` softmax outputs."""
    if n_out == 1:
        return gn.Network.from_sizes([2, 3, 1], "tanh", loss="bce", seed=seed)
    return gn.Network.from_sizes([2, 3, n_out], "tanh", loss="cross_entropy", seed=seed)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def rewrite(path: Path, meta: dict, arrays: dict, compression: int = zipfile.ZIP_STORED) -> Path:
    """Write ``arrays`` and ``meta`` as a glassnet file with a valid checksum: a file only the rules can refuse."""
    meta = {key: value for key, value in meta.items() if key != "checksum"}
    meta["checksum"] = checksum(arrays, meta)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, array in arrays.items():
            archive.writestr(f"{name}.npy", npy(array))
        archive.writestr(f"{META_KEY}.npy", npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))
    return path


def forged(tmp_path: Path, net: gn.Network, change_meta=None, change_arrays=None) -> Path:
    """``net`` saved, then changed by hand (``change_meta(meta)``, ``change_arrays(arrays)``) and re-checksummed."""
    good = tmp_path / "good.npz"
    net.save(good)
    meta, arrays = read(good)
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    return rewrite(tmp_path / "forged.npz", meta, arrays)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ============================================================================= 1. written = read back
NONFINITE_PARAMETERS = [  # (network outputs, parameter, index, value, the place the message must name)
    (1, "1.W", (2, 0), np.inf, "1.W holds inf at row 2, column 0"),
    (1, "0.b", (1,), -np.inf, "0.b holds -inf at entry 1"),
    (1, "0.W", (0, 2), np.nan, "0.W holds nan at row 0, column 2"),
    (3, "1.b", (2,), np.nan, "1.b holds nan at entry 2"),
    (3, "1.W", (0, 1), -np.inf, "1.W holds -inf at row 0, column 1"),
]


@pytest.mark.parametrize("n_out, name, index, value, words", NONFINITE_PARAMETERS,
                         ids=[f"{r[1]}={r[3]}" for r in NONFINITE_PARAMETERS])
def test_save_refuses_nonfinite_parameters_and_writes_nothing(tmp_path, n_out, name, index, value, words):
    net = classifier(n_out)
    net.parameters()[name][index] = value
    with pytest.raises(gn.ConfigError) as info:
        net.save(tmp_path / "m.npz")
    assert words in str(info.value) and str(tmp_path / "m.npz") in str(info.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("n_out, name, index, value, words", NONFINITE_PARAMETERS,
                         ids=[f"{r[1]}={r[3]}" for r in NONFINITE_PARAMETERS])
def test_load_refuses_a_checksummed_file_with_nonfinite_parameters(tmp_path, n_out, name, index, value, words):
    def poison(arrays):
        arrays[name][index] = value

    path = forged(tmp_path, classifier(n_out), change_arrays=poison)
    with pytest.raises(gn.ModelFileError) as info:
        gn.load(path)
    assert words in str(info.value) and str(path) in str(info.value)


DEEP: list = []
for _ in range(10_000):
    DEEP = [DEEP]

BAD_METADATA = [  # (id, network outputs, net.metadata, words the message must contain)
    ("classes not a list", 1, {"classes": "yes"}, "net.metadata['classes'] must be a list"),
    ("too few class names", 1, {"classes": ["cat"]}, "names 1 class(es), but the classifier (1 output(s)) has 2"),
    ("too many class names", 3, {"classes": ["a", "b", "c", "d"]}, "names 4 class(es)"),
    ("class name a dict", 3, {"classes": ["a", {"b": 1}, "c"]}, "must be a list of class names"),
    ("class names booleans", 1, {"classes": [False, True]}, "must be a list of class names"),
    ("class name NaN", 1, {"classes": [0, float("nan")]}, "must be a list of class names"),
    ("feature names too few", 1, {"feature_names": ["x"]}, "names 1 column(s), but the network has 2 input(s)"),
    ("feature names numbers", 1, {"feature_names": [1, 2]}, "'feature_names'] must be a list of column names"),
    ("history as text", 1, {"history": "trained for 10 epochs"}, "'history'] must be a dictionary with a 'loss' list"),
    ("history without loss", 1, {"history": {"accuracy": [0.5]}}, "'loss' list"),
    ("history loss as text", 1, {"history": {"loss": ["0.5", "0.4"]}}, "entry 'loss' must be a list of numbers"),
    ("history longer than its epochs", 1, {"history": {"loss": [0.5, 0.4], "epoch": [1]}}, "more 'loss' values"),
    ("standardize of 3 columns", 1, {"standardize": {"mean": [0, 0, 0], "scale": [1, 1, 1]}}, "has 3 means"),
    ("standardize scale zero", 1, {"standardize": {"mean": [0, 0], "scale": [1, 0]}}, "every scale must be positive"),
    ("standardize mean inf", 1, {"standardize": {"mean": [0, float("inf")], "scale": [1, 1]}}, "finite 'mean'"),
    ("standardize a list", 1, {"standardize": [0, 1]}, "must hold finite 'mean' and 'scale'"),
    ("recorded run not a dict", 1, {"run": [1, 2]}, "must be a recorded run"),
    ("metadata nested 10,000 deep", 1, {"notes": DEEP}, "levels deep"),
    ("metadata a list", 1, [1, 2], "dictionary"),
]


@pytest.mark.parametrize("case, n_out, extra, words", BAD_METADATA, ids=[r[0] for r in BAD_METADATA])
def test_save_refuses_metadata_its_readers_would_refuse(tmp_path, case, n_out, extra, words):
    net = classifier(n_out)
    net.metadata = extra
    with pytest.raises(gn.ConfigError) as info:
        net.save(tmp_path / "m.npz")
    assert words in str(info.value) and str(tmp_path / "m.npz") in str(info.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("case, n_out, extra, words", BAD_METADATA, ids=[r[0] for r in BAD_METADATA])
def test_load_leaves_out_the_same_metadata_loudly_or_refuses_a_damaged_file(tmp_path, case, n_out, extra, words):
    """An entry glassnet's readers cannot use is left out with a warning naming it (older files may hold one; the
    model is not lost over it); metadata that is not even a dictionary, or nested past the bound, is damage."""
    if case == "metadata nested 10,000 deep":  # json.dumps cannot write it: the bytes are written by hand
        path = forged(tmp_path, classifier(n_out))
        with zipfile.ZipFile(path) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        text = json.dumps(read(path)[0])[:-1] + ', "deep": ' + "[" * 10_000 + "]" * 10_000 + "}"
        members[f"{META_KEY}.npy"] = npy(np.frombuffer(text.encode(), np.uint8))
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        words = "metadata is damaged"
    else:
        path = forged(tmp_path, classifier(n_out), change_meta=lambda meta: meta.__setitem__("extra", extra))
    if not isinstance(extra, dict) or case == "metadata nested 10,000 deep":
        with pytest.raises(gn.ModelFileError) as info:
            gn.load(path)
        assert "damaged" in str(info.value) and str(path) in str(info.value)
        return
    with pytest.warns(UserWarning) as caught:
        loaded = gn.load(path)
    shown = " ".join(str(w.message) for w in caught)
    assert words in shown and str(path) in shown and "left out" in shown
    assert not set(extra) & set(loaded.metadata)
    for key, p in classifier(n_out).parameters().items():
        assert np.array_equal(loaded.parameters()[key], p)


GOOD_METADATA = [  # what glassnet's own writers put there, and what a user may add: saved and read back equal
    ("two class names", 1, {"classes": ["no", "yes"]}),
    ("three numeric classes", 3, {"classes": [0, 1.5, 7]}),
    ("feature names", 1, {"feature_names": ["width", "height"]}),
    ("history with an inf validation loss", 1, {"history": {"loss": [0.7, 0.5], "val_loss": [float("inf"), 0.6],
                                                            "epochs": 2, "stopped": "completed", "seconds": 0.1}}),
    ("standardize", 3, {"standardize": {"mean": [0.5, -2.0], "scale": [1.0, 3.0]}}),
    ("a user's own entry", 1, {"notes": {"by": "me", "tries": [1, 2, 3]}}),
]


@pytest.mark.parametrize("case, n_out, extra", GOOD_METADATA, ids=[r[0] for r in GOOD_METADATA])
def test_metadata_glassnet_reads_is_saved_and_read_back(tmp_path, case, n_out, extra):
    net = classifier(n_out)
    net.metadata = extra
    net.save(tmp_path / "m.npz")
    # json.dumps writes inf as Infinity and reads it back: compare as JSON text, where inf == inf
    assert json.dumps(gn.load(tmp_path / "m.npz").metadata, sort_keys=True) == json.dumps(extra, sort_keys=True)


def test_a_model_trained_by_the_cli_saves_metadata_the_rules_accept(cli, tmp_path):
    """The rules must fit what glassnet itself writes: the CLI's classes, feature names, history, standardisation."""
    code, _, err = cli("train", "--data", "iris", "--layers", "4,5,3", "--output-activation", "softmax", "--loss",
                       "cross_entropy", "--epochs", "3", "--standardize", "--no-progress", "--out", str(tmp_path / "m.npz"))
    assert code == 0, err
    extra = gn.load(tmp_path / "m.npz").metadata
    assert {"classes", "feature_names", "history", "standardize"} <= set(extra)


# Every field a checkpoint records, with the values training may record there.
RECORDED = [(field, value) for field in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")
            for value in (math.inf, -math.inf, math.nan)]

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 3))
Y = RNG.integers(0, 3, size=12)
VAL = (X[:4] + 0.1, Y[:4])


def small_run(path, epochs, optimizer=None, **options):
    net = gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2)
    opt = optimizer or gn.Adam(0.02)
    history = net.fit(X, Y, epochs=epochs, optimizer=opt, batch_size=4, validation_data=VAL, checkpoint=path,
                      checkpoint_every=1, **options)
    return net, opt, history


def same(a, b) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("field, value", RECORDED, ids=[f"{f}={v}" for f, v in RECORDED])
def test_a_checkpoint_reads_back_every_number_it_recorded(tmp_path, monkeypatch, field, value):
    original = Checkpointer._capture

    def capture(self, epoch, copy):  # as if training had recorded `value` in `field` at this epoch
        state = original(self, epoch, copy)
        if field == "seconds":
            state["seconds"] = value
        else:
            getattr(self.history, field)[-1] = value
        return state

    monkeypatch.setattr(Checkpointer, "_capture", capture)
    small_run(tmp_path / "run.ckpt", 2)
    monkeypatch.setattr(Checkpointer, "_capture", original)
    meta, arrays = read_checkpoint(tmp_path / "run.ckpt")
    recorded = meta["checkpoint"]["seconds"] if field == "seconds" else arrays[f"history:{field}"][-1]
    assert same(recorded, value)
    _, _, history = small_run(tmp_path / "run.ckpt", 3, resume=True)  # not refused as damaged
    assert history.epochs == 3 and (field == "seconds" or same(getattr(history, field)[1], value))
    assert gn.load(tmp_path / "run.ckpt").n_out == 3  # and it still loads as a model


def poison_state(optimizer_key, name, value):
    class Poison:  # a user callback that makes the optimizer's state non-finite at the end of epoch 2
        def __init__(self, opt):
            self.opt = opt

        def on_epoch_end(self, net, epoch, logs):
            if epoch == 2:
                self.opt.state[name][optimizer_key].flat[0] = value
    return Poison


NONFINITE_STATE = [  # (optimizer, buffer, parameter, value)
    (lambda: gn.Adam(0.02), "m", "0.W", math.nan),
    (lambda: gn.Adam(0.02), "v", "1.b", math.inf),
    (lambda: gn.SGD(0.05, momentum=0.9), "velocity", "0.b", -math.inf),
    (lambda: gn.SGD(0.05, momentum=0.9, nesterov=True), "velocity", "1.W", math.nan),
    (lambda: gn.RMSprop(0.01), "square_avg", "0.W", math.inf),
]


@pytest.mark.parametrize("make, key, name, value", NONFINITE_STATE, ids=[f"{r[2]}:{r[1]}={r[3]}" for r in NONFINITE_STATE])
def test_a_checkpoint_never_writes_state_it_would_refuse_to_resume(tmp_path, make, key, name, value):
    opt = make()
    small_run(tmp_path / "probe.ckpt", 1, optimizer=opt)
    if key not in opt.state[name]:
        raise AssertionError(f"{type(opt).__name__} keeps {sorted(opt.state[name])}, not {key!r}: fix the table")
    opt = make()
    net = gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2)
    with pytest.raises(gn.TrainingDiverged) as info:
        net.fit(X, Y, epochs=4, optimizer=opt, batch_size=4, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                checkpoint_every=1, callbacks=[poison_state(key, name, value)(opt)])
    assert f"optimizer:{name}:{key} holds {value}" in str(info.value) and str(tmp_path / "run.ckpt") in str(info.value)
    assert read_checkpoint(tmp_path / "run.ckpt")[0]["checkpoint"]["epoch"] == 1  # the last good one is kept
    small_run(tmp_path / "run.ckpt", 2, optimizer=make(), resume=True)  # and resumes


FORGED_STATE = [  # (array, index, value, refused?): the reader's rule, as the writer applies it
    ("optimizer:0.W:m", (0, 0), math.nan, True),
    ("optimizer:1.b:v", (1,), math.inf, True),
    ("0.b", (0,), -math.inf, True),
    ("history:val_loss", (0,), math.inf, False),
    ("history:accuracy", (1,), math.nan, False),
]


@pytest.mark.parametrize("name, index, value, refused", FORGED_STATE, ids=[f"{r[0]}={r[2]}" for r in FORGED_STATE])
def test_resume_refuses_nonfinite_state_and_accepts_nonfinite_records(tmp_path, name, index, value, refused):
    small_run(tmp_path / "run.ckpt", 2)
    meta, arrays = read_checkpoint(tmp_path / "run.ckpt")
    arrays[name][index] = value
    rewrite(tmp_path / "run.ckpt", meta, arrays)
    if refused:
        with pytest.raises(gn.ModelFileError, match=f"NaN or inf inside: {name} holds {value}"):
            small_run(tmp_path / "run.ckpt", 3, resume=True)
    else:
        assert small_run(tmp_path / "run.ckpt", 3, resume=True)[2].epochs == 3


# ============================================================================= 2. OSError -> file errors
class FailingFile:
    """A file whose ``write`` stores a few bytes, then fails like a full disk (or ``code``)."""

    def __init__(self, handle, code):
        self._handle, self._code, self._written = handle, code, 0

    def write(self, data):
        room = max(0, 10 - self._written)
        self._written += self._handle.write(data[:room])
        if len(data) > room:
            raise OSError(self._code, os.strerror(self._code))
        return len(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def fail_writes(code):
    def install(monkeypatch, target):
        real = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: FailingFile(real(*a, **k), code))
        return target
    return install


def fail_call(module, name, code):
    def install(monkeypatch, target):
        def refuse(*args, **kwargs):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(module, name, refuse)
        return target
    return install


def parent_is_a_file(monkeypatch, target):  # what a read-only folder is when running as root: a path through a file
    (target.parent / "afile").write_text("not a folder")
    return target.parent / "afile" / target.name


def missing_folder(monkeypatch, target):
    return target.parent / "nowhere" / target.name


def target_is_a_folder(monkeypatch, target):
    target.unlink()
    target.mkdir()
    return target


FAULTS = [  # (id, install(monkeypatch, target) -> the path to write, words of the reason, words of the advice)
    ("disk full mid-write", fail_writes(errno.ENOSPC), "the disk is full", "free some space"),
    ("quota used up mid-write", fail_writes(errno.EDQUOT), "quota", "free some space"),
    ("I/O error at fsync", fail_call(os, "fsync", errno.EIO), "input/output error", "check the disk"),
    ("read-only file system", fail_call(tempfile, "mkstemp", errno.EROFS), "read-only", "writable disk"),
    ("permission denied", fail_call(tempfile, "mkstemp", errno.EACCES), "permission denied", "you may write to"),
    ("disk full at the rename", fail_call(os, "replace", errno.ENOSPC), "the disk is full", "free some space"),
    ("parent is a file", parent_is_a_file, "is a file, not a folder", "inside a folder"),
    ("missing folder", missing_folder, "does not exist", "create it first"),
    ("target is a folder", target_is_a_folder, "is a folder", "file name inside it"),
]


def old_bytes(target):
    target.write_bytes(b"the user's old file")


def old_checkpoint(target):
    write_checkpoint(target, epochs=1)


def write_model(path):
    classifier().save(path)


def write_trace(path):
    gn.explain(classifier(), np.zeros((2, 2)), np.array([0, 1])).save(path)


def write_checkpoint(path, epochs=2):
    gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2).fit(
        X, Y, epochs=epochs, optimizer="adam", checkpoint=path, checkpoint_every=1, resume=True)


def write_text(path):
    with gn.io.atomic_write(path, "w", gn.OutputFileError) as handle:
        handle.write("prediction\n" * 100)


WRITERS = [  # (id, make the old file, write(path), the error class, file name)
    ("Network.save", old_bytes, write_model, gn.ModelFileError, "m.npz"),
    ("Trace.save", old_bytes, write_trace, gn.OutputFileError, "t.txt"),
    ("checkpoint", old_checkpoint, write_checkpoint, gn.ModelFileError, "run.ckpt"),
    ("atomic_write text", old_bytes, write_text, gn.OutputFileError, "p.csv"),
]


@pytest.mark.parametrize("fault, install, why, advice", FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize("writer, prepare, write, error, name", WRITERS, ids=[w[0] for w in WRITERS])
def test_an_os_error_while_writing_names_the_file_and_damages_nothing(tmp_path, monkeypatch, fault, install, why,
                                                                      advice, writer, prepare, write, error, name):
    target = tmp_path / name
    prepare(target)
    old = target.read_bytes()
    before = listing(tmp_path)
    path = install(monkeypatch, target)
    with pytest.raises(error) as info:
        write(path)
    message = str(info.value)
    assert str(path) in message and why in message and advice in message, message
    monkeypatch.undo()
    assert target.is_dir() if fault == "target is a folder" else target.read_bytes() == old
    assert listing(tmp_path) == sorted(before + (["afile"] if fault == "parent is a file" else []))  # no temporary


def fail_open(code):
    def install(monkeypatch, path):
        def refuse(*args, **kwargs):
            raise OSError(code, os.strerror(code), str(path))
        monkeypatch.setattr(gn.io, "open", refuse, raising=False)  # io.read's open(), shadowing the built-in
        return path
    return install


READ_FAULTS = [  # (id, install(monkeypatch, path) -> path to read, words)
    ("I/O error", fail_open(errno.EIO), "cannot read"),
    ("permission denied", fail_open(errno.EACCES), "cannot read"),
    ("too many open files", fail_open(errno.EMFILE), "cannot read"),
    ("a file used as a folder", lambda m, p: p / "inside.npz", "does not exist"),
    ("a folder", lambda m, p: p.parent, "is a folder"),
]


@pytest.mark.parametrize("fault, install, words", READ_FAULTS, ids=[f[0] for f in READ_FAULTS])
def test_an_os_error_while_reading_is_a_model_file_error_naming_the_file(tmp_path, monkeypatch, fault, install, words):
    classifier().save(tmp_path / "m.npz")
    path = install(monkeypatch, tmp_path / "m.npz")
    with pytest.raises(gn.ModelFileError) as info:
        gn.load(path)
    assert words in str(info.value) and str(path) in str(info.value)


# ============================================================================= 3. one checkpoint, one writer
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    import glassnet as gn
    path, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    class Wait:
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 2:
                ready.write_text("holding")
                deadline = time.time() + 60
                while not go.exists() and time.time() < deadline:
                    time.sleep(0.05)

    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(12, 3)), rng.integers(0, 3, size=12)
    net = gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2)
    net.fit(X, Y, epochs=4, optimizer="adam", batch_size=4, checkpoint=path, checkpoint_every=1, resume=True,
            callbacks=[Wait()])
    print("finished", gn.checkpoint.saved_epoch(path))
""")

SECOND = textwrap.dedent("""
    import sys
    import numpy as np
    import glassnet as gn
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(12, 3)), rng.integers(0, 3, size=12)
    net = gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2)
    try:
        net.fit(X, Y, epochs=4, optimizer="adam", batch_size=4, checkpoint=sys.argv[1], checkpoint_every=1,
                resume=sys.argv[2] == "resume")
    except gn.GlassnetError as exc:
        print(type(exc).__name__, exc)
""")


def python(code: str, *args: str, **options) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(SRC))}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **options)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        if process.poll() is not None or time.time() > deadline:
            out, err = process.communicate()
            raise AssertionError(f"the first run did not get going: {out} {err}")
        time.sleep(0.05)


SECOND_WRITERS = [  # (id, argv of the second run, words its refusal must hold)
    ("fit resuming", lambda ckpt: [sys.executable, "-c", SECOND, ckpt, "resume"], "ModelFileError"),
    ("fit starting afresh", lambda ckpt: [sys.executable, "-c", SECOND, ckpt, "fresh"], "ModelFileError"),
    ("glassnet train --resume", lambda ckpt: [sys.executable, "-m", "glassnet", "train", "--data", "xor", "--layers",
                                              "2,3,1", "--epochs", "5", "--checkpoint", ckpt, "--resume"],
     "glassnet: error: "),
]


@pytest.mark.parametrize("case, argv, words", SECOND_WRITERS, ids=[s[0] for s in SECOND_WRITERS])
def test_a_second_process_on_a_checkpoint_in_use_is_refused_and_touches_nothing(tmp_path, case, argv, words):
    ckpt, ready, go = tmp_path / "run.ckpt", tmp_path / "ready", tmp_path / "go"
    first = python(HOLDER, str(ckpt), str(ready), str(go))
    try:
        wait_for(ready, first)
        in_flight = tmp_path / ".run.ckpt.abc123.tmp"  # as if the first run were writing its next checkpoint now
        in_flight.write_bytes(b"half a checkpoint")
        before = ckpt.read_bytes()
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(SRC))}
        second = subprocess.run(argv(str(ckpt)), capture_output=True, text=True, env=env, timeout=120)
        said = second.stdout + second.stderr
        assert words in said and f"checkpoint {ckpt} is in use" in said and f"pid {first.pid}" in said, said
        assert "Traceback" not in said
        assert in_flight.exists() and ckpt.read_bytes() == before  # the first run's files are left alone
        in_flight.unlink()
    finally:
        go.write_text("go")
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and "finished 4" in out, err
    assert not (tmp_path / "run.ckpt.lock").exists()  # removed on a clean end


def test_the_lock_of_a_killed_run_is_free_and_its_temporaries_are_removed(tmp_path):
    ckpt, ready, go = tmp_path / "run.ckpt", tmp_path / "ready", tmp_path / "go"
    first = python(HOLDER, str(ckpt), str(ready), str(go))
    wait_for(ready, first)
    first.kill()
    first.communicate()
    (tmp_path / ".run.ckpt.abc123.tmp").write_bytes(b"left by the killed run")
    assert (tmp_path / "run.ckpt.lock").exists()  # left behind, but no longer locked
    net = gn.Network.from_sizes([3, 4, 3], "tanh", loss="cross_entropy", seed=2)  # the holder's run, resumed here
    history = net.fit(X, Y, epochs=4, optimizer="adam", batch_size=4, checkpoint=ckpt, checkpoint_every=1, resume=True)
    assert history.epochs == 4
    assert listing(tmp_path) == ["ready", "run.ckpt"]


def test_a_run_of_this_process_that_raised_does_not_lock_out_the_next(tmp_path):
    class Boom:
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 2:
                raise KeyError("the user's callback failed")

    with pytest.raises(KeyError):
        small_run(tmp_path / "run.ckpt", 4, callbacks=[Boom()])
    assert small_run(tmp_path / "run.ckpt", 4, resume=True)[2].epochs == 4
    assert listing(tmp_path) == ["run.ckpt"]


# ============================================================================= 4. bounded resources
def zeros_member(archive: zipfile.ZipFile, name: str, header: bytes, n_bytes: int) -> None:
    """A deflated member: ``header`` then ``n_bytes`` zeros, written in pieces so the test never holds them."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w") as member:
        member.write(header)
        chunk = bytes(1 << 20)
        for _ in range(n_bytes >> 20):
            member.write(chunk)


def npy_header(shape, descr="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


BIG = 200 << 20  # a 200 MiB member that deflates to about 200 KiB


def bomb_file(path: Path, case: str) -> Path:
    """A small glassnet file (valid metadata and checksum for its other arrays) holding a 200 MiB member."""
    net = classifier()
    net.save(path)
    meta, arrays = read(path)
    meta.pop("checksum")
    members = {name: npy(a) for name, a in arrays.items()}
    bomb = ("junk", npy_header((BIG // 8,)))
    if case == "undeclared array":
        pass
    elif case == "undeclared array, no 'arrays' map":  # as files written before the map
        meta.pop("arrays")
    elif case == "a parameter with 200 MiB after its data":
        members.pop("0.W")
        bomb = ("0.W", npy(arrays["0.W"]))
    elif case == "an array declared small":
        meta["arrays"] = {"junk": [3]}
    elif case == "metadata member":
        bomb = (META_KEY, npy_header((BIG,), "|u1"))
    meta["checksum"] = checksum(arrays, meta)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
        if bomb[0] != META_KEY:
            archive.writestr(f"{META_KEY}.npy", npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))
        zeros_member(archive, f"{bomb[0]}.npy", bomb[1], BIG)
    return path


def lying_zip_entry(path: Path) -> Path:
    """A member whose zip entries say 48 bytes and whose deflated data inflates to 200 MiB."""
    bomb_file(path, "a parameter with 200 MiB after its data")
    data = bytearray(path.read_bytes())
    at = data.rfind(b"0.W.npy") - 46  # the member's central-directory entry (46 bytes, then its name)
    if data[at:at + 4] != b"PK\x01\x02":
        raise AssertionError("the test's zip layout changed: no central-directory entry before the name")
    data[at + 24:at + 28] = len(npy(np.zeros((2, 3)))).to_bytes(4, "little")  # "uncompressed size": the array's
    path.write_bytes(bytes(data))
    return path


DECOMPRESSION = [  # (id, build(path) -> path, words)
    ("undeclared array", lambda p: bomb_file(p, "undeclared array"), "is not declared"),
    ("undeclared array, no 'arrays' map", lambda p: bomb_file(p, "undeclared array, no 'arrays' map"),
     "bytes left for arrays its metadata does not declare"),
    ("a parameter with 200 MiB after its data", lambda p: bomb_file(p, "a parameter with 200 MiB after its data"),
     "bytes more than its shape (2, 3) needs"),
    ("an array declared small", lambda p: bomb_file(p, "an array declared small"), "has shape (26214400,)"),
    ("metadata member", lambda p: bomb_file(p, "metadata member"), "larger than the file can hold"),
    ("lying zip entry", lying_zip_entry, ""),
]


@pytest.mark.parametrize("case, build, words", DECOMPRESSION, ids=[d[0] for d in DECOMPRESSION])
def test_a_small_file_cannot_make_glassnet_inflate_a_big_member(tmp_path, case, build, words):
    path = build(tmp_path / "bomb.npz")
    assert path.stat().st_size < 2 << 20  # a small file ...
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(gn.ModelFileError) as info:
            gn.load(path)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(info.value)
    assert peak < 20 << 20, f"{peak / 2**20:.0f} MiB allocated"  # ... refused without inflating its 200 MiB
    assert seconds < 2.0


def test_member_names_that_are_paths_are_refused(tmp_path):
    for name in ("../evil.npy", "sub/0.W.npy", "..\\evil.npy"):
        path = forged(tmp_path, classifier())
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(name, npy(np.zeros(3)))
        with pytest.raises(gn.ModelFileError, match="a path"):
            gn.load(path)
        assert not (tmp_path.parent / "evil.npy").exists()


def huge_metadata_file(tmp_path):
    path = forged(tmp_path, classifier())
    meta, arrays = read(path)
    meta["extra"]["notes"] = "x" * (100 << 20)
    return rewrite(path, meta, arrays)


def save_huge_metadata(tmp_path):
    net = classifier()
    net.metadata = {"notes": "x" * (100 << 20)}
    net.save(tmp_path / "m.npz")


def save_deep_metadata(tmp_path):
    net = classifier()
    net.metadata = {"notes": DEEP}
    net.save(tmp_path / "m.npz")


METADATA_BOUNDS = [  # (id, action, error, words)
    ("saving a 100 MiB metadata string", save_huge_metadata, gn.ConfigError, "MiB glassnet reads back"),
    ("loading a 100 MiB metadata string", lambda t: gn.load(huge_metadata_file(t)), gn.ModelFileError, "metadata limit"),
    ("saving metadata nested 10,000 deep", save_deep_metadata, gn.ConfigError, "levels deep"),
]


@pytest.mark.parametrize("case, action, error, words", METADATA_BOUNDS, ids=[m[0] for m in METADATA_BOUNDS])
def test_metadata_size_and_depth_are_bounded_on_both_sides(tmp_path, case, action, error, words):
    with pytest.raises(error, match=words):
        action(tmp_path)
    assert not (tmp_path / "m.npz").exists()


def many_layers_file(tmp_path):
    """Metadata declaring 300,000 layers (the file holds the arrays of two), in the form of files written before
    layers had configs (shapes from the sizes), which keeps the metadata under the 16 MiB it may take."""
    path = forged(tmp_path, classifier())
    meta, arrays = read(path)
    meta.pop("parameters")
    meta["layers"] = [{"n_in": 2, "n_out": 2, "activation": "tanh"}] * 300_000
    return rewrite(path, meta, arrays)


LONG = "x" * 1_000_000

LONG_MESSAGES = [  # (id, action raising a GlassnetError, words its message keeps)
    ("a file declaring 300,000 layers", lambda t: gn.load(many_layers_file(t)), "is missing arrays ['2.W', '2.b', '3.W'"),
    ("an activation named by a million characters", lambda t: gn.Dense(2, 3, activation=LONG), "unknown activation"),
    ("unknown_name with 300,000 valid names", lambda t: (_ for _ in ()).throw(
        gn.errors.unknown_name("thing", "y", [f"name{i}" for i in range(300_000)])), "unknown thing 'y'"),
    ("a 10-million-character message", lambda t: (_ for _ in ()).throw(gn.DataError("z" * 10_000_000 + " fix it")),
     "more characters) ... zzz"),
    ("a huge name in set_parameters", lambda t: classifier().set_parameters({LONG: [1.0]}), "xxxx"),
]


@pytest.mark.parametrize("case, action, words", LONG_MESSAGES, ids=[m[0] for m in LONG_MESSAGES])
def test_error_messages_are_bounded(tmp_path, case, action, words):
    with pytest.raises(gn.GlassnetError) as info:
        action(tmp_path)
    message = str(info.value)
    assert len(message) <= 5000 and words in message, message[:300]  # a few screens, not 7 million characters
    if case == "a 10-million-character message":
        assert message.endswith(" fix it")  # the advice, which comes last, is kept


SHORTENED = [  # values of any size quoted in a message: a small one as repr gives it, a large one cut
    ([1, 2, 3], True), ({"a": 1}, True), ("short", True), ((1.5, None), True),
    (list(range(300_000)), False), ("y" * 100_000, False), ({f"k{i}": i for i in range(10_000)}, False), (DEEP, False),
]


@pytest.mark.parametrize("value, small", SHORTENED, ids=[type(v).__name__ + ("" if s else " (large)") for v, s in SHORTENED])
def test_shorten_quotes_small_values_exactly_and_cuts_large_ones(value, small):
    text = gn.errors.shorten(value)
    if small:
        assert text == repr(value)
    else:
        assert len(text) <= 300 and "..." in text


@pytest.mark.parametrize("failure", ["divergence", "a callback raising"])
def test_a_run_that_fails_lets_go_of_its_checkpoint(tmp_path, failure):
    """The lock is the run's while it runs: a fit ended by an exception releases it (and keeps the last checkpoint)."""
    X, y = gn.datasets.xor()
    ckpt = tmp_path / "run.ckpt"

    class Boom:
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 3:
                raise RuntimeError("the user's callback failed")

    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    with pytest.raises(gn.TrainingDiverged if failure == "divergence" else RuntimeError):
        if failure == "divergence":
            net.fit(X, y * 1e300, epochs=50, lr=1e300, checkpoint=ckpt, checkpoint_every=1, monitor=False)
        else:
            net.fit(X, y, epochs=50, checkpoint=ckpt, checkpoint_every=1, callbacks=[Boom()], monitor=False)
    assert not (tmp_path / "run.ckpt.lock").exists()
    script = (f"import glassnet as gn; X, y = gn.datasets.xor(); net = gn.Network.from_sizes([2, 3, 1], seed=0); "
              f"net.fit(X, y, epochs=60, checkpoint={str(ckpt)!r}, resume=True, monitor=False)")
    if ckpt.exists():  # another process may resume it now
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
