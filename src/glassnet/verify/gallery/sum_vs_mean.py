"""The cost is a mean over the 4 rows, but the gradient is that of their sum.

The bug: the output delta lacks the 1 / n_samples of the mean, so every gradient is 4 times too
large and the learning rate acts 4 times larger than the one written down.
The fix: divide by n_samples in the delta (or make the cost a sum).
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def gradients(p):
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) * o * (1 - o)        # BUG: no / n_samples, but the cost is a mean
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d["weights_out"] += delta_out * h
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_hidden"] += delta_hidden
    return d


def step(p):
    d = gradients(p)
    for name in p:
        p[name] -= lr * d[name]


if __name__ == "__main__":
    train(step, params())
