"""The bias is added straight into the parameter inside the row loop (cost stuck near 0.5).

The bug: `p["bias_out"] += delta_out` inside the per-row loop adds the bias gradient to the bias,
with learning rate 1, instead of a gradient. The biases climb the cost while the weights descend it.
The fix: accumulate `d_bias_out += delta_out` in the loop and subtract `lr * d_bias_out` after it.
Run it: python bias_in_loop.py          Diagnose it: glassnet doctor bias_in_loop.py
"""

import numpy as np
from _xor import T, X, forward, loss, lr, n_samples, params, train  # noqa: F401  (glassnet doctor reads these)


def step(p):
    d_weights_hidden = np.zeros((2, 3))
    d_weights_out = np.zeros(3)
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d_weights_out += delta_out * h
        d_weights_hidden += np.outer(x, delta_hidden)
        p["bias_out"] += delta_out          # BUG: should be d_bias_out += delta_out
        p["bias_hidden"] += delta_hidden    # BUG: should be d_bias_hidden += delta_hidden
    p["weights_out"] -= lr * d_weights_out
    p["weights_hidden"] -= lr * d_weights_hidden


def fixed_step(p):
    """The same loop with the fix: the bias gradients are accumulated and subtracted after the loop."""
    d_weights_hidden = np.zeros((2, 3))
    d_weights_out = np.zeros(3)
    d_bias_hidden = np.zeros(3)
    d_bias_out = 0.0
    for x, t in zip(X, T):
        h, o = forward(p, x)
        delta_out = 2 * (o - t) / n_samples * o * (1 - o)
        delta_hidden = delta_out * p["weights_out"] * h * (1 - h)
        d_weights_out += delta_out * h
        d_weights_hidden += np.outer(x, delta_hidden)
        d_bias_out += delta_out             # FIX: accumulate ...
        d_bias_hidden += delta_hidden
    p["weights_out"] -= lr * d_weights_out
    p["weights_hidden"] -= lr * d_weights_hidden
    p["bias_out"] -= lr * d_bias_out        # ... and subtract after the loop
    p["bias_hidden"] -= lr * d_bias_hidden


if __name__ == "__main__":
    train(step, params())
