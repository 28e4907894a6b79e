"""gradcheck when *every* checked entry of a tensor crossed a kink: that tensor was not compared at the given
point, so it must not be passed as OK on nothing; it is checked at a nearby point (and says so, with the size
of the move), or reported ``unchecked``.

Each row builds a network and data where some tensor has all its pre-activations exactly on a kink.
"""

import importlib

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.activations import Activation
from glassnet.core.layers import Dense
from glassnet.verify.gradcheck import gradcheck

gradcheck_module = importlib.import_module("glassnet.verify.gradcheck")  # the package exports the function by that name


class ShiftedReLU(Activation):
    """``max(z - 1, 0)``: a kink at 1, so a bias of exactly 1 on a zero input row sits on it."""

    name = "shifted_relu_kinks_test"
    kinks = (1.0,)

    def forward(self, Z):
        return np.maximum(Z - 1.0, 0.0)

    def backward(self, Z, A, dA):
        return dA * (Z > 1.0)


W0 = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])
SOME_ROWS = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
Y3 = np.array([0.0, 1.0, 0.5])


def zero_row_relu():  # the case: a zero input row and zero biases put every Z of that row on 0
    return gn.Network([Dense(2, 3, "relu"), Dense(3, 1, "identity")], loss="mse", seed=0), SOME_ROWS, Y3


def all_zero_inputs_leaky():
    return gn.Network([Dense(2, 3, "leaky_relu"), Dense(3, 1, "identity")], loss="mse", seed=1), np.zeros((4, 2)), \
        np.array([0.0, 1.0, 0.0, 1.0])


def bias_on_a_shifted_kink():  # a kink that is not at 0: the activation's own `kinks`
    net = gn.Network([Dense(2, 3, ShiftedReLU(), init=(W0, np.ones(3))), Dense(3, 1, "identity")], loss="mse", seed=0)
    return net, SOME_ROWS, Y3


def zero_second_layer():  # layer 1 initialised to zeros: every Z of layer 1 is 0, so 1.W and 1.b are all kinks
    net = gn.Network([Dense(2, 4, "tanh", init=(W0[:, [0, 1, 2, 0]], np.array([0.1, 0.2, 0.3, 0.4]))),
                      Dense(4, 2, "relu", init=(np.zeros((4, 2)), np.zeros(2))), Dense(2, 1, "identity")],
                     loss="mse", seed=0)
    return net, SOME_ROWS + 0.5, Y3


def bce_on_a_relu_row():  # another loss and a sigmoid output; one row of zeros among random ones
    rng = np.random.default_rng(4)
    X = np.vstack([np.zeros((1, 3)), rng.normal(size=(5, 3))])
    net = gn.Network.from_sizes([3, 4, 1], "relu", loss="bce", seed=2)
    return net, X, rng.integers(0, 2, size=6)


CASES = {
    "zero input row, relu (the issue's case)": (zero_row_relu, ["0.b"], {}),
    "all inputs zero, leaky relu": (all_zero_inputs_leaky, ["0.b"], {}),
    "kink at 1, biases exactly 1": (bias_on_a_shifted_kink, ["0.b"], {}),
    "a relu layer of zeros (W and b)": (zero_second_layer, ["1.W", "1.b"], {}),
    "zero row, bce loss, sampled entries": (bce_on_a_relu_row, ["0.b"], {"sample": 3}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_tensor_whose_every_entry_crossed_a_kink_is_checked_at_a_nearby_point(case):
    make, kinked, options = CASES[case]
    net, X, y = make()
    before = {k: v.copy() for k, v in net.parameters().items()}
    report = gradcheck(net, X, y, **options)
    for name in kinked:
        finding = report[name]
        compared, size = map(int, finding.details["checked"].split("/"))
        assert compared >= 1, f"{name}: nothing compared\n{report}"
        assert finding.details["kinks"] >= 1 and finding.details["moved_by"] > 0
        assert "nearby point" in finding.message and "could be compared there" in finding.message
        assert f"{finding.details['moved_by']:.1e}" in finding.message  # says by how much the point moved
        assert finding.ok and finding.verdict == "kink", str(report)
    for finding in report.findings:  # the tensors that could be compared are judged where they were given
        if finding.param not in kinked:
            assert "moved_by" not in finding.details
    assert all(np.array_equal(before[k], v) for k, v in net.parameters().items())  # the user's network untouched


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_wrong_gradient_hidden_behind_kinks_is_found(case, monkeypatch):
    """The point of the nearby check: a bias gradient off by a factor of 2 on the kinked tensor fails the check
    (on the unchanged code it passed, because nothing of that tensor was compared)."""
    make, kinked, options = CASES[case]
    net, X, y = make()
    layer_index = int(kinked[-1].split(".")[0])
    broken_layer = net.layers[layer_index]
    original = Dense.backward_from_dZ

    def broken(self, dZ):
        dX = original(self, dZ)
        if (self.n_in, self.n_out, self.activation.name) == (broken_layer.n_in, broken_layer.n_out,
                                                             broken_layer.activation.name):
            self.grads["b"] = 2 * self.grads["b"]
        return dX

    monkeypatch.setattr(Dense, "backward_from_dZ", broken)
    report = gradcheck(net, X, y, **options)
    assert not report.ok
    assert not report[f"{layer_index}.b"].ok and report[f"{layer_index}.b"].verdict in ("suspect", "wrong")


def test_no_nearby_point_helps_then_the_tensor_is_unchecked_and_does_not_pass(monkeypatch):
    monkeypatch.setattr(gradcheck_module, "NUDGES", (0.0,))  # moving by nothing cannot leave the kink
    net, X, y = zero_row_relu()
    report = gradcheck(net, X, y)
    finding = report["0.b"]
    assert finding.verdict == "unchecked" and not finding.ok and not report.ok
    assert "NOT checked" in finding.message and finding.details["checked"] == "0/3"
    assert report["0.W"].ok  # the others are still judged


def test_partly_kinked_tensor_is_judged_at_the_given_point():
    """Only when *every* entry crossed a kink does the point move; a few crossings are left out as before."""
    # Row 0 = (0, 1), so Z[0] = W[1] + b = (0.1 - 0.1, 0.4 + 0.3, -0.6 + 0.9): only unit 0 sits on the kink; every
    # other Z of the three rows is at least 0.1 away from 0.
    X = np.array([[0.0, 1.0], [1.0, 2.0], [-1.0, 0.5]])
    net = gn.Network([Dense(2, 3, "relu", init=(W0, np.array([-0.1, 0.3, 0.9]))), Dense(3, 1, "identity")],
                     loss="mse", seed=0)
    report = gradcheck(net, X, Y3)
    assert report["0.b"].details["kinks"] == 1 and "moved_by" not in report["0.b"].details
    assert report["0.b"].details["checked"] == "2/3" and report.ok
