"""Layers: Dense against a step worked out by hand, and the layer interface: a layer written here, in the test
file, gets ``fit``, gradient checks, ``explain`` and save/load without any change to glassnet.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.layers import LAYERS, Dense, Layer
from glassnet.errors import ModelFileError


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
