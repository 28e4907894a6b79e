"""Losses against PyTorch in float64, one named quantity at a time. Huber is the loss added by issue 13 as one
class in ``core/losses.py``: its value and gradient equal ``torch.nn.HuberLoss(delta=...)`` for several deltas,
with residuals on both sides of delta (and exactly at it), and a network trained on it follows torch step by
step. A value and a gradient worked out by hand pin the formula itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glassnet as gn
from glassnet.core.losses import LOSSES, Huber
from tests.core.torch_reference import assert_matches_torch

torch.set_default_dtype(torch.float64)

DELTAS = [0.05, 0.5, 1.0, 2.5]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def compare(name: str, ours, theirs, rtol: float = 1e-12, atol: float = 1e-15) -> None:
    assert_matches_torch(name, ours, theirs, rtol=rtol, atol=atol)


def residuals(delta: float, rng: np.random.Generator) -> np.ndarray:
    """``A - Y`` of shape (6, 4): well inside delta, exactly at +-delta, just either side of it, far outside."""
    r = np.array([0.0, 0.1 * delta, -0.5 * delta, delta, -delta, delta * (1 - 1e-9), -delta * (1 + 1e-9),
                  1.5 * delta, -3.0 * delta, 40.0 * delta, -0.999 * delta, 1.001 * delta])
    return np.concatenate([r, rng.normal(size=12) * 2 * delta]).reshape(6, 4)


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_value_and_gradient_equal_torch_huber_loss(delta):
    rng = np.random.default_rng(int(delta * 100))
    Y = rng.normal(size=(6, 4))
    A = Y + residuals(delta, rng)
    a = torch.tensor(A, requires_grad=True)
    value_t = torch.nn.HuberLoss(delta=delta)(a, torch.tensor(Y))
    value_t.backward()
    loss = Huber(delta)
    compare("Huber value", np.array(loss.value(A, A, Y)), np.array(value_t.item()))
    compare("Huber dL/dA", loss.gradient(A, A, Y), a.grad.numpy())
    # both sides of delta occur: some entries in the squared part, some in the linear part
    r = np.abs(A - Y)
    assert (r < delta).any() and (r > delta).any()


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_in_place_form_gives_the_readable_numbers(delta):
    """Whatever in-place form the class has (or the base class's), it computes value() and gradient()."""
    rng = np.random.default_rng(7)
    Y = rng.normal(size=(6, 4))
    A = Y + residuals(delta, rng)
    G = np.empty_like(A)

    class Work:  # the buffers value_and_gradient_into may use (see activations.py)
        T, T2 = np.empty_like(A), np.empty_like(A)
        mask = np.empty(A.shape, bool)
        rows = np.empty((A.shape[0], 1))

    loss = Huber(delta)
    value = loss.value_and_gradient_into(A, A, Y, G, Work())
    assert value == loss.value(A, A, Y)
    np.testing.assert_array_equal(G, loss.gradient(A, A, Y))


def test_huber_by_hand():
    """Two entries, delta 1: r = 0.5 (squared part: 0.125, slope 0.5) and r = -3 (linear part: 1 * (3 - 0.5) = 2.5,
    slope -1). Mean over N = 2 entries: L = 1.3125, dL/dA = [0.25, -0.5]."""
    loss = Huber(1.0)
    A, Y = np.array([[0.5, -3.0]]), np.zeros((1, 2))
    assert loss.value(A, A, Y) == pytest.approx(1.3125, rel=1e-15)
    np.testing.assert_allclose(loss.gradient(A, A, Y), [[0.25, -0.5]], rtol=1e-15)
    # Near the target it is half the squared error, whose mean is half the mse; far away it grows only linearly.
    assert Huber(10.0).value(A, A, Y) == pytest.approx(0.5 * np.mean((A - Y) ** 2))


def test_huber_network_trains_like_torch_step_by_step():
    rng = np.random.default_rng(11)
    net = gn.Network.from_sizes([3, 5, 2], activation="tanh", output_activation="identity", loss=Huber(0.3), seed=2)
    X = rng.normal(size=(24, 3))
    y = rng.normal(size=(24, 2)) * 3 + np.where(rng.random((24, 2)) < 0.2, 20.0, 0.0)  # some outliers
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.parameters().items()}
    ours, theirs = gn.Adam(0.02), torch.optim.Adam(list(params.values()), lr=0.02)
    huber = torch.nn.HuberLoss(delta=0.3)
    for step in range(80):
        rows = slice((step % 3) * 8, (step % 3) * 8 + 8)
        value = net.step(X[rows], y[rows], ours)
        theirs.zero_grad()
        hidden = torch.tanh(torch.from_numpy(X[rows]) @ params["0.W"] + params["0.b"])
        value_t = huber(hidden @ params["1.W"] + params["1.b"], torch.from_numpy(y[rows]))
        value_t.backward()
        theirs.step()
        compare(f"loss at step {step + 1}", np.array(value), np.array(value_t.item()), rtol=1e-10, atol=1e-13)
        for key, p in net.parameters().items():
            compare(f"{key} after step {step + 1}", p, params[key].detach().numpy(), rtol=1e-10, atol=1e-13)


def test_huber_delta_survives_save_and_load_and_the_torch_bridge(tmp_path):
    from glassnet.torch import torch_loss

    net = gn.Network.from_sizes([2, 3, 1], "tanh", output_activation="identity", loss=Huber(delta=0.25), seed=0)
    net.save(tmp_path / "m.npz")
    back = gn.load(tmp_path / "m.npz")
    assert isinstance(back.loss_fn, Huber) and back.loss_fn.delta == 0.25
    module = torch_loss(back)
    assert isinstance(module, torch.nn.HuberLoss) and module.delta == 0.25


def test_huber_refuses_a_delta_that_is_not_positive():
    for delta in (0.0, -1.0, float("nan"), "1", True):
        with pytest.raises(gn.ConfigError, match="Huber delta must be a positive number"):
            Huber(delta)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", LOSSES.classes(), ids=lambda c: c.name)
def test_every_loss_gradient_is_its_value_s_derivative(cls):
    """Central differences of ``value`` against ``gradient`` (dA, or dZ through the fused activation)."""
    loss = cls()
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(5, 3)) * 2
    fused = loss.fused_activation() if loss.fused_activation else None
    if loss.targets == "classes":
        Y = np.eye(3)[rng.integers(0, 3, 5)]
    elif loss.targets == "binary":
        Y = rng.integers(0, 2, (5, 3)).astype(float)
    else:
        Y = rng.normal(size=(5, 3)) * 2

    def value(Z: np.ndarray) -> float:
        A = fused.forward(Z) if fused else Z  # unfused: differentiate with respect to A itself
        return loss.value(Z, A, Y)

    A = fused.forward(Z) if fused else Z
    analytic = loss.gradient(Z, A, Y)
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        step = np.zeros_like(Z)
        step[index] = 1e-6
        numeric[index] = (value(Z + step) - value(Z - step)) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_mse_bce_and_cross_entropy_values_equal_torch():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(6, 3)) * 3
    Y = rng.normal(size=(6, 3))
    B = rng.integers(0, 2, (6, 3)).astype(float)
    labels = rng.integers(0, 3, 6)
    losses = {name: LOSSES.lookup(name)() for name in ("mse", "bce", "cross_entropy")}
    compare("mse", np.array(losses["mse"].value(Z, Z, Y)), np.array(F.mse_loss(torch.tensor(Z), torch.tensor(Y)).item()))
    sig = 1 / (1 + np.exp(-Z))
    compare("bce", np.array(losses["bce"].value(Z, sig, B)),
            np.array(F.binary_cross_entropy_with_logits(torch.tensor(Z), torch.tensor(B)).item()))
    soft = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    compare("cross_entropy", np.array(losses["cross_entropy"].value(Z, soft, np.eye(3)[labels])),
            np.array(F.cross_entropy(torch.tensor(Z), torch.tensor(labels)).item()))
