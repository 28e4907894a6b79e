"""The hidden weights' gradient is built transposed: shape (3, 2) for weights of shape (2, 3).

The bug: `np.outer(delta_hidden, x)` puts units on the rows; the weights have inputs on the rows
(W[i, j] connects input i to unit j).
The fix: np.outer(x, delta_hidden), which is (2, 3) like the weights.
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def gradients(p):
    d = {"weights_hidden": np.zeros((3, 2)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d["weights_out"] += delta_out * h
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(delta_hidden, x)     # BUG: transposed
        d["bias_hidden"] += delta_hidden
    return d


if __name__ == "__main__":
    print(gradients(params())["weights_hidden"].shape, "but the weights are", params()["weights_hidden"].shape)
