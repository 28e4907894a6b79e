"""gradcheck: passes on every activation x loss, names the broken tensor, knows kinks, samples big tensors."""

import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS, Activation, Sigmoid
from glassnet.core.layers import Dense
from glassnet.core.losses import LOSSES
from glassnet.verify.gradcheck import gradcheck
from glassnet.verify.numeric import central_differences, choose_entries


def _net(act, loss, dtype="float64", l2=0.0):
    n_out = 3 if loss == "cross_entropy" else 1
    return gn.Network.from_sizes([2, 4, 3, n_out], act, loss=loss, seed=3, dtype=dtype, l2=l2)


def _data(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    y = rng.integers(0, 3, size=6) if loss == "cross_entropy" else rng.integers(0, 2, size=6)
    return X, y


HIDDEN = [cls.name for cls in ACTIVATIONS.classes() if cls.elementwise]  # every registered one, gelu included


@pytest.mark.parametrize("act", HIDDEN)
@pytest.mark.parametrize("loss", LOSSES.names())
def test_passes_on_every_activation_and_loss(act, loss):
    X, y = _data(loss)
    report = gradcheck(_net(act, loss, l2=0.01), X, y)
    assert report.ok, str(report)
    assert [f.param for f in report.findings] == ["0.W", "0.b", "1.W", "1.b", "2.W", "2.b"]
    for f in report.findings:
        assert f.details["rel_error"] <= 1e-4 or f.verdict == "kink"


@pytest.mark.parametrize("output", ACTIVATIONS.names())
def test_passes_for_mse_on_every_output_activation(output):
    X, y = _data("mse")
    Y = np.column_stack([y, 1 - y]).astype(float)
    net = gn.Network.from_sizes([2, 4, 2], "leaky_relu", output_activation=output, loss="mse", seed=5)
    assert gradcheck(net, X, Y).ok


def test_float32_network_is_checked_in_float64_and_left_unchanged():
    X, y = _data("bce")
    net = _net("tanh", "bce", dtype="float32")
    before = {k: v.copy() for k, v in net.parameters().items()}
    report = gradcheck(net, X, y)
    assert report.ok and max(f.details["rel_error"] for f in report.findings) < 1e-7
    assert all(np.array_equal(before[k], v) and v.dtype == np.float32 for k, v in net.parameters().items())


def test_central_differences_match_a_hand_worked_example():
    # L(w, b) = (w * 2 + b - 1)**2 at w = 3, b = 0.5: residual 5.5, dL/dw = 2 * 5.5 * 2 = 22, dL/db = 11.
    params = {"w": np.array([3.0]), "b": np.array([0.5])}
    evaluate = lambda: (float((params["w"][0] * 2 + params["b"][0] - 1) ** 2), None)
    diff = central_differences(params, evaluate, 1e-5, choose_entries(params, None))
    assert diff["w"].values[0] == pytest.approx(22.0, rel=1e-9)
    assert diff["b"].values[0] == pytest.approx(11.0, rel=1e-9)
    assert params["w"][0] == 3.0 and params["b"][0] == 0.5  # restored exactly


def test_numerical_gradient_agrees_with_torch_autograd():
    torch.set_default_dtype(torch.float64)
    X, y = _data("mse")
    net = _net("tanh", "mse")
    p = {k: torch.tensor(v, requires_grad=True) for k, v in net.parameters().items()}
    h = torch.tensor(X)
    for i in range(3):
        h = h @ p[f"{i}.W"] + p[f"{i}.b"]
        h = torch.tanh(h)
    loss = torch.mean((h - torch.tensor(y, dtype=torch.float64).reshape(-1, 1)) ** 2)
    loss.backward()
    params = {k: v.copy() for k, v in net.parameters().items()}
    twin = gn.Network.from_sizes([2, 4, 3, 1], "tanh", loss="mse")
    twin.set_parameters(params)
    live = twin.parameters()
    evaluate = lambda: (twin.loss(X, y), None)
    diff = central_differences(live, evaluate, 1e-5, choose_entries(live, None))
    for k in params:
        np.testing.assert_allclose(diff[k].full(params[k].shape), p[k].grad.numpy(), rtol=1e-6, atol=1e-10)


def test_broken_layer_backward_is_named(monkeypatch):
    X, y = _data("mse")
    net = _net("sigmoid", "mse")  # 2 -> 4 -> 3 -> 1
    original = Dense.backward_from_dZ

    def broken(self, dZ):  # layer 1 (4 -> 3) takes db from the first sample only instead of summing over samples
        dX = original(self, dZ)
        if (self.n_in, self.n_out) == (4, 3):
            self.grads["b"] = dZ[0].copy()
        return dX

    monkeypatch.setattr(Dense, "backward_from_dZ", broken)
    report = gradcheck(net, X, y)
    assert not report.ok
    assert [f.param for f in report.failed()] == ["1.b"]  # dX is unchanged, so every other tensor passes
    assert report["1.b"].verdict == "wrong" and "1.b (Dense(4 -> 3, sigmoid))" in report["1.b"].message


def test_broken_activation_derivative_fails_the_layers_below(monkeypatch):
    X, y = _data("mse")
    monkeypatch.setattr(Sigmoid, "backward", lambda self, Z, A, dA: dA * A)  # forgot (1 - A)
    net = gn.Network([Dense(2, 3, "tanh"), Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    report = gradcheck(net, X, y)
    assert {f.param for f in report.failed()} == {"0.W", "0.b", "1.W", "1.b"}
    net = gn.Network([Dense(2, 3, "sigmoid"), Dense(3, 1, "tanh")], loss="mse", seed=0)
    report = gradcheck(net, X, y)
    assert {f.param for f in report.failed()} == {"0.W", "0.b"}
    assert report["1.W"].verdict == "ok"


def test_relu_kink_crossing_is_reported_as_kink_not_error():
    # Row 0 is all zeros and the biases start at 0, so Z = 0 exactly there: perturbing 0.b crosses the kink.
    X = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    y = np.array([0.0, 1.0, 0.5])
    net = gn.Network([Dense(2, 3, "relu"), Dense(3, 1, "identity")], loss="mse", seed=0)
    report = gradcheck(net, X, y)
    assert report.ok
    assert report["0.b"].details["kinks"] == 3
    assert report["0.b"].verdict == "kink" and "kink" in report["0.b"].message


def test_kinks_come_from_the_activation_class():
    """A class of one's own with a kink at 1 (``kinks = (1.0,)``): crossings there are kinks, named at 1."""

    class ShiftedReLU(Activation):
        name = "shifted_relu"
        kinks = (1.0,)

        def forward(self, Z):
            return np.maximum(Z - 1.0, 0.0)

        def backward(self, Z, A, dA):
            return dA * (Z > 1.0)

    X = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    y = np.array([0.0, 1.0, 0.5])
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])
    net = gn.Network([Dense(2, 3, ShiftedReLU(), init=(W, np.ones(3))), Dense(3, 1, "identity")], loss="mse", seed=0)
    report = gradcheck(net, X, y)  # row 0: Z = b = 1 exactly, on the kink
    assert report.ok
    assert report["0.b"].details["kinks"] == 3 and report["0.b"].verdict == "kink"
    assert "crossed the shifted_relu kink at 1" in report["0.b"].message


def test_report_prints_converts_and_renders():
    X, y = _data("bce")
    report = gradcheck(_net("tanh", "bce"), X, y)
    text = str(report)
    assert "0.b" in text and "rel_error" in text and text.splitlines()[0].endswith("OK")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True and len(data["findings"]) == 6
    assert "<table>" in report._repr_html_() and "Report" in repr(report)


def test_sampling_checks_every_tensor_and_huge_counts_are_refused_with_an_estimate():
    X = np.random.default_rng(0).normal(size=(50, 300))
    y = np.zeros(50)
    net = gn.Network.from_sizes([300, 200, 1], "tanh", loss="mse", seed=0)
    with pytest.raises(gn.ConfigError, match=r"about .* s .*sample="):
        gradcheck(net, X, y, max_seconds=0.01)
    report = gradcheck(net, X, y, sample=5)
    assert [f.details["checked"] for f in report.findings] == ["5/60000", "5/200", "5/200", "1/1"]
    assert report.ok and "sampled" in report.notes[0]


def test_bad_arguments():
    with pytest.raises(gn.GlassnetTypeError, match="doctor"):
        gradcheck(object(), [[0, 0]], [0])  # type: ignore[arg-type]
    with pytest.raises(gn.ConfigError, match="eps"):
        gradcheck(_net("tanh", "mse"), [[0, 0]], [0], eps=0)
    with pytest.raises(gn.ConfigError, match="sample"):
        gradcheck(_net("tanh", "mse"), [[0, 0]], [0], sample=0)
