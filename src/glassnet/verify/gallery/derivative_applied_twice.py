"""The hidden layer's sigmoid derivative is taken of the output again (sigmoid applied twice).

The bug: `sigmoid_derivative(z)` expects the pre-activation z, but it is given the hidden output
h = sigmoid(z), so it computes sigmoid(h) * (1 - sigmoid(h)) instead of h * (1 - h).
The fix: use h * (1 - h), or call sigmoid_derivative with z.
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, sigmoid, train  # noqa: F401  (doctor reads these)


def sigmoid_derivative(z):
    return sigmoid(z) * (1 - sigmoid(z))


def gradients(p):
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * sigmoid_derivative(h)   # BUG: h is already sigmoid(z)
        d["weights_out"] += delta_out * h
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_hidden"] += delta_hidden
    return d


if __name__ == "__main__":
    def step(p):
        d = gradients(p)
        for name in p:
            p[name] -= lr * d[name]

    train(step, params())
