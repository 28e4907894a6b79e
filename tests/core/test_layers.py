"""Layers: Dense against a step worked out by hand, and the layer interface: a layer written here, in the test
file, gets ``fit``, gradient checks, ``explain``, save/load, checkpoints and the training report without any change
to glassnet.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.checkpoint import read_checkpoint, saved_epoch
from glassnet.core.layers import LAYERS, Dense, Layer
from glassnet.errors import ModelFileError
from tests.reliability.test_checkpoint import CtrlCAt, assert_same, rewrite


class FeatureScale(Layer):
    """``a_j = s_j * x_j + t_j``: one learnable scale and shift per feature (a diagonal linear layer).

    ``dL/ds_j = sum over samples of dA_j * x_j``, ``dL/dt_j = sum of dA_j``, ``dL/dx_j = dA_j * s_j``.
    """

    name = "feature_scale"
    penalized = ("s",)

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n_in = self.n_out = n

    def initialize(self, rng: np.random.Generator, dtype=np.float64) -> None:
        self.params = {"s": rng.uniform(0.5, 1.5, self.n_in).astype(dtype), "t": np.zeros(self.n_in, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def forward(self, X):
        A = X * self.params["s"] + self.params["t"]
        self.cache = {"X": X, "Z": A, "A": A}
        return A

    def backward(self, dA):
        self.grads = {"s": (dA * self.cache["X"]).sum(axis=0), "t": dA.sum(axis=0)}
        return dA * self.params["s"]

    def config(self):
        return {"name": self.name, "n": self.n_in}

    @classmethod
    def from_config(cls, config):
        return cls(config["n"])

    def formulas(self):
        return ["a_j = s_j * x_j + t_j"]


@pytest.fixture
def registered():
    LAYERS.add(FeatureScale)
    yield
    for key in [k for k, cls in LAYERS.by_name.items() if cls is FeatureScale]:
        del LAYERS.by_name[key]


def network(dtype: str = "float64") -> gn.Network:
    return gn.Network([FeatureScale(3), Dense(3, 4, "tanh"), Dense(4, 1, "sigmoid")], loss="bce", l2=0.01, seed=2,
                      dtype=dtype)


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def test_dense_backward_is_the_chain_rule_worked_by_hand() -> None:
    """``Z = X W + b``: with dZ given, dW = X^T dZ, db = column sums of dZ, dX = dZ W^T (numbers by hand)."""
    layer = Dense(2, 2, "identity", init=([[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5]))
    X = np.array([[1.0, 0.0], [2.0, 1.0]])
    np.testing.assert_array_equal(layer.forward(X), [[1.5, 1.5], [5.5, 7.5]])
    dX = layer.backward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(layer.grads["W"], [[1.0, 4.0], [0.0, 2.0]])
    np.testing.assert_array_equal(layer.grads["b"], [1.0, 2.0])
    np.testing.assert_array_equal(dX, [[1.0, 3.0], [4.0, 8.0]])


def test_own_layer_gradients_pass_gradcheck() -> None:
    X, y = data()
    report = gn.gradcheck(network(), X[:8], y[:8])
    assert report.ok, report
    assert {f.param for f in report.findings} >= {"0.s", "0.t", "1.W", "2.b"}


def test_own_layer_gradients_equal_the_chain_rule_written_out() -> None:
    """The network's dL/ds and dL/dt against the formulas in FeatureScale's docstring, fed by Dense's dX."""
    X, y = data()
    net = network()
    grads = net.gradients(X, y)
    dA = net.layers[1].backward(net.layers[2].backward_from_dZ((net.layers[2].cache["A"] - y[:, None]) / len(X)))
    s = net.parameters()["0.s"]
    np.testing.assert_allclose(grads["0.s"], (dA * X).sum(axis=0) + 0.01 * s, rtol=1e-12)
    np.testing.assert_allclose(grads["0.t"], dA.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_own_layer_trains_with_fit_like_the_readable_path(dtype: str) -> None:
    from glassnet.core import fast

    X, y = data()
    results = []
    for readable in (False, True):
        fast.enabled = not readable
        try:
            net = network(dtype)
            history = net.fit(X, y, epochs=30, optimizer="adam", lr=0.05, batch_size=8, monitor=False)
        finally:
            fast.enabled = True
        results.append((net.parameters(), history.loss))
    (fast_params, fast_loss), (readable_params, readable_loss) = results
    check = np.testing.assert_array_equal if dtype == "float64" else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5))
    for key in fast_params:
        check(fast_params[key], readable_params[key])
    assert fast_loss[-1] < 0.9 * fast_loss[0]


def test_own_layer_is_explained(registered) -> None:
    X, y = data()
    trace = gn.explain(network(), X[:2], y[:2], "sgd", 0.5)
    text = trace.to_text()
    assert "a_j = s_j * x_j + t_j" in text
    keys = {record.key for record in trace.records if getattr(record, "key", None)}
    assert {"0.s", "0.t"} <= keys


def test_own_layer_survives_save_and_load(tmp_path, registered) -> None:
    X, y = data()
    net = network()
    net.fit(X, y, epochs=5, lr=0.5, monitor=False)
    net.save(tmp_path / "m.npz")
    back = gn.load(tmp_path / "m.npz")
    assert isinstance(back.layers[0], FeatureScale)
    for key, p in net.parameters().items():
        np.testing.assert_array_equal(p, back.parameters()[key])
    np.testing.assert_array_equal(net.forward(X), back.forward(X))


def test_loading_an_unregistered_layer_says_how_to_register_it(tmp_path, registered) -> None:
    network().save(tmp_path / "m.npz")
    del LAYERS.by_name["feature_scale"]
    with pytest.raises(ModelFileError, match=r"feature_scale.*LAYERS\.add"):
        gn.load(tmp_path / "m.npz")


# ----------------------------------------------------------------- checkpoints
OPTIMIZERS = {"adam": lambda: gn.Adam(0.05), "rmsprop with momentum": lambda: gn.RMSprop(0.01, momentum=0.9)}


def checkpointed(path, optimizer, epochs, **options):
    net, opt = network(), OPTIMIZERS[optimizer]()
    history = net.fit(*data(), epochs=epochs, optimizer=opt, batch_size=8, checkpoint=path, checkpoint_every=3,
                      monitor=False, **options)
    return net, opt, history


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_own_layer_run_interrupted_and_resumed_equals_the_uninterrupted_run(tmp_path, registered, optimizer):
    """Ctrl-C in epoch 5 keeps epochs 1..4 (checkpoint_every=3: saved at 3, and at the interruption); resuming
    from that file gives, bit for bit, the parameters, optimizer state, history and generator of one whole run."""
    full = checkpointed(tmp_path / "full.ckpt", optimizer, 8)
    net, opt, history = checkpointed(tmp_path / "run.ckpt", optimizer, 8, callbacks=[CtrlCAt(epoch=5, step=2)])
    assert history.stopped == "interrupted" and history.epochs == 4 and saved_epoch(tmp_path / "run.ckpt") == 4
    meta, arrays = read_checkpoint(tmp_path / "run.ckpt")
    assert meta["layers"][0] == {"name": "feature_scale", "n": 3} and meta["parameters"]["0.s"] == [3]
    buffers = {f"optimizer:{name}:{key}" for name, entries in opt.state.items() for key, value in entries.items()
               if isinstance(value, np.ndarray)}
    assert {k for k in arrays if k.startswith("optimizer:")} == buffers  # every buffer, the own layer's s and t too
    assert {"optimizer:0.s:m", "optimizer:0.t:square_avg"} & buffers
    assert isinstance(gn.load(tmp_path / "run.ckpt").layers[0], FeatureScale)  # a checkpoint is a model file too
    resumed = checkpointed(tmp_path / "run.ckpt", optimizer, 8, resume=True)
    assert_same(full, resumed)
    assert resumed[2].epochs == 8 and len(resumed[2].loss) == 8


def forged_scale_shape(meta, arrays):
    """A consistent forgery: the scale ``s`` declared, stored and given optimizer buffers of 4 entries (n is 3)."""
    meta["parameters"]["0.s"] = [4]
    for key in [k for k in arrays if k == "0.s" or k.startswith("optimizer:0.s:")]:
        arrays[key] = np.ones(4)


def huge_scale_shape(meta, arrays):
    """``s`` declared as 2**42 floats (32 TiB) in the metadata and in the .npy headers, followed by 24 bytes."""
    import io

    meta["parameters"]["0.s"] = [2**42]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**42,)})
    for key in [k for k in arrays if k == "0.s" or k.startswith("optimizer:0.s:")]:
        arrays[key] = header.getvalue() + bytes(24)


@pytest.mark.parametrize("change, words", [
    (forged_scale_shape, "an array of parameter 0.s is float64 of shape (4,); the network's 0.s is float64 of shape (3,)"),
    (huge_scale_shape, "larger than the file can hold"),
    (lambda meta, arrays: meta["parameters"].pop("0.t"), "an array 'm' of '0.t', a parameter the file does not declare"),
    (lambda meta, arrays: arrays.update({"optimizer:0.t:v": arrays["optimizer:0.t:v"].astype(np.float32)}),
     "an array of parameter 0.t is float32"),
    ("truncated", "truncated"),
], ids=["other shape", "huge shape", "undeclared parameter", "buffer in float32", "truncated"])
def test_own_layer_damaged_checkpoint_is_refused_before_anything_changes(tmp_path, registered, change, words):
    path = tmp_path / "run.ckpt"
    checkpointed(path, "adam", 2)
    if change == "truncated":
        path.write_bytes(path.read_bytes()[:-300])
    else:
        rewrite(path, change, whole=True)
    net, fresh, opt = network(), network(), gn.Adam(0.05)
    with pytest.raises(ModelFileError) as info:
        net.fit(*data(), epochs=4, optimizer=opt, batch_size=8, checkpoint=path, checkpoint_every=3, monitor=False,
                resume=True)
    assert words in str(info.value) and "Delete it, or give another checkpoint path" in str(info.value)
    assert all(np.array_equal(p, fresh.parameters()[k]) for k, p in net.parameters().items()) and opt.state == {}


# ----------------------------------------------------------------- the training report
def test_own_layer_is_in_the_training_report_under_its_own_parameter_names(tmp_path, registered) -> None:
    """The page's data for a FeatureScale -> Dense -> Dense network: s and t by their names in every snapshot, in
    the ledger (gradient and SGD update, against net.gradients) and in the layer list; never taken for a bias.
    The recorded run survives its run file, and the page is written from it."""
    from glassnet.viz.report import report_data, write_report
    from glassnet.viz.snapshots import SnapshotRecorder, load_run, save_run

    X, y = data()
    X = X[:, :2]  # two inputs: the page draws the neuron maps too
    net = gn.Network([FeatureScale(2), Dense(2, 4, "tanh"), Dense(4, 1, "sigmoid")], loss="bce", l2=0.01, seed=2)
    rec = SnapshotRecorder(max_snapshots=4)
    net.fit(X, y, epochs=6, optimizer="sgd", lr=0.5, callbacks=[rec], monitor=False)
    data_, _ = report_data(net, X, y, run=rec.run, resolution=8, ledger_samples=2, ledger_snapshots=2)
    meta = data_["meta"]
    assert meta["layers"][0] == {"type": "FeatureScale", "weights": False, "params": ["s", "t"],
                                 "formulas": ["a_j = s_j * x_j + t_j"]}
    assert [layer["weights"] for layer in meta["layers"]] == [False, True, True]
    assert meta["n_params"] == 2 + 2 + 2 * 4 + 4 + 4 + 1 and meta["activations"][0] == "FeatureScale"
    assert data_["grid"]["units"] == [["FeatureScale", 2], ["tanh", 4], ["sigmoid", 1]]
    for table, k in zip(data_["snapshots"]["params"], range(len(rec.run.snapshots))):
        params = rec.run.snapshots[k][1]
        assert list(table[0]) == ["s", "t"] and list(table[1]) == ["W", "b"]
        np.testing.assert_allclose(table[0]["s"], params["0.s"], rtol=1e-8)
        np.testing.assert_allclose(table[0]["t"], params["0.t"], rtol=1e-8, atol=1e-12)
    assert data_["gradcheck"]["ok"] and {"0.s", "0.t"} <= {row[0] for row in data_["gradcheck"]["rows"]}

    ledgers = data_["ledgers"]
    for sample, entry in zip(ledgers["samples"], ledgers["traces"][-1]):  # the last snapshot: the final network
        s = sample["index"]
        grads = net.gradients(X[s:s + 1], y[s:s + 1])
        assert set(entry["params"]) == {"0.s", "0.t"}
        for key in ("0.s", "0.t"):
            np.testing.assert_allclose(entry["params"][key]["grad"], grads[key], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(entry["params"][key]["new"], net.parameters()[key] - 0.5 * grads[key],
                                       rtol=1e-12, atol=1e-15)
        A = net.layers[0].forward(X[s:s + 1])[0]
        for j in range(2):
            unit = entry["neurons"][f"n1_{j}"]
            assert unit["a"] == pytest.approx(A[j], rel=1e-12) and "grad_b" not in unit and "new_b" not in unit
        assert {key.split("_")[0] for key in entry["edges"]} == {"e2", "e3"}  # only Dense weights are edges
        assert entry["neurons"]["n2_0"]["grad_b"] == pytest.approx(grads["1.b"][0], rel=1e-12)
        symbols = {r["symbol"] for r in entry["records"]}
        assert {"dL/ds^(1)_1", "s^(1)_2", "dL/dt^(1)_2"} <= symbols

    save_run(net, rec.run, tmp_path / "run.npz")
    loaded, run = load_run(tmp_path / "run.npz")
    assert isinstance(loaded.layers[0], FeatureScale) and run is not None
    for (epoch, params), (epoch_back, back) in zip(rec.run.snapshots, run.snapshots):
        assert epoch == epoch_back and all(np.array_equal(p, back[key]) for key, p in params.items())
    assert write_report(tmp_path / "r.html", loaded, X, y, run=run, resolution=8, ledger_samples=1) > 0
