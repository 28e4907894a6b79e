"""glassnet against PyTorch 2.13 in float64, one named quantity at a time (rtol 1e-10).

Forward output, loss and every dW and db for every activation x loss combination that makes sense,
on random layer sizes and batches drawn by hypothesis.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from tests.core.torch_reference import torch_gradients

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
# (output activation, loss) pairs that make sense: fused losses need their activation.
OUTPUTS = [(act, "mse") for act in HIDDEN + ["softmax"]] + [("sigmoid", "bce"), ("softmax", "cross_entropy")]


def compare(name: str, ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol,
                               err_msg=f"{name}: glassnet vs torch\nglassnet:\n{ours}\ntorch:\n{theirs}")


def random_problem(draw_sizes, hidden, output, loss, seed, n_samples, l2=0.0):
    rng = np.random.default_rng(seed)
    sizes = draw_sizes
    if output == "sigmoid" and loss == "bce":
        y = rng.integers(0, 2, size=(n_samples, sizes[-1])).astype(float)
    elif loss == "cross_entropy":
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
