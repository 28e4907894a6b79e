"""The story glassnet starts from: the 2-3-1 sigmoid network with biases learns XOR."""

import numpy as np

import glassnet as gn


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
