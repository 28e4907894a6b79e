"""Property-based tests (hypothesis) over random architectures, data shapes and values: the forward pass
is finite, gradients equal PyTorch's autograd in float64, and save/load is bit-exact."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import glassnet as gn
from tests.core.torch_reference import torch_gradients

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUT = {"mse": ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"], "bce": ["sigmoid"],
          "cross_entropy": ["softmax"]}
BUDGET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw, max_abs: float = 1e3):
    """A random network and a batch of data that fits it."""
    loss = draw(st.sampled_from(sorted(OUTPUT)))
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    if loss == "cross_entropy":
        sizes[-1] = max(2, sizes[-1])
    hidden = [draw(st.sampled_from(HIDDEN)) for _ in sizes[1:-1]]
    output = draw(st.sampled_from(OUTPUT[loss]))
    layers = [gn.Dense(a, b, act) for a, b, act in zip(sizes, sizes[1:], [*hidden, output])]
    net = gn.Network(layers, loss=loss, l2=draw(st.sampled_from([0.0, 0.01])), seed=draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 6))
    values = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)
    X = draw(arrays(np.float64, (n, sizes[0]), elements=values))
    if loss == "cross_entropy":
        y = draw(arrays(np.int64, (n,), elements=st.integers(0, sizes[-1] - 1)))
    elif loss == "bce":
        y = draw(arrays(np.float64, (n, sizes[-1]), elements=st.sampled_from([0.0, 1.0])))
    else:
        y = draw(arrays(np.float64, (n, sizes[-1]), elements=values))
    return net, X, y


@BUDGET
@given(problems())
def test_loss_and_gradients_equal_pytorch(problem):
    net, X, y = problem
    before = {k: v.copy() for k, v in net.parameters().items()}
    grads = net.gradients(X, y)
    loss = net.loss(X, y)
    _, expected_loss, expected = torch_gradients(net, X, y)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, atol=1e-12)
    # Entries that cancel to almost nothing carry the rounding of their larger terms (BLAS and MKL sum in
    # different orders), so the absolute tolerance scales with the largest gradient of the whole network.
    scale = max(1.0, max(float(np.abs(g).max()) for g in expected.values()))
    for key, g in grads.items():
        np.testing.assert_allclose(g, expected[key], rtol=1e-10, atol=1e-11 * scale, err_msg=key)
    for key, value in net.parameters().items():  # gradients() leaves the parameters alone
        assert np.array_equal(value, before[key])


@BUDGET
@given(problems(max_abs=1e6))
def test_forward_loss_and_gradients_stay_finite_for_inputs_up_to_1e6(problem):
    net, X, y = problem
    assert np.isfinite(net.forward(X)).all()
    assert np.isfinite(net.loss(X, y))
    assert all(np.isfinite(g).all() for g in net.gradients(X, y).values())


@BUDGET
@given(problems(), st.sampled_from(["float64", "float32"]),
       st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3))
def test_save_load_round_trip_is_bit_exact(problem, dtype, metadata):
    net, X, _ = problem
    if dtype == "float32":
        net = gn.Network([gn.Dense(layer.n_in, layer.n_out, layer.activation) for layer in net.layers],
                         loss=net.loss_fn.name, l2=net.l2, seed=net.seed, dtype="float32")
    net.metadata = metadata
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        net.save(path)
        loaded = gn.load(path)
    assert repr(loaded) == repr(net) and loaded.seed == net.seed and loaded.metadata == metadata
    for key, value in net.parameters().items():
        got = loaded.parameters()[key]
        assert got.dtype == value.dtype and got.tobytes() == value.tobytes()
    assert np.array_equal(loaded.forward(X), net.forward(X))
