"""Training health checks: each warning triggered by a purpose-built network, none on a healthy run."""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.activations import ACTIVATIONS, Activation, Sigmoid
from glassnet.core.layers import Dense
from glassnet.core.losses import BinaryCrossEntropy, CrossEntropy, Huber, MeanSquaredError
from glassnet.verify.health import HealthMonitor, HealthWarning


def _fit(net, X, y, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, y, **kwargs)
    return {w.message.check: w.message for w in caught if issubclass(w.category, HealthWarning)}, caught


def test_healthy_xor_run_gives_no_warning():
    X, y = gn.datasets.xor()
    net = gn.Network([Dense(2, 3, "sigmoid"), Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    found, caught = _fit(net, X, y, epochs=5000, lr=0.5)
    assert found == {} and not caught


def test_chance_levels_by_hand():
    """The monitor's chance level is the loss's own ``chance(Y)``: the loss of the best constant prediction."""
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    assert MeanSquaredError().chance(Y) == pytest.approx(0.25)           # predict 0.5: mean (0.5)**2
    assert BinaryCrossEntropy().chance(Y) == pytest.approx(np.log(2))    # predict 0.5: -log 0.5
    assert CrossEntropy().chance(np.eye(3)) == pytest.approx(np.log(3))
    # Huber's best constant is the median; here 0 or 1 (median 0.5): every residual 0.5, below delta, so 0.5**2 / 2.
    assert Huber().chance(Y) == pytest.approx(0.125)
    # delta 0.1: every residual 0.5 is in the linear part, 0.1 * (0.5 - 0.05).
    assert Huber(delta=0.1).chance(Y) == pytest.approx(0.045)


def test_monitor_takes_the_chance_level_from_the_loss():
    X, y = gn.datasets.xor()
    for loss in (MeanSquaredError(), Huber(delta=0.1)):
        net = gn.Network.from_sizes([2, 3, 1], "tanh", output_activation="sigmoid", loss=loss, seed=0)
        monitor = HealthMonitor()
        monitor.on_train_begin(net, {"n_samples": 4, "batch_size": 4, "epochs": 1, "X": X, "Y": y[:, None] * 1.0})
        assert monitor.chance == loss.chance(y[:, None] * 1.0)


def test_saturation_and_dead_units_come_from_the_activation_class():
    """``saturates``/``peak_slope`` and ``dies`` decide the checks, and the derivative is the class's own backward:
    a class of one's own with those attributes is checked like sigmoid and ReLU, with no name anywhere."""

    class Clipped(Activation):  # a hard sigmoid: slope 1/2 in [-1, 1], flat outside
        name = "clipped"
        saturates = True
        peak_slope = 0.5

        def forward(self, Z):
            return np.clip(0.5 * Z + 0.5, 0.0, 1.0)

        def backward(self, Z, A, dA):
            return dA * 0.5 * (np.abs(Z) < 1)

    class Floor(Activation):  # max(z, 0) under another name
        name = "floor"
        dies = True

        def forward(self, Z):
            return np.maximum(Z, 0.0)

        def backward(self, Z, A, dA):
            return dA * (Z > 0)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(float)
    W = rng.normal(size=(4, 6)) * 50
    net = gn.Network([Dense(4, 6, Clipped(), init=(W, np.zeros(6))), Dense(6, 1, "sigmoid")], loss="bce", seed=0)
    found, _ = _fit(net, X, y, epochs=3, lr=0.1)
    assert "saturated" in found and "clipped units of layer 0" in str(found["saturated"])

    X = np.abs(rng.normal(size=(32, 3)))
    W = -np.abs(rng.normal(size=(3, 4)))  # every unit gets negative input on positive data
    net = gn.Network([Dense(3, 4, Floor(), init=(W, np.zeros(4))), Dense(4, 1, "identity")], loss="mse", seed=0)
    found, _ = _fit(net, X, X.sum(axis=1), epochs=2, lr=0.01)
    assert "dead_relu" in found and "4 of 4 floor units" in str(found["dead_relu"])


@pytest.mark.parametrize("cls", [c for c in ACTIVATIONS.classes() if c().elementwise])
def test_saturation_scale_is_the_derivative_over_its_peak(cls):
    """What the saturation check reads, for every registered activation: 1 at the steepest point, never above."""
    activation = cls()
    if not activation.saturates:
        return
    Z = np.linspace(-8, 8, 401)[:, None]
    slope = activation.backward(Z, activation.forward(Z), np.ones_like(Z)) / activation.peak_slope
    assert slope.max() == pytest.approx(1.0, abs=1e-4) and slope.min() >= 0
    if cls is Sigmoid:
        np.testing.assert_allclose(slope, 4 * activation.forward(Z) * (1 - activation.forward(Z)), rtol=1e-12)


def test_collapsed_outputs_from_a_symmetric_zero_start():
    X, y = gn.datasets.xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dense(init="zeros") warns on its own
        net = gn.Network([Dense(2, 3, "sigmoid", init="zeros"), Dense(3, 1, "sigmoid", init="zeros")], loss="mse")
    found, _ = _fit(net, X, y, epochs=50, lr=0.5)
    assert "collapsed" in found and "same value" in str(found["collapsed"])
    assert found["collapsed"].suggestion and found["collapsed"].explanation


def test_saturated_sigmoid_units_from_huge_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(int)
    W = rng.normal(size=(4, 6)) * 50
    net = gn.Network([Dense(4, 6, "sigmoid", init=(W, np.zeros(6))), Dense(6, 1, "sigmoid")], loss="bce", seed=0)
    found, _ = _fit(net, X, y, epochs=3, lr=0.1)
    assert "saturated" in found and "layer 0" in str(found["saturated"])


def test_dead_relu_units():
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(32, 3)))
    y = X.sum(axis=1)
    W = np.abs(rng.normal(size=(3, 4)))
    W[:, 1] *= -1  # unit 1 gets only negative input on positive data: dead from the start
    net = gn.Network([Dense(3, 4, "relu", init=(W, np.zeros(4))), Dense(4, 1, "identity")], loss="mse", seed=0)
    found, _ = _fit(net, X, y, epochs=2, lr=0.01)
    assert "dead_relu" in found and "units [1]" in str(found["dead_relu"])


def test_update_ratio_too_small_and_loss_stuck():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=0)
    found, _ = _fit(net, X, y, epochs=64, lr=1e-9)
    assert "update_ratio" in found and "raise the learning rate" in str(found["update_ratio"])
    assert "stuck" in found


def test_update_ratio_too_large():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=0)
    found, _ = _fit(net, X, y, epochs=3, lr=30.0)
    assert "update_ratio" in found and "lower the learning rate" in str(found["update_ratio"])


def test_initial_loss_far_above_chance_for_unscaled_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = 1000 + X[:, 0]  # targets far from 0 with a small spread: chance level 1, initial loss ~1e6
    net = gn.Network.from_sizes([2, 3, 1], "tanh", output_activation="identity", loss="mse", seed=0)
    found, _ = _fit(net, X, y, epochs=1, lr=1e-9)
    assert "initial_loss" in found and "above its chance level" in str(found["initial_loss"])


def test_each_warning_once_per_fit_and_monitor_off():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=0)
    found, caught = _fit(net, X, y, epochs=300, lr=1e-9)
    checks = [w.message.check for w in caught]
    assert len(checks) == len(set(checks))
    found, caught = _fit(net, X, y, epochs=300, lr=1e-9, monitor=False)
    assert not caught


def test_warning_points_at_the_callers_fit_line():
    X, y = gn.datasets.xor()
    net = gn.Network.from_sizes([2, 3, 1], "tanh", loss="mse", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, y, epochs=64, lr=1e-9)
    assert caught and all(w.filename == __file__ for w in caught)


def test_monitor_leaves_the_layer_caches_as_training_left_them():
    X, y = gn.datasets.xor()
    runs = []
    for monitor in (True, False):
        net = gn.Network.from_sizes([2, 3, 1], "sigmoid", loss="mse", seed=0)
        net.fit(X, y, epochs=20, lr=0.5, batch_size=2, monitor=monitor)
        runs.append((net.layers[0].cache["Z"].copy(), {k: v.copy() for k, v in net.parameters().items()}))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])


def test_update_ratio_of_a_large_matrix_is_measured_on_a_sample_close_to_the_exact_ratio():
    from glassnet.verify.health import HealthMonitor

    rng = np.random.default_rng(0)
    net = gn.Network([Dense(300, 40, "relu"), Dense(40, 1, "identity")], loss="mse", seed=0)
    monitor = HealthMonitor()
    X = rng.normal(size=(50, 300))
    monitor.on_train_begin(net, {"n_samples": 50, "batch_size": 50, "epochs": 5, "X": X, "Y": X[:, :1]})
    (key, stride, before), (_, small_stride, small) = monitor.snapshot
    assert key == "0.W" and stride == 2 and before.size == 6000 and small_stride == 1 and small.size == 40
    W = net.layers[0].params["W"]
    exact_before = W.copy()
    W += 0.01 * rng.normal(size=W.shape)  # "one epoch" of updates
    exact = np.linalg.norm(W - exact_before) / np.linalg.norm(exact_before)
    sampled = np.linalg.norm(W.ravel()[::stride] - before) / np.linalg.norm(before)
    assert sampled == pytest.approx(exact, rel=0.05)  # the sample tells the same size of step
    assert HealthMonitor.observes_only  # fit need not re-check its fast path after the monitor ran


def test_look_in_pieces_of_a_training_batch_sees_what_one_look_sees():
    from glassnet.verify.health import HealthMonitor

    rng = np.random.default_rng(3)
    net = gn.Network([Dense(300, 40, "relu"), Dense(40, 1, "sigmoid")], loss="bce", seed=0)
    X, Y = rng.normal(size=(50, 300)), (rng.random((50, 1)) > 0.5).astype(float)
    monitor = HealthMonitor()
    monitor.on_train_begin(net, {"n_samples": 50, "batch_size": 10, "epochs": 5, "X": X, "Y": Y})
    assert monitor.piece == 10  # 65536 // 12000 multiply-adds per row is less than a batch
    loss = monitor._look()
    assert all(len(cache["A"]) == 50 for cache in monitor.caches)
    expected = net.forward(X)
    np.testing.assert_allclose(monitor.caches[-1]["A"], expected, rtol=1e-12)
    assert loss == pytest.approx(net.loss(X, Y), rel=1e-12)


@pytest.mark.parametrize("batch_size", [1, 4, 200])
def test_loss_before_training_is_taken_on_at_least_64_rows_whatever_the_batch(batch_size):
    """A handful of rows would make the comparison with the chance level a coin toss for small batches."""
    from glassnet.verify.health import HealthMonitor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]))[:, None]
    y = (y - y.mean()) / y.std()
    wide = gn.Network([Dense(3, 400, "relu"), Dense(400, 1, "identity")], loss="mse", seed=0)  # looks in pieces
    for net in (wide, gn.Network([Dense(3, 8, "relu"), Dense(8, 1, "identity")], loss="mse", seed=0)):
        monitor = HealthMonitor()
        monitor.on_train_begin(net, {"n_samples": 200, "batch_size": batch_size, "epochs": 1, "X": X, "Y": y})
        every = max(1, 200 // max(monitor.piece, 64))
        assert len(X[::every]) >= 64
        assert monitor.losses[0] == pytest.approx(net.loss(X[::every], y[::every]), rel=1e-12)
    # So whether a start is "far from chance" does not depend on the batch size (it did with batch-sized looks).
    for seed in range(20):
        verdicts = []
        for batch in (batch_size, 200):
            net = gn.Network([Dense(3, 8, "tanh"), Dense(8, 1, "identity")], loss="mse", seed=seed)
            found, _ = _fit(net, X, y, epochs=1, lr=1e-9, batch_size=batch)
            verdicts.append("initial_loss" in found)
        assert verdicts[0] == verdicts[1], seed
