"""One SGD step of a 2-2-1 sigmoid network worked out by hand (like scikit-learn's ``test_fit``),
and the batch-averaging rule: the mean of per-sample gradients equals the batch gradient."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


def test_one_sgd_step_worked_by_hand():
    # Network 2-2-1, sigmoid everywhere, mse on a single sample x = (1, 0), target y = 1, lr = 0.5.
    # W1[i, j] connects input i to hidden unit j.
    net = gn.Network([gn.Dense(2, 2, "sigmoid"), gn.Dense(2, 1, "sigmoid")], loss="mse")
    net.set_parameters({"0.W": [[0.1, 0.2], [0.3, 0.4]], "0.b": [0.5, -0.5], "1.W": [[0.6], [-0.7]], "1.b": [0.2]})
    X, y = np.array([[1.0, 0.0]]), np.array([1.0])
    # Forward:
    #   z1_1 = 1*0.1 + 0*0.3 + 0.5 = 0.6        a1_1 = sigmoid(0.6)  = 0.6456563062257954
    #   z1_2 = 1*0.2 + 0*0.4 - 0.5 = -0.3       a1_2 = sigmoid(-0.3) = 0.425557483188341
    #   z2 = 0.6*a1_1 - 0.7*a1_2 + 0.2 = 0.28950354550363855
    #   a2 = sigmoid(z2) = 0.571874588309241
    #   L = (a2 - 1)^2 = 0.1832913681353819       (mean over 1 sample and 1 output)
    # Backward:
    #   delta2 = dL/dz2 = 2 (a2 - 1) * a2 (1 - a2) = -0.20963935138611808
    #   dW2 = (a1_1 delta2, a1_2 delta2) = (-0.1353549692555326, -0.08921359475311266), db2 = delta2
    #   delta1_1 = 0.6 * delta2 * a1_1 (1 - a1_1) = -0.028777307866019584
    #   delta1_2 = -0.7 * delta2 * a1_2 (1 - a1_2) = 0.035873657332655406
    #   dW1[i, j] = x_i delta1_j: row 0 = (delta1_1, delta1_2), row 1 = (0, 0); db1 = (delta1_1, delta1_2)
    # Update p <- p - 0.5 dp:
    #   W2 = (0.6676774846277662, -0.6553932026234436), b2 = 0.30481967569305907
    #   W1 row 0 = (0.1143886539330098, 0.1820631713336723), row 1 unchanged (0.3, 0.4)
    #   b1 = (0.5143886539330098, -0.5179368286663277)
    assert net.forward(X)[0, 0] == pytest.approx(0.571874588309241, rel=1e-14)
    loss = net.step(X, y, gn.SGD(0.5))
    assert loss == pytest.approx(0.1832913681353819, rel=1e-14)
    p = net.parameters()
    np.testing.assert_allclose(p["1.W"][:, 0], [0.6676774846277662, -0.6553932026234436], rtol=1e-14)
    np.testing.assert_allclose(p["1.b"], [0.30481967569305907], rtol=1e-14)
    np.testing.assert_allclose(p["0.W"], [[0.1143886539330098, 0.1820631713336723], [0.3, 0.4]], rtol=1e-14)
    np.testing.assert_allclose(p["0.b"], [0.5143886539330098, -0.5179368286663277], rtol=1e-14)


@pytest.mark.parametrize("loss,out", [("mse", "sigmoid"), ("bce", "sigmoid"), ("cross_entropy", "softmax")])
def test_mean_of_per_sample_gradients_equals_batch_gradient(loss, out):
    rng = np.random.default_rng(0)
    net = gn.Network.from_sizes([3, 4, 2], activation="tanh", output_activation=out, loss=loss, seed=0)
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 2, size=10) if loss == "cross_entropy" else rng.integers(0, 2, size=(10, 2)).astype(float)
    batch = net.gradients(X, y)
    per_sample = [net.gradients(X[i:i + 1], y[i:i + 1]) for i in range(10)]
    halves = [net.gradients(X[:5], y[:5]), net.gradients(X[5:], y[5:])]
    for key in batch:
        np.testing.assert_allclose(np.mean([g[key] for g in per_sample], axis=0), batch[key], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose((halves[0][key] + halves[1][key]) / 2, batch[key], rtol=1e-12, atol=1e-15)


def test_gradients_do_not_change_parameters():
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    before = {k: v.copy() for k, v in net.parameters().items()}
    net.gradients(*gn.datasets.xor())
    for key, value in net.parameters().items():
        assert np.array_equal(value, before[key])


def test_l2_penalises_weights_not_biases():
    net = gn.Network.from_sizes([2, 3, 1], seed=0, l2=0.5)
    plain = gn.Network.from_sizes([2, 3, 1], seed=0)
    X, y = gn.datasets.xor()
    weights = sum(float((net.parameters()[k] ** 2).sum()) for k in ("0.W", "1.W"))
    assert net.loss(X, y) == pytest.approx(plain.loss(X, y) + 0.25 * weights, rel=1e-14)
    g, g0 = net.gradients(X, y), plain.gradients(X, y)
    np.testing.assert_allclose(g["0.W"], g0["0.W"] + 0.5 * net.parameters()["0.W"], rtol=1e-14)
    assert np.array_equal(g["0.b"], g0["0.b"]) and np.array_equal(g["1.b"], g0["1.b"])
