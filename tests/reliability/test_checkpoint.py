"""Checkpoints in-process: a run stopped after any epoch and resumed equals the uninterrupted run bit for
bit (every optimizer, mini-batches, shuffling, validation); mismatched runs and damaged files are refused."""

from __future__ import annotations

import io
import os
import signal
import struct
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.checkpoint import read_checkpoint, saved_epoch

RNG = np.random.default_rng(11)
X = RNG.normal(size=(23, 3))
Y = RNG.integers(0, 3, size=23)
VAL = (X[:6] + 0.1, Y[:6])

OPTIMIZERS = {
    "sgd": lambda: gn.SGD(0.1),
    "momentum": lambda: gn.SGD(0.05, momentum=0.9),
    "nesterov": lambda: gn.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: gn.Adam(0.02),
}


def network(seed: int = 5) -> gn.Network:
    return gn.Network.from_sizes([3, 6, 3], "tanh", loss="cross_entropy", l2=1e-3, seed=seed)


def train(path, epochs, optimizer="adam", **options):
    net = network(options.pop("seed", 5))
    opt = OPTIMIZERS[optimizer]()
    settings = {"batch_size": 5, "validation_data": VAL, "checkpoint_every": 2, **options}
    history = net.fit(X, Y, epochs=epochs, optimizer=opt, checkpoint=path, **settings)
    return net, opt, history


def assert_same(run_a, run_b) -> None:
    (net_a, opt_a, hist_a), (net_b, opt_b, hist_b) = run_a, run_b
    for key, value in net_a.parameters().items():
        assert np.array_equal(value, net_b.parameters()[key]), key
    assert opt_a.state.keys() == opt_b.state.keys()
    for name, entries in opt_a.state.items():
        assert entries.keys() == opt_b.state[name].keys()
        for key, value in entries.items():
            assert np.array_equal(value, opt_b.state[name][key]), (name, key)
    a, b = hist_a.to_dict(), hist_b.to_dict()
    a.pop("seconds")
    b.pop("seconds")
    assert a == b
    assert net_a.rng.bit_generator.state == net_b.rng.bit_generator.state


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("stop_after", [1, 4, 5])
def test_stopped_and_resumed_equals_uninterrupted(tmp_path, optimizer, stop_after):
    full = train(tmp_path / "full.ckpt", 9, optimizer)
    train(tmp_path / "run.ckpt", stop_after, optimizer)  # the first session ends after `stop_after` epochs
    assert saved_epoch(tmp_path / "run.ckpt") == stop_after  # saved at the end even between checkpoint_every
    resumed = train(tmp_path / "run.ckpt", 9, optimizer, resume=True)
    assert_same(full, resumed)
    assert len(resumed[2].loss) == 9 and resumed[2].epochs == 9
    meta_a, arrays_a = read_checkpoint(tmp_path / "full.ckpt")
    meta_b, arrays_b = read_checkpoint(tmp_path / "run.ckpt")
    assert all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a) and arrays_a.keys() == arrays_b.keys()


def test_checkpoint_holds_the_state_of_its_epoch_and_loads_as_a_model(tmp_path):
    net, opt, history = train(tmp_path / "run.ckpt", 4, "momentum", checkpoint_every=4)
    meta, arrays = read_checkpoint(tmp_path / "run.ckpt")
    section = meta["checkpoint"]
    assert section["epoch"] == 4 and section["steps"] == 4 * 5 == history.steps  # 23 rows in batches of 5
    assert section["rng"] == net.rng.bit_generator.state
    assert np.array_equal(arrays["optimizer:1.W:velocity"], opt.state["1.W"]["velocity"])
    assert arrays["history:loss"].tolist() == history.loss
    model = gn.load(tmp_path / "run.ckpt")
    assert np.array_equal(model.predict(X), net.predict(X))


def test_resume_without_a_file_starts_fresh_and_a_finished_run_resumes_to_itself(tmp_path):
    fresh = train(tmp_path / "run.ckpt", 3, resume=True)
    again = train(tmp_path / "run.ckpt", 3, resume=True)  # nothing left to do
    assert_same(fresh, again)
    longer = train(tmp_path / "run.ckpt", 6, resume=True)  # epochs may grow: train a finished run for longer
    assert_same(train(tmp_path / "other.ckpt", 6), longer)


def test_existing_checkpoint_is_never_overwritten_unasked(tmp_path):
    train(tmp_path / "run.ckpt", 2)
    before = (tmp_path / "run.ckpt").read_bytes()
    with pytest.raises(gn.ConfigError, match="already exists; pass resume=True"):
        train(tmp_path / "run.ckpt", 2)
    assert (tmp_path / "run.ckpt").read_bytes() == before


@pytest.mark.parametrize("change, words", [
    ({"seed": 6}, "seed: 5 in the checkpoint, 6 now"),
    ({"batch_size": 4}, "batch_size: 5 in the checkpoint, 4 now"),
    ({"shuffle": False}, "shuffle: True in the checkpoint, False now"),
    ({"validation_data": None}, "data:"),
    ({"optimizer": "sgd"}, "optimizer name: 'adam' in the checkpoint, 'sgd' now"),
])
def test_resuming_a_different_run_is_refused(tmp_path, change, words):
    train(tmp_path / "run.ckpt", 2)
    with pytest.raises(gn.ConfigError, match="belongs to a different run") as info:
        train(tmp_path / "run.ckpt", 4, resume=True, **change)
    assert words in str(info.value) and "delete the file" in str(info.value)


def test_resuming_other_data_or_architecture_or_too_few_epochs_is_refused(tmp_path):
    train(tmp_path / "run.ckpt", 4)
    with pytest.raises(gn.ConfigError, match="data:"):
        gn.Network.from_sizes([3, 6, 3], "tanh", loss="cross_entropy", l2=1e-3, seed=5).fit(
            X * 2, Y, epochs=5, optimizer=gn.Adam(0.02), batch_size=5, validation_data=VAL,
            checkpoint=tmp_path / "run.ckpt", checkpoint_every=2, resume=True)
    with pytest.raises(gn.ConfigError, match="layers:"):
        gn.Network.from_sizes([3, 7, 3], "tanh", loss="cross_entropy", l2=1e-3, seed=5).fit(
            X, Y, epochs=5, optimizer=gn.Adam(0.02), batch_size=5, validation_data=VAL,
            checkpoint=tmp_path / "run.ckpt", checkpoint_every=2, resume=True)
    with pytest.raises(gn.ConfigError, match="at epoch 4, beyond epochs=3"):
        train(tmp_path / "run.ckpt", 3, resume=True)


@pytest.mark.parametrize("member", ["0.W.npy", "optimizer:1.b:v.npy", "history:loss.npy", "__glassnet__.npy"])
def test_damaged_checkpoint_is_refused_with_advice_and_left_alone(tmp_path, member):
    train(tmp_path / "run.ckpt", 2)
    data = bytearray((tmp_path / "run.ckpt").read_bytes())
    # A byte of the member's stored data (a byte of a zip header the reader never uses, such as the local copy of a
    # size the central directory holds too, may change without harm; the middle of the file once landed on one).
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size - 1] ^= 0xFF
    (tmp_path / "run.ckpt").write_bytes(bytes(data))
    with pytest.raises(gn.ModelFileError, match="Delete it, or give another checkpoint path"):
        train(tmp_path / "run.ckpt", 4, resume=True)
    assert (tmp_path / "run.ckpt").read_bytes() == bytes(data)


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    network().save(tmp_path / "model.npz")
    with pytest.raises(gn.ModelFileError, match="not a glassnet checkpoint"):
        read_checkpoint(tmp_path / "model.npz")


@pytest.mark.parametrize("bad, error", [("run.ckpt", None), (3, gn.GlassnetTypeError)])
def test_checkpoint_arguments_are_checked(tmp_path, bad, error):
    if error is None:
        with pytest.raises(gn.ConfigError, match="checkpoint_every must be a positive integer"):
            train(tmp_path / bad, 2, checkpoint_every=0)
    else:
        with pytest.raises(error, match="checkpoint must be a file path"):
            network().fit(X, Y, epochs=1, checkpoint=bad)


class CtrlCAt:
    """Presses Ctrl-C (a real SIGINT) during the given epoch and step."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, net, epoch, step, loss) -> None:
        if (epoch, step) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_saves_the_last_whole_epoch_and_resume_is_bit_identical(tmp_path):
    full = train(tmp_path / "full.ckpt", 7, "nesterov")
    net = network()
    opt = OPTIMIZERS["nesterov"]()
    history = net.fit(X, Y, epochs=7, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                      checkpoint_every=4, callbacks=[CtrlCAt(epoch=3, step=2)])
    assert history.stopped == "interrupted" and history.epochs == 2
    assert saved_epoch(tmp_path / "run.ckpt") == 2  # epoch 3 was cut short: it is redone on resume
    resumed = train(tmp_path / "run.ckpt", 7, "nesterov", resume=True)
    assert_same(full, resumed)


class StopAfter:
    """Stops training at the end of the given epoch (a user callback, so it runs before the checkpointer)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, net, epoch, logs) -> bool:
        return epoch == self.epoch


def test_the_checkpointer_comes_after_the_users_callbacks(tmp_path):
    # wiring.py adds it after every other callback: an epoch a user callback ends training on is still saved whole
    # (checkpoint_every=10 would not have saved epoch 3), and resuming from it equals the uninterrupted run.
    from glassnet import wiring
    from glassnet.checkpoint import Checkpointer
    from glassnet.core.training import History, Run
    from glassnet.keyframes import Keyframes
    from glassnet.verify.health import HealthMonitor
    from glassnet.verify.inside import LayerStatsRecorder

    full = train(tmp_path / "full.ckpt", 7, "adam", checkpoint_every=10)
    seen = []

    class Order:
        def on_train_begin(self, net, info):
            seen.append(info["epochs"])

    net, opt = network(), OPTIMIZERS["adam"]()
    callbacks = [StopAfter(3), Order()]
    history = net.fit(X, Y, epochs=7, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                      checkpoint_every=10, callbacks=callbacks)
    assert history.stopped == "callback" and history.epochs == 3 and saved_epoch(tmp_path / "run.ckpt") == 3
    assert seen == [7] and len(callbacks) == 2  # the user's list is left as it was
    run = Run(net, X, np.eye(3)[Y], None, None, 7, 5, True, opt, History())
    added = wiring.default_callbacks(run, monitor=True, checkpoint=tmp_path / "other.ckpt", checkpoint_every=None,
                                     resume=False)
    assert [type(cb) for cb in added] == [LayerStatsRecorder, HealthMonitor, Keyframes, Checkpointer] and run.epochs_done == 0
    resumed = train(tmp_path / "run.ckpt", 7, "adam", checkpoint_every=10, resume=True)
    assert_same(full, resumed)


def test_a_callback_refusing_in_its_check_keeps_the_checkpoint_out_of_the_network(tmp_path):
    # on_train_check runs before fit changes anything: a resumed fit it refuses leaves the network, the optimizer and
    # the file as they were, and no other method of any callback is called; the same fit, unrefused, resumes as usual
    path = tmp_path / "run.ckpt"
    full = train(tmp_path / "full.ckpt", 6)
    train(path, 4)
    calls = []

    class Refuses:
        def on_train_check(self, net):
            calls.append("check")
            raise gn.ConfigError("not while something else trains this network")

    class Watches:
        def __getattr__(self, name):
            if name.startswith("on_") and name != "on_train_check":
                return lambda *args: calls.append(name)
            raise AttributeError(name)

    net, opt = network(), OPTIMIZERS["adam"]()
    before = {k: p.copy() for k, p in net.parameters().items()}
    file_before = path.read_bytes()
    with pytest.raises(gn.ConfigError, match="not while something else"):
        net.fit(X, Y, epochs=6, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint_every=2, checkpoint=path,
                resume=True, callbacks=[Watches(), Refuses()])
    assert calls == ["check"] and opt.state == {} and path.read_bytes() == file_before
    for key, value in before.items():
        assert np.array_equal(net.parameters()[key], value), key
    history = net.fit(X, Y, epochs=6, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint_every=2,
                      checkpoint=path, resume=True)
    assert_same(full, (net, opt, history))


def test_cli_checkpoint_resume_and_ctrl_c(cli, tmp_path, monkeypatch):
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "model.npz"
    args = ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "40", "--batch-size", "2", "--optimizer", "adam",
            "--lr", "0.05", "--no-progress", "--checkpoint", str(ckpt), "--checkpoint-every", "5", "--out", str(out)]
    from glassnet.core import training

    real_fit = training.fit

    def fit_pressing_ctrl_c(*a, **k):
        return real_fit(*a, **{**k, "callbacks": [*k["callbacks"], CtrlCAt(epoch=12, step=1)]})

    monkeypatch.setattr(training, "fit", fit_pressing_ctrl_c)
    code, stdout, err = cli(*args, "--resume")
    assert code == 0, err
    assert "stopped early by Ctrl-C" in stdout and "run the same command with --resume to continue" in stdout
    assert saved_epoch(ckpt) == 11
    monkeypatch.setattr(training, "fit", real_fit)
    code, stdout, err = cli(*args)
    assert code == 2 and "already exists; pass resume=True (--resume)" in err
    code, stdout, err = cli(*args, "--resume")
    assert code == 0 and "resuming from" in stdout and "after epoch 11 of 40" in stdout, err
    assert saved_epoch(ckpt) == 40
    code, stdout, err = cli("predict", str(ckpt), "--data", "xor")  # a checkpoint is also a model file
    assert code == 0 and len(stdout.strip().splitlines()) == 5, err
    code, stdout, err = cli("train", "--data", "xor", "--layers", "2,3,1", "--resume")
    assert code == 2 and "need --checkpoint FILE" in err


def rewrite(path, change, whole=False) -> None:
    """Apply ``change(section, arrays)`` to a checkpoint and write it back with a valid checksum (a forgery).

    ``whole``: ``change(meta, arrays)``, the whole metadata. An array given as ``bytes`` is written as those bytes
    (a hand-made ``.npy`` member; the checksum leaves it out, as the reader must refuse it before it gets there).
    """
    import io
    import json
    import zipfile

    from glassnet.io import checksum

    meta, arrays = read_checkpoint(path)
    meta.pop("checksum")
    change(meta if whole else meta["checkpoint"], arrays)
    meta["checksum"] = checksum({k: a for k, a in arrays.items() if not isinstance(a, bytes)}, meta)

    def npy(a):
        if isinstance(a, bytes):
            return a
        buffer = io.BytesIO()
        np.save(buffer, a)
        return buffer.getvalue()

    with zipfile.ZipFile(path, "w") as archive:
        for key, a in arrays.items():
            archive.writestr(f"{key}.npy", npy(a))
        archive.writestr("__glassnet__.npy", npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))


def longer_history(section, arrays):
    section["history"]["loss"] += 1
    arrays["history:loss"] = np.append(arrays["history:loss"], 0.5)


FORGERIES = [
    ("epoch text", lambda s, a: s.update(epoch="three"), "epoch or step count"),
    ("steps negative", lambda s, a: s.update(steps=-1), "epoch or step count"),
    ("seconds text", lambda s, a: s.update(seconds="x"), "time or settings"),
    ("history longer than the epochs", longer_history, "history (its length is not the epoch count)"),
    ("state of an unknown parameter", lambda s, a: s["optimizer_state"].update({"7.W": {"t": 1}}), "'7.W' is not a parameter"),
    ("Adam step count as text", lambda s, a: s["optimizer_state"]["0.W"].update(t="five"), "optimizer state (0.W: t = 'five')"),
    ("NaN in Adam's m", lambda s, a: a["optimizer:0.W:m"].__setitem__((0, 0), np.nan), "NaN or inf inside"),
    ("another generator", lambda s, a: s["rng"].update(bit_generator="MT19937"), "it is for another generator"),
    ("generator state cut", lambda s, a: s["rng"].pop("state"), "random-generator state is damaged"),
    ("checkpoint version 9", lambda s, a: s.update(version=9), "checkpoint version 9"),
    # Any float array passes the reader; resuming from one of another dtype would continue neither run.
    ("weights in float32", lambda s, a: a.update({"0.W": a["0.W"].astype(np.float32)}),
     "arrays are damaged (an array of parameter 0.W is float32 of shape (3, 6); the network's 0.W is float64"),
    ("Adam's v in float32", lambda s, a: a.update({"optimizer:1.b:v": a["optimizer:1.b:v"].astype(np.float32)}),
     "an array of parameter 1.b is float32 of shape (3,)"),
    ("history section missing", lambda s, a: s.pop("history"), "not a glassnet checkpoint"),
]


@pytest.mark.parametrize("case, change, words", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_forged_checkpoint_is_refused_before_anything_changes(tmp_path, case, change, words):
    train(tmp_path / "run.ckpt", 2)
    rewrite(tmp_path / "run.ckpt", change)
    net, fresh = network(), network()
    opt = OPTIMIZERS["adam"]()
    with pytest.raises(gn.ModelFileError) as info:
        net.fit(X, Y, epochs=4, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                checkpoint_every=2, resume=True)
    assert words in str(info.value) and str(tmp_path / "run.ckpt") in str(info.value)
    assert all(np.array_equal(p, fresh.parameters()[k]) for k, p in net.parameters().items())
    assert opt.state == {} and net.rng.bit_generator.state == fresh.rng.bit_generator.state


def declare_other_shape(meta, arrays):
    """A consistent forgery: layer 0's bias declared, stored and given Adam buffers of 7 entries (its layer has 6)."""
    meta["parameters"]["0.b"] = [7]
    for key in ("0.b", "optimizer:0.b:m", "optimizer:0.b:v"):
        arrays[key] = np.zeros(7)


def declare_huge_shape(meta, arrays):
    """Layer 0's weights and their Adam buffers declared as 2**40 x 6 floats (48 TiB) in the metadata and in their
    .npy headers, which are followed by 64 bytes: only the bytes the file can hold give the forgery away."""
    import io

    meta["parameters"]["0.W"] = [2**40, 6]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**40, 6)})
    for key in ("0.W", "optimizer:0.W:m", "optimizer:0.W:v"):
        arrays[key] = header.getvalue() + bytes(64)  # the header writer writes the magic string too


@pytest.mark.parametrize("change, words", [
    (declare_other_shape, "an array of parameter 0.b is float64 of shape (7,); the network's 0.b is float64 of shape (6,)"),
    (declare_huge_shape, "larger than the file can hold"),
    (lambda meta, arrays: meta.pop("parameters"), ""),  # as files written before the map: shapes from the layer sizes
], ids=["other parameter shapes", "huge parameter shape", "no parameters map"])
def test_declared_parameter_shapes_are_checked_before_resuming(tmp_path, change, words):
    """The shapes of the optimizer's buffers come from the file's "parameters" map (any layer's own names): a forged
    map is refused before any array is allocated at its size, and before anything changes."""
    full = train(tmp_path / "full.ckpt", 4)
    train(tmp_path / "run.ckpt", 2)
    rewrite(tmp_path / "run.ckpt", change, whole=True)
    net, fresh, opt = network(), network(), OPTIMIZERS["adam"]()
    if not words:
        history = net.fit(X, Y, epochs=4, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                          checkpoint_every=2, resume=True)
        assert_same(full, (net, opt, history))
        return
    with pytest.raises(gn.ModelFileError) as info:
        net.fit(X, Y, epochs=4, optimizer=opt, batch_size=5, validation_data=VAL, checkpoint=tmp_path / "run.ckpt",
                checkpoint_every=2, resume=True)
    assert words in str(info.value) and "Delete it, or give another checkpoint path" in str(info.value)
    assert all(np.array_equal(p, fresh.parameters()[k]) for k, p in net.parameters().items()) and opt.state == {}
