"""Dropout and BatchNorm1d in the engine: the fast path, the agreement probes, model files and checkpoints.

A forward pass of these layers has side effects (BatchNorm updates its running statistics, Dropout draws from the
network's generator), which the engine's probes must neither suffer from nor leave behind: ``fit`` and
``Network.step`` give the readable path's numbers bit for bit (float64) with no ``FastFormWarning``. The running
statistics are saved beside the parameters and restored bit for bit, in model files and in checkpoints.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.checkpoint import read_checkpoint
from glassnet.core import agreement, fast
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.core.layers import Layer
from glassnet.errors import ConfigError, FastFormWarning, GlassnetTypeError, ModelFileError, ShapeError
from glassnet.io import META_KEY, checksum, read
from tests.reliability.test_checkpoint import rewrite


def network(dtype: str = "float64", seed: int = 3) -> gn.Network:
    return gn.Network([BatchNorm1d(4), gn.Dense(4, 6, "relu"), BatchNorm1d(), Dropout(0.3), gn.Dense(6, 3, "softmax")],
                      loss="cross_entropy", l2=1e-3, seed=seed, dtype=dtype)


def data(n: int = 40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)) * [1.0, 3.0, 0.5, 2.0], rng.integers(0, 3, n)


def state(net: gn.Network) -> dict[str, np.ndarray]:
    return {**{k: p.copy() for k, p in net.parameters().items()}, **{k: b.copy() for k, b in net.buffers().items()}}


def assert_same_state(a: gn.Network, b: gn.Network) -> None:
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


# ------------------------------------------------------------------------------- the fast path
@pytest.fixture
def readable_path():
    def run(enabled: bool):
        before = fast.enabled
        fast.enabled = enabled
        return before
    yield run
    fast.enabled = True


@pytest.mark.parametrize("optimizer", [lambda: gn.SGD(0.05, momentum=0.9), lambda: gn.Adam(0.01)])
def test_fit_and_step_on_the_fast_path_equal_the_readable_path_bit_for_bit(optimizer, readable_path):
    X, y = data()
    nets = {}
    for enabled in (True, False):
        readable_path(enabled)
        net = network()
        with warnings.catch_warnings():
            warnings.simplefilter("error", FastFormWarning)  # the probe step agrees: no warning
            net.fit(X, y, epochs=6, batch_size=12, optimizer=optimizer(), validation_data=(X[:10], y[:10]))
            opt = optimizer()
            for start in range(0, 40, 8):
                net.step(X[start:start + 8], y[start:start + 8], opt)
        nets[enabled] = net
    plan = fast._plans.get(nets[True])
    assert plan is not None and plan.verdict is True  # the fast plan ran (its probe step agreed)
    assert_same_state(nets[True], nets[False])
    fast.enabled = True
    np.testing.assert_array_equal(nets[True].predict_proba(X), nets[False].predict_proba(X))


def test_float32_on_the_fast_path_equals_the_readable_path_to_rounding(readable_path):
    X, y = data()
    runs = []
    for enabled in (True, False):
        readable_path(enabled)
        net = network("float32")
        with warnings.catch_warnings():
            warnings.simplefilter("error", FastFormWarning)
            net.fit(X, y, epochs=5, batch_size=10, optimizer="adam", lr=0.01)
        runs.append(state(net))
    for key, value in runs[1].items():
        assert value.dtype == np.float32
        np.testing.assert_allclose(runs[0][key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_the_probe_step_leaves_the_generator_and_the_running_statistics_as_they_were():
    X, y = data()
    net = network()
    net.fit(X, y, epochs=1, batch_size=20, monitor=False)  # running statistics away from their start
    plan = fast.plan_for(net)
    assert plan is not None
    before, generator = state(net), net.rng.bit_generator.state
    Xb, Yb = X[:8], net._targets(y[:8], 8)
    assert plan.check_step(Xb, Yb) is True  # agrees: same masks and same statistics both ways
    assert net.rng.bit_generator.state == generator
    for key, value in state(net).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


class NoisyShift(Layer):
    """``a = x + 0.1 * noise`` (noise from the layer's own generator) that counts the rows it saw in a buffer: a layer
    with side effects and its own in-place forms, written beside the readable ones."""

    name = "noisy_shift_test"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n_in = self.n_out = n
        self.rng = np.random.default_rng(99)

    def initialize(self, rng: np.random.Generator, dtype=np.float64) -> None:
        self.buffers = {"rows": np.zeros(1, dtype)}

    def forward(self, X):
        self.buffers["rows"] += X.shape[0]
        A = X + 0.1 * self.rng.standard_normal(X.shape)
        self.cache = {"X": X, "Z": A, "A": A}
        return A

    def backward(self, dA):
        self.grads = {}
        return dA

    def forward_into(self, X, work):
        self.buffers["rows"] += X.shape[0]
        A = np.add(X, 0.1 * self.rng.standard_normal(X.shape), work.A)
        self.cache = {"X": X, "Z": A, "A": A}
        return A

    def backward_into(self, dA, work):
        self.grads = {}
        return dA if work.dX is None else np.copyto(work.dX, dA) or work.dX


class MiscountingShift(NoisyShift):
    """The same, but its in-place forward counts every row twice: its own forms no longer agree."""

    name = "miscounting_shift_test"

    def forward(self, X):
        return NoisyShift.forward(self, X)

    def backward(self, dA):
        return dA

    def forward_into(self, X, work):
        self.buffers["rows"] += X.shape[0]
        return NoisyShift.forward_into(self, X, work)

    def backward_into(self, dA, work):
        return NoisyShift.backward_into(self, dA, work)


def test_the_layer_probe_starts_both_forms_alike_and_leaves_no_trace():
    layer = NoisyShift(3)
    layer.initialize(np.random.default_rng(0))
    layer.buffers["rows"][...] = 7
    generator = layer.rng.bit_generator.state
    with warnings.catch_warnings():
        warnings.simplefilter("error", FastFormWarning)
        assert agreement.layer_own(layer, np.float64)  # the same noise and the same count both ways: they agree
    assert layer.rng.bit_generator.state == generator  # no random number consumed
    assert layer.buffers["rows"][0] == 7  # no row counted
    bad = MiscountingShift(3)
    bad.initialize(np.random.default_rng(0))
    with pytest.warns(FastFormWarning, match="forward_into"):
        assert not agreement.layer_own(bad, np.float64)  # the buffers are compared too
    assert bad.buffers["rows"][0] == 0


def test_a_layer_of_ones_own_with_side_effects_trains_bit_for_bit_on_both_paths(readable_path):
    X, y = data()
    results = []
    for enabled in (True, False):
        readable_path(enabled)
        net = gn.Network([gn.Dense(4, 3, "tanh"), NoisyShift(3), gn.Dense(3, 3, "softmax")], loss="cross_entropy", seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", FastFormWarning)
            net.fit(X, y, epochs=4, batch_size=10, monitor=False)
        results.append((state(net), net.layers[1].rng.bit_generator.state))
    assert results[0][1] == results[1][1]
    for key, value in results[1][0].items():
        np.testing.assert_array_equal(results[0][0][key], value, err_msg=key)
    assert results[0][0]["1.rows"][0] == 4 * 40  # every training row counted once: no probe left a count behind


# ------------------------------------------------------------------------------- model files
def test_a_trained_network_saves_and_loads_bit_for_bit(tmp_path):
    X, y = data()
    for dtype in ("float64", "float32"):
        net = network(dtype)
        net.fit(X, y, epochs=5, batch_size=10, optimizer="adam", lr=0.01)
        net.save(tmp_path / f"{dtype}.npz")
        same = gn.load(tmp_path / f"{dtype}.npz")
        for key, b in net.buffers().items():
            assert same.buffers()[key].dtype == np.dtype(dtype)
            np.testing.assert_array_equal(same.buffers()[key], b, err_msg=key)
        np.testing.assert_array_equal(same.predict_proba(X), net.predict_proba(X))
        assert [type(layer) for layer in same.layers] == [type(layer) for layer in net.layers]
        assert same.layers[3].p == 0.3 and same.layers[0].momentum == 0.1 and same.layers[2].eps == 1e-5
    meta, arrays = read(tmp_path / "float64.npz")
    assert meta["buffers"] == {"0.running_mean": [4], "0.running_var": [4], "2.running_mean": [6], "2.running_var": [6]}
    assert set(meta["buffers"]) <= set(arrays)
    gn.Network.from_sizes([2, 3, 1]).save(tmp_path / "dense.npz")
    assert "buffers" not in read(tmp_path / "dense.npz")[0]  # a Dense network's file is as it was before buffers


def forge(path, change) -> None:
    """Apply ``change(meta, arrays)`` to a model file and write it back with a valid checksum."""
    meta, arrays = read(path)
    meta.pop("checksum")
    change(meta, arrays)
    meta["checksum"] = checksum(arrays, meta)
    members = {f"{k}.npy": a for k, a in arrays.items()}
    members[f"{META_KEY}.npy"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w") as archive:
        for name, a in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, a)
            archive.writestr(name, buffer.getvalue())


def test_damaged_or_missing_running_statistics_are_refused(tmp_path):
    net = network()
    path = tmp_path / "m.npz"
    net.save(path)

    def nan_var(meta, arrays):
        arrays["2.running_var"][1] = np.nan

    forge(path, nan_var)
    with pytest.raises(ModelFileError, match=r"2.running_var holds nan at entry 1; a layer's running statistics"):
        gn.load(path)
    net.save(path)

    def drop(meta, arrays):
        del arrays["0.running_mean"]
        del meta["buffers"]["0.running_mean"]

    forge(path, drop)
    with pytest.raises(ModelFileError, match=r"missing arrays \['0.running_mean'\], buffers"):
        gn.load(path)
    net.save(path)

    def reshape(meta, arrays):
        arrays["2.running_mean"] = np.zeros(5)
        meta["buffers"]["2.running_mean"] = [5]

    forge(path, reshape)
    with pytest.raises(ModelFileError, match=r"'2.running_mean' has shape \(5,\); the architecture says \(6,\)"):
        gn.load(path)
    net.save(path)
    forge(path, lambda meta, arrays: meta.update(buffers={"1.W": [4, 6]}))
    with pytest.raises(ModelFileError, match="its 'buffers' are not a list of shapes"):
        gn.load(path)
    net.layers[0].buffers["running_var"][0] = np.inf
    with pytest.raises(ConfigError, match=r"cannot save .*0.running_var holds inf at entry 0"):
        net.save(tmp_path / "other.npz")
    assert not (tmp_path / "other.npz").exists()


def test_set_buffers_checks_names_shapes_and_values():
    net = network()
    net.set_buffers({"2.running_var": np.full(6, 2.0)})
    np.testing.assert_array_equal(net.layers[2].buffers["running_var"], np.full(6, 2.0))
    assert net.buffers()["2.running_var"] is net.layers[2].buffers["running_var"]  # live arrays, changed in place
    with pytest.raises(ConfigError, match=r"unknown buffer name\(s\) \['1.running_mean'\]"):
        net.set_buffers({"1.running_mean": np.zeros(6)})
    with pytest.raises(ShapeError, match=r"buffer 0.running_mean .* must have shape \(4,\), got \(3,\)"):
        net.set_buffers({"0.running_mean": np.zeros(3)})
    with pytest.raises(ConfigError, match="contains NaN or inf"):
        net.set_buffers({"0.running_mean": [0, np.nan, 0, 0]})
    with pytest.raises(GlassnetTypeError, match="set_buffers needs a dict"):
        net.set_buffers([1, 2])  # type: ignore[arg-type]
    assert gn.Network.from_sizes([2, 3, 1]).buffers() == {}


# ------------------------------------------------------------------------------- checkpoints
def test_a_checkpointed_run_resumed_equals_the_uninterrupted_one(tmp_path):
    X, y = data()

    class StopAt:
        def __init__(self, epoch):
            self.epoch = epoch

        def on_epoch_end(self, net, epoch, logs):
            return epoch == self.epoch

    def run(path, **options):
        net, opt = network(), gn.Adam(0.01)
        history = net.fit(X, y, epochs=9, batch_size=12, optimizer=opt, validation_data=(X[:10], y[:10]),
                          checkpoint=path, checkpoint_every=2, **options)
        return net, opt, history

    full = run(tmp_path / "full.ckpt")
    run(tmp_path / "run.ckpt", callbacks=[StopAt(3)])  # stopped after epoch 3: between checkpoints
    meta, arrays = read_checkpoint(tmp_path / "run.ckpt")
    assert meta["checkpoint"]["epoch"] == 3 and "2.running_var" in arrays
    resumed = run(tmp_path / "run.ckpt", resume=True)
    assert_same_state(full[0], resumed[0])
    for name, entries in full[1].state.items():
        for key, value in entries.items():
            np.testing.assert_array_equal(value, resumed[1].state[name][key])
    for curve in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert getattr(full[2], curve) == getattr(resumed[2], curve), curve
    np.testing.assert_array_equal(gn.load(tmp_path / "run.ckpt").predict_proba(X), full[0].predict_proba(X))


def test_a_checkpoint_with_damaged_running_statistics_is_refused(tmp_path):
    X, y = data()
    path = tmp_path / "run.ckpt"
    network().fit(X, y, epochs=2, batch_size=10, checkpoint=path)

    def nan_mean(section, arrays):
        arrays["0.running_mean"][2] = np.nan

    rewrite(path, nan_mean)
    with pytest.raises(ModelFileError, match=r"arrays \(NaN or inf inside: 0.running_mean holds nan at entry 2\) is damaged"):
        network().fit(X, y, epochs=4, batch_size=10, checkpoint=path, resume=True)


# ------------------------------------------------------------------------------- the layers without their network
def test_a_layer_takes_its_width_from_the_layer_before_and_keeps_the_networks_generator():
    net = network()
    assert [layer.n_in for layer in net.layers] == [4, 4, 6, 6, 6]
    assert net.layers[3].rng is net.rng  # the masks come from the network's seeded generator
    assert net.layers[2].params["gamma"].base is net._flat_params  # packed like every parameter
    assert repr(net.layers[3]) == "Dropout(p=0.3, 6)" and repr(net.layers[2]) == "BatchNorm1d(6)"
    assert net.layers[2].config() == {"name": "batchnorm1d", "n": 6, "eps": 1e-5, "momentum": 0.1}
    assert net.layers[3].config() == {"name": "dropout", "p": 0.3, "n": 6}
    with pytest.raises(ConfigError, match="layers do not chain"):
        gn.Network([gn.Dense(2, 3), Dropout(0.5, n=4)])
    for first in (Dropout(0.5), BatchNorm1d()):
        with pytest.raises(ConfigError, match=r"layer 0 \((Dropout|BatchNorm1d)\) has no width.*\(n=4\)"):
            gn.Network([first, gn.Dense(2, 1)])
    assert gn.Network([Dropout(0.5, n=2), gn.Dense(2, 1)]).n_in == 2


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_diverged_step_puts_the_running_statistics_back(fast_path, monkeypatch):
    # The forward pass of the step that diverges has already moved BatchNorm's running statistics; like the
    # parameters, they must be those of the last good step (else save() may refuse the model over an inf in them).
    monkeypatch.setattr(fast, "enabled", fast_path)
    net = gn.Network([gn.Dense(2, 4, "relu"), gn.BatchNorm1d(), gn.Dense(4, 1, "identity")], loss="mse", seed=0)
    X = np.random.default_rng(0).normal(size=(32, 2))
    y = X[:, 0] * 1e3

    class Last:
        observes_only = True

        def on_batch_end(self, net, epoch, step, loss):
            self.buffers = {k: b.copy() for k, b in net.buffers().items()}
            self.params = {k: p.copy() for k, p in net.parameters().items()}

    last = Last()
    with pytest.raises(gn.errors.TrainingDiverged):
        net.fit(X, y, epochs=200, lr=5.0, batch_size=8, callbacks=[last], monitor=False)
    for key, b in net.buffers().items():
        np.testing.assert_array_equal(b, last.buffers[key])
    for key, p in net.parameters().items():
        np.testing.assert_array_equal(p, last.params[key])
    net.save(tmp := __import__("tempfile").mktemp(suffix=".npz"))
    assert gn.load(tmp).buffers().keys() == net.buffers().keys()
