"""gradcheck on networks with BatchNorm1d and Dropout: both modes, the same masks, running statistics untouched,
and a BatchNorm backward that forgets the mean term caught and named."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.batchnorm import BatchNorm1d
from glassnet.core.dropout import Dropout
from glassnet.verify.gradcheck import gradcheck


def _data(n=6):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), rng.integers(0, 2, n)


def _bn_net():
    return gn.Network([gn.Dense(3, 4, "tanh"), BatchNorm1d(), gn.Dense(4, 1, "sigmoid")], loss="bce", seed=1)


def _dropout_net():
    return gn.Network([gn.Dense(3, 5, "relu"), Dropout(0.4), gn.Dense(5, 2, "identity")], loss="mse", seed=2)


def test_batchnorm_network_passes_in_both_modes_and_is_left_unchanged():
    X, y = _data()
    net = _bn_net()
    net.layers[1].buffers["running_mean"][...] = [0.3, -0.2, 0.1, 0.5]  # running stats unlike the batch's
    net.layers[1].buffers["running_var"][...] = [0.5, 2.0, 1.5, 0.8]
    net.layers[1].params["gamma"][...] = [1.5, 0.7, -0.4, 1.1]
    before = {k: v.copy() for k, v in net.layers[1].buffers.items()}
    report = gradcheck(net, X, y)
    assert report.ok, str(report)
    params = ["0.W", "0.b", "1.gamma", "1.beta", "2.W", "2.b"]
    assert [f.param for f in report.findings] == params + [f"{p} (eval)" for p in params]
    assert [f.details["mode"] for f in report.findings] == ["train"] * 6 + ["eval"] * 6
    assert max(f.details["rel_error"] for f in report.findings) < 1e-7
    assert all(np.array_equal(before[k], v) for k, v in net.layers[1].buffers.items())  # the user's net: untouched


def test_dropout_network_passes_because_every_evaluation_sees_the_same_masks():
    X, y = _data(8)
    Y = np.column_stack([y, 1 - y]).astype(float)
    net = _dropout_net()
    state = net.rng.bit_generator.state
    report = gradcheck(net, X, Y)
    assert report.ok, str(report)
    assert report["2.W"].details["rel_error"] < 1e-7 and report["2.W (eval)"].details["rel_error"] < 1e-7
    assert net.rng.bit_generator.state == state  # the caller's generator did not move


def test_fresh_masks_on_every_evaluation_would_fail():
    """The check can fail: a Dropout whose every forward pass draws from its own unpinned generator gives central
    differences of two different functions."""

    class Unpinned(Dropout):
        def forward(self, X):
            self.rng = np.random.default_rng()  # a new generator each call: nothing can put its state back
            return super().forward(X)

    X, y = _data(8)
    net = gn.Network([gn.Dense(3, 5, "tanh"), Unpinned(0.5), gn.Dense(5, 1, "identity")], loss="mse", seed=2)
    report = gradcheck(net, X, y.astype(float), mode="train")
    assert not report.ok


def test_modes_can_be_chosen_and_dense_networks_are_checked_once():
    X, y = _data()
    net = _bn_net()
    assert [f.details["mode"] for f in gradcheck(net, X, y, mode="eval").findings] == ["eval"] * 6
    assert [f.param for f in gradcheck(net, X, y, mode="train").findings][:2] == ["0.W", "0.b"]
    dense = gn.Network.from_sizes([3, 4, 1], "tanh", loss="bce", seed=0)
    assert [f.param for f in gradcheck(dense, X, y).findings] == ["0.W", "0.b", "1.W", "1.b"]
    with pytest.raises(gn.ConfigError, match="mode must be 'both'"):
        gradcheck(net, X, y, mode="test")


def test_the_networks_mode_is_left_as_it_was():
    X, y = _data()
    net = _bn_net()
    net.eval()
    gradcheck(net, X, y)
    assert [layer.training for layer in net.layers] == [False] * 3


class ForgotMean(BatchNorm1d):
    """A BatchNorm whose backward forgets the term of the batch mean: right dgamma and dbeta, wrong dX."""

    def backward(self, dA):
        super().backward(dA)  # dgamma, dbeta
        X_hat, inv_std = self.cache["X_hat"], self.cache["inv_std"]
        dX_hat = dA * self.params["gamma"]
        N = dA.shape[0]
        return inv_std / N * (N * dX_hat - X_hat * (dX_hat * X_hat).sum(axis=0))  # "- dX_hat.sum(axis=0)" left out


def test_a_batchnorm_backward_that_forgets_the_mean_term_is_caught_and_named():
    X, y = _data()
    net = gn.Network([gn.Dense(3, 4, "tanh"), ForgotMean(), gn.Dense(4, 1, "sigmoid")], loss="bce", seed=1)
    report = gradcheck(net, X, y, mode="train")
    assert not report.ok
    assert [f.param for f in report.failed()] == ["0.W", "0.b"]  # its own gamma and beta are right
    assert report["1.gamma"].ok and report["1.beta"].ok
    (note,) = report.notes
    assert note.startswith("layer 1 (BatchNorm1d(4)) hands down a wrong gradient dL/dX")
    assert "ForgotMean.backward" in note and "(0.W, 0.b) inherit its error" in note
    assert "inherited: layer 1" in report["0.W"].message


def test_one_row_in_training_mode_is_refused_with_the_way_out():
    X, y = _data(1)
    with pytest.raises(gn.ShapeError, match=r"batch of 1 row in training mode.*To check one sample, pass mode='eval'"):
        gradcheck(_bn_net(), X, y)
    assert gradcheck(_bn_net(), X, y, mode="eval").ok


def test_a_bias_just_before_batchnorm_has_gradient_zero_and_passes():
    # BatchNorm subtracts the batch mean, so a bias added just before it cannot change the loss: its gradient is 0
    # in theory, and backprop's (about 1e-17) and the numerical one (about 1e-12, rounding over eps) are both noise.
    net = gn.Network([gn.Dense(3, 4, "identity"), gn.BatchNorm1d(), gn.Dense(4, 1, "sigmoid")], loss="bce", seed=0)
    X = np.random.default_rng(1).normal(size=(16, 3))
    y = (X[:, 0] > 0).astype(float)
    report = gn.gradcheck(net, X, y, mode="train")
    bias = next(f for f in report.findings if f.param == "0.b")
    assert report.ok and bias.verdict == "ok" and "both are 0" in bias.message


def test_a_gradient_wrongly_zero_is_still_caught_beside_batchnorm():
    # The noise floor only forgives gradients that are 0 on both sides: a backward that drops a real gradient fails.
    class NoBiasGradient(gn.Dense):
        def backward_from_dZ(self, dZ):
            dX = super().backward_from_dZ(dZ)
            self.grads = {"W": self.grads["W"], "b": np.zeros_like(self.grads["b"])}
            return dX

    net = gn.Network([gn.Dense(3, 4, "tanh"), gn.BatchNorm1d(), NoBiasGradient(4, 1, "sigmoid")], loss="bce", seed=0)
    X = np.random.default_rng(1).normal(size=(16, 3))
    y = (X[:, 0] > 0).astype(float)
    report = gn.gradcheck(net, X, y, mode="train")
    assert not report.ok
    assert next(f for f in report.findings if f.param == "2.b").verdict == "wrong"
