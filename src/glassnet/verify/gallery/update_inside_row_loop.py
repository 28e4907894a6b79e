"""The update is applied inside the row loop, before all rows are accumulated.

The bug: `p[...] -= lr * d[...]` is indented one level too deep: after every row the parameters
move by the gradient accumulated *so far*, so the first row counts 4 times, the second 3 times...
The fix: update once, after the loop (or reset the accumulators per row for true per-row SGD).
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def step(p):
    d = {"weights_hidden": np.zeros((2, 3)), "bias_hidden": np.zeros(3), "weights_out": np.zeros(3), "bias_out": 0.0}
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d["weights_out"] += delta_out * h
        d["bias_out"] += delta_out
        d["weights_hidden"] += np.outer(x, delta_hidden)
        d["bias_hidden"] += delta_hidden
        for name in p:
            p[name] -= lr * d[name]         # BUG: inside the row loop


if __name__ == "__main__":
    train(step, params())
