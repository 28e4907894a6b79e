"""The bias gradient is never accumulated, so the biases never learn.

The bug: the bias gradients start at zero and the row loop adds the deltas to a temporary
(`d_bias_out + delta_out` without storing it), so they stay zero and the biases never move.
The fix: `d_bias_out += delta_out` and `d_bias_hidden += delta_hidden` inside the loop.
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def gradients(p):
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d["weights_out"] += delta_out * h
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_out"] + delta_out          # BUG: the sum is computed and thrown away
        d["bias_hidden"] + delta_hidden    # BUG
    return d


def step(p):
    d = gradients(p)
    for name in p:
        p[name] -= lr * d[name]


if __name__ == "__main__":
    train(step, params())
