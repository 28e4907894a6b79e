"""The gradient accumulators are never reset between epochs, so old gradients pile up.

The bug: the accumulators are made once, outside the function, and every call keeps adding to
them: the second epoch uses the sum of two epochs' gradients, the tenth of ten.
The fix: set them to zero at the start of every call (every epoch).
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)

d_weights_hidden = np.zeros((2, 3))   # BUG: created once, never reset
d_bias_hidden = np.zeros(3)
d_weights_out = np.zeros(3)
d_bias_out = np.zeros(())


def gradients(p):
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d_weights_out[...] += delta_out * h
        d_bias_out[...] += delta_out
        d_weights_hidden[...] += np.outer(x, delta_hidden)
        d_bias_hidden[...] += delta_hidden
    return {"weights_hidden": d_weights_hidden.copy(), "bias_hidden": d_bias_hidden.copy(),
            "weights_out": d_weights_out.copy(), "bias_out": d_bias_out.copy()}


def step(p):
    d = gradients(p)
    for name in p:
        p[name] -= lr * d[name]


if __name__ == "__main__":
    train(step, params())
