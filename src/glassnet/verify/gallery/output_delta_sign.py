"""The output delta has its sign flipped, and the update subtracts it: every step climbs the cost.

The bug: `delta_out` uses (t - o) instead of (o - t). Every gradient is then the negative of the
true one, and `p -= lr * gradient` goes uphill.
The fix: delta_out = 2 * (o - t) / n_samples * o * (1 - o).
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def gradients(p):
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (t - o) / n_samples * o * (1 - o)    # BUG: (t - o) instead of (o - t)
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
