"""Numerical robustness: extreme logits and inputs never give NaN (stable sigmoid, log-sum-exp, softplus),
with values worked out by hand; tiny-variance and constant columns are harmless to the raw-data core, and
the Standardizer warns about a constant column instead of dividing by zero."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from glassnet.core.losses import BinaryCrossEntropy, CrossEntropy, MeanSquaredError
from glassnet.datasets import Standardizer

HUGE = np.array([[-1e300, -1e6, -800.0, -40.0, 0.0, 40.0, 800.0, 1e6, 1e300]])


def test_activations_at_extreme_inputs_are_finite_and_exact_where_known():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        s = Sigmoid().forward(HUGE)
        t = Tanh().forward(HUGE)
        r = ReLU().forward(HUGE)
        leaky = LeakyReLU(0.01).forward(HUGE)
    assert np.isfinite(s).all() and np.isfinite(t).all()
    assert s[0, 0] == 0.0 and s[0, -1] == 1.0 and s[0, 4] == 0.5
    assert s[0, 3] == pytest.approx(1 / (1 + np.exp(40.0)), rel=1e-15)  # e^-40/(1+e^-40), no cancellation
    assert t[0, 0] == -1.0 and t[0, -1] == 1.0
    assert r[0, -1] == 1e300 and leaky[0, 0] == 0.01 * -1e300


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_of_huge_logits_is_a_distribution(dtype):
    Z = np.array([[1e6, 0.0, -1e6], [1e30, 1e30, 0.0], [-1e6, -1e6, -1e6]], dtype=dtype)
    A = Softmax().forward(Z)
    assert np.isfinite(A).all()
    np.testing.assert_array_equal(A[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(A[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(A[2], [1 / 3] * 3, rtol=1e-6)


def test_bce_with_huge_logits_by_hand():
    # per entry l = softplus(z) - y z: z = 1e6, y = 0 -> 1e6; z = 1e6, y = 1 -> 0; z = -1e6, y = 0 -> 0;
    # z = -1e6, y = 1 -> 1e6. Mean over the four: 5e5. A naive log(sigmoid(z)) gives log(0) = -inf.
    Z = np.array([[1e6], [1e6], [-1e6], [-1e6]])
    Y = np.array([[0.0], [1.0], [0.0], [1.0]])
    A = Sigmoid().forward(Z)
    loss = BinaryCrossEntropy()
    assert loss.value(Z, A, Y) == 5e5
    np.testing.assert_array_equal(loss.gradient(Z, A, Y), np.array([[1.0], [0.0], [0.0], [-1.0]]) / 4)


def test_cross_entropy_with_huge_logits_by_hand():
    # logits [1e6, 0, -1e6]: log-softmax = [0, -1e6, -2e6]; label 0 -> 0, label 2 -> 2e6. Mean: 1e6.
    Z = np.array([[1e6, 0.0, -1e6], [1e6, 0.0, -1e6]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    A = Softmax().forward(Z)
    loss = CrossEntropy()
    assert loss.value(Z, A, Y) == 1e6
    np.testing.assert_array_equal(loss.gradient(Z, A, Y), np.array([[0.0, 0.0, 0.0], [1.0, 0.0, -1.0]]) / 2)


def test_mse_of_large_outputs_is_finite_by_hand():
    A = np.array([[1e6], [-1e6]])
    Y = np.zeros((2, 1))
    assert MeanSquaredError().value(A, A, Y) == 1e12
    np.testing.assert_array_equal(MeanSquaredError().gradient(A, A, Y), [[1e6], [-1e6]])


@pytest.mark.parametrize("loss, output", [("mse", "identity"), ("mse", "tanh"), ("bce", "sigmoid"), ("cross_entropy", "softmax")])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_on_inputs_of_a_million_stays_finite(loss, output, hidden, dtype):
    rng = np.random.default_rng(0)
    X = rng.choice([-1e6, -1.0, 0.0, 1e-6, 1e6], size=(16, 3))
    y = rng.integers(0, 2, size=16) if loss != "mse" else rng.normal(size=16)
    n_out = 2 if loss == "cross_entropy" else 1
    net = gn.Network.from_sizes([3, 4, n_out], hidden, output_activation=output, loss=loss, seed=1, dtype=dtype)
    assert np.isfinite(net.forward(X)).all() and np.isfinite(net.loss(X, y))
    assert all(np.isfinite(g).all() for g in net.gradients(X, y).values())
    try:
        history = net.fit(X, y, epochs=3, optimizer="adam", lr=1e-3)
    except gn.TrainingDiverged:  # allowed: a clear stop, never a NaN that flows on
        return
    assert np.isfinite(history.loss).all()
    assert all(np.isfinite(p).all() for p in net.parameters().values())


def test_tiny_variance_and_constant_columns_train_without_nan_or_warning():
    """glassnet's core uses raw inputs (it never divides by a column's spread), so a constant column or one
    varying by 1e-300 is harmless: it just carries little information. The warning about constant columns
    comes from the Standardizer, where the division happens (next test)."""
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=20), np.full(20, 7.0), 1.0 + 1e-300 * rng.normal(size=20), 1e-300 * rng.normal(size=20)])
    y = (X[:, 0] > 0).astype(int)
    net = gn.Network.from_sizes([4, 3, 1], "tanh", loss="bce", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow, no division by zero, no invalid value
        history = net.fit(X, y, epochs=50, optimizer="adam", lr=0.05)
    assert np.isfinite(history.loss).all() and history.loss[-1] < history.loss[0]


def test_standardizer_warns_on_constant_columns_and_never_divides_by_zero() -> None:
    """Where the division by a column's spread happens (the Standardizer): a constant column gets a warning
    and is only centred; tiny-variance columns give no NaN, and training on the result stays finite."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=30) * 1e6, np.full(30, 7.0), 1.0 + 1e-300 * rng.normal(size=30),
                         1e-10 * rng.normal(size=30), np.zeros(30)])
    with pytest.warns(UserWarning, match="constant"):
        Z = Standardizer().fit(X).transform(X)
    assert np.isfinite(Z).all()
    assert np.all(Z[:, 1] == 0) and np.all(Z[:, 4] == 0)  # centred, not divided by a zero spread
    np.testing.assert_allclose(Z[:, [0, 3]].std(axis=0), 1.0, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        net = gn.Network.from_sizes([5, 4, 1], "tanh", loss="bce", seed=0)
        history = net.fit(Z, (X[:, 0] > 0).astype(int), epochs=20, optimizer="adam", lr=0.05, monitor=False)
    assert np.isfinite(history.loss).all()
