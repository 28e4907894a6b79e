"""The network (core/network.py): forward, loss and every gradient against PyTorch in float64 (rtol 1e-10), one
SGD step worked out by hand, the 2-3-1 network learning XOR, predictions, and its notebook display.

glassnet against PyTorch 2.13 in float64, one named quantity at a time (rtol 1e-10).

Forward output, loss and every dW and db for every activation x loss combination that makes sense,
on random layer sizes and batches drawn by hypothesis.

One SGD step of a 2-2-1 sigmoid network worked out by hand (like scikit-learn's ``test_fit``),
and the batch-averaging rule: the mean of per-sample gradients equals the batch gradient."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS
from glassnet.core.losses import LOSSES
from tests.core.torch_reference import assert_matches_torch, torch_gradients

# Every case from the registries: a class added to its module is compared with torch the day it is added.
HIDDEN = [cls.name for cls in ACTIVATIONS.classes() if cls.elementwise]
# (output activation, loss) pairs that make sense: a fused loss needs its activation, an unfused one takes any.
OUTPUTS = [pair for loss in LOSSES.classes() for pair in (
    [(loss.fused_activation.name, loss.name)] if loss.fused_activation else [(a.name, loss.name) for a in ACTIVATIONS.classes()])]


def compare(name: str, ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert_matches_torch(name, ours, theirs, rtol=rtol, atol=atol)


def random_problem(draw_sizes, hidden, output, loss, seed, n_samples, l2=0.0):
    rng = np.random.default_rng(seed)
    sizes = draw_sizes
    if LOSSES[loss].targets == "binary":
        y = rng.integers(0, 2, size=(n_samples, sizes[-1])).astype(float)
    elif LOSSES[loss].targets == "classes":
        sizes = sizes[:-1] + [max(2, sizes[-1])]
        y = rng.integers(0, sizes[-1], size=n_samples)
    else:
        y = rng.normal(size=(n_samples, sizes[-1]))
    X = rng.normal(size=(n_samples, sizes[0])) * 2
    net = gn.Network.from_sizes(sizes, activation=hidden, output_activation=output, loss=loss, l2=l2, seed=seed)
    for p in net.parameters().values():  # random biases too, so every bias gradient is exercised off zero
        p[...] = rng.normal(size=p.shape)
    return net, X, y


@pytest.mark.parametrize("output,loss", OUTPUTS, ids=[f"{o}-{l}" for o, l in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN)
@settings(max_examples=8, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    n_samples=st.integers(1, 9),
    seed=st.integers(0, 10_000),
    l2=st.sampled_from([0.0, 0.1]),
)
def test_forward_loss_and_every_gradient_match_torch(hidden, output, loss, sizes, n_samples, seed, l2):
    net, X, y = random_problem(sizes, hidden, output, loss, seed, n_samples, l2)
    out_t, loss_t, grads_t = torch_gradients(net, X, y)
    compare("forward output", net.forward(X), out_t)
    compare("loss", np.array(net.loss(X, y)), np.array(loss_t))
    grads = net.gradients(X, y)
    assert grads.keys() == grads_t.keys()
    for key in grads:
        compare(key, grads[key], grads_t[key])


def test_bce_and_cross_entropy_stay_finite_and_match_torch_for_huge_logits():
    X = np.array([[1e3, -1e3], [-5e2, 7e2]])
    for loss, out, y in [("bce", "sigmoid", np.array([[1.0], [0.0]])), ("cross_entropy", "softmax", np.array([1, 0]))]:
        net = gn.Network.from_sizes([2, 1 if loss == "bce" else 2], output_activation=out, loss=loss, seed=0)
        _, loss_t, grads_t = torch_gradients(net, X, y)
        assert np.isfinite(net.loss(X, y))
        compare(f"{loss} loss", np.array(net.loss(X, y)), np.array(loss_t))
        for key, g in net.gradients(X, y).items():
            compare(key, g, grads_t[key])


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


def test_231_sigmoid_with_biases_learns_xor_from_fixed_seed():
    X, y = gn.datasets.xor()
    net = gn.Network([gn.Dense(2, 3, "sigmoid"), gn.Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    history = net.fit(X, y, epochs=5000, optimizer="sgd", lr=0.5)
    out = net.forward(X)[:, 0]
    assert np.all((out > 0.5) == (y == 1)), out
    assert history.loss[-1] < history.loss[0] / 10
    assert np.any(net.parameters()["0.b"] != 0), "biases must be trained too"


def test_same_seed_gives_bit_identical_training():
    X, y = gn.datasets.xor()
    runs = []
    for _ in range(2):
        net = gn.Network.from_sizes([2, 4, 1], "tanh", loss="bce", seed=7)
        net.fit(X, y, epochs=50, optimizer="adam", lr=0.05, batch_size=2)
        runs.append({k: v.copy() for k, v in net.parameters().items()})
    for key in runs[0]:
        assert np.array_equal(runs[0][key], runs[1][key]), key


def test_predict_and_predict_proba():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], loss="bce", seed=0)
    proba = net.predict_proba(X)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(net.predict(X), (proba[:, 1] > 0.5).astype(int))


def test_summary_lists_layers_shapes_and_counts(capsys):
    net = gn.Network.from_sizes([4, 8, 3], "relu", loss="cross_entropy", seed=0)
    text = net.summary()
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    assert lines[0] == "Network: inputs (batch, 4), loss cross_entropy, l2 0, float64"
    row0 = next(line for line in lines if line.startswith("0  "))
    row1 = next(line for line in lines if line.startswith("1  "))
    # by hand: 4*8 + 8 = 40 and 8*3 + 3 = 27 parameters
    assert "Dense(4 -> 8)" in row0 and "relu" in row0 and "(batch, 8)" in row0 and "40  (W (4, 8), b (8,))" in row0
    assert "Dense(8 -> 3)" in row1 and "softmax" in row1 and "27  (W (8, 3), b (3,))" in row1
    assert lines[-1] == "Total parameters: 67"
    assert net.summary(print_it=False) == text and capsys.readouterr().out == ""


def test_network_html_is_an_escaped_table():
    html = gn.Network.from_sizes([2, 3, 1], seed=0)._repr_html_()
    assert html.count("<tr>") == 3 and "<th>activation</th>" in html and "Dense(2 -&gt; 3)" in html
    assert "Total parameters: 13" in html and "'mse'" not in html  # quotes are escaped


def test_history_html_has_a_loss_sparkline():
    history = gn.History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.75, 1.0], epochs=3)
    html = history._repr_html_()
    assert "History(3 epochs, loss 1 -&gt; 0.25, accuracy 1.000)" in html
    points = html.split("points='")[1].split("'")[0].split()
    assert points == ["0.0,4.0", "100.0,38.7", "200.0,56.0"]  # x spread over 200 px, y: high loss at the top
    assert "<svg" not in gn.History(loss=[1.0], epochs=1)._repr_html_()
